//! Hosted calls: the server answers the caller itself and keeps it while the
//! owner (the IVR and the ACD in the binary) decides what happens next.
//!
//! A hotline call admitted with hosting on is answered at once (`200` with our
//! SDP) and its media is put in *serve* mode ([`MediaCommand::Serve`]): the
//! server plays prompts and music to the caller and listens for its keys. From
//! there the owner:
//!
//! - rings agents ([`Call::ring_agent`]), one or several at once (`ring_all`:
//!   the first `200` wins, the other phones get a CANCEL), and stops ringing
//!   one ([`Call::stop_ringing`], the ACD's ring timeout). A phone that refuses
//!   or never answers is reported as [`CallEvent::RingFailed`]; the caller stays
//!   with the server, so the ACD can try someone else. There is no ring timer
//!   here: the ACD owns it.
//! - hears when the agent hangs up first ([`CallEvent::AgentLeft`]): the caller
//!   is kept in serve mode for the satisfaction survey, and the owner hangs up
//!   when it is done (the CDR says the agent hung up).
//! - transfers the caller to an emergency line ([`Call::transfer`]): the agent
//!   leg (if any) is released and the gateway is called on the same media port;
//!   its answer bridges the caller to it ([`CallEvent::Transferred`]), a failure
//!   gives the caller back to the server ([`CallEvent::TransferFailed`]).
//!
//! An agent's phone may ask for the transfer itself with REFER (RFC 3515):
//! only to a number on the configured emergency list (compared exactly after
//! removing visual separators, so `13811012345` is never taken for `110`);
//! anything else gets `403`, so a REFER can never make the server dial out
//! (toll fraud). An accepted REFER gets `202` and a NOTIFY `100 Trying`; when
//! the owner performs the transfer the phone gets a final NOTIFY `200 OK`
//! (the server, not the phone, now holds the caller) and a BYE.
//!
//! SIP INFO with DTMF (`application/dtmf-relay`, `application/dtmf`) on the
//! caller leg is answered `200` and passed to the owner as [`CallEvent::Info`].

use std::time::Duration;

use bytes::Bytes;

use super::{AgentLeg, AgentPhase, Call, CallerPhase, Ctx, Failure, Far, LegRef, Purpose};
use crate::call::table::AgentTarget;
use crate::call::{
    CallControlError, CallEvent, CallState, EndReason, HangupBy, MediaCommand, RingFailure,
};
use crate::dialog::RequestCheck;
use crate::message::{HeaderName, Method, Request, Response};
use crate::transaction::ServerKey;

/// How long an emergency line may ring before the transfer counts as failed.
const TRANSFER_RING_TIMEOUT: Duration = Duration::from_secs(60);

/// Body types of SIP INFO that carry keys.
const DTMF_INFO_TYPES: [&str; 2] = ["application/dtmf-relay", "application/dtmf"];

impl From<Failure> for RingFailure {
    fn from(f: Failure) -> Self {
        match f {
            Failure::Busy => RingFailure::Busy,
            Failure::NoAnswer => RingFailure::NoAnswer,
            Failure::Rejected(s) => RingFailure::Rejected(s),
            Failure::Broken => RingFailure::Broken,
        }
    }
}

/// A telephone number with visual separators removed (`-`, `.`, spaces,
/// parentheses); nothing else is changed, so comparisons stay exact.
pub(crate) fn normalize_dialled(s: &str) -> String {
    s.chars()
        .filter(|c| !matches!(c, '-' | '.' | ' ' | '(' | ')'))
        .collect()
}

impl Call {
    /// Puts the caller's media in serve mode (menu, queue music, survey).
    pub(super) fn serve(&mut self, ctx: &mut Ctx<'_>) {
        let m = &self.caller.leg.media;
        ctx.media(MediaCommand::Serve {
            call: self.id,
            caller_remote: m.remote_rtp,
            caller_codec: m.codec,
            caller_dtmf_pt: m.telephone_event,
            caller_direction: m.remote_direction,
        });
        self.state = CallState::Served;
    }

    /// True while some far leg (agent or emergency line) is being rung.
    fn anything_ringing(&self) -> bool {
        self.agent
            .iter()
            .chain(&self.forks)
            .any(|a| a.phase != AgentPhase::Up)
    }

    /// A far leg of a hosted call failed before answering (`who`: its agent id
    /// or number). The owner hears of it; with nothing else ringing the call is
    /// back with the server.
    pub(super) fn far_failed(
        &mut self,
        ctx: &mut Ctx<'_>,
        who: Option<(String, Far)>,
        failure: Failure,
        status: u16,
    ) {
        if !self.hosted || self.ended {
            return;
        }
        if self.agent.is_none() && !self.forks.is_empty() {
            self.agent = Some(self.forks.remove(0));
        }
        if !self.anything_ringing() && self.agent.is_none() {
            self.state = CallState::Served;
        }
        let Some((name, far)) = who else {
            return;
        };
        match far {
            Far::Agent => ctx.event(CallEvent::RingFailed {
                call: self.id,
                agent: name,
                failure: failure.into(),
            }),
            Far::Emergency => ctx.event(CallEvent::TransferFailed {
                call: self.id,
                number: name,
                status,
            }),
            Far::Trunk => {
                // A callback whose citizen cannot be reached is over.
                ctx.event(CallEvent::RingFailed {
                    call: self.id,
                    agent: name,
                    failure: failure.into(),
                });
                let reason = match failure {
                    Failure::Busy => EndReason::Busy,
                    Failure::NoAnswer => EndReason::NoAnswer,
                    Failure::Rejected(s) => EndReason::Rejected(s),
                    Failure::Broken => EndReason::Error,
                };
                self.end(
                    ctx,
                    reason,
                    HangupBy::System,
                    480,
                    Some("Callee Unavailable"),
                );
            }
        }
    }

    /// The bridged agent of a hosted call hung up: keep the caller.
    pub(super) fn far_left(&mut self, ctx: &mut Ctx<'_>) {
        let Some(leg) = self.agent.take() else {
            return;
        };
        self.agent_left = true;
        ctx.event(CallEvent::AgentLeft {
            call: self.id,
            agent: leg.agent,
            at: ctx.now,
        });
        self.serve(ctx);
    }

    /// Releases the agent talking on a hosted call and keeps the caller with
    /// the server (the agent handed the caller to the survey from the
    /// workstation): BYE to the agent's phone, then as if the agent had hung
    /// up ([`CallEvent::AgentLeft`]).
    pub(crate) fn release_agent(&mut self, ctx: &mut Ctx<'_>) -> Result<(), CallControlError> {
        if self.ended {
            return Err(CallControlError::Ended);
        }
        if !self.hosted {
            return Err(CallControlError::NotHosted);
        }
        let talking = self
            .agent
            .as_ref()
            .is_some_and(|a| a.phase == AgentPhase::Up && a.far == Far::Agent);
        if !talking {
            return Err(CallControlError::NoAgent);
        }
        let Some(leg) = self.agent.take() else {
            return Err(CallControlError::NoAgent);
        };
        let agent = leg.agent.clone();
        self.drop_agent(ctx, leg, false, Some("Handed to the survey"));
        self.agent_left = true;
        ctx.event(CallEvent::AgentLeft {
            call: self.id,
            agent,
            at: ctx.now,
        });
        self.serve(ctx);
        Ok(())
    }

    /// Whether the current far leg is the bridged emergency line.
    pub(super) fn far_is_emergency(&self) -> bool {
        self.agent.as_ref().is_some_and(|a| a.far == Far::Emergency)
    }

    /// CANCELs every other phone rung in parallel (someone answered).
    pub(super) fn cancel_forks(&mut self, ctx: &mut Ctx<'_>) {
        for leg in std::mem::take(&mut self.forks) {
            self.drop_agent(ctx, leg, false, None);
        }
    }

    /// A response to the INVITE of a parallel ringing leg (`forks[pos]`).
    pub(super) fn on_fork_response(
        &mut self,
        ctx: &mut Ctx<'_>,
        pos: usize,
        resp: Option<Response>,
    ) {
        let status = resp.as_ref().map_or(408, |r| r.status);
        match status {
            100..=199 => {
                if self.forks[pos].phase == AgentPhase::Calling {
                    self.forks[pos].phase = AgentPhase::Early;
                }
            }
            200..=299 => {
                let winner = self.forks.remove(pos);
                if let Some(first) = self.agent.take() {
                    self.drop_agent(ctx, first, false, None);
                }
                self.agent = Some(winner);
                if let Some(resp) = resp {
                    self.agent_answered(ctx, &resp);
                }
            }
            _ => {
                let leg = self.forks.remove(pos);
                let failure = Failure::from_status(status);
                self.far_failed(ctx, Some((leg.agent, leg.far)), failure, status);
            }
        }
    }

    /// Rings `target` for this hosted call, alone or beside phones already
    /// ringing (`ring_all`).
    pub(crate) fn ring_agent(
        &mut self,
        ctx: &mut Ctx<'_>,
        target: &AgentTarget,
    ) -> Result<(), CallControlError> {
        if self.ended {
            return Err(CallControlError::Ended);
        }
        if !self.hosted {
            return Err(CallControlError::NotHosted);
        }
        if self
            .agent
            .as_ref()
            .is_some_and(|a| a.phase == AgentPhase::Up)
        {
            return Err(CallControlError::Bridged);
        }
        if self
            .agent
            .iter()
            .chain(&self.forks)
            .any(|a| a.agent == target.user)
        {
            return Err(CallControlError::AlreadyRinging(target.user.clone()));
        }
        let leg = self
            .invite(ctx, target, Far::Agent, None)
            .map_err(CallControlError::Build)?;
        self.tried.push(target.user.clone());
        if self.agent.is_none() {
            self.agent = Some(leg);
        } else {
            self.forks.push(leg);
        }
        self.state = CallState::Ringing;
        ctx.event(CallEvent::Ringing {
            call: self.id,
            agent: target.user.clone(),
        });
        Ok(())
    }

    /// Stops ringing `agent` (ACD ring timeout): CANCEL (§9.1). An agent who
    /// answered just as the ACD gave up on it is released (BYE) and the caller
    /// served again. False if that agent is not on this call.
    pub(crate) fn stop_ringing(&mut self, ctx: &mut Ctx<'_>, agent: &str) -> bool {
        let bridged = self
            .agent
            .as_ref()
            .is_some_and(|a| a.agent == agent && a.phase == AgentPhase::Up && a.far == Far::Agent);
        if bridged && !self.ended {
            if let Some(leg) = self.agent.take() {
                self.drop_agent(ctx, leg, false, Some("Released by the ACD"));
            }
            self.serve(ctx);
            return true;
        }
        let ringing = |a: &AgentLeg| a.agent == agent && a.phase != AgentPhase::Up;
        let leg = if self.agent.as_ref().is_some_and(ringing) {
            self.agent.take()
        } else if let Some(pos) = self.forks.iter().position(ringing) {
            Some(self.forks.remove(pos))
        } else {
            None
        };
        let Some(leg) = leg else {
            return false;
        };
        self.drop_agent(ctx, leg, false, None);
        if self.agent.is_none() && !self.forks.is_empty() {
            self.agent = Some(self.forks.remove(0));
        }
        if self.agent.is_none() && !self.ended {
            self.state = CallState::Served;
        }
        true
    }

    /// Transfers the caller to emergency line `target` (its `user` is the
    /// number): the agent leg is released, the gateway called. The caller must
    /// have been answered.
    pub(crate) fn transfer(
        &mut self,
        ctx: &mut Ctx<'_>,
        target: &AgentTarget,
    ) -> Result<(), CallControlError> {
        if self.ended {
            return Err(CallControlError::Ended);
        }
        if self.caller.phase != CallerPhase::Up {
            return Err(CallControlError::NotHosted);
        }
        // From now on the server holds the caller, whoever answered it.
        self.hosted = true;
        if let Some(attempt) = self.refer_from.take() {
            self.notify_refer(ctx, attempt, "SIP/2.0 200 OK", true);
        }
        let bridged = self
            .agent
            .as_ref()
            .is_some_and(|a| a.phase == AgentPhase::Up);
        if let Some(leg) = self.agent.take() {
            self.drop_agent(ctx, leg, false, Some("Transferred to an emergency line"));
        }
        self.cancel_forks(ctx);
        let leg = self
            .invite(
                ctx,
                target,
                Far::Emergency,
                Some(ctx.now + TRANSFER_RING_TIMEOUT),
            )
            .map_err(CallControlError::Build)?;
        self.agent = Some(leg);
        if bridged {
            self.serve(ctx);
        }
        self.state = CallState::Ringing;
        Ok(())
    }

    /// Sends a NOTIFY with a `message/sipfrag` status line on agent leg
    /// `attempt` (RFC 3515 §2.4.4).
    fn notify_refer(&mut self, ctx: &mut Ctx<'_>, attempt: u32, frag: &str, last: bool) {
        let id = self.id;
        let Some((remote, dl)) = self.dialog_leg(LegRef::Agent(attempt)) else {
            return;
        };
        let mut req = dl.dialog.request(Method::Notify, &ctx.branch());
        req.headers.push(HeaderName::Other("Event".into()), "refer");
        req.headers.push(
            HeaderName::Other("Subscription-State".into()),
            if last {
                "terminated;reason=noresource"
            } else {
                "active;expires=60"
            },
        );
        req.headers
            .push(HeaderName::ContentType, "message/sipfrag;version=2.0");
        req.body = Bytes::from(format!("{frag}\r\n"));
        ctx.send(id, Purpose::Notify, remote, req);
    }

    /// A REFER on leg `r` (RFC 3515): accepted only from the bridged agent and
    /// only towards a number of `allowed` (the emergency list).
    pub(crate) fn on_refer(
        &mut self,
        ctx: &mut Ctx<'_>,
        r: LegRef,
        key: &ServerKey,
        req: &Request,
        allowed: &[String],
    ) {
        let LegRef::Agent(attempt) = r else {
            ctx.respond(key, Response::for_request(req, 403));
            return;
        };
        let bridged_agent = self.agent.as_ref().is_some_and(|a| {
            a.attempt == attempt && a.phase == AgentPhase::Up && a.far == Far::Agent
        });
        let Some((_, dl)) = self.dialog_leg(r) else {
            ctx.respond(key, Response::for_request(req, 481));
            return;
        };
        if dl.dialog.on_request(req) == RequestCheck::OutOfOrder {
            ctx.respond(key, Response::for_request(req, 500));
            return;
        }
        if self.ended || !bridged_agent {
            ctx.respond(key, Response::for_request(req, 481));
            return;
        }
        let number = req
            .headers
            .get(&HeaderName::Other("Refer-To".into()))
            .or_else(|| req.headers.get(&HeaderName::Other("r".into())))
            .and_then(|v| refer_to_user(v.as_str()))
            .map(|u| normalize_dialled(&u));
        let Some(number) = number.filter(|n| allowed.iter().any(|a| a == n)) else {
            tracing::warn!(call = %self.id, "REFER to a number that is not an emergency line refused");
            let mut resp = Response::for_request(req, 403);
            resp.reason = "Only Emergency Transfers Allowed".into();
            ctx.respond(key, resp);
            return;
        };
        ctx.respond(key, Response::for_request(req, 202));
        self.notify_refer(ctx, attempt, "SIP/2.0 100 Trying", false);
        self.refer_from = Some(attempt);
        let agent = self
            .agent
            .as_ref()
            .map(|a| a.agent.clone())
            .unwrap_or_default();
        ctx.event(CallEvent::TransferRequested {
            call: self.id,
            agent,
            number,
        });
    }

    /// An INFO on leg `r`: DTMF bodies on the caller leg go to the owner.
    pub(crate) fn on_info(&mut self, ctx: &mut Ctx<'_>, r: LegRef, key: &ServerKey, req: &Request) {
        let Some((_, dl)) = self.dialog_leg(r) else {
            ctx.respond(key, Response::for_request(req, 481));
            return;
        };
        if dl.dialog.on_request(req) == RequestCheck::OutOfOrder {
            ctx.respond(key, Response::for_request(req, 500));
            return;
        }
        let content_type = req
            .headers
            .get(&HeaderName::ContentType)
            .map(|v| {
                v.as_str()
                    .split(';')
                    .next()
                    .unwrap_or_default()
                    .trim()
                    .to_ascii_lowercase()
            })
            .unwrap_or_default();
        if !DTMF_INFO_TYPES.contains(&content_type.as_str()) {
            let mut resp = Response::for_request(req, 415);
            resp.headers
                .push(HeaderName::Accept, DTMF_INFO_TYPES.join(", "));
            ctx.respond(key, resp);
            return;
        }
        ctx.respond(key, Response::for_request(req, 200));
        if r == LegRef::Caller && !self.ended {
            ctx.event(CallEvent::Info {
                call: self.id,
                content_type,
                body: req.body.clone(),
            });
        }
    }
}

/// The user part of a Refer-To value (`<sip:110@gw;transport=udp>` → `110`).
fn refer_to_user(value: &str) -> Option<String> {
    let v = value.trim();
    let inner = match (v.find('<'), v.find('>')) {
        (Some(a), Some(b)) if a < b => &v[a + 1..b],
        _ => v.split(';').next().unwrap_or(v),
    };
    let rest = inner
        .strip_prefix("sip:")
        .or_else(|| inner.strip_prefix("sips:"))
        .or_else(|| inner.strip_prefix("tel:"))?;
    let user = rest.split(['@', ';', '?']).next()?;
    (!user.is_empty()).then(|| user.to_owned())
}

#[cfg(test)]
mod unit {
    use super::*;

    #[test]
    fn refer_to_user_parts() {
        assert_eq!(
            refer_to_user("<sip:110@192.0.2.1;transport=udp>").as_deref(),
            Some("110")
        );
        assert_eq!(refer_to_user("sip:120@gw").as_deref(), Some("120"));
        assert_eq!(refer_to_user("<tel:119>").as_deref(), Some("119"));
        assert_eq!(refer_to_user("<http://x>"), None);
        assert_eq!(refer_to_user("<sip:@gw>"), None);
    }

    #[test]
    fn normalisation_is_exact() {
        assert_eq!(normalize_dialled("1-1-0"), "110");
        assert_eq!(normalize_dialled("138 1101 2345"), "13811012345");
        assert_ne!(normalize_dialled("13811012345"), "110");
    }
}
