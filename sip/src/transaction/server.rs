//! Server transactions: INVITE (RFC 3261 §17.2.1, Figure 7) and non-INVITE
//! (§17.2.2, Figure 8).

use std::time::Duration;

use bytes::Bytes;

use super::timers::{Slot, TimerTable};
use super::{Ctx, Output, ServerKey};
use crate::message::{ByteStr, Method, Request, Response};
use crate::net::Remote;

/// A server transaction of either kind.
#[derive(Debug)]
pub(super) enum ServerTx {
    Invite(InviteServer),
    NonInvite(NonInviteServer),
}

/// What an INVITE server transaction made of an ACK.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum AckOutcome {
    /// It acknowledged our non-2xx final response (or repeated that): absorbed.
    Absorbed,
    /// It does not belong here (no final response sent yet, or an RFC 2543 To tag
    /// mismatch): it goes to the TU like any ACK outside a transaction.
    NotMatched,
}

impl ServerTx {
    /// A new request arrived; the layer passes it to the TU.
    pub(super) fn new(key: ServerKey, from: Remote, request: &Request, ctx: &mut Ctx<'_>) -> Self {
        if request.method == Method::Invite {
            ServerTx::Invite(InviteServer::new(key, from, request, ctx))
        } else {
            ServerTx::NonInvite(NonInviteServer::new(key, from, ctx))
        }
    }

    /// The request arrived again: answer from the transaction (§17.2.1, §17.2.2).
    pub(super) fn on_retransmission(&mut self, ctx: &mut Ctx<'_>) {
        ctx.stats.request_retransmissions += 1;
        let (to, last) = match self {
            // Confirmed: the client has ACKed our final, so it has it; a late copy
            // of its INVITE needs no answer.
            ServerTx::Invite(tx) if tx.state == InviteServerState::Confirmed => return,
            ServerTx::Invite(tx) => (tx.from, tx.last.clone()),
            ServerTx::NonInvite(tx) => (tx.from, tx.last.clone()),
        };
        // In Trying (non-INVITE) there is nothing to repeat yet; the request is
        // absorbed all the same, since the TU has it already.
        if let Some(last) = last {
            ctx.transmit(to, last);
        }
    }

    pub(super) fn respond(&mut self, response: Response, ctx: &mut Ctx<'_>) {
        if !(100..=699).contains(&response.status) {
            tracing::warn!(
                status = response.status,
                "TU response with invalid status dropped"
            );
            ctx.stats.ignored_responses += 1;
            return;
        }
        match self {
            ServerTx::Invite(tx) => tx.respond(response, ctx),
            ServerTx::NonInvite(tx) => tx.respond(response, ctx),
        }
    }

    pub(super) fn on_timer(&mut self, slot: Slot, ctx: &mut Ctx<'_>) {
        match self {
            ServerTx::Invite(tx) => tx.on_timer(slot, ctx),
            ServerTx::NonInvite(tx) => tx.on_timer(slot, ctx),
        }
    }

    /// §17.2.4: the response could not be delivered; the TU is told and the
    /// transaction ends.
    pub(super) fn on_transport_error(&mut self, ctx: &mut Ctx<'_>) {
        let key = match self {
            ServerTx::Invite(tx) => {
                tx.terminate();
                &tx.key
            }
            ServerTx::NonInvite(tx) => {
                tx.terminate();
                &tx.key
            }
        };
        ctx.stats.timeouts += 1;
        ctx.emit(Output::ServerTimeout { key: key.clone() });
    }

    pub(super) fn remote(&self) -> Remote {
        match self {
            ServerTx::Invite(tx) => tx.from,
            ServerTx::NonInvite(tx) => tx.from,
        }
    }

    pub(super) fn is_terminated(&self) -> bool {
        match self {
            ServerTx::Invite(tx) => tx.state == InviteServerState::Terminated,
            ServerTx::NonInvite(tx) => tx.state == NonInviteServerState::Terminated,
        }
    }

    pub(super) fn timers(&self) -> &TimerTable {
        match self {
            ServerTx::Invite(tx) => &tx.timers,
            ServerTx::NonInvite(tx) => &tx.timers,
        }
    }

    pub(super) fn timers_mut(&mut self) -> &mut TimerTable {
        match self {
            ServerTx::Invite(tx) => &mut tx.timers,
            ServerTx::NonInvite(tx) => &mut tx.timers,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum InviteServerState {
    Proceeding,
    Completed,
    Confirmed,
    Terminated,
}

/// §17.2.1.
#[derive(Debug)]
pub(super) struct InviteServer {
    key: ServerKey,
    /// Where the INVITE came from; every response goes there (§18.2.2 is the
    /// driver's business).
    from: Remote,
    /// The INVITE, kept only until the `100 Trying` is due or the TU answers.
    /// Boxed so that non-INVITE transactions do not pay for it in the enum.
    request: Option<Box<Request>>,
    state: InviteServerState,
    /// The last response sent, as sent: repeated for retransmitted INVITEs and by
    /// Timer G.
    last: Option<Bytes>,
    /// The To tag of the final response, which the ACK of an RFC 2543 peer must
    /// carry to match (§17.2.3).
    final_to_tag: Option<ByteStr>,
    /// The next Timer G interval.
    interval: Duration,
    timers: TimerTable,
}

impl InviteServer {
    fn new(key: ServerKey, from: Remote, request: &Request, ctx: &mut Ctx<'_>) -> Self {
        let mut timers = TimerTable::default();
        // §17.2.1: answer 100 Trying ourselves unless the TU is quicker, so that
        // the client stops retransmitting (and its Timer B) early.
        timers.set(Slot::Trying, ctx.now, ctx.config.trying_delay);
        if let Some(guard) = ctx.config.invite_server_guard {
            timers.set(Slot::Guard, ctx.now, guard);
        }
        InviteServer {
            key,
            from,
            request: Some(Box::new(request.clone())),
            state: InviteServerState::Proceeding,
            last: None,
            final_to_tag: None,
            interval: ctx.config.t1,
            timers,
        }
    }

    fn respond(&mut self, response: Response, ctx: &mut Ctx<'_>) {
        if self.state != InviteServerState::Proceeding {
            // A second final response: the first one stands (§17.2.1).
            tracing::debug!(key = %self.key, status = response.status, "response after final ignored");
            ctx.stats.ignored_responses += 1;
            return;
        }
        // The TU answered: no automatic 100 any more, and the INVITE is not needed.
        self.timers.stop(Slot::Trying);
        self.request = None;
        let wire = response.to_bytes();
        ctx.transmit(self.from, wire.clone());
        match response.status {
            100..=199 => {
                self.last = Some(wire);
                if let Some(guard) = ctx.config.invite_server_guard {
                    self.timers.set(Slot::Guard, ctx.now, guard);
                }
            }
            200..=299 => {
                // RFC 3261 §17.2.1: a 2xx ends the transaction; retransmitting it
                // until the ACK is the TU's (dialog's) job (§13.3.1.4).
                self.terminate();
            }
            _ => {
                self.last = Some(wire);
                self.final_to_tag = response
                    .headers
                    .to_addr()
                    .ok()
                    .and_then(|to| to.tag().map(ByteStr::from));
                self.state = InviteServerState::Completed;
                self.timers.stop(Slot::Guard);
                // Timer G repeats the final until the ACK on unreliable
                // transports; Timer H bounds the wait for that ACK on all.
                if !self.from.transport.is_reliable() {
                    self.interval = ctx.config.t1;
                    self.timers.set(Slot::Retransmit, ctx.now, self.interval);
                }
                self.timers
                    .set(Slot::Timeout, ctx.now, ctx.config.timeout());
            }
        }
    }

    /// An ACK matched this transaction's key.
    pub(super) fn on_ack(&mut self, ack: &Request, ctx: &mut Ctx<'_>) -> AckOutcome {
        match self.state {
            // No final response yet, so the ACK acknowledges nothing of ours. It is
            // not absorbed: the TU (dialog layer) decides what an unexpected ACK
            // means, as for any ACK outside a transaction.
            InviteServerState::Proceeding | InviteServerState::Terminated => {
                return AckOutcome::NotMatched
            }
            InviteServerState::Completed | InviteServerState::Confirmed => {}
        }
        if self.key.is_rfc2543() {
            // §17.2.3: an RFC 2543 ACK matches only if its To tag is the one of
            // our final response.
            let to = ack.headers.to_addr().ok();
            if to.as_ref().and_then(|to| to.tag()) != self.final_to_tag.as_deref() {
                return AckOutcome::NotMatched;
            }
        }
        if self.state == InviteServerState::Completed {
            self.state = InviteServerState::Confirmed;
            self.timers.stop(Slot::Retransmit);
            self.timers.stop(Slot::Timeout);
            // Timer I absorbs further ACKs; zero when reliable.
            if self.from.transport.is_reliable() {
                self.terminate();
            } else {
                self.timers.set(Slot::Wait, ctx.now, ctx.config.t4);
            }
        } else {
            ctx.stats.request_retransmissions += 1;
        }
        AckOutcome::Absorbed
    }

    fn on_timer(&mut self, slot: Slot, ctx: &mut Ctx<'_>) {
        use InviteServerState::*;
        match (self.state, slot) {
            (Proceeding, Slot::Trying) => {
                if let Some(request) = self.request.take() {
                    let trying = Response::for_request(&request, 100).to_bytes();
                    ctx.transmit(self.from, trying.clone());
                    self.last = Some(trying);
                }
            }
            (Proceeding, Slot::Guard) => {
                tracing::warn!(key = %self.key, "TU never answered the INVITE");
                self.server_timeout(ctx);
            }
            (Completed, Slot::Retransmit) => {
                // Timer G doubles up to T2 (§17.2.1).
                if let Some(last) = &self.last {
                    ctx.retransmit(self.from, last.clone());
                }
                self.interval = self.interval.saturating_mul(2).min(ctx.config.t2);
                self.timers.set(Slot::Retransmit, ctx.now, self.interval);
            }
            (Completed, Slot::Timeout) => {
                // Timer H: the ACK never came (§17.2.1); the TU should know, the
                // peer is probably gone.
                tracing::debug!(key = %self.key, "Timer H fired");
                self.server_timeout(ctx);
            }
            (Confirmed, Slot::Wait) => self.terminate(),
            _ => {}
        }
    }

    fn server_timeout(&mut self, ctx: &mut Ctx<'_>) {
        ctx.stats.timeouts += 1;
        ctx.emit(Output::ServerTimeout {
            key: self.key.clone(),
        });
        self.terminate();
    }

    fn terminate(&mut self) {
        self.state = InviteServerState::Terminated;
        self.request = None;
        self.timers.stop_all();
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum NonInviteServerState {
    Trying,
    Proceeding,
    Completed,
    Terminated,
}

/// §17.2.2.
#[derive(Debug)]
pub(super) struct NonInviteServer {
    key: ServerKey,
    from: Remote,
    state: NonInviteServerState,
    /// The last response sent, repeated for each retransmitted request.
    last: Option<Bytes>,
    timers: TimerTable,
}

impl NonInviteServer {
    fn new(key: ServerKey, from: Remote, ctx: &mut Ctx<'_>) -> Self {
        let mut timers = TimerTable::default();
        // The client gives up after 64·T1 (Timer F), so a TU that has not answered
        // by then never will usefully; end the transaction rather than leak it.
        timers.set(Slot::Guard, ctx.now, ctx.config.timeout());
        NonInviteServer {
            key,
            from,
            state: NonInviteServerState::Trying,
            last: None,
            timers,
        }
    }

    fn respond(&mut self, response: Response, ctx: &mut Ctx<'_>) {
        use NonInviteServerState::*;
        if !matches!(self.state, Trying | Proceeding) {
            tracing::debug!(key = %self.key, status = response.status, "response after final ignored");
            ctx.stats.ignored_responses += 1;
            return;
        }
        let wire = response.to_bytes();
        ctx.transmit(self.from, wire.clone());
        self.last = Some(wire);
        if response.status < 200 {
            self.state = Proceeding;
            return;
        }
        self.state = Completed;
        self.timers.stop(Slot::Guard);
        // Timer J absorbs retransmitted requests for as long as the client may
        // send them (64·T1); zero when reliable, where there are none.
        if self.from.transport.is_reliable() {
            self.terminate();
        } else {
            self.timers.set(Slot::Wait, ctx.now, ctx.config.timeout());
        }
    }

    fn on_timer(&mut self, slot: Slot, ctx: &mut Ctx<'_>) {
        use NonInviteServerState::*;
        match (self.state, slot) {
            (Trying | Proceeding, Slot::Guard) => {
                tracing::warn!(key = %self.key, "TU never answered the request");
                ctx.stats.timeouts += 1;
                ctx.emit(Output::ServerTimeout {
                    key: self.key.clone(),
                });
                self.terminate();
            }
            (Completed, Slot::Wait) => self.terminate(),
            _ => {}
        }
    }

    fn terminate(&mut self) {
        self.state = NonInviteServerState::Terminated;
        self.timers.stop_all();
    }
}
