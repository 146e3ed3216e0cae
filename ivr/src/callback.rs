//! The callback offer (issue 4 item 6, the caller's side).
//!
//! Run when a menu node says `callback = true`, when a queue's maximum wait is
//! reached, or when no agent is logged in. The dialogue:
//!
//! 1. "回拨本机号码请按1，输入其他号码请按2" (skipped when the caller's number is
//!    unknown or withheld: straight to 2);
//! 2. "请输入回拨号码，以井号键结束": up to 20 keys, `#` or a pause ends the entry;
//!    5 to 20 digits are accepted;
//! 3. "您输入的号码是 … 确认请按1，重新输入请按2";
//! 4. on 1 (or at once for the caller's own number) the request is emitted as
//!    [`Action::CallbackRequested`], then "我们将尽快给您回电", goodbye, hang-up.
//!
//! Each question is repeated once after a wrong or missing key ("please try
//! again"); after that, and after three re-entries, the machine says goodbye and
//! hangs up without a request. Keys interrupt the prompts (barge-in).

use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::action::{Action, CallbackRequest, PlayId};
use crate::menu::{names, Menu};
use crate::player::{earliest, Collector, Entry as Keyed, Player};
use crate::prompts::PromptRef;

/// Wait for the choice (1/2, confirmation) after its prompt.
const CHOICE_TIMEOUT: Duration = Duration::from_secs(6);
/// Wait for the first digit of a number, and between digits.
const NUMBER_FIRST_TIMEOUT: Duration = Duration::from_secs(10);
const NUMBER_INTER_TIMEOUT: Duration = Duration::from_secs(5);
/// Accepted length of a keyed number: a local number without area code has
/// 7–8 digits, a mobile 11, an international one up to 15 plus prefix.
const NUMBER_LEN: std::ops::RangeInclusive<usize> = 5..=20;
/// Repeats of a question after a wrong or missing key.
const RETRIES: u8 = 1;
/// Times the caller may start the number again from the confirmation.
const MAX_REENTRIES: u8 = 3;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stage {
    NotStarted,
    Offer,
    Enter,
    Confirm,
    /// Goodbye playing; hang up after it.
    Closing,
    Finished,
}

/// The callback dialogue of one call. Driven like [`crate::IvrSession`].
#[derive(Debug)]
pub struct CallbackOffer {
    menu: Arc<Menu>,
    language: usize,
    caller: Option<String>,
    stage: Stage,
    player: Player,
    collector: Collector,
    attempts: u8,
    reentries: u8,
    entered: String,
    request: Option<CallbackRequest>,
}

impl CallbackOffer {
    /// A callback offer in `language` to a caller whose number is
    /// `caller_number` (`None`, or anything that is not digits with an
    /// optional leading `+`, means unknown).
    pub fn new(menu: Arc<Menu>, language: &str, caller_number: Option<&str>) -> CallbackOffer {
        // Kept as given (with its `+`), so the callback dials what the trunk sent.
        let caller = caller_number
            .filter(|n| {
                let digits = n.strip_prefix('+').unwrap_or(n);
                NUMBER_LEN.contains(&digits.len()) && digits.bytes().all(|b| b.is_ascii_digit())
            })
            .map(str::to_owned);
        CallbackOffer {
            language: menu.language_index(language),
            menu,
            caller,
            stage: Stage::NotStarted,
            player: Player::default(),
            collector: Collector::new(1, CHOICE_TIMEOUT, CHOICE_TIMEOUT),
            attempts: 0,
            reentries: 0,
            entered: String::new(),
            request: None,
        }
    }

    /// Ask the first question.
    #[must_use]
    pub fn start(&mut self, now: Instant) -> Vec<Action> {
        let mut out = Vec::new();
        if self.stage == Stage::NotStarted {
            let stage = if self.caller.is_some() {
                Stage::Offer
            } else {
                Stage::Enter
            };
            self.ask(stage, now, &mut out);
        }
        out
    }

    /// A key from the caller.
    #[must_use]
    pub fn on_digit(&mut self, key: char, now: Instant) -> Vec<Action> {
        let mut out = Vec::new();
        if !matches!(self.stage, Stage::Offer | Stage::Enter | Stage::Confirm) {
            return out;
        }
        let keyed = self.collector.key(key, now, |_| false);
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

    /// Whether the dialogue is over (the last action was `Hangup`).
    pub fn is_finished(&self) -> bool {
        self.stage == Stage::Finished
    }

    /// The request, once the caller confirmed one.
    pub fn request(&self) -> Option<&CallbackRequest> {
        self.request.as_ref()
    }

    fn lang_prompt(&self, name: &'static str) -> Vec<PromptRef> {
        self.menu.lang(self.language).builtin(name)
    }

    /// The prompts of a stage's question.
    fn question(&self, stage: Stage) -> Vec<PromptRef> {
        match stage {
            Stage::Offer => self.lang_prompt(names::CALLBACK_OFFER),
            Stage::Enter => self.lang_prompt(names::CALLBACK_ENTER),
            Stage::Confirm => {
                let mut v = self.lang_prompt(names::CALLBACK_CONFIRM_PREFIX);
                v.extend(
                    self.menu
                        .lang(self.language)
                        .words(&crate::numbers::digit_words(&self.entered)),
                );
                v.extend(self.lang_prompt(names::CALLBACK_CONFIRM_SUFFIX));
                v
            }
            _ => Vec::new(),
        }
    }

    fn ask(&mut self, stage: Stage, now: Instant, out: &mut Vec<Action>) {
        if stage != self.stage {
            self.attempts = 0;
        }
        self.stage = stage;
        self.collector = match stage {
            Stage::Enter => Collector::new(
                *NUMBER_LEN.end(),
                NUMBER_FIRST_TIMEOUT,
                NUMBER_INTER_TIMEOUT,
            ),
            _ => Collector::new(1, CHOICE_TIMEOUT, CHOICE_TIMEOUT),
        };
        self.collector.reset(None);
        let mut prompts = Vec::new();
        if self.attempts > 0 {
            prompts.push(self.menu.lang(self.language).try_again.clone());
        }
        prompts.extend(self.question(stage));
        match self.player.play(prompts, now) {
            Some(play) => out.push(play),
            None => self.collector.prompt_ended(now),
        }
    }

    fn prompt_done(&mut self, now: Instant, out: &mut Vec<Action>) {
        match self.stage {
            Stage::Closing => {
                self.stage = Stage::Finished;
                out.push(Action::Hangup);
            }
            Stage::Offer | Stage::Enter | Stage::Confirm => self.collector.prompt_ended(now),
            _ => {}
        }
    }

    fn on_entry(&mut self, keyed: Keyed, now: Instant, out: &mut Vec<Action>) {
        let entry = match keyed {
            Keyed::More => return,
            Keyed::Complete(e) | Keyed::TimedOut(e) => e,
        };
        match (self.stage, entry.as_str()) {
            (Stage::Offer, "1") => {
                let number = self.caller.clone().unwrap_or_default();
                self.accept(number, true, now, out);
            }
            (Stage::Offer, "2") => self.ask(Stage::Enter, now, out),
            (Stage::Enter, e)
                if NUMBER_LEN.contains(&e.len()) && e.bytes().all(|b| b.is_ascii_digit()) =>
            {
                self.entered = entry;
                self.ask(Stage::Confirm, now, out);
            }
            (Stage::Confirm, "1") => {
                let number = std::mem::take(&mut self.entered);
                self.accept(number, false, now, out);
            }
            (Stage::Confirm, "2") if self.reentries < MAX_REENTRIES => {
                self.reentries += 1;
                self.ask(Stage::Enter, now, out);
            }
            (Stage::Confirm, "2") => self.close(Vec::new(), now, out),
            (stage, _) => {
                self.attempts += 1;
                if self.attempts <= RETRIES {
                    self.ask(stage, now, out);
                } else {
                    self.close(Vec::new(), now, out);
                }
            }
        }
    }

    fn accept(&mut self, number: String, own_number: bool, now: Instant, out: &mut Vec<Action>) {
        let request = CallbackRequest { number, own_number };
        self.request = Some(request.clone());
        out.push(Action::CallbackRequested(request));
        let accepted = self.lang_prompt(names::CALLBACK_ACCEPTED);
        self.close(accepted, now, out);
    }

    /// Play `first` and goodbye, then hang up.
    fn close(&mut self, mut prompts: Vec<PromptRef>, now: Instant, out: &mut Vec<Action>) {
        self.collector.disarm();
        self.stage = Stage::Closing;
        prompts.push(self.menu.lang(self.language).goodbye.clone());
        if let Some(play) = self.player.play(prompts, now) {
            out.push(play);
        }
    }
}
