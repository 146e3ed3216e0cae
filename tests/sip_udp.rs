//! SIP over UDP against a server running in-process on loopback.

mod common;

use std::net::SocketAddr;
use std::time::Duration;

use common::sip::{authorization, header_values, register, status};
use common::TestServer;
use tokio::net::UdpSocket;

struct Phone {
    sock: UdpSocket,
    server: SocketAddr,
}

impl Phone {
    async fn new(server: SocketAddr) -> Phone {
        let sock = UdpSocket::bind("127.0.0.1:0").await.expect("bind");
        Phone { sock, server }
    }
    fn local(&self) -> SocketAddr {
        self.sock.local_addr().expect("local addr")
    }
    async fn send(&self, msg: &str) {
        self.sock
            .send_to(msg.as_bytes(), self.server)
            .await
            .expect("send");
    }
    /// The next datagram; a 5 s guard against a hang (not a performance bound).
    async fn recv(&self) -> String {
        let mut buf = vec![0u8; 65_535];
        let (n, from) = tokio::time::timeout(Duration::from_secs(5), self.sock.recv_from(&mut buf))
            .await
            .expect("a response within 5 s")
            .expect("recv");
        assert_eq!(from, self.server, "responses come from the server's port");
        String::from_utf8(buf[..n].to_vec()).expect("UTF-8 response")
    }
    /// The next final (non-1xx) response.
    async fn final_response(&self) -> String {
        loop {
            let r = self.recv().await;
            if status(&r) >= 200 {
                return r;
            }
        }
    }
    /// Registers `user` with digest auth; returns the final response.
    async fn register(&self, user: &str, password: &str, call_id: &str, expires: u32) -> String {
        let local = self.local();
        self.send(&register("UDP", local, user, call_id, 1, expires, ""))
            .await;
        let challenge = self.final_response().await;
        assert_eq!(status(&challenge), 401, "{challenge}");
        let www = header_values(&challenge, "WWW-Authenticate");
        let auth = authorization(www[0], user, password, "REGISTER", "sip:hotline.test", 1);
        self.send(&register(
            "UDP",
            local,
            user,
            call_id,
            2,
            expires,
            &format!("Authorization: {auth}\r\n"),
        ))
        .await;
        self.final_response().await
    }
}

fn options(local: SocketAddr, branch: &str) -> String {
    format!(
        "OPTIONS sip:hotline.test SIP/2.0\r\n\
         Via: SIP/2.0/UDP 192.0.2.7:5060;branch=z9hG4bK{branch};rport\r\n\
         Max-Forwards: 70\r\nFrom: <sip:probe@{local}>;tag=o1\r\nTo: <sip:hotline.test>\r\n\
         Call-ID: {branch}@probe\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n"
    )
}

#[tokio::test]
async fn options_answered_to_the_source_port_with_received_and_rport() {
    let server = TestServer::start().await;
    let phone = Phone::new(server.sip).await;
    // The Via claims 192.0.2.7:5060 (a NATed phone); the answer must still reach us.
    phone.send(&options(phone.local(), "opt1")).await;
    let resp = phone.final_response().await;
    assert_eq!(status(&resp), 200, "{resp}");
    let via = header_values(&resp, "Via")[0];
    assert!(via.contains("received=127.0.0.1"), "{via}");
    assert!(
        via.contains(&format!("rport={}", phone.local().port())),
        "{via}"
    );
    assert!(!header_values(&resp, "Allow").is_empty());
    assert!(!header_values(&resp, "Accept").is_empty());
    assert_eq!(header_values(&resp, "Supported").len(), 1);
    server.stop().await;
}

#[tokio::test]
async fn register_with_digest_then_listed_then_unregistered() {
    let server = TestServer::start().await;
    let phone = Phone::new(server.sip).await;
    let ok = phone
        .register("1001", "test-pass-1001", "reg-udp-1", 600)
        .await;
    assert_eq!(status(&ok), 200, "{ok}");
    let contact = header_values(&ok, "Contact");
    assert_eq!(contact.len(), 1, "{ok}");
    assert!(contact[0].contains("expires="), "{ok}");

    let agents = server.agents().await;
    let a1001 = agents
        .as_array()
        .expect("array")
        .iter()
        .find(|a| a["id"] == "1001")
        .expect("1001 listed");
    assert_eq!(a1001["registered"], true, "{agents}");
    let uri = a1001["contacts"][0]["uri"].as_str().expect("uri");
    assert_eq!(uri, format!("sip:1001@{};transport=udp", phone.local()));
    let expires_in = a1001["contacts"][0]["expires_in_s"]
        .as_u64()
        .expect("expires_in_s");
    assert!((590..=600).contains(&expires_in), "{expires_in}");

    // Unregister: Expires 0 with fresh credentials.
    let bye = phone
        .register("1001", "test-pass-1001", "reg-udp-1b", 0)
        .await;
    assert_eq!(status(&bye), 200, "{bye}");
    let agents = server.agents().await;
    let a1001 = agents
        .as_array()
        .expect("array")
        .iter()
        .find(|a| a["id"] == "1001")
        .expect("1001 listed");
    assert_eq!(a1001["registered"], false, "{agents}");
    server.stop().await;
}

#[tokio::test]
async fn wrong_password_and_unknown_user_get_the_same_answer() {
    let server = TestServer::start().await;
    let phone = Phone::new(server.sip).await;
    let wrong = phone
        .register("1001", "not-the-password", "reg-bad-1", 600)
        .await;
    let unknown = phone.register("7777", "whatever", "reg-bad-2", 600).await;
    assert_eq!(status(&wrong), 401, "{wrong}");
    assert_eq!(status(&unknown), 401, "{unknown}");
    let names = |r: &str| -> Vec<String> {
        r.split("\r\n")
            .skip(1)
            .take_while(|l| !l.is_empty())
            .filter_map(|l| {
                l.split_once(':')
                    .map(|(n, _)| n.trim().to_ascii_lowercase())
            })
            .collect()
    };
    assert_eq!(names(&wrong), names(&unknown), "same header set");
    assert_eq!(server.agents().await[0]["registered"], false);
    server.stop().await;
}

#[tokio::test]
async fn repeated_failures_lock_the_address_out_with_403() {
    let server = TestServer::start().await; // auth_max_failures = 5
    let phone = Phone::new(server.sip).await;
    for i in 0..5 {
        let r = phone
            .register("1001", "guess", &format!("brute-{i}"), 600)
            .await;
        // The fifth failure reaches the limit and is itself answered 403.
        let expected = if i < 4 { 401 } else { 403 };
        assert_eq!(status(&r), expected, "attempt {i}: {r}");
    }
    // Now everything from this address is refused for the lock-out period.
    phone
        .send(&register(
            "UDP",
            phone.local(),
            "1001",
            "brute-x",
            1,
            600,
            "",
        ))
        .await;
    let refused = phone.final_response().await;
    assert_eq!(status(&refused), 403, "{refused}");
    server.stop().await;
}

#[tokio::test]
async fn malformed_request_gets_400_with_a_reason_and_the_server_keeps_serving() {
    let server = TestServer::start().await;
    let phone = Phone::new(server.sip).await;
    let local = phone.local();
    phone
        .send(&format!(
            "OPTIONS sip:hotline.test SIP/2.0\r\nVia: SIP/2.0/UDP {local};branch=z9hG4bKbad\r\n\
             From: <sip:a@b>;tag=1\r\nTo: <sip:c@d>\r\nCall-ID: bad@x\r\n\
             CSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n"
        ))
        .await;
    let resp = phone.final_response().await;
    assert_eq!(status(&resp), 400, "{resp}");
    let reason = resp.lines().next().expect("status line");
    assert!(
        reason.len() > "SIP/2.0 400 ".len(),
        "a reason phrase: {reason}"
    );
    // Pure garbage is dropped; the server still answers afterwards.
    phone.send("\x00\x01garbage\r\n\r\n").await;
    phone.send(&options(local, "after-garbage")).await;
    assert_eq!(status(&phone.final_response().await), 200);
    let metrics = reqwest::get(server.http_url("/metrics"))
        .await
        .expect("metrics")
        .text()
        .await
        .expect("text");
    assert!(
        metrics.contains("hotline_sip_parse_errors_total{transport=\"udp\"} 2"),
        "{metrics}"
    );
    server.stop().await;
}

#[tokio::test]
async fn unimplemented_methods_are_answered_never_ignored() {
    let server = TestServer::start().await;
    let phone = Phone::new(server.sip).await;
    let local = phone.local();
    for (method, expected) in [("SUBSCRIBE", 405), ("PUBLISH", 405), ("FROBNICATE", 501)] {
        phone
            .send(&format!(
                "{method} sip:hotline.test SIP/2.0\r\nVia: SIP/2.0/UDP {local};branch=z9hG4bK{method}\r\n\
                 Max-Forwards: 70\r\nFrom: <sip:a@hotline.test>;tag=1\r\nTo: <sip:hotline.test>\r\n\
                 Call-ID: {method}@x\r\nCSeq: 1 {method}\r\nContent-Length: 0\r\n\r\n"
            ))
            .await;
        let resp = phone.final_response().await;
        assert_eq!(status(&resp), expected, "{method}: {resp}");
        if expected == 405 {
            assert!(!header_values(&resp, "Allow").is_empty());
        }
    }
    server.stop().await;
}

#[tokio::test]
async fn digest_algorithms_setting_controls_the_challenges_offered_and_accepted() {
    use hotline_config::DigestAlgorithm;

    // Default: SHA-256 first, then MD5 (RFC 8760 order of preference).
    let server = TestServer::start().await;
    let phone = Phone::new(server.sip).await;
    phone
        .send(&register("UDP", phone.local(), "1001", "alg-1", 1, 600, ""))
        .await;
    let challenge = phone.final_response().await;
    let www = header_values(&challenge, "WWW-Authenticate");
    assert_eq!(www.len(), 2, "{challenge}");
    assert!(www[0].contains("algorithm=SHA-256") && www[1].contains("algorithm=MD5"));
    server.stop().await;

    // MD5 only (for baresip seats): one challenge, and a SHA-256 answer is refused.
    let server =
        TestServer::start_with(|c| c.sip.digest_algorithms = vec![DigestAlgorithm::Md5]).await;
    let phone = Phone::new(server.sip).await;
    let local = phone.local();
    phone
        .send(&register("UDP", local, "1001", "alg-2", 1, 600, ""))
        .await;
    let challenge = phone.final_response().await;
    let www = header_values(&challenge, "WWW-Authenticate");
    assert_eq!(www.len(), 1, "{challenge}");
    assert!(www[0].contains("algorithm=MD5"));
    let forced_sha = www[0].replace("algorithm=MD5", "algorithm=SHA-256");
    let auth = authorization(
        &forced_sha,
        "1001",
        "test-pass-1001",
        "REGISTER",
        "sip:hotline.test",
        1,
    );
    phone
        .send(&register(
            "UDP",
            local,
            "1001",
            "alg-2",
            2,
            600,
            &format!("Authorization: {auth}\r\n"),
        ))
        .await;
    let refused = phone.final_response().await;
    assert!(matches!(status(&refused), 400 | 401), "{refused}");
    assert_eq!(server.agents().await[0]["registered"], false);
    server.stop().await;
}
