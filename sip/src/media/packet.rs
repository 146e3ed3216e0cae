//! RTP packet validation and the RTP/RTCP split.
//!
//! Parsing is `rtp-rs`'s [`RtpReader`]: a borrowed view over the receive buffer
//! that checks, once, that every header field it will later read is inside the
//! datagram (version 2, CSRC list, header extension, padding count), so the
//! accessors cannot go out of bounds. We only map its error to ours, which is
//! `Copy` and cheap to count.

use rtp_rs::{RtpReader, RtpReaderError};

/// Why a datagram is not a usable RTP packet. Such packets are dropped and counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum RtpError {
    /// Shorter than the fixed 12-byte header.
    #[error("RTP packet too short ({0} bytes)")]
    TooShort(usize),
    /// Version field other than 2 (RFC 3550 §5.1).
    #[error("RTP version {0}, expected 2")]
    Version(u8),
    /// The CSRC list or header extension runs past the end of the datagram.
    #[error("RTP header truncated: needs {needed} bytes, has {len}")]
    Truncated { needed: usize, len: usize },
    /// The padding count is zero or larger than what follows the header
    /// (RFC 3550 §5.1, P bit).
    #[error("RTP padding count {0} invalid")]
    Padding(u8),
    /// Larger than the relay's buffers.
    #[error("RTP packet too large ({0} bytes)")]
    TooLarge(usize),
}

impl From<RtpReaderError> for RtpError {
    fn from(e: RtpReaderError) -> Self {
        match e {
            RtpReaderError::BufferTooShort(n) => RtpError::TooShort(n),
            RtpReaderError::UnsupportedVersion(v) => RtpError::Version(v),
            RtpReaderError::HeadersTruncated {
                header_len,
                buffer_len,
            } => RtpError::Truncated {
                needed: header_len,
                len: buffer_len,
            },
            RtpReaderError::PaddingLengthInvalid(n) => RtpError::Padding(n),
        }
    }
}

/// Validates `buf` as one RTP packet and returns a zero-copy view of it.
pub fn parse_rtp(buf: &[u8]) -> Result<RtpReader<'_>, RtpError> {
    Ok(RtpReader::new(buf)?)
}

/// What arrived on a socket, by its second octet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PacketKind {
    Rtp,
    Rtcp,
}

/// RFC 5761 §4: with RTP and RTCP on one port, an octet 1 (marker bit plus
/// payload type for RTP, packet type for RTCP) in 192–223 is RTCP: those values
/// are RTP payload types 64–95 with the marker set, which §4 forbids using. A
/// phone that multiplexes RTCP onto our RTP port is therefore recognised, counted
/// and not forwarded as audio. Anything too short to tell is left to the RTP
/// parser, which rejects it.
pub fn classify(buf: &[u8]) -> PacketKind {
    match buf.get(1) {
        Some(192..=223) => PacketKind::Rtcp,
        _ => PacketKind::Rtp,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(b0: u8, b1: u8) -> Vec<u8> {
        let mut p = vec![b0, b1, 0, 1, 0, 0, 0, 160, 1, 2, 3, 4];
        p.extend_from_slice(&[0xff; 160]);
        p
    }

    #[test]
    fn a_plain_packet_parses_and_exposes_its_fields() {
        let p = header(0x80, 0x80 | 8);
        let r = parse_rtp(&p).expect("valid");
        assert_eq!(r.payload_type(), 8);
        assert!(r.mark());
        assert_eq!(u16::from(r.sequence_number()), 1);
        assert_eq!(r.timestamp(), 160);
        assert_eq!(r.ssrc(), 0x0102_0304);
        assert_eq!(r.payload().len(), 160);
    }

    #[test]
    fn short_packets_and_other_versions_are_rejected() {
        assert_eq!(parse_rtp(&[0x80; 11]).err(), Some(RtpError::TooShort(11)));
        assert_eq!(parse_rtp(&[]).err(), Some(RtpError::TooShort(0)));
        let p = header(0x40, 0);
        assert_eq!(parse_rtp(&p).err(), Some(RtpError::Version(1)));
    }

    #[test]
    fn a_csrc_list_past_the_end_is_truncation() {
        // CC = 15 needs 12 + 60 bytes.
        let p = vec![0x8f, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 9, 9, 9, 9];
        assert!(matches!(
            parse_rtp(&p).err(),
            Some(RtpError::Truncated {
                needed: 72,
                len: 16
            })
        ));
    }

    #[test]
    fn an_extension_past_the_end_is_truncation() {
        // X set, extension header says 2 words but none follow.
        let mut p = vec![0x90, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1];
        p.extend_from_slice(&[0xbe, 0xde, 0, 2]);
        assert!(matches!(
            parse_rtp(&p).err(),
            Some(RtpError::Truncated { .. })
        ));
        // Only half the extension header present.
        let p = vec![0x90, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 0xbe];
        assert!(matches!(
            parse_rtp(&p).err(),
            Some(RtpError::Truncated { .. })
        ));
    }

    #[test]
    fn a_valid_extension_is_skipped_over() {
        let mut p = vec![0x90, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1];
        p.extend_from_slice(&[0xbe, 0xde, 0, 1, 1, 2, 3, 4]);
        p.extend_from_slice(&[7; 20]);
        let r = parse_rtp(&p).expect("valid");
        assert_eq!(r.payload(), &[7; 20]);
    }

    #[test]
    fn padding_beyond_the_packet_or_zero_is_rejected() {
        let mut p = header(0xa0, 0);
        *p.last_mut().expect("non-empty") = 200; // more than the 160 after the header
        assert_eq!(parse_rtp(&p).err(), Some(RtpError::Padding(200)));
        *p.last_mut().expect("non-empty") = 0;
        assert_eq!(parse_rtp(&p).err(), Some(RtpError::Padding(0)));
        *p.last_mut().expect("non-empty") = 4;
        assert_eq!(parse_rtp(&p).expect("valid").payload().len(), 156);
        // P bit with nothing after the header at all.
        let p = vec![0xa0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1];
        assert!(parse_rtp(&p).is_err());
    }

    #[test]
    fn rfc5761_second_octet_range_is_rtcp() {
        for b1 in 192..=223u8 {
            assert_eq!(classify(&[0x80, b1]), PacketKind::Rtcp, "{b1}");
        }
        for b1 in [0u8, 8, 101, 0x80, 0x80 | 101, 191, 224, 255] {
            assert_eq!(classify(&[0x80, b1]), PacketKind::Rtp, "{b1}");
        }
        assert_eq!(classify(&[0x80]), PacketKind::Rtp);
        assert_eq!(classify(&[]), PacketKind::Rtp);
    }
}
