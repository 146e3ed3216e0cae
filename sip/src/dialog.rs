//! RFC 3261 §12 dialogs, for both roles, sans-IO.
//!
//! A dialog is the peer-to-peer relationship an INVITE sets up: it fixes how every
//! later request of the call is addressed (Request-URI, Route, From/To tags,
//! Call-ID, CSeq). The B2BUA holds two: a **UAS** dialog with the trunk (the
//! caller leg) and a **UAC** dialog with the agent's phone.
//!
//! # Life cycle
//!
//! ```text
//!  UAS: INVITE received ── new_uas ──► Early ── we send 2xx: confirm() ──► Confirmed
//!  UAC: our INVITE + 1xx with To tag ── new_uac ──► Early ── 2xx: confirm_with() ──► Confirmed
//!       our INVITE + 2xx             ── new_uac ──────────────────────────────► Confirmed
//!  Either ends when a BYE is sent or received (the call drops the value).
//! ```
//!
//! # State (§12.1.1 UAS, §12.1.2 UAC)
//!
//! - **id**: Call-ID, local tag, remote tag ([`DialogId`]). For a request we
//!   receive the local tag is in To; for a response to a request we sent it is in
//!   From ([`DialogId::of_request`], [`DialogId::of_response`]).
//! - **local / remote URI**: the From/To addresses, without tags.
//! - **remote target**: the Contact of the peer's INVITE (UAS) or 2xx (UAC),
//!   replaced by target refresh requests and their 2xx (§12.2.1.2, §12.2.2).
//! - **route set**: the Record-Route values, in order for the UAS and reversed for
//!   the UAC; for a UAC recomputed from the 2xx that confirms an early dialog
//!   (§13.2.2.4). Loose and strict routing are both applied (§12.2.1.1).
//! - **local CSeq**: the UAC starts from its INVITE's; the UAS from 0, so its
//!   first request (usually BYE) has CSeq 1. Each new request increments it;
//!   ACK and CANCEL reuse the number of what they acknowledge or cancel.
//! - **remote CSeq**: a request whose CSeq is lower than the last one is out of
//!   order and gets `500` (§12.2.2); an equal one is a retransmission that crossed
//!   a 2xx (the INVITE server transaction is gone by then, §13.3.1.4).
//! - **remote**: the transport address to send to. This server does not resolve
//!   the Request-URI (RFC 3263): requests of the caller leg go back where the
//!   trunk's INVITE came from, and those of the agent leg to the address the
//!   phone registered from, which is what works through NAT.

use std::fmt;

use bytes::Bytes;

use crate::message::{
    ContactValue, HeaderName, Headers, Method, NameAddr, ParseError, Request, Response, Uri,
};
use crate::net::Remote;

/// RFC 3261 §8.1.1.6: requests we originate start with this Max-Forwards.
const MAX_FORWARDS: &str = "70";

/// Identifies a dialog (§12): Call-ID and the two tags, seen from our side.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct DialogId {
    pub call_id: String,
    pub local_tag: String,
    /// Empty when the peer (an RFC 2543 element) sent no tag.
    pub remote_tag: String,
}

impl DialogId {
    /// The dialog a request we *received* belongs to: local tag from To, remote
    /// tag from From. `None` when the request has no To tag (it is not part of a
    /// dialog) or its headers are unusable.
    pub fn of_request(req: &Request) -> Option<DialogId> {
        let to = req.headers.to_addr().ok()?;
        let local_tag = to.tag()?.to_owned();
        Some(DialogId {
            call_id: req.headers.call_id().ok()?.as_str().to_owned(),
            local_tag,
            remote_tag: req
                .headers
                .from_addr()
                .ok()?
                .tag()
                .unwrap_or_default()
                .to_owned(),
        })
    }

    /// The dialog a response to a request we *sent* belongs to: local tag from
    /// From, remote tag from To (empty when absent).
    pub fn of_response(resp: &Response) -> Option<DialogId> {
        Some(DialogId {
            call_id: resp.headers.call_id().ok()?.as_str().to_owned(),
            local_tag: resp.headers.from_addr().ok()?.tag()?.to_owned(),
            remote_tag: resp
                .headers
                .to_addr()
                .ok()?
                .tag()
                .unwrap_or_default()
                .to_owned(),
        })
    }
}

impl fmt::Display for DialogId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{};l={};r={}",
            self.call_id, self.local_tag, self.remote_tag
        )
    }
}

/// Which side of the INVITE we were.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// We sent the INVITE (agent leg).
    Uac,
    /// We received it (caller leg).
    Uas,
}

/// §12: early (after a provisional with a tag) or confirmed (after a 2xx).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DialogState {
    Early,
    Confirmed,
}

/// How this server names itself in the requests of a dialog.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Local {
    /// Via sent-by: `host:port` where responses reach us.
    pub sent_by: String,
    /// The Contact header value (`<sip:...>`), our target for the peer's requests.
    pub contact: String,
}

/// Why a dialog could not be made from a message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DialogError {
    #[error("unusable header: {0}")]
    Header(#[from] ParseError),
    /// A request that creates a dialog must carry a Contact (§8.1.1.8).
    #[error("no Contact address")]
    NoContact,
    #[error("no local tag")]
    NoLocalTag,
}

/// How an in-dialog request relates to the remote CSeq (§12.2.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RequestCheck {
    /// A new request: the remote CSeq was advanced.
    New,
    /// The same CSeq as the last request: a retransmission (of a re-INVITE whose
    /// 2xx ended its transaction). Answer it as before.
    Repeat,
    /// A lower CSeq: answer `500` (§12.2.2).
    OutOfOrder,
}

/// One dialog. See the [module docs](self).
#[derive(Debug, Clone)]
pub struct Dialog {
    id: DialogId,
    role: Role,
    state: DialogState,
    /// Our From (UAC) / To (UAS) address without tag, in name-addr form.
    local_uri: String,
    remote_uri: String,
    remote_target: Uri,
    route_set: Vec<NameAddr>,
    /// The CSeq of the last request we sent in the dialog; 0 when none.
    local_cseq: u32,
    remote_cseq: Option<u32>,
    remote: Remote,
    local: Local,
}

impl Dialog {
    /// The UAS side of a dialog created by `invite`, which arrived from `remote`
    /// and which we answer with `local_tag` in To (§12.1.1). Early until
    /// [`confirm`](Self::confirm).
    pub fn new_uas(
        invite: &Request,
        local_tag: &str,
        remote: Remote,
        local: Local,
    ) -> Result<Dialog, DialogError> {
        if local_tag.is_empty() {
            return Err(DialogError::NoLocalTag);
        }
        let from = invite.headers.from_addr()?;
        let to = invite.headers.to_addr()?;
        let cseq = invite.headers.cseq()?;
        let remote_target = contact_uri(&invite.headers)?.ok_or(DialogError::NoContact)?;
        Ok(Dialog {
            id: DialogId {
                call_id: invite.headers.call_id()?.as_str().to_owned(),
                local_tag: local_tag.to_owned(),
                remote_tag: from.tag().unwrap_or_default().to_owned(),
            },
            role: Role::Uas,
            state: DialogState::Early,
            local_uri: without_tag(to),
            remote_uri: without_tag(from),
            remote_target,
            route_set: record_routes(&invite.headers)?,
            local_cseq: 0,
            remote_cseq: Some(cseq.seq),
            remote,
            local,
        })
    }

    /// The UAC side of the dialog our `invite` (sent to `remote`) created with
    /// `response`, a 2xx (confirmed) or a provisional with a To tag (early)
    /// (§12.1.2). A 2xx without Contact, which §12.1.2 forbids, keeps the
    /// Request-URI of the INVITE as the remote target so the call still works.
    pub fn new_uac(
        invite: &Request,
        response: &Response,
        remote: Remote,
        local: Local,
    ) -> Result<Dialog, DialogError> {
        let from = invite.headers.from_addr()?;
        let local_tag = from.tag().ok_or(DialogError::NoLocalTag)?.to_owned();
        let to = response.headers.to_addr()?;
        let cseq = invite.headers.cseq()?;
        let remote_target = contact_uri(&response.headers)?.unwrap_or_else(|| invite.uri.clone());
        let mut route_set = record_routes(&response.headers)?;
        route_set.reverse();
        Ok(Dialog {
            id: DialogId {
                call_id: invite.headers.call_id()?.as_str().to_owned(),
                local_tag,
                remote_tag: to.tag().unwrap_or_default().to_owned(),
            },
            role: Role::Uac,
            state: if (200..300).contains(&response.status) {
                DialogState::Confirmed
            } else {
                DialogState::Early
            },
            local_uri: without_tag(from),
            remote_uri: without_tag(to),
            remote_target,
            route_set,
            local_cseq: cseq.seq,
            remote_cseq: None,
            remote,
            local,
        })
    }

    /// UAS: we sent the 2xx.
    pub fn confirm(&mut self) {
        self.state = DialogState::Confirmed;
    }

    /// UAC: the 2xx that confirms an early dialog; the route set and remote
    /// target are recomputed from it (§13.2.2.4).
    pub fn confirm_with(&mut self, response: &Response) -> Result<(), DialogError> {
        if self.state == DialogState::Early {
            let mut route_set = record_routes(&response.headers)?;
            route_set.reverse();
            self.route_set = route_set;
        }
        self.update_target(&response.headers)?;
        self.state = DialogState::Confirmed;
        Ok(())
    }

    /// Checks an in-dialog request we received against the remote CSeq and
    /// applies it (§12.2.2): the CSeq is remembered, and a target refresh
    /// (re-INVITE, UPDATE) replaces the remote target with its Contact. ACK and
    /// CANCEL carry the CSeq of what they refer to and are not checked.
    pub fn on_request(&mut self, req: &Request) -> RequestCheck {
        if matches!(req.method, Method::Ack | Method::Cancel) {
            return RequestCheck::New;
        }
        let Ok(cseq) = req.headers.cseq() else {
            return RequestCheck::OutOfOrder;
        };
        match self.remote_cseq {
            Some(last) if cseq.seq < last => return RequestCheck::OutOfOrder,
            Some(last) if cseq.seq == last => return RequestCheck::Repeat,
            _ => {}
        }
        self.remote_cseq = Some(cseq.seq);
        if matches!(req.method, Method::Invite | Method::Update) {
            // A malformed Contact leaves the old target: the request itself is fine.
            let _ = self.update_target(&req.headers);
        }
        RequestCheck::New
    }

    /// A 2xx to a target refresh we sent: its Contact becomes the remote target
    /// (§12.2.1.2).
    pub fn on_refresh_response(&mut self, response: &Response) {
        let _ = self.update_target(&response.headers);
    }

    /// A new request within the dialog (§12.2.1.1): the next local CSeq, To and
    /// From with the tags, the Request-URI and Route from the remote target and
    /// route set, a Via with `branch` (fresh, [`crate::transaction::new_branch`]),
    /// and our Contact on the methods that carry one. Not for ACK or CANCEL: see
    /// [`ack`](Self::ack).
    pub fn request(&mut self, method: Method, branch: &str) -> Request {
        self.local_cseq = self.local_cseq.saturating_add(1).min(MAX_CSEQ);
        let seq = self.local_cseq;
        self.build(method, seq, branch)
    }

    /// The ACK for a 2xx to the INVITE with CSeq `invite_cseq` (§13.2.2.4): routed
    /// like any in-dialog request, with the INVITE's CSeq number, its own branch.
    pub fn ack(&self, invite_cseq: u32, branch: &str) -> Request {
        self.build(Method::Ack, invite_cseq, branch)
    }

    fn build(&self, method: Method, seq: u32, branch: &str) -> Request {
        let (uri, routes) = self.request_target();
        let mut headers = Headers::new();
        headers.push(
            HeaderName::Via,
            format!(
                "SIP/2.0/{} {};branch={branch};rport",
                self.remote.transport.as_str(),
                self.local.sent_by
            ),
        );
        headers.push(HeaderName::MaxForwards, MAX_FORWARDS);
        for route in routes {
            headers.push(HeaderName::Route, route);
        }
        headers.push(
            HeaderName::From,
            format!("{};tag={}", self.local_uri, self.id.local_tag),
        );
        headers.push(HeaderName::To, self.remote_address());
        headers.push(HeaderName::CallId, self.id.call_id.clone());
        headers.push(HeaderName::CSeq, format!("{seq} {method}"));
        if matches!(
            method,
            Method::Invite | Method::Update | Method::Subscribe | Method::Notify | Method::Refer
        ) {
            headers.push(HeaderName::Contact, self.local.contact.clone());
        }
        Request {
            method,
            uri,
            headers,
            body: Bytes::new(),
        }
    }

    /// The To value of our requests: remote URI and tag.
    fn remote_address(&self) -> String {
        if self.id.remote_tag.is_empty() {
            self.remote_uri.clone()
        } else {
            format!("{};tag={}", self.remote_uri, self.id.remote_tag)
        }
    }

    /// Request-URI and Route values (§12.2.1.1). With an empty route set, or a
    /// first route that is a loose router (`lr`), the Request-URI is the remote
    /// target and the Route headers are the route set. A strict router (no `lr`)
    /// takes the Request-URI itself: it gets the first route's URI, and the
    /// remote target goes last in Route.
    fn request_target(&self) -> (Uri, Vec<String>) {
        match self.route_set.first() {
            Some(first) if !first.uri.params().contains("lr") => {
                let mut routes: Vec<String> = self.route_set[1..]
                    .iter()
                    .map(ToString::to_string)
                    .collect();
                routes.push(format!("<{}>", self.remote_target));
                (first.uri.clone(), routes)
            }
            _ => (
                self.remote_target.clone(),
                self.route_set.iter().map(ToString::to_string).collect(),
            ),
        }
    }

    fn update_target(&mut self, headers: &Headers) -> Result<(), DialogError> {
        if let Some(uri) = contact_uri(headers)? {
            self.remote_target = uri;
        }
        Ok(())
    }

    pub fn id(&self) -> &DialogId {
        &self.id
    }
    pub fn role(&self) -> Role {
        self.role
    }
    pub fn state(&self) -> DialogState {
        self.state
    }
    /// Where requests of this dialog are sent.
    pub fn remote(&self) -> Remote {
        self.remote
    }
    pub fn remote_target(&self) -> &Uri {
        &self.remote_target
    }
    /// The route set, in the order the Route headers are written.
    pub fn route_set(&self) -> &[NameAddr] {
        &self.route_set
    }
    /// The CSeq of the last request we sent (0 when none).
    pub fn local_cseq(&self) -> u32 {
        self.local_cseq
    }
    /// The CSeq of the last request we received, if any.
    pub fn remote_cseq(&self) -> Option<u32> {
        self.remote_cseq
    }
    /// Our address (From for the UAC, To for the UAS), without tag.
    pub fn local_uri(&self) -> &str {
        &self.local_uri
    }
    /// The peer's address, without tag.
    pub fn remote_uri(&self) -> &str {
        &self.remote_uri
    }
}

/// The largest CSeq number (§8.1.1.5: below 2^31).
const MAX_CSEQ: u32 = (1 << 31) - 1;

/// The first Contact address, if any.
fn contact_uri(headers: &Headers) -> Result<Option<Uri>, ParseError> {
    Ok(headers.contacts()?.into_iter().find_map(|c| match c {
        ContactValue::Addr(a) => Some(a.uri),
        ContactValue::Star => None,
    }))
}

/// Every Record-Route value, top first.
fn record_routes(headers: &Headers) -> Result<Vec<NameAddr>, ParseError> {
    let mut out = Vec::new();
    for value in headers.get_all(&HeaderName::RecordRoute) {
        out.extend(NameAddr::parse_list(value, HeaderName::RecordRoute)?);
    }
    Ok(out)
}

/// A From/To address printed without its tag parameter.
fn without_tag(mut addr: NameAddr) -> String {
    addr.params
        .0
        .retain(|(name, _)| !name.eq_ignore_ascii_case("tag"));
    addr.to_string()
}

/// A tag for the From or To of a new dialog (§19.3: at least 32 random bits).
pub fn new_tag<R: rand::Rng + ?Sized>(rng: &mut R) -> String {
    format!("{:016x}", rng.gen::<u64>())
}

/// A Call-ID for a dialog we originate (§8.1.1.4: globally unique): 128 random
/// bits and our host.
pub fn new_call_id<R: rand::Rng + ?Sized>(rng: &mut R, host: &str) -> String {
    format!("{:016x}{:016x}@{host}", rng.gen::<u64>(), rng.gen::<u64>())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // a failed unwrap is a failed test
mod tests {
    use super::*;
    use crate::message::{parse, Message};
    use crate::net::Transport;

    fn request(text: &str) -> Request {
        match parse(Bytes::from(text.replace('\n', "\r\n"))) {
            Ok(Message::Request(r)) => r,
            other => panic!("{other:?}"),
        }
    }

    fn response(text: &str) -> Response {
        match parse(Bytes::from(text.replace('\n', "\r\n"))) {
            Ok(Message::Response(r)) => r,
            other => panic!("{other:?}"),
        }
    }

    fn trunk() -> Remote {
        Remote {
            transport: Transport::Udp,
            addr: ([192, 0, 2, 64], 5060).into(),
        }
    }

    fn local() -> Local {
        Local {
            sent_by: "192.0.2.10:5060".into(),
            contact: "<sip:hotline@192.0.2.10:5060>".into(),
        }
    }

    /// RFC 3665 §3.8-style INVITE through a record-routing proxy.
    const INVITE: &str = "INVITE sip:12345@192.0.2.10 SIP/2.0
Via: SIP/2.0/UDP 192.0.2.64:5060;branch=z9hG4bK-p1
Via: SIP/2.0/UDP 198.51.100.7:5060;branch=z9hG4bK-a1
Record-Route: <sip:p2.example.net;lr>, <sip:p1.example.net;lr>
Max-Forwards: 69
From: \"Alice\" <sip:13800000000@carrier.example>;tag=9fxced76sl
To: <sip:12345@hotline.example>
Call-ID: 3848276298220188511@carrier.example
CSeq: 314159 INVITE
Contact: <sip:13800000000@198.51.100.7:5060;transport=udp>
Content-Length: 0

";

    #[test]
    fn uas_dialog_from_an_invite() {
        let invite = request(INVITE);
        let mut d = Dialog::new_uas(&invite, "ourtag", trunk(), local()).unwrap();
        assert_eq!(d.role(), Role::Uas);
        assert_eq!(d.state(), DialogState::Early);
        assert_eq!(
            d.id(),
            &DialogId {
                call_id: "3848276298220188511@carrier.example".into(),
                local_tag: "ourtag".into(),
                remote_tag: "9fxced76sl".into(),
            }
        );
        assert_eq!(d.remote_cseq(), Some(314159));
        assert_eq!(d.local_cseq(), 0);
        assert_eq!(
            d.remote_target().as_str(),
            "sip:13800000000@198.51.100.7:5060;transport=udp"
        );
        // UAS keeps the Record-Route order (§12.1.1).
        let routes: Vec<String> = d.route_set().iter().map(|r| r.to_string()).collect();
        assert_eq!(
            routes,
            ["<sip:p2.example.net;lr>", "<sip:p1.example.net;lr>"]
        );
        d.confirm();
        assert_eq!(d.state(), DialogState::Confirmed);

        let bye = d.request(Method::Bye, "z9hG4bK-bye1");
        let text = String::from_utf8(bye.to_bytes().to_vec()).unwrap();
        assert_eq!(
            text,
            "BYE sip:13800000000@198.51.100.7:5060;transport=udp SIP/2.0\r\n\
             Via: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bK-bye1;rport\r\n\
             Max-Forwards: 70\r\n\
             Route: <sip:p2.example.net;lr>\r\n\
             Route: <sip:p1.example.net;lr>\r\n\
             From: <sip:12345@hotline.example>;tag=ourtag\r\n\
             To: \"Alice\" <sip:13800000000@carrier.example>;tag=9fxced76sl\r\n\
             Call-ID: 3848276298220188511@carrier.example\r\n\
             CSeq: 1 BYE\r\n\
             Content-Length: 0\r\n\r\n"
        );
        assert_eq!(d.local_cseq(), 1);
        assert_eq!(
            d.request(Method::Invite, "z9hG4bK-x")
                .headers
                .cseq()
                .unwrap()
                .seq,
            2
        );
    }

    #[test]
    fn incoming_requests_are_matched_and_checked_for_order() {
        let invite = request(INVITE);
        let mut d = Dialog::new_uas(&invite, "ourtag", trunk(), local()).unwrap();
        let in_dialog = |method: &str, seq: u32, contact: &str| {
            request(&format!(
                "{method} sip:hotline@192.0.2.10:5060 SIP/2.0
Via: SIP/2.0/UDP 192.0.2.64:5060;branch=z9hG4bK-{method}{seq}
Max-Forwards: 70
From: <sip:13800000000@carrier.example>;tag=9fxced76sl
To: <sip:12345@hotline.example>;tag=ourtag
Call-ID: 3848276298220188511@carrier.example
CSeq: {seq} {method}
{contact}Content-Length: 0

"
            ))
        };
        let ack = in_dialog("ACK", 314159, "");
        assert_eq!(DialogId::of_request(&ack).as_ref(), Some(d.id()));
        assert_eq!(d.on_request(&ack), RequestCheck::New);
        assert_eq!(
            d.on_request(&in_dialog("INVITE", 314159, "")),
            RequestCheck::Repeat
        );
        let reinvite = in_dialog("INVITE", 314160, "Contact: <sip:alice@198.51.100.8>\n");
        assert_eq!(d.on_request(&reinvite), RequestCheck::New);
        assert_eq!(d.remote_target().as_str(), "sip:alice@198.51.100.8");
        assert_eq!(
            d.on_request(&in_dialog("BYE", 314158, "")),
            RequestCheck::OutOfOrder
        );
        assert_eq!(d.remote_cseq(), Some(314160));
        // Not in a dialog: no To tag.
        assert_eq!(DialogId::of_request(&invite), None);
    }

    #[test]
    fn uac_dialog_reverses_the_route_set_and_acks_with_the_invite_cseq() {
        let invite = request(
            "INVITE sip:1001-0x5581@10.0.0.21:5098 SIP/2.0
Via: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bK-out1;rport
Max-Forwards: 70
From: \"13800000000\" <sip:13800000000@hotline.example>;tag=uac-tag
To: <sip:1001@hotline.example>
Call-ID: agent-leg-1@192.0.2.10
CSeq: 1 INVITE
Contact: <sip:hotline@192.0.2.10:5060>
Content-Length: 0

",
        );
        let ok = response(
            "SIP/2.0 200 OK
Via: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bK-out1;rport=5060
Record-Route: <sip:edge2.example;lr>
Record-Route: <sip:edge1.example;lr>
From: \"13800000000\" <sip:13800000000@hotline.example>;tag=uac-tag
To: <sip:1001@hotline.example>;tag=phone-tag
Call-ID: agent-leg-1@192.0.2.10
CSeq: 1 INVITE
Contact: <sip:1001-0x5581@10.0.0.21:5098;transport=udp>
Content-Length: 0

",
        );
        let agent = Remote {
            transport: Transport::Udp,
            addr: ([10, 0, 0, 21], 5098).into(),
        };
        let mut d = Dialog::new_uac(&invite, &ok, agent, local()).unwrap();
        assert_eq!(d.state(), DialogState::Confirmed);
        assert_eq!(DialogId::of_response(&ok).as_ref(), Some(d.id()));
        assert_eq!(d.id().remote_tag, "phone-tag");
        let routes: Vec<String> = d.route_set().iter().map(|r| r.to_string()).collect();
        assert_eq!(routes, ["<sip:edge1.example;lr>", "<sip:edge2.example;lr>"]);

        let ack = d.ack(1, "z9hG4bK-ack1");
        assert_eq!(ack.method, Method::Ack);
        assert_eq!(
            ack.uri.as_str(),
            "sip:1001-0x5581@10.0.0.21:5098;transport=udp"
        );
        assert_eq!(ack.headers.cseq().unwrap().to_string(), "1 ACK");
        assert_eq!(ack.headers.to_addr().unwrap().tag(), Some("phone-tag"));
        assert_eq!(ack.headers.from_addr().unwrap().tag(), Some("uac-tag"));
        assert_eq!(ack.headers.get(&HeaderName::Contact), None);
        assert_eq!(d.local_cseq(), 1, "ACK does not consume a CSeq");

        let bye = d.request(Method::Bye, "z9hG4bK-b");
        assert_eq!(bye.headers.cseq().unwrap().to_string(), "2 BYE");
        let reinvite = d.request(Method::Invite, "z9hG4bK-r");
        assert_eq!(reinvite.headers.cseq().unwrap().to_string(), "3 INVITE");
        assert_eq!(
            reinvite
                .headers
                .get(&HeaderName::Contact)
                .map(|c| c.as_str()),
            Some("<sip:hotline@192.0.2.10:5060>")
        );
    }

    #[test]
    fn early_dialog_is_recomputed_from_the_2xx_and_strict_routes_take_the_request_uri() {
        let invite = request(
            "INVITE sip:1002@10.0.0.22 SIP/2.0
Via: SIP/2.0/TCP 192.0.2.10:5060;branch=z9hG4bK-o2
Max-Forwards: 70
From: <sip:1001@hotline.example>;tag=a
To: <sip:1002@hotline.example>
Call-ID: c2
CSeq: 7 INVITE
Contact: <sip:hotline@192.0.2.10:5060;transport=tcp>
Content-Length: 0

",
        );
        let ringing = response(
            "SIP/2.0 180 Ringing
Via: SIP/2.0/TCP 192.0.2.10:5060;branch=z9hG4bK-o2
Record-Route: <sip:old.example;lr>
From: <sip:1001@hotline.example>;tag=a
To: <sip:1002@hotline.example>;tag=b
Call-ID: c2
CSeq: 7 INVITE
Contact: <sip:1002@10.0.0.22>
Content-Length: 0

",
        );
        let ok = response(
            "SIP/2.0 200 OK
Via: SIP/2.0/TCP 192.0.2.10:5060;branch=z9hG4bK-o2
Record-Route: <sip:strict.example>
From: <sip:1001@hotline.example>;tag=a
To: <sip:1002@hotline.example>;tag=b
Call-ID: c2
CSeq: 7 INVITE
Contact: <sip:1002@10.0.0.22:5070>
Content-Length: 0

",
        );
        let agent = Remote {
            transport: Transport::Tcp,
            addr: ([10, 0, 0, 22], 40000).into(),
        };
        let mut d = Dialog::new_uac(&invite, &ringing, agent, local()).unwrap();
        assert_eq!(d.state(), DialogState::Early);
        d.confirm_with(&ok).unwrap();
        assert_eq!(d.state(), DialogState::Confirmed);
        let bye = d.request(Method::Bye, "z9hG4bK-b2");
        assert_eq!(bye.uri.as_str(), "sip:strict.example");
        let routes: Vec<&str> = bye
            .headers
            .get_all(&HeaderName::Route)
            .map(|r| r.as_str())
            .collect();
        assert_eq!(routes, ["<sip:1002@10.0.0.22:5070>"]);
        assert_eq!(bye.headers.cseq().unwrap().seq, 8);
        assert!(bye
            .headers
            .top_via()
            .unwrap()
            .to_string()
            .starts_with("SIP/2.0/TCP "));
    }

    #[test]
    fn dialog_needs_a_contact_and_tolerates_a_missing_from_tag() {
        let no_contact = request(&INVITE.replace(
            "Contact: <sip:13800000000@198.51.100.7:5060;transport=udp>\n",
            "",
        ));
        assert_eq!(
            Dialog::new_uas(&no_contact, "t", trunk(), local()).unwrap_err(),
            DialogError::NoContact
        );
        let rfc2543 = request(&INVITE.replace(";tag=9fxced76sl", ""));
        let mut d = Dialog::new_uas(&rfc2543, "t", trunk(), local()).unwrap();
        assert_eq!(d.id().remote_tag, "");
        let bye = d.request(Method::Bye, "z9hG4bK-3");
        assert_eq!(bye.headers.to_addr().unwrap().tag(), None);
    }
}
