//! G.711 µ-law and A-law as 256-entry tables, computed at compile time.
//!
//! The relay needs them when the two legs settled on different laws (a trunk that
//! only offers PCMA, a softphone that prefers PCMU): each payload byte goes
//! through one table lookup ([`ULAW_TO_ALAW`], [`ALAW_TO_ULAW`]), the same cost
//! as copying it. The code is the classic one (Sun's public-domain `g711.c`, ITU-T
//! G.711 segment tables) in `const fn` form.

use super::Encoding;

/// µ-law byte → 16-bit linear PCM.
pub const ULAW_TO_LINEAR: [i16; 256] = {
    let mut t = [0i16; 256];
    let mut i = 0;
    while i < 256 {
        t[i] = ulaw_decode(i as u8);
        i += 1;
    }
    t
};

/// A-law byte → 16-bit linear PCM.
pub const ALAW_TO_LINEAR: [i16; 256] = {
    let mut t = [0i16; 256];
    let mut i = 0;
    while i < 256 {
        t[i] = alaw_decode(i as u8);
        i += 1;
    }
    t
};

/// µ-law byte → A-law byte (through linear).
pub const ULAW_TO_ALAW: [u8; 256] = {
    let mut t = [0u8; 256];
    let mut i = 0;
    while i < 256 {
        t[i] = alaw_encode(ULAW_TO_LINEAR[i]);
        i += 1;
    }
    t
};

/// A-law byte → µ-law byte (through linear).
pub const ALAW_TO_ULAW: [u8; 256] = {
    let mut t = [0u8; 256];
    let mut i = 0;
    while i < 256 {
        t[i] = ulaw_encode(ALAW_TO_LINEAR[i]);
        i += 1;
    }
    t
};

/// Decodes one µ-law byte.
pub const fn ulaw_decode(u: u8) -> i16 {
    let u = !u;
    let exponent = (u >> 4) & 0x07;
    let mantissa = (u & 0x0f) as i32;
    let magnitude = (((mantissa << 3) + 0x84) << exponent) - 0x84;
    if u & 0x80 != 0 {
        -magnitude as i16
    } else {
        magnitude as i16
    }
}

/// Decodes one A-law byte.
pub const fn alaw_decode(a: u8) -> i16 {
    let a = a ^ 0x55;
    let segment = (a >> 4) & 0x07;
    let mut magnitude = ((a & 0x0f) as i32) << 4;
    magnitude += if segment == 0 { 8 } else { 0x108 };
    if segment > 1 {
        magnitude <<= segment - 1;
    }
    // In A-law a set sign bit means positive.
    if a & 0x80 != 0 {
        magnitude as i16
    } else {
        -magnitude as i16
    }
}

/// Encodes one linear sample as µ-law.
pub const fn ulaw_encode(sample: i16) -> u8 {
    const BIAS: i32 = 0x84;
    const CLIP: i32 = 32635;
    let mut s = sample as i32;
    let sign = if s < 0 {
        s = -s;
        0x80
    } else {
        0
    };
    if s > CLIP {
        s = CLIP;
    }
    s += BIAS;
    // s is in 0x84..=0x7fff: its top bit is bit 7..=14.
    let exponent = (31 - s.leading_zeros() as i32) - 7;
    let mantissa = (s >> (exponent + 3)) & 0x0f;
    !((sign | (exponent << 4) | mantissa) as u8)
}

/// Encodes one linear sample as A-law.
pub const fn alaw_encode(sample: i16) -> u8 {
    let mut v = (sample as i32) >> 3;
    let mask = if v >= 0 {
        0xd5
    } else {
        v = -v - 1;
        0x55
    };
    // Segment ends of the 13-bit magnitude.
    let ends = [0x1f, 0x3f, 0x7f, 0xff, 0x1ff, 0x3ff, 0x7ff, 0xfff];
    let mut segment = 0;
    while segment < 8 && v > ends[segment] {
        segment += 1;
    }
    if segment >= 8 {
        return 0x7f ^ mask;
    }
    let shift = if segment < 2 { 1 } else { segment };
    let a = ((segment as i32) << 4) | ((v >> shift) & 0x0f);
    (a as u8) ^ mask
}

/// Decodes a payload into `out` (as many samples as both hold); returns the count.
pub fn decode(law: Encoding, payload: &[u8], out: &mut [i16]) -> usize {
    let table = match law {
        Encoding::Pcmu => &ULAW_TO_LINEAR,
        Encoding::Pcma => &ALAW_TO_LINEAR,
    };
    let n = payload.len().min(out.len());
    for (o, &b) in out.iter_mut().zip(payload) {
        *o = table[usize::from(b)];
    }
    n
}

/// Converts a payload from one law to the other in place.
pub fn transcode_in_place(from: Encoding, to: Encoding, payload: &mut [u8]) {
    let table = match (from, to) {
        (Encoding::Pcmu, Encoding::Pcma) => &ULAW_TO_ALAW,
        (Encoding::Pcma, Encoding::Pcmu) => &ALAW_TO_ULAW,
        _ => return,
    };
    for b in payload {
        *b = table[usize::from(*b)];
    }
}

#[cfg(test)]
mod tests {
    use super::super::Encoding;
    use super::*;

    #[test]
    fn known_values() {
        // Silence and the extremes (ITU-T G.711 tables).
        assert_eq!(ulaw_decode(0xff), 0);
        assert_eq!(ulaw_decode(0x7f), 0);
        assert_eq!(ulaw_decode(0x80), 32124);
        assert_eq!(ulaw_decode(0x00), -32124);
        assert_eq!(alaw_decode(0xd5), 8);
        assert_eq!(alaw_decode(0x55), -8);
        assert_eq!(alaw_decode(0xaa), 32256);
        assert_eq!(alaw_decode(0x2a), -32256);
        assert_eq!(ulaw_encode(0), 0xff);
        assert_eq!(alaw_encode(0), 0xd5);
        assert_eq!(ulaw_encode(i16::MAX), 0x80);
        assert_eq!(ulaw_encode(i16::MIN), 0x00);
        assert_eq!(alaw_encode(i16::MAX), 0xaa);
        assert_eq!(alaw_encode(i16::MIN), 0x2a);
    }

    #[test]
    fn every_code_survives_decode_then_encode() {
        for b in 0..=255u8 {
            assert_eq!(alaw_encode(alaw_decode(b)), b, "A-law {b:#x}");
            // µ-law has two zeros (0x7f, 0xff); both decode to 0, which encodes as 0xff.
            let expect = if b == 0x7f { 0xff } else { b };
            assert_eq!(ulaw_encode(ulaw_decode(b)), expect, "µ-law {b:#x}");
        }
    }

    #[test]
    fn decoding_is_monotonic_within_each_sign() {
        // Larger code (after the law's inversion) never means a smaller magnitude.
        for b in 0..127u8 {
            let u = |x: u8| i32::from(ulaw_decode(!x & 0x7f)).abs();
            assert!(u(b) <= u(b + 1), "µ-law {b}");
        }
    }

    #[test]
    fn transcoding_keeps_the_level_close() {
        for b in 0..=255u8 {
            let lin = i32::from(ulaw_decode(b));
            let via = i32::from(alaw_decode(ULAW_TO_ALAW[usize::from(b)]));
            // Both laws quantise with ≤ 1/16 relative error plus a small floor.
            assert!(
                (lin - via).abs() <= lin.abs() / 16 + 16,
                "{b:#x}: {lin} vs {via}"
            );
        }
        let mut p = [0xffu8, 0x80, 0x00];
        transcode_in_place(Encoding::Pcmu, Encoding::Pcma, &mut p);
        assert_eq!(p, [0xd5, 0xaa, 0x2a]);
        let mut q = p;
        transcode_in_place(Encoding::Pcma, Encoding::Pcma, &mut q);
        assert_eq!(q, p);
    }

    #[test]
    fn decode_fills_as_many_samples_as_fit() {
        let mut out = [1i16; 4];
        assert_eq!(decode(Encoding::Pcmu, &[0xff; 6], &mut out), 4);
        assert_eq!(out, [0; 4]);
        let mut out = [1i16; 4];
        assert_eq!(decode(Encoding::Pcma, &[0xd5; 2], &mut out), 2);
        assert_eq!(out, [8, 8, 1, 1]);
    }
}
