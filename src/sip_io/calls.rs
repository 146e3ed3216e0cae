//! Call bookkeeping at the I/O edge: what the SIP core must remember about each
//! call to write its call detail record (CDR) and recording index row, starting
//! the recorder when the call is answered, and the finalizer that writes both
//! rows once the media task has closed the recording.
//!
//! The recording row is written before the CDR because the CDR refers to it.
//!
//! The rows are written by one writer task ([`write_rows`]) fed by a channel:
//! the calls that end within [`BATCH_WINDOW`] (100 ms) of each other go in one
//! transaction ([`CallStore::insert_calls`]), so under load one commit (one
//! `fsync` with SQLite) serves many calls, and a row waits at most that long
//! in memory. [`CallBook::flush`] closes the channel on shutdown and waits for
//! the writer to write what it holds.

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use hotline_recordings::store::CallRows;
use hotline_recordings::{
    direction, recording_id, CallMeta, CallStore, Cdr, HangupBy as CdrHangupBy, Recorder,
    RecorderConfig, RecorderHandle, RecordingRow,
};
use hotline_sip::call::{CallEvent, CallId, EndReason, HangupBy};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use super::CoreInput;
use crate::media::CallReport;

/// What the core knows of one call.
#[derive(Debug)]
pub(super) struct CallRecord {
    caller_number: String,
    did: String,
    agent: Option<String>,
    arrived: SystemTime,
    answered: Option<SystemTime>,
    ended: Option<(SystemTime, HangupBy, EndReason)>,
    recording_id: Option<String>,
    report: Option<JoinHandle<CallReport>>,
    /// `None`: a call to the hotline; `Some(purpose)`: one the server placed.
    outbound: Option<&'static str>,
}

/// Epoch milliseconds of a wall-clock time.
pub(super) fn epoch_ms(t: SystemTime) -> i64 {
    t.duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// The wall-clock time of a core `Instant` (events carry `Instant`s).
fn wall(at: Instant) -> SystemTime {
    let now_i = Instant::now();
    let now_w = SystemTime::now();
    if at <= now_i {
        now_w - now_i.duration_since(at)
    } else {
        now_w + at.duration_since(now_i)
    }
}

/// The calls the core is tracking for their records.
#[derive(Debug)]
pub(super) struct CallBook {
    records: HashMap<CallId, CallRecord>,
    store: Option<CallStore>,
    recordings_dir: PathBuf,
    recorder: RecorderConfig,
    /// Where a started recorder is handed back to the core.
    core: mpsc::Sender<CoreInput>,
    finalizers: Vec<JoinHandle<()>>,
    /// The rows writer, started with the first finished call.
    writer: Option<RowsWriter>,
    /// Purposes of outbound calls placed but not reported yet.
    purposes: HashMap<CallId, &'static str>,
}

/// The channel to the rows writer task, and that task.
#[derive(Debug)]
struct RowsWriter {
    rows: mpsc::UnboundedSender<CallRows>,
    task: JoinHandle<()>,
}

/// Most calls written in one transaction.
const MAX_BATCH: usize = 256;
/// How long the writer lets more calls join a batch after the first one
/// arrives: one commit (one `fsync`) for every call that ends within it.
/// Rows wait in memory this long at most (and are written at once when the
/// server shuts down).
const BATCH_WINDOW: Duration = Duration::from_millis(100);

impl CallBook {
    pub(super) fn new(
        store: Option<CallStore>,
        recordings_dir: PathBuf,
        core: mpsc::Sender<CoreInput>,
    ) -> Self {
        Self {
            records: HashMap::new(),
            store,
            recordings_dir,
            recorder: RecorderConfig::default(),
            core,
            finalizers: Vec::new(),
            writer: None,
            purposes: HashMap::new(),
        }
    }

    /// The id the recording of `call` is (or will be) indexed under.
    pub(super) fn recording_id_of(&self, call: CallId) -> Option<String> {
        self.records.get(&call)?.recording_id.clone()
    }

    /// The agent of `call`: the one who answered, else the one rung last.
    pub(super) fn agent_of(&self, call: CallId) -> Option<&str> {
        self.records.get(&call)?.agent.as_deref()
    }

    /// Outbound call `call` was placed for `purpose` (`"survey"`,
    /// `"callback"`): its record says so.
    pub(super) fn expect_outbound(&mut self, call: CallId, purpose: &'static str) {
        if let Some(r) = self.records.get_mut(&call) {
            r.outbound = Some(purpose);
        } else {
            self.purposes.insert(call, purpose);
        }
    }

    pub(super) fn active(&self) -> usize {
        self.records.len()
    }

    /// Follows a call event; an answered call gets its recorder started.
    pub(super) fn on_event(&mut self, event: &CallEvent) {
        match event {
            CallEvent::Arrived {
                call,
                caller_number,
                did,
                at,
            } => {
                self.records.insert(
                    *call,
                    CallRecord {
                        caller_number: caller_number.clone(),
                        did: did.clone(),
                        agent: None,
                        arrived: wall(*at),
                        answered: None,
                        ended: None,
                        recording_id: None,
                        report: None,
                        outbound: None,
                    },
                );
            }
            CallEvent::Originating {
                call,
                number,
                caller_id,
                at,
            } => {
                self.records.insert(
                    *call,
                    CallRecord {
                        caller_number: number.clone(),
                        did: caller_id.clone(),
                        agent: None,
                        arrived: wall(*at),
                        answered: None,
                        ended: None,
                        recording_id: None,
                        report: None,
                        outbound: Some(self.purposes.remove(call).unwrap_or("unknown")),
                    },
                );
            }
            CallEvent::OriginAnswered { call, at } => {
                // A survey call is not recorded: the citizen talks to no one
                // (a callback's recording starts when the agent is bridged).
                if let Some(r) = self.records.get_mut(call) {
                    r.answered.get_or_insert(wall(*at));
                }
            }
            CallEvent::Ringing { call, agent } => {
                if let Some(r) = self.records.get_mut(call) {
                    r.agent = Some(agent.clone());
                }
            }
            CallEvent::Answered { call, agent, at } => {
                let Some(r) = self.records.get_mut(call) else {
                    return;
                };
                let answered = wall(*at);
                r.agent = Some(agent.clone());
                if r.recording_id.is_some() {
                    // A hosted call answered by a second agent: the recording
                    // that started with the first one goes on.
                    return;
                }
                // An outbound callback was answered by the citizen already;
                // the recording starts when the agent is bridged.
                r.answered.get_or_insert(answered);
                let id = recording_id(&call.to_string(), epoch_ms(answered));
                r.recording_id = Some(id.clone());
                self.start_recorder(*call, id, answered);
            }
            CallEvent::Ended {
                call,
                at,
                hangup_by,
                reason,
            } => {
                if let Some(r) = self.records.get_mut(call) {
                    r.ended = Some((wall(*at), *hangup_by, *reason));
                }
            }
            CallEvent::Refused { .. }
            | CallEvent::RingFailed { .. }
            | CallEvent::AgentLeft { .. }
            | CallEvent::Transferred { .. }
            | CallEvent::TransferFailed { .. }
            | CallEvent::TransferRequested { .. }
            | CallEvent::Info { .. } => {}
        }
    }

    /// The media task's report handle of a closed call.
    pub(super) fn on_media_closed(&mut self, call: CallId, report: JoinHandle<CallReport>) {
        match self.records.get_mut(&call) {
            Some(r) => r.report = Some(report),
            None => drop(report),
        }
    }

    fn start_recorder(&self, call: CallId, id: String, answered: SystemTime) {
        let day = time::OffsetDateTime::from(answered).date();
        let path = self
            .recordings_dir
            .join(format!("{:04}", day.year()))
            .join(format!("{:02}", u8::from(day.month())))
            .join(format!("{:02}", day.day()))
            .join(format!("{id}.wav"));
        let cfg = self.recorder;
        let core = self.core.clone();
        tokio::spawn(async move {
            match Recorder::start(path.clone(), &call.to_string(), cfg).await {
                Ok((handle, _join)) => {
                    let _ = core.send(CoreInput::RecorderReady { call, handle }).await;
                }
                Err(e) => {
                    tracing::error!(%call, path = %path.display(), "cannot start recording: {e}")
                }
            }
        });
    }

    /// Writes the records of every ended call (after its media report, if any).
    pub(super) fn finalize_ended(&mut self) {
        let ended: Vec<CallId> = self
            .records
            .iter()
            .filter(|(_, r)| r.ended.is_some())
            .map(|(id, _)| *id)
            .collect();
        for id in ended {
            if let Some(record) = self.records.remove(&id) {
                let rows = self.rows_sender();
                self.finalizers
                    .push(tokio::spawn(finalize(id, record, rows)));
            }
        }
        self.finalizers.retain(|f| !f.is_finished());
    }

    /// The channel to the rows writer (started on first use), or `None`
    /// without a database.
    fn rows_sender(&mut self) -> Option<mpsc::UnboundedSender<CallRows>> {
        let store = self.store.as_ref()?;
        let writer = self.writer.get_or_insert_with(|| {
            let (rows, rx) = mpsc::unbounded_channel();
            RowsWriter {
                rows,
                task: tokio::spawn(write_rows(store.clone(), rx)),
            }
        });
        Some(writer.rows.clone())
    }

    /// On shutdown: waits for the finalizers still waiting for their media
    /// reports, then for the writer to write every row they handed it.
    pub(super) async fn flush(&mut self, within: Duration) {
        let all = std::mem::take(&mut self.finalizers);
        let writer = self.writer.take();
        let _ = tokio::time::timeout(within, async {
            for f in all {
                let _ = f.await;
            }
            if let Some(RowsWriter { rows, task }) = writer {
                // The finalizers' clones are gone: the channel closes once
                // the writer has drained it.
                drop(rows);
                let _ = task.await;
            }
        })
        .await;
    }
}

/// A recorder is attached late (it opens its file off the core task); frames
/// before that are not recorded, which the recording's duration shows.
pub(super) fn recorder_ready(
    engine: &crate::media::MediaEngine<CallId>,
    call: CallId,
    handle: RecorderHandle,
) {
    if let Err(e) = engine.record(&call, handle) {
        tracing::debug!(%call, "recorder ready after the call's media ended: {e}");
    }
}

/// The rows writer: a batch is every call that ends within [`BATCH_WINDOW`]
/// of its first one (or queued while the previous batch was written), up to
/// [`MAX_BATCH`]; ends when every sender is gone and the queue is empty.
async fn write_rows(store: CallStore, mut rx: mpsc::UnboundedReceiver<CallRows>) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    while rx.recv_many(&mut batch, MAX_BATCH).await > 0 {
        let close = tokio::time::Instant::now() + BATCH_WINDOW;
        while batch.len() < MAX_BATCH {
            let room = MAX_BATCH - batch.len();
            match tokio::time::timeout_at(close, rx.recv_many(&mut batch, room)).await {
                // More rows joined; keep collecting until the window closes.
                Ok(n) if n > 0 => {}
                // Closed (shutdown: write now) or the window is over.
                Ok(_) | Err(_) => break,
            }
        }
        for (rows, errors) in batch.iter().zip(store.insert_calls(&batch).await) {
            let call = &rows.cdr.call_id;
            if let Some(e) = errors.recording {
                tracing::error!(%call, "cannot index recording: {e}");
            }
            if let Some(e) = errors.cdr {
                tracing::error!(%call, "cannot write the call record: {e}");
            }
        }
        batch.clear();
    }
}

async fn finalize(id: CallId, record: CallRecord, rows: Option<mpsc::UnboundedSender<CallRows>>) {
    let Some((ended_at, hangup_by, reason)) = record.ended else {
        return;
    };
    let report = match record.report {
        Some(h) => h.await.ok(),
        None => None,
    };
    let mut recording = None;
    if let Some(report) = &report {
        tracing::info!(
            call = %id,
            caller_in = report.stats.caller.rtp_in,
            agent_in = report.stats.agent.rtp_in,
            dropped = report.stats.caller.dropped() + report.stats.agent.dropped(),
            recorder_dropped = report.recorder_dropped_frames,
            "media closed"
        );
        match &report.recording {
            Some(Ok(summary)) => {
                let meta = CallMeta {
                    call_id: id.to_string(),
                    caller_number: record.caller_number.clone(),
                    agent_id: record.agent.clone(),
                    started_at_ms: record.answered.map_or(0, epoch_ms),
                    ended_at_ms: epoch_ms(ended_at),
                };
                let mut row = RecordingRow::new(meta, summary);
                if let Some(rid) = &record.recording_id {
                    row.id = rid.clone();
                }
                recording = Some(row);
            }
            Some(Err(e)) => tracing::error!(call = %id, "recording failed: {e}"),
            None => {}
        }
    }
    let Some(rows) = rows else {
        return;
    };
    let cdr = Cdr {
        call_id: id.to_string(),
        caller_number: record.caller_number,
        did: record.did,
        agent_id: record.agent,
        arrived_at_ms: epoch_ms(record.arrived),
        answered_at_ms: record.answered.map(epoch_ms),
        ended_at_ms: epoch_ms(ended_at),
        hangup_by: match hangup_by {
            HangupBy::Caller => CdrHangupBy::Caller,
            HangupBy::Agent => CdrHangupBy::Agent,
            HangupBy::System => CdrHangupBy::System,
        },
        reason: reason.as_str().to_owned(),
        recording_id: recording.as_ref().map(|r| r.id.clone()),
        direction: if record.outbound.is_some() {
            direction::OUTBOUND
        } else {
            direction::INBOUND
        }
        .to_owned(),
        purpose: record.outbound.map(str::to_owned),
    };
    if rows.send(CallRows { recording, cdr }).is_err() {
        tracing::error!(call = %id, "call record not written: the writer has stopped");
    }
}
