//! When to place handling-stage survey calls (§18–§22), as pure functions.
//!
//! The campaign is a queue of persistent jobs (one per order and round, see
//! `store::survey_jobs`). This module decides, from the current time, the
//! calendar and the [`CampaignPolicy`], which due jobs to start now and when
//! to look again ([`plan`]), and what an attempt's outcome means for its job
//! ([`resolve`]): a rating, a retry later, "unreachable" after the last
//! attempt, or a retry soon that does not count (the trunk had no room). It
//! reads no clock and touches no database; the store and the binary's driver
//! carry its answers out.
//!
//! Choices:
//! - Calls are placed only inside the local calling hours, and, with
//!   `skip_holidays`, never on a public holiday of the calendar. A job stores
//!   the earliest instant the retry rules allow; the planner applies the
//!   calling hours when it looks (and wakes at the next allowed moment), so
//!   a change of calling hours applies at once to the jobs already queued.
//! - An attempt counts the moment it is claimed (before dialling), so a crash
//!   mid-call is an attempt used ([`AttemptOutcome::Interrupted`]): the job is
//!   retried later like a failed call, never redialled at once, and never
//!   given more than `max_attempts` calls.
//! - [`AttemptOutcome::NotPlaced`] gives the attempt back.

use time::{Duration, OffsetDateTime, Time};

use crate::calendar::{utc, WorkingCalendar};
use crate::lifecycle::{Command, OrderState};
use crate::order::{SurveyStage, WorkOrder};

/// How the campaign calls: from `[survey]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CampaignPolicy {
    /// Local calling window, minutes after midnight, `[start, end)`.
    pub calling_hours: (u16, u16),
    /// No calls on the calendar's public holidays.
    pub skip_holidays: bool,
    /// Attempts before the citizen counts as unreachable (at least 1).
    pub max_attempts: u32,
    /// Wait between two counted attempts.
    pub retry_interval: Duration,
    /// Wait after the trunk had no room for the call (not counted).
    pub not_placed_delay: Duration,
    /// Calls in flight at most.
    pub concurrent_calls: u32,
}

impl Default for CampaignPolicy {
    fn default() -> Self {
        CampaignPolicy {
            calling_hours: (9 * 60, 20 * 60),
            skip_holidays: true,
            max_attempts: 3,
            retry_interval: Duration::hours(2),
            not_placed_delay: Duration::seconds(30),
            concurrent_calls: 10,
        }
    }
}

impl CampaignPolicy {
    /// Whether a call may be placed at `t`.
    pub fn may_call_at(&self, cal: &WorkingCalendar, t: OffsetDateTime) -> bool {
        let local = t.to_offset(cal.offset());
        let minute = u16::from(local.hour()) * 60 + u16::from(local.minute());
        let (start, end) = self.calling_hours;
        (start..end).contains(&minute) && !(self.skip_holidays && cal.is_holiday(local.date()))
    }

    /// The earliest instant at or after `t` at which a call may be placed.
    pub fn next_call_time(&self, cal: &WorkingCalendar, t: OffsetDateTime) -> OffsetDateTime {
        if self.may_call_at(cal, t) {
            return utc(t);
        }
        let (start, end) = self.calling_hours;
        let local = t.to_offset(cal.offset());
        let minute = u16::from(local.hour()) * 60 + u16::from(local.minute());
        let mut day = local.date();
        // Today's window is still ahead only if we are before its start.
        if minute >= start || (self.skip_holidays && cal.is_holiday(day)) || start >= end {
            day = day.next_day().unwrap_or(day);
        }
        // A year of holidays at most; a calendar that is all holidays would
        // otherwise spin for ever.
        for _ in 0..400 {
            if !(self.skip_holidays && cal.is_holiday(day)) {
                break;
            }
            day = day.next_day().unwrap_or(day);
        }
        let at = Time::from_hms(u8::try_from(start / 60).unwrap_or(0), (start % 60) as u8, 0)
            .unwrap_or(Time::MIDNIGHT);
        utc(day.with_time(at).assume_offset(cal.offset()))
    }
}

/// A pending job whose time has come, as the planner sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DueJob {
    /// The job's id.
    pub id: String,
    /// When it became due.
    pub due_at: OffsetDateTime,
}

/// What to do now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    /// The jobs to call now, oldest due first.
    pub start: Vec<String>,
    /// When to plan again at the latest (`None`: only when a call ends or a
    /// job is added).
    pub wake_at: Option<OffsetDateTime>,
}

/// Which of the `due` jobs (due at or before `now`, oldest first) to start,
/// given `in_flight` calls already running, and when to look again;
/// `next_due` is the earliest due time of the pending jobs not yet due.
pub fn plan(
    policy: &CampaignPolicy,
    cal: &WorkingCalendar,
    now: OffsetDateTime,
    due: &[DueJob],
    next_due: Option<OffsetDateTime>,
    in_flight: u32,
) -> Plan {
    if !policy.may_call_at(cal, now) {
        let first = if due.is_empty() { next_due } else { Some(now) };
        return Plan {
            start: Vec::new(),
            wake_at: first.map(|t| policy.next_call_time(cal, t)),
        };
    }
    let room = policy.concurrent_calls.saturating_sub(in_flight) as usize;
    let mut ordered: Vec<&DueJob> = due.iter().filter(|j| j.due_at <= now).collect();
    ordered.sort_by(|a, b| a.due_at.cmp(&b.due_at).then(a.id.cmp(&b.id)));
    let start: Vec<String> = ordered.iter().take(room).map(|j| j.id.clone()).collect();
    let left_due = ordered.len() > start.len();
    Plan {
        start,
        // Due jobs left over wait for a call to end (which wakes the driver).
        wake_at: if left_due {
            None
        } else {
            next_due.map(|t| policy.next_call_time(cal, t))
        },
    }
}

/// How one attempt ended, as the campaign sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AttemptOutcome {
    /// The citizen pressed 1–5 and confirmed.
    Rated(u8),
    /// Answered but no valid key.
    NoRating,
    /// Busy.
    Busy,
    /// Not answered.
    NoAnswer,
    /// Any other failure.
    Failed,
    /// The server stopped while the call was under way (found at start-up).
    Interrupted,
    /// Not placed: no room on the trunk. Does not count.
    NotPlaced,
}

impl AttemptOutcome {
    /// Name for the attempt history.
    pub fn as_str(self) -> &'static str {
        match self {
            AttemptOutcome::Rated(_) => "rated",
            AttemptOutcome::NoRating => "no_rating",
            AttemptOutcome::Busy => "busy",
            AttemptOutcome::NoAnswer => "no_answer",
            AttemptOutcome::Failed => "failed",
            AttemptOutcome::Interrupted => "interrupted",
            AttemptOutcome::NotPlaced => "not_placed",
        }
    }
}

/// What happens to a job after an attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resolution {
    /// Done: record this rating on the order.
    Rated(u8),
    /// Call again from this time on; the attempt counted.
    RetryAt(OffsetDateTime),
    /// Call again from this time on; the attempt is given back.
    ReleaseUntil(OffsetDateTime),
    /// Out of attempts: the citizen is unreachable.
    Unreachable,
}

/// What `outcome` of an attempt means, `attempts_used` counting it. Retry
/// times are the earliest the rules allow; [`plan`] applies the calling
/// hours.
pub fn resolve(
    policy: &CampaignPolicy,
    now: OffsetDateTime,
    attempts_used: u32,
    outcome: AttemptOutcome,
) -> Resolution {
    match outcome {
        AttemptOutcome::Rated(score) if (1..=5).contains(&score) => Resolution::Rated(score),
        AttemptOutcome::NotPlaced => Resolution::ReleaseUntil(now + policy.not_placed_delay),
        _ if attempts_used >= policy.max_attempts.max(1) => Resolution::Unreachable,
        _ => Resolution::RetryAt(now + policy.retry_interval),
    }
}

/// Whether `order` still waits for the handling survey of `round`: replied,
/// in that round, not rated yet, and the citizen did not refuse contact. A
/// job whose order moved on (rated by hand, closed) is cancelled instead of
/// called.
pub fn survey_still_due(order: &WorkOrder, round: u8) -> bool {
    order.state == OrderState::Replied
        && order.round == round
        && order.handling_survey().is_none()
        && !order.no_reply_wanted()
}

/// The command that carries a resolution onto the order, if any: the
/// rating (`RecordSurvey`, which yields the callback task for a first-round
/// 4 or 5), or closing the order as unreachable.
pub fn order_command(resolution: Resolution, attempts: u32) -> Option<Command> {
    match resolution {
        Resolution::Rated(score) => Some(Command::RecordSurvey {
            stage: SurveyStage::Handling,
            score,
            via: "ivr".into(),
        }),
        Resolution::Unreachable => Some(Command::Close {
            reason: Some(format!(
                "handling survey: citizen unreachable after {attempts} attempts"
            )),
        }),
        Resolution::RetryAt(_) | Resolution::ReleaseUntil(_) => None,
    }
}

#[cfg(test)]
#[path = "survey_schedule_tests.rs"]
mod tests;
