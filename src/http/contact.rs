//! The contact centre's API: agent states (`POST /api/agents/{id}/state`),
//! queues (`GET /api/queues`), the screen pop of a call
//! (`GET /api/calls/{id}`), survey results (`GET /api/surveys`), callback
//! requests (`GET /api/callbacks`), emergency-linkage records
//! (`GET /api/emergency-transfers`) and the incident announcement
//! (`GET`/`PUT`/`DELETE /api/announcement`, measures §17.3).

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use hotline_sip::acd::{AgentSnapshot, QueueSnapshot, StateRequest};
use serde::{Deserialize, Serialize};

use super::auth::{Principal, Role};
use super::calls::Page;
use super::error::{ApiError, ApiJson, ApiQuery};
use super::AppState;
use crate::contact::records::{CallbackRow, ContactRecords, EmergencyRow, SurveyRow};
use crate::contact::CallInfo;
use crate::sip_io::{HostingError, LiveCall};

fn is_supervisor(p: &Principal) -> bool {
    p.role == Role::Supervisor
}

fn supervisor_only(p: &Principal, what: &str) -> Result<(), ApiError> {
    if is_supervisor(p) {
        Ok(())
    } else {
        Err(ApiError::Forbidden(format!("{what} are for supervisors")))
    }
}

fn hosting_error(e: HostingError) -> ApiError {
    match e {
        HostingError::Disabled => ApiError::conflict("conflict", e.to_string()),
        HostingError::Acd(m) if m.contains("unknown agent") => ApiError::NotFound(m),
        HostingError::Acd(m) => ApiError::conflict("conflict", m),
        HostingError::UnknownPrompt(_) => ApiError::bad_request(e.to_string()),
    }
}

fn records(state: &AppState) -> ContactRecords {
    ContactRecords::new(state.store.pool().clone())
}

/// `POST /api/agents/{id}/state`: `{"state": "ready"}`,
/// `{"state": "not_ready", "reason": "break"}` (`meal`, `training`, `other`)
/// or `{"state": "logged_out"}`. An agent sets its own state; a supervisor
/// anyone's. Answers with the agent's state after the change.
pub(super) async fn set_state(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
    ApiJson(request): ApiJson<StateRequest>,
) -> Result<Json<AgentSnapshot>, ApiError> {
    if principal.user != id && !is_supervisor(&principal) {
        return Err(ApiError::Forbidden(
            "an agent may set only its own state".into(),
        ));
    }
    state
        .sip
        .set_agent_state(&id, request)
        .await
        .map_err(hosting_error)?;
    state
        .sip
        .agent_states()
        .await
        .into_iter()
        .find(|a| a.id == id)
        .map(Json)
        .ok_or_else(|| ApiError::NotFound(format!("no agent {id}")))
}

/// `GET /api/queues`: every queue with calls waiting, the longest wait and
/// today's figures (offered, answered, abandoned, service level, averages).
pub(super) async fn list_queues(
    State(state): State<AppState>,
    _principal: Principal,
) -> Json<Vec<QueueSnapshot>> {
    Json(state.sip.queues().await)
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct DaysQuery {
    /// First local date, `YYYY-MM-DD`.
    from: String,
    /// Last local date, `YYYY-MM-DD`.
    to: String,
}

fn is_date(s: &str) -> bool {
    time::Date::parse(s, time::macros::format_description!("[year]-[month]-[day]")).is_ok()
}

/// `GET /api/queues/days?from=YYYY-MM-DD&to=YYYY-MM-DD` (supervisors): the
/// closed days' statistics per queue and agent, oldest first (at most 400).
pub(super) async fn list_days(
    State(state): State<AppState>,
    principal: Principal,
    ApiQuery(q): ApiQuery<DaysQuery>,
) -> Result<Json<Vec<serde_json::Value>>, ApiError> {
    supervisor_only(&principal, "daily statistics")?;
    if !is_date(&q.from) || !is_date(&q.to) {
        return Err(ApiError::bad_request("from and to are dates YYYY-MM-DD"));
    }
    let days = records(&state)
        .days(&q.from, &q.to)
        .await
        .map_err(|e| ApiError::internal("listing daily statistics", e))?;
    Ok(Json(
        days.iter()
            .filter_map(|d| serde_json::from_str(d).ok())
            .collect(),
    ))
}

#[derive(Debug, Serialize)]
pub(super) struct CallView {
    #[serde(flatten)]
    live: LiveCall,
    /// What the menu learned (absent for calls the menu did not take).
    ivr: Option<CallInfo>,
}

/// `GET /api/calls/{id}`: a live call with its menu path, language and wait
/// (the screen pop). Agents see only calls ringing them or on their line.
pub(super) async fn get_call(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
) -> Result<Json<CallView>, ApiError> {
    let live = state
        .sip
        .calls()
        .await
        .into_iter()
        .find(|c| c.id == id)
        .ok_or_else(|| ApiError::NotFound("no such live call".into()))?;
    let own = live.agent.as_deref() == Some(principal.user.as_str())
        || live.ringing.contains(&principal.user);
    if !own && !is_supervisor(&principal) {
        return Err(ApiError::Forbidden("not your call".into()));
    }
    let ivr = state.sip.call_info(&id).await;
    Ok(Json(CallView { live, ivr }))
}

/// `GET /api/surveys?limit=&offset=` (supervisors): survey results, newest first.
pub(super) async fn list_surveys(
    State(state): State<AppState>,
    principal: Principal,
    ApiQuery(page): ApiQuery<Page>,
) -> Result<Json<Vec<SurveyRow>>, ApiError> {
    supervisor_only(&principal, "survey results")?;
    let (limit, offset) = page.checked()?;
    records(&state)
        .list_surveys(limit, offset)
        .await
        .map(Json)
        .map_err(|e| ApiError::internal("listing surveys", e))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct CallbackQuery {
    status: Option<String>,
    #[serde(default = "default_limit")]
    limit: u32,
    #[serde(default)]
    offset: u64,
}

fn default_limit() -> u32 {
    50
}

/// `GET /api/callbacks?status=open&limit=&offset=`: callback requests,
/// oldest first (the order to work them in).
pub(super) async fn list_callbacks(
    State(state): State<AppState>,
    _principal: Principal,
    ApiQuery(q): ApiQuery<CallbackQuery>,
) -> Result<Json<Vec<CallbackRow>>, ApiError> {
    if q.limit == 0 || q.limit > 500 {
        return Err(ApiError::bad_request("limit must be 1..=500"));
    }
    if let Some(s) = &q.status {
        if !["open", "claimed", "done"].contains(&s.as_str()) {
            return Err(ApiError::bad_request(
                "status must be open, claimed or done",
            ));
        }
    }
    records(&state)
        .list_callbacks(q.status.as_deref(), q.limit, q.offset)
        .await
        .map(Json)
        .map_err(|e| ApiError::internal("listing callbacks", e))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct EmergencyQuery {
    call: Option<String>,
    #[serde(default = "default_limit")]
    limit: u32,
    #[serde(default)]
    offset: u64,
}

/// `GET /api/emergency-transfers?call=&limit=&offset=` (supervisors): the
/// emergency-linkage records, newest first.
pub(super) async fn list_emergency(
    State(state): State<AppState>,
    principal: Principal,
    ApiQuery(q): ApiQuery<EmergencyQuery>,
) -> Result<Json<Vec<EmergencyRow>>, ApiError> {
    supervisor_only(&principal, "emergency-linkage records")?;
    if q.limit == 0 || q.limit > 500 {
        return Err(ApiError::bad_request("limit must be 1..=500"));
    }
    records(&state)
        .list_emergency(q.call.as_deref(), q.limit, q.offset)
        .await
        .map(Json)
        .map_err(|e| ApiError::internal("listing emergency transfers", e))
}

#[derive(Debug, Serialize)]
pub(super) struct AnnouncementView {
    /// The prompt played first on every call, or `null`.
    prompt: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct AnnouncementBody {
    /// A prompt of the prompt set (e.g. `outage-water`).
    prompt: String,
}

/// `GET /api/announcement`.
pub(super) async fn get_announcement(
    State(state): State<AppState>,
    _principal: Principal,
) -> Json<AnnouncementView> {
    Json(AnnouncementView {
        prompt: state.sip.announcement().await,
    })
}

/// `PUT /api/announcement` (supervisors): `{"prompt": "outage-water"}` is
/// played first on every call until cleared (§17.3).
pub(super) async fn put_announcement(
    State(state): State<AppState>,
    principal: Principal,
    ApiJson(body): ApiJson<AnnouncementBody>,
) -> Result<Json<AnnouncementView>, ApiError> {
    supervisor_only(&principal, "incident announcements")?;
    let prompt = state
        .sip
        .set_announcement(Some(body.prompt))
        .await
        .map_err(hosting_error)?;
    tracing::warn!(by = %principal.user, ?prompt, "incident announcement set");
    Ok(Json(AnnouncementView { prompt }))
}

/// `DELETE /api/announcement` (supervisors).
pub(super) async fn delete_announcement(
    State(state): State<AppState>,
    principal: Principal,
) -> Result<StatusCode, ApiError> {
    supervisor_only(&principal, "incident announcements")?;
    state
        .sip
        .set_announcement(None)
        .await
        .map_err(hosting_error)?;
    tracing::warn!(by = %principal.user, "incident announcement cleared");
    Ok(StatusCode::NO_CONTENT)
}
