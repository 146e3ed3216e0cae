//! Symmetric RTP ("latching") for phones behind NAT.
//!
//! A softphone behind NAT writes its private address in its SDP, and its packets
//! reach us from the NAT's public address and a port the NAT chose. Phones send
//! and receive RTP on the same port (symmetric RTP, RFC 4961), so the way back
//! to such a phone is the *source* of its packets, not its SDP. The [`Latch`] of
//! a leg decides which source that is.
//!
//! # The rule
//!
//! A source is **eligible** when its IP is the IP of the SDP address, or — only
//! with [`LatchConfig::any_source_if_private`] — from any IP when the SDP address
//! is private (RFC 1918, RFC 6598 shared, link-local, IPv6 unique/link-local),
//! unspecified (`0.0.0.0`, the old hold idiom) or unknown. Then:
//!
//! 1. **Before latching**, packets from eligible sources are accepted and the first
//!    one latches the leg to its source `ip:port`; packets from anywhere else are
//!    ignored (and counted by the caller). Until then we send to the SDP address.
//! 2. **After latching**, packets from the latched source are accepted. A packet
//!    from the latched IP on another port re-latches at once (a NAT rebinding, or
//!    a phone that re-opened its socket). A packet from another eligible IP
//!    re-latches only when the latched source has been quiet for
//!    [`LatchConfig::relatch_after`] (the phone moved networks); during a live
//!    stream it is ignored, so a third party cannot steal the media by spraying
//!    packets at the port (the "RTP bleed" class of attack).
//! 3. A re-INVITE with a new SDP address ([`Latch::reset`]) starts over from 1.
//!    An unspecified address (`c=0.0.0.0`, the RFC 2543 hold that RFC 3264 §8.4
//!    still asks us to understand) is not a move: the latch is kept and nothing
//!    is sent until an address comes back.
//!
//! Loopback is neither public nor private here: it is simply an IP that must match.

use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

/// Latching policy, the same for every leg.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LatchConfig {
    /// Accept a source on another IP once the latched one has been silent this long.
    pub relatch_after: Duration,
    /// When the SDP address is private, unspecified or unknown, latch to the first
    /// packet from any address (phones behind NAT that do not know their public
    /// address). Off, such a leg only latches to its SDP IP.
    pub any_source_if_private: bool,
}

impl Default for LatchConfig {
    fn default() -> Self {
        Self {
            relatch_after: Duration::from_secs(2),
            any_source_if_private: true,
        }
    }
}

/// What to do with a packet from a given source.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LatchDecision {
    /// From the latched source.
    Accept,
    /// Accepted, and the leg is now latched to this (new) source.
    Latched(SocketAddr),
    /// Not from an acceptable source: drop it.
    Ignore,
}

/// The latch of one leg. See the [module docs](self).
#[derive(Debug, Clone)]
pub struct Latch {
    config: LatchConfig,
    expected: Option<SocketAddr>,
    latched: Option<SocketAddr>,
    last_accepted: Option<Instant>,
    /// Put on hold with `c=0.0.0.0`: send nothing.
    held: bool,
}

impl Latch {
    /// A latch expecting media from `expected` (the SDP connection address and
    /// port), or from nobody in particular when `None`.
    pub fn new(config: LatchConfig, expected: Option<SocketAddr>) -> Self {
        Self {
            config,
            expected,
            latched: None,
            last_accepted: None,
            held: false,
        }
    }

    /// A new SDP address (re-INVITE). The same address keeps the latch — a hold
    /// and resume re-INVITE must not undo NAT traversal — while a new one starts
    /// over.
    pub fn reset(&mut self, expected: Option<SocketAddr>) {
        self.held = expected.is_some_and(|a| a.ip().is_unspecified());
        if self.held && self.expected.is_some() {
            return;
        }
        if expected != self.expected {
            self.expected = expected;
            self.latched = None;
            self.last_accepted = None;
        }
    }

    /// Where to send media to this leg: the latched source, else the SDP address
    /// when it is a usable destination.
    pub fn remote(&self) -> Option<SocketAddr> {
        if self.held {
            return None;
        }
        self.latched.or(self
            .expected
            .filter(|a| !a.ip().is_unspecified() && a.port() != 0))
    }

    /// The source the leg is latched to.
    pub fn latched(&self) -> Option<SocketAddr> {
        self.latched
    }

    fn eligible(&self, ip: IpAddr) -> bool {
        match self.expected {
            Some(e) if e.ip() == ip => true,
            Some(e) => self.config.any_source_if_private && is_private_or_unspecified(e.ip()),
            None => self.config.any_source_if_private,
        }
    }

    /// Checks (and maybe latches to) the source of a packet.
    pub fn check(&mut self, now: Instant, source: SocketAddr) -> LatchDecision {
        let decision = match self.latched {
            Some(l) if l == source => LatchDecision::Accept,
            Some(l) if l.ip() == source.ip() => LatchDecision::Latched(source),
            Some(_) => {
                let quiet = self
                    .last_accepted
                    .is_none_or(|t| now.saturating_duration_since(t) >= self.config.relatch_after);
                if quiet && self.eligible(source.ip()) {
                    LatchDecision::Latched(source)
                } else {
                    LatchDecision::Ignore
                }
            }
            None if self.eligible(source.ip()) => LatchDecision::Latched(source),
            None => LatchDecision::Ignore,
        };
        match decision {
            LatchDecision::Accept => self.last_accepted = Some(now),
            LatchDecision::Latched(s) => {
                self.latched = Some(s);
                self.last_accepted = Some(now);
            }
            LatchDecision::Ignore => {}
        }
        decision
    }

    /// Whether an RTCP packet from `source` belongs to this leg: from the latched
    /// IP, or before latching from an eligible one. RTCP never latches (its port is
    /// not the way back for RTP).
    pub fn accepts_rtcp_from(&self, source: SocketAddr) -> bool {
        match self.latched {
            Some(l) => l.ip() == source.ip(),
            None => self.eligible(source.ip()),
        }
    }
}

/// Addresses a phone can write in its SDP without being reachable at them.
pub fn is_private_or_unspecified(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, ..] = v4.octets();
            v4.is_private()
                || v4.is_link_local()
                || v4.is_unspecified()
                // RFC 6598 shared address space (carrier-grade NAT), 100.64.0.0/10.
                || (a == 100 && (64..128).contains(&b))
        }
        IpAddr::V6(v6) => {
            let s0 = v6.segments()[0];
            v6.is_unspecified()
                || (s0 & 0xfe00) == 0xfc00 // unique local, fc00::/7
                || (s0 & 0xffc0) == 0xfe80 // link-local, fe80::/10
                || v6.to_ipv4_mapped().is_some_and(|v4| is_private_or_unspecified(v4.into()))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addr(s: &str) -> SocketAddr {
        s.parse().expect("test address")
    }

    fn strict() -> LatchConfig {
        LatchConfig {
            relatch_after: Duration::from_secs(2),
            any_source_if_private: false,
        }
    }

    #[test]
    fn first_packet_from_the_sdp_ip_latches_its_port() {
        let t0 = Instant::now();
        let mut l = Latch::new(strict(), Some(addr("203.0.113.5:4000")));
        assert_eq!(l.remote(), Some(addr("203.0.113.5:4000")));
        // Another IP before latching: ignored.
        assert_eq!(
            l.check(t0, addr("198.51.100.9:4000")),
            LatchDecision::Ignore
        );
        assert_eq!(l.latched(), None);
        // The SDP IP from a NAT-chosen port: latched there.
        let src = addr("203.0.113.5:61000");
        assert_eq!(l.check(t0, src), LatchDecision::Latched(src));
        assert_eq!(l.remote(), Some(src));
        assert_eq!(l.check(t0, src), LatchDecision::Accept);
    }

    #[test]
    fn after_latching_a_port_change_on_the_same_ip_is_followed_at_once() {
        let t0 = Instant::now();
        let mut l = Latch::new(strict(), Some(addr("203.0.113.5:4000")));
        l.check(t0, addr("203.0.113.5:4000"));
        let moved = addr("203.0.113.5:4002");
        assert_eq!(l.check(t0, moved), LatchDecision::Latched(moved));
        assert_eq!(l.remote(), Some(moved));
    }

    #[test]
    fn another_ip_needs_a_quiet_period_and_eligibility() {
        let t0 = Instant::now();
        let cfg = LatchConfig {
            relatch_after: Duration::from_secs(2),
            any_source_if_private: true,
        };
        let mut l = Latch::new(cfg, Some(addr("192.168.1.20:4000")));
        let nat = addr("198.51.100.7:30000");
        assert_eq!(l.check(t0, nat), LatchDecision::Latched(nat));
        let intruder = addr("203.0.113.66:5555");
        // While the stream is live another IP is ignored ...
        let t = t0 + Duration::from_millis(20);
        assert_eq!(l.check(t, nat), LatchDecision::Accept);
        assert_eq!(
            l.check(t + Duration::from_millis(1999), intruder),
            LatchDecision::Ignore
        );
        assert_eq!(l.remote(), Some(nat));
        // ... and accepted once the latched source has been quiet for 2 s.
        assert_eq!(
            l.check(t + Duration::from_secs(2), intruder),
            LatchDecision::Latched(intruder)
        );
    }

    #[test]
    fn a_strict_latch_never_moves_to_a_foreign_ip() {
        let t0 = Instant::now();
        let mut l = Latch::new(strict(), Some(addr("192.168.1.20:4000")));
        // Private SDP address but any-source is off: only 192.168.1.20 may latch.
        assert_eq!(
            l.check(t0, addr("198.51.100.7:30000")),
            LatchDecision::Ignore
        );
        l.check(t0, addr("192.168.1.20:4000"));
        assert_eq!(
            l.check(t0 + Duration::from_secs(60), addr("198.51.100.7:30000")),
            LatchDecision::Ignore
        );
    }

    #[test]
    fn any_source_only_when_the_sdp_address_is_private_or_unknown() {
        let t0 = Instant::now();
        let cfg = LatchConfig::default();
        // Public SDP address: another IP is not eligible even with the option on.
        let mut public = Latch::new(cfg, Some(addr("203.0.113.5:4000")));
        assert_eq!(
            public.check(t0, addr("198.51.100.7:1")),
            LatchDecision::Ignore
        );
        // Unspecified and unknown: anyone.
        let mut zero = Latch::new(cfg, Some(addr("0.0.0.0:4000")));
        assert_eq!(zero.remote(), None, "0.0.0.0 is not a destination");
        assert!(matches!(
            zero.check(t0, addr("198.51.100.7:1")),
            LatchDecision::Latched(_)
        ));
        let mut none = Latch::new(cfg, None);
        assert!(matches!(
            none.check(t0, addr("198.51.100.7:1")),
            LatchDecision::Latched(_)
        ));
        let mut cgnat = Latch::new(cfg, Some(addr("100.72.1.1:4000")));
        assert!(matches!(
            cgnat.check(t0, addr("198.51.100.7:1")),
            LatchDecision::Latched(_)
        ));
    }

    #[test]
    fn reset_keeps_the_latch_for_the_same_address_and_drops_it_for_a_new_one() {
        let t0 = Instant::now();
        let mut l = Latch::new(strict(), Some(addr("203.0.113.5:4000")));
        let src = addr("203.0.113.5:61000");
        l.check(t0, src);
        l.reset(Some(addr("203.0.113.5:4000")));
        assert_eq!(
            l.latched(),
            Some(src),
            "hold/resume re-INVITE keeps the latch"
        );
        l.reset(Some(addr("203.0.113.8:4000")));
        assert_eq!(l.latched(), None);
        assert_eq!(l.remote(), Some(addr("203.0.113.8:4000")));
        assert_eq!(l.check(t0, src), LatchDecision::Ignore);
    }

    #[test]
    fn a_c0000_hold_keeps_the_latch_and_sends_nothing_until_resumed() {
        let t0 = Instant::now();
        let sdp = addr("203.0.113.5:4000");
        let mut l = Latch::new(strict(), Some(sdp));
        let src = addr("203.0.113.5:61000");
        l.check(t0, src);
        l.reset(Some(addr("0.0.0.0:4000")));
        assert_eq!(l.remote(), None, "on hold");
        assert_eq!(l.check(t0, src), LatchDecision::Accept);
        l.reset(Some(sdp));
        assert_eq!(l.remote(), Some(src), "resumed at the latched source");
    }

    #[test]
    fn rtcp_is_accepted_from_the_leg_ip_and_never_latches() {
        let t0 = Instant::now();
        let mut l = Latch::new(strict(), Some(addr("203.0.113.5:4000")));
        assert!(l.accepts_rtcp_from(addr("203.0.113.5:4001")));
        assert!(!l.accepts_rtcp_from(addr("198.51.100.1:4001")));
        assert_eq!(l.latched(), None);
        l.check(t0, addr("203.0.113.5:61000"));
        assert!(l.accepts_rtcp_from(addr("203.0.113.5:61001")));
    }

    #[test]
    fn private_ranges() {
        for p in [
            "10.1.2.3",
            "172.16.0.1",
            "172.31.255.255",
            "192.168.0.1",
            "169.254.1.1",
            "100.64.0.1",
            "100.127.255.255",
            "0.0.0.0",
            "fd00::1",
            "fe80::1",
            "::",
            "::ffff:192.168.1.1",
        ] {
            assert!(is_private_or_unspecified(p.parse().expect("ip")), "{p}");
        }
        for p in [
            "8.8.8.8",
            "172.32.0.1",
            "100.128.0.1",
            "127.0.0.1",
            "2001:db8::1",
            "::1",
        ] {
            assert!(!is_private_or_unspecified(p.parse().expect("ip")), "{p}");
        }
    }
}
