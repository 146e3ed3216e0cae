//! Bearer-token sessions for the JSON API.
//!
//! `POST /api/login` checks a seat's (agent, supervisor) id and password from the
//! configuration, or a unit user's or administrator's from the database, against
//! Argon2id hashes (unknown user and wrong password give the same answer after
//! the same work), and returns a random 256-bit token that expires after
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

use super::error::{parse_json, ApiError};
use super::{client_ip, rfc3339, AppState};
use hotline_ticketing::store::UserRole;

/// Failed log-ins per address before a lock-out, within `FAILURE_WINDOW`.
const MAX_FAILURES: u32 = 10;
const FAILURE_WINDOW: Duration = Duration::from_secs(60);
const LOCKOUT: Duration = Duration::from_secs(300);
/// Bound on the tables, so a flood of addresses cannot grow memory without limit.
const MAX_TRACKED: usize = 100_000;

/// What a signed-in user may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// A seat: takes calls, writes and dispatches orders.
    Agent,
    /// A seat that also supervises: recordings, approvals, supervision.
    Supervisor,
    /// Staff of a handling unit (bound to one unit).
    Unit,
    /// Manages users, units and the knowledge base.
    Admin,
}

impl Role {
    /// The name in the API.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Agent => "agent",
            Role::Supervisor => "supervisor",
            Role::Unit => "unit",
            Role::Admin => "admin",
        }
    }
}

/// The signed-in user behind a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    pub user: String,
    pub role: Role,
    /// The unit of a [`Role::Unit`] user.
    pub unit: Option<String>,
}

impl Principal {
    /// 403 unless the user has one of `roles`.
    pub fn require(&self, roles: &[Role], what: &str) -> Result<(), ApiError> {
        if roles.contains(&self.role) {
            Ok(())
        } else {
            let names: Vec<&str> = roles.iter().map(|r| r.as_str()).collect();
            Err(ApiError::Forbidden(format!(
                "{what} is for {} users",
                names.join(" or ")
            )))
        }
    }
}

impl Principal {
    /// The audit-log entry for a change this user makes now from `ip`.
    pub fn audit(&self, ip: Option<IpAddr>) -> hotline_ticketing::store::AuditEntry {
        let now = time::OffsetDateTime::now_utc();
        hotline_ticketing::store::AuditEntry {
            actor: self.user.clone(),
            actor_role: self.role.as_str().to_owned(),
            client_ip: ip.map(|i| i.to_string()),
            at_ms: i64::try_from(now.unix_timestamp_nanos() / 1_000_000).unwrap_or(i64::MAX),
        }
    }
}

/// A seat's HTTP password: a configured Argon2 hash, or the plaintext SIP
/// password, hashed the first time the seat logs in (hashing every seat at
/// start would cost about 50 ms each: over a minute for a thousand seats).
#[derive(Debug)]
enum Secret {
    Hashed(String),
    Plain {
        password: String,
        hash: std::sync::OnceLock<String>,
    },
}

impl Secret {
    /// The PHC string to verify against (empty, so never matching, if
    /// hashing failed).
    fn phc(&self) -> &str {
        match self {
            Secret::Hashed(h) => h,
            Secret::Plain { password, hash } => {
                hash.get_or_init(|| passwords::hash(password).unwrap_or_default())
            }
        }
    }
}

/// Password hashes of the configured seats.
#[derive(Debug)]
pub struct Credentials {
    seats: HashMap<String, (Secret, Role)>,
    /// Verified when the user is unknown, so that costs the same.
    dummy: String,
}

impl Credentials {
    /// Hashes (or takes the configured hash of) every seat's HTTP password.
    /// Seats without `password_hash` get their plaintext hashed here, with a
    /// warning that the file holds it in clear.
    ///
    /// # Errors
    /// A `password_hash` that does not parse, with its key path.
    pub fn from_config(config: &hotline_config::Config) -> Result<Credentials, String> {
        let mut seats = HashMap::new();
        let mut plain = Vec::new();
        for (i, a) in config.agents.iter().enumerate() {
            let hash = if a.password_hash.is_empty() {
                plain.push(a.id.as_str());
                Secret::Plain {
                    password: a.password.clone(),
                    hash: std::sync::OnceLock::new(),
                }
            } else {
                passwords::check_phc(&a.password_hash)
                    .map_err(|e| format!("agents[{i}].password_hash: {e}"))?;
                Secret::Hashed(a.password_hash.clone())
            };
            let role = match a.role {
                hotline_config::Role::Agent => Role::Agent,
                hotline_config::Role::Supervisor => Role::Supervisor,
            };
            seats.insert(a.id.clone(), (hash, role));
        }
        if !plain.is_empty() {
            tracing::warn!(
                seats = %plain.join(","),
                "HTTP log-in of these seats uses their plaintext SIP password from the config \
                 (hashed in memory at the first log-in); set agents[].password_hash to keep web \
                 passwords out of the file"
            );
        }
        let dummy = passwords::hash("no such user").map_err(|e| e.to_string())?;
        Ok(Credentials { seats, dummy })
    }

    fn seat(&self, id: &str) -> Option<(&str, Principal)> {
        self.seats.get(id).map(|(secret, role)| {
            (
                secret.phc(),
                Principal {
                    user: id.to_owned(),
                    role: *role,
                    unit: None,
                },
            )
        })
    }
}

/// Argon2id hashing and verification (PHC strings).
pub mod passwords {
    use argon2::password_hash::rand_core::OsRng;
    use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
    use argon2::Argon2;

    /// Hashes a password with Argon2id and a random salt.
    ///
    /// # Errors
    /// Only if the parameters are unusable (never with the defaults).
    pub fn hash(password: &str) -> Result<String, String> {
        let salt = SaltString::generate(&mut OsRng);
        Argon2::default()
            .hash_password(password.as_bytes(), &salt)
            .map(|h| h.to_string())
            .map_err(|e| e.to_string())
    }

    /// Whether `phc` parses as a password hash.
    ///
    /// # Errors
    /// The parse error.
    pub fn check_phc(phc: &str) -> Result<(), String> {
        PasswordHash::new(phc)
            .map(|_| ())
            .map_err(|e| e.to_string())
    }

    /// Whether `password` matches the PHC string (false for a malformed one).
    pub fn verify(password: &str, phc: &str) -> bool {
        PasswordHash::new(phc).is_ok_and(|h| {
            Argon2::default()
                .verify_password(password.as_bytes(), &h)
                .is_ok()
        })
    }
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
        self.session(token, now).map(|(principal, _)| principal)
    }

    /// The principal of a live token and when its session expires.
    pub fn session(&self, token: &str, now: Instant) -> Option<(Principal, Instant)> {
        let s = self.sessions.lock().unwrap_or_else(|p| p.into_inner());
        s.get(token)
            .filter(|sess| sess.expires > now)
            .map(|sess| (sess.principal.clone(), sess.expires))
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

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct LoginRequest {
    username: String,
    password: String,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(super) struct LoginResponse {
    token: String,
    /// `agent`, `supervisor`, `unit` or `admin`.
    role: String,
    /// The unit of a unit user.
    #[serde(skip_serializing_if = "Option::is_none")]
    unit: Option<String>,
    #[serde(with = "rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    expires_at: SystemTime,
}

/// Log in: a configured seat (agent, supervisor) or a database user (unit,
/// admin). Unknown users and wrong passwords get the same answer, after the
/// same work (a hash is verified either way).
#[utoipa::path(post, path = "/api/login", tag = "auth", request_body = LoginRequest,
    responses((status = 200, body = LoginResponse),
        (status = 400, body = super::error::ErrorBody), (status = 401, body = super::error::ErrorBody),
        (status = 429, body = super::error::ErrorBody)))]
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
        .map_err(|_| ApiError::bad_request("request body too large or unreadable"))?;
    let creds: LoginRequest = parse_json(&body)?;

    let candidate = match state.credentials.seat(&creds.username) {
        Some((hash, principal)) => Some((hash.to_owned(), principal)),
        None => state
            .tickets
            .user(&creds.username)
            .await
            .map_err(|e| ApiError::internal("reading users", e))?
            .filter(|u| !u.disabled)
            .map(|u| {
                let principal = Principal {
                    user: u.id,
                    role: match u.role {
                        UserRole::Unit => Role::Unit,
                        UserRole::Admin => Role::Admin,
                    },
                    unit: u.unit_id,
                };
                (u.password_hash, principal)
            }),
    };
    let hash = candidate
        .as_ref()
        .map_or_else(|| state.credentials.dummy.clone(), |(h, _)| h.clone());
    let password = creds.password;
    let verified = tokio::task::spawn_blocking(move || passwords::verify(&password, &hash))
        .await
        .map_err(|e| ApiError::internal("verifying a password", e))?;
    let found = candidate.filter(|_| verified).map(|(_, p)| p);
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
    let role = principal.role.as_str().to_owned();
    let unit = principal.unit.clone();
    let (token, expires) = state.sessions.open(principal, now);
    let expires_at = SystemTime::now() + expires.duration_since(now);
    Ok(Json(LoginResponse {
        token,
        role,
        unit,
        expires_at,
    }))
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
    fn a_plaintext_seat_is_hashed_at_its_first_log_in_and_verifies() {
        let mut config = hotline_config::Config::builtin_default();
        config.agents.truncate(2);
        let creds = Credentials::from_config(&config).expect("credentials");
        let Some((Secret::Plain { hash, .. }, _)) = creds.seats.get("1001") else {
            panic!("1001 has a plaintext password in the demo file");
        };
        assert!(hash.get().is_none(), "nothing hashed at start");
        let (phc, principal) = creds.seat("1001").expect("seat");
        assert!(phc.starts_with("$argon2id$"), "{phc}");
        assert_eq!(principal.role, Role::Agent);
        assert!(passwords::verify("demo-1001-change-me", phc));
        assert!(!passwords::verify("demo-1002-change-me", phc));
        // The same hash from then on.
        assert_eq!(
            creds.seat("1001").map(|(p, _)| p.to_owned()),
            Some(phc.to_owned())
        );
        assert!(creds.seat("7777").is_none());
    }

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
    fn passwords_hash_and_verify() {
        let h = passwords::hash("s3cret-pass").expect("hash");
        assert!(h.starts_with("$argon2id$"));
        assert!(passwords::verify("s3cret-pass", &h));
        assert!(!passwords::verify("s3cret-pasS", &h));
        assert!(!passwords::verify("s3cret-pass", "not a hash"));
        assert!(hotline_config::auth::check_password_hash(&h).is_ok());
        assert!(passwords::check_phc(&h).is_ok());
    }

    #[test]
    fn tokens_expire() {
        let store = SessionStore::new(Duration::from_secs(60));
        let t0 = Instant::now();
        let p = Principal {
            user: "1001".into(),
            role: Role::Agent,
            unit: None,
        };
        let (token, _) = store.open(p.clone(), t0);
        assert_eq!(token.len(), 64);
        assert_eq!(store.check(&token, t0 + Duration::from_secs(59)), Some(p));
        assert_eq!(store.check(&token, t0 + Duration::from_secs(61)), None);
        assert_eq!(store.check("nope", t0), None);
    }
}
