//! The server's SIP user-agent core, sans-IO.
//!
//! Bytes in, bytes out: [`Endpoint::handle_bytes`] parses what a socket read,
//! answers malformed requests (`400`/`505`, RFC 4475 §3.1.2) or drops malformed
//! responses, stamps `received`/`rport` on the top Via (RFC 3261 §18.2.1, RFC 3581)
//! and passes the message to the [`TransactionLayer`]. New requests that come out
//! of the transaction layer are routed by method:
//!
//! - `REGISTER` → the [`Registrar`] (digest authentication, bindings);
//! - `OPTIONS` → `200` with `Allow`, `Accept` and `Supported` (RFC 3261 §11.2);
//! - `INVITE` without To tag → admission (below), then a new B2BUA call
//!   ([`crate::call`]); `INVITE` and `BYE` with a To tag → the call owning that
//!   dialog, else `481` (§12.2.2); `ACK` → the call whose 2xx it acknowledges;
//!   `CANCEL` → the call whose INVITE it cancels, `200` if its transaction has
//!   already answered, `481` if there is none (§9.2);
//! - a request carrying `Require` with an extension we lack → `420` (§8.2.2.3);
//! - a method this server knows but does not serve yet → `405` with `Allow`;
//! - an unknown method → `501` (§8.2.1). Nothing is ever left unanswered
//!   except `ACK`, which has no response.
//!
//! # Who may call what (toll fraud)
//!
//! The server only ever sends an INVITE to the registered Contact of one of its
//! own agents, to the emergency gateway, and through the outbound trunk when
//! its owner asks for a survey call or a callback ([`Endpoint::originate`],
//! [`Endpoint::originate_callback`], within the trunk's limits); no request
//! from outside can make it call an outside number. An INVITE without To tag
//! is admitted when:
//!
//! - it comes from a `trusted_trunks` network and its Request-URI names a
//!   `hotline_numbers` DID (user part of a `sip:` URI, or the number of a
//!   `tel:` URI, visual separators `-.()` ignored; `+86` or `0086` before the
//!   DID is accepted too) → a hotline call, routed by `Endpoint::pick_agent`;
//!   any other number from a trunk → `404`;
//! - it comes from anywhere else, names an agent id, and carries digest
//!   credentials of another agent (challenged with `401 WWW-Authenticate`, the
//!   registrar's accounts and lock-out, RFC 3261 §22.2) → an internal call to
//!   that agent (`480` if it is not registered, `486` if it is busy); any other
//!   number from an untrusted address → `403`, without a challenge.
//!
//! A call's progress comes out as [`Output::Media`] (sockets for the relay) and
//! [`Event::Call`] (CDRs, screen pops).
//!
//! The owner drains [`Endpoint::poll_output`] after every input and sleeps until
//! [`Endpoint::poll_timeout`], as with every state machine in this crate.

use std::collections::VecDeque;
use std::net::IpAddr;
use std::time::{Duration, Instant};

use bytes::Bytes;
use rand::rngs::StdRng;
use rand::SeedableRng;

use crate::call::{
    normalize_dialled, Admission, AgentTarget, CallControlError, CallEvent, CallId, CallSettings,
    CallView, Calls, Leg, MediaCommand,
};
use crate::media_ports::MediaPorts;
use crate::message::{
    error_response, parse, ByteStr, HeaderName, Message, Method, ParseError, Request, Response, Uri,
};
use crate::net::Remote;
use crate::outbound::{Limiter, OutboundTrunk};
use crate::registrar::{BindingView, Registrar, RegistrarConfig, RegistrarEvent};
use crate::sdp::MediaCaps;
use crate::transaction::{self, ServerKey, TimerConfig, TransactionLayer};

/// Methods this server answers itself; listed in `Allow`.
pub const ALLOW: &str = "INVITE, ACK, BYE, CANCEL, OPTIONS, REGISTER, INFO, REFER";
/// Body types we understand.
pub const ACCEPT: &str = "application/sdp";
/// Option tags we support (`Supported`, RFC 3261 §20.37). None yet: `Require` with
/// any tag gets a `420`.
pub const SUPPORTED: &[&str] = &[];

/// Settings of the endpoint and the layers it owns.
#[derive(Debug, Clone)]
pub struct EndpointConfig {
    pub timers: TimerConfig,
    pub registrar: RegistrarConfig,
    /// The `Server` header value.
    pub server_name: String,
    /// `[sip] public_addr`: our address in SDP (`c=`, `o=`), Via and Contact.
    pub public_addr: IpAddr,
    /// The SIP port peers reach us on (Via sent-by, Contact): the port actually
    /// bound, not 0.
    pub sip_port: u16,
    /// `[sip] rtp_ports`, inclusive: RTP/RTCP pairs are taken from here.
    pub rtp_ports: (u16, u16),
    /// `[hotline] numbers`: the DIDs answered (Request-URI user part).
    pub hotline_numbers: Vec<String>,
    /// `[hotline] trusted_trunks`: networks (address, prefix length) allowed to
    /// call the hotline numbers without authentication.
    pub trusted_trunks: Vec<(IpAddr, u8)>,
    /// How long one agent's phone rings before the next agent is tried
    /// ([`DEFAULT_RING_TIMEOUT`]). Hosted calls have no ring timer here: the
    /// owner's ACD stops ringing with [`Endpoint::stop_ringing`].
    pub ring_timeout: Duration,
    /// Host hotline calls: answer them at once and let the owner route them
    /// ([`Endpoint::ring_agent`], [`Endpoint::transfer`], [`Endpoint::hang_up`]);
    /// see the `call` module. Off, a hotline call rings the first free
    /// registered agent and the caller is answered when that agent answers.
    pub hosted: bool,
    /// `[emergency] numbers`: what an agent's REFER may transfer a caller to.
    pub emergency_numbers: Vec<String>,
}

/// The ring timeout when the configuration names none.
pub const DEFAULT_RING_TIMEOUT: Duration = Duration::from_secs(20);

/// What the endpoint asks its owner to do.
#[derive(Debug)]
pub enum Output {
    /// Send these bytes (one whole message) to `to`.
    Transmit { to: Remote, data: Bytes },
    /// Something worth logging or counting.
    Event(Event),
    /// Open, connect, update or close the RTP relay of a call.
    Media(MediaCommand),
}

/// Observable happenings.
#[derive(Debug)]
pub enum Event {
    /// Bytes that are not a SIP message (answered with 400/505 when possible).
    ParseError {
        from: Remote,
        error: ParseError,
    },
    Registrar(RegistrarEvent),
    /// A call arrived, rang an agent, was answered, ended, or was refused.
    Call(CallEvent),
}

/// The UA core: transaction layer plus request routing.
pub struct Endpoint {
    transactions: TransactionLayer,
    registrar: Registrar,
    calls: Calls,
    hotline_numbers: Vec<String>,
    trusted_trunks: Vec<(IpAddr, u8)>,
    server_name: ByteStr,
    out: VecDeque<Output>,
    /// `[trunk.outbound]`: where outbound calls go (`None`: none are placed).
    trunk: Option<OutboundTrunk>,
    /// The trunk's concurrency and rate limits.
    limiter: Limiter,
    /// Set when a binding may have changed (a successful REGISTER, an expiry).
    bindings_changed: bool,
}

impl std::fmt::Debug for Endpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Endpoint")
            .field("transactions", &self.transactions.len())
            .field("calls", &self.calls.len())
            .finish_non_exhaustive()
    }
}

impl Endpoint {
    /// `seed` feeds the nonce generator; pass real randomness in production and a
    /// constant in tests.
    pub fn new(config: EndpointConfig, seed: u64) -> Self {
        let server_name = ByteStr::from(config.server_name);
        let settings = CallSettings {
            public_addr: config.public_addr,
            sip_port: config.sip_port,
            domain: config.registrar.realm.clone(),
            ring_timeout: config.ring_timeout,
            timers: config.timers.clone(),
            server_name: server_name.clone(),
            caps: MediaCaps::default(),
            rtp_ports: config.rtp_ports,
            hosted: config.hosted,
            transfer_numbers: config
                .emergency_numbers
                .iter()
                .map(|n| normalize_dialled(n))
                .collect(),
        };
        Self {
            transactions: TransactionLayer::new(config.timers),
            registrar: Registrar::new(config.registrar, StdRng::seed_from_u64(seed)),
            calls: Calls::new(settings, seed.rotate_left(32) ^ 0x5eed_ca11),
            hotline_numbers: config
                .hotline_numbers
                .iter()
                .map(|n| normalize_number(n))
                .collect(),
            trusted_trunks: config.trusted_trunks,
            server_name,
            out: VecDeque::new(),
            trunk: None,
            limiter: Limiter::new(1, 1),
            bindings_changed: false,
        }
    }

    /// Feeds one datagram or one framed stream message.
    pub fn handle_bytes(&mut self, now: Instant, from: Remote, data: Bytes) {
        match parse(data.clone()) {
            Ok(Message::Request(mut req)) => {
                stamp_via(&mut req, from);
                self.transactions
                    .handle_message(now, from, Message::Request(req));
            }
            Ok(msg @ Message::Response(_)) => self.transactions.handle_message(now, from, msg),
            Err(error) => {
                // RFC 3261 §16.3/§8.2: answer what can be answered, drop the rest.
                if let Some(answer) = error_response(&data, &error) {
                    self.out.push_back(Output::Transmit {
                        to: from,
                        data: answer,
                    });
                }
                self.out
                    .push_back(Output::Event(Event::ParseError { from, error }));
            }
        }
        self.process(now);
    }

    /// Runs expired timers (retransmissions, transaction and binding expiry).
    pub fn handle_timeout(&mut self, now: Instant) {
        self.transactions.handle_timeout(now);
        self.registrar.handle_timeout(now);
        self.process(now);
        self.calls.handle_timeout(now, &mut self.transactions);
        self.process(now);
    }

    /// The relay saw no RTP from `leg` of `call` for too long: both legs get a
    /// BYE (with `Reason`) and the call ends with `EndReason::MediaTimeout`.
    /// False if the call is unknown or already ending.
    pub fn media_timeout(&mut self, now: Instant, call: CallId, leg: Leg) -> bool {
        let done = self
            .calls
            .media_timeout(now, &mut self.transactions, call, leg);
        self.process(now);
        done
    }

    /// The owner could not open the media of `call` on `rtp_port` (bind
    /// failed): that port pair is quarantined and the call ends with `503` /
    /// `EndReason::Error`. False if the call is unknown or already ending.
    pub fn media_failed(&mut self, now: Instant, call: CallId, rtp_port: u16) -> bool {
        let done = self
            .calls
            .media_failed(now, &mut self.transactions, call, rtp_port);
        self.process(now);
        done
    }

    /// Ends a call from the server's side (an operator, shutdown): both legs
    /// are torn down. False if the call is unknown or already ending.
    pub fn hang_up(&mut self, now: Instant, call: CallId) -> bool {
        let done = self.calls.hang_up(now, &mut self.transactions, call);
        self.process(now);
        done
    }

    /// Rings agent `agent` (every live binding's first Contact) for hosted call
    /// `call`. The result arrives as [`CallEvent::Answered`] or
    /// [`CallEvent::RingFailed`].
    pub fn ring_agent(
        &mut self,
        now: Instant,
        call: CallId,
        agent: &str,
    ) -> Result<(), CallControlError> {
        let binding = self
            .registrar
            .contacts_of(now, agent)
            .into_iter()
            .next()
            .ok_or_else(|| CallControlError::NotRegistered(agent.to_owned()))?;
        let target = AgentTarget {
            user: agent.to_owned(),
            contact: binding.contact,
            remote: binding.source,
        };
        let r = self
            .calls
            .ring_agent(now, &mut self.transactions, call, &target);
        self.process(now);
        r
    }

    /// Stops ringing `agent` for `call` (CANCEL). False if it was not ringing.
    pub fn stop_ringing(&mut self, now: Instant, call: CallId, agent: &str) -> bool {
        let done = self
            .calls
            .stop_ringing(now, &mut self.transactions, call, agent);
        self.process(now);
        done
    }

    /// Transfers `call` to emergency number `number`: an INVITE to `uri` (the
    /// gateway URI with the number filled in), sent to `gateway`. The agent leg,
    /// if any, is released. The result arrives as [`CallEvent::Transferred`]
    /// or [`CallEvent::TransferFailed`].
    pub fn transfer(
        &mut self,
        now: Instant,
        call: CallId,
        number: &str,
        uri: &str,
        gateway: Remote,
    ) -> Result<(), CallControlError> {
        let target = AgentTarget {
            user: number.to_owned(),
            contact: uri.to_owned(),
            remote: gateway,
        };
        let r = self
            .calls
            .transfer(now, &mut self.transactions, call, &target);
        self.process(now);
        r
    }

    /// Releases the agent talking on hosted call `call` (BYE to the phone);
    /// the caller stays with the server, as after [`CallEvent::AgentLeft`]
    /// (e.g. for the satisfaction survey).
    pub fn release_agent(&mut self, now: Instant, call: CallId) -> Result<(), CallControlError> {
        let r = self.calls.release_agent(now, &mut self.transactions, call);
        self.process(now);
        r
    }

    /// Snapshots of the calls in progress, oldest first (`GET /api/calls`).
    pub fn calls(&self) -> Vec<CallView> {
        self.calls.views()
    }

    /// Calls in the table, including ended ones whose legs are still being
    /// torn down (a gauge; 0 when idle).
    pub fn call_count(&self) -> usize {
        self.calls.len()
    }

    /// The RTP port allocator (read-only: ports in use, for metrics).
    pub fn media_ports(&self) -> &MediaPorts {
        self.calls.ports()
    }

    /// The next thing to do; call until `None` after every input.
    #[must_use]
    pub fn poll_output(&mut self) -> Option<Output> {
        self.out.pop_front()
    }

    /// When to call [`Endpoint::handle_timeout`] next.
    #[must_use]
    pub fn poll_timeout(&self) -> Option<Instant> {
        [
            self.transactions.poll_timeout(),
            self.registrar.poll_timeout(),
            self.calls.poll_timeout(),
        ]
        .into_iter()
        .flatten()
        .min()
    }

    /// The registrar, for read-only views (bindings for the API).
    pub fn registrar(&self) -> &Registrar {
        &self.registrar
    }

    /// True once after the registrar's bindings may have changed (including
    /// refreshes, which emit no event), so the owner can republish its snapshot.
    pub fn take_bindings_changed(&mut self) -> bool {
        std::mem::take(&mut self.bindings_changed)
    }

    /// Live transactions (a gauge for metrics).
    pub fn transaction_count(&self) -> usize {
        self.transactions.len()
    }

    fn process(&mut self, now: Instant) {
        loop {
            while let Some(out) = self.transactions.poll_output() {
                self.dispatch(now, out);
            }
            // A call needs an agent: choose one now (the ACD's job, later).
            if let Some(call) = self.calls.poll_agent_request() {
                let target = self.pick_agent(now, call).map(|binding| AgentTarget {
                    user: binding.user,
                    contact: binding.contact,
                    remote: binding.source,
                });
                self.calls.assign(now, &mut self.transactions, call, target);
                continue;
            }
            break;
        }
        while let Some(out) = self.calls.poll_output() {
            if let crate::call::CallOutput::Event(CallEvent::Ended { call, .. }) = &out {
                self.limiter.release(*call);
            }
            self.out.push_back(match out {
                crate::call::CallOutput::Media(m) => Output::Media(m),
                crate::call::CallOutput::Event(e) => Output::Event(Event::Call(e)),
            });
        }
        while let Some(ev) = self.registrar.poll_event() {
            self.bindings_changed = true;
            self.out.push_back(Output::Event(Event::Registrar(ev)));
        }
    }

    /// The agent to offer `call` to, with the binding to ring (its first live
    /// one), or `None` when nobody is left: the first agent in user id order
    /// with a live binding that is neither on another call nor already tried
    /// for this one; for an internal call only the agent dialled. The
    /// registrar is walked in place (no copy of its bindings per call). The
    /// ACD (queues, strategies, skills) replaces this function.
    fn pick_agent(&self, now: Instant, call: CallId) -> Option<BindingView> {
        let busy = self.calls.busy_users();
        let free = |user: &str| !self.calls.has_tried(call, user) && !busy.contains(user);
        match self.calls.internal_callee(call) {
            Some(callee) if free(callee) => {
                self.registrar.contacts_of(now, callee).into_iter().next()
            }
            Some(_) => None,
            None => self.registrar.first_live_user(now, free),
        }
    }

    /// One output of the transaction layer.
    fn dispatch(&mut self, now: Instant, out: transaction::Output) {
        let tx = &mut self.transactions;
        match out {
            transaction::Output::Transmit { to, data } => {
                self.out.push_back(Output::Transmit { to, data });
            }
            transaction::Output::Request {
                key: Some(key),
                from,
                request,
                cancels,
            } => self.on_request(now, key, from, request, cancels),
            // ACK to a 2xx (ours, from a call).
            transaction::Output::Request {
                key: None, request, ..
            } => {
                self.calls.on_ack(now, tx, &request);
            }
            transaction::Output::Response { key, response } => {
                self.calls.on_response(now, tx, &key, response);
            }
            transaction::Output::Timeout { key } => self.calls.on_client_timeout(now, tx, &key),
            // A retransmitted 2xx is re-ACKed by its dialog; anything else
            // that matches nothing is dropped (§8.1.3.2).
            transaction::Output::StrayResponse { response, .. } => {
                self.calls.on_stray(now, tx, &response);
            }
            transaction::Output::ServerTimeout { key } => {
                self.calls.on_server_timeout(now, tx, &key);
            }
        }
    }

    /// A new request (never a retransmission).
    fn on_request(
        &mut self,
        now: Instant,
        key: ServerKey,
        from: Remote,
        request: Request,
        cancels: Option<ServerKey>,
    ) {
        if let Some(r) = self.unsupported_extensions(&request) {
            return self.reply(now, &key, r);
        }
        let in_dialog = request.headers.to_addr().is_ok_and(|to| to.tag().is_some());
        let tx = &mut self.transactions;
        match request.method {
            Method::Invite if in_dialog => {
                if !self.calls.on_in_dialog(now, tx, &key, &request) {
                    self.reply(now, &key, Response::for_request(&request, 481));
                }
            }
            Method::Invite => {
                if !self.calls.on_invite_copy(now, tx, &key, &request) {
                    self.on_new_invite(now, key, from, request);
                }
            }
            Method::Bye | Method::Info | Method::Refer
                if request.method == Method::Bye || in_dialog =>
            {
                if !self.calls.on_in_dialog(now, tx, &key, &request) {
                    self.reply(now, &key, Response::for_request(&request, 481));
                }
            }
            Method::Cancel => {
                let handled = cancels
                    .as_ref()
                    .is_some_and(|inv| self.calls.on_cancel(now, tx, &key, inv, &request));
                if !handled {
                    // §9.2: 200 if the INVITE transaction exists (its final
                    // response stands), else 481.
                    let status = if cancels.is_some() { 200 } else { 481 };
                    self.reply(now, &key, Response::for_request(&request, status));
                }
            }
            _ => {
                let response = self.route(now, from, &request);
                self.reply(now, &key, response);
            }
        }
    }

    /// Sends a response built here: Server header, To tag.
    fn reply(&mut self, now: Instant, key: &ServerKey, mut response: Response) {
        response
            .headers
            .set(HeaderName::Server, self.server_name.clone());
        add_to_tag(&mut response);
        self.transactions.respond(now, key, response);
    }

    /// An INVITE outside any dialog: admitted as a call, or refused.
    fn on_new_invite(&mut self, now: Instant, key: ServerKey, from: Remote, request: Request) {
        let dialed = dialed_number(&request.uri).unwrap_or_default();
        let caller_number = request
            .headers
            .from_addr()
            .ok()
            .and_then(|f| dialed_number(&f.uri))
            .unwrap_or_else(|| "anonymous".to_owned());
        let refused = match self.admit(now, from, &request, &dialed, &caller_number) {
            Ok(admission) => {
                match self.calls.start(
                    now,
                    &mut self.transactions,
                    key.clone(),
                    from,
                    request,
                    admission,
                ) {
                    Ok(_) => return,
                    Err(r) => r,
                }
            }
            Err(r) => r,
        };
        if !matches!(refused.status, 401 | 407) {
            tracing::info!(%from, status = refused.status, "INVITE refused");
            self.out
                .push_back(Output::Event(Event::Call(CallEvent::Refused {
                    from,
                    caller_number,
                    dialed,
                    status: refused.status,
                    at: now,
                })));
        }
        self.reply(now, &key, refused);
    }

    /// The admission rules of the module docs.
    fn admit(
        &mut self,
        now: Instant,
        from: Remote,
        request: &Request,
        dialed: &str,
        caller_number: &str,
    ) -> Result<Admission, Response> {
        let refuse = |status| Err(Response::for_request(request, status));
        if self.is_trusted(from.addr.ip()) {
            return match self.match_did(dialed) {
                Some(did) => Ok(Admission::Hotline {
                    did,
                    caller_number: caller_number.to_owned(),
                }),
                None => refuse(404),
            };
        }
        if dialed.is_empty() || !self.registrar.authenticator().has_user(dialed) {
            return refuse(403);
        }
        let caller = self.registrar.authenticate(now, from, request)?;
        if caller == dialed {
            return refuse(482);
        }
        if self.registrar.contacts_of(now, dialed).is_empty() {
            let mut r = Response::for_request(request, 480);
            r.headers.push(HeaderName::RetryAfter, "30");
            return Err(r);
        }
        if self.calls.is_busy(dialed) {
            return refuse(486);
        }
        Ok(Admission::Internal {
            caller,
            callee: dialed.to_owned(),
        })
    }

    fn is_trusted(&self, ip: IpAddr) -> bool {
        let ip = ip.to_canonical();
        self.trusted_trunks
            .iter()
            .any(|&(net, len)| in_network(ip, net.to_canonical(), len))
    }

    /// The configured DID that `dialed` names, if any.
    fn match_did(&self, dialed: &str) -> Option<String> {
        let national = dialed
            .strip_prefix("+86")
            .or_else(|| dialed.strip_prefix("0086"));
        self.hotline_numbers
            .iter()
            .find(|did| dialed == did.as_str() || national == Some(did.as_str()))
            .cloned()
    }

    /// `420 Bad Extension` naming what we lack, for a request with `Require`
    /// (§8.2.2.3); CANCEL and ACK are exempt.
    fn unsupported_extensions(&self, req: &Request) -> Option<Response> {
        if matches!(req.method, Method::Cancel | Method::Ack) {
            return None;
        }
        let unsupported: Vec<String> = req
            .headers
            .get_all(&HeaderName::Require)
            .flat_map(|v| v.split(','))
            .map(|t| t.trim().to_owned())
            .filter(|t| !t.is_empty() && !SUPPORTED.contains(&t.as_str()))
            .collect();
        if unsupported.is_empty() {
            return None;
        }
        let mut r = Response::for_request(req, 420);
        r.headers
            .push(HeaderName::Unsupported, unsupported.join(", "));
        Some(r)
    }

    fn route(&mut self, now: Instant, from: Remote, req: &Request) -> Response {
        match &req.method {
            Method::Register => {
                let r = self.registrar.handle_register(now, from, req);
                self.bindings_changed |= r.status == 200;
                r
            }
            Method::Options => {
                let mut r = Response::for_request(req, 200);
                r.headers.push(HeaderName::Allow, ALLOW);
                r.headers.push(HeaderName::Accept, ACCEPT);
                r.headers.push(HeaderName::Supported, SUPPORTED.join(", "));
                r
            }
            // Handled before routing; kept for completeness.
            Method::Cancel | Method::Bye => Response::for_request(req, 481),
            Method::Invite
            | Method::Ack
            | Method::Info
            | Method::Refer
            | Method::Notify
            | Method::Subscribe
            | Method::Message
            | Method::Prack
            | Method::Update
            | Method::Publish => {
                let mut r = Response::for_request(req, 405);
                r.headers.push(HeaderName::Allow, ALLOW);
                r
            }
            Method::Other(_) => Response::for_request(req, 501),
        }
    }
}

/// The number a URI names: the user part of a `sip:`/`sips:` URI (up to its
/// first `;`) or the number of a `tel:` URI, percent-escapes resolved and the
/// visual separators `-.()` of RFC 3966 dropped.
fn dialed_number(uri: &Uri) -> Option<String> {
    let raw = if uri.is_sip() {
        uri.user()?
    } else if uri.scheme() == "tel" {
        uri.as_str().get(4..)?
    } else {
        return None;
    };
    let number = raw.split(';').next().unwrap_or_default();
    let number = normalize_number(&percent_decode(number));
    (!number.is_empty()).then_some(number)
}

/// Drops RFC 3966 visual separators and blanks.
fn normalize_number(n: &str) -> String {
    n.chars()
        .filter(|c| !matches!(c, '-' | '.' | '(' | ')' | ' '))
        .collect()
}

fn percent_decode(s: &str) -> String {
    if !s.contains('%') {
        return s.to_owned();
    }
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            if let Some(v) = s
                .get(i + 1..i + 3)
                .and_then(|h| u8::from_str_radix(h, 16).ok())
            {
                out.push(v);
                i += 3;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Whether `ip` is in `net/len` (both canonical: IPv4-mapped IPv6 as IPv4).
fn in_network(ip: IpAddr, net: IpAddr, len: u8) -> bool {
    match (ip, net) {
        (IpAddr::V4(a), IpAddr::V4(n)) => {
            let len = u32::from(len.min(32));
            let mask = u32::MAX.checked_shl(32 - len).unwrap_or(0);
            u32::from(a) & mask == u32::from(n) & mask
        }
        (IpAddr::V6(a), IpAddr::V6(n)) => {
            let len = u32::from(len.min(128));
            let mask = u128::MAX.checked_shl(128 - len).unwrap_or(0);
            u128::from(a) & mask == u128::from(n) & mask
        }
        _ => false,
    }
}

/// RFC 3261 §8.2.6.2: a UAS puts a tag in the To of every response but `100`.
/// The tag is derived from the request's identity, so a retransmitted request
/// that reaches the TU again (it should not) would still get the same tag.
fn add_to_tag(response: &mut Response) {
    use std::hash::{Hash, Hasher};

    if response.status == 100 {
        return;
    }
    let Ok(to) = response.headers.to_addr() else {
        return;
    };
    if to.tag().is_some() {
        return;
    }
    let mut h = std::collections::hash_map::DefaultHasher::new();
    response
        .headers
        .call_id()
        .ok()
        .map(|c| c.as_str())
        .hash(&mut h);
    response
        .headers
        .from_addr()
        .ok()
        .and_then(|f| f.tag().map(str::to_owned))
        .hash(&mut h);
    response
        .headers
        .top_via()
        .ok()
        .and_then(|v| v.branch().map(str::to_owned))
        .hash(&mut h);
    let Some(value) = response.headers.get(&HeaderName::To) else {
        return;
    };
    let tagged = format!("{value};tag={:016x}", h.finish());
    response.headers.set(HeaderName::To, tagged);
}

/// RFC 3261 §18.2.1 and RFC 3581 §4: record where a request really came from in
/// its top Via, so responses (which copy the Via) go back to the source address
/// and port even through NAT.
fn stamp_via(req: &mut Request, from: Remote) {
    let Ok(mut via) = req.headers.top_via() else {
        return;
    };
    let source_ip = from.addr.ip().to_string();
    let wants_rport = via.params.contains("rport");
    let host_differs = via.host.to_string().trim_matches(['[', ']']) != source_ip;
    if !host_differs && !wants_rport {
        return;
    }
    via.params.set("received", Some(&source_ip));
    if wants_rport {
        via.params.set("rport", Some(&from.addr.port().to_string()));
    }
    // Rebuild the header list with the first value of the first Via line replaced.
    let mut rebuilt = crate::message::Headers::new();
    let mut done = false;
    for h in req.headers.iter() {
        if !done && h.name == HeaderName::Via {
            done = true;
            let rest = after_first_value(&h.value);
            rebuilt.push(HeaderName::Via, format!("{via}{rest}"));
        } else {
            rebuilt.push(h.name.clone(), h.value.clone());
        }
    }
    req.headers = rebuilt;
}

/// The part of a comma-separated header value after its first element (starting
/// with the comma), or "" — commas inside quotes do not count.
fn after_first_value(value: &str) -> &str {
    let mut in_quotes = false;
    let mut escaped = false;
    for (i, c) in value.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' if in_quotes => escaped = true,
            '"' => in_quotes = !in_quotes,
            ',' if !in_quotes => return &value[i..],
            _ => {}
        }
    }
    ""
}

mod originate;
mod settings;

#[cfg(test)]
mod tests;
