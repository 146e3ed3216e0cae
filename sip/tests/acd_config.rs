//! The ACD accepts the shipped configuration: `[acd]`, `[[agents]]` and
//! `[[queues]]` of `config/hotline.example.toml` mapped to
//! [`AcdSettings`] the way the binary does it (`acd_settings` below is the
//! mapping to copy), then a call flows through the demo queues.

use std::time::{Duration, Instant};

use hotline_config::Config;
use hotline_sip::acd::{
    Acd, AcdOutput, AcdSettings, AgentSettings, CallAttributes, CallId, Overflow, QueueSettings,
    Shift, StateRequest, Strategy,
};

/// `[acd]`, `[[agents]]` and `[[queues]]` → the ACD's settings.
fn acd_settings(config: &Config) -> Result<AcdSettings, String> {
    let secs = Duration::from_secs;
    let queues = config
        .queues
        .iter()
        .map(|q| {
            Ok(QueueSettings {
                name: q.name.clone(),
                strategy: q.strategy.as_str().parse::<Strategy>()?,
                skills: q.skills.clone(),
                ring_timeout: secs(q.ring_timeout_s),
                wrap_up: secs(q.wrap_up_s),
                max_wait: q.max_wait_s.map(secs),
                overflow: q
                    .overflow_queue
                    .clone()
                    .zip(q.overflow_after_s)
                    .map(|(queue, after)| Overflow {
                        queue,
                        after: secs(after),
                    }),
                announce_interval: (q.announce_interval_s > 0).then(|| secs(q.announce_interval_s)),
                service_level: secs(q.service_level_s),
                callbacks_first: q.callbacks_first,
                shifts: q
                    .shifts
                    .iter()
                    .map(|s| Shift {
                        days: s
                            .days
                            .iter()
                            .map(|d| time::Weekday::Monday.nth_next(d.number_from_monday()))
                            .collect(),
                        start_min: s.hours.start_min,
                        end_min: s.hours.end_min,
                        agents: s.agents.clone(),
                    })
                    .collect(),
            })
        })
        .collect::<Result<Vec<_>, String>>()?;
    Ok(AcdSettings {
        agents: config
            .agents
            .iter()
            .map(|a| AgentSettings {
                id: a.id.clone(),
                skills: a.skills.clone(),
            })
            .collect(),
        queues,
        max_no_answer: config.acd.max_no_answer,
    })
}

#[test]
fn the_builtin_default_configuration_runs_the_acd() {
    let config = Config::builtin_default();
    config
        .validate()
        .expect("the default configuration is valid");
    let settings = acd_settings(&config).expect("maps");
    assert_eq!(settings.queues.len(), config.queues.len());
    let now = Instant::now();
    let mut acd = Acd::new(settings, now).expect("the ACD accepts the default configuration");
    // Wednesday 2026-11-25 03:00: the Cantonese queue (07:00-23:00) is
    // closed, so a Cantonese caller goes to the general queue.
    acd.set_local_time(now, time::macros::datetime!(2026-11-25 03:00));
    acd.set_registered(now, "1002", true).expect("agent");
    acd.set_state(now, "1002", StateRequest::Ready)
        .expect("agent");
    let yue = CallAttributes {
        language: Some("yue".into()),
        business_line: None,
    };
    acd.enqueue(now, CallId(1), "cantonese", &yue)
        .expect("queue");
    let out: Vec<AcdOutput> = std::iter::from_fn(|| acd.poll_output()).collect();
    assert!(out.contains(&AcdOutput::Overflowed {
        call: CallId(1),
        from: "cantonese".into(),
        to: "general".into(),
    }));
    assert!(out
        .iter()
        .any(|o| matches!(o, AcdOutput::Ring { agents, .. } if agents == &["1002"])));
}
