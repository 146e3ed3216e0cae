//! One call's relay task: four sockets, one [`CallMedia`], no locks.

use std::collections::VecDeque;
use std::io;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use hotline_recordings::{
    Channel, MediaFrame, RecorderHandle, RecordingSummary, G711 as Law, MAX_FRAME_SAMPLES,
};
use hotline_sip::media::{
    g711, Audio, CallMedia, CallStats, Encoding, Leg, LegStats, MediaConfig, RtpOutcome,
    SessionEvent,
};
use tokio::net::UdpSocket;
use tokio::sync::{mpsc, watch};

use super::{publish, Clip, Control, LegSockets, MediaEvent, RelayCounters};

/// Receive and send buffers. G.711 packets are 92–492 bytes; a datagram that
/// fills the buffer is taken as oversized and dropped, not parsed truncated.
const BUF: usize = 2048;
/// Datagrams read from one socket before looking at the others and at control.
const BATCH: usize = 32;
/// How often the call's counters are added to the global ones.
const PUBLISH_EVERY: Duration = Duration::from_secs(1);
/// One packet of played audio: 20 ms at 8 kHz.
const FRAME: usize = 160;
/// Recorder frames kept before they are handed over together: each hand-over
/// wakes the recorder's task, so it wakes once per batch (about 80 ms of a
/// two-way call) rather than once per packet. Frames carry their place on the
/// call's timeline, so arriving later changes nothing in the file; what is
/// kept is handed over at least every [`PUBLISH_EVERY`] while packets flow,
/// and always before the recording is finished.
const RECORD_BATCH: usize = 8;

/// What the server is playing to the caller.
struct Playback {
    id: u64,
    clips: Vec<Clip>,
    clip: usize,
    pos: usize,
    looped: bool,
}

impl Playback {
    /// The next 20 ms of audio in `codec` (the last frame of a clip padded with
    /// silence); `None` at the end.
    fn next_frame(&mut self, codec: Encoding, frame: &mut [u8; FRAME]) -> Option<()> {
        loop {
            if self.clip >= self.clips.len() {
                if !self.looped || self.clips.iter().all(|c| c.encoded(codec).is_empty()) {
                    return None;
                }
                self.clip = 0;
            }
            let data = self.clips[self.clip].encoded(codec);
            let silence = match codec {
                Encoding::Pcmu => 0xff,
                Encoding::Pcma => 0xd5,
            };
            if self.pos < data.len() {
                let n = (data.len() - self.pos).min(FRAME);
                frame[..n].copy_from_slice(&data[self.pos..self.pos + n]);
                frame[n..].fill(silence);
                self.pos += n;
                return Some(());
            }
            self.clip += 1;
            self.pos = 0;
        }
    }
}

/// What a call's media did, returned when its task ends (and logged).
#[derive(Debug)]
pub struct CallReport {
    pub stats: CallStats,
    /// Datagrams larger than the relay's buffer (dropped).
    pub oversize: u64,
    /// Forwards the socket refused (buffer full, unreachable).
    pub send_errors: u64,
    /// Recorder frames dropped because its queue was full.
    pub recorder_dropped_frames: u64,
    /// From the first connect to the end.
    pub duration: Duration,
    /// The finished recording, if the call was recorded.
    pub recording: Option<Result<RecordingSummary, hotline_recordings::Error>>,
}

pub(super) struct CallTask<K> {
    call: K,
    media: CallMedia,
    timeout: Duration,
    legs: [Option<LegSockets>; 2],
    control: mpsc::UnboundedReceiver<Control>,
    events: mpsc::Sender<MediaEvent<K>>,
    /// Events the SIP core's channel had no room for yet (delivered in order).
    pending: VecDeque<MediaEvent<K>>,
    counters: Arc<RelayCounters>,
    recorder: Option<RecorderHandle>,
    /// Frames for the recorder not handed over yet (see [`RECORD_BATCH`]).
    to_record: Vec<MediaFrame>,
    buf: Box<[u8]>,
    out: Box<[u8]>,
    oversize: u64,
    send_errors: u64,
    published: Published,
    next_publish: Instant,
    playback: Option<Playback>,
    /// Serve mode: the caller talks to the server (menu, queue, survey).
    serving: bool,
    /// In-band keys for callers whose gateway sends no telephone-events
    /// (listened to only in serve mode).
    tones: hotline_ivr::ToneDetector,
    pcm: Box<[i16]>,
}

#[derive(Default)]
struct Published {
    stats: CallStats,
    oversize: u64,
    send_errors: u64,
    recorder_dropped: u64,
}

impl<K: super::CallKey> CallTask<K> {
    pub(super) fn new(
        call: K,
        config: MediaConfig,
        control: mpsc::UnboundedReceiver<Control>,
        events: mpsc::Sender<MediaEvent<K>>,
        counters: Arc<RelayCounters>,
    ) -> Self {
        Self {
            call,
            media: CallMedia::new(config, rand::random()),
            timeout: config.timeout,
            legs: [None, None],
            control,
            events,
            pending: VecDeque::new(),
            counters,
            recorder: None,
            to_record: Vec::with_capacity(RECORD_BATCH + 2),
            buf: vec![0; BUF].into_boxed_slice(),
            out: vec![0; BUF].into_boxed_slice(),
            oversize: 0,
            send_errors: 0,
            published: Published::default(),
            next_publish: Instant::now() + PUBLISH_EVERY,
            playback: None,
            serving: false,
            tones: hotline_ivr::ToneDetector::new(),
            pcm: vec![0; BUF].into_boxed_slice(),
        }
    }

    pub(super) async fn run(mut self, mut shutdown: watch::Receiver<bool>) -> CallReport {
        self.counters.calls_active.fetch_add(1, Ordering::Relaxed);
        // One timer for the call, re-armed only when it fires or when the media
        // deadline moves earlier: the deadline moves later with every packet, and
        // re-arming per packet would churn the timer wheel for nothing. Firing
        // early is harmless (CallMedia checks the real deadline).
        let sleep = tokio::time::sleep(Duration::from_secs(3600));
        tokio::pin!(sleep);
        let mut armed: Option<Instant> = None;
        // A second sender, so a reserved slot does not borrow `self`.
        let events = self.events.clone();
        let mut frames = tokio::time::interval(Duration::from_millis(20));
        loop {
            if let Some(d) = self.media.poll_timeout() {
                if armed.is_none_or(|a| d < a) {
                    sleep.as_mut().reset(d.into());
                    armed = Some(d);
                }
            }
            tokio::select! {
                biased;
                control = self.control.recv() => match control {
                    Some(Control::Close) | None => break,
                    Some(c) => self.handle_control(c),
                },
                () = crate::sip_io::stopped(&mut shutdown) => break,
                () = &mut sleep, if armed.is_some() => {
                    armed = None;
                    self.media.handle_timeout(Instant::now());
                }
                _ = frames.tick(), if self.playback.is_some() => self.play_frame(),
                permit = events.reserve(), if !self.pending.is_empty() => {
                    if let (Ok(permit), Some(ev)) = (permit, self.pending.pop_front()) {
                        permit.send(ev);
                    } else {
                        // The SIP core is gone: nobody to tell.
                        self.pending.clear();
                    }
                }
                (leg, rtcp) = ready_socket(&self.legs) => self.drain(leg, rtcp),
            }
            self.drain_events();
        }
        self.finish().await
    }

    fn handle_control(&mut self, control: Control) {
        let now = Instant::now();
        match control {
            Control::Open { leg, sockets } => {
                tracing::debug!(%leg, rtp = ?sockets.rtp.local_addr().ok(), "media leg open");
                self.legs[leg.index()] = Some(sockets);
            }
            Control::SetLeg { leg, setup } => {
                tracing::debug!(%leg, ?setup, "media leg connected");
                if leg == Leg::Agent {
                    // Bridged: the caller hears the agent, not our audio.
                    self.playback = None;
                    self.serving = false;
                }
                self.media.set_leg(now, leg, setup);
            }
            Control::Update {
                leg,
                remote,
                direction,
            } => {
                tracing::debug!(%leg, ?remote, ?direction, "media leg updated");
                self.media.update(now, leg, remote, direction);
            }
            Control::Record(handle) => {
                self.hand_to_recorder();
                self.recorder = Some(handle);
            }
            Control::Serve(setup) => {
                tracing::debug!(?setup, "media serving the caller");
                self.media.serve(now, setup);
                self.serving = true;
                self.tones = hotline_ivr::ToneDetector::new();
            }
            Control::Play { id, clips, looped } => {
                self.playback = Some(Playback {
                    id,
                    clips,
                    clip: 0,
                    pos: 0,
                    looped,
                });
            }
            Control::StopPlayback => self.playback = None,
            Control::Close => {}
        }
    }

    /// Reads what is waiting on one socket (at most [`BATCH`] datagrams).
    fn drain(&mut self, leg: Leg, rtcp: bool) {
        self.read_socket(leg, rtcp);
        if self.to_record.len() >= RECORD_BATCH {
            self.hand_to_recorder();
        }
    }

    /// Queues the frames kept for the recorder, without waiting (a full
    /// queue drops a frame; the handle counts it).
    fn hand_to_recorder(&mut self) {
        match &self.recorder {
            Some(rec) => {
                for frame in self.to_record.drain(..) {
                    let _ = rec.try_send(frame);
                }
            }
            None => self.to_record.clear(),
        }
    }

    fn read_socket(&mut self, leg: Leg, rtcp: bool) {
        // In serve mode a caller without telephone-events may key in-band: its
        // audio goes through the tone detector (RFC 4733 keys come as events).
        let listen = self.serving
            && self
                .media
                .setup(Leg::Caller)
                .is_some_and(|s| s.dtmf_pt.is_none());
        for _ in 0..BATCH {
            let mut keys = Vec::new();
            let Some(sockets) = &self.legs[leg.index()] else {
                return;
            };
            let socket = if rtcp { &sockets.rtcp } else { &sockets.rtp };
            let (n, from) = match socket.try_recv_from(&mut self.buf) {
                Ok(x) => x,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                Err(e) => {
                    // ICMP errors surface here on some systems; keep reading.
                    tracing::trace!(%leg, "media receive error: {e}");
                    continue;
                }
            };
            let now = Instant::now();
            if n == self.buf.len() {
                self.oversize += 1;
                tracing::trace!(%leg, %from, "oversized datagram dropped");
            } else if rtcp {
                if let Err(reason) = self.media.handle_rtcp(now, leg, from, &self.buf[..n]) {
                    tracing::trace!(%leg, %from, ?reason, "RTCP dropped");
                }
            } else {
                match self
                    .media
                    .handle_rtp(now, leg, from, &self.buf[..n], &mut self.out)
                {
                    RtpOutcome::Accepted { forward, audio } => {
                        if let Some(f) = forward {
                            let sent = match &self.legs[f.via.index()] {
                                Some(s) => s.rtp.try_send_to(&self.out[..f.len], f.to).is_ok(),
                                None => false,
                            };
                            if !sent {
                                self.send_errors += 1;
                                tracing::trace!(to = %f.to, "RTP send failed");
                            }
                        }
                        if let (Some(a), Some(_)) = (audio, &self.recorder) {
                            to_frames(a, &mut self.to_record);
                        }
                        if let Some(a) = audio.filter(|a| a.leg == Leg::Caller && listen) {
                            let n = g711::decode(a.codec, a.payload, &mut self.pcm);
                            keys = self.tones.process(&self.pcm[..n]);
                        }
                    }
                    RtpOutcome::Rtcp(_) => {}
                    RtpOutcome::Dropped(reason) => {
                        tracing::trace!(%leg, %from, ?reason, "RTP dropped");
                    }
                }
            }
            for digit in keys {
                tracing::debug!(%digit, "in-band DTMF");
                self.queue_event(MediaEvent::Dtmf {
                    call: self.call.clone(),
                    leg: Leg::Caller,
                    digit,
                });
            }
            if now >= self.next_publish {
                self.publish();
                self.next_publish = now + PUBLISH_EVERY;
            }
        }
    }

    /// Sends the next 20 ms of what is playing to the caller.
    fn play_frame(&mut self) {
        let Some(codec) = self.media.setup(Leg::Caller).map(|s| s.codec) else {
            return;
        };
        let Some(p) = self.playback.as_mut() else {
            return;
        };
        let mut frame = [0u8; FRAME];
        if p.next_frame(codec, &mut frame).is_none() {
            let id = p.id;
            self.playback = None;
            self.queue_event(MediaEvent::PlaybackDone {
                call: self.call.clone(),
                id,
            });
            return;
        }
        if let Some(f) = self
            .media
            .play(Instant::now(), Leg::Caller, &frame, &mut self.out)
        {
            let sent = match &self.legs[Leg::Caller.index()] {
                Some(s) => s.rtp.try_send_to(&self.out[..f.len], f.to).is_ok(),
                None => false,
            };
            if !sent {
                self.send_errors += 1;
            }
        }
    }

    /// Queues an event for the SIP core without waiting.
    fn queue_event(&mut self, ev: MediaEvent<K>) {
        if !self.pending.is_empty() {
            self.pending.push_back(ev);
            return;
        }
        match self.events.try_send(ev) {
            Ok(()) => {}
            Err(mpsc::error::TrySendError::Full(ev)) => self.pending.push_back(ev),
            Err(mpsc::error::TrySendError::Closed(_)) => {}
        }
    }

    fn drain_events(&mut self) {
        while let Some(ev) = self.media.poll_event() {
            let ev = match ev {
                SessionEvent::Dtmf { leg, digit } => {
                    tracing::debug!(%leg, %digit, "DTMF");
                    MediaEvent::Dtmf {
                        call: self.call.clone(),
                        leg,
                        digit,
                    }
                }
                SessionEvent::Timeout { leg } => {
                    self.counters.timeouts.fetch_add(1, Ordering::Relaxed);
                    tracing::warn!(
                        %leg,
                        timeout_s = self.timeout.as_secs(),
                        "media timeout: no RTP from the {leg} leg"
                    );
                    MediaEvent::Timeout {
                        call: self.call.clone(),
                        leg,
                    }
                }
                SessionEvent::Latched { leg, remote } => {
                    // trace: a peer hopping ports would make this one per packet.
                    tracing::trace!(%leg, %remote, "media latched");
                    continue;
                }
            };
            self.queue_event(ev);
        }
    }

    /// Adds what happened since the last publication to the global counters
    /// (and hands the recorder what it has not had yet).
    fn publish(&mut self) {
        self.hand_to_recorder();
        let stats = self.media.stats();
        let recorder_dropped = self
            .recorder
            .as_ref()
            .map_or(self.published.recorder_dropped, |r| r.dropped_frames());
        let delta = CallStats {
            caller: sub(&stats.caller, &self.published.stats.caller),
            agent: sub(&stats.agent, &self.published.stats.agent),
        };
        publish(
            &self.counters,
            &delta,
            recorder_dropped.saturating_sub(self.published.recorder_dropped),
            self.send_errors - self.published.send_errors,
        );
        self.counters
            .packets_dropped
            .fetch_add(self.oversize - self.published.oversize, Ordering::Relaxed);
        self.published = Published {
            stats,
            oversize: self.oversize,
            send_errors: self.send_errors,
            recorder_dropped,
        };
    }

    async fn finish(mut self) -> CallReport {
        // Ports first: they may be handed to the next call right away.
        self.legs = [None, None];
        let now = Instant::now();
        let duration = self
            .media
            .start()
            .map_or(Duration::ZERO, |s| now.saturating_duration_since(s));
        self.drain_events();
        for ev in self.pending.drain(..) {
            let _ = self.events.try_send(ev);
        }
        self.publish();
        let recorder_dropped_frames = self.published.recorder_dropped;
        let recording = match self.recorder.take() {
            Some(r) => {
                let end_sample = u64::try_from(duration.as_millis())
                    .unwrap_or(u64::MAX / 8)
                    .saturating_mul(8);
                Some(r.finish(end_sample).await)
            }
            None => None,
        };
        self.counters.calls_active.fetch_sub(1, Ordering::Relaxed);
        let report = CallReport {
            stats: self.media.stats(),
            oversize: self.oversize,
            send_errors: self.send_errors,
            recorder_dropped_frames,
            duration,
            recording,
        };
        let (c, a) = (&report.stats.caller, &report.stats.agent);
        tracing::info!(
            duration_ms = u64::try_from(duration.as_millis()).unwrap_or(u64::MAX),
            caller_in = c.rtp_in,
            caller_out = c.rtp_out,
            agent_in = a.rtp_in,
            agent_out = a.rtp_out,
            malformed = c.malformed + a.malformed,
            unexpected_source = c.unexpected_source + a.unexpected_source,
            dropped = c.dropped() + a.dropped() + report.oversize,
            rtcp_in = c.rtcp_in + a.rtcp_in,
            send_errors = report.send_errors,
            recorder_dropped_frames,
            recorded = report.recording.as_ref().is_some_and(|r| r.is_ok()),
            "media closed"
        );
        report
    }
}

/// The first of the call's sockets with data. Unbiased (tokio picks a random
/// starting branch), so a flood on one port cannot starve the others; the
/// control channel and timers keep their priority in the caller's `biased` select.
async fn ready_socket(legs: &[Option<LegSockets>; 2]) -> (Leg, bool) {
    let [caller, agent] = legs;
    tokio::select! {
        () = readable(caller.as_ref().map(|s| &s.rtp)) => (Leg::Caller, false),
        () = readable(agent.as_ref().map(|s| &s.rtp)) => (Leg::Agent, false),
        () = readable(caller.as_ref().map(|s| &s.rtcp)) => (Leg::Caller, true),
        () = readable(agent.as_ref().map(|s| &s.rtcp)) => (Leg::Agent, true),
    }
}

/// Resolves when `socket` has data; never without a socket.
async fn readable(socket: Option<&UdpSocket>) {
    match socket {
        Some(s) => {
            if s.readable().await.is_err() {
                // The reactor is gone (runtime shutting down): nothing to read.
                std::future::pending::<()>().await;
            }
        }
        None => std::future::pending().await,
    }
}

/// Decodes a G.711 payload into recorder frames, appended to `frames`.
fn to_frames(a: Audio<'_>, frames: &mut Vec<MediaFrame>) {
    let channel = match a.leg {
        Leg::Caller => Channel::Caller,
        Leg::Agent => Channel::Agent,
    };
    let law = match a.codec {
        Encoding::Pcmu => Law::Ulaw,
        Encoding::Pcma => Law::Alaw,
    };
    let mut at = a.at_sample;
    for chunk in a.payload.chunks(MAX_FRAME_SAMPLES) {
        if let Ok(frame) = MediaFrame::from_g711(channel, at, law, chunk) {
            frames.push(frame);
        }
        at += chunk.len() as u64;
    }
}

fn sub(a: &LegStats, b: &LegStats) -> LegStats {
    LegStats {
        rtp_in: a.rtp_in - b.rtp_in,
        rtp_out: a.rtp_out - b.rtp_out,
        rtcp_in: a.rtcp_in - b.rtcp_in,
        malformed: a.malformed - b.malformed,
        unexpected_source: a.unexpected_source - b.unexpected_source,
        unknown_payload_type: a.unknown_payload_type - b.unknown_payload_type,
        not_connected: a.not_connected - b.not_connected,
        not_forwarded: a.not_forwarded - b.not_forwarded,
        dtmf_digits: a.dtmf_digits - b.dtmf_digits,
    }
}
