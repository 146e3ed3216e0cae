//! Whole-call tests of [`CallMedia`] in virtual time, and no-panic properties.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use proptest::prelude::*;

use super::*;

const CALLER: &str = "203.0.113.10:40000";
const AGENT_SDP: &str = "192.168.1.50:7078";
const AGENT_NAT: &str = "198.51.100.20:61234";

fn addr(s: &str) -> SocketAddr {
    s.parse().expect("test address")
}

fn rtp(pt: u8, marker: bool, seq: u16, ts: u32, ssrc: u32, payload: &[u8]) -> Vec<u8> {
    let mut p = vec![0x80, pt | if marker { 0x80 } else { 0 }];
    p.extend_from_slice(&seq.to_be_bytes());
    p.extend_from_slice(&ts.to_be_bytes());
    p.extend_from_slice(&ssrc.to_be_bytes());
    p.extend_from_slice(payload);
    p
}

/// A bridged call: caller PCMU with telephone-event 101 from a public address,
/// agent PCMU with telephone-event 96 behind NAT.
fn call(t0: Instant) -> CallMedia {
    let mut m = CallMedia::new(MediaConfig::default(), 7);
    m.connect(
        t0,
        LegSetup::new(Some(addr(CALLER)), Encoding::Pcmu, Some(101)),
        LegSetup::new(Some(addr(AGENT_SDP)), Encoding::Pcmu, Some(96)),
    );
    m
}

fn forwarded(o: RtpOutcome<'_>) -> Forward {
    match o {
        RtpOutcome::Accepted {
            forward: Some(f), ..
        } => f,
        other => panic!("expected a forward, got {other:?}"),
    }
}

fn all_events(m: &mut CallMedia) -> Vec<SessionEvent> {
    std::iter::from_fn(|| m.poll_event()).collect()
}

/// The events the SIP core cares about (without latching notices).
fn events(m: &mut CallMedia) -> Vec<SessionEvent> {
    all_events(m)
        .into_iter()
        .filter(|e| !matches!(e, SessionEvent::Latched { .. }))
        .collect()
}

#[test]
fn caller_audio_reaches_the_agent_rewritten_and_recorded() {
    let t0 = Instant::now();
    let mut m = call(t0);
    let mut out = [0u8; 1500];
    // The agent sends first so we learn its NAT address.
    let p = rtp(0, false, 1, 0, 0xa9e7, &[0x7f; 160]);
    let o = m.handle_rtp(t0, Leg::Agent, addr(AGENT_NAT), &p, &mut out);
    let f = forwarded(o);
    assert_eq!((f.via, f.to), (Leg::Caller, addr(CALLER)));
    assert_eq!(
        all_events(&mut m),
        vec![SessionEvent::Latched {
            leg: Leg::Agent,
            remote: addr(AGENT_NAT)
        }]
    );

    let payload = [0x42u8; 160];
    let mut seqs = Vec::new();
    for i in 0..3u16 {
        let now = t0 + Duration::from_millis(20 * u64::from(i));
        let p = rtp(
            0,
            i == 0,
            5000 + i,
            1_000_000 + 160 * u32::from(i),
            0xca11e4,
            &payload,
        );
        let o = m.handle_rtp(now, Leg::Caller, addr(CALLER), &p, &mut out);
        let RtpOutcome::Accepted {
            forward: Some(f),
            audio: Some(a),
        } = o
        else {
            panic!("{o:?}")
        };
        assert_eq!((f.via, f.to, f.len), (Leg::Agent, addr(AGENT_NAT), 172));
        assert_eq!(
            (a.leg, a.codec, a.payload),
            (Leg::Caller, Encoding::Pcmu, &payload[..])
        );
        assert_eq!(a.at_sample, 160 * u64::from(i));
        let r = parse_rtp(&out[..f.len]).expect("we send valid RTP");
        assert_eq!(r.ssrc(), m.ssrc_towards(Leg::Agent));
        assert_eq!(r.payload(), &payload);
        assert_eq!(r.payload_type(), 0);
        seqs.push(u16::from(r.sequence_number()));
    }
    assert_eq!(seqs[1], seqs[0].wrapping_add(1));
    assert_eq!(seqs[2], seqs[0].wrapping_add(2));
    let s = m.stats();
    assert_eq!((s.caller.rtp_in, s.agent.rtp_out), (3, 3));
    assert_eq!((s.agent.rtp_in, s.caller.rtp_out), (1, 1));
}

#[test]
fn the_agent_keeps_one_stream_when_the_caller_side_changes_ssrc() {
    let t0 = Instant::now();
    let mut m = call(t0);
    let mut out = [0u8; 1500];
    m.handle_rtp(
        t0,
        Leg::Agent,
        addr(AGENT_NAT),
        &rtp(0, false, 1, 0, 9, &[0; 160]),
        &mut out,
    );
    let mut sent = Vec::new();
    let mut now = t0;
    for i in 0..5u32 {
        let p = rtp(0, false, 100 + i as u16, 160 * i, 0x1111, &[1; 160]);
        let f = forwarded(m.handle_rtp(now, Leg::Caller, addr(CALLER), &p, &mut out));
        let r = parse_rtp(&out[..f.len]).expect("valid");
        sent.push((
            u16::from(r.sequence_number()),
            r.timestamp(),
            r.ssrc(),
            r.mark(),
        ));
        now += Duration::from_millis(20);
    }
    // A re-INVITE on the trunk side: new SSRC, unrelated numbers, 40 ms gap.
    now += Duration::from_millis(20);
    for i in 0..3u32 {
        let p = rtp(
            0,
            false,
            60_000 + i as u16,
            7_777_777 + 160 * i,
            0x2222,
            &[2; 160],
        );
        let f = forwarded(m.handle_rtp(now, Leg::Caller, addr(CALLER), &p, &mut out));
        let r = parse_rtp(&out[..f.len]).expect("valid");
        sent.push((
            u16::from(r.sequence_number()),
            r.timestamp(),
            r.ssrc(),
            r.mark(),
        ));
        now += Duration::from_millis(20);
    }
    let ssrc = sent[0].2;
    for w in sent.windows(2) {
        assert_eq!(
            w[1].0,
            w[0].0.wrapping_add(1),
            "continuous sequence: {sent:?}"
        );
        assert_eq!(w[1].2, ssrc);
    }
    // The switch: 160 ticks for the packet plus 320 for the gap, since the last
    // packet (sent 40 ms earlier ... 20 ms packet + 20 ms gap = 320 ticks).
    assert_eq!(sent[5].1, sent[4].1.wrapping_add(320));
    assert!(sent[5].3, "marker on the first packet of the new source");
    assert!(!sent[6].3);
}

#[test]
fn telephone_events_are_translated_detected_once_and_not_recorded() {
    let t0 = Instant::now();
    let mut m = call(t0);
    let mut out = [0u8; 1500];
    m.handle_rtp(
        t0,
        Leg::Agent,
        addr(AGENT_NAT),
        &rtp(0, false, 1, 0, 9, &[0; 160]),
        &mut out,
    );
    events(&mut m);
    let ts = 48_000;
    let mut packets = vec![rtp(101, true, 10, ts, 5, &[5, 10, 0, 160])];
    packets.push(rtp(101, false, 11, ts, 5, &[5, 10, 1, 64]));
    for s in 12..15 {
        packets.push(rtp(101, false, s, ts, 5, &[5, 0x80 | 10, 3, 32]));
    }
    for (n, p) in packets.iter().enumerate() {
        let now = t0 + Duration::from_millis(20 * n as u64);
        let o = m.handle_rtp(now, Leg::Caller, addr(CALLER), p, &mut out);
        let RtpOutcome::Accepted {
            forward: Some(f),
            audio: None,
        } = o
        else {
            panic!("{o:?}")
        };
        let r = parse_rtp(&out[..f.len]).expect("valid");
        assert_eq!(r.payload_type(), 96, "101 on the trunk is 96 on the phone");
        assert_eq!(r.mark(), n == 0);
        assert_eq!(r.payload(), &p[12..]);
    }
    assert_eq!(
        events(&mut m),
        vec![SessionEvent::Dtmf {
            leg: Leg::Caller,
            digit: '5'
        }]
    );
    assert_eq!(m.stats().caller.dtmf_digits, 1);
}

#[test]
fn events_are_not_forwarded_to_a_leg_without_telephone_event_but_still_detected() {
    let t0 = Instant::now();
    let mut m = CallMedia::new(MediaConfig::default(), 1);
    m.connect(
        t0,
        LegSetup::new(Some(addr(CALLER)), Encoding::Pcmu, Some(101)),
        LegSetup::new(Some(addr(AGENT_NAT)), Encoding::Pcmu, None),
    );
    let mut out = [0u8; 1500];
    let p = rtp(101, true, 1, 0, 5, &[1, 0, 0, 160]);
    let o = m.handle_rtp(t0, Leg::Caller, addr(CALLER), &p, &mut out);
    assert_eq!(
        o,
        RtpOutcome::Accepted {
            forward: None,
            audio: None
        }
    );
    assert_eq!(
        events(&mut m),
        vec![SessionEvent::Dtmf {
            leg: Leg::Caller,
            digit: '1'
        }]
    );
    assert_eq!(m.stats().caller.not_forwarded, 1);
}

#[test]
fn pcmu_to_pcma_is_transcoded() {
    let t0 = Instant::now();
    let mut m = CallMedia::new(MediaConfig::default(), 1);
    m.connect(
        t0,
        LegSetup::new(Some(addr(CALLER)), Encoding::Pcma, None),
        LegSetup::new(Some(addr(AGENT_NAT)), Encoding::Pcmu, None),
    );
    let mut out = [0u8; 1500];
    let f = forwarded(m.handle_rtp(
        t0,
        Leg::Agent,
        addr(AGENT_NAT),
        &rtp(0, false, 1, 0, 5, &[0xff, 0x80, 0x00]),
        &mut out,
    ));
    let r = parse_rtp(&out[..f.len]).expect("valid");
    assert_eq!(r.payload_type(), 8);
    assert_eq!(r.payload(), &[0xd5, 0xaa, 0x2a]);
}

#[test]
fn packets_from_strangers_and_before_connect_are_dropped_and_counted() {
    let t0 = Instant::now();
    let mut m = CallMedia::new(MediaConfig::default(), 1);
    let mut out = [0u8; 1500];
    let p = rtp(0, false, 1, 0, 5, &[0; 160]);
    assert_eq!(
        m.handle_rtp(t0, Leg::Caller, addr(CALLER), &p, &mut out),
        RtpOutcome::Dropped(DropReason::NotConnected)
    );
    m.connect(
        t0,
        LegSetup::new(Some(addr(CALLER)), Encoding::Pcmu, None),
        LegSetup::new(Some(addr(AGENT_SDP)), Encoding::Pcmu, None),
    );
    // The caller's SDP address is public: another IP may not latch.
    assert_eq!(
        m.handle_rtp(t0, Leg::Caller, addr("198.51.100.99:40000"), &p, &mut out),
        RtpOutcome::Dropped(DropReason::UnexpectedSource)
    );
    // An unnegotiated payload type (comfort noise) from the right source.
    let cn = rtp(13, false, 2, 160, 5, &[40]);
    assert_eq!(
        m.handle_rtp(t0, Leg::Caller, addr(CALLER), &cn, &mut out),
        RtpOutcome::Dropped(DropReason::UnknownPayloadType(13))
    );
    // Truncated: CSRC count 2 but no CSRCs.
    let mut bad = p.clone();
    bad[0] = 0x82;
    bad.truncate(16);
    assert!(matches!(
        m.handle_rtp(t0, Leg::Caller, addr(CALLER), &bad, &mut out),
        RtpOutcome::Dropped(DropReason::Malformed(RtpError::Truncated { .. }))
    ));
    let s = m.stats().caller;
    assert_eq!(
        (
            s.not_connected,
            s.unexpected_source,
            s.unknown_payload_type,
            s.malformed,
            s.rtp_in
        ),
        (1, 1, 1, 1, 0)
    );
    assert_eq!(s.dropped(), 4);
}

#[test]
fn a_packet_larger_than_the_send_buffer_is_not_forwarded() {
    let t0 = Instant::now();
    let mut m = call(t0);
    let mut out = [0u8; 100];
    m.handle_rtp(
        t0,
        Leg::Agent,
        addr(AGENT_NAT),
        &rtp(0, false, 1, 0, 9, &[0; 10]),
        &mut out,
    );
    let p = rtp(0, false, 1, 0, 5, &[0; 160]);
    let o = m.handle_rtp(t0, Leg::Caller, addr(CALLER), &p, &mut out);
    assert!(matches!(
        o,
        RtpOutcome::Accepted {
            forward: None,
            audio: Some(_)
        }
    ));
}

#[test]
fn rtcp_is_counted_on_either_port_and_never_forwarded() {
    let t0 = Instant::now();
    let mut m = call(t0);
    let mut out = [0u8; 1500];
    let rr = [0x80, 201, 0, 1, 0, 0, 0, 5];
    let rtcp_src = addr("203.0.113.10:40001");
    assert!(m.handle_rtcp(t0, Leg::Caller, rtcp_src, &rr).is_ok());
    // Multiplexed on the RTP port.
    assert!(matches!(
        m.handle_rtp(t0, Leg::Caller, addr(CALLER), &rr, &mut out),
        RtpOutcome::Rtcp(_)
    ));
    assert_eq!(
        m.handle_rtcp(t0, Leg::Caller, addr("198.51.100.1:9"), &rr),
        Err(DropReason::UnexpectedSource)
    );
    assert!(matches!(
        m.handle_rtcp(t0, Leg::Caller, rtcp_src, &[0x80, 0, 0, 1]),
        Err(DropReason::MalformedRtcp(_))
    ));
    let s = m.stats().caller;
    assert_eq!(
        (s.rtcp_in, s.unexpected_source, s.malformed, s.rtp_in),
        (2, 1, 1, 0)
    );
    // RTCP is not RTP: it does not keep a leg alive.
    assert_eq!(m.poll_timeout(), Some(t0 + Duration::from_secs(60)));
}

#[test]
fn hold_stops_forwarding_to_the_held_leg_and_its_timeout() {
    let t0 = Instant::now();
    let mut m = call(t0);
    let mut out = [0u8; 1500];
    m.handle_rtp(
        t0,
        Leg::Agent,
        addr(AGENT_NAT),
        &rtp(0, false, 1, 0, 9, &[0; 160]),
        &mut out,
    );
    // The agent holds: it declares sendonly (music), the caller answers recvonly.
    let t1 = t0 + Duration::from_secs(1);
    m.update(t1, Leg::Agent, Some(addr(AGENT_SDP)), Direction::SendOnly);
    m.update(t1, Leg::Caller, Some(addr(CALLER)), Direction::RecvOnly);
    assert_eq!(
        m.remote(Leg::Agent),
        Some(addr(AGENT_NAT)),
        "same SDP address keeps the latch"
    );
    let p = rtp(0, false, 1, 0, 5, &[0; 160]);
    let o = m.handle_rtp(t1, Leg::Caller, addr(CALLER), &p, &mut out);
    assert!(matches!(
        o,
        RtpOutcome::Accepted {
            forward: None,
            audio: Some(_)
        }
    ));
    let p = rtp(0, false, 2, 160, 9, &[0; 160]);
    let o = m.handle_rtp(t1, Leg::Agent, addr(AGENT_NAT), &p, &mut out);
    assert!(matches!(
        o,
        RtpOutcome::Accepted {
            forward: Some(_),
            ..
        }
    ));
    // Only the agent (still sending) can time out.
    assert_eq!(m.poll_timeout(), Some(t1 + Duration::from_secs(60)));
    m.handle_timeout(t1 + Duration::from_secs(3600));
    assert_eq!(
        events(&mut m),
        vec![SessionEvent::Timeout { leg: Leg::Agent }]
    );
    // Resume: the caller's clock restarts.
    let t2 = t1 + Duration::from_secs(4000);
    m.update(t2, Leg::Caller, Some(addr(CALLER)), Direction::SendRecv);
    assert_eq!(m.poll_timeout(), Some(t2 + Duration::from_secs(60)));
}

#[test]
fn a_silent_leg_times_out_once_on_the_fake_clock() {
    let t0 = Instant::now();
    let mut m = call(t0);
    let mut out = [0u8; 1500];
    let mut now = t0;
    // The caller talks for 90 s; the agent never sends.
    for i in 0..4500u32 {
        let p = rtp(0, false, i as u16, 160 * i, 5, &[0; 160]);
        m.handle_rtp(now, Leg::Caller, addr(CALLER), &p, &mut out);
        if m.poll_timeout().is_some_and(|d| d <= now) {
            m.handle_timeout(now);
        }
        now += Duration::from_millis(20);
    }
    assert_eq!(
        events(&mut m),
        vec![SessionEvent::Timeout { leg: Leg::Agent }]
    );
    assert_eq!(
        m.poll_timeout(),
        Some(now - Duration::from_millis(20) + Duration::from_secs(60))
    );
}

#[test]
fn recording_positions_follow_timestamps_with_gaps_and_reanchor_on_a_new_source() {
    let t0 = Instant::now();
    let mut m = call(t0);
    let mut out = [0u8; 1500];
    let mut at = |m: &mut CallMedia, ms: u64, seq: u16, ts: u32, ssrc: u32| {
        let p = rtp(0, false, seq, ts, ssrc, &[0; 160]);
        match m.handle_rtp(
            t0 + Duration::from_millis(ms),
            Leg::Caller,
            addr(CALLER),
            &p,
            &mut out,
        ) {
            RtpOutcome::Accepted { audio: Some(a), .. } => a.at_sample,
            o => panic!("{o:?}"),
        }
    };
    // First packet 500 ms into the call: sample 4000.
    assert_eq!(at(&mut m, 500, 1, 90_000, 1), 4000);
    // Jitter: arrives 30 ms late, placed by timestamp.
    assert_eq!(at(&mut m, 550, 2, 90_160, 1), 4160);
    // 200 ms lost / silent: a gap of 1600 samples.
    assert_eq!(at(&mut m, 760, 13, 91_920, 1), 5920);
    // A new SSRC is anchored at its arrival.
    assert_eq!(at(&mut m, 2000, 500, 5, 2), 16_000);
    // A wild timestamp jump (> 1 s off the wall clock) is re-anchored too.
    assert_eq!(at(&mut m, 2020, 501, 5 + 8000 * 3600, 2), 16_160);
}

proptest! {
    #[test]
    fn arbitrary_bytes_never_panic_the_parsers(data in proptest::collection::vec(any::<u8>(), 0..200)) {
        let _ = parse_rtp(&data).map(|r| (r.payload().len(), r.ssrc(), r.csrc().count(), r.extension()));
        let _ = parse_rtcp(&data);
        let _ = DtmfEvent::parse(&data);
        let _ = classify(&data);
    }

    #[test]
    fn rtp_shaped_bytes_never_panic_a_call(
        b0 in prop_oneof![Just(0x80u8), Just(0xa0), Just(0x90), Just(0xbf), any::<u8>()],
        b1 in any::<u8>(),
        rest in proptest::collection::vec(any::<u8>(), 0..120),
        leg in prop_oneof![Just(Leg::Caller), Just(Leg::Agent)],
        out_len in 0usize..200,
    ) {
        let t0 = Instant::now();
        let mut m = call(t0);
        let mut data = vec![b0, b1];
        data.extend_from_slice(&rest);
        let mut out = vec![0u8; out_len];
        let from = if leg == Leg::Caller { addr(CALLER) } else { addr(AGENT_NAT) };
        let o = m.handle_rtp(t0, leg, from, &data, &mut out);
        if let RtpOutcome::Accepted { forward: Some(f), .. } = o {
            prop_assert!(f.len <= out.len());
            prop_assert!(parse_rtp(&out[..f.len]).is_ok());
        }
        let _ = m.handle_rtcp(t0, leg, from, &data);
        m.handle_timeout(t0 + Duration::from_secs(100));
        while m.poll_event().is_some() {}
    }
}

#[test]
fn negotiated_setups_and_a_c0000_hold_from_the_call_machine() {
    let t0 = Instant::now();
    let mut m = CallMedia::new(MediaConfig::default(), 3);
    m.connect(
        t0,
        LegSetup::negotiated(addr(CALLER), Codec::PCMA, Some(101), Direction::SendRecv),
        LegSetup::negotiated(addr(AGENT_NAT), Codec::PCMU, Some(96), Direction::SendRecv),
    );
    let mut out = [0u8; 1500];
    let p = rtp(8, false, 1, 0, 5, &[0xd5; 160]);
    let f = forwarded(m.handle_rtp(t0, Leg::Caller, addr(CALLER), &p, &mut out));
    assert_eq!(parse_rtp(&out[..f.len]).expect("valid").payload_type(), 0);
    // The agent holds RFC 2543 style: c=0.0.0.0, recvonly-equivalent.
    let hold = addr("0.0.0.0:7078");
    m.set_leg(
        t0,
        Leg::Agent,
        LegSetup::negotiated(hold, Codec::PCMU, Some(96), Direction::Inactive),
    );
    let p = rtp(8, false, 2, 160, 5, &[0xd5; 160]);
    let o = m.handle_rtp(t0, Leg::Caller, addr(CALLER), &p, &mut out);
    assert!(matches!(o, RtpOutcome::Accepted { forward: None, .. }));
    // Resumed at the old address: still latched, forwarding again.
    m.set_leg(
        t0,
        Leg::Agent,
        LegSetup::negotiated(addr(AGENT_NAT), Codec::PCMU, Some(96), Direction::SendRecv),
    );
    assert_eq!(m.remote(Leg::Agent), Some(addr(AGENT_NAT)));
    let p = rtp(8, false, 3, 320, 5, &[0xd5; 160]);
    let f = forwarded(m.handle_rtp(t0, Leg::Caller, addr(CALLER), &p, &mut out));
    let r = parse_rtp(&out[..f.len]).expect("valid");
    assert_eq!(
        r.payload(),
        &[0xfe; 160][..],
        "A-law +8 arrives as µ-law +8: transcoded"
    );
}

/// Sequence, timestamp, SSRC and marker of a packet we built.
fn header_of(p: &[u8]) -> (u16, u32, u32, bool, u8) {
    let r = rtp_rs::RtpReader::new(p).expect("our packet parses");
    (
        r.sequence_number().into(),
        r.timestamp(),
        r.ssrc(),
        r.mark(),
        r.payload_type(),
    )
}

#[test]
fn served_caller_hears_our_frames_then_the_agent_in_one_continuous_stream() {
    let t0 = Instant::now();
    let mut m = CallMedia::new(MediaConfig::default(), 9);
    m.serve(
        t0,
        LegSetup::new(Some(addr(CALLER)), Encoding::Pcma, Some(101)),
    );
    let mut out = [0u8; 1500];
    let mut heads = Vec::new();
    for i in 0..3u32 {
        let now = t0 + Duration::from_millis(20 * u64::from(i));
        let f = m
            .play(now, Leg::Caller, &[0xd5; 160], &mut out)
            .expect("played");
        assert_eq!((f.via, f.to, f.len), (Leg::Caller, addr(CALLER), 172));
        assert_eq!(&out[12..f.len], &[0xd5; 160][..]);
        heads.push(header_of(&out[..f.len]));
    }
    let ssrc = m.ssrc_towards(Leg::Caller);
    for w in heads.windows(2) {
        assert_eq!(w[1].0, w[0].0.wrapping_add(1), "consecutive sequence");
        assert_eq!(w[1].1, w[0].1.wrapping_add(160), "160 samples apart");
    }
    assert!(heads.iter().all(|h| h.2 == ssrc && h.4 == 8));
    assert!(heads[0].3, "the first packet of a stream is marked");
    // Nothing is relayed from an agent leg in serve mode, and the caller's keys
    // are still heard.
    let p = rtp(8, false, 1, 0, 0xa9e7, &[0xd5; 160]);
    assert_eq!(
        m.handle_rtp(t0, Leg::Agent, addr(AGENT_NAT), &p, &mut out),
        RtpOutcome::Dropped(DropReason::NotConnected)
    );
    let key = rtp(101, true, 9, 800, 0xc0ffee, &[5, 0x8a, 0, 160]);
    let o = m.handle_rtp(t0, Leg::Caller, addr(CALLER), &key, &mut out);
    assert!(matches!(o, RtpOutcome::Accepted { forward: None, .. }));
    assert_eq!(
        events(&mut m),
        vec![SessionEvent::Dtmf {
            leg: Leg::Caller,
            digit: '5'
        }]
    );
    // Bridged to the agent: its audio continues our stream to the caller.
    let t1 = t0 + Duration::from_millis(100);
    m.connect(
        t1,
        LegSetup::new(Some(addr(CALLER)), Encoding::Pcma, Some(101)),
        LegSetup::new(Some(addr(AGENT_SDP)), Encoding::Pcma, Some(96)),
    );
    let p = rtp(8, false, 500, 9000, 0xa9e7, &[0xd5; 160]);
    let f = forwarded(m.handle_rtp(t1, Leg::Agent, addr(AGENT_SDP), &p, &mut out));
    let h = header_of(&out[..f.len]);
    assert_eq!(h.0, heads[2].0.wrapping_add(1));
    assert_eq!(
        h.1,
        heads[2].1.wrapping_add(8 * 60),
        "60 ms after the last frame"
    );
    assert_eq!(h.2, ssrc);
    // Back to serve mode (the agent hung up): our frames continue again.
    m.serve(
        t1,
        LegSetup::new(Some(addr(CALLER)), Encoding::Pcma, Some(101)),
    );
    let t2 = t1 + Duration::from_millis(20);
    m.play(t2, Leg::Caller, &[0xd5; 160], &mut out)
        .expect("played");
    let h2 = header_of(&out[..172]);
    assert_eq!(h2.0, h.0.wrapping_add(1));
    assert_eq!(h2.2, ssrc);
}

#[test]
fn nothing_is_played_to_a_leg_on_hold_or_not_set_up() {
    let t0 = Instant::now();
    let mut m = CallMedia::new(MediaConfig::default(), 3);
    let mut out = [0u8; 1500];
    assert!(m.play(t0, Leg::Caller, &[0xff; 160], &mut out).is_none());
    let mut held = LegSetup::new(Some(addr(CALLER)), Encoding::Pcmu, None);
    held.direction = Direction::SendOnly;
    m.serve(t0, held);
    assert!(m.play(t0, Leg::Caller, &[0xff; 160], &mut out).is_none());
    // No agent timeout in serve mode, however long the caller waits.
    m.handle_timeout(t0 + Duration::from_secs(3600));
    assert!(!events(&mut m)
        .iter()
        .any(|e| matches!(e, SessionEvent::Timeout { leg: Leg::Agent })));
}
