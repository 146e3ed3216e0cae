//! A live-event client for the tests of `/api/events`: connects over a real
//! WebSocket, reads `hello` and `snapshot`, and keeps the events it reads.
#![allow(dead_code, unreachable_pub)]

use futures_util::StreamExt;
use serde_json::Value;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use crate::centre::WAIT;
use crate::common::TestServer;

pub type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// Opens `/api/events`, with `?token=` when `token` is given.
pub async fn connect(server: &TestServer, token: Option<&str>) -> Socket {
    let query = token.map_or_else(String::new, |t| format!("?token={t}"));
    let url = format!("ws://{}/api/events{query}", server.http);
    let (ws, resp) = tokio_tungstenite::connect_async(url)
        .await
        .expect("WebSocket upgrade");
    assert_eq!(resp.status(), 101);
    ws
}

/// What the server sends next: a JSON text message, or the close code.
#[derive(Debug)]
pub enum Next {
    Json(Value),
    Closed(Option<u16>),
}

/// The next JSON message or the close (pings skipped), within [`WAIT`].
pub async fn next(ws: &mut Socket) -> Next {
    loop {
        let msg = tokio::time::timeout(WAIT, ws.next())
            .await
            .expect("a message from the server within the guard");
        match msg {
            Some(Ok(Message::Text(t))) => {
                return Next::Json(serde_json::from_str(t.as_str()).expect("JSON message"))
            }
            Some(Ok(Message::Close(frame))) => {
                return Next::Closed(frame.map(|f| u16::from(f.code)))
            }
            Some(Ok(Message::Ping(_) | Message::Pong(_) | Message::Frame(_))) => {}
            Some(Ok(Message::Binary(b))) => panic!("unexpected binary message {b:?}"),
            Some(Err(e)) => panic!("WebSocket error: {e}"),
            None => return Next::Closed(None),
        }
    }
}

/// The next message, which must be JSON with `"v": 1`.
pub async fn next_json(ws: &mut Socket) -> Value {
    match next(ws).await {
        Next::Json(v) => {
            assert_eq!(v["v"], 1, "every message is versioned: {v}");
            v
        }
        Next::Closed(code) => panic!("closed ({code:?}) while a message was expected"),
    }
}

/// The error message and the close code a refused connection gets.
pub async fn refused(ws: &mut Socket) -> (Value, Option<u16>) {
    let error = next_json(ws).await;
    match next(ws).await {
        Next::Closed(code) => (error, code),
        Next::Json(v) => panic!("a message after the error: {v}"),
    }
}

/// A signed-in live-event client that keeps what it has received.
pub struct Client {
    pub ws: Socket,
    pub hello: Value,
    pub snapshot: Value,
    pub seen: Vec<Value>,
}

impl Client {
    /// Connects with the token in the URL and reads `hello` and `snapshot`.
    pub async fn open(server: &TestServer, token: &str) -> Client {
        let mut ws = connect(server, Some(token)).await;
        let hello = next_json(&mut ws).await;
        assert_eq!(hello["type"], "hello", "{hello}");
        let snapshot = next_json(&mut ws).await;
        assert_eq!(snapshot["type"], "snapshot", "{snapshot}");
        Client {
            ws,
            hello,
            snapshot,
            seen: Vec::new(),
        }
    }

    /// Reads until an event satisfies `pred`; that event.
    pub async fn until(&mut self, what: &str, pred: impl Fn(&Value) -> bool) -> Value {
        loop {
            let ev = match next(&mut self.ws).await {
                Next::Json(v) => v,
                Next::Closed(code) => panic!(
                    "closed ({code:?}) waiting for {what}; {} had: {:#?}",
                    self.hello["user"], self.seen
                ),
            };
            assert_eq!(ev["v"], 1, "{ev}");
            self.seen.push(ev.clone());
            if pred(&ev) {
                return ev;
            }
        }
    }

    /// Whether any event received so far satisfies `pred`.
    pub fn saw(&self, pred: impl Fn(&Value) -> bool) -> bool {
        self.seen.iter().any(pred)
    }
}
