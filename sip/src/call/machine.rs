//! One call: the caller leg, the agent leg(s), and every transition between the
//! states of the [module diagram](super).

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use bytes::Bytes;
use rand::rngs::StdRng;
use rand::Rng;

use super::table::{is_sdp, AgentTarget, CallOutput, CallSettings, Index};
use super::{
    CallEvent, CallId, CallState, CallView, Codec, Direction, EndReason, HangupBy, Leg,
    MediaCommand,
};
use crate::dialog::{new_call_id, new_tag, Dialog, RequestCheck};
use crate::endpoint::ALLOW;
use crate::media_ports::{MediaPorts, PortPair};
use crate::message::{ByteStr, HeaderName, Headers, Message, Method, Request, Response, Uri};
use crate::net::Remote;
use crate::sdp::{self, Encoding, LocalSession, MediaCaps, Negotiated, SessionDescription};
use crate::transaction::{new_branch, ClientKey, ServerKey, TransactionLayer};

mod hosted;
mod originate;
pub(crate) use hosted::normalize_dialled;
pub(crate) use originate::{Callback, OriginTarget, Origination, Step};

/// The `o=` user name of our descriptions.
const SDP_USER: &str = "hotline";
/// Retry-After (seconds) on 480 when nobody can take the call.
const RETRY_AFTER: &str = "30";
/// How often a 491 on our re-INVITE is retried before we give up on it.
const MAX_REOFFERS: u8 = 3;

/// Which leg a message belongs to. Agent legs are numbered by attempt: a call
/// may ring several agents, and a late response from one that was given up on
/// must not touch the current one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum LegRef {
    Caller,
    Agent(u32),
}

/// What one of our client transactions is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Purpose {
    /// The initial INVITE of agent attempt `n`.
    AgentInvite(u32),
    /// A CANCEL: its own response does not matter (§9.1), the INVITE's does.
    Cancel,
    Bye(LegRef),
    ReInvite(LegRef),
    /// A NOTIFY about a REFER (RFC 3515 §2.4.4): its response does not matter.
    Notify,
    /// The INVITE of an outbound call (`originate.rs`).
    Originate,
}

/// What a call may touch while handling one input.
pub(crate) struct Ctx<'a> {
    pub(crate) now: Instant,
    pub(crate) tx: &'a mut TransactionLayer,
    pub(crate) cfg: &'a CallSettings,
    pub(crate) rng: &'a mut StdRng,
    pub(crate) out: &'a mut VecDeque<CallOutput>,
    pub(crate) ports: &'a mut MediaPorts,
    pub(crate) index: &'a mut Index,
    pub(crate) wants_agent: &'a mut VecDeque<CallId>,
}

impl Ctx<'_> {
    fn branch(&mut self) -> String {
        new_branch(&mut *self.rng)
    }

    /// Starts a client transaction and remembers what it is for.
    fn send(
        &mut self,
        call: CallId,
        purpose: Purpose,
        to: Remote,
        req: Request,
    ) -> Option<ClientKey> {
        match self.tx.send_request(self.now, to, req) {
            Ok(key) => {
                self.index.clients.insert(key.clone(), (call, purpose));
                Some(key)
            }
            Err(e) => {
                // Only a bug in the builders below can get here.
                tracing::error!(%call, %e, "could not send a request we built");
                None
            }
        }
    }

    fn respond(&mut self, key: &ServerKey, mut resp: Response) {
        resp.headers
            .set(HeaderName::Server, self.cfg.server_name.clone());
        self.tx.respond(self.now, key, resp);
    }

    fn media(&mut self, cmd: MediaCommand) {
        self.out.push_back(CallOutput::Media(cmd));
    }

    fn event(&mut self, ev: CallEvent) {
        self.out.push_back(CallOutput::Event(ev));
    }

    fn t1(&self) -> Duration {
        self.cfg.timers.t1
    }

    fn timeout(&self) -> Duration {
        self.cfg.timers.timeout()
    }
}

/// A 2xx we retransmit until its ACK arrives (§13.3.1.4): T1, doubling up to
/// T2, for at most 64·T1.
#[derive(Debug, Clone)]
struct Retransmit {
    response: Response,
    cseq: u32,
    next: Instant,
    interval: Duration,
    give_up: Instant,
}

/// A re-INVITE of ours in progress.
#[derive(Debug, Clone)]
struct OurReinvite {
    cseq: u32,
    offer: SessionDescription,
    direction: Direction,
}

/// The in-dialog part of a leg, once it has a dialog and a negotiated session.
#[derive(Debug)]
struct DialogLeg {
    dialog: Dialog,
    /// The last offer/answer outcome.
    media: Negotiated,
    /// Our last description on this leg (answers to offerless re-INVITEs).
    our_sdp: SessionDescription,
    /// The direction in our last description (what we told this leg).
    our_direction: Direction,
    session: LocalSession,
    port: u16,
    pending_2xx: Option<Retransmit>,
    /// The last 2xx to an INVITE, re-sent for copies of that INVITE.
    last_2xx: Option<(u32, Response)>,
    /// The last ACK we sent, re-sent for retransmitted 2xx (§13.2.2.4).
    last_ack: Option<(u32, Request)>,
    reinvite: Option<OurReinvite>,
    /// The direction we want this leg to have; re-offered when it differs.
    wanted_direction: Direction,
    /// A re-offer after a 491 (§14.1), and how many we made.
    reoffer_at: Option<Instant>,
    reoffers: u8,
}

impl DialogLeg {
    fn new(
        dialog: Dialog,
        media: Negotiated,
        our_sdp: SessionDescription,
        our_direction: Direction,
        session: LocalSession,
        port: u16,
    ) -> Self {
        DialogLeg {
            dialog,
            media,
            our_sdp,
            our_direction,
            session,
            port,
            pending_2xx: None,
            last_2xx: None,
            last_ack: None,
            reinvite: None,
            wanted_direction: our_direction,
            reoffer_at: None,
            reoffers: 0,
        }
    }

    /// A dialog kept only until our BYE is answered: it re-ACKs retransmitted
    /// 2xx (§13.2.2.4) and answers a BYE crossing ours.
    fn closing(
        dialog: Dialog,
        offer: &SessionDescription,
        session: &LocalSession,
        ack: (u32, Request),
    ) -> Self {
        let placeholder = Negotiated {
            codec: Codec::PCMA,
            telephone_event: None,
            remote_rtp: SocketAddr::from(([0, 0, 0, 0], 0)),
            remote_rtcp: None,
            remote_direction: Direction::Inactive,
            local_direction: Direction::Inactive,
            ptime_ms: 20,
            media_index: 0,
            answer: offer.clone(),
        };
        let mut leg = DialogLeg::new(
            dialog,
            placeholder,
            offer.clone(),
            Direction::Inactive,
            session.clone(),
            0,
        );
        leg.last_ack = Some(ack);
        leg
    }

    /// Stops everything that would keep the leg alive on its own.
    fn quiesce(&mut self) {
        self.pending_2xx = None;
        self.reoffer_at = None;
    }

    fn next_deadline(&self) -> Option<Instant> {
        [
            self.pending_2xx.as_ref().map(|r| r.next.min(r.give_up)),
            self.reoffer_at,
        ]
        .into_iter()
        .flatten()
        .min()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CallerPhase {
    /// The INVITE awaits its final response.
    Proceeding,
    /// We sent 200 (ACKed or not).
    Up,
    /// We sent BYE.
    Closing,
    Done,
}

/// The caller leg: a UAS dialog from the start (our To tag is chosen at once).
#[derive(Debug)]
pub(crate) struct CallerLeg {
    invite: Request,
    invite_key: Option<ServerKey>,
    remote: Remote,
    local_tag: String,
    phase: CallerPhase,
    leg: DialogLeg,
}

impl CallerLeg {
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn new(
        invite: Request,
        invite_key: ServerKey,
        remote: Remote,
        local_tag: String,
        dialog: Dialog,
        media: Negotiated,
        session: LocalSession,
        port: PortPair,
    ) -> Self {
        let our_sdp = media.answer.clone();
        let our_direction = media.local_direction;
        CallerLeg {
            invite,
            invite_key: Some(invite_key),
            remote,
            local_tag,
            phase: CallerPhase::Proceeding,
            leg: DialogLeg::new(dialog, media, our_sdp, our_direction, session, port.rtp),
        }
    }

    /// A response to the caller's INVITE, with our To tag (§8.2.6.2, §12.1.1).
    fn response(&self, status: u16) -> Response {
        let mut r = Response::for_request(&self.invite, status);
        if status > 100 {
            if let Some(to) = self.invite.headers.get(&HeaderName::To) {
                let tagged = format!("{to};tag={}", self.local_tag);
                r.headers.set(HeaderName::To, tagged);
            }
        }
        r
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum AgentPhase {
    /// INVITE sent, nothing back yet.
    Calling,
    /// A provisional arrived (so CANCEL is allowed, §9.1).
    Early,
    /// We want out but may not CANCEL before a provisional (§9.1).
    CancelPending,
    /// CANCEL sent; waiting for the INVITE's final response.
    Cancelling,
    /// 2xx received and ACKed: `leg` is set.
    Up,
    /// BYE sent.
    Closing,
    Done,
}

/// Who the far leg of a call is.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Far {
    /// An agent's phone (`AgentLeg::agent` is its id).
    Agent,
    /// An emergency line through the gateway (`AgentLeg::agent` is its number).
    Emergency,
    /// A citizen through the carrier trunk, for a callback (`AgentLeg::agent`
    /// is the number; see `originate.rs`).
    Trunk,
}

/// One attempt to reach an agent (or, for a transfer, an emergency line): a
/// UAC INVITE, later a dialog.
#[derive(Debug)]
struct AgentLeg {
    attempt: u32,
    agent: String,
    far: Far,
    remote: Remote,
    invite: Request,
    offer: SessionDescription,
    session: LocalSession,
    phase: AgentPhase,
    ring_deadline: Option<Instant>,
    /// When a leg we are tearing down counts as gone even without an answer
    /// (§9.1: 64·T1 after the CANCEL).
    give_up: Option<Instant>,
    /// 180 relayed to the caller for this attempt.
    ring_relayed: bool,
    leg: Option<DialogLeg>,
}

impl AgentLeg {
    /// The CANCEL for our INVITE (§9.1).
    fn cancel(&self) -> Request {
        originate::cancel_for(&self.invite)
    }

    fn invite_cseq(&self) -> u32 {
        self.invite.headers.cseq().map(|c| c.seq).unwrap_or(1)
    }
}

/// How the last agent attempt went, for the caller's final answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Failure {
    Busy,
    NoAnswer,
    Rejected(u16),
    Broken,
}

impl Failure {
    /// What a final non-2xx status to our INVITE means for the caller.
    fn from_status(status: u16) -> Self {
        match status {
            486 | 600 => Failure::Busy,
            408 | 480 | 487 => Failure::NoAnswer,
            s => Failure::Rejected(s),
        }
    }
}

/// One call. See the [module docs](super).
#[derive(Debug)]
pub(crate) struct Call {
    id: CallId,
    caller_number: String,
    did: String,
    /// For an internal call, the calling agent.
    internal_caller: Option<String>,
    started: Instant,
    answered: Option<Instant>,
    state: CallState,
    caller: CallerLeg,
    agent: Option<AgentLeg>,
    /// Agent legs being torn down.
    dropped: Vec<AgentLeg>,
    /// Hosted calls: the server answered the caller itself and the owner (IVR,
    /// ACD) says whom to ring; see `hosted.rs`.
    hosted: bool,
    /// Hosted calls: further agents rung at the same time as `agent`
    /// (`ring_all`); the first to answer wins.
    forks: Vec<AgentLeg>,
    /// The agent hung up first (the caller was kept for the survey).
    agent_left: bool,
    /// A callback (`originate.rs`): the agent whose phone is the caller leg.
    callback_agent: Option<String>,
    /// A callback: the trunk's digest credentials, taken by the one challenge
    /// answered on the citizen leg.
    trunk_auth: Option<(String, String)>,
    /// The agent leg (attempt) whose REFER we accepted, for the NOTIFYs.
    refer_from: Option<u32>,
    tried: Vec<String>,
    last_failure: Option<Failure>,
    next_attempt: u32,
    agent_port: PortPair,
    ended: bool,
    /// After the end: the call leaves the table by then whatever its legs do.
    hard_deadline: Option<Instant>,
}

impl Call {
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn new(
        id: CallId,
        now: Instant,
        caller_number: String,
        did: String,
        internal_caller: Option<String>,
        caller: CallerLeg,
        agent_port: PortPair,
        hosted: bool,
    ) -> Self {
        Call {
            id,
            caller_number,
            did,
            internal_caller,
            started: now,
            answered: None,
            state: CallState::Routing,
            caller,
            agent: None,
            dropped: Vec::new(),
            hosted,
            forks: Vec::new(),
            agent_left: false,
            callback_agent: None,
            trunk_auth: None,
            refer_from: None,
            tried: Vec::new(),
            last_failure: None,
            next_attempt: 0,
            agent_port,
            ended: false,
            hard_deadline: None,
        }
    }

    pub(crate) fn view(&self) -> CallView {
        CallView {
            id: self.id,
            state: self.state,
            caller_number: self.caller_number.clone(),
            did: self.did.clone(),
            agent: self
                .agent
                .as_ref()
                .filter(|a| a.far == Far::Agent)
                .map(|a| a.agent.clone())
                .or_else(|| self.callback_agent.clone()),
            internal: self.internal_caller.is_some(),
            ringing: self
                .agent
                .iter()
                .chain(&self.forks)
                .filter(|a| a.far == Far::Agent && a.phase != AgentPhase::Up)
                .map(|a| a.agent.clone())
                .collect(),
            transferred_to: self
                .agent
                .as_ref()
                .filter(|a| a.far == Far::Emergency)
                .map(|a| a.agent.clone()),
            started: self.started,
            answered: self.answered,
        }
    }

    pub(crate) fn occupies(&self, user: &str) -> bool {
        !self.ended
            && (self
                .agent
                .iter()
                .chain(&self.forks)
                .any(|a| a.far == Far::Agent && a.agent == user)
                || self.internal_caller.as_deref() == Some(user)
                || self.callback_agent.as_deref() == Some(user))
    }

    /// The agents this call keeps busy (rung, talking, or calling another agent).
    pub(crate) fn occupants(&self) -> impl Iterator<Item = &str> {
        let live = !self.ended;
        self.agent
            .iter()
            .chain(&self.forks)
            .filter(move |a| live && a.far == Far::Agent)
            .map(|a| a.agent.as_str())
            .chain(self.internal_caller.as_deref().filter(move |_| live))
            .chain(self.callback_agent.as_deref().filter(move |_| live))
    }

    pub(crate) fn has_tried(&self, user: &str) -> bool {
        self.tried.iter().any(|t| t == user)
    }

    pub(crate) fn internal_callee(&self) -> Option<&str> {
        self.internal_caller.as_ref().map(|_| self.did.as_str())
    }

    /// True once the call has ended and no leg waits for anything.
    pub(crate) fn is_finished(&self, now: Instant) -> bool {
        if !self.ended {
            return false;
        }
        if self.hard_deadline.is_some_and(|d| now >= d) {
            return true;
        }
        matches!(self.caller.phase, CallerPhase::Done)
            && self.agent.is_none()
            && self.forks.is_empty()
            && self.dropped.iter().all(|a| a.phase == AgentPhase::Done)
    }

    pub(crate) fn next_deadline(&self) -> Option<Instant> {
        let mut all: Vec<Option<Instant>> = vec![self.hard_deadline];
        if !self.ended {
            all.push(self.caller.leg.next_deadline());
        }
        if let Some(a) = &self.agent {
            all.push(a.ring_deadline);
            all.push(a.leg.as_ref().and_then(DialogLeg::next_deadline));
        }
        all.extend(self.forks.iter().map(|a| a.ring_deadline));
        all.extend(self.dropped.iter().map(|a| a.give_up));
        all.into_iter().flatten().min()
    }

    // ----- arrival and agent selection -------------------------------------

    /// Right after creation: 100 Trying, both ports opened, ask for an agent.
    pub(crate) fn start(&mut self, ctx: &mut Ctx<'_>) {
        if let Some(key) = self.caller.invite_key.clone() {
            ctx.respond(&key, self.caller.response(100));
        }
        for (leg, port) in [
            (Leg::Caller, self.caller.leg.port),
            (Leg::Agent, self.agent_port.rtp),
        ] {
            ctx.media(MediaCommand::Open {
                call: self.id,
                leg,
                local_rtp_port: port,
            });
        }
        ctx.event(CallEvent::Arrived {
            call: self.id,
            caller_number: self.caller_number.clone(),
            did: self.did.clone(),
            at: ctx.now,
        });
        if self.hosted {
            self.answer_caller(ctx);
            self.serve(ctx);
        } else {
            ctx.wants_agent.push_back(self.id);
        }
    }

    /// The answer to a request for an agent.
    pub(crate) fn assign(&mut self, ctx: &mut Ctx<'_>, target: Option<AgentTarget>) {
        if self.ended || self.agent.is_some() {
            return;
        }
        let Some(target) = target else {
            let (status, reason) = match self.last_failure {
                None => (480, EndReason::NoAgent),
                Some(Failure::Busy) => (486, EndReason::Busy),
                Some(Failure::NoAnswer) => (480, EndReason::NoAnswer),
                Some(Failure::Rejected(code)) => (480, EndReason::Rejected(code)),
                Some(Failure::Broken) => (480, EndReason::Error),
            };
            self.end(ctx, reason, HangupBy::System, status, None);
            return;
        };
        self.tried.push(target.user.clone());
        if let Err(why) = self.ring(ctx, &target) {
            tracing::warn!(call = %self.id, agent = %target.user, why, "agent not rung");
            self.last_failure = Some(Failure::Broken);
            ctx.wants_agent.push_back(self.id);
        }
    }

    /// Sends the INVITE with our offer to `target` and makes it the current
    /// agent leg.
    fn ring(&mut self, ctx: &mut Ctx<'_>, target: &AgentTarget) -> Result<(), &'static str> {
        let deadline = (!self.hosted).then(|| ctx.now + ctx.cfg.ring_timeout);
        let leg = self.invite(ctx, target, Far::Agent, deadline)?;
        self.agent = Some(leg);
        self.state = CallState::Ringing;
        ctx.event(CallEvent::Ringing {
            call: self.id,
            agent: target.user.clone(),
        });
        Ok(())
    }

    /// Sends the INVITE with our offer to `target`; the leg it starts.
    fn invite(
        &mut self,
        ctx: &mut Ctx<'_>,
        target: &AgentTarget,
        far: Far,
        ring_deadline: Option<Instant>,
    ) -> Result<AgentLeg, &'static str> {
        let uri = Uri::parse(ByteStr::from(target.contact.as_str()))
            .map_err(|_| "registered Contact is not a URI")?;
        let caller_codec = self.caller.leg.media.codec.encoding;
        let mut caps = ctx.cfg.caps.clone();
        caps.codecs = offer_codecs(caller_codec, &ctx.cfg.caps);
        caps.dtmf = true;
        let mut session = LocalSession::new(u64::from(ctx.rng.gen::<u32>()), 1);
        let offer = sdp::offer(
            &caps,
            session.next_media(ctx.cfg.public_addr, self.agent_port.rtp, SDP_USER),
            Direction::SendRecv,
        );
        let local = ctx.cfg.local(target.remote.transport);
        let mut headers = Headers::new();
        headers.push(
            HeaderName::Via,
            format!(
                "SIP/2.0/{} {};branch={};rport",
                target.remote.transport.as_str(),
                local.sent_by,
                ctx.branch()
            ),
        );
        headers.push(HeaderName::MaxForwards, "70");
        // To the trunk we present our own number (`did` of an outbound call).
        let number = match far {
            Far::Trunk => uri_user(&self.did),
            _ => uri_user(&self.caller_number),
        };
        headers.push(
            HeaderName::From,
            format!(
                "\"{}\" <sip:{number}@{}>;tag={}",
                number,
                ctx.cfg.domain,
                new_tag(&mut *ctx.rng)
            ),
        );
        let to = match far {
            Far::Agent => format!("<sip:{}@{}>", uri_user(&target.user), ctx.cfg.domain),
            Far::Emergency | Far::Trunk => format!("<{}>", target.contact),
        };
        headers.push(HeaderName::To, to);
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
        let attempt = self.next_attempt;
        self.next_attempt = self.next_attempt.wrapping_add(1);
        ctx.send(
            self.id,
            Purpose::AgentInvite(attempt),
            target.remote,
            invite.clone(),
        )
        .ok_or("INVITE not sent")?;
        Ok(AgentLeg {
            attempt,
            agent: target.user.clone(),
            far,
            remote: target.remote,
            invite,
            offer,
            session,
            phase: AgentPhase::Calling,
            ring_deadline,
            give_up: None,
            ring_relayed: false,
            leg: None,
        })
    }

    /// The current attempt failed: remember why and ask for the next agent.
    fn agent_failed(&mut self, ctx: &mut Ctx<'_>, failure: Failure) {
        if self.hosted {
            // The owner hears of it through `far_failed` (called by the
            // paths that know which leg failed).
            self.last_failure = Some(failure);
            return;
        }
        self.last_failure = Some(failure);
        self.state = CallState::Routing;
        ctx.wants_agent.push_back(self.id);
    }

    // ----- responses to our requests ---------------------------------------

    /// A response (`None`: the transaction timed out) for `purpose`.
    pub(crate) fn on_response(
        &mut self,
        ctx: &mut Ctx<'_>,
        purpose: Purpose,
        resp: Option<Response>,
    ) {
        match purpose {
            Purpose::AgentInvite(attempt) => self.on_agent_invite_response(ctx, attempt, resp),
            Purpose::Cancel | Purpose::Notify | Purpose::Originate => {}
            Purpose::Bye(leg) => {
                if resp.as_ref().is_none_or(|r| r.status >= 200) {
                    self.leg_gone(leg);
                }
            }
            Purpose::ReInvite(leg) => self.on_reinvite_response(ctx, leg, resp),
        }
    }

    fn on_agent_invite_response(
        &mut self,
        ctx: &mut Ctx<'_>,
        attempt: u32,
        resp: Option<Response>,
    ) {
        if let Some(pos) = self.forks.iter().position(|a| a.attempt == attempt) {
            self.on_fork_response(ctx, pos, resp);
            return;
        }
        let current = self.agent.as_ref().is_some_and(|a| a.attempt == attempt);
        if !current {
            if let Some(pos) = self.dropped.iter().position(|a| a.attempt == attempt) {
                self.on_dropped_response(ctx, pos, resp);
            }
            return;
        }
        let Some(resp) = resp else {
            // Timer B: the phone never answered at all.
            tracing::info!(call = %self.id, "agent unreachable (Timer B)");
            let who = self.agent.take().map(|l| (l.agent, l.far));
            self.agent_failed(ctx, Failure::NoAnswer);
            self.far_failed(ctx, who, Failure::NoAnswer, 408);
            return;
        };
        match resp.status {
            100..=199 => {
                let Some(agent) = self.agent.as_mut() else {
                    return;
                };
                if agent.phase == AgentPhase::Calling {
                    agent.phase = AgentPhase::Early;
                }
                if resp.status > 100 && !agent.ring_relayed && !self.hosted {
                    agent.ring_relayed = true;
                    if let Some(key) = self.caller.invite_key.clone() {
                        let mut ringing = self.caller.response(180);
                        ringing
                            .headers
                            .push(HeaderName::Contact, self.caller_contact(ctx));
                        ctx.respond(&key, ringing);
                    }
                }
            }
            200..=299 => self.agent_answered(ctx, &resp),
            401 | 407
                if self.trunk_auth.is_some()
                    && self.agent.as_ref().is_some_and(|a| a.far == Far::Trunk) =>
            {
                self.answer_trunk_challenge(ctx, &resp);
            }
            status => {
                let failure = Failure::from_status(status);
                tracing::info!(call = %self.id, status, "agent refused");
                let who = self.agent.take().map(|l| (l.agent, l.far));
                self.agent_failed(ctx, failure);
                self.far_failed(ctx, who, failure, status);
            }
        }
    }

    /// A response on an agent leg we are getting rid of.
    fn on_dropped_response(&mut self, ctx: &mut Ctx<'_>, pos: usize, resp: Option<Response>) {
        let id = self.id;
        let leg = &mut self.dropped[pos];
        let Some(resp) = resp else {
            leg.phase = AgentPhase::Done;
            return;
        };
        match (leg.phase, resp.status) {
            (AgentPhase::CancelPending, 100..=199) => {
                // §9.1: now the CANCEL may go.
                let cancel = leg.cancel();
                ctx.send(id, Purpose::Cancel, leg.remote, cancel);
                leg.phase = AgentPhase::Cancelling;
                leg.give_up = Some(ctx.now + ctx.timeout());
            }
            (_, 100..=199) => {}
            (
                AgentPhase::Calling
                | AgentPhase::Early
                | AgentPhase::CancelPending
                | AgentPhase::Cancelling,
                200..=299,
            ) => {
                // The phone answered as we gave up: ACK, then BYE (§15).
                tracing::debug!(call = %id, "200 crossed our CANCEL; ACK and BYE");
                Self::ack_and_bye(ctx, id, leg, &resp);
            }
            (AgentPhase::Calling | AgentPhase::Early, _)
            | (AgentPhase::CancelPending | AgentPhase::Cancelling, _) => {
                leg.phase = AgentPhase::Done;
            }
            _ => {}
        }
    }

    /// For a leg we no longer want that answered 2xx.
    fn ack_and_bye(ctx: &mut Ctx<'_>, id: CallId, leg: &mut AgentLeg, resp: &Response) {
        let local = ctx.cfg.local(leg.remote.transport);
        let Ok(mut dialog) = Dialog::new_uac(&leg.invite, resp, leg.remote, local) else {
            leg.phase = AgentPhase::Done;
            return;
        };
        let ack = dialog.ack(leg.invite_cseq(), &ctx.branch());
        ctx.tx
            .send_stateless(leg.remote, &Message::Request(ack.clone()));
        let bye = dialog.request(Method::Bye, &ctx.branch());
        ctx.index
            .dialogs
            .insert(dialog.id().clone(), (id, LegRef::Agent(leg.attempt)));
        ctx.send(
            id,
            Purpose::Bye(LegRef::Agent(leg.attempt)),
            leg.remote,
            bye,
        );
        leg.phase = AgentPhase::Closing;
        leg.give_up = Some(ctx.now + ctx.timeout() + ctx.t1());
        let cseq = leg.invite_cseq();
        leg.leg = Some(DialogLeg::closing(
            dialog,
            &leg.offer,
            &leg.session,
            (cseq, ack),
        ));
    }

    /// The agent answered: ACK, check its answer, answer the caller, connect.
    fn agent_answered(&mut self, ctx: &mut Ctx<'_>, resp: &Response) {
        let id = self.id;
        let Some(agent) = self.agent.as_mut() else {
            return;
        };
        let local = ctx.cfg.local(agent.remote.transport);
        let mut dialog = match Dialog::new_uac(&agent.invite, resp, agent.remote, local) {
            Ok(d) => d,
            Err(e) => {
                // Without a dialog we cannot even ACK it properly; its INVITE
                // transaction is over, so the phone will give up by itself.
                tracing::warn!(call = %id, %e, "unusable 2xx from the agent");
                self.agent = None;
                self.agent_failed(ctx, Failure::Broken);
                return;
            }
        };
        let cseq = agent.invite_cseq();
        let ack = dialog.ack(cseq, &ctx.branch());
        ctx.tx
            .send_stateless(agent.remote, &Message::Request(ack.clone()));
        ctx.index
            .dialogs
            .insert(dialog.id().clone(), (id, LegRef::Agent(agent.attempt)));
        agent.ring_deadline = None;
        let negotiated = SessionDescription::parse(&resp.body)
            .map_err(|e| e.to_string())
            .and_then(|answer| {
                sdp::accept_answer(&agent.offer, &answer).map_err(|e| e.to_string())
            });
        let negotiated = match negotiated {
            Ok(n) => n,
            Err(e) => {
                let who = (agent.agent.clone(), agent.far.clone());
                // RFC 3264 §6.1 broken: the call with this phone cannot work.
                tracing::warn!(call = %id, %e, "agent's SDP answer unusable; BYE");
                let bye = dialog.request(Method::Bye, &ctx.branch());
                ctx.send(
                    id,
                    Purpose::Bye(LegRef::Agent(agent.attempt)),
                    agent.remote,
                    bye,
                );
                agent.phase = AgentPhase::Closing;
                agent.give_up = Some(ctx.now + ctx.timeout() + ctx.t1());
                agent.leg = Some(DialogLeg::closing(
                    dialog,
                    &agent.offer,
                    &agent.session,
                    (cseq, ack),
                ));
                if let Some(leg) = self.agent.take() {
                    self.dropped.push(leg);
                }
                self.agent_failed(ctx, Failure::Broken);
                self.far_failed(ctx, Some(who), Failure::Broken, 488);
                return;
            }
        };
        let mut leg = DialogLeg::new(
            dialog,
            negotiated,
            agent.offer.clone(),
            Direction::SendRecv,
            agent.session.clone(),
            self.agent_port.rtp,
        );
        leg.last_ack = Some((cseq, ack));
        agent.phase = AgentPhase::Up;
        let agent_name = agent.agent.clone();
        let far = agent.far.clone();
        let agent_media = leg.media.clone();
        agent.leg = Some(leg);
        self.cancel_forks(ctx);

        if self.caller.phase == CallerPhase::Proceeding {
            self.answer_caller(ctx);
        }
        let caller_media = &self.caller.leg.media;
        ctx.media(MediaCommand::Connect {
            call: id,
            caller_remote: caller_media.remote_rtp,
            agent_remote: agent_media.remote_rtp,
            caller_codec: caller_media.codec,
            agent_codec: agent_media.codec,
            caller_dtmf_pt: caller_media.telephone_event,
            agent_dtmf_pt: agent_media.telephone_event,
            caller_direction: caller_media.remote_direction,
            agent_direction: agent_media.remote_direction,
        });
        self.state = if self.caller.leg.pending_2xx.is_some() {
            CallState::Answered
        } else {
            CallState::Connected
        };
        match far {
            Far::Agent => {
                self.answered.get_or_insert(ctx.now);
                ctx.event(CallEvent::Answered {
                    call: id,
                    agent: agent_name,
                    at: ctx.now,
                });
            }
            Far::Emergency => ctx.event(CallEvent::Transferred {
                call: id,
                number: agent_name,
                at: ctx.now,
            }),
            Far::Trunk => {
                // A callback's citizen answered: the agent is bridged now.
                self.answered = Some(ctx.now);
                ctx.event(CallEvent::Answered {
                    call: id,
                    agent: self.callback_agent.clone().unwrap_or_default(),
                    at: ctx.now,
                });
            }
        }
    }

    /// Sends our 200 (with the answer computed when the INVITE came) to the
    /// caller and starts retransmitting it until the ACK (§13.3.1.4).
    fn answer_caller(&mut self, ctx: &mut Ctx<'_>) {
        let Some(key) = self.caller.invite_key.take() else {
            return;
        };
        let mut ok = self.caller.response(200);
        ok.headers
            .push(HeaderName::Contact, self.caller_contact(ctx));
        ok.headers.push(HeaderName::Allow, ALLOW);
        ok.headers.push(HeaderName::ContentType, "application/sdp");
        ok.body = Bytes::from(self.caller.leg.our_sdp.to_string());
        ok.headers
            .set(HeaderName::Server, ctx.cfg.server_name.clone());
        ctx.respond(&key, ok.clone());
        ctx.index.invites.remove(&key);
        self.caller.leg.dialog.confirm();
        self.caller.phase = CallerPhase::Up;
        let cseq = self
            .caller
            .invite
            .headers
            .cseq()
            .map(|c| c.seq)
            .unwrap_or(0);
        self.caller.leg.pending_2xx = Some(Retransmit {
            response: ok.clone(),
            cseq,
            next: ctx.now + ctx.t1(),
            interval: ctx.t1(),
            give_up: ctx.now + ctx.timeout(),
        });
        self.caller.leg.last_2xx = Some((cseq, ok));
    }

    /// A retransmitted 2xx: ACK it again (§13.2.2.4).
    pub(crate) fn on_stray_2xx(&mut self, ctx: &mut Ctx<'_>, leg: LegRef, resp: &Response) {
        let Ok(cseq) = resp.headers.cseq() else {
            return;
        };
        let Some((remote, dl)) = self.dialog_leg(leg) else {
            return;
        };
        if let Some((seq, ack)) = &dl.last_ack {
            if *seq == cseq.seq {
                ctx.tx
                    .send_stateless(remote, &Message::Request(ack.clone()));
            }
        }
    }

    /// The leg `r`'s remote and dialog part, current or being torn down.
    fn dialog_leg(&mut self, r: LegRef) -> Option<(Remote, &mut DialogLeg)> {
        match r {
            LegRef::Caller => Some((self.caller.remote, &mut self.caller.leg)),
            LegRef::Agent(n) => self
                .agent
                .iter_mut()
                .chain(self.dropped.iter_mut())
                .find(|a| a.attempt == n)
                .and_then(|a| {
                    let remote = a.remote;
                    a.leg.as_mut().map(|l| (remote, l))
                }),
        }
    }

    /// Our Contact for the caller leg.
    fn caller_contact(&self, ctx: &Ctx<'_>) -> String {
        ctx.cfg.local(self.caller.remote.transport).contact
    }

    /// A BYE on `leg` was answered (or timed out), or the peer sent BYE.
    fn leg_gone(&mut self, leg: LegRef) {
        match leg {
            LegRef::Caller => {
                self.caller.phase = CallerPhase::Done;
                self.caller.leg.quiesce();
            }
            LegRef::Agent(n) => {
                if self.agent.as_ref().is_some_and(|a| a.attempt == n) {
                    if let Some(a) = self.agent.as_mut() {
                        a.phase = AgentPhase::Done;
                    }
                } else if let Some(a) = self.dropped.iter_mut().find(|a| a.attempt == n) {
                    a.phase = AgentPhase::Done;
                }
            }
        }
    }

    // ----- requests from the legs -----------------------------------------

    /// A CANCEL from the caller (§9.2): 200 to it; if the INVITE is still
    /// pending, 487 to it and the call ends.
    pub(crate) fn on_cancel(&mut self, ctx: &mut Ctx<'_>, key: &ServerKey, req: &Request) {
        let mut ok = Response::for_request(req, 200);
        if let Some(to) = req.headers.get(&HeaderName::To) {
            ok.headers.set(
                HeaderName::To,
                format!("{to};tag={}", self.caller.local_tag),
            );
        }
        ctx.respond(key, ok);
        if self.caller.phase == CallerPhase::Proceeding {
            self.end(ctx, EndReason::Cancelled, HangupBy::Caller, 487, None);
        }
    }

    /// A copy of the caller's initial INVITE (see `Calls::on_invite_copy`);
    /// false if `req` has another CSeq, so is no copy.
    pub(crate) fn on_invite_copy(
        &mut self,
        ctx: &mut Ctx<'_>,
        key: &ServerKey,
        req: &Request,
    ) -> bool {
        let seq = |r: &Request| r.headers.cseq().ok().map(|c| c.seq);
        if seq(req) != seq(&self.caller.invite) {
            return false;
        }
        let resp = match (&self.caller.leg.last_2xx, self.caller.phase) {
            (Some((_, ok)), CallerPhase::Up) => ok.clone(),
            (_, CallerPhase::Closing) => self.caller.response(481),
            // Still pending under another branch, or refused already.
            _ => self.caller.response(482),
        };
        ctx.respond(key, resp);
        true
    }

    /// The ACK for one of our 2xx.
    pub(crate) fn on_ack(&mut self, _ctx: &mut Ctx<'_>, leg: LegRef, req: &Request) {
        let Ok(cseq) = req.headers.cseq() else {
            return;
        };
        let Some((_, dl)) = self.dialog_leg(leg) else {
            return;
        };
        if dl.pending_2xx.as_ref().is_some_and(|p| p.cseq == cseq.seq) {
            dl.pending_2xx = None;
        }
        if leg == LegRef::Caller && self.state == CallState::Answered {
            self.state = CallState::Connected;
        }
    }

    /// A BYE on leg `r`: 200, and the call ends (the other leg gets a BYE).
    pub(crate) fn on_bye(&mut self, ctx: &mut Ctx<'_>, r: LegRef, key: &ServerKey, req: &Request) {
        let Some((_, dl)) = self.dialog_leg(r) else {
            ctx.respond(key, Response::for_request(req, 481));
            return;
        };
        if dl.dialog.on_request(req) == RequestCheck::OutOfOrder {
            ctx.respond(key, Response::for_request(req, 500));
            return;
        }
        ctx.respond(key, Response::for_request(req, 200));
        if r == LegRef::Caller && self.caller.phase == CallerPhase::Proceeding {
            // A BYE in the early dialog (§15): the INVITE gets 487.
            self.end(ctx, EndReason::Cancelled, HangupBy::Caller, 487, None);
            return;
        }
        let current_agent =
            matches!(r, LegRef::Agent(n) if self.agent.as_ref().is_some_and(|a| a.attempt == n));
        self.leg_gone(r);
        let callback = self.callback_agent.is_some();
        if current_agent && self.hosted && !self.far_is_emergency() && !callback {
            self.far_left(ctx);
            return;
        }
        let by = match r {
            LegRef::Caller => HangupBy::Caller,
            LegRef::Agent(_) if current_agent => HangupBy::Agent,
            // A leg we were tearing down anyway.
            LegRef::Agent(_) => return,
        };
        self.end(ctx, EndReason::Normal, by, 480, None);
    }

    /// A re-INVITE on leg `r` (hold, resume, a new address; §14.2).
    pub(crate) fn on_reinvite(
        &mut self,
        ctx: &mut Ctx<'_>,
        r: LegRef,
        key: &ServerKey,
        req: &Request,
    ) {
        if let LegRef::Agent(n) = r {
            if self.agent.as_ref().is_none_or(|a| a.attempt != n) {
                // A leg we are tearing down.
                ctx.respond(key, Response::for_request(req, 481));
                return;
            }
        }
        let connected = self.state == CallState::Connected
            || (r == LegRef::Caller
                && self.hosted
                && self.caller.phase == CallerPhase::Up
                && self
                    .agent
                    .as_ref()
                    .is_none_or(|a| a.phase != AgentPhase::Up));
        let ended = self.ended;
        let id = self.id;
        let cfg_addr = ctx.cfg.public_addr;
        let contact = match r {
            LegRef::Caller => self.caller_contact(ctx),
            LegRef::Agent(_) => self
                .agent
                .as_ref()
                .map(|a| ctx.cfg.local(a.remote.transport).contact)
                .unwrap_or_default(),
        };
        let other_busy = self
            .dialog_leg(other(r, self.agent.as_ref().map(|a| a.attempt)))
            .is_some_and(|(_, l)| l.pending_2xx.is_some());
        let Some((_, dl)) = self.dialog_leg(r) else {
            ctx.respond(key, Response::for_request(req, 481));
            return;
        };
        let seq = req.headers.cseq().map(|c| c.seq).unwrap_or(0);
        match dl.dialog.on_request(req) {
            RequestCheck::OutOfOrder => {
                ctx.respond(key, Response::for_request(req, 500));
                return;
            }
            RequestCheck::Repeat => {
                // A copy that crossed our 2xx (its transaction is gone).
                let resp = match &dl.last_2xx {
                    Some((s, ok)) if *s == seq => ok.clone(),
                    _ => Response::for_request(req, 500),
                };
                ctx.respond(key, resp);
                return;
            }
            RequestCheck::New => {}
        }
        if ended {
            ctx.respond(key, Response::for_request(req, 481));
            return;
        }
        if !connected || dl.reinvite.is_some() || dl.pending_2xx.is_some() || other_busy {
            // §14.2: one offer/answer at a time; the peer retries later.
            ctx.respond(key, Response::for_request(req, 491));
            return;
        }
        let mut ok = Response::for_request(req, 200);
        ok.headers.push(HeaderName::Contact, contact);
        ok.headers.push(HeaderName::Allow, ALLOW);
        ok.headers.push(HeaderName::ContentType, "application/sdp");
        let mut update = None;
        if req.body.is_empty() {
            // No offer: ours is the current description, unchanged (module docs).
            ok.body = Bytes::from(dl.our_sdp.to_string());
        } else {
            if !is_sdp(req) {
                let mut r415 = Response::for_request(req, 415);
                r415.headers.push(HeaderName::Accept, "application/sdp");
                ctx.respond(key, r415);
                return;
            }
            let offer = match SessionDescription::parse(&req.body) {
                Ok(o) => o,
                Err(_) => {
                    ctx.respond(key, Response::for_request(req, 400));
                    return;
                }
            };
            let port = dl.port;
            match sdp::answer(
                &offer,
                &ctx.cfg.caps,
                dl.session.next_media(cfg_addr, port, SDP_USER),
            ) {
                Ok(n) => {
                    ok.body = Bytes::from(n.answer.to_string());
                    dl.our_sdp = n.answer.clone();
                    dl.our_direction = n.local_direction;
                    dl.wanted_direction = n.local_direction;
                    update = Some(n.clone());
                    dl.media = n;
                }
                Err(_) => {
                    // §14.2: the old session stays.
                    ctx.respond(key, Response::for_request(req, 488));
                    return;
                }
            }
        }
        ok.headers
            .set(HeaderName::Server, ctx.cfg.server_name.clone());
        ctx.respond(key, ok.clone());
        dl.pending_2xx = Some(Retransmit {
            response: ok.clone(),
            cseq: seq,
            next: ctx.now + ctx.t1(),
            interval: ctx.t1(),
            give_up: ctx.now + ctx.timeout(),
        });
        dl.last_2xx = Some((seq, ok));
        let Some(n) = update else {
            return;
        };
        let leg = match r {
            LegRef::Caller => Leg::Caller,
            LegRef::Agent(_) => Leg::Agent,
        };
        ctx.media(MediaCommand::Update {
            call: id,
            leg,
            remote: n.remote_rtp,
            codec: n.codec,
            dtmf_pt: n.telephone_event,
            direction: n.remote_direction,
        });
        // The other leg follows the direction this one declared: if it holds
        // (sendonly), we send to the other leg and do not expect media back.
        let o = other(r, self.agent.as_ref().map(|a| a.attempt));
        if let Some((_, ol)) = self.dialog_leg(o) {
            ol.wanted_direction = n.remote_direction;
        }
        self.sync_direction(ctx, o);
    }

    /// Sends a re-INVITE to leg `r` if what we told it differs from what we want.
    fn sync_direction(&mut self, ctx: &mut Ctx<'_>, r: LegRef) {
        let id = self.id;
        let Some((remote, dl)) = self.dialog_leg(r) else {
            return;
        };
        if dl.reinvite.is_some() || dl.our_direction == dl.wanted_direction {
            return;
        }
        let direction = dl.wanted_direction;
        let mut caps = ctx.cfg.caps.clone();
        caps.codecs = offer_codecs(dl.media.codec.encoding, &ctx.cfg.caps);
        let offer = sdp::offer(
            &caps,
            dl.session
                .next_media(ctx.cfg.public_addr, dl.port, SDP_USER),
            direction,
        );
        let mut req = dl.dialog.request(Method::Invite, &ctx.branch());
        req.headers.push(HeaderName::Allow, ALLOW);
        req.headers.push(HeaderName::ContentType, "application/sdp");
        req.body = Bytes::from(offer.to_string());
        let cseq = dl.dialog.local_cseq();
        if ctx.send(id, Purpose::ReInvite(r), remote, req).is_some() {
            dl.reinvite = Some(OurReinvite {
                cseq,
                offer,
                direction,
            });
        }
    }

    fn on_reinvite_response(&mut self, ctx: &mut Ctx<'_>, r: LegRef, resp: Option<Response>) {
        let id = self.id;
        let leg_kind = match r {
            LegRef::Caller => Leg::Caller,
            LegRef::Agent(_) => Leg::Agent,
        };
        let owner_of_call_id = matches!(r, LegRef::Agent(_));
        let Some((remote, dl)) = self.dialog_leg(r) else {
            return;
        };
        let status = resp.as_ref().map_or(408, |r| r.status);
        if status < 200 {
            return;
        }
        let Some(ours) = dl.reinvite.take() else {
            return;
        };
        match (status, resp) {
            (200..=299, Some(resp)) => {
                let ack = dl.dialog.ack(ours.cseq, &ctx.branch());
                ctx.tx
                    .send_stateless(remote, &Message::Request(ack.clone()));
                dl.last_ack = Some((ours.cseq, ack));
                dl.dialog.on_refresh_response(&resp);
                dl.our_sdp = ours.offer.clone();
                dl.our_direction = ours.direction;
                match SessionDescription::parse(&resp.body)
                    .map_err(|e| e.to_string())
                    .and_then(|a| sdp::accept_answer(&ours.offer, &a).map_err(|e| e.to_string()))
                {
                    Ok(n) => {
                        ctx.media(MediaCommand::Update {
                            call: id,
                            leg: leg_kind,
                            remote: n.remote_rtp,
                            codec: n.codec,
                            dtmf_pt: n.telephone_event,
                            direction: n.remote_direction,
                        });
                        dl.media = n;
                    }
                    Err(e) => {
                        tracing::warn!(call = %id, %e, "answer to our re-INVITE unusable; keeping the old media");
                    }
                }
                dl.reoffers = 0;
                self.sync_direction(ctx, r);
            }
            (491, _) => {
                // §14.1: retry after a random time — 2.1–4 s if we chose the
                // Call-ID (the agent leg), else 0–2 s, in 10 ms units.
                if dl.reoffers < MAX_REOFFERS {
                    dl.reoffers += 1;
                    let ticks: u64 = if owner_of_call_id {
                        ctx.rng.gen_range(210..=400)
                    } else {
                        ctx.rng.gen_range(0..=200)
                    };
                    dl.reoffer_at = Some(ctx.now + Duration::from_millis(ticks * 10));
                }
            }
            (408 | 481, _) => {
                // §12.2.1.2: the dialog is gone.
                tracing::info!(call = %id, status, "re-INVITE failed; ending the call");
                self.leg_gone(r);
                let by = HangupBy::System;
                self.end(ctx, EndReason::Error, by, 480, None);
            }
            _ => {
                // §14.1: the old session stays.
                tracing::debug!(call = %id, status, "re-INVITE refused");
            }
        }
    }

    /// The caller's INVITE transaction is gone without our final response.
    pub(crate) fn on_invite_lost(&mut self, ctx: &mut Ctx<'_>) {
        if self.caller.phase == CallerPhase::Proceeding {
            self.caller.invite_key = None;
            self.caller.phase = CallerPhase::Done;
            self.end(ctx, EndReason::Error, HangupBy::System, 500, None);
        }
    }

    /// Ends a live call from our side; false if it had ended already.
    pub(crate) fn hang_up(
        &mut self,
        ctx: &mut Ctx<'_>,
        reason: EndReason,
        why: Option<&'static str>,
    ) -> bool {
        if self.ended {
            return false;
        }
        let by = if self.agent_left {
            HangupBy::Agent
        } else {
            HangupBy::System
        };
        self.end(ctx, reason, by, 480, why);
        true
    }

    /// Ends the call because of a server-side failure: `status` to a caller not
    /// yet answered, BYE otherwise; the agent leg is cancelled or BYEd.
    pub(crate) fn fail(
        &mut self,
        ctx: &mut Ctx<'_>,
        reason: EndReason,
        status: u16,
        why: &'static str,
    ) -> bool {
        if self.ended {
            return false;
        }
        self.end(ctx, reason, HangupBy::System, status, Some(why));
        true
    }

    // ----- timers ------------------------------------------------------------

    pub(crate) fn on_timer(&mut self, ctx: &mut Ctx<'_>) {
        let now = ctx.now;
        // Ring timeout: CANCEL this agent and try the next one.
        if self
            .agent
            .as_ref()
            .is_some_and(|a| a.ring_deadline.is_some_and(|d| d <= now))
        {
            tracing::info!(call = %self.id, "ring timeout");
            let mut who = None;
            if let Some(leg) = self.agent.take() {
                who = Some((leg.agent.clone(), leg.far.clone()));
                self.drop_agent(ctx, leg, false, None);
            }
            self.agent_failed(ctx, Failure::NoAnswer);
            self.far_failed(ctx, who, Failure::NoAnswer, 408);
        }
        for leg in &mut self.dropped {
            if leg.give_up.is_some_and(|d| d <= now) {
                leg.phase = AgentPhase::Done;
                leg.give_up = None;
            }
        }
        // 2xx retransmissions and re-offers, on both legs.
        let agent_ref = self.agent.as_ref().map(|a| LegRef::Agent(a.attempt));
        let id = self.id;
        for r in std::iter::once(LegRef::Caller).chain(agent_ref) {
            if self.ended {
                break;
            }
            let Some((remote, dl)) = self.dialog_leg(r) else {
                continue;
            };
            let mut ack_timeout = false;
            if let Some(p) = dl.pending_2xx.as_mut() {
                if p.give_up <= now {
                    ack_timeout = true;
                } else if p.next <= now {
                    ctx.tx
                        .send_stateless(remote, &Message::Response(p.response.clone()));
                    p.interval = (p.interval * 2).min(ctx.cfg.timers.t2);
                    p.next = now + p.interval;
                }
            }
            if ack_timeout {
                tracing::info!(call = %id, leg = ?r, "2xx never ACKed; ending the call");
                dl.pending_2xx = None;
                self.end(ctx, EndReason::AckTimeout, HangupBy::System, 480, None);
                break;
            }
            if dl.reoffer_at.is_some_and(|t| t <= now) {
                dl.reoffer_at = None;
                self.sync_direction(ctx, r);
            }
        }
    }

    // ----- the end ------------------------------------------------------------

    /// The one way a call ends. The caller gets `caller_status` if its INVITE is
    /// still pending, else a BYE (unless it hung up); the agent leg is
    /// CANCELled or BYEd (unless it hung up); media closed, ports freed,
    /// [`CallEvent::Ended`] reported. `why` goes into a Reason header (RFC 3326).
    fn end(
        &mut self,
        ctx: &mut Ctx<'_>,
        reason: EndReason,
        by: HangupBy,
        caller_status: u16,
        why: Option<&'static str>,
    ) {
        if self.ended {
            return;
        }
        self.ended = true;
        self.state = CallState::Ending;
        let id = self.id;
        tracing::info!(call = %id, ?reason, by = by.as_str(), "call ended");
        match self.caller.phase {
            CallerPhase::Proceeding => {
                if let Some(key) = self.caller.invite_key.take() {
                    let mut r = self.caller.response(caller_status);
                    if caller_status == 480 || caller_status == 503 {
                        r.headers.push(HeaderName::RetryAfter, RETRY_AFTER);
                    }
                    ctx.respond(&key, r);
                    ctx.index.invites.remove(&key);
                }
                self.caller.phase = CallerPhase::Done;
            }
            CallerPhase::Up if by != HangupBy::Caller => {
                let remote = self.caller.remote;
                let mut bye = self.caller.leg.dialog.request(Method::Bye, &ctx.branch());
                add_reason(&mut bye, why);
                ctx.send(id, Purpose::Bye(LegRef::Caller), remote, bye);
                self.caller.phase = CallerPhase::Closing;
            }
            CallerPhase::Up => self.caller.phase = CallerPhase::Done,
            CallerPhase::Closing | CallerPhase::Done => {}
        }
        self.caller.leg.quiesce();
        if let Some(leg) = self.agent.take() {
            self.drop_agent(ctx, leg, by == HangupBy::Agent, why);
        }
        for leg in std::mem::take(&mut self.forks) {
            self.drop_agent(ctx, leg, false, why);
        }
        ctx.media(MediaCommand::Close { call: id });
        ctx.ports.release(PortPair {
            rtp: self.caller.leg.port,
        });
        ctx.ports.release(self.agent_port);
        // A callback's legs are the other way round: the agent's phone was
        // called first (the caller leg), the citizen second (the far leg).
        let hangup_by = match by {
            HangupBy::Caller if self.callback_agent.is_some() => HangupBy::Agent,
            HangupBy::Agent if self.callback_agent.is_some() => HangupBy::Caller,
            by => by,
        };
        ctx.event(CallEvent::Ended {
            call: id,
            at: ctx.now,
            hangup_by,
            reason,
        });
        // Every leg settles within Timer B/F plus the §9.1 CANCEL wait; this
        // is the backstop.
        self.hard_deadline = Some(ctx.now + ctx.timeout() * 3);
    }

    /// Gets rid of an agent leg (§9.1 CANCEL or §15 BYE) and keeps it in
    /// `dropped` until that is done.
    fn drop_agent(
        &mut self,
        ctx: &mut Ctx<'_>,
        mut leg: AgentLeg,
        peer_hung_up: bool,
        why: Option<&'static str>,
    ) {
        let id = self.id;
        leg.ring_deadline = None;
        match leg.phase {
            AgentPhase::Calling => {
                leg.phase = AgentPhase::CancelPending;
                leg.give_up = Some(ctx.now + ctx.timeout());
            }
            AgentPhase::Early => {
                let cancel = leg.cancel();
                ctx.send(id, Purpose::Cancel, leg.remote, cancel);
                leg.phase = AgentPhase::Cancelling;
                leg.give_up = Some(ctx.now + ctx.timeout());
            }
            AgentPhase::Up if peer_hung_up => leg.phase = AgentPhase::Done,
            AgentPhase::Up => {
                if let Some(dl) = leg.leg.as_mut() {
                    dl.quiesce();
                    let mut bye = dl.dialog.request(Method::Bye, &ctx.branch());
                    add_reason(&mut bye, why);
                    ctx.send(
                        id,
                        Purpose::Bye(LegRef::Agent(leg.attempt)),
                        leg.remote,
                        bye,
                    );
                    leg.phase = AgentPhase::Closing;
                    leg.give_up = Some(ctx.now + ctx.timeout() + ctx.t1());
                } else {
                    leg.phase = AgentPhase::Done;
                }
            }
            AgentPhase::CancelPending
            | AgentPhase::Cancelling
            | AgentPhase::Closing
            | AgentPhase::Done => {}
        }
        if let Some(dl) = leg.leg.as_mut() {
            dl.quiesce();
        }
        if leg.phase != AgentPhase::Done {
            self.dropped.push(leg);
        }
    }
}

/// The other leg of `r` (the current agent attempt for the caller).
fn other(r: LegRef, current_agent: Option<u32>) -> LegRef {
    match (r, current_agent) {
        (LegRef::Caller, Some(n)) => LegRef::Agent(n),
        // No agent: nothing to follow; `dialog_leg` of a missing attempt is None.
        (LegRef::Caller, None) => LegRef::Agent(u32::MAX),
        (LegRef::Agent(_), _) => LegRef::Caller,
    }
}

/// Our codecs with `first`'s law first (no transcoding when the agent takes
/// it), at their static payload types.
fn offer_codecs(first: Encoding, caps: &MediaCaps) -> Vec<Codec> {
    let mut codecs: Vec<Codec> = caps
        .codecs
        .iter()
        .filter(|c| c.encoding == first)
        .chain(caps.codecs.iter().filter(|c| c.encoding != first))
        .copied()
        .collect();
    if codecs.is_empty() {
        codecs = vec![Codec::PCMA, Codec::PCMU];
    }
    codecs
}

/// A caller number fit for the user part of a URI and a quoted display name:
/// digits, letters and `+*#.-_`; anything else makes it `anonymous`.
fn uri_user(s: &str) -> &str {
    let ok = !s.is_empty()
        && s.len() <= 64
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "+*#.-_".contains(c));
    if ok {
        s
    } else {
        "anonymous"
    }
}

/// RFC 3326 Reason on a BYE we send for our own reasons.
fn add_reason(req: &mut Request, why: Option<&'static str>) {
    if let Some(text) = why {
        req.headers.push(
            HeaderName::Other(ByteStr::from_static("Reason")),
            format!("SIP;cause=200;text=\"{text}\""),
        );
    }
}
