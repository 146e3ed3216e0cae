//! The B2BUA: one [`Call`](self) per citizen call, two dialogs per call, media
//! anchored on the server. Sans-IO; owned by the [`Endpoint`](crate::endpoint::Endpoint).
//!
//! A call joins a **caller leg** — the UAS dialog (RFC 3261 §12.1.1) with the
//! trunk, or with an agent's phone for an internal call — and an **agent leg** —
//! a UAC dialog (§12.1.2) we open towards the Contact an agent registered. The
//! legs never see each other: each talks SDP with *our* address and ports
//! (`public_addr`, a port pair per leg from [`media_ports`](crate::media_ports)),
//! and the binary relays RTP between the two pairs (it gets [`MediaCommand`]s).
//!
//! # States (what [`CallView::state`] shows)
//!
//! ```text
//!            INVITE from trunk / authenticated agent
//!                        │ 100 Trying; ports allocated; SDP offer answered (kept)
//!                        ▼
//!   ┌───────────────► Routing ── no agent left ──► 480 (or 486 if the last was busy)
//!   │ next agent         │ pick_agent → INVITE to the agent's Contact (our offer)
//!   │                    ▼
//!   └── 486/4xx/       Ringing ── agent 1xx ──► 180 Ringing to the caller
//!       timeout of       │  ring_timeout → CANCEL the agent (§9.1), next agent
//!       the agent        │  caller CANCEL → 200 + 487, CANCEL the agent
//!                        │ agent 200: ACK it (§13.2.2.4), accept its answer,
//!                        ▼ 200 + our answer to the caller, Connect the media
//!                     Answered ── 2xx retransmitted T1, 2T1.. T2 (§13.3.1.4)
//!                        │ caller ACK          └── no ACK in 64·T1 → BYE both
//!                        ▼
//!                    Connected ── re-INVITE on one leg: answered with our SDP,
//!                        │        re-offered to the other leg if the direction
//!                        │        changed (hold / resume, RFC 3264 §8.4)
//!                        │ BYE from either leg, media timeout, hang_up
//!                        ▼
//!                      Ending ── every leg torn down (BYE answered or timed out,
//!                        │        CANCEL → 487, a 200 that crossed a CANCEL is
//!                        ▼        ACKed and BYEd) → the call leaves the table
//! ```
//!
//! With hosting on (`EndpointConfig::hosted`, the product's mode) a hotline
//! call does not look for an agent by itself: it is answered at once and put in
//! [`CallState::Served`], and the owner's IVR and ACD ring agents, take the
//! caller back when an agent hangs up first, and transfer to emergency lines —
//! see `machine/hosted.rs`. Internal (agent-to-agent) calls always ring the
//! dialled agent directly.
//!
//! Every path out of a state goes through one place (`end`) that answers or
//! BYEs the caller, CANCELs or BYEs the agent, closes the media, gives the ports
//! back and reports [`CallEvent::Ended`] — so no call is ever left half open.
//!
//! # Choices
//!
//! - **Late offer** (an INVITE without SDP) is refused with `488` and a Warning:
//!   trunks send an offer, and anchoring needs the caller's codec before we
//!   offer to the agent. A re-INVITE without SDP is answered with our current
//!   description, unchanged.
//! - The agent is offered the codec the caller chose first, then the other G.711
//!   law, plus `telephone-event`: with the same law on both legs the relay only
//!   rewrites headers.
//! - A re-INVITE is answered at once with our own SDP (same port, direction per
//!   RFC 3264 §6.1); if the direction it declares differs from the one we last
//!   gave the other leg, the other leg gets a re-INVITE with a new offer in that
//!   direction (`sendonly`/`inactive` for hold, `sendrecv` for resume). A
//!   re-INVITE while a call is not connected, or while one of ours is pending on
//!   that leg, gets `491` (§14.2); our own re-INVITE that gets `491` is retried
//!   after the §14.1 random delay.
//! - Each agent is rung for `ring_timeout`; a busy (486/600), rejecting or
//!   silent agent is followed by the next one `pick_agent` offers.

mod machine;
mod table;
#[cfg(test)]
mod tests;

use std::fmt;
use std::net::SocketAddr;
use std::time::Instant;

use crate::net::Remote;

pub use crate::sdp::{Codec, Direction};
pub(crate) use machine::normalize_dialled;
pub(crate) use machine::{Callback, OriginTarget};
pub(crate) use table::{Admission, AgentTarget, CallOutput, CallSettings, Calls};

/// Identifies a call for the binary (media, recordings, CDRs, the API). Random,
/// printed as 16 hex digits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CallId(pub u64);

impl fmt::Display for CallId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:016x}", self.0)
    }
}

/// The two legs of a call: the media relay's own type, so commands pass
/// straight to [`crate::media::CallMedia`].
pub use crate::media::Leg;

/// What the media relay must do. Sent as `endpoint::Output::Media`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MediaCommand {
    /// Bind the RTP port `local_rtp_port` and RTCP `local_rtp_port + 1` for this
    /// leg. Sent for both legs when the call arrives (our SDP names these ports).
    Open {
        call: CallId,
        leg: Leg,
        local_rtp_port: u16,
    },
    /// Both offer/answer exchanges are done: relay between the legs. Sent when
    /// the agent answers (the caller gets our 200 at the same moment).
    /// Directions are as each leg declared them (RFC 3264 §5.1, its point of
    /// view); codecs are at the payload types of that leg.
    Connect {
        call: CallId,
        caller_remote: SocketAddr,
        agent_remote: SocketAddr,
        caller_codec: Codec,
        agent_codec: Codec,
        caller_dtmf_pt: Option<u8>,
        agent_dtmf_pt: Option<u8>,
        caller_direction: Direction,
        agent_direction: Direction,
    },
    /// A re-INVITE changed a leg: hold (`sendonly`/`inactive`/`c=0.0.0.0`, which
    /// shows as an unspecified `remote` IP), resume, a new address or codec.
    Update {
        call: CallId,
        leg: Leg,
        remote: SocketAddr,
        codec: Codec,
        dtmf_pt: Option<u8>,
        direction: Direction,
    },
    /// The server itself answered the caller (a hosted call: menu, queue,
    /// survey) or the far leg went away while the caller stays: stop relaying,
    /// play our audio to the caller leg and listen for its keys. Sent again
    /// whenever a bridge ends and the caller is kept.
    Serve {
        call: CallId,
        caller_remote: SocketAddr,
        caller_codec: Codec,
        caller_dtmf_pt: Option<u8>,
        caller_direction: Direction,
    },
    /// The call is over: close both legs' sockets, finish the recording. The
    /// ports are free for other calls from now on.
    Close { call: CallId },
}

impl MediaCommand {
    /// The call a command is for.
    pub fn call(&self) -> CallId {
        match self {
            MediaCommand::Open { call, .. }
            | MediaCommand::Connect { call, .. }
            | MediaCommand::Update { call, .. }
            | MediaCommand::Serve { call, .. }
            | MediaCommand::Close { call } => *call,
        }
    }
}

/// Why ringing one agent of a hosted call stopped without an answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RingFailure {
    /// 486 Busy Here / 600 Busy Everywhere.
    Busy,
    /// 408/480/487, or no response at all (Timer B).
    NoAnswer,
    /// Any other final status.
    Rejected(u16),
    /// The phone's 2xx or SDP answer was unusable.
    Broken,
}

/// Why [`Endpoint::ring_agent`](crate::endpoint::Endpoint::ring_agent) and
/// friends could not do what they were asked.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CallControlError {
    #[error("no such call")]
    UnknownCall,
    #[error("the call has ended")]
    Ended,
    #[error("the call is not answered by the server (not a hosted call)")]
    NotHosted,
    #[error("agent {0} has no live registration")]
    NotRegistered(String),
    #[error("agent {0} is already being rung for this call")]
    AlreadyRinging(String),
    #[error("the call is already bridged")]
    Bridged,
    #[error("no agent is talking on the call")]
    NoAgent,
    #[error("could not build the INVITE: {0}")]
    Build(&'static str),
}

/// Who ended a call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HangupBy {
    Caller,
    Agent,
    /// This server: no agent, timeouts, errors, an operator's hang-up.
    System,
}

impl HangupBy {
    /// Lower-case name for CDRs, logs and metric labels.
    pub fn as_str(self) -> &'static str {
        match self {
            HangupBy::Caller => "caller",
            HangupBy::Agent => "agent",
            HangupBy::System => "system",
        }
    }
}

/// Why a call ended, for CDRs and statistics.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EndReason {
    /// A BYE after the call was connected (or an operator's hang-up).
    Normal,
    /// The caller gave up before an agent answered (CANCEL).
    Cancelled,
    /// The last agent tried was busy (486/600); the caller got 486.
    Busy,
    /// The last agent tried did not answer in time (or could not be reached).
    NoAnswer,
    /// No agent was registered and free; the caller got 480.
    NoAgent,
    /// The last agent tried refused with this status.
    Rejected(u16),
    /// The media relay saw no RTP for too long (`Endpoint::media_timeout`).
    MediaTimeout,
    /// Our 2xx was never acknowledged (RFC 3261 §13.3.1.4).
    AckTimeout,
    /// A protocol failure: a dialog vanished (481/408), an unusable answer.
    Error,
}

impl EndReason {
    /// Lower-case name for CDRs, logs and metric labels (the status of
    /// `Rejected` is not part of it).
    pub fn as_str(self) -> &'static str {
        match self {
            EndReason::Normal => "normal",
            EndReason::Cancelled => "cancelled",
            EndReason::Busy => "busy",
            EndReason::NoAnswer => "no_answer",
            EndReason::NoAgent => "no_agent",
            EndReason::Rejected(_) => "rejected",
            EndReason::MediaTimeout => "media_timeout",
            EndReason::AckTimeout => "ack_timeout",
            EndReason::Error => "error",
        }
    }
}

/// Things worth recording: sent as `endpoint::Event::Call`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CallEvent {
    /// A call was accepted and is looking for an agent (a CDR opens).
    Arrived {
        call: CallId,
        /// The caller's number (From user part) — personal data: log it redacted.
        caller_number: String,
        /// The hotline number dialled, or the agent id of an internal call.
        did: String,
        at: Instant,
    },
    /// `agent`'s phone is being offered the call (INVITE sent): screen pop.
    Ringing { call: CallId, agent: String },
    /// `agent` answered; media flows from now on.
    Answered {
        call: CallId,
        agent: String,
        at: Instant,
    },
    /// The call is over (both legs are being torn down; ports are free).
    Ended {
        call: CallId,
        at: Instant,
        hangup_by: HangupBy,
        reason: EndReason,
    },
    /// A hosted call's ringing of `agent` ended without an answer: the caller
    /// is still with the server (the ACD tries someone else).
    RingFailed {
        call: CallId,
        agent: String,
        failure: RingFailure,
    },
    /// The agent of a hosted call hung up first; the caller is kept (for the
    /// survey) until the owner hangs up or bridges again.
    AgentLeft {
        call: CallId,
        agent: String,
        at: Instant,
    },
    /// The emergency line answered a transfer: the caller now talks to it.
    Transferred {
        call: CallId,
        number: String,
        at: Instant,
    },
    /// A transfer to an emergency line failed (`status`, 408 if nothing came
    /// back); the caller is with the server again.
    TransferFailed {
        call: CallId,
        number: String,
        status: u16,
    },
    /// The agent's phone asked (REFER, RFC 3515) to transfer the caller to
    /// emergency number `number`; it was accepted (202) and the owner is
    /// expected to call `Endpoint::transfer`.
    TransferRequested {
        call: CallId,
        agent: String,
        number: String,
    },
    /// A SIP INFO on the caller leg (DTMF relay from some gateways); the body
    /// is passed on as it came, with its Content-Type.
    Info {
        call: CallId,
        content_type: String,
        body: bytes::Bytes,
    },
    /// The server placed an outbound call through the trunk (a CDR opens;
    /// the call is `Ended` if it is not answered, `OriginAnswered` if it is).
    Originating {
        call: CallId,
        /// The number dialled — personal data: log it redacted.
        number: String,
        /// Our number presented in From.
        caller_id: String,
        at: Instant,
    },
    /// The far end of an outbound call answered: the server serves it now
    /// (prompts, keys) like an answered hotline call.
    OriginAnswered { call: CallId, at: Instant },
    /// An INVITE that never became a call (403 untrusted, 404 unknown number,
    /// 488, 503 no ports, ...): for metrics and fraud monitoring.
    Refused {
        from: Remote,
        caller_number: String,
        dialed: String,
        status: u16,
        at: Instant,
    },
}

/// Where a call is (see the module diagram).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallState {
    /// Waiting for an agent to be chosen.
    Routing,
    /// Answered by the server itself: menu, queue, survey (hosted calls).
    Served,
    /// An agent's phone is being rung.
    Ringing,
    /// The agent answered; our 200 to the caller awaits its ACK.
    Answered,
    Connected,
    /// Torn down; waiting for the last responses.
    Ending,
}

/// A read-only snapshot of a call, for `GET /api/calls`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallView {
    pub id: CallId,
    pub state: CallState,
    pub caller_number: String,
    pub did: String,
    /// The agent being rung or talking.
    pub agent: Option<String>,
    /// True for an agent-to-agent call.
    pub internal: bool,
    /// Agents whose phones are ringing for this call.
    pub ringing: Vec<String>,
    /// The emergency number the call is transferred (or being transferred) to.
    pub transferred_to: Option<String>,
    pub started: Instant,
    pub answered: Option<Instant>,
}
