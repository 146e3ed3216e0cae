//! The work-order rules the server runs on ([`TicketRules`]): calendar,
//! deadline policy, topic tree, order prefix, knowledge and supervision
//! limits.
//!
//! Until the configuration has `[calendar]` and `[tickets]` tables (the
//! domain side's part of issue 5), the server uses the measures' limits as
//! written (§17, §24–§26), a Monday-to-Friday calendar at +08:00 without
//! holidays, the `MM` prefix and the built-in topic tree below.

use hotline_ticketing::calendar::WorkingCalendar;
use hotline_ticketing::deadline::DeadlinePolicy;
use hotline_ticketing::knowledge::KnowledgePolicy;
use hotline_ticketing::supervision::SupervisionPolicy;
use hotline_ticketing::topic::TopicTree;
use hotline_ticketing::TicketRules;

/// The built-in topic tree: (code, name).
pub const DEFAULT_TOPICS: &[(&str, &str)] = &[
    ("urban", "城乡建设"),
    ("urban.roads", "道路桥梁"),
    ("urban.lighting", "道路照明"),
    ("urban.housing", "住房"),
    ("utilities", "水电气"),
    ("utilities.water", "供水"),
    ("utilities.power", "供电"),
    ("social", "社会保障"),
    ("social.insurance", "社保"),
    ("social.employment", "就业"),
    ("consumer", "消费维权"),
    ("environment", "生态环境"),
    ("transport", "交通运输"),
    ("health", "医疗卫生"),
    ("education", "教育"),
    ("public_security", "治安"),
    ("other", "其他"),
];

/// The rules for `config`.
///
/// # Errors
/// A setting the domain rejects, with its key.
pub fn from_config(_config: &hotline_config::Config) -> anyhow::Result<TicketRules> {
    let rules = TicketRules {
        calendar: WorkingCalendar::weekdays_only(),
        policy: DeadlinePolicy::default(),
        topics: TopicTree::new(DEFAULT_TOPICS.iter().copied())?,
        order_prefix: "MM".into(),
        knowledge: KnowledgePolicy::default(),
        supervision: SupervisionPolicy::default(),
    };
    rules.validate()?;
    Ok(rules)
}
