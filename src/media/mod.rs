//! The RTP relay: the tokio side of [`hotline_sip::media`].
//!
//! The SIP core owns one [`MediaEngine`] and hands it the call machine's
//! [`MediaCommand`]s ([`MediaEngine::apply`]): [`open`](MediaEngine::open) binds a
//! leg's RTP (even) and RTCP (odd) ports, [`connect`](MediaEngine::connect) starts
//! relaying between the legs, [`set_leg`](MediaEngine::set_leg) follows re-INVITEs
//! (hold, resume, a new address or codec), [`close`](MediaEngine::close) ends it.
//! [`record`](MediaEngine::record) attaches a recorder. Every method is
//! synchronous and cheap: none waits on a socket or on the call's task. What comes
//! back on the event channel goes to the endpoint: [`MediaEvent::Timeout`] as
//! `Endpoint::media_timeout`, [`MediaEvent::Dtmf`] to the IVR.
//!
//! Each call is **one task owning its four sockets** (two legs × RTP/RTCP) and a
//! [`CallMedia`](hotline_sip::media::CallMedia), the sans-IO state of the call. The
//! task waits for any socket to become readable, drains it with non-blocking
//! reads into one reused buffer, lets `CallMedia` validate, latch, rewrite and
//! classify each packet into one reused output buffer, and sends with a
//! non-blocking `try_send_to`. The per-packet path allocates nothing, logs at
//! `trace!` at most, and touches no lock: the per-call counters are plain
//! fields, added to the global atomics in [`RelayCounters`] once a second and on
//! close.
//!
//! Audio for the recording is decoded straight into a fixed-size
//! [`MediaFrame`] (the recordings crate's G.711 tables) placed on the call
//! timeline, and queued with the recorder's never-blocking `try_send`; a full
//! queue drops the frame and counts it. DTMF packets are not recorded.
//!
//! What the task reports goes to the SIP core on the [`MediaEvent`] channel the
//! binary passes in: key presses and media timeouts. The task ends — and its
//! sockets are closed — on [`close`](MediaEngine::close), on server shutdown, or
//! when the engine is dropped; its [`CallReport`] (counters, the recording's
//! summary) is the output of the [`JoinHandle`] `close` returns, and is logged.

mod call;

use std::collections::HashMap;
use std::fmt::Debug;
use std::hash::Hash;
use std::io;
use std::net::{IpAddr, SocketAddr, UdpSocket as StdUdpSocket};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use hotline_recordings::RecorderHandle;
use hotline_sip::call::{CallId, MediaCommand};
use hotline_sip::media::{CallStats, Direction, LatchConfig, Leg, LegSetup, MediaConfig};
use tokio::net::UdpSocket;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;
use tracing::Instrument;

pub use call::CallReport;

/// What a call is known by: the SIP core's call identifier.
pub trait CallKey: Clone + Eq + Hash + Debug + Send + Sync + 'static {}
impl<T: Clone + Eq + Hash + Debug + Send + Sync + 'static> CallKey for T {}

/// What the relay reports to the SIP core.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MediaEvent<K> {
    /// `leg` sent no RTP for the media timeout (`[sip] media_timeout_s`): the
    /// core should end the call (`Endpoint::media_timeout`).
    Timeout { call: K, leg: Leg },
    /// A key pressed on `leg` (RFC 4733), reported once per press.
    Dtmf { call: K, leg: Leg, digit: char },
    /// Playback `id` ([`MediaEngine::play`]) reached its end (not sent for a
    /// looped one, nor for one stopped or replaced).
    PlaybackDone { call: K, id: u64 },
}

/// Audio the server plays (a prompt, a digit, music): a loaded prompt, 8 kHz
/// G.711 in both laws encoded once at load and shared by every call.
pub type Clip = hotline_ivr::PromptRef;

/// Errors of the engine's control calls.
#[derive(Debug, thiserror::Error)]
pub enum MediaError {
    #[error("binding media port {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        #[source]
        source: io::Error,
    },
    #[error("RTP port {0} is odd or the last port (RTP takes an even port, RTCP the next one)")]
    BadPort(u16),
    #[error("no media for this call")]
    UnknownCall,
    #[error("the {0} leg is already open")]
    LegAlreadyOpen(Leg),
    #[error("the call's media task has ended")]
    TaskGone,
}

/// Settings of the relay.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EngineSettings {
    /// Where the media sockets are bound: `[sip] listen`'s IP. (`public_addr` is
    /// what goes into the SDP; behind a 1:1 NAT it is not a local address.)
    pub bind_ip: IpAddr,
    pub media: MediaConfig,
}

impl EngineSettings {
    /// From the server configuration: `[sip] listen` IP and `media_timeout_s`.
    pub fn from_config(config: &hotline_config::Config) -> Self {
        Self {
            bind_ip: config.sip.listen.ip(),
            media: MediaConfig {
                timeout: Duration::from_secs(config.sip.media_timeout_s),
                latch: LatchConfig::default(),
            },
        }
    }
}

/// Server-wide relay counters, updated by the call tasks once a second and on
/// close (never per packet), read by `/metrics`.
#[derive(Debug, Default)]
pub struct RelayCounters {
    pub packets_in: AtomicU64,
    pub packets_out: AtomicU64,
    /// Malformed, from an unexpected source, unknown payload type, before connect.
    pub packets_dropped: AtomicU64,
    pub rtcp_in: AtomicU64,
    pub recorder_dropped_frames: AtomicU64,
    pub send_errors: AtomicU64,
    pub timeouts: AtomicU64,
    pub dtmf_digits: AtomicU64,
    pub calls_active: AtomicU64,
}

impl RelayCounters {
    /// `(name, value)` pairs for a metrics page.
    pub fn snapshot(&self) -> [(&'static str, u64); 9] {
        let l = |c: &AtomicU64| c.load(Ordering::Relaxed);
        [
            ("hotline_rtp_packets_received_total", l(&self.packets_in)),
            ("hotline_rtp_packets_sent_total", l(&self.packets_out)),
            (
                "hotline_rtp_packets_dropped_total",
                l(&self.packets_dropped),
            ),
            ("hotline_rtcp_packets_received_total", l(&self.rtcp_in)),
            (
                "hotline_recording_frames_dropped_total",
                l(&self.recorder_dropped_frames),
            ),
            ("hotline_rtp_send_errors_total", l(&self.send_errors)),
            ("hotline_media_timeouts_total", l(&self.timeouts)),
            ("hotline_dtmf_digits_total", l(&self.dtmf_digits)),
            ("hotline_media_calls", l(&self.calls_active)),
        ]
    }
}

/// Commands from the engine to a call's task.
#[derive(Debug)]
enum Control {
    Open {
        leg: Leg,
        sockets: LegSockets,
    },
    SetLeg {
        leg: Leg,
        setup: LegSetup,
    },
    Update {
        leg: Leg,
        remote: Option<SocketAddr>,
        direction: Direction,
    },
    Record(RecorderHandle),
    /// Serve mode: the caller leg alone (`CallMedia::serve`).
    Serve(LegSetup),
    Play {
        id: u64,
        clips: Vec<Clip>,
        looped: bool,
    },
    StopPlayback,
    Close,
}

/// A leg's two sockets.
#[derive(Debug)]
struct LegSockets {
    rtp: UdpSocket,
    rtcp: UdpSocket,
}

struct CallHandle {
    control: mpsc::UnboundedSender<Control>,
    task: JoinHandle<CallReport>,
    /// Each leg's bound RTP address.
    open: [Option<SocketAddr>; 2],
}

/// The relay: one task per call. See the [module docs](self).
pub struct MediaEngine<K: CallKey> {
    settings: EngineSettings,
    events: mpsc::Sender<MediaEvent<K>>,
    shutdown: watch::Receiver<bool>,
    counters: Arc<RelayCounters>,
    calls: HashMap<K, CallHandle>,
}

impl<K: CallKey> std::fmt::Debug for MediaEngine<K> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MediaEngine")
            .field("settings", &self.settings)
            .field("calls", &self.calls.len())
            .finish_non_exhaustive()
    }
}

impl<K: CallKey> MediaEngine<K> {
    /// An engine whose tasks report on `events` and stop when `shutdown` flips to
    /// `true` (finishing their recordings).
    pub fn new(
        settings: EngineSettings,
        events: mpsc::Sender<MediaEvent<K>>,
        shutdown: watch::Receiver<bool>,
    ) -> Self {
        Self {
            settings,
            events,
            shutdown,
            counters: Arc::new(RelayCounters::default()),
            calls: HashMap::new(),
        }
    }

    /// The server-wide counters (for `/metrics`).
    pub fn counters(&self) -> Arc<RelayCounters> {
        self.counters.clone()
    }

    /// Calls with media.
    pub fn len(&self) -> usize {
        self.calls.len()
    }

    pub fn is_empty(&self) -> bool {
        self.calls.is_empty()
    }

    /// Binds `leg`'s RTP socket on `port` (even) and RTCP on `port + 1`, starting
    /// the call's task if this is its first leg. Port 0 picks a free even/odd pair
    /// (tests). Returns the RTP address. Packets that arrive before the leg is
    /// connected are read and dropped (counted). Must run inside the runtime.
    pub fn open(&mut self, call: K, leg: Leg, port: u16) -> Result<SocketAddr, MediaError> {
        if self
            .calls
            .get(&call)
            .is_some_and(|h| h.open[leg.index()].is_some())
        {
            return Err(MediaError::LegAlreadyOpen(leg));
        }
        let sockets = bind_pair(self.settings.bind_ip, port)?;
        let local = sockets
            .rtp
            .local_addr()
            .map_err(|source| MediaError::Bind {
                addr: SocketAddr::new(self.settings.bind_ip, port),
                source,
            })?;
        let handle = match self.calls.entry(call.clone()) {
            std::collections::hash_map::Entry::Occupied(e) => e.into_mut(),
            std::collections::hash_map::Entry::Vacant(e) => {
                let (control, rx) = mpsc::unbounded_channel();
                let span = tracing::info_span!("media", call_id = ?call);
                let task = call::CallTask::new(
                    call,
                    self.settings.media,
                    rx,
                    self.events.clone(),
                    self.counters.clone(),
                );
                let task = tokio::spawn(task.run(self.shutdown.clone()).instrument(span));
                e.insert(CallHandle {
                    control,
                    task,
                    open: [None; 2],
                })
            }
        };
        handle
            .control
            .send(Control::Open { leg, sockets })
            .map_err(|_| MediaError::TaskGone)?;
        handle.open[leg.index()] = Some(local);
        Ok(local)
    }

    /// The RTP address `leg` of `call` is bound to.
    pub fn local_addr(&self, call: &K, leg: Leg) -> Option<SocketAddr> {
        self.calls.get(call)?.open[leg.index()]
    }

    fn send(&self, call: &K, control: Control) -> Result<(), MediaError> {
        self.calls
            .get(call)
            .ok_or(MediaError::UnknownCall)?
            .control
            .send(control)
            .map_err(|_| MediaError::TaskGone)
    }

    /// Starts relaying between the two legs (`MediaCommand::Connect`). The call's
    /// recording timeline starts now.
    pub fn connect(&self, call: &K, caller: LegSetup, agent: LegSetup) -> Result<(), MediaError> {
        self.send(
            call,
            Control::SetLeg {
                leg: Leg::Caller,
                setup: caller,
            },
        )?;
        self.send(
            call,
            Control::SetLeg {
                leg: Leg::Agent,
                setup: agent,
            },
        )
    }

    /// Connects or re-negotiates one leg alone (a re-INVITE that changed the
    /// codec; later the IVR, which talks to the caller before any agent).
    pub fn set_leg(&self, call: &K, leg: Leg, setup: LegSetup) -> Result<(), MediaError> {
        self.send(call, Control::SetLeg { leg, setup })
    }

    /// Hold and resume (`MediaCommand::Update`): the leg's SDP address (a new one
    /// restarts latching) and the direction it declared.
    pub fn update(
        &self,
        call: &K,
        leg: Leg,
        remote: Option<SocketAddr>,
        direction: Direction,
    ) -> Result<(), MediaError> {
        self.send(
            call,
            Control::Update {
                leg,
                remote,
                direction,
            },
        )
    }

    /// Serve mode (`MediaCommand::Serve`): relaying stops, the caller leg is
    /// set up alone so the server can play to it and hear its keys.
    pub fn serve(&self, call: &K, caller: LegSetup) -> Result<(), MediaError> {
        self.send(call, Control::Serve(caller))
    }

    /// Plays `clips` one after the other to the caller (replacing whatever was
    /// playing), in 20 ms packets; [`MediaEvent::PlaybackDone`] with `id` at
    /// the end, or from the start again if `looped` (music on hold).
    pub fn play(
        &self,
        call: &K,
        id: u64,
        clips: Vec<Clip>,
        looped: bool,
    ) -> Result<(), MediaError> {
        self.send(call, Control::Play { id, clips, looped })
    }

    /// Stops what is playing (a key pressed during a prompt, an agent found).
    pub fn stop_playback(&self, call: &K) -> Result<(), MediaError> {
        self.send(call, Control::StopPlayback)
    }

    /// Feeds the call's audio to a recorder (started by the binary with
    /// `Recorder::start`). The task finishes it on close, at the call's duration.
    pub fn record(&self, call: &K, recorder: RecorderHandle) -> Result<(), MediaError> {
        self.send(call, Control::Record(recorder))
    }

    /// Ends the call's media (`MediaCommand::Close`): the task finishes the
    /// recording, logs and returns its report, and closes the sockets. Await the
    /// handle to know the ports are free again. `None` for an unknown call.
    pub fn close(&mut self, call: &K) -> Option<JoinHandle<CallReport>> {
        let handle = self.calls.remove(call)?;
        // A task that already ended has nothing to stop; its handle still yields
        // the report (or its panic).
        let _ = handle.control.send(Control::Close);
        Some(handle.task)
    }

    /// Closes every call (graceful shutdown); await the handles.
    pub fn close_all(&mut self) -> Vec<JoinHandle<CallReport>> {
        let keys: Vec<K> = self.calls.keys().cloned().collect();
        keys.iter().filter_map(|k| self.close(k)).collect()
    }
}

impl MediaEngine<CallId> {
    /// Carries out one [`MediaCommand`] of the call layer — the whole wiring of
    /// `endpoint::Output::Media` is `engine.apply(command)`. `Close` gives the
    /// task's handle (await it for the [`CallReport`] and the recording);
    /// closing an unknown call is not an error (`Ok(None)`).
    pub fn apply(
        &mut self,
        command: MediaCommand,
    ) -> Result<Option<JoinHandle<CallReport>>, MediaError> {
        match command {
            MediaCommand::Open {
                call,
                leg,
                local_rtp_port,
            } => self.open(call, leg, local_rtp_port).map(|_| None),
            MediaCommand::Connect {
                call,
                caller_remote,
                agent_remote,
                caller_codec,
                agent_codec,
                caller_dtmf_pt,
                agent_dtmf_pt,
                caller_direction,
                agent_direction,
            } => self
                .connect(
                    &call,
                    LegSetup::negotiated(
                        caller_remote,
                        caller_codec,
                        caller_dtmf_pt,
                        caller_direction,
                    ),
                    LegSetup::negotiated(agent_remote, agent_codec, agent_dtmf_pt, agent_direction),
                )
                .map(|()| None),
            MediaCommand::Update {
                call,
                leg,
                remote,
                codec,
                dtmf_pt,
                direction,
            } => self
                .set_leg(
                    &call,
                    leg,
                    LegSetup::negotiated(remote, codec, dtmf_pt, direction),
                )
                .map(|()| None),
            MediaCommand::Serve {
                call,
                caller_remote,
                caller_codec,
                caller_dtmf_pt,
                caller_direction,
            } => self
                .serve(
                    &call,
                    LegSetup::negotiated(
                        caller_remote,
                        caller_codec,
                        caller_dtmf_pt,
                        caller_direction,
                    ),
                )
                .map(|()| None),
            MediaCommand::Close { call } => Ok(self.close(&call)),
        }
    }
}

/// RTP on `port` (even), RTCP on `port + 1`; with 0, any free even/odd pair.
fn bind_pair(ip: IpAddr, port: u16) -> Result<LegSockets, MediaError> {
    if port != 0 {
        if port % 2 == 1 || port == u16::MAX {
            return Err(MediaError::BadPort(port));
        }
        return Ok(LegSockets {
            rtp: bind(SocketAddr::new(ip, port))?,
            rtcp: bind(SocketAddr::new(ip, port + 1))?,
        });
    }
    let mut last = None;
    for _ in 0..64 {
        let rtp = bind(SocketAddr::new(ip, 0))?;
        let p = rtp
            .local_addr()
            .map_err(|source| MediaError::Bind {
                addr: SocketAddr::new(ip, 0),
                source,
            })?
            .port();
        if p % 2 == 1 || p == u16::MAX {
            continue;
        }
        match bind(SocketAddr::new(ip, p + 1)) {
            Ok(rtcp) => return Ok(LegSockets { rtp, rtcp }),
            Err(e) => last = Some(e),
        }
    }
    Err(last.unwrap_or(MediaError::Bind {
        addr: SocketAddr::new(ip, 0),
        source: io::Error::new(io::ErrorKind::AddrInUse, "no free even/odd port pair"),
    }))
}

fn bind(addr: SocketAddr) -> Result<UdpSocket, MediaError> {
    let err = |source| MediaError::Bind { addr, source };
    let std = StdUdpSocket::bind(addr).map_err(err)?;
    std.set_nonblocking(true).map_err(err)?;
    UdpSocket::from_std(std).map_err(err)
}

/// Adds a call's counters to the global ones (used by the task).
fn publish(counters: &RelayCounters, delta: &CallStats, recorder_dropped: u64, send_errors: u64) {
    let add = |c: &AtomicU64, v: u64| {
        if v > 0 {
            c.fetch_add(v, Ordering::Relaxed);
        }
    };
    for l in [&delta.caller, &delta.agent] {
        add(&counters.packets_in, l.rtp_in);
        add(&counters.packets_out, l.rtp_out);
        add(&counters.packets_dropped, l.dropped());
        add(&counters.rtcp_in, l.rtcp_in);
        add(&counters.dtmf_digits, l.dtmf_digits);
    }
    add(&counters.recorder_dropped_frames, recorder_dropped);
    add(&counters.send_errors, send_errors);
}

#[cfg(test)]
mod tests {
    use std::net::Ipv4Addr;

    use hotline_sip::media::LegStats;

    use super::*;

    #[tokio::test]
    async fn an_ephemeral_pair_is_even_rtp_and_the_next_odd_port_for_rtcp() {
        let ip = IpAddr::V4(Ipv4Addr::LOCALHOST);
        for _ in 0..5 {
            let s = bind_pair(ip, 0).expect("a free pair");
            let rtp = s.rtp.local_addr().expect("bound").port();
            let rtcp = s.rtcp.local_addr().expect("bound").port();
            assert_eq!(rtp % 2, 0);
            assert_eq!(rtcp, rtp + 1);
        }
    }

    #[tokio::test]
    async fn odd_and_last_ports_are_refused_and_a_taken_port_is_a_bind_error() {
        let ip = IpAddr::V4(Ipv4Addr::LOCALHOST);
        assert!(matches!(
            bind_pair(ip, 20001),
            Err(MediaError::BadPort(20001))
        ));
        assert!(matches!(
            bind_pair(ip, u16::MAX),
            Err(MediaError::BadPort(u16::MAX))
        ));
        let held = bind_pair(ip, 0).expect("pair");
        let port = held.rtp.local_addr().expect("bound").port();
        assert!(matches!(bind_pair(ip, port), Err(MediaError::Bind { .. })));
    }

    #[test]
    fn publishing_adds_both_legs_to_the_global_counters() {
        let c = RelayCounters::default();
        let leg = LegStats {
            rtp_in: 10,
            rtp_out: 9,
            rtcp_in: 1,
            malformed: 2,
            unexpected_source: 3,
            dtmf_digits: 1,
            ..LegStats::default()
        };
        publish(
            &c,
            &CallStats {
                caller: leg,
                agent: leg,
            },
            4,
            5,
        );
        let snap: HashMap<_, _> = c.snapshot().into_iter().collect();
        assert_eq!(snap["hotline_rtp_packets_received_total"], 20);
        assert_eq!(snap["hotline_rtp_packets_sent_total"], 18);
        assert_eq!(snap["hotline_rtp_packets_dropped_total"], 10);
        assert_eq!(snap["hotline_rtcp_packets_received_total"], 2);
        assert_eq!(snap["hotline_dtmf_digits_total"], 2);
        assert_eq!(snap["hotline_recording_frames_dropped_total"], 4);
        assert_eq!(snap["hotline_rtp_send_errors_total"], 5);
    }

    #[tokio::test]
    async fn a_served_caller_receives_the_clips_in_20_ms_packets_then_done() {
        let ip = IpAddr::V4(Ipv4Addr::LOCALHOST);
        let (tx, mut rx) = mpsc::channel(8);
        let (_stop, stop_rx) = watch::channel(false);
        let mut e: MediaEngine<u8> = MediaEngine::new(
            EngineSettings {
                bind_ip: ip,
                media: MediaConfig::default(),
            },
            tx,
            stop_rx,
        );
        let phone = UdpSocket::bind((ip, 0)).await.expect("phone socket");
        let ours = e.open(1, Leg::Caller, 0).expect("open");
        e.open(1, Leg::Agent, 0).expect("open");
        let phone_addr = phone.local_addr().expect("addr");
        e.serve(
            &1,
            LegSetup::new(Some(phone_addr), hotline_sip::media::Encoding::Pcma, None),
        )
        .expect("serve");
        let clip = |level: i16, n: usize| {
            hotline_ivr::PromptRef::new(hotline_ivr::Prompt::from_pcm("test", None, vec![level; n]))
        };
        let law = |c: &Clip, i: usize| c.encoded(hotline_sip::media::Encoding::Pcma)[i];
        let (one, two) = (clip(3000, 200), clip(-3000, 100));
        let silence = 0xd5;
        e.play(&1, 42, vec![one.clone(), two.clone()], false)
            .expect("play");
        let mut buf = [0u8; 2048];
        let mut got = Vec::new();
        for _ in 0..3 {
            let (n, from) = phone.recv_from(&mut buf).await.expect("a packet");
            assert_eq!(from, ours, "from the caller leg's port");
            assert_eq!(n, 12 + 160);
            assert_eq!(buf[1] & 0x7f, 8, "PCMA");
            got.push(buf[12..n].to_vec());
        }
        // A-law was chosen; each prompt's last frame is padded with silence.
        assert_eq!(got[0], vec![law(&one, 0); 160]);
        assert_eq!(&got[1][..40], &vec![law(&one, 0); 40][..]);
        assert_eq!(&got[1][40..], &[silence; 120][..]);
        assert_eq!(&got[2][..100], &vec![law(&two, 0); 100][..]);
        assert_ne!(law(&one, 0), law(&two, 0));
        assert_eq!(
            rx.recv().await,
            Some(MediaEvent::PlaybackDone { call: 1, id: 42 })
        );
        // Looped: it plays on until stopped; no PlaybackDone.
        e.play(&1, 43, vec![one.clone()], true).expect("play");
        for _ in 0..4 {
            let (n, _) = phone.recv_from(&mut buf).await.expect("a packet");
            assert_eq!(n, 172);
        }
        e.stop_playback(&1).expect("stop");
        assert!(rx.try_recv().is_err());
        let report = e.close(&1).expect("open call").await.expect("report");
        assert!(report.stats.caller.rtp_out >= 7);
    }

    #[tokio::test]
    async fn a_served_caller_without_telephone_events_keys_in_band() {
        let ip = IpAddr::V4(Ipv4Addr::LOCALHOST);
        let (tx, mut rx) = mpsc::channel(8);
        let (_stop, stop_rx) = watch::channel(false);
        let mut e: MediaEngine<u8> = MediaEngine::new(
            EngineSettings {
                bind_ip: ip,
                media: MediaConfig::default(),
            },
            tx,
            stop_rx,
        );
        let phone = UdpSocket::bind((ip, 0)).await.expect("phone socket");
        let ours = e.open(2, Leg::Caller, 0).expect("open");
        let setup = LegSetup::new(
            Some(phone.local_addr().expect("addr")),
            hotline_sip::media::Encoding::Pcma,
            None,
        );
        e.serve(&2, setup).expect("serve");
        // '7' = 852 Hz + 1209 Hz for 100 ms, then 100 ms of silence.
        let mut n = 0u32;
        for i in 0..10u16 {
            let payload: Vec<u8> = (0..160)
                .map(|_| {
                    let t = f64::from(n) / 8000.0;
                    n += 1;
                    let v = if i < 5 {
                        6000.0 * (2.0 * std::f64::consts::PI * 852.0 * t).sin()
                            + 6000.0 * (2.0 * std::f64::consts::PI * 1209.0 * t).sin()
                    } else {
                        0.0
                    };
                    hotline_sip::media::g711::alaw_encode(v as i16)
                })
                .collect();
            let mut p = vec![0x80, 8];
            p.extend_from_slice(&i.to_be_bytes());
            p.extend_from_slice(&(u32::from(i) * 160).to_be_bytes());
            p.extend_from_slice(&0x1234u32.to_be_bytes());
            p.extend_from_slice(&payload);
            phone.send_to(&p, ours).await.expect("send");
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        let ev = tokio::time::timeout(Duration::from_secs(5), rx.recv())
            .await
            .expect("a key within the guard");
        assert_eq!(
            ev,
            Some(MediaEvent::Dtmf {
                call: 2,
                leg: Leg::Caller,
                digit: '7'
            })
        );
        assert!(rx.try_recv().is_err(), "one key, once");
        e.close(&2);
    }

    #[tokio::test]
    async fn control_calls_on_an_unknown_call_are_errors() {
        let (tx, _rx) = mpsc::channel(1);
        let (_stop, stop_rx) = watch::channel(false);
        let mut e: MediaEngine<u8> = MediaEngine::new(
            EngineSettings {
                bind_ip: IpAddr::V4(Ipv4Addr::LOCALHOST),
                media: MediaConfig::default(),
            },
            tx,
            stop_rx,
        );
        let setup = LegSetup::new(None, hotline_sip::media::Encoding::Pcmu, None);
        assert!(matches!(
            e.connect(&1, setup, setup),
            Err(MediaError::UnknownCall)
        ));
        assert!(matches!(
            e.update(&1, Leg::Agent, None, Direction::SendRecv),
            Err(MediaError::UnknownCall)
        ));
        assert!(e.close(&1).is_none());
        assert!(e.close_all().is_empty());
        assert_eq!(e.local_addr(&1, Leg::Caller), None);
    }
}
