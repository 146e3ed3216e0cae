//! Queue strategies: which available agent gets a new call.
//!
//! Each queue keeps its available agents in a `BTreeSet` ordered by the
//! strategy's key, so a decision reads the first entries instead of scanning
//! and sorting every agent:
//!
//! | strategy | order (first = chosen) |
//! |---|---|
//! | `longest_idle` | idle since (end of last wrap-up, or ready) — earliest first |
//! | `round_robin` | the turn at which the queue last offered them a call — oldest first, then longest idle |
//! | `fewest_calls` | calls answered today (all queues) — fewest first, then longest idle |
//! | `ring_all` | every available agent rings; the first to answer takes the call; an agent who becomes available during the ring joins it |
//! | `skills_weighted` | sum of the agent's levels over the queue's skills and the caller's language and business line — highest first, then longest idle |
//!
//! The key is fixed while an agent is in the set (keys change only when the
//! agent is ringing, on a call or at day rollover, which re-inserts), and the
//! exact key inserted is remembered for removal. For `skills_weighted` the
//! queue part of the score is in the key; the caller's part (at most
//! [`MAX_LEVEL`](super::skills::MAX_LEVEL) per preference) is added while walking the set,
//! which stops as soon as no later agent can beat the best found.
//!
//! Agents who already missed this call are passed over while others are
//! available; when only they are, the first of them rings again.

use std::collections::BTreeSet;
use std::fmt;
use std::str::FromStr;
use std::time::Instant;

use serde::{Deserialize, Serialize};

/// Index of an agent in the engine.
pub(crate) type AgentIx = u32;

/// How a queue chooses the agent for a new call (the `strategy` config value).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Strategy {
    /// The available agent idle the longest.
    #[default]
    LongestIdle,
    /// Agents in turn.
    RoundRobin,
    /// The available agent who answered the fewest calls today.
    FewestCalls,
    /// Every available agent at once; the first to answer takes it.
    RingAll,
    /// The available agent whose skill levels best match the call.
    SkillsWeighted,
}

impl Strategy {
    /// Every strategy.
    pub const ALL: [Strategy; 5] = [
        Strategy::LongestIdle,
        Strategy::RoundRobin,
        Strategy::FewestCalls,
        Strategy::RingAll,
        Strategy::SkillsWeighted,
    ];

    /// The configuration value.
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

impl FromStr for Strategy {
    type Err = String;

    /// Parse a configuration value (`"longest_idle"`, …).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Strategy::ALL
            .into_iter()
            .find(|st| st.as_str() == s)
            .ok_or_else(|| format!("unknown strategy {s:?}"))
    }
}

/// An available agent's place in a queue's order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct AvailKey {
    /// Strategy-specific, smaller first (see the module docs).
    pub(crate) primary: u64,
    /// Tie-break: longest idle first.
    pub(crate) idle_since: Instant,
    pub(crate) agent: AgentIx,
}

/// `primary` for `skills_weighted`: a higher score sorts first.
pub(crate) fn score_key(score: u32) -> u64 {
    u64::from(u32::MAX - score)
}

fn key_score(key: &AvailKey) -> u32 {
    u32::MAX - u32::try_from(key.primary).unwrap_or(u32::MAX)
}

/// Choose the agents to ring for a call; `out` is left empty when none is
/// available. `bonus(agent)` is the caller's part of the skills score,
/// never above `max_bonus`.
pub(crate) fn pick(
    strategy: Strategy,
    avail: &BTreeSet<AvailKey>,
    tried: &[AgentIx],
    bonus: impl Fn(AgentIx) -> u32,
    max_bonus: u32,
    out: &mut Vec<AgentIx>,
) {
    out.clear();
    match strategy {
        Strategy::RingAll => out.extend(avail.iter().map(|k| k.agent)),
        Strategy::SkillsWeighted if max_bonus > 0 => {
            let mut best: Option<(u32, &AvailKey)> = None;
            let mut fallback = None;
            for k in avail {
                let base = key_score(k);
                if best.is_some_and(|(s, _)| base.saturating_add(max_bonus) < s) {
                    break;
                }
                if tried.contains(&k.agent) {
                    fallback = fallback.or(Some(k.agent));
                    continue;
                }
                let score = base.saturating_add(bonus(k.agent));
                let better = best
                    .is_none_or(|(s, b)| score > s || (score == s && k.idle_since < b.idle_since));
                if better {
                    best = Some((score, k));
                }
            }
            out.extend(best.map(|(_, k)| k.agent).or(fallback));
        }
        _ => {
            let first_untried = avail.iter().find(|k| !tried.contains(&k.agent));
            out.extend(first_untried.or_else(|| avail.first()).map(|k| k.agent));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn set(entries: &[(u64, u64, AgentIx)]) -> BTreeSet<AvailKey> {
        let t0 = Instant::now();
        entries
            .iter()
            .map(|&(primary, idle, agent)| AvailKey {
                primary,
                idle_since: t0 + Duration::from_secs(idle),
                agent,
            })
            .collect()
    }

    #[test]
    fn first_untried_in_order_then_fallback() {
        let s = set(&[(0, 5, 1), (0, 1, 2), (1, 0, 3)]);
        let mut out = Vec::new();
        pick(Strategy::LongestIdle, &s, &[], |_| 0, 0, &mut out);
        assert_eq!(out, [2]);
        pick(Strategy::LongestIdle, &s, &[2], |_| 0, 0, &mut out);
        assert_eq!(out, [1]);
        pick(Strategy::LongestIdle, &s, &[1, 2, 3], |_| 0, 0, &mut out);
        assert_eq!(out, [2]);
        pick(Strategy::RingAll, &s, &[], |_| 0, 0, &mut out);
        assert_eq!(out, [2, 1, 3]);
        pick(Strategy::RingAll, &BTreeSet::new(), &[], |_| 0, 0, &mut out);
        assert!(out.is_empty());
    }

    #[test]
    fn skills_weighted_adds_the_callers_preferences() {
        // Agent 1: queue score 3; agent 2: 2; agent 3: 1.
        let s = set(&[
            (score_key(3), 5, 1),
            (score_key(2), 1, 2),
            (score_key(1), 0, 3),
        ]);
        let mut out = Vec::new();
        pick(Strategy::SkillsWeighted, &s, &[], |_| 0, 0, &mut out);
        assert_eq!(out, [1]);
        // The caller prefers a skill agent 3 has at level 9.
        pick(
            Strategy::SkillsWeighted,
            &s,
            &[],
            |a| if a == 3 { 9 } else { 0 },
            9,
            &mut out,
        );
        assert_eq!(out, [3]);
        // Equal totals: the longer idle wins (agent 2 idle since 1 < agent 1's 5).
        pick(
            Strategy::SkillsWeighted,
            &s,
            &[],
            |a| if a == 2 { 1 } else { 0 },
            9,
            &mut out,
        );
        assert_eq!(out, [2]);
        pick(Strategy::SkillsWeighted, &s, &[1, 2, 3], |_| 0, 9, &mut out);
        assert_eq!(out, [1]);
    }

    #[test]
    fn names_round_trip() {
        for s in Strategy::ALL {
            assert_eq!(s.as_str().parse::<Strategy>(), Ok(s));
        }
        assert!("random".parse::<Strategy>().is_err());
    }
}
