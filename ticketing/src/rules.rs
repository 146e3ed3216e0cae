//! The settings the domain runs on, bundled: calendar, deadline policy,
//! topic tree and order-number prefix.
//!
//! The binary builds one [`TicketRules`] from `[calendar]` and `[tickets]`
//! at start-up and passes it by reference to every call of
//! [`crate::lifecycle::apply`], [`crate::supervision::sweep`] and friends.
//! Nothing in here changes while the server runs.

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
