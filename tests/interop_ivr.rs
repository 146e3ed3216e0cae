//! Interop through the voice menu and the ACD on the built-in default
//! configuration (`[hotline] routing = "ivr"`, the demo menu, queues and
//! seats, the committed prompts), with real third-party peers:
//!
//! - SIPp as the caller from the trusted trunk (127.0.0.1) dials 12345, hears
//!   a second of the greeting and keys 2 (Cantonese) as RFC 4733 events from
//!   SIPp's own pcap (`dtmf_2833_2.pcap`); a SIPp UAS registered as agent 1003
//!   (Cantonese only), logged in and ready over the HTTP API, is rung by the
//!   ACD and answers. The screen pop (`GET /api/calls/{id}` as 1003) shows
//!   language `yue` and queue `cantonese`; the caller hangs up and the call
//!   detail record names 1003.
//! - baresip as agent 1003 (`answermode=auto`, MD5-only digest) is reached the
//!   same way by the SIPp caller.
//!
//! The demo closes the Cantonese queue at night: the queues' shifts are
//! cleared so the hour the tests run at does not matter (shifts are tested in
//! virtual time by the ACD's own tests). SIPp 3.6 answers only the first
//! challenge and knows only MD5, so the server offers MD5 first (baresip 1.0:
//! MD5 only). Every SIPp run is bounded by `-timeout`, every child is killed
//! when its handle drops, and a failure prints the SIP traces and logs.
//!
//! SIPp plays the pcap with a raw socket, so the SIPp tests need root (CI and
//! the development machines run as root).
//!
//! RTP ports 14000–15999 belong to this file (the server's block and the
//! peers' media ports). Waits are guards of tens of seconds: prompts play in
//! real time; nothing measures speed.

#[path = "common/call.rs"]
mod call_setup;
mod common;
#[path = "common/ua.rs"]
mod ua;

use std::net::{SocketAddr, UdpSocket as StdUdpSocket};
use std::path::{Path, PathBuf};
use std::process::{ExitStatus, Stdio};
use std::time::Duration;

use call_setup::{rtp_block_in, RtpBlock};
use common::{require_tool, scenarios_dir, TestServer, DOMAIN};
use hotline_config::{Config, DigestAlgorithm};
use serde_json::{json, Value};

/// This file's RTP ports.
const PORTS: (u16, u16) = (14_000, 16_000);
/// The Cantonese-only demo seat and its demo password.
const AGENT: &str = "1003";
const AGENT_PASSWORD: &str = "demo-1003-change-me";
const SUPERVISOR: (&str, &str) = ("9001", "demo-9001-change-me");
/// What the SIPp caller sends as its number (tests/sipp/ivr_caller.xml).
const CALLER: &str = "13800138000";
/// The caller's `-d`: menu after the key (about 4 s of prompt), ringing,
/// and a few seconds of talk before it hangs up.
const CALLER_STAYS_MS: u64 = 9_000;

/// The default configuration with this file's ports, no shifts and the
/// digest algorithms the peer can answer.
async fn server(algorithms: Vec<DigestAlgorithm>) -> (TestServer, RtpBlock) {
    call_setup::server_log_to_test_output();
    let block = rtp_block_in(PORTS.0, PORTS.1);
    let range = block.range;
    let server = TestServer::start_default(move |c: &mut Config| {
        c.sip.rtp_ports = range;
        c.sip.digest_algorithms = algorithms;
        for q in &mut c.queues {
            q.shifts.clear();
        }
    })
    .await;
    (server, block)
}

async fn http(
    server: &TestServer,
    token: &str,
    method: reqwest::Method,
    path: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let mut req = reqwest::Client::new()
        .request(method, server.http_url(path))
        .bearer_auth(token);
    if let Some(b) = body {
        req = req.json(&b);
    }
    let resp = req.send().await.unwrap_or_else(|e| panic!("{path}: {e}"));
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(Value::Null))
}

async fn supervisor_get(server: &TestServer, path: &str) -> Value {
    let token = server.login(SUPERVISOR.0, SUPERVISOR.1).await;
    let (status, body) = http(server, &token, reqwest::Method::GET, path, None).await;
    assert_eq!(status, 200, "{path}: {body}");
    body
}

/// Logs agent 1003 in and sets it ready; returns its token and the state
/// the server answered with.
async fn log_in_ready(server: &TestServer) -> (String, Value) {
    let token = server.login(AGENT, AGENT_PASSWORD).await;
    let (status, body) = http(
        server,
        &token,
        reqwest::Method::POST,
        &format!("/api/agents/{AGENT}/state"),
        Some(json!({"state": "ready"})),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["state"], "ready", "{body}");
    (token, body)
}

/// Waits until agent `id` shows `registered: true` in `GET /api/agents`.
async fn wait_registered(server: &TestServer, id: &str, context: impl Fn() -> String) {
    let mut last = Value::Null;
    for _ in 0..100 {
        let agents = supervisor_get(server, "/api/agents").await;
        if let Some(a) = agents
            .as_array()
            .and_then(|a| a.iter().find(|a| a["id"] == id))
        {
            if a["registered"] == true {
                return;
            }
            last = a.clone();
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    panic!("{id} not registered after 20 s: {last:#}\n{}", context());
}

/// The live call once agent 1003 has answered it, and its screen pop as
/// 1003 sees it (`GET /api/calls/{id}`).
async fn answered_call(server: &TestServer, token: &str, context: impl Fn() -> String) -> Value {
    let mut last = Value::Null;
    for _ in 0..300 {
        last = supervisor_get(server, "/api/calls").await;
        let answered = last["live"].as_array().and_then(|l| {
            l.iter()
                .find(|c| c["agent"] == AGENT && c["talking_s"].is_u64())
        });
        if let Some(id) = answered.and_then(|c| c["id"].as_str()) {
            let (status, call) = http(
                server,
                token,
                reqwest::Method::GET,
                &format!("/api/calls/{id}"),
                None,
            )
            .await;
            assert_eq!(status, 200, "{call}\n{}", context());
            return call;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!(
        "no call answered by {AGENT} within 30 s; /api/calls says {last:#}\n{}",
        context()
    );
}

/// The call detail record once the call has ended (the only one).
async fn only_cdr(server: &TestServer, context: impl Fn() -> String) -> Value {
    let mut last = Value::Null;
    for _ in 0..100 {
        last = supervisor_get(server, "/api/calls").await;
        let live = last["live"].as_array().map_or(0, Vec::len);
        let recent = last["recent"].as_array().cloned().unwrap_or_default();
        if live == 0 && !recent.is_empty() {
            assert_eq!(recent.len(), 1, "one call was placed: {last:#}");
            return recent[0].clone();
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    panic!(
        "no call record 20 s after the call: {last:#}\n{}",
        context()
    );
}

/// Asserts what the screen pop and the record say about the call 1003 took.
async fn assert_cantonese_call_to_1003(server: &TestServer, pop: &Value, context: &str) {
    assert_eq!(pop["agent"], AGENT, "{pop:#}\n{context}");
    assert_eq!(pop["did"], "12345", "{pop:#}");
    assert_eq!(pop["caller_number"], CALLER, "{pop:#}");
    assert_eq!(pop["ivr"]["language"], "yue", "{pop:#}\n{context}");
    assert_eq!(pop["ivr"]["queue"], "cantonese", "{pop:#}\n{context}");
    let queues = supervisor_get(server, "/api/queues").await;
    let q = queues
        .as_array()
        .and_then(|a| a.iter().find(|x| x["name"] == "cantonese"))
        .expect("cantonese queue listed");
    assert_eq!(q["today"]["answered"], 1, "{q:#}");
}

// ---------------------------------------------------------------------------
// Ports and peers

/// A loopback port free for both UDP and TCP at the time of asking (a peer's
/// SIP port, given on its command line so its Contact is known in advance).
fn free_port() -> u16 {
    for _ in 0..50 {
        let udp = StdUdpSocket::bind("127.0.0.1:0").expect("bind a UDP probe");
        let port = udp.local_addr().expect("probe address").port();
        if std::net::TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
    panic!("no loopback port free for both UDP and TCP after 50 tries");
}

/// Waits until some process listens on UDP `port`, so a peer started in the
/// background is ready before the call is placed.
async fn wait_until_bound(port: u16, what: &str) {
    for _ in 0..100 {
        if StdUdpSocket::bind(("127.0.0.1", port)).is_err() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("{what} did not bind UDP port {port} within 5 s");
}

/// A SIPp child process, killed if dropped before it exits.
struct Sipp {
    role: String,
    child: tokio::process::Child,
    work: PathBuf,
}

/// One finished SIPp run.
struct SippRun {
    role: String,
    status: Option<ExitStatus>,
    report: String,
}

impl Sipp {
    /// Starts SIPp (`-m 1`, bounded by `-timeout 60`) in `work` against
    /// `server` from SIP port `port`; `media` is its `-mp` (a port of this
    /// file's range).
    fn spawn(
        sipp: &Path,
        work: &Path,
        role: &str,
        scenario: &str,
        (port, media): (u16, u16),
        server: SocketAddr,
        extra: &[&str],
    ) -> Sipp {
        let path = scenarios_dir().join(scenario);
        assert!(path.is_file(), "missing scenario {}", path.display());
        let file = |what: &str| work.join(format!("{role}-{what}.log"));
        let child = tokio::process::Command::new(sipp)
            .current_dir(work)
            .arg("-sf")
            .arg(&path)
            .args(["-key", "domain", DOMAIN])
            .args(["-auth_uri", DOMAIN])
            .args(["-t", "u1", "-i", "127.0.0.1", "-mi", "127.0.0.1"])
            .args(["-p", &port.to_string(), "-mp", &media.to_string()])
            .args(["-m", "1", "-nostdin", "-timeout", "60", "-timeout_error"])
            .arg("-trace_err")
            .arg("-error_file")
            .arg(file("errors"))
            .arg("-trace_msg")
            .arg("-message_file")
            .arg(file("messages"))
            .args(extra)
            .arg(server.to_string())
            .stdin(Stdio::null())
            .stdout(std::fs::File::create(file("screen")).expect("SIPp screen file"))
            .stderr(std::fs::File::create(file("stderr")).expect("SIPp stderr file"))
            .kill_on_drop(true)
            .spawn()
            .expect("spawn sipp");
        Sipp {
            role: role.to_owned(),
            child,
            work: work.to_owned(),
        }
    }

    /// SIPp's own account of the run so far: errors, SIP trace, screen tail.
    fn report(&self) -> String {
        let read = |what: &str| {
            std::fs::read_to_string(self.work.join(format!("{}-{what}.log", self.role)))
                .unwrap_or_else(|_| "(none)".into())
        };
        let screen = read("screen");
        let mut start = screen.len().saturating_sub(2000);
        while !screen.is_char_boundary(start) {
            start += 1;
        }
        format!(
            "--- SIPp {} errors ---\n{}\n--- SIPp {} SIP trace ---\n{}\n--- SIPp {} screen (tail) ---\n{}{}",
            self.role,
            read("errors"),
            self.role,
            read("messages"),
            self.role,
            &screen[start..],
            read("stderr"),
        )
    }

    /// Waits for SIPp to exit (it bounds itself; one still running after
    /// 90 s is killed and reported as failed).
    async fn finish(mut self) -> SippRun {
        let status = match tokio::time::timeout(Duration::from_secs(90), self.child.wait()).await {
            Ok(status) => Some(status.expect("wait for sipp")),
            Err(_) => {
                let _ = self.child.kill().await;
                None
            }
        };
        SippRun {
            role: self.role.clone(),
            status,
            report: self.report(),
        }
    }
}

impl SippRun {
    fn succeeded(&self) -> bool {
        self.status.is_some_and(|s| s.success())
    }

    fn assert_success(&self, context: &str) {
        assert!(
            self.succeeded(),
            "SIPp {} exited with {:?} (0 = the call went as the scenario says)\n{}\n{context}",
            self.role,
            self.status,
            self.report
        );
    }
}

/// The SIPp caller of tests/sipp/ivr_caller.xml (keys 2), started in `work`.
fn sipp_caller(sipp: &Path, work: &Path, server: SocketAddr, media: u16) -> Sipp {
    Sipp::spawn(
        sipp,
        work,
        "caller",
        "ivr_caller.xml",
        (free_port(), media),
        server,
        &["-d", &CALLER_STAYS_MS.to_string()],
    )
}

// ---------------------------------------------------------------------------
// SIPp caller, SIPp agent

#[tokio::test]
async fn sipp_caller_keys_2_and_reaches_sipp_agent_1003() {
    let Some(sipp) = require_tool("sipp", "sip-tester") else {
        return;
    };
    let (server, _block) = server(vec![DigestAlgorithm::Md5, DigestAlgorithm::Sha256]).await;
    let work = tempfile::tempdir().expect("SIPp work dir");
    // SIPp binds its audio socket at -mp and a video one at -mp + 2: each
    // SIPp process gets a block of its own.
    let media = rtp_block_in(PORTS.0, PORTS.1);
    let caller_media = rtp_block_in(PORTS.0, PORTS.1);
    let agent_port = free_port();

    // 1003 registers from the port its UAS then answers on.
    std::fs::write(
        work.path().join("agent-1003.csv"),
        format!("SEQUENTIAL\n{AGENT};{AGENT_PASSWORD};{DOMAIN};\n"),
    )
    .expect("write the injection file");
    let inf = work.path().join("agent-1003.csv");
    let inf = inf.to_str().expect("UTF-8 temp path");
    let register = Sipp::spawn(
        &sipp,
        work.path(),
        "register",
        "register-auth.xml",
        (agent_port, media.range.low),
        server.sip,
        &["-inf", inf],
    )
    .finish()
    .await;
    register.assert_success("registering 1003");
    let (token, state) = log_in_ready(&server).await;
    assert_eq!(state["registered"], true, "{state}");
    assert_eq!(state["available"], true, "{state}");

    let agent = Sipp::spawn(
        &sipp,
        work.path(),
        "agent",
        "ivr_agent.xml",
        (agent_port, media.range.low + 4),
        server.sip,
        &[],
    );
    wait_until_bound(agent_port, "the SIPp agent").await;
    let caller = sipp_caller(&sipp, work.path(), server.sip, caller_media.range.low);

    let pop = answered_call(&server, &token, || {
        format!("{}\n{}", caller.report(), agent.report())
    })
    .await;
    let caller = caller.finish().await;
    let agent = agent.finish().await;
    let context = format!("{}\n{}", caller.report, agent.report);
    caller.assert_success(&agent.report);
    agent.assert_success(&caller.report);
    assert_cantonese_call_to_1003(&server, &pop, &context).await;

    let cdr = only_cdr(&server, || context.clone()).await;
    assert_eq!(cdr["agent"], AGENT, "{cdr:#}\n{context}");
    assert_eq!(cdr["did"], "12345", "{cdr:#}");
    assert_eq!(cdr["caller_number"], CALLER, "{cdr:#}");
    assert_eq!(cdr["hangup_by"], "caller", "{cdr:#}\n{context}");
    assert_eq!(cdr["reason"], "normal", "{cdr:#}\n{context}");
    assert!(cdr["answered_at"].is_string(), "{cdr:#}");
    server.stop().await;
}

// ---------------------------------------------------------------------------
// SIPp caller, baresip agent

/// A headless baresip registered as 1003 that answers by itself, sending a
/// tone from a WAV file; killed when dropped.
struct Baresip {
    child: tokio::process::Child,
    log: PathBuf,
}

impl Baresip {
    fn start(bin: &Path, dir: &Path, server: SocketAddr, rtp: u16) -> Baresip {
        let conf = dir.join("baresip");
        std::fs::create_dir_all(&conf).expect("baresip config dir");
        // baresip hangs up when its aufile source ends: longer than the call.
        let wav = dir.join("agent.wav");
        write_tone_wav(&wav, 60.0);
        let port = free_port();
        std::fs::write(
            conf.join("accounts"),
            format!(
                "<sip:{AGENT}@{DOMAIN};transport=udp>;auth_pass={AGENT_PASSWORD};\
                 outbound=\"sip:{server};transport=udp\";regint=600;answermode=auto\n"
            ),
        )
        .expect("write accounts");
        std::fs::write(
            conf.join("config"),
            format!(
                "sip_listen 127.0.0.1:{port}\n\
                 sip_trans_def udp\n\
                 net_interface 127.0.0.1\n\
                 rtp_ports {rtp}-{}\n\
                 module_path /usr/lib/baresip/modules\n\
                 module g711.so\n\
                 module aufile.so\n\
                 module account.so\n\
                 audio_source aufile,{}\n",
                rtp + 9,
                wav.display()
            ),
        )
        .expect("write config");
        let log = dir.join("baresip.log");
        let out = std::fs::File::create(&log).expect("baresip log");
        let err = out.try_clone().expect("baresip log handle");
        let child = tokio::process::Command::new(bin)
            .arg("-f")
            .arg(&conf)
            .arg("-s")
            .args(["-t", "90"])
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .kill_on_drop(true)
            .spawn()
            .expect("spawn baresip");
        Baresip { child, log }
    }

    fn log(&self) -> String {
        format!(
            "--- baresip log (SIP trace) ---\n{}",
            std::fs::read_to_string(&self.log).unwrap_or_default()
        )
    }
}

impl Drop for Baresip {
    fn drop(&mut self) {
        let _ = self.child.start_kill();
        let _ = self.child.try_wait();
    }
}

/// `seconds` of a 1 kHz tone, mono 16-bit 8 kHz, for baresip's `aufile`.
fn write_tone_wav(path: &Path, seconds: f64) {
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: 8000,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut w = hound::WavWriter::create(path, spec).expect("create the WAV");
    for i in 0..(8000.0 * seconds) as usize {
        let t = i as f64 / 8000.0;
        let s = (8000.0 * (2.0 * std::f64::consts::PI * 1000.0 * t).sin()) as i16;
        w.write_sample(s).expect("write a sample");
    }
    w.finalize().expect("finish the WAV");
}

#[tokio::test]
async fn sipp_caller_keys_2_and_reaches_baresip_agent_1003() {
    let Some(sipp) = require_tool("sipp", "sip-tester") else {
        return;
    };
    let Some(bin) = require_tool("baresip", "baresip-core") else {
        return;
    };
    // baresip 1.0 abandons a 401 carrying any non-MD5 challenge.
    let (server, _block) = server(vec![DigestAlgorithm::Md5]).await;
    let work = tempfile::tempdir().expect("work dir");
    let media = rtp_block_in(PORTS.0, PORTS.1);
    let phone = Baresip::start(&bin, work.path(), server.sip, media.range.low);
    wait_registered(&server, AGENT, || phone.log()).await;
    let (token, state) = log_in_ready(&server).await;
    assert_eq!(state["available"], true, "{state}");

    let caller_media = rtp_block_in(PORTS.0, PORTS.1);
    let caller = sipp_caller(&sipp, work.path(), server.sip, caller_media.range.low);
    let pop = answered_call(&server, &token, || {
        format!("{}\n{}", caller.report(), phone.log())
    })
    .await;
    let caller = caller.finish().await;
    let context = format!("{}\n{}", caller.report, phone.log());
    caller.assert_success(&phone.log());
    assert_cantonese_call_to_1003(&server, &pop, &context).await;

    let cdr = only_cdr(&server, || context.clone()).await;
    assert_eq!(cdr["agent"], AGENT, "{cdr:#}\n{context}");
    assert_eq!(cdr["hangup_by"], "caller", "{cdr:#}\n{context}");
    assert_eq!(cdr["reason"], "normal", "{cdr:#}\n{context}");
    drop(phone);
    server.stop().await;
}
