//! [`Acd`]: construction and the public inputs, outputs and snapshots.
//! The decisions themselves are in `dispatch.rs`.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap, VecDeque};
use std::time::Instant;

use time::{Date, PrimitiveDateTime};

use super::agents::{millis, Agent, QueueIx};
use super::queues::{Call, Connected, Queue, Timer};
use super::schedule::LocalClock;
use super::skills::SkillTable;
use super::stats::{AgentSnapshot, DayReport, QueueSnapshot};
use super::strategies::AgentIx;
use super::{
    AcdError, AcdOutput, AcdSettings, AgentState, CallAttributes, CallId, RingFailure, StateRequest,
};

/// The ACD state machine. See the [module docs](super) for the rules.
#[derive(Debug)]
pub struct Acd {
    pub(crate) agents: Vec<Agent>,
    pub(crate) agent_ix: HashMap<String, AgentIx>,
    pub(crate) queues: Vec<Queue>,
    pub(crate) queue_ix: HashMap<String, QueueIx>,
    pub(crate) skills: SkillTable,
    pub(crate) calls: HashMap<CallId, Call>,
    pub(crate) connected: HashMap<CallId, Connected>,
    pub(crate) timers: BinaryHeap<Reverse<(Instant, Timer)>>,
    pub(crate) out: VecDeque<AcdOutput>,
    pub(crate) next_seq: u64,
    pub(crate) max_no_answer: u32,
    pub(crate) clock: Option<LocalClock>,
    pub(crate) today: Option<Date>,
    pub(crate) clock_wake: Option<Instant>,
    pub(crate) previous_day: Option<DayReport>,
    pub(crate) scratch: Vec<AgentIx>,
    /// By skill id: the highest level any agent has (bounds the
    /// `skills_weighted` walk).
    pub(crate) max_level: Vec<u8>,
}

impl Acd {
    /// Build the engine; every agent starts logged out and unregistered.
    pub fn new(settings: AcdSettings, now: Instant) -> Result<Acd, AcdError> {
        let bad = |m: String| AcdError::Settings(m);
        if settings.max_no_answer == 0 {
            return Err(bad("max_no_answer must be at least 1".into()));
        }
        let mut skills = SkillTable::default();
        let mut agents = Vec::with_capacity(settings.agents.len());
        let mut agent_ix = HashMap::new();
        for a in settings.agents {
            let set = skills.intern(&a.skills).map_err(bad)?;
            let ix = AgentIx::try_from(agents.len()).map_err(|_| bad("too many agents".into()))?;
            if agent_ix.insert(a.id.clone(), ix).is_some() {
                return Err(bad(format!("agent {:?} is listed twice", a.id)));
            }
            agents.push(Agent::new(a.id, set, now));
        }
        let mut max_level: Vec<u8> = Vec::new();
        for agent in &agents {
            for &(id, level) in agent.skills.entries() {
                let id = usize::from(id);
                if max_level.len() <= id {
                    max_level.resize(id + 1, 0);
                }
                max_level[id] = max_level[id].max(level);
            }
        }
        let mut queue_ix = HashMap::new();
        for (i, q) in settings.queues.iter().enumerate() {
            if queue_ix.insert(q.name.clone(), i).is_some() {
                return Err(bad(format!("queue {:?} is listed twice", q.name)));
            }
        }
        let mut queues = Vec::with_capacity(settings.queues.len());
        for (qi, s) in settings.queues.into_iter().enumerate() {
            if s.ring_timeout.is_zero() {
                return Err(bad(format!(
                    "queue {:?}: ring timeout must not be zero",
                    s.name
                )));
            }
            let required = skills.intern(&s.skills).map_err(bad)?;
            let mut q = Queue::new(s, required, agents.len());
            if let Some(o) = &q.s.overflow {
                let target = *queue_ix.get(&o.queue).ok_or_else(|| {
                    bad(format!(
                        "queue {:?}: unknown overflow queue {:?}",
                        q.s.name, o.queue
                    ))
                })?;
                q.overflow = Some((target, o.after));
            }
            for (ai, agent) in agents.iter_mut().enumerate() {
                if agent.skills.covers(&q.required) {
                    q.members.push(ai as AgentIx);
                    q.serving[ai] = true;
                    q.base_score[ai] = agent.skills.score(&q.required);
                    agent.queues.push(qi);
                }
            }
            for shift in &q.s.shifts {
                if shift.start_min >= 24 * 60
                    || shift.end_min > 24 * 60
                    || shift.start_min == shift.end_min
                {
                    return Err(bad(format!("queue {:?}: a shift has bad hours", q.s.name)));
                }
                let mut named = Vec::new();
                for id in &shift.agents {
                    let ai = *agent_ix.get(id).ok_or_else(|| {
                        bad(format!("queue {:?}: unknown shift agent {id:?}", q.s.name))
                    })?;
                    q.scheduled[ai as usize] = true;
                    named.push(ai);
                }
                q.shift_agents.push(named);
            }
            queues.push(q);
        }
        Ok(Acd {
            agents,
            agent_ix,
            queues,
            queue_ix,
            skills,
            calls: HashMap::new(),
            connected: HashMap::new(),
            timers: BinaryHeap::new(),
            out: VecDeque::new(),
            next_seq: 0,
            max_no_answer: settings.max_no_answer,
            clock: None,
            today: None,
            clock_wake: None,
            previous_day: None,
            scratch: Vec::new(),
            max_level,
        })
    }

    /// The next output to act on; drain after every input.
    #[must_use]
    pub fn poll_output(&mut self) -> Option<AcdOutput> {
        self.out.pop_front()
    }

    /// When [`handle_timeout`](Self::handle_timeout) must be called next.
    /// It may be earlier than needed (a cancelled deadline): waking early is
    /// harmless.
    #[must_use]
    pub fn poll_timeout(&self) -> Option<Instant> {
        let timer = self.timers.peek().map(|Reverse((t, _))| *t);
        match (timer, self.clock_wake) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Same as [`poll_timeout`](Self::poll_timeout).
    #[must_use]
    pub fn next_wake(&self) -> Option<Instant> {
        self.poll_timeout()
    }

    /// Run every deadline up to `now`: ring timeouts, wrap-ups,
    /// announcements, overflow, maximum wait, shift changes, day rollover.
    pub fn handle_timeout(&mut self, now: Instant) {
        if self.clock_wake.is_some_and(|t| t <= now) {
            self.apply_clock(now);
        }
        while let Some(&Reverse((at, timer))) = self.timers.peek() {
            if at > now {
                break;
            }
            self.timers.pop();
            self.fire(now, at, timer);
        }
    }

    /// Anchor the local wall clock (for schedules and day boundaries): call
    /// at start-up and on every wake-up. A new date closes the previous day.
    pub fn set_local_time(&mut self, now: Instant, local: PrimitiveDateTime) {
        self.clock = Some(LocalClock::new(now, local));
        self.apply_clock(now);
    }

    /// An agent (or a supervisor for them) asks for a state: the input of
    /// `POST /api/agents/{id}/state`. See the module docs for requests made
    /// while ringing, on a call or in wrap-up.
    pub fn set_state(
        &mut self,
        now: Instant,
        agent: &str,
        request: StateRequest,
    ) -> Result<(), AcdError> {
        let a = self.agent(agent)?;
        self.request_state(now, a, request);
        Ok(())
    }

    /// The registrar reports whether the agent's phone has a binding. An
    /// unregistered agent is never offered a call; a ring in progress is
    /// cancelled (not counted as a miss); a call in progress goes on.
    pub fn set_registered(
        &mut self,
        now: Instant,
        agent: &str,
        registered: bool,
    ) -> Result<(), AcdError> {
        let a = self.agent(agent)?;
        self.registration(now, a, registered);
        Ok(())
    }

    /// A call joins `queue`. It may be rung at once, overflow at once, or be
    /// offered a callback at once (see the module docs).
    pub fn enqueue(
        &mut self,
        now: Instant,
        call: CallId,
        queue: &str,
        attributes: &CallAttributes,
    ) -> Result<(), AcdError> {
        if self.calls.contains_key(&call) || self.connected.contains_key(&call) {
            return Err(AcdError::DuplicateCall(call));
        }
        let q = *self
            .queue_ix
            .get(queue)
            .ok_or_else(|| AcdError::UnknownQueue(queue.to_owned()))?;
        self.admit(now, call, q, attributes);
        Ok(())
    }

    /// The caller hung up before being connected (treated as
    /// [`call_ended`](Self::call_ended) if the call was already answered).
    pub fn abandon(&mut self, now: Instant, call: CallId) -> Result<(), AcdError> {
        self.hang_up(now, call)
    }

    /// A connected call ended (either side hung up): the agent goes to
    /// wrap-up. Treated as [`abandon`](Self::abandon) for a call still waiting.
    pub fn call_ended(&mut self, now: Instant, call: CallId) -> Result<(), AcdError> {
        self.hang_up(now, call)
    }

    /// The agent answered the offered call: the call leaves the queue, other
    /// agents ringing for it are cancelled.
    pub fn ring_answered(
        &mut self,
        now: Instant,
        call: CallId,
        agent: &str,
    ) -> Result<(), AcdError> {
        let a = self.agent(agent)?;
        if self.connected.get(&call).is_some_and(|c| c.agent == a) {
            return Ok(());
        }
        let ringing = match self.calls.get(&call) {
            Some(c) => c.ringing.contains(&a),
            None if self.connected.contains_key(&call) => false,
            None => return Err(AcdError::UnknownCall(call)),
        };
        if !ringing {
            return Err(AcdError::NotRinging {
                call,
                agent: agent.to_owned(),
            });
        }
        self.answer(now, call, a);
        Ok(())
    }

    /// Ringing the agent failed; counts as a miss, and the call goes back to
    /// its place (once no other agent rings for it).
    pub fn ring_failed(
        &mut self,
        now: Instant,
        call: CallId,
        agent: &str,
        why: RingFailure,
    ) -> Result<(), AcdError> {
        let a = self.agent(agent)?;
        let ringing = match self.calls.get(&call) {
            Some(c) => c.ringing.contains(&a),
            None if self.connected.contains_key(&call) => false,
            None => return Err(AcdError::UnknownCall(call)),
        };
        if !ringing {
            return Err(AcdError::NotRinging {
                call,
                agent: agent.to_owned(),
            });
        }
        tracing::debug!(%call, agent, ?why, "ACD ring failed");
        self.release_ring(now, call, a, true, false);
        self.ring_over(now, call);
        self.settle(now, a);
        Ok(())
    }

    /// An agent's state, `None` for an unknown id.
    pub fn agent_state(&self, agent: &str) -> Option<AgentState> {
        self.agent_ix
            .get(agent)
            .map(|&a| self.agents[a as usize].state)
    }

    /// The queue and 1-based position of a waiting call.
    pub fn position(&self, call: CallId) -> Option<(&str, u32)> {
        let c = self.calls.get(&call)?;
        let q = &self.queues[c.queue];
        Some((q.s.name.as_str(), q.position(c.seq)))
    }

    /// Calls waiting in all queues.
    pub fn waiting(&self) -> usize {
        self.calls.len()
    }

    /// The figures of the last closed day.
    pub fn previous_day(&self) -> Option<&DayReport> {
        self.previous_day.as_ref()
    }

    /// Every queue, live, in configuration order (`GET /api/queues`).
    pub fn queues_snapshot(&self, now: Instant) -> Vec<QueueSnapshot> {
        (0..self.queues.len())
            .map(|q| self.queue_snapshot(now, q))
            .collect()
    }

    /// Every agent, live, in configuration order (`GET /api/agents`).
    pub fn agents_snapshot(&self, now: Instant) -> Vec<AgentSnapshot> {
        (0..self.agents.len())
            .map(|a| self.agent_snapshot(now, a))
            .collect()
    }

    pub(crate) fn queue_snapshot(&self, now: Instant, q: QueueIx) -> QueueSnapshot {
        let queue = &self.queues[q];
        let serving = || queue.members.iter().filter(|&&a| queue.serving[a as usize]);
        QueueSnapshot {
            name: queue.s.name.clone(),
            strategy: queue.s.strategy,
            open: queue.open,
            accepting: queue.accepting(),
            waiting: count(queue.waiting.len()),
            ringing: count(queue.waiting.len() - queue.unassigned.len()),
            longest_wait_s: self.longest_wait(now, q).as_secs(),
            agents_logged_in: queue.logged_in,
            agents_available: count(
                serving()
                    .filter(|&&a| self.agents[a as usize].wants_calls())
                    .count(),
            ),
            recent_handle_time_s: queue.recent_handle_ms() as f64 / 1000.0,
            service_level_threshold_s: queue.s.service_level.as_secs(),
            today: queue.day.report(),
        }
    }

    pub(crate) fn agent_snapshot(&self, now: Instant, a: usize) -> AgentSnapshot {
        let agent = &self.agents[a];
        let in_state = now.saturating_duration_since(agent.state_since);
        AgentSnapshot {
            id: agent.id.clone(),
            state: agent.state,
            in_state_s: in_state.as_secs(),
            registered: agent.registered,
            available: agent.wants_calls(),
            call: agent.call,
            queues: agent
                .queues
                .iter()
                .filter(|&&q| self.queues[q].serving[a])
                .map(|&q| self.queues[q].s.name.clone())
                .collect(),
            missed_in_row: agent.missed_in_row,
            today: agent.day.report(agent.state, millis(in_state)),
        }
    }

    pub(crate) fn agent(&self, id: &str) -> Result<AgentIx, AcdError> {
        self.agent_ix
            .get(id)
            .copied()
            .ok_or_else(|| AcdError::UnknownAgent(id.to_owned()))
    }
}

pub(crate) fn count(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}
