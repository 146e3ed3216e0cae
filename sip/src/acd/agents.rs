//! The engine's record of an agent: state, availability, per-day counters.
//!
//! `state` is what the wallboard shows; *available* (offered calls) is
//! `registered && state == Ready`, kept in sync with the queues' available
//! sets through `listed`/`in_sets`. Time in each state is accrued whenever
//! the state changes, at day rollover and (without storing) in snapshots.

use std::time::Instant;

use super::skills::SkillSet;
use super::stats::AgentCounters;
use super::strategies::AvailKey;
use super::{AgentState, CallId, StateRequest};

/// Index of a queue in the engine.
pub(crate) type QueueIx = usize;

#[derive(Debug)]
pub(crate) struct Agent {
    pub(crate) id: String,
    pub(crate) skills: SkillSet,
    /// Queues whose skills the agent has (fixed at start-up).
    pub(crate) queues: Vec<QueueIx>,
    pub(crate) registered: bool,
    pub(crate) state: AgentState,
    pub(crate) state_since: Instant,
    /// A request made while on a call, applied when the wrap-up ends.
    pub(crate) pending: Option<StateRequest>,
    /// When the agent last became ready after a call or a pause.
    pub(crate) idle_since: Instant,
    pub(crate) missed_in_row: u32,
    /// The call ringing the agent or connected to them.
    pub(crate) call: Option<CallId>,
    /// The queue of that call (kept through wrap-up for the handle time).
    pub(crate) call_queue: Option<QueueIx>,
    /// Talk time of the last call, for its handle time.
    pub(crate) last_talk_ms: u64,
    pub(crate) wrap_until: Option<Instant>,
    /// Whether the agent is in the available sets (of the queues they serve now).
    pub(crate) listed: bool,
    /// The exact keys inserted, for removal.
    pub(crate) in_sets: Vec<(QueueIx, AvailKey)>,
    pub(crate) day: AgentCounters,
    /// Reserved for a callback request (`callbacks.rs`); `Some(answered)`
    /// once the agent's phone answered it.
    pub(crate) callback: Option<Option<Instant>>,
}

impl Agent {
    pub(crate) fn new(id: String, skills: SkillSet, now: Instant) -> Self {
        Agent {
            id,
            skills,
            queues: Vec::new(),
            registered: false,
            state: AgentState::LoggedOut,
            state_since: now,
            pending: None,
            idle_since: now,
            missed_in_row: 0,
            call: None,
            call_queue: None,
            last_talk_ms: 0,
            wrap_until: None,
            listed: false,
            in_sets: Vec::new(),
            day: AgentCounters::default(),
            callback: None,
        }
    }

    pub(crate) fn logged_in(&self) -> bool {
        self.state != AgentState::LoggedOut
    }

    /// Whether the agent should be offered calls.
    pub(crate) fn wants_calls(&self) -> bool {
        self.registered && self.state == AgentState::Ready
    }

    /// Counted as staff for the estimated wait: reachable and not paused.
    pub(crate) fn staffed(&self) -> bool {
        self.registered
            && !matches!(
                self.state,
                AgentState::LoggedOut | AgentState::NotReady { .. }
            )
    }

    /// Add the time spent in the current state up to `now`.
    pub(crate) fn accrue(&mut self, now: Instant) {
        let ms = millis(now.saturating_duration_since(self.state_since));
        self.day.add_state_time(self.state, ms);
        self.state_since = now;
    }
}

/// Milliseconds of a duration, saturating.
pub(crate) fn millis(d: std::time::Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}
