//! The supervision sweep (督辦, §26): a pure function of the orders, the
//! knowledge base and `now` that says which supervision records to raise.
//!
//! The binary runs [`sweep`] on a timer (every few minutes) with the open
//! orders' [`OrderSummary`]s, recent orders for the repeat check, pending
//! articles and open gap reports, and a predicate telling which record keys
//! are already stored. It stores what comes back. Running the sweep twice on
//! the same input raises nothing the second time.
//!
//! # What is raised
//!
//! | kind | when | §26 |
//! |---|---|---|
//! | `overdue_sign` | dispatched, not signed by `sign_by` | (1) |
//! | `overdue_response` | signed, no response by `respond_by` | (1) |
//! | `overdue_completion` | with the unit, not completed by `complete_by` | (1) |
//! | `overdue_reply` | completed, no reply by `reply_by` | (1) |
//! | `repeated_matter` | one caller number, same category and topic, `repeat_threshold`+ orders within `repeat_window_days` | (2) |
//! | `knowledge_upload` | article pending past its upload deadline | (3) |
//! | `knowledge_fix` | gap report unfixed past its deadline | (3) |
//!
//! # Tiers
//!
//! §26 has the district and the city hotline agencies supervise by level. A
//! miss is raised at the **district** tier as soon as it happens; once it is
//! `city_after_hours` hours late (sign, response) or `city_after_days` whole
//! working days late (completion, reply, knowledge), it is raised again at
//! the **city** tier. Repeated matters start at the district tier and go to
//! the city at twice the threshold.
//!
//! # Keys (idempotence)
//!
//! A record's key names what was missed and the deadline missed, plus the
//! tier: `overdue_sign:MM20260105000001:1767661200:district`. A sweep never
//! returns a record whose key is already raised. A new deadline (after an
//! extension, a redo, a re-dispatch) is a new miss with a new key; an
//! escalation is a new record at the city tier. Repeated matters are keyed by
//! the order that reached the threshold, so a fourth call in the same
//! episode raises nothing new.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use time::{Duration, OffsetDateTime};

use crate::actor::UnitId;
use crate::calendar::WorkingCalendar;
use crate::error::{DomainError, Result};
use crate::knowledge::{Article, GapReport};
use crate::lifecycle::OrderState;
use crate::number::OrderNumber;
use crate::order::{Category, WorkOrder};
use crate::topic::TopicCode;

/// Supervision thresholds (`[tickets]` `supervision_*` keys).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SupervisionPolicy {
    /// Hours late after which a missed sign or response goes to the city.
    pub city_after_hours: u32,
    /// Whole working days late after which a missed completion, reply or
    /// knowledge deadline goes to the city.
    pub city_after_days: u32,
    /// Orders from one caller on one matter that make a repeat (3).
    pub repeat_threshold: u32,
    /// Days (calendar) over which repeats are counted (30).
    pub repeat_window_days: u32,
}

impl Default for SupervisionPolicy {
    fn default() -> Self {
        SupervisionPolicy {
            city_after_hours: 24,
            city_after_days: 3,
            repeat_threshold: 3,
            repeat_window_days: 30,
        }
    }
}

impl SupervisionPolicy {
    /// Thresholds must be positive; a repeat needs at least two orders.
    pub fn validate(&self) -> Result<()> {
        let bad = |key: &str, message: &str| {
            Err(DomainError::Setting {
                key: key.into(),
                message: message.into(),
            })
        };
        if self.city_after_hours == 0 {
            return bad(
                "tickets.supervision_city_after_hours",
                "must be greater than 0",
            );
        }
        if self.city_after_days == 0 {
            return bad(
                "tickets.supervision_city_after_days",
                "must be greater than 0",
            );
        }
        if self.repeat_threshold < 2 {
            return bad("tickets.repeat_threshold", "must be at least 2");
        }
        if self.repeat_window_days == 0 {
            return bad("tickets.repeat_window_days", "must be greater than 0");
        }
        Ok(())
    }
}

/// What a record is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SupervisionKind {
    /// Not signed within 24 h.
    OverdueSign,
    /// No response within 30 min of signing.
    OverdueResponse,
    /// Not completed in time.
    OverdueCompletion,
    /// No reply/feedback within 1 working day of completion.
    OverdueReply,
    /// The same caller raised the same matter repeatedly.
    RepeatedMatter,
    /// A policy's article was not uploaded in time.
    KnowledgeUpload,
    /// A knowledge gap was not fixed in time.
    KnowledgeFix,
}

impl SupervisionKind {
    /// Snake-case name, as in JSON and in keys.
    pub fn as_str(self) -> &'static str {
        match self {
            SupervisionKind::OverdueSign => "overdue_sign",
            SupervisionKind::OverdueResponse => "overdue_response",
            SupervisionKind::OverdueCompletion => "overdue_completion",
            SupervisionKind::OverdueReply => "overdue_reply",
            SupervisionKind::RepeatedMatter => "repeated_matter",
            SupervisionKind::KnowledgeUpload => "knowledge_upload",
            SupervisionKind::KnowledgeFix => "knowledge_fix",
        }
    }
}

/// The supervising level (§3, §26).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Tier {
    /// The district (区/县级市/功能区) hotline agency.
    District,
    /// The city hotline agency.
    City,
}

impl Tier {
    /// Snake-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Tier::District => "district",
            Tier::City => "city",
        }
    }
}

/// A supervision record to store and show.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SupervisionRecord {
    /// Idempotence key (see the module docs).
    pub key: String,
    /// What was missed.
    pub kind: SupervisionKind,
    /// Who supervises.
    pub tier: Tier,
    /// The order concerned (the triggering one for repeats).
    #[serde(default)]
    pub order: Option<OrderNumber>,
    /// For repeats: every order of the episode in the window.
    #[serde(default)]
    pub related_orders: Vec<OrderNumber>,
    /// The article or gap report concerned.
    #[serde(default)]
    pub knowledge_id: Option<u64>,
    /// The unit supervised.
    #[serde(default)]
    pub unit: Option<UnitId>,
    /// The district of the matter, for the district tier.
    #[serde(default)]
    pub district: Option<String>,
    /// The deadline missed.
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub deadline: Option<OffsetDateTime>,
    /// Minutes past the deadline at `raised_at`.
    pub late_minutes: i64,
    /// Whole working days past the deadline at `raised_at`.
    pub late_working_days: u32,
    /// When the sweep raised it.
    #[serde(with = "time::serde::rfc3339")]
    pub raised_at: OffsetDateTime,
}

/// What the sweep needs of an order (the store can build it from columns).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderSummary {
    /// Number.
    pub number: OrderNumber,
    /// State.
    pub state: OrderState,
    /// Category.
    pub category: Category,
    /// Topic.
    pub topic: TopicCode,
    /// Caller's number, if known.
    #[serde(default)]
    pub caller_number: Option<String>,
    /// District of the matter.
    #[serde(default)]
    pub district: Option<String>,
    /// Lead unit, if dispatched.
    #[serde(default)]
    pub lead: Option<UnitId>,
    /// When opened.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// Sign by.
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub sign_by: Option<OffsetDateTime>,
    /// Respond by.
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub respond_by: Option<OffsetDateTime>,
    /// Complete by.
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub complete_by: Option<OffsetDateTime>,
    /// Reply by.
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub reply_by: Option<OffsetDateTime>,
}

impl OrderSummary {
    /// The summary of a full order.
    pub fn of(o: &WorkOrder) -> OrderSummary {
        OrderSummary {
            number: o.number.clone(),
            state: o.state,
            category: o.details.category,
            topic: o.details.topic.clone(),
            caller_number: o.details.caller.number.clone(),
            district: o.details.address.as_ref().and_then(|a| a.district.clone()),
            lead: o.assignment.as_ref().map(|a| a.lead.clone()),
            created_at: o.created_at,
            sign_by: o.deadlines.sign_by,
            respond_by: o.deadlines.respond_by,
            complete_by: o.deadlines.complete_by,
            reply_by: o.deadlines.reply_by,
        }
    }
}

/// Everything a sweep looks at.
#[derive(Debug, Clone, Copy)]
pub struct SweepInput<'a> {
    /// Orders to check: the open ones, plus every order created within the
    /// repeat window (for repeats). Order does not matter.
    pub orders: &'a [OrderSummary],
    /// Articles (only pending ones matter).
    pub articles: &'a [Article],
    /// Gap reports (only unfixed ones matter).
    pub gaps: &'a [GapReport],
}

/// Run the sweep at `now`: every record that is due and whose key
/// `is_raised` does not know. Records come out sorted by key.
pub fn sweep(
    input: SweepInput<'_>,
    now: OffsetDateTime,
    calendar: &WorkingCalendar,
    policy: &SupervisionPolicy,
    is_raised: impl Fn(&str) -> bool,
) -> Vec<SupervisionRecord> {
    let now = crate::calendar::utc(now);
    let mut out = Vec::new();
    // Keys raised in this sweep: an order listed twice in the input must
    // not raise twice.
    let mut seen = std::collections::HashSet::new();
    let mut push = |r: SupervisionRecord| {
        if !is_raised(&r.key) && seen.insert(r.key.clone()) {
            out.push(r);
        }
    };
    for o in input.orders {
        let checks = [
            (
                SupervisionKind::OverdueSign,
                o.state == OrderState::Dispatched,
                o.sign_by,
                true,
            ),
            (
                SupervisionKind::OverdueResponse,
                o.state == OrderState::Signed,
                o.respond_by,
                true,
            ),
            (
                SupervisionKind::OverdueCompletion,
                matches!(
                    o.state,
                    OrderState::Dispatched | OrderState::Signed | OrderState::InProgress
                ),
                o.complete_by,
                false,
            ),
            (
                SupervisionKind::OverdueReply,
                o.state == OrderState::Completed,
                o.reply_by,
                false,
            ),
        ];
        for (kind, applies, deadline, hours) in checks {
            let Some(deadline) = deadline.filter(|d| applies && now >= *d) else {
                continue;
            };
            let subject = o.number.to_string();
            push(overdue(
                kind,
                &subject,
                deadline,
                hours,
                now,
                calendar,
                policy,
                |r| {
                    r.order = Some(o.number.clone());
                    r.unit = o.lead.clone();
                    r.district = o.district.clone();
                },
            ));
        }
    }
    for r in repeats(input.orders, now, policy) {
        push(r);
    }
    for a in input.articles.iter().filter(|a| a.upload_overdue(now)) {
        push(overdue(
            SupervisionKind::KnowledgeUpload,
            &format!("article-{}", a.id),
            a.upload_due,
            false,
            now,
            calendar,
            policy,
            |r| {
                r.knowledge_id = Some(a.id);
                r.unit = Some(a.unit.clone());
            },
        ));
    }
    for g in input.gaps.iter().filter(|g| g.overdue(now)) {
        push(overdue(
            SupervisionKind::KnowledgeFix,
            &format!("gap-{}", g.id),
            g.fix_due,
            false,
            now,
            calendar,
            policy,
            |r| {
                r.knowledge_id = Some(g.id);
                r.unit = Some(g.unit.clone());
            },
        ));
    }
    out.sort_by(|a, b| a.key.cmp(&b.key));
    out
}

/// A record for a missed deadline, at the tier its lateness calls for.
#[allow(clippy::too_many_arguments)]
fn overdue(
    kind: SupervisionKind,
    subject: &str,
    deadline: OffsetDateTime,
    hour_limit: bool,
    now: OffsetDateTime,
    calendar: &WorkingCalendar,
    policy: &SupervisionPolicy,
    fill: impl FnOnce(&mut SupervisionRecord),
) -> SupervisionRecord {
    let late = now - deadline;
    let late_days = calendar.whole_working_days_between(deadline, now);
    let city = if hour_limit {
        late >= Duration::hours(i64::from(policy.city_after_hours))
    } else {
        late_days >= policy.city_after_days
    };
    let tier = if city { Tier::City } else { Tier::District };
    let mut r = SupervisionRecord {
        key: format!(
            "{}:{subject}:{}:{}",
            kind.as_str(),
            deadline.unix_timestamp(),
            tier.as_str()
        ),
        kind,
        tier,
        order: None,
        related_orders: Vec::new(),
        knowledge_id: None,
        unit: None,
        district: None,
        deadline: Some(deadline),
        late_minutes: late.whole_minutes(),
        late_working_days: late_days,
        raised_at: now,
    };
    fill(&mut r);
    r
}

/// A caller number in national form, digits only, so that
/// `+86 138-0013-8000`, `008613800138000` and `13800138000` are one caller
/// (and `+86 668 1234567` is the landline `06681234567`).
pub fn normalise_number(n: &str) -> String {
    let digits: String = n.chars().filter(char::is_ascii_digit).collect();
    let national = digits.strip_prefix("0086").or_else(|| {
        digits
            .strip_prefix("86")
            .filter(|_| n.trim_start().starts_with('+') || digits.len() > 11)
    });
    match national {
        Some(rest) if rest.starts_with('1') => rest.to_owned(),
        Some(rest) => format!("0{rest}"),
        None => digits,
    }
}

/// Repeated matters: per (caller, category, topic), walk the orders in time
/// order with a sliding window; an episode starts when the window first
/// holds `repeat_threshold` orders (district tier) and escalates when it
/// holds twice that (city tier). Only episodes triggered within the last
/// window before `now` are reported.
fn repeats(
    orders: &[OrderSummary],
    now: OffsetDateTime,
    policy: &SupervisionPolicy,
) -> Vec<SupervisionRecord> {
    let window = Duration::days(i64::from(policy.repeat_window_days));
    let mut groups: BTreeMap<(String, Category, &TopicCode), Vec<&OrderSummary>> = BTreeMap::new();
    for o in orders {
        let Some(n) = o.caller_number.as_deref().map(normalise_number) else {
            continue;
        };
        if n.is_empty() || o.created_at > now {
            continue;
        }
        groups.entry((n, o.category, &o.topic)).or_default().push(o);
    }
    let threshold = policy.repeat_threshold as usize;
    let mut out = Vec::new();
    for ((caller, category, topic), mut list) in groups {
        list.sort_by(|a, b| {
            a.created_at
                .cmp(&b.created_at)
                .then(a.number.cmp(&b.number))
        });
        list.dedup_by(|a, b| a.number == b.number);
        let mut start = 0;
        let mut reached = (false, false);
        for end in 0..list.len() {
            while list[end].created_at - list[start].created_at > window {
                start += 1;
            }
            let count = end - start + 1;
            if count < threshold {
                reached = (false, false);
                continue;
            }
            let trigger = list[end];
            let tiers = [
                (Tier::District, !reached.0),
                (Tier::City, count >= 2 * threshold && !reached.1),
            ];
            reached = (true, reached.1 || count >= 2 * threshold);
            if now - trigger.created_at > window {
                continue;
            }
            for (tier, new) in tiers {
                if !new {
                    continue;
                }
                out.push(SupervisionRecord {
                    key: format!(
                        "repeated_matter:{caller}:{}:{topic}:{}:{}",
                        category.as_str(),
                        trigger.number,
                        tier.as_str()
                    ),
                    kind: SupervisionKind::RepeatedMatter,
                    tier,
                    order: Some(trigger.number.clone()),
                    related_orders: list[start..=end].iter().map(|o| o.number.clone()).collect(),
                    knowledge_id: None,
                    unit: trigger.lead.clone(),
                    district: trigger.district.clone(),
                    deadline: None,
                    late_minutes: 0,
                    late_working_days: 0,
                    raised_at: now,
                });
            }
        }
    }
    out
}

#[cfg(test)]
#[test]
fn numbers_normalise_to_national_form() {
    for (raw, want) in [
        ("13800138000", "13800138000"),
        ("+86 138-0013-8000", "13800138000"),
        ("008613800138000", "13800138000"),
        ("8613800138000", "13800138000"),
        ("+86 668 1234567", "06681234567"),
        ("0668-1234567", "06681234567"),
        ("12345", "12345"),
    ] {
        assert_eq!(normalise_number(raw), want, "{raw}");
    }
}

#[cfg(test)]
#[path = "supervision_tests.rs"]
mod tests;
