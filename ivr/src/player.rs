//! Building blocks shared by the IVR machines: playback tracking and digit
//! collection, both driven by the caller's clock.

use std::time::{Duration, Instant};

use crate::action::{Action, PlayId};
use crate::prompts::PromptRef;

/// Slack after a playback's nominal length before the machine assumes the
/// driver's "done" was lost and moves on (so a lost event cannot wedge a call).
pub(crate) const PLAYBACK_GRACE: Duration = Duration::from_secs(2);

/// What is playing, and until when at the latest.
#[derive(Debug, Default)]
pub(crate) struct Player {
    next_id: PlayId,
    current: Option<(PlayId, Instant)>,
}

impl Player {
    /// Start playing `prompts`; `None` when there is nothing to play (the
    /// caller continues at once).
    pub(crate) fn play(&mut self, prompts: Vec<PromptRef>, now: Instant) -> Option<Action> {
        if prompts.is_empty() {
            self.current = None;
            return None;
        }
        self.next_id = self.next_id.wrapping_add(1);
        let length: Duration = prompts.iter().map(|p| p.duration()).sum();
        self.current = Some((self.next_id, now + length + PLAYBACK_GRACE));
        Some(Action::Play {
            id: self.next_id,
            prompts,
        })
    }

    /// Stop what is playing, if anything.
    pub(crate) fn stop(&mut self) -> Option<Action> {
        self.current.take().map(|_| Action::StopPlayback)
    }

    /// The driver reports playback `id` done: true if it was the current one.
    pub(crate) fn done(&mut self, id: PlayId) -> bool {
        if self.current.is_some_and(|(c, _)| c == id) {
            self.current = None;
            true
        } else {
            false
        }
    }

    /// True (once) when the current playback has overrun its deadline.
    pub(crate) fn overrun(&mut self, now: Instant) -> bool {
        if self.current.is_some_and(|(_, d)| now >= d) {
            self.current = None;
            true
        } else {
            false
        }
    }

    pub(crate) fn deadline(&self) -> Option<Instant> {
        self.current.map(|(_, d)| d)
    }
}

/// Digit collection: limits and the entry so far.
#[derive(Debug, Clone)]
pub(crate) struct Collector {
    pub(crate) max: usize,
    pub(crate) first: Duration,
    pub(crate) inter: Duration,
    buf: String,
    deadline: Option<Instant>,
}

/// What a key or a timeout did to the entry.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Entry {
    /// Keep collecting.
    More,
    /// The entry is complete (max digits, `#`, or a choice matched early).
    Complete(String),
    /// The timer ran out; the entry so far (empty if nothing was keyed).
    TimedOut(String),
}

impl Collector {
    pub(crate) fn new(max: usize, first: Duration, inter: Duration) -> Collector {
        Collector {
            max,
            first,
            inter,
            buf: String::new(),
            deadline: None,
        }
    }

    /// Clear the entry, and wait for the first key from `now` (`Some`) or not
    /// yet (`None`: a prompt is still playing; keys are still taken).
    pub(crate) fn reset(&mut self, now: Option<Instant>) {
        self.buf.clear();
        self.deadline = now.map(|n| n + self.first);
    }

    /// The prompt ended: start the first-key timer unless keys came already.
    pub(crate) fn prompt_ended(&mut self, now: Instant) {
        if self.buf.is_empty() {
            self.deadline = Some(now + self.first);
        }
    }

    /// Stop timing (the machine moved on).
    pub(crate) fn disarm(&mut self) {
        self.deadline = None;
    }

    /// A key. `complete` says whether an entry is already unambiguous.
    pub(crate) fn key(
        &mut self,
        key: char,
        now: Instant,
        complete: impl Fn(&str) -> bool,
    ) -> Entry {
        if key == '#' {
            self.deadline = None;
            return Entry::Complete(std::mem::take(&mut self.buf));
        }
        self.buf.push(key);
        if self.buf.chars().count() >= self.max || complete(&self.buf) {
            self.deadline = None;
            return Entry::Complete(std::mem::take(&mut self.buf));
        }
        self.deadline = Some(now + self.inter);
        Entry::More
    }

    pub(crate) fn poll(&mut self, now: Instant) -> Entry {
        match self.deadline {
            Some(d) if now >= d => {
                self.deadline = None;
                Entry::TimedOut(std::mem::take(&mut self.buf))
            }
            _ => Entry::More,
        }
    }

    pub(crate) fn deadline(&self) -> Option<Instant> {
        self.deadline
    }
}

/// The earlier of two optional instants.
pub(crate) fn earliest(a: Option<Instant>, b: Option<Instant>) -> Option<Instant> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}
