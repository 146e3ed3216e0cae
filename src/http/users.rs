//! Users, units and the audit log: `GET/POST /api/users`,
//! `PATCH /api/users/{id}`, `GET /api/units`, `PUT /api/units/{id}`,
//! `GET /api/audit`.
//!
//! Unit users and administrators live in the database (agents and
//! supervisors are configured seats); only administrators manage them.
//! Passwords are hashed with Argon2id here and never returned.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use hotline_ticketing::store::{self, NewUser, Unit, UserRecord, UserRole};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::auth::{passwords, Principal, Role};
use super::calls::Page;
use super::error::{ApiError, ApiJson, ApiQuery, ErrorBody};
use super::{AppState, ClientIp};

/// Shortest password of a database user.
const MIN_PASSWORD_CHARS: usize = crate::cli_users::MIN_PASSWORD_CHARS;

/// Login names: letters, digits, `.`, `-`, `_`; 1 to 64.
pub fn is_login_name(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 64
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_'))
}

/// Maps store errors to API errors (details logged, not sent).
pub(super) fn store_error(doing: &str, e: store::Error) -> ApiError {
    match e {
        store::Error::Conflict(what) => ApiError::conflict(
            "conflict",
            format!("{what} was changed by someone else; reload and retry"),
        ),
        store::Error::Duplicate(what) => {
            ApiError::conflict("duplicate", format!("{what} exists already"))
        }
        store::Error::NotFound(what) => ApiError::NotFound(format!("{what} not found")),
        other => ApiError::internal(doing, other),
    }
}

/// A user as the API shows it (never the hash).
#[derive(Debug, Serialize, ToSchema)]
pub(super) struct UserView {
    id: String,
    role: String,
    unit: Option<String>,
    display_name: String,
    disabled: bool,
}

impl From<UserRecord> for UserView {
    fn from(u: UserRecord) -> Self {
        UserView {
            id: u.id,
            role: u.role.as_str().to_owned(),
            unit: u.unit_id,
            display_name: u.display_name,
            disabled: u.disabled,
        }
    }
}

/// `POST /api/users` body.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct NewUserRequest {
    /// Login name.
    id: String,
    /// `unit` or `admin`.
    #[schema(value_type = String)]
    role: UserRole,
    /// Required for a unit user.
    #[serde(default)]
    unit: Option<String>,
    #[serde(default)]
    display_name: Option<String>,
    password: String,
}

/// `PATCH /api/users/{id}` body.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct UpdateUserRequest {
    #[serde(default)]
    password: Option<String>,
    #[serde(default)]
    disabled: Option<bool>,
}

fn check_password(field: &str, p: &str) -> Result<(), ApiError> {
    if p.chars().count() < MIN_PASSWORD_CHARS {
        return Err(ApiError::invalid(
            field,
            format!("needs at least {MIN_PASSWORD_CHARS} characters"),
        ));
    }
    Ok(())
}

async fn hash(password: String) -> Result<String, ApiError> {
    tokio::task::spawn_blocking(move || passwords::hash(&password))
        .await
        .map_err(|e| ApiError::internal("hashing a password", e))?
        .map_err(|e| ApiError::internal("hashing a password", e))
}

/// List the database users (administrators).
#[utoipa::path(get, path = "/api/users", tag = "users", security(("bearer" = [])),
    responses((status = 200, body = Vec<UserView>), (status = 403, body = ErrorBody)))]
pub(super) async fn list_users(
    State(state): State<AppState>,
    principal: Principal,
) -> Result<Json<Vec<UserView>>, ApiError> {
    principal.require(&[Role::Admin], "managing users")?;
    let users = state
        .tickets
        .users()
        .await
        .map_err(|e| store_error("listing users", e))?;
    Ok(Json(users.into_iter().map(UserView::from).collect()))
}

/// Create a unit user or an administrator (administrators).
#[utoipa::path(post, path = "/api/users", tag = "users", security(("bearer" = [])),
    request_body = NewUserRequest,
    responses((status = 201, body = UserView), (status = 400, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub(super) async fn create_user(
    State(state): State<AppState>,
    principal: Principal,
    ClientIp(ip): ClientIp,
    ApiJson(req): ApiJson<NewUserRequest>,
) -> Result<(StatusCode, Json<UserView>), ApiError> {
    principal.require(&[Role::Admin], "managing users")?;
    if !is_login_name(&req.id) {
        return Err(ApiError::invalid(
            "id",
            "letters, digits, '.', '-' or '_', at most 64",
        ));
    }
    if state.config.agents.iter().any(|a| a.id == req.id) {
        return Err(ApiError::conflict(
            "duplicate",
            format!("{} is a configured seat", req.id),
        ));
    }
    match (req.role, &req.unit) {
        (UserRole::Unit, None) => {
            return Err(ApiError::invalid("unit", "a unit user needs a unit"))
        }
        (UserRole::Admin, Some(_)) => {
            return Err(ApiError::invalid(
                "unit",
                "an administrator belongs to no unit",
            ))
        }
        _ => {}
    }
    check_password("password", &req.password)?;
    let user = NewUser {
        id: req.id.clone(),
        role: req.role,
        unit_id: req.unit.clone(),
        display_name: req.display_name.clone().unwrap_or_else(|| req.id.clone()),
        password_hash: hash(req.password).await?,
    };
    state
        .tickets
        .create_user(&user, &principal.audit(ip))
        .await
        .map_err(|e| match e {
            store::Error::NotFound(_) => ApiError::invalid("unit", "no such unit"),
            e => store_error("creating a user", e),
        })?;
    let view = UserView {
        id: user.id,
        role: user.role.as_str().to_owned(),
        unit: user.unit_id,
        display_name: user.display_name,
        disabled: false,
    };
    Ok((StatusCode::CREATED, Json(view)))
}

/// Change a user's password or disable the account (administrators).
#[utoipa::path(patch, path = "/api/users/{id}", tag = "users", security(("bearer" = [])),
    request_body = UpdateUserRequest,
    responses((status = 204), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody)))]
pub(super) async fn update_user(
    State(state): State<AppState>,
    principal: Principal,
    ClientIp(ip): ClientIp,
    Path(id): Path<String>,
    ApiJson(req): ApiJson<UpdateUserRequest>,
) -> Result<StatusCode, ApiError> {
    principal.require(&[Role::Admin], "managing users")?;
    let hashed = match req.password {
        Some(p) => {
            check_password("password", &p)?;
            Some(hash(p).await?)
        }
        None => None,
    };
    state
        .tickets
        .update_user(&id, hashed.as_deref(), req.disabled, &principal.audit(ip))
        .await
        .map_err(|e| store_error("updating a user", e))?;
    Ok(StatusCode::NO_CONTENT)
}

/// `PUT /api/units/{id}` body.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct UnitRequest {
    name: String,
    #[serde(default)]
    district: Option<String>,
}

/// A handling unit.
#[derive(Debug, Serialize, ToSchema)]
pub(super) struct UnitView {
    id: String,
    name: String,
    district: Option<String>,
}

/// List the handling units (any signed-in user).
#[utoipa::path(get, path = "/api/units", tag = "users", security(("bearer" = [])),
    responses((status = 200, body = Vec<UnitView>)))]
pub(super) async fn list_units(
    State(state): State<AppState>,
    _principal: Principal,
) -> Result<Json<Vec<UnitView>>, ApiError> {
    let units = state
        .tickets
        .units()
        .await
        .map_err(|e| store_error("listing units", e))?;
    Ok(Json(
        units
            .into_iter()
            .map(|u| UnitView {
                id: u.id,
                name: u.name,
                district: u.district,
            })
            .collect(),
    ))
}

/// Create or rename a unit (administrators).
#[utoipa::path(put, path = "/api/units/{id}", tag = "users", security(("bearer" = [])),
    request_body = UnitRequest,
    responses((status = 204), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub(super) async fn put_unit(
    State(state): State<AppState>,
    principal: Principal,
    ClientIp(ip): ClientIp,
    Path(id): Path<String>,
    ApiJson(req): ApiJson<UnitRequest>,
) -> Result<StatusCode, ApiError> {
    principal.require(&[Role::Admin], "managing units")?;
    if !is_login_name(&id) {
        return Err(ApiError::invalid(
            "id",
            "letters, digits, '.', '-' or '_', at most 64",
        ));
    }
    if req.name.trim().is_empty() {
        return Err(ApiError::invalid("name", "must not be empty"));
    }
    let unit = Unit {
        id,
        name: req.name,
        district: req.district,
    };
    state
        .tickets
        .upsert_unit(&unit, &principal.audit(ip))
        .await
        .map_err(|e| store_error("saving a unit", e))?;
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /api/audit` query.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct AuditQuery {
    /// `order`, `user`, `unit`, `article`, …
    #[serde(default)]
    entity: Option<String>,
    #[serde(default)]
    id: Option<String>,
    #[serde(default = "default_limit")]
    limit: u32,
    #[serde(default)]
    offset: u64,
}

fn default_limit() -> u32 {
    50
}

/// One audit row.
#[derive(Debug, Serialize, ToSchema)]
pub(super) struct AuditView {
    at: String,
    actor: String,
    actor_role: String,
    client_ip: Option<String>,
    action: String,
    entity: String,
    entity_id: String,
    #[schema(value_type = Object)]
    detail: serde_json::Value,
}

/// The audit log, newest first (administrators and supervisors).
#[utoipa::path(get, path = "/api/audit", tag = "users", security(("bearer" = [])),
    params(("entity" = Option<String>, Query), ("id" = Option<String>, Query),
        ("limit" = Option<u32>, Query), ("offset" = Option<u64>, Query)),
    responses((status = 200, body = Vec<AuditView>), (status = 403, body = ErrorBody)))]
pub(super) async fn list_audit(
    State(state): State<AppState>,
    principal: Principal,
    ApiQuery(q): ApiQuery<AuditQuery>,
) -> Result<Json<Vec<AuditView>>, ApiError> {
    principal.require(&[Role::Admin, Role::Supervisor], "the audit log")?;
    let (limit, offset) = Page {
        limit: q.limit,
        offset: q.offset,
    }
    .checked()?;
    let entity = match (&q.entity, &q.id) {
        (Some(e), Some(i)) => Some((e.as_str(), i.as_str())),
        (None, None) => None,
        _ => {
            return Err(ApiError::invalid(
                "id",
                "give both entity and id, or neither",
            ))
        }
    };
    let rows = state
        .tickets
        .audit_log(entity, limit, offset)
        .await
        .map_err(|e| store_error("reading the audit log", e))?;
    Ok(Json(
        rows.into_iter()
            .map(|r| AuditView {
                at: super::rfc3339::format_ms(r.at_ms),
                actor: r.actor,
                actor_role: r.actor_role,
                client_ip: r.client_ip,
                action: r.action,
                entity: r.entity,
                entity_id: r.entity_id,
                detail: serde_json::from_str(&r.detail).unwrap_or(serde_json::Value::Null),
            })
            .collect(),
    ))
}
