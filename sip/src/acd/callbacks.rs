//! Callback requests worked by agents of `callbacks_first` queues
//! (issue 7, "keeps the caller's place").
//!
//! The engine does not store requests (the contact centre does, with their
//! numbers and retry times); it only knows how many are *due* in each queue
//! ([`Acd::set_callbacks_waiting`]). An agent who becomes available and
//! serves a `callbacks_first` queue with a due request is *reserved* for it
//! before any waiting call is offered to them: state `ringing` (the driver
//! rings their phone first), [`AcdOutput::CallbackReserved`] out, and no
//! inbound call rings them until [`Acd::callback_ended`]. When the count goes
//! up while agents of the queue are available, the best available one (by the
//! queue's strategy order) is reserved at once.
//!
//! A state asked for while reserved (ringing or talking) applies when the
//! callback ends, as for a call. A callback that connected ends like any call (wrap-up of the queue, then
//! ready or the state asked for meanwhile); one that did not connect makes the
//! agent available again at once; one the agent's phone did not answer sets
//! them `not_ready` (`missed_call`), so the next request does not ring an
//! absent seat again and again.

use std::time::Instant;

use super::agents::QueueIx;
use super::engine::Acd;
use super::strategies::AgentIx;
use super::{AcdError, AcdOutput, AgentState, NotReadyReason, StateCause, StateRequest};

/// How a reserved agent's callback ended ([`Acd::callback_ended`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallbackEnd {
    /// Agent and citizen talked: wrap-up follows.
    Talked,
    /// The citizen was not reached (busy, no answer, failure) or the call
    /// could not be placed: the agent is available again.
    NotConnected,
    /// The agent's phone did not answer: the agent is set not ready.
    AgentMissed,
}

impl Acd {
    /// How many callback requests are due in `queue` now (an absolute count,
    /// set whenever it changes). For a `callbacks_first` queue, available
    /// agents are reserved for them at once; for others it is ignored.
    pub fn set_callbacks_waiting(
        &mut self,
        now: Instant,
        queue: &str,
        count: u32,
    ) -> Result<(), AcdError> {
        let q = *self
            .queue_ix
            .get(queue)
            .ok_or_else(|| AcdError::UnknownQueue(queue.to_owned()))?;
        if !self.queues[q].s.callbacks_first {
            return Ok(());
        }
        self.queues[q].callbacks_waiting = count;
        while self.queues[q].callbacks_waiting > 0 {
            let Some(key) = self.queues[q].avail.first().copied() else {
                break;
            };
            self.reserve_for_callback(now, key.agent, q);
        }
        Ok(())
    }

    /// The reserved agent's phone answered the callback: on a call.
    pub fn callback_answered(&mut self, now: Instant, agent: &str) -> Result<(), AcdError> {
        let a = self.agent(agent)?;
        let ag = &mut self.agents[a as usize];
        match ag.callback {
            None => return Err(AcdError::NoCallback(agent.to_owned())),
            Some(Some(_)) => return Ok(()),
            Some(None) => ag.callback = Some(Some(now)),
        }
        if ag.state == AgentState::Ringing {
            ag.missed_in_row = 0;
            self.set_agent_state(now, a, AgentState::OnCall, StateCause::Answered);
        }
        Ok(())
    }

    /// The reserved agent's callback is over (see [`CallbackEnd`]).
    pub fn callback_ended(
        &mut self,
        now: Instant,
        agent: &str,
        end: CallbackEnd,
    ) -> Result<(), AcdError> {
        let a = self.agent(agent)?;
        let ag = &mut self.agents[a as usize];
        let Some(answered) = ag.callback.take() else {
            return Err(AcdError::NoCallback(agent.to_owned()));
        };
        // A state asked for meanwhile (not ready, logged out) already applies.
        let reserved = matches!(ag.state, AgentState::Ringing | AgentState::OnCall);
        if !reserved {
            ag.call_queue = None;
            return Ok(());
        }
        match end {
            CallbackEnd::Talked => {
                ag.day.calls += 1;
                let talk =
                    answered.map_or_else(Default::default, |t| now.saturating_duration_since(t));
                self.end_talk(now, a, talk);
            }
            CallbackEnd::NotConnected => {
                ag.call_queue = None;
                let req = ag.pending.take().unwrap_or(StateRequest::Ready);
                self.apply_request(now, a, req, StateCause::RingEnded);
                self.settle(now, a);
            }
            CallbackEnd::AgentMissed => {
                ag.call_queue = None;
                let req = match ag.pending.take() {
                    Some(StateRequest::LoggedOut) => StateRequest::LoggedOut,
                    _ => StateRequest::NotReady {
                        reason: NotReadyReason::MissedCall,
                    },
                };
                self.apply_request(now, a, req, StateCause::MaxNoAnswer);
            }
        }
        Ok(())
    }

    /// Whether the agent is reserved for a callback now.
    pub fn on_callback(&self, agent: &str) -> bool {
        self.agent_ix
            .get(agent)
            .is_some_and(|&a| self.agents[a as usize].callback.is_some())
    }

    /// A `callbacks_first` queue of the available agent with a due request.
    pub(crate) fn callback_queue_of(&self, a: AgentIx) -> Option<QueueIx> {
        let agent = &self.agents[a as usize];
        if !agent.listed {
            return None;
        }
        agent.in_sets.iter().map(|&(q, _)| q).find(|&q| {
            let queue = &self.queues[q];
            queue.s.callbacks_first && queue.callbacks_waiting > 0
        })
    }

    pub(crate) fn reserve_for_callback(&mut self, now: Instant, a: AgentIx, q: QueueIx) {
        let queue = &mut self.queues[q];
        queue.callbacks_waiting = queue.callbacks_waiting.saturating_sub(1);
        let agent = &mut self.agents[a as usize];
        agent.callback = Some(None);
        agent.call = None;
        agent.call_queue = Some(q);
        self.set_agent_state(now, a, AgentState::Ringing, StateCause::Offered);
        self.out.push_back(AcdOutput::CallbackReserved {
            agent: self.agents[a as usize].id.clone(),
            queue: self.queues[q].s.name.clone(),
        });
    }
}
