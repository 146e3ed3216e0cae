//! WAV decoding and sample-rate conversion to the telephone rate.
//!
//! Prompts may come from any tool, so any PCM WAV `hound` reads is accepted:
//! 8/16/24/32-bit integer or 32-bit float, any channel count (mixed down by
//! averaging), any rate from 4 kHz to 192 kHz. Everything is converted once, at
//! load, to mono 8 kHz.
//!
//! Resampling uses a windowed-sinc (Blackman) low-pass evaluated at each output
//! instant, with the cut-off at 92 % of the lower Nyquist frequency: content above
//! 4 kHz in a 44.1/48 kHz studio file is removed instead of folding back as
//! audible aliasing (which picking the nearest sample would do). Each output is
//! divided by the sum of the taps it used, so the gain at DC is exactly one and
//! the file's edges do not dip. The kernel is tabulated at 1/512 of an input
//! sample and interpolated, which keeps loading a long 48 kHz file fast.

use std::f64::consts::PI;
use std::io::Read;
use std::path::Path;

use crate::error::{Error, Result};

/// The telephone sample rate every prompt is converted to.
pub const RATE: u32 = 8000;

/// Zero crossings of the sinc on each side of the centre.
const ZEROS: f64 = 16.0;
/// Table resolution: kernel points per input sample.
const TABLE_STEPS: f64 = 512.0;
/// Fraction of the lower Nyquist frequency kept.
const PASSBAND: f64 = 0.92;

/// Decode a WAV stream to mono 8 kHz 16-bit samples.
pub fn decode_wav(reader: impl Read, path: &Path) -> Result<Vec<i16>> {
    let bad = |reason: String| Error::Wav {
        path: path.to_owned(),
        reason,
    };
    let mut wav = hound::WavReader::new(reader).map_err(|e| bad(e.to_string()))?;
    let spec = wav.spec();
    if !(4000..=192_000).contains(&spec.sample_rate) {
        return Err(bad(format!(
            "sample rate {} Hz is outside 4000..=192000",
            spec.sample_rate
        )));
    }
    let channels = usize::from(spec.channels);
    if channels == 0 {
        return Err(bad("no channels".to_owned()));
    }
    let interleaved: Vec<f32> = match (spec.sample_format, spec.bits_per_sample) {
        (hound::SampleFormat::Float, 32) => wav
            .samples::<f32>()
            .collect::<Result<_, _>>()
            .map_err(|e| bad(e.to_string()))?,
        (hound::SampleFormat::Int, bits @ 1..=32) => {
            let scale = 1.0 / (1u64 << (bits - 1)) as f32;
            wav.samples::<i32>()
                .map(|s| s.map(|s| s as f32 * scale))
                .collect::<Result<_, _>>()
                .map_err(|e| bad(e.to_string()))?
        }
        (format, bits) => {
            return Err(bad(format!(
                "{bits}-bit {format:?} samples are not supported"
            )))
        }
    };
    let mono: Vec<f32> = interleaved
        .chunks_exact(channels)
        .map(|frame| frame.iter().sum::<f32>() / channels as f32)
        .collect();
    let resampled = resample(&mono, spec.sample_rate, RATE);
    Ok(resampled.iter().map(|&s| to_i16(s)).collect())
}

fn to_i16(s: f32) -> i16 {
    (s * 32768.0).round().clamp(-32768.0, 32767.0) as i16
}

/// Resample `input` from `from` Hz to `to` Hz with a windowed-sinc low-pass.
pub fn resample(input: &[f32], from: u32, to: u32) -> Vec<f32> {
    if from == to || input.is_empty() || from == 0 || to == 0 {
        return input.to_vec();
    }
    // Input samples per output sample, and the cut-off in cycles per input
    // sample (below both Nyquist frequencies).
    let step = f64::from(from) / f64::from(to);
    let cutoff = 0.5 * PASSBAND * (1.0_f64).min(1.0 / step);
    let half = ZEROS / (2.0 * cutoff);
    let table = kernel_table(cutoff, half);
    let out_len =
        ((input.len() as u64 * u64::from(to) + u64::from(from) / 2) / u64::from(from)) as usize;
    let mut out = Vec::with_capacity(out_len);
    let last = input.len() as i64 - 1;
    for j in 0..out_len {
        let t = j as f64 * step;
        let lo = ((t - half).ceil() as i64).max(0);
        let hi = ((t + half).floor() as i64).min(last);
        let (mut acc, mut weight) = (0.0f64, 0.0f64);
        for k in lo..=hi {
            let h = lookup(&table, (k as f64 - t).abs());
            acc += f64::from(input[k as usize]) * h;
            weight += h;
        }
        out.push(if weight.abs() > 1e-9 {
            (acc / weight) as f32
        } else {
            0.0
        });
    }
    out
}

/// The kernel `2fc·sinc(2fc·x)·blackman(x)` for `x` in `0..=half` input samples.
fn kernel_table(cutoff: f64, half: f64) -> Vec<f64> {
    let n = (half * TABLE_STEPS).ceil() as usize + 2;
    (0..n)
        .map(|i| {
            let x = i as f64 / TABLE_STEPS;
            if x >= half {
                return 0.0;
            }
            let arg = 2.0 * cutoff * x;
            let sinc = if arg == 0.0 {
                1.0
            } else {
                (PI * arg).sin() / (PI * arg)
            };
            // Blackman window over -half..half, centred at 0.
            let w = 0.42 + 0.5 * (PI * x / half).cos() + 0.08 * (2.0 * PI * x / half).cos();
            2.0 * cutoff * sinc * w
        })
        .collect()
}

fn lookup(table: &[f64], x: f64) -> f64 {
    let pos = x * TABLE_STEPS;
    let i = pos.floor() as usize;
    match (table.get(i), table.get(i + 1)) {
        (Some(&a), Some(&b)) => a + (b - a) * (pos - i as f64),
        (Some(&a), None) => a,
        _ => 0.0,
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// Power of `freq` in `x` (sampled at `rate`), relative to a full-scale
    /// sine: 1.0 for a full-scale tone at that frequency.
    pub(crate) fn tone_power(x: &[f32], rate: u32, freq: f64) -> f64 {
        let w = 2.0 * PI * freq / f64::from(rate);
        let (mut re, mut im) = (0.0, 0.0);
        for (n, &s) in x.iter().enumerate() {
            re += f64::from(s) * (w * n as f64).cos();
            im += f64::from(s) * (w * n as f64).sin();
        }
        let amp = 2.0 * (re * re + im * im).sqrt() / x.len() as f64;
        amp * amp
    }

    fn sine(rate: u32, freq: f64, amp: f32, secs: f64) -> Vec<f32> {
        let n = (f64::from(rate) * secs) as usize;
        (0..n)
            .map(|i| amp * (2.0 * PI * freq * i as f64 / f64::from(rate)).sin() as f32)
            .collect()
    }

    #[test]
    fn passband_tone_keeps_its_level() {
        for from in [11025, 16000, 22050, 44100, 48000] {
            let out = resample(&sine(from, 1000.0, 0.5, 0.5), from, RATE);
            assert_eq!(out.len(), 4000, "{from}");
            // Ignore the edges.
            let p = tone_power(&out[200..3800], RATE, 1000.0);
            assert!((p - 0.25).abs() < 0.01, "{from}: {p}");
        }
    }

    #[test]
    fn content_above_4khz_is_filtered_not_aliased() {
        // 5 kHz at 48 kHz would fold to 3 kHz when decimated naively.
        let x = sine(48000, 5000.0, 0.5, 0.5);
        let naive: Vec<f32> = x.iter().step_by(6).copied().collect();
        assert!(
            tone_power(&naive, RATE, 3000.0) > 0.2,
            "the naive alias is loud"
        );
        let out = resample(&x, 48000, RATE);
        let alias = tone_power(&out[200..3800], RATE, 3000.0);
        // At least 50 dB below the original 0.25.
        assert!(alias < 0.25e-5, "alias power {alias}");
    }

    #[test]
    fn upsampling_works_too() {
        let out = resample(&sine(6000, 700.0, 0.5, 0.5), 6000, RATE);
        assert_eq!(out.len(), 4000);
        let p = tone_power(&out[200..3800], RATE, 700.0);
        assert!((p - 0.25).abs() < 0.01, "{p}");
    }

    fn wav_bytes(spec: hound::WavSpec, samples: &[f32]) -> Vec<u8> {
        let mut buf = std::io::Cursor::new(Vec::new());
        {
            let mut w = hound::WavWriter::new(&mut buf, spec).expect("writer");
            for &s in samples {
                for _ in 0..spec.channels {
                    match (spec.sample_format, spec.bits_per_sample) {
                        (hound::SampleFormat::Float, _) => w.write_sample(s).expect("write"),
                        (_, 8) => w.write_sample((s * 127.0) as i8).expect("write"),
                        (_, 16) => w.write_sample((s * 32767.0) as i16).expect("write"),
                        (_, bits) => w
                            .write_sample(
                                (f64::from(s) * f64::from((1u32 << (bits - 1)) - 1)) as i32,
                            )
                            .expect("write"),
                    }
                }
            }
            w.finalize().expect("finalize");
        }
        buf.into_inner()
    }

    #[test]
    fn decodes_common_formats_to_8khz_mono() {
        let formats = [
            (8000, 1, 16, hound::SampleFormat::Int),
            (16000, 2, 16, hound::SampleFormat::Int),
            (44100, 2, 24, hound::SampleFormat::Int),
            (48000, 1, 32, hound::SampleFormat::Float),
            (22050, 1, 8, hound::SampleFormat::Int),
        ];
        for (rate, channels, bits, format) in formats {
            let spec = hound::WavSpec {
                channels,
                sample_rate: rate,
                bits_per_sample: bits,
                sample_format: format,
            };
            let bytes = wav_bytes(spec, &sine(rate, 440.0, 0.5, 1.0));
            let pcm = decode_wav(&bytes[..], Path::new("t.wav")).expect("decodes");
            assert!(
                (pcm.len() as i64 - 8000).abs() <= 1,
                "{rate}: {}",
                pcm.len()
            );
            let f: Vec<f32> = pcm[400..7600]
                .iter()
                .map(|&s| f32::from(s) / 32768.0)
                .collect();
            let p = tone_power(&f, RATE, 440.0);
            assert!((p - 0.25).abs() < 0.02, "{rate}/{channels}/{bits}: {p}");
        }
    }

    #[test]
    fn junk_is_an_error_not_a_panic() {
        let e = decode_wav(&b"RIFF....WAVEjunk"[..], Path::new("x.wav"));
        assert!(matches!(e, Err(Error::Wav { .. })), "{e:?}");
        let e = decode_wav(&b""[..], Path::new("x.wav"));
        assert!(matches!(e, Err(Error::Wav { .. })));
    }
}
