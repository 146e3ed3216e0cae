//! A small SIP user agent and RTP endpoint for end-to-end call tests, written
//! independently of the server's own SIP/SDP/RTP code: messages are built and
//! read as text, RTP headers as bytes, audio with the recordings crate's G.711
//! tables. Used from `tests/call_e2e.rs` (declared there with `#[path]`).
#![allow(dead_code, unreachable_pub)]

use std::collections::VecDeque;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use hotline_recordings::g711::{alaw_to_linear, linear_to_alaw, linear_to_ulaw, ulaw_to_linear};
use tokio::net::UdpSocket;

use crate::common::sip::{authorization, header_values, register, status};
use crate::common::DOMAIN;

// ----- SIP messages ------------------------------------------------------------

/// Compact forms (RFC 3261 §7.3.3) of the headers these tests read.
fn compact(name: &str) -> Option<&'static str> {
    Some(match name.to_ascii_lowercase().as_str() {
        "via" => "v",
        "from" => "f",
        "to" => "t",
        "call-id" => "i",
        "contact" => "m",
        "content-length" => "l",
        "content-type" => "c",
        _ => return None,
    })
}

/// One SIP message as received, with when and where from.
#[derive(Debug, Clone)]
pub struct Msg {
    pub raw: String,
    pub from: SocketAddr,
    pub at: Instant,
}

impl Msg {
    pub fn first_line(&self) -> &str {
        self.raw.lines().next().unwrap_or_default()
    }

    pub fn is_response(&self) -> bool {
        self.raw.starts_with("SIP/2.0 ")
    }

    /// Status code of a response, `None` for a request.
    pub fn status(&self) -> Option<u16> {
        self.is_response().then(|| status(&self.raw))
    }

    /// Method of a request, `None` for a response.
    pub fn method(&self) -> Option<&str> {
        (!self.is_response()).then(|| self.first_line().split(' ').next().unwrap_or_default())
    }

    pub fn request_uri(&self) -> &str {
        self.first_line().split(' ').nth(1).unwrap_or_default()
    }

    /// Every value of a header, by long or compact name.
    pub fn headers(&self, name: &str) -> Vec<&str> {
        let short = compact(name);
        self.raw
            .split("\r\n")
            .skip(1)
            .take_while(|l| !l.is_empty())
            .filter_map(|l| l.split_once(':'))
            .filter(|(n, _)| {
                let n = n.trim();
                n.eq_ignore_ascii_case(name) || short.is_some_and(|s| n.eq_ignore_ascii_case(s))
            })
            .map(|(_, v)| v.trim())
            .collect()
    }

    pub fn header(&self, name: &str) -> &str {
        self.headers(name)
            .first()
            .copied()
            .unwrap_or_else(|| panic!("no {name} header in:\n{}", self.raw))
    }

    pub fn body(&self) -> &str {
        self.raw.split_once("\r\n\r\n").map_or("", |(_, b)| b)
    }

    /// The method named in CSeq.
    pub fn cseq_method(&self) -> &str {
        self.header("CSeq")
            .split_whitespace()
            .nth(1)
            .unwrap_or_default()
    }

    pub fn cseq_number(&self) -> u32 {
        self.header("CSeq")
            .split_whitespace()
            .next()
            .and_then(|n| n.parse().ok())
            .unwrap_or_default()
    }

    pub fn call_id(&self) -> &str {
        self.header("Call-ID")
    }

    /// The `tag` parameter of To.
    pub fn to_tag(&self) -> Option<String> {
        tag_of(self.header("To"))
    }

    pub fn tag_in_from(&self) -> Option<String> {
        tag_of(self.header("From"))
    }

    /// The URI of the (first) Contact, without angle brackets.
    pub fn contact_uri(&self) -> String {
        uri_of(self.header("Contact"))
    }

    /// The branch of the top Via.
    pub fn branch(&self) -> String {
        param(self.header("Via"), "branch").unwrap_or_default()
    }

    /// A response to this request: Via, From, To (with `to_tag` added when the
    /// To has none), Call-ID and CSeq copied (RFC 3261 §8.2.6.2).
    pub fn response(
        &self,
        code: u16,
        reason: &str,
        to_tag: &str,
        extra: &str,
        body: &str,
    ) -> String {
        let mut out = format!("SIP/2.0 {code} {reason}\r\n");
        for v in self.headers("Via") {
            out.push_str(&format!("Via: {v}\r\n"));
        }
        out.push_str(&format!("From: {}\r\n", self.header("From")));
        let to = self.header("To");
        if tag_of(to).is_some() || code == 100 {
            out.push_str(&format!("To: {to}\r\n"));
        } else {
            out.push_str(&format!("To: {to};tag={to_tag}\r\n"));
        }
        out.push_str(&format!("Call-ID: {}\r\n", self.call_id()));
        out.push_str(&format!("CSeq: {}\r\n", self.header("CSeq")));
        out.push_str(extra);
        if body.is_empty() {
            out.push_str("Content-Length: 0\r\n\r\n");
        } else {
            out.push_str(&format!(
                "Content-Type: application/sdp\r\nContent-Length: {}\r\n\r\n{body}",
                body.len()
            ));
        }
        out
    }

    /// One line for a trace of the dialogue: the first line and the CSeq.
    pub fn summary(&self) -> String {
        let cseq = self
            .headers("CSeq")
            .first()
            .copied()
            .unwrap_or("?")
            .to_owned();
        format!("{} [{}] from {}", self.first_line(), cseq, self.from)
    }
}

fn param(value: &str, name: &str) -> Option<String> {
    value
        .split(';')
        .skip(1)
        .filter_map(|p| p.split_once('='))
        .find(|(n, _)| n.trim().eq_ignore_ascii_case(name))
        .map(|(_, v)| v.trim().trim_matches('>').to_owned())
}

/// The `tag` of a From/To value (a parameter after the name-addr).
pub fn tag_of(value: &str) -> Option<String> {
    let after = value.rsplit_once('>').map_or(value, |(_, rest)| rest);
    param(&format!("x{after}"), "tag")
}

/// The URI of a name-addr or addr-spec value.
pub fn uri_of(value: &str) -> String {
    match (value.find('<'), value.find('>')) {
        (Some(a), Some(b)) if a < b => value[a + 1..b].to_owned(),
        _ => value.split(';').next().unwrap_or(value).trim().to_owned(),
    }
}

// ----- the SIP user agent ------------------------------------------------------

/// A UDP SIP endpoint talking to the server (a trunk or an agent's phone).
/// Messages that arrive while waiting for another one are kept for later
/// waits, and every message is traced for failure reports.
pub struct SipUa {
    pub name: &'static str,
    pub sock: UdpSocket,
    pub server: SocketAddr,
    backlog: VecDeque<Msg>,
    trace: Vec<String>,
    counter: u32,
}

impl SipUa {
    pub async fn bind(name: &'static str, ip: IpAddr, server: SocketAddr) -> SipUa {
        let sock = UdpSocket::bind((ip, 0)).await.expect("bind SIP socket");
        SipUa {
            name,
            sock,
            server,
            backlog: VecDeque::new(),
            trace: Vec::new(),
            counter: 0,
        }
    }

    pub fn local(&self) -> SocketAddr {
        self.sock.local_addr().expect("local addr")
    }

    /// A fresh token for branches, tags and Call-IDs.
    pub fn fresh(&mut self, what: &str) -> String {
        self.counter += 1;
        format!("{what}{}{:x}", self.counter, rand::random::<u32>())
    }

    pub async fn send(&mut self, msg: &str) {
        self.trace.push(format!(
            "{} -> {}",
            msg.lines().next().unwrap_or_default(),
            self.server
        ));
        self.sock
            .send_to(msg.as_bytes(), self.server)
            .await
            .expect("send SIP");
    }

    /// The messages this UA sent and received so far, one line each.
    pub fn trace(&self) -> String {
        format!("{} saw:\n  {}", self.name, self.trace.join("\n  "))
    }

    async fn read(&mut self, until: Instant) -> Option<Msg> {
        let mut buf = vec![0u8; 65_535];
        let left = until.saturating_duration_since(Instant::now());
        let (n, from) = tokio::time::timeout(left, self.sock.recv_from(&mut buf))
            .await
            .ok()?
            .expect("recv SIP");
        let msg = Msg {
            raw: String::from_utf8_lossy(&buf[..n]).into_owned(),
            from,
            at: Instant::now(),
        };
        self.trace.push(format!("<- {}", msg.summary()));
        Some(msg)
    }

    /// The first message (kept or new) matching `pred`, within `within` — a
    /// guard against a hang, not a performance bound. Panics with the trace.
    pub async fn wait_for(
        &mut self,
        what: &str,
        within: Duration,
        pred: impl Fn(&Msg) -> bool,
    ) -> Msg {
        if let Some(i) = self.backlog.iter().position(&pred) {
            return self.backlog.remove(i).expect("index in range");
        }
        let until = Instant::now() + within;
        loop {
            match self.read(until).await {
                Some(m) if pred(&m) => return m,
                Some(m) => self.backlog.push_back(m),
                None => panic!(
                    "{}: no {what} within {within:?}\n{}",
                    self.name,
                    self.trace()
                ),
            }
        }
    }

    /// A request with this method.
    pub async fn request(&mut self, method: &str) -> Msg {
        let m = method.to_owned();
        self.wait_for(method, Duration::from_secs(10), move |x| {
            x.method() == Some(m.as_str())
        })
        .await
    }

    /// A response with `code` to a request with `method` in CSeq.
    pub async fn response(&mut self, method: &str, code: u16) -> Msg {
        let m = method.to_owned();
        self.wait_for(
            &format!("{code} to {method}"),
            Duration::from_secs(10),
            move |x| x.status() == Some(code) && x.cseq_method() == m,
        )
        .await
    }

    /// The next final response to `method` (whatever its code).
    pub async fn final_response(&mut self, method: &str) -> Msg {
        let m = method.to_owned();
        self.wait_for(
            &format!("final response to {method}"),
            Duration::from_secs(10),
            move |x| x.status().is_some_and(|s| s >= 200) && x.cseq_method() == m,
        )
        .await
    }

    /// Everything that arrives in the next `span` (plus what was kept).
    pub async fn drain(&mut self, span: Duration) -> Vec<Msg> {
        let until = Instant::now() + span;
        let mut all: Vec<Msg> = self.backlog.drain(..).collect();
        while let Some(m) = self.read(until).await {
            all.push(m);
        }
        all
    }

    /// Registers `user` with digest authentication (Contact on this socket).
    pub async fn register(&mut self, user: &str, password: &str) {
        let local = self.local();
        let call_id = self.fresh("reg");
        let first = register("UDP", local, user, &call_id, 1, 600, "");
        self.send(&first).await;
        let challenge = self.final_response("REGISTER").await;
        assert_eq!(challenge.status(), Some(401), "{}", challenge.raw);
        let www = header_values(&challenge.raw, "WWW-Authenticate");
        let auth = authorization(
            www[0],
            user,
            password,
            "REGISTER",
            &format!("sip:{DOMAIN}"),
            1,
        );
        let second = register(
            "UDP",
            local,
            user,
            &call_id,
            2,
            600,
            &format!("Authorization: {auth}\r\n"),
        );
        self.send(&second).await;
        let ok = self.final_response("REGISTER").await;
        assert_eq!(ok.status(), Some(200), "{}", ok.raw);
    }

    /// The Contact URI `register` binds.
    pub fn contact(&self, user: &str) -> String {
        format!("sip:{user}@{};transport=udp", self.local())
    }
}

// ----- a trunk's call ----------------------------------------------------------

/// The caller side of one call from the trunk: what in-dialog requests need.
pub struct TrunkCall {
    pub call_id: String,
    pub from_tag: String,
    pub branch: String,
    pub request_uri: String,
    pub from: String,
    pub to: String,
    /// Set from the 2xx (or the final response).
    pub to_tag: Option<String>,
    /// The server's Contact from the 2xx (the remote target, §12.1.2).
    pub remote_target: Option<String>,
    pub cseq: u32,
}

impl TrunkCall {
    /// A new call from `caller` to `dialed` (user parts).
    pub fn new(ua: &mut SipUa, caller: &str, dialed: &str) -> TrunkCall {
        let host = ua.local().ip();
        TrunkCall {
            call_id: format!("{}@{host}", ua.fresh("call")),
            from_tag: ua.fresh("ft"),
            branch: format!("z9hG4bK{}", ua.fresh("inv")),
            request_uri: format!("sip:{dialed}@{DOMAIN}"),
            from: format!("<sip:{caller}@{host}>"),
            to: format!("<sip:{dialed}@{DOMAIN}>"),
            to_tag: None,
            remote_target: None,
            cseq: 1,
        }
    }

    /// The INVITE with `body` (an SDP offer, or anything for the bad-input tests).
    pub fn invite(&self, ua: &SipUa, content_type: &str, body: &str) -> String {
        let local = ua.local();
        format!(
            "INVITE {ruri} SIP/2.0\r\n\
             Via: SIP/2.0/UDP {local};branch={branch};rport\r\n\
             Max-Forwards: 70\r\n\
             From: {from};tag={ftag}\r\n\
             To: {to}\r\n\
             Call-ID: {cid}\r\n\
             CSeq: 1 INVITE\r\n\
             Contact: <sip:trunk@{local}>\r\n\
             Allow: INVITE, ACK, CANCEL, BYE, OPTIONS\r\n\
             Content-Type: {content_type}\r\n\
             Content-Length: {len}\r\n\r\n{body}",
            ruri = self.request_uri,
            branch = self.branch,
            from = self.from,
            ftag = self.from_tag,
            to = self.to,
            cid = self.call_id,
            len = body.len(),
        )
    }

    /// CANCEL of the INVITE (§9.1: same branch, Request-URI, Call-ID, From, To, CSeq number).
    pub fn cancel(&self, ua: &SipUa) -> String {
        format!(
            "CANCEL {ruri} SIP/2.0\r\n\
             Via: SIP/2.0/UDP {local};branch={branch};rport\r\n\
             Max-Forwards: 70\r\n\
             From: {from};tag={ftag}\r\n\
             To: {to}\r\n\
             Call-ID: {cid}\r\n\
             CSeq: 1 CANCEL\r\n\
             Content-Length: 0\r\n\r\n",
            ruri = self.request_uri,
            local = ua.local(),
            branch = self.branch,
            from = self.from,
            ftag = self.from_tag,
            to = self.to,
            cid = self.call_id,
        )
    }

    /// ACK for a non-2xx final response (§17.1.1.3: same branch, the response's To).
    pub fn ack_failure(&self, ua: &SipUa, resp: &Msg) -> String {
        format!(
            "ACK {ruri} SIP/2.0\r\n\
             Via: SIP/2.0/UDP {local};branch={branch};rport\r\n\
             Max-Forwards: 70\r\n\
             From: {from};tag={ftag}\r\n\
             To: {to}\r\n\
             Call-ID: {cid}\r\n\
             CSeq: 1 ACK\r\n\
             Content-Length: 0\r\n\r\n",
            ruri = self.request_uri,
            local = ua.local(),
            branch = self.branch,
            from = self.from,
            ftag = self.from_tag,
            to = resp.header("To"),
            cid = self.call_id,
        )
    }

    /// Remembers the dialog from the 2xx.
    pub fn confirmed(&mut self, ok: &Msg) {
        self.to_tag = Some(ok.to_tag().expect("a To tag on the 2xx"));
        self.remote_target = Some(ok.contact_uri());
    }

    /// An in-dialog request (ACK with CSeq 1, or BYE with the next CSeq), sent
    /// to the remote target with a new branch (§12.2.1.1, §13.2.2.4).
    pub fn in_dialog(&mut self, ua: &mut SipUa, method: &str) -> String {
        let cseq = if method == "ACK" {
            1
        } else {
            self.cseq += 1;
            self.cseq
        };
        let branch = format!("z9hG4bK{}", ua.fresh("dlg"));
        format!(
            "{method} {target} SIP/2.0\r\n\
             Via: SIP/2.0/UDP {local};branch={branch};rport\r\n\
             Max-Forwards: 70\r\n\
             From: {from};tag={ftag}\r\n\
             To: {to};tag={ttag}\r\n\
             Call-ID: {cid}\r\n\
             CSeq: {cseq} {method}\r\n\
             Content-Length: 0\r\n\r\n",
            target = self.remote_target.as_deref().expect("dialog confirmed"),
            local = ua.local(),
            from = self.from,
            ftag = self.from_tag,
            to = self.to,
            ttag = self.to_tag.as_deref().expect("dialog confirmed"),
            cid = self.call_id,
        )
    }
}

/// The agent phone's side of one incoming call: BYE towards the server.
pub struct AgentDialog {
    pub invite: Msg,
    pub local_tag: String,
    pub cseq: u32,
}

impl AgentDialog {
    /// A BYE from the agent (UAS of the INVITE: From is the INVITE's To with
    /// our tag, To is the INVITE's From; target the server's Contact).
    pub fn bye(&mut self, ua: &mut SipUa) -> String {
        self.request(ua, "BYE", "")
    }

    /// An in-dialog request from the agent phone, with `extra` header lines
    /// (each ending in CRLF).
    pub fn request(&mut self, ua: &mut SipUa, method: &str, extra: &str) -> String {
        self.cseq += 1;
        let branch = format!("z9hG4bK{}", ua.fresh("areq"));
        let to_uri = self.invite.header("To");
        let to_uri = to_uri.split(";tag=").next().unwrap_or(to_uri);
        format!(
            "{method} {target} SIP/2.0\r\n\
             Via: SIP/2.0/UDP {local};branch={branch};rport\r\n\
             Max-Forwards: 70\r\n\
             From: {to_uri};tag={tag}\r\n\
             To: {from}\r\n\
             Call-ID: {cid}\r\n\
             CSeq: {cseq} {method}\r\n\
             {extra}Content-Length: 0\r\n\r\n",
            target = self.invite.contact_uri(),
            local = ua.local(),
            tag = self.local_tag,
            from = self.invite.header("From"),
            cid = self.invite.call_id(),
            cseq = self.cseq,
        )
    }
}

// ----- SDP -----------------------------------------------------------------------

/// The audio stream an SDP body describes (what these tests need of it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SdpAudio {
    pub addr: IpAddr,
    pub port: u16,
    /// Payload types of the m= line, in order.
    pub pts: Vec<u8>,
    /// `(pt, encoding name)` of the rtpmap lines.
    pub rtpmaps: Vec<(u8, String)>,
}

impl SdpAudio {
    /// Parses `body`; panics (with the body) when it is not what a sane server sends.
    pub fn parse(body: &str) -> SdpAudio {
        let mut addr = None;
        let mut media = None;
        let mut rtpmaps = Vec::new();
        for line in body.lines() {
            if let Some(c) = line.strip_prefix("c=IN IP4 ") {
                addr = Some(c.trim().parse().unwrap_or_else(|_| panic!("c= in {body}")));
            } else if let Some(m) = line.strip_prefix("m=audio ") {
                let mut parts = m.split_whitespace();
                let port: u16 = parts.next().and_then(|p| p.parse().ok()).expect("m= port");
                assert_eq!(parts.next(), Some("RTP/AVP"), "{body}");
                let pts = parts.filter_map(|p| p.parse().ok()).collect();
                media = Some((port, pts));
            } else if let Some(r) = line.strip_prefix("a=rtpmap:") {
                if let Some((pt, enc)) = r.split_once(' ') {
                    let name = enc
                        .split('/')
                        .next()
                        .unwrap_or_default()
                        .to_ascii_uppercase();
                    rtpmaps.push((pt.parse().expect("rtpmap pt"), name));
                }
            }
        }
        let (port, pts) = media.unwrap_or_else(|| panic!("no m=audio in {body}"));
        SdpAudio {
            addr: addr.unwrap_or_else(|| panic!("no c= in {body}")),
            port,
            pts,
            rtpmaps,
        }
    }

    pub fn rtp(&self) -> SocketAddr {
        SocketAddr::new(self.addr, self.port)
    }

    /// Encoding name of `pt` (static types by RFC 3551 when no rtpmap).
    pub fn encoding(&self, pt: u8) -> Option<String> {
        self.rtpmaps
            .iter()
            .find(|(p, _)| *p == pt)
            .map(|(_, n)| n.clone())
            .or(match pt {
                0 => Some("PCMU".to_owned()),
                8 => Some("PCMA".to_owned()),
                _ => None,
            })
    }

    /// The payload type of `name` (e.g. "TELEPHONE-EVENT").
    pub fn pt_of(&self, name: &str) -> Option<u8> {
        self.pts.iter().copied().find(|pt| {
            self.encoding(*pt)
                .is_some_and(|n| n.eq_ignore_ascii_case(name))
        })
    }
}

/// A G.711 + telephone-event offer or answer on `rtp`.
pub fn sdp(rtp: SocketAddr, audio: &[(u8, &str)], event_pt: Option<u8>) -> String {
    let mut pts: Vec<String> = audio.iter().map(|(pt, _)| pt.to_string()).collect();
    if let Some(pt) = event_pt {
        pts.push(pt.to_string());
    }
    let mut s = format!(
        "v=0\r\no=test 4711 1 IN IP4 {ip}\r\ns=-\r\nc=IN IP4 {ip}\r\nt=0 0\r\nm=audio {port} RTP/AVP {pts}\r\n",
        ip = rtp.ip(),
        port = rtp.port(),
        pts = pts.join(" "),
    );
    for (pt, name) in audio {
        s.push_str(&format!("a=rtpmap:{pt} {name}/8000\r\n"));
    }
    if let Some(pt) = event_pt {
        s.push_str(&format!(
            "a=rtpmap:{pt} telephone-event/8000\r\na=fmtp:{pt} 0-16\r\n"
        ));
    }
    s.push_str("a=ptime:20\r\na=sendrecv\r\n");
    s
}

// ----- RTP -------------------------------------------------------------------------

/// µ-law or A-law.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Law {
    Ulaw,
    Alaw,
}

impl Law {
    pub fn of_pt(pt: u8) -> Option<Law> {
        match pt {
            0 => Some(Law::Ulaw),
            8 => Some(Law::Alaw),
            _ => None,
        }
    }

    pub fn encode(self, s: i16) -> u8 {
        match self {
            Law::Ulaw => linear_to_ulaw(s),
            Law::Alaw => linear_to_alaw(s),
        }
    }

    pub fn decode(self, b: u8) -> i16 {
        match self {
            Law::Ulaw => ulaw_to_linear(b),
            Law::Alaw => alaw_to_linear(b),
        }
    }
}

/// An RTP packet (version 2, no CSRC, no extension).
pub fn rtp_packet(pt: u8, marker: bool, seq: u16, ts: u32, ssrc: u32, payload: &[u8]) -> Vec<u8> {
    let mut p = vec![0x80, pt | if marker { 0x80 } else { 0 }];
    p.extend_from_slice(&seq.to_be_bytes());
    p.extend_from_slice(&ts.to_be_bytes());
    p.extend_from_slice(&ssrc.to_be_bytes());
    p.extend_from_slice(payload);
    p
}

/// One key press as RFC 4733 telephone-events: the start packet (marker), two
/// updates and the end packet three times (§2.5.1.4), all with the event's
/// timestamp `ts`; sequence numbers from `seq`. Returns the next sequence number.
pub async fn send_dtmf(
    sock: &UdpSocket,
    to: SocketAddr,
    pt: u8,
    digit: char,
    ssrc: u32,
    seq: u16,
    ts: u32,
) -> u16 {
    let event = match digit {
        '0'..='9' => digit as u8 - b'0',
        '*' => 10,
        '#' => 11,
        other => panic!("not a DTMF key: {other}"),
    };
    let mut seq = seq;
    let packets: [(bool, bool, u16); 6] = [
        (true, false, 160),
        (false, false, 320),
        (false, false, 480),
        (false, true, 640),
        (false, true, 640),
        (false, true, 640),
    ];
    for (marker, end, duration) in packets {
        let flags = if end { 0x80 } else { 0 } | 10;
        let d = duration.to_be_bytes();
        let p = rtp_packet(pt, marker, seq, ts, ssrc, &[event, flags, d[0], d[1]]);
        sock.send_to(&p, to).await.expect("send DTMF");
        seq = seq.wrapping_add(1);
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    seq
}

/// 20 ms (160 samples) of a `freq` Hz sine, amplitude 8000, from sample `n0`.
pub fn tone(freq: f64, n0: u64, law: Law) -> Vec<u8> {
    (0..160u64)
        .map(|i| {
            let t = (n0 + i) as f64 / 8000.0;
            law.encode((8000.0 * (2.0 * std::f64::consts::PI * freq * t).sin()) as i16)
        })
        .collect()
}

/// A received RTP packet's header fields and payload.
#[derive(Debug, Clone)]
pub struct RtpIn {
    pub pt: u8,
    pub seq: u16,
    pub ts: u32,
    pub ssrc: u32,
    pub payload: Vec<u8>,
    pub from: SocketAddr,
}

impl RtpIn {
    /// Parses a datagram; `None` for anything not a plain RTP v2 packet.
    pub fn parse(d: &[u8], from: SocketAddr) -> Option<RtpIn> {
        if d.len() < 12 || d[0] >> 6 != 2 {
            return None;
        }
        let cc = usize::from(d[0] & 0x0f);
        let mut start = 12 + 4 * cc;
        if d[0] & 0x10 != 0 {
            let words = usize::from(u16::from_be_bytes([*d.get(start + 2)?, *d.get(start + 3)?]));
            start += 4 + 4 * words;
        }
        let mut end = d.len();
        if d[0] & 0x20 != 0 {
            end = end.checked_sub(usize::from(*d.last()?))?;
        }
        Some(RtpIn {
            pt: d[1] & 0x7f,
            seq: u16::from_be_bytes([d[2], d[3]]),
            ts: u32::from_be_bytes([d[4], d[5], d[6], d[7]]),
            ssrc: u32::from_be_bytes([d[8], d[9], d[10], d[11]]),
            payload: d.get(start..end)?.to_vec(),
            from,
        })
    }
}

/// What one side of a call did on its RTP socket.
#[derive(Debug, Default)]
pub struct Talk {
    pub sent: u32,
    pub received: Vec<RtpIn>,
    /// Datagrams that were not RTP.
    pub garbage: u32,
}

/// Sends `count` packets of a `freq` tone (20 ms apart) from `sock` to `to`,
/// receiving meanwhile and for `tail` after the last one.
pub async fn talk(
    sock: Arc<UdpSocket>,
    to: SocketAddr,
    pt: u8,
    freq: f64,
    ssrc: u32,
    count: u32,
    tail: Duration,
) -> Talk {
    let law = Law::of_pt(pt).expect("a G.711 payload type");
    let mut out = Talk::default();
    let mut tick = tokio::time::interval(Duration::from_millis(20));
    let mut buf = vec![0u8; 2048];
    let mut seq: u16 = rand::random();
    let mut ts: u32 = rand::random();
    let mut stop_at: Option<tokio::time::Instant> = None;
    loop {
        let deadline =
            stop_at.unwrap_or_else(|| tokio::time::Instant::now() + Duration::from_secs(3600));
        tokio::select! {
            _ = tick.tick(), if out.sent < count => {
                let n0 = u64::from(out.sent) * 160;
                let p = rtp_packet(pt, out.sent == 0, seq, ts, ssrc, &tone(freq, n0, law));
                sock.send_to(&p, to).await.expect("send RTP");
                out.sent += 1;
                seq = seq.wrapping_add(1);
                ts = ts.wrapping_add(160);
                if out.sent == count {
                    stop_at = Some(tokio::time::Instant::now() + tail);
                }
            }
            r = sock.recv_from(&mut buf) => {
                let (n, from) = r.expect("recv RTP");
                match RtpIn::parse(&buf[..n], from) {
                    Some(p) => out.received.push(p),
                    None => out.garbage += 1,
                }
            }
            () = tokio::time::sleep_until(deadline) => break,
        }
    }
    out
}

/// Whatever arrives on `sock` in the next `span`.
pub async fn listen(sock: &UdpSocket, span: Duration) -> Vec<Vec<u8>> {
    let until = tokio::time::Instant::now() + span;
    let mut all = Vec::new();
    let mut buf = vec![0u8; 2048];
    while let Ok(r) = tokio::time::timeout_at(until, sock.recv_from(&mut buf)).await {
        let (n, _) = r.expect("recv");
        all.push(buf[..n].to_vec());
    }
    all
}

// ----- audio analysis ------------------------------------------------------------

/// Power of `freq` in `samples` (Goertzel), normalised by length.
pub fn power(samples: &[i16], freq: f64) -> f64 {
    let w = 2.0 * std::f64::consts::PI * freq / 8000.0;
    let c = 2.0 * w.cos();
    let (mut s1, mut s2) = (0.0f64, 0.0f64);
    for &x in samples {
        let s0 = f64::from(x) + c * s1 - s2;
        s2 = s1;
        s1 = s0;
    }
    (s1 * s1 + s2 * s2 - c * s1 * s2) / (samples.len() as f64).powi(2)
}

/// Frequency estimated from zero crossings (a clean sine has two per period):
/// the crossings after the first, over the time from the first to the last.
/// Counting from crossing to crossing, rather than over the whole slice, keeps
/// the slice's ends (and a tone whose period divides the slice) from biasing it.
pub fn zero_crossing_hz(samples: &[i16]) -> f64 {
    let (n, span) = crossing_span(samples);
    f64::from(n) / 2.0 / (span as f64 / 8000.0)
}

/// `(crossings after the first, samples from the first to the last)`; sum
/// these over several slices for one estimate.
pub fn crossing_span(samples: &[i16]) -> (u32, usize) {
    let mut first = None;
    let mut last = 0;
    let mut n = 0u32;
    for (i, w) in samples.windows(2).enumerate() {
        if (w[0] < 0) != (w[1] < 0) {
            match first {
                None => first = Some(i),
                Some(_) => n += 1,
            }
            last = i;
        }
    }
    (n, first.map_or(0, |f| last - f))
}

/// Decodes received G.711 packets (in arrival order) to linear samples.
pub fn decode(packets: &[RtpIn]) -> Vec<i16> {
    packets
        .iter()
        .filter_map(|p| Law::of_pt(p.pt).map(|law| (law, &p.payload)))
        .flat_map(|(law, payload)| payload.iter().map(move |b| law.decode(*b)))
        .collect()
}

// ----- the far end of calls the server places ------------------------------------

/// The carrier trunk (and the citizen's phone behind it) receiving a call the
/// server places: the INVITE, and the responses to it.
pub struct Incoming {
    pub invite: Msg,
    /// Our To tag.
    pub tag: String,
}

impl Incoming {
    /// Waits for the server's next INVITE.
    pub async fn wait(ua: &mut SipUa) -> Incoming {
        let invite = ua.request("INVITE").await;
        let tag = ua.fresh("uas");
        Incoming { invite, tag }
    }

    /// Sends a response to the INVITE with `extra` header lines (each ending
    /// in CRLF) and an SDP `body` (or none).
    pub async fn reply(&self, ua: &mut SipUa, code: u16, extra: &str, body: &str) {
        let contact = format!("Contact: <sip:citizen@{}>\r\n", ua.local());
        let extra = if (200..300).contains(&code) || (101..200).contains(&code) {
            format!("{contact}{extra}")
        } else {
            extra.to_owned()
        };
        let reason = match code {
            180 => "Ringing",
            200 => "OK",
            401 => "Unauthorized",
            407 => "Proxy Authentication Required",
            486 => "Busy Here",
            480 => "Temporarily Unavailable",
            _ => "Whatever",
        };
        ua.send(&self.invite.response(code, reason, &self.tag, &extra, body))
            .await;
    }

    /// The server's SDP offer.
    pub fn offer(&self) -> SdpAudio {
        SdpAudio::parse(self.invite.body())
    }

    /// Our side of the dialog, once answered (BYE towards the server).
    pub fn dialog(&self) -> AgentDialog {
        AgentDialog {
            invite: self.invite.clone(),
            local_tag: self.tag.clone(),
            cseq: 1,
        }
    }
}
