//! The HTTP API over a real socket: health, metrics, log-in, bearer tokens.

mod common;

use common::TestServer;

#[tokio::test]
async fn health_and_metrics_are_public() {
    let server = TestServer::start().await;
    let health = reqwest::get(server.http_url("/health"))
        .await
        .expect("health");
    assert_eq!(health.status(), 200);
    let body: serde_json::Value = health.json().await.expect("json");
    assert_eq!(body["status"], "ok");
    let metrics = reqwest::get(server.http_url("/metrics"))
        .await
        .expect("metrics");
    assert_eq!(metrics.status(), 200);
    assert!(metrics
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/plain")));
    let text = metrics.text().await.expect("text");
    for name in [
        "hotline_sip_messages_received_total",
        "hotline_sip_messages_sent_total",
        "hotline_sip_parse_errors_total",
        "hotline_sip_registrations_total",
    ] {
        assert!(
            text.contains(&format!("# TYPE {name} counter")),
            "{name} in {text}"
        );
    }
    server.stop().await;
}

#[tokio::test]
async fn login_returns_token_role_and_expiry_and_the_token_opens_the_api() {
    let server = TestServer::start().await;
    let client = reqwest::Client::new();
    let resp = client
        .post(server.http_url("/api/login"))
        .json(&serde_json::json!({"username": "1001", "password": "test-pass-1001"}))
        .send()
        .await
        .expect("login");
    assert_eq!(resp.status(), 200);
    let body: serde_json::Value = resp.json().await.expect("json");
    assert_eq!(body["role"], "agent");
    assert_eq!(body["token"].as_str().map(str::len), Some(64));
    let expires = body["expires_at"].as_str().expect("expires_at");
    assert!(
        expires.contains('T') && (expires.ends_with('Z') || expires.contains('+')),
        "{expires}"
    );

    let agents = client
        .get(server.http_url("/api/agents"))
        .bearer_auth(body["token"].as_str().expect("token"))
        .send()
        .await
        .expect("agents");
    assert_eq!(agents.status(), 200);
    let list: serde_json::Value = agents.json().await.expect("json");
    let ids: Vec<&str> = list
        .as_array()
        .expect("array")
        .iter()
        .filter_map(|a| a["id"].as_str())
        .collect();
    assert_eq!(ids, ["1001", "1002", "9001"]);
    assert_eq!(list[2]["role"], "supervisor");
    assert!(
        list[0].get("password").is_none(),
        "passwords never leave the server"
    );
    server.stop().await;
}

#[tokio::test]
async fn bad_credentials_missing_token_and_bad_json_get_clear_errors() {
    let server = TestServer::start().await;
    let client = reqwest::Client::new();
    for (user, pass) in [("1001", "wrong"), ("nobody", "test-pass-1001")] {
        let resp = client
            .post(server.http_url("/api/login"))
            .json(&serde_json::json!({"username": user, "password": pass}))
            .send()
            .await
            .expect("login");
        assert_eq!(resp.status(), 401);
        let body: serde_json::Value = resp.json().await.expect("json");
        assert_eq!(
            body["error"]["code"], "bad_credentials",
            "same answer for {user}"
        );
    }
    let no_token = client
        .get(server.http_url("/api/agents"))
        .send()
        .await
        .expect("agents");
    assert_eq!(no_token.status(), 401);
    let bad_token = client
        .get(server.http_url("/api/agents"))
        .bearer_auth("0000")
        .send()
        .await
        .expect("agents");
    assert_eq!(bad_token.status(), 401);
    let bad_json = client
        .post(server.http_url("/api/login"))
        .header("content-type", "application/json")
        .body("{\"username\": 1001")
        .send()
        .await
        .expect("login");
    assert_eq!(bad_json.status(), 400);
    let body: serde_json::Value = bad_json.json().await.expect("json");
    assert_eq!(body["error"]["code"], "validation");
    assert_eq!(body["error"]["field"], "username", "{body}");
    server.stop().await;
}

#[tokio::test]
async fn repeated_login_failures_lock_the_address_out() {
    let server = TestServer::start().await;
    let client = reqwest::Client::new();
    let mut statuses = Vec::new();
    for _ in 0..11 {
        let resp = client
            .post(server.http_url("/api/login"))
            .json(&serde_json::json!({"username": "1001", "password": "guess"}))
            .send()
            .await
            .expect("login");
        statuses.push(resp.status().as_u16());
    }
    assert_eq!(&statuses[..10], &[401; 10]);
    assert_eq!(statuses[10], 429);
    // Even the right password is refused during the lock-out.
    let resp = client
        .post(server.http_url("/api/login"))
        .json(&serde_json::json!({"username": "1001", "password": "test-pass-1001"}))
        .send()
        .await
        .expect("login");
    assert_eq!(resp.status(), 429);
    server.stop().await;
}
