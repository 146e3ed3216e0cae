//! Drafts (§15, §16.1): the record every answered call leaves, completed by
//! the agent into an order or "no order needed", and the emergency transfers
//! made during the call (§14).
//!
//! The call side opens drafts ([`Store::open_draft`], as the system actor);
//! completing one into an order writes the draft, the order, its history
//! (opening and intake decision) and the linkage in one transaction, and
//! fails with [`Error::Conflict`] if the draft was completed meanwhile.

use sqlx::Row;
use time::OffsetDateTime;

use super::audit::{self, AuditEntry};
use super::orders::{close_draft, record_linkage, DraftRow, NewOrder};
use super::tickets::{day_key, history_row, linkage_row, ms, order_row};
use super::{to_i64, Error, Result, Store};
use crate::actor::Actor;
use crate::draft::{CallInfo, Draft, DraftCompletion, DraftStatus, NoOrderReason};
use crate::emergency::EmergencyLinkage;
use crate::error::DomainError;
use crate::lifecycle::Command;
use crate::number::OrderNumber;
use crate::order::OrderDetails;
use crate::rules::TicketRules;

fn status_str(s: &DraftStatus) -> &'static str {
    match s {
        DraftStatus::Open => "open",
        DraftStatus::OrderOpened { .. } => "order_opened",
        DraftStatus::NoOrderNeeded { .. } => "no_order_needed",
    }
}

fn draft_row(d: &Draft) -> Result<DraftRow> {
    Ok(DraftRow {
        id: to_i64(d.id),
        status: status_str(&d.status).to_owned(),
        completed_at_ms: d.completed_at.map(ms),
        order_id: match &d.status {
            DraftStatus::OrderOpened { number } => Some(number.to_string()),
            _ => None,
        },
        data: serde_json::to_string(d).map_err(|e| Error::Corrupt {
            what: "draft",
            detail: e.to_string(),
        })?,
    })
}

fn parse_draft(data: &str) -> Result<Draft> {
    serde_json::from_str(data).map_err(|e| Error::Corrupt {
        what: "draft",
        detail: e.to_string(),
    })
}

impl Store {
    /// Opens the draft of an answered call (the call side, as `actor`
    /// `Actor::system(..)`).
    ///
    /// # Errors
    /// [`Error::Domain`] (not the system, no call id), database errors.
    pub async fn open_draft(
        &self,
        call: CallInfo,
        actor: &Actor,
        now: OffsetDateTime,
        who: &AuditEntry,
    ) -> Result<Draft> {
        let mut tx = self.pool.begin().await?;
        let row = sqlx::query(
            "INSERT INTO drafts (call_id, agent_id, status, answered_at_ms, data) \
             VALUES ($1, $2, 'open', $3, '{}') RETURNING id",
        )
        .bind(&call.call_id)
        .bind(&call.agent.0)
        .bind(ms(call.answered_at))
        .fetch_one(&mut *tx)
        .await?;
        let id: i64 = row.try_get("id")?;
        let draft = Draft::open(u64::try_from(id).unwrap_or_default(), call, actor, now)?;
        let r = draft_row(&draft)?;
        sqlx::query("UPDATE drafts SET data = $1 WHERE id = $2")
            .bind(&r.data)
            .bind(id)
            .execute(&mut *tx)
            .await?;
        let detail =
            serde_json::json!({ "call_id": draft.call.call_id, "agent": draft.call.agent });
        audit::record(
            &mut tx,
            who,
            "draft.open",
            "draft",
            &id.to_string(),
            &detail,
        )
        .await?;
        tx.commit().await?;
        Ok(draft)
    }

    /// One draft.
    ///
    /// # Errors
    /// Database errors.
    pub async fn draft(&self, id: u64) -> Result<Option<Draft>> {
        let row = sqlx::query("SELECT data FROM drafts WHERE id = $1")
            .bind(to_i64(id))
            .fetch_optional(&self.pool)
            .await?;
        row.map(|r| parse_draft(&r.try_get::<String, _>("data")?))
            .transpose()
    }

    /// Drafts still open, oldest first; with `answered_before_ms`, only those
    /// answered before it (stale after wrap-up, for supervisors); with
    /// `agent`, only that agent's.
    ///
    /// # Errors
    /// Database errors.
    pub async fn open_drafts(
        &self,
        answered_before_ms: Option<i64>,
        agent: Option<&str>,
        limit: u32,
    ) -> Result<Vec<Draft>> {
        let rows = sqlx::query(
            "SELECT data FROM drafts WHERE status = 'open' AND answered_at_ms < $1 \
             AND ($2 = '' OR agent_id = $2) ORDER BY answered_at_ms LIMIT $3",
        )
        .bind(answered_before_ms.unwrap_or(i64::MAX))
        .bind(agent.unwrap_or(""))
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| parse_draft(&r.try_get::<String, _>("data")?))
            .collect()
    }

    /// Attaches an emergency transfer to the call's open draft.
    ///
    /// # Errors
    /// [`Error::NotFound`], [`Error::Domain`] (completed draft, other call),
    /// [`Error::Conflict`], database errors.
    pub async fn attach_emergency(
        &self,
        draft_id: u64,
        linkage: EmergencyLinkage,
        who: &AuditEntry,
    ) -> Result<Draft> {
        let mut draft = self
            .draft(draft_id)
            .await?
            .ok_or_else(|| Error::NotFound(format!("draft {draft_id}")))?;
        draft.attach_emergency(linkage)?;
        let r = draft_row(&draft)?;
        let mut tx = self.pool.begin().await?;
        let done = sqlx::query("UPDATE drafts SET data = $1 WHERE id = $2 AND status = 'open'")
            .bind(&r.data)
            .bind(r.id)
            .execute(&mut *tx)
            .await?;
        if done.rows_affected() == 0 {
            return Err(Error::Conflict(format!("draft {draft_id}")));
        }
        let l = draft.emergency.last().map(linkage_row);
        if let Some(l) = &l {
            record_linkage(&mut tx, l, Some(r.id), None).await?;
        }
        let detail = serde_json::json!({ "line": l.as_ref().map(|l| l.line.clone()) });
        audit::record(
            &mut tx,
            who,
            "draft.emergency",
            "draft",
            &r.id.to_string(),
            &detail,
        )
        .await?;
        tx.commit().await?;
        Ok(draft)
    }

    /// Completes a draft with "no order needed".
    ///
    /// # Errors
    /// [`Error::NotFound`], [`Error::Domain`], [`Error::Conflict`], database
    /// errors.
    #[allow(clippy::too_many_arguments)]
    pub async fn draft_no_order(
        &self,
        draft_id: u64,
        reason: NoOrderReason,
        note: Option<String>,
        related_order: Option<OrderNumber>,
        actor: &Actor,
        now: OffsetDateTime,
        who: &AuditEntry,
    ) -> Result<Draft> {
        let draft = self
            .draft(draft_id)
            .await?
            .ok_or_else(|| Error::NotFound(format!("draft {draft_id}")))?;
        let done = draft.no_order_needed(reason, note, related_order, actor, now)?;
        let r = draft_row(&done)?;
        let mut tx = self.pool.begin().await?;
        close_draft(&mut tx, &r).await?;
        let detail = serde_json::json!({ "status": r.status });
        audit::record(
            &mut tx,
            who,
            "draft.no_order",
            "draft",
            &r.id.to_string(),
            &detail,
        )
        .await?;
        tx.commit().await?;
        Ok(done)
    }

    /// Completes a draft into an order (with an optional intake decision:
    /// answer on the spot, refuse, redirect, hand over, dispatch), all in one
    /// transaction.
    ///
    /// # Errors
    /// [`Error::NotFound`], [`Error::Domain`], [`Error::Conflict`] (already
    /// completed), database errors.
    #[allow(clippy::too_many_arguments)]
    pub async fn draft_to_order(
        &self,
        draft_id: u64,
        details: OrderDetails,
        intake: Option<&Command>,
        actor: &Actor,
        now: OffsetDateTime,
        rules: &TicketRules,
        who: &AuditEntry,
    ) -> Result<DraftCompletion> {
        let draft = self
            .draft(draft_id)
            .await?
            .ok_or_else(|| Error::NotFound(format!("draft {draft_id}")))?;
        details.validate(&rules.topics)?;
        let (day, key) = day_key(rules, now);
        let mut result: Option<DraftCompletion> = None;
        let stored = self
            .insert_order(&key, who, |seq| {
                let number = OrderNumber::new(&rules.order_prefix, day, seq)?;
                let done = draft.complete_with_order(number, details, intake, actor, now, rules)?;
                let wrap = |e: Error| DomainError::validation("order", e.to_string());
                let new = NewOrder {
                    order: order_row(&done.opened.order, now).map_err(wrap)?,
                    history: done
                        .opened
                        .history
                        .iter()
                        .map(|h| history_row(h).map_err(wrap))
                        .collect::<std::result::Result<_, _>>()?,
                    draft: Some(draft_row(&done.draft).map_err(wrap)?),
                };
                result = Some(done);
                Ok::<_, DomainError>(new)
            })
            .await?;
        stored?;
        result.ok_or_else(|| Error::Corrupt {
            what: "draft",
            detail: "completed without a result".into(),
        })
    }
}
