//! Message-level unit tests: parse, typed accessors, printing, error responses.
#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

use bytes::Bytes;

use super::*;

const INVITE: &str = "INVITE sip:bob@biloxi.example.com SIP/2.0\r\n\
Via: SIP/2.0/UDP pc33.atlanta.example.com;branch=z9hG4bK776asdhds;rport\r\n\
Max-Forwards: 70\r\n\
To: Bob <sip:bob@biloxi.example.com>\r\n\
From: \"Alice\" <sip:alice@atlanta.example.com>;tag=1928301774\r\n\
Call-ID: a84b4c76e66710@pc33.atlanta.example.com\r\n\
CSeq: 314159 INVITE\r\n\
Contact: <sip:alice@pc33.atlanta.example.com>\r\n\
Content-Type: application/sdp\r\n\
Content-Length: 4\r\n\
\r\n\
v=0\n";

fn parse_str(s: &str) -> Result<Message, ParseError> {
    parse(Bytes::copy_from_slice(s.as_bytes()))
}

fn request(s: &str) -> Request {
    match parse_str(s).unwrap() {
        Message::Request(r) => r,
        Message::Response(_) => panic!("not a request"),
    }
}

#[test]
fn header_names() {
    for (wire, name) in [
        ("v", HeaderName::Via),
        ("V", HeaderName::Via),
        ("vIA", HeaderName::Via),
        ("f", HeaderName::From),
        ("t", HeaderName::To),
        ("i", HeaderName::CallId),
        ("CALL-id", HeaderName::CallId),
        ("m", HeaderName::Contact),
        ("l", HeaderName::ContentLength),
        ("c", HeaderName::ContentType),
        ("k", HeaderName::Supported),
        ("s", HeaderName::Subject),
        ("e", HeaderName::ContentEncoding),
        ("o", HeaderName::Event),
        ("r", HeaderName::ReferTo),
        ("www-authenticate", HeaderName::WwwAuthenticate),
        ("MAX-FORWARDS", HeaderName::MaxForwards),
    ] {
        assert_eq!(HeaderName::from_wire(wire), name, "{wire}");
        assert!(
            !matches!(HeaderName::from_wire(wire), HeaderName::Other(_)),
            "{wire}"
        );
    }
    assert_eq!(HeaderName::from_wire("u").as_str(), "Allow-Events");
    assert_eq!(
        HeaderName::from_wire("u"),
        HeaderName::from_wire("allow-events")
    );
    assert_eq!(HeaderName::from_wire("x").as_str(), "Session-Expires");
    assert_eq!(HeaderName::from_wire("b").as_str(), "Referred-By");
    assert_eq!(HeaderName::CallId.as_str(), "Call-ID");
    assert_eq!(HeaderName::CSeq.as_str(), "CSeq");
    assert_eq!(HeaderName::from_wire("X-Foo").as_str(), "X-Foo");
    assert_eq!(
        HeaderName::from_wire("X-Foo"),
        HeaderName::from_wire("x-foo")
    );
    assert_ne!(HeaderName::from_wire("X-Foo"), HeaderName::Via);
    // A hand-made Other of a known name still matches.
    assert_eq!(HeaderName::Other(ByteStr::from("via")), HeaderName::Via);
    assert_eq!(HeaderName::from_wire("C%6Fntact").as_str(), "C%6Fntact");
}

#[test]
fn parses_an_invite_with_typed_access() {
    let r = request(INVITE);
    assert_eq!(r.method, Method::Invite);
    assert_eq!(r.uri.user(), Some("bob"));
    let h = &r.headers;
    let via = h.top_via().unwrap();
    assert_eq!(via.branch(), Some("z9hG4bK776asdhds"));
    assert_eq!(via.rport(), Some(None));
    assert_eq!(
        via.host,
        Host::Domain(ByteStr::from("pc33.atlanta.example.com"))
    );
    assert_eq!(h.vias().unwrap().len(), 1);
    assert_eq!(
        &**h.call_id().unwrap(),
        "a84b4c76e66710@pc33.atlanta.example.com"
    );
    assert_eq!(
        h.cseq().unwrap(),
        CSeq {
            seq: 314159,
            method: Method::Invite
        }
    );
    assert_eq!(h.from_addr().unwrap().tag(), Some("1928301774"));
    assert_eq!(h.from_addr().unwrap().display.as_deref(), Some("Alice"));
    assert_eq!(h.to_addr().unwrap().tag(), None);
    assert_eq!(h.contacts().unwrap().len(), 1);
    assert_eq!(h.max_forwards().unwrap(), Some(70));
    assert_eq!(h.expires().unwrap(), None);
    assert_eq!(&r.body[..], b"v=0\n");
}

#[test]
fn accessors_report_missing_and_bad_headers() {
    let mut h = Headers::new();
    assert_eq!(
        h.top_via().unwrap_err().kind,
        ParseErrorKind::MissingHeader(HeaderName::Via)
    );
    assert_eq!(
        h.vias().unwrap_err().kind,
        ParseErrorKind::MissingHeader(HeaderName::Via)
    );
    assert_eq!(
        h.call_id().unwrap_err().kind,
        ParseErrorKind::MissingHeader(HeaderName::CallId)
    );
    assert!(h.contacts().unwrap().is_empty());
    h.push(HeaderName::Expires, "4294967296");
    h.push(HeaderName::MaxForwards, "256");
    h.push(HeaderName::CallId, "a b");
    assert!(h.expires().is_err());
    assert!(h.max_forwards().is_err());
    assert!(h.call_id().is_err());
    h.set(HeaderName::Expires, "4294967295");
    assert_eq!(h.expires().unwrap(), Some(u32::MAX));
    for (call_id, ok) in [
        ("a", true),
        ("a@b", true),
        ("w%ZK-!.*_+'@word`~)(><:\\/\"][?}{", true),
        ("@b", false),
        ("a@", false),
        ("a@b@c", false),
        ("", false),
        ("a;b", false),
    ] {
        h.set(HeaderName::CallId, call_id);
        assert_eq!(h.call_id().is_ok(), ok, "{call_id}");
    }
}

#[test]
fn parses_responses() {
    let m = parse_str(
        "SIP/2.0 180 Ringing\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\nFrom: <sip:a@b>;tag=1\r\n\
         To: <sip:c@d>;tag=2\r\nCall-ID: x\r\nCSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n",
    )
    .unwrap();
    let Message::Response(r) = m else {
        panic!("not a response")
    };
    assert_eq!(r.status, 180);
    assert_eq!(&*r.reason, "Ringing");
    assert!(r.body.is_empty());
    for bad in [
        "SIP/2.0 99 x",
        "SIP/2.0 700 x",
        "SIP/2.0 1000 x",
        "SIP/2.0 20 x",
        "SIP/2.0 abc x",
        "SIP/2.0",
    ] {
        let text = format!("{bad}\r\nVia: SIP/2.0/UDP h\r\nFrom: <sip:a@b>\r\nTo: <sip:c@d>\r\nCall-ID: x\r\nCSeq: 1 INVITE\r\n\r\n");
        assert!(parse_str(&text).is_err(), "{bad}");
    }
}

#[test]
fn folding_compact_forms_and_leading_crlf() {
    let r = request(
        "\r\n\r\nOPTIONS sip:a@b SIP/2.0\r\nv: SIP/2.0/UDP h\r\n ;branch=z9hG4bK1\r\nf: <sip:a@b>\r\n\t;tag=1\r\n\
         t: <sip:c@d>\r\ni: x\r\nCSeq: 1\r\n  OPTIONS\r\nSubject :\r\nl: 0\r\n\r\n",
    );
    assert_eq!(r.headers.top_via().unwrap().branch(), Some("z9hG4bK1"));
    assert_eq!(
        r.headers.get(&HeaderName::Via).map(|v| &**v),
        Some("SIP/2.0/UDP h ;branch=z9hG4bK1")
    );
    assert_eq!(r.headers.from_addr().unwrap().tag(), Some("1"));
    assert_eq!(r.headers.cseq().unwrap().seq, 1);
    assert_eq!(r.headers.get(&HeaderName::Subject).map(|v| &**v), Some(""));
}

#[test]
fn missing_content_length_takes_the_rest() {
    let r = request("MESSAGE sip:a@b SIP/2.0\r\nVia: SIP/2.0/UDP h\r\nFrom: <sip:a@b>;tag=1\r\nTo: <sip:c@d>\r\nCall-ID: x\r\nCSeq: 1 MESSAGE\r\n\r\nhello\r\n");
    assert_eq!(&r.body[..], b"hello\r\n");
}

#[test]
fn rejects_framing_errors() {
    let base = "OPTIONS sip:a@b SIP/2.0\r\nVia: SIP/2.0/UDP h\r\nFrom: <sip:a@b>;tag=1\r\nTo: <sip:c@d>\r\nCall-ID: x\r\nCSeq: 1 OPTIONS\r\n";
    let cases = [
        (format!("{base}Content-Length: 0\r\n"), ParseErrorKind::Incomplete),
        (format!("{base}Content-Length: 5\r\n\r\nabc"), ParseErrorKind::ContentLength),
        (format!("{base}X: a\rb\r\n\r\n"), ParseErrorKind::Encoding),
        (format!("{base}X: a\nb\r\n\r\n"), ParseErrorKind::Encoding),
        (format!("{base}X: a\0b\r\n\r\n"), ParseErrorKind::Encoding),
        (String::new(), ParseErrorKind::Incomplete),
        (format!("{base}Max-Forwards: 256\r\n\r\n"), ParseErrorKind::Header(HeaderName::MaxForwards)),
        (format!("{base}Expires: 4294967296\r\n\r\n"), ParseErrorKind::Header(HeaderName::Expires)),
        (format!("{base}Contact: <sip:a@b>;expires=4294967296\r\n\r\n"), ParseErrorKind::Header(HeaderName::Contact)),
        (format!("{base}Date: Sat, 13 Nov 2010 23:29:00 GMT\r\nDate: Sat, 13 Nov 2010 23:29:00 GMT\r\n\r\n"), ParseErrorKind::DuplicateHeader(HeaderName::Date)),
        (format!("{base}no colon\r\n\r\n"), ParseErrorKind::Header(HeaderName::Other(ByteStr::from("no")))),
        (format!("{base}: empty name\r\n\r\n"), ParseErrorKind::Header(HeaderName::Other(ByteStr::from("")))),
        ("OPTIONS sip:a@b SIP/2.0\r\n continued\r\n\r\n".to_owned(), ParseErrorKind::StartLine),
    ];
    for (text, kind) in cases {
        assert_eq!(parse_str(&text).unwrap_err().kind, kind, "{text:?}");
    }
    let mut bad_utf8 = format!("{base}X: ").into_bytes();
    bad_utf8.extend_from_slice(b"\xff\r\n\r\n");
    assert_eq!(
        parse(Bytes::from(bad_utf8)).unwrap_err().kind,
        ParseErrorKind::Encoding
    );
    let ok = format!("{base}Date: Sat, 13 Nov 2010 23:29:00 GMT\r\n\r\n");
    assert!(parse_str(&ok).is_ok());
}

#[test]
fn prints_with_matching_content_length() {
    let mut r = request(INVITE);
    r.body = Bytes::from_static(b"v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\n");
    let wire = r.to_bytes();
    let text = std::str::from_utf8(&wire).unwrap();
    assert!(text.starts_with("INVITE sip:bob@biloxi.example.com SIP/2.0\r\nVia: "));
    assert!(text.contains("\r\nContent-Type: application/sdp\r\nContent-Length: 31\r\n\r\nv=0"));
    assert_eq!(text.matches("Content-Length").count(), 1);
    let Message::Request(again) = parse(wire).unwrap() else {
        panic!("not a request")
    };
    assert_eq!(again.body, r.body);
    assert_eq!(
        again.headers.get(&HeaderName::ContentLength).map(|v| &**v),
        Some("31")
    );

    // Appended when absent; compact names print in long form.
    let r = request("OPTIONS sip:a@b SIP/2.0\r\nv: SIP/2.0/UDP h\r\nf: <sip:a@b>;tag=1\r\nt: <sip:c@d>\r\ni: x\r\nCSeq: 1 OPTIONS\r\n\r\n");
    let text = String::from_utf8(r.to_bytes().to_vec()).unwrap();
    assert_eq!(
        text,
        "OPTIONS sip:a@b SIP/2.0\r\nVia: SIP/2.0/UDP h\r\nFrom: <sip:a@b>;tag=1\r\nTo: <sip:c@d>\r\nCall-ID: x\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n"
    );
}

#[test]
fn printing_never_injects_lines() {
    let mut r = request(INVITE);
    r.headers
        .push(HeaderName::Subject, "evil\r\nVia: SIP/2.0/UDP attacker");
    let text = String::from_utf8(r.to_bytes().to_vec()).unwrap();
    assert!(text.contains("Subject: evil  Via: SIP/2.0/UDP attacker\r\n"));
    assert_eq!(
        parse(r.to_bytes()).unwrap().headers().vias().unwrap().len(),
        1
    );
}

#[test]
fn response_for_request() {
    let mut req = request(INVITE);
    req.headers.push(
        HeaderName::Via,
        "SIP/2.0/UDP proxy.example.com;branch=z9hG4bK2",
    );
    let resp = Response::for_request(&req, 486);
    assert_eq!(&*resp.reason, "Busy Here");
    let names: Vec<&str> = resp.headers.iter().map(|h| h.name.as_str()).collect();
    assert_eq!(names, ["Via", "To", "From", "Call-ID", "CSeq", "Via"]);
    let text = String::from_utf8(resp.to_bytes().to_vec()).unwrap();
    assert!(text.starts_with("SIP/2.0 486 Busy Here\r\nVia: SIP/2.0/UDP pc33"));
    assert!(text.ends_with("Content-Length: 0\r\n\r\n"));
    let Message::Response(again) = parse(resp.to_bytes()).unwrap() else {
        panic!("not a response")
    };
    assert_eq!(again.status, 486);
    assert_eq!(again.headers.vias().unwrap().len(), 2);
}

#[test]
fn default_reasons() {
    assert_eq!(default_reason(200), "OK");
    assert_eq!(default_reason(404), "Not Found");
    assert_eq!(default_reason(505), "Version Not Supported");
    assert_eq!(default_reason(299), "Success");
    assert_eq!(default_reason(699), "Global Failure");
    assert_eq!(default_reason(42), "Unknown");
}

#[test]
fn error_responses() {
    let raw = "INVITE sip:a@b SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\nVia: SIP/2.0/UDP p\r\nFrom: <sip:a@b>;tag=1\r\n\
               To: <sip:c@d>\r\nCall-ID: x\r\nCSeq: 99999999999 INVITE\r\n\r\n";
    let err = parse_str(raw).unwrap_err();
    let resp = error_response(raw.as_bytes(), &err).unwrap();
    let text = String::from_utf8(resp.to_vec()).unwrap();
    assert!(
        text.starts_with("SIP/2.0 400 invalid CSeq header"),
        "{text}"
    );
    assert!(text.contains("Via: SIP/2.0/UDP h;branch=z9hG4bK1\r\nVia: SIP/2.0/UDP p\r\n"));
    assert!(text.contains("To: <sip:c@d>;tag="));
    assert!(text.contains("CSeq: 99999999999 INVITE\r\n"));
    // Stable tag for retransmissions.
    assert_eq!(error_response(raw.as_bytes(), &err).unwrap(), resp);

    // A To tag present is kept; the reason is one printable line.
    let raw = "OPTIONS sip:a@b SIP/2.0\r\nVia: SIP/2.0/UDP h\r\nTo: <sip:c@d>;tag=9\r\nCSeq: 1 OPTIONS\r\n\r\n";
    let err = ParseError::new(ParseErrorKind::StartLine, "bad\r\nthing\u{7}  here");
    let text = String::from_utf8(error_response(raw.as_bytes(), &err).unwrap().to_vec()).unwrap();
    assert!(text.starts_with("SIP/2.0 400 bad thing here\r\n"), "{text}");
    assert!(text.contains("To: <sip:c@d>;tag=9\r\n"));
    assert_eq!(text.matches("tag=").count(), 1);

    // Version errors are 505.
    let err = ParseError::new(ParseErrorKind::Version, "SIP version 7.0 not supported");
    let text = String::from_utf8(error_response(raw.as_bytes(), &err).unwrap().to_vec()).unwrap();
    assert!(text.starts_with("SIP/2.0 505 "));

    // Responses, ACKs, and requests without Via or CSeq get nothing.
    let none = [
        "SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP h\r\nCSeq: 1 INVITE\r\n\r\n",
        "ACK sip:a@b SIP/2.0\r\nVia: SIP/2.0/UDP h\r\nCSeq: 1 ACK\r\n\r\n",
        "OPTIONS sip:a@b SIP/2.0\r\nCSeq: 1 OPTIONS\r\n\r\n",
        "OPTIONS sip:a@b SIP/2.0\r\nVia: SIP/2.0/UDP h\r\n\r\n",
        "",
        "garbage",
    ];
    for raw in none {
        assert_eq!(error_response(raw.as_bytes(), &err), None, "{raw:?}");
    }
}

#[test]
fn method_tokens() {
    assert_eq!(Method::from_token("INVITE"), Method::Invite);
    assert_eq!(
        Method::from_token("invite"),
        Method::Other(ByteStr::from("invite"))
    );
    assert_eq!(Method::Publish.to_string(), "PUBLISH");
}
