//! Searches for the supervisor's wallboard: recordings by date, agent,
//! caller and order, and calls to the hotline counted per hour.
//!
//! Filter values are always bound parameters, never spliced into the SQL;
//! only the conditions of the filters given are written into the statement.

use sqlx::Row;

use super::{clamp_i64, recording_from_row, CallStore, RecordingRow, RECORDING_COLUMNS};
use crate::Result;

/// What to look for in the recordings index. Every field narrows the search.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RecordingFilter {
    /// Started at or after (epoch milliseconds).
    pub from_ms: Option<i64>,
    /// Started before (epoch milliseconds).
    pub to_ms: Option<i64>,
    /// The agent on the call.
    pub agent: Option<String>,
    /// Part of the caller's number (e.g. its last digits).
    pub caller: Option<String>,
    /// The work order the recording is linked to.
    pub ticket: Option<String>,
}

/// Calls that arrived in one clock hour.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HourCount {
    /// Hours since the Unix epoch (UTC) of the hour's start.
    pub epoch_hour: i64,
    /// Calls that arrived in it.
    pub calls: u64,
}

/// `%`, `_` and the escape character itself taken literally in a `LIKE`.
fn like_literal(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    for c in s.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

impl CallStore {
    /// A page of the recordings matching `filter`, newest first.
    ///
    /// # Errors
    /// Database errors.
    pub async fn search_recordings(
        &self,
        filter: &RecordingFilter,
        limit: u32,
        offset: u64,
    ) -> Result<Vec<RecordingRow>> {
        // Only the filters given become conditions, each with its own
        // numbered parameter (no NULL-typed parameters for PostgreSQL to infer).
        let mut conditions: Vec<String> = Vec::new();
        let mut ints: Vec<i64> = Vec::new();
        let mut texts: Vec<String> = Vec::new();
        let mut next = 1;
        let mut param = || {
            let p = format!("${next}");
            next += 1;
            p
        };
        for (column, op, value) in [
            ("started_at_ms", ">=", filter.from_ms),
            ("started_at_ms", "<", filter.to_ms),
        ] {
            if let Some(v) = value {
                conditions.push(format!("{column} {op} {}", param()));
                ints.push(v);
            }
        }
        let caller = filter
            .caller
            .as_deref()
            .map(|c| format!("%{}%", like_literal(c)));
        for (column, op, value) in [
            ("agent_id", "=", filter.agent.clone()),
            ("caller_number", "LIKE", caller),
            ("ticket_id", "=", filter.ticket.clone()),
        ] {
            if let Some(v) = value {
                let escape = if op == "LIKE" { " ESCAPE '\\'" } else { "" };
                conditions.push(format!("{column} {op} {}{escape}", param()));
                texts.push(v);
            }
        }
        let wheres = if conditions.is_empty() {
            String::new()
        } else {
            format!("WHERE {} ", conditions.join(" AND "))
        };
        let sql = format!(
            "SELECT {RECORDING_COLUMNS} FROM recordings {wheres}\
             ORDER BY started_at_ms DESC, id DESC LIMIT {} OFFSET {}",
            param(),
            param()
        );
        let mut query = sqlx::query(&sql);
        for v in ints {
            query = query.bind(v);
        }
        for v in texts {
            query = query.bind(v);
        }
        let rows = query
            .bind(i64::from(limit))
            .bind(clamp_i64(offset))
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(recording_from_row).collect()
    }

    /// Calls to the hotline (inbound call records) that arrived in
    /// `[from_ms, to_ms)`, counted per UTC clock hour, oldest hour first;
    /// hours without calls are left out.
    ///
    /// # Errors
    /// Database errors.
    pub async fn calls_per_hour(&self, from_ms: i64, to_ms: i64) -> Result<Vec<HourCount>> {
        let rows = sqlx::query(
            "SELECT arrived_at_ms / 3600000 AS h, COUNT(*) AS n FROM cdrs \
             WHERE direction = 'inbound' AND arrived_at_ms >= $1 AND arrived_at_ms < $2 \
             GROUP BY arrived_at_ms / 3600000 ORDER BY h",
        )
        .bind(from_ms)
        .bind(to_ms)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                let h: i64 = r.try_get("h")?;
                let n: i64 = r.try_get("n")?;
                Ok(HourCount {
                    epoch_hour: h,
                    calls: u64::try_from(n).unwrap_or(0),
                })
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::{cdr, on_every_backend, rec};
    use super::*;

    const T0: i64 = 1_700_000_000_000;

    async fn scenario(s: CallStore) {
        let mut a = rec("a", "call-a", T0);
        a.caller_number = "13911110000".into();
        a.agent_id = Some("1002".into());
        let mut b = rec("b", "call-b", T0 + 3_600_000);
        b.ticket_id = Some("MM20260105000123".into());
        let mut c = rec("c", "call-c", T0 + 7_200_000);
        c.caller_number = "1380013_%00".into();
        for r in [&a, &b, &c] {
            s.insert_recording(r).await.expect("insert");
        }
        let ids = |rows: Vec<RecordingRow>| rows.into_iter().map(|r| r.id).collect::<Vec<_>>();
        let find = |f: RecordingFilter| {
            let s = s.clone();
            async move { ids(s.search_recordings(&f, 50, 0).await.expect("search")) }
        };
        assert_eq!(find(RecordingFilter::default()).await, ["c", "b", "a"]);
        let agent = RecordingFilter {
            agent: Some("1001".into()),
            ..Default::default()
        };
        assert_eq!(find(agent).await, ["c", "b"]);
        let window = RecordingFilter {
            from_ms: Some(T0 + 1),
            to_ms: Some(T0 + 7_200_000),
            ..Default::default()
        };
        assert_eq!(find(window).await, ["b"]);
        let ticket = RecordingFilter {
            ticket: Some("MM20260105000123".into()),
            ..Default::default()
        };
        assert_eq!(find(ticket).await, ["b"]);
        // Part of the number; `%` and `_` are literal, not wildcards.
        let last4 = RecordingFilter {
            caller: Some("0000".into()),
            ..Default::default()
        };
        assert_eq!(find(last4).await, ["a"]);
        let literal = RecordingFilter {
            caller: Some("3_%".into()),
            ..Default::default()
        };
        assert_eq!(find(literal).await, ["c"]);
        let wildcard = RecordingFilter {
            caller: Some("1%0".into()),
            ..Default::default()
        };
        assert!(find(wildcard).await.is_empty());
        let both = RecordingFilter {
            agent: Some("1001".into()),
            from_ms: Some(T0 + 7_000_000),
            ..Default::default()
        };
        assert_eq!(find(both).await, ["c"]);
        let paged = s
            .search_recordings(&RecordingFilter::default(), 1, 1)
            .await
            .expect("page");
        assert_eq!(ids(paged), ["b"]);

        // Calls per hour: two in the first hour, one two hours later, one
        // outside the window.
        let hour = T0 / 3_600_000;
        let start = hour * 3_600_000;
        for (id, at) in [
            ("h1", start + 10),
            ("h2", start + 3_599_999),
            ("h3", start + 7_200_000),
            ("late", start + 10 * 3_600_000),
        ] {
            s.insert_cdr(&cdr(id, at, None)).await.expect("cdr");
        }
        let counts = s
            .calls_per_hour(start, start + 3 * 3_600_000)
            .await
            .expect("per hour");
        assert_eq!(
            counts,
            [
                HourCount {
                    epoch_hour: hour,
                    calls: 2
                },
                HourCount {
                    epoch_hour: hour + 2,
                    calls: 1
                }
            ]
        );
    }

    #[tokio::test]
    async fn recordings_are_found_by_date_agent_caller_and_order_and_calls_counted_per_hour() {
        on_every_backend("search", |s, _| async move { scenario(s).await }).await;
    }
}
