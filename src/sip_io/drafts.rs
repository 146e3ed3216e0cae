//! Every answered hotline call leaves a record (measures §15, §16.1): the SIP
//! core opens a work-order *draft* when an agent answers, linked to the call,
//! the caller's number and the menu path, for the agent to complete from the
//! workstation; an emergency transfer made during the call is attached to it
//! (§9, §14). A transfer made from the menu, before any agent, opens a draft
//! of its own (agent `ivr`) so that supervisors see it among the open drafts.
//!
//! The database work runs off the SIP core: one small task per call takes the
//! call's operations in order (open, then attach), so a transfer that ends
//! before the draft is written still lands on it.

use std::collections::HashMap;

use std::time::Instant;

use hotline_sip::call::{CallEvent, CallId};
use hotline_ticketing::actor::{Actor, UserId};
use hotline_ticketing::draft::CallInfo;
use hotline_ticketing::emergency::{EmergencyLine, EmergencyLinkage, LinkageOutcome};
use hotline_ticketing::store::{AuditEntry, Store};
use time::OffsetDateTime;
use tokio::sync::mpsc;

/// The id the call side writes drafts as.
const CALL_SIDE: &str = "call-side";
/// The "agent" of a draft opened for a transfer from the menu.
const MENU_AGENT: &str = "ivr";

enum DraftOp {
    Open(CallInfo),
    Attach(EmergencyLinkage),
}

/// Opens drafts and attaches emergency transfers, in order per call.
pub(super) struct DraftWriter {
    store: Store,
    calls: HashMap<CallId, mpsc::UnboundedSender<DraftOp>>,
}

impl DraftWriter {
    pub(super) fn new(store: Store) -> Self {
        Self {
            store,
            calls: HashMap::new(),
        }
    }

    fn queue(&mut self, call: CallId) -> &mpsc::UnboundedSender<DraftOp> {
        let store = self.store.clone();
        self.calls.entry(call).or_insert_with(|| {
            let (tx, rx) = mpsc::unbounded_channel();
            tokio::spawn(run(store, call, rx));
            tx
        })
    }

    /// Opens the draft of `call`.
    fn answered(
        &mut self,
        call: CallId,
        caller_number: &str,
        agent: &str,
        ivr_path: Vec<String>,
        recording_id: Option<String>,
    ) {
        let info = CallInfo {
            call_id: call.to_string(),
            caller_number: Some(caller_number.to_owned()).filter(|n| n != "anonymous"),
            ivr_path,
            recording_id,
            agent: UserId(agent.to_owned()),
            answered_at: OffsetDateTime::now_utc(),
        };
        let _ = self.queue(call).send(DraftOp::Open(info));
    }

    /// An emergency transfer of `call` ended. `agent` is who transferred
    /// (`None` from the menu: a draft is opened for it first).
    pub(super) fn transfer(
        &mut self,
        call: CallId,
        caller_number: &str,
        number: &str,
        agent: Option<&str>,
        outcome: &str,
        at: OffsetDateTime,
    ) {
        let Some(line) = line(number) else {
            return;
        };
        let has_draft = self.calls.contains_key(&call);
        if agent.is_none() && !has_draft {
            self.answered(
                call,
                caller_number,
                MENU_AGENT,
                vec!["emergency".into()],
                None,
            );
        }
        let linkage = EmergencyLinkage {
            line,
            at,
            agent: UserId(agent.unwrap_or(MENU_AGENT).to_owned()),
            call_id: call.to_string(),
            outcome: linkage_outcome(outcome),
            note: None,
        };
        let _ = self.queue(call).send(DraftOp::Attach(linkage));
    }

    /// An agent answered `call`; a call answered again (after a first agent
    /// hung up) keeps its first draft.
    pub(super) fn answered_once(
        &mut self,
        call: CallId,
        caller_number: &str,
        agent: &str,
        ivr_path: Vec<String>,
        recording_id: Option<String>,
    ) {
        if !self.calls.contains_key(&call) {
            self.answered(call, caller_number, agent, ivr_path, recording_id);
        }
    }

    /// The call is over: its task ends once its operations are written.
    pub(super) fn ended(&mut self, call: CallId) {
        self.calls.remove(&call);
    }
}

async fn run(store: Store, call: CallId, mut rx: mpsc::UnboundedReceiver<DraftOp>) {
    let actor = Actor::system(CALL_SIDE);
    let mut draft = None;
    while let Some(op) = rx.recv().await {
        let who = AuditEntry::system(now_ms());
        match op {
            DraftOp::Open(info) => {
                match store
                    .open_draft(info, &actor, OffsetDateTime::now_utc(), &who)
                    .await
                {
                    Ok(d) => {
                        tracing::info!(%call, draft = d.id, "work-order draft opened");
                        draft = Some(d.id);
                    }
                    Err(e) => tracing::error!(%call, "cannot open the call's draft: {e}"),
                }
            }
            DraftOp::Attach(linkage) => match draft {
                Some(id) => {
                    if let Err(e) = store.attach_emergency(id, linkage, &who).await {
                        tracing::error!(%call, draft = id, "cannot attach the emergency transfer: {e}");
                    }
                }
                None => tracing::error!(%call, "emergency transfer without a draft to attach to"),
            },
        }
    }
}

fn now_ms() -> i64 {
    i64::try_from(OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000).unwrap_or(0)
}

fn line(number: &str) -> Option<EmergencyLine> {
    Some(match number {
        "110" => EmergencyLine::Police,
        "119" => EmergencyLine::Fire,
        "120" => EmergencyLine::Ambulance,
        "122" => EmergencyLine::Traffic,
        _ => return None,
    })
}

/// `connected`, or `failed:<status>`: busy and no answer are "not answered".
fn linkage_outcome(outcome: &str) -> LinkageOutcome {
    match outcome {
        "connected" => LinkageOutcome::Connected,
        o if [
            "failed:486",
            "failed:600",
            "failed:480",
            "failed:408",
            "failed:487",
        ]
        .contains(&o) =>
        {
            LinkageOutcome::NotAnswered
        }
        _ => LinkageOutcome::Failed,
    }
}

impl super::Core {
    /// A live call's view (its caller, whether it is internal).
    pub(super) fn caller_of(&self, call: CallId) -> Option<hotline_sip::call::CallView> {
        self.endpoint.calls().into_iter().find(|c| c.id == call)
    }

    /// Drafts: opened when an agent first answers a hotline call.
    pub(super) fn draft_event(&mut self, ev: &CallEvent) {
        match ev {
            CallEvent::Answered { call, agent, .. } => {
                let Some(view) = self.caller_of(*call) else {
                    return;
                };
                if view.internal {
                    return;
                }
                let path = self
                    .centre
                    .as_ref()
                    .and_then(|c| c.call_info(Instant::now(), *call))
                    .map(|i| i.ivr_path)
                    .unwrap_or_default();
                let recording = self.book.recording_id_of(*call);
                if let Some(d) = self.drafts.as_mut() {
                    d.answered_once(*call, &view.caller_number, agent, path, recording);
                }
            }
            CallEvent::Ended { call, .. } => {
                if let Some(d) = self.drafts.as_mut() {
                    d.ended(*call);
                }
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outcomes_and_lines_map() {
        assert_eq!(linkage_outcome("connected"), LinkageOutcome::Connected);
        assert_eq!(linkage_outcome("failed:486"), LinkageOutcome::NotAnswered);
        assert_eq!(linkage_outcome("failed:408"), LinkageOutcome::NotAnswered);
        assert_eq!(linkage_outcome("failed:503"), LinkageOutcome::Failed);
        assert_eq!(line("119"), Some(EmergencyLine::Fire));
        assert_eq!(line("13811012345"), None);
    }
}
