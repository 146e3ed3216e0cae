//! SIP messages: a purpose-built, zero-copy parser and printer.
//!
//! A parsed [`Message`] keeps slices ([`ByteStr`]) of the datagram or stream buffer
//! it came from; nothing is copied except where RFC 3261 forces it (folded
//! continuation lines are unfolded into a new buffer). Typed access covers what the
//! transaction, dialog and registrar layers need: Via (branch, sent-by, received,
//! rport), CSeq, Call-ID, From/To (tag), Contact, Expires, Max-Forwards.
//!
//! [`parse`] validates the core headers (the RFC 4475 §3.1.2 cases) so that the
//! typed accessors of a parsed message do not fail in practice; messages built in
//! code are checked when their accessors are called.

mod bytestr;
mod headers;
mod parse;
mod print;
mod typed;
mod uri;

pub use bytestr::ByteStr;
pub use headers::{Header, HeaderName, Headers};
pub use parse::{error_response, parse, ParseError, ParseErrorKind};
pub use print::default_reason;
pub use typed::{CSeq, Contact, ContactValue, NameAddr, Params, Via};
pub use uri::{Host, Uri};

use bytes::Bytes;

/// A SIP request method. Unknown extension methods are kept verbatim.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Method {
    Invite,
    Ack,
    Bye,
    Cancel,
    Register,
    Options,
    Info,
    Refer,
    Notify,
    Subscribe,
    Message,
    Prack,
    Update,
    Publish,
    /// Any other token (methods are case-sensitive, RFC 3261 §7.1).
    Other(ByteStr),
}

/// A request: method, Request-URI, headers and body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    pub method: Method,
    pub uri: Uri,
    pub headers: Headers,
    pub body: Bytes,
}

/// A response: status code, reason phrase, headers and body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    /// 100..=699.
    pub status: u16,
    pub reason: ByteStr,
    pub headers: Headers,
    pub body: Bytes,
}

/// A request or a response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Message {
    Request(Request),
    Response(Response),
}

impl Method {
    /// Maps a method token (case-sensitive).
    pub fn from_token(token: &str) -> Method {
        match token {
            "INVITE" => Method::Invite,
            "ACK" => Method::Ack,
            "BYE" => Method::Bye,
            "CANCEL" => Method::Cancel,
            "REGISTER" => Method::Register,
            "OPTIONS" => Method::Options,
            "INFO" => Method::Info,
            "REFER" => Method::Refer,
            "NOTIFY" => Method::Notify,
            "SUBSCRIBE" => Method::Subscribe,
            "MESSAGE" => Method::Message,
            "PRACK" => Method::Prack,
            "UPDATE" => Method::Update,
            "PUBLISH" => Method::Publish,
            other => Method::Other(ByteStr::from(other)),
        }
    }

    pub fn as_str(&self) -> &str {
        match self {
            Method::Invite => "INVITE",
            Method::Ack => "ACK",
            Method::Bye => "BYE",
            Method::Cancel => "CANCEL",
            Method::Register => "REGISTER",
            Method::Options => "OPTIONS",
            Method::Info => "INFO",
            Method::Refer => "REFER",
            Method::Notify => "NOTIFY",
            Method::Subscribe => "SUBSCRIBE",
            Method::Message => "MESSAGE",
            Method::Prack => "PRACK",
            Method::Update => "UPDATE",
            Method::Publish => "PUBLISH",
            Method::Other(s) => s.as_str(),
        }
    }
}

impl std::fmt::Display for Method {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Typed access to the headers the stack uses. For a message returned by [`parse`]
/// these were validated already.
impl Headers {
    /// The topmost Via value (the first value of the first Via line).
    pub fn top_via(&self) -> Result<Via, ParseError> {
        todo!()
    }
    /// Every Via value, top first (comma-separated lines split).
    pub fn vias(&self) -> Result<Vec<Via>, ParseError> {
        todo!()
    }
    pub fn call_id(&self) -> Result<&ByteStr, ParseError> {
        todo!()
    }
    pub fn cseq(&self) -> Result<CSeq, ParseError> {
        todo!()
    }
    pub fn from_addr(&self) -> Result<NameAddr, ParseError> {
        todo!()
    }
    pub fn to_addr(&self) -> Result<NameAddr, ParseError> {
        todo!()
    }
    /// Every Contact value across all Contact lines.
    pub fn contacts(&self) -> Result<Vec<ContactValue>, ParseError> {
        todo!()
    }
    /// The Expires header (delta-seconds), if present.
    pub fn expires(&self) -> Result<Option<u32>, ParseError> {
        todo!()
    }
    pub fn max_forwards(&self) -> Result<Option<u32>, ParseError> {
        todo!()
    }
}

impl Message {
    pub fn headers(&self) -> &Headers {
        match self {
            Message::Request(r) => &r.headers,
            Message::Response(r) => &r.headers,
        }
    }
    pub fn headers_mut(&mut self) -> &mut Headers {
        match self {
            Message::Request(r) => &mut r.headers,
            Message::Response(r) => &mut r.headers,
        }
    }
}
