//! The topic classification tree (`[tickets] topics`).
//!
//! Codes are dotted paths of short segments, `"urban"`, `"urban.roads"`,
//! `"urban.roads.lighting"`: a code's parent is the code without its last
//! segment, which must exist in the tree. Reports group by any level ("all of
//! `urban`") with a prefix match on the code, which is why the code carries
//! its path rather than a number.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::error::{DomainError, Result};

/// A topic code such as `"urban.roads"`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct TopicCode(pub String);

impl TopicCode {
    /// A code from text (not checked against a tree).
    pub fn new(code: impl Into<String>) -> Self {
        TopicCode(code.into())
    }

    /// The parent code, `None` at the root.
    pub fn parent(&self) -> Option<TopicCode> {
        self.0
            .rsplit_once('.')
            .map(|(p, _)| TopicCode(p.to_owned()))
    }

    /// Whether `self` is `ancestor` or below it.
    pub fn is_within(&self, ancestor: &TopicCode) -> bool {
        self.0 == ancestor.0
            || (self.0.starts_with(&ancestor.0) && self.0[ancestor.0.len()..].starts_with('.'))
    }
}

impl fmt::Display for TopicCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// One node of the tree.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Topic {
    /// Dotted code.
    pub code: TopicCode,
    /// Name shown to agents, e.g. `"道路照明"`.
    pub name: String,
}

/// The validated tree.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TopicTree {
    topics: BTreeMap<TopicCode, String>,
}

impl TopicTree {
    /// Build the tree from `(code, name)` pairs in any order. Errors name the
    /// entry as `tickets.topics[i]`.
    pub fn new<I, C, N>(entries: I) -> Result<TopicTree>
    where
        I: IntoIterator<Item = (C, N)>,
        C: Into<String>,
        N: Into<String>,
    {
        let entries: Vec<(String, String)> = entries
            .into_iter()
            .map(|(c, n)| (c.into(), n.into()))
            .collect();
        let mut topics = BTreeMap::new();
        for (i, (code, name)) in entries.iter().enumerate() {
            let key = format!("tickets.topics[{i}]");
            if let Err(why) = check_code(code) {
                return Err(DomainError::Setting { key, message: why });
            }
            if name.trim().is_empty() {
                return Err(DomainError::Setting {
                    key: format!("{key}.name"),
                    message: "must not be empty".into(),
                });
            }
            if topics
                .insert(TopicCode(code.clone()), name.clone())
                .is_some()
            {
                return Err(DomainError::Setting {
                    key,
                    message: format!("duplicate code {code:?}"),
                });
            }
        }
        for (i, (code, _)) in entries.iter().enumerate() {
            if let Some(parent) = TopicCode(code.clone()).parent() {
                if !topics.contains_key(&parent) {
                    return Err(DomainError::Setting {
                        key: format!("tickets.topics[{i}]"),
                        message: format!("parent {parent} of {code:?} is not in the tree"),
                    });
                }
            }
        }
        Ok(TopicTree { topics })
    }

    /// Whether `code` is in the tree.
    pub fn contains(&self, code: &TopicCode) -> bool {
        self.topics.contains_key(code)
    }

    /// The name of `code`.
    pub fn name(&self, code: &TopicCode) -> Option<&str> {
        self.topics.get(code).map(String::as_str)
    }

    /// The path from the root to `code` (inclusive), for display
    /// ("城乡建设 › 道路 › 照明"); empty if unknown.
    pub fn path(&self, code: &TopicCode) -> Vec<Topic> {
        let mut out = Vec::new();
        let mut at = Some(code.clone());
        while let Some(c) = at {
            let Some(name) = self.topics.get(&c) else {
                return Vec::new();
            };
            at = c.parent();
            out.push(Topic {
                code: c,
                name: name.clone(),
            });
        }
        out.reverse();
        out
    }

    /// Every topic, in code order (parents before children).
    pub fn topics(&self) -> impl Iterator<Item = Topic> + '_ {
        self.topics.iter().map(|(code, name)| Topic {
            code: code.clone(),
            name: name.clone(),
        })
    }

    /// Number of topics.
    pub fn len(&self) -> usize {
        self.topics.len()
    }

    /// Whether the tree is empty.
    pub fn is_empty(&self) -> bool {
        self.topics.is_empty()
    }
}

/// A code is one or more `.`-separated segments of `a-z`, `0-9`, `_`, `-`.
pub fn check_code(code: &str) -> std::result::Result<(), String> {
    if code.is_empty() || code.len() > 64 {
        return Err(format!("code {code:?} must be 1 to 64 characters"));
    }
    for seg in code.split('.') {
        if seg.is_empty()
            || !seg
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-')
        {
            return Err(format!(
                "code {code:?}: segments of a-z, 0-9, '_' or '-' separated by '.'"
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tree() -> TopicTree {
        TopicTree::new([
            ("urban.roads", "道路"),
            ("urban", "城乡建设"),
            ("urban.roads.lighting", "路灯"),
            ("social", "社会保障"),
        ])
        .unwrap()
    }

    #[test]
    fn builds_in_any_order_and_walks_paths() {
        let t = tree();
        assert_eq!(t.len(), 4);
        let path: Vec<String> = t
            .path(&TopicCode::new("urban.roads.lighting"))
            .into_iter()
            .map(|t| t.name)
            .collect();
        assert_eq!(path, ["城乡建设", "道路", "路灯"]);
        assert!(t.path(&TopicCode::new("urban.water")).is_empty());
        assert!(t.contains(&TopicCode::new("social")));
        assert!(!t.contains(&TopicCode::new("soc")));
    }

    #[test]
    fn within_is_by_segment() {
        let c = TopicCode::new("urban.roads");
        assert!(c.is_within(&TopicCode::new("urban")));
        assert!(c.is_within(&c));
        assert!(!TopicCode::new("urbanism").is_within(&TopicCode::new("urban")));
    }

    #[test]
    fn rejects_orphans_duplicates_and_bad_codes() {
        let e = TopicTree::new([("urban.roads", "道路")]).unwrap_err();
        assert!(matches!(e, DomainError::Setting { ref key, .. } if key == "tickets.topics[0]"));
        let e = TopicTree::new([("a", "A"), ("a", "B")]).unwrap_err();
        assert!(e.to_string().contains("duplicate"), "{e}");
        for bad in ["", "Urban", "a..b", "a.", "路", "a b"] {
            assert!(TopicTree::new([(bad, "x")]).is_err(), "{bad:?}");
        }
        assert!(TopicTree::new([("a", " ")]).is_err());
    }
}
