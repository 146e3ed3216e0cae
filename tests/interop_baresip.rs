//! Interop with baresip 1.0 (Debian `baresip-core`), the headless softphone
//! an agent seat may run: it registers as agent 1001 with digest auth, over
//! UDP and over TCP, and the server must show exactly the Contact baresip sent
//! (`sip:1001-0x…@127.0.0.1:PORT`, which is not rebuilt from the user name: see
//! shared/TESTING.md). When baresip is asked to quit (SIGTERM) it unregisters,
//! and the binding must go.
//!
//! baresip runs as a child process with a config directory in a temp dir:
//! `accounts` names the account in our domain (`sip:1001@hotline.test`, so the
//! digest realm matches) and sends everything through the server with
//! `outbound=`; `config` listens on a free loopback port and loads no audio
//! device and no `stdio` module. `-s` traces SIP to its stdout (a file), which
//! is where the test reads the Contact it sent, and what a failure prints.
//! `-t 60` makes baresip quit by itself even if the test's kill never comes;
//! the guard kills it on every path.

mod common;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use common::{require_tool, TestServer, DOMAIN};
use hotline_config::DigestAlgorithm;

/// baresip 1.0 (libre 1.1) abandons a 401 that carries any non-MD5 challenge,
/// so seats running it are configured with `digest_algorithms = ["MD5"]`.
async fn start_server() -> TestServer {
    TestServer::start_with(|c| c.sip.digest_algorithms = vec![DigestAlgorithm::Md5]).await
}

/// Polls of `/api/agents`, `POLL_EVERY` apart: 15 s in all.
const POLLS: u32 = 75;
const POLL_EVERY: Duration = Duration::from_millis(200);

#[derive(Clone, Copy, Debug)]
enum Transport {
    Udp,
    Tcp,
}

impl Transport {
    fn param(self) -> &'static str {
        match self {
            Transport::Udp => "udp",
            Transport::Tcp => "tcp",
        }
    }
}

/// A running baresip; killed when dropped, whatever path the test takes.
struct Baresip {
    child: Option<tokio::process::Child>,
    log: PathBuf,
    _dir: tempfile::TempDir,
}

impl Baresip {
    fn start(baresip: &Path, server: SocketAddr, transport: Transport, password: &str) -> Baresip {
        let dir = tempfile::tempdir().expect("baresip config dir");
        let port = free_port();
        let t = transport.param();
        std::fs::write(
            dir.path().join("accounts"),
            format!(
                "<sip:1001@{DOMAIN};transport={t}>;auth_pass={password};\
                 outbound=\"sip:{server};transport={t}\";regint=600\n"
            ),
        )
        .expect("write accounts");
        std::fs::write(
            dir.path().join("config"),
            format!(
                "sip_listen 127.0.0.1:{port}\n\
                 sip_trans_def {t}\n\
                 module_path /usr/lib/baresip/modules\n\
                 module g711.so\n\
                 module account.so\n"
            ),
        )
        .expect("write config");
        let log = dir.path().join("baresip.log");
        let out = std::fs::File::create(&log).expect("baresip log");
        let err = out.try_clone().expect("baresip log handle");
        let child = tokio::process::Command::new(baresip)
            .arg("-f")
            .arg(dir.path())
            .arg("-s")
            .args(["-t", "60"])
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .kill_on_drop(true)
            .spawn()
            .expect("spawn baresip");
        Baresip {
            child: Some(child),
            log,
            _dir: dir,
        }
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// The Contact URI of baresip's last REGISTER that asked for a binding.
    fn registered_contact(&self) -> Option<String> {
        let log = self.log();
        let mut contact = None;
        let mut in_register = false;
        for line in log.lines() {
            let line = line.trim_end_matches('\r');
            if line.starts_with("REGISTER ") {
                in_register = true;
            } else if line.is_empty() {
                in_register = false;
            } else if in_register && line.to_ascii_lowercase().starts_with("contact:") {
                if line.contains("expires=0") {
                    continue;
                }
                let uri = line
                    .split_once('<')
                    .and_then(|(_, r)| r.split_once('>'))
                    .map(|(u, _)| u);
                contact = uri.map(str::to_owned);
            }
        }
        contact
    }

    fn pid(&self) -> Option<u32> {
        self.child.as_ref().and_then(|c| c.id())
    }

    /// Asks baresip to quit as its user would (SIGTERM): it unregisters first.
    fn terminate(&self) {
        if let Some(pid) = self.pid() {
            let status = std::process::Command::new("kill")
                .args(["-TERM", &pid.to_string()])
                .status()
                .expect("run kill");
            assert!(status.success(), "kill -TERM {pid} failed");
        }
    }

    async fn wait_exit(&mut self, within: Duration) -> bool {
        match self.child.as_mut() {
            Some(child) => tokio::time::timeout(within, child.wait()).await.is_ok(),
            None => true,
        }
    }
}

impl Drop for Baresip {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.start_kill();
            let _ = child.try_wait();
        }
    }
}

fn free_port() -> u16 {
    for _ in 0..50 {
        let udp = std::net::UdpSocket::bind("127.0.0.1:0").expect("bind a UDP probe");
        let port = udp.local_addr().expect("probe address").port();
        if std::net::TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
    panic!("no loopback port free for both UDP and TCP after 50 tries");
}

/// Agent `id`'s entry in `GET /api/agents`, read with a supervisor token.
async fn agent(server: &TestServer, token: &str, id: &str) -> serde_json::Value {
    let resp = reqwest::Client::new()
        .get(server.http_url("/api/agents"))
        .bearer_auth(token)
        .send()
        .await
        .expect("agents request");
    assert_eq!(resp.status(), 200);
    let agents: serde_json::Value = resp.json().await.expect("agents JSON");
    agents
        .as_array()
        .expect("/api/agents is an array")
        .iter()
        .find(|a| a["id"] == id)
        .unwrap_or_else(|| panic!("{id} missing from /api/agents: {agents}"))
        .clone()
}

async fn baresip_registers_and_unregisters(transport: Transport) {
    let Some(bin) = require_tool("baresip", "baresip-core") else {
        return;
    };
    let server = start_server().await;
    let token = server.login("9001", "test-pass-9001").await;
    let mut phone = Baresip::start(&bin, server.sip, transport, "test-pass-1001");

    // Registered, with the contact baresip sent.
    let mut last = serde_json::Value::Null;
    let mut bound = None;
    for _ in 0..POLLS {
        tokio::time::sleep(POLL_EVERY).await;
        last = agent(&server, &token, "1001").await;
        if let (true, Some(sent)) = (last["registered"] == true, phone.registered_contact()) {
            bound = Some(sent);
            break;
        }
    }
    let Some(sent) = bound else {
        panic!(
            "baresip ({transport:?}) not registered as 1001 after {POLLS} polls; /api/agents says {last:#}\n\
             --- baresip log with SIP trace ---\n{}",
            phone.log()
        );
    };
    assert!(
        sent.starts_with("sip:1001-0x") && sent.contains("@127.0.0.1:"),
        "baresip's usual contact form: {sent}"
    );
    let contacts = last["contacts"].as_array().expect("contacts array");
    assert_eq!(contacts.len(), 1, "{last:#}");
    assert_eq!(
        contacts[0]["uri"],
        sent.as_str(),
        "the server must keep the Contact exactly as baresip sent it\n{last:#}\n--- baresip log ---\n{}",
        phone.log()
    );
    let expected_source = match transport {
        Transport::Udp => "UDP:127.0.0.1:",
        Transport::Tcp => "TCP:127.0.0.1:",
    };
    let source = contacts[0]["source"].as_str().expect("source string");
    assert!(source.starts_with(expected_source), "{last:#}");
    // regint=600 asked for 600 s.
    let expires_in = contacts[0]["expires_in_s"].as_u64().expect("expires_in_s");
    assert!((500..=600).contains(&expires_in), "{last:#}");

    // Quitting baresip unregisters it (REGISTER with expires=0, authenticated).
    phone.terminate();
    let mut gone = false;
    for _ in 0..POLLS {
        tokio::time::sleep(POLL_EVERY).await;
        last = agent(&server, &token, "1001").await;
        if last["registered"] == false {
            gone = true;
            break;
        }
    }
    assert!(
        gone,
        "1001 still registered after baresip unregistered: {last:#}\n--- baresip log ---\n{}",
        phone.log()
    );
    assert_eq!(last["contacts"], serde_json::json!([]), "{last:#}");
    assert!(
        phone.wait_exit(Duration::from_secs(10)).await,
        "baresip did not quit after SIGTERM"
    );

    drop(phone);
    server.stop().await;
}

#[tokio::test]
async fn baresip_registers_over_udp() {
    baresip_registers_and_unregisters(Transport::Udp).await;
}

#[tokio::test]
async fn baresip_registers_over_tcp() {
    baresip_registers_and_unregisters(Transport::Tcp).await;
}

#[tokio::test]
async fn baresip_with_a_wrong_password_is_not_registered() {
    let Some(bin) = require_tool("baresip", "baresip-core") else {
        return;
    };
    let server = start_server().await;
    let token = server.login("9001", "test-pass-9001").await;
    let phone = Baresip::start(&bin, server.sip, Transport::Udp, "not-the-password");

    // Wait until baresip has sent credentials and had them refused, then check.
    let mut refused = false;
    for _ in 0..POLLS {
        tokio::time::sleep(POLL_EVERY).await;
        let log = phone.log();
        let answered = log.contains("Authorization: Digest");
        let final_refusal = log
            .lines()
            .filter(|l| l.starts_with("SIP/2.0 401") || l.starts_with("SIP/2.0 403"))
            .count()
            >= 2;
        if answered && final_refusal {
            refused = true;
            break;
        }
    }
    assert!(
        refused,
        "baresip's answered REGISTER was not refused\n--- baresip log ---\n{}",
        phone.log()
    );
    let entry = agent(&server, &token, "1001").await;
    assert_eq!(
        entry["registered"],
        false,
        "{entry:#}\n--- baresip log ---\n{}",
        phone.log()
    );
    assert!(
        !phone.log().contains("SIP/2.0 200"),
        "a 200 to a wrong password\n{}",
        phone.log()
    );

    drop(phone);
    server.stop().await;
}
