//! History import jobs.

use super::{Store, json_column};
use crate::backend::dispatch;
use crate::rows::{ImportInsert, ImportProgress, ImportRow};
use crate::{ImportJob, ImportState, StoreError};

/// History import jobs: their progress, so an interrupted import resumes. Borrowed from [`Imports::list`].
#[derive(Debug, Clone, Copy)]
pub struct Imports<'a> {
    store: &'a Store,
}

impl Store {
    /// History import jobs: their progress, so an interrupted import resumes.
    #[must_use]
    pub fn imports(&self) -> Imports<'_> {
        Imports { store: self }
    }
}

impl Imports<'_> {
    /// Starts an import job for `instance_id` over `[since, until)` (unix seconds) walking
    /// `chats` in order.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] when no connection can be had, [`StoreError::Query`] when
    /// the database refuses the statement.
    pub async fn create(
        &self,
        instance_id: i64,
        days: i32,
        (since, until): (i64, i64),
        chats: Vec<String>,
    ) -> Result<ImportJob, StoreError> {
        let now = self.store.now_ms();
        let row = ImportInsert {
            instance_id,
            days,
            since,
            until,
            chats: serde_json::to_string(&chats).map_err(|e| StoreError::CorruptJson {
                column: "import_jobs.chats",
                reason: e.to_string(),
            })?,
            created_at: now,
            updated_at: now,
        };
        let row = self
            .store
            .run(move |db| dispatch!(db, |c, q| q::insert_import(c, &row)))
            .await?;
        to_job(row)
    }

    /// Saves a job's progress and state; `false` if the job is gone.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] when no connection can be had, [`StoreError::Query`] when
    /// the database refuses the statement.
    pub async fn save(&self, job: &ImportJob) -> Result<bool, StoreError> {
        let now = self.store.now_ms();
        let progress = ImportProgress {
            state: job.state.as_str().to_owned(),
            chats_done: job.chats_done,
            messages_found: job.messages_found,
            messages_queued: job.messages_queued,
            error: job.error.clone(),
            updated_at: now,
            finished_at: (job.state != ImportState::Running).then_some(now),
        };
        let id = job.id;
        self.store
            .run(move |db| dispatch!(db, |c, q| q::update_import(c, id, &progress)))
            .await
    }

    /// One job.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] when no connection can be had, [`StoreError::Query`] when
    /// the database refuses the statement.
    pub async fn get(&self, id: i64) -> Result<Option<ImportJob>, StoreError> {
        self.store
            .run(move |db| dispatch!(db, |c, q| q::import_job(c, id)))
            .await?
            .map(to_job)
            .transpose()
    }

    /// The newest job of `instance_id` that did not finish (to resume).
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] when no connection can be had, [`StoreError::Query`] when
    /// the database refuses the statement.
    pub async fn unfinished(&self, instance_id: i64) -> Result<Option<ImportJob>, StoreError> {
        self.store
            .run(move |db| dispatch!(db, |c, q| q::unfinished_import(c, instance_id)))
            .await?
            .map(to_job)
            .transpose()
    }

    /// The latest 100 jobs, newest first, of one instance or all.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] when no connection can be had, [`StoreError::Query`] when
    /// the database refuses the statement.
    pub async fn list(&self, instance_id: Option<i64>) -> Result<Vec<ImportJob>, StoreError> {
        self.store
            .run(move |db| dispatch!(db, |c, q| q::list_imports(c, instance_id)))
            .await?
            .into_iter()
            .map(to_job)
            .collect()
    }
}

fn to_job(row: ImportRow) -> Result<ImportJob, StoreError> {
    Ok(ImportJob {
        id: row.id,
        instance_id: row.instance_id,
        days: row.days,
        since: row.since,
        until: row.until,
        state: ImportState::parse(&row.state).unwrap_or(ImportState::Failed),
        chats: json_column("import_jobs.chats", &row.chats)?,
        chats_done: row.chats_done,
        messages_found: row.messages_found,
        messages_queued: row.messages_queued,
        error: row.error,
        created_at_ms: row.created_at,
        updated_at_ms: row.updated_at,
        finished_at_ms: row.finished_at,
    })
}
