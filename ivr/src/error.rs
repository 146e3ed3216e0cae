//! The crate's one error type.

use std::fmt;
use std::path::PathBuf;

/// Errors of the IVR crate: prompt files, menu compilation, DTMF input.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A prompt file or directory could not be read.
    #[error("cannot read {}: {source}", path.display())]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// A WAV file is malformed or in a format we do not decode.
    #[error("{}: {reason}", path.display())]
    Wav {
        /// The file (`<memory>` for in-memory data).
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// Prompts the configuration needs are missing; every one is listed.
    #[error("{}", MissingList(.0))]
    MissingPrompts(Vec<MissingPrompt>),
    /// The menu configuration cannot be compiled (it was not validated).
    #[error("{path}: {message}")]
    Config {
        /// Key path, e.g. `ivr.nodes.main.next`.
        path: String,
        /// What is wrong.
        message: String,
    },
    /// A SIP INFO body does not carry a DTMF digit.
    #[error("bad DTMF INFO body: {0}")]
    DtmfInfo(String),
}

/// A prompt the configuration needs that the prompt set does not have.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MissingPrompt {
    /// Who needs it: a key path such as `ivr.nodes.welcome.prompt[1]`, or the
    /// feature for built-in prompts (`queue announcements`).
    pub needed_by: String,
    /// The file expected.
    pub file: PathBuf,
}

impl fmt::Display for MissingPrompt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: missing prompt {}",
            self.needed_by,
            self.file.display()
        )
    }
}

struct MissingList<'a>(&'a [MissingPrompt]);

impl fmt::Display for MissingList<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} prompt(s) missing:", self.0.len())?;
        for m in self.0 {
            write!(f, "\n  {m}")?;
        }
        Ok(())
    }
}

/// Result of this crate's operations.
pub type Result<T, E = Error> = std::result::Result<T, E>;
