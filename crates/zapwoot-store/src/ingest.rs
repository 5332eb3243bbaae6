//! Group commit for `record_inbound`: dedicated writer threads drain whatever requests are
//! queued and write them in **one** transaction (one commit, one fsync), then answer each
//! request. Under load a commit carries hundreds of events; alone, an event is written at once.
//!
//! A request whose caller gives up is still written: the transaction is never cancelled.

use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::{Arc, Mutex};
use std::thread;

use tokio::sync::oneshot;

use crate::StoreError;
use crate::backend::{Db, dispatch};
use crate::event::Recorded;
use crate::rows::EventInsert;

struct Job {
    row: EventInsert,
    reply: oneshot::Sender<Result<Recorded, StoreError>>,
}

/// Handle to the writer threads; they stop when it is dropped.
pub(crate) struct Ingest {
    jobs: Sender<Job>,
}

impl std::fmt::Debug for Ingest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Ingest")
    }
}

impl Ingest {
    pub(crate) fn start(db: &Db, writers: usize, max_batch: usize) -> Result<Self, StoreError> {
        let (jobs, queue) = mpsc::channel::<Job>();
        let queue = Arc::new(Mutex::new(queue));
        for index in 0..writers.max(1) {
            let queue = Arc::clone(&queue);
            let db = db.clone();
            thread::Builder::new()
                .name(format!("zapwoot-ingest-{index}"))
                .spawn(move || writer_loop(&db, &queue, max_batch.max(1)))
                .map_err(|e| StoreError::Task(format!("cannot start ingest writer: {e}")))?;
        }
        Ok(Self { jobs })
    }

    pub(crate) async fn submit(&self, row: EventInsert) -> Result<Recorded, StoreError> {
        let (reply, answer) = oneshot::channel();
        self.jobs
            .send(Job { row, reply })
            .map_err(|_| StoreError::Task("ingest writer stopped".to_owned()))?;
        answer
            .await
            .map_err(|_| StoreError::Task("ingest writer stopped".to_owned()))?
    }
}

fn writer_loop(db: &Db, queue: &Mutex<Receiver<Job>>, max_batch: usize) {
    loop {
        let batch = {
            let Ok(queue) = queue.lock() else { return };
            let Ok(first) = queue.recv() else { return };
            let mut batch = vec![first];
            while batch.len() < max_batch {
                match queue.try_recv() {
                    Ok(job) => batch.push(job),
                    Err(_) => break,
                }
            }
            batch
        };
        write(db, batch);
    }
}

fn write(db: &Db, batch: Vec<Job>) {
    let (rows, replies): (Vec<EventInsert>, Vec<_>) =
        batch.into_iter().map(|job| (job.row, job.reply)).unzip();
    match record_batch(db, &rows) {
        Ok(results) => {
            for (reply, result) in replies.into_iter().zip(results) {
                let _ = reply.send(Ok(result));
            }
        }
        Err(err) => {
            // One bad row (say, its instance was just deleted) must not fail its neighbours:
            // retry each on its own so every caller gets its own answer.
            tracing::debug!(error = %err, size = rows.len(), "batch insert failed; writing events one by one");
            for (reply, row) in replies.into_iter().zip(&rows) {
                let _ = reply.send(record_single(db, row));
            }
        }
    }
}

fn record_batch(db: &Db, rows: &[EventInsert]) -> Result<Vec<Recorded>, StoreError> {
    dispatch!(db, |c, q| q::record_batch(c, rows))
}

fn record_single(db: &Db, row: &EventInsert) -> Result<Recorded, StoreError> {
    dispatch!(db, |c, q| q::record_single(c, row))
}
