//! The SIP core's side of automatic callbacks (`callbacks_first` queues,
//! `crate::contact` decides): loading the open requests at start-up, placing
//! a [`Command::PlaceCallback`](crate::contact::Command::PlaceCallback) with
//! `Endpoint::originate_callback`, and storing requests and their outcomes.
//!
//! Writes to `callback_requests` go through one writer task, in order, so an
//! outcome can never be written before the request's own insert (a callback
//! may be dialled a few milliseconds after it was requested).

use std::time::{Duration, Instant, SystemTime};

use hotline_sip::outbound::OriginateError;
use tokio::sync::mpsc;

use super::calls::epoch_ms;
use super::Core;
use crate::contact::records::{CallbackRow, ContactRecords};
use crate::contact::{CallbackUpdate, ContactCentre, NotPlaced, OpenCallback};

/// A write to `callback_requests`, done in order by the writer task.
#[derive(Debug)]
pub(super) enum CallbackWrite {
    Insert(CallbackRow),
    Update {
        id: String,
        status: &'static str,
        attempts: i64,
        retry_at_ms: Option<i64>,
    },
}

/// Starts the writer task over `records`.
pub(super) fn writer(records: ContactRecords) -> mpsc::UnboundedSender<CallbackWrite> {
    let (tx, mut rx) = mpsc::unbounded_channel::<CallbackWrite>();
    tokio::spawn(async move {
        while let Some(w) = rx.recv().await {
            match w {
                CallbackWrite::Insert(row) => {
                    if let Err(e) = records.insert_callback(&row).await {
                        tracing::error!(call = %row.call_id, "cannot store the callback request: {e}");
                    }
                }
                CallbackWrite::Update {
                    id,
                    status,
                    attempts,
                    retry_at_ms,
                } => {
                    if let Err(e) = records
                        .update_callback_attempt(&id, status, attempts, retry_at_ms)
                        .await
                    {
                        tracing::error!(%id, "cannot store the callback outcome: {e}");
                    }
                }
            }
        }
    });
    tx
}

/// Turns automatic callbacks on for the `callbacks_first` queues when an
/// outbound trunk is configured (logged once otherwise), and gives the
/// centre the open requests stored before the start.
pub(super) async fn start(
    centre: &mut ContactCentre,
    config: &hotline_config::Config,
    has_trunk: bool,
    records: Option<&ContactRecords>,
) {
    let queues: Vec<String> = config
        .queues
        .iter()
        .filter(|q| q.callbacks_first)
        .map(|q| q.name.clone())
        .collect();
    if queues.is_empty() {
        return;
    }
    if !has_trunk {
        tracing::warn!(
            ?queues,
            "no [trunk.outbound]: callback requests of callbacks_first queues are not dialled automatically"
        );
        return;
    }
    let now = Instant::now();
    centre.set_callback_queues(now, queues.clone());
    let Some(records) = records else {
        return;
    };
    let rows = match records.open_callbacks(&queues).await {
        Ok(rows) => rows,
        Err(e) => {
            tracing::error!("cannot load the open callback requests: {e}");
            return;
        }
    };
    let now_ms = epoch_ms(SystemTime::now());
    tracing::info!(open = rows.len(), "callback requests to dial automatically");
    for r in rows {
        let not_before = r
            .retry_at_ms
            .filter(|&t| t > now_ms)
            .map(|t| now + Duration::from_millis(u64::try_from(t - now_ms).unwrap_or(0)));
        centre.add_callback(
            now,
            OpenCallback {
                id: r.id,
                number: r.number,
                queue: r.queue,
                attempts: u32::try_from(r.attempts).unwrap_or(u32::MAX),
                not_before,
            },
        );
    }
}

/// Whether a callback that could not be placed may be tried again.
fn retry_kind(e: &OriginateError) -> NotPlaced {
    match e {
        OriginateError::BadNumber(_) | OriginateError::Build(_) => NotPlaced::Never,
        _ => NotPlaced::Later,
    }
}

impl Core {
    /// Stores a new callback request and, for a `callbacks_first` queue,
    /// hands it to the centre for automatic dialling.
    pub(super) fn save_callback_request(&mut self, row: CallbackRow) {
        if let (Some(c), Some(queue)) = (self.centre.as_mut(), row.queue.clone()) {
            c.add_callback(
                Instant::now(),
                OpenCallback {
                    id: row.id.clone(),
                    number: row.number.clone(),
                    queue,
                    attempts: 0,
                    not_before: None,
                },
            );
        }
        if let Some(w) = &self.callback_writes {
            let _ = w.send(CallbackWrite::Insert(row));
        }
    }

    /// `Command::PlaceCallback`: the agent's phone, then the citizen.
    pub(super) fn place_queued_callback(&mut self, request: &str, agent: &str, number: &str) {
        let now = Instant::now();
        match self.endpoint.originate_callback(now, agent, number) {
            Ok(call) => {
                tracing::info!(%call, %request, %agent, purpose = "callback", "callback request dialled");
                self.book.expect_outbound(call, "callback");
                if let Some(c) = self.centre.as_mut() {
                    c.callback_placed(agent, call);
                }
            }
            Err(e) => {
                tracing::info!(%request, %agent, purpose = "callback", "callback request not placed: {e}");
                if let Some(c) = self.centre.as_mut() {
                    c.callback_not_placed(now, agent, retry_kind(&e));
                }
            }
        }
    }

    /// `Command::UpdateCallback`: the outcome of an attempt.
    pub(super) fn store_callback_outcome(&mut self, u: CallbackUpdate) {
        tracing::info!(request = %u.id, status = u.status, attempts = u.attempts, agent = %u.agent, call = ?u.call, "callback request outcome");
        let retry_at_ms = u.retry_after.map(|d| {
            epoch_ms(SystemTime::now()).saturating_add(i64::try_from(d.as_millis()).unwrap_or(0))
        });
        if let Some(w) = &self.callback_writes {
            let _ = w.send(CallbackWrite::Update {
                id: u.id,
                status: u.status,
                attempts: i64::from(u.attempts),
                retry_at_ms,
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_undialable_numbers_are_never_retried() {
        assert_eq!(
            retry_kind(&OriginateError::BadNumber("x".into())),
            NotPlaced::Never
        );
        for e in [
            OriginateError::NotConfigured,
            OriginateError::Concurrency(1),
            OriginateError::AgentBusy("a".into()),
            OriginateError::NoPorts,
        ] {
            assert_eq!(retry_kind(&e), NotPlaced::Later, "{e}");
        }
    }
}
