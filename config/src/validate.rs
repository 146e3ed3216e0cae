//! Semantic checks: everything that parses but cannot be run.
//!
//! Checks never stop at the first problem: an operator running
//! `hotline config check` should be able to fix a file in one pass.

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::net::IpAddr;

use crate::sections::{Role, StorageConfig, DATA_DIR_PLACEHOLDER, NUMBER_PLACEHOLDER};
use crate::{Config, DEFAULT_TOML};

/// One problem in a configuration, at a key path such as `agents[2].id`,
/// `hotline.trusted_trunks[1]` or `ivr.nodes.main.queue` (or an environment
/// variable's name for an override).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ValidationError {
    /// Where: the key path, or the environment variable.
    pub path: String,
    /// What is wrong, for a human.
    pub message: String,
}

impl ValidationError {
    /// An error at `path`.
    pub fn new(path: impl Into<String>, message: impl Into<String>) -> Self {
        ValidationError {
            path: path.into(),
            message: message.into(),
        }
    }
}

impl fmt::Display for ValidationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path, self.message)
    }
}

impl std::error::Error for ValidationError {}

/// Longest agent id accepted; ids are typed on phone keypads and in URLs.
const MAX_ID_LEN: usize = 32;
/// Longest telephone number accepted (E.164 allows 15 digits; leave room
/// for trunk prefixes).
const MAX_NUMBER_LEN: usize = 32;
/// Shortest supervisor password. Supervisors can hear every recording and
/// see confidential complainants (§29–§30), so a guessable password is a
/// leak of personal data, not just of a seat.
pub(crate) const MIN_SUPERVISOR_PASSWORD: usize = 8;
/// Bounds of `sip.max_message_bytes`: an INVITE with SDP already exceeds a
/// few hundred bytes, and nothing legitimate needs megabytes.
const MESSAGE_BYTES: std::ops::RangeInclusive<usize> = 1500..=16 * 1024 * 1024;

#[derive(Default)]
pub(crate) struct Report(pub(crate) Vec<ValidationError>);

impl Report {
    pub(crate) fn err(&mut self, path: impl Into<String>, message: impl Into<String>) {
        self.0.push(ValidationError::new(path, message));
    }

    pub(crate) fn positive<T: Default + PartialEq>(&mut self, path: &str, value: T) {
        if value == T::default() {
            self.err(path, "must be greater than 0");
        }
    }

    /// A list of short tokens (skills): none empty, none with spaces.
    pub(crate) fn tokens(&mut self, path: &str, values: &[String]) {
        for (i, v) in values.iter().enumerate() {
            if v.trim().is_empty() {
                self.err(format!("{path}[{i}]"), "must not be empty");
            } else if v.chars().any(char::is_whitespace) {
                self.err(
                    format!("{path}[{i}]"),
                    format!(
                        "{v:?} contains whitespace; skills are single tokens like \"lang:yue\""
                    ),
                );
            }
        }
    }
}

/// The path of an IVR node, quoting names that are not bare TOML keys.
pub(crate) fn node_path(name: &str) -> String {
    if is_name(name) {
        format!("ivr.nodes.{name}")
    } else {
        format!("ivr.nodes.{name:?}")
    }
}

/// Queue and IVR node names: used in URLs, logs and metric labels.
pub(crate) fn is_name(s: &str) -> bool {
    !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

/// A SIP user part we accept as agent id: the RFC 3261 `unreserved` subset
/// that needs no escaping in a SIP URI, a digest `username`, a URL path
/// segment or a file name.
fn is_sip_user(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= MAX_ID_LEN
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'))
}

/// A dialled number: digits, optionally after one leading `+`.
fn is_number(s: &str) -> bool {
    let digits = s.strip_prefix('+').unwrap_or(s);
    !digits.is_empty()
        && digits.len() <= MAX_NUMBER_LEN
        && digits.bytes().all(|b| b.is_ascii_digit())
}

const NUMBER_RULE: &str = "must be digits, optionally with a leading '+'";

/// Check a database URL's scheme; shared with `HOTLINE_DATABASE_URL`.
pub(crate) fn check_database_url(url: &str) -> Result<(), String> {
    if url == "sqlite::memory:" {
        return Ok(());
    }
    let Some(scheme) = StorageConfig::SCHEMES.iter().find(|s| url.starts_with(*s)) else {
        return Err(format!(
            "{url:?} has an unknown scheme; expected sqlite://, postgres:// or postgresql://"
        ));
    };
    if url.len() == scheme.len() {
        return Err(format!("{url:?} names no database"));
    }
    Ok(())
}

impl Config {
    /// Check everything that parsed but cannot work, and report every
    /// problem found, each with its key path.
    pub fn validate(&self) -> Result<(), Vec<ValidationError>> {
        let mut r = Report::default();
        self.check_sip(&mut r);
        self.check_http(&mut r);
        self.check_storage(&mut r);
        self.check_hotline(&mut r);
        self.check_agents(&mut r);
        self.check_queues(&mut r);
        self.check_emergency(&mut r);
        self.check_ivr(&mut r);
        self.check_survey(&mut r);
        self.calendar.check(&mut r.0);
        self.tickets.check(&mut r.0);
        self.trunk.check(&mut r.0);
        if r.0.is_empty() {
            Ok(())
        } else {
            Err(r.0)
        }
    }

    /// Settings that are legal but probably not what the operator wants; the
    /// server should log them at start-up. Independent of [`validate`](Self::validate).
    pub fn warnings(&self) -> Vec<ValidationError> {
        let mut w = Report::default();

        let exposed = !self.sip.listen.ip().is_loopback() || !self.http.listen.ip().is_loopback();
        if exposed {
            let demo: HashSet<String> = toml::from_str::<Config>(DEFAULT_TOML)
                .map(|d| d.agents.into_iter().map(|a| a.password).collect())
                .unwrap_or_default();
            for (i, a) in self.agents.iter().enumerate() {
                if demo.contains(&a.password) {
                    w.err(
                        format!("agents[{i}].password"),
                        "is a published demo password and the server listens beyond loopback; change it",
                    );
                }
            }
        }

        if self.emergency.gateway.is_none() && !self.hotline.numbers.is_empty() {
            w.err(
                "emergency.gateway",
                "is not set: agents and the IVR cannot transfer callers to 110/119/120/122",
            );
        }

        // Legal (the server runs, such calls are refused) and normal while
        // the menus are being written, but surely not what a live line wants.
        if self.ivr.nodes.is_empty() {
            for (i, did) in self.hotline.numbers.iter().enumerate() {
                if did.menu.is_none() && did.queue.is_none() {
                    w.err(
                        format!("hotline.numbers[{i}]"),
                        "has no queue and [ivr] defines no nodes: calls to it will be refused",
                    );
                }
            }
        }

        for (i, q) in self.queues.iter().enumerate() {
            let served = self.agents.iter().any(|a| crate::queues::qualifies(a, q));
            if !served {
                w.err(
                    format!("queues[{i}].skills"),
                    "no agent has all of these skills: calls in this queue can only wait or overflow",
                );
            }
        }

        if self.storage.database_url() == "sqlite::memory:" {
            w.err(
                "storage.database_url",
                "is an in-memory database: every work order is lost when the server stops",
            );
        }
        w.0
    }

    fn check_sip(&self, r: &mut Report) {
        let s = &self.sip;
        let domain_ok = !s.domain.is_empty()
            && s.domain.len() <= 253
            && s.domain
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-')
            && !s.domain.starts_with(['.', '-'])
            && !s.domain.ends_with(['.', '-']);
        if !domain_ok {
            r.err(
                "sip.domain",
                format!(
                    "{:?} is not a host name like \"hotline.example.gov.cn\"",
                    s.domain
                ),
            );
        }

        let ip = s.public_addr;
        let multicast_or_broadcast = match ip {
            IpAddr::V4(v4) => v4.is_multicast() || v4.is_broadcast(),
            IpAddr::V6(v6) => v6.is_multicast(),
        };
        if ip.is_unspecified() || multicast_or_broadcast {
            r.err(
                "sip.public_addr",
                format!("{ip} cannot be written into Contact and SDP: give the address phones and the trunk reach this server at"),
            );
        }

        let p = s.rtp_ports;
        if p.low >= p.high {
            r.err(
                "sip.rtp_ports",
                format!("\"{p}\": the first port must be below the last"),
            );
        }
        if p.low & 1 == 1 {
            r.err(
                "sip.rtp_ports",
                format!("\"{p}\": must start on an even port (RTP even, RTCP odd, RFC 3550 §11)"),
            );
        }
        if p.low < 1024 {
            r.err(
                "sip.rtp_ports",
                format!("\"{p}\": must stay within 1024-65535"),
            );
        }
        if s.listen.port() != 0 && p.contains(s.listen.port()) {
            r.err(
                "sip.rtp_ports",
                format!("\"{p}\" includes the SIP port {}", s.listen.port()),
            );
        }

        for (key, value) in [
            ("sip.min_expires", s.min_expires),
            ("sip.max_expires", s.max_expires),
            ("sip.default_expires", s.default_expires),
            ("sip.auth_max_failures", s.auth_max_failures),
        ] {
            r.positive(key, value);
        }
        for (key, value) in [
            ("sip.nonce_ttl_s", s.nonce_ttl_s),
            ("sip.auth_failure_window_s", s.auth_failure_window_s),
            ("sip.auth_lockout_s", s.auth_lockout_s),
            ("sip.tcp_idle_timeout_s", s.tcp_idle_timeout_s),
            ("sip.media_timeout_s", s.media_timeout_s),
        ] {
            r.positive(key, value);
        }
        r.positive("sip.tcp_max_connections", s.tcp_max_connections);
        if s.digest_algorithms.is_empty() {
            r.err(
                "sip.digest_algorithms",
                "must list at least one of \"SHA-256\", \"MD5\"".to_owned(),
            );
        }
        for (i, a) in s.digest_algorithms.iter().enumerate() {
            if s.digest_algorithms[..i].contains(a) {
                r.err(
                    format!("sip.digest_algorithms[{i}]"),
                    "listed twice".to_owned(),
                );
            }
        }
        if s.min_expires > s.max_expires {
            r.err(
                "sip.min_expires",
                format!(
                    "{} is greater than sip.max_expires ({})",
                    s.min_expires, s.max_expires
                ),
            );
        } else if !(s.min_expires..=s.max_expires).contains(&s.default_expires) {
            r.err(
                "sip.default_expires",
                format!(
                    "{} is outside sip.min_expires..sip.max_expires ({}..{})",
                    s.default_expires, s.min_expires, s.max_expires
                ),
            );
        }
        if !MESSAGE_BYTES.contains(&s.max_message_bytes) {
            r.err(
                "sip.max_message_bytes",
                format!(
                    "{} is outside {}..={}",
                    s.max_message_bytes,
                    MESSAGE_BYTES.start(),
                    MESSAGE_BYTES.end()
                ),
            );
        }
    }

    fn check_http(&self, r: &mut Report) {
        r.positive("http.token_ttl_s", self.http.token_ttl_s);
        // SIP listens on TCP as well, so the two servers cannot share an address.
        if self.http.listen.port() != 0 && self.http.listen == self.sip.listen {
            r.err(
                "http.listen",
                format!(
                    "{} is also sip.listen; SIP uses TCP on it too",
                    self.http.listen
                ),
            );
        }
    }

    fn check_storage(&self, r: &mut Report) {
        let st = &self.storage;
        if st.data_dir.as_os_str().is_empty() {
            r.err("storage.data_dir", "must not be empty");
        }
        let url = st.database_url_template();
        if let Err(message) = check_database_url(url) {
            r.err("storage.database_url", message);
        } else if url.contains(DATA_DIR_PLACEHOLDER) && st.data_dir.to_str().is_none() {
            r.err(
                "storage.data_dir",
                "is not valid UTF-8 and cannot be put into storage.database_url",
            );
        }
    }

    fn check_hotline(&self, r: &mut Report) {
        let h = &self.hotline;
        let mut seen: HashMap<&str, usize> = HashMap::new();
        for (i, did) in h.numbers.iter().enumerate() {
            let path = format!("hotline.numbers[{i}]");
            if !is_number(&did.number) {
                r.err(
                    format!("{path}.number"),
                    format!("{:?} {NUMBER_RULE}", did.number),
                );
            } else if let Some(&first) = seen.get(did.number.as_str()) {
                r.err(
                    format!("{path}.number"),
                    format!("{} is already hotline.numbers[{first}]", did.number),
                );
            } else {
                seen.insert(&did.number, i);
            }
            if self.emergency.numbers.contains(&did.number) {
                r.err(
                    format!("{path}.number"),
                    format!("{} is an emergency number (emergency.numbers)", did.number),
                );
            }
            if did.menu.is_some() && did.queue.is_some() {
                r.err(
                    &path,
                    "set either menu (start the IVR there) or queue (skip the IVR), not both",
                );
            }
            if let Some(menu) = &did.menu {
                if !self.ivr.nodes.contains_key(menu) {
                    r.err(format!("{path}.menu"), format!("unknown IVR node {menu:?}"));
                }
            }
            if let Some(queue) = &did.queue {
                if self.queue(queue).is_none() {
                    r.err(format!("{path}.queue"), format!("unknown queue {queue:?}"));
                }
            }
        }

        for (i, why) in &h.invalid_trunks {
            r.err(format!("hotline.trusted_trunks[{i}]"), why.clone());
        }
        // The parsed entries fill, in order, the positions of the file's
        // list that did not fail: report them at their place in the file.
        let positions = (0..).filter(|p| !h.invalid_trunks.iter().any(|(i, _)| i == p));
        for (i, net) in positions.zip(&h.trusted_trunks) {
            let path = format!("hotline.trusted_trunks[{i}]");
            if net.prefix_len() == 0 {
                r.err(
                    path,
                    format!("{net} trusts every address: anyone could call without authentication; list the carrier's SBC addresses"),
                );
            } else if net.addr() != net.network() {
                r.err(
                    path,
                    format!(
                        "{net} has host bits set: write {} for the network or {}/{} for the single host",
                        net.trunc(),
                        net.addr(),
                        net.max_prefix_len()
                    ),
                );
            }
        }
    }

    fn check_agents(&self, r: &mut Report) {
        let mut seen: HashMap<&str, usize> = HashMap::new();
        for (i, a) in self.agents.iter().enumerate() {
            let path = format!("agents[{i}]");
            if a.id.is_empty() {
                r.err(format!("{path}.id"), "must not be empty");
            } else if !is_sip_user(&a.id) {
                r.err(
                    format!("{path}.id"),
                    format!(
                        "{:?} is not a usable SIP user name: use letters, digits, '.', '-' or '_' (at most {MAX_ID_LEN})",
                        a.id
                    ),
                );
            } else if let Some(&first) = seen.get(a.id.as_str()) {
                r.err(
                    format!("{path}.id"),
                    format!("{} is already the id of agents[{first}]", a.id),
                );
            } else {
                seen.insert(&a.id, i);
            }
            // An INVITE to the id must reach the seat, never a hotline
            // number or an emergency line.
            if self.hotline.numbers.iter().any(|d| d.number == a.id) {
                r.err(
                    format!("{path}.id"),
                    format!("{} is also a hotline number", a.id),
                );
            }
            if self.emergency.numbers.contains(&a.id) {
                r.err(
                    format!("{path}.id"),
                    format!("{} is an emergency number", a.id),
                );
            }

            if a.password.is_empty() {
                r.err(format!("{path}.password"), "must not be empty");
            } else if a.role == Role::Supervisor
                && a.password.chars().count() < MIN_SUPERVISOR_PASSWORD
            {
                r.err(
                    format!("{path}.password"),
                    format!("a supervisor's password needs at least {MIN_SUPERVISOR_PASSWORD} characters: supervisors can hear every recording"),
                );
            }
            if !a.password_hash.is_empty() {
                if let Err(e) = crate::auth::check_password_hash(&a.password_hash) {
                    r.err(format!("{path}.password_hash"), e);
                }
            }
            r.tokens(&format!("{path}.skills"), &a.skills);
        }
    }

    fn check_emergency(&self, r: &mut Report) {
        let e = &self.emergency;
        if let Some(gw) = &e.gateway {
            if gw.trim().is_empty() {
                r.err(
                    "emergency.gateway",
                    "must not be empty (leave it out to disable emergency transfers)",
                );
            } else {
                if !gw.contains(NUMBER_PLACEHOLDER) {
                    r.err(
                        "emergency.gateway",
                        format!("{gw:?} does not contain {NUMBER_PLACEHOLDER}, so every emergency line would ring the same address"),
                    );
                }
                if !(gw.starts_with("sip:") || gw.starts_with("sips:")) {
                    r.err(
                        "emergency.gateway",
                        format!("{gw:?} is not a SIP URI like \"sip:{{number}}@192.0.2.10:5060\""),
                    );
                }
                let rest = gw.replace(NUMBER_PLACEHOLDER, "");
                if rest.contains(['{', '}']) {
                    r.err(
                        "emergency.gateway",
                        format!("{gw:?}: {NUMBER_PLACEHOLDER} is the only placeholder"),
                    );
                }
            }
        }
        let mut seen: HashSet<&str> = HashSet::new();
        for (i, n) in e.numbers.iter().enumerate() {
            if !is_number(n) {
                r.err(
                    format!("emergency.numbers[{i}]"),
                    format!("{n:?} {NUMBER_RULE}"),
                );
            } else if !seen.insert(n) {
                r.err(
                    format!("emergency.numbers[{i}]"),
                    format!("{n} is listed twice"),
                );
            }
        }
    }
}
