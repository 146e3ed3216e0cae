//! Command-line interface (`clap`): `serve`, `config check`, `config default`,
//! `user add`, `user hash` (see [`crate::cli_users`]).

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use clap::{Args, Parser, Subcommand, ValueEnum};
use hotline_config::Config;

use crate::logging::{self, LogFormat};

#[derive(Debug, Parser)]
#[command(
    name = "hotline",
    version,
    about = "Telephony and work-order server for a city service hotline"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the SIP and HTTP servers.
    Serve(ServeArgs),
    /// Inspect configuration files.
    Config {
        #[command(subcommand)]
        command: ConfigCommand,
    },
    /// Manage database users (unit users, administrators).
    User {
        #[command(subcommand)]
        command: crate::cli_users::UserCommand,
    },
}

#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Validate a configuration file; prints every error with its key path and exits 1.
    Check { path: PathBuf },
    /// Print the built-in default configuration.
    Default,
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Configuration file; without it the built-in default (config/hotline.example.toml) is used.
    #[arg(long, short)]
    pub config: Option<PathBuf>,
    /// Log line format.
    #[arg(long, value_enum, default_value_t = LogFormatArg::Human)]
    pub log_format: LogFormatArg,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum LogFormatArg {
    Human,
    Json,
}

/// `hotline config check PATH`.
pub fn config_check(path: &Path) -> ExitCode {
    match load_config(Some(path), |_| None) {
        Ok(_) => {
            println!("{}: ok", path.display());
            ExitCode::SUCCESS
        }
        Err(errors) => {
            for e in errors {
                eprintln!("{}: {e}", path.display());
            }
            ExitCode::FAILURE
        }
    }
}

/// Loads (or takes the built-in default), applies the environment and validates,
/// returning every problem found, one line each.
pub fn load_config(
    path: Option<&Path>,
    env: impl Fn(&str) -> Option<String>,
) -> Result<Config, Vec<String>> {
    Config::resolve(path, env).map_err(|e| match e {
        hotline_config::Error::Invalid(errors) => errors.iter().map(ToString::to_string).collect(),
        other => vec![other.to_string()],
    })
}

/// `hotline serve`.
pub fn serve(args: ServeArgs) -> ExitCode {
    let format = match args.log_format {
        LogFormatArg::Human => LogFormat::Human,
        LogFormatArg::Json => LogFormat::Json,
    };
    logging::init(format);
    let config = match load_config(args.config.as_deref(), hotline_config::process_env) {
        Ok(c) => {
            for w in c.warnings() {
                tracing::warn!("configuration: {w}");
            }
            c
        }
        Err(errors) => {
            for e in errors {
                tracing::error!("configuration: {e}");
            }
            return ExitCode::FAILURE;
        }
    };
    // Each live recording has a blocking writer thread; tokio's default cap of
    // 512 blocking threads would leave recordings of further concurrent calls
    // waiting (measured: recordings past the 512th call started late).
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .max_blocking_threads(4096)
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            tracing::error!("cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(serve_until_signal(config)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!("{e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn serve_until_signal(config: Config) -> anyhow::Result<()> {
    let server = crate::server::start(config)
        .await
        .context("starting the server")?;
    tracing::info!(sip = %server.sip_addr, http = %server.http_addr, "hotline serving");
    shutdown_signal().await;
    tracing::info!("shutting down");
    server.shutdown().await;
    tracing::info!("stopped");
    Ok(())
}

/// Resolves on SIGINT (Ctrl-C) or SIGTERM.
async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(e) = tokio::signal::ctrl_c().await {
            tracing::warn!("cannot listen for Ctrl-C: {e}");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(e) => {
                tracing::warn!("cannot listen for SIGTERM: {e}");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
}
