//! The registrar in virtual time: `t0` plus durations, never a sleep. Requests are
//! parsed from text, the way they arrive from a socket; digest responses are
//! computed with the public `digest::response`, as a phone would.

use std::time::{Duration, Instant};

use bytes::Bytes;
use proptest::prelude::*;
use rand::rngs::StdRng;
use rand::SeedableRng;

use super::*;
use crate::digest::tests::{nonce_opaque, Answer};
use crate::digest::Algorithm;
use crate::message::{parse, Message};
use crate::net::Transport;

const DOMAIN: &str = "hotline.test";
const RURI: &str = "sip:hotline.test";

fn s(secs: u64) -> Duration {
    Duration::from_secs(secs)
}

fn config() -> RegistrarConfig {
    RegistrarConfig {
        realm: DOMAIN.into(),
        min_expires: 60,
        max_expires: 3600,
        default_expires: 1800,
        nonce_ttl: s(300),
        max_failures: 3,
        failure_window: s(60),
        lockout: s(300),
        accounts: vec![
            Account {
                user: "1001".into(),
                password: "secret-1001".into(),
            },
            Account {
                user: "1002".into(),
                password: "secret-1002".into(),
            },
        ],
    }
}

fn registrar() -> Registrar {
    Registrar::new(config(), StdRng::seed_from_u64(42))
}

fn udp(last: u8, port: u16) -> Remote {
    Remote {
        transport: Transport::Udp,
        addr: ([10, 0, 0, last], port).into(),
    }
}

fn parse_request(text: &str) -> Request {
    match parse(Bytes::from(text.to_owned())) {
        Ok(Message::Request(r)) => r,
        other => panic!("fixture must parse as a request: {other:?}\n{text}"),
    }
}

fn drain(r: &mut Registrar) -> Vec<RegistrarEvent> {
    std::iter::from_fn(|| r.poll_event()).collect()
}

fn header_values(resp: &Response, name: HeaderName) -> Vec<String> {
    resp.headers
        .get_all(&name)
        .map(|v| v.as_str().to_owned())
        .collect()
}

/// A softphone: remembers its Call-ID, CSeq and the last challenge.
struct Phone {
    user: &'static str,
    password: &'static str,
    aor_user: &'static str,
    algorithm: Algorithm,
    call_id: String,
    cseq: u32,
    source: Remote,
    challenge: Option<(String, String)>,
    nc: u32,
}

impl Phone {
    fn new(user: &'static str, password: &'static str) -> Self {
        Self {
            user,
            password,
            aor_user: user,
            algorithm: Algorithm::Sha256,
            call_id: format!("reg-{user}@10.0.0.9"),
            cseq: 0,
            source: udp(9, 5062),
            challenge: None,
            nc: 0,
        }
    }

    fn with(mut self, algorithm: Algorithm) -> Self {
        self.algorithm = algorithm;
        self
    }

    /// The next REGISTER's text; `extra` holds Contact/Expires lines.
    fn text(&mut self, extra: &str, authorization: Option<&str>) -> String {
        self.cseq += 1;
        let auth = authorization
            .map(|a| format!("Authorization: {a}\r\n"))
            .unwrap_or_default();
        format!(
            "REGISTER {RURI} SIP/2.0\r\n\
             Via: SIP/2.0/UDP 10.0.0.9:5062;branch=z9hG4bK-{user}-{cseq};rport\r\n\
             Max-Forwards: 70\r\n\
             From: <sip:{user}@{DOMAIN}>;tag=f{cseq}\r\n\
             To: <sip:{aor}@{DOMAIN}>\r\n\
             Call-ID: {cid}\r\n\
             CSeq: {cseq} REGISTER\r\n\
             {extra}{auth}Content-Length: 0\r\n\r\n",
            cid = self.call_id,
            cseq = self.cseq,
            user = self.user,
            aor = self.aor_user,
        )
    }

    /// Credentials for the last challenge, with the next nonce-count.
    fn authorization(&mut self) -> Option<String> {
        let (nonce, opaque) = self.challenge.clone()?;
        self.nc += 1;
        Some(
            Answer {
                user: self.user,
                password: self.password,
                realm: DOMAIN,
                algorithm: self.algorithm,
                nonce: &nonce,
                opaque: &opaque,
                nc: self.nc,
                method: "REGISTER",
                uri: RURI,
            }
            .header(),
        )
    }

    /// Remembers the challenge for our algorithm from a 401.
    fn learn(&mut self, resp: &Response) {
        let wanted = format!("algorithm={}", self.algorithm);
        let value = header_values(resp, HeaderName::WwwAuthenticate)
            .into_iter()
            .find(|v| v.contains(&wanted))
            .expect("a challenge for our algorithm");
        self.challenge = Some(nonce_opaque(&value));
        self.nc = 0;
    }

    /// One REGISTER with whatever credentials we have.
    fn send(&mut self, r: &mut Registrar, now: Instant, extra: &str) -> Response {
        let auth = self.authorization();
        let req = parse_request(&self.text(extra, auth.as_deref()));
        r.handle_register(now, self.source, &req)
    }

    /// A full registration as a phone does it: answer 401s (at most twice).
    fn register(&mut self, r: &mut Registrar, now: Instant, extra: &str) -> Response {
        let mut resp = self.send(r, now, extra);
        for _ in 0..2 {
            if resp.status != 401 {
                break;
            }
            self.learn(&resp);
            resp = self.send(r, now, extra);
        }
        resp
    }
}

fn contacts(resp: &Response) -> Vec<String> {
    header_values(resp, HeaderName::Contact)
}

fn registered(user: &str, contact: &str) -> RegistrarEvent {
    RegistrarEvent::Registered {
        user: user.into(),
        contact: contact.into(),
    }
}

fn unregistered(user: &str, contact: &str, reason: UnregisterReason) -> RegistrarEvent {
    RegistrarEvent::Unregistered {
        user: user.into(),
        contact: contact.into(),
        reason,
    }
}

const C1: &str = "sip:1001@10.0.0.9:5062";
const C2: &str = "sip:1001@10.0.0.9:5064;transport=tcp";
const CONTACT1: &str = "Contact: <sip:1001@10.0.0.9:5062>\r\n";

#[test]
fn unauthenticated_register_gets_both_challenges() {
    let t0 = Instant::now();
    let mut r = registrar();
    let mut phone = Phone::new("1001", "secret-1001");
    let resp = phone.send(&mut r, t0, CONTACT1);
    assert_eq!(resp.status, 401);
    let ch = header_values(&resp, HeaderName::WwwAuthenticate);
    assert_eq!(ch.len(), 2, "{ch:?}");
    assert!(ch[0].contains("algorithm=SHA-256"), "SHA-256 first: {ch:?}");
    assert!(ch[1].contains("algorithm=MD5"), "{ch:?}");
    for v in &ch {
        assert!(v.contains("realm=\"hotline.test\""), "{v}");
        assert!(v.contains("qop=\"auth\""), "{v}");
        assert!(v.contains("opaque=\""), "{v}");
        assert!(!v.contains("stale"), "{v}");
    }
    assert_eq!(nonce_opaque(&ch[0]), nonce_opaque(&ch[1]));
    let to = resp.headers.to_addr().expect("To");
    assert!(to.tag().is_some(), "responses carry a To tag");
    assert_eq!(drain(&mut r), vec![], "a first challenge is not a failure");
    assert!(r.bindings(t0).is_empty());
}

#[test]
fn md5_and_sha256_both_register() {
    for alg in [Algorithm::Md5, Algorithm::Sha256] {
        let t0 = Instant::now();
        let mut r = registrar();
        let mut phone = Phone::new("1001", "secret-1001").with(alg);
        let resp = phone.register(&mut r, t0, CONTACT1);
        assert_eq!(resp.status, 200, "{alg}: {resp:?}");
        assert_eq!(contacts(&resp), vec![format!("<{C1}>;expires=1800")]);
        assert_eq!(drain(&mut r), vec![registered("1001", C1)]);
        let views = r.bindings(t0);
        assert_eq!(
            views,
            vec![BindingView {
                user: "1001".into(),
                contact: C1.into(),
                source: udp(9, 5062),
                expires_at: t0 + s(1800),
                call_id: "reg-1001@10.0.0.9".into(),
            }]
        );
        assert_eq!(r.contacts_of(t0, "1001"), views);
        assert!(r.contacts_of(t0, "1002").is_empty());
    }
}

/// Status, reason, header names in order, and challenge values with the nonce
/// blanked: what an attacker can compare between two 401s.
fn shape(resp: &Response) -> (u16, String, Vec<String>, Vec<String>) {
    let names = resp
        .headers
        .iter()
        .map(|h| h.name.as_str().to_owned())
        .collect();
    let challenges = header_values(resp, HeaderName::WwwAuthenticate)
        .into_iter()
        .map(|v| {
            let (nonce, _) = nonce_opaque(&v);
            v.replace(&nonce, "NONCE")
        })
        .collect();
    (resp.status, resp.reason.to_string(), names, challenges)
}

#[test]
fn wrong_password_and_unknown_user_look_identical() {
    let t0 = Instant::now();
    let mut r = registrar();
    let mut wrong = Phone::new("1001", "guess");
    let mut unknown = Phone::new("4711", "guess");
    unknown.call_id = wrong.call_id.clone();
    let first_w = wrong.send(&mut r, t0, CONTACT1);
    let first_u = unknown.send(&mut r, t0, CONTACT1);
    wrong.learn(&first_w);
    unknown.learn(&first_u);
    let w = wrong.send(&mut r, t0, CONTACT1);
    let u = unknown.send(&mut r, t0, CONTACT1);
    assert_eq!(w.status, 401);
    assert_eq!(shape(&w), shape(&u));
    assert_eq!(shape(&w), shape(&first_w), "same as a first challenge, too");
    assert_eq!(
        drain(&mut r),
        vec![
            RegistrarEvent::AuthFailed {
                source: udp(9, 0).addr.ip(),
                user: "1001".into()
            },
            RegistrarEvent::AuthFailed {
                source: udp(9, 0).addr.ip(),
                user: "4711".into()
            },
        ]
    );
    assert!(r.bindings(t0).is_empty());
}

#[test]
fn replayed_request_is_rejected() {
    let t0 = Instant::now();
    let mut r = registrar();
    let mut phone = Phone::new("1001", "secret-1001");
    let first = phone.send(&mut r, t0, CONTACT1);
    phone.learn(&first);
    let auth = phone.authorization().expect("challenged");
    let captured = parse_request(&phone.text(CONTACT1, Some(&auth)));
    assert_eq!(r.handle_register(t0, phone.source, &captured).status, 200);
    drain(&mut r);
    // The same bytes again, from anywhere: the nonce-count does not increase.
    let replay = r.handle_register(t0 + s(1), udp(66, 5060), &captured);
    assert_eq!(replay.status, 401);
    // The digest itself was right: stale, so a confused phone need not re-prompt.
    assert!(header_values(&replay, HeaderName::WwwAuthenticate)
        .iter()
        .all(|v| v.ends_with("stale=true")));
    assert_eq!(drain(&mut r), vec![], "a replay is not a password guess");
    assert_eq!(r.bindings(t0)[0].expires_at, t0 + s(1800), "not refreshed");
}

#[test]
fn expired_nonce_gets_stale_challenge_then_succeeds() {
    let t0 = Instant::now();
    let mut r = registrar();
    let mut phone = Phone::new("1001", "secret-1001");
    assert_eq!(phone.register(&mut r, t0, CONTACT1).status, 200);
    // Refresh within the nonce's life: reuses it with nc=2, no new challenge.
    assert_eq!(phone.send(&mut r, t0 + s(299), CONTACT1).status, 200);
    let stale = phone.send(&mut r, t0 + s(300), CONTACT1);
    assert_eq!(stale.status, 401);
    let ch = header_values(&stale, HeaderName::WwwAuthenticate);
    assert_eq!(ch.len(), 2);
    assert!(ch.iter().all(|v| v.ends_with("stale=true")), "{ch:?}");
    phone.learn(&stale);
    assert_eq!(phone.send(&mut r, t0 + s(300), CONTACT1).status, 200);
    assert_eq!(r.bindings(t0 + s(300))[0].expires_at, t0 + s(300 + 1800));
    assert_eq!(drain(&mut r), vec![registered("1001", C1)]);
}

#[test]
fn too_brief_interval_gets_423_with_min_expires() {
    let t0 = Instant::now();
    let mut r = registrar();
    let mut phone = Phone::new("1001", "secret-1001");
    for extra in [
        format!("{CONTACT1}Expires: 59\r\n"),
        "Contact: <sip:1001@10.0.0.9:5062>;expires=1\r\nExpires: 600\r\n".to_owned(),
        // One good contact does not save the request: all or nothing.
        "Contact: <sip:1001@10.0.0.9:5062>, <sip:1001@10.0.0.9:5064>;expires=30\r\n".to_owned(),
    ] {
        let resp = phone.register(&mut r, t0, &extra);
        assert_eq!(resp.status, 423, "{extra}");
        assert_eq!(header_values(&resp, HeaderName::MinExpires), vec!["60"]);
        assert!(r.bindings(t0).is_empty());
    }
    // Exactly the minimum is fine.
    let ok = phone.register(&mut r, t0, &format!("{CONTACT1}Expires: 60\r\n"));
    assert_eq!(contacts(&ok), vec![format!("<{C1}>;expires=60")]);
}

#[test]
fn long_intervals_are_clamped_and_missing_ones_defaulted() {
    let t0 = Instant::now();
    let mut r = registrar();
    let mut phone = Phone::new("1001", "secret-1001");
    let resp = phone.register(&mut r, t0, &format!("{CONTACT1}Expires: 4294967295\r\n"));
    assert_eq!(contacts(&resp), vec![format!("<{C1}>;expires=3600")]);
    assert_eq!(r.bindings(t0)[0].expires_at, t0 + s(3600));
    // The contact parameter wins over the header.
    let resp = phone.register(
        &mut r,
        t0,
        "Contact: <sip:1001@10.0.0.9:5062>;expires=120\r\nExpires: 3000\r\n",
    );
    assert_eq!(contacts(&resp), vec![format!("<{C1}>;expires=120")]);
    // Neither: the default.
    let resp = phone.register(&mut r, t0, CONTACT1);
    assert_eq!(contacts(&resp), vec![format!("<{C1}>;expires=1800")]);
}

#[test]
fn refresh_moves_expiry_silently() {
    let t0 = Instant::now();
    let mut r = registrar();
    let mut phone = Phone::new("1001", "secret-1001");
    phone.register(&mut r, t0, &format!("{CONTACT1}Expires: 600\r\n"));
    assert_eq!(drain(&mut r), vec![registered("1001", C1)]);
    assert_eq!(
        r.poll_timeout(),
        Some(t0 + s(300)),
        "nonce expiry comes first"
    );
    // The phone moved behind a new NAT mapping.
    phone.source = udp(9, 40000);
    let resp = phone.register(&mut r, t0 + s(250), &format!("{CONTACT1}Expires: 600\r\n"));
    assert_eq!(contacts(&resp), vec![format!("<{C1}>;expires=600")]);
    assert_eq!(drain(&mut r), vec![], "a refresh is not a new registration");
    let views = r.bindings(t0 + s(250));
    assert_eq!(views.len(), 1);
    assert_eq!(views[0].expires_at, t0 + s(850));
    assert_eq!(views[0].source, udp(9, 40000));
    // Nothing expires at the old deadline.
    r.handle_timeout(t0 + s(600));
    assert!(!drain(&mut r)
        .iter()
        .any(|e| matches!(e, RegistrarEvent::Unregistered { .. })));
    assert_eq!(r.bindings(t0 + s(600)).len(), 1);
}

#[test]
fn several_contacts_per_agent() {
    let t0 = Instant::now();
    let mut r = registrar();
    let mut phone = Phone::new("1001", "secret-1001");
    let resp = phone.register(
        &mut r,
        t0,
        "Contact: <sip:1001@10.0.0.9:5062>\r\nContact: <sip:1001@10.0.0.9:5064;transport=tcp>;expires=600\r\nExpires: 900\r\n",
    );
    assert_eq!(resp.status, 200);
    assert_eq!(
        contacts(&resp),
        vec![format!("<{C1}>;expires=900"), format!("<{C2}>;expires=600")]
    );
    assert_eq!(
        drain(&mut r),
        vec![registered("1001", C1), registered("1001", C2)]
    );
    // A second softphone of the same agent, separate Call-ID: the 200 lists all.
    let mut other = Phone::new("1001", "secret-1001");
    other.call_id = "softphone-2".into();
    let resp = other.register(
        &mut r,
        t0 + s(10),
        "Contact: \"Desk\" <sip:1001@10.0.0.20>\r\n",
    );
    assert_eq!(
        contacts(&resp),
        vec![
            format!("<{C1}>;expires=890"),
            format!("<{C2}>;expires=590"),
            "<sip:1001@10.0.0.20>;expires=1800".to_owned(),
        ]
    );
    assert_eq!(r.contacts_of(t0 + s(10), "1001").len(), 3);
}

#[test]
fn expires_zero_removes_one_binding() {
    let t0 = Instant::now();
    let mut r = registrar();
    let mut phone = Phone::new("1001", "secret-1001");
    phone.register(
        &mut r,
        t0,
        "Contact: <sip:1001@10.0.0.9:5062>, <sip:1001@10.0.0.9:5064;transport=tcp>\r\n",
    );
    drain(&mut r);
    let resp = phone.register(
        &mut r,
        t0 + s(5),
        "Contact: <sip:1001@10.0.0.9:5062>;expires=0\r\n",
    );
    assert_eq!(resp.status, 200);
    assert_eq!(contacts(&resp), vec![format!("<{C2}>;expires=1795")]);
    assert_eq!(
        drain(&mut r),
        vec![unregistered("1001", C1, UnregisterReason::Removed)]
    );
    // Removing what is not there is fine and silent.
    let resp = phone.register(&mut r, t0 + s(6), &format!("{CONTACT1}Expires: 0\r\n"));
    assert_eq!(resp.status, 200);
    assert_eq!(drain(&mut r), vec![]);
}

#[test]
fn star_with_expires_zero_removes_all() {
    let t0 = Instant::now();
    let mut r = registrar();
    let mut phone = Phone::new("1001", "secret-1001");
    phone.register(
        &mut r,
        t0,
        "Contact: <sip:1001@10.0.0.9:5062>, <sip:1001@10.0.0.9:5064;transport=tcp>\r\n",
    );
    let mut other_user = Phone::new("1002", "secret-1002");
    other_user.register(&mut r, t0, "Contact: <sip:1002@10.0.0.7>\r\n");
    drain(&mut r);
    let resp = phone.register(&mut r, t0 + s(1), "Contact: *\r\nExpires: 0\r\n");
    assert_eq!(resp.status, 200);
    assert!(contacts(&resp).is_empty());
    assert_eq!(
        drain(&mut r),
        vec![
            unregistered("1001", C1, UnregisterReason::Removed),
            unregistered("1001", C2, UnregisterReason::Removed),
        ]
    );
    assert_eq!(r.bindings(t0 + s(1)).len(), 1, "only 1001's bindings went");
}

#[test]
fn star_misuse_is_a_bad_request() {
    let t0 = Instant::now();
    let mut r = registrar();
    let mut phone = Phone::new("1001", "secret-1001");
    phone.register(&mut r, t0, CONTACT1);
    drain(&mut r);
    for extra in [
        "Contact: *\r\n",
        "Contact: *\r\nExpires: 60\r\n",
        "Contact: *\r\nContact: <sip:1001@10.0.0.9:5062>\r\nExpires: 0\r\n",
    ] {
        let resp = phone.register(&mut r, t0, extra);
        assert_eq!(resp.status, 400, "{extra}");
        assert_eq!(resp.reason.as_str(), "Invalid Wildcard Contact");
    }
    assert_eq!(r.bindings(t0).len(), 1);
    assert_eq!(drain(&mut r), vec![]);
}

#[test]
fn register_without_contact_is_a_query() {
    let t0 = Instant::now();
    let mut r = registrar();
    let mut phone = Phone::new("1001", "secret-1001");
    phone.register(&mut r, t0, CONTACT1);
    drain(&mut r);
    let resp = phone.register(&mut r, t0 + s(100), "");
    assert_eq!(resp.status, 200);
    assert_eq!(contacts(&resp), vec![format!("<{C1}>;expires=1700")]);
    assert_eq!(drain(&mut r), vec![]);
    assert_eq!(r.bindings(t0)[0].expires_at, t0 + s(1800));
}

#[test]
fn binding_expires_at_the_exact_instant() {
    let t0 = Instant::now();
    let mut r = registrar();
    let mut phone = Phone::new("1001", "secret-1001");
    phone.register(&mut r, t0, &format!("{CONTACT1}Expires: 60\r\n"));
    drain(&mut r);
    let at = t0 + s(60);
    assert_eq!(r.poll_timeout(), Some(at));
    r.handle_timeout(at - Duration::from_nanos(1));
    assert_eq!(drain(&mut r), vec![]);
    assert_eq!(r.bindings(at - Duration::from_nanos(1)).len(), 1);
    assert!(
        r.bindings(at).is_empty(),
        "views exclude it before the sweep"
    );
    r.handle_timeout(at);
    assert_eq!(
        drain(&mut r),
        vec![unregistered("1001", C1, UnregisterReason::Expired)]
    );
    // Next: the nonce, at t0+300.
    assert_eq!(r.poll_timeout(), Some(t0 + s(300)));
    r.handle_timeout(t0 + s(300));
    assert_eq!(r.poll_timeout(), None);
}

#[test]
fn expiry_due_before_a_request_is_reported_before_it() {
    let t0 = Instant::now();
    let mut r = registrar();
    let mut phone = Phone::new("1001", "secret-1001");
    phone.register(&mut r, t0, &format!("{CONTACT1}Expires: 60\r\n"));
    drain(&mut r);
    // The driver slept past the deadline; the late refresh re-creates it.
    phone.register(&mut r, t0 + s(61), &format!("{CONTACT1}Expires: 60\r\n"));
    assert_eq!(
        drain(&mut r),
        vec![
            unregistered("1001", C1, UnregisterReason::Expired),
            registered("1001", C1)
        ]
    );
}

#[test]
fn registering_another_users_aor_is_forbidden() {
    let t0 = Instant::now();
    let mut r = registrar();
    let mut phone = Phone::new("1001", "secret-1001");
    phone.aor_user = "1002";
    let resp = phone.register(&mut r, t0, CONTACT1);
    assert_eq!(resp.status, 403);
    assert!(r.bindings(t0).is_empty());
    assert_eq!(drain(&mut r), vec![]);
    // An unknown AOR is answered the same way (no enumeration).
    phone.aor_user = "9999";
    assert_eq!(phone.register(&mut r, t0, CONTACT1).status, 403);
    // Percent-escaped own user is still one's own (RFC 3261 §19.1.4).
    phone.aor_user = "%31001";
    assert_eq!(phone.register(&mut r, t0, CONTACT1).status, 200);
}

#[test]
fn lockout_after_repeated_failures_then_unlocked() {
    let t0 = Instant::now();
    let mut r = registrar();
    let mut attacker = Phone::new("1001", "guess");
    attacker.source = udp(66, 5060);
    let ip = attacker.source.addr.ip();
    let first = attacker.send(&mut r, t0, CONTACT1);
    attacker.learn(&first);
    assert_eq!(attacker.send(&mut r, t0 + s(1), CONTACT1).status, 401);
    assert_eq!(attacker.send(&mut r, t0 + s(2), CONTACT1).status, 401);
    let third = attacker.send(&mut r, t0 + s(3), CONTACT1);
    assert_eq!(third.status, 403);
    let failed = RegistrarEvent::AuthFailed {
        source: ip,
        user: "1001".into(),
    };
    assert_eq!(
        drain(&mut r),
        vec![
            failed.clone(),
            failed.clone(),
            failed,
            RegistrarEvent::LockedOut { source: ip }
        ]
    );
    // Locked: even the right password from that address gets 403, silently.
    let mut same_ip = Phone::new("1001", "secret-1001");
    same_ip.source = udp(66, 5070);
    for at in [s(4), s(100), s(302)] {
        assert_eq!(same_ip.register(&mut r, t0 + at, CONTACT1).status, 403);
    }
    assert_eq!(drain(&mut r), vec![]);
    // Other addresses are unaffected.
    let mut agent = Phone::new("1001", "secret-1001");
    assert_eq!(agent.register(&mut r, t0 + s(5), CONTACT1).status, 200);
    drain(&mut r);
    // The lock-out ends at exactly t0+3+300.
    assert_eq!(same_ip.register(&mut r, t0 + s(303), CONTACT1).status, 200);
}

#[test]
fn challenges_alone_never_lock_out() {
    let t0 = Instant::now();
    let mut r = registrar();
    let mut phone = Phone::new("1001", "secret-1001");
    for i in 0..50 {
        assert_eq!(phone.send(&mut r, t0 + s(i), CONTACT1).status, 401);
    }
    assert_eq!(drain(&mut r), vec![]);
    assert_eq!(phone.register(&mut r, t0 + s(60), CONTACT1).status, 200);
}

#[test]
fn failures_outside_the_window_do_not_add_up() {
    let t0 = Instant::now();
    let mut r = registrar();
    let mut phone = Phone::new("1001", "typo");
    let first = phone.send(&mut r, t0, CONTACT1);
    phone.learn(&first);
    // Two failures per minute, forever: never three within 60 s.
    for minute in 0..10 {
        for second in [0, 10] {
            let at = t0 + s(minute * 60 + second);
            let resp = phone.send(&mut r, at, CONTACT1);
            assert_eq!(resp.status, 401, "minute {minute}");
            if resp.status == 401 {
                phone.learn(&resp);
            }
        }
    }
    assert!(!drain(&mut r)
        .iter()
        .any(|e| matches!(e, RegistrarEvent::LockedOut { .. })));
}

#[test]
fn malformed_authorization_is_400() {
    let t0 = Instant::now();
    let mut r = registrar();
    let mut phone = Phone::new("1001", "secret-1001");
    let first = phone.send(&mut r, t0, CONTACT1);
    phone.learn(&first);
    let good = phone.authorization().expect("challenged");
    let cases = [
        "Digest".to_owned(),
        "Digest realm=\"hotline.test\"".to_owned(),
        "Digest realm=\"hotline.test\", username=\"1001".to_owned(),
        good.replace(", qop=auth", ""),
        good.replace("uri=\"sip:hotline.test\"", "uri=\"sip:elsewhere.test\""),
        good.replace("algorithm=SHA-256", "algorithm=SHA-512-256"),
        good.replace("nc=", "nc=zz"),
        format!("{good}, nc=00000009"),
        "Digest ,,,=,,".to_owned(),
    ];
    for auth in cases {
        let req = parse_request(&phone.text(CONTACT1, Some(&auth)));
        let resp = r.handle_register(t0, phone.source, &req);
        assert_eq!(resp.status, 400, "{auth}");
        assert_ne!(resp.reason.as_str(), "Bad Request", "the phrase says why");
    }
    assert_eq!(drain(&mut r), vec![], "malformed input is not a guess");
    assert!(r.bindings(t0).is_empty());
}

#[test]
fn out_of_order_cseq_changes_nothing() {
    let t0 = Instant::now();
    let mut r = registrar();
    let mut phone = Phone::new("1001", "secret-1001");
    phone.cseq = 10;
    phone.register(&mut r, t0, &format!("{CONTACT1}Expires: 600\r\n"));
    drain(&mut r);
    let stored = phone.cseq;
    // A delayed copy of an older REGISTER (lower CSeq, same Call-ID), validly
    // authenticated with a fresh nonce-count: refused as a whole.
    phone.cseq = stored - 5;
    let resp = phone.send(
        &mut r,
        t0 + s(5),
        "Contact: <sip:1001@10.0.0.9:5062>;expires=0\r\n",
    );
    assert_eq!(resp.status, 500);
    assert_eq!(r.bindings(t0 + s(5)).len(), 1);
    // Equal CSeq: the same request again, also refused.
    phone.cseq = stored - 1;
    assert_eq!(phone.send(&mut r, t0 + s(6), CONTACT1).status, 500);
    assert_eq!(drain(&mut r), vec![]);
    // After a reboot (new Call-ID) a low CSeq is fine (§10.3 step 7).
    phone.call_id = "after-reboot".into();
    phone.cseq = 0;
    let resp = phone.send(&mut r, t0 + s(7), &format!("{CONTACT1}Expires: 120\r\n"));
    assert_eq!(resp.status, 200);
    assert_eq!(r.bindings(t0 + s(7))[0].call_id, "after-reboot");
}

#[test]
fn contact_uri_is_kept_exactly_as_registered() {
    let t0 = Instant::now();
    let mut r = registrar();
    let mut phone = Phone::new("1001", "secret-1001");
    let uri = "sip:1001-0x55d5c9b1c2a0@127.0.0.1:5098;transport=udp";
    let resp = phone.register(
        &mut r,
        t0,
        &format!("Contact: <{uri}>;expires=600;+sip.instance=\"<urn:uuid:1b4f-77>\";q=0.9\r\n"),
    );
    assert_eq!(resp.status, 200);
    assert_eq!(contacts(&resp), vec![format!("<{uri}>;expires=600")]);
    assert_eq!(r.bindings(t0)[0].contact, uri);
    assert_eq!(drain(&mut r), vec![registered("1001", uri)]);
}

#[test]
fn non_sip_contact_is_refused() {
    let t0 = Instant::now();
    let mut r = registrar();
    let mut phone = Phone::new("1001", "secret-1001");
    let resp = phone.register(&mut r, t0, "Contact: <tel:+15551234>\r\n");
    assert_eq!(resp.status, 400);
    assert!(r.bindings(t0).is_empty());
}

#[test]
fn contacts_per_user_are_capped() {
    let t0 = Instant::now();
    let mut r = registrar().with_limits(RegistrarLimits {
        max_contacts_per_user: 2,
        ..RegistrarLimits::default()
    });
    let mut phone = Phone::new("1001", "secret-1001");
    let two = "Contact: <sip:1001@10.0.0.9:1>, <sip:1001@10.0.0.9:2>\r\n";
    assert_eq!(phone.register(&mut r, t0, two).status, 200);
    let resp = phone.register(&mut r, t0, "Contact: <sip:1001@10.0.0.9:3>\r\n");
    assert_eq!(resp.status, 403);
    assert_eq!(r.bindings(t0).len(), 2);
    // Refreshing or replacing within the cap still works.
    assert_eq!(phone.register(&mut r, t0, two).status, 200);
    let swap = "Contact: <sip:1001@10.0.0.9:1>;expires=0, <sip:1001@10.0.0.9:3>\r\n";
    assert_eq!(phone.register(&mut r, t0, swap).status, 200);
    assert_eq!(r.bindings(t0).len(), 2);
}

#[test]
fn authenticate_serves_other_methods() {
    let t0 = Instant::now();
    let mut r = registrar();
    let invite = |auth: Option<&str>| {
        parse_request(&format!(
            "INVITE sip:1002@hotline.test SIP/2.0\r\n\
             Via: SIP/2.0/UDP 10.0.0.9:5062;branch=z9hG4bK-inv\r\n\
             Max-Forwards: 70\r\n\
             From: <sip:1001@hotline.test>;tag=a\r\n\
             To: <sip:1002@hotline.test>\r\n\
             Call-ID: inv-1\r\n\
             CSeq: 1 INVITE\r\n\
             {}Content-Length: 0\r\n\r\n",
            auth.map(|a| format!("Authorization: {a}\r\n"))
                .unwrap_or_default()
        ))
    };
    let src = udp(9, 5062);
    let challenge = r
        .authenticate(t0, src, &invite(None))
        .expect_err("challenged");
    assert_eq!(challenge.status, 401);
    let value = header_values(&challenge, HeaderName::WwwAuthenticate)
        .into_iter()
        .next()
        .expect("challenge");
    let (nonce, opaque) = nonce_opaque(&value);
    let auth = Answer {
        user: "1001",
        password: "secret-1001",
        realm: DOMAIN,
        algorithm: Algorithm::Sha256,
        nonce: &nonce,
        opaque: &opaque,
        nc: 1,
        method: "INVITE",
        uri: "sip:1002@hotline.test",
    }
    .header();
    assert_eq!(
        r.authenticate(t0, src, &invite(Some(&auth))),
        Ok("1001".to_owned())
    );
    // A REGISTER digest does not authorize an INVITE (method is hashed in A2).
    let mut phone = Phone::new("1001", "secret-1001");
    phone.challenge = Some((nonce.clone(), opaque.clone()));
    phone.nc = 1;
    let register_auth = phone.authorization().expect("challenge set");
    let err = r
        .authenticate(t0, src, &invite(Some(&register_auth)))
        .expect_err("wrong uri");
    assert_eq!(err.status, 400);
}

#[test]
fn poll_timeout_covers_lockouts() {
    let t0 = Instant::now();
    let mut r = registrar();
    let mut attacker = Phone::new("1002", "guess");
    let first = attacker.send(&mut r, t0, CONTACT1);
    attacker.learn(&first);
    for i in 1..=3 {
        attacker.send(&mut r, t0 + s(i), CONTACT1);
    }
    // Nonces at t0+300..=302 (the locking attempt got a 403, no nonce), the
    // lock-out until t0+303.
    assert_eq!(r.poll_timeout(), Some(t0 + s(300)));
    r.handle_timeout(t0 + s(300));
    assert_eq!(r.poll_timeout(), Some(t0 + s(301)));
    r.handle_timeout(t0 + s(302));
    assert_eq!(r.authenticator().outstanding_nonces(), 0);
    assert_eq!(r.poll_timeout(), Some(t0 + s(303)));
    r.handle_timeout(t0 + s(303));
    assert_eq!(r.poll_timeout(), None);
}

#[test]
fn config_is_validated_and_normalized() {
    let mut c = config();
    c.min_expires = 600;
    c.max_expires = 60;
    c.accounts.push(Account {
        user: "1001".into(),
        password: "other".into(),
    });
    let errors = c.validate().expect_err("inconsistent");
    assert_eq!(errors.len(), 3, "{errors:?}");
    assert!(config().validate().is_ok());
    let r = Registrar::new(c, StdRng::seed_from_u64(1));
    assert_eq!(r.expiry.max, 600);
    assert_eq!(r.expiry.default, 600);
    assert!(format!("{:?}", config().accounts).contains("<redacted>"));
    assert!(!format!("{:?}", config().accounts).contains("secret"));
}

#[test]
fn percent_decoding() {
    assert_eq!(percent_decode("1001"), "1001");
    assert_eq!(percent_decode("%31%30%30%31"), "1001");
    assert_eq!(percent_decode("a%2"), "a%2");
    assert_eq!(percent_decode("a%+1b"), "a%+1b");
    assert_eq!(percent_decode("%zz%"), "%zz%");
}

/// Authorization values that stay on one header line.
fn authorization_value() -> impl Strategy<Value = String> {
    proptest::collection::vec(
        prop_oneof![
            Just("Digest ".to_string()),
            Just("realm=\"hotline.test\"".to_string()),
            Just("username=\"1001\"".to_string()),
            Just("uri=\"sip:hotline.test\"".to_string()),
            Just("qop=auth".to_string()),
            Just("nc=00000001".to_string()),
            Just("algorithm=MD5".to_string()),
            Just("response=\"".to_string()),
            Just(", ".to_string()),
            Just("\"".to_string()),
            Just("\\".to_string()),
            Just("=".to_string()),
            "[0-9a-f]{1,64}",
            "[ -~]{0,12}",
            "[^\\x00-\\x1f\\x7f]{0,4}",
        ],
        1..30,
    )
    .prop_map(|parts| parts.concat())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(500))]

    #[test]
    fn random_authorization_headers_never_panic(values in proptest::collection::vec(authorization_value(), 1..3)) {
        let t0 = Instant::now();
        let mut r = registrar();
        let mut phone = Phone::new("1001", "secret-1001");
        let auth: String = values
            .iter()
            .map(|v| format!("Authorization: {}\r\n", v.trim()))
            .collect();
        let text = phone.text(&format!("{CONTACT1}{auth}"), None);
        // Some generated values are not even a valid header line; the message
        // parser rejects those before we would see them.
        if let Ok(Message::Request(req)) = parse(Bytes::from(text)) {
            let resp = r.handle_register(t0, phone.source, &req);
            prop_assert!(matches!(resp.status, 400 | 401 | 403), "{}", resp.status);
            prop_assert!(r.bindings(t0).is_empty());
        }
    }
}

#[test]
fn first_live_user_walks_users_in_id_order_with_their_first_live_binding() {
    let t0 = Instant::now();
    let mut r = registrar();
    // 1002 registers first: order is by user id, not by registration.
    let mut b = Phone::new("1002", "secret-1002");
    let resp = b.register(
        &mut r,
        t0,
        "Contact: <sip:1002@10.0.0.9:5070>\r\nExpires: 600\r\n",
    );
    assert_eq!(resp.status, 200);
    let mut a = Phone::new("1001", "secret-1001");
    let resp = a.register(
        &mut r,
        t0,
        "Contact: <sip:1001@10.0.0.9:5062>;expires=60\r\nContact: <sip:1001@10.0.0.9:5064>\r\nExpires: 300\r\n",
    );
    assert_eq!(resp.status, 200);

    let first = r.first_live_user(t0, |_| true).expect("someone");
    assert_eq!(
        (first.user.as_str(), first.contact.as_str()),
        ("1001", "sip:1001@10.0.0.9:5062")
    );
    // The predicate skips a user; what it saw is every live user in order.
    let mut seen = Vec::new();
    let next = r
        .first_live_user(t0, |u| {
            seen.push(u.to_owned());
            u != "1001"
        })
        .expect("1002");
    assert_eq!(next.user, "1002");
    assert_eq!(seen, ["1001", "1002"]);
    // Once 1001's first binding has expired, its second one is offered.
    let later = r.first_live_user(t0 + s(61), |_| true).expect("1001");
    assert_eq!(later.contact, "sip:1001@10.0.0.9:5064");
    assert_eq!(later.source, a.source);
    // When every binding has expired nobody is offered, and nobody refused.
    assert!(r.first_live_user(t0 + s(601), |_| true).is_none());
    assert!(r.first_live_user(t0, |_| false).is_none());
}
