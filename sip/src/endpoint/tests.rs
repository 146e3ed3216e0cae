//! The endpoint driven with raw bytes and a fake clock.

use std::time::{Duration, Instant};

use std::net::IpAddr;

use super::*;
use crate::net::Transport;

fn endpoint() -> Endpoint {
    Endpoint::new(
        EndpointConfig {
            timers: TimerConfig::default(),
            registrar: RegistrarConfig {
                realm: "hotline.test".into(),
                min_expires: 60,
                max_expires: 3600,
                default_expires: 3600,
                nonce_ttl: Duration::from_secs(300),
                max_failures: 5,
                failure_window: Duration::from_secs(60),
                lockout: Duration::from_secs(300),
                accounts: vec![crate::registrar::Account {
                    user: "1001".into(),
                    password: "secret-1001".into(),
                }],
            },
            server_name: "hotline-test".into(),
            public_addr: [192, 0, 2, 10].into(),
            sip_port: 5060,
            rtp_ports: (20000, 20099),
            hotline_numbers: vec!["12345".into()],
            trusted_trunks: vec![([192, 0, 2, 64].into(), 29)],
            ring_timeout: DEFAULT_RING_TIMEOUT,
            hosted: false,
            emergency_numbers: Vec::new(),
        },
        7,
    )
}

fn udp(port: u16) -> Remote {
    Remote {
        transport: Transport::Udp,
        addr: ([127, 0, 0, 1], port).into(),
    }
}

fn request(method: &str, extra: &str) -> Bytes {
    Bytes::from(format!(
        "{method} sip:hotline.test SIP/2.0\r\n\
         Via: SIP/2.0/UDP 10.0.0.9:5062;branch=z9hG4bK-{method}-1;rport\r\n\
         Max-Forwards: 70\r\n\
         From: <sip:1001@hotline.test>;tag=abc\r\n\
         To: <sip:hotline.test>\r\n\
         Call-ID: call-{method}@10.0.0.9\r\n\
         CSeq: 1 {method}\r\n\
         {extra}Content-Length: 0\r\n\r\n"
    ))
}

/// Every transmit produced so far, parsed.
fn responses(ep: &mut Endpoint) -> Vec<(Remote, Response)> {
    let mut out = Vec::new();
    while let Some(o) = ep.poll_output() {
        if let Output::Transmit { to, data } = o {
            match parse(data) {
                Ok(Message::Response(r)) => out.push((to, r)),
                other => panic!("endpoint sent a non-response: {other:?}"),
            }
        }
    }
    out
}

#[test]
fn options_gets_200_with_allow_accept_supported() {
    let mut ep = endpoint();
    ep.handle_bytes(Instant::now(), udp(5062), request("OPTIONS", ""));
    let got = responses(&mut ep);
    assert_eq!(got.len(), 1);
    let (to, r) = &got[0];
    assert_eq!(*to, udp(5062));
    assert_eq!(r.status, 200);
    assert_eq!(
        r.headers.get(&HeaderName::Allow).map(|v| v.as_str()),
        Some(ALLOW)
    );
    assert_eq!(
        r.headers.get(&HeaderName::Accept).map(|v| v.as_str()),
        Some(ACCEPT)
    );
    assert!(r.headers.get(&HeaderName::Supported).is_some());
    assert!(
        r.headers.to_addr().expect("To").tag().is_some(),
        "UAS adds a To tag"
    );
}

#[test]
fn udp_response_carries_received_and_rport_of_the_source() {
    let mut ep = endpoint();
    ep.handle_bytes(Instant::now(), udp(40000), request("OPTIONS", ""));
    let got = responses(&mut ep);
    let via = got[0].1.headers.top_via().expect("Via");
    assert_eq!(via.received(), Some("127.0.0.1"));
    assert_eq!(via.rport(), Some(Some(40000)));
    assert_eq!(via.branch(), Some("z9hG4bK-OPTIONS-1"));
    assert_eq!(got[0].0.addr.port(), 40000, "sent back to the source port");
}

#[test]
fn known_but_unserved_methods_get_405_and_unknown_ones_501() {
    let mut ep = endpoint();
    let now = Instant::now();
    for (method, status) in [
        ("SUBSCRIBE", 405),
        ("MESSAGE", 405),
        ("PUBLISH", 405),
        ("INFO", 405),
        ("FROBNICATE", 501),
        // Served now: a BYE outside any dialog, an INVITE from nowhere trusted.
        ("BYE", 481),
        ("INVITE", 403),
    ] {
        ep.handle_bytes(now, udp(5062), request(method, ""));
        let got = responses(&mut ep);
        let statuses: Vec<u16> = got.iter().map(|(_, r)| r.status).collect();
        assert!(statuses.contains(&status), "{method}: {statuses:?}");
        let last = &got.last().expect("answered").1;
        assert_eq!(last.status, status, "{method}");
        if status == 405 {
            assert_eq!(
                last.headers.get(&HeaderName::Allow).map(|v| v.as_str()),
                Some(ALLOW)
            );
        }
    }
}

#[test]
fn cancel_without_a_pending_invite_is_481_and_ack_is_silent() {
    let mut ep = endpoint();
    let now = Instant::now();
    ep.handle_bytes(now, udp(5062), request("CANCEL", ""));
    assert_eq!(responses(&mut ep)[0].1.status, 481);
    ep.handle_bytes(now, udp(5062), request("ACK", ""));
    assert!(responses(&mut ep).is_empty());
}

#[test]
fn require_with_an_unknown_extension_gets_420_naming_it() {
    let mut ep = endpoint();
    ep.handle_bytes(
        Instant::now(),
        udp(5062),
        request("OPTIONS", "Require: nothingweknow\r\n"),
    );
    let got = responses(&mut ep);
    assert_eq!(got[0].1.status, 420);
    assert_eq!(
        got[0]
            .1
            .headers
            .get(&HeaderName::Unsupported)
            .map(|v| v.as_str()),
        Some("nothingweknow")
    );
}

#[test]
fn retransmitted_request_is_answered_from_the_transaction() {
    let mut ep = endpoint();
    let now = Instant::now();
    ep.handle_bytes(now, udp(5062), request("OPTIONS", ""));
    let first = responses(&mut ep);
    ep.handle_bytes(
        now + Duration::from_millis(500),
        udp(5062),
        request("OPTIONS", ""),
    );
    let second = responses(&mut ep);
    assert_eq!(second.len(), 1, "the retransmission is answered once more");
    assert_eq!(
        first[0].1, second[0].1,
        "with the same response (same To tag)"
    );
}

#[test]
fn garbage_request_gets_400_and_an_event_garbage_response_is_dropped() {
    let mut ep = endpoint();
    let now = Instant::now();
    ep.handle_bytes(
        now,
        udp(5062),
        Bytes::from_static(
            b"OPTIONS sip:hotline.test SIP/2.0\r\nVia: SIP/2.0/UDP 10.0.0.9;branch=z9hG4bKx\r\n\
From: <sip:a@b>;tag=1\r\nTo: <sip:c@d>\r\nCall-ID: x\r\nCSeq: 99999999999 OPTIONS\r\n\r\n",
        ),
    );
    let mut saw_400 = false;
    let mut saw_event = false;
    while let Some(o) = ep.poll_output() {
        match o {
            Output::Transmit { data, .. } => {
                saw_400 |= data.starts_with(b"SIP/2.0 400 ");
            }
            Output::Event(Event::ParseError { .. }) => saw_event = true,
            Output::Event(_) | Output::Media(_) => {}
        }
    }
    assert!(saw_400 && saw_event);

    ep.handle_bytes(
        now,
        udp(5062),
        Bytes::from_static(b"SIP/2.0 200 OK\r\nVia: nonsense\r\n\r\n"),
    );
    let mut transmits = 0;
    while let Some(o) = ep.poll_output() {
        transmits += usize::from(matches!(o, Output::Transmit { .. }));
    }
    assert_eq!(transmits, 0, "a malformed response is never answered");
}

#[test]
fn register_without_credentials_is_challenged() {
    let mut ep = endpoint();
    ep.handle_bytes(
        Instant::now(),
        udp(5062),
        Bytes::from_static(
            b"REGISTER sip:hotline.test SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:5062;branch=z9hG4bKr1\r\n\
Max-Forwards: 70\r\nFrom: <sip:1001@hotline.test>;tag=r\r\nTo: <sip:1001@hotline.test>\r\n\
Call-ID: reg-1\r\nCSeq: 1 REGISTER\r\nContact: <sip:1001@127.0.0.1:5062>\r\nExpires: 600\r\nContent-Length: 0\r\n\r\n",
        ),
    );
    let got = responses(&mut ep);
    assert_eq!(got[0].1.status, 401);
    assert_eq!(
        got[0]
            .1
            .headers
            .get_all(&HeaderName::WwwAuthenticate)
            .count(),
        2
    );
}

#[test]
fn trunk_networks_match_by_prefix_and_ipv4_mapped_addresses_count_as_ipv4() {
    let ip = |s: &str| s.parse::<IpAddr>().expect("ip");
    let net = ip("192.0.2.64");
    assert!(in_network(ip("192.0.2.64"), net, 29));
    assert!(in_network(ip("192.0.2.71"), net, 29));
    assert!(!in_network(ip("192.0.2.72"), net, 29));
    assert!(!in_network(ip("192.0.2.63"), net, 29));
    assert!(in_network(ip("10.1.2.3"), ip("10.0.0.0"), 8));
    assert!(
        in_network(ip("8.8.8.8"), ip("0.0.0.0"), 0),
        "/0 is everything"
    );
    assert!(in_network(ip("192.0.2.9"), ip("192.0.2.9"), 32));
    assert!(
        in_network(ip("192.0.2.9"), ip("192.0.2.9"), 99),
        "clamped to /32"
    );
    assert!(in_network(ip("2001:db8::5"), ip("2001:db8::"), 64));
    assert!(!in_network(ip("2001:db9::5"), ip("2001:db8::"), 32));
    assert!(
        !in_network(ip("192.0.2.9"), ip("2001:db8::"), 0),
        "families differ"
    );

    let ep = endpoint();
    assert!(ep.is_trusted(ip("192.0.2.65")));
    assert!(ep.is_trusted(ip("::ffff:192.0.2.65")));
    assert!(!ep.is_trusted(ip("192.0.2.80")));
    assert!(!ep.is_trusted(ip("127.0.0.1")));
}

#[test]
fn dialed_numbers_come_from_sip_user_parts_and_tel_uris() {
    let n = |s: &str| dialed_number(&s.parse::<Uri>().expect("uri"));
    assert_eq!(n("sip:12345@192.0.2.10"), Some("12345".into()));
    assert_eq!(
        n("sip:+86-12345;npdi@gw;user=phone"),
        Some("+8612345".into())
    );
    assert_eq!(n("sip:%31%32345@gw"), Some("12345".into()));
    assert_eq!(
        n("tel:+86(0668)12345;phone-context=+86"),
        Some("+86066812345".into())
    );
    assert_eq!(n("sip:gw.example"), None);
    assert_eq!(n("mailto:a@b"), None);

    let ep = endpoint();
    assert_eq!(ep.match_did("12345"), Some("12345".into()));
    assert_eq!(ep.match_did("+8612345"), Some("12345".into()));
    assert_eq!(ep.match_did("008612345"), Some("12345".into()));
    assert_eq!(ep.match_did("8612345"), None);
    assert_eq!(ep.match_did("123456"), None);
    assert_eq!(ep.match_did(""), None);
}
