//! Agent state transitions: requests, registration, availability sets,
//! end of talk and wrap-up.
//!
//! Every state change goes through `set_agent_state`, which accrues the time
//! spent in the old state, keeps the queues' logged-in counts, publishes
//! [`AcdOutput::AgentStateChanged`] and re-syncs the available sets.
//! Dispatching a freed agent (`settle`) is left to the caller, so that a call
//! whose ring just ended is back in line first.

use std::time::{Duration, Instant};

use super::agents::{millis, QueueIx};
use super::engine::Acd;
use super::queues::Timer;
use super::strategies::{score_key, AgentIx, AvailKey, Strategy};
use super::{AcdOutput, AgentState, StateCause, StateRequest};

impl Acd {
    pub(crate) fn set_agent_state(
        &mut self,
        now: Instant,
        a: AgentIx,
        state: AgentState,
        cause: StateCause,
    ) {
        let agent = &mut self.agents[a as usize];
        if agent.state == state {
            return;
        }
        let was_in = agent.logged_in();
        agent.accrue(now);
        agent.state = state;
        if was_in != agent.logged_in() {
            for &q in &agent.queues {
                let queue = &mut self.queues[q];
                if queue.serving[a as usize] {
                    if was_in {
                        queue.logged_in = queue.logged_in.saturating_sub(1);
                    } else {
                        queue.logged_in += 1;
                    }
                }
            }
        }
        self.out.push_back(AcdOutput::AgentStateChanged {
            agent: self.agents[a as usize].id.clone(),
            state,
            cause,
        });
        self.refresh(a);
    }

    /// Put the agent in or out of the available sets to match their state.
    pub(crate) fn refresh(&mut self, a: AgentIx) {
        let agent = &self.agents[a as usize];
        match (agent.wants_calls(), agent.listed) {
            (true, false) => self.enter_sets(a),
            (false, true) => self.leave_sets(a),
            _ => {}
        }
    }

    /// Re-insert an available agent (after their queues or keys changed).
    pub(crate) fn resync(&mut self, a: AgentIx) {
        if self.agents[a as usize].listed {
            self.leave_sets(a);
            self.enter_sets(a);
        }
    }

    fn enter_sets(&mut self, a: AgentIx) {
        let ai = a as usize;
        let queues = std::mem::take(&mut self.agents[ai].queues);
        for &q in &queues {
            if self.queues[q].serving[ai] {
                let key = self.key_for(q, a);
                self.queues[q].avail.insert(key);
                self.agents[ai].in_sets.push((q, key));
            }
        }
        self.agents[ai].queues = queues;
        self.agents[ai].listed = true;
    }

    fn leave_sets(&mut self, a: AgentIx) {
        let agent = &mut self.agents[a as usize];
        for (q, key) in agent.in_sets.drain(..) {
            self.queues[q].avail.remove(&key);
        }
        agent.listed = false;
    }

    fn key_for(&self, q: QueueIx, a: AgentIx) -> AvailKey {
        let (queue, agent) = (&self.queues[q], &self.agents[a as usize]);
        let primary = match queue.s.strategy {
            Strategy::LongestIdle | Strategy::RingAll => 0,
            Strategy::RoundRobin => queue.rr_turn[a as usize],
            Strategy::FewestCalls => u64::from(agent.day.calls),
            Strategy::SkillsWeighted => score_key(queue.base_score[a as usize]),
        };
        AvailKey {
            primary,
            idle_since: agent.idle_since,
            agent: a,
        }
    }

    /// Offer a call to the agent if they are available and one waits.
    pub(crate) fn settle(&mut self, now: Instant, a: AgentIx) {
        self.dispatch_agent(now, a);
    }

    pub(crate) fn request_state(&mut self, now: Instant, a: AgentIx, req: StateRequest) {
        let agent = &mut self.agents[a as usize];
        if agent.callback.is_some()
            && matches!(agent.state, AgentState::Ringing | AgentState::OnCall)
        {
            // Reserved for a callback whose call goes on: like on a call,
            // the request applies when it ends (`callbacks.rs`).
            agent.pending = (req != StateRequest::Ready).then_some(req);
            return;
        }
        match self.agents[a as usize].state {
            AgentState::Ringing => {
                if req != StateRequest::Ready {
                    let call = self.agents[a as usize].call;
                    if let Some(call) = call {
                        self.release_ring(now, call, a, false, true);
                    }
                    self.apply_request(now, a, req, StateCause::Request);
                    if let Some(call) = call {
                        self.ring_over(now, call);
                    }
                }
            }
            AgentState::OnCall => {
                self.agents[a as usize].pending = (req != StateRequest::Ready).then_some(req);
            }
            AgentState::WrapUp => {
                self.agents[a as usize].pending = Some(req);
                self.finish_wrap(now, a, StateCause::Request);
            }
            _ => self.apply_request(now, a, req, StateCause::Request),
        }
        self.settle(now, a);
    }

    pub(crate) fn apply_request(
        &mut self,
        now: Instant,
        a: AgentIx,
        req: StateRequest,
        cause: StateCause,
    ) {
        match req {
            StateRequest::Ready => {
                let agent = &mut self.agents[a as usize];
                if agent.state != AgentState::Ready {
                    agent.idle_since = now;
                    agent.missed_in_row = 0;
                    self.set_agent_state(now, a, AgentState::Ready, cause);
                }
            }
            StateRequest::NotReady { reason } => {
                self.set_agent_state(now, a, AgentState::NotReady { reason }, cause);
            }
            StateRequest::LoggedOut => {
                self.agents[a as usize].pending = None;
                self.set_agent_state(now, a, AgentState::LoggedOut, cause);
                // Queues left with nobody logged in: their callers get the
                // overflow queue or a callback offer rather than an endless wait.
                let queues = self.agents[a as usize].queues.clone();
                for q in queues {
                    if self.queues[q].serving[a as usize] && !self.queues[q].accepting() {
                        self.evict_queue(now, q);
                    }
                }
            }
        }
    }

    pub(crate) fn registration(&mut self, now: Instant, a: AgentIx, registered: bool) {
        let agent = &mut self.agents[a as usize];
        if agent.registered == registered {
            return;
        }
        agent.registered = registered;
        if !registered && agent.state == AgentState::Ringing {
            if let Some(call) = agent.call {
                self.release_ring(now, call, a, false, true);
                self.ring_over(now, call);
            }
        }
        self.refresh(a);
        self.settle(now, a);
    }

    /// The agent's call ended after `talk`: wrap-up, or ready at once.
    pub(crate) fn end_talk(&mut self, now: Instant, a: AgentIx, talk: Duration) {
        let agent = &mut self.agents[a as usize];
        let talk_ms = millis(talk);
        agent.day.talk_ms += talk_ms;
        agent.last_talk_ms = talk_ms;
        agent.call = None;
        let wrap = agent
            .call_queue
            .map_or(Duration::ZERO, |q| self.queues[q].s.wrap_up);
        if wrap.is_zero() {
            self.finish_wrap(now, a, StateCause::CallEnded);
        } else {
            self.set_agent_state(now, a, AgentState::WrapUp, StateCause::CallEnded);
            self.agents[a as usize].wrap_until = Some(now + wrap);
            self.push_timer(now + wrap, Timer::WrapUp(a));
        }
    }

    /// Wrap-up over (time up, or the agent asked for another state): record
    /// the handle time, then ready or the state asked for during the call.
    pub(crate) fn finish_wrap(&mut self, now: Instant, a: AgentIx, cause: StateCause) {
        let agent = &mut self.agents[a as usize];
        let wrap_ms = if agent.state == AgentState::WrapUp {
            millis(now.saturating_duration_since(agent.state_since))
        } else {
            0
        };
        let handle = agent.last_talk_ms + wrap_ms;
        agent.wrap_until = None;
        let req = agent.pending.take().unwrap_or(StateRequest::Ready);
        if let Some(q) = agent.call_queue.take() {
            self.queues[q].record_handle(handle);
        }
        self.apply_request(now, a, req, cause);
        self.settle(now, a);
    }
}
