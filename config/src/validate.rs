//! Semantic checks: everything that parses but cannot be run.
//!
//! Checks never stop at the first problem: an operator running
//! `hotline config check` should be able to fix a file in one pass.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt;
use std::net::IpAddr;
use std::path::Component;

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
struct Report(Vec<ValidationError>);

impl Report {
    fn err(&mut self, path: impl Into<String>, message: impl Into<String>) {
        self.0.push(ValidationError::new(path, message));
    }

    fn positive<T: Default + PartialEq>(&mut self, path: &str, value: T) {
        if value == T::default() {
            self.err(path, "must be greater than 0");
        }
    }

    /// A list of short tokens (skills): none empty, none with spaces.
    fn tokens(&mut self, path: &str, values: &[String]) {
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
fn node_path(name: &str) -> String {
    if is_name(name) {
        format!("ivr.nodes.{name}")
    } else {
        format!("ivr.nodes.{name:?}")
    }
}

/// Queue and IVR node names: used in URLs, logs and metric labels.
fn is_name(s: &str) -> bool {
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
            let served = self
                .agents
                .iter()
                .any(|a| q.skills.iter().all(|s| a.has_skill(s)));
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

    fn check_queues(&self, r: &mut Report) {
        let mut seen: HashMap<&str, usize> = HashMap::new();
        for (i, q) in self.queues.iter().enumerate() {
            let path = format!("queues[{i}]");
            if q.name.is_empty() {
                r.err(format!("{path}.name"), "must not be empty");
            } else if !is_name(&q.name) {
                r.err(
                    format!("{path}.name"),
                    format!("{:?} may contain only letters, digits, '_' and '-'", q.name),
                );
            } else if let Some(&first) = seen.get(q.name.as_str()) {
                r.err(
                    format!("{path}.name"),
                    format!("{} is already the name of queues[{first}]", q.name),
                );
            } else {
                seen.insert(&q.name, i);
            }
            r.tokens(&format!("{path}.skills"), &q.skills);
            r.positive(&format!("{path}.ring_timeout_s"), q.ring_timeout_s);
            if q.max_wait_s == Some(0) {
                r.err(
                    format!("{path}.max_wait_s"),
                    "must be greater than 0 (leave it out for no limit)",
                );
            }
            match (&q.overflow_queue, q.overflow_after_s) {
                (Some(target), after) => {
                    if *target == q.name {
                        r.err(
                            format!("{path}.overflow_queue"),
                            "a queue cannot overflow into itself",
                        );
                    } else if self.queue(target).is_none() {
                        r.err(
                            format!("{path}.overflow_queue"),
                            format!("unknown queue {target:?}"),
                        );
                    }
                    match after {
                        None => r.err(
                            format!("{path}.overflow_queue"),
                            "needs overflow_after_s: how long a call waits before it moves",
                        ),
                        Some(0) => {
                            r.err(format!("{path}.overflow_after_s"), "must be greater than 0")
                        }
                        Some(after) => {
                            if let Some(max) = q.max_wait_s.filter(|&max| after >= max) {
                                r.err(
                                    format!("{path}.overflow_after_s"),
                                    format!("{after} is not below max_wait_s ({max}): calls would never overflow"),
                                );
                            }
                        }
                    }
                }
                (None, Some(_)) => r.err(
                    format!("{path}.overflow_after_s"),
                    "has no effect without overflow_queue",
                ),
                (None, None) => {}
            }
        }
        self.check_overflow_loops(r);
    }

    /// A call must not bounce between queues for ever: report each overflow
    /// cycle once, at its first queue in file order.
    fn check_overflow_loops(&self, r: &mut Report) {
        let next: BTreeMap<usize, usize> = self
            .queues
            .iter()
            .enumerate()
            .filter_map(|(i, q)| {
                let target = q.overflow_queue.as_ref()?;
                let j = self.queues.iter().position(|t| &t.name == target)?;
                (j != i).then_some((i, j))
            })
            .collect();
        for &start in next.keys() {
            let mut chain = vec![start];
            let mut at = start;
            while let Some(&n) = next.get(&at) {
                if let Some(pos) = chain.iter().position(|&c| c == n) {
                    let cycle = &chain[pos..];
                    let first = *cycle.iter().min().unwrap_or(&n);
                    if first == start {
                        let names: Vec<&str> = cycle
                            .iter()
                            .chain(std::iter::once(&cycle[0]))
                            .map(|&k| self.queues[k].name.as_str())
                            .collect();
                        r.err(
                            format!("queues[{start}].overflow_queue"),
                            format!("overflow loops back: {}", names.join(" -> ")),
                        );
                    }
                    break;
                }
                chain.push(n);
                at = n;
            }
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

    fn check_ivr(&self, r: &mut Report) {
        let ivr = &self.ivr;
        if !ivr.nodes.is_empty() && !ivr.nodes.contains_key(&ivr.start) {
            r.err("ivr.start", format!("unknown IVR node {:?}", ivr.start));
        }
        for (name, node) in &ivr.nodes {
            let path = node_path(name);
            if !is_name(name) {
                r.err(
                    &path,
                    "node names may contain only letters, digits, '_' and '-'",
                );
            }
            if let Some(prompt) = &node.prompt {
                let inside = !prompt.is_empty()
                    && std::path::Path::new(prompt)
                        .components()
                        .all(|c| matches!(c, Component::Normal(_)));
                if !inside {
                    r.err(
                        format!("{path}.prompt"),
                        format!("{prompt:?} must be a file name inside ivr.prompts_dir"),
                    );
                }
            }
            if node.next.is_some() && node.queue.is_some() {
                r.err(&path, "set either next or queue, not both");
            }
            if let Some(next) = &node.next {
                if !ivr.nodes.contains_key(next) {
                    r.err(format!("{path}.next"), format!("unknown IVR node {next:?}"));
                }
            }
            if let Some(queue) = &node.queue {
                if self.queue(queue).is_none() {
                    r.err(format!("{path}.queue"), format!("unknown queue {queue:?}"));
                }
            }
        }
    }

    fn check_survey(&self, r: &mut Report) {
        let w = self.survey.calling_hours;
        if w.start_min >= w.end_min {
            r.err(
                "survey.calling_hours",
                format!("\"{w}\" must start before it ends"),
            );
        }
    }
}
