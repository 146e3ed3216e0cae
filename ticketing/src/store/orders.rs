//! Orders and their history in the database.
//!
//! An order is stored as the domain's JSON document plus the columns that
//! lists, reports and the sweep filter on ([`OrderRow`], built from the
//! domain order by `convert.rs`). Writes:
//!
//! - [`Store::insert_order`]: allocates the day's next number (an upsert on
//!   `order_numbers`, so two creators never get the same one), inserts the
//!   order, its first history entry and the audit row, in one transaction;
//! - [`Store::update_order`]: `UPDATE … WHERE id = $1 AND version = $seen` as
//!   the first statement (SQLite takes its write lock there, so concurrent
//!   writers queue instead of failing), then the history row, the unit links
//!   and the audit row. Zero rows updated means someone else moved the order
//!   first: [`Error::Conflict`], nothing written.

use sqlx::any::AnyRow;
use sqlx::{Any, Row, Transaction};

use super::audit::{self, AuditEntry};
use super::{is_unique_violation, Error, FailPoint, Result, Store};

/// The stored form of an order: the queryable columns and the document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderRow {
    pub id: String,
    pub version: i64,
    pub state: String,
    pub channel: String,
    pub category: String,
    pub topic: Option<String>,
    pub district: Option<String>,
    pub lead_unit: Option<String>,
    /// Co-handling units (§16.3).
    pub co_units: Vec<String>,
    pub caller_number: Option<String>,
    pub confidential: bool,
    pub call_id: Option<String>,
    pub created_by: String,
    pub created_at_ms: i64,
    pub updated_at_ms: i64,
    pub sign_due_ms: Option<i64>,
    pub signed_at_ms: Option<i64>,
    pub respond_due_ms: Option<i64>,
    pub responded_at_ms: Option<i64>,
    pub complete_due_ms: Option<i64>,
    pub completed_at_ms: Option<i64>,
    pub reply_due_ms: Option<i64>,
    pub replied_at_ms: Option<i64>,
    /// The earliest deadline still open; past it the order is overdue.
    pub next_due_ms: Option<i64>,
    pub extensions: i64,
    pub returns: i64,
    /// The handling survey that counts (1..5).
    pub satisfaction: Option<i64>,
    /// The latest reception-stage survey (rates the agent).
    pub reception_score: Option<i64>,
    /// Staff recused from the order (§29).
    pub recused: Vec<String>,
    /// The domain order, JSON.
    pub data: String,
    /// The emergency transfer on the order (§14), written to
    /// `emergency_linkages` with it; not read back (it is in `data`).
    pub emergency: Option<LinkageRow>,
}

/// One emergency transfer (§9, §14).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkageRow {
    /// `call_id:at_ms`: one transfer of one call at one instant.
    pub id: String,
    pub call_id: String,
    /// `110`, `119`, `120`, `122`.
    pub line: String,
    pub agent: String,
    pub at_ms: i64,
    pub outcome: String,
}

/// A draft's new state, written in the transaction that opens its order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DraftRow {
    pub id: i64,
    pub status: String,
    pub completed_at_ms: Option<i64>,
    pub order_id: Option<String>,
    pub data: String,
}

/// Everything [`Store::insert_order`] writes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewOrder {
    pub order: OrderRow,
    /// The opening entry, and the intake decision's when made at once.
    pub history: Vec<HistoryRow>,
    /// The draft completed into this order (must still be open).
    pub draft: Option<DraftRow>,
}

/// Records an emergency transfer (or links it to its order).
pub(super) async fn record_linkage(
    tx: &mut Transaction<'static, Any>,
    l: &LinkageRow,
    draft_id: Option<i64>,
    order_id: Option<&str>,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO emergency_linkages (id, draft_id, order_id, call_id, line, agent, at_ms, outcome) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (id) DO UPDATE SET \
         order_id = COALESCE(excluded.order_id, emergency_linkages.order_id), \
         draft_id = COALESCE(excluded.draft_id, emergency_linkages.draft_id), \
         outcome = excluded.outcome",
    )
    .bind(&l.id)
    .bind(draft_id)
    .bind(order_id)
    .bind(&l.call_id)
    .bind(&l.line)
    .bind(&l.agent)
    .bind(l.at_ms)
    .bind(&l.outcome)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Moves a draft out of `open`; [`Error::Conflict`] if it is no longer open.
pub(super) async fn close_draft(tx: &mut Transaction<'static, Any>, d: &DraftRow) -> Result<()> {
    let done = sqlx::query(
        "UPDATE drafts SET status = $1, completed_at_ms = $2, order_id = $3, data = $4 \
         WHERE id = $5 AND status = 'open'",
    )
    .bind(&d.status)
    .bind(d.completed_at_ms)
    .bind(d.order_id.as_deref())
    .bind(&d.data)
    .bind(d.id)
    .execute(&mut **tx)
    .await?;
    if done.rows_affected() == 0 {
        return Err(Error::Conflict(format!("draft {}", d.id)));
    }
    Ok(())
}

/// The stored form of one history entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HistoryRow {
    pub order_id: String,
    pub seq: i64,
    pub at_ms: i64,
    pub actor: String,
    pub actor_role: String,
    /// The actor's unit, for unit users.
    pub unit: Option<String>,
    pub action: String,
    pub from_state: Option<String>,
    pub to_state: String,
    /// The domain history entry, JSON.
    pub data: String,
}

pub(super) const ORDER_COLUMNS: &str =
    "id, version, state, channel, category, topic, district, lead_unit, \
    co_units, caller_number, confidential, call_id, created_by, created_at_ms, updated_at_ms, \
    sign_due_ms, signed_at_ms, respond_due_ms, responded_at_ms, complete_due_ms, completed_at_ms, \
    reply_due_ms, replied_at_ms, next_due_ms, extensions, returns, satisfaction, reception_score, \
    recused, data";

/// Lists are kept in a column as `,a,b,` so `LIKE '%,a,%'` finds a member.
fn join_list(items: &[String]) -> String {
    if items.is_empty() {
        String::new()
    } else {
        format!(",{},", items.join(","))
    }
}

fn split_list(s: &str) -> Vec<String> {
    s.split(',')
        .filter(|x| !x.is_empty())
        .map(str::to_owned)
        .collect()
}

pub(super) fn order_from_row(r: &AnyRow) -> Result<OrderRow> {
    let confidential: i64 = r.try_get("confidential")?;
    let co: String = r.try_get("co_units")?;
    let recused: String = r.try_get("recused")?;
    Ok(OrderRow {
        id: r.try_get("id")?,
        version: r.try_get("version")?,
        state: r.try_get("state")?,
        channel: r.try_get("channel")?,
        category: r.try_get("category")?,
        topic: r.try_get("topic")?,
        district: r.try_get("district")?,
        lead_unit: r.try_get("lead_unit")?,
        co_units: split_list(&co),
        caller_number: r.try_get("caller_number")?,
        confidential: confidential != 0,
        call_id: r.try_get("call_id")?,
        created_by: r.try_get("created_by")?,
        created_at_ms: r.try_get("created_at_ms")?,
        updated_at_ms: r.try_get("updated_at_ms")?,
        sign_due_ms: r.try_get("sign_due_ms")?,
        signed_at_ms: r.try_get("signed_at_ms")?,
        respond_due_ms: r.try_get("respond_due_ms")?,
        responded_at_ms: r.try_get("responded_at_ms")?,
        complete_due_ms: r.try_get("complete_due_ms")?,
        completed_at_ms: r.try_get("completed_at_ms")?,
        reply_due_ms: r.try_get("reply_due_ms")?,
        replied_at_ms: r.try_get("replied_at_ms")?,
        next_due_ms: r.try_get("next_due_ms")?,
        extensions: r.try_get("extensions")?,
        returns: r.try_get("returns")?,
        satisfaction: r.try_get("satisfaction")?,
        reception_score: r.try_get("reception_score")?,
        recused: split_list(&recused),
        data: r.try_get("data")?,
        emergency: None,
    })
}

fn history_from_row(r: &AnyRow) -> Result<HistoryRow> {
    Ok(HistoryRow {
        order_id: r.try_get("order_id")?,
        seq: r.try_get("seq")?,
        at_ms: r.try_get("at_ms")?,
        actor: r.try_get("actor")?,
        actor_role: r.try_get("actor_role")?,
        unit: r.try_get("unit")?,
        action: r.try_get("action")?,
        from_state: r.try_get("from_state")?,
        to_state: r.try_get("to_state")?,
        data: r.try_get("data")?,
    })
}

async fn insert_history(tx: &mut Transaction<'static, Any>, h: &HistoryRow) -> Result<()> {
    sqlx::query(
        "INSERT INTO order_history (order_id, seq, at_ms, actor, actor_role, unit, action, from_state, to_state, data) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
    )
    .bind(&h.order_id)
    .bind(h.seq)
    .bind(h.at_ms)
    .bind(&h.actor)
    .bind(&h.actor_role)
    .bind(h.unit.as_deref())
    .bind(&h.action)
    .bind(h.from_state.as_deref())
    .bind(&h.to_state)
    .bind(&h.data)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Replaces the order's unit links with its current lead and co-handlers.
async fn link_units(tx: &mut Transaction<'static, Any>, o: &OrderRow) -> Result<()> {
    sqlx::query("DELETE FROM order_units WHERE order_id = $1")
        .bind(&o.id)
        .execute(&mut **tx)
        .await?;
    let lead = o.lead_unit.iter().map(|u| (u, "lead"));
    let co = o
        .co_units
        .iter()
        .filter(|u| Some(*u) != o.lead_unit.as_ref())
        .map(|u| (u, "co"));
    for (unit, role) in lead.chain(co) {
        sqlx::query(
            "INSERT INTO order_units (order_id, unit_id, role, created_at_ms, next_due_ms, state) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(&o.id)
        .bind(unit)
        .bind(role)
        .bind(o.created_at_ms)
        .bind(o.next_due_ms)
        .bind(&o.state)
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}

fn bind_order<'q>(
    q: sqlx::query::Query<'q, Any, sqlx::any::AnyArguments<'q>>,
    o: &'q OrderRow,
    co: &'q str,
    recused: &'q str,
) -> sqlx::query::Query<'q, Any, sqlx::any::AnyArguments<'q>> {
    q.bind(&o.id)
        .bind(o.version)
        .bind(&o.state)
        .bind(&o.channel)
        .bind(&o.category)
        .bind(o.topic.as_deref())
        .bind(o.district.as_deref())
        .bind(o.lead_unit.as_deref())
        .bind(co)
        .bind(o.caller_number.as_deref())
        .bind(i64::from(o.confidential))
        .bind(o.call_id.as_deref())
        .bind(&o.created_by)
        .bind(o.created_at_ms)
        .bind(o.updated_at_ms)
        .bind(o.sign_due_ms)
        .bind(o.signed_at_ms)
        .bind(o.respond_due_ms)
        .bind(o.responded_at_ms)
        .bind(o.complete_due_ms)
        .bind(o.completed_at_ms)
        .bind(o.reply_due_ms)
        .bind(o.replied_at_ms)
        .bind(o.next_due_ms)
        .bind(o.extensions)
        .bind(o.returns)
        .bind(o.satisfaction)
        .bind(o.reception_score)
        .bind(recused)
        .bind(&o.data)
}

impl Store {
    /// Inserts a new order. `build` receives the allocated daily sequence
    /// number of `day` (`yyyymmdd`, the local date) and returns what to store
    /// (or a domain error, which rolls everything back, number included).
    ///
    /// # Errors
    /// `build`'s error, [`Error::Duplicate`], [`Error::Conflict`] (the draft
    /// was completed meanwhile), database errors.
    pub async fn insert_order<E>(
        &self,
        day: &str,
        who: &AuditEntry,
        build: impl FnOnce(u32) -> Result<NewOrder, E>,
    ) -> Result<Result<OrderRow, E>> {
        let mut tx = self.pool.begin().await?;
        let row = sqlx::query(
            "INSERT INTO order_numbers (day, last) VALUES ($1, 1) \
             ON CONFLICT (day) DO UPDATE SET last = order_numbers.last + 1 RETURNING last",
        )
        .bind(day)
        .fetch_one(&mut *tx)
        .await?;
        let last: i64 = row.try_get("last")?;
        let seq = u32::try_from(last).unwrap_or(u32::MAX);
        let new = match build(seq) {
            Ok(x) => x,
            Err(e) => return Ok(Err(e)),
        };
        let order = new.order;
        let co = join_list(&order.co_units);
        let recused = join_list(&order.recused);
        let sql = format!(
            "INSERT INTO orders ({ORDER_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, \
             $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23, $24, $25, $26, $27, $28, $29, $30)"
        );
        let inserted = bind_order(sqlx::query(&sql), &order, &co, &recused)
            .execute(&mut *tx)
            .await;
        match inserted {
            Err(e) if is_unique_violation(&e) => {
                return Err(Error::Duplicate(format!("order {}", order.id)))
            }
            other => other?,
        };
        link_units(&mut tx, &order).await?;
        for h in &new.history {
            insert_history(&mut tx, h).await?;
        }
        if let Some(d) = &new.draft {
            close_draft(&mut tx, d).await?;
        }
        if let Some(l) = &order.emergency {
            record_linkage(
                &mut tx,
                l,
                new.draft.as_ref().map(|d| d.id),
                Some(&order.id),
            )
            .await?;
        }
        let detail = serde_json::json!({
            "state": order.state, "category": order.category,
            "draft": new.draft.as_ref().map(|d| d.id),
        });
        audit::record(&mut tx, who, "order.create", "order", &order.id, &detail).await?;
        tx.commit().await?;
        Ok(Ok(order))
    }

    /// Writes a transition: the order moves from version `seen` to
    /// `order.version`, and `history` is appended, all or nothing.
    ///
    /// # Errors
    /// [`Error::Conflict`] when the stored version is no longer `seen` (or
    /// the order is gone), database errors.
    pub async fn update_order(
        &self,
        seen: i64,
        order: &OrderRow,
        history: &HistoryRow,
        who: &AuditEntry,
    ) -> Result<()> {
        let mut tx = self.pool.begin().await?;
        let co = join_list(&order.co_units);
        let recused = join_list(&order.recused);
        let updated = sqlx::query(
            "UPDATE orders SET version = $2, state = $3, channel = $4, category = $5, topic = $6, \
             district = $7, lead_unit = $8, co_units = $9, caller_number = $10, confidential = $11, \
             call_id = $12, created_by = $13, created_at_ms = $14, updated_at_ms = $15, \
             sign_due_ms = $16, signed_at_ms = $17, respond_due_ms = $18, responded_at_ms = $19, \
             complete_due_ms = $20, completed_at_ms = $21, reply_due_ms = $22, replied_at_ms = $23, \
             next_due_ms = $24, extensions = $25, returns = $26, satisfaction = $27, \
             reception_score = $28, recused = $29, data = $30 WHERE id = $1 AND version = $31",
        );
        let updated = bind_order(updated, order, &co, &recused)
            .bind(seen)
            .execute(&mut *tx)
            .await?;
        if updated.rows_affected() == 0 {
            return Err(Error::Conflict(format!("order {}", order.id)));
        }
        self.check_fail(FailPoint::AfterOrderUpdate)?;
        insert_history(&mut tx, history).await?;
        link_units(&mut tx, order).await?;
        if let Some(l) = &order.emergency {
            record_linkage(&mut tx, l, None, Some(&order.id)).await?;
        }
        let detail = serde_json::json!({
            "from": history.from_state, "to": history.to_state, "version": order.version,
        });
        let action = format!("order.{}", history.action);
        audit::record(&mut tx, who, &action, "order", &order.id, &detail).await?;
        tx.commit().await?;
        Ok(())
    }

    /// One order.
    ///
    /// # Errors
    /// Database errors.
    pub async fn order(&self, id: &str) -> Result<Option<OrderRow>> {
        let row = sqlx::query(&format!("SELECT {ORDER_COLUMNS} FROM orders WHERE id = $1"))
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(order_from_row).transpose()
    }

    /// An order's history, oldest first.
    ///
    /// # Errors
    /// Database errors.
    pub async fn order_history(&self, id: &str) -> Result<Vec<HistoryRow>> {
        let rows = sqlx::query(
            "SELECT order_id, seq, at_ms, actor, actor_role, unit, action, from_state, to_state, data \
             FROM order_history WHERE order_id = $1 ORDER BY seq",
        )
        .bind(id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(history_from_row).collect()
    }

    /// Orders still open whose earliest deadline is before `at_ms`, for the
    /// supervision sweep (at most `limit`).
    ///
    /// # Errors
    /// Database errors.
    pub async fn overdue_orders(&self, at_ms: i64, limit: u32) -> Result<Vec<OrderRow>> {
        let rows = sqlx::query(&format!(
            "SELECT {ORDER_COLUMNS} FROM orders WHERE next_due_ms < $1 \
             ORDER BY next_due_ms LIMIT $2"
        ))
        .bind(at_ms)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(order_from_row).collect()
    }
}
