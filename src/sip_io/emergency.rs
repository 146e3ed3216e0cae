//! Emergency transfers (measures §9, §14): which numbers may be reached, how
//! the gateway is addressed, and who may ask for a transfer.
//!
//! `[emergency] gateway` is a SIP URI template (`sip:{number}@192.0.2.1:5060`);
//! its host is resolved once at start-up (a DNS name is looked up then, not per
//! call). A number is transferable only when it equals one of
//! `[emergency] numbers` after visual separators are removed: a caller number
//! such as `13811012345` contains `110` but is never taken for it, and nothing
//! else — no API, no REFER, no menu — can make the server dial out through
//! this path.

use std::net::SocketAddr;
use std::time::{Instant, SystemTime};

use hotline_config::EmergencyConfig;
use hotline_sip::call::{CallEvent, CallId};
use hotline_sip::net::{Remote, Transport};

use super::Core;

/// Why a transfer cannot be made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TransferError {
    #[error("{0} is not an emergency line of this hotline")]
    NotEmergency(String),
    #[error("emergency transfers are disabled: [emergency] gateway is not set")]
    NoGateway,
    #[error("no such call")]
    UnknownCall,
    #[error("only the agent on the call or a supervisor may transfer it")]
    NotYourCall,
    #[error("the call cannot be transferred now: {0}")]
    Refused(String),
}

/// The emergency lines and the gateway towards them.
#[derive(Debug, Clone)]
pub struct EmergencyRoutes {
    template: Option<String>,
    gateway: Option<Remote>,
    numbers: Vec<String>,
}

impl EmergencyRoutes {
    /// From `[emergency]`, resolving the gateway's host. A gateway that cannot
    /// be resolved disables transfers with an error in the log (the server
    /// still answers the hotline).
    pub async fn resolve(config: &EmergencyConfig) -> Self {
        let numbers = config.numbers.iter().map(|n| normalize(n)).collect();
        let Some(template) = config.gateway.clone() else {
            return Self {
                template: None,
                gateway: None,
                numbers,
            };
        };
        let gateway = match host_port(&template) {
            Some((host, port, transport)) => {
                match tokio::net::lookup_host((host.as_str(), port)).await {
                    Ok(mut addrs) => addrs.next().map(|addr| Remote { transport, addr }),
                    Err(e) => {
                        tracing::error!(%host, "emergency gateway cannot be resolved: {e}");
                        None
                    }
                }
            }
            None => {
                tracing::error!(%template, "emergency gateway is not a sip: URI with a host");
                None
            }
        };
        Self {
            template: Some(template),
            gateway,
            numbers,
        }
    }

    /// The normalised emergency numbers.
    pub fn numbers(&self) -> &[String] {
        &self.numbers
    }

    /// The number as listed, if `dialled` is an emergency line.
    pub fn number(&self, dialled: &str) -> Result<String, TransferError> {
        let n = normalize(dialled);
        if self.numbers.contains(&n) {
            Ok(n)
        } else {
            Err(TransferError::NotEmergency(dialled.to_owned()))
        }
    }

    /// The Request-URI and the address for a transfer to `dialled`.
    pub fn route(&self, dialled: &str) -> Result<(String, String, Remote), TransferError> {
        let number = self.number(dialled)?;
        let (Some(template), Some(gateway)) = (&self.template, self.gateway) else {
            return Err(TransferError::NoGateway);
        };
        let uri = template.replace(hotline_config::NUMBER_PLACEHOLDER, &number);
        Ok((number, uri, gateway))
    }
}

/// An emergency transfer in progress: who asked, when, for which line.
#[derive(Debug, Clone)]
pub(super) struct Linkage {
    pub(super) by: String,
    /// `api` (the workstation's button), `refer` (the agent's phone), `ivr`.
    pub(super) via: &'static str,
    pub(super) requested_at: SystemTime,
}

impl Core {
    /// Starts a transfer of `call` (API form: hex id) to emergency `number`
    /// on behalf of `by`.
    pub(super) fn transfer(
        &mut self,
        call: &str,
        number: &str,
        by: &str,
        supervisor: bool,
    ) -> Result<String, TransferError> {
        let id = u64::from_str_radix(call, 16)
            .map(CallId)
            .map_err(|_| TransferError::UnknownCall)?;
        let view = self
            .endpoint
            .calls()
            .into_iter()
            .find(|c| c.id == id)
            .ok_or(TransferError::UnknownCall)?;
        if !supervisor && view.agent.as_deref() != Some(by) {
            return Err(TransferError::NotYourCall);
        }
        self.start_transfer(id, number, by, "api")
    }

    pub(super) fn start_transfer(
        &mut self,
        id: CallId,
        number: &str,
        by: &str,
        via: &'static str,
    ) -> Result<String, TransferError> {
        let (number, uri, gateway) = self.emergency.route(number)?;
        self.endpoint
            .transfer(Instant::now(), id, &number, &uri, gateway)
            .map_err(|e| TransferError::Refused(e.to_string()))?;
        tracing::warn!(call = %id, %number, %by, via, "emergency transfer started");
        self.transfers.insert(
            id,
            Linkage {
                by: by.to_owned(),
                via,
                requested_at: SystemTime::now(),
            },
        );
        Ok(number)
    }

    /// Follows the call events of transfers: an agent phone's REFER starts one;
    /// the gateway's answer or failure completes the linkage record.
    pub(super) fn transfer_event(&mut self, ev: &CallEvent) {
        match ev {
            CallEvent::TransferRequested {
                call,
                agent,
                number,
            } => {
                if let Err(e) = self.start_transfer(*call, number, agent, "refer") {
                    tracing::warn!(%call, %number, "REFER to an emergency line not carried out: {e}");
                }
            }
            CallEvent::Transferred { call, number, .. } => {
                self.complete_transfer(*call, number, "connected".into());
            }
            CallEvent::TransferFailed {
                call,
                number,
                status,
            } => {
                self.complete_transfer(*call, number, format!("failed:{status}"));
            }
            _ => {}
        }
    }

    fn complete_transfer(&mut self, call: CallId, number: &str, outcome: String) {
        let Some(l) = self.transfers.remove(&call) else {
            return;
        };
        let caller = self
            .caller_of(call)
            .map(|v| v.caller_number)
            .unwrap_or_default();
        if let Some(d) = self.drafts.as_mut() {
            let agent = (l.via != "ivr").then_some(l.by.as_str());
            d.transfer(
                call,
                &caller,
                number,
                agent,
                &outcome,
                time::OffsetDateTime::from(l.requested_at),
            );
        }
        tracing::warn!(
            %call,
            %number,
            by = %l.by,
            via = l.via,
            %outcome,
            "emergency-linkage record"
        );
    }
}

/// Visual separators removed; nothing else changes (see the module docs).
fn normalize(s: &str) -> String {
    s.chars()
        .filter(|c| !matches!(c, '-' | '.' | ' ' | '(' | ')'))
        .collect()
}

/// Host, port (5060 by default) and transport of a `sip:` URI template.
pub(super) fn host_port(uri: &str) -> Option<(String, u16, Transport)> {
    let rest = uri.strip_prefix("sip:")?;
    let after_user = rest.rsplit_once('@').map_or(rest, |(_, h)| h);
    let mut parts = after_user.split(';');
    let hostport = parts.next()?;
    let transport = if parts.any(|p| p.eq_ignore_ascii_case("transport=tcp")) {
        Transport::Tcp
    } else {
        Transport::Udp
    };
    if let Ok(sa) = hostport.parse::<SocketAddr>() {
        return Some((sa.ip().to_string(), sa.port(), transport));
    }
    let (host, port) = match hostport.rsplit_once(':') {
        Some((h, p)) if !h.contains(':') => (h, p.parse().ok()?),
        _ => (hostport, 5060),
    };
    let host = host.trim_start_matches('[').trim_end_matches(']');
    (!host.is_empty()).then(|| (host.to_owned(), port, transport))
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn routes(gateway: Option<&str>) -> EmergencyRoutes {
        EmergencyRoutes::resolve(&EmergencyConfig {
            gateway: gateway.map(str::to_owned),
            numbers: vec!["110".into(), "119".into(), "120".into(), "122".into()],
        })
        .await
    }

    #[tokio::test]
    async fn only_listed_numbers_route_and_exactly() {
        let r = routes(Some("sip:{number}@127.0.0.1:5070")).await;
        let (n, uri, gw) = r.route("1-1-0").expect("110");
        assert_eq!(n, "110");
        assert_eq!(uri, "sip:110@127.0.0.1:5070");
        assert_eq!(gw.addr, "127.0.0.1:5070".parse().expect("addr"));
        assert_eq!(gw.transport, Transport::Udp);
        for bad in ["13811012345", "0110", "1100", "12345", "", "110#"] {
            assert_eq!(
                r.route(bad),
                Err(TransferError::NotEmergency(bad.into())),
                "{bad}"
            );
        }
    }

    #[tokio::test]
    async fn no_gateway_means_no_transfer() {
        let r = routes(None).await;
        assert_eq!(r.route("120"), Err(TransferError::NoGateway));
        let r = routes(Some("http://example")).await;
        assert_eq!(r.route("120"), Err(TransferError::NoGateway));
    }

    #[test]
    fn gateway_uris_are_read() {
        assert_eq!(
            host_port("sip:{number}@gw.example;transport=tcp"),
            Some(("gw.example".into(), 5060, Transport::Tcp))
        );
        assert_eq!(
            host_port("sip:{number}@[::1]:5080"),
            Some(("::1".into(), 5080, Transport::Udp))
        );
        assert_eq!(
            host_port("sip:192.0.2.1"),
            Some(("192.0.2.1".into(), 5060, Transport::Udp))
        );
        assert_eq!(host_port("tel:110"), None);
    }
}
