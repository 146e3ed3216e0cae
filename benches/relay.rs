//! The RTP relay's per-packet CPU cost, without the socket calls: what one
//! 20 ms G.711 packet (172 bytes) costs between `recv_from` and `send_to` in a
//! call task. Compare with rtpengine's userspace forwarding, which pays the same
//! two syscalls per packet.
//!
//! - `parse`: validation only (`rtp-rs` `RtpReader`);
//! - `relay`: `CallMedia::handle_rtp` — parse, latch check, timeout bookkeeping,
//!   SSRC/sequence/timestamp rewrite, payload-type map, building the outgoing
//!   packet into the reused buffer, recording-timeline placement;
//! - `relay_transcode`: the same with µ-law → A-law on the way;
//! - `relay_record`: `relay` plus decoding the payload into a recorder
//!   `MediaFrame` (what is queued to the WAV writer).
//!
//! `cargo bench --bench relay -- --warm-up-time 1 --measurement-time 3`
#![allow(clippy::unwrap_used)] // benchmark inputs are fixed

use std::hint::black_box;
use std::net::SocketAddr;
use std::time::Instant;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use hotline_recordings::{Channel, MediaFrame, G711 as Law};
use hotline_sip::media::{parse_rtp, CallMedia, Encoding, Leg, LegSetup, MediaConfig, RtpOutcome};

const CALLER: &str = "203.0.113.10:40000";
const AGENT: &str = "198.51.100.20:61234";

fn packet() -> Vec<u8> {
    let mut p = vec![0x80, 0, 0, 1, 0, 0, 0, 0, 0xca, 0x11, 0xe4, 0x01];
    p.extend((0..160u32).map(|i| (i * 7 % 256) as u8));
    p
}

/// Advances the packet to the next 20 ms (what a real stream does).
fn next(p: &mut [u8], i: u32) {
    let seq = (i as u16).to_be_bytes();
    let ts = (i.wrapping_mul(160)).to_be_bytes();
    p[2..4].copy_from_slice(&seq);
    p[4..8].copy_from_slice(&ts);
}

fn call(agent_codec: Encoding) -> CallMedia {
    let caller: SocketAddr = CALLER.parse().unwrap();
    let agent: SocketAddr = AGENT.parse().unwrap();
    let mut m = CallMedia::new(MediaConfig::default(), 1);
    m.connect(
        Instant::now(),
        LegSetup::new(Some(caller), Encoding::Pcmu, Some(101)),
        LegSetup::new(Some(agent), agent_codec, Some(96)),
    );
    m
}

fn bench(c: &mut Criterion) {
    let caller: SocketAddr = CALLER.parse().unwrap();
    let mut g = c.benchmark_group("rtp_packet");
    g.throughput(Throughput::Elements(1));

    let p = packet();
    g.bench_function("parse", |b| {
        b.iter(|| {
            let r = parse_rtp(black_box(&p)).unwrap();
            black_box((r.ssrc(), r.payload().len()))
        })
    });

    for (name, codec, record) in [
        ("relay", Encoding::Pcmu, false),
        ("relay_transcode", Encoding::Pcma, false),
        ("relay_record", Encoding::Pcmu, true),
    ] {
        let mut m = call(codec);
        let mut p = packet();
        let mut out = vec![0u8; 2048];
        let mut i = 0u32;
        g.bench_function(name, |b| {
            b.iter(|| {
                i = i.wrapping_add(1);
                next(&mut p, i);
                let now = Instant::now();
                match m.handle_rtp(now, Leg::Caller, caller, black_box(&p), &mut out) {
                    RtpOutcome::Accepted { forward, audio } => {
                        if record {
                            if let Some(a) = audio {
                                let frame = MediaFrame::from_g711(
                                    Channel::Caller,
                                    a.at_sample,
                                    Law::Ulaw,
                                    a.payload,
                                )
                                .unwrap();
                                black_box(&frame);
                            }
                        }
                        black_box(forward.map(|f| &out[..f.len]));
                    }
                    other => panic!("{other:?}"),
                }
            })
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
