//! Work orders over HTTP: `/api/tickets`.
//!
//! - `POST /api/tickets`: open an order (agents, supervisors) from the
//!   order details; 201 with the order.
//! - `GET /api/tickets`: a page of orders with filters (state, unit,
//!   category, overdue, caller number, date range), newest first.
//! - `GET /api/tickets/{number}`, `GET /api/tickets/{number}/history`.
//! - `POST /api/tickets/{number}/{action}`: one endpoint per lifecycle step
//!   (`dispatch`, `sign`, `respond`, `request_extension`, …, see
//!   [`ACTIONS`]); the body holds the step's fields, an optional
//!   `If-Match: "<version>"` header guards against acting on a stale copy.
//!
//! Orders are never deleted (§15: the record is the point); they are closed
//! and archived through their lifecycle. Every read goes through the domain's
//! `redaction::view_for`, so what a unit user may not see (§29–§30) never
//! leaves the server, and an order the viewer may not see at all is a 404,
//! indistinguishable from a missing one.

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::Json;
use hotline_ticketing::lifecycle::{Command, CommandKind};
use hotline_ticketing::order::OrderDetails;
use hotline_ticketing::redaction::{self, OrderView};
use hotline_ticketing::store::{self, Cursor, OrderFilter, PageStart};
use hotline_ticketing::{Actor, DomainError, HistoryEntry, UnitId, UserId, WorkOrder};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::{IntoParams, ToSchema};

use super::auth::{Principal, Role};
use super::calls::Page;
use super::error::{parse_json, ApiError, ApiJson, ApiQuery, ErrorBody};
use super::users::store_error;
use super::{AppState, ClientIp};

/// The lifecycle steps reachable as `POST /api/tickets/{number}/{action}`.
pub const ACTIONS: &[CommandKind] = &[
    CommandKind::AnswerOnSpot,
    CommandKind::Refuse,
    CommandKind::RedirectToLegalChannel,
    CommandKind::HandOverToEmergency,
    CommandKind::Dispatch,
    CommandKind::Sign,
    CommandKind::Respond,
    CommandKind::RequestExtension,
    CommandKind::ApproveExtension,
    CommandKind::RefuseExtension,
    CommandKind::RequestReturn,
    CommandKind::ApproveReturn,
    CommandKind::RefuseReturn,
    CommandKind::NoteMaterialRefused,
    CommandKind::AddNote,
    CommandKind::Complete,
    CommandKind::Reply,
    CommandKind::RecordSurvey,
    CommandKind::RecordCallback,
    CommandKind::Close,
    CommandKind::Archive,
    CommandKind::Recuse,
    CommandKind::LinkCall,
];

/// The domain's view of the signed-in user.
pub(super) fn actor(p: &Principal) -> Actor {
    Actor {
        id: UserId::new(p.user.clone()),
        role: match p.role {
            Role::Agent => hotline_ticketing::Role::Agent,
            Role::Supervisor => hotline_ticketing::Role::Supervisor,
            Role::Unit => hotline_ticketing::Role::Unit,
            Role::Admin => hotline_ticketing::Role::Admin,
        },
        unit: p.unit.clone().map(UnitId::new),
    }
}

/// A domain refusal as an API error: the domain says which status.
pub(super) fn domain_error(e: DomainError) -> ApiError {
    match e.status() {
        400 => ApiError::Validation {
            field: e.field().map(str::to_owned),
            message: match &e {
                DomainError::Validation { message, .. } => message.clone(),
                other => other.to_string(),
            },
        },
        403 => ApiError::Forbidden(e.to_string()),
        409 => ApiError::conflict(e.code(), e.to_string()),
        _ => ApiError::internal("applying the ticket rules", e),
    }
}

fn ticket_error(doing: &str, e: store::Error) -> ApiError {
    match e {
        store::Error::Domain(d) => domain_error(d),
        store::Error::NotFound(_) => ApiError::NotFound("no such order".into()),
        store::Error::Conflict(what) => ApiError::conflict(
            "conflict",
            format!("{what} was changed by someone else meanwhile; reload and retry"),
        ),
        other => store_error(doing, other),
    }
}

/// One order as the viewer may see it.
#[derive(Debug, Serialize, ToSchema)]
pub(super) struct TicketView {
    /// The work order (same shape for every role; withheld fields emptied).
    #[schema(value_type = Object)]
    order: WorkOrder,
    /// Fields withheld from this viewer (§29–§30).
    #[schema(value_type = Vec<String>)]
    redacted: Vec<redaction::Field>,
}

impl From<OrderView> for TicketView {
    fn from(v: OrderView) -> Self {
        TicketView {
            order: v.order,
            redacted: v.redacted,
        }
    }
}

fn now() -> OffsetDateTime {
    OffsetDateTime::now_utc()
}

/// Loads an order the viewer may see (404 otherwise).
async fn visible(state: &AppState, viewer: &Actor, number: &str) -> Result<WorkOrder, ApiError> {
    let order = state
        .tickets
        .get_order(number)
        .await
        .map_err(|e| ticket_error("reading an order", e))?
        .ok_or_else(|| ApiError::NotFound("no such order".into()))?;
    if redaction::view_for(&order, viewer).is_none() {
        return Err(ApiError::NotFound("no such order".into()));
    }
    Ok(order)
}

fn view(order: &WorkOrder, viewer: &Actor) -> Result<TicketView, ApiError> {
    redaction::view_for(order, viewer)
        .map(TicketView::from)
        .ok_or_else(|| ApiError::NotFound("no such order".into()))
}

/// Open a work order (agents and supervisors).
#[utoipa::path(post, path = "/api/tickets", tag = "tickets", security(("bearer" = [])),
    request_body(content = Object, description = "OrderDetails: channel, caller, address, category, topic, description, urgency, confidential, complained_about, links, legal_deadline"),
    responses((status = 201, body = TicketView), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub(super) async fn create(
    State(state): State<AppState>,
    principal: Principal,
    ClientIp(ip): ClientIp,
    ApiJson(details): ApiJson<OrderDetails>,
) -> Result<(StatusCode, Json<TicketView>), ApiError> {
    principal.require(&[Role::Agent, Role::Supervisor], "opening orders")?;
    let actor = actor(&principal);
    let order = state
        .tickets
        .open_order(details, &actor, now(), &state.rules, &principal.audit(ip))
        .await
        .map_err(|e| match ticket_error("opening an order", e) {
            // The body is the details: name fields as the client sent them.
            ApiError::Validation { field, message } => ApiError::Validation {
                field: field.map(|f| f.strip_prefix("details.").map_or(f.clone(), str::to_owned)),
                message,
            },
            other => other,
        })?;
    state.sip.publish(super::events::order_changed(
        None,
        &order,
        "create",
        &principal.user,
    ));
    Ok((StatusCode::CREATED, Json(view(&order, &actor)?)))
}

/// `GET /api/tickets` query.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(super) struct ListQuery {
    /// States, comma-separated (`dispatched,signed`).
    #[serde(default)]
    state: Option<String>,
    /// Orders dispatched to this unit (lead or co-handling). Unit users
    /// always see only their own unit's.
    #[serde(default)]
    unit: Option<String>,
    /// `consultation`, `help`, `complaint`, `report`, `suggestion`, `praise`.
    #[serde(default)]
    category: Option<String>,
    /// Only orders past the deadline they are running against.
    #[serde(default)]
    overdue: Option<bool>,
    /// The caller's number.
    #[serde(default)]
    caller: Option<String>,
    /// Created at or after (RFC 3339, or a local date `YYYY-MM-DD`).
    #[serde(default)]
    from: Option<String>,
    /// Created before (RFC 3339, or a local date `YYYY-MM-DD`: up to the end of that day).
    #[serde(default)]
    to: Option<String>,
    /// Page size, 1..=500 (50).
    #[serde(default = "default_limit")]
    limit: u32,
    /// Rows to skip (slower the deeper; prefer `cursor`).
    #[serde(default)]
    offset: u64,
    /// Where the page starts: the previous page's `next_cursor`. Every page
    /// read this way is as fast as the first.
    #[serde(default)]
    cursor: Option<String>,
}

fn default_limit() -> u32 {
    50
}

/// One page of orders.
#[derive(Debug, Serialize, ToSchema)]
pub(super) struct TicketPage {
    items: Vec<TicketView>,
    limit: u32,
    offset: u64,
    /// Offset of the next page; absent on the last one.
    next_offset: Option<u64>,
    /// Pass as `cursor` for the next page; absent on the last one.
    next_cursor: Option<String>,
}

/// Parses a `from`/`to` bound: RFC 3339, or a local date (its start; with
/// `end_of_day`, the start of the next day).
pub(super) fn parse_bound(
    field: &str,
    value: &str,
    state: &AppState,
    end_of_day: bool,
) -> Result<i64, ApiError> {
    use time::format_description::well_known::Rfc3339;
    if let Ok(t) = OffsetDateTime::parse(value, &Rfc3339) {
        return Ok(store::ms(t));
    }
    let fmt = time::macros::format_description!("[year]-[month]-[day]");
    let d = time::Date::parse(value, &fmt)
        .map_err(|_| ApiError::invalid(field, "expected RFC 3339 or YYYY-MM-DD"))?;
    let d = if end_of_day {
        d.next_day()
            .ok_or_else(|| ApiError::invalid(field, "out of range"))?
    } else {
        d
    };
    Ok(store::ms(state.rules.calendar.start_of_day(d)))
}

const CATEGORIES: &[&str] = &[
    "consultation",
    "help",
    "complaint",
    "report",
    "suggestion",
    "praise",
];

/// List orders the viewer may see, newest first (most overdue first with
/// `overdue=true`). Page with `next_cursor` (or `offset`).
#[utoipa::path(get, path = "/api/tickets", tag = "tickets", security(("bearer" = [])),
    params(ListQuery),
    responses((status = 200, body = TicketPage), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody)))]
pub(super) async fn list(
    State(state): State<AppState>,
    principal: Principal,
    ApiQuery(q): ApiQuery<ListQuery>,
) -> Result<Json<TicketPage>, ApiError> {
    let (limit, offset) = Page {
        limit: q.limit,
        offset: q.offset,
    }
    .checked()?;
    let actor = actor(&principal);
    let mut filter = OrderFilter::default();
    if let Some(states) = &q.state {
        for s in states.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            if !hotline_ticketing::OrderState::ALL
                .iter()
                .any(|x| x.as_str() == s)
            {
                return Err(ApiError::invalid("state", format!("unknown state {s:?}")));
            }
            filter.states.push(s.to_owned());
        }
    }
    if let Some(c) = &q.category {
        if !CATEGORIES.contains(&c.as_str()) {
            return Err(ApiError::invalid(
                "category",
                format!("unknown category {c:?}"),
            ));
        }
        filter.category = Some(c.clone());
    }
    filter.unit = q.unit.clone();
    if principal.role == Role::Unit {
        match (&q.unit, &principal.unit) {
            (Some(asked), Some(own)) if asked != own => {
                return Err(ApiError::Forbidden(
                    "unit users see their own unit's orders only".into(),
                ))
            }
            _ => filter.unit = principal.unit.clone(),
        }
        if filter.unit.is_none() {
            return Err(ApiError::Forbidden("this account has no unit".into()));
        }
    }
    if q.overdue == Some(true) {
        filter.overdue_at_ms = Some(store::ms(now()));
    }
    filter.caller_number = q.caller.clone();
    if let Some(f) = &q.from {
        filter.created_from_ms = Some(parse_bound("from", f, &state, false)?);
    }
    if let Some(t) = &q.to {
        filter.created_to_ms = Some(parse_bound("to", t, &state, true)?);
    }
    filter.not_recused = Some(principal.user.clone());
    let start = match &q.cursor {
        Some(_) if offset > 0 => {
            return Err(ApiError::invalid(
                "cursor",
                "give either cursor or offset, not both",
            ));
        }
        Some(c) => PageStart::After(
            Cursor::decode(c)
                .ok_or_else(|| ApiError::invalid("cursor", "not a cursor of this list"))?,
        ),
        None => PageStart::Offset(offset),
    };
    let page = state
        .tickets
        .list_work_orders(&filter, limit, &start)
        .await
        .map_err(|e| ticket_error("listing orders", e))?;
    let orders = page.orders;
    let more = page.next.is_some();
    // A caller-number filter must not tell a unit whom it cannot see the
    // caller of (§29): such orders drop out of the match.
    let probing_caller = q.caller.is_some() && principal.role == Role::Unit;
    let items = orders
        .iter()
        .filter_map(|o| redaction::view_for(o, &actor).map(TicketView::from))
        .filter(|v| !(probing_caller && v.redacted.contains(&redaction::Field::CallerNumber)))
        .collect();
    Ok(Json(TicketPage {
        items,
        limit,
        offset,
        next_offset: (more && q.cursor.is_none()).then_some(offset + u64::from(limit)),
        next_cursor: page.next.map(|c| c.encode()),
    }))
}

/// One order.
#[utoipa::path(get, path = "/api/tickets/{number}", tag = "tickets", security(("bearer" = [])),
    params(("number" = String, Path, description = "Order number, e.g. MM20261125000001")),
    responses((status = 200, body = TicketView), (status = 404, body = ErrorBody)))]
pub(super) async fn get_one(
    State(state): State<AppState>,
    principal: Principal,
    Path(number): Path<String>,
) -> Result<Json<TicketView>, ApiError> {
    let actor = actor(&principal);
    let order = visible(&state, &actor, &number).await?;
    Ok(Json(view(&order, &actor)?))
}

/// The order's history, oldest first (redacted for unit users).
#[utoipa::path(get, path = "/api/tickets/{number}/history", tag = "tickets", security(("bearer" = [])),
    params(("number" = String, Path)),
    responses((status = 200, body = Vec<Object>), (status = 404, body = ErrorBody)))]
pub(super) async fn history(
    State(state): State<AppState>,
    principal: Principal,
    Path(number): Path<String>,
) -> Result<Json<Vec<HistoryEntry>>, ApiError> {
    let actor = actor(&principal);
    let order = visible(&state, &actor, &number).await?;
    let entries = state
        .tickets
        .history(&number)
        .await
        .map_err(|e| ticket_error("reading a history", e))?;
    Ok(Json(redaction::history_for(&order, &actor, &entries)))
}

/// The result of a lifecycle step.
#[derive(Debug, Serialize, ToSchema)]
pub(super) struct StepResult {
    /// The order after the step, as the viewer may see it; `null` when the
    /// step ended the viewer's access (e.g. an approved return).
    ticket: Option<TicketView>,
    /// What the server does next (notify units, survey, callback task).
    #[schema(value_type = Vec<Object>)]
    effects: Vec<hotline_ticketing::Effect>,
}

/// Commands are tagged enums, which serde buffers, so an unknown enum value
/// in a step body comes back without its path: find the field holding it.
fn name_variant_field(e: ApiError, body: &serde_json::Value) -> ApiError {
    let ApiError::Validation {
        field: None,
        message,
    } = e
    else {
        return e;
    };
    let bad = message
        .split_once("unknown variant `")
        .and_then(|(_, rest)| rest.split_once('`'))
        .map(|(v, _)| v.to_owned());
    let field = bad.and_then(|bad| {
        body.as_object()?
            .iter()
            .find(|(k, v)| k.as_str() != "command" && v.as_str() == Some(bad.as_str()))
            .map(|(k, _)| k.clone())
    });
    ApiError::Validation { field, message }
}

fn if_match(headers: &HeaderMap) -> Result<Option<u32>, ApiError> {
    let Some(v) = headers.get(axum::http::header::IF_MATCH) else {
        return Ok(None);
    };
    v.to_str()
        .ok()
        .map(|s| s.trim().trim_start_matches("W/").trim_matches('"'))
        .and_then(|s| s.parse().ok())
        .map(Some)
        .ok_or_else(|| ApiError::invalid("If-Match", "expected the order's version, e.g. \"3\""))
}

/// Apply one lifecycle step. The body holds the step's fields, e.g.
/// `{"lead": "housing", "co_handlers": ["water"]}` for `dispatch`, `{}`
/// for `sign`.
#[utoipa::path(post, path = "/api/tickets/{number}/{action}", tag = "tickets",
    security(("bearer" = [])),
    params(("number" = String, Path),
        ("action" = String, Path, description = "answer_on_spot, refuse, redirect_to_legal_channel, hand_over_to_emergency, dispatch, sign, respond, request_extension, approve_extension, refuse_extension, request_return, approve_return, refuse_return, note_material_refused, add_note, complete, reply, record_survey, record_callback, close, archive, recuse, link_call"),
        ("If-Match" = Option<String>, Header, description = "The version the client saw")),
    request_body(content = Object),
    responses((status = 200, body = StepResult), (status = 400, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody)))]
pub(super) async fn step(
    State(state): State<AppState>,
    principal: Principal,
    ClientIp(ip): ClientIp,
    Path((number, action)): Path<(String, String)>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Result<Json<StepResult>, ApiError> {
    let kind = ACTIONS
        .iter()
        .find(|k| k.as_str() == action)
        .ok_or_else(|| ApiError::NotFound(format!("no action {action:?} on orders")))?;
    let expected = if_match(&headers)?;
    // The body is the command without its tag; an empty body is `{}`.
    let mut fields: serde_json::Map<String, serde_json::Value> =
        if body.iter().all(u8::is_ascii_whitespace) {
            serde_json::Map::new()
        } else {
            parse_json(&body)?
        };
    if fields.contains_key("command") {
        return Err(ApiError::invalid(
            "command",
            "the action is in the path, not the body",
        ));
    }
    fields.insert("command".into(), kind.as_str().into());
    let body = serde_json::Value::Object(fields);
    let command: Command =
        parse_json(body.to_string().as_bytes()).map_err(|e| name_variant_field(e, &body))?;
    let actor = actor(&principal);
    let before = visible(&state, &actor, &number).await?;
    let t = state
        .tickets
        .apply_command(
            &number,
            expected,
            &command,
            &actor,
            now(),
            &state.rules,
            &principal.audit(ip),
        )
        .await
        .map_err(|e| ticket_error("applying a step", e))?;
    state.sip.publish(super::events::order_changed(
        Some(&before),
        &t.order,
        kind.as_str(),
        &principal.user,
    ));
    // A survey job, a callback task, or closing the order's callback tasks.
    state
        .outbound
        .after_step(&state.tickets, &state.rules, &t, t.entry.at)
        .await;
    // A step can end the viewer's access (an approved return): the step's
    // result then carries no order.
    let ticket = redaction::view_for(&t.order, &actor).map(TicketView::from);
    Ok(Json(StepResult {
        ticket,
        effects: t.effects,
    }))
}
