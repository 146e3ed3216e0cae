//! Skills: the token syntax with optional levels, and interning.
//!
//! A skill is a token such as `"lang:yue"` or `"biz:consumer"`. A token with
//! at least two colons whose last part is all digits carries a level from 1
//! to [`MAX_LEVEL`] (`"lang:yue:3"`); every other token is level 1, so
//! configurations written before levels existed keep their meaning. On an
//! agent the level is proficiency; on a queue, the minimum level required.
//! (The configuration crate validates the same syntax with key paths.)
//!
//! Names are interned to small integers once, at start-up, so that matching
//! during a decision compares integers, not strings.

use std::collections::HashMap;

/// Highest skill level.
pub const MAX_LEVEL: u8 = 9;

/// Split a token into name and level; `Err` for a level out of range.
pub fn parse(token: &str) -> Result<(&str, u8), String> {
    let Some((name, last)) = token.rsplit_once(':') else {
        return Ok((token, 1));
    };
    if !(name.contains(':') && !last.is_empty() && last.bytes().all(|b| b.is_ascii_digit())) {
        return Ok((token, 1));
    }
    match last.parse::<u8>() {
        Ok(level @ 1..=MAX_LEVEL) => Ok((name, level)),
        _ => Err(format!(
            "skill {token:?}: the level must be 1 to {MAX_LEVEL}"
        )),
    }
}

/// An interned skill name.
pub(crate) type SkillId = u16;

/// A set of skills with levels, sorted by id.
#[derive(Debug, Clone, Default)]
pub(crate) struct SkillSet(Vec<(SkillId, u8)>);

impl SkillSet {
    /// The level of `skill`, 0 when absent.
    pub(crate) fn level(&self, skill: SkillId) -> u8 {
        self.0
            .binary_search_by_key(&skill, |&(id, _)| id)
            .map_or(0, |i| self.0[i].1)
    }

    /// Whether every skill of `required` is here at its level or above.
    pub(crate) fn covers(&self, required: &SkillSet) -> bool {
        required.0.iter().all(|&(id, min)| self.level(id) >= min)
    }

    /// Sum of this set's levels over the skills of `wanted`.
    pub(crate) fn score(&self, wanted: &SkillSet) -> u32 {
        wanted
            .0
            .iter()
            .map(|&(id, _)| u32::from(self.level(id)))
            .sum()
    }

    /// The skills and their levels.
    pub(crate) fn entries(&self) -> &[(SkillId, u8)] {
        &self.0
    }

    /// The skills of this set that `other` lacks.
    pub(crate) fn minus(&self, other: &SkillSet) -> SkillSet {
        SkillSet(
            self.0
                .iter()
                .copied()
                .filter(|&(id, _)| other.level(id) == 0)
                .collect(),
        )
    }
}

/// Skill names seen in the settings.
#[derive(Debug, Default)]
pub(crate) struct SkillTable(HashMap<String, SkillId>);

impl SkillTable {
    /// Parse and intern tokens; a skill listed twice keeps its highest level.
    pub(crate) fn intern(&mut self, tokens: &[String]) -> Result<SkillSet, String> {
        let mut set: Vec<(SkillId, u8)> = Vec::with_capacity(tokens.len());
        for token in tokens {
            let (name, level) = parse(token)?;
            let next = SkillId::try_from(self.0.len()).map_err(|_| "too many skills".to_owned())?;
            let id = *self.0.entry(name.to_owned()).or_insert(next);
            match set.iter_mut().find(|(i, _)| *i == id) {
                Some(entry) => entry.1 = entry.1.max(level),
                None => set.push((id, level)),
            }
        }
        set.sort_unstable();
        Ok(SkillSet(set))
    }

    /// Look up skills without adding names: unknown ones are dropped (no
    /// agent has them, so they cannot change a choice).
    pub(crate) fn lookup<'a>(&self, names: impl Iterator<Item = &'a str>) -> SkillSet {
        let mut set: Vec<(SkillId, u8)> = names
            .filter_map(|n| self.0.get(n).map(|&id| (id, 1)))
            .collect();
        set.sort_unstable();
        set.dedup_by_key(|e| e.0);
        SkillSet(set)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_parse_and_old_tokens_keep_their_meaning() {
        assert_eq!(parse("lang:yue"), Ok(("lang:yue", 1)));
        assert_eq!(parse("lang:yue:3"), Ok(("lang:yue", 3)));
        assert_eq!(parse("floor:3"), Ok(("floor:3", 1)));
        assert!(parse("lang:yue:0").is_err());
        assert!(parse("lang:yue:300").is_err());
    }

    #[test]
    fn covers_and_scores_by_level() {
        let mut t = SkillTable::default();
        let agent = t
            .intern(&["lang:yue:3".into(), "biz:consumer".into()])
            .expect("valid");
        let need2 = t.intern(&["lang:yue:2".into()]).expect("valid");
        let need4 = t.intern(&["lang:yue:4".into()]).expect("valid");
        assert!(agent.covers(&need2));
        assert!(!agent.covers(&need4));
        let wanted = t.lookup(["lang:yue", "biz:consumer", "biz:unknown"].into_iter());
        assert_eq!(wanted.entries().len(), 2);
        assert_eq!(agent.score(&wanted), 4);
    }
}
