use super::scan::{
    classes_of, find, intern, is, is_ws, parse_number, take_escaped, Fail, HNV, HOST, HOST_NAME,
    PARAMCHAR, PASSWORD, SCHEME, URIC, USER,
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
        parse_uri::<true>(&s, 0, s.len()).map_err(|why| {
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
        matches!(self.scheme, Scheme::Sip | Scheme::Sips)
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
    /// The headers component (`?Route=...`, without the `?`), escapes as written;
    /// for other schemes, whatever follows the first `?`.
    pub fn headers(&self) -> Option<&str> {
        self.headers.map(|s| self.span(s))
    }
    /// The URI as written.
    pub fn as_str(&self) -> &str {
        self.raw.as_str()
    }

    /// Whether a `?` part is present (valid also for a validation-only parse).
    pub(super) fn has_headers(&self) -> bool {
        self.headers.is_some()
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

/// Parses `src[start..end]` as a URI. With `BUILD` false it only validates: the
/// result carries the spans and scheme but no slices (see `scan::Cursor`).
pub(super) fn parse_uri<const BUILD: bool>(
    src: &ByteStr,
    start: usize,
    end: usize,
) -> Result<Uri, Fail> {
    let (uri, stop) = parse_uri_prefix::<BUILD>(src, start, end)?;
    if stop != end {
        return Err(if src.as_bytes()[stop..end].iter().any(|&c| is_ws(c)) {
            "whitespace in a URI"
        } else {
            "character not allowed in a URI"
        });
    }
    Ok(uri)
}

/// Parses the longest URI at `src[start..limit]` (it stops at the first byte no
/// URI rule admits, e.g. the `>` of a name-addr, saving a separate search for
/// it); returns the URI and where it stopped.
#[inline]
pub(super) fn parse_uri_prefix<const BUILD: bool>(
    src: &ByteStr,
    start: usize,
    limit: usize,
) -> Result<(Uri, usize), Fail> {
    let all = src.as_bytes().get(start..limit).ok_or("invalid URI span")?;
    let mut b = all;
    if b.len() > u32::MAX as usize {
        return Err("URI too long");
    }
    let span = |a: usize, z: usize| Span(a as u32, z as u32);
    let slice = |a: usize, z: usize| -> Result<ByteStr, Fail> {
        if BUILD {
            src.sub(start + a, start + z)
                .ok_or("invalid UTF-8 boundary")
        } else {
            Ok(ByteStr::default())
        }
    };
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
        b = &all[..take_escaped(all, rest, URIC)?];
        let scheme = if BUILD && scheme_bytes.iter().any(u8::is_ascii_uppercase) {
            let lower: String = scheme_bytes
                .iter()
                .map(|c| c.to_ascii_lowercase() as char)
                .collect();
            Scheme::Owned(lower.into())
        } else {
            Scheme::Lower(i as u32)
        };
        let headers = find(b'?', &b[rest..]).map(|q| span(rest + q + 1, b.len()));
        let uri = Uri {
            raw: slice(0, b.len())?,
            scheme,
            user: None,
            password: None,
            host: None,
            port: None,
            params: Params::default(),
            headers,
        };
        return Ok((uri, start + b.len()));
    };

    // userinfo, if the user (and password) characters run up to an "@"; a "@"
    // anywhere else is then rejected by the host, parameter and header rules.
    let mut pos = rest;
    let (mut user, mut password) = (None, None);
    let user_end = take_escaped(b, rest, USER)?;
    match b.get(user_end) {
        Some(b'@') if user_end == rest => return Err("empty user part"),
        Some(b'@') => {
            user = Some(span(rest, user_end));
            pos = user_end + 1;
        }
        Some(b':') => {
            let password_end = take_escaped(b, user_end + 1, PASSWORD)?;
            if b.get(password_end) == Some(&b'@') {
                if user_end == rest {
                    return Err("empty user part");
                }
                user = Some(span(rest, user_end));
                password = Some(span(user_end + 1, password_end));
                pos = password_end + 1;
            }
        }
        _ => {}
    }

    let (host, host_end) = parse_host::<BUILD>(src, start, b, pos)?;
    pos = host_end;
    let mut port = None;
    if b.get(pos) == Some(&b':') {
        let digits = pos + 1;
        pos = digits;
        while pos < b.len() && b[pos].is_ascii_digit() {
            pos += 1;
        }
        port = Some(parse_port(&b[digits..pos])?);
    }

    let mut params = Vec::new();
    while b.get(pos) == Some(&b';') {
        let name_start = pos + 1;
        let name_end = take_escaped(b, name_start, PARAMCHAR)?;
        if name_end == name_start {
            return Err("empty URI parameter name");
        }
        pos = name_end;
        let mut value = None;
        if b.get(pos) == Some(&b'=') {
            let value_end = take_escaped(b, pos + 1, PARAMCHAR)?;
            if value_end == pos + 1 {
                return Err("empty URI parameter value");
            }
            value = Some((pos + 1, value_end));
            pos = value_end;
        }
        if BUILD {
            let value = match value {
                Some((a, z)) => Some(slice(a, z)?),
                None => None,
            };
            let name = match intern(&b[name_start..name_end]) {
                Some(name) => name,
                None => slice(name_start, name_end)?,
            };
            params.push((name, value));
        }
    }

    let mut headers = None;
    if b.get(pos) == Some(&b'?') {
        let first = pos + 1;
        pos = first;
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
        headers = Some(span(first, pos));
    }
    let uri = Uri {
        raw: slice(0, pos)?,
        scheme,
        user,
        password,
        host: Some(host),
        port,
        params: Params(params),
        headers,
    };
    Ok((uri, start + pos))
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

/// A host at `b[at..]`, where `b` is `src[offset..]`: `[IPv6]`, an IPv4 address
/// or a host name. Returns the host (a placeholder name when only validating) and
/// the index in `b` after it.
pub(super) fn parse_host<const BUILD: bool>(
    src: &ByteStr,
    offset: usize,
    b: &[u8],
    at: usize,
) -> Result<(Host, usize), Fail> {
    if b.get(at) == Some(&b'[') {
        let close = find(b']', &b[at..]).ok_or("unterminated IPv6 reference")?;
        let inner =
            std::str::from_utf8(&b[at + 1..at + close]).map_err(|_| "invalid IPv6 address")?;
        let addr = inner
            .parse::<std::net::Ipv6Addr>()
            .map_err(|_| "invalid IPv6 address")?;
        return Ok((Host::Ipv6(addr), at + close + 1));
    }
    // One pass: the extent, whether anything but digits and dots occurs, and
    // whether a label is empty ("..", or a leading dot).
    let mut end = at;
    let mut seen = 0u16;
    let mut empty_label = false;
    while end < b.len() {
        let c = b[end];
        let class = classes_of(c);
        if class & HOST == 0 {
            break;
        }
        seen |= class;
        if c == b'.' && (end == at || b[end - 1] == b'.') {
            empty_label = true;
        }
        end += 1;
    }
    if end == at {
        return Err("missing host");
    }
    let numeric = seen & HOST_NAME == 0;
    let name = &b[at..end];
    // A top label starts with a letter (RFC 3261 §25.1), so all digits and dots
    // can only be an IPv4 address.
    if numeric {
        let addr = parse_ipv4(name).ok_or("invalid IPv4 address")?;
        return Ok((Host::Ipv4(addr), end));
    }
    if empty_label || name[0] == b'-' {
        return Err("invalid host name");
    }
    let domain = if BUILD {
        src.sub(offset + at, offset + end)
            .ok_or("invalid UTF-8 boundary")?
    } else {
        ByteStr::default()
    };
    Ok((Host::Domain(domain), end))
}

/// Dotted-quad IPv4, as `std` reads it (no leading zeros), without UTF-8 checks.
fn parse_ipv4(s: &[u8]) -> Option<std::net::Ipv4Addr> {
    let mut octets = [0u8; 4];
    let mut n = 0usize;
    let mut value: u16 = 0;
    let mut digits = 0;
    for &c in s {
        if c == b'.' {
            if digits == 0 || n == 3 {
                return None;
            }
            octets[n] = value as u8;
            n += 1;
            value = 0;
            digits = 0;
        } else {
            // `s` holds only digits and dots (see `parse_host`).
            if digits > 0 && value == 0 {
                return None;
            }
            value = value * 10 + u16::from(c.wrapping_sub(b'0'));
            digits += 1;
            if value > 255 || !c.is_ascii_digit() {
                return None;
            }
        }
    }
    if digits == 0 || n != 3 {
        return None;
    }
    octets[3] = value as u8;
    Some(octets.into())
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
    fn ipv4_like_std() {
        for s in [
            "0.0.0.0",
            "255.255.255.255",
            "192.0.2.1",
            "1.2.3.4",
            "01.2.3.4",
            "1.2.3",
            "1.2.3.4.5",
            "256.1.1.1",
            "1..2.3",
            ".1.2.3",
            "1.2.3.",
            "",
            "1000.1.1.1",
            "00.1.1.1",
        ] {
            assert_eq!(parse_ipv4(s.as_bytes()), s.parse().ok(), "{s}");
        }
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
