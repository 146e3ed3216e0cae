//! Properties: print → parse gives back the value; arbitrary bytes never panic;
//! whatever parses prints to a fixed point and negotiates without panicking, and
//! the offerer accepts every answer we build.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use proptest::collection::vec;
use proptest::option;
use proptest::prelude::*;

use super::samples::ALL;
use crate::sdp::*;

/// A token: no blanks, no `:` or `/` (which separate sub-fields).
fn token() -> impl Strategy<Value = String> {
    "[A-Za-z0-9._~+*#=-]{1,10}"
}

/// Free text: no CR, LF or NUL, and no trailing blank (the parser trims it).
fn text() -> impl Strategy<Value = String> {
    "[ -~\u{e9}\u{4e2d}\u{7ebf}]{0,16}".prop_filter("trailing blank", |s| !s.ends_with(' '))
}

fn ip() -> impl Strategy<Value = IpAddr> {
    prop_oneof![
        any::<u32>().prop_map(|v| IpAddr::V4(Ipv4Addr::from(v))),
        any::<u128>().prop_map(|v| IpAddr::V6(Ipv6Addr::from(v))),
    ]
}

fn addr_type() -> impl Strategy<Value = AddrType> {
    prop_oneof![Just(AddrType::Ip4), Just(AddrType::Ip6)]
}

fn address() -> impl Strategy<Value = Address> {
    prop_oneof![
        3 => ip().prop_map(Address::Ip),
        1 => (addr_type(), "[a-z][a-z0-9-]{0,6}[a-z](\\.[a-z]{1,6}){0,2}")
            .prop_map(|(addr_type, name)| Address::Host { addr_type, name }),
    ]
}

fn connection() -> impl Strategy<Value = Connection> {
    (address(), any::<u8>(), any::<u32>(), 0..3u8).prop_map(|(address, ttl, count, shape)| {
        // Only the suffix shapes RFC 4566 §5.7 allows for the address type.
        let (ttl, count) = match (address.addr_type(), shape) {
            (_, 0) => (None, None),
            (AddrType::Ip4, 1) => (Some(ttl), None),
            (AddrType::Ip4, _) => (Some(ttl), Some(count)),
            (AddrType::Ip6, _) => (None, Some(count)),
        };
        Connection {
            address,
            ttl,
            count,
        }
    })
}

fn bandwidth() -> impl Strategy<Value = Bandwidth> {
    (token(), any::<u64>()).prop_map(|(kind, value)| Bandwidth { kind, value })
}

fn direction() -> impl Strategy<Value = Direction> {
    prop_oneof![
        Just(Direction::SendRecv),
        Just(Direction::SendOnly),
        Just(Direction::RecvOnly),
        Just(Direction::Inactive),
    ]
}

const TYPED: &[&str] = &[
    "rtpmap", "fmtp", "ptime", "rtcp", "sendrecv", "sendonly", "recvonly", "inactive",
];

fn attribute() -> impl Strategy<Value = Attribute> {
    prop_oneof![
        (0..=127u8, token(), any::<u32>(), option::of(token())).prop_map(
            |(payload_type, encoding, clock_rate, params)| {
                Attribute::Rtpmap(RtpMap {
                    payload_type,
                    encoding,
                    clock_rate,
                    params,
                })
            }
        ),
        (
            token(),
            text().prop_filter("leading blank", |s| !s.starts_with(' '))
        )
            .prop_map(|(format, params)| Attribute::Fmtp(Fmtp { format, params })),
        any::<u32>().prop_map(Attribute::Ptime),
        direction().prop_map(Attribute::Direction),
        (any::<u16>(), option::of(address()))
            .prop_map(|(port, address)| Attribute::Rtcp(Rtcp { port, address })),
        (
            token().prop_filter("typed name", |n| !TYPED.contains(&n.as_str())),
            option::of(text())
        )
            .prop_map(|(name, value)| Attribute::Other { name, value }),
    ]
}

fn media_type() -> impl Strategy<Value = MediaType> {
    prop_oneof![
        Just("audio".to_owned()),
        Just("video".to_owned()),
        Just("image".to_owned()),
        token()
    ]
    .prop_map(|t| MediaType::from_token(&t))
}

fn proto() -> impl Strategy<Value = Proto> {
    prop_oneof![
        3 => Just("RTP/AVP".to_owned()),
        1 => Just("RTP/SAVP".to_owned()),
        1 => "[A-Za-z0-9/]{1,12}",
    ]
    .prop_map(|t| Proto::from_token(&t))
}

fn format() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => prop_oneof![Just(0u8), Just(8), Just(18), Just(96), Just(101), 0..=127u8]
            .prop_map(|pt| pt.to_string()),
        1 => token(),
    ]
}

prop_compose! {
    fn media()(
        media in media_type(),
        port in any::<u16>(),
        port_count in option::of(any::<u16>()),
        proto in proto(),
        formats in vec(format(), 0..6),
        title in option::of(text()),
        connection in option::of(connection()),
        bandwidths in vec(bandwidth(), 0..2),
        key in option::of(text()),
        attributes in vec(attribute(), 0..8),
    ) -> MediaDescription {
        MediaDescription {
            media, port, port_count, proto, formats, title, connection, bandwidths, key,
            attributes,
        }
    }
}

prop_compose! {
    fn origin()(
        username in token(),
        session_id in any::<u64>(),
        session_version in any::<u64>(),
        net_type in token(),
        addr_type in token(),
        address in token(),
    ) -> Origin {
        Origin { username, session_id, session_version, net_type, addr_type, address }
    }
}

prop_compose! {
    fn timing()(start in any::<u64>(), stop in any::<u64>(), repeats in vec(text(), 0..2))
        -> Timing {
        Timing { start, stop, repeats }
    }
}

prop_compose! {
    fn session_description()(
        origin in origin(),
        session_name in text(),
        information in option::of(text()),
        uri in option::of(text()),
        emails in vec(text(), 0..2),
        phones in vec(text(), 0..2),
        connection in option::of(connection()),
        bandwidths in vec(bandwidth(), 0..2),
        timing in vec(timing(), 1..3),
        time_zones in option::of(text()),
        key in option::of(text()),
        attributes in vec(attribute(), 0..4),
        media in vec(media(), 1..4),
    ) -> SessionDescription {
        SessionDescription {
            origin, session_name, information, uri, emails, phones, connection, bandwidths,
            timing, time_zones, key, attributes, media,
        }
    }
}

/// Bodies that look like SDP: a valid head, then session lines and media blocks
/// made of plausible pieces with the odd random line, so that most parse and many
/// negotiate.
fn sdp_like_body() -> impl Strategy<Value = String> {
    let connection = prop_oneof![
        Just("c=IN IP4 192.0.2.1"),
        Just("c=IN IP4 0.0.0.0"),
        Just("c=IN IP6 ::"),
        Just("c=IN IP6 2001:db8::1"),
        Just("c=IN IP4 host.example.com"),
    ];
    let attribute = prop_oneof![
        Just("a=rtpmap:101 telephone-event/8000"),
        Just("a=rtpmap:96 telephone-event/8000"),
        Just("a=rtpmap:0 PCMU/8000"),
        Just("a=rtpmap:8 G722/8000"),
        Just("a=rtpmap:97 PCMA/8000/1"),
        Just("a=rtpmap:96 opus/48000/2"),
        Just("a=fmtp:101 0-15"),
        Just("a=ptime:20"),
        Just("a=ptime:0"),
        Just("a=rtcp:5001 IN IP4 192.0.2.2"),
        Just("a=rtcp:9"),
        Just("a=sendonly"),
        Just("a=recvonly"),
        Just("a=inactive"),
        Just("a=sendrecv"),
        Just("a=rtcp-mux"),
    ];
    let media_line = prop_oneof![
        Just("m=audio 5000 RTP/AVP 0 8 101"),
        Just("m=audio 5000 RTP/AVP 96 97 18"),
        Just("m=audio 65535 RTP/AVP 8"),
        Just("m=audio 0 RTP/AVP 0"),
        Just("m=video 5002 RTP/AVP 31"),
        Just("m=audio 5004 RTP/SAVP 0"),
        Just("m=audio 5006 RTP/AVP 101 x 0"),
    ];
    let random = (
        prop::sample::select(&b"vosiuepcbtrzkamx"[..]),
        "[ -~]{0,24}",
    )
        .prop_map(|(kind, value)| format!("{}={value}", char::from(kind)));
    let line = |fixed: BoxedStrategy<&'static str>| prop_oneof![8 => fixed.prop_map(str::to_owned), 1 => random.clone()];
    let session_lines = vec(
        line(
            prop_oneof![
                connection.clone(),
                Just("t=0 0"),
                Just("b=AS:64"),
                attribute.clone()
            ]
            .boxed(),
        ),
        0..3,
    );
    let block = (
        media_line,
        vec(
            line(prop_oneof![1 => connection, 4 => attribute].boxed()),
            0..7,
        ),
    );
    (session_lines, vec(block, 0..4), prop::bool::ANY).prop_map(|(head, blocks, crlf)| {
        let end = if crlf { "\r\n" } else { "\n" };
        let mut body = format!("v=0{end}o=- 1 1 IN IP4 192.0.2.1{end}s=-{end}");
        let lines = head.into_iter().chain(
            blocks
                .into_iter()
                .flat_map(|(m, rest)| std::iter::once(m.to_owned()).chain(rest)),
        );
        for l in lines {
            body.push_str(&l);
            body.push_str(end);
        }
        body
    })
}

fn our_side() -> LocalMedia<'static> {
    LocalMedia {
        addr: IpAddr::V4(Ipv4Addr::new(203, 0, 113, 10)),
        rtp_port: 40000,
        session_id: 1,
        session_version: 1,
        username: "hotline",
    }
}

/// What must hold for any description that parsed.
fn check_parsed(parsed: &SessionDescription) {
    let printed = parsed.to_string();
    let again = SessionDescription::parse(printed.as_bytes())
        .unwrap_or_else(|e| panic!("reprinted SDP does not parse: {e}\n{printed}"));
    assert_eq!(&again, parsed);
    assert_eq!(again.to_string(), printed);
    check_negotiation(parsed);
}

/// Negotiating never panics; an answer has one m-line per offered m-line, parses
/// back, and is accepted by the offerer with the same outcome.
fn check_negotiation(offer: &SessionDescription) {
    for dtmf in [true, false] {
        let caps = MediaCaps {
            dtmf,
            ..MediaCaps::default()
        };
        let Ok(n) = answer(offer, &caps, our_side()) else {
            continue;
        };
        assert_eq!(n.answer.media.len(), offer.media.len());
        let reparsed = SessionDescription::parse(&n.answer.to_bytes()).expect("our answer parses");
        assert_eq!(reparsed, n.answer);
        let back = accept_answer(offer, &n.answer).expect("the offerer accepts our answer");
        assert_eq!(
            (back.codec, back.telephone_event),
            (n.codec, n.telephone_event)
        );
        assert_eq!(back.media_index, n.media_index);
        assert_eq!(
            back.local_direction,
            n.remote_direction.intersect(n.local_direction.reverse())
        );
    }
    // Checking arbitrary answers against arbitrary offers never panics either.
    let _ = accept_answer(offer, offer);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    #[test]
    fn sdp_print_parse_round_trip(sd in session_description()) {
        let printed = sd.to_string();
        let parsed = SessionDescription::parse(printed.as_bytes());
        prop_assert_eq!(parsed.as_ref(), Ok(&sd), "printed:\n{}", printed);
        prop_assert_eq!(sd.to_string(), printed);
        check_negotiation(&sd);
    }

    #[test]
    fn sdp_arbitrary_bytes_never_panic(bytes in vec(any::<u8>(), 0..400)) {
        if let Ok(parsed) = SessionDescription::parse(&bytes) {
            check_parsed(&parsed);
        }
    }

    #[test]
    fn sdp_line_soup_never_panics(body in sdp_like_body()) {
        if let Ok(parsed) = SessionDescription::parse(body.as_bytes()) {
            check_parsed(&parsed);
        }
    }

    #[test]
    fn sdp_mutated_samples_never_panic(
        which in 0..ALL.len(),
        edits in vec((any::<prop::sample::Index>(), any::<u8>()), 1..6),
    ) {
        let mut bytes = ALL[which].1.as_bytes().to_vec();
        for (at, byte) in edits {
            let i = at.index(bytes.len());
            bytes[i] = byte;
        }
        if let Ok(parsed) = SessionDescription::parse(&bytes) {
            check_parsed(&parsed);
        }
    }

    #[test]
    fn sdp_offers_are_accepted_by_a_peer_with_any_caps(
        ours in vec(prop_oneof![Just(Codec::PCMU), Just(Codec::PCMA)], 1..3),
        theirs in vec(prop_oneof![Just(Codec::PCMU), Just(Codec::PCMA)], 0..3),
        our_dtmf in any::<bool>(),
        their_dtmf in any::<bool>(),
        direction in direction(),
    ) {
        let our_caps = MediaCaps { codecs: ours.clone(), dtmf: our_dtmf, ptime_ms: 20 };
        let offer = offer(&our_caps, our_side(), direction);
        let their_caps = MediaCaps { codecs: theirs.clone(), dtmf: their_dtmf, ptime_ms: 30 };
        match answer(&offer, &their_caps, our_side()) {
            Ok(n) => {
                // Their choice is the first of our codecs they support.
                let expected = ours.iter().find(|c| theirs.iter().any(|t| t.encoding == c.encoding));
                prop_assert_eq!(Some(&n.codec), expected);
                prop_assert_eq!(n.telephone_event.is_some(), our_dtmf && their_dtmf);
                prop_assert_eq!(n.local_direction, direction.reverse());
                let back = accept_answer(&offer, &n.answer).expect("accepts");
                prop_assert_eq!(back.codec, n.codec);
                prop_assert_eq!(back.local_direction, direction);
                prop_assert_eq!(back.ptime_ms, 30);
            }
            Err(e) => {
                prop_assert_eq!(e, NegotiationError::NoCommonCodec);
                prop_assert!(!ours.iter().any(|c| theirs.iter().any(|t| t.encoding == c.encoding)));
            }
        }
    }
}
