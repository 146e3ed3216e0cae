//! The callback task list over HTTP, for hotline agents and supervisors
//! (unit users and administrators never: these are calls to citizens).
//!
//! - `GET /api/callback-tasks?kind=&open=&limit=&offset=`: dissatisfied
//!   citizens to call back (§21) and callback requests taken on the list,
//!   oldest first.
//! - `POST /api/callback-tasks/{id}/claim`: take a task (one agent at a
//!   time; the claim lapses after `[survey] callback_claim_min`, and claiming
//!   again renews it). 409 while another agent holds it.
//! - `POST /api/callback-tasks/{id}/call`: "call now": the server rings the
//!   claiming agent's softphone, then the citizen, and bridges
//!   (`Dialer::callback_call`). Only the holder may; the number is the
//!   task's, never one from the request (no API dials an arbitrary number).
//! - `POST /api/callback-tasks/{id}/result`: `{"cause": "policy" |
//!   "objective" | "handling" | "unknown", "notes": "…"}` records the
//!   callback on the order (`record_callback`: policy and objective causes
//!   end the evaluation, the others send the order back to the unit for a
//!   redo); for a callback request `{"outcome": "reached" | "unreachable" |
//!   "other", "notes": "…"}`.
//! - Staff recused from an order (§29) neither see nor work its task.
//! - `POST /api/callbacks/{id}/claim|call|result`: the same for a callback
//!   request from the ACD (`/api/callbacks`): its task (`request:<id>`) is
//!   put on the list on first claim, and the request's status follows.

use axum::extract::{Path, State};
use axum::Json;
use hotline_ticketing::lifecycle::Command;
use hotline_ticketing::order::DissatisfactionCause;
use hotline_ticketing::redaction;
use hotline_ticketing::store::{self, CallbackTask, NewCallbackTask, TaskRefusal};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use super::auth::{Principal, Role};
use super::error::{ApiError, ApiJson, ApiQuery};
use super::tickets::{actor, domain_error};
use super::users::store_error;
use super::{AppState, ClientIp};
use crate::contact::records::ContactRecords;
use crate::dialing::{CallbackCall, CallbackOutcome};

const STAFF: &[Role] = &[Role::Agent, Role::Supervisor];

fn refusal(r: TaskRefusal) -> ApiError {
    match r {
        TaskRefusal::NotFound => ApiError::NotFound("no such callback task".into()),
        TaskRefusal::Done => ApiError::conflict("conflict", "the task is done"),
        TaskRefusal::HeldBy(who, until) => ApiError::conflict(
            "conflict",
            format!(
                "agent {who} holds this task until {}",
                until
                    .format(&time::format_description::well_known::Rfc3339)
                    .unwrap_or_default()
            ),
        ),
        TaskRefusal::NotClaimed => {
            ApiError::conflict("conflict", "claim the task first (or the claim lapsed)")
        }
    }
}

fn db(doing: &str, e: store::Error) -> ApiError {
    store_error(doing, e)
}

/// `GET /api/callback-tasks` query.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct TaskQuery {
    /// `dissatisfied` or `request`.
    kind: Option<String>,
    /// Only tasks nobody holds and not done (default true).
    open: Option<bool>,
    #[serde(default = "default_limit")]
    limit: u32,
    #[serde(default)]
    offset: u64,
}

fn default_limit() -> u32 {
    50
}

/// `GET /api/callback-tasks`.
pub(super) async fn list(
    State(state): State<AppState>,
    principal: Principal,
    ApiQuery(q): ApiQuery<TaskQuery>,
) -> Result<Json<Vec<CallbackTask>>, ApiError> {
    principal.require(STAFF, "the callback task list")?;
    if q.limit == 0 || q.limit > 500 {
        return Err(ApiError::invalid("limit", "must be 1..=500"));
    }
    if let Some(k) = &q.kind {
        if !["dissatisfied", "request"].contains(&k.as_str()) {
            return Err(ApiError::invalid("kind", "dissatisfied or request"));
        }
    }
    let tasks = state
        .tickets
        .list_callback_tasks(
            q.kind.as_deref(),
            q.open.unwrap_or(true),
            OffsetDateTime::now_utc(),
            q.limit,
            q.offset,
        )
        .await
        .map_err(|e| db("listing callback tasks", e))?;
    // Staff recused from an order (§29) do not see its task.
    let mut visible = Vec::with_capacity(tasks.len());
    for t in tasks {
        if may_work(&state, &principal, t.order_id.as_deref()).await? {
            visible.push(t);
        }
    }
    Ok(Json(visible))
}

/// Whether `p` may work on tasks about `order`: not recused from it and not
/// the person complained about (§29), i.e. may see it at all.
async fn may_work(state: &AppState, p: &Principal, order: Option<&str>) -> Result<bool, ApiError> {
    let Some(order) = order else {
        return Ok(true);
    };
    let o = state
        .tickets
        .get_order(order)
        .await
        .map_err(|e| db("reading an order", e))?;
    Ok(o.is_some_and(|o| redaction::view_for(&o, &actor(p)).is_some()))
}

/// 404 for a task about an order `p` may not see (as if it did not exist).
async fn check_may_work(state: &AppState, p: &Principal, id: &str) -> Result<(), ApiError> {
    let task = state
        .tickets
        .callback_task(id, OffsetDateTime::now_utc())
        .await
        .map_err(|e| db("reading a callback task", e))?
        .ok_or_else(|| ApiError::NotFound("no such callback task".into()))?;
    if may_work(state, p, task.order_id.as_deref()).await? {
        Ok(())
    } else {
        Err(ApiError::NotFound("no such callback task".into()))
    }
}

async fn claim_task(state: &AppState, p: &Principal, id: &str) -> Result<CallbackTask, ApiError> {
    p.require(STAFF, "claiming callback tasks")?;
    check_may_work(state, p, id).await?;
    let now = OffsetDateTime::now_utc();
    let until = now + state.outbound.settings.claim;
    let task = state
        .tickets
        .claim_callback_task(id, &p.user, now, until)
        .await
        .map_err(|e| db("claiming a callback task", e))?
        .map_err(refusal)?;
    mark_request(state, &task, "claimed").await?;
    Ok(task)
}

/// `POST /api/callback-tasks/{id}/claim`.
pub(super) async fn claim(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
) -> Result<Json<CallbackTask>, ApiError> {
    claim_task(&state, &principal, &id).await.map(Json)
}

/// The answer to "call now".
#[derive(Debug, Serialize)]
pub(super) struct CallResult {
    /// `bridged`, `agent_unavailable`, `citizen_busy`, `citizen_no_answer`,
    /// `failed`.
    outcome: &'static str,
    /// The bridged call's id.
    call_id: Option<String>,
    /// Why it failed.
    detail: Option<String>,
    /// The task after the attempt.
    task: CallbackTask,
}

async fn call_task(state: &AppState, p: &Principal, id: &str) -> Result<CallResult, ApiError> {
    p.require(STAFF, "calling back")?;
    check_may_work(state, p, id).await?;
    let now = OffsetDateTime::now_utc();
    let task = state
        .tickets
        .check_callback_claim(id, &p.user, now)
        .await
        .map_err(|e| db("reading a callback task", e))?
        .map_err(refusal)?;
    if task.number.is_empty() {
        return Err(ApiError::conflict(
            "conflict",
            "the task has no number to call",
        ));
    }
    tracing::info!(task = %task.id, agent = %p.user, "placing a callback");
    let outcome = state
        .outbound
        .dialer()
        .callback_call(CallbackCall {
            task_id: task.id.clone(),
            agent: p.user.clone(),
            number: task.number.clone(),
        })
        .await;
    let (name, call_id, detail) = match outcome {
        CallbackOutcome::Bridged { call_id } => ("bridged", Some(call_id), None),
        CallbackOutcome::AgentUnavailable(d) => ("agent_unavailable", None, Some(d)),
        CallbackOutcome::CitizenBusy => ("citizen_busy", None, None),
        CallbackOutcome::CitizenNoAnswer => ("citizen_no_answer", None, None),
        CallbackOutcome::Failed(d) => ("failed", None, Some(d)),
    };
    let now = OffsetDateTime::now_utc();
    let task = state
        .tickets
        .record_callback_call(
            id,
            &p.user,
            name,
            call_id.as_deref(),
            now,
            now + state.outbound.settings.claim,
        )
        .await
        .map_err(|e| db("recording a callback call", e))?
        .map_err(refusal)?;
    Ok(CallResult {
        outcome: name,
        call_id,
        detail,
        task,
    })
}

/// `POST /api/callback-tasks/{id}/call`.
pub(super) async fn call(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
) -> Result<Json<CallResult>, ApiError> {
    call_task(&state, &principal, &id).await.map(Json)
}

/// The result of a callback.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ResultBody {
    /// Dissatisfied tasks: why the citizen was dissatisfied.
    cause: Option<DissatisfactionCause>,
    /// Callback requests: `reached`, `unreachable`, `other`.
    outcome: Option<String>,
    /// What the citizen said.
    #[serde(default)]
    notes: String,
}

async fn finish_task(
    state: &AppState,
    p: &Principal,
    ip: Option<std::net::IpAddr>,
    id: &str,
    body: ResultBody,
) -> Result<CallbackTask, ApiError> {
    p.require(STAFF, "recording callbacks")?;
    let now = OffsetDateTime::now_utc();
    let task = state
        .tickets
        .check_callback_claim(id, &p.user, now)
        .await
        .map_err(|e| db("reading a callback task", e))?
        .map_err(refusal)?;
    if let Some(order) = task
        .order_id
        .clone()
        .filter(|_| task.kind == "dissatisfied")
    {
        let cause = body
            .cause
            .ok_or_else(|| ApiError::invalid("cause", "policy, objective, handling or unknown"))?;
        let command = Command::RecordCallback {
            cause,
            notes: body.notes,
        };
        let who = actor(p);
        let t = state
            .tickets
            .apply_command(
                &order,
                None,
                &command,
                &who,
                now,
                &state.rules,
                &p.audit(ip),
            )
            .await
            .map_err(|e| match e {
                store::Error::Domain(d) => domain_error(d),
                store::Error::Conflict(w) => {
                    ApiError::conflict("conflict", format!("{w} was changed meanwhile; retry"))
                }
                other => db("recording a callback", other),
            })?;
        state.sip.publish(super::events::order_changed(
            None,
            &t.order,
            "record_callback",
            &p.user,
        ));
        // Closes the task with the cause and notes, and wakes the campaign.
        state
            .outbound
            .after_step(&state.tickets, &state.rules, &t, now)
            .await;
        return state
            .tickets
            .callback_task(id, now)
            .await
            .map_err(|e| db("reading a callback task", e))?
            .ok_or_else(|| ApiError::NotFound("no such callback task".into()));
    }
    let outcome = body
        .outcome
        .filter(|o| ["reached", "unreachable", "other"].contains(&o.as_str()))
        .ok_or_else(|| ApiError::invalid("outcome", "reached, unreachable or other"))?;
    let task = state
        .tickets
        .finish_callback_task(id, &p.user, &outcome, &body.notes, now)
        .await
        .map_err(|e| db("finishing a callback task", e))?
        .map_err(refusal)?;
    mark_request(state, &task, "done").await?;
    Ok(task)
}

/// `POST /api/callback-tasks/{id}/result`.
pub(super) async fn result(
    State(state): State<AppState>,
    principal: Principal,
    ClientIp(ip): ClientIp,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<ResultBody>,
) -> Result<Json<CallbackTask>, ApiError> {
    finish_task(&state, &principal, ip, &id, body)
        .await
        .map(Json)
}

/// Moves the ACD callback request behind `task` (if any) to `status`.
async fn mark_request(state: &AppState, task: &CallbackTask, status: &str) -> Result<(), ApiError> {
    if let Some(req) = &task.request_id {
        records(state)
            .set_callback_status(req, status)
            .await
            .map_err(|e| ApiError::internal("updating a callback request", e))?;
    }
    Ok(())
}

fn records(state: &AppState) -> ContactRecords {
    ContactRecords::new(state.store.pool().clone())
}

/// Puts callback request `id` on the task list (once); the task's id.
/// Claiming or calling (`dialling`) a request the contact centre dials
/// itself (its queue has `callbacks_first` and an outbound trunk is
/// configured) is refused: the two would call the citizen twice.
async fn request_task(
    state: &AppState,
    p: &Principal,
    id: &str,
    dialling: bool,
) -> Result<String, ApiError> {
    p.require(STAFF, "callback requests")?;
    let task_id = format!("request:{id}");
    let row = records(state)
        .callback(id)
        .await
        .map_err(|e| ApiError::internal("reading a callback request", e))?
        .ok_or_else(|| ApiError::NotFound("no such callback request".into()))?;
    let automatic = state.config.trunk.outbound.uri.is_some()
        && state
            .config
            .queues
            .iter()
            .any(|q| q.callbacks_first && Some(&q.name) == row.queue.as_ref());
    if dialling && automatic {
        return Err(ApiError::conflict(
            "dialled_automatically",
            format!(
                "queue {} dials its callback requests itself: the next ready agent takes this one",
                row.queue.clone().unwrap_or_default()
            ),
        ));
    }
    state
        .tickets
        .create_callback_task(
            &NewCallbackTask {
                id: task_id.clone(),
                kind: "request",
                order_id: None,
                round: None,
                request_id: Some(row.id),
                number: row.number,
                queue: row.queue,
            },
            time::OffsetDateTime::from_unix_timestamp_nanos(
                i128::from(row.requested_at_ms) * 1_000_000,
            )
            .unwrap_or_else(|_| OffsetDateTime::now_utc()),
        )
        .await
        .map_err(|e| db("listing a callback request", e))?;
    Ok(task_id)
}

/// `POST /api/callbacks/{id}/claim`.
pub(super) async fn claim_request(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
) -> Result<Json<CallbackTask>, ApiError> {
    let task = request_task(&state, &principal, &id, true).await?;
    claim_task(&state, &principal, &task).await.map(Json)
}

/// `POST /api/callbacks/{id}/call`.
pub(super) async fn call_request(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
) -> Result<Json<CallResult>, ApiError> {
    let task = request_task(&state, &principal, &id, true).await?;
    call_task(&state, &principal, &task).await.map(Json)
}

/// `POST /api/callbacks/{id}/result`.
pub(super) async fn result_request(
    State(state): State<AppState>,
    principal: Principal,
    ClientIp(ip): ClientIp,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<ResultBody>,
) -> Result<Json<CallbackTask>, ApiError> {
    let task = request_task(&state, &principal, &id, false).await?;
    finish_task(&state, &principal, ip, &task, body)
        .await
        .map(Json)
}
