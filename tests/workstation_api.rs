//! What the web pages read beyond the order and call APIs, over real HTTP
//! (no browser needed): the pages and assets themselves, the topic tree,
//! recordings searched by date, agent, caller and order, and calls counted
//! per local hour of the day.

mod common;

use common::TestServer;
use hotline_recordings::{direction, reason, CallStore, Cdr, HangupBy, RecordingRow};
use serde_json::{json, Value};

async fn get(server: &TestServer, token: &str, path: &str) -> (u16, Value) {
    let resp = reqwest::Client::new()
        .get(server.http_url(path))
        .bearer_auth(token)
        .send()
        .await
        .expect("HTTP");
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(Value::Null))
}

fn recording(id: &str, caller: &str, agent: &str, started_ms: i64) -> RecordingRow {
    RecordingRow {
        id: id.into(),
        call_id: format!("call-{id}"),
        caller_number: caller.into(),
        agent_id: Some(agent.into()),
        ticket_id: None,
        started_at_ms: started_ms,
        ended_at_ms: started_ms + 30_000,
        duration_ms: 30_000,
        path: format!("recordings/{id}.wav"),
        size_bytes: 44,
        sha256: "00".repeat(32),
        dropped_frames: 0,
    }
}

/// Milliseconds of a UTC date-time.
fn ms(t: time::OffsetDateTime) -> i64 {
    i64::try_from(t.unix_timestamp_nanos() / 1_000_000).expect("in range")
}

#[tokio::test]
async fn pages_topics_recording_search_and_calls_per_hour() {
    let mut url = String::new();
    let server = TestServer::start_with(|c| url = c.storage.database_url()).await;
    let calls = CallStore::connect(&url)
        .await
        .expect("the server's database");
    let sup = server.login("9001", "test-pass-9001").await;
    let agent = server.login("1001", "test-pass-1001").await;

    // The pages are served with their type and policy; no log-in needed to load them.
    for page in ["/agent", "/supervisor"] {
        let resp = reqwest::get(server.http_url(page)).await.expect("page");
        assert_eq!(resp.status(), 200, "{page}");
        assert_eq!(resp.headers()["content-type"], "text/html; charset=utf-8");
        assert!(resp.headers().contains_key("content-security-policy"));
        let html = resp.text().await.expect("html");
        assert!(html.contains("/assets/style.css"), "{page}");
    }
    let js = reqwest::get(server.http_url("/assets/live.js"))
        .await
        .expect("js");
    assert_eq!(js.status(), 200);
    assert_eq!(
        js.headers()["content-type"],
        "text/javascript; charset=utf-8"
    );
    assert!(js.text().await.expect("js").contains("/api/events"));

    // The topic tree of the test configuration (the built-in default tree),
    // parents before their children.
    let (status, topics) = get(&server, &agent, "/api/topics").await;
    assert_eq!(status, 200, "{topics}");
    let topics = topics.as_array().expect("a list");
    let pos = |code: &str| topics.iter().position(|t| t["code"] == code);
    let child = pos("urban.roads").expect("urban.roads");
    assert!(pos("urban").expect("urban") < child);
    assert_eq!(topics[child]["parent"], "urban");
    assert_eq!(topics[child]["name"], "道路桥梁");
    assert_eq!(topics[pos("urban").expect("urban")]["parent"], Value::Null);

    // Recordings: two calls two days apart.
    let day1 = time::macros::datetime!(2026-03-02 02:00 UTC); // 10:00 at +08:00
    let day2 = time::macros::datetime!(2026-03-04 02:30 UTC);
    calls
        .insert_recording(&recording("r1", "13911112222", "1001", ms(day1)))
        .await
        .expect("insert");
    calls
        .insert_recording(&recording("r2", "13833334444", "1002", ms(day2)))
        .await
        .expect("insert");
    assert!(calls
        .set_recording_ticket("r2", "MM20260304000007")
        .await
        .expect("link"));
    let ids = |v: &Value| -> Vec<String> {
        v.as_array()
            .expect("a list")
            .iter()
            .map(|r| r["id"].as_str().expect("id").to_owned())
            .collect()
    };
    for (query, want) in [
        ("", vec!["r2", "r1"]),
        ("?agent=1001", vec!["r1"]),
        ("?caller=4444", vec!["r2"]),
        ("?order=MM20260304000007", vec!["r2"]),
        ("?from=2026-03-02&to=2026-03-02", vec!["r1"]),
        ("?from=2026-03-03", vec!["r2"]),
        ("?caller=&agent=", vec!["r2", "r1"]),
        ("?agent=1001&caller=4444", vec![]),
    ] {
        let (status, body) = get(&server, &sup, &format!("/api/recordings{query}")).await;
        assert_eq!(status, 200, "{query}: {body}");
        assert_eq!(ids(&body), want, "{query}");
    }
    let (status, body) = get(&server, &sup, "/api/recordings?from=yesterday").await;
    assert_eq!((status, &body["error"]["field"]), (400, &json!("from")));
    let (status, _) = get(&server, &agent, "/api/recordings?agent=1001").await;
    assert_eq!(status, 403, "recordings are for supervisors");

    // Calls to the hotline per local hour (+08:00): two at 10:xx on the 2nd, one at 10:xx
    // on the 4th, one at 23:xx local on the 3rd (15:xx UTC).
    let cdr = |id: &str, at: time::OffsetDateTime| Cdr {
        call_id: id.into(),
        caller_number: "13800138000".into(),
        did: "12345".into(),
        agent_id: None,
        arrived_at_ms: ms(at),
        answered_at_ms: None,
        ended_at_ms: ms(at) + 5_000,
        hangup_by: HangupBy::Caller,
        reason: reason::NORMAL.into(),
        recording_id: None,
        direction: direction::INBOUND.into(),
        purpose: None,
    };
    for (id, at) in [
        ("c1", day1),
        ("c2", day1 + time::Duration::minutes(30)),
        ("c3", day2),
        ("c4", time::macros::datetime!(2026-03-03 15:10 UTC)),
    ] {
        calls.insert_cdr(&cdr(id, at)).await.expect("cdr");
    }
    // A survey call the server placed is not a call to the hotline.
    let mut outbound = cdr("o1", day1);
    outbound.direction = direction::OUTBOUND.into();
    outbound.purpose = Some("survey".into());
    calls.insert_cdr(&outbound).await.expect("cdr");
    let (status, body) = get(
        &server,
        &sup,
        "/api/calls/per-hour?from=2026-03-02&to=2026-03-04",
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["days"], 3, "{body}");
    let counts = body["calls"].as_array().expect("24 counts");
    assert_eq!(counts.len(), 24);
    assert_eq!(counts[10], 3, "{body}");
    assert_eq!(counts[23], 1, "{body}");
    assert_eq!(
        counts.iter().map(|c| c.as_u64().expect("n")).sum::<u64>(),
        4
    );
    let (status, body) = get(
        &server,
        &sup,
        "/api/calls/per-hour?from=2026-03-02&to=2026-03-02",
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        (body["days"].as_u64(), body["calls"][10].as_u64()),
        (Some(1), Some(2))
    );
    let (status, _) = get(
        &server,
        &sup,
        "/api/calls/per-hour?from=2026-03-04&to=2026-03-01",
    )
    .await;
    assert_eq!(status, 400, "to before from");
    let (status, _) = get(&server, &agent, "/api/calls/per-hour").await;
    assert_eq!(status, 403);
    server.stop().await;
}
