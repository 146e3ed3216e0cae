//! Virtual-time tests of the ACD: a harness that owns the fake clock and
//! collects outputs, and one file per area.

mod callbacks;
mod distribution;
mod random_inputs;
mod robustness;
mod waiting;

use std::time::{Duration, Instant};

use super::*;

/// Drives an [`Acd`] in virtual time.
pub(super) struct H {
    pub(super) acd: Acd,
    pub(super) now: Instant,
    pub(super) out: Vec<AcdOutput>,
}

pub(super) fn queue(name: &str, strategy: Strategy, skills: &[&str]) -> QueueSettings {
    QueueSettings {
        strategy,
        skills: skills.iter().map(|s| s.to_string()).collect(),
        wrap_up: Duration::ZERO,
        announce_interval: None,
        ..QueueSettings::new(name)
    }
}

pub(super) fn call(n: u64) -> CallId {
    CallId(n)
}

impl H {
    pub(super) fn new(agents: &[(&str, &[&str])], queues: Vec<QueueSettings>) -> H {
        Self::with_max(agents, queues, 3)
    }

    pub(super) fn with_max(agents: &[(&str, &[&str])], queues: Vec<QueueSettings>, max: u32) -> H {
        let settings = AcdSettings {
            agents: agents
                .iter()
                .map(|(id, skills)| AgentSettings {
                    id: id.to_string(),
                    skills: skills.iter().map(|s| s.to_string()).collect(),
                })
                .collect(),
            queues,
            max_no_answer: max,
        };
        let t0 = Instant::now();
        H {
            acd: Acd::new(settings, t0).expect("valid settings"),
            now: t0,
            out: Vec::new(),
        }
    }

    pub(super) fn drain(&mut self) {
        while let Some(o) = self.acd.poll_output() {
            self.out.push(o);
        }
    }

    /// Outputs since the last call.
    pub(super) fn take(&mut self) -> Vec<AcdOutput> {
        self.drain();
        std::mem::take(&mut self.out)
    }

    /// Run virtual time forward, firing every deadline on the way.
    pub(super) fn advance(&mut self, secs: u64) {
        self.advance_ms(secs * 1000);
    }

    pub(super) fn advance_ms(&mut self, ms: u64) {
        let target = self.now + Duration::from_millis(ms);
        while let Some(t) = self.acd.poll_timeout() {
            if t > target {
                break;
            }
            self.now = self.now.max(t);
            self.acd.handle_timeout(self.now);
            self.drain();
        }
        self.now = target;
    }

    /// Log in ready and register.
    pub(super) fn ready(&mut self, agent: &str) {
        let now = self.now;
        self.acd
            .set_registered(now, agent, true)
            .expect("known agent");
        self.acd
            .set_state(now, agent, StateRequest::Ready)
            .expect("known agent");
        self.drain();
    }

    pub(super) fn enqueue(&mut self, n: u64, queue: &str) {
        self.enqueue_with(n, queue, CallAttributes::default());
    }

    pub(super) fn enqueue_with(&mut self, n: u64, queue: &str, attrs: CallAttributes) {
        let now = self.now;
        self.acd
            .enqueue(now, call(n), queue, &attrs)
            .expect("enqueued");
        self.drain();
    }

    pub(super) fn answer(&mut self, n: u64, agent: &str) {
        let now = self.now;
        self.acd
            .ring_answered(now, call(n), agent)
            .expect("answered");
        self.drain();
    }

    pub(super) fn end(&mut self, n: u64) {
        let now = self.now;
        self.acd.call_ended(now, call(n)).expect("ended");
        self.drain();
    }

    /// The rings in the outputs so far (and forget those outputs).
    pub(super) fn rings(&mut self) -> Vec<(u64, Vec<String>)> {
        self.take()
            .into_iter()
            .filter_map(|o| match o {
                AcdOutput::Ring { call, agents, .. } => Some((call.0, agents)),
                _ => None,
            })
            .collect()
    }

    pub(super) fn state(&self, agent: &str) -> AgentState {
        self.acd.agent_state(agent).expect("known agent")
    }

    pub(super) fn queue(&self, name: &str) -> stats::QueueSnapshot {
        self.acd
            .queues_snapshot(self.now)
            .into_iter()
            .find(|q| q.name == name)
            .expect("known queue")
    }

    pub(super) fn agent(&self, id: &str) -> stats::AgentSnapshot {
        self.acd
            .agents_snapshot(self.now)
            .into_iter()
            .find(|a| a.id == id)
            .expect("known agent")
    }
}

pub(super) fn ring(n: u64, agents: &[&str]) -> (u64, Vec<String>) {
    (n, agents.iter().map(|a| a.to_string()).collect())
}
