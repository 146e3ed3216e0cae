//! Calls end to end over real loopback sockets: a trunk UA calls the hotline, an
//! agent's phone (registered with digest) is rung and answers, both send G.711
//! tones through the server's RTP relay, someone hangs up, and the call detail
//! record and the recording are checked through the HTTP API. Also CANCEL, a
//! busy or missing agent, refused INVITEs, stray and broken RTP, and the media
//! timeout.
//!
//! Every wait has a guard of several seconds against a hang; nothing here
//! measures speed. Each test runs its own server with its own RTP port range,
//! so the tests can run in parallel.

#[path = "common/call.rs"]
mod call_setup;
mod common;
#[path = "common/ua.rs"]
mod ua;

use std::io::Cursor;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use call_setup::{
    agent_phone, connect, invite_until_agent_rung, local, ok_to, rtp_socket, trunk_offer, CALLER,
    HOTLINE, TRUNK_IP,
};
use common::TestServer;
use hotline_config::Config;
use serde_json::Value;
use sha2::{Digest, Sha256};
use ua::{
    crossing_span, decode, listen, power, rtp_packet, sdp, talk, zero_crossing_hz, SipUa, Talk,
    TrunkCall,
};

const TRUNK_TONE: f64 = 440.0;
const AGENT_TONE: f64 = 1000.0;
/// Hang guard for a CDR to be written after the hang-up.
const CDR_POLLS: u32 = 100;

/// A server with its own RTP port block in 24000-25999, this file's range.
async fn server(tweak: impl FnOnce(&mut Config)) -> (TestServer, call_setup::RtpBlock) {
    call_setup::server_in((24_000, 26_000), tweak).await
}

// ----- the HTTP side ------------------------------------------------------------

async fn get(server: &TestServer, token: &str, path: &str) -> reqwest::Response {
    reqwest::Client::new()
        .get(server.http_url(path))
        .bearer_auth(token)
        .send()
        .await
        .expect("HTTP request")
}

/// Polls `GET /api/calls` (as the supervisor) until a CDR is listed.
async fn wait_for_cdr(server: &TestServer) -> Value {
    let token = server.login("9001", "test-pass-9001").await;
    let mut last = Value::Null;
    for _ in 0..CDR_POLLS {
        let resp = get(server, &token, "/api/calls").await;
        assert_eq!(resp.status(), 200);
        last = resp.json().await.expect("calls JSON");
        if let Some(cdr) = last["recent"].as_array().and_then(|r| r.first()) {
            return cdr.clone();
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("no CDR in GET /api/calls after {CDR_POLLS} polls: {last}");
}

/// One `name value` line of the Prometheus page, if the series exists.
fn metric(page: &str, name: &str) -> Option<u64> {
    page.lines()
        .find(|l| l.starts_with(name) && l[name.len()..].starts_with(' '))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
}

/// The relay's drop counter on `/metrics` (malformed, unexpected source, ...).
async fn dropped_total(server: &TestServer) -> u64 {
    let page = reqwest::get(server.http_url("/metrics"))
        .await
        .expect("metrics")
        .text()
        .await
        .expect("metrics text");
    metric(&page, "hotline_rtp_packets_dropped_total")
        .unwrap_or_else(|| panic!("the relay drop counter on /metrics:\n{page}"))
}

// ----- checks on audio ------------------------------------------------------------

/// What one side received from the relay: one stream from the server's port,
/// one SSRC, consecutive sequence numbers, and the other side's tone.
fn check_stream(
    side: &str,
    got: &Talk,
    from: SocketAddr,
    sent_by_peer: u32,
    freq: f64,
    other: f64,
) {
    assert_eq!(got.garbage, 0, "{side}: non-RTP datagrams");
    let packets = &got.received;
    // Loopback loses nothing; most of the peer's packets must come through.
    assert!(
        packets.len() as u32 >= sent_by_peer * 9 / 10,
        "{side}: {} of {sent_by_peer} packets relayed",
        packets.len()
    );
    assert!(
        packets.iter().all(|p| p.from == from),
        "{side}: RTP must come from the port in the server's SDP ({from})"
    );
    let ssrc = packets[0].ssrc;
    assert!(
        packets.iter().all(|p| p.ssrc == ssrc),
        "{side}: SSRC changed within the stream"
    );
    for w in packets.windows(2) {
        assert_eq!(
            w[1].seq,
            w[0].seq.wrapping_add(1),
            "{side}: sequence numbers not continuous"
        );
        assert_eq!(
            w[1].ts,
            w[0].ts.wrapping_add(160),
            "{side}: timestamps not 20 ms apart"
        );
    }
    let samples = decode(packets);
    let hz = zero_crossing_hz(&samples);
    assert!(
        (hz - freq).abs() < freq * 0.02,
        "{side}: heard {hz:.1} Hz, expected {freq} Hz"
    );
    let (p, q) = (power(&samples, freq), power(&samples, other));
    assert!(
        p > 100.0 * q,
        "{side}: {freq} Hz power {p} vs {other} Hz {q}"
    );
}

/// Tone level (RMS) of the 20 ms blocks of a recording channel that carry the
/// sent tone (amplitude 8000, RMS ≈ 5657). The blocks before the first packet
/// and after the last are silent, and so is any stretch where a sender stalled
/// for more than a second (the recorder re-anchors on the wall clock, as it
/// should): those blocks are left out.
const VOICED_RMS: f64 = 5000.0;

/// The runs of consecutive 20 ms blocks of `channel` that carry a tone.
fn voiced_runs(channel: &[i16]) -> Vec<&[i16]> {
    let voiced = |b: &[i16]| {
        let energy: f64 = b.iter().map(|&x| f64::from(x) * f64::from(x)).sum();
        (energy / b.len() as f64).sqrt() > VOICED_RMS
    };
    let mut runs = Vec::new();
    let mut start = None;
    let blocks = channel.len() / 160;
    for i in 0..=blocks {
        let on = i < blocks && voiced(&channel[i * 160..(i + 1) * 160]);
        match (on, start) {
            (true, None) => start = Some(i),
            (false, Some(s)) => {
                runs.push(&channel[s * 160..i * 160]);
                start = None;
            }
            _ => {}
        }
    }
    runs
}

/// The tone's frequency over several runs (see `ua::zero_crossing_hz`).
fn runs_hz(runs: &[&[i16]]) -> f64 {
    let (n, span) = runs
        .iter()
        .map(|r| crossing_span(r))
        .fold((0, 0), |(n, s), (n1, s1)| (n + n1, s + s1));
    f64::from(n) / 2.0 / (span as f64 / 8000.0)
}

// ----- 1. basic call ----------------------------------------------------------------

#[tokio::test]
async fn basic_call_relays_both_tones_and_leaves_a_cdr_and_a_stereo_recording() {
    let (server, ports) = server(|_| {}).await;
    let mut c = connect(&server, ports.range).await;
    let extra = c.agent.drain(Duration::ZERO).await;
    assert!(
        extra.is_empty(),
        "nothing else for the agent yet: {extra:?}"
    );

    // ~2.5 s of audio each way.
    const PACKETS: u32 = 125;
    let tail = Duration::from_millis(300);
    let (trunk_heard, agent_heard) = tokio::join!(
        talk(
            c.trunk_rtp.clone(),
            c.server_caller_rtp,
            c.trunk_pt,
            TRUNK_TONE,
            0x1111_1111,
            PACKETS,
            tail
        ),
        talk(
            c.agent_rtp.clone(),
            c.server_agent_rtp,
            c.agent_pt,
            AGENT_TONE,
            0x2222_2222,
            PACKETS,
            tail
        ),
    );
    check_stream(
        "trunk",
        &trunk_heard,
        c.server_caller_rtp,
        PACKETS,
        AGENT_TONE,
        TRUNK_TONE,
    );
    check_stream(
        "agent",
        &agent_heard,
        c.server_agent_rtp,
        PACKETS,
        TRUNK_TONE,
        AGENT_TONE,
    );
    assert_ne!(
        trunk_heard.received[0].ssrc, 0x2222_2222,
        "the relay uses its own SSRC"
    );

    // The trunk hangs up.
    let bye = c.call.in_dialog(&mut c.trunk, "BYE");
    let bye_at = Instant::now();
    c.trunk.send(&bye).await;
    c.trunk.response("BYE", 200).await;
    let agent_bye = c.agent.request("BYE").await;
    assert_eq!(agent_bye.call_id(), c.agent_dialog.invite.call_id());
    assert_eq!(agent_bye.request_uri(), c.agent.contact("1001"));
    ok_to(&mut c.agent, &agent_bye).await;
    let talk_time = bye_at - c.answered_at;

    // The call detail record.
    let cdr = wait_for_cdr(&server).await;
    assert_eq!(cdr["reason"], "normal", "{cdr}");
    assert_eq!(cdr["hangup_by"], "caller", "{cdr}");
    assert_eq!(cdr["agent"], "1001", "{cdr}");
    assert_eq!(cdr["caller_number"], CALLER, "{cdr}");
    assert_eq!(cdr["did"], HOTLINE, "{cdr}");
    assert!(cdr["answered_at"].is_string(), "{cdr}");
    let rec_id = cdr["recording_id"]
        .as_str()
        .unwrap_or_else(|| panic!("recording_id set: {cdr}"))
        .to_owned();

    // The recording: listed for the supervisor, not for an agent.
    let sup = server.login("9001", "test-pass-9001").await;
    let list: Value = get(&server, &sup, "/api/recordings")
        .await
        .json()
        .await
        .expect("recordings JSON");
    let row = list
        .as_array()
        .and_then(|a| a.iter().find(|r| r["id"] == rec_id.as_str()))
        .unwrap_or_else(|| panic!("recording {rec_id} listed: {list}"))
        .clone();
    assert_eq!(row["url"], format!("/api/recordings/{rec_id}"), "{row}");
    let agent_token = server.login("1001", "test-pass-1001").await;
    assert_eq!(
        get(&server, &agent_token, "/api/recordings").await.status(),
        403
    );
    assert_eq!(
        get(&server, &agent_token, &format!("/api/recordings/{rec_id}"))
            .await
            .status(),
        403
    );

    let resp = get(&server, &sup, &format!("/api/recordings/{rec_id}")).await;
    assert_eq!(resp.status(), 200);
    assert_eq!(
        resp.headers()["content-type"].to_str().expect("ascii"),
        "audio/wav"
    );
    let wav = resp.bytes().await.expect("WAV bytes");
    assert_eq!(
        hex::encode(Sha256::digest(&wav)),
        row["sha256"].as_str().expect("sha256"),
        "the listed SHA-256 is the file's"
    );

    let reader = hound::WavReader::new(Cursor::new(wav.to_vec())).expect("a WAV file");
    let spec = reader.spec();
    assert_eq!(
        (spec.channels, spec.sample_rate, spec.bits_per_sample),
        (2, 8000, 16),
        "{spec:?}"
    );
    assert_eq!(spec.sample_format, hound::SampleFormat::Int);
    let samples: Vec<i16> = reader
        .into_samples::<i16>()
        .collect::<Result<_, _>>()
        .expect("samples");
    let left: Vec<i16> = samples.iter().step_by(2).copied().collect();
    let right: Vec<i16> = samples.iter().skip(1).step_by(2).copied().collect();
    let wav_secs = left.len() as f64 / 8000.0;
    let expected = talk_time.as_secs_f64();
    // The recording's clock starts when the relay task takes the Connect that
    // follows the agent's 200 and stops when it takes the Close that follows
    // the BYE; the test's clock brackets those by a loopback hop and a task
    // wake-up each. On an idle machine they agree within a few ms, well inside
    // 2 % (≈55 ms here). On a CPU-starved one (several times more runnable
    // threads than cores) the wake-ups can lag by tens of ms, and a channel
    // whose first packet is read late is placed late on the recording's
    // timeline (up to the 1 s re-anchoring bound) and can run past the end:
    // this check then fails, and reports the numbers.
    assert!(
        (wav_secs - expected).abs() <= expected * 0.02,
        "recording lasts {wav_secs:.3} s, the call was answered for {expected:.3} s"
    );
    let listed_ms = row["duration_ms"].as_i64().expect("duration_ms");
    assert!(
        (listed_ms as f64 - wav_secs * 1000.0).abs() <= 20.0,
        "listed duration {listed_ms} ms vs {wav_secs:.3} s in the file"
    );

    // Left = caller (440 Hz), right = agent (1000 Hz).
    for (name, ch, freq, other) in [
        ("left", &left, TRUNK_TONE, AGENT_TONE),
        ("right", &right, AGENT_TONE, TRUNK_TONE),
    ] {
        let runs = voiced_runs(ch);
        let voiced: usize = runs.iter().map(|r| r.len() / 160).sum();
        // 125 packets were sent each way; loopback loses none of them.
        assert!(
            voiced >= 100,
            "{name} channel: only {voiced} of 125 tone blocks recorded"
        );
        let hz = runs_hz(&runs);
        assert!(
            (hz - freq).abs() < freq * 0.02,
            "{name} channel: {hz:.1} Hz, expected {freq} Hz"
        );
        let all: Vec<i16> = runs.concat();
        let (p, q) = (power(&all, freq), power(&all, other));
        assert!(
            p > 100.0 * q,
            "{name} channel: {freq} Hz {p} vs {other} Hz {q}"
        );
    }

    // A range request for the header.
    let resp = reqwest::Client::new()
        .get(server.http_url(&format!("/api/recordings/{rec_id}")))
        .bearer_auth(&sup)
        .header("Range", "bytes=0-43")
        .send()
        .await
        .expect("range request");
    assert_eq!(resp.status(), 206);
    let head = resp.bytes().await.expect("range bytes");
    assert_eq!(head.len(), 44);
    assert_eq!(&head[..], &wav[..44]);
    assert_eq!(&head[..4], b"RIFF");
    assert_eq!(&head[8..12], b"WAVE");

    // A play link (what the wallboard's <audio> element streams from): no
    // bearer token, ranges work, for this recording only; agents get none.
    let http = reqwest::Client::new();
    let link: Value = http
        .post(server.http_url(&format!("/api/recordings/{rec_id}/play")))
        .bearer_auth(&sup)
        .send()
        .await
        .expect("play link")
        .json()
        .await
        .expect("play link JSON");
    let url = link["url"].as_str().expect("url").to_owned();
    assert!(
        url.starts_with(&format!("/api/recordings/{rec_id}/stream?ticket=")),
        "{link}"
    );
    let resp = http
        .get(server.http_url(&url))
        .header("Range", "bytes=44-1043")
        .send()
        .await
        .expect("streamed range");
    assert_eq!(resp.status(), 206);
    assert_eq!(&resp.bytes().await.expect("bytes")[..], &wav[44..1044]);
    let ticket = url.rsplit('=').next().expect("ticket");
    for (path, why) in [
        (format!("/api/recordings/{rec_id}/stream"), "no ticket"),
        (
            format!("/api/recordings/{rec_id}/stream?ticket=00{ticket}"),
            "a wrong ticket",
        ),
        (
            format!("/api/recordings/other{rec_id}/stream?ticket={ticket}"),
            "another recording",
        ),
    ] {
        let status = http
            .get(server.http_url(&path))
            .send()
            .await
            .expect("stream")
            .status();
        assert_eq!(status, 401, "{why}");
    }
    let agent_token = server.login("1001", "test-pass-1001").await;
    let status = http
        .post(server.http_url(&format!("/api/recordings/{rec_id}/play")))
        .bearer_auth(&agent_token)
        .send()
        .await
        .expect("agent's play link")
        .status();
    assert_eq!(status, 403);
    server.stop().await;
}

// ----- 2. CANCEL before answer ----------------------------------------------------

#[tokio::test]
async fn cancel_while_ringing_gives_487_to_both_sides_and_a_cancelled_cdr() {
    let (server, ports) = server(|_| {}).await;
    let mut agent = agent_phone(&server).await;
    let mut trunk = SipUa::bind("trunk", TRUNK_IP, server.sip).await;
    let trunk_rtp = rtp_socket(TRUNK_IP).await;
    let (call, inv) = invite_until_agent_rung(
        &server,
        ports.range,
        &mut trunk,
        &mut agent,
        local(&trunk_rtp),
    )
    .await;
    let agent_tag = agent.fresh("at");
    agent
        .send(&inv.response(180, "Ringing", &agent_tag, "", ""))
        .await;
    trunk.response("INVITE", 180).await;

    trunk.send(&call.cancel(&trunk)).await;
    let ok = trunk.response("CANCEL", 200).await;
    assert_eq!(ok.call_id(), call.call_id);
    let terminated = trunk.final_response("INVITE").await;
    assert_eq!(terminated.status(), Some(487), "{}", terminated.raw);
    trunk.send(&call.ack_failure(&trunk, &terminated)).await;

    // The agent's phone is CANCELled (§9.1) and answers like a phone does.
    let cancel = agent.request("CANCEL").await;
    assert_eq!(cancel.call_id(), inv.call_id());
    assert_eq!(
        cancel.branch(),
        inv.branch(),
        "CANCEL matches the INVITE's branch"
    );
    assert_eq!(cancel.cseq_number(), inv.cseq_number());
    ok_to(&mut agent, &cancel).await;
    agent
        .send(&inv.response(487, "Request Terminated", &agent_tag, "", ""))
        .await;
    let ack = agent.request("ACK").await;
    assert_eq!(
        ack.branch(),
        inv.branch(),
        "the ACK of a 487 has the INVITE's branch"
    );

    let cdr = wait_for_cdr(&server).await;
    assert_eq!(cdr["reason"], "cancelled", "{cdr}");
    assert_eq!(cdr["hangup_by"], "caller", "{cdr}");
    assert!(cdr["answered_at"].is_null(), "{cdr}");
    assert!(cdr["recording_id"].is_null(), "{cdr}");
    server.stop().await;
}

// ----- 3. BYE from the agent ---------------------------------------------------------

#[tokio::test]
async fn bye_from_the_agent_reaches_the_trunk_and_the_cdr_says_agent() {
    let (server, ports) = server(|_| {}).await;
    let mut c = connect(&server, ports.range).await;
    // A little audio so the call is a real one.
    let (_, _) = tokio::join!(
        talk(
            c.trunk_rtp.clone(),
            c.server_caller_rtp,
            c.trunk_pt,
            TRUNK_TONE,
            7,
            10,
            Duration::from_millis(100)
        ),
        talk(
            c.agent_rtp.clone(),
            c.server_agent_rtp,
            c.agent_pt,
            AGENT_TONE,
            8,
            10,
            Duration::from_millis(100)
        ),
    );
    let bye = c.agent_dialog.bye(&mut c.agent);
    c.agent.send(&bye).await;
    c.agent.response("BYE", 200).await;
    let trunk_bye = c.trunk.request("BYE").await;
    assert_eq!(trunk_bye.call_id(), c.call.call_id);
    assert_eq!(
        trunk_bye.to_tag().as_deref(),
        Some(c.call.from_tag.as_str()),
        "the server's BYE is in the trunk's dialog: {}",
        trunk_bye.raw
    );
    assert_eq!(trunk_bye.tag_in_from(), c.call.to_tag, "{}", trunk_bye.raw);
    ok_to(&mut c.trunk, &trunk_bye).await;

    let cdr = wait_for_cdr(&server).await;
    assert_eq!(cdr["hangup_by"], "agent", "{cdr}");
    assert_eq!(cdr["reason"], "normal", "{cdr}");
    assert_eq!(cdr["agent"], "1001", "{cdr}");
    server.stop().await;
}

// ----- 4. no agent, busy agent ---------------------------------------------------------

#[tokio::test]
async fn no_registered_agent_gives_480() {
    let (server, _ports) = server(|_| {}).await;
    let mut trunk = SipUa::bind("trunk", TRUNK_IP, server.sip).await;
    let rtp = rtp_socket(TRUNK_IP).await;
    let call = TrunkCall::new(&mut trunk, CALLER, HOTLINE);
    trunk
        .send(&call.invite(&trunk, "application/sdp", &trunk_offer(local(&rtp))))
        .await;
    let resp = trunk.final_response("INVITE").await;
    assert_eq!(resp.status(), Some(480), "{}", resp.raw);
    trunk.send(&call.ack_failure(&trunk, &resp)).await;
    let cdr = wait_for_cdr(&server).await;
    assert_eq!(cdr["reason"], "no_agent", "{cdr}");
    server.stop().await;
}

#[tokio::test]
async fn a_busy_agent_gives_486_to_the_trunk() {
    let (server, ports) = server(|_| {}).await;
    let mut agent = agent_phone(&server).await;
    let mut trunk = SipUa::bind("trunk", TRUNK_IP, server.sip).await;
    let rtp = rtp_socket(TRUNK_IP).await;
    let (call, inv) =
        invite_until_agent_rung(&server, ports.range, &mut trunk, &mut agent, local(&rtp)).await;
    let tag = agent.fresh("busy");
    agent
        .send(&inv.response(486, "Busy Here", &tag, "", ""))
        .await;
    let ack = agent.request("ACK").await;
    assert_eq!(ack.branch(), inv.branch(), "{}", ack.raw);
    let resp = trunk.final_response("INVITE").await;
    trunk.send(&call.ack_failure(&trunk, &resp)).await;
    let cdr = wait_for_cdr(&server).await;
    assert_eq!(
        resp.status(),
        Some(486),
        "{}\nCDR: {cdr}\n{}\n{}",
        resp.raw,
        trunk.trace(),
        agent.trace()
    );
    assert_eq!(cdr["reason"], "busy", "{cdr}");
    assert_eq!(cdr["hangup_by"], "system", "{cdr}");
    server.stop().await;
}

// ----- 5. bad input --------------------------------------------------------------------

#[tokio::test]
async fn bad_invites_are_refused_with_the_right_status_and_never_ring_an_agent() {
    let (server, _ports) = server(|_| {}).await;
    let mut agent = agent_phone(&server).await;
    let mut trunk = SipUa::bind("trunk", TRUNK_IP, server.sip).await;
    let rtp_sock = rtp_socket(TRUNK_IP).await;
    let rtp = local(&rtp_sock);

    let cases: [(&str, String, &str, u16); 3] = [
        (
            "malformed SDP",
            "v=0\r\nthis is not SDP at all\r\nm=audio x\r\n".to_owned(),
            HOTLINE,
            400,
        ),
        ("G.729 only", sdp(rtp, &[(18, "G729")], None), HOTLINE, 488),
        ("unknown number", trunk_offer(rtp), "99999", 404),
    ];
    for (what, body, dialed, expected) in cases {
        let call = TrunkCall::new(&mut trunk, CALLER, dialed);
        trunk
            .send(&call.invite(&trunk, "application/sdp", &body))
            .await;
        let resp = trunk.final_response("INVITE").await;
        assert_eq!(resp.status(), Some(expected), "{what}:\n{}", resp.raw);
        trunk.send(&call.ack_failure(&trunk, &resp)).await;
    }

    // From an address that is not a trusted trunk.
    let mut stranger = SipUa::bind("untrusted", "127.0.0.2".parse().expect("ip"), server.sip).await;
    let call = TrunkCall::new(&mut stranger, CALLER, HOTLINE);
    stranger
        .send(&call.invite(&stranger, "application/sdp", &trunk_offer(rtp)))
        .await;
    let resp = stranger.final_response("INVITE").await;
    assert_eq!(resp.status(), Some(403), "{}", resp.raw);
    assert!(
        resp.headers("WWW-Authenticate").is_empty(),
        "no challenge for a trunk call from an untrusted address"
    );
    stranger.send(&call.ack_failure(&stranger, &resp)).await;

    let rung = agent.drain(Duration::from_millis(500)).await;
    assert!(
        rung.iter().all(|m| m.method() != Some("INVITE")),
        "a refused INVITE rang the agent: {rung:?}"
    );
    server.stop().await;
}

#[tokio::test]
async fn rtp_from_a_stranger_before_latching_and_truncated_rtp_are_not_relayed() {
    let (server, ports) = server(|_| {}).await;
    let mut c = connect(&server, ports.range).await;
    let dropped_before = dropped_total(&server).await;

    // A third party sprays RTP at the caller leg's port before the trunk has
    // sent anything (so before the leg latched).
    let stranger = rtp_socket("127.0.0.3".parse().expect("ip")).await;
    const SPRAY: u32 = 25;
    for i in 0..SPRAY {
        let p = rtp_packet(0, i == 0, i as u16, i * 160, 0xbad0_bad0, &[0x55; 160]);
        stranger
            .send_to(&p, c.server_caller_rtp)
            .await
            .expect("spray");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    // A truncated RTP packet from the trunk itself.
    c.trunk_rtp
        .send_to(
            &[0x80, 0x00, 0x12, 0x34, 0x00, 0x00, 0x01],
            c.server_caller_rtp,
        )
        .await
        .expect("truncated");
    let leaked = listen(&c.agent_rtp, Duration::from_millis(700)).await;
    assert!(
        leaked.is_empty(),
        "the agent received {} datagram(s) it should not have",
        leaked.len()
    );

    // The real stream still gets through, and the stranger gets nothing back.
    const PACKETS: u32 = 25;
    let (trunk_heard, agent_heard) = tokio::join!(
        talk(
            c.trunk_rtp.clone(),
            c.server_caller_rtp,
            c.trunk_pt,
            TRUNK_TONE,
            0x3333_3333,
            PACKETS,
            Duration::from_millis(300)
        ),
        talk(
            c.agent_rtp.clone(),
            c.server_agent_rtp,
            c.agent_pt,
            AGENT_TONE,
            0x4444_4444,
            PACKETS,
            Duration::from_millis(300)
        ),
    );
    check_stream(
        "agent",
        &agent_heard,
        c.server_agent_rtp,
        PACKETS,
        TRUNK_TONE,
        AGENT_TONE,
    );
    check_stream(
        "trunk",
        &trunk_heard,
        c.server_caller_rtp,
        PACKETS,
        AGENT_TONE,
        TRUNK_TONE,
    );
    let back = listen(&stranger, Duration::from_millis(200)).await;
    assert!(back.is_empty(), "the stranger got {} packets", back.len());

    let bye = c.call.in_dialog(&mut c.trunk, "BYE");
    c.trunk.send(&bye).await;
    c.trunk.response("BYE", 200).await;
    let agent_bye = c.agent.request("BYE").await;
    ok_to(&mut c.agent, &agent_bye).await;
    wait_for_cdr(&server).await;

    // The drops are counted: the relay publishes its counters once a second
    // and when the call's media closes.
    let expected = dropped_before + u64::from(SPRAY) + 1;
    let mut now = dropped_before;
    for _ in 0..50 {
        now = dropped_total(&server).await;
        if now >= expected {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        now >= expected,
        "hotline_rtp_packets_dropped_total went from {dropped_before} to {now}; \
         expected {SPRAY} from the stranger and 1 truncated packet"
    );
    server.stop().await;
}

// ----- 6. media timeout --------------------------------------------------------------

#[tokio::test]
async fn silent_media_hangs_up_both_legs_with_reason_media_timeout() {
    let (server, ports) = server(|c| c.sip.media_timeout_s = 2).await;
    let mut c = connect(&server, ports.range).await;
    // Nobody sends RTP.
    let trunk_bye = c.trunk.request("BYE").await;
    let elapsed = trunk_bye.at - c.answered_at;
    assert!(
        elapsed >= Duration::from_millis(1900),
        "hung up after {elapsed:?}, before the 2 s media timeout"
    );
    assert_eq!(trunk_bye.call_id(), c.call.call_id);
    ok_to(&mut c.trunk, &trunk_bye).await;
    let agent_bye = c.agent.request("BYE").await;
    assert_eq!(agent_bye.call_id(), c.agent_dialog.invite.call_id());
    ok_to(&mut c.agent, &agent_bye).await;

    let cdr = wait_for_cdr(&server).await;
    assert_eq!(cdr["reason"], "media_timeout", "{cdr}");
    assert_eq!(cdr["hangup_by"], "system", "{cdr}");
    server.stop().await;
}
