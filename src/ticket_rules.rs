//! The work-order rules the server runs on ([`TicketRules`]): calendar,
//! deadline policy, topic tree, order prefix, knowledge and supervision
//! limits.
//!
//! Built from `[calendar]` (offset, weekend, working hours, public holidays
//! and make-up working days: the default file ships the 2026 PRC table) and
//! `[tickets]` (limits of §17 and §24–§26, order prefix, topic tree); see the
//! mapping table in `hotline_ticketing::rules`. A `[tickets]` without topics
//! uses the built-in tree (`TicketsConfig::default()`).

use anyhow::Context;
use hotline_ticketing::calendar::{CalendarSpec, HourBasis, WorkingCalendar};
use hotline_ticketing::deadline::{CompletionDays, DeadlinePolicy};
use hotline_ticketing::knowledge::KnowledgePolicy;
use hotline_ticketing::supervision::SupervisionPolicy;
use hotline_ticketing::topic::TopicTree;
use hotline_ticketing::TicketRules;

/// The rules for `config`.
///
/// # Errors
/// A setting the domain rejects, with its key.
pub fn from_config(config: &hotline_config::Config) -> anyhow::Result<TicketRules> {
    let cal = &config.calendar;
    let date = |d: &hotline_config::CalendarDate, key: &str| {
        time::Month::try_from(d.month)
            .ok()
            .and_then(|m| time::Date::from_calendar_date(i32::from(d.year), m, d.day).ok())
            .with_context(|| format!("{key}: {}-{}-{} is not a date", d.year, d.month, d.day))
    };
    let holidays = cal
        .holiday_dates()
        .iter()
        .map(|d| date(d, "calendar.holidays"))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let workdays = cal
        .workdays
        .iter()
        .map(|d| date(d, "calendar.workdays"))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let offset = time::UtcOffset::from_whole_seconds(i32::from(cal.utc_offset.minutes) * 60)
        .context("calendar.utc_offset")?;
    let calendar = WorkingCalendar::new(CalendarSpec {
        utc_offset: offset,
        weekend: cal.weekend.iter().map(|d| weekday(*d)).collect(),
        holidays,
        workdays,
        working_hours: (cal.working_hours.start_min, cal.working_hours.end_min),
    })
    .context("[calendar]")?;
    let t = &config.tickets;
    let c = &t.complete_within_days;
    let policy = DeadlinePolicy {
        sign_within_minutes: t.sign_within_minutes,
        respond_within_minutes: t.respond_within_minutes,
        hour_basis: match t.hour_basis {
            hotline_config::HourBasis::Clock => HourBasis::Clock,
            hotline_config::HourBasis::WorkingDays => HourBasis::WorkingDays,
            hotline_config::HourBasis::WorkingHours => HourBasis::WorkingHours,
        },
        complete_within_days: CompletionDays {
            consultation: c.consultation,
            help: c.help,
            complaint: c.complaint,
            report: c.report,
            suggestion: c.suggestion,
            praise: c.praise,
        },
        reply_within_days: t.reply_within_days,
        return_within_days: t.return_within_days,
    };
    // An empty list in the file means the built-in tree (the config default).
    let default_topics = hotline_config::TicketsConfig::default().topics;
    let topic_list = if t.topics.is_empty() {
        &default_topics
    } else {
        &t.topics
    };
    let topics = TopicTree::new(
        topic_list
            .iter()
            .map(|x| (x.code.as_str(), x.name.as_str())),
    )
    .context("tickets.topics")?;
    let rules = TicketRules {
        calendar,
        policy,
        topics,
        order_prefix: t.order_prefix.clone(),
        knowledge: KnowledgePolicy {
            upload_within_days: t.kb_upload_within_days,
            fix_within_days: t.kb_fix_within_days,
        },
        supervision: SupervisionPolicy {
            city_after_hours: t.supervision_city_after_hours,
            city_after_days: t.supervision_city_after_days,
            repeat_threshold: t.repeat_threshold,
            repeat_window_days: t.repeat_window_days,
        },
    };
    rules.validate()?;
    Ok(rules)
}

fn weekday(d: hotline_config::CalendarWeekday) -> time::Weekday {
    use hotline_config::CalendarWeekday as W;
    match d {
        W::Monday => time::Weekday::Monday,
        W::Tuesday => time::Weekday::Tuesday,
        W::Wednesday => time::Weekday::Wednesday,
        W::Thursday => time::Weekday::Thursday,
        W::Friday => time::Weekday::Friday,
        W::Saturday => time::Weekday::Saturday,
        W::Sunday => time::Weekday::Sunday,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_file_gives_the_2026_prc_calendar() {
        let rules = from_config(&hotline_config::Config::builtin_default()).expect("rules");
        let d = |m, day| {
            time::Date::from_calendar_date(2026, time::Month::try_from(m).expect("month"), day)
                .expect("date")
        };
        // National Day week off, the make-up Saturday after it worked.
        assert!(!rules.calendar.is_working_day(d(10, 1)));
        assert!(!rules.calendar.is_working_day(d(10, 7)));
        assert!(rules.calendar.is_working_day(d(10, 10)));
        // An ordinary Friday works, an ordinary Sunday does not.
        assert!(rules.calendar.is_working_day(d(11, 27)));
        assert!(!rules.calendar.is_working_day(d(11, 29)));
        assert_eq!(rules.order_prefix, "MM");
    }

    #[test]
    fn an_empty_configuration_still_has_rules() {
        let rules = from_config(&hotline_config::Config::default()).expect("rules");
        let saturday = time::macros::date!(2026 - 11 - 28);
        assert!(!rules.calendar.is_working_day(saturday));
        assert!(rules
            .topics
            .contains(&hotline_ticketing::topic::TopicCode::new("other")));
    }
}
