//! The survey campaign on top of the store: what the binary's driver calls.
//! It joins the scheduler's decisions (`survey_schedule`), the job queue
//! (`survey_jobs`), the callback list (`callback_tasks`) and the order's
//! lifecycle, and takes the current time as a parameter like the rest of the
//! domain, so tests run whole campaigns in virtual time on a real database.
//!
//! Crash safety: the order is written before the job. A crash in between
//! leaves the job in `calling`; [`Store::recover_survey_campaign`] then sees
//! the order no longer waiting for that survey and closes the job without a
//! call. A crash during a call leaves the job in `calling` with the attempt
//! counted; recovery treats it as a failed attempt (retry later, or
//! unreachable after the last). Orders whose job or task was never written
//! (a crash right after the order step) are found and given one, and tasks
//! whose callback was recorded but which were left open are closed.

use time::OffsetDateTime;

use super::audit::AuditEntry;
use super::callback_tasks::NewCallbackTask;
use super::survey_jobs::{job_id, JobStatus, JobUpdate, SurveyJob};
use super::tickets::ms;
use super::{Error, OrderFilter, PageStart, Result, Store};
use crate::actor::Actor;
use crate::lifecycle::{Command, Effect, OrderState, Transition};
use crate::order::WorkOrder;
use crate::rules::TicketRules;
use crate::survey_schedule::{
    order_command, plan, resolve, survey_still_due, AttemptOutcome, CampaignPolicy, DueJob,
    Resolution,
};

/// The user id the survey robot acts as on orders (role `system`).
pub const SURVEY_ROBOT: &str = "survey-robot";

/// The calls to place now and when to look again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Batch {
    /// Jobs claimed for a call (status `calling`, attempt counted).
    pub calls: Vec<SurveyJob>,
    /// When to ask again at the latest (`None`: when woken).
    pub wake_at: Option<OffsetDateTime>,
}

/// What start-up recovery did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Recovery {
    /// Jobs found mid-call and resolved.
    pub interrupted: usize,
    /// Jobs created for replied orders that had none.
    pub jobs_created: usize,
    /// Callback tasks created for orders waiting for one.
    pub tasks_created: usize,
    /// Callback tasks closed whose order's callback was already recorded.
    pub tasks_closed: u64,
}

/// What the campaign needs besides the store.
#[derive(Debug, Clone, Copy)]
pub struct Campaign<'a> {
    /// `[survey]`'s calling rules.
    pub policy: &'a CampaignPolicy,
    /// Calendar and lifecycle rules.
    pub rules: &'a TicketRules,
    /// Prompt language of new jobs.
    pub language: &'a str,
}

fn robot() -> Actor {
    Actor::system(SURVEY_ROBOT)
}

fn robot_audit(now: OffsetDateTime) -> AuditEntry {
    AuditEntry {
        actor: SURVEY_ROBOT.into(),
        actor_role: "system".into(),
        client_ip: None,
        at_ms: ms(now),
    }
}

impl Store {
    /// Carries out what a lifecycle step means for the campaign: a survey
    /// job for `HandlingSurveyDue`, a callback task for `CallbackTask`, and
    /// closing the order's callback tasks once its callback is recorded.
    /// Idempotent (jobs and tasks are keyed by order and round).
    ///
    /// # Errors
    /// Database errors.
    pub async fn schedule_effects(
        &self,
        c: Campaign<'_>,
        t: &Transition,
        now: OffsetDateTime,
    ) -> Result<()> {
        let o = &t.order;
        for effect in &t.effects {
            match effect {
                Effect::HandlingSurveyDue => {
                    self.ensure_survey_job(c, o, now).await?;
                }
                Effect::CallbackTask => {
                    self.ensure_callback_task(o, now).await?;
                }
                Effect::NotifyUnits { .. } => {}
            }
        }
        if let Some(Command::RecordCallback { cause, notes }) = &t.entry.detail {
            let cause = serde_json::to_value(cause)
                .ok()
                .and_then(|v| v.as_str().map(str::to_owned))
                .unwrap_or_default();
            let order = o.number.to_string();
            self.close_order_callback_tasks(&order, &t.entry.actor.0, &cause, notes, now)
                .await?;
        }
        Ok(())
    }

    async fn ensure_survey_job(
        &self,
        c: Campaign<'_>,
        o: &WorkOrder,
        now: OffsetDateTime,
    ) -> Result<bool> {
        let Some(number) = o.details.caller.number.as_deref().filter(|n| !n.is_empty()) else {
            tracing::warn!(order = %o.number, "handling survey due but the order has no number to call");
            return Ok(false);
        };
        // Due now; the planner waits for the calling hours.
        self.create_survey_job(&o.number.to_string(), o.round, number, c.language, now, now)
            .await
    }

    async fn ensure_callback_task(&self, o: &WorkOrder, now: OffsetDateTime) -> Result<bool> {
        let order = o.number.to_string();
        self.create_callback_task(
            &NewCallbackTask {
                id: job_id(&order, o.round),
                kind: "dissatisfied",
                order_id: Some(order),
                round: Some(o.round),
                request_id: None,
                number: o.details.caller.number.clone().unwrap_or_default(),
                queue: None,
            },
            now,
        )
        .await
    }

    /// Start-up: resolves jobs a crash left mid-call, then
    /// [`Store::reconcile_survey_campaign`].
    ///
    /// # Errors
    /// Database errors, [`Error::Corrupt`].
    pub async fn recover_survey_campaign(
        &self,
        c: Campaign<'_>,
        now: OffsetDateTime,
    ) -> Result<Recovery> {
        let mut interrupted = 0;
        for job in self.calling_survey_jobs().await? {
            self.finish_survey_call(c, &job, AttemptOutcome::Interrupted, None, now)
                .await?;
            interrupted += 1;
        }
        let mut r = self.reconcile_survey_campaign(c, now).await?;
        r.interrupted = interrupted;
        Ok(r)
    }

    /// Gives a job or a task to orders waiting for one without it, and
    /// closes tasks whose callback is recorded (what a failure right after an
    /// order step leaves undone). Safe while calls are under way; the driver
    /// runs it periodically.
    ///
    /// # Errors
    /// Database errors, [`Error::Corrupt`].
    pub async fn reconcile_survey_campaign(
        &self,
        c: Campaign<'_>,
        now: OffsetDateTime,
    ) -> Result<Recovery> {
        let mut r = Recovery::default();
        // Tasks whose callback was recorded but not closed (a failure right
        // after the order step).
        for order in self.orders_with_open_callback_tasks().await? {
            let Some(o) = self.get_order(&order).await? else {
                continue;
            };
            if o.state != OrderState::CallbackPending {
                let (cause, notes, by) = o.callback.as_ref().map_or_else(
                    || (String::new(), String::new(), SURVEY_ROBOT.to_owned()),
                    |cb| {
                        let cause = serde_json::to_value(cb.cause)
                            .ok()
                            .and_then(|v| v.as_str().map(str::to_owned))
                            .unwrap_or_default();
                        (cause, cb.notes.clone(), cb.by.0.clone())
                    },
                );
                r.tasks_closed += self
                    .close_order_callback_tasks(&order, &by, &cause, &notes, now)
                    .await?;
            }
        }
        let filter = OrderFilter {
            states: vec![
                OrderState::Replied.as_str().to_owned(),
                OrderState::CallbackPending.as_str().to_owned(),
            ],
            ..OrderFilter::default()
        };
        let mut start = PageStart::default();
        loop {
            let page = self.list_work_orders(&filter, 500, &start).await?;
            for o in &page.orders {
                if o.state == OrderState::CallbackPending {
                    if self.ensure_callback_task(o, now).await? {
                        r.tasks_created += 1;
                    }
                } else if survey_still_due(o, o.round)
                    && self
                        .survey_job(&job_id(&o.number.to_string(), o.round))
                        .await?
                        .is_none()
                    && self.ensure_survey_job(c, o, now).await?
                {
                    r.jobs_created += 1;
                }
            }
            match page.next {
                Some(cursor) => start = PageStart::After(cursor),
                None => break,
            }
        }
        Ok(r)
    }

    /// The jobs to call now (claimed: do dial each exactly once and report
    /// with [`Store::finish_survey_call`]) and when to ask again.
    /// `in_flight` calls are already running.
    ///
    /// # Errors
    /// Database errors, [`Error::Corrupt`].
    pub async fn next_survey_batch(
        &self,
        c: Campaign<'_>,
        now: OffsetDateTime,
        in_flight: u32,
    ) -> Result<Batch> {
        let room = c.policy.concurrent_calls.saturating_sub(in_flight);
        let (due, next) = self.due_survey_jobs(now, room.max(1)).await?;
        let views: Vec<DueJob> = due
            .iter()
            .map(|j| DueJob {
                id: j.id.clone(),
                due_at: j.next_attempt_at,
            })
            .collect();
        let p = plan(c.policy, &c.rules.calendar, now, &views, next, in_flight);
        let mut calls = Vec::new();
        let mut skipped = false;
        for id in &p.start {
            let Some(job) = due.iter().find(|j| &j.id == id) else {
                continue;
            };
            let still = self
                .get_order(&job.order_id)
                .await?
                .is_some_and(|o| survey_still_due(&o, job.round));
            if !still {
                self.cancel_survey_job(&job.id, now).await?;
                skipped = true;
                continue;
            }
            if let Some(claimed) = self.claim_survey_job(job, now).await? {
                calls.push(claimed);
            }
        }
        Ok(Batch {
            calls,
            // A cancelled job freed a slot: look again at once.
            wake_at: if skipped { Some(now) } else { p.wake_at },
        })
    }

    /// Records how the call of a claimed `job` ended and carries it onto the
    /// order (rating, or closing it as unreachable); the job's new status.
    ///
    /// # Errors
    /// Database errors, [`Error::Corrupt`]; a refusal of the lifecycle is
    /// not an error (the order moved on: the job is closed).
    pub async fn finish_survey_call(
        &self,
        c: Campaign<'_>,
        job: &SurveyJob,
        outcome: AttemptOutcome,
        call_id: Option<&str>,
        now: OffsetDateTime,
    ) -> Result<JobStatus> {
        let order = self.get_order(&job.order_id).await?;
        let due = order
            .as_ref()
            .is_some_and(|o| survey_still_due(o, job.round));
        let resolution = resolve(c.policy, now, job.attempts, outcome);
        let update = if due {
            if let Some(cmd) = order_command(resolution, job.attempts) {
                self.apply_for_robot(c, &job.order_id, &cmd, now).await?;
            }
            if let Resolution::Rated(score) = resolution {
                let unit = order
                    .as_ref()
                    .and_then(|o| o.assignment.as_ref())
                    .map(|a| a.lead.0.as_str());
                self.record_handling_survey(job, unit, score, call_id, now)
                    .await?;
            }
            match resolution {
                Resolution::Rated(s) => JobUpdate::Rated(s),
                Resolution::Unreachable => JobUpdate::Unreachable,
                Resolution::RetryAt(at) => JobUpdate::Pending { at, counted: true },
                Resolution::ReleaseUntil(at) => JobUpdate::Pending { at, counted: false },
            }
        } else {
            // The order no longer waits (rated by hand, closed, or this very
            // job's result written before a crash).
            match order.as_ref().and_then(|o| {
                o.surveys.iter().rev().find(|s| {
                    s.stage == crate::order::SurveyStage::Handling && s.round == job.round
                })
            }) {
                Some(s) => JobUpdate::Rated(s.score),
                None => JobUpdate::Cancelled,
            }
        };
        let status = match update {
            JobUpdate::Pending { .. } => JobStatus::Pending,
            JobUpdate::Rated(_) => JobStatus::Rated,
            JobUpdate::Unreachable => JobStatus::Unreachable,
            JobUpdate::Cancelled => JobStatus::Cancelled,
        };
        self.finish_survey_attempt(&job.id, job.slots, outcome.as_str(), call_id, update, now)
            .await?;
        Ok(status)
    }

    /// Applies `cmd` as the survey robot, retrying a lost race, then its
    /// effects (a first-round 4 or 5 opens the callback task).
    async fn apply_for_robot(
        &self,
        c: Campaign<'_>,
        order: &str,
        cmd: &Command,
        now: OffsetDateTime,
    ) -> Result<()> {
        let mut tries = 0;
        loop {
            match self
                .apply_command(order, None, cmd, &robot(), now, c.rules, &robot_audit(now))
                .await
            {
                Ok(t) => return self.schedule_effects(c, &t, now).await,
                Err(Error::Conflict(_)) if tries < 3 => tries += 1,
                Err(Error::Domain(e)) => {
                    tracing::warn!(%order, "survey result not recorded on the order: {e}");
                    return Ok(());
                }
                Err(e) => return Err(e),
            }
        }
    }
}
