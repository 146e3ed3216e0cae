//! The survey campaign's driver against a trunk that allows fewer calls
//! than the campaign would place (the trunk's refusals, `NotPlaced`, are
//! retried without counting): every citizen is called exactly once, the
//! campaign's own limit is never exceeded, every rating is announced on the
//! live event bus. Prints the throughput it measured.

mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::api::details;
use hotline::dialing::{CallbackCall, CallbackOutcome, Dialer, SurveyCall, SurveyCallOutcome};
use hotline_config::{Config, TimeWindow};
use serde_json::{json, Value};

/// Surveys on, calling all day every day.
fn all_day(c: &mut Config) {
    c.survey.enabled = true;
    c.survey.skip_holidays = false;
    c.survey.calling_hours = TimeWindow {
        start_min: 0,
        end_min: 24 * 60,
    };
}

/// A trunk that admits `limit` calls at once and refuses the rest; every
/// call it takes lasts a few milliseconds and is rated 2.
#[derive(Clone)]
struct LimitedTrunk {
    limit: usize,
    attempting: Arc<std::sync::atomic::AtomicUsize>,
    max_attempting: Arc<std::sync::atomic::AtomicUsize>,
    up: Arc<std::sync::atomic::AtomicUsize>,
    max_up: Arc<std::sync::atomic::AtomicUsize>,
    refused: Arc<std::sync::atomic::AtomicUsize>,
    placed: Arc<Mutex<Vec<String>>>,
}

impl LimitedTrunk {
    fn new(limit: usize) -> LimitedTrunk {
        LimitedTrunk {
            limit,
            attempting: Arc::default(),
            max_attempting: Arc::default(),
            up: Arc::default(),
            max_up: Arc::default(),
            refused: Arc::default(),
            placed: Arc::default(),
        }
    }
}

impl Dialer for LimitedTrunk {
    async fn survey_call(&self, call: SurveyCall) -> SurveyCallOutcome {
        use std::sync::atomic::Ordering::SeqCst;
        let a = self.attempting.fetch_add(1, SeqCst) + 1;
        self.max_attempting.fetch_max(a, SeqCst);
        let n = self.up.fetch_add(1, SeqCst) + 1;
        let outcome = if n > self.limit {
            self.refused.fetch_add(1, SeqCst);
            SurveyCallOutcome::NotPlaced("trunk full".into())
        } else {
            self.max_up.fetch_max(n, SeqCst);
            tokio::time::sleep(Duration::from_millis(5)).await;
            self.placed
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .push(call.job_id.clone());
            SurveyCallOutcome::Rated {
                call_id: format!("c-{}", call.job_id),
                rating: 2,
            }
        };
        self.up.fetch_sub(1, SeqCst);
        self.attempting.fetch_sub(1, SeqCst);
        outcome
    }
    async fn callback_call(&self, _call: CallbackCall) -> CallbackOutcome {
        CallbackOutcome::Failed("not in this test".into())
    }
}

/// The driver against a trunk that allows fewer calls than the campaign
/// would place: every job is called exactly once and rated, neither the
/// campaign's nor the trunk's limit is ever exceeded, and refusals are
/// retried without counting.
#[tokio::test]
async fn the_campaign_respects_both_concurrency_limits() {
    use hotline_ticketing::store::{AuditEntry, JobStatus};
    use hotline_ticketing::{Actor, Command, OrderDetails};
    use std::sync::atomic::Ordering::SeqCst;

    const ORDERS: usize = 120;
    let dir = tempfile::tempdir().expect("dir");
    let mut config = Config::from_toml(&common::config_toml(dir.path())).expect("config");
    all_day(&mut config);
    config.survey.concurrent_calls = 30;
    let rules = Arc::new(hotline::ticket_rules::from_config(&config).expect("rules"));
    let (_, store) = hotline::server::open_database(&config.storage.database_url())
        .await
        .expect("database");
    let who = AuditEntry::system(0);
    let agent = Actor::new("1001", hotline_ticketing::Role::Agent);
    let unit = Actor::unit_user("u-housing", "housing");
    let details: OrderDetails = serde_json::from_value(details("help", None)).expect("details");
    let now = time::OffsetDateTime::now_utc;
    let steps: Vec<(Command, &Actor)> = vec![
        (
            serde_json::from_value(json!({"command": "dispatch", "lead": "housing"})).expect("c"),
            &agent,
        ),
        (Command::Sign, &unit),
        (
            serde_json::from_value(json!({"command": "respond", "contacted": true, "note": "ok"}))
                .expect("c"),
            &unit,
        ),
        (
            serde_json::from_value(
                json!({"command": "complete", "outcome": "resolved", "summary": "ok", "public": false}),
            )
            .expect("c"),
            &unit,
        ),
    ];
    let reply: Command = serde_json::from_value(
        json!({"command": "reply", "citizen_informed": true, "feedback": "ok"}),
    )
    .expect("c");
    // Replied orders with their jobs, before the campaign starts.
    let trunk = LimitedTrunk::new(12);
    let mut settings = hotline::outbound::OutboundSettings::from_config(&config);
    settings.policy.not_placed_delay = time::Duration::milliseconds(200);
    let outbound = hotline::outbound::Outbound::new(trunk.clone(), settings);
    let mut numbers = Vec::new();
    for _ in 0..ORDERS {
        let o = store
            .open_order(details.clone(), &agent, now(), &rules, &who)
            .await
            .expect("open");
        let n = o.number.to_string();
        for (c, by) in &steps {
            store
                .apply_command(&n, None, c, by, now(), &rules, &who)
                .await
                .expect("step");
        }
        let t = store
            .apply_command(&n, None, &reply, &unit, now(), &rules, &who)
            .await
            .expect("reply");
        outbound.after_step(&store, &rules, &t, now()).await;
        numbers.push(n);
    }
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let started = std::time::Instant::now();
    let events = Arc::new(Mutex::new(Vec::new()));
    let sink = events.clone();
    let driver = tokio::spawn(hotline::outbound::campaign::run(
        outbound,
        store.clone(),
        rules.clone(),
        Arc::new(move |e: Value| sink.lock().unwrap_or_else(|p| p.into_inner()).push(e)),
        stopped,
    ));
    let mut rated = 0;
    for _ in 0..2000 {
        rated = store
            .list_survey_jobs(None, Some(JobStatus::Rated), 500, 0)
            .await
            .expect("jobs")
            .len();
        if rated == ORDERS {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let elapsed = started.elapsed();
    let _ = stop.send(true);
    driver.await.expect("driver stops");
    assert_eq!(rated, ORDERS, "every job rated");
    let placed = trunk
        .placed
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .clone();
    let unique: std::collections::BTreeSet<&String> = placed.iter().collect();
    assert_eq!(
        (placed.len(), unique.len()),
        (ORDERS, ORDERS),
        "each citizen called once"
    );
    assert!(
        trunk.refused.load(SeqCst) > 0,
        "the campaign pushed past the trunk's limit and was refused"
    );
    assert!(
        trunk.max_attempting.load(SeqCst) <= 30,
        "campaign limit exceeded: {}",
        trunk.max_attempting.load(SeqCst)
    );
    for n in &numbers {
        let o = store.get_order(n).await.expect("get").expect("order");
        assert_eq!(o.state, hotline_ticketing::OrderState::Surveyed, "{n}");
    }
    let jobs = store
        .list_survey_jobs(None, None, 500, 0)
        .await
        .expect("jobs");
    assert!(
        jobs.iter().all(|j| j.attempts == 1),
        "refusals never counted"
    );
    // Every rating was announced on the live bus.
    let events = events.lock().unwrap_or_else(|p| p.into_inner()).clone();
    assert_eq!(events.len(), ORDERS);
    assert!(events.iter().all(|e| e["type"] == "order_changed"
        && e["action"] == "record_survey"
        && e["state"] == "surveyed"
        && e["by"] == "survey-robot"));
    eprintln!(
        "campaign: {ORDERS} surveys in {:.2} s ({:.0} calls/s), max {} calls up (trunk limit 12), \
         max {} attempted at once (campaign limit 30), {} refusals retried",
        elapsed.as_secs_f64(),
        ORDERS as f64 / elapsed.as_secs_f64(),
        trunk.max_up.load(SeqCst),
        trunk.max_attempting.load(SeqCst),
        trunk.refused.load(SeqCst),
    );
}
