//! The survey campaign on a real database with a fake clock: restart
//! mid-campaign, unreachable citizens, the redo loop and "the second survey
//! is final" (§21–§22), the callback claim rules. SQLite always; PostgreSQL
//! when `HOTLINE_TEST_POSTGRES_URL` is set.

use time::macros::datetime;
use time::{Duration, OffsetDateTime};

use super::testdb;
use super::{AuditEntry, Campaign, JobStatus, Store, TaskRefusal};
use crate::lifecycle::{Command, OrderState};
use crate::order::{Category, DissatisfactionCause};
use crate::survey_schedule::{AttemptOutcome, CampaignPolicy};
use crate::testkit::{agent, complete, details, dispatch, lead_user, rules, supervisor};
use crate::{Actor, TicketRules};

/// Tuesday 3 March 2026, 10:00 Maoming time.
const T: OffsetDateTime = datetime!(2026-03-03 10:00 +8);

fn policy() -> CampaignPolicy {
    CampaignPolicy {
        calling_hours: (9 * 60, 20 * 60),
        skip_holidays: true,
        max_attempts: 3,
        retry_interval: Duration::hours(2),
        not_placed_delay: Duration::seconds(30),
        concurrent_calls: 5,
    }
}

fn who() -> AuditEntry {
    AuditEntry::system(0)
}

struct Env {
    policy: CampaignPolicy,
    rules: TicketRules,
}

impl Env {
    fn new(policy: CampaignPolicy) -> Env {
        Env {
            policy,
            rules: rules(),
        }
    }

    fn c(&self) -> Campaign<'_> {
        Campaign {
            policy: &self.policy,
            rules: &self.rules,
            language: "cmn",
        }
    }

    /// Applies a step and its campaign effects, as the API does.
    async fn step(&self, store: &Store, n: &str, cmd: Command, by: &Actor, at: OffsetDateTime) {
        let t = store
            .apply_command(n, None, &cmd, by, at, &self.rules, &who())
            .await
            .unwrap_or_else(|e| panic!("{:?} on {n}: {e}", cmd.kind()));
        store
            .schedule_effects(self.c(), &t, at)
            .await
            .expect("effects");
    }

    /// An order opened and walked to `replied` by `at`.
    async fn replied_order(&self, store: &Store, at: OffsetDateTime) -> String {
        let o = store
            .open_order(
                details(Category::Help),
                &agent(),
                at - Duration::hours(3),
                &self.rules,
                &who(),
            )
            .await
            .expect("open");
        let n = o.number.to_string();
        self.handle(store, &n, true, at).await;
        n
    }

    /// The unit's part: sign and respond (first round), complete, reply.
    async fn handle(&self, store: &Store, n: &str, first: bool, at: OffsetDateTime) {
        if first {
            self.step(store, n, dispatch(), &agent(), at - Duration::hours(2))
                .await;
            self.step(
                store,
                n,
                Command::Sign,
                &lead_user(),
                at - Duration::minutes(100),
            )
            .await;
            let respond = Command::Respond {
                contacted: true,
                note: "已联系".into(),
            };
            self.step(store, n, respond, &lead_user(), at - Duration::minutes(90))
                .await;
        }
        self.step(
            store,
            n,
            complete(false),
            &lead_user(),
            at - Duration::minutes(30),
        )
        .await;
        let reply = Command::Reply {
            citizen_informed: true,
            feedback: "已告知".into(),
            note: None,
        };
        self.step(store, n, reply, &lead_user(), at).await;
    }

    /// Runs one batch at `now`; every claimed call ends with `outcome`.
    /// The ids called.
    async fn run(
        &self,
        store: &Store,
        now: OffsetDateTime,
        outcome: AttemptOutcome,
    ) -> Vec<String> {
        let batch = store
            .next_survey_batch(self.c(), now, 0)
            .await
            .expect("batch");
        let mut called = Vec::new();
        for job in &batch.calls {
            store
                .finish_survey_call(self.c(), job, outcome, Some("call-1"), now)
                .await
                .expect("finish");
            called.push(job.id.clone());
        }
        called
    }
}

async fn state(store: &Store, n: &str) -> OrderState {
    store
        .get_order(n)
        .await
        .expect("get")
        .expect("exists")
        .state
}

async fn restart_mid_campaign(path: Option<&std::path::Path>, store: Store) {
    let env = Env::new(policy());
    let n = env.replied_order(&store, T).await;
    let id = super::job_id(&n, 1);
    let job = store.survey_job(&id).await.expect("job").expect("created");
    assert_eq!(
        (job.status, job.attempts, job.next_attempt_at),
        (JobStatus::Pending, 0, T)
    );
    // The same effect again (a retried request) makes no second job.
    assert!(!store
        .create_survey_job(&n, 1, "13800138000", "cmn", T, T)
        .await
        .expect("dup"));

    // Two drivers racing for the same job: one claim wins.
    assert!(store
        .claim_survey_job(&job, T)
        .await
        .expect("claim")
        .is_some());
    assert!(store
        .claim_survey_job(&job, T)
        .await
        .expect("claim")
        .is_none());
    // ... and the server dies mid-call. A new store on the same database:
    let store = match path {
        Some(p) => Store::connect(&format!("sqlite://{}", p.display()))
            .await
            .expect("reopen"),
        None => store,
    };
    let rec = store
        .recover_survey_campaign(env.c(), T + Duration::minutes(1))
        .await
        .expect("recover");
    assert_eq!(rec.interrupted, 1);
    assert_eq!(rec.jobs_created, 0, "the job survived the restart");
    let job = store.survey_job(&id).await.expect("job").expect("kept");
    assert_eq!(job.status, JobStatus::Pending);
    assert_eq!(job.attempts, 1, "the interrupted call counts");
    assert_eq!(job.next_attempt_at, T + Duration::minutes(121));
    // Not called again before the retry interval.
    assert!(env
        .run(&store, T + Duration::minutes(2), AttemptOutcome::Busy)
        .await
        .is_empty());
    // Second attempt: busy; third: rated 2.
    let t2 = T + Duration::minutes(121);
    assert_eq!(
        env.run(&store, t2, AttemptOutcome::Busy).await,
        vec![id.clone()]
    );
    let t3 = t2 + Duration::hours(2);
    assert_eq!(
        env.run(&store, t3, AttemptOutcome::Rated(2)).await,
        vec![id.clone()]
    );
    let job = store.survey_job(&id).await.expect("job").expect("kept");
    assert_eq!(
        (job.status, job.attempts, job.rating),
        (JobStatus::Rated, 3, Some(2))
    );
    assert_eq!(state(&store, &n).await, OrderState::Surveyed);
    let outcomes: Vec<Option<String>> = store
        .survey_attempts(&id)
        .await
        .expect("attempts")
        .into_iter()
        .map(|a| a.outcome)
        .collect();
    assert_eq!(
        outcomes,
        vec![
            Some("interrupted".into()),
            Some("busy".into()),
            Some("rated".into())
        ]
    );
    // Nothing left to call, nothing to wake for.
    let b = store
        .next_survey_batch(env.c(), t3 + Duration::days(1), 0)
        .await
        .expect("batch");
    assert!(b.calls.is_empty());
    assert_eq!(b.wake_at, None);
}

#[tokio::test]
async fn restart_mid_campaign_on_sqlite() {
    let (store, dir) = testdb::sqlite().await;
    restart_mid_campaign(Some(&dir.path().join("t.db")), store).await;
}

#[tokio::test]
async fn restart_mid_campaign_on_postgres() {
    if let Some(store) = testdb::postgres("campaign_restart").await {
        restart_mid_campaign(None, store).await;
    }
}

async fn redo_loop(store: Store) {
    let env = Env::new(policy());
    let n = env.replied_order(&store, T).await;
    // First survey: 4 → callback task.
    assert_eq!(env.run(&store, T, AttemptOutcome::Rated(4)).await.len(), 1);
    assert_eq!(state(&store, &n).await, OrderState::CallbackPending);
    let task_id = super::job_id(&n, 1);
    let task = store
        .callback_task(&task_id, T)
        .await
        .expect("task")
        .expect("created");
    assert_eq!(
        (task.kind.as_str(), task.status.as_str()),
        ("dissatisfied", "open")
    );
    assert_eq!(task.number, "13800138000");

    // One agent at a time; the claim lapses.
    let until = T + Duration::minutes(30);
    let got = store
        .claim_callback_task(&task_id, "1001", T, until)
        .await
        .expect("claim");
    assert!(got.is_ok());
    let other = store
        .claim_callback_task(&task_id, "1002", T, until)
        .await
        .expect("claim");
    assert_eq!(other, Err(TaskRefusal::HeldBy("1001".into(), until)));
    let later = T + Duration::minutes(31);
    let taken = store
        .claim_callback_task(&task_id, "9001", later, later + Duration::minutes(30))
        .await
        .expect("claim")
        .expect("the lapsed claim is free");
    assert_eq!(taken.claimed_by.as_deref(), Some("9001"));
    assert_eq!(
        store
            .finish_callback_task(&task_id, "1001", "handling", "", later)
            .await
            .expect("finish"),
        Err(TaskRefusal::HeldBy(
            "9001".into(),
            later + Duration::minutes(30)
        ))
    );
    // The supervisor records a handling cause: back to the unit (round 2),
    // and the task is done.
    let cb = Command::RecordCallback {
        cause: DissatisfactionCause::Handling,
        notes: "市民称电梯仍未修好".into(),
    };
    env.step(&store, &n, cb, &supervisor(), later).await;
    let o = store.get_order(&n).await.expect("get").expect("exists");
    assert_eq!((o.state, o.round), (OrderState::InProgress, 2));
    let task = store
        .callback_task(&task_id, later)
        .await
        .expect("task")
        .expect("kept");
    assert_eq!(task.status, "done");
    assert_eq!(task.cause.as_deref(), Some("handling"));

    // Redo completed and replied: the second survey is a new job.
    let t2 = T + Duration::days(1);
    env.handle(&store, &n, false, t2).await;
    let id2 = super::job_id(&n, 2);
    assert_eq!(
        env.run(&store, t2, AttemptOutcome::Rated(5)).await,
        vec![id2.clone()]
    );
    // §22: the second result is final even though it is a 5: no callback.
    let o = store.get_order(&n).await.expect("get").expect("exists");
    assert_eq!(o.state, OrderState::Surveyed);
    assert_eq!(
        o.final_handling_survey().map(|s| (s.score, s.round)),
        Some((5, 2))
    );
    assert!(store.callback_task(&id2, t2).await.expect("task").is_none());
    let open = store
        .list_callback_tasks(None, true, t2, 50, 0)
        .await
        .expect("list");
    assert!(open.is_empty(), "{open:?}");
}

#[tokio::test]
async fn redo_loop_on_sqlite() {
    let (store, _dir) = testdb::sqlite().await;
    redo_loop(store).await;
}

#[tokio::test]
async fn redo_loop_on_postgres() {
    if let Some(store) = testdb::postgres("campaign_redo").await {
        redo_loop(store).await;
    }
}

#[tokio::test]
async fn unreachable_closes_the_order_and_not_placed_is_free() {
    let (store, _dir) = testdb::sqlite().await;
    let env = Env::new(CampaignPolicy {
        max_attempts: 2,
        ..policy()
    });
    // Replied at 21:00: the first call waits for the next morning.
    let evening = datetime!(2026-03-03 21:00 +8);
    let n = env.replied_order(&store, evening).await;
    let id = super::job_id(&n, 1);
    assert!(env
        .run(&store, evening, AttemptOutcome::Busy)
        .await
        .is_empty());
    let morning = datetime!(2026-03-04 09:00 +8);
    let b = store
        .next_survey_batch(env.c(), evening, 0)
        .await
        .expect("batch");
    assert_eq!(b.wake_at, Some(morning));
    // The trunk is full twice: no attempt used.
    assert_eq!(
        env.run(&store, morning, AttemptOutcome::NotPlaced)
            .await
            .len(),
        1
    );
    let t = morning + Duration::seconds(30);
    assert_eq!(env.run(&store, t, AttemptOutcome::NotPlaced).await.len(), 1);
    let job = store.survey_job(&id).await.expect("job").expect("kept");
    assert_eq!((job.attempts, job.slots), (0, 2));
    assert!(store
        .survey_attempts(&id)
        .await
        .expect("attempts")
        .is_empty());
    // Two unanswered calls: unreachable, and the order is closed with why.
    let t = t + Duration::seconds(30);
    assert_eq!(env.run(&store, t, AttemptOutcome::NoAnswer).await.len(), 1);
    let t = t + Duration::hours(2);
    assert_eq!(env.run(&store, t, AttemptOutcome::NoAnswer).await.len(), 1);
    let job = store.survey_job(&id).await.expect("job").expect("kept");
    assert_eq!((job.status, job.attempts), (JobStatus::Unreachable, 2));
    let slots: Vec<(u32, Option<String>)> = store
        .survey_attempts(&id)
        .await
        .expect("attempts")
        .into_iter()
        .map(|a| (a.slot, a.outcome))
        .collect();
    assert_eq!(
        slots,
        vec![(3, Some("no_answer".into())), (4, Some("no_answer".into()))]
    );
    let o = store.get_order(&n).await.expect("get").expect("exists");
    assert_eq!(o.state, OrderState::Closed);
    let last = store
        .history(&n)
        .await
        .expect("history")
        .pop()
        .expect("entry");
    assert!(last.reason.is_some_and(|r| r.contains("unreachable")));
}

#[tokio::test]
async fn a_job_whose_order_moved_on_is_cancelled_not_called() {
    let (store, _dir) = testdb::sqlite().await;
    let env = Env::new(policy());
    let n = env.replied_order(&store, T).await;
    // Surveyed by hand before the robot got to it.
    let manual = Command::RecordSurvey {
        stage: crate::order::SurveyStage::Handling,
        score: 1,
        via: "manual".into(),
    };
    env.step(&store, &n, manual, &agent(), T).await;
    assert!(env
        .run(&store, T, AttemptOutcome::Rated(3))
        .await
        .is_empty());
    let job = store
        .survey_job(&super::job_id(&n, 1))
        .await
        .expect("job")
        .expect("kept");
    assert_eq!((job.status, job.attempts), (JobStatus::Cancelled, 0));
    // Recovery does not create a new one either.
    let rec = store
        .recover_survey_campaign(env.c(), T)
        .await
        .expect("recover");
    assert_eq!(rec.jobs_created, 0);
}

#[tokio::test]
async fn recovery_repairs_what_a_crash_after_an_order_step_left_undone() {
    let (store, _dir) = testdb::sqlite().await;
    let env = Env::new(policy());
    // Replied, but the job was never written (the server died right after
    // the step): recovery creates it.
    let o = store
        .open_order(
            details(Category::Help),
            &agent(),
            T - Duration::hours(3),
            &env.rules,
            &who(),
        )
        .await
        .expect("open");
    let n = o.number.to_string();
    for (cmd, by, at) in [
        (dispatch(), agent(), T - Duration::hours(2)),
        (Command::Sign, lead_user(), T - Duration::minutes(100)),
        (
            Command::Respond {
                contacted: true,
                note: "已联系".into(),
            },
            lead_user(),
            T - Duration::minutes(90),
        ),
        (complete(false), lead_user(), T - Duration::minutes(30)),
        (
            Command::Reply {
                citizen_informed: true,
                feedback: "已告知".into(),
                note: None,
            },
            lead_user(),
            T,
        ),
    ] {
        store
            .apply_command(&n, None, &cmd, &by, at, &env.rules, &who())
            .await
            .expect("step");
    }
    assert!(store
        .survey_job(&super::job_id(&n, 1))
        .await
        .expect("job")
        .is_none());
    let rec = store
        .recover_survey_campaign(env.c(), T)
        .await
        .expect("recover");
    assert_eq!(rec.jobs_created, 1);
    // Rated 5: the task is open; the callback is recorded on the order but
    // the task is left open by a crash: recovery closes it with the cause.
    assert_eq!(env.run(&store, T, AttemptOutcome::Rated(5)).await.len(), 1);
    let task = super::job_id(&n, 1);
    assert_eq!(
        store
            .callback_task(&task, T)
            .await
            .expect("task")
            .map(|t| t.status),
        Some("open".into())
    );
    let cb = Command::RecordCallback {
        cause: DissatisfactionCause::Policy,
        notes: "政策不允许".into(),
    };
    store
        .apply_command(&n, None, &cb, &supervisor(), T, &env.rules, &who())
        .await
        .expect("callback");
    let rec = store
        .recover_survey_campaign(env.c(), T)
        .await
        .expect("recover");
    assert_eq!((rec.tasks_closed, rec.jobs_created), (1, 0));
    let t = store
        .callback_task(&task, T)
        .await
        .expect("task")
        .expect("kept");
    assert_eq!(
        (t.status.as_str(), t.cause.as_deref(), t.done_by.as_deref()),
        ("done", Some("policy"), Some("9001"))
    );
    assert_eq!(state(&store, &n).await, OrderState::Surveyed);
}
