//! SIP over TCP: framing across reads, pipelining, size and connection limits.

mod common;

use std::time::Duration;

use common::sip::{header_values, register, status};
use common::TestServer;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Reads responses off a stream (each framed by its Content-Length).
struct Reader {
    stream: TcpStream,
    buf: Vec<u8>,
}

impl Reader {
    async fn connect(addr: std::net::SocketAddr) -> Reader {
        Reader {
            stream: TcpStream::connect(addr).await.expect("connect"),
            buf: Vec::new(),
        }
    }

    async fn write(&mut self, data: &[u8]) {
        self.stream.write_all(data).await.expect("write");
        self.stream.flush().await.expect("flush");
    }

    /// The next whole message; 5 s hang guard.
    async fn next(&mut self) -> String {
        loop {
            if let Some(end) = find(&self.buf, b"\r\n\r\n") {
                let head = String::from_utf8_lossy(&self.buf[..end]).into_owned();
                let len: usize = header_values(&format!("{head}\r\n\r\n"), "Content-Length")
                    .first()
                    .and_then(|v| v.parse().ok())
                    .expect("Content-Length on TCP");
                let total = end + 4 + len;
                if self.buf.len() >= total {
                    let msg = String::from_utf8_lossy(&self.buf[..total]).into_owned();
                    self.buf.drain(..total);
                    return msg;
                }
            }
            let mut chunk = [0u8; 4096];
            let n = tokio::time::timeout(Duration::from_secs(5), self.stream.read(&mut chunk))
                .await
                .expect("response within 5 s")
                .expect("read");
            assert!(n > 0, "connection closed while waiting for a response");
            self.buf.extend_from_slice(&chunk[..n]);
        }
    }

    /// True once the server has closed the connection (EOF or reset).
    async fn closed_by_server(&mut self) -> bool {
        let mut chunk = [0u8; 4096];
        loop {
            match tokio::time::timeout(Duration::from_secs(10), self.stream.read(&mut chunk)).await
            {
                Err(_) => return false,
                Ok(Ok(0)) | Ok(Err(_)) => return true,
                Ok(Ok(_)) => continue,
            }
        }
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

fn options(branch: &str) -> String {
    format!(
        "OPTIONS sip:hotline.test SIP/2.0\r\nVia: SIP/2.0/TCP 127.0.0.1:5999;branch=z9hG4bK{branch}\r\n\
         Max-Forwards: 70\r\nFrom: <sip:probe@hotline.test>;tag=o\r\nTo: <sip:hotline.test>\r\n\
         Call-ID: {branch}@tcp\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n"
    )
}

#[tokio::test]
async fn register_split_across_three_writes_is_framed_and_answered() {
    let server = TestServer::start().await;
    let mut conn = Reader::connect(server.sip).await;
    let local = conn.stream.local_addr().expect("local");
    let msg = register("TCP", local, "1001", "tcp-split", 1, 600, "");
    let bytes = msg.as_bytes();
    let (a, rest) = bytes.split_at(30);
    let (b, c) = rest.split_at(rest.len() / 2);
    for part in [a, b, c] {
        conn.write(part).await;
        tokio::time::sleep(Duration::from_millis(30)).await;
    }
    let resp = conn.next().await;
    assert_eq!(status(&resp), 401, "{resp}");
    assert_eq!(header_values(&resp, "WWW-Authenticate").len(), 2);
    server.stop().await;
}

#[tokio::test]
async fn two_messages_in_one_write_get_two_answers_on_the_same_connection() {
    let server = TestServer::start().await;
    let mut conn = Reader::connect(server.sip).await;
    let both = format!("{}{}", options("pipe1"), options("pipe2"));
    conn.write(both.as_bytes()).await;
    let first = conn.next().await;
    let second = conn.next().await;
    assert_eq!(status(&first), 200);
    assert_eq!(status(&second), 200);
    assert!(header_values(&first, "Via")[0].contains("z9hG4bKpipe1"));
    assert!(header_values(&second, "Via")[0].contains("z9hG4bKpipe2"));
    server.stop().await;
}

#[tokio::test]
async fn a_70_kib_message_is_refused_and_the_connection_closed() {
    let server = TestServer::start().await;
    let mut conn = Reader::connect(server.sip).await;
    let body = "x".repeat(70 * 1024);
    let msg = format!(
        "MESSAGE sip:1001@hotline.test SIP/2.0\r\nVia: SIP/2.0/TCP 127.0.0.1:5999;branch=z9hG4bKbig\r\n\
         Max-Forwards: 70\r\nFrom: <sip:a@hotline.test>;tag=1\r\nTo: <sip:1001@hotline.test>\r\n\
         Call-ID: big@tcp\r\nCSeq: 1 MESSAGE\r\nContent-Type: text/plain\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    // The server may close before we finish writing; either way it must not answer 2xx.
    let _ = conn.stream.write_all(msg.as_bytes()).await;
    assert!(conn.closed_by_server().await, "connection closed");
    // And it still serves others.
    let mut other = Reader::connect(server.sip).await;
    other.write(options("after-big").as_bytes()).await;
    assert_eq!(status(&other.next().await), 200);
    server.stop().await;
}

#[tokio::test]
async fn keepalive_ping_gets_a_pong() {
    let server = TestServer::start().await;
    let mut conn = Reader::connect(server.sip).await;
    conn.write(b"\r\n\r\n").await;
    let mut pong = [0u8; 2];
    tokio::time::timeout(Duration::from_secs(5), conn.stream.read_exact(&mut pong))
        .await
        .expect("pong within 5 s")
        .expect("read");
    assert_eq!(&pong, b"\r\n");
    server.stop().await;
}

#[tokio::test]
async fn connections_over_the_cap_are_refused_and_idle_ones_closed() {
    let server = TestServer::start_with(|c| {
        c.sip.tcp_max_connections = 2;
        c.sip.tcp_idle_timeout_s = 1;
    })
    .await;
    let mut a = Reader::connect(server.sip).await;
    a.write(options("cap-a").as_bytes()).await;
    assert_eq!(status(&a.next().await), 200);
    let mut b = Reader::connect(server.sip).await;
    b.write(options("cap-b").as_bytes()).await;
    assert_eq!(status(&b.next().await), 200);
    let mut c = Reader::connect(server.sip).await;
    let _ = c.stream.write_all(options("cap-c").as_bytes()).await;
    assert!(c.closed_by_server().await, "third connection refused");
    // Idle timeout (1 s) closes a and b; then a new connection is accepted.
    assert!(a.closed_by_server().await, "idle connection closed");
    assert!(b.closed_by_server().await, "idle connection closed");
    let mut d = Reader::connect(server.sip).await;
    d.write(options("cap-d").as_bytes()).await;
    assert_eq!(status(&d.next().await), 200);
    server.stop().await;
}
