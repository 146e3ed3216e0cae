//! The append-only history of an order (§15: "受理、辦理、回復、回訪、督辦情況").
//!
//! Every successful transition yields one [`HistoryEntry`]; the store appends
//! it in the same transaction that writes the new order and never updates or
//! deletes entries. `seq` is the order's version after the step, so entries
//! are numbered 1, 2, 3… per order with no gaps.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::actor::{Actor, Role, UnitId, UserId};
use crate::lifecycle::{Command, CommandKind, OrderState};
use crate::number::OrderNumber;
use crate::order::WorkOrder;

/// One step in an order's life: who, in which role, when, from which state to
/// which, with which command and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HistoryEntry {
    /// The order.
    pub order: OrderNumber,
    /// Position in the order's history (= the order's version after it).
    pub seq: u32,
    /// When.
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    /// Who.
    pub actor: UserId,
    /// In which role.
    pub role: Role,
    /// For unit users, which unit.
    #[serde(default)]
    pub unit: Option<UnitId>,
    /// State before (`None` for the opening).
    pub from: Option<OrderState>,
    /// State after.
    pub to: OrderState,
    /// What was done.
    pub command: CommandKind,
    /// The reason, explanation or note given, if any.
    #[serde(default)]
    pub reason: Option<String>,
    /// The full command (`None` for the opening), for audit.
    #[serde(default)]
    pub detail: Option<Command>,
}

impl HistoryEntry {
    /// The entry recording that `order` was opened by `actor`.
    pub fn opened(order: &WorkOrder, actor: &Actor) -> HistoryEntry {
        HistoryEntry {
            order: order.number.clone(),
            seq: order.version,
            at: order.created_at,
            actor: actor.id.clone(),
            role: actor.role,
            unit: actor.unit.clone(),
            from: None,
            to: order.state,
            command: CommandKind::Open,
            reason: None,
            detail: None,
        }
    }
}
