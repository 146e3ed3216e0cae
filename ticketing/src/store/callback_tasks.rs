//! The callback task list (`callback_tasks`): citizens to call back, worked
//! by hotline agents one at a time.
//!
//! Two kinds share the list and its rules: `dissatisfied` (a first-round
//! handling survey of 4 or 5, §21; the result records the cause on the
//! order) and `request` (a caller who chose to be called back instead of
//! waiting in a queue). A task is `open`, `claimed` by one agent until the
//! claim expires, or `done`. A claim is one guarded `UPDATE`: it succeeds
//! for an open task, an expired claim, or the agent's own claim (renewed),
//! so two agents can never hold the same task.

use sqlx::any::AnyRow;
use sqlx::Row;
use time::OffsetDateTime;

use super::tickets::{from_ms, ms};
use super::{is_unique_violation, Error, Result, Store};

/// A task on the callback list.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct CallbackTask {
    /// `<order>:r<round>` or `request:<request id>`.
    pub id: String,
    /// `dissatisfied` or `request`.
    pub kind: String,
    /// The order (dissatisfied).
    pub order_id: Option<String>,
    /// The survey round that was dissatisfied.
    pub round: Option<u8>,
    /// The callback request (request).
    pub request_id: Option<String>,
    /// The citizen's number (withheld from views that may not see it).
    pub number: String,
    /// The queue the request came from.
    pub queue: Option<String>,
    /// `open`, `claimed` or `done` (a lapsed claim reads `open`).
    pub status: String,
    /// The agent holding the task.
    pub claimed_by: Option<String>,
    /// Until when.
    #[serde(with = "time::serde::rfc3339::option")]
    pub claim_expires_at: Option<OffsetDateTime>,
    /// Calls placed for it.
    pub attempts: u32,
    /// How the last call went (`bridged`, `citizen_busy`, …).
    pub last_outcome: Option<String>,
    /// The last bridged call.
    pub last_call_id: Option<String>,
    /// The recorded cause (dissatisfied) or outcome (request).
    pub cause: Option<String>,
    /// The agent's notes.
    pub notes: Option<String>,
    /// Who finished it.
    pub done_by: Option<String>,
    /// Created.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// Finished.
    #[serde(with = "time::serde::rfc3339::option")]
    pub done_at: Option<OffsetDateTime>,
}

/// A task to add.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewCallbackTask {
    /// See [`CallbackTask::id`].
    pub id: String,
    /// `dissatisfied` or `request`.
    pub kind: &'static str,
    /// The order.
    pub order_id: Option<String>,
    /// The round.
    pub round: Option<u8>,
    /// The request.
    pub request_id: Option<String>,
    /// The citizen's number.
    pub number: String,
    /// The queue.
    pub queue: Option<String>,
}

/// Why a claim or an action on a task was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TaskRefusal {
    /// No such task.
    NotFound,
    /// Done already.
    Done,
    /// Another agent holds it (until the instant).
    HeldBy(String, OffsetDateTime),
    /// The agent does not hold it (claim first, or the claim lapsed).
    NotClaimed,
}

const TASK_COLUMNS: &str = "id, kind, order_id, round, request_id, number, queue, status, \
     claimed_by, claim_expires_ms, attempts, last_outcome, last_call_id, cause, notes, done_by, \
     created_at_ms, done_at_ms";

fn task_from_row(r: &AnyRow, now: OffsetDateTime) -> Result<CallbackTask> {
    let round: Option<i64> = r.try_get("round")?;
    let expires: Option<i64> = r.try_get("claim_expires_ms")?;
    let done: Option<i64> = r.try_get("done_at_ms")?;
    let mut status: String = r.try_get("status")?;
    let mut claimed_by: Option<String> = r.try_get("claimed_by")?;
    if status == "claimed" && expires.is_none_or(|e| e <= ms(now)) {
        status = "open".into();
        claimed_by = None;
    }
    Ok(CallbackTask {
        id: r.try_get("id")?,
        kind: r.try_get("kind")?,
        order_id: r.try_get("order_id")?,
        round: round.and_then(|v| u8::try_from(v).ok()),
        request_id: r.try_get("request_id")?,
        number: r.try_get("number")?,
        queue: r.try_get("queue")?,
        claim_expires_at: expires.filter(|_| claimed_by.is_some()).map(from_ms),
        status,
        claimed_by,
        attempts: u32::try_from(r.try_get::<i64, _>("attempts")?).unwrap_or(0),
        last_outcome: r.try_get("last_outcome")?,
        last_call_id: r.try_get("last_call_id")?,
        cause: r.try_get("cause")?,
        notes: r.try_get("notes")?,
        done_by: r.try_get("done_by")?,
        created_at: from_ms(r.try_get("created_at_ms")?),
        done_at: done.map(from_ms),
    })
}

impl Store {
    /// Adds a task; `false` when one with that id exists already.
    ///
    /// # Errors
    /// Database errors.
    pub async fn create_callback_task(
        &self,
        t: &NewCallbackTask,
        now: OffsetDateTime,
    ) -> Result<bool> {
        let r = sqlx::query(
            "INSERT INTO callback_tasks (id, kind, order_id, round, request_id, number, queue, \
             status, attempts, created_at_ms) VALUES ($1, $2, $3, $4, $5, $6, $7, 'open', 0, $8) \
             ON CONFLICT DO NOTHING",
        )
        .bind(&t.id)
        .bind(t.kind)
        .bind(t.order_id.as_deref())
        .bind(t.round.map(i64::from))
        .bind(t.request_id.as_deref())
        .bind(&t.number)
        .bind(t.queue.as_deref())
        .bind(ms(now))
        .execute(&self.pool)
        .await;
        match r {
            Ok(done) => Ok(done.rows_affected() == 1),
            Err(e) if is_unique_violation(&e) => Ok(false),
            Err(e) => Err(e.into()),
        }
    }

    /// One task, as seen at `now`.
    ///
    /// # Errors
    /// Database errors.
    pub async fn callback_task(
        &self,
        id: &str,
        now: OffsetDateTime,
    ) -> Result<Option<CallbackTask>> {
        let sql = format!("SELECT {TASK_COLUMNS} FROM callback_tasks WHERE id = $1");
        let row = sqlx::query(&sql)
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        row.map(|r| task_from_row(&r, now)).transpose()
    }

    /// Tasks of `kind`, oldest first (the order to work them in); with
    /// `open_only`, only those nobody holds and not done.
    ///
    /// # Errors
    /// Database errors.
    pub async fn list_callback_tasks(
        &self,
        kind: Option<&str>,
        open_only: bool,
        now: OffsetDateTime,
        limit: u32,
        offset: u64,
    ) -> Result<Vec<CallbackTask>> {
        let sql = format!(
            "SELECT {TASK_COLUMNS} FROM callback_tasks \
             WHERE (CAST($1 AS TEXT) IS NULL OR kind = CAST($1 AS TEXT)) \
             AND (CAST($2 AS BIGINT) = 0 OR status = 'open' OR (status = 'claimed' AND claim_expires_ms <= $3)) \
             ORDER BY created_at_ms, id LIMIT $4 OFFSET $5"
        );
        let rows = sqlx::query(&sql)
            .bind(kind)
            .bind(i64::from(open_only))
            .bind(ms(now))
            .bind(i64::from(limit))
            .bind(super::to_i64(offset))
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(|r| task_from_row(r, now)).collect()
    }

    /// Why `agent` may not act on task `id` now, read after a guarded update
    /// changed nothing.
    async fn task_refusal(&self, id: &str, now: OffsetDateTime) -> Result<TaskRefusal> {
        Ok(match self.callback_task(id, now).await? {
            None => TaskRefusal::NotFound,
            Some(t) if t.status == "done" => TaskRefusal::Done,
            Some(t) => match (t.claimed_by, t.claim_expires_at) {
                (Some(who), Some(until)) => TaskRefusal::HeldBy(who, until),
                _ => TaskRefusal::NotClaimed,
            },
        })
    }

    /// `agent` claims task `id` until `until` (or renews its own claim).
    ///
    /// # Errors
    /// Database errors.
    pub async fn claim_callback_task(
        &self,
        id: &str,
        agent: &str,
        now: OffsetDateTime,
        until: OffsetDateTime,
    ) -> Result<std::result::Result<CallbackTask, TaskRefusal>> {
        let r = sqlx::query(
            "UPDATE callback_tasks SET status = 'claimed', claimed_by = $2, claim_expires_ms = $4 \
             WHERE id = $1 AND (status = 'open' OR (status = 'claimed' \
             AND (claimed_by = $2 OR claim_expires_ms <= $3)))",
        )
        .bind(id)
        .bind(agent)
        .bind(ms(now))
        .bind(ms(until))
        .execute(&self.pool)
        .await?;
        if r.rows_affected() != 1 {
            return Ok(Err(self.task_refusal(id, now).await?));
        }
        self.held(id, now).await
    }

    async fn held(
        &self,
        id: &str,
        now: OffsetDateTime,
    ) -> Result<std::result::Result<CallbackTask, TaskRefusal>> {
        self.callback_task(id, now)
            .await?
            .map(Ok)
            .ok_or_else(|| Error::NotFound(format!("callback task {id}")))
    }

    /// Checks that `agent` holds task `id` at `now` (before dialling).
    ///
    /// # Errors
    /// Database errors.
    pub async fn check_callback_claim(
        &self,
        id: &str,
        agent: &str,
        now: OffsetDateTime,
    ) -> Result<std::result::Result<CallbackTask, TaskRefusal>> {
        match self.callback_task(id, now).await? {
            None => Ok(Err(TaskRefusal::NotFound)),
            Some(t) if t.status == "done" => Ok(Err(TaskRefusal::Done)),
            Some(t) if t.claimed_by.as_deref() == Some(agent) => Ok(Ok(t)),
            Some(t) => Ok(Err(match (t.claimed_by, t.claim_expires_at) {
                (Some(who), Some(until)) => TaskRefusal::HeldBy(who, until),
                _ => TaskRefusal::NotClaimed,
            })),
        }
    }

    /// Records a call placed for task `id` by `agent` (who must hold it; the
    /// claim is extended to `until`).
    ///
    /// # Errors
    /// Database errors.
    #[allow(clippy::too_many_arguments)]
    pub async fn record_callback_call(
        &self,
        id: &str,
        agent: &str,
        outcome: &str,
        call_id: Option<&str>,
        now: OffsetDateTime,
        until: OffsetDateTime,
    ) -> Result<std::result::Result<CallbackTask, TaskRefusal>> {
        let r = sqlx::query(
            "UPDATE callback_tasks SET attempts = attempts + 1, last_outcome = $3, \
             last_call_id = COALESCE($4, last_call_id), claim_expires_ms = $6 \
             WHERE id = $1 AND status = 'claimed' AND claimed_by = $2 AND claim_expires_ms > $5",
        )
        .bind(id)
        .bind(agent)
        .bind(outcome)
        .bind(call_id)
        .bind(ms(now))
        .bind(ms(until))
        .execute(&self.pool)
        .await?;
        if r.rows_affected() != 1 {
            return Ok(Err(self.task_refusal(id, now).await?));
        }
        self.held(id, now).await
    }

    /// Finishes task `id` held by `agent` with `cause` and `notes`.
    ///
    /// # Errors
    /// Database errors.
    pub async fn finish_callback_task(
        &self,
        id: &str,
        agent: &str,
        cause: &str,
        notes: &str,
        now: OffsetDateTime,
    ) -> Result<std::result::Result<CallbackTask, TaskRefusal>> {
        let r = sqlx::query(
            "UPDATE callback_tasks SET status = 'done', cause = $3, notes = $4, done_by = $2, \
             done_at_ms = $5, claim_expires_ms = NULL \
             WHERE id = $1 AND status = 'claimed' AND claimed_by = $2 AND claim_expires_ms > $5",
        )
        .bind(id)
        .bind(agent)
        .bind(cause)
        .bind(notes)
        .bind(ms(now))
        .execute(&self.pool)
        .await?;
        if r.rows_affected() != 1 {
            return Ok(Err(self.task_refusal(id, now).await?));
        }
        self.held(id, now).await
    }

    /// The orders with an unfinished dissatisfied task.
    ///
    /// # Errors
    /// Database errors.
    pub async fn orders_with_open_callback_tasks(&self) -> Result<Vec<String>> {
        let rows = sqlx::query(
            "SELECT DISTINCT order_id FROM callback_tasks \
             WHERE kind = 'dissatisfied' AND status <> 'done' AND order_id IS NOT NULL",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| r.try_get("order_id").map_err(Into::into))
            .collect()
    }

    /// Closes every unfinished dissatisfied task of `order` once its callback
    /// is recorded on the order (from the task list or the order's own
    /// `record_callback` step); the number closed.
    ///
    /// # Errors
    /// Database errors.
    pub async fn close_order_callback_tasks(
        &self,
        order: &str,
        by: &str,
        cause: &str,
        notes: &str,
        now: OffsetDateTime,
    ) -> Result<u64> {
        let r = sqlx::query(
            "UPDATE callback_tasks SET status = 'done', cause = $3, notes = $4, done_by = $2, \
             done_at_ms = $5, claim_expires_ms = NULL \
             WHERE order_id = $1 AND kind = 'dissatisfied' AND status <> 'done'",
        )
        .bind(order)
        .bind(by)
        .bind(cause)
        .bind(notes)
        .bind(ms(now))
        .execute(&self.pool)
        .await?;
        Ok(r.rows_affected())
    }
}
