//! Writing the rows of many finished calls at once ("group commit").
//!
//! Every call ends with a recording row and a CDR. Written one by one, each is
//! its own transaction, and with SQLite each transaction is a WAL commit with
//! an `fsync`: under load that is most of the database's cost per call. The
//! server's writer task instead hands [`CallStore::insert_calls`] every call
//! that finished while the previous batch was being written, and they all go
//! in one transaction. Nothing waits for a batch to fill, so a lone call is
//! written as soon as it ends.
//!
//! A batch is all-or-nothing in the database; if its transaction fails (one bad
//! row, say a duplicate id), the calls are written again one by one, so a bad
//! row costs only its own call, with the same rules as the single inserts: a
//! recording row that cannot be written leaves the CDR without its
//! `recording_id`.

use super::{cdr_insert, recording_insert, CallStore, Cdr, RecordingRow};
use crate::Result;

/// The rows of one finished call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallRows {
    /// Its recording, if one was made; written first (the CDR refers to it).
    pub recording: Option<RecordingRow>,
    /// Its call detail record; `recording_id` should name `recording`.
    pub cdr: Cdr,
}

/// What happened to one call of a batch written row by row.
#[derive(Debug)]
pub struct CallWriteErrors {
    /// The recording row could not be written (the CDR was written without it).
    pub recording: Option<crate::Error>,
    /// The CDR could not be written.
    pub cdr: Option<crate::Error>,
}

impl CallStore {
    /// Writes the rows of `calls` in one transaction; if that fails, one call
    /// at a time. Returns, per call in order, the errors of its rows (all
    /// `None` when everything was written).
    pub async fn insert_calls(&self, calls: &[CallRows]) -> Vec<CallWriteErrors> {
        if self.insert_calls_at_once(calls).await.is_ok() {
            return calls
                .iter()
                .map(|_| CallWriteErrors {
                    recording: None,
                    cdr: None,
                })
                .collect();
        }
        let mut out = Vec::with_capacity(calls.len());
        for call in calls {
            out.push(self.insert_call(call).await);
        }
        out
    }

    async fn insert_calls_at_once(&self, calls: &[CallRows]) -> Result<()> {
        let mut tx = self.pool.begin().await?;
        for call in calls {
            if let Some(r) = &call.recording {
                recording_insert(r).execute(&mut *tx).await?;
            }
            cdr_insert(&call.cdr).execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn insert_call(&self, call: &CallRows) -> CallWriteErrors {
        let mut recording = None;
        let mut cdr = call.cdr.clone();
        if let Some(r) = &call.recording {
            if let Err(e) = self.insert_recording(r).await {
                recording = Some(e);
                cdr.recording_id = None;
            }
        }
        CallWriteErrors {
            recording,
            cdr: self.insert_cdr(&cdr).await.err(),
        }
    }
}
