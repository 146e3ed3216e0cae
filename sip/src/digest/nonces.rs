//! The table of nonces we issued: bounded, swept in time.
//!
//! Every nonce lives exactly `ttl` after issue, so issue order is expiry order and a
//! FIFO queue doubles as the expiry index: sweeping and evicting are both "pop the
//! front". The map and the queue hold the same keys at all times.

use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant};

#[derive(Debug)]
pub(super) struct NonceEntry {
    pub(super) expires_at: Instant,
    /// Highest nonce-count accepted so far (0: none). RFC 7616 §3.4: the server
    /// tracks nc per nonce to detect replays.
    pub(super) last_nc: u32,
}

#[derive(Debug)]
pub(super) struct NonceTable {
    ttl: Duration,
    cap: usize,
    entries: HashMap<String, NonceEntry>,
    order: VecDeque<(Instant, String)>,
}

impl NonceTable {
    pub(super) fn new(ttl: Duration, cap: usize) -> Self {
        Self {
            ttl,
            cap: cap.max(1),
            entries: HashMap::new(),
            order: VecDeque::new(),
        }
    }

    pub(super) fn ttl(&self) -> Duration {
        self.ttl
    }

    pub(super) fn contains(&self, nonce: &str) -> bool {
        self.entries.contains_key(nonce)
    }

    /// Records a freshly issued nonce, evicting the oldest when full.
    pub(super) fn insert(&mut self, now: Instant, nonce: String) {
        self.sweep(now);
        while self.entries.len() >= self.cap {
            match self.order.pop_front() {
                Some((_, old)) => {
                    self.entries.remove(&old);
                }
                None => break,
            }
        }
        let expires_at = now + self.ttl;
        self.order.push_back((expires_at, nonce.clone()));
        self.entries.insert(
            nonce,
            NonceEntry {
                expires_at,
                last_nc: 0,
            },
        );
    }

    /// A nonce that is still valid at `now`.
    pub(super) fn live_mut(&mut self, now: Instant, nonce: &str) -> Option<&mut NonceEntry> {
        self.entries.get_mut(nonce).filter(|e| e.expires_at > now)
    }

    /// Drops every nonce whose lifetime ended at or before `now`.
    pub(super) fn sweep(&mut self, now: Instant) {
        while let Some((at, _)) = self.order.front() {
            if *at > now {
                break;
            }
            if let Some((_, nonce)) = self.order.pop_front() {
                self.entries.remove(&nonce);
            }
        }
    }

    /// When the oldest nonce expires.
    pub(super) fn next_expiry(&self) -> Option<Instant> {
        self.order.front().map(|(at, _)| *at)
    }

    pub(super) fn len(&self) -> usize {
        self.entries.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounded_and_swept() {
        let t0 = Instant::now();
        let mut t = NonceTable::new(Duration::from_secs(10), 3);
        for i in 0..5u64 {
            t.insert(t0 + Duration::from_secs(i), format!("n{i}"));
        }
        assert_eq!(t.len(), 3);
        assert!(!t.contains("n0") && !t.contains("n1"));
        assert!(t.contains("n2") && t.contains("n4"));
        assert_eq!(t.next_expiry(), Some(t0 + Duration::from_secs(12)));
        let at = t0 + Duration::from_secs(12);
        assert!(
            t.live_mut(at, "n2").is_none(),
            "expired at the exact instant"
        );
        assert!(t.live_mut(at, "n3").is_some());
        t.sweep(at);
        assert_eq!(t.len(), 2);
        t.sweep(t0 + Duration::from_secs(100));
        assert_eq!(t.len(), 0);
        assert_eq!(t.next_expiry(), None);
    }
}
