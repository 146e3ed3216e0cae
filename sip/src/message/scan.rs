//! Byte-level scanning shared by the parsers: the character classes of RFC 3261
//! §25.1, a cursor over a header value, quoted strings and `;name=value` lists.
//!
//! Everything works on bytes of text that is already known to be UTF-8; slices are
//! cut only next to ASCII delimiters, so they stay UTF-8 (see `bytestr::sub`).

use super::{ByteStr, Params};

/// `token` (RFC 3261 §25.1).
pub(super) const TOKEN: u16 = 1 << 0;
/// `word` (Call-ID).
pub(super) const WORD: u16 = 1 << 1;
/// `unreserved` = alphanum / mark.
pub(super) const UNRESERVED: u16 = 1 << 2;
/// `user`: unreserved / user-unreserved (escapes handled apart).
pub(super) const USER: u16 = 1 << 3;
/// `password`: unreserved / "&" / "=" / "+" / "$" / ",".
pub(super) const PASSWORD: u16 = 1 << 4;
/// `paramchar`: param-unreserved / unreserved.
pub(super) const PARAMCHAR: u16 = 1 << 5;
/// `hname`/`hvalue` characters: hnv-unreserved / unreserved.
pub(super) const HNV: u16 = 1 << 6;
/// `uric`: reserved / unreserved (escapes handled apart), plus the brackets of
/// IPv6 references, for opaque URIs of other schemes.
pub(super) const URIC: u16 = 1 << 7;
/// Host names and IPv4 addresses: alphanum, "-", "." (and "_", seen in the wild).
pub(super) const HOST: u16 = 1 << 8;
/// URI scheme characters after the first: alphanum / "+" / "-" / ".".
pub(super) const SCHEME: u16 = 1 << 9;
/// A `gen-value` that is not quoted: token / host (with IPv6 colons and brackets).
pub(super) const GENVALUE: u16 = 1 << 10;
/// Hexadecimal digits.
pub(super) const HEX: u16 = 1 << 11;
/// Host characters other than digits and dots (so a host without any is an
/// IPv4 address or nothing).
pub(super) const HOST_NAME: u16 = 1 << 12;

const fn mark(table: &mut [u16; 256], chars: &[u8], class: u16) {
    let mut i = 0;
    while i < chars.len() {
        table[chars[i] as usize] |= class;
        i += 1;
    }
}

const fn classes() -> [u16; 256] {
    let mut t = [0u16; 256];
    let mut c = 0;
    while c < 256 {
        let b = c as u8;
        if b.is_ascii_alphanumeric() {
            t[c] |= TOKEN | WORD | UNRESERVED | USER | PASSWORD | PARAMCHAR | HNV | URIC;
            t[c] |= HOST | SCHEME | GENVALUE;
        }
        if b.is_ascii_hexdigit() {
            t[c] |= HEX;
        }
        if b.is_ascii_alphabetic() {
            t[c] |= HOST_NAME;
        }
        c += 1;
    }
    let marks = b"-_.!~*'()";
    mark(
        &mut t,
        marks,
        UNRESERVED | USER | PASSWORD | PARAMCHAR | HNV | URIC,
    );
    mark(&mut t, b"-.!%*_+`'~", TOKEN | WORD | GENVALUE);
    mark(&mut t, b"()<>:\\\"/[]?{}", WORD);
    mark(&mut t, b"&=+$,;?/", USER);
    mark(&mut t, b"&=+$,", PASSWORD);
    mark(&mut t, b"[]/:&+$", PARAMCHAR);
    mark(&mut t, b"[]/?:+$", HNV);
    mark(&mut t, b";/?:@&=+$,[]", URIC);
    mark(&mut t, b"-._", HOST);
    mark(&mut t, b"-_", HOST_NAME);
    mark(&mut t, b"+-.", SCHEME);
    mark(&mut t, b":[]", GENVALUE);
    t
}

static CLASSES: [u16; 256] = classes();

#[inline]
pub(super) fn is(b: u8, class: u16) -> bool {
    CLASSES[b as usize] & class != 0
}

/// Every class `b` belongs to.
#[inline]
pub(super) fn classes_of(b: u8) -> u16 {
    CLASSES[b as usize]
}

#[inline]
pub(super) fn is_ws(b: u8) -> bool {
    b == b' ' || b == b'\t'
}

/// The first `c` in `s`. Header values are short, and below a few dozen bytes a
/// plain loop beats `memchr`'s dispatch.
#[inline]
pub(super) fn find(c: u8, s: &[u8]) -> Option<usize> {
    if s.len() < 64 {
        s.iter().position(|&x| x == c)
    } else {
        memchr::memchr(c, s)
    }
}

/// Trims SP and HT on both sides.
pub(super) fn trim_ws(s: &[u8]) -> (usize, usize) {
    let mut a = 0;
    let mut b = s.len();
    while a < b && is_ws(s[a]) {
        a += 1;
    }
    while b > a && is_ws(s[b - 1]) {
        b -= 1;
    }
    (a, b)
}

/// Parses `1*DIGIT` as a number no larger than `max`.
pub(super) fn parse_number(s: &[u8], max: u64) -> Option<u64> {
    if s.is_empty() {
        return None;
    }
    let mut n: u64 = 0;
    for &b in s {
        if !b.is_ascii_digit() {
            return None;
        }
        n = n * 10 + u64::from(b - b'0');
        if n > max {
            return None;
        }
    }
    Some(n)
}

/// A position in a header value (UTF-8 by the `ByteStr` invariant, so it is
/// scanned as bytes and never re-validated).
///
/// Parsers over a cursor take `const BUILD: bool`: with `false` they only
/// validate, and skip every slice, copy and allocation (parse-time validation);
/// with `true` they build the typed value.
pub(super) struct Cursor<'a> {
    pub(super) src: &'a ByteStr,
    pub(super) b: &'a [u8],
    pub(super) pos: usize,
}

/// What went wrong, for the detail of a `ParseError`.
pub(super) type Fail = &'static str;

impl<'a> Cursor<'a> {
    pub(super) fn new(src: &'a ByteStr) -> Self {
        Cursor {
            src,
            b: src.as_bytes(),
            pos: 0,
        }
    }

    #[inline]
    pub(super) fn peek(&self) -> Option<u8> {
        self.b.get(self.pos).copied()
    }

    #[inline]
    pub(super) fn at_end(&self) -> bool {
        self.pos >= self.b.len()
    }

    /// Skips SP and HT (folding was undone when the message was parsed).
    #[inline]
    pub(super) fn skip_ws(&mut self) {
        while self.pos < self.b.len() && is_ws(self.b[self.pos]) {
            self.pos += 1;
        }
    }

    /// Skips whitespace, then consumes `c` if it is next.
    #[inline]
    pub(super) fn eat(&mut self, c: u8) -> bool {
        self.skip_ws();
        if self.peek() == Some(c) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    /// Consumes bytes of `class`; returns the start and end.
    #[inline]
    pub(super) fn take(&mut self, class: u16) -> (usize, usize) {
        let start = self.pos;
        while self.pos < self.b.len() && is(self.b[self.pos], class) {
            self.pos += 1;
        }
        (start, self.pos)
    }

    /// A slice of the value sharing the buffer (an empty placeholder when only
    /// validating).
    #[inline]
    pub(super) fn slice<const BUILD: bool>(
        &self,
        start: usize,
        end: usize,
    ) -> Result<ByteStr, Fail> {
        if BUILD {
            self.src.sub(start, end).ok_or("invalid UTF-8 boundary")
        } else {
            Ok(ByteStr::default())
        }
    }

    /// A `token`, at least one character.
    pub(super) fn token(&mut self) -> Result<(usize, usize), Fail> {
        let (a, b) = self.take(TOKEN);
        if a == b {
            Err("expected a token")
        } else {
            Ok((a, b))
        }
    }

    /// A quoted string starting at the current `"`; returns its span including the
    /// quotes and whether it holds escapes.
    pub(super) fn quoted(&mut self) -> Result<(usize, usize, bool), Fail> {
        let (end, escaped) = scan_quoted(self.b, self.pos)?;
        let start = self.pos;
        self.pos = end;
        Ok((start, end, escaped))
    }

    /// `*( SEMI generic-param )`, stopping before anything else (a comma, the end).
    /// `check` sees each name and value (for checks that must happen while only
    /// validating, e.g. Contact's `expires`).
    pub(super) fn params<const BUILD: bool>(
        &mut self,
        mut check: impl FnMut(&[u8], Option<&[u8]>) -> Result<(), Fail>,
    ) -> Result<Params, Fail> {
        let mut params = Vec::new();
        while self.eat(b';') {
            self.skip_ws();
            let (na, nb) = self.take(TOKEN);
            if na == nb {
                return Err("empty parameter name");
            }
            let value = if self.eat(b'=') {
                self.skip_ws();
                let (va, vb) = if self.peek() == Some(b'"') {
                    let (a, b, _) = self.quoted()?;
                    (a, b)
                } else {
                    self.take(GENVALUE)
                };
                if va == vb {
                    return Err("empty parameter value");
                }
                Some((va, vb))
            } else {
                None
            };
            check(&self.b[na..nb], value.map(|(a, b)| &self.b[a..b]))?;
            if BUILD {
                let value = match value {
                    Some((a, b)) => Some(self.slice::<true>(a, b)?),
                    None => None,
                };
                let name = match intern(&self.b[na..nb]) {
                    Some(name) => name,
                    None => self.slice::<true>(na, nb)?,
                };
                params.push((name, value));
            }
        }
        Ok(Params(params))
    }
}

/// A static copy of a common parameter name or transport written exactly so: it
/// equals the slice it replaces and spares a reference count on the buffer.
pub(super) fn intern(s: &[u8]) -> Option<ByteStr> {
    const COMMON: [&str; 17] = [
        "branch",
        "tag",
        "rport",
        "received",
        "lr",
        "transport",
        "expires",
        "q",
        "maddr",
        "ttl",
        "user",
        "UDP",
        "TCP",
        "TLS",
        "WS",
        "WSS",
        "ob",
    ];
    COMMON
        .iter()
        .find(|c| c.as_bytes() == s)
        .map(|c| ByteStr::from_static(c))
}

/// A `check` for [`Cursor::params`] that accepts everything.
pub(super) fn any_param(_: &[u8], _: Option<&[u8]>) -> Result<(), Fail> {
    Ok(())
}

/// Scans a quoted string whose opening `"` is at `start` (RFC 3261 §25.1 `quoted-string`);
/// returns the index after the closing quote and whether a quoted-pair occurs.
pub(super) fn scan_quoted(b: &[u8], start: usize) -> Result<(usize, bool), Fail> {
    let mut i = start + 1;
    let mut escaped = false;
    while i < b.len() {
        match b[i] {
            b'"' => return Ok((i + 1, escaped)),
            b'\\' => {
                // quoted-pair = "\" (%x00-09 / %x0B-0C / %x0E-7F)
                match b.get(i + 1) {
                    Some(&c) if c < 0x80 && c != b'\r' && c != b'\n' => {}
                    _ => return Err("invalid escape in quoted string"),
                }
                escaped = true;
                i += 2;
            }
            b'\t' => i += 1,
            c if c < 0x20 || c == 0x7f => return Err("control character in quoted string"),
            _ => i += 1,
        }
    }
    Err("unterminated quoted string")
}

/// The text of a quoted string (without its quotes) with quoted-pairs resolved.
pub(super) fn unquote(inner: &str) -> String {
    let mut out = String::with_capacity(inner.len());
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            if let Some(n) = chars.next() {
                out.push(n);
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// Writes `s` as a quoted string, escaping what qdtext cannot hold. CR and LF
/// cannot be escaped at all (RFC 3261 §25.1) and become spaces.
pub(super) fn write_quoted(f: &mut std::fmt::Formatter<'_>, s: &str) -> std::fmt::Result {
    use std::fmt::Write;
    f.write_char('"')?;
    for c in s.chars() {
        match c {
            '\r' | '\n' => f.write_char(' ')?,
            '"' | '\\' => {
                f.write_char('\\')?;
                f.write_char(c)?;
            }
            '\t' => f.write_char(c)?,
            c if (c as u32) < 0x20 || c as u32 == 0x7f => {
                f.write_char('\\')?;
                f.write_char(c)?;
            }
            c => f.write_char(c)?,
        }
    }
    f.write_char('"')
}

/// Consumes characters of `class` and `%HH` escapes from `b[i..]`; returns the end,
/// or an error for a `%` that is not followed by two hex digits.
pub(super) fn take_escaped(b: &[u8], mut i: usize, class: u16) -> Result<usize, Fail> {
    while i < b.len() {
        let c = b[i];
        if is(c, class) {
            i += 1;
        } else if c == b'%' {
            match (b.get(i + 1), b.get(i + 2)) {
                (Some(&h), Some(&l)) if is(h, HEX) && is(l, HEX) => i += 3,
                _ => return Err("invalid % escape"),
            }
        } else {
            break;
        }
    }
    Ok(i)
}

impl std::fmt::Display for Params {
    /// `;name` and `;name=value` in order, values as written (quotes kept).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for (name, value) in &self.0 {
            f.write_str(";")?;
            f.write_str(name)?;
            if let Some(v) = value {
                f.write_str("=")?;
                f.write_str(v)?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // a failed unwrap is a failed test
mod tests {
    use super::*;

    #[test]
    fn classes_follow_rfc3261() {
        for c in b"abcXYZ019-.!%*_+`'~" {
            assert!(is(*c, TOKEN), "{}", *c as char);
        }
        for c in b" \t\"(),/:;<=>?@[\\]{}" {
            assert!(!is(*c, TOKEN), "{}", *c as char);
        }
        assert!(is(b'?', USER) && is(b';', USER) && !is(b'@', USER));
        assert!(!is(b'?', PARAMCHAR) && is(b':', PARAMCHAR));
        assert!(is(b'[', GENVALUE) && !is(b'"', GENVALUE));
    }

    #[test]
    fn quoted_strings() {
        assert_eq!(scan_quoted(br#""a\"b" x"#, 0), Ok((6, true)));
        assert_eq!(scan_quoted(br#""ab""#, 0), Ok((4, false)));
        assert!(scan_quoted(br#""ab"#, 0).is_err());
        assert!(scan_quoted(b"\"a\x01\"", 0).is_err());
        assert!(scan_quoted(b"\"a\\\x00\"", 0).is_ok());
        assert_eq!(unquote(r#"J Rosenberg \\\""#), r#"J Rosenberg \""#);
    }

    #[test]
    fn numbers() {
        assert_eq!(parse_number(b"0068", 255), Some(68));
        assert_eq!(parse_number(b"256", 255), None);
        assert_eq!(parse_number(b"", 255), None);
        assert_eq!(parse_number(b"-1", 255), None);
        assert_eq!(
            parse_number(b"99999999999999999999999", u64::from(u32::MAX)),
            None
        );
    }

    #[test]
    fn escapes() {
        assert_eq!(take_escaped(b"a%41b@", 0, USER), Ok(5));
        assert!(take_escaped(b"a%4", 0, USER).is_err());
        assert!(take_escaped(b"a%zz", 0, USER).is_err());
    }
}
