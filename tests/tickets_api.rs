//! The work-order API over real HTTP, on a SQLite file and on PostgreSQL:
//! the whole lifecycle by the roles the measures name, pagination and
//! filters, validation errors naming the field, role checks, concurrent
//! steps (one wins, the other 409), a failure in the middle of a step (no
//! half-written order), the audit log.

mod common;

use common::api::{databases, details, Api, Db};
use hotline_ticketing::store::FailPoint;
use serde_json::json;

async fn lifecycle(db: Db) {
    let api = Api::start(db, "lifecycle").await;
    let agent = api.token("1001").await;
    let sup = api.token("9001").await;
    let lead = api.token("u-housing").await;
    let co = api.token("u-water").await;

    let number = api.open(&agent, &details("help", None)).await;
    assert!(number.starts_with("MM") && number.len() == 16, "{number}");
    let got = api.get(&agent, &format!("/api/tickets/{number}")).await;
    assert_eq!(got.status, 200);
    assert_eq!(got.body["order"]["state"], "received");
    assert_eq!(got.body["order"]["version"], 1);

    // Before dispatch no unit sees it.
    assert_eq!(
        api.get(&lead, &format!("/api/tickets/{number}"))
            .await
            .status,
        404
    );

    let r = api
        .step(
            &agent,
            &number,
            "dispatch",
            json!({"lead": "housing", "co_handlers": ["water"]}),
        )
        .await;
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(r.body["ticket"]["order"]["state"], "dispatched");
    assert!(r.body["ticket"]["order"]["deadlines"]["sign_by"].is_string());
    assert_eq!(r.body["effects"][0]["effect"], "notify_units");

    // Only the lead unit signs (§16.3); the co-handler gets 403.
    let r = api.step(&co, &number, "sign", json!({})).await;
    assert_eq!(r.status, 403, "{r:?}");
    assert_eq!(r.body["error"]["code"], "forbidden");
    let r = api.step(&lead, &number, "sign", json!({})).await;
    assert_eq!(r.status, 200, "{r:?}");
    // Signing twice is not a transition of a signed order: 409.
    let r = api.step(&lead, &number, "sign", json!({})).await;
    assert_eq!(r.status, 409, "{r:?}");
    assert_eq!(r.body["error"]["code"], "invalid_transition");

    for (action, body) in [
        (
            "respond",
            json!({"contacted": true, "note": "called the citizen"}),
        ),
        (
            "complete",
            json!({"outcome": "resolved", "summary": "灯已修好", "public": true}),
        ),
        (
            "reply",
            json!({"citizen_informed": true, "feedback": "repaired on Tuesday"}),
        ),
    ] {
        let r = api.step(&lead, &number, action, body).await;
        assert_eq!(r.status, 200, "{action}: {r:?}");
    }
    let r = api
        .step(
            &sup,
            &number,
            "record_survey",
            json!({"stage": "handling", "score": 1, "via": "ivr"}),
        )
        .await;
    assert_eq!(r.status, 200, "{r:?}");
    let r = api.step(&sup, &number, "close", json!({})).await;
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(r.body["ticket"]["order"]["state"], "closed");

    let h = api
        .get(&sup, &format!("/api/tickets/{number}/history"))
        .await;
    assert_eq!(h.status, 200);
    let steps: Vec<&str> = h
        .body
        .as_array()
        .expect("array")
        .iter()
        .map(|e| e["command"].as_str().expect("command"))
        .collect();
    assert_eq!(
        steps,
        [
            "open",
            "dispatch",
            "sign",
            "respond",
            "complete",
            "reply",
            "record_survey",
            "close"
        ]
    );
    let seqs: Vec<i64> = h
        .body
        .as_array()
        .expect("array")
        .iter()
        .map(|e| e["seq"].as_i64().expect("seq"))
        .collect();
    assert_eq!(seqs, (1..=8).collect::<Vec<_>>());

    // Every change is in the audit log with who and from where.
    let admin = api.token("root").await;
    let audit = api
        .get(&admin, &format!("/api/audit?entity=order&id={number}"))
        .await;
    assert_eq!(audit.status, 200, "{audit:?}");
    let rows = audit.body.as_array().expect("array");
    assert_eq!(rows.len(), 8);
    assert_eq!(rows[0]["action"], "order.close");
    assert_eq!(rows[0]["actor"], "9001");
    assert_eq!(rows[7]["action"], "order.create");
    assert!(
        rows.iter().all(|r| r["client_ip"] == "127.0.0.1"),
        "{rows:?}"
    );
    // Agents may not read the audit log.
    assert_eq!(api.get(&agent, "/api/audit").await.status, 403);
    api.stop().await;
}

#[tokio::test]
async fn whole_lifecycle_by_the_roles_on_each_database() {
    for db in databases() {
        lifecycle(db).await;
    }
}

async fn pages_and_filters(db: Db) {
    let api = Api::start(db, "pages").await;
    let agent = api.token("1001").await;
    let lead = api.token("u-housing").await;
    let mut numbers = Vec::new();
    for i in 0..7 {
        let mut d = details(if i % 2 == 0 { "help" } else { "consultation" }, None);
        d["caller"]["number"] = json!(format!("1390000000{i}"));
        numbers.push(api.open(&agent, &d).await);
    }
    // Newest first, three a page, no overlap, the last page says so.
    let mut seen = Vec::new();
    let mut offset = Some(0);
    let mut pages = 0;
    while let Some(o) = offset {
        let r = api
            .get(&agent, &format!("/api/tickets?limit=3&offset={o}"))
            .await;
        assert_eq!(r.status, 200, "{r:?}");
        let items = r.body["items"].as_array().expect("items");
        assert!(items.len() <= 3);
        seen.extend(
            items
                .iter()
                .map(|i| i["order"]["number"].as_str().expect("n").to_owned()),
        );
        offset = r.body["next_offset"].as_u64();
        pages += 1;
    }
    assert_eq!(pages, 3);
    let mut expected = numbers.clone();
    expected.reverse();
    assert_eq!(seen, expected);

    // The same walk with cursors (keyset paging): same orders, same order.
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let url = match &cursor {
            Some(c) => format!("/api/tickets?limit=3&cursor={c}"),
            None => "/api/tickets?limit=3".to_owned(),
        };
        let r = api.get(&agent, &url).await;
        assert_eq!(r.status, 200, "{r:?}");
        seen.extend(
            r.body["items"]
                .as_array()
                .expect("items")
                .iter()
                .map(|i| i["order"]["number"].as_str().expect("n").to_owned()),
        );
        match r.body["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => break,
        }
    }
    assert_eq!(seen, expected);
    let r = api.get(&agent, "/api/tickets?cursor=nonsense").await;
    assert_eq!(r.status, 400, "{r:?}");
    assert_eq!(r.body["error"]["field"], "cursor", "{r:?}");
    let r = api
        .get(
            &agent,
            &format!(
                "/api/tickets?offset=3&cursor={}",
                cursor.unwrap_or_default()
            ),
        )
        .await;
    assert_eq!(r.status, 400, "{r:?}");

    // Filters.
    let count = |r: &common::api::Resp| r.body["items"].as_array().expect("items").len();
    let r = api.get(&agent, "/api/tickets?category=help").await;
    assert_eq!(count(&r), 4);
    let r = api.get(&agent, "/api/tickets?caller=13900000003").await;
    assert_eq!(count(&r), 1);
    assert_eq!(r.body["items"][0]["order"]["number"], numbers[3].as_str());
    let r = api
        .step(&agent, &numbers[0], "dispatch", json!({"lead": "housing"}))
        .await;
    assert_eq!(r.status, 200, "{r:?}");
    let r = api.get(&agent, "/api/tickets?state=dispatched").await;
    assert_eq!(count(&r), 1);
    let r = api
        .get(&agent, "/api/tickets?state=received,dispatched")
        .await;
    assert_eq!(count(&r), 7);
    let r = api.get(&agent, "/api/tickets?unit=housing").await;
    assert_eq!(count(&r), 1);
    // Nothing is overdue yet (24 h to sign).
    let r = api.get(&agent, "/api/tickets?overdue=true").await;
    assert_eq!(count(&r), 0);
    let today = time::OffsetDateTime::now_utc()
        .to_offset(time::macros::offset!(+8))
        .date();
    let r = api
        .get(&agent, &format!("/api/tickets?from={today}&to={today}"))
        .await;
    assert_eq!(count(&r), 7, "{r:?}");
    let r = api
        .get(&agent, "/api/tickets?from=2020-01-01&to=2020-01-31")
        .await;
    assert_eq!(count(&r), 0);
    // A unit user sees only its unit's orders, whatever it asks.
    let r = api.get(&lead, "/api/tickets").await;
    assert_eq!(count(&r), 1);
    assert_eq!(api.get(&lead, "/api/tickets?unit=water").await.status, 403);
    api.stop().await;
}

#[tokio::test]
async fn pagination_and_filters_on_each_database() {
    for db in databases() {
        pages_and_filters(db).await;
    }
}

#[tokio::test]
async fn invalid_requests_get_400_naming_the_field() {
    let api = Api::start(Db::Sqlite, "invalid").await;
    let agent = api.token("1001").await;
    let field = |r: &common::api::Resp| r.body["error"]["field"].as_str().map(str::to_owned);

    let r = api.post_raw(&agent, "/api/tickets", "{\"channel\": ").await;
    assert_eq!(r.status, 400, "{r:?}");
    assert_eq!(r.body["error"]["code"], "validation");

    let mut d = details("help", None);
    d.as_object_mut().expect("object").remove("description");
    let r = api.post(&agent, "/api/tickets", &d).await;
    assert_eq!(
        (r.status, field(&r).as_deref()),
        (400, Some("description")),
        "{r:?}"
    );

    let mut d = details("help", None);
    d["category"] = json!("gossip");
    let r = api.post(&agent, "/api/tickets", &d).await;
    assert_eq!(
        (r.status, field(&r).as_deref()),
        (400, Some("category")),
        "{r:?}"
    );

    let mut d = details("help", None);
    d["caller"]["contact_preference"] = json!(7);
    let r = api.post(&agent, "/api/tickets", &d).await;
    assert_eq!(
        (r.status, field(&r).as_deref()),
        (400, Some("caller.contact_preference")),
        "{r:?}"
    );

    // Domain validation: names the field as the client sent it.
    let mut d = details("help", None);
    d["description"] = json!("   ");
    let r = api.post(&agent, "/api/tickets", &d).await;
    assert_eq!(
        (r.status, field(&r).as_deref()),
        (400, Some("description")),
        "{r:?}"
    );
    let mut d = details("help", None);
    d["topic"] = json!("no.such.topic");
    let r = api.post(&agent, "/api/tickets", &d).await;
    assert_eq!(
        (r.status, field(&r).as_deref()),
        (400, Some("topic")),
        "{r:?}"
    );

    // Step bodies and query strings.
    let number = api.open(&agent, &details("help", None)).await;
    let r = api
        .step(&agent, &number, "dispatch", json!({"co_handlers": []}))
        .await;
    assert_eq!(
        (r.status, field(&r).as_deref()),
        (400, Some("lead")),
        "{r:?}"
    );
    let r = api
        .step(
            &agent,
            &number,
            "refuse",
            json!({"reason": "boring", "explanation": "x"}),
        )
        .await;
    assert_eq!(
        (r.status, field(&r).as_deref()),
        (400, Some("reason")),
        "{r:?}"
    );
    let r = api.step(&agent, &number, "no_such_step", json!({})).await;
    assert_eq!(r.status, 404, "{r:?}");
    let r = api.get(&agent, "/api/tickets?limit=0").await;
    assert_eq!(
        (r.status, field(&r).as_deref()),
        (400, Some("limit")),
        "{r:?}"
    );
    let r = api.get(&agent, "/api/tickets?limit=many").await;
    assert_eq!(
        (r.status, field(&r).as_deref()),
        (400, Some("limit")),
        "{r:?}"
    );
    let r = api.get(&agent, "/api/tickets?state=lost").await;
    assert_eq!(
        (r.status, field(&r).as_deref()),
        (400, Some("state")),
        "{r:?}"
    );
    let r = api.get(&agent, "/api/tickets?from=yesterday").await;
    assert_eq!(
        (r.status, field(&r).as_deref()),
        (400, Some("from")),
        "{r:?}"
    );
    let r = api.get(&agent, "/api/tickets?colour=red").await;
    assert_eq!(
        (r.status, field(&r).as_deref()),
        (400, Some("colour")),
        "{r:?}"
    );
    api.stop().await;
}

#[tokio::test]
async fn roles_are_checked_per_route() {
    let api = Api::start(Db::Sqlite, "roles").await;
    let agent = api.token("1001").await;
    let unit = api.token("u-housing").await;
    let admin = api.token("root").await;

    // No token, bad token: 401 with the error body.
    let r = api.get("nope", "/api/tickets").await;
    assert_eq!(
        (r.status, r.body["error"]["code"].as_str()),
        (401, Some("unauthenticated"))
    );
    // Unit users do not open orders; agents do not manage users.
    assert_eq!(
        api.post(&unit, "/api/tickets", &details("help", None))
            .await
            .status,
        403
    );
    let new_user =
        json!({"id": "u-new", "role": "unit", "unit": "parks", "password": "long-enough-pw"});
    assert_eq!(api.post(&agent, "/api/users", &new_user).await.status, 403);
    // The administrator creates a unit user, who can then log in.
    let r = api.post(&admin, "/api/users", &new_user).await;
    assert_eq!(r.status, 201, "{r:?}");
    assert!(r.body.get("password").is_none() && r.body.get("password_hash").is_none());
    let login = api.server.login("u-new", "long-enough-pw").await;
    assert_eq!(login.len(), 64);
    assert_eq!(api.post(&admin, "/api/users", &new_user).await.status, 409);
    let weak = json!({"id": "u-weak", "role": "unit", "unit": "parks", "password": "short"});
    let r = api.post(&admin, "/api/users", &weak).await;
    assert_eq!(
        (r.status, r.body["error"]["field"].as_str()),
        (400, Some("password"))
    );
    let no_unit =
        json!({"id": "u-x", "role": "unit", "unit": "mars", "password": "long-enough-pw"});
    let r = api.post(&admin, "/api/users", &no_unit).await;
    assert_eq!(
        (r.status, r.body["error"]["field"].as_str()),
        (400, Some("unit"))
    );
    // A disabled account cannot log in.
    let r = api
        .client
        .patch(api.server.http_url("/api/users/u-new"))
        .bearer_auth(&admin)
        .json(&json!({"disabled": true}))
        .send()
        .await
        .expect("patch");
    assert_eq!(r.status(), 204);
    let r = api
        .client
        .post(api.server.http_url("/api/login"))
        .json(&json!({"username": "u-new", "password": "long-enough-pw"}))
        .send()
        .await
        .expect("login");
    assert_eq!(r.status(), 401);
    api.stop().await;
}

async fn race(db: Db) {
    let api = Api::start(db, "race").await;
    let agent = api.token("1001").await;
    let lead = api.token("u-housing").await;
    for round in 0..3 {
        let number = api.open(&agent, &details("help", None)).await;
        let r = api
            .step(&agent, &number, "dispatch", json!({"lead": "housing"}))
            .await;
        assert_eq!(r.status, 200);
        let (a, b) = tokio::join!(
            api.step(&lead, &number, "sign", json!({})),
            api.step(&lead, &number, "sign", json!({}))
        );
        let mut statuses = [a.status, b.status];
        statuses.sort_unstable();
        assert_eq!(statuses, [200, 409], "round {round}: {a:?} {b:?}");
        let h = api
            .get(&agent, &format!("/api/tickets/{number}/history"))
            .await;
        assert_eq!(h.body.as_array().expect("history").len(), 3, "{h:?}");
    }
    // The same race with If-Match: both saw version 2, one wins.
    let number = api.open(&agent, &details("help", None)).await;
    api.step(&agent, &number, "dispatch", json!({"lead": "housing"}))
        .await;
    let note = |text: &str| {
        api.client
            .post(
                api.server
                    .http_url(&format!("/api/tickets/{number}/add_note")),
            )
            .bearer_auth(&agent)
            .header("if-match", "\"2\"")
            .json(&json!({"text": text}))
            .send()
    };
    let (a, b) = tokio::join!(note("first"), note("second"));
    let mut statuses = [
        a.expect("a").status().as_u16(),
        b.expect("b").status().as_u16(),
    ];
    statuses.sort_unstable();
    assert_eq!(statuses, [200, 409]);
    api.stop().await;
}

#[tokio::test]
async fn concurrent_steps_on_one_order_one_wins_one_409() {
    for db in databases() {
        race(db).await;
    }
}

async fn crash(db: Db) {
    let api = Api::start(db, "crash").await;
    let agent = api.token("1001").await;
    let lead = api.token("u-housing").await;
    let admin = api.token("root").await;
    let number = api.open(&agent, &details("help", None)).await;
    api.step(&agent, &number, "dispatch", json!({"lead": "housing"}))
        .await;
    let before = api.get(&agent, &format!("/api/tickets/{number}")).await;

    // The store fails after writing the order row, before the history row.
    let store = api.server.server.as_ref().expect("running").tickets.clone();
    store.inject_failure(Some(FailPoint::AfterOrderUpdate));
    let r = api.step(&lead, &number, "sign", json!({})).await;
    assert_eq!(
        (r.status, r.body["error"]["code"].as_str()),
        (500, Some("internal"))
    );
    assert!(
        !r.body.to_string().contains("injected"),
        "internal details leak: {r:?}"
    );

    // Nothing of the step is there: order, history and audit as before.
    let after = api.get(&agent, &format!("/api/tickets/{number}")).await;
    assert_eq!(after.body, before.body);
    assert_eq!(after.body["order"]["state"], "dispatched");
    let h = api
        .get(&agent, &format!("/api/tickets/{number}/history"))
        .await;
    assert_eq!(h.body.as_array().expect("history").len(), 2);
    let audit = api
        .get(&admin, &format!("/api/audit?entity=order&id={number}"))
        .await;
    assert_eq!(audit.body.as_array().expect("audit").len(), 2);

    // The step can simply be retried.
    let r = api.step(&lead, &number, "sign", json!({})).await;
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(r.body["ticket"]["order"]["version"], 3);
    api.stop().await;
}

#[tokio::test]
async fn a_failure_inside_a_step_leaves_no_half_written_order() {
    for db in databases() {
        crash(db).await;
    }
}
