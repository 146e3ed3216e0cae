//! Statistics: per-day counters and the serialisable snapshots that
//! `GET /api/queues` and `GET /api/agents` return.
//!
//! Counters run from local midnight to local midnight; at rollover the day's
//! figures are published ([`AcdOutput::DayClosed`](super::AcdOutput)) and kept as
//! [`Acd::previous_day`](super::Acd::previous_day), and the counters restart.
//!
//! Definitions (per queue, for the calls that *entered* it that day):
//! - `offered`: calls that entered the queue (a call that overflows counts in
//!   both queues; in the first it ends as `overflowed`);
//! - `answered`, with `answered_within_service_level` when the caller's wait
//!   (from their first enqueue, so overflow does not reset it) was at most the
//!   queue's threshold (default 15 s, GB/T 33358);
//! - `abandoned`: the caller hung up while waiting, with their wait;
//! - `callbacks_offered`: left the queue with a callback offer;
//! - `service_level` = answered within threshold ÷ (answered + abandoned);
//! - `average_handle_time_s` = talk + wrap-up, per call whose wrap-up ended.
//!
//! Outcomes count on the day they happen: a call offered at 23:59 and
//! answered at 00:01 is offered on one day and answered on the next.
//!
//! Per agent: calls answered, missed offers, talk time (of ended calls), and
//! time in each state (wrap-up time is the time in `wrap_up`).

use std::collections::BTreeMap;

use serde::{Serialize, Serializer};

use super::{AgentState, CallId, NotReadyReason, Strategy};

/// Serialise a call id as its 16 hex digits.
pub(crate) fn call_id_hex<S: Serializer>(id: &CallId, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(id)
}

fn opt_call_id_hex<S: Serializer>(id: &Option<CallId>, s: S) -> Result<S::Ok, S::Error> {
    match id {
        Some(id) => s.collect_str(id),
        None => s.serialize_none(),
    }
}

/// Seconds with one decimal.
fn secs(ms: u64) -> f64 {
    (ms as f64 / 100.0).round() / 10.0
}

fn average(total_ms: u64, n: u32) -> Option<f64> {
    (n > 0).then(|| secs(total_ms / u64::from(n)))
}

#[derive(Debug, Clone, Default)]
pub(crate) struct QueueCounters {
    pub(crate) offered: u32,
    pub(crate) answered: u32,
    pub(crate) answered_in_sl: u32,
    pub(crate) answered_wait_ms: u64,
    pub(crate) abandoned: u32,
    pub(crate) abandoned_wait_ms: u64,
    pub(crate) overflowed: u32,
    pub(crate) callbacks: u32,
    pub(crate) handled: u32,
    pub(crate) handle_ms: u64,
}

impl QueueCounters {
    pub(crate) fn report(&self) -> QueueDayStats {
        let base = self.answered + self.abandoned;
        QueueDayStats {
            offered: self.offered,
            answered: self.answered,
            answered_within_service_level: self.answered_in_sl,
            abandoned: self.abandoned,
            overflowed: self.overflowed,
            callbacks_offered: self.callbacks,
            service_level: (base > 0).then(|| {
                (f64::from(self.answered_in_sl) / f64::from(base) * 1000.0).round() / 1000.0
            }),
            average_wait_s: average(self.answered_wait_ms, self.answered),
            average_abandon_wait_s: average(self.abandoned_wait_ms, self.abandoned),
            average_handle_time_s: average(self.handle_ms, self.handled),
        }
    }
}

/// Slots of `AgentCounters::state_ms`.
const SLOTS: usize = 10;

fn slot(state: AgentState) -> usize {
    match state {
        AgentState::LoggedOut => 0,
        AgentState::Ready => 1,
        AgentState::Ringing => 2,
        AgentState::OnCall => 3,
        AgentState::WrapUp => 4,
        AgentState::NotReady { reason } => match reason {
            NotReadyReason::Break => 5,
            NotReadyReason::Meal => 6,
            NotReadyReason::Training => 7,
            NotReadyReason::MissedCall => 8,
            NotReadyReason::Other => 9,
        },
    }
}

#[derive(Debug, Clone, Default)]
pub(crate) struct AgentCounters {
    pub(crate) calls: u32,
    pub(crate) missed: u32,
    pub(crate) talk_ms: u64,
    state_ms: [u64; SLOTS],
}

impl AgentCounters {
    pub(crate) fn add_state_time(&mut self, state: AgentState, ms: u64) {
        self.state_ms[slot(state)] += ms;
    }

    /// The day's figures, with `current_ms` more in `current` (the state
    /// the agent is in, not yet accrued).
    pub(crate) fn report(&self, current: AgentState, current_ms: u64) -> AgentDayStats {
        let mut ms = self.state_ms;
        ms[slot(current)] += current_ms;
        let s = |i: usize| ms[i] / 1000;
        AgentDayStats {
            calls: self.calls,
            missed: self.missed,
            talk_time_s: self.talk_ms / 1000,
            wrap_up_time_s: s(4),
            average_talk_time_s: average(self.talk_ms, self.calls),
            time_in_state: StateTimes {
                logged_out_s: s(0),
                ready_s: s(1),
                ringing_s: s(2),
                on_call_s: s(3),
                wrap_up_s: s(4),
                break_s: s(5),
                meal_s: s(6),
                training_s: s(7),
                missed_call_s: s(8),
                other_s: s(9),
            },
        }
    }
}

/// A queue's figures for one day.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct QueueDayStats {
    /// Calls that entered the queue.
    pub offered: u32,
    /// Calls answered by an agent.
    pub answered: u32,
    /// Of those, answered within the service-level threshold.
    pub answered_within_service_level: u32,
    /// Callers who hung up while waiting.
    pub abandoned: u32,
    /// Calls moved to the overflow queue.
    pub overflowed: u32,
    /// Calls that left with a callback offer.
    pub callbacks_offered: u32,
    /// Answered within threshold ÷ (answered + abandoned), 0–1; none before
    /// the first such call.
    pub service_level: Option<f64>,
    /// Mean wait of answered calls, seconds.
    pub average_wait_s: Option<f64>,
    /// Mean wait of abandoned calls, seconds.
    pub average_abandon_wait_s: Option<f64>,
    /// Mean talk + wrap-up, seconds.
    pub average_handle_time_s: Option<f64>,
}

/// Whole seconds spent in each state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[allow(missing_docs)]
pub struct StateTimes {
    pub logged_out_s: u64,
    pub ready_s: u64,
    pub ringing_s: u64,
    pub on_call_s: u64,
    pub wrap_up_s: u64,
    pub break_s: u64,
    pub meal_s: u64,
    pub training_s: u64,
    pub missed_call_s: u64,
    pub other_s: u64,
}

/// An agent's figures for one day.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AgentDayStats {
    /// Calls answered.
    pub calls: u32,
    /// Offers not answered (no answer, busy, rejected).
    pub missed: u32,
    /// Talk time of the calls that ended, seconds.
    pub talk_time_s: u64,
    /// Time in wrap-up, seconds.
    pub wrap_up_time_s: u64,
    /// Mean talk time of ended calls, seconds.
    pub average_talk_time_s: Option<f64>,
    /// Time in each state.
    pub time_in_state: StateTimes,
}

/// One queue, live (an element of `GET /api/queues`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct QueueSnapshot {
    /// Name.
    pub name: String,
    /// Strategy.
    pub strategy: Strategy,
    /// Inside its shifts (always true without shifts).
    pub open: bool,
    /// Open and somebody serving it is logged in.
    pub accepting: bool,
    /// Calls in line, ringing ones included.
    pub waiting: u32,
    /// Calls ringing an agent.
    pub ringing: u32,
    /// Longest current wait, seconds from the first enqueue.
    pub longest_wait_s: u64,
    /// Agents serving it now who are logged in.
    pub agents_logged_in: u32,
    /// Agents serving it now who could be offered a call.
    pub agents_available: u32,
    /// Handle time used for wait estimates, seconds.
    pub recent_handle_time_s: f64,
    /// Service-level threshold, seconds.
    pub service_level_threshold_s: u64,
    /// Today's figures.
    pub today: QueueDayStats,
}

/// One agent, live (an element of `GET /api/agents`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AgentSnapshot {
    /// Agent id.
    pub id: String,
    /// State (flattened: `"state"` and, when not ready, `"reason"`).
    #[serde(flatten)]
    pub state: AgentState,
    /// Seconds in the current state.
    pub in_state_s: u64,
    /// Whether the phone is registered.
    pub registered: bool,
    /// Whether a call could be offered now.
    pub available: bool,
    /// The call ringing or connected.
    #[serde(serialize_with = "opt_call_id_hex")]
    pub call: Option<CallId>,
    /// Queues the agent serves now.
    pub queues: Vec<String>,
    /// Offers missed in a row.
    pub missed_in_row: u32,
    /// Today's figures.
    pub today: AgentDayStats,
}

/// The figures of a closed day.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DayReport {
    /// Local date, `YYYY-MM-DD`.
    pub date: String,
    /// By queue name.
    pub queues: BTreeMap<String, QueueDayStats>,
    /// By agent id.
    pub agents: BTreeMap<String, AgentDayStats>,
}
