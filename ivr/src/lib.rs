//! IVR for the hotline (sans-IO).
pub mod audio;
pub mod dtmf_info;
mod error;
pub mod goertzel;
pub mod numbers;
mod prompts;

pub use dtmf_info::{parse_info, DTMF, DTMF_RELAY};
pub use error::{Error, MissingPrompt, Result};
pub use goertzel::ToneDetector;
pub use numbers::{digit_words, number_words};
pub use prompts::{Prompt, PromptRef, PromptSet, FRAME_SAMPLES};
