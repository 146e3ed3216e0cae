//! Calls the server places itself through the carrier trunk (outbound survey
//! calls, issue 7): an [`Origination`] is the UAC INVITE towards the citizen
//! until it is answered; then it becomes an ordinary hosted [`Call`] whose
//! caller leg is that UAC dialog, served by the owner (prompts, keys) like an
//! answered hotline call.
//!
//! ```text
//!  originate ──► INVITE (our offer, caller port) ──► Calling
//!                  401/407 (once, with credentials) ──► INVITE again, authorised
//!                  1xx ──► Early
//!                  2xx ──► ACK, accept the answer ──► Call (Served) + OriginAnswered
//!                  486/600 ──► Ended(Busy)    408/480/Timer B ──► Ended(NoAnswer)
//!                  other ──► Ended(Rejected(status))
//!                  ring timeout / hang_up ──► Ended(NoAnswer / Normal), CANCEL (§9.1:
//!                      only after a provisional), a 200 crossing it is ACKed and BYEd
//! ```
//!
//! Ports for both legs are taken and opened when the INVITE goes out (our
//! SDP names the caller port; the agent port serves a later bridge), so RTP
//! that follows the 200 at once finds its socket. Whatever way an origination
//! ends before the answer, the media is closed, the ports given back and
//! [`CallEvent::Ended`] reported exactly once.

use std::time::{Duration, Instant};

use bytes::Bytes;
use rand::Rng;

use super::{
    offer_codecs, uri_user, AgentPhase, Call, CallerLeg, CallerPhase, Ctx, DialogLeg, Failure, Far,
    LegRef, Purpose, SDP_USER,
};
use crate::call::table::AgentTarget;
use crate::call::{
    CallEvent, CallId, CallState, CallView, Direction, EndReason, HangupBy, Leg, MediaCommand,
};
use crate::dialog::{new_call_id, new_tag, Dialog};
use crate::digest::authorization;
use crate::endpoint::ALLOW;
use crate::media_ports::PortPair;
use crate::message::{ByteStr, HeaderName, Headers, Message, Method, Request, Response, Uri};
use crate::net::Remote;
use crate::sdp::{self, Encoding, LocalSession, SessionDescription};

/// Where and how an outbound call is placed.
#[derive(Debug, Clone)]
pub(crate) struct OriginTarget {
    /// The Request-URI (the trunk template with the number filled in).
    pub(crate) uri: String,
    pub(crate) remote: Remote,
    /// The number dialled (CDR, logs).
    pub(crate) number: String,
    /// Our number (the call record's `did`).
    pub(crate) caller_id: String,
    /// The user part of our From (the caller id, or for the agent's phone
    /// of a callback the citizen's number, so the phone shows it).
    pub(crate) from_user: String,
    pub(crate) credentials: Option<(String, String)>,
    pub(crate) ring_timeout: Duration,
}

/// A callback: once the agent's phone (the origination's target) answers,
/// the citizen is dialled through the trunk and bridged.
#[derive(Debug, Clone)]
pub(crate) struct Callback {
    pub(crate) agent: String,
    pub(crate) citizen: OriginTarget,
}

/// What the table does with an origination after an input.
#[derive(Debug)]
pub(crate) enum Step {
    /// Still waiting for something.
    Pending,
    /// Answered: it is a call now.
    Answered(Box<Call>),
    /// Nothing left to wait for: drop it.
    Finished,
}

/// An outbound INVITE not answered yet. See the module docs.
#[derive(Debug)]
pub(crate) struct Origination {
    id: CallId,
    target: OriginTarget,
    invite: Request,
    offer: SessionDescription,
    session: LocalSession,
    caller_port: PortPair,
    agent_port: PortPair,
    phase: AgentPhase,
    started: Instant,
    ring_deadline: Option<Instant>,
    /// Once we gave up: when to stop waiting for the INVITE's final response.
    give_up: Option<Instant>,
    /// A challenge was answered already (only one is).
    challenged: bool,
    /// `Ended` was reported; only the teardown is left.
    ended: bool,
    /// A callback: whom to dial once the agent answered.
    then: Option<Callback>,
}

impl Origination {
    /// Sends the INVITE and opens the media. `Err` if the INVITE could not be
    /// built (the ports are the caller's to give back then).
    pub(crate) fn start(
        ctx: &mut Ctx<'_>,
        id: CallId,
        target: OriginTarget,
        then: Option<Callback>,
        ports: (PortPair, PortPair),
    ) -> Result<Self, &'static str> {
        let (caller_port, agent_port) = ports;
        let uri = Uri::parse(ByteStr::from(target.uri.as_str()))
            .map_err(|_| "the trunk URI is not a SIP URI")?;
        let mut caps = ctx.cfg.caps.clone();
        caps.codecs = offer_codecs(Encoding::Pcma, &ctx.cfg.caps);
        caps.dtmf = true;
        let mut session = LocalSession::new(u64::from(ctx.rng.gen::<u32>()), 1);
        let offer = sdp::offer(
            &caps,
            session.next_media(ctx.cfg.public_addr, caller_port.rtp, SDP_USER),
            Direction::SendRecv,
        );
        let local = ctx.cfg.local(target.remote.transport);
        let mut headers = Headers::new();
        headers.push(
            HeaderName::Via,
            via(target.remote, &local.sent_by, &ctx.branch()),
        );
        headers.push(HeaderName::MaxForwards, "70");
        let from = uri_user(&target.from_user);
        headers.push(
            HeaderName::From,
            format!(
                "\"{from}\" <sip:{from}@{}>;tag={}",
                ctx.cfg.domain,
                new_tag(&mut *ctx.rng)
            ),
        );
        headers.push(HeaderName::To, format!("<{}>", target.uri));
        headers.push(
            HeaderName::CallId,
            new_call_id(&mut *ctx.rng, &ctx.cfg.public_addr.to_string()),
        );
        headers.push(HeaderName::CSeq, "1 INVITE");
        headers.push(HeaderName::Contact, local.contact);
        headers.push(HeaderName::Allow, ALLOW);
        headers.push(HeaderName::UserAgent, ctx.cfg.server_name.clone());
        headers.push(HeaderName::ContentType, "application/sdp");
        let invite = Request {
            method: Method::Invite,
            uri,
            headers,
            body: Bytes::from(offer.to_string()),
        };
        ctx.send(id, Purpose::Originate, target.remote, invite.clone())
            .ok_or("INVITE not sent")?;
        for (leg, port) in [(Leg::Caller, caller_port), (Leg::Agent, agent_port)] {
            ctx.media(MediaCommand::Open {
                call: id,
                leg,
                local_rtp_port: port.rtp,
            });
        }
        ctx.event(CallEvent::Originating {
            call: id,
            number: target.number.clone(),
            caller_id: target.caller_id.clone(),
            at: ctx.now,
        });
        tracing::info!(call = %id, "outbound INVITE sent");
        Ok(Origination {
            id,
            ring_deadline: Some(ctx.now + target.ring_timeout),
            target,
            invite,
            offer,
            session,
            caller_port,
            agent_port,
            phase: AgentPhase::Calling,
            started: ctx.now,
            give_up: None,
            challenged: false,
            ended: false,
            then,
        })
    }

    pub(crate) fn next_deadline(&self) -> Option<Instant> {
        [self.ring_deadline, self.give_up]
            .into_iter()
            .flatten()
            .min()
    }

    /// A snapshot for the call list: ringing (the citizen, or for a callback
    /// the agent's phone), or ending once given up.
    pub(crate) fn view(&self) -> CallView {
        CallView {
            id: self.id,
            state: if self.ended {
                CallState::Ending
            } else {
                CallState::Ringing
            },
            caller_number: self.target.number.clone(),
            did: self.target.caller_id.clone(),
            agent: self.then.as_ref().map(|cb| cb.agent.clone()),
            internal: false,
            ringing: Vec::new(),
            transferred_to: None,
            started: self.started,
            answered: None,
        }
    }

    /// A response to our INVITE (`None`: Timer B or a transport error).
    pub(crate) fn on_response(&mut self, ctx: &mut Ctx<'_>, resp: Option<Response>) -> Step {
        let Some(resp) = resp else {
            tracing::info!(call = %self.id, "trunk did not answer the INVITE (Timer B)");
            self.fail(ctx, EndReason::Error, HangupBy::System);
            return Step::Finished;
        };
        match resp.status {
            100..=199 => {
                match self.phase {
                    AgentPhase::Calling => self.phase = AgentPhase::Early,
                    AgentPhase::CancelPending => self.send_cancel(ctx),
                    _ => {}
                }
                Step::Pending
            }
            200..=299 if self.ended => {
                // Answered as we gave up: ACK, then BYE (§15).
                self.ack_and_bye(ctx, &resp);
                Step::Finished
            }
            200..=299 => self.answered(ctx, &resp),
            401 | 407 if !self.ended && !self.challenged && self.target.credentials.is_some() => {
                match self.authorise(ctx, &resp) {
                    Ok(()) => Step::Pending,
                    Err(why) => {
                        tracing::warn!(call = %self.id, why, "trunk challenge not answered");
                        self.fail(ctx, EndReason::Rejected(resp.status), HangupBy::System);
                        Step::Finished
                    }
                }
            }
            status => {
                let reason = match status {
                    486 | 600 => EndReason::Busy,
                    408 | 480 | 487 => EndReason::NoAnswer,
                    s => EndReason::Rejected(s),
                };
                tracing::info!(call = %self.id, status, "outbound call not answered");
                self.fail(ctx, reason, HangupBy::Caller);
                Step::Finished
            }
        }
    }

    /// Timers: the ring timeout, the end of the wait after a CANCEL.
    pub(crate) fn on_timer(&mut self, ctx: &mut Ctx<'_>) -> Step {
        if self.give_up.is_some_and(|d| d <= ctx.now) {
            return Step::Finished;
        }
        if self.ring_deadline.is_some_and(|d| d <= ctx.now) {
            tracing::info!(call = %self.id, "outbound ring timeout");
            self.abandon(ctx, EndReason::NoAnswer);
        }
        Step::Pending
    }

    /// The owner gives up on the call (shutdown, an operator).
    pub(crate) fn hang_up(&mut self, ctx: &mut Ctx<'_>) -> bool {
        if self.ended {
            return false;
        }
        self.abandon(ctx, EndReason::Cancelled);
        true
    }

    /// Reports the end and CANCELs what is still ringing (§9.1).
    fn abandon(&mut self, ctx: &mut Ctx<'_>, reason: EndReason) {
        self.fail(ctx, reason, HangupBy::System);
        match self.phase {
            AgentPhase::Early => self.send_cancel(ctx),
            AgentPhase::Calling => {
                self.phase = AgentPhase::CancelPending;
                self.give_up = Some(ctx.now + ctx.timeout());
            }
            _ => {}
        }
    }

    fn send_cancel(&mut self, ctx: &mut Ctx<'_>) {
        let cancel = cancel_for(&self.invite);
        ctx.send(self.id, Purpose::Cancel, self.target.remote, cancel);
        self.phase = AgentPhase::Cancelling;
        self.give_up = Some(ctx.now + ctx.timeout());
    }

    /// Reports the end once: media closed, ports back, `Ended`.
    fn fail(&mut self, ctx: &mut Ctx<'_>, reason: EndReason, by: HangupBy) {
        self.ring_deadline = None;
        if self.ended {
            return;
        }
        self.ended = true;
        ctx.media(MediaCommand::Close { call: self.id });
        ctx.ports.release(self.caller_port);
        ctx.ports.release(self.agent_port);
        ctx.event(CallEvent::Ended {
            call: self.id,
            at: ctx.now,
            hangup_by: by,
            reason,
        });
    }

    /// The INVITE again with credentials for the trunk's challenge.
    fn authorise(&mut self, ctx: &mut Ctx<'_>, resp: &Response) -> Result<(), &'static str> {
        let (user, password) = self.target.credentials.clone().ok_or("no credentials")?;
        let remote = self.target.remote;
        let invite = authorised_copy(ctx, &self.invite, resp, &user, &password, remote)
            .ok_or("no usable Digest challenge")?;
        ctx.send(self.id, Purpose::Originate, remote, invite.clone())
            .ok_or("INVITE not sent")?;
        self.invite = invite;
        self.challenged = true;
        self.phase = AgentPhase::Calling;
        tracing::info!(call = %self.id, status = resp.status, "trunk challenge answered");
        Ok(())
    }

    fn ack_and_bye(&mut self, ctx: &mut Ctx<'_>, resp: &Response) {
        let local = ctx.cfg.local(self.target.remote.transport);
        let Ok(mut dialog) = Dialog::new_uac(&self.invite, resp, self.target.remote, local) else {
            return;
        };
        let cseq = self.invite.headers.cseq().map(|c| c.seq).unwrap_or(1);
        let ack = dialog.ack(cseq, &ctx.branch());
        ctx.tx
            .send_stateless(self.target.remote, &Message::Request(ack));
        let bye = dialog.request(Method::Bye, &ctx.branch());
        ctx.send(self.id, Purpose::Cancel, self.target.remote, bye);
    }

    /// The 2xx: ACK it, take the answer, become a served call.
    fn answered(&mut self, ctx: &mut Ctx<'_>, resp: &Response) -> Step {
        let id = self.id;
        let remote = self.target.remote;
        let local = ctx.cfg.local(remote.transport);
        let mut dialog = match Dialog::new_uac(&self.invite, resp, remote, local) {
            Ok(d) => d,
            Err(e) => {
                tracing::warn!(call = %id, %e, "unusable 2xx from the trunk");
                self.fail(ctx, EndReason::Error, HangupBy::System);
                return Step::Finished;
            }
        };
        let cseq = self.invite.headers.cseq().map(|c| c.seq).unwrap_or(1);
        let ack = dialog.ack(cseq, &ctx.branch());
        ctx.tx
            .send_stateless(remote, &Message::Request(ack.clone()));
        let negotiated = SessionDescription::parse(&resp.body)
            .map_err(|e| e.to_string())
            .and_then(|a| sdp::accept_answer(&self.offer, &a).map_err(|e| e.to_string()));
        let negotiated = match negotiated {
            Ok(n) => n,
            Err(e) => {
                tracing::warn!(call = %id, %e, "trunk's SDP answer unusable; BYE");
                let bye = dialog.request(Method::Bye, &ctx.branch());
                ctx.send(id, Purpose::Cancel, remote, bye);
                self.fail(ctx, EndReason::Error, HangupBy::System);
                return Step::Finished;
            }
        };
        ctx.index
            .dialogs
            .insert(dialog.id().clone(), (id, LegRef::Caller));
        let local_tag = dialog.id().local_tag.clone();
        let mut leg = DialogLeg::new(
            dialog,
            negotiated,
            self.offer.clone(),
            Direction::SendRecv,
            self.session.clone(),
            self.caller_port.rtp,
        );
        leg.last_ack = Some((cseq, ack));
        let caller = CallerLeg {
            invite: self.invite.clone(),
            invite_key: None,
            remote,
            local_tag,
            phase: CallerPhase::Up,
            leg,
        };
        let mut call = Call::new(
            id,
            self.started,
            self.target.number.clone(),
            self.target.caller_id.clone(),
            None,
            caller,
            self.agent_port,
            true,
        );
        self.ended = true;
        call.serve(ctx);
        match self.then.take() {
            None => {
                call.answered = Some(ctx.now);
                ctx.event(CallEvent::OriginAnswered {
                    call: id,
                    at: ctx.now,
                });
            }
            Some(cb) => {
                tracing::info!(call = %id, agent = %cb.agent, "callback: agent answered; dialling the citizen");
                call.callback_agent = Some(cb.agent);
                call.trunk_auth = cb.citizen.credentials.clone();
                call.dial_citizen(ctx, &cb.citizen);
            }
        }
        Step::Answered(Box::new(call))
    }
}

impl Call {
    /// A callback's second leg: the citizen through the trunk, rung for the
    /// trunk's ring timeout; its answer bridges the agent (`Far::Trunk`).
    fn dial_citizen(&mut self, ctx: &mut Ctx<'_>, citizen: &OriginTarget) {
        let target = AgentTarget {
            user: citizen.number.clone(),
            contact: citizen.uri.clone(),
            remote: citizen.remote,
        };
        let deadline = Some(ctx.now + citizen.ring_timeout);
        match self.invite(ctx, &target, Far::Trunk, deadline) {
            Ok(leg) => {
                self.agent = Some(leg);
                self.state = CallState::Ringing;
            }
            Err(why) => {
                tracing::warn!(call = %self.id, why, "callback: the citizen cannot be dialled");
                self.end(
                    ctx,
                    EndReason::Error,
                    HangupBy::System,
                    480,
                    Some("Callback Failed"),
                );
            }
        }
    }

    /// The trunk challenged the citizen leg's INVITE: send it again with
    /// credentials, once (the credentials are taken).
    pub(super) fn answer_trunk_challenge(&mut self, ctx: &mut Ctx<'_>, resp: &Response) {
        let id = self.id;
        let creds = self.trunk_auth.take();
        let Some(leg) = self.agent.as_mut() else {
            return;
        };
        let remote = leg.remote;
        let authorised = creds.and_then(|(user, password)| {
            authorised_copy(ctx, &leg.invite, resp, &user, &password, remote)
        });
        match authorised.and_then(|inv| {
            ctx.send(id, Purpose::AgentInvite(leg.attempt), remote, inv.clone())
                .map(|_| inv)
        }) {
            Some(inv) => {
                leg.invite = inv;
                leg.phase = AgentPhase::Calling;
            }
            None => {
                let who = self.agent.take().map(|l| (l.agent, l.far));
                self.far_failed(ctx, who, Failure::Rejected(resp.status), resp.status);
            }
        }
    }
}

/// `invite` again with credentials for the challenge in `resp` (a 401 or
/// 407): a new branch, the next CSeq, `Authorization` or
/// `Proxy-Authorization`. `None` if no challenge can be answered.
fn authorised_copy(
    ctx: &mut Ctx<'_>,
    invite: &Request,
    resp: &Response,
    user: &str,
    password: &str,
    remote: Remote,
) -> Option<Request> {
    let (challenge, answer) = if resp.status == 401 {
        (HeaderName::WwwAuthenticate, HeaderName::Authorization)
    } else {
        (
            HeaderName::ProxyAuthenticate,
            HeaderName::ProxyAuthorization,
        )
    };
    let cnonce = format!("{:016x}", ctx.rng.gen::<u64>());
    let uri = invite.uri.to_string();
    let value = resp
        .headers
        .get_all(&challenge)
        .find_map(|c| authorization(c, user, password, "INVITE", &uri, &cnonce).ok())?;
    let seq = invite.headers.cseq().map(|c| c.seq).unwrap_or(1) + 1;
    let mut copy = invite.clone();
    let local = ctx.cfg.local(remote.transport);
    copy.headers
        .set(HeaderName::Via, via(remote, &local.sent_by, &ctx.branch()));
    copy.headers.set(HeaderName::CSeq, format!("{seq} INVITE"));
    copy.headers.set(answer, value);
    Some(copy)
}

fn via(remote: Remote, sent_by: &str, branch: &str) -> String {
    format!(
        "SIP/2.0/{} {sent_by};branch={branch};rport",
        remote.transport.as_str()
    )
}

/// The CANCEL for `inv` (§9.1): its Request-URI, Call-ID, From, To, Route and
/// top Via (same branch), CSeq number with method CANCEL.
pub(super) fn cancel_for(inv: &Request) -> Request {
    let mut headers = Headers::new();
    for name in [HeaderName::Via, HeaderName::Route] {
        for v in inv.headers.get_all(&name) {
            headers.push(name.clone(), v.clone());
        }
    }
    headers.push(HeaderName::MaxForwards, "70");
    for name in [HeaderName::From, HeaderName::To, HeaderName::CallId] {
        if let Some(v) = inv.headers.get(&name) {
            headers.push(name, v.clone());
        }
    }
    let seq = inv.headers.cseq().map(|c| c.seq).unwrap_or(1);
    headers.push(HeaderName::CSeq, format!("{seq} CANCEL"));
    Request {
        method: Method::Cancel,
        uri: inv.uri.clone(),
        headers,
        body: Bytes::new(),
    }
}
