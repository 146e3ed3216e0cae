//! The handling-stage survey campaign end to end over the HTTP API, with a
//! fake dialer in place of the SIP trunk: an order completed and replied
//! gets its survey call without anyone touching it; a 4 opens a callback
//! task that one agent claims, calls and records with a non-policy cause;
//! the order goes back to the unit; after the redo a second survey (1) is
//! final and the order closes. The server is restarted twice mid-campaign
//! on the same data: nothing is lost and nobody is called twice. Also: the
//! ACD's callback requests through the same claim/call/result, role checks,
//! and the satisfaction reports with the published summary.
//! SQLite always; PostgreSQL when `HOTLINE_TEST_POSTGRES_URL` is set.

mod common;

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::api::{databases, details, Api, Db};
use hotline::contact::records::{CallbackRow, ContactRecords};
use hotline::dialing::{CallbackCall, CallbackOutcome, Dialer, SurveyCall, SurveyCallOutcome};
use hotline_config::{Config, TimeWindow};
use serde_json::{json, Value};

/// A dialer that answers survey calls with scripted ratings (and leaves the
/// rest "not placed") and bridges every callback; it records every call.
#[derive(Clone, Default)]
struct FakeDialer(Arc<Mutex<Script>>);

#[derive(Default)]
struct Script {
    ratings: VecDeque<u8>,
    surveys: Vec<SurveyCall>,
    callbacks: Vec<CallbackCall>,
}

impl FakeDialer {
    fn rating(ratings: &[u8]) -> FakeDialer {
        let d = FakeDialer::default();
        d.lock().ratings.extend(ratings);
        d
    }
    fn lock(&self) -> std::sync::MutexGuard<'_, Script> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }
    fn surveys(&self) -> Vec<SurveyCall> {
        self.lock().surveys.clone()
    }
    fn callbacks(&self) -> Vec<CallbackCall> {
        self.lock().callbacks.clone()
    }
}

impl Dialer for FakeDialer {
    async fn survey_call(&self, call: SurveyCall) -> SurveyCallOutcome {
        let mut s = self.lock();
        match s.ratings.pop_front() {
            Some(rating) => {
                let n = s.surveys.len();
                s.surveys.push(call);
                SurveyCallOutcome::Rated {
                    call_id: format!("survey-call-{n}"),
                    rating,
                }
            }
            None => SurveyCallOutcome::NotPlaced("script empty".into()),
        }
    }
    async fn callback_call(&self, call: CallbackCall) -> CallbackOutcome {
        let mut s = self.lock();
        let n = s.callbacks.len();
        s.callbacks.push(call);
        CallbackOutcome::Bridged {
            call_id: format!("callback-call-{n}"),
        }
    }
}

/// Surveys on, calling all day every day.
fn all_day(c: &mut Config) {
    c.survey.enabled = true;
    c.survey.skip_holidays = false;
    c.survey.calling_hours = TimeWindow {
        start_min: 0,
        end_min: 24 * 60,
    };
}

/// Calling hours that exclude the present (an hour-long window twelve
/// hours away, so the test cannot run into it).
fn not_now(c: &mut Config) {
    all_day(c);
    let hour = time::OffsetDateTime::now_utc()
        .to_offset(time::macros::offset!(+8))
        .hour();
    let start = (u16::from(hour) + 12) % 24 * 60;
    c.survey.calling_hours = TimeWindow {
        start_min: start,
        end_min: start + 60,
    };
}

/// Polls `path` until `pred` holds of the body; the body.
async fn poll(api: &Api, token: &str, path: &str, pred: impl Fn(&Value) -> bool) -> Value {
    let mut last = Value::Null;
    for _ in 0..200 {
        let r = api.get(token, path).await;
        assert_eq!(r.status, 200, "{path}: {r:?}");
        if pred(&r.body) {
            return r.body;
        }
        last = r.body;
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("{path} never showed what was expected: {last}");
}

async fn order(api: &Api, token: &str, n: &str) -> Value {
    let r = api.get(token, &format!("/api/tickets/{n}")).await;
    assert_eq!(r.status, 200, "{r:?}");
    r.body["order"].clone()
}

/// The unit's part of a round: (sign, respond,) complete, reply.
async fn handle(api: &Api, lead: &str, n: &str, first: bool) {
    let mut steps = Vec::new();
    if first {
        steps.push(("sign", json!({})));
        steps.push((
            "respond",
            json!({"contacted": true, "note": "called the citizen"}),
        ));
    }
    steps.push((
        "complete",
        json!({"outcome": "resolved", "summary": "灯已修好", "public": true}),
    ));
    steps.push((
        "reply",
        json!({"citizen_informed": true, "feedback": "repaired"}),
    ));
    for (action, body) in steps {
        let r = api.step(lead, n, action, body).await;
        assert_eq!(r.status, 200, "{action}: {r:?}");
    }
}

async fn campaign(db: Db) {
    let first = FakeDialer::rating(&[4]);
    let mut api = Api::start_with_dialer(db, "survey_campaign", all_day, first.clone()).await;
    let agent = api.token("1001").await;
    let sup = api.token("9001").await;
    let lead = api.token("u-housing").await;

    let n = api.open(&agent, &details("help", None)).await;
    let r = api
        .step(&agent, &n, "dispatch", json!({"lead": "housing"}))
        .await;
    assert_eq!(r.status, 200, "{r:?}");
    handle(&api, &lead, &n, true).await;

    // Nobody touches it: the campaign calls, the citizen presses 4.
    let jobs_path = format!("/api/survey-jobs?order={n}");
    let jobs = poll(&api, &sup, &jobs_path, |b| b[0]["status"] == "rated").await;
    assert_eq!(jobs[0]["round"], 1);
    assert_eq!(jobs[0]["rating"], 4);
    assert_eq!(jobs[0]["attempts"], 1);
    assert_eq!(jobs[0]["attempts_made"][0]["outcome"], "rated");
    let calls = first.surveys();
    assert_eq!(calls.len(), 1);
    assert_eq!(calls[0].number, "13800138000");
    assert_eq!(calls[0].order_number, n);
    assert_eq!(order(&api, &agent, &n).await["state"], "callback_pending");
    let tasks = api.get(&agent, "/api/callback-tasks").await;
    assert_eq!(tasks.status, 200, "{tasks:?}");
    assert_eq!(tasks.body[0]["order_id"], n.as_str());
    assert_eq!(tasks.body[0]["kind"], "dissatisfied");
    let task = tasks.body[0]["id"].as_str().expect("task id").to_owned();

    // Restart mid-campaign: the task and the rated job survive, and the
    // citizen is not called again.
    let second = FakeDialer::default();
    api.server.restart_with_dialer(|_| {}, second.clone()).await;
    let agent = api.token("1001").await;
    let agent2 = api.token("1002").await;
    let sup = api.token("9001").await;
    let lead = api.token("u-housing").await;
    let tasks = api.get(&agent, "/api/callback-tasks").await;
    assert_eq!(tasks.body[0]["id"], task.as_str(), "{tasks:?}");
    let jobs = api.get(&sup, &jobs_path).await;
    assert_eq!(jobs.body.as_array().map(Vec::len), Some(1));
    assert_eq!(jobs.body[0]["status"], "rated");

    // Units never see the list; one agent at a time.
    assert_eq!(api.get(&lead, "/api/callback-tasks").await.status, 403);
    let path = |what: &str| format!("/api/callback-tasks/{task}/{what}");
    assert_eq!(
        api.post(&lead, &path("claim"), &json!({})).await.status,
        403
    );
    // Calling before claiming is refused.
    assert_eq!(
        api.post(&agent, &path("call"), &json!({})).await.status,
        409
    );
    let r = api.post(&agent, &path("claim"), &json!({})).await;
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(r.body["claimed_by"], "1001");
    let r = api.post(&agent2, &path("claim"), &json!({})).await;
    assert_eq!(r.status, 409, "{r:?}");
    assert_eq!(
        api.post(&agent2, &path("call"), &json!({})).await.status,
        409
    );
    // Recused staff (§29) neither see nor work the task.
    let all = "/api/callback-tasks?open=false";
    assert_eq!(api.get(&agent2, all).await.body[0]["id"], task.as_str());
    let r = api
        .step(
            &sup,
            &n,
            "recuse",
            json!({"user": "1002", "reason": "neighbour of the caller"}),
        )
        .await;
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(api.get(&agent2, all).await.body, json!([]));
    assert_eq!(
        api.post(&agent2, &path("call"), &json!({})).await.status,
        404
    );
    // Call now: the agent's phone, then the citizen, bridged.
    let r = api.post(&agent, &path("call"), &json!({})).await;
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(r.body["outcome"], "bridged");
    assert_eq!(r.body["task"]["attempts"], 1);
    let cb = second.callbacks();
    assert_eq!(cb.len(), 1);
    assert_eq!(
        (cb[0].agent.as_str(), cb[0].number.as_str()),
        ("1001", "13800138000")
    );
    // A cause that is not policy or objective: back to the unit.
    let r = api
        .post(&agent, &path("result"), &json!({"notes": "灯又坏了"}))
        .await;
    assert_eq!(r.status, 400, "the cause is required: {r:?}");
    let r = api
        .post(
            &agent,
            &path("result"),
            &json!({"cause": "handling", "notes": "灯又坏了"}),
        )
        .await;
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(r.body["status"], "done");
    assert_eq!(r.body["cause"], "handling");
    let o = order(&api, &agent, &n).await;
    assert_eq!(
        (o["state"].clone(), o["round"].clone()),
        (json!("in_progress"), json!(2))
    );
    assert_eq!(
        api.get(&agent, "/api/callback-tasks").await.body,
        json!([]),
        "no open task left"
    );

    // The redo is replied outside the calling hours: the second survey
    // waits in the queue ...
    api.server
        .restart_with_dialer(not_now, second.clone())
        .await;
    let sup = api.token("9001").await;
    let lead = api.token("u-housing").await;
    handle(&api, &lead, &n, false).await;
    let jobs = poll(&api, &sup, &jobs_path, |b| {
        b.as_array().map(Vec::len) == Some(2)
    })
    .await;
    assert_eq!(jobs[0]["round"], 2);
    assert_eq!(jobs[0]["status"], "pending");
    assert_eq!(jobs[0]["attempts"], 0);
    // ... through a restart, and is called once the hours allow: 1.
    let third = FakeDialer::rating(&[1]);
    api.server.restart_with_dialer(all_day, third.clone()).await;
    let agent = api.token("1001").await;
    let sup = api.token("9001").await;
    let jobs = poll(&api, &sup, &jobs_path, |b| b[0]["status"] == "rated").await;
    assert_eq!(
        (jobs[0]["round"].clone(), jobs[0]["rating"].clone()),
        (json!(2), json!(1))
    );
    assert_eq!(jobs[1]["status"], "rated", "round 1 untouched");
    assert_eq!(third.surveys().len(), 1);
    assert!(second.surveys().is_empty(), "nobody was called twice");
    // §22: the second survey is final; the order can be closed.
    let o = order(&api, &agent, &n).await;
    assert_eq!(o["state"], "surveyed");
    let handling: Vec<&Value> = o["surveys"]
        .as_array()
        .expect("surveys")
        .iter()
        .filter(|s| s["stage"] == "handling")
        .collect();
    assert_eq!(handling.len(), 2);
    assert_eq!(
        (handling[1]["score"].clone(), handling[1]["round"].clone()),
        (json!(1), json!(2))
    );
    let r = api.step(&agent, &n, "close", json!({})).await;
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(r.body["ticket"]["order"]["state"], "closed");

    // Reports: the final handling score counts for the unit.
    let r = api.get(&sup, "/api/reports/satisfaction-by-unit").await;
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(
        r.body,
        json!([{"unit": "housing", "stage": "handling", "surveys": 1, "very_satisfied": 1,
            "satisfied": 0, "basically_satisfied": 0, "dissatisfied": 0,
            "very_dissatisfied": 0, "satisfied_rate": 1.0,
            "basically_satisfied_rate": 1.0, "mean_score": 1.0}])
    );
    let r = api.get(&sup, "/api/reports/satisfaction-by-category").await;
    assert_eq!(r.body[0]["category"], "help");
    assert_eq!(r.body[0]["stage"], "handling");
    let r = api.get(&sup, "/api/reports/satisfaction-by-agent").await;
    assert_eq!(r.body[0]["agent"], "1001");
    assert_eq!(r.body[0]["stage"], "handling");
    // The published summary: no sign-in, no personal data.
    let resp = api
        .client
        .get(api.server.http_url("/api/public/satisfaction"))
        .send()
        .await
        .expect("GET");
    assert_eq!(resp.status(), 200);
    let text = resp.text().await.expect("body");
    let body: Value = serde_json::from_str(&text).expect("JSON");
    assert_eq!(body["totals"][0]["stage"], "handling");
    assert_eq!(body["totals"][0]["surveys"], 1);
    assert_eq!(body["by_unit"][0]["unit"], "housing");
    for private in ["13800138000", "李秀英", n.as_str(), "1001"] {
        assert!(!text.contains(private), "{private} published: {text}");
    }
    api.stop().await;
}

#[tokio::test]
async fn survey_campaign_redo_loop_and_restarts() {
    for db in databases() {
        campaign(db).await;
    }
}

async fn acd_requests(db: Db) {
    let dialer = FakeDialer::default();
    let api = Api::start_with_dialer(db, "callback_requests", |_| {}, dialer.clone()).await;
    let agent = api.token("1001").await;
    let agent2 = api.token("1002").await;
    let root = api.token("root").await;
    let pool = api
        .server
        .server
        .as_ref()
        .expect("running")
        .tickets
        .pool()
        .clone();
    ContactRecords::new(pool)
        .insert_callback(&CallbackRow {
            id: "cb-1".into(),
            call_id: "call-9".into(),
            caller_number: "13900139000".into(),
            number: "13900139000".into(),
            queue: Some("general".into()),
            reason: "max_wait".into(),
            language: "cmn".into(),
            requested_at_ms: 1_700_000_000_000,
            status: "open".into(),
        })
        .await
        .expect("request");
    assert_eq!(
        api.post(&root, "/api/callbacks/cb-1/claim", &json!({}))
            .await
            .status,
        403,
        "administrators do not call citizens"
    );
    assert_eq!(
        api.post(&agent, "/api/callbacks/nope/claim", &json!({}))
            .await
            .status,
        404
    );
    let r = api
        .post(&agent, "/api/callbacks/cb-1/claim", &json!({}))
        .await;
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(r.body["kind"], "request");
    assert_eq!(
        api.post(&agent2, "/api/callbacks/cb-1/claim", &json!({}))
            .await
            .status,
        409
    );
    let listed = api.get(&agent, "/api/callbacks?status=claimed").await;
    assert_eq!(listed.body[0]["id"], "cb-1", "{listed:?}");
    let r = api
        .post(&agent, "/api/callbacks/cb-1/call", &json!({}))
        .await;
    assert_eq!(r.body["outcome"], "bridged", "{r:?}");
    assert_eq!(dialer.callbacks()[0].number, "13900139000");
    let r = api
        .post(
            &agent,
            "/api/callbacks/cb-1/result",
            &json!({"outcome": "nonsense"}),
        )
        .await;
    assert_eq!(r.status, 400, "{r:?}");
    let r = api
        .post(
            &agent,
            "/api/callbacks/cb-1/result",
            &json!({"outcome": "reached", "notes": "问题已解答"}),
        )
        .await;
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(r.body["status"], "done");
    let listed = api.get(&agent, "/api/callbacks?status=done").await;
    assert_eq!(listed.body[0]["id"], "cb-1", "{listed:?}");
    // Done is done.
    assert_eq!(
        api.post(&agent, "/api/callbacks/cb-1/claim", &json!({}))
            .await
            .status,
        409
    );
    api.stop().await;
}

#[tokio::test]
async fn acd_callback_requests_are_claimed_called_and_closed() {
    for db in databases() {
        acd_requests(db).await;
    }
}
