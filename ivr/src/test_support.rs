//! Helpers for the machine tests: menus with generated prompts, a virtual
//! clock and a driver that plays prompts "instantly" or lets them run.

use std::sync::Arc;
use std::time::{Duration, Instant};

use hotline_config::Config;

use crate::action::{Action, PlayId};
use crate::menu::{required_prompt_names, Menu};
use crate::prompts::{Prompt, PromptSet};

/// A prompt set with every prompt `config` needs, one second of silence each.
pub(crate) fn prompts_for(config: &Config) -> PromptSet {
    let mut set = PromptSet::new("prompts");
    for l in &config.ivr.languages {
        for name in required_prompt_names(config) {
            set.insert(Prompt::from_pcm(&name, Some(l), vec![0; 8000]));
        }
    }
    set
}

pub(crate) fn menu(toml: &str) -> Arc<Menu> {
    let config = Config::from_toml(toml).expect("test config parses");
    if let Err(e) = config.validate() {
        panic!("test config invalid: {e:?}");
    }
    Arc::new(Menu::compile(&config, &prompts_for(&config)).expect("compiles"))
}

/// The prompts of a Play as "lang/name" strings.
pub(crate) fn played(action: &Action) -> Option<Vec<String>> {
    match action {
        Action::Play { prompts, .. } => Some(prompts.iter().map(|p| format!("{p:?}")).collect()),
        _ => None,
    }
}

/// The id of the last Play in `actions`.
pub(crate) fn play_id(actions: &[Action]) -> Option<PlayId> {
    actions.iter().rev().find_map(|a| match a {
        Action::Play { id, .. } => Some(*id),
        _ => None,
    })
}

/// Virtual time: `t(1500)` is 1.5 s after the test's epoch.
pub(crate) struct Clock(Instant);

impl Clock {
    pub(crate) fn new() -> Clock {
        Clock(Instant::now())
    }
    pub(crate) fn at(&self, ms: u64) -> Instant {
        self.0 + Duration::from_millis(ms)
    }
}
