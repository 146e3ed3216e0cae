//! What the contact centre stores besides call detail records, in the same
//! database (SQLite or PostgreSQL through sqlx's `Any` driver): callback
//! requests and closed ACD days (`migrations/0002_callback_requests.sql`,
//! `0003_acd_days.sql`), and reception-stage survey results in the work-order
//! store's `surveys` table, where the satisfaction reports read them. The
//! emergency-linkage records the API lists are the work-order store's
//! `emergency_linkages` (written with the call's draft, `sip_io::drafts`).

use serde::Serialize;
use sqlx::any::AnyRow;
use sqlx::{AnyPool, Row};

/// A stored survey result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SurveyRow {
    pub id: String,
    pub call_id: Option<String>,
    /// `reception` or `handling`.
    pub stage: String,
    pub agent_id: Option<String>,
    pub queue: Option<String>,
    /// The work order it rates (handling stage).
    pub order_id: Option<String>,
    /// 1–5; `None`: no rating.
    pub rating: Option<i64>,
    pub at_ms: i64,
}

/// A stored callback request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CallbackRow {
    pub id: String,
    pub call_id: String,
    pub caller_number: String,
    pub number: String,
    pub queue: Option<String>,
    pub reason: String,
    pub language: String,
    pub requested_at_ms: i64,
    /// `open`, `claimed`, `done` or `failed` (automatic callbacks).
    pub status: String,
}

/// An open callback request with its automatic attempts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenCallbackRow {
    pub id: String,
    pub number: String,
    pub queue: String,
    pub attempts: i64,
    /// Not to be dialled before (epoch ms).
    pub retry_at_ms: Option<i64>,
}

/// An emergency-linkage record (§9, §14).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EmergencyRow {
    pub id: String,
    pub call_id: String,
    /// `110`, `119`, `120` or `122`.
    pub number: String,
    /// The agent who transferred (`ivr`: the caller chose it in the menu).
    pub agent: String,
    pub at_ms: i64,
    /// `connected`, `not_answered`, `failed`, `caller_hung_up`.
    pub outcome: String,
    /// The draft and the order it is attached to.
    pub draft_id: Option<i64>,
    pub order_id: Option<String>,
}

/// The contact centre's tables.
#[derive(Debug, Clone)]
pub struct ContactRecords {
    pool: AnyPool,
}

impl ContactRecords {
    /// Over the CDR store's pool (its migrations created the tables).
    pub fn new(pool: AnyPool) -> Self {
        Self { pool }
    }

    pub async fn insert_survey(&self, s: &SurveyRow) -> Result<(), sqlx::Error> {
        sqlx::query(
            "INSERT INTO surveys (id, call_id, stage, agent_id, queue, order_id, score, final, at_ms) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, 1, $8)",
        )
        .bind(&s.id)
        .bind(s.call_id.as_deref())
        .bind(&s.stage)
        .bind(s.agent_id.as_deref())
        .bind(s.queue.as_deref())
        .bind(s.order_id.as_deref())
        .bind(s.rating)
        .bind(s.at_ms)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Newest first.
    pub async fn list_surveys(
        &self,
        limit: u32,
        offset: u64,
    ) -> Result<Vec<SurveyRow>, sqlx::Error> {
        let rows = sqlx::query(
            "SELECT id, call_id, stage, agent_id, queue, order_id, score, at_ms FROM surveys \
             ORDER BY at_ms DESC, id LIMIT $1 OFFSET $2",
        )
        .bind(i64::from(limit))
        .bind(i64::try_from(offset).unwrap_or(i64::MAX))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(survey_from_row).collect()
    }

    pub async fn insert_callback(&self, c: &CallbackRow) -> Result<(), sqlx::Error> {
        sqlx::query(
            "INSERT INTO callback_requests (id, call_id, caller_number, number, queue, reason, \
             language, requested_at_ms, status) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(&c.id)
        .bind(&c.call_id)
        .bind(&c.caller_number)
        .bind(&c.number)
        .bind(c.queue.as_deref())
        .bind(&c.reason)
        .bind(&c.language)
        .bind(c.requested_at_ms)
        .bind(&c.status)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Oldest first (the order they should be worked), optionally only one status.
    pub async fn list_callbacks(
        &self,
        status: Option<&str>,
        limit: u32,
        offset: u64,
    ) -> Result<Vec<CallbackRow>, sqlx::Error> {
        let rows = sqlx::query(
            "SELECT id, call_id, caller_number, number, queue, reason, language, \
             requested_at_ms, status FROM callback_requests \
             WHERE (CAST($1 AS TEXT) IS NULL OR status = CAST($1 AS TEXT)) \
             ORDER BY requested_at_ms, id LIMIT $2 OFFSET $3",
        )
        .bind(status)
        .bind(i64::from(limit))
        .bind(i64::try_from(offset).unwrap_or(i64::MAX))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(callback_from_row).collect()
    }

    /// One callback request.
    pub async fn callback(&self, id: &str) -> Result<Option<CallbackRow>, sqlx::Error> {
        let row = sqlx::query(
            "SELECT id, call_id, caller_number, number, queue, reason, language, \
             requested_at_ms, status FROM callback_requests WHERE id = $1",
        )
        .bind(id)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(callback_from_row).transpose()
    }

    /// Sets a callback request's status (`open`, `claimed`, `done`), as its
    /// task on the callback list moves (`http::callback_tasks`).
    pub async fn set_callback_status(&self, id: &str, status: &str) -> Result<(), sqlx::Error> {
        sqlx::query("UPDATE callback_requests SET status = $2 WHERE id = $1")
            .bind(id)
            .bind(status)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Open requests of these queues, oldest first, with their attempts
    /// (automatic callbacks, `migrations/0005_callback_attempts.sql`).
    pub async fn open_callbacks(
        &self,
        queues: &[String],
    ) -> Result<Vec<OpenCallbackRow>, sqlx::Error> {
        let rows = sqlx::query(
            "SELECT id, number, queue, attempts, retry_at_ms FROM callback_requests \
             WHERE status = 'open' AND queue IS NOT NULL ORDER BY requested_at_ms, id",
        )
        .fetch_all(&self.pool)
        .await?;
        let mut out = Vec::new();
        for r in &rows {
            let queue: Option<String> = r.try_get("queue")?;
            let Some(queue) = queue.filter(|q| queues.contains(q)) else {
                continue;
            };
            out.push(OpenCallbackRow {
                id: r.try_get("id")?,
                number: r.try_get("number")?,
                queue,
                attempts: r.try_get("attempts")?,
                retry_at_ms: r.try_get("retry_at_ms")?,
            });
        }
        Ok(out)
    }

    /// A request's status after an automatic attempt.
    pub async fn update_callback_attempt(
        &self,
        id: &str,
        status: &str,
        attempts: i64,
        retry_at_ms: Option<i64>,
    ) -> Result<(), sqlx::Error> {
        sqlx::query(
            "UPDATE callback_requests SET status = $2, attempts = $3, retry_at_ms = $4 \
             WHERE id = $1",
        )
        .bind(id)
        .bind(status)
        .bind(attempts)
        .bind(retry_at_ms)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Newest first; only those of `call_id` if given.
    pub async fn list_emergency(
        &self,
        call_id: Option<&str>,
        limit: u32,
        offset: u64,
    ) -> Result<Vec<EmergencyRow>, sqlx::Error> {
        let rows = sqlx::query(
            "SELECT id, call_id, line, agent, at_ms, outcome, draft_id, order_id \
             FROM emergency_linkages WHERE (CAST($1 AS TEXT) IS NULL OR call_id = CAST($1 AS TEXT)) \
             ORDER BY at_ms DESC, id LIMIT $2 OFFSET $3",
        )
        .bind(call_id)
        .bind(i64::from(limit))
        .bind(i64::try_from(offset).unwrap_or(i64::MAX))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(emergency_from_row).collect()
    }
}

impl ContactRecords {
    /// Stores a closed day of the ACD's statistics (replacing an earlier copy
    /// of the same date, e.g. after a clock correction).
    pub async fn insert_day(
        &self,
        day: &str,
        report_json: &str,
        at_ms: i64,
    ) -> Result<(), sqlx::Error> {
        let mut tx = self.pool.begin().await?;
        sqlx::query("DELETE FROM acd_days WHERE day = $1")
            .bind(day)
            .execute(&mut *tx)
            .await?;
        sqlx::query("INSERT INTO acd_days (day, report, closed_at_ms) VALUES ($1, $2, $3)")
            .bind(day)
            .bind(report_json)
            .bind(at_ms)
            .execute(&mut *tx)
            .await?;
        tx.commit().await
    }

    /// Closed days from `from` to `to` (inclusive, `YYYY-MM-DD`), oldest
    /// first, as stored JSON.
    pub async fn days(&self, from: &str, to: &str) -> Result<Vec<String>, sqlx::Error> {
        let rows = sqlx::query(
            "SELECT report FROM acd_days WHERE day >= $1 AND day <= $2 ORDER BY day LIMIT 400",
        )
        .bind(from)
        .bind(to)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(|r| r.try_get("report")).collect()
    }
}

fn survey_from_row(r: &AnyRow) -> Result<SurveyRow, sqlx::Error> {
    Ok(SurveyRow {
        id: r.try_get("id")?,
        call_id: r.try_get("call_id")?,
        stage: r.try_get("stage")?,
        agent_id: r.try_get("agent_id")?,
        queue: r.try_get("queue")?,
        order_id: r.try_get("order_id")?,
        rating: r.try_get("score")?,
        at_ms: r.try_get("at_ms")?,
    })
}

fn callback_from_row(r: &AnyRow) -> Result<CallbackRow, sqlx::Error> {
    Ok(CallbackRow {
        id: r.try_get("id")?,
        call_id: r.try_get("call_id")?,
        caller_number: r.try_get("caller_number")?,
        number: r.try_get("number")?,
        queue: r.try_get("queue")?,
        reason: r.try_get("reason")?,
        language: r.try_get("language")?,
        requested_at_ms: r.try_get("requested_at_ms")?,
        status: r.try_get("status")?,
    })
}

fn emergency_from_row(r: &AnyRow) -> Result<EmergencyRow, sqlx::Error> {
    Ok(EmergencyRow {
        id: r.try_get("id")?,
        call_id: r.try_get("call_id")?,
        number: r.try_get("line")?,
        agent: r.try_get("agent")?,
        at_ms: r.try_get("at_ms")?,
        outcome: r.try_get("outcome")?,
        draft_id: r.try_get("draft_id")?,
        order_id: r.try_get("order_id")?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn records() -> (tempfile::TempDir, ContactRecords) {
        let dir = tempfile::tempdir().expect("temp dir");
        let url = format!("sqlite://{}/t.db", dir.path().display());
        let (calls, _tickets) = crate::server::open_database(&url).await.expect("database");
        (dir, ContactRecords::new(calls.pool().clone()))
    }

    #[tokio::test]
    async fn surveys_callbacks_and_days_round_trip_on_sqlite() {
        let (_dir, r) = records().await;
        for (i, rating) in [Some(4), None].into_iter().enumerate() {
            r.insert_survey(&SurveyRow {
                id: format!("s{i}"),
                call_id: Some("c1".into()),
                stage: "reception".into(),
                agent_id: Some("1003".into()),
                queue: Some("cantonese".into()),
                order_id: None,
                rating,
                at_ms: 1000 + i as i64,
            })
            .await
            .expect("insert survey");
        }
        let s = r.list_surveys(10, 0).await.expect("list");
        assert_eq!(s.len(), 2);
        assert_eq!(s[0].rating, None, "newest first; no rating is kept");
        assert_eq!(s[1].rating, Some(4));
        assert_eq!(s[1].queue.as_deref(), Some("cantonese"));
        let bad = SurveyRow {
            id: "s9".into(),
            rating: Some(6),
            ..s[1].clone()
        };
        assert!(r.insert_survey(&bad).await.is_err(), "ratings are 1-5");

        let cb = CallbackRow {
            id: "cb1".into(),
            call_id: "c2".into(),
            caller_number: "13800138000".into(),
            number: "13800138000".into(),
            queue: Some("general".into()),
            reason: "no_agents".into(),
            language: "cmn".into(),
            requested_at_ms: 5,
            status: "open".into(),
        };
        r.insert_callback(&cb).await.expect("insert callback");
        assert_eq!(
            r.list_callbacks(Some("open"), 10, 0).await.expect("list"),
            std::slice::from_ref(&cb)
        );
        assert!(r
            .list_callbacks(Some("done"), 10, 0)
            .await
            .expect("list")
            .is_empty());
        assert_eq!(r.list_callbacks(None, 10, 0).await.expect("list").len(), 1);

        // Automatic attempts: listed for the callbacks_first queues only,
        // then updated (retry, failed: a status the first schema refused).
        let open = r
            .open_callbacks(&["general".to_owned()])
            .await
            .expect("open");
        assert_eq!(open.len(), 1);
        assert_eq!((open[0].id.as_str(), open[0].attempts), ("cb1", 0));
        assert!(r
            .open_callbacks(&["other".to_owned()])
            .await
            .expect("open")
            .is_empty());
        r.update_callback_attempt("cb1", "open", 1, Some(99))
            .await
            .expect("retry");
        let open = r
            .open_callbacks(&["general".to_owned()])
            .await
            .expect("open");
        assert_eq!((open[0].attempts, open[0].retry_at_ms), (1, Some(99)));
        r.update_callback_attempt("cb1", "failed", 3, None)
            .await
            .expect("failed");
        assert_eq!(
            r.list_callbacks(Some("failed"), 10, 0).await.expect("list")[0].id,
            "cb1"
        );

        r.insert_day("2026-11-24", "{\"date\":\"2026-11-24\"}", 1)
            .await
            .expect("day");
        r.insert_day("2026-11-24", "{\"date\":\"2026-11-24\",\"v\":2}", 2)
            .await
            .expect("the same day again replaces it");
        r.insert_day("2026-11-25", "{}", 3).await.expect("day");
        assert_eq!(
            r.days("2026-11-01", "2026-11-24").await.expect("days"),
            ["{\"date\":\"2026-11-24\",\"v\":2}"]
        );
        assert_eq!(
            r.days("2026-11-24", "2026-11-30")
                .await
                .expect("days")
                .len(),
            2
        );
        assert!(r
            .list_emergency(Some("c3"), 10, 0)
            .await
            .expect("list")
            .is_empty());
    }
}
