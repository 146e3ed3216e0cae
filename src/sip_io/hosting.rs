//! The SIP core's side of the contact centre (`[hotline] routing = "ivr"`):
//! feeding it call, media and registration events, carrying out its
//! [`Command`]s on the endpoint, the media engine and the database, and
//! answering the HTTP API's questions about agents, queues and calls.

use std::sync::Arc;
use std::time::{Instant, SystemTime};

use hotline_ivr::PromptRef;
use hotline_sip::acd::{AcdError, AcdOutput, AgentSnapshot, QueueSnapshot, StateRequest};
use hotline_sip::call::{CallEvent, CallId};
use serde::Serialize;
use tokio::sync::oneshot;

use super::calls::epoch_ms;
use super::Core;
use crate::contact::records::{CallbackRow, SurveyRow};
use crate::contact::{CallInfo, Command, ContactCentre};

/// What the HTTP API asks the contact centre.
#[derive(Debug)]
pub(crate) enum HostingQuery {
    SetState {
        agent: String,
        request: StateRequest,
        reply: oneshot::Sender<Result<(), HostingError>>,
    },
    Queues(oneshot::Sender<Vec<QueueSnapshot>>),
    Agents(oneshot::Sender<Vec<AgentSnapshot>>),
    CallInfo {
        call: String,
        reply: oneshot::Sender<Option<CallInfo>>,
    },
    CurrentAnnouncement(oneshot::Sender<Option<String>>),
    Announcement {
        /// `Some(name)`: play the prompt `name` first on every call; `None`: clear.
        prompt: Option<String>,
        reply: oneshot::Sender<Result<Option<String>, HostingError>>,
    },
}

/// Why the contact centre refused a request.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HostingError {
    #[error(
        "the hotline runs with [hotline] routing = \"direct\": no menus, queues or agent states"
    )]
    Disabled,
    #[error("{0}")]
    Acd(String),
    #[error("no prompt named {0:?} in the prompt set")]
    UnknownPrompt(String),
}

/// The incident announcement currently set, for the API.
#[derive(Debug, Clone, Serialize)]
pub struct AnnouncementView {
    pub prompt: Option<String>,
}

impl Core {
    /// Runs the contact centre's commands until there are none.
    pub(super) fn run_commands(&mut self) {
        let now = Instant::now();
        loop {
            let Some(cmd) = self.centre.as_mut().and_then(ContactCentre::poll_command) else {
                return;
            };
            match cmd {
                Command::Ring { call, agent } => {
                    if let Err(e) = self.endpoint.ring_agent(now, call, &agent) {
                        tracing::info!(%call, %agent, "cannot ring agent: {e}");
                        if let Some(c) = self.centre.as_mut() {
                            c.ring_error(now, call, &agent);
                        }
                    }
                }
                Command::StopRinging { call, agent } => {
                    self.endpoint.stop_ringing(now, call, &agent);
                }
                Command::Play {
                    call,
                    id,
                    prompts,
                    looped,
                } => {
                    if let Err(e) = self.media.play(&call, id, prompts, looped) {
                        tracing::debug!(%call, "nothing to play to: {e}");
                    }
                }
                Command::StopPlayback { call } => {
                    let _ = self.media.stop_playback(&call);
                }
                Command::HangUp { call } => {
                    self.endpoint.hang_up(now, call);
                }
                Command::Transfer { call, number } => {
                    if let Err(e) = self.start_transfer(call, &number, "ivr", "ivr") {
                        tracing::error!(%call, %number, "emergency transfer from the menu failed: {e}");
                        // The centre puts the caller in a queue on failure.
                        if let Some(c) = self.centre.as_mut() {
                            c.on_call_event(
                                now,
                                &CallEvent::TransferFailed {
                                    call,
                                    number,
                                    status: 503,
                                },
                            );
                        }
                    }
                }
                Command::SaveSurvey(s) => {
                    let row = SurveyRow {
                        id: format!("{}-reception", s.call),
                        call_id: Some(s.call.clone()),
                        stage: "reception".into(),
                        agent_id: Some(s.agent).filter(|a| !a.is_empty()),
                        queue: s.queue,
                        order_id: None,
                        rating: s.rating.map(i64::from),
                        at_ms: epoch_ms(SystemTime::now()),
                    };
                    tracing::info!(call = %s.call, rating = ?row.rating, "survey result");
                    self.emit(serde_json::json!({
                        "type": "survey_result",
                        "call": s.call,
                        "agent": row.agent_id,
                        "queue": row.queue,
                        "rating": row.rating,
                    }));
                    if let Some(r) = self.records.clone() {
                        tokio::spawn(async move {
                            if let Err(e) = r.insert_survey(&row).await {
                                tracing::error!(id = %row.id, "cannot store the survey: {e}");
                            }
                        });
                    }
                }
                Command::SaveCallback(c) => {
                    let at = epoch_ms(SystemTime::now());
                    let row = CallbackRow {
                        id: format!("{}-{at}", c.call),
                        call_id: c.call,
                        caller_number: c.caller_number,
                        number: c.number,
                        queue: c.queue,
                        reason: c.reason.to_owned(),
                        language: c.language,
                        requested_at_ms: at,
                        status: "open".into(),
                    };
                    tracing::info!(call = %row.call_id, reason = %row.reason, "callback requested");
                    self.save_callback_request(row);
                }
                Command::PlaceCallback {
                    request,
                    agent,
                    number,
                } => self.place_queued_callback(&request, &agent, &number),
                Command::UpdateCallback(u) => self.store_callback_outcome(u),
                Command::Publish(o) => self.publish(&o),
            }
        }
    }

    /// Puts an event on the live bus (nobody listening is fine).
    fn emit(&self, event: serde_json::Value) {
        let _ = self.bus.send(super::handle::stamp(event));
    }

    /// ACD outputs: the live bus, metrics and logs.
    fn publish(&mut self, o: &AcdOutput) {
        if let Ok(v) = serde_json::to_value(o) {
            self.emit(v);
        }
        match o {
            AcdOutput::AgentStateChanged {
                agent,
                state,
                cause,
            } => {
                tracing::info!(%agent, ?state, ?cause, "agent state");
            }
            AcdOutput::QueueChanged {
                queue,
                waiting,
                longest_wait_s,
            } => {
                self.metrics.set_gauge(
                    "hotline_queue_waiting",
                    format!("queue=\"{queue}\""),
                    i64::from(*waiting),
                );
                tracing::debug!(%queue, waiting, longest_wait_s, "queue");
            }
            AcdOutput::Overflowed { call, from, to } => {
                tracing::info!(%call, %from, %to, "overflow");
            }
            AcdOutput::OfferCallback {
                call,
                queue,
                reason,
            } => {
                tracing::info!(%call, %queue, ?reason, "callback offered");
            }
            AcdOutput::DayClosed(report) => {
                tracing::info!(date = %report.date, "ACD day closed");
                let json = serde_json::to_string(report).unwrap_or_default();
                let day = report.date.clone();
                if let Some(r) = self.records.clone() {
                    tokio::spawn(async move {
                        let at = epoch_ms(SystemTime::now());
                        if let Err(e) = r.insert_day(&day, &json, at).await {
                            tracing::error!(%day, "cannot store the day's statistics: {e}");
                        }
                    });
                }
            }
            _ => {}
        }
    }

    /// A call event for the contact centre (and the live bus).
    pub(super) fn hosting_event(&mut self, ev: &CallEvent) {
        if let Some(mut v) = call_event_json(ev) {
            // The agent a call ended with (answered it, or was rung last), so
            // a page that missed the ringing still learns the call is over.
            if let CallEvent::Ended { call, .. } = ev {
                if let Some(agent) = self.book.agent_of(*call) {
                    v["agent"] = agent.into();
                }
            }
            self.emit(v);
        }
        if let Some(c) = self.centre.as_mut() {
            c.on_call_event(Instant::now(), ev);
            self.run_commands();
        }
    }

    /// A key from a caller's media.
    pub(super) fn hosting_digit(&mut self, call: CallId, digit: char) {
        if let Some(c) = self.centre.as_mut() {
            c.on_digit(Instant::now(), call, digit);
            self.run_commands();
        }
    }

    /// The media engine finished a playback.
    pub(super) fn hosting_playback_done(&mut self, call: CallId, id: u64) {
        if let Some(c) = self.centre.as_mut() {
            c.on_playback_done(Instant::now(), call, id);
            self.run_commands();
        }
    }

    /// The registrar's bindings of `user` changed.
    pub(super) fn hosting_registration(&mut self, user: &str) {
        let now = Instant::now();
        let registered = !self.endpoint.registrar().contacts_of(now, user).is_empty();
        if let Some(c) = self.centre.as_mut() {
            c.set_registered(now, user, registered);
            self.run_commands();
        }
    }

    /// Timers of the contact centre, and the local time for its shifts.
    pub(super) fn hosting_timeout(&mut self) {
        if let Some(c) = self.centre.as_mut() {
            let now = Instant::now();
            c.set_local_time(now, local_time());
            c.handle_timeout(now);
            self.run_commands();
        }
    }

    pub(super) fn hosting_query(&mut self, q: HostingQuery) {
        let now = Instant::now();
        match q {
            HostingQuery::SetState {
                agent,
                request,
                reply,
            } => {
                let r = match self.centre.as_mut() {
                    None => Err(HostingError::Disabled),
                    Some(c) => c
                        .set_agent_state(now, &agent, request)
                        .map_err(|e: AcdError| HostingError::Acd(e.to_string())),
                };
                self.run_commands();
                let _ = reply.send(r);
            }
            HostingQuery::Queues(reply) => {
                let v = self
                    .centre
                    .as_ref()
                    .map(|c| c.acd().queues_snapshot(now))
                    .unwrap_or_default();
                let _ = reply.send(v);
            }
            HostingQuery::Agents(reply) => {
                let v = self
                    .centre
                    .as_ref()
                    .map(|c| c.acd().agents_snapshot(now))
                    .unwrap_or_default();
                let _ = reply.send(v);
            }
            HostingQuery::CallInfo { call, reply } => {
                let info = u64::from_str_radix(&call, 16).ok().and_then(|id| {
                    self.centre
                        .as_ref()
                        .and_then(|c| c.call_info(now, CallId(id)))
                });
                let _ = reply.send(info);
            }
            HostingQuery::CurrentAnnouncement(reply) => {
                let _ = reply.send(self.announcement_name());
            }
            HostingQuery::Announcement { prompt, reply } => {
                let r = match self.centre.as_mut() {
                    None => Err(HostingError::Disabled),
                    Some(c) => match prompt {
                        None => {
                            c.set_announcement(None);
                            Ok(None)
                        }
                        Some(name) => {
                            let language = c.menu().languages().next().unwrap_or("cmn").to_owned();
                            match c.menu().prompt(&language, &name) {
                                Some(p) => {
                                    tracing::warn!(prompt = %name, "incident announcement set");
                                    c.set_announcement(Some(p));
                                    Ok(Some(name))
                                }
                                None => Err(HostingError::UnknownPrompt(name)),
                            }
                        }
                    },
                };
                let _ = reply.send(r);
            }
        }
    }

    /// The announcement's name, if one is set.
    fn announcement_name(&self) -> Option<String> {
        self.centre
            .as_ref()
            .and_then(|c| c.announcement().map(|p: &PromptRef| p.name().to_owned()))
    }
}

/// Local wall-clock time for shifts and day boundaries: China Standard Time
/// (UTC+8, no daylight saving), where the hotline's rules apply.
fn local_time() -> time::PrimitiveDateTime {
    let utc = time::OffsetDateTime::now_utc();
    let local = utc.to_offset(time::macros::offset!(+8));
    time::PrimitiveDateTime::new(local.date(), local.time())
}

/// Builds the contact centre for `config` (menus and prompts loaded, ACD set
/// up); `None` with routing `direct`.
pub(super) fn build(config: &hotline_config::Config) -> anyhow::Result<Option<ContactCentre>> {
    if config.hotline.routing != hotline_config::Routing::Ivr {
        return Ok(None);
    }
    let menu = hotline_ivr::Menu::load(config).map_err(|e| {
        anyhow::anyhow!(
            "cannot load the voice menu ([ivr], prompts in {}): {e}",
            config.ivr.prompts_dir.display()
        )
    })?;
    let acd = hotline_sip::acd::Acd::new(crate::contact::acd_settings(config), Instant::now())
        .map_err(|e| anyhow::anyhow!("cannot set up the queues: {e}"))?;
    // The first queue is the general one callers fall back to.
    let fallback = config.queues.first().map(|q| q.name.clone());
    let mut centre = ContactCentre::new(Arc::new(menu), acd, config.survey.enabled, fallback);
    centre.set_local_time(Instant::now(), local_time());
    Ok(Some(centre))
}

/// The live-bus form of a call event (`None` for those not published).
fn call_event_json(ev: &CallEvent) -> Option<serde_json::Value> {
    use serde_json::json;
    Some(match ev {
        CallEvent::Arrived {
            call,
            caller_number,
            did,
            ..
        } => {
            json!({"type": "call_offered", "call": call.to_string(), "caller_number": caller_number, "did": did})
        }
        CallEvent::Ringing { call, agent } => {
            json!({"type": "call_ringing", "call": call.to_string(), "agent": agent})
        }
        CallEvent::Answered { call, agent, .. } => {
            json!({"type": "call_answered", "call": call.to_string(), "agent": agent})
        }
        CallEvent::AgentLeft { call, agent, .. } => {
            json!({"type": "agent_left_call", "call": call.to_string(), "agent": agent})
        }
        CallEvent::Transferred { call, number, .. } => {
            json!({"type": "call_transferred", "call": call.to_string(), "number": number})
        }
        CallEvent::Ended {
            call,
            hangup_by,
            reason,
            ..
        } => json!({
            "type": "call_ended",
            "call": call.to_string(),
            "hangup_by": hangup_by.as_str(),
            "reason": reason.as_str(),
        }),
        _ => return None,
    })
}
