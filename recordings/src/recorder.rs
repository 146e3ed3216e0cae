//! The async front of a recording: the media relay hands decoded frames to a
//! [`RecorderHandle`] and a blocking writer thread mixes and writes them.
//!
//! ```text
//!  relay task (per call)              blocking thread (per recording)
//!  RTP -> G.711 decode -> MediaFrame   StereoMixer -> RecordingWriter -> disk
//!          try_send ──── bounded mpsc ────> blocking_recv
//!          (full? drop + count)
//! ```
//!
//! Why bounded and lossy: the relay forwards audio between two people in
//! real time. If the disk stalls (an fsync storm, a full NFS mount), an
//! unbounded queue would grow without limit and a blocking send would stall
//! the conversation itself. Dropping a frame costs 20 ms of one channel in
//! the recording (the mixer fills it with silence, keeping the channels
//! aligned); stalling costs the call. The loss is counted and stored with
//! the recording so a supervisor knows the recording has holes.

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

use crate::g711;
use crate::mixer::{Channel, Frame, MixerConfig, MixerStats, StereoMixer};
use crate::writer::{RecordingInfo, RecordingWriter};
use crate::{Error, Result};

/// Most samples one [`MediaFrame`] carries: 60 ms at 8 kHz, the longest
/// common G.711 packetisation (`a=ptime:60`). Longer payloads are sent as
/// several frames.
pub const MAX_FRAME_SAMPLES: usize = 480;

/// A decoded frame of one leg, owned and fixed-size so sending it through the
/// channel copies it without allocating.
#[derive(Clone)]
pub struct MediaFrame {
    channel: Channel,
    at_sample: u64,
    len: u16,
    samples: [i16; MAX_FRAME_SAMPLES],
}

impl std::fmt::Debug for MediaFrame {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MediaFrame")
            .field("channel", &self.channel)
            .field("at_sample", &self.at_sample)
            .field("len", &self.len)
            .finish_non_exhaustive()
    }
}

/// Which G.711 law a payload is encoded with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum G711 {
    /// PCMU, RTP payload type 0.
    Ulaw,
    /// PCMA, RTP payload type 8.
    Alaw,
}

impl MediaFrame {
    /// Copies linear samples into a frame.
    ///
    /// # Errors
    /// [`Error::FrameTooLong`] past [`MAX_FRAME_SAMPLES`].
    pub fn from_linear(channel: Channel, at_sample: u64, samples: &[i16]) -> Result<Self> {
        let mut frame = Self::empty(channel, at_sample, samples.len())?;
        frame.samples[..samples.len()].copy_from_slice(samples);
        Ok(frame)
    }

    /// Decodes a G.711 RTP payload straight into a frame (one table lookup
    /// per byte, no intermediate buffer).
    ///
    /// # Errors
    /// [`Error::FrameTooLong`] past [`MAX_FRAME_SAMPLES`].
    pub fn from_g711(channel: Channel, at_sample: u64, law: G711, payload: &[u8]) -> Result<Self> {
        let mut frame = Self::empty(channel, at_sample, payload.len())?;
        let out = &mut frame.samples[..payload.len()];
        match law {
            G711::Ulaw => g711::decode_ulaw_into(payload, out),
            G711::Alaw => g711::decode_alaw_into(payload, out),
        };
        Ok(frame)
    }

    fn empty(channel: Channel, at_sample: u64, len: usize) -> Result<Self> {
        if len > MAX_FRAME_SAMPLES {
            return Err(Error::FrameTooLong {
                len,
                max: MAX_FRAME_SAMPLES,
            });
        }
        Ok(Self {
            channel,
            at_sample,
            // Fits: checked against MAX_FRAME_SAMPLES above.
            len: len as u16,
            samples: [0; MAX_FRAME_SAMPLES],
        })
    }

    /// The frame as the mixer takes it.
    #[must_use]
    pub fn as_frame(&self) -> Frame<'_> {
        Frame {
            channel: self.channel,
            at_sample: self.at_sample,
            samples: &self.samples[..usize::from(self.len)],
        }
    }
}

/// Tuning of a recorder.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecorderConfig {
    /// Frames the channel holds before new ones are dropped. Two legs at
    /// 50 packets/s each: 256 ≈ 2.5 s of stalled disk absorbed.
    pub queue_frames: usize,
    /// The mixer's window.
    pub mixer: MixerConfig,
    /// How often (in samples) the WAV header is rewritten on disk.
    pub checkpoint_frames: u64,
}

impl Default for RecorderConfig {
    fn default() -> Self {
        Self {
            queue_frames: 256,
            mixer: MixerConfig::default(),
            checkpoint_frames: RecordingWriter::DEFAULT_CHECKPOINT_FRAMES,
        }
    }
}

/// Everything known about a finished recording.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordingSummary {
    /// The closed file.
    pub info: RecordingInfo,
    /// Frames the relay could not queue (channel full or writer gone).
    pub dropped_frames: u64,
    /// What the mixer repaired on the way.
    pub mixer: MixerStats,
}

#[allow(
    clippy::large_enum_variant,
    reason = "boxing the frame would allocate per packet; Finish is sent once"
)]
enum Command {
    Frame(MediaFrame),
    Finish {
        end_sample: u64,
        reply: oneshot::Sender<Result<RecordingSummary>>,
    },
}

/// Why [`RecorderHandle::try_send`] did not queue a frame (it was counted
/// in [`RecorderHandle::dropped_frames`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FrameDropped {
    /// The writer is behind: the queue is full.
    Full,
    /// The writer has stopped (finished or failed).
    Closed,
}

/// The relay's side of a recording. Cheap to clone (one per leg task).
#[derive(Debug, Clone)]
pub struct RecorderHandle {
    tx: mpsc::Sender<Command>,
    dropped: Arc<AtomicU64>,
}

/// Starts recordings.
#[derive(Debug)]
pub struct Recorder;

impl Recorder {
    /// Creates the file at `path` and starts its writer on tokio's blocking
    /// pool (one thread per live recording; the pool's default cap of 512
    /// threads bounds concurrent recordings per node). `call_id` names the
    /// tracing span. Must be called inside a tokio runtime.
    ///
    /// The [`JoinHandle`] completes once the file is closed: after
    /// [`RecorderHandle::finish`], or when every handle was dropped (the
    /// call task died), in which case the file is closed at the last audio
    /// received and its summary is only logged.
    ///
    /// # Errors
    /// The file cannot be created.
    pub async fn start(
        path: impl Into<PathBuf>,
        call_id: &str,
        config: RecorderConfig,
    ) -> Result<(RecorderHandle, JoinHandle<()>)> {
        let path = path.into();
        let (tx, rx) = mpsc::channel(config.queue_frames.max(1));
        let dropped = Arc::new(AtomicU64::new(0));
        let (ready_tx, ready_rx) = oneshot::channel();
        let span = tracing::info_span!("recording", call_id = %call_id);
        let task_dropped = Arc::clone(&dropped);
        let join = tokio::task::spawn_blocking(move || {
            let _enter = span.enter();
            let writer = match RecordingWriter::create(&path, config.checkpoint_frames) {
                Ok(w) => {
                    let _ = ready_tx.send(Ok(()));
                    w
                }
                Err(e) => {
                    let _ = ready_tx.send(Err(e));
                    return;
                }
            };
            run(writer, StereoMixer::new(config.mixer), rx, &task_dropped);
        });
        match ready_rx.await {
            Ok(Ok(())) => Ok((RecorderHandle { tx, dropped }, join)),
            Ok(Err(e)) => Err(e),
            // The thread panicked before reporting: treat as gone.
            Err(_) => Err(Error::RecorderGone),
        }
    }
}

impl RecorderHandle {
    /// Queues a frame without ever waiting: this runs on the RTP relay's per
    /// packet path. A frame that does not fit is dropped and counted.
    ///
    /// # Errors
    /// The frame was dropped; the caller may ignore it (it is counted).
    pub fn try_send(&self, frame: MediaFrame) -> std::result::Result<(), FrameDropped> {
        match self.tx.try_send(Command::Frame(frame)) {
            Ok(()) => Ok(()),
            Err(e) => {
                self.dropped.fetch_add(1, Ordering::Relaxed);
                Err(match e {
                    mpsc::error::TrySendError::Full(_) => FrameDropped::Full,
                    mpsc::error::TrySendError::Closed(_) => FrameDropped::Closed,
                })
            }
        }
    }

    /// Frames dropped so far.
    #[must_use]
    pub fn dropped_frames(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }

    /// The live drop counter, e.g. for a metrics gauge.
    #[must_use]
    pub fn dropped_counter(&self) -> Arc<AtomicU64> {
        Arc::clone(&self.dropped)
    }

    /// Ends the recording at `end_sample` on the call timeline (wall-clock
    /// call duration × 8000), after every frame queued before it, and returns
    /// what was written. Waits for room in the queue: hang-up is not the hot
    /// path, and the finish request must not be lost.
    ///
    /// # Errors
    /// Writing or closing the file failed, or the writer had already stopped.
    pub async fn finish(self, end_sample: u64) -> Result<RecordingSummary> {
        let (reply, rx) = oneshot::channel();
        self.tx
            .send(Command::Finish { end_sample, reply })
            .await
            .map_err(|_| Error::RecorderGone)?;
        rx.await.map_err(|_| Error::RecorderGone)?
    }
}

/// The writer thread: drains the channel until finish or until every handle
/// is gone. On a write error it keeps draining (so the relay sees a normal
/// queue) and reports the error at finish.
fn run(
    mut writer: RecordingWriter,
    mut mixer: StereoMixer,
    mut rx: mpsc::Receiver<Command>,
    dropped: &AtomicU64,
) {
    let mut failed: Option<Error> = None;
    loop {
        match rx.blocking_recv() {
            Some(Command::Frame(frame)) => {
                if failed.is_none() {
                    if let Err(e) = mixer.push(frame.as_frame(), |b| writer.write_block(b)) {
                        tracing::error!(error = %e, "recording write failed; rest of call not recorded");
                        failed = Some(e);
                    }
                }
            }
            Some(Command::Finish { end_sample, reply }) => {
                let result = close(writer, &mut mixer, end_sample, failed, dropped);
                if let Err(e) = &result {
                    tracing::error!(error = %e, "recording could not be closed");
                }
                let _ = reply.send(result);
                return;
            }
            None => {
                // Every handle dropped without finish: close at the furthest
                // audio received so the file is at least complete and valid.
                let end = mixer.high_water();
                match close(writer, &mut mixer, end, failed, dropped) {
                    Ok(s) => tracing::warn!(
                        path = %s.info.path.display(),
                        duration_ms = s.info.duration_ms,
                        sha256 = %s.info.sha256_hex,
                        "recording closed without finish (call ended abnormally)"
                    ),
                    Err(e) => tracing::error!(error = %e, "recording could not be closed"),
                }
                return;
            }
        }
    }
}

fn close(
    mut writer: RecordingWriter,
    mixer: &mut StereoMixer,
    end_sample: u64,
    failed: Option<Error>,
    dropped: &AtomicU64,
) -> Result<RecordingSummary> {
    if let Some(e) = failed {
        // Still try to leave a valid header for what did reach the disk.
        if let Err(close_err) = writer.finish() {
            tracing::warn!(error = %close_err, "closing the failed recording also failed");
        }
        return Err(e);
    }
    mixer.finish(end_sample, |b| writer.write_block(b))?;
    let mut info = writer.finish()?;
    if info.samples > end_sample {
        // A channel placed late (a starved relay) wrote past the call's end.
        tracing::debug!(
            written = info.samples,
            end_sample,
            "recording cut to the call's end"
        );
        if let Some(cut) = crate::repair::truncate_frames(&info.path, end_sample)? {
            info = cut;
        }
    }
    Ok(RecordingSummary {
        info,
        dropped_frames: dropped.load(Ordering::Relaxed),
        mixer: mixer.stats(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(at: u64) -> MediaFrame {
        MediaFrame::from_linear(Channel::Caller, at, &[1; 160]).expect("fits")
    }

    #[tokio::test]
    async fn full_queue_drops_and_counts_without_waiting() {
        // A receiver nobody drains stands for a stalled disk.
        let (tx, rx) = mpsc::channel(3);
        let handle = RecorderHandle {
            tx,
            dropped: Arc::new(AtomicU64::new(0)),
        };
        let results: Vec<_> = (0..10).map(|k| handle.try_send(frame(k * 160))).collect();
        assert_eq!(results.iter().filter(|r| r.is_ok()).count(), 3);
        assert!(results[3..].iter().all(|r| *r == Err(FrameDropped::Full)));
        assert_eq!(handle.dropped_frames(), 7);
        let counter = handle.dropped_counter();
        drop(rx);
        assert_eq!(handle.try_send(frame(0)), Err(FrameDropped::Closed));
        assert_eq!(counter.load(Ordering::Relaxed), 8);
    }

    #[test]
    fn frames_are_fixed_size_and_checked() {
        assert!(MediaFrame::from_linear(Channel::Agent, 0, &[0; MAX_FRAME_SAMPLES]).is_ok());
        assert!(matches!(
            MediaFrame::from_linear(Channel::Agent, 0, &[0; MAX_FRAME_SAMPLES + 1]),
            Err(Error::FrameTooLong { .. })
        ));
        let f = MediaFrame::from_g711(Channel::Agent, 80, G711::Ulaw, &[0xFF, 0x80, 0x00])
            .expect("fits");
        let fr = f.as_frame();
        assert_eq!(fr.channel, Channel::Agent);
        assert_eq!(fr.at_sample, 80);
        assert_eq!(fr.samples, &[0, 32124, -32124]);
        let f = MediaFrame::from_g711(Channel::Caller, 0, G711::Alaw, &[0xD5; 160]).expect("fits");
        assert_eq!(f.as_frame().samples, &[8; 160][..]);
        // Moving a frame through the channel copies a fixed-size value.
        assert!(std::mem::size_of::<MediaFrame>() < 1024);
    }
}
