//! Framing of SIP messages on a stream transport (RFC 3261 §18.3).

/// Why a stream could not be framed; the connection should be closed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FramingError {
    #[error("message larger than {limit} bytes")]
    TooLarge { limit: usize },
    #[error("missing or invalid Content-Length on a stream transport")]
    ContentLength,
}
