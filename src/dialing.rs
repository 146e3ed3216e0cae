//! Outbound calls the server places on its own: the contract between what
//! decides to call (the handling-stage survey scheduler and the callback
//! task list) and what places the calls (the SIP core, through the trunk).
//!
//! Only these two purposes can make the server dial a number outside; no API
//! takes an arbitrary number to dial (toll fraud). The scheduler side is
//! written against the [`Dialer`] trait so its tests can use a fake; the SIP
//! core's [`crate::sip_io::SipHandle`] is the real one.

use std::future::Future;

/// A handling-stage survey call (measures §18–§22) to place now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SurveyCall {
    /// The persistent job this attempt belongs to (logged with the call).
    pub job_id: String,
    /// The citizen's number, as dialled through the trunk.
    pub number: String,
    /// The work order the survey is about; read out to the citizen.
    pub order_number: String,
    /// The prompt language: `"cmn"` (Mandarin) or `"yue"` (Cantonese).
    pub language: String,
}

/// How a survey call ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SurveyCallOutcome {
    /// The citizen answered and pressed 1–5 (1 very satisfied … 5 very
    /// dissatisfied), confirmed.
    Rated { call_id: String, rating: u8 },
    /// Answered, but no valid key before the retries ran out or a hang-up.
    NoRating { call_id: String },
    /// The citizen's line was busy (`486`/`600`).
    Busy,
    /// Nobody answered before the ring timeout (or `480`/`408`).
    NoAnswer,
    /// Any other failure (trunk refused, `4xx`–`6xx`, transport error).
    Failed(String),
    /// Not attempted: the trunk's concurrency or calls-per-second limit is
    /// reached, or outbound calling is not configured. Try again later; this
    /// does not count as an attempt.
    NotPlaced(String),
}

/// A callback to place: the agent's phone first, then the citizen through
/// the trunk, bridged and recorded like any call (§21 and callback requests
/// from the queue).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallbackCall {
    /// The task this call belongs to (logged with the call).
    pub task_id: String,
    /// The agent whose softphone rings first.
    pub agent: String,
    /// The citizen's number.
    pub number: String,
}

/// How a callback attempt went, as soon as it is known (the bridged call
/// then goes on like any other).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CallbackOutcome {
    /// Agent and citizen are talking.
    Bridged { call_id: String },
    /// The agent's phone did not answer or is not registered.
    AgentUnavailable(String),
    /// The citizen's line was busy.
    CitizenBusy,
    /// The citizen did not answer.
    CitizenNoAnswer,
    /// Any other failure.
    Failed(String),
}

/// What places outbound calls. Implemented by the SIP core's handle; tests
/// use a fake.
pub trait Dialer: Clone + Send + Sync + 'static {
    /// Places a survey call and resolves when it has ended.
    fn survey_call(&self, call: SurveyCall) -> impl Future<Output = SurveyCallOutcome> + Send;
    /// Places a callback and resolves once it is bridged or has failed.
    fn callback_call(&self, call: CallbackCall) -> impl Future<Output = CallbackOutcome> + Send;
}
