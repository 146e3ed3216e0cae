//! The HTTP side's handle on the SIP core: queries answered from the core's
//! own state, emergency transfers, the contact centre's agent states,
//! queues and announcement, and the live event bus.

use std::sync::Arc;

use tokio::sync::{broadcast, mpsc, oneshot};

use super::hosting::HostingQuery;
use super::{CoreInput, HostingError, TransferError};
use crate::http::BindingSnapshot;

/// An emergency transfer asked for over the API.
#[derive(Debug, Clone)]
pub struct TransferRequest {
    /// The call id as the API shows it (16 hex digits).
    pub call: String,
    /// The emergency number (`110`, `119`, `120`, `122`).
    pub number: String,
    /// Who asks (an agent id or a supervisor id).
    pub by: String,
    /// A supervisor may transfer any call; an agent only its own.
    pub supervisor: bool,
}

/// A call in progress, for `GET /api/calls`.
#[derive(Debug, Clone, serde::Serialize)]
pub struct LiveCall {
    pub id: String,
    pub state: String,
    pub caller_number: String,
    pub did: String,
    pub agent: Option<String>,
    /// Agents whose phones ring for this call.
    pub ringing: Vec<String>,
    /// The emergency line the call was handed to.
    pub transferred_to: Option<String>,
    pub internal: bool,
    pub duration_s: u64,
    pub talking_s: Option<u64>,
}

/// A handle for the HTTP side to query the SIP core. Queries are answered from
/// the core's own state when asked, so keeping the API's view fresh costs the
/// SIP path nothing (rebuilding a snapshot on every REGISTER made each
/// registration cost time proportional to all bindings).
#[derive(Debug, Clone)]
pub struct SipHandle {
    pub(super) core: mpsc::Sender<CoreInput>,
    pub(super) bus: broadcast::Sender<LiveEvent>,
}

/// One message of the live event bus: JSON with `"type"` and `"v"` (the
/// format version). See [`SipHandle::subscribe`].
pub type LiveEvent = Arc<serde_json::Value>;

/// An event for the bus: `event` with the format version `"v": 1` added.
pub(super) fn stamp(mut event: serde_json::Value) -> LiveEvent {
    if let Some(m) = event.as_object_mut() {
        m.insert("v".into(), 1.into());
    }
    Arc::new(event)
}

/// Events a slow subscriber may fall behind by before it loses some (it then
/// gets `RecvError::Lagged` and should re-read the state).
pub(super) const BUS_CAPACITY: usize = 1024;

impl SipHandle {
    /// The live event bus: agent state and queue changes, calls offered,
    /// ringing, answered, ended and transferred, survey results. A receiver
    /// that falls behind by more than a thousand events is told it lagged;
    /// the server never waits for a subscriber.
    pub fn subscribe(&self) -> broadcast::Receiver<LiveEvent> {
        self.bus.subscribe()
    }

    /// Puts an event of the HTTP side (`order_changed`,
    /// `supervision_raised`) on the live bus, stamped `"v": 1`. `event` is a
    /// JSON object with a `"type"`. Never waits; nobody listening is fine.
    pub fn publish(&self, event: serde_json::Value) {
        let _ = self.bus.send(stamp(event));
    }

    /// The live registrations; empty if the SIP core has stopped.
    pub async fn bindings(&self) -> Vec<BindingSnapshot> {
        let (tx, rx) = oneshot::channel();
        if self.core.send(CoreInput::Bindings(tx)).await.is_err() {
            return Vec::new();
        }
        rx.await.unwrap_or_default()
    }

    /// Transfers a call to an emergency line; the number as listed on success.
    pub async fn transfer(&self, request: TransferRequest) -> Result<String, TransferError> {
        let (tx, rx) = oneshot::channel();
        let stopped = || TransferError::Refused("the SIP core has stopped".into());
        self.core
            .send(CoreInput::Transfer { request, reply: tx })
            .await
            .map_err(|_| stopped())?;
        rx.await.map_err(|_| stopped())?
    }

    async fn ask<T>(&self, make: impl FnOnce(oneshot::Sender<T>) -> HostingQuery) -> Option<T> {
        let (tx, rx) = oneshot::channel();
        self.core.send(CoreInput::Hosting(make(tx))).await.ok()?;
        rx.await.ok()
    }

    /// `POST /api/agents/{id}/state`.
    pub async fn set_agent_state(
        &self,
        agent: &str,
        request: hotline_sip::acd::StateRequest,
    ) -> Result<(), HostingError> {
        let agent = agent.to_owned();
        self.ask(|reply| HostingQuery::SetState {
            agent,
            request,
            reply,
        })
        .await
        .unwrap_or(Err(HostingError::Disabled))
    }

    /// The queues with today's figures (empty with routing `direct`).
    pub async fn queues(&self) -> Vec<hotline_sip::acd::QueueSnapshot> {
        self.ask(HostingQuery::Queues).await.unwrap_or_default()
    }

    /// The agents' ACD states and today's figures.
    pub async fn agent_states(&self) -> Vec<hotline_sip::acd::AgentSnapshot> {
        self.ask(HostingQuery::Agents).await.unwrap_or_default()
    }

    /// What the menu learned about a call (screen pop).
    pub async fn call_info(&self, call: &str) -> Option<crate::contact::CallInfo> {
        let call = call.to_owned();
        self.ask(|reply| HostingQuery::CallInfo { call, reply })
            .await
            .flatten()
    }

    /// The incident announcement's prompt, if one is set.
    pub async fn announcement(&self) -> Option<String> {
        self.ask(HostingQuery::CurrentAnnouncement).await.flatten()
    }

    /// Sets (`Some(prompt name)`) or clears the incident announcement.
    pub async fn set_announcement(
        &self,
        prompt: Option<String>,
    ) -> Result<Option<String>, HostingError> {
        self.ask(|reply| HostingQuery::Announcement { prompt, reply })
            .await
            .unwrap_or(Err(HostingError::Disabled))
    }

    /// The calls in progress; empty if the SIP core has stopped.
    pub async fn calls(&self) -> Vec<LiveCall> {
        let (tx, rx) = oneshot::channel();
        if self.core.send(CoreInput::Calls(tx)).await.is_err() {
            return Vec::new();
        }
        rx.await.unwrap_or_default()
    }
}
