//! The transaction layer in virtual time: a base `Instant` taken once, every other
//! instant derived from it by adding durations, so that a 32 s timeout takes
//! microseconds and the retransmit schedule can be asserted to the millisecond.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use bytes::Bytes;

use super::*;
use crate::message::{parse, HeaderName, Headers, Message, Method, Request, Response};
use crate::net::{Remote, Transport};

const PEER: &str = "192.0.2.10:5060";

fn remote(transport: Transport) -> Remote {
    Remote {
        transport,
        addr: PEER.parse::<SocketAddr>().expect("valid address"),
    }
}

fn udp() -> Remote {
    remote(Transport::Udp)
}

fn tcp() -> Remote {
    remote(Transport::Tcp)
}

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}

// ---- fixtures: text messages through the real parser ----------------------------

fn parse_message(text: &str) -> Message {
    parse(Bytes::from(text.to_owned()))
        .unwrap_or_else(|e| panic!("fixture must parse: {e}\n{text}"))
}

fn parse_request(text: &str) -> Request {
    match parse_message(text) {
        Message::Request(r) => r,
        Message::Response(_) => panic!("expected a request"),
    }
}

fn parse_response(text: &str) -> Response {
    match parse_message(text) {
        Message::Response(r) => r,
        Message::Request(_) => panic!("expected a response"),
    }
}

/// A request in the shape of RFC 3261 §8.1.1. `branch` may be `None` for an RFC
/// 2543 element that sends no branch at all.
struct Req<'a> {
    method: &'a str,
    branch: Option<&'a str>,
    sent_by: &'a str,
    to_tag: Option<&'a str>,
    call_id: &'a str,
    cseq: u32,
    /// The CSeq method when it is not `method` (never, for valid requests).
    cseq_method: Option<&'a str>,
}

impl<'a> Req<'a> {
    fn new(method: &'a str, branch: &'a str) -> Self {
        Req {
            method,
            branch: Some(branch),
            sent_by: "192.0.2.10:5060",
            to_tag: None,
            call_id: "a84b4c76e66710@pc33.example.org",
            cseq: 314159,
            cseq_method: None,
        }
    }

    fn text(&self) -> String {
        let branch = self
            .branch
            .map(|b| format!(";branch={b}"))
            .unwrap_or_default();
        let to_tag = self.to_tag.map(|t| format!(";tag={t}")).unwrap_or_default();
        format!(
            "{method} sip:hotline@city.example SIP/2.0\r\n\
             Via: SIP/2.0/UDP {sent_by}{branch}\r\n\
             Max-Forwards: 70\r\n\
             From: Alice <sip:alice@example.org>;tag=1928301774\r\n\
             To: <sip:hotline@city.example>{to_tag}\r\n\
             Call-ID: {call_id}\r\n\
             CSeq: {cseq} {cseq_method}\r\n\
             Contact: <sip:alice@192.0.2.10>\r\n\
             Content-Length: 0\r\n\
             \r\n",
            method = self.method,
            sent_by = self.sent_by,
            call_id = self.call_id,
            cseq = self.cseq,
            cseq_method = self.cseq_method.unwrap_or(self.method),
        )
    }

    fn request(&self) -> Request {
        parse_request(&self.text())
    }

    fn message(&self) -> Message {
        Message::Request(self.request())
    }
}

/// A response as a peer would send it to a request of ours.
fn response(status: u16, branch: &str, cseq_method: &str, to_tag: Option<&str>) -> Response {
    let to_tag = to_tag.map(|t| format!(";tag={t}")).unwrap_or_default();
    parse_response(&format!(
        "SIP/2.0 {status} {reason}\r\n\
         Via: SIP/2.0/UDP 198.51.100.1:5060;branch={branch};received=198.51.100.1\r\n\
         From: <sip:hotline@city.example>;tag=ours\r\n\
         To: <sip:agent@192.0.2.10>{to_tag}\r\n\
         Call-ID: out-1@198.51.100.1\r\n\
         CSeq: 7 {cseq_method}\r\n\
         Content-Length: 0\r\n\
         \r\n",
        reason = crate::message::default_reason(status),
    ))
}

/// A request this element sends (to an agent phone).
fn outgoing(method: &str, branch: &str) -> Request {
    parse_request(&format!(
        "{method} sip:agent@192.0.2.10 SIP/2.0\r\n\
         Via: SIP/2.0/UDP 198.51.100.1:5060;branch={branch}\r\n\
         Max-Forwards: 70\r\n\
         Route: <sip:proxy.city.example;lr>\r\n\
         From: <sip:hotline@city.example>;tag=ours\r\n\
         To: <sip:agent@192.0.2.10>\r\n\
         Call-ID: out-1@198.51.100.1\r\n\
         CSeq: 7 {method}\r\n\
         Content-Length: 0\r\n\
         \r\n"
    ))
}

/// The layer's answer to `request` with a To tag, as the TU would build it.
fn answer(request: &Request, status: u16) -> Response {
    let mut response = Response::for_request(request, status);
    if status > 100 {
        let to = request
            .headers
            .get(&HeaderName::To)
            .expect("fixture has To")
            .to_string();
        let to = if to.contains(";tag=") {
            to
        } else {
            format!("{to};tag=uas1")
        };
        response.headers.set(HeaderName::To, to);
    }
    response
}

// ---- the virtual-time harness ----------------------------------------------------

/// Drives one layer in virtual time and records each output with the time (since
/// the start) at which it came out.
struct Sim {
    layer: TransactionLayer,
    start: Instant,
    now: Instant,
}

impl Sim {
    fn new() -> Self {
        Self::with_config(TimerConfig::default())
    }

    fn with_config(config: TimerConfig) -> Self {
        let start = Instant::now();
        Sim {
            layer: TransactionLayer::new(config),
            start,
            now: start,
        }
    }

    fn elapsed(&self) -> Duration {
        self.now - self.start
    }

    /// Every output pending now.
    fn drain(&mut self) -> Vec<Output> {
        std::iter::from_fn(|| self.layer.poll_output()).collect()
    }

    /// Runs the timers up to `until` (since the start), as a driver sleeping on
    /// `poll_timeout` would, and returns the outputs with their times.
    fn run_until(&mut self, until: Duration) -> Vec<(Duration, Output)> {
        let end = self.start + until;
        let mut log: Vec<(Duration, Output)> = Vec::new();
        log.extend(self.drain().into_iter().map(|o| (self.elapsed(), o)));
        while let Some(deadline) = self.layer.poll_timeout() {
            assert!(deadline >= self.now, "poll_timeout went back in time");
            if deadline > end {
                break;
            }
            self.now = deadline;
            self.layer.handle_timeout(deadline);
            let at = self.elapsed();
            log.extend(self.drain().into_iter().map(|o| (at, o)));
        }
        self.now = self.now.max(end);
        log
    }

    fn receive(&mut self, from: Remote, message: Message) -> Vec<Output> {
        self.layer.handle_message(self.now, from, message);
        self.drain()
    }

    fn send(&mut self, to: Remote, request: Request) -> (ClientKey, Vec<Output>) {
        let key = self
            .layer
            .send_request(self.now, to, request)
            .expect("fixture has Via branch and CSeq");
        (key, self.drain())
    }

    fn respond(&mut self, key: &ServerKey, response: Response) -> Vec<Output> {
        self.layer.respond(self.now, key, response);
        self.drain()
    }

    /// The one new request the TU got from `outputs`.
    fn new_request(outputs: &[Output]) -> (Option<ServerKey>, Request, Option<ServerKey>) {
        match outputs {
            [Output::Request {
                key,
                request,
                cancels,
                ..
            }] => (key.clone(), request.clone(), cancels.clone()),
            other => panic!("expected one Output::Request, got {other:?}"),
        }
    }
}

fn transmit_times(log: &[(Duration, Output)]) -> Vec<Duration> {
    log.iter()
        .filter(|(_, o)| matches!(o, Output::Transmit { .. }))
        .map(|(t, _)| *t)
        .collect()
}

fn only_transmit(outputs: &[Output]) -> Bytes {
    match outputs {
        [Output::Transmit { data, .. }] => data.clone(),
        other => panic!("expected one Transmit, got {other:?}"),
    }
}

fn sent_response(data: &Bytes) -> Response {
    match parse(data.clone()) {
        Ok(Message::Response(r)) => r,
        other => panic!("expected a response on the wire, got {other:?}"),
    }
}

fn sent_request(data: &Bytes) -> Request {
    match parse(data.clone()) {
        Ok(Message::Request(r)) => r,
        other => panic!("expected a request on the wire, got {other:?}"),
    }
}

fn assert_timeouts_at(log: &[(Duration, Output)], key: &ClientKey, at: Duration) {
    let timeouts: Vec<_> = log
        .iter()
        .filter(|(_, o)| matches!(o, Output::Timeout { .. }))
        .collect();
    assert_eq!(timeouts.len(), 1, "{log:?}");
    assert_eq!(timeouts[0].0, at);
    assert_eq!(timeouts[0].1, Output::Timeout { key: key.clone() });
}

// ---- client transactions ---------------------------------------------------------

#[test]
fn non_invite_client_udp_all_dropped_retransmits_capped_at_t2_then_timer_f() {
    let mut sim = Sim::new();
    let (key, out) = sim.send(udp(), outgoing("OPTIONS", "z9hG4bKopt1"));
    let first = only_transmit(&out);
    assert_eq!(sent_request(&first).method, Method::Options);

    let log = sim.run_until(secs(40));
    // Timer E: intervals 0.5, 1, 2, 4, 4, ... (capped at T2), from the first send.
    let expected: Vec<Duration> = [
        500, 1500, 3500, 7500, 11500, 15500, 19500, 23500, 27500, 31500,
    ]
    .into_iter()
    .map(ms)
    .collect();
    assert_eq!(transmit_times(&log), expected);
    for (_, o) in &log {
        if let Output::Transmit { data, to } = o {
            assert_eq!(data, &first, "retransmissions are byte-identical");
            assert_eq!(*to, udp());
        }
    }
    // Timer F at 64·T1.
    assert_timeouts_at(&log, &key, secs(32));
    assert!(sim.layer.is_empty());
    assert_eq!(sim.layer.poll_timeout(), None);
    assert_eq!(sim.layer.stats().retransmissions_sent, 10);
}

#[test]
fn non_invite_client_proceeding_retransmits_every_t2() {
    let mut sim = Sim::new();
    let (key, _) = sim.send(udp(), outgoing("REGISTER", "z9hG4bKreg1"));
    let log = sim.run_until(ms(600));
    assert_eq!(transmit_times(&log), vec![ms(500)]);
    let out = sim.receive(
        udp(),
        Message::Response(response(100, "z9hG4bKreg1", "REGISTER", None)),
    );
    assert!(
        matches!(&out[..], [Output::Response { key: k, response }] if *k == key && response.status == 100)
    );
    // The pending E (armed at 0.5 s for 1 s) still fires at 1.5 s, then every T2.
    let log = sim.run_until(secs(40));
    let times = transmit_times(&log);
    assert_eq!(times[..4], [ms(1500), ms(5500), ms(9500), ms(13500)]);
    assert_timeouts_at(&log, &key, secs(32));
}

#[test]
fn invite_client_udp_all_dropped_timer_a_doubles_timer_b_at_32s() {
    let mut sim = Sim::new();
    let (key, out) = sim.send(udp(), outgoing("INVITE", "z9hG4bKinv1"));
    only_transmit(&out);
    let log = sim.run_until(secs(60));
    // Timer A doubles without a cap: 0.5, 1, 2, 4, 8, 16 s intervals.
    let expected: Vec<Duration> = [500, 1500, 3500, 7500, 15500, 31500]
        .into_iter()
        .map(ms)
        .collect();
    assert_eq!(transmit_times(&log), expected);
    assert_timeouts_at(&log, &key, secs(32));
    assert!(sim.layer.is_empty());
}

#[test]
fn invite_client_486_is_acked_and_timer_d_absorbs_retransmissions() {
    let mut sim = Sim::new();
    let invite = outgoing("INVITE", "z9hG4bKinv486");
    let (key, _) = sim.send(udp(), invite.clone());
    sim.run_until(ms(100));

    let busy = response(486, "z9hG4bKinv486", "INVITE", Some("callee9"));
    let out = sim.receive(udp(), Message::Response(busy.clone()));
    assert_eq!(out.len(), 2, "{out:?}");
    let Output::Transmit {
        to,
        data: ack_bytes,
    } = &out[0]
    else {
        panic!("ACK first: {out:?}")
    };
    assert_eq!(*to, udp(), "the ACK goes where the INVITE went (§17.1.1.3)");
    assert_eq!(
        out[1],
        Output::Response {
            key: key.clone(),
            response: busy.clone()
        }
    );

    // §17.1.1.3: the ACK.
    let ack = sent_request(ack_bytes);
    assert_eq!(ack.method, Method::Ack);
    assert_eq!(ack.uri, invite.uri);
    let vias = ack.headers.vias().expect("ACK Via");
    assert_eq!(vias.len(), 1);
    assert_eq!(
        vias[0].branch(),
        Some("z9hG4bKinv486"),
        "same branch as the INVITE"
    );
    let cseq = ack.headers.cseq().expect("ACK CSeq");
    assert_eq!((cseq.seq, cseq.method), (7, Method::Ack));
    assert_eq!(ack.headers.to_addr().expect("To").tag(), Some("callee9"));
    assert_eq!(ack.headers.from_addr().expect("From").tag(), Some("ours"));
    assert_eq!(
        ack.headers.call_id().expect("Call-ID").as_str(),
        "out-1@198.51.100.1"
    );
    assert_eq!(
        ack.headers.get(&HeaderName::Route).map(|r| r.as_str()),
        Some("<sip:proxy.city.example;lr>")
    );
    assert!(ack.body.is_empty());

    // A retransmitted 486: the same ACK again, nothing for the TU.
    sim.run_until(secs(2));
    let out = sim.receive(udp(), Message::Response(busy.clone()));
    assert_eq!(only_transmit(&out), *ack_bytes);
    assert_eq!(sim.layer.stats().response_retransmissions, 1);

    // No more INVITE retransmissions; Timer D (32 s after the 486) ends it.
    let log = sim.run_until(ms(32_099));
    assert!(log.is_empty(), "{log:?}");
    assert_eq!(sim.layer.len(), 1);
    let log = sim.run_until(ms(32_100));
    assert!(log.is_empty());
    assert!(sim.layer.is_empty());
    // Afterwards the 486 matches nothing.
    let out = sim.receive(udp(), Message::Response(busy.clone()));
    assert!(matches!(&out[..], [Output::StrayResponse { response, .. }] if *response == busy));
}

#[test]
fn invite_client_180_then_200_both_reach_tu_and_end_the_transaction() {
    let mut sim = Sim::new();
    let (key, _) = sim.send(udp(), outgoing("INVITE", "z9hG4bKinv200"));
    sim.run_until(ms(300));
    let ringing = response(180, "z9hG4bKinv200", "INVITE", Some("callee1"));
    let out = sim.receive(udp(), Message::Response(ringing.clone()));
    assert_eq!(
        out,
        vec![Output::Response {
            key: key.clone(),
            response: ringing
        }]
    );
    // Proceeding: no retransmissions and no Timer B however long it rings.
    let log = sim.run_until(secs(120));
    assert!(log.is_empty(), "{log:?}");
    assert_eq!(sim.layer.len(), 1);

    let ok = response(200, "z9hG4bKinv200", "INVITE", Some("callee1"));
    let out = sim.receive(udp(), Message::Response(ok.clone()));
    assert_eq!(
        out,
        vec![Output::Response {
            key,
            response: ok.clone()
        }],
        "the 2xx goes to the TU; the layer sends no ACK for it"
    );
    assert!(sim.layer.is_empty());
    assert_eq!(sim.layer.poll_timeout(), None);
    // A retransmitted 2xx is the dialog's business.
    let out = sim.receive(udp(), Message::Response(ok.clone()));
    assert_eq!(
        out,
        vec![Output::StrayResponse {
            from: udp(),
            response: ok
        }]
    );
}

#[test]
fn non_invite_client_late_response_after_timer_k_is_stray() {
    let mut sim = Sim::new();
    let (key, _) = sim.send(udp(), outgoing("OPTIONS", "z9hG4bKopt2"));
    let ok = response(200, "z9hG4bKopt2", "OPTIONS", Some("x"));
    let out = sim.receive(udp(), Message::Response(ok.clone()));
    assert_eq!(
        out,
        vec![Output::Response {
            key,
            response: ok.clone()
        }]
    );
    // Completed: a retransmitted 200 is absorbed, no retransmissions of ours.
    sim.run_until(secs(1));
    assert!(sim.receive(udp(), Message::Response(ok.clone())).is_empty());
    // Timer K = T4.
    let log = sim.run_until(ms(4_999));
    assert!(log.is_empty(), "{log:?}");
    assert_eq!(sim.layer.len(), 1);
    sim.run_until(secs(5));
    assert!(sim.layer.is_empty());
    let out = sim.receive(udp(), Message::Response(ok.clone()));
    assert_eq!(
        out,
        vec![Output::StrayResponse {
            from: udp(),
            response: ok
        }]
    );
    // A response to a branch we never used is stray too.
    let other = response(200, "z9hG4bKnever", "OPTIONS", Some("x"));
    let out = sim.receive(udp(), Message::Response(other));
    assert!(matches!(&out[..], [Output::StrayResponse { .. }]));
}

#[test]
fn cancel_is_its_own_client_transaction() {
    let mut sim = Sim::new();
    let (invite_key, _) = sim.send(udp(), outgoing("INVITE", "z9hG4bKinvc"));
    let out = sim.receive(
        udp(),
        Message::Response(response(180, "z9hG4bKinvc", "INVITE", Some("t"))),
    );
    assert_eq!(out.len(), 1);
    // §9.1: the CANCEL reuses the INVITE's branch.
    let (cancel_key, out) = sim.send(udp(), outgoing("CANCEL", "z9hG4bKinvc"));
    only_transmit(&out);
    assert_ne!(cancel_key, invite_key);
    assert_eq!(cancel_key.branch(), invite_key.branch());
    assert_eq!(sim.layer.len(), 2);

    let ok = response(200, "z9hG4bKinvc", "CANCEL", Some("t"));
    let out = sim.receive(udp(), Message::Response(ok.clone()));
    assert_eq!(
        out,
        vec![Output::Response {
            key: cancel_key,
            response: ok
        }]
    );
    let terminated = response(487, "z9hG4bKinvc", "INVITE", Some("t"));
    let out = sim.receive(udp(), Message::Response(terminated.clone()));
    assert_eq!(out.len(), 2, "ACK and the 487 for the TU: {out:?}");
    assert_eq!(sent_request(&only_transmit(&out[..1])).method, Method::Ack);
    assert_eq!(
        out[1],
        Output::Response {
            key: invite_key,
            response: terminated
        }
    );
}

#[test]
fn cancelled_invite_without_a_final_response_is_destroyed_after_64_t1() {
    // §9.1: the phone sent 180, we CANCELled, and it never answered again.
    let mut sim = Sim::new();
    sim.send(tcp(), outgoing("INVITE", "z9hG4bKsilent"));
    let out = sim.receive(
        tcp(),
        Message::Response(response(180, "z9hG4bKsilent", "INVITE", Some("t"))),
    );
    assert_eq!(out.len(), 1);
    sim.run_until(secs(5));
    assert_eq!(sim.layer.len(), 1, "Proceeding has no timer of its own");
    sim.send(tcp(), outgoing("CANCEL", "z9hG4bKsilent"));
    assert_eq!(sim.layer.len(), 2);
    let log = sim.run_until(secs(5) + secs(32) - Duration::from_millis(1));
    assert!(log
        .iter()
        .all(|(_, o)| !matches!(o, Output::Response { .. })));
    assert_eq!(sim.layer.len(), 2, "both still wait just before 64·T1");
    let log = sim.run_until(secs(5) + secs(32));
    assert_eq!(
        sim.layer.len(),
        0,
        "the INVITE is destroyed 64·T1 after the CANCEL"
    );
    let timeouts: Vec<_> = log
        .iter()
        .filter_map(|(_, o)| match o {
            Output::Timeout { key } => Some(key.method().clone()),
            _ => None,
        })
        .collect();
    assert_eq!(
        timeouts,
        vec![Method::Cancel],
        "only the CANCEL's Timer F is reported"
    );
    assert_eq!(sim.layer.poll_timeout(), None);
}

#[test]
fn over_tcp_clients_never_retransmit() {
    let mut sim = Sim::new();
    let (opt, out) = sim.send(tcp(), outgoing("OPTIONS", "z9hG4bKtcp1"));
    only_transmit(&out);
    let (inv, out) = sim.send(tcp(), outgoing("INVITE", "z9hG4bKtcp2"));
    only_transmit(&out);
    let log = sim.run_until(secs(40));
    assert!(transmit_times(&log).is_empty(), "{log:?}");
    // Timers B and F still run on reliable transports.
    let timeouts: Vec<_> = log.iter().map(|(t, o)| (*t, o.clone())).collect();
    assert_eq!(timeouts.len(), 2);
    assert!(timeouts.iter().all(|(t, _)| *t == secs(32)));
    assert!(timeouts.contains(&(secs(32), Output::Timeout { key: opt })));
    assert!(timeouts.contains(&(secs(32), Output::Timeout { key: inv })));
    assert!(sim.layer.is_empty());
}

#[test]
fn over_tcp_client_finals_end_the_transaction_at_once() {
    let mut sim = Sim::new();
    let (_, _) = sim.send(tcp(), outgoing("INVITE", "z9hG4bKtcp3"));
    let out = sim.receive(
        tcp(),
        Message::Response(response(486, "z9hG4bKtcp3", "INVITE", Some("b"))),
    );
    assert_eq!(out.len(), 2, "ACK and response: {out:?}");
    assert!(sim.layer.is_empty(), "Timer D is zero on TCP");
    let (_, _) = sim.send(tcp(), outgoing("OPTIONS", "z9hG4bKtcp4"));
    sim.receive(
        tcp(),
        Message::Response(response(200, "z9hG4bKtcp4", "OPTIONS", Some("b"))),
    );
    assert!(sim.layer.is_empty(), "Timer K is zero on TCP");
    assert_eq!(sim.layer.poll_timeout(), None);
}

#[test]
fn transport_error_times_out_client_transactions_to_that_remote() {
    let mut sim = Sim::new();
    let (key, _) = sim.send(tcp(), outgoing("OPTIONS", "z9hG4bKerr"));
    let (_other, _) = sim.send(udp(), outgoing("OPTIONS", "z9hG4bKok"));
    sim.layer.transport_error(sim.now, tcp());
    assert_eq!(sim.drain(), vec![Output::Timeout { key }]);
    assert_eq!(sim.layer.len(), 1);
}

#[test]
fn ack_for_a_2xx_is_sent_without_a_transaction() {
    let mut sim = Sim::new();
    let (_, out) = sim.send(udp(), outgoing("ACK", "z9hG4bKack2xx"));
    assert_eq!(sent_request(&only_transmit(&out)).method, Method::Ack);
    assert!(sim.layer.is_empty());
    assert_eq!(sim.layer.poll_timeout(), None);
}

#[test]
fn send_request_without_branch_is_refused() {
    let mut sim = Sim::new();
    let mut request = outgoing("OPTIONS", "z9hG4bKx");
    request
        .headers
        .set(HeaderName::Via, "SIP/2.0/UDP 198.51.100.1:5060");
    assert_eq!(
        sim.layer.send_request(sim.now, udp(), request),
        Err(KeyError::NoBranch)
    );
    assert!(sim.drain().is_empty());
    assert!(sim.layer.is_empty());
}

// ---- server transactions ---------------------------------------------------------

#[test]
fn non_invite_server_absorbs_retransmissions_and_timer_j_ends_it() {
    let mut sim = Sim::new();
    let register = Req::new("REGISTER", "z9hG4bKnist1");
    let out = sim.receive(udp(), register.message());
    let (key, request, cancels) = Sim::new_request(&out);
    let key = key.expect("a transaction");
    assert_eq!(request, register.request());
    assert_eq!(cancels, None);
    assert_eq!(key.branch(), Some("z9hG4bKnist1"));
    assert_eq!(key.method(), &Method::Register);

    // Before the TU answers: absorbed, nothing sent (Trying).
    sim.run_until(ms(500));
    assert!(sim.receive(udp(), register.message()).is_empty());
    assert_eq!(sim.layer.stats().request_retransmissions, 1);

    let ok = answer(&request, 200);
    let sent = only_transmit(&sim.respond(&key, ok.clone()));
    assert_eq!(sent_response(&sent).status, 200);

    // After the answer, a retransmission gets the same 200.
    sim.run_until(secs(5));
    let again = sim.receive(udp(), register.message());
    assert_eq!(only_transmit(&again), sent);
    // A second final from the TU is ignored.
    assert!(sim.respond(&key, answer(&request, 500)).is_empty());
    assert_eq!(sim.layer.stats().ignored_responses, 1);

    // Timer J: 64·T1 after the response (sent at 0.5 s).
    let log = sim.run_until(ms(32_499));
    assert!(log.is_empty());
    assert_eq!(sim.layer.len(), 1);
    let log = sim.run_until(ms(32_500));
    assert!(log.is_empty(), "Timer J ends silently: {log:?}");
    assert!(sim.layer.is_empty());
    assert_eq!(sim.layer.poll_timeout(), None);
    // Now a copy of the request is a new request again.
    let out = sim.receive(udp(), register.message());
    assert!(Sim::new_request(&out).0.is_some());
}

#[test]
fn non_invite_server_provisional_is_repeated() {
    let mut sim = Sim::new();
    let options = Req::new("OPTIONS", "z9hG4bKnist2");
    let (key, request, _) = Sim::new_request(&sim.receive(udp(), options.message()));
    let key = key.expect("a transaction");
    let trying = only_transmit(&sim.respond(&key, answer(&request, 100)));
    assert_eq!(
        only_transmit(&sim.receive(udp(), options.message())),
        trying
    );
}

#[test]
fn non_invite_server_over_tcp_ends_on_the_final_response() {
    let mut sim = Sim::new();
    let options = Req::new("OPTIONS", "z9hG4bKnist3");
    let (key, request, _) = Sim::new_request(&sim.receive(tcp(), options.message()));
    let key = key.expect("a transaction");
    let out = sim.respond(&key, answer(&request, 200));
    assert!(matches!(&out[..], [Output::Transmit { to, .. }] if *to == tcp()));
    assert!(sim.layer.is_empty(), "Timer J is zero on TCP");
}

#[test]
fn non_invite_server_tu_never_answers_guard_fires_at_64_t1() {
    let mut sim = Sim::new();
    let options = Req::new("OPTIONS", "z9hG4bKnist4");
    let (key, _, _) = Sim::new_request(&sim.receive(udp(), options.message()));
    let log = sim.run_until(secs(60));
    assert_eq!(
        log,
        vec![(
            secs(32),
            Output::ServerTimeout {
                key: key.expect("key")
            }
        )]
    );
    assert!(sim.layer.is_empty());
}

#[test]
fn invite_server_sends_100_trying_after_200_ms() {
    let mut sim = Sim::new();
    let invite = Req::new("INVITE", "z9hG4bKist1");
    let out = sim.receive(udp(), invite.message());
    let (key, request, _) = Sim::new_request(&out);
    assert!(key.is_some());

    let log = sim.run_until(ms(199));
    assert!(log.is_empty());
    let log = sim.run_until(ms(200));
    assert_eq!(transmit_times(&log), vec![ms(200)]);
    let Output::Transmit { to, data } = &log[0].1 else {
        unreachable!()
    };
    assert_eq!(*to, udp());
    let trying = sent_response(data);
    assert_eq!(trying.status, 100);
    assert_eq!(
        trying.headers.top_via().expect("Via").branch(),
        Some("z9hG4bKist1")
    );
    assert_eq!(trying.headers.to_addr().expect("To").tag(), None);
    assert_eq!(
        trying.headers.cseq().expect("CSeq"),
        request.headers.cseq().expect("CSeq")
    );

    // A retransmitted INVITE gets the 100 again and does not reach the TU.
    sim.run_until(ms(500));
    assert_eq!(only_transmit(&sim.receive(udp(), invite.message())), *data);
}

#[test]
fn invite_server_no_100_when_the_tu_answers_in_time() {
    let mut sim = Sim::new();
    let invite = Req::new("INVITE", "z9hG4bKist2");
    let (key, request, _) = Sim::new_request(&sim.receive(udp(), invite.message()));
    let key = key.expect("a transaction");
    sim.run_until(ms(150));
    let ringing = only_transmit(&sim.respond(&key, answer(&request, 180)));
    assert_eq!(sent_response(&ringing).status, 180);
    let log = sim.run_until(secs(10));
    assert!(log.is_empty(), "no automatic 100 after a 180: {log:?}");
    // Retransmitted INVITE: the 180 again.
    assert_eq!(
        only_transmit(&sim.receive(udp(), invite.message())),
        ringing
    );
}

#[test]
fn invite_server_final_retransmitted_by_timer_g_until_ack_then_timer_i() {
    let mut sim = Sim::new();
    let invite = Req::new("INVITE", "z9hG4bKist3");
    let (key, request, _) = Sim::new_request(&sim.receive(udp(), invite.message()));
    let key = key.expect("a transaction");
    let busy = only_transmit(&sim.respond(&key, answer(&request, 486)));

    let log = sim.run_until(ms(8_000));
    // Timer G: 0.5, 1, 2, 4 s intervals (then capped at T2).
    assert_eq!(
        transmit_times(&log),
        vec![ms(500), ms(1500), ms(3500), ms(7500)]
    );
    assert!(log
        .iter()
        .all(|(_, o)| matches!(o, Output::Transmit { data, .. } if *data == busy)));

    // The ACK (same branch, §17.1.1.3) is absorbed: nothing for the TU.
    let mut ack = Req::new("ACK", "z9hG4bKist3");
    ack.to_tag = Some("uas1");
    assert!(sim.receive(udp(), ack.message()).is_empty());
    // Confirmed: a repeated ACK is absorbed too, so is a late INVITE copy, and G
    // has stopped.
    sim.run_until(secs(9));
    assert!(sim.receive(udp(), ack.message()).is_empty());
    assert!(sim.receive(udp(), invite.message()).is_empty());
    let log = sim.run_until(ms(12_999));
    assert!(log.is_empty(), "{log:?}");
    assert_eq!(sim.layer.len(), 1);
    // Timer I = T4 after the ACK at 8 s.
    let log = sim.run_until(secs(13));
    assert!(log.is_empty());
    assert!(sim.layer.is_empty());
    assert_eq!(sim.layer.poll_timeout(), None);
}

#[test]
fn invite_server_timer_h_without_ack_reports_server_timeout() {
    let mut sim = Sim::new();
    let invite = Req::new("INVITE", "z9hG4bKist4");
    let (key, request, _) = Sim::new_request(&sim.receive(udp(), invite.message()));
    let key = key.expect("a transaction");
    sim.respond(&key, answer(&request, 603));
    let log = sim.run_until(secs(40));
    let expected: Vec<Duration> = [
        500, 1500, 3500, 7500, 11500, 15500, 19500, 23500, 27500, 31500,
    ]
    .into_iter()
    .map(ms)
    .collect();
    assert_eq!(transmit_times(&log), expected);
    let last = log.last().expect("outputs");
    assert_eq!(*last, (secs(32), Output::ServerTimeout { key }));
    assert!(sim.layer.is_empty());
}

#[test]
fn invite_server_2xx_terminates_it() {
    let mut sim = Sim::new();
    let invite = Req::new("INVITE", "z9hG4bKist5");
    let (key, request, _) = Sim::new_request(&sim.receive(udp(), invite.message()));
    let key = key.expect("a transaction");
    let ok = only_transmit(&sim.respond(&key, answer(&request, 200)));
    assert_eq!(sent_response(&ok).status, 200);
    assert!(sim.layer.is_empty());
    assert_eq!(sim.layer.poll_timeout(), None);
    // The ACK for the 2xx has a branch of its own and goes to the TU (dialog).
    let mut ack = Req::new("ACK", "z9hG4bKack-for-2xx");
    ack.to_tag = Some("uas1");
    let (ack_key, ack_request, _) = Sim::new_request(&sim.receive(udp(), ack.message()));
    assert_eq!(ack_key, None);
    assert_eq!(ack_request.method, Method::Ack);
    // Responding to the ended transaction does nothing.
    assert!(sim.respond(&key, answer(&request, 200)).is_empty());
}

#[test]
fn invite_server_over_tcp_no_retransmissions_and_ack_ends_it() {
    let mut sim = Sim::new();
    let invite = Req::new("INVITE", "z9hG4bKist6");
    let (key, request, _) = Sim::new_request(&sim.receive(tcp(), invite.message()));
    let key = key.expect("a transaction");
    sim.respond(&key, answer(&request, 486));
    let log = sim.run_until(secs(10));
    assert!(
        transmit_times(&log).is_empty(),
        "no Timer G on TCP: {log:?}"
    );
    let mut ack = Req::new("ACK", "z9hG4bKist6");
    ack.to_tag = Some("uas1");
    assert!(sim.receive(tcp(), ack.message()).is_empty());
    assert!(sim.layer.is_empty(), "Timer I is zero on TCP");

    // Without the ACK, Timer H still applies on TCP.
    let invite = Req::new("INVITE", "z9hG4bKist7");
    let (key, request, _) = Sim::new_request(&sim.receive(tcp(), invite.message()));
    let key = key.expect("a transaction");
    // Answered before the automatic 100 Trying is due.
    sim.run_until(secs(10) + ms(100));
    sim.respond(&key, answer(&request, 486));
    let log = sim.run_until(secs(60));
    assert_eq!(
        log,
        vec![(secs(42) + ms(100), Output::ServerTimeout { key })]
    );
}

#[test]
fn invite_server_guard_when_the_tu_never_answers() {
    let mut sim = Sim::new();
    let invite = Req::new("INVITE", "z9hG4bKist8");
    let (key, request, _) = Sim::new_request(&sim.receive(udp(), invite.message()));
    let key = key.expect("a transaction");
    // A provisional at 60 s re-arms the guard (§13.3.1.1 asks for one a minute).
    sim.run_until(secs(60));
    sim.respond(&key, answer(&request, 183));
    let log = sim.run_until(secs(300));
    assert_eq!(log, vec![(secs(240), Output::ServerTimeout { key })]);
    assert!(sim.layer.is_empty());
}

#[test]
fn cancel_names_the_invite_server_transaction() {
    let mut sim = Sim::new();
    let invite = Req::new("INVITE", "z9hG4bKist9");
    let (invite_key, _, _) = Sim::new_request(&sim.receive(udp(), invite.message()));
    let invite_key = invite_key.expect("a transaction");

    let cancel = Req::new("CANCEL", "z9hG4bKist9");
    let (cancel_key, request, cancels) = Sim::new_request(&sim.receive(udp(), cancel.message()));
    let cancel_key = cancel_key.expect("CANCEL has a transaction of its own");
    assert_eq!(request.method, Method::Cancel);
    assert_eq!(cancels, Some(invite_key.clone()));
    assert_ne!(cancel_key, invite_key);
    assert_eq!(cancel_key.method(), &Method::Cancel);
    assert_eq!(sim.layer.len(), 2);
    // The layer answers nothing itself; a retransmitted CANCEL is absorbed.
    assert!(sim.receive(udp(), cancel.message()).is_empty());

    // The same branch from another sender is another transaction (§17.2.3).
    let mut elsewhere = Req::new("CANCEL", "z9hG4bKist9");
    elsewhere.sent_by = "203.0.113.5:5060";
    let (_, _, cancels) = Sim::new_request(&sim.receive(udp(), elsewhere.message()));
    assert_eq!(cancels, None);

    // A CANCEL for nothing: cancels is None (the TU answers 481).
    let stray = Req::new("CANCEL", "z9hG4bKnothing");
    let (key, _, cancels) = Sim::new_request(&sim.receive(udp(), stray.message()));
    assert!(key.is_some());
    assert_eq!(cancels, None);
}

#[test]
fn rfc2543_requests_match_without_the_magic_cookie() {
    let mut sim = Sim::new();
    // No branch at all, and a branch without z9hG4bK: both fall back.
    for branch in [None, Some("legacy-77")] {
        let invite = Req {
            branch,
            ..Req::new("INVITE", "unused")
        };
        let (key, request, _) = Sim::new_request(&sim.receive(udp(), invite.message()));
        let key = key.expect("a transaction");
        assert!(key.is_rfc2543());
        assert_eq!(key.branch(), None);
        // The retransmission is matched and absorbed.
        assert!(sim.receive(udp(), invite.message()).is_empty());

        let busy = only_transmit(&sim.respond(&key, answer(&request, 486)));
        assert_eq!(only_transmit(&sim.receive(udp(), invite.message())), busy);

        // An ACK with another To tag is not ours: it goes to the TU.
        let mut wrong = Req::new("ACK", "unused");
        wrong.branch = branch;
        wrong.to_tag = Some("someone-else");
        let (ack_key, _, _) = Sim::new_request(&sim.receive(udp(), wrong.message()));
        assert_eq!(ack_key, None);

        // The ACK with our To tag (and the INVITE's CSeq number) is absorbed.
        let mut ack = Req::new("ACK", "unused");
        ack.branch = branch;
        ack.to_tag = Some("uas1");
        assert!(sim.receive(udp(), ack.message()).is_empty());
        sim.run_until(sim.elapsed() + secs(10));
        assert!(sim.layer.is_empty());
    }

    // Non-INVITE: a different CSeq is a different transaction.
    let options = Req {
        branch: None,
        ..Req::new("OPTIONS", "unused")
    };
    assert!(Sim::new_request(&sim.receive(udp(), options.message()))
        .0
        .is_some());
    assert!(sim.receive(udp(), options.message()).is_empty());
    let next = Req {
        branch: None,
        cseq: options.cseq + 1,
        ..Req::new("OPTIONS", "unused")
    };
    assert!(Sim::new_request(&sim.receive(udp(), next.message()))
        .0
        .is_some());
    assert_eq!(sim.layer.len(), 2);
}

#[test]
fn rfc2543_cancel_names_the_invite() {
    let mut sim = Sim::new();
    let invite = Req {
        branch: None,
        ..Req::new("INVITE", "unused")
    };
    let (invite_key, _, _) = Sim::new_request(&sim.receive(udp(), invite.message()));
    let cancel = Req {
        branch: None,
        ..Req::new("CANCEL", "unused")
    };
    let (_, _, cancels) = Sim::new_request(&sim.receive(udp(), cancel.message()));
    assert_eq!(cancels, invite_key);
}

#[test]
fn branch_matching_ignores_case() {
    let mut sim = Sim::new();
    let out = sim.receive(udp(), Req::new("OPTIONS", "z9hG4bKAbC").message());
    assert!(Sim::new_request(&out).0.is_some());
    assert!(sim
        .receive(udp(), Req::new("OPTIONS", "z9hG4bKabc").message())
        .is_empty());
}

// ---- robustness and scale --------------------------------------------------------

#[test]
fn malformed_messages_are_dropped_and_counted() {
    let mut sim = Sim::new();
    let empty = Response {
        status: 200,
        reason: "OK".into(),
        headers: Headers::new(),
        body: Bytes::new(),
    };
    assert!(sim.receive(udp(), Message::Response(empty)).is_empty());

    let mut no_cseq = response(200, "z9hG4bKx", "OPTIONS", None);
    no_cseq.headers.remove(&HeaderName::CSeq);
    assert!(sim.receive(udp(), Message::Response(no_cseq)).is_empty());

    let mut bad_status = response(200, "z9hG4bKx", "OPTIONS", None);
    bad_status.status = 42;
    assert!(sim.receive(udp(), Message::Response(bad_status)).is_empty());

    let mut no_via = Req::new("OPTIONS", "z9hG4bKy").request();
    no_via.headers.remove(&HeaderName::Via);
    assert!(sim.receive(udp(), Message::Request(no_via)).is_empty());

    let mut garbage_via = Req::new("OPTIONS", "z9hG4bKz").request();
    garbage_via.headers.set(HeaderName::Via, "\u{1}not a via");
    assert!(sim.receive(udp(), Message::Request(garbage_via)).is_empty());

    // RFC 2543 fallback needs Call-ID, CSeq, From and To as well.
    let mut legacy = Req {
        branch: None,
        ..Req::new("OPTIONS", "unused")
    }
    .request();
    legacy.headers.remove(&HeaderName::CallId);
    assert!(sim.receive(udp(), Message::Request(legacy)).is_empty());

    assert_eq!(sim.layer.stats().malformed, 6);
    assert!(sim.layer.is_empty());
}

#[test]
fn ten_thousand_transactions_expire_without_leaking() {
    const N: usize = 10_000;
    let mut sim = Sim::new();
    let mut branches = Vec::with_capacity(N);
    let mut rng = rand::thread_rng();
    for _ in 0..N {
        branches.push(new_branch(&mut rng));
    }
    // Client transactions into the void, and server transactions: half answered
    // (Timer J), half never (the guard), plus INVITEs rejected and never ACKed.
    for branch in &branches {
        sim.layer
            .send_request(sim.now, udp(), outgoing("OPTIONS", branch))
            .expect("valid request");
        let request = Req::new("OPTIONS", branch).request();
        sim.layer
            .handle_message(sim.now, udp(), Message::Request(request));
    }
    let mut keys = Vec::new();
    for output in sim.drain() {
        if let Output::Request {
            key: Some(key),
            request,
            ..
        } = output
        {
            keys.push((key, request));
        }
    }
    assert_eq!(keys.len(), N);
    for (key, request) in keys.iter().step_by(2) {
        sim.layer.respond(sim.now, key, answer(request, 200));
    }
    for branch in branches.iter().take(1000) {
        let invite = Req::new("INVITE", branch).request();
        sim.layer
            .handle_message(sim.now, udp(), Message::Request(invite.clone()));
        let key = ServerKey::for_request(&invite).expect("key");
        sim.layer.respond(sim.now, &key, answer(&invite, 480));
    }
    assert_eq!(sim.layer.len(), 2 * N + 1000);

    let log = sim.run_until(secs(100));
    let client_timeouts = log
        .iter()
        .filter(|(_, o)| matches!(o, Output::Timeout { .. }))
        .count();
    let server_timeouts = log
        .iter()
        .filter(|(_, o)| matches!(o, Output::ServerTimeout { .. }))
        .count();
    assert_eq!(client_timeouts, N);
    assert_eq!(server_timeouts, N / 2 + 1000);
    assert!(sim.layer.is_empty());
    assert_eq!(sim.layer.poll_timeout(), None);
    assert_eq!(sim.layer.queued_timers(), 0, "stale timer entries leaked");
}

#[test]
fn new_branch_has_the_cookie_and_is_fresh() {
    let mut rng = rand::thread_rng();
    let a = new_branch(&mut rng);
    let b = new_branch(&mut rng);
    assert!(a.starts_with(MAGIC_COOKIE));
    assert_eq!(a.len(), MAGIC_COOKIE.len() + 24);
    assert_ne!(a, b);
}

#[test]
fn lowering_t1_scales_every_timer() {
    let config = TimerConfig {
        t1: ms(100),
        ..TimerConfig::default()
    };
    let mut sim = Sim::with_config(config);
    let (key, _) = sim.send(udp(), outgoing("INVITE", "z9hG4bKfast"));
    let log = sim.run_until(secs(10));
    assert_eq!(
        transmit_times(&log),
        [100, 300, 700, 1500, 3100, 6300].map(ms).to_vec()
    );
    assert_timeouts_at(&log, &key, ms(6400));
}
