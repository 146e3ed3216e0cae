//! Wiring: binds the SIP and HTTP sockets, starts their tasks, and stops them
//! gracefully (in-flight SIP transactions are abandoned only after the sockets
//! stop accepting new work).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use hotline_config::Config;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::dialing::Dialer;
use crate::http::{self, auth::SessionStore, AppState};
use crate::metrics::Metrics;
use crate::outbound::{Outbound, OutboundSettings};
use crate::sip_io;
use hotline_recordings::CallStore;
use hotline_ticketing::store::{Backend, Store as TicketStore};

/// A running server. Dropping it without [`Server::shutdown`] leaves the tasks
/// running until the runtime ends.
pub struct Server {
    pub sip_addr: SocketAddr,
    pub http_addr: SocketAddr,
    pub metrics: Arc<Metrics>,
    /// The SIP core (queries and the live event bus).
    pub sip: sip_io::SipHandle,
    /// The work-order store (tests reach in to inject failures).
    pub tickets: TicketStore,
    /// The work-order rules the server runs on (tests run sweeps with them).
    pub rules: Arc<hotline_ticketing::TicketRules>,
    shutdown: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
}

/// Binds everything the configuration asks for and starts serving. Port 0 in
/// `[sip] listen` or `[http] listen` picks free ports (the tests do this); the
/// bound addresses are in the returned [`Server`].
pub async fn start(config: Config) -> anyhow::Result<Server> {
    // The SIP core places the outbound calls through `[trunk.outbound]`;
    // without a trunk, survey calls are "not placed" (they wait) and
    // callbacks fail with a clear reason.
    start_with_dialer(config, sip_io::SipHandle::clone).await
}

/// [`start`] with the dialer of outbound calls (survey campaign, callback
/// tasks) made from the SIP core's handle; tests pass a fake.
pub async fn start_with_dialer<D: Dialer>(
    config: Config,
    dialer: impl FnOnce(&sip_io::SipHandle) -> D,
) -> anyhow::Result<Server> {
    let config = Arc::new(config);
    let metrics = Arc::new(Metrics::new());
    let (shutdown_tx, shutdown_rx) = watch::channel(false);

    let rules = Arc::new(crate::ticket_rules::from_config(&config).context("work-order rules")?);
    let (store, tickets) = open_storage(&config).await?;
    let credentials = Arc::new(
        http::auth::Credentials::from_config(&config)
            .map_err(|e| anyhow::anyhow!("HTTP log-in passwords: {e}"))?,
    );
    let sip = sip_io::start(
        &config,
        metrics.clone(),
        Some(store.clone()),
        Some(tickets.clone()),
        shutdown_rx.clone(),
    )
    .await
    .context("starting SIP")?;

    let listener = tokio::net::TcpListener::bind(config.http.listen)
        .await
        .with_context(|| format!("binding HTTP on {}", config.http.listen))?;
    let http_addr = listener.local_addr()?;
    let outbound = Outbound::new(dialer(&sip.handle), OutboundSettings::from_config(&config));
    let state = AppState {
        outbound: outbound.clone(),
        config: config.clone(),
        metrics: metrics.clone(),
        sip: sip.handle.clone(),
        store: store.clone(),
        tickets: tickets.clone(),
        credentials,
        rules: rules.clone(),
        sessions: Arc::new(SessionStore::new(Duration::from_secs(
            config.http.token_ttl_s,
        ))),
        shutdown: shutdown_rx.clone(),
        play_tickets: Arc::default(),
    };
    let app = http::router(state).into_make_service_with_connect_info::<SocketAddr>();
    let mut http_shutdown = shutdown_rx.clone();
    let http_task = tokio::spawn(async move {
        let result = axum::serve(listener, app)
            .with_graceful_shutdown(async move {
                let _ = http_shutdown.wait_for(|stop| *stop).await;
            })
            .await;
        if let Err(e) = result {
            tracing::error!("HTTP server failed: {e}");
        }
    });

    let mut tasks = sip.tasks;
    tasks.push(http_task);
    tasks.push(tokio::spawn(supervision_timer(
        tickets.clone(),
        rules.clone(),
        sip.handle.clone(),
        shutdown_rx.clone(),
    )));
    if config.survey.enabled {
        let bus = sip.handle.clone();
        tasks.push(tokio::spawn(crate::outbound::campaign::run(
            outbound,
            tickets.clone(),
            rules.clone(),
            Arc::new(move |event| bus.publish(event)),
            shutdown_rx.clone(),
        )));
    }
    Ok(Server {
        sip_addr: sip.local_addr,
        http_addr,
        metrics,
        sip: sip.handle,
        tickets,
        rules,
        shutdown: shutdown_tx,
        tasks,
    })
}

/// How often the supervision sweep runs (§26). Deadlines are minutes (30 min
/// to respond) to days, so a minute late is precise enough.
const SWEEP_INTERVAL: Duration = Duration::from_secs(60);

/// Runs the domain's supervision sweep every [`SWEEP_INTERVAL`] until shutdown.
async fn supervision_timer(
    tickets: TicketStore,
    rules: Arc<hotline_ticketing::TicketRules>,
    sip: sip_io::SipHandle,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut tick = tokio::time::interval(SWEEP_INTERVAL);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = shutdown.wait_for(|stop| *stop) => return,
        }
        match supervision_sweep(&tickets, &rules, &sip, time::OffsetDateTime::now_utc()).await {
            Ok(0) => {}
            Ok(count) => tracing::info!(count, "supervision records raised"),
            Err(e) => tracing::error!("supervision sweep failed: {e}"),
        }
    }
}

/// One supervision sweep at `now` (§26): stores the records it raises and
/// publishes each new one on the live bus as `supervision_raised`; how many.
///
/// # Errors
/// The store's, when the sweep cannot read or write.
pub async fn supervision_sweep(
    tickets: &TicketStore,
    rules: &hotline_ticketing::TicketRules,
    sip: &sip_io::SipHandle,
    now: time::OffsetDateTime,
) -> Result<usize, hotline_ticketing::store::Error> {
    let raised = tickets.run_sweep(now, rules).await?;
    for record in &raised {
        sip.publish(http::events::supervision_raised(record));
    }
    Ok(raised.len())
}

/// Creates the data directories, repairs recordings a crash left unfinished,
/// and opens the database (running its migrations).
async fn open_storage(config: &Config) -> anyhow::Result<(CallStore, TicketStore)> {
    let data_dir = &config.storage.data_dir;
    let recordings = config.storage.recordings_dir();
    tokio::fs::create_dir_all(&recordings)
        .await
        .with_context(|| format!("creating {}", recordings.display()))?;
    let dir = recordings.clone();
    let repaired = tokio::task::spawn_blocking(move || hotline_recordings::repair_dir(&dir))
        .await
        .context("repairing recordings")?;
    match repaired {
        Ok(reports) => {
            for r in reports {
                tracing::warn!(
                    path = %r.info.path.display(),
                    truncated = r.truncated_bytes,
                    "recording left unfinished by a crash was repaired"
                );
            }
        }
        Err(e) => tracing::error!(
            "cannot scan {} for unfinished recordings: {e}",
            recordings.display()
        ),
    }
    let url = config.storage.database_url();
    let (calls, tickets) = open_database(&url)
        .await
        .with_context(|| format!("opening the database (data_dir {})", data_dir.display()))?;
    Ok((calls, tickets))
}

/// Opens the database at `url` (SQLite or PostgreSQL) and runs both
/// migration sets: the recordings index and the work-order store.
pub async fn open_database(url: &str) -> anyhow::Result<(CallStore, TicketStore)> {
    let backend = Backend::of_url(url)
        .with_context(|| "storage.database_url must start with sqlite: or postgres:")?;
    let pool = hotline_ticketing::store::connect_pool(url).await?;
    hotline_recordings::migrator()
        .run(&pool)
        .await
        .context("migrating the recordings index")?;
    let tickets = TicketStore::open(pool.clone(), backend)
        .await
        .context("migrating the work-order store")?;
    Ok((CallStore::from_pool(pool), tickets))
}

impl Server {
    /// Stops accepting, lets tasks finish, and waits for them (at most 10 s).
    pub async fn shutdown(self) {
        let _ = self.shutdown.send(true);
        let all = futures_join_all(self.tasks);
        if tokio::time::timeout(Duration::from_secs(10), all)
            .await
            .is_err()
        {
            tracing::warn!("some tasks did not stop within 10 s");
        }
    }
}

async fn futures_join_all(tasks: Vec<JoinHandle<()>>) {
    for t in tasks {
        let _ = t.await;
    }
}
