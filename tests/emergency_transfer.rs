//! Emergency transfers end to end over loopback (measures §9, §14): a trunk
//! call answered by agent 1001 is handed to an emergency line through
//! `[emergency] gateway` (a test UAS standing in for the 110 gateway), by the
//! workstation's API and by a REFER from the agent's phone. The caller's audio
//! then reaches the gateway; the agent leaves the call. Only the configured
//! emergency numbers can be reached: a mobile number containing "110" or the
//! hotline's own number is refused on both paths (toll fraud).
//!
//! RTP ports 18000–19999 belong to this file.

#[path = "common/call.rs"]
mod call_setup;
mod common;
#[path = "common/ua.rs"]
mod ua;

use std::net::SocketAddr;
use std::time::Duration;

use call_setup::{connect, local, rtp_socket, Connected, TRUNK_IP};
use common::TestServer;
use serde_json::{json, Value};
use ua::{power, talk, Law, SdpAudio, SipUa};

const TRUNK_TONE: f64 = 440.0;

async fn server(gateway: Option<SocketAddr>) -> (TestServer, call_setup::RtpBlock) {
    call_setup::server_in((18_000, 20_000), |c| {
        c.emergency.gateway = gateway.map(|g| format!("sip:{{number}}@{g}"));
    })
    .await
}

/// A server whose emergency gateway is a test UA.
async fn with_gateway(name: &'static str) -> (TestServer, call_setup::RtpBlock, SipUa) {
    let mut gw = SipUa::bind(name, TRUNK_IP, "127.0.0.1:9".parse().expect("addr")).await;
    let (server, block) = server(Some(gw.local())).await;
    gw.server = server.sip;
    (server, block, gw)
}

/// The id of the one live call, as `GET /api/calls` shows it.
async fn live_call_id(server: &TestServer, token: &str) -> String {
    let v: Value = reqwest::Client::new()
        .get(server.http_url("/api/calls"))
        .bearer_auth(token)
        .send()
        .await
        .expect("calls")
        .json()
        .await
        .expect("JSON");
    v["live"][0]["id"]
        .as_str()
        .unwrap_or_else(|| panic!("a live call: {v}"))
        .to_owned()
}

async fn transfer(
    server: &TestServer,
    token: &str,
    call: &str,
    body: Value,
) -> (reqwest::StatusCode, Value) {
    let resp = reqwest::Client::new()
        .post(server.http_url(&format!("/api/calls/{call}/transfer")))
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .expect("transfer request");
    let status = resp.status();
    (status, resp.json().await.unwrap_or(Value::Null))
}

/// The gateway answers the INVITE it got; returns the RTP socket it listens on.
async fn gateway_answers(gw: &mut SipUa, number: &str) -> std::sync::Arc<tokio::net::UdpSocket> {
    let inv = gw.request("INVITE").await;
    assert!(
        inv.request_uri()
            .starts_with(&format!("sip:{number}@{}", gw.local())),
        "the number filled into the gateway URI:\n{}",
        inv.raw
    );
    assert!(
        inv.header("From").contains(call_setup::CALLER),
        "{}",
        inv.raw
    );
    let offer = SdpAudio::parse(inv.body());
    let rtp = rtp_socket(TRUNK_IP).await;
    let pt = *offer.pts.first().expect("a codec");
    let name = offer.encoding(pt).expect("encoding");
    let answer = ua::sdp(local(&rtp), &[(pt, &name)], None);
    let tag = gw.fresh("gw");
    let contact = format!("Contact: <sip:{number}@{}>\r\n", gw.local());
    gw.send(&inv.response(200, "OK", &tag, &contact, &answer))
        .await;
    gw.request("ACK").await;
    rtp
}

/// The caller's tone reaches the gateway once it answered.
async fn caller_heard_by_gateway(c: &Connected, gw_rtp: &tokio::net::UdpSocket) {
    let sender = talk(
        c.trunk_rtp.clone(),
        c.server_caller_rtp,
        c.trunk_pt,
        TRUNK_TONE,
        0x7777,
        25,
        Duration::from_millis(100),
    );
    let receiver = ua::listen(gw_rtp, Duration::from_millis(900));
    let (_, got) = tokio::join!(sender, receiver);
    assert!(
        got.len() >= 15,
        "the gateway received {} packets",
        got.len()
    );
    let law = Law::of_pt(got[5][1] & 0x7f).expect("G.711 to the gateway");
    let samples: Vec<i16> = got[5..]
        .iter()
        .flat_map(|p| p[12..].iter().map(|b| law.decode(*b)))
        .collect();
    assert!(
        power(&samples, TRUNK_TONE) > 10.0 * power(&samples, 1000.0),
        "the caller's tone at the gateway"
    );
}

#[tokio::test]
async fn the_agent_hands_the_caller_to_110_through_the_api() {
    let (server, block, mut gw) = with_gateway("gateway 110").await;
    let mut c = connect(&server, block.range).await;
    let agent = server.login("1001", "test-pass-1001").await;
    let other = server.login("1002", "test-pass-1002").await;
    let call = live_call_id(&server, &agent).await;

    // Only an emergency number, only the agent on the call (or a supervisor).
    for bad in ["13811012345", "12345", "0110"] {
        let (status, body) = transfer(&server, &agent, &call, json!({"emergency": bad})).await;
        assert_eq!(status, 400, "{bad}: {body}");
        assert_eq!(body["error"]["code"], "validation");
        assert_eq!(body["error"]["field"], "emergency");
    }
    let (status, _) = transfer(&server, &other, &call, json!({"emergency": "110"})).await;
    assert_eq!(status, 403, "another agent may not transfer this call");
    let (status, _) = transfer(
        &server,
        &agent,
        "00000000000000ff",
        json!({"emergency": "110"}),
    )
    .await;
    assert_eq!(status, 404);
    let (status, _) = transfer(&server, &agent, &call, json!({"number": "110"})).await;
    assert_eq!(status, 400, "unknown field");
    assert!(
        gw.drain(Duration::from_millis(200)).await.is_empty(),
        "nothing reached the gateway"
    );

    let (status, body) = transfer(&server, &agent, &call, json!({"emergency": "110"})).await;
    assert_eq!(status, 202, "{body}");
    assert_eq!(body["emergency"], "110");
    // The agent is released; the gateway is called and answers.
    let bye = c.agent.request("BYE").await;
    call_setup::ok_to(&mut c.agent, &bye).await;
    let gw_rtp = gateway_answers(&mut gw, "110").await;
    caller_heard_by_gateway(&c, &gw_rtp).await;

    let (status, _) = transfer(&server, &agent, &call, json!({"emergency": "119"})).await;
    assert_eq!(status, 403, "the agent is no longer on the call");

    // The call's work-order draft carries the emergency-linkage record (§14).
    let sup = server.login("9001", "test-pass-9001").await;
    let mut draft = Value::Null;
    for _ in 0..100 {
        let drafts: Value = reqwest::Client::new()
            .get(server.http_url("/api/drafts"))
            .bearer_auth(&sup)
            .send()
            .await
            .expect("drafts")
            .json()
            .await
            .expect("JSON");
        if let Some(d) = drafts.as_array().and_then(|a| {
            a.iter().find(|d| {
                d["call"]["call_id"] == call.as_str()
                    && !d["emergency"].as_array().is_none_or(|e| e.is_empty())
            })
        }) {
            draft = d.clone();
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(draft["call"]["agent"], "1001", "{draft}");
    assert_eq!(
        draft["call"]["caller_number"],
        call_setup::CALLER,
        "{draft}"
    );
    assert_eq!(draft["emergency"][0]["line"], "110", "{draft}");
    assert_eq!(draft["emergency"][0]["agent"], "1001", "{draft}");
    assert_eq!(draft["emergency"][0]["outcome"], "connected", "{draft}");

    // The caller hangs up: the gateway gets the BYE.
    let bye = c.call.in_dialog(&mut c.trunk, "BYE");
    c.trunk.send(&bye).await;
    c.trunk.response("BYE", 200).await;
    let bye = gw.request("BYE").await;
    call_setup::ok_to(&mut gw, &bye).await;
    server.stop().await;
}

#[tokio::test]
async fn a_refer_from_the_agent_phone_reaches_only_emergency_lines() {
    let (server, block, mut gw) = with_gateway("gateway 119").await;
    let mut c = connect(&server, block.range).await;
    let refer = |c: &mut Connected, target: &str| {
        let extra = format!(
            "Refer-To: <sip:{target}@{}>\r\nReferred-By: <sip:1001@{}>\r\n",
            common::DOMAIN,
            common::DOMAIN
        );
        c.agent_dialog.request(&mut c.agent, "REFER", &extra)
    };
    let r = refer(&mut c, "13811012345");
    c.agent.send(&r).await;
    let resp = c.agent.final_response("REFER").await;
    assert_eq!(resp.status(), Some(403), "{}", resp.raw);

    let r = refer(&mut c, "119");
    c.agent.send(&r).await;
    let resp = c.agent.final_response("REFER").await;
    assert_eq!(resp.status(), Some(202), "{}", resp.raw);
    let notify = c.agent.request("NOTIFY").await;
    assert_eq!(notify.header("Event"), "refer");
    assert!(notify.body().starts_with("SIP/2.0 100"), "{}", notify.raw);
    call_setup::ok_to(&mut c.agent, &notify).await;
    // The final NOTIFY and the BYE release the agent's phone.
    let notify = c.agent.request("NOTIFY").await;
    assert!(notify.body().starts_with("SIP/2.0 200"), "{}", notify.raw);
    assert!(notify
        .header("Subscription-State")
        .starts_with("terminated"));
    call_setup::ok_to(&mut c.agent, &notify).await;
    let bye = c.agent.request("BYE").await;
    call_setup::ok_to(&mut c.agent, &bye).await;
    let gw_rtp = gateway_answers(&mut gw, "119").await;
    caller_heard_by_gateway(&c, &gw_rtp).await;
    server.stop().await;
}

#[tokio::test]
async fn without_a_gateway_transfers_are_unavailable() {
    let (server, block) = server(None).await;
    let _c = connect(&server, block.range).await;
    let agent = server.login("1001", "test-pass-1001").await;
    let call = live_call_id(&server, &agent).await;
    let (status, body) = transfer(&server, &agent, &call, json!({"emergency": "120"})).await;
    assert_eq!(status, 503, "{body}");
    server.stop().await;
}
