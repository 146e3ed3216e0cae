//! `[acd]` and `[[queues]]`: automatic call distribution settings, queue
//! schedules (7×24 shifts, measures §8) and the skill-level syntax, with
//! their validation.
//!
//! # Skills and levels
//!
//! A skill is a token such as `"lang:yue"` (Cantonese) or `"biz:consumer"`
//! (a business line). A token may end with a *level* from 1 to
//! [`MAX_SKILL_LEVEL`]: `"lang:yue:3"`. Only a token with at least two colons
//! whose last part is all digits carries a level, so every token written
//! before levels existed (`"lang:yue"`, `"floor:3"`, `"vip"`) keeps its meaning
//! at level 1. On an agent the level says how well the agent masters the
//! skill; on a queue it is the minimum level an agent needs. The
//! `skills_weighted` strategy prefers agents whose levels, summed over the
//! queue's skills and the caller's language and business line, are highest.
//!
//! # Shifts
//!
//! A queue with no `shifts` is open around the clock. Otherwise it is open
//! while one of its shifts is on: `days` names the weekday a shift *starts*
//! and `hours` may cross midnight (`"22:00-06:00"` on `fri` runs into Saturday
//! morning). A shift may name `agents` (leaders taking calls on a plan, §8):
//! an agent named in any shift of a queue takes that queue's calls only while
//! one of *their* shifts is on; other qualified agents take them whenever the
//! queue is open. What happens to calls while a queue is closed is the ACD's
//! business (see `hotline_sip::acd`): they go to `overflow_queue` at once, or
//! are offered a callback.

use std::collections::{BTreeMap, HashMap};
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::ivr::TimeWindow;
use crate::sections::AgentConfig;
use crate::validate::{is_name, Report};
use crate::Config;

/// Highest skill level (`"lang:yue:9"`).
pub const MAX_SKILL_LEVEL: u8 = 9;

/// Shortest announcement interval accepted, in seconds: announcing more
/// often would talk over the music on hold all the time.
const MIN_ANNOUNCE_INTERVAL_S: u64 = 10;

/// Split a skill token into its name and level (see the module docs).
/// `"lang:yue"` → `("lang:yue", 1)`, `"lang:yue:3"` → `("lang:yue", 3)`.
pub fn parse_skill(token: &str) -> Result<(&str, u8), String> {
    let Some((name, last)) = token.rsplit_once(':') else {
        return Ok((token, 1));
    };
    let leveled =
        name.contains(':') && !last.is_empty() && last.bytes().all(|b| b.is_ascii_digit());
    if !leveled {
        return Ok((token, 1));
    }
    match last.parse::<u8>() {
        Ok(level @ 1..=MAX_SKILL_LEVEL) => Ok((name, level)),
        _ => Err(format!(
            "{token:?}: the level after the last ':' must be 1 to {MAX_SKILL_LEVEL}"
        )),
    }
}

/// Whether `agent` has every skill of `queue`, at the queue's level or above.
/// Tokens that do not parse never match.
pub fn qualifies(agent: &AgentConfig, queue: &QueueConfig) -> bool {
    queue.skills.iter().all(|wanted| {
        let Ok((name, min)) = parse_skill(wanted) else {
            return false;
        };
        agent
            .skills
            .iter()
            .filter_map(|s| parse_skill(s).ok())
            .any(|(n, level)| n == name && level >= min)
    })
}

/// `[acd]`: settings shared by every queue.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AcdConfig {
    /// Calls in a row an agent may leave ringing (no answer, busy, rejected)
    /// before the agent is set not ready with reason `missed_call`.
    pub max_no_answer: u32,
}

impl Default for AcdConfig {
    fn default() -> Self {
        AcdConfig { max_no_answer: 3 }
    }
}

/// One `[[queues]]` entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct QueueConfig {
    /// The queue's name, referenced by DIDs, IVR nodes and other queues.
    pub name: String,
    /// How a waiting call picks among the ready agents.
    pub strategy: Strategy,
    /// Skills an agent needs to take calls from this queue (with an optional
    /// minimum level, `"lang:yue:2"`).
    pub skills: Vec<String>,
    /// Seconds an offered call rings an agent before it moves on.
    pub ring_timeout_s: u64,
    /// Seconds an agent stays in wrap-up after a call.
    pub wrap_up_s: u64,
    /// Longest wait before the caller is offered a callback; no limit when absent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_wait_s: Option<u64>,
    /// Queue a call moves to after `overflow_after_s` seconds of waiting,
    /// and at once while this queue is closed or nobody is logged in to it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub overflow_queue: Option<String>,
    /// Seconds of waiting before a call overflows to `overflow_queue`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub overflow_after_s: Option<u64>,
    /// Seconds between position / estimated-wait announcements to a waiting
    /// caller; 0 turns them off.
    pub announce_interval_s: u64,
    /// Service-level threshold: a call answered within this many seconds of
    /// waiting counts as answered in time (GB/T 33358 suggests 15).
    pub service_level_s: u64,
    /// When the queue is open; open around the clock when empty.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub shifts: Vec<ShiftConfig>,
    /// Open callback requests of this queue are dialled by the next agent
    /// who becomes ready, before any waiting inbound call (needs
    /// `[trunk.outbound]`); when false they wait for manual handling.
    pub callbacks_first: bool,
}

impl Default for QueueConfig {
    fn default() -> Self {
        QueueConfig {
            name: String::new(),
            strategy: Strategy::default(),
            skills: Vec::new(),
            ring_timeout_s: 20,
            wrap_up_s: 15,
            max_wait_s: None,
            overflow_queue: None,
            overflow_after_s: None,
            announce_interval_s: 60,
            service_level_s: 15,
            shifts: Vec::new(),
            callbacks_first: false,
        }
    }
}

/// How a queue chooses the agent for the next call.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Strategy {
    /// The ready agent idle the longest.
    #[default]
    LongestIdle,
    /// Agents in turn.
    RoundRobin,
    /// The ready agent who took the fewest calls today.
    FewestCalls,
    /// Every ready agent at once; the first to answer takes it.
    RingAll,
    /// The ready agent whose skills best match the call's.
    SkillsWeighted,
}

impl Strategy {
    /// The name used in the file and in the API.
    pub fn as_str(self) -> &'static str {
        match self {
            Strategy::LongestIdle => "longest_idle",
            Strategy::RoundRobin => "round_robin",
            Strategy::FewestCalls => "fewest_calls",
            Strategy::RingAll => "ring_all",
            Strategy::SkillsWeighted => "skills_weighted",
        }
    }
}

impl fmt::Display for Strategy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One shift of a queue: `{ days = ["mon", "fri"], hours = "22:00-06:00",
/// agents = ["9001"] }`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ShiftConfig {
    /// Weekdays the shift starts on; every day by default.
    pub days: Vec<Weekday>,
    /// Local start and end time; the end may be earlier than the start (the
    /// shift then ends the next day). Default `"00:00-24:00"`.
    pub hours: TimeWindow,
    /// Agents on duty in this shift only (leaders, §8); empty: none named.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub agents: Vec<String>,
}

impl Default for ShiftConfig {
    fn default() -> Self {
        ShiftConfig {
            days: Weekday::ALL.to_vec(),
            hours: TimeWindow {
                start_min: 0,
                end_min: 24 * 60,
            },
            agents: Vec::new(),
        }
    }
}

/// A day of the week, written `"mon"` … `"sun"` (the full English name is
/// accepted too, as in `[calendar] weekend`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Weekday {
    /// Monday
    #[serde(alias = "monday")]
    Mon,
    /// Tuesday
    #[serde(alias = "tuesday")]
    Tue,
    /// Wednesday
    #[serde(alias = "wednesday")]
    Wed,
    /// Thursday
    #[serde(alias = "thursday")]
    Thu,
    /// Friday
    #[serde(alias = "friday")]
    Fri,
    /// Saturday
    #[serde(alias = "saturday")]
    Sat,
    /// Sunday
    #[serde(alias = "sunday")]
    Sun,
}

impl Weekday {
    /// Monday to Sunday.
    pub const ALL: [Weekday; 7] = [
        Weekday::Mon,
        Weekday::Tue,
        Weekday::Wed,
        Weekday::Thu,
        Weekday::Fri,
        Weekday::Sat,
        Weekday::Sun,
    ];

    /// Days from Monday: Monday is 0, Sunday 6.
    pub fn number_from_monday(self) -> u8 {
        self as u8
    }
}

impl Config {
    /// `[acd]`, `[[queues]]` and the skill levels of `[[agents]]`.
    pub(crate) fn check_queues(&self, r: &mut Report) {
        if self.acd.max_no_answer == 0 {
            r.err("acd.max_no_answer", "must be greater than 0");
        }
        for (i, a) in self.agents.iter().enumerate() {
            check_levels(r, &format!("agents[{i}].skills"), &a.skills);
        }
        let mut seen: HashMap<&str, usize> = HashMap::new();
        for (i, q) in self.queues.iter().enumerate() {
            let path = format!("queues[{i}]");
            if q.name.is_empty() {
                r.err(format!("{path}.name"), "must not be empty");
            } else if !is_name(&q.name) {
                r.err(
                    format!("{path}.name"),
                    format!("{:?} may contain only letters, digits, '_' and '-'", q.name),
                );
            } else if let Some(&first) = seen.get(q.name.as_str()) {
                r.err(
                    format!("{path}.name"),
                    format!("{} is already the name of queues[{first}]", q.name),
                );
            } else {
                seen.insert(&q.name, i);
            }
            r.tokens(&format!("{path}.skills"), &q.skills);
            check_levels(r, &format!("{path}.skills"), &q.skills);
            r.positive(&format!("{path}.ring_timeout_s"), q.ring_timeout_s);
            r.positive(&format!("{path}.service_level_s"), q.service_level_s);
            if (1..MIN_ANNOUNCE_INTERVAL_S).contains(&q.announce_interval_s) {
                r.err(
                    format!("{path}.announce_interval_s"),
                    format!("must be 0 (no announcements) or at least {MIN_ANNOUNCE_INTERVAL_S}"),
                );
            }
            if q.max_wait_s == Some(0) {
                r.err(
                    format!("{path}.max_wait_s"),
                    "must be greater than 0 (leave it out for no limit)",
                );
            }
            self.check_overflow(r, &path, q);
            self.check_shifts(r, &path, q);
        }
        self.check_overflow_loops(r);
    }

    fn check_overflow(&self, r: &mut Report, path: &str, q: &QueueConfig) {
        match (&q.overflow_queue, q.overflow_after_s) {
            (Some(target), after) => {
                if *target == q.name {
                    r.err(
                        format!("{path}.overflow_queue"),
                        "a queue cannot overflow into itself",
                    );
                } else if self.queue(target).is_none() {
                    r.err(
                        format!("{path}.overflow_queue"),
                        format!("unknown queue {target:?}"),
                    );
                }
                match after {
                    None => r.err(
                        format!("{path}.overflow_queue"),
                        "needs overflow_after_s: how long a call waits before it moves",
                    ),
                    Some(0) => r.err(format!("{path}.overflow_after_s"), "must be greater than 0"),
                    Some(after) => {
                        if let Some(max) = q.max_wait_s.filter(|&max| after >= max) {
                            r.err(
                                format!("{path}.overflow_after_s"),
                                format!("{after} is not below max_wait_s ({max}): calls would never overflow"),
                            );
                        }
                    }
                }
            }
            (None, Some(_)) => r.err(
                format!("{path}.overflow_after_s"),
                "has no effect without overflow_queue",
            ),
            (None, None) => {}
        }
    }

    fn check_shifts(&self, r: &mut Report, path: &str, q: &QueueConfig) {
        for (j, shift) in q.shifts.iter().enumerate() {
            let path = format!("{path}.shifts[{j}]");
            if shift.days.is_empty() {
                r.err(
                    format!("{path}.days"),
                    "lists no day (leave it out for every day)",
                );
            }
            for (k, day) in shift.days.iter().enumerate() {
                if shift.days[..k].contains(day) {
                    r.err(format!("{path}.days[{k}]"), "listed twice");
                }
            }
            let h = shift.hours;
            if h.start_min >= 24 * 60 {
                r.err(
                    format!("{path}.hours"),
                    format!("\"{h}\" must start before 24:00"),
                );
            } else if h.start_min == h.end_min {
                r.err(
                    format!("{path}.hours"),
                    format!("\"{h}\" is empty; write \"00:00-24:00\" for the whole day"),
                );
            }
            for (k, id) in shift.agents.iter().enumerate() {
                let at = format!("{path}.agents[{k}]");
                match self.agent(id) {
                    None => r.err(at, format!("unknown agent {id:?}")),
                    Some(agent) if !qualifies(agent, q) => r.err(
                        at,
                        format!(
                            "agent {id} lacks some of the queue's skills {:?} and could take no call",
                            q.skills
                        ),
                    ),
                    Some(_) => {}
                }
            }
        }
    }

    /// A call must not bounce between queues for ever: report each overflow
    /// cycle once, at its first queue in file order.
    fn check_overflow_loops(&self, r: &mut Report) {
        let next: BTreeMap<usize, usize> = self
            .queues
            .iter()
            .enumerate()
            .filter_map(|(i, q)| {
                let target = q.overflow_queue.as_ref()?;
                let j = self.queues.iter().position(|t| &t.name == target)?;
                (j != i).then_some((i, j))
            })
            .collect();
        for &start in next.keys() {
            let mut chain = vec![start];
            let mut at = start;
            while let Some(&n) = next.get(&at) {
                if let Some(pos) = chain.iter().position(|&c| c == n) {
                    let cycle = &chain[pos..];
                    let first = *cycle.iter().min().unwrap_or(&n);
                    if first == start {
                        let names: Vec<&str> = cycle
                            .iter()
                            .chain(std::iter::once(&cycle[0]))
                            .map(|&k| self.queues[k].name.as_str())
                            .collect();
                        r.err(
                            format!("queues[{start}].overflow_queue"),
                            format!("overflow loops back: {}", names.join(" -> ")),
                        );
                    }
                    break;
                }
                chain.push(n);
                at = n;
            }
        }
    }
}

/// Skill levels must be 1..=MAX_SKILL_LEVEL; a skill must not appear twice.
fn check_levels(r: &mut Report, path: &str, skills: &[String]) {
    let mut names: HashMap<&str, usize> = HashMap::new();
    for (i, s) in skills.iter().enumerate() {
        match parse_skill(s) {
            Err(message) => r.err(format!("{path}[{i}]"), message),
            Ok((name, _)) => {
                if let Some(first) = names.insert(name, i) {
                    r.err(
                        format!("{path}[{i}]"),
                        format!("{name:?} is already {path}[{first}]"),
                    );
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn errors(text: &str) -> Vec<crate::ValidationError> {
        let config = Config::from_toml(text).expect("parses");
        config.validate().err().unwrap_or_default()
    }

    fn has(errors: &[crate::ValidationError], path: &str, words: &str) -> bool {
        errors
            .iter()
            .any(|e| e.path == path && e.message.contains(words))
    }

    #[test]
    fn skill_levels_are_backward_compatible() {
        assert_eq!(parse_skill("lang:yue"), Ok(("lang:yue", 1)));
        assert_eq!(parse_skill("lang:yue:3"), Ok(("lang:yue", 3)));
        assert_eq!(parse_skill("floor:3"), Ok(("floor:3", 1)));
        assert_eq!(parse_skill("vip"), Ok(("vip", 1)));
        assert_eq!(parse_skill("biz:a:b"), Ok(("biz:a:b", 1)));
        assert!(parse_skill("lang:yue:0").is_err());
        assert!(parse_skill("lang:yue:10").is_err());
        assert!(parse_skill("lang:yue:999999").is_err());
    }

    #[test]
    fn qualification_respects_minimum_levels() {
        let agent = AgentConfig {
            skills: vec!["lang:yue:3".into(), "biz:consumer".into()],
            ..AgentConfig::default()
        };
        let queue = |skills: &[&str]| QueueConfig {
            skills: skills.iter().map(|s| s.to_string()).collect(),
            ..QueueConfig::default()
        };
        assert!(qualifies(&agent, &queue(&["lang:yue"])));
        assert!(qualifies(&agent, &queue(&["lang:yue:3", "biz:consumer"])));
        assert!(!qualifies(&agent, &queue(&["lang:yue:4"])));
        assert!(!qualifies(&agent, &queue(&["biz:consumer:2"])));
        assert!(!qualifies(&agent, &queue(&["lang:cmn"])));
        assert!(qualifies(&agent, &queue(&[])));
    }

    #[test]
    fn shifts_parse_with_defaults_and_cross_midnight() {
        let c = Config::from_toml(
            "[[queues]]\nname = \"q\"\nshifts = [{ hours = \"22:00-06:00\", days = [\"fri\"] }, {}]\n",
        )
        .expect("parses");
        let s = &c.queues[0].shifts;
        assert_eq!(s[0].days, vec![Weekday::Fri]);
        assert_eq!(
            (s[0].hours.start_min, s[0].hours.end_min),
            (22 * 60, 6 * 60)
        );
        assert_eq!(s[1].days.len(), 7);
        assert_eq!((s[1].hours.start_min, s[1].hours.end_min), (0, 24 * 60));
        assert!(c.validate().is_ok());
        // The full name is accepted too (as in [calendar] weekend); a typo is not.
        let full =
            Config::from_toml("[[queues]]\nname = \"q\"\nshifts = [{ days = [\"monday\"] }]\n")
                .expect("full day name");
        assert_eq!(full.queues[0].shifts[0].days, [Weekday::Mon]);
        assert!(Config::from_toml(
            "[[queues]]\nname = \"q\"\nshifts = [{ days = [\"mondey\"] }]\n"
        )
        .is_err());
    }

    #[test]
    fn acd_validation_errors_carry_key_paths() {
        let agents = "[[agents]]\nid = \"1001\"\npassword = \"x\"\nskills = [\"lang:cmn\"]\n";
        let cases: &[(&str, &str, &str)] = &[
            (
                "[acd]\nmax_no_answer = 0\n",
                "acd.max_no_answer",
                "greater than 0",
            ),
            (
                "[[queues]]\nname = \"a\"\nservice_level_s = 0\n",
                "queues[0].service_level_s",
                "greater than 0",
            ),
            (
                "[[queues]]\nname = \"a\"\nannounce_interval_s = 3\n",
                "queues[0].announce_interval_s",
                "at least 10",
            ),
            (
                "[[queues]]\nname = \"a\"\nskills = [\"lang:yue:0\"]\n",
                "queues[0].skills[0]",
                "level",
            ),
            (
                "[[queues]]\nname = \"a\"\nskills = [\"lang:yue\", \"lang:yue:2\"]\n",
                "queues[0].skills[1]",
                "already",
            ),
            (
                "[[agents]]\nid = \"1\"\npassword = \"x\"\nskills = [\"lang:yue:12\"]\n",
                "agents[1].skills[0]",
                "level",
            ),
            (
                "[[queues]]\nname = \"a\"\nshifts = [{ days = [] }]\n",
                "queues[0].shifts[0].days",
                "no day",
            ),
            (
                "[[queues]]\nname = \"a\"\nshifts = [{ days = [\"mon\", \"mon\"] }]\n",
                "queues[0].shifts[0].days[1]",
                "twice",
            ),
            (
                "[[queues]]\nname = \"a\"\nshifts = [{ hours = \"08:00-08:00\" }]\n",
                "queues[0].shifts[0].hours",
                "empty",
            ),
            (
                "[[queues]]\nname = \"a\"\nshifts = [{ hours = \"24:00-06:00\" }]\n",
                "queues[0].shifts[0].hours",
                "before 24:00",
            ),
            (
                "[[queues]]\nname = \"a\"\nshifts = [{ agents = [\"9999\"] }]\n",
                "queues[0].shifts[0].agents[0]",
                "unknown agent",
            ),
        ];
        for (snippet, path, words) in cases {
            let errors = errors(&format!("{agents}{snippet}"));
            assert!(has(&errors, path, words), "{snippet}: {errors:?}");
        }
        let lacks = errors(&format!(
            "{agents}[[queues]]\nname = \"a\"\nskills = [\"lang:yue\"]\nshifts = [{{ agents = [\"1001\"] }}]\n"
        ));
        assert!(
            has(&lacks, "queues[0].shifts[0].agents[0]", "lacks"),
            "{lacks:?}"
        );
        let ok = errors(&format!(
            "{agents}[[queues]]\nname = \"a\"\nskills = [\"lang:cmn\"]\nannounce_interval_s = 0\nshifts = [{{ agents = [\"1001\"], hours = \"20:00-02:00\" }}]\n"
        ));
        assert!(ok.is_empty(), "{ok:?}");
    }
}
