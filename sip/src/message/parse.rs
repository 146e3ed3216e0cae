use bytes::Bytes;

use super::bytestr::sub;
use super::scan::{is, is_ws, parse_number, trim_ws, TOKEN, WORD};
use super::typed::{cseq_parts, header_error, validate_contact, validate_name_addr, validate_via};
use super::{
    ByteStr, Header, HeaderName, Headers, Message, Method, NameAddr, Request, Response, Uri,
};

/// Why a message was rejected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ParseErrorKind {
    /// Malformed request or status line.
    StartLine,
    /// A SIP version other than SIP/2.0 (answered `505`).
    Version,
    /// A malformed header value (the header is named).
    Header(HeaderName),
    /// A header that every request/response must carry is missing (RFC 3261 §8.1.1).
    MissingHeader(HeaderName),
    /// A header that may appear once appears several times.
    DuplicateHeader(HeaderName),
    /// Content-Length missing where required, negative, too large or not matching.
    ContentLength,
    /// The Request-URI is malformed.
    RequestUri,
    /// Not UTF-8 where text is required, or a bare CR/LF/NUL.
    Encoding,
    /// The header section does not end (no empty line).
    Incomplete,
}

/// A parse failure with a human-readable detail, suitable for a reason phrase.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{detail}")]
pub struct ParseError {
    pub kind: ParseErrorKind,
    pub detail: String,
}

impl ParseError {
    pub fn new(kind: ParseErrorKind, detail: impl Into<String>) -> Self {
        Self {
            kind,
            detail: detail.into(),
        }
    }
    /// The status to answer a request that failed this way: 505 for a bad
    /// version, 400 otherwise.
    pub fn status(&self) -> u16 {
        if self.kind == ParseErrorKind::Version {
            505
        } else {
            400
        }
    }
}

/// Parses one message. For a datagram, octets after the body that Content-Length
/// announces are ignored (RFC 4475 §3.1.1.8); a missing Content-Length means the
/// body is the rest of the buffer (legal on UDP, RFC 3261 §18.3).
pub fn parse(buf: Bytes) -> Result<Message, ParseError> {
    // RFC 3261 §7.5: CRLFs before the start line are ignored (keep-alives).
    let mut start = 0;
    while buf[start..].starts_with(b"\r\n") {
        start += 2;
    }
    let Some(len) = END_OF_HEADERS.find(&buf[start..]) else {
        return Err(ParseError::new(
            ParseErrorKind::Incomplete,
            "header section does not end with an empty line",
        ));
    };
    let body_start = start + len + 4;
    let head = std::str::from_utf8(&buf[start..start + len])
        .map_err(|_| ParseError::new(ParseErrorKind::Encoding, "header section is not UTF-8"))?;
    let h = head.as_bytes();
    check_nul(h)?;

    // The start line, then header lines; a line starting with SP or HT continues
    // the previous header (folding, RFC 3261 §7.3.1).
    let mut lines = Lines { h, pos: 0 };
    let (_, first_end) = lines.next_line()?.unwrap_or((0, h.len()));
    let first = &head[..first_end];
    let mut headers = Vec::with_capacity(24);
    let mut next = lines.next_line()?;
    while let Some((a, b)) = next {
        if is_ws(h[a]) {
            return Err(ParseError::new(
                ParseErrorKind::StartLine,
                "whitespace at the start of the first header line",
            ));
        }
        let (name, value_start) = header_name(&buf, head, start, a, b)?;
        let mut value_end = b;
        let mut folded = false;
        next = lines.next_line()?;
        while let Some((c, d)) = next {
            if !is_ws(h[c]) {
                break;
            }
            folded = true;
            value_end = d;
            next = lines.next_line()?;
        }
        let value = if folded {
            unfold(&head[value_start..value_end])
        } else {
            let (ta, tb) = trim_ws(&h[value_start..value_end]);
            sub(&buf, head, start, value_start + ta, value_start + tb).ok_or_else(utf8_error)?
        };
        headers.push(Header { name, value });
    }
    let headers = Headers::from_vec(headers);

    let mut message = if first.len() >= 4 && first.as_bytes()[..4].eq_ignore_ascii_case(b"SIP/") {
        let (status, reason) = status_line(&buf, head, start, first_end)?;
        Message::Response(Response {
            status,
            reason,
            headers,
            body: Bytes::new(),
        })
    } else {
        let (method, uri) = request_line(&buf, head, start, first_end)?;
        Message::Request(Request {
            method,
            uri,
            headers,
            body: Bytes::new(),
        })
    };
    let method = match &message {
        Message::Request(r) => Some(&r.method),
        Message::Response(_) => None,
    };
    let content_length = validate(message.headers(), method)?;
    let body_end = match content_length {
        Some(n) if n > buf.len() - body_start => {
            return Err(ParseError::new(
                ParseErrorKind::ContentLength,
                format!(
                    "Content-Length {n} is larger than the {} octets of body received",
                    buf.len() - body_start
                ),
            ))
        }
        Some(n) => body_start + n,
        None => buf.len(),
    };
    let body = buf.slice(body_start..body_end);
    match &mut message {
        Message::Request(r) => r.body = body,
        Message::Response(r) => r.body = body,
    }
    Ok(message)
}

/// Built once: building a searcher per message costs more than the search.
static END_OF_HEADERS: std::sync::LazyLock<memchr::memmem::Finder<'static>> =
    std::sync::LazyLock::new(|| memchr::memmem::Finder::new(b"\r\n\r\n"));

/// Iterates the CRLF-terminated lines of the header section (which does not
/// include the final CRLF CRLF). A lone CR or LF is an error.
struct Lines<'a> {
    h: &'a [u8],
    pos: usize,
}

impl Lines<'_> {
    fn next_line(&mut self) -> Result<Option<(usize, usize)>, ParseError> {
        if self.pos > self.h.len() {
            return Ok(None);
        }
        let a = self.pos;
        match memchr::memchr2(b'\r', b'\n', &self.h[a..]) {
            None => {
                self.pos = self.h.len() + 1;
                Ok(Some((a, self.h.len())))
            }
            Some(i) if self.h[a + i] == b'\r' && self.h.get(a + i + 1) == Some(&b'\n') => {
                self.pos = a + i + 2;
                Ok(Some((a, a + i)))
            }
            Some(_) => Err(ParseError::new(
                ParseErrorKind::Encoding,
                "bare CR or LF in the header section",
            )),
        }
    }
}

/// NUL is only allowed escaped inside a quoted string (RFC 4475 §3.1.1.2).
fn check_nul(h: &[u8]) -> Result<(), ParseError> {
    for i in memchr::memchr_iter(0, h) {
        if i == 0 || h[i - 1] != b'\\' {
            return Err(ParseError::new(
                ParseErrorKind::Encoding,
                "NUL octet in the header section",
            ));
        }
    }
    Ok(())
}

/// The name of the header line `head[a..b]` and where its value starts (after
/// the colon; whitespace before the colon is allowed, RFC 3261 §7.3.1).
fn header_name(
    buf: &Bytes,
    head: &str,
    off: usize,
    a: usize,
    b: usize,
) -> Result<(HeaderName, usize), ParseError> {
    let h = head.as_bytes();
    let mut i = a;
    while i < b && is(h[i], TOKEN) {
        i += 1;
    }
    let name_end = i;
    while i < b && is_ws(h[i]) {
        i += 1;
    }
    if name_end == a || i == b || h[i] != b':' {
        let shown: String = head[a..b].chars().take(40).collect();
        return Err(ParseError::new(
            ParseErrorKind::Header(HeaderName::Other(ByteStr::from(&head[a..name_end]))),
            format!("malformed header line: {shown}"),
        ));
    }
    let name = HeaderName::from_wire_bytes(&h[a..name_end], || {
        sub(buf, head, off, a, name_end).ok_or_else(utf8_error)
    })?;
    Ok((name, i + 1))
}

/// A folded value: each line break with the whitespace around it becomes one SP
/// (RFC 3261 §7.3.1), and the ends are trimmed.
fn unfold(folded: &str) -> ByteStr {
    let mut joined = String::with_capacity(folded.len());
    for piece in folded.split("\r\n") {
        let piece = piece.trim_matches([' ', '\t']);
        if piece.is_empty() {
            continue;
        }
        if !joined.is_empty() {
            joined.push(' ');
        }
        joined.push_str(piece);
    }
    ByteStr::from(joined)
}

fn utf8_error() -> ParseError {
    ParseError::new(ParseErrorKind::Encoding, "invalid UTF-8")
}

fn start_line_error(detail: impl Into<String>) -> ParseError {
    ParseError::new(ParseErrorKind::StartLine, detail)
}

/// `SIP-Version`: SIP/2.0 is accepted; another well-formed version is a 505.
fn check_version(v: &[u8]) -> Result<(), ParseError> {
    if v.eq_ignore_ascii_case(b"SIP/2.0") {
        return Ok(());
    }
    let well_formed = v.len() > 4
        && v[..4].eq_ignore_ascii_case(b"SIP/")
        && v[4..].split(|&c| c == b'.').count() == 2
        && v[4..]
            .split(|&c| c == b'.')
            .all(|n| !n.is_empty() && n.iter().all(u8::is_ascii_digit));
    if well_formed {
        Err(ParseError::new(
            ParseErrorKind::Version,
            format!(
                "SIP version {} not supported",
                String::from_utf8_lossy(&v[4..])
            ),
        ))
    } else {
        Err(start_line_error("malformed SIP version"))
    }
}

/// `Method SP Request-URI SP SIP-Version`, with exactly one SP between the
/// elements (RFC 4475 §3.1.2.7 to §3.1.2.11).
fn request_line(
    buf: &Bytes,
    head: &str,
    off: usize,
    end: usize,
) -> Result<(Method, Uri), ParseError> {
    let line = &head.as_bytes()[..end];
    let (Some(sp1), Some(sp2)) = (memchr::memchr(b' ', line), memchr::memrchr(b' ', line)) else {
        return Err(start_line_error("malformed request line"));
    };
    if sp1 == sp2 {
        return Err(start_line_error("request line has no SIP version"));
    }
    if sp2 + 1 == line.len() {
        return Err(start_line_error(
            "whitespace at the end of the request line",
        ));
    }
    check_version(&line[sp2 + 1..])?;
    let method = &line[..sp1];
    if method.is_empty() || !method.iter().all(|&c| is(c, TOKEN)) {
        return Err(start_line_error("invalid method in request line"));
    }
    let uri = &line[sp1 + 1..sp2];
    if uri.first() == Some(&b'<') {
        return Err(ParseError::new(
            ParseErrorKind::RequestUri,
            "Request-URI enclosed in <>",
        ));
    }
    if uri.first() == Some(&b' ') || uri.last() == Some(&b' ') {
        return Err(start_line_error(
            "more than one SP between request line elements",
        ));
    }
    if uri.iter().any(|&c| is_ws(c)) {
        return Err(ParseError::new(
            ParseErrorKind::RequestUri,
            "whitespace in the Request-URI",
        ));
    }
    let method = Method::from_wire(method, || {
        sub(buf, head, off, 0, sp1).ok_or_else(utf8_error)
    })?;
    let uri = sub(buf, head, off, sp1 + 1, sp2).ok_or_else(utf8_error)?;
    let uri = Uri::parse(uri).map_err(|e| {
        ParseError::new(
            ParseErrorKind::RequestUri,
            format!("Request-URI: {}", e.detail),
        )
    })?;
    if uri.headers().is_some() {
        // RFC 3261 §19.1.1: headers are not allowed in a Request-URI.
        return Err(ParseError::new(
            ParseErrorKind::RequestUri,
            "Request-URI carries URI headers",
        ));
    }
    Ok((method, uri))
}

/// `SIP-Version SP Status-Code SP Reason-Phrase` (the reason may be empty, and a
/// missing SP before an empty reason is tolerated).
fn status_line(
    buf: &Bytes,
    head: &str,
    off: usize,
    end: usize,
) -> Result<(u16, ByteStr), ParseError> {
    let line = &head.as_bytes()[..end];
    let sp1 =
        memchr::memchr(b' ', line).ok_or_else(|| start_line_error("malformed status line"))?;
    check_version(&line[..sp1])?;
    let code_end = memchr::memchr(b' ', &line[sp1 + 1..]).map_or(line.len(), |i| sp1 + 1 + i);
    let code = &line[sp1 + 1..code_end];
    let status = match parse_number(code, 999) {
        Some(n) if code.len() == 3 && (100..=699).contains(&n) => n as u16,
        _ => return Err(start_line_error("invalid status code")),
    };
    let reason_start = (code_end + 1).min(line.len());
    if line[reason_start..]
        .iter()
        .any(|&c| (c < 0x20 && c != b'\t') || c == 0x7f)
    {
        return Err(start_line_error("control character in the reason phrase"));
    }
    let reason = sub(buf, head, off, reason_start, end).ok_or_else(utf8_error)?;
    Ok((status, reason))
}

fn duplicate(name: HeaderName) -> ParseError {
    let detail = format!("more than one {name} header");
    ParseError::new(ParseErrorKind::DuplicateHeader(name), detail)
}

/// Validates the headers the stack relies on (RFC 3261 §8.1.1, §20; RFC 4475
/// §3.1.2 and §3.3): returns the Content-Length, if present.
fn validate(headers: &Headers, method: Option<&Method>) -> Result<Option<usize>, ParseError> {
    #[derive(Default)]
    struct Seen {
        via: bool,
        from: bool,
        to: bool,
        call_id: bool,
        cseq: bool,
        max_forwards: bool,
        expires: bool,
        date: bool,
    }
    let mut seen = Seen::default();
    let mut content_length = None;
    let once = |flag: &mut bool, name: HeaderName| {
        if std::mem::replace(flag, true) {
            Err(duplicate(name))
        } else {
            Ok(())
        }
    };
    for header in headers.iter() {
        let value = &header.value;
        match header.name {
            HeaderName::Via => {
                validate_via(value)?;
                seen.via = true;
            }
            HeaderName::From => {
                once(&mut seen.from, HeaderName::From)?;
                validate_name_addr(value, HeaderName::From)?;
            }
            HeaderName::To => {
                once(&mut seen.to, HeaderName::To)?;
                validate_name_addr(value, HeaderName::To)?;
            }
            HeaderName::CallId => {
                once(&mut seen.call_id, HeaderName::CallId)?;
                check_call_id(value)?;
            }
            HeaderName::CSeq => {
                once(&mut seen.cseq, HeaderName::CSeq)?;
                let (_, (a, b)) = cseq_parts(value.as_bytes())
                    .map_err(|why| header_error(HeaderName::CSeq, why))?;
                if let Some(method) = method {
                    if &value.as_bytes()[a..b] != method.as_str().as_bytes() {
                        return Err(header_error(
                            HeaderName::CSeq,
                            "method does not match the request line",
                        ));
                    }
                }
            }
            HeaderName::MaxForwards => {
                once(&mut seen.max_forwards, HeaderName::MaxForwards)?;
                max_forwards(value)?;
            }
            HeaderName::Expires => {
                once(&mut seen.expires, HeaderName::Expires)?;
                delta_seconds(value)?;
            }
            HeaderName::Contact => validate_contact(value)?,
            HeaderName::ContentLength => {
                if content_length.is_some() {
                    return Err(duplicate(HeaderName::ContentLength));
                }
                let n = parse_number(value.as_bytes(), u64::from(u32::MAX)).ok_or_else(|| {
                    ParseError::new(
                        ParseErrorKind::ContentLength,
                        format!("invalid Content-Length {:?}", truncate(value)),
                    )
                })?;
                content_length = Some(n as usize);
            }
            HeaderName::Date => {
                once(&mut seen.date, HeaderName::Date)?;
                if !is_rfc1123_date(value.as_bytes()) {
                    return Err(header_error(
                        HeaderName::Date,
                        "not an RFC 1123 date in GMT",
                    ));
                }
            }
            _ => {}
        }
    }
    let required = [
        (seen.via, HeaderName::Via),
        (seen.from, HeaderName::From),
        (seen.to, HeaderName::To),
        (seen.call_id, HeaderName::CallId),
        (seen.cseq, HeaderName::CSeq),
    ];
    for (present, name) in required {
        if !present {
            let detail = format!("missing {name} header");
            return Err(ParseError::new(ParseErrorKind::MissingHeader(name), detail));
        }
    }
    Ok(content_length)
}

fn truncate(s: &str) -> String {
    s.chars().take(20).collect()
}

/// `callid = word [ "@" word ]` (RFC 3261 §25.1).
pub(super) fn check_call_id(value: &ByteStr) -> Result<(), ParseError> {
    let b = value.as_bytes();
    // One pass: word characters, and at most one "@" with a word on each side.
    let mut at = None;
    let mut ok = !b.is_empty();
    for (i, &c) in b.iter().enumerate() {
        if c == b'@' {
            ok &= at.is_none() && i > 0 && i + 1 < b.len();
            at = Some(i);
        } else {
            ok &= is(c, WORD);
        }
    }
    if ok {
        Ok(())
    } else {
        Err(header_error(HeaderName::CallId, "not a word or word@word"))
    }
}

/// `delta-seconds` of the Expires header: below 2^32.
pub(super) fn delta_seconds(value: &ByteStr) -> Result<u32, ParseError> {
    parse_number(value.as_bytes(), u64::from(u32::MAX))
        .map(|n| n as u32)
        .ok_or_else(|| header_error(HeaderName::Expires, "not delta-seconds below 2^32"))
}

/// Max-Forwards: 0 to 255 (RFC 3261 §20.22 and §8.1.1.6).
pub(super) fn max_forwards(value: &ByteStr) -> Result<u32, ParseError> {
    parse_number(value.as_bytes(), 255)
        .map(|n| n as u32)
        .ok_or_else(|| header_error(HeaderName::MaxForwards, "not a number from 0 to 255"))
}

/// `rfc1123-date = wkday "," SP date1 SP time SP "GMT"` (RFC 3261 §20.17), e.g.
/// `Sat, 13 Nov 2010 23:29:00 GMT`.
fn is_rfc1123_date(b: &[u8]) -> bool {
    const DAYS: [&[u8]; 7] = [b"Mon", b"Tue", b"Wed", b"Thu", b"Fri", b"Sat", b"Sun"];
    const MONTHS: [&[u8]; 12] = [
        b"Jan", b"Feb", b"Mar", b"Apr", b"May", b"Jun", b"Jul", b"Aug", b"Sep", b"Oct", b"Nov",
        b"Dec",
    ];
    let digits = |s: &[u8]| s.iter().all(u8::is_ascii_digit);
    b.len() == 29
        && DAYS.contains(&&b[0..3])
        && &b[3..5] == b", "
        && digits(&b[5..7])
        && b[7] == b' '
        && MONTHS.contains(&&b[8..11])
        && b[11] == b' '
        && digits(&b[12..16])
        && b[16] == b' '
        && digits(&b[17..19])
        && b[19] == b':'
        && digits(&b[20..22])
        && b[22] == b':'
        && digits(&b[23..25])
        && &b[25..] == b" GMT"
}

/// Builds the `400`/`505` answer to a request that [`parse`] rejected, from
/// whatever Via, From, To, Call-ID and CSeq lines can be recovered from the raw
/// bytes; the reason phrase says what was wrong. `None` when the bytes are a
/// response or too broken to answer (then the message is dropped).
pub fn error_response(raw: &[u8], err: &ParseError) -> Option<Bytes> {
    let mut raw = raw;
    while raw.starts_with(b"\r\n") {
        raw = &raw[2..];
    }
    // Only the header section; a missing empty line is tolerated here.
    let head = match memchr::memmem::find(raw, b"\r\n\r\n") {
        Some(n) => &raw[..n],
        None => raw,
    };
    let mut lines = head
        .split(|&c| c == b'\n')
        .map(|l| l.strip_suffix(b"\r").unwrap_or(l));
    let first = lines.next()?;
    // A request line starts with a method token and a SP; never answer a response
    // or an ACK (RFC 3261 §17.2.1... an ACK gets no response at all).
    let sp = memchr::memchr(b' ', first)?;
    let method = &first[..sp];
    if method.is_empty() || !method.iter().all(|&c| is(c, TOKEN)) || method == b"ACK" {
        return None;
    }

    // Unfold and collect the lines we copy.
    let mut unfolded: Vec<Vec<u8>> = Vec::new();
    for line in lines {
        if line.first().is_some_and(|&c| is_ws(c)) {
            if let Some(last) = unfolded.last_mut() {
                last.push(b' ');
                last.extend_from_slice(line);
            }
        } else {
            unfolded.push(line.to_vec());
        }
    }
    let mut vias = Vec::new();
    let (mut from, mut to, mut call_id, mut cseq) = (None, None, None, None);
    for line in &unfolded {
        let Some(colon) = memchr::memchr(b':', line) else {
            continue;
        };
        let (na, nb) = trim_ws(&line[..colon]);
        let Ok(name) = std::str::from_utf8(&line[na..nb]) else {
            continue;
        };
        let Some(value) = sanitize(&line[colon + 1..]) else {
            continue;
        };
        match HeaderName::from_wire(name) {
            HeaderName::Via => vias.push(value),
            HeaderName::From => {
                from.get_or_insert(value);
            }
            HeaderName::To => {
                to.get_or_insert(value);
            }
            HeaderName::CallId => {
                call_id.get_or_insert(value);
            }
            HeaderName::CSeq => {
                cseq.get_or_insert(value);
            }
            _ => {}
        }
    }
    let cseq = cseq?;
    if vias.is_empty() || cseq.split_whitespace().nth(1) == Some("ACK") {
        return None;
    }
    let to = to.map(|to| {
        if has_tag(&to) {
            to
        } else {
            // A stable tag: retransmissions of the request get the same answer.
            let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
            for b in from
                .iter()
                .chain(&call_id)
                .chain([&cseq])
                .chain(&vias)
                .flat_map(|s| s.bytes())
            {
                hash = (hash ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
            }
            format!("{to};tag={hash:016x}")
        }
    });

    let status = err.status();
    let reason = sanitize(err.detail.as_bytes())
        .filter(|r| !r.is_empty())
        .map(|r| r.chars().take(120).collect::<String>())
        .unwrap_or_else(|| super::default_reason(status).to_owned());
    let mut out = format!("SIP/2.0 {status} {reason}\r\n");
    for via in &vias {
        out.push_str(&format!("Via: {via}\r\n"));
    }
    for (name, value) in [
        ("From", &from),
        ("To", &to),
        ("Call-ID", &call_id),
        ("CSeq", &Some(cseq)),
    ] {
        if let Some(v) = value {
            out.push_str(&format!("{name}: {v}\r\n"));
        }
    }
    out.push_str("Content-Length: 0\r\n\r\n");
    Some(Bytes::from(out))
}

/// One line of printable text: UTF-8 (lossy), control characters as spaces, runs
/// of whitespace collapsed, trimmed. `None` when nothing is left.
fn sanitize(b: &[u8]) -> Option<String> {
    let text = String::from_utf8_lossy(b);
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        let c = if c.is_control() { ' ' } else { c };
        if c == ' ' && (out.is_empty() || out.ends_with(' ')) {
            continue;
        }
        out.push(c);
    }
    while out.ends_with(' ') {
        out.pop();
    }
    (!out.is_empty()).then_some(out)
}

/// Whether a raw To value carries a tag parameter (parsed if possible, else a
/// textual search outside the URI).
fn has_tag(to: &str) -> bool {
    if let Ok(addr) = NameAddr::parse(&ByteStr::from(to)) {
        return addr.tag().is_some();
    }
    let after_uri = to.rfind('>').map_or(to, |i| &to[i..]);
    let lower = after_uri.to_ascii_lowercase();
    let mut cur_text = lower.as_str();
    while let Some(i) = cur_text.find(';') {
        cur_text = cur_text[i + 1..].trim_start();
        if cur_text.starts_with("tag") && cur_text[3..].trim_start().starts_with('=') {
            return true;
        }
    }
    false
}
