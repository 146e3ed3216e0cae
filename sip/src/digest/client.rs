//! Digest authentication, client side: answering a trunk's `401`/`407`
//! challenge to one of our requests (RFC 3261 §22.2–§22.3, RFC 7616).
//!
//! Only what an outbound INVITE needs: one challenge answered once, `qop=auth`
//! when offered (else the RFC 2069 form), MD5 or SHA-256. The challenge comes
//! from the network, so every field is checked and a bad one is an error, not
//! a panic.

use super::params::parse_credentials;
use super::{ha1, response, Algorithm};

/// Why a challenge could not be answered.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChallengeError {
    #[error("malformed challenge: {0}")]
    Malformed(&'static str),
    #[error("challenge scheme is not Digest")]
    NotDigest,
    #[error("challenge has no {0}")]
    Missing(&'static str),
    #[error("unsupported digest algorithm {0:?}")]
    Algorithm(String),
    #[error("the challenge offers no qop we support ({0:?})")]
    Qop(String),
}

/// The `Authorization`/`Proxy-Authorization` value answering `challenge` (one
/// `WWW-Authenticate`/`Proxy-Authenticate` value) for `method` to `uri`, with
/// our `cnonce` (random, from the caller: this module draws no randomness).
pub fn authorization(
    challenge: &str,
    user: &str,
    password: &str,
    method: &str,
    uri: &str,
    cnonce: &str,
) -> Result<String, ChallengeError> {
    let c = parse_credentials(challenge).map_err(|e| ChallengeError::Malformed(e.reason()))?;
    if !c.is_digest() {
        return Err(ChallengeError::NotDigest);
    }
    let realm = c.get("realm").ok_or(ChallengeError::Missing("realm"))?;
    let nonce = c.get("nonce").ok_or(ChallengeError::Missing("nonce"))?;
    let algorithm = match c.get("algorithm") {
        None => Algorithm::Md5,
        Some(a) => Algorithm::from_param(a).ok_or_else(|| ChallengeError::Algorithm(a.into()))?,
    };
    let qop = match c.get("qop") {
        None => None,
        Some(list)
            if list
                .split(',')
                .any(|q| q.trim().eq_ignore_ascii_case("auth")) =>
        {
            Some("auth")
        }
        Some(list) => return Err(ChallengeError::Qop(list.into())),
    };
    let nc = "00000001";
    let h1 = ha1(algorithm, user, realm, password);
    let digest = response(
        algorithm,
        &h1,
        nonce,
        qop.map(|q| (q, nc, cnonce)),
        method,
        uri,
    );
    let mut value = format!(
        "Digest username=\"{}\", realm=\"{}\", nonce=\"{}\", uri=\"{}\", response=\"{digest}\", algorithm={}",
        quote(user),
        quote(realm),
        quote(nonce),
        quote(uri),
        algorithm.as_str()
    );
    if let Some(q) = qop {
        value.push_str(&format!(", qop={q}, nc={nc}, cnonce=\"{}\"", quote(cnonce)));
    }
    if let Some(opaque) = c.get("opaque") {
        value.push_str(&format!(", opaque=\"{}\"", quote(opaque)));
    }
    Ok(value)
}

/// Escapes a value for a quoted-string (RFC 3261 §25.1).
fn quote(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace(['\r', '\n'], "")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::digest::{ha1, response};

    #[test]
    fn answers_a_qop_auth_challenge_as_a_server_computes_it() {
        let challenge = r#"Digest realm="sbc.example", nonce="abc123", qop="auth,auth-int", opaque="xyz", algorithm=MD5"#;
        let v = authorization(
            challenge,
            "hotline",
            "secret",
            "INVITE",
            "sip:138@sbc",
            "c0ffee",
        )
        .expect("answered");
        let h1 = ha1(Algorithm::Md5, "hotline", "sbc.example", "secret");
        let expected = response(
            Algorithm::Md5,
            &h1,
            "abc123",
            Some(("auth", "00000001", "c0ffee")),
            "INVITE",
            "sip:138@sbc",
        );
        assert!(v.starts_with("Digest username=\"hotline\""), "{v}");
        assert!(v.contains(&format!("response=\"{expected}\"")), "{v}");
        assert!(
            v.contains("qop=auth, nc=00000001, cnonce=\"c0ffee\""),
            "{v}"
        );
        assert!(v.contains("opaque=\"xyz\""), "{v}");
    }

    #[test]
    fn answers_rfc2069_and_sha256_challenges() {
        let v = authorization(
            r#"Digest realm="r", nonce="n", algorithm=SHA-256"#,
            "u",
            "p",
            "INVITE",
            "sip:1@h",
            "c",
        )
        .expect("answered");
        let h1 = ha1(Algorithm::Sha256, "u", "r", "p");
        let expected = response(Algorithm::Sha256, &h1, "n", None, "INVITE", "sip:1@h");
        assert!(v.contains(&format!("response=\"{expected}\"")), "{v}");
        assert!(!v.contains("qop"), "{v}");
    }

    #[test]
    fn bad_challenges_are_errors() {
        let a = |c: &str| authorization(c, "u", "p", "INVITE", "sip:1@h", "c");
        assert_eq!(a(r#"Basic realm="r""#), Err(ChallengeError::NotDigest));
        assert_eq!(
            a(r#"Digest nonce="n""#),
            Err(ChallengeError::Missing("realm"))
        );
        assert_eq!(
            a(r#"Digest realm="r""#),
            Err(ChallengeError::Missing("nonce"))
        );
        assert!(matches!(
            a(r#"Digest realm="r", nonce="n", algorithm=SHA-512-256"#),
            Err(ChallengeError::Algorithm(_))
        ));
        assert!(matches!(
            a(r#"Digest realm="r", nonce="n", qop="auth-int""#),
            Err(ChallengeError::Qop(_))
        ));
        assert!(matches!(
            a(r#"Digest realm="r"#),
            Err(ChallengeError::Malformed(_))
        ));
    }
}
