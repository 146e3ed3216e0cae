//! The workstation's "hand to the survey and drop out" button over loopback,
//! on the built-in default configuration: a citizen reaches agent 1001, the
//! agent asks `POST /api/calls/{id}/survey`; the server sends BYE to the
//! agent's phone, keeps the caller, plays the survey; the caller presses 4
//! and the rating is stored for agent 1001. Another agent may not do it for
//! this call.
//!
//! RTP ports 28500–28999 belong to the web pages' tests (this file and
//! tests/browser.rs reserve blocks from the range with a lock each).

#[path = "common/call.rs"]
mod call_setup;
#[path = "common/centre.rs"]
mod centre;
mod common;
#[path = "common/ua.rs"]
mod ua;

use std::time::Duration;

use call_setup::{local, ok_to, rtp_socket, TRUNK_IP};
use centre::{http, Caller, WAIT};
use serde_json::{json, Value};
use ua::{sdp, SdpAudio, SipUa};

#[tokio::test]
async fn the_agent_hands_the_caller_to_the_survey_and_drops_out() {
    // Survey on, shifts off (the hour of the run does not matter).
    let (server, _block) = centre::server_in(28_500, 29_000, |_| {}).await;
    let mut phone = SipUa::bind("1001", TRUNK_IP, server.sip).await;
    phone.register("1001", "demo-1001-change-me").await;
    let agent = server.login("1001", "demo-1001-change-me").await;
    let other = server.login("1002", "demo-1002-change-me").await;
    let sup = server.login("9001", "demo-9001-change-me").await;
    let (status, body) = http(
        &server,
        &agent,
        reqwest::Method::POST,
        "/api/agents/1001/state",
        Some(json!({"state": "ready"})),
    )
    .await;
    assert_eq!(status, 200, "{body}");

    let mut citizen = Caller::dial(&server, "12345").await;
    citizen.key('1').await;
    let inv = phone
        .wait_for("INVITE", WAIT, |m| m.method() == Some("INVITE"))
        .await;
    let rtp = rtp_socket(TRUNK_IP).await;
    let offer = SdpAudio::parse(inv.body());
    let answer = sdp(local(&rtp), &[(8, "PCMA")], offer.pt_of("TELEPHONE-EVENT"));
    let tag = phone.fresh("ag");
    let contact = format!("Contact: <{}>\r\n", phone.contact("1001"));
    phone
        .send(&inv.response(200, "OK", &tag, &contact, &answer))
        .await;
    phone.request("ACK").await;

    let (_, calls) = http(&server, &agent, reqwest::Method::GET, "/api/calls", None).await;
    let id = calls["live"][0]["id"]
        .as_str()
        .expect("a live call")
        .to_owned();
    let path = format!("/api/calls/{id}/survey");
    let (status, _) = http(&server, &other, reqwest::Method::POST, &path, None).await;
    assert_eq!(status, 403, "another agent's call");
    let (status, _) = http(
        &server,
        &agent,
        reqwest::Method::POST,
        "/api/calls/00000000000000ff/survey",
        None,
    )
    .await;
    assert_eq!(status, 404);

    let (status, body) = http(&server, &agent, reqwest::Method::POST, &path, None).await;
    assert_eq!(status, 202, "{body}");
    // The agent's phone is released...
    let bye = phone
        .wait_for("BYE", WAIT, |m| m.method() == Some("BYE"))
        .await;
    assert_eq!(bye.call_id(), inv.call_id(), "{}", bye.raw);
    ok_to(&mut phone, &bye).await;
    // ... and nobody is left to hand over twice.
    let (status, body) = http(&server, &agent, reqwest::Method::POST, &path, None).await;
    assert!(status == 403 || status == 409, "{status} {body}");

    // The caller stays and hears the survey, rates 4, and is let go.
    let mut phase = Value::Null;
    for _ in 0..100 {
        let (_, call) = http(
            &server,
            &sup,
            reqwest::Method::GET,
            &format!("/api/calls/{id}"),
            None,
        )
        .await;
        phase = call["ivr"]["phase"].clone();
        if phase == "survey" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(phase, "survey");
    citizen.hears_audio().await;
    citizen.key('4').await;
    citizen.hung_up_by_server().await;
    let mut surveys = Value::Null;
    for _ in 0..100 {
        (_, surveys) = http(&server, &sup, reqwest::Method::GET, "/api/surveys", None).await;
        if surveys.as_array().is_some_and(|a| !a.is_empty()) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(surveys[0]["rating"], 4, "{surveys}");
    assert_eq!(surveys[0]["agent_id"], "1001", "{surveys}");
    assert_eq!(surveys[0]["stage"], "reception", "{surveys}");
    server.stop().await;
}
