use super::ByteStr;

/// A header field name. Well-known names (and their RFC 3261 §7.3.3 compact forms)
/// map to variants; anything else is kept verbatim and compared case-insensitively.
#[derive(Debug, Clone)]
pub enum HeaderName {
    Accept,
    Allow,
    Authorization,
    CallId,
    Contact,
    ContentEncoding,
    ContentLength,
    ContentType,
    CSeq,
    Date,
    Event,
    Expires,
    From,
    MaxForwards,
    MinExpires,
    ProxyAuthenticate,
    ProxyAuthorization,
    ProxyRequire,
    RecordRoute,
    ReferTo,
    Require,
    RetryAfter,
    Route,
    Server,
    Subject,
    Supported,
    To,
    Unsupported,
    UserAgent,
    Via,
    Warning,
    WwwAuthenticate,
    Other(ByteStr),
}

impl HeaderName {
    /// Maps a name as it appears on the wire (any case, compact forms too).
    pub fn from_wire(name: &str) -> HeaderName {
        known(name.as_bytes()).unwrap_or_else(|| HeaderName::Other(ByteStr::from(name)))
    }

    /// Like [`from_wire`](Self::from_wire) over bytes: a well-known name needs no
    /// slice of the message, an unknown one is kept as `slice()`.
    pub(super) fn from_wire_bytes<E>(
        name: &[u8],
        slice: impl FnOnce() -> Result<ByteStr, E>,
    ) -> Result<HeaderName, E> {
        match known(name) {
            Some(known) => Ok(known),
            None => slice().map(HeaderName::Other),
        }
    }

    /// The canonical long form, as printed.
    pub fn as_str(&self) -> &str {
        match self {
            HeaderName::Accept => "Accept",
            HeaderName::Allow => "Allow",
            HeaderName::Authorization => "Authorization",
            HeaderName::CallId => "Call-ID",
            HeaderName::Contact => "Contact",
            HeaderName::ContentEncoding => "Content-Encoding",
            HeaderName::ContentLength => "Content-Length",
            HeaderName::ContentType => "Content-Type",
            HeaderName::CSeq => "CSeq",
            HeaderName::Date => "Date",
            HeaderName::Event => "Event",
            HeaderName::Expires => "Expires",
            HeaderName::From => "From",
            HeaderName::MaxForwards => "Max-Forwards",
            HeaderName::MinExpires => "Min-Expires",
            HeaderName::ProxyAuthenticate => "Proxy-Authenticate",
            HeaderName::ProxyAuthorization => "Proxy-Authorization",
            HeaderName::ProxyRequire => "Proxy-Require",
            HeaderName::RecordRoute => "Record-Route",
            HeaderName::ReferTo => "Refer-To",
            HeaderName::Require => "Require",
            HeaderName::RetryAfter => "Retry-After",
            HeaderName::Route => "Route",
            HeaderName::Server => "Server",
            HeaderName::Subject => "Subject",
            HeaderName::Supported => "Supported",
            HeaderName::To => "To",
            HeaderName::Unsupported => "Unsupported",
            HeaderName::UserAgent => "User-Agent",
            HeaderName::Via => "Via",
            HeaderName::Warning => "Warning",
            HeaderName::WwwAuthenticate => "WWW-Authenticate",
            HeaderName::Other(name) => name.as_str(),
        }
    }
}

/// The variant for a well-known name or compact form, `None` for anything else.
fn known(name: &[u8]) -> Option<HeaderName> {
    if let [c] = name {
        // RFC 3261 §7.3.3 and the registry of compact forms (RFC 3265, 3515, 3892, 4028).
        return Some(match c.to_ascii_lowercase() {
            b'v' => HeaderName::Via,
            b'f' => HeaderName::From,
            b't' => HeaderName::To,
            b'i' => HeaderName::CallId,
            b'm' => HeaderName::Contact,
            b'l' => HeaderName::ContentLength,
            b'c' => HeaderName::ContentType,
            b'k' => HeaderName::Supported,
            b's' => HeaderName::Subject,
            b'e' => HeaderName::ContentEncoding,
            b'o' => HeaderName::Event,
            b'r' => HeaderName::ReferTo,
            // No variant of their own: kept under their long names.
            b'u' => HeaderName::Other(ByteStr::from_static("Allow-Events")),
            b'x' => HeaderName::Other(ByteStr::from_static("Session-Expires")),
            b'b' => HeaderName::Other(ByteStr::from_static("Referred-By")),
            _ => return None,
        });
    }
    // Dispatch on the first letter, then compare whole names (the length first).
    let is = |canonical: &str| name.eq_ignore_ascii_case(canonical.as_bytes());
    let pick = |candidates: &[(&str, HeaderName)]| {
        candidates
            .iter()
            .find(|(canonical, _)| is(canonical))
            .map(|(_, h)| h.clone())
    };
    match name.first()?.to_ascii_lowercase() {
        b'v' if is("via") => Some(HeaderName::Via),
        b'f' if is("from") => Some(HeaderName::From),
        b't' if is("to") => Some(HeaderName::To),
        b'c' => pick(&[
            ("call-id", HeaderName::CallId),
            ("cseq", HeaderName::CSeq),
            ("contact", HeaderName::Contact),
            ("content-length", HeaderName::ContentLength),
            ("content-type", HeaderName::ContentType),
            ("content-encoding", HeaderName::ContentEncoding),
        ]),
        b'm' => pick(&[
            ("max-forwards", HeaderName::MaxForwards),
            ("min-expires", HeaderName::MinExpires),
        ]),
        b'e' => pick(&[
            ("expires", HeaderName::Expires),
            ("event", HeaderName::Event),
        ]),
        b'r' => pick(&[
            ("route", HeaderName::Route),
            ("record-route", HeaderName::RecordRoute),
            ("refer-to", HeaderName::ReferTo),
            ("require", HeaderName::Require),
            ("retry-after", HeaderName::RetryAfter),
        ]),
        b'a' => pick(&[
            ("authorization", HeaderName::Authorization),
            ("accept", HeaderName::Accept),
            ("allow", HeaderName::Allow),
        ]),
        b'p' => pick(&[
            ("proxy-authenticate", HeaderName::ProxyAuthenticate),
            ("proxy-authorization", HeaderName::ProxyAuthorization),
            ("proxy-require", HeaderName::ProxyRequire),
        ]),
        b'w' => pick(&[
            ("www-authenticate", HeaderName::WwwAuthenticate),
            ("warning", HeaderName::Warning),
        ]),
        b'd' if is("date") => Some(HeaderName::Date),
        b's' => pick(&[
            ("supported", HeaderName::Supported),
            ("server", HeaderName::Server),
            ("subject", HeaderName::Subject),
        ]),
        b'u' => pick(&[
            ("user-agent", HeaderName::UserAgent),
            ("unsupported", HeaderName::Unsupported),
        ]),
        _ => None,
    }
}

impl PartialEq for HeaderName {
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (HeaderName::Other(a), HeaderName::Other(b)) => {
                a.as_bytes().eq_ignore_ascii_case(b.as_bytes())
            }
            // A hand-made `Other("via")` still equals `Via`.
            (HeaderName::Other(a), known) | (known, HeaderName::Other(a)) => {
                a.as_bytes().eq_ignore_ascii_case(known.as_str().as_bytes())
            }
            _ => std::mem::discriminant(self) == std::mem::discriminant(other),
        }
    }
}
impl Eq for HeaderName {}

impl std::fmt::Display for HeaderName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One header field: name and value (continuation lines already unfolded, leading
/// and trailing whitespace trimmed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    pub name: HeaderName,
    pub value: ByteStr,
}

/// The header fields of a message, in wire order. A comma-separated header line
/// (e.g. `Via: a, b`) is one [`Header`]; typed accessors split it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Headers(Vec<Header>);

impl Headers {
    pub fn new() -> Self {
        Self(Vec::new())
    }
    pub(super) fn from_vec(headers: Vec<Header>) -> Self {
        Self(headers)
    }
    /// The first value of `name`.
    pub fn get(&self, name: &HeaderName) -> Option<&ByteStr> {
        self.0.iter().find(|h| &h.name == name).map(|h| &h.value)
    }
    /// Every value of `name`, in order.
    pub fn get_all<'a>(&'a self, name: &'a HeaderName) -> impl Iterator<Item = &'a ByteStr> + 'a {
        self.0
            .iter()
            .filter(move |h| &h.name == name)
            .map(|h| &h.value)
    }
    /// Appends a header.
    pub fn push(&mut self, name: HeaderName, value: impl Into<ByteStr>) {
        self.0.push(Header {
            name,
            value: value.into(),
        });
    }
    /// Inserts a header before all others (e.g. a new top Via).
    pub fn push_front(&mut self, name: HeaderName, value: impl Into<ByteStr>) {
        self.0.insert(
            0,
            Header {
                name,
                value: value.into(),
            },
        );
    }
    /// Replaces every value of `name` with one value (appended if absent).
    pub fn set(&mut self, name: HeaderName, value: impl Into<ByteStr>) {
        let value = value.into();
        if let Some(pos) = self.0.iter().position(|h| h.name == name) {
            self.0[pos].value = value;
            let mut i = 0;
            self.0.retain(|h| {
                let keep = i <= pos || h.name != name;
                i += 1;
                keep
            });
        } else {
            self.push(name, value);
        }
    }
    /// Removes every value of `name`.
    pub fn remove(&mut self, name: &HeaderName) {
        self.0.retain(|h| &h.name != name);
    }
    pub fn iter(&self) -> std::slice::Iter<'_, Header> {
        self.0.iter()
    }
    pub fn len(&self) -> usize {
        self.0.len()
    }
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}
