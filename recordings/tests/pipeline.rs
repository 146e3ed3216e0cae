//! A whole call through the public API: relay frames -> recorder thread ->
//! WAV file -> index row and call record, as the call logic will drive it.

use std::f64::consts::PI;

use hotline_recordings::g711::{linear_to_alaw, linear_to_ulaw};
use hotline_recordings::{
    reason, repair_dir, sha256_file, CallMeta, CallStore, Cdr, Channel, HangupBy, MediaFrame,
    Recorder, RecorderConfig, RecordingRow, G711, SAMPLE_RATE,
};

fn tone(freq: f64, start: u64, n: usize) -> Vec<i16> {
    (0..n)
        .map(|i| {
            let t = (start + i as u64) as f64 / f64::from(SAMPLE_RATE);
            (8000.0 * (2.0 * PI * freq * t).sin()) as i16
        })
        .collect()
}

/// Share of `x`'s energy at `freq` (Goertzel): ≈ 1 for a pure tone.
fn tone_share(x: &[i16], freq: f64) -> f64 {
    let coeff = 2.0 * (2.0 * PI * freq / f64::from(SAMPLE_RATE)).cos();
    let (mut s1, mut s2, mut energy) = (0.0f64, 0.0f64, 0.0f64);
    for &v in x {
        let v = f64::from(v);
        energy += v * v;
        let s0 = v + coeff * s1 - s2;
        s2 = s1;
        s1 = s0;
    }
    (s1 * s1 + s2 * s2 - coeff * s1 * s2) / (energy * x.len() as f64 / 2.0)
}

fn channels(path: &std::path::Path) -> (Vec<i16>, Vec<i16>) {
    let mut r = hound::WavReader::open(path).expect("opens");
    assert_eq!(r.spec().channels, 2);
    assert_eq!(r.spec().sample_rate, 8000);
    assert_eq!(r.spec().bits_per_sample, 16);
    let all: Vec<i16> = r
        .samples::<i16>()
        .collect::<Result<_, _>>()
        .expect("decodes");
    (
        all.iter().step_by(2).copied().collect(),
        all.iter().skip(1).step_by(2).copied().collect(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn g711_call_recorded_indexed_and_verified() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("recordings/call-1.wav");
    // A queue long enough for the whole call: this test is about content;
    // dropping is tested below.
    let config = RecorderConfig {
        queue_frames: 1024,
        ..RecorderConfig::default()
    };
    let (handle, join) = Recorder::start(&path, "call-1@sbc", config)
        .await
        .expect("start");

    // Caller (PCMU) speaks a 440 Hz tone from t=0; the agent leg (PCMA) is
    // bridged 0.5 s later with a 1000 Hz tone. 4 s of audio, 20 ms packets.
    let agent_offset = 4000u64;
    for k in 0..200u64 {
        let at = k * 160;
        let pcmu: Vec<u8> = tone(440.0, at, 160)
            .into_iter()
            .map(linear_to_ulaw)
            .collect();
        let f = MediaFrame::from_g711(Channel::Caller, at, G711::Ulaw, &pcmu).expect("frame");
        handle.try_send(f).expect("queue has room");
        if at >= agent_offset {
            let pcma: Vec<u8> = tone(1000.0, at, 160)
                .into_iter()
                .map(linear_to_alaw)
                .collect();
            let f = MediaFrame::from_g711(Channel::Agent, at, G711::Alaw, &pcma).expect("frame");
            handle.try_send(f).expect("queue has room");
        }
    }
    // Wall clock says the call lasted 4.2 s.
    let summary = handle.finish(33_600).await.expect("finish");
    join.await.expect("writer thread");

    assert_eq!(summary.dropped_frames, 0);
    assert_eq!(summary.info.samples, 33_600);
    assert_eq!(summary.info.duration_ms, 4200);
    assert_eq!(summary.info.size_bytes, 44 + 33_600 * 4);
    assert_eq!(summary.info.sha256_hex, sha256_file(&path).expect("hash"));
    assert_eq!(summary.mixer.silence_samples[1], agent_offset + 1600);

    let (left, right) = channels(&path);
    assert_eq!(left.len(), 33_600);
    assert!(tone_share(&left[..32_000], 440.0) > 0.9);
    assert!(tone_share(&left[..32_000], 1000.0) < 0.01);
    assert!(right[..agent_offset as usize].iter().all(|&s| s == 0));
    assert!(tone_share(&right[agent_offset as usize..32_000], 1000.0) > 0.9);
    assert!(tone_share(&right[agent_offset as usize..32_000], 440.0) < 0.01);

    // Index it with its call record.
    let db = format!("sqlite://{}", dir.path().join("hotline.db").display());
    let store = CallStore::connect(&db).await.expect("db");
    let row = RecordingRow::new(
        CallMeta {
            call_id: "call-1@sbc".into(),
            caller_number: "13800138000".into(),
            agent_id: Some("1001".into()),
            started_at_ms: 1_700_000_000_500,
            ended_at_ms: 1_700_000_004_700,
        },
        &summary,
    );
    store.insert_recording(&row).await.expect("insert");
    let cdr = Cdr {
        call_id: "call-1@sbc".into(),
        caller_number: "13800138000".into(),
        did: "12345".into(),
        agent_id: Some("1001".into()),
        arrived_at_ms: 1_700_000_000_000,
        answered_at_ms: Some(1_700_000_000_500),
        ended_at_ms: 1_700_000_004_700,
        hangup_by: HangupBy::Agent,
        reason: reason::NORMAL.into(),
        recording_id: Some(row.id.clone()),
        direction: "inbound".into(),
        purpose: None,
    };
    store.insert_cdr(&cdr).await.expect("cdr");
    let got = store
        .get_recording(&row.id)
        .await
        .expect("get")
        .expect("row");
    assert_eq!(got, row);
    assert_eq!(got.duration_ms, 4200);
    assert_eq!(got.sha256, summary.info.sha256_hex);
    assert_eq!(store.list_cdrs(10, 0).await.expect("cdrs"), vec![cdr]);

    // Nothing to repair after a clean close.
    assert!(repair_dir(&dir.path().join("recordings"))
        .expect("scan")
        .is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tiny_queue_drops_are_counted_and_the_file_keeps_wall_time() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("busy.wav");
    let config = RecorderConfig {
        queue_frames: 1,
        ..RecorderConfig::default()
    };
    let (handle, join) = Recorder::start(&path, "busy", config).await.expect("start");
    let mut refused = 0u64;
    for k in 0..500u64 {
        for channel in [Channel::Caller, Channel::Agent] {
            let f = MediaFrame::from_linear(channel, k * 160, &[100; 160]).expect("frame");
            if handle.try_send(f).is_err() {
                refused += 1;
            }
        }
    }
    assert_eq!(handle.dropped_frames(), refused);
    let summary = handle.finish(80_000).await.expect("finish");
    join.await.expect("writer");
    assert_eq!(summary.dropped_frames, refused);
    // Whatever was lost became silence; the file still spans the call.
    assert_eq!(summary.info.samples, 80_000);
    let (left, right) = channels(&path);
    assert_eq!(left.len(), 80_000);
    let heard = left.iter().filter(|&&s| s == 100).count() as u64;
    let heard_r = right.iter().filter(|&&s| s == 100).count() as u64;
    assert_eq!(
        heard + heard_r + summary.mixer.silence_samples[0] + summary.mixer.silence_samples[1],
        160_000
    );
}

#[tokio::test]
async fn dropped_handle_still_closes_a_valid_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("orphan.wav");
    let (handle, join) = Recorder::start(&path, "orphan", RecorderConfig::default())
        .await
        .expect("start");
    for k in 0..50u64 {
        let f = MediaFrame::from_linear(Channel::Caller, k * 160, &[7; 160]).expect("frame");
        handle.try_send(f).expect("room");
    }
    drop(handle);
    join.await.expect("writer finishes on its own");
    let (left, _) = channels(&path);
    assert_eq!(left.len(), 8000);
    assert!(left.iter().all(|&s| s == 7));
    // Start refuses to overwrite it.
    assert!(Recorder::start(&path, "again", RecorderConfig::default())
        .await
        .is_err());
}
