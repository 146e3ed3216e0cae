//! The lifecycle of a work order as a pure state machine (§13–§22).
//!
//! [`apply`] takes an order, a [`Command`], the [`Actor`] issuing it, the
//! current time and the [`TicketRules`], and either refuses (a
//! [`DomainError`] the API maps to 400/403/409) or returns a [`Transition`]:
//! the new order, the history entry to append and the [`Effect`]s the server
//! should carry out (notify units, schedule the survey, open a callback
//! task). It reads no clock and touches no database; the store writes the
//! transition in one transaction, guarded by [`WorkOrder::version`].
//!
//! Checks run in this order, so the answer does not depend on what else is
//! wrong: the state must have the transition (409,
//! [`DomainError::InvalidTransition`]; archived orders have none); recused
//! staff and the person complained about may do nothing (403, §29); the role
//! and unit must fit the command (403, see [`authorize`]); the order's
//! history must allow it now (409, [`DomainError::NotAllowedNow`]: a second
//! extension, a late return); the command's fields must be valid (400).
//! The state comes first because it is visible to anyone who may see the
//! order (the API answers 404 to the others before calling `apply`).

mod authority;
mod command;
mod history;
mod state;
mod transitions;

#[cfg(test)]
mod property_tests;
#[cfg(test)]
mod scenario_tests;
#[cfg(test)]
mod tests;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

pub use authority::authorize;
pub use command::{Command, CommandKind, LegalChannel, RefusalReason};
pub use history::HistoryEntry;
pub use state::OrderState;

use crate::actor::{Actor, UnitId};
use crate::error::{DomainError, Result};
use crate::order::WorkOrder;
use crate::rules::TicketRules;

/// The outcome of a successful command.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Transition {
    /// The order after the step (version incremented).
    pub order: WorkOrder,
    /// The entry to append to the order's history.
    pub entry: HistoryEntry,
    /// What the server should do as a result.
    pub effects: Vec<Effect>,
}

/// Work for the server after a transition. The domain only says what is
/// due; the binary does it (messages, survey calls, task lists).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "effect", rename_all = "snake_case")]
pub enum Effect {
    /// Tell these units they have a new (or redone) order to handle.
    NotifyUnits {
        /// Lead first, then co-handlers.
        units: Vec<UnitId>,
    },
    /// Run the handling-stage satisfaction survey (§18): the order was
    /// replied to and the citizen did not refuse contact.
    HandlingSurveyDue,
    /// Put a manual callback task on the hotline's list (§21).
    CallbackTask,
}

/// The commands `actor` may issue on `order` in its current state, for the
/// UI's buttons. Checks the state and the role/unit (not the history: an
/// extension already used still shows, and `apply` answers 409 with the
/// reason). `recuse` is listed for everyone because anyone may recuse
/// themselves.
pub fn available(order: &WorkOrder, actor: &Actor) -> Vec<CommandKind> {
    command::placeholders(order.state, &actor.id)
        .into_iter()
        .filter(|c| transitions::allowed(order.state, c) && authorize(order, c, actor).is_ok())
        .map(|c| c.kind())
        .collect()
}

/// Apply `command` by `actor` at `now` to `order`. See the module docs for
/// the order of checks and [`OrderState`] for the transition diagram.
pub fn apply(
    order: &WorkOrder,
    command: &Command,
    actor: &Actor,
    now: OffsetDateTime,
    rules: &TicketRules,
) -> Result<Transition> {
    let now = crate::calendar::utc(now);
    let kind = command.kind();
    if !transitions::allowed(order.state, command) {
        return Err(DomainError::InvalidTransition {
            state: order.state,
            command: kind,
        });
    }
    authorize(order, command, actor)?;
    let mut next = order.clone();
    let effects = transitions::step(&mut next, command, actor, now, rules)?;
    next.version = order.version.saturating_add(1);
    let entry = HistoryEntry {
        order: next.number.clone(),
        seq: next.version,
        at: now,
        actor: actor.id.clone(),
        role: actor.role,
        unit: actor.unit.clone(),
        from: Some(order.state),
        to: next.state,
        command: kind,
        reason: command.reason(),
        detail: Some(command.clone()),
    };
    Ok(Transition {
        order: next,
        entry,
        effects,
    })
}
