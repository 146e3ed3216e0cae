//! The SDP parser (RFC 4566 §5). One pass over the lines; every error carries the
//! 1-based line number it was found on.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::str::FromStr;

use super::{
    AddrType, Address, Attribute, Bandwidth, Connection, Direction, Fmtp, MediaDescription,
    MediaType, Origin, Proto, Rtcp, RtpMap, SessionDescription, Timing,
};

/// Why a session description could not be parsed. `line` is 1-based and counts
/// every line of the body, blank ones included.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SdpError {
    /// The body is empty or blank.
    #[error("SDP body is empty")]
    Empty,
    /// A byte sequence that is not UTF-8 (RFC 4566 §5: text is UTF-8 by default).
    #[error("SDP line {line}: not valid UTF-8")]
    NotUtf8 { line: usize },
    /// Not `<type>=<value>`, or a stray CR or NUL inside the line.
    #[error("SDP line {line}: expected `<type>=<value>`")]
    Malformed { line: usize },
    /// A type letter RFC 4566 does not define (§5: the whole description must then
    /// be ignored).
    #[error("SDP line {line}: unknown line type `{kind}=`")]
    UnknownType { line: usize, kind: char },
    /// A known line where it may not appear (e.g. `o=` after the first `m=`).
    #[error("SDP line {line}: `{kind}=` is not allowed here")]
    Misplaced { line: usize, kind: char },
    /// A second `o=`, `s=`, `c=`, ... where only one is allowed.
    #[error("SDP line {line}: more than one `{kind}=` line")]
    Duplicate { line: usize, kind: char },
    /// A required line is missing (`v=` must also be the first line).
    #[error("SDP: missing `{kind}=` line")]
    Missing { kind: char },
    /// A line whose value does not follow its grammar.
    #[error("SDP line {line}: bad `{kind}=` line: {reason}")]
    Invalid {
        line: usize,
        kind: char,
        reason: &'static str,
    },
    /// A port that is not a number from 0 to 65535.
    #[error("SDP line {line}: bad port")]
    BadPort { line: usize },
    /// A connection address that is not an IP address or host name of its type.
    #[error("SDP line {line}: bad address: {reason}")]
    BadAddress { line: usize, reason: &'static str },
    /// A typed attribute (`rtpmap`, `fmtp`, `ptime`, `rtcp`, a direction) whose
    /// value does not follow its grammar.
    #[error("SDP line {line}: bad `a={name}`: {reason}")]
    BadAttribute {
        line: usize,
        name: &'static str,
        reason: &'static str,
    },
}

impl SessionDescription {
    /// Parses a session description (the body of a SIP message).
    pub fn parse(input: &[u8]) -> Result<Self, SdpError> {
        parse(input)
    }
}

impl FromStr for SessionDescription {
    type Err = SdpError;

    fn from_str(s: &str) -> Result<Self, SdpError> {
        parse(s.as_bytes())
    }
}

/// A format that is an RTP payload type: digits, 0–127.
pub(super) fn payload_type(format: &str) -> Option<u8> {
    number::<u8>(format).filter(|pt| *pt <= 127)
}

/// An unsigned decimal number: ASCII digits only (`u64::from_str` would also take a
/// leading `+`).
fn number<T: FromStr>(s: &str) -> Option<T> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

fn is_blank(c: char) -> bool {
    c.is_ascii_whitespace()
}

/// The session part before the first `m=`, with the once-only lines as options.
#[derive(Default)]
struct Session {
    origin: Option<Origin>,
    name: Option<String>,
    information: Option<String>,
    uri: Option<String>,
    emails: Vec<String>,
    phones: Vec<String>,
    connection: Option<Connection>,
    bandwidths: Vec<Bandwidth>,
    timing: Vec<Timing>,
    time_zones: Option<String>,
    key: Option<String>,
    attributes: Vec<Attribute>,
}

fn parse(input: &[u8]) -> Result<SessionDescription, SdpError> {
    let text = match std::str::from_utf8(input) {
        Ok(text) => text,
        Err(e) => {
            let valid = input.get(..e.valid_up_to()).unwrap_or_default();
            let line = 1 + valid.iter().filter(|&&b| b == b'\n').count();
            return Err(SdpError::NotUtf8 { line });
        }
    };

    let mut session = Session::default();
    let mut media: Vec<MediaDescription> = Vec::new();
    let mut seen_version = false;

    for (index, raw) in text.split('\n').enumerate() {
        let line = index + 1;
        // RFC 4566 §5 asks for CRLF but parsers should accept LF; trailing blanks
        // are a common sloppiness and never meaningful.
        let trimmed = raw.trim_end_matches([' ', '\t', '\r']);
        if trimmed.is_empty() {
            continue;
        }
        let (kind, value) = split_line(trimmed, line)?;
        if !seen_version {
            if kind != 'v' {
                return Err(SdpError::Missing { kind: 'v' });
            }
            if value != "0" {
                return Err(SdpError::Invalid {
                    line,
                    kind,
                    reason: "only version 0 is defined",
                });
            }
            seen_version = true;
            continue;
        }
        if kind == 'm' {
            media.push(parse_media(value, line)?);
            continue;
        }
        match media.last_mut() {
            None => session_line(&mut session, kind, value, line)?,
            Some(m) => media_line(m, kind, value, line)?,
        }
    }

    if !seen_version {
        return Err(SdpError::Empty);
    }
    let origin = session.origin.ok_or(SdpError::Missing { kind: 'o' })?;
    let session_name = session.name.ok_or(SdpError::Missing { kind: 's' })?;
    if media.is_empty() {
        return Err(SdpError::Missing { kind: 'm' });
    }
    let mut timing = session.timing;
    if timing.is_empty() {
        // RFC 4566 requires t=; the few phones that leave it out mean a permanent
        // session, which is also what every SIP call sends (`t=0 0`).
        timing.push(Timing::default());
    }
    Ok(SessionDescription {
        origin,
        session_name,
        information: session.information,
        uri: session.uri,
        emails: session.emails,
        phones: session.phones,
        connection: session.connection,
        bandwidths: session.bandwidths,
        timing,
        time_zones: session.time_zones,
        key: session.key,
        attributes: session.attributes,
        media,
    })
}

/// `<type>=<value>` with a single lower-case letter as the type.
fn split_line(line: &str, number: usize) -> Result<(char, &str), SdpError> {
    let malformed = SdpError::Malformed { line: number };
    let bytes = line.as_bytes();
    if bytes.len() < 2 || bytes[1] != b'=' || line.contains(['\r', '\0']) {
        return Err(malformed);
    }
    let kind = bytes[0];
    if !kind.is_ascii_lowercase() {
        return Err(malformed);
    }
    // Index 2 is a char boundary: bytes 0 and 1 are ASCII.
    let value = line.get(2..).ok_or(malformed)?;
    Ok((char::from(kind), value))
}

fn set_once<T>(slot: &mut Option<T>, value: T, kind: char, line: usize) -> Result<(), SdpError> {
    if slot.is_some() {
        return Err(SdpError::Duplicate { line, kind });
    }
    *slot = Some(value);
    Ok(())
}

fn known_or_unknown(kind: char, line: usize) -> SdpError {
    if "vosiuepcbtrzkam".contains(kind) {
        SdpError::Misplaced { line, kind }
    } else {
        SdpError::UnknownType { line, kind }
    }
}

fn session_line(s: &mut Session, kind: char, value: &str, line: usize) -> Result<(), SdpError> {
    match kind {
        'o' => set_once(&mut s.origin, parse_origin(value, line)?, kind, line),
        's' => set_once(&mut s.name, value.to_owned(), kind, line),
        'i' => set_once(&mut s.information, value.to_owned(), kind, line),
        'u' => set_once(&mut s.uri, value.to_owned(), kind, line),
        'e' => {
            s.emails.push(value.to_owned());
            Ok(())
        }
        'p' => {
            s.phones.push(value.to_owned());
            Ok(())
        }
        'c' => set_once(
            &mut s.connection,
            parse_connection(value, line)?,
            kind,
            line,
        ),
        'b' => {
            s.bandwidths.push(parse_bandwidth(value, line)?);
            Ok(())
        }
        't' => {
            s.timing.push(parse_timing(value, line)?);
            Ok(())
        }
        'r' => match s.timing.last_mut() {
            Some(t) => {
                t.repeats.push(value.to_owned());
                Ok(())
            }
            None => Err(SdpError::Misplaced { line, kind }),
        },
        'z' => set_once(&mut s.time_zones, value.to_owned(), kind, line),
        'k' => set_once(&mut s.key, value.to_owned(), kind, line),
        'a' => {
            s.attributes.push(parse_attribute(value, line)?);
            Ok(())
        }
        _ => Err(known_or_unknown(kind, line)),
    }
}

fn media_line(
    m: &mut MediaDescription,
    kind: char,
    value: &str,
    line: usize,
) -> Result<(), SdpError> {
    match kind {
        'i' => set_once(&mut m.title, value.to_owned(), kind, line),
        // RFC 4566 §5.7 allows several media-level c= only for layered multicast,
        // which a telephone call never uses.
        'c' => set_once(
            &mut m.connection,
            parse_connection(value, line)?,
            kind,
            line,
        ),
        'b' => {
            m.bandwidths.push(parse_bandwidth(value, line)?);
            Ok(())
        }
        'k' => set_once(&mut m.key, value.to_owned(), kind, line),
        'a' => {
            m.attributes.push(parse_attribute(value, line)?);
            Ok(())
        }
        _ => Err(known_or_unknown(kind, line)),
    }
}

/// `o=<username> <sess-id> <sess-version> <nettype> <addrtype> <unicast-address>`.
fn parse_origin(value: &str, line: usize) -> Result<Origin, SdpError> {
    let invalid = |reason| SdpError::Invalid {
        line,
        kind: 'o',
        reason,
    };
    let fields: Vec<&str> = value.split(is_blank).filter(|f| !f.is_empty()).collect();
    let [username, id, version, net_type, addr_type, address] = fields[..] else {
        return Err(invalid("expected 6 fields"));
    };
    Ok(Origin {
        username: username.to_owned(),
        session_id: number(id).ok_or(invalid("session id is not a number"))?,
        session_version: number(version).ok_or(invalid("session version is not a number"))?,
        net_type: net_type.to_owned(),
        addr_type: addr_type.to_owned(),
        address: address.to_owned(),
    })
}

/// `c=<nettype> <addrtype> <connection-address>` (RFC 4566 §5.7).
fn parse_connection(value: &str, line: usize) -> Result<Connection, SdpError> {
    let bad = |reason| SdpError::BadAddress { line, reason };
    let fields: Vec<&str> = value.split(is_blank).filter(|f| !f.is_empty()).collect();
    let [net_type, addr_type, address] = fields[..] else {
        return Err(bad("expected `IN IP4|IP6 <address>`"));
    };
    let addr_type = parse_net_and_type(net_type, addr_type).map_err(bad)?;
    let mut parts = address.split('/');
    let host = parts.next().unwrap_or_default();
    let address = parse_address(addr_type, host).map_err(bad)?;
    let suffixes: Vec<&str> = parts.collect();
    // IP4 multicast: /ttl[/count]; IP6 multicast: /count (§5.7).
    let (ttl, count) = match (addr_type, &suffixes[..]) {
        (_, []) => (None, None),
        (AddrType::Ip4, [ttl]) => (Some(number(ttl).ok_or(bad("bad TTL"))?), None),
        (AddrType::Ip4, [ttl, count]) => (
            Some(number(ttl).ok_or(bad("bad TTL"))?),
            Some(number(count).ok_or(bad("bad address count"))?),
        ),
        (AddrType::Ip6, [count]) => (None, Some(number(count).ok_or(bad("bad address count"))?)),
        _ => return Err(bad("too many `/` suffixes")),
    };
    Ok(Connection {
        address,
        ttl,
        count,
    })
}

fn parse_net_and_type(net_type: &str, addr_type: &str) -> Result<AddrType, &'static str> {
    if !net_type.eq_ignore_ascii_case("IN") {
        return Err("network type is not IN");
    }
    if addr_type.eq_ignore_ascii_case("IP4") {
        Ok(AddrType::Ip4)
    } else if addr_type.eq_ignore_ascii_case("IP6") {
        Ok(AddrType::Ip6)
    } else {
        Err("address type is not IP4 or IP6")
    }
}

fn parse_address(addr_type: AddrType, text: &str) -> Result<Address, &'static str> {
    match addr_type {
        AddrType::Ip4 => {
            if let Ok(ip) = text.parse::<Ipv4Addr>() {
                return Ok(Address::Ip(IpAddr::V4(ip)));
            }
            if text.contains(':') {
                return Err("IP6 address with address type IP4");
            }
        }
        AddrType::Ip6 => {
            if let Ok(ip) = text.parse::<Ipv6Addr>() {
                return Ok(Address::Ip(IpAddr::V6(ip)));
            }
            if text.parse::<Ipv4Addr>().is_ok() {
                return Err("IP4 address with address type IP6");
            }
        }
    }
    if is_host_name(text) {
        Ok(Address::Host {
            addr_type,
            name: text.to_owned(),
        })
    } else {
        Err("neither an IP address nor a host name")
    }
}

/// An RFC 1123 host name whose last label is not all digits (so `999.1.1.1` is a
/// bad IPv4 address, not a name).
fn is_host_name(text: &str) -> bool {
    let label_ok = |l: &str| {
        !l.is_empty()
            && l.len() <= 63
            && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
            && !l.starts_with('-')
            && !l.ends_with('-')
    };
    text.len() <= 253
        && text.split('.').all(label_ok)
        && text
            .rsplit('.')
            .next()
            .is_some_and(|tld| tld.bytes().any(|b| b.is_ascii_alphabetic()))
}

/// `b=<bwtype>:<bandwidth>`.
fn parse_bandwidth(value: &str, line: usize) -> Result<Bandwidth, SdpError> {
    let invalid = SdpError::Invalid {
        line,
        kind: 'b',
        reason: "expected `<type>:<number>`",
    };
    let (kind, number_text) = value.split_once(':').ok_or(invalid.clone())?;
    if kind.is_empty() || kind.contains(is_blank) {
        return Err(invalid);
    }
    let value = number(number_text).ok_or(invalid)?;
    Ok(Bandwidth {
        kind: kind.to_owned(),
        value,
    })
}

/// `t=<start> <stop>`.
fn parse_timing(value: &str, line: usize) -> Result<Timing, SdpError> {
    let invalid = SdpError::Invalid {
        line,
        kind: 't',
        reason: "expected `<start> <stop>`",
    };
    let fields: Vec<&str> = value.split(is_blank).filter(|f| !f.is_empty()).collect();
    let [start, stop] = fields[..] else {
        return Err(invalid);
    };
    Ok(Timing {
        start: number(start).ok_or(invalid.clone())?,
        stop: number(stop).ok_or(invalid)?,
        repeats: Vec::new(),
    })
}

/// `m=<media> <port>[/<number of ports>] <proto> <fmt> ...` (RFC 4566 §5.14).
fn parse_media(value: &str, line: usize) -> Result<MediaDescription, SdpError> {
    let mut fields = value.split(is_blank).filter(|f| !f.is_empty());
    let (Some(media), Some(port), Some(proto)) = (fields.next(), fields.next(), fields.next())
    else {
        return Err(SdpError::Invalid {
            line,
            kind: 'm',
            reason: "expected `<media> <port> <proto> <formats>`",
        });
    };
    let (port, port_count) = match port.split_once('/') {
        None => (number(port).ok_or(SdpError::BadPort { line })?, None),
        Some((port, count)) => (
            number(port).ok_or(SdpError::BadPort { line })?,
            Some(number(count).ok_or(SdpError::BadPort { line })?),
        ),
    };
    let mut m = MediaDescription::new(
        MediaType::from_token(media),
        port,
        Proto::from_token(proto),
        fields.map(str::to_owned).collect(),
    );
    m.port_count = port_count;
    Ok(m)
}

/// `a=<attribute>` or `a=<attribute>:<value>` (RFC 4566 §5.13).
fn parse_attribute(value: &str, line: usize) -> Result<Attribute, SdpError> {
    let (name, value) = match value.split_once(':') {
        Some((name, value)) => (name, Some(value)),
        None => (value, None),
    };
    if name.is_empty() {
        return Err(SdpError::Invalid {
            line,
            kind: 'a',
            reason: "empty attribute name",
        });
    }
    let typed = |name: &'static str, parse: fn(&str) -> Result<Attribute, &'static str>| {
        let bad = |reason| SdpError::BadAttribute { line, name, reason };
        let value = value.ok_or(bad("missing value"))?;
        parse(value.trim_matches(is_blank)).map_err(bad)
    };
    match name {
        "rtpmap" => typed("rtpmap", parse_rtpmap),
        "fmtp" => typed("fmtp", parse_fmtp),
        "ptime" => typed("ptime", |v| {
            number(v).map(Attribute::Ptime).ok_or("not a number")
        }),
        "rtcp" => typed("rtcp", parse_rtcp),
        _ => match (Direction::from_name(name), value) {
            (Some(direction), None) => Ok(Attribute::Direction(direction)),
            (Some(direction), Some(_)) => Err(SdpError::BadAttribute {
                line,
                name: direction.as_str(),
                reason: "takes no value",
            }),
            (None, value) => Ok(Attribute::Other {
                name: name.to_owned(),
                value: value.map(str::to_owned),
            }),
        },
    }
}

fn parse_rtpmap(value: &str) -> Result<Attribute, &'static str> {
    let fields: Vec<&str> = value.split(is_blank).filter(|f| !f.is_empty()).collect();
    let [pt, encoding] = fields[..] else {
        return Err("expected `<payload type> <encoding>/<clock rate>`");
    };
    let payload_type = payload_type(pt).ok_or("payload type is not a number from 0 to 127")?;
    let mut parts = encoding.splitn(3, '/');
    let name = parts.next().unwrap_or_default();
    if name.is_empty() {
        return Err("empty encoding name");
    }
    let clock_rate = parts
        .next()
        .and_then(number)
        .ok_or("clock rate is not a number")?;
    let params = match parts.next() {
        Some("") => return Err("empty encoding parameters"),
        Some(p) => Some(p.to_owned()),
        None => None,
    };
    Ok(Attribute::Rtpmap(RtpMap {
        payload_type,
        encoding: name.to_owned(),
        clock_rate,
        params,
    }))
}

fn parse_fmtp(value: &str) -> Result<Attribute, &'static str> {
    let (format, params) = match value.find(is_blank) {
        Some(at) => {
            let (format, rest) = value.split_at(at);
            (format, rest.trim_start_matches(is_blank))
        }
        None => (value, ""),
    };
    if format.is_empty() {
        return Err("missing format");
    }
    Ok(Attribute::Fmtp(Fmtp {
        format: format.to_owned(),
        params: params.to_owned(),
    }))
}

fn parse_rtcp(value: &str) -> Result<Attribute, &'static str> {
    let fields: Vec<&str> = value.split(is_blank).filter(|f| !f.is_empty()).collect();
    let (port, address) = match fields[..] {
        [port] => (port, None),
        [port, net_type, addr_type, address] => {
            let addr_type = parse_net_and_type(net_type, addr_type)?;
            (port, Some(parse_address(addr_type, address)?))
        }
        _ => return Err("expected `<port> [IN IP4|IP6 <address>]`"),
    };
    let port = number(port).ok_or("bad port")?;
    Ok(Attribute::Rtcp(Rtcp { port, address }))
}
