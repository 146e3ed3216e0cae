//! The compiled menu: configuration plus prompts, checked once, shared by
//! every call.
//!
//! [`Menu::compile`] resolves every node's prompts in every language, the
//! built-in prompts (queue announcements, numbers, the callback offer, the
//! survey) and each DID's entry point. Every prompt missing from the set is
//! reported at once, each with the key path that needs it, so an operator can
//! fix the prompt directory in one pass. After that nothing can be missing at
//! run time: the machines never fail.
//!
//! A node's prompts are needed in *every* language even when only one
//! language can reach it: languages are chosen at run time and a menu edit
//! must not silently leave a language without audio. A prompt written
//! `"yue/name"` is needed in that language only.

use std::collections::HashMap;
use std::time::Duration;

use hotline_config::{split_prompt, Config};

use crate::error::{Error, MissingPrompt, Result};
use crate::numbers::{all_number_prompts, digit_words, number_words};
use crate::prompts::{Prompt, PromptRef, PromptSet};

/// Names of the built-in prompts every language needs besides those the
/// configuration names.
pub mod names {
    /// Music on hold (usually language-independent, at the top of prompts_dir).
    pub const HOLD_MUSIC: &str = "hold-music";
    /// "您前面还有" — before the number of callers ahead.
    pub const POSITION_PREFIX: &str = "queue-position-prefix";
    /// "位在等候" — after it.
    pub const POSITION_SUFFIX: &str = "queue-position-suffix";
    /// "您是下一位" — nobody ahead.
    pub const POSITION_NEXT: &str = "queue-next";
    /// "预计等候时间约" — before the minutes.
    pub const WAIT_PREFIX: &str = "queue-wait-prefix";
    /// "分钟" — after them.
    pub const WAIT_SUFFIX: &str = "queue-wait-suffix";
    /// "回拨本机号码请按1，输入其他号码请按2".
    pub const CALLBACK_OFFER: &str = "callback-offer";
    /// "请输入回拨号码，以井号键结束".
    pub const CALLBACK_ENTER: &str = "callback-enter";
    /// "您输入的号码是" — before the digits.
    pub const CALLBACK_CONFIRM_PREFIX: &str = "callback-confirm-prefix";
    /// "确认请按1，重新输入请按2" — after them.
    pub const CALLBACK_CONFIRM_SUFFIX: &str = "callback-confirm-suffix";
    /// "我们将尽快给您回电".
    pub const CALLBACK_ACCEPTED: &str = "callback-accepted";
    /// "这里是一二三四五热线，就您的诉求" — an outbound survey call's opening,
    /// before the request number read digit by digit.
    pub const SURVEY_INTRO_PREFIX: &str = "survey-intro-prefix";
    /// "进行回访" — after the request number.
    pub const SURVEY_INTRO_SUFFIX: &str = "survey-intro-suffix";

    /// Every built-in name except the number words.
    pub const ALL: [&str; 13] = [
        HOLD_MUSIC,
        POSITION_PREFIX,
        POSITION_SUFFIX,
        POSITION_NEXT,
        WAIT_PREFIX,
        WAIT_SUFFIX,
        CALLBACK_OFFER,
        CALLBACK_ENTER,
        CALLBACK_CONFIRM_PREFIX,
        CALLBACK_CONFIRM_SUFFIX,
        CALLBACK_ACCEPTED,
        SURVEY_INTRO_PREFIX,
        SURVEY_INTRO_SUFFIX,
    ];
}

/// A node of the compiled menu.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct NodeId(pub(crate) usize);

/// Where a call to a hotline number starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Entry {
    /// At this menu node.
    Node(NodeId),
    /// Straight into this queue (the DID skips the menu).
    Queue(String),
}

#[derive(Debug)]
pub(crate) struct Node {
    pub(crate) name: String,
    /// Per language.
    pub(crate) prompts: Vec<Vec<PromptRef>>,
    pub(crate) language: Option<usize>,
    pub(crate) business_line: Option<String>,
    pub(crate) exit: Exit,
}

#[derive(Debug)]
pub(crate) enum Exit {
    Next(NodeId),
    Digits(Digits),
    Queue(String),
    Emergency(String),
    Callback,
    Hangup,
}

#[derive(Debug)]
pub(crate) struct Digits {
    pub(crate) choices: Vec<(String, NodeId)>,
    pub(crate) max: usize,
    pub(crate) first: Duration,
    pub(crate) inter: Duration,
    pub(crate) retries: u8,
    /// Per language.
    pub(crate) retry_prompt: Vec<Vec<PromptRef>>,
    pub(crate) default: Option<NodeId>,
    pub(crate) timeout_next: Option<NodeId>,
}

impl Digits {
    /// The node an entry selects.
    pub(crate) fn target(&self, entry: &str) -> Option<NodeId> {
        self.choices
            .iter()
            .find(|(k, _)| k == entry)
            .map(|&(_, n)| n)
    }

    /// An entry that matches a choice no longer choice extends.
    pub(crate) fn unambiguous(&self, entry: &str) -> bool {
        self.target(entry).is_some()
            && !self
                .choices
                .iter()
                .any(|(k, _)| k.len() > entry.len() && k.starts_with(entry))
    }
}

/// The prompts of one language that are not a node's.
#[derive(Debug)]
pub(crate) struct LanguagePrompts {
    pub(crate) code: String,
    pub(crate) builtin: HashMap<&'static str, PromptRef>,
    pub(crate) numbers: HashMap<&'static str, PromptRef>,
    pub(crate) try_again: PromptRef,
    pub(crate) goodbye: PromptRef,
    pub(crate) survey_question: PromptRef,
    pub(crate) survey_retry: PromptRef,
    pub(crate) survey_thanks: PromptRef,
}

impl LanguagePrompts {
    pub(crate) fn builtin(&self, name: &'static str) -> Vec<PromptRef> {
        self.builtin.get(name).cloned().into_iter().collect()
    }

    pub(crate) fn words(&self, words: &[&'static str]) -> Vec<PromptRef> {
        words
            .iter()
            .filter_map(|w| self.numbers.get(w).cloned())
            .collect()
    }
}

/// Survey timing from `[survey]`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct SurveyTiming {
    pub(crate) timeout: Duration,
    pub(crate) retries: u8,
}

/// The menus of the configuration with their prompts, ready for calls.
/// Build it once at start-up and share it (`Arc<Menu>`).
#[derive(Debug)]
pub struct Menu {
    pub(crate) nodes: Vec<Node>,
    index: HashMap<String, NodeId>,
    start: Option<NodeId>,
    dids: HashMap<String, Entry>,
    pub(crate) languages: Vec<LanguagePrompts>,
    pub(crate) survey: SurveyTiming,
    prompts: PromptSet,
}

/// Collects prompt look-ups and what is missing.
struct Resolver<'a> {
    set: &'a PromptSet,
    missing: Vec<MissingPrompt>,
}

impl Resolver<'_> {
    /// Each reference (with the key that names it) in every language.
    fn each_language(
        &mut self,
        languages: &[String],
        refs: &[(&String, String)],
    ) -> Vec<Vec<PromptRef>> {
        languages
            .iter()
            .map(|l| refs.iter().map(|(p, key)| self.get(l, p, key)).collect())
            .collect()
    }

    /// `reference` (`name` or `lang/name`) for a call in `language`.
    fn get(&mut self, language: &str, reference: &str, needed_by: &str) -> PromptRef {
        let (fixed, name) = split_prompt(reference);
        let language = fixed.unwrap_or(language);
        match self.set.get(language, name) {
            Some(p) => p,
            None => {
                let file = self.set.path_of(language, name);
                if !self
                    .missing
                    .iter()
                    .any(|m| m.file == file && m.needed_by == needed_by)
                {
                    self.missing.push(MissingPrompt {
                        needed_by: needed_by.to_owned(),
                        file,
                    });
                }
                // Never played: compile fails when anything is missing.
                PromptRef::new(Prompt::from_pcm(name, Some(language), Vec::new()))
            }
        }
    }
}

fn config_err(path: String, message: String) -> Error {
    Error::Config { path, message }
}

impl Menu {
    /// Load the prompt set from `[ivr] prompts_dir` and compile the menus.
    pub fn load(config: &Config) -> Result<Menu> {
        let prompts = PromptSet::load(&config.ivr.prompts_dir, &config.ivr.languages)?;
        Menu::compile(config, &prompts)
    }

    /// Compile the menus of a validated configuration against a prompt set.
    /// Fails with [`Error::MissingPrompts`] listing every missing file, or
    /// [`Error::Config`] for a configuration that was not validated.
    pub fn compile(config: &Config, prompts: &PromptSet) -> Result<Menu> {
        let ivr = &config.ivr;
        if ivr.languages.is_empty() {
            return Err(config_err("ivr.languages".into(), "is empty".into()));
        }
        let mut r = Resolver {
            set: prompts,
            missing: Vec::new(),
        };
        let index: HashMap<String, NodeId> = ivr
            .nodes
            .keys()
            .enumerate()
            .map(|(i, k)| (k.clone(), NodeId(i)))
            .collect();
        let node_id = |path: String, name: &str| {
            index
                .get(name)
                .copied()
                .ok_or_else(|| config_err(path, format!("unknown IVR node {name:?}")))
        };
        let lang_index = |code: &str| ivr.languages.iter().position(|l| l == code);

        let mut nodes = Vec::with_capacity(ivr.nodes.len());
        for (name, n) in &ivr.nodes {
            let path = format!("ivr.nodes.{name}");
            let prompts = if n.hangup && n.prompt.is_empty() {
                r.each_language(
                    &ivr.languages,
                    &[(&ivr.goodbye_prompt, "ivr.goodbye_prompt".into())],
                )
            } else {
                let refs: Vec<(&String, String)> = n
                    .prompt
                    .iter()
                    .enumerate()
                    .map(|(i, p)| (p, format!("{path}.prompt[{i}]")))
                    .collect();
                r.each_language(&ivr.languages, &refs)
            };
            let language = match &n.language {
                Some(l) => Some(lang_index(l).ok_or_else(|| {
                    config_err(
                        format!("{path}.language"),
                        format!("{l:?} is not one of ivr.languages"),
                    )
                })?),
                None => None,
            };
            let exit = if let Some(next) = &n.next {
                Exit::Next(node_id(format!("{path}.next"), next)?)
            } else if let Some(q) = &n.queue {
                Exit::Queue(q.clone())
            } else if let Some(e) = &n.emergency {
                Exit::Emergency(e.clone())
            } else if n.callback {
                Exit::Callback
            } else if n.hangup {
                Exit::Hangup
            } else if !n.digits.is_empty() {
                let mut choices = Vec::new();
                for (k, target) in &n.digits {
                    choices.push((k.clone(), node_id(format!("{path}.digits.{k}"), target)?));
                }
                let retry = match &n.retry_prompt {
                    Some(p) => (p, format!("{path}.retry_prompt")),
                    None => (&ivr.retry_prompt, "ivr.retry_prompt".to_owned()),
                };
                let retry_prompt = r.each_language(&ivr.languages, &[retry]);
                Exit::Digits(Digits {
                    choices,
                    max: usize::from(n.max_digits().max(1)),
                    first: Duration::from_secs(n.first_digit_timeout_s().max(1)),
                    inter: Duration::from_secs(n.inter_digit_timeout_s().max(1)),
                    retries: n.retries(),
                    retry_prompt,
                    default: n
                        .default
                        .as_deref()
                        .map(|d| node_id(format!("{path}.default"), d))
                        .transpose()?,
                    timeout_next: n
                        .timeout_next
                        .as_deref()
                        .map(|d| node_id(format!("{path}.timeout_next"), d))
                        .transpose()?,
                })
            } else {
                return Err(config_err(path, "has no exit".into()));
            };
            nodes.push(Node {
                name: name.clone(),
                prompts,
                language,
                business_line: n.business_line.clone(),
                exit,
            });
        }

        let survey = &config.survey;
        let mut languages = Vec::new();
        for l in &ivr.languages {
            let mut builtin = HashMap::new();
            for name in names::ALL {
                builtin.insert(name, r.get(l, name, builtin_user(name)));
            }
            let mut numbers = HashMap::new();
            for name in all_number_prompts() {
                numbers.insert(
                    name,
                    r.get(l, name, "queue announcements and callback numbers"),
                );
            }
            languages.push(LanguagePrompts {
                code: l.clone(),
                builtin,
                numbers,
                try_again: r.get(l, &ivr.retry_prompt, "ivr.retry_prompt"),
                goodbye: r.get(l, &ivr.goodbye_prompt, "ivr.goodbye_prompt"),
                survey_question: r.get(l, &survey.prompt, "survey.prompt"),
                survey_retry: r.get(l, &survey.retry_prompt, "survey.retry_prompt"),
                survey_thanks: r.get(l, &survey.thanks_prompt, "survey.thanks_prompt"),
            });
        }
        if !r.missing.is_empty() {
            return Err(Error::MissingPrompts(r.missing));
        }

        let start = index.get(&ivr.start).copied();
        let mut dids = HashMap::new();
        for (i, did) in config.hotline.numbers.iter().enumerate() {
            let entry = if let Some(q) = &did.queue {
                Some(Entry::Queue(q.clone()))
            } else if let Some(m) = &did.menu {
                Some(Entry::Node(node_id(
                    format!("hotline.numbers[{i}].menu"),
                    m,
                )?))
            } else {
                start.map(Entry::Node)
            };
            if let Some(entry) = entry {
                dids.insert(did.number.clone(), entry);
            }
        }
        Ok(Menu {
            nodes,
            index,
            start,
            dids,
            languages,
            survey: SurveyTiming {
                timeout: Duration::from_secs(survey.timeout_s.max(1)),
                retries: survey.retries,
            },
            prompts: prompts.clone(),
        })
    }

    /// Where a call to hotline number `did` starts; `None` for a number the
    /// configuration does not answer (or a plain number with no menu).
    pub fn entry(&self, did: &str) -> Option<Entry> {
        self.dids.get(did).cloned()
    }

    /// The node `ivr.start`, if the menu has nodes.
    pub fn start(&self) -> Option<NodeId> {
        self.start
    }

    /// The node named `name`.
    pub fn node(&self, name: &str) -> Option<NodeId> {
        self.index.get(name).copied()
    }

    /// A node's name.
    pub fn node_name(&self, id: NodeId) -> &str {
        self.nodes.get(id.0).map_or("", |n| n.name.as_str())
    }

    /// The language codes, default first.
    pub fn languages(&self) -> impl Iterator<Item = &str> {
        self.languages.iter().map(|l| l.code.as_str())
    }

    /// Index of language `code`, the default (0) when unknown.
    pub(crate) fn language_index(&self, code: &str) -> usize {
        self.languages
            .iter()
            .position(|l| l.code == code)
            .unwrap_or(0)
    }

    pub(crate) fn lang(&self, index: usize) -> &LanguagePrompts {
        // `compile` guarantees at least one language.
        &self.languages[index.min(self.languages.len() - 1)]
    }

    /// `n` read aloud as a count in `language` (see [`crate::numbers`]).
    pub fn number_prompts(&self, language: &str, n: u32) -> Vec<PromptRef> {
        self.lang(self.language_index(language))
            .words(&number_words(n))
    }

    /// Digits read one by one (a telephone number).
    pub fn digit_prompts(&self, language: &str, digits: &str) -> Vec<PromptRef> {
        self.lang(self.language_index(language))
            .words(&digit_words(digits))
    }

    /// "您前面还有 N 位在等候", or "您是下一位" when nobody is ahead.
    pub fn position_announcement(&self, language: &str, ahead: u32) -> Vec<PromptRef> {
        let l = self.lang(self.language_index(language));
        if ahead == 0 {
            return l.builtin(names::POSITION_NEXT);
        }
        let mut v = l.builtin(names::POSITION_PREFIX);
        v.extend(l.words(&number_words(ahead)));
        v.extend(l.builtin(names::POSITION_SUFFIX));
        v
    }

    /// "预计等候时间约 N 分钟", the wait rounded up to whole minutes (at least one).
    pub fn wait_announcement(&self, language: &str, wait: Duration) -> Vec<PromptRef> {
        let l = self.lang(self.language_index(language));
        let minutes = wait.as_secs().div_ceil(60).clamp(1, u64::from(u32::MAX));
        let mut v = l.builtin(names::WAIT_PREFIX);
        v.extend(l.words(&number_words(u32::try_from(minutes).unwrap_or(u32::MAX))));
        v.extend(l.builtin(names::WAIT_SUFFIX));
        v
    }

    /// The opening of an outbound survey call: "这里是一二三四五热线，就您的诉求
    /// <number, digit by digit> 进行回访" (other characters of the number
    /// are skipped).
    pub fn survey_intro(&self, language: &str, order_number: &str) -> Vec<PromptRef> {
        let l = self.lang(self.language_index(language));
        let mut v = l.builtin(names::SURVEY_INTRO_PREFIX);
        v.extend(l.words(&digit_words(order_number)));
        v.extend(l.builtin(names::SURVEY_INTRO_SUFFIX));
        v
    }

    /// The music on hold (loop it while the caller waits).
    pub fn hold_music(&self, language: &str) -> Vec<PromptRef> {
        self.lang(self.language_index(language))
            .builtin(names::HOLD_MUSIC)
    }

    /// Any prompt of the set by name, in `language` or language-independent:
    /// for instance a pre-recorded incident announcement to pass to
    /// [`IvrSession::start`](crate::IvrSession::start).
    pub fn prompt(&self, language: &str, name: &str) -> Option<PromptRef> {
        self.prompts.get(language, name)
    }

    /// "Goodbye" in `language`.
    pub fn goodbye(&self, language: &str) -> PromptRef {
        self.lang(self.language_index(language)).goodbye.clone()
    }
}

fn builtin_user(name: &str) -> &'static str {
    if name == names::HOLD_MUSIC {
        "music on hold"
    } else if name.starts_with("queue-") {
        "queue announcements"
    } else if name.starts_with("survey-intro") {
        "outbound survey calls"
    } else {
        "callback offer"
    }
}

/// Every prompt name (without language) a configuration needs: its nodes',
/// the retry/goodbye/survey prompts and the built-in ones. Language-qualified
/// references (`"yue/x"`) are listed as `x`. For tools and tests that build a
/// prompt set.
pub fn required_prompt_names(config: &Config) -> Vec<String> {
    let mut v: Vec<String> = config
        .ivr
        .nodes
        .values()
        .flat_map(|n| n.prompt.iter().chain(&n.retry_prompt))
        .chain([
            &config.ivr.retry_prompt,
            &config.ivr.goodbye_prompt,
            &config.survey.prompt,
            &config.survey.retry_prompt,
            &config.survey.thanks_prompt,
        ])
        .map(|p| split_prompt(p).1.to_owned())
        .chain(names::ALL.iter().map(|s| (*s).to_owned()))
        .chain(all_number_prompts().into_iter().map(str::to_owned))
        .collect();
    v.sort();
    v.dedup();
    v
}
