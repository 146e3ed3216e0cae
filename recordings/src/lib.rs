//! Call recordings (DESIGN.md Telephony 7): every bridged call is written as
//! it runs to a stereo WAV file — caller on the left, agent on the right,
//! 8 kHz 16-bit PCM — closed cleanly at hang-up, hashed, and indexed in the
//! database with the call detail record.
//!
//! # Data flow
//!
//! ```text
//!  RTP relay (sip crate, per packet, async)
//!     │ G.711 payload ─ g711 table decode ─> MediaFrame (fixed size, no alloc)
//!     │ RecorderHandle::try_send ── bounded mpsc ── full? drop + count
//!     ▼
//!  writer thread (spawn_blocking, one per recording)
//!     StereoMixer: places both legs on the call timeline, fills gaps with
//!                  silence, drops late/duplicate audio, bounded window
//!     RecordingWriter: hound, header checkpoint every second, fsync + SHA-256
//!                      at close
//!     ▼
//!  RecordingSummary ─> CallStore::insert_recording / insert_cdr (sqlx Any:
//!                      SQLite WAL or PostgreSQL, workspace migrations)
//! ```
//!
//! At start-up the binary calls [`repair_dir`] on the recordings directory
//! (before any recorder runs) to fix the headers of files a crash left
//! behind, and indexes what it repaired.
//!
//! # Why a bounded, lossy channel
//!
//! The relay carries a live conversation; the disk may stall. A blocking
//! send would freeze the call, an unbounded queue would eat memory without
//! limit. So the relay never waits: when the queue is full the frame is
//! dropped, the mixer writes silence in its place (the channels stay
//! aligned), and the count is stored with the recording.
//!
//! # Layout
//!
//! * [`g711`]: µ-law/A-law decode tables and encoders.
//! * [`mixer`]: the sans-IO stereo timeline ([`StereoMixer`]).
//! * [`writer`]: the blocking WAV writer ([`RecordingWriter`]).
//! * [`recorder`]: the async front ([`Recorder`], [`RecorderHandle`]).
//! * [`repair`]: crash repair of WAV headers.
//! * [`store`]: the recordings index, CDRs and retention ([`CallStore`]).

use std::path::{Path, PathBuf};

pub mod g711;
pub mod mixer;
pub mod recorder;
pub mod repair;
pub mod store;
pub mod writer;

pub use mixer::{Block, Channel, Frame, MixerConfig, MixerStats, StereoMixer, SAMPLE_RATE};
pub use recorder::{
    FrameDropped, MediaFrame, Recorder, RecorderConfig, RecorderHandle, RecordingSummary, G711,
    MAX_FRAME_SAMPLES,
};
pub use repair::{repair_dir, repair_file, RepairReport};
pub use store::{
    connect_pool, direction, migrator, reason, recording_id, CallMeta, CallStore, Cdr, HangupBy,
    HourCount, PurgeReport, RecordingFilter, RecordingRow, MIGRATOR,
};
pub use writer::{sha256_file, RecordingInfo, RecordingWriter};

/// Errors of this crate.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A file operation failed.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// The WAV encoder failed (usually an I/O error underneath).
    #[error("{}: {source}", path.display())]
    Wav {
        /// The recording.
        path: PathBuf,
        /// Hound's error.
        #[source]
        source: hound::Error,
    },
    /// The recording reached the 4 GiB limit of a RIFF file (≈ 37 h).
    #[error("{}: recording reached the WAV size limit", path.display())]
    TooLong {
        /// The recording.
        path: PathBuf,
    },
    /// A file found by the repair scan is not one of our recordings.
    #[error("{}: not repairable: {why}", path.display())]
    NotRepairable {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        why: &'static str,
    },
    /// A frame longer than [`MAX_FRAME_SAMPLES`].
    #[error("frame of {len} samples exceeds the maximum of {max}")]
    FrameTooLong {
        /// Samples offered.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// The writer thread is gone (it failed earlier or panicked).
    #[error("the recording writer has stopped")]
    RecorderGone,
    /// A database error.
    #[error("database: {0}")]
    Db(#[from] sqlx::Error),
    /// A migration failed or the database holds unknown migrations.
    #[error("database migration: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// A stored value this version does not understand.
    #[error("unexpected value {value:?} in column {column}")]
    BadValue {
        /// The column.
        column: &'static str,
        /// The stored text.
        value: String,
    },
}

impl Error {
    pub(crate) fn io(path: &Path, source: std::io::Error) -> Self {
        Self::Io {
            path: path.to_path_buf(),
            source,
        }
    }

    pub(crate) fn wav(path: &Path, source: hound::Error) -> Self {
        Self::Wav {
            path: path.to_path_buf(),
            source,
        }
    }
}

/// Result with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
