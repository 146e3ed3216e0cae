//! The ACD's settings from the configuration file (`[[agents]]`,
//! `[[queues]]`, `[acd]`).

use std::time::Duration;

use hotline_config::{Config, Weekday as CfgDay};
use hotline_sip::acd::{AcdSettings, AgentSettings, Overflow, QueueSettings, Shift, Strategy};
use time::Weekday;

/// Every configured agent (supervisors too: leaders take calls on their
/// shifts, §8) and queue.
pub fn acd_settings(config: &Config) -> AcdSettings {
    AcdSettings {
        agents: config
            .agents
            .iter()
            .map(|a| AgentSettings {
                id: a.id.clone(),
                skills: a.skills.clone(),
            })
            .collect(),
        queues: config
            .queues
            .iter()
            .map(|q| {
                let mut s = QueueSettings::new(q.name.clone());
                s.strategy = strategy(q.strategy);
                s.skills = q.skills.clone();
                s.ring_timeout = Duration::from_secs(q.ring_timeout_s);
                s.wrap_up = Duration::from_secs(q.wrap_up_s);
                s.max_wait = q.max_wait_s.map(Duration::from_secs);
                s.overflow = match (&q.overflow_queue, q.overflow_after_s) {
                    (Some(queue), Some(after)) => Some(Overflow {
                        queue: queue.clone(),
                        after: Duration::from_secs(after),
                    }),
                    _ => None,
                };
                s.announce_interval =
                    (q.announce_interval_s > 0).then(|| Duration::from_secs(q.announce_interval_s));
                s.service_level = Duration::from_secs(q.service_level_s);
                s.callbacks_first = q.callbacks_first;
                s.shifts = q
                    .shifts
                    .iter()
                    .map(|sh| Shift {
                        days: sh.days.iter().map(|d| weekday(*d)).collect(),
                        start_min: sh.hours.start_min,
                        end_min: sh.hours.end_min,
                        agents: sh.agents.clone(),
                    })
                    .collect();
                s
            })
            .collect(),
        max_no_answer: config.acd.max_no_answer,
    }
}

fn strategy(s: hotline_config::Strategy) -> Strategy {
    match s {
        hotline_config::Strategy::LongestIdle => Strategy::LongestIdle,
        hotline_config::Strategy::RoundRobin => Strategy::RoundRobin,
        hotline_config::Strategy::FewestCalls => Strategy::FewestCalls,
        hotline_config::Strategy::RingAll => Strategy::RingAll,
        hotline_config::Strategy::SkillsWeighted => Strategy::SkillsWeighted,
    }
}

fn weekday(d: CfgDay) -> Weekday {
    match d {
        CfgDay::Mon => Weekday::Monday,
        CfgDay::Tue => Weekday::Tuesday,
        CfgDay::Wed => Weekday::Wednesday,
        CfgDay::Thu => Weekday::Thursday,
        CfgDay::Fri => Weekday::Friday,
        CfgDay::Sat => Weekday::Saturday,
        CfgDay::Sun => Weekday::Sunday,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_configuration_makes_a_valid_acd() {
        let config = Config::builtin_default();
        let settings = acd_settings(&config);
        assert_eq!(settings.agents.len(), config.agents.len());
        let cantonese = settings
            .queues
            .iter()
            .find(|q| q.name == "cantonese")
            .expect("cantonese queue");
        assert_eq!(cantonese.strategy, Strategy::LongestIdle);
        assert_eq!(
            cantonese.overflow.as_ref().map(|o| o.queue.as_str()),
            Some("general")
        );
        hotline_sip::acd::Acd::new(settings, std::time::Instant::now()).expect("a valid ACD");
    }
}
