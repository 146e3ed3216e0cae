use super::bytestr::sub;
use super::scan::{
    is, parse_number, take_escaped, Fail, HNV, HOST, PARAMCHAR, PASSWORD, SCHEME, URIC, USER,
};
use super::{ByteStr, Params, ParseError, ParseErrorKind};

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
    /// The URI as written; every other field is a view of it.
    raw: ByteStr,
    scheme: Scheme,
    user: Option<Span>,
    password: Option<Span>,
    host: Option<Host>,
    port: Option<u16>,
    params: Params,
    /// `?h=v&...` without the `?`.
    headers: Option<Span>,
}

/// Byte offsets into `raw` (kept small: a `Uri` sits in every From, To and Contact).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Span(u32, u32);

#[derive(Debug, Clone, PartialEq, Eq)]
enum Scheme {
    Sip,
    Sips,
    /// Written in lower case: the bytes before the colon.
    Lower(u32),
    /// Written with upper case letters: a lower-case copy.
    Owned(Box<str>),
}

impl Uri {
    /// Parses a URI as it appears in a Request-URI or inside `<...>`.
    pub fn parse(s: ByteStr) -> Result<Uri, ParseError> {
        parse_uri(&s).map_err(|why| {
            ParseError::new(ParseErrorKind::RequestUri, format!("invalid URI: {why}"))
        })
    }
    /// The scheme, lower-case ("sip", "sips", "tel", ...).
    pub fn scheme(&self) -> &str {
        match &self.scheme {
            Scheme::Sip => "sip",
            Scheme::Sips => "sips",
            Scheme::Lower(end) => self.span(Span(0, *end)),
            Scheme::Owned(s) => s,
        }
    }
    /// True for sip: and sips:.
    pub fn is_sip(&self) -> bool {
        self.host.is_some()
    }
    /// The user part, percent-escapes left as written.
    pub fn user(&self) -> Option<&str> {
        self.user.map(|s| self.span(s))
    }
    /// The password of `user:password@` (deprecated by RFC 3261 but legal).
    pub fn password(&self) -> Option<&str> {
        self.password.map(|s| self.span(s))
    }
    /// The host of a sip/sips URI.
    pub fn host(&self) -> Option<&Host> {
        self.host.as_ref()
    }
    pub fn port(&self) -> Option<u16> {
        self.port
    }
    /// URI parameters (`;transport=tcp;lr`).
    pub fn params(&self) -> &Params {
        &self.params
    }
    /// The headers component (`?Route=...`, without the `?`), escapes as written.
    pub fn headers(&self) -> Option<&str> {
        self.headers.map(|s| self.span(s))
    }
    /// The URI as written.
    pub fn as_str(&self) -> &str {
        self.raw.as_str()
    }

    fn span(&self, Span(a, b): Span) -> &str {
        // Spans are cut next to ASCII delimiters of `raw`.
        self.raw.get(a as usize..b as usize).unwrap_or_default()
    }
}

impl std::str::FromStr for Uri {
    type Err = ParseError;
    fn from_str(s: &str) -> Result<Uri, ParseError> {
        Uri::parse(ByteStr::from(s))
    }
}

pub(super) fn parse_uri(raw: &ByteStr) -> Result<Uri, Fail> {
    let text = raw.as_str();
    let b = text.as_bytes();
    if b.len() > u32::MAX as usize {
        return Err("URI too long");
    }
    let span = |a: usize, z: usize| Span(a as u32, z as u32);
    if !b.first().is_some_and(u8::is_ascii_alphabetic) {
        return Err("missing scheme");
    }
    let mut i = 1;
    while i < b.len() && is(b[i], SCHEME) {
        i += 1;
    }
    if b.get(i) != Some(&b':') {
        return Err("missing scheme");
    }
    let scheme_bytes = &b[..i];
    let rest = i + 1;
    if rest == b.len() {
        return Err("nothing after the scheme");
    }
    let scheme = if scheme_bytes.eq_ignore_ascii_case(b"sip") {
        Scheme::Sip
    } else if scheme_bytes.eq_ignore_ascii_case(b"sips") {
        Scheme::Sips
    } else {
        // RFC 3261 §19.1.6 absoluteURI: opaque, but only URI characters.
        if take_escaped(b, rest, URIC)? != b.len() {
            return Err("character not allowed in a URI");
        }
        let scheme = if scheme_bytes.iter().any(u8::is_ascii_uppercase) {
            Scheme::Owned(text[..i].to_ascii_lowercase().into())
        } else {
            Scheme::Lower(i as u32)
        };
        return Ok(Uri {
            raw: raw.clone(),
            scheme,
            user: None,
            password: None,
            host: None,
            port: None,
            params: Params::default(),
            headers: None,
        });
    };

    // userinfo: the only "@" of a SIP URI ends it (neither host, parameters nor
    // headers may hold one unescaped).
    let mut pos = rest;
    let (mut user, mut password) = (None, None);
    if let Some(at) = memchr::memchr(b'@', &b[rest..]) {
        let at = rest + at;
        let user_end = take_escaped(b, rest, USER)?;
        if user_end == rest {
            return Err("empty user part");
        }
        if user_end < at {
            if b[user_end] != b':' {
                return Err("character not allowed in the user part");
            }
            if take_escaped(b, user_end + 1, PASSWORD)? != at {
                return Err("character not allowed in the password");
            }
            password = Some(span(user_end + 1, at));
        } else if user_end > at {
            return Err("character not allowed in the user part");
        }
        user = Some(span(rest, user_end));
        pos = at + 1;
        if memchr::memchr(b'@', &b[pos..]).is_some() {
            return Err("more than one @");
        }
    }

    let (host, end) = parse_host(raw, text, pos)?;
    pos = end;
    let mut port = None;
    if b.get(pos) == Some(&b':') {
        let start = pos + 1;
        pos = start;
        while pos < b.len() && b[pos].is_ascii_digit() {
            pos += 1;
        }
        port = Some(parse_port(&b[start..pos])?);
    }

    let mut params = Vec::new();
    while b.get(pos) == Some(&b';') {
        let name_start = pos + 1;
        let name_end = take_escaped(b, name_start, PARAMCHAR)?;
        if name_end == name_start {
            return Err("empty URI parameter name");
        }
        let name = sub(raw.as_bytes(), text, 0, name_start, name_end).ok_or("invalid UTF-8")?;
        pos = name_end;
        let mut value = None;
        if b.get(pos) == Some(&b'=') {
            let value_end = take_escaped(b, pos + 1, PARAMCHAR)?;
            if value_end == pos + 1 {
                return Err("empty URI parameter value");
            }
            value = Some(sub(raw.as_bytes(), text, 0, pos + 1, value_end).ok_or("invalid UTF-8")?);
            pos = value_end;
        }
        params.push((name, value));
    }

    let mut headers = None;
    if b.get(pos) == Some(&b'?') {
        let start = pos + 1;
        pos = start;
        loop {
            let name_end = take_escaped(b, pos, HNV)?;
            if name_end == pos || b.get(name_end) != Some(&b'=') {
                return Err("malformed URI header");
            }
            pos = take_escaped(b, name_end + 1, HNV)?;
            if b.get(pos) != Some(&b'&') {
                break;
            }
            pos += 1;
        }
        headers = Some(span(start, pos));
    }
    if pos != b.len() {
        return Err("character not allowed in a SIP URI");
    }
    Ok(Uri {
        raw: raw.clone(),
        scheme,
        user,
        password,
        host: Some(host),
        port,
        params: Params(params),
        headers,
    })
}

/// A port: 1 to 5 digits, at most 65535.
pub(super) fn parse_port(digits: &[u8]) -> Result<u16, Fail> {
    if digits.len() > 5 {
        return Err("port out of range");
    }
    parse_number(digits, u64::from(u16::MAX))
        .map(|p| p as u16)
        .ok_or("invalid port")
}

/// A host at `start` of `text` (the text of `src`): `[IPv6]`, an IPv4 address or a
/// host name. Returns the host and the index after it.
pub(super) fn parse_host(src: &ByteStr, text: &str, start: usize) -> Result<(Host, usize), Fail> {
    let b = text.as_bytes();
    if b.get(start) == Some(&b'[') {
        let close = memchr::memchr(b']', &b[start..]).ok_or("unterminated IPv6 reference")?;
        let inner = &text[start + 1..start + close];
        let addr = inner
            .parse::<std::net::Ipv6Addr>()
            .map_err(|_| "invalid IPv6 address")?;
        return Ok((Host::Ipv6(addr), start + close + 1));
    }
    let mut end = start;
    let mut numeric = true;
    while end < b.len() && is(b[end], HOST) {
        numeric &= b[end].is_ascii_digit() || b[end] == b'.';
        end += 1;
    }
    if end == start {
        return Err("missing host");
    }
    let name = &text[start..end];
    if numeric {
        // All digits and dots: an IPv4 address or nothing (a top label starts
        // with a letter, RFC 3261 §25.1).
        let addr = name
            .parse::<std::net::Ipv4Addr>()
            .map_err(|_| "invalid IPv4 address")?;
        return Ok((Host::Ipv4(addr), end));
    }
    if name.starts_with(['.', '-']) || name.contains("..") {
        return Err("invalid host name");
    }
    let domain = sub(src.as_bytes(), text, 0, start, end).ok_or("invalid UTF-8")?;
    Ok((Host::Domain(domain), end))
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

#[cfg(test)]
#[allow(clippy::unwrap_used)] // a failed unwrap is a failed test
mod tests {
    use super::*;

    fn uri(s: &str) -> Uri {
        Uri::parse(ByteStr::from(s)).unwrap_or_else(|e| panic!("{s}: {e}"))
    }

    #[test]
    fn sip_uri_parts() {
        let u = uri("sip:alice:secret@Example.COM:5070;transport=tcp;lr?subject=x&h=");
        assert_eq!(u.scheme(), "sip");
        assert!(u.is_sip());
        assert_eq!(u.user(), Some("alice"));
        assert_eq!(u.password(), Some("secret"));
        assert_eq!(u.host(), Some(&Host::Domain(ByteStr::from("Example.COM"))));
        assert_eq!(u.port(), Some(5070));
        assert_eq!(u.params().get("transport"), Some(Some("tcp")));
        assert_eq!(u.params().get("LR"), Some(None));
        assert_eq!(u.headers(), Some("subject=x&h="));
        assert_eq!(
            u.to_string(),
            "sip:alice:secret@Example.COM:5070;transport=tcp;lr?subject=x&h="
        );
    }

    #[test]
    fn hosts() {
        assert_eq!(
            uri("SIPS:[2001:db8::1]:5061").host(),
            Some(&Host::Ipv6("2001:db8::1".parse().unwrap()))
        );
        assert_eq!(uri("sips:[2001:db8::1]:5061").scheme(), "sips");
        assert_eq!(
            uri("sip:192.0.2.1").host(),
            Some(&Host::Ipv4([192, 0, 2, 1].into()))
        );
        assert_eq!(uri("sip:192.0.2.1").port(), None);
        for bad in [
            "sip:1.2.3",
            "sip:300.1.1.1",
            "sip:[::1",
            "sip:[zz]",
            "sip:",
            "sip:host:",
            "sip:host:99999",
            "sip:.host",
        ] {
            assert!(Uri::parse(ByteStr::from(bad)).is_err(), "{bad}");
        }
    }

    #[test]
    fn user_parts_keep_escapes() {
        assert_eq!(
            uri("sip:sips%3Auser%40example.com@example.net").user(),
            Some("sips%3Auser%40example.com")
        );
        assert_eq!(
            uri("sip:null-%00-null@example.com").user(),
            Some("null-%00-null")
        );
        assert_eq!(
            uri("sip:user;par=u%40example.net@example.com").user(),
            Some("user;par=u%40example.net")
        );
        let odd = uri("sip:1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*:&it+has=1,weird!*pas$wo~d_too.(doesn't-it)@example.com");
        assert_eq!(
            odd.user(),
            Some("1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*")
        );
        assert_eq!(
            odd.password(),
            Some("&it+has=1,weird!*pas$wo~d_too.(doesn't-it)")
        );
        assert!(Uri::parse(ByteStr::from("sip:a%4@example.com")).is_err());
        assert!(Uri::parse(ByteStr::from("sip:a@b@example.com")).is_err());
        assert!(Uri::parse(ByteStr::from("sip:@example.com")).is_err());
    }

    #[test]
    fn other_schemes_are_opaque() {
        let u = uri("nobodyKnowsThisScheme:totallyopaquecontent");
        assert_eq!(u.scheme(), "nobodyknowsthisscheme");
        assert!(!u.is_sip());
        assert_eq!(u.host(), None);
        assert!(u.params().0.is_empty());
        assert_eq!(uri("soap.beep://192.0.2.103:3002").scheme(), "soap.beep");
        assert_eq!(
            uri("tel:+1-201-555-0123;phone-context=example.com").scheme(),
            "tel"
        );
        for bad in [
            "<sip:a@b>",
            "sip:a@b c",
            "x:a b",
            "x:",
            ":x",
            "1x:y",
            "x:<y>",
        ] {
            assert!(Uri::parse(ByteStr::from(bad)).is_err(), "{bad}");
        }
    }

    #[test]
    fn escaped_params() {
        let u = uri("sip:cal%6Cer@host5.example.net;%6C%72;n%61me=v%61lue%25%34%31");
        assert_eq!(u.params().get("%6C%72"), Some(None));
        assert_eq!(u.params().get("n%61me"), Some(Some("v%61lue%25%34%31")));
        assert!(Uri::parse(ByteStr::from("sip:h;;a")).is_err());
        assert!(Uri::parse(ByteStr::from("sip:h;a=")).is_err());
    }
}
