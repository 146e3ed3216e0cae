//! The HTTP side: health, metrics and the JSON API (`axum`).
//!
//! `router(state)` builds the whole app so tests can drive it with
//! `tower::ServiceExt::oneshot` without a socket. Errors have one JSON shape
//! (`{"error": {"code": "...", "message": "...", "field": ...}}`, see
//! [`error::ApiError`]). Work orders ([`tickets`]), the knowledge base and
//! supervision ([`knowledge`]), [`reports`] and accounts ([`users`]) sit on
//! the `hotline-ticketing` store; [`openapi`] serves the generated document.
//! [`events`] streams the live events over WebSocket, filtered per role by
//! [`events_filter`].

pub mod auth;
mod callback_tasks;
pub(crate) mod calls;
mod contact;
pub mod drafts;
pub mod error;
pub mod events;
pub mod events_filter;
pub mod files;
pub mod knowledge;
pub mod openapi;
pub mod playback;
pub mod reports;
mod survey_jobs;
pub mod tickets;
pub mod users;
mod workstation;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::SystemTime;

use axum::extract::{Request, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use hotline_config::Config;
use serde::Serialize;

use crate::sip_io::SipHandle;

use crate::metrics::Metrics;
use auth::{Principal, SessionStore};
use error::ApiError;

/// One registered contact as the SIP side last published it.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct BindingSnapshot {
    pub user: String,
    /// The Contact URI exactly as the phone registered it.
    pub contact: String,
    /// Where the REGISTER came from (`UDP:127.0.0.1:5098`).
    pub source: String,
    #[serde(with = "rfc3339")]
    pub expires_at: SystemTime,
}

/// Shared state of the HTTP handlers.
#[derive(Clone)]
pub struct AppState {
    pub config: Arc<Config>,
    pub metrics: Arc<Metrics>,
    pub sip: SipHandle,
    pub sessions: Arc<SessionStore>,
    pub store: hotline_recordings::CallStore,
    /// Work orders, units, users, knowledge base, audit log.
    pub tickets: hotline_ticketing::store::Store,
    /// Password hashes of the configured seats.
    pub credentials: Arc<auth::Credentials>,
    /// Calendar, deadlines, topics: what the work-order domain runs on.
    pub rules: Arc<hotline_ticketing::TicketRules>,
    /// Play links of recordings (`<audio>` streaming with ranges).
    pub play_tickets: Arc<playback::PlayTickets>,
    /// Survey campaign and callback calls: the dialer and the campaign's
    /// wake-up.
    pub outbound: crate::outbound::Outbound,
    /// Becomes `true` when the server shuts down (live-event connections
    /// close with 1001 "going away").
    pub shutdown: tokio::sync::watch::Receiver<bool>,
}

/// The whole HTTP application.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/health", get(health))
        .route("/metrics", get(metrics))
        .route("/api/login", post(auth::login))
        .route("/api/openapi.json", get(openapi::document))
        .route("/api/events", get(events::events))
        .route("/api/agents", get(list_agents))
        .route("/api/agents/{id}/state", post(contact::set_state))
        .route("/api/queues", get(contact::list_queues))
        .route("/api/queues/days", get(contact::list_days))
        .route("/api/calls", get(calls::list_calls))
        .route("/api/calls/per-hour", get(workstation::calls_per_hour))
        .route("/api/calls/{id}", get(contact::get_call))
        .route("/api/calls/{id}/transfer", post(calls::transfer_call))
        .route("/api/calls/{id}/survey", post(calls::hand_to_survey))
        .route("/api/surveys", get(contact::list_surveys))
        .route("/api/callbacks", get(contact::list_callbacks))
        .route(
            "/api/callbacks/{id}/claim",
            post(callback_tasks::claim_request),
        )
        .route(
            "/api/callbacks/{id}/call",
            post(callback_tasks::call_request),
        )
        .route(
            "/api/callbacks/{id}/result",
            post(callback_tasks::result_request),
        )
        .route("/api/callback-tasks", get(callback_tasks::list))
        .route(
            "/api/callback-tasks/{id}/claim",
            post(callback_tasks::claim),
        )
        .route("/api/callback-tasks/{id}/call", post(callback_tasks::call))
        .route(
            "/api/callback-tasks/{id}/result",
            post(callback_tasks::result),
        )
        .route("/api/survey-jobs", get(survey_jobs::list))
        .route(
            "/api/public/satisfaction",
            get(reports::public_satisfaction),
        )
        .route("/api/emergency-transfers", get(contact::list_emergency))
        .route(
            "/api/announcement",
            get(contact::get_announcement)
                .put(contact::put_announcement)
                .delete(contact::delete_announcement),
        )
        .route("/api/recordings", get(calls::list_recordings))
        .route("/api/recordings/{id}", get(calls::get_recording))
        .route("/api/recordings/{id}/play", post(playback::play_link))
        .route("/api/recordings/{id}/stream", get(playback::stream))
        .route(
            "/api/users",
            get(users::list_users).post(users::create_user),
        )
        .route("/api/users/{id}", axum::routing::patch(users::update_user))
        .route("/api/units", get(users::list_units))
        .route("/api/topics", get(workstation::topics))
        .route("/api/units/{id}", axum::routing::put(users::put_unit))
        .route("/api/audit", get(users::list_audit))
        .route("/api/tickets", get(tickets::list).post(tickets::create))
        .route("/api/tickets/{number}", get(tickets::get_one))
        .route("/api/tickets/{number}/history", get(tickets::history))
        .route("/api/tickets/{number}/{action}", post(tickets::step))
        .route(
            "/api/knowledge",
            get(knowledge::search).post(knowledge::create),
        )
        .route(
            "/api/knowledge/gaps",
            get(knowledge::list_gaps).post(knowledge::report_gap),
        )
        .route("/api/knowledge/gaps/{id}/fix", post(knowledge::fix_gap))
        .route("/api/knowledge/{id}", get(knowledge::get_one))
        .route("/api/knowledge/{id}/publish", post(knowledge::publish))
        .route("/api/knowledge/{id}/withdraw", post(knowledge::withdraw))
        .route("/api/supervision", get(knowledge::list_supervision))
        .route("/api/reports/{name}", get(reports::report))
        .route("/api/drafts", get(drafts::list))
        .route("/api/drafts/{id}", get(drafts::get_one))
        .route("/api/drafts/{id}/order", post(drafts::to_order))
        .route("/api/drafts/{id}/no_order", post(drafts::no_order))
        .merge(crate::web::routes())
        .fallback(not_found)
        .with_state(state)
}

async fn health() -> Json<serde_json::Value> {
    Json(serde_json::json!({ "status": "ok" }))
}

async fn metrics(State(state): State<AppState>) -> Response {
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        state.metrics.render(),
    )
        .into_response()
}

async fn not_found() -> ApiError {
    ApiError::NotFound("no such endpoint".into())
}

#[derive(Debug, Serialize)]
struct AgentView {
    id: String,
    name: String,
    role: String,
    skills: Vec<String>,
    registered: bool,
    contacts: Vec<ContactView>,
    /// The ACD's view (`state`, `reason`, `in_state_s`, `available`, `call`,
    /// `queues`, `missed_in_row`, `today`); absent with routing `direct`.
    #[serde(flatten)]
    acd: Option<serde_json::Map<String, serde_json::Value>>,
}

#[derive(Debug, Serialize)]
struct ContactView {
    uri: String,
    source: String,
    #[serde(with = "rfc3339")]
    expires_at: SystemTime,
    expires_in_s: u64,
}

/// `GET /api/agents`: every configured seat with its live registrations.
async fn list_agents(State(state): State<AppState>, principal: Principal) -> Json<Vec<AgentView>> {
    let _ = principal; // any signed-in role may read the seat list
    Json(agent_views(&state).await)
}

/// Every configured seat with its live registrations and ACD state: the
/// entries of `GET /api/agents` and of the live-event snapshot.
async fn agent_views(state: &AppState) -> Vec<AgentView> {
    let bindings = state.sip.bindings().await;
    let mut acd: std::collections::HashMap<String, serde_json::Map<String, serde_json::Value>> =
        state
            .sip
            .agent_states()
            .await
            .into_iter()
            .filter_map(|a| {
                let id = a.id.clone();
                match serde_json::to_value(a) {
                    Ok(serde_json::Value::Object(mut m)) => {
                        m.remove("id");
                        m.remove("registered");
                        Some((id, m))
                    }
                    _ => None,
                }
            })
            .collect();
    let now = SystemTime::now();
    state
        .config
        .agents
        .iter()
        .map(|a| {
            let contacts: Vec<ContactView> = bindings
                .iter()
                .filter(|b| b.user == a.id && b.expires_at > now)
                .map(|b| ContactView {
                    uri: b.contact.clone(),
                    source: b.source.clone(),
                    expires_at: b.expires_at,
                    expires_in_s: b.expires_at.duration_since(now).map_or(0, |d| d.as_secs()),
                })
                .collect();
            AgentView {
                id: a.id.clone(),
                name: a.name.clone(),
                role: a.role.to_string(),
                skills: a.skills.clone(),
                registered: !contacts.is_empty(),
                contacts,
                acd: acd.remove(&a.id),
            }
        })
        .collect()
}

/// The client's address, when the server runs with connect info (absent in
/// `oneshot` tests); recorded in the audit log.
#[derive(Debug, Clone, Copy)]
pub struct ClientIp(pub Option<std::net::IpAddr>);

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for ClientIp {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        _state: &S,
    ) -> Result<Self, Self::Rejection> {
        Ok(ClientIp(
            parts
                .extensions
                .get::<axum::extract::ConnectInfo<SocketAddr>>()
                .map(|c| c.0.ip()),
        ))
    }
}

/// The client address of a request served with connect info (absent in `oneshot` tests).
pub(crate) fn client_ip(req: &Request) -> Option<std::net::IpAddr> {
    req.extensions()
        .get::<axum::extract::ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip())
}

pub(crate) mod rfc3339 {
    use std::time::SystemTime;

    use serde::Serializer;

    pub(crate) fn format(t: SystemTime) -> String {
        let t = time::OffsetDateTime::from(t);
        t.format(&time::format_description::well_known::Rfc3339)
            .unwrap_or_default()
    }

    /// Epoch milliseconds as RFC 3339.
    pub(crate) fn format_ms(ms: i64) -> String {
        let t = time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
            .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
        t.format(&time::format_description::well_known::Rfc3339)
            .unwrap_or_default()
    }

    pub(crate) fn serialize<S: Serializer>(t: &SystemTime, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&format(*t))
    }
}
