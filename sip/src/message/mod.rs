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
mod scan;
#[cfg(test)]
mod tests;
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
        Method::known(token.as_bytes()).unwrap_or_else(|| Method::Other(ByteStr::from(token)))
    }

    /// Like [`from_token`](Self::from_token) over bytes: a well-known method needs
    /// no slice of the message, an extension method is kept as `slice()`.
    pub(crate) fn from_wire<E>(
        token: &[u8],
        slice: impl FnOnce() -> Result<ByteStr, E>,
    ) -> Result<Method, E> {
        match Method::known(token) {
            Some(m) => Ok(m),
            None => slice().map(Method::Other),
        }
    }

    fn known(token: &[u8]) -> Option<Method> {
        Some(match token {
            b"INVITE" => Method::Invite,
            b"ACK" => Method::Ack,
            b"BYE" => Method::Bye,
            b"CANCEL" => Method::Cancel,
            b"REGISTER" => Method::Register,
            b"OPTIONS" => Method::Options,
            b"INFO" => Method::Info,
            b"REFER" => Method::Refer,
            b"NOTIFY" => Method::Notify,
            b"SUBSCRIBE" => Method::Subscribe,
            b"MESSAGE" => Method::Message,
            b"PRACK" => Method::Prack,
            b"UPDATE" => Method::Update,
            b"PUBLISH" => Method::Publish,
            _ => return None,
        })
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
        Via::parse_first(self.required(&HeaderName::Via)?)
    }
    /// Every Via value, top first (comma-separated lines split).
    pub fn vias(&self) -> Result<Vec<Via>, ParseError> {
        let mut out = Vec::new();
        for value in self.get_all(&HeaderName::Via) {
            out.extend(Via::parse_list(value)?);
        }
        if out.is_empty() {
            return Err(missing(HeaderName::Via));
        }
        Ok(out)
    }
    pub fn call_id(&self) -> Result<&ByteStr, ParseError> {
        let value = self.required(&HeaderName::CallId)?;
        parse::check_call_id(value)?;
        Ok(value)
    }
    pub fn cseq(&self) -> Result<CSeq, ParseError> {
        CSeq::parse(self.required(&HeaderName::CSeq)?)
    }
    pub fn from_addr(&self) -> Result<NameAddr, ParseError> {
        NameAddr::parse_as(self.required(&HeaderName::From)?, HeaderName::From)
    }
    pub fn to_addr(&self) -> Result<NameAddr, ParseError> {
        NameAddr::parse_as(self.required(&HeaderName::To)?, HeaderName::To)
    }
    /// Every Contact value across all Contact lines.
    pub fn contacts(&self) -> Result<Vec<ContactValue>, ParseError> {
        let mut out = Vec::new();
        for value in self.get_all(&HeaderName::Contact) {
            out.extend(ContactValue::parse_list(value)?);
        }
        Ok(out)
    }
    /// The Expires header (delta-seconds), if present.
    pub fn expires(&self) -> Result<Option<u32>, ParseError> {
        self.get(&HeaderName::Expires)
            .map(parse::delta_seconds)
            .transpose()
    }
    pub fn max_forwards(&self) -> Result<Option<u32>, ParseError> {
        self.get(&HeaderName::MaxForwards)
            .map(parse::max_forwards)
            .transpose()
    }

    fn required(&self, name: &HeaderName) -> Result<&ByteStr, ParseError> {
        self.get(name).ok_or_else(|| missing(name.clone()))
    }
}

fn missing(name: HeaderName) -> ParseError {
    let detail = format!("missing {name} header");
    ParseError::new(ParseErrorKind::MissingHeader(name), detail)
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
