//! The RTP relay over real loopback UDP: two fake phones exchange tones through a
//! [`MediaEngine`] call, with a stranger, a broken packet, DTMF, a silent leg, and
//! the recording checked at the end.

use std::net::{Ipv4Addr, SocketAddr, UdpSocket as StdUdpSocket};
use std::time::Duration;

use hotline::media::{CallReport, EngineSettings, MediaEngine, MediaEvent};
use hotline_recordings::{Recorder, RecorderConfig};
use hotline_sip::media::{g711, parse_rtp, Encoding, LatchConfig, Leg, LegSetup, MediaConfig};
use tokio::net::UdpSocket;
use tokio::sync::{mpsc, watch};
use tokio::time::{sleep, timeout};

const LOOPBACK: Ipv4Addr = Ipv4Addr::LOCALHOST;

fn engine(
    media_timeout: Duration,
) -> (
    MediaEngine<u32>,
    mpsc::Receiver<MediaEvent<u32>>,
    watch::Sender<bool>,
) {
    let (tx, rx) = mpsc::channel(64);
    let (stop_tx, stop_rx) = watch::channel(false);
    let settings = EngineSettings {
        bind_ip: LOOPBACK.into(),
        media: MediaConfig {
            timeout: media_timeout,
            latch: LatchConfig::default(),
        },
    };
    (MediaEngine::new(settings, tx, stop_rx), rx, stop_tx)
}

/// 20 ms of a `freq` Hz tone (amplitude 8000) as µ-law, starting at sample `n0`.
fn tone(freq: f64, n0: u32) -> Vec<u8> {
    (0..160u32)
        .map(|i| {
            let t = f64::from(n0 + i) / 8000.0;
            let s = (8000.0 * (2.0 * std::f64::consts::PI * freq * t).sin()) as i16;
            g711::ulaw_encode(s)
        })
        .collect()
}

fn rtp(pt: u8, marker: bool, seq: u16, ts: u32, ssrc: u32, payload: &[u8]) -> Vec<u8> {
    let mut p = vec![0x80, pt | if marker { 0x80 } else { 0 }];
    p.extend_from_slice(&seq.to_be_bytes());
    p.extend_from_slice(&ts.to_be_bytes());
    p.extend_from_slice(&ssrc.to_be_bytes());
    p.extend_from_slice(payload);
    p
}

async fn phone() -> (UdpSocket, SocketAddr) {
    let s = UdpSocket::bind((LOOPBACK, 0)).await.expect("bind phone");
    let a = s.local_addr().expect("addr");
    (s, a)
}

/// Every datagram waiting on `s` (waits up to 300 ms for the first, then 100 ms
/// for each next one).
async fn received(s: &UdpSocket) -> Vec<Vec<u8>> {
    let mut all = Vec::new();
    let mut buf = [0u8; 2048];
    let mut wait = Duration::from_millis(300);
    while let Ok(Ok(n)) = timeout(wait, s.recv(&mut buf)).await {
        all.push(buf[..n].to_vec());
        wait = Duration::from_millis(100);
    }
    all
}

/// Power of `freq` in `samples` (Goertzel), normalised by length.
fn power(samples: &[i16], freq: f64) -> f64 {
    let w = 2.0 * std::f64::consts::PI * freq / 8000.0;
    let c = 2.0 * w.cos();
    let (mut s1, mut s2) = (0.0f64, 0.0f64);
    for &x in samples {
        let s0 = f64::from(x) + c * s1 - s2;
        s2 = s1;
        s1 = s0;
    }
    (s1 * s1 + s2 * s2 - c * s1 * s2) / samples.len() as f64
}

fn assert_one_continuous_stream(packets: &[Vec<u8>], expect_pt: u8, source_ssrcs: &[u32]) {
    assert!(!packets.is_empty());
    let first = parse_rtp(&packets[0]).expect("relay sends valid RTP");
    let ssrc = first.ssrc();
    assert!(!source_ssrcs.contains(&ssrc), "SSRC is rewritten to ours");
    let mut seq = u16::from(first.sequence_number());
    for p in &packets[1..] {
        let r = parse_rtp(p).expect("valid");
        assert_eq!(r.ssrc(), ssrc, "one SSRC");
        assert_eq!(r.payload_type(), expect_pt);
        seq = seq.wrapping_add(1);
        assert_eq!(u16::from(r.sequence_number()), seq, "continuous sequence");
    }
}

async fn closed(engine: &mut MediaEngine<u32>, call: u32) -> CallReport {
    let handle = engine.close(&call).expect("call known");
    timeout(Duration::from_secs(10), handle)
        .await
        .expect("task ends")
        .expect("task did not panic")
}

#[tokio::test]
async fn tones_cross_the_relay_rewritten_and_are_recorded_in_stereo() {
    let (mut engine, _events, _stop) = engine(Duration::from_secs(60));
    let call = 1;
    let caller_port = engine.open(call, Leg::Caller, 0).expect("open caller");
    let agent_port = engine.open(call, Leg::Agent, 0).expect("open agent");
    assert_eq!(caller_port.port() % 2, 0, "RTP on an even port");

    let (caller, caller_addr) = phone().await;
    let (agent, agent_addr) = phone().await;
    engine
        .connect(
            &call,
            LegSetup::new(Some(caller_addr), Encoding::Pcmu, Some(101)),
            LegSetup::new(Some(agent_addr), Encoding::Pcmu, Some(101)),
        )
        .expect("connect");
    let dir = tempfile::tempdir().expect("tempdir");
    let wav = dir.path().join("call.wav");
    let (recorder, _writer) = Recorder::start(&wav, "1", RecorderConfig::default())
        .await
        .expect("recorder");
    engine.record(&call, recorder).expect("record");

    // A stranger on another loopback IP speaks first: not latched, ignored.
    let stranger = UdpSocket::bind((Ipv4Addr::new(127, 0, 0, 2), 0))
        .await
        .expect("bind");
    stranger
        .send_to(&rtp(0, false, 1, 0, 0x5757, &tone(300.0, 0)), caller_port)
        .await
        .expect("send");
    // A truncated packet from the caller (CSRC count 3, no CSRCs): dropped.
    let mut broken = rtp(0, false, 1, 0, 0xca11, &[]);
    broken[0] = 0x83;
    caller.send_to(&broken, caller_port).await.expect("send");

    // 1 s of audio each way, 20 ms packets. Half-way the caller's side changes
    // SSRC and numbering (a re-INVITE on the trunk).
    for i in 0..50u32 {
        let (ssrc, seq, ts) = if i < 25 {
            (0xca11, 1000 + i as u16, 160 * i)
        } else {
            (0xca12, 40_000 + i as u16, 900_000 + 160 * i)
        };
        caller
            .send_to(
                &rtp(0, i == 0, seq, ts, ssrc, &tone(440.0, 160 * i)),
                caller_port,
            )
            .await
            .expect("send");
        agent
            .send_to(
                &rtp(
                    0,
                    i == 0,
                    7 + i as u16,
                    3000 + 160 * i,
                    0xa9e7,
                    &tone(1000.0, 160 * i),
                ),
                agent_port,
            )
            .await
            .expect("send");
        sleep(Duration::from_millis(20)).await;
    }

    let at_agent = received(&agent).await;
    let at_caller = received(&caller).await;
    // The stranger's packet never reached anyone; the caller's first packets may
    // arrive before the agent has latched (its SDP address is exact, so no loss).
    assert_eq!(at_agent.len(), 50, "every caller packet reached the agent");
    assert_eq!(at_caller.len(), 50, "every agent packet reached the caller");
    assert_one_continuous_stream(&at_agent, 0, &[0xca11, 0xca12]);
    assert_one_continuous_stream(&at_caller, 0, &[0xa9e7]);
    for (i, p) in at_agent.iter().enumerate() {
        let r = parse_rtp(p).expect("valid");
        assert_eq!(
            r.payload(),
            tone(440.0, 160 * i as u32),
            "caller audio unchanged"
        );
    }
    for (i, p) in at_caller.iter().enumerate() {
        let r = parse_rtp(p).expect("valid");
        assert_eq!(
            r.payload(),
            tone(1000.0, 160 * i as u32),
            "agent audio unchanged"
        );
    }

    let report = closed(&mut engine, call).await;
    let (c, a) = (report.stats.caller, report.stats.agent);
    assert_eq!((c.rtp_in, a.rtp_out), (50, 50));
    assert_eq!((a.rtp_in, c.rtp_out), (50, 50));
    assert_eq!(c.unexpected_source, 1, "the stranger");
    assert_eq!(c.malformed, 1, "the truncated packet");
    assert_eq!(report.send_errors, 0);
    assert_eq!(report.recorder_dropped_frames, 0);

    // Ports are free again.
    for port in [
        caller_port.port(),
        caller_port.port() + 1,
        agent_port.port(),
        agent_port.port() + 1,
    ] {
        StdUdpSocket::bind((LOOPBACK, port)).expect("port released on close");
    }

    // The recording: caller 440 Hz on the left, agent 1000 Hz on the right.
    let summary = report
        .recording
        .expect("recorded")
        .expect("recording finished");
    assert_eq!(summary.info.path, wav);
    let mut reader = hound::WavReader::open(&wav).expect("valid WAV");
    let spec = reader.spec();
    assert_eq!(
        (spec.channels, spec.sample_rate, spec.bits_per_sample),
        (2, 8000, 16)
    );
    let samples: Vec<i16> = reader
        .samples::<i16>()
        .map(|s| s.expect("sample"))
        .collect();
    let left: Vec<i16> = samples.iter().step_by(2).copied().collect();
    let right: Vec<i16> = samples.iter().skip(1).step_by(2).copied().collect();
    assert!(
        left.len() >= 7000,
        "about a second of audio, got {}",
        left.len()
    );
    let loud = |ch: &[i16]| ch.iter().filter(|s| s.unsigned_abs() > 4000).count();
    assert!(
        loud(&left) > 2000 && loud(&right) > 2000,
        "both channels carry audio"
    );
    assert!(
        power(&left, 440.0) > 20.0 * power(&left, 1000.0),
        "left is the caller's 440 Hz"
    );
    assert!(
        power(&right, 1000.0) > 20.0 * power(&right, 440.0),
        "right is the agent's 1000 Hz"
    );
}

#[tokio::test]
async fn dtmf_is_reported_once_and_relayed_with_the_other_legs_payload_type() {
    let (mut engine, mut events, _stop) = engine(Duration::from_secs(60));
    let call = 2;
    let caller_port = engine.open(call, Leg::Caller, 0).expect("open");
    let agent_port = engine.open(call, Leg::Agent, 0).expect("open");
    let (caller, caller_addr) = phone().await;
    let (agent, agent_addr) = phone().await;
    engine
        .connect(
            &call,
            LegSetup::new(Some(caller_addr), Encoding::Pcmu, Some(101)),
            LegSetup::new(Some(agent_addr), Encoding::Pcmu, Some(96)),
        )
        .expect("connect");
    // The agent speaks once so it is latched.
    agent
        .send_to(&rtp(0, false, 1, 0, 9, &tone(1000.0, 0)), agent_port)
        .await
        .expect("send");
    // Key 7: start, two updates, three end packets (RFC 4733 §2.5.1.4).
    let ts = 16_000;
    let mut digit = vec![rtp(101, true, 10, ts, 5, &[7, 10, 0, 160])];
    for (s, d) in [(11u16, 320u16), (12, 480)] {
        let [d0, d1] = d.to_be_bytes();
        digit.push(rtp(101, false, s, ts, 5, &[7, 10, d0, d1]));
    }
    for s in 13..16u16 {
        digit.push(rtp(101, false, s, ts, 5, &[7, 0x80 | 10, 3, 32]));
    }
    for p in &digit {
        caller.send_to(p, caller_port).await.expect("send");
        sleep(Duration::from_millis(10)).await;
    }
    let ev = timeout(Duration::from_secs(2), events.recv())
        .await
        .expect("an event")
        .expect("channel open");
    assert_eq!(
        ev,
        MediaEvent::Dtmf {
            call,
            leg: Leg::Caller,
            digit: '7'
        }
    );
    let at_agent = received(&agent).await;
    assert_eq!(at_agent.len(), 6);
    assert_one_continuous_stream(&at_agent, 96, &[5]);
    assert!(
        timeout(Duration::from_millis(200), events.recv())
            .await
            .is_err(),
        "the retransmitted end packets raise no second event"
    );
    let report = closed(&mut engine, call).await;
    assert_eq!(report.stats.caller.dtmf_digits, 1);
    assert!(report.recording.is_none());
}

#[tokio::test]
async fn a_silent_leg_times_out_and_close_releases_the_ports() {
    let (mut engine, mut events, _stop) = engine(Duration::from_millis(400));
    let call = 3;
    let caller_port = engine.open(call, Leg::Caller, 0).expect("open");
    let agent_port = engine.open(call, Leg::Agent, 0).expect("open");
    let (caller, caller_addr) = phone().await;
    let (_agent, agent_addr) = phone().await;
    engine
        .connect(
            &call,
            LegSetup::new(Some(caller_addr), Encoding::Pcmu, None),
            LegSetup::new(Some(agent_addr), Encoding::Pcmu, None),
        )
        .expect("connect");
    // The caller keeps talking for 1 s; the agent says nothing.
    for i in 0..50u32 {
        caller
            .send_to(
                &rtp(0, false, i as u16, 160 * i, 1, &tone(440.0, 0)),
                caller_port,
            )
            .await
            .expect("send");
        sleep(Duration::from_millis(20)).await;
    }
    let ev = timeout(Duration::from_secs(2), events.recv())
        .await
        .expect("an event")
        .expect("open");
    assert_eq!(
        ev,
        MediaEvent::Timeout {
            call,
            leg: Leg::Agent
        }
    );
    // Once per silence, and never for the talking caller.
    assert!(timeout(Duration::from_millis(150), events.recv())
        .await
        .is_err());

    let report = closed(&mut engine, call).await;
    assert_eq!(report.stats.caller.rtp_in, 50);
    for port in [
        caller_port.port(),
        caller_port.port() + 1,
        agent_port.port(),
        agent_port.port() + 1,
    ] {
        StdUdpSocket::bind((LOOPBACK, port)).expect("port released on close");
    }
    assert!(engine.is_empty());
    assert!(engine.close(&call).is_none());
}

#[tokio::test]
async fn shutdown_ends_the_task_and_a_taken_port_is_an_error() {
    let (mut engine, _events, stop) = engine(Duration::from_secs(60));
    let port = engine.open(4, Leg::Caller, 0).expect("open");
    // The same port again (another call): refused, nothing leaks.
    assert!(engine.open(5, Leg::Caller, port.port()).is_err());
    assert!(engine.open(4, Leg::Caller, 0).is_err(), "a leg opens once");
    assert!(
        engine.open(6, Leg::Caller, port.port() + 1).is_err(),
        "odd port"
    );
    stop.send_replace(true);
    let report = closed(&mut engine, 4).await;
    assert_eq!(report.stats.caller.rtp_in, 0);
    StdUdpSocket::bind((LOOPBACK, port.port())).expect("released after shutdown");
    assert!(engine
        .connect(
            &4,
            LegSetup::new(None, Encoding::Pcmu, None),
            LegSetup::new(None, Encoding::Pcmu, None)
        )
        .is_err());
}

#[tokio::test]
async fn the_call_machines_media_commands_drive_the_engine() {
    use hotline_sip::call::{CallId, Codec, MediaCommand};
    use hotline_sip::sdp::Direction;

    let (tx, _rx) = mpsc::channel(8);
    let (_stop_tx, stop_rx) = watch::channel(false);
    let settings = EngineSettings {
        bind_ip: LOOPBACK.into(),
        media: MediaConfig::default(),
    };
    let mut engine = MediaEngine::new(settings, tx, stop_rx);
    let call = CallId(0xfeed);
    for leg in [Leg::Caller, Leg::Agent] {
        let done = engine
            .apply(MediaCommand::Open {
                call,
                leg,
                local_rtp_port: 0,
            })
            .expect("open");
        assert!(done.is_none());
    }
    let caller_port = engine.local_addr(&call, Leg::Caller).expect("bound");
    let (caller, caller_addr) = phone().await;
    let (agent, agent_addr) = phone().await;
    engine
        .apply(MediaCommand::Connect {
            call,
            caller_remote: caller_addr,
            agent_remote: agent_addr,
            caller_codec: Codec::PCMA,
            agent_codec: Codec::PCMU,
            caller_dtmf_pt: Some(101),
            agent_dtmf_pt: Some(101),
            caller_direction: Direction::SendRecv,
            agent_direction: Direction::SendRecv,
        })
        .expect("connect");
    // A-law from the trunk arrives as µ-law at the agent.
    let alaw = vec![0xd5u8; 160];
    caller
        .send_to(&rtp(8, false, 1, 0, 3, &alaw), caller_port)
        .await
        .expect("send");
    let got = received(&agent).await;
    assert_eq!(got.len(), 1);
    let r = parse_rtp(&got[0]).expect("valid");
    assert_eq!((r.payload_type(), r.payload()), (0, &[0xfe; 160][..]));
    // The agent holds (c=0.0.0.0, inactive): nothing reaches it.
    engine
        .apply(MediaCommand::Update {
            call,
            leg: Leg::Agent,
            remote: "0.0.0.0:9".parse().expect("addr"),
            codec: Codec::PCMU,
            dtmf_pt: Some(101),
            direction: Direction::Inactive,
        })
        .expect("update");
    sleep(Duration::from_millis(50)).await;
    caller
        .send_to(&rtp(8, false, 2, 160, 3, &alaw), caller_port)
        .await
        .expect("send");
    assert!(received(&agent).await.is_empty());
    let handle = engine
        .apply(MediaCommand::Close { call })
        .expect("close")
        .expect("a handle");
    let report = timeout(Duration::from_secs(5), handle)
        .await
        .expect("ends")
        .expect("no panic");
    assert_eq!(report.stats.caller.rtp_in, 2);
    assert_eq!(report.stats.agent.rtp_out, 1);
    assert!(engine
        .apply(MediaCommand::Close { call })
        .expect("ok")
        .is_none());
}
