//! The states of a work order (§15–§22).
//!
//! ```text
//! received ─┬─ answer_on_spot ─────────────► answered_on_spot ────────────┐
//!           ├─ refuse ─────────────────────► refused ─────────────────────┤
//!           ├─ redirect_to_legal_channel ──► redirected_to_legal_channel ─┼─ close ─► closed
//!           ├─ hand_over_to_emergency ─────► handed_to_emergency ─────────┘
//!           └─ dispatch ─► dispatched ─ sign ─► signed ─ respond ─► in_progress ◄─────────┐
//!                              │                  │                    │                  │
//!                              └─ request_return ─┴────────────────────┘                  │
//!                                       ▼                                                 │
//!                               return_requested ─ approve_return ─► received             │
//!                                                └ refuse_return ──► the state it left    │
//! in_progress ─ complete ─► completed ─ reply ─► replied                                  │
//! replied ─ record_survey 4–5, round 1 ─► callback_pending ─ record_callback, redo ───────┘
//!                                                          └ record_callback, policy/objective ─► surveyed
//! replied ─ record_survey 1–3, or round 2 ─► surveyed ─ close ─► closed ─ archive ─► archived
//! replied ─ close (with a reason: no survey possible) ─► closed
//! ```
//!
//! Steps that leave the state as it is: `request_extension`,
//! `approve_extension`, `refuse_extension`, `note_material_refused` (signed,
//! in progress); `add_note`, `recuse`, `link_call` and reception-stage
//! surveys (every state but archived).

use std::fmt;

use serde::{Deserialize, Serialize};

/// Where an order is in its lifecycle.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OrderState {
    /// Opened (受理), awaiting the hotline's intake decision; also where an
    /// order comes back to after an approved return.
    Received,
    /// Answered on the spot (§16.1). Waits to be closed.
    AnsweredOnSpot,
    /// Not accepted, with a §13 reason and an explanation (§13).
    Refused,
    /// The citizen was told to use the legal procedure already under way
    /// (§16.4).
    RedirectedToLegalChannel,
    /// Passed to an emergency line (§14).
    HandedToEmergency,
    /// Dispatched to a lead unit; waiting for it to sign (24 h).
    Dispatched,
    /// Signed; waiting for the unit to respond and contact the citizen
    /// (30 min).
    Signed,
    /// Being handled (or redone after a callback, round 2).
    InProgress,
    /// The lead unit asked to hand the order back (§17.7); the hotline
    /// decides.
    ReturnRequested,
    /// Completed (辦結); waiting for the reply to the citizen and the
    /// feedback (1 working day).
    Completed,
    /// Replied and fed back; waiting for the handling survey.
    Replied,
    /// The handling survey was 4 or 5: a manual callback is due (§21).
    CallbackPending,
    /// Evaluation final; waiting to be closed.
    Surveyed,
    /// Closed.
    Closed,
    /// Archived: read-only for good.
    Archived,
}

impl OrderState {
    /// Every state.
    pub const ALL: [OrderState; 15] = [
        OrderState::Received,
        OrderState::AnsweredOnSpot,
        OrderState::Refused,
        OrderState::RedirectedToLegalChannel,
        OrderState::HandedToEmergency,
        OrderState::Dispatched,
        OrderState::Signed,
        OrderState::InProgress,
        OrderState::ReturnRequested,
        OrderState::Completed,
        OrderState::Replied,
        OrderState::CallbackPending,
        OrderState::Surveyed,
        OrderState::Closed,
        OrderState::Archived,
    ];

    /// Snake-case name, as in JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            OrderState::Received => "received",
            OrderState::AnsweredOnSpot => "answered_on_spot",
            OrderState::Refused => "refused",
            OrderState::RedirectedToLegalChannel => "redirected_to_legal_channel",
            OrderState::HandedToEmergency => "handed_to_emergency",
            OrderState::Dispatched => "dispatched",
            OrderState::Signed => "signed",
            OrderState::InProgress => "in_progress",
            OrderState::ReturnRequested => "return_requested",
            OrderState::Completed => "completed",
            OrderState::Replied => "replied",
            OrderState::CallbackPending => "callback_pending",
            OrderState::Surveyed => "surveyed",
            OrderState::Closed => "closed",
            OrderState::Archived => "archived",
        }
    }

    /// States in which a unit holds the order (deadlines of §17 run).
    pub fn is_with_unit(self) -> bool {
        matches!(
            self,
            OrderState::Dispatched
                | OrderState::Signed
                | OrderState::InProgress
                | OrderState::ReturnRequested
                | OrderState::Completed
        )
    }

    /// Closed or archived.
    pub fn is_finished(self) -> bool {
        matches!(self, OrderState::Closed | OrderState::Archived)
    }
}

impl fmt::Display for OrderState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
