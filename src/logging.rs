//! `tracing` set-up: human-readable lines by default, JSON on request. The level
//! comes from `RUST_LOG` (default `info`).

use tracing_subscriber::EnvFilter;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Human,
    Json,
}

/// Installs the global subscriber; a second call is a no-op.
pub fn init(format: LogFormat) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter);
    let _ = match format {
        LogFormat::Human => builder.try_init(),
        LogFormat::Json => builder.json().flatten_event(true).try_init(),
    };
}

/// Shows a phone number or name in logs without disclosing it: personal data
/// stays out of log files (keeps the last two characters for correlation).
pub struct Redacted<'a>(pub &'a str);

impl std::fmt::Display for Redacted<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let n = self.0.chars().count();
        if n <= 2 {
            return f.write_str("**");
        }
        let tail: String = self.0.chars().skip(n - 2).collect();
        write!(f, "***{tail}")
    }
}
