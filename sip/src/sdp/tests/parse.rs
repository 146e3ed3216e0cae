//! Parsing and printing: real-world and RFC samples, leniency, and one error per
//! kind of broken input.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::samples::{self, ALL};
use super::{crlf, sdp};
use crate::sdp::*;

#[test]
fn sdp_samples_parse_and_print_back_byte_for_byte() {
    for (name, text) in ALL {
        let wire = crlf(text);
        let parsed =
            SessionDescription::parse(wire.as_bytes()).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(
            parsed.to_string(),
            wire,
            "{name}: printing is not the input"
        );
        assert_eq!(&parsed.to_bytes()[..], wire.as_bytes(), "{name}");
        // LF-only bodies (RFC 4566 §5 asks parsers to accept them) parse the same.
        assert_eq!(sdp(text), parsed, "{name}: LF and CRLF differ");
    }
}

#[test]
fn sdp_sipp_uac_fields() {
    let s = sdp(samples::SIPP_UAC);
    assert_eq!(
        s.origin,
        Origin {
            username: "user1".into(),
            session_id: 53655765,
            session_version: 2353687637,
            net_type: "IN".into(),
            addr_type: "IP4".into(),
            address: "127.0.0.1".into(),
        }
    );
    assert_eq!(s.session_name, "-");
    assert_eq!(
        s.connection,
        Some(Connection::ip(IpAddr::V4(Ipv4Addr::LOCALHOST)))
    );
    assert_eq!(
        s.timing,
        vec![Timing {
            start: 0,
            stop: 0,
            repeats: vec![]
        }]
    );
    assert_eq!(s.media.len(), 1);
    let m = &s.media[0];
    assert_eq!(
        (m.media.clone(), m.port, m.proto.clone()),
        (MediaType::Audio, 6000, Proto::RtpAvp)
    );
    assert_eq!(m.formats, vec!["0"]);
    assert_eq!(
        m.rtpmap(0),
        Some(&RtpMap {
            payload_type: 0,
            encoding: "PCMU".into(),
            clock_rate: 8000,
            params: None
        })
    );
    assert_eq!(s.direction_of(m), Direction::SendRecv);
}

#[test]
fn sdp_baresip_typed_and_unknown_attributes_in_order() {
    let s = sdp(samples::BARESIP);
    assert_eq!(
        s.attributes,
        vec![Attribute::value("tool", "baresip 1.1.0")]
    );
    let m = &s.media[0];
    assert_eq!(
        m.bandwidths,
        vec![Bandwidth {
            kind: "AS".into(),
            value: 64
        }]
    );
    assert_eq!(m.payload_types().collect::<Vec<_>>(), vec![96, 0, 8, 101]);
    assert_eq!(m.rtpmap(96).and_then(|r| r.params.as_deref()), Some("2"));
    assert_eq!(
        m.fmtp("96").map(|f| f.params.as_str()),
        Some("stereo=1;sprop-stereo=1")
    );
    assert_eq!(m.fmtp("101").map(|f| f.params.as_str()), Some("0-15"));
    assert_eq!(m.ptime(), Some(20));
    assert_eq!(m.direction(), Some(Direction::SendRecv));
    let unknown: Vec<&Attribute> = m
        .attributes
        .iter()
        .filter(|a| matches!(a, Attribute::Other { .. }))
        .collect();
    assert_eq!(
        unknown,
        vec![
            &Attribute::flag("rtcp-rsize"),
            &Attribute::value("label", "1"),
            &Attribute::value(
                "ssrc",
                "1584961440 cname:2bc6e0c6-3c0b-4b94-8aef-8e3e7ae3a6ed"
            ),
        ]
    );
}

#[test]
fn sdp_linphone_video_and_rtcp_fb_are_kept() {
    let s = sdp(samples::LINPHONE);
    assert_eq!(s.session_name, "Talk");
    assert_eq!(
        s.attributes,
        vec![Attribute::value(
            "rtcp-xr",
            "rcvr-rtt=all:10000 stat-summary=loss,dup,jitt,TTL voip-metrics"
        )]
    );
    assert_eq!(s.media.len(), 2);
    assert_eq!(s.media[1].media, MediaType::Video);
    assert_eq!(
        s.media[1].rtpmap(96).map(|r| r.encoding.as_str()),
        Some("VP8")
    );
    // The same payload type means different things in different m-lines.
    assert_eq!(
        s.media[0].rtpmap(96).map(|r| r.encoding.as_str()),
        Some("opus")
    );
    assert!(s.media[1]
        .attributes
        .contains(&Attribute::value("rtcp-fb", "96 nack pli")));
    // `rtcp-fb` is not RFC 3605 `rtcp`.
    assert_eq!(s.media[0].rtcp(), None);
}

#[test]
fn sdp_cisco_and_asterisk() {
    let c = sdp(samples::CISCO);
    assert_eq!(c.origin.username, "CiscoSystemsCCM-SIP");
    assert_eq!(c.session_name, "SIP Call");
    assert_eq!(
        c.bandwidths,
        vec![
            Bandwidth {
                kind: "TIAS".into(),
                value: 64000
            },
            Bandwidth {
                kind: "AS".into(),
                value: 64
            }
        ]
    );
    assert_eq!(c.media[0].formats, vec!["18", "8", "0", "101"]);
    let a = sdp(samples::ASTERISK);
    assert_eq!(
        a.media[0]
            .attributes
            .iter()
            .filter(|x| matches!(x, Attribute::Rtpmap(_)))
            .count(),
        4
    );
    assert!(a.media[0]
        .attributes
        .contains(&Attribute::value("maxptime", "150")));
}

#[test]
fn sdp_rfc4566_example_multicast_and_session_direction() {
    let s = sdp(samples::RFC4566_EXAMPLE);
    assert_eq!(
        s.information.as_deref(),
        Some("A Seminar on the session description protocol")
    );
    assert_eq!(
        s.uri.as_deref(),
        Some("http://www.example.com/seminars/sdp.pdf")
    );
    assert_eq!(s.emails, vec!["j.doe@example.com (Jane Doe)"]);
    assert_eq!(
        s.connection,
        Some(Connection {
            address: Address::Ip(IpAddr::V4(Ipv4Addr::new(224, 2, 17, 12))),
            ttl: Some(127),
            count: None,
        })
    );
    assert_eq!(s.timing[0].start, 2873397496);
    // The session-level recvonly applies to both streams.
    assert_eq!(s.direction(), Some(Direction::RecvOnly));
    assert!(s
        .media
        .iter()
        .all(|m| s.direction_of(m) == Direction::RecvOnly));
    assert!(s.media[0].attributes.is_empty());
}

#[test]
fn sdp_rfc3264_host_names_and_empty_session_name() {
    let s = sdp(samples::RFC3264_10_1_OFFER);
    assert_eq!(s.session_name, "");
    assert_eq!(
        s.connection.as_ref().map(|c| &c.address),
        Some(&Address::Host {
            addr_type: AddrType::Ip4,
            name: "host.anywhere.com".into()
        })
    );
    let answer = sdp(samples::RFC3264_10_1_ANSWER);
    assert_eq!(answer.media[1].port, 0);
    assert!(answer.media[1].attributes.is_empty());
    let reoffer = sdp(samples::RFC3264_10_1_REOFFER);
    assert_eq!(reoffer.media.len(), 4);
    assert_eq!(reoffer.direction_of(&reoffer.media[3]), Direction::RecvOnly);
    assert_eq!(reoffer.direction_of(&reoffer.media[0]), Direction::SendRecv);
    let inactive = sdp(samples::RFC3264_10_2_OFFER);
    assert_eq!(inactive.media[0].direction(), Some(Direction::Inactive));
}

#[test]
fn sdp_rtcp_attribute_forms() {
    let body = "v=0\no=- 1 1 IN IP4 192.0.2.1\ns=-\nc=IN IP4 192.0.2.1\nt=0 0\n\
        m=audio 49170 RTP/AVP 0\na=rtcp:53020\n\
        m=audio 49172 RTP/AVP 0\na=rtcp:53020 IN IP4 126.16.64.4\n\
        m=audio 49174 RTP/AVP 0\na=rtcp:53020 IN IP6 2001:db8::1\n";
    let s = sdp(body);
    assert_eq!(
        s.media[0].rtcp(),
        Some(&Rtcp {
            port: 53020,
            address: None
        })
    );
    assert_eq!(
        s.media[1].rtcp(),
        Some(&Rtcp {
            port: 53020,
            address: Some(Address::Ip(IpAddr::V4(Ipv4Addr::new(126, 16, 64, 4))))
        })
    );
    let v6: Ipv6Addr = "2001:db8::1".parse().expect("literal");
    assert_eq!(
        s.media[2].rtcp(),
        Some(&Rtcp {
            port: 53020,
            address: Some(Address::Ip(IpAddr::V6(v6)))
        })
    );
    assert_eq!(sdp(&s.to_string()), s);
}

#[test]
fn sdp_ipv6_and_multicast_connections_round_trip() {
    let body = "v=0\no=- 1 1 IN IP6 2001:db8::2\ns=-\nc=IN IP6 2001:db8::2\nt=0 0\n\
        m=audio 5004 RTP/AVP 0\nc=IN IP6 ff15::101/3\n\
        m=audio 5006/2 RTP/AVP 8\nc=IN IP4 224.2.1.1/127/3\n";
    let s = sdp(body);
    let v6: Ipv6Addr = "2001:db8::2".parse().expect("literal");
    assert_eq!(s.connection, Some(Connection::ip(IpAddr::V6(v6))));
    assert_eq!(
        s.media[0].connection.as_ref().map(|c| (c.ttl, c.count)),
        Some((None, Some(3)))
    );
    assert_eq!(
        s.media[1].connection.as_ref().map(|c| (c.ttl, c.count)),
        Some((Some(127), Some(3)))
    );
    assert_eq!(s.media[1].port_count, Some(2));
    assert_eq!(s.to_string(), crlf(body));
}

#[test]
fn sdp_leniency() {
    // LF and CRLF mixed, trailing blanks, blank lines, session lines out of the §5
    // order (a= before c=, c= after t=), no t=, lower-case `in ip4`.
    let sloppy = "v=0\r\no=- 7 7 IN IP4 192.0.2.9 \r\ns=call\n\n\
        a=group:BUNDLE 0\r\nt=0 0\nc=in ip4 192.0.2.9\t\r\n\
        m=audio  4000   RTP/AVP  0 8 \n\na=ptime:20 \r\n\r\n";
    let s = sdp(sloppy);
    assert_eq!(s.origin.address, "192.0.2.9");
    assert_eq!(
        s.connection,
        Some(Connection::ip(IpAddr::V4(Ipv4Addr::new(192, 0, 2, 9))))
    );
    assert_eq!(s.media[0].formats, vec!["0", "8"]);
    assert_eq!(s.media[0].ptime(), Some(20));
    // Printed in canonical order and parsed back, it is the same description.
    let printed = s.to_string();
    assert!(printed.starts_with("v=0\r\no=- 7 7 IN IP4 192.0.2.9\r\ns=call\r\nc=IN IP4 192.0.2.9\r\nt=0 0\r\na=group:BUNDLE 0\r\n"));
    assert_eq!(sdp(&printed), s);

    // A missing t= is taken as `t=0 0`.
    let no_t = sdp("v=0\no=- 1 1 IN IP4 192.0.2.1\ns=-\nm=audio 4000 RTP/AVP 0\n");
    assert_eq!(no_t.timing, vec![Timing::default()]);
    // An attribute value may be empty or contain colons.
    let odd = sdp(
        "v=0\no=- 1 1 IN IP4 192.0.2.1\ns=-\nm=audio 4000 RTP/AVP 0\na=x:\na=y:a:b\na=fmtp:0\n",
    );
    assert_eq!(
        odd.media[0].attributes,
        vec![
            Attribute::value("x", ""),
            Attribute::value("y", "a:b"),
            Attribute::Fmtp(Fmtp {
                format: "0".into(),
                params: String::new()
            }),
        ]
    );
    // A media line without formats (broken, but harmless to keep).
    assert!(
        sdp("v=0\no=- 1 1 IN IP4 192.0.2.1\ns=-\nm=audio 0 RTP/AVP\n").media[0]
            .formats
            .is_empty()
    );
}

#[test]
fn sdp_protocols_and_media_types() {
    let s = sdp(
        "v=0\no=- 1 1 IN IP4 192.0.2.1\ns=-\nc=IN IP4 192.0.2.1\nt=0 0\n\
        m=audio 1 RTP/SAVP 0\nm=audio 2 RTP/AVPF 0\nm=audio 3 UDP/TLS/RTP/SAVPF 0\n\
        m=image 4 udptl t38\nm=application 5 TCP/MSRP *\nm=foo 6 RTP/SAVPF 0\n",
    );
    let kinds: Vec<(&str, &str)> = s
        .media
        .iter()
        .map(|m| (m.media.as_str(), m.proto.as_str()))
        .collect();
    assert_eq!(
        kinds,
        vec![
            ("audio", "RTP/SAVP"),
            ("audio", "RTP/AVPF"),
            ("audio", "UDP/TLS/RTP/SAVPF"),
            ("image", "udptl"),
            ("application", "TCP/MSRP"),
            ("foo", "RTP/SAVPF"),
        ]
    );
    assert_eq!(s.media[0].proto, Proto::RtpSavp);
    assert_eq!(s.media[3].media, MediaType::Image);
    assert_eq!(s.media[3].proto, Proto::Other("udptl".into()));
    assert_eq!(s.media[5].media, MediaType::Other("foo".into()));
    assert_eq!(s.media[3].payload_types().count(), 0);
}

const HEAD: &str = "v=0\no=- 1 1 IN IP4 192.0.2.1\ns=-\nc=IN IP4 192.0.2.1\nt=0 0\n";

#[test]
fn sdp_errors_name_the_line() {
    use SdpError::*;
    let m = "m=audio 4000 RTP/AVP 0\n";
    // (input, error); lines 1–5 are HEAD, so a bad line after it is line 6 or 7.
    let cases: Vec<(String, SdpError)> = vec![
        (String::new(), Empty),
        ("\r\n\n  \r\n".into(), Empty),
        (
            "o=- 1 1 IN IP4 192.0.2.1\nv=0\n".into(),
            Missing { kind: 'v' },
        ),
        (
            "v=1\n".into(),
            Invalid {
                line: 1,
                kind: 'v',
                reason: "only version 0 is defined",
            },
        ),
        (
            "v=0\ns=-\nt=0 0\nm=audio 4000 RTP/AVP 0\n".into(),
            Missing { kind: 'o' },
        ),
        (
            "v=0\no=- 1 1 IN IP4 192.0.2.1\nt=0 0\nm=audio 4000 RTP/AVP 0\n".into(),
            Missing { kind: 's' },
        ),
        (HEAD.into(), Missing { kind: 'm' }),
        (
            format!("{HEAD}m=audio 65536 RTP/AVP 0\n"),
            BadPort { line: 6 },
        ),
        (format!("{HEAD}m=audio -1 RTP/AVP 0\n"), BadPort { line: 6 }),
        (
            format!("{HEAD}m=audio +4000 RTP/AVP 0\n"),
            BadPort { line: 6 },
        ),
        (
            format!("{HEAD}m=audio abc RTP/AVP 0\n"),
            BadPort { line: 6 },
        ),
        (
            format!("{HEAD}m=audio 4000/x RTP/AVP 0\n"),
            BadPort { line: 6 },
        ),
        (
            format!("{HEAD}m=audio 4000\n"),
            Invalid {
                line: 6,
                kind: 'm',
                reason: "expected `<media> <port> <proto> <formats>`",
            },
        ),
        (
            format!("{HEAD}{m}c=IN IP4 999.1.1.1\n"),
            BadAddress {
                line: 7,
                reason: "neither an IP address nor a host name",
            },
        ),
        (
            format!("{HEAD}{m}c=IN IP4 2001:db8::1\n"),
            BadAddress {
                line: 7,
                reason: "IP6 address with address type IP4",
            },
        ),
        (
            format!("{HEAD}{m}c=IN IP6 192.0.2.1\n"),
            BadAddress {
                line: 7,
                reason: "IP4 address with address type IP6",
            },
        ),
        (
            format!("{HEAD}{m}c=IN IP4\n"),
            BadAddress {
                line: 7,
                reason: "expected `IN IP4|IP6 <address>`",
            },
        ),
        (
            format!("{HEAD}{m}c=ATM NSAP 47.0005\n"),
            BadAddress {
                line: 7,
                reason: "network type is not IN",
            },
        ),
        (
            format!("{HEAD}{m}c=IN IPX 1.2.3.4\n"),
            BadAddress {
                line: 7,
                reason: "address type is not IP4 or IP6",
            },
        ),
        (
            format!("{HEAD}{m}c=IN IP4 224.2.1.1/abc\n"),
            BadAddress {
                line: 7,
                reason: "bad TTL",
            },
        ),
        (
            format!("{HEAD}{m}c=IN IP4 224.2.1.1/1/2/3\n"),
            BadAddress {
                line: 7,
                reason: "too many `/` suffixes",
            },
        ),
        (
            format!("{HEAD}{m}c=IN IP4 -bad-.example\n"),
            BadAddress {
                line: 7,
                reason: "neither an IP address nor a host name",
            },
        ),
        (
            format!("{HEAD}x=unknown\n{m}"),
            UnknownType { line: 6, kind: 'x' },
        ),
        (format!("{HEAD}not a line\n{m}"), Malformed { line: 6 }),
        (format!("{HEAD}a =sendrecv\n{m}"), Malformed { line: 6 }),
        (format!("{HEAD}A=sendrecv\n{m}"), Malformed { line: 6 }),
        (format!("{HEAD}s=a\rb\n{m}"), Malformed { line: 6 }),
        (format!("{HEAD}{m}a=x\0y\n"), Malformed { line: 7 }),
        (
            format!("{HEAD}o=- 1 1 IN IP4 192.0.2.1\n{m}"),
            Duplicate { line: 6, kind: 'o' },
        ),
        (
            format!("{HEAD}s=again\n{m}"),
            Duplicate { line: 6, kind: 's' },
        ),
        (
            format!("{HEAD}c=IN IP4 192.0.2.2\n{m}"),
            Duplicate { line: 6, kind: 'c' },
        ),
        (
            format!("{HEAD}{m}c=IN IP4 192.0.2.2\nc=IN IP4 192.0.2.3\n"),
            Duplicate { line: 8, kind: 'c' },
        ),
        (
            format!("{HEAD}{m}o=- 1 1 IN IP4 192.0.2.1\n"),
            Misplaced { line: 7, kind: 'o' },
        ),
        (
            format!("{HEAD}{m}t=0 0\n"),
            Misplaced { line: 7, kind: 't' },
        ),
        (format!("{HEAD}{m}v=0\n"), Misplaced { line: 7, kind: 'v' }),
        (
            "v=0\no=- 1 1 IN IP4 192.0.2.1\ns=-\nr=7d 1h 0 25h\nt=0 0\n".into(),
            Misplaced { line: 4, kind: 'r' },
        ),
        (format!("{HEAD}v=0\n{m}"), Misplaced { line: 6, kind: 'v' }),
        (
            format!("{HEAD}{m}a=rtpmap:128 PCMU/8000\n"),
            BadAttribute {
                line: 7,
                name: "rtpmap",
                reason: "payload type is not a number from 0 to 127",
            },
        ),
        (
            format!("{HEAD}{m}a=rtpmap:0 PCMU\n"),
            BadAttribute {
                line: 7,
                name: "rtpmap",
                reason: "clock rate is not a number",
            },
        ),
        (
            format!("{HEAD}{m}a=rtpmap:0\n"),
            BadAttribute {
                line: 7,
                name: "rtpmap",
                reason: "expected `<payload type> <encoding>/<clock rate>`",
            },
        ),
        (
            format!("{HEAD}{m}a=rtpmap\n"),
            BadAttribute {
                line: 7,
                name: "rtpmap",
                reason: "missing value",
            },
        ),
        (
            format!("{HEAD}{m}a=rtpmap:0 /8000\n"),
            BadAttribute {
                line: 7,
                name: "rtpmap",
                reason: "empty encoding name",
            },
        ),
        (
            format!("{HEAD}{m}a=rtpmap:0 PCMU/8000/\n"),
            BadAttribute {
                line: 7,
                name: "rtpmap",
                reason: "empty encoding parameters",
            },
        ),
        (
            format!("{HEAD}{m}a=fmtp:\n"),
            BadAttribute {
                line: 7,
                name: "fmtp",
                reason: "missing format",
            },
        ),
        (
            format!("{HEAD}{m}a=ptime:20.5\n"),
            BadAttribute {
                line: 7,
                name: "ptime",
                reason: "not a number",
            },
        ),
        (
            format!("{HEAD}{m}a=rtcp:x\n"),
            BadAttribute {
                line: 7,
                name: "rtcp",
                reason: "bad port",
            },
        ),
        (
            format!("{HEAD}{m}a=rtcp:5001 IN IP4\n"),
            BadAttribute {
                line: 7,
                name: "rtcp",
                reason: "expected `<port> [IN IP4|IP6 <address>]`",
            },
        ),
        (
            format!("{HEAD}{m}a=sendonly:yes\n"),
            BadAttribute {
                line: 7,
                name: "sendonly",
                reason: "takes no value",
            },
        ),
        (
            format!("{HEAD}{m}a=:x\n"),
            Invalid {
                line: 7,
                kind: 'a',
                reason: "empty attribute name",
            },
        ),
        (
            format!("{HEAD}b=AS\n{m}"),
            Invalid {
                line: 6,
                kind: 'b',
                reason: "expected `<type>:<number>`",
            },
        ),
        (
            format!("{HEAD}b=AS:x\n{m}"),
            Invalid {
                line: 6,
                kind: 'b',
                reason: "expected `<type>:<number>`",
            },
        ),
        (
            format!("{HEAD}t=0\n{m}"),
            Invalid {
                line: 6,
                kind: 't',
                reason: "expected `<start> <stop>`",
            },
        ),
        (
            format!("v=0\no=- x 1 IN IP4 192.0.2.1\ns=-\n{m}"),
            Invalid {
                line: 2,
                kind: 'o',
                reason: "session id is not a number",
            },
        ),
        (
            format!("v=0\no=- 1 99999999999999999999 IN IP4 192.0.2.1\ns=-\n{m}"),
            Invalid {
                line: 2,
                kind: 'o',
                reason: "session version is not a number",
            },
        ),
        (
            format!("v=0\no=- 1 1 IN IP4\ns=-\n{m}"),
            Invalid {
                line: 2,
                kind: 'o',
                reason: "expected 6 fields",
            },
        ),
    ];
    for (input, expected) in cases {
        let got = SessionDescription::parse(input.as_bytes());
        assert_eq!(got, Err(expected.clone()), "input:\n{input}");
        // Display says which line.
        if let Some(line) = line_of(&expected) {
            assert!(
                expected.to_string().contains(&format!("line {line}:")),
                "{expected}"
            );
        }
    }
}

fn line_of(e: &SdpError) -> Option<usize> {
    use SdpError::*;
    match e {
        NotUtf8 { line }
        | Malformed { line }
        | UnknownType { line, .. }
        | Misplaced { line, .. }
        | Duplicate { line, .. }
        | Invalid { line, .. }
        | BadPort { line }
        | BadAddress { line, .. }
        | BadAttribute { line, .. } => Some(*line),
        _ => None,
    }
}

#[test]
fn sdp_non_utf8_names_its_line() {
    let mut body = HEAD.as_bytes().to_vec();
    body.extend_from_slice(b"m=audio 4000 RTP/AVP 0\r\na=tool:caf\xe9\r\n");
    assert_eq!(
        SessionDescription::parse(&body),
        Err(SdpError::NotUtf8 { line: 7 })
    );
    assert_eq!(
        SessionDescription::parse(b"\xff"),
        Err(SdpError::NotUtf8 { line: 1 })
    );
    assert_eq!(
        SdpError::NotUtf8 { line: 7 }.to_string(),
        "SDP line 7: not valid UTF-8"
    );
    // UTF-8 text is fine.
    let s = sdp(&format!("{HEAD}i=市民热线 12345\nm=audio 4000 RTP/AVP 0\n"));
    assert_eq!(s.information.as_deref(), Some("市民热线 12345"));
}

#[test]
fn sdp_from_str_and_display_agree() {
    let s: SessionDescription = samples::ASTERISK.parse().expect("parses");
    assert_eq!(s.to_string().parse::<SessionDescription>(), Ok(s));
}

#[test]
fn sdp_printing_built_values() {
    let mut m = MediaDescription::new(MediaType::Audio, 4000, Proto::RtpAvp, vec!["8".into()]);
    m.attributes = vec![
        Attribute::Rtpmap(RtpMap {
            payload_type: 8,
            encoding: "PCMA".into(),
            clock_rate: 8000,
            params: None,
        }),
        Attribute::Rtcp(Rtcp {
            port: 4001,
            address: Some(Address::Host {
                addr_type: AddrType::Ip6,
                name: "media.example.net".into(),
            }),
        }),
        Attribute::Direction(Direction::Inactive),
        Attribute::flag("rtcp-mux"),
    ];
    m.title = Some("voice".into());
    m.key = Some("prompt".into());
    assert_eq!(
        m.to_string(),
        "m=audio 4000 RTP/AVP 8\r\ni=voice\r\nk=prompt\r\na=rtpmap:8 PCMA/8000\r\n\
         a=rtcp:4001 IN IP6 media.example.net\r\na=inactive\r\na=rtcp-mux\r\n"
    );
    assert_eq!(Attribute::Ptime(30).to_string(), "ptime:30");
    assert_eq!(
        Connection::ip(IpAddr::V6(Ipv6Addr::LOCALHOST)).to_string(),
        "IN IP6 ::1"
    );
}
