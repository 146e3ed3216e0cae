//! Sans-IO stereo timeline: turns two independently arriving mono streams
//! (caller and agent legs) into one aligned, interleaved stereo stream.
//!
//! Both legs are placed on the call's 8 kHz timeline by the relay (`at_sample`
//! = RTP timestamp delta since the leg's first packet + the leg's start offset
//! on the call). The mixer keeps a short window of not-yet-written audio per
//! channel and writes a stretch of the timeline once both channels have
//! covered it (minus a small reorder allowance), so the two channels stay
//! sample-aligned in the file whatever the packet timing:
//!
//! ```text
//!  committed (written)        caller high water      agent high water
//!  |<---- caller window ------------->|                     |
//!  |<---- agent window ------------------------------------>|
//! ```
//!
//! * Gaps (packet loss, silence suppression, a leg that has not joined yet)
//!   are written as digital silence on that channel only.
//! * Samples for a stretch already written are *late* and dropped (counted);
//!   samples for a stretch already heard in the window are duplicates and
//!   dropped (counted); reordered packets inside the window fill their hole.
//! * Memory is bounded: a channel never runs more than `max_lag` ahead of what
//!   is written. When it would, the mixer writes the oldest audio with silence
//!   for the missing side, so a leg that went quiet (one-way audio, a hold
//!   without RTP) costs at most `max_lag` of buffering, and a forward jump of
//!   an hour is written as one [`Block::Silence`] without allocating.
//!
//! Output goes to a caller-supplied sink as [`Block`]s; the mixer does no
//! I/O, reads no clock and never allocates after construction.

use std::collections::VecDeque;

/// Samples per second on the call timeline (G.711 narrowband).
pub const SAMPLE_RATE: u32 = 8_000;

/// Which side of the call a frame belongs to; also its WAV channel index.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Channel {
    /// The citizen's leg: left channel (WAV channel 0).
    Caller = 0,
    /// The agent's leg: right channel (WAV channel 1).
    Agent = 1,
}

impl Channel {
    /// The WAV channel index (0 = left, 1 = right).
    #[must_use]
    pub const fn index(self) -> usize {
        self as usize
    }
}

/// A run of decoded mono audio for one channel, placed on the call timeline.
#[derive(Debug, Clone, Copy)]
pub struct Frame<'a> {
    /// Which leg the audio came from.
    pub channel: Channel,
    /// Position of `samples[0]` on the call's 8 kHz timeline.
    pub at_sample: u64,
    /// 16-bit linear PCM, 8 kHz mono.
    pub samples: &'a [i16],
}

/// A piece of the stereo output, in timeline order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Block<'a> {
    /// Interleaved `[caller, agent, caller, agent, ...]` samples.
    Audio(&'a [i16]),
    /// This many stereo frames of silence on both channels.
    Silence(u64),
}

impl Block<'_> {
    /// Number of stereo frames (samples per channel) in the block.
    #[must_use]
    pub fn frames(&self) -> u64 {
        match self {
            Block::Audio(s) => s.len() as u64 / 2,
            Block::Silence(n) => *n,
        }
    }
}

/// Tuning of the mixer's window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MixerConfig {
    /// Longest a channel may run ahead of the written position, in samples.
    /// Bounds memory (3 bytes per sample per channel) and is the longest wait
    /// for a silent leg before its side is written as silence.
    pub max_lag: u32,
    /// How far behind the slower channel's newest sample the mixer stays so a
    /// reordered packet can still fill its hole, in samples.
    pub reorder_window: u32,
}

impl Default for MixerConfig {
    fn default() -> Self {
        Self {
            // One second: far above any sane jitter between the two legs.
            max_lag: SAMPLE_RATE,
            // 60 ms: three 20 ms packets of reordering.
            reorder_window: SAMPLE_RATE / 1000 * 60,
        }
    }
}

/// Counters describing what the mixer had to repair; all in samples of one
/// channel unless noted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MixerStats {
    /// Stereo frames written so far (the file's length in samples).
    pub written_frames: u64,
    /// Samples that arrived for a stretch already written, per channel.
    pub late_samples: [u64; 2],
    /// Samples for positions already heard in the window, per channel.
    pub duplicate_samples: [u64; 2],
    /// Written samples nobody sent audio for, per channel (gaps, a leg that
    /// had not joined, forced writes for a silent leg).
    pub silence_samples: [u64; 2],
    /// Samples beyond the end given to [`StereoMixer::finish`], per channel.
    pub beyond_end_samples: [u64; 2],
    /// Times the window was full and audio was written before the other
    /// channel had caught up.
    pub forced_writes: u64,
}

/// Frames per emitted [`Block::Audio`]; 40 ms keeps the scratch buffer small
/// while amortising the writer's per-call cost.
const BLOCK_FRAMES: usize = 320;

#[derive(Debug)]
struct Lane {
    /// Samples from the written position up to this channel's high water.
    samples: VecDeque<i16>,
    /// Whether each sample of `samples` was heard (false = gap filler).
    heard: VecDeque<bool>,
}

impl Lane {
    fn with_capacity(n: usize) -> Self {
        Self {
            samples: VecDeque::with_capacity(n),
            heard: VecDeque::with_capacity(n),
        }
    }

    fn len(&self) -> u64 {
        self.samples.len() as u64
    }
}

/// The sans-IO stereo timeline. Feed it with [`push`](Self::push), end it
/// with [`finish`](Self::finish); both write every block that became final to
/// the sink before returning.
#[derive(Debug)]
pub struct StereoMixer {
    config: MixerConfig,
    /// Timeline position of the first sample not yet written; the front of
    /// both lanes.
    written: u64,
    lanes: [Lane; 2],
    scratch: Box<[i16; BLOCK_FRAMES * 2]>,
    stats: MixerStats,
    finished: bool,
}

impl Default for StereoMixer {
    fn default() -> Self {
        Self::new(MixerConfig::default())
    }
}

impl StereoMixer {
    /// A mixer at timeline position 0. All memory is reserved here.
    #[must_use]
    pub fn new(config: MixerConfig) -> Self {
        let max_lag = config.max_lag.max(1);
        let config = MixerConfig {
            max_lag,
            reorder_window: config.reorder_window.min(max_lag),
        };
        let cap = max_lag as usize;
        Self {
            config,
            written: 0,
            lanes: [Lane::with_capacity(cap), Lane::with_capacity(cap)],
            scratch: Box::new([0; BLOCK_FRAMES * 2]),
            stats: MixerStats::default(),
            finished: false,
        }
    }

    /// Counters so far.
    #[must_use]
    pub fn stats(&self) -> MixerStats {
        self.stats
    }

    /// Timeline position up to which output has been written.
    #[must_use]
    pub fn written(&self) -> u64 {
        self.written
    }

    /// The furthest timeline position either channel has reached.
    #[must_use]
    pub fn high_water(&self) -> u64 {
        self.written + self.lanes[0].len().max(self.lanes[1].len())
    }

    /// Samples currently held waiting to be written, both channels together.
    #[must_use]
    pub fn buffered_samples(&self) -> usize {
        self.lanes[0].samples.len() + self.lanes[1].samples.len()
    }

    /// Places a frame on the timeline and writes everything that became
    /// final to `sink`. Frames after [`finish`](Self::finish) are ignored.
    ///
    /// # Errors
    /// Whatever `sink` returns; the mixer's state stays consistent (the block
    /// the sink refused counts as written).
    pub fn push<E>(
        &mut self,
        frame: Frame<'_>,
        mut sink: impl FnMut(Block<'_>) -> Result<(), E>,
    ) -> Result<(), E> {
        if self.finished {
            return Ok(());
        }
        let ch = frame.channel.index();
        let mut at = frame.at_sample;
        let mut samples = frame.samples;

        // Drop what is already on disk.
        if at < self.written {
            let late = (self.written - at).min(samples.len() as u64);
            self.stats.late_samples[ch] += late;
            samples = &samples[late as usize..];
            at = self.written;
        }
        let cap = u64::from(self.config.max_lag);
        // A frame longer than the window is placed in window-sized pieces.
        while !samples.is_empty() {
            let take = samples.len().min(cap as usize);
            let (piece, rest) = samples.split_at(take);
            let end = at + take as u64;
            if end - self.written > cap {
                self.stats.forced_writes += 1;
                let upto = end - cap;
                self.emit(upto, &mut sink)?;
            }
            self.place(ch, at, piece);
            samples = rest;
            at = end;
        }
        let target = self.ready_position();
        if target > self.written {
            self.emit(target, &mut sink)?;
        }
        Ok(())
    }

    /// Ends the call at `end_sample` (wall-clock duration × 8000): writes all
    /// held audio up to there, pads with silence so the recording lasts
    /// exactly `end_sample` samples, and drops audio beyond it (counted).
    /// If more than `end_sample` was already written (a leg's RTP clock ran
    /// fast), nothing is padded and the recording keeps its length.
    ///
    /// # Errors
    /// Whatever `sink` returns.
    pub fn finish<E>(
        &mut self,
        end_sample: u64,
        mut sink: impl FnMut(Block<'_>) -> Result<(), E>,
    ) -> Result<(), E> {
        if self.finished {
            return Ok(());
        }
        self.finished = true;
        for (ch, lane) in self.lanes.iter_mut().enumerate() {
            let keep = end_sample.saturating_sub(self.written);
            if lane.len() > keep {
                let heard = lane
                    .heard
                    .iter()
                    .skip(keep as usize)
                    .filter(|h| **h)
                    .count();
                self.stats.beyond_end_samples[ch] += heard as u64;
                lane.samples.truncate(keep as usize);
                lane.heard.truncate(keep as usize);
            }
        }
        if end_sample > self.written {
            self.emit(end_sample, &mut sink)?;
        }
        Ok(())
    }

    /// Where output may safely advance to: both channels have covered it,
    /// less the reorder allowance. (A channel a whole window ahead has
    /// already been written by the forced write in `push`.)
    fn ready_position(&self) -> u64 {
        let both = self.lanes[0].len().min(self.lanes[1].len());
        self.written + both.saturating_sub(u64::from(self.config.reorder_window))
    }

    fn place(&mut self, ch: usize, at: u64, samples: &[i16]) {
        let lane = &mut self.lanes[ch];
        let offset = (at - self.written) as usize;
        // Gap before this frame: silence until (and unless) a reordered
        // packet fills it.
        while lane.samples.len() < offset {
            lane.samples.push_back(0);
            lane.heard.push_back(false);
        }
        for (i, &s) in samples.iter().enumerate() {
            let idx = offset + i;
            if idx < lane.samples.len() {
                if lane.heard[idx] {
                    self.stats.duplicate_samples[ch] += 1;
                } else {
                    lane.samples[idx] = s;
                    lane.heard[idx] = true;
                }
            } else {
                lane.samples.push_back(s);
                lane.heard.push_back(true);
            }
        }
    }

    /// Writes the timeline from `written` to `upto`.
    fn emit<E>(
        &mut self,
        upto: u64,
        sink: &mut impl FnMut(Block<'_>) -> Result<(), E>,
    ) -> Result<(), E> {
        while self.written < upto {
            let remaining = upto - self.written;
            let held = self.lanes[0].len().max(self.lanes[1].len());
            if held == 0 {
                // Nothing held on either side: the rest is a silent stretch,
                // however long, written without touching memory.
                self.written = upto;
                self.stats.written_frames += remaining;
                self.stats.silence_samples[0] += remaining;
                self.stats.silence_samples[1] += remaining;
                return sink(Block::Silence(remaining));
            }
            let n = remaining.min(held).min(BLOCK_FRAMES as u64) as usize;
            for i in 0..n {
                for ch in 0..2 {
                    let lane = &mut self.lanes[ch];
                    let sample = match (lane.samples.pop_front(), lane.heard.pop_front()) {
                        (Some(s), Some(true)) => s,
                        _ => {
                            self.stats.silence_samples[ch] += 1;
                            0
                        }
                    };
                    self.scratch[i * 2 + ch] = sample;
                }
            }
            self.written += n as u64;
            self.stats.written_frames += n as u64;
            sink(Block::Audio(&self.scratch[..n * 2]))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::convert::Infallible;

    /// Collects the mixer's output as `(left, right)` sample vectors.
    #[derive(Default)]
    struct Out {
        left: Vec<i16>,
        right: Vec<i16>,
        silence_blocks: Vec<u64>,
    }

    impl Out {
        fn sink(&mut self) -> impl FnMut(Block<'_>) -> Result<(), Infallible> + '_ {
            |b| {
                match b {
                    Block::Audio(s) => {
                        for pair in s.chunks_exact(2) {
                            self.left.push(pair[0]);
                            self.right.push(pair[1]);
                        }
                    }
                    Block::Silence(n) => {
                        self.silence_blocks.push(n);
                        self.left.extend(std::iter::repeat_n(0, n as usize));
                        self.right.extend(std::iter::repeat_n(0, n as usize));
                    }
                }
                Ok(())
            }
        }
    }

    fn push(m: &mut StereoMixer, out: &mut Out, channel: Channel, at: u64, samples: &[i16]) {
        let frame = Frame {
            channel,
            at_sample: at,
            samples,
        };
        let Ok(()) = m.push(frame, out.sink());
    }

    fn finish(m: &mut StereoMixer, out: &mut Out, end: u64) {
        let Ok(()) = m.finish(end, out.sink());
    }

    /// A recognisable ramp: sample i of the channel's timeline is `base + i`.
    fn ramp(base: i16, at: u64, n: usize) -> Vec<i16> {
        (0..n).map(|i| base + (at as i16) + i as i16).collect()
    }

    #[test]
    fn aligned_frames_interleave_caller_left_agent_right() {
        let mut m = StereoMixer::default();
        let mut out = Out::default();
        for k in 0..50u64 {
            let at = k * 160;
            push(&mut m, &mut out, Channel::Caller, at, &ramp(0, at, 160));
            push(&mut m, &mut out, Channel::Agent, at, &ramp(10_000, at, 160));
        }
        // Held back only by the reorder window.
        assert_eq!(m.written(), 50 * 160 - 480);
        finish(&mut m, &mut out, 50 * 160);
        assert_eq!(out.left, ramp(0, 0, 8000));
        assert_eq!(out.right, ramp(10_000, 0, 8000));
        let s = m.stats();
        assert_eq!(s.written_frames, 8000);
        assert_eq!(s.silence_samples, [0, 0]);
        assert_eq!(s.late_samples, [0, 0]);
    }

    #[test]
    fn gap_in_one_channel_is_silence_on_that_channel_only() {
        let mut m = StereoMixer::default();
        let mut out = Out::default();
        for k in 0..20u64 {
            let at = k * 160;
            push(&mut m, &mut out, Channel::Caller, at, &[1; 160]);
            // Agent loses packets 5..10.
            if !(5..10).contains(&k) {
                push(&mut m, &mut out, Channel::Agent, at, &[2; 160]);
            }
        }
        finish(&mut m, &mut out, 3200);
        assert_eq!(out.left, vec![1; 3200]);
        assert!(out.right[..800].iter().all(|&s| s == 2));
        assert!(out.right[800..1600].iter().all(|&s| s == 0));
        assert!(out.right[1600..].iter().all(|&s| s == 2));
        assert_eq!(m.stats().silence_samples, [0, 800]);
    }

    #[test]
    fn reordered_packet_inside_the_window_fills_its_hole() {
        let mut m = StereoMixer::default();
        let mut out = Out::default();
        push(&mut m, &mut out, Channel::Caller, 0, &[1; 160]);
        push(&mut m, &mut out, Channel::Agent, 0, &[2; 160]);
        // Caller packet 2 overtakes packet 1.
        push(&mut m, &mut out, Channel::Caller, 320, &[3; 160]);
        push(&mut m, &mut out, Channel::Agent, 160, &[2; 320]);
        push(&mut m, &mut out, Channel::Caller, 160, &[4; 160]);
        finish(&mut m, &mut out, 480);
        let expect: Vec<i16> = [[1; 160], [4; 160], [3; 160]].concat();
        assert_eq!(out.left, expect);
        assert_eq!(m.stats().late_samples, [0, 0]);
        assert_eq!(m.stats().silence_samples, [0, 0]);
    }

    #[test]
    fn late_and_duplicate_frames_are_dropped_and_counted() {
        let mut m = StereoMixer::default();
        let mut out = Out::default();
        for k in 0..25u64 {
            push(&mut m, &mut out, Channel::Caller, k * 160, &[1; 160]);
            push(&mut m, &mut out, Channel::Agent, k * 160, &[2; 160]);
        }
        let written = m.written();
        assert!(written >= 160);
        // A packet for a stretch already written: dropped whole.
        push(&mut m, &mut out, Channel::Caller, 0, &[9; 160]);
        // A duplicate of the newest agent packet (still in the window).
        push(&mut m, &mut out, Channel::Agent, 24 * 160, &[9; 160]);
        // Overlapping the written edge: the written part is late.
        push(&mut m, &mut out, Channel::Agent, written - 10, &[9; 20]);
        finish(&mut m, &mut out, 4000);
        let s = m.stats();
        assert_eq!(s.late_samples, [160, 10]);
        assert_eq!(s.duplicate_samples, [0, 160 + 10]);
        assert!(out.left.iter().all(|&x| x == 1));
        assert!(out.right.iter().all(|&x| x == 2));
        assert_eq!(out.left.len(), 4000);
    }

    #[test]
    fn finish_pads_to_wall_time_and_cuts_beyond() {
        let mut m = StereoMixer::default();
        let mut out = Out::default();
        push(&mut m, &mut out, Channel::Caller, 0, &[1; 800]);
        push(&mut m, &mut out, Channel::Agent, 400, &[2; 400]);
        // Call lasted 3 s on the wall clock.
        finish(&mut m, &mut out, 24_000);
        assert_eq!(out.left.len(), 24_000);
        assert_eq!(out.right.len(), 24_000);
        assert_eq!(m.stats().written_frames, 24_000);
        assert!(out.right[..400].iter().all(|&x| x == 0));
        assert!(out.right[400..800].iter().all(|&x| x == 2));

        // Audio past the end of the call is dropped.
        let mut m = StereoMixer::default();
        let mut out = Out::default();
        push(&mut m, &mut out, Channel::Caller, 0, &[1; 1000]);
        finish(&mut m, &mut out, 600);
        assert_eq!(out.left, vec![1; 600]);
        assert_eq!(m.stats().beyond_end_samples, [400, 0]);
        // Nothing more after finish.
        push(&mut m, &mut out, Channel::Caller, 600, &[1; 160]);
        assert_eq!(out.left.len(), 600);
    }

    #[test]
    fn a_silent_leg_costs_at_most_the_window() {
        let cfg = MixerConfig::default();
        let mut m = StereoMixer::new(cfg);
        let mut out = Out::default();
        // Ten minutes of caller audio, the agent never sends anything.
        for k in 0..(10 * 60 * 50u64) {
            push(&mut m, &mut out, Channel::Caller, k * 160, &[5; 160]);
            assert!(m.buffered_samples() <= cfg.max_lag as usize);
        }
        let written = m.written();
        assert_eq!(written, 10 * 60 * 8000 - u64::from(cfg.max_lag));
        assert!(m.stats().forced_writes > 0);
        assert_eq!(out.right.iter().filter(|&&x| x != 0).count(), 0);
        assert_eq!(out.left.len() as u64, written);
    }

    #[test]
    fn long_jump_forward_is_one_silence_block() {
        let mut m = StereoMixer::default();
        let mut out = Out::default();
        push(&mut m, &mut out, Channel::Caller, 0, &[1; 160]);
        push(&mut m, &mut out, Channel::Agent, 0, &[2; 160]);
        // One hour later (hold without RTP, say) both legs resume.
        let hour = 3600 * 8000u64;
        push(&mut m, &mut out, Channel::Caller, hour, &[3; 160]);
        assert!(m.buffered_samples() <= 2 * 8000);
        push(&mut m, &mut out, Channel::Agent, hour, &[4; 160]);
        finish(&mut m, &mut out, hour + 160);
        assert_eq!(out.left.len() as u64, hour + 160);
        assert_eq!(out.silence_blocks.len(), 1);
        assert!(out.silence_blocks[0] > hour - 8000 * 2);
        assert_eq!(out.left[..160], [1; 160]);
        assert_eq!(out.right[out.right.len() - 160..], [4; 160]);
    }

    #[test]
    fn frame_longer_than_the_window_is_placed_in_pieces() {
        let mut m = StereoMixer::new(MixerConfig {
            max_lag: 100,
            reorder_window: 10,
        });
        let mut out = Out::default();
        let long = ramp(0, 0, 1000);
        push(&mut m, &mut out, Channel::Caller, 0, &long);
        assert!(m.buffered_samples() <= 100);
        finish(&mut m, &mut out, 1000);
        assert_eq!(out.left, long);
    }

    #[test]
    fn sink_error_is_returned() {
        let mut m = StereoMixer::new(MixerConfig {
            max_lag: 100,
            reorder_window: 0,
        });
        let r = m.push(
            Frame {
                channel: Channel::Caller,
                at_sample: 0,
                samples: &[1; 300],
            },
            |_| Err("disk full"),
        );
        assert_eq!(r, Err("disk full"));
    }
}
