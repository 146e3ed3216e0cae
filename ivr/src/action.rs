//! What the IVR machines ask their driver to do.

use std::fmt;

use crate::prompts::PromptRef;

/// Identifies one [`Action::Play`]; the driver hands it back in
/// `on_playback_done` so a late "done" for a stopped playback is ignored.
pub type PlayId = u32;

/// An instruction from a machine ([`crate::IvrSession`],
/// [`crate::CallbackOffer`], [`crate::Survey`]) to the call's media driver.
/// Apply them in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Play these prompts one after the other to the caller, replacing
    /// whatever is playing; report `on_playback_done(id, now)` when the last
    /// one has finished. A stopped or replaced playback is not reported.
    Play {
        /// Handed back when the sequence has finished.
        id: PlayId,
        /// The prompts, in order.
        prompts: Vec<PromptRef>,
    },
    /// Stop the current playback at once (the caller keyed over it); do not
    /// report it as done.
    StopPlayback,
    /// Set an attribute of the call (for routing and the screen pop).
    SetAttr(Attr),
    /// Put the call in this queue; the IVR is finished with it.
    Enqueue {
        /// Queue name from `[[queues]]`.
        queue: String,
    },
    /// Transfer the caller to this emergency number through
    /// `[emergency] gateway`; the IVR is finished with it.
    TransferEmergency {
        /// One of `[emergency] numbers`.
        number: String,
    },
    /// Run a [`crate::CallbackOffer`] on the call; the menu is finished with it.
    OfferCallback,
    /// The caller asked to be called back: store the request. A
    /// [`Action::Play`] of the confirmation and an [`Action::Hangup`] follow.
    CallbackRequested(CallbackRequest),
    /// The survey's result: store it. The thanks and a hang-up follow.
    SurveyResult(SurveyOutcome),
    /// Hang up the caller leg (after any playback asked for before it ended).
    Hangup,
}

/// A call attribute set by a menu node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Attr {
    /// Language code (`"cmn"`, `"yue"`): agents with `lang:<code>` take it.
    Language(String),
    /// Business line: agents with `biz:<line>` take it.
    BusinessLine(String),
}

/// A callback the caller asked for (issue 4 item 6).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallbackRequest {
    /// Digits to call back.
    pub number: String,
    /// Whether it is the number the call came from (key 1) rather than one
    /// keyed in.
    pub own_number: bool,
}

/// Result of a satisfaction survey (§18–§20).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SurveyOutcome {
    /// 1 非常满意 very satisfied, 2 满意, 3 基本满意, 4 不满意,
    /// 5 非常不满意 very dissatisfied.
    Rated(u8),
    /// No valid key after the retries: recorded as "no rating".
    NoRating,
}

/// One step of the way through the menu, for the agent's screen pop.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PathStep {
    /// Node name.
    pub node: String,
    /// The entry that led out of the node (`Some("2")`), or `None` when it
    /// was left without one (prompt only, timeout, default branch).
    pub input: Option<String>,
}

/// `welcome[2]`, or `cantonese` for a node left without an entry.
impl fmt::Display for PathStep {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.input {
            Some(input) => write!(f, "{}[{input}]", self.node),
            None => f.write_str(&self.node),
        }
    }
}
