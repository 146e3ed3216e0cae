//! One outgoing RTP stream per leg, whatever feeds it.
//!
//! A phone expects the media it receives in one dialog to be one RTP stream: one
//! SSRC, sequence numbers that go up by one, timestamps that follow the sampling
//! clock (RFC 3550 §5.1, §8.2). Behind the server the source of what we send a leg
//! changes: the other phone's SSRC changes after a re-INVITE or a transfer, and the
//! IVR switches between its prompts and the other leg. Many phones treat a new
//! SSRC or a sequence jump as loss or as a new talker and glitch or mute, so the
//! [`StreamRewriter`] presents a stream of its own:
//!
//! - **SSRC**: ours, fixed for the life of the stream (chosen by the owner, at
//!   random in production).
//! - **Sequence numbers**: per source an offset, so that the first packet of a new
//!   source gets `last_sent + 1`; packets of one source keep their spacing (loss
//!   and reordering stay visible to the receiver's jitter buffer, as they should).
//! - **Timestamps**: likewise an offset per source, computed when the source
//!   changes from the wall-clock time since the last packet we sent
//!   (`last_ts + elapsed × clock rate`, at least 1), so the receiver's playout
//!   clock stays in step with real time across the switch.
//! - **Marker bit**: passed through; on audio we also set it on the first packet
//!   of a new source (RFC 3551 §4.1: the start of a talkspurt, which tells jitter
//!   buffers to resynchronise). A telephone-event's marker keeps its RFC 4733
//!   meaning (start of an event) and is never added.
//! - **Payload type**: translated through a small map (e.g. telephone-event 101
//!   on one leg, 96 on the other). A payload type that is not in the map is not
//!   forwarded.
//!
//! A source is identified by its SSRC only: when the old source's packets arrive
//! after a switch (late, reordered), they count as a switch back. That is rare
//! and costs one resynchronisation, not garbage.

use std::time::{Duration, Instant};

/// What kind of payload a payload type carries: it decides marker handling and
/// whether the relay may record or transcode it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PayloadKind {
    /// G.711 audio.
    Audio,
    /// RFC 4733 telephone-event.
    Event,
}

/// One entry of the payload-type map: packets with `from` on the receiving side
/// go out as `to`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PtMapping {
    pub from: u8,
    pub to: u8,
    pub kind: PayloadKind,
}

/// The header fields the rewriter reads. `From<&RtpReader>` for the relay; tests
/// build it directly.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RtpHeader {
    pub ssrc: u32,
    pub sequence: u16,
    pub timestamp: u32,
    pub payload_type: u8,
    pub marker: bool,
}

impl From<&rtp_rs::RtpReader<'_>> for RtpHeader {
    fn from(r: &rtp_rs::RtpReader<'_>) -> Self {
        RtpHeader {
            ssrc: r.ssrc(),
            sequence: r.sequence_number().into(),
            timestamp: r.timestamp(),
            payload_type: r.payload_type(),
            marker: r.mark(),
        }
    }
}

/// The header to send.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rewritten {
    pub ssrc: u32,
    pub sequence: u16,
    pub timestamp: u32,
    pub payload_type: u8,
    pub marker: bool,
    pub kind: PayloadKind,
    /// This is the first packet of a new source.
    pub source_changed: bool,
}

/// The most payload types one stream maps: audio and telephone-event, with room
/// for a few more (comfort noise, a second audio law) without allocating.
const MAX_MAPPINGS: usize = 4;

#[derive(Debug, Clone, Copy)]
struct Source {
    ssrc: u32,
    seq_offset: u16,
    ts_offset: u32,
}

#[derive(Debug, Clone, Copy)]
struct Sent {
    sequence: u16,
    timestamp: u32,
    at: Instant,
}

/// The rewriter of one outgoing stream. See the [module docs](self).
#[derive(Debug, Clone)]
pub struct StreamRewriter {
    ssrc: u32,
    clock_rate: u32,
    map: [Option<PtMapping>; MAX_MAPPINGS],
    source: Option<Source>,
    /// The highest sequence number sent so far (and its timestamp and time).
    last: Option<Sent>,
    first_sequence: u16,
    first_timestamp: u32,
}

impl StreamRewriter {
    /// A stream with our `ssrc`, starting at `first_sequence`/`first_timestamp`
    /// (random in production, RFC 3550 §5.1), on a `clock_rate` Hz RTP clock.
    /// The payload-type map starts empty: nothing is forwarded until
    /// [`set_mappings`](Self::set_mappings).
    pub fn new(ssrc: u32, first_sequence: u16, first_timestamp: u32, clock_rate: u32) -> Self {
        Self {
            ssrc,
            clock_rate,
            map: [None; MAX_MAPPINGS],
            source: None,
            last: None,
            first_sequence,
            first_timestamp,
        }
    }

    /// Our SSRC.
    pub fn ssrc(&self) -> u32 {
        self.ssrc
    }

    /// Replaces the payload-type map (after an offer/answer). Entries past the
    /// fourth are ignored; the first entry for a `from` wins.
    pub fn set_mappings(&mut self, mappings: &[PtMapping]) {
        self.map = [None; MAX_MAPPINGS];
        for (slot, m) in self.map.iter_mut().zip(mappings) {
            *slot = Some(*m);
        }
    }

    fn lookup(&self, pt: u8) -> Option<PtMapping> {
        self.map.iter().flatten().find(|m| m.from == pt).copied()
    }

    /// Rewrites one packet's header, or `None` when its payload type is not
    /// mapped (the packet must not be forwarded).
    pub fn rewrite(&mut self, now: Instant, h: RtpHeader) -> Option<Rewritten> {
        let mapping = self.lookup(h.payload_type)?;
        Some(self.rewrite_as(now, h, mapping))
    }

    /// Rewrites one packet's header with an explicit mapping instead of the
    /// map: for audio the server itself sends into this stream (prompts),
    /// which continues the same sequence and clock as relayed audio.
    pub fn rewrite_as(&mut self, now: Instant, h: RtpHeader, mapping: PtMapping) -> Rewritten {
        let source_changed = self.source.is_none_or(|s| s.ssrc != h.ssrc);
        if source_changed {
            let (sequence, timestamp) = match self.last {
                None => (self.first_sequence, self.first_timestamp),
                Some(last) => (
                    last.sequence.wrapping_add(1),
                    last.timestamp.wrapping_add(
                        samples(now.saturating_duration_since(last.at), self.clock_rate).max(1),
                    ),
                ),
            };
            self.source = Some(Source {
                ssrc: h.ssrc,
                seq_offset: sequence.wrapping_sub(h.sequence),
                ts_offset: timestamp.wrapping_sub(h.timestamp),
            });
        }
        let src = self.source.expect("set above when it was None");
        let sequence = h.sequence.wrapping_add(src.seq_offset);
        let timestamp = h.timestamp.wrapping_add(src.ts_offset);
        // Track the newest packet sent; a reordered (older) one must not pull the
        // continuation point of the next source back into used sequence numbers.
        let newer = self
            .last
            .is_none_or(|l| (sequence.wrapping_sub(l.sequence) as i16) > 0 || source_changed);
        if newer {
            self.last = Some(Sent {
                sequence,
                timestamp,
                at: now,
            });
        }
        let marker = match mapping.kind {
            PayloadKind::Audio => h.marker || source_changed,
            PayloadKind::Event => h.marker,
        };
        Rewritten {
            ssrc: self.ssrc,
            sequence,
            timestamp,
            payload_type: mapping.to,
            marker,
            kind: mapping.kind,
            source_changed,
        }
    }
}

/// `d` in RTP clock ticks, wrapping like RTP timestamps do.
fn samples(d: Duration, clock_rate: u32) -> u32 {
    let rate = u64::from(clock_rate);
    let ticks = d
        .as_secs()
        .wrapping_mul(rate)
        .wrapping_add(u64::from(d.subsec_nanos()) * rate / 1_000_000_000);
    // Truncation is the RTP timestamp's own modulo-2^32 arithmetic.
    ticks as u32
}

#[cfg(test)]
mod tests {
    use super::*;

    const AUDIO: PtMapping = PtMapping {
        from: 0,
        to: 0,
        kind: PayloadKind::Audio,
    };
    const EVENT: PtMapping = PtMapping {
        from: 101,
        to: 96,
        kind: PayloadKind::Event,
    };

    fn rewriter() -> StreamRewriter {
        let mut rw = StreamRewriter::new(0xabcd_ef01, 1000, 50_000, 8000);
        rw.set_mappings(&[AUDIO, EVENT]);
        rw
    }

    fn audio(ssrc: u32, sequence: u16, timestamp: u32) -> RtpHeader {
        RtpHeader {
            ssrc,
            sequence,
            timestamp,
            payload_type: 0,
            marker: false,
        }
    }

    #[test]
    fn one_source_keeps_its_spacing_under_our_ssrc() {
        let t0 = Instant::now();
        let mut rw = rewriter();
        let a = rw.rewrite(t0, audio(7, 40_000, 9_000)).expect("mapped");
        assert_eq!(
            (a.ssrc, a.sequence, a.timestamp),
            (0xabcd_ef01, 1000, 50_000)
        );
        assert!(a.source_changed && a.marker);
        let b = rw
            .rewrite(t0 + Duration::from_millis(20), audio(7, 40_001, 9_160))
            .expect("mapped");
        assert_eq!((b.sequence, b.timestamp), (1001, 50_160));
        assert!(!b.source_changed && !b.marker);
        // A loss of two packets stays visible.
        let c = rw
            .rewrite(t0 + Duration::from_millis(80), audio(7, 40_004, 9_640))
            .expect("mapped");
        assert_eq!((c.sequence, c.timestamp), (1004, 50_640));
    }

    #[test]
    fn a_new_ssrc_continues_the_sequence_and_the_clock() {
        let t0 = Instant::now();
        let mut rw = rewriter();
        for i in 0..10u16 {
            rw.rewrite(
                t0 + Duration::from_millis(20 * u64::from(i)),
                audio(7, 100 + i, 160 * u32::from(i)),
            );
        }
        // Last sent: seq 1009, ts 50_000 + 1440 at t0 + 180 ms. The new source
        // starts 100 ms later with unrelated numbers.
        let t = t0 + Duration::from_millis(280);
        let n = rw.rewrite(t, audio(99, 7, 3_000_000_000)).expect("mapped");
        assert_eq!(n.ssrc, 0xabcd_ef01);
        assert_eq!(n.sequence, 1010);
        assert_eq!(n.timestamp, 50_000 + 1440 + 800);
        assert!(n.source_changed && n.marker);
        let m = rw
            .rewrite(t + Duration::from_millis(20), audio(99, 8, 3_000_000_160))
            .expect("mapped");
        assert_eq!((m.sequence, m.timestamp), (1011, 50_000 + 1440 + 960));
        assert!(!m.marker);
    }

    #[test]
    fn a_switch_at_the_same_instant_still_advances_the_timestamp() {
        let t0 = Instant::now();
        let mut rw = rewriter();
        let a = rw.rewrite(t0, audio(1, 5, 5)).expect("mapped");
        let b = rw.rewrite(t0, audio(2, 9, 9)).expect("mapped");
        assert_eq!(b.sequence, a.sequence.wrapping_add(1));
        assert_eq!(b.timestamp, a.timestamp.wrapping_add(1));
    }

    #[test]
    fn sequence_and_timestamp_wrap() {
        let t0 = Instant::now();
        let mut rw = StreamRewriter::new(1, u16::MAX, u32::MAX - 100, 8000);
        rw.set_mappings(&[AUDIO]);
        let a = rw.rewrite(t0, audio(3, 10, 0)).expect("mapped");
        assert_eq!((a.sequence, a.timestamp), (u16::MAX, u32::MAX - 100));
        let b = rw
            .rewrite(t0 + Duration::from_millis(20), audio(3, 11, 160))
            .expect("mapped");
        assert_eq!((b.sequence, b.timestamp), (0, 59));
        // And a switch right after the wrap continues from 0.
        let c = rw
            .rewrite(t0 + Duration::from_millis(40), audio(4, 500, 500))
            .expect("mapped");
        assert_eq!((c.sequence, c.timestamp), (1, 59 + 160));
    }

    #[test]
    fn a_late_packet_does_not_move_the_continuation_point_back() {
        let t0 = Instant::now();
        let mut rw = rewriter();
        rw.rewrite(t0, audio(7, 10, 0));
        rw.rewrite(t0 + Duration::from_millis(20), audio(7, 12, 320));
        let late = rw
            .rewrite(t0 + Duration::from_millis(21), audio(7, 11, 160))
            .expect("mapped");
        assert_eq!(late.sequence, 1001);
        let n = rw
            .rewrite(t0 + Duration::from_millis(40), audio(8, 0, 0))
            .expect("mapped");
        assert_eq!(n.sequence, 1003, "continues after 1002, the newest sent");
    }

    #[test]
    fn payload_types_are_translated_and_unknown_ones_refused() {
        let t0 = Instant::now();
        let mut rw = rewriter();
        rw.rewrite(t0, audio(7, 1, 0));
        let ev = rw
            .rewrite(
                t0 + Duration::from_millis(20),
                RtpHeader {
                    payload_type: 101,
                    marker: true,
                    ..audio(7, 2, 160)
                },
            )
            .expect("mapped");
        assert_eq!(ev.payload_type, 96);
        assert_eq!(ev.kind, PayloadKind::Event);
        assert!(ev.marker);
        assert_eq!(ev.sequence, 1001);
        // Comfort noise (13) is not negotiated here.
        assert!(rw
            .rewrite(
                t0,
                RtpHeader {
                    payload_type: 13,
                    ..audio(7, 3, 320)
                }
            )
            .is_none());
        // An empty map forwards nothing.
        let mut empty = StreamRewriter::new(1, 1, 1, 8000);
        assert!(empty.rewrite(t0, audio(7, 1, 0)).is_none());
    }

    #[test]
    fn an_event_on_a_new_source_gets_no_marker_added() {
        let t0 = Instant::now();
        let mut rw = rewriter();
        rw.rewrite(t0, audio(7, 1, 0));
        let ev = rw
            .rewrite(
                t0 + Duration::from_millis(20),
                RtpHeader {
                    payload_type: 101,
                    ..audio(8, 2, 160)
                },
            )
            .expect("mapped");
        assert!(ev.source_changed);
        assert!(!ev.marker);
    }
}
