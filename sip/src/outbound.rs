//! Outbound calls through the carrier trunk: what the endpoint needs to know
//! about the trunk ([`OutboundTrunk`]), why an origination is refused
//! ([`OriginateError`]) and the limits that keep the server within the
//! carrier's contract ([`Limiter`]).
//!
//! The limiter is sans-IO like everything in this crate: it is given the time
//! and never reads a clock. Two limits, both checked before a call is placed:
//!
//! - **concurrency**: at most `max_concurrent` outbound calls from the INVITE
//!   until the call has ended (a slot is held by the call id and given back
//!   by [`Limiter::release`]);
//! - **rate**: at most `calls_per_second` new calls in any one-second window
//!   (a sliding window of the last starts, so a burst can never exceed it,
//!   which a refilling token bucket would allow at its edges).
//!
//! Over a limit the call is not placed at all (the owner retries later); it
//! never waits inside the endpoint.

use std::collections::{HashSet, VecDeque};
use std::time::{Duration, Instant};

use crate::call::CallId;
use crate::net::Remote;

/// Where the number goes in [`OutboundTrunk::uri_template`].
pub const NUMBER_PLACEHOLDER: &str = "{number}";

/// The trunk outbound calls go through (`[trunk.outbound]`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboundTrunk {
    /// Request-URI template with `{number}` (`sip:{number}@192.0.2.20:5060`).
    pub uri_template: String,
    /// Where the INVITEs go (the template's host, resolved by the owner).
    pub remote: Remote,
    /// Our number, presented in From.
    pub caller_id: String,
    /// Digest user and password for a `401`/`407` from the trunk.
    pub credentials: Option<(String, String)>,
    pub max_concurrent: u32,
    pub calls_per_second: u32,
    /// How long the far phone may ring before we CANCEL.
    pub ring_timeout: Duration,
}

/// Why an outbound call was not placed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OriginateError {
    #[error("outbound calls are not configured ([trunk.outbound] uri)")]
    NotConfigured,
    #[error("{0:?} is not a number that can be dialled")]
    BadNumber(String),
    #[error("{0} outbound calls are up, the trunk's maximum")]
    Concurrency(u32),
    #[error("{0} outbound calls were placed in the last second, the trunk's maximum")]
    Rate(u32),
    #[error("no RTP ports free")]
    NoPorts,
    #[error("agent {0} has no live registration")]
    AgentNotRegistered(String),
    #[error("agent {0} is on another call")]
    AgentBusy(String),
    #[error("could not build the INVITE: {0}")]
    Build(&'static str),
}

/// A number the trunk may be asked to dial: digits with an optional leading
/// `+`, 3 to 32 of them. Anything else (letters, `@`, `;`, spaces) could
/// smuggle parameters into the Request-URI, so it is refused.
pub fn is_dialable(number: &str) -> bool {
    let digits = number.strip_prefix('+').unwrap_or(number);
    (3..=32).contains(&digits.len()) && digits.bytes().all(|b| b.is_ascii_digit())
}

/// The concurrency and rate limits of the trunk. See the module docs.
#[derive(Debug, Clone)]
pub struct Limiter {
    max_concurrent: u32,
    per_second: u32,
    active: HashSet<CallId>,
    /// Starts within the last second, oldest first.
    starts: VecDeque<Instant>,
    /// The most calls that were ever up at once (for tests and metrics).
    peak: usize,
}

impl Limiter {
    pub fn new(max_concurrent: u32, per_second: u32) -> Self {
        Limiter {
            max_concurrent: max_concurrent.max(1),
            per_second: per_second.max(1),
            active: HashSet::new(),
            starts: VecDeque::new(),
            peak: 0,
        }
    }

    /// Whether a call may start at `now`; takes a slot for `call` if so.
    pub fn acquire(&mut self, now: Instant, call: CallId) -> Result<(), OriginateError> {
        self.check(now)?;
        self.take(now, call);
        Ok(())
    }

    /// Whether a call may start at `now` (nothing is taken).
    pub fn check(&mut self, now: Instant) -> Result<(), OriginateError> {
        while self
            .starts
            .front()
            .is_some_and(|&t| now.saturating_duration_since(t) >= Duration::from_secs(1))
        {
            self.starts.pop_front();
        }
        if self.active.len() >= self.max_concurrent as usize {
            return Err(OriginateError::Concurrency(self.max_concurrent));
        }
        if self.starts.len() >= self.per_second as usize {
            return Err(OriginateError::Rate(self.per_second));
        }
        Ok(())
    }

    /// Takes a slot for `call`, started at `now` (after [`check`](Self::check)).
    pub fn take(&mut self, now: Instant, call: CallId) {
        self.active.insert(call);
        self.starts.push_back(now);
        self.peak = self.peak.max(self.active.len());
    }

    /// `call` has ended: its slot is free. False if it held none.
    pub fn release(&mut self, call: CallId) -> bool {
        self.active.remove(&call)
    }

    /// Outbound calls up now.
    pub fn active(&self) -> usize {
        self.active.len()
    }

    /// The most outbound calls that were up at the same time.
    pub fn peak(&self) -> usize {
        self.peak
    }

    /// When a call refused for the rate could next be placed.
    pub fn next_slot(&self) -> Option<Instant> {
        (self.starts.len() >= self.per_second as usize)
            .then(|| self.starts.front().map(|&t| t + Duration::from_secs(1)))
            .flatten()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn never_more_than_max_concurrent() {
        let t0 = Instant::now();
        let mut l = Limiter::new(2, 100);
        assert_eq!(l.acquire(t0, CallId(1)), Ok(()));
        assert_eq!(l.acquire(t0, CallId(2)), Ok(()));
        assert_eq!(
            l.acquire(t0, CallId(3)),
            Err(OriginateError::Concurrency(2))
        );
        assert!(l.release(CallId(1)));
        assert!(!l.release(CallId(1)), "a slot is given back once");
        assert_eq!(l.acquire(t0, CallId(3)), Ok(()));
        assert_eq!(l.active(), 2);
        assert_eq!(l.peak(), 2);
    }

    #[test]
    fn never_more_than_the_rate_in_any_one_second_window() {
        let t0 = Instant::now();
        let ms = |n: u64| t0 + Duration::from_millis(n);
        let mut l = Limiter::new(1000, 3);
        for (i, at) in [0, 100, 900].into_iter().enumerate() {
            assert_eq!(l.acquire(ms(at), CallId(i as u64)), Ok(()));
        }
        assert_eq!(l.acquire(ms(999), CallId(10)), Err(OriginateError::Rate(3)));
        assert_eq!(l.next_slot(), Some(ms(1000)));
        // The first start leaves the window at exactly one second.
        assert_eq!(l.acquire(ms(1000), CallId(11)), Ok(()));
        assert_eq!(
            l.acquire(ms(1050), CallId(12)),
            Err(OriginateError::Rate(3))
        );
        assert_eq!(l.acquire(ms(1100), CallId(13)), Ok(()));
        // Replaying a dense schedule: no window ever holds more than 3.
        let mut l = Limiter::new(1000, 3);
        let mut placed = Vec::new();
        for i in 0..200u64 {
            if l.acquire(ms(i * 37), CallId(i)).is_ok() {
                placed.push(i * 37);
            }
        }
        for (i, &a) in placed.iter().enumerate() {
            let in_window = placed[i..].iter().take_while(|&&b| b < a + 1000).count();
            assert!(
                in_window <= 3,
                "{in_window} starts within a second of {a} ms"
            );
        }
        assert!(
            placed.len() >= 3 * 7,
            "the limit is not stricter than asked"
        );
    }

    #[test]
    fn dialable_numbers_are_digits_only() {
        for ok in ["13800000000", "+8613800000000", "110"] {
            assert!(is_dialable(ok), "{ok}");
        }
        for bad in [
            "",
            "12",
            "+",
            "138 0000",
            "138@evil",
            "1;user=phone",
            "sip:1",
            "1".repeat(33).as_str(),
        ] {
            assert!(!is_dialable(bad), "{bad}");
        }
    }
}
