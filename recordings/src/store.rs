//! The recordings index and call detail records, in SQLite or PostgreSQL.
//!
//! One [`sqlx::AnyPool`] serves both engines so the binary picks the engine
//! from `storage.database_url` at run time; the schema lives in the
//! workspace-wide `migrations/` folder (see [`MIGRATOR`]). Queries use
//! `$N` placeholders, which both engines accept, and the runtime query API
//! (no `DATABASE_URL` needed at build time).

use std::path::PathBuf;
use std::str::FromStr;

use sqlx::any::{AnyConnectOptions, AnyPoolOptions, AnyRow};
use sqlx::migrate::Migrator;
use sqlx::{AnyPool, Executor, Row};

use crate::recorder::RecordingSummary;

mod batch;
mod search;
use crate::{Error, Result};
pub use batch::CallRows;
pub use search::{HourCount, RecordingFilter};

/// The workspace migrations (`/migrations`), embedded at build time. Run it
/// once at start-up (as [`CallStore::connect`] does) before any store is
/// used; later crates add their tables to the same folder.
pub static MIGRATOR: Migrator = sqlx::migrate!("../migrations");

/// [`MIGRATOR`] tolerating versions it does not know: other crates (the
/// work-order store) keep their own per-engine migrations in the same
/// database, with versions of their own.
#[must_use]
pub fn migrator() -> Migrator {
    Migrator {
        migrations: MIGRATOR.migrations.clone(),
        ignore_missing: true,
        locking: MIGRATOR.locking,
        no_tx: MIGRATOR.no_tx,
    }
}

/// One row of `recordings`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordingRow {
    /// Stable id (see [`recording_id`]).
    pub id: String,
    /// SIP Call-ID of the caller leg.
    pub call_id: String,
    /// The citizen's number (personal data: do not log it).
    pub caller_number: String,
    /// Agent who took the call, if any.
    pub agent_id: Option<String>,
    /// Work order created from the call, once there is one.
    pub ticket_id: Option<String>,
    /// Bridge time, epoch milliseconds (UTC).
    pub started_at_ms: i64,
    /// Hang-up time, epoch milliseconds (UTC).
    pub ended_at_ms: i64,
    /// Audio length in milliseconds.
    pub duration_ms: i64,
    /// File path as the server writes it (relative to the data dir or
    /// absolute, as configured).
    pub path: String,
    /// File size in bytes.
    pub size_bytes: i64,
    /// SHA-256 of the file, lowercase hex.
    pub sha256: String,
    /// Frames the relay dropped because the writer was behind.
    pub dropped_frames: i64,
}

/// The call-side facts of a recording, known to the call logic.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallMeta {
    /// SIP Call-ID of the caller leg.
    pub call_id: String,
    /// The citizen's number.
    pub caller_number: String,
    /// Agent bridged to the caller.
    pub agent_id: Option<String>,
    /// Bridge time, epoch milliseconds (UTC).
    pub started_at_ms: i64,
    /// Hang-up time, epoch milliseconds (UTC).
    pub ended_at_ms: i64,
}

impl RecordingRow {
    /// The row for a finished recording; the id is [`recording_id`] of the
    /// call and its start.
    #[must_use]
    pub fn new(meta: CallMeta, summary: &RecordingSummary) -> Self {
        let info = &summary.info;
        Self {
            id: recording_id(&meta.call_id, meta.started_at_ms),
            call_id: meta.call_id,
            caller_number: meta.caller_number,
            agent_id: meta.agent_id,
            ticket_id: None,
            started_at_ms: meta.started_at_ms,
            ended_at_ms: meta.ended_at_ms,
            duration_ms: clamp_i64(info.duration_ms),
            path: info.path.to_string_lossy().into_owned(),
            size_bytes: clamp_i64(info.size_bytes),
            sha256: info.sha256_hex.clone(),
            dropped_frames: clamp_i64(summary.dropped_frames),
        }
    }
}

fn clamp_i64(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

/// Who ended a call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum HangupBy {
    /// The citizen hung up (BYE or CANCEL from the trunk).
    Caller,
    /// The agent hung up.
    Agent,
    /// The server ended it (timeout, error, shutdown).
    System,
}

impl HangupBy {
    /// The stored spelling.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Caller => "caller",
            Self::Agent => "agent",
            Self::System => "system",
        }
    }
}

impl FromStr for HangupBy {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        match s {
            "caller" => Ok(Self::Caller),
            "agent" => Ok(Self::Agent),
            "system" => Ok(Self::System),
            other => Err(Error::BadValue {
                column: "hangup_by",
                value: other.to_owned(),
            }),
        }
    }
}

/// Known values of [`Cdr::reason`]. The column is free text so new causes
/// need no migration.
pub mod reason {
    /// Answered and ended by a hang-up.
    pub const NORMAL: &str = "normal";
    /// The caller gave up before an agent answered.
    pub const CANCELLED: &str = "cancelled";
    /// Every agent busy and no queue to wait in.
    pub const BUSY: &str = "busy";
    /// Rang without answer until the ring or queue timeout.
    pub const NO_ANSWER: &str = "no_answer";
    /// RTP stopped arriving on a leg.
    pub const MEDIA_TIMEOUT: &str = "media_timeout";
    /// Transferred to an emergency line (§9, §14).
    pub const EMERGENCY_TRANSFER: &str = "emergency_transfer";
    /// The server ended the call because of an internal error.
    pub const ERROR: &str = "error";
    /// The server was shutting down.
    pub const SHUTDOWN: &str = "shutdown";
}

/// One call detail record (`cdrs` row).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cdr {
    /// SIP Call-ID of the caller leg; one record per call.
    pub call_id: String,
    /// The citizen's number (personal data: do not log it).
    pub caller_number: String,
    /// Hotline number dialled (several DIDs map to the one hotline, §11).
    pub did: String,
    /// Agent who answered, if any.
    pub agent_id: Option<String>,
    /// INVITE arrival, epoch milliseconds (UTC).
    pub arrived_at_ms: i64,
    /// Agent answer, if answered.
    pub answered_at_ms: Option<i64>,
    /// Call end.
    pub ended_at_ms: i64,
    /// Who ended the call.
    pub hangup_by: HangupBy,
    /// Why the call ended; see [`reason`].
    pub reason: String,
    /// The call's recording, if any.
    pub recording_id: Option<String>,
    /// `"inbound"` (a citizen called the hotline) or `"outbound"` (the
    /// server placed the call; see [`direction`]).
    pub direction: String,
    /// Why an outbound call was placed: `"survey"` or `"callback"`.
    pub purpose: Option<String>,
}

/// Values of [`Cdr::direction`].
pub mod direction {
    /// A call to the hotline.
    pub const INBOUND: &str = "inbound";
    /// A call the server placed through the trunk (surveys, callbacks).
    pub const OUTBOUND: &str = "outbound";
}

/// What [`CallStore::purge`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PurgeReport {
    /// Recording rows deleted.
    pub deleted: u64,
    /// Of those, rows whose file was already gone.
    pub missing_files: u64,
    /// Files that could not be deleted; their rows are kept for a retry.
    pub failed: Vec<(String, String)>,
}

/// The recordings index and call detail records.
#[derive(Debug, Clone)]
pub struct CallStore {
    pool: AnyPool,
}

const RECORDING_COLUMNS: &str = "id, call_id, caller_number, agent_id, ticket_id, \
     started_at_ms, ended_at_ms, duration_ms, path, size_bytes, sha256, dropped_frames";

const CDR_COLUMNS: &str = "call_id, caller_number, did, agent_id, arrived_at_ms, \
     answered_at_ms, ended_at_ms, hangup_by, reason, recording_id, direction, purpose";

impl CallStore {
    /// Opens a pool for `url` (`sqlite://path` or `postgres://...`) and runs
    /// the migrations. A SQLite file is created if missing and put in WAL
    /// mode (readers such as the recordings page do not block the writer).
    ///
    /// # Errors
    /// The database cannot be reached, or a migration failed.
    pub async fn connect(url: &str) -> Result<Self> {
        let pool = connect_pool(url).await?;
        migrator().run(&pool).await?;
        Ok(Self { pool })
    }

    /// A store over an existing pool (migrations already run).
    #[must_use]
    pub fn from_pool(pool: AnyPool) -> Self {
        Self { pool }
    }

    /// The pool, to share with other stores.
    #[must_use]
    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    /// Indexes a closed recording.
    ///
    /// # Errors
    /// Database errors, including a duplicate id or path.
    pub async fn insert_recording(&self, r: &RecordingRow) -> Result<()> {
        recording_insert(r).execute(&self.pool).await?;
        Ok(())
    }

    /// Links a recording to the work order created from its call.
    /// Returns whether the recording exists.
    ///
    /// # Errors
    /// Database errors.
    pub async fn set_recording_ticket(&self, id: &str, ticket_id: &str) -> Result<bool> {
        let done = sqlx::query("UPDATE recordings SET ticket_id = $1 WHERE id = $2")
            .bind(ticket_id)
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() > 0)
    }

    /// One recording by id.
    ///
    /// # Errors
    /// Database errors.
    pub async fn get_recording(&self, id: &str) -> Result<Option<RecordingRow>> {
        let sql = format!("SELECT {RECORDING_COLUMNS} FROM recordings WHERE id = $1");
        let row = sqlx::query(&sql)
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(recording_from_row).transpose()
    }

    /// Recordings of one call, oldest first (a transferred call has several).
    ///
    /// # Errors
    /// Database errors.
    pub async fn recordings_for_call(&self, call_id: &str) -> Result<Vec<RecordingRow>> {
        let sql = format!(
            "SELECT {RECORDING_COLUMNS} FROM recordings WHERE call_id = $1 \
             ORDER BY started_at_ms, id"
        );
        let rows = sqlx::query(&sql)
            .bind(call_id)
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(recording_from_row).collect()
    }

    /// A page of recordings, newest first.
    ///
    /// # Errors
    /// Database errors.
    pub async fn list_recordings(&self, limit: u32, offset: u64) -> Result<Vec<RecordingRow>> {
        let sql = format!(
            "SELECT {RECORDING_COLUMNS} FROM recordings \
             ORDER BY started_at_ms DESC, id DESC LIMIT $1 OFFSET $2"
        );
        let rows = sqlx::query(&sql)
            .bind(i64::from(limit))
            .bind(clamp_i64(offset))
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(recording_from_row).collect()
    }

    /// Records a finished call. Insert the call's recording first: the
    /// `recording_id` must exist.
    ///
    /// # Errors
    /// Database errors, including a duplicate call id.
    pub async fn insert_cdr(&self, c: &Cdr) -> Result<()> {
        cdr_insert(c).execute(&self.pool).await?;
        Ok(())
    }

    /// One call record by Call-ID.
    ///
    /// # Errors
    /// Database errors.
    pub async fn get_cdr(&self, call_id: &str) -> Result<Option<Cdr>> {
        let sql = format!("SELECT {CDR_COLUMNS} FROM cdrs WHERE call_id = $1");
        let row = sqlx::query(&sql)
            .bind(call_id)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(cdr_from_row).transpose()
    }

    /// A page of call records, newest first.
    ///
    /// # Errors
    /// Database errors.
    pub async fn list_cdrs(&self, limit: u32, offset: u64) -> Result<Vec<Cdr>> {
        self.list_cdrs_of(None, limit, offset).await
    }

    /// [`CallStore::list_cdrs`] limited to the calls `agent` took, when given.
    ///
    /// # Errors
    /// Database errors.
    pub async fn list_cdrs_of(
        &self,
        agent: Option<&str>,
        limit: u32,
        offset: u64,
    ) -> Result<Vec<Cdr>> {
        let filter = if agent.is_some() {
            "WHERE agent_id = $3"
        } else {
            ""
        };
        let sql = format!(
            "SELECT {CDR_COLUMNS} FROM cdrs {filter} \
             ORDER BY arrived_at_ms DESC, call_id DESC LIMIT $1 OFFSET $2"
        );
        let mut q = sqlx::query(&sql)
            .bind(i64::from(limit))
            .bind(clamp_i64(offset));
        if let Some(a) = agent {
            q = q.bind(a);
        }
        let rows = q.fetch_all(&self.pool).await?;
        rows.iter().map(cdr_from_row).collect()
    }

    /// Recordings that ended before `older_than_ms`, oldest first, at most
    /// `limit` (the retention policy works in batches).
    ///
    /// # Errors
    /// Database errors.
    pub async fn expired(&self, older_than_ms: i64, limit: u32) -> Result<Vec<RecordingRow>> {
        let sql = format!(
            "SELECT {RECORDING_COLUMNS} FROM recordings WHERE ended_at_ms < $1 \
             ORDER BY ended_at_ms, id LIMIT $2"
        );
        let rows = sqlx::query(&sql)
            .bind(older_than_ms)
            .bind(i64::from(limit))
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(recording_from_row).collect()
    }

    /// Deletes up to `limit` expired recordings: the file first, then the row
    /// (a crash in between leaves a row whose file is gone, which the next
    /// purge clears). Call records keep their data; their link is cleared.
    /// `resolve` maps a stored path to the file on disk (e.g. joins the data
    /// dir).
    ///
    /// # Errors
    /// Database errors. File errors are reported in [`PurgeReport::failed`].
    pub async fn purge(
        &self,
        older_than_ms: i64,
        limit: u32,
        resolve: impl Fn(&str) -> PathBuf,
    ) -> Result<PurgeReport> {
        let mut report = PurgeReport::default();
        for row in self.expired(older_than_ms, limit).await? {
            let file = resolve(&row.path);
            match tokio::fs::remove_file(&file).await {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => report.missing_files += 1,
                Err(e) => {
                    tracing::warn!(recording = %row.id, error = %e, "cannot delete expired recording");
                    report.failed.push((row.id, e.to_string()));
                    continue;
                }
            }
            // Explicit rather than relying on ON DELETE SET NULL alone: SQLite
            // enforces foreign keys only when the connection enables them.
            sqlx::query("UPDATE cdrs SET recording_id = NULL WHERE recording_id = $1")
                .bind(&row.id)
                .execute(&self.pool)
                .await?;
            sqlx::query("DELETE FROM recordings WHERE id = $1")
                .bind(&row.id)
                .execute(&self.pool)
                .await?;
            report.deleted += 1;
        }
        Ok(report)
    }
}

/// The `INSERT` of one `recordings` row, bound (shared with [`batch`]).
fn recording_insert(r: &RecordingRow) -> AnyQuery<'_> {
    sqlx::query(
        "INSERT INTO recordings (id, call_id, caller_number, agent_id, ticket_id, \
             started_at_ms, ended_at_ms, duration_ms, path, size_bytes, sha256, dropped_frames) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
    )
    .bind(&r.id)
    .bind(&r.call_id)
    .bind(&r.caller_number)
    .bind(r.agent_id.as_deref())
    .bind(r.ticket_id.as_deref())
    .bind(r.started_at_ms)
    .bind(r.ended_at_ms)
    .bind(r.duration_ms)
    .bind(&r.path)
    .bind(r.size_bytes)
    .bind(&r.sha256)
    .bind(r.dropped_frames)
}

/// The `INSERT` of one `cdrs` row, bound (shared with [`batch`]).
fn cdr_insert(c: &Cdr) -> AnyQuery<'_> {
    sqlx::query(
        "INSERT INTO cdrs (call_id, caller_number, did, agent_id, arrived_at_ms, \
             answered_at_ms, ended_at_ms, hangup_by, reason, recording_id, direction, purpose) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
    )
    .bind(&c.call_id)
    .bind(&c.caller_number)
    .bind(&c.did)
    .bind(c.agent_id.as_deref())
    .bind(c.arrived_at_ms)
    .bind(c.answered_at_ms)
    .bind(c.ended_at_ms)
    .bind(c.hangup_by.as_str())
    .bind(&c.reason)
    .bind(c.recording_id.as_deref())
    .bind(&c.direction)
    .bind(c.purpose.as_deref())
}

/// A bound query of the `Any` driver.
type AnyQuery<'q> = sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>>;

/// Opens an `AnyPool`, creating a missing SQLite file and enabling WAL.
///
/// # Errors
/// The URL is invalid or the database cannot be reached.
pub async fn connect_pool(url: &str) -> Result<AnyPool> {
    sqlx::any::install_default_drivers();
    let url = sqlite_create_if_missing(url);
    let options = AnyConnectOptions::from_str(&url)?;
    let pool = AnyPoolOptions::new()
        .after_connect(|conn, _meta| {
            Box::pin(async move {
                if conn.backend_name().eq_ignore_ascii_case("sqlite") {
                    // WAL: the recordings page reads while calls write; the
                    // setting is persistent but cheap to assert per connection.
                    conn.execute("PRAGMA journal_mode = WAL").await?;
                    conn.execute("PRAGMA foreign_keys = ON").await?;
                }
                Ok(())
            })
        })
        .connect_with(options)
        .await?;
    Ok(pool)
}

/// `sqlite://path` fails on a missing file unless `mode=rwc` is given; a
/// fresh install must just work.
fn sqlite_create_if_missing(url: &str) -> String {
    let is_sqlite = url.starts_with("sqlite:");
    let is_memory = url.contains(":memory:") || url.contains("mode=memory");
    if !is_sqlite || is_memory || url.contains("mode=") {
        return url.to_owned();
    }
    let sep = if url.contains('?') { '&' } else { '?' };
    format!("{url}{sep}mode=rwc")
}

fn recording_from_row(row: &AnyRow) -> Result<RecordingRow> {
    Ok(RecordingRow {
        id: row.try_get("id")?,
        call_id: row.try_get("call_id")?,
        caller_number: row.try_get("caller_number")?,
        agent_id: row.try_get("agent_id")?,
        ticket_id: row.try_get("ticket_id")?,
        started_at_ms: row.try_get("started_at_ms")?,
        ended_at_ms: row.try_get("ended_at_ms")?,
        duration_ms: row.try_get("duration_ms")?,
        path: row.try_get("path")?,
        size_bytes: row.try_get("size_bytes")?,
        sha256: row.try_get("sha256")?,
        dropped_frames: row.try_get("dropped_frames")?,
    })
}

fn cdr_from_row(row: &AnyRow) -> Result<Cdr> {
    let hangup_by: String = row.try_get("hangup_by")?;
    Ok(Cdr {
        call_id: row.try_get("call_id")?,
        caller_number: row.try_get("caller_number")?,
        did: row.try_get("did")?,
        agent_id: row.try_get("agent_id")?,
        arrived_at_ms: row.try_get("arrived_at_ms")?,
        answered_at_ms: row.try_get("answered_at_ms")?,
        ended_at_ms: row.try_get("ended_at_ms")?,
        hangup_by: hangup_by.parse()?,
        reason: row.try_get("reason")?,
        recording_id: row.try_get("recording_id")?,
        direction: row.try_get("direction")?,
        purpose: row.try_get("purpose")?,
    })
}

/// A stable, file-name-safe recording id derived from the call: Call-IDs may
/// hold `@`, `/` or quotes, and one call may be recorded more than once
/// (transfer), so the id hashes the Call-ID with the recording's start.
#[must_use]
pub fn recording_id(call_id: &str, started_at_ms: i64) -> String {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    h.update(call_id.as_bytes());
    h.update(b"\0");
    h.update(started_at_ms.to_be_bytes());
    hex::encode(&h.finalize()[..16])
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn store(dir: &tempfile::TempDir) -> CallStore {
        let url = format!("sqlite://{}", dir.path().join("hotline.db").display());
        CallStore::connect(&url).await.expect("connect")
    }

    /// A fresh, migrated PostgreSQL database when `HOTLINE_TEST_POSTGRES_URL`
    /// points at a server (an admin URL, e.g. `postgres://postgres@127.0.0.1/postgres`);
    /// `None` otherwise, and the PostgreSQL half of a test is skipped.
    async fn postgres_store(name: &str) -> Option<(CallStore, AnyPool, String)> {
        let Ok(admin_url) = std::env::var("HOTLINE_TEST_POSTGRES_URL") else {
            assert!(
                std::env::var_os("CI").is_none(),
                "HOTLINE_TEST_POSTGRES_URL is required in CI (.ci/run starts PostgreSQL)"
            );
            eprintln!("SKIPPED (PostgreSQL half): HOTLINE_TEST_POSTGRES_URL is not set");
            return None;
        };
        let admin = connect_pool(&admin_url).await.expect("postgres admin");
        let db = format!("hotline_rec_{name}_{}", std::process::id());
        admin
            .execute(format!("DROP DATABASE IF EXISTS {db} WITH (FORCE)").as_str())
            .await
            .expect("drop");
        admin
            .execute(format!("CREATE DATABASE {db}").as_str())
            .await
            .expect("create");
        let (base, _) = admin_url.rsplit_once('/').expect("url has a database");
        let store = CallStore::connect(&format!("{base}/{db}"))
            .await
            .expect("connect");
        Some((store, admin, db))
    }

    /// Runs a scenario on a SQLite file, then on PostgreSQL if configured.
    pub(super) async fn on_every_backend<F, Fut>(name: &str, scenario: F)
    where
        F: Fn(CallStore, std::path::PathBuf) -> Fut,
        Fut: std::future::Future<Output = ()>,
    {
        let dir = tempfile::tempdir().expect("tempdir");
        scenario(store(&dir).await, dir.path().join("sqlite-files")).await;
        if let Some((pg, admin, db)) = postgres_store(name).await {
            let pool = pg.pool().clone();
            scenario(pg, dir.path().join("pg-files")).await;
            pool.close().await;
            admin
                .execute(format!("DROP DATABASE {db} WITH (FORCE)").as_str())
                .await
                .expect("drop");
        }
    }

    pub(super) fn rec(id: &str, call: &str, started: i64) -> RecordingRow {
        RecordingRow {
            id: id.to_owned(),
            call_id: call.to_owned(),
            caller_number: "13800138000".to_owned(),
            agent_id: Some("1001".to_owned()),
            ticket_id: None,
            started_at_ms: started,
            ended_at_ms: started + 65_000,
            duration_ms: 65_000,
            path: format!("recordings/{id}.wav"),
            size_bytes: 44 + 65 * 32_000,
            sha256: "ab".repeat(32),
            dropped_frames: 3,
        }
    }

    pub(super) fn cdr(call: &str, arrived: i64, recording: Option<&str>) -> Cdr {
        Cdr {
            call_id: call.to_owned(),
            caller_number: "13800138000".to_owned(),
            did: "12345".to_owned(),
            agent_id: recording.map(|_| "1001".to_owned()),
            arrived_at_ms: arrived,
            answered_at_ms: recording.map(|_| arrived + 8_000),
            ended_at_ms: arrived + 73_000,
            hangup_by: HangupBy::Caller,
            reason: reason::NORMAL.to_owned(),
            recording_id: recording.map(str::to_owned),
            direction: direction::INBOUND.to_owned(),
            purpose: None,
        }
    }

    #[tokio::test]
    async fn sqlite_file_in_wal_mode_with_migrations() {
        let dir = tempfile::tempdir().expect("tempdir");
        let s = store(&dir).await;
        let mode: String = sqlx::query("PRAGMA journal_mode")
            .fetch_one(s.pool())
            .await
            .expect("pragma")
            .try_get(0)
            .expect("column");
        assert_eq!(mode.to_ascii_lowercase(), "wal");
        assert!(dir.path().join("hotline.db").exists());
        // Connecting again re-runs the migrator as a no-op.
        drop(s);
        let s = store(&dir).await;
        assert!(s.list_recordings(10, 0).await.expect("list").is_empty());
    }

    #[tokio::test]
    async fn recordings_round_trip_and_page_newest_first() {
        on_every_backend(
            "recordings",
            |s, _| async move { recordings_scenario(s).await },
        )
        .await;
    }

    async fn recordings_scenario(s: CallStore) {
        let mut a = rec("a", "call-1@10.0.0.1", 1_700_000_000_000);
        a.agent_id = None;
        let b = rec("b", "call-2@10.0.0.1", 1_700_000_100_000);
        let c = rec("c", "call-2@10.0.0.1", 1_700_000_200_000);
        for r in [&a, &b, &c] {
            s.insert_recording(r).await.expect("insert");
        }
        assert_eq!(s.get_recording("a").await.expect("get"), Some(a.clone()));
        assert_eq!(s.get_recording("zz").await.expect("get"), None);
        let page = s.list_recordings(2, 0).await.expect("list");
        assert_eq!(page, vec![c.clone(), b.clone()]);
        let page = s.list_recordings(2, 2).await.expect("list");
        assert_eq!(page, vec![a.clone()]);
        assert_eq!(
            s.recordings_for_call("call-2@10.0.0.1")
                .await
                .expect("call"),
            vec![b.clone(), c.clone()]
        );
        // Duplicate ids are refused.
        assert!(s.insert_recording(&a).await.is_err());
        assert!(s
            .set_recording_ticket("b", "T-2024-0001")
            .await
            .expect("link"));
        assert!(!s.set_recording_ticket("nope", "T").await.expect("link"));
        let got = s.get_recording("b").await.expect("get").expect("row");
        assert_eq!(got.ticket_id.as_deref(), Some("T-2024-0001"));
    }

    #[tokio::test]
    async fn cdrs_round_trip_with_nulls() {
        on_every_backend("cdrs", |s, _| async move { cdrs_scenario(s).await }).await;
    }

    async fn cdrs_scenario(s: CallStore) {
        s.insert_recording(&rec("r1", "answered", 1_000))
            .await
            .expect("insert");
        let answered = cdr("answered", 1_000, Some("r1"));
        let mut abandoned = cdr("abandoned", 2_000, None);
        abandoned.hangup_by = HangupBy::Caller;
        abandoned.reason = reason::CANCELLED.to_owned();
        let mut failed = cdr("failed", 3_000, None);
        failed.hangup_by = HangupBy::System;
        failed.reason = reason::MEDIA_TIMEOUT.to_owned();
        for c in [&answered, &abandoned, &failed] {
            s.insert_cdr(c).await.expect("insert");
        }
        assert_eq!(
            s.list_cdrs(10, 0).await.expect("list"),
            vec![failed.clone(), abandoned.clone(), answered.clone()]
        );
        assert_eq!(s.get_cdr("abandoned").await.expect("get"), Some(abandoned));
        assert_eq!(s.list_cdrs(1, 2).await.expect("list"), vec![answered]);
        // A link to a recording that does not exist is refused.
        assert!(s
            .insert_cdr(&cdr("x", 4_000, Some("missing")))
            .await
            .is_err());
        // So is an unknown hangup party (CHECK constraint).
        sqlx::query(
            "INSERT INTO cdrs (call_id, caller_number, did, arrived_at_ms, ended_at_ms, \
             hangup_by, reason) VALUES ('y', '1', '12345', 1, 2, 'martian', 'normal')",
        )
        .execute(s.pool())
        .await
        .expect_err("check constraint");
    }

    #[tokio::test]
    async fn a_batch_of_calls_is_written_and_a_bad_row_costs_only_its_call() {
        on_every_backend("batch", |s, _| async move { batch_scenario(s).await }).await;
    }

    async fn batch_scenario(s: CallStore) {
        let call = |id: &str, arrived: i64, recorded: bool| CallRows {
            recording: recorded.then(|| rec(&format!("r-{id}"), id, arrived)),
            cdr: cdr(id, arrived, recorded.then(|| format!("r-{id}")).as_deref()),
        };
        let first = [call("a", 1_000, true), call("b", 2_000, false)];
        let errors = s.insert_calls(&first).await;
        assert!(errors
            .iter()
            .all(|e| e.recording.is_none() && e.cdr.is_none()));
        assert_eq!(
            s.get_cdr("a").await.expect("get"),
            Some(first[0].cdr.clone())
        );
        assert_eq!(
            s.get_recording("r-a").await.expect("get"),
            first[0].recording.clone()
        );
        assert_eq!(
            s.get_cdr("b").await.expect("get"),
            Some(first[1].cdr.clone())
        );

        // "c" reuses a's recording id: the batch fails as a whole and is
        // written call by call; c keeps its CDR without the link, d is whole.
        let mut c = call("c", 3_000, true);
        if let Some(r) = c.recording.as_mut() {
            r.id = "r-a".to_owned();
        }
        c.cdr.recording_id = Some("r-a-duplicate".to_owned());
        let second = [c, call("d", 4_000, true)];
        let errors = s.insert_calls(&second).await;
        assert!(errors[0].recording.is_some() && errors[0].cdr.is_none());
        assert!(errors[1].recording.is_none() && errors[1].cdr.is_none());
        let c_cdr = s.get_cdr("c").await.expect("get").expect("c written");
        assert_eq!(c_cdr.recording_id, None);
        assert_eq!(
            s.get_cdr("d").await.expect("get"),
            Some(second[1].cdr.clone())
        );
        assert_eq!(s.list_cdrs(10, 0).await.expect("list").len(), 4);
        assert_eq!(s.list_recordings(10, 0).await.expect("list").len(), 2);
    }

    #[tokio::test]
    async fn purge_deletes_expired_files_and_rows_and_keeps_cdrs() {
        on_every_backend(
            "purge",
            |s, base| async move { purge_scenario(s, base).await },
        )
        .await;
    }

    async fn purge_scenario(s: CallStore, base: std::path::PathBuf) {
        let day = 86_400_000i64;
        std::fs::create_dir_all(base.join("recordings")).expect("mkdir");
        for (id, started) in [("old1", 0), ("old2", day), ("new", 100 * day)] {
            let r = rec(id, id, started);
            if id != "old2" {
                std::fs::write(base.join(&r.path), b"RIFF").expect("file");
            }
            s.insert_recording(&r).await.expect("insert");
            s.insert_cdr(&cdr(id, started, Some(id)))
                .await
                .expect("cdr");
        }
        let cutoff = 90 * day;
        let expired = s.expired(cutoff, 10).await.expect("expired");
        let ids: Vec<_> = expired.iter().map(|r| r.id.as_str()).collect();
        assert_eq!(ids, ["old1", "old2"]);

        let report = s.purge(cutoff, 10, |p| base.join(p)).await.expect("purge");
        assert_eq!(report.deleted, 2);
        assert_eq!(report.missing_files, 1);
        assert!(report.failed.is_empty());
        assert!(!base.join("recordings/old1.wav").exists());
        assert!(base.join("recordings/new.wav").exists());
        assert_eq!(s.get_recording("old1").await.expect("get"), None);
        assert!(s.get_recording("new").await.expect("get").is_some());
        let kept = s.get_cdr("old1").await.expect("get").expect("cdr kept");
        assert_eq!(kept.recording_id, None);
        assert!(s.expired(cutoff, 10).await.expect("expired").is_empty());
    }

    #[test]
    fn recording_ids_are_stable_and_file_safe() {
        let a = recording_id("a84b4c76e66710@pc33.atlanta.com", 1);
        assert_eq!(a, recording_id("a84b4c76e66710@pc33.atlanta.com", 1));
        assert_ne!(a, recording_id("a84b4c76e66710@pc33.atlanta.com", 2));
        assert_eq!(a.len(), 32);
        assert!(a.bytes().all(|b| b.is_ascii_hexdigit()));
    }

    #[test]
    fn sqlite_urls_get_create_mode() {
        assert_eq!(
            sqlite_create_if_missing("sqlite://d/h.db"),
            "sqlite://d/h.db?mode=rwc"
        );
        assert_eq!(
            sqlite_create_if_missing("sqlite://d/h.db?cache=shared"),
            "sqlite://d/h.db?cache=shared&mode=rwc"
        );
        assert_eq!(
            sqlite_create_if_missing("sqlite::memory:"),
            "sqlite::memory:"
        );
        assert_eq!(
            sqlite_create_if_missing("postgres://u@h/db"),
            "postgres://u@h/db"
        );
    }
}
