//! Live events over WebSocket: `GET /api/events` (protocol v1, the contract
//! in README "Live events").
//!
//! A connection authenticates (token in the query or as the first message
//! within [`AUTH_WAIT`]), then gets `hello`, a role-filtered `snapshot`, and
//! the live bus's events through its [`EventFilter`]. The bus is subscribed
//! to *before* the snapshot is read, so no event falls between the two (an
//! event may repeat what the snapshot already shows; clients apply both).
//!
//! Each connection is two tasks:
//!
//! ```text
//! bus ──recv──► pump (filter, try_send) ──► queue (256) ──► writer ──► socket
//!                 ▲ client frames (auth, ping, close)         └─ WebSocket ping every 20 s
//! ```
//!
//! The pump never waits for the client: when the queue is full, or the bus
//! reports the pump lagged, the connection is closed with 4408 ("too slow")
//! and the client reconnects for a fresh snapshot. So the SIP core (which
//! only `send`s on a broadcast channel) and the other clients never wait for
//! a slow one. The close frame itself may wait [`CLOSE_GRACE`] for a client
//! that stopped reading; then the socket is dropped.

use std::time::{Duration, SystemTime};

use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocket, WebSocketUpgrade};
use axum::extract::{RawQuery, State};
use axum::response::Response;
use futures_util::stream::{SplitSink, SplitStream};
use futures_util::{SinkExt, StreamExt};
use hotline_ticketing::supervision::SupervisionRecord;
use hotline_ticketing::WorkOrder;
use serde_json::{json, Value};
use tokio::sync::{broadcast, mpsc, oneshot, watch};
use tokio::time::Instant;

use super::auth::{Principal, Role};
use super::events_filter::{call_visibility, sees_agent, sees_queues, CallVisibility, EventFilter};
use super::{rfc3339, AppState};

/// Messages a connection may have queued before it counts as too slow.
pub const QUEUE_CAPACITY: usize = 256;
/// How often the server pings.
pub const PING_EVERY: Duration = Duration::from_secs(20);
/// How long a connection without a token in the URL has to send one.
pub const AUTH_WAIT: Duration = Duration::from_secs(10);
/// How long a closing connection may take to accept the close frame.
pub const CLOSE_GRACE: Duration = Duration::from_secs(10);
/// Close code: missing, invalid or expired token.
pub const CLOSE_UNAUTHORISED: u16 = 4401;
/// Close code: the client fell too far behind.
pub const CLOSE_TOO_SLOW: u16 = 4408;
/// Close code: the server is shutting down (RFC 6455 §7.4.1 "going away").
pub const CLOSE_GOING_AWAY: u16 = 1001;

/// The units an order is dispatched to: lead first, then co-handlers.
fn units_of(order: &WorkOrder) -> Vec<String> {
    order.assignment.as_ref().map_or_else(Vec::new, |a| {
        std::iter::once(&a.lead)
            .chain(&a.co_handlers)
            .map(|u| u.0.clone())
            .collect()
    })
}

/// `order_changed`: after an order's creation or a lifecycle step through
/// the API. `action` is `create` or the step (`dispatch`, `sign`, …);
/// `before` is the order before the step (`None` for a creation): units that
/// lost the order in the step (an approved return, a re-dispatch) are listed
/// in `former_units` so they hear of it too.
pub fn order_changed(
    before: Option<&WorkOrder>,
    order: &WorkOrder,
    action: &str,
    by: &str,
) -> Value {
    let assignment = order.assignment.as_ref();
    let now = units_of(order);
    let former: Vec<String> = before
        .map(units_of)
        .unwrap_or_default()
        .into_iter()
        .filter(|u| !now.contains(u))
        .collect();
    json!({
        "type": "order_changed",
        "number": order.number.to_string(),
        "state": order.state.as_str(),
        "action": action,
        "lead_unit": assignment.map(|a| a.lead.0.clone()),
        "co_units": assignment.map_or_else(Vec::new, |a| a.co_handlers.iter().map(|u| u.0.clone()).collect()),
        "former_units": former,
        "by": by,
        "created_by": order.created_by.0,
        "at": rfc3339::format(SystemTime::now()),
    })
}

/// `supervision_raised`: a record the sweep raised (`id` is its key).
pub fn supervision_raised(record: &SupervisionRecord) -> Value {
    json!({
        "type": "supervision_raised",
        "id": record.key,
        "kind": record.kind.as_str(),
        "order_number": record.order.as_ref().map(ToString::to_string),
        "unit": record.unit.as_ref().map(|u| u.0.clone()),
        "tier": record.tier.as_str(),
        "raised_at": record
            .raised_at
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap_or_default(),
    })
}

/// `GET /api/events`: the live event stream.
#[utoipa::path(get, path = "/api/events", tag = "events",
    params(("token" = Option<String>, Query,
        description = "The session token; without it, send {\"type\":\"auth\",\"token\":\"…\"} first")),
    responses((status = 101, description = "WebSocket: hello, snapshot, then live events (see README \"Live events\")")))]
pub(super) async fn events(
    State(state): State<AppState>,
    RawQuery(query): RawQuery,
    ws: WebSocketUpgrade,
) -> Response {
    let token = query.and_then(|q| {
        form_urlencoded::parse(q.as_bytes())
            .find(|(k, _)| k == "token")
            .map(|(_, v)| v.into_owned())
    });
    ws.max_message_size(64 * 1024)
        .on_upgrade(move |socket| connection(state, socket, token))
}

fn text(v: &Value) -> Message {
    Message::Text(Utf8Bytes::from(v.to_string()))
}

fn close(code: u16, reason: &'static str) -> Message {
    Message::Close(Some(CloseFrame {
        code,
        reason: Utf8Bytes::from_static(reason),
    }))
}

/// The token of the first client message (`{"type":"auth","token":…}`)
/// within [`AUTH_WAIT`]; `None` on anything else.
async fn first_message_token(socket: &mut WebSocket) -> Option<String> {
    let deadline = Instant::now() + AUTH_WAIT;
    loop {
        let msg = tokio::time::timeout_at(deadline, socket.recv())
            .await
            .ok()??;
        match msg.ok()? {
            Message::Text(t) => {
                let v: Value = serde_json::from_str(t.as_str()).ok()?;
                if v["type"] != "auth" {
                    return None;
                }
                return v["token"].as_str().map(str::to_owned);
            }
            Message::Ping(_) | Message::Pong(_) => {}
            Message::Binary(_) | Message::Close(_) => return None,
        }
    }
}

async fn connection(state: AppState, mut socket: WebSocket, token: Option<String>) {
    let token = match token {
        Some(t) => Some(t),
        None => first_message_token(&mut socket).await,
    };
    let principal = token.and_then(|t| state.sessions.check(t.trim(), std::time::Instant::now()));
    let Some(principal) = principal else {
        let error = json!({"type": "error", "v": 1, "code": "unauthorised",
            "message": "a valid session token is required (POST /api/login)"});
        let _ = socket.send(text(&error)).await;
        let _ = tokio::time::timeout(CLOSE_GRACE, async {
            let _ = socket.send(close(CLOSE_UNAUTHORISED, "unauthorised")).await;
            // Read until the client answers the close, so nothing unread makes
            // the kernel reset the connection before the client sees the code.
            while let Some(Ok(_)) = socket.recv().await {}
        })
        .await;
        return;
    };
    state.metrics.add_gauge("hotline_events_connections", "", 1);
    serve(&state, socket, principal).await;
    state
        .metrics
        .add_gauge("hotline_events_connections", "", -1);
}

/// Why the pump stopped.
enum End {
    /// The client closed or the socket failed: nothing more to send.
    ClientGone,
    /// Close with this code and reason.
    Close(u16, &'static str),
}

async fn serve(state: &AppState, socket: WebSocket, principal: Principal) {
    // Subscribe first: whatever happens while the snapshot is read is queued.
    let mut bus = state.sip.subscribe();
    let mut filter = EventFilter::new(principal.clone());
    let hello = json!({"type": "hello", "v": 1, "user": principal.user,
        "role": principal.role.as_str(), "unit": principal.unit});
    let snapshot = snapshot(state, &principal, &mut filter).await;
    let (sink, mut stream) = socket.split();
    let (queue, queued) = mpsc::channel(QUEUE_CAPACITY);
    let (close_tx, close_rx) = oneshot::channel();
    let mut writer = tokio::spawn(write(sink, queued, close_rx));
    let _ = queue.try_send(text(&hello));
    let _ = queue.try_send(text(&snapshot));
    let mut shutdown = state.shutdown.clone();
    let end = pump(&mut bus, &mut filter, &queue, &mut stream, &mut shutdown).await;
    drop(queue);
    match end {
        End::ClientGone => {
            // The writer ends with the queue (flushing the close reply).
            if tokio::time::timeout(CLOSE_GRACE, &mut writer)
                .await
                .is_err()
            {
                writer.abort();
            }
        }
        End::Close(code, reason) => {
            if code == CLOSE_TOO_SLOW {
                state
                    .metrics
                    .inc("hotline_events_dropped_total", "reason=\"too_slow\"");
                tracing::info!(user = %principal.user, "live-event client too slow: closed with {code}");
            }
            let _ = close_tx.send(close(code, reason));
            // Keep reading (and discarding) while the close frame goes out.
            loop {
                tokio::select! {
                    _ = &mut writer => break,
                    m = stream.next() => if !matches!(m, Some(Ok(_))) {
                        let _ = tokio::time::timeout(CLOSE_GRACE, &mut writer).await;
                        break;
                    },
                }
            }
        }
    }
}

/// Moves filtered bus events and pongs into the queue until the client
/// leaves, falls behind, or the server stops.
async fn pump(
    bus: &mut broadcast::Receiver<crate::sip_io::LiveEvent>,
    filter: &mut EventFilter,
    queue: &mpsc::Sender<Message>,
    stream: &mut SplitStream<WebSocket>,
    shutdown: &mut watch::Receiver<bool>,
) -> End {
    const TOO_SLOW: End = End::Close(CLOSE_TOO_SLOW, "too slow");
    if *shutdown.borrow() {
        return End::Close(CLOSE_GOING_AWAY, "server shutting down");
    }
    loop {
        tokio::select! {
            ev = bus.recv() => match ev {
                Ok(ev) => {
                    if filter.admit(&ev) && queue.try_send(text(&ev)).is_err() {
                        return TOO_SLOW;
                    }
                }
                Err(broadcast::error::RecvError::Lagged(_)) => return TOO_SLOW,
                Err(broadcast::error::RecvError::Closed) => {
                    return End::Close(CLOSE_GOING_AWAY, "server shutting down")
                }
            },
            msg = stream.next() => match msg {
                Some(Ok(Message::Text(t))) => {
                    let is_ping = serde_json::from_str::<Value>(t.as_str())
                        .is_ok_and(|v| v["type"] == "ping");
                    if is_ping && queue.try_send(text(&json!({"type": "pong", "v": 1}))).is_err() {
                        return TOO_SLOW;
                    }
                }
                Some(Ok(Message::Close(_))) | Some(Err(_)) | None => return End::ClientGone,
                Some(Ok(_)) => {}
            },
            _ = shutdown.wait_for(|stop| *stop) => {
                return End::Close(CLOSE_GOING_AWAY, "server shutting down")
            }
        }
    }
}

/// Writes queued messages and pings; on a close request, abandons what is
/// queued and sends the close frame (waiting at most [`CLOSE_GRACE`]).
async fn write(
    mut sink: SplitSink<WebSocket, Message>,
    mut queued: mpsc::Receiver<Message>,
    mut close: oneshot::Receiver<Message>,
) {
    let mut ping = tokio::time::interval_at(Instant::now() + PING_EVERY, PING_EVERY);
    let frame = loop {
        let next = tokio::select! {
            biased;
            c = &mut close => break c.ok(),
            m = queued.recv() => match m {
                Some(m) => m,
                // The client left: send what tungstenite still holds (the
                // reply to the client's close) and stop.
                None => {
                    let _ = sink.flush().await;
                    return;
                }
            },
            _ = ping.tick() => Message::Ping(Default::default()),
        };
        // A client that stopped reading blocks this send: a close request
        // must still get through.
        tokio::select! {
            biased;
            c = &mut close => break c.ok(),
            r = sink.send(next) => if r.is_err() {
                return;
            },
        }
    };
    if let Some(frame) = frame {
        let _ = tokio::time::timeout(CLOSE_GRACE, sink.send(frame)).await;
    }
}

/// The `snapshot` message for `viewer`; follows the viewer's own calls.
async fn snapshot(state: &AppState, viewer: &Principal, filter: &mut EventFilter) -> Value {
    let agents: Vec<Value> = if viewer.role == Role::Unit {
        Vec::new()
    } else {
        super::agent_views(state)
            .await
            .into_iter()
            .filter(|a| sees_agent(viewer, &a.id))
            .filter_map(|a| serde_json::to_value(a).ok())
            .collect()
    };
    let queues = if sees_queues(viewer) {
        serde_json::to_value(state.sip.queues().await).unwrap_or_else(|_| json!([]))
    } else {
        json!([])
    };
    let mut calls = Vec::new();
    for call in state.sip.calls().await {
        let visibility = call_visibility(viewer, call.agent.as_deref(), &call.ringing);
        if visibility == CallVisibility::Hidden {
            continue;
        }
        let Ok(mut entry) = serde_json::to_value(&call) else {
            continue;
        };
        if visibility == CallVisibility::WithScreenPop {
            filter.follow(&call.id);
            let info = state.sip.call_info(&call.id).await;
            entry["info"] = serde_json::to_value(info).unwrap_or(Value::Null);
        }
        calls.push(entry);
    }
    json!({
        "type": "snapshot",
        "v": 1,
        "at": rfc3339::format(SystemTime::now()),
        "agents": agents,
        "queues": queues,
        "calls": calls,
    })
}
