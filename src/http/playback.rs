//! Play links for recordings: how a supervisor's page streams a recording
//! into an `<audio>` element with HTTP range requests (seek without loading
//! the whole file) although the element cannot send the bearer token.
//!
//! `POST /api/recordings/{id}/play` (supervisor) returns a link
//! `/api/recordings/{id}/stream?ticket=T` valid for [`TICKET_TTL`] and for
//! that one recording only; `GET` on it serves the WAV with ranges. A ticket
//! is a random 128-bit value kept in memory (a restart voids them), so no
//! session token ever appears in a URL, a log line or the browser history.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::response::Response;
use axum::Json;
use rand::RngCore;
use serde::{Deserialize, Serialize};

use super::auth::{Principal, Role};
use super::error::ApiError;
use super::AppState;

/// How long a play link works.
pub const TICKET_TTL: Duration = Duration::from_secs(600);
/// Live tickets kept at most (old ones are dropped first).
const MAX_TICKETS: usize = 10_000;

#[derive(Debug)]
struct Ticket {
    recording: String,
    user: String,
    expires: Instant,
}

/// The live play tickets.
#[derive(Debug, Default)]
pub struct PlayTickets {
    tickets: Mutex<HashMap<String, Ticket>>,
}

impl PlayTickets {
    /// A new ticket for `recording`, issued to `user`.
    pub fn issue(&self, recording: &str, user: &str, now: Instant) -> String {
        let mut raw = [0u8; 16];
        rand::thread_rng().fill_bytes(&mut raw);
        let token = hex::encode(raw);
        let mut t = self.tickets.lock().unwrap_or_else(|p| p.into_inner());
        t.retain(|_, v| v.expires > now);
        if t.len() >= MAX_TICKETS {
            if let Some(oldest) = t
                .iter()
                .min_by_key(|(_, v)| v.expires)
                .map(|(k, _)| k.clone())
            {
                t.remove(&oldest);
            }
        }
        t.insert(
            token.clone(),
            Ticket {
                recording: recording.to_owned(),
                user: user.to_owned(),
                expires: now + TICKET_TTL,
            },
        );
        token
    }

    /// The user a live ticket for `recording` was issued to.
    pub fn check(&self, token: &str, recording: &str, now: Instant) -> Option<String> {
        let t = self.tickets.lock().unwrap_or_else(|p| p.into_inner());
        t.get(token)
            .filter(|v| v.expires > now && v.recording == recording)
            .map(|v| v.user.clone())
    }
}

/// `POST /api/recordings/{id}/play` answer.
#[derive(Debug, Serialize)]
pub(super) struct PlayLink {
    /// Where the `<audio>` element streams from.
    url: String,
    expires_in_s: u64,
}

/// Recording ids are our own hex names; anything else is not one.
pub(super) fn valid_id(id: &str) -> bool {
    !id.is_empty() && id.len() <= 64 && id.bytes().all(|b| b.is_ascii_alphanumeric())
}

/// `POST /api/recordings/{id}/play`: a play link for a supervisor.
pub(super) async fn play_link(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
) -> Result<Json<PlayLink>, ApiError> {
    principal.require(&[Role::Supervisor], "recordings")?;
    let found = valid_id(&id)
        && state
            .store
            .get_recording(&id)
            .await
            .map_err(|e| ApiError::internal("reading the recording index", e))?
            .is_some();
    if !found {
        return Err(ApiError::NotFound("no such recording".into()));
    }
    let ticket = state
        .play_tickets
        .issue(&id, &principal.user, Instant::now());
    Ok(Json(PlayLink {
        url: format!("/api/recordings/{id}/stream?ticket={ticket}"),
        expires_in_s: TICKET_TTL.as_secs(),
    }))
}

/// `GET /api/recordings/{id}/stream` query.
#[derive(Debug, Deserialize)]
pub(super) struct StreamQuery {
    #[serde(default)]
    ticket: String,
}

/// `GET /api/recordings/{id}/stream?ticket=`: the WAV, with ranges.
pub(super) async fn stream(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Query(q): Query<StreamQuery>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let user = state
        .play_tickets
        .check(&q.ticket, &id, Instant::now())
        .ok_or(ApiError::Unauthenticated)?;
    super::calls::serve_recording(&state, &user, &id, &headers).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_ticket_plays_one_recording_until_it_expires() {
        let tickets = PlayTickets::default();
        let now = Instant::now();
        let t = tickets.issue("abc123", "9001", now);
        assert_eq!(t.len(), 32);
        assert_eq!(tickets.check(&t, "abc123", now).as_deref(), Some("9001"));
        assert_eq!(tickets.check(&t, "other", now), None, "one recording only");
        assert_eq!(tickets.check("nonsense", "abc123", now), None);
        let later = now + TICKET_TTL;
        assert_eq!(tickets.check(&t, "abc123", later), None, "expired");
        let t2 = tickets.issue("abc123", "9001", now);
        assert_ne!(t, t2);
    }
}
