//! Typed views of the headers the stack relies on. Each parses from a header
//! value and prints back to the wire form (`Display`).

use super::scan::{unquote, write_quoted, Cursor, Fail, TOKEN};
use super::uri::{parse_host, parse_port, parse_uri};
use super::{ByteStr, HeaderName, Host, Method, ParseError, ParseErrorKind, Uri};

fn header_error(name: HeaderName, why: Fail) -> ParseError {
    let detail = format!("invalid {name} header: {why}");
    ParseError::new(ParseErrorKind::Header(name), detail)
}

/// Generic `;name[=value]` parameters, in order; names compare case-insensitively.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Params(pub Vec<(ByteStr, Option<ByteStr>)>);

impl Params {
    /// `Some(None)` for a flag parameter (`;lr`), `Some(Some(v))` for `;name=v`.
    pub fn get(&self, name: &str) -> Option<Option<&str>> {
        self.0
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_deref())
    }
    pub fn contains(&self, name: &str) -> bool {
        self.get(name).is_some()
    }
    /// Sets or replaces a parameter.
    pub fn set(&mut self, name: &str, value: Option<&str>) {
        let value = value.map(ByteStr::from);
        if let Some(slot) = self
            .0
            .iter_mut()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
        {
            slot.1 = value;
        } else {
            self.0.push((ByteStr::from(name), value));
        }
    }
}

/// One Via header value (RFC 3261 §20.42).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Via {
    /// Upper-case transport token ("UDP", "TCP", "TLS", "SCTP", or an extension).
    pub transport: ByteStr,
    pub host: Host,
    pub port: Option<u16>,
    pub params: Params,
}

impl Via {
    /// Parses one Via value (a line holding several is rejected: see
    /// [`parse_list`](Self::parse_list)).
    pub fn parse(value: &ByteStr) -> Result<Via, ParseError> {
        let mut cur = Cursor::new(value);
        via_at(&mut cur)
            .and_then(|via| {
                if cur.at_end() {
                    Ok(via)
                } else {
                    Err("unexpected text after the value")
                }
            })
            .map_err(|why| header_error(HeaderName::Via, why))
    }

    /// Parses every comma-separated value of one Via line.
    pub fn parse_list(value: &ByteStr) -> Result<Vec<Via>, ParseError> {
        let mut cur = Cursor::new(value);
        let mut out = Vec::with_capacity(1);
        loop {
            out.push(via_at(&mut cur).map_err(|why| header_error(HeaderName::Via, why))?);
            if cur.at_end() {
                return Ok(out);
            }
            // via_at stops only at the end or before a comma.
            cur.pos += 1;
        }
    }

    /// The first value of a Via line, without looking at the others.
    pub(super) fn parse_first(value: &ByteStr) -> Result<Via, ParseError> {
        via_at(&mut Cursor::new(value)).map_err(|why| header_error(HeaderName::Via, why))
    }
    /// The branch parameter; RFC 3261 branches start with `z9hG4bK`.
    pub fn branch(&self) -> Option<&str> {
        self.params.get("branch").flatten()
    }
    /// `received` (RFC 3261 §18.2.1).
    pub fn received(&self) -> Option<&str> {
        self.params.get("received").flatten()
    }
    /// `rport`: `Some(None)` when requested without a value (RFC 3581).
    pub fn rport(&self) -> Option<Option<u16>> {
        self.params
            .get("rport")
            .map(|v| v.and_then(|p| p.parse().ok()))
    }
}

/// CSeq (RFC 3261 §20.16): sequence number (< 2^31) and method.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CSeq {
    pub seq: u32,
    pub method: Method,
}

impl CSeq {
    pub fn parse(value: &ByteStr) -> Result<CSeq, ParseError> {
        cseq(value).map_err(|why| header_error(HeaderName::CSeq, why))
    }
}

/// The largest CSeq number (RFC 3261 §8.1.1.5: less than 2^31).
const MAX_CSEQ: u64 = (1 << 31) - 1;

fn cseq(value: &ByteStr) -> Result<CSeq, Fail> {
    let mut cur = Cursor::new(value);
    cur.skip_ws();
    let start = cur.pos;
    while cur.peek().is_some_and(|c| c.is_ascii_digit()) {
        cur.pos += 1;
    }
    let seq = super::scan::parse_number(&cur.b[start..cur.pos], MAX_CSEQ)
        .ok_or("sequence number missing or not below 2^31")?;
    if !cur.peek().is_some_and(super::scan::is_ws) {
        return Err("expected a space after the sequence number");
    }
    cur.skip_ws();
    let (a, b) = cur.token().map_err(|_| "invalid method")?;
    let method = Method::from_bytestr(cur.slice(a, b)?);
    cur.skip_ws();
    if !cur.at_end() {
        return Err("unexpected text after the method");
    }
    Ok(CSeq {
        seq: seq as u32,
        method,
    })
}

/// A name-addr or addr-spec with header parameters: From, To, Contact, Route...
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NameAddr {
    /// Display name, unquoted (escapes resolved) if it was quoted.
    pub display: Option<ByteStr>,
    pub uri: Uri,
    pub params: Params,
}

impl NameAddr {
    /// Parses a From/To-style value: one address with its parameters.
    pub fn parse(value: &ByteStr) -> Result<NameAddr, ParseError> {
        Self::parse_as(value, HeaderName::From)
    }

    /// Like [`parse`](Self::parse), naming `header` in the error.
    pub fn parse_as(value: &ByteStr, header: HeaderName) -> Result<NameAddr, ParseError> {
        let mut cur = Cursor::new(value);
        name_addr_at(&mut cur)
            .and_then(|a| {
                if cur.at_end() {
                    Ok(a)
                } else {
                    Err("more than one value")
                }
            })
            .map_err(|why| header_error(header, why))
    }

    /// Parses every comma-separated value of a Route/Record-Route-style line.
    pub fn parse_list(value: &ByteStr, header: HeaderName) -> Result<Vec<NameAddr>, ParseError> {
        let mut cur = Cursor::new(value);
        let mut out = Vec::with_capacity(1);
        loop {
            out.push(name_addr_at(&mut cur).map_err(|why| header_error(header.clone(), why))?);
            if cur.at_end() {
                return Ok(out);
            }
            cur.pos += 1;
        }
    }
    /// The `tag` parameter of From/To.
    pub fn tag(&self) -> Option<&str> {
        self.params.get("tag").flatten()
    }
}

/// One Contact value: `*` or an address with parameters (`expires`, `q`).
// `Star` is rare and alone in its header; boxing `Addr` would cost an allocation
// per contact on the registrar's hot path.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ContactValue {
    Star,
    Addr(NameAddr),
}

/// A parsed Contact header line (several comma-separated values).
pub type Contact = Vec<ContactValue>;

impl ContactValue {
    /// Parses every comma-separated value of one Contact header line.
    pub fn parse_list(value: &ByteStr) -> Result<Contact, ParseError> {
        let mut cur = Cursor::new(value);
        cur.skip_ws();
        if cur.peek() == Some(b'*') {
            let mark = cur.pos;
            cur.pos += 1;
            cur.skip_ws();
            if cur.at_end() {
                return Ok(vec![ContactValue::Star]);
            }
            // A display name may start with "*" (it is a token character).
            cur.pos = mark;
        }
        let mut out = Vec::with_capacity(1);
        loop {
            let addr =
                name_addr_at(&mut cur).map_err(|why| header_error(HeaderName::Contact, why))?;
            out.push(ContactValue::Addr(addr));
            if cur.at_end() {
                return Ok(out);
            }
            cur.pos += 1;
        }
    }
    /// The `expires` parameter, if present and valid.
    pub fn expires(&self) -> Option<u32> {
        match self {
            ContactValue::Star => None,
            ContactValue::Addr(a) => a
                .params
                .get("expires")
                .flatten()
                .and_then(|v| v.parse().ok()),
        }
    }
}

/// One via-parm at the cursor (RFC 3261 §20.42, with LWS around every separator as
/// §25.1 allows); stops at the end or on the comma before the next value.
fn via_at(cur: &mut Cursor<'_>) -> Result<Via, Fail> {
    cur.skip_ws();
    let (a, b) = cur.token().map_err(|_| "missing protocol name")?;
    if !cur.b[a..b].eq_ignore_ascii_case(b"SIP") {
        return Err("protocol is not SIP");
    }
    if !cur.eat(b'/') {
        return Err("expected / after the protocol name");
    }
    cur.skip_ws();
    let (a, b) = cur.token().map_err(|_| "missing protocol version")?;
    if &cur.b[a..b] != b"2.0" {
        return Err("protocol version is not 2.0");
    }
    if !cur.eat(b'/') {
        return Err("expected / after the protocol version");
    }
    cur.skip_ws();
    let (a, b) = cur.token().map_err(|_| "missing transport")?;
    let transport = if cur.b[a..b].iter().any(u8::is_ascii_lowercase) {
        ByteStr::from(cur.text[a..b].to_ascii_uppercase())
    } else {
        cur.slice(a, b)?
    };
    if !cur.peek().is_some_and(super::scan::is_ws) {
        return Err("expected a space before sent-by");
    }
    cur.skip_ws();
    let (host, end) = parse_host(cur.src, cur.text, cur.pos)?;
    cur.pos = end;
    let mut port = None;
    if cur.eat(b':') {
        cur.skip_ws();
        let start = cur.pos;
        while cur.peek().is_some_and(|c| c.is_ascii_digit()) {
            cur.pos += 1;
        }
        port = Some(parse_port(&cur.b[start..cur.pos])?);
    }
    let params = cur.params()?;
    cur.skip_ws();
    if !cur.at_end() && cur.peek() != Some(b',') {
        return Err("unexpected character");
    }
    Ok(Via {
        transport,
        host,
        port,
        params,
    })
}

/// One `(name-addr / addr-spec) *(SEMI generic-param)` at the cursor (RFC 3261
/// §20.10, §20.20, §20.39); stops at the end or on a comma before the next value.
fn name_addr_at(cur: &mut Cursor<'_>) -> Result<NameAddr, Fail> {
    cur.skip_ws();
    let mut display = None;
    let bracketed = if cur.peek() == Some(b'"') {
        let (a, b, escaped) = cur.quoted()?;
        let inner = &cur.text[a + 1..b - 1];
        display = Some(if escaped {
            ByteStr::from(unquote(inner))
        } else {
            cur.slice(a + 1, b - 1)?
        });
        if !cur.eat(b'<') {
            return Err("a quoted display name must be followed by <");
        }
        true
    } else {
        // Unquoted display names are tokens separated by LWS; anything else before
        // "<" is an error, and without "<" the value is an addr-spec.
        let start = cur.pos;
        let mut p = start;
        while p < cur.b.len() && (super::scan::is(cur.b[p], TOKEN) || super::scan::is_ws(cur.b[p]))
        {
            p += 1;
        }
        if cur.b.get(p) == Some(&b'<') {
            let (a, b) = super::scan::trim_ws(&cur.b[start..p]);
            if a < b {
                display = Some(cur.slice(start + a, start + b)?);
            }
            cur.pos = p + 1;
            true
        } else {
            false
        }
    };
    let uri = if bracketed {
        // No LWS inside the brackets (RFC 4475 §3.1.2.14).
        let start = cur.pos;
        let close = memchr::memchr(b'>', &cur.b[start..]).ok_or("missing >")?;
        if cur.b[start..start + close]
            .iter()
            .any(|&c| super::scan::is_ws(c))
        {
            return Err("whitespace inside <>");
        }
        let uri = parse_uri(&cur.slice(start, start + close)?)?;
        cur.pos = start + close + 1;
        uri
    } else {
        // An addr-spec ends at the first ";", "," or LWS; one holding a comma,
        // "?" or ";" must be bracketed (RFC 3261 §20).
        let start = cur.pos;
        let mut end = start;
        while end < cur.b.len() && !matches!(cur.b[end], b';' | b',' | b' ' | b'\t') {
            end += 1;
        }
        if end == start {
            return Err("missing address");
        }
        let uri = parse_uri(&cur.slice(start, end)?).map_err(|why| {
            if memchr::memchr(b'<', &cur.b[start..]).is_some() {
                "display name is neither a quoted string nor tokens"
            } else {
                why
            }
        })?;
        if uri.headers().is_some() || (!uri.is_sip() && uri.as_str().contains('?')) {
            return Err("an address with ? must be enclosed in <>");
        }
        cur.pos = end;
        uri
    };
    let params = cur.params()?;
    cur.skip_ws();
    if !cur.at_end() && cur.peek() != Some(b',') {
        return Err("unexpected character");
    }
    Ok(NameAddr {
        display,
        uri,
        params,
    })
}

impl std::fmt::Display for Via {
    /// The wire form, `SIP/2.0/UDP host:port;params`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SIP/2.0/{} {}", self.transport, self.host)?;
        if let Some(port) = self.port {
            write!(f, ":{port}")?;
        }
        write!(f, "{}", self.params)
    }
}

impl std::fmt::Display for CSeq {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.seq, self.method)
    }
}

impl std::fmt::Display for NameAddr {
    /// Always the name-addr form (`"Display" <uri>;params`), which is valid for
    /// every URI; the display name is quoted and escaped.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if let Some(display) = &self.display {
            write_quoted(f, display)?;
            f.write_str(" ")?;
        }
        write!(f, "<{}>{}", self.uri, self.params)
    }
}

impl std::fmt::Display for ContactValue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ContactValue::Star => f.write_str("*"),
            ContactValue::Addr(a) => a.fmt(f),
        }
    }
}
