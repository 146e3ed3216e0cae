//! Interop of whole hotline calls: a SIPp trunk calls 12345, the server (a
//! B2BUA with media anchored on itself) rings agent 1001 — a SIPp UAS or a
//! headless baresip — relays the call, records it and writes a call detail
//! record. Each test starts its own server and checks, after the SIP peers
//! are done, what `GET /api/calls` and `GET /api/recordings` (as supervisor
//! 9001) say about the call.
//!
//! - SIPp agent, SIPp caller: answered, RTP both ways, the caller hangs up;
//!   the CDR is `normal` and the recording has sound on both channels.
//! - The caller CANCELs while the agent rings: 200 + 487 on both legs; the CDR
//!   is `cancelled` and nothing is recorded.
//! - The agent hangs up: the caller gets the BYE; the CDR says so.
//! - baresip as the agent (`answermode=auto`, audio from a generated WAV):
//!   answered, RTP both ways, the caller hangs up.
//!
//! A SIPp agent registers first with `register-auth.xml` from the port it
//! then listens on as a UAS (SIPp cannot take an INVITE with a Call-ID of its
//! own choosing in the scenario that sent the REGISTER); the server must ring
//! that registered Contact. SIPp streams RTP with `rtp_stream` from raw µ-law
//! files this file generates into a temp dir, which is SIPp's working
//! directory (shared/TESTING.md: `rtp_stream` plays headerless `.ulaw`).
//! Every SIPp run is bounded by `-timeout 30 -timeout_error`, and every child
//! process is killed when its handle drops, whatever path the test takes. A
//! failure prints the SIP trace (`-trace_msg`) of every SIPp involved.
//!
//! Each server gets its own small `rtp_ports` range, and each SIPp its own
//! media port block, each checked free when it is chosen, so tests running in
//! parallel do not share ports. (The server binds a call's pair only when the
//! call arrives and ends the call if another process took it meanwhile.)

mod common;

use std::io::Cursor;
use std::net::{SocketAddr, UdpSocket as StdUdpSocket};
use std::path::{Path, PathBuf};
use std::process::{ExitStatus, Stdio};
use std::sync::Mutex;
use std::time::Duration;

use common::{require_tool, scenarios_dir, TestServer, DOMAIN};
use hotline_config::{DigestAlgorithm, PortRange};
use hotline_sip::media::g711;

/// Ports each server may use for RTP/RTCP: 4 pairs, more than one call needs.
const SERVER_RTP_PORTS: u16 = 8;
/// Ports reserved for one SIPp's media (`-mp`): SIPp 3.6.1 binds its
/// `rtp_stream` RTP/RTCP pair from there upwards, skipping taken ports.
const SIPP_MEDIA_PORTS: u16 = 10;
/// What the caller sends: a 440 Hz tone. What a SIPp agent sends: 1 kHz.
const CALLER_TONE_HZ: f64 = 440.0;
const AGENT_TONE_HZ: f64 = 1000.0;
/// A channel of the recording with this RMS or less counts as silent (the
/// tones are sent at amplitude 8000, an RMS of about 5600).
const SILENCE_RMS: f64 = 200.0;

// ---------------------------------------------------------------------------
// Ports and logs

/// Sends the in-process server's log to the test's captured output, printed
/// when a test fails (the server runs on the test's own runtime thread).
/// `RUST_LOG` overrides the level.
fn server_log_to_test_output() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| {
        tracing_subscriber::EnvFilter::new("warn,hotline=debug,hotline_sip=debug")
    });
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(false)
        .with_test_writer()
        .try_init();
}

/// A block of `len` consecutive loopback UDP ports starting on an even port,
/// free at the time of asking. Blocks are taken from 21000–23999: clear of the
/// default `rtp_ports` (20000–20999), of the Linux ephemeral range (32768–)
/// that every port-0 socket draws from, and of the ranges the other call
/// tests and benchmarks of this repository use (24000– for tests/call_e2e.rs,
/// 10000–17999 and 26000– for bench/). The search starts at an offset from
/// the process id so that test binaries running at the same time tend to
/// look in different places; a block with a taken port is skipped.
fn port_block(len: u16) -> u16 {
    const LOW: u16 = 21000;
    const HIGH: u16 = 24000;
    static NEXT: Mutex<u16> = Mutex::new(0);
    let mut next = NEXT.lock().unwrap_or_else(|e| e.into_inner());
    if *next == 0 {
        let offset = u16::try_from(std::process::id() % 15).unwrap_or(0) * 200;
        *next = LOW + offset;
    }
    for _ in 0..500 {
        let base = *next;
        *next += len.next_multiple_of(2);
        if *next + len > HIGH {
            *next = LOW;
        }
        let held: Result<Vec<StdUdpSocket>, _> = (base..base + len)
            .map(|p| StdUdpSocket::bind(("127.0.0.1", p)))
            .collect();
        if held.is_ok() {
            return base;
        }
    }
    panic!("no block of {len} free UDP ports in {LOW}-{HIGH}");
}

/// A loopback port free for both UDP and TCP at the time of asking (SIPp's
/// SIP port, given with `-p` so its Contact is known in advance).
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

/// Waits until some process listens on UDP `port` (binding it fails), so a
/// peer started in the background is ready before the call is placed.
async fn wait_until_bound(port: u16, what: &str) {
    for _ in 0..100 {
        if StdUdpSocket::bind(("127.0.0.1", port)).is_err() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("{what} did not bind UDP port {port} within 5 s");
}

// ---------------------------------------------------------------------------
// Audio

/// `seconds` of a `freq` Hz tone at amplitude 8000, 8 kHz.
fn tone(freq: f64, seconds: f64) -> Vec<i16> {
    let n = (8000.0 * seconds) as usize;
    (0..n)
        .map(|i| {
            let t = i as f64 / 8000.0;
            (8000.0 * (2.0 * std::f64::consts::PI * freq * t).sin()) as i16
        })
        .collect()
}

/// A headerless µ-law file for SIPp's `rtp_stream` (whole 20 ms packets).
fn write_ulaw(path: &Path, freq: f64) {
    let bytes: Vec<u8> = tone(freq, 1.0).into_iter().map(g711::ulaw_encode).collect();
    std::fs::write(path, bytes).expect("write the u-law file");
}

/// A mono 16-bit 8 kHz WAV for baresip's `aufile` source.
fn write_wav(path: &Path, freq: f64, seconds: f64) {
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: 8000,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut w = hound::WavWriter::create(path, spec).expect("create the WAV");
    for s in tone(freq, seconds) {
        w.write_sample(s).expect("write a sample");
    }
    w.finalize().expect("finish the WAV");
}

/// The left and right channels of a stereo 16-bit WAV.
fn channels(wav: &[u8]) -> (Vec<i16>, Vec<i16>, hound::WavSpec) {
    let mut r = hound::WavReader::new(Cursor::new(wav)).expect("the recording is a WAV");
    let spec = r.spec();
    assert_eq!(spec.channels, 2, "recordings are stereo: {spec:?}");
    assert_eq!(spec.bits_per_sample, 16, "{spec:?}");
    let samples: Vec<i16> = r
        .samples::<i16>()
        .collect::<Result<_, _>>()
        .expect("WAV samples");
    let left = samples.iter().step_by(2).copied().collect();
    let right = samples.iter().skip(1).step_by(2).copied().collect();
    (left, right, spec)
}

fn rms(samples: &[i16]) -> f64 {
    if samples.is_empty() {
        return 0.0;
    }
    let sum: f64 = samples.iter().map(|&s| f64::from(s).powi(2)).sum();
    (sum / samples.len() as f64).sqrt()
}

/// Power of `freq` in 8 kHz `samples` (Goertzel), normalised by length.
fn power(samples: &[i16], freq: f64) -> f64 {
    let w = 2.0 * std::f64::consts::PI * freq / 8000.0;
    let c = 2.0 * w.cos();
    let (mut s1, mut s2) = (0.0f64, 0.0f64);
    for &x in samples {
        let s0 = f64::from(x) + c * s1 - s2;
        s2 = s1;
        s1 = s0;
    }
    let p = s1 * s1 + s2 * s2 - c * s1 * s2;
    p / (samples.len().max(1) as f64).powi(2)
}

/// Asserts that the recording carries the caller's tone on the left channel
/// and the agent's on the right, each clearly above silence and above the
/// other party's tone (so neither direction is missing, swapped or mixed in).
fn assert_both_directions(wav: &[u8], context: &str) {
    let (left, right, spec) = channels(wav);
    let (l_rms, r_rms) = (rms(&left), rms(&right));
    let ratio = |s: &[i16], own: f64, other: f64| power(s, own) / power(s, other).max(1e-9);
    let left_ratio = ratio(&left, CALLER_TONE_HZ, AGENT_TONE_HZ);
    let right_ratio = ratio(&right, AGENT_TONE_HZ, CALLER_TONE_HZ);
    assert!(
        l_rms > SILENCE_RMS && r_rms > SILENCE_RMS && left_ratio > 10.0 && right_ratio > 10.0,
        "the recording should hold the caller's {CALLER_TONE_HZ} Hz on the left and the \
         agent's {AGENT_TONE_HZ} Hz on the right: RMS left {l_rms:.0}, right {r_rms:.0} \
         (silence <= {SILENCE_RMS}); own/other tone power left {left_ratio:.1}, right \
         {right_ratio:.1} (want > 10); {} frames, {spec:?}\n{context}",
        left.len()
    );
}

// ---------------------------------------------------------------------------
// SIPp

/// What one SIPp process runs.
struct SippSpec<'a> {
    /// Name in the logs and failure messages ("caller", "agent", ...).
    role: &'a str,
    scenario: &'a str,
    inf: Option<&'a str>,
    /// SIP port (`-p`).
    port: u16,
    /// `-d`: the length of a `<pause/>` without its own duration.
    pause_ms: u64,
}

/// A SIPp child process, killed if dropped before it exits.
struct Sipp {
    what: String,
    child: tokio::process::Child,
    errors: PathBuf,
    messages: PathBuf,
    screen: PathBuf,
    stderr: PathBuf,
}

/// One finished SIPp run.
struct SippRun {
    what: String,
    status: Option<ExitStatus>,
    errors: String,
    messages: String,
    screen: String,
}

impl Sipp {
    /// Starts SIPp in `work` (its working directory, where the audio files
    /// and logs are) against `server`.
    fn spawn(sipp: &Path, work: &Path, server: SocketAddr, spec: &SippSpec<'_>) -> Sipp {
        let scenario = scenarios_dir().join(spec.scenario);
        assert!(
            scenario.is_file(),
            "missing scenario {}",
            scenario.display()
        );
        let errors = work.join(format!("{}-errors.log", spec.role));
        let messages = work.join(format!("{}-messages.log", spec.role));
        let screen = work.join(format!("{}-screen.log", spec.role));
        let stderr = work.join(format!("{}-stderr.log", spec.role));
        let media_port = port_block(SIPP_MEDIA_PORTS);
        let mut cmd = tokio::process::Command::new(sipp);
        cmd.current_dir(work).arg("-sf").arg(&scenario);
        if let Some(inf) = spec.inf {
            cmd.arg("-inf").arg(scenarios_dir().join(inf));
        }
        cmd.args(["-key", "domain", DOMAIN])
            .args(["-auth_uri", DOMAIN])
            .args(["-t", "u1"])
            .args(["-i", "127.0.0.1"])
            .args(["-p", &spec.port.to_string()])
            .args(["-mi", "127.0.0.1"])
            .args(["-mp", &media_port.to_string()])
            .args(["-d", &spec.pause_ms.to_string()])
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
            .stderr(std::fs::File::create(&stderr).expect("SIPp stderr file"))
            .kill_on_drop(true);
        let child = cmd.spawn().expect("spawn sipp");
        Sipp {
            what: format!("{} ({})", spec.role, spec.scenario),
            child,
            errors,
            messages,
            screen,
            stderr,
        }
    }

    /// Waits for SIPp to exit (it bounds itself with `-timeout 30`; a SIPp
    /// still running after 60 s is killed and reported as failed).
    async fn finish(mut self) -> SippRun {
        let status = match tokio::time::timeout(Duration::from_secs(60), self.child.wait()).await {
            Ok(status) => Some(status.expect("wait for sipp")),
            Err(_) => {
                let _ = self.child.kill().await;
                None
            }
        };
        let read = |p: &Path| std::fs::read_to_string(p).unwrap_or_else(|_| "(none)".into());
        let mut screen = read(&self.screen);
        screen.push_str(&read(&self.stderr));
        SippRun {
            what: self.what,
            status,
            errors: read(&self.errors),
            messages: read(&self.messages),
            screen,
        }
    }
}

impl SippRun {
    fn succeeded(&self) -> bool {
        self.status.is_some_and(|s| s.success())
    }

    fn report(&self) -> String {
        let status = match self.status {
            Some(s) => s.to_string(),
            None => "no exit within 60 s (killed)".to_owned(),
        };
        format!(
            "=== {}: {status} ===\n--- SIPp errors ---\n{}\n--- SIP trace (SIPp's view) ---\n{}\n\
             --- SIPp screen (tail) ---\n{}\n",
            self.what,
            self.errors,
            self.messages,
            tail(&self.screen, 2500),
        )
    }
}

/// Fails with the traces of every SIPp of the call unless all exited 0 (every
/// call went as its scenario says).
fn assert_all_succeeded(runs: &[&SippRun]) {
    if runs.iter().all(|r| r.succeeded()) {
        return;
    }
    let failed: Vec<&str> = runs
        .iter()
        .filter(|r| !r.succeeded())
        .map(|r| r.what.as_str())
        .collect();
    let reports: String = runs.iter().map(|r| r.report()).collect();
    panic!("SIPp failed: {failed:?} (0 = every message as the scenario expects)\n{reports}");
}

fn tail(s: &str, max: usize) -> &str {
    let mut start = s.len().saturating_sub(max);
    while !s.is_char_boundary(start) {
        start += 1;
    }
    &s[start..]
}

// ---------------------------------------------------------------------------
// The bench: a server, a work directory, the supervisor's view

struct Bench {
    server: TestServer,
    work: tempfile::TempDir,
    token: String,
}

impl Bench {
    /// A server offering `algorithms` (SIPp needs MD5 first, baresip MD5
    /// only), with its own RTP port range, and a work directory holding the
    /// audio the peers send.
    async fn start(algorithms: Vec<DigestAlgorithm>) -> Bench {
        let low = port_block(SERVER_RTP_PORTS);
        server_log_to_test_output();
        let server = TestServer::start_with(|c| {
            c.sip.digest_algorithms = algorithms;
            c.sip.rtp_ports = PortRange {
                low,
                high: low + SERVER_RTP_PORTS - 1,
            };
        })
        .await;
        let work = tempfile::tempdir().expect("work dir");
        write_ulaw(&work.path().join("caller.ulaw"), CALLER_TONE_HZ);
        write_ulaw(&work.path().join("agent.ulaw"), AGENT_TONE_HZ);
        let token = server.login("9001", "test-pass-9001").await;
        Bench {
            server,
            work,
            token,
        }
    }

    fn sipp(&self, sipp: &Path, spec: &SippSpec<'_>) -> Sipp {
        Sipp::spawn(sipp, self.work.path(), self.server.sip, spec)
    }

    /// Registers agent 1001 from `port` with SIPp (401 → 200).
    async fn register_sipp_agent(&self, sipp: &Path, port: u16) {
        let run = self
            .sipp(
                sipp,
                &SippSpec {
                    role: "register",
                    scenario: "register-auth.xml",
                    inf: Some("agent-1001.csv"),
                    port,
                    pause_ms: 0,
                },
            )
            .finish()
            .await;
        assert_all_succeeded(&[&run]);
        self.wait_registered("1001").await;
    }

    /// Starts a SIPp agent as a UAS on `port` (after it registered from there)
    /// and waits until it listens.
    async fn sipp_agent(&self, sipp: &Path, port: u16, scenario: &str) -> Sipp {
        let agent = self.sipp(
            sipp,
            &SippSpec {
                role: "agent",
                scenario,
                inf: None,
                port,
                pause_ms: 0,
            },
        );
        wait_until_bound(port, "the SIPp agent").await;
        agent
    }

    /// Places a call with the SIPp trunk and waits for SIPp to finish.
    async fn call(&self, sipp: &Path, scenario: &str, talk_ms: u64) -> SippRun {
        self.sipp(
            sipp,
            &SippSpec {
                role: "caller",
                scenario,
                inf: None,
                port: free_port(),
                pause_ms: talk_ms,
            },
        )
        .finish()
        .await
    }

    async fn get_json(&self, path: &str) -> serde_json::Value {
        let resp = reqwest::Client::new()
            .get(self.server.http_url(path))
            .bearer_auth(&self.token)
            .send()
            .await
            .unwrap_or_else(|e| panic!("GET {path}: {e}"));
        assert_eq!(resp.status(), 200, "GET {path}");
        resp.json()
            .await
            .unwrap_or_else(|e| panic!("GET {path} JSON: {e}"))
    }

    async fn wait_registered(&self, id: &str) {
        let mut last = serde_json::Value::Null;
        for _ in 0..75 {
            let agents = self.get_json("/api/agents").await;
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
        panic!("{id} not registered after 15 s: {last:#}");
    }

    /// The call's record once the server wrote it: waits until no call is
    /// live and one CDR exists (records are written after the media closed).
    async fn only_cdr(&self, traces: &[&SippRun]) -> serde_json::Value {
        let mut last = serde_json::Value::Null;
        for _ in 0..50 {
            last = self.get_json("/api/calls").await;
            let live = last["live"].as_array().map_or(0, Vec::len);
            let recent = last["recent"].as_array().cloned().unwrap_or_default();
            if live == 0 && !recent.is_empty() {
                assert_eq!(
                    recent.len(),
                    1,
                    "one call was placed: {last:#}\n{}",
                    reports(traces)
                );
                return recent[0].clone();
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        panic!(
            "no call record 10 s after the call: /api/calls says {last:#}\n{}",
            reports(traces)
        );
    }

    /// The index row and the WAV of recording `id`.
    async fn recording(&self, id: &str) -> (serde_json::Value, Vec<u8>) {
        let list = self.get_json("/api/recordings").await;
        let row = list
            .as_array()
            .expect("/api/recordings is an array")
            .iter()
            .find(|r| r["id"] == id)
            .unwrap_or_else(|| panic!("recording {id} missing from /api/recordings: {list:#}"))
            .clone();
        let resp = reqwest::Client::new()
            .get(self.server.http_url(&format!("/api/recordings/{id}")))
            .bearer_auth(&self.token)
            .send()
            .await
            .expect("GET the recording");
        assert_eq!(resp.status(), 200, "GET /api/recordings/{id}");
        let wav = resp.bytes().await.expect("recording bytes").to_vec();
        (row, wav)
    }

    /// Asserts the recording of `cdr` exists, lasts, and has sound on both
    /// channels (caller left, agent right).
    async fn assert_recorded_both_ways(&self, cdr: &serde_json::Value, traces: &[&SippRun]) {
        let id = cdr["recording_id"]
            .as_str()
            .unwrap_or_else(|| panic!("an answered call is recorded: {cdr:#}"));
        let (row, wav) = self.recording(id).await;
        let duration = row["duration_ms"].as_i64().expect("duration_ms");
        assert!(duration > 0, "the recording has a duration: {row:#}");
        assert_both_directions(&wav, &format!("{row:#}\n{}", reports(traces)));
    }

    async fn stop(self) {
        self.server.stop().await;
    }
}

fn reports(runs: &[&SippRun]) -> String {
    runs.iter().map(|r| r.report()).collect()
}

fn sipp_server_algorithms() -> Vec<DigestAlgorithm> {
    // SIPp 3.6 reads only the first challenge and knows only MD5.
    vec![DigestAlgorithm::Md5, DigestAlgorithm::Sha256]
}

// ---------------------------------------------------------------------------
// SIPp agent, SIPp caller

#[tokio::test]
async fn sipp_call_answered_and_hung_up_by_the_caller() {
    let Some(sipp) = require_tool("sipp", "sip-tester") else {
        return;
    };
    let bench = Bench::start(sipp_server_algorithms()).await;
    let agent_port = free_port();
    bench.register_sipp_agent(&sipp, agent_port).await;
    let agent = bench.sipp_agent(&sipp, agent_port, "agent-uas.xml").await;

    let caller = bench.call(&sipp, "call-uac.xml", 3000).await;
    let agent = agent.finish().await;
    assert_all_succeeded(&[&caller, &agent]);

    let cdr = bench.only_cdr(&[&caller, &agent]).await;
    let ctx = reports(&[&caller, &agent]);
    assert_eq!(cdr["reason"], "normal", "{cdr:#}\n{ctx}");
    assert_eq!(cdr["hangup_by"], "caller", "{cdr:#}");
    assert_eq!(cdr["agent"], "1001", "{cdr:#}");
    assert_eq!(cdr["did"], "12345", "{cdr:#}");
    assert_eq!(cdr["caller_number"], "13800138000", "{cdr:#}");
    assert!(cdr["answered_at"].is_string(), "{cdr:#}");
    bench
        .assert_recorded_both_ways(&cdr, &[&caller, &agent])
        .await;

    bench.stop().await;
}

#[tokio::test]
async fn sipp_caller_cancels_while_the_agent_rings() {
    let Some(sipp) = require_tool("sipp", "sip-tester") else {
        return;
    };
    let bench = Bench::start(sipp_server_algorithms()).await;
    let agent_port = free_port();
    bench.register_sipp_agent(&sipp, agent_port).await;
    let agent = bench
        .sipp_agent(&sipp, agent_port, "agent-uas-cancel.xml")
        .await;

    let caller = bench.call(&sipp, "call-uac-cancel.xml", 0).await;
    let agent = agent.finish().await;
    assert_all_succeeded(&[&caller, &agent]);

    let cdr = bench.only_cdr(&[&caller, &agent]).await;
    let ctx = reports(&[&caller, &agent]);
    assert_eq!(cdr["reason"], "cancelled", "{cdr:#}\n{ctx}");
    assert_eq!(cdr["hangup_by"], "caller", "{cdr:#}");
    assert_eq!(cdr["agent"], "1001", "the agent that rang: {cdr:#}");
    assert!(cdr["answered_at"].is_null(), "never answered: {cdr:#}");
    assert!(cdr["recording_id"].is_null(), "nothing to record: {cdr:#}");
    let recordings = bench.get_json("/api/recordings").await;
    assert_eq!(recordings, serde_json::json!([]), "{recordings:#}");

    bench.stop().await;
}

#[tokio::test]
async fn sipp_agent_hangs_up() {
    let Some(sipp) = require_tool("sipp", "sip-tester") else {
        return;
    };
    let bench = Bench::start(sipp_server_algorithms()).await;
    let agent_port = free_port();
    bench.register_sipp_agent(&sipp, agent_port).await;
    let agent = bench
        .sipp_agent(&sipp, agent_port, "agent-uas-bye.xml")
        .await;

    let caller = bench.call(&sipp, "call-uac-agent-bye.xml", 0).await;
    let agent = agent.finish().await;
    assert_all_succeeded(&[&caller, &agent]);

    let cdr = bench.only_cdr(&[&caller, &agent]).await;
    let ctx = reports(&[&caller, &agent]);
    assert_eq!(cdr["reason"], "normal", "{cdr:#}\n{ctx}");
    assert_eq!(cdr["hangup_by"], "agent", "{cdr:#}\n{ctx}");
    assert_eq!(cdr["agent"], "1001", "{cdr:#}");
    let id = cdr["recording_id"]
        .as_str()
        .unwrap_or_else(|| panic!("an answered call is recorded: {cdr:#}"));
    let (row, _) = bench.recording(id).await;
    assert!(
        row["duration_ms"].as_i64().expect("duration_ms") > 0,
        "{row:#}"
    );

    bench.stop().await;
}

// ---------------------------------------------------------------------------
// baresip agent, SIPp caller

/// A headless baresip registered as 1001 that answers by itself and sends a
/// tone from a WAV file; killed when dropped.
struct Baresip {
    child: tokio::process::Child,
    log: PathBuf,
}

impl Baresip {
    fn start(bin: &Path, dir: &Path, server: SocketAddr) -> Baresip {
        let conf = dir.join("baresip");
        std::fs::create_dir_all(&conf).expect("baresip config dir");
        // baresip hangs up when the aufile source ends: longer than any call here.
        let wav = dir.join("agent.wav");
        write_wav(&wav, AGENT_TONE_HZ, 40.0);
        let port = free_port();
        let rtp = port_block(SIPP_MEDIA_PORTS);
        std::fs::write(
            conf.join("accounts"),
            format!(
                "<sip:1001@{DOMAIN};transport=udp>;auth_pass=test-pass-1001;\
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
                rtp + SIPP_MEDIA_PORTS - 1,
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
            .args(["-t", "60"])
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .kill_on_drop(true)
            .spawn()
            .expect("spawn baresip");
        Baresip { child, log }
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Baresip {
    fn drop(&mut self) {
        let _ = self.child.start_kill();
        let _ = self.child.try_wait();
    }
}

#[tokio::test]
async fn baresip_agent_answers_a_sipp_call() {
    let Some(sipp) = require_tool("sipp", "sip-tester") else {
        return;
    };
    let Some(bin) = require_tool("baresip", "baresip-core") else {
        return;
    };
    // baresip 1.0 abandons a 401 carrying any non-MD5 challenge.
    let bench = Bench::start(vec![DigestAlgorithm::Md5]).await;
    let phone = Baresip::start(&bin, bench.work.path(), bench.server.sip);
    let registered =
        tokio::time::timeout(Duration::from_secs(20), bench.wait_registered("1001")).await;
    assert!(
        registered.is_ok(),
        "baresip did not register\n--- baresip log ---\n{}",
        phone.log()
    );

    let caller = bench.call(&sipp, "call-uac.xml", 4000).await;
    if !caller.succeeded() {
        panic!(
            "{}\n--- baresip log (SIP trace) ---\n{}",
            caller.report(),
            phone.log()
        );
    }

    let cdr = bench.only_cdr(&[&caller]).await;
    let ctx = format!("{}\n--- baresip log ---\n{}", caller.report(), phone.log());
    assert_eq!(cdr["reason"], "normal", "{cdr:#}\n{ctx}");
    assert_eq!(cdr["hangup_by"], "caller", "{cdr:#}\n{ctx}");
    assert_eq!(cdr["agent"], "1001", "{cdr:#}");
    let id = cdr["recording_id"]
        .as_str()
        .unwrap_or_else(|| panic!("an answered call is recorded: {cdr:#}\n{ctx}"));
    let (row, wav) = bench.recording(id).await;
    assert!(
        row["duration_ms"].as_i64().expect("duration_ms") > 0,
        "{row:#}"
    );
    assert_both_directions(&wav, &format!("{row:#}\n{ctx}"));

    drop(phone);
    bench.stop().await;
}
