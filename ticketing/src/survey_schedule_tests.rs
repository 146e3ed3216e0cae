//! Virtual-time tests of the campaign scheduler: calling hours, holidays,
//! concurrency, retries and "unreachable". (Restart mid-campaign and the redo
//! loop over a real database: `store/campaign_tests.rs`.)

use time::macros::datetime;
use time::Duration;

use super::*;
use crate::calendar::tests::prc_2026;
use crate::testkit::{order_in, order_in_with};

fn policy() -> CampaignPolicy {
    CampaignPolicy {
        calling_hours: (9 * 60, 20 * 60),
        skip_holidays: true,
        max_attempts: 3,
        retry_interval: Duration::hours(2),
        not_placed_delay: Duration::seconds(30),
        concurrent_calls: 2,
    }
}

fn job(id: &str, at: OffsetDateTime) -> DueJob {
    DueJob {
        id: id.into(),
        due_at: at,
    }
}

#[test]
fn calls_only_inside_calling_hours() {
    let p = policy();
    let cal = prc_2026();
    // Tuesday 3 March 2026, local time.
    assert!(!p.may_call_at(&cal, datetime!(2026-03-03 08:59 +8)));
    assert!(p.may_call_at(&cal, datetime!(2026-03-03 09:00 +8)));
    assert!(p.may_call_at(&cal, datetime!(2026-03-03 19:59 +8)));
    assert!(!p.may_call_at(&cal, datetime!(2026-03-03 20:00 +8)));
    // Before the window: today at 09:00; after it: tomorrow at 09:00.
    assert_eq!(
        p.next_call_time(&cal, datetime!(2026-03-03 07:10 +8)),
        datetime!(2026-03-03 09:00 +8)
    );
    assert_eq!(
        p.next_call_time(&cal, datetime!(2026-03-03 21:30 +8)),
        datetime!(2026-03-04 09:00 +8)
    );
    // Weekends are not holidays: surveys run on Saturday.
    assert!(p.may_call_at(&cal, datetime!(2026-03-07 10:00 +8)));
}

#[test]
fn holidays_are_skipped_when_configured() {
    let cal = prc_2026();
    let p = policy();
    // Labour Day holiday: 1–5 May 2026.
    let may_day = datetime!(2026-05-01 10:00 +8);
    assert!(!p.may_call_at(&cal, may_day));
    assert_eq!(
        p.next_call_time(&cal, may_day),
        datetime!(2026-05-06 09:00 +8)
    );
    // From the evening before, too.
    assert_eq!(
        p.next_call_time(&cal, datetime!(2026-04-30 20:30 +8)),
        datetime!(2026-05-06 09:00 +8)
    );
    let open = CampaignPolicy {
        skip_holidays: false,
        ..policy()
    };
    assert!(open.may_call_at(&cal, may_day));
}

#[test]
fn plan_starts_due_jobs_up_to_the_concurrency_and_sleeps_outside_hours() {
    let cal = prc_2026();
    let p = policy();
    let now = datetime!(2026-03-03 10:00 +8);
    let due = [
        job("c", now - Duration::minutes(1)),
        job("a", now - Duration::minutes(30)),
        job("b", now - Duration::minutes(10)),
    ];
    let later = Some(now + Duration::hours(1));
    // Oldest first, two slots: a and b; c waits for a call to end.
    let pl = plan(&p, &cal, now, &due, later, 0);
    assert_eq!(pl.start, vec!["a".to_owned(), "b".to_owned()]);
    assert_eq!(pl.wake_at, None);
    // One call running: only a.
    assert_eq!(plan(&p, &cal, now, &due, later, 1).start, vec!["a"]);
    // Everything fits: wake for the next job.
    let pl = plan(&p, &cal, now, &due[..1], later, 0);
    assert_eq!(pl.start, vec!["c"]);
    assert_eq!(pl.wake_at, later);
    // Nothing due: sleep until the next job.
    let pl = plan(&p, &cal, now, &[], later, 0);
    assert!(pl.start.is_empty());
    assert_eq!(pl.wake_at, later);
    // A job due late in the evening is called the next morning.
    let pl = plan(&p, &cal, now, &[], Some(datetime!(2026-03-03 22:00 +8)), 0);
    assert_eq!(pl.wake_at, Some(datetime!(2026-03-04 09:00 +8)));
    // At night nothing starts, and the planner wakes at 09:00.
    let night = datetime!(2026-03-03 23:00 +8);
    let pl = plan(&p, &cal, night, &due, None, 0);
    assert!(pl.start.is_empty());
    assert_eq!(pl.wake_at, Some(datetime!(2026-03-04 09:00 +8)));
    // Idle campaign: no wake-up at all.
    assert_eq!(plan(&p, &cal, now, &[], None, 0).wake_at, None);
}

#[test]
fn retries_then_unreachable_and_not_placed_does_not_count() {
    let cal = prc_2026();
    let p = policy();
    let now = datetime!(2026-03-03 10:00 +8);
    assert_eq!(
        resolve(&p, now, 1, AttemptOutcome::Busy),
        Resolution::RetryAt(datetime!(2026-03-03 12:00 +8))
    );
    assert_eq!(
        resolve(&p, now, 2, AttemptOutcome::NoAnswer),
        Resolution::RetryAt(datetime!(2026-03-03 12:00 +8))
    );
    // A retry after hours is stored as is; the planner waits for the
    // morning (and for the hours in force then).
    let late = datetime!(2026-03-03 21:00 +8);
    assert_eq!(
        resolve(
            &p,
            datetime!(2026-03-03 19:00 +8),
            1,
            AttemptOutcome::NoRating
        ),
        Resolution::RetryAt(late)
    );
    let pl = plan(&p, &cal, datetime!(2026-03-03 19:30 +8), &[], Some(late), 0);
    assert_eq!(pl.wake_at, Some(datetime!(2026-03-04 09:00 +8)));
    // The third failed attempt is the last.
    for o in [
        AttemptOutcome::Busy,
        AttemptOutcome::NoAnswer,
        AttemptOutcome::NoRating,
        AttemptOutcome::Failed,
        AttemptOutcome::Interrupted,
    ] {
        assert_eq!(resolve(&p, now, 3, o), Resolution::Unreachable, "{o:?}");
    }
    // No room on the trunk: soon, and not counted even at the last attempt.
    assert_eq!(
        resolve(&p, now, 3, AttemptOutcome::NotPlaced),
        Resolution::ReleaseUntil(now + Duration::seconds(30))
    );
    // A rating ends the job whatever the count; an impossible key does not.
    assert_eq!(
        resolve(&p, now, 3, AttemptOutcome::Rated(4)),
        Resolution::Rated(4)
    );
    assert_eq!(
        resolve(&p, now, 1, AttemptOutcome::Rated(9)),
        Resolution::RetryAt(datetime!(2026-03-03 12:00 +8))
    );
}

#[test]
fn a_whole_campaign_in_virtual_time() {
    // One job, the citizen never answers: three calls, two hours apart,
    // each inside the calling hours, then unreachable.
    let cal = prc_2026();
    let p = policy();
    let mut now = datetime!(2026-03-03 17:30 +8);
    let mut due_at = p.next_call_time(&cal, now);
    let mut calls = Vec::new();
    let mut attempts = 0;
    loop {
        let pl = plan(&p, &cal, now, &[], Some(due_at), 0);
        now = pl.wake_at.expect("a wake-up while the job is pending");
        let pl = plan(&p, &cal, now, &[job("j", due_at)], None, 0);
        assert_eq!(pl.start, vec!["j"]);
        assert!(p.may_call_at(&cal, now));
        calls.push(now);
        attempts += 1;
        match resolve(&p, now, attempts, AttemptOutcome::NoAnswer) {
            Resolution::RetryAt(t) => due_at = t,
            Resolution::Unreachable => break,
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(
        calls,
        vec![
            datetime!(2026-03-03 17:30 +8),
            datetime!(2026-03-03 19:30 +8),
            datetime!(2026-03-04 09:00 +8),
        ]
    );
}

#[test]
fn the_survey_is_due_only_while_the_order_waits_for_it() {
    let replied = order_in(OrderState::Replied);
    assert!(survey_still_due(&replied, replied.round));
    assert!(!survey_still_due(&replied, replied.round + 1));
    assert!(!survey_still_due(&order_in(OrderState::Surveyed), 1));
    assert!(!survey_still_due(&order_in(OrderState::Closed), 1));
    let mut d = crate::testkit::details(crate::order::Category::Help);
    d.caller.contact_preference = crate::order::ContactPreference::NoReply;
    let no_contact = order_in_with(OrderState::Replied, d);
    assert!(!survey_still_due(&no_contact, no_contact.round));
    // The order-side commands.
    assert_eq!(
        order_command(Resolution::Rated(2), 1).map(|c| c.kind()),
        Some(crate::CommandKind::RecordSurvey)
    );
    assert!(matches!(
        order_command(Resolution::Unreachable, 3),
        Some(Command::Close { reason: Some(r) }) if r.contains("3 attempts")
    ));
    assert_eq!(
        order_command(Resolution::RetryAt(datetime!(2026-03-03 12:00 +8)), 1),
        None
    );
}
