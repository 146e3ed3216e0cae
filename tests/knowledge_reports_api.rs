//! Knowledge base, supervision and reports over real HTTP, on a SQLite file
//! and on PostgreSQL: Chinese full-text search, gap reports, the supervision
//! list after a sweep, reports as JSON and CSV.

mod common;

use common::api::{databases, details, Api, Db};
use serde_json::json;

async fn knowledge(db: Db) {
    let api = Api::start(db, "kb").await;
    let agent = api.token("1001").await;
    let sup = api.token("9001").await;
    let unit = api.token("u-housing").await;
    let other = api.token("u-water").await;

    let r = api
        .post(
            &unit,
            "/api/knowledge",
            &json!({
                "title": "社保卡补办指南",
                "body": "市民可持身份证到社保服务大厅办理社保卡补办，当场出卡。",
                "effective_on": "2026-03-02"
            }),
        )
        .await;
    assert_eq!(r.status, 201, "{r:?}");
    assert_eq!(r.body["unit"], "housing");
    assert_eq!(r.body["status"], "published");
    let published = r.body["id"].as_u64().expect("id");
    // Registered without text: pending, hidden from agents.
    let r = api
        .post(
            &unit,
            "/api/knowledge",
            &json!({"title": "社保卡挂失", "effective_on": "2026-03-02"}),
        )
        .await;
    assert_eq!(
        (r.status, r.body["status"].as_str()),
        (201, Some("pending"))
    );
    let pending = r.body["id"].as_u64().expect("id");
    // Units write only their own articles; agents do not write.
    let r = api
        .post(
            &unit,
            "/api/knowledge",
            &json!({"unit": "water", "title": "x", "effective_on": "2026-03-02"}),
        )
        .await;
    assert_eq!(r.status, 403);
    let r = api
        .post(
            &agent,
            "/api/knowledge",
            &json!({"title": "x", "effective_on": "2026-03-02"}),
        )
        .await;
    assert_eq!(r.status, 403);
    let r = api
        .post(
            &unit,
            "/api/knowledge",
            &json!({"title": "x", "effective_on": "March"}),
        )
        .await;
    assert_eq!(
        (r.status, r.body["error"]["field"].as_str()),
        (400, Some("effective_on"))
    );

    // The example: 社保卡 finds the article containing 办理社保卡补办.
    let r = api
        .get(&agent, "/api/knowledge?q=%E7%A4%BE%E4%BF%9D%E5%8D%A1")
        .await;
    assert_eq!(r.status, 200, "{r:?}");
    let ids: Vec<u64> = r
        .body
        .as_array()
        .expect("array")
        .iter()
        .map(|a| a["id"].as_u64().expect("id"))
        .collect();
    assert_eq!(ids, [published]);
    let r = api
        .get(
            &sup,
            "/api/knowledge?q=%E7%A4%BE%E4%BF%9D%E5%8D%A1&all=true",
        )
        .await;
    assert_eq!(r.body.as_array().expect("array").len(), 2);
    assert_eq!(
        api.get(&agent, "/api/knowledge?q=x&all=true").await.status,
        403
    );
    assert_eq!(
        api.get(&agent, &format!("/api/knowledge/{pending}"))
            .await
            .status,
        404
    );
    assert_eq!(
        api.get(&sup, &format!("/api/knowledge/{pending}"))
            .await
            .status,
        200
    );

    // Publishing the pending one makes it findable; another unit may not.
    let body = json!({"title": "社保卡挂失", "body": "拨打12345或到服务大厅办理社保卡挂失。"});
    assert_eq!(
        api.post(&other, &format!("/api/knowledge/{pending}/publish"), &body)
            .await
            .status,
        403
    );
    let r = api
        .post(&unit, &format!("/api/knowledge/{pending}/publish"), &body)
        .await;
    assert_eq!(r.status, 200, "{r:?}");
    let r = api.get(&agent, "/api/knowledge?q=%E6%8C%82%E5%A4%B1").await; // 挂失 (2 characters)
    assert_eq!(r.body.as_array().expect("array").len(), 1, "{r:?}");

    // Gap reports: an agent reports, the unit fixes.
    let r = api
        .post(
            &agent,
            "/api/knowledge/gaps",
            &json!({
                "unit": "housing", "kind": "missing", "description": "没有公租房申请条件"
            }),
        )
        .await;
    assert_eq!(r.status, 201, "{r:?}");
    let gap = r.body["id"].as_u64().expect("id");
    assert!(r.body["fix_due"].is_string());
    let r = api
        .post(
            &agent,
            "/api/knowledge/gaps",
            &json!({"unit": "housing", "kind": "invalid", "description": "x"}),
        )
        .await;
    assert_eq!(
        (r.status, r.body["error"]["field"].as_str()),
        (400, Some("article_id")),
        "{r:?}"
    );
    assert_eq!(
        api.post(
            &other,
            &format!("/api/knowledge/gaps/{gap}/fix"),
            &json!({})
        )
        .await
        .status,
        403
    );
    let r = api
        .post(&unit, &format!("/api/knowledge/gaps/{gap}/fix"), &json!({}))
        .await;
    assert_eq!(r.status, 200, "{r:?}");
    assert!(r.body["fixed_at"].is_string());
    api.stop().await;
}

#[tokio::test]
async fn knowledge_base_with_chinese_search_on_each_database() {
    for db in databases() {
        knowledge(db).await;
    }
}

async fn reports_and_supervision(db: Db) {
    let api = Api::start(db, "reports").await;
    let agent = api.token("1001").await;
    let sup = api.token("9001").await;
    let housing = api.token("u-housing").await;

    let mut help = Vec::new();
    for _ in 0..3 {
        let n = api.open(&agent, &details("help", None)).await;
        assert_eq!(
            api.step(&agent, &n, "dispatch", json!({"lead": "housing"}))
                .await
                .status,
            200
        );
        help.push(n);
    }
    for _ in 0..2 {
        let mut d = details("complaint", Some("parks"));
        d["topic"] = json!("utilities.water");
        d["address"]["district"] = json!("dianbai");
        let n = api.open(&agent, &d).await;
        assert_eq!(
            api.step(&agent, &n, "dispatch", json!({"lead": "water"}))
                .await
                .status,
            200
        );
    }
    // One help order walked to a survey, another asks for an extension.
    let n = &help[0];
    for (action, body) in [
        ("sign", json!({})),
        ("respond", json!({"contacted": true, "note": "ok"})),
        (
            "complete",
            json!({"outcome": "resolved", "summary": "done", "public": true}),
        ),
        (
            "reply",
            json!({"citizen_informed": true, "feedback": "done"}),
        ),
    ] {
        let r = api.step(&housing, n, action, body).await;
        assert_eq!(r.status, 200, "{action}: {r:?}");
    }
    let r = api
        .step(
            &sup,
            n,
            "record_survey",
            json!({"stage": "handling", "score": 2, "via": "ivr"}),
        )
        .await;
    assert_eq!(r.status, 200, "{r:?}");
    let n = &help[1];
    api.step(&housing, n, "sign", json!({})).await;
    api.step(
        &housing,
        n,
        "respond",
        json!({"contacted": true, "note": "ok"}),
    )
    .await;
    let promised = (time::OffsetDateTime::now_utc() + time::Duration::days(5))
        .format(&time::format_description::well_known::Rfc3339)
        .expect("format");
    let r = api
        .step(&housing, n, "request_extension", json!({
            "reason": "parts on order", "measures": "temporary lighting", "promised_by": promised
        }))
        .await;
    assert_eq!(r.status, 200, "{r:?}");

    let get = |name: &str| {
        let path = format!("/api/reports/{name}");
        let api = &api;
        let sup = sup.clone();
        async move { api.get(&sup, &path).await }
    };
    let r = get("orders-by-category").await;
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(
        r.body,
        json!([{"category": "help", "orders": 3}, {"category": "complaint", "orders": 2}])
    );
    let r = get("orders-by-district").await;
    assert_eq!(
        r.body,
        json!([{"district": "maonan", "orders": 3}, {"district": "dianbai", "orders": 2}])
    );
    let r = get("orders-by-unit").await;
    assert_eq!(
        r.body,
        json!([{"unit": "housing", "orders": 3}, {"unit": "water", "orders": 2}])
    );
    let r = get("orders-by-day").await;
    let today = time::OffsetDateTime::now_utc()
        .to_offset(time::macros::offset!(+8))
        .date()
        .to_string();
    assert_eq!(r.body, json!([{"day": today, "orders": 5}]));
    let r = get("on-time").await;
    let housing_row = &r.body[0];
    assert_eq!(housing_row["unit"], "housing");
    assert_eq!(housing_row["sign_due"], 2, "{r:?}");
    assert_eq!(housing_row["signed_on_time"], 2);
    assert_eq!(housing_row["sign_on_time_rate"], 1.0);
    assert_eq!(housing_row["complete_due"], 1);
    assert_eq!(housing_row["completed_on_time"], 1);
    assert_eq!(r.body[1]["unit"], "water");
    assert_eq!(r.body[1]["sign_due"], 0);
    assert!(r.body[1]["sign_on_time_rate"].is_null());
    let r = get("extensions-returns").await;
    assert_eq!(
        r.body,
        json!([{"unit": "housing", "extension_requests": 1, "return_requests": 0}])
    );
    let r = get("satisfaction-by-unit").await;
    assert_eq!(r.body[0]["unit"], "housing");
    assert_eq!(r.body[0]["surveys"], 1);
    assert_eq!(r.body[0]["satisfied"], 1);
    assert_eq!(r.body[0]["satisfied_rate"], 1.0);
    assert_eq!(r.body[0]["mean_score"], 2.0);
    assert_eq!(r.body[0]["stage"], "handling");
    assert_eq!(
        r.body.as_array().map(Vec::len),
        Some(1),
        "no reception surveys"
    );
    // Per agent: the handling score counts for the agent who took the order.
    let r = get("satisfaction-by-agent").await;
    assert_eq!(r.body[0]["agent"], "1001");
    assert_eq!(r.body[0]["stage"], "handling");
    assert_eq!(r.body[0]["surveys"], 1);
    assert_eq!(r.body.as_array().map(Vec::len), Some(1));
    let r = api.get(&sup, "/api/reports/hot-topics?top=1").await;
    assert_eq!(
        r.body,
        json!([{"topic": "urban.housing", "category": "help", "orders": 3}])
    );

    // CSV with Accept: text/csv.
    let (status, ct, text) = api
        .get_raw(&sup, "/api/reports/orders-by-unit", "text/csv")
        .await;
    assert_eq!(status, 200);
    assert!(ct.starts_with("text/csv"), "{ct}");
    assert_eq!(text, "unit,orders\r\nhousing,3\r\nwater,2\r\n");
    let (_, _, text) = api.get_raw(&sup, "/api/reports/on-time", "text/csv").await;
    let mut lines = text.lines();
    assert!(lines
        .next()
        .expect("header")
        .starts_with("unit,orders,sign_due,signed_on_time,sign_on_time_rate"));
    assert_eq!(lines.count(), 2);

    // A range with nothing in it, bad names and ranges, and roles.
    let r = api
        .get(
            &sup,
            "/api/reports/orders-by-unit?from=2020-01-01&to=2020-12-31",
        )
        .await;
    assert_eq!(r.body, json!([]));
    assert_eq!(api.get(&sup, "/api/reports/nothing").await.status, 404);
    let r = api
        .get(
            &sup,
            "/api/reports/orders-by-unit?from=2026-02-01&to=2026-01-01",
        )
        .await;
    assert_eq!(
        (r.status, r.body["error"]["field"].as_str()),
        (400, Some("from"))
    );
    assert_eq!(
        api.get(&housing, "/api/reports/orders-by-unit")
            .await
            .status,
        403
    );
    assert_eq!(
        api.get(&agent, "/api/reports/orders-by-unit").await.status,
        403
    );

    // Supervision: a sweep two days on finds the unsigned orders overdue.
    let store = api.server.server.as_ref().expect("running").tickets.clone();
    let rules = hotline::ticket_rules::from_config(
        &hotline_config::Config::from_toml(hotline_config::DEFAULT_TOML).expect("default"),
    )
    .expect("rules");
    let later = time::OffsetDateTime::now_utc() + time::Duration::days(2);
    let raised = store.run_sweep(later, &rules).await.expect("sweep");
    assert!(raised.len() >= 3, "{raised:?}");
    let r = api.get(&sup, "/api/supervision?kind=overdue_sign").await;
    assert_eq!(r.status, 200, "{r:?}");
    let mut orders: Vec<&str> = r
        .body
        .as_array()
        .expect("array")
        .iter()
        .map(|x| x["order"].as_str().expect("order"))
        .collect();
    orders.dedup();
    assert_eq!(orders.len(), 3, "{r:?}");
    assert!(orders.contains(&help[2].as_str()));
    let r = api.get(&housing, "/api/supervision").await;
    assert!(
        r.body
            .as_array()
            .expect("array")
            .iter()
            .all(|x| x["unit"] == "housing"),
        "{r:?}"
    );
    assert_eq!(
        api.get(&housing, "/api/supervision?unit=water")
            .await
            .status,
        403
    );
    assert_eq!(api.get(&agent, "/api/supervision").await.status, 403);
    api.stop().await;
}

#[tokio::test]
async fn reports_json_and_csv_and_supervision_on_each_database() {
    for db in databases() {
        reports_and_supervision(db).await;
    }
}
