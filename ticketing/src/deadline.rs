//! Time limits of §17 and how they are set on an order.
//!
//! | limit | measure | counted from | default |
//! |---|---|---|---|
//! | sign (簽收) | §17.1 | dispatch | 24 hours |
//! | respond and contact the citizen | §17.1 | signing | 30 minutes |
//! | request a return (退回) | §17.7 | dispatch ("receipt") | 1 working day |
//! | complete (辦結) | §17.1 | dispatch | 2 / 4 / 10 working days by category, or a stricter legal limit |
//! | extension | §17.4 | the old completion deadline | the same length again, once |
//! | redo after a dissatisfied callback | §21 | the redo | the category's limit again |
//! | reply to the citizen and feed back | §17.2 | completion | 1 working day |
//!
//! Working-day limits are computed with
//! [`WorkingCalendar::working_days_deadline`] (day of arrival not counted,
//! deadline at 24:00 of the last day); hour limits with
//! [`WorkingCalendar::add_minutes`] on the configured [`HourBasis`].

use serde::{Deserialize, Serialize};
use time::{Duration, OffsetDateTime};

use crate::calendar::{HourBasis, WorkingCalendar};
use crate::error::{DomainError, Result};
use crate::order::Category;

/// The deadline policy (`[tickets]` limits); [`Default`] is §17 as written.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeadlinePolicy {
    /// Minutes to sign after dispatch (24 h).
    pub sign_within_minutes: u32,
    /// Minutes to respond and contact the citizen after signing (30).
    pub respond_within_minutes: u32,
    /// How the two limits above are counted.
    pub hour_basis: HourBasis,
    /// Working days to complete, per category (2, 4, 10, 10, 10, 10).
    pub complete_within_days: CompletionDays,
    /// Working days to reply and feed back after completion (1).
    pub reply_within_days: u32,
    /// Working days after dispatch in which a return may be requested (1).
    pub return_within_days: u32,
}

impl Default for DeadlinePolicy {
    fn default() -> Self {
        DeadlinePolicy {
            sign_within_minutes: 24 * 60,
            respond_within_minutes: 30,
            hour_basis: HourBasis::Clock,
            complete_within_days: CompletionDays::default(),
            reply_within_days: 1,
            return_within_days: 1,
        }
    }
}

/// Working days to complete, per category (§17.1).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CompletionDays {
    /// 諮詢: 2.
    pub consultation: u32,
    /// 求助: 4.
    pub help: u32,
    /// 投訴: 10.
    pub complaint: u32,
    /// 舉報: 10.
    pub report: u32,
    /// 建議: 10.
    pub suggestion: u32,
    /// 表揚: not in §17.1; 10 like the other opinions.
    pub praise: u32,
}

impl Default for CompletionDays {
    fn default() -> Self {
        CompletionDays {
            consultation: 2,
            help: 4,
            complaint: 10,
            report: 10,
            suggestion: 10,
            praise: 10,
        }
    }
}

impl CompletionDays {
    /// The limit of `category`.
    pub fn of(&self, category: Category) -> u32 {
        match category {
            Category::Consultation => self.consultation,
            Category::Help => self.help,
            Category::Complaint => self.complaint,
            Category::Report => self.report,
            Category::Suggestion => self.suggestion,
            Category::Praise => self.praise,
        }
    }
}

impl DeadlinePolicy {
    /// Check the policy; errors name `tickets.*` keys.
    pub fn validate(&self) -> Result<()> {
        let c = &self.complete_within_days;
        let checks = [
            ("tickets.sign_within_minutes", self.sign_within_minutes),
            (
                "tickets.respond_within_minutes",
                self.respond_within_minutes,
            ),
            ("tickets.reply_within_days", self.reply_within_days),
            ("tickets.return_within_days", self.return_within_days),
            ("tickets.complete_within_days.consultation", c.consultation),
            ("tickets.complete_within_days.help", c.help),
            ("tickets.complete_within_days.complaint", c.complaint),
            ("tickets.complete_within_days.report", c.report),
            ("tickets.complete_within_days.suggestion", c.suggestion),
            ("tickets.complete_within_days.praise", c.praise),
        ];
        for (key, v) in checks {
            if v == 0 {
                return Err(DomainError::Setting {
                    key: key.into(),
                    message: "must be greater than 0".into(),
                });
            }
        }
        Ok(())
    }
}

/// A statutory time limit stricter than §17.1 (因法律、法規、規章規定的期限嚴於
/// 上述期限的,辦理期限從其規定), entered on the order by the agent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LegalDeadline {
    /// The limit.
    pub limit: LegalLimit,
    /// The law, regulation or rule that sets it.
    pub basis: String,
}

/// How a statutory limit is expressed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "unit", content = "value")]
pub enum LegalLimit {
    /// N working days (工作日).
    WorkingDays(u32),
    /// N calendar days (自然日), ending at 24:00 local of the N-th day after
    /// arrival.
    CalendarDays(u32),
}

impl LegalDeadline {
    /// Check the entry; errors are under `field`.
    pub fn validate(&self, field: &str) -> Result<()> {
        let n = match self.limit {
            LegalLimit::WorkingDays(n) | LegalLimit::CalendarDays(n) => n,
        };
        if n == 0 || n > 366 {
            return Err(DomainError::validation(
                format!("{field}.limit"),
                "must be 1 to 366 days",
            ));
        }
        if self.basis.trim().is_empty() {
            return Err(DomainError::validation(
                format!("{field}.basis"),
                "name the law or rule that sets the limit",
            ));
        }
        Ok(())
    }

    /// The deadline for something that arrived at `from`.
    pub fn deadline(&self, from: OffsetDateTime, calendar: &WorkingCalendar) -> OffsetDateTime {
        match self.limit {
            LegalLimit::WorkingDays(n) => calendar.working_days_deadline(from, n),
            LegalLimit::CalendarDays(n) => {
                let d = calendar.local_date(from) + Duration::days(i64::from(n));
                calendar.end_of_day(d)
            }
        }
    }
}

/// The deadlines of an order; `None` where the stage has not started.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Deadlines {
    /// Sign by (from dispatch).
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub sign_by: Option<OffsetDateTime>,
    /// Respond and contact the citizen by (from signing).
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub respond_by: Option<OffsetDateTime>,
    /// Last moment to request a return (from dispatch).
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub return_by: Option<OffsetDateTime>,
    /// Complete by (from dispatch, moved by an extension or a redo).
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub complete_by: Option<OffsetDateTime>,
    /// Working days the completion limit was computed with (the same length
    /// is granted again by an extension); `None` when a legal limit in
    /// calendar days applies.
    #[serde(default)]
    pub complete_days: Option<u32>,
    /// Reply and feed back by (from completion).
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub reply_by: Option<OffsetDateTime>,
}

/// The completion deadline and its length in working days for an order of
/// `category` (with an optional legal limit) received at `from`: the
/// stricter of the two.
pub fn completion_deadline(
    policy: &DeadlinePolicy,
    category: Category,
    legal: Option<&LegalDeadline>,
    from: OffsetDateTime,
    calendar: &WorkingCalendar,
) -> (OffsetDateTime, Option<u32>) {
    let days = policy.complete_within_days.of(category);
    let normal = calendar.working_days_deadline(from, days);
    match legal {
        Some(l) => {
            let strict = l.deadline(from, calendar);
            if strict < normal {
                let days = match l.limit {
                    LegalLimit::WorkingDays(n) => Some(n),
                    LegalLimit::CalendarDays(_) => None,
                };
                (strict, days)
            } else {
                (normal, Some(days))
            }
        }
        None => (normal, Some(days)),
    }
}

/// The completion deadline after an approved extension (§17.4: "延期的時限和
/// 辦理期限相同"): `days` more working days counted from the last day of the
/// old deadline, or, for a calendar-day legal limit (`days == None`), the
/// same span again.
pub fn extended_deadline(
    old: OffsetDateTime,
    days: Option<u32>,
    started: OffsetDateTime,
    calendar: &WorkingCalendar,
) -> OffsetDateTime {
    match days {
        // `old` is 24:00 of the last day, i.e. 00:00 of the next: step back
        // into the last day before counting on.
        Some(n) => calendar.working_days_deadline(old - Duration::seconds(1), n),
        None => old + (old - started),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::calendar::tests::prc_2026;
    use time::macros::datetime;

    #[test]
    fn completion_by_category() {
        let c = prc_2026();
        let p = DeadlinePolicy::default();
        // Dispatched Friday 13 February 2026, the day before the make-up
        // Saturday and the Spring Festival.
        let from = datetime!(2026-02-13 16:00 +8);
        let want = [
            (Category::Consultation, datetime!(2026-02-25 00:00 +8)), // 14th, 24th
            (Category::Help, datetime!(2026-02-27 00:00 +8)),         // .., 26th
            (Category::Complaint, datetime!(2026-03-06 00:00 +8)),    // 14,24..27,28,2..5
        ];
        for (cat, deadline) in want {
            assert_eq!(
                completion_deadline(&p, cat, None, from, &c).0,
                deadline,
                "{cat:?}"
            );
        }
    }

    #[test]
    fn stricter_legal_limit_wins() {
        let c = prc_2026();
        let p = DeadlinePolicy::default();
        let from = datetime!(2026-03-02 10:00 +8); // Monday
        let legal = LegalDeadline {
            limit: LegalLimit::WorkingDays(7),
            basis: "《消费者权益保护法》".into(),
        };
        let (d, n) = completion_deadline(&p, Category::Complaint, Some(&legal), from, &c);
        assert_eq!((d, n), (datetime!(2026-03-12 00:00 +8), Some(7)));
        // A looser legal limit does not extend §17.1's.
        let loose = LegalDeadline {
            limit: LegalLimit::CalendarDays(30),
            basis: "x".into(),
        };
        let (d, n) = completion_deadline(&p, Category::Consultation, Some(&loose), from, &c);
        assert_eq!((d, n), (datetime!(2026-03-05 00:00 +8), Some(2)));
        let cal = LegalDeadline {
            limit: LegalLimit::CalendarDays(3),
            basis: "x".into(),
        };
        let (d, n) = completion_deadline(&p, Category::Help, Some(&cal), from, &c);
        assert_eq!((d, n), (datetime!(2026-03-06 00:00 +8), None));
    }

    #[test]
    fn legal_limit_validation_and_serde() {
        let l = LegalDeadline {
            limit: LegalLimit::WorkingDays(0),
            basis: "x".into(),
        };
        assert_eq!(
            l.validate("details.legal_deadline").unwrap_err().field(),
            Some("details.legal_deadline.limit")
        );
        let l = LegalDeadline {
            limit: LegalLimit::CalendarDays(7),
            basis: "".into(),
        };
        assert!(l.validate("d").is_err());
        let json = serde_json::to_value(LegalLimit::WorkingDays(7)).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"unit": "working_days", "value": 7})
        );
    }

    #[test]
    fn extension_is_the_same_length_again() {
        let c = prc_2026();
        // Help order dispatched Monday 2 March: deadline end of Friday 6th;
        // extended by 4 working days: end of Thursday 12th.
        let from = datetime!(2026-03-02 10:00 +8);
        let (d, n) =
            completion_deadline(&DeadlinePolicy::default(), Category::Help, None, from, &c);
        assert_eq!(d, datetime!(2026-03-07 00:00 +8));
        assert_eq!(
            extended_deadline(d, n, from, &c),
            datetime!(2026-03-13 00:00 +8)
        );
        // Across the National Day holiday: consultation dispatched Tuesday
        // 29 September ends with the 30th and 8 October; extended: 9 and 10
        // (make-up Saturday).
        let from = datetime!(2026-09-29 10:00 +8);
        let (d, n) = completion_deadline(
            &DeadlinePolicy::default(),
            Category::Consultation,
            None,
            from,
            &c,
        );
        assert_eq!(d, datetime!(2026-10-09 00:00 +8));
        assert_eq!(
            extended_deadline(d, n, from, &c),
            datetime!(2026-10-11 00:00 +8)
        );
        // Calendar-day limit: the same span again.
        let start = datetime!(2026-03-02 10:00 +8);
        let old = datetime!(2026-03-06 00:00 +8);
        assert_eq!(
            extended_deadline(old, None, start, &c),
            datetime!(2026-03-09 14:00 +8)
        );
    }

    #[test]
    fn policy_rejects_zero() {
        let mut p = DeadlinePolicy::default();
        assert!(p.validate().is_ok());
        p.complete_within_days.help = 0;
        let e = p.validate().unwrap_err();
        assert!(
            e.to_string().contains("tickets.complete_within_days.help"),
            "{e}"
        );
    }
}
