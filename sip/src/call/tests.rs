//! B2BUA call flows driven through a whole [`Endpoint`] in virtual time: a fake
//! trunk and fake agent phones exchange parsed-from-text messages with it; the
//! clock is `t0` plus durations. One test per RFC 3665 flow that applies to a
//! B2BUA with anchored media, plus the refusals and the invariant that every
//! scenario ends with no call in the table and every RTP port free.

use std::time::{Duration, Instant};

use bytes::Bytes;

use super::*;
use crate::digest::tests::{nonce_opaque, Answer};
use crate::digest::Algorithm;
use crate::endpoint::{Endpoint, EndpointConfig, Event, Output, DEFAULT_RING_TIMEOUT};
use crate::message::{parse, HeaderName, Message, Method, Request, Response};
use crate::net::Transport;
use crate::registrar::{Account, RegistrarConfig};
use crate::sdp::SessionDescription;
use crate::transaction::TimerConfig;

const DOMAIN: &str = "hotline.test";
const PUBLIC: &str = "192.0.2.10";

fn udp(ip: [u8; 4], port: u16) -> Remote {
    Remote {
        transport: Transport::Udp,
        addr: (ip, port).into(),
    }
}

fn trunk() -> Remote {
    udp([192, 0, 2, 65], 5060)
}
fn stranger() -> Remote {
    udp([203, 0, 113, 9], 5060)
}
fn phone1() -> Remote {
    udp([10, 0, 0, 21], 5098)
}
fn phone2() -> Remote {
    udp([10, 0, 0, 22], 5098)
}
/// What baresip registers: never rebuilt from the user name.
const CONTACT1: &str = "sip:1001-0x55d1c0@10.0.0.21:5098;transport=udp";
const CONTACT2: &str = "sip:1002-0x7f00aa@10.0.0.22:5098";

fn config(rtp_ports: (u16, u16)) -> EndpointConfig {
    EndpointConfig {
        timers: TimerConfig::default(),
        registrar: RegistrarConfig {
            realm: DOMAIN.into(),
            min_expires: 60,
            max_expires: 3600,
            default_expires: 3600,
            nonce_ttl: Duration::from_secs(300),
            max_failures: 5,
            failure_window: Duration::from_secs(60),
            lockout: Duration::from_secs(300),
            accounts: ["1001", "1002", "1003"]
                .into_iter()
                .map(|u| Account {
                    user: u.into(),
                    password: format!("secret-{u}"),
                })
                .collect(),
        },
        server_name: "hotline-test".into(),
        public_addr: PUBLIC.parse().expect("ip"),
        sip_port: 5060,
        rtp_ports,
        hotline_numbers: vec!["12345".into(), "0668-12345".into()],
        trusted_trunks: vec![([192, 0, 2, 64].into(), 29)],
        ring_timeout: DEFAULT_RING_TIMEOUT,
        hosted: false,
        emergency_numbers: vec!["110".into(), "119".into(), "120".into(), "122".into()],
    }
}

fn sip(text: &str) -> Bytes {
    Bytes::from(text.replace("\r\n", "\n").replace('\n', "\r\n"))
}

fn header(m: &Message, name: HeaderName) -> String {
    m.headers()
        .get(&name)
        .map(|v| v.as_str().to_owned())
        .unwrap_or_default()
}

fn cseq(m: &Message) -> String {
    m.headers()
        .cseq()
        .map(|c| c.to_string())
        .unwrap_or_default()
}

fn body_sdp(body: &Bytes) -> SessionDescription {
    SessionDescription::parse(body).expect("our SDP parses")
}

/// What the endpoint did in reaction to some inputs.
#[derive(Debug, Default)]
struct Batch {
    sent: Vec<(Remote, Message)>,
    media: Vec<MediaCommand>,
    calls: Vec<CallEvent>,
}

impl Batch {
    fn to(&self, who: Remote) -> Vec<&Message> {
        self.sent
            .iter()
            .filter(|(to, _)| *to == who)
            .map(|(_, m)| m)
            .collect()
    }

    fn requests_to(&self, who: Remote, method: Method) -> Vec<Request> {
        self.to(who)
            .into_iter()
            .filter_map(|m| match m {
                Message::Request(r) if r.method == method => Some(r.clone()),
                _ => None,
            })
            .collect()
    }

    fn request_to(&self, who: Remote, method: Method) -> Request {
        let mut all = self.requests_to(who, method.clone());
        assert_eq!(all.len(), 1, "one {method} to {who}: {:#?}", self.sent);
        all.remove(0)
    }

    /// The request, sent once or retransmitted (every copy identical).
    fn sent_request_to(&self, who: Remote, method: Method) -> Request {
        let all = self.requests_to(who, method.clone());
        assert!(!all.is_empty(), "no {method} to {who}: {:#?}", self.sent);
        assert!(all.iter().all(|r| *r == all[0]), "copies differ");
        all[0].clone()
    }

    fn responses_to(&self, who: Remote) -> Vec<Response> {
        self.to(who)
            .into_iter()
            .filter_map(|m| match m {
                Message::Response(r) => Some(r.clone()),
                _ => None,
            })
            .collect()
    }

    fn statuses_to(&self, who: Remote) -> Vec<u16> {
        self.responses_to(who).iter().map(|r| r.status).collect()
    }

    fn response_to(&self, who: Remote, status: u16) -> Response {
        self.responses_to(who)
            .into_iter()
            .find(|r| r.status == status)
            .unwrap_or_else(|| panic!("no {status} to {who}: {:#?}", self.sent))
    }

    fn ended(&self) -> Option<(HangupBy, EndReason)> {
        self.calls.iter().find_map(|e| match e {
            CallEvent::Ended {
                hangup_by, reason, ..
            } => Some((*hangup_by, *reason)),
            _ => None,
        })
    }

    fn invites_anywhere(&self) -> usize {
        self.sent
            .iter()
            .filter(|(_, m)| matches!(m, Message::Request(r) if r.method == Method::Invite))
            .count()
    }
}

/// The endpoint, a clock, and the dialog state the fake peers need.
struct H {
    ep: Endpoint,
    t0: Instant,
    now: Instant,
}

impl H {
    fn new() -> Self {
        Self::with_ports((20000, 20099))
    }

    fn with_ports(ports: (u16, u16)) -> Self {
        Self::with_config(config(ports))
    }

    fn with_config(config: EndpointConfig) -> Self {
        let t0 = Instant::now();
        H {
            ep: Endpoint::new(config, 11),
            t0,
            now: t0,
        }
    }

    fn drain(&mut self) -> Batch {
        let mut b = Batch::default();
        while let Some(o) = self.ep.poll_output() {
            match o {
                Output::Transmit { to, data } => {
                    let m = parse(data.clone()).unwrap_or_else(|e| {
                        panic!("we sent something unparseable ({e}): {data:?}")
                    });
                    b.sent.push((to, m));
                }
                Output::Media(m) => b.media.push(m),
                Output::Event(Event::Call(e)) => b.calls.push(e),
                Output::Event(_) => {}
            }
        }
        b
    }

    fn send(&mut self, from: Remote, text: &str) -> Batch {
        self.ep.handle_bytes(self.now, from, sip(text));
        self.drain()
    }

    fn send_bytes(&mut self, from: Remote, data: Bytes) -> Batch {
        self.ep.handle_bytes(self.now, from, data);
        self.drain()
    }

    /// Runs every timer up to `now + d`, in order.
    fn advance(&mut self, d: Duration) -> Batch {
        let target = self.now + d;
        let mut all = Batch::default();
        loop {
            match self.ep.poll_timeout() {
                Some(t) if t <= target => {
                    self.now = self.now.max(t);
                    self.ep.handle_timeout(self.now);
                    let b = self.drain();
                    all.sent.extend(b.sent);
                    all.media.extend(b.media);
                    all.calls.extend(b.calls);
                }
                _ => break,
            }
        }
        self.now = target;
        all
    }

    fn elapsed(&self) -> Duration {
        self.now - self.t0
    }

    /// A REGISTER answered with 401, then again with credentials: 200.
    fn register(&mut self, user: &str, from: Remote, contact: &str) {
        let text = |cseq: u32, auth: &str| {
            format!(
                "REGISTER sip:{DOMAIN} SIP/2.0\n\
                 Via: SIP/2.0/UDP {addr};branch=z9hG4bK-reg-{user}-{cseq};rport\n\
                 Max-Forwards: 70\n\
                 From: <sip:{user}@{DOMAIN}>;tag=reg{user}\n\
                 To: <sip:{user}@{DOMAIN}>\n\
                 Call-ID: reg-{user}@phone\n\
                 CSeq: {cseq} REGISTER\n\
                 Contact: <{contact}>\n\
                 Expires: 3600\n\
                 {auth}Content-Length: 0\n\n",
                addr = from.addr
            )
        };
        let b = self.send(from, &text(1, ""));
        let challenge = b.response_to(from, 401);
        let auth = self.answer(&challenge, user, "REGISTER", &format!("sip:{DOMAIN}"));
        let b = self.send(from, &text(2, &format!("Authorization: {auth}\n")));
        assert_eq!(b.statuses_to(from), [200], "registration of {user}");
    }

    /// Digest credentials for the SHA-256 challenge of `challenge`.
    fn answer(&self, challenge: &Response, user: &str, method: &str, uri: &str) -> String {
        let value = challenge
            .headers
            .get_all(&HeaderName::WwwAuthenticate)
            .find(|v| v.contains("SHA-256"))
            .expect("a SHA-256 challenge")
            .as_str()
            .to_owned();
        let (nonce, opaque) = nonce_opaque(&value);
        Answer {
            user,
            password: &format!("secret-{user}"),
            realm: DOMAIN,
            algorithm: Algorithm::Sha256,
            nonce: &nonce,
            opaque: &opaque,
            nc: 1,
            method,
            uri,
        }
        .header()
    }

    /// After a scenario: time passes, and nothing is left behind.
    fn assert_all_clear(&mut self) {
        let _ = self.advance(Duration::from_secs(600));
        assert_eq!(
            self.ep.call_count(),
            0,
            "calls left: {:#?}",
            self.ep.calls()
        );
        assert_eq!(self.ep.media_ports().in_use(), 0, "RTP ports leaked");
        assert_eq!(
            self.ep.media_ports().available() + self.ep.media_ports().quarantined(),
            self.ep.media_ports().capacity()
        );
    }
}

const OFFER: &str = "v=0
o=carrier 4711 1 IN IP4 198.51.100.7
s=-
c=IN IP4 198.51.100.7
t=0 0
m=audio 40000 RTP/AVP 8 0 101
a=rtpmap:8 PCMA/8000
a=rtpmap:0 PCMU/8000
a=rtpmap:101 telephone-event/8000
a=fmtp:101 0-15
a=ptime:20
a=sendrecv
";

/// The trunk's side of one call.
struct Caller {
    call_id: String,
    number: String,
    dialed: String,
    cseq: u32,
    branch: u32,
    /// Our 200 (for the To tag and the Contact).
    ok: Option<Response>,
    from: Remote,
}

impl Caller {
    fn new(n: u32) -> Self {
        Caller {
            call_id: format!("call-{n}@carrier.example"),
            number: "13800138000".into(),
            dialed: "12345".into(),
            cseq: 314159,
            branch: n * 100,
            ok: None,
            from: trunk(),
        }
    }

    fn invite_with(&mut self, ruri: &str, body: &str, extra: &str) -> String {
        self.branch += 1;
        let ctype = if body.is_empty() {
            String::new()
        } else {
            "Content-Type: application/sdp\n".to_owned()
        };
        format!(
            "INVITE {ruri} SIP/2.0\n\
             Via: SIP/2.0/UDP {addr};branch=z9hG4bK-c{b}\n\
             Max-Forwards: 70\n\
             From: \"Citizen\" <sip:{num}@carrier.example>;tag=caller-tag\n\
             To: <{ruri}>\n\
             Call-ID: {cid}\n\
             CSeq: {cseq} INVITE\n\
             Contact: <sip:{num}@198.51.100.7:5060>\n\
             {extra}{ctype}Content-Length: {len}\n\n{body}",
            addr = self.from.addr,
            b = self.branch,
            num = self.number,
            cid = self.call_id,
            cseq = self.cseq,
            len = body.replace('\n', "\r\n").len(),
            body = body,
        )
    }

    fn invite(&mut self) -> String {
        let ruri = format!("sip:{}@{PUBLIC}", self.dialed);
        self.invite_with(&ruri, OFFER, "")
    }

    /// The CANCEL for the INVITE just sent (same branch, §9.1).
    fn cancel(&self) -> String {
        let ruri = format!("sip:{}@{PUBLIC}", self.dialed);
        format!(
            "CANCEL {ruri} SIP/2.0\n\
             Via: SIP/2.0/UDP {addr};branch=z9hG4bK-c{b}\n\
             Max-Forwards: 70\n\
             From: \"Citizen\" <sip:{num}@carrier.example>;tag=caller-tag\n\
             To: <{ruri}>\n\
             Call-ID: {cid}\n\
             CSeq: {cseq} CANCEL\n\
             Content-Length: 0\n\n",
            addr = self.from.addr,
            b = self.branch,
            num = self.number,
            cid = self.call_id,
            cseq = self.cseq,
        )
    }

    /// An in-dialog request after our 200 (ACK reuses the INVITE's CSeq).
    fn in_dialog(&mut self, method: &str, body: &str) -> String {
        let ok = self.ok.as_ref().expect("answered");
        let to = ok
            .headers
            .get(&HeaderName::To)
            .expect("To")
            .as_str()
            .to_owned();
        let contact = ok.headers.contacts().expect("Contact")[0].to_string();
        let target = contact
            .trim_start_matches('<')
            .trim_end_matches('>')
            .to_owned();
        if method != "ACK" {
            self.cseq += 1;
        }
        self.branch += 1;
        let ctype = if body.is_empty() {
            String::new()
        } else {
            "Content-Type: application/sdp\n".to_owned()
        };
        format!(
            "{method} {target} SIP/2.0\n\
             Via: SIP/2.0/UDP {addr};branch=z9hG4bK-c{b}\n\
             Max-Forwards: 70\n\
             From: \"Citizen\" <sip:{num}@carrier.example>;tag=caller-tag\n\
             To: {to}\n\
             Call-ID: {cid}\n\
             CSeq: {cseq} {method}\n\
             Contact: <sip:{num}@198.51.100.7:5060>\n\
             {ctype}Content-Length: {len}\n\n{body}",
            addr = self.from.addr,
            b = self.branch,
            num = self.number,
            cid = self.call_id,
            cseq = self.cseq,
            len = body.replace('\n', "\r\n").len(),
        )
    }
}

/// An answer as a phone at `ip:port` would give it.
fn phone_sdp(ip: &str, port: u16, direction: &str, version: u32) -> String {
    format!(
        "v=0
o=baresip 100 {version} IN IP4 {ip}
s=-
c=IN IP4 {ip}
t=0 0
m=audio {port} RTP/AVP 8 101
a=rtpmap:8 PCMA/8000
a=rtpmap:101 telephone-event/8000
a=fmtp:101 0-15
a={direction}
"
    )
}

/// A phone's response to a request we sent it.
fn reply(req: &Request, status: u16, to_tag: &str, contact: &str, body: &str) -> Bytes {
    let mut text = format!("SIP/2.0 {status} Whatever\n");
    for v in req.headers.get_all(&HeaderName::Via) {
        text.push_str(&format!("Via: {v}\n"));
    }
    let to = req.headers.get(&HeaderName::To).expect("To").as_str();
    let to = if to.contains(";tag=") || to_tag.is_empty() {
        to.to_owned()
    } else {
        format!("{to};tag={to_tag}")
    };
    text.push_str(&format!(
        "From: {}\nTo: {to}\nCall-ID: {}\nCSeq: {}\n",
        req.headers.get(&HeaderName::From).expect("From"),
        req.headers.get(&HeaderName::CallId).expect("Call-ID"),
        req.headers.get(&HeaderName::CSeq).expect("CSeq"),
    ));
    if !contact.is_empty() {
        text.push_str(&format!("Contact: <{contact}>\n"));
    }
    if !body.is_empty() {
        text.push_str("Content-Type: application/sdp\n");
    }
    text.push_str(&format!(
        "Content-Length: {}\n\n{body}",
        body.replace('\n', "\r\n").len()
    ));
    sip(&text)
}

/// The agent phone's side of one INVITE we sent it.
struct Agent {
    remote: Remote,
    contact: &'static str,
    invite: Request,
    tag: String,
    cseq: u32,
}

impl Agent {
    fn new(remote: Remote, contact: &'static str, invite: Request) -> Self {
        Agent {
            remote,
            contact,
            invite,
            tag: "phone-tag".into(),
            cseq: 7000,
        }
    }

    fn respond(&self, h: &mut H, status: u16, body: &str) -> Batch {
        let tag = if status == 100 { "" } else { &self.tag };
        let data = reply(&self.invite, status, tag, self.contact, body);
        h.send_bytes(self.remote, data)
    }

    fn answer(&self, h: &mut H) -> Batch {
        self.respond(h, 200, &phone_sdp("10.0.0.21", 30000, "sendrecv", 200))
    }

    /// A request from the phone inside its dialog with us.
    fn in_dialog(&mut self, method: &str, body: &str) -> String {
        if method != "ACK" {
            self.cseq += 1;
        }
        let from = self.invite.headers.get(&HeaderName::To).expect("To");
        let to = self.invite.headers.get(&HeaderName::From).expect("From");
        let target = self
            .invite
            .headers
            .contacts()
            .expect("Contact")
            .first()
            .map(|c| c.to_string())
            .expect("a Contact");
        let target = target.trim_start_matches('<').trim_end_matches('>');
        let ctype = if body.is_empty() {
            ""
        } else {
            "Content-Type: application/sdp\n"
        };
        format!(
            "{method} {target} SIP/2.0\n\
             Via: SIP/2.0/UDP {addr};branch=z9hG4bK-a{cseq}{method}\n\
             Max-Forwards: 70\n\
             From: {from};tag={tag}\n\
             To: {to}\n\
             Call-ID: {cid}\n\
             CSeq: {cseq} {method}\n\
             Contact: <{contact}>\n\
             {ctype}Content-Length: {len}\n\n{body}",
            addr = self.remote.addr,
            cseq = self.cseq,
            tag = self.tag,
            cid = self
                .invite
                .headers
                .get(&HeaderName::CallId)
                .expect("Call-ID"),
            contact = self.contact,
            len = body.replace('\n', "\r\n").len(),
        )
    }
}

/// The caller's INVITE reached the server: 100 to the trunk, an INVITE to
/// phone 1. Returns the agent's view and the batch.
fn call_arrives(h: &mut H, caller: &mut Caller) -> (Agent, Batch) {
    let b = h.send(trunk(), &caller.invite());
    assert_eq!(b.statuses_to(trunk()), [100], "{:#?}", b.sent);
    let invite = b.request_to(phone1(), Method::Invite);
    (Agent::new(phone1(), CONTACT1, invite), b)
}

/// Caller INVITE, agent 180 and 200, caller ACK: a connected call.
fn connected_call(h: &mut H, caller: &mut Caller) -> Agent {
    let (agent, _) = call_arrives(h, caller);
    agent.respond(h, 180, "");
    let b = agent.answer(h);
    caller.ok = Some(b.response_to(trunk(), 200));
    let ack = caller.in_dialog("ACK", "");
    let b = h.send(trunk(), &ack);
    assert!(b.sent.is_empty());
    assert_eq!(h.ep.calls()[0].state, CallState::Connected);
    agent
}

fn port_of(sdp: &SessionDescription) -> u16 {
    sdp.media[0].port
}

// ----- RFC 3665 §3.8-style basic call -------------------------------------------

#[test]
fn basic_call_through_the_b2bua_and_caller_hangs_up() {
    let mut h = H::new();
    h.register("1001", phone1(), CONTACT1);
    let mut caller = Caller::new(1);

    // INVITE → 100 Trying, ports opened, INVITE to the agent's registered Contact.
    let b = h.send(trunk(), &caller.invite());
    assert_eq!(b.statuses_to(trunk()), [100]);
    let inv = b.request_to(phone1(), Method::Invite);
    assert_eq!(
        inv.uri.as_str(),
        CONTACT1,
        "Request-URI = Contact as registered"
    );
    let m = Message::Request(inv.clone());
    assert_eq!(header(&m, HeaderName::To), format!("<sip:1001@{DOMAIN}>"));
    assert!(header(&m, HeaderName::From)
        .starts_with(&format!("\"13800138000\" <sip:13800138000@{DOMAIN}>;tag=")));
    assert_eq!(cseq(&m), "1 INVITE");
    assert_ne!(
        header(&m, HeaderName::CallId),
        caller.call_id,
        "a new Call-ID"
    );
    assert_eq!(
        header(&m, HeaderName::Contact),
        format!("<sip:hotline@{PUBLIC}:5060>")
    );
    let via = inv.headers.top_via().expect("Via");
    assert_eq!(
        via.to_string().split(';').next(),
        Some("SIP/2.0/UDP 192.0.2.10:5060")
    );
    let offer = body_sdp(&inv.body);
    let (caller_port, agent_port) = match b.media.as_slice() {
        [MediaCommand::Open {
            leg: Leg::Caller,
            local_rtp_port: c,
            ..
        }, MediaCommand::Open {
            leg: Leg::Agent,
            local_rtp_port: a,
            ..
        }] => (*c, *a),
        other => panic!("{other:?}"),
    };
    assert_ne!(caller_port, agent_port);
    assert_eq!(caller_port % 2, 0);
    assert_eq!(
        port_of(&offer),
        agent_port,
        "offer m= has the agent leg's port"
    );
    assert_eq!(
        offer.connection.as_ref().map(|c| c.to_string()),
        Some(format!("IN IP4 {PUBLIC}"))
    );
    assert_eq!(
        offer.media[0].formats,
        ["8", "0", "101"],
        "the caller's codec (PCMA) first, then PCMU, then telephone-event"
    );
    let call = match b.calls.as_slice() {
        [CallEvent::Arrived {
            call,
            caller_number,
            did,
            ..
        }, CallEvent::Ringing { agent, .. }] => {
            assert_eq!(caller_number, "13800138000");
            assert_eq!(did, "12345");
            assert_eq!(agent, "1001");
            *call
        }
        other => panic!("{other:?}"),
    };
    assert_eq!(h.ep.calls()[0].state, CallState::Ringing);
    assert_eq!(h.ep.calls()[0].agent.as_deref(), Some("1001"));

    // 180 relayed, with our To tag.
    let agent = Agent::new(phone1(), CONTACT1, inv);
    let b = agent.respond(&mut h, 180, "");
    let ringing = b.response_to(trunk(), 180);
    let to_tag = ringing
        .headers
        .to_addr()
        .expect("To")
        .tag()
        .expect("tag")
        .to_owned();

    // 200 from the agent: ACKed; 200 with our answer to the caller; media connected.
    let b = agent.answer(&mut h);
    let ack = b.request_to(phone1(), Method::Ack);
    let am = Message::Request(ack.clone());
    assert_eq!(cseq(&am), "1 ACK", "ACK carries the INVITE's CSeq number");
    assert_eq!(ack.uri.as_str(), CONTACT1, "to the Contact of the 200");
    assert!(header(&am, HeaderName::To).ends_with(";tag=phone-tag"));
    let ok = b.response_to(trunk(), 200);
    assert_eq!(
        ok.headers.to_addr().expect("To").tag(),
        Some(to_tag.as_str())
    );
    let answer = body_sdp(&ok.body);
    assert_eq!(port_of(&answer), caller_port);
    assert_eq!(
        answer.connection.as_ref().map(|c| c.to_string()),
        Some(format!("IN IP4 {PUBLIC}"))
    );
    assert_eq!(answer.media[0].formats, ["8", "101"]);
    assert_eq!(
        b.media,
        [MediaCommand::Connect {
            call,
            caller_remote: "198.51.100.7:40000".parse().expect("addr"),
            agent_remote: "10.0.0.21:30000".parse().expect("addr"),
            caller_codec: Codec::PCMA,
            agent_codec: Codec::PCMA,
            caller_dtmf_pt: Some(101),
            agent_dtmf_pt: Some(101),
            caller_direction: Direction::SendRecv,
            agent_direction: Direction::SendRecv,
        }]
    );
    assert!(matches!(b.calls.as_slice(), [CallEvent::Answered { agent, .. }] if agent == "1001"));
    caller.ok = Some(ok);
    let view = &h.ep.calls()[0];
    assert_eq!(view.state, CallState::Answered);
    assert!(view.answered.is_some());

    // The caller's ACK, then its BYE.
    let ack = caller.in_dialog("ACK", "");
    assert!(h.send(trunk(), &ack).sent.is_empty());
    assert_eq!(h.ep.calls()[0].state, CallState::Connected);
    h.advance(Duration::from_secs(60));
    let bye = caller.in_dialog("BYE", "");
    let b = h.send(trunk(), &bye);
    assert_eq!(b.statuses_to(trunk()), [200]);
    let bye = b.request_to(phone1(), Method::Bye);
    let bm = Message::Request(bye.clone());
    assert_eq!(cseq(&bm), "2 BYE");
    assert_eq!(bye.uri.as_str(), CONTACT1);
    assert_eq!(b.media, [MediaCommand::Close { call }]);
    assert_eq!(b.ended(), Some((HangupBy::Caller, EndReason::Normal)));
    assert_eq!(h.ep.media_ports().in_use(), 0, "ports free at the end");
    assert_eq!(h.ep.calls()[0].state, CallState::Ending);
    // The agent's 200 to our BYE: nothing left.
    let phone = Agent::new(phone1(), CONTACT1, bye);
    phone.respond(&mut h, 200, "");
    assert_eq!(h.ep.call_count(), 0);
    h.assert_all_clear();
}

#[test]
fn agent_hangs_up_and_the_caller_gets_a_bye() {
    let mut h = H::new();
    h.register("1001", phone1(), CONTACT1);
    let mut caller = Caller::new(2);
    let mut agent = connected_call(&mut h, &mut caller);
    let bye = agent.in_dialog("BYE", "");
    let b = h.send(phone1(), &bye);
    assert_eq!(b.statuses_to(phone1()), [200]);
    let bye = b.request_to(trunk(), Method::Bye);
    assert_eq!(bye.uri.as_str(), "sip:13800138000@198.51.100.7:5060");
    let m = Message::Request(bye.clone());
    assert_eq!(cseq(&m), "1 BYE", "our first request on the caller dialog");
    let our_tag = caller
        .ok
        .as_ref()
        .and_then(|o| o.headers.to_addr().ok()?.tag().map(str::to_owned));
    assert_eq!(
        bye.headers
            .from_addr()
            .expect("From")
            .tag()
            .map(str::to_owned),
        our_tag
    );
    assert_eq!(bye.headers.to_addr().expect("To").tag(), Some("caller-tag"));
    assert_eq!(header(&m, HeaderName::CallId), caller.call_id);
    assert_eq!(b.ended(), Some((HangupBy::Agent, EndReason::Normal)));
    let data = reply(&bye, 200, "", "", "");
    h.send_bytes(trunk(), data);
    assert_eq!(h.ep.call_count(), 0);
    h.assert_all_clear();
}

// ----- RFC 3665 §3.10-style: the caller gives up ------------------------------------

#[test]
fn cancel_before_answer_gets_487_and_cancels_the_agent() {
    let mut h = H::new();
    h.register("1001", phone1(), CONTACT1);
    let mut caller = Caller::new(3);
    let (agent, _) = call_arrives(&mut h, &mut caller);
    agent.respond(&mut h, 180, "");
    let b = h.send(trunk(), &caller.cancel());
    let statuses = b.statuses_to(trunk());
    assert_eq!(statuses, [200, 487], "200 to the CANCEL, 487 to the INVITE");
    let r487 = b.response_to(trunk(), 487);
    assert_eq!(cseq(&Message::Response(r487)), "314159 INVITE");
    let cancel = b.request_to(phone1(), Method::Cancel);
    let cm = Message::Request(cancel.clone());
    assert_eq!(cseq(&cm), "1 CANCEL");
    assert_eq!(
        cancel.headers.top_via().expect("Via").branch(),
        agent.invite.headers.top_via().expect("Via").branch(),
        "CANCEL reuses the INVITE's branch (§9.1)"
    );
    assert_eq!(cancel.uri, agent.invite.uri);
    assert_eq!(b.ended(), Some((HangupBy::Caller, EndReason::Cancelled)));
    assert_eq!(b.media.len(), 1, "Close: {:?}", b.media);
    // The phone answers the CANCEL and 487s its INVITE; the transaction ACKs.
    let c = Agent::new(phone1(), CONTACT1, cancel);
    c.respond(&mut h, 200, "");
    let b = agent.respond(&mut h, 487, "");
    let ack = b.request_to(phone1(), Method::Ack);
    assert_eq!(cseq(&Message::Request(ack)), "1 ACK");
    assert_eq!(h.ep.call_count(), 0);
    h.assert_all_clear();
}

#[test]
fn a_200_that_crosses_the_cancel_is_acked_and_byed() {
    let mut h = H::new();
    h.register("1001", phone1(), CONTACT1);
    let mut caller = Caller::new(4);
    let (agent, _) = call_arrives(&mut h, &mut caller);
    agent.respond(&mut h, 180, "");
    let b = h.send(trunk(), &caller.cancel());
    assert_eq!(b.statuses_to(trunk()), [200, 487]);
    let b = agent.answer(&mut h);
    b.request_to(phone1(), Method::Ack);
    let bye = b.request_to(phone1(), Method::Bye);
    assert_eq!(cseq(&Message::Request(bye.clone())), "2 BYE");
    assert!(
        b.responses_to(trunk()).is_empty(),
        "the caller hears nothing more"
    );
    Agent::new(phone1(), CONTACT1, bye).respond(&mut h, 200, "");
    assert_eq!(h.ep.call_count(), 0);
    h.assert_all_clear();
}

#[test]
fn cancel_before_any_provisional_waits_for_one() {
    let mut h = H::new();
    h.register("1001", phone1(), CONTACT1);
    let mut caller = Caller::new(5);
    let (agent, _) = call_arrives(&mut h, &mut caller);
    let b = h.send(trunk(), &caller.cancel());
    assert_eq!(b.statuses_to(trunk()), [200, 487]);
    assert!(
        b.requests_to(phone1(), Method::Cancel).is_empty(),
        "§9.1: no CANCEL before a provisional"
    );
    let b = agent.respond(&mut h, 100, "");
    b.request_to(phone1(), Method::Cancel);
    h.assert_all_clear();
}

// ----- RFC 3665 §3.6/§3.7-style: busy, no answer, nobody ------------------------------

#[test]
fn busy_agent_with_no_other_gives_486_to_the_caller() {
    let mut h = H::new();
    h.register("1001", phone1(), CONTACT1);
    let mut caller = Caller::new(6);
    let (agent, _) = call_arrives(&mut h, &mut caller);
    let b = agent.respond(&mut h, 486, "");
    b.request_to(phone1(), Method::Ack);
    assert_eq!(b.statuses_to(trunk()), [486]);
    let r = b.response_to(trunk(), 486);
    assert!(r.headers.to_addr().expect("To").tag().is_some());
    assert_eq!(b.ended(), Some((HangupBy::System, EndReason::Busy)));
    assert_eq!(h.ep.media_ports().in_use(), 0);
    h.assert_all_clear();
}

#[test]
fn busy_agent_is_followed_by_the_next_free_one() {
    let mut h = H::new();
    h.register("1001", phone1(), CONTACT1);
    h.register("1002", phone2(), CONTACT2);
    let mut caller = Caller::new(7);
    let (agent, _) = call_arrives(&mut h, &mut caller);
    let b = agent.respond(&mut h, 486, "");
    assert!(b.responses_to(trunk()).is_empty());
    let inv2 = b.request_to(phone2(), Method::Invite);
    assert_eq!(inv2.uri.as_str(), CONTACT2);
    assert!(matches!(b.calls.as_slice(), [CallEvent::Ringing { agent, .. }] if agent == "1002"));
    let agent2 = Agent::new(phone2(), CONTACT2, inv2);
    let b = agent2.respond(&mut h, 200, &phone_sdp("10.0.0.22", 31000, "sendrecv", 1));
    let ok = b.response_to(trunk(), 200);
    assert!(matches!(b.calls.as_slice(), [CallEvent::Answered { agent, .. }] if agent == "1002"));
    caller.ok = Some(ok);
    h.send(trunk(), &caller.in_dialog("ACK", ""));
    let b = h.send(trunk(), &caller.in_dialog("BYE", ""));
    let bye = b.request_to(phone2(), Method::Bye);
    Agent::new(phone2(), CONTACT2, bye).respond(&mut h, 200, "");
    h.assert_all_clear();
}

#[test]
fn ring_timeout_cancels_the_agent_and_answers_480() {
    let mut h = H::new();
    h.register("1001", phone1(), CONTACT1);
    let mut caller = Caller::new(8);
    let (agent, _) = call_arrives(&mut h, &mut caller);
    let start = h.elapsed();
    agent.respond(&mut h, 180, "");
    let b = h.advance(Duration::from_secs(19));
    assert!(b.requests_to(phone1(), Method::Cancel).is_empty());
    let b = h.advance(Duration::from_secs(2));
    assert_eq!(h.elapsed() - start, Duration::from_secs(21));
    b.sent_request_to(phone1(), Method::Cancel);
    let r = b.response_to(trunk(), 480);
    assert_eq!(
        r.headers.get(&HeaderName::RetryAfter).map(|v| v.as_str()),
        Some("30")
    );
    assert_eq!(b.ended(), Some((HangupBy::System, EndReason::NoAnswer)));
    agent.respond(&mut h, 487, "");
    h.assert_all_clear();
}

#[test]
fn nobody_registered_gives_480_with_retry_after() {
    let mut h = H::new();
    let mut caller = Caller::new(9);
    let b = h.send(trunk(), &caller.invite());
    assert_eq!(b.statuses_to(trunk()), [100, 480]);
    let r = b.response_to(trunk(), 480);
    assert!(r.headers.get(&HeaderName::RetryAfter).is_some());
    assert_eq!(b.invites_anywhere(), 0);
    assert_eq!(b.ended(), Some((HangupBy::System, EndReason::NoAgent)));
    // Open both, then Close.
    assert_eq!(b.media.len(), 3);
    assert!(matches!(b.media[2], MediaCommand::Close { .. }));
    h.assert_all_clear();
}

// ----- RFC 3665 §3.x hold and resume (re-INVITE) ------------------------------------

#[test]
fn hold_and_resume_are_answered_and_relayed_with_our_sdp() {
    let mut h = H::new();
    h.register("1001", phone1(), CONTACT1);
    let mut caller = Caller::new(10);
    let agent = connected_call(&mut h, &mut caller);
    let ok = caller.ok.clone().expect("200");
    let first = body_sdp(&ok.body);
    let caller_port = port_of(&first);
    let agent_port = port_of(&body_sdp(&agent.invite.body));

    // The caller holds: sendonly.
    let hold = OFFER
        .replace("a=sendrecv", "a=sendonly")
        .replace("4711 1", "4711 2");
    let b = h.send(trunk(), &caller.in_dialog("INVITE", &hold));
    let ok = b.response_to(trunk(), 200);
    let answer = body_sdp(&ok.body);
    assert_eq!(port_of(&answer), caller_port, "same port");
    assert_eq!(answer.media[0].direction(), Some(Direction::RecvOnly));
    assert_eq!(
        answer.origin.session_version,
        first.origin.session_version + 1
    );
    assert_eq!(answer.origin.session_id, first.origin.session_id);
    let reinvite = b.request_to(phone1(), Method::Invite);
    let rm = Message::Request(reinvite.clone());
    assert_eq!(cseq(&rm), "2 INVITE");
    assert_eq!(reinvite.uri.as_str(), CONTACT1);
    assert!(header(&rm, HeaderName::To).ends_with(";tag=phone-tag"));
    let offer = body_sdp(&reinvite.body);
    assert_eq!(port_of(&offer), agent_port);
    assert_eq!(offer.media[0].direction(), Some(Direction::SendOnly));
    let first_offer = body_sdp(&agent.invite.body);
    assert!(offer.origin.session_version > first_offer.origin.session_version);
    assert!(b.media.iter().any(|m| matches!(
        m,
        MediaCommand::Update {
            leg: Leg::Caller,
            direction: Direction::SendOnly,
            ..
        }
    )));
    let ack = caller.in_dialog("ACK", "");
    h.send(trunk(), &ack);

    // The phone accepts (recvonly): ACKed with CSeq 2.
    let phone = Agent::new(phone1(), CONTACT1, reinvite);
    let b = phone.respond(&mut h, 200, &phone_sdp("10.0.0.21", 30000, "recvonly", 201));
    let ack = b.request_to(phone1(), Method::Ack);
    assert_eq!(cseq(&Message::Request(ack)), "2 ACK");
    assert!(b.media.iter().any(|m| matches!(
        m,
        MediaCommand::Update {
            leg: Leg::Agent,
            direction: Direction::RecvOnly,
            ..
        }
    )));

    // Resume.
    let resume = OFFER.replace("4711 1", "4711 3");
    let b = h.send(trunk(), &caller.in_dialog("INVITE", &resume));
    let answer = body_sdp(&b.response_to(trunk(), 200).body);
    assert_eq!(answer.media[0].direction(), Some(Direction::SendRecv));
    let reinvite = b.request_to(phone1(), Method::Invite);
    assert_eq!(cseq(&Message::Request(reinvite.clone())), "3 INVITE");
    assert_eq!(
        body_sdp(&reinvite.body).media[0].direction(),
        Some(Direction::SendRecv)
    );
    h.send(trunk(), &caller.in_dialog("ACK", ""));
    let phone = Agent::new(phone1(), CONTACT1, reinvite);
    phone.respond(&mut h, 200, &phone_sdp("10.0.0.21", 30000, "sendrecv", 202));
    let b = h.send(trunk(), &caller.in_dialog("BYE", ""));
    let bye = b.request_to(phone1(), Method::Bye);
    assert_eq!(cseq(&Message::Request(bye.clone())), "4 BYE");
    Agent::new(phone1(), CONTACT1, bye).respond(&mut h, 200, "");
    h.assert_all_clear();
}

#[test]
fn agent_hold_is_relayed_to_the_caller_and_glare_gets_491() {
    let mut h = H::new();
    h.register("1001", phone1(), CONTACT1);
    let mut caller = Caller::new(11);
    let mut agent = connected_call(&mut h, &mut caller);
    let hold = phone_sdp("10.0.0.21", 30000, "sendonly", 300);
    let b = h.send(phone1(), &agent.in_dialog("INVITE", &hold));
    let ok = b.response_to(phone1(), 200);
    assert_eq!(
        body_sdp(&ok.body).media[0].direction(),
        Some(Direction::RecvOnly)
    );
    let reinvite = b.request_to(trunk(), Method::Invite);
    assert_eq!(cseq(&Message::Request(reinvite.clone())), "1 INVITE");
    assert_eq!(
        body_sdp(&reinvite.body).media[0].direction(),
        Some(Direction::SendOnly)
    );
    // The caller re-INVITEs at the same time: glare.
    let b = h.send(trunk(), &caller.in_dialog("INVITE", OFFER));
    assert_eq!(b.statuses_to(trunk()), [491]);
    // Our re-INVITE gets 491 from the trunk too: retried within 0–2 s (§14.1).
    let data = reply(&reinvite, 491, "", "", "");
    let b = h.send_bytes(trunk(), data);
    b.request_to(trunk(), Method::Ack);
    let b = h.advance(Duration::from_millis(2100));
    let again = b.sent_request_to(trunk(), Method::Invite);
    assert_eq!(cseq(&Message::Request(again.clone())), "2 INVITE");
    let data = reply(
        &again,
        200,
        "",
        "sip:13800138000@198.51.100.7:5060",
        &OFFER.replace("a=sendrecv", "a=recvonly"),
    );
    let b = h.send_bytes(trunk(), data);
    assert_eq!(
        cseq(&Message::Request(b.request_to(trunk(), Method::Ack))),
        "2 ACK"
    );
    // The phone's ACK for our 200 to its re-INVITE stops our retransmissions.
    let b = h.send(phone1(), &agent.in_dialog("ACK", ""));
    assert!(b.sent.is_empty());
    let b = h.advance(Duration::from_secs(5));
    assert!(b.responses_to(phone1()).is_empty(), "{:#?}", b.sent);
    h.ep.hang_up(h.now, h.ep.calls()[0].id);
    h.assert_all_clear();
}

// ----- 2xx reliability (RFC 3261 §13.3.1.4, §13.2.2.4) --------------------------------

#[test]
fn our_200_is_retransmitted_until_the_ack() {
    let mut h = H::new();
    h.register("1001", phone1(), CONTACT1);
    let mut caller = Caller::new(12);
    let (agent, _) = call_arrives(&mut h, &mut caller);
    let b = agent.answer(&mut h);
    caller.ok = Some(b.response_to(trunk(), 200));
    let sent_at = h.now;
    let mut times = Vec::new();
    for _ in 0..60 {
        let b = h.advance(Duration::from_millis(100));
        for r in b.responses_to(trunk()) {
            assert_eq!(r.status, 200);
            assert_eq!(&r, caller.ok.as_ref().expect("200"));
            times.push((h.now - sent_at).as_millis());
        }
    }
    // T1, then doubling: 0.5, 1.5, 3.5 s after the first.
    assert_eq!(times, [500, 1500, 3500]);
    h.send(trunk(), &caller.in_dialog("ACK", ""));
    let b = h.advance(Duration::from_secs(10));
    assert!(b.responses_to(trunk()).is_empty(), "the ACK stops it");
    h.ep.hang_up(h.now, h.ep.calls()[0].id);
    h.assert_all_clear();
}

#[test]
fn no_ack_in_64_t1_ends_the_call_with_byes_on_both_legs() {
    let mut h = H::new();
    h.register("1001", phone1(), CONTACT1);
    let mut caller = Caller::new(13);
    let (agent, _) = call_arrives(&mut h, &mut caller);
    agent.answer(&mut h);
    let b = h.advance(Duration::from_secs(31));
    assert!(b.ended().is_none());
    let ok_count = b.statuses_to(trunk()).len();
    assert!(ok_count >= 7, "retransmitted up to T2 spacing: {ok_count}");
    let b = h.advance(Duration::from_secs(2));
    assert_eq!(b.ended(), Some((HangupBy::System, EndReason::AckTimeout)));
    b.sent_request_to(trunk(), Method::Bye);
    b.sent_request_to(phone1(), Method::Bye);
    h.assert_all_clear();
}

#[test]
fn a_retransmitted_200_from_the_agent_is_acked_again() {
    let mut h = H::new();
    h.register("1001", phone1(), CONTACT1);
    let mut caller = Caller::new(14);
    let agent = connected_call(&mut h, &mut caller);
    let b = agent.answer(&mut h);
    let ack = b.request_to(phone1(), Method::Ack);
    assert_eq!(cseq(&Message::Request(ack)), "1 ACK");
    assert!(b.responses_to(trunk()).is_empty());
    h.ep.hang_up(h.now, h.ep.calls()[0].id);
    h.assert_all_clear();
}

#[test]
fn an_invite_copy_crossing_our_200_gets_the_200_again() {
    let mut h = H::new();
    h.register("1001", phone1(), CONTACT1);
    let mut caller = Caller::new(15);
    let (agent, _) = call_arrives(&mut h, &mut caller);
    let b = agent.answer(&mut h);
    let ok = b.response_to(trunk(), 200);
    caller.branch -= 1;
    let b = h.send(trunk(), &caller.invite());
    assert_eq!(b.responses_to(trunk()), [ok]);
    assert_eq!(b.invites_anywhere(), 0);
    assert_eq!(h.ep.call_count(), 1);
    h.ep.hang_up(h.now, h.ep.calls()[0].id);
    h.assert_all_clear();
}

#[test]
fn in_dialog_request_with_a_lower_cseq_gets_500_and_unknown_dialogs_481() {
    let mut h = H::new();
    h.register("1001", phone1(), CONTACT1);
    let mut caller = Caller::new(16);
    connected_call(&mut h, &mut caller);
    caller.cseq -= 5;
    let b = h.send(trunk(), &caller.in_dialog("BYE", ""));
    assert_eq!(b.statuses_to(trunk()), [500]);
    let mut other = Caller::new(99);
    other.ok = caller.ok.clone();
    other.call_id = "nope@carrier.example".into();
    let b = h.send(trunk(), &other.in_dialog("BYE", ""));
    assert_eq!(b.statuses_to(trunk()), [481]);
    let b = h.send(trunk(), &other.in_dialog("INVITE", OFFER));
    assert_eq!(b.statuses_to(trunk()), [481]);
    assert_eq!(h.ep.calls()[0].state, CallState::Connected);
    caller.cseq += 10;
    let b = h.send(trunk(), &caller.in_dialog("BYE", ""));
    assert_eq!(b.statuses_to(trunk()), [200]);
    h.assert_all_clear();
}

// ----- media timeout ------------------------------------------------------------------

#[test]
fn media_timeout_byes_both_legs_with_a_reason() {
    let mut h = H::new();
    h.register("1001", phone1(), CONTACT1);
    let mut caller = Caller::new(17);
    connected_call(&mut h, &mut caller);
    let id = h.ep.calls()[0].id;
    assert!(h.ep.media_timeout(h.now, id, Leg::Caller));
    let b = h.drain();
    for who in [trunk(), phone1()] {
        let bye = b.request_to(who, Method::Bye);
        let reason = bye
            .headers
            .get(&HeaderName::from_wire("Reason"))
            .map(|v| v.as_str().to_owned());
        assert_eq!(
            reason.as_deref(),
            Some("SIP;cause=200;text=\"Media Timeout\"")
        );
    }
    assert_eq!(b.ended(), Some((HangupBy::System, EndReason::MediaTimeout)));
    assert_eq!(b.media, [MediaCommand::Close { call: id }]);
    assert!(!h.ep.media_timeout(h.now, id, Leg::Agent), "only once");
    // Nobody answers the BYEs: Timer F frees everything.
    h.assert_all_clear();
}

// ----- refusals at the door -------------------------------------------------------------

#[test]
fn no_common_codec_gets_488_with_a_warning_and_no_call() {
    let mut h = H::new();
    h.register("1001", phone1(), CONTACT1);
    let mut caller = Caller::new(18);
    let g729 = "v=0\no=x 1 1 IN IP4 198.51.100.7\ns=-\nc=IN IP4 198.51.100.7\nt=0 0\nm=audio 40000 RTP/AVP 18\na=rtpmap:18 G729/8000\n";
    let ruri = format!("sip:12345@{PUBLIC}");
    let b = h.send(trunk(), &caller.invite_with(&ruri, g729, ""));
    let r = b.response_to(trunk(), 488);
    assert!(header(&Message::Response(r), HeaderName::Warning).starts_with("305 "));
    assert_eq!(b.invites_anywhere(), 0);
    assert!(b.media.is_empty());
    assert!(matches!(
        b.calls.as_slice(),
        [CallEvent::Refused { status: 488, .. }]
    ));
    assert_eq!(h.ep.media_ports().in_use(), 0);
    h.assert_all_clear();
}

#[test]
fn malformed_sdp_gets_400_and_a_late_offer_488() {
    let mut h = H::new();
    h.register("1001", phone1(), CONTACT1);
    let ruri = format!("sip:12345@{PUBLIC}");
    let mut caller = Caller::new(19);
    let b = h.send(
        trunk(),
        &caller.invite_with(&ruri, "v=0\nm=audio banana RTP/AVP 0\n", ""),
    );
    assert_eq!(b.statuses_to(trunk()), [400]);
    let mut caller = Caller::new(20);
    let b = h.send(trunk(), &caller.invite_with(&ruri, "", ""));
    assert_eq!(b.statuses_to(trunk()), [488]);
    assert_eq!(b.invites_anywhere(), 0);
    h.assert_all_clear();
}

#[test]
fn untrusted_source_gets_403_and_an_unknown_number_404() {
    let mut h = H::new();
    h.register("1001", phone1(), CONTACT1);
    let mut caller = Caller::new(21);
    caller.from = stranger();
    let b = h.send(stranger(), &caller.invite());
    assert_eq!(b.statuses_to(stranger()), [403]);
    let mut caller = Caller::new(22);
    caller.dialed = "12399".into();
    let b = h.send(trunk(), &caller.invite());
    assert_eq!(b.statuses_to(trunk()), [404]);
    assert_eq!(b.invites_anywhere(), 0);
    assert!(
        matches!(b.calls.as_slice(), [CallEvent::Refused { status: 404, dialed, .. }] if dialed == "12399")
    );
    h.assert_all_clear();
}

#[test]
fn did_forms_with_country_code_and_tel_uris_are_accepted() {
    let mut h = H::new();
    for (n, ruri) in [
        (23, format!("sip:+8612345@{PUBLIC};user=phone")),
        (24, format!("sip:008612345@{PUBLIC}")),
        (25, "tel:+86-12345".to_owned()),
        (26, format!("sip:066812345@{PUBLIC}")),
    ] {
        let mut caller = Caller::new(n);
        let b = h.send(trunk(), &caller.invite_with(&ruri, OFFER, ""));
        // Accepted (100), then 480: nobody is registered.
        assert_eq!(b.statuses_to(trunk()), [100, 480], "{ruri}");
    }
    h.assert_all_clear();
}

// ----- toll fraud -----------------------------------------------------------------------

#[test]
fn nothing_from_outside_reaches_an_outside_number() {
    let mut h = H::new();
    h.register("1001", phone1(), CONTACT1);
    h.register("1002", phone2(), CONTACT2);
    let outside = [
        "13900000000",
        "+8613900000000",
        "008613900000000",
        "0066812345678",
        "110",
        "9013900000000",
        "*72",
    ];
    let mut n = 100;
    for number in outside {
        for (source, remote) in [
            ("trunk", trunk()),
            ("stranger", stranger()),
            ("agent", phone1()),
        ] {
            n += 1;
            let mut caller = Caller::new(n);
            caller.from = remote;
            let ruri = format!("sip:{number}@{PUBLIC}");
            let b = h.send(remote, &caller.invite_with(&ruri, OFFER, ""));
            let statuses = b.statuses_to(remote);
            let expected = if source == "trunk" { 404 } else { 403 };
            assert_eq!(statuses, [expected], "{source} → {number}");
            assert_eq!(
                b.invites_anywhere(),
                0,
                "{source} → {number}: no INVITE goes out"
            );
            // An agent with valid credentials (for a fresh nonce, got by
            // calling a colleague) is refused all the same.
            if source == "agent" {
                let mut probe = Caller::new(n + 5000);
                probe.from = remote;
                probe.number = "1001".into();
                let colleague = format!("sip:1002@{DOMAIN}");
                let b = h.send(remote, &probe.invite_with(&colleague, OFFER, ""));
                let challenge = b.response_to(remote, 401);
                let auth = h.answer(&challenge, "1001", "INVITE", &ruri);
                probe.cseq += 1;
                let b = h.send(
                    remote,
                    &probe.invite_with(&ruri, OFFER, &format!("Authorization: {auth}\n")),
                );
                assert_eq!(b.statuses_to(remote), [403], "agent → {number}");
                assert_eq!(b.invites_anywhere(), 0);
            }
        }
    }
    assert_eq!(h.ep.call_count(), 0);
    assert_eq!(h.ep.media_ports().in_use(), 0);
    h.assert_all_clear();
}

// ----- agent to agent -----------------------------------------------------------------

#[test]
fn agent_calls_agent_after_a_digest_challenge() {
    let mut h = H::new();
    h.register("1001", phone1(), CONTACT1);
    h.register("1002", phone2(), CONTACT2);
    let mut caller = Caller::new(30);
    caller.from = phone1();
    caller.number = "1001".into();
    let ruri = format!("sip:1002@{DOMAIN}");
    let b = h.send(phone1(), &caller.invite_with(&ruri, OFFER, ""));
    let challenge = b.response_to(phone1(), 401);
    assert_eq!(b.invites_anywhere(), 0);
    // ACK for the 401 (absorbed by the transaction), then the INVITE again.
    caller.cseq += 1;
    let auth = h.answer(&challenge, "1001", "INVITE", &ruri);
    let b = h.send(
        phone1(),
        &caller.invite_with(&ruri, OFFER, &format!("Authorization: {auth}\n")),
    );
    assert_eq!(b.statuses_to(phone1()), [100]);
    let inv = b.request_to(phone2(), Method::Invite);
    assert_eq!(inv.uri.as_str(), CONTACT2);
    assert!(matches!(b.calls.as_slice(),
        [CallEvent::Arrived { caller_number, did, .. }, CallEvent::Ringing { agent, .. }]
        if caller_number == "1001" && did == "1002" && agent == "1002"));
    let view = &h.ep.calls()[0];
    assert!(view.internal);
    // 1001 is busy now: a trunk call finds nobody free.
    let mut citizen = Caller::new(31);
    let b = h.send(trunk(), &citizen.invite());
    assert_eq!(b.statuses_to(trunk()), [100, 480]);
    // 1002 answers.
    let callee = Agent::new(phone2(), CONTACT2, inv);
    let b = callee.respond(&mut h, 200, &phone_sdp("10.0.0.22", 31000, "sendrecv", 1));
    let ok = b.response_to(phone1(), 200);
    caller.ok = Some(ok);
    h.send(phone1(), &caller.in_dialog("ACK", ""));
    let b = h.send(phone1(), &caller.in_dialog("BYE", ""));
    assert_eq!(b.statuses_to(phone1()), [200]);
    let bye = b.request_to(phone2(), Method::Bye);
    Agent::new(phone2(), CONTACT2, bye).respond(&mut h, 200, "");
    h.assert_all_clear();
}

#[test]
fn agent_calling_an_unregistered_or_busy_agent_is_refused() {
    let mut h = H::new();
    h.register("1001", phone1(), CONTACT1);
    let mut caller = Caller::new(32);
    caller.from = phone1();
    caller.number = "1001".into();
    let ruri = format!("sip:1003@{DOMAIN}");
    let b = h.send(phone1(), &caller.invite_with(&ruri, OFFER, ""));
    let challenge = b.response_to(phone1(), 401);
    caller.cseq += 1;
    let auth = h.answer(&challenge, "1001", "INVITE", &ruri);
    let b = h.send(
        phone1(),
        &caller.invite_with(&ruri, OFFER, &format!("Authorization: {auth}\n")),
    );
    assert_eq!(b.statuses_to(phone1()), [480], "1003 is not registered");
    assert_eq!(b.invites_anywhere(), 0);

    // 1003 registers and is offered a citizen's call.
    h.register("1003", phone2(), CONTACT2);
    let mut citizen = Caller::new(33);
    let b = h.send(trunk(), &citizen.invite());
    // 1001 is first in id order.
    let inv = b.request_to(phone1(), Method::Invite);
    let b = Agent::new(phone1(), CONTACT1, inv).respond(&mut h, 486, "");
    let inv = b.request_to(phone2(), Method::Invite);
    assert_eq!(inv.uri.as_str(), CONTACT2);
    // While 1003 is being rung, 1001 calls it: busy.
    let mut caller = Caller::new(34);
    caller.from = phone1();
    caller.number = "1001".into();
    let b = h.send(phone1(), &caller.invite_with(&ruri, OFFER, ""));
    let challenge = b.response_to(phone1(), 401);
    caller.cseq += 1;
    let auth = h.answer(&challenge, "1001", "INVITE", &ruri);
    let b = h.send(
        phone1(),
        &caller.invite_with(&ruri, OFFER, &format!("Authorization: {auth}\n")),
    );
    assert_eq!(b.statuses_to(phone1()), [486], "1003 is busy");
    assert_eq!(b.invites_anywhere(), 0);
    h.ep.hang_up(h.now, h.ep.calls()[0].id);
    h.assert_all_clear();
}

// ----- resources --------------------------------------------------------------------

#[test]
fn port_exhaustion_gives_503_and_frees_everything() {
    // Two pairs: one call takes both.
    let mut h = H::with_ports((20000, 20003));
    h.register("1001", phone1(), CONTACT1);
    let mut first = Caller::new(40);
    let (agent, _) = call_arrives(&mut h, &mut first);
    assert_eq!(h.ep.media_ports().available(), 0);
    let mut second = Caller::new(41);
    let b = h.send(trunk(), &second.invite());
    let r = b.response_to(trunk(), 503);
    assert!(r.headers.get(&HeaderName::RetryAfter).is_some());
    assert_eq!(b.invites_anywhere(), 0);
    assert!(matches!(
        b.calls.as_slice(),
        [CallEvent::Refused { status: 503, .. }]
    ));
    // The first call ends; the ports serve the next.
    agent.respond(&mut h, 603, "");
    assert_eq!(h.ep.media_ports().in_use(), 0);
    h.assert_all_clear();
    let mut third = Caller::new(42);
    let b = h.send(trunk(), &third.invite());
    assert_eq!(b.statuses_to(trunk()), [100]);
    h.ep.hang_up(h.now, h.ep.calls()[0].id);
    let b = h.drain();
    assert_eq!(b.statuses_to(trunk()), [480]);
    h.assert_all_clear();
}

#[test]
fn a_port_another_process_holds_fails_the_call_with_503_and_is_never_reused() {
    let mut h = H::with_ports((20000, 20007));
    h.register("1001", phone1(), CONTACT1);
    let mut caller = Caller::new(44);
    let (agent, b) = call_arrives(&mut h, &mut caller);
    let Some(MediaCommand::Open {
        call,
        local_rtp_port,
        ..
    }) = b.media.first().cloned()
    else {
        panic!("the call opens its media first: {:?}", b.media);
    };
    // The owner could not bind that port.
    assert!(h.ep.media_failed(h.now, call, local_rtp_port));
    let b = h.drain();
    let r = b.response_to(trunk(), 503);
    assert!(r.headers.get(&HeaderName::RetryAfter).is_some());
    assert!(matches!(
        b.calls.as_slice(),
        [CallEvent::Ended {
            reason: EndReason::Error,
            hangup_by: HangupBy::System,
            ..
        }]
    ));
    // The agent leg is torn down (CANCEL after its provisional).
    let b = agent.respond(&mut h, 180, "");
    b.request_to(phone1(), Method::Cancel);
    agent.respond(&mut h, 487, "");
    h.assert_all_clear();
    assert_eq!(h.ep.media_ports().quarantined(), 1);
    // The next calls never get the quarantined pair.
    for n in 45..48 {
        let mut next = Caller::new(n);
        let b = h.send(trunk(), &next.invite());
        for cmd in &b.media {
            if let MediaCommand::Open {
                local_rtp_port: p, ..
            } = cmd
            {
                assert_ne!(*p & !1, local_rtp_port & !1, "quarantined pair reused");
            }
        }
        assert_eq!(b.statuses_to(trunk()), [100], "{:#?}", b.sent);
        h.ep.hang_up(h.now, h.ep.calls()[0].id);
        // The agent never answers: its leg is given up 64·T1 later, ports freed.
        h.advance(Duration::from_secs(40));
        assert_eq!(h.ep.media_ports().in_use(), 0);
    }
    h.assert_all_clear();
}

#[test]
fn a_silent_agent_is_not_cancelled_before_it_sends_a_provisional() {
    let mut h = H::new();
    h.register("1001", phone1(), CONTACT1);
    let mut caller = Caller::new(43);
    let (agent, _) = call_arrives(&mut h, &mut caller);
    // No 1xx at all: the ring timeout fires first (20 s < Timer B).
    let b = h.advance(Duration::from_secs(21));
    assert!(b.requests_to(phone1(), Method::Cancel).is_empty(), "§9.1");
    let statuses = b.statuses_to(trunk());
    assert!(
        !statuses.is_empty() && statuses.iter().all(|s| *s == 480),
        "{statuses:?}"
    );
    // A 1xx now (late): the CANCEL goes, the 487 ends the leg.
    let agent = Agent::new(phone1(), CONTACT1, agent.invite);
    let b = agent.respond(&mut h, 180, "");
    b.request_to(phone1(), Method::Cancel);
    assert!(
        b.responses_to(trunk()).is_empty(),
        "the caller is long gone"
    );
    agent.respond(&mut h, 487, "");
    assert_eq!(h.ep.call_count(), 0);
    h.assert_all_clear();
}

#[test]
fn an_unreachable_agent_is_skipped_after_timer_b() {
    let mut cfg = config((20000, 20099));
    cfg.ring_timeout = Duration::from_secs(60);
    let mut h = H::with_config(cfg);
    h.register("1001", phone1(), CONTACT1);
    h.register("1002", phone2(), CONTACT2);
    let mut caller = Caller::new(44);
    let (_silent, _) = call_arrives(&mut h, &mut caller);
    let b = h.advance(Duration::from_secs(31));
    assert!(b.requests_to(phone2(), Method::Invite).is_empty());
    assert!(
        b.requests_to(phone1(), Method::Invite).len() >= 5,
        "Timer A"
    );
    // Timer B (64·T1 = 32 s): the next agent.
    let b = h.advance(Duration::from_secs(2));
    let inv = b.sent_request_to(phone2(), Method::Invite);
    assert!(b.responses_to(trunk()).is_empty());
    let agent2 = Agent::new(phone2(), CONTACT2, inv);
    let b = agent2.respond(&mut h, 480, "");
    assert_eq!(b.statuses_to(trunk()), [480]);
    assert_eq!(b.ended(), Some((HangupBy::System, EndReason::NoAnswer)));
    h.assert_all_clear();
}

#[test]
fn a_bye_in_the_early_dialog_ends_the_call_with_487() {
    let mut h = H::new();
    h.register("1001", phone1(), CONTACT1);
    let mut caller = Caller::new(45);
    let (agent, _) = call_arrives(&mut h, &mut caller);
    let b = agent.respond(&mut h, 180, "");
    // The caller knows our tag from the 180.
    caller.ok = Some(b.response_to(trunk(), 180).clone());
    let mut ringing = caller.ok.clone().expect("180");
    ringing
        .headers
        .push(HeaderName::Contact, format!("<sip:hotline@{PUBLIC}:5060>"));
    caller.ok = Some(ringing);
    let b = h.send(trunk(), &caller.in_dialog("BYE", ""));
    assert_eq!(b.statuses_to(trunk()), [200, 487]);
    b.request_to(phone1(), Method::Cancel);
    assert_eq!(b.ended(), Some((HangupBy::Caller, EndReason::Cancelled)));
    agent.respond(&mut h, 487, "");
    h.assert_all_clear();
}

#[test]
fn an_agent_answer_we_cannot_use_is_byed_and_the_next_agent_rung() {
    let mut h = H::new();
    h.register("1001", phone1(), CONTACT1);
    h.register("1002", phone2(), CONTACT2);
    let mut caller = Caller::new(46);
    let (agent, _) = call_arrives(&mut h, &mut caller);
    // G.729 was never offered (RFC 3264 §6.1).
    let bad = "v=0\no=p 1 1 IN IP4 10.0.0.21\ns=-\nc=IN IP4 10.0.0.21\nt=0 0\nm=audio 30000 RTP/AVP 18\na=rtpmap:18 G729/8000\n";
    let b = agent.respond(&mut h, 200, bad);
    b.request_to(phone1(), Method::Ack);
    let bye = b.request_to(phone1(), Method::Bye);
    b.request_to(phone2(), Method::Invite);
    assert!(b.responses_to(trunk()).is_empty());
    // Its 200 again (our ACK was lost): ACKed again.
    let b = agent.respond(&mut h, 200, bad);
    b.request_to(phone1(), Method::Ack);
    Agent::new(phone1(), CONTACT1, bye).respond(&mut h, 200, "");
    h.ep.hang_up(h.now, h.ep.calls()[0].id);
    let b = h.drain();
    assert_eq!(b.statuses_to(trunk()), [480]);
    assert_eq!(b.ended(), Some((HangupBy::System, EndReason::Normal)));
    h.assert_all_clear();
}

#[test]
fn a_merged_invite_gets_482_and_a_retry_with_a_new_cseq_is_a_new_call() {
    let mut h = H::new();
    h.register("1001", phone1(), CONTACT1);
    let mut caller = Caller::new(47);
    let (agent, _) = call_arrives(&mut h, &mut caller);
    // The same request by another path (new branch, same CSeq): §8.2.2.2.
    let b = h.send(trunk(), &caller.invite());
    assert_eq!(b.statuses_to(trunk()), [482]);
    assert_eq!(b.invites_anywhere(), 0);
    // The agent is busy; the trunk retries the call with the next CSeq.
    let b = agent.respond(&mut h, 486, "");
    assert_eq!(b.statuses_to(trunk()), [486]);
    caller.cseq += 1;
    let b = h.send(trunk(), &caller.invite());
    assert_eq!(b.statuses_to(trunk()), [100]);
    assert!(matches!(b.calls.first(), Some(CallEvent::Arrived { .. })));
    let inv = b.request_to(phone1(), Method::Invite);
    Agent::new(phone1(), CONTACT1, inv).respond(&mut h, 486, "");
    h.assert_all_clear();
}

// ----- any order of events: nothing leaks ----------------------------------------------

mod interleavings {
    use proptest::prelude::*;

    use super::*;

    #[derive(Debug, Clone)]
    enum Step {
        Cancel,
        Ack,
        Bye,
        Hold,
        AgentStatus(u16),
        AgentBye,
        AgentHold,
        Advance(u64),
        MediaTimeout,
        HangUp,
    }

    fn step() -> impl Strategy<Value = Step> {
        prop_oneof![
            1 => Just(Step::Cancel),
            3 => Just(Step::Ack),
            1 => Just(Step::Bye),
            2 => Just(Step::Hold),
            6 => prop::sample::select(vec![100u16, 180, 183, 200, 200, 408, 486, 487, 603])
                .prop_map(Step::AgentStatus),
            1 => Just(Step::AgentBye),
            2 => Just(Step::AgentHold),
            4 => (0u64..40_000).prop_map(Step::Advance),
            1 => Just(Step::MediaTimeout),
            1 => Just(Step::HangUp),
        ]
    }

    /// Plays a call's INVITE then `steps`, with two agents registered:
    /// whatever the order, the call ends exactly once, never causes an
    /// INVITE to the trunk outside its dialog, and once it has ended no call
    /// is left and every port is free.
    fn play(steps: &[Step]) {
        let mut h = H::new();
        h.register("1001", phone1(), CONTACT1);
        h.register("1002", phone2(), CONTACT2);
        let mut caller = Caller::new(500);
        let mut agents: Vec<Agent> = Vec::new();
        let b = h.send(trunk(), &caller.invite());
        let mut ended = 0;
        let mut closed = 0;
        let mut absorb = |b: Batch, caller: &mut Caller, agents: &mut Vec<Agent>| {
            for (to, m) in &b.sent {
                match m {
                    Message::Request(r) if r.method == Method::Invite && *to == trunk() => {
                        // Toll fraud: only re-INVITEs inside the caller's dialog.
                        let tagged = r.headers.to_addr().is_ok_and(|t| t.tag().is_some());
                        assert!(tagged, "an initial INVITE to the trunk: {r:?}");
                    }
                    Message::Request(r) if r.method == Method::Invite => {
                        let contact = if *to == phone1() { CONTACT1 } else { CONTACT2 };
                        agents.push(Agent::new(*to, contact, r.clone()));
                    }
                    Message::Response(r)
                        if *to == trunk()
                            && (180..300).contains(&r.status)
                            && r.headers.cseq().is_ok_and(|c| c.method == Method::Invite) =>
                    {
                        let mut r = r.clone();
                        if r.headers.contacts().is_ok_and(|c| c.is_empty()) {
                            r.headers
                                .push(HeaderName::Contact, format!("<sip:hotline@{PUBLIC}:5060>"));
                        }
                        caller.ok = Some(r);
                    }
                    _ => {}
                }
            }
            ended += b
                .calls
                .iter()
                .filter(|e| matches!(e, CallEvent::Ended { .. }))
                .count();
            closed += b
                .media
                .iter()
                .filter(|m| matches!(m, MediaCommand::Close { .. }))
                .count();
            assert!(ended <= 1 && closed <= 1, "one end per call");
        };
        absorb(b, &mut caller, &mut agents);
        for s in steps {
            let b = match s {
                Step::Cancel => h.send(trunk(), &caller.cancel()),
                Step::Ack if caller.ok.is_some() => {
                    let t = caller.in_dialog("ACK", "");
                    h.send(trunk(), &t)
                }
                Step::Bye if caller.ok.is_some() => {
                    let t = caller.in_dialog("BYE", "");
                    h.send(trunk(), &t)
                }
                Step::Hold if caller.ok.is_some() => {
                    let t = caller.in_dialog("INVITE", &OFFER.replace("sendrecv", "sendonly"));
                    h.send(trunk(), &t)
                }
                Step::AgentStatus(status) => match agents.last() {
                    Some(a) if *status == 200 => a.answer(&mut h),
                    Some(a) => a.respond(&mut h, *status, ""),
                    None => continue,
                },
                Step::AgentBye => match agents.last_mut() {
                    Some(a) => {
                        let t = a.in_dialog("BYE", "");
                        let r = a.remote;
                        h.send(r, &t)
                    }
                    None => continue,
                },
                Step::AgentHold => match agents.last_mut() {
                    Some(a) => {
                        let t =
                            a.in_dialog("INVITE", &phone_sdp("10.0.0.21", 30000, "sendonly", 9));
                        let r = a.remote;
                        h.send(r, &t)
                    }
                    None => continue,
                },
                Step::Advance(ms) => h.advance(Duration::from_millis(*ms)),
                Step::MediaTimeout => {
                    if let Some(c) = h.ep.calls().first() {
                        h.ep.media_timeout(h.now, c.id, Leg::Agent);
                    }
                    h.drain()
                }
                Step::HangUp => {
                    if let Some(c) = h.ep.calls().first() {
                        h.ep.hang_up(h.now, c.id);
                    }
                    h.drain()
                }
                _ => continue,
            };
            absorb(b, &mut caller, &mut agents);
        }
        // A call still up is hung up by the operator; whatever else was
        // pending, the peers go silent and time passes.
        if let Some(c) = h.ep.calls().first() {
            if c.state != CallState::Ending {
                h.ep.hang_up(h.now, c.id);
                let b = h.drain();
                absorb(b, &mut caller, &mut agents);
            }
        }
        let b = h.advance(Duration::from_secs(600));
        absorb(b, &mut caller, &mut agents);
        assert_eq!((ended, closed), (1, 1), "{steps:?}");
        assert_eq!(h.ep.call_count(), 0, "{steps:?}: {:#?}", h.ep.calls());
        assert_eq!(h.ep.media_ports().in_use(), 0, "{steps:?}");
    }

    #[test]
    fn a_connected_call_left_alone_is_ended_by_the_operator() {
        play(&[Step::AgentStatus(200), Step::Ack]);
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(300))]
        #[test]
        fn any_interleaving_ends_with_no_call_and_all_ports_free(
            steps in prop::collection::vec(step(), 1..30)
        ) {
            play(&steps);
        }
    }
}

#[test]
fn rfc2543_hold_and_inactive_are_relayed_as_such() {
    let mut h = H::new();
    h.register("1001", phone1(), CONTACT1);
    let mut caller = Caller::new(48);
    let mut agent = connected_call(&mut h, &mut caller);
    // The agent holds the old way: c=0.0.0.0 (RFC 3264 §8.4).
    let old_hold = phone_sdp("0.0.0.0", 30000, "sendrecv", 400);
    let b = h.send(phone1(), &agent.in_dialog("INVITE", &old_hold));
    b.response_to(phone1(), 200);
    let update = b
        .media
        .iter()
        .find_map(|m| match m {
            MediaCommand::Update {
                leg: Leg::Agent,
                remote,
                direction,
                ..
            } => Some((*remote, *direction)),
            _ => None,
        })
        .expect("an Update for the agent leg");
    assert!(update.0.ip().is_unspecified());
    assert_eq!(
        update.1,
        Direction::SendOnly,
        "c=0.0.0.0 means: do not send to me"
    );
    let reinvite = b.request_to(trunk(), Method::Invite);
    assert_eq!(
        body_sdp(&reinvite.body).media[0].direction(),
        Some(Direction::SendOnly)
    );
    let data = reply(
        &reinvite,
        200,
        "",
        "sip:13800138000@198.51.100.7:5060",
        &OFFER.replace("a=sendrecv", "a=recvonly"),
    );
    h.send_bytes(trunk(), data);
    h.send(phone1(), &agent.in_dialog("ACK", ""));
    // Then inactive.
    let inactive = phone_sdp("10.0.0.21", 30000, "inactive", 401);
    let b = h.send(phone1(), &agent.in_dialog("INVITE", &inactive));
    let ok = b.response_to(phone1(), 200);
    assert_eq!(
        body_sdp(&ok.body).media[0].direction(),
        Some(Direction::Inactive)
    );
    let reinvite = b.request_to(trunk(), Method::Invite);
    assert_eq!(
        body_sdp(&reinvite.body).media[0].direction(),
        Some(Direction::Inactive)
    );
    h.ep.hang_up(h.now, h.ep.calls()[0].id);
    h.assert_all_clear();
}

mod hosted;
mod originate;
