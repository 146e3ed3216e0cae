//! Supervision records (督办, §26): the store side of the domain's sweep.
//!
//! [`Store::run_sweep`] gathers what `supervision::sweep` looks at — orders
//! running against a deadline, recent orders of callers who may be
//! repeating themselves, pending articles, open gap reports — as cheap
//! column reads, runs the pure sweep at `now`, and inserts the records with
//! `ON CONFLICT (key) DO NOTHING`: the record key makes raising idempotent
//! even when two servers sweep at once.

use sqlx::any::AnyRow;
use sqlx::Row;
use time::{Duration, OffsetDateTime};

use super::tickets::{from_ms, ms};
use super::{to_i64, Error, Result, Store};
use crate::actor::UnitId;
use crate::lifecycle::OrderState;
use crate::number::OrderNumber;
use crate::order::Category;
use crate::rules::TicketRules;
use crate::supervision::{sweep, OrderSummary, SupervisionRecord, SweepInput};
use crate::topic::TopicCode;

/// Filters of the supervision list.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SupervisionFilter {
    pub unit: Option<String>,
    pub order: Option<String>,
    pub tier: Option<String>,
    pub kind: Option<String>,
    /// Raised at or after (epoch ms).
    pub since_ms: Option<i64>,
}

const SUMMARY_COLUMNS: &str = "id, state, category, topic, caller_number, district, lead_unit, \
    created_at_ms, sign_due_ms, respond_due_ms, complete_due_ms, reply_due_ms";

fn parse_enum<T: serde::de::DeserializeOwned>(what: &'static str, s: &str) -> Result<T> {
    serde_json::from_value(serde_json::Value::String(s.to_owned())).map_err(|e| Error::Corrupt {
        what,
        detail: format!("{s:?}: {e}"),
    })
}

fn summary_of(r: &AnyRow) -> Result<OrderSummary> {
    let id: String = r.try_get("id")?;
    let state: String = r.try_get("state")?;
    let category: String = r.try_get("category")?;
    let topic: Option<String> = r.try_get("topic")?;
    let at = |col: &str| -> Result<Option<OffsetDateTime>> {
        Ok(r.try_get::<Option<i64>, _>(col)?.map(from_ms))
    };
    Ok(OrderSummary {
        number: id.parse::<OrderNumber>().map_err(|e| Error::Corrupt {
            what: "orders.id",
            detail: format!("{id}: {e}"),
        })?,
        state: parse_enum::<OrderState>("orders.state", &state)?,
        category: parse_enum::<Category>("orders.category", &category)?,
        topic: TopicCode(topic.unwrap_or_default()),
        caller_number: r.try_get("caller_number")?,
        district: r.try_get("district")?,
        lead: r.try_get::<Option<String>, _>("lead_unit")?.map(UnitId),
        created_at: from_ms(r.try_get("created_at_ms")?),
        sign_by: at("sign_due_ms")?,
        respond_by: at("respond_due_ms")?,
        complete_by: at("complete_due_ms")?,
        reply_by: at("reply_due_ms")?,
    })
}

impl Store {
    /// The orders the sweep checks at `now`: every order running against a
    /// deadline, and the recent orders of callers with enough of them on one
    /// matter to be a repeat.
    ///
    /// # Errors
    /// Database errors, a corrupt row.
    pub async fn sweep_orders(
        &self,
        now: OffsetDateTime,
        rules: &TicketRules,
    ) -> Result<Vec<OrderSummary>> {
        let p = &rules.supervision;
        let window_start = ms(now - Duration::days(i64::from(p.repeat_window_days)));
        let rows = sqlx::query(&format!(
            "SELECT {SUMMARY_COLUMNS} FROM orders WHERE next_due_ms IS NOT NULL \
             UNION \
             SELECT {SUMMARY_COLUMNS} FROM orders o WHERE o.created_at_ms >= $1 \
               AND o.caller_number IN (SELECT caller_number FROM orders \
                 WHERE created_at_ms >= $1 AND caller_number IS NOT NULL \
                 GROUP BY caller_number, category, topic HAVING COUNT(*) >= $2)"
        ))
        .bind(window_start)
        .bind(i64::from(p.repeat_threshold))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(summary_of).collect()
    }

    /// Runs the supervision sweep at `now` and stores what it raises; the
    /// records that were new.
    ///
    /// # Errors
    /// Database errors, a corrupt row.
    pub async fn run_sweep(
        &self,
        now: OffsetDateTime,
        rules: &TicketRules,
    ) -> Result<Vec<SupervisionRecord>> {
        let orders = self.sweep_orders(now, rules).await?;
        let articles = self.pending_articles().await?;
        let gaps = self.gaps(true).await?;
        let records = sweep(
            SweepInput {
                orders: &orders,
                articles: &articles,
                gaps: &gaps,
            },
            now,
            &rules.calendar,
            &rules.supervision,
            |_| false,
        );
        let mut fresh = Vec::new();
        for r in records {
            let data = serde_json::to_string(&r).map_err(|e| Error::Corrupt {
                what: "supervision record",
                detail: e.to_string(),
            })?;
            let done = sqlx::query(
                "INSERT INTO supervision (key, kind, tier, order_id, knowledge_id, unit_id, district, \
                 raised_at_ms, data) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) \
                 ON CONFLICT (key) DO NOTHING",
            )
            .bind(&r.key)
            .bind(r.kind.as_str())
            .bind(r.tier.as_str())
            .bind(r.order.as_ref().map(ToString::to_string))
            .bind(r.knowledge_id.map(to_i64))
            .bind(r.unit.as_ref().map(|u| u.0.clone()))
            .bind(r.district.as_deref())
            .bind(ms(r.raised_at))
            .bind(data)
            .execute(&self.pool)
            .await?;
            if done.rows_affected() > 0 {
                fresh.push(r);
            }
        }
        Ok(fresh)
    }

    /// Supervision records, newest first.
    ///
    /// # Errors
    /// Database errors, a corrupt row.
    pub async fn supervision_records(
        &self,
        filter: &SupervisionFilter,
        limit: u32,
        offset: u64,
    ) -> Result<Vec<SupervisionRecord>> {
        let mut sql = String::from("SELECT data FROM supervision WHERE 1 = 1");
        let mut texts: Vec<String> = Vec::new();
        for (col, v) in [
            ("unit_id", &filter.unit),
            ("order_id", &filter.order),
            ("tier", &filter.tier),
            ("kind", &filter.kind),
        ] {
            if let Some(v) = v {
                texts.push(v.clone());
                sql.push_str(&format!(" AND {col} = ${}", texts.len()));
            }
        }
        let n = texts.len();
        sql.push_str(&format!(
            " AND raised_at_ms >= ${} ORDER BY raised_at_ms DESC, key LIMIT ${} OFFSET ${}",
            n + 1,
            n + 2,
            n + 3
        ));
        let mut q = sqlx::query(&sql);
        for t in &texts {
            q = q.bind(t.as_str());
        }
        let rows = q
            .bind(filter.since_ms.unwrap_or(i64::MIN))
            .bind(i64::from(limit))
            .bind(to_i64(offset))
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|r| {
                let data: String = r.try_get("data")?;
                serde_json::from_str(&data).map_err(|e| Error::Corrupt {
                    what: "supervision record",
                    detail: e.to_string(),
                })
            })
            .collect()
    }
}
