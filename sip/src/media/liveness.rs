//! Media timeout bookkeeping (`[sip] media_timeout_s`, default 60 s).
//!
//! A call whose phone vanished (crashed, lost its network, a trunk that forgot a
//! BYE) would otherwise hold an agent and a port pair forever. Each leg that is
//! expected to send media has a deadline: its last RTP packet (or the moment it was
//! armed) plus the timeout. When it passes, the leg is reported once; the SIP core
//! decides what to do (hang up). A leg that does not send — on hold with
//! `sendonly`/`inactive` from our side, i.e. it declared `recvonly`/`inactive` —
//! is *suspended*: RFC 3264 §5.1 allows it to stay silent, and its deadline
//! restarts from the moment it is resumed.

use std::time::{Duration, Instant};

use super::Leg;

#[derive(Debug, Clone, Copy, Default)]
struct LegClock {
    /// Armed: media is expected; the deadline runs from `since`.
    since: Option<Instant>,
    suspended: bool,
    /// Already reported for this silence; re-armed by the next packet.
    fired: bool,
}

/// Deadlines of both legs of one call.
#[derive(Debug, Clone)]
pub struct Liveness {
    timeout: Duration,
    legs: [LegClock; 2],
}

impl Liveness {
    /// Nothing armed yet.
    pub fn new(timeout: Duration) -> Self {
        Self {
            timeout,
            legs: [LegClock::default(); 2],
        }
    }

    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// Media is expected from `leg` from now on (the leg is connected). Keeps a
    /// later packet time if there is one.
    pub fn arm(&mut self, now: Instant, leg: Leg) {
        let c = &mut self.legs[leg.index()];
        c.since = Some(c.since.map_or(now, |s| s.max(now)));
        c.fired = false;
    }

    /// An RTP packet arrived from `leg`.
    pub fn packet(&mut self, now: Instant, leg: Leg) {
        let c = &mut self.legs[leg.index()];
        if c.since.is_some() {
            c.since = Some(now);
            c.fired = false;
        }
    }

    /// Stops (`true`) or restarts (`false`) the clock of a leg that does not send.
    pub fn suspend(&mut self, now: Instant, leg: Leg, suspended: bool) {
        let c = &mut self.legs[leg.index()];
        if c.suspended && !suspended && c.since.is_some() {
            c.since = Some(now);
            c.fired = false;
        }
        c.suspended = suspended;
    }

    /// The last packet (or arming) time of a leg.
    pub fn last_activity(&self, leg: Leg) -> Option<Instant> {
        self.legs[leg.index()].since
    }

    fn deadline(&self, leg: Leg) -> Option<Instant> {
        let c = &self.legs[leg.index()];
        if c.suspended || c.fired {
            return None;
        }
        c.since.map(|s| s + self.timeout)
    }

    /// When to call [`expired`](Self::expired) next.
    #[must_use]
    pub fn poll_timeout(&self) -> Option<Instant> {
        Leg::BOTH.into_iter().filter_map(|l| self.deadline(l)).min()
    }

    /// A leg whose deadline has passed, reported once per silence. Call until
    /// `None`.
    pub fn expired(&mut self, now: Instant) -> Option<Leg> {
        let leg = Leg::BOTH
            .into_iter()
            .find(|&l| self.deadline(l).is_some_and(|d| d <= now))?;
        self.legs[leg.index()].fired = true;
        Some(leg)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T: Duration = Duration::from_secs(60);

    #[test]
    fn nothing_armed_nothing_due() {
        let t0 = Instant::now();
        let mut l = Liveness::new(T);
        l.packet(t0, Leg::Caller);
        assert_eq!(l.poll_timeout(), None);
        assert_eq!(l.expired(t0 + T * 10), None);
    }

    #[test]
    fn a_silent_leg_expires_once_after_the_timeout() {
        let t0 = Instant::now();
        let mut l = Liveness::new(T);
        l.arm(t0, Leg::Caller);
        l.arm(t0, Leg::Agent);
        // The caller keeps talking; the agent falls silent after 5 s.
        l.packet(t0 + Duration::from_secs(5), Leg::Agent);
        for s in 1..=70 {
            l.packet(t0 + Duration::from_secs(s), Leg::Caller);
        }
        assert_eq!(l.poll_timeout(), Some(t0 + Duration::from_secs(65)));
        assert_eq!(l.expired(t0 + Duration::from_secs(64)), None);
        assert_eq!(l.expired(t0 + Duration::from_secs(65)), Some(Leg::Agent));
        assert_eq!(
            l.expired(t0 + Duration::from_secs(66)),
            None,
            "reported once"
        );
        assert_eq!(l.poll_timeout(), Some(t0 + Duration::from_secs(130)));
        // A packet re-arms it.
        l.packet(t0 + Duration::from_secs(80), Leg::Agent);
        assert_eq!(l.poll_timeout(), Some(t0 + Duration::from_secs(130)));
        assert_eq!(l.expired(t0 + Duration::from_secs(140)), Some(Leg::Caller));
        assert_eq!(l.expired(t0 + Duration::from_secs(140)), Some(Leg::Agent));
        assert_eq!(l.expired(t0 + Duration::from_secs(140)), None);
    }

    #[test]
    fn a_leg_on_hold_does_not_expire_and_restarts_on_resume() {
        let t0 = Instant::now();
        let mut l = Liveness::new(T);
        l.arm(t0, Leg::Caller);
        l.suspend(t0 + Duration::from_secs(10), Leg::Caller, true);
        assert_eq!(l.poll_timeout(), None);
        assert_eq!(l.expired(t0 + Duration::from_secs(600)), None);
        let resumed = t0 + Duration::from_secs(900);
        l.suspend(resumed, Leg::Caller, false);
        assert_eq!(l.poll_timeout(), Some(resumed + T));
        assert_eq!(l.expired(resumed + T), Some(Leg::Caller));
    }
}
