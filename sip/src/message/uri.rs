use super::{ByteStr, Params, ParseError};

/// The host part of a SIP URI or Via sent-by.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Host {
    /// A domain name, kept as written.
    Domain(ByteStr),
    Ipv4(std::net::Ipv4Addr),
    /// Written in brackets on the wire.
    Ipv6(std::net::Ipv6Addr),
}

/// A URI. `sip:`/`sips:` URIs are parsed into user, host, port, parameters and
/// headers (RFC 3261 §19.1); other schemes (`tel:`, unknown ones, RFC 4475 §3.3.2)
/// are kept as an opaque, validated string.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Uri {
    // private representation is the parser's choice
    raw: ByteStr,
}

impl Uri {
    /// Parses a URI as it appears in a Request-URI or inside `<...>`.
    pub fn parse(s: ByteStr) -> Result<Uri, ParseError> {
        todo!("{s}")
    }
    /// The scheme, lower-case ("sip", "sips", "tel", ...).
    pub fn scheme(&self) -> &str {
        todo!()
    }
    /// True for sip: and sips:.
    pub fn is_sip(&self) -> bool {
        todo!()
    }
    /// The user part, percent-escapes left as written.
    pub fn user(&self) -> Option<&str> {
        todo!()
    }
    /// The host of a sip/sips URI.
    pub fn host(&self) -> Option<&Host> {
        todo!()
    }
    pub fn port(&self) -> Option<u16> {
        todo!()
    }
    /// URI parameters (`;transport=tcp;lr`).
    pub fn params(&self) -> &Params {
        todo!()
    }
    /// The URI as written.
    pub fn as_str(&self) -> &str {
        self.raw.as_str()
    }
}

impl std::fmt::Display for Uri {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::fmt::Display for Host {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Host::Domain(d) => f.write_str(d),
            Host::Ipv4(a) => write!(f, "{a}"),
            Host::Ipv6(a) => write!(f, "[{a}]"),
        }
    }
}
