//! ITU-T G.711 companding: µ-law (PCMU, RTP payload type 0) and A-law
//! (PCMA, payload type 8) to and from 16-bit linear PCM.
//!
//! Decoding is a lookup in a 256-entry table built at compile time, so the
//! per-packet path (160 bytes every 20 ms per leg) costs one load per byte and
//! never allocates. The tables follow G.711 (11/88) Tables 1a/2a scaled to 16
//! bits, the same values as the reference `g711.c` that most softphones use:
//! µ-law spans ±32124, A-law ±32256.
//!
//! Encoding (the IVR needs it to play WAV prompts to a caller) is computed,
//! segment by segment as in G.711 §2 and §3; `encode(decode(b)) == b` holds
//! for every code except µ-law's negative zero `0x7F`, which encodes back as
//! positive zero `0xFF`.

/// The µ-law bias: G.711 µ-law segments are offsets of 33 in 14-bit units
/// (`0x84` = 132 = 33 << 2 once scaled to 16 bits).
const ULAW_BIAS: i32 = 0x84;
/// Largest magnitude the µ-law encoder can represent before the bias is added
/// (32635 + 132 = 32767 still fits the top segment).
const ULAW_CLIP: i32 = 32635;

const fn ulaw_decode(code: u8) -> i16 {
    // G.711 transmits µ-law codes with all bits inverted (§3.2, Table 2a).
    let u = !code;
    let exponent = ((u >> 4) & 0x07) as i32;
    let mantissa = (u & 0x0F) as i32;
    let magnitude = (((mantissa << 3) + ULAW_BIAS) << exponent) - ULAW_BIAS;
    if u & 0x80 != 0 {
        -magnitude as i16
    } else {
        magnitude as i16
    }
}

const fn alaw_decode(code: u8) -> i16 {
    // A-law inverts the even bits on the line (§2.2, Table 1a): XOR 0x55.
    let a = code ^ 0x55;
    let exponent = ((a >> 4) & 0x07) as i32;
    let mantissa = (a & 0x0F) as i32;
    let magnitude = if exponent == 0 {
        (mantissa << 4) + 8
    } else {
        ((mantissa << 4) + 0x108) << (exponent - 1)
    };
    // In A-law the sign bit set means positive.
    if a & 0x80 != 0 {
        magnitude as i16
    } else {
        -magnitude as i16
    }
}

const fn build_table(alaw: bool) -> [i16; 256] {
    let mut table = [0i16; 256];
    let mut i = 0;
    while i < 256 {
        table[i] = if alaw {
            alaw_decode(i as u8)
        } else {
            ulaw_decode(i as u8)
        };
        i += 1;
    }
    table
}

static ULAW_TO_LINEAR: [i16; 256] = build_table(false);
static ALAW_TO_LINEAR: [i16; 256] = build_table(true);

/// Decodes one µ-law (PCMU) byte to 16-bit linear PCM.
#[inline]
#[must_use]
pub fn ulaw_to_linear(code: u8) -> i16 {
    ULAW_TO_LINEAR[usize::from(code)]
}

/// Decodes one A-law (PCMA) byte to 16-bit linear PCM.
#[inline]
#[must_use]
pub fn alaw_to_linear(code: u8) -> i16 {
    ALAW_TO_LINEAR[usize::from(code)]
}

/// Encodes a 16-bit linear sample as µ-law (PCMU).
#[must_use]
pub fn linear_to_ulaw(sample: i16) -> u8 {
    let mut x = i32::from(sample);
    let sign = if x < 0 {
        // i32 holds -(-32768) without overflow.
        x = -x;
        0x80
    } else {
        0x00
    };
    x = x.min(ULAW_CLIP) + ULAW_BIAS;
    // x is in 0x84..=0x7FFF, so its top bit is bit 7..=14: segment 0..=7.
    let exponent = (31 - (x as u32).leading_zeros()) as i32 - 7;
    let mantissa = (x >> (exponent + 3)) & 0x0F;
    !((sign | (exponent << 4) | mantissa) as u8)
}

/// Encodes a 16-bit linear sample as A-law (PCMA).
#[must_use]
pub fn linear_to_alaw(sample: i16) -> u8 {
    // A-law works on 13-bit magnitudes (G.711 §2.1).
    let mut x = i32::from(sample) >> 3;
    let mask = if x >= 0 {
        0xD5
    } else {
        // One's complement keeps the negative range symmetric with the positive.
        x = -x - 1;
        0x55
    };
    // Segment end points of Table 1a in 13-bit units.
    const SEG_END: [i32; 8] = [0x1F, 0x3F, 0x7F, 0xFF, 0x1FF, 0x3FF, 0x7FF, 0xFFF];
    let segment = SEG_END.iter().position(|&end| x <= end);
    let code = match segment {
        None => 0x7F,
        Some(seg) => {
            let shift = if seg < 2 { 1 } else { seg as i32 };
            ((seg as i32) << 4) | ((x >> shift) & 0x0F)
        }
    };
    (code as u8) ^ mask
}

/// Decodes a µ-law payload into `out`, returning how many samples were
/// written (`min(payload.len(), out.len())`).
pub fn decode_ulaw_into(payload: &[u8], out: &mut [i16]) -> usize {
    let n = payload.len().min(out.len());
    for (dst, &b) in out.iter_mut().zip(payload) {
        *dst = ulaw_to_linear(b);
    }
    n
}

/// Decodes an A-law payload into `out`, returning how many samples were
/// written (`min(payload.len(), out.len())`).
pub fn decode_alaw_into(payload: &[u8], out: &mut [i16]) -> usize {
    let n = payload.len().min(out.len());
    for (dst, &b) in out.iter_mut().zip(payload) {
        *dst = alaw_to_linear(b);
    }
    n
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
