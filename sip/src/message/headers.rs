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
        todo!("{name}")
    }

    /// The canonical long form, as printed.
    pub fn as_str(&self) -> &str {
        todo!()
    }
}

impl PartialEq for HeaderName {
    fn eq(&self, other: &Self) -> bool {
        self.as_str().eq_ignore_ascii_case(other.as_str())
    }
}
impl Eq for HeaderName {}

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
