//! Media anchoring, sans-IO: the per-packet logic of the RTP relay between a
//! call's two legs (DESIGN.md Telephony 4).
//!
//! The server sits in the media path of every bridged call so it can record and
//! (later) play prompts. Each leg talks to one of our RTP/RTCP port pairs; the
//! relay re-sends what one leg sends to the other, rewritten so that each phone
//! sees *one* well-behaved stream from us, whatever happens behind us (a
//! re-INVITE, the IVR switching between a prompt and the other leg).
//!
//! The pieces, each usable and tested alone:
//! - [`packet`]: RTP validation (through `rtp-rs`'s zero-copy [`RtpReader`]) and
//!   the RFC 5761 §4 RTP/RTCP split;
//! - [`rtcp`]: RTCP compound-packet recognition (counted, never forwarded);
//! - [`rewrite`]: [`StreamRewriter`], our SSRC / sequence / timestamp space per
//!   outgoing stream and the payload-type map between the legs;
//! - [`latch`]: [`Latch`], symmetric RTP (latching) for phones behind NAT;
//! - [`dtmf`]: RFC 4733 telephone-event parsing and the [`DtmfDetector`] that
//!   reports each key press once;
//! - [`liveness`]: media-timeout deadlines per leg;
//! - [`g711`]: µ-law/A-law tables (transcoding when the legs chose different laws);
//! - [`session`]: [`CallMedia`], all of the above for one call: a packet in, at
//!   most one packet out, audio to record, events.
//!
//! # Run loop (one call)
//!
//! ```text
//! datagram on leg L's RTP socket ─► CallMedia::handle_rtp(now, L, from, bytes, out)
//!     ─► RtpOutcome::Accepted { forward: Some(Forward { to, len }), audio }
//!          send out[..len] to `to` from the *other* leg's RTP socket;
//!          give `audio` (G.711 bytes placed on the call timeline) to the recorder
//!     ─► RtpOutcome::Dropped(reason)       (already counted in the stats)
//! datagram on leg L's RTCP socket ─► CallMedia::handle_rtcp(now, L, from, bytes)
//! timer at poll_timeout()          ─► CallMedia::handle_timeout(now)
//! after every input                ─► drain CallMedia::poll_event() (DTMF, timeouts, latching)
//! ```
//!
//! Nothing here allocates per packet: the caller owns the receive and send
//! buffers, state is fixed-size, and events go to a queue drained after each input.

pub mod dtmf;
pub mod g711;
pub mod latch;
pub mod liveness;
pub mod packet;
pub mod rewrite;
pub mod rtcp;
pub mod session;

pub use dtmf::{DtmfDetector, DtmfError, DtmfEvent};
pub use latch::{Latch, LatchConfig, LatchDecision};
pub use liveness::Liveness;
pub use packet::{classify, parse_rtp, PacketKind, RtpError};
pub use rewrite::{PayloadKind, PtMapping, Rewritten, RtpHeader, StreamRewriter};
pub use rtcp::{parse_rtcp, RtcpError, RtcpInfo, RtcpType};
pub use rtp_rs::RtpReader;
pub use session::{
    Audio, CallMedia, CallStats, DropReason, Forward, LegSetup, LegStats, MediaConfig, RtpOutcome,
    SessionEvent,
};

/// The two legs of a bridged call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Leg {
    /// The citizen, through the trunk.
    Caller,
    /// The agent's softphone.
    Agent,
}

impl Leg {
    /// Both legs, caller first (the recording's left channel).
    pub const BOTH: [Leg; 2] = [Leg::Caller, Leg::Agent];

    /// The leg media from this one is relayed to.
    pub fn other(self) -> Leg {
        match self {
            Leg::Caller => Leg::Agent,
            Leg::Agent => Leg::Caller,
        }
    }

    /// 0 for the caller, 1 for the agent: an index into per-leg arrays.
    pub fn index(self) -> usize {
        match self {
            Leg::Caller => 0,
            Leg::Agent => 1,
        }
    }

    /// Lower-case name for logs and metrics labels.
    pub fn as_str(self) -> &'static str {
        match self {
            Leg::Caller => "caller",
            Leg::Agent => "agent",
        }
    }
}

impl std::fmt::Display for Leg {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A media direction as a leg declared it in its SDP (RFC 3264 §5.1), i.e. from
/// that leg's point of view: `SendOnly` means the phone sends and does not want
/// to receive (it put the other party on hold).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Direction {
    #[default]
    SendRecv,
    SendOnly,
    RecvOnly,
    Inactive,
}

impl Direction {
    /// The leg will send media to us: its media timeout runs.
    pub fn sends(self) -> bool {
        matches!(self, Direction::SendRecv | Direction::SendOnly)
    }

    /// The leg wants media from us: the relay forwards to it.
    pub fn receives(self) -> bool {
        matches!(self, Direction::SendRecv | Direction::RecvOnly)
    }
}

/// The G.711 law of a leg's audio (the only codecs the hotline negotiates).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum G711 {
    /// µ-law, static payload type 0.
    Pcmu,
    /// A-law, static payload type 8.
    Pcma,
}

impl G711 {
    /// The static payload type (RFC 3551 §6).
    pub fn static_payload_type(self) -> u8 {
        match self {
            G711::Pcmu => 0,
            G711::Pcma => 8,
        }
    }

    /// The law of a static payload type, if it is one of ours.
    pub fn from_static_payload_type(pt: u8) -> Option<G711> {
        match pt {
            0 => Some(G711::Pcmu),
            8 => Some(G711::Pcma),
            _ => None,
        }
    }
}

/// RTP clock of G.711 and of telephone-event as we negotiate it (8 kHz).
pub const CLOCK_RATE: u32 = 8000;

#[cfg(test)]
mod tests;
