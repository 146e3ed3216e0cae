//! The knowledge base (§24–§25) and supervision (§26) over HTTP.
//!
//! - `GET /api/knowledge?q=社保卡`: search (agents see published articles;
//!   supervisors, admins and unit users may add `all=true`); without `q`, a
//!   page of articles (unit users: their unit's).
//! - `POST /api/knowledge`: register an article for a policy taking effect
//!   on a date (unit users for their unit, admins, supervisors); optional
//!   `body` publishes it at once.
//! - `GET /api/knowledge/{id}`, `POST /api/knowledge/{id}/publish`,
//!   `POST /api/knowledge/{id}/withdraw`.
//! - `POST /api/knowledge/gaps` (anyone on the hotline side reports a gap),
//!   `GET /api/knowledge/gaps`, `POST /api/knowledge/gaps/{id}/fix`.
//! - `GET /api/supervision`: the records raised by the sweep (supervisors,
//!   admins; unit users see their unit's).

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use hotline_ticketing::knowledge::{Article, GapKind, GapReport};
use hotline_ticketing::store::SupervisionFilter;
use hotline_ticketing::supervision::SupervisionRecord;
use hotline_ticketing::topic::TopicCode;
use hotline_ticketing::{UnitId, UserId};
use serde::Deserialize;
use time::OffsetDateTime;
use utoipa::{IntoParams, ToSchema};

use super::auth::{Principal, Role};
use super::calls::Page;
use super::error::{ApiError, ApiJson, ApiQuery, ErrorBody};
use super::tickets::domain_error;
use super::users::store_error;
use super::{AppState, ClientIp};

fn kb_error(doing: &str, e: hotline_ticketing::store::Error) -> ApiError {
    match e {
        hotline_ticketing::store::Error::Domain(d) => domain_error(d),
        other => store_error(doing, other),
    }
}

/// `GET /api/knowledge` query.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(super) struct SearchQuery {
    /// Search text; space-separated terms must all occur.
    #[serde(default)]
    q: Option<String>,
    /// Include pending and withdrawn articles (not for agents).
    #[serde(default)]
    all: bool,
    #[serde(default = "default_limit")]
    limit: u32,
    #[serde(default)]
    offset: u64,
}

fn default_limit() -> u32 {
    20
}

/// Search or list knowledge articles.
#[utoipa::path(get, path = "/api/knowledge", tag = "knowledge", security(("bearer" = [])),
    params(SearchQuery),
    responses((status = 200, body = Vec<Object>), (status = 400, body = ErrorBody)))]
pub(super) async fn search(
    State(state): State<AppState>,
    principal: Principal,
    ApiQuery(q): ApiQuery<SearchQuery>,
) -> Result<Json<Vec<Article>>, ApiError> {
    let (limit, offset) = Page {
        limit: q.limit,
        offset: q.offset,
    }
    .checked()?;
    if q.all && principal.role == Role::Agent {
        return Err(ApiError::Forbidden(
            "agents see published articles only".into(),
        ));
    }
    let articles = match q.q.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        Some(text) => {
            if text.chars().count() > 200 {
                return Err(ApiError::invalid("q", "at most 200 characters"));
            }
            state
                .tickets
                .search_articles(text, !q.all, limit)
                .await
                .map_err(|e| kb_error("searching the knowledge base", e))?
        }
        None => {
            let unit = principal.unit.clone().map(UnitId::new);
            let mut list = state
                .tickets
                .articles(unit.as_ref(), limit, offset)
                .await
                .map_err(|e| kb_error("listing articles", e))?;
            if !q.all {
                list.retain(|a| a.status == hotline_ticketing::knowledge::ArticleStatus::Published);
            }
            list
        }
    };
    Ok(Json(articles))
}

/// `POST /api/knowledge` body.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct NewArticle {
    /// The owning unit (a unit user's own unit when omitted).
    #[serde(default)]
    unit: Option<String>,
    title: String,
    /// Publishes the article at once when given.
    #[serde(default)]
    body: Option<String>,
    #[serde(default)]
    topic: Option<String>,
    /// The local date the policy takes effect (`YYYY-MM-DD`); the upload
    /// deadline is 7 working days later (§24).
    effective_on: String,
}

fn parse_date(field: &str, s: &str) -> Result<time::Date, ApiError> {
    let fmt = time::macros::format_description!("[year]-[month]-[day]");
    time::Date::parse(s, &fmt).map_err(|_| ApiError::invalid(field, "expected YYYY-MM-DD"))
}

/// The unit a user may write articles for.
fn writable_unit(principal: &Principal, asked: Option<&str>) -> Result<UnitId, ApiError> {
    match principal.role {
        Role::Unit => match (asked, principal.unit.as_deref()) {
            (Some(a), Some(own)) if a != own => Err(ApiError::Forbidden(
                "unit users write their own unit's articles".into(),
            )),
            (_, Some(own)) => Ok(UnitId::new(own)),
            (_, None) => Err(ApiError::Forbidden("this account has no unit".into())),
        },
        Role::Admin | Role::Supervisor => asked
            .map(UnitId::new)
            .ok_or_else(|| ApiError::invalid("unit", "name the owning unit")),
        Role::Agent => Err(ApiError::Forbidden(
            "agents report gaps; units and administrators write articles".into(),
        )),
    }
}

/// Register (and optionally publish) an article.
#[utoipa::path(post, path = "/api/knowledge", tag = "knowledge", security(("bearer" = [])),
    request_body = NewArticle,
    responses((status = 201, body = Object), (status = 400, body = ErrorBody),
        (status = 403, body = ErrorBody)))]
pub(super) async fn create(
    State(state): State<AppState>,
    principal: Principal,
    ClientIp(ip): ClientIp,
    ApiJson(req): ApiJson<NewArticle>,
) -> Result<(StatusCode, Json<Article>), ApiError> {
    let unit = writable_unit(&principal, req.unit.as_deref())?;
    let effective_on = parse_date("effective_on", &req.effective_on)?;
    let topic = req.topic.map(TopicCode::new);
    if let Some(t) = &topic {
        if !state.rules.topics.contains(t) {
            return Err(ApiError::invalid("topic", "not in the topic tree"));
        }
    }
    let now = OffsetDateTime::now_utc();
    let rules = state.rules.clone();
    let article = state
        .tickets
        .create_article(&principal.audit(ip), |id| {
            let mut a = Article::register(
                id,
                unit,
                &req.title,
                topic,
                effective_on,
                now,
                &rules.calendar,
                &rules.knowledge,
            )?;
            if let Some(body) = &req.body {
                a.publish(&req.title, body, now)?;
            }
            Ok(a)
        })
        .await
        .map_err(|e| kb_error("registering an article", e))?;
    Ok((StatusCode::CREATED, Json(article)))
}

/// One article (agents: published ones only).
#[utoipa::path(get, path = "/api/knowledge/{id}", tag = "knowledge", security(("bearer" = [])),
    params(("id" = u64, Path)),
    responses((status = 200, body = Object), (status = 404, body = ErrorBody)))]
pub(super) async fn get_one(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<u64>,
) -> Result<Json<Article>, ApiError> {
    let (a, _) = state
        .tickets
        .article(id)
        .await
        .map_err(|e| kb_error("reading an article", e))?
        .ok_or_else(|| ApiError::NotFound("no such article".into()))?;
    if principal.role == Role::Agent
        && a.status != hotline_ticketing::knowledge::ArticleStatus::Published
    {
        return Err(ApiError::NotFound("no such article".into()));
    }
    Ok(Json(a))
}

/// `POST /api/knowledge/{id}/publish` body.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct PublishRequest {
    title: String,
    body: String,
}

async fn change(
    state: &AppState,
    principal: &Principal,
    ip: Option<std::net::IpAddr>,
    id: u64,
    action: &str,
    f: impl FnOnce(&mut Article) -> hotline_ticketing::Result<()>,
) -> Result<Article, ApiError> {
    let (a, _) = state
        .tickets
        .article(id)
        .await
        .map_err(|e| kb_error("reading an article", e))?
        .ok_or_else(|| ApiError::NotFound("no such article".into()))?;
    writable_unit(principal, Some(&a.unit.0))?;
    state
        .tickets
        .update_article(id, &principal.audit(ip), action, f)
        .await
        .map_err(|e| kb_error("changing an article", e))
}

/// Publish an article, or republish it with new text.
#[utoipa::path(post, path = "/api/knowledge/{id}/publish", tag = "knowledge",
    security(("bearer" = [])), params(("id" = u64, Path)), request_body = PublishRequest,
    responses((status = 200, body = Object), (status = 400, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody)))]
pub(super) async fn publish(
    State(state): State<AppState>,
    principal: Principal,
    ClientIp(ip): ClientIp,
    Path(id): Path<u64>,
    ApiJson(req): ApiJson<PublishRequest>,
) -> Result<Json<Article>, ApiError> {
    let now = OffsetDateTime::now_utc();
    let a = change(&state, &principal, ip, id, "article.publish", |a| {
        a.publish(&req.title, &req.body, now)
    })
    .await?;
    Ok(Json(a))
}

/// Withdraw an article that is no longer valid.
#[utoipa::path(post, path = "/api/knowledge/{id}/withdraw", tag = "knowledge",
    security(("bearer" = [])), params(("id" = u64, Path)),
    responses((status = 200, body = Object), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody)))]
pub(super) async fn withdraw(
    State(state): State<AppState>,
    principal: Principal,
    ClientIp(ip): ClientIp,
    Path(id): Path<u64>,
) -> Result<Json<Article>, ApiError> {
    let now = OffsetDateTime::now_utc();
    let a = change(&state, &principal, ip, id, "article.withdraw", |a| {
        a.withdraw(now);
        Ok(())
    })
    .await?;
    Ok(Json(a))
}

/// `POST /api/knowledge/gaps` body.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct NewGap {
    /// The unit that must fix it.
    unit: String,
    #[serde(default)]
    article_id: Option<u64>,
    /// `missing`, `inaccurate`, `invalid`.
    #[schema(value_type = String)]
    kind: GapKind,
    description: String,
}

/// Report a gap in the knowledge base (§25: fixed within 5 working days).
#[utoipa::path(post, path = "/api/knowledge/gaps", tag = "knowledge", security(("bearer" = [])),
    request_body = NewGap,
    responses((status = 201, body = Object), (status = 400, body = ErrorBody)))]
pub(super) async fn report_gap(
    State(state): State<AppState>,
    principal: Principal,
    ClientIp(ip): ClientIp,
    ApiJson(req): ApiJson<NewGap>,
) -> Result<(StatusCode, Json<GapReport>), ApiError> {
    principal.require(
        &[Role::Agent, Role::Supervisor, Role::Admin],
        "reporting gaps",
    )?;
    let now = OffsetDateTime::now_utc();
    let rules = state.rules.clone();
    let gap = state
        .tickets
        .create_gap(&principal.audit(ip), |id| {
            GapReport::report(
                id,
                UnitId::new(req.unit),
                req.article_id,
                req.kind,
                &req.description,
                UserId::new(principal.user.clone()),
                now,
                &rules.calendar,
                &rules.knowledge,
            )
        })
        .await
        .map_err(|e| kb_error("reporting a gap", e))?;
    Ok((StatusCode::CREATED, Json(gap)))
}

/// Gap reports (unit users: their unit's).
#[utoipa::path(get, path = "/api/knowledge/gaps", tag = "knowledge", security(("bearer" = [])),
    responses((status = 200, body = Vec<Object>)))]
pub(super) async fn list_gaps(
    State(state): State<AppState>,
    principal: Principal,
) -> Result<Json<Vec<GapReport>>, ApiError> {
    let mut gaps = state
        .tickets
        .gaps(false)
        .await
        .map_err(|e| kb_error("listing gaps", e))?;
    if principal.role == Role::Unit {
        gaps.retain(|g| Some(g.unit.0.as_str()) == principal.unit.as_deref());
    }
    Ok(Json(gaps))
}

/// Mark a gap fixed (the owning unit, admins, supervisors).
#[utoipa::path(post, path = "/api/knowledge/gaps/{id}/fix", tag = "knowledge",
    security(("bearer" = [])), params(("id" = u64, Path)),
    responses((status = 200, body = Object), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody)))]
pub(super) async fn fix_gap(
    State(state): State<AppState>,
    principal: Principal,
    ClientIp(ip): ClientIp,
    Path(id): Path<u64>,
) -> Result<Json<GapReport>, ApiError> {
    let gap = state
        .tickets
        .gap(id)
        .await
        .map_err(|e| kb_error("reading a gap", e))?
        .ok_or_else(|| ApiError::NotFound("no such gap report".into()))?;
    writable_unit(&principal, Some(&gap.unit.0))?;
    let gap = state
        .tickets
        .fix_gap(id, OffsetDateTime::now_utc(), &principal.audit(ip))
        .await
        .map_err(|e| kb_error("fixing a gap", e))?;
    Ok(Json(gap))
}

/// `GET /api/supervision` query.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(super) struct SupervisionQuery {
    #[serde(default)]
    unit: Option<String>,
    /// Order number.
    #[serde(default)]
    order: Option<String>,
    /// `district` or `city`.
    #[serde(default)]
    tier: Option<String>,
    /// `overdue_sign`, `overdue_response`, `overdue_completion`,
    /// `overdue_reply`, `repeated_matter`, `knowledge_upload`, `knowledge_fix`.
    #[serde(default)]
    kind: Option<String>,
    #[serde(default = "default_limit")]
    limit: u32,
    #[serde(default)]
    offset: u64,
}

/// Supervision records raised by the sweep, newest first.
#[utoipa::path(get, path = "/api/supervision", tag = "supervision", security(("bearer" = [])),
    params(SupervisionQuery),
    responses((status = 200, body = Vec<Object>), (status = 403, body = ErrorBody)))]
pub(super) async fn list_supervision(
    State(state): State<AppState>,
    principal: Principal,
    ApiQuery(q): ApiQuery<SupervisionQuery>,
) -> Result<Json<Vec<SupervisionRecord>>, ApiError> {
    principal.require(
        &[Role::Supervisor, Role::Admin, Role::Unit],
        "the supervision list",
    )?;
    let (limit, offset) = Page {
        limit: q.limit,
        offset: q.offset,
    }
    .checked()?;
    if let Some(t) = &q.tier {
        if !matches!(t.as_str(), "district" | "city") {
            return Err(ApiError::invalid("tier", "district or city"));
        }
    }
    let mut filter = SupervisionFilter {
        unit: q.unit,
        order: q.order,
        tier: q.tier,
        kind: q.kind,
        since_ms: None,
    };
    if principal.role == Role::Unit {
        if filter.unit.is_some() && filter.unit != principal.unit {
            return Err(ApiError::Forbidden(
                "unit users see their own unit's records".into(),
            ));
        }
        filter.unit = principal.unit.clone();
    }
    let records = state
        .tickets
        .supervision_records(&filter, limit, offset)
        .await
        .map_err(|e| kb_error("listing supervision records", e))?;
    Ok(Json(records))
}
