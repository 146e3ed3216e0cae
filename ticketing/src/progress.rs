//! What the process writes on an order after it is opened: the assignment
//! to units, extension and return requests, the result, the reply, surveys,
//! the callback and the citizen's refusal to provide material (§16–§22).
//!
//! These types are re-exported from [`crate::order`], where they belong by
//! name; they live here to keep each file readable.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::actor::{UnitId, UserId};
use crate::lifecycle::OrderState;

/// The units handling a dispatched order (§16.2–3).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Assignment {
    /// 主辦單位: signs, handles, completes and replies.
    pub lead: UnitId,
    /// 會辦單位: contribute; only the lead completes (主辦負責制).
    #[serde(default)]
    pub co_handlers: Vec<UnitId>,
    /// When the hotline dispatched (the unit "receives" the order then).
    #[serde(with = "time::serde::rfc3339")]
    pub dispatched_at: OffsetDateTime,
    /// Who dispatched.
    pub dispatched_by: UserId,
    /// When the lead signed (簽收).
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub signed_at: Option<OffsetDateTime>,
    /// Who signed.
    #[serde(default)]
    pub signed_by: Option<UserId>,
    /// When the lead responded and contacted the caller (作出回響).
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub responded_at: Option<OffsetDateTime>,
}

impl Assignment {
    /// Whether `unit` is the lead or a co-handler.
    pub fn involves(&self, unit: &UnitId) -> bool {
        self.lead == *unit || self.co_handlers.contains(unit)
    }
}

/// Status of a request the hotline decides on (extension, return).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Decision {
    /// Waiting for the hotline.
    Pending,
    /// Approved.
    Approved,
    /// Refused.
    Refused,
}

/// An extension (延期, §17.4–5): at most one per order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Extension {
    /// Why the matter cannot be solved in time (objective limits).
    pub reason: String,
    /// The concrete measures the unit will take (§17.5).
    pub measures: String,
    /// When the unit promises to finish; must not be after the extended
    /// deadline.
    #[serde(with = "time::serde::rfc3339")]
    pub promised_by: OffsetDateTime,
    /// When requested.
    #[serde(with = "time::serde::rfc3339")]
    pub requested_at: OffsetDateTime,
    /// The hotline's decision.
    pub decision: Decision,
    /// The hotline's remark on its decision.
    #[serde(default)]
    pub decision_note: Option<String>,
}

/// A request by the lead unit to hand the order back (退回, §17.7).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReturnRequest {
    /// The unit asking.
    pub unit: UnitId,
    /// Why it is not theirs.
    pub reason: String,
    /// The rule or remit that says so (依據).
    pub basis: String,
    /// When requested.
    #[serde(with = "time::serde::rfc3339")]
    pub requested_at: OffsetDateTime,
    /// The state the order was in, restored when the hotline refuses.
    pub resume_state: OrderState,
    /// The hotline's decision.
    pub decision: Decision,
}

/// How the handling ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Solved, answered or acted on.
    Resolved,
    /// Cannot be done under laws, rules or policy (§17.6): explained to the
    /// citizen, with a written explanation to the hotline.
    CannotBeDone,
}

/// The lead unit's result (辦理結果).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HandlingResult {
    /// Resolved or cannot be done.
    pub outcome: Outcome,
    /// The result as told to the citizen.
    pub summary: String,
    /// For the hotline: the written explanation of §17.6, how material
    /// refusals were handled (§17.8), anything internal.
    #[serde(default)]
    pub note_to_hotline: Option<String>,
    /// Whether the result may be published (§30: when not, it goes only to
    /// the citizen).
    pub public: bool,
    /// When completed.
    #[serde(with = "time::serde::rfc3339")]
    pub completed_at: OffsetDateTime,
    /// Who completed.
    pub completed_by: UserId,
}

/// The reply to the citizen and feedback to the hotline (§17.2).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reply {
    /// Whether the citizen was reached; `false` with `no_reply_wanted` or
    /// when they could not be reached (say so in `note`).
    pub citizen_informed: bool,
    /// What the hotline is told.
    pub feedback: String,
    /// Remarks (attempts, channel used).
    #[serde(default)]
    pub note: Option<String>,
    /// When.
    #[serde(with = "time::serde::rfc3339")]
    pub replied_at: OffsetDateTime,
}

/// The stage a satisfaction survey is about (§19).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SurveyStage {
    /// The hotline's taking of the call (熱線受理環節).
    Reception,
    /// The unit's handling (承辦單位辦理環節).
    Handling,
}

/// A satisfaction survey result: 1 very satisfied … 5 very dissatisfied
/// (§20; DESIGN.md item 8).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SurveyRecord {
    /// What it rates.
    pub stage: SurveyStage,
    /// 1 非常滿意, 2 滿意, 3 基本滿意, 4 不滿意, 5 非常不滿意.
    pub score: u8,
    /// Handling round rated (1, or 2 after a redo).
    pub round: u8,
    /// How it was collected (`ivr`, `sms`, `manual`, `online`).
    pub via: String,
    /// When.
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
}

impl SurveyRecord {
    /// 4 (不滿意) or 5 (非常不滿意): triggers a manual callback (§21).
    pub fn is_dissatisfied(&self) -> bool {
        self.score >= 4
    }
}

/// Why the citizen was dissatisfied, as found by the manual callback (§21).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DissatisfactionCause {
    /// Policy does not allow what the citizen wants: no redo.
    Policy,
    /// Objective conditions (funding, physical limits): no redo.
    Objective,
    /// The unit's handling fell short: sent back for a redo.
    Handling,
    /// The citizen could not be reached or gave no reason; treated as
    /// handling (the doubt goes to the citizen).
    Unknown,
}

impl DissatisfactionCause {
    /// Whether §21 sends the order back for a redo.
    pub fn requires_redo(self) -> bool {
        matches!(
            self,
            DissatisfactionCause::Handling | DissatisfactionCause::Unknown
        )
    }
}

/// The manual callback after a dissatisfied handling survey (§21).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Callback {
    /// Why the citizen was dissatisfied.
    pub cause: DissatisfactionCause,
    /// What the citizen said.
    pub notes: String,
    /// Who called.
    pub by: UserId,
    /// When.
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
}

/// The citizen's refusal to provide material the unit needs (§17.8).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MaterialRefusal {
    /// What was asked for.
    pub requested: String,
    /// What the citizen said; the unit goes on with what it has.
    pub note: String,
    /// When noted.
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
}

/// Whether each §17 step was done in time, judged against the deadline in
/// force at the moment it was done (after an approved extension, the
/// extended one). `None` until the step is done. Reports count on-time
/// rates by unit from these flags.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Timeliness {
    /// Signed within 24 h of dispatch.
    #[serde(default)]
    pub signed: Option<bool>,
    /// Responded within 30 min of signing.
    #[serde(default)]
    pub responded: Option<bool>,
    /// Completed by the completion deadline (the latest round's).
    #[serde(default)]
    pub completed: Option<bool>,
    /// Replied within 1 working day of completion.
    #[serde(default)]
    pub replied: Option<bool>,
}
