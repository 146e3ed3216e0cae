//! ITU-T G.711 companding for the recorder: µ-law (PCMU, payload type 0) and
//! A-law (PCMA, payload type 8) to and from 16-bit linear PCM.
//!
//! One implementation serves the whole server: the tables and encoders live in
//! `hotline_sip::media::g711` (sans-IO, used by the relay to transcode between
//! legs); this module gives the recorder and the IVR the names they use. The
//! tests below check the values against G.711 independently of that module.

use hotline_sip::media::g711 as core;
use hotline_sip::media::Encoding;

/// Decodes one µ-law (PCMU) byte to 16-bit linear PCM.
#[inline]
#[must_use]
pub fn ulaw_to_linear(code: u8) -> i16 {
    core::ULAW_TO_LINEAR[usize::from(code)]
}

/// Decodes one A-law (PCMA) byte to 16-bit linear PCM.
#[inline]
#[must_use]
pub fn alaw_to_linear(code: u8) -> i16 {
    core::ALAW_TO_LINEAR[usize::from(code)]
}

/// Encodes a 16-bit linear sample as µ-law (PCMU).
#[must_use]
pub fn linear_to_ulaw(sample: i16) -> u8 {
    core::ulaw_encode(sample)
}

/// Encodes a 16-bit linear sample as A-law (PCMA).
#[must_use]
pub fn linear_to_alaw(sample: i16) -> u8 {
    core::alaw_encode(sample)
}

/// Decodes a µ-law payload into `out`, returning how many samples were
/// written (`min(payload.len(), out.len())`).
pub fn decode_ulaw_into(payload: &[u8], out: &mut [i16]) -> usize {
    core::decode(Encoding::Pcmu, payload, out)
}

/// Decodes an A-law payload into `out`, returning how many samples were
/// written (`min(payload.len(), out.len())`).
pub fn decode_alaw_into(payload: &[u8], out: &mut [i16]) -> usize {
    core::decode(Encoding::Pcma, payload, out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ulaw_known_values() {
        // Positive and negative zero.
        assert_eq!(ulaw_to_linear(0xFF), 0);
        assert_eq!(ulaw_to_linear(0x7F), 0);
        // Full scale: segment 7, step 15.
        assert_eq!(ulaw_to_linear(0x80), 32124);
        assert_eq!(ulaw_to_linear(0x00), -32124);
        // Smallest non-zero steps (14-bit value 2, scaled by 4).
        assert_eq!(ulaw_to_linear(0xFE), 8);
        assert_eq!(ulaw_to_linear(0x7E), -8);
        // Segment boundary: first step of segment 1 is 14-bit 33 -> 16-bit 132.
        assert_eq!(ulaw_to_linear(0xEF), 132);
    }

    #[test]
    fn alaw_known_values() {
        // 0xD5 is the A-law "zero": the smallest positive step, 13-bit 1 -> 8.
        assert_eq!(alaw_to_linear(0xD5), 8);
        assert_eq!(alaw_to_linear(0x55), -8);
        assert_eq!(alaw_to_linear(0xAA), 32256);
        assert_eq!(alaw_to_linear(0x2A), -32256);
        // First step of segment 1: 13-bit 33 -> 264.
        assert_eq!(alaw_to_linear(0xC5), 264);
    }

    #[test]
    fn tables_are_monotonic_per_sign() {
        // Inside each sign half, larger magnitude codes decode to larger
        // magnitudes: catches a wrong shift or segment offset anywhere.
        for half in [0x00u8, 0x80] {
            let mut prev = -1i32;
            for step in 0..128u8 {
                // µ-law: inverted bits, so magnitude grows as the code falls.
                let code = half | (0x7F - step);
                let mag = i32::from(ulaw_to_linear(code)).abs();
                assert!(mag > prev || (step == 0 && mag == 0), "µ {code:#x}");
                prev = mag;
            }
        }
        for sign in [0x00u8, 0x80] {
            let mut prev = -1i32;
            for step in 0..128u8 {
                let code = (sign | step) ^ 0x55;
                let mag = i32::from(alaw_to_linear(code)).abs();
                assert!(mag > prev, "A {code:#x}");
                prev = mag;
            }
        }
    }

    #[test]
    fn ulaw_round_trip_every_code() {
        for code in 0..=255u8 {
            let linear = ulaw_to_linear(code);
            let expected = if code == 0x7F { 0xFF } else { code };
            assert_eq!(linear_to_ulaw(linear), expected, "code {code:#04x}");
        }
    }

    #[test]
    fn alaw_round_trip_every_code() {
        for code in 0..=255u8 {
            assert_eq!(
                linear_to_alaw(alaw_to_linear(code)),
                code,
                "code {code:#04x}"
            );
        }
    }

    #[test]
    fn encoders_pick_the_nearest_level_and_clip() {
        // Every 16-bit value encodes to a code whose decoded value is the
        // closest quantisation level or its neighbour (the standard rounds
        // down within a step), and never panics at the extremes.
        for x in (i16::MIN..=i16::MAX).step_by(7) {
            let u = ulaw_to_linear(linear_to_ulaw(x));
            let a = alaw_to_linear(linear_to_alaw(x));
            let err_u = (i32::from(u) - i32::from(x)).abs();
            let err_a = (i32::from(a) - i32::from(x)).abs();
            // Largest step is 1024 (µ) / 1024 (A) in the top segment, plus
            // clipping beyond ±32124 / ±32256.
            assert!(err_u <= 1024 + 644, "µ {x} -> {u}");
            assert!(err_a <= 1024 + 512, "A {x} -> {a}");
        }
        assert_eq!(ulaw_to_linear(linear_to_ulaw(i16::MAX)), 32124);
        assert_eq!(ulaw_to_linear(linear_to_ulaw(i16::MIN)), -32124);
        assert_eq!(alaw_to_linear(linear_to_alaw(i16::MAX)), 32256);
        assert_eq!(alaw_to_linear(linear_to_alaw(i16::MIN)), -32256);
        assert_eq!(linear_to_ulaw(0), 0xFF);
        assert_eq!(linear_to_alaw(0), 0xD5);
    }

    #[test]
    fn decode_into_stops_at_the_shorter_buffer() {
        let mut out = [1i16; 4];
        assert_eq!(decode_ulaw_into(&[0xFF, 0x80], &mut out), 2);
        assert_eq!(out, [0, 32124, 1, 1]);
        assert_eq!(decode_alaw_into(&[0xD5; 8], &mut out), 4);
        assert_eq!(out, [8; 4]);
    }
}
