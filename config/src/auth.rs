//! Passwords of the HTTP log-in: checks on `agents[].password_hash`.
//!
//! A seat's `password` is the SIP digest secret and must stay plaintext (the
//! digest is computed from it). The HTTP log-in uses `password_hash` when it is
//! set, an Argon2 PHC string (`$argon2id$v=19$m=…,t=…,p=…$salt$hash`, made by
//! `hotline user hash`), so the web password can differ from the SIP secret and
//! never sit in the file in clear. Without it the server hashes `password` in
//! memory at start and logs a warning. Unit users and administrators are not
//! configured here: they live in the database.

/// Checks that `value` looks like an Argon2 PHC string; the reason otherwise.
///
/// The check is structural (algorithm, version, parameters, two base64
/// fields); the server parses it fully at start.
pub fn check_password_hash(value: &str) -> Result<(), String> {
    let parts: Vec<&str> = value.split('$').collect();
    // "", algorithm, v=19, params, salt, hash
    let ok = parts.len() == 6
        && parts[0].is_empty()
        && matches!(parts[1], "argon2id" | "argon2i" | "argon2d")
        && parts[2].starts_with("v=")
        && parts[3].split(',').all(|p| {
            p.split_once('=').is_some_and(|(k, v)| {
                matches!(k, "m" | "t" | "p")
                    && !v.is_empty()
                    && v.bytes().all(|b| b.is_ascii_digit())
            })
        })
        && [parts[4], parts[5]].iter().all(|f| {
            !f.is_empty()
                && f.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'+' || b == b'/')
        });
    if ok {
        Ok(())
    } else {
        Err("is not an Argon2 PHC string ($argon2id$v=19$m=…,t=…,p=…$salt$hash); make one with `hotline user hash`".into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phc_strings_are_recognised() {
        assert!(check_password_hash(
            "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHQ$RdescudvJCsgt3ub+b+dWRWJTmaaJObG"
        )
        .is_ok());
        for bad in [
            "",
            "secret",
            "$2b$12$abcdefghijklmnopqrstuv",
            "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHQ",
            "$argon2id$v=19$m=x,t=2,p=1$c29tZXNhbHQ$abc",
            "$argon2id$v=19$m=19456,t=2,p=1$$abc",
        ] {
            assert!(check_password_hash(bad).is_err(), "{bad}");
        }
    }
}
