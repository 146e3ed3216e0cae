//! The persistent queue of handling-stage survey calls (`survey_jobs`) and
//! the history of their attempts (`survey_attempts`).
//!
//! A job is keyed by order and round (`UNIQUE (order_id, round)`), so asking
//! twice for the same survey creates one job. Calling a job is a claim: one
//! `UPDATE … WHERE status = 'pending' AND slots = $seen` moves it to
//! `calling`, counts the attempt and takes the next slot; whoever loses a
//! race updates nothing and does not dial. Finishing an attempt is another
//! guarded `UPDATE` (`status = 'calling' AND slots = $slot`) plus the
//! attempt row, in one transaction. The decisions (when, how often, what an
//! outcome means) are `survey_schedule`'s.

use sqlx::any::AnyRow;
use sqlx::Row;
use time::OffsetDateTime;

use super::tickets::{from_ms, ms};
use super::{is_unique_violation, Error, Result, Store};

/// Where a survey job is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum JobStatus {
    /// Waiting for its next attempt.
    Pending,
    /// A call is under way.
    Calling,
    /// The citizen rated (final for the job).
    Rated,
    /// Out of attempts.
    Unreachable,
    /// Not needed any more (the order moved on).
    Cancelled,
}

impl JobStatus {
    /// Lower-case name, as stored.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            JobStatus::Pending => "pending",
            JobStatus::Calling => "calling",
            JobStatus::Rated => "rated",
            JobStatus::Unreachable => "unreachable",
            JobStatus::Cancelled => "cancelled",
        }
    }

    /// The status named `s`.
    #[must_use]
    pub fn parse(s: &str) -> Option<JobStatus> {
        [
            JobStatus::Pending,
            JobStatus::Calling,
            JobStatus::Rated,
            JobStatus::Unreachable,
            JobStatus::Cancelled,
        ]
        .into_iter()
        .find(|x| x.as_str() == s)
    }
}

/// One survey job.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct SurveyJob {
    /// `<order>:r<round>`.
    pub id: String,
    /// The order.
    pub order_id: String,
    /// The order's round (2 after a redo).
    pub round: u8,
    /// The citizen's number.
    pub number: String,
    /// Prompt language.
    pub language: String,
    /// Where it is.
    pub status: JobStatus,
    /// Attempts counted so far.
    pub attempts: u32,
    /// Claims so far (counted or given back): the slot of the latest.
    pub slots: u32,
    /// When the next attempt is due.
    #[serde(with = "time::serde::rfc3339")]
    pub next_attempt_at: OffsetDateTime,
    /// The rating, once rated.
    pub rating: Option<u8>,
    /// Created.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// Last changed.
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
}

/// One attempt of a job.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct SurveyAttempt {
    /// The claim's slot (1, 2, …).
    pub slot: u32,
    /// Claimed (dialling started).
    #[serde(with = "time::serde::rfc3339")]
    pub started_at: OffsetDateTime,
    /// Ended; `None` while under way.
    #[serde(with = "time::serde::rfc3339::option")]
    pub ended_at: Option<OffsetDateTime>,
    /// `rated`, `busy`, `no_answer`, `no_rating`, `failed`, `interrupted`,
    /// `not_placed`.
    pub outcome: Option<String>,
    /// The SIP call, when one was answered.
    pub call_id: Option<String>,
}

/// What becomes of a job when its attempt ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobUpdate {
    /// Back to pending until `at`; `counted: false` gives the attempt back.
    Pending {
        /// Next attempt.
        at: OffsetDateTime,
        /// Whether the attempt counts.
        counted: bool,
    },
    /// Rated.
    Rated(u8),
    /// Out of attempts.
    Unreachable,
    /// Not needed any more.
    Cancelled,
}

/// The id of the job for `order` and `round`.
#[must_use]
pub fn job_id(order: &str, round: u8) -> String {
    format!("{order}:r{round}")
}

const JOB_COLUMNS: &str = "id, order_id, round, number, language, status, attempts, slots, \
     next_attempt_ms, rating, created_at_ms, updated_at_ms";

fn small<T: TryFrom<i64> + Default>(v: i64) -> T {
    T::try_from(v).unwrap_or_default()
}

fn job_from_row(r: &AnyRow) -> Result<SurveyJob> {
    let status: String = r.try_get("status")?;
    let rating: Option<i64> = r.try_get("rating")?;
    Ok(SurveyJob {
        id: r.try_get("id")?,
        order_id: r.try_get("order_id")?,
        round: small(r.try_get::<i64, _>("round")?),
        number: r.try_get("number")?,
        language: r.try_get("language")?,
        status: JobStatus::parse(&status).ok_or_else(|| Error::Corrupt {
            what: "survey job",
            detail: format!("unknown status {status:?}"),
        })?,
        attempts: small(r.try_get::<i64, _>("attempts")?),
        slots: small(r.try_get::<i64, _>("slots")?),
        next_attempt_at: from_ms(r.try_get("next_attempt_ms")?),
        rating: rating.map(small),
        created_at: from_ms(r.try_get("created_at_ms")?),
        updated_at: from_ms(r.try_get("updated_at_ms")?),
    })
}

impl Store {
    /// Creates the job of `order`'s `round`, first due at `due_at`; `false`
    /// when it exists already (nothing changes then).
    ///
    /// # Errors
    /// Database errors (the order must exist).
    pub async fn create_survey_job(
        &self,
        order: &str,
        round: u8,
        number: &str,
        language: &str,
        due_at: OffsetDateTime,
        now: OffsetDateTime,
    ) -> Result<bool> {
        let r = sqlx::query(
            "INSERT INTO survey_jobs (id, order_id, round, number, language, status, attempts, \
             slots, next_attempt_ms, created_at_ms, updated_at_ms) \
             VALUES ($1, $2, $3, $4, $5, 'pending', 0, 0, $6, $7, $7) \
             ON CONFLICT DO NOTHING",
        )
        .bind(job_id(order, round))
        .bind(order)
        .bind(i64::from(round))
        .bind(number)
        .bind(language)
        .bind(ms(due_at))
        .bind(ms(now))
        .execute(&self.pool)
        .await;
        match r {
            Ok(done) => Ok(done.rows_affected() == 1),
            Err(e) if is_unique_violation(&e) => Ok(false),
            Err(e) => Err(e.into()),
        }
    }

    /// One job.
    ///
    /// # Errors
    /// Database errors, [`Error::Corrupt`].
    pub async fn survey_job(&self, id: &str) -> Result<Option<SurveyJob>> {
        let sql = format!("SELECT {JOB_COLUMNS} FROM survey_jobs WHERE id = $1");
        let row = sqlx::query(&sql)
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(job_from_row).transpose()
    }

    /// Jobs, newest first; only those of `order` / in `status` if given.
    ///
    /// # Errors
    /// Database errors, [`Error::Corrupt`].
    pub async fn list_survey_jobs(
        &self,
        order: Option<&str>,
        status: Option<JobStatus>,
        limit: u32,
        offset: u64,
    ) -> Result<Vec<SurveyJob>> {
        let sql = format!(
            "SELECT {JOB_COLUMNS} FROM survey_jobs \
             WHERE (CAST($1 AS TEXT) IS NULL OR order_id = CAST($1 AS TEXT)) \
             AND (CAST($2 AS TEXT) IS NULL OR status = CAST($2 AS TEXT)) \
             ORDER BY created_at_ms DESC, id LIMIT $3 OFFSET $4"
        );
        let rows = sqlx::query(&sql)
            .bind(order)
            .bind(status.map(JobStatus::as_str))
            .bind(i64::from(limit))
            .bind(super::to_i64(offset))
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(job_from_row).collect()
    }

    /// Pending jobs due at `now`, oldest due first (at most `limit`), and
    /// the earliest due time of the pending jobs not yet due.
    ///
    /// # Errors
    /// Database errors, [`Error::Corrupt`].
    pub async fn due_survey_jobs(
        &self,
        now: OffsetDateTime,
        limit: u32,
    ) -> Result<(Vec<SurveyJob>, Option<OffsetDateTime>)> {
        let sql = format!(
            "SELECT {JOB_COLUMNS} FROM survey_jobs WHERE status = 'pending' \
             AND next_attempt_ms <= $1 ORDER BY next_attempt_ms, id LIMIT $2"
        );
        let rows = sqlx::query(&sql)
            .bind(ms(now))
            .bind(i64::from(limit))
            .fetch_all(&self.pool)
            .await?;
        let due = rows.iter().map(job_from_row).collect::<Result<Vec<_>>>()?;
        let next: Option<i64> = sqlx::query(
            "SELECT MIN(next_attempt_ms) AS t FROM survey_jobs \
             WHERE status = 'pending' AND next_attempt_ms > $1",
        )
        .bind(ms(now))
        .fetch_one(&self.pool)
        .await?
        .try_get("t")?;
        Ok((due, next.map(from_ms)))
    }

    /// Jobs left in `calling` (by a crash, when read at start-up).
    ///
    /// # Errors
    /// Database errors, [`Error::Corrupt`].
    pub async fn calling_survey_jobs(&self) -> Result<Vec<SurveyJob>> {
        let sql = format!("SELECT {JOB_COLUMNS} FROM survey_jobs WHERE status = 'calling'");
        let rows = sqlx::query(&sql).fetch_all(&self.pool).await?;
        rows.iter().map(job_from_row).collect()
    }

    /// Claims `job` for one call: pending → calling, the attempt counted and
    /// the next slot taken, provided nobody else claimed it since it was
    /// read (`job.slots`). `None` when someone did (do not dial).
    ///
    /// # Errors
    /// Database errors.
    pub async fn claim_survey_job(
        &self,
        job: &SurveyJob,
        now: OffsetDateTime,
    ) -> Result<Option<SurveyJob>> {
        let mut tx = self.pool.begin().await?;
        let claimed = sqlx::query(
            "UPDATE survey_jobs SET status = 'calling', attempts = attempts + 1, \
             slots = slots + 1, updated_at_ms = $3 \
             WHERE id = $1 AND status = 'pending' AND slots = $2",
        )
        .bind(&job.id)
        .bind(i64::from(job.slots))
        .bind(ms(now))
        .execute(&mut *tx)
        .await?;
        if claimed.rows_affected() != 1 {
            return Ok(None);
        }
        let slot = job.slots.saturating_add(1);
        sqlx::query(
            "INSERT INTO survey_attempts (job_id, slot, started_at_ms) VALUES ($1, $2, $3)",
        )
        .bind(&job.id)
        .bind(i64::from(slot))
        .bind(ms(now))
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(Some(SurveyJob {
            status: JobStatus::Calling,
            attempts: job.attempts.saturating_add(1),
            slots: slot,
            updated_at: now,
            ..job.clone()
        }))
    }

    /// Ends the attempt in `slot` of job `id` with `outcome` and moves the
    /// job on as `update` says. `false` when the job is not in that call any
    /// more (nothing changes).
    ///
    /// # Errors
    /// Database errors.
    pub async fn finish_survey_attempt(
        &self,
        id: &str,
        slot: u32,
        outcome: &str,
        call_id: Option<&str>,
        update: JobUpdate,
        now: OffsetDateTime,
    ) -> Result<bool> {
        let (status, next, give_back, rating) = match update {
            JobUpdate::Pending { at, counted } => {
                (JobStatus::Pending, Some(ms(at)), i64::from(!counted), None)
            }
            JobUpdate::Rated(r) => (JobStatus::Rated, None, 0, Some(i64::from(r))),
            JobUpdate::Unreachable => (JobStatus::Unreachable, None, 0, None),
            JobUpdate::Cancelled => (JobStatus::Cancelled, None, 0, None),
        };
        let mut tx = self.pool.begin().await?;
        let moved = sqlx::query(
            "UPDATE survey_jobs SET status = $3, attempts = attempts - $4, \
             next_attempt_ms = COALESCE($5, next_attempt_ms), rating = COALESCE($6, rating), \
             updated_at_ms = $7 WHERE id = $1 AND status = 'calling' AND slots = $2",
        )
        .bind(id)
        .bind(i64::from(slot))
        .bind(status.as_str())
        .bind(give_back)
        .bind(next)
        .bind(rating)
        .bind(ms(now))
        .execute(&mut *tx)
        .await?;
        if moved.rows_affected() != 1 {
            return Ok(false);
        }
        if give_back == 1 {
            // Not placed: no call was made, so no history row (a full trunk
            // would otherwise add one every retry).
            sqlx::query("DELETE FROM survey_attempts WHERE job_id = $1 AND slot = $2")
                .bind(id)
                .bind(i64::from(slot))
                .execute(&mut *tx)
                .await?;
        } else {
            sqlx::query(
                "UPDATE survey_attempts SET ended_at_ms = $3, outcome = $4, call_id = $5 \
                 WHERE job_id = $1 AND slot = $2",
            )
            .bind(id)
            .bind(i64::from(slot))
            .bind(ms(now))
            .bind(outcome)
            .bind(call_id)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(true)
    }

    /// Adds a handling-stage result to the `surveys` list (where the call
    /// side lists reception-stage ones, `GET /api/surveys`); an earlier
    /// round's result of the order stops being final (§22).
    ///
    /// # Errors
    /// Database errors.
    pub async fn record_handling_survey(
        &self,
        job: &SurveyJob,
        unit: Option<&str>,
        score: u8,
        call_id: Option<&str>,
        now: OffsetDateTime,
    ) -> Result<()> {
        let mut tx = self.pool.begin().await?;
        sqlx::query("UPDATE surveys SET final = 0 WHERE order_id = $1 AND stage = 'handling'")
            .bind(&job.order_id)
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "INSERT INTO surveys (id, stage, order_id, call_id, unit_id, score, final, at_ms) \
             VALUES ($1, 'handling', $2, $3, $4, $5, 1, $6) ON CONFLICT DO NOTHING",
        )
        .bind(format!("{}:{}", job.id, job.slots))
        .bind(&job.order_id)
        .bind(call_id)
        .bind(unit)
        .bind(i64::from(score))
        .bind(ms(now))
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Cancels a pending job (its order moved on). `false` if it was not
    /// pending.
    ///
    /// # Errors
    /// Database errors.
    pub async fn cancel_survey_job(&self, id: &str, now: OffsetDateTime) -> Result<bool> {
        let r = sqlx::query(
            "UPDATE survey_jobs SET status = 'cancelled', updated_at_ms = $2 \
             WHERE id = $1 AND status = 'pending'",
        )
        .bind(id)
        .bind(ms(now))
        .execute(&self.pool)
        .await?;
        Ok(r.rows_affected() == 1)
    }

    /// The attempts of job `id`, first first.
    ///
    /// # Errors
    /// Database errors.
    pub async fn survey_attempts(&self, id: &str) -> Result<Vec<SurveyAttempt>> {
        let rows = sqlx::query(
            "SELECT slot, started_at_ms, ended_at_ms, outcome, call_id FROM survey_attempts \
             WHERE job_id = $1 ORDER BY slot",
        )
        .bind(id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                let ended: Option<i64> = r.try_get("ended_at_ms")?;
                Ok(SurveyAttempt {
                    slot: small(r.try_get::<i64, _>("slot")?),
                    started_at: from_ms(r.try_get("started_at_ms")?),
                    ended_at: ended.map(from_ms),
                    outcome: r.try_get("outcome")?,
                    call_id: r.try_get("call_id")?,
                })
            })
            .collect()
    }
}
