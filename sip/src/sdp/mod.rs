//! SDP for the hotline's media negotiation: a parser and printer for RFC 4566 session
//! descriptions and the RFC 3264 offer/answer rules for the one thing the server
//! does with media — anchor a single G.711 audio stream (PCMU or PCMA at 8000 Hz)
//! plus RFC 4733 `telephone-event` for DTMF.
//!
//! Sans-IO like the rest of the crate: the dialog layer hands in the body of an
//! INVITE, 200 or ACK, and gets back typed values and the SDP to send. Nothing here
//! binds a socket or resolves a name.
//!
//! # Parsing and printing (RFC 4566)
//!
//! [`SessionDescription::parse`] reads the `v o s i u e p c b t r z k a` session
//! lines and the `m i c b k a` media lines (§5). It is lenient where real phones
//! are sloppy: LF or CRLF line ends, trailing blanks, blank lines, session lines out
//! of the §5 order, a missing `t=` (taken as `t=0 0`), an empty `s=`. It is strict
//! where a wrong guess would send audio to the wrong place: a bad port or address,
//! a broken `rtpmap`, `ptime` or `rtcp`, non-UTF-8 text, a type letter it does not
//! know (§5: such a description must be ignored as a whole) and a missing `v=`,
//! `o=`, `s=` or `m=`. Every error names its line ([`SdpError`]).
//!
//! Attributes the negotiation uses are typed ([`Attribute`]: `rtpmap`, `fmtp`,
//! `ptime`, the §6 direction flags and RFC 3605 `rtcp`); every other attribute is
//! kept verbatim and in order, and printed back. Printing ([`std::fmt::Display`])
//! writes the §5 order with CRLF line ends; printing then parsing gives back an
//! equal value (property-tested, and fuzzed by `fuzz/fuzz_targets/sdp.rs`).
//!
//! # Offer/answer (RFC 3264)
//!
//! - [`answer`] (and [`answer_with`] for a local direction policy) answers a
//!   caller's offer: one m-line per offered m-line, in the same order (§6); the
//!   first audio `RTP/AVP` stream with a codec in common is accepted with exactly
//!   one codec — the first of the *offer's* list that [`MediaCaps`] supports (§6.1
//!   lets the answerer choose; following the offerer's preference is what phones
//!   expect) — plus `telephone-event/8000` at the offerer's payload type when
//!   offered (§6.1, RFC 4733 §2.5.1.1); every other stream is rejected with port 0
//!   (§6). One codec only, so both directions use the same one and the recorder and
//!   bridge never see the codec change mid-call. A second audio stream is rejected:
//!   the hotline bridges one voice path per leg.
//! - [`offer`] builds our offer (agent leg, re-INVITE for hold and resume, §8.4)
//!   and [`accept_answer`] checks the answer to it (§6.1: it may only use what we
//!   offered). [`LocalSession`] keeps the `o=` version increasing (§8).
//!
//! Both give a [`Negotiated`]: the codec, the DTMF payload type, where to send RTP
//! and RTCP (RFC 3605, else port + 1 per RFC 3550 §11), the packet time, both
//! directions and [`Negotiated::is_hold`] (`sendonly`/`inactive`, or the RFC 2543
//! style `c=0.0.0.0` that §8.4 still asks answerers to understand).

mod negotiate;
mod parse;
mod print;
#[cfg(test)]
mod tests;

use std::net::IpAddr;

pub use negotiate::{
    accept_answer, answer, answer_with, offer, Codec, Encoding, LocalMedia, LocalSession,
    MediaCaps, Negotiated, NegotiationError, TELEPHONE_EVENT,
};
pub use parse::SdpError;

/// A session description (RFC 4566 §5). `v=` is always 0 and not stored.
///
/// Text fields must not contain CR, LF or NUL, and tokens (user name, addresses,
/// formats, attribute names) no blanks; the printer does not check, so a value built
/// in code that breaks this prints as something else. Parsed values always comply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionDescription {
    /// `o=`.
    pub origin: Origin,
    /// `s=`; may be empty (RFC 3264 §10 examples send `s=`).
    pub session_name: String,
    /// `i=` at session level.
    pub information: Option<String>,
    /// `u=`.
    pub uri: Option<String>,
    /// `e=` lines.
    pub emails: Vec<String>,
    /// `p=` lines.
    pub phones: Vec<String>,
    /// `c=` at session level: the default for media without their own.
    pub connection: Option<Connection>,
    /// `b=` at session level.
    pub bandwidths: Vec<Bandwidth>,
    /// `t=` lines with their `r=` lines; never empty after parsing.
    pub timing: Vec<Timing>,
    /// `z=`, verbatim.
    pub time_zones: Option<String>,
    /// `k=`, verbatim.
    pub key: Option<String>,
    /// Session-level `a=` lines, in order.
    pub attributes: Vec<Attribute>,
    /// `m=` sections, in order (never empty after parsing).
    pub media: Vec<MediaDescription>,
}

/// The `o=` line. Informational for us, so its address is kept as text (it is often
/// a host name or junk); only the two numbers are checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin {
    /// `-` when there is none.
    pub username: String,
    pub session_id: u64,
    /// Must increase with every changed description of the session (RFC 3264 §8).
    pub session_version: u64,
    /// `IN`.
    pub net_type: String,
    /// `IP4` or `IP6`.
    pub addr_type: String,
    pub address: String,
}

/// A `c=` line (RFC 4566 §5.7).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Connection {
    pub address: Address,
    /// IPv4 multicast TTL (`/ttl`); printed for IP4 only.
    pub ttl: Option<u8>,
    /// Multicast address count (`/n`); on IP4 printed only after a TTL.
    pub count: Option<u32>,
}

impl Connection {
    /// A plain unicast `c=IN IP4|IP6 <ip>`.
    pub fn ip(ip: IpAddr) -> Self {
        Connection {
            address: Address::Ip(ip),
            ttl: None,
            count: None,
        }
    }
}

/// The address of a `c=` line or an `a=rtcp` attribute.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Address {
    /// An IP literal; the address type follows from it.
    Ip(IpAddr),
    /// A fully qualified domain name (allowed by RFC 4566 §5.7, used by the RFC 3264
    /// examples). Negotiation cannot use it: resolving is the caller's business.
    Host { addr_type: AddrType, name: String },
}

impl Address {
    /// `IP4` or `IP6`.
    pub fn addr_type(&self) -> AddrType {
        match self {
            Address::Ip(IpAddr::V4(_)) => AddrType::Ip4,
            Address::Ip(IpAddr::V6(_)) => AddrType::Ip6,
            Address::Host { addr_type, .. } => *addr_type,
        }
    }

    /// The IP literal, if it is one.
    pub fn ip(&self) -> Option<IpAddr> {
        match self {
            Address::Ip(ip) => Some(*ip),
            Address::Host { .. } => None,
        }
    }
}

/// The `<addrtype>` of `c=` and `a=rtcp`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AddrType {
    Ip4,
    Ip6,
}

impl AddrType {
    pub fn as_str(self) -> &'static str {
        match self {
            AddrType::Ip4 => "IP4",
            AddrType::Ip6 => "IP6",
        }
    }
}

/// A `b=<bwtype>:<bandwidth>` line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bandwidth {
    /// `AS`, `CT`, `TIAS`, ...
    pub kind: String,
    pub value: u64,
}

/// A `t=` line and the `r=` lines after it (kept verbatim).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Timing {
    pub start: u64,
    pub stop: u64,
    pub repeats: Vec<String>,
}

/// An `m=` section (RFC 4566 §5.14) with its `i c b k a` lines.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MediaDescription {
    pub media: MediaType,
    /// 0 marks a rejected or disabled stream (RFC 3264 §6, §8.2).
    pub port: u16,
    /// `<port>/<number of ports>`.
    pub port_count: Option<u16>,
    pub proto: Proto,
    /// Payload type numbers for RTP, other tokens for other protocols.
    pub formats: Vec<String>,
    /// `i=`.
    pub title: Option<String>,
    /// `c=` at media level; overrides the session's.
    pub connection: Option<Connection>,
    pub bandwidths: Vec<Bandwidth>,
    /// `k=`, verbatim.
    pub key: Option<String>,
    /// Media-level `a=` lines, in order.
    pub attributes: Vec<Attribute>,
}

impl MediaDescription {
    /// An `m=` line with no other lines.
    pub fn new(media: MediaType, port: u16, proto: Proto, formats: Vec<String>) -> Self {
        MediaDescription {
            media,
            port,
            port_count: None,
            proto,
            formats,
            title: None,
            connection: None,
            bandwidths: Vec::new(),
            key: None,
            attributes: Vec::new(),
        }
    }

    /// The formats that are RTP payload type numbers (0–127), in order.
    pub fn payload_types(&self) -> impl Iterator<Item = u8> + '_ {
        self.formats.iter().filter_map(|f| parse::payload_type(f))
    }

    /// The first `a=rtpmap` for `payload_type`.
    pub fn rtpmap(&self, payload_type: u8) -> Option<&RtpMap> {
        self.attributes.iter().find_map(|a| match a {
            Attribute::Rtpmap(m) if m.payload_type == payload_type => Some(m),
            _ => None,
        })
    }

    /// The first `a=fmtp` for `format`.
    pub fn fmtp(&self, format: &str) -> Option<&Fmtp> {
        self.attributes.iter().find_map(|a| match a {
            Attribute::Fmtp(f) if f.format == format => Some(f),
            _ => None,
        })
    }

    /// `a=ptime` in milliseconds.
    pub fn ptime(&self) -> Option<u32> {
        self.attributes.iter().find_map(|a| match a {
            Attribute::Ptime(p) => Some(*p),
            _ => None,
        })
    }

    /// The media-level direction attribute, if any (see
    /// [`SessionDescription::direction_of`] for the effective one).
    pub fn direction(&self) -> Option<Direction> {
        direction_in(&self.attributes)
    }

    /// `a=rtcp` (RFC 3605).
    pub fn rtcp(&self) -> Option<&Rtcp> {
        self.attributes.iter().find_map(|a| match a {
            Attribute::Rtcp(r) => Some(r),
            _ => None,
        })
    }
}

impl SessionDescription {
    /// The session-level direction attribute, if any.
    pub fn direction(&self) -> Option<Direction> {
        direction_in(&self.attributes)
    }

    /// The direction of `media`: its own attribute, else the session's, else
    /// `sendrecv` (RFC 4566 §6, RFC 3264 §5.1).
    pub fn direction_of(&self, media: &MediaDescription) -> Direction {
        media
            .direction()
            .or_else(|| self.direction())
            .unwrap_or(Direction::SendRecv)
    }

    /// The `c=` that applies to `media`: its own, else the session's (RFC 4566 §5.7).
    pub fn connection_of<'a>(&'a self, media: &'a MediaDescription) -> Option<&'a Connection> {
        media.connection.as_ref().or(self.connection.as_ref())
    }
}

fn direction_in(attributes: &[Attribute]) -> Option<Direction> {
    attributes.iter().find_map(|a| match a {
        Attribute::Direction(d) => Some(*d),
        _ => None,
    })
}

/// The media type of an `m=` line.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum MediaType {
    Audio,
    Video,
    Text,
    Application,
    Message,
    /// T.38 fax.
    Image,
    /// Anything else, verbatim.
    Other(String),
}

impl MediaType {
    /// The type for a token (exact, as RFC 4566 registers them in lower case).
    pub fn from_token(token: &str) -> Self {
        match token {
            "audio" => MediaType::Audio,
            "video" => MediaType::Video,
            "text" => MediaType::Text,
            "application" => MediaType::Application,
            "message" => MediaType::Message,
            "image" => MediaType::Image,
            other => MediaType::Other(other.to_owned()),
        }
    }

    pub fn as_str(&self) -> &str {
        match self {
            MediaType::Audio => "audio",
            MediaType::Video => "video",
            MediaType::Text => "text",
            MediaType::Application => "application",
            MediaType::Message => "message",
            MediaType::Image => "image",
            MediaType::Other(s) => s,
        }
    }
}

/// The transport protocol of an `m=` line. Only `RTP/AVP` is negotiated; the
/// others are recognised so that they can be rejected by name.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Proto {
    /// `RTP/AVP` (RFC 3551).
    RtpAvp,
    /// `RTP/AVPF` (RFC 4585).
    RtpAvpf,
    /// `RTP/SAVP` (SRTP, RFC 3711).
    RtpSavp,
    /// `RTP/SAVPF` (RFC 5124).
    RtpSavpf,
    /// `UDP/TLS/RTP/SAVPF` (DTLS-SRTP, RFC 5764).
    UdpTlsRtpSavpf,
    /// Anything else (`udptl`, `TCP/MSRP`, ...), verbatim.
    Other(String),
}

impl Proto {
    /// The protocol for a token (exact: the registered names are case-sensitive).
    pub fn from_token(token: &str) -> Self {
        match token {
            "RTP/AVP" => Proto::RtpAvp,
            "RTP/AVPF" => Proto::RtpAvpf,
            "RTP/SAVP" => Proto::RtpSavp,
            "RTP/SAVPF" => Proto::RtpSavpf,
            "UDP/TLS/RTP/SAVPF" => Proto::UdpTlsRtpSavpf,
            other => Proto::Other(other.to_owned()),
        }
    }

    pub fn as_str(&self) -> &str {
        match self {
            Proto::RtpAvp => "RTP/AVP",
            Proto::RtpAvpf => "RTP/AVPF",
            Proto::RtpSavp => "RTP/SAVP",
            Proto::RtpSavpf => "RTP/SAVPF",
            Proto::UdpTlsRtpSavpf => "UDP/TLS/RTP/SAVPF",
            Proto::Other(s) => s,
        }
    }
}

/// An `a=` line. The ones negotiation reads are typed; the rest are [`Attribute::Other`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Attribute {
    /// `a=rtpmap` (RFC 4566 §6).
    Rtpmap(RtpMap),
    /// `a=fmtp` (RFC 4566 §6).
    Fmtp(Fmtp),
    /// `a=ptime:<ms>` (RFC 4566 §6).
    Ptime(u32),
    /// `a=sendrecv|sendonly|recvonly|inactive` (RFC 4566 §6, RFC 3264 §5.1).
    Direction(Direction),
    /// `a=rtcp` (RFC 3605).
    Rtcp(Rtcp),
    /// Any other attribute, verbatim: `a=<name>` or `a=<name>:<value>`.
    Other { name: String, value: Option<String> },
}

impl Attribute {
    /// A property attribute, `a=<name>`.
    pub fn flag(name: &str) -> Self {
        Attribute::Other {
            name: name.to_owned(),
            value: None,
        }
    }

    /// A value attribute, `a=<name>:<value>`.
    pub fn value(name: &str, value: &str) -> Self {
        Attribute::Other {
            name: name.to_owned(),
            value: Some(value.to_owned()),
        }
    }
}

/// `a=rtpmap:<payload type> <encoding name>/<clock rate>[/<encoding parameters>]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RtpMap {
    /// 0–127.
    pub payload_type: u8,
    /// Compared case-insensitively (RFC 4855 §3: media subtype names are).
    pub encoding: String,
    pub clock_rate: u32,
    /// The channel count for audio.
    pub params: Option<String>,
}

/// `a=fmtp:<format> <format specific parameters>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fmtp {
    pub format: String,
    pub params: String,
}

/// `a=rtcp:<port> [IN <addrtype> <address>]` (RFC 3605 §2.1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rtcp {
    pub port: u16,
    pub address: Option<Address>,
}

/// The direction of a stream, from the point of view of the SDP's author (RFC 3264
/// §5.1): `SendOnly` in an offer means "I will send and not receive".
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Direction {
    SendRecv,
    SendOnly,
    RecvOnly,
    Inactive,
}

impl Direction {
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::SendRecv => "sendrecv",
            Direction::SendOnly => "sendonly",
            Direction::RecvOnly => "recvonly",
            Direction::Inactive => "inactive",
        }
    }

    /// The direction for the attribute name, if it is one.
    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "sendrecv" => Some(Direction::SendRecv),
            "sendonly" => Some(Direction::SendOnly),
            "recvonly" => Some(Direction::RecvOnly),
            "inactive" => Some(Direction::Inactive),
            _ => None,
        }
    }

    fn from_flags(sends: bool, receives: bool) -> Self {
        match (sends, receives) {
            (true, true) => Direction::SendRecv,
            (true, false) => Direction::SendOnly,
            (false, true) => Direction::RecvOnly,
            (false, false) => Direction::Inactive,
        }
    }

    /// Whether the author sends media.
    pub fn sends(self) -> bool {
        matches!(self, Direction::SendRecv | Direction::SendOnly)
    }

    /// Whether the author receives media.
    pub fn receives(self) -> bool {
        matches!(self, Direction::SendRecv | Direction::RecvOnly)
    }

    /// The same stream seen from the other end: `sendonly` ↔ `recvonly`.
    pub fn reverse(self) -> Self {
        Direction::from_flags(self.receives(), self.sends())
    }

    /// Sends only if both allow sending, receives only if both allow receiving.
    pub fn intersect(self, other: Direction) -> Self {
        Direction::from_flags(
            self.sends() && other.sends(),
            self.receives() && other.receives(),
        )
    }
}
