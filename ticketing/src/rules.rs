//! The settings the domain runs on, bundled: calendar, deadline policy,
//! topic tree and order-number prefix.
//!
//! The binary builds one [`TicketRules`] from `[calendar]` and `[tickets]`
//! at start-up and passes it by reference to every call of
//! [`crate::lifecycle::apply`], [`crate::supervision::sweep`] and friends.
//! Nothing in here changes while the server runs.
//!
//! | config key (`hotline-config`) | here |
//! |---|---|
//! | `calendar.utc_offset` (`minutes`) | [`CalendarSpec::utc_offset`](crate::CalendarSpec) (`UtcOffset::from_whole_seconds(minutes * 60)`) |
//! | `calendar.weekend` | `CalendarSpec::weekend` (`time::Weekday`) |
//! | `calendar.working_hours` (`start_min`, `end_min`) | `CalendarSpec::working_hours` |
//! | `calendar.holiday_dates()`, `calendar.workdays` | `CalendarSpec::holidays`, `workdays` (`Date::from_calendar_date`) |
//! | `tickets.order_prefix` | [`TicketRules::order_prefix`] |
//! | `tickets.sign_within_minutes`, `respond_within_minutes`, `hour_basis`, `reply_within_days`, `return_within_days`, `complete_within_days.*` | [`DeadlinePolicy`] fields of the same names |
//! | `tickets.kb_upload_within_days`, `kb_fix_within_days` | [`KnowledgePolicy::upload_within_days`], [`KnowledgePolicy::fix_within_days`] |
//! | `tickets.supervision_city_after_hours`, `supervision_city_after_days`, `repeat_threshold`, `repeat_window_days` | [`SupervisionPolicy::city_after_hours`], [`SupervisionPolicy::city_after_days`], `repeat_threshold`, `repeat_window_days` |
//! | `tickets.topics[].code`, `.name` | [`TopicTree::new`] |
//! | `tickets.draft_stale_after_minutes` | the `wrap_up` of [`crate::draft::Draft::is_stale`] |

use crate::calendar::WorkingCalendar;
use crate::deadline::DeadlinePolicy;
use crate::error::Result;
use crate::knowledge::KnowledgePolicy;
use crate::supervision::SupervisionPolicy;
use crate::topic::TopicTree;

/// Everything configurable the domain needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TicketRules {
    /// Working days, holidays, hours.
    pub calendar: WorkingCalendar,
    /// Time limits of §17.
    pub policy: DeadlinePolicy,
    /// Topic classification.
    pub topics: TopicTree,
    /// Order number prefix (`MM`).
    pub order_prefix: String,
    /// Knowledge-base limits (§24–§25).
    pub knowledge: KnowledgePolicy,
    /// Supervision thresholds (§26).
    pub supervision: SupervisionPolicy,
}

impl TicketRules {
    /// Check the parts that can be wrong after construction (the policies;
    /// the calendar and topic tree are validated when built).
    pub fn validate(&self) -> Result<()> {
        crate::number::OrderNumber::new(&self.order_prefix, time::macros::date!(2000 - 01 - 01), 1)
            .map(|_| ())
            .map_err(|_| crate::error::DomainError::Setting {
                key: "tickets.order_prefix".into(),
                message: format!("{:?} must be 1 to 8 capital letters", self.order_prefix),
            })?;
        self.policy.validate()?;
        self.knowledge.validate()?;
        self.supervision.validate()
    }
}
