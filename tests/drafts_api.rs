//! Every answered call leaves a record (§15, §16.1): the call side opens a
//! draft (in-process, as the system), an emergency transfer attaches to it
//! (§14), and the answering agent completes it over HTTP into an order with
//! its intake decision, or into "no order needed". On SQLite and PostgreSQL.

mod common;

use common::api::{databases, details, Api, Db};
use hotline_ticketing::draft::CallInfo;
use hotline_ticketing::emergency::{EmergencyLine, EmergencyLinkage, LinkageOutcome};
use hotline_ticketing::store::AuditEntry;
use hotline_ticketing::{Actor, UserId};
use serde_json::json;
use time::OffsetDateTime;

async fn drafts(db: Db) {
    let api = Api::start(db, "drafts").await;
    let agent = api.token("1001").await;
    let other_agent = api.token("1002").await;
    let sup = api.token("9001").await;
    let store = api.server.server.as_ref().expect("running").tickets.clone();
    let system = Actor::system("call-side");
    let now = OffsetDateTime::now_utc();
    let call = |id: &str| CallInfo {
        call_id: id.into(),
        caller_number: Some("13800138000".into()),
        ivr_path: vec!["main".into(), "social".into()],
        recording_id: Some(format!("rec-{id}")),
        agent: UserId::new("1001"),
        answered_at: now,
    };
    let first = store
        .open_draft(call("call-1"), &system, now, &AuditEntry::system(0))
        .await
        .expect("draft");
    let second = store
        .open_draft(call("call-2"), &system, now, &AuditEntry::system(0))
        .await
        .expect("draft");
    // Only the call side opens drafts.
    assert!(store
        .open_draft(
            call("call-3"),
            &Actor::new("1001", hotline_ticketing::Role::Agent),
            now,
            &AuditEntry::system(0)
        )
        .await
        .is_err());
    let linkage = EmergencyLinkage {
        line: EmergencyLine::Ambulance,
        at: now,
        agent: UserId::new("1001"),
        call_id: "call-1".into(),
        outcome: LinkageOutcome::Connected,
        note: None,
    };
    store
        .attach_emergency(first.id, linkage, &AuditEntry::system(0))
        .await
        .expect("attach");

    // The agent sees its open drafts; another agent does not.
    let r = api.get(&agent, "/api/drafts").await;
    assert_eq!(r.body.as_array().expect("array").len(), 2, "{r:?}");
    assert_eq!(api.get(&other_agent, "/api/drafts").await.body, json!([]));
    assert_eq!(
        api.get(&other_agent, &format!("/api/drafts/{}", first.id))
            .await
            .status,
        404
    );
    // Nothing is stale right after the call.
    assert_eq!(
        api.get(&sup, "/api/drafts?stale=true").await.body,
        json!([])
    );
    assert_eq!(api.get(&agent, "/api/drafts?stale=true").await.status, 403);

    // Complete the first into a dispatched order: call, recording, caller
    // number and the emergency transfer are carried over.
    let mut d = details("help", None);
    d["caller"]
        .as_object_mut()
        .expect("caller")
        .remove("number");
    let body = json!({"details": d, "intake": {"command": "dispatch", "lead": "housing"}});
    let r = api
        .post(&agent, &format!("/api/drafts/{}/order", first.id), &body)
        .await;
    assert_eq!(r.status, 201, "{r:?}");
    let order = &r.body["order"];
    assert_eq!(order["state"], "dispatched");
    assert_eq!(order["details"]["links"]["call_ids"], json!(["call-1"]));
    assert_eq!(
        order["details"]["links"]["recording_ids"],
        json!(["rec-call-1"])
    );
    assert_eq!(order["details"]["links"]["emergency"]["line"], "120");
    assert_eq!(order["details"]["caller"]["number"], "13800138000");
    assert_eq!(r.body["draft"]["status"]["state"], "order_opened");
    let number = order["number"].as_str().expect("number").to_owned();
    let h = api
        .get(&agent, &format!("/api/tickets/{number}/history"))
        .await;
    let steps: Vec<&str> = h
        .body
        .as_array()
        .expect("h")
        .iter()
        .map(|e| e["command"].as_str().expect("c"))
        .collect();
    assert_eq!(steps, ["open", "dispatch"]);
    // Completing it again: 409; the order exists once.
    let r = api
        .post(&agent, &format!("/api/drafts/{}/order", first.id), &body)
        .await;
    assert_eq!(r.status, 409, "{r:?}");
    let r = api.get(&agent, "/api/tickets?caller=13800138000").await;
    assert_eq!(r.body["items"].as_array().expect("items").len(), 1);

    // The second: "no order needed" needs a note when the reason is `other`.
    let path = format!("/api/drafts/{}/no_order", second.id);
    let r = api.post(&agent, &path, &json!({"reason": "other"})).await;
    assert_eq!(
        (r.status, r.body["error"]["field"].as_str()),
        (400, Some("note")),
        "{r:?}"
    );
    let r = api
        .post(&agent, &path, &json!({"reason": "wrong_number"}))
        .await;
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(r.body["status"]["state"], "no_order_needed");
    assert_eq!(api.get(&agent, "/api/drafts").await.body, json!([]));

    // A draft nobody completed shows up for supervisors after wrap-up.
    let old = CallInfo {
        answered_at: now - time::Duration::minutes(30),
        ..call("call-4")
    };
    let stale = store
        .open_draft(old, &system, now, &AuditEntry::system(0))
        .await
        .expect("draft");
    let r = api.get(&sup, "/api/drafts?stale=true").await;
    let ids: Vec<u64> = r
        .body
        .as_array()
        .expect("a")
        .iter()
        .map(|d| d["id"].as_u64().expect("id"))
        .collect();
    assert_eq!(ids, [stale.id]);
    api.stop().await;
}

#[tokio::test]
async fn drafts_from_calls_become_orders_or_no_order_on_each_database() {
    for db in databases() {
        drafts(db).await;
    }
}
