//! Drafts over HTTP (§15, §16.1): the record each answered call leaves.
//!
//! The call side opens drafts in-process (`Store::open_draft`, and
//! `Store::attach_emergency` for a transfer to 110/119/120/122); the
//! browser only completes them:
//!
//! - `GET /api/drafts`: open drafts — an agent's own; supervisors see all,
//!   or with `stale=true` those still open [`WRAP_UP`] after the answer;
//! - `GET /api/drafts/{id}`;
//! - `POST /api/drafts/{id}/order` `{"details": {…}, "intake": {"command": "dispatch", …}}`:
//!   the order (and its intake decision) in one transaction, 201;
//! - `POST /api/drafts/{id}/no_order` `{"reason": "wrong_number", "note": …}`.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use hotline_ticketing::draft::{Draft, NoOrderReason};
use hotline_ticketing::lifecycle::Command;
use hotline_ticketing::order::OrderDetails;
use hotline_ticketing::redaction;
use hotline_ticketing::store;
use hotline_ticketing::OrderNumber;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::{IntoParams, ToSchema};

use super::auth::{Principal, Role};
use super::error::{ApiError, ApiJson, ApiQuery, ErrorBody};
use super::tickets::{actor, domain_error};
use super::users::store_error;
use super::{AppState, ClientIp};

/// How long after the answer an open draft counts as forgotten (the
/// wrap-up time of a seat is well under this).
pub const WRAP_UP: time::Duration = time::Duration::minutes(10);

fn draft_error(doing: &str, e: store::Error) -> ApiError {
    match e {
        store::Error::Domain(d) => domain_error(d),
        store::Error::Conflict(_) => {
            ApiError::conflict("conflict", "the draft was completed meanwhile")
        }
        store::Error::NotFound(_) => ApiError::NotFound("no such draft".into()),
        other => store_error(doing, other),
    }
}

/// `GET /api/drafts` query.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(super) struct DraftQuery {
    /// Only drafts still open after the wrap-up time (supervisors).
    #[serde(default)]
    stale: bool,
}

/// Open drafts.
#[utoipa::path(get, path = "/api/drafts", tag = "drafts", security(("bearer" = [])),
    params(DraftQuery),
    responses((status = 200, body = Vec<Object>), (status = 403, body = ErrorBody)))]
pub(super) async fn list(
    State(state): State<AppState>,
    principal: Principal,
    ApiQuery(q): ApiQuery<DraftQuery>,
) -> Result<Json<Vec<Draft>>, ApiError> {
    principal.require(&[Role::Agent, Role::Supervisor], "drafts")?;
    let agent = (principal.role == Role::Agent).then_some(principal.user.as_str());
    if q.stale && agent.is_some() {
        return Err(ApiError::Forbidden(
            "the stale-draft list is for supervisors".into(),
        ));
    }
    let before = q
        .stale
        .then(|| store::ms(OffsetDateTime::now_utc() - WRAP_UP));
    let drafts = state
        .tickets
        .open_drafts(before, agent, 500)
        .await
        .map_err(|e| draft_error("listing drafts", e))?;
    Ok(Json(drafts))
}

async fn load(state: &AppState, principal: &Principal, id: u64) -> Result<Draft, ApiError> {
    principal.require(&[Role::Agent, Role::Supervisor], "drafts")?;
    let d = state
        .tickets
        .draft(id)
        .await
        .map_err(|e| draft_error("reading a draft", e))?
        .ok_or_else(|| ApiError::NotFound("no such draft".into()))?;
    if principal.role == Role::Agent && d.call.agent.0 != principal.user {
        return Err(ApiError::NotFound("no such draft".into()));
    }
    Ok(d)
}

/// One draft (its agent, supervisors).
#[utoipa::path(get, path = "/api/drafts/{id}", tag = "drafts", security(("bearer" = [])),
    params(("id" = u64, Path)),
    responses((status = 200, body = Object), (status = 404, body = ErrorBody)))]
pub(super) async fn get_one(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<u64>,
) -> Result<Json<Draft>, ApiError> {
    Ok(Json(load(&state, &principal, id).await?))
}

/// `POST /api/drafts/{id}/order` body.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct ToOrder {
    /// The order details (as for `POST /api/tickets`); the call, recording,
    /// caller number and emergency transfer come from the draft.
    #[schema(value_type = Object)]
    details: OrderDetails,
    /// The intake decision taken on the call, if any: a step body with its
    /// `command` (`answer_on_spot`, `refuse`, `redirect_to_legal_channel`,
    /// `hand_over_to_emergency`, `dispatch`).
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    intake: Option<Command>,
}

/// What completing a draft into an order returns.
#[derive(Debug, Serialize, ToSchema)]
pub(super) struct Completed {
    #[schema(value_type = Object)]
    draft: Draft,
    /// The order as the caller may see it.
    #[schema(value_type = Object)]
    order: hotline_ticketing::WorkOrder,
    #[schema(value_type = Vec<Object>)]
    effects: Vec<hotline_ticketing::Effect>,
}

/// Complete a draft into an order.
#[utoipa::path(post, path = "/api/drafts/{id}/order", tag = "drafts", security(("bearer" = [])),
    params(("id" = u64, Path)), request_body = ToOrder,
    responses((status = 201, body = Completed), (status = 400, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody)))]
pub(super) async fn to_order(
    State(state): State<AppState>,
    principal: Principal,
    ClientIp(ip): ClientIp,
    Path(id): Path<u64>,
    ApiJson(req): ApiJson<ToOrder>,
) -> Result<(StatusCode, Json<Completed>), ApiError> {
    load(&state, &principal, id).await?;
    let actor = actor(&principal);
    let done = state
        .tickets
        .draft_to_order(
            id,
            req.details,
            req.intake.as_ref(),
            &actor,
            OffsetDateTime::now_utc(),
            &state.rules,
            &principal.audit(ip),
        )
        .await
        .map_err(|e| draft_error("completing a draft", e))?;
    state.sip.publish(super::events::order_changed(
        None,
        &done.opened.order,
        "create",
        &principal.user,
    ));
    let order = redaction::view_for(&done.opened.order, &actor)
        .map(|v| v.order)
        .ok_or_else(|| ApiError::NotFound("no such order".into()))?;
    Ok((
        StatusCode::CREATED,
        Json(Completed {
            draft: done.draft,
            order,
            effects: done.opened.effects,
        }),
    ))
}

/// `POST /api/drafts/{id}/no_order` body.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct NoOrder {
    /// `silent_call`, `caller_hung_up`, `wrong_number`, `test_call`,
    /// `existing_order_enquiry`, `other`.
    #[schema(value_type = String)]
    reason: NoOrderReason,
    #[serde(default)]
    note: Option<String>,
    /// The order asked about (`existing_order_enquiry`).
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    related_order: Option<OrderNumber>,
}

/// Complete a draft with "no order needed".
#[utoipa::path(post, path = "/api/drafts/{id}/no_order", tag = "drafts", security(("bearer" = [])),
    params(("id" = u64, Path)), request_body = NoOrder,
    responses((status = 200, body = Object), (status = 400, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub(super) async fn no_order(
    State(state): State<AppState>,
    principal: Principal,
    ClientIp(ip): ClientIp,
    Path(id): Path<u64>,
    ApiJson(req): ApiJson<NoOrder>,
) -> Result<Json<Draft>, ApiError> {
    load(&state, &principal, id).await?;
    let d = state
        .tickets
        .draft_no_order(
            id,
            req.reason,
            req.note,
            req.related_order,
            &actor(&principal),
            OffsetDateTime::now_utc(),
            &principal.audit(ip),
        )
        .await
        .map_err(|e| draft_error("completing a draft", e))?;
    Ok(Json(d))
}
