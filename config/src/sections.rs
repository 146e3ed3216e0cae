//! The typed sections of the configuration file, one struct per TOML table.
//!
//! Every struct denies unknown fields, so a misspelt key is a load error rather
//! than a silently ignored setting, and every field has a default, so a section
//! may be left out or written with only the keys that differ from it. Values
//! whose *syntax* is wrong (an address that does not parse, a port range without
//! a dash, an unknown strategy) fail while parsing, with the file's line and
//! column; values that parse but make no sense (a port range upside down, a
//! queue that does not exist) are left for [`Config::validate`](crate::Config::validate),
//! which reports all of them at once with their key paths. (Trusted-trunk
//! CIDRs are the exception: a bad one is kept aside and reported by
//! `validate`, never trusted.)

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::str::FromStr;

use ipnet::IpNet;
use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde::{Deserialize, Serialize, Serializer};

/// The placeholder in [`StorageConfig`]'s `database_url` that is replaced by
/// `data_dir`, so that an SQLite database moves with the data directory.
pub const DATA_DIR_PLACEHOLDER: &str = "{data_dir}";

/// The placeholder in [`EmergencyConfig::gateway`] replaced by the dialled
/// emergency number.
pub const NUMBER_PLACEHOLDER: &str = "{number}";

// ---------------------------------------------------------------------------
// [sip]

/// `[sip]`: the SIP server, registrar and media relay.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SipConfig {
    /// Address the server listens on, for both UDP and TCP.
    pub listen: SocketAddr,
    /// SIP domain of the agents' accounts, also the digest realm.
    pub domain: String,
    /// Address written into Contact headers and SDP `c=` lines: the address
    /// phones and the trunk can reach us at (not a wildcard).
    pub public_addr: IpAddr,
    /// Inclusive UDP port range for RTP (even ports) and RTCP (odd ports).
    pub rtp_ports: PortRange,
    /// Smallest registration lifetime accepted; shorter ones get
    /// `423 Interval Too Brief` (RFC 3261 §10.3).
    pub min_expires: u32,
    /// Longest registration lifetime granted; longer requests are shortened.
    pub max_expires: u32,
    /// Lifetime granted when a REGISTER asks for none.
    pub default_expires: u32,
    /// Seconds a digest nonce stays valid.
    pub nonce_ttl_s: u64,
    /// Failed authentications from one source within `auth_failure_window_s`
    /// that trigger a lockout.
    pub auth_max_failures: u32,
    /// Window in which failed authentications are counted.
    pub auth_failure_window_s: u64,
    /// How long a source is refused after too many failures.
    pub auth_lockout_s: u64,
    /// Most simultaneous TCP connections; further ones are refused.
    pub tcp_max_connections: usize,
    /// A TCP connection with no traffic for this long is closed.
    pub tcp_idle_timeout_s: u64,
    /// Largest SIP message accepted, in bytes, on any transport.
    pub max_message_bytes: usize,
    /// A call whose media has been silent (no RTP) this long is hung up.
    pub media_timeout_s: u64,
    /// Digest algorithms offered to phones, most preferred first, one
    /// challenge each (RFC 8760). Answers with an algorithm not listed are
    /// refused.
    pub digest_algorithms: Vec<DigestAlgorithm>,
}

/// A digest hash algorithm, as written in the file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum DigestAlgorithm {
    #[serde(rename = "SHA-256")]
    Sha256,
    #[serde(rename = "MD5")]
    Md5,
}

impl Default for SipConfig {
    fn default() -> Self {
        SipConfig {
            listen: SocketAddr::from((Ipv4Addr::LOCALHOST, 5060)),
            domain: "hotline.local".to_owned(),
            public_addr: IpAddr::V4(Ipv4Addr::LOCALHOST),
            rtp_ports: PortRange {
                low: 20000,
                high: 20999,
            },
            min_expires: 60,
            max_expires: 3600,
            default_expires: 3600,
            nonce_ttl_s: 300,
            auth_max_failures: 10,
            auth_failure_window_s: 60,
            auth_lockout_s: 300,
            tcp_max_connections: 1024,
            tcp_idle_timeout_s: 300,
            max_message_bytes: 65536,
            media_timeout_s: 60,
            digest_algorithms: vec![DigestAlgorithm::Sha256, DigestAlgorithm::Md5],
        }
    }
}

/// An inclusive range of UDP ports, written `"20000-20999"` in the file.
///
/// Parsing only checks the form; [`Config::validate`](crate::Config::validate)
/// checks that `low < high`, that `low` is even (RTP on even ports, RTCP on the
/// next odd one, RFC 3550 §11) and that the range stays clear of the
/// privileged ports below 1024.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PortRange {
    /// First port of the range.
    pub low: u16,
    /// Last port of the range (included).
    pub high: u16,
}

impl PortRange {
    /// Whether `port` lies in the range.
    pub fn contains(&self, port: u16) -> bool {
        (self.low..=self.high).contains(&port)
    }

    /// Number of ports in the range (0 if it is upside down).
    pub fn len(&self) -> u32 {
        if self.high < self.low {
            0
        } else {
            u32::from(self.high) - u32::from(self.low) + 1
        }
    }

    /// Whether the range holds no port at all.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl fmt::Display for PortRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", self.low, self.high)
    }
}

impl FromStr for PortRange {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || format!("expected a port range like \"20000-20999\", found {s:?}");
        let (low, high) = s.split_once('-').ok_or_else(bad)?;
        let port = |p: &str| {
            p.trim().parse::<u16>().map_err(|_| {
                format!(
                    "{:?} is not a port number (0-65535) in range {s:?}",
                    p.trim()
                )
            })
        };
        Ok(PortRange {
            low: port(low)?,
            high: port(high)?,
        })
    }
}

impl Serialize for PortRange {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for PortRange {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(de::Error::custom)
    }
}

// ---------------------------------------------------------------------------
// [http]

/// `[http]`: the JSON API, WebSocket events and web pages.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct HttpConfig {
    /// Address the HTTP server listens on.
    pub listen: SocketAddr,
    /// Lifetime of a login token, in seconds.
    pub token_ttl_s: u64,
}

impl Default for HttpConfig {
    fn default() -> Self {
        HttpConfig {
            listen: SocketAddr::from((Ipv4Addr::LOCALHOST, 8080)),
            token_ttl_s: 8 * 3600,
        }
    }
}

// ---------------------------------------------------------------------------
// [storage]

/// `[storage]`: where recordings and the database live.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct StorageConfig {
    /// Directory for recordings and, by default, the SQLite database.
    pub data_dir: PathBuf,
    /// The database URL as written, possibly containing `{data_dir}`.
    ///
    /// Private so that nobody hands the unresolved template to sqlx: read it
    /// through [`StorageConfig::database_url`].
    database_url: String,
}

impl Default for StorageConfig {
    fn default() -> Self {
        StorageConfig {
            data_dir: PathBuf::from("./data"),
            database_url: StorageConfig::DEFAULT_DATABASE_URL.to_owned(),
        }
    }
}

impl StorageConfig {
    /// The database URL used when none is configured: an SQLite file inside
    /// `data_dir`, so that moving the data directory (in the file or with
    /// `HOTLINE_DATA_DIR`) moves the database with it.
    pub const DEFAULT_DATABASE_URL: &'static str = "sqlite://{data_dir}/hotline.db";

    /// URL schemes the server knows how to connect to.
    pub const SCHEMES: [&'static str; 3] = ["sqlite://", "postgres://", "postgresql://"];

    /// The effective database URL, with `{data_dir}` replaced by
    /// [`data_dir`](Self::data_dir): hand this to the connection pool.
    pub fn database_url(&self) -> String {
        if !self.database_url.contains(DATA_DIR_PLACEHOLDER) {
            return self.database_url.clone();
        }
        // The template supplies the separator: "./data/" must not become
        // "./data//hotline.db". (For `data_dir = "/"` this yields
        // "sqlite:///hotline.db", which is the right file.)
        let dir = self.data_dir.to_string_lossy();
        self.database_url
            .replace(DATA_DIR_PLACEHOLDER, dir.trim_end_matches('/'))
    }

    /// The database URL exactly as configured, placeholder included.
    pub fn database_url_template(&self) -> &str {
        &self.database_url
    }

    /// Set the database URL; `{data_dir}` may be used in it.
    pub fn set_database_url(&mut self, url: impl Into<String>) {
        self.database_url = url.into();
    }

    /// Whether the effective database is SQLite (as opposed to PostgreSQL).
    pub fn is_sqlite(&self) -> bool {
        self.database_url.starts_with("sqlite:")
    }

    /// Directory the call recordings are written to.
    pub fn recordings_dir(&self) -> PathBuf {
        self.data_dir.join("recordings")
    }
}

// ---------------------------------------------------------------------------
// [hotline]

/// `[hotline]`: the public numbers and the trusted trunks allowed to call them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(from = "HotlineRaw")]
pub struct HotlineConfig {
    /// The DIDs answered. Old departmental hotlines merged into the city
    /// number (§11) are extra DIDs that pre-select a menu or a queue.
    pub numbers: Vec<Did>,
    /// Networks whose INVITEs to the hotline numbers are accepted without
    /// digest authentication: the carrier's SBCs. A bare address means a
    /// single host (`/32` or `/128`).
    pub trusted_trunks: Vec<IpNet>,
    /// How calls to the hotline numbers reach agents.
    pub routing: Routing,
    /// Entries of `trusted_trunks` in the file that did not parse, as
    /// (position in the file's list, why). They are left out of
    /// `trusted_trunks` (so never trusted) and reported by `validate` with
    /// the rest, rather than stopping the parse: a list of addresses is where
    /// an operator makes several typos at once.
    #[serde(skip)]
    pub(crate) invalid_trunks: Vec<(usize, String)>,
}

/// What `[hotline]` looks like in the file.
#[derive(Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
struct HotlineRaw {
    numbers: Vec<Did>,
    trusted_trunks: Vec<String>,
    routing: Routing,
}

/// `[hotline] routing`: how a hotline call reaches an agent.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Routing {
    /// The production mode: the server answers, the voice menu (`[ivr]`)
    /// runs, the caller waits in a queue and the ACD picks the agent
    /// (logged in and registered); surveys and callbacks as configured.
    #[default]
    Ivr,
    /// A bench or lab mode: every call rings the first free registered
    /// agent directly, with no menu, queue or login, and the caller is
    /// answered when the agent answers.
    Direct,
}

impl From<HotlineRaw> for HotlineConfig {
    fn from(raw: HotlineRaw) -> Self {
        let mut trusted_trunks = Vec::new();
        let mut invalid_trunks = Vec::new();
        for (i, entry) in raw.trusted_trunks.into_iter().enumerate() {
            match parse_cidr(&entry) {
                Ok(net) => trusted_trunks.push(net),
                Err(why) => invalid_trunks.push((i, why)),
            }
        }
        HotlineConfig {
            numbers: raw.numbers,
            trusted_trunks,
            routing: raw.routing,
            invalid_trunks,
        }
    }
}

impl HotlineConfig {
    /// The configured entry for a dialled number, if it is one of ours.
    pub fn did(&self, number: &str) -> Option<&Did> {
        self.numbers.iter().find(|d| d.number == number)
    }

    /// Whether `addr` belongs to a trusted trunk.
    pub fn is_trusted(&self, addr: IpAddr) -> bool {
        // An IPv4 peer may show up as an IPv4-mapped IPv6 address on a
        // dual-stack socket; it is still the same trunk.
        let addr = match addr {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(addr, IpAddr::V4),
            v4 => v4,
        };
        self.trusted_trunks.iter().any(|net| net.contains(&addr))
    }
}

/// One hotline number (DID).
///
/// Written either as a plain string, `"12345"`, or as a table,
/// `{ number = "12315", menu = "consumer" }`; it is written back in the
/// short form when it has neither `menu` nor `queue`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Did {
    /// The dialled number: digits, optionally with a leading `+`.
    pub number: String,
    /// IVR node the call starts at instead of `ivr.start`.
    pub menu: Option<String>,
    /// Queue the call goes to directly, skipping the IVR.
    pub queue: Option<String>,
}

impl Did {
    /// A number with no menu or queue of its own.
    pub fn new(number: impl Into<String>) -> Self {
        Did {
            number: number.into(),
            menu: None,
            queue: None,
        }
    }
}

impl Serialize for Did {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        if self.menu.is_none() && self.queue.is_none() {
            s.serialize_str(&self.number)
        } else {
            DidTable {
                number: self.number.clone(),
                menu: self.menu.clone(),
                queue: self.queue.clone(),
            }
            .serialize(s)
        }
    }
}

/// The long form of a [`Did`].
#[derive(Serialize, Deserialize)]
#[serde(rename = "Did", deny_unknown_fields)]
struct DidTable {
    number: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    menu: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    queue: Option<String>,
}

/// Accepts both forms. Written by hand rather than as an untagged enum so
/// that a typo in the table form still gets serde's precise "unknown field
/// `queu`, expected one of …" message instead of "data did not match any
/// variant".
impl<'de> Deserialize<'de> for Did {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Did;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(
                    r#"a number like "12345" or a table like { number = "12345", queue = "general" }"#,
                )
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Did, E> {
                Ok(Did::new(v))
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Did, A::Error> {
                let t = DidTable::deserialize(de::value::MapAccessDeserializer::new(map))?;
                Ok(Did {
                    number: t.number,
                    menu: t.menu,
                    queue: t.queue,
                })
            }
        }
        d.deserialize_any(V)
    }
}

/// Parse `"10.0.0.0/8"`, `"2001:db8::/32"` or a bare address (`"192.0.2.7"`,
/// meaning `/32`, or `"2001:db8::1"`, meaning `/128`).
pub fn parse_cidr(s: &str) -> Result<IpNet, String> {
    let s = s.trim();
    let Some((addr, len)) = s.split_once('/') else {
        return s.parse::<IpAddr>().map(IpNet::from).map_err(|_| {
            format!("{s:?} is neither a CIDR like \"192.0.2.0/28\" nor an IP address")
        });
    };
    let ip = addr
        .parse::<IpAddr>()
        .map_err(|_| format!("{s:?}: {addr:?} is not an IP address"))?;
    let max = if ip.is_ipv4() { 32 } else { 128 };
    len.parse::<u8>()
        .ok()
        .and_then(|len| IpNet::new(ip, len).ok())
        .ok_or_else(|| format!("{s:?}: the prefix length must be a number from 0 to {max}"))
}

// ---------------------------------------------------------------------------
// [[agents]]

/// One `[[agents]]` entry: a seat's SIP account and HTTP login.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AgentConfig {
    /// The agent's id: SIP user name, digest user name and HTTP login name.
    pub id: String,
    /// Display name on the wallboard; the id is shown when empty.
    pub name: String,
    /// Shared secret for SIP digest authentication, and the HTTP login
    /// unless `password_hash` is set.
    pub password: String,
    /// Argon2 PHC string for the HTTP login (see `auth.rs`); empty: the
    /// HTTP login uses `password`.
    pub password_hash: String,
    /// Skill tokens matched against queues, e.g. `"lang:yue"`, `"biz:consumer"`.
    pub skills: Vec<String>,
    /// What the agent may do in the HTTP API.
    pub role: Role,
}

impl AgentConfig {
    /// The name to show: `name`, or the id when no name is configured.
    pub fn display_name(&self) -> &str {
        if self.name.trim().is_empty() {
            &self.id
        } else {
            &self.name
        }
    }

    /// Whether the agent has the skill `skill`.
    pub fn has_skill(&self, skill: &str) -> bool {
        self.skills.iter().any(|s| s == skill)
    }
}

/// An agent's role in the HTTP API.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Takes calls and writes work orders.
    #[default]
    Agent,
    /// Also watches the wallboard, listens to recordings, chases orders.
    Supervisor,
}

impl Role {
    /// The name used in the file and in the API (`"agent"`, `"supervisor"`).
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Agent => "agent",
            Role::Supervisor => "supervisor",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

// ---------------------------------------------------------------------------
// [emergency]

/// `[emergency]`: transfers to the emergency lines (§9, §14).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct EmergencyConfig {
    /// SIP URI template of the emergency gateway with `{number}` where the
    /// emergency number goes, e.g. `"sip:{number}@192.0.2.10:5060"`.
    /// Emergency transfers are unavailable when it is absent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gateway: Option<String>,
    /// The emergency numbers that may be transferred to.
    pub numbers: Vec<String>,
}

impl Default for EmergencyConfig {
    fn default() -> Self {
        EmergencyConfig {
            gateway: None,
            numbers: ["110", "119", "120", "122"]
                .into_iter()
                .map(String::from)
                .collect(),
        }
    }
}

impl EmergencyConfig {
    /// The gateway URI for `number`, if a gateway is configured and `number`
    /// is one of the configured emergency numbers.
    pub fn uri_for(&self, number: &str) -> Option<String> {
        let gateway = self.gateway.as_ref()?;
        self.numbers
            .iter()
            .any(|n| n == number)
            .then(|| gateway.replace(NUMBER_PLACEHOLDER, number))
    }
}
