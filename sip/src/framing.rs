//! Framing of SIP messages on a stream transport (RFC 3261 §18.3).
//!
//! On TCP the message boundary is the end of the header section (the first empty
//! line) plus `Content-Length` octets of body; the header is mandatory on streams.
//! [`StreamDecoder`] is sans-IO: the driver appends whatever a read returned, then
//! drains [`Frame`]s. It copes with partial reads, several messages in one read and
//! a message split across reads, and it refuses to buffer more than the configured
//! maximum message size, so a peer cannot make the server hold unbounded memory.
//! RFC 5626 §3.5.1 keep-alives (a CRLF CRLF "ping" between messages) are reported
//! so the driver can answer the single CRLF "pong".

use bytes::{Buf, Bytes, BytesMut};

/// Why a stream could not be framed; the connection should be closed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FramingError {
    #[error("message larger than {limit} bytes")]
    TooLarge { limit: usize },
    #[error("missing or invalid Content-Length on a stream transport")]
    ContentLength,
}

/// What the decoder found at the front of the stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Frame {
    /// One complete message: header section and body, ready for `message::parse`.
    Message(Bytes),
    /// A double-CRLF keep-alive ping (RFC 5626 §3.5.1); answer with a single CRLF.
    Ping,
}

/// Incremental framer for one stream connection.
#[derive(Debug)]
pub struct StreamDecoder {
    buf: BytesMut,
    max_message: usize,
    /// Where to resume looking for the end of the header section, so a message
    /// that trickles in byte by byte is not rescanned from the start every time.
    scanned: usize,
}

impl StreamDecoder {
    /// A decoder that refuses messages longer than `max_message` octets.
    pub fn new(max_message: usize) -> Self {
        Self {
            buf: BytesMut::with_capacity(4096),
            max_message,
            scanned: 0,
        }
    }

    /// Appends octets read from the connection.
    pub fn extend(&mut self, data: &[u8]) {
        self.buf.extend_from_slice(data);
    }

    /// Octets buffered but not yet framed.
    pub fn buffered(&self) -> usize {
        self.buf.len()
    }

    /// The next complete frame, `Ok(None)` when more octets are needed. After an
    /// error the connection must be closed: the stream position is lost.
    pub fn next_frame(&mut self) -> Result<Option<Frame>, FramingError> {
        // CRLFs between messages are keep-alives (RFC 5626) or tolerated noise
        // (RFC 3261 §7.5 lets a receiver ignore CRLFs before the start line).
        if self.buf.starts_with(b"\r\n\r\n") {
            self.buf.advance(4);
            self.scanned = 0;
            return Ok(Some(Frame::Ping));
        }
        let leading = self
            .buf
            .iter()
            .take_while(|&&b| b == b'\r' || b == b'\n')
            .count();
        if leading == self.buf.len() && leading < 4 {
            // Possibly the first half of a ping: wait for more.
            return Ok(None);
        }
        if leading > 0 {
            self.buf.advance(leading);
            self.scanned = 0;
        }

        let Some(header_end) = self.find_header_end() else {
            if self.buf.len() > self.max_message {
                return Err(FramingError::TooLarge {
                    limit: self.max_message,
                });
            }
            return Ok(None);
        };
        let body_len = content_length(&self.buf[..header_end])?;
        let total = header_end
            .checked_add(body_len)
            .ok_or(FramingError::ContentLength)?;
        if total > self.max_message {
            return Err(FramingError::TooLarge {
                limit: self.max_message,
            });
        }
        if self.buf.len() < total {
            return Ok(None);
        }
        self.scanned = 0;
        Ok(Some(Frame::Message(self.buf.split_to(total).freeze())))
    }

    /// Offset just past the CRLFCRLF (or bare LFLF) that ends the header section.
    fn find_header_end(&mut self) -> Option<usize> {
        let start = self.scanned.saturating_sub(3);
        let hay = &self.buf[start..];
        for (i, w) in hay.windows(2).enumerate() {
            if w == b"\n\n" {
                return Some(start + i + 2);
            }
            if w == b"\n\r" && hay.get(i + 2) == Some(&b'\n') {
                return Some(start + i + 3);
            }
        }
        self.scanned = self.buf.len();
        None
    }
}

/// The Content-Length (long or compact `l` form) of a header section. Exactly one
/// is required on a stream (RFC 3261 §18.3, §20.14).
fn content_length(head: &[u8]) -> Result<usize, FramingError> {
    let mut found: Option<usize> = None;
    for line in head.split(|&b| b == b'\n').skip(1) {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        let Some(colon) = line.iter().position(|&b| b == b':') else {
            continue;
        };
        let name = trim(&line[..colon]);
        if !(name.eq_ignore_ascii_case(b"content-length") || name.eq_ignore_ascii_case(b"l")) {
            continue;
        }
        let value = trim(&line[colon + 1..]);
        if value.is_empty() || value.len() > 9 || !value.iter().all(u8::is_ascii_digit) {
            return Err(FramingError::ContentLength);
        }
        let n = value
            .iter()
            .fold(0usize, |acc, d| acc * 10 + usize::from(d - b'0'));
        if found.is_some_and(|prev| prev != n) {
            return Err(FramingError::ContentLength);
        }
        found = Some(n);
    }
    found.ok_or(FramingError::ContentLength)
}

fn trim(s: &[u8]) -> &[u8] {
    let start = s
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(s.len());
    let end = s
        .iter()
        .rposition(|b| !b.is_ascii_whitespace())
        .map_or(start, |e| e + 1);
    &s[start..end]
}

#[cfg(test)]
mod tests {
    use super::*;

    const REGISTER: &[u8] = b"REGISTER sip:hotline.local SIP/2.0\r\n\
Via: SIP/2.0/TCP 127.0.0.1:5098;branch=z9hG4bK1\r\n\
Call-ID: a\r\nCSeq: 1 REGISTER\r\nContent-Length: 0\r\n\r\n";

    const WITH_BODY: &[u8] = b"MESSAGE sip:1001@hotline.local SIP/2.0\r\n\
Via: SIP/2.0/TCP 127.0.0.1:5098;branch=z9hG4bK2\r\n\
l: 5\r\n\r\nhello";

    fn frames(dec: &mut StreamDecoder) -> Vec<Frame> {
        let mut out = Vec::new();
        while let Some(f) = dec.next_frame().expect("framing ok") {
            out.push(f);
        }
        out
    }

    #[test]
    fn message_split_across_three_reads() {
        let mut dec = StreamDecoder::new(65536);
        let (a, rest) = REGISTER.split_at(20);
        let (b, c) = rest.split_at(50);
        dec.extend(a);
        assert!(frames(&mut dec).is_empty());
        dec.extend(b);
        assert!(frames(&mut dec).is_empty());
        dec.extend(c);
        assert_eq!(
            frames(&mut dec),
            vec![Frame::Message(Bytes::from_static(REGISTER))]
        );
        assert_eq!(dec.buffered(), 0);
    }

    #[test]
    fn byte_by_byte() {
        let mut dec = StreamDecoder::new(65536);
        let mut got = Vec::new();
        for b in WITH_BODY {
            dec.extend(&[*b]);
            got.extend(frames(&mut dec));
        }
        assert_eq!(got, vec![Frame::Message(Bytes::from_static(WITH_BODY))]);
    }

    #[test]
    fn two_messages_in_one_read_with_compact_content_length() {
        let mut dec = StreamDecoder::new(65536);
        let mut both = WITH_BODY.to_vec();
        both.extend_from_slice(REGISTER);
        dec.extend(&both);
        assert_eq!(
            frames(&mut dec),
            vec![
                Frame::Message(Bytes::from_static(WITH_BODY)),
                Frame::Message(Bytes::from_static(REGISTER))
            ]
        );
    }

    #[test]
    fn keepalive_ping_between_messages() {
        let mut dec = StreamDecoder::new(65536);
        dec.extend(b"\r\n\r\n");
        dec.extend(REGISTER);
        dec.extend(b"\r\n");
        assert_eq!(
            frames(&mut dec),
            vec![Frame::Ping, Frame::Message(Bytes::from_static(REGISTER))]
        );
        dec.extend(b"\r\n");
        assert_eq!(frames(&mut dec), vec![Frame::Ping]);
    }

    #[test]
    fn oversized_header_section_is_refused_before_it_ends() {
        let mut dec = StreamDecoder::new(1024);
        dec.extend(b"INVITE sip:x SIP/2.0\r\nSubject: ");
        dec.extend(&[b'a'; 2000]);
        assert_eq!(
            dec.next_frame(),
            Err(FramingError::TooLarge { limit: 1024 })
        );
    }

    #[test]
    fn oversized_body_is_refused_from_content_length() {
        let mut dec = StreamDecoder::new(65536);
        dec.extend(b"MESSAGE sip:x SIP/2.0\r\nContent-Length: 71680\r\n\r\n");
        assert_eq!(
            dec.next_frame(),
            Err(FramingError::TooLarge { limit: 65536 })
        );
    }

    #[test]
    fn missing_negative_or_conflicting_content_length_is_an_error() {
        for head in [
            &b"OPTIONS sip:x SIP/2.0\r\nCall-ID: a\r\n\r\n"[..],
            b"OPTIONS sip:x SIP/2.0\r\nContent-Length: -1\r\n\r\n",
            b"OPTIONS sip:x SIP/2.0\r\nContent-Length: 1\r\nl: 2\r\n\r\n",
            b"OPTIONS sip:x SIP/2.0\r\nContent-Length: 99999999999999999999\r\n\r\n",
        ] {
            let mut dec = StreamDecoder::new(65536);
            dec.extend(head);
            assert_eq!(
                dec.next_frame(),
                Err(FramingError::ContentLength),
                "{head:?}"
            );
        }
    }

    #[test]
    fn bare_lf_line_endings_are_framed() {
        let mut dec = StreamDecoder::new(65536);
        let msg = b"OPTIONS sip:x SIP/2.0\nContent-Length: 2\n\nok";
        dec.extend(msg);
        assert_eq!(
            frames(&mut dec),
            vec![Frame::Message(Bytes::from_static(msg))]
        );
    }
}
