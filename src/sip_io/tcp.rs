//! SIP over TCP: an accept loop with a cap on open connections, and per
//! connection a reader (framing with [`StreamDecoder`]) and a writer fed by the
//! core. Idle connections are closed after `idle`; a message that has started but
//! not finished within `slow_message` closes the connection (slow-loris), as
//! does a message over `max_message` octets.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use hotline_sip::framing::{Frame, FramingError, StreamDecoder};
use hotline_sip::net::{Remote, Transport};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, watch, Semaphore};
use tokio::time::Instant;

use super::CoreInput;
use crate::metrics::Metrics;

/// Limits applied to every connection.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Limits {
    pub(crate) max_connections: usize,
    pub(crate) idle: Duration,
    pub(crate) slow_message: Duration,
    pub(crate) max_message: usize,
}

/// Responses queued for one connection before the core gives up on it.
const WRITER_QUEUE: usize = 256;

pub(super) async fn accept_loop(
    listener: TcpListener,
    limits: Limits,
    core: mpsc::Sender<CoreInput>,
    metrics: Arc<Metrics>,
    mut shutdown: watch::Receiver<bool>,
) {
    let permits = Arc::new(Semaphore::new(limits.max_connections));
    loop {
        let (stream, peer) = tokio::select! {
            () = super::stopped(&mut shutdown) => return,
            r = listener.accept() => match r {
                Ok(x) => x,
                Err(e) => {
                    // Out of file descriptors and the like: back off briefly.
                    tracing::warn!("TCP accept failed: {e}");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        let Ok(permit) = permits.clone().try_acquire_owned() else {
            metrics.inc(
                "hotline_sip_tcp_refused_total",
                "reason=\"max_connections\"",
            );
            tracing::warn!(%peer, "TCP connection refused: {} open", limits.max_connections);
            drop(stream);
            continue;
        };
        let core = core.clone();
        let metrics = metrics.clone();
        let shutdown = shutdown.clone();
        tokio::spawn(async move {
            connection(stream, peer, limits, core, metrics, shutdown).await;
            drop(permit);
        });
    }
}

async fn connection(
    stream: TcpStream,
    peer: SocketAddr,
    limits: Limits,
    core: mpsc::Sender<CoreInput>,
    metrics: Arc<Metrics>,
    mut shutdown: watch::Receiver<bool>,
) {
    let _ = stream.set_nodelay(true);
    let (mut reader, mut writer) = stream.into_split();
    let (tx, mut rx) = mpsc::channel::<Bytes>(WRITER_QUEUE);
    if core
        .send(CoreInput::TcpOpened {
            peer,
            writer: tx.clone(),
        })
        .await
        .is_err()
    {
        return;
    }
    let write_task = tokio::spawn(async move {
        while let Some(data) = rx.recv().await {
            if writer.write_all(&data).await.is_err() {
                break;
            }
        }
        let _ = writer.shutdown().await;
    });

    let remote = Remote {
        transport: Transport::Tcp,
        addr: peer,
    };
    let mut decoder = StreamDecoder::new(limits.max_message);
    let mut buf = vec![0u8; 16 * 1024];
    // When the message now being received started arriving.
    let mut partial_since: Option<Instant> = None;
    let reason = loop {
        let deadline = match partial_since {
            Some(t) => t + limits.slow_message,
            None => Instant::now() + limits.idle,
        };
        let n = tokio::select! {
            () = super::stopped(&mut shutdown) => break "shutdown",
            r = tokio::time::timeout_at(deadline, reader.read(&mut buf)) => match r {
                Err(_) if partial_since.is_some() => break "slow",
                Err(_) => break "idle",
                Ok(Err(_)) => break "error",
                Ok(Ok(0)) => break "closed",
                Ok(Ok(n)) => n,
            },
        };
        decoder.extend(&buf[..n]);
        let mut failed = None;
        loop {
            match decoder.next_frame() {
                Ok(Some(Frame::Message(data))) => {
                    if core
                        .send(CoreInput::Packet {
                            from: remote,
                            data,
                            at: std::time::Instant::now(),
                        })
                        .await
                        .is_err()
                    {
                        failed = Some("core stopped");
                        break;
                    }
                }
                // RFC 5626 §3.5.1: answer a CRLFCRLF ping with a CRLF pong.
                Ok(Some(Frame::Ping)) => {
                    let _ = tx.try_send(Bytes::from_static(b"\r\n"));
                }
                Ok(None) => break,
                Err(e) => {
                    failed = Some(match e {
                        FramingError::TooLarge { .. } => "too_large",
                        FramingError::ContentLength => "bad_content_length",
                    });
                    break;
                }
            }
        }
        if let Some(why) = failed {
            break why;
        }
        partial_since = match (decoder.buffered(), partial_since) {
            (0, _) => None,
            (_, Some(t)) => Some(t),
            (_, None) => Some(Instant::now()),
        };
    };
    match reason {
        "closed" | "shutdown" => tracing::debug!(%peer, "TCP connection closed ({reason})"),
        "too_large" | "bad_content_length" => {
            metrics.inc("hotline_sip_parse_errors_total", "transport=\"tcp\"");
            metrics.inc(
                "hotline_sip_tcp_refused_total",
                format!("reason=\"{reason}\""),
            );
            tracing::info!(%peer, "TCP connection closed: {reason}");
        }
        _ => {
            metrics.inc(
                "hotline_sip_tcp_refused_total",
                format!("reason=\"{reason}\""),
            );
            tracing::debug!(%peer, "TCP connection closed: {reason}");
        }
    }
    let _ = core.send(CoreInput::TcpClosed { peer }).await;
    drop(tx);
    // Let queued responses go out before the socket closes.
    let _ = tokio::time::timeout(Duration::from_secs(2), write_task).await;
}
