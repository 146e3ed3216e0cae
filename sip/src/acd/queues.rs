//! The engine's record of queues and waiting calls.
//!
//! A queue holds its calls twice, ordered by the arrival sequence number
//! (which a call keeps across overflow): `waiting` has every call in line
//! (positions are counted there), `unassigned` only those not ringing an
//! agent (the next to offer is its first). Its available agents are in
//! `avail`, ordered by the strategy ([`super::strategies`]).

use std::collections::{BTreeSet, VecDeque};
use std::time::{Duration, Instant};

use super::agents::QueueIx;
use super::skills::SkillSet;
use super::stats::QueueCounters;
use super::strategies::{AgentIx, AvailKey};
use super::{CallId, QueueSettings};

/// Handle times kept for the estimated wait.
const RECENT_CALLS: usize = 20;
/// Handle time assumed before a queue has handled any call.
pub(crate) const DEFAULT_HANDLE_MS: u64 = 180_000;

#[derive(Debug)]
pub(crate) struct Queue {
    pub(crate) s: QueueSettings,
    pub(crate) required: SkillSet,
    pub(crate) overflow: Option<(QueueIx, Duration)>,
    /// Agents with the skills (fixed).
    pub(crate) members: Vec<AgentIx>,
    /// By agent index: sum of the member's levels over `required`.
    pub(crate) base_score: Vec<u32>,
    /// By agent index: named in some shift (serves only during their shifts).
    pub(crate) scheduled: Vec<bool>,
    /// By shift: the agents it names.
    pub(crate) shift_agents: Vec<Vec<AgentIx>>,
    /// By agent index: member and on duty now.
    pub(crate) serving: Vec<bool>,
    pub(crate) open: bool,
    /// Serving agents who are logged in.
    pub(crate) logged_in: u32,
    pub(crate) waiting: BTreeSet<(u64, CallId)>,
    pub(crate) unassigned: BTreeSet<(u64, CallId)>,
    pub(crate) avail: BTreeSet<AvailKey>,
    /// By agent index: the queue's turn when it last offered them a call.
    pub(crate) rr_turn: Vec<u64>,
    pub(crate) rr_next: u64,
    recent: VecDeque<u64>,
    recent_sum: u64,
    pub(crate) day: QueueCounters,
    /// Callback requests due now (`callbacks_first` queues; `callbacks.rs`).
    pub(crate) callbacks_waiting: u32,
}

impl Queue {
    pub(crate) fn new(s: QueueSettings, required: SkillSet, agents: usize) -> Self {
        Queue {
            s,
            required,
            overflow: None,
            members: Vec::new(),
            base_score: vec![0; agents],
            scheduled: vec![false; agents],
            shift_agents: Vec::new(),
            serving: vec![false; agents],
            open: true,
            logged_in: 0,
            waiting: BTreeSet::new(),
            unassigned: BTreeSet::new(),
            avail: BTreeSet::new(),
            rr_turn: vec![0; agents],
            rr_next: 0,
            recent: VecDeque::with_capacity(RECENT_CALLS),
            recent_sum: 0,
            day: QueueCounters::default(),
            callbacks_waiting: 0,
        }
    }

    /// Whether a call may wait here: open and someone serving is logged in.
    pub(crate) fn accepting(&self) -> bool {
        self.open && self.logged_in > 0
    }

    /// Record the handle time of a call answered from this queue.
    pub(crate) fn record_handle(&mut self, ms: u64) {
        if self.recent.len() == RECENT_CALLS {
            self.recent_sum -= self.recent.pop_front().unwrap_or(0);
        }
        self.recent.push_back(ms);
        self.recent_sum += ms;
        self.day.handled += 1;
        self.day.handle_ms += ms;
    }

    /// Mean handle time of the recent calls, or the default.
    pub(crate) fn recent_handle_ms(&self) -> u64 {
        match self.recent.len() as u64 {
            0 => DEFAULT_HANDLE_MS,
            n => self.recent_sum / n,
        }
    }

    /// 1-based position of the call with sequence `seq`.
    pub(crate) fn position(&self, seq: u64) -> u32 {
        let ahead = self.waiting.range(..(seq, CallId(0))).count();
        u32::try_from(ahead).unwrap_or(u32::MAX).saturating_add(1)
    }
}

/// A call waiting in a queue (possibly ringing agents).
#[derive(Debug)]
pub(crate) struct Call {
    pub(crate) seq: u64,
    pub(crate) queue: QueueIx,
    /// The caller's language and business line as skills.
    pub(crate) wanted: SkillSet,
    /// `wanted` minus the queue's own skills: the `skills_weighted` bonus.
    pub(crate) bonus: SkillSet,
    /// The highest bonus any agent could get (sum of the best levels).
    pub(crate) max_bonus: u32,
    pub(crate) first_enqueued: Instant,
    pub(crate) ringing: Vec<AgentIx>,
    pub(crate) ring_deadline: Option<Instant>,
    /// Agents who missed this call, passed over while others are available.
    pub(crate) tried: Vec<AgentIx>,
    pub(crate) announce_at: Option<Instant>,
    pub(crate) overflow_at: Option<Instant>,
    pub(crate) max_wait_at: Option<Instant>,
    /// A limit passed while ringing: applied when the ring ends.
    pub(crate) overflow_due: bool,
    pub(crate) max_wait_due: bool,
}

/// A call answered by an agent.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Connected {
    pub(crate) agent: AgentIx,
    pub(crate) answered_at: Instant,
}

/// Deadlines, checked against the owner's current value when they fire (a
/// stale entry is dropped).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Timer {
    Ring(CallId),
    MaxWait(CallId),
    Overflow(CallId),
    Announce(CallId),
    WrapUp(AgentIx),
}
