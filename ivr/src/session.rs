//! One call's walk through the menu.
//!
//! The driver creates an [`IvrSession`] when a call is answered, calls
//! [`start`](IvrSession::start) with the entry of the dialled number, then
//! feeds it keys ([`on_digit`](IvrSession::on_digit)), the end of each playback
//! ([`on_playback_done`](IvrSession::on_playback_done)) and timer wake-ups
//! ([`poll`](IvrSession::poll) at [`next_wake`](IvrSession::next_wake)),
//! applying the returned [`Action`]s in order. The session is finished once it
//! has returned `Enqueue`, `TransferEmergency`, `OfferCallback` or `Hangup`.
//!
//! Behaviour, node by node:
//!
//! - on entry the node's attributes are set (a new language takes effect for
//!   the node's own prompts), then its prompts play;
//! - in a node with `digits`, keys are taken while the prompts play: the first
//!   key stops them (barge-in). Elsewhere keys are ignored, and so they are
//!   during the incident announcement, which every caller must hear (§17.3);
//! - the first-key timer starts when the prompts end; each key restarts the
//!   inter-key timer; an entry completes at `max_digits`, at `#`, when it
//!   matches a choice no longer choice extends, or when the inter-key timer
//!   runs out;
//! - nothing keyed: `timeout_next` at once if set; otherwise, like a wrong
//!   entry, the retry prompt and the node's prompts are played again, up to
//!   `retries` times; then `default`, or a polite goodbye and hang-up.

use std::sync::Arc;
use std::time::Instant;

use crate::action::{Action, Attr, PathStep, PlayId};
use crate::menu::{Entry, Exit, Menu, NodeId};
use crate::player::{earliest, Collector, Entry as Keyed, Player};
use crate::prompts::PromptRef;

#[derive(Debug, Clone, PartialEq, Eq)]
enum State {
    NotStarted,
    /// The incident announcement plays; then the entry.
    Announcement(Entry),
    InNode(NodeId),
    /// Goodbye playing; hang up after it.
    Leaving,
    Finished,
}

/// The IVR state of one call. See the module documentation.
#[derive(Debug)]
pub struct IvrSession {
    menu: Arc<Menu>,
    language: usize,
    business_line: Option<String>,
    state: State,
    player: Player,
    collector: Option<Collector>,
    attempts: u8,
    path: Vec<PathStep>,
}

impl IvrSession {
    /// A session on `menu`, in the default language.
    pub fn new(menu: Arc<Menu>) -> IvrSession {
        IvrSession {
            menu,
            language: 0,
            business_line: None,
            state: State::NotStarted,
            player: Player::default(),
            collector: None,
            attempts: 0,
            path: Vec::new(),
        }
    }

    /// Begin at `entry` ([`Menu::entry`] of the dialled number). The incident
    /// `announcement`, if a supervisor set one, plays first and cannot be
    /// skipped. Calling it twice does nothing the second time.
    #[must_use]
    pub fn start(
        &mut self,
        entry: Entry,
        now: Instant,
        announcement: Option<PromptRef>,
    ) -> Vec<Action> {
        let mut out = Vec::new();
        if self.state != State::NotStarted {
            return out;
        }
        match announcement.and_then(|a| self.player.play(vec![a], now)) {
            Some(play) => {
                self.state = State::Announcement(entry);
                out.push(play);
            }
            None => self.begin(entry, now, &mut out),
        }
        out
    }

    /// A key from the caller (RFC 4733, SIP INFO or in-band).
    #[must_use]
    pub fn on_digit(&mut self, key: char, now: Instant) -> Vec<Action> {
        let mut out = Vec::new();
        let State::InNode(id) = self.state else {
            return out;
        };
        let menu = Arc::clone(&self.menu);
        let Exit::Digits(digits) = &menu.nodes[id.0].exit else {
            return out;
        };
        let Some(collector) = self.collector.as_mut() else {
            return out;
        };
        let keyed = collector.key(key, now, |e| digits.unambiguous(e));
        if let Some(stop) = self.player.stop() {
            out.push(stop);
        }
        if keyed != Keyed::More {
            self.on_entry(id, keyed, now, &mut out);
        }
        out
    }

    /// The driver finished playing [`Action::Play`] `id`.
    #[must_use]
    pub fn on_playback_done(&mut self, id: PlayId, now: Instant) -> Vec<Action> {
        let mut out = Vec::new();
        if self.player.done(id) {
            self.prompts_done(now, &mut out);
        }
        out
    }

    /// Timers: call at [`next_wake`](Self::next_wake) (earlier is harmless).
    #[must_use]
    pub fn poll(&mut self, now: Instant) -> Vec<Action> {
        let mut out = Vec::new();
        if self.player.overrun(now) {
            self.prompts_done(now, &mut out);
        }
        if let State::InNode(id) = self.state {
            if let Some(keyed) = self.collector.as_mut().map(|c| c.poll(now)) {
                if keyed != Keyed::More {
                    self.on_entry(id, keyed, now, &mut out);
                }
            }
        }
        out
    }

    /// When to call [`poll`](Self::poll) next, if at all.
    pub fn next_wake(&self) -> Option<Instant> {
        if self.is_finished() {
            return None;
        }
        earliest(
            self.player.deadline(),
            self.collector.as_ref().and_then(Collector::deadline),
        )
    }

    /// Whether the session has handed the call on (or hung up).
    pub fn is_finished(&self) -> bool {
        self.state == State::Finished
    }

    /// The nodes visited and the entries that left them, for the screen pop.
    pub fn path(&self) -> &[PathStep] {
        &self.path
    }

    /// The call's language code.
    pub fn language(&self) -> &str {
        &self.menu.lang(self.language).code
    }

    /// The call's business line, if a node set one.
    pub fn business_line(&self) -> Option<&str> {
        self.business_line.as_deref()
    }

    fn begin(&mut self, entry: Entry, now: Instant, out: &mut Vec<Action>) {
        match entry {
            Entry::Node(id) => self.enter(id, now, out, 0),
            Entry::Queue(queue) => {
                self.state = State::Finished;
                out.push(Action::Enqueue { queue });
            }
        }
    }

    fn enter(&mut self, id: NodeId, now: Instant, out: &mut Vec<Action>, hops: usize) {
        let menu = Arc::clone(&self.menu);
        // Validation forbids `next` loops; this guard only keeps an
        // unvalidated configuration from spinning.
        let Some(node) = menu.nodes.get(id.0).filter(|_| hops <= menu.nodes.len()) else {
            self.leave(now, out);
            return;
        };
        self.state = State::InNode(id);
        self.attempts = 0;
        self.path.push(PathStep {
            node: node.name.clone(),
            input: None,
        });
        if let Some(l) = node.language {
            self.language = l;
            out.push(Action::SetAttr(Attr::Language(menu.lang(l).code.clone())));
        }
        if let Some(b) = &node.business_line {
            self.business_line = Some(b.clone());
            out.push(Action::SetAttr(Attr::BusinessLine(b.clone())));
        }
        self.collector = match &node.exit {
            Exit::Digits(d) => {
                let mut c = Collector::new(d.max, d.first, d.inter);
                c.reset(None);
                Some(c)
            }
            _ => None,
        };
        let prompts = node.prompts.get(self.language).cloned().unwrap_or_default();
        match self.player.play(prompts, now) {
            Some(play) => out.push(play),
            None => self.after_node_prompts(id, now, out, hops),
        }
    }

    fn prompts_done(&mut self, now: Instant, out: &mut Vec<Action>) {
        match std::mem::replace(&mut self.state, State::Finished) {
            State::Announcement(entry) => self.begin(entry, now, out),
            State::InNode(id) => {
                self.state = State::InNode(id);
                self.after_node_prompts(id, now, out, 0);
            }
            State::Leaving => out.push(Action::Hangup),
            other => self.state = other,
        }
    }

    fn after_node_prompts(&mut self, id: NodeId, now: Instant, out: &mut Vec<Action>, hops: usize) {
        let menu = Arc::clone(&self.menu);
        let Some(node) = menu.nodes.get(id.0) else {
            return;
        };
        match &node.exit {
            Exit::Next(next) => self.enter(*next, now, out, hops + 1),
            Exit::Digits(_) => {
                if let Some(c) = self.collector.as_mut() {
                    c.prompt_ended(now);
                }
            }
            Exit::Queue(q) => self.finish(Action::Enqueue { queue: q.clone() }, out),
            Exit::Emergency(n) => self.finish(Action::TransferEmergency { number: n.clone() }, out),
            Exit::Callback => self.finish(Action::OfferCallback, out),
            Exit::Hangup => self.finish(Action::Hangup, out),
        }
    }

    fn finish(&mut self, action: Action, out: &mut Vec<Action>) {
        self.collector = None;
        self.state = State::Finished;
        out.push(action);
    }

    fn on_entry(&mut self, id: NodeId, keyed: Keyed, now: Instant, out: &mut Vec<Action>) {
        let menu = Arc::clone(&self.menu);
        let Exit::Digits(digits) = &menu.nodes[id.0].exit else {
            return;
        };
        let entry = match keyed {
            Keyed::More => return,
            Keyed::TimedOut(e) if e.is_empty() => {
                if let Some(next) = digits.timeout_next {
                    self.enter(next, now, out, 0);
                } else {
                    self.retry(id, now, out);
                }
                return;
            }
            Keyed::TimedOut(e) | Keyed::Complete(e) => e,
        };
        match digits.target(&entry) {
            Some(next) => {
                if let Some(step) = self.path.last_mut() {
                    step.input = Some(entry);
                }
                self.enter(next, now, out, 0);
            }
            None => self.retry(id, now, out),
        }
    }

    fn retry(&mut self, id: NodeId, now: Instant, out: &mut Vec<Action>) {
        let menu = Arc::clone(&self.menu);
        let node = &menu.nodes[id.0];
        let Exit::Digits(digits) = &node.exit else {
            return;
        };
        self.attempts += 1;
        if self.attempts <= digits.retries {
            if let Some(c) = self.collector.as_mut() {
                c.reset(None);
            }
            let mut prompts = digits
                .retry_prompt
                .get(self.language)
                .cloned()
                .unwrap_or_default();
            prompts.extend(node.prompts.get(self.language).cloned().unwrap_or_default());
            match self.player.play(prompts, now) {
                Some(play) => out.push(play),
                None => self.after_node_prompts(id, now, out, 0),
            }
        } else if let Some(default) = digits.default {
            self.enter(default, now, out, 0);
        } else {
            self.leave(now, out);
        }
    }

    /// Say goodbye, then hang up.
    fn leave(&mut self, now: Instant, out: &mut Vec<Action>) {
        self.collector = None;
        let goodbye = self.menu.lang(self.language).goodbye.clone();
        match self.player.play(vec![goodbye], now) {
            Some(play) => {
                self.state = State::Leaving;
                out.push(play);
            }
            None => self.finish(Action::Hangup, out),
        }
    }
}
