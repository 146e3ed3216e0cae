//! Outbound calls at the SIP core: the [`Dialer`] of the survey scheduler
//! and the callback tasks, carried out on the endpoint's trunk
//! ([`hotline_sip::endpoint::Endpoint::originate`]).
//!
//! A survey call is placed through the trunk; once the citizen answers, the
//! core plays the opening ("这里是一二三四五热线，就您的诉求 <number> 进行回访",
//! the request number read digit by digit) and runs the [`Survey`] dialogue
//! (question, key 1–5, retry, thanks), then hangs up. The survey is not
//! recorded: nobody but the machine talks on it, and the rating is the
//! result. The outcome is resolved when the call has ended
//! ([`survey_outcome`], a pure function of what happened).
//!
//! A callback rings the agent's registered phone first (showing the
//! citizen's number); when it answers, the citizen is dialled through the
//! trunk and bridged, and the call is recorded like any answered call (the
//! recording's left channel is the agent's phone here, the first leg). The
//! outcome is resolved as soon as it is known: bridged, agent unavailable,
//! citizen busy or not answering; the bridged call then goes on normally.
//!
//! Only this module can make the server dial out, and
//! only for these purposes; every attempt is logged with its job or task and
//! gets a call record with direction `outbound` and its purpose.

use std::sync::Arc;
use std::time::Instant;

use hotline_ivr::{Action, Menu, Survey, SurveyOutcome};
use hotline_sip::call::{CallEvent, CallId, EndReason, RingFailure};
use hotline_sip::outbound::OriginateError;
use tokio::sync::oneshot;

use super::{Core, CoreInput, SipHandle};
use crate::dialing::{CallbackCall, CallbackOutcome, Dialer, SurveyCall, SurveyCallOutcome};

/// A request to place an outbound call, from the [`Dialer`].
#[derive(Debug)]
pub(crate) enum OutboundRequest {
    Survey(SurveyCall, oneshot::Sender<SurveyCallOutcome>),
    Callback(CallbackCall, oneshot::Sender<CallbackOutcome>),
}

/// An outbound survey call the core is running.
#[derive(Debug)]
pub(super) struct SurveyRun {
    job_id: String,
    order_number: String,
    language: String,
    /// Set once the citizen answered.
    survey: Option<Survey>,
    rating: Option<SurveyOutcome>,
    reply: Option<oneshot::Sender<SurveyCallOutcome>>,
}

/// How a survey call ended, from what the core saw: whether it was answered,
/// the survey's result, and the endpoint's end reason.
pub(crate) fn survey_outcome(
    call: CallId,
    answered: bool,
    rating: Option<SurveyOutcome>,
    reason: EndReason,
) -> SurveyCallOutcome {
    let call_id = call.to_string();
    if answered {
        return match rating {
            Some(SurveyOutcome::Rated(rating)) => SurveyCallOutcome::Rated { call_id, rating },
            _ => SurveyCallOutcome::NoRating { call_id },
        };
    }
    match reason {
        EndReason::Busy => SurveyCallOutcome::Busy,
        EndReason::NoAnswer => SurveyCallOutcome::NoAnswer,
        EndReason::Rejected(status) => {
            SurveyCallOutcome::Failed(format!("trunk answered {status}"))
        }
        other => SurveyCallOutcome::Failed(format!("call ended: {}", other.as_str())),
    }
}

/// The outcome of a call that could not be placed at all.
pub(crate) fn not_placed(e: &OriginateError) -> SurveyCallOutcome {
    match e {
        OriginateError::BadNumber(_) | OriginateError::Build(_) => {
            SurveyCallOutcome::Failed(e.to_string())
        }
        _ => SurveyCallOutcome::NotPlaced(e.to_string()),
    }
}

impl Dialer for SipHandle {
    async fn survey_call(&self, call: SurveyCall) -> SurveyCallOutcome {
        let (tx, rx) = oneshot::channel();
        let input = CoreInput::Outbound(OutboundRequest::Survey(call, tx));
        if self.core.send(input).await.is_err() {
            return SurveyCallOutcome::NotPlaced("the SIP core has stopped".into());
        }
        rx.await.unwrap_or_else(|_| {
            SurveyCallOutcome::Failed("the SIP core stopped during the call".into())
        })
    }

    async fn callback_call(&self, call: CallbackCall) -> CallbackOutcome {
        let (tx, rx) = oneshot::channel();
        let input = CoreInput::Outbound(OutboundRequest::Callback(call, tx));
        if self.core.send(input).await.is_err() {
            return CallbackOutcome::Failed("the SIP core has stopped".into());
        }
        rx.await.unwrap_or_else(|_| {
            CallbackOutcome::Failed("the SIP core stopped during the call".into())
        })
    }
}

impl Core {
    /// A request of the [`Dialer`].
    pub(super) fn outbound_request(&mut self, request: OutboundRequest) {
        match request {
            OutboundRequest::Survey(call, reply) => self.place_survey(call, reply),
            OutboundRequest::Callback(call, reply) => self.place_callback(call, reply),
        }
    }

    fn menu(&self) -> Option<Arc<Menu>> {
        self.centre.as_ref().map(|c| c.menu().clone())
    }

    fn place_survey(&mut self, call: SurveyCall, reply: oneshot::Sender<SurveyCallOutcome>) {
        if self.menu().is_none() {
            let _ = reply.send(SurveyCallOutcome::NotPlaced(
                "no voice menu: surveys need [hotline] routing = \"ivr\"".into(),
            ));
            return;
        }
        match self.endpoint.originate(Instant::now(), &call.number) {
            Ok(id) => {
                tracing::info!(call = %id, job = %call.job_id, purpose = "survey", "survey call placed");
                self.book.expect_outbound(id, "survey");
                self.surveys.insert(
                    id,
                    SurveyRun {
                        job_id: call.job_id,
                        order_number: call.order_number,
                        language: call.language,
                        survey: None,
                        rating: None,
                        reply: Some(reply),
                    },
                );
            }
            Err(e) => {
                tracing::info!(job = %call.job_id, purpose = "survey", "survey call not placed: {e}");
                let _ = reply.send(not_placed(&e));
            }
        }
    }

    /// Call events of outbound calls.
    pub(super) fn outbound_event(&mut self, ev: &CallEvent) {
        match ev {
            CallEvent::OriginAnswered { call, .. } => {
                let menu = self.menu();
                let Some((run, menu)) = self.surveys.get_mut(call).zip(menu) else {
                    return;
                };
                let intro = menu.survey_intro(&run.language, &run.order_number);
                let mut survey = Survey::with_intro(menu, &run.language, intro);
                let actions = survey.start(Instant::now());
                run.survey = Some(survey);
                self.survey_actions(*call, actions);
            }
            CallEvent::Ended { call, reason, .. } => {
                if let Some(run) = self.surveys.remove(call) {
                    let outcome = survey_outcome(*call, run.survey.is_some(), run.rating, *reason);
                    tracing::info!(call = %call, job = %run.job_id, ?outcome, "survey call ended");
                    if let Some(reply) = run.reply {
                        let _ = reply.send(outcome);
                    }
                }
                self.callback_ended(*call, *reason);
            }
            _ => self.callback_event(ev),
        }
    }

    /// A key on an outbound survey call; false if `call` is none.
    pub(super) fn outbound_digit(&mut self, call: CallId, digit: char) -> bool {
        let Some(survey) = self.surveys.get_mut(&call).and_then(|r| r.survey.as_mut()) else {
            return self.surveys.contains_key(&call);
        };
        let actions = survey.on_digit(digit, Instant::now());
        self.survey_actions(call, actions);
        true
    }

    /// A playback finished on an outbound survey call; false if `call` is none.
    pub(super) fn outbound_playback_done(&mut self, call: CallId, id: u64) -> bool {
        let Some(survey) = self.surveys.get_mut(&call).and_then(|r| r.survey.as_mut()) else {
            return self.surveys.contains_key(&call);
        };
        let Ok(id) = u32::try_from(id) else {
            return true;
        };
        let actions = survey.on_playback_done(id, Instant::now());
        self.survey_actions(call, actions);
        true
    }

    /// When a survey's timer is due next.
    pub(super) fn outbound_wake(&self) -> Option<Instant> {
        self.surveys
            .values()
            .filter_map(|r| r.survey.as_ref().and_then(Survey::next_wake))
            .min()
    }

    /// Runs the surveys' due timers.
    pub(super) fn outbound_timeout(&mut self) {
        let now = Instant::now();
        let due: Vec<CallId> = self
            .surveys
            .iter()
            .filter(|(_, r)| {
                r.survey
                    .as_ref()
                    .and_then(Survey::next_wake)
                    .is_some_and(|t| t <= now)
            })
            .map(|(id, _)| *id)
            .collect();
        for call in due {
            if let Some(survey) = self.surveys.get_mut(&call).and_then(|r| r.survey.as_mut()) {
                let actions = survey.poll(now);
                self.survey_actions(call, actions);
            }
        }
    }

    fn survey_actions(&mut self, call: CallId, actions: Vec<Action>) {
        for action in actions {
            match action {
                Action::Play { id, prompts } => {
                    if let Err(e) = self.media.play(&call, u64::from(id), prompts, false) {
                        tracing::debug!(%call, "nothing to play to: {e}");
                    }
                }
                Action::StopPlayback => {
                    let _ = self.media.stop_playback(&call);
                }
                Action::SurveyResult(outcome) => {
                    tracing::info!(%call, ?outcome, "handling-stage survey result");
                    if let Some(run) = self.surveys.get_mut(&call) {
                        run.rating = Some(outcome);
                    }
                }
                Action::Hangup => {
                    self.endpoint.hang_up(Instant::now(), call);
                }
                other => tracing::debug!(%call, ?other, "survey action ignored"),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outcomes_follow_what_happened_on_the_call() {
        let c = CallId(0xab);
        let id = c.to_string();
        assert_eq!(
            survey_outcome(c, true, Some(SurveyOutcome::Rated(4)), EndReason::Normal),
            SurveyCallOutcome::Rated {
                call_id: id.clone(),
                rating: 4
            }
        );
        // Hung up before rating, or no valid key.
        for rating in [None, Some(SurveyOutcome::NoRating)] {
            assert_eq!(
                survey_outcome(c, true, rating, EndReason::Normal),
                SurveyCallOutcome::NoRating {
                    call_id: id.clone()
                }
            );
        }
        assert_eq!(
            survey_outcome(c, false, None, EndReason::Busy),
            SurveyCallOutcome::Busy
        );
        assert_eq!(
            survey_outcome(c, false, None, EndReason::NoAnswer),
            SurveyCallOutcome::NoAnswer
        );
        assert_eq!(
            survey_outcome(c, false, None, EndReason::Rejected(503)),
            SurveyCallOutcome::Failed("trunk answered 503".into())
        );
        assert!(matches!(
            survey_outcome(c, false, None, EndReason::Error),
            SurveyCallOutcome::Failed(_)
        ));
    }

    #[test]
    fn limits_and_missing_configuration_are_not_placed_but_bad_numbers_fail() {
        for e in [
            OriginateError::NotConfigured,
            OriginateError::Concurrency(2),
            OriginateError::Rate(5),
            OriginateError::NoPorts,
        ] {
            assert!(
                matches!(not_placed(&e), SurveyCallOutcome::NotPlaced(_)),
                "{e}"
            );
        }
        assert!(matches!(
            not_placed(&OriginateError::BadNumber("x".into())),
            SurveyCallOutcome::Failed(_)
        ));
    }
}

/// A callback the core is placing, until its outcome is known.
#[derive(Debug)]
pub(super) struct CallbackRun {
    task_id: String,
    reply: Option<oneshot::Sender<CallbackOutcome>>,
}

/// The outcome of a callback that could not be placed.
pub(crate) fn callback_not_placed(e: &OriginateError) -> CallbackOutcome {
    match e {
        OriginateError::AgentNotRegistered(_) | OriginateError::AgentBusy(_) => {
            CallbackOutcome::AgentUnavailable(e.to_string())
        }
        _ => CallbackOutcome::Failed(format!("not placed: {e}")),
    }
}

/// The outcome of a callback whose citizen leg failed.
pub(crate) fn citizen_failed(failure: RingFailure) -> CallbackOutcome {
    match failure {
        RingFailure::Busy => CallbackOutcome::CitizenBusy,
        RingFailure::NoAnswer => CallbackOutcome::CitizenNoAnswer,
        RingFailure::Rejected(status) => {
            CallbackOutcome::Failed(format!("trunk answered {status}"))
        }
        RingFailure::Broken => CallbackOutcome::Failed("unusable answer from the trunk".into()),
    }
}

impl Core {
    fn place_callback(&mut self, call: CallbackCall, reply: oneshot::Sender<CallbackOutcome>) {
        match self
            .endpoint
            .originate_callback(Instant::now(), &call.agent, &call.number)
        {
            Ok(id) => {
                tracing::info!(call = %id, task = %call.task_id, agent = %call.agent, purpose = "callback", "callback placed");
                self.book.expect_outbound(id, "callback");
                self.callbacks.insert(
                    id,
                    CallbackRun {
                        task_id: call.task_id,
                        reply: Some(reply),
                    },
                );
            }
            Err(e) => {
                tracing::info!(task = %call.task_id, purpose = "callback", "callback not placed: {e}");
                let _ = reply.send(callback_not_placed(&e));
            }
        }
    }

    fn resolve_callback(&mut self, call: CallId, outcome: CallbackOutcome) {
        if let Some(reply) = self.callbacks.get_mut(&call).and_then(|r| r.reply.take()) {
            let task = self
                .callbacks
                .get(&call)
                .map(|r| r.task_id.clone())
                .unwrap_or_default();
            tracing::info!(%call, %task, ?outcome, "callback outcome");
            let _ = reply.send(outcome);
        }
    }

    fn callback_ended(&mut self, call: CallId, reason: EndReason) {
        if self.callbacks.contains_key(&call) {
            // Ended before anything else was reported: the agent's phone
            // never answered (or was refused).
            let outcome = match reason {
                EndReason::Busy
                | EndReason::NoAnswer
                | EndReason::Rejected(_)
                | EndReason::Cancelled => CallbackOutcome::AgentUnavailable(format!(
                    "the agent's phone: {}",
                    reason.as_str()
                )),
                other => CallbackOutcome::Failed(format!("call ended: {}", other.as_str())),
            };
            self.resolve_callback(call, outcome);
            self.callbacks.remove(&call);
        }
    }

    fn callback_event(&mut self, ev: &CallEvent) {
        match ev {
            CallEvent::Answered { call, .. } if self.callbacks.contains_key(call) => {
                self.resolve_callback(
                    *call,
                    CallbackOutcome::Bridged {
                        call_id: call.to_string(),
                    },
                );
            }
            CallEvent::RingFailed { call, failure, .. } if self.callbacks.contains_key(call) => {
                self.resolve_callback(*call, citizen_failed(*failure));
            }
            _ => {}
        }
    }
}

/// The trunk of `[trunk.outbound]` with its host resolved (once, at start-up);
/// `None` when outbound calls are not configured or the host cannot be
/// resolved (logged: every attempt is then "not placed").
pub(super) async fn resolve_trunk(
    config: &hotline_config::OutboundTrunk,
) -> Option<hotline_sip::outbound::OutboundTrunk> {
    let template = config.uri.clone()?;
    let Some((host, port, transport)) = super::emergency::host_port(&template) else {
        tracing::error!(%template, "[trunk.outbound] uri is not a sip: URI with a host; no outbound calls");
        return None;
    };
    let addr = match tokio::net::lookup_host((host.as_str(), port)).await {
        Ok(mut addrs) => addrs.next()?,
        Err(e) => {
            tracing::error!(%host, "[trunk.outbound] host cannot be resolved ({e}); no outbound calls");
            return None;
        }
    };
    tracing::info!(%addr, max_concurrent = config.max_concurrent, calls_per_second = config.calls_per_second, "outbound trunk");
    Some(hotline_sip::outbound::OutboundTrunk {
        uri_template: template,
        remote: hotline_sip::net::Remote { transport, addr },
        caller_id: config.caller_id.clone(),
        credentials: config
            .credentials()
            .map(|(u, p)| (u.to_owned(), p.to_owned())),
        max_concurrent: config.max_concurrent,
        calls_per_second: config.calls_per_second,
        ring_timeout: std::time::Duration::from_secs(config.ring_timeout_s),
    })
}
