use bytes::Bytes;

use super::{HeaderName, Message};

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
    todo!("{buf:?}")
}

/// Builds the `400`/`505` answer to a request that [`parse`] rejected, from
/// whatever Via, From, To, Call-ID and CSeq lines can be recovered from the raw
/// bytes; the reason phrase says what was wrong. `None` when the bytes are a
/// response or too broken to answer (then the message is dropped).
pub fn error_response(raw: &[u8], err: &ParseError) -> Option<Bytes> {
    todo!("{raw:?} {err}")
}
