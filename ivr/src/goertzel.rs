//! In-band DTMF detection (Goertzel) for callers whose gateway sends keys as
//! audio instead of RFC 4733 events.
//!
//! The input is the caller's decoded 8 kHz 16-bit PCM, usually in 20 ms
//! frames. Internally it is cut into blocks of [`BLOCK`] = 102 samples
//! (12.75 ms): at 8 kHz that puts the first spectral null of each Goertzel
//! filter ~78 Hz from its centre, right where the neighbouring row frequency
//! sits (697/770 Hz are 73 Hz apart), so adjacent tones barely leak.
//!
//! A block *hits* a key when all of these hold:
//!
//! - **level**: both tones are at least [`MIN_TONE_AMPLITUDE`] (about
//!   −37 dBm0), so line noise never counts;
//! - **dominance**: the strongest row is at least 6 dB above every other row,
//!   and the same for the columns;
//! - **twist**: the column tone is at most 8 dB below the row tone (normal
//!   twist) and at most 4 dB above it (reverse twist), the usual limits of
//!   ITU-T Q.24 receivers;
//! - **purity**: the two tones carry at least 65 % of the block's energy.
//!   Noise, music and most speech spread their energy and fail here. The
//!   figure is chosen so that a tone that covers less than 65 % of two
//!   neighbouring blocks fails both: tones shorter than ~16 ms are never
//!   detected;
//! - **weaker tone**: the energy outside the two tones is no more than the
//!   weaker tone's. A vowel whose first formant puts one strong harmonic on a
//!   row frequency (and a weak one on a column) passes the purity and twist
//!   tests; this one rejects it (the classic "talk-off").
//!
//! A key is reported once when **two consecutive blocks** hit it, so every tone
//! of 40 ms or more (Q.24's minimum) is detected whatever its alignment (two full
//! blocks fit in 38 ms). It is **released** after two consecutive blocks
//! without it; only then does the same key count again. One block lost in a
//! noisy tone therefore does not make a double press.
//!
//! RFC 4733 events and SIP INFO do not need this: see
//! `hotline_sip::media::dtmf::DtmfDetector` and [`crate::parse_info`].

use std::f32::consts::PI;

/// Samples per analysis block.
pub const BLOCK: usize = 102;
/// Sample rate the detector expects.
pub const RATE: f32 = 8000.0;
/// Smallest amplitude (fraction of full scale) of each tone: about −37 dBm0.
pub const MIN_TONE_AMPLITUDE: f32 = 0.01;

const ROWS: [f32; 4] = [697.0, 770.0, 852.0, 941.0];
const COLS: [f32; 4] = [1209.0, 1336.0, 1477.0, 1633.0];
const KEYS: [[char; 4]; 4] = [
    ['1', '2', '3', 'A'],
    ['4', '5', '6', 'B'],
    ['7', '8', '9', 'C'],
    ['*', '0', '#', 'D'],
];
/// 6 dB in power.
const DOMINANCE: f32 = 4.0;
/// Column may be 8 dB weaker than row (power ratio 10^-0.8).
const NORMAL_TWIST: f32 = 0.158;
/// Row may be 4 dB weaker than column (power ratio 10^-0.4).
const REVERSE_TWIST: f32 = 0.398;
/// Share of the block's energy in the two tones.
const PURITY: f32 = 0.65;
/// Consecutive hits to report a key, and consecutive misses to release it.
const HITS: u8 = 2;
const MISSES: u8 = 2;

/// Goertzel DTMF detector over 8 kHz PCM; one per caller leg.
#[derive(Debug, Clone)]
pub struct ToneDetector {
    block: [f32; BLOCK],
    fill: usize,
    coeffs: [f32; 8],
    last_hit: Option<char>,
    hits: u8,
    misses: u8,
    held: Option<char>,
}

impl Default for ToneDetector {
    fn default() -> Self {
        Self::new()
    }
}

impl ToneDetector {
    /// A detector with nothing heard yet.
    pub fn new() -> ToneDetector {
        let mut coeffs = [0.0; 8];
        for (c, f) in coeffs.iter_mut().zip(ROWS.iter().chain(&COLS)) {
            *c = 2.0 * (2.0 * PI * f / RATE).cos();
        }
        ToneDetector {
            block: [0.0; BLOCK],
            fill: 0,
            coeffs,
            last_hit: None,
            hits: 0,
            misses: 0,
            held: None,
        }
    }

    /// Feed samples (any length; 160 for a 20 ms frame) and get the keys that
    /// became pressed, in order. At most one key per 25 ms of input, so a
    /// 20 ms frame yields at most one; nothing is allocated unless a key is
    /// found.
    pub fn process(&mut self, pcm: &[i16]) -> Vec<char> {
        let mut keys = Vec::new();
        for &s in pcm {
            self.block[self.fill] = f32::from(s) / 32768.0;
            self.fill += 1;
            if self.fill == BLOCK {
                self.fill = 0;
                if let Some(k) = self.on_block() {
                    keys.push(k);
                }
            }
        }
        keys
    }

    fn on_block(&mut self) -> Option<char> {
        let hit = self.classify();
        let mut pressed = None;
        match hit {
            Some(k) => {
                self.hits = if self.last_hit == Some(k) {
                    self.hits.saturating_add(1)
                } else {
                    1
                };
                if self.held == Some(k) {
                    self.misses = 0;
                } else if self.hits >= HITS {
                    self.held = Some(k);
                    self.misses = 0;
                    pressed = Some(k);
                }
            }
            None => {
                self.hits = 0;
                self.misses = self.misses.saturating_add(1);
                if self.misses >= MISSES {
                    self.held = None;
                }
            }
        }
        self.last_hit = hit;
        pressed
    }

    /// The key this block holds, if it passes every test.
    fn classify(&self) -> Option<char> {
        let n = BLOCK as f32;
        let energy: f32 = self.block.iter().map(|x| x * x).sum();
        if energy <= 0.0 {
            return None;
        }
        // Squared amplitude of each tone: (2|X|/N)^2.
        let mut power = [0.0f32; 8];
        for (p, &coeff) in power.iter_mut().zip(&self.coeffs) {
            let (mut s1, mut s2) = (0.0f32, 0.0f32);
            for &x in &self.block {
                let s0 = x + coeff * s1 - s2;
                s2 = s1;
                s1 = s0;
            }
            let mag2 = s1 * s1 + s2 * s2 - coeff * s1 * s2;
            *p = 4.0 * mag2.max(0.0) / (n * n);
        }
        let (row, row_p) = strongest(&power[..4])?;
        let (col, col_p) = strongest(&power[4..])?;
        let min_p = MIN_TONE_AMPLITUDE * MIN_TONE_AMPLITUDE;
        if row_p < min_p || col_p < min_p {
            return None;
        }
        if col_p < row_p * NORMAL_TWIST || row_p < col_p * REVERSE_TWIST {
            return None;
        }
        // A sine of squared amplitude a² has mean power a²/2.
        if (row_p + col_p) / 2.0 < PURITY * energy / n {
            return None;
        }
        // Everything else must not outweigh the weaker tone: a vowel with one
        // strong harmonic near a row frequency and a weak one near a column
        // passes the twist and purity tests, but not this one.
        let residual = energy / n - (row_p + col_p) / 2.0;
        if residual > row_p.min(col_p) / 2.0 {
            return None;
        }
        Some(KEYS[row][col])
    }
}

/// Index and power of the strongest of four, if it dominates the others.
fn strongest(p: &[f32]) -> Option<(usize, f32)> {
    let (i, &max) = p.iter().enumerate().max_by(|a, b| a.1.total_cmp(b.1))?;
    p.iter()
        .enumerate()
        .all(|(j, &x)| j == i || x * DOMINANCE <= max)
        .then_some((i, max))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A deterministic noise source (xorshift), uniform in [-1, 1).
    struct Noise(u64);
    impl Noise {
        fn next(&mut self) -> f32 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            (self.0 >> 40) as f32 / (1u64 << 23) as f32 - 1.0
        }
    }

    fn freqs(key: char) -> (f32, f32) {
        for (r, row) in KEYS.iter().enumerate() {
            if let Some(c) = row.iter().position(|&k| k == key) {
                return (ROWS[r], COLS[c]);
            }
        }
        panic!("no key {key}")
    }

    /// Build a signal from segments; `f` gives each sample at time index `i`.
    fn render(len: usize, mut f: impl FnMut(usize) -> f32) -> Vec<i16> {
        (0..len)
            .map(|i| (f(i) * 32767.0).clamp(-32768.0, 32767.0) as i16)
            .collect()
    }

    fn tone(key: char, amp: f32, ms: usize) -> Vec<f32> {
        let (r, c) = freqs(key);
        (0..ms * 8)
            .map(|i| {
                let t = i as f32 / RATE;
                amp * ((2.0 * PI * r * t).sin() + (2.0 * PI * c * t).sin())
            })
            .collect()
    }

    fn silence(ms: usize) -> Vec<f32> {
        vec![0.0; ms * 8]
    }

    /// Feed in 20 ms frames, as the media path does.
    fn detect(signal: &[f32], noise_amp: f32, seed: u64) -> String {
        let mut noise = Noise(seed | 1);
        let pcm = render(signal.len(), |i| signal[i] + noise_amp * noise.next());
        let mut d = ToneDetector::new();
        pcm.chunks(160).flat_map(|f| d.process(f)).collect()
    }

    #[test]
    fn every_key_in_noise_once() {
        // Each tone -20 dBFS-ish (amp 0.1), white noise 20 dB below the tones.
        for key in "0123456789*#ABCD".chars() {
            let mut s = silence(30);
            s.extend(tone(key, 0.1, 70));
            s.extend(silence(60));
            let noise = 0.1 * 10f32.powf(-20.0 / 20.0) * 3f32.sqrt();
            assert_eq!(detect(&s, noise, key as u64), key.to_string(), "{key}");
        }
    }

    #[test]
    fn a_dialled_sequence_with_short_gaps() {
        let mut s = Vec::new();
        for key in "13800138000".chars() {
            s.extend(tone(key, 0.2, 50));
            s.extend(silence(50));
        }
        assert_eq!(detect(&s, 0.005, 7), "13800138000");
    }

    #[test]
    fn forty_ms_is_enough_at_any_alignment_and_fifteen_never() {
        for offset in (0..BLOCK).step_by(7) {
            let mut s = silence(0);
            s.extend(vec![0.0; offset]);
            s.extend(tone('5', 0.2, 40));
            s.extend(silence(60));
            assert_eq!(detect(&s, 0.0, 1), "5", "40 ms at offset {offset}");

            let mut s = vec![0.0; offset];
            s.extend(tone('5', 0.2, 15));
            s.extend(silence(60));
            assert_eq!(detect(&s, 0.0, 1), "", "15 ms at offset {offset}");
        }
    }

    #[test]
    fn same_key_twice_needs_a_release() {
        let mut s = tone('7', 0.2, 60);
        s.extend(silence(40));
        s.extend(tone('7', 0.2, 60));
        assert_eq!(detect(&s, 0.002, 3), "77");

        // A long tone with one dropped block (13 ms) is still one press.
        let mut s = tone('7', 0.2, 200);
        s.extend(silence(13));
        s.extend(tone('7', 0.2, 200));
        assert_eq!(detect(&s, 0.0, 3), "7");

        // A change of key without a gap counts.
        let mut s = tone('1', 0.2, 60);
        s.extend(tone('2', 0.2, 60));
        assert_eq!(detect(&s, 0.0, 3), "12");
    }

    #[test]
    fn off_frequency_by_one_and_a_half_percent_is_accepted() {
        let (r, c) = freqs('D');
        let s: Vec<f32> = (0..400)
            .map(|i| {
                let t = i as f32 / RATE;
                0.2 * ((2.0 * PI * r * 1.015 * t).sin() + (2.0 * PI * c * 0.985 * t).sin())
            })
            .collect();
        assert_eq!(detect(&s, 0.0, 1), "D");
    }

    #[test]
    fn non_dtmf_is_rejected() {
        // White noise, loud.
        assert_eq!(detect(&silence(2000), 0.5, 11), "");
        // One frequency only (a dial tone-like 941 Hz, a 1 kHz test tone).
        let single = |f: f32| -> Vec<f32> {
            (0..8000)
                .map(|i| 0.5 * (2.0 * PI * f * i as f32 / RATE).sin())
                .collect()
        };
        assert_eq!(detect(&single(941.0), 0.0, 1), "");
        assert_eq!(detect(&single(1000.0), 0.0, 1), "");
        // Two tones that are not a DTMF pair (a 440 Hz / 1000 Hz chord).
        let chord: Vec<f32> = (0..8000)
            .map(|i| {
                let t = i as f32 / RATE;
                0.3 * ((2.0 * PI * 440.0 * t).sin() + (2.0 * PI * 1000.0 * t).sin())
            })
            .collect();
        assert_eq!(detect(&chord, 0.0, 1), "");
        // Too quiet: -50 dBFS tones.
        assert_eq!(detect(&tone('5', 0.003, 200), 0.0, 1), "");
        // Twist: column 12 dB below the row.
        let (r, c) = freqs('5');
        let twisted: Vec<f32> = (0..1600)
            .map(|i| {
                let t = i as f32 / RATE;
                0.3 * (2.0 * PI * r * t).sin() + 0.075 * (2.0 * PI * c * t).sin()
            })
            .collect();
        assert_eq!(detect(&twisted, 0.0, 1), "");
        // The same pair in 6 dB of twist passes.
        let ok: Vec<f32> = (0..1600)
            .map(|i| {
                let t = i as f32 / RATE;
                0.3 * (2.0 * PI * r * t).sin() + 0.15 * (2.0 * PI * c * t).sin()
            })
            .collect();
        assert_eq!(detect(&ok, 0.0, 1), "5");
        // A tone buried in noise as loud as itself.
        assert_eq!(detect(&tone('9', 0.1, 200), 0.25, 5), "");
    }

    #[test]
    fn speech_like_vowels_are_rejected() {
        // Voiced speech: a gliding pitch (100-250 Hz) with harmonics shaped by
        // the formants of a few vowels, two seconds each.
        let vowels = [
            (730.0, 1090.0, 2440.0),
            (270.0, 2290.0, 3010.0),
            (300.0, 870.0, 2240.0),
            (530.0, 1840.0, 2480.0),
        ];
        for (v, &(f1, f2, f3)) in vowels.iter().enumerate() {
            let formant = |f: f32, centre: f32| 1.0 / (1.0 + ((f - centre) / 90.0).powi(2));
            let mut phase = 0.0f32;
            let s: Vec<f32> = (0..16000)
                .map(|i| {
                    let t = i as f32 / RATE;
                    let f0 = 100.0 + 150.0 * (0.5 + 0.5 * (2.0 * PI * 0.7 * t).sin());
                    phase += 2.0 * PI * f0 / RATE;
                    let mut x = 0.0;
                    let mut k = 1.0;
                    while k * f0 < 3800.0 {
                        let f = k * f0;
                        let a = formant(f, f1) + 0.7 * formant(f, f2) + 0.4 * formant(f, f3) + 0.02;
                        x += a * (k * phase).sin();
                        k += 1.0;
                    }
                    0.1 * x
                })
                .collect();
            assert_eq!(detect(&s, 0.002, v as u64 + 1), "", "vowel {v}");
        }
    }
}
