//! Offer/answer table tests (RFC 3264 §6, §8.4; RFC 4733).

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use super::samples;
use super::{crlf, sdp};
use crate::sdp::*;

const PEER: &str = "198.51.100.7";
const OUR_IP: IpAddr = IpAddr::V4(Ipv4Addr::new(203, 0, 113, 10));

/// An offer from the peer at `PEER` with the given m-line block (LF line ends).
fn offer_with(media: &str) -> SessionDescription {
    sdp(&format!(
        "v=0\no=- 1 1 IN IP4 {PEER}\ns=-\nc=IN IP4 {PEER}\nt=0 0\n{media}"
    ))
}

fn local() -> LocalMedia<'static> {
    LocalMedia {
        addr: OUR_IP,
        rtp_port: 40000,
        session_id: 42,
        session_version: 1,
        username: "hotline",
    }
}

fn caps() -> MediaCaps {
    MediaCaps::default()
}

fn peer(port: u16) -> SocketAddr {
    SocketAddr::new(PEER.parse().expect("literal"), port)
}

fn formats(m: &MediaDescription) -> Vec<&str> {
    m.formats.iter().map(String::as_str).collect()
}

#[test]
fn sdp_answer_codec_choice_table() {
    use Encoding::*;
    use NegotiationError::NoCommonCodec;
    type Case = (
        &'static str,
        &'static str,
        Result<(u8, Encoding), NegotiationError>,
    );
    let cases: &[Case] = &[
        ("PCMU only", "0", Ok((0, Pcmu))),
        ("PCMA only", "8", Ok((8, Pcma))),
        ("PCMU then PCMA", "0 8", Ok((0, Pcmu))),
        ("PCMA then PCMU", "8 0", Ok((8, Pcma))),
        (
            "G729 then PCMA",
            "18 8\na=rtpmap:18 G729/8000",
            Ok((8, Pcma)),
        ),
        ("G729, GSM, PCMU", "18 3 0", Ok((0, Pcmu))),
        ("G729 only", "18\na=rtpmap:18 G729/8000", Err(NoCommonCodec)),
        (
            "opus only",
            "96\na=rtpmap:96 opus/48000/2",
            Err(NoCommonCodec),
        ),
        (
            "G729 and opus",
            "18 96\na=rtpmap:18 G729/8000\na=rtpmap:96 opus/48000/2",
            Err(NoCommonCodec),
        ),
        (
            "PCMU at a dynamic type",
            "97\na=rtpmap:97 PCMU/8000",
            Ok((97, Pcmu)),
        ),
        (
            "lower-case encoding name",
            "8\na=rtpmap:8 pcma/8000",
            Ok((8, Pcma)),
        ),
        ("explicit mono", "8\na=rtpmap:8 PCMA/8000/1", Ok((8, Pcma))),
        (
            "PCMU at 16 kHz",
            "97\na=rtpmap:97 PCMU/16000",
            Err(NoCommonCodec),
        ),
        (
            "stereo PCMA",
            "97\na=rtpmap:97 PCMA/8000/2",
            Err(NoCommonCodec),
        ),
        (
            "static 0 remapped to G722",
            "0\na=rtpmap:0 G722/8000",
            Err(NoCommonCodec),
        ),
        ("dynamic type without rtpmap", "97", Err(NoCommonCodec)),
        (
            "only telephone-event",
            "101\na=rtpmap:101 telephone-event/8000",
            Err(NoCommonCodec),
        ),
        ("non-numeric format", "x 8", Ok((8, Pcma))),
    ];
    for (name, fmts, expected) in cases {
        let offer = offer_with(&format!("m=audio 5000 RTP/AVP {fmts}\n"));
        let got = answer(&offer, &caps(), local());
        match (expected, got) {
            (Ok((pt, encoding)), Ok(n)) => {
                assert_eq!(
                    n.codec,
                    Codec {
                        payload_type: *pt,
                        encoding: *encoding
                    },
                    "{name}"
                );
                // The answer lists exactly the chosen codec (no DTMF offered here).
                let m = &n.answer.media[0];
                assert_eq!(formats(m), vec![pt.to_string().as_str()], "{name}");
                assert_eq!(
                    m.rtpmap(*pt).map(|r| r.encoding.as_str()),
                    Some(encoding.name()),
                    "{name}"
                );
                assert_eq!(n.telephone_event, None, "{name}");
            }
            (Err(e), Err(got)) => assert_eq!(&got, e, "{name}"),
            (expected, got) => panic!("{name}: expected {expected:?}, got {got:?}"),
        }
    }
}

#[test]
fn sdp_answer_follows_offer_order_not_ours() {
    let offer = offer_with("m=audio 5000 RTP/AVP 0 8\n");
    let pcma_first = MediaCaps {
        codecs: vec![Codec::PCMA, Codec::PCMU],
        ..caps()
    };
    let n = answer(&offer, &pcma_first, local()).expect("answers");
    assert_eq!(n.codec, Codec::PCMU);
    // A codec we do not have is skipped even if the offerer prefers it.
    let pcma_only = MediaCaps {
        codecs: vec![Codec::PCMA],
        ..caps()
    };
    let n = answer(&offer, &pcma_only, local()).expect("answers");
    assert_eq!(n.codec, Codec::PCMA);
    let none = MediaCaps {
        codecs: vec![],
        ..caps()
    };
    assert_eq!(
        answer(&offer, &none, local()),
        Err(NegotiationError::NoCommonCodec)
    );
}

#[test]
fn sdp_answer_telephone_event_table() {
    let te = |pt: u8| format!("a=rtpmap:{pt} telephone-event/8000\na=fmtp:{pt} 0-16\n");
    let cases: Vec<(&str, String, bool, Option<u8>)> = vec![
        (
            "at 101",
            format!("m=audio 5000 RTP/AVP 0 101\n{}", te(101)),
            true,
            Some(101),
        ),
        (
            "at 96",
            format!("m=audio 5000 RTP/AVP 8 96\n{}", te(96)),
            true,
            Some(96),
        ),
        (
            "listed first",
            format!("m=audio 5000 RTP/AVP 100 8\n{}", te(100)),
            true,
            Some(100),
        ),
        (
            "not offered",
            "m=audio 5000 RTP/AVP 0 8\n".into(),
            true,
            None,
        ),
        (
            "dtmf off",
            format!("m=audio 5000 RTP/AVP 0 101\n{}", te(101)),
            false,
            None,
        ),
        (
            "only at 16 kHz",
            "m=audio 5000 RTP/AVP 0 101\na=rtpmap:101 telephone-event/16000\n".into(),
            true,
            None,
        ),
        (
            "mixed case",
            "m=audio 5000 RTP/AVP 0 101\na=rtpmap:101 Telephone-Event/8000\n".into(),
            true,
            Some(101),
        ),
        (
            "rtpmap but not in m=",
            "m=audio 5000 RTP/AVP 0\na=rtpmap:101 telephone-event/8000\n".into(),
            true,
            None,
        ),
    ];
    for (name, media, dtmf, expected) in cases {
        let offer = offer_with(&media);
        let n = answer(&offer, &MediaCaps { dtmf, ..caps() }, local()).expect(name);
        assert_eq!(n.telephone_event, expected, "{name}");
        let m = &n.answer.media[0];
        let codec_pt = n.codec.payload_type.to_string();
        match expected {
            Some(pt) => {
                let pt_text = pt.to_string();
                assert_eq!(
                    formats(m),
                    vec![codec_pt.as_str(), pt_text.as_str()],
                    "{name}"
                );
                assert_eq!(
                    m.rtpmap(pt),
                    Some(&RtpMap {
                        payload_type: pt,
                        encoding: "telephone-event".into(),
                        clock_rate: 8000,
                        params: None
                    }),
                    "{name}"
                );
                assert_eq!(
                    m.fmtp(&pt_text).map(|f| f.params.as_str()),
                    Some("0-15"),
                    "{name}"
                );
            }
            None => {
                assert_eq!(formats(m), vec![codec_pt.as_str()], "{name}");
                assert!(
                    m.attributes
                        .iter()
                        .all(|a| !matches!(a, Attribute::Fmtp(_))),
                    "{name}"
                );
            }
        }
    }
}

#[test]
fn sdp_answer_keeps_m_line_count_and_order() {
    // (name, offer media, index answered, rejected indexes)
    let cases: &[(&str, &str, usize, &[usize])] = &[
        (
            "audio then video",
            "m=audio 5000 RTP/AVP 0\nm=video 5002 RTP/AVP 31\n",
            0,
            &[1],
        ),
        (
            "video then audio",
            "m=video 5002 RTP/AVP 31\nm=audio 5000 RTP/AVP 0\n",
            1,
            &[0],
        ),
        // Two audio streams: the hotline bridges one voice path, so the first one we
        // can use is answered and the other rejected (RFC 3264 §6 allows either).
        (
            "two audio",
            "m=audio 5000 RTP/AVP 0\nm=audio 5004 RTP/AVP 8\n",
            0,
            &[1],
        ),
        (
            "first audio has nothing in common",
            "m=audio 5000 RTP/AVP 18\nm=audio 5004 RTP/AVP 8\n",
            1,
            &[0],
        ),
        (
            "SRTP then RTP",
            "m=audio 5000 RTP/SAVP 0\nm=audio 5004 RTP/AVP 0\n",
            1,
            &[0],
        ),
        (
            "disabled audio then audio",
            "m=audio 0 RTP/AVP 0\nm=audio 5004 RTP/AVP 0\n",
            1,
            &[0],
        ),
        (
            "audio, T.38 and MSRP",
            "m=audio 5000 RTP/AVP 8\nm=image 5006 udptl t38\nm=message 5008 TCP/MSRP *\n",
            0,
            &[1, 2],
        ),
    ];
    for (name, media, answered, rejected) in cases {
        let offer = offer_with(media);
        let n = answer(&offer, &caps(), local()).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(n.media_index, *answered, "{name}");
        assert_eq!(n.answer.media.len(), offer.media.len(), "{name}");
        assert_eq!(n.answer.media[*answered].port, 40000, "{name}");
        assert_eq!(n.remote_rtp.port(), offer.media[*answered].port, "{name}");
        for &i in *rejected {
            let (a, o) = (&n.answer.media[i], &offer.media[i]);
            assert_eq!(a.port, 0, "{name}: m-line {i}");
            assert_eq!(
                (&a.media, &a.proto, &a.formats),
                (&o.media, &o.proto, &o.formats),
                "{name}"
            );
            assert!(a.attributes.is_empty(), "{name}");
        }
    }
}

#[test]
fn sdp_answer_no_audio_errors() {
    use NegotiationError::*;
    let cases: &[(&str, &str, NegotiationError)] = &[
        ("video only", "m=video 5002 RTP/AVP 31\n", NoAudio),
        (
            "audio disabled",
            "m=audio 0 RTP/AVP 0\nm=video 5002 RTP/AVP 31\n",
            NoAudio,
        ),
        (
            "SRTP only",
            "m=audio 5000 RTP/SAVP 0\n",
            UnsupportedTransport {
                proto: "RTP/SAVP".into(),
            },
        ),
        (
            "DTLS-SRTP only",
            "m=audio 5000 UDP/TLS/RTP/SAVPF 0\n",
            UnsupportedTransport {
                proto: "UDP/TLS/RTP/SAVPF".into(),
            },
        ),
        (
            "RTP and SRTP, nothing in common",
            "m=audio 5000 RTP/AVP 18\nm=audio 5002 RTP/SAVP 0\n",
            NoCommonCodec,
        ),
    ];
    for (name, media, expected) in cases {
        assert_eq!(
            answer(&offer_with(media), &caps(), local()).as_ref(),
            Err(expected),
            "{name}"
        );
    }
    assert_eq!(NoCommonCodec.to_string(), "no codec in common");
}

#[test]
fn sdp_answer_direction_table() {
    use Direction::*;
    // (offer's session attr, offer's media attr, our policy) →
    // (answer direction = local direction, remote direction, is_hold)
    type Case = (
        Option<Direction>,
        Option<Direction>,
        Direction,
        Direction,
        Direction,
        bool,
    );
    let cases: &[Case] = &[
        (None, None, SendRecv, SendRecv, SendRecv, false),
        (None, Some(SendRecv), SendRecv, SendRecv, SendRecv, false),
        (None, Some(SendOnly), SendRecv, RecvOnly, SendOnly, true),
        (None, Some(RecvOnly), SendRecv, SendOnly, RecvOnly, false),
        (None, Some(Inactive), SendRecv, Inactive, Inactive, true),
        (Some(SendOnly), None, SendRecv, RecvOnly, SendOnly, true),
        (
            Some(SendOnly),
            Some(SendRecv),
            SendRecv,
            SendRecv,
            SendRecv,
            false,
        ),
        (None, None, SendOnly, SendOnly, SendRecv, false),
        (None, Some(SendOnly), SendOnly, Inactive, SendOnly, true),
        (None, Some(RecvOnly), RecvOnly, Inactive, RecvOnly, false),
        (None, None, Inactive, Inactive, SendRecv, false),
    ];
    for &(session, media, policy, expected, remote, hold) in cases {
        let attr =
            |d: Option<Direction>| d.map(|d| format!("a={}\n", d.as_str())).unwrap_or_default();
        let offer = sdp(&format!(
            "v=0\no=- 1 1 IN IP4 {PEER}\ns=-\nc=IN IP4 {PEER}\nt=0 0\n{}m=audio 5000 RTP/AVP 0\n{}",
            attr(session),
            attr(media)
        ));
        let case = format!("{session:?}/{media:?}/{policy:?}");
        let n = answer_with(&offer, &caps(), local(), policy).expect(&case);
        assert_eq!(n.answer.media[0].direction(), Some(expected), "{case}");
        assert_eq!(n.local_direction, expected, "{case}");
        assert_eq!(n.remote_direction, remote, "{case}");
        assert_eq!(n.is_hold(), hold, "{case}");
    }
}

#[test]
fn sdp_answer_hold_by_zero_address() {
    // RFC 2543 style hold (RFC 3264 §8.4): c=0.0.0.0, no direction attribute.
    let offer = sdp(
        "v=0\no=- 1 2 IN IP4 198.51.100.7\ns=-\nc=IN IP4 0.0.0.0\nt=0 0\nm=audio 5000 RTP/AVP 0\n",
    );
    let n = answer(&offer, &caps(), local()).expect("answers");
    assert!(n.is_hold());
    assert_eq!(n.remote_direction, Direction::SendOnly);
    assert_eq!(n.local_direction, Direction::RecvOnly);
    assert_eq!(n.remote_rtp, "0.0.0.0:5000".parse().expect("literal"));
    // With a=inactive as well, nothing flows.
    let offer = sdp("v=0\no=- 1 2 IN IP4 198.51.100.7\ns=-\nc=IN IP4 0.0.0.0\nt=0 0\nm=audio 5000 RTP/AVP 0\na=inactive\n");
    assert_eq!(
        answer(&offer, &caps(), local())
            .expect("answers")
            .local_direction,
        Direction::Inactive
    );
    // The IPv6 unspecified address counts too.
    let offer = sdp("v=0\no=- 1 2 IN IP6 ::1\ns=-\nc=IN IP6 ::\nt=0 0\nm=audio 5000 RTP/AVP 0\n");
    assert!(answer(&offer, &caps(), local()).expect("answers").is_hold());
    // Resume: a real address and sendrecv again.
    let n = answer(
        &offer_with("m=audio 5000 RTP/AVP 0\na=sendrecv\n"),
        &caps(),
        local(),
    )
    .expect("answers");
    assert!(!n.is_hold());
    assert_eq!(n.remote_rtp, peer(5000));
}

#[test]
fn sdp_answer_rtcp_address_table() {
    let cases: &[(&str, Option<&str>)] = &[
        ("m=audio 5000 RTP/AVP 0\n", Some("198.51.100.7:5001")),
        (
            "m=audio 5000 RTP/AVP 0\na=rtcp:53020\n",
            Some("198.51.100.7:53020"),
        ),
        (
            "m=audio 5000 RTP/AVP 0\na=rtcp:53020 IN IP4 126.16.64.4\n",
            Some("126.16.64.4:53020"),
        ),
        (
            "m=audio 5000 RTP/AVP 0\na=rtcp:53020 IN IP4 rtcp.example.com\n",
            Some("198.51.100.7:53020"),
        ),
        ("m=audio 65535 RTP/AVP 0\n", None),
        (
            "m=audio 65535 RTP/AVP 0\na=rtcp:9\n",
            Some("198.51.100.7:9"),
        ),
    ];
    for (media, expected) in cases {
        let n = answer(&offer_with(media), &caps(), local()).expect(media);
        let expected: Option<SocketAddr> = expected.map(|e| e.parse().expect("literal"));
        assert_eq!(n.remote_rtcp, expected, "{media}");
    }
}

#[test]
fn sdp_answer_connection_table() {
    let head = "v=0\no=- 1 1 IN IP4 198.51.100.7\ns=-\nt=0 0\n";
    // Missing c= at both levels.
    let offer = sdp(&format!("{head}m=audio 5000 RTP/AVP 0\n"));
    assert_eq!(
        answer(&offer, &caps(), local()),
        Err(NegotiationError::MissingConnection { media: 0 })
    );
    // A rejected stream without c= is fine.
    let offer = sdp(&format!(
        "{head}m=video 5002 RTP/AVP 31\nm=audio 5000 RTP/AVP 0\nc=IN IP4 192.0.2.5\n"
    ));
    let n = answer(&offer, &caps(), local()).expect("answers");
    assert_eq!(n.remote_rtp, "192.0.2.5:5000".parse().expect("literal"));
    // Media level overrides session level.
    let offer = offer_with("m=audio 5000 RTP/AVP 0\nc=IN IP4 192.0.2.6\n");
    assert_eq!(
        answer(&offer, &caps(), local())
            .expect("answers")
            .remote_rtp
            .ip()
            .to_string(),
        "192.0.2.6"
    );
    // IPv6.
    let offer = sdp(&format!(
        "{head}c=IN IP6 2001:db8::7\nm=audio 5000 RTP/AVP 0\n"
    ));
    assert_eq!(
        answer(&offer, &caps(), local())
            .expect("answers")
            .remote_rtp,
        "[2001:db8::7]:5000".parse().expect("literal")
    );
    // A host name is not resolved here.
    let offer = sdp(samples::RFC3264_10_1_OFFER);
    assert_eq!(
        answer(&offer, &caps(), local()),
        Err(NegotiationError::HostAddress { media: 0 })
    );
}

#[test]
fn sdp_answer_ptime_table() {
    // (offer's ptime, our ptime) → (ptime to send with, answer's a=ptime)
    let cases: &[(Option<u32>, u32, u32, Option<u32>)] = &[
        (None, 20, 20, Some(20)),
        (Some(30), 20, 30, Some(20)),
        (Some(10), 30, 10, Some(30)),
        (None, 0, 20, None),
        (Some(0), 40, 40, Some(40)),
    ];
    for &(theirs, ours, send, ours_in_answer) in cases {
        let ptime = theirs.map(|p| format!("a=ptime:{p}\n")).unwrap_or_default();
        let offer = offer_with(&format!("m=audio 5000 RTP/AVP 0\n{ptime}"));
        let n = answer(
            &offer,
            &MediaCaps {
                ptime_ms: ours,
                ..caps()
            },
            local(),
        )
        .expect("answers");
        assert_eq!(n.ptime_ms, send, "{theirs:?}/{ours}");
        assert_eq!(
            n.answer.media[0].ptime(),
            ours_in_answer,
            "{theirs:?}/{ours}"
        );
    }
}

#[test]
fn sdp_answer_to_sipp_is_exactly() {
    let n = answer(&sdp(samples::SIPP_UAC), &caps(), local()).expect("answers");
    assert_eq!(
        n.answer.to_string(),
        crlf(
            "v=0
o=hotline 42 1 IN IP4 203.0.113.10
s=-
c=IN IP4 203.0.113.10
t=0 0
m=audio 40000 RTP/AVP 0
a=rtpmap:0 PCMU/8000
a=ptime:20
a=sendrecv
"
        )
    );
    assert_eq!(n.remote_rtp, "127.0.0.1:6000".parse().expect("literal"));
    assert_eq!(
        n.remote_rtcp,
        Some("127.0.0.1:6001".parse().expect("literal"))
    );
    assert_eq!(sdp(&n.answer.to_string()), n.answer);
}

#[test]
fn sdp_answer_real_world_offers() {
    // (sample, codec, telephone-event, m-lines in the answer)
    let cases: &[(&str, &str, Codec, Option<u8>, usize)] = &[
        ("baresip", samples::BARESIP, Codec::PCMU, Some(101), 1),
        // Linphone offers telephone-event at 48, 16 and 8 kHz: only 8 kHz fits G.711.
        ("linphone", samples::LINPHONE, Codec::PCMU, Some(100), 2),
        ("sipp", samples::SIPP_UAC, Codec::PCMU, None, 1),
        ("asterisk", samples::ASTERISK, Codec::PCMA, Some(101), 1),
        ("cisco", samples::CISCO, Codec::PCMA, Some(101), 1),
    ];
    for (name, text, codec, te, count) in cases {
        let offer = sdp(text);
        let n = answer(&offer, &caps(), local()).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!((n.codec, n.telephone_event), (*codec, *te), "{name}");
        assert_eq!(n.answer.media.len(), *count, "{name}");
        // The offerer, checking our answer, agrees.
        let back = accept_answer(&offer, &n.answer).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!((back.codec, back.telephone_event), (*codec, *te), "{name}");
        assert_eq!(back.remote_rtp, SocketAddr::new(OUR_IP, 40000), "{name}");
    }
    // Linphone's video is rejected.
    let n = answer(&sdp(samples::LINPHONE), &caps(), local()).expect("answers");
    assert_eq!(n.answer.media[1].port, 0);
    assert_eq!(n.answer.media[1].media, MediaType::Video);
}

/// The RFC 3264 examples use host names; with IP addresses in their place they
/// exercise the stream rules.
fn with_ips(text: &str) -> SessionDescription {
    sdp(&text
        .replace("host.anywhere.com", "192.0.2.1")
        .replace("host.example.com", "192.0.2.2"))
}

#[test]
fn sdp_answer_rfc3264_examples() {
    // §10.1 re-offer: audio, rejected video, video, a receive-only events stream.
    let offer = with_ips(samples::RFC3264_10_1_REOFFER);
    let n = answer(&offer, &caps(), local()).expect("answers");
    assert_eq!(n.media_index, 0);
    assert_eq!(n.remote_rtp, "192.0.2.2:65422".parse().expect("literal"));
    let ports: Vec<u16> = n.answer.media.iter().map(|m| m.port).collect();
    assert_eq!(ports, vec![40000, 0, 0, 0]);
    // §10.2: an inactive offer of PCMU, G.723, G.729 is answered PCMU, inactive.
    let n = answer(&with_ips(samples::RFC3264_10_2_OFFER), &caps(), local()).expect("answers");
    assert_eq!(n.codec, Codec::PCMU);
    assert_eq!(n.local_direction, Direction::Inactive);
    assert!(n.is_hold());
}

#[test]
fn sdp_answer_copies_t_and_sanitises_username() {
    let offer = sdp(&format!(
        "v=0\no=- 1 1 IN IP4 {PEER}\ns=-\nc=IN IP4 {PEER}\nt=2873397496 2873404696\nm=audio 5000 RTP/AVP 0\n"
    ));
    let local = LocalMedia {
        username: "12345 hotline",
        ..local()
    };
    let n = answer(&offer, &caps(), local).expect("answers");
    assert_eq!(n.answer.timing, offer.timing);
    assert_eq!(n.answer.origin.username, "-");
    let empty = LocalMedia {
        username: "",
        ..local
    };
    assert_eq!(
        answer(&offer, &caps(), empty)
            .expect("answers")
            .answer
            .origin
            .username,
        "-"
    );
}

#[test]
fn sdp_offer_is_exactly() {
    let o = offer(&caps(), local(), Direction::SendRecv);
    assert_eq!(
        o.to_string(),
        crlf(
            "v=0
o=hotline 42 1 IN IP4 203.0.113.10
s=-
c=IN IP4 203.0.113.10
t=0 0
m=audio 40000 RTP/AVP 8 0 101
a=rtpmap:8 PCMA/8000
a=rtpmap:0 PCMU/8000
a=rtpmap:101 telephone-event/8000
a=fmtp:101 0-15
a=ptime:20
a=sendrecv
"
        )
    );
    assert_eq!(sdp(&o.to_string()), o);
}

#[test]
fn sdp_offer_variants() {
    // No DTMF.
    let o = offer(
        &MediaCaps {
            dtmf: false,
            ..caps()
        },
        local(),
        Direction::SendRecv,
    );
    assert_eq!(formats(&o.media[0]), vec!["8", "0"]);
    // A codec already at 101 moves DTMF to the first free dynamic type.
    let taken = MediaCaps {
        codecs: vec![
            Codec {
                payload_type: 101,
                encoding: Encoding::Pcmu,
            },
            Codec::PCMA,
        ],
        ..caps()
    };
    let o = offer(&taken, local(), Direction::SendRecv);
    assert_eq!(formats(&o.media[0]), vec!["101", "8", "96"]);
    // Invalid and repeated payload types are left out.
    let odd = MediaCaps {
        codecs: vec![
            Codec {
                payload_type: 200,
                encoding: Encoding::Pcmu,
            },
            Codec::PCMA,
            Codec::PCMA,
        ],
        dtmf: false,
        ptime_ms: 0,
    };
    let o = offer(&odd, local(), Direction::SendRecv);
    assert_eq!(formats(&o.media[0]), vec!["8"]);
    assert_eq!(o.media[0].ptime(), None);
    assert_eq!(sdp(&o.to_string()), o);
    // IPv6.
    let v6 = LocalMedia {
        addr: "2001:db8::10".parse().expect("literal"),
        ..local()
    };
    let o = offer(&caps(), v6, Direction::SendRecv);
    assert_eq!(o.origin.addr_type, "IP6");
    assert!(o.to_string().contains("\r\nc=IN IP6 2001:db8::10\r\n"));
}

#[test]
fn sdp_local_session_bumps_version_per_offer() {
    let mut session = LocalSession::new(77, 1);
    let first = offer(
        &caps(),
        session.next_media(OUR_IP, 40000, "hotline"),
        Direction::SendRecv,
    );
    let hold = offer(
        &caps(),
        session.next_media(OUR_IP, 40000, "hotline"),
        Direction::SendOnly,
    );
    let resume = offer(
        &caps(),
        session.next_media(OUR_IP, 40000, "hotline"),
        Direction::SendRecv,
    );
    let origins: Vec<(u64, u64)> = [&first, &hold, &resume]
        .iter()
        .map(|s| (s.origin.session_id, s.origin.session_version))
        .collect();
    assert_eq!(origins, vec![(77, 1), (77, 2), (77, 3)]);
    assert_eq!((session.id(), session.version()), (77, 4));
    assert_eq!(hold.media[0].direction(), Some(Direction::SendOnly));
    assert_eq!(resume.media[0].direction(), Some(Direction::SendRecv));
    // The version never wraps back.
    let mut last = LocalSession::new(1, u64::MAX);
    assert_eq!(last.next_media(OUR_IP, 1, "x").session_version, u64::MAX);
    assert_eq!(last.next_media(OUR_IP, 1, "x").session_version, u64::MAX);
}

/// The peer's answer to our offer, built by our own `answer` with the peer's caps.
fn peer_answers(
    our_offer: &SessionDescription,
    peer_caps: &MediaCaps,
    policy: Direction,
) -> SessionDescription {
    let peer_local = LocalMedia {
        addr: PEER.parse().expect("literal"),
        rtp_port: 5000,
        session_id: 9,
        session_version: 9,
        username: "peer",
    };
    answer_with(our_offer, peer_caps, peer_local, policy)
        .expect("peer answers")
        .answer
}

#[test]
fn sdp_two_peers_agree() {
    let ours = offer(&caps(), local(), Direction::SendRecv);
    let pcmu_peer = MediaCaps {
        codecs: vec![Codec::PCMU],
        ..caps()
    };
    let theirs = peer_answers(&ours, &pcmu_peer, Direction::SendRecv);
    let n = accept_answer(&ours, &theirs).expect("accepts");
    assert_eq!(n.codec, Codec::PCMU);
    assert_eq!(n.telephone_event, Some(101));
    assert_eq!(n.remote_rtp, peer(5000));
    assert_eq!(n.remote_rtcp, Some(peer(5001)));
    assert_eq!(
        (n.local_direction, n.remote_direction),
        (Direction::SendRecv, Direction::SendRecv)
    );
    assert_eq!(n.answer, theirs);
    assert_eq!(n.ptime_ms, 20);
}

#[test]
fn sdp_hold_and_resume_as_offerer() {
    let mut session = LocalSession::new(5, 100);
    // Hold: we offer sendonly, the peer answers recvonly.
    let hold = offer(
        &caps(),
        session.next_media(OUR_IP, 40000, "hotline"),
        Direction::SendOnly,
    );
    let n =
        accept_answer(&hold, &peer_answers(&hold, &caps(), Direction::SendRecv)).expect("accepts");
    assert_eq!(n.remote_direction, Direction::RecvOnly);
    assert_eq!(n.local_direction, Direction::SendOnly);
    assert!(!n.is_hold(), "we hold the peer, not the other way round");
    // The peer answers inactive (it is on hold itself).
    let n =
        accept_answer(&hold, &peer_answers(&hold, &caps(), Direction::Inactive)).expect("accepts");
    assert_eq!(n.local_direction, Direction::Inactive);
    // Resume.
    let resume = offer(
        &caps(),
        session.next_media(OUR_IP, 40000, "hotline"),
        Direction::SendRecv,
    );
    assert!(resume.origin.session_version > hold.origin.session_version);
    let n = accept_answer(
        &resume,
        &peer_answers(&resume, &caps(), Direction::SendRecv),
    )
    .expect("accepts");
    assert_eq!(n.local_direction, Direction::SendRecv);
}

#[test]
fn sdp_accept_answer_table() {
    use NegotiationError::*;
    let ours = offer(&caps(), local(), Direction::SendRecv); // 8 0 101
    let answer_text =
        |media: &str| format!("v=0\no=- 9 9 IN IP4 {PEER}\ns=-\nc=IN IP4 {PEER}\nt=0 0\n{media}");
    type Case = (
        &'static str,
        &'static str,
        Result<(Codec, Option<u8>), NegotiationError>,
    );
    let cases: &[Case] = &[
        ("PCMA", "m=audio 5000 RTP/AVP 8\n", Ok((Codec::PCMA, None))),
        (
            "PCMU and DTMF",
            "m=audio 5000 RTP/AVP 0 101\na=rtpmap:101 telephone-event/8000\n",
            Ok((Codec::PCMU, Some(101))),
        ),
        // Without its rtpmap, 101 is named by our offer.
        (
            "DTMF without rtpmap",
            "m=audio 5000 RTP/AVP 8 101\n",
            Ok((Codec::PCMA, Some(101))),
        ),
        (
            "both codecs: first wins",
            "m=audio 5000 RTP/AVP 0 8\n",
            Ok((Codec::PCMU, None)),
        ),
        (
            "renumbered PCMU",
            "m=audio 5000 RTP/AVP 97\na=rtpmap:97 PCMU/8000\n",
            Ok((
                Codec {
                    payload_type: 97,
                    encoding: Encoding::Pcmu,
                },
                None,
            )),
        ),
        (
            "G729 not offered",
            "m=audio 5000 RTP/AVP 18 8\n",
            Err(NotOffered {
                format: "18".into(),
            }),
        ),
        (
            "opus not offered",
            "m=audio 5000 RTP/AVP 96\na=rtpmap:96 opus/48000/2\n",
            Err(NotOffered {
                format: "96".into(),
            }),
        ),
        (
            "non-numeric format",
            "m=audio 5000 RTP/AVP x\n",
            Err(NotOffered { format: "x".into() }),
        ),
        (
            "offered type redefined",
            "m=audio 5000 RTP/AVP 8 101\na=rtpmap:101 opus/48000/2\n",
            Err(NotOffered {
                format: "101".into(),
            }),
        ),
        (
            "DTMF at 16 kHz",
            "m=audio 5000 RTP/AVP 8 102\na=rtpmap:102 telephone-event/16000\n",
            Err(NotOffered {
                format: "102".into(),
            }),
        ),
        (
            "only DTMF",
            "m=audio 5000 RTP/AVP 101\n",
            Err(NoCommonCodec),
        ),
        ("rejected", "m=audio 0 RTP/AVP 8\n", Err(Rejected)),
        (
            "two m-lines",
            "m=audio 5000 RTP/AVP 8\nm=video 0 RTP/AVP 31\n",
            Err(MediaCountMismatch {
                offered: 1,
                answered: 2,
            }),
        ),
        (
            "transport changed",
            "m=audio 5000 RTP/SAVP 8\n",
            Err(AnswerMismatch { media: 0 }),
        ),
        (
            "media changed",
            "m=video 5000 RTP/AVP 8\n",
            Err(AnswerMismatch { media: 0 }),
        ),
    ];
    for (name, media, expected) in cases {
        let got =
            accept_answer(&ours, &sdp(&answer_text(media))).map(|n| (n.codec, n.telephone_event));
        assert_eq!(&got, expected, "{name}");
    }
    // DTMF in the answer when we did not offer it.
    let no_dtmf = offer(
        &MediaCaps {
            dtmf: false,
            ..caps()
        },
        local(),
        Direction::SendRecv,
    );
    let theirs = sdp(&answer_text(
        "m=audio 5000 RTP/AVP 8 101\na=rtpmap:101 telephone-event/8000\n",
    ));
    assert_eq!(
        accept_answer(&no_dtmf, &theirs),
        Err(NotOffered {
            format: "101".into()
        })
    );
    // No c= in the answer.
    let theirs = sdp("v=0\no=- 9 9 IN IP4 198.51.100.7\ns=-\nt=0 0\nm=audio 5000 RTP/AVP 8\n");
    assert_eq!(
        accept_answer(&ours, &theirs),
        Err(MissingConnection { media: 0 })
    );
    // The answerer's ptime wins; c=0.0.0.0 in an answer is a hold too.
    let theirs = sdp("v=0\no=- 9 9 IN IP4 0.0.0.0\ns=-\nc=IN IP4 0.0.0.0\nt=0 0\nm=audio 5000 RTP/AVP 8\na=ptime:30\n");
    let n = accept_answer(&ours, &theirs).expect("accepts");
    assert_eq!(n.ptime_ms, 30);
    assert!(n.is_hold());
    assert_eq!(n.local_direction, Direction::RecvOnly);
}

#[test]
fn sdp_accept_answer_rfc3264_10_1() {
    // Alice (us) offers audio and two video streams; Bob keeps audio and the
    // second video stream.
    let ours = with_ips(samples::RFC3264_10_1_OFFER);
    let theirs = with_ips(samples::RFC3264_10_1_ANSWER);
    let n = accept_answer(&ours, &theirs).expect("accepts");
    assert_eq!(n.codec, Codec::PCMU);
    assert_eq!(n.media_index, 0);
    assert_eq!(n.remote_rtp, "192.0.2.2:49920".parse().expect("literal"));
    // An offer with no audio at all.
    let video = offer_with("m=video 5002 RTP/AVP 31\n");
    assert_eq!(
        accept_answer(&video, &video),
        Err(NegotiationError::NoAudio)
    );
    // §10.2: Bob lists PCMU and G.723. G.723 was offered, so it is allowed in the
    // answer, and ignored: PCMU is what we would use. Both ends are inactive.
    let ours = with_ips(samples::RFC3264_10_2_OFFER);
    let theirs = with_ips(samples::RFC3264_10_2_ANSWER);
    let n = accept_answer(&ours, &theirs).expect("accepts");
    assert_eq!(n.codec, Codec::PCMU);
    assert_eq!(n.local_direction, Direction::Inactive);
    // Only G.723 in the answer: nothing we can use.
    let only_g723 = with_ips(&samples::RFC3264_10_2_ANSWER.replace("RTP/AVP 0 4", "RTP/AVP 4"));
    assert_eq!(
        accept_answer(&ours, &only_g723),
        Err(NegotiationError::NoCommonCodec)
    );
}
