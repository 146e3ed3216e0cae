//! Deadlines and the local clock: ring timeouts, announcements, overflow,
//! maximum wait, wrap-up, shift changes and day rollover.
//!
//! Deadlines live in one binary heap; cancelling one only changes its
//! owner's field, and an entry that no longer matches its owner when it
//! fires is dropped.

use std::collections::BTreeMap;
use std::time::Instant;

use time::{Date, Weekday};

use super::agents::QueueIx;
use super::engine::Acd;
use super::queues::Timer;
use super::schedule::{minute_of_day, until_next_boundary};
use super::stats::{AgentCounters, DayReport, QueueCounters};
use super::{AcdOutput, AgentState, CallbackReason, StateCause};

impl Acd {
    pub(crate) fn fire(&mut self, now: Instant, at: Instant, timer: Timer) {
        match timer {
            Timer::Ring(id) => {
                if self.calls.get(&id).and_then(|c| c.ring_deadline) == Some(at) {
                    self.ring_timeout(now, id);
                }
            }
            Timer::MaxWait(id) => {
                let Some(call) = self.calls.get_mut(&id) else {
                    return;
                };
                if call.max_wait_at != Some(at) {
                    return;
                }
                call.max_wait_at = None;
                if call.ringing.is_empty() {
                    self.offer_callback(now, id, CallbackReason::MaxWait);
                } else {
                    call.max_wait_due = true;
                }
            }
            Timer::Overflow(id) => {
                let Some(call) = self.calls.get_mut(&id) else {
                    return;
                };
                if call.overflow_at != Some(at) {
                    return;
                }
                call.overflow_at = None;
                if call.ringing.is_empty() {
                    self.try_overflow(now, id);
                } else {
                    call.overflow_due = true;
                }
            }
            Timer::Announce(id) => {
                let Some(call) = self.calls.get_mut(&id) else {
                    return;
                };
                if call.announce_at != Some(at) {
                    return;
                }
                let ringing = !call.ringing.is_empty();
                let next = self.queues[call.queue].s.announce_interval.map(|i| now + i);
                call.announce_at = next;
                if let Some(next) = next {
                    self.push_timer(next, Timer::Announce(id));
                }
                if !ringing {
                    self.announce(id);
                }
            }
            Timer::WrapUp(a) => {
                let agent = &self.agents[a as usize];
                if agent.wrap_until == Some(at) && agent.state == AgentState::WrapUp {
                    self.finish_wrap(now, a, StateCause::WrapUpEnded);
                }
            }
        }
    }

    /// Evaluate the local clock at `now`: day rollover, shifts, next wake.
    pub(crate) fn apply_clock(&mut self, now: Instant) {
        let Some(clock) = self.clock else { return };
        let local = clock.at(now);
        if let Some(day) = self.today.filter(|&d| d != local.date()) {
            self.close_day(now, day);
        }
        self.today = Some(local.date());
        let (minute, _) = minute_of_day(local);
        for q in 0..self.queues.len() {
            self.update_schedule(now, q, local.weekday(), minute);
        }
        let next = until_next_boundary(self.queues.iter().flat_map(|q| q.s.shifts.iter()), local);
        self.clock_wake = Some(now + next);
    }

    fn update_schedule(&mut self, now: Instant, q: QueueIx, day: Weekday, minute: u16) {
        let queue = &self.queues[q];
        if queue.s.shifts.is_empty() {
            return;
        }
        let on: Vec<bool> = queue
            .s
            .shifts
            .iter()
            .map(|s| s.is_on(day, minute))
            .collect();
        let open = on.contains(&true);
        let changed: Vec<u32> = queue
            .members
            .iter()
            .copied()
            .filter(|&a| {
                let serve = if queue.scheduled[a as usize] {
                    queue
                        .shift_agents
                        .iter()
                        .zip(&on)
                        .any(|(named, &on)| on && named.contains(&a))
                } else {
                    open
                };
                serve != queue.serving[a as usize]
            })
            .collect();
        if open == queue.open && changed.is_empty() {
            return;
        }
        let queue = &mut self.queues[q];
        queue.open = open;
        for &a in &changed {
            queue.serving[a as usize] = !queue.serving[a as usize];
        }
        let agents = &self.agents;
        queue.logged_in = queue
            .members
            .iter()
            .filter(|&&a| queue.serving[a as usize] && agents[a as usize].logged_in())
            .count() as u32;
        for a in changed {
            self.resync(a);
        }
        if self.queues[q].accepting() {
            self.dispatch_queue(now, q);
        } else {
            self.evict_queue(now, q);
        }
    }

    /// Publish and keep the day's figures, then restart the counters.
    fn close_day(&mut self, now: Instant, date: Date) {
        let mut agents = BTreeMap::new();
        for agent in &mut self.agents {
            agent.accrue(now);
            agents.insert(agent.id.clone(), agent.day.report(agent.state, 0));
            agent.day = AgentCounters::default();
        }
        let mut queues = BTreeMap::new();
        for queue in &mut self.queues {
            queues.insert(queue.s.name.clone(), queue.day.report());
            queue.day = QueueCounters::default();
        }
        let report = DayReport {
            date: date.to_string(),
            queues,
            agents,
        };
        self.out.push_back(AcdOutput::DayClosed(report.clone()));
        self.previous_day = Some(report);
        // `fewest_calls` keys hold today's call counts.
        for a in 0..self.agents.len() {
            self.resync(a as u32);
        }
    }
}
