//! The SIP I/O driver: the tokio side of the sans-IO [`hotline_sip::endpoint`].
//!
//! One *core* task owns the [`Endpoint`] and is the only code that touches it.
//! Socket tasks ([`udp`], [`tcp`]) turn what they read into [`CoreInput`]s on a
//! bounded channel; the core feeds them to the endpoint, drains every output
//! ("drain all output after every input"), writes transmits to the right socket or
//! connection, and sleeps until the endpoint's next timer. No lock is shared with
//! the socket tasks; TCP connections are reached through their writer channels,
//! which the core keeps in a map keyed by the peer address.

mod callback_requests;
mod calls;
mod drafts;
mod emergency;
mod events;
mod handle;
mod handoff;
mod hosting;
mod outbound;
mod tcp;
mod udp;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use anyhow::Context;
use bytes::Bytes;
use hotline_config::{Config, DigestAlgorithm};
use hotline_sip::digest::Algorithm;
use hotline_sip::endpoint::{Endpoint, EndpointConfig, Output};
use hotline_sip::net::{Remote, Transport};
use hotline_sip::registrar::{Account, RegistrarConfig};
use hotline_sip::transaction::TimerConfig;
use tokio::net::{TcpListener, UdpSocket};
use tokio::sync::{broadcast, mpsc, oneshot, watch};
use tokio::task::JoinHandle;

use calls::CallBook;
use hotline_recordings::CallStore;
use hotline_sip::call::{CallId, MediaCommand};

use emergency::Linkage;
pub use emergency::{EmergencyRoutes, TransferError};
use events::RateLimit;
use handle::BUS_CAPACITY;
pub use handle::{LiveCall, LiveEvent, SipHandle, SurveyHandoff, TransferRequest};
use hosting::HostingQuery;
pub use hosting::{AnnouncementView, HostingError};

use crate::http::BindingSnapshot;
use crate::media::{EngineSettings, MediaEngine, MediaEvent};
use crate::metrics::{Direction, Metrics};

/// Depth of the socket → core channel. A full channel drops UDP datagrams (the
/// peer retransmits) and applies back-pressure to TCP readers.
const CORE_QUEUE: usize = 4096;

/// A UDP request that waited longer than this in the core's queue is dropped
/// unanswered: the client's first retransmission (T1 = 500 ms) is on its way,
/// and answering stale copies under overload is what turns a burst into a
/// retransmission collapse (measured in BENCHMARKS.md).
const STALE_UDP: Duration = Duration::from_millis(250);

/// Receive buffer asked for the SIP UDP socket: the kernel default (≈208 KiB,
/// ~170 REGISTERs) overflows during short scheduling stalls at a few thousand
/// requests per second.
const UDP_RECV_BUFFER: usize = 4 << 20;

/// Queue depth behind a packet above which the core counts as backlogged. Only
/// then are stale UDP requests dropped: when the core was merely descheduled
/// (media load on a small machine) the queue is short, and dropping every
/// stale copy would fail calls whose retransmissions wait just as long.
const BACKLOG: usize = 256;

/// What the socket tasks hand the core.
#[derive(Debug)]
pub(crate) enum CoreInput {
    Packet {
        from: Remote,
        data: Bytes,
        /// When the socket task read it (UDP requests that waited too long in
        /// the queue are dropped: the phone has retransmitted already).
        at: Instant,
    },
    TcpOpened {
        peer: SocketAddr,
        writer: mpsc::Sender<Bytes>,
    },
    TcpClosed {
        peer: SocketAddr,
    },
    /// The HTTP API asks for the live bindings.
    Bindings(oneshot::Sender<Vec<BindingSnapshot>>),
    /// The HTTP API asks for the live calls.
    Calls(oneshot::Sender<Vec<LiveCall>>),
    /// The HTTP API asks to transfer a call to an emergency line.
    Transfer {
        request: TransferRequest,
        reply: oneshot::Sender<Result<String, TransferError>>,
    },
    /// The HTTP API asks to release the agent of a call and keep the caller
    /// for the survey.
    HandToSurvey {
        request: SurveyHandoff,
        reply: oneshot::Sender<Result<(), TransferError>>,
    },
    /// The HTTP API asks the contact centre (agent states, queues, calls).
    Hosting(HostingQuery),
    /// The survey scheduler or a callback task asks for an outbound call.
    Outbound(outbound::OutboundRequest),
    /// A recorder opened its file for an answered call.
    RecorderReady {
        call: CallId,
        handle: hotline_recordings::RecorderHandle,
    },
}

/// The running SIP side.
pub struct SipIo {
    pub local_addr: SocketAddr,
    pub handle: SipHandle,
    pub tasks: Vec<JoinHandle<()>>,
}

/// Binds UDP and TCP on `[sip] listen` (the same port for both) and starts the
/// core and socket tasks.
pub async fn start(
    config: &Config,
    metrics: Arc<Metrics>,
    store: Option<CallStore>,
    tickets: Option<hotline_ticketing::store::Store>,
    shutdown: watch::Receiver<bool>,
) -> anyhow::Result<SipIo> {
    let (udp_socket, tcp_listener) = bind_pair(config.sip.listen).await?;
    let local_addr = udp_socket.local_addr()?;
    let udp_socket = Arc::new(udp_socket);

    let algorithms: Vec<Algorithm> = config
        .sip
        .digest_algorithms
        .iter()
        .map(|a| match a {
            DigestAlgorithm::Md5 => Algorithm::Md5,
            DigestAlgorithm::Sha256 => Algorithm::Sha256,
        })
        .collect();
    let centre = hosting::build(config)?;
    let records = store
        .as_ref()
        .map(|s| crate::contact::records::ContactRecords::new(s.pool().clone()));
    let mut ep_config = endpoint_config(config, local_addr.port());
    ep_config.hosted = centre.is_some();
    let mut endpoint = Endpoint::new(ep_config, rand::random()).with_digest_algorithms(&algorithms);
    let trunk = outbound::resolve_trunk(&config.trunk.outbound).await;
    let has_trunk = trunk.is_some();
    endpoint.set_trunk(trunk);
    let mut centre = centre;
    if let Some(c) = centre.as_mut() {
        callback_requests::start(c, config, has_trunk, records.as_ref()).await;
    }
    let callback_writes = records.clone().map(callback_requests::writer);
    let (core_tx, core_rx) = mpsc::channel(CORE_QUEUE);
    let (bus, _) = broadcast::channel(BUS_CAPACITY);
    let handle = SipHandle {
        core: core_tx.clone(),
        bus: bus.clone(),
    };

    let (media_tx, media_rx) = mpsc::channel(1024);
    let media = MediaEngine::new(
        EngineSettings::from_config(config),
        media_tx,
        shutdown.clone(),
    );
    metrics.attach_relay(media.counters());
    let book = CallBook::new(store, config.storage.recordings_dir(), core_tx.clone());
    let emergency = EmergencyRoutes::resolve(&config.emergency).await;
    let core = Core {
        drafts: tickets.map(drafts::DraftWriter::new),
        bus,
        centre,
        records,
        emergency,
        transfers: HashMap::new(),
        endpoint,
        media,
        media_events: media_rx,
        book,
        udp: udp_socket.clone(),
        tcp_writers: HashMap::new(),
        metrics: metrics.clone(),
        registered_contacts: 0,
        backlogged: false,
        parse_warnings: RateLimit::new(Duration::from_secs(10)),
        surveys: HashMap::new(),
        callbacks: HashMap::new(),
        callback_writes,
    };
    let tasks = vec![
        tokio::spawn(core.run(core_rx, shutdown.clone())),
        tokio::spawn(udp::receive_loop(
            udp_socket,
            core_tx.clone(),
            metrics.clone(),
            shutdown.clone(),
        )),
        tokio::spawn(tcp::accept_loop(
            tcp_listener,
            tcp::Limits {
                max_connections: config.sip.tcp_max_connections,
                idle: Duration::from_secs(config.sip.tcp_idle_timeout_s),
                slow_message: Duration::from_secs(30),
                max_message: config.sip.max_message_bytes,
            },
            core_tx,
            metrics,
            shutdown,
        )),
    ];
    tracing::info!(%local_addr, "SIP listening on UDP and TCP");
    Ok(SipIo {
        local_addr,
        handle,
        tasks,
    })
}

/// UDP and TCP on one address. With port 0 the UDP port is chosen first and TCP
/// takes the same number (retrying if another process holds it on TCP).
async fn bind_pair(addr: SocketAddr) -> anyhow::Result<(UdpSocket, TcpListener)> {
    for _ in 0..20 {
        let udp = UdpSocket::bind(addr)
            .await
            .with_context(|| format!("binding SIP UDP on {addr}"))?;
        let actual = udp.local_addr()?;
        let sock = socket2::SockRef::from(&udp);
        if let Err(e) = sock.set_recv_buffer_size(UDP_RECV_BUFFER) {
            tracing::warn!("cannot enlarge the SIP UDP receive buffer: {e}");
        }
        tracing::debug!(
            granted = sock.recv_buffer_size().unwrap_or(0),
            "SIP UDP receive buffer"
        );
        match TcpListener::bind(actual).await {
            Ok(tcp) => return Ok((udp, tcp)),
            Err(e) if addr.port() == 0 => {
                tracing::debug!("TCP port {} taken ({e}); trying another", actual.port());
            }
            Err(e) => return Err(e).with_context(|| format!("binding SIP TCP on {addr}")),
        }
    }
    anyhow::bail!("no port free for both UDP and TCP on {}", addr.ip())
}

fn endpoint_config(config: &Config, sip_port: u16) -> EndpointConfig {
    let sip = &config.sip;
    EndpointConfig {
        public_addr: sip.public_addr,
        sip_port,
        rtp_ports: (sip.rtp_ports.low, sip.rtp_ports.high),
        hotline_numbers: config
            .hotline
            .numbers
            .iter()
            .map(|d| d.number.clone())
            .collect(),
        trusted_trunks: config
            .hotline
            .trusted_trunks
            .iter()
            .map(|n| (n.addr(), n.prefix_len()))
            .collect(),
        ring_timeout: config
            .queues
            .first()
            .map_or(hotline_sip::endpoint::DEFAULT_RING_TIMEOUT, |q| {
                Duration::from_secs(q.ring_timeout_s)
            }),
        // Hosting (IVR, queues) is switched on by the contact-centre wiring.
        hosted: false,
        emergency_numbers: config.emergency.numbers.clone(),
        timers: TimerConfig::default(),
        registrar: RegistrarConfig {
            realm: sip.domain.clone(),
            min_expires: sip.min_expires,
            max_expires: sip.max_expires,
            default_expires: sip.default_expires,
            nonce_ttl: Duration::from_secs(sip.nonce_ttl_s),
            max_failures: sip.auth_max_failures,
            failure_window: Duration::from_secs(sip.auth_failure_window_s),
            lockout: Duration::from_secs(sip.auth_lockout_s),
            accounts: config
                .agents
                .iter()
                .map(|a| Account {
                    user: a.id.clone(),
                    password: a.password.clone(),
                })
                .collect(),
        },
        server_name: format!("hotline/{}", env!("CARGO_PKG_VERSION")),
    }
}

struct Core {
    endpoint: Endpoint,
    /// Work-order drafts of answered calls (absent without a database).
    drafts: Option<drafts::DraftWriter>,
    /// The live event bus (see [`SipHandle::subscribe`]).
    bus: broadcast::Sender<LiveEvent>,
    /// Menus, queues and surveys (`[hotline] routing = "ivr"`).
    centre: Option<crate::contact::ContactCentre>,
    records: Option<crate::contact::records::ContactRecords>,
    emergency: EmergencyRoutes,
    /// Emergency transfers in progress, completed by the call's events.
    transfers: HashMap<CallId, Linkage>,
    media: MediaEngine<CallId>,
    media_events: mpsc::Receiver<MediaEvent<CallId>>,
    book: CallBook,
    udp: Arc<UdpSocket>,
    tcp_writers: HashMap<SocketAddr, mpsc::Sender<Bytes>>,
    metrics: Arc<Metrics>,
    /// Whether the packet being handled had a long queue behind it.
    backlogged: bool,
    /// Bound contacts, kept from registrar events (a gauge without a scan).
    registered_contacts: i64,
    parse_warnings: RateLimit,
    /// Outbound survey calls in progress (`outbound.rs`).
    surveys: HashMap<CallId, outbound::SurveyRun>,
    /// Callbacks whose outcome is not known yet (`outbound.rs`).
    callbacks: HashMap<CallId, outbound::CallbackRun>,
    /// Writes to `callback_requests`, in order (`callback_requests.rs`).
    callback_writes: Option<mpsc::UnboundedSender<callback_requests::CallbackWrite>>,
}

impl Core {
    async fn run(mut self, mut rx: mpsc::Receiver<CoreInput>, mut shutdown: watch::Receiver<bool>) {
        loop {
            let deadline = [
                self.endpoint.poll_timeout(),
                self.centre.as_ref().and_then(|c| c.poll_timeout()),
                self.outbound_wake(),
            ]
            .into_iter()
            .flatten()
            .min();
            tokio::select! {
                () = stopped(&mut shutdown) => break,
                input = rx.recv() => match input {
                    Some(input) => {
                        self.backlogged = rx.len() > BACKLOG;
                        self.handle(input)
                    }
                    None => break,
                },
                () = sleep_until(deadline) => {
                    self.endpoint.handle_timeout(Instant::now());
                    self.hosting_timeout();
                    self.outbound_timeout();
                }
                Some(event) = self.media_events.recv() => self.media_event(event),
            }
            self.drain().await;
        }
        self.stop().await;
        tracing::debug!("SIP core stopped");
    }

    /// Graceful stop: hang up every call (BYE to both legs), close the media
    /// (which finishes the recordings) and write the call records.
    async fn stop(&mut self) {
        let now = Instant::now();
        for call in self.endpoint.calls() {
            self.endpoint.hang_up(now, call.id);
        }
        self.drain().await;
        for report in self.media.close_all() {
            drop(report);
        }
        self.book.flush(Duration::from_secs(5)).await;
    }

    fn media_event(&mut self, event: MediaEvent<CallId>) {
        match event {
            MediaEvent::Timeout { call, leg } => {
                tracing::warn!(%call, leg = leg.as_str(), "no RTP for the media timeout; hanging up");
                self.endpoint.media_timeout(Instant::now(), call, leg);
            }
            MediaEvent::Dtmf { call, leg, digit } => {
                tracing::debug!(%call, leg = leg.as_str(), %digit, "DTMF");
                if leg == hotline_sip::media::Leg::Caller && !self.outbound_digit(call, digit) {
                    self.hosting_digit(call, digit);
                }
            }
            MediaEvent::PlaybackDone { call, id } => {
                tracing::debug!(%call, id, "playback done");
                if !self.outbound_playback_done(call, id) {
                    self.hosting_playback_done(call, id);
                }
            }
        }
    }

    fn handle(&mut self, input: CoreInput) {
        match input {
            CoreInput::Packet { from, data, at } => {
                let now = Instant::now();
                if from.transport == Transport::Udp
                    && self.backlogged
                    && now.saturating_duration_since(at) > STALE_UDP
                    && !data.starts_with(b"SIP/2.0 ")
                {
                    // Overload: answering a request this old only feeds the
                    // retransmission storm (Timer E/A fired at 500 ms); the copy
                    // behind it in the queue gets the answer instead.
                    self.metrics.inc("hotline_sip_stale_dropped_total", "");
                    return;
                }
                self.metrics.sip_message(Direction::In, &data);
                self.endpoint.handle_bytes(now, from, data);
            }
            CoreInput::TcpOpened { peer, writer } => {
                self.tcp_writers.insert(peer, writer);
                self.metrics.set_gauge(
                    "hotline_sip_tcp_connections",
                    "",
                    gauge(self.tcp_writers.len()),
                );
            }
            CoreInput::Bindings(reply) => {
                let _ = reply.send(self.bindings_snapshot());
            }
            CoreInput::Calls(reply) => {
                let now = Instant::now();
                let list = self
                    .endpoint
                    .calls()
                    .into_iter()
                    .map(|c| LiveCall {
                        id: c.id.to_string(),
                        state: format!("{:?}", c.state).to_lowercase(),
                        caller_number: c.caller_number,
                        did: c.did,
                        agent: c.agent,
                        ringing: c.ringing,
                        transferred_to: c.transferred_to,
                        internal: c.internal,
                        duration_s: now.saturating_duration_since(c.started).as_secs(),
                        talking_s: c
                            .answered
                            .map(|a| now.saturating_duration_since(a).as_secs()),
                    })
                    .collect();
                let _ = reply.send(list);
            }
            CoreInput::Transfer { request, reply } => {
                let r = self.transfer(
                    &request.call,
                    &request.number,
                    &request.by,
                    request.supervisor,
                );
                let _ = reply.send(r);
            }
            CoreInput::HandToSurvey { request, reply } => {
                let r = self.hand_to_survey(&request.call, &request.by, request.supervisor);
                let _ = reply.send(r);
            }
            CoreInput::Hosting(q) => self.hosting_query(q),
            CoreInput::Outbound(request) => self.outbound_request(request),
            CoreInput::RecorderReady { call, handle } => {
                calls::recorder_ready(&self.media, call, handle);
            }
            CoreInput::TcpClosed { peer } => {
                self.tcp_writers.remove(&peer);
                self.metrics.set_gauge(
                    "hotline_sip_tcp_connections",
                    "",
                    gauge(self.tcp_writers.len()),
                );
            }
        }
    }

    async fn drain(&mut self) {
        while let Some(out) = self.endpoint.poll_output() {
            match out {
                Output::Transmit { to, data } => self.transmit(to, data).await,
                Output::Event(event) => self.event(event),
                Output::Media(command) => self.media(command),
            }
        }
        self.metrics.set_gauge(
            "hotline_sip_transactions",
            "",
            gauge(self.endpoint.transaction_count()),
        );
        // The API queries bindings on demand; nothing to publish here.
        let _ = self.endpoint.take_bindings_changed();
        self.book.finalize_ended();
        let (outbound_up, outbound_peak) = self.endpoint.outbound_counts();
        self.metrics
            .set_gauge("hotline_outbound_calls_active", "", gauge(outbound_up));
        self.metrics
            .set_gauge("hotline_outbound_calls_peak", "", gauge(outbound_peak));
        self.metrics
            .set_gauge("hotline_calls_active", "", gauge(self.book.active()));
    }

    async fn transmit(&mut self, to: Remote, data: Bytes) {
        self.metrics.sip_message(Direction::Out, &data);
        match to.transport {
            Transport::Udp => {
                if let Err(e) = self.udp.send_to(&data, to.addr).await {
                    tracing::debug!(%to, "UDP send failed: {e}");
                }
            }
            Transport::Tcp => match self.tcp_writers.get(&to.addr) {
                Some(w) => {
                    if w.try_send(data).is_err() {
                        // A peer that does not read its responses loses the connection.
                        tracing::debug!(%to, "TCP writer full or closed; dropping connection");
                        self.tcp_writers.remove(&to.addr);
                    }
                }
                None => tracing::debug!(%to, "no TCP connection for response; dropped"),
            },
        }
    }

    /// Carries out a media command of the call layer.
    fn media(&mut self, command: MediaCommand) {
        let call = command.call();
        let opening = match &command {
            MediaCommand::Open { local_rtp_port, .. } => Some(*local_rtp_port),
            _ => None,
        };
        match self.media.apply(command) {
            Ok(Some(report)) => self.book.on_media_closed(call, report),
            Ok(None) => {}
            Err(e) => {
                tracing::error!(%call, "media: {e}; ending the call");
                self.metrics.inc("hotline_media_errors_total", "");
                match opening {
                    // A port in our range is held by another process: that
                    // pair is quarantined and the caller gets 503.
                    Some(port) => self.endpoint.media_failed(Instant::now(), call, port),
                    None => self.endpoint.hang_up(Instant::now(), call),
                };
            }
        }
    }

    fn bindings_snapshot(&self) -> Vec<BindingSnapshot> {
        let now = Instant::now();
        let wall = SystemTime::now();
        self.endpoint
            .registrar()
            .bindings(now)
            .into_iter()
            .map(|b| BindingSnapshot {
                user: b.user,
                contact: b.contact,
                source: b.source.to_string(),
                expires_at: wall + b.expires_at.saturating_duration_since(now),
            })
            .collect()
    }
}

fn gauge(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(d) => tokio::time::sleep_until(d.into()).await,
        None => std::future::pending().await,
    }
}

/// Resolves once shutdown has been requested (the guard `wait_for` returns is
/// dropped here, so callers' futures stay `Send`).
pub(crate) async fn stopped(shutdown: &mut watch::Receiver<bool>) {
    let _ = shutdown.wait_for(|stop| *stop).await;
}
