//! The work-order store: sqlx over SQLite (WAL, the default) or PostgreSQL
//! (`database_url = "postgres://…"`), through one [`sqlx::AnyPool`] so the
//! engine is picked at run time.
//!
//! Schema: `ticketing/migrations/sqlite` and `ticketing/migrations/postgres`
//! hold the same tables; only identity columns and the knowledge base's
//! full-text index differ (FTS5 `trigram` against `pg_trgm`). Both migrators
//! tolerate versions they do not know, so they share the database (and its
//! `_sqlx_migrations` table) with the recordings index's migrations.
//!
//! Consistency: every change of an order is one transaction (order row,
//! history row, side tables, audit row) whose first statement is the
//! version-checked `UPDATE … WHERE version = $seen`; a concurrent change of
//! the same order therefore finds the version moved and gets
//! [`Error::Conflict`], and a failure at any point leaves nothing behind.
//! Queries use `$N` placeholders, which both engines accept.

mod audit;
mod callback_tasks;
mod campaign;
mod drafts;
mod knowledge;
mod order_list;
mod orders;
mod reports;
mod satisfaction;
mod supervision;
mod survey_jobs;
mod tickets;
mod users;

use std::str::FromStr;

use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::migrate::Migrator;
use sqlx::{AnyPool, Executor};

pub use audit::{AuditEntry, AuditRecord};
pub use callback_tasks::{CallbackTask, NewCallbackTask, TaskRefusal};
pub use campaign::{Batch, Campaign, Recovery, SURVEY_ROBOT};
pub use order_list::{Cursor, OrderFilter, PageStart};
pub use orders::{DraftRow, HistoryRow, LinkageRow, NewOrder, OrderRow};
pub use reports::{Cell, Report, ReportParams, Table};
pub use supervision::SupervisionFilter;
pub use survey_jobs::{job_id, JobStatus, JobUpdate, SurveyAttempt, SurveyJob};
pub use tickets::OrderPage;
pub use tickets::{from_ms, history_row, linkage_row, ms, order_row, parse_order};
pub use users::{NewUser, Unit, UserRecord, UserRole};

static SQLITE_MIGRATOR: Migrator = sqlx::migrate!("migrations/sqlite");
static POSTGRES_MIGRATOR: Migrator = sqlx::migrate!("migrations/postgres");

/// Errors of the store.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The database failed or is unreachable.
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
    /// A migration failed.
    #[error("migration: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// A stored document no longer parses (a bug or a manual edit).
    #[error("stored {what} is corrupt: {detail}")]
    Corrupt { what: &'static str, detail: String },
    /// The row changed since it was read (optimistic concurrency).
    #[error("{0} was changed concurrently; reload and retry")]
    Conflict(String),
    /// A row with this key exists already.
    #[error("{0} exists already")]
    Duplicate(String),
    /// The referenced row does not exist.
    #[error("{0} not found")]
    NotFound(String),
    /// The domain refused (invalid details, a transition the state does not
    /// allow, a role that may not act).
    #[error(transparent)]
    Domain(#[from] crate::error::DomainError),
    /// A failure injected by a test between two writes of a transaction.
    #[error("injected failure at {0}")]
    Injected(&'static str),
}

/// Results of the store.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// The database engine behind a pool.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// SQLite (file, WAL journal).
    Sqlite,
    /// PostgreSQL.
    Postgres,
}

impl Backend {
    /// The engine of a database URL (`sqlite:` or `postgres:`/`postgresql:`).
    #[must_use]
    pub fn of_url(url: &str) -> Option<Backend> {
        if url.starts_with("sqlite:") {
            Some(Backend::Sqlite)
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            Some(Backend::Postgres)
        } else {
            None
        }
    }

    fn migrator(self) -> Migrator {
        let base = match self {
            Backend::Sqlite => &SQLITE_MIGRATOR,
            Backend::Postgres => &POSTGRES_MIGRATOR,
        };
        Migrator {
            migrations: base.migrations.clone(),
            ignore_missing: true,
            locking: base.locking,
            no_tx: base.no_tx,
        }
    }
}

/// Opens a pool: a SQLite file is created if missing and put in WAL mode with
/// foreign keys on; PostgreSQL is used as it is.
///
/// # Errors
/// Unsupported URL, or the database cannot be reached.
pub async fn connect_pool(url: &str) -> Result<AnyPool> {
    sqlx::any::install_default_drivers();
    let url = if Backend::of_url(url) == Some(Backend::Sqlite)
        && !url.contains(":memory:")
        && !url.contains("mode=")
    {
        let sep = if url.contains('?') { '&' } else { '?' };
        format!("{url}{sep}mode=rwc")
    } else {
        url.to_owned()
    };
    let options = AnyConnectOptions::from_str(&url)?;
    let pool = AnyPoolOptions::new()
        .max_connections(16)
        .after_connect(|conn, _meta| {
            Box::pin(async move {
                if conn.backend_name().eq_ignore_ascii_case("sqlite") {
                    conn.execute("PRAGMA journal_mode = WAL").await?;
                    conn.execute("PRAGMA foreign_keys = ON").await?;
                    // Writers queue instead of failing while another commits.
                    conn.execute("PRAGMA busy_timeout = 10000").await?;
                    // WAL + NORMAL is durable at every checkpoint and never
                    // corrupt; a power cut may lose the last commits only.
                    conn.execute("PRAGMA synchronous = NORMAL").await?;
                }
                Ok(())
            })
        })
        .connect_with(options)
        .await?;
    Ok(pool)
}

/// Test hook: where [`Store`] fails on purpose, to prove a transition is
/// all-or-nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailPoint {
    /// After the order row is updated, before the history row is written.
    AfterOrderUpdate,
}

/// The work-order store. Cheap to clone (a pool handle).
#[derive(Debug, Clone)]
pub struct Store {
    pool: AnyPool,
    backend: Backend,
    fail_at: std::sync::Arc<std::sync::Mutex<Option<FailPoint>>>,
}

impl Store {
    /// Runs this store's migrations on `pool` and returns the store.
    ///
    /// # Errors
    /// A migration failed.
    pub async fn open(pool: AnyPool, backend: Backend) -> Result<Store> {
        backend.migrator().run(&pool).await?;
        Ok(Store {
            pool,
            backend,
            fail_at: std::sync::Arc::default(),
        })
    }

    /// Connects to `url` and migrates.
    ///
    /// # Errors
    /// Unsupported URL, unreachable database, failed migration.
    pub async fn connect(url: &str) -> Result<Store> {
        let backend = Backend::of_url(url).ok_or_else(|| {
            Error::Database(sqlx::Error::Configuration(
                format!("unsupported database URL scheme in {url:?}").into(),
            ))
        })?;
        let pool = connect_pool(url).await?;
        Store::open(pool, backend).await
    }

    /// The pool.
    #[must_use]
    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    /// The engine.
    #[must_use]
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Makes the next write that passes `point` fail (tests only).
    #[doc(hidden)]
    pub fn inject_failure(&self, point: Option<FailPoint>) {
        *self.fail_at.lock().unwrap_or_else(|p| p.into_inner()) = point;
    }

    fn check_fail(&self, point: FailPoint) -> Result<()> {
        let mut f = self.fail_at.lock().unwrap_or_else(|p| p.into_inner());
        if *f == Some(point) {
            *f = None;
            return Err(Error::Injected(match point {
                FailPoint::AfterOrderUpdate => "after the order update",
            }));
        }
        Ok(())
    }
}

/// Whether a database error is a unique-key violation (both engines).
fn is_unique_violation(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::Database(d) => {
            d.is_unique_violation()
                || d.code()
                    .is_some_and(|c| c == "23505" || c == "2067" || c == "1555")
        }
        _ => false,
    }
}

/// Clamps an unsigned count into a BIGINT.
fn to_i64(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

#[cfg(test)]
pub(crate) mod testdb;

#[cfg(test)]
mod tests;

#[cfg(test)]
mod campaign_tests;
