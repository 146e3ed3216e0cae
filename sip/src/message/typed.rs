//! Typed views of the headers the stack relies on. Each parses from a header
//! value and prints back to the wire form (`Display`).

use super::scan::{
    any_param, find, intern, is, is_ws, parse_number, trim_ws, unquote, write_quoted, Cursor, Fail,
    TOKEN,
};
use super::uri::{parse_host, parse_port, parse_uri, parse_uri_prefix};
use super::{ByteStr, HeaderName, Host, Method, ParseError, ParseErrorKind, Uri};

pub(super) fn header_error(name: HeaderName, why: Fail) -> ParseError {
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
            .find(|(n, _)| n.as_bytes().eq_ignore_ascii_case(name.as_bytes()))
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
        let via = via_at::<true>(&mut cur).map_err(|why| header_error(HeaderName::Via, why))?;
        if !cur.at_end() {
            return Err(header_error(
                HeaderName::Via,
                "unexpected text after the value",
            ));
        }
        Ok(via)
    }

    /// Parses every comma-separated value of one Via line.
    pub fn parse_list(value: &ByteStr) -> Result<Vec<Via>, ParseError> {
        let mut cur = Cursor::new(value);
        let mut out = Vec::with_capacity(1);
        loop {
            out.push(via_at::<true>(&mut cur).map_err(|why| header_error(HeaderName::Via, why))?);
            if cur.at_end() {
                return Ok(out);
            }
            // via_at stops only at the end or before a comma.
            cur.pos += 1;
        }
    }

    /// The first value of a Via line, without looking at the others.
    pub(super) fn parse_first(value: &ByteStr) -> Result<Via, ParseError> {
        via_at::<true>(&mut Cursor::new(value)).map_err(|why| header_error(HeaderName::Via, why))
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
    let (seq, (a, b)) = cseq_parts(value.as_bytes())?;
    let method = Method::from_wire(&value.as_bytes()[a..b], || {
        value.sub(a, b).ok_or("invalid UTF-8 boundary")
    })?;
    Ok(CSeq { seq, method })
}

/// The sequence number and the span of the method of a CSeq value.
pub(super) fn cseq_parts(b: &[u8]) -> Result<(u32, (usize, usize)), Fail> {
    let mut i = 0;
    while i < b.len() && is_ws(b[i]) {
        i += 1;
    }
    let start = i;
    while i < b.len() && b[i].is_ascii_digit() {
        i += 1;
    }
    let seq =
        parse_number(&b[start..i], MAX_CSEQ).ok_or("sequence number missing or not below 2^31")?;
    if !b.get(i).copied().is_some_and(is_ws) {
        return Err("expected a space after the sequence number");
    }
    while i < b.len() && is_ws(b[i]) {
        i += 1;
    }
    let method_start = i;
    while i < b.len() && is(b[i], TOKEN) {
        i += 1;
    }
    if i == method_start {
        return Err("invalid method");
    }
    let method_end = i;
    while i < b.len() && is_ws(b[i]) {
        i += 1;
    }
    if i != b.len() {
        return Err("unexpected text after the method");
    }
    Ok((seq as u32, (method_start, method_end)))
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
        match name_addr_at::<true>(&mut cur, any_param) {
            Ok(addr) if cur.at_end() => Ok(addr),
            Ok(_) => Err(header_error(header, "more than one value")),
            Err(why) => Err(header_error(header, why)),
        }
    }

    /// Parses every comma-separated value of a Route/Record-Route-style line.
    pub fn parse_list(value: &ByteStr, header: HeaderName) -> Result<Vec<NameAddr>, ParseError> {
        let mut cur = Cursor::new(value);
        let mut out = Vec::with_capacity(1);
        loop {
            out.push(
                name_addr_at::<true>(&mut cur, any_param)
                    .map_err(|why| header_error(header.clone(), why))?,
            );
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
        contact_list::<true>(value).map_err(|why| header_error(HeaderName::Contact, why))
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

/// Every value of a Contact line; with `BUILD` false, validation only (each
/// `expires` must be delta-seconds below 2^32) and an empty result.
fn contact_list<const BUILD: bool>(value: &ByteStr) -> Result<Contact, Fail> {
    let mut cur = Cursor::new(value);
    cur.skip_ws();
    if cur.peek() == Some(b'*') {
        let mark = cur.pos;
        cur.pos += 1;
        cur.skip_ws();
        if cur.at_end() {
            return Ok(if BUILD {
                vec![ContactValue::Star]
            } else {
                Vec::new()
            });
        }
        // A display name may start with "*" (it is a token character).
        cur.pos = mark;
    }
    let mut out = if BUILD {
        Vec::with_capacity(1)
    } else {
        Vec::new()
    };
    loop {
        let addr = name_addr_at::<BUILD>(&mut cur, check_contact_expires)?;
        if BUILD {
            out.push(ContactValue::Addr(addr));
        } else {
            discard(addr);
        }
        if cur.at_end() {
            return Ok(out);
        }
        cur.pos += 1;
    }
}

/// RFC 3261 §20.10: `c-p-expires = "expires" EQUAL delta-seconds`.
fn check_contact_expires(name: &[u8], value: Option<&[u8]>) -> Result<(), Fail> {
    if name.eq_ignore_ascii_case(b"expires")
        && value
            .and_then(|v| parse_number(v, u64::from(u32::MAX)))
            .is_none()
    {
        return Err("expires parameter is not delta-seconds below 2^32");
    }
    Ok(())
}

/// Validates a Via line (every value) without building anything.
pub(super) fn validate_via(value: &ByteStr) -> Result<(), ParseError> {
    let mut cur = Cursor::new(value);
    loop {
        match via_at::<false>(&mut cur) {
            Ok(via) => discard(via),
            Err(why) => return Err(header_error(HeaderName::Via, why)),
        }
        if cur.at_end() {
            return Ok(());
        }
        cur.pos += 1;
    }
}

/// Validates a From/To value without building anything.
pub(super) fn validate_name_addr(value: &ByteStr, header: HeaderName) -> Result<(), ParseError> {
    let mut cur = Cursor::new(value);
    match name_addr_at::<false>(&mut cur, any_param) {
        Ok(addr) if cur.at_end() => {
            discard(addr);
            Ok(())
        }
        Ok(addr) => {
            discard(addr);
            Err(header_error(header, "more than one value"))
        }
        Err(why) => Err(header_error(header, why)),
    }
}

/// Drops a value built with `BUILD` false without running its drop glue: it
/// holds only empty vectors and static placeholders, so nothing leaks, and the
/// optimiser can then drop the dead stores of the placeholder altogether.
#[inline(always)]
fn discard<T>(placeholder: T) {
    std::mem::forget(placeholder);
}

/// Validates a Contact line without building anything.
pub(super) fn validate_contact(value: &ByteStr) -> Result<(), ParseError> {
    contact_list::<false>(value)
        .map(drop)
        .map_err(|why| header_error(HeaderName::Contact, why))
}

/// One via-parm at the cursor (RFC 3261 §20.42, with LWS around every separator as
/// §25.1 allows); stops at the end or on the comma before the next value.
#[inline]
pub(super) fn via_at<const BUILD: bool>(cur: &mut Cursor<'_>) -> Result<Via, Fail> {
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
    let transport = if !BUILD {
        ByteStr::default()
    } else if let Some(known) = intern(&cur.b[a..b]) {
        known
    } else if cur.b[a..b].iter().any(u8::is_ascii_lowercase) {
        let upper: String = cur.b[a..b]
            .iter()
            .map(|c| c.to_ascii_uppercase() as char)
            .collect();
        ByteStr::from(upper)
    } else {
        cur.slice::<true>(a, b)?
    };
    if !cur.peek().is_some_and(is_ws) {
        return Err("expected a space before sent-by");
    }
    cur.skip_ws();
    let (host, end) = parse_host::<BUILD>(cur.src, 0, cur.b, cur.pos)?;
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
    let params = cur.params::<BUILD>(any_param)?;
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
#[inline]
pub(super) fn name_addr_at<const BUILD: bool>(
    cur: &mut Cursor<'_>,
    check: impl FnMut(&[u8], Option<&[u8]>) -> Result<(), Fail>,
) -> Result<NameAddr, Fail> {
    cur.skip_ws();
    let mut display = None;
    let bracketed = if cur.peek() == Some(b'"') {
        let (a, b, escaped) = cur.quoted()?;
        if BUILD {
            display = Some(if escaped {
                let inner =
                    std::str::from_utf8(&cur.b[a + 1..b - 1]).map_err(|_| "invalid UTF-8")?;
                ByteStr::from(unquote(inner))
            } else {
                cur.slice::<true>(a + 1, b - 1)?
            });
        } else {
            display = Some(ByteStr::default());
        }
        if !cur.eat(b'<') {
            return Err("a quoted display name must be followed by <");
        }
        true
    } else {
        // Unquoted display names are tokens separated by LWS; without "<" the
        // value is an addr-spec.
        let start = cur.pos;
        let mut p = start;
        while p < cur.b.len() && (is(cur.b[p], TOKEN) || is_ws(cur.b[p])) {
            p += 1;
        }
        if cur.b.get(p) == Some(&b'<') {
            let (a, b) = trim_ws(&cur.b[start..p]);
            if a < b {
                display = Some(cur.slice::<BUILD>(start + a, start + b)?);
            }
            cur.pos = p + 1;
            true
        } else {
            false
        }
    };
    let uri = if bracketed {
        // No LWS inside the brackets (RFC 4475 §3.1.2.14).
        if cur.peek().is_some_and(is_ws) {
            return Err("whitespace inside <>");
        }
        let (uri, stop) = parse_uri_prefix::<BUILD>(cur.src, cur.pos, cur.b.len())?;
        match cur.b.get(stop) {
            Some(b'>') => cur.pos = stop + 1,
            Some(&c) if is_ws(c) => return Err("whitespace inside <>"),
            Some(_) => return Err("character not allowed in a URI"),
            None => return Err("missing >"),
        }
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
        let uri = parse_uri::<BUILD>(cur.src, start, end).map_err(|why| {
            if find(b'<', &cur.b[start..]).is_some() {
                "display name is neither a quoted string nor tokens"
            } else {
                why
            }
        })?;
        if uri.has_headers() {
            return Err("an address with ? must be enclosed in <>");
        }
        cur.pos = end;
        uri
    };
    let params = cur.params::<BUILD>(check)?;
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

#[cfg(test)]
#[allow(clippy::unwrap_used)] // a failed unwrap is a failed test
mod tests {
    use super::*;

    fn bs(s: &str) -> ByteStr {
        ByteStr::from(s)
    }

    #[test]
    fn via_basic_and_round_trip() {
        let v = Via::parse(&bs("SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK776;rport")).unwrap();
        assert_eq!(&*v.transport, "UDP");
        assert_eq!(v.host, Host::Ipv4([192, 0, 2, 1].into()));
        assert_eq!(v.port, Some(5060));
        assert_eq!(v.branch(), Some("z9hG4bK776"));
        assert_eq!(v.rport(), Some(None));
        assert_eq!(v.received(), None);
        let printed = v.to_string();
        assert_eq!(
            printed,
            "SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK776;rport"
        );
        assert_eq!(Via::parse(&bs(&printed)).unwrap(), v);
    }

    #[test]
    fn via_lws_ipv6_and_lower_case_transport() {
        let v = Via::parse(&bs(
            "sip / 2.0 / tcp [2001:db8::9] : 5061 ; received = 2001:db8::1 ; rport = 5061 ; branch=z9hG4bKx",
        ))
        .unwrap();
        assert_eq!(&*v.transport, "TCP");
        assert_eq!(v.host, Host::Ipv6("2001:db8::9".parse().unwrap()));
        assert_eq!(v.port, Some(5061));
        assert_eq!(v.received(), Some("2001:db8::1"));
        assert_eq!(v.rport(), Some(Some(5061)));
        let again = Via::parse(&bs(&v.to_string())).unwrap();
        assert_eq!(again, v);
        assert_eq!(
            v.to_string(),
            "SIP/2.0/TCP [2001:db8::9]:5061;received=2001:db8::1;rport=5061;branch=z9hG4bKx"
        );
    }

    #[test]
    fn via_lists_and_errors() {
        let list = Via::parse_list(&bs(
            "SIP/2.0/UDP a.example.com;branch=z9hG4bK1 , SIP/2.0/TLS b.example.com:5061",
        ))
        .unwrap();
        assert_eq!(list.len(), 2);
        assert_eq!(list[1].port, Some(5061));
        assert!(Via::parse(&bs("SIP/2.0/UDP a, SIP/2.0/UDP b")).is_err());
        assert_eq!(
            Via::parse_first(&bs("SIP/2.0/UDP a, junk")).unwrap().host,
            Host::Domain(bs("a"))
        );
        for bad in [
            "",
            "SIP/2.0/UDP",
            "SIP/2.0/UDP 192.0.2.15;;,;,,",
            "SIP/3.0/UDP host",
            "HTTP/2.0/UDP host",
            "SIP/2.0/UDP host:99999",
            "SIP/2.0/UDP host;branch=",
            "SIP/2.0/UDP host,",
            "SIP/2.0/UDP [::1",
            "SIP/2.0/UDP host junk",
        ] {
            let err = Via::parse_list(&bs(bad)).unwrap_err();
            assert_eq!(err.kind, ParseErrorKind::Header(HeaderName::Via), "{bad}");
        }
    }

    #[test]
    fn via_quoted_param_value() {
        let v = Via::parse(&bs(r#"SIP/2.0/UDP h;x="a, b";branch=z9hG4bK1"#)).unwrap();
        assert_eq!(v.params.get("x"), Some(Some(r#""a, b""#)));
        assert_eq!(v.branch(), Some("z9hG4bK1"));
    }

    #[test]
    fn cseq_parse_print() {
        let c = CSeq::parse(&bs(" 0009 \t INVITE ")).unwrap();
        assert_eq!(
            c,
            CSeq {
                seq: 9,
                method: Method::Invite
            }
        );
        assert_eq!(c.to_string(), "9 INVITE");
        let c = CSeq::parse(&bs("2147483647 NEWMETHOD")).unwrap();
        assert_eq!(c.method, Method::Other(bs("NEWMETHOD")));
        for bad in [
            "2147483648 INVITE",
            "INVITE",
            "1",
            "1INVITE",
            "1 INVITE x",
            "-1 INVITE",
            "1 IN<VITE",
        ] {
            assert!(CSeq::parse(&bs(bad)).is_err(), "{bad}");
        }
    }

    #[test]
    fn name_addr_forms() {
        let a = NameAddr::parse(&bs(
            r#""J Rosenberg \\\""  <sip:jdrosen@example.com> ; tag = 98asjd8"#,
        ))
        .unwrap();
        assert_eq!(a.display.as_deref(), Some(r#"J Rosenberg \""#));
        assert_eq!(a.uri.as_str(), "sip:jdrosen@example.com");
        assert_eq!(a.tag(), Some("98asjd8"));
        let printed = a.to_string();
        assert_eq!(
            printed,
            r#""J Rosenberg \\\"" <sip:jdrosen@example.com>;tag=98asjd8"#
        );
        assert_eq!(NameAddr::parse(&bs(&printed)).unwrap(), a);

        let a = NameAddr::parse(&bs("caller<sip:caller@example.com>;tag=323")).unwrap();
        assert_eq!(a.display.as_deref(), Some("caller"));
        let a = NameAddr::parse(&bs("A. Bell <sip:a@b>")).unwrap();
        assert_eq!(a.display.as_deref(), Some("A. Bell"));
        let a = NameAddr::parse(&bs("sip:user@example.com;tag=1")).unwrap();
        assert_eq!(a.display, None);
        assert_eq!(a.uri.as_str(), "sip:user@example.com");
        assert_eq!(a.tag(), Some("1"));
        let a = NameAddr::parse(&bs("<sip:a@b;lr>;flag;x=\"q\"")).unwrap();
        assert_eq!(a.uri.params().get("lr"), Some(None));
        assert_eq!(a.params.get("flag"), Some(None));
        assert_eq!(a.params.get("x"), Some(Some("\"q\"")));
        let a = NameAddr::parse(&bs("<tel:+1-201-555-0123>")).unwrap();
        assert_eq!(a.uri.scheme(), "tel");
        let a = NameAddr::parse(&bs(r#""" <sip:a@b>"#)).unwrap();
        assert_eq!(a.display.as_deref(), Some(""));
        assert_eq!(NameAddr::parse(&bs(&a.to_string())).unwrap(), a);
    }

    #[test]
    fn name_addr_control_characters_round_trip() {
        let a = NameAddr::parse(&bs("\"BEL:\\\x07 NUL:\\\x00 DEL:\\\x7f\" <sip:a@b>")).unwrap();
        assert_eq!(a.display.as_deref(), Some("BEL:\x07 NUL:\x00 DEL:\x7f"));
        assert_eq!(NameAddr::parse(&bs(&a.to_string())).unwrap(), a);
    }

    #[test]
    fn name_addr_errors() {
        for bad in [
            r#""Mr. J. User <sip:j.user@example.com>"#,
            "Bell, Alexander <sip:a.g.bell@example.com>;tag=43",
            "< sip:t.watson@example.org >",
            "sip:user@example.com?Route=%3Csip:sip.example.com%3E",
            "<sip:a@b",
            "\"x\" sip:a@b",
            "sip:a@b, sip:c@d",
            "<sip:a@b>;",
            "<sip:a@b>;tag=",
            "<sip:a@b> junk",
            "",
            "<>",
        ] {
            assert!(NameAddr::parse(&bs(bad)).is_err(), "{bad}");
        }
        let err = NameAddr::parse_as(&bs("Bell, A <sip:a@b>"), HeaderName::To).unwrap_err();
        assert_eq!(err.kind, ParseErrorKind::Header(HeaderName::To));
        assert!(err.detail.contains("display name"), "{}", err.detail);
    }

    #[test]
    fn contacts() {
        assert_eq!(
            ContactValue::parse_list(&bs(" * ")).unwrap(),
            vec![ContactValue::Star]
        );
        assert_eq!(ContactValue::Star.to_string(), "*");
        let list = ContactValue::parse_list(&bs(
            r#""Quoted string \"\"" <sip:jdrosen@example.com> ; newparam = newvalue ; secondparam ; q = 0.33, <sip:b@c>;expires=60 , sip:d@e"#,
        ))
        .unwrap();
        assert_eq!(list.len(), 3);
        let ContactValue::Addr(first) = &list[0] else {
            panic!("not an address")
        };
        assert_eq!(first.display.as_deref(), Some(r#"Quoted string """#));
        assert_eq!(first.params.get("newparam"), Some(Some("newvalue")));
        assert_eq!(first.params.get("secondparam"), Some(None));
        assert_eq!(first.params.get("q"), Some(Some("0.33")));
        assert_eq!(list[1].expires(), Some(60));
        assert_eq!(list[0].expires(), None);
        let printed: Vec<String> = list.iter().map(ToString::to_string).collect();
        let reparsed = ContactValue::parse_list(&bs(&printed.join(", "))).unwrap();
        assert_eq!(reparsed, list);
        // A display name may start with "*".
        let star_name = ContactValue::parse_list(&bs("*x <sip:a@b>")).unwrap();
        assert!(
            matches!(&star_name[0], ContactValue::Addr(a) if a.display.as_deref() == Some("*x"))
        );
        assert!(ContactValue::parse_list(&bs("*, <sip:a@b>")).is_err());
        assert!(ContactValue::parse_list(&bs("<sip:a@b>,")).is_err());
        assert!(ContactValue::parse_list(&bs(r#""Joe" <sip:joe@example.org>;;;;"#)).is_err());
    }

    #[test]
    fn intmeth_addresses() {
        let to = NameAddr::parse(&bs(
            "\"BEL:\\\x07 NUL:\\\x00 DEL:\\\x7f\" <sip:1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*@example.com>",
        ))
        .unwrap();
        assert_eq!(
            to.uri.user(),
            Some("1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*")
        );
        let from = NameAddr::parse(&bs(
            "token1~` token2'+_ token3*%!.- <sip:mundane@example.com>;fromParam''~+*_!.-%=\"\u{0440}\u{0430}\u{0431}\";tag=_token~1'+`*%!-.",
        ))
        .unwrap();
        assert_eq!(
            from.display.as_deref(),
            Some("token1~` token2'+_ token3*%!.-")
        );
        assert_eq!(from.tag(), Some("_token~1'+`*%!-."));
        assert_eq!(
            from.params.get("fromparam''~+*_!.-%"),
            Some(Some("\"\u{0440}\u{0430}\u{0431}\""))
        );
    }
}
