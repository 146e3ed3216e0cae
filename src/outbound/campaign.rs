//! The survey campaign's driver: one tokio task that asks the store for the
//! calls due now (`Store::next_survey_batch`, which applies the sans-IO
//! scheduler and claims the jobs), places each through the [`DynDialer`] in
//! its own task, reports each outcome (`Store::finish_survey_call`), and
//! sleeps until the scheduler's next wake-up, a call ending, a new job
//! ([`Outbound::wake`]) or shutdown. Orders it rates or closes are announced
//! on the live event bus like any step (`order_changed`, by `survey-robot`).
//!
//! The concurrency limit is the scheduler's (`[survey] concurrent_calls`
//! minus the calls in flight); the trunk's own limits come back as
//! `NotPlaced`, which gives the attempt back (the job is retried 30 s later)
//! and pauses new calls until a call ends normally or 2 s have passed. At start
//! the driver runs `Store::recover_survey_campaign` first: calls a crash cut
//! off count as attempts and are retried later, never at once. Calls still
//! running at shutdown are abandoned the same way. Every 10 minutes it also
//! reconciles: orders left without their job or task get one.

use std::sync::Arc;
use std::time::Duration;

use hotline_ticketing::store::{JobStatus, Store, SurveyJob, SURVEY_ROBOT};
use hotline_ticketing::survey_schedule::AttemptOutcome;
use hotline_ticketing::TicketRules;
use time::OffsetDateTime;
use tokio::sync::{mpsc, watch};

use super::Outbound;
use crate::dialing::{SurveyCall, SurveyCallOutcome};

/// Back-off after a database error.
const ERROR_BACKOFF: Duration = Duration::from_secs(30);
/// How often orders waiting for a job or task without one are looked for
/// (a failure right after an order step); also done at start.
const RECONCILE_INTERVAL: Duration = Duration::from_secs(600);
/// Pause after the trunk had no room for a call.
const NOT_PLACED_PAUSE: Duration = Duration::from_secs(2);
/// Longest sleep without looking (a clock change, a job added by hand).
const MAX_SLEEP: Duration = Duration::from_secs(300);

/// The campaign's view of a dialled call.
pub fn attempt_outcome(o: &SurveyCallOutcome) -> (AttemptOutcome, Option<&str>) {
    match o {
        SurveyCallOutcome::Rated { call_id, rating } => {
            (AttemptOutcome::Rated(*rating), Some(call_id.as_str()))
        }
        SurveyCallOutcome::NoRating { call_id } => {
            (AttemptOutcome::NoRating, Some(call_id.as_str()))
        }
        SurveyCallOutcome::Busy => (AttemptOutcome::Busy, None),
        SurveyCallOutcome::NoAnswer => (AttemptOutcome::NoAnswer, None),
        SurveyCallOutcome::Failed(_) => (AttemptOutcome::Failed, None),
        SurveyCallOutcome::NotPlaced(_) => (AttemptOutcome::NotPlaced, None),
    }
}

fn until(wake_at: Option<OffsetDateTime>, now: OffsetDateTime) -> Duration {
    wake_at.map_or(MAX_SLEEP, |t| {
        let d = t - now;
        if d.is_negative() {
            Duration::ZERO
        } else {
            Duration::from_millis(u64::try_from(d.whole_milliseconds()).unwrap_or(u64::MAX))
                .min(MAX_SLEEP)
        }
    })
}

/// Where the campaign announces the orders it changed (the live event bus).
pub type Publish = Arc<dyn Fn(serde_json::Value) + Send + Sync>;

/// Places one claimed job's call and records how it ended; whether the
/// trunk had no room for it.
async fn place(
    outbound: Outbound,
    tickets: Store,
    rules: Arc<TicketRules>,
    publish: Publish,
    job: SurveyJob,
) -> bool {
    let call = SurveyCall {
        job_id: job.id.clone(),
        number: job.number.clone(),
        order_number: job.order_id.clone(),
        language: job.language.clone(),
    };
    tracing::info!(job = %job.id, attempt = job.attempts, "placing a survey call");
    let outcome = outbound.dialer().survey_call(call).await;
    let (attempt, call_id) = attempt_outcome(&outcome);
    let now = OffsetDateTime::now_utc();
    match tickets
        .finish_survey_call(outbound.campaign(&rules), &job, attempt, call_id, now)
        .await
    {
        Ok(status) => {
            tracing::info!(
                job = %job.id, outcome = attempt.as_str(), status = status.as_str(),
                "survey call ended"
            );
            let action = match status {
                JobStatus::Rated => "record_survey",
                JobStatus::Unreachable => "close",
                _ => return attempt == AttemptOutcome::NotPlaced,
            };
            if let Ok(Some(order)) = tickets.get_order(&job.order_id).await {
                publish(crate::http::events::order_changed(
                    None,
                    &order,
                    action,
                    SURVEY_ROBOT,
                ));
            }
        }
        Err(e) => tracing::error!(
            job = %job.id,
            "recording a survey call's outcome failed (resolved at next start): {e}"
        ),
    }
    attempt == AttemptOutcome::NotPlaced
}

/// Runs the campaign until shutdown.
pub async fn run(
    outbound: Outbound,
    tickets: Store,
    rules: Arc<TicketRules>,
    publish: Publish,
    mut shutdown: watch::Receiver<bool>,
) {
    match tickets
        .recover_survey_campaign(outbound.campaign(&rules), OffsetDateTime::now_utc())
        .await
    {
        Ok(r) => tracing::info!(
            interrupted = r.interrupted,
            jobs_created = r.jobs_created,
            tasks_created = r.tasks_created,
            tasks_closed = r.tasks_closed,
            "survey campaign recovered"
        ),
        Err(e) => tracing::error!("survey campaign recovery failed: {e}"),
    }
    let wake = outbound.wake_handle();
    // Each call reports whether the trunk refused it for lack of room.
    let (done_tx, mut done_rx) = mpsc::unbounded_channel::<bool>();
    let mut in_flight: u32 = 0;
    // After a refusal, no new call until a call ends normally (the trunk has
    // room again) or the pause is over: otherwise every due job would be
    // claimed and given back in turn.
    let mut paused_until: Option<tokio::time::Instant> = None;
    let mut reconciled = tokio::time::Instant::now();
    loop {
        let now = OffsetDateTime::now_utc();
        if reconciled.elapsed() >= RECONCILE_INTERVAL {
            reconciled = tokio::time::Instant::now();
            match tickets
                .reconcile_survey_campaign(outbound.campaign(&rules), now)
                .await
            {
                Ok(r) if r != Default::default() => {
                    tracing::warn!(?r, "survey campaign reconciled missing jobs or tasks");
                }
                Ok(_) => {}
                Err(e) => tracing::error!("survey campaign reconciliation failed: {e}"),
            }
        }
        let paused = paused_until.filter(|t| *t > tokio::time::Instant::now());
        let sleep = if let Some(t) = paused {
            t.saturating_duration_since(tokio::time::Instant::now())
        } else {
            match tickets
                .next_survey_batch(outbound.campaign(&rules), now, in_flight)
                .await
            {
                Ok(batch) => {
                    for job in batch.calls {
                        in_flight += 1;
                        let done = done_tx.clone();
                        let (o, t, r) = (outbound.clone(), tickets.clone(), rules.clone());
                        let p = publish.clone();
                        tokio::spawn(async move {
                            let refused = place(o, t, r, p, job).await;
                            let _ = done.send(refused);
                        });
                    }
                    until(batch.wake_at, now)
                }
                Err(e) => {
                    tracing::error!("survey campaign: {e}");
                    ERROR_BACKOFF
                }
            }
        };
        let mut ended = |refused: bool, in_flight: &mut u32| {
            *in_flight = in_flight.saturating_sub(1);
            paused_until = if refused {
                Some(tokio::time::Instant::now() + NOT_PLACED_PAUSE)
            } else {
                None
            };
        };
        tokio::select! {
            _ = shutdown.wait_for(|stop| *stop) => return,
            _ = wake.notified() => {}
            Some(refused) = done_rx.recv() => ended(refused, &mut in_flight),
            () = tokio::time::sleep(sleep) => {}
        }
        // Count every call that ended meanwhile.
        while let Ok(refused) = done_rx.try_recv() {
            ended(refused, &mut in_flight);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outcomes_map_to_attempts() {
        let rated = SurveyCallOutcome::Rated {
            call_id: "c1".into(),
            rating: 4,
        };
        assert_eq!(
            attempt_outcome(&rated),
            (AttemptOutcome::Rated(4), Some("c1"))
        );
        assert_eq!(
            attempt_outcome(&SurveyCallOutcome::NotPlaced("full".into())).0,
            AttemptOutcome::NotPlaced
        );
        assert_eq!(
            attempt_outcome(&SurveyCallOutcome::Failed("503".into())).0,
            AttemptOutcome::Failed
        );
    }

    #[test]
    fn sleeps_are_bounded() {
        let now = OffsetDateTime::UNIX_EPOCH;
        assert_eq!(until(None, now), MAX_SLEEP);
        assert_eq!(
            until(Some(now - time::Duration::seconds(5)), now),
            Duration::ZERO
        );
        assert_eq!(
            until(Some(now + time::Duration::seconds(5)), now),
            Duration::from_secs(5)
        );
        assert_eq!(until(Some(now + time::Duration::days(1)), now), MAX_SLEEP);
    }
}
