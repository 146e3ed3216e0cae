//! The `hotline` server binary's library half: CLI, wiring and I/O.
//!
//! The protocol and policy crates (`hotline-sip`, `hotline-ivr`,
//! `hotline-ticketing`) are sans-IO state machines; this crate owns the tokio
//! tasks that feed them: sockets ([`sip_io`]), the HTTP API ([`http`]), metrics
//! and graceful shutdown ([`server`]). See `ARCHITECTURE.md` for the call path.
//! It is a library as well as a binary so the end-to-end tests in `tests/` can
//! start a whole server in-process on ephemeral loopback ports.

pub mod cli;
pub mod cli_users;
pub mod contact;
pub mod dialing;
pub mod http;
pub mod logging;
pub mod media;
pub mod metrics;
pub mod outbound;
pub mod server;
pub mod sip_io;
pub mod ticket_rules;
pub mod web;
