//! Offering calls: admission, matching calls with agents, rings and their
//! outcomes, overflow, callbacks and hang-ups.
//!
//! Invariant that keeps decisions cheap: in every queue, either no call is
//! unassigned or no agent is available (every change that frees an agent or
//! adds a call dispatches at once). So a newly available agent takes the
//! oldest unassigned call among the heads of the queues they serve, and a
//! new call is matched by its queue's strategy among the available set.

use std::cmp::Reverse;
use std::time::{Duration, Instant};

use super::agents::QueueIx;
use super::engine::{count, Acd};
use super::queues::{Call, Connected, Timer};
use super::strategies::{pick, AgentIx, Strategy};
use super::{AcdError, AcdOutput, AgentState, CallAttributes, CallId, CallbackReason, StateCause};

/// Retry interval of an overflow whose target does not accept calls.
const OVERFLOW_RETRY: Duration = Duration::from_secs(30);

impl Acd {
    pub(crate) fn push_timer(&mut self, at: Instant, timer: Timer) {
        self.timers.push(Reverse((at, timer)));
    }

    pub(crate) fn admit(&mut self, now: Instant, id: CallId, q: QueueIx, attrs: &CallAttributes) {
        let lang = attrs.language.as_deref().map(|l| skill_name("lang", l));
        let biz = attrs.business_line.as_deref().map(|b| skill_name("biz", b));
        let wanted = self
            .skills
            .lookup(lang.iter().chain(biz.iter()).map(String::as_str));
        let seq = self.next_seq;
        self.next_seq += 1;
        let call = Call {
            seq,
            queue: q,
            bonus: Default::default(),
            max_bonus: 0,
            wanted,
            first_enqueued: now,
            ringing: Vec::new(),
            ring_deadline: None,
            tried: Vec::new(),
            announce_at: None,
            overflow_at: None,
            max_wait_at: None,
            overflow_due: false,
            max_wait_due: false,
        };
        self.calls.insert(id, call);
        self.enter_queue(now, id, q);
        // The call may have been rung, moved to the overflow queue or
        // offered a callback already: announce where it is, if it waits.
        let Some(call) = self.calls.get_mut(&id) else {
            return;
        };
        let Some(interval) = self.queues[call.queue].s.announce_interval else {
            return;
        };
        call.announce_at = Some(now + interval);
        let ringing = !call.ringing.is_empty();
        self.push_timer(now + interval, Timer::Announce(id));
        if !ringing {
            self.announce(id);
        }
    }

    /// Put a call (already in `calls`, in no queue) into queue `q`.
    fn enter_queue(&mut self, now: Instant, id: CallId, q: QueueIx) {
        let queue = &mut self.queues[q];
        queue.day.offered += 1;
        let Some(call) = self.calls.get_mut(&id) else {
            return;
        };
        call.queue = q;
        call.bonus = call.wanted.minus(&queue.required);
        call.max_bonus = call
            .bonus
            .entries()
            .iter()
            .map(|&(id, _)| u32::from(self.max_level.get(usize::from(id)).copied().unwrap_or(0)))
            .sum();
        call.tried.clear();
        call.overflow_at = queue.overflow.map(|(_, after)| now + after);
        call.max_wait_at = queue.s.max_wait.map(|m| call.first_enqueued + m);
        queue.waiting.insert((call.seq, id));
        let (overflow_at, max_wait_at) = (call.overflow_at, call.max_wait_at);
        if let Some(t) = overflow_at {
            self.push_timer(t, Timer::Overflow(id));
        }
        if let Some(t) = max_wait_at {
            self.push_timer(t, Timer::MaxWait(id));
        }
        if !self.queues[q].accepting() {
            self.evict_call(now, id);
            return;
        }
        self.queue_changed(now, q);
        self.back_in_line(now, id);
    }

    /// The call is in its queue and rings nobody: apply a limit that passed
    /// while it rang, else put it back at its place and dispatch.
    pub(crate) fn back_in_line(&mut self, now: Instant, id: CallId) {
        let Some(call) = self.calls.get_mut(&id) else {
            return;
        };
        let q = call.queue;
        call.ring_deadline = None;
        if std::mem::take(&mut call.max_wait_due) {
            self.offer_callback(now, id, CallbackReason::MaxWait);
            return;
        }
        if !self.queues[q].accepting() {
            self.evict_call(now, id);
            return;
        }
        let overflow = std::mem::take(&mut call.overflow_due);
        self.queues[q].unassigned.insert((call.seq, id));
        if overflow && self.try_overflow(now, id) {
            return;
        }
        self.dispatch_queue(now, q);
    }

    /// Offer the queue's oldest unassigned calls while agents are available.
    pub(crate) fn dispatch_queue(&mut self, now: Instant, q: QueueIx) {
        loop {
            let queue = &self.queues[q];
            let Some(&(_, id)) = queue.unassigned.first() else {
                return;
            };
            let Some(call) = self.calls.get(&id) else {
                // Cannot happen (calls leave both together); heal rather than spin.
                self.queues[q].unassigned.pop_first();
                continue;
            };
            let agents = &self.agents;
            pick(
                queue.s.strategy,
                &queue.avail,
                &call.tried,
                |a| agents[a as usize].skills.score(&call.bonus),
                call.max_bonus,
                &mut self.scratch,
            );
            if self.scratch.is_empty() {
                return;
            }
            let chosen = std::mem::take(&mut self.scratch);
            self.ring(now, id, &chosen);
            self.scratch = chosen;
        }
    }

    /// A newly available agent takes the oldest unassigned call of the
    /// queues they serve.
    pub(crate) fn dispatch_agent(&mut self, now: Instant, a: AgentIx) {
        let agent = &self.agents[a as usize];
        if !agent.listed {
            return;
        }
        if let Some(q) = self.callback_queue_of(a) {
            self.reserve_for_callback(now, a, q);
            return;
        }
        let agent = &self.agents[a as usize];
        let best = agent
            .in_sets
            .iter()
            .filter_map(|&(q, _)| {
                self.queues[q]
                    .unassigned
                    .first()
                    .map(|&(seq, id)| (seq, id, q))
            })
            .min();
        let Some((_, id, q)) = best else {
            self.join_ring_all(now, a);
            return;
        };
        if self.queues[q].s.strategy == Strategy::RingAll {
            self.dispatch_queue(now, q);
        } else {
            self.ring(now, id, &[a]);
        }
    }

    /// `ring_all` rings every available agent: one who becomes available
    /// while a call rings others (and no call is unassigned) joins that ring
    /// for the time it has left.
    fn join_ring_all(&mut self, now: Instant, a: AgentIx) {
        let calls = &self.calls;
        let target = self.agents[a as usize]
            .in_sets
            .iter()
            .filter(|&&(q, _)| self.queues[q].s.strategy == Strategy::RingAll)
            .filter_map(|&(q, _)| {
                // No call is unassigned here, so every waiting call rings:
                // the first one is found at once.
                self.queues[q]
                    .waiting
                    .iter()
                    .find(|(_, id)| calls.get(id).is_some_and(|c| !c.ringing.is_empty()))
                    .map(|&(seq, id)| (seq, id))
            })
            .min();
        if let Some((_, id)) = target {
            self.ring(now, id, &[a]);
        }
    }

    /// Ring `agents` for the call; a call already ringing keeps its deadline.
    fn ring(&mut self, now: Instant, id: CallId, agents: &[AgentIx]) {
        let Some(call) = self.calls.get_mut(&id) else {
            return;
        };
        let q = call.queue;
        let queue = &mut self.queues[q];
        queue.unassigned.remove(&(call.seq, id));
        let starts = call.ringing.is_empty();
        if starts {
            call.ring_deadline = Some(now + queue.s.ring_timeout);
        }
        let deadline = call.ring_deadline;
        call.ringing.extend_from_slice(agents);
        if let Some(deadline) = deadline.filter(|_| starts) {
            self.push_timer(deadline, Timer::Ring(id));
        }
        self.out.push_back(AcdOutput::Ring {
            call: id,
            queue: self.queues[q].s.name.clone(),
            agents: agents
                .iter()
                .map(|&a| self.agents[a as usize].id.clone())
                .collect(),
        });
        for &a in agents {
            let queue = &mut self.queues[q];
            if queue.s.strategy == Strategy::RoundRobin {
                queue.rr_next += 1;
                queue.rr_turn[a as usize] = queue.rr_next;
            }
            let agent = &mut self.agents[a as usize];
            agent.call = Some(id);
            agent.call_queue = Some(q);
            self.set_agent_state(now, a, AgentState::Ringing, StateCause::Offered);
        }
    }

    /// Stop ringing agent `a` for the call (the caller checked it rings).
    /// A miss counts towards `max_no_answer`. The agent is left ready or
    /// not ready; the caller settles them after the call is back in line.
    pub(crate) fn release_ring(
        &mut self,
        now: Instant,
        id: CallId,
        a: AgentIx,
        miss: bool,
        cancel: bool,
    ) {
        if let Some(call) = self.calls.get_mut(&id) {
            call.ringing.retain(|&r| r != a);
            if miss && !call.tried.contains(&a) {
                call.tried.push(a);
            }
        }
        if cancel {
            self.out.push_back(AcdOutput::CancelRing {
                call: id,
                agent: self.agents[a as usize].id.clone(),
            });
        }
        let agent = &mut self.agents[a as usize];
        agent.call = None;
        agent.call_queue = None;
        if miss {
            agent.missed_in_row += 1;
            agent.day.missed += 1;
            if agent.missed_in_row >= self.max_no_answer {
                let state = AgentState::NotReady {
                    reason: super::NotReadyReason::MissedCall,
                };
                self.set_agent_state(now, a, state, StateCause::MaxNoAnswer);
                return;
            }
        }
        self.set_agent_state(now, a, AgentState::Ready, StateCause::RingEnded);
    }

    /// After a ring ended for one agent: back in line once nobody rings.
    pub(crate) fn ring_over(&mut self, now: Instant, id: CallId) {
        if self.calls.get(&id).is_some_and(|c| c.ringing.is_empty()) {
            self.back_in_line(now, id);
        }
    }

    pub(crate) fn ring_timeout(&mut self, now: Instant, id: CallId) {
        let Some(call) = self.calls.get(&id) else {
            return;
        };
        let agents = call.ringing.clone();
        for &a in &agents {
            self.release_ring(now, id, a, true, true);
        }
        self.back_in_line(now, id);
        for a in agents {
            self.settle(now, a);
        }
    }

    pub(crate) fn answer(&mut self, now: Instant, id: CallId, a: AgentIx) {
        let Some(call) = self.calls.remove(&id) else {
            return;
        };
        let q = call.queue;
        let queue = &mut self.queues[q];
        queue.waiting.remove(&(call.seq, id));
        queue.unassigned.remove(&(call.seq, id));
        let wait = now.saturating_duration_since(call.first_enqueued);
        queue.day.answered += 1;
        queue.day.answered_wait_ms += super::agents::millis(wait);
        if wait <= queue.s.service_level {
            queue.day.answered_in_sl += 1;
        }
        let others: Vec<AgentIx> = call.ringing.iter().copied().filter(|&r| r != a).collect();
        for &b in &others {
            self.out.push_back(AcdOutput::CancelRing {
                call: id,
                agent: self.agents[b as usize].id.clone(),
            });
            let other = &mut self.agents[b as usize];
            other.call = None;
            other.call_queue = None;
            self.set_agent_state(now, b, AgentState::Ready, StateCause::RingEnded);
        }
        let agent = &mut self.agents[a as usize];
        agent.missed_in_row = 0;
        agent.day.calls += 1;
        self.set_agent_state(now, a, AgentState::OnCall, StateCause::Answered);
        self.connected.insert(
            id,
            Connected {
                agent: a,
                answered_at: now,
            },
        );
        self.queue_changed(now, q);
        for b in others {
            self.settle(now, b);
        }
    }

    /// The call is over, whatever its state.
    pub(crate) fn hang_up(&mut self, now: Instant, id: CallId) -> Result<(), AcdError> {
        if let Some(c) = self.connected.remove(&id) {
            self.end_talk(now, c.agent, now.saturating_duration_since(c.answered_at));
            return Ok(());
        }
        let Some(call) = self.calls.get(&id) else {
            return Err(AcdError::UnknownCall(id));
        };
        let (q, wait) = (
            call.queue,
            now.saturating_duration_since(call.first_enqueued),
        );
        let day = &mut self.queues[q].day;
        day.abandoned += 1;
        day.abandoned_wait_ms += super::agents::millis(wait);
        self.leave(now, id);
        Ok(())
    }

    /// Remove a call from the ACD, cancelling its rings (not misses).
    fn leave(&mut self, now: Instant, id: CallId) {
        let Some(call) = self.calls.remove(&id) else {
            return;
        };
        let q = call.queue;
        self.queues[q].waiting.remove(&(call.seq, id));
        self.queues[q].unassigned.remove(&(call.seq, id));
        for &a in &call.ringing {
            self.out.push_back(AcdOutput::CancelRing {
                call: id,
                agent: self.agents[a as usize].id.clone(),
            });
            let agent = &mut self.agents[a as usize];
            agent.call = None;
            agent.call_queue = None;
            self.set_agent_state(now, a, AgentState::Ready, StateCause::RingEnded);
        }
        self.queue_changed(now, q);
        for a in call.ringing {
            self.settle(now, a);
        }
    }

    pub(crate) fn offer_callback(&mut self, now: Instant, id: CallId, reason: CallbackReason) {
        let Some(call) = self.calls.get(&id) else {
            return;
        };
        let q = call.queue;
        self.queues[q].day.callbacks += 1;
        self.out.push_back(AcdOutput::OfferCallback {
            call: id,
            queue: self.queues[q].s.name.clone(),
            reason,
        });
        self.leave(now, id);
    }

    /// The call's queue does not accept calls: overflow or callback.
    pub(crate) fn evict_call(&mut self, now: Instant, id: CallId) {
        let Some(call) = self.calls.get(&id) else {
            return;
        };
        let q = call.queue;
        if let Some((target, _)) = self.queues[q].overflow {
            if self.queues[target].accepting() {
                self.move_call(now, id, target);
                return;
            }
        }
        let reason = if self.queues[q].open {
            CallbackReason::NoAgents
        } else {
            CallbackReason::Closed
        };
        self.offer_callback(now, id, reason);
    }

    /// Every call waiting (not ringing) in a queue that stopped accepting.
    pub(crate) fn evict_queue(&mut self, now: Instant, q: QueueIx) {
        let ids: Vec<CallId> = self.queues[q]
            .unassigned
            .iter()
            .map(|&(_, id)| id)
            .collect();
        for id in ids {
            self.evict_call(now, id);
        }
    }

    /// Overflow now if the target accepts; otherwise retry later. The call
    /// is in line (unassigned). Returns whether it moved.
    pub(crate) fn try_overflow(&mut self, now: Instant, id: CallId) -> bool {
        let Some(call) = self.calls.get_mut(&id) else {
            return false;
        };
        let Some((target, _)) = self.queues[call.queue].overflow else {
            return false;
        };
        if self.queues[target].accepting() {
            self.move_call(now, id, target);
            return true;
        }
        call.overflow_at = Some(now + OVERFLOW_RETRY);
        self.push_timer(now + OVERFLOW_RETRY, Timer::Overflow(id));
        false
    }

    fn move_call(&mut self, now: Instant, id: CallId, to: QueueIx) {
        let Some(call) = self.calls.get(&id) else {
            return;
        };
        let (from, seq) = (call.queue, call.seq);
        let queue = &mut self.queues[from];
        queue.waiting.remove(&(seq, id));
        queue.unassigned.remove(&(seq, id));
        queue.day.overflowed += 1;
        self.out.push_back(AcdOutput::Overflowed {
            call: id,
            from: self.queues[from].s.name.clone(),
            to: self.queues[to].s.name.clone(),
        });
        self.queue_changed(now, from);
        self.enter_queue(now, id, to);
        // From a queue without announcements to one with them: start.
        if let Some(call) = self.calls.get_mut(&id) {
            let interval = self.queues[call.queue].s.announce_interval;
            if let (None, Some(interval)) = (call.announce_at, interval) {
                call.announce_at = Some(now + interval);
                self.push_timer(now + interval, Timer::Announce(id));
            }
        }
    }

    pub(crate) fn announce(&mut self, id: CallId) {
        let Some(call) = self.calls.get(&id) else {
            return;
        };
        let queue = &self.queues[call.queue];
        let position = queue.position(call.seq);
        let staffed = queue
            .members
            .iter()
            .filter(|&&a| queue.serving[a as usize] && self.agents[a as usize].staffed())
            .count()
            .max(1) as u64;
        let wait_ms = u64::from(position) * queue.recent_handle_ms() / staffed;
        self.out.push_back(AcdOutput::Announce {
            call: id,
            position,
            estimated_wait_s: wait_ms.div_ceil(1000),
        });
    }

    pub(crate) fn longest_wait(&self, now: Instant, q: QueueIx) -> Duration {
        self.queues[q]
            .waiting
            .first()
            .and_then(|(_, id)| self.calls.get(id))
            .map_or(Duration::ZERO, |c| {
                now.saturating_duration_since(c.first_enqueued)
            })
    }

    pub(crate) fn queue_changed(&mut self, now: Instant, q: QueueIx) {
        self.out.push_back(AcdOutput::QueueChanged {
            queue: self.queues[q].s.name.clone(),
            waiting: count(self.queues[q].waiting.len()),
            longest_wait_s: self.longest_wait(now, q).as_secs(),
        });
    }
}

/// `"yue"` → `"lang:yue"`; a value that already has a kind is kept.
fn skill_name(kind: &str, value: &str) -> String {
    if value.contains(':') {
        value.to_owned()
    } else {
        format!("{kind}:{value}")
    }
}
