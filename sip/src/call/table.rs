//! The call table: which call a transaction, dialog or timer belongs to, and the
//! entry points the endpoint calls for each input.

use std::collections::{BTreeSet, HashMap, VecDeque};
use std::net::IpAddr;
use std::time::{Duration, Instant};

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use super::machine::{
    Call, Callback, CallerLeg, Ctx, LegRef, OriginTarget, Origination, Purpose, Step,
};
use super::{CallControlError, CallEvent, CallId, CallView, EndReason, Leg, MediaCommand};
use crate::dialog::{new_tag, Dialog, DialogId, Local};
use crate::media_ports::MediaPorts;
use crate::message::{ByteStr, HeaderName, Method, Request, Response};
use crate::net::{Remote, Transport};
use crate::outbound::OriginateError;
use crate::sdp::{self, LocalSession, MediaCaps, NegotiationError, SessionDescription};
use crate::transaction::{ClientKey, ServerKey, TimerConfig, TransactionLayer};

/// What the calls need from the endpoint's configuration.
#[derive(Debug, Clone)]
pub(crate) struct CallSettings {
    pub(crate) public_addr: IpAddr,
    pub(crate) sip_port: u16,
    /// Host part of the From/To URIs we write (the registrar realm).
    pub(crate) domain: String,
    pub(crate) ring_timeout: Duration,
    pub(crate) timers: TimerConfig,
    pub(crate) server_name: ByteStr,
    pub(crate) caps: MediaCaps,
    pub(crate) rtp_ports: (u16, u16),
    /// Hotline calls are answered by the server and routed by the owner
    /// (IVR, ACD); see `machine/hosted.rs`. Off: each call rings the first
    /// free registered agent and the caller is answered when the agent is.
    pub(crate) hosted: bool,
    /// Numbers an agent's REFER may transfer a caller to (normalised).
    pub(crate) transfer_numbers: Vec<String>,
}

impl CallSettings {
    /// `host:port` for Via sent-by.
    pub(crate) fn sent_by(&self) -> String {
        match self.public_addr {
            IpAddr::V4(a) => format!("{a}:{}", self.sip_port),
            IpAddr::V6(a) => format!("[{a}]:{}", self.sip_port),
        }
    }

    /// How we name ourselves in a dialog over `transport`.
    pub(crate) fn local(&self, transport: Transport) -> Local {
        let param = match transport {
            Transport::Udp => "",
            Transport::Tcp => ";transport=tcp",
        };
        Local {
            sent_by: self.sent_by(),
            contact: format!("<sip:hotline@{}{param}>", self.sent_by()),
        }
    }
}

/// Why the endpoint let an INVITE in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Admission {
    /// From a trusted trunk to hotline number `did`.
    Hotline { did: String, caller_number: String },
    /// From agent `caller` (digest-authenticated) to agent `callee`.
    Internal { caller: String, callee: String },
}

/// An agent to ring: the user and one of its live bindings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct AgentTarget {
    pub(crate) user: String,
    /// The Contact URI exactly as registered: the Request-URI.
    pub(crate) contact: String,
    /// Where the phone registered from: where the INVITE goes.
    pub(crate) remote: Remote,
}

/// Outputs of the calls for the endpoint.
#[derive(Debug)]
pub(crate) enum CallOutput {
    Media(MediaCommand),
    Event(CallEvent),
}

/// Maps from protocol identifiers to calls. Entries of removed calls are purged
/// with the call; a stale entry would only make a lookup miss.
#[derive(Debug, Default)]
pub(super) struct Index {
    pub(super) clients: HashMap<ClientKey, (CallId, Purpose)>,
    pub(super) dialogs: HashMap<DialogId, (CallId, LegRef)>,
    /// The caller's INVITE server transaction, for CANCEL (§9.2).
    pub(super) invites: HashMap<ServerKey, CallId>,
    /// Call-ID and From tag of caller INVITEs, to recognise copies of an INVITE
    /// that crossed our 2xx (§13.3.1.4) or were merged (§8.2.2.2).
    pub(super) caller_ids: HashMap<(String, String), CallId>,
}

impl Index {
    fn purge(&mut self, id: CallId) {
        self.clients.retain(|_, (c, _)| *c != id);
        self.dialogs.retain(|_, (c, _)| *c != id);
        self.invites.retain(|_, c| *c != id);
        self.caller_ids.retain(|_, c| *c != id);
    }
}

/// The call table. See the [module docs](super).
#[derive(Debug)]
pub(crate) struct Calls {
    settings: CallSettings,
    calls: HashMap<CallId, Call>,
    /// Outbound calls not answered yet (`machine/originate.rs`).
    originations: HashMap<CallId, Origination>,
    index: Index,
    ports: MediaPorts,
    rng: StdRng,
    out: VecDeque<CallOutput>,
    wants_agent: VecDeque<CallId>,
    /// Each call's next deadline, and the deadline recorded per call.
    deadlines: BTreeSet<(Instant, CallId)>,
    scheduled: HashMap<CallId, Instant>,
}

impl Calls {
    pub(crate) fn new(settings: CallSettings, seed: u64) -> Self {
        let (first, last) = settings.rtp_ports;
        Self {
            ports: MediaPorts::new(first, last),
            settings,
            calls: HashMap::new(),
            originations: HashMap::new(),
            index: Index::default(),
            rng: StdRng::seed_from_u64(seed),
            out: VecDeque::new(),
            wants_agent: VecDeque::new(),
            deadlines: BTreeSet::new(),
            scheduled: HashMap::new(),
        }
    }

    fn ctx<'a>(
        &'a mut self,
        now: Instant,
        tx: &'a mut TransactionLayer,
    ) -> (&'a mut HashMap<CallId, Call>, Ctx<'a>) {
        (
            &mut self.calls,
            Ctx {
                now,
                tx,
                cfg: &self.settings,
                rng: &mut self.rng,
                out: &mut self.out,
                ports: &mut self.ports,
                index: &mut self.index,
                wants_agent: &mut self.wants_agent,
            },
        )
    }

    /// Runs `f` on call `id` (if it exists), then reschedules or removes it.
    fn with_call<R>(
        &mut self,
        now: Instant,
        tx: &mut TransactionLayer,
        id: CallId,
        f: impl FnOnce(&mut Call, &mut Ctx<'_>) -> R,
    ) -> Option<R> {
        let (calls, mut ctx) = self.ctx(now, tx);
        let call = calls.get_mut(&id)?;
        let r = f(call, &mut ctx);
        self.settle(now, id);
        Some(r)
    }

    /// Runs `f` on origination `id`, then turns it into a call, drops it or
    /// reschedules it. `None` if `id` is not an origination.
    fn with_origination(
        &mut self,
        now: Instant,
        tx: &mut TransactionLayer,
        id: CallId,
        f: impl FnOnce(&mut Origination, &mut Ctx<'_>) -> Step,
    ) -> Option<()> {
        let mut o = self.originations.remove(&id)?;
        let step = {
            let (_, mut ctx) = self.ctx(now, tx);
            f(&mut o, &mut ctx)
        };
        if let Some(old) = self.scheduled.remove(&id) {
            self.deadlines.remove(&(old, id));
        }
        match step {
            Step::Pending => {
                if let Some(at) = o.next_deadline() {
                    self.deadlines.insert((at, id));
                    self.scheduled.insert(id, at);
                }
                self.originations.insert(id, o);
            }
            Step::Answered(call) => {
                self.calls.insert(id, *call);
                self.settle(now, id);
            }
            Step::Finished => {
                self.index.purge(id);
                tracing::debug!(call = %id, "origination removed");
            }
        }
        Some(())
    }

    /// Places an outbound call to `target` (see `machine/originate.rs`), a
    /// callback if `then` is set. The caller checked the trunk's limits.
    pub(crate) fn originate(
        &mut self,
        now: Instant,
        tx: &mut TransactionLayer,
        target: OriginTarget,
        then: Option<Callback>,
    ) -> Result<CallId, OriginateError> {
        let caller_port = self.ports.allocate().map_err(|_| OriginateError::NoPorts)?;
        let agent_port = match self.ports.allocate() {
            Ok(p) => p,
            Err(_) => {
                self.ports.release(caller_port);
                return Err(OriginateError::NoPorts);
            }
        };
        let id = self.new_id();
        let started = {
            let (_, mut ctx) = self.ctx(now, tx);
            Origination::start(&mut ctx, id, target, then, (caller_port, agent_port))
        };
        match started {
            Ok(o) => {
                if let Some(at) = o.next_deadline() {
                    self.deadlines.insert((at, id));
                    self.scheduled.insert(id, at);
                }
                self.originations.insert(id, o);
                Ok(id)
            }
            Err(e) => {
                self.ports.release(caller_port);
                self.ports.release(agent_port);
                self.index.purge(id);
                Err(OriginateError::Build(e))
            }
        }
    }

    /// A call id used by no call and no origination.
    fn new_id(&mut self) -> CallId {
        loop {
            let id = CallId(self.rng.gen());
            if !self.calls.contains_key(&id) && !self.originations.contains_key(&id) {
                return id;
            }
        }
    }

    /// After a call handled an input: drop it when every leg is done, else
    /// record its next deadline.
    fn settle(&mut self, now: Instant, id: CallId) {
        let Some(call) = self.calls.get(&id) else {
            return;
        };
        if let Some(old) = self.scheduled.remove(&id) {
            self.deadlines.remove(&(old, id));
        }
        if call.is_finished(now) {
            self.calls.remove(&id);
            self.index.purge(id);
            tracing::debug!(call = %id, "call removed");
            return;
        }
        if let Some(at) = call.next_deadline() {
            self.deadlines.insert((at, id));
            self.scheduled.insert(id, at);
        }
    }

    /// A new call for an INVITE the endpoint admitted. Checks the offer and
    /// resources first; `Err` is the response to send instead (400 malformed
    /// SDP or Contact, 415, 488 no offer / no common codec, 503 no ports).
    pub(crate) fn start(
        &mut self,
        now: Instant,
        tx: &mut TransactionLayer,
        key: ServerKey,
        from: Remote,
        invite: Request,
        admission: Admission,
    ) -> Result<CallId, Response> {
        let offer = self.offer_of(&invite)?;
        let caller_port = self.ports.allocate().map_err(|e| {
            tracing::warn!(%e, "INVITE refused: no RTP ports");
            unavailable(&invite)
        })?;
        let agent_port = match self.ports.allocate() {
            Ok(p) => p,
            Err(e) => {
                tracing::warn!(%e, "INVITE refused: no RTP ports");
                self.ports.release(caller_port);
                return Err(unavailable(&invite));
            }
        };
        let release = |ports: &mut MediaPorts| {
            ports.release(caller_port);
            ports.release(agent_port);
        };
        let local_tag = new_tag(&mut self.rng);
        let dialog = match Dialog::new_uas(
            &invite,
            &local_tag,
            from,
            self.settings.local(from.transport),
        ) {
            Ok(d) => d,
            Err(e) => {
                release(&mut self.ports);
                return Err(reason(Response::for_request(&invite, 400), &e.to_string()));
            }
        };
        let mut session = LocalSession::new(u64::from(self.rng.gen::<u32>()), 1);
        let negotiated = match sdp::answer(
            &offer,
            &self.settings.caps,
            session.next_media(self.settings.public_addr, caller_port.rtp, "hotline"),
        ) {
            Ok(n) => n,
            Err(e) => {
                release(&mut self.ports);
                return Err(self.not_acceptable(&invite, &e));
            }
        };
        let id = self.new_id();
        let hosted = self.settings.hosted && matches!(admission, Admission::Hotline { .. });
        let (caller_number, did, internal_caller) = match admission {
            Admission::Hotline { did, caller_number } => (caller_number, did, None),
            Admission::Internal { caller, callee } => (caller.clone(), callee, Some(caller)),
        };
        let call_id = dialog.id().call_id.clone();
        let remote_tag = dialog.id().remote_tag.clone();
        self.index
            .dialogs
            .insert(dialog.id().clone(), (id, LegRef::Caller));
        self.index.invites.insert(key.clone(), id);
        self.index.caller_ids.insert((call_id, remote_tag), id);
        let caller = CallerLeg::new(
            invite,
            key,
            from,
            local_tag,
            dialog,
            negotiated,
            session,
            caller_port,
        );
        let call = Call::new(
            id,
            now,
            caller_number,
            did,
            internal_caller,
            caller,
            agent_port,
            hosted,
        );
        self.calls.insert(id, call);
        self.with_call(now, tx, id, |call, ctx| call.start(ctx));
        Ok(id)
    }

    /// The SDP offer of an initial INVITE, or the refusal.
    fn offer_of(&self, invite: &Request) -> Result<SessionDescription, Response> {
        if invite.body.is_empty() {
            // Late offer: see the module docs.
            let r = Response::for_request(invite, 488);
            return Err(self.warning(r, 399, "An SDP offer is required"));
        }
        if !is_sdp(invite) {
            let mut r = Response::for_request(invite, 415);
            r.headers.push(HeaderName::Accept, "application/sdp");
            return Err(r);
        }
        SessionDescription::parse(&invite.body).map_err(|e| {
            reason(
                Response::for_request(invite, 400),
                &format!("Malformed SDP: {e}"),
            )
        })
    }

    /// 488 with the RFC 3261 §20.43 warning that fits.
    fn not_acceptable(&self, invite: &Request, e: &NegotiationError) -> Response {
        let code = match e {
            NegotiationError::NoAudio | NegotiationError::UnsupportedTransport { .. } => 304,
            _ => 305,
        };
        self.warning(
            Response::for_request(invite, 488),
            code,
            if code == 304 {
                "Media type not available"
            } else {
                "Incompatible media format"
            },
        )
    }

    fn warning(&self, mut r: Response, code: u16, text: &str) -> Response {
        r.headers.push(
            HeaderName::Warning,
            format!("{code} {} \"{text}\"", self.settings.sent_by()),
        );
        r
    }

    /// An INVITE without To tag that has the Call-ID, From tag and CSeq of a
    /// call's INVITE: a copy that crossed our 2xx (answered with the 2xx again,
    /// §13.3.1.4), or a merged request (482, §8.2.2.2). False when it is not a
    /// copy (a new attempt with a higher CSeq is a new call).
    pub(crate) fn on_invite_copy(
        &mut self,
        now: Instant,
        tx: &mut TransactionLayer,
        key: &ServerKey,
        req: &Request,
    ) -> bool {
        let (Ok(call_id), Ok(from)) = (req.headers.call_id(), req.headers.from_addr()) else {
            return false;
        };
        let lookup = (
            call_id.as_str().to_owned(),
            from.tag().unwrap_or_default().to_owned(),
        );
        let Some(&id) = self.index.caller_ids.get(&lookup) else {
            return false;
        };
        self.with_call(now, tx, id, |call, ctx| call.on_invite_copy(ctx, key, req))
            .unwrap_or(false)
    }

    /// A request with a To tag (re-INVITE, BYE): routed to its dialog. False when
    /// no dialog matches (the endpoint answers 481).
    pub(crate) fn on_in_dialog(
        &mut self,
        now: Instant,
        tx: &mut TransactionLayer,
        key: &ServerKey,
        req: &Request,
    ) -> bool {
        let Some(did) = DialogId::of_request(req) else {
            return false;
        };
        let Some(&(id, leg)) = self.index.dialogs.get(&did) else {
            return false;
        };
        let allowed = self.settings.transfer_numbers.clone();
        self.with_call(now, tx, id, |call, ctx| match req.method {
            Method::Bye => call.on_bye(ctx, leg, key, req),
            Method::Refer => call.on_refer(ctx, leg, key, req, &allowed),
            Method::Info => call.on_info(ctx, leg, key, req),
            _ => call.on_reinvite(ctx, leg, key, req),
        })
        .is_some()
    }

    /// A CANCEL for the INVITE transaction `invite` (§9.2). False when that is
    /// not a call's pending INVITE (the endpoint answers 200 or 481 itself).
    pub(crate) fn on_cancel(
        &mut self,
        now: Instant,
        tx: &mut TransactionLayer,
        key: &ServerKey,
        invite: &ServerKey,
        req: &Request,
    ) -> bool {
        let Some(&id) = self.index.invites.get(invite) else {
            return false;
        };
        self.with_call(now, tx, id, |call, ctx| call.on_cancel(ctx, key, req))
            .is_some()
    }

    /// An ACK outside any transaction: the ACK for one of our 2xx.
    pub(crate) fn on_ack(&mut self, now: Instant, tx: &mut TransactionLayer, req: &Request) {
        let Some(did) = DialogId::of_request(req) else {
            return;
        };
        if let Some(&(id, leg)) = self.index.dialogs.get(&did) {
            self.with_call(now, tx, id, |call, ctx| call.on_ack(ctx, leg, req));
        }
    }

    /// A response for one of our client transactions.
    pub(crate) fn on_response(
        &mut self,
        now: Instant,
        tx: &mut TransactionLayer,
        key: &ClientKey,
        resp: Response,
    ) {
        let Some(&(id, purpose)) = self.index.clients.get(key) else {
            return;
        };
        if resp.status >= 200 {
            self.index.clients.remove(key);
        }
        if self.originations.contains_key(&id) {
            if purpose == Purpose::Originate {
                self.with_origination(now, tx, id, |o, ctx| o.on_response(ctx, Some(resp)));
            }
            return;
        }
        self.with_call(now, tx, id, |call, ctx| {
            call.on_response(ctx, purpose, Some(resp))
        });
    }

    /// Timer B/F (or a transport error) ended one of our client transactions.
    pub(crate) fn on_client_timeout(
        &mut self,
        now: Instant,
        tx: &mut TransactionLayer,
        key: &ClientKey,
    ) {
        let Some((id, purpose)) = self.index.clients.remove(key) else {
            return;
        };
        if self.originations.contains_key(&id) {
            if purpose == Purpose::Originate {
                self.with_origination(now, tx, id, |o, ctx| o.on_response(ctx, None));
            }
            return;
        }
        self.with_call(now, tx, id, |call, ctx| {
            call.on_response(ctx, purpose, None)
        });
    }

    /// A response no transaction wanted: a retransmitted 2xx to one of our
    /// INVITEs, re-ACKed from the dialog (§13.2.2.4).
    pub(crate) fn on_stray(&mut self, now: Instant, tx: &mut TransactionLayer, resp: &Response) {
        if !(200..300).contains(&resp.status) {
            return;
        }
        let Some(did) = DialogId::of_response(resp) else {
            return;
        };
        if let Some(&(id, leg)) = self.index.dialogs.get(&did) {
            self.with_call(now, tx, id, |call, ctx| call.on_stray_2xx(ctx, leg, resp));
        }
    }

    /// A server transaction ended without our final response reaching the
    /// caller (the INVITE guard fired, or the transport failed).
    pub(crate) fn on_server_timeout(
        &mut self,
        now: Instant,
        tx: &mut TransactionLayer,
        key: &ServerKey,
    ) {
        let Some(id) = self.index.invites.remove(key) else {
            return;
        };
        self.with_call(now, tx, id, |call, ctx| call.on_invite_lost(ctx));
    }

    /// The relay saw no media on `leg` for too long: BYE both legs.
    pub(crate) fn media_timeout(
        &mut self,
        now: Instant,
        tx: &mut TransactionLayer,
        id: CallId,
        leg: Leg,
    ) -> bool {
        self.with_call(now, tx, id, |call, ctx| {
            tracing::info!(call = %id, ?leg, "media timeout");
            call.hang_up(ctx, EndReason::MediaTimeout, Some("Media Timeout"))
        })
        .unwrap_or(false)
    }

    /// The relay could not open the media of `id` (a port taken by another
    /// process): the pair is quarantined and the call ends with
    /// `EndReason::Error` (`503` to a caller not yet answered: a server-side
    /// resource failure that a load balancer may route around).
    pub(crate) fn media_failed(
        &mut self,
        now: Instant,
        tx: &mut TransactionLayer,
        id: CallId,
        rtp_port: u16,
    ) -> bool {
        if self.ports.quarantine(rtp_port) {
            tracing::error!(
                rtp_port,
                "RTP port pair taken out of service: another process holds it (check [sip] rtp_ports)"
            );
        }
        self.with_call(now, tx, id, |call, ctx| {
            call.fail(ctx, EndReason::Error, 503, "Media Unavailable")
        })
        .unwrap_or(false)
    }

    /// Ends a call on the operator's behalf.
    pub(crate) fn hang_up(&mut self, now: Instant, tx: &mut TransactionLayer, id: CallId) -> bool {
        let mut done = false;
        if self
            .with_origination(now, tx, id, |o, ctx| {
                done = o.hang_up(ctx);
                Step::Pending
            })
            .is_some()
        {
            return done;
        }
        self.with_call(now, tx, id, |call, ctx| {
            call.hang_up(ctx, EndReason::Normal, None)
        })
        .unwrap_or(false)
    }

    /// Fires every call timer due at `now`.
    pub(crate) fn handle_timeout(&mut self, now: Instant, tx: &mut TransactionLayer) {
        // Each due call runs once per call of this function, whatever deadline
        // it sets next: no loop here can spin.
        let due: Vec<(Instant, CallId)> = self
            .deadlines
            .iter()
            .take_while(|(at, _)| *at <= now)
            .copied()
            .collect();
        for entry in due {
            self.deadlines.remove(&entry);
            self.scheduled.remove(&entry.1);
            if self
                .with_origination(now, tx, entry.1, |o, ctx| o.on_timer(ctx))
                .is_none()
            {
                self.with_call(now, tx, entry.1, |call, ctx| call.on_timer(ctx));
            }
        }
    }

    #[must_use]
    pub(crate) fn poll_timeout(&self) -> Option<Instant> {
        self.deadlines.first().map(|(at, _)| *at)
    }

    /// Rings `target` for hosted call `id` (the ACD's choice).
    pub(crate) fn ring_agent(
        &mut self,
        now: Instant,
        tx: &mut TransactionLayer,
        id: CallId,
        target: &AgentTarget,
    ) -> Result<(), CallControlError> {
        self.with_call(now, tx, id, |call, ctx| call.ring_agent(ctx, target))
            .unwrap_or(Err(CallControlError::UnknownCall))
    }

    /// Stops ringing `agent` for call `id`.
    pub(crate) fn stop_ringing(
        &mut self,
        now: Instant,
        tx: &mut TransactionLayer,
        id: CallId,
        agent: &str,
    ) -> bool {
        self.with_call(now, tx, id, |call, ctx| call.stop_ringing(ctx, agent))
            .unwrap_or(false)
    }

    /// Transfers call `id` to the emergency line `target`.
    pub(crate) fn transfer(
        &mut self,
        now: Instant,
        tx: &mut TransactionLayer,
        id: CallId,
        target: &AgentTarget,
    ) -> Result<(), CallControlError> {
        self.with_call(now, tx, id, |call, ctx| call.transfer(ctx, target))
            .unwrap_or(Err(CallControlError::UnknownCall))
    }

    /// Releases the agent talking on hosted call `id`; the caller stays.
    pub(crate) fn release_agent(
        &mut self,
        now: Instant,
        tx: &mut TransactionLayer,
        id: CallId,
    ) -> Result<(), CallControlError> {
        self.with_call(now, tx, id, |call, ctx| call.release_agent(ctx))
            .unwrap_or(Err(CallControlError::UnknownCall))
    }

    /// A call that needs an agent: answer with [`assign`](Self::assign).
    #[must_use]
    pub(crate) fn poll_agent_request(&mut self) -> Option<CallId> {
        self.wants_agent.pop_front()
    }

    /// The agent chosen for call `id` (`None`: nobody left, the call fails).
    pub(crate) fn assign(
        &mut self,
        now: Instant,
        tx: &mut TransactionLayer,
        id: CallId,
        target: Option<AgentTarget>,
    ) {
        self.with_call(now, tx, id, |call, ctx| call.assign(ctx, target));
    }

    #[must_use]
    pub(crate) fn poll_output(&mut self) -> Option<CallOutput> {
        self.out.pop_front()
    }

    /// Calls in the table (ending ones included until their legs are done),
    /// outbound calls not answered yet included.
    pub(crate) fn len(&self) -> usize {
        self.calls.len() + self.originations.len()
    }

    /// Snapshots, oldest first; outbound calls not answered yet included
    /// (so a shutdown hangs them up too).
    pub(crate) fn views(&self) -> Vec<CallView> {
        let mut v: Vec<CallView> = self
            .calls
            .values()
            .map(Call::view)
            .chain(self.originations.values().map(Origination::view))
            .collect();
        v.sort_by_key(|c| (c.started, c.id));
        v
    }

    /// Whether `user` is on a call (being rung, talking, or calling another agent).
    pub(crate) fn is_busy(&self, user: &str) -> bool {
        self.calls.values().any(|c| c.occupies(user))
    }

    /// Every agent some call keeps busy: one pass over the calls, for a
    /// choice that looks at many agents (asking [`is_busy`](Self::is_busy)
    /// per agent would scan every call for each one).
    pub(crate) fn busy_users(&self) -> std::collections::HashSet<&str> {
        self.calls.values().flat_map(Call::occupants).collect()
    }

    /// Whether call `id` already tried `user`.
    pub(crate) fn has_tried(&self, id: CallId, user: &str) -> bool {
        self.calls.get(&id).is_some_and(|c| c.has_tried(user))
    }

    /// For an internal call, the agent that was dialled.
    pub(crate) fn internal_callee(&self, id: CallId) -> Option<&str> {
        self.calls.get(&id).and_then(Call::internal_callee)
    }

    pub(crate) fn ports(&self) -> &MediaPorts {
        &self.ports
    }
}

/// True when a body is SDP (or untyped, which we read as SDP).
pub(super) fn is_sdp(req: &Request) -> bool {
    req.headers.get(&HeaderName::ContentType).is_none_or(|ct| {
        ct.split(';')
            .next()
            .is_some_and(|t| t.trim().eq_ignore_ascii_case("application/sdp"))
    })
}

fn reason(mut r: Response, text: &str) -> Response {
    // Reason phrases are one line of text (the printer blanks CR/LF anyway).
    r.reason = ByteStr::from(text.chars().take(120).collect::<String>());
    r
}

/// 503 with Retry-After (RFC 3261 §21.5.4): a load balancer in front of several
/// nodes tries another one.
fn unavailable(invite: &Request) -> Response {
    let mut r = Response::for_request(invite, 503);
    r.headers.push(HeaderName::RetryAfter, "30");
    r
}
