//! The confidentiality matrix (§29–§30) through the API, on a SQLite file
//! and on PostgreSQL: role × order kind × field, on the single-order read,
//! the list and the caller-number filter; recusal; non-public results.

mod common;

use common::api::{databases, details, Api, Db};
use serde_json::{json, Value};

const VIEWERS: [&str; 6] = ["1001", "9001", "root", "u-housing", "u-water", "u-parks"];
const FIELDS: [(&str, &str); 5] = [
    ("caller.name", "/order/details/caller/name"),
    ("caller.number", "/order/details/caller/number"),
    ("caller.contact", "/order/details/caller/contact"),
    ("address.text", "/order/details/address/text"),
    ("result.summary", "/order/result/summary"),
];

/// What `viewer` may see of order `kind`: `None` = the order is a 404;
/// `Some(hidden fields)` otherwise. Every order is led by housing with water
/// co-handling; `complaint` is about water, `report` about parks; every
/// result is marked non-public.
fn expected(viewer: &str, kind: &str) -> Option<Vec<&'static str>> {
    let identity = vec![
        "caller.name",
        "caller.number",
        "caller.contact",
        "address.text",
        "result.summary",
    ];
    match viewer {
        "1001" | "9001" | "root" | "u-housing" => Some(vec![]),
        "u-parks" => None,
        "u-water" => Some(match kind {
            // Every result here is non-public: the co-handler does not see
            // it (§30); the lead does.
            "help" | "report" => vec!["result.summary"],
            // The unit complained about never sees who complained (§29).
            "complaint" => identity,
            // Confidential: only the lead sees the caller.
            "confidential" => identity,
            other => panic!("{other}"),
        }),
        other => panic!("{other}"),
    }
}

async fn matrix(db: Db) {
    let api = Api::start(db, "confidential").await;
    let agent = api.token("1001").await;
    let lead = api.token("u-housing").await;
    let mut tokens = std::collections::HashMap::new();
    for v in VIEWERS {
        tokens.insert(v, api.token(v).await);
    }
    let mut orders = Vec::new();
    for kind in ["help", "complaint", "confidential", "report"] {
        let d = match kind {
            "complaint" => details("complaint", Some("water")),
            "report" => details("report", Some("parks")),
            "confidential" => {
                let mut d = details("help", None);
                d["confidential"] = json!(true);
                d
            }
            _ => details("help", None),
        };
        let n = api.open(&agent, &d).await;
        let r = api
            .step(
                &agent,
                &n,
                "dispatch",
                json!({"lead": "housing", "co_handlers": ["water"]}),
            )
            .await;
        assert_eq!(r.status, 200, "{kind}: {r:?}");
        for (action, body) in [
            ("sign", json!({})),
            ("respond", json!({"contacted": true, "note": "ok"})),
            (
                "complete",
                json!({"outcome": "resolved", "summary": "结果不公开", "public": false}),
            ),
        ] {
            let r = api.step(&lead, &n, action, body).await;
            assert_eq!(r.status, 200, "{kind} {action}: {r:?}");
        }
        orders.push((kind, n));
    }

    let mut checked = 0;
    for viewer in VIEWERS {
        let token = &tokens[viewer];
        let list = api.get(token, "/api/tickets?limit=100").await;
        assert_eq!(list.status, 200);
        let listed: Vec<&Value> = list.body["items"]
            .as_array()
            .expect("items")
            .iter()
            .collect();
        for (kind, number) in &orders {
            let r = api.get(token, &format!("/api/tickets/{number}")).await;
            let in_list = listed
                .iter()
                .find(|i| i["order"]["number"] == number.as_str());
            let Some(hidden) = expected(viewer, kind) else {
                assert_eq!(
                    r.status, 404,
                    "{viewer} must not see the {kind} order: {r:?}"
                );
                assert!(in_list.is_none(), "{viewer} lists the {kind} order");
                let h = api
                    .get(token, &format!("/api/tickets/{number}/history"))
                    .await;
                assert_eq!(h.status, 404);
                continue;
            };
            assert_eq!(r.status, 200, "{viewer} {kind}: {r:?}");
            let in_list =
                in_list.unwrap_or_else(|| panic!("{viewer} misses the {kind} order in the list"));
            for (field, pointer) in FIELDS {
                for (source, body) in [("get", &r.body), ("list", *in_list)] {
                    let v = body.pointer(pointer).unwrap_or(&Value::Null);
                    let shown = !(v.is_null() || v == "");
                    let want = !hidden.contains(&field);
                    assert_eq!(shown, want, "{source}: {viewer} × {kind} × {field}: {v}");
                    checked += 1;
                }
            }
            // The body never carries the hidden values anywhere, in any field.
            for (secret, field) in [
                ("李秀英", "caller.name"),
                ("13800138000", "caller.number"),
                ("li.xiuying@example.cn", "caller.contact"),
                ("油城五路", "address.text"),
                ("结果不公开", "result.summary"),
            ] {
                let leaked = r.body.to_string().contains(secret);
                assert!(
                    !(leaked && hidden.contains(&field)),
                    "{viewer} × {kind} leaks {secret}"
                );
            }
        }
        // Probing by caller number finds only orders whose caller is shown.
        let probe = api
            .get(token, "/api/tickets?caller=13800138000&limit=100")
            .await;
        if viewer == "u-water" {
            let found: Vec<&str> = probe.body["items"]
                .as_array()
                .expect("items")
                .iter()
                .map(|i| i["order"]["number"].as_str().expect("n"))
                .collect();
            assert_eq!(
                found,
                [orders[3].1.as_str(), orders[0].1.as_str()],
                "{probe:?}"
            );
        }
    }
    assert_eq!(checked, 2 * FIELDS.len() * (4 * 4 + 4));

    // Recusal: the lead's user recused from one order loses it entirely.
    let sup = &tokens["9001"];
    let (_, help) = &orders[0];
    let r = api
        .step(
            sup,
            help,
            "recuse",
            json!({"user": "u-housing", "reason": "relative of the caller"}),
        )
        .await;
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(
        api.get(&lead, &format!("/api/tickets/{help}")).await.status,
        404
    );
    let list = api.get(&lead, "/api/tickets?limit=100").await;
    assert!(list.body["items"]
        .as_array()
        .expect("items")
        .iter()
        .all(|i| i["order"]["number"] != help.as_str()));
    let r = api
        .step(
            &lead,
            help,
            "reply",
            json!({"citizen_informed": true, "feedback": "x"}),
        )
        .await;
    assert_eq!(r.status, 404, "a recused user cannot act: {r:?}");
    api.stop().await;
}

#[tokio::test]
async fn confidentiality_matrix_on_each_database() {
    for db in databases() {
        matrix(db).await;
    }
}
