//! Callback requests dialled automatically end to end over loopback (issue 7
//! item 4), on the built-in default configuration with `callbacks_first` on
//! the general queue and `[trunk.outbound]` pointing at a test UAS standing
//! in for the carrier and the citizen's phone.
//!
//! A caller finds nobody logged in, is offered a callback and accepts: the
//! request is stored open. Then agent 1001 goes ready: their phone rings
//! first (showing the citizen's number), they answer, the citizen is called
//! through the trunk and answers, the request becomes `done`, and the call
//! record says `outbound` / `callback` with the agent.
//!
//! RTP ports 30500–30999 belong to this file. Waits have guards of tens of
//! seconds (prompts play in real time); nothing measures speed.

#[path = "common/call.rs"]
mod call_setup;
#[path = "common/centre.rs"]
mod centre;
mod common;
#[path = "common/ua.rs"]
mod ua;

use std::time::Duration;

use call_setup::{answer_to, local, rtp_socket, CALLER, TRUNK_IP};
use centre::{http, password, Caller, WAIT};
use common::TestServer;
use serde_json::{json, Value};
use ua::{Incoming, SipUa};

/// Polls `path` (a JSON list, or an object with `list_key`) until `pred`
/// matches an entry.
async fn poll(
    server: &TestServer,
    token: &str,
    path: &str,
    list_key: Option<&str>,
    pred: impl Fn(&Value) -> bool,
) -> Value {
    let mut last = Value::Null;
    for _ in 0..400 {
        let (_, body) = http(server, token, reqwest::Method::GET, path, None).await;
        let list = match list_key {
            Some(k) => body[k].clone(),
            None => body.clone(),
        };
        if let Some(v) = list.as_array().and_then(|l| l.iter().find(|v| pred(v))) {
            return v.clone();
        }
        last = body;
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("nothing matching at {path}: {last}");
}

/// The ACD state of `agent` in `GET /api/agents`.
async fn acd_state(server: &TestServer, token: &str, agent: &str) -> String {
    let (_, agents) = http(server, token, reqwest::Method::GET, "/api/agents", None).await;
    let me = agents
        .as_array()
        .and_then(|a| a.iter().find(|a| a["id"] == agent))
        .unwrap_or_else(|| panic!("{agent} listed: {agents}"));
    me["state"].as_str().unwrap_or_default().to_owned()
}

/// Waits until the live call's menu phase is `phase`.
async fn wait_phase(server: &TestServer, token: &str, phase: &str) {
    for _ in 0..400 {
        let (_, calls) = http(server, token, reqwest::Method::GET, "/api/calls", None).await;
        if let Some(id) = calls["live"][0]["id"].as_str() {
            let path = format!("/api/calls/{id}");
            let (status, call) = http(server, token, reqwest::Method::GET, &path, None).await;
            if status == 200 && call["ivr"]["phase"] == phase {
                return;
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the call never reached phase {phase}");
}

#[tokio::test]
async fn an_open_request_is_dialled_by_the_next_ready_agent_and_done() {
    // The citizen's side of the trunk, bound before the server knows it.
    let mut trunk = SipUa::bind("trunk", TRUNK_IP, "127.0.0.1:9".parse().expect("addr")).await;
    let trunk_addr = trunk.local();
    let (server, _block) = centre::server_in(30_500, 31_000, |c| {
        c.trunk.outbound.uri = Some(format!("sip:{{number}}@{trunk_addr}"));
        c.trunk.outbound.ring_timeout_s = 10;
        for q in &mut c.queues {
            q.callbacks_first = q.name == "general";
        }
    })
    .await;
    trunk.server = server.sip;
    let sup = server.login("9001", "demo-9001-change-me").await;

    // Nobody logged in: the caller chooses a callback (key 1 for the
    // general queue, then 1 to accept with their own number).
    let mut caller = Caller::dial(&server, "12345").await;
    caller.key('1').await;
    wait_phase(&server, &sup, "callback").await;
    caller.key('1').await;
    caller.hung_up_by_server().await;
    let token = server.login("1001", &password("1001")).await;
    let open = poll(&server, &token, "/api/callbacks?status=open", None, |_| {
        true
    })
    .await;
    assert_eq!(open["number"], CALLER, "{open}");
    assert_eq!(open["queue"], "general", "{open}");
    let request_id = open["id"].as_str().expect("id").to_owned();
    // The queue dials its requests itself: working one by hand is refused,
    // so the citizen is never called twice.
    for step in ["claim", "call"] {
        let (status, body) = http(
            &server,
            &token,
            reqwest::Method::POST,
            &format!("/api/callbacks/{request_id}/{step}"),
            None,
        )
        .await;
        assert_eq!(status, 409, "{step}: {body}");
        assert_eq!(body["error"]["code"], "dialled_automatically", "{body}");
    }

    // Agent 1001 registers and goes ready: reserved for the callback.
    let mut agent = SipUa::bind("1001", TRUNK_IP, server.sip).await;
    agent.register("1001", &password("1001")).await;
    let (status, body) = http(
        &server,
        &token,
        reqwest::Method::POST,
        "/api/agents/1001/state",
        Some(json!({"state": "ready"})),
    )
    .await;
    assert_eq!(status, 200, "{body}");

    // The agent's phone rings first, showing the citizen's number.
    let to_agent = Incoming::wait(&mut agent).await;
    assert!(
        to_agent.invite.header("From").contains(CALLER),
        "{}",
        to_agent.invite.raw
    );
    assert_eq!(
        acd_state(&server, &sup, "1001").await,
        "ringing",
        "reserved in the ACD"
    );
    let agent_rtp = rtp_socket(TRUNK_IP).await;
    let (agent_answer, _) = answer_to(&to_agent.offer(), local(&agent_rtp));
    to_agent.reply(&mut agent, 200, "", &agent_answer).await;
    agent.request("ACK").await;

    // Then the citizen through the trunk; they answer.
    let to_citizen = tokio::time::timeout(WAIT, Incoming::wait(&mut trunk))
        .await
        .expect("the citizen is dialled");
    assert_eq!(
        to_citizen.invite.request_uri(),
        format!("sip:{CALLER}@{trunk_addr}")
    );
    let citizen_rtp = rtp_socket(TRUNK_IP).await;
    let (citizen_answer, _) = answer_to(&to_citizen.offer(), local(&citizen_rtp));
    to_citizen.reply(&mut trunk, 200, "", &citizen_answer).await;
    trunk.request("ACK").await;

    // The request is done.
    let done = poll(&server, &token, "/api/callbacks?status=done", None, |r| {
        r["id"] == request_id.as_str()
    })
    .await;
    assert_eq!(done["number"], CALLER, "{done}");

    // The citizen hangs up; the agent's phone gets the BYE; the record.
    let bye = to_citizen.dialog().bye(&mut trunk);
    trunk.send(&bye).await;
    trunk.response("BYE", 200).await;
    let agent_bye = agent.request("BYE").await;
    call_setup::ok_to(&mut agent, &agent_bye).await;
    let cdr = poll(&server, &sup, "/api/calls", Some("recent"), |c| {
        c["purpose"] == "callback"
    })
    .await;
    assert_eq!(cdr["direction"], "outbound", "{cdr}");
    assert_eq!(cdr["agent"], "1001", "{cdr}");
    assert_eq!(cdr["caller_number"], CALLER, "{cdr}");

    // After the call the agent wraps up, like after any call.
    assert_eq!(acd_state(&server, &sup, "1001").await, "wrap_up");
    server.stop().await;
}
