//! Automatic call distribution (ACD): queues, agents, strategies, schedules
//! and statistics, as a sans-IO state machine.
//!
//! The [`Acd`] never reads a clock, touches a socket or sends SIP. Its driver
//! (the B2BUA glue in the binary) feeds it inputs with the current
//! [`Instant`](std::time::Instant), drains [`AcdOutput`]s with
//! [`Acd::poll_output`] after every input, and calls [`Acd::handle_timeout`]
//! when [`Acd::poll_timeout`] is reached. Wall-clock local time, which only
//! schedules and day boundaries need, is an input too
//! ([`Acd::set_local_time`]); between two such inputs the engine extrapolates
//! it from the monotonic clock.
//!
//! ```text
//!  inputs                                   outputs (poll_output)
//!  set_state / set_registered ──┐        ┌─► Ring{call, agents} / CancelRing{call, agent}
//!  enqueue / abandon            ├─► Acd ─┼─► Announce{call, position, estimated_wait_s}
//!  ring_answered / ring_failed  │        ├─► Overflowed / OfferCallback
//!  call_ended                   │        ├─► AgentStateChanged / QueueChanged / DayClosed
//!  set_local_time / handle_timeout ┘     └─  poll_timeout(): next deadline
//! ```
//!
//! # Rules
//!
//! - **Qualification.** An agent serves a queue when they have every skill of
//!   the queue at its level or above (see [`skills`] for the `"lang:yue:3"`
//!   level syntax) and, if the queue's shifts name them, only during those
//!   shifts. An agent is *available* when logged in (state ready),
//!   registered, and not ringing, on a call or in wrap-up.
//! - **Line order.** Every call gets a sequence number when it first enters
//!   any queue and keeps it on overflow, so a caller keeps their place by
//!   arrival time. An agent who becomes available takes the oldest unoffered
//!   call of all the queues they serve; a new call is offered by its queue's
//!   strategy ([`strategies`]). After a failed ring the call goes back to its
//!   place and is offered to an agent who has not yet missed it, if any.
//! - **Misses.** No answer (the queue's ring timeout, run by this engine, or
//!   [`RingFailure::NoAnswer`] from the driver), busy, rejected and
//!   unreachable all count as a miss; `max_no_answer` misses in a row
//!   set the agent `not_ready` with reason `missed_call`. A ring cancelled
//!   because another agent answered first (`ring_all`), or because the caller
//!   left, is not a miss.
//! - **Call ends.** After each answered call the agent is in wrap-up for the
//!   queue's `wrap_up` (none when zero), then ready, or in the state they
//!   asked for during the call (a request made while on a call is kept until
//!   the call and wrap-up end; a request made in wrap-up ends it at once).
//! - **Waiting.** Announcements every `announce_interval` (the first one when
//!   the call cannot be offered at once); none while the call rings an agent.
//!   The estimated wait is `position × AHT ÷ staffed`, where AHT is the mean
//!   handle time (talk + wrap-up) of the queue's last 20 calls (180 s before
//!   the first one) and `staffed` is the number of agents serving the queue
//!   who are registered and logged in but not `not_ready` (at least 1). It is
//!   a rough figure for the caller, not a promise.
//! - **Overflow.** After `overflow.after` in a queue the call moves to the
//!   overflow queue, where `overflow.after` of that queue counts afresh; the
//!   maximum wait counts from the first enqueue with the current queue's
//!   `max_wait`. A call ringing an agent when a limit passes finishes that
//!   ring first.
//! - **Nobody to wait for.** A queue *accepts* calls while it is open (see
//!   [`schedule`]) and at least one agent serving it is logged in (in any
//!   state). A call for a queue that does not accept — on arrival, on
//!   overflow, or when the queue stops accepting while the call waits — goes
//!   to the queue's overflow queue if that one accepts, and is otherwise
//!   offered a callback ([`CallbackReason::Closed`] or
//!   [`CallbackReason::NoAgents`]). An overflow whose target does not accept
//!   is retried every 30 s.
//! - **Tolerance.** Inputs may arrive in any order. An input about an
//!   unknown call or agent returns an [`AcdError`] and changes nothing; an
//!   answer or failure from an agent the call no longer rings (it timed out,
//!   was cancelled, or another agent won) returns [`AcdError::NotRinging`]:
//!   the driver must release that agent's leg. A repeated `ring_answered` by
//!   the agent who has the call is accepted and ignored. Nothing panics.
//! - **Statistics** ([`stats`]) are kept per local day and closed at local
//!   midnight ([`AcdOutput::DayClosed`]).

mod agents;
mod callbacks;
mod dispatch;
mod engine;
mod lifecycle;
mod queues;
pub mod schedule;
pub mod skills;
pub mod stats;
pub mod strategies;
#[cfg(test)]
mod tests;
mod timers;

use std::time::Duration;

use serde::{Deserialize, Serialize};

pub use crate::call::CallId;
pub use callbacks::CallbackEnd;
pub use engine::Acd;
pub use schedule::Shift;
pub use stats::{
    AgentDayStats, AgentSnapshot, DayReport, QueueDayStats, QueueSnapshot, StateTimes,
};
pub use strategies::Strategy;

/// Errors of the ACD's inputs. None of them changes the engine's state.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AcdError {
    /// No agent with this id is configured.
    #[error("unknown agent {0:?}")]
    UnknownAgent(String),
    /// No queue with this name is configured.
    #[error("unknown queue {0:?}")]
    UnknownQueue(String),
    /// The call is not waiting in a queue nor connected to an agent.
    #[error("unknown call {0}")]
    UnknownCall(CallId),
    /// The call is already waiting or connected.
    #[error("call {0} is already in the ACD")]
    DuplicateCall(CallId),
    /// The call does not (or no longer) ring this agent: a late answer after
    /// a timeout, a cancelled ring, or another agent answered first.
    #[error("call {call} is not ringing agent {agent}")]
    NotRinging {
        /// The call.
        call: CallId,
        /// The agent.
        agent: String,
    },
    /// The settings given to [`Acd::new`] are inconsistent.
    #[error("ACD settings: {0}")]
    Settings(String),
    /// The agent is not reserved for a callback.
    #[error("agent {0:?} is not on a callback")]
    NoCallback(String),
}

/// Everything the ACD is configured with; the binary builds it from the
/// `[acd]`, `[[agents]]` and `[[queues]]` sections.
#[derive(Debug, Clone, Default)]
pub struct AcdSettings {
    /// The seats.
    pub agents: Vec<AgentSettings>,
    /// The queues.
    pub queues: Vec<QueueSettings>,
    /// Misses in a row before an agent is set not ready (`[acd] max_no_answer`).
    pub max_no_answer: u32,
}

/// One agent (`[[agents]]`).
#[derive(Debug, Clone, Default)]
pub struct AgentSettings {
    /// Agent id (SIP user name).
    pub id: String,
    /// Skill tokens with optional levels (`"lang:yue:3"`).
    pub skills: Vec<String>,
}

/// One queue (`[[queues]]`).
#[derive(Debug, Clone)]
pub struct QueueSettings {
    /// The queue's name.
    pub name: String,
    /// How the agent for a new call is chosen.
    pub strategy: Strategy,
    /// Skills (with optional minimum levels) an agent needs.
    pub skills: Vec<String>,
    /// How long a call rings an agent (or all of them, `ring_all`).
    pub ring_timeout: Duration,
    /// Wrap-up after each call answered from this queue.
    pub wrap_up: Duration,
    /// Longest wait, from the first enqueue, before a callback is offered.
    pub max_wait: Option<Duration>,
    /// Where calls go after waiting long enough here.
    pub overflow: Option<Overflow>,
    /// Interval of position announcements; `None` for none.
    pub announce_interval: Option<Duration>,
    /// Service-level threshold on the wait of answered calls.
    pub service_level: Duration,
    /// When the queue is open; always when empty.
    pub shifts: Vec<Shift>,
    /// Callback requests due in this queue are offered to a newly available
    /// agent before any waiting call ([`Acd::set_callbacks_waiting`]).
    pub callbacks_first: bool,
}

impl QueueSettings {
    /// A queue with the configuration file's defaults.
    pub fn new(name: impl Into<String>) -> Self {
        QueueSettings {
            name: name.into(),
            strategy: Strategy::LongestIdle,
            skills: Vec::new(),
            ring_timeout: Duration::from_secs(20),
            wrap_up: Duration::from_secs(15),
            max_wait: None,
            overflow: None,
            announce_interval: Some(Duration::from_secs(60)),
            service_level: Duration::from_secs(15),
            shifts: Vec::new(),
            callbacks_first: false,
        }
    }
}

/// `overflow_queue` and `overflow_after_s`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Overflow {
    /// The queue the call moves to.
    pub queue: String,
    /// Wait in this queue before it moves.
    pub after: Duration,
}

/// What the IVR learnt about a caller. Used by `skills_weighted` as
/// preferences (the queue's skills are the requirements).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CallAttributes {
    /// Language chosen: `"cmn"`, `"yue"` (or a full skill `"lang:yue"`).
    pub language: Option<String>,
    /// Business line: `"consumer"` (or a full skill `"biz:consumer"`).
    pub business_line: Option<String>,
}

/// Why an agent is not ready.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NotReadyReason {
    /// A short break.
    Break,
    /// A meal.
    Meal,
    /// Training or coaching.
    Training,
    /// Set by the ACD after `max_no_answer` missed calls in a row.
    MissedCall,
    /// Anything else.
    Other,
}

/// An agent's state, serialised as `{"state": "ready"}` or
/// `{"state": "not_ready", "reason": "break"}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum AgentState {
    /// Not logged in: never offered a call.
    LoggedOut,
    /// Logged in and waiting for a call (offered one only when registered).
    Ready,
    /// A call rings the agent's phone.
    Ringing,
    /// On a call.
    OnCall,
    /// After-call work; ready again when the wrap-up time is over.
    WrapUp,
    /// Logged in but taking no calls.
    NotReady {
        /// Why.
        reason: NotReadyReason,
    },
}

/// What an agent (or supervisor) asks for through the API: the body of
/// `POST /api/agents/{id}/state`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum StateRequest {
    /// Log in (if needed) and take calls.
    Ready,
    /// Log in (if needed) and take no calls.
    NotReady {
        /// Why.
        reason: NotReadyReason,
    },
    /// Log out.
    LoggedOut,
}

/// Why an agent's state changed (in [`AcdOutput::AgentStateChanged`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StateCause {
    /// The agent or a supervisor asked ([`Acd::set_state`]).
    Request,
    /// A call was offered.
    Offered,
    /// The agent answered.
    Answered,
    /// The ring failed, timed out or was cancelled.
    RingEnded,
    /// Too many missed calls in a row.
    MaxNoAnswer,
    /// The call ended.
    CallEnded,
    /// The wrap-up time is over.
    WrapUpEnded,
}

/// How a ring failed ([`Acd::ring_failed`]). All count as a miss.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RingFailure {
    /// The agent's phone answered busy (486/600).
    Busy,
    /// Nobody answered before the B2BUA gave up.
    NoAnswer,
    /// The agent declined (603) or the phone refused the call.
    Rejected,
    /// The phone could not be reached (408, 480, 503, transport error).
    Unreachable,
}

/// Why a caller is offered a callback.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CallbackReason {
    /// The caller waited the queue's `max_wait`.
    MaxWait,
    /// Nobody serving the queue (or its overflow queue) is logged in.
    NoAgents,
    /// The queue is closed (outside its shifts) and its overflow queue does
    /// not accept the call.
    Closed,
}

/// What the driver must do or publish. Drain with [`Acd::poll_output`]
/// after every input.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum AcdOutput {
    /// Offer the call to these agents (one, or several for `ring_all`).
    Ring {
        /// The call.
        #[serde(serialize_with = "stats::call_id_hex")]
        call: CallId,
        /// The queue it is offered from.
        queue: String,
        /// Agents to ring.
        agents: Vec<String>,
    },
    /// Stop ringing this agent (timeout, another agent answered, the caller
    /// left, the agent went not ready).
    CancelRing {
        /// The call.
        #[serde(serialize_with = "stats::call_id_hex")]
        call: CallId,
        /// The agent.
        agent: String,
    },
    /// Tell the caller their place in line.
    Announce {
        /// The call.
        #[serde(serialize_with = "stats::call_id_hex")]
        call: CallId,
        /// 1 = next.
        position: u32,
        /// Rough estimate, in seconds (see the module docs).
        estimated_wait_s: u64,
    },
    /// The call moved to another queue (it keeps its place by arrival).
    Overflowed {
        /// The call.
        #[serde(serialize_with = "stats::call_id_hex")]
        call: CallId,
        /// From this queue.
        from: String,
        /// To this queue.
        to: String,
    },
    /// Offer the caller a callback; the call has left the ACD.
    OfferCallback {
        /// The call.
        #[serde(serialize_with = "stats::call_id_hex")]
        call: CallId,
        /// The queue it was waiting in.
        queue: String,
        /// Why.
        reason: CallbackReason,
    },
    /// An agent's state changed.
    AgentStateChanged {
        /// The agent.
        agent: String,
        /// The new state.
        state: AgentState,
        /// Why.
        cause: StateCause,
    },
    /// The number of calls waiting in a queue changed.
    QueueChanged {
        /// The queue.
        queue: String,
        /// Calls waiting (including those ringing an agent).
        waiting: u32,
        /// Wait of the longest-waiting call, from its first enqueue.
        longest_wait_s: u64,
    },
    /// A local day ended: its final statistics (store them if needed).
    DayClosed(DayReport),
    /// The agent is reserved for the oldest due callback request of
    /// `queue` (a `callbacks_first` queue): dial it with them, then report
    /// with [`Acd::callback_answered`] and [`Acd::callback_ended`].
    CallbackReserved {
        /// The agent.
        agent: String,
        /// The queue whose request it is.
        queue: String,
    },
}
