//! Live events over a real WebSocket (`/api/events`, protocol v1):
//!
//! - a token in the URL or in the first message opens the stream with
//!   `hello` and a `snapshot`; a bad token gets an error and close code 4401;
//! - two agents on real SIP calls (the menus and queues of the default
//!   configuration) each see only their own call and state, the supervisor
//!   sees both, and a reconnect gets a snapshot with the call (and its screen
//!   pop) and the agent on it;
//! - order changes reach the agents who created or acted on the order and the
//!   units dispatched to, supervision records the unit concerned;
//! - a client that stops reading is dropped with 4408 while a reading client
//!   keeps receiving and the SIP side keeps working.
//!
//! RTP ports 28000–28499 belong to this file. Waits have guards of tens of
//! seconds; nothing measures speed.

#[path = "common/call.rs"]
mod call_setup;
#[path = "common/centre.rs"]
mod centre;
mod common;
#[path = "common/ua.rs"]
mod ua;

use centre::{answer, http, password, ready_agent, Caller, WAIT};
use common::api::{details, Api, Db};
use common::TestServer;
use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// Opens `/api/events`, with `?token=` when `token` is given.
async fn connect(server: &TestServer, token: Option<&str>) -> Socket {
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
enum Next {
    Json(Value),
    Closed(Option<u16>),
}

async fn next(ws: &mut Socket) -> Next {
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

async fn next_json(ws: &mut Socket) -> Value {
    match next(ws).await {
        Next::Json(v) => {
            assert_eq!(v["v"], 1, "every message is versioned: {v}");
            v
        }
        Next::Closed(code) => panic!("closed ({code:?}) while a message was expected"),
    }
}

/// The error message and the close code a refused connection gets.
async fn refused(ws: &mut Socket) -> (Value, Option<u16>) {
    let error = next_json(ws).await;
    match next(ws).await {
        Next::Closed(code) => (error, code),
        Next::Json(v) => panic!("a message after the error: {v}"),
    }
}

/// A signed-in live-event client that keeps what it has received.
struct Client {
    ws: Socket,
    hello: Value,
    snapshot: Value,
    seen: Vec<Value>,
}

impl Client {
    /// Connects with the token in the URL and reads `hello` and `snapshot`.
    async fn open(server: &TestServer, token: &str) -> Client {
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
    async fn until(&mut self, what: &str, pred: impl Fn(&Value) -> bool) -> Value {
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
    fn saw(&self, pred: impl Fn(&Value) -> bool) -> bool {
        self.seen.iter().any(pred)
    }
}

fn is(ev: &Value, ty: &str, call: &str) -> bool {
    ev["type"] == ty && ev["call"] == call
}

#[tokio::test]
async fn a_token_in_the_url_or_the_first_message_opens_the_stream_and_a_bad_one_gets_4401() {
    let server = TestServer::start().await;
    let token = server.login("1001", "test-pass-1001").await;

    // In the URL.
    let mut ws = connect(&server, Some(&token)).await;
    let hello = next_json(&mut ws).await;
    assert_eq!(
        hello,
        json!({"type": "hello", "v": 1, "user": "1001", "role": "agent", "unit": null})
    );
    let snapshot = next_json(&mut ws).await;
    assert_eq!(snapshot["type"], "snapshot");
    assert!(snapshot["at"].as_str().is_some_and(|s| s.contains('T')));
    let agents = snapshot["agents"].as_array().expect("agents");
    assert_eq!(agents.len(), 1, "an agent sees only itself: {snapshot}");
    assert_eq!(agents[0]["id"], "1001");
    assert_eq!(agents[0]["registered"], false);
    assert_eq!(snapshot["calls"], json!([]));
    assert!(snapshot["queues"].is_array());
    // The application-level keep-alive.
    ws.send(Message::text(r#"{"type":"ping"}"#))
        .await
        .expect("send");
    assert_eq!(next_json(&mut ws).await, json!({"type": "pong", "v": 1}));

    // As the first message.
    let mut ws = connect(&server, None).await;
    ws.send(Message::text(
        json!({"type": "auth", "token": token}).to_string(),
    ))
    .await
    .expect("send");
    assert_eq!(next_json(&mut ws).await["user"], "1001");
    assert_eq!(next_json(&mut ws).await["type"], "snapshot");

    // The supervisor's snapshot lists every seat.
    let sup = server.login("9001", "test-pass-9001").await;
    let mut ws = connect(&server, Some(&sup)).await;
    assert_eq!(next_json(&mut ws).await["role"], "supervisor");
    let snapshot = next_json(&mut ws).await;
    let ids: Vec<&str> = snapshot["agents"]
        .as_array()
        .expect("agents")
        .iter()
        .filter_map(|a| a["id"].as_str())
        .collect();
    assert_eq!(ids, ["1001", "1002", "9001"]);

    // Refused: a bad token in the URL, a bad token first, something else first.
    let mut ws = connect(&server, Some("not-a-token")).await;
    let (error, code) = refused(&mut ws).await;
    assert_eq!(error["type"], "error", "{error}");
    assert_eq!(error["code"], "unauthorised", "{error}");
    assert_eq!(code, Some(4401));
    let mut ws = connect(&server, None).await;
    ws.send(Message::text(r#"{"type":"auth","token":"0000"}"#))
        .await
        .expect("send");
    assert_eq!(refused(&mut ws).await.1, Some(4401));
    let mut ws = connect(&server, None).await;
    ws.send(Message::text(r#"{"type":"ping"}"#))
        .await
        .expect("send");
    assert_eq!(refused(&mut ws).await.1, Some(4401));
    server.stop().await;
}

#[tokio::test]
async fn each_agent_sees_only_its_own_call_and_state_and_a_reconnect_gets_the_call_in_its_snapshot()
{
    let (server, _block) = centre::server_in(28_000, 28_500, |_| {}).await;
    let sup_token = server.login("9001", &password("9001")).await;
    let a_token = server.login("1001", &password("1001")).await;
    let b_token = server.login("1003", &password("1003")).await;
    let mut sup = Client::open(&server, &sup_token).await;
    let mut a = Client::open(&server, &a_token).await;
    let mut b = Client::open(&server, &b_token).await;
    let mut phone_a = ready_agent(&server, "1001").await;
    let mut phone_b = ready_agent(&server, "1003").await;

    // A Cantonese caller reaches 1003 (the only Cantonese seat ready) ...
    let mut caller_b = Caller::dial(&server, "12345").await;
    caller_b.key('2').await;
    answer(&mut phone_b).await;
    let ev = b
        .until("1003's answer", |e| e["type"] == "call_answered")
        .await;
    assert_eq!(ev["agent"], "1003", "{ev}");
    let call_b = ev["call"].as_str().expect("call id").to_owned();
    // ... and a Mandarin caller reaches 1001 (1003 serves no Mandarin queue).
    let mut caller_a = Caller::dial(&server, "12345").await;
    caller_a.key('1').await;
    answer(&mut phone_a).await;
    let ev = a
        .until("1001's answer", |e| e["type"] == "call_answered")
        .await;
    assert_eq!(ev["agent"], "1001", "{ev}");
    let call_a = ev["call"].as_str().expect("call id").to_owned();
    assert_ne!(call_a, call_b);
    assert!(a.saw(|e| is(e, "call_ringing", &call_a) && e["agent"] == "1001"));
    assert!(b.saw(|e| is(e, "call_ringing", &call_b) && e["agent"] == "1003"));

    // A reconnect (here: a second connection) gets the call on the agent's
    // line with its screen pop, and the agent on it.
    for (token, id, call, language) in [
        (&b_token, "1003", &call_b, "yue"),
        (&a_token, "1001", &call_a, "cmn"),
    ] {
        let again = Client::open(&server, token).await;
        let s = &again.snapshot;
        let agents = s["agents"].as_array().expect("agents");
        assert_eq!(agents.len(), 1, "{s}");
        assert_eq!(agents[0]["id"], id, "{s}");
        assert_eq!(agents[0]["state"], "on_call", "{s}");
        assert_eq!(agents[0]["call"], call.as_str(), "{s}");
        let calls = s["calls"].as_array().expect("calls");
        assert_eq!(calls.len(), 1, "only the agent's own call: {s}");
        assert_eq!(calls[0]["id"], call.as_str());
        assert_eq!(calls[0]["agent"], id);
        assert_eq!(calls[0]["caller_number"], call_setup::CALLER);
        let info = &calls[0]["info"];
        assert_eq!(info["language"], language, "{s}");
        assert_eq!(info["did"], "12345", "{s}");
        assert!(
            info["ivr_path"].as_array().is_some_and(|p| !p.is_empty()),
            "{s}"
        );
        assert!(info["waited_s"].is_u64(), "{s}");
    }
    let again = Client::open(&server, &sup_token).await;
    let calls = again.snapshot["calls"].as_array().expect("calls");
    assert_eq!(
        calls.len(),
        2,
        "the supervisor sees both: {}",
        again.snapshot
    );
    assert!(calls.iter().all(|c| c.get("info").is_none()));
    let states: Vec<(&str, &str)> = again.snapshot["agents"]
        .as_array()
        .expect("agents")
        .iter()
        .filter_map(|a| Some((a["id"].as_str()?, a["state"].as_str()?)))
        .collect();
    assert!(states.contains(&("1001", "on_call")), "{states:?}");
    assert!(states.contains(&("1003", "on_call")), "{states:?}");

    // The callers hang up: 1003's call first.
    for (caller, phone) in [(&mut caller_b, &mut phone_b), (&mut caller_a, &mut phone_a)] {
        caller.hang_up().await;
        let bye = phone
            .wait_for("BYE", WAIT, |m| m.method() == Some("BYE"))
            .await;
        call_setup::ok_to(phone, &bye).await;
    }
    let ended = b
        .until("the end of 1003's call", |e| is(e, "call_ended", &call_b))
        .await;
    assert_eq!(ended["agent"], "1003", "{ended}");
    let ended = a
        .until("the end of 1001's call", |e| is(e, "call_ended", &call_a))
        .await;
    assert_eq!(ended["agent"], "1001", "{ended}");
    sup.until("the end of both calls", |e| is(e, "call_ended", &call_a))
        .await;

    // The bus is one ordered stream: every event about the other agent's
    // call came before the end each agent waited for, so had it leaked it
    // would be in `seen`.
    for (client, me, mine, other, other_agent) in [
        (&a, "1001", &call_a, &call_b, "1003"),
        (&b, "1003", &call_b, &call_a, "1001"),
    ] {
        assert!(
            !client.saw(|e| e["call"] == other.as_str()),
            "{me} saw the other call: {:#?}",
            client.seen
        );
        assert!(
            !client.saw(|e| e["agent"] == other_agent),
            "{me} saw the other agent: {:#?}",
            client.seen
        );
        assert!(
            !client.saw(|e| e["type"] == "call_offered"),
            "{me} saw a call offered to the queue"
        );
        assert!(client.saw(|e| e["type"] == "agent_state_changed"
            && e["agent"] == me
            && e["state"]["state"] == "on_call"));
        assert!(client.saw(|e| e["type"] == "queue_changed"));
        assert!(client.saw(|e| is(e, "call_answered", mine)));
    }
    for call in [&call_a, &call_b] {
        for ty in [
            "call_offered",
            "call_ringing",
            "call_answered",
            "call_ended",
        ] {
            assert!(
                sup.saw(|e| is(e, ty, call)),
                "the supervisor saw {ty} of {call}"
            );
        }
    }
    for agent in ["1001", "1003"] {
        assert!(sup.saw(|e| e["type"] == "agent_state_changed" && e["agent"] == agent));
    }
    server.stop().await;
}

#[tokio::test]
async fn order_changes_and_supervision_records_reach_the_agents_and_units_concerned() {
    let api = Api::start(Db::Sqlite, "events").await;
    let server = &api.server;
    let a1001 = api.token("1001").await;
    let a1002 = api.token("1002").await;
    let housing_token = api.token("u-housing").await;
    let mut sup = Client::open(server, &api.token("9001").await).await;
    let mut c1001 = Client::open(server, &a1001).await;
    let mut c1002 = Client::open(server, &a1002).await;
    let mut housing = Client::open(server, &housing_token).await;
    let mut water = Client::open(server, &api.token("u-water").await).await;
    let mut parks = Client::open(server, &api.token("u-parks").await).await;
    assert_eq!(
        housing.hello,
        json!({"type": "hello", "v": 1, "user": "u-housing", "role": "unit", "unit": "housing"})
    );
    for key in ["agents", "queues", "calls"] {
        assert_eq!(housing.snapshot[key], json!([]), "unit users: no {key}");
    }

    // 1001 opens an order, dispatches it to housing with water; housing signs.
    let n1 = api.open(&a1001, &details("help", None)).await;
    let r = api
        .step(
            &a1001,
            &n1,
            "dispatch",
            json!({"lead": "housing", "co_handlers": ["water"]}),
        )
        .await;
    assert_eq!(r.status, 200, "{r:?}");
    let r = api.step(&housing_token, &n1, "sign", json!({})).await;
    assert_eq!(r.status, 200, "{r:?}");
    // 1002 opens another and dispatches it to parks.
    let n2 = api.open(&a1002, &details("help", None)).await;
    let r = api
        .step(&a1002, &n2, "dispatch", json!({"lead": "parks"}))
        .await;
    assert_eq!(r.status, 200, "{r:?}");

    let order = |action: &'static str, number: &str| {
        let number = number.to_owned();
        move |e: &Value| {
            e["type"] == "order_changed" && e["number"] == number.as_str() && e["action"] == action
        }
    };
    let created = c1001.until("create", order("create", &n1)).await;
    assert_eq!(created["state"], "received", "{created}");
    assert_eq!(created["lead_unit"], Value::Null);
    assert_eq!(created["by"], "1001");
    let signed = c1001.until("sign", order("sign", &n1)).await;
    assert_eq!(signed["by"], "u-housing", "the creator follows its order");
    assert_eq!(signed["created_by"], "1001");
    assert_eq!(signed["state"], "signed");
    assert_eq!(signed["lead_unit"], "housing");
    assert_eq!(signed["co_units"], json!(["water"]));
    assert!(signed["at"].as_str().is_some_and(|s| s.contains('T')));
    // 1002's first event is its own order: nothing of 1001's before it.
    let first = c1002.until("anything", |_| true).await;
    assert!(order("create", &n2)(&first), "{first}");
    for unit in [&mut housing, &mut water] {
        let first = unit.until("anything", |_| true).await;
        assert!(order("dispatch", &n1)(&first), "{first}");
        let second = unit.until("anything", |_| true).await;
        assert!(order("sign", &n1)(&second), "{second}");
    }
    // Parks hears of nothing before its own order.
    let first = parks.until("anything", |_| true).await;
    assert!(order("dispatch", &n2)(&first), "{first}");
    sup.until("everything", order("dispatch", &n2)).await;
    assert!(sup.saw(order("create", &n1)) && sup.saw(order("sign", &n1)));

    // A draft from a call completed into an order dispatched to water.
    let store = server.server.as_ref().expect("running").tickets.clone();
    let now = time::OffsetDateTime::now_utc();
    let draft = store
        .open_draft(
            hotline_ticketing::draft::CallInfo {
                call_id: "call-ws-1".into(),
                caller_number: Some("13800138000".into()),
                ivr_path: vec!["welcome".into()],
                recording_id: None,
                agent: hotline_ticketing::UserId::new("1001"),
                answered_at: now,
            },
            &hotline_ticketing::Actor::system("call-side"),
            now,
            &hotline_ticketing::store::AuditEntry::system(0),
        )
        .await
        .expect("draft");
    let r = api
        .post(
            &a1001,
            &format!("/api/drafts/{}/order", draft.id),
            &json!({"details": details("help", None),
                "intake": {"command": "dispatch", "lead": "water"}}),
        )
        .await;
    assert_eq!(r.status, 201, "{r:?}");
    let n3 = r.body["order"]["number"]
        .as_str()
        .expect("number")
        .to_owned();
    let ev = water.until("the draft's order", order("create", &n3)).await;
    assert_eq!(ev["state"], "dispatched", "{ev}");
    assert_eq!(ev["lead_unit"], "water");
    c1001.until("the draft's order", order("create", &n3)).await;

    // Ten days on, the sweep finds n2 unsigned (parks) and n1 signed but
    // not responded to (housing).
    let running = server.server.as_ref().expect("running");
    let raised = hotline::server::supervision_sweep(
        &running.tickets,
        &running.rules,
        &running.sip,
        now + time::Duration::days(10),
    )
    .await
    .expect("sweep");
    assert!(raised >= 2, "{raised} records");
    let is_record = |unit: &'static str| {
        move |e: &Value| e["type"] == "supervision_raised" && e["unit"] == unit
    };
    let rec = parks
        .until("parks' record", |e| {
            is_record("parks")(e) && e["kind"] == "overdue_sign"
        })
        .await;
    assert_eq!(rec["order_number"], n2.as_str(), "{rec}");
    assert!(rec["id"].as_str().is_some_and(|k| !k.is_empty()), "{rec}");
    assert!(matches!(rec["tier"].as_str(), Some("district" | "city")));
    assert!(rec["raised_at"].as_str().is_some_and(|s| s.contains('T')));
    assert!(
        parks
            .seen
            .iter()
            .all(|e| e["number"] == n2.as_str() || e["order_number"] == n2.as_str()),
        "parks: {:#?}",
        parks.seen
    );
    let rec = housing
        .until("housing's record", is_record("housing"))
        .await;
    assert_eq!(rec["order_number"], n1.as_str(), "{rec}");
    assert!(
        !housing.saw(is_record("parks")) && !housing.saw(order("create", &n3)),
        "housing: {:#?}",
        housing.seen
    );
    sup.until("parks' record", is_record("parks")).await;
    // Water hands the draft's order back; once that is approved water no
    // longer handles it, and still hears that it left (`former_units`).
    let water_token = api.token("u-water").await;
    let r = api
        .step(
            &water_token,
            &n3,
            "request_return",
            json!({"reason": "不属本单位职责", "basis": "三定方案"}),
        )
        .await;
    assert_eq!(r.status, 200, "{r:?}");
    let r = api
        .step(&api.token("9001").await, &n3, "approve_return", json!({}))
        .await;
    assert_eq!(r.status, 200, "{r:?}");
    let ev = water
        .until("the approved return", order("approve_return", &n3))
        .await;
    assert_eq!(ev["lead_unit"], Value::Null, "{ev}");
    assert_eq!(ev["former_units"], json!(["water"]), "{ev}");
    // Agents get no supervision records; 1002 heard of none of the others'.
    assert!(!c1001.saw(|e| e["type"] == "supervision_raised"));
    let r = api
        .step(&a1002, &n2, "add_note", json!({"text": "再催"}))
        .await;
    assert_eq!(r.status, 200, "{r:?}");
    c1002.until("its note", order("add_note", &n2)).await;
    assert!(
        c1002.seen.iter().all(|e| e["number"] == n2.as_str()),
        "1002: {:#?}",
        c1002.seen
    );
    api.stop().await;
}

#[tokio::test]
async fn a_client_that_stops_reading_is_dropped_with_4408_and_the_others_carry_on() {
    let (server, _block) = centre::server_in(28_000, 28_500, |_| {}).await;
    let running = server.server.as_ref().expect("running");
    let token = server.login("9001", &password("9001")).await;
    let mut reader = Client::open(&server, &token).await;
    // The slow client reads its hello and snapshot, then nothing.
    let mut slow = Client::open(&server, &token).await;

    // Large events fill the slow client's socket buffers, then its queue.
    // Each is published once the reading client has it, so the reader is
    // never behind; the flood stops once the server has dropped the slow one.
    let padding = "x".repeat(32 * 1024);
    let dropped = || {
        running
            .metrics
            .counter("hotline_events_dropped_total", "reason=\"too_slow\"")
    };
    let mut sent = 0u32;
    while dropped() == 0 {
        assert!(sent < 4_000, "the stalled client was never dropped");
        running
            .sip
            .publish(json!({"type": "load_test", "seq": sent, "padding": padding}));
        let ev = reader
            .until("the flood", |e| e["type"] == "load_test")
            .await;
        assert_eq!(ev["seq"], sent, "the reader gets every event in order");
        reader.seen.clear();
        sent += 1;
    }
    assert!(
        sent as usize > events_queue(),
        "{sent} events filled the queue"
    );
    // The slow client finds what was buffered, then the close code.
    let mut got = 0u32;
    let code = loop {
        match next(&mut slow.ws).await {
            Next::Json(v) => {
                assert_eq!(v["seq"], got, "in order, none skipped before the close");
                got += 1;
            }
            Next::Closed(code) => break code,
        }
    };
    eprintln!("slow client: {got} of {sent} events before the close");
    assert_eq!(code, Some(4408), "after {got} of {sent} events");
    assert!(got < sent, "{got} of {sent}");

    // The SIP side and the reading client carry on: a phone registers and
    // goes ready, and the reader sees it.
    let _phone = ready_agent(&server, "1002").await;
    let ev = reader
        .until("1002 ready", |e| {
            e["type"] == "agent_state_changed" && e["agent"] == "1002"
        })
        .await;
    assert_eq!(ev["state"]["state"], "ready", "{ev}");
    let (status, agents) = http(&server, &token, reqwest::Method::GET, "/api/agents", None).await;
    assert_eq!(status, 200);
    assert!(agents.as_array().is_some_and(|a| a
        .iter()
        .any(|x| x["id"] == "1002" && x["registered"] == true)));
    server.stop().await;
}

fn events_queue() -> usize {
    hotline::http::events::QUEUE_CAPACITY
}
