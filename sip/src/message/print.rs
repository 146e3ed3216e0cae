//! Printing messages to the wire, and building responses from requests.

use bytes::Bytes;

use super::{HeaderName, Headers, Message, Request, Response};

/// The default reason phrase of a status code (RFC 3261 §21 and extensions).
pub fn default_reason(status: u16) -> &'static str {
    match status {
        100 => "Trying",
        180 => "Ringing",
        181 => "Call Is Being Forwarded",
        182 => "Queued",
        183 => "Session Progress",
        199 => "Early Dialog Terminated",
        200 => "OK",
        202 => "Accepted",
        204 => "No Notification",
        300 => "Multiple Choices",
        301 => "Moved Permanently",
        302 => "Moved Temporarily",
        305 => "Use Proxy",
        380 => "Alternative Service",
        400 => "Bad Request",
        401 => "Unauthorized",
        402 => "Payment Required",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        406 => "Not Acceptable",
        407 => "Proxy Authentication Required",
        408 => "Request Timeout",
        410 => "Gone",
        412 => "Conditional Request Failed",
        413 => "Request Entity Too Large",
        414 => "Request-URI Too Long",
        415 => "Unsupported Media Type",
        416 => "Unsupported URI Scheme",
        417 => "Unknown Resource-Priority",
        420 => "Bad Extension",
        421 => "Extension Required",
        422 => "Session Interval Too Small",
        423 => "Interval Too Brief",
        428 => "Use Identity Header",
        429 => "Provide Referrer Identity",
        430 => "Flow Failed",
        433 => "Anonymity Disallowed",
        436 => "Bad Identity-Info",
        437 => "Unsupported Certificate",
        438 => "Invalid Identity Header",
        439 => "First Hop Lacks Outbound Support",
        440 => "Max-Breadth Exceeded",
        469 => "Bad Info Package",
        470 => "Consent Needed",
        480 => "Temporarily Unavailable",
        481 => "Call/Transaction Does Not Exist",
        482 => "Loop Detected",
        483 => "Too Many Hops",
        484 => "Address Incomplete",
        485 => "Ambiguous",
        486 => "Busy Here",
        487 => "Request Terminated",
        488 => "Not Acceptable Here",
        489 => "Bad Event",
        491 => "Request Pending",
        493 => "Undecipherable",
        494 => "Security Agreement Required",
        500 => "Server Internal Error",
        501 => "Not Implemented",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Server Time-out",
        505 => "Version Not Supported",
        513 => "Message Too Large",
        555 => "Push Notification Service Not Supported",
        580 => "Precondition Failure",
        600 => "Busy Everywhere",
        603 => "Decline",
        604 => "Does Not Exist Anywhere",
        606 => "Not Acceptable",
        607 => "Unwanted",
        608 => "Rejected",
        // Unknown codes are treated as x00 of their class (RFC 3261 §21).
        _ => match status / 100 {
            1 => "Provisional",
            2 => "Success",
            3 => "Redirection",
            4 => "Client Error",
            5 => "Server Error",
            6 => "Global Failure",
            _ => "Unknown",
        },
    }
}

impl Request {
    /// The wire form; Content-Length is written to match the body.
    pub fn to_bytes(&self) -> Bytes {
        let mut out = Vec::with_capacity(self.size_hint());
        put_clean(&mut out, self.method.as_str());
        out.push(b' ');
        put_clean(&mut out, self.uri.as_str());
        out.extend_from_slice(b" SIP/2.0\r\n");
        put_headers(&mut out, &self.headers, self.body.len());
        out.extend_from_slice(&self.body);
        Bytes::from(out)
    }

    fn size_hint(&self) -> usize {
        40 + self.uri.as_str().len() + headers_size(&self.headers) + self.body.len()
    }
}

impl Response {
    /// The wire form; Content-Length is written to match the body.
    pub fn to_bytes(&self) -> Bytes {
        let mut out = Vec::with_capacity(
            40 + self.reason.len() + headers_size(&self.headers) + self.body.len(),
        );
        out.extend_from_slice(b"SIP/2.0 ");
        out.extend_from_slice(self.status.to_string().as_bytes());
        out.push(b' ');
        put_clean(&mut out, &self.reason);
        out.extend_from_slice(b"\r\n");
        put_headers(&mut out, &self.headers, self.body.len());
        out.extend_from_slice(&self.body);
        Bytes::from(out)
    }

    /// A response to `req` (RFC 3261 §8.2.6.2): Via (all), From, To, Call-ID and
    /// CSeq copied; the default reason phrase; no body.
    pub fn for_request(req: &Request, status: u16) -> Response {
        let mut headers = Headers::new();
        for h in req.headers.iter() {
            if matches!(
                h.name,
                HeaderName::Via
                    | HeaderName::From
                    | HeaderName::To
                    | HeaderName::CallId
                    | HeaderName::CSeq
            ) {
                headers.push(h.name.clone(), h.value.clone());
            }
        }
        Response {
            status,
            reason: super::ByteStr::from_static(default_reason(status)),
            headers,
            body: Bytes::new(),
        }
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

fn headers_size(headers: &Headers) -> usize {
    headers
        .iter()
        .map(|h| h.name.as_str().len() + h.value.len() + 4)
        .sum::<usize>()
        + 24
}

/// Headers in order, Content-Length replaced (at the place of the first one, or
/// appended) by the body's length, then the empty line.
fn put_headers(out: &mut Vec<u8>, headers: &Headers, body_len: usize) {
    let mut length_written = false;
    for h in headers.iter() {
        if h.name == HeaderName::ContentLength {
            if !length_written {
                put_content_length(out, body_len);
                length_written = true;
            }
            continue;
        }
        put_clean(out, h.name.as_str());
        out.extend_from_slice(b": ");
        put_clean(out, &h.value);
        out.extend_from_slice(b"\r\n");
    }
    if !length_written {
        put_content_length(out, body_len);
    }
    out.extend_from_slice(b"\r\n");
}

fn put_content_length(out: &mut Vec<u8>, len: usize) {
    out.extend_from_slice(b"Content-Length: ");
    out.extend_from_slice(len.to_string().as_bytes());
    out.extend_from_slice(b"\r\n");
}

/// Writes text that must stay on one line: a CR or LF in a value built in code
/// would otherwise inject header lines, so each becomes a space.
fn put_clean(out: &mut Vec<u8>, s: &str) {
    let b = s.as_bytes();
    if memchr::memchr2(b'\r', b'\n', b).is_none() {
        out.extend_from_slice(b);
    } else {
        out.extend(
            b.iter()
                .map(|&c| if c == b'\r' || c == b'\n' { b' ' } else { c }),
        );
    }
}
