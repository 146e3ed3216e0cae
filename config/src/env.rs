//! The `HOTLINE_*` environment overrides (external contract).

use std::net::SocketAddr;
use std::path::PathBuf;

use crate::validate::{check_database_url, ValidationError};
use crate::Config;

/// Overrides `[sip] listen`.
pub const ENV_SIP_LISTEN: &str = "HOTLINE_SIP_LISTEN";
/// Overrides `[http] listen`.
pub const ENV_HTTP_LISTEN: &str = "HOTLINE_HTTP_LISTEN";
/// Overrides `[storage] data_dir`; a database URL containing `{data_dir}`
/// (the default) follows it.
pub const ENV_DATA_DIR: &str = "HOTLINE_DATA_DIR";
/// Overrides `[storage] database_url`.
pub const ENV_DATABASE_URL: &str = "HOTLINE_DATABASE_URL";
/// Every environment variable the configuration reads.
pub const ENV_VARS: [&str; 4] = [
    ENV_SIP_LISTEN,
    ENV_HTTP_LISTEN,
    ENV_DATA_DIR,
    ENV_DATABASE_URL,
];

/// Reads the process environment; pass it to [`Config::apply_env`] or
/// [`Config::resolve`]. A variable that is not valid Unicode counts as unset
/// here, since none of the values could be used anyway.
pub fn process_env(name: &str) -> Option<String> {
    std::env::var(name).ok()
}

impl Config {
    /// Apply the `HOTLINE_*` overrides read through `env` (use
    /// [`process_env`] for the real environment).
    ///
    /// A variable that is set but unusable is reported with the variable's
    /// name as the path and leaves its key unchanged; the others are still
    /// applied. A variable set to the empty string is an error rather than
    /// "unset", because an orchestrator that expands a missing variable to
    /// nothing should not silently fall back to the file's address.
    pub fn apply_env(
        &mut self,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<(), Vec<ValidationError>> {
        let mut errors = Vec::new();
        let mut get = |name: &str| -> Option<String> {
            let value = env(name)?;
            let value = value.trim();
            if value.is_empty() {
                errors.push(ValidationError::new(
                    name,
                    "is set but empty; unset it to use the configuration file's value",
                ));
                return None;
            }
            Some(value.to_owned())
        };
        let sip_listen = get(ENV_SIP_LISTEN);
        let http_listen = get(ENV_HTTP_LISTEN);
        let data_dir = get(ENV_DATA_DIR);
        let database_url = get(ENV_DATABASE_URL);

        let addr = |name: &str, value: String, errors: &mut Vec<ValidationError>| {
            value
                .parse::<SocketAddr>()
                .map_err(|_| {
                    errors.push(ValidationError::new(
                        name,
                        format!(
                            "{value:?} is not an address with a port, like \"0.0.0.0:5060\" or \"[::]:5060\""
                        ),
                    ))
                })
                .ok()
        };
        if let Some(a) = sip_listen.and_then(|v| addr(ENV_SIP_LISTEN, v, &mut errors)) {
            self.sip.listen = a;
        }
        if let Some(a) = http_listen.and_then(|v| addr(ENV_HTTP_LISTEN, v, &mut errors)) {
            self.http.listen = a;
        }
        if let Some(dir) = data_dir {
            self.storage.data_dir = PathBuf::from(dir);
        }
        if let Some(url) = database_url {
            match check_database_url(&url) {
                Ok(()) => self.storage.set_database_url(url),
                Err(message) => errors.push(ValidationError::new(ENV_DATABASE_URL, message)),
            }
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(errors)
        }
    }
}
