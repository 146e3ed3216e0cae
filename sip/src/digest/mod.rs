//! Digest authentication, server side: RFC 7616 (HTTP Digest, SHA-256), RFC 8760
//! (SHA-256 for SIP) and RFC 2617 / RFC 3261 §22 (MD5).
//!
//! # Flow
//!
//! 1. A request arrives without credentials for our realm. [`DigestAuthenticator::verify`]
//!    answers [`AuthOutcome::Challenge`] and the caller sends
//!    [`DigestAuthenticator::challenge_response`]: a 401 with **two**
//!    `WWW-Authenticate` headers sharing one fresh nonce, SHA-256 first and MD5
//!    second (RFC 7616 §3.7 and RFC 8760: the server lists algorithms in order of
//!    preference; old phones only know MD5 and pick the second one).
//! 2. The phone repeats the request with `Authorization: Digest ...`. We check, in
//!    an order chosen so that the hashing costs the same whatever the outcome: the
//!    parameters parse; the realm is ours (otherwise the header is for somebody else,
//!    RFC 3261 §22.4, and is ignored); the algorithm is one we offered; `qop=auth`;
//!    the `uri` matches the Request-URI (RFC 7616 §3.4.6, RFC 2617 §3.2.2.5: else
//!    400); then the response hash, compared in constant time; then the nonce is
//!    one we issued and still live; then the nonce-count is higher than any
//!    accepted for that nonce.
//! 3. The phone reuses the nonce with an incremented `nc` for its refreshes until
//!    it expires (`nonce_ttl`); then it gets a 401 with `stale=true` and re-hashes
//!    with the new nonce without asking its user again (RFC 7616 §3.3).
//!
//! # Decisions
//!
//! - **`qop=auth` is required.** RFC 7616 §3.3 makes servers send `qop`, and RFC 3261
//!   §22.4 says a client that receives `qop` in a challenge MUST send it back, so a
//!   qop-less answer to our challenge is a broken client, not merely an old one
//!   (every SIP phone since RFC 3261 supports it). Accepting the RFC 2069 form would
//!   also give up what qop buys: without `cnonce` and `nc` a captured request can be
//!   replayed verbatim while its nonce lives, and the server alone chooses the
//!   hashed text. A qop-less answer gets a 400 whose reason phrase says why.
//!   `auth-int` and the `-sess` algorithms are not offered, so answers using them
//!   are also a 400 (a 401 would only loop).
//! - **`stale=true`** is set when the nonce is unknown, expired or already used with
//!   that nonce-count *but the response is correct for that nonce*, i.e. the client
//!   knows the password (RFC 2617 §3.2.1); `stale=false` means "credentials invalid"
//!   and makes a phone ask its user again (RFC 7616 §3.3), so it is reserved for
//!   wrong credentials. Nothing about expired nonces needs remembering: we recompute
//!   the response with whatever nonce the client used.
//! - **Unknown user and wrong password are indistinguishable.** Both answer the same
//!   fresh challenge, and an unknown user is checked against a random dummy HA1 so
//!   the same hashing work is done. The remaining difference is one hash-map lookup.
//! - **Nonce-count** is only recorded once a request verified, so somebody who
//!   cannot compute responses cannot burn a legitimate phone's counter.
//! - Passwords are turned into per-algorithm HA1 values (`H(user:realm:password)`)
//!   at construction and not kept. (They are not zeroized: the crate forbids
//!   `unsafe` and does not depend on `zeroize`; the caller's config copy lives
//!   longer anyway.)
//! - Nonces are 128 random bits from the injected RNG, kept in a table bounded to
//!   [`DigestAuthenticator::DEFAULT_MAX_NONCES`] entries (oldest evicted: that phone
//!   just gets `stale=true` and re-hashes) and swept at expiry.
//! - `userhash` (RFC 7616 §3.4.4) is not offered; credentials using it are a 400.
//!
//! The module never reads a clock or an entropy source of its own: `now` and the RNG
//! are passed in (sans-IO, see `STYLE.md`).

mod client;
mod nonces;
mod params;

pub use client::{authorization, ChallengeError};

use std::collections::HashMap;
use std::time::{Duration, Instant};

use md5::Md5;
use rand::RngCore;
use sha2::Sha256;
use subtle::ConstantTimeEq;

use crate::message::{HeaderName, Request, Response};

use nonces::NonceTable;
use params::Credentials;

/// A hash algorithm we offer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Algorithm {
    /// RFC 2617 / RFC 3261; kept for old phones, offered second.
    Md5,
    /// RFC 7616 / RFC 8760; preferred.
    Sha256,
}

impl Algorithm {
    /// In order of preference (RFC 7616 §3.7).
    pub const OFFERED: [Algorithm; 2] = [Algorithm::Sha256, Algorithm::Md5];

    /// The `algorithm` parameter value.
    pub fn as_str(self) -> &'static str {
        match self {
            Algorithm::Md5 => "MD5",
            Algorithm::Sha256 => "SHA-256",
        }
    }

    /// Maps an `algorithm` value (case-insensitive); `None` for anything we do not
    /// offer, including the `-sess` variants.
    pub fn from_param(value: &str) -> Option<Algorithm> {
        if value.eq_ignore_ascii_case("MD5") {
            Some(Algorithm::Md5)
        } else if value.eq_ignore_ascii_case("SHA-256") {
            Some(Algorithm::Sha256)
        } else {
            None
        }
    }

    /// Length of the raw digest in bytes.
    fn output_len(self) -> usize {
        match self {
            Algorithm::Md5 => 16,
            Algorithm::Sha256 => 32,
        }
    }

    /// `H(parts joined by ':')`, raw bytes.
    fn hash(self, parts: &[&[u8]]) -> Vec<u8> {
        fn run<D: sha2::Digest>(parts: &[&[u8]]) -> Vec<u8> {
            let mut d = D::new();
            for (i, p) in parts.iter().enumerate() {
                if i > 0 {
                    d.update(b":");
                }
                d.update(p);
            }
            d.finalize().to_vec()
        }
        match self {
            Algorithm::Md5 => run::<Md5>(parts),
            Algorithm::Sha256 => run::<Sha256>(parts),
        }
    }

    /// `H(parts joined by ':')`, lower-case hex as the digest formulas use it.
    fn hash_hex(self, parts: &[&[u8]]) -> String {
        hex::encode(self.hash(parts))
    }
}

impl std::fmt::Display for Algorithm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// `HA1 = H(username ":" realm ":" password)` in lower-case hex (RFC 7616 §3.4.2).
pub fn ha1(algorithm: Algorithm, user: &str, realm: &str, password: &str) -> String {
    algorithm.hash_hex(&[user.as_bytes(), realm.as_bytes(), password.as_bytes()])
}

/// The `response` value (RFC 7616 §3.4.1, RFC 2617 §3.2.2.1), lower-case hex:
/// `KD(HA1, nonce:nc:cnonce:qop:HA2)` with `HA2 = H(method:uri)`, or the RFC 2069
/// form `KD(HA1, nonce:HA2)` when `qop_nc_cnonce` is `None`. Public so tests and a
/// future client side (trunk registration) compute responses the same way.
pub fn response(
    algorithm: Algorithm,
    ha1: &str,
    nonce: &str,
    qop_nc_cnonce: Option<(&str, &str, &str)>,
    method: &str,
    uri: &str,
) -> String {
    hex::encode(response_raw(
        algorithm,
        ha1,
        nonce,
        qop_nc_cnonce,
        method,
        uri,
    ))
}

fn response_raw(
    algorithm: Algorithm,
    ha1: &str,
    nonce: &str,
    qop_nc_cnonce: Option<(&str, &str, &str)>,
    method: &str,
    uri: &str,
) -> Vec<u8> {
    let ha2 = algorithm.hash_hex(&[method.as_bytes(), uri.as_bytes()]);
    match qop_nc_cnonce {
        Some((qop, nc, cnonce)) => algorithm.hash(&[
            ha1.as_bytes(),
            nonce.as_bytes(),
            nc.as_bytes(),
            cnonce.as_bytes(),
            qop.as_bytes(),
            ha2.as_bytes(),
        ]),
        None => algorithm.hash(&[ha1.as_bytes(), nonce.as_bytes(), ha2.as_bytes()]),
    }
}

/// A user and the password its phone is provisioned with.
#[derive(Clone, PartialEq, Eq)]
pub struct Account {
    pub user: String,
    pub password: String,
}

impl std::fmt::Debug for Account {
    // Never print the password (configs get logged).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Account")
            .field("user", &self.user)
            .field("password", &"<redacted>")
            .finish()
    }
}

/// Which header pair a challenge uses (RFC 3261 §22.2 and §22.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChallengeKind {
    /// A UAS or registrar: 401, `WWW-Authenticate` / `Authorization`.
    Www,
    /// A proxy: 407, `Proxy-Authenticate` / `Proxy-Authorization`.
    Proxy,
}

impl ChallengeKind {
    pub fn status(self) -> u16 {
        match self {
            ChallengeKind::Www => 401,
            ChallengeKind::Proxy => 407,
        }
    }
    /// The header carrying our challenge.
    pub fn challenge_header(self) -> HeaderName {
        match self {
            ChallengeKind::Www => HeaderName::WwwAuthenticate,
            ChallengeKind::Proxy => HeaderName::ProxyAuthenticate,
        }
    }
    /// The header carrying the client's credentials.
    pub fn credentials_header(self) -> HeaderName {
        match self {
            ChallengeKind::Www => HeaderName::Authorization,
            ChallengeKind::Proxy => HeaderName::ProxyAuthorization,
        }
    }
}

/// What to do with a request after looking at its credentials.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthOutcome {
    /// The credentials are valid: `user` sent this request.
    Verified { user: String, algorithm: Algorithm },
    /// Answer with a fresh challenge ([`DigestAuthenticator::challenge_response`]
    /// with this `stale`). `reason` is for the caller's bookkeeping only and must not
    /// change the response: see [`ChallengeReason`].
    Challenge {
        stale: bool,
        reason: ChallengeReason,
    },
    /// The credentials cannot be evaluated: answer 400 with `reason` as the phrase.
    Malformed { reason: &'static str },
}

/// Why a challenge is sent. The response is the same for all of them (except
/// `stale`), so an attacker learns nothing; the registrar uses this to count
/// failures for its brute-force lock-out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChallengeReason {
    /// No credentials for our realm: the normal first leg. Not a failure.
    NoCredentials,
    /// Unknown user or wrong password (deliberately not distinguished). `user` is
    /// the claimed username, for logs.
    BadCredentials { user: String },
    /// The response was right but the nonce is unknown or expired: `stale=true`.
    StaleNonce { user: String },
    /// The nonce-count was not higher than one already accepted for this nonce
    /// (the response itself was right): `stale=true`, so a confused phone retries
    /// with a fresh nonce, while a replaying attacker gains nothing.
    Replay { user: String },
}

impl ChallengeReason {
    /// True for a failed guess (what a brute-force counter should count).
    pub fn is_failure(&self) -> bool {
        matches!(self, ChallengeReason::BadCredentials { .. })
    }
}

/// Per-user precomputed HA1, one per algorithm we offer.
#[derive(Clone)]
struct UserHashes {
    md5: String,
    sha256: String,
}

impl UserHashes {
    fn new(user: &str, realm: &str, password: &str) -> Self {
        Self {
            md5: ha1(Algorithm::Md5, user, realm, password),
            sha256: ha1(Algorithm::Sha256, user, realm, password),
        }
    }
    fn get(&self, algorithm: Algorithm) -> &str {
        match algorithm {
            Algorithm::Md5 => &self.md5,
            Algorithm::Sha256 => &self.sha256,
        }
    }
}

/// Issues digest challenges and verifies credentials. Sans-IO: time and randomness
/// come from the caller. See the [module docs](self) for the flow.
pub struct DigestAuthenticator {
    realm: String,
    /// One `opaque` per authenticator instance. We keep nonce state ourselves, so
    /// opaque carries nothing; a mismatch (a phone that cached a challenge from
    /// before a restart) is handled like an unknown nonce.
    opaque: String,
    users: HashMap<String, UserHashes>,
    /// Random HA1 values checked for unknown users so they cost the same work.
    dummy: UserHashes,
    nonces: NonceTable,
    rng: Box<dyn RngCore + Send>,
    /// Offered in this order, one challenge each; answers with any other
    /// algorithm are refused.
    algorithms: Vec<Algorithm>,
}

impl std::fmt::Debug for DigestAuthenticator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DigestAuthenticator")
            .field("realm", &self.realm)
            .field("users", &self.users.len())
            .field("nonces", &self.nonces.len())
            .finish_non_exhaustive()
    }
}

impl DigestAuthenticator {
    /// Default bound on outstanding nonces.
    pub const DEFAULT_MAX_NONCES: usize = 100_000;

    /// `accounts`: if a user appears twice the last entry wins (the registrar's
    /// config check rejects duplicates before this).
    pub fn new(
        realm: impl Into<String>,
        nonce_ttl: Duration,
        accounts: impl IntoIterator<Item = Account>,
        rng: impl RngCore + Send + 'static,
    ) -> Self {
        let realm = realm.into();
        let mut rng: Box<dyn RngCore + Send> = Box::new(rng);
        let users = accounts
            .into_iter()
            .map(|a| {
                let hashes = UserHashes::new(&a.user, &realm, &a.password);
                (a.user, hashes)
            })
            .collect();
        let dummy = UserHashes {
            md5: random_hex(&mut *rng, 16),
            sha256: random_hex(&mut *rng, 32),
        };
        let opaque = random_hex(&mut *rng, 8);
        Self {
            realm,
            opaque,
            users,
            dummy,
            nonces: NonceTable::new(nonce_ttl, Self::DEFAULT_MAX_NONCES),
            algorithms: Algorithm::OFFERED.to_vec(),
            rng,
        }
    }

    /// Changes the bound on outstanding nonces (at least 1).
    pub fn with_max_nonces(mut self, max: usize) -> Self {
        self.nonces = NonceTable::new(self.nonces.ttl(), max);
        self
    }

    pub fn realm(&self) -> &str {
        &self.realm
    }

    /// Whether `user` has an account.
    pub fn has_user(&self, user: &str) -> bool {
        self.users.contains_key(user)
    }

    /// Issues a fresh nonce and returns the challenge header values, SHA-256 first.
    pub fn challenge_values(&mut self, now: Instant, stale: bool) -> Vec<String> {
        let nonce = loop {
            let candidate = random_hex(&mut *self.rng, 16);
            // 128 random bits do not collide in practice; the loop makes it certain.
            if !self.nonces.contains(&candidate) {
                break candidate;
            }
        };
        self.nonces.insert(now, nonce.clone());
        self.algorithms
            .iter()
            .map(|&alg| {
                let mut v = format!(
                    "Digest realm={}, qop=\"auth\", algorithm={}, nonce=\"{}\", opaque=\"{}\"",
                    quote(&self.realm),
                    alg.as_str(),
                    nonce,
                    self.opaque
                );
                if stale {
                    v.push_str(", stale=true");
                }
                v
            })
            .collect()
    }

    /// Offers only `algorithms`, in this order (an empty list keeps the default,
    /// SHA-256 then MD5). Some softphones give up on the whole 401 when any
    /// challenge is not MD5 (baresip 1.0/libre 1.1) or read only the first one
    /// (SIPp 3.6): an operator with such phones configures `["MD5"]` or
    /// `["MD5", "SHA-256"]`.
    pub fn with_algorithms(mut self, algorithms: &[Algorithm]) -> Self {
        self.set_algorithms(algorithms);
        self
    }

    /// As [`Self::with_algorithms`], in place.
    pub fn set_algorithms(&mut self, algorithms: &[Algorithm]) {
        if !algorithms.is_empty() {
            let mut list: Vec<Algorithm> = Vec::new();
            for a in algorithms {
                if !list.contains(a) {
                    list.push(*a);
                }
            }
            self.algorithms = list;
        }
    }

    /// The algorithms offered, most preferred first.
    pub fn algorithms(&self) -> &[Algorithm] {
        &self.algorithms
    }

    /// The full 401 (or 407) answering `req`: both challenges with one new nonce,
    /// and a To tag (RFC 3261 §8.2.6.2).
    pub fn challenge_response(
        &mut self,
        now: Instant,
        req: &Request,
        stale: bool,
        kind: ChallengeKind,
    ) -> Response {
        let mut resp = Response::for_request(req, kind.status());
        for value in self.challenge_values(now, stale) {
            resp.headers.push(kind.challenge_header(), value);
        }
        ensure_to_tag(&mut resp, &mut *self.rng);
        resp
    }

    /// Looks at every credentials header of `req` (there may be several, for
    /// different realms, RFC 3261 §22.4) and judges the one for our realm.
    pub fn verify(&mut self, now: Instant, req: &Request, kind: ChallengeKind) -> AuthOutcome {
        let header = kind.credentials_header();
        for value in req.headers.get_all(&header) {
            if let Some(outcome) =
                self.verify_credentials(now, req.method.as_str(), req.uri.as_str(), value)
            {
                return outcome;
            }
        }
        AuthOutcome::Challenge {
            stale: false,
            reason: ChallengeReason::NoCredentials,
        }
    }

    /// Judges one credentials value against a request's method and Request-URI.
    /// `None` when the value is not Digest credentials for our realm (another
    /// scheme, or another realm) and should be ignored.
    pub fn verify_credentials(
        &mut self,
        now: Instant,
        method: &str,
        request_uri: &str,
        credentials: &str,
    ) -> Option<AuthOutcome> {
        let creds = match params::split_scheme(credentials) {
            Ok((scheme, _)) if !scheme.eq_ignore_ascii_case("Digest") => return None,
            Ok(_) => match params::parse_credentials(credentials) {
                Ok(c) => c,
                Err(e) => return Some(malformed(e.reason())),
            },
            Err(e) => return Some(malformed(e.reason())),
        };
        debug_assert!(creds.is_digest());
        match creds.get("realm") {
            None => return Some(malformed("Missing realm")),
            // Exact comparison: realm is an opaque quoted string (RFC 7616 §3.3).
            Some(realm) if realm != self.realm => return None,
            Some(_) => {}
        }
        Some(match self.judge(now, method, request_uri, &creds) {
            Ok(outcome) => outcome,
            Err(reason) => malformed(reason),
        })
    }

    fn judge(
        &mut self,
        now: Instant,
        method: &str,
        request_uri: &str,
        creds: &Credentials,
    ) -> Result<AuthOutcome, &'static str> {
        let user = creds.get("username").ok_or("Missing username")?;
        if creds
            .get("userhash")
            .is_some_and(|v| v.eq_ignore_ascii_case("true"))
        {
            return Err("userhash not offered");
        }
        let nonce = creds.get("nonce").ok_or("Missing nonce")?;
        let uri = creds.get("uri").ok_or("Missing uri")?;
        let client_response = creds.get("response").ok_or("Missing response")?;
        let algorithm = match creds.get("algorithm") {
            // RFC 7616 §3.3: absent means MD5.
            None => Algorithm::Md5,
            Some(a) => Algorithm::from_param(a).ok_or("Digest algorithm not offered")?,
        };
        if !self.algorithms.contains(&algorithm) {
            return Err("Digest algorithm not offered");
        }
        let qop = creds.get("qop").ok_or("qop=auth required")?;
        if !qop.eq_ignore_ascii_case("auth") {
            return Err("Only qop=auth is offered");
        }
        let nc_text = creds.get("nc").ok_or("Missing nc")?;
        let nc = parse_nc(nc_text).ok_or("Malformed nc")?;
        let cnonce = creds.get("cnonce").ok_or("Missing cnonce")?;
        if cnonce.is_empty() {
            return Err("Empty cnonce");
        }
        // RFC 7616 §3.4.6: the digest-uri must name the Request-URI; otherwise the
        // credentials could be lifted onto a request for another resource. Scheme
        // and host are case-insensitive, so compare ignoring ASCII case.
        if !uri.eq_ignore_ascii_case(request_uri) {
            return Err("Digest uri does not match Request-URI");
        }
        let client_response = match hex::decode(client_response) {
            Ok(r) if r.len() == algorithm.output_len() => r,
            _ => return Err("Malformed response"),
        };

        // From here on the work does not depend on whether the user exists.
        let known = self.users.get(user);
        let ha1 = known.unwrap_or(&self.dummy).get(algorithm);
        let expected = response_raw(
            algorithm,
            ha1,
            nonce,
            Some((qop, nc_text, cnonce)),
            method,
            uri,
        );
        let hash_ok: bool = expected.ct_eq(&client_response).into();
        let user = user.to_owned();
        if !(hash_ok && known.is_some()) {
            return Ok(challenge(false, ChallengeReason::BadCredentials { user }));
        }

        let opaque_ok = creds.get("opaque").is_none_or(|o| o == self.opaque);
        let entry = match self.nonces.live_mut(now, nonce) {
            Some(entry) if opaque_ok => entry,
            _ => return Ok(challenge(true, ChallengeReason::StaleNonce { user })),
        };
        if nc <= entry.last_nc {
            return Ok(challenge(true, ChallengeReason::Replay { user }));
        }
        entry.last_nc = nc;
        Ok(AuthOutcome::Verified { user, algorithm })
    }

    /// Drops expired nonces. Call at [`Self::poll_timeout`] (or any time).
    pub fn handle_timeout(&mut self, now: Instant) {
        self.nonces.sweep(now);
    }

    /// When the oldest outstanding nonce expires.
    #[must_use]
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.nonces.next_expiry()
    }

    /// Number of outstanding nonces (for metrics).
    pub fn outstanding_nonces(&self) -> usize {
        self.nonces.len()
    }

    /// Adds a To tag to a response built elsewhere, from this instance's RNG.
    pub(crate) fn tag_response(&mut self, resp: &mut Response) {
        ensure_to_tag(resp, &mut *self.rng);
    }

    /// Test hook: accept a nonce we did not generate (the RFC example vectors).
    #[cfg(test)]
    fn insert_nonce(&mut self, now: Instant, nonce: &str) {
        self.nonces.insert(now, nonce.to_owned());
    }

    /// Test hook: the opaque value (RFC vectors carry their own).
    #[cfg(test)]
    fn set_opaque(&mut self, opaque: &str) {
        self.opaque = opaque.to_owned();
    }
}

fn challenge(stale: bool, reason: ChallengeReason) -> AuthOutcome {
    AuthOutcome::Challenge { stale, reason }
}

fn malformed(reason: &'static str) -> AuthOutcome {
    AuthOutcome::Malformed { reason }
}

/// `nc-value = 8LHEX` (RFC 7616 §3.4); up to 8 hex digits accepted.
fn parse_nc(s: &str) -> Option<u32> {
    if s.is_empty() || s.len() > 8 || !s.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    u32::from_str_radix(s, 16).ok()
}

fn random_hex(rng: &mut dyn RngCore, bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    rng.fill_bytes(&mut buf);
    hex::encode(buf)
}

/// A quoted-string with `"` and `\` escaped (RFC 3261 §25.1).
fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        if c == '"' || c == '\\' {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
    out
}

/// Adds a random To tag to a response that lacks one (RFC 3261 §8.2.6.2: a UAS
/// MUST tag the To of its responses). Leaves a To it cannot parse alone: such a
/// request never reaches us from the parser.
pub(crate) fn ensure_to_tag(resp: &mut Response, rng: &mut dyn RngCore) {
    let Ok(to) = resp.headers.to_addr() else {
        return;
    };
    if to.tag().is_some() {
        return;
    }
    let Some(raw) = resp.headers.get(&HeaderName::To) else {
        return;
    };
    let tagged = format!("{raw};tag={}", random_hex(rng, 8));
    resp.headers.set(HeaderName::To, tagged);
}

#[cfg(test)]
pub(crate) mod tests;
