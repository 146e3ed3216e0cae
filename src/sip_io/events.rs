//! What the SIP core does with the endpoint's events: parse errors (rate-
//! limited warnings), call events (records, transfers, drafts, the contact
//! centre, metrics) and registrar events (metrics, agent registration).

use std::time::{Duration, Instant};

use hotline_sip::call::CallEvent;
use hotline_sip::endpoint::Event;
use hotline_sip::net::Transport;
use hotline_sip::registrar::{RegistrarEvent, UnregisterReason};

use super::Core;

/// At most one warning per `every`; counts what it suppressed in between, so a
/// flood of garbage cannot flood the log (DESIGN.md Telephony 1).
pub(super) struct RateLimit {
    every: Duration,
    last: Option<Instant>,
    suppressed: u64,
}

impl RateLimit {
    pub(super) fn new(every: Duration) -> Self {
        Self {
            every,
            last: None,
            suppressed: 0,
        }
    }

    /// `Some(suppressed since the last one)` when a warning may be logged now.
    pub(super) fn allow(&mut self, now: Instant) -> Option<u64> {
        if self
            .last
            .is_some_and(|l| now.duration_since(l) < self.every)
        {
            self.suppressed += 1;
            return None;
        }
        self.last = Some(now);
        Some(std::mem::take(&mut self.suppressed))
    }
}

impl Core {
    /// Logs and counts an endpoint event.
    pub(super) fn event(&mut self, event: Event) {
        match event {
            Event::ParseError { from, error } => {
                let transport = match from.transport {
                    Transport::Udp => "udp",
                    Transport::Tcp => "tcp",
                };
                self.metrics.inc(
                    "hotline_sip_parse_errors_total",
                    format!("transport=\"{transport}\""),
                );
                if let Some(suppressed) = self.parse_warnings.allow(Instant::now()) {
                    tracing::warn!(%from, suppressed, "unparseable SIP message: {error}");
                }
            }
            Event::Call(ev) => {
                self.book.on_event(&ev);
                self.outbound_event(&ev);
                self.transfer_event(&ev);
                self.draft_event(&ev);
                self.hosting_event(&ev);
                match &ev {
                    CallEvent::Arrived { call, did, .. } => {
                        tracing::info!(%call, %did, "call arrived")
                    }
                    CallEvent::Ringing { call, agent } => {
                        tracing::info!(%call, %agent, "ringing agent")
                    }
                    CallEvent::Answered { call, agent, .. } => {
                        tracing::info!(%call, %agent, "answered")
                    }
                    CallEvent::Ended {
                        call,
                        hangup_by,
                        reason,
                        ..
                    } => {
                        self.metrics.inc(
                            "hotline_calls_total",
                            format!("reason=\"{}\"", reason.as_str()),
                        );
                        tracing::info!(%call, by = hangup_by.as_str(), reason = reason.as_str(), "call ended");
                    }
                    CallEvent::RingFailed {
                        call,
                        agent,
                        failure,
                    } => {
                        tracing::info!(%call, %agent, ?failure, "agent did not answer")
                    }
                    CallEvent::AgentLeft { call, agent, .. } => {
                        tracing::info!(%call, %agent, "agent hung up first; caller kept")
                    }
                    CallEvent::Transferred { call, number, .. } => {
                        tracing::info!(%call, %number, "transferred to emergency line")
                    }
                    CallEvent::TransferFailed {
                        call,
                        number,
                        status,
                    } => {
                        tracing::warn!(%call, %number, status, "emergency transfer failed")
                    }
                    CallEvent::TransferRequested {
                        call,
                        agent,
                        number,
                    } => {
                        tracing::info!(%call, %agent, %number, "agent asked for an emergency transfer")
                    }
                    CallEvent::Info { call, .. } => tracing::debug!(%call, "INFO"),
                    CallEvent::Originating { call, .. } => {
                        self.metrics.inc("hotline_outbound_calls_total", "");
                        tracing::info!(%call, "outbound call placed")
                    }
                    CallEvent::OriginAnswered { call, .. } => {
                        tracing::info!(%call, "outbound call answered")
                    }
                    CallEvent::Refused { from, status, .. } => {
                        self.metrics.inc(
                            "hotline_calls_refused_total",
                            format!("status=\"{status}\""),
                        );
                        tracing::info!(%from, status, "INVITE refused");
                    }
                }
            }
            Event::Registrar(ev) => {
                let outcome = match &ev {
                    RegistrarEvent::Registered { user, contact } => {
                        self.registered_contacts += 1;
                        tracing::info!(%user, %contact, "registered");
                        self.hosting_registration(user);
                        "registered"
                    }
                    RegistrarEvent::Unregistered {
                        user,
                        contact,
                        reason,
                    } => {
                        self.registered_contacts -= 1;
                        tracing::info!(%user, %contact, ?reason, "unregistered");
                        self.hosting_registration(user);
                        match reason {
                            UnregisterReason::Expired => "expired",
                            UnregisterReason::Removed => "removed",
                        }
                    }
                    RegistrarEvent::AuthFailed { source, user } => {
                        tracing::info!(%source, ?user, "registration authentication failed");
                        "auth_failed"
                    }
                    RegistrarEvent::LockedOut { source } => {
                        tracing::warn!(%source, "address locked out after repeated authentication failures");
                        "locked_out"
                    }
                };
                self.metrics.inc(
                    "hotline_sip_registrations_total",
                    format!("outcome=\"{outcome}\""),
                );
                self.metrics.set_gauge(
                    "hotline_sip_registered_contacts",
                    "",
                    self.registered_contacts,
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rate_limit_lets_one_warning_through_per_period_and_counts_the_rest() {
        let mut r = RateLimit::new(Duration::from_secs(10));
        let t0 = Instant::now();
        assert_eq!(r.allow(t0), Some(0));
        for i in 1..=5 {
            assert_eq!(r.allow(t0 + Duration::from_secs(i)), None);
        }
        assert_eq!(r.allow(t0 + Duration::from_secs(10)), Some(5));
        assert_eq!(r.allow(t0 + Duration::from_secs(11)), None);
    }
}
