//! The OpenAPI 3.1 document of the JSON API, generated from the handlers'
//! `#[utoipa::path]` annotations and served at `GET /api/openapi.json`
//! (public: it describes the API, not data).
//!
//! Domain values (orders, articles, supervision records) are documented as
//! objects here: their fields are the `hotline-ticketing` types' serde
//! shapes, described in that crate's docs.

use axum::Json;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use super::{auth, drafts, error, events, knowledge, reports, tickets, users};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "hotline API",
        description = "Work orders, knowledge base, supervision, reports and accounts of the 12345 hotline server. Errors are always {\"error\": {\"code\", \"message\", \"field\"}}.",
    ),
    paths(
        auth::login,
        users::list_users, users::create_user, users::update_user, users::list_units,
        users::put_unit, users::list_audit,
        tickets::create, tickets::list, tickets::get_one, tickets::history, tickets::step,
        knowledge::search, knowledge::create, knowledge::get_one, knowledge::publish,
        knowledge::withdraw, knowledge::report_gap, knowledge::list_gaps, knowledge::fix_gap,
        knowledge::list_supervision,
        reports::report,
        drafts::list, drafts::get_one, drafts::to_order, drafts::no_order,
        events::events,
    ),
    components(schemas(error::ErrorBody, error::ErrorDetail)),
    modifiers(&BearerAuth),
    tags(
        (name = "auth", description = "Log-in: bearer tokens for agents, supervisors, unit users, administrators"),
        (name = "tickets", description = "Work orders (工单) and their lifecycle, §13–§22"),
        (name = "knowledge", description = "Knowledge base and gap reports, §24–§25"),
        (name = "supervision", description = "Supervision records (督办), §26"),
        (name = "reports", description = "Reports, §10 and §23"),
        (name = "drafts", description = "The record each answered call leaves, §15–§16.1"),
        (name = "users", description = "Database users, units, audit log"),
        (name = "events", description = "Live events over WebSocket (protocol v1): agent, queue, call, order and supervision changes, filtered per role"),
    )
)]
pub struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

/// `GET /api/openapi.json`.
pub(super) async fn document() -> Json<utoipa::openapi::OpenApi> {
    Json(ApiDoc::openapi())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_document_lists_every_api_route_with_its_methods() {
        let doc = serde_json::to_value(ApiDoc::openapi()).expect("json");
        let paths = doc["paths"].as_object().expect("paths");
        for (path, method) in [
            ("/api/login", "post"),
            ("/api/tickets", "get"),
            ("/api/tickets", "post"),
            ("/api/tickets/{number}", "get"),
            ("/api/tickets/{number}/history", "get"),
            ("/api/tickets/{number}/{action}", "post"),
            ("/api/knowledge", "get"),
            ("/api/knowledge", "post"),
            ("/api/knowledge/gaps", "post"),
            ("/api/supervision", "get"),
            ("/api/reports/{name}", "get"),
            ("/api/users", "post"),
            ("/api/audit", "get"),
            ("/api/events", "get"),
        ] {
            assert!(
                paths.get(path).and_then(|p| p.get(method)).is_some(),
                "{method} {path}"
            );
        }
        assert!(doc["components"]["securitySchemes"]["bearer"].is_object());
        assert!(doc["components"]["schemas"]["ErrorBody"].is_object());
        let list = &paths["/api/tickets"]["get"]["parameters"];
        let names: Vec<&str> = list
            .as_array()
            .expect("params")
            .iter()
            .filter_map(|p| p["name"].as_str())
            .collect();
        for n in [
            "state", "unit", "category", "overdue", "caller", "from", "to", "limit", "offset",
        ] {
            assert!(names.contains(&n), "{n} in {names:?}");
        }
    }
}
