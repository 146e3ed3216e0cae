//! RTP/RTCP port pairs for the media the server anchors, sans-IO.
//!
//! Every call leg gets its own pair from the configured range (`[sip] rtp_ports`,
//! e.g. 20000–20999): an even RTP port and the odd port above it for RTCP, as
//! RFC 3550 §11 recommends and as phones that do not read `a=rtcp` (RFC 3605)
//! assume. The allocator only does the bookkeeping; the binary binds the sockets
//! when it gets `MediaCommand::Open`.
//!
//! Free pairs are handed out in FIFO order, so a pair just released is the *last*
//! to be reused: late RTP packets of a finished call then reach a closed socket
//! instead of leaking into the next call's recording. A pair is never handed out
//! twice while in use; releasing a pair that is not in use is ignored (and
//! reported), so a double release cannot duplicate a pair in the free list.
//! Exhaustion is an error the call turns into `503 Service Unavailable`.

use std::collections::{HashSet, VecDeque};

/// An RTP port and, implicitly, its RTCP port (`rtp + 1`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PortPair {
    /// Even.
    pub rtp: u16,
}

impl PortPair {
    /// The RTCP port: the odd one above RTP (RFC 3550 §11).
    pub fn rtcp(self) -> u16 {
        self.rtp + 1
    }
}

/// Every pair of the range is in use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("no free RTP port pair (all {capacity} in use)")]
pub struct PortsExhausted {
    pub capacity: usize,
}

/// The allocator. See the [module docs](self).
#[derive(Debug, Clone)]
pub struct MediaPorts {
    free: VecDeque<u16>,
    in_use: HashSet<u16>,
    /// Pairs another process holds (a bind failed): never handed out again.
    quarantined: HashSet<u16>,
    capacity: usize,
}

impl MediaPorts {
    /// Pairs from the inclusive range `first..=last`: `first` is rounded up to an
    /// even port and a pair is only made when its RTCP port is in the range too.
    /// An empty or inverted range gives an allocator that is always exhausted.
    /// Port 0 is never used (it means "any port" to the socket layer).
    pub fn new(first: u16, last: u16) -> Self {
        let start = u32::from(first.max(2)).next_multiple_of(2);
        let free: VecDeque<u16> = (start..u32::from(last))
            .step_by(2)
            .filter_map(|p| u16::try_from(p).ok())
            .collect();
        Self {
            capacity: free.len(),
            free,
            in_use: HashSet::new(),
            quarantined: HashSet::new(),
        }
    }

    /// A free pair, or the error when every pair is taken.
    pub fn allocate(&mut self) -> Result<PortPair, PortsExhausted> {
        let rtp = self.free.pop_front().ok_or(PortsExhausted {
            capacity: self.capacity,
        })?;
        self.in_use.insert(rtp);
        Ok(PortPair { rtp })
    }

    /// Gives a pair back. Returns false (and changes nothing) when the pair was
    /// not in use: a double release, or a pair this allocator never made.
    pub fn release(&mut self, pair: PortPair) -> bool {
        if self.in_use.remove(&pair.rtp) {
            if !self.quarantined.contains(&pair.rtp) {
                self.free.push_back(pair.rtp);
            }
            true
        } else {
            tracing::warn!(rtp = pair.rtp, "release of an RTP port pair not in use");
            false
        }
    }

    /// Takes the pair whose RTP port is `rtp` out of service: the owner could
    /// not bind it (another process holds it). A pair in use stays in use until
    /// released, then is not reused; a free one is withdrawn at once. Returns
    /// false for a port outside the range or already quarantined.
    pub fn quarantine(&mut self, rtp: u16) -> bool {
        let rtp = rtp & !1;
        let known = self.in_use.contains(&rtp) || self.free.contains(&rtp);
        if !known || !self.quarantined.insert(rtp) {
            return false;
        }
        self.free.retain(|&p| p != rtp);
        true
    }

    /// Pairs taken out of service by [`Self::quarantine`].
    pub fn quarantined(&self) -> usize {
        self.quarantined.len()
    }

    /// True while `pair` is allocated.
    pub fn is_in_use(&self, pair: PortPair) -> bool {
        self.in_use.contains(&pair.rtp)
    }

    /// Pairs free now.
    pub fn available(&self) -> usize {
        self.free.len()
    }

    /// Pairs allocated now.
    pub fn in_use(&self) -> usize {
        self.in_use.len()
    }

    /// Pairs in the range.
    pub fn capacity(&self) -> usize {
        self.capacity
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quarantined_pairs_are_never_handed_out_again() {
        let mut p = MediaPorts::new(20000, 20007); // pairs 20000, 20002, 20004, 20006
        let a = p.allocate().expect("pair");
        assert_eq!(a.rtp, 20000);
        // A free pair (20002) is withdrawn at once, also when named by its RTCP port.
        assert!(p.quarantine(20003));
        assert!(!p.quarantine(20002), "already quarantined");
        assert!(!p.quarantine(30000), "outside the range");
        // The pair in use stays in use until released, then is not reused.
        assert!(p.quarantine(a.rtp));
        assert!(p.release(a));
        let rest: Vec<u16> = std::iter::from_fn(|| p.allocate().ok())
            .map(|x| x.rtp)
            .collect();
        assert_eq!(rest, vec![20004, 20006]);
        assert_eq!(p.quarantined(), 2);
    }

    #[test]
    fn pairs_are_even_rtp_and_odd_rtcp_within_the_range() {
        let mut p = MediaPorts::new(20001, 20010);
        // 20002/3, 20004/5, 20006/7, 20008/9; 20010 has no RTCP port in range.
        assert_eq!(p.capacity(), 4);
        let mut got = Vec::new();
        while let Ok(pair) = p.allocate() {
            assert_eq!(pair.rtp % 2, 0);
            assert_eq!(pair.rtcp(), pair.rtp + 1);
            assert!(pair.rtp >= 20001 && pair.rtcp() <= 20010);
            got.push(pair.rtp);
        }
        assert_eq!(got, [20002, 20004, 20006, 20008]);
        assert_eq!(p.allocate(), Err(PortsExhausted { capacity: 4 }));
    }

    #[test]
    fn never_hands_out_a_pair_twice_and_reuses_released_ones_last() {
        let mut p = MediaPorts::new(20000, 20005);
        let a = p.allocate().expect("free");
        let b = p.allocate().expect("free");
        assert_ne!(a, b);
        assert!(p.release(a));
        assert!(!p.release(a), "double release is refused");
        let c = p.allocate().expect("free");
        assert_ne!(c, a, "a released pair goes to the back of the queue");
        assert_ne!(c, b);
        let d = p.allocate().expect("free");
        assert_eq!(d, a);
        assert!(p.allocate().is_err());
        assert_eq!((p.in_use(), p.available()), (3, 0));
        assert!(!p.release(PortPair { rtp: 30000 }), "not ours");
        for pair in [b, c, d] {
            assert!(p.release(pair));
        }
        assert_eq!((p.in_use(), p.available()), (0, 3));
    }

    #[test]
    fn degenerate_ranges() {
        assert_eq!(MediaPorts::new(20000, 20000).capacity(), 0);
        assert_eq!(MediaPorts::new(20001, 20000).capacity(), 0);
        assert_eq!(MediaPorts::new(0, 3).capacity(), 1, "port 0 is skipped");
        assert_eq!(MediaPorts::new(65534, 65535).capacity(), 1);
        assert_eq!(MediaPorts::new(0, 65535).capacity(), 32767);
    }
}
