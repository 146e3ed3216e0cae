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

    fn centre(config: &hotline_config::Config) -> ContactCentre {
        let menu = hotline_ivr::Menu::load(config).expect("the default menu");
        let acd = hotline_sip::acd::Acd::new(crate::contact::acd_settings(config), Instant::now())
            .expect("ACD");
        ContactCentre::new(std::sync::Arc::new(menu), acd, false, None)
    }

    fn row(id: &str, queue: &str, status: &str, at: i64) -> CallbackRow {
        CallbackRow {
            id: id.into(),
            call_id: format!("call-{id}"),
            caller_number: "13800138000".into(),
            number: "13800138000".into(),
            queue: Some(queue.into()),
            reason: "max_wait".into(),
            language: "cmn".into(),
            requested_at_ms: at,
            status: status.into(),
        }
    }

    #[tokio::test]
    async fn open_requests_of_callbacks_first_queues_are_reloaded_only_with_a_trunk() {
        let dir = tempfile::tempdir().expect("temp dir");
        let url = format!("sqlite://{}/t.db", dir.path().display());
        let (calls, _tickets) = crate::server::open_database(&url).await.expect("database");
        let records = ContactRecords::new(calls.pool().clone());
        for r in [
            row("r2", "general", "open", 2),
            row("r1", "general", "open", 1),
            row("r3", "consumer", "open", 3),
            row("r4", "general", "done", 0),
        ] {
            records.insert_callback(&r).await.expect("insert");
        }
        let later = epoch_ms(SystemTime::now()) + 3_600_000;
        records
            .update_callback_attempt("r2", "open", 1, Some(later))
            .await
            .expect("update");
        let mut config = hotline_config::Config::builtin_default();
        for q in &mut config.queues {
            q.callbacks_first = q.name == "general";
        }

        let mut c = centre(&config);
        start(&mut c, &config, true, Some(&records)).await;
        let open = c.open_callbacks("general");
        let ids: Vec<&str> = open.iter().map(|r| r.id.as_str()).collect();
        assert_eq!(ids, ["r1", "r2"], "open ones, oldest first");
        assert_eq!((open[0].attempts, open[0].not_before), (0, None));
        assert_eq!(open[1].attempts, 1);
        assert!(
            open[1].not_before.is_some_and(|t| t > Instant::now()),
            "the retry time is kept"
        );
        assert!(c.open_callbacks("consumer").is_empty());

        let mut c = centre(&config);
        start(&mut c, &config, false, Some(&records)).await;
        assert!(c.open_callbacks("general").is_empty(), "no trunk: nothing");
    }

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
