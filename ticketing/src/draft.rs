//! Every answered call leaves a record (§15, §16.1).
//!
//! When an agent answers a hotline call, the call side (not the browser)
//! opens a [`Draft`] with the call's id, the caller's number, the IVR path
//! and the recording. The agent then completes it, in one of two ways:
//!
//! - **an order** ([`Draft::complete_with_order`]): the agent fills in the
//!   [`OrderDetails`] and, usually, the intake decision at once: answered on
//!   the spot (with the knowledge articles used), refused for a §13 reason,
//!   told to use the legal channel (§16.4), handed to an emergency line, or
//!   dispatched. Without a decision the order waits in `received`;
//! - **no order needed** ([`Draft::no_order_needed`]) with a reason: a
//!   silent call, a wrong number, a question about an existing order.
//!
//! An emergency transfer during the call ([`EmergencyLinkage`]) attaches to
//! the call's open draft ([`Draft::attach_emergency`]); when the agent
//! completes it into an order, the linkage goes onto the order. A transfer
//! with no draft (e.g. from the IVR's emergency key before an agent answers)
//! opens an order of its own with [`open_order`] and
//! [`Command::HandOverToEmergency`].
//!
//! Drafts still open some minutes after the call are listed for supervisors
//! ([`Draft::is_stale`]).

use serde::{Deserialize, Serialize};
use time::{Duration, OffsetDateTime};

use crate::actor::{Actor, Role, UserId};
use crate::emergency::EmergencyLinkage;
use crate::error::{DomainError, Result};
use crate::lifecycle::{apply, Command, CommandKind, Effect, HistoryEntry};
use crate::number::OrderNumber;
use crate::order::{text, OrderDetails, WorkOrder};
use crate::rules::TicketRules;

/// The call a draft records.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CallInfo {
    /// SIP Call-ID.
    pub call_id: String,
    /// The caller's number as presented, if any.
    #[serde(default)]
    pub caller_number: Option<String>,
    /// The IVR menu path taken (node names, e.g. `["main", "social"]`).
    #[serde(default)]
    pub ivr_path: Vec<String>,
    /// The recording of the call, if recorded.
    #[serde(default)]
    pub recording_id: Option<String>,
    /// The agent who answered.
    pub agent: UserId,
    /// When the agent answered.
    #[serde(with = "time::serde::rfc3339")]
    pub answered_at: OffsetDateTime,
}

/// Why a call needs no order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NoOrderReason {
    /// Nobody spoke.
    SilentCall,
    /// The caller hung up before saying anything useful.
    CallerHungUp,
    /// Wrong number.
    WrongNumber,
    /// A test call.
    TestCall,
    /// The caller asked about an existing order (name it in `related_order`).
    ExistingOrderEnquiry,
    /// Anything else (say what in the note).
    Other,
}

/// Where a draft is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum DraftStatus {
    /// Waiting for the agent.
    Open,
    /// Completed into an order.
    OrderOpened {
        /// The order.
        number: OrderNumber,
    },
    /// Closed without an order.
    NoOrderNeeded {
        /// Why.
        reason: NoOrderReason,
        /// The agent's note.
        #[serde(default)]
        note: Option<String>,
        /// The order asked about, for an enquiry.
        #[serde(default)]
        related_order: Option<OrderNumber>,
    },
}

/// The draft record of one answered call.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Draft {
    /// Id given by the store.
    pub id: u64,
    /// The call.
    pub call: CallInfo,
    /// Emergency transfers made during the call.
    #[serde(default)]
    pub emergency: Vec<EmergencyLinkage>,
    /// Where it is.
    pub status: DraftStatus,
    /// When opened.
    #[serde(with = "time::serde::rfc3339")]
    pub opened_at: OffsetDateTime,
    /// When completed.
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub completed_at: Option<OffsetDateTime>,
    /// Who completed it.
    #[serde(default)]
    pub completed_by: Option<UserId>,
}

/// An order opened (from a draft or directly), with its first history
/// entries and effects, ready for the store to write in one transaction.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OpenedOrder {
    /// The order after the intake decision, if any.
    pub order: WorkOrder,
    /// `open`, then the intake decision's entry.
    pub history: Vec<HistoryEntry>,
    /// Effects of the intake decision (a dispatch notifies units).
    pub effects: Vec<Effect>,
}

/// A draft completed into an order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DraftCompletion {
    /// The draft, now `order_opened`.
    pub draft: Draft,
    /// The order.
    pub opened: OpenedOrder,
}

/// Open an order with `details` and, if given, apply the intake decision
/// (`answer_on_spot`, `refuse`, `redirect_to_legal_channel`,
/// `hand_over_to_emergency` or `dispatch`) at the same instant. Web, app,
/// WeChat and provincial-platform orders are opened this way by the API;
/// call orders through [`Draft::complete_with_order`].
pub fn open_order(
    number: OrderNumber,
    details: OrderDetails,
    intake: Option<&Command>,
    actor: &Actor,
    now: OffsetDateTime,
    rules: &TicketRules,
) -> Result<OpenedOrder> {
    if !(actor.role.is_hotline() || actor.role == Role::System) {
        return Err(DomainError::Forbidden {
            actor: actor.id.0.clone(),
            command: CommandKind::Open,
            reason: "orders are opened by the hotline (§15)".into(),
        });
    }
    if number.prefix() != rules.order_prefix {
        return Err(DomainError::validation(
            "number",
            format!("prefix must be {:?}", rules.order_prefix),
        ));
    }
    let order = WorkOrder::open(number, details, actor, now, &rules.topics)?;
    let mut history = vec![HistoryEntry::opened(&order, actor)];
    let Some(intake) = intake else {
        return Ok(OpenedOrder {
            order,
            history,
            effects: Vec::new(),
        });
    };
    let is_intake = matches!(
        intake.kind(),
        CommandKind::AnswerOnSpot
            | CommandKind::Refuse
            | CommandKind::RedirectToLegalChannel
            | CommandKind::HandOverToEmergency
            | CommandKind::Dispatch
    );
    if !is_intake {
        return Err(DomainError::validation(
            "intake.command",
            format!("{} is not an intake decision", intake.kind()),
        ));
    }
    let t = apply(&order, intake, actor, now, rules)?;
    history.push(t.entry);
    Ok(OpenedOrder {
        order: t.order,
        history,
        effects: t.effects,
    })
}

impl Draft {
    /// Open the draft of a call just answered. Only the call side
    /// ([`Role::System`]) opens drafts; the browser cannot fake calls.
    pub fn open(id: u64, call: CallInfo, actor: &Actor, now: OffsetDateTime) -> Result<Draft> {
        if actor.role != Role::System {
            return Err(DomainError::Forbidden {
                actor: actor.id.0.clone(),
                command: CommandKind::Open,
                reason: "drafts are opened by the call side".into(),
            });
        }
        text("call.call_id", &call.call_id, true)?;
        let now = crate::calendar::utc(now);
        let mut call = call;
        call.answered_at = crate::calendar::utc(call.answered_at);
        Ok(Draft {
            id,
            call,
            emergency: Vec::new(),
            status: DraftStatus::Open,
            opened_at: now,
            completed_at: None,
            completed_by: None,
        })
    }

    /// Whether the agent has not completed it yet.
    pub fn is_open(&self) -> bool {
        self.status == DraftStatus::Open
    }

    /// Open longer than `wrap_up` after the call was answered: listed for
    /// supervisors.
    pub fn is_stale(&self, now: OffsetDateTime, wrap_up: Duration) -> bool {
        self.is_open() && now - self.call.answered_at > wrap_up
    }

    /// Record an emergency transfer of this call (§14). Allowed while the
    /// draft is open; the call id must match.
    pub fn attach_emergency(&mut self, linkage: EmergencyLinkage) -> Result<()> {
        if !self.is_open() {
            return Err(DomainError::NotAllowedNow {
                command: CommandKind::HandOverToEmergency,
                reason: "the draft is already completed; attach to its order".into(),
            });
        }
        if linkage.call_id != self.call.call_id {
            return Err(DomainError::validation(
                "linkage.call_id",
                "is not this draft's call",
            ));
        }
        let mut linkage = linkage;
        linkage.at = crate::calendar::utc(linkage.at);
        self.emergency.push(linkage);
        Ok(())
    }

    fn check_completer(&self, actor: &Actor, kind: CommandKind) -> Result<()> {
        if !self.is_open() {
            return Err(DomainError::NotAllowedNow {
                command: kind,
                reason: "the draft is already completed".into(),
            });
        }
        // The answering agent completes; a supervisor may clear stale ones.
        let ok = actor.role == Role::Supervisor
            || (actor.role == Role::Agent && actor.id == self.call.agent);
        if ok {
            Ok(())
        } else {
            Err(DomainError::Forbidden {
                actor: actor.id.0.clone(),
                command: kind,
                reason: "only the answering agent or a supervisor completes a draft".into(),
            })
        }
    }

    /// Close the draft without an order.
    pub fn no_order_needed(
        &self,
        reason: NoOrderReason,
        note: Option<String>,
        related_order: Option<OrderNumber>,
        actor: &Actor,
        now: OffsetDateTime,
    ) -> Result<Draft> {
        self.check_completer(actor, CommandKind::Close)?;
        if let Some(n) = &note {
            text("note", n, false)?;
        }
        match reason {
            NoOrderReason::Other if note.as_deref().is_none_or(|n| n.trim().is_empty()) => {
                return Err(DomainError::validation(
                    "note",
                    "say why no order is needed",
                ));
            }
            NoOrderReason::ExistingOrderEnquiry if related_order.is_none() => {
                return Err(DomainError::validation(
                    "related_order",
                    "name the order asked about",
                ));
            }
            _ => {}
        }
        if !self.emergency.is_empty() {
            return Err(DomainError::NotAllowedNow {
                command: CommandKind::Close,
                reason: "an emergency transfer was made: it needs an order (§14)".into(),
            });
        }
        let now = crate::calendar::utc(now);
        let mut d = self.clone();
        d.status = DraftStatus::NoOrderNeeded {
            reason,
            note,
            related_order,
        };
        d.completed_at = Some(now);
        d.completed_by = Some(actor.id.clone());
        Ok(d)
    }

    /// Complete the draft into an order numbered `number` (sequence from the
    /// store). The call id, recording, caller number (when the agent left it
    /// empty) and emergency linkage are copied onto the order.
    pub fn complete_with_order(
        &self,
        number: OrderNumber,
        mut details: OrderDetails,
        intake: Option<&Command>,
        actor: &Actor,
        now: OffsetDateTime,
        rules: &TicketRules,
    ) -> Result<DraftCompletion> {
        self.check_completer(actor, CommandKind::Open)?;
        let links = &mut details.links;
        if !links.call_ids.contains(&self.call.call_id) {
            links.call_ids.insert(0, self.call.call_id.clone());
        }
        if let Some(r) = &self.call.recording_id {
            if !links.recording_ids.contains(r) {
                links.recording_ids.insert(0, r.clone());
            }
        }
        links.draft_id = Some(self.id);
        if links.emergency.is_none() {
            links.emergency = self.emergency.last().cloned();
        }
        if details.caller.number.is_none() {
            details.caller.number = self.call.caller_number.clone();
        }
        let opened = open_order(number, details, intake, actor, now, rules)?;
        let now = crate::calendar::utc(now);
        let mut draft = self.clone();
        draft.status = DraftStatus::OrderOpened {
            number: opened.order.number.clone(),
        };
        draft.completed_at = Some(now);
        draft.completed_by = Some(actor.id.clone());
        Ok(DraftCompletion { draft, opened })
    }
}

#[cfg(test)]
#[path = "draft_tests.rs"]
mod tests;
