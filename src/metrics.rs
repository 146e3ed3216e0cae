//! Prometheus counters and gauges, rendered as text at `GET /metrics`.
//!
//! The registry is tiny and lives at the I/O edge (the SIP driver and the HTTP
//! handlers update it); the sans-IO crates only report events. Label values are
//! bounded: unknown methods are counted as `other`, statuses are 100–699.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Mutex;

/// Label sets and values of one metric name.
type Series = Vec<(String, i128)>;

/// Direction of a SIP message.
#[derive(Debug, Clone, Copy)]
pub enum Direction {
    In,
    Out,
}

#[derive(Debug, Default)]
pub struct Metrics {
    counters: Mutex<BTreeMap<(&'static str, String), u64>>,
    gauges: Mutex<BTreeMap<(&'static str, String), i64>>,
    /// The RTP relay's own atomics (published by the call tasks once a second).
    relay: std::sync::OnceLock<std::sync::Arc<crate::media::RelayCounters>>,
}

const HELP: &[(&str, &str, &str)] = &[
    (
        "hotline_sip_messages_received_total",
        "counter",
        "SIP messages received, by method (requests) or status (responses).",
    ),
    (
        "hotline_sip_messages_sent_total",
        "counter",
        "SIP messages sent, by method (requests) or status (responses).",
    ),
    (
        "hotline_sip_parse_errors_total",
        "counter",
        "Messages that could not be parsed or framed, by transport.",
    ),
    (
        "hotline_sip_registrations_total",
        "counter",
        "Registrar events: registered (new binding), removed, expired, auth_failed, locked_out.",
    ),
    (
        "hotline_sip_registered_contacts",
        "gauge",
        "Contacts currently bound by the registrar.",
    ),
    (
        "hotline_sip_transactions",
        "gauge",
        "Live SIP transactions.",
    ),
    (
        "hotline_sip_tcp_connections",
        "gauge",
        "Open SIP TCP connections.",
    ),
    (
        "hotline_sip_tcp_refused_total",
        "counter",
        "TCP connections refused or closed by a limit, by reason.",
    ),
    (
        "hotline_sip_udp_dropped_total",
        "counter",
        "UDP datagrams dropped because the SIP core was saturated.",
    ),
    (
        "hotline_sip_stale_dropped_total",
        "counter",
        "UDP requests dropped after waiting over 250 ms in a backlogged SIP core queue (overload).",
    ),
    (
        "hotline_http_logins_total",
        "counter",
        "HTTP API log-in attempts, by outcome.",
    ),
    ("hotline_calls_total", "counter", "Calls ended, by reason."),
    (
        "hotline_calls_refused_total",
        "counter",
        "INVITEs refused before becoming a call, by status.",
    ),
    ("hotline_calls_active", "gauge", "Calls in progress."),
    (
        "hotline_outbound_calls_total",
        "counter",
        "Outbound calls placed through the trunk (surveys, callbacks).",
    ),
    (
        "hotline_outbound_calls_active",
        "gauge",
        "Outbound calls up now (held against [trunk.outbound] max_concurrent).",
    ),
    (
        "hotline_outbound_calls_peak",
        "gauge",
        "The most outbound calls that were up at the same time since start.",
    ),
    (
        "hotline_media_errors_total",
        "counter",
        "Media sockets that could not be opened or driven (the call was ended).",
    ),
];

/// The label set of a SIP message from its first line, e.g. `method="REGISTER"`
/// or `status="200"`.
pub fn sip_label(first_line: &[u8]) -> String {
    if let Some(rest) = first_line.strip_prefix(b"SIP/2.0 ") {
        let code = rest.get(..3).unwrap_or_default();
        if code.len() == 3 && code.iter().all(u8::is_ascii_digit) {
            return format!(
                "kind=\"response\",status=\"{}\"",
                String::from_utf8_lossy(code)
            );
        }
        return "kind=\"response\",status=\"invalid\"".to_owned();
    }
    let token = first_line.split(|&b| b == b' ').next().unwrap_or_default();
    let method = match token {
        b"INVITE" | b"ACK" | b"BYE" | b"CANCEL" | b"REGISTER" | b"OPTIONS" | b"INFO" | b"REFER"
        | b"NOTIFY" | b"SUBSCRIBE" | b"MESSAGE" | b"PRACK" | b"UPDATE" | b"PUBLISH" => {
            String::from_utf8_lossy(token).into_owned()
        }
        _ => "other".to_owned(),
    };
    format!("kind=\"request\",method=\"{method}\"")
}

impl Metrics {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds one to a counter with the given (already formatted) label set.
    pub fn inc(&self, name: &'static str, labels: impl Into<String>) {
        let mut c = self.counters.lock().unwrap_or_else(|p| p.into_inner());
        *c.entry((name, labels.into())).or_default() += 1;
    }

    pub fn set_gauge(&self, name: &'static str, labels: impl Into<String>, value: i64) {
        let mut g = self.gauges.lock().unwrap_or_else(|p| p.into_inner());
        g.insert((name, labels.into()), value);
    }

    pub fn add_gauge(&self, name: &'static str, labels: impl Into<String>, delta: i64) {
        let mut g = self.gauges.lock().unwrap_or_else(|p| p.into_inner());
        *g.entry((name, labels.into())).or_default() += delta;
    }

    /// Counts one SIP message by its wire bytes.
    pub fn sip_message(&self, dir: Direction, data: &[u8]) {
        let first = data
            .split(|&b| b == b'\r' || b == b'\n')
            .next()
            .unwrap_or_default();
        let name = match dir {
            Direction::In => "hotline_sip_messages_received_total",
            Direction::Out => "hotline_sip_messages_sent_total",
        };
        self.inc(name, sip_label(first));
    }

    pub fn counter(&self, name: &str, labels: &str) -> u64 {
        let c = self.counters.lock().unwrap_or_else(|p| p.into_inner());
        c.iter()
            .find(|((n, l), _)| *n == name && l == labels)
            .map_or(0, |(_, v)| *v)
    }

    /// Attaches the relay's counters so `/metrics` shows them.
    pub fn attach_relay(&self, relay: std::sync::Arc<crate::media::RelayCounters>) {
        let _ = self.relay.set(relay);
    }

    /// The Prometheus text exposition (version 0.0.4).
    pub fn render(&self) -> String {
        let counters = self
            .counters
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        let gauges = self
            .gauges
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        let mut out = String::new();
        for (name, kind, help) in HELP {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
            let series: Vec<(String, i128)> = if *kind == "counter" {
                counters
                    .iter()
                    .filter(|((n, _), _)| n == name)
                    .map(|((_, l), v)| (l.clone(), i128::from(*v)))
                    .collect()
            } else {
                gauges
                    .iter()
                    .filter(|((n, _), _)| n == name)
                    .map(|((_, l), v)| (l.clone(), i128::from(*v)))
                    .collect()
            };
            if series.is_empty() {
                let _ = writeln!(out, "{name} 0");
            }
            for (labels, v) in series {
                if labels.is_empty() {
                    let _ = writeln!(out, "{name} {v}");
                } else {
                    let _ = writeln!(out, "{name}{{{labels}}} {v}");
                }
            }
        }
        // Series whose name has no HELP entry are still shown, never hidden.
        let known = |n: &str| HELP.iter().any(|(h, _, _)| *h == n);
        let mut extra: BTreeMap<&str, (&str, Series)> = BTreeMap::new();
        for ((n, l), v) in &counters {
            if !known(n) {
                extra
                    .entry(n)
                    .or_insert(("counter", Vec::new()))
                    .1
                    .push((l.clone(), i128::from(*v)));
            }
        }
        for ((n, l), v) in &gauges {
            if !known(n) {
                extra
                    .entry(n)
                    .or_insert(("gauge", Vec::new()))
                    .1
                    .push((l.clone(), i128::from(*v)));
            }
        }
        for (name, (kind, series)) in extra {
            let _ = writeln!(out, "# TYPE {name} {kind}");
            for (labels, v) in series {
                if labels.is_empty() {
                    let _ = writeln!(out, "{name} {v}");
                } else {
                    let _ = writeln!(out, "{name}{{{labels}}} {v}");
                }
            }
        }
        if let Some(relay) = self.relay.get() {
            for (name, value) in relay.snapshot() {
                let kind = if name.ends_with("_total") {
                    "counter"
                } else {
                    "gauge"
                };
                let _ = writeln!(out, "# TYPE {name} {kind}\n{name} {value}");
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_from_first_lines() {
        assert_eq!(
            sip_label(b"REGISTER sip:x SIP/2.0"),
            "kind=\"request\",method=\"REGISTER\""
        );
        assert_eq!(
            sip_label(b"FOO sip:x SIP/2.0"),
            "kind=\"request\",method=\"other\""
        );
        assert_eq!(
            sip_label(b"SIP/2.0 401 Unauthorized"),
            "kind=\"response\",status=\"401\""
        );
        assert_eq!(
            sip_label(b"SIP/2.0 4x1 Bad"),
            "kind=\"response\",status=\"invalid\""
        );
    }

    #[test]
    fn render_lists_series_and_zero_defaults() {
        let m = Metrics::new();
        m.sip_message(Direction::In, b"OPTIONS sip:x SIP/2.0\r\n\r\n");
        m.sip_message(Direction::In, b"OPTIONS sip:x SIP/2.0\r\n\r\n");
        m.set_gauge("hotline_sip_tcp_connections", "", 3);
        let text = m.render();
        assert!(text.contains(
            "hotline_sip_messages_received_total{kind=\"request\",method=\"OPTIONS\"} 2"
        ));
        assert!(text.contains("hotline_sip_tcp_connections 3"));
        assert!(text.contains("hotline_sip_parse_errors_total 0"));
        assert!(text.contains("# TYPE hotline_sip_registered_contacts gauge"));
        assert!(text.contains("# TYPE hotline_calls_total counter"));
        assert!(text.contains("hotline_sip_stale_dropped_total 0"));
        // A series nobody documented is still rendered.
        m.inc("hotline_undocumented_total", "x=\"1\"");
        assert!(m.render().contains("hotline_undocumented_total{x=\"1\"} 1"));
    }
}
