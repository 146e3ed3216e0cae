//! Property tests: messages built from random typed values print and parse back
//! to equal messages and equal typed values; arbitrary and mutated bytes never
//! panic, and whatever parses reprints to the same message.
#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

use bytes::Bytes;
use hotline_sip::message::{
    error_response, parse, ByteStr, CSeq, ContactValue, HeaderName, Host, Message, Method,
    NameAddr, Params, Request, Response, Uri, Via,
};
use proptest::prelude::*;

const TOKEN: &str = "[A-Za-z0-9\\-.!%*_+`'~]{1,10}";

fn token() -> impl Strategy<Value = String> {
    TOKEN
}

fn bs(s: &str) -> ByteStr {
    ByteStr::from(s)
}

fn method() -> impl Strategy<Value = Method> {
    prop_oneof![
        Just(Method::Invite),
        Just(Method::Ack),
        Just(Method::Bye),
        Just(Method::Cancel),
        Just(Method::Register),
        Just(Method::Options),
        Just(Method::Message),
        token().prop_map(|t| Method::from_token(&t)),
    ]
}

fn host() -> impl Strategy<Value = Host> {
    prop_oneof![
        "[a-zA-Z][a-zA-Z0-9-]{0,8}(\\.[a-zA-Z][a-zA-Z0-9-]{0,8}){0,3}"
            .prop_map(|d| Host::Domain(bs(&d))),
        any::<[u8; 4]>().prop_map(|a| Host::Ipv4(a.into())),
        any::<[u16; 8]>().prop_map(|a| Host::Ipv6(a.into())),
    ]
}

/// A sip/sips URI string; `headers` allows a `?h=v` part.
fn sip_uri(headers: bool) -> impl Strategy<Value = String> {
    let user = "([a-zA-Z0-9\\-_.!~*'()&=+$,;?/]|%[0-9A-Fa-f]{2}){1,10}";
    let password = "([a-zA-Z0-9\\-_.!~*'()&=+$,]|%[0-9a-f]{2}){0,6}";
    let param = "([a-zA-Z0-9\\-_.!~*'()\\[\\]/:&+$]|%[0-9a-f]{2}){1,8}";
    (
        prop_oneof![Just("sip"), Just("sips"), Just("SIP")],
        proptest::option::of((user, proptest::option::of(password))),
        host(),
        proptest::option::of(any::<u16>()),
        proptest::collection::vec((param, proptest::option::of(param)), 0..3),
        proptest::option::weighted(
            0.3,
            "[a-zA-Z]{1,5}=([a-z0-9?:+$/]|%3[cC]){0,6}(&[a-z]{1,4}=[a-z0-9]{0,3}){0,2}",
        ),
    )
        .prop_map(move |(scheme, userinfo, host, port, params, hdrs)| {
            let mut s = format!("{scheme}:");
            if let Some((user, password)) = userinfo {
                s.push_str(&user);
                if let Some(p) = password {
                    s.push(':');
                    s.push_str(&p);
                }
                s.push('@');
            }
            s.push_str(&host.to_string());
            if let Some(port) = port {
                s.push_str(&format!(":{port}"));
            }
            for (name, value) in params {
                s.push(';');
                s.push_str(&name);
                if let Some(v) = value {
                    s.push('=');
                    s.push_str(&v);
                }
            }
            if let Some(h) = hdrs.filter(|_| headers) {
                s.push('?');
                s.push_str(&h);
            }
            s
        })
}

fn any_uri(headers: bool) -> impl Strategy<Value = Uri> {
    prop_oneof![
        4 => sip_uri(headers),
        1 => "tel:\\+[0-9]{1,12}(;phone-context=[a-z.]{1,10})?",
        1 => "[a-zA-Z][a-zA-Z0-9+.\\-]{0,8}:[a-zA-Z0-9/:@&=+$,.!~*'()_\\-]{1,12}",
    ]
    .prop_map(|s| Uri::parse(bs(&s)).unwrap_or_else(|e| panic!("{s}: {e}")))
}

/// Text without CR, LF or other controls that a header value cannot carry raw.
fn text(max: usize) -> impl Strategy<Value = String> {
    proptest::string::string_regex(&format!("[^\\x00-\\x08\\x0a-\\x1f\\x7f]{{0,{max}}}")).unwrap()
}

/// A quoted-string parameter value with escapes.
fn quoted() -> impl Strategy<Value = String> {
    "[^\\r\\n]{0,8}".prop_map(|s| {
        let mut q = String::from("\"");
        for c in s.chars() {
            if c == '"' || c == '\\' || ((c as u32) < 0x20 && c != '\t') || c as u32 == 0x7f {
                q.push('\\');
            }
            q.push(c);
        }
        q.push('"');
        q
    })
}

fn params() -> impl Strategy<Value = Params> {
    let value = prop_oneof![
        token(),
        quoted(),
        "[0-9a-f:]{1,10}",
        "\\[[0-9a-f:]{2,10}\\]",
    ];
    proptest::collection::vec((token(), proptest::option::of(value)), 0..3).prop_map(|v| {
        Params(
            v.into_iter()
                .map(|(n, v)| (bs(&n), v.map(|v| bs(&v))))
                .collect(),
        )
    })
}

fn name_addr() -> impl Strategy<Value = NameAddr> {
    (
        proptest::option::of("[^\\r\\n]{0,12}"),
        any_uri(true),
        params(),
    )
        .prop_map(|(display, uri, params)| NameAddr {
            display: display.map(|d| bs(&d)),
            uri,
            params,
        })
}

fn via() -> impl Strategy<Value = Via> {
    (
        prop_oneof![
            Just("UDP".to_owned()),
            Just("TCP".to_owned()),
            Just("TLS".to_owned()),
            "[A-Z0-9\\-.!%*_+`'~]{1,6}"
        ],
        host(),
        proptest::option::of(any::<u16>()),
        "z9hG4bK[a-zA-Z0-9]{1,12}",
        any::<bool>(),
        params(),
    )
        .prop_map(|(transport, host, port, branch, rport, mut params)| {
            params.0.insert(0, (bs("branch"), Some(bs(&branch))));
            if rport {
                params.0.push((bs("rport"), None));
            }
            Via {
                transport: bs(&transport),
                host,
                port,
                params,
            }
        })
}

fn call_id() -> impl Strategy<Value = String> {
    "[a-zA-Z0-9\\-.!%*_+`'~()<>:\\\\\"/\\[\\]?{}]{1,16}(@[a-zA-Z0-9.\\-]{1,10})?"
}

fn contacts() -> impl Strategy<Value = Vec<ContactValue>> {
    prop_oneof![
        1 => Just(vec![ContactValue::Star]),
        5 => proptest::collection::vec(
            (name_addr(), proptest::option::of(any::<u32>())).prop_map(|(mut a, expires)| {
                if let Some(e) = expires {
                    a.params.0.push((bs("expires"), Some(bs(&e.to_string()))));
                }
                ContactValue::Addr(a)
            }),
            1..3,
        ),
    ]
}

/// The typed content of a generated message.
#[derive(Debug, Clone)]
struct Typed {
    vias: Vec<Vec<Via>>,
    from: NameAddr,
    to: NameAddr,
    call_id: String,
    cseq: CSeq,
    max_forwards: Option<u8>,
    expires: Option<u32>,
    contacts: Vec<Vec<ContactValue>>,
    /// Unknown headers: (name, value, position among the others).
    extra: Vec<(String, String, usize)>,
    body: Vec<u8>,
}

fn typed(method: Method) -> impl Strategy<Value = Typed> {
    (
        proptest::collection::vec(proptest::collection::vec(via(), 1..3), 1..3),
        name_addr(),
        name_addr(),
        call_id(),
        0u32..(1 << 31),
        proptest::option::of(any::<u8>()),
        proptest::option::of(any::<u32>()),
        proptest::collection::vec(contacts(), 0..2),
        proptest::collection::vec(("X-[A-Za-z0-9\\-]{1,8}", text(30), 0usize..12), 0..4),
        proptest::collection::vec(any::<u8>(), 0..120),
    )
        .prop_map(
            move |(vias, from, to, call_id, seq, max_forwards, expires, contacts, extra, body)| {
                Typed {
                    vias,
                    from,
                    to,
                    call_id,
                    cseq: CSeq {
                        seq,
                        method: method.clone(),
                    },
                    max_forwards,
                    expires,
                    contacts,
                    extra: extra
                        .into_iter()
                        .map(|(n, v, p)| (n, v.trim_matches([' ', '\t']).to_owned(), p))
                        .collect(),
                    body,
                }
            },
        )
}

impl Typed {
    fn headers(&self) -> hotline_sip::message::Headers {
        let mut lines: Vec<(HeaderName, String)> = Vec::new();
        for line in &self.vias {
            let values: Vec<String> = line.iter().map(ToString::to_string).collect();
            lines.push((HeaderName::Via, values.join(", ")));
        }
        lines.push((HeaderName::From, self.from.to_string()));
        lines.push((HeaderName::To, self.to.to_string()));
        lines.push((HeaderName::CallId, self.call_id.clone()));
        lines.push((HeaderName::CSeq, self.cseq.to_string()));
        if let Some(mf) = self.max_forwards {
            lines.push((HeaderName::MaxForwards, mf.to_string()));
        }
        if let Some(e) = self.expires {
            lines.push((HeaderName::Expires, e.to_string()));
        }
        for c in &self.contacts {
            let values: Vec<String> = c.iter().map(ToString::to_string).collect();
            lines.push((HeaderName::Contact, values.join(",")));
        }
        for (name, value, pos) in &self.extra {
            // After the Vias, so that the top Via stays on top.
            let at = (*pos).clamp(self.vias.len(), lines.len());
            lines.insert(at, (HeaderName::from_wire(name), value.clone()));
        }
        lines.push((HeaderName::ContentLength, self.body.len().to_string()));
        let mut headers = hotline_sip::message::Headers::new();
        for (name, value) in lines {
            headers.push(name, value);
        }
        headers
    }

    fn check(&self, m: &Message) {
        let h = m.headers();
        let vias: Vec<Via> = self.vias.iter().flatten().cloned().collect();
        assert_eq!(h.vias().unwrap(), vias);
        assert_eq!(h.top_via().unwrap(), vias[0]);
        assert_eq!(h.from_addr().unwrap(), self.from);
        assert_eq!(h.to_addr().unwrap(), self.to);
        assert_eq!(h.call_id().unwrap().as_str(), self.call_id);
        assert_eq!(h.cseq().unwrap(), self.cseq);
        assert_eq!(h.max_forwards().unwrap(), self.max_forwards.map(u32::from));
        assert_eq!(h.expires().unwrap(), self.expires);
        let contacts: Vec<ContactValue> = self.contacts.iter().flatten().cloned().collect();
        assert_eq!(h.contacts().unwrap(), contacts);
        for (name, value, _) in &self.extra {
            assert!(h
                .get_all(&HeaderName::from_wire(name))
                .any(|v| v.as_str() == value));
        }
    }
}

fn request() -> impl Strategy<Value = (Request, Typed)> {
    (method(), any_uri(false).prop_map(|u| u.to_string())).prop_flat_map(|(method, uri)| {
        let uri = Uri::parse(bs(&uri)).unwrap();
        typed(method.clone()).prop_map(move |t| {
            let req = Request {
                method: method.clone(),
                uri: uri.clone(),
                headers: t.headers(),
                body: Bytes::from(t.body.clone()),
            };
            (req, t)
        })
    })
}

fn response() -> impl Strategy<Value = (Response, Typed)> {
    (100u16..700, text(20), method()).prop_flat_map(|(status, reason, method)| {
        typed(method).prop_map(move |t| {
            let resp = Response {
                status,
                reason: bs(&reason),
                headers: t.headers(),
                body: Bytes::from(t.body.clone()),
            };
            (resp, t)
        })
    })
}

/// Parse, and if it parses, print and reparse to the same message (with the
/// Content-Length that printing writes); otherwise build the error answer.
fn parse_reprint(bytes: Bytes) {
    match parse(bytes.clone()) {
        Ok(m) => {
            let again = parse(m.to_bytes()).unwrap_or_else(|e| panic!("reprint of {m:?}: {e}"));
            let mut expected = m.clone();
            let len = match &m {
                Message::Request(r) => r.body.len(),
                Message::Response(r) => r.body.len(),
            };
            expected
                .headers_mut()
                .set(HeaderName::ContentLength, len.to_string());
            assert_eq!(again, expected);
        }
        Err(e) => {
            if let Some(answer) = error_response(&bytes, &e) {
                assert!(answer.starts_with(b"SIP/2.0 "));
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]

    #[test]
    fn requests_print_and_parse_back((req, typed) in request()) {
        let wire = req.to_bytes();
        let parsed = parse(wire.clone()).unwrap_or_else(|e| panic!("{e}\n{}", String::from_utf8_lossy(&wire)));
        prop_assert_eq!(&parsed, &Message::Request(req));
        typed.check(&parsed);
        // Printing what was parsed gives the same bytes and the same values.
        prop_assert_eq!(parsed.to_bytes(), wire);
        typed.check(&parse(parsed.to_bytes()).unwrap());
    }

    #[test]
    fn responses_print_and_parse_back((resp, typed) in response()) {
        let wire = resp.to_bytes();
        let parsed = parse(wire.clone()).unwrap_or_else(|e| panic!("{e}\n{}", String::from_utf8_lossy(&wire)));
        prop_assert_eq!(&parsed, &Message::Response(resp));
        typed.check(&parsed);
        prop_assert_eq!(parsed.to_bytes(), wire);
    }

    #[test]
    fn typed_values_print_and_parse_back(v in via(), a in name_addr(), c in contacts()) {
        prop_assert_eq!(Via::parse(&bs(&v.to_string())).unwrap(), v);
        prop_assert_eq!(NameAddr::parse(&bs(&a.to_string())).unwrap(), a);
        let line: Vec<String> = c.iter().map(ToString::to_string).collect();
        prop_assert_eq!(ContactValue::parse_list(&bs(&line.join(", "))).unwrap(), c);
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
        parse_reprint(Bytes::from(bytes));
    }

    #[test]
    fn mutated_messages_never_panic(
        (req, _) in request(),
        edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>(), 0u8..3), 1..6),
    ) {
        let mut bytes = req.to_bytes().to_vec();
        for (at, byte, op) in edits {
            let i = at.index(bytes.len() + 1);
            match op {
                0 if i < bytes.len() => bytes[i] = byte,
                1 => bytes.insert(i, byte),
                _ if i < bytes.len() => { bytes.remove(i); }
                _ => {}
            }
        }
        parse_reprint(Bytes::from(bytes));
    }
}
