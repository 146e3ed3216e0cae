//! Transaction identifiers, and how a message finds its transaction
//! (RFC 3261 §17.1.3 for responses, §17.2.3 for requests).

use std::fmt;
use std::hash::{Hash, Hasher};
use std::sync::Arc;

use crate::message::{ByteStr, Method, ParseError, Request, Response, Via};

/// The prefix of every RFC 3261 branch (§8.1.1.7). A branch without it came from an
/// RFC 2543 element, whose branches are not unique, so matching falls back to the
/// dialog and CSeq fields (§17.2.3).
pub const MAGIC_COOKIE: &str = "z9hG4bK";

/// A fresh branch for the top Via of a request this element originates:
/// [`MAGIC_COOKIE`] followed by 96 random bits in hex. Branches must be unique in
/// space and time (§8.1.1.7), which random bits give without any shared counter.
pub fn new_branch<R: rand::Rng + ?Sized>(rng: &mut R) -> String {
    format!(
        "{MAGIC_COOKIE}{:016x}{:08x}",
        rng.gen::<u64>(),
        rng.gen::<u32>()
    )
}

/// Why a message could not be tied to a transaction: a header the matching rules
/// need is missing or malformed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    #[error("no usable top Via: {0}")]
    Via(ParseError),
    #[error("the top Via has no branch parameter")]
    NoBranch,
    #[error("no usable CSeq: {0}")]
    CSeq(ParseError),
    #[error("no usable Call-ID: {0}")]
    CallId(ParseError),
    #[error("no usable From: {0}")]
    From(ParseError),
    #[error("no usable To: {0}")]
    To(ParseError),
    /// §8.1.1.5: the CSeq method must equal the request method.
    #[error("CSeq method {cseq} differs from the request method {method}")]
    MethodMismatch { method: Method, cseq: Method },
}

/// A token compared and hashed ignoring ASCII case. Header parameter values are
/// case-insensitive unless their definition says otherwise (§7.3.1), and Via's
/// branch and sent-by are not exempted.
#[derive(Clone)]
struct Caseless(ByteStr);

impl PartialEq for Caseless {
    fn eq(&self, other: &Self) -> bool {
        self.0.eq_ignore_ascii_case(&other.0)
    }
}
impl Eq for Caseless {}

impl Hash for Caseless {
    fn hash<H: Hasher>(&self, state: &mut H) {
        // Lower-cased in stack chunks: one hasher call per chunk, not per byte.
        let mut buf = [0u8; 64];
        for chunk in self.0.as_bytes().chunks(buf.len()) {
            let lower = &mut buf[..chunk.len()];
            lower.copy_from_slice(chunk);
            lower.make_ascii_lowercase();
            state.write(lower);
        }
        // A terminator keeps ("ab", "c") and ("a", "bc") apart in composite keys.
        state.write_u8(0xff);
    }
}

/// Identifies a client transaction: the branch of the top Via this element put on
/// the request, plus the method (§17.1.3). The method keeps a CANCEL, which reuses
/// the INVITE's branch (§9.1), apart from the INVITE it cancels.
///
/// Cheap to clone (reference-counted strings).
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct ClientKey {
    branch: Caseless,
    method: Method,
}

impl ClientKey {
    /// The key of the INVITE a CANCEL with this key cancels (same branch, §9.1).
    pub(super) fn cancelled_invite(&self) -> Option<ClientKey> {
        (self.method == Method::Cancel).then(|| ClientKey {
            branch: self.branch.clone(),
            method: Method::Invite,
        })
    }

    /// The branch of the request's top Via.
    pub fn branch(&self) -> &str {
        &self.branch.0
    }

    /// The method of the request (INVITE, CANCEL, REGISTER, ...).
    pub fn method(&self) -> &Method {
        &self.method
    }

    /// The key of a request this element sends.
    pub(super) fn for_request(request: &Request) -> Result<ClientKey, KeyError> {
        let via = request.headers.top_via().map_err(KeyError::Via)?;
        let branch = branch_of(&via).ok_or(KeyError::NoBranch)?;
        let cseq = request.headers.cseq().map_err(KeyError::CSeq)?;
        if cseq.method != request.method {
            // Responses are matched on the CSeq method; a mismatch would orphan them.
            return Err(KeyError::MethodMismatch {
                method: request.method.clone(),
                cseq: cseq.method,
            });
        }
        Ok(ClientKey {
            branch: Caseless(branch),
            method: request.method.clone(),
        })
    }

    /// The key of the transaction a response belongs to (§17.1.3): the top Via
    /// branch and the CSeq method. `Ok(None)` when the top Via has no branch: no
    /// transaction of ours can match, since every request we send carries one.
    pub(super) fn for_response(response: &Response) -> Result<Option<ClientKey>, KeyError> {
        let via = response.headers.top_via().map_err(KeyError::Via)?;
        let cseq = response.headers.cseq().map_err(KeyError::CSeq)?;
        Ok(branch_of(&via).map(|branch| ClientKey {
            branch: Caseless(branch),
            method: cseq.method,
        }))
    }
}

impl fmt::Debug for ClientKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ClientKey({} {})", self.method, self.branch.0)
    }
}

impl fmt::Display for ClientKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.method, self.branch.0)
    }
}

/// Identifies a server transaction (§17.2.3).
///
/// For an RFC 3261 peer (branch with the magic cookie) it is the branch, the
/// sent-by of the top Via (branches are only unique per sender) and the method,
/// where an ACK counts as the INVITE it acknowledges. For an RFC 2543 peer it is
/// the Request-URI, Call-ID, From tag, To tag, CSeq and top Via of the request.
///
/// Cheap to clone (one reference count).
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct ServerKey(Arc<ServerKeyRepr>);

#[derive(Clone, PartialEq, Eq, Hash)]
enum ServerKeyRepr {
    Rfc3261 {
        branch: Caseless,
        sent_by: Caseless,
        method: Method,
    },
    Rfc2543 {
        request_uri: ByteStr,
        call_id: ByteStr,
        from_tag: Option<ByteStr>,
        to_tag: Option<ByteStr>,
        cseq: u32,
        method: Method,
        top_via: Caseless,
    },
}

impl ServerKey {
    /// The branch of the request's top Via; `None` for an RFC 2543 peer, whose
    /// transactions are keyed on other fields.
    pub fn branch(&self) -> Option<&str> {
        match &*self.0 {
            ServerKeyRepr::Rfc3261 { branch, .. } => Some(&branch.0),
            ServerKeyRepr::Rfc2543 { .. } => None,
        }
    }

    /// The method of the request that created the transaction (INVITE for the
    /// transaction an ACK belongs to).
    pub fn method(&self) -> &Method {
        match &*self.0 {
            ServerKeyRepr::Rfc3261 { method, .. } | ServerKeyRepr::Rfc2543 { method, .. } => method,
        }
    }

    /// True when the key uses the RFC 2543 fallback fields.
    pub fn is_rfc2543(&self) -> bool {
        matches!(&*self.0, ServerKeyRepr::Rfc2543 { .. })
    }

    /// The key of the transaction `request` belongs to. An ACK maps to its INVITE's
    /// transaction (§17.2.3); every other method to a transaction of its own.
    pub(super) fn for_request(request: &Request) -> Result<ServerKey, KeyError> {
        let via = request.headers.top_via().map_err(KeyError::Via)?;
        let method = match request.method {
            Method::Ack => Method::Invite,
            ref m => m.clone(),
        };
        let repr = match branch_of(&via) {
            Some(branch) if branch.starts_with(MAGIC_COOKIE) => ServerKeyRepr::Rfc3261 {
                branch: Caseless(branch),
                sent_by: Caseless(sent_by(&via)),
                method,
            },
            _ => {
                let cseq = request.headers.cseq().map_err(KeyError::CSeq)?;
                let call_id = request.headers.call_id().map_err(KeyError::CallId)?;
                let from = request.headers.from_addr().map_err(KeyError::From)?;
                let to = request.headers.to_addr().map_err(KeyError::To)?;
                ServerKeyRepr::Rfc2543 {
                    request_uri: ByteStr::from(request.uri.as_str()),
                    call_id: call_id.clone(),
                    from_tag: from.tag().map(ByteStr::from),
                    to_tag: to.tag().map(ByteStr::from),
                    cseq: cseq.seq,
                    method,
                    top_via: Caseless(ByteStr::from(via.to_string())),
                }
            }
        };
        Ok(ServerKey(Arc::new(repr)))
    }

    /// The same request identity with another method: for a CANCEL, the key of the
    /// INVITE it cancels (§9.2 matches a CANCEL like a retransmission of the
    /// INVITE, method aside).
    pub(super) fn with_method(&self, method: Method) -> ServerKey {
        let mut repr = (*self.0).clone();
        match &mut repr {
            ServerKeyRepr::Rfc3261 { method: m, .. } | ServerKeyRepr::Rfc2543 { method: m, .. } => {
                *m = method
            }
        }
        ServerKey(Arc::new(repr))
    }

    /// For an RFC 2543 key with a To tag, the same key without it. An ACK carries
    /// the To tag of the response while the initial INVITE it acknowledges had none,
    /// so its transaction is found under the tag-less key (§17.2.3).
    pub(super) fn without_to_tag(&self) -> Option<ServerKey> {
        match &*self.0 {
            ServerKeyRepr::Rfc2543 {
                to_tag: Some(_), ..
            } => {
                let mut repr = (*self.0).clone();
                if let ServerKeyRepr::Rfc2543 { to_tag, .. } = &mut repr {
                    *to_tag = None;
                }
                Some(ServerKey(Arc::new(repr)))
            }
            _ => None,
        }
    }
}

impl fmt::Debug for ServerKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ServerKey({self})")
    }
}

impl fmt::Display for ServerKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &*self.0 {
            ServerKeyRepr::Rfc3261 {
                branch,
                sent_by,
                method,
            } => write!(f, "{method} {} from {}", branch.0, sent_by.0),
            ServerKeyRepr::Rfc2543 {
                call_id,
                cseq,
                method,
                ..
            } => write!(f, "{method} rfc2543 {call_id} {cseq}"),
        }
    }
}

/// The branch parameter as a slice of the message (no copy). An empty value is
/// treated as absent.
fn branch_of(via: &Via) -> Option<ByteStr> {
    via.params
        .0
        .iter()
        .find(|(name, _)| name.eq_ignore_ascii_case("branch"))
        .and_then(|(_, value)| value.clone())
        .filter(|value| !value.is_empty())
}

/// `host[:port]` of a Via, as written (the comparison ignores case).
fn sent_by(via: &Via) -> ByteStr {
    match via.port {
        Some(port) => ByteStr::from(format!("{}:{port}", via.host)),
        None => ByteStr::from(via.host.to_string()),
    }
}
