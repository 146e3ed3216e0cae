//! The satisfaction survey (§18–§22): one key from 1 to 5.
//!
//! Used for the reception-stage survey (the caller stays on the line after
//! the agent hung up) and the handling-stage one (an outbound call once a work
//! order is done): the dialogue is the same. The question plays; a key 1–5
//! during or after it is the rating (1 非常满意 very satisfied, 2 满意 satisfied,
//! 3 基本满意 basically satisfied, 4 不满意 dissatisfied, 5 非常不满意 very
//! dissatisfied). Any other key, or none within `[survey] timeout_s`, plays the
//! retry prompt and the question again, `[survey] retries` times (one by
//! default, §19); then the result is "no rating". Either way the result is
//! emitted as [`Action::SurveyResult`] before the thanks, so it is stored even
//! if the caller hangs up during them; then the machine hangs up.
//!
//! If the caller hangs up before the result, there is no result: the driver
//! records what its rules say (§20: no survey when the caller hung up first).

use std::sync::Arc;
use std::time::Instant;

use crate::action::{Action, PlayId, SurveyOutcome};
use crate::menu::Menu;
use crate::player::{earliest, Collector, Entry as Keyed, Player};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stage {
    NotStarted,
    Asking,
    Thanking,
    Finished,
}

/// One survey dialogue. Driven like [`crate::IvrSession`].
#[derive(Debug)]
pub struct Survey {
    menu: Arc<Menu>,
    language: usize,
    stage: Stage,
    player: Player,
    collector: Collector,
    attempts: u8,
    outcome: Option<SurveyOutcome>,
    /// Played once before the first question (an outbound call's opening).
    intro: Vec<crate::prompts::PromptRef>,
}

impl Survey {
    /// A survey in `language` (the call's; the default if unknown).
    pub fn new(menu: Arc<Menu>, language: &str) -> Survey {
        let timeout = menu.survey.timeout;
        Survey {
            language: menu.language_index(language),
            menu,
            stage: Stage::NotStarted,
            player: Player::default(),
            collector: Collector::new(1, timeout, timeout),
            attempts: 0,
            outcome: None,
            intro: Vec::new(),
        }
    }

    /// A survey whose first question is preceded by `intro` (the opening of
    /// an outbound survey call, [`Menu::survey_intro`]). A key pressed during
    /// the opening already counts as the answer.
    pub fn with_intro(
        menu: Arc<Menu>,
        language: &str,
        intro: Vec<crate::prompts::PromptRef>,
    ) -> Survey {
        let mut s = Survey::new(menu, language);
        s.intro = intro;
        s
    }

    /// Ask the question.
    #[must_use]
    pub fn start(&mut self, now: Instant) -> Vec<Action> {
        let mut out = Vec::new();
        if self.stage == Stage::NotStarted {
            self.ask(now, &mut out);
        }
        out
    }

    /// A key from the caller.
    #[must_use]
    pub fn on_digit(&mut self, key: char, now: Instant) -> Vec<Action> {
        let mut out = Vec::new();
        if self.stage != Stage::Asking {
            return out;
        }
        let keyed = self.collector.key(key, now, |_| true);
        if let Some(stop) = self.player.stop() {
            out.push(stop);
        }
        self.on_entry(keyed, now, &mut out);
        out
    }

    /// The driver finished playing [`Action::Play`] `id`.
    #[must_use]
    pub fn on_playback_done(&mut self, id: PlayId, now: Instant) -> Vec<Action> {
        let mut out = Vec::new();
        if self.player.done(id) {
            self.prompt_done(now, &mut out);
        }
        out
    }

    /// Timers: call at [`next_wake`](Self::next_wake).
    #[must_use]
    pub fn poll(&mut self, now: Instant) -> Vec<Action> {
        let mut out = Vec::new();
        if self.player.overrun(now) {
            self.prompt_done(now, &mut out);
        }
        let keyed = self.collector.poll(now);
        self.on_entry(keyed, now, &mut out);
        out
    }

    /// When to call [`poll`](Self::poll) next.
    pub fn next_wake(&self) -> Option<Instant> {
        if self.stage == Stage::Finished {
            return None;
        }
        earliest(self.player.deadline(), self.collector.deadline())
    }

    /// The result, once known.
    pub fn outcome(&self) -> Option<SurveyOutcome> {
        self.outcome
    }

    /// Whether the dialogue is over (the last action was `Hangup`).
    pub fn is_finished(&self) -> bool {
        self.stage == Stage::Finished
    }

    fn ask(&mut self, now: Instant, out: &mut Vec<Action>) {
        self.stage = Stage::Asking;
        self.collector.reset(None);
        let l = self.menu.lang(self.language);
        let mut prompts = std::mem::take(&mut self.intro);
        if self.attempts > 0 {
            prompts.push(l.survey_retry.clone());
        }
        prompts.push(l.survey_question.clone());
        match self.player.play(prompts, now) {
            Some(play) => out.push(play),
            None => self.collector.prompt_ended(now),
        }
    }

    fn prompt_done(&mut self, now: Instant, out: &mut Vec<Action>) {
        match self.stage {
            Stage::Asking => self.collector.prompt_ended(now),
            Stage::Thanking => {
                self.stage = Stage::Finished;
                out.push(Action::Hangup);
            }
            _ => {}
        }
    }

    fn on_entry(&mut self, keyed: Keyed, now: Instant, out: &mut Vec<Action>) {
        let entry = match keyed {
            Keyed::More => return,
            Keyed::Complete(e) | Keyed::TimedOut(e) => e,
        };
        let rating = match entry.as_bytes() {
            [k @ b'1'..=b'5'] => Some(k - b'0'),
            _ => None,
        };
        match rating {
            Some(r) => self.conclude(SurveyOutcome::Rated(r), now, out),
            None => {
                self.attempts += 1;
                if self.attempts <= self.menu.survey.retries {
                    self.ask(now, out);
                } else {
                    self.conclude(SurveyOutcome::NoRating, now, out);
                }
            }
        }
    }

    fn conclude(&mut self, outcome: SurveyOutcome, now: Instant, out: &mut Vec<Action>) {
        self.outcome = Some(outcome);
        self.collector.disarm();
        out.push(Action::SurveyResult(outcome));
        self.stage = Stage::Thanking;
        let thanks = self.menu.lang(self.language).survey_thanks.clone();
        if let Some(play) = self.player.play(vec![thanks], now) {
            out.push(play);
        }
    }
}
