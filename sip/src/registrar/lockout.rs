//! Brute-force protection: failed authentications per source address.
//!
//! A failure is a request whose digest response was wrong (unknown user or wrong
//! password), never a first request that merely gets its challenge, a stale nonce
//! or a replayed nonce-count: none of those is a password guess. Failures are kept
//! as timestamps in a sliding window of `window`; the `max_failures`-th within it
//! locks the address for `lockout`. A lock-out starts a clean slate when it ends.
//!
//! A successful authentication does *not* clear an address's failures: otherwise
//! a holder of one valid account could keep guessing another's password.
//!
//! Memory is bounded twice: at most `max_failures` timestamps per address, and at
//! most `max_sources` addresses. When the table is full, the entry whose deadline
//! comes first (the stalest information) is evicted. Entries leave the table when
//! their last failure ages out of the window or their lock-out ends.
//!
//! Known limits, by design of address-based lock-out: over UDP a source address
//! can be spoofed, so an attacker can lock out a victim's address (agents on TCP
//! are not exposed to this); and agents behind one NAT share an address, so one
//! misconfigured phone can lock out its office. Both trade against letting a guesser
//! run unbounded; the lock-out is temporary.

use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;
use std::time::{Duration, Instant};

use super::deadlines::Deadlines;

#[derive(Debug)]
struct Entry {
    /// Recent failures, oldest first; at most `max_failures`.
    failures: VecDeque<Instant>,
    locked_until: Option<Instant>,
    /// When this entry can be forgotten; its key in `deadlines`.
    deadline: Instant,
}

#[derive(Debug)]
pub(super) struct FailureGuard {
    /// 0 disables the lock-out.
    max_failures: u32,
    window: Duration,
    lockout: Duration,
    max_sources: usize,
    entries: HashMap<IpAddr, Entry>,
    deadlines: Deadlines<IpAddr>,
}

impl FailureGuard {
    pub(super) fn new(
        max_failures: u32,
        window: Duration,
        lockout: Duration,
        max_sources: usize,
    ) -> Self {
        Self {
            max_failures,
            window,
            lockout,
            max_sources: max_sources.max(1),
            entries: HashMap::new(),
            deadlines: Deadlines::default(),
        }
    }

    /// Changes the bound on tracked addresses (at least 1), evicting if needed.
    pub(super) fn set_max_sources(&mut self, max_sources: usize) {
        self.max_sources = max_sources.max(1);
        while self.entries.len() > self.max_sources {
            match self.deadlines.pop_first() {
                Some((_, ip)) => {
                    self.entries.remove(&ip);
                }
                None => break,
            }
        }
    }

    /// Whether `ip` is locked out at `now` (the lock ends at exactly `locked_until`).
    pub(super) fn is_locked(&self, now: Instant, ip: IpAddr) -> bool {
        self.entries
            .get(&ip)
            .and_then(|e| e.locked_until)
            .is_some_and(|until| now < until)
    }

    /// Counts one failure; true when it locks the address out (once per lock-out).
    pub(super) fn record_failure(&mut self, now: Instant, ip: IpAddr) -> bool {
        if self.max_failures == 0 || self.is_locked(now, ip) {
            return false;
        }
        if !self.entries.contains_key(&ip) {
            self.make_room();
        }
        let max = self.max_failures as usize;
        let window = self.window;
        let entry = self.entries.entry(ip).or_insert_with(|| Entry {
            failures: VecDeque::new(),
            locked_until: None,
            deadline: now,
        });
        let old_deadline = entry.deadline;
        // A lock-out that ended (but was not swept yet) leaves a clean slate.
        if entry.locked_until.is_some() {
            entry.locked_until = None;
            entry.failures.clear();
        }
        // Sliding window: only failures less than `window` old count.
        while entry
            .failures
            .front()
            .is_some_and(|t| now.saturating_duration_since(*t) >= window)
        {
            entry.failures.pop_front();
        }
        entry.failures.push_back(now);
        while entry.failures.len() > max {
            entry.failures.pop_front();
        }
        let locked = entry.failures.len() >= max;
        if locked {
            entry.failures.clear();
            entry.locked_until = Some(now + self.lockout);
            entry.deadline = now + self.lockout;
        } else {
            entry.deadline = now + window;
        }
        let new_deadline = entry.deadline;
        self.deadlines.reschedule(old_deadline, new_deadline, ip);
        locked
    }

    /// Forgets entries whose failures aged out and lock-outs that ended.
    pub(super) fn handle_timeout(&mut self, now: Instant) {
        while let Some((_, ip)) = self.deadlines.pop_due(now) {
            self.entries.remove(&ip);
        }
    }

    pub(super) fn next_deadline(&self) -> Option<Instant> {
        self.deadlines.first()
    }

    fn make_room(&mut self) {
        while self.entries.len() >= self.max_sources {
            match self.deadlines.pop_first() {
                Some((_, ip)) => {
                    self.entries.remove(&ip);
                }
                None => break,
            }
        }
    }

    #[cfg(test)]
    pub(super) fn len(&self) -> usize {
        self.entries.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(n: u8) -> IpAddr {
        IpAddr::from([192, 0, 2, n])
    }

    #[test]
    fn sliding_window_then_lockout_then_clean_slate() {
        let t0 = Instant::now();
        let s = Duration::from_secs;
        let mut g = FailureGuard::new(3, s(60), s(300), 100);
        assert!(!g.record_failure(t0, ip(1)));
        assert!(!g.record_failure(t0 + s(30), ip(1)));
        // The first failure ages out at exactly t0+60: still only two in the window.
        assert!(!g.record_failure(t0 + s(60), ip(1)));
        assert!(!g.is_locked(t0 + s(60), ip(1)));
        assert!(
            g.record_failure(t0 + s(61), ip(1)),
            "third within 60 s locks"
        );
        assert!(g.is_locked(t0 + s(61), ip(1)));
        assert!(!g.is_locked(t0 + s(61), ip(2)));
        // While locked, failures are not counted and do not re-announce.
        assert!(!g.record_failure(t0 + s(100), ip(1)));
        assert!(g.is_locked(t0 + s(361) - Duration::from_nanos(1), ip(1)));
        assert!(!g.is_locked(t0 + s(361), ip(1)));
        assert_eq!(g.next_deadline(), Some(t0 + s(361)));
        g.handle_timeout(t0 + s(361));
        assert_eq!(g.len(), 0);
        assert_eq!(g.next_deadline(), None);
    }

    #[test]
    fn expired_lock_not_yet_swept_starts_clean() {
        let t0 = Instant::now();
        let s = Duration::from_secs;
        let mut g = FailureGuard::new(2, s(60), s(10), 100);
        g.record_failure(t0, ip(1));
        assert!(g.record_failure(t0, ip(1)));
        assert!(!g.record_failure(t0 + s(10), ip(1)));
        assert!(!g.is_locked(t0 + s(10), ip(1)));
        assert!(g.record_failure(t0 + s(11), ip(1)));
    }

    #[test]
    fn bounded_table_evicts_earliest_deadline() {
        let t0 = Instant::now();
        let s = Duration::from_secs;
        let mut g = FailureGuard::new(5, s(60), s(300), 3);
        for n in 0..10u8 {
            g.record_failure(t0 + s(u64::from(n)), ip(n));
        }
        assert_eq!(g.len(), 3);
        assert!(g.entries.contains_key(&ip(9)));
        assert!(!g.entries.contains_key(&ip(0)));
        g.handle_timeout(t0 + s(1000));
        assert_eq!(g.len(), 0);
    }

    #[test]
    fn zero_disables() {
        let mut g = FailureGuard::new(0, Duration::from_secs(60), Duration::from_secs(60), 3);
        let t0 = Instant::now();
        for _ in 0..100 {
            assert!(!g.record_failure(t0, ip(1)));
        }
        assert_eq!(g.len(), 0);
    }
}
