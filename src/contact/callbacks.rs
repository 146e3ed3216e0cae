//! Callback requests dialled automatically (issue 7 item 4): the open
//! requests of `callbacks_first` queues, oldest first, each taken by the next
//! agent of its queue who becomes available, before any waiting call.
//!
//! The contact centre keeps the requests (loaded from `callback_requests`
//! with status `open` at start-up, plus each new one as it is saved) and
//! tells the [`Acd`](hotline_sip::acd::Acd) how many are *due* per queue. The
//! ACD reserves an agent ([`AcdOutput::CallbackReserved`]); the centre takes
//! the queue's oldest due request and asks the SIP core to place it
//! ([`Command::PlaceCallback`]: the agent's phone first, then the citizen
//! through the trunk, bridged). The call's events give the outcome, stored
//! with [`Command::UpdateCallback`]:
//!
//! - the citizen answered: `done`; the agent wraps up after the call;
//! - the citizen was busy, did not answer, or the trunk refused: one attempt
//!   more; `open` again, not before [`CALLBACK_RETRY_AFTER`], or `failed`
//!   after [`MAX_CALLBACK_ATTEMPTS`] attempts;
//! - the agent's phone did not answer: the request keeps its place (no
//!   attempt counted) and the agent is set not ready (`missed_call`);
//! - not placed (trunk limits, agent's phone busy): back in line, not before
//!   [`NOT_PLACED_RETRY_AFTER`]; a number that can never be dialled: `failed`.
//!
//! Without an outbound trunk the centre is never given any request (the SIP
//! core logs this once at start-up) and every request waits for manual
//! handling, as do those of queues without `callbacks_first`.

use std::collections::{BTreeSet, HashMap, VecDeque};
use std::time::{Duration, Instant};

use hotline_sip::acd::CallbackEnd;
use hotline_sip::call::{CallEvent, CallId};

use super::{Command, ContactCentre};

/// Attempts at reaching the citizen before a request is marked `failed`.
pub const MAX_CALLBACK_ATTEMPTS: u32 = 3;
/// Wait before calling a busy or unanswering citizen again.
pub const CALLBACK_RETRY_AFTER: Duration = Duration::from_secs(600);
/// Wait before trying a request again that could not be placed (trunk
/// limits, the agent's phone busy).
pub const NOT_PLACED_RETRY_AFTER: Duration = Duration::from_secs(30);

/// An open callback request of a `callbacks_first` queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenCallback {
    /// The row's id in `callback_requests`.
    pub id: String,
    /// The number to call.
    pub number: String,
    /// Its queue.
    pub queue: String,
    /// Attempts made so far (citizen busy / no answer).
    pub attempts: u32,
    /// Not to be dialled before this time (a retry).
    pub not_before: Option<Instant>,
}

/// A row's new state after an attempt ([`Command::UpdateCallback`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallbackUpdate {
    /// The row's id.
    pub id: String,
    /// `done`, `open` or `failed`.
    pub status: &'static str,
    /// Attempts made so far.
    pub attempts: u32,
    /// For `open`: not to be dialled again before this long from now.
    pub retry_after: Option<Duration>,
    /// The agent who dialled it.
    pub agent: String,
    /// The call, when one was placed.
    pub call: Option<String>,
}

/// Why the SIP core could not place a [`Command::PlaceCallback`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NotPlaced {
    /// Try again later (trunk limits, the agent's phone busy, no ports).
    Later,
    /// The number can never be dialled.
    Never,
}

/// A request being dialled, by agent.
#[derive(Debug)]
struct Dialing {
    request: OpenCallback,
    call: Option<CallId>,
    agent_answered: bool,
    bridged: bool,
    /// The citizen's leg failed (busy, no answer, refused).
    citizen_failed: bool,
}

/// The centre's callback requests (see the [module docs](self)).
#[derive(Debug, Default)]
pub(super) struct CallbackBook {
    /// `callbacks_first` queues, when outbound calls are possible.
    queues: BTreeSet<String>,
    /// By queue: open requests, oldest first.
    open: HashMap<String, VecDeque<OpenCallback>>,
    /// By agent.
    dialing: HashMap<String, Dialing>,
    /// Callback calls placed: their agent.
    calls: HashMap<CallId, String>,
    /// Last due counts given to the ACD.
    told: HashMap<String, u32>,
}

impl CallbackBook {
    fn due(&self, queue: &str, now: Instant) -> u32 {
        let n = self.open.get(queue).map_or(0, |list| {
            list.iter()
                .filter(|r| r.not_before.is_none_or(|t| t <= now))
                .count()
        });
        u32::try_from(n).unwrap_or(u32::MAX)
    }

    /// The earliest retry time still pending (past ones are cleared by
    /// `sync_callbacks`).
    pub(super) fn next_wake(&self) -> Option<Instant> {
        self.open
            .values()
            .flatten()
            .filter_map(|r| r.not_before)
            .min()
    }
}

impl ContactCentre {
    /// Turns automatic callbacks on for these `callbacks_first` queues (the
    /// SIP core calls it only when an outbound trunk is configured).
    pub fn set_callback_queues(&mut self, now: Instant, queues: impl IntoIterator<Item = String>) {
        self.callbacks.queues = queues.into_iter().collect();
        self.sync_callbacks(now);
    }

    /// An open request (from the database at start-up, or just saved).
    /// Ignored unless its queue is one of [`set_callback_queues`](Self::set_callback_queues).
    pub fn add_callback(&mut self, now: Instant, request: OpenCallback) {
        if !self.callbacks.queues.contains(&request.queue) {
            return;
        }
        let list = self
            .callbacks
            .open
            .entry(request.queue.clone())
            .or_default();
        if list.iter().any(|r| r.id == request.id) {
            return;
        }
        list.push_back(request);
        self.sync_callbacks(now);
    }

    /// Open requests held for automatic dialling, in `queue` (oldest first).
    pub fn open_callbacks(&self, queue: &str) -> Vec<OpenCallback> {
        self.callbacks
            .open
            .get(queue)
            .map(|l| l.iter().cloned().collect())
            .unwrap_or_default()
    }

    /// The [`Command::PlaceCallback`] for `agent` became call `call`.
    pub fn callback_placed(&mut self, agent: &str, call: CallId) {
        if let Some(d) = self.callbacks.dialing.get_mut(agent) {
            d.call = Some(call);
            self.callbacks.calls.insert(call, agent.to_owned());
        }
    }

    /// The [`Command::PlaceCallback`] for `agent` could not be placed.
    pub fn callback_not_placed(&mut self, now: Instant, agent: &str, why: NotPlaced) {
        let Some(d) = self.callbacks.dialing.remove(agent) else {
            return;
        };
        match why {
            NotPlaced::Later => self.requeue(d.request, Some(now + NOT_PLACED_RETRY_AFTER)),
            NotPlaced::Never => self.out.push_back(Command::UpdateCallback(CallbackUpdate {
                id: d.request.id.clone(),
                status: "failed",
                attempts: d.request.attempts,
                retry_after: None,
                agent: agent.to_owned(),
                call: None,
            })),
        }
        self.release_agent(now, agent, CallbackEnd::NotConnected);
    }

    /// Events of callback calls; false if `event` is about another call.
    pub(super) fn callback_event(&mut self, now: Instant, event: &CallEvent) -> bool {
        let call = match event {
            CallEvent::OriginAnswered { call, .. }
            | CallEvent::Answered { call, .. }
            | CallEvent::RingFailed { call, .. }
            | CallEvent::AgentLeft { call, .. }
            | CallEvent::Ended { call, .. } => *call,
            _ => return false,
        };
        let Some(agent) = self.callbacks.calls.get(&call).cloned() else {
            return false;
        };
        let Some(d) = self.callbacks.dialing.get_mut(&agent) else {
            return true;
        };
        match event {
            CallEvent::OriginAnswered { .. } => {
                d.agent_answered = true;
                let _ = self.acd.callback_answered(now, &agent);
            }
            CallEvent::Answered { .. } => {
                d.agent_answered = true;
                d.bridged = true;
                let update = CallbackUpdate {
                    id: d.request.id.clone(),
                    status: "done",
                    attempts: d.request.attempts + 1,
                    retry_after: None,
                    agent: agent.clone(),
                    call: Some(call.to_string()),
                };
                let _ = self.acd.callback_answered(now, &agent);
                self.out.push_back(Command::UpdateCallback(update));
            }
            CallEvent::RingFailed { .. } => {
                // Only the citizen's leg rings after the agent answered.
                d.agent_answered = true;
                d.citizen_failed = true;
            }
            CallEvent::Ended { .. } => {
                self.callbacks.calls.remove(&call);
                if let Some(d) = self.callbacks.dialing.remove(&agent) {
                    self.callback_over(now, &agent, call, d);
                }
            }
            _ => {}
        }
        true
    }

    fn callback_over(&mut self, now: Instant, agent: &str, call: CallId, d: Dialing) {
        if d.bridged {
            self.release_agent(now, agent, CallbackEnd::Talked);
            return;
        }
        if d.citizen_failed {
            let mut request = d.request;
            request.attempts += 1;
            let failed = request.attempts >= MAX_CALLBACK_ATTEMPTS;
            self.out.push_back(Command::UpdateCallback(CallbackUpdate {
                id: request.id.clone(),
                status: if failed { "failed" } else { "open" },
                attempts: request.attempts,
                retry_after: (!failed).then_some(CALLBACK_RETRY_AFTER),
                agent: agent.to_owned(),
                call: Some(call.to_string()),
            }));
            if !failed {
                self.requeue(request, Some(now + CALLBACK_RETRY_AFTER));
            }
            self.release_agent(now, agent, CallbackEnd::NotConnected);
            return;
        }
        // Over before the citizen's leg had an outcome: the agent's phone
        // did not answer (or the agent hung up first). The request keeps
        // its place.
        self.requeue(d.request, None);
        let end = if d.agent_answered {
            CallbackEnd::NotConnected
        } else {
            CallbackEnd::AgentMissed
        };
        self.release_agent(now, agent, end);
    }

    /// Back in line by age (a request keeps the place it had).
    fn requeue(&mut self, request: OpenCallback, not_before: Option<Instant>) {
        let list = self
            .callbacks
            .open
            .entry(request.queue.clone())
            .or_default();
        let request = OpenCallback {
            not_before,
            ..request
        };
        list.push_front(request);
    }

    fn release_agent(&mut self, now: Instant, agent: &str, end: CallbackEnd) {
        if let Err(e) = self.acd.callback_ended(now, agent, end) {
            tracing::debug!(agent, "callback end the ACD does not expect: {e}");
        }
        self.drain_acd(now);
        self.sync_callbacks(now);
    }

    /// Tells the ACD the due counts that changed (and serves reservations).
    pub(super) fn sync_callbacks(&mut self, now: Instant) {
        for r in self.callbacks.open.values_mut().flatten() {
            if r.not_before.is_some_and(|t| t <= now) {
                r.not_before = None;
            }
        }
        let queues: Vec<String> = self.callbacks.queues.iter().cloned().collect();
        for q in queues {
            let due = self.callbacks.due(&q, now);
            if self.callbacks.told.get(&q) == Some(&due) {
                continue;
            }
            self.callbacks.told.insert(q.clone(), due);
            if let Err(e) = self.acd.set_callbacks_waiting(now, &q, due) {
                tracing::warn!(queue = %q, "callbacks of an unknown queue: {e}");
            }
            self.drain_acd(now);
        }
    }

    /// The ACD reserved `agent` for a request of `queue`.
    pub(super) fn callback_reserved(&mut self, now: Instant, agent: &str, queue: &str) {
        // The ACD's count went down by one: keep the book's view in step.
        if let Some(n) = self.callbacks.told.get_mut(queue) {
            *n = n.saturating_sub(1);
        }
        let list = self.callbacks.open.entry(queue.to_owned()).or_default();
        let Some(pos) = list
            .iter()
            .position(|r| r.not_before.is_none_or(|t| t <= now))
        else {
            // Nothing due after all: put the ACD right, free the agent.
            self.callbacks.told.insert(queue.to_owned(), 0);
            let _ = self.acd.set_callbacks_waiting(now, queue, 0);
            let _ = self
                .acd
                .callback_ended(now, agent, CallbackEnd::NotConnected);
            return;
        };
        let Some(request) = list.remove(pos) else {
            return;
        };
        tracing::info!(agent, queue, request = %request.id, "callback request offered to the agent");
        self.out.push_back(Command::PlaceCallback {
            request: request.id.clone(),
            agent: agent.to_owned(),
            number: request.number.clone(),
        });
        self.callbacks.dialing.insert(
            agent.to_owned(),
            Dialing {
                request,
                call: None,
                agent_answered: false,
                bridged: false,
                citizen_failed: false,
            },
        );
    }
}
