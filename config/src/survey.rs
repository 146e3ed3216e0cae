//! `[survey]`: satisfaction surveys (measures §18–§22) and the outbound
//! campaign that runs the handling-stage survey, plus the callback task list
//! (§21): types, defaults and checks.
//!
//! The keys that shape the questions (prompts, key timeout, retries) serve
//! both stages; the campaign keys (calling hours, holidays, attempts, retry
//! interval, parallel calls) and the callback claim time only the outbound
//! side.

use serde::{Deserialize, Serialize};

use crate::ivr::{TimeWindow, FIRST_DIGIT_TIMEOUT_S, MAX_RETRIES};
use crate::validate::Report;
use crate::Config;

/// Most attempts a survey job may be given (a citizen is not harassed).
const MAX_ATTEMPTS: std::ops::RangeInclusive<u32> = 1..=10;
/// Minutes between two attempts: at least 5, at most a week.
const RETRY_INTERVAL_MIN: std::ops::RangeInclusive<u32> = 5..=7 * 24 * 60;
/// Survey calls the campaign keeps in flight at most.
const CONCURRENT_CALLS: std::ops::RangeInclusive<u32> = 1..=1000;
/// Minutes a claim on a callback task lasts.
const CLAIM_MIN: std::ops::RangeInclusive<u32> = 1..=24 * 60;

/// `[survey]`: satisfaction surveys (§18–§22).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SurveyConfig {
    /// Whether surveys are run at all.
    pub enabled: bool,
    /// Local time window in which outbound (handling-stage) survey calls may
    /// be placed.
    pub calling_hours: TimeWindow,
    /// No outbound survey calls on the public holidays of `[calendar]`.
    pub skip_holidays: bool,
    /// Attempts per survey job before the citizen counts as unreachable.
    pub max_attempts: u32,
    /// Minutes between two attempts (busy, no answer, no rating, failure).
    pub retry_interval_min: u32,
    /// Survey calls the campaign places at once at most (the trunk may allow
    /// fewer: its refusals are retried without counting).
    pub concurrent_calls: u32,
    /// Minutes an agent's claim on a callback task lasts before another may
    /// take the task.
    pub callback_claim_min: u32,
    /// The question: "press 1 for very satisfied … 5 for very dissatisfied".
    pub prompt: String,
    /// Played before the question is asked again after a wrong or missing key.
    pub retry_prompt: String,
    /// Played once a rating is recorded (or given up on), before hanging up.
    pub thanks_prompt: String,
    /// Seconds to wait for the key after the question.
    pub timeout_s: u64,
    /// Times the question is repeated after a wrong or missing key (§19: one).
    pub retries: u8,
}

impl Default for SurveyConfig {
    fn default() -> Self {
        SurveyConfig {
            enabled: false,
            calling_hours: TimeWindow {
                start_min: 9 * 60,
                end_min: 20 * 60,
            },
            skip_holidays: true,
            max_attempts: 3,
            retry_interval_min: 120,
            concurrent_calls: 10,
            callback_claim_min: 30,
            prompt: "survey".to_owned(),
            retry_prompt: "survey-retry".to_owned(),
            thanks_prompt: "survey-thanks".to_owned(),
            timeout_s: 8,
            retries: 1,
        }
    }
}

fn check_range<T: PartialOrd + std::fmt::Display>(
    r: &mut Report,
    key: &str,
    value: T,
    range: &std::ops::RangeInclusive<T>,
    unit: &str,
) {
    if !range.contains(&value) {
        r.err(
            key,
            format!(
                "{value} is outside {}..={}{unit}",
                range.start(),
                range.end()
            ),
        );
    }
}

impl Config {
    pub(crate) fn check_survey(&self, r: &mut Report) {
        let s = &self.survey;
        let w = s.calling_hours;
        if w.start_min >= w.end_min {
            r.err(
                "survey.calling_hours",
                format!("\"{w}\" must start before it ends"),
            );
        }
        self.check_prompt(r, "survey.prompt", &s.prompt);
        self.check_prompt(r, "survey.retry_prompt", &s.retry_prompt);
        self.check_prompt(r, "survey.thanks_prompt", &s.thanks_prompt);
        check_range(
            r,
            "survey.timeout_s",
            s.timeout_s,
            &FIRST_DIGIT_TIMEOUT_S,
            " seconds",
        );
        if s.retries > MAX_RETRIES {
            r.err(
                "survey.retries",
                format!("{} is more than {MAX_RETRIES}", s.retries),
            );
        }
        check_range(r, "survey.max_attempts", s.max_attempts, &MAX_ATTEMPTS, "");
        check_range(
            r,
            "survey.retry_interval_min",
            s.retry_interval_min,
            &RETRY_INTERVAL_MIN,
            " minutes",
        );
        check_range(
            r,
            "survey.concurrent_calls",
            s.concurrent_calls,
            &CONCURRENT_CALLS,
            "",
        );
        check_range(
            r,
            "survey.callback_claim_min",
            s.callback_claim_min,
            &CLAIM_MIN,
            " minutes",
        );
    }
}

#[cfg(test)]
mod tests {
    use crate::Config;

    /// The key paths of the `survey.*` errors.
    fn errors(toml_survey: &str) -> Vec<String> {
        let text = format!("[survey]\n{toml_survey}\n");
        let c = Config::from_toml(&text).expect("parses");
        c.validate()
            .err()
            .unwrap_or_default()
            .into_iter()
            .map(|e| e.path)
            .filter(|p| p.starts_with("survey."))
            .collect()
    }

    #[test]
    fn campaign_keys_default_and_parse() {
        let c = Config::from_toml(
            "[survey]\nskip_holidays = false\nmax_attempts = 5\nretry_interval_min = 30\n\
             concurrent_calls = 50\ncallback_claim_min = 10\n",
        )
        .expect("parses");
        assert!(!c.survey.skip_holidays);
        assert_eq!(c.survey.max_attempts, 5);
        assert_eq!(c.survey.retry_interval_min, 30);
        assert_eq!(c.survey.concurrent_calls, 50);
        assert_eq!(c.survey.callback_claim_min, 10);
        let d = Config::from_toml("").expect("empty parses");
        assert!(d.survey.skip_holidays);
        assert_eq!(d.survey.max_attempts, 3);
    }

    #[test]
    fn campaign_keys_out_of_range_are_named() {
        let e = errors("max_attempts = 0\nretry_interval_min = 1\nconcurrent_calls = 0\ncallback_claim_min = 0");
        for key in [
            "survey.max_attempts",
            "survey.retry_interval_min",
            "survey.concurrent_calls",
            "survey.callback_claim_min",
        ] {
            assert!(e.iter().any(|p| p == key), "{key} missing in {e:?}");
        }
        assert!(errors("max_attempts = 10").is_empty());
    }
}
