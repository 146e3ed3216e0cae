use bytes::Bytes;

/// A slice of a message buffer known to be valid UTF-8; cheap to clone.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct ByteStr(Bytes);

impl ByteStr {
    /// Wraps bytes after checking they are UTF-8.
    pub fn from_utf8(bytes: Bytes) -> Result<Self, std::str::Utf8Error> {
        std::str::from_utf8(&bytes)?;
        Ok(Self(bytes))
    }

    /// A `ByteStr` of a static string (no allocation).
    pub const fn from_static(s: &'static str) -> Self {
        Self(Bytes::from_static(s.as_bytes()))
    }

    pub fn as_str(&self) -> &str {
        // The constructors only admit UTF-8.
        std::str::from_utf8(&self.0).expect("ByteStr holds UTF-8 by construction")
    }

    pub fn as_bytes(&self) -> &Bytes {
        &self.0
    }

    /// The bytes `start..end` of `self`, sharing the buffer. `None` unless both ends
    /// fall on character boundaries (then the slice is UTF-8 too, in O(1)).
    pub fn slice(&self, start: usize, end: usize) -> Option<ByteStr> {
        sub(&self.0, self.as_str(), 0, start, end)
    }

    /// `self[start..end]` sharing the buffer, checked in O(1): `self` is UTF-8, so a
    /// slice between two character boundaries is too. `None` when out of range or
    /// not on boundaries.
    pub(super) fn sub(&self, start: usize, end: usize) -> Option<ByteStr> {
        let b: &[u8] = &self.0;
        let boundary = |i: usize| i == b.len() || (i < b.len() && (b[i] as i8) >= -0x40);
        if start > end || !boundary(start) || !boundary(end) {
            return None;
        }
        Some(ByteStr(self.0.slice(start..end)))
    }

    /// Wraps bytes the caller has proven to be UTF-8 (a slice between character
    /// boundaries of a validated buffer, see [`sub`]).
    pub(super) fn from_utf8_unchecked(bytes: Bytes) -> Self {
        debug_assert!(std::str::from_utf8(&bytes).is_ok());
        Self(bytes)
    }
}

/// `buf[off + start..off + end]` as a [`ByteStr`], where `text` is `buf[off..]` (or a
/// prefix of it) already validated as UTF-8. Checking that both ends are character
/// boundaries of `text` is O(1) and makes the slice valid UTF-8 without rescanning.
pub(super) fn sub(
    buf: &Bytes,
    text: &str,
    off: usize,
    start: usize,
    end: usize,
) -> Option<ByteStr> {
    text.get(start..end)?;
    Some(ByteStr::from_utf8_unchecked(
        buf.slice(off + start..off + end),
    ))
}

impl std::ops::Deref for ByteStr {
    type Target = str;
    fn deref(&self) -> &str {
        self.as_str()
    }
}

impl From<&str> for ByteStr {
    fn from(s: &str) -> Self {
        Self(Bytes::copy_from_slice(s.as_bytes()))
    }
}

impl From<String> for ByteStr {
    fn from(s: String) -> Self {
        Self(Bytes::from(s))
    }
}

impl std::fmt::Debug for ByteStr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Debug::fmt(self.as_str(), f)
    }
}

impl std::fmt::Display for ByteStr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}
