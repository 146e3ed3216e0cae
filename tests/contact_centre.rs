//! The contact centre end to end over loopback, on the built-in default
//! configuration (menus, queues, demo seats, the committed prompts): a trunk
//! call is answered by the server, hears the menu, keys RFC 4733 digits and
//!
//! - presses 2 (Cantonese), reaches an agent with the Cantonese skill who is
//!   logged in and registered, talks, the agent hangs up, the caller presses 4
//!   for the survey and the result is stored;
//! - rings an agent who does not answer, and the ACD's ring timeout moves the
//!   call to the next one;
//! - presses 0 then 1 and is transferred to 110 through the emergency gateway
//!   (a test UAS), and the emergency-linkage record is stored;
//! - finds nobody logged in, is offered a callback, presses 1 and the request
//!   is stored.
//!
//! RTP ports 16000–17999 belong to this file. Waits have guards of tens of
//! seconds (prompts play in real time); nothing measures speed.

#[path = "common/call.rs"]
mod call_setup;
#[path = "common/centre.rs"]
mod centre;
mod common;
#[path = "common/ua.rs"]
mod ua;

use std::time::Duration;

use call_setup::{local, rtp_socket, RtpBlock, CALLER, TRUNK_IP};
use centre::{answer, http, password, ready_agent, Caller, WAIT};
use common::TestServer;
use hotline_config::Config;
use serde_json::{json, Value};
use ua::{sdp, SipUa};

async fn server(tweak: impl FnOnce(&mut Config)) -> (TestServer, RtpBlock) {
    centre::server_in(16_000, 18_000, tweak).await
}

/// Waits until the supervisor's view of the call shows `phase`.
async fn wait_phase(server: &TestServer, phase: &str) -> Value {
    let token = server.login("9001", "demo-9001-change-me").await;
    let mut last = Value::Null;
    for _ in 0..400 {
        let (_, calls) = http(server, &token, reqwest::Method::GET, "/api/calls", None).await;
        if let Some(id) = calls["live"][0]["id"].as_str() {
            let (status, call) = http(
                server,
                &token,
                reqwest::Method::GET,
                &format!("/api/calls/{id}"),
                None,
            )
            .await;
            if status == 200 && call["ivr"]["phase"] == phase {
                return call;
            }
            last = call;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the call never reached phase {phase}: {last}");
}

/// Polls `path` (a JSON list) as `token` until an element satisfies `pred`
/// (the call side writes its records off the SIP core); the whole list.
async fn poll_list(
    server: &TestServer,
    token: &str,
    path: &str,
    pred: impl Fn(&Value) -> bool,
) -> Value {
    let mut last = Value::Null;
    for _ in 0..100 {
        let (status, body) = http(server, token, reqwest::Method::GET, path, None).await;
        assert_eq!(status, 200, "{path}: {body}");
        if body.as_array().is_some_and(|a| a.iter().any(&pred)) {
            return body;
        }
        last = body;
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("{path} never listed what was expected: {last}");
}

async fn supervisor_get(server: &TestServer, path: &str) -> Value {
    let token = server.login("9001", "demo-9001-change-me").await;
    let (status, body) = http(server, &token, reqwest::Method::GET, path, None).await;
    assert_eq!(status, 200, "{path}: {body}");
    body
}

#[tokio::test]
async fn cantonese_caller_reaches_a_cantonese_agent_and_rates_the_service_4() {
    let (server, _block) = server(|_| {}).await;
    let mut bus = server.server.as_ref().expect("running").sip.subscribe();
    let mut mandarin = ready_agent(&server, "1001").await;
    let mut cantonese = ready_agent(&server, "1003").await;
    let mut caller = Caller::dial(&server, "12345").await;
    caller.hears_audio().await;
    caller.key('2').await;

    let (inv, tag) = answer(&mut cantonese).await;
    assert!(
        mandarin.drain(Duration::from_millis(100)).await.is_empty(),
        "the Mandarin-only agent is not rung"
    );
    // The screen pop: the caller's language and menu path.
    let token = server.login("1003", &password("1003")).await;
    let (_, calls) = http(&server, &token, reqwest::Method::GET, "/api/calls", None).await;
    let id = calls["live"][0]["id"]
        .as_str()
        .expect("a live call")
        .to_owned();
    let (status, call) = http(
        &server,
        &token,
        reqwest::Method::GET,
        &format!("/api/calls/{id}"),
        None,
    )
    .await;
    assert_eq!(status, 200, "{call}");
    assert_eq!(call["agent"], "1003");
    assert_eq!(call["ivr"]["language"], "yue", "{call}");
    assert_eq!(call["ivr"]["queue"], "cantonese", "{call}");
    let mandarin_token = server.login("1001", &password("1001")).await;
    // An agent's call list holds its own calls only (callers' numbers are
    // personal data); the supervisor's holds them all.
    assert_eq!(calls["live"].as_array().map(Vec::len), Some(1), "{calls}");
    let (status, others) = http(
        &server,
        &mandarin_token,
        reqwest::Method::GET,
        "/api/calls",
        None,
    )
    .await;
    assert_eq!(status, 200, "{others}");
    assert_eq!(others["live"], json!([]), "{others}");
    let (status, _) = http(
        &server,
        &mandarin_token,
        reqwest::Method::GET,
        &format!("/api/calls/{id}"),
        None,
    )
    .await;
    assert_eq!(status, 403, "another agent's call");
    let agents = supervisor_get(&server, "/api/agents").await;
    let a1003 = agents
        .as_array()
        .and_then(|a| a.iter().find(|x| x["id"] == "1003"))
        .expect("1003 listed");
    assert_eq!(a1003["state"], "on_call", "{a1003}");

    // The agent hangs up first: the caller stays for the survey.
    let mut dialog = ua::AgentDialog {
        invite: inv,
        local_tag: tag,
        cseq: 0,
    };
    let bye = dialog.bye(&mut cantonese);
    cantonese.send(&bye).await;
    cantonese.response("BYE", 200).await;
    wait_phase(&server, "survey").await;
    caller.key('4').await;
    caller.hung_up_by_server().await;

    let sup = server.login("9001", "demo-9001-change-me").await;
    let surveys = poll_list(&server, &sup, "/api/surveys", |_| true).await;
    assert_eq!(surveys[0]["rating"], 4, "{surveys}");
    assert_eq!(surveys[0]["agent_id"], "1003");
    assert_eq!(surveys[0]["queue"], "cantonese");
    assert_eq!(surveys[0]["stage"], "reception");
    // Every answered call leaves a draft for the agent to complete (§15).
    let drafts = supervisor_get(&server, "/api/drafts").await;
    let d = drafts
        .as_array()
        .and_then(|a| a.iter().find(|d| d["call"]["call_id"] == id.as_str()))
        .unwrap_or_else(|| panic!("the call's draft: {drafts}"));
    assert_eq!(d["call"]["agent"], "1003", "{d}");
    assert_eq!(d["call"]["caller_number"], CALLER);
    assert!(
        d["call"]["ivr_path"].as_array().is_some_and(|p| p
            .iter()
            .any(|s| s.as_str().is_some_and(|s| s.contains("yue")))),
        "the menu path: {d}"
    );
    // ... linked to the call's recording.
    let rid = d["call"]["recording_id"]
        .as_str()
        .unwrap_or_else(|| panic!("a recording link: {d}"))
        .to_owned();
    poll_list(&server, &sup, "/api/recordings", |r| {
        r["id"] == rid.as_str()
    })
    .await;
    let queues = supervisor_get(&server, "/api/queues").await;
    let q = queues
        .as_array()
        .and_then(|a| a.iter().find(|x| x["name"] == "cantonese"))
        .expect("cantonese queue");
    assert_eq!(q["today"]["answered"], 1, "{q}");

    // The live bus saw it all, in order, each event typed and versioned.
    let mut seen = Vec::new();
    while let Ok(ev) = bus.try_recv() {
        assert_eq!(ev["v"], 1, "{ev}");
        seen.push(ev);
    }
    let pos = |pred: &dyn Fn(&Value) -> bool| {
        seen.iter()
            .position(|e| pred(e))
            .unwrap_or_else(|| panic!("missing event; bus: {seen:#?}"))
    };
    let ready = pos(&|e| {
        e["type"] == "agent_state_changed" && e["agent"] == "1003" && e["state"]["state"] == "ready"
    });
    let offered = pos(&|e| e["type"] == "call_offered" && e["did"] == "12345");
    let queued =
        pos(&|e| e["type"] == "queue_changed" && e["queue"] == "cantonese" && e["waiting"] == 1);
    let answered = pos(&|e| e["type"] == "call_answered" && e["agent"] == "1003");
    let rated = pos(&|e| e["type"] == "survey_result" && e["rating"] == 4);
    let ended = pos(&|e| e["type"] == "call_ended");
    assert!(
        ready < offered && offered < queued && queued < answered,
        "{seen:#?}"
    );
    assert!(answered < rated && rated < ended, "{seen:#?}");
    server.stop().await;
}

#[tokio::test]
async fn an_unanswered_agent_is_passed_over_after_the_ring_timeout() {
    let (server, _block) = server(|c| {
        for q in &mut c.queues {
            q.ring_timeout_s = 2;
        }
    })
    .await;
    let mut a = ready_agent(&server, "1002").await;
    let mut b = ready_agent(&server, "1003").await;
    let mut caller = Caller::dial(&server, "12345").await;
    caller.key('2').await;
    // Whichever phone rings first stays silent (a 180 only).
    let first = tokio::select! {
        m = a.wait_for("INVITE", WAIT, |m| m.method() == Some("INVITE")) => (m, true),
        m = b.wait_for("INVITE", WAIT, |m| m.method() == Some("INVITE")) => (m, false),
    };
    let (inv, first_is_a) = first;
    let (silent, other) = if first_is_a {
        (&mut a, &mut b)
    } else {
        (&mut b, &mut a)
    };
    let tag = silent.fresh("r");
    silent
        .send(&inv.response(180, "Ringing", &tag, "", ""))
        .await;
    let cancel = silent
        .wait_for("CANCEL", WAIT, |m| m.method() == Some("CANCEL"))
        .await;
    call_setup::ok_to(silent, &cancel).await;
    silent
        .send(&inv.response(487, "Request Terminated", &tag, "", ""))
        .await;
    answer(other).await;
    let queues = supervisor_get(&server, "/api/queues").await;
    let q = queues
        .as_array()
        .and_then(|a| a.iter().find(|x| x["name"] == "cantonese"))
        .expect("cantonese queue");
    assert_eq!(q["today"]["answered"], 1, "{q}");
    drop(caller);
    server.stop().await;
}

#[tokio::test]
async fn the_emergency_key_reaches_110_through_the_gateway() {
    let mut gw = SipUa::bind("gateway", TRUNK_IP, "127.0.0.1:9".parse().expect("addr")).await;
    let gw_addr = gw.local();
    let (server, _block) = server(|c| {
        c.emergency.gateway = Some(format!("sip:{{number}}@{gw_addr}"));
    })
    .await;
    gw.server = server.sip;
    let mut caller = Caller::dial(&server, "12345").await;
    caller.hears_audio().await;
    caller.key('0').await;
    tokio::time::sleep(Duration::from_millis(800)).await;
    caller.key('1').await;
    let inv = gw
        .wait_for("INVITE", WAIT, |m| m.method() == Some("INVITE"))
        .await;
    assert!(
        inv.request_uri().starts_with(&format!("sip:110@{gw_addr}")),
        "{}",
        inv.raw
    );
    let rtp = rtp_socket(TRUNK_IP).await;
    let answer = sdp(local(&rtp), &[(8, "PCMA")], None);
    let tag = gw.fresh("gw");
    let contact = format!("Contact: <sip:110@{gw_addr}>\r\n");
    gw.send(&inv.response(200, "OK", &tag, &contact, &answer))
        .await;
    gw.request("ACK").await;
    let sup = server.login("9001", "demo-9001-change-me").await;
    let records = poll_list(&server, &sup, "/api/emergency-transfers", |_| true).await;
    assert_eq!(records[0]["number"], "110", "{records}");
    assert_eq!(records[0]["agent"], "ivr", "chosen in the menu");
    assert_eq!(records[0]["outcome"], "connected");
    // A transfer from the menu opens a draft of its own for the supervisors.
    let drafts = supervisor_get(&server, "/api/drafts").await;
    let d = drafts
        .as_array()
        .and_then(|a| a.iter().find(|d| d["call"]["agent"] == "ivr"))
        .unwrap_or_else(|| panic!("a menu draft: {drafts}"));
    assert_eq!(d["emergency"][0]["line"], "110", "{d}");
    assert_eq!(d["call"]["caller_number"], CALLER);
    let bye = caller.call.in_dialog(&mut caller.trunk, "BYE");
    caller.trunk.send(&bye).await;
    let bye = gw
        .wait_for("BYE", WAIT, |m| m.method() == Some("BYE"))
        .await;
    call_setup::ok_to(&mut gw, &bye).await;
    server.stop().await;
}

#[tokio::test]
async fn with_nobody_logged_in_the_caller_leaves_a_callback_request() {
    let (server, _block) = server(|_| {}).await;
    let mut caller = Caller::dial(&server, "12345").await;
    caller.key('1').await;
    wait_phase(&server, "callback").await;
    caller.key('1').await;
    caller.hung_up_by_server().await;
    let token = server.login("1001", &password("1001")).await;
    let list = poll_list(&server, &token, "/api/callbacks?status=open", |_| true).await;
    assert_eq!(list[0]["number"], CALLER, "{list}");
    assert_eq!(list[0]["reason"], "no_agents");
    assert_eq!(list[0]["queue"], "general");
    server.stop().await;
}

#[tokio::test]
async fn agent_states_and_the_announcement_follow_the_roles() {
    let (server, _block) = server(|_| {}).await;
    let agent = server.login("1001", &password("1001")).await;
    let sup = server.login("9001", "demo-9001-change-me").await;
    let post = |token: &str, id: &str, body: Value| {
        let token = token.to_owned();
        let path = format!("/api/agents/{id}/state");
        let server = &server;
        async move { http(server, &token, reqwest::Method::POST, &path, Some(body)).await }
    };
    let (s, body) = post(
        &agent,
        "1001",
        json!({"state": "not_ready", "reason": "break"}),
    )
    .await;
    assert_eq!(s, 200, "{body}");
    assert_eq!(body["state"], "not_ready");
    assert_eq!(body["reason"], "break");
    assert_eq!(body["registered"], false);
    let (s, _) = post(&agent, "1002", json!({"state": "ready"})).await;
    assert_eq!(s, 403, "an agent sets only its own state");
    let (s, _) = post(&sup, "1002", json!({"state": "ready"})).await;
    assert_eq!(s, 200, "a supervisor sets anyone's");
    let (s, body) = post(&agent, "1001", json!({"state": "asleep"})).await;
    assert_eq!(s, 400, "{body}");
    let (s, _) = post(&sup, "7777", json!({"state": "ready"})).await;
    assert_eq!(s, 404);

    let (s, _) = http(
        &server,
        &agent,
        reqwest::Method::PUT,
        "/api/announcement",
        Some(json!({"prompt": "goodbye"})),
    )
    .await;
    assert_eq!(s, 403, "agents cannot set the announcement");
    let (s, body) = http(
        &server,
        &sup,
        reqwest::Method::PUT,
        "/api/announcement",
        Some(json!({"prompt": "no-such-prompt"})),
    )
    .await;
    assert_eq!(s, 400, "{body}");
    let (s, body) = http(
        &server,
        &sup,
        reqwest::Method::PUT,
        "/api/announcement",
        Some(json!({"prompt": "goodbye"})),
    )
    .await;
    assert_eq!(s, 200, "{body}");
    let (_, body) = http(
        &server,
        &agent,
        reqwest::Method::GET,
        "/api/announcement",
        None,
    )
    .await;
    assert_eq!(body["prompt"], "goodbye");
    let (s, _) = http(
        &server,
        &sup,
        reqwest::Method::DELETE,
        "/api/announcement",
        None,
    )
    .await;
    assert_eq!(s, 204);
    let (_, body) = http(
        &server,
        &agent,
        reqwest::Method::GET,
        "/api/announcement",
        None,
    )
    .await;
    assert_eq!(body["prompt"], Value::Null);
    let (s, _) = http(&server, &agent, reqwest::Method::GET, "/api/surveys", None).await;
    assert_eq!(s, 403, "survey results are for supervisors");
    let days = "/api/queues/days?from=2026-01-01&to=2026-12-31";
    let (s, _) = http(&server, &agent, reqwest::Method::GET, days, None).await;
    assert_eq!(s, 403, "daily statistics are for supervisors");
    let (s, body) = http(&server, &sup, reqwest::Method::GET, days, None).await;
    assert_eq!(s, 200, "{body}");
    assert!(body.as_array().is_some(), "{body}");
    let (s, _) = http(
        &server,
        &sup,
        reqwest::Method::GET,
        "/api/queues/days?from=yesterday&to=2026-12-31",
        None,
    )
    .await;
    assert_eq!(s, 400);
    server.stop().await;
}
