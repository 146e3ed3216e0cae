//! An ordered set of `(deadline, key)`: the timer table of the registrar's tables.
//! The earliest deadline answers `poll_timeout` in O(log n) and due keys pop in
//! order, so neither depends on scanning every binding or address.

use std::collections::BTreeSet;
use std::time::Instant;

#[derive(Debug)]
pub(super) struct Deadlines<K: Ord + Clone> {
    set: BTreeSet<(Instant, K)>,
}

impl<K: Ord + Clone> Default for Deadlines<K> {
    fn default() -> Self {
        Self {
            set: BTreeSet::new(),
        }
    }
}

impl<K: Ord + Clone> Deadlines<K> {
    pub(super) fn insert(&mut self, at: Instant, key: K) {
        self.set.insert((at, key));
    }

    pub(super) fn remove(&mut self, at: Instant, key: &K) {
        self.set.remove(&(at, key.clone()));
    }

    /// Moves `key` from `old` to `new`.
    pub(super) fn reschedule(&mut self, old: Instant, new: Instant, key: K) {
        self.remove(old, &key);
        self.insert(new, key);
    }

    pub(super) fn first(&self) -> Option<Instant> {
        self.set.first().map(|(at, _)| *at)
    }

    /// The earliest entry, whatever its deadline (for eviction).
    pub(super) fn pop_first(&mut self) -> Option<(Instant, K)> {
        self.set.pop_first()
    }

    /// The earliest entry whose deadline is at or before `now`.
    pub(super) fn pop_due(&mut self, now: Instant) -> Option<(Instant, K)> {
        if self.first()? <= now {
            self.set.pop_first()
        } else {
            None
        }
    }
}
