//! IVR for the hotline: menus, the callback offer, satisfaction surveys,
//! prompts and DTMF input. Sans-IO: nothing here reads a clock or a socket.
//!
//! # Pieces
//!
//! - [`Menu`] ([`menu`]): the `[ivr]` and `[survey]` configuration compiled
//!   against a [`PromptSet`] once at start-up; every prompt that is missing is
//!   reported with the key path that needs it. Shared by all calls
//!   (`Arc<Menu>`). It also composes queue announcements
//!   ([`Menu::position_announcement`], [`Menu::wait_announcement`]) from digit
//!   prompts ([`numbers`]) and gives the music on hold.
//! - [`IvrSession`] ([`session`]): one call's walk through the menu.
//! - [`CallbackOffer`] ([`callback`]): "press 1 to be called back on this
//!   number, 2 for another", ending in a [`CallbackRequest`].
//! - [`Survey`] ([`survey`]): the 1–5 satisfaction question, ending in a
//!   [`SurveyOutcome`]; used for both survey stages.
//! - Prompts ([`prompts`], [`audio`]): WAV files of any common format,
//!   resampled to 8 kHz and pre-encoded to G.711 µ-law and A-law at load, in
//!   160-byte (20 ms) frames.
//! - DTMF: [`parse_info`] for SIP INFO bodies, [`ToneDetector`] (Goertzel)
//!   for keys sent as audio. RFC 4733 events are de-duplicated by
//!   `hotline_sip::media::dtmf::DtmfDetector`.
//!
//! # Run loop
//!
//! Each machine is driven the same way by the call's task:
//!
//! ```text
//! actions = machine.start(..)                      // on answer
//! loop {
//!     apply every action in order (Play, StopPlayback, SetAttr, Enqueue, ...)
//!     select {
//!         key from the caller       => actions = machine.on_digit(key, now)
//!         Play{id} finished         => actions = machine.on_playback_done(id, now)
//!         sleep until next_wake()   => actions = machine.poll(now)
//!     }
//! }
//! ```
//!
//! A menu session ends with `Enqueue`, `TransferEmergency`, `OfferCallback`
//! (start a [`CallbackOffer`]) or `Hangup`; the callback offer and the survey
//! end with `Hangup` after their result action.
//!
//! ```
//! use std::{sync::Arc, time::{Duration, Instant}};
//! use hotline_config::Config;
//! use hotline_ivr::{Action, Attr, IvrSession, Menu, Prompt, PromptSet};
//!
//! let config = Config::from_toml(r#"
//!     [hotline]
//!     numbers = ["12345"]
//!     [[queues]]
//!     name = "general"
//!     [ivr]
//!     start = "main"
//!     [ivr.nodes.main]
//!     prompt = "menu"
//!     digits = { "1" = "mandarin" }
//!     [ivr.nodes.mandarin]
//!     language = "cmn"
//!     queue = "general"
//! "#)?;
//! // Prompts would come from `PromptSet::load`; here, generated silence.
//! let mut prompts = PromptSet::new("prompts");
//! for language in ["cmn", "yue"] {
//!     for name in hotline_ivr::required_prompt_names(&config) {
//!         prompts.insert(Prompt::from_pcm(&name, Some(language), vec![0; 800]));
//!     }
//! }
//! let menu = Arc::new(Menu::compile(&config, &prompts)?);
//!
//! let t0 = Instant::now();
//! let mut call = IvrSession::new(menu.clone());
//! let entry = menu.entry("12345").expect("12345 is answered");
//! let actions = call.start(entry, t0, None);
//! assert!(matches!(actions[0], Action::Play { .. }));
//! let actions = call.on_digit('1', t0 + Duration::from_millis(50));
//! assert_eq!(actions[0], Action::StopPlayback);
//! assert_eq!(actions[1], Action::SetAttr(Attr::Language("cmn".into())));
//! assert_eq!(actions[2], Action::Enqueue { queue: "general".into() });
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod action;
pub mod audio;
pub mod callback;
pub mod dtmf_info;
mod error;
pub mod goertzel;
pub mod menu;
pub mod numbers;
mod player;
pub mod prompts;
pub mod session;
pub mod survey;

pub use action::{Action, Attr, CallbackRequest, PathStep, PlayId, SurveyOutcome};
pub use callback::CallbackOffer;
pub use dtmf_info::{parse_info, DTMF, DTMF_RELAY};
pub use error::{Error, MissingPrompt, Result};
pub use goertzel::ToneDetector;
pub use menu::{required_prompt_names, Entry, Menu, NodeId};
pub use numbers::{digit_words, number_words};
pub use prompts::{Prompt, PromptRef, PromptSet, FRAME_SAMPLES};
pub use session::IvrSession;
pub use survey::Survey;

#[cfg(test)]
mod dialogue_tests;
#[cfg(test)]
mod session_tests;
#[cfg(test)]
mod test_support;
