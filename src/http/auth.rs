//! Bearer-token sessions for the JSON API.
//!
//! `POST /api/login` checks an agent's or supervisor's id and password from the
//! configuration (constant-time comparison; unknown user and wrong password give
//! the same answer), and returns a random 256-bit token that expires after
//! `[http] token_ttl_s`. Repeated failures from one address lock that address out
//! for a while, as the SIP registrar does. Tokens live in memory: a restart signs
//! everyone out, which is acceptable for seats that log in at shift start.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime};

use axum::body::to_bytes;
use axum::extract::{FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::Json;
use rand::RngCore;
use serde::{Deserialize, Serialize};
use subtle::ConstantTimeEq;

use super::error::ApiError;
use super::{client_ip, rfc3339, AppState};

/// Failed log-ins per address before a lock-out, within `FAILURE_WINDOW`.
const MAX_FAILURES: u32 = 10;
const FAILURE_WINDOW: Duration = Duration::from_secs(60);
const LOCKOUT: Duration = Duration::from_secs(300);
/// Bound on the tables, so a flood of addresses cannot grow memory without limit.
const MAX_TRACKED: usize = 100_000;

/// The signed-in user behind a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    pub user: String,
    pub role: String,
}

#[derive(Debug)]
struct Session {
    principal: Principal,
    expires: Instant,
}

#[derive(Debug, Default)]
struct Failures {
    count: u32,
    window_start: Option<Instant>,
    locked_until: Option<Instant>,
}

/// Live sessions and the log-in failure table.
#[derive(Debug)]
pub struct SessionStore {
    ttl: Duration,
    sessions: Mutex<HashMap<String, Session>>,
    failures: Mutex<HashMap<IpAddr, Failures>>,
}

impl SessionStore {
    pub fn new(ttl: Duration) -> Self {
        Self {
            ttl,
            sessions: Mutex::new(HashMap::new()),
            failures: Mutex::new(HashMap::new()),
        }
    }

    /// Opens a session and returns its token and expiry.
    pub fn open(&self, principal: Principal, now: Instant) -> (String, Instant) {
        let mut raw = [0u8; 32];
        rand::thread_rng().fill_bytes(&mut raw);
        let token = hex::encode(raw);
        let expires = now + self.ttl;
        let mut s = self.sessions.lock().unwrap_or_else(|p| p.into_inner());
        s.retain(|_, v| v.expires > now);
        s.insert(token.clone(), Session { principal, expires });
        (token, expires)
    }

    /// The principal of a live token.
    pub fn check(&self, token: &str, now: Instant) -> Option<Principal> {
        let s = self.sessions.lock().unwrap_or_else(|p| p.into_inner());
        s.get(token)
            .filter(|sess| sess.expires > now)
            .map(|sess| sess.principal.clone())
    }

    fn locked(&self, ip: IpAddr, now: Instant) -> bool {
        let f = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        f.get(&ip)
            .and_then(|x| x.locked_until)
            .is_some_and(|until| until > now)
    }

    /// Records a failure; true when this one started a lock-out.
    fn fail(&self, ip: IpAddr, now: Instant) -> bool {
        let mut f = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        if f.len() >= MAX_TRACKED && !f.contains_key(&ip) {
            f.retain(|_, x| x.locked_until.is_some_and(|u| u > now));
        }
        let e = f.entry(ip).or_default();
        if e.window_start
            .is_none_or(|s| now.duration_since(s) > FAILURE_WINDOW)
        {
            e.window_start = Some(now);
            e.count = 0;
        }
        e.count += 1;
        if e.count >= MAX_FAILURES {
            e.locked_until = Some(now + LOCKOUT);
            e.count = 0;
            e.window_start = None;
            return true;
        }
        false
    }

    fn succeed(&self, ip: IpAddr) {
        let mut f = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        f.remove(&ip);
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct LoginRequest {
    username: String,
    password: String,
}

#[derive(Debug, Serialize)]
pub(super) struct LoginResponse {
    token: String,
    role: String,
    #[serde(with = "rfc3339")]
    expires_at: SystemTime,
}

/// `POST /api/login`.
pub(super) async fn login(
    State(state): State<AppState>,
    req: Request,
) -> Result<Json<LoginResponse>, ApiError> {
    let ip = client_ip(&req).unwrap_or(IpAddr::from([127, 0, 0, 1]));
    let now = Instant::now();
    if state.sessions.locked(ip, now) {
        state
            .metrics
            .inc("hotline_http_logins_total", "outcome=\"locked_out\"");
        return Err(ApiError::TooManyAttempts);
    }
    let body = to_bytes(req.into_body(), 16 * 1024)
        .await
        .map_err(|_| ApiError::BadRequest("request body too large or unreadable".into()))?;
    let creds: LoginRequest = serde_json::from_slice(&body).map_err(|e| {
        ApiError::BadRequest(format!(
            "expected {{\"username\": \"...\", \"password\": \"...\"}}: {e}"
        ))
    })?;

    // Compare against every account's password so unknown users cost the same.
    let mut found: Option<Principal> = None;
    for agent in &state.config.agents {
        let user_ok = agent.id.as_bytes().ct_eq(creds.username.as_bytes());
        let pass_ok = agent.password.as_bytes().ct_eq(creds.password.as_bytes());
        if bool::from(user_ok & pass_ok) {
            found = Some(Principal {
                user: agent.id.clone(),
                role: agent.role.to_string(),
            });
        }
    }
    let Some(principal) = found else {
        state
            .metrics
            .inc("hotline_http_logins_total", "outcome=\"failed\"");
        if state.sessions.fail(ip, now) {
            tracing::warn!(%ip, "HTTP log-in locked out after repeated failures");
        }
        return Err(ApiError::BadCredentials);
    };
    state.sessions.succeed(ip);
    state
        .metrics
        .inc("hotline_http_logins_total", "outcome=\"ok\"");
    let role = principal.role.clone();
    let (token, expires) = state.sessions.open(principal, now);
    let expires_at = SystemTime::now() + expires.duration_since(now);
    let resp = LoginResponse {
        token,
        role,
        expires_at,
    };
    Ok(Json(resp))
}

impl FromRequestParts<AppState> for Principal {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let header = parts
            .headers
            .get(axum::http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .ok_or(ApiError::Unauthenticated)?;
        let token = header
            .strip_prefix("Bearer ")
            .or_else(|| header.strip_prefix("bearer "))
            .ok_or(ApiError::Unauthenticated)?;
        state
            .sessions
            .check(token.trim(), Instant::now())
            .ok_or(ApiError::Unauthenticated)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lockout_after_repeated_failures_then_expires() {
        let store = SessionStore::new(Duration::from_secs(60));
        let ip = IpAddr::from([127, 0, 0, 9]);
        let t0 = Instant::now();
        for i in 0..MAX_FAILURES - 1 {
            assert!(!store.fail(ip, t0 + Duration::from_millis(u64::from(i))));
        }
        assert!(!store.locked(ip, t0));
        assert!(store.fail(ip, t0 + Duration::from_secs(1)));
        assert!(store.locked(ip, t0 + Duration::from_secs(2)));
        assert!(!store.locked(ip, t0 + LOCKOUT + Duration::from_secs(2)));
    }

    #[test]
    fn failures_outside_the_window_do_not_add_up() {
        let store = SessionStore::new(Duration::from_secs(60));
        let ip = IpAddr::from([127, 0, 0, 9]);
        let t0 = Instant::now();
        for i in 0..(MAX_FAILURES * 3) {
            let t = t0 + FAILURE_WINDOW * 2 * i;
            assert!(!store.fail(ip, t), "failure {i} locked out");
        }
    }

    #[test]
    fn tokens_expire() {
        let store = SessionStore::new(Duration::from_secs(60));
        let t0 = Instant::now();
        let p = Principal {
            user: "1001".into(),
            role: "agent".into(),
        };
        let (token, _) = store.open(p.clone(), t0);
        assert_eq!(token.len(), 64);
        assert_eq!(store.check(&token, t0 + Duration::from_secs(59)), Some(p));
        assert_eq!(store.check(&token, t0 + Duration::from_secs(61)), None);
        assert_eq!(store.check("nope", t0), None);
    }
}
