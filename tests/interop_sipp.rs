//! Interop with SIPp 3.6.1 (Debian `sip-tester`): the registrar and OPTIONS
//! handling of a whole in-process server, driven by the scenarios in
//! `tests/sipp/` over real loopback sockets, UDP and TCP.
//!
//! Each test starts its own server, runs one SIPp call (`-m 1`) as a child
//! process bounded by `-timeout 30 -timeout_error`, asserts SIPp's exit status
//! (0: every call went as the scenario says), then checks what the server
//! shows in `GET /api/agents`. A failing run prints SIPp's error log and its
//! full message trace, so the SIP exchange is in the test output.
//!
//! SIPp computes digest responses with `[authentication username="…"
//! password="…"]` from the injection file, and `-auth_uri hotline.test` makes
//! the digest `uri` the Request-URI (see shared/TESTING.md).

mod common;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{ExitStatus, Stdio};
use std::time::Duration;

use common::{require_tool, scenarios_dir, TestServer, DOMAIN};
use hotline_config::DigestAlgorithm;

/// SIPp 3.6 reads only the first WWW-Authenticate and knows only MD5, so this
/// seat population is configured to offer MD5 first (SHA-256 still offered).
async fn start_server() -> TestServer {
    TestServer::start_with(|c| {
        c.sip.digest_algorithms = vec![DigestAlgorithm::Md5, DigestAlgorithm::Sha256];
    })
    .await
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Transport {
    Udp,
    Tcp,
}

impl Transport {
    /// SIPp's `-t` value: one socket for the single call.
    fn sipp_flag(self) -> &'static str {
        match self {
            Transport::Udp => "u1",
            Transport::Tcp => "t1",
        }
    }

    /// What SIPp writes for `[transport]`, and the server for a binding's source.
    fn token(self) -> &'static str {
        match self {
            Transport::Udp => "UDP",
            Transport::Tcp => "TCP",
        }
    }
}

/// One finished SIPp run.
struct SippRun {
    what: String,
    status: ExitStatus,
    errors: String,
    messages: String,
    screen: String,
}

impl SippRun {
    /// Fails the test with SIPp's own account of the exchange unless every call succeeded.
    fn assert_success(&self) {
        assert!(
            self.status.success(),
            "{}: SIPp exited with {} (0 = every call as the scenario expects)\n\
             --- SIPp errors ---\n{}\n--- SIP trace (SIPp's view) ---\n{}\n--- SIPp screen (tail) ---\n{}",
            self.what,
            self.status,
            self.errors,
            self.messages,
            tail(&self.screen, 3000),
        );
    }
}

impl SippRun {
    /// The messages SIPp received, from its `-trace_msg` log (each entry is a
    /// dashed separator line, a "… message received …" line, then the message).
    fn received(&self) -> Vec<String> {
        let mut out = Vec::new();
        let mut current: Option<String> = None;
        let mut lines = self.messages.lines();
        while let Some(line) = lines.next() {
            if line.starts_with("-----------------------------------------------") {
                out.extend(current.take().map(|m| m.trim().to_owned()));
                if lines
                    .next()
                    .is_some_and(|kind| kind.contains("message received"))
                {
                    current = Some(String::new());
                }
            } else if let Some(m) = current.as_mut() {
                m.push_str(line.trim_end_matches('\r'));
                m.push('\n');
            }
        }
        out.extend(current.map(|m| m.trim().to_owned()));
        out
    }
}

/// The response with `status` to the request with `cseq` ("2 REGISTER") that SIPp received.
fn response_to(run: &SippRun, status: u16, cseq: &str) -> String {
    find_response(run, status, cseq)
        .unwrap_or_else(|| panic!("no {status} to CSeq {cseq} in the trace:\n{}", run.messages))
}

fn find_response(run: &SippRun, status: u16, cseq: &str) -> Option<String> {
    let status_line = format!("SIP/2.0 {status} ");
    run.received().into_iter().rfind(|m| {
        m.starts_with(&status_line)
            && m.lines().any(|l| {
                let l = l.trim_end();
                l.split_once(':').is_some_and(|(name, value)| {
                    name.trim().eq_ignore_ascii_case("CSeq") && value.trim() == cseq
                })
            })
    })
}

/// The Contact header lines of a message (long or compact form).
fn contact_lines(msg: &str) -> Vec<&str> {
    msg.lines()
        .filter(|l| {
            l.split_once(':').is_some_and(|(name, _)| {
                let name = name.trim();
                name.eq_ignore_ascii_case("Contact") || name.eq_ignore_ascii_case("m")
            })
        })
        .collect()
}

fn tail(s: &str, max: usize) -> &str {
    let mut start = s.len().saturating_sub(max);
    while !s.is_char_boundary(start) {
        start += 1;
    }
    &s[start..]
}

/// A loopback port free for both UDP and TCP at the time of asking (SIPp binds
/// it with `-p`, so the Contact it sends is known in advance).
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

/// Runs one SIPp call of `scenario` (a file in tests/sipp) against `server`.
async fn run_sipp(
    sipp: &Path,
    server: SocketAddr,
    scenario: &str,
    inf: Option<&str>,
    transport: Transport,
    local_port: u16,
) -> SippRun {
    let dir = tempfile::tempdir().expect("temp dir for SIPp logs");
    let errors = dir.path().join("errors.log");
    let messages = dir.path().join("messages.log");
    let screen = dir.path().join("screen.log");
    let scenario_path: PathBuf = scenarios_dir().join(scenario);
    assert!(
        scenario_path.is_file(),
        "missing scenario {}",
        scenario_path.display()
    );

    let mut cmd = tokio::process::Command::new(sipp);
    cmd.arg("-sf").arg(&scenario_path);
    if let Some(inf) = inf {
        cmd.arg("-inf").arg(scenarios_dir().join(inf));
    }
    cmd.args(["-auth_uri", DOMAIN])
        .args(["-t", transport.sipp_flag()])
        .args(["-i", "127.0.0.1"])
        .args(["-p", &local_port.to_string()])
        .args(["-m", "1"])
        .arg("-nostdin")
        .args(["-timeout", "30", "-timeout_error"])
        .arg("-trace_err")
        .arg("-error_file")
        .arg(&errors)
        .arg("-trace_msg")
        .arg("-message_file")
        .arg(&messages)
        .arg(server.to_string())
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&screen).expect("SIPp screen file"))
        .stderr(Stdio::piped())
        .kill_on_drop(true);

    let child = cmd.spawn().expect("spawn sipp");
    // SIPp bounds itself (-timeout 30); this only guards against a wedged SIPp.
    let output = tokio::time::timeout(Duration::from_secs(60), child.wait_with_output())
        .await
        .expect("SIPp did not exit within 60 s despite -timeout 30")
        .expect("wait for sipp");

    let read = |p: &Path| std::fs::read_to_string(p).unwrap_or_else(|_| "(none)".into());
    let mut screen_text = read(&screen);
    screen_text.push_str(&String::from_utf8_lossy(&output.stderr));
    SippRun {
        what: format!("{scenario} over {}", transport.token()),
        status: output.status,
        errors: read(&errors),
        messages: read(&messages),
        screen: screen_text,
    }
}

/// The entry of `id` in `GET /api/agents`.
async fn agent(server: &TestServer, id: &str) -> serde_json::Value {
    let agents = server.agents().await;
    agents
        .as_array()
        .expect("/api/agents is a JSON array")
        .iter()
        .find(|a| a["id"] == id)
        .unwrap_or_else(|| panic!("agent {id} missing from /api/agents: {agents}"))
        .clone()
}

/// Asserts that `id` is registered with exactly the contact SIPp sent, from
/// SIPp's address, over `transport`, for about the hour it asked for.
async fn assert_registered_as_sipp_sent(
    server: &TestServer,
    run: &SippRun,
    id: &str,
    transport: Transport,
    sipp_port: u16,
) {
    let entry = agent(server, id).await;
    let expected_uri = format!(
        "sip:{id}@127.0.0.1:{sipp_port};transport={}",
        transport.token()
    );
    assert_eq!(
        entry["registered"], true,
        "{id} should be registered after SIPp's 200: {entry:#}\n--- SIP trace ---\n{}",
        run.messages
    );
    let contacts = entry["contacts"].as_array().expect("contacts is an array");
    assert_eq!(contacts.len(), 1, "one binding expected: {entry:#}");
    let c = &contacts[0];
    assert_eq!(
        c["uri"],
        expected_uri.as_str(),
        "contact as SIPp sent it: {entry:#}"
    );
    let source = c["source"].as_str().expect("source is a string");
    match transport {
        // SIPp sends from its -p port over UDP.
        Transport::Udp => assert_eq!(source, format!("UDP:127.0.0.1:{sipp_port}"), "{entry:#}"),
        // Over TCP the connection's port is the client's choice.
        Transport::Tcp => assert!(source.starts_with("TCP:127.0.0.1:"), "{entry:#}"),
    }
    // SIPp asked for Expires: 3600; the test config grants at most 3600.
    let expires_in = c["expires_in_s"]
        .as_u64()
        .expect("expires_in_s is a number");
    assert!(
        (3500..=3600).contains(&expires_in),
        "granted lifetime should be the hour asked for: {entry:#}"
    );
    assert!(c["expires_at"].is_string(), "{entry:#}");
    // The 200 itself lists the binding (RFC 3261 10.3 step 8).
    let ok = response_to(run, 200, "2 REGISTER");
    assert!(
        contact_lines(&ok).iter().any(|l| l.contains(&expected_uri)),
        "the 200 should list {expected_uri}:\n{ok}"
    );
}

#[tokio::test]
async fn register_with_digest_auth_over_udp() {
    let Some(sipp) = require_tool("sipp", "sip-tester") else {
        return;
    };
    let server = start_server().await;
    let port = free_port();

    let run = run_sipp(
        &sipp,
        server.sip,
        "register-auth.xml",
        Some("agent-1001.csv"),
        Transport::Udp,
        port,
    )
    .await;
    run.assert_success();
    assert_registered_as_sipp_sent(&server, &run, "1001", Transport::Udp, port).await;
    let other = agent(&server, "1002").await;
    assert_eq!(
        other["registered"], false,
        "only 1001 registered: {other:#}"
    );

    server.stop().await;
}

#[tokio::test]
async fn register_with_digest_auth_over_tcp() {
    let Some(sipp) = require_tool("sipp", "sip-tester") else {
        return;
    };
    let server = start_server().await;
    let port = free_port();

    let run = run_sipp(
        &sipp,
        server.sip,
        "register-auth.xml",
        Some("agent-1001.csv"),
        Transport::Tcp,
        port,
    )
    .await;
    run.assert_success();
    assert_registered_as_sipp_sent(&server, &run, "1001", Transport::Tcp, port).await;

    server.stop().await;
}

#[tokio::test]
async fn wrong_password_is_refused_and_nothing_is_bound() {
    let Some(sipp) = require_tool("sipp", "sip-tester") else {
        return;
    };
    let server = start_server().await;
    let port = free_port();

    let run = run_sipp(
        &sipp,
        server.sip,
        "register-wrong-password.xml",
        Some("agent-1001-wrong-password.csv"),
        Transport::Udp,
        port,
    )
    .await;
    run.assert_success();
    // SIPp must have computed and sent credentials, or the refusal proves nothing.
    assert!(
        run.messages.contains("Authorization: Digest"),
        "SIPp never answered the challenge:\n{}",
        run.messages
    );
    let entry = agent(&server, "1001").await;
    assert_eq!(entry["registered"], false, "{entry:#}");
    assert_eq!(entry["contacts"], serde_json::json!([]), "{entry:#}");

    server.stop().await;
}

#[tokio::test]
async fn options_is_answered_over_udp() {
    let Some(sipp) = require_tool("sipp", "sip-tester") else {
        return;
    };
    let server = start_server().await;

    let run = run_sipp(
        &sipp,
        server.sip,
        "options.xml",
        None,
        Transport::Udp,
        free_port(),
    )
    .await;
    run.assert_success();

    server.stop().await;
}

#[tokio::test]
async fn options_is_answered_over_tcp() {
    let Some(sipp) = require_tool("sipp", "sip-tester") else {
        return;
    };
    let server = start_server().await;

    let run = run_sipp(
        &sipp,
        server.sip,
        "options.xml",
        None,
        Transport::Tcp,
        free_port(),
    )
    .await;
    run.assert_success();

    server.stop().await;
}

#[tokio::test]
async fn unregister_removes_the_binding() {
    let Some(sipp) = require_tool("sipp", "sip-tester") else {
        return;
    };
    let server = start_server().await;
    let port = free_port();

    let run = run_sipp(
        &sipp,
        server.sip,
        "register-unregister.xml",
        Some("agent-1001.csv"),
        Transport::Udp,
        port,
    )
    .await;
    run.assert_success();
    // The registration in the middle of the scenario really happened: the
    // server's 200 to it listed the binding (RFC 3261 10.3 step 8).
    let contact = format!("sip:1001@127.0.0.1:{port};transport=UDP");
    let ok = response_to(&run, 200, "2 REGISTER");
    assert!(
        contact_lines(&ok).iter().any(|l| l.contains(&contact)),
        "the 200 to the registration should list {contact}:\n{ok}"
    );
    // And the 200 to the removal no longer lists it.
    let removed = find_response(&run, 200, "4 REGISTER")
        .or_else(|| find_response(&run, 200, "3 REGISTER"))
        .unwrap_or_else(|| panic!("no 200 to the removal in the trace:\n{}", run.messages));
    assert!(
        !contact_lines(&removed).iter().any(|l| l.contains(&contact)),
        "the 200 to Expires: 0 still lists the binding:\n{removed}"
    );
    let entry = agent(&server, "1001").await;
    assert_eq!(
        entry["registered"], false,
        "binding should be gone: {entry:#}"
    );
    assert_eq!(entry["contacts"], serde_json::json!([]), "{entry:#}");

    server.stop().await;
}
