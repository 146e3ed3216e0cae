//! RTCP recognition (RFC 3550 §6, RFC 5761 §4).
//!
//! The relay *tolerates* RTCP (DESIGN.md Telephony 4): packets on a leg's RTCP
//! port (or multiplexed onto its RTP port) are validated, counted and dropped.
//! They are not forwarded to the other leg: their sender and receiver reports
//! describe the stream between that phone and us (SSRCs, sequence numbers and
//! timestamps the other phone never saw, since we rewrite them), so passing them
//! on would feed the other phone's statistics with nonsense. Generating our own
//! reports is left out for now: RFC 3550 §6 says participants *should* send
//! RTCP, but the phones and trunks we serve do not hang up without it, and the
//! media timeout runs on RTP. A `BYE` is noted in the stats but does not end the
//! call: SIP does.

/// RTCP packet types (RFC 3550 §12.1; 205–207 from RFC 4585 and RFC 3611).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RtcpType {
    SenderReport,
    ReceiverReport,
    SourceDescription,
    Goodbye,
    App,
    /// Another type in the RFC 5761 range 192–223 (feedback, XR, ...).
    Other(u8),
}

impl RtcpType {
    fn from_octet(pt: u8) -> Option<RtcpType> {
        Some(match pt {
            200 => RtcpType::SenderReport,
            201 => RtcpType::ReceiverReport,
            202 => RtcpType::SourceDescription,
            203 => RtcpType::Goodbye,
            204 => RtcpType::App,
            192..=223 => RtcpType::Other(pt),
            _ => return None,
        })
    }
}

/// A recognised RTCP compound packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RtcpInfo {
    /// Type of the first packet (RFC 3550 §6.1: SR or RR in a well-formed
    /// compound; RFC 5506 reduced-size RTCP may start with another).
    pub first: RtcpType,
    /// The sender SSRC of the first packet (0 when it has none).
    pub ssrc: u32,
    /// Packets in the compound.
    pub packets: u8,
    /// A BYE is among them.
    pub has_bye: bool,
}

/// Why a datagram on an RTCP port is not RTCP.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum RtcpError {
    #[error("RTCP packet too short ({0} bytes)")]
    TooShort(usize),
    #[error("RTCP version {0}, expected 2")]
    Version(u8),
    #[error("packet type {0} is not RTCP (RFC 5761 range 192-223)")]
    NotRtcp(u8),
    #[error("RTCP length field runs past the datagram")]
    Length,
}

/// Walks a compound RTCP packet, checking every header (version, type range,
/// length inside the datagram). Never reads outside `buf`.
pub fn parse_rtcp(buf: &[u8]) -> Result<RtcpInfo, RtcpError> {
    if buf.len() < 4 {
        return Err(RtcpError::TooShort(buf.len()));
    }
    let mut info: Option<RtcpInfo> = None;
    let mut rest = buf;
    while !rest.is_empty() {
        let [b0, pt, l0, l1, ..] = *rest else {
            return Err(RtcpError::Length);
        };
        if b0 >> 6 != 2 {
            return Err(RtcpError::Version(b0 >> 6));
        }
        let kind = RtcpType::from_octet(pt).ok_or(RtcpError::NotRtcp(pt))?;
        // Length in 32-bit words minus one (RFC 3550 §6.4.1).
        let len = (usize::from(u16::from_be_bytes([l0, l1])) + 1) * 4;
        if len > rest.len() {
            return Err(RtcpError::Length);
        }
        let ssrc = match rest.get(4..8) {
            Some(&[a, b, c, d]) if len >= 8 => u32::from_be_bytes([a, b, c, d]),
            _ => 0,
        };
        match &mut info {
            None => {
                info = Some(RtcpInfo {
                    first: kind,
                    ssrc,
                    packets: 1,
                    has_bye: kind == RtcpType::Goodbye,
                })
            }
            Some(i) => {
                i.packets = i.packets.saturating_add(1);
                i.has_bye |= kind == RtcpType::Goodbye;
            }
        }
        rest = &rest[len..];
    }
    info.ok_or(RtcpError::TooShort(buf.len()))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An empty receiver report (RC = 0) from SSRC 0x11223344.
    const RR: [u8; 8] = [0x80, 201, 0, 1, 0x11, 0x22, 0x33, 0x44];

    #[test]
    fn the_five_rfc3550_types_are_named() {
        for (pt, t) in [
            (200, RtcpType::SenderReport),
            (201, RtcpType::ReceiverReport),
            (202, RtcpType::SourceDescription),
            (203, RtcpType::Goodbye),
            (204, RtcpType::App),
        ] {
            let p = [0x80, pt, 0, 1, 0, 0, 0, 7];
            let info = parse_rtcp(&p).expect("valid");
            assert_eq!(info.first, t);
            assert_eq!(info.ssrc, 7);
        }
        let p = [0x80, 206, 0, 1, 0, 0, 0, 7];
        assert_eq!(parse_rtcp(&p).expect("valid").first, RtcpType::Other(206));
    }

    #[test]
    fn a_compound_rr_sdes_bye_is_walked() {
        let mut p = RR.to_vec();
        // SDES with one chunk: SSRC + CNAME "ab" + end, padded to 12 bytes.
        p.extend_from_slice(&[0x81, 202, 0, 3, 0x11, 0x22, 0x33, 0x44, 1, 2, b'a', b'b']);
        p.extend_from_slice(&[0, 0, 0, 0]);
        p.extend_from_slice(&[0x81, 203, 0, 1, 0x11, 0x22, 0x33, 0x44]);
        let info = parse_rtcp(&p).expect("valid");
        assert_eq!(info.first, RtcpType::ReceiverReport);
        assert_eq!(info.ssrc, 0x1122_3344);
        assert_eq!(info.packets, 3);
        assert!(info.has_bye);
    }

    #[test]
    fn bad_headers_are_errors() {
        assert_eq!(parse_rtcp(&[0x80, 201]), Err(RtcpError::TooShort(2)));
        assert_eq!(
            parse_rtcp(&[0x40, 201, 0, 1, 0, 0, 0, 0]),
            Err(RtcpError::Version(1))
        );
        // An RTP packet (PT 0) is not RTCP.
        assert_eq!(
            parse_rtcp(&[0x80, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0]),
            Err(RtcpError::NotRtcp(0))
        );
        // Length says 3 words + 1 but only 8 bytes there.
        assert_eq!(
            parse_rtcp(&[0x80, 201, 0, 3, 0, 0, 0, 0]),
            Err(RtcpError::Length)
        );
        // A trailing fragment after a valid packet.
        let mut p = RR.to_vec();
        p.extend_from_slice(&[0x80, 201]);
        assert_eq!(parse_rtcp(&p), Err(RtcpError::Length));
    }
}
