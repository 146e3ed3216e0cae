//! `hotline user …`: accounts kept in the database (unit users and
//! administrators), for bootstrapping before anyone can log in to the API.
//!
//! `hotline user add --role admin NAME` reads the password from the first
//! line of standard input (so it never appears in the process list or the
//! shell history), hashes it with Argon2id and stores the user;
//! `hotline user hash` prints a PHC string for `agents[].password_hash`.
//! Further users are better created by an administrator through
//! `POST /api/users`, which writes the audit log with the client address.

use std::io::BufRead;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{bail, Context};
use clap::{Args, Subcommand, ValueEnum};
use hotline_ticketing::store::{AuditEntry, NewUser, Unit, UserRole};

use crate::http::auth::passwords;

/// `hotline user …`.
#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Create a database user (unit user or administrator); the password is
    /// the first line of standard input.
    Add(AddArgs),
    /// Hash the password on standard input for `agents[].password_hash`.
    Hash,
}

/// Arguments of `hotline user add`.
#[derive(Debug, Args)]
pub struct AddArgs {
    /// Configuration file (for `storage.database_url`); the built-in default otherwise.
    #[arg(long, short)]
    pub config: Option<PathBuf>,
    /// The account's role.
    #[arg(long, value_enum)]
    pub role: RoleArg,
    /// The unit of a unit user (created if it does not exist yet).
    #[arg(long)]
    pub unit: Option<String>,
    /// Display name (the login name if omitted).
    #[arg(long)]
    pub display_name: Option<String>,
    /// Login name.
    pub name: String,
}

/// Roles a database user can have.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum RoleArg {
    Unit,
    Admin,
}

/// Runs a `hotline user` command.
pub fn run(command: UserCommand) -> ExitCode {
    let result = match command {
        UserCommand::Hash => read_password().and_then(|p| {
            let h = passwords::hash(&p).map_err(anyhow::Error::msg)?;
            println!("{h}");
            Ok(())
        }),
        UserCommand::Add(args) => add(args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("hotline user: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// Shortest password accepted for a database user.
pub const MIN_PASSWORD_CHARS: usize = 10;

fn read_password() -> anyhow::Result<String> {
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .context("reading the password from standard input")?;
    let password = line.trim_end_matches(['\r', '\n']).to_owned();
    if password.chars().count() < MIN_PASSWORD_CHARS {
        bail!("the password (first line of standard input) needs at least {MIN_PASSWORD_CHARS} characters");
    }
    Ok(password)
}

fn add(args: AddArgs) -> anyhow::Result<()> {
    if !crate::http::users::is_login_name(&args.name) {
        bail!(
            "{:?} is not a usable login name (letters, digits, '.', '-', '_'; at most 64)",
            args.name
        );
    }
    let role = match (args.role, &args.unit) {
        (RoleArg::Unit, Some(_)) => UserRole::Unit,
        (RoleArg::Admin, None) => UserRole::Admin,
        (RoleArg::Unit, None) => bail!("a unit user needs --unit"),
        (RoleArg::Admin, Some(_)) => bail!("an administrator belongs to no unit: drop --unit"),
    };
    let config = crate::cli::load_config(args.config.as_deref(), hotline_config::process_env)
        .map_err(|errors| anyhow::anyhow!(errors.join("\n")))?;
    if config.agents.iter().any(|a| a.id == args.name) {
        bail!(
            "{} is a configured seat (agents[].id); pick another name",
            args.name
        );
    }
    let password = read_password()?;
    let hash = passwords::hash(&password).map_err(anyhow::Error::msg)?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    runtime.block_on(async {
        tokio::fs::create_dir_all(&config.storage.data_dir)
            .await
            .with_context(|| format!("creating {}", config.storage.data_dir.display()))?;
        let (_, store) = crate::server::open_database(&config.storage.database_url()).await?;
        let now = time::OffsetDateTime::now_utc();
        let who = AuditEntry {
            actor: format!("cli:{}", whoami()),
            actor_role: "admin".into(),
            client_ip: None,
            at_ms: i64::try_from(now.unix_timestamp_nanos() / 1_000_000).unwrap_or(i64::MAX),
        };
        if let Some(unit) = &args.unit {
            if store.unit(unit).await?.is_none() {
                store
                    .upsert_unit(
                        &Unit {
                            id: unit.clone(),
                            name: unit.clone(),
                            district: None,
                        },
                        &who,
                    )
                    .await?;
            }
        }
        store
            .create_user(
                &NewUser {
                    id: args.name.clone(),
                    role,
                    unit_id: args.unit.clone(),
                    display_name: args
                        .display_name
                        .clone()
                        .unwrap_or_else(|| args.name.clone()),
                    password_hash: hash,
                },
                &who,
            )
            .await?;
        println!("user {} ({}) created", args.name, role.as_str());
        anyhow::Ok(())
    })
}

fn whoami() -> String {
    std::env::var("USER").unwrap_or_else(|_| "unknown".into())
}
