//! SIP for the hotline server.
//!
//! Everything in this crate is sans-IO: state machines take bytes, typed input and
//! the current time, and hand back what to transmit and when to be woken next. They
//! never read a clock or touch a socket; the `hotline` binary owns the tokio tasks
//! that do (see `ARCHITECTURE.md`).
//!
//! Layers, bottom up:
//! - [`message`]: a purpose-built, zero-copy SIP parser and printer over [`bytes::Bytes`]
//!   with typed access to the headers the stack uses (why not `rsip`: ARCHITECTURE.md);
//! - [`framing`]: stream framing for SIP over TCP (Content-Length, size caps);
//! - [`transaction`]: RFC 3261 §17 client and server transactions with Timers A–K;
//! - [`digest`] and [`registrar`]: RFC 7616/8760 digest authentication and the
//!   agent registrar with bindings, expiry and brute-force lock-out;
//! - [`endpoint`]: the user-agent core that routes requests to the registrar,
//!   OPTIONS and the "not implemented" answers;
//! - [`sdp`]: the RFC 4566 SDP parser and printer and RFC 3264 offer/answer for the
//!   anchored G.711 audio stream with RFC 4733 DTMF;
//! - [`dialog`]: RFC 3261 §12 dialogs (UAS and UAC), in-dialog requests and ACKs;
//! - [`call`]: the B2BUA — one call joins the trunk's dialog and the agent's, with
//!   media anchored on ports from [`media_ports`];
//! - [`media`]: the RTP relay's per-packet logic (validation, SSRC/sequence/timestamp
//!   rewriting, latching, RFC 4733 DTMF, RTCP, media timeouts) for the binary's relay;
//! - [`acd`]: automatic call distribution — queues, agent states, strategies, shifts
//!   and statistics, deciding which agent a waiting call rings.

pub mod acd;
pub mod call;
pub mod dialog;
pub mod digest;
pub mod endpoint;
mod error;
pub mod framing;
pub mod media;
pub mod media_ports;
pub mod message;
pub mod net;
pub mod outbound;
pub mod registrar;
pub mod sdp;
pub mod transaction;

pub use error::{Error, Result};
