//! Client transactions: INVITE (RFC 3261 §17.1.1, Figure 5) and non-INVITE
//! (§17.1.2, Figure 6).

use std::time::Duration;

use bytes::Bytes;

use super::timers::{Slot, TimerTable};
use super::{ClientKey, Ctx, Output};
use crate::message::{HeaderName, Method, Request, Response};
use crate::net::Remote;

/// A client transaction of either kind.
#[derive(Debug)]
pub(super) enum ClientTx {
    Invite(InviteClient),
    NonInvite(NonInviteClient),
}

impl ClientTx {
    /// Sends `request` and arms the initial timers.
    pub(super) fn start(key: ClientKey, to: Remote, request: Request, ctx: &mut Ctx<'_>) -> Self {
        let wire = request.to_bytes();
        ctx.transmit(to, wire.clone());
        if request.method == Method::Invite {
            ClientTx::Invite(InviteClient::start(key, to, request, wire, ctx))
        } else {
            ClientTx::NonInvite(NonInviteClient::start(key, to, wire, ctx))
        }
    }

    pub(super) fn on_response(&mut self, from: Remote, response: Response, ctx: &mut Ctx<'_>) {
        match self {
            ClientTx::Invite(tx) => tx.on_response(from, response, ctx),
            ClientTx::NonInvite(tx) => tx.on_response(response, ctx),
        }
    }

    pub(super) fn on_timer(&mut self, slot: Slot, ctx: &mut Ctx<'_>) {
        match self {
            ClientTx::Invite(tx) => tx.on_timer(slot, ctx),
            ClientTx::NonInvite(tx) => tx.on_timer(slot, ctx),
        }
    }

    /// §17.1.4: a transport failure ends the transaction; the TU hears of it (as
    /// a timeout, §8.1.3.1) unless it already has the final response.
    pub(super) fn on_transport_error(&mut self, ctx: &mut Ctx<'_>) {
        let (key, done) = match self {
            ClientTx::Invite(tx) => {
                let done = tx.state == InviteClientState::Completed;
                tx.terminate();
                (&tx.key, done)
            }
            ClientTx::NonInvite(tx) => {
                let done = tx.state == NonInviteClientState::Completed;
                tx.terminate();
                (&tx.key, done)
            }
        };
        if !done {
            ctx.stats.timeouts += 1;
            ctx.emit(Output::Timeout { key: key.clone() });
        }
    }

    /// The TU sent a CANCEL for this INVITE (§9.1): if no final response
    /// arrives within 64·T1 the transaction is considered cancelled and
    /// destroyed. Without this an INVITE whose phone sent a provisional and then
    /// went silent would stay in Proceeding, which has no timer, for ever.
    pub(super) fn on_cancel_sent(&mut self, ctx: &mut Ctx<'_>) {
        if let ClientTx::Invite(tx) = self {
            if matches!(
                tx.state,
                InviteClientState::Calling | InviteClientState::Proceeding
            ) {
                tx.timers.set(Slot::Guard, ctx.now, ctx.config.timeout());
            }
        }
    }

    pub(super) fn remote(&self) -> Remote {
        match self {
            ClientTx::Invite(tx) => tx.to,
            ClientTx::NonInvite(tx) => tx.to,
        }
    }

    pub(super) fn is_terminated(&self) -> bool {
        match self {
            ClientTx::Invite(tx) => tx.state == InviteClientState::Terminated,
            ClientTx::NonInvite(tx) => tx.state == NonInviteClientState::Terminated,
        }
    }

    pub(super) fn timers(&self) -> &TimerTable {
        match self {
            ClientTx::Invite(tx) => &tx.timers,
            ClientTx::NonInvite(tx) => &tx.timers,
        }
    }

    pub(super) fn timers_mut(&mut self) -> &mut TimerTable {
        match self {
            ClientTx::Invite(tx) => &mut tx.timers,
            ClientTx::NonInvite(tx) => &mut tx.timers,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum InviteClientState {
    Calling,
    Proceeding,
    Completed,
    Terminated,
}

/// §17.1.1.
#[derive(Debug)]
pub(super) struct InviteClient {
    key: ClientKey,
    to: Remote,
    /// Kept to build the ACK for a non-2xx final response (§17.1.1.3). Boxed:
    /// most transactions are non-INVITE, and the enum is as large as its largest
    /// variant.
    request: Box<Request>,
    /// The INVITE as first sent; retransmissions are byte-identical.
    wire: Bytes,
    state: InviteClientState,
    /// The next Timer A interval.
    interval: Duration,
    /// The ACK once built, re-sent for each retransmitted final response.
    ack: Option<Bytes>,
    timers: TimerTable,
}

impl InviteClient {
    fn start(key: ClientKey, to: Remote, request: Request, wire: Bytes, ctx: &mut Ctx<'_>) -> Self {
        let mut timers = TimerTable::default();
        // Timer A only on unreliable transports (§17.1.1.2); the transport layer
        // of a reliable one does its own retransmission.
        if !to.transport.is_reliable() {
            timers.set(Slot::Retransmit, ctx.now, ctx.config.t1);
        }
        // Timer B bounds how long we wait for any response at all.
        timers.set(Slot::Timeout, ctx.now, ctx.config.timeout());
        InviteClient {
            key,
            to,
            request: Box::new(request),
            wire,
            state: InviteClientState::Calling,
            interval: ctx.config.t1,
            ack: None,
            timers,
        }
    }

    fn on_timer(&mut self, slot: Slot, ctx: &mut Ctx<'_>) {
        match (self.state, slot) {
            (InviteClientState::Calling, Slot::Retransmit) => {
                // Timer A doubles without the T2 cap (§17.1.1.2): at T1, 3·T1,
                // 7·T1, ... until Timer B.
                ctx.retransmit(self.to, self.wire.clone());
                self.interval = self.interval.saturating_mul(2);
                self.timers.set(Slot::Retransmit, ctx.now, self.interval);
            }
            (InviteClientState::Calling, Slot::Timeout) => {
                // Timer B: no response at all. The TU treats it as 408 (§8.1.3.1).
                tracing::debug!(branch = self.key.branch(), "Timer B fired");
                ctx.stats.timeouts += 1;
                ctx.emit(Output::Timeout {
                    key: self.key.clone(),
                });
                self.terminate();
            }
            (InviteClientState::Completed, Slot::Wait) => self.terminate(),
            (InviteClientState::Calling | InviteClientState::Proceeding, Slot::Guard) => {
                // §9.1: 64·T1 after our CANCEL and still no final response.
                tracing::debug!(branch = self.key.branch(), "cancelled INVITE abandoned");
                self.terminate();
            }
            _ => {}
        }
    }

    fn on_response(&mut self, from: Remote, response: Response, ctx: &mut Ctx<'_>) {
        match (self.state, response.status) {
            (InviteClientState::Calling | InviteClientState::Proceeding, 100..=199) => {
                // A provisional stops retransmission and Timer B: the server has
                // the request, and how long it rings is up to the TU (CANCEL).
                self.state = InviteClientState::Proceeding;
                self.timers.stop(Slot::Retransmit);
                self.timers.stop(Slot::Timeout);
                self.to_tu(response, ctx);
            }
            (InviteClientState::Calling | InviteClientState::Proceeding, 200..=299) => {
                // §17.1.1.2: a 2xx ends the transaction; its ACK belongs to the
                // dialog (§13.2.2.4), and retransmitted 2xx come back as stray
                // responses for the dialog to ACK again.
                self.to_tu(response, ctx);
                self.terminate();
            }
            (InviteClientState::Calling | InviteClientState::Proceeding, _) => {
                // 300-699: the transaction acknowledges it itself (§17.1.1.3).
                let ack = build_ack(&self.request, &response).to_bytes();
                ctx.transmit(self.to, ack.clone());
                self.ack = Some(ack);
                self.to_tu(response, ctx);
                self.timers.stop(Slot::Retransmit);
                self.timers.stop(Slot::Timeout);
                self.state = InviteClientState::Completed;
                // Timer D absorbs retransmitted finals; zero on a reliable
                // transport, where there are none.
                if self.to.transport.is_reliable() {
                    self.terminate();
                } else {
                    self.timers.set(Slot::Wait, ctx.now, ctx.config.timer_d);
                }
            }
            (InviteClientState::Completed, 300..=699) => {
                // Our ACK was lost: the server retransmits its final (Timer G).
                ctx.stats.response_retransmissions += 1;
                if let Some(ack) = &self.ack {
                    ctx.transmit(self.to, ack.clone());
                }
            }
            (InviteClientState::Completed, 200..=299) => {
                // A 2xx from another fork after a non-2xx: it creates a dialog
                // that the TU must ACK (and probably BYE), so it is not absorbed.
                ctx.emit(Output::StrayResponse { from, response });
            }
            (InviteClientState::Completed | InviteClientState::Terminated, _) => {
                ctx.stats.response_retransmissions += 1;
            }
        }
    }

    fn to_tu(&self, response: Response, ctx: &mut Ctx<'_>) {
        ctx.emit(Output::Response {
            key: self.key.clone(),
            response,
        });
    }

    fn terminate(&mut self) {
        self.state = InviteClientState::Terminated;
        self.timers.stop_all();
    }
}

/// The ACK for a non-2xx final response (§17.1.1.3): same Request-URI, Call-ID,
/// From, CSeq number and Route set as the INVITE; To from the response (it carries
/// the tag); one Via, the INVITE's top one, so that the server transaction matches
/// it; no body.
fn build_ack(invite: &Request, response: &Response) -> Request {
    let mut headers = crate::message::Headers::new();
    if let Ok(via) = invite.headers.top_via() {
        headers.push(HeaderName::Via, via.to_string());
    }
    let route = HeaderName::Route;
    for value in invite.headers.get_all(&route) {
        headers.push(HeaderName::Route, value.clone());
    }
    let max_forwards = invite
        .headers
        .get(&HeaderName::MaxForwards)
        .cloned()
        .unwrap_or_else(|| "70".into());
    headers.push(HeaderName::MaxForwards, max_forwards);
    if let Some(from) = invite.headers.get(&HeaderName::From) {
        headers.push(HeaderName::From, from.clone());
    }
    // The parser guarantees a To in every response; the INVITE's is a fallback
    // for a hand-built one, so that the ACK still goes out.
    if let Some(to) = response
        .headers
        .get(&HeaderName::To)
        .or_else(|| invite.headers.get(&HeaderName::To))
    {
        headers.push(HeaderName::To, to.clone());
    }
    if let Some(call_id) = invite.headers.get(&HeaderName::CallId) {
        headers.push(HeaderName::CallId, call_id.clone());
    }
    if let Ok(cseq) = invite.headers.cseq() {
        headers.push(HeaderName::CSeq, format!("{} ACK", cseq.seq));
    }
    Request {
        method: Method::Ack,
        uri: invite.uri.clone(),
        headers,
        body: Bytes::new(),
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum NonInviteClientState {
    Trying,
    Proceeding,
    Completed,
    Terminated,
}

/// §17.1.2.
#[derive(Debug)]
pub(super) struct NonInviteClient {
    key: ClientKey,
    to: Remote,
    wire: Bytes,
    state: NonInviteClientState,
    /// The next Timer E interval.
    interval: Duration,
    timers: TimerTable,
}

impl NonInviteClient {
    fn start(key: ClientKey, to: Remote, wire: Bytes, ctx: &mut Ctx<'_>) -> Self {
        let mut timers = TimerTable::default();
        if !to.transport.is_reliable() {
            timers.set(Slot::Retransmit, ctx.now, ctx.config.t1);
        }
        // Timer F runs on every transport: it bounds the whole transaction,
        // provisional responses included (§17.1.2.2).
        timers.set(Slot::Timeout, ctx.now, ctx.config.timeout());
        NonInviteClient {
            key,
            to,
            wire,
            state: NonInviteClientState::Trying,
            interval: ctx.config.t1,
            timers,
        }
    }

    fn on_timer(&mut self, slot: Slot, ctx: &mut Ctx<'_>) {
        use NonInviteClientState::*;
        match (self.state, slot) {
            (Trying, Slot::Retransmit) => {
                // Timer E doubles up to T2 (§17.1.2.2).
                ctx.retransmit(self.to, self.wire.clone());
                self.interval = self.interval.saturating_mul(2).min(ctx.config.t2);
                self.timers.set(Slot::Retransmit, ctx.now, self.interval);
            }
            (Proceeding, Slot::Retransmit) => {
                // Once the server has answered provisionally, every T2 is enough.
                ctx.retransmit(self.to, self.wire.clone());
                self.interval = ctx.config.t2;
                self.timers.set(Slot::Retransmit, ctx.now, self.interval);
            }
            (Trying | Proceeding, Slot::Timeout) => {
                // Timer F: the TU treats it as 408 (§8.1.3.1).
                tracing::debug!(branch = self.key.branch(), "Timer F fired");
                ctx.stats.timeouts += 1;
                ctx.emit(Output::Timeout {
                    key: self.key.clone(),
                });
                self.terminate();
            }
            (Completed, Slot::Wait) => self.terminate(),
            _ => {}
        }
    }

    fn on_response(&mut self, response: Response, ctx: &mut Ctx<'_>) {
        use NonInviteClientState::*;
        match (self.state, response.status) {
            (Trying | Proceeding, 100..=199) => {
                self.state = Proceeding;
                ctx.emit(Output::Response {
                    key: self.key.clone(),
                    response,
                });
            }
            (Trying | Proceeding, _) => {
                ctx.emit(Output::Response {
                    key: self.key.clone(),
                    response,
                });
                self.timers.stop(Slot::Retransmit);
                self.timers.stop(Slot::Timeout);
                self.state = Completed;
                // Timer K absorbs retransmitted finals; zero when reliable.
                if self.to.transport.is_reliable() {
                    self.terminate();
                } else {
                    self.timers.set(Slot::Wait, ctx.now, ctx.config.t4);
                }
            }
            (Completed | Terminated, _) => ctx.stats.response_retransmissions += 1,
        }
    }

    fn terminate(&mut self) {
        self.state = NonInviteClientState::Terminated;
        self.timers.stop_all();
    }
}
