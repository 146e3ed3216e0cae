//! Typed views of the headers the stack relies on. Each parses from a header
//! value and prints back to the wire form (`Display`).

use super::{ByteStr, Host, Method, ParseError, Uri};

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
    pub fn parse(value: &ByteStr) -> Result<Via, ParseError> {
        todo!("{value}")
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
        todo!("{value}")
    }
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
    pub fn parse(value: &ByteStr) -> Result<NameAddr, ParseError> {
        todo!("{value}")
    }
    /// The `tag` parameter of From/To.
    pub fn tag(&self) -> Option<&str> {
        self.params.get("tag").flatten()
    }
}

/// One Contact value: `*` or an address with parameters (`expires`, `q`).
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
        todo!("{value}")
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
