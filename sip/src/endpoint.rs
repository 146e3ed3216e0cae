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
//! - `CANCEL` with nothing to cancel → `481` (§9.2);
//! - a request carrying `Require` with an extension we lack → `420` (§8.2.2.3);
//! - a method this server knows but does not serve yet → `405` with `Allow`;
//! - an unknown method → `501` (§8.2.1). Nothing is ever left unanswered
//!   except `ACK`, which has no response.
//!
//! The owner drains [`Endpoint::poll_output`] after every input and sleeps until
//! [`Endpoint::poll_timeout`], as with every state machine in this crate.

use std::collections::VecDeque;
use std::time::Instant;

use bytes::Bytes;
use rand::rngs::StdRng;
use rand::SeedableRng;

use crate::message::{
    error_response, parse, ByteStr, HeaderName, Message, Method, ParseError, Request, Response,
};
use crate::net::Remote;
use crate::registrar::{Registrar, RegistrarConfig, RegistrarEvent};
use crate::transaction::{self, TimerConfig, TransactionLayer};

/// Methods this server answers itself; listed in `Allow`.
pub const ALLOW: &str = "REGISTER, OPTIONS";
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
}

/// What the endpoint asks its owner to do.
#[derive(Debug)]
pub enum Output {
    /// Send these bytes (one whole message) to `to`.
    Transmit { to: Remote, data: Bytes },
    /// Something worth logging or counting.
    Event(Event),
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
}

/// The UA core: transaction layer plus request routing.
pub struct Endpoint {
    transactions: TransactionLayer,
    registrar: Registrar,
    server_name: ByteStr,
    out: VecDeque<Output>,
    /// Set when a binding may have changed (a successful REGISTER, an expiry).
    bindings_changed: bool,
}

impl std::fmt::Debug for Endpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Endpoint")
            .field("transactions", &self.transactions.len())
            .finish_non_exhaustive()
    }
}

impl Endpoint {
    /// `seed` feeds the nonce generator; pass real randomness in production and a
    /// constant in tests.
    pub fn new(config: EndpointConfig, seed: u64) -> Self {
        Self {
            transactions: TransactionLayer::new(config.timers),
            registrar: Registrar::new(config.registrar, StdRng::seed_from_u64(seed)),
            server_name: ByteStr::from(config.server_name),
            out: VecDeque::new(),
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
    }

    /// The next thing to do; call until `None` after every input.
    #[must_use]
    pub fn poll_output(&mut self) -> Option<Output> {
        self.out.pop_front()
    }

    /// When to call [`Endpoint::handle_timeout`] next.
    #[must_use]
    pub fn poll_timeout(&self) -> Option<Instant> {
        match (
            self.transactions.poll_timeout(),
            self.registrar.poll_timeout(),
        ) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
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
        while let Some(out) = self.transactions.poll_output() {
            match out {
                transaction::Output::Transmit { to, data } => {
                    self.out.push_back(Output::Transmit { to, data });
                }
                transaction::Output::Request {
                    key: Some(key),
                    from,
                    request,
                    cancels: _,
                } => {
                    let mut response = self.route(now, from, &request);
                    response
                        .headers
                        .set(HeaderName::Server, self.server_name.clone());
                    add_to_tag(&mut response);
                    self.transactions.respond(now, &key, response);
                }
                // ACK (to a 2xx we never sent): nothing to answer.
                transaction::Output::Request { key: None, .. } => {}
                // No client transactions or dialogs yet: these cannot occur for
                // requests we originate, and stray responses are dropped (§8.1.3.2).
                transaction::Output::Response { .. }
                | transaction::Output::Timeout { .. }
                | transaction::Output::StrayResponse { .. }
                | transaction::Output::ServerTimeout { .. } => {}
            }
        }
        while let Some(ev) = self.registrar.poll_event() {
            self.bindings_changed = true;
            self.out.push_back(Output::Event(Event::Registrar(ev)));
        }
    }

    fn route(&mut self, now: Instant, from: Remote, req: &Request) -> Response {
        if !matches!(req.method, Method::Cancel | Method::Ack) {
            let unsupported: Vec<String> = req
                .headers
                .get_all(&HeaderName::Require)
                .flat_map(|v| v.split(','))
                .map(|t| t.trim().to_owned())
                .filter(|t| !t.is_empty() && !SUPPORTED.contains(&t.as_str()))
                .collect();
            if !unsupported.is_empty() {
                let mut r = Response::for_request(req, 420);
                r.headers
                    .push(HeaderName::Unsupported, unsupported.join(", "));
                return r;
            }
        }
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
            Method::Cancel => Response::for_request(req, 481),
            Method::Invite
            | Method::Bye
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

#[cfg(test)]
mod tests;
