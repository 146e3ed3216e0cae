use crate::message::ParseError;

/// Errors of the SIP crate.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A message (or one of its headers) could not be parsed.
    #[error("SIP parse error: {0}")]
    Parse(#[from] ParseError),
    /// A message could not be framed on a stream transport.
    #[error("SIP framing error: {0}")]
    Framing(#[from] crate::framing::FramingError),
}

/// Result with the crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
