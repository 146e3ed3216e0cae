//! Shared harness of the end-to-end tests: an in-process server on ephemeral
//! loopback ports, and helpers to require external tools.
#![allow(dead_code, unreachable_pub)]

use std::net::SocketAddr;
use std::path::PathBuf;

use hotline::dialing::Dialer;
use hotline::server::Server;
use hotline_config::Config;

/// Agents of the test configuration: (id, password, role).
pub const AGENTS: &[(&str, &str, &str)] = &[
    ("1001", "test-pass-1001", "agent"),
    ("1002", "test-pass-1002", "agent"),
    ("9001", "test-pass-9001", "supervisor"),
];

pub const DOMAIN: &str = "hotline.test";

/// The test configuration as TOML, with SIP and HTTP on port 0 and data in `data_dir`.
pub fn config_toml(data_dir: &std::path::Path) -> String {
    let mut agents = String::new();
    for (id, password, role) in AGENTS {
        agents.push_str(&format!(
            "[[agents]]\nid = \"{id}\"\nname = \"Agent {id}\"\npassword = \"{password}\"\nskills = [\"lang:cmn\"]\nrole = \"{role}\"\n\n"
        ));
    }
    format!(
        r#"[sip]
listen = "127.0.0.1:0"
domain = "{DOMAIN}"
public_addr = "127.0.0.1"
min_expires = 60
auth_max_failures = 5

[http]
listen = "127.0.0.1:0"

[storage]
data_dir = "{}"

[hotline]
numbers = ["12345"]
trusted_trunks = ["127.0.0.1/32"]
# These tests exercise the call path itself: the first free registered agent
# is rung directly (tests/contact_centre.rs runs the menus and queues).
routing = "direct"

{agents}
[[queues]]
name = "general"
strategy = "longest_idle"
"#,
        data_dir.display()
    )
}

/// A server running in this process, stopped when dropped via `stop()`.
pub struct TestServer {
    pub server: Option<Server>,
    pub sip: SocketAddr,
    pub http: SocketAddr,
    pub data_dir: tempfile::TempDir,
    /// The configuration it runs on (for restarts), when known.
    pub config: Option<Config>,
}

impl TestServer {
    pub async fn start() -> TestServer {
        Self::start_with(|_| {}).await
    }

    /// Starts with the test configuration after `tweak` edits it.
    /// Outbound calls go through the SIP core (and `[trunk.outbound]`, when
    /// `tweak` sets one), as in production.
    pub async fn start_with(tweak: impl FnOnce(&mut Config)) -> TestServer {
        Self::start_making_dialer(tweak, hotline::sip_io::SipHandle::clone).await
    }

    /// Starts with the test configuration after `tweak` edits it, placing
    /// outbound calls (surveys, callbacks) through `dialer`.
    pub async fn start_with_dialer<D: Dialer>(
        tweak: impl FnOnce(&mut Config),
        dialer: D,
    ) -> TestServer {
        Self::start_making_dialer(tweak, |_| dialer).await
    }

    async fn start_making_dialer<D: Dialer>(
        tweak: impl FnOnce(&mut Config),
        dialer: impl FnOnce(&hotline::sip_io::SipHandle) -> D,
    ) -> TestServer {
        let data_dir = tempfile::tempdir().expect("temp dir");
        let mut config =
            Config::from_toml(&config_toml(data_dir.path())).expect("test config parses");
        tweak(&mut config);
        if let Err(errors) = config.validate() {
            panic!("test config invalid: {errors:?}");
        }
        let server = hotline::server::start_with_dialer(config.clone(), dialer)
            .await
            .expect("server starts");
        TestServer {
            sip: server.sip_addr,
            http: server.http_addr,
            server: Some(server),
            data_dir,
            config: Some(config),
        }
    }

    /// Stops the server and starts it again on the same data (a restart),
    /// after `tweak` edits its configuration, with `dialer`. Ports change;
    /// sessions are lost (log in again).
    pub async fn restart_with_dialer<D: Dialer>(
        &mut self,
        tweak: impl FnOnce(&mut Config),
        dialer: D,
    ) {
        if let Some(s) = self.server.take() {
            s.shutdown().await;
        }
        let mut config = self.config.clone().expect("started with start_with_dialer");
        tweak(&mut config);
        let server = hotline::server::start_with_dialer(config.clone(), |_| dialer)
            .await
            .expect("server restarts");
        self.sip = server.sip_addr;
        self.http = server.http_addr;
        self.server = Some(server);
        self.config = Some(config);
    }

    /// Starts on the built-in default configuration (menus, queues, demo
    /// seats, the committed prompts) with loopback ports chosen by the system
    /// and data in a temporary directory, after `tweak` edits it.
    pub async fn start_default(tweak: impl FnOnce(&mut Config)) -> TestServer {
        let data_dir = tempfile::tempdir().expect("temp dir");
        let mut config = Config::builtin_default();
        config.sip.listen = "127.0.0.1:0".parse().expect("addr");
        config.http.listen = "127.0.0.1:0".parse().expect("addr");
        config.storage.data_dir = data_dir.path().to_owned();
        tweak(&mut config);
        if let Err(errors) = config.validate() {
            panic!("test config invalid: {errors:?}");
        }
        let server = hotline::server::start(config.clone())
            .await
            .expect("server starts");
        TestServer {
            sip: server.sip_addr,
            http: server.http_addr,
            server: Some(server),
            data_dir,
            config: Some(config),
        }
    }

    pub fn http_url(&self, path: &str) -> String {
        format!("http://{}{}", self.http, path)
    }

    /// Logs in over HTTP and returns the bearer token.
    pub async fn login(&self, user: &str, password: &str) -> String {
        let resp = reqwest::Client::new()
            .post(self.http_url("/api/login"))
            .json(&serde_json::json!({"username": user, "password": password}))
            .send()
            .await
            .expect("login request");
        assert_eq!(resp.status(), 200, "login as {user}");
        let body: serde_json::Value = resp.json().await.expect("login JSON");
        body["token"].as_str().expect("token").to_owned()
    }

    /// `GET /api/agents` as the supervisor.
    pub async fn agents(&self) -> serde_json::Value {
        let token = self.login("9001", "test-pass-9001").await;
        let resp = reqwest::Client::new()
            .get(self.http_url("/api/agents"))
            .bearer_auth(token)
            .send()
            .await
            .expect("agents request");
        assert_eq!(resp.status(), 200);
        resp.json().await.expect("agents JSON")
    }

    pub async fn stop(mut self) {
        if let Some(s) = self.server.take() {
            s.shutdown().await;
        }
    }
}

/// Finds an external tool. In CI (`CI` set) a missing tool fails the test loudly;
/// elsewhere the test is skipped with a printed reason (returns `None`).
pub fn require_tool(name: &str, package: &str) -> Option<PathBuf> {
    let found = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|p| p.join(name))
            .find(|p| p.is_file())
    });
    match found {
        Some(p) => Some(p),
        None if std::env::var_os("CI").is_some() => {
            panic!("`{name}` is required in CI (Debian package `{package}`; .ci/run installs it)")
        }
        None => {
            eprintln!(
                "SKIPPED: `{name}` not installed (apt-get install {package}); CI runs this test"
            );
            None
        }
    }
}

/// The directory holding the interop scenario files (`tests/sipp`).
pub fn scenarios_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests")
        .join("sipp")
}

pub mod api;

/// A raw SIP client helper: builds requests and digest answers by hand, so the
/// tests exercise the server's own parser with independent code.
pub mod sip {
    use md5::Md5;
    use sha2::{Digest, Sha256};

    /// Parameters of one `WWW-Authenticate: Digest ...` header value.
    pub fn challenge_params(value: &str) -> std::collections::HashMap<String, String> {
        let rest = value.trim().strip_prefix("Digest").unwrap_or(value).trim();
        let mut out = std::collections::HashMap::new();
        let mut chars = rest.chars().peekable();
        loop {
            while chars.peek().is_some_and(|c| *c == ',' || c.is_whitespace()) {
                chars.next();
            }
            let name: String = chars.by_ref().take_while(|c| *c != '=').collect();
            if name.is_empty() {
                break;
            }
            let mut val = String::new();
            if chars.peek() == Some(&'"') {
                chars.next();
                while let Some(c) = chars.next() {
                    match c {
                        '\\' => val.extend(chars.next()),
                        '"' => break,
                        c => val.push(c),
                    }
                }
            } else {
                while let Some(c) = chars.peek() {
                    if *c == ',' {
                        break;
                    }
                    val.push(*c);
                    chars.next();
                }
            }
            out.insert(name.trim().to_ascii_lowercase(), val.trim().to_owned());
        }
        out
    }

    fn h(algorithm: &str, s: &str) -> String {
        if algorithm.eq_ignore_ascii_case("SHA-256") {
            hex::encode(Sha256::digest(s.as_bytes()))
        } else {
            hex::encode(Md5::digest(s.as_bytes()))
        }
    }

    /// The `Authorization` value answering `challenge` (qop=auth, nc=`nc`).
    pub fn authorization(
        challenge: &str,
        user: &str,
        password: &str,
        method: &str,
        uri: &str,
        nc: u32,
    ) -> String {
        let p = challenge_params(challenge);
        let realm = &p["realm"];
        let nonce = &p["nonce"];
        let algorithm = p.get("algorithm").map_or("MD5", String::as_str);
        let cnonce = format!("c{nc:x}f00d");
        let nc = format!("{nc:08x}");
        let ha1 = h(algorithm, &format!("{user}:{realm}:{password}"));
        let ha2 = h(algorithm, &format!("{method}:{uri}"));
        let response = h(
            algorithm,
            &format!("{ha1}:{nonce}:{nc}:{cnonce}:auth:{ha2}"),
        );
        let mut v = format!(
            "Digest username=\"{user}\", realm=\"{realm}\", nonce=\"{nonce}\", uri=\"{uri}\", \
             response=\"{response}\", algorithm={algorithm}, qop=auth, nc={nc}, cnonce=\"{cnonce}\""
        );
        if let Some(opaque) = p.get("opaque") {
            v.push_str(&format!(", opaque=\"{opaque}\""));
        }
        v
    }

    /// A REGISTER for `user` from `local` (host:port) with optional extra headers.
    pub fn register(
        transport: &str,
        local: std::net::SocketAddr,
        user: &str,
        call_id: &str,
        cseq: u32,
        expires: u32,
        extra: &str,
    ) -> String {
        format!(
            "REGISTER sip:{domain} SIP/2.0\r\n\
             Via: SIP/2.0/{transport} {local};branch=z9hG4bK-{call_id}-{cseq};rport\r\n\
             Max-Forwards: 70\r\n\
             From: <sip:{user}@{domain}>;tag=t{cseq}\r\n\
             To: <sip:{user}@{domain}>\r\n\
             Call-ID: {call_id}\r\n\
             CSeq: {cseq} REGISTER\r\n\
             Contact: <sip:{user}@{local};transport={lt}>\r\n\
             Expires: {expires}\r\n\
             {extra}Content-Length: 0\r\n\r\n",
            domain = super::DOMAIN,
            lt = transport.to_ascii_lowercase(),
        )
    }

    /// Status code of a response's first line.
    pub fn status(resp: &str) -> u16 {
        resp.split(' ')
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| panic!("not a response: {resp:?}"))
    }

    /// Every value of a header (long name, case-insensitive) in a raw response.
    pub fn header_values<'a>(resp: &'a str, name: &str) -> Vec<&'a str> {
        resp.split("\r\n")
            .skip(1)
            .take_while(|l| !l.is_empty())
            .filter_map(|l| l.split_once(':'))
            .filter(|(n, _)| n.trim().eq_ignore_ascii_case(name))
            .map(|(_, v)| v.trim())
            .collect()
    }
}
