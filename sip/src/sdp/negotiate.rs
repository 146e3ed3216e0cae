//! RFC 3264 offer/answer for the hotline's single G.711 audio stream with RFC 4733
//! DTMF. See the module overview in `mod.rs` for the choices made.

use std::net::{IpAddr, SocketAddr};

use super::parse::payload_type;
use super::{
    Address, Attribute, Connection, Direction, Fmtp, MediaDescription, MediaType, Origin, Proto,
    RtpMap, SessionDescription, Timing,
};

/// The RFC 4733 encoding name for DTMF events (compared case-insensitively).
pub const TELEPHONE_EVENT: &str = "telephone-event";

/// G.711 is sent in 20 ms packets unless the peer asks otherwise (RFC 3551 §4.5:
/// the default packetization of frame- and sample-based audio).
const DEFAULT_PTIME_MS: u32 = 20;
/// The payload type nearly every SIP phone uses for `telephone-event`.
const PREFERRED_DTMF_PT: u8 = 101;
/// The events we receive: the sixteen DTMF tones (RFC 4733 §3.2, §2.4.1).
const DTMF_EVENTS: &str = "0-15";

/// An audio encoding the hotline's media path handles.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Encoding {
    /// G.711 µ-law.
    Pcmu,
    /// G.711 A-law.
    Pcma,
}

impl Encoding {
    /// Both are 8000 Hz, one channel (RFC 3551 §4.5.14).
    pub const CLOCK_RATE: u32 = 8000;

    /// The `rtpmap` encoding name.
    pub fn name(self) -> &'static str {
        match self {
            Encoding::Pcmu => "PCMU",
            Encoding::Pcma => "PCMA",
        }
    }

    /// The static payload type of RFC 3551 §6 (table 4).
    pub fn static_payload_type(self) -> u8 {
        match self {
            Encoding::Pcmu => 0,
            Encoding::Pcma => 8,
        }
    }

    fn from_static(payload_type: u8) -> Option<Self> {
        match payload_type {
            0 => Some(Encoding::Pcmu),
            8 => Some(Encoding::Pcma),
            _ => None,
        }
    }

    /// The encoding an `rtpmap` names, if it is one of ours at 8000 Hz, mono.
    fn from_rtpmap(map: &RtpMap) -> Option<Self> {
        let mono = map.params.as_deref().is_none_or(|p| p == "1");
        if map.clock_rate != Self::CLOCK_RATE || !mono {
            return None;
        }
        [Encoding::Pcmu, Encoding::Pcma]
            .into_iter()
            .find(|e| map.encoding.eq_ignore_ascii_case(e.name()))
    }
}

/// A codec: an encoding and the payload type it travels under.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Codec {
    pub payload_type: u8,
    pub encoding: Encoding,
}

impl Codec {
    /// PCMU at its static payload type 0.
    pub const PCMU: Codec = Codec {
        payload_type: 0,
        encoding: Encoding::Pcmu,
    };
    /// PCMA at its static payload type 8.
    pub const PCMA: Codec = Codec {
        payload_type: 8,
        encoding: Encoding::Pcma,
    };

    fn rtpmap(self) -> Attribute {
        Attribute::Rtpmap(RtpMap {
            payload_type: self.payload_type,
            encoding: self.encoding.name().to_owned(),
            clock_rate: Encoding::CLOCK_RATE,
            params: None,
        })
    }
}

/// What our media path supports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MediaCaps {
    /// Codecs in our order of preference. Used as listed (payload types included)
    /// in our offers; when answering, only the encodings count and the offer's
    /// order wins.
    pub codecs: Vec<Codec>,
    /// Whether to negotiate RFC 4733 `telephone-event/8000`.
    pub dtmf: bool,
    /// The packet time we ask for (`a=ptime`); 0 leaves the attribute out.
    pub ptime_ms: u32,
}

impl Default for MediaCaps {
    /// PCMA before PCMU (A-law is the G.711 law of the Chinese and European
    /// networks the calls come from), DTMF on, 20 ms.
    fn default() -> Self {
        MediaCaps {
            codecs: vec![Codec::PCMA, Codec::PCMU],
            dtmf: true,
            ptime_ms: 20,
        }
    }
}

impl MediaCaps {
    fn supports(&self, encoding: Encoding) -> bool {
        self.codecs.iter().any(|c| c.encoding == encoding)
    }

    fn ptime_or_default(&self) -> u32 {
        if self.ptime_ms > 0 {
            self.ptime_ms
        } else {
            DEFAULT_PTIME_MS
        }
    }
}

/// Our side of a description: where we receive RTP and what goes into `o=`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LocalMedia<'a> {
    /// Put in `c=` (and `o=`).
    pub addr: IpAddr,
    /// Put in `m=`; RTCP is expected on the next port (RFC 3550 §11).
    pub rtp_port: u16,
    pub session_id: u64,
    /// Must grow with each changed description of the session (RFC 3264 §8); see
    /// [`LocalSession`].
    pub session_version: u64,
    /// The `o=` user name; `-` is used when it is empty or contains blanks.
    pub username: &'a str,
}

/// The `o=` identity of our side of one session: a fixed id and a version that
/// grows by one for each description we send (RFC 3264 §8: "incremented by one"
/// for every change; re-sending an unchanged description would also be allowed to
/// keep it, but always bumping is simpler and harmless).
///
/// Use one per call leg for every offer and answer we send on it, including the
/// re-INVITEs for hold (`sendonly`) and resume (`sendrecv`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalSession {
    id: u64,
    version: u64,
}

impl LocalSession {
    /// `id` and `first_version` are typically random or NTP-time values (RFC 4566
    /// §5.2); keep `first_version` far from `u64::MAX` so that it can grow.
    pub fn new(id: u64, first_version: u64) -> Self {
        LocalSession {
            id,
            version: first_version,
        }
    }

    pub fn id(&self) -> u64 {
        self.id
    }

    /// The version the next description will carry.
    pub fn version(&self) -> u64 {
        self.version
    }

    /// Our side for the next description: the current version, which is then
    /// bumped for the one after.
    pub fn next_media<'a>(
        &mut self,
        addr: IpAddr,
        rtp_port: u16,
        username: &'a str,
    ) -> LocalMedia<'a> {
        let media = LocalMedia {
            addr,
            rtp_port,
            session_id: self.id,
            session_version: self.version,
            username,
        };
        self.version = self.version.saturating_add(1);
        media
    }
}

/// The outcome of an offer/answer exchange for the audio stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Negotiated {
    /// The codec, at the payload type of the answer (which RFC 3264 §6.1 keeps equal
    /// to the offer's for a `sendrecv` stream).
    pub codec: Codec,
    /// The `telephone-event/8000` payload type, if both sides do RFC 4733.
    pub telephone_event: Option<u8>,
    /// Where to send RTP: the peer's `c=` address and `m=` port. The address is
    /// `0.0.0.0` when the peer put us on hold RFC 2543 style; check
    /// [`Negotiated::local_direction`] before sending.
    pub remote_rtp: SocketAddr,
    /// Where to send RTCP: `a=rtcp` (RFC 3605), else the RTP port + 1 (RFC 3550
    /// §11); `None` if the RTP port is 65535 and there is no `a=rtcp`.
    pub remote_rtcp: Option<SocketAddr>,
    /// The peer's direction as it stated it, with `c=0.0.0.0` counted as "does not
    /// receive" (RFC 3264 §8.4).
    pub remote_direction: Direction,
    /// Our direction: whether our media path may send and should expect to receive.
    pub local_direction: Direction,
    /// The packet time to send with: the peer's `a=ptime` (what it wants to receive,
    /// RFC 4566 §6), else ours, else 20 ms.
    pub ptime_ms: u32,
    /// The index of the audio m-line in both descriptions.
    pub media_index: usize,
    /// The answer: the one we built ([`answer`]) or the peer's ([`accept_answer`]).
    pub answer: SessionDescription,
}

impl Negotiated {
    /// Whether the peer has put us on hold: it does not want to receive media
    /// (`sendonly`, `inactive`, or `c=0.0.0.0`; RFC 3264 §8.4).
    pub fn is_hold(&self) -> bool {
        !self.remote_direction.receives()
    }
}

/// Why an offer or answer could not be used. The UAS answers an offer it cannot
/// use with 488 Not Acceptable Here (RFC 3261 §13.3.1.3); a bad answer to our offer
/// ends the call (ACK, then BYE).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum NegotiationError {
    /// No audio stream with a non-zero port.
    #[error("no audio stream offered")]
    NoAudio,
    /// Audio only over a transport we do not speak (SRTP, AVPF, ...).
    #[error("audio offered only over {proto}, which is not supported")]
    UnsupportedTransport { proto: String },
    /// Audio over RTP/AVP, but no codec we support.
    #[error("no codec in common")]
    NoCommonCodec,
    /// The audio stream has no `c=` line at media or session level.
    #[error("m-line {media} (from 0) has no c= line at media or session level")]
    MissingConnection { media: usize },
    /// The audio stream's `c=` is a host name, which we do not resolve.
    #[error("m-line {media} (from 0) has a host name in c=, not an IP address")]
    HostAddress { media: usize },
    /// The answer does not have one m-line per offered m-line (RFC 3264 §6).
    #[error("answer has {answered} m-lines for {offered} offered")]
    MediaCountMismatch { offered: usize, answered: usize },
    /// The answer rejected (port 0) every audio stream we offered.
    #[error("answer rejected the audio stream")]
    Rejected,
    /// The answer changed the media type or transport of the audio m-line.
    #[error("m-line {media} (from 0) of the answer changes its media type or transport")]
    AnswerMismatch { media: usize },
    /// The answer uses a format we did not offer (RFC 3264 §6.1).
    #[error("answer uses format {format}, which was not offered")]
    NotOffered { format: String },
}

/// Answers `offer` with our normal policy: `sendrecv` unless the offer says
/// otherwise. See [`answer_with`].
pub fn answer(
    offer: &SessionDescription,
    caps: &MediaCaps,
    local: LocalMedia<'_>,
) -> Result<Negotiated, NegotiationError> {
    answer_with(offer, caps, local, Direction::SendRecv)
}

/// Answers `offer` (RFC 3264 §6):
///
/// - the first audio `RTP/AVP` stream with a non-zero port and a codec in common
///   is accepted; every other m-line — video, T.38, SRTP, a second audio stream —
///   is answered with port 0, so the answer has the offer's m-lines in its order;
/// - the codec is the first of the offer's formats that `caps` supports (§6.1
///   leaves the choice to the answerer; the offer's order is the offerer's
///   preference, RFC 3264 §5.1), identified by `rtpmap` or, without one, by its
///   static payload type; the answer lists only it;
/// - `telephone-event/8000` is added at the offerer's payload type (§6.1: the
///   answer keeps the offer's numbers) when it is offered and `caps.dtmf` is on;
/// - the direction is the offer's reversed (§6.1: `sendonly` → `recvonly`, ...),
///   limited by `policy` (e.g. `sendonly` while we hold the caller); `c=0.0.0.0`
///   counts as an offerer that does not receive (§8.4);
/// - `t=` is copied from the offer (§6).
pub fn answer_with(
    offer: &SessionDescription,
    caps: &MediaCaps,
    local: LocalMedia<'_>,
    policy: Direction,
) -> Result<Negotiated, NegotiationError> {
    let mut unsupported: Option<&Proto> = None;
    let mut saw_rtp_audio = false;
    let mut accepted = None;
    for (index, m) in offer.media.iter().enumerate() {
        if m.port == 0 || m.media != MediaType::Audio {
            continue;
        }
        if m.proto != Proto::RtpAvp {
            unsupported.get_or_insert(&m.proto);
            continue;
        }
        saw_rtp_audio = true;
        if let Some(choice) = choose(m, caps) {
            accepted = Some((index, m, choice));
            break;
        }
    }
    let Some((index, offered, (codec, telephone_event))) = accepted else {
        return Err(if saw_rtp_audio {
            NegotiationError::NoCommonCodec
        } else if let Some(proto) = unsupported {
            NegotiationError::UnsupportedTransport {
                proto: proto.as_str().to_owned(),
            }
        } else {
            NegotiationError::NoAudio
        });
    };

    let remote_ip = remote_ip(offer, offered, index)?;
    let remote_direction = peer_direction(offer, offered, remote_ip);
    let local_direction = remote_direction.reverse().intersect(policy);

    let media = offer
        .media
        .iter()
        .enumerate()
        .map(|(i, m)| {
            if i == index {
                audio_media(
                    local.rtp_port,
                    &[codec],
                    telephone_event,
                    caps.ptime_ms,
                    local_direction,
                )
            } else {
                MediaDescription::new(m.media.clone(), 0, m.proto.clone(), m.formats.clone())
            }
        })
        .collect();
    let mut answer = session(local, media);
    if !offer.timing.is_empty() {
        answer.timing = offer.timing.clone();
    }

    Ok(Negotiated {
        codec,
        telephone_event,
        remote_rtp: SocketAddr::new(remote_ip, offered.port),
        remote_rtcp: remote_rtcp(offered, remote_ip),
        remote_direction,
        local_direction,
        ptime_ms: offered
            .ptime()
            .filter(|p| *p > 0)
            .unwrap_or(caps.ptime_or_default()),
        media_index: index,
        answer,
    })
}

/// Builds our offer: one audio `RTP/AVP` stream with `caps.codecs` in order (each
/// with an `rtpmap`, as RFC 3264 §5.1 recommends even for static types), then
/// `telephone-event/8000` at payload type 101 (or the first free dynamic one), the
/// packet time and `direction` — `sendonly` to put the peer on hold, `sendrecv` to
/// resume (RFC 3264 §8.4). Codecs with a payload type above 127 or a repeated one
/// are left out; `caps.codecs` should not be empty.
pub fn offer(caps: &MediaCaps, local: LocalMedia<'_>, direction: Direction) -> SessionDescription {
    let mut codecs: Vec<Codec> = Vec::with_capacity(caps.codecs.len());
    for c in &caps.codecs {
        if c.payload_type <= 127 && codecs.iter().all(|k| k.payload_type != c.payload_type) {
            codecs.push(*c);
        }
    }
    let telephone_event = if caps.dtmf {
        let free = |pt: &u8| codecs.iter().all(|c| c.payload_type != *pt);
        std::iter::once(PREFERRED_DTMF_PT)
            .chain(96..=127)
            .find(free)
    } else {
        None
    };
    let media = audio_media(
        local.rtp_port,
        &codecs,
        telephone_event,
        caps.ptime_ms,
        direction,
    );
    session(local, vec![media])
}

/// Checks the answer to `our_offer` (RFC 3264 §6, §7) and reads the outcome.
///
/// The audio stream is the first audio `RTP/AVP` m-line we offered with a
/// non-zero port that the answer accepted. Every format of its answer must be one
/// we offered (§6.1): a PCMU/PCMA encoding we listed (matched by name, so a
/// renumbered payload type is tolerated), `telephone-event/8000` if we offered it,
/// or another of our payload types with an unchanged meaning (ignored). The first
/// PCMU/PCMA codec the answer lists is the one to send.
pub fn accept_answer(
    our_offer: &SessionDescription,
    answer: &SessionDescription,
) -> Result<Negotiated, NegotiationError> {
    if answer.media.len() != our_offer.media.len() {
        return Err(NegotiationError::MediaCountMismatch {
            offered: our_offer.media.len(),
            answered: answer.media.len(),
        });
    }
    let mut offered_audio = false;
    let mut found = None;
    for (index, (ours, theirs)) in our_offer.media.iter().zip(&answer.media).enumerate() {
        if ours.port == 0 || ours.media != MediaType::Audio || ours.proto != Proto::RtpAvp {
            continue;
        }
        offered_audio = true;
        if theirs.port != 0 {
            found = Some((index, ours, theirs));
            break;
        }
    }
    let Some((index, ours, theirs)) = found else {
        return Err(if offered_audio {
            NegotiationError::Rejected
        } else {
            NegotiationError::NoAudio
        });
    };
    if theirs.media != ours.media || theirs.proto != ours.proto {
        return Err(NegotiationError::AnswerMismatch { media: index });
    }

    let offered_dtmf = telephone_event_of(ours).is_some();
    let mut codec = None;
    let mut telephone_event = None;
    for format in &theirs.formats {
        let not_offered = || NegotiationError::NotOffered {
            format: format.clone(),
        };
        let pt = payload_type(format).ok_or_else(not_offered)?;
        // The answer should map its dynamic types itself, but it keeps our numbers
        // (§6.1), so ours name them when it does not.
        let map = theirs.rtpmap(pt).or_else(|| ours.rtpmap(pt));
        let encoding = match map {
            Some(map) => Encoding::from_rtpmap(map),
            None => Encoding::from_static(pt),
        };
        match encoding {
            Some(e) if offers(ours, e) => {
                codec.get_or_insert(Codec {
                    payload_type: pt,
                    encoding: e,
                });
            }
            None if offered_dtmf && map.is_some_and(is_telephone_event) => {
                telephone_event.get_or_insert(pt);
            }
            // Something we offered but cannot use ourselves (only possible with an
            // offer not built by `offer`): allowed in the answer, and ignored.
            None if offered_as(ours, theirs, pt) => {}
            _ => return Err(not_offered()),
        }
    }
    let codec = codec.ok_or(NegotiationError::NoCommonCodec)?;

    let remote_ip = remote_ip(answer, theirs, index)?;
    let remote_direction = peer_direction(answer, theirs, remote_ip);
    let local_direction = our_offer
        .direction_of(ours)
        .intersect(remote_direction.reverse());
    let ptime_ms = theirs
        .ptime()
        .filter(|p| *p > 0)
        .or(ours.ptime().filter(|p| *p > 0))
        .unwrap_or(DEFAULT_PTIME_MS);

    Ok(Negotiated {
        codec,
        telephone_event,
        remote_rtp: SocketAddr::new(remote_ip, theirs.port),
        remote_rtcp: remote_rtcp(theirs, remote_ip),
        remote_direction,
        local_direction,
        ptime_ms,
        media_index: index,
        answer: answer.clone(),
    })
}

/// The codec and DTMF payload type to answer `m` with, if a codec is in common.
fn choose(m: &MediaDescription, caps: &MediaCaps) -> Option<(Codec, Option<u8>)> {
    let codec = m.payload_types().find_map(|pt| {
        encoding_of(m, pt)
            .filter(|e| caps.supports(*e))
            .map(|encoding| Codec {
                payload_type: pt,
                encoding,
            })
    })?;
    let telephone_event = if caps.dtmf {
        telephone_event_of(m)
    } else {
        None
    };
    Some((codec, telephone_event))
}

/// The encoding of payload type `pt` in `m`: its `rtpmap`, else the static table.
fn encoding_of(m: &MediaDescription, pt: u8) -> Option<Encoding> {
    match m.rtpmap(pt) {
        Some(map) => Encoding::from_rtpmap(map),
        None => Encoding::from_static(pt),
    }
}

/// Whether `pt` of the answer is a payload type of our offer with the same meaning.
fn offered_as(ours: &MediaDescription, theirs: &MediaDescription, pt: u8) -> bool {
    ours.payload_types().any(|p| p == pt)
        && match (theirs.rtpmap(pt), ours.rtpmap(pt)) {
            (Some(t), Some(o)) => {
                t.encoding.eq_ignore_ascii_case(&o.encoding) && t.clock_rate == o.clock_rate
            }
            _ => true,
        }
}

fn offers(m: &MediaDescription, encoding: Encoding) -> bool {
    m.payload_types()
        .any(|pt| encoding_of(m, pt) == Some(encoding))
}

/// `telephone-event` at 8000 Hz: the rate must match the G.711 stream (RFC 4733
/// §2.5.1.1), so the 16 and 48 kHz ones that wide-band phones also offer are skipped.
fn is_telephone_event(map: &RtpMap) -> bool {
    map.encoding.eq_ignore_ascii_case(TELEPHONE_EVENT) && map.clock_rate == Encoding::CLOCK_RATE
}

/// The first `telephone-event/8000` payload type offered in `m`.
fn telephone_event_of(m: &MediaDescription) -> Option<u8> {
    m.payload_types()
        .find(|pt| m.rtpmap(*pt).is_some_and(is_telephone_event))
}

fn remote_ip(
    sd: &SessionDescription,
    m: &MediaDescription,
    index: usize,
) -> Result<IpAddr, NegotiationError> {
    match sd.connection_of(m).map(|c| &c.address) {
        None => Err(NegotiationError::MissingConnection { media: index }),
        Some(Address::Host { .. }) => Err(NegotiationError::HostAddress { media: index }),
        Some(Address::Ip(ip)) => Ok(*ip),
    }
}

/// The direction the peer stated for `m`; an unspecified `c=` address is the RFC
/// 2543 way of saying "do not send to me" (RFC 3264 §8.4).
fn peer_direction(sd: &SessionDescription, m: &MediaDescription, ip: IpAddr) -> Direction {
    let stated = sd.direction_of(m);
    if ip.is_unspecified() {
        stated.intersect(Direction::SendOnly)
    } else {
        stated
    }
}

fn remote_rtcp(m: &MediaDescription, rtp_ip: IpAddr) -> Option<SocketAddr> {
    match m.rtcp() {
        // A host name in a=rtcp cannot be used; RTCP then goes to the RTP address.
        Some(rtcp) => {
            let ip = rtcp
                .address
                .as_ref()
                .and_then(Address::ip)
                .unwrap_or(rtp_ip);
            Some(SocketAddr::new(ip, rtcp.port))
        }
        None => m
            .port
            .checked_add(1)
            .map(|port| SocketAddr::new(rtp_ip, port)),
    }
}

/// Our audio m-line: the codecs, DTMF with its events, ptime and direction.
fn audio_media(
    port: u16,
    codecs: &[Codec],
    telephone_event: Option<u8>,
    ptime_ms: u32,
    direction: Direction,
) -> MediaDescription {
    let mut formats: Vec<String> = codecs.iter().map(|c| c.payload_type.to_string()).collect();
    let mut attributes: Vec<Attribute> = codecs.iter().map(|c| c.rtpmap()).collect();
    if let Some(pt) = telephone_event {
        formats.push(pt.to_string());
        attributes.push(Attribute::Rtpmap(RtpMap {
            payload_type: pt,
            encoding: TELEPHONE_EVENT.to_owned(),
            clock_rate: Encoding::CLOCK_RATE,
            params: None,
        }));
        attributes.push(Attribute::Fmtp(Fmtp {
            format: pt.to_string(),
            params: DTMF_EVENTS.to_owned(),
        }));
    }
    if ptime_ms > 0 {
        attributes.push(Attribute::Ptime(ptime_ms));
    }
    attributes.push(Attribute::Direction(direction));
    let mut m = MediaDescription::new(MediaType::Audio, port, Proto::RtpAvp, formats);
    m.attributes = attributes;
    m
}

/// Our session-level lines around `media`: `o=` from `local`, `s=-`, `c=` at
/// session level, `t=0 0`.
fn session(local: LocalMedia<'_>, media: Vec<MediaDescription>) -> SessionDescription {
    let username = local.username;
    let username = if username.is_empty()
        || username.contains(|c: char| c.is_whitespace() || c.is_control())
    {
        "-"
    } else {
        username
    };
    let connection = Connection::ip(local.addr);
    SessionDescription {
        origin: Origin {
            username: username.to_owned(),
            session_id: local.session_id,
            session_version: local.session_version,
            net_type: "IN".to_owned(),
            addr_type: connection.address.addr_type().as_str().to_owned(),
            address: local.addr.to_string(),
        },
        session_name: "-".to_owned(),
        information: None,
        uri: None,
        emails: Vec::new(),
        phones: Vec::new(),
        connection: Some(connection),
        bandwidths: Vec::new(),
        timing: vec![Timing::default()],
        time_zones: None,
        key: None,
        attributes: Vec::new(),
        media,
    }
}
