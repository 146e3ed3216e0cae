//! The call up to "connected", shared by the end-to-end call tests: a server
//! with its own block of RTP ports, an agent phone registered as 1001, a trunk
//! call rung through to it and answered, and SDP helpers.
#![allow(dead_code, unreachable_pub)]

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use hotline_config::{Config, PortRange};
use tokio::net::UdpSocket;

use crate::common::TestServer;
use crate::ua::{sdp, AgentDialog, Law, Msg, SdpAudio, SipUa, TrunkCall};

pub const TRUNK_IP: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);
pub const CALLER: &str = "13800138000";
pub const HOTLINE: &str = "12345";

/// A block of loopback UDP ports for one server's `rtp_ports`, reserved for
/// as long as this value lives.
pub struct RtpBlock {
    pub range: PortRange,
    /// A TCP listener on the block's first port: the reservation. The server
    /// binds only UDP in the block, so TCP is free to serve as a lock between
    /// processes (another `cargo test` in the same tree runs these tests too).
    pub _lock: std::net::TcpListener,
}

/// Reserves a block of 10 ports (5 RTP/RTCP pairs; a test holds at most 2)
/// from `low..high`, a range no other test file uses (each file has its own:
/// several test binaries run at once). Without a reservation two runs at once bind each other's media ports,
/// and the server rightly refuses a call whose port it cannot bind.
pub fn rtp_block_in(low: u16, high: u16) -> RtpBlock {
    const LEN: u16 = 10;
    let blocks: u16 = (high - low) / LEN;
    static NEXT: Mutex<Option<u16>> = Mutex::new(None);
    let mut next = NEXT.lock().unwrap_or_else(|e| e.into_inner());
    // Processes start at blocks far apart (consecutive pids 37 blocks away).
    let mut block = next.unwrap_or_else(|| {
        u16::try_from(std::process::id().wrapping_mul(37) % u32::from(blocks)).unwrap_or(0)
    });
    for _ in 0..blocks {
        let first = low + block * LEN;
        block = (block + 1) % blocks;
        let Ok(lock) = std::net::TcpListener::bind((Ipv4Addr::LOCALHOST, first)) else {
            continue;
        };
        let free: Result<Vec<std::net::UdpSocket>, _> = (first..first + LEN)
            .map(|p| std::net::UdpSocket::bind((Ipv4Addr::LOCALHOST, p)))
            .collect();
        if free.is_ok() {
            *next = Some(block);
            return RtpBlock {
                range: PortRange {
                    low: first,
                    high: first + LEN - 1,
                },
                _lock: lock,
            };
        }
    }
    panic!("no block of {LEN} free UDP ports in {low}-{high}");
}

/// The server's log goes to the test's output (shown when a test fails).
pub fn server_log_to_test_output() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| {
        tracing_subscriber::EnvFilter::new("warn,hotline=info,hotline_sip=info")
    });
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(false)
        .with_test_writer()
        .try_init();
}

/// A server with its own RTP port block (keep it until the server stops).
pub async fn server_in(
    ports: (u16, u16),
    tweak: impl FnOnce(&mut Config),
) -> (TestServer, RtpBlock) {
    server_log_to_test_output();
    let ports = rtp_block_in(ports.0, ports.1);
    let server = TestServer::start_with(|c| {
        c.sip.rtp_ports = ports.range;
        tweak(c);
    })
    .await;
    (server, ports)
}

pub async fn rtp_socket(ip: IpAddr) -> Arc<UdpSocket> {
    Arc::new(UdpSocket::bind((ip, 0)).await.expect("bind RTP"))
}

pub fn local(s: &UdpSocket) -> SocketAddr {
    s.local_addr().expect("local addr")
}

/// The trunk's offer: PCMU, PCMA and telephone-event.
pub fn trunk_offer(rtp: SocketAddr) -> String {
    sdp(rtp, &[(0, "PCMU"), (8, "PCMA")], Some(101))
}

/// An answer to `offer` choosing its first G.711 payload type.
pub fn answer_to(offer: &SdpAudio, rtp: SocketAddr) -> (String, u8) {
    let pt = *offer
        .pts
        .iter()
        .find(|pt| Law::of_pt(**pt).is_some())
        .expect("a G.711 payload type offered");
    let name = offer.encoding(pt).expect("encoding");
    let event = offer.pt_of("TELEPHONE-EVENT");
    (sdp(rtp, &[(pt, &name)], event), pt)
}

// ----- the call up to "connected" ------------------------------------------------

/// A connected call and everything the tests need to go on with it.
pub struct Connected {
    pub trunk: SipUa,
    pub agent: SipUa,
    pub call: TrunkCall,
    pub agent_dialog: AgentDialog,
    pub trunk_rtp: Arc<UdpSocket>,
    pub agent_rtp: Arc<UdpSocket>,
    /// Where the server wants the trunk's RTP (its SDP in the 200).
    pub server_caller_rtp: SocketAddr,
    /// Where the server wants the agent's RTP (its SDP in the INVITE).
    pub server_agent_rtp: SocketAddr,
    pub trunk_pt: u8,
    pub agent_pt: u8,
    /// When the agent phone sent its 200.
    pub answered_at: Instant,
}

/// An agent phone on loopback, registered as 1001.
pub async fn agent_phone(server: &TestServer) -> SipUa {
    let mut agent = SipUa::bind("agent 1001", TRUNK_IP, server.sip).await;
    agent.register("1001", "test-pass-1001").await;
    agent
}

/// The trunk sends the INVITE; returns the INVITE the agent phone got (after
/// checking the 100 and the agent INVITE's Request-URI and SDP).
pub async fn invite_until_agent_rung(
    server: &TestServer,
    range: PortRange,
    trunk: &mut SipUa,
    agent: &mut SipUa,
    trunk_rtp: SocketAddr,
) -> (TrunkCall, Msg) {
    let call = TrunkCall::new(trunk, CALLER, HOTLINE);
    let invite = call.invite(trunk, "application/sdp", &trunk_offer(trunk_rtp));
    trunk.send(&invite).await;
    let trying = trunk.response("INVITE", 100).await;
    assert_eq!(trying.call_id(), call.call_id);

    let inv = agent.request("INVITE").await;
    assert_eq!(
        inv.request_uri(),
        agent.contact("1001"),
        "the agent is called at its registered Contact:\n{}",
        inv.raw
    );
    assert_eq!(inv.from, server.sip, "from the server's SIP port");
    assert!(inv.to_tag().is_none(), "{}", inv.raw);
    let offer = SdpAudio::parse(inv.body());
    assert_eq!(offer.addr, IpAddr::V4(Ipv4Addr::LOCALHOST), "{}", inv.raw);
    assert!(
        (range.low..=range.high).contains(&offer.port),
        "agent-leg port {} in rtp_ports {range:?}",
        offer.port
    );
    assert_eq!(offer.port % 2, 0, "RTP on an even port");
    assert!(
        offer.pts.first().is_some_and(|pt| *pt == 0 || *pt == 8),
        "a G.711 codec first: {}",
        inv.body()
    );
    assert!(offer.pt_of("TELEPHONE-EVENT").is_some(), "{}", inv.body());
    (call, inv)
}

/// Registers the agent, calls the hotline from the trunk, rings and answers.
pub async fn connect(server: &TestServer, range: PortRange) -> Connected {
    let mut agent = agent_phone(server).await;
    let mut trunk = SipUa::bind("trunk", TRUNK_IP, server.sip).await;
    let trunk_rtp = rtp_socket(TRUNK_IP).await;
    let agent_rtp = rtp_socket(TRUNK_IP).await;

    let (mut call, inv) =
        invite_until_agent_rung(server, range, &mut trunk, &mut agent, local(&trunk_rtp)).await;
    let offer = SdpAudio::parse(inv.body());
    let agent_tag = agent.fresh("at");
    let contact = format!("Contact: <{}>\r\n", agent.contact("1001"));
    agent
        .send(&inv.response(180, "Ringing", &agent_tag, &contact, ""))
        .await;
    let ringing = trunk.response("INVITE", 180).await;
    assert_eq!(ringing.call_id(), call.call_id);

    let (answer, agent_pt) = answer_to(&offer, local(&agent_rtp));
    let answered_at = Instant::now();
    agent
        .send(&inv.response(200, "OK", &agent_tag, &contact, &answer))
        .await;
    let ack = agent.request("ACK").await;
    assert_eq!(ack.call_id(), inv.call_id(), "{}", ack.raw);
    assert_eq!(ack.cseq_number(), 1, "{}", ack.raw);
    assert_eq!(ack.request_uri(), agent.contact("1001"), "{}", ack.raw);
    assert_eq!(
        ack.to_tag().as_deref(),
        Some(agent_tag.as_str()),
        "{}",
        ack.raw
    );

    let ok = trunk.response("INVITE", 200).await;
    let ours = SdpAudio::parse(ok.body());
    assert_eq!(ours.addr, IpAddr::V4(Ipv4Addr::LOCALHOST), "{}", ok.raw);
    assert!((range.low..=range.high).contains(&ours.port), "{}", ok.raw);
    assert_ne!(ours.port, offer.port, "each leg has its own port");
    let trunk_pt = *ours.pts.first().expect("a codec in the answer");
    assert!(trunk_pt == 0 || trunk_pt == 8, "{}", ok.body());
    call.confirmed(&ok);
    let ack = call.in_dialog(&mut trunk, "ACK");
    trunk.send(&ack).await;

    Connected {
        trunk,
        agent,
        call,
        agent_dialog: AgentDialog {
            invite: inv,
            local_tag: agent_tag,
            cseq: 0,
        },
        trunk_rtp,
        agent_rtp,
        server_caller_rtp: ours.rtp(),
        server_agent_rtp: offer.rtp(),
        trunk_pt,
        agent_pt,
        answered_at,
    }
}

/// Answers a request the server sent with 200.
pub async fn ok_to(ua: &mut SipUa, req: &Msg) {
    ua.send(&req.response(200, "OK", "unused", "", "")).await;
}
