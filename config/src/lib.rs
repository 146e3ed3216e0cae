//! Typed configuration of the hotline server.
//!
//! This crate owns the configuration *file format*: the TOML keys of the
//! external contract (`[sip]`, `[http]`, `[storage]`, `[hotline]`,
//! `[[agents]]`, `[[queues]]`, `[emergency]`, `[ivr]`, `[survey]`,
//! `[calendar]`, `[tickets]`), their
//! defaults, the `HOTLINE_*` environment overrides and the checks that a file
//! makes sense. It does no I/O beyond reading the file it is asked to load and
//! knows nothing about sockets or databases.
//!
//! The binary loads a [`Config`] and hands each library crate the typed
//! section it needs (`sip` gets a [`SipConfig`] and the agents, `ivr` an
//! [`IvrConfig`], and so on); the library crates never parse TOML or read
//! environment variables themselves, so they can be tested with plain structs.
//!
//! # Layers
//!
//! A running configuration is built in four steps, each visible on its own so
//! that tests and `hotline config check` can stop at any of them:
//!
//! 1. **Defaults.** Every key has one (`#[serde(default)]`): an empty file is a
//!    valid configuration, bound to loopback, with no numbers, agents or queues.
//!    The *built-in default* used by `hotline serve` without `--config` is a
//!    different thing: the demo file [`DEFAULT_TOML`]
//!    (`config/hotline.example.toml`), see [`Config::builtin_default`].
//! 2. **File.** [`Config::from_toml`] / [`Config::load`] parse TOML. Syntax
//!    errors, wrong types, unparsable addresses and misspelt keys
//!    (`deny_unknown_fields` everywhere) are rejected here, one at a time, with
//!    the line and column. The one exception is `hotline.trusted_trunks`:
//!    its entries are checked in step 4, so several bad CIDRs show at once.
//! 3. **Environment.** [`Config::apply_env`] applies `HOTLINE_SIP_LISTEN`,
//!    `HOTLINE_HTTP_LISTEN`, `HOTLINE_DATA_DIR` and `HOTLINE_DATABASE_URL`. The
//!    environment is passed in as a function, so tests never touch the
//!    process environment; use [`process_env`] in the binary.
//! 4. **Validation.** [`Config::validate`] checks what parses but is wrong
//!    (duplicate agents, unknown queues, a port range upside down, …) and
//!    reports *every* problem, each with its key path such as `agents[2].id`.
//!    [`Config::warnings`] lists what is legal but probably unintended (demo
//!    passwords on a public address, no emergency gateway).
//!
//! [`Config::resolve`] runs all four, which is what `hotline serve` wants.
//!
//! The database URL may contain `{data_dir}`; the default is
//! `sqlite://{data_dir}/hotline.db`, so a database that was not given
//! explicitly follows the data directory, including when `HOTLINE_DATA_DIR`
//! moves it. Read it through [`StorageConfig::database_url`].
//!
//! # Example
//!
//! ```
//! use hotline_config::{Config, Error};
//!
//! let mut config = Config::from_toml(
//!     r#"
//!     [sip]
//!     listen = "0.0.0.0:5060"
//!     public_addr = "192.0.2.10"
//!
//!     [hotline]
//!     numbers = [{ number = "12345", queue = "general" }]
//!     trusted_trunks = ["192.0.2.64/29"]
//!
//!     [[agents]]
//!     id = "1001"
//!     password = "a-real-secret"
//!
//!     [[queues]]
//!     name = "general"
//!     "#,
//! )?;
//! // In the binary: `config.apply_env(hotline_config::process_env)`.
//! config
//!     .apply_env(|name| (name == "HOTLINE_DATA_DIR").then(|| "/var/lib/hotline".to_owned()))
//!     .map_err(Error::Invalid)?;
//! config.validate().map_err(Error::Invalid)?;
//! assert_eq!(config.storage.database_url(), "sqlite:///var/lib/hotline/hotline.db");
//! assert!(config.hotline.is_trusted("192.0.2.65".parse().unwrap()));
//! # Ok::<(), Error>(())
//! ```

use std::fmt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

pub mod auth;
mod env;
mod ivr;
mod queues;
mod sections;
mod survey;
mod tickets;
mod trunk;
mod validate;

pub use env::{
    process_env, ENV_DATABASE_URL, ENV_DATA_DIR, ENV_HTTP_LISTEN, ENV_SIP_LISTEN, ENV_VARS,
};
pub use ivr::{
    split_prompt, IvrConfig, IvrNode, TimeWindow, DEFAULT_FIRST_DIGIT_TIMEOUT_S,
    DEFAULT_INTER_DIGIT_TIMEOUT_S, DEFAULT_MAX_DIGITS, DEFAULT_RETRIES,
};
pub use queues::{
    parse_skill, qualifies, AcdConfig, QueueConfig, ShiftConfig, Strategy, Weekday, MAX_SKILL_LEVEL,
};
pub use sections::{
    parse_cidr, AgentConfig, Did, DigestAlgorithm, EmergencyConfig, HotlineConfig, HttpConfig,
    PortRange, Role, Routing, SipConfig, StorageConfig, DATA_DIR_PLACEHOLDER, NUMBER_PLACEHOLDER,
};
pub use survey::SurveyConfig;
pub use tickets::{
    CalendarConfig, CalendarDate, CompletionDaysConfig, DateSpan, HourBasis, TicketsConfig,
    TopicConfig, UtcOffset, Weekday as CalendarWeekday,
};
pub use trunk::{OutboundTrunk, TrunkConfig};
pub use validate::ValidationError;

/// The built-in default configuration: the demo set-up `hotline serve` runs
/// when no `--config` is given, and what `hotline config default` prints.
pub const DEFAULT_TOML: &str = include_str!("../hotline.example.toml");

/// Errors of this crate.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The file is not valid TOML or does not match the expected keys and
    /// types. The message carries the line, column and offending text.
    #[error("{}{error}", path_prefix(path.as_deref()))]
    Toml {
        /// The file, when the text came from one.
        path: Option<PathBuf>,
        /// What the TOML parser found.
        error: toml::de::Error,
    },
    /// The configuration file could not be read.
    #[error("cannot read configuration file {}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// Why it could not be read.
        #[source]
        source: std::io::Error,
    },
    /// The configuration parsed but is not usable; every problem is listed.
    #[error("{}", DisplayErrors(.0))]
    Invalid(Vec<ValidationError>),
    /// The configuration could not be written as TOML (a path that is not
    /// UTF-8, for instance).
    #[error("cannot write configuration as TOML: {0}")]
    Serialize(#[from] toml::ser::Error),
}

/// Result of this crate's operations.
pub type Result<T, E = Error> = std::result::Result<T, E>;

fn path_prefix(path: Option<&Path>) -> String {
    path.map(|p| format!("{}: ", p.display()))
        .unwrap_or_default()
}

struct DisplayErrors<'a>(&'a [ValidationError]);

impl fmt::Display for DisplayErrors<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.0.len();
        write!(
            f,
            "invalid configuration ({n} error{}):",
            if n == 1 { "" } else { "s" }
        )?;
        for e in self.0 {
            write!(f, "\n  {e}")?;
        }
        Ok(())
    }
}

/// The whole configuration file.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// `[sip]`
    pub sip: SipConfig,
    /// `[http]`
    pub http: HttpConfig,
    /// `[storage]`
    pub storage: StorageConfig,
    /// `[hotline]`
    pub hotline: HotlineConfig,
    /// `[emergency]`
    pub emergency: EmergencyConfig,
    /// `[ivr]`
    pub ivr: IvrConfig,
    /// `[survey]`
    pub survey: SurveyConfig,
    /// `[acd]`
    pub acd: AcdConfig,
    /// `[calendar]`
    pub calendar: CalendarConfig,
    /// `[tickets]`
    pub tickets: TicketsConfig,
    /// `[trunk]`
    pub trunk: TrunkConfig,
    /// `[[agents]]`
    pub agents: Vec<AgentConfig>,
    /// `[[queues]]`
    pub queues: Vec<QueueConfig>,
}

impl Config {
    /// Parse a configuration from TOML text. Only syntax and types are
    /// checked; call [`validate`](Self::validate) (or use
    /// [`resolve`](Self::resolve)) before using it.
    pub fn from_toml(text: &str) -> Result<Config> {
        toml::from_str(text).map_err(|error| Error::Toml { path: None, error })
    }

    /// Read and parse a configuration file (no environment, no validation).
    pub fn load(path: impl AsRef<Path>) -> Result<Config> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|source| Error::Io {
            path: path.to_owned(),
            source,
        })?;
        toml::from_str(&text).map_err(|error| Error::Toml {
            path: Some(path.to_owned()),
            error,
        })
    }

    /// The built-in default configuration ([`DEFAULT_TOML`]): loopback
    /// addresses, SQLite under `./data`, demo numbers, seats and menus.
    pub fn builtin_default() -> Config {
        // The text is compiled in and a unit test parses and validates it.
        Config::from_toml(DEFAULT_TOML).expect("the built-in default configuration parses")
    }

    /// The configuration `hotline serve` runs on: the file at `path` (or the
    /// built-in default), then the environment overrides, then validation.
    /// Environment and validation errors are reported together.
    pub fn resolve(path: Option<&Path>, env: impl Fn(&str) -> Option<String>) -> Result<Config> {
        let mut config = match path {
            Some(path) => Config::load(path)?,
            None => Config::builtin_default(),
        };
        let mut errors = config.apply_env(env).err().unwrap_or_default();
        if let Err(invalid) = config.validate() {
            errors.extend(invalid);
        }
        if errors.is_empty() {
            Ok(config)
        } else {
            Err(Error::Invalid(errors))
        }
    }

    /// Write the configuration as TOML (without comments); parsing the result
    /// gives back an equal `Config`.
    pub fn to_toml(&self) -> Result<String> {
        Ok(toml::to_string(self)?)
    }

    /// The agent with SIP user / login name `id`.
    pub fn agent(&self, id: &str) -> Option<&AgentConfig> {
        self.agents.iter().find(|a| a.id == id)
    }

    /// The queue named `name`.
    pub fn queue(&self, name: &str) -> Option<&QueueConfig> {
        self.queues.iter().find(|q| q.name == name)
    }
}

#[cfg(test)]
mod tests;
