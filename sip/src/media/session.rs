//! [`CallMedia`]: the media of one call, sans-IO.
//!
//! It owns, per leg, the [`Latch`] (where that phone really is), the
//! [`StreamRewriter`] of the stream we send it, the [`DtmfDetector`] of what it
//! sends, its place on the recording timeline and its counters; and, per call,
//! the media-timeout clock. The driver hands it each datagram with the time and
//! gets back what to send where, and which audio to record.
//!
//! # The recording timeline
//!
//! Both channels of the recording share one clock: 8 kHz samples since the call's
//! media started (the first [`CallMedia::set_leg`]). A leg's first audio packet is
//! placed at its arrival time on that clock; every later packet at that position
//! plus the RTP-timestamp distance from it, so jitter does not smear the audio and
//! lost or silent (DTX, DTMF) stretches become gaps the recorder fills with
//! silence. When the source changes (new SSRC) or its timestamps stray more than a
//! second from the wall clock (a broken sender, a phone that keeps its timestamps
//! running through a hold), the leg is re-anchored at the arrival time.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use rtp_rs::RtpPacketBuilder;

use super::dtmf::{DtmfDetector, DtmfEvent};
use super::latch::{Latch, LatchConfig, LatchDecision};
use super::liveness::Liveness;
use super::packet::{classify, parse_rtp, PacketKind, RtpError};
use super::rewrite::{PayloadKind, PtMapping, Rewritten, RtpHeader, StreamRewriter};
use super::rtcp::{parse_rtcp, RtcpError, RtcpInfo};
use super::{g711, Codec, Direction, Encoding, Leg, CLOCK_RATE};

/// Media settings of the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MediaConfig {
    /// `[sip] media_timeout_s`: a sending leg silent this long is reported.
    pub timeout: Duration,
    pub latch: LatchConfig,
}

impl Default for MediaConfig {
    fn default() -> Self {
        Self {
            timeout: Duration::from_secs(60),
            latch: LatchConfig::default(),
        }
    }
}

/// What the offer/answer settled for one leg.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LegSetup {
    /// The phone's SDP connection address and port (`None` or `0.0.0.0` when it
    /// gave none we can use).
    pub remote: Option<SocketAddr>,
    pub codec: Encoding,
    /// The audio payload type on this leg (normally the static 0 or 8).
    pub audio_pt: u8,
    /// The telephone-event payload type on this leg, if negotiated.
    pub dtmf_pt: Option<u8>,
    /// The direction this leg declared (see [`Direction`]).
    pub direction: Direction,
}

impl LegSetup {
    /// A `sendrecv` leg with the codec's static payload type.
    pub fn new(remote: Option<SocketAddr>, codec: Encoding, dtmf_pt: Option<u8>) -> Self {
        Self {
            remote,
            codec,
            audio_pt: codec.static_payload_type(),
            dtmf_pt,
            direction: Direction::SendRecv,
        }
    }

    /// What the call machine's `MediaCommand::Connect`/`Update` carry for a leg:
    /// the SDP address (an unspecified IP, the RFC 2543 hold, is kept as
    /// "nowhere to send"), the codec at that leg's payload type, its
    /// telephone-event payload type and its declared direction.
    pub fn negotiated(
        remote: SocketAddr,
        codec: Codec,
        dtmf_pt: Option<u8>,
        direction: Direction,
    ) -> Self {
        Self {
            remote: Some(remote),
            codec: codec.encoding,
            audio_pt: codec.payload_type,
            dtmf_pt,
            direction,
        }
    }
}

/// Counters of one leg. `rtp_in` counts what came *from* the leg, `rtp_out`
/// what we sent *to* it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LegStats {
    pub rtp_in: u64,
    pub rtp_out: u64,
    pub rtcp_in: u64,
    /// Not valid RTP/RTCP (dropped).
    pub malformed: u64,
    /// From a source the latch refused (dropped).
    pub unexpected_source: u64,
    /// A payload type this leg did not negotiate (dropped).
    pub unknown_payload_type: u64,
    /// Arrived before the leg was connected (dropped).
    pub not_connected: u64,
    /// Valid, but not forwarded: the other leg is on hold, unknown, or did not
    /// negotiate telephone-event.
    pub not_forwarded: u64,
    pub dtmf_digits: u64,
}

impl LegStats {
    /// Everything dropped on the way in.
    pub fn dropped(&self) -> u64 {
        self.malformed + self.unexpected_source + self.unknown_payload_type + self.not_connected
    }
}

/// Counters of both legs.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CallStats {
    pub caller: LegStats,
    pub agent: LegStats,
}

impl CallStats {
    pub fn leg(&self, leg: Leg) -> &LegStats {
        match leg {
            Leg::Caller => &self.caller,
            Leg::Agent => &self.agent,
        }
    }
}

/// Why a packet was dropped (already counted in [`LegStats`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DropReason {
    Malformed(RtpError),
    MalformedRtcp(RtcpError),
    UnexpectedSource,
    NotConnected,
    UnknownPayloadType(u8),
}

/// Send `out[..len]` to `to` from the RTP socket of leg `via` (the leg it is
/// for: each phone must see our packets come from the port it sends to).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Forward {
    pub via: Leg,
    pub to: SocketAddr,
    pub len: usize,
}

/// Audio from `leg` to record: G.711 bytes whose first sample belongs at
/// `at_sample` on the call's 8 kHz timeline.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Audio<'p> {
    pub leg: Leg,
    pub codec: Encoding,
    pub at_sample: u64,
    pub payload: &'p [u8],
}

/// The result of one RTP-port datagram.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RtpOutcome<'p> {
    /// A valid packet from the leg: maybe forward it, maybe record it.
    Accepted {
        forward: Option<Forward>,
        audio: Option<Audio<'p>>,
    },
    /// RTCP multiplexed on the RTP port (RFC 5761): counted, not forwarded.
    Rtcp(RtcpInfo),
    Dropped(DropReason),
}

/// What the driver reports upwards.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionEvent {
    /// A key press (reported once per press).
    Dtmf { leg: Leg, digit: char },
    /// The leg sent no RTP for the media timeout.
    Timeout { leg: Leg },
    /// The leg's media now comes from (and goes to) `remote`.
    Latched { leg: Leg, remote: SocketAddr },
}

/// Re-anchor a leg's recording position when its timestamps and the wall clock
/// disagree by more than this (1 s at 8 kHz).
const MAX_SKEW: i64 = 8000;

/// `d` in 8 kHz ticks. 64-bit arithmetic only: a `u128` division costs more
/// than the rest of the per-packet path.
fn ticks(d: Duration) -> u64 {
    let rate = u64::from(CLOCK_RATE);
    d.as_secs()
        .saturating_mul(rate)
        .saturating_add(u64::from(d.subsec_nanos()) * rate / 1_000_000_000)
}

#[derive(Debug, Clone, Copy)]
struct Anchor {
    ssrc: u32,
    timestamp: u32,
    sample: u64,
}

/// A leg's place on the recording timeline. See the [module docs](self).
#[derive(Debug, Clone, Default)]
struct Timeline {
    anchor: Option<Anchor>,
}

impl Timeline {
    fn place(&mut self, now: Instant, start: Instant, ssrc: u32, timestamp: u32) -> u64 {
        let wall = ticks(now.saturating_duration_since(start));
        let sample = match self.anchor {
            Some(a) if a.ssrc == ssrc => {
                let d = i64::from(timestamp.wrapping_sub(a.timestamp) as i32);
                let pos = i64::try_from(a.sample)
                    .unwrap_or(i64::MAX)
                    .saturating_add(d);
                let wall_i = i64::try_from(wall).unwrap_or(i64::MAX);
                if pos < 0 || (pos - wall_i).abs() > MAX_SKEW {
                    wall
                } else {
                    u64::try_from(pos).unwrap_or(wall)
                }
            }
            _ => wall,
        };
        self.anchor = Some(Anchor {
            ssrc,
            timestamp,
            sample,
        });
        sample
    }
}

#[derive(Debug, Clone)]
struct LegState {
    setup: Option<LegSetup>,
    latch: Latch,
    /// The stream we send to this leg.
    outgoing: StreamRewriter,
    /// Key presses in what this leg sends.
    dtmf: DtmfDetector,
    timeline: Timeline,
    stats: LegStats,
    /// The server's own audio towards this leg (prompts, music): a source of
    /// its own in the outgoing stream, 160 samples per 20 ms frame.
    player: PlayerSource,
}

/// Header fields of the audio the server plays into a leg's stream.
#[derive(Debug, Clone, Copy)]
struct PlayerSource {
    ssrc: u32,
    sequence: u16,
    timestamp: u32,
}

/// The media of one call. See the [module docs](self) and [`super`] for the
/// run loop.
#[derive(Debug, Clone)]
pub struct CallMedia {
    legs: [LegState; 2],
    liveness: Liveness,
    start: Option<Instant>,
    events: VecDeque<SessionEvent>,
}

impl CallMedia {
    /// A call with no leg connected yet. `seed` picks our SSRCs and the initial
    /// sequence numbers and timestamps (RFC 3550 §5.1: random).
    pub fn new(config: MediaConfig, seed: u64) -> Self {
        let mut rng = StdRng::seed_from_u64(seed);
        let mut leg = || LegState {
            setup: None,
            latch: Latch::new(config.latch, None),
            outgoing: StreamRewriter::new(rng.gen(), rng.gen(), rng.gen(), CLOCK_RATE),
            dtmf: DtmfDetector::new(),
            timeline: Timeline::default(),
            stats: LegStats::default(),
            player: PlayerSource {
                ssrc: rng.gen(),
                sequence: rng.gen(),
                timestamp: rng.gen(),
            },
        };
        Self {
            legs: [leg(), leg()],
            liveness: Liveness::new(config.timeout),
            start: None,
            events: VecDeque::with_capacity(8),
        }
    }

    /// Both legs at once (the bridge).
    pub fn connect(&mut self, now: Instant, caller: LegSetup, agent: LegSetup) {
        self.set_leg(now, Leg::Caller, caller);
        self.set_leg(now, Leg::Agent, agent);
    }

    /// Connects or re-negotiates one leg: its SDP address (a new one restarts
    /// latching), codec, payload types and direction. The first call starts the
    /// recording timeline; a leg's media timeout runs from its first setup.
    pub fn set_leg(&mut self, now: Instant, leg: Leg, mut setup: LegSetup) {
        setup.audio_pt &= 0x7f;
        setup.dtmf_pt = setup.dtmf_pt.map(|p| p & 0x7f);
        self.start.get_or_insert(now);
        let state = &mut self.legs[leg.index()];
        let first = state.setup.is_none();
        state.latch.reset(setup.remote);
        state.setup = Some(setup);
        if first {
            self.liveness.arm(now, leg);
        }
        self.liveness.suspend(now, leg, !setup.direction.sends());
        self.remap();
    }

    /// Serve mode: the caller leg alone, talking to the server (menu, queue,
    /// survey). The agent leg is disconnected: nothing is relayed, its packets
    /// are dropped as not connected and its silence is no timeout.
    pub fn serve(&mut self, now: Instant, caller: LegSetup) {
        let agent = &mut self.legs[Leg::Agent.index()];
        agent.setup = None;
        agent.latch.reset(None);
        self.liveness.suspend(now, Leg::Agent, true);
        self.set_leg(now, Leg::Caller, caller);
    }

    /// Audio the server plays to `leg`: one frame of G.711 `payload` in that
    /// leg's codec (see [`setup`](Self::setup)), written to `out` as the next
    /// packet of the leg's outgoing stream. `None` when the leg is not set up,
    /// does not receive (hold) or has no address yet.
    pub fn play(
        &mut self,
        now: Instant,
        leg: Leg,
        payload: &[u8],
        out: &mut [u8],
    ) -> Option<Forward> {
        let dest = &mut self.legs[leg.index()];
        let setup = dest.setup?;
        if !setup.direction.receives() {
            return None;
        }
        let remote = dest.latch.remote()?;
        let p = dest.player;
        let header = RtpHeader {
            ssrc: p.ssrc,
            sequence: p.sequence,
            timestamp: p.timestamp,
            payload_type: setup.audio_pt,
            marker: false,
        };
        dest.player.sequence = p.sequence.wrapping_add(1);
        dest.player.timestamp = p.timestamp.wrapping_add(payload.len() as u32);
        let rw = dest.outgoing.rewrite_as(
            now,
            header,
            PtMapping {
                from: setup.audio_pt,
                to: setup.audio_pt,
                kind: PayloadKind::Audio,
            },
        );
        let len = build_packet(&rw, payload, out)?;
        dest.stats.rtp_out += 1;
        Some(Forward {
            via: leg,
            to: remote,
            len,
        })
    }

    /// A re-INVITE that changed only the address and direction (hold, resume).
    pub fn update(
        &mut self,
        now: Instant,
        leg: Leg,
        remote: Option<SocketAddr>,
        direction: Direction,
    ) {
        if let Some(setup) = self.legs[leg.index()].setup {
            self.set_leg(
                now,
                leg,
                LegSetup {
                    remote,
                    direction,
                    ..setup
                },
            );
        }
    }

    /// Payload-type maps of both outgoing streams, from the two setups.
    fn remap(&mut self) {
        for to in Leg::BOTH {
            let from = self.legs[to.other().index()].setup;
            let dest = self.legs[to.index()].setup;
            let mut maps = [PtMapping {
                from: 0,
                to: 0,
                kind: PayloadKind::Audio,
            }; 2];
            let mut n = 0;
            if let (Some(f), Some(d)) = (from, dest) {
                maps[0] = PtMapping {
                    from: f.audio_pt,
                    to: d.audio_pt,
                    kind: PayloadKind::Audio,
                };
                n = 1;
                if let (Some(fe), Some(de)) = (f.dtmf_pt, d.dtmf_pt) {
                    maps[1] = PtMapping {
                        from: fe,
                        to: de,
                        kind: PayloadKind::Event,
                    };
                    n = 2;
                }
            }
            self.legs[to.index()].outgoing.set_mappings(&maps[..n]);
        }
    }

    /// Where media for `leg` goes now (latched source, else its SDP address).
    pub fn remote(&self, leg: Leg) -> Option<SocketAddr> {
        self.legs[leg.index()].latch.remote()
    }

    /// The negotiated setup of a leg.
    pub fn setup(&self, leg: Leg) -> Option<&LegSetup> {
        self.legs[leg.index()].setup.as_ref()
    }

    /// Time zero of the recording timeline.
    pub fn start(&self) -> Option<Instant> {
        self.start
    }

    /// Our SSRC towards `leg`.
    pub fn ssrc_towards(&self, leg: Leg) -> u32 {
        self.legs[leg.index()].outgoing.ssrc()
    }

    /// Both legs' counters.
    pub fn stats(&self) -> CallStats {
        CallStats {
            caller: self.legs[0].stats,
            agent: self.legs[1].stats,
        }
    }

    /// One datagram that arrived on `leg`'s RTP port from `from`. A packet to
    /// forward is written to `out` (give it at least the receive buffer's size).
    pub fn handle_rtp<'p>(
        &mut self,
        now: Instant,
        leg: Leg,
        from: SocketAddr,
        packet: &'p [u8],
        out: &mut [u8],
    ) -> RtpOutcome<'p> {
        if classify(packet) == PacketKind::Rtcp {
            return match self.handle_rtcp(now, leg, from, packet) {
                Ok(info) => RtpOutcome::Rtcp(info),
                Err(reason) => RtpOutcome::Dropped(reason),
            };
        }
        let i = leg.index();
        let reader = match parse_rtp(packet) {
            Ok(r) => r,
            Err(e) => {
                self.legs[i].stats.malformed += 1;
                return RtpOutcome::Dropped(DropReason::Malformed(e));
            }
        };
        let Some(setup) = self.legs[i].setup else {
            self.legs[i].stats.not_connected += 1;
            return RtpOutcome::Dropped(DropReason::NotConnected);
        };
        match self.legs[i].latch.check(now, from) {
            LatchDecision::Accept => {}
            LatchDecision::Latched(remote) => {
                self.events.push_back(SessionEvent::Latched { leg, remote });
            }
            LatchDecision::Ignore => {
                self.legs[i].stats.unexpected_source += 1;
                return RtpOutcome::Dropped(DropReason::UnexpectedSource);
            }
        }
        self.liveness.packet(now, leg);
        let header = RtpHeader::from(&reader);
        let payload = reader.payload();
        let kind = if header.payload_type == setup.audio_pt {
            PayloadKind::Audio
        } else if Some(header.payload_type) == setup.dtmf_pt {
            PayloadKind::Event
        } else {
            self.legs[i].stats.unknown_payload_type += 1;
            return RtpOutcome::Dropped(DropReason::UnknownPayloadType(header.payload_type));
        };
        self.legs[i].stats.rtp_in += 1;

        let audio = match kind {
            PayloadKind::Audio => {
                let start = *self.start.get_or_insert(now);
                let at_sample =
                    self.legs[i]
                        .timeline
                        .place(now, start, header.ssrc, header.timestamp);
                Some(Audio {
                    leg,
                    codec: setup.codec,
                    at_sample,
                    payload,
                })
            }
            PayloadKind::Event => {
                if let Ok(ev) = DtmfEvent::parse(payload) {
                    if let Some(digit) =
                        self.legs[i]
                            .dtmf
                            .on_event(header.ssrc, header.timestamp, ev)
                    {
                        self.legs[i].stats.dtmf_digits += 1;
                        self.events.push_back(SessionEvent::Dtmf { leg, digit });
                    }
                }
                None
            }
        };

        let forward = self.forward(now, leg.other(), setup.codec, header, payload, out);
        if forward.is_none() {
            self.legs[i].stats.not_forwarded += 1;
        }
        RtpOutcome::Accepted { forward, audio }
    }

    /// Rewrites a packet for leg `to` into `out`.
    fn forward(
        &mut self,
        now: Instant,
        to: Leg,
        from_codec: Encoding,
        header: RtpHeader,
        payload: &[u8],
        out: &mut [u8],
    ) -> Option<Forward> {
        let dest = &mut self.legs[to.index()];
        let setup = dest.setup?;
        if !setup.direction.receives() {
            return None;
        }
        let remote = dest.latch.remote()?;
        let rw = dest.outgoing.rewrite(now, header)?;
        let len = build_packet(&rw, payload, out)?;
        if rw.kind == PayloadKind::Audio && from_codec != setup.codec {
            g711::transcode_in_place(from_codec, setup.codec, &mut out[12..len]);
        }
        dest.stats.rtp_out += 1;
        Some(Forward {
            via: to,
            to: remote,
            len,
        })
    }

    /// One datagram on `leg`'s RTCP port: validated and counted, never forwarded
    /// (see [`super::rtcp`]).
    pub fn handle_rtcp(
        &mut self,
        _now: Instant,
        leg: Leg,
        from: SocketAddr,
        packet: &[u8],
    ) -> Result<RtcpInfo, DropReason> {
        let state = &mut self.legs[leg.index()];
        let info = match parse_rtcp(packet) {
            Ok(info) => info,
            Err(e) => {
                state.stats.malformed += 1;
                return Err(DropReason::MalformedRtcp(e));
            }
        };
        if state.setup.is_none() {
            state.stats.not_connected += 1;
            return Err(DropReason::NotConnected);
        }
        if !state.latch.accepts_rtcp_from(from) {
            state.stats.unexpected_source += 1;
            return Err(DropReason::UnexpectedSource);
        }
        state.stats.rtcp_in += 1;
        Ok(info)
    }

    /// When [`handle_timeout`](Self::handle_timeout) is due.
    #[must_use]
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.liveness.poll_timeout()
    }

    /// Media timeouts that are due become [`SessionEvent::Timeout`]s.
    pub fn handle_timeout(&mut self, now: Instant) {
        while let Some(leg) = self.liveness.expired(now) {
            self.events.push_back(SessionEvent::Timeout { leg });
        }
    }

    /// The next event; drain after every input.
    #[must_use]
    pub fn poll_event(&mut self) -> Option<SessionEvent> {
        self.events.pop_front()
    }
}

/// Writes a rewritten header and `payload` into `out`; the packet's length.
fn build_packet(rw: &Rewritten, payload: &[u8], out: &mut [u8]) -> Option<usize> {
    RtpPacketBuilder::new()
        .payload_type(rw.payload_type)
        .marked(rw.marker)
        .sequence(rw.sequence.into())
        .timestamp(rw.timestamp)
        .ssrc(rw.ssrc)
        .payload(payload)
        .build_into(out)
        .ok()
}
