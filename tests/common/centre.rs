//! The contact centre's test pieces, shared by the tests that run the menus
//! and queues (built-in default configuration): a server with its own RTP
//! port block, JSON requests, agent phones that register and go ready, a
//! trunk caller that keys digits, and an agent answering its ringing phone.
#![allow(dead_code, unreachable_pub)]

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use hotline_config::Config;
use serde_json::{json, Value};
use tokio::net::UdpSocket;

use crate::call_setup::{self, local, rtp_block_in, rtp_socket, RtpBlock, CALLER, TRUNK_IP};
use crate::common::TestServer;
use crate::ua::{self, sdp, send_dtmf, Msg, SdpAudio, SipUa, TrunkCall};

/// Guard on waits for SIP messages (prompts play in real time).
pub const WAIT: Duration = Duration::from_secs(40);

/// The demo seats' password.
pub fn password(agent: &str) -> String {
    format!("demo-{agent}-change-me")
}

/// The default configuration with survey on, shifts off, RTP ports from
/// `low..high` (the calling test file's range), after `tweak`.
pub async fn server_in(
    low: u16,
    high: u16,
    tweak: impl FnOnce(&mut Config),
) -> (TestServer, RtpBlock) {
    call_setup::server_log_to_test_output();
    let block = rtp_block_in(low, high);
    let range = block.range;
    let server = TestServer::start_default(|c| {
        c.sip.rtp_ports = range;
        c.survey.enabled = true;
        // The demo closes the Cantonese queue at night (overflow to general):
        // these tests must not depend on the hour they run at. Shifts are
        // tested in virtual time in the ACD's own tests.
        for q in &mut c.queues {
            q.shifts.clear();
        }
        tweak(c);
    })
    .await;
    (server, block)
}

/// One JSON request; status and body (`Null` if not JSON).
pub async fn http(
    server: &TestServer,
    token: &str,
    method: reqwest::Method,
    path: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let mut req = reqwest::Client::new()
        .request(method, server.http_url(path))
        .bearer_auth(token);
    if let Some(b) = body {
        req = req.json(&b);
    }
    let resp = req.send().await.expect("HTTP request");
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(Value::Null))
}

/// A registered, logged-in, ready agent phone.
pub async fn ready_agent(server: &TestServer, id: &'static str) -> SipUa {
    let mut phone = SipUa::bind(id, TRUNK_IP, server.sip).await;
    phone.register(id, &password(id)).await;
    let token = server.login(id, &password(id)).await;
    let (status, body) = http(
        server,
        &token,
        reqwest::Method::POST,
        &format!("/api/agents/{id}/state"),
        Some(json!({"state": "ready"})),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["state"], "ready", "{body}");
    assert_eq!(body["available"], true, "{body}");
    phone
}

/// A caller answered by the server: its SIP side, RTP socket and the
/// server's RTP address.
pub struct Caller {
    pub trunk: SipUa,
    pub call: TrunkCall,
    pub rtp: Arc<UdpSocket>,
    pub server_rtp: SocketAddr,
    seq: u16,
    ts: u32,
}

impl Caller {
    pub async fn dial(server: &TestServer, number: &str) -> Caller {
        let mut trunk = SipUa::bind("trunk", TRUNK_IP, server.sip).await;
        let rtp = rtp_socket(TRUNK_IP).await;
        let mut call = TrunkCall::new(&mut trunk, CALLER, number);
        let offer = sdp(local(&rtp), &[(8, "PCMA"), (0, "PCMU")], Some(101));
        let invite = call.invite(&trunk, "application/sdp", &offer);
        trunk.send(&invite).await;
        let ok = trunk.response("INVITE", 200).await;
        let answer = SdpAudio::parse(ok.body());
        assert_eq!(answer.pt_of("TELEPHONE-EVENT"), Some(101), "{}", ok.raw);
        call.confirmed(&ok);
        let ack = call.in_dialog(&mut trunk, "ACK");
        trunk.send(&ack).await;
        Caller {
            trunk,
            call,
            rtp,
            server_rtp: answer.rtp(),
            seq: 1,
            ts: 8000,
        }
    }

    /// The server's audio reaches the caller (a prompt or music).
    pub async fn hears_audio(&self) {
        let got = ua::listen(&self.rtp, Duration::from_millis(400)).await;
        assert!(got.len() >= 10, "{} packets of prompt audio", got.len());
        assert!(got.iter().all(|p| p.len() == 172 && p[1] & 0x7f == 8));
    }

    pub async fn key(&mut self, digit: char) {
        self.ts = self.ts.wrapping_add(8000);
        self.seq = send_dtmf(
            &self.rtp,
            self.server_rtp,
            101,
            digit,
            0x5eed,
            self.seq,
            self.ts,
        )
        .await;
    }

    /// The server's BYE (the menu or the survey hung up politely).
    pub async fn hung_up_by_server(&mut self) {
        let bye = self
            .trunk
            .wait_for("BYE", WAIT, |m| m.method() == Some("BYE"))
            .await;
        call_setup::ok_to(&mut self.trunk, &bye).await;
    }

    /// The caller hangs up (BYE, answered 200).
    pub async fn hang_up(&mut self) {
        let bye = self.call.in_dialog(&mut self.trunk, "BYE");
        self.trunk.send(&bye).await;
        self.trunk.response("BYE", 200).await;
    }
}

/// The INVITE an agent phone gets, answered with 200 and ACKed.
pub async fn answer(phone: &mut SipUa) -> (Msg, String) {
    let inv = phone
        .wait_for("INVITE", WAIT, |m| m.method() == Some("INVITE"))
        .await;
    let rtp = rtp_socket(TRUNK_IP).await;
    let offer = SdpAudio::parse(inv.body());
    let answer = sdp(local(&rtp), &[(8, "PCMA")], offer.pt_of("TELEPHONE-EVENT"));
    let tag = phone.fresh("ag");
    let contact = format!("Contact: <{}>\r\n", phone.contact(phone.name));
    phone
        .send(&inv.response(200, "OK", &tag, &contact, &answer))
        .await;
    phone.request("ACK").await;
    (inv, tag)
}
