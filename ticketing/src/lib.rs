//! Work orders (工单) of the hotline: the pure domain.
//!
//! This crate models the process of the city's measures §12–§30 without any
//! I/O: no clock, no database, no network. Every function takes the current
//! time and the settings ([`TicketRules`]) as arguments and returns values;
//! the store (`store/`, sqlx) persists them and the HTTP API exposes them.
//!
//! | module | measures | what |
//! |---|---|---|
//! | [`order`], [`number`], [`topic`] | §15 | the work order, its readable number, the topic tree |
//! | [`draft`], [`emergency`] | §14, §15, §16.1 | the draft every answered call opens; emergency transfers |
//! | [`lifecycle`] | §13, §16–§22 | states, commands, [`lifecycle::apply`], history |
//! | [`calendar`], [`deadline`] | §17 | working days, holidays, 调休, time limits |
//! | [`supervision`] | §26 | the sweep raising tiered supervision records |
//! | [`knowledge`] | §24–§25 | articles, upload and fix deadlines |
//! | [`redaction`] | §29–§30 | what each viewer may see of an order |
//!
//! # How the server drives it
//!
//! - The call side opens a [`draft::Draft`] for each answered call; the agent
//!   completes it into an order (or "no order needed").
//! - Each API call that changes an order loads it, calls
//!   [`lifecycle::apply`] with the authenticated [`Actor`] and `now`, and
//!   writes the returned order and history entry in one transaction guarded
//!   by the order's `version` (a lost race is a 409, like an illegal
//!   transition).
//! - A timer calls [`supervision::sweep`] and stores the new records.
//! - Every read goes through [`redaction::view_for`].
//!
//! Errors are one enum, [`DomainError`], whose [`DomainError::status`] is the
//! HTTP status to answer with.

// In tests a failed unwrap is a failed test; the non-test build is still
// checked for unwraps by `clippy --all-targets`.
#![cfg_attr(test, allow(clippy::unwrap_used))]

pub mod actor;
pub mod calendar;
pub mod deadline;
pub mod draft;
pub mod emergency;
pub mod error;
pub mod knowledge;
pub mod lifecycle;
pub mod number;
pub mod order;
pub mod redaction;
pub mod rules;
pub mod store;
pub mod supervision;
pub mod topic;

#[cfg(test)]
mod testkit;

pub use actor::{Actor, Role, UnitId, UserId};
pub use calendar::{CalendarSpec, HourBasis, WorkingCalendar};
pub use error::{DomainError, Result};
pub use lifecycle::{apply, Command, CommandKind, Effect, HistoryEntry, OrderState, Transition};
pub use number::OrderNumber;
pub use order::{Category, OrderDetails, WorkOrder};
pub use rules::TicketRules;
