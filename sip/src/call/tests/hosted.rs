//! Hosted calls in virtual time: the server answers the caller at once, the
//! owner rings agents (one or several), stops ringing, gets the caller back
//! when an agent hangs up first, and transfers to an emergency line (by API or
//! by the agent phone's REFER). SIP INFO DTMF reaches the owner.

use super::*;

fn gateway() -> Remote {
    udp([192, 0, 2, 99], 5070)
}

fn hosted() -> H {
    let mut c = config((20000, 20099));
    c.hosted = true;
    H::with_config(c)
}

/// A hosted call that arrived and was answered by the server (ACKed).
fn served_call(h: &mut H, caller: &mut Caller) -> CallId {
    let b = h.send(trunk(), &caller.invite());
    assert_eq!(b.statuses_to(trunk()), [100, 200], "{:#?}", b.sent);
    assert_eq!(b.invites_anywhere(), 0, "nobody is rung by itself");
    let ok = b.response_to(trunk(), 200);
    let answer = body_sdp(&ok.body);
    let call = match b.calls.as_slice() {
        [CallEvent::Arrived { call, .. }] => *call,
        other => panic!("{other:?}"),
    };
    let caller_port = match b.media.as_slice() {
        [MediaCommand::Open {
            leg: Leg::Caller,
            local_rtp_port,
            ..
        }, MediaCommand::Open { .. }, MediaCommand::Serve {
            caller_remote,
            caller_codec,
            caller_dtmf_pt,
            ..
        }] => {
            assert_eq!(*caller_remote, "198.51.100.7:40000".parse().expect("addr"));
            assert_eq!(*caller_codec, Codec::PCMA);
            assert_eq!(*caller_dtmf_pt, Some(101));
            *local_rtp_port
        }
        other => panic!("{other:?}"),
    };
    assert_eq!(port_of(&answer), caller_port);
    caller.ok = Some(ok);
    let ack = caller.in_dialog("ACK", "");
    assert!(h.send(trunk(), &ack).sent.is_empty());
    assert_eq!(h.ep.calls()[0].state, CallState::Served);
    call
}

fn ring(h: &mut H, call: CallId, agent: &str, phone: Remote, contact: &'static str) -> Agent {
    h.ep.ring_agent(h.now, call, agent).expect("rung");
    let b = h.drain();
    let inv = b.request_to(phone, Method::Invite);
    assert!(
        matches!(b.calls.as_slice(), [CallEvent::Ringing { agent: a, .. }] if a == agent),
        "{:?}",
        b.calls
    );
    Agent::new(phone, contact, inv)
}

#[test]
fn a_hosted_call_is_answered_at_once_and_bridged_when_the_owner_rings_an_agent() {
    let mut h = hosted();
    h.register("1001", phone1(), CONTACT1);
    let mut caller = Caller::new(1);
    let call = served_call(&mut h, &mut caller);
    // Minutes in the queue: the 200 is ACKed, nothing is retransmitted.
    let b = h.advance(Duration::from_secs(120));
    assert!(b.sent.is_empty(), "{:#?}", b.sent);

    let agent = ring(&mut h, call, "1001", phone1(), CONTACT1);
    assert_eq!(h.ep.calls()[0].state, CallState::Ringing);
    assert_eq!(h.ep.calls()[0].ringing, ["1001"]);
    // No ring timer of our own: the ACD decides.
    let b = agent.respond(&mut h, 180, "");
    assert!(b.to(trunk()).is_empty(), "no 180 to an answered caller");
    let b = h.advance(Duration::from_secs(300));
    assert!(b.requests_to(phone1(), Method::Cancel).is_empty());

    let b = agent.answer(&mut h);
    b.request_to(phone1(), Method::Ack);
    assert!(b.to(trunk()).is_empty(), "the caller was answered already");
    assert!(matches!(
        b.media.as_slice(),
        [MediaCommand::Connect { agent_remote, .. }] if *agent_remote == "10.0.0.21:30000".parse().expect("addr")
    ));
    assert!(matches!(b.calls.as_slice(), [CallEvent::Answered { agent, .. }] if agent == "1001"));
    let view = &h.ep.calls()[0];
    assert_eq!(view.state, CallState::Connected);
    assert_eq!(view.agent.as_deref(), Some("1001"));
    assert!(view.ringing.is_empty());

    let bye = caller.in_dialog("BYE", "");
    let b = h.send(trunk(), &bye);
    let bye = b.request_to(phone1(), Method::Bye);
    assert_eq!(b.ended(), Some((HangupBy::Caller, EndReason::Normal)));
    Agent::new(phone1(), CONTACT1, bye).respond(&mut h, 200, "");
    h.assert_all_clear();
}

#[test]
fn a_busy_agent_is_reported_and_the_caller_stays_for_the_next() {
    let mut h = hosted();
    h.register("1001", phone1(), CONTACT1);
    h.register("1002", phone2(), CONTACT2);
    let mut caller = Caller::new(2);
    let call = served_call(&mut h, &mut caller);
    let agent = ring(&mut h, call, "1001", phone1(), CONTACT1);
    let b = agent.respond(&mut h, 486, "");
    b.request_to(phone1(), Method::Ack);
    assert!(matches!(
        b.calls.as_slice(),
        [CallEvent::RingFailed { agent, failure: RingFailure::Busy, .. }] if agent == "1001"
    ));
    assert!(b.to(trunk()).is_empty(), "the caller is not told");
    assert_eq!(h.ep.calls()[0].state, CallState::Served);

    let agent = ring(&mut h, call, "1002", phone2(), CONTACT2);
    let b = agent.respond(&mut h, 603, "");
    assert!(matches!(
        b.calls.as_slice(),
        [CallEvent::RingFailed {
            failure: RingFailure::Rejected(603),
            ..
        }]
    ));
    // Unregistered agents cannot be rung; an unknown call is an error.
    assert_eq!(
        h.ep.ring_agent(h.now, call, "1003"),
        Err(CallControlError::NotRegistered("1003".into()))
    );
    assert_eq!(
        h.ep.ring_agent(h.now, CallId(7), "1001"),
        Err(CallControlError::UnknownCall)
    );
    assert!(h.ep.hang_up(h.now, call));
    let b = h.drain();
    let bye = b.request_to(trunk(), Method::Bye);
    assert_eq!(b.ended(), Some((HangupBy::System, EndReason::Normal)));
    h.send_bytes(trunk(), reply(&bye, 200, "", "", ""));
    h.assert_all_clear();
}

#[test]
fn stop_ringing_cancels_the_phone_without_a_failure_event() {
    let mut h = hosted();
    h.register("1001", phone1(), CONTACT1);
    let mut caller = Caller::new(3);
    let call = served_call(&mut h, &mut caller);
    let agent = ring(&mut h, call, "1001", phone1(), CONTACT1);
    agent.respond(&mut h, 180, "");
    assert!(h.ep.stop_ringing(h.now, call, "1001"));
    let b = h.drain();
    let cancel = b.request_to(phone1(), Method::Cancel);
    assert_eq!(cseq(&Message::Request(cancel)), "1 CANCEL");
    assert_eq!(h.ep.calls()[0].state, CallState::Served);
    let b = agent.respond(&mut h, 487, "");
    assert!(b.calls.is_empty(), "{:?}", b.calls);
    assert!(
        !h.ep.stop_ringing(h.now, call, "1001"),
        "not ringing any more"
    );
    // The same agent may be rung again later (a ring-timeout retry round).
    let agent = ring(&mut h, call, "1001", phone1(), CONTACT1);
    assert_eq!(
        h.ep.ring_agent(h.now, call, "1001"),
        Err(CallControlError::AlreadyRinging("1001".into()))
    );
    // The caller hangs up while the phone rings: CANCEL it, all clear.
    agent.respond(&mut h, 180, "");
    let bye = caller.in_dialog("BYE", "");
    let b = h.send(trunk(), &bye);
    b.request_to(phone1(), Method::Cancel);
    assert_eq!(b.ended(), Some((HangupBy::Caller, EndReason::Normal)));
    agent.respond(&mut h, 487, "");
    h.assert_all_clear();
}

#[test]
fn ring_all_first_answer_wins_and_the_others_are_cancelled() {
    let mut h = hosted();
    h.register("1001", phone1(), CONTACT1);
    h.register("1002", phone2(), CONTACT2);
    let mut caller = Caller::new(4);
    let call = served_call(&mut h, &mut caller);
    let a1 = ring(&mut h, call, "1001", phone1(), CONTACT1);
    let a2 = ring(&mut h, call, "1002", phone2(), CONTACT2);
    let mut ringing = h.ep.calls()[0].ringing.clone();
    ringing.sort();
    assert_eq!(ringing, ["1001", "1002"]);
    a1.respond(&mut h, 180, "");
    a2.respond(&mut h, 180, "");
    let b = a2.respond(&mut h, 200, &phone_sdp("10.0.0.22", 31000, "sendrecv", 1));
    b.request_to(phone2(), Method::Ack);
    b.request_to(phone1(), Method::Cancel);
    assert!(matches!(b.calls.as_slice(), [CallEvent::Answered { agent, .. }] if agent == "1002"));
    assert!(matches!(
        b.media.as_slice(),
        [MediaCommand::Connect { agent_remote, .. }] if *agent_remote == "10.0.0.22:31000".parse().expect("addr")
    ));
    let b = a1.respond(&mut h, 487, "");
    assert!(b.calls.is_empty());
    assert_eq!(h.ep.calls()[0].agent.as_deref(), Some("1002"));
    assert!(h.ep.calls()[0].ringing.is_empty());
    h.ep.hang_up(h.now, call);
    let b = h.drain();
    let bye_caller = b.request_to(trunk(), Method::Bye);
    let bye_agent = b.request_to(phone2(), Method::Bye);
    h.send_bytes(trunk(), reply(&bye_caller, 200, "", "", ""));
    h.send_bytes(phone2(), reply(&bye_agent, 200, "", "", ""));
    h.assert_all_clear();
}

#[test]
fn a_failed_primary_leaves_the_parallel_phone_ringing() {
    let mut h = hosted();
    h.register("1001", phone1(), CONTACT1);
    h.register("1002", phone2(), CONTACT2);
    let mut caller = Caller::new(5);
    let call = served_call(&mut h, &mut caller);
    let a1 = ring(&mut h, call, "1001", phone1(), CONTACT1);
    let a2 = ring(&mut h, call, "1002", phone2(), CONTACT2);
    let b = a1.respond(&mut h, 486, "");
    assert!(matches!(b.calls.as_slice(), [CallEvent::RingFailed { agent, .. }] if agent == "1001"));
    assert_eq!(h.ep.calls()[0].state, CallState::Ringing);
    assert_eq!(h.ep.calls()[0].ringing, ["1002"]);
    let b = a2.respond(&mut h, 200, &phone_sdp("10.0.0.22", 31000, "sendrecv", 1));
    assert!(matches!(b.calls.as_slice(), [CallEvent::Answered { agent, .. }] if agent == "1002"));
    assert_eq!(h.ep.calls()[0].state, CallState::Connected);
}

/// A hosted call bridged to agent 1001 (phone 1).
fn bridged(h: &mut H, caller: &mut Caller) -> (CallId, Agent) {
    h.register("1001", phone1(), CONTACT1);
    let call = served_call(h, caller);
    let agent = ring(h, call, "1001", phone1(), CONTACT1);
    agent.answer(h);
    assert_eq!(h.ep.calls()[0].state, CallState::Connected);
    (call, agent)
}

#[test]
fn the_caller_is_kept_when_the_agent_hangs_up_first() {
    let mut h = hosted();
    let mut caller = Caller::new(6);
    let (call, mut agent) = bridged(&mut h, &mut caller);
    let bye = agent.in_dialog("BYE", "");
    let b = h.send(phone1(), &bye);
    assert_eq!(b.statuses_to(phone1()), [200]);
    assert!(b.to(trunk()).is_empty(), "no BYE to the caller");
    assert!(matches!(b.calls.as_slice(), [CallEvent::AgentLeft { agent, .. }] if agent == "1001"));
    assert!(matches!(b.media.as_slice(), [MediaCommand::Serve { .. }]));
    let view = &h.ep.calls()[0];
    assert_eq!(view.state, CallState::Served);
    assert_eq!(view.agent, None);
    // The survey runs; then the owner hangs up: the agent hung up first.
    h.advance(Duration::from_secs(20));
    assert!(h.ep.hang_up(h.now, call));
    let b = h.drain();
    let bye = b.request_to(trunk(), Method::Bye);
    assert_eq!(b.ended(), Some((HangupBy::Agent, EndReason::Normal)));
    h.send_bytes(trunk(), reply(&bye, 200, "", "", ""));
    h.assert_all_clear();
}

#[test]
fn releasing_the_agent_keeps_the_caller_for_the_survey() {
    let mut h = hosted();
    let mut caller = Caller::new(14);
    let (call, _agent) = bridged(&mut h, &mut caller);
    h.ep.release_agent(h.now, call).expect("released");
    let b = h.drain();
    let bye = b.request_to(phone1(), Method::Bye);
    assert!(b.to(trunk()).is_empty(), "the caller stays");
    assert!(matches!(b.calls.as_slice(), [CallEvent::AgentLeft { agent, .. }] if agent == "1001"));
    assert!(matches!(b.media.as_slice(), [MediaCommand::Serve { .. }]));
    let view = &h.ep.calls()[0];
    assert_eq!(view.state, CallState::Served);
    assert_eq!(view.agent, None);
    h.send_bytes(phone1(), reply(&bye, 200, "", "", ""));
    // Nobody is left to release; an unknown call is refused.
    assert_eq!(
        h.ep.release_agent(h.now, call),
        Err(CallControlError::NoAgent)
    );
    assert_eq!(
        h.ep.release_agent(h.now, CallId(0xdead)),
        Err(CallControlError::UnknownCall)
    );
    // The survey runs; then the owner hangs up.
    assert!(h.ep.hang_up(h.now, call));
    let b = h.drain();
    let bye = b.request_to(trunk(), Method::Bye);
    h.send_bytes(trunk(), reply(&bye, 200, "", "", ""));
    h.assert_all_clear();
}

#[test]
fn transfer_to_an_emergency_line_releases_the_agent_and_bridges_the_gateway() {
    let mut h = hosted();
    let mut caller = Caller::new(7);
    let (call, _agent) = bridged(&mut h, &mut caller);
    h.ep.transfer(h.now, call, "110", "sip:110@192.0.2.99:5070", gateway())
        .expect("transfer");
    let b = h.drain();
    let bye = b.request_to(phone1(), Method::Bye);
    let inv = b.request_to(gateway(), Method::Invite);
    assert_eq!(inv.uri.as_str(), "sip:110@192.0.2.99:5070");
    assert_eq!(
        header(&Message::Request(inv.clone()), HeaderName::To),
        "<sip:110@192.0.2.99:5070>"
    );
    assert!(header(&Message::Request(inv.clone()), HeaderName::From).contains("13800138000"));
    assert!(matches!(b.media.as_slice(), [MediaCommand::Serve { .. }]));
    assert!(b.to(trunk()).is_empty(), "the caller stays");
    assert_eq!(h.ep.calls()[0].transferred_to.as_deref(), Some("110"));
    h.send_bytes(phone1(), reply(&bye, 200, "", "", ""));
    let gw = Agent::new(gateway(), "sip:110@192.0.2.99:5070", inv);
    gw.respond(&mut h, 180, "");
    let b = gw.respond(&mut h, 200, &phone_sdp("192.0.2.99", 42000, "sendrecv", 1));
    b.request_to(gateway(), Method::Ack);
    assert!(matches!(
        b.calls.as_slice(),
        [CallEvent::Transferred { number, .. }] if number == "110"
    ));
    assert!(matches!(
        b.media.as_slice(),
        [MediaCommand::Connect { agent_remote, .. }] if *agent_remote == "192.0.2.99:42000".parse().expect("addr")
    ));
    assert_eq!(h.ep.calls()[0].agent, None, "no agent on the call");
    // The caller hangs up: the gateway gets the BYE.
    let bye = caller.in_dialog("BYE", "");
    let b = h.send(trunk(), &bye);
    let gw_bye = b.request_to(gateway(), Method::Bye);
    h.send_bytes(gateway(), reply(&gw_bye, 200, "", "", ""));
    h.assert_all_clear();
}

#[test]
fn a_failed_transfer_gives_the_caller_back_to_the_server() {
    let mut h = hosted();
    let mut caller = Caller::new(8);
    let call = served_call(&mut h, &mut caller);
    h.ep.transfer(h.now, call, "120", "sip:120@192.0.2.99:5070", gateway())
        .expect("transfer");
    let b = h.drain();
    assert!(b.media.is_empty(), "already serving");
    let inv = b.request_to(gateway(), Method::Invite);
    let gw = Agent::new(gateway(), "sip:120@192.0.2.99:5070", inv);
    let b = gw.respond(&mut h, 503, "");
    assert!(matches!(
        b.calls.as_slice(),
        [CallEvent::TransferFailed { number, status: 503, .. }] if number == "120"
    ));
    assert_eq!(h.ep.calls()[0].state, CallState::Served);
    // An emergency line that rings forever is given up on.
    h.ep.transfer(h.now, call, "120", "sip:120@192.0.2.99:5070", gateway())
        .expect("transfer");
    let inv = h.drain().request_to(gateway(), Method::Invite);
    let gw = Agent::new(gateway(), "sip:120@192.0.2.99:5070", inv);
    gw.respond(&mut h, 180, "");
    let b = h.advance(Duration::from_secs(61));
    b.sent_request_to(gateway(), Method::Cancel);
    assert!(b
        .calls
        .iter()
        .any(|e| matches!(e, CallEvent::TransferFailed { status: 408, .. })));
}

fn refer(agent: &mut Agent, target: &str) -> String {
    let text = agent.in_dialog("REFER", "");
    text.replacen(
        "Content-Length: 0",
        &format!("Refer-To: <{target}>\nReferred-By: <sip:1001@{DOMAIN}>\nContent-Length: 0"),
        1,
    )
}

#[test]
fn refer_from_the_agent_phone_only_reaches_emergency_numbers() {
    let mut h = hosted();
    let mut caller = Caller::new(9);
    let (call, mut agent) = bridged(&mut h, &mut caller);

    // Toll fraud: a mobile number that contains "110" is refused.
    let b = h.send(phone1(), &refer(&mut agent, "sip:13811012345@hotline.test"));
    assert_eq!(b.statuses_to(phone1()), [403]);
    assert!(b.calls.is_empty());
    let b = h.send(phone1(), &refer(&mut agent, "sip:12345@hotline.test"));
    assert_eq!(b.statuses_to(phone1()), [403]);

    let b = h.send(phone1(), &refer(&mut agent, "sip:110@hotline.test"));
    assert_eq!(b.statuses_to(phone1()), [202]);
    let notify = b.request_to(phone1(), Method::Notify);
    let nm = Message::Request(notify.clone());
    assert_eq!(header(&nm, HeaderName::Other("Event".into())), "refer");
    assert_eq!(&notify.body[..], b"SIP/2.0 100 Trying\r\n");
    assert!(matches!(
        b.calls.as_slice(),
        [CallEvent::TransferRequested { agent, number, .. }] if agent == "1001" && number == "110"
    ));
    // The owner performs it: final NOTIFY, then BYE to the phone.
    h.ep.transfer(h.now, call, "110", "sip:110@192.0.2.99:5070", gateway())
        .expect("transfer");
    let b = h.drain();
    let notifies = b.requests_to(phone1(), Method::Notify);
    assert_eq!(notifies.len(), 1);
    assert_eq!(&notifies[0].body[..], b"SIP/2.0 200 OK\r\n");
    assert!(header(
        &Message::Request(notifies[0].clone()),
        HeaderName::Other("Subscription-State".into())
    )
    .starts_with("terminated"));
    b.request_to(phone1(), Method::Bye);
    b.request_to(gateway(), Method::Invite);
}

#[test]
fn info_dtmf_on_the_caller_leg_reaches_the_owner() {
    let mut h = hosted();
    let mut caller = Caller::new(10);
    let call = served_call(&mut h, &mut caller);
    let info = caller
        .in_dialog("INFO", "Signal=5\nDuration=160\n")
        .replace("application/sdp", "application/dtmf-relay");
    let b = h.send(trunk(), &info);
    assert_eq!(b.statuses_to(trunk()), [200]);
    match b.calls.as_slice() {
        [CallEvent::Info {
            call: c,
            content_type,
            body,
        }] => {
            assert_eq!(*c, call);
            assert_eq!(content_type, "application/dtmf-relay");
            assert!(body.starts_with(b"Signal=5"));
        }
        other => panic!("{other:?}"),
    }
    let info = caller
        .in_dialog("INFO", "hello")
        .replace("application/sdp", "text/plain");
    let b = h.send(trunk(), &info);
    assert_eq!(b.statuses_to(trunk()), [415]);
    assert!(b.calls.is_empty());
}

#[test]
fn a_caller_on_hold_in_the_queue_is_answered_with_our_sdp() {
    let mut h = hosted();
    let mut caller = Caller::new(11);
    served_call(&mut h, &mut caller);
    let hold = OFFER.replace("a=sendrecv", "a=sendonly");
    let reinvite = caller.in_dialog("INVITE", &hold);
    let b = h.send(trunk(), &reinvite);
    let ok = b.response_to(trunk(), 200);
    assert_eq!(
        body_sdp(&ok.body).media[0].direction(),
        Some(Direction::RecvOnly)
    );
    assert!(matches!(
        b.media.as_slice(),
        [MediaCommand::Update {
            leg: Leg::Caller,
            direction: Direction::SendOnly,
            ..
        }]
    ));
}

#[test]
fn internal_calls_still_ring_the_dialled_agent_directly() {
    let mut h = hosted();
    h.register("1001", phone1(), CONTACT1);
    h.register("1002", phone2(), CONTACT2);
    let ruri = format!("sip:1002@{DOMAIN}");
    let mut caller = Caller::new(12);
    caller.from = phone1();
    caller.number = "1001".into();
    caller.dialed = "1002".into();
    let b = h.send(phone1(), &caller.invite_with(&ruri, OFFER, ""));
    let challenge = b.response_to(phone1(), 401);
    caller.cseq += 1;
    let auth = h.answer(&challenge, "1001", "INVITE", &ruri);
    let b = h.send(
        phone1(),
        &caller.invite_with(&ruri, OFFER, &format!("Authorization: {auth}\n")),
    );
    assert_eq!(b.statuses_to(phone1()), [100]);
    b.request_to(phone2(), Method::Invite);
}

#[test]
fn an_agent_who_answered_as_the_acd_gave_up_is_released_and_the_caller_kept() {
    let mut h = hosted();
    let mut caller = Caller::new(13);
    let (call, _agent) = bridged(&mut h, &mut caller);
    assert!(h.ep.stop_ringing(h.now, call, "1001"));
    let b = h.drain();
    let bye = b.request_to(phone1(), Method::Bye);
    assert!(header(
        &Message::Request(bye.clone()),
        HeaderName::Other("Reason".into())
    )
    .contains("Released"));
    assert!(b.to(trunk()).is_empty(), "the caller stays");
    assert!(matches!(b.media.as_slice(), [MediaCommand::Serve { .. }]));
    assert_eq!(h.ep.calls()[0].state, CallState::Served);
    assert_eq!(h.ep.calls()[0].agent, None);
    h.send_bytes(phone1(), reply(&bye, 200, "", "", ""));
    // Someone else can take the caller now.
    h.register("1002", phone2(), CONTACT2);
    ring(&mut h, call, "1002", phone2(), CONTACT2);
}
