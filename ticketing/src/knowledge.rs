//! The knowledge base's duties (§24–§25): articles owned by units, the
//! 7-working-day upload deadline after a policy takes effect, and gap
//! reports the unit must fix within 5 working days.
//!
//! The hotline registers a policy change as an [`Article`] owned by the unit
//! responsible, with the date it takes effect; the unit fills and publishes
//! it. Agents and the hotline report gaps ([`GapReport`]): a missing point,
//! wrong information, an article no longer valid. Overdue uploads and fixes
//! feed the supervision sweep (§26 (3)). Full-text search over `title` and
//! `body` is the store's job (trigram indexes), not this module's.

use serde::{Deserialize, Serialize};
use time::{Date, OffsetDateTime};

use crate::actor::{UnitId, UserId};
use crate::calendar::WorkingCalendar;
use crate::error::{DomainError, Result};
use crate::order::text;
use crate::topic::TopicCode;

/// Knowledge-base limits (`[tickets]` `kb_upload_within_days`,
/// `kb_fix_within_days`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KnowledgePolicy {
    /// Working days after a policy takes effect to upload it (§24: 7).
    pub upload_within_days: u32,
    /// Working days to fix a reported gap (§25: 5).
    pub fix_within_days: u32,
}

impl Default for KnowledgePolicy {
    fn default() -> Self {
        KnowledgePolicy {
            upload_within_days: 7,
            fix_within_days: 5,
        }
    }
}

impl KnowledgePolicy {
    /// Both limits must be positive.
    pub fn validate(&self) -> Result<()> {
        for (key, v) in [
            ("tickets.kb_upload_within_days", self.upload_within_days),
            ("tickets.kb_fix_within_days", self.fix_within_days),
        ] {
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

/// Where an article is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ArticleStatus {
    /// Registered, not yet published by the unit.
    Pending,
    /// Published: agents see it.
    Published,
    /// No longer valid (superseded policy); kept for the record.
    Withdrawn,
}

/// A knowledge article (知識點).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Article {
    /// Id given by the store.
    pub id: u64,
    /// The unit that owns and maintains it (§4, §24).
    pub unit: UnitId,
    /// Title.
    pub title: String,
    /// Text (may be empty while pending).
    pub body: String,
    /// Topic, for agents browsing by topic.
    #[serde(default)]
    pub topic: Option<TopicCode>,
    /// The local date the policy, law or guide takes effect (實施).
    pub effective_on: Date,
    /// Upload deadline: 7 working days after `effective_on`.
    #[serde(with = "time::serde::rfc3339")]
    pub upload_due: OffsetDateTime,
    /// Status.
    pub status: ArticleStatus,
    /// When first published.
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub published_at: Option<OffsetDateTime>,
    /// When last changed.
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
}

impl Article {
    /// Register an article for a policy taking effect on `effective_on`;
    /// the upload deadline follows §24 (the effective date is day 0).
    #[allow(clippy::too_many_arguments)]
    pub fn register(
        id: u64,
        unit: UnitId,
        title: &str,
        topic: Option<TopicCode>,
        effective_on: Date,
        now: OffsetDateTime,
        calendar: &WorkingCalendar,
        policy: &KnowledgePolicy,
    ) -> Result<Article> {
        text("title", title, true)?;
        let upload_due =
            calendar.end_of_day(calendar.add_working_days(effective_on, policy.upload_within_days));
        Ok(Article {
            id,
            unit,
            title: title.to_owned(),
            body: String::new(),
            topic,
            effective_on,
            upload_due,
            status: ArticleStatus::Pending,
            published_at: None,
            updated_at: crate::calendar::utc(now),
        })
    }

    /// Publish (or republish with new text) at `now`.
    pub fn publish(&mut self, title: &str, body: &str, now: OffsetDateTime) -> Result<()> {
        if self.status == ArticleStatus::Withdrawn {
            return Err(DomainError::validation(
                "status",
                "a withdrawn article cannot be published",
            ));
        }
        text("title", title, true)?;
        text("body", body, true)?;
        let now = crate::calendar::utc(now);
        self.title = title.to_owned();
        self.body = body.to_owned();
        self.status = ArticleStatus::Published;
        self.published_at.get_or_insert(now);
        self.updated_at = now;
        Ok(())
    }

    /// Withdraw an article that is no longer valid.
    pub fn withdraw(&mut self, now: OffsetDateTime) {
        let now = crate::calendar::utc(now);
        self.status = ArticleStatus::Withdrawn;
        self.updated_at = now;
    }

    /// Pending past its upload deadline at `now`.
    pub fn upload_overdue(&self, now: OffsetDateTime) -> bool {
        self.status == ArticleStatus::Pending && now >= self.upload_due
    }

    /// Published after its deadline (counted in reports).
    pub fn uploaded_late(&self) -> bool {
        self.published_at.is_some_and(|p| p >= self.upload_due)
    }
}

/// What is wrong with the knowledge base (§25).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GapKind {
    /// 知識點空缺: nothing on the matter.
    Missing,
    /// 信息不準確.
    Inaccurate,
    /// 知識無效: out of date.
    Invalid,
}

/// A reported gap, to be fixed by the unit within 5 working days.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GapReport {
    /// Id given by the store.
    pub id: u64,
    /// The unit that must fix it.
    pub unit: UnitId,
    /// The article concerned, if any (none for a missing point).
    #[serde(default)]
    pub article_id: Option<u64>,
    /// What kind of gap.
    pub kind: GapKind,
    /// What is missing or wrong.
    pub description: String,
    /// Who reported it.
    pub reported_by: UserId,
    /// When.
    #[serde(with = "time::serde::rfc3339")]
    pub reported_at: OffsetDateTime,
    /// Fix by (5 working days, §25).
    #[serde(with = "time::serde::rfc3339")]
    pub fix_due: OffsetDateTime,
    /// When the unit fixed it.
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub fixed_at: Option<OffsetDateTime>,
}

impl GapReport {
    /// Report a gap at `now`.
    #[allow(clippy::too_many_arguments)]
    pub fn report(
        id: u64,
        unit: UnitId,
        article_id: Option<u64>,
        kind: GapKind,
        description: &str,
        reported_by: UserId,
        now: OffsetDateTime,
        calendar: &WorkingCalendar,
        policy: &KnowledgePolicy,
    ) -> Result<GapReport> {
        text("description", description, true)?;
        if kind != GapKind::Missing && article_id.is_none() {
            return Err(DomainError::validation(
                "article_id",
                "an inaccurate or invalid point names its article",
            ));
        }
        Ok(GapReport {
            id,
            unit,
            article_id,
            kind,
            description: description.to_owned(),
            reported_by,
            reported_at: crate::calendar::utc(now),
            fix_due: calendar.working_days_deadline(now, policy.fix_within_days),
            fixed_at: None,
        })
    }

    /// The unit fixed it.
    pub fn mark_fixed(&mut self, now: OffsetDateTime) {
        self.fixed_at.get_or_insert(crate::calendar::utc(now));
    }

    /// Unfixed past its deadline at `now`.
    pub fn overdue(&self, now: OffsetDateTime) -> bool {
        self.fixed_at.is_none() && now >= self.fix_due
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::calendar::tests::prc_2026;
    use time::macros::{date, datetime};

    #[test]
    fn upload_deadline_is_seven_working_days_after_effect() {
        let c = prc_2026();
        let p = KnowledgePolicy::default();
        // Takes effect Monday 28 September 2026: 29, 30, then 8, 9, 10 (make-up
        // Saturday), 12, 13 October.
        let now = datetime!(2026-09-20 10:00 +8);
        let mut a = Article::register(
            1,
            UnitId::new("hrss"),
            "社保卡补办新规",
            None,
            date!(2026 - 09 - 28),
            now,
            &c,
            &p,
        )
        .unwrap();
        assert_eq!(a.upload_due, datetime!(2026-10-14 00:00 +8));
        assert!(!a.upload_overdue(datetime!(2026-10-13 23:59 +8)));
        assert!(a.upload_overdue(datetime!(2026-10-14 00:00 +8)));
        a.publish(
            "社保卡补办新规",
            "办理社保卡补办需携带身份证。",
            datetime!(2026-10-14 09:00 +8),
        )
        .unwrap();
        assert!(!a.upload_overdue(datetime!(2026-10-20 00:00 +8)));
        assert!(a.uploaded_late());
        a.withdraw(datetime!(2026-11-01 09:00 +8));
        assert!(a.publish("x", "y", datetime!(2026-11-02 09:00 +8)).is_err());
    }

    #[test]
    fn gap_fix_deadline_is_five_working_days() {
        let c = prc_2026();
        let p = KnowledgePolicy::default();
        // Reported Wednesday 30 December 2026: 31 Dec, then 4-7 January 2027.
        let mut g = GapReport::report(
            9,
            UnitId::new("hrss"),
            Some(1),
            GapKind::Inaccurate,
            "补办地点已搬迁",
            UserId::new("1001"),
            datetime!(2026-12-30 15:00 +8),
            &c,
            &p,
        )
        .unwrap();
        assert_eq!(g.fix_due, datetime!(2027-01-08 00:00 +8));
        assert!(g.overdue(datetime!(2027-01-08 00:00 +8)));
        g.mark_fixed(datetime!(2027-01-08 10:00 +8));
        assert!(!g.overdue(datetime!(2027-02-01 00:00 +8)));
        let e = GapReport::report(
            10,
            UnitId::new("u"),
            None,
            GapKind::Invalid,
            "x",
            UserId::new("1"),
            datetime!(2026-12-30 15:00 +8),
            &c,
            &p,
        )
        .unwrap_err();
        assert_eq!(e.field(), Some("article_id"));
    }

    #[test]
    fn serde_round_trips() {
        let c = prc_2026();
        let p = KnowledgePolicy::default();
        let now = datetime!(2026-03-02 09:00 +8);
        let a = Article::register(
            1,
            UnitId::new("hrss"),
            "社保卡",
            None,
            date!(2026 - 03 - 02),
            now,
            &c,
            &p,
        )
        .unwrap();
        let v = serde_json::to_value(&a).unwrap();
        assert_eq!(v["status"], "pending");
        assert_eq!(v["effective_on"], "2026-03-02");
        assert_eq!(serde_json::from_value::<Article>(v).unwrap(), a);
        let g = GapReport::report(
            2,
            UnitId::new("hrss"),
            None,
            GapKind::Missing,
            "缺",
            UserId::new("1001"),
            now,
            &c,
            &p,
        )
        .unwrap();
        let v = serde_json::to_value(&g).unwrap();
        assert_eq!(v["kind"], "missing");
        assert_eq!(serde_json::from_value::<GapReport>(v).unwrap(), g);
    }
}
