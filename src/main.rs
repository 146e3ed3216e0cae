//! `hotline`: the command-line entry point. Parses the CLI, loads configuration,
//! sets up logging and hands over to [`hotline::server`].

use std::process::ExitCode;

use clap::Parser;
use hotline::cli::{Cli, Command, ConfigCommand};

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Config {
            command: ConfigCommand::Default,
        } => {
            print!("{}", hotline_config::DEFAULT_TOML);
            ExitCode::SUCCESS
        }
        Command::Config {
            command: ConfigCommand::Check { path },
        } => hotline::cli::config_check(&path),
        Command::Serve(args) => hotline::cli::serve(args),
        Command::User { command } => hotline::cli_users::run(command),
    }
}
