//! Outbound calls in virtual time: the server dials a citizen through the
//! trunk (survey calls). Answered, busy, not answered (ring timeout and
//! 480), refused, a digest challenge answered once, BYE from either side,
//! media timeout, the trunk's limits, and nothing left behind afterwards.

use super::*;
use crate::outbound::{OriginateError, OutboundTrunk};

const NUMBER: &str = "13800138000";
const CITIZEN: &str = "sip:13800138000@198.51.100.50:5060";

fn sbc() -> Remote {
    udp([192, 0, 2, 77], 5060)
}

fn trunk_config(max_concurrent: u32, per_second: u32) -> OutboundTrunk {
    OutboundTrunk {
        uri_template: "sip:{number}@192.0.2.77:5060".into(),
        remote: sbc(),
        caller_id: "12345".into(),
        credentials: Some(("hotline".into(), "example-only".into())),
        max_concurrent,
        calls_per_second: per_second,
        ring_timeout: Duration::from_secs(30),
    }
}

fn outbound(max_concurrent: u32, per_second: u32) -> H {
    let mut c = config((20000, 20099));
    c.hosted = true;
    let mut h = H::with_config(c);
    h.ep.set_trunk(Some(trunk_config(max_concurrent, per_second)));
    h
}

/// Places a call to `number`; checks the INVITE and what comes with it.
fn dial(h: &mut H, number: &str) -> (CallId, Agent) {
    let call = h.ep.originate(h.now, number).expect("placed");
    let b = h.drain();
    let inv = b.request_to(sbc(), Method::Invite);
    assert_eq!(inv.uri.to_string(), format!("sip:{number}@192.0.2.77:5060"));
    assert!(header(&Message::Request(inv.clone()), HeaderName::From).contains("sip:12345@"));
    let offer = body_sdp(&inv.body);
    let opened: Vec<u16> = b
        .media
        .iter()
        .filter_map(|m| match m {
            MediaCommand::Open {
                call: c,
                local_rtp_port,
                ..
            } if *c == call => Some(*local_rtp_port),
            _ => None,
        })
        .collect();
    assert_eq!(opened.len(), 2, "both legs opened: {:?}", b.media);
    assert_eq!(
        port_of(&offer),
        opened[0],
        "our offer names the caller port"
    );
    assert!(matches!(
        b.calls.as_slice(),
        [CallEvent::Originating { call: c, number: n, caller_id, .. }]
            if *c == call && n == number && caller_id == "12345"
    ));
    (call, Agent::new(sbc(), CITIZEN, inv))
}

fn citizen_answer() -> String {
    phone_sdp("198.51.100.50", 41000, "sendrecv", 1)
}

#[test]
fn an_answered_outbound_call_is_served_and_the_citizen_hangs_up() {
    let mut h = outbound(2, 10);
    let (call, mut citizen) = dial(&mut h, NUMBER);
    assert_eq!(h.ep.outbound_counts(), (1, 1));
    let ringing = &h.ep.calls()[0];
    assert_eq!((ringing.id, ringing.state), (call, CallState::Ringing));
    assert_eq!(ringing.caller_number, NUMBER);
    let b = citizen.respond(&mut h, 100, "");
    assert!(b.sent.is_empty() && b.calls.is_empty());
    let b = citizen.respond(&mut h, 180, "");
    assert!(b.sent.is_empty() && b.calls.is_empty());

    let b = citizen.respond(&mut h, 200, &citizen_answer());
    let ack = b.request_to(sbc(), Method::Ack);
    assert_eq!(ack.uri.to_string(), CITIZEN, "ACK to the Contact");
    assert!(
        matches!(b.calls.as_slice(), [CallEvent::OriginAnswered { call: c, .. }] if *c == call)
    );
    assert!(matches!(
        b.media.as_slice(),
        [MediaCommand::Serve { call: c, caller_remote, caller_dtmf_pt: Some(101), .. }]
            if *c == call && *caller_remote == "198.51.100.50:41000".parse().expect("addr")
    ));
    let view = &h.ep.calls()[0];
    assert_eq!(view.state, CallState::Served);
    assert_eq!(view.caller_number, NUMBER);
    assert!(view.answered.is_some());

    // A retransmitted 200 is ACKed again.
    let b = citizen.respond(&mut h, 200, &citizen_answer());
    b.request_to(sbc(), Method::Ack);
    // Minutes of survey: nothing to retransmit.
    assert!(h.advance(Duration::from_secs(60)).sent.is_empty());

    let bye = citizen.in_dialog("BYE", "");
    let b = h.send(sbc(), &bye);
    assert_eq!(b.statuses_to(sbc()), [200]);
    assert_eq!(b.ended(), Some((HangupBy::Caller, EndReason::Normal)));
    assert_eq!(h.ep.outbound_counts(), (0, 1), "the slot is given back");
    h.assert_all_clear();
}

#[test]
fn the_server_hangs_up_when_the_survey_is_done() {
    let mut h = outbound(2, 10);
    let (call, citizen) = dial(&mut h, NUMBER);
    citizen.respond(&mut h, 200, &citizen_answer());
    assert!(h.ep.hang_up(h.now, call));
    let b = h.drain();
    let bye = b.request_to(sbc(), Method::Bye);
    assert_eq!(b.ended(), Some((HangupBy::System, EndReason::Normal)));
    assert!(b.media.contains(&MediaCommand::Close { call }));
    Agent::new(sbc(), CITIZEN, bye).respond(&mut h, 200, "");
    h.assert_all_clear();
}

#[test]
fn busy_is_reported_and_everything_is_freed() {
    for status in [486, 600] {
        let mut h = outbound(2, 10);
        let (call, citizen) = dial(&mut h, NUMBER);
        citizen.respond(&mut h, 180, "");
        let b = citizen.respond(&mut h, status, "");
        b.request_to(sbc(), Method::Ack);
        assert_eq!(b.ended(), Some((HangupBy::Caller, EndReason::Busy)));
        assert!(b.media.contains(&MediaCommand::Close { call }));
        assert_eq!(h.ep.outbound_counts().0, 0);
        h.assert_all_clear();
    }
}

#[test]
fn no_answer_by_status_or_ring_timeout() {
    for status in [480, 408] {
        let mut h = outbound(2, 10);
        let (_, citizen) = dial(&mut h, NUMBER);
        let b = citizen.respond(&mut h, status, "");
        assert_eq!(b.ended(), Some((HangupBy::Caller, EndReason::NoAnswer)));
        h.assert_all_clear();
    }
    // Ringing for the whole ring timeout: CANCEL, then the 487.
    let mut h = outbound(2, 10);
    let (call, citizen) = dial(&mut h, NUMBER);
    citizen.respond(&mut h, 180, "");
    let b = h.advance(Duration::from_secs(29));
    assert!(b.calls.is_empty(), "{:?}", b.calls);
    let b = h.advance(Duration::from_secs(1));
    let cancel = b.request_to(sbc(), Method::Cancel);
    assert_eq!(b.ended(), Some((HangupBy::System, EndReason::NoAnswer)));
    assert!(b.media.contains(&MediaCommand::Close { call }));
    assert_eq!(h.ep.outbound_counts().0, 0, "the slot is free at once");
    Agent::new(sbc(), CITIZEN, cancel).respond(&mut h, 200, "");
    let b = citizen.respond(&mut h, 487, "");
    b.request_to(sbc(), Method::Ack);
    assert!(b.calls.is_empty(), "reported once");
    h.assert_all_clear();
}

#[test]
fn a_200_crossing_our_cancel_is_acked_and_byed() {
    let mut h = outbound(2, 10);
    let (_, citizen) = dial(&mut h, NUMBER);
    citizen.respond(&mut h, 180, "");
    let b = h.advance(Duration::from_secs(30));
    b.request_to(sbc(), Method::Cancel);
    let b = citizen.respond(&mut h, 200, &citizen_answer());
    b.request_to(sbc(), Method::Ack);
    let bye = b.request_to(sbc(), Method::Bye);
    assert!(b.calls.is_empty(), "{:?}", b.calls);
    Agent::new(sbc(), CITIZEN, bye).respond(&mut h, 200, "");
    h.assert_all_clear();
}

#[test]
fn a_silent_trunk_is_not_cancelled_before_a_provisional_and_fails_after_timer_b() {
    let mut h = outbound(2, 10);
    dial(&mut h, NUMBER);
    // Timer B (64·T1 = 32 s) fires after the ring timeout (30 s).
    let b = h.advance(Duration::from_secs(30));
    assert!(
        b.requests_to(sbc(), Method::Cancel).is_empty(),
        "no CANCEL before a 1xx"
    );
    assert_eq!(b.ended(), Some((HangupBy::System, EndReason::NoAnswer)));
    h.assert_all_clear();
}

#[test]
fn other_failures_are_rejections_with_their_status() {
    let mut h = outbound(2, 10);
    let (_, citizen) = dial(&mut h, NUMBER);
    let b = citizen.respond(&mut h, 503, "");
    assert_eq!(
        b.ended(),
        Some((HangupBy::Caller, EndReason::Rejected(503)))
    );
    h.assert_all_clear();
}

/// A response to `inv` with one challenge header.
fn challenge(inv: &Request, status: u16) -> Bytes {
    let text = String::from_utf8(reply(inv, status, "sbc-tag", "", "").to_vec()).expect("utf8");
    let name = if status == 401 {
        "WWW-Authenticate"
    } else {
        "Proxy-Authenticate"
    };
    let text = text.replacen(
        "Content-Length",
        &format!("{name}: Digest realm=\"sbc.test\", nonce=\"n0nce\", qop=\"auth\", algorithm=MD5\r\nContent-Length"),
        1,
    );
    Bytes::from(text)
}

#[test]
fn a_digest_challenge_is_answered_once() {
    for (status, header_name) in [
        (401, HeaderName::Authorization),
        (407, HeaderName::ProxyAuthorization),
    ] {
        let mut h = outbound(2, 10);
        let (_, citizen) = dial(&mut h, NUMBER);
        let first = citizen.invite.clone();
        let b = h.send_bytes(sbc(), challenge(&first, status));
        b.request_to(sbc(), Method::Ack);
        assert!(b.calls.is_empty(), "not over: {:?}", b.calls);
        let second = b.request_to(sbc(), Method::Invite);
        let m = Message::Request(second.clone());
        assert_eq!(cseq(&m), "2 INVITE");
        assert_eq!(
            header(&m, HeaderName::CallId),
            header(&Message::Request(first.clone()), HeaderName::CallId)
        );
        assert_eq!(
            header(&m, HeaderName::From),
            header(&Message::Request(first.clone()), HeaderName::From)
        );
        let auth = header(&m, header_name);
        let expected = crate::digest::authorization(
            "Digest realm=\"sbc.test\", nonce=\"n0nce\", qop=\"auth\", algorithm=MD5",
            "hotline",
            "example-only",
            "INVITE",
            &second.uri.to_string(),
            auth.split("cnonce=\"")
                .nth(1)
                .and_then(|r| r.split('"').next())
                .expect("a cnonce"),
        )
        .expect("computable");
        assert_eq!(auth, expected);

        // A second challenge means the credentials are wrong: give up.
        let b = h.send_bytes(sbc(), challenge(&second, status));
        assert!(b.requests_to(sbc(), Method::Invite).is_empty());
        assert_eq!(
            b.ended(),
            Some((HangupBy::Caller, EndReason::Rejected(status)))
        );
        h.assert_all_clear();
    }
}

#[test]
fn the_answer_to_an_authorised_invite_connects() {
    let mut h = outbound(2, 10);
    let (_, citizen) = dial(&mut h, NUMBER);
    let b = h.send_bytes(sbc(), challenge(&citizen.invite, 407));
    let second = b.request_to(sbc(), Method::Invite);
    let citizen = Agent::new(sbc(), CITIZEN, second);
    citizen.respond(&mut h, 180, "");
    let b = citizen.respond(&mut h, 200, &citizen_answer());
    assert!(b
        .calls
        .iter()
        .any(|e| matches!(e, CallEvent::OriginAnswered { .. })));
    let ack = b.request_to(sbc(), Method::Ack);
    assert_eq!(cseq(&Message::Request(ack)), "2 ACK");
}

#[test]
fn media_timeout_ends_an_outbound_call_with_a_bye() {
    let mut h = outbound(2, 10);
    let (call, citizen) = dial(&mut h, NUMBER);
    citizen.respond(&mut h, 200, &citizen_answer());
    assert!(h.ep.media_timeout(h.now, call, Leg::Caller));
    let b = h.drain();
    let bye = b.request_to(sbc(), Method::Bye);
    assert!(bye
        .headers
        .iter()
        .any(|x| x.value.contains("Media Timeout")));
    assert_eq!(b.ended(), Some((HangupBy::System, EndReason::MediaTimeout)));
    Agent::new(sbc(), CITIZEN, bye).respond(&mut h, 200, "");
    h.assert_all_clear();
}

#[test]
fn hanging_up_before_the_answer_cancels() {
    let mut h = outbound(2, 10);
    let (call, citizen) = dial(&mut h, NUMBER);
    citizen.respond(&mut h, 183, "");
    assert!(h.ep.hang_up(h.now, call));
    assert!(!h.ep.hang_up(h.now, call), "once");
    let b = h.drain();
    b.request_to(sbc(), Method::Cancel);
    assert_eq!(b.ended(), Some((HangupBy::System, EndReason::Cancelled)));
    citizen.respond(&mut h, 487, "");
    h.assert_all_clear();
}

#[test]
fn limits_refuse_calls_beyond_concurrency_and_rate() {
    let mut h = outbound(2, 10);
    let (_, a) = dial(&mut h, NUMBER);
    let (_, _b) = dial(&mut h, "13800138001");
    assert_eq!(
        h.ep.originate(h.now, "13800138002"),
        Err(OriginateError::Concurrency(2))
    );
    assert!(h.drain().sent.is_empty(), "nothing sent for a refused call");
    a.respond(&mut h, 486, "");
    dial(&mut h, "13800138002");
    assert_eq!(h.ep.outbound_counts(), (2, 2));

    let mut h = outbound(100, 2);
    dial(&mut h, NUMBER);
    h.advance(Duration::from_millis(500));
    dial(&mut h, NUMBER);
    h.advance(Duration::from_millis(499));
    assert_eq!(h.ep.originate(h.now, NUMBER), Err(OriginateError::Rate(2)));
    h.advance(Duration::from_millis(1));
    dial(&mut h, NUMBER);
}

#[test]
fn nothing_is_dialled_without_a_trunk_or_with_a_bad_number() {
    let mut h = outbound(2, 10);
    for bad in ["", "12", "138@evil.example", "138;transport=tcp", "sip:138"] {
        assert_eq!(
            h.ep.originate(h.now, bad),
            Err(OriginateError::BadNumber(bad.into()))
        );
    }
    h.ep.set_trunk(None);
    assert_eq!(
        h.ep.originate(h.now, NUMBER),
        Err(OriginateError::NotConfigured)
    );
    assert!(h.drain().sent.is_empty());
    h.assert_all_clear();
}

// ----- callbacks: the agent's phone first, then the citizen ----------------------

/// A callback placed for agent 1001 (registered on phone 1): the INVITE to
/// its phone, showing the citizen's number.
fn callback(h: &mut H) -> (CallId, Agent) {
    h.register("1001", phone1(), CONTACT1);
    let call =
        h.ep.originate_callback(h.now, "1001", NUMBER)
            .expect("placed");
    let b = h.drain();
    let inv = b.request_to(phone1(), Method::Invite);
    assert_eq!(inv.uri.to_string(), CONTACT1);
    assert!(header(&Message::Request(inv.clone()), HeaderName::From).contains(NUMBER));
    assert!(b.to(sbc()).is_empty(), "the citizen waits for the agent");
    assert!(matches!(
        b.calls.as_slice(),
        [CallEvent::Originating { number, caller_id, .. }] if number == NUMBER && caller_id == "12345"
    ));
    (call, Agent::new(phone1(), CONTACT1, inv))
}

/// The agent answers: ACKed, and the citizen is dialled through the trunk.
fn agent_answers(h: &mut H, agent: &Agent) -> Agent {
    let b = agent.answer(h);
    b.request_to(phone1(), Method::Ack);
    let inv = b.request_to(sbc(), Method::Invite);
    assert_eq!(inv.uri.to_string(), format!("sip:{NUMBER}@192.0.2.77:5060"));
    assert!(header(&Message::Request(inv.clone()), HeaderName::From).contains("sip:12345@"));
    assert!(b.calls.is_empty(), "nothing to report yet: {:?}", b.calls);
    Agent::new(sbc(), CITIZEN, inv)
}

#[test]
fn a_callback_rings_the_agent_then_bridges_the_citizen() {
    let mut h = outbound(2, 10);
    let (call, agent) = callback(&mut h);
    agent.respond(&mut h, 180, "");
    let citizen = agent_answers(&mut h, &agent);
    assert!(h.ep.calls()[0].state == CallState::Ringing);
    citizen.respond(&mut h, 180, "");
    let b = citizen.respond(&mut h, 200, &citizen_answer());
    b.request_to(sbc(), Method::Ack);
    assert!(matches!(
        b.calls.as_slice(),
        [CallEvent::Answered { call: c, agent, .. }] if *c == call && agent == "1001"
    ));
    assert!(matches!(
        b.media.as_slice(),
        [MediaCommand::Connect { caller_remote, agent_remote, .. }]
            if *caller_remote == "10.0.0.21:30000".parse().expect("addr")
            && *agent_remote == "198.51.100.50:41000".parse().expect("addr")
    ));
    assert_eq!(h.ep.calls()[0].state, CallState::Connected);
    assert_eq!(h.ep.calls()[0].agent.as_deref(), Some("1001"));
    assert_eq!(h.ep.calls()[0].caller_number, NUMBER);
    // The agent is busy for the ACD's purposes while on the callback.
    assert_eq!(
        h.ep.originate_callback(h.now, "1001", NUMBER),
        Err(OriginateError::AgentBusy("1001".into()))
    );

    // The citizen hangs up: the agent gets a BYE.
    let mut citizen = citizen;
    let bye = citizen.in_dialog("BYE", "");
    let b = h.send(sbc(), &bye);
    let agent_bye = b.request_to(phone1(), Method::Bye);
    assert_eq!(b.ended(), Some((HangupBy::Caller, EndReason::Normal)));
    Agent::new(phone1(), CONTACT1, agent_bye).respond(&mut h, 200, "");
    assert_eq!(h.ep.outbound_counts().0, 0);
    h.assert_all_clear();
}

#[test]
fn a_busy_citizen_ends_the_callback_and_releases_the_agent() {
    let mut h = outbound(2, 10);
    let (call, agent) = callback(&mut h);
    let citizen = agent_answers(&mut h, &agent);
    let b = citizen.respond(&mut h, 486, "");
    assert!(b.calls.iter().any(|e| matches!(
        e,
        CallEvent::RingFailed { call: c, failure: RingFailure::Busy, .. } if *c == call
    )));
    assert_eq!(b.ended(), Some((HangupBy::System, EndReason::Busy)));
    let bye = b.request_to(phone1(), Method::Bye);
    Agent::new(phone1(), CONTACT1, bye).respond(&mut h, 200, "");
    h.assert_all_clear();
}

#[test]
fn a_silent_citizen_is_cancelled_at_the_ring_timeout() {
    let mut h = outbound(2, 10);
    let (_, agent) = callback(&mut h);
    let citizen = agent_answers(&mut h, &agent);
    citizen.respond(&mut h, 180, "");
    let b = h.advance(Duration::from_secs(30));
    b.request_to(sbc(), Method::Cancel);
    assert!(b.calls.iter().any(|e| matches!(
        e,
        CallEvent::RingFailed {
            failure: RingFailure::NoAnswer,
            ..
        }
    )));
    assert_eq!(b.ended(), Some((HangupBy::System, EndReason::NoAnswer)));
    let bye = b.request_to(phone1(), Method::Bye);
    Agent::new(phone1(), CONTACT1, bye).respond(&mut h, 200, "");
    citizen.respond(&mut h, 487, "");
    h.assert_all_clear();
}

#[test]
fn the_trunk_challenge_on_the_citizen_leg_is_answered_once() {
    let mut h = outbound(2, 10);
    let (_, agent) = callback(&mut h);
    let citizen = agent_answers(&mut h, &agent);
    let b = h.send_bytes(sbc(), challenge(&citizen.invite, 407));
    let second = b.request_to(sbc(), Method::Invite);
    let m = Message::Request(second.clone());
    assert_eq!(cseq(&m), "2 INVITE");
    assert!(header(&m, HeaderName::ProxyAuthorization).contains("username=\"hotline\""));
    // Wrong credentials: the second challenge ends the callback.
    let b = h.send_bytes(sbc(), challenge(&second, 407));
    assert!(b.requests_to(sbc(), Method::Invite).is_empty());
    assert_eq!(
        b.ended(),
        Some((HangupBy::System, EndReason::Rejected(407)))
    );
    let bye = b.request_to(phone1(), Method::Bye);
    Agent::new(phone1(), CONTACT1, bye).respond(&mut h, 200, "");
    h.assert_all_clear();
}

#[test]
fn an_agent_who_does_not_answer_or_is_not_registered_gets_no_citizen_dialled() {
    let mut h = outbound(2, 10);
    assert_eq!(
        h.ep.originate_callback(h.now, "1001", NUMBER),
        Err(OriginateError::AgentNotRegistered("1001".into()))
    );
    let (_, agent) = callback(&mut h);
    agent.respond(&mut h, 180, "");
    let b = h.advance(Duration::from_secs(30));
    b.request_to(phone1(), Method::Cancel);
    assert!(b.to(sbc()).is_empty());
    assert_eq!(b.ended(), Some((HangupBy::System, EndReason::NoAnswer)));
    agent.respond(&mut h, 487, "");
    h.assert_all_clear();
}
