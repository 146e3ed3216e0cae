//! The contact centre: what happens to a hotline call between the SIP core's
//! events and its commands — menu, queue, agent, survey, callback, emergency
//! transfer. Sans-IO: the SIP core task feeds it events and the time and
//! carries out the [`Command`]s it returns; it never touches a socket, the
//! endpoint or the clock itself, so tests drive it in virtual time.
//!
//! One [`ContactCentre`] owns the compiled [`Menu`] (prompts included) and the
//! [`Acd`]. Each hosted call has a *flow* that is in one phase at a time:
//!
//! ```text
//!  Arrived ──► Menu (IvrSession) ──Enqueue──► Queued (music, announcements)
//!     │            │ emergency key               │ ACD rings agents (Ring)
//!     │            ▼                              ▼ agent answers
//!     │        Transferring ──────────────►   Talking
//!     │            ▲ failed: back to a queue      │ agent hangs up first
//!     │            │                              ▼
//!     └─ DID with a queue ──► Queued          Survey ──► result stored, hang up
//!                   │ max wait / nobody logged in
//!                   ▼
//!               Callback (CallbackOffer) ──► request stored, hang up
//! ```
//!
//! The caller hanging up ends the flow wherever it is (the ACD counts an
//! abandoned call). Playback ids given to the media engine carry the flow's
//! *generation* in their high 32 bits, so the end of a prompt started by an
//! earlier phase is never taken for the current one.

#[cfg(test)]
mod callback_tests;
mod callbacks;
pub mod records;
mod settings;
#[cfg(test)]
mod tests;

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::time::{Duration, Instant};

use hotline_ivr::{Action, Attr, CallbackOffer, Entry, IvrSession, Menu, PromptRef, Survey};
use hotline_sip::acd::{
    Acd, AcdError, AcdOutput, CallAttributes, CallbackReason, RingFailure as AcdRingFailure,
    StateRequest,
};
use hotline_sip::call::{CallEvent, CallId, HangupBy, RingFailure};
use serde::Serialize;

pub use callbacks::{
    CallbackUpdate, NotPlaced, OpenCallback, CALLBACK_RETRY_AFTER, MAX_CALLBACK_ATTEMPTS,
    NOT_PLACED_RETRY_AFTER,
};
pub use settings::acd_settings;

/// What the SIP core must do for the contact centre.
#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    /// Ring `agent`'s phone for `call` (`Endpoint::ring_agent`). If that
    /// fails, report it with [`ContactCentre::ring_error`].
    Ring {
        call: CallId,
        agent: String,
    },
    /// Stop ringing (or release, if it just answered) `agent` for `call`.
    StopRinging {
        call: CallId,
        agent: String,
    },
    /// Play prompts to the caller; `MediaEvent::PlaybackDone` with `id` at
    /// the end unless `looped`.
    Play {
        call: CallId,
        id: u64,
        prompts: Vec<PromptRef>,
        looped: bool,
    },
    StopPlayback {
        call: CallId,
    },
    /// Hang up the call (`Endpoint::hang_up`).
    HangUp {
        call: CallId,
    },
    /// Transfer the caller to emergency line `number` (the menu's emergency
    /// option; the SIP core routes and records it).
    Transfer {
        call: CallId,
        number: String,
    },
    /// Store a reception-stage survey result.
    SaveSurvey(SurveyRecord),
    /// Store a callback request.
    SaveCallback(CallbackRecord),
    /// Place callback request `request` with `agent` (reserved in the ACD):
    /// `Endpoint::originate_callback(agent, number)`, then report with
    /// [`ContactCentre::callback_placed`] or
    /// [`ContactCentre::callback_not_placed`].
    PlaceCallback {
        request: String,
        agent: String,
        number: String,
    },
    /// Store a callback request's new status after an attempt.
    UpdateCallback(CallbackUpdate),
    /// Something for the live views (wallboard, workstation).
    Publish(AcdOutput),
}

/// A reception-stage survey result (§18–§20).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SurveyRecord {
    pub call: String,
    pub agent: String,
    pub queue: Option<String>,
    /// 1 非常满意 … 5 非常不满意; `None`: no rating.
    pub rating: Option<u8>,
}

/// A caller who chose to be called back instead of waiting.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CallbackRecord {
    pub call: String,
    pub caller_number: String,
    /// The number to call back (the caller's own or one keyed in).
    pub number: String,
    pub queue: Option<String>,
    /// Why the callback was offered: `max_wait`, `no_agents`, `closed`, `menu`.
    pub reason: &'static str,
    pub language: String,
}

/// What the IVR recorded about a call, for the screen pop.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CallInfo {
    pub call: String,
    pub did: String,
    pub caller_number: String,
    pub language: String,
    pub business_line: Option<String>,
    /// Menu nodes and keys, e.g. `["welcome", "language:2", "cantonese"]`.
    pub ivr_path: Vec<String>,
    pub queue: Option<String>,
    pub phase: &'static str,
    pub waited_s: u64,
}

enum Phase {
    Menu(Box<IvrSession>),
    /// Waiting in the ACD (ringing included). `announcement`: the id of the
    /// position announcement playing, after which the music resumes.
    Queued {
        announcement: Option<u64>,
    },
    Talking,
    Survey {
        survey: Box<Survey>,
        agent: String,
    },
    Callback {
        offer: Box<CallbackOffer>,
        reason: &'static str,
    },
    Transferring,
    /// Hanging up (goodbye played, or nothing left to do).
    Leaving,
}

impl Phase {
    fn name(&self) -> &'static str {
        match self {
            Phase::Menu(_) => "menu",
            Phase::Queued { .. } => "queued",
            Phase::Talking => "talking",
            Phase::Survey { .. } => "survey",
            Phase::Callback { .. } => "callback",
            Phase::Transferring => "transferring",
            Phase::Leaving => "leaving",
        }
    }
}

struct Flow {
    did: String,
    caller_number: String,
    arrived: Instant,
    language: String,
    business_line: Option<String>,
    path: Vec<String>,
    queue: Option<String>,
    phase: Phase,
    /// High half of playback ids (see the module docs).
    generation: u32,
    /// Low half for the queue's own playbacks (music, announcements).
    next_play: u32,
}

impl Flow {
    fn play_id(&mut self) -> u64 {
        self.next_play = self.next_play.wrapping_add(1) | 0x8000_0000;
        (u64::from(self.generation) << 32) | u64::from(self.next_play)
    }
}

/// The contact centre. See the [module docs](self).
pub struct ContactCentre {
    menu: Arc<Menu>,
    acd: Acd,
    survey: bool,
    /// The incident announcement a supervisor set (§17.3).
    announcement: Option<PromptRef>,
    /// Queue for callers whose emergency transfer failed.
    fallback_queue: Option<String>,
    flows: HashMap<CallId, Flow>,
    /// Callback requests dialled automatically (`callbacks.rs`).
    callbacks: callbacks::CallbackBook,
    out: VecDeque<Command>,
}

impl std::fmt::Debug for ContactCentre {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ContactCentre")
            .field("calls", &self.flows.len())
            .finish_non_exhaustive()
    }
}

impl ContactCentre {
    /// A contact centre on `menu` and `acd`; `survey`: run the reception-stage
    /// survey when the agent hangs up first; `fallback_queue`: where a caller
    /// goes whose emergency transfer from the menu failed.
    pub fn new(menu: Arc<Menu>, acd: Acd, survey: bool, fallback_queue: Option<String>) -> Self {
        Self {
            menu,
            acd,
            survey,
            announcement: None,
            fallback_queue,
            flows: HashMap::new(),
            callbacks: callbacks::CallbackBook::default(),
            out: VecDeque::new(),
        }
    }

    /// The next command; drain after every input.
    pub fn poll_command(&mut self) -> Option<Command> {
        self.out.pop_front()
    }

    /// When [`handle_timeout`](Self::handle_timeout) is due.
    pub fn poll_timeout(&self) -> Option<Instant> {
        let machines = self.flows.values().filter_map(|f| match &f.phase {
            Phase::Menu(s) => s.next_wake(),
            Phase::Survey { survey, .. } => survey.next_wake(),
            Phase::Callback { offer, .. } => offer.next_wake(),
            _ => None,
        });
        machines
            .chain(self.acd.poll_timeout())
            .chain(self.callbacks.next_wake())
            .min()
    }

    /// Timers: the ACD's (ring timeouts, announcements, overflow, wrap-up)
    /// and the dialogues' (key timeouts).
    pub fn handle_timeout(&mut self, now: Instant) {
        self.acd.handle_timeout(now);
        let due: Vec<CallId> = self
            .flows
            .iter()
            .filter(|(_, f)| {
                let wake = match &f.phase {
                    Phase::Menu(s) => s.next_wake(),
                    Phase::Survey { survey, .. } => survey.next_wake(),
                    Phase::Callback { offer, .. } => offer.next_wake(),
                    _ => None,
                };
                wake.is_some_and(|w| w <= now)
            })
            .map(|(c, _)| *c)
            .collect();
        for call in due {
            let actions = match self.flows.get_mut(&call).map(|f| &mut f.phase) {
                Some(Phase::Menu(s)) => s.poll(now),
                Some(Phase::Survey { survey, .. }) => survey.poll(now),
                Some(Phase::Callback { offer, .. }) => offer.poll(now),
                _ => Vec::new(),
            };
            self.apply(now, call, actions);
        }
        self.drain_acd(now);
        self.sync_callbacks(now);
    }

    /// The local wall-clock time, for shifts and day boundaries.
    pub fn set_local_time(&mut self, now: Instant, local: time::PrimitiveDateTime) {
        self.acd.set_local_time(now, local);
        self.drain_acd(now);
    }

    /// Sets or clears the incident announcement played first on every call.
    pub fn set_announcement(&mut self, prompt: Option<PromptRef>) {
        self.announcement = prompt;
    }

    /// The incident announcement, if one is set.
    pub fn announcement(&self) -> Option<&PromptRef> {
        self.announcement.as_ref()
    }

    /// The menu (prompts for announcements).
    pub fn menu(&self) -> &Arc<Menu> {
        &self.menu
    }

    /// The ACD, for snapshots (`GET /api/queues`, `GET /api/agents`).
    pub fn acd(&self) -> &Acd {
        &self.acd
    }

    /// What the menu learned about `call` (screen pop), if it is hosted.
    pub fn call_info(&self, now: Instant, call: CallId) -> Option<CallInfo> {
        let f = self.flows.get(&call)?;
        Some(CallInfo {
            call: call.to_string(),
            did: f.did.clone(),
            caller_number: f.caller_number.clone(),
            language: f.language.clone(),
            business_line: f.business_line.clone(),
            ivr_path: f.path.clone(),
            queue: f.queue.clone(),
            phase: f.phase.name(),
            waited_s: now.saturating_duration_since(f.arrived).as_secs(),
        })
    }

    // ----- agents ------------------------------------------------------------

    /// `POST /api/agents/{id}/state`.
    pub fn set_agent_state(
        &mut self,
        now: Instant,
        agent: &str,
        request: StateRequest,
    ) -> Result<(), AcdError> {
        let r = self.acd.set_state(now, agent, request);
        self.drain_acd(now);
        r
    }

    /// The registrar's view of an agent's phone changed.
    pub fn set_registered(&mut self, now: Instant, agent: &str, registered: bool) {
        if let Err(e) = self.acd.set_registered(now, agent, registered) {
            tracing::debug!(agent, "registration of a non-agent: {e}");
        }
        self.drain_acd(now);
    }

    /// A [`Command::Ring`] could not be carried out (no binding, call gone).
    pub fn ring_error(&mut self, now: Instant, call: CallId, agent: &str) {
        let _ = self
            .acd
            .ring_failed(now, call, agent, AcdRingFailure::Unreachable);
        self.drain_acd(now);
    }

    // ----- the call's events -------------------------------------------------

    /// A call event from the SIP core.
    pub fn on_call_event(&mut self, now: Instant, event: &CallEvent) {
        if self.callback_event(now, event) {
            self.drain_acd(now);
            return;
        }
        match event {
            CallEvent::Arrived {
                call,
                caller_number,
                did,
                ..
            } => self.arrived(now, *call, did, caller_number),
            CallEvent::Answered { call, agent, .. } => self.answered(now, *call, agent),
            CallEvent::RingFailed {
                call,
                agent,
                failure,
            } => {
                let why = match failure {
                    RingFailure::Busy => AcdRingFailure::Busy,
                    RingFailure::NoAnswer => AcdRingFailure::NoAnswer,
                    RingFailure::Rejected(_) => AcdRingFailure::Rejected,
                    RingFailure::Broken => AcdRingFailure::Unreachable,
                };
                if let Err(e) = self.acd.ring_failed(now, *call, agent, why) {
                    tracing::debug!(%call, agent, "ring failure the ACD no longer follows: {e}");
                }
            }
            CallEvent::AgentLeft { call, agent, .. } => self.agent_left(now, *call, agent),
            CallEvent::Transferred { call, .. } => {
                if let Some(f) = self.flows.get_mut(call) {
                    f.generation += 1;
                }
            }
            CallEvent::TransferFailed { call, number, .. } => {
                self.transfer_failed(now, *call, number)
            }
            CallEvent::Info {
                call,
                content_type,
                body,
            } => match hotline_ivr::parse_info(content_type, body) {
                Ok(digit) => self.on_digit(now, *call, digit),
                Err(e) => tracing::debug!(%call, "INFO without a usable key: {e}"),
            },
            CallEvent::Ended {
                call, hangup_by, ..
            } => self.ended(now, *call, *hangup_by),
            CallEvent::Ringing { .. }
            | CallEvent::TransferRequested { .. }
            | CallEvent::Refused { .. }
            | CallEvent::Originating { .. }
            | CallEvent::OriginAnswered { .. } => {}
        }
        self.drain_acd(now);
    }

    /// A key from the caller (RFC 4733, INFO or in-band).
    pub fn on_digit(&mut self, now: Instant, call: CallId, digit: char) {
        let actions = match self.flows.get_mut(&call).map(|f| &mut f.phase) {
            Some(Phase::Menu(s)) => s.on_digit(digit, now),
            Some(Phase::Survey { survey, .. }) => survey.on_digit(digit, now),
            Some(Phase::Callback { offer, .. }) => offer.on_digit(digit, now),
            _ => Vec::new(),
        };
        self.apply(now, call, actions);
        self.drain_acd(now);
    }

    /// The media engine finished playback `id` of `call`.
    pub fn on_playback_done(&mut self, now: Instant, call: CallId, id: u64) {
        let Some(f) = self.flows.get_mut(&call) else {
            return;
        };
        if (id >> 32) as u32 != f.generation {
            return;
        }
        let low = id as u32;
        let actions = match &mut f.phase {
            Phase::Menu(s) => s.on_playback_done(low, now),
            Phase::Survey { survey, .. } => survey.on_playback_done(low, now),
            Phase::Callback { offer, .. } => offer.on_playback_done(low, now),
            Phase::Queued { announcement } if *announcement == Some(id) => {
                *announcement = None;
                self.hold_music(call);
                Vec::new()
            }
            _ => Vec::new(),
        };
        self.apply(now, call, actions);
        self.drain_acd(now);
    }

    fn arrived(&mut self, now: Instant, call: CallId, did: &str, caller_number: &str) {
        let Some(entry) = self.menu.entry(did) else {
            // An internal call, or a number without a menu: not hosted here.
            return;
        };
        let language = self.menu.languages().next().unwrap_or("cmn").to_owned();
        let mut flow = Flow {
            did: did.to_owned(),
            caller_number: caller_number.to_owned(),
            arrived: now,
            language,
            business_line: None,
            path: Vec::new(),
            queue: None,
            phase: Phase::Leaving,
            generation: 0,
            next_play: 0,
        };
        match entry {
            Entry::Node(_) | Entry::Queue(_) => {
                let mut session = IvrSession::new(self.menu.clone());
                let actions = session.start(entry, now, self.announcement.clone());
                flow.phase = Phase::Menu(Box::new(session));
                self.flows.insert(call, flow);
                self.apply(now, call, actions);
            }
        }
    }

    fn answered(&mut self, now: Instant, call: CallId, agent: &str) {
        let Some(f) = self.flows.get_mut(&call) else {
            return;
        };
        f.generation += 1;
        f.phase = Phase::Talking;
        if let Err(e) = self.acd.ring_answered(now, call, agent) {
            // The ACD gave up on this agent as the 200 arrived: release it,
            // the call goes on waiting.
            tracing::info!(%call, agent, "answer the ACD no longer expects ({e}); releasing");
            self.out.push_back(Command::StopRinging {
                call,
                agent: agent.to_owned(),
            });
            if let Some(f) = self.flows.get_mut(&call) {
                f.phase = Phase::Queued { announcement: None };
            }
            self.hold_music(call);
        }
    }

    fn agent_left(&mut self, now: Instant, call: CallId, agent: &str) {
        let _ = self.acd.call_ended(now, call);
        let Some(f) = self.flows.get_mut(&call) else {
            return;
        };
        f.generation += 1;
        if !self.survey {
            f.phase = Phase::Leaving;
            self.out.push_back(Command::HangUp { call });
            return;
        }
        let mut survey = Survey::new(self.menu.clone(), &f.language);
        let actions = survey.start(now);
        f.phase = Phase::Survey {
            survey: Box::new(survey),
            agent: agent.to_owned(),
        };
        self.apply(now, call, actions);
    }

    fn transfer_failed(&mut self, now: Instant, call: CallId, number: &str) {
        let Some(f) = self.flows.get_mut(&call) else {
            return;
        };
        if !matches!(f.phase, Phase::Transferring) {
            return;
        }
        tracing::warn!(%call, number, "emergency transfer failed; the caller goes to an agent");
        f.generation += 1;
        let queue = f.queue.clone().or_else(|| self.fallback_queue.clone());
        match queue {
            Some(q) => self.enqueue(now, call, &q),
            None => self.leave(call),
        }
    }

    fn ended(&mut self, now: Instant, call: CallId, by: HangupBy) {
        let Some(f) = self.flows.remove(&call) else {
            return;
        };
        match f.phase {
            Phase::Queued { .. } => {
                let _ = self.acd.abandon(now, call);
            }
            Phase::Talking => {
                let _ = self.acd.call_ended(now, call);
            }
            Phase::Survey { agent, .. } if by == HangupBy::Caller => {
                // §20: the caller hung up during the survey: no rating.
                tracing::debug!(%call, %agent, "caller left during the survey");
            }
            _ => {}
        }
    }

    // ----- actions of the dialogues -------------------------------------------

    fn apply(&mut self, now: Instant, call: CallId, actions: Vec<Action>) {
        for action in actions {
            let Some(f) = self.flows.get_mut(&call) else {
                return;
            };
            match action {
                Action::Play { id, prompts } => {
                    let id = (u64::from(f.generation) << 32) | u64::from(id);
                    self.out.push_back(Command::Play {
                        call,
                        id,
                        prompts,
                        looped: false,
                    });
                }
                Action::StopPlayback => self.out.push_back(Command::StopPlayback { call }),
                Action::SetAttr(Attr::Language(l)) => {
                    f.path.push(format!("language:{l}"));
                    f.language = l;
                }
                Action::SetAttr(Attr::BusinessLine(b)) => f.business_line = Some(b),
                Action::Enqueue { queue } => {
                    self.record_path(call);
                    self.enqueue(now, call, &queue);
                }
                Action::TransferEmergency { number } => {
                    self.record_path(call);
                    if let Some(f) = self.flows.get_mut(&call) {
                        f.generation += 1;
                        f.phase = Phase::Transferring;
                    }
                    self.out.push_back(Command::Transfer { call, number });
                }
                Action::OfferCallback => {
                    self.record_path(call);
                    self.offer_callback(now, call, "menu");
                }
                Action::CallbackRequested(req) => {
                    let reason = match &f.phase {
                        Phase::Callback { reason, .. } => *reason,
                        _ => "menu",
                    };
                    self.out.push_back(Command::SaveCallback(CallbackRecord {
                        call: call.to_string(),
                        caller_number: f.caller_number.clone(),
                        number: req.number,
                        queue: f.queue.clone(),
                        reason,
                        language: f.language.clone(),
                    }));
                }
                Action::SurveyResult(outcome) => {
                    let agent = match &f.phase {
                        Phase::Survey { agent, .. } => agent.clone(),
                        _ => String::new(),
                    };
                    self.out.push_back(Command::SaveSurvey(SurveyRecord {
                        call: call.to_string(),
                        agent,
                        queue: f.queue.clone(),
                        rating: match outcome {
                            hotline_ivr::SurveyOutcome::Rated(n) => Some(n),
                            hotline_ivr::SurveyOutcome::NoRating => None,
                        },
                    }));
                }
                Action::Hangup => self.leave(call),
            }
        }
    }

    /// Keeps the menu's path for the screen pop when the menu is left.
    fn record_path(&mut self, call: CallId) {
        if let Some(f) = self.flows.get_mut(&call) {
            if let Phase::Menu(s) = &f.phase {
                let steps: Vec<String> = s.path().iter().map(|p| p.to_string()).collect();
                let mut path = steps;
                // Attributes were recorded as they were set; keep both.
                path.append(&mut f.path);
                f.path = path;
            }
        }
    }

    fn leave(&mut self, call: CallId) {
        if let Some(f) = self.flows.get_mut(&call) {
            f.phase = Phase::Leaving;
        }
        self.out.push_back(Command::HangUp { call });
    }

    fn enqueue(&mut self, now: Instant, call: CallId, queue: &str) {
        let Some(f) = self.flows.get_mut(&call) else {
            return;
        };
        f.generation += 1;
        f.queue = Some(queue.to_owned());
        f.phase = Phase::Queued { announcement: None };
        let attributes = CallAttributes {
            language: Some(f.language.clone()),
            business_line: f.business_line.clone(),
        };
        self.hold_music(call);
        if let Err(e) = self.acd.enqueue(now, call, queue, &attributes) {
            tracing::error!(%call, queue, "cannot queue the call: {e}");
            self.offer_callback(now, call, "no_agents");
        }
    }

    fn hold_music(&mut self, call: CallId) {
        let Some(f) = self.flows.get_mut(&call) else {
            return;
        };
        let id = f.play_id();
        let prompts = self.menu.hold_music(&f.language);
        self.out.push_back(Command::Play {
            call,
            id,
            prompts,
            looped: true,
        });
    }

    fn offer_callback(&mut self, now: Instant, call: CallId, reason: &'static str) {
        let Some(f) = self.flows.get_mut(&call) else {
            return;
        };
        f.generation += 1;
        let mut offer = CallbackOffer::new(self.menu.clone(), &f.language, Some(&f.caller_number));
        let actions = offer.start(now);
        f.phase = Phase::Callback {
            offer: Box::new(offer),
            reason,
        };
        self.apply(now, call, actions);
    }

    // ----- the ACD's outputs ----------------------------------------------------

    fn drain_acd(&mut self, now: Instant) {
        while let Some(o) = self.acd.poll_output() {
            match &o {
                AcdOutput::Ring { call, agents, .. } => {
                    for agent in agents {
                        self.out.push_back(Command::Ring {
                            call: *call,
                            agent: agent.clone(),
                        });
                    }
                }
                AcdOutput::CancelRing { call, agent } => self.out.push_back(Command::StopRinging {
                    call: *call,
                    agent: agent.clone(),
                }),
                AcdOutput::Announce {
                    call,
                    position,
                    estimated_wait_s,
                } => self.announce(*call, *position, *estimated_wait_s),
                AcdOutput::Overflowed { call, to, .. } => {
                    if let Some(f) = self.flows.get_mut(call) {
                        f.queue = Some(to.clone());
                    }
                }
                AcdOutput::OfferCallback { call, reason, .. } => {
                    let reason = match reason {
                        CallbackReason::MaxWait => "max_wait",
                        CallbackReason::NoAgents => "no_agents",
                        CallbackReason::Closed => "closed",
                    };
                    self.offer_callback(now, *call, reason);
                }
                AcdOutput::CallbackReserved { agent, queue } => {
                    self.callback_reserved(now, agent, queue);
                }
                _ => {}
            }
            self.out.push_back(Command::Publish(o));
        }
    }

    fn announce(&mut self, call: CallId, position: u32, wait_s: u64) {
        let Some(f) = self.flows.get_mut(&call) else {
            return;
        };
        if !matches!(f.phase, Phase::Queued { .. }) {
            return;
        }
        let mut prompts = self
            .menu
            .position_announcement(&f.language, position.saturating_sub(1));
        prompts.extend(
            self.menu
                .wait_announcement(&f.language, Duration::from_secs(wait_s)),
        );
        let id = f.play_id();
        f.phase = Phase::Queued {
            announcement: Some(id),
        };
        self.out.push_back(Command::Play {
            call,
            id,
            prompts,
            looped: false,
        });
    }
}
