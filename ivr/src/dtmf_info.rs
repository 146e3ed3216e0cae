//! DTMF digits carried in SIP INFO bodies.
//!
//! Some gateways and phones send keys as SIP INFO instead of RFC 4733 events.
//! Two body types are in use (neither is an RFC; both are de-facto formats):
//!
//! - `application/dtmf-relay`: lines of `key=value`, e.g.
//!   `Signal=5\r\nDuration=160\r\n`. Keys are case-insensitive, spaces around
//!   `=` are tolerated, unknown lines ignored. Some senders write `*`/`#` as the
//!   event numbers `10`/`11` (the RFC 4733 codes).
//! - `application/dtmf`: the digit alone, e.g. `5`, or `10`/`11` for `*`/`#`.
//!
//! Anything else (no signal, two signals, `Signal=x`) is an error so the caller
//! can answer `400`/`415` instead of inventing a key.

use crate::error::{Error, Result};

/// Content type of the `Signal=` format.
pub const DTMF_RELAY: &str = "application/dtmf-relay";
/// Content type of the bare-digit format.
pub const DTMF: &str = "application/dtmf";

/// The key carried by an INFO body of `content_type` (parameters after `;`
/// are ignored).
pub fn parse_info(content_type: &str, body: &[u8]) -> Result<char> {
    let media = content_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    let body = std::str::from_utf8(body).map_err(|_| bad("body is not UTF-8"))?;
    match media.as_str() {
        DTMF_RELAY => parse_relay(body),
        DTMF => signal(body.trim()),
        other => Err(bad(&format!("content type {other:?} carries no DTMF"))),
    }
}

fn parse_relay(body: &str) -> Result<char> {
    let mut found = None;
    for line in body.lines() {
        let Some((key, value)) = line.split_once('=') else {
            if line.trim().is_empty() {
                continue;
            }
            return Err(bad(&format!("line {line:?} is not key=value")));
        };
        if key.trim().eq_ignore_ascii_case("signal") {
            if found.is_some() {
                return Err(bad("more than one Signal"));
            }
            found = Some(signal(value.trim())?);
        }
    }
    found.ok_or_else(|| bad("no Signal line"))
}

fn signal(value: &str) -> Result<char> {
    let mut chars = value.chars();
    match (chars.next(), chars.next()) {
        (Some(c @ ('0'..='9' | '*' | '#')), None) => Ok(c),
        (Some(c @ ('A'..='D' | 'a'..='d')), None) => Ok(c.to_ascii_uppercase()),
        _ if value == "10" => Ok('*'),
        _ if value == "11" => Ok('#'),
        _ => Err(bad(&format!("{value:?} is not a DTMF key"))),
    }
}

fn bad(why: &str) -> Error {
    Error::DtmfInfo(why.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relay_bodies() {
        for (body, key) in [
            ("Signal=5\r\nDuration=160\r\n", '5'),
            ("Signal=5\r\nDuration=160", '5'),
            ("signal = *\nduration=100\n", '*'),
            ("Duration=250\r\nSignal=#\r\n", '#'),
            ("Signal=10\r\nDuration=160\r\n", '*'),
            ("Signal=11\r\n", '#'),
            ("Signal=a\r\n", 'A'),
            ("\r\nSignal=0\r\n\r\n", '0'),
        ] {
            assert_eq!(
                parse_info(DTMF_RELAY, body.as_bytes()).ok(),
                Some(key),
                "{body:?}"
            );
        }
        assert_eq!(
            parse_info("Application/DTMF-Relay; charset=utf-8", b"Signal=9").ok(),
            Some('9')
        );
    }

    #[test]
    fn bare_bodies() {
        for (body, key) in [
            ("5", '5'),
            ("5\r\n", '5'),
            (" # ", '#'),
            ("10", '*'),
            ("11", '#'),
        ] {
            assert_eq!(
                parse_info(DTMF, body.as_bytes()).ok(),
                Some(key),
                "{body:?}"
            );
        }
    }

    #[test]
    fn junk_is_rejected() {
        for (ct, body) in [
            (DTMF_RELAY, &b""[..]),
            (DTMF_RELAY, b"Duration=160\r\n"),
            (DTMF_RELAY, b"Signal=\r\n"),
            (DTMF_RELAY, b"Signal=55\r\n"),
            (DTMF_RELAY, b"Signal=x\r\n"),
            (DTMF_RELAY, b"Signal=1\r\nSignal=2\r\n"),
            (DTMF_RELAY, b"hello\r\n"),
            (DTMF_RELAY, b"Signal=\xff"),
            (DTMF, b""),
            (DTMF, b"12"),
            (DTMF, b"E"),
            ("text/plain", b"5"),
            ("application/sdp", b"Signal=5"),
        ] {
            let r = parse_info(ct, body);
            assert!(matches!(r, Err(Error::DtmfInfo(_))), "{ct} {body:?}: {r:?}");
        }
    }
}
