//! Calls and recordings: `GET /api/calls`, `POST /api/calls/{id}/transfer`
//! (emergency transfer), `POST /api/calls/{id}/survey` (hand the caller to
//! the satisfaction survey), `GET /api/recordings`, `GET /api/recordings/{id}`
//! (the WAV, with range requests).
//!
//! Recordings are personal data of the citizen: only supervisors may list and
//! play them (DESIGN.md Telephony 7).

use std::path::PathBuf;

use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::Response;
use axum::Json;
use hotline_recordings::{Cdr, RecordingFilter, RecordingRow};
use serde::{Deserialize, Serialize};

use super::auth::{Principal, Role};
use super::error::{ApiError, ApiJson, ApiQuery};
use super::files::serve_file;
use super::tickets::parse_bound;
use super::AppState;
use crate::sip_io::{LiveCall, SurveyHandoff, TransferError, TransferRequest};

/// `?limit=&offset=` on list endpoints.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct Page {
    #[serde(default = "default_limit")]
    pub(super) limit: u32,
    #[serde(default)]
    pub(super) offset: u64,
}

fn default_limit() -> u32 {
    50
}

impl Page {
    pub(super) fn checked(&self) -> Result<(u32, u64), ApiError> {
        if self.limit == 0 || self.limit > 500 {
            return Err(ApiError::invalid("limit", "must be 1..=500"));
        }
        Ok((self.limit, self.offset))
    }
}

#[derive(Debug, Serialize)]
pub(super) struct CallsView {
    /// Calls in progress, from the SIP core.
    live: Vec<LiveCall>,
    /// Finished calls (call detail records), newest first.
    recent: Vec<CdrView>,
}

#[derive(Debug, Serialize)]
struct CdrView {
    id: String,
    caller_number: String,
    did: String,
    agent: Option<String>,
    arrived_at: String,
    answered_at: Option<String>,
    ended_at: String,
    hangup_by: &'static str,
    reason: String,
    recording_id: Option<String>,
    /// `inbound` or `outbound` (placed by the server).
    direction: String,
    /// For an outbound call: `survey` or `callback`.
    purpose: Option<String>,
}

fn rfc3339_ms(ms: i64) -> String {
    let t = time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    t.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

impl From<Cdr> for CdrView {
    fn from(c: Cdr) -> Self {
        CdrView {
            id: c.call_id,
            caller_number: c.caller_number,
            did: c.did,
            agent: c.agent_id,
            arrived_at: rfc3339_ms(c.arrived_at_ms),
            answered_at: c.answered_at_ms.map(rfc3339_ms),
            ended_at: rfc3339_ms(c.ended_at_ms),
            hangup_by: c.hangup_by.as_str(),
            reason: c.reason,
            recording_id: c.recording_id,
            direction: c.direction,
            purpose: c.purpose,
        }
    }
}

/// `GET /api/calls`: live calls and a page of recent ones. Supervisors and
/// administrators see every call; an agent only the calls ringing it or
/// answered by it (callers' numbers are personal data); unit staff none.
pub(super) async fn list_calls(
    State(state): State<AppState>,
    principal: Principal,
    ApiQuery(page): ApiQuery<Page>,
) -> Result<Json<CallsView>, ApiError> {
    principal.require(
        &[Role::Agent, Role::Supervisor, Role::Admin],
        "the call list",
    )?;
    let (limit, offset) = page.checked()?;
    let own = (principal.role == Role::Agent).then_some(principal.user.as_str());
    let live = state
        .sip
        .calls()
        .await
        .into_iter()
        .filter(|c| {
            own.is_none_or(|me| c.agent.as_deref() == Some(me) || c.ringing.iter().any(|r| r == me))
        })
        .collect();
    let recent = state
        .store
        .list_cdrs_of(own, limit, offset)
        .await
        .map_err(|e| ApiError::internal("listing call records", e))?
        .into_iter()
        .map(CdrView::from)
        .collect();
    Ok(Json(CallsView { live, recent }))
}

#[derive(Debug, Serialize)]
pub(super) struct RecordingView {
    id: String,
    call_id: String,
    caller_number: String,
    agent: Option<String>,
    ticket_id: Option<String>,
    started_at: String,
    ended_at: String,
    duration_ms: i64,
    size_bytes: i64,
    sha256: String,
    dropped_frames: i64,
    /// Where to play it.
    url: String,
}

impl From<RecordingRow> for RecordingView {
    fn from(r: RecordingRow) -> Self {
        RecordingView {
            url: format!("/api/recordings/{}", r.id),
            id: r.id,
            call_id: r.call_id,
            caller_number: r.caller_number,
            agent: r.agent_id,
            ticket_id: r.ticket_id,
            started_at: rfc3339_ms(r.started_at_ms),
            ended_at: rfc3339_ms(r.ended_at_ms),
            duration_ms: r.duration_ms,
            size_bytes: r.size_bytes,
            sha256: r.sha256,
            dropped_frames: r.dropped_frames,
        }
    }
}

fn require_supervisor(p: &Principal) -> Result<(), ApiError> {
    if p.role == super::auth::Role::Supervisor {
        Ok(())
    } else {
        Err(ApiError::Forbidden("recordings are for supervisors".into()))
    }
}

/// `GET /api/recordings` query: every filter narrows the list.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RecordingQuery {
    /// Started at or after (RFC 3339, or a local date `YYYY-MM-DD`).
    #[serde(default)]
    from: Option<String>,
    /// Started before (RFC 3339, or a local date: up to the end of that day).
    #[serde(default)]
    to: Option<String>,
    /// The agent on the call.
    #[serde(default)]
    agent: Option<String>,
    /// Part of the caller's number (e.g. the last four digits).
    #[serde(default)]
    caller: Option<String>,
    /// The work order the recording is linked to.
    #[serde(default)]
    order: Option<String>,
    #[serde(default = "default_limit")]
    limit: u32,
    #[serde(default)]
    offset: u64,
}

/// A text filter: trimmed, empty means none, at most 64 characters.
fn text_filter(field: &str, value: &Option<String>) -> Result<Option<String>, ApiError> {
    match value.as_deref().map(str::trim) {
        None | Some("") => Ok(None),
        Some(v) if v.chars().count() > 64 => Err(ApiError::invalid(field, "at most 64 characters")),
        Some(v) => Ok(Some(v.to_owned())),
    }
}

/// `GET /api/recordings?from=&to=&agent=&caller=&order=&limit=&offset=`
/// (supervisors): newest first.
pub(super) async fn list_recordings(
    State(state): State<AppState>,
    principal: Principal,
    ApiQuery(q): ApiQuery<RecordingQuery>,
) -> Result<Json<Vec<RecordingView>>, ApiError> {
    require_supervisor(&principal)?;
    let (limit, offset) = Page {
        limit: q.limit,
        offset: q.offset,
    }
    .checked()?;
    let filter = RecordingFilter {
        from_ms: q
            .from
            .as_deref()
            .filter(|s| !s.trim().is_empty())
            .map(|f| parse_bound("from", f.trim(), &state, false))
            .transpose()?,
        to_ms: q
            .to
            .as_deref()
            .filter(|s| !s.trim().is_empty())
            .map(|t| parse_bound("to", t.trim(), &state, true))
            .transpose()?,
        agent: text_filter("agent", &q.agent)?,
        caller: text_filter("caller", &q.caller)?,
        ticket: text_filter("order", &q.order)?,
    };
    let rows = state
        .store
        .search_recordings(&filter, limit, offset)
        .await
        .map_err(|e| ApiError::internal("listing recordings", e))?;
    Ok(Json(rows.into_iter().map(RecordingView::from).collect()))
}

/// `GET /api/recordings/{id}` (supervisors): the WAV file, range requests served.
pub(super) async fn get_recording(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    require_supervisor(&principal)?;
    serve_recording(&state, &principal.user, &id, &headers).await
}

/// Serves recording `id` (with ranges) to `user`, who is allowed to hear
/// it; logged, as every access to a recording is.
pub(super) async fn serve_recording(
    state: &AppState,
    user: &str,
    id: &str,
    headers: &HeaderMap,
) -> Result<Response, ApiError> {
    if !super::playback::valid_id(id) {
        return Err(ApiError::NotFound("no such recording".into()));
    }
    let row = state
        .store
        .get_recording(id)
        .await
        .map_err(|e| ApiError::internal("reading the recording index", e))?
        .ok_or_else(|| ApiError::NotFound("no such recording".into()))?;
    tracing::info!(%user, recording = %id, "recording played");
    serve_file(&PathBuf::from(row.path), "audio/wav", headers).await
}

/// `POST /api/calls/{id}/transfer` body.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct TransferBody {
    /// The emergency line: `110`, `119`, `120` or `122`.
    emergency: String,
}

#[derive(Debug, Serialize)]
pub(super) struct TransferView {
    call: String,
    emergency: String,
    status: &'static str,
}

/// `POST /api/calls/{id}/transfer` (`{"emergency": "110"}`): the agent on the
/// call (or a supervisor) hands the caller to an emergency line through
/// `[emergency] gateway`; the agent leaves the call. `202`: the gateway is
/// being called; the outcome goes into the emergency-linkage record.
pub(super) async fn transfer_call(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<TransferBody>,
) -> Result<(axum::http::StatusCode, Json<TransferView>), ApiError> {
    let request = TransferRequest {
        call: id.clone(),
        number: body.emergency,
        by: principal.user.clone(),
        supervisor: principal.role == Role::Supervisor,
    };
    match state.sip.transfer(request).await {
        Ok(number) => Ok((
            axum::http::StatusCode::ACCEPTED,
            Json(TransferView {
                call: id,
                emergency: number,
                status: "transferring",
            }),
        )),
        Err(e) => Err(match e {
            TransferError::NotEmergency(_) => ApiError::invalid("emergency", e.to_string()),
            TransferError::NoGateway => ApiError::Unavailable(e.to_string()),
            TransferError::UnknownCall => ApiError::NotFound(e.to_string()),
            TransferError::NotYourCall => ApiError::Forbidden(e.to_string()),
            TransferError::Refused(_) => ApiError::conflict("conflict", e.to_string()),
        }),
    }
}

/// `POST /api/calls/{id}/survey`: the agent on the call (or a supervisor)
/// hands the caller to the satisfaction survey: the agent's phone is released
/// (BYE) and the caller stays with the server, as when the agent hangs up
/// first. `202`; `403` not your call, `404` no such call, `409` no agent
/// talking on it.
pub(super) async fn hand_to_survey(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
) -> Result<axum::http::StatusCode, ApiError> {
    let request = SurveyHandoff {
        call: id,
        by: principal.user.clone(),
        supervisor: principal.role == Role::Supervisor,
    };
    match state.sip.hand_to_survey(request).await {
        Ok(()) => Ok(axum::http::StatusCode::ACCEPTED),
        Err(e) => Err(match e {
            TransferError::UnknownCall => ApiError::NotFound(e.to_string()),
            TransferError::NotYourCall => ApiError::Forbidden(e.to_string()),
            other => ApiError::conflict("conflict", other.to_string()),
        }),
    }
}
