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

/// A leg's direction as it declared it in its SDP (RFC 3264 §5.1, its own point of
/// view): `SendOnly` means the phone sends and does not want to receive (it put
/// the other party on hold). A leg that does not send has no media timeout; one
/// that does not receive is not sent to.
pub use crate::sdp::Direction;
/// The G.711 law of a leg's audio, and a codec with its payload type.
pub use crate::sdp::{Codec, Encoding};
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

/// RTP clock of G.711 and of telephone-event as we negotiate it (8 kHz).
pub const CLOCK_RATE: u32 = 8000;

#[cfg(test)]
mod tests;
