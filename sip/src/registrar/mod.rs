//! The agents' registrar (RFC 3261 §10.3), with digest authentication and a
//! brute-force lock-out. Sans-IO: the caller passes `now` and the request's source
//! and gets the full response back.
//!
//! # Run loop
//!
//! ```text
//! REGISTER ──► handle_register(now, source, &req) ──► Response (send it)
//!              then drain poll_event() (Registered / Unregistered / AuthFailed / LockedOut)
//! timer    ──► handle_timeout(now) at poll_timeout(): bindings expire, nonces and
//!              stale failure counters are swept; drain poll_event() again
//! ```
//!
//! # What a REGISTER goes through (the numbers are RFC 3261 §10.3 steps)
//!
//! 0. An address that is locked out gets `403` before anything is parsed.
//! 1. Step 1 (Request-URI domain) is not checked: this server serves one domain
//!    and the digest realm names it; step 2 (`Require`) is the endpoint's job.
//! 2. Step 3, authentication: [`DigestAuthenticator`] with `WWW-Authenticate`. No
//!    or foreign credentials → `401` (not a failure); wrong credentials → `401`, an
//!    `AuthFailed` event and a failure counted against the source address, which
//!    may lock it out (`403`, one `LockedOut` event); unusable credentials → `400`.
//! 3. Steps 5 and 6, authorization: an agent may only register its own AOR. When
//!    the To user is not the authenticated user we answer **403** (step 5 "MUST
//!    return 403"), not 404 (step 6, "AOR not valid for the domain"): 404 would tell
//!    an authenticated agent which other AORs exist.
//! 4. Step 6, Contact: none → a query (200 listing the bindings); `*` is allowed
//!    only alone and with `Expires: 0`, else `400`.
//! 5. Step 7, per contact: its `expires` parameter, else the `Expires` header, else
//!    `default_expires`; 0 removes; a non-zero value below `min_expires` fails the
//!    whole request with `423` and `Min-Expires`; above `max_expires` it is
//!    shortened. A binding whose stored Call-ID equals the request's and whose CSeq
//!    is not lower is out of order: the request fails with `500` and changes
//!    nothing (steps 6 and 7: all updates or none). A user's contacts are capped
//!    ([`RegistrarLimits::max_contacts_per_user`], else `403`).
//! 6. Step 8: `200` with one `Contact: <uri>;expires=N` per live binding.
//!
//! Every response built here carries a To tag (§8.2.6.2).
//!
//! # Other requests
//!
//! [`Registrar::authenticate`] runs steps 0 and 2 for any request (INVITEs between
//! agents), sharing nonces, accounts and the lock-out with registration.

mod bindings;
mod deadlines;
mod lockout;

use std::collections::VecDeque;
use std::net::IpAddr;
use std::time::{Duration, Instant};

use rand::RngCore;

use crate::digest::{AuthOutcome, ChallengeKind, ChallengeReason, DigestAuthenticator};
use crate::message::{ByteStr, ContactValue, HeaderName, Request, Response};
use crate::net::Remote;

pub use crate::digest::Account;

use bindings::{BindingTable, Change, Origin, Plan, Refused};
use lockout::FailureGuard;

/// Registrar settings. Expiry values are SIP delta-seconds, as on the wire.
#[derive(Debug, Clone)]
pub struct RegistrarConfig {
    /// The digest realm, usually the SIP domain. Part of every stored HA1.
    pub realm: String,
    /// Shorter non-zero requests get `423 Interval Too Brief`.
    pub min_expires: u32,
    /// Longer requests are shortened to this.
    pub max_expires: u32,
    /// Used when a contact names no expiry.
    pub default_expires: u32,
    /// How long an issued nonce stays valid.
    pub nonce_ttl: Duration,
    /// Failed authentications within `failure_window` that lock a source address
    /// out. 0 disables the lock-out.
    pub max_failures: u32,
    pub failure_window: Duration,
    /// How long a locked-out address gets `403`.
    pub lockout: Duration,
    pub accounts: Vec<Account>,
}

impl RegistrarConfig {
    /// Every inconsistency, for a config loader to report. [`Registrar::new`]
    /// does not fail: it normalizes (see there).
    pub fn validate(&self) -> Result<(), Vec<String>> {
        let mut errors = Vec::new();
        if self.realm.is_empty() {
            errors.push("realm: must not be empty".to_owned());
        }
        if self.max_expires == 0 {
            errors.push("max_expires: must be positive".to_owned());
        }
        if self.min_expires > self.max_expires {
            errors.push("min_expires: must not exceed max_expires".to_owned());
        }
        if self.default_expires < self.min_expires || self.default_expires > self.max_expires {
            errors.push("default_expires: must lie within min_expires..=max_expires".to_owned());
        }
        if self.nonce_ttl.is_zero() {
            errors.push("nonce_ttl: must be positive".to_owned());
        }
        let mut users: Vec<&str> = self.accounts.iter().map(|a| a.user.as_str()).collect();
        users.sort_unstable();
        for pair in users.windows(2) {
            if pair[0] == pair[1] {
                errors.push(format!("accounts: user {:?} appears twice", pair[0]));
            }
        }
        if self.accounts.iter().any(|a| a.user.is_empty()) {
            errors.push("accounts: empty user name".to_owned());
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(errors)
        }
    }
}

/// Memory bounds. The defaults suit a hotline of a few hundred agents.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RegistrarLimits {
    /// Contacts one agent may register (a desk phone, a softphone, a spare...).
    pub max_contacts_per_user: usize,
    /// Source addresses tracked by the lock-out.
    pub max_tracked_sources: usize,
    /// Outstanding nonces.
    pub max_nonces: usize,
}

impl Default for RegistrarLimits {
    fn default() -> Self {
        Self {
            max_contacts_per_user: 10,
            max_tracked_sources: 10_000,
            max_nonces: DigestAuthenticator::DEFAULT_MAX_NONCES,
        }
    }
}

/// Why a binding went away.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UnregisterReason {
    /// Not refreshed in time.
    Expired,
    /// Removed by the phone (`expires=0` or `Contact: *`).
    Removed,
}

/// Things the owner may log or count. Drain with [`Registrar::poll_event`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RegistrarEvent {
    /// A new binding (refreshes of an existing one are silent).
    Registered { user: String, contact: String },
    Unregistered {
        user: String,
        contact: String,
        reason: UnregisterReason,
    },
    /// Wrong credentials (unknown user or wrong password). `user` is the claimed
    /// username.
    AuthFailed { source: IpAddr, user: String },
    /// `source` reached the failure limit and gets `403` for the lock-out period.
    LockedOut { source: IpAddr },
}

/// A live binding, for the API and for routing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BindingView {
    pub user: String,
    /// The Contact URI exactly as the phone registered it.
    pub contact: String,
    /// Where the last REGISTER for this binding came from (transport and address):
    /// the place to send requests to a phone behind NAT.
    pub source: Remote,
    pub expires_at: Instant,
    pub call_id: String,
}

/// Normalized expiry settings.
#[derive(Debug, Clone, Copy)]
struct Expiry {
    min: u32,
    max: u32,
    default: u32,
}

/// The registrar: accounts, bindings, lock-out. See the [module docs](self).
#[derive(Debug)]
pub struct Registrar {
    expiry: Expiry,
    limits: RegistrarLimits,
    auth: DigestAuthenticator,
    bindings: BindingTable,
    guard: FailureGuard,
    events: VecDeque<RegistrarEvent>,
}

impl Registrar {
    /// Builds the registrar; passwords are hashed here and dropped with `config`.
    /// `rng` makes nonces and tags: pass a seeded RNG in tests.
    ///
    /// Inconsistent settings are normalized rather than refused ([`RegistrarConfig::validate`]
    /// reports them): `max_expires` is raised to `min_expires` (and to at least 1),
    /// `default_expires` is clamped into `max(min_expires, 1)..=max_expires`; if a
    /// user appears twice, the last account wins.
    pub fn new(config: RegistrarConfig, rng: impl RngCore + Send + 'static) -> Self {
        if let Err(errors) = config.validate() {
            tracing::warn!(?errors, "registrar settings normalized");
        }
        let max = config.max_expires.max(config.min_expires).max(1);
        let default = config
            .default_expires
            .clamp(config.min_expires.clamp(1, max), max);
        let limits = RegistrarLimits::default();
        Self {
            expiry: Expiry {
                min: config.min_expires,
                max,
                default,
            },
            limits,
            auth: DigestAuthenticator::new(config.realm, config.nonce_ttl, config.accounts, rng)
                .with_max_nonces(limits.max_nonces),
            bindings: BindingTable::default(),
            guard: FailureGuard::new(
                config.max_failures,
                config.failure_window,
                config.lockout,
                limits.max_tracked_sources,
            ),
            events: VecDeque::new(),
        }
    }

    /// Replaces the memory bounds (before use: existing state is kept as is).
    pub fn with_limits(mut self, limits: RegistrarLimits) -> Self {
        self.limits = limits;
        self.auth = self.auth.with_max_nonces(limits.max_nonces);
        self.guard.set_max_sources(limits.max_tracked_sources);
        self
    }

    /// Offers only these digest algorithms, in this order (see
    /// [`DigestAuthenticator::with_algorithms`]).
    pub fn with_algorithms(mut self, algorithms: &[crate::digest::Algorithm]) -> Self {
        self.auth = self.auth.with_algorithms(algorithms);
        self
    }

    /// Answers a REGISTER (RFC 3261 §10.3). Drain [`Self::poll_event`] afterwards.
    pub fn handle_register(&mut self, now: Instant, source: Remote, req: &Request) -> Response {
        // Bring the state to `now` first, so a binding that expired before this
        // request is reported as expired rather than silently refreshed.
        self.handle_timeout(now);
        let user = match self.authenticate(now, source, req) {
            Ok(user) => user,
            Err(response) => return response,
        };
        match self.register(now, source, req, &user) {
            Ok(response) => response,
            Err(refusal) => self.refuse(req, refusal),
        }
    }

    /// Authenticates any request with the registrar's accounts (steps 0 and 2 of
    /// the module docs). `Ok(user)`, or the response to send instead (401, 400, or
    /// 403 while the source is locked out). Emits `AuthFailed` / `LockedOut`.
    pub fn authenticate(
        &mut self,
        now: Instant,
        source: Remote,
        req: &Request,
    ) -> Result<String, Response> {
        let ip = source.addr.ip();
        if self.guard.is_locked(now, ip) {
            return Err(self.respond(req, 403, Some("Too Many Failed Attempts")));
        }
        match self.auth.verify(now, req, ChallengeKind::Www) {
            AuthOutcome::Verified { user, .. } => Ok(user),
            AuthOutcome::Challenge { stale, reason } => {
                if let ChallengeReason::BadCredentials { user } = &reason {
                    self.events.push_back(RegistrarEvent::AuthFailed {
                        source: ip,
                        user: user.clone(),
                    });
                    if self.guard.record_failure(now, ip) {
                        self.events
                            .push_back(RegistrarEvent::LockedOut { source: ip });
                        return Err(self.respond(req, 403, Some("Too Many Failed Attempts")));
                    }
                } else {
                    tracing::debug!(?stale, kind = reason_kind(&reason), "digest challenge");
                }
                Err(self
                    .auth
                    .challenge_response(now, req, stale, ChallengeKind::Www))
            }
            AuthOutcome::Malformed { reason } => Err(self.respond(req, 400, Some(reason))),
        }
    }

    /// Steps 5–8 for an authenticated `user`.
    fn register(
        &mut self,
        now: Instant,
        source: Remote,
        req: &Request,
        user: &str,
    ) -> Result<Response, Refusal> {
        let to = req
            .headers
            .to_addr()
            .map_err(|_| Refusal::BadRequest("Malformed To"))?;
        if to.uri.user().map(percent_decode).as_deref() != Some(user) {
            return Err(Refusal::NotYourAor);
        }
        let call_id = req
            .headers
            .call_id()
            .map_err(|_| Refusal::BadRequest("Malformed Call-ID"))?;
        let cseq = req
            .headers
            .cseq()
            .map_err(|_| Refusal::BadRequest("Malformed CSeq"))?;
        let contacts = req
            .headers
            .contacts()
            .map_err(|_| Refusal::BadRequest("Malformed Contact"))?;
        let header_expires = req
            .headers
            .expires()
            .map_err(|_| Refusal::BadRequest("Malformed Expires"))?;

        if !contacts.is_empty() {
            let plan = self.plan(&contacts, header_expires)?;
            let origin = Origin {
                call_id: call_id.as_str(),
                cseq: cseq.seq,
                source,
            };
            let changes = self
                .bindings
                .apply(now, user, &origin, &plan, self.limits.max_contacts_per_user)
                .map_err(Refusal::Bindings)?;
            for change in changes {
                self.events.push_back(match change {
                    Change::Added(contact) => RegistrarEvent::Registered {
                        user: user.to_owned(),
                        contact,
                    },
                    Change::Removed(contact) => RegistrarEvent::Unregistered {
                        user: user.to_owned(),
                        contact,
                        reason: UnregisterReason::Removed,
                    },
                });
            }
        }

        let mut response = self.respond(req, 200, None);
        for b in self.bindings.live(now, user) {
            let left = b.expires_at.saturating_duration_since(now);
            // Round up: a live binding never shows `expires=0`.
            let secs = left.as_secs() + u64::from(left.subsec_nanos() > 0);
            response.headers.push(
                HeaderName::Contact,
                format!("<{}>;expires={secs}", b.contact),
            );
        }
        Ok(response)
    }

    /// Turns the Contact values into a plan (step 6 and the expiry part of step 7).
    fn plan(
        &self,
        contacts: &[ContactValue],
        header_expires: Option<u32>,
    ) -> Result<Plan, Refusal> {
        if contacts.iter().any(|c| matches!(c, ContactValue::Star)) {
            // RFC 3261 §10.2.2 / §10.3 step 6: `*` only alone and with Expires: 0.
            if contacts.len() != 1 || header_expires != Some(0) {
                return Err(Refusal::BadRequest("Invalid Wildcard Contact"));
            }
            return Ok(Plan::RemoveAll);
        }
        let mut updates = Vec::with_capacity(contacts.len());
        for c in contacts {
            let ContactValue::Addr(addr) = c else {
                continue;
            };
            if !addr.uri.is_sip() {
                // We route calls to bindings; only sip:/sips: can be dialled.
                return Err(Refusal::BadRequest("Unsupported Contact URI Scheme"));
            }
            let requested = c
                .expires()
                .or(header_expires)
                .unwrap_or(self.expiry.default);
            if requested != 0 && requested < self.expiry.min {
                return Err(Refusal::TooBrief);
            }
            updates.push((addr.uri.as_str().to_owned(), requested.min(self.expiry.max)));
        }
        Ok(Plan::Update(updates))
    }

    fn refuse(&mut self, req: &Request, refusal: Refusal) -> Response {
        match refusal {
            Refusal::BadRequest(reason) => self.respond(req, 400, Some(reason)),
            Refusal::NotYourAor => self.respond(req, 403, Some("Not Your Address-of-Record")),
            Refusal::TooBrief => {
                let mut r = self.respond(req, 423, None);
                r.headers
                    .push(HeaderName::MinExpires, self.expiry.min.to_string());
                r
            }
            Refusal::Bindings(Refused::OutOfOrder) => {
                self.respond(req, 500, Some("Out-of-Order CSeq"))
            }
            Refusal::Bindings(Refused::TooManyContacts) => {
                self.respond(req, 403, Some("Too Many Contacts"))
            }
        }
    }

    /// A response with a To tag and, if given, a specific reason phrase.
    fn respond(&mut self, req: &Request, status: u16, reason: Option<&str>) -> Response {
        let mut r = Response::for_request(req, status);
        if let Some(reason) = reason {
            r.reason = ByteStr::from(reason);
        }
        self.auth.tag_response(&mut r);
        r
    }

    /// Expires bindings due at or before `now` (each reported as `Unregistered {
    /// reason: Expired }`), sweeps nonces and old failure counters.
    pub fn handle_timeout(&mut self, now: Instant) {
        while let Some((user, contact)) = self.bindings.pop_expired(now) {
            self.events.push_back(RegistrarEvent::Unregistered {
                user,
                contact,
                reason: UnregisterReason::Expired,
            });
        }
        self.guard.handle_timeout(now);
        self.auth.handle_timeout(now);
    }

    /// When [`Self::handle_timeout`] should run next.
    #[must_use]
    pub fn poll_timeout(&self) -> Option<Instant> {
        [
            self.bindings.next_deadline(),
            self.guard.next_deadline(),
            self.auth.poll_timeout(),
        ]
        .into_iter()
        .flatten()
        .min()
    }

    /// The next event; call until `None` after every input.
    #[must_use]
    pub fn poll_event(&mut self) -> Option<RegistrarEvent> {
        self.events.pop_front()
    }

    /// Every binding live at `now`, ordered by user, then registration order.
    pub fn bindings(&self, now: Instant) -> Vec<BindingView> {
        self.bindings
            .users()
            .flat_map(|u| self.contacts_of(now, u))
            .collect()
    }

    /// The first user, in user id order, that has a binding live at `now`
    /// and that `accept` takes, with that user's first live binding (the one
    /// [`Registrar::contacts_of`] lists first). Walks the table in place:
    /// nothing is copied but the binding returned, so routing a call costs
    /// no more than the users it skips.
    pub fn first_live_user(
        &self,
        now: Instant,
        mut accept: impl FnMut(&str) -> bool,
    ) -> Option<BindingView> {
        self.bindings
            .first_live_per_user(now)
            .find(|(user, _)| accept(user))
            .map(|(user, b)| BindingView {
                user: user.to_owned(),
                contact: b.contact.clone(),
                source: b.source,
                expires_at: b.expires_at,
                call_id: b.call_id.clone(),
            })
    }

    /// The bindings of `user` live at `now`, in registration order.
    pub fn contacts_of(&self, now: Instant, user: &str) -> Vec<BindingView> {
        self.bindings
            .live(now, user)
            .map(|b| BindingView {
                user: user.to_owned(),
                contact: b.contact.clone(),
                source: b.source,
                expires_at: b.expires_at,
                call_id: b.call_id.clone(),
            })
            .collect()
    }

    /// The shared authenticator (accounts and nonces), e.g. to challenge with 407.
    pub fn authenticator_mut(&mut self) -> &mut DigestAuthenticator {
        &mut self.auth
    }

    pub fn authenticator(&self) -> &DigestAuthenticator {
        &self.auth
    }
}

/// Why an authenticated REGISTER is refused.
#[derive(Debug)]
enum Refusal {
    BadRequest(&'static str),
    NotYourAor,
    TooBrief,
    Bindings(Refused),
}

fn reason_kind(reason: &ChallengeReason) -> &'static str {
    match reason {
        ChallengeReason::NoCredentials => "no credentials",
        ChallengeReason::BadCredentials { .. } => "bad credentials",
        ChallengeReason::StaleNonce { .. } => "stale nonce",
        ChallengeReason::Replay { .. } => "replayed nonce count",
    }
}

/// Resolves `%XX` escapes of a URI user part (RFC 3261 §19.1.4 compares users
/// after unescaping). Invalid escapes stay as written.
fn percent_decode(s: &str) -> String {
    if !s.contains('%') {
        return s.to_owned();
    }
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            if let Some(&[hi, lo]) = bytes.get(i + 1..i + 3) {
                if let (Some(hi), Some(lo)) = (hex_value(hi), hex_value(lo)) {
                    out.push(hi << 4 | lo);
                    i += 3;
                    continue;
                }
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn hex_value(b: u8) -> Option<u8> {
    char::from(b)
        .to_digit(16)
        .and_then(|d| u8::try_from(d).ok())
}

#[cfg(test)]
mod tests;
