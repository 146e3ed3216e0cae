//! Call recordings: a streaming stereo WAV writer (caller left, agent right,
//! 8 kHz 16-bit) fed through a bounded channel, the recordings index and the
//! retention policy.
//!
//! Planned role (DESIGN.md Telephony 7). Nothing is implemented yet: the calls
//! issue fills this crate.
