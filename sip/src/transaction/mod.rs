//! The RFC 3261 §17 transaction layer, sans-IO.
//!
//! A transaction is one request and the responses to it. The layer keeps one state
//! machine per transaction, matches each incoming message to its machine, absorbs
//! retransmissions (answering them from the transaction), runs the retransmission
//! and timeout timers, and passes everything new to the transaction user (TU: the
//! endpoint, registrar, dialogs). It reads no clock and owns no socket.
//!
//! # Run loop
//!
//! The driver feeds the layer and drains it after *every* input:
//!
//! ```text
//! loop {
//!     select! { datagram => layer.handle_message(now, from, parse(datagram)?),
//!               tu_answer => layer.respond(now, &key, response),
//!               sleep_until(layer.poll_timeout()) => layer.handle_timeout(now) }
//!     while let Some(out) = layer.poll_output() { transmit or hand to the TU }
//! }
//! ```
//!
//! # The four machines
//!
//! **INVITE client** (§17.1.1, Figure 5). *Calling*: the INVITE is sent; on an
//! unreliable transport Timer A retransmits it at T1, then doubles (T1, 2·T1, 4·T1,
//! ...); Timer B (64·T1) ends the transaction with [`Output::Timeout`]. A 1xx moves
//! to *Proceeding*, where nothing is retransmitted and Timer B no longer applies
//! (the TU ends a long ring with CANCEL). A 2xx goes to the TU and *terminates* the
//! transaction: its ACK and its retransmissions belong to the dialog (§13.2.2.4),
//! and late copies surface as [`Output::StrayResponse`]. A 300–699 goes to the TU,
//! the layer sends the ACK itself (§17.1.1.3) and moves to *Completed*, where
//! retransmitted finals are answered with the same ACK until Timer D (32 s; zero on
//! a reliable transport) terminates it.
//!
//! **Non-INVITE client** (§17.1.2, Figure 6). *Trying*: Timer E retransmits at T1,
//! doubling up to T2; a 1xx moves to *Proceeding*, where E fires every T2. Timer F
//! (64·T1) in either state gives [`Output::Timeout`]. A final response goes to the
//! TU and moves to *Completed*, which absorbs retransmitted finals until Timer K
//! (T4; zero when reliable).
//!
//! **INVITE server** (§17.2.1, Figure 7). *Proceeding*: the INVITE went to the TU;
//! if the TU has not answered within 200 ms the layer sends `100 Trying` itself.
//! Retransmitted INVITEs get the last provisional again. A 2xx from the TU is sent
//! and terminates the transaction (its retransmission until the ACK is the dialog's
//! job, §13.3.1.4). A 300–699 moves to *Completed*: Timer G retransmits it (T1,
//! doubling up to T2) until the ACK arrives, which moves to *Confirmed*; Timer H
//! (64·T1) without ACK gives [`Output::ServerTimeout`]. *Confirmed* absorbs further
//! ACKs until Timer I (T4; zero when reliable).
//!
//! RFC 6026 later replaced that termination on 2xx with an *Accepted* state that
//! absorbs INVITE retransmissions crossing the 2xx; here, as in RFC 3261, such a
//! copy reaches the TU as a new request, and the dialog layer recognises it by
//! its Call-ID, From tag and CSeq (§8.2.2.2, §13.3.1.4).
//!
//! **Non-INVITE server** (§17.2.2, Figure 8). *Trying*: the request went to the TU;
//! retransmissions are absorbed silently. A 1xx moves to *Proceeding*, where
//! retransmissions get it again. A final moves to *Completed*, where they get the
//! final again, until Timer J (64·T1; zero when reliable).
//!
//! On a reliable transport (TCP) Timers A, E and G are not used and D, I, J, K are
//! zero (§17.1.1.2, §17.1.2.2, §17.2.1, §17.2.2): the transport retransmits, so no
//! copies arrive to absorb.
//!
//! Two safety nets go beyond the RFC, so that a TU bug cannot leak transactions: a
//! server transaction whose TU never answers ends with [`Output::ServerTimeout`]
//! (non-INVITE after 64·T1, INVITE after [`TimerConfig::invite_server_guard`]).
//!
//! # Matching
//!
//! A response belongs to the client transaction with its top Via branch and its
//! CSeq method (§17.1.3), so a CANCEL, which reuses the INVITE's branch, has a
//! transaction of its own. A request belongs to the server transaction with its
//! branch, top Via sent-by and method, an ACK counting as the INVITE (§17.2.3); a
//! branch without the `z9hG4bK` cookie comes from an RFC 2543 element and is matched
//! on Request-URI, Call-ID, From tag, To tag, CSeq and top Via instead. A CANCEL is a
//! transaction of its own that names the INVITE transaction it matches (§9.2).
//!
//! # Timers
//!
//! Each transaction holds its deadlines in a small table; the layer keeps one
//! binary heap of `(deadline, transaction, timer)` with lazy deletion, so stopping a
//! timer is O(1), arming O(log n), and [`TransactionLayer::poll_timeout`] O(1).

mod client;
mod key;
mod server;
mod timers;

#[cfg(test)]
mod tests;

use std::collections::{HashMap, VecDeque};
use std::time::Instant;

use bytes::Bytes;

use crate::message::{Message, Method, Request, Response};
use crate::net::Remote;

pub use key::{new_branch, ClientKey, KeyError, ServerKey, MAGIC_COOKIE};
pub use timers::TimerConfig;

use client::ClientTx;
use server::{AckOutcome, ServerTx};
use timers::TimerQueue;

/// What the layer asks of its owner. Drain with [`TransactionLayer::poll_output`]
/// after every call that takes `now`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Output {
    /// Send these bytes (one message) to `to`. For TCP, `to` names the connection.
    Transmit { to: Remote, data: Bytes },
    /// A new request for the TU, never a retransmission. Answer it with
    /// [`TransactionLayer::respond`] and `key`.
    ///
    /// `key` is `None` for an ACK: an ACK to a 2xx has no transaction (§17.1.1.3),
    /// and an ACK to a non-2xx final is absorbed by the INVITE server transaction
    /// and never gets here. For a CANCEL, `cancels` names the INVITE server
    /// transaction it matches, if any (§9.2); the layer answers nothing for the
    /// CANCEL itself: the TU answers it 200 or 481 through `respond`, and the
    /// INVITE 487.
    Request {
        key: Option<ServerKey>,
        from: Remote,
        request: Request,
        cancels: Option<ServerKey>,
    },
    /// A response for a client transaction: every provisional, and the first final
    /// (retransmitted finals are absorbed).
    Response { key: ClientKey, response: Response },
    /// Timer B or F fired, or the transport failed: the TU treats it as a 408
    /// (§8.1.3.1). The transaction is gone.
    Timeout { key: ClientKey },
    /// A response that matches no client transaction, e.g. a retransmitted 2xx to an
    /// INVITE whose transaction ended on the first one. The dialog layer ACKs it.
    StrayResponse { from: Remote, response: Response },
    /// A server transaction ended badly: Timer H fired (the final response was
    /// never ACKed, the peer is probably gone), the TU never answered (the guards
    /// of [`TimerConfig`]), or the transport failed. The transaction is gone.
    ServerTimeout { key: ServerKey },
}

/// Counters for metrics; monotonic.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Stats {
    /// Messages dropped because a header the matching needs was missing or
    /// malformed, or the status code was out of range.
    pub malformed: u64,
    /// Retransmitted requests (and repeated ACKs) absorbed by server transactions.
    pub request_retransmissions: u64,
    /// Retransmitted responses absorbed by client transactions.
    pub response_retransmissions: u64,
    /// Retransmissions sent by Timers A, E and G.
    pub retransmissions_sent: u64,
    /// Client and server timeouts reported ([`Output::Timeout`],
    /// [`Output::ServerTimeout`]).
    pub timeouts: u64,
    /// TU responses that could not be sent: unknown or ended transaction, a second
    /// final response, or an invalid status.
    pub ignored_responses: u64,
}

/// What the state machines may touch while handling one event.
#[derive(Debug)]
struct Ctx<'a> {
    now: Instant,
    config: &'a TimerConfig,
    out: &'a mut VecDeque<Output>,
    stats: &'a mut Stats,
}

impl Ctx<'_> {
    fn emit(&mut self, output: Output) {
        self.out.push_back(output);
    }

    fn transmit(&mut self, to: Remote, data: Bytes) {
        self.emit(Output::Transmit { to, data });
    }

    fn retransmit(&mut self, to: Remote, data: Bytes) {
        self.stats.retransmissions_sent += 1;
        self.transmit(to, data);
    }
}

/// A transaction as the timer queue names it.
#[derive(Debug, Clone)]
enum TxRef {
    Client(ClientKey),
    Server(ServerKey),
}

/// The table of live transactions. See the [module documentation](self).
#[derive(Debug)]
pub struct TransactionLayer {
    config: TimerConfig,
    clients: HashMap<ClientKey, ClientTx>,
    servers: HashMap<ServerKey, ServerTx>,
    timers: TimerQueue<TxRef>,
    out: VecDeque<Output>,
    stats: Stats,
}

impl TransactionLayer {
    pub fn new(config: TimerConfig) -> Self {
        Self {
            config,
            clients: HashMap::new(),
            servers: HashMap::new(),
            timers: TimerQueue::new(),
            out: VecDeque::new(),
            stats: Stats::default(),
        }
    }

    /// Call when the transport delivers a parsed message from `from`.
    ///
    /// Requests start a server transaction (→ [`Output::Request`]) or are absorbed
    /// as retransmissions; responses go to their client transaction or come out as
    /// [`Output::StrayResponse`]. A message whose Via or CSeq is unusable is dropped
    /// and counted in [`Stats::malformed`]; peer input never panics.
    pub fn handle_message(&mut self, now: Instant, from: Remote, message: Message) {
        match message {
            Message::Request(request) => self.on_request(now, from, request),
            Message::Response(response) => self.on_response(now, from, response),
        }
        self.prune_timers();
    }

    /// Call when the TU answers the request of server transaction `key` (any
    /// status 100–699). The response goes to the [`Remote`] the request came from
    /// (the driver applies RFC 3581 `rport`/`received` by address; for TCP the
    /// Remote names the connection). Ignored, and counted in
    /// [`Stats::ignored_responses`], when the transaction no longer exists or has
    /// already sent a final response.
    pub fn respond(&mut self, now: Instant, key: &ServerKey, response: Response) {
        let Some(tx) = self.servers.get_mut(key) else {
            tracing::debug!(%key, status = response.status, "response for unknown server transaction");
            self.stats.ignored_responses += 1;
            return;
        };
        let mut ctx = Ctx {
            now,
            config: &self.config,
            out: &mut self.out,
            stats: &mut self.stats,
        };
        tx.respond(response, &mut ctx);
        self.after_server(key);
        self.prune_timers();
    }

    /// Call when the TU sends a request: starts a client transaction, transmits the
    /// request and returns the key that its [`Output::Response`] or
    /// [`Output::Timeout`] will carry.
    ///
    /// The caller has put a top Via with a fresh branch ([`new_branch`]) and a CSeq
    /// whose method is the request's. A CANCEL reuses the branch of the INVITE it
    /// cancels and gets a transaction of its own (§9.1); send it only after a
    /// provisional response. An ACK (to a 2xx) starts no transaction: it is
    /// transmitted once, and the key returned never appears in an output.
    ///
    /// Errors when the request lacks what the key needs; nothing is sent then.
    pub fn send_request(
        &mut self,
        now: Instant,
        to: Remote,
        request: Request,
    ) -> Result<ClientKey, KeyError> {
        let key = ClientKey::for_request(&request)?;
        if request.method == Method::Ack {
            self.out.push_back(Output::Transmit {
                to,
                data: request.to_bytes(),
            });
            return Ok(key);
        }
        if self.clients.contains_key(&key) {
            // Branches are random (§8.1.1.7): a clash means the TU reused one.
            tracing::warn!(%key, "branch reused; the older client transaction is dropped");
        }
        let mut ctx = Ctx {
            now,
            config: &self.config,
            out: &mut self.out,
            stats: &mut self.stats,
        };
        let tx = ClientTx::start(key.clone(), to, request, &mut ctx);
        if let Some(invite) = key.cancelled_invite() {
            if let Some(invite_tx) = self.clients.get_mut(&invite) {
                invite_tx.on_cancel_sent(&mut ctx);
                self.after_client(&invite);
            }
        }
        self.clients.insert(key.clone(), tx);
        self.after_client(&key);
        self.prune_timers();
        Ok(key)
    }

    /// Call to send a message outside any transaction: the ACK to a 2xx
    /// (§13.2.2.4) and the retransmissions of a 2xx to an INVITE (§13.3.1.4),
    /// which belong to the dialog.
    pub fn send_stateless(&mut self, to: Remote, message: &Message) {
        self.out.push_back(Output::Transmit {
            to,
            data: message.to_bytes(),
        });
    }

    /// Call when the transport could not deliver to `remote` (TCP connection
    /// refused or lost, ICMP unreachable): every transaction talking to it ends and
    /// the TU gets [`Output::Timeout`] or [`Output::ServerTimeout`] (§17.1.4,
    /// §17.2.4). Scans the table; transport failures are rare.
    pub fn transport_error(&mut self, now: Instant, remote: Remote) {
        let mut ctx = Ctx {
            now,
            config: &self.config,
            out: &mut self.out,
            stats: &mut self.stats,
        };
        self.clients.retain(|_, tx| {
            if tx.remote() == remote {
                tx.on_transport_error(&mut ctx);
            }
            !tx.is_terminated()
        });
        self.servers.retain(|_, tx| {
            if tx.remote() == remote {
                tx.on_transport_error(&mut ctx);
            }
            !tx.is_terminated()
        });
        self.prune_timers();
    }

    /// Call when the deadline from [`poll_timeout`](Self::poll_timeout) has been
    /// reached (calling it early or late is harmless): fires every timer due at
    /// `now`, which may retransmit or end transactions.
    pub fn handle_timeout(&mut self, now: Instant) {
        while let Some(entry) = self.timers.pop_due(now) {
            let mut ctx = Ctx {
                now,
                config: &self.config,
                out: &mut self.out,
                stats: &mut self.stats,
            };
            match entry.key {
                TxRef::Client(key) => {
                    if let Some(tx) = self.clients.get_mut(&key) {
                        if tx.timers_mut().fire(entry.slot, entry.deadline) {
                            tx.on_timer(entry.slot, &mut ctx);
                            self.after_client(&key);
                        }
                    }
                }
                TxRef::Server(key) => {
                    if let Some(tx) = self.servers.get_mut(&key) {
                        if tx.timers_mut().fire(entry.slot, entry.deadline) {
                            tx.on_timer(entry.slot, &mut ctx);
                            self.after_server(&key);
                        }
                    }
                }
            }
        }
        self.prune_timers();
    }

    /// The next thing to do: call until `None` after every input.
    #[must_use]
    pub fn poll_output(&mut self) -> Option<Output> {
        self.out.pop_front()
    }

    /// When to call [`handle_timeout`](Self::handle_timeout) next; `None` while no
    /// timer runs. Ask again after every input, since inputs arm timers.
    #[must_use]
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.timers.peek().map(|entry| entry.deadline)
    }

    /// Live transactions, client and server (for metrics and tests).
    pub fn len(&self) -> usize {
        self.clients.len() + self.servers.len()
    }

    /// True when no transaction is live.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The counters.
    pub fn stats(&self) -> &Stats {
        &self.stats
    }

    /// The timer values in use.
    pub fn config(&self) -> &TimerConfig {
        &self.config
    }

    fn on_request(&mut self, now: Instant, from: Remote, request: Request) {
        let key = match ServerKey::for_request(&request) {
            Ok(key) => key,
            Err(err) => {
                tracing::debug!(%from, %err, "request dropped");
                self.stats.malformed += 1;
                return;
            }
        };
        let mut ctx = Ctx {
            now,
            config: &self.config,
            out: &mut self.out,
            stats: &mut self.stats,
        };
        if request.method == Method::Ack {
            // For an RFC 2543 peer, the ACK of an initial INVITE carries the To tag
            // of our response while the INVITE had none: try the tag-less key first.
            let candidates = [key.without_to_tag(), Some(key)];
            for key in candidates.into_iter().flatten() {
                if let Some(ServerTx::Invite(tx)) = self.servers.get_mut(&key) {
                    if tx.on_ack(&request, &mut ctx) == AckOutcome::Absorbed {
                        self.after_server(&key);
                        return;
                    }
                    break;
                }
            }
            ctx.emit(Output::Request {
                key: None,
                from,
                request,
                cancels: None,
            });
            return;
        }
        if let Some(tx) = self.servers.get_mut(&key) {
            tx.on_retransmission(&mut ctx);
            return;
        }
        let cancels = if request.method == Method::Cancel {
            let invite = key.with_method(Method::Invite);
            self.servers.contains_key(&invite).then_some(invite)
        } else {
            None
        };
        let tx = ServerTx::new(key.clone(), from, &request, &mut ctx);
        ctx.emit(Output::Request {
            key: Some(key.clone()),
            from,
            request,
            cancels,
        });
        self.servers.insert(key.clone(), tx);
        self.after_server(&key);
    }

    fn on_response(&mut self, now: Instant, from: Remote, response: Response) {
        if !(100..=699).contains(&response.status) {
            tracing::debug!(%from, status = response.status, "response with invalid status dropped");
            self.stats.malformed += 1;
            return;
        }
        let key = match ClientKey::for_response(&response) {
            Ok(Some(key)) => key,
            Ok(None) => {
                self.out.push_back(Output::StrayResponse { from, response });
                return;
            }
            Err(err) => {
                tracing::debug!(%from, %err, "response dropped");
                self.stats.malformed += 1;
                return;
            }
        };
        let Some(tx) = self.clients.get_mut(&key) else {
            self.out.push_back(Output::StrayResponse { from, response });
            return;
        };
        let mut ctx = Ctx {
            now,
            config: &self.config,
            out: &mut self.out,
            stats: &mut self.stats,
        };
        tx.on_response(from, response, &mut ctx);
        self.after_client(&key);
    }

    /// After a client transaction handled an event: queue the timers it armed,
    /// and drop it if it terminated (its queued timers go stale).
    fn after_client(&mut self, key: &ClientKey) {
        let Some(tx) = self.clients.get_mut(key) else {
            return;
        };
        if tx.is_terminated() {
            self.clients.remove(key);
            return;
        }
        let timers = &mut self.timers;
        tx.timers_mut().drain_dirty(|slot, deadline| {
            timers.push(deadline, TxRef::Client(key.clone()), slot);
        });
    }

    fn after_server(&mut self, key: &ServerKey) {
        let Some(tx) = self.servers.get_mut(key) else {
            return;
        };
        if tx.is_terminated() {
            self.servers.remove(key);
            return;
        }
        let timers = &mut self.timers;
        tx.timers_mut().drain_dirty(|slot, deadline| {
            timers.push(deadline, TxRef::Server(key.clone()), slot);
        });
    }

    /// Pops stale entries off the top of the timer queue, so that
    /// [`poll_timeout`](Self::poll_timeout) reports a live deadline and the
    /// driver does not wake up for nothing.
    fn prune_timers(&mut self) {
        while let Some(entry) = self.timers.peek() {
            let live = match &entry.key {
                TxRef::Client(key) => self
                    .clients
                    .get(key)
                    .is_some_and(|tx| tx.timers().get(entry.slot) == Some(entry.deadline)),
                TxRef::Server(key) => self
                    .servers
                    .get(key)
                    .is_some_and(|tx| tx.timers().get(entry.slot) == Some(entry.deadline)),
            };
            if live {
                break;
            }
            let _ = self.timers.pop();
        }
    }

    /// Entries in the timer queue, stale ones included (tests check for leaks).
    #[cfg(test)]
    fn queued_timers(&self) -> usize {
        self.timers.len()
    }
}
