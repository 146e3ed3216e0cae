//! One error type for every API handler, with one JSON body shape:
//!
//! ```json
//! {"error": {"code": "validation", "message": "must not be empty", "field": "description"}}
//! ```
//!
//! `field` is the request field at fault (a JSON path such as `caller.number`,
//! or a query parameter) and `null` when no single field is. Status codes: 400
//! for validation and malformed JSON, 401 without (valid) credentials, 403 when
//! the role may not, 404, 409 for a transition the order's state does not allow
//! or a concurrent change, 429 while an address is locked out. Internal details
//! (database errors, paths) are logged, never sent to the client.
//!
//! [`ApiJson`] and [`ApiQuery`] replace axum's `Json` and `Query` extractors so
//! a malformed body or query string gets this shape (axum's own rejections are
//! plain text) with the offending field named.

use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::de::DeserializeOwned;
use serde::Serialize;

/// Largest JSON body the API reads (knowledge articles are the largest).
const MAX_JSON_BODY: usize = 1024 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// A request that cannot be accepted as sent; `field` names the culprit.
    #[error("{message}")]
    Validation {
        field: Option<String>,
        message: String,
    },
    #[error("authentication required")]
    Unauthenticated,
    #[error("invalid username or password")]
    BadCredentials,
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    NotFound(String),
    /// The resource's state does not allow the request (an invalid transition,
    /// a concurrent change, a duplicate name).
    #[error("{message}")]
    Conflict { code: &'static str, message: String },
    #[error("too many failed attempts; try again later")]
    TooManyAttempts,
    /// A feature that is switched off in the configuration.
    #[error("{0}")]
    Unavailable(String),
    /// Something failed inside the server; the detail is logged, not sent.
    #[error("internal error")]
    Internal,
}

impl ApiError {
    /// Logs `err` while `doing` something and hides it from the client.
    pub fn internal(doing: &str, err: impl std::fmt::Display) -> ApiError {
        tracing::error!("{doing}: {err}");
        ApiError::Internal
    }

    /// A 400 with no single field at fault.
    pub fn bad_request(message: impl Into<String>) -> ApiError {
        ApiError::Validation {
            field: None,
            message: message.into(),
        }
    }

    /// A 400 naming the field at fault.
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> ApiError {
        ApiError::Validation {
            field: Some(field.into()),
            message: message.into(),
        }
    }

    /// A 409 with a machine-readable `code`.
    pub fn conflict(code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError::Conflict {
            code,
            message: message.into(),
        }
    }

    fn status_and_code(&self) -> (StatusCode, &'static str) {
        match self {
            ApiError::Validation { .. } => (StatusCode::BAD_REQUEST, "validation"),
            ApiError::Unauthenticated => (StatusCode::UNAUTHORIZED, "unauthenticated"),
            ApiError::BadCredentials => (StatusCode::UNAUTHORIZED, "bad_credentials"),
            ApiError::Forbidden(_) => (StatusCode::FORBIDDEN, "forbidden"),
            ApiError::NotFound(_) => (StatusCode::NOT_FOUND, "not_found"),
            ApiError::Conflict { code, .. } => (StatusCode::CONFLICT, code),
            ApiError::TooManyAttempts => (StatusCode::TOO_MANY_REQUESTS, "too_many_attempts"),
            ApiError::Unavailable(_) => (StatusCode::SERVICE_UNAVAILABLE, "unavailable"),
            ApiError::Internal => (StatusCode::INTERNAL_SERVER_ERROR, "internal"),
        }
    }

    fn field(&self) -> Option<&str> {
        match self {
            ApiError::Validation { field, .. } => field.as_deref(),
            _ => None,
        }
    }
}

/// The body of every error response (for the OpenAPI document).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

/// What went wrong.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ErrorDetail {
    /// Machine-readable: `validation`, `unauthenticated`, `bad_credentials`,
    /// `forbidden`, `not_found`, `invalid_transition`, `conflict`,
    /// `too_many_attempts`, `unavailable`, `internal`.
    pub code: String,
    /// For people.
    pub message: String,
    /// The request field at fault, when there is one.
    pub field: Option<String>,
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, code) = self.status_and_code();
        let body = ErrorBody {
            error: ErrorDetail {
                code: code.to_owned(),
                message: self.to_string(),
                field: self.field().map(str::to_owned),
            },
        };
        let mut resp = (status, Json(body)).into_response();
        if matches!(self, ApiError::Unauthenticated | ApiError::BadCredentials) {
            resp.headers_mut().insert(
                axum::http::header::WWW_AUTHENTICATE,
                axum::http::HeaderValue::from_static("Bearer"),
            );
        }
        resp
    }
}

/// The field a serde error is about: the path where it happened, or for
/// "missing field `x`" / "unknown field `x`" the named field under that path.
fn field_of(path: &serde_path_to_error::Path, message: &str) -> Option<String> {
    let base = path.to_string();
    let base = if base == "." { String::new() } else { base };
    let named = ["missing field `", "unknown field `"]
        .iter()
        .find_map(|p| message.split_once(p))
        .and_then(|(_, rest)| rest.split_once('`'))
        .map(|(name, _)| name.to_owned());
    match (base.is_empty(), named) {
        (true, None) => None,
        (true, Some(n)) => Some(n),
        (false, None) => Some(base),
        // serde_path_to_error already descended into an unknown field.
        (false, Some(n)) if base == n || base.ends_with(&format!(".{n}")) => Some(base),
        (false, Some(n)) => Some(format!("{base}.{n}")),
    }
}

/// Deserialises JSON bytes, naming the field at fault on error.
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(ApiError::bad_request("a JSON body is required"));
    }
    let de = &mut serde_json::Deserializer::from_slice(bytes);
    serde_path_to_error::deserialize(de).map_err(|e| {
        let message = e.inner().to_string();
        let field = field_of(e.path(), &message);
        ApiError::Validation { field, message }
    })
}

/// A JSON request body; a malformed one is a 400 naming the field.
#[derive(Debug, Clone)]
pub struct ApiJson<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, _state: &S) -> Result<Self, ApiError> {
        let is_json = req
            .headers()
            .get(axum::http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| {
                v.split(';')
                    .next()
                    .is_some_and(|m| m.trim().eq_ignore_ascii_case("application/json"))
            });
        if !is_json {
            return Err(ApiError::bad_request(
                "the body must be JSON (Content-Type: application/json)",
            ));
        }
        let bytes = axum::body::to_bytes(req.into_body(), MAX_JSON_BODY)
            .await
            .map_err(|_| ApiError::bad_request("request body too large or unreadable"))?;
        parse_json(&bytes).map(ApiJson)
    }
}

/// A query string; a malformed one is a 400 naming the parameter.
#[derive(Debug, Clone)]
pub struct ApiQuery<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, ApiError> {
        let query = parts.uri.query().unwrap_or_default();
        let de = serde_urlencoded::Deserializer::new(form_urlencoded_parse(query));
        serde_path_to_error::deserialize(de)
            .map(ApiQuery)
            .map_err(|e| {
                let message = e.inner().to_string();
                let field = field_of(e.path(), &message);
                ApiError::Validation { field, message }
            })
    }
}

fn form_urlencoded_parse(query: &str) -> form_urlencoded::Parse<'_> {
    form_urlencoded::parse(query.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Inner {
        number: String,
    }

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Outer {
        title: String,
        urgency: u8,
        caller: Inner,
    }

    fn field(json: &str) -> Option<String> {
        match parse_json::<Outer>(json.as_bytes()) {
            Err(ApiError::Validation { field, .. }) => field,
            other => panic!("expected a validation error, got {other:?}"),
        }
    }

    #[test]
    fn serde_errors_name_the_field() {
        assert_eq!(
            field(r#"{"urgency": 1, "caller": {"number": "1"}}"#).as_deref(),
            Some("title")
        );
        assert_eq!(
            field(r#"{"title": "t", "urgency": "high", "caller": {"number": "1"}}"#).as_deref(),
            Some("urgency")
        );
        assert_eq!(
            field(r#"{"title": "t", "urgency": 1, "caller": {"number": 5}}"#).as_deref(),
            Some("caller.number")
        );
        assert_eq!(
            field(r#"{"title": "t", "urgency": 1, "caller": {"number": "1"}, "x": 1}"#).as_deref(),
            Some("x")
        );
        assert_eq!(field(r#"{"title": "#).as_deref(), Some("title"));
        assert_eq!(field("not json"), None);
        assert!(matches!(
            parse_json::<Outer>(b"  "),
            Err(ApiError::Validation { field: None, .. })
        ));
    }

    #[tokio::test]
    async fn error_bodies_have_one_shape() {
        let resp = ApiError::invalid("limit", "must be 1..=500").into_response();
        assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
        let body = axum::body::to_bytes(resp.into_body(), 4096)
            .await
            .expect("body");
        let v: serde_json::Value = serde_json::from_slice(&body).expect("json");
        assert_eq!(v["error"]["code"], "validation");
        assert_eq!(v["error"]["field"], "limit");
        assert_eq!(v["error"]["message"], "must be 1..=500");

        let resp = ApiError::conflict("invalid_transition", "signed orders cannot be signed")
            .into_response();
        assert_eq!(resp.status(), StatusCode::CONFLICT);
        let body = axum::body::to_bytes(resp.into_body(), 4096)
            .await
            .expect("body");
        let v: serde_json::Value = serde_json::from_slice(&body).expect("json");
        assert_eq!(v["error"]["code"], "invalid_transition");
        assert!(v["error"]["field"].is_null());
    }
}
