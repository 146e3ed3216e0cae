//! The domain on top of the rows: open an order, apply a command, read and
//! list orders and their history as domain values.
//!
//! This is the only place that turns a [`WorkOrder`] into an [`OrderRow`]
//! (the queryable columns are derived from the document, never set apart
//! from it) and back. Each write is one call of `insert_order` or
//! `update_order`, so one transaction.

use time::OffsetDateTime;

use super::audit::AuditEntry;
use super::order_list::{Cursor, OrderFilter, PageStart};
use super::orders::{HistoryRow, OrderRow};
use super::{Error, Result, Store};
use crate::actor::Actor;
use crate::error::DomainError;
use crate::lifecycle::{apply, Command, HistoryEntry, OrderState, Transition};
use crate::number::OrderNumber;
use crate::order::{OrderDetails, WorkOrder};
use crate::rules::TicketRules;

/// Epoch milliseconds of an instant.
#[must_use]
pub fn ms(t: OffsetDateTime) -> i64 {
    i64::try_from(t.unix_timestamp_nanos() / 1_000_000).unwrap_or(i64::MAX)
}

/// The instant of epoch milliseconds.
#[must_use]
pub fn from_ms(ms: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

fn to_json<T: serde::Serialize>(what: &'static str, v: &T) -> Result<String> {
    serde_json::to_string(v).map_err(|e| Error::Corrupt {
        what,
        detail: e.to_string(),
    })
}

/// The deadline the order is currently running against, as the sweep sees
/// it (`supervision::sweep`): sign while dispatched, respond while signed,
/// complete while with the unit, reply once completed.
fn next_due(o: &WorkOrder) -> Option<OffsetDateTime> {
    let d = &o.deadlines;
    let candidates = [
        (o.state == OrderState::Dispatched, d.sign_by),
        (o.state == OrderState::Signed, d.respond_by),
        (
            matches!(
                o.state,
                OrderState::Dispatched | OrderState::Signed | OrderState::InProgress
            ),
            d.complete_by,
        ),
        (o.state == OrderState::Completed, d.reply_by),
    ];
    candidates
        .into_iter()
        .filter_map(|(applies, t)| t.filter(|_| applies))
        .min()
}

/// The stored form of a domain order.
///
/// # Errors
/// Serialisation failure (not expected).
pub fn order_row(o: &WorkOrder, updated_at: OffsetDateTime) -> Result<OrderRow> {
    let a = o.assignment.as_ref();
    Ok(OrderRow {
        id: o.number.to_string(),
        version: i64::from(o.version),
        state: o.state.as_str().to_owned(),
        channel: serde_json::to_value(o.details.channel)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default(),
        category: o.details.category.as_str().to_owned(),
        topic: Some(o.details.topic.0.clone()),
        district: o.details.address.as_ref().and_then(|a| a.district.clone()),
        lead_unit: a.map(|a| a.lead.0.clone()),
        co_units: a
            .map(|a| a.co_handlers.iter().map(|u| u.0.clone()).collect())
            .unwrap_or_default(),
        caller_number: o.details.caller.number.clone(),
        confidential: o.details.confidential,
        call_id: o.details.links.call_ids.first().cloned(),
        created_by: o.created_by.0.clone(),
        created_at_ms: ms(o.created_at),
        updated_at_ms: ms(updated_at),
        sign_due_ms: o.deadlines.sign_by.map(ms),
        signed_at_ms: a.and_then(|a| a.signed_at).map(ms),
        respond_due_ms: o.deadlines.respond_by.map(ms),
        responded_at_ms: a.and_then(|a| a.responded_at).map(ms),
        complete_due_ms: o.deadlines.complete_by.map(ms),
        completed_at_ms: o.result.as_ref().map(|r| ms(r.completed_at)),
        reply_due_ms: o.deadlines.reply_by.map(ms),
        replied_at_ms: o.reply.as_ref().map(|r| ms(r.replied_at)),
        next_due_ms: next_due(o).map(ms),
        extensions: i64::from(o.extension.is_some()),
        returns: i64::try_from(o.returned_by.len()).unwrap_or(i64::MAX),
        satisfaction: o.final_handling_survey().map(|s| i64::from(s.score)),
        reception_score: o
            .surveys
            .iter()
            .rev()
            .find(|s| s.stage == crate::order::SurveyStage::Reception)
            .map(|s| i64::from(s.score)),
        recused: o.recused.iter().map(|u| u.0.clone()).collect(),
        data: to_json("order", o)?,
        emergency: o.details.links.emergency.as_ref().map(linkage_row),
    })
}

/// The stored form of an emergency transfer.
#[must_use]
pub fn linkage_row(l: &crate::emergency::EmergencyLinkage) -> super::LinkageRow {
    let outcome = serde_json::to_value(l.outcome)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default();
    super::LinkageRow {
        id: format!("{}:{}", l.call_id, ms(l.at)),
        call_id: l.call_id.clone(),
        line: l.line.number().to_owned(),
        agent: l.agent.0.clone(),
        at_ms: ms(l.at),
        outcome,
    }
}

/// The stored form of a history entry.
///
/// # Errors
/// Serialisation failure (not expected).
pub fn history_row(h: &HistoryEntry) -> Result<HistoryRow> {
    Ok(HistoryRow {
        order_id: h.order.to_string(),
        seq: i64::from(h.seq),
        at_ms: ms(h.at),
        actor: h.actor.0.clone(),
        actor_role: h.role.as_str().to_owned(),
        unit: h.unit.as_ref().map(|u| u.0.clone()),
        action: h.command.as_str().to_owned(),
        from_state: h.from.map(|s| s.as_str().to_owned()),
        to_state: h.to.as_str().to_owned(),
        data: to_json("history entry", h)?,
    })
}

/// The domain order of a row.
///
/// # Errors
/// [`Error::Corrupt`] when the document does not parse.
pub fn parse_order(row: &OrderRow) -> Result<WorkOrder> {
    serde_json::from_str(&row.data).map_err(|e| Error::Corrupt {
        what: "order",
        detail: format!("{}: {e}", row.id),
    })
}

/// The local date of `now` and its `yyyymmdd` key for order numbering.
pub(super) fn day_key(rules: &TicketRules, now: OffsetDateTime) -> (time::Date, String) {
    let day = rules.calendar.local_date(now);
    let key = format!(
        "{:04}{:02}{:02}",
        day.year(),
        u8::from(day.month()),
        day.day()
    );
    (day, key)
}

/// One page of the order list.
#[derive(Debug, Clone)]
pub struct OrderPage {
    pub orders: Vec<WorkOrder>,
    /// Where the next page starts; `None` on the last page.
    pub next: Option<Cursor>,
}

impl Store {
    /// Opens an order from `details` (validated against the rules' topic
    /// tree), numbered with the next sequence of its local day.
    ///
    /// # Errors
    /// [`Error::Domain`] for invalid details, database errors.
    pub async fn open_order(
        &self,
        details: OrderDetails,
        actor: &Actor,
        now: OffsetDateTime,
        rules: &TicketRules,
        who: &AuditEntry,
    ) -> Result<WorkOrder> {
        details.validate(&rules.topics).map_err(Error::Domain)?;
        let (day, key) = day_key(rules, now);
        let mut opened: Option<WorkOrder> = None;
        let built = self
            .insert_order(&key, who, |seq| {
                let number = OrderNumber::new(&rules.order_prefix, day, seq)?;
                let order = WorkOrder::open(number, details, actor, now, &rules.topics)?;
                let entry = HistoryEntry::opened(&order, actor);
                let rows = super::NewOrder {
                    order: order_row(&order, now)
                        .map_err(|e| DomainError::validation("order", e.to_string()))?,
                    history: vec![history_row(&entry)
                        .map_err(|e| DomainError::validation("order", e.to_string()))?],
                    draft: None,
                };
                opened = Some(order);
                Ok::<_, DomainError>(rows)
            })
            .await?;
        built.map_err(Error::Domain)?;
        opened.ok_or_else(|| Error::Corrupt {
            what: "order",
            detail: "opened without a result".into(),
        })
    }

    /// One order by number.
    ///
    /// # Errors
    /// [`Error::Corrupt`], database errors.
    pub async fn get_order(&self, number: &str) -> Result<Option<WorkOrder>> {
        match self.order(number).await? {
            Some(row) => parse_order(&row).map(Some),
            None => Ok(None),
        }
    }

    /// Applies `command` to the order, as `actor` at `now`, and stores the
    /// result in one transaction. With `expected_version`, the caller's copy
    /// must still be current.
    ///
    /// # Errors
    /// [`Error::NotFound`], [`Error::Domain`] (the lifecycle refused),
    /// [`Error::Conflict`] (someone else changed the order first), database
    /// errors.
    #[allow(clippy::too_many_arguments)]
    pub async fn apply_command(
        &self,
        number: &str,
        expected_version: Option<u32>,
        command: &Command,
        actor: &Actor,
        now: OffsetDateTime,
        rules: &TicketRules,
        who: &AuditEntry,
    ) -> Result<Transition> {
        let order = self
            .get_order(number)
            .await?
            .ok_or_else(|| Error::NotFound(format!("order {number}")))?;
        if expected_version.is_some_and(|v| v != order.version) {
            return Err(Error::Conflict(format!("order {number}")));
        }
        let transition = apply(&order, command, actor, now, rules).map_err(Error::Domain)?;
        let row = order_row(&transition.order, now)?;
        let hist = history_row(&transition.entry)?;
        self.update_order(i64::from(order.version), &row, &hist, who)
            .await?;
        Ok(transition)
    }

    /// A page of at most `limit` orders matching `filter` (newest first;
    /// most overdue first for a late list) from `start`, with the cursor of
    /// the next page when there is one.
    ///
    /// # Errors
    /// [`Error::Corrupt`], database errors.
    pub async fn list_work_orders(
        &self,
        filter: &OrderFilter,
        limit: u32,
        start: &PageStart,
    ) -> Result<OrderPage> {
        // One more than asked tells whether there is a next page.
        let mut rows = self
            .list_orders(filter, limit.saturating_add(1), start)
            .await?;
        let more = rows.len() > limit as usize;
        rows.truncate(limit as usize);
        let next = if more {
            rows.last().map(|r| Cursor::after(r, filter))
        } else {
            None
        };
        let orders = rows.iter().map(parse_order).collect::<Result<_>>()?;
        Ok(OrderPage { orders, next })
    }

    /// An order's history, oldest first.
    ///
    /// # Errors
    /// [`Error::Corrupt`], database errors.
    pub async fn history(&self, number: &str) -> Result<Vec<HistoryEntry>> {
        self.order_history(number)
            .await?
            .iter()
            .map(|h| {
                serde_json::from_str(&h.data).map_err(|e| Error::Corrupt {
                    what: "history entry",
                    detail: format!("{} #{}: {e}", h.order_id, h.seq),
                })
            })
            .collect()
    }
}
