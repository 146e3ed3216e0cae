//! `GET /api/survey-jobs?order=&status=&limit=&offset=` (supervisors): the
//! handling-stage survey campaign's jobs, newest first, each with its
//! attempts (when, how each ended, the call). The campaign itself runs in
//! `outbound::campaign`; nothing here places a call.

use axum::extract::State;
use axum::Json;
use hotline_ticketing::store::{JobStatus, SurveyAttempt, SurveyJob};
use serde::{Deserialize, Serialize};

use super::auth::{Principal, Role};
use super::error::{ApiError, ApiQuery};
use super::users::store_error;
use super::AppState;

/// Query.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct JobQuery {
    /// Only this order's jobs.
    order: Option<String>,
    /// `pending`, `calling`, `rated`, `unreachable`, `cancelled`.
    status: Option<String>,
    #[serde(default = "default_limit")]
    limit: u32,
    #[serde(default)]
    offset: u64,
}

fn default_limit() -> u32 {
    50
}

/// A job and its attempts.
#[derive(Debug, Serialize)]
pub(super) struct JobView {
    #[serde(flatten)]
    job: SurveyJob,
    attempts_made: Vec<SurveyAttempt>,
}

/// `GET /api/survey-jobs`.
pub(super) async fn list(
    State(state): State<AppState>,
    principal: Principal,
    ApiQuery(q): ApiQuery<JobQuery>,
) -> Result<Json<Vec<JobView>>, ApiError> {
    principal.require(&[Role::Supervisor], "the survey campaign")?;
    if q.limit == 0 || q.limit > 200 {
        return Err(ApiError::invalid("limit", "must be 1..=200"));
    }
    let status = match &q.status {
        Some(s) => Some(JobStatus::parse(s).ok_or_else(|| {
            ApiError::invalid(
                "status",
                "pending, calling, rated, unreachable or cancelled",
            )
        })?),
        None => None,
    };
    let jobs = state
        .tickets
        .list_survey_jobs(q.order.as_deref(), status, q.limit, q.offset)
        .await
        .map_err(|e| store_error("listing survey jobs", e))?;
    let mut out = Vec::with_capacity(jobs.len());
    for job in jobs {
        let attempts_made = state
            .tickets
            .survey_attempts(&job.id)
            .await
            .map_err(|e| store_error("listing survey attempts", e))?;
        out.push(JobView { job, attempts_made });
    }
    Ok(Json(out))
}
