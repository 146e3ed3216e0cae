//! SDP tests: parsing and printing real-world and RFC descriptions, the
//! offer/answer table tests, and the round-trip and no-panic properties.

mod negotiate;
mod parse;
mod props;
mod samples;

use super::SessionDescription;

/// Parses a test description that must parse.
fn sdp(text: &str) -> SessionDescription {
    SessionDescription::parse(text.as_bytes())
        .unwrap_or_else(|e| panic!("test SDP does not parse: {e}\n{text}"))
}

/// `text` with CRLF line ends, as it travels in a SIP body.
fn crlf(text: &str) -> String {
    text.replace('\n', "\r\n")
}
