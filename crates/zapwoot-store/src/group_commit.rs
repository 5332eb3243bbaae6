//! Group commit: dedicated writer threads drain whatever jobs are queued and write them in
//! **one** transaction (one commit, one fsync), then answer each job. Under load a commit
//! carries hundreds of jobs; alone, a job is written at once.
//!
//! A job whose caller gives up is still written: the transaction is never cancelled.

use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::{Arc, Mutex};
use std::thread;

use tokio::sync::oneshot;

use crate::StoreError;
use crate::backend::Db;

/// Writes a batch of jobs in one transaction; returns one answer per job, in order, or the
/// error that stopped the whole transaction (then each job is written again on its own, so
/// every caller gets its own answer and one bad job does not fail its neighbours).
pub(crate) type WriteBatch<J, R> = fn(&Db, &[J]) -> Result<Vec<Result<R, StoreError>>, StoreError>;

struct Queued<J, R> {
    job: J,
    reply: oneshot::Sender<Result<R, StoreError>>,
}

/// Handle to the writer threads; they stop when it is dropped.
pub(crate) struct GroupCommit<J, R> {
    name: &'static str,
    jobs: Sender<Queued<J, R>>,
}

impl<J, R> std::fmt::Debug for GroupCommit<J, R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GroupCommit")
            .field("name", &self.name)
            .finish()
    }
}

impl<J: Send + 'static, R: Send + 'static> GroupCommit<J, R> {
    /// Starts `writers` threads (`zapwoot-{name}-N`) writing up to `max_batch` jobs at a time.
    pub(crate) fn start(
        name: &'static str,
        db: &Db,
        writers: usize,
        max_batch: usize,
        write: WriteBatch<J, R>,
    ) -> Result<Self, StoreError> {
        let (jobs, queue) = mpsc::channel::<Queued<J, R>>();
        let queue = Arc::new(Mutex::new(queue));
        for index in 0..writers.max(1) {
            let queue = Arc::clone(&queue);
            let db = db.clone();
            thread::Builder::new()
                .name(format!("zapwoot-{name}-{index}"))
                .spawn(move || writer_loop(&db, &queue, max_batch.max(1), write))
                .map_err(|e| StoreError::Task(format!("cannot start the {name} writer: {e}")))?;
        }
        Ok(Self { name, jobs })
    }

    /// Queues `job` and waits for its answer (after its batch is committed).
    pub(crate) async fn submit(&self, job: J) -> Result<R, StoreError> {
        let stopped = || StoreError::Task(format!("the {} writer stopped", self.name));
        let (reply, answer) = oneshot::channel();
        self.jobs
            .send(Queued { job, reply })
            .map_err(|_| stopped())?;
        answer.await.map_err(|_| stopped())?
    }
}

fn writer_loop<J, R>(
    db: &Db,
    queue: &Mutex<Receiver<Queued<J, R>>>,
    max_batch: usize,
    write: WriteBatch<J, R>,
) {
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
        let (jobs, replies): (Vec<J>, Vec<_>) = batch.into_iter().map(|q| (q.job, q.reply)).unzip();
        let answers = match write(db, &jobs) {
            Ok(answers) => answers,
            // A batch of one already was "one by one": its error is its answer.
            Err(err) if jobs.len() == 1 => vec![Err(err)],
            Err(err) => {
                tracing::debug!(error = %err, size = jobs.len(), "batch failed; writing its jobs one by one");
                jobs.iter()
                    .map(|job| {
                        write(db, std::slice::from_ref(job)).and_then(|mut answers| {
                            answers.pop().unwrap_or_else(|| {
                                Err(StoreError::Task("batch answered short".to_owned()))
                            })
                        })
                    })
                    .collect()
            }
        };
        let mut answers = answers.into_iter();
        for reply in replies {
            let answer = answers
                .next()
                .unwrap_or_else(|| Err(StoreError::Task("batch answered short".to_owned())));
            let _ = reply.send(answer);
        }
    }
}
