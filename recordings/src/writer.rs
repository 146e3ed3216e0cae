//! Blocking WAV file writer: the only code that touches `hound` and the disk.
//!
//! Run it on a thread that may block (the recorder uses `spawn_blocking`).
//! The header is rewritten every `checkpoint_frames` so that the file on disk
//! is always a valid WAV holding everything up to the last checkpoint: a
//! supervisor can listen to a call in progress, and a crash loses at most one
//! checkpoint interval (which [`crate::repair`] then recovers from the bytes
//! that did reach the disk).

use std::fs::{File, OpenOptions};
use std::io::{BufWriter, Read};
use std::path::{Path, PathBuf};

use hound::{SampleFormat, WavSpec, WavWriter};
use sha2::{Digest, Sha256};

use crate::mixer::{Block, SAMPLE_RATE};
use crate::{Error, Result};

/// Bytes per stereo 16-bit frame.
pub(crate) const BYTES_PER_FRAME: u64 = 4;

/// Longest recording a RIFF file can hold: the data chunk size is a `u32`
/// (≈ 37 hours at 32 000 bytes/s). Hound counts bytes in a `u32` too.
pub const MAX_FRAMES: u64 = (u32::MAX as u64 - 36) / BYTES_PER_FRAME;

/// The format of every recording: stereo (caller left, agent right),
/// 8 kHz, 16-bit signed PCM.
#[must_use]
pub fn recording_spec() -> WavSpec {
    WavSpec {
        channels: 2,
        sample_rate: SAMPLE_RATE,
        bits_per_sample: 16,
        sample_format: SampleFormat::Int,
    }
}

/// What a closed (or repaired) recording file holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordingInfo {
    /// Where the file is.
    pub path: PathBuf,
    /// Length of the audio in milliseconds (`samples / 8`).
    pub duration_ms: u64,
    /// Size of the file in bytes, header included.
    pub size_bytes: u64,
    /// SHA-256 of the whole file, lowercase hex: lets an auditor show a
    /// recording was not altered after the call.
    pub sha256_hex: String,
    /// Samples per channel (stereo frames).
    pub samples: u64,
}

/// Streams a stereo recording to disk.
pub struct RecordingWriter {
    path: PathBuf,
    wav: WavWriter<BufWriter<File>>,
    frames: u64,
    checkpoint_frames: u64,
    next_checkpoint: u64,
}

impl std::fmt::Debug for RecordingWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RecordingWriter")
            .field("path", &self.path)
            .field("frames", &self.frames)
            .finish_non_exhaustive()
    }
}

impl RecordingWriter {
    /// Default checkpoint interval: one second of audio.
    pub const DEFAULT_CHECKPOINT_FRAMES: u64 = SAMPLE_RATE as u64;

    /// Creates a new recording at `path` (parent directories included). An
    /// existing file is never overwritten: a recording is evidence.
    ///
    /// # Errors
    /// The file exists or cannot be created.
    pub fn create(path: impl Into<PathBuf>, checkpoint_frames: u64) -> Result<Self> {
        let path = path.into();
        if let Some(parent) = path.parent() {
            if !parent.as_os_str().is_empty() {
                std::fs::create_dir_all(parent).map_err(|e| Error::io(&path, e))?;
            }
        }
        let file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&path)
            .map_err(|e| Error::io(&path, e))?;
        let wav = WavWriter::new(BufWriter::new(file), recording_spec())
            .map_err(|e| Error::wav(&path, e))?;
        let checkpoint_frames = checkpoint_frames.max(1);
        Ok(Self {
            path,
            wav,
            frames: 0,
            checkpoint_frames,
            next_checkpoint: checkpoint_frames,
        })
    }

    /// The file being written.
    #[must_use]
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Stereo frames written so far.
    #[must_use]
    pub fn frames(&self) -> u64 {
        self.frames
    }

    /// Appends a block from the mixer.
    ///
    /// # Errors
    /// I/O errors, or [`Error::TooLong`] past [`MAX_FRAMES`].
    pub fn write_block(&mut self, block: Block<'_>) -> Result<()> {
        match block {
            Block::Audio(samples) => self.write_interleaved(samples),
            Block::Silence(frames) => self.write_silence(frames),
        }
    }

    /// Appends interleaved `[left, right, ...]` samples. A trailing odd
    /// sample is ignored so the file never holds half a frame.
    ///
    /// # Errors
    /// I/O errors, or [`Error::TooLong`] past [`MAX_FRAMES`].
    pub fn write_interleaved(&mut self, samples: &[i16]) -> Result<()> {
        for chunk in samples.chunks(2 * self.checkpoint_frames as usize) {
            let frames = (chunk.len() / 2) as u64;
            self.reserve(frames)?;
            for &s in &chunk[..frames as usize * 2] {
                self.wav
                    .write_sample(s)
                    .map_err(|e| Error::wav(&self.path, e))?;
            }
            self.advance(frames)?;
        }
        Ok(())
    }

    /// Appends `frames` stereo frames of silence.
    ///
    /// # Errors
    /// I/O errors, or [`Error::TooLong`] past [`MAX_FRAMES`].
    pub fn write_silence(&mut self, frames: u64) -> Result<()> {
        self.reserve(frames)?;
        let mut left = frames;
        while left > 0 {
            // Stop at each checkpoint so a long silence keeps the header fresh.
            let n = left.min(self.next_checkpoint - self.frames);
            for _ in 0..n * 2 {
                self.wav
                    .write_sample(0i16)
                    .map_err(|e| Error::wav(&self.path, e))?;
            }
            self.advance(n)?;
            left -= n;
        }
        Ok(())
    }

    /// Rewrites the header for everything written so far and flushes it to
    /// the OS, making the file a valid WAV of the current length.
    ///
    /// # Errors
    /// I/O errors.
    pub fn checkpoint(&mut self) -> Result<()> {
        self.wav.flush().map_err(|e| Error::wav(&self.path, e))
    }

    /// Writes the final header, syncs the file to disk and hashes it.
    ///
    /// # Errors
    /// I/O errors.
    pub fn finish(self) -> Result<RecordingInfo> {
        let Self {
            path, wav, frames, ..
        } = self;
        wav.finalize().map_err(|e| Error::wav(&path, e))?;
        let info = describe(&path, frames, true)?;
        tracing::debug!(path = %path.display(), samples = frames, "recording closed");
        Ok(info)
    }

    fn reserve(&self, frames: u64) -> Result<()> {
        if self.frames + frames > MAX_FRAMES {
            return Err(Error::TooLong {
                path: self.path.clone(),
            });
        }
        Ok(())
    }

    fn advance(&mut self, frames: u64) -> Result<()> {
        self.frames += frames;
        if self.frames >= self.next_checkpoint {
            self.checkpoint()?;
            // Next multiple of the interval after the current length.
            self.next_checkpoint =
                (self.frames / self.checkpoint_frames + 1) * self.checkpoint_frames;
        }
        Ok(())
    }
}

/// Size, duration and SHA-256 of a finished file of `frames` stereo frames;
/// `sync` forces the bytes to stable storage first (hang-up is when the
/// recording must survive a power cut).
pub(crate) fn describe(path: &Path, frames: u64, sync: bool) -> Result<RecordingInfo> {
    let mut file = File::open(path).map_err(|e| Error::io(path, e))?;
    if sync {
        // fsync through a read handle flushes the inode's dirty pages too.
        file.sync_all().map_err(|e| Error::io(path, e))?;
    }
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 64 * 1024];
    let mut size = 0u64;
    loop {
        let n = file.read(&mut buf).map_err(|e| Error::io(path, e))?;
        if n == 0 {
            break;
        }
        size += n as u64;
        hasher.update(&buf[..n]);
    }
    Ok(RecordingInfo {
        path: path.to_path_buf(),
        duration_ms: frames * 1000 / u64::from(SAMPLE_RATE),
        size_bytes: size,
        sha256_hex: hex::encode(hasher.finalize()),
        samples: frames,
    })
}

/// SHA-256 of a file, lowercase hex (e.g. to verify a stored recording).
///
/// # Errors
/// The file cannot be read.
pub fn sha256_file(path: &Path) -> Result<String> {
    Ok(describe(path, 0, false)?.sha256_hex)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::mixer::{Channel, Frame, StereoMixer};

    /// `n` samples of a sine at `freq` Hz, amplitude 8000, from sample `start`.
    pub(crate) fn tone(freq: f64, start: u64, n: usize) -> Vec<i16> {
        (0..n)
            .map(|i| {
                let t = (start + i as u64) as f64 / f64::from(SAMPLE_RATE);
                (8000.0 * (2.0 * std::f64::consts::PI * freq * t).sin()) as i16
            })
            .collect()
    }

    /// Goertzel power of `freq` in `x`, normalised by the signal's energy:
    /// close to 1 when `x` is a pure tone at `freq`, near 0 otherwise.
    pub(crate) fn tone_share(x: &[i16], freq: f64) -> f64 {
        let w = 2.0 * std::f64::consts::PI * freq / f64::from(SAMPLE_RATE);
        let coeff = 2.0 * w.cos();
        let (mut s1, mut s2) = (0.0f64, 0.0f64);
        let mut energy = 0.0f64;
        for &v in x {
            let v = f64::from(v);
            energy += v * v;
            let s0 = v + coeff * s1 - s2;
            s2 = s1;
            s1 = s0;
        }
        let power = s1 * s1 + s2 * s2 - coeff * s1 * s2;
        if energy == 0.0 {
            0.0
        } else {
            // A pure tone of N samples has Goertzel power ≈ energy·N/2.
            power / (energy * x.len() as f64 / 2.0)
        }
    }

    pub(crate) fn read_channels(path: &Path) -> (WavSpec, Vec<i16>, Vec<i16>) {
        let mut reader = hound::WavReader::open(path).expect("test file opens");
        let spec = reader.spec();
        let all: Vec<i16> = reader
            .samples::<i16>()
            .collect::<std::result::Result<_, _>>()
            .expect("test file decodes");
        let left = all.iter().step_by(2).copied().collect();
        let right = all.iter().skip(1).step_by(2).copied().collect();
        (spec, left, right)
    }

    #[test]
    fn tones_land_on_their_channels_with_the_right_duration() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("calls/c1.wav");
        let mut w = RecordingWriter::create(&path, 8000).expect("create");
        let mut m = StereoMixer::default();
        // 3 s of caller 440 Hz and agent 1000 Hz in 20 ms packets.
        for k in 0..150u64 {
            let at = k * 160;
            let caller = tone(440.0, at, 160);
            let agent = tone(1000.0, at, 160);
            for (channel, samples) in [(Channel::Caller, &caller), (Channel::Agent, &agent)] {
                let frame = Frame {
                    channel,
                    at_sample: at,
                    samples,
                };
                m.push(frame, |b| w.write_block(b)).expect("write");
            }
        }
        // The call ended 3.5 s after it started: half a second of padding.
        m.finish(28_000, |b| w.write_block(b)).expect("finish");
        let info = w.finish().expect("close");

        assert_eq!(info.samples, 28_000);
        assert_eq!(info.duration_ms, 3500);
        assert_eq!(info.size_bytes, 44 + 28_000 * 4);
        assert_eq!(
            info.size_bytes,
            std::fs::metadata(&path).expect("meta").len()
        );

        let (spec, left, right) = read_channels(&path);
        assert_eq!(spec, recording_spec());
        assert_eq!(left.len(), 28_000);
        let (l, r) = (&left[..24_000], &right[..24_000]);
        assert!(tone_share(l, 440.0) > 0.9, "{}", tone_share(l, 440.0));
        assert!(tone_share(l, 1000.0) < 0.01);
        assert!(tone_share(r, 1000.0) > 0.9);
        assert!(tone_share(r, 440.0) < 0.01);
        // Zero crossings agree: 440 Hz -> 880 per second, 1000 Hz -> 2000.
        let crossings = |x: &[i16]| x.windows(2).filter(|w| (w[0] < 0) != (w[1] < 0)).count();
        assert!((crossings(l) as i64 - 3 * 880).abs() < 10);
        assert!((crossings(r) as i64 - 3 * 2000).abs() < 10);
        assert!(left[24_000..].iter().all(|&s| s == 0));
    }

    #[test]
    fn sha256_matches_a_recomputation() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("h.wav");
        let mut w = RecordingWriter::create(&path, 8000).expect("create");
        let samples: Vec<i16> = (0..4000).map(|i| (i * 7) as i16).collect();
        w.write_interleaved(&samples).expect("write");
        let info = w.finish().expect("finish");
        let bytes = std::fs::read(&path).expect("read");
        assert_eq!(info.sha256_hex, hex::encode(Sha256::digest(&bytes)));
        assert_eq!(info.sha256_hex, sha256_file(&path).expect("hash"));
        assert_eq!(info.sha256_hex.len(), 64);
    }

    #[test]
    fn header_is_valid_mid_recording() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("live.wav");
        let mut w = RecordingWriter::create(&path, 8000).expect("create");
        let block: Vec<i16> = (0..320).map(|i| i as i16).collect();
        // 2.5 s: checkpoints at 1 s and 2 s.
        for _ in 0..125 {
            w.write_interleaved(&block).expect("write");
        }
        assert_eq!(w.frames(), 20_000);
        let reader = hound::WavReader::open(&path).expect("valid while recording");
        assert_eq!(reader.spec(), recording_spec());
        assert_eq!(reader.duration(), 16_000);
        let (_, left, right) = read_channels(&path);
        assert_eq!(left.len(), 16_000);
        assert_eq!(&left[..4], &[0, 2, 4, 6]);
        assert_eq!(&right[..4], &[1, 3, 5, 7]);

        // A long silence also passes checkpoints.
        w.write_silence(30_000).expect("silence");
        assert_eq!(
            hound::WavReader::open(&path).expect("valid").duration(),
            48_000
        );
        let info = w.finish().expect("finish");
        assert_eq!(info.samples, 50_000);
    }

    #[test]
    fn existing_file_is_never_overwritten() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("x.wav");
        std::fs::write(&path, b"evidence").expect("write");
        let err = RecordingWriter::create(&path, 8000).expect_err("must refuse");
        assert!(matches!(err, Error::Io { .. }), "{err}");
        assert_eq!(std::fs::read(&path).expect("read"), b"evidence");
    }

    #[test]
    fn refuses_to_grow_past_the_riff_limit() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut w = RecordingWriter::create(dir.path().join("big.wav"), 8000).expect("create");
        let err = w.write_silence(MAX_FRAMES + 1).expect_err("too long");
        assert!(matches!(err, Error::TooLong { .. }));
        assert_eq!(w.frames(), 0);
    }
}
