//! The work order (工单, §15) and what is written on it.
//!
//! §15 asks the order to record "the caller's basic information, the matter
//! accepted, and its acceptance, handling, reply, callback and supervision".
//! [`OrderDetails`] is what the agent (or the web form, or the provincial
//! platform) enters; [`WorkOrder`] adds what the process writes: state,
//! assignment, deadlines, extension, return, result, reply, surveys, callback.
//! Only [`crate::lifecycle::apply`] changes a `WorkOrder` after it is opened;
//! the store persists what it returns.
//!
//! All timestamps are stored in UTC and serialised as RFC 3339
//! (`2026-03-06T16:00:00Z`), whatever offset the caller's `now` had, so that
//! they compare correctly as text; the calendar turns them into local dates
//! where the measures count days.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::actor::{Actor, UnitId, UserId};
use crate::deadline::{Deadlines, LegalDeadline};
use crate::emergency::EmergencyLinkage;
use crate::error::{DomainError, Result};
use crate::lifecycle::{LegalChannel, OrderState, RefusalReason};
use crate::number::OrderNumber;
use crate::topic::{TopicCode, TopicTree};

pub use crate::progress::{
    Assignment, Callback, Decision, DissatisfactionCause, Extension, HandlingResult,
    MaterialRefusal, Outcome, Reply, ReturnRequest, SurveyRecord, SurveyStage, Timeliness,
};

/// Longest free text accepted in a description, reason or reply (characters).
pub const MAX_TEXT_CHARS: usize = 10_000;

/// How the matter reached the hotline (§2, §12).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    /// A call to 12345.
    Phone,
    /// The web site.
    Web,
    /// The mobile app.
    App,
    /// The WeChat official account.
    Wechat,
    /// Forwarded by the provincial consultation and complaint platform
    /// (§12 (6)).
    ProvincialPlatform,
}

/// What kind of matter it is (§12, §17.1). The category fixes the handling
/// time limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Category {
    /// 諮詢: a question about policy or public services (2 working days).
    Consultation,
    /// 求助: a request for something to be solved (4 working days).
    Help,
    /// 投訴: a complaint (10 working days).
    Complaint,
    /// 舉報: a report of wrongdoing (10 working days).
    Report,
    /// 建議: a suggestion (10 working days).
    Suggestion,
    /// 表揚: praise of a unit or its staff.
    Praise,
}

impl Category {
    /// Every category, in declaration order.
    pub const ALL: [Category; 6] = [
        Category::Consultation,
        Category::Help,
        Category::Complaint,
        Category::Report,
        Category::Suggestion,
        Category::Praise,
    ];

    /// Complaints and reports: the categories whose caller identity is
    /// protected from the unit or person complained about (§29).
    pub fn protects_caller(self) -> bool {
        matches!(self, Category::Complaint | Category::Report)
    }

    /// Lower-case name, as in JSON and in the config.
    pub fn as_str(self) -> &'static str {
        match self {
            Category::Consultation => "consultation",
            Category::Help => "help",
            Category::Complaint => "complaint",
            Category::Report => "report",
            Category::Suggestion => "suggestion",
            Category::Praise => "praise",
        }
    }
}

/// How urgent the matter is, set by the agent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Urgency {
    /// 一般.
    Normal,
    /// 緊急.
    Urgent,
    /// 特急: e.g. a service outage affecting many people (§17.3).
    VeryUrgent,
}

/// How the caller wants to hear back (§17.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ContactPreference {
    /// A phone call to the caller's number (or `contact`).
    Phone,
    /// A text message.
    Sms,
    /// E-mail to `contact`.
    Email,
    /// The caller does not want a reply (要求不回復的除外, §17.2): the unit
    /// still feeds back to the hotline, and no survey call is placed.
    NoReply,
}

/// The person who raised the matter (訴求人).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Caller {
    /// Name as given; callers may stay anonymous.
    #[serde(default)]
    pub name: Option<String>,
    /// Calling number (from the call) or the number given on a web form.
    #[serde(default)]
    pub number: Option<String>,
    /// How to reply.
    pub contact_preference: ContactPreference,
    /// Another number or an e-mail address for the reply, when given.
    #[serde(default)]
    pub contact: Option<String>,
}

/// Where the matter is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Address {
    /// Street address or description of the place.
    pub text: String,
    /// District (区/县级市/功能区) code, e.g. `"maonan"`: selects the
    /// district tier of supervision (§3, §26).
    #[serde(default)]
    pub district: Option<String>,
}

/// Who a complaint or report is about (§29).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ComplainedAbout {
    /// The unit complained about, when it is one of ours.
    #[serde(default)]
    pub unit: Option<UnitId>,
    /// The person complained about, when they are a user of the system.
    #[serde(default)]
    pub person: Option<UserId>,
    /// Name or description of the person or organisation as the caller gave
    /// it (outside the system, or not identified).
    #[serde(default)]
    pub description: Option<String>,
}

/// What the order is linked to.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Links {
    /// SIP Call-IDs of the calls about this matter.
    #[serde(default)]
    pub call_ids: Vec<String>,
    /// Recording ids of those calls.
    #[serde(default)]
    pub recording_ids: Vec<String>,
    /// The emergency transfer made during the call (§9, §14).
    #[serde(default)]
    pub emergency: Option<EmergencyLinkage>,
    /// Earlier orders of the same caller or about the same matter.
    #[serde(default)]
    pub related_orders: Vec<OrderNumber>,
    /// The draft this order was completed from.
    #[serde(default)]
    pub draft_id: Option<u64>,
}

/// What is entered about the matter when the order is opened.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderDetails {
    /// How it reached us.
    pub channel: Channel,
    /// Who raised it.
    pub caller: Caller,
    /// Where.
    #[serde(default)]
    pub address: Option<Address>,
    /// What kind of matter.
    pub category: Category,
    /// Topic in the configured tree (`[tickets] topics`).
    pub topic: TopicCode,
    /// The matter, in the caller's terms.
    pub description: String,
    /// How urgent.
    pub urgency: Urgency,
    /// The caller asked for confidentiality, or the agent judged the matter
    /// sensitive: the result is then not public (§30) and the caller's
    /// identity is hidden from every unit user, not only the one complained
    /// about.
    #[serde(default)]
    pub confidential: bool,
    /// For complaints and reports: who it is about (§29).
    #[serde(default)]
    pub complained_about: Option<ComplainedAbout>,
    /// Calls, recordings, emergency linkage, earlier orders.
    #[serde(default)]
    pub links: Links,
    /// A statutory time limit stricter than §17.1's, when one applies.
    #[serde(default)]
    pub legal_deadline: Option<LegalDeadline>,
}

impl OrderDetails {
    /// Check what the types cannot: non-empty description, a topic of the
    /// tree, a contact for replies, bounded text. Errors name the field
    /// under `details.`.
    pub fn validate(&self, topics: &TopicTree) -> Result<()> {
        text("details.description", &self.description, true)?;
        if !topics.contains(&self.topic) {
            return Err(DomainError::validation(
                "details.topic",
                format!("{} is not in the topic tree", self.topic),
            ));
        }
        let c = &self.caller;
        if let Some(name) = &c.name {
            text("details.caller.name", name, false)?;
        }
        match c.contact_preference {
            ContactPreference::Phone | ContactPreference::Sms
                if c.number.is_none() && c.contact.is_none() =>
            {
                return Err(DomainError::validation(
                    "details.caller.contact_preference",
                    "a reply by phone or SMS needs a number",
                ));
            }
            ContactPreference::Email if c.contact.as_deref().is_none_or(|s| !s.contains('@')) => {
                return Err(DomainError::validation(
                    "details.caller.contact",
                    "a reply by e-mail needs an address",
                ));
            }
            _ => {}
        }
        if let Some(a) = &self.address {
            text("details.address.text", &a.text, true)?;
        }
        if let Some(about) = &self.complained_about {
            if !self.category.protects_caller() {
                return Err(DomainError::validation(
                    "details.complained_about",
                    "only complaints and reports are about someone",
                ));
            }
            if about.unit.is_none() && about.person.is_none() && about.description.is_none() {
                return Err(DomainError::validation(
                    "details.complained_about",
                    "name the unit, the person or describe them",
                ));
            }
        }
        if let Some(l) = &self.legal_deadline {
            l.validate("details.legal_deadline")?;
        }
        Ok(())
    }
}

/// Check a free-text field: not blank when required, not huge.
pub(crate) fn text(field: &str, value: &str, required: bool) -> Result<()> {
    if required && value.trim().is_empty() {
        return Err(DomainError::validation(field, "must not be empty"));
    }
    if value.chars().count() > MAX_TEXT_CHARS {
        return Err(DomainError::validation(
            field,
            format!("longer than {MAX_TEXT_CHARS} characters"),
        ));
    }
    Ok(())
}

/// A work order: the details entered and everything the process wrote.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WorkOrder {
    /// Human-readable number, unique.
    pub number: OrderNumber,
    /// What was entered.
    pub details: OrderDetails,
    /// Where it is in the lifecycle.
    pub state: OrderState,
    /// Incremented by every transition; the store updates
    /// `WHERE version = old` so that of two concurrent transitions one wins
    /// and the other gets 409.
    pub version: u32,
    /// When opened.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// Who opened it.
    pub created_by: UserId,
    /// The intake decision's text when not dispatched: the answer given on
    /// the spot, the refusal explanation, the legal channel explanation.
    #[serde(default)]
    pub intake_note: Option<String>,
    /// Knowledge articles used to answer on the spot (§16.1).
    #[serde(default)]
    pub knowledge_articles: Vec<u64>,
    /// The §13 reason, when refused.
    #[serde(default)]
    pub refusal_reason: Option<RefusalReason>,
    /// The procedure the citizen was sent back to (§16.4).
    #[serde(default)]
    pub legal_channel: Option<LegalChannel>,
    /// Lead and co-handling units, once dispatched.
    #[serde(default)]
    pub assignment: Option<Assignment>,
    /// Deadlines currently running.
    #[serde(default)]
    pub deadlines: Deadlines,
    /// Whether the steps done so far were on time.
    #[serde(default)]
    pub timeliness: Timeliness,
    /// Units that handed the order back with the hotline's approval.
    #[serde(default)]
    pub returned_by: Vec<UnitId>,
    /// The pending or decided return request of the current assignment.
    #[serde(default)]
    pub return_request: Option<ReturnRequest>,
    /// The extension, if one was requested (at most one per order).
    #[serde(default)]
    pub extension: Option<Extension>,
    /// The citizen refused to provide material (§17.8).
    #[serde(default)]
    pub material_refusal: Option<MaterialRefusal>,
    /// Handling round: 1, or 2 once sent back for a redo (§21).
    pub round: u8,
    /// The latest result.
    #[serde(default)]
    pub result: Option<HandlingResult>,
    /// The latest reply and feedback.
    #[serde(default)]
    pub reply: Option<Reply>,
    /// Surveys received, in order.
    #[serde(default)]
    pub surveys: Vec<SurveyRecord>,
    /// The manual callback, after a dissatisfied handling survey.
    #[serde(default)]
    pub callback: Option<Callback>,
    /// Staff recused from this order (§29): they can neither see nor act.
    #[serde(default)]
    pub recused: Vec<UserId>,
    /// When closed.
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub closed_at: Option<OffsetDateTime>,
}

impl WorkOrder {
    /// Open an order in state [`OrderState::Received`], awaiting the intake
    /// decision (answer, refuse, redirect, hand over, dispatch). The number's
    /// sequence comes from the store. Validates the details against the topic
    /// tree. The history entry of the opening is
    /// [`crate::lifecycle::HistoryEntry::opened`].
    pub fn open(
        number: OrderNumber,
        details: OrderDetails,
        actor: &Actor,
        now: OffsetDateTime,
        topics: &TopicTree,
    ) -> Result<WorkOrder> {
        details.validate(topics)?;
        let now = crate::calendar::utc(now);
        Ok(WorkOrder {
            number,
            details,
            state: OrderState::Received,
            version: 1,
            created_at: now,
            created_by: actor.id.clone(),
            intake_note: None,
            knowledge_articles: Vec::new(),
            refusal_reason: None,
            legal_channel: None,
            assignment: None,
            deadlines: Deadlines::default(),
            timeliness: Timeliness::default(),
            returned_by: Vec::new(),
            return_request: None,
            extension: None,
            material_refusal: None,
            round: 1,
            result: None,
            reply: None,
            surveys: Vec::new(),
            callback: None,
            recused: Vec::new(),
            closed_at: None,
        })
    }

    /// The handling survey of the current round, if received.
    pub fn handling_survey(&self) -> Option<&SurveyRecord> {
        self.surveys
            .iter()
            .rev()
            .find(|s| s.stage == SurveyStage::Handling && s.round == self.round)
    }

    /// The handling survey that counts (§22: after a redo, the second).
    pub fn final_handling_survey(&self) -> Option<&SurveyRecord> {
        self.surveys
            .iter()
            .rev()
            .find(|s| s.stage == SurveyStage::Handling)
    }

    /// Whether the caller asked not to be replied to (§17.2).
    pub fn no_reply_wanted(&self) -> bool {
        self.details.caller.contact_preference == ContactPreference::NoReply
    }

    /// Whether `user` is recused from this order.
    pub fn is_recused(&self, user: &UserId) -> bool {
        self.recused.contains(user)
    }
}
