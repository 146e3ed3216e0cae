//! Timer values (RFC 3261 §17 and Table 4 of Appendix A), the per-transaction
//! timer table, and the layer-wide deadline queue.

use std::cmp::{Ordering, Reverse};
use std::collections::BinaryHeap;
use std::time::{Duration, Instant};

/// The timer base values. [`Default`] gives the RFC 3261 values; a deployment on a
/// network known to be fast may lower T1 (§17.1.1.1), and tests use the defaults.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimerConfig {
    /// RTT estimate, 500 ms. Retransmissions start at T1 and transactions time out
    /// after 64·T1 (Timers B, F, H, J).
    pub t1: Duration,
    /// Cap on the retransmit interval of non-INVITE requests and of INVITE final
    /// responses (Timers E, G), 4 s.
    pub t2: Duration,
    /// Maximum time a message stays in the network, 5 s (Timers I, K).
    pub t4: Duration,
    /// How long an INVITE client transaction absorbs retransmitted final responses
    /// after sending the ACK (Timer D); at least 32 s on unreliable transports.
    pub timer_d: Duration,
    /// The INVITE server transaction answers `100 Trying` itself if the TU has not
    /// responded within this time (§17.2.1 says 200 ms).
    pub trying_delay: Duration,
    /// Safety net for an INVITE server transaction the TU never finishes: after this
    /// long without any response from the TU, the transaction ends with
    /// [`Output::ServerTimeout`](super::Output::ServerTimeout). Each provisional
    /// response from the TU re-arms it, so a TU that keeps a call pending sends a
    /// provisional at least every minute (§13.3.1.1), as it should anyway. Three
    /// minutes, like a proxy's Timer C (§16.6 step 11). `None` disables it.
    ///
    /// A non-INVITE server transaction always has such a guard at 64·T1: by then
    /// the client's Timer F has fired and a response would be useless.
    pub invite_server_guard: Option<Duration>,
}

impl Default for TimerConfig {
    fn default() -> Self {
        Self {
            t1: Duration::from_millis(500),
            t2: Duration::from_secs(4),
            t4: Duration::from_secs(5),
            timer_d: Duration::from_secs(32),
            trying_delay: Duration::from_millis(200),
            invite_server_guard: Some(Duration::from_secs(180)),
        }
    }
}

impl TimerConfig {
    /// 64·T1: Timers B, F, H and (unreliable) J.
    pub fn timeout(&self) -> Duration {
        self.t1.saturating_mul(64)
    }
}

/// The timers a transaction can run, by role. Each state machine uses a subset and
/// names them after RFC 3261:
///
/// | slot | INVITE client | non-INVITE client | INVITE server | non-INVITE server |
/// |---|---|---|---|---|
/// | `Retransmit` | A | E | G | – |
/// | `Timeout` | B | F | H | – |
/// | `Wait` | D | K | I | J |
/// | `Trying` | – | – | 100 Trying after 200 ms | – |
/// | `Guard` | – | – | TU never answers | TU never answers |
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Slot {
    Retransmit,
    Timeout,
    Wait,
    Trying,
    Guard,
}

impl Slot {
    const COUNT: usize = 5;
    const ALL: [Slot; Slot::COUNT] = [
        Slot::Retransmit,
        Slot::Timeout,
        Slot::Wait,
        Slot::Trying,
        Slot::Guard,
    ];
}

/// The armed deadlines of one transaction. The layer's [`TimerQueue`] may hold
/// older entries for a slot; only the deadline stored here is live (lazy
/// deletion), so stopping a timer is just clearing its slot.
#[derive(Debug, Default)]
pub(super) struct TimerTable {
    deadlines: [Option<Instant>; Slot::COUNT],
    /// Slots set since the layer last copied them into its queue.
    dirty: u8,
}

impl TimerTable {
    /// Arms `slot` to fire `after` from `now`. A duration too large for `Instant`
    /// means "never" rather than a panic.
    pub(super) fn set(&mut self, slot: Slot, now: Instant, after: Duration) {
        self.deadlines[slot as usize] = now.checked_add(after);
        if self.deadlines[slot as usize].is_some() {
            self.dirty |= 1 << slot as u8;
        }
    }

    pub(super) fn stop(&mut self, slot: Slot) {
        self.deadlines[slot as usize] = None;
    }

    pub(super) fn stop_all(&mut self) {
        self.deadlines = [None; Slot::COUNT];
    }

    pub(super) fn get(&self, slot: Slot) -> Option<Instant> {
        self.deadlines[slot as usize]
    }

    /// Consumes the timer if `deadline` is its live deadline: it fires once.
    pub(super) fn fire(&mut self, slot: Slot, deadline: Instant) -> bool {
        if self.get(slot) == Some(deadline) {
            self.stop(slot);
            true
        } else {
            false
        }
    }

    /// Hands each slot armed since the last call to `f`.
    pub(super) fn drain_dirty(&mut self, mut f: impl FnMut(Slot, Instant)) {
        let dirty = std::mem::take(&mut self.dirty);
        for slot in Slot::ALL {
            if dirty & (1 << slot as u8) != 0 {
                if let Some(deadline) = self.get(slot) {
                    f(slot, deadline);
                }
            }
        }
    }
}

/// All deadlines of the layer, earliest first: a binary heap with lazy deletion,
/// so arming is O(log n), and finding the next wake-up O(1) once stale entries at
/// the top are pruned. Stale entries deeper down cost memory only until their
/// deadline passes, which is at most 64·T1 (or the guard) away.
#[derive(Debug)]
pub(super) struct TimerQueue<K> {
    heap: BinaryHeap<Reverse<Entry<K>>>,
    /// Breaks ties between equal deadlines in arming order, so that timers due at
    /// the same instant fire in a deterministic order.
    next_seq: u64,
}

#[derive(Debug)]
pub(super) struct Entry<K> {
    pub(super) deadline: Instant,
    seq: u64,
    pub(super) key: K,
    pub(super) slot: Slot,
}

impl<K> PartialEq for Entry<K> {
    fn eq(&self, other: &Self) -> bool {
        (self.deadline, self.seq) == (other.deadline, other.seq)
    }
}
impl<K> Eq for Entry<K> {}
impl<K> PartialOrd for Entry<K> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl<K> Ord for Entry<K> {
    fn cmp(&self, other: &Self) -> Ordering {
        (self.deadline, self.seq).cmp(&(other.deadline, other.seq))
    }
}

impl<K> TimerQueue<K> {
    pub(super) fn new() -> Self {
        Self {
            heap: BinaryHeap::new(),
            next_seq: 0,
        }
    }

    pub(super) fn push(&mut self, deadline: Instant, key: K, slot: Slot) {
        let seq = self.next_seq;
        self.next_seq += 1;
        self.heap.push(Reverse(Entry {
            deadline,
            seq,
            key,
            slot,
        }));
    }

    pub(super) fn peek(&self) -> Option<&Entry<K>> {
        self.heap.peek().map(|Reverse(e)| e)
    }

    pub(super) fn pop(&mut self) -> Option<Entry<K>> {
        self.heap.pop().map(|Reverse(e)| e)
    }

    /// Pops the earliest entry if it is due at `now`.
    pub(super) fn pop_due(&mut self, now: Instant) -> Option<Entry<K>> {
        if self.peek()?.deadline <= now {
            self.pop()
        } else {
            None
        }
    }

    #[cfg(test)]
    pub(super) fn len(&self) -> usize {
        self.heap.len()
    }
}
