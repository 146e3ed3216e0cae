//! Outbound calls end to end over loopback (issue 7): the server places a
//! survey call through `[trunk.outbound]` to a test UAS standing in for the
//! carrier and the citizen's phone, which answers, hears the opening and the
//! question, and keys RFC 4733 digit 4: the dialer's outcome is
//! `Rated { rating: 4 }` and the call record says `outbound`/`survey`. Busy,
//! not answered, the trunk's digest challenge and the concurrency limit are
//! checked the same way; SIPp plays the trunk for busy and no-answer. A
//! callback rings the agent's registered phone first, then the citizen
//! through the trunk, bridges them (RTP both ways) and records the call.
//!
//! RTP ports 29000–29999 belong to this file. Waits have guards of tens of
//! seconds (prompts play in real time); nothing measures speed.

#[path = "common/call.rs"]
mod call_setup;
mod common;
#[path = "common/ua.rs"]
mod ua;

use std::net::SocketAddr;
use std::process::Stdio;
use std::time::Duration;

use call_setup::{answer_to, local, rtp_block_in, rtp_socket, RtpBlock, TRUNK_IP};
use common::{require_tool, scenarios_dir, TestServer};
use hotline::dialing::{CallbackCall, CallbackOutcome, Dialer, SurveyCall, SurveyCallOutcome};
use hotline_config::Config;
use serde_json::Value;
use ua::{send_dtmf, Incoming, SipUa};

const NUMBER: &str = "13900139000";
const WAIT: Duration = Duration::from_secs(40);

/// The server on the default configuration (menus, prompts) with its trunk
/// pointing at `trunk`.
async fn start(trunk: SocketAddr, tweak: impl FnOnce(&mut Config)) -> (TestServer, RtpBlock) {
    call_setup::server_log_to_test_output();
    let block = rtp_block_in(29_000, 30_000);
    let range = block.range;
    let server = TestServer::start_default(|c| {
        c.sip.rtp_ports = range;
        c.trunk.outbound.uri = Some(format!("sip:{{number}}@{trunk}"));
        c.trunk.outbound.max_concurrent = 2;
        c.trunk.outbound.calls_per_second = 50;
        c.trunk.outbound.ring_timeout_s = 5;
        tweak(c);
    })
    .await;
    (server, block)
}

/// The trunk side: a UA bound before the server knows it.
async fn trunk_ua() -> SipUa {
    // The server's address is filled in once it runs.
    SipUa::bind("trunk", TRUNK_IP, "127.0.0.1:9".parse().expect("addr")).await
}

fn survey(job: &str) -> SurveyCall {
    SurveyCall {
        job_id: job.into(),
        number: NUMBER.into(),
        order_number: "202611250001".into(),
        language: "cmn".into(),
    }
}

fn dialer(server: &TestServer) -> hotline::sip_io::SipHandle {
    server.server.as_ref().expect("running").sip.clone()
}

/// Polls `GET /api/calls` until the record of call `id` is listed.
async fn cdr_of(server: &TestServer, pred: impl Fn(&Value) -> bool) -> Value {
    let token = server.login("9001", "demo-9001-change-me").await;
    let mut last = Value::Null;
    for _ in 0..200 {
        last = reqwest::Client::new()
            .get(server.http_url("/api/calls"))
            .bearer_auth(&token)
            .send()
            .await
            .expect("GET /api/calls")
            .json()
            .await
            .expect("JSON");
        if let Some(c) = last["recent"]
            .as_array()
            .and_then(|r| r.iter().find(|c| pred(c)))
        {
            return c.clone();
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("no matching call record: {last}");
}

#[tokio::test]
async fn a_survey_call_is_answered_and_the_citizen_rates_4() {
    let mut trunk = trunk_ua().await;
    let (server, _block) = start(trunk.local(), |_| {}).await;
    trunk.server = server.sip;
    let d = dialer(&server);
    let outcome = tokio::spawn(async move { d.survey_call(survey("job-1")).await });

    let inc = Incoming::wait(&mut trunk).await;
    assert_eq!(
        inc.invite.request_uri(),
        format!("sip:{NUMBER}@{}", trunk.local())
    );
    assert!(
        inc.invite.header("From").contains("sip:12345@"),
        "{}",
        inc.invite.raw
    );
    let offer = inc.offer();
    assert_eq!(
        offer.pt_of("TELEPHONE-EVENT"),
        Some(101),
        "{}",
        inc.invite.raw
    );
    let rtp = rtp_socket(TRUNK_IP).await;
    let (answer, pt) = answer_to(&offer, local(&rtp));
    inc.reply(&mut trunk, 180, "", "").await;
    inc.reply(&mut trunk, 200, "", &answer).await;
    let ack = trunk.request("ACK").await;
    assert_eq!(ack.call_id(), inc.invite.call_id());

    // The opening and the question play to the citizen, in the codec chosen.
    let heard = ua::listen(&rtp, Duration::from_millis(600)).await;
    assert!(heard.len() >= 20, "{} packets of prompt audio", heard.len());
    assert!(heard.iter().all(|p| p[1] & 0x7f == pt), "codec {pt}");
    send_dtmf(&rtp, offer.rtp(), 101, '4', 0x4444, 1, 16_000).await;

    // Thanks, then the server hangs up.
    let bye = trunk
        .wait_for("BYE", WAIT, |m| m.method() == Some("BYE"))
        .await;
    call_setup::ok_to(&mut trunk, &bye).await;
    let outcome = tokio::time::timeout(WAIT, outcome)
        .await
        .expect("outcome in time")
        .expect("task");
    let SurveyCallOutcome::Rated { call_id, rating } = outcome else {
        panic!("{outcome:?}\n{}", trunk.trace());
    };
    assert_eq!(rating, 4);
    let cdr = cdr_of(&server, |c| c["id"] == call_id.as_str()).await;
    assert_eq!(cdr["direction"], "outbound", "{cdr}");
    assert_eq!(cdr["purpose"], "survey", "{cdr}");
    assert_eq!(cdr["caller_number"], NUMBER, "{cdr}");
    assert_eq!(cdr["reason"], "normal", "{cdr}");
    assert_eq!(cdr["hangup_by"], "system", "{cdr}");
    assert!(cdr["answered_at"].is_string(), "{cdr}");
    assert!(
        cdr["recording_id"].is_null(),
        "surveys are not recorded: {cdr}"
    );
}

#[tokio::test]
async fn busy_and_unavailable_citizens_and_no_trunk() {
    let mut trunk = trunk_ua().await;
    let (server, _block) = start(trunk.local(), |_| {}).await;
    trunk.server = server.sip;
    let d = dialer(&server);
    for (status, expected) in [
        (486, SurveyCallOutcome::Busy),
        (480, SurveyCallOutcome::NoAnswer),
        (503, SurveyCallOutcome::Failed("trunk answered 503".into())),
    ] {
        let d = d.clone();
        let outcome = tokio::spawn(async move { d.survey_call(survey("job-2")).await });
        let inc = Incoming::wait(&mut trunk).await;
        inc.reply(&mut trunk, 180, "", "").await;
        inc.reply(&mut trunk, status, "", "").await;
        trunk.request("ACK").await;
        let got = tokio::time::timeout(WAIT, outcome)
            .await
            .expect("in time")
            .expect("task");
        assert_eq!(got, expected, "{status}");
    }
    let cdr = cdr_of(&server, |c| c["reason"] == "busy").await;
    assert_eq!(cdr["direction"], "outbound", "{cdr}");
    assert!(cdr["answered_at"].is_null(), "{cdr}");

    // Without [trunk.outbound] uri nothing is dialled.
    let mut idle = trunk_ua().await;
    let (server, _block) = start(idle.local(), |c| c.trunk.outbound.uri = None).await;
    idle.server = server.sip;
    let got = dialer(&server).survey_call(survey("job-3")).await;
    assert!(matches!(got, SurveyCallOutcome::NotPlaced(_)), "{got:?}");
    assert!(idle.drain(Duration::from_millis(300)).await.is_empty());
}

#[tokio::test]
async fn the_trunk_challenge_is_answered_with_the_configured_credentials() {
    let mut trunk = trunk_ua().await;
    let (server, _block) = start(trunk.local(), |c| {
        c.trunk.outbound.username = Some("hotline".into());
        c.trunk.outbound.password = Some("example-only".into());
    })
    .await;
    trunk.server = server.sip;
    let d = dialer(&server);
    let outcome = tokio::spawn(async move { d.survey_call(survey("job-4")).await });
    let first = Incoming::wait(&mut trunk).await;
    first
        .reply(
            &mut trunk,
            407,
            "Proxy-Authenticate: Digest realm=\"sbc.test\", nonce=\"c4f3\", qop=\"auth\", algorithm=MD5\r\n",
            "",
        )
        .await;
    trunk.request("ACK").await;
    let second = Incoming::wait(&mut trunk).await;
    assert_eq!(second.invite.call_id(), first.invite.call_id());
    assert_eq!(second.invite.cseq_number(), 2);
    let creds = second.invite.header("Proxy-Authorization").to_owned();
    let param = |name: &str| {
        creds
            .split(&format!("{name}=\""))
            .nth(1)
            .and_then(|r| r.split('"').next())
            .unwrap_or_else(|| panic!("no {name} in {creds}"))
            .to_owned()
    };
    use hotline_sip::digest::{ha1, response, Algorithm};
    let expected = response(
        Algorithm::Md5,
        &ha1(Algorithm::Md5, "hotline", "sbc.test", "example-only"),
        "c4f3",
        Some(("auth", "00000001", &param("cnonce"))),
        "INVITE",
        &param("uri"),
    );
    assert_eq!(param("username"), "hotline");
    assert_eq!(param("response"), expected, "{creds}");
    second.reply(&mut trunk, 486, "", "").await;
    let got = tokio::time::timeout(WAIT, outcome)
        .await
        .expect("in time")
        .expect("task");
    assert_eq!(got, SurveyCallOutcome::Busy);
}

#[tokio::test]
async fn five_requests_with_two_allowed_place_two_at_a_time() {
    let mut trunk = trunk_ua().await;
    let (server, _block) = start(trunk.local(), |_| {}).await;
    trunk.server = server.sip;
    let d = dialer(&server);
    let tasks: Vec<_> = (0..5)
        .map(|i| {
            let d = d.clone();
            tokio::spawn(async move { d.survey_call(survey(&format!("job-l{i}"))).await })
        })
        .collect();
    let a = Incoming::wait(&mut trunk).await;
    let first = a.invite.call_id().to_owned();
    let b = trunk
        .wait_for("a second call", WAIT, |m| {
            m.method() == Some("INVITE") && m.call_id() != first
        })
        .await;
    let b = Incoming {
        invite: b,
        tag: "uas-b".into(),
    };
    let second = b.invite.call_id().to_owned();
    // Nobody else is dialled while these two are up (the INVITEs seen are
    // retransmissions of these two: no provisional stopped them).
    let more = trunk.drain(Duration::from_millis(700)).await;
    assert!(
        more.iter()
            .filter(|m| m.method() == Some("INVITE"))
            .all(|m| m.call_id() == first || m.call_id() == second),
        "a third call: {}",
        trunk.trace()
    );
    for inc in [&a, &b] {
        inc.reply(&mut trunk, 486, "", "").await;
    }
    let mut outcomes = Vec::new();
    for t in tasks {
        outcomes.push(
            tokio::time::timeout(WAIT, t)
                .await
                .expect("in time")
                .expect("task"),
        );
    }
    let busy = outcomes
        .iter()
        .filter(|o| **o == SurveyCallOutcome::Busy)
        .count();
    let not_placed = outcomes
        .iter()
        .filter(|o| matches!(o, SurveyCallOutcome::NotPlaced(why) if why.contains("2 outbound calls are up")))
        .count();
    assert_eq!((busy, not_placed), (2, 3), "{outcomes:?}");

    // The slots are back: the next one is placed.
    let d2 = d.clone();
    let next = tokio::spawn(async move { d2.survey_call(survey("job-l5")).await });
    let c = trunk
        .wait_for("the next call", WAIT, |m| {
            m.method() == Some("INVITE") && m.call_id() != first && m.call_id() != second
        })
        .await;
    let c = Incoming {
        invite: c,
        tag: "uas-c".into(),
    };
    c.reply(&mut trunk, 486, "", "").await;
    assert_eq!(next.await.expect("task"), SurveyCallOutcome::Busy);
}

/// Runs SIPp as the trunk with `scenario` (tests/sipp) on `port`, once.
fn sipp_uas(sipp: &std::path::Path, scenario: &str, port: u16) -> tokio::process::Child {
    tokio::process::Command::new(sipp)
        .arg("-sf")
        .arg(scenarios_dir().join(scenario))
        .args(["-i", "127.0.0.1", "-p", &port.to_string(), "-m", "1"])
        .args(["-nostdin", "-timeout", "30", "-timeout_error"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("spawn sipp")
}

fn free_udp_port() -> u16 {
    std::net::UdpSocket::bind("127.0.0.1:0")
        .and_then(|s| s.local_addr())
        .expect("probe port")
        .port()
}

#[tokio::test]
async fn sipp_trunk_busy_and_no_answer() {
    let Some(sipp) = require_tool("sipp", "sip-tester") else {
        return;
    };
    let port = free_udp_port();
    let trunk: SocketAddr = ([127, 0, 0, 1], port).into();
    let (server, _block) = start(trunk, |_| {}).await;
    for (scenario, expected) in [
        ("trunk-uas-busy.xml", SurveyCallOutcome::Busy),
        ("trunk-uas-noanswer.xml", SurveyCallOutcome::NoAnswer),
    ] {
        let child = sipp_uas(&sipp, scenario, port);
        // SIPp needs a moment to bind; the server's INVITE is retransmitted anyway.
        tokio::time::sleep(Duration::from_millis(300)).await;
        let got = dialer(&server).survey_call(survey("job-sipp")).await;
        assert_eq!(got, expected, "{scenario}");
        let out = tokio::time::timeout(Duration::from_secs(60), child.wait_with_output())
            .await
            .expect("SIPp exits")
            .expect("wait for sipp");
        assert!(
            out.status.success(),
            "{scenario}: SIPp failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

#[tokio::test]
async fn a_callback_rings_the_agent_then_bridges_and_records_the_citizen() {
    let mut trunk = trunk_ua().await;
    let (server, _block) = start(trunk.local(), |_| {}).await;
    trunk.server = server.sip;
    let mut agent = SipUa::bind("agent", TRUNK_IP, server.sip).await;
    agent.register("1001", "demo-1001-change-me").await;

    // An unregistered agent: nothing is dialled.
    let got = dialer(&server)
        .callback_call(CallbackCall {
            task_id: "task-0".into(),
            agent: "1002".into(),
            number: NUMBER.into(),
        })
        .await;
    assert!(
        matches!(got, CallbackOutcome::AgentUnavailable(_)),
        "{got:?}"
    );

    let d = dialer(&server);
    let outcome = tokio::spawn(async move {
        d.callback_call(CallbackCall {
            task_id: "task-1".into(),
            agent: "1001".into(),
            number: NUMBER.into(),
        })
        .await
    });
    // The agent's phone rings first, showing the citizen's number.
    let to_agent = Incoming::wait(&mut agent).await;
    assert!(
        to_agent.invite.header("From").contains(NUMBER),
        "{}",
        to_agent.invite.raw
    );
    assert!(trunk.drain(Duration::from_millis(200)).await.is_empty());
    let agent_rtp = rtp_socket(TRUNK_IP).await;
    let agent_offer = to_agent.offer();
    let (agent_answer, agent_pt) = answer_to(&agent_offer, local(&agent_rtp));
    to_agent.reply(&mut agent, 200, "", &agent_answer).await;
    agent.request("ACK").await;

    // Then the citizen through the trunk, from the hotline's number.
    let to_citizen = Incoming::wait(&mut trunk).await;
    assert_eq!(
        to_citizen.invite.request_uri(),
        format!("sip:{NUMBER}@{}", trunk.local())
    );
    assert!(to_citizen.invite.header("From").contains("sip:12345@"));
    let citizen_rtp = rtp_socket(TRUNK_IP).await;
    let citizen_offer = to_citizen.offer();
    let (citizen_answer, citizen_pt) = answer_to(&citizen_offer, local(&citizen_rtp));
    to_citizen.reply(&mut trunk, 180, "", "").await;
    to_citizen.reply(&mut trunk, 200, "", &citizen_answer).await;
    trunk.request("ACK").await;
    let got = tokio::time::timeout(WAIT, outcome)
        .await
        .expect("in time")
        .expect("task");
    let CallbackOutcome::Bridged { call_id } = got else {
        panic!("{got:?}");
    };

    // They talk: each hears the other's tone through the relay.
    let tail = Duration::from_millis(300);
    let (agent_heard, citizen_heard) = tokio::join!(
        ua::talk(
            agent_rtp.clone(),
            agent_offer.rtp(),
            agent_pt,
            697.0,
            0xa1,
            50,
            tail
        ),
        ua::talk(
            citizen_rtp.clone(),
            citizen_offer.rtp(),
            citizen_pt,
            1209.0,
            0xc1,
            50,
            tail
        ),
    );
    assert!(
        agent_heard.received.len() >= 40,
        "agent got {} packets",
        agent_heard.received.len()
    );
    assert!(
        citizen_heard.received.len() >= 40,
        "citizen got {} packets",
        citizen_heard.received.len()
    );

    // The citizen hangs up; the agent's phone gets the BYE.
    let bye = to_citizen.dialog().bye(&mut trunk);
    trunk.send(&bye).await;
    trunk.response("BYE", 200).await;
    let agent_bye = agent.request("BYE").await;
    call_setup::ok_to(&mut agent, &agent_bye).await;

    let cdr = cdr_of(&server, |c| c["id"] == call_id.as_str()).await;
    assert_eq!(cdr["direction"], "outbound", "{cdr}");
    assert_eq!(cdr["purpose"], "callback", "{cdr}");
    assert_eq!(cdr["agent"], "1001", "{cdr}");
    assert_eq!(cdr["caller_number"], NUMBER, "{cdr}");
    assert_eq!(cdr["hangup_by"], "caller", "the citizen hung up: {cdr}");
    let rec = cdr["recording_id"]
        .as_str()
        .unwrap_or_else(|| panic!("recorded: {cdr}"));
    let token = server.login("9001", "demo-9001-change-me").await;
    let list: Value = reqwest::Client::new()
        .get(server.http_url("/api/recordings"))
        .bearer_auth(&token)
        .send()
        .await
        .expect("GET /api/recordings")
        .json()
        .await
        .expect("JSON");
    let row = list
        .as_array()
        .and_then(|l| l.iter().find(|r| r["id"] == rec))
        .unwrap_or_else(|| panic!("recording {rec} listed: {list}"));
    assert_eq!(row["agent"], "1001", "{row}");
    assert!(row["duration_ms"].as_i64().unwrap_or(0) >= 500, "{row}");
}

/// CPU time (user + system) this process has used, from /proc.
fn cpu_time() -> Duration {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the command name (which may hold spaces) start at ")".
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map_or("", |(_, rest)| rest)
        .split_whitespace()
        .collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0)
    };
    // utime and stime are fields 14 and 15 of the whole line (11 and 12 here).
    Duration::from_millis((ticks(11) + ticks(12)) * 10)
}

/// One `name value` line of the Prometheus page.
fn metric(page: &str, name: &str) -> Option<i64> {
    page.lines()
        .find(|l| l.starts_with(name) && l[name.len()..].starts_with(' '))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
}

/// The survey campaign benchmark (issue 7; BENCHMARKS.md): `SURVEYS` survey
/// calls (default 2000) placed as fast as the trunk allows — 50 concurrent,
/// 100 per second — against a SIPp UAS whose citizens answer and hang up after
/// a second. A job that is not placed (a limit) is retried after 20 ms, as the
/// scheduler would. Reports calls placed per second, the server's CPU time
/// and the peak of concurrent outbound calls, which must never exceed 50.
/// Run with bench/outbound-survey-load.sh.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "benchmark: bench/outbound-survey-load.sh"]
async fn survey_campaign_load() {
    let Some(sipp) = require_tool("sipp", "sip-tester") else {
        return;
    };
    let surveys: usize = std::env::var("SURVEYS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2000);
    let port = free_udp_port();
    let trunk: SocketAddr = ([127, 0, 0, 1], port).into();
    // A wider port block than the functional tests: 50 calls × 2 pairs.
    let (server, _block) = start(trunk, |c| {
        c.trunk.outbound.max_concurrent = 50;
        c.trunk.outbound.calls_per_second = 100;
        c.trunk.outbound.ring_timeout_s = 30;
        c.sip.rtp_ports = hotline_config::PortRange {
            low: 29_400,
            high: 29_999,
        };
    })
    .await;
    let mut sipp_uas = tokio::process::Command::new(&sipp)
        .arg("-sf")
        .arg(scenarios_dir().join("trunk-uas-answer-bye.xml"))
        .args(["-i", "127.0.0.1", "-p", &port.to_string(), "-mp", "29300"])
        .args(["-nostdin", "-l", "100000", "-trace_err"])
        .arg("-error_file")
        .arg(std::env::temp_dir().join("outbound-load-sipp-errors.log"))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("spawn sipp");
    tokio::time::sleep(Duration::from_millis(500)).await;

    let d = dialer(&server);
    let jobs = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let cpu0 = cpu_time();
    let t0 = std::time::Instant::now();
    let workers: Vec<_> = (0..60)
        .map(|_| {
            let d = d.clone();
            let jobs = jobs.clone();
            tokio::spawn(async move {
                let mut outcomes = Vec::new();
                let mut refused = 0u64;
                while jobs.fetch_add(1, std::sync::atomic::Ordering::SeqCst) < surveys {
                    loop {
                        match d.survey_call(survey("load")).await {
                            SurveyCallOutcome::NotPlaced(_) => {
                                refused += 1;
                                tokio::time::sleep(Duration::from_millis(20)).await;
                            }
                            other => {
                                outcomes.push(other);
                                break;
                            }
                        }
                    }
                }
                (outcomes, refused)
            })
        })
        .collect();
    let mut all = Vec::new();
    let mut refused = 0;
    for w in workers {
        let (o, r) = w.await.expect("worker");
        all.extend(o);
        refused += r;
    }
    let wall = t0.elapsed();
    let cpu = cpu_time().saturating_sub(cpu0);
    let page = reqwest::get(server.http_url("/metrics"))
        .await
        .expect("metrics")
        .text()
        .await
        .expect("text");
    let peak = metric(&page, "hotline_outbound_calls_peak").expect("peak gauge");
    let no_rating = all
        .iter()
        .filter(|o| matches!(o, SurveyCallOutcome::NoRating { .. }))
        .count();
    println!(
        "surveys {} in {:.1} s: {:.1} calls placed/s; outcomes: {} answered (no rating), {} other; \
         {} attempts refused by a limit and retried; server CPU {:.1} s ({:.1} % of one core, {:.2} ms per call); \
         peak concurrent outbound calls {}",
        all.len(),
        wall.as_secs_f64(),
        all.len() as f64 / wall.as_secs_f64(),
        no_rating,
        all.len() - no_rating,
        refused,
        cpu.as_secs_f64(),
        100.0 * cpu.as_secs_f64() / wall.as_secs_f64(),
        1000.0 * cpu.as_secs_f64() / all.len().max(1) as f64,
        peak,
    );
    let _ = sipp_uas.kill().await;
    assert_eq!(all.len(), surveys);
    assert!(
        peak <= 50,
        "the trunk limit was exceeded: {peak} concurrent calls"
    );
    assert_eq!(
        no_rating,
        surveys,
        "every call answered: {:?}",
        &all[..all.len().min(5)]
    );
}
