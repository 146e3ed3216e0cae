//! The UDP receive loop: one socket, one task, datagrams to the core.

use std::sync::Arc;

use bytes::Bytes;
use hotline_sip::net::{Remote, Transport};
use tokio::net::UdpSocket;
use tokio::sync::{mpsc, watch};

use super::CoreInput;
use crate::metrics::Metrics;

pub(super) async fn receive_loop(
    socket: Arc<UdpSocket>,
    core: mpsc::Sender<CoreInput>,
    metrics: Arc<Metrics>,
    mut shutdown: watch::Receiver<bool>,
) {
    // The largest possible UDP payload; SIP over UDP is far smaller in practice.
    let mut buf = vec![0u8; 65_535];
    loop {
        let (n, addr) = tokio::select! {
            () = super::stopped(&mut shutdown) => return,
            r = socket.recv_from(&mut buf) => match r {
                Ok(x) => x,
                Err(e) => {
                    // ICMP port-unreachable surfaces here on some systems; keep going.
                    tracing::debug!("UDP receive error: {e}");
                    continue;
                }
            },
        };
        if buf[..n].iter().all(|&b| b == b'\r' || b == b'\n' || b == 0) {
            // Keep-alive (RFC 5626 §4.4.1 CRLF, or NAT pings): nothing to parse.
            continue;
        }
        let input = CoreInput::Packet {
            from: Remote {
                transport: Transport::Udp,
                addr,
            },
            data: Bytes::copy_from_slice(&buf[..n]),
            at: std::time::Instant::now(),
        };
        if core.try_send(input).is_err() {
            metrics.inc("hotline_sip_udp_dropped_total", "");
        }
    }
}
