//! `[trunk]`: the carrier trunk the server places its own calls through.
//!
//! Only `[trunk.outbound]` exists: the SBC that outbound survey and callback
//! calls go to (issue 7). Without `uri` the server places no outbound call at
//! all (every attempt is "not placed"), which is the default. The server never
//! dials an arbitrary number through it: only the survey scheduler and the
//! callback tasks can (toll fraud; see `src/dialing.rs`).

use serde::{Deserialize, Serialize};

use crate::sections::NUMBER_PLACEHOLDER;
use crate::validate::ValidationError;

/// `[trunk]`
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TrunkConfig {
    /// `[trunk.outbound]`
    pub outbound: OutboundTrunk,
}

/// `[trunk.outbound]`: where and how fast the server may dial out.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct OutboundTrunk {
    /// SIP URI template of the carrier's SBC with `{number}` where the dialled
    /// number goes, e.g. `"sip:{number}@192.0.2.20:5060"`. Absent: outbound
    /// calls are disabled.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub uri: Option<String>,
    /// The number presented as caller id (From user part).
    pub caller_id: String,
    /// Digest user name, if the SBC challenges (401/407).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    /// Digest password, with `username`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub password: Option<String>,
    /// Most outbound calls up at the same time.
    pub max_concurrent: u32,
    /// Most new outbound calls per second.
    pub calls_per_second: u32,
    /// How long the far phone may ring before the call counts as not answered.
    pub ring_timeout_s: u64,
}

impl Default for OutboundTrunk {
    fn default() -> Self {
        OutboundTrunk {
            uri: None,
            caller_id: "12345".into(),
            username: None,
            password: None,
            max_concurrent: 10,
            calls_per_second: 2,
            ring_timeout_s: 45,
        }
    }
}

impl OutboundTrunk {
    /// The Request-URI for `number`, if outbound calling is configured.
    pub fn uri_for(&self, number: &str) -> Option<String> {
        self.uri
            .as_ref()
            .map(|u| u.replace(NUMBER_PLACEHOLDER, number))
    }

    /// The digest credentials, when both halves are set.
    pub fn credentials(&self) -> Option<(&str, &str)> {
        match (&self.username, &self.password) {
            (Some(u), Some(p)) => Some((u.as_str(), p.as_str())),
            _ => None,
        }
    }
}

impl TrunkConfig {
    /// Checks of `[trunk]`, each error with its key path.
    pub(crate) fn check(&self, errors: &mut Vec<ValidationError>) {
        let o = &self.outbound;
        let mut err = |key: &str, message: String| {
            errors.push(ValidationError::new(
                format!("trunk.outbound.{key}"),
                message,
            ));
        };
        if let Some(uri) = &o.uri {
            if !uri.starts_with("sip:") {
                err(
                    "uri",
                    format!("{uri:?} is not a SIP URI like \"sip:{{number}}@192.0.2.20:5060\""),
                );
            }
            if !uri.contains(NUMBER_PLACEHOLDER) {
                err(
                    "uri",
                    format!("{uri:?} does not contain {NUMBER_PLACEHOLDER}: every call would go to the same number"),
                );
            } else if uri.replace(NUMBER_PLACEHOLDER, "").contains(['{', '}']) {
                err(
                    "uri",
                    format!("{uri:?}: {NUMBER_PLACEHOLDER} is the only placeholder"),
                );
            }
            let host = uri
                .strip_prefix("sip:")
                .and_then(|r| r.rsplit_once('@').map(|(_, h)| h))
                .unwrap_or_default();
            if host.split(';').next().unwrap_or_default().is_empty() {
                err("uri", format!("{uri:?} names no host after '@'"));
            }
        }
        let c = &o.caller_id;
        let digits = c.strip_prefix('+').unwrap_or(c);
        if digits.is_empty() || digits.len() > 32 || !digits.bytes().all(|b| b.is_ascii_digit()) {
            err(
                "caller_id",
                format!("{c:?} must be digits, optionally with a leading '+'"),
            );
        }
        match (&o.username, &o.password) {
            (Some(_), None) => err(
                "password",
                "is missing: username is set, so the trunk's challenge needs a password".into(),
            ),
            (None, Some(_)) => err("username", "is missing: password is set".into()),
            (Some(u), Some(_)) if u.is_empty() || u.contains(['"', '\\', '\r', '\n']) => err(
                "username",
                "must not be empty or contain quotes, backslashes or line breaks".into(),
            ),
            _ => {}
        }
        if o.max_concurrent == 0 {
            err(
                "max_concurrent",
                "must be greater than 0 (leave uri out to disable outbound calls)".into(),
            );
        }
        if o.calls_per_second == 0 {
            err(
                "calls_per_second",
                "must be greater than 0 (leave uri out to disable outbound calls)".into(),
            );
        }
        if !(5..=300).contains(&o.ring_timeout_s) {
            err(
                "ring_timeout_s",
                format!("{} is outside 5..=300 seconds", o.ring_timeout_s),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::Config;

    fn errors(toml: &str) -> Vec<String> {
        let c = Config::from_toml(toml).expect("parses");
        match c.validate() {
            Ok(()) => Vec::new(),
            Err(e) => e.into_iter().map(|e| e.to_string()).collect(),
        }
    }

    #[test]
    fn no_uri_means_no_outbound_calls_and_is_valid() {
        let c = Config::default();
        assert_eq!(c.trunk.outbound.uri_for("13800000000"), None);
        assert!(errors("").is_empty());
    }

    #[test]
    fn a_full_trunk_is_valid_and_fills_the_number_in() {
        let toml = r#"
            [trunk.outbound]
            uri = "sip:{number}@192.0.2.20:5060"
            caller_id = "+8612345"
            username = "hotline"
            password = "example-only"
            max_concurrent = 50
            calls_per_second = 10
            ring_timeout_s = 30
        "#;
        assert_eq!(errors(toml), Vec::<String>::new());
        let c = Config::from_toml(toml).expect("parses");
        assert_eq!(
            c.trunk.outbound.uri_for("13800000000").as_deref(),
            Some("sip:13800000000@192.0.2.20:5060")
        );
        assert_eq!(
            c.trunk.outbound.credentials(),
            Some(("hotline", "example-only"))
        );
    }

    #[test]
    fn every_bad_key_is_reported_with_its_path() {
        let e = errors(
            r#"
            [trunk.outbound]
            uri = "http://sbc/{number}"
            caller_id = "12a45"
            username = "u"
            max_concurrent = 0
            calls_per_second = 0
            ring_timeout_s = 1
        "#,
        );
        for key in [
            "trunk.outbound.uri:",
            "trunk.outbound.caller_id:",
            "trunk.outbound.password:",
            "trunk.outbound.max_concurrent:",
            "trunk.outbound.calls_per_second:",
            "trunk.outbound.ring_timeout_s:",
        ] {
            assert!(e.iter().any(|m| m.starts_with(key)), "{key} not in {e:?}");
        }
        let e = errors("[trunk.outbound]\nuri = \"sip:12345@sbc\"\n");
        assert!(
            e.iter()
                .any(|m| m.starts_with("trunk.outbound.uri:") && m.contains("{number}")),
            "{e:?}"
        );
        let e = errors("[trunk.outbound]\nuri = \"sip:{number}@\"\n");
        assert!(e.iter().any(|m| m.contains("names no host")), "{e:?}");
    }
}
