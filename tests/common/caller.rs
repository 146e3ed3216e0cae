//! A citizen calling the hotline through the trunk, answered by the server's
//! menu: dial, hear the prompts, key digits (RFC 4733), hang up or be hung up
//! on. Shared by the tests that drive the contact centre end to end.
#![allow(dead_code, unreachable_pub)]

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::UdpSocket;

use crate::call_setup::{local, ok_to, rtp_socket, CALLER, TRUNK_IP};
use crate::common::TestServer;
use crate::ua::{self, sdp, send_dtmf, SdpAudio, SipUa, TrunkCall};

/// Guard of the waits for the server (prompts play in real time).
pub const WAIT: Duration = Duration::from_secs(40);

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
        ok_to(&mut self.trunk, &bye).await;
    }

    /// The caller hangs up (BYE); the server answers 200.
    pub async fn hang_up(&mut self) {
        let bye = self.call.in_dialog(&mut self.trunk, "BYE");
        self.trunk.send(&bye).await;
        self.trunk.response("BYE", 200).await;
    }
}
