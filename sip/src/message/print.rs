//! Printing messages to the wire, and building responses from requests.

use bytes::Bytes;

use super::{Message, Request, Response};

/// The default reason phrase of a status code (RFC 3261 §21 and extensions).
pub fn default_reason(status: u16) -> &'static str {
    todo!("{status}")
}

impl Request {
    /// The wire form; Content-Length is written to match the body.
    pub fn to_bytes(&self) -> Bytes {
        todo!()
    }
}

impl Response {
    /// The wire form; Content-Length is written to match the body.
    pub fn to_bytes(&self) -> Bytes {
        todo!()
    }

    /// A response to `req` (RFC 3261 §8.2.6.2): Via (all), From, To, Call-ID and
    /// CSeq copied; the default reason phrase; no body.
    pub fn for_request(req: &Request, status: u16) -> Response {
        todo!("{req:?} {status}")
    }
}

impl Message {
    pub fn to_bytes(&self) -> Bytes {
        match self {
            Message::Request(r) => r.to_bytes(),
            Message::Response(r) => r.to_bytes(),
        }
    }
}
