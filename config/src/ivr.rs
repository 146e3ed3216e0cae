//! `[ivr]` (voice menus) and `[survey]` (satisfaction surveys): types and checks.
//!
//! A menu is a graph of named nodes. Each node may play prompts and set call
//! attributes (language, business line) on entry, then takes exactly one *exit*:
//! go on to another node (`next`), wait for digits and branch on them
//! (`digits`), join a queue, transfer to an emergency line, offer a callback, or
//! hang up politely. The menu engine itself is the `hotline-ivr` crate; this file
//! only describes and checks the shape.
//!
//! Prompts are named, not paths: `"welcome"` is `prompts_dir/<language>/welcome.wav`
//! in the call's language, and `"yue/language-menu-yue"` names the Cantonese file
//! whatever the call's language is (a bilingual language menu needs that). The
//! checks here are the ones possible without reading files; `hotline-ivr` reports
//! missing prompt files with the key path that names them.
//!
//! GB/T 33358 asks hotlines not to bury callers in menus, so besides the usual
//! unknown-target checks, validation rejects nodes no call can reach and
//! `next` chains that loop without ever waiting for a digit (a call would spin
//! for ever without the caller being able to do anything).

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use serde::de::{self, Deserializer};
use serde::{Deserialize, Serialize, Serializer};

use crate::validate::{is_name, node_path, Report};
use crate::Config;

/// Digits a node collects when it does not say (`max_digits`).
pub const DEFAULT_MAX_DIGITS: u8 = 1;
/// Seconds to wait for the first digit after the prompt when a node does not say.
pub const DEFAULT_FIRST_DIGIT_TIMEOUT_S: u64 = 5;
/// Seconds to wait between digits when a node does not say.
pub const DEFAULT_INTER_DIGIT_TIMEOUT_S: u64 = 3;
/// Retries after a wrong or missing entry when a node does not say.
pub const DEFAULT_RETRIES: u8 = 2;

/// Bounds of the collection settings: a caller needs a few seconds, but a
/// silent line must not hold the IVR for minutes.
pub(crate) const FIRST_DIGIT_TIMEOUT_S: std::ops::RangeInclusive<u64> = 1..=60;
const INTER_DIGIT_TIMEOUT_S: std::ops::RangeInclusive<u64> = 1..=30;
const MAX_DIGITS: std::ops::RangeInclusive<u8> = 1..=32;
pub(crate) const MAX_RETRIES: u8 = 5;

/// `[ivr]`: the voice menus.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct IvrConfig {
    /// Directory of the prompt sets: one sub-directory of WAV files per
    /// language (`cmn/welcome.wav`), plus language-independent files such as
    /// the music on hold at its top.
    pub prompts_dir: PathBuf,
    /// Languages with a prompt set, as codes (`"cmn"` Mandarin, `"yue"`
    /// Cantonese). The first is the language of a call until a node sets one.
    pub languages: Vec<String>,
    /// Node a call to a plain hotline number starts at.
    pub start: String,
    /// Prompt played before a menu is repeated after a wrong or missing entry.
    pub retry_prompt: String,
    /// Prompt played before the IVR hangs up.
    pub goodbye_prompt: String,
    /// The menu nodes, by name (`[ivr.nodes.<name>]`).
    pub nodes: BTreeMap<String, IvrNode>,
}

impl Default for IvrConfig {
    fn default() -> Self {
        IvrConfig {
            prompts_dir: PathBuf::from("prompts"),
            languages: vec!["cmn".to_owned(), "yue".to_owned()],
            start: "main".to_owned(),
            retry_prompt: "try-again".to_owned(),
            goodbye_prompt: "goodbye".to_owned(),
            nodes: BTreeMap::new(),
        }
    }
}

impl IvrConfig {
    /// The language of a call before any node sets one (the first listed).
    pub fn default_language(&self) -> &str {
        self.languages.first().map_or("cmn", String::as_str)
    }

    /// The file of prompt `name` in `language`.
    pub fn prompt_path(&self, language: &str, name: &str) -> PathBuf {
        self.prompts_dir
            .join(language)
            .join(Path::new(name).with_extension("wav"))
    }
}

/// Split a prompt reference into its fixed language, if any, and its name:
/// `"welcome"` → `(None, "welcome")`, `"yue/welcome"` → `(Some("yue"), "welcome")`.
pub fn split_prompt(reference: &str) -> (Option<&str>, &str) {
    match reference.split_once('/') {
        Some((language, name)) => (Some(language), name),
        None => (None, reference),
    }
}

/// One `[ivr.nodes.<name>]` table. Entry effects (`prompt`, `language`,
/// `business_line`) happen first, then the node's single exit.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct IvrNode {
    /// Prompts played on entry, in order: one name or a list.
    #[serde(
        deserialize_with = "one_or_many",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub prompt: Vec<String>,
    /// Sets the call's language (one of `ivr.languages`) on entry.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub language: Option<String>,
    /// Sets the call's business line (matched against `biz:<line>` skills).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub business_line: Option<String>,

    /// Exit: continue at this node after the prompts.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next: Option<String>,
    /// Exit: join this queue after the prompts.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub queue: Option<String>,
    /// Exit: transfer to this emergency number (one of `emergency.numbers`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub emergency: Option<String>,
    /// Exit: offer the caller a callback instead of waiting.
    #[serde(skip_serializing_if = "is_false")]
    pub callback: bool,
    /// Exit: hang up politely (the node's prompt, or `ivr.goodbye_prompt`).
    #[serde(skip_serializing_if = "is_false")]
    pub hangup: bool,
    /// Exit: collect digits and continue at the node the entry maps to
    /// (`{ "1" = "mandarin", "2" = "cantonese" }`). Digits typed during the
    /// prompts stop them (barge-in); `#` ends an entry early.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub digits: BTreeMap<String, String>,

    /// Most digits collected (default 1). Only with `digits`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_digits: Option<u8>,
    /// Seconds to wait for the first digit once the prompts ended (default 5).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first_digit_timeout_s: Option<u64>,
    /// Seconds to wait for each further digit (default 3).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub inter_digit_timeout_s: Option<u64>,
    /// How often the menu is repeated after a wrong or missing entry (default 2).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retries: Option<u8>,
    /// Prompt before a repeat; `ivr.retry_prompt` when absent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retry_prompt: Option<String>,
    /// Node after the last retry failed; the IVR hangs up politely when absent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub default: Option<String>,
    /// Node to go to at once when nothing is keyed (no retry): the
    /// "Mandarin after a timeout" of the language menu.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timeout_next: Option<String>,
}

impl IvrNode {
    /// `max_digits` with its default.
    pub fn max_digits(&self) -> u8 {
        self.max_digits.unwrap_or(DEFAULT_MAX_DIGITS)
    }

    /// `first_digit_timeout_s` with its default.
    pub fn first_digit_timeout_s(&self) -> u64 {
        self.first_digit_timeout_s
            .unwrap_or(DEFAULT_FIRST_DIGIT_TIMEOUT_S)
    }

    /// `inter_digit_timeout_s` with its default.
    pub fn inter_digit_timeout_s(&self) -> u64 {
        self.inter_digit_timeout_s
            .unwrap_or(DEFAULT_INTER_DIGIT_TIMEOUT_S)
    }

    /// `retries` with its default.
    pub fn retries(&self) -> u8 {
        self.retries.unwrap_or(DEFAULT_RETRIES)
    }

    /// Every node this one can lead to, with the key that names it.
    pub fn targets(&self) -> Vec<(String, &str)> {
        let mut out = Vec::new();
        if let Some(n) = &self.next {
            out.push(("next".to_owned(), n.as_str()));
        }
        for (k, n) in &self.digits {
            out.push((format!("digits.{}", quote_key(k)), n.as_str()));
        }
        if let Some(n) = &self.default {
            out.push(("default".to_owned(), n.as_str()));
        }
        if let Some(n) = &self.timeout_next {
            out.push(("timeout_next".to_owned(), n.as_str()));
        }
        out
    }

    /// The exits set, by key name.
    fn exits(&self) -> Vec<&'static str> {
        let mut exits = Vec::new();
        if self.next.is_some() {
            exits.push("next");
        }
        if self.queue.is_some() {
            exits.push("queue");
        }
        if self.emergency.is_some() {
            exits.push("emergency");
        }
        if self.callback {
            exits.push("callback");
        }
        if self.hangup {
            exits.push("hangup");
        }
        if !self.digits.is_empty() {
            exits.push("digits");
        }
        exits
    }
}

fn is_false(b: &bool) -> bool {
    !*b
}

/// A digit key as written in a key path: bare if it is a bare TOML key.
fn quote_key(k: &str) -> String {
    if is_name(k) {
        k.to_owned()
    } else {
        format!("{k:?}")
    }
}

fn one_or_many<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum OneOrMany {
        One(String),
        Many(Vec<String>),
    }
    match OneOrMany::deserialize(d) {
        Ok(OneOrMany::One(s)) => Ok(vec![s]),
        Ok(OneOrMany::Many(v)) => Ok(v),
        Err(_) => Err(de::Error::custom(
            "expected a prompt name or a list of prompt names",
        )),
    }
}

/// A daily time window, written `"09:00-20:00"`, stored as minutes after
/// midnight. `end_min` may be `1440` (`"24:00"`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TimeWindow {
    /// Start, in minutes after midnight (included).
    pub start_min: u16,
    /// End, in minutes after midnight (excluded).
    pub end_min: u16,
}

impl TimeWindow {
    /// Whether the time of day `minute` (after midnight) is inside the window.
    pub fn contains(&self, minute: u16) -> bool {
        (self.start_min..self.end_min).contains(&minute)
    }
}

impl fmt::Display for TimeWindow {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:02}:{:02}-{:02}:{:02}",
            self.start_min / 60,
            self.start_min % 60,
            self.end_min / 60,
            self.end_min % 60
        )
    }
}

impl FromStr for TimeWindow {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || format!("expected a time window like \"09:00-20:00\", found {s:?}");
        let (a, b) = s.split_once('-').ok_or_else(bad)?;
        let minute = |t: &str| -> Option<u16> {
            let (h, m) = t.trim().split_once(':')?;
            if h.is_empty() || h.len() > 2 || m.len() != 2 {
                return None;
            }
            let (h, m) = (h.parse::<u16>().ok()?, m.parse::<u16>().ok()?);
            match (h, m) {
                (24, 0) => Some(24 * 60),
                (0..=23, 0..=59) => Some(h * 60 + m),
                _ => None,
            }
        };
        Ok(TimeWindow {
            start_min: minute(a).ok_or_else(bad)?,
            end_min: minute(b).ok_or_else(bad)?,
        })
    }
}

impl Serialize for TimeWindow {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for TimeWindow {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(de::Error::custom)
    }
}

// ---------------------------------------------------------------------------
// Checks

impl Config {
    pub(crate) fn check_ivr(&self, r: &mut Report) {
        let ivr = &self.ivr;
        let mut seen = HashSet::new();
        if ivr.languages.is_empty() {
            r.err("ivr.languages", "list at least one language");
        }
        for (i, l) in ivr.languages.iter().enumerate() {
            if !is_name(l) {
                r.err(
                    format!("ivr.languages[{i}]"),
                    format!("{l:?} is not a language code like \"cmn\""),
                );
            } else if !seen.insert(l.as_str()) {
                r.err(
                    format!("ivr.languages[{i}]"),
                    format!("{l} is listed twice"),
                );
            }
        }
        self.check_prompt(r, "ivr.retry_prompt", &ivr.retry_prompt);
        self.check_prompt(r, "ivr.goodbye_prompt", &ivr.goodbye_prompt);
        if !ivr.nodes.is_empty() && !ivr.nodes.contains_key(&ivr.start) {
            r.err("ivr.start", format!("unknown IVR node {:?}", ivr.start));
        }
        for (name, node) in &ivr.nodes {
            self.check_node(r, name, node);
        }
        self.check_reachable(r);
        self.check_input_loops(r);
    }

    fn check_node(&self, r: &mut Report, name: &str, node: &IvrNode) {
        let ivr = &self.ivr;
        let path = node_path(name);
        if !is_name(name) {
            r.err(
                &path,
                "node names may contain only letters, digits, '_' and '-'",
            );
        }
        for (i, p) in node.prompt.iter().enumerate() {
            self.check_prompt(r, &format!("{path}.prompt[{i}]"), p);
        }
        if let Some(p) = &node.retry_prompt {
            self.check_prompt(r, &format!("{path}.retry_prompt"), p);
        }
        if let Some(l) = &node.language {
            if !ivr.languages.contains(l) {
                r.err(
                    format!("{path}.language"),
                    format!("{l:?} is not one of ivr.languages"),
                );
            }
        }
        if let Some(b) = &node.business_line {
            if !is_name(b) {
                r.err(
                    format!("{path}.business_line"),
                    format!("{b:?} may contain only letters, digits, '_' and '-'"),
                );
            }
        }
        match node.exits().as_slice() {
            [_] => {}
            [] => r.err(
                &path,
                "has no exit: set one of next, digits, queue, emergency, callback or hangup",
            ),
            many => r.err(&path, format!("set only one of {}", many.join(", "))),
        }
        for (key, target) in node.targets() {
            if !ivr.nodes.contains_key(target) {
                r.err(
                    format!("{path}.{key}"),
                    format!("unknown IVR node {target:?}"),
                );
            }
        }
        if let Some(queue) = &node.queue {
            if self.queue(queue).is_none() {
                r.err(format!("{path}.queue"), format!("unknown queue {queue:?}"));
            }
        }
        if let Some(number) = &node.emergency {
            if !self.emergency.numbers.contains(number) {
                r.err(
                    format!("{path}.emergency"),
                    format!("{number:?} is not one of emergency.numbers"),
                );
            }
        }
        if node.digits.is_empty() {
            let collection = [
                ("max_digits", node.max_digits.is_some()),
                (
                    "first_digit_timeout_s",
                    node.first_digit_timeout_s.is_some(),
                ),
                (
                    "inter_digit_timeout_s",
                    node.inter_digit_timeout_s.is_some(),
                ),
                ("retries", node.retries.is_some()),
                ("retry_prompt", node.retry_prompt.is_some()),
                ("default", node.default.is_some()),
                ("timeout_next", node.timeout_next.is_some()),
            ];
            for (key, set) in collection {
                if set {
                    r.err(format!("{path}.{key}"), "has no effect without digits");
                }
            }
            return;
        }
        let max = node.max_digits();
        if !MAX_DIGITS.contains(&max) {
            r.err(
                format!("{path}.max_digits"),
                format!(
                    "{max} is outside {}..={}",
                    MAX_DIGITS.start(),
                    MAX_DIGITS.end()
                ),
            );
        }
        let first = node.first_digit_timeout_s();
        if !FIRST_DIGIT_TIMEOUT_S.contains(&first) {
            r.err(
                format!("{path}.first_digit_timeout_s"),
                format!(
                    "{first} is outside {}..={} seconds",
                    FIRST_DIGIT_TIMEOUT_S.start(),
                    FIRST_DIGIT_TIMEOUT_S.end()
                ),
            );
        }
        let inter = node.inter_digit_timeout_s();
        if !INTER_DIGIT_TIMEOUT_S.contains(&inter) {
            r.err(
                format!("{path}.inter_digit_timeout_s"),
                format!(
                    "{inter} is outside {}..={} seconds",
                    INTER_DIGIT_TIMEOUT_S.start(),
                    INTER_DIGIT_TIMEOUT_S.end()
                ),
            );
        }
        if node.retries() > MAX_RETRIES {
            r.err(
                format!("{path}.retries"),
                format!("{} is more than {MAX_RETRIES}", node.retries()),
            );
        }
        for key in node.digits.keys() {
            let ok = !key.is_empty()
                && key.len() <= usize::from(max)
                && key.bytes().all(|b| b.is_ascii_digit() || b == b'*');
            if !ok {
                r.err(
                    format!("{path}.digits.{}", quote_key(key)),
                    format!("{key:?} must be 1 to max_digits ({max}) of the keys 0-9 and *"),
                );
            }
        }
    }

    /// A prompt reference: `name` or `language/name`, names being file stems.
    pub(crate) fn check_prompt(&self, r: &mut Report, path: &str, reference: &str) {
        let (language, name) = split_prompt(reference);
        if !is_name(name) {
            r.err(
                path,
                format!("{reference:?} is not a prompt name like \"welcome\" or \"yue/welcome\" (a file stem inside ivr.prompts_dir/<language>)"),
            );
        }
        if let Some(l) = language {
            if !self.ivr.languages.iter().any(|x| x == l) {
                r.err(
                    path,
                    format!("{reference:?}: {l:?} is not one of ivr.languages"),
                );
            }
        }
    }

    /// Every node must be reachable from `ivr.start` or a DID's `menu`.
    fn check_reachable(&self, r: &mut Report) {
        let nodes = &self.ivr.nodes;
        if !nodes.contains_key(&self.ivr.start) {
            // Reported at ivr.start; every node would look unreachable.
            return;
        }
        let mut todo: Vec<&str> = std::iter::once(self.ivr.start.as_str())
            .chain(
                self.hotline
                    .numbers
                    .iter()
                    .filter_map(|d| d.menu.as_deref()),
            )
            .filter(|n| nodes.contains_key(*n))
            .collect();
        let mut reached: BTreeSet<&str> = todo.iter().copied().collect();
        while let Some(at) = todo.pop() {
            for (_, target) in nodes[at].targets() {
                if nodes.contains_key(target) && reached.insert(target) {
                    todo.push(target);
                }
            }
        }
        for name in nodes.keys() {
            if !reached.contains(name.as_str()) {
                r.err(
                    node_path(name),
                    "is unreachable from ivr.start and the menus of hotline.numbers",
                );
            }
        }
    }

    /// `next` chains that come back to themselves never wait for the caller.
    /// Each cycle is reported once, at its first node in name order.
    fn check_input_loops(&self, r: &mut Report) {
        let nodes = &self.ivr.nodes;
        for (start, node) in nodes {
            let mut chain = vec![start.as_str()];
            let mut next = node.next.as_deref();
            while let Some(n) = next.filter(|n| nodes.contains_key(*n)) {
                if let Some(pos) = chain.iter().position(|c| *c == n) {
                    let cycle = &chain[pos..];
                    if cycle.iter().min() == Some(&start.as_str()) {
                        let mut names = cycle.to_vec();
                        names.push(cycle[0]);
                        r.err(
                            format!("{}.next", node_path(start)),
                            format!("loops without waiting for a digit: {}", names.join(" -> ")),
                        );
                    }
                    break;
                }
                chain.push(n);
                next = nodes[n].next.as_deref();
            }
        }
    }
}
