//! History import: the last N days of the gateway's chats into Chatwoot, oldest first per
//! chat, each message filed under the dedupe key of its webhook (running it twice, or after a
//! crash, creates nothing twice). The engine relays what is queued at the instance's Chatwoot
//! rate; each chat's messages are also spaced to stay under Chatwoot's ~200 messages per
//! minute per conversation.

use std::time::{Duration, SystemTime};

use zapwoot_gateway::Jid;
use zapwoot_store::{ImportJob, ImportState};

use crate::activity::{ActivityKind, ImportProgress};
use crate::{Activity, Engine, SyncError};

/// Spacing of one chat's imported messages (at most 200 a minute).
const PER_CONVERSATION_GAP: Duration = Duration::from_millis(300);

impl Engine {
    /// Imports the last `days` days of instance `instance_id`'s chats from its gateway:
    /// [`start_import`](Self::start_import) then [`run_import`](Self::run_import).
    ///
    /// # Errors
    /// As [`start_import`](Self::start_import) and [`run_import`](Self::run_import).
    pub async fn import_history<F>(
        &self,
        instance_id: i64,
        days: u32,
        progress: F,
    ) -> Result<ImportJob, SyncError>
    where
        F: FnMut(&ImportJob) + Send,
    {
        let job = self.start_import(instance_id, days).await?;
        self.run_import(job, progress).await
    }

    /// The import job for the last `days` days of instance `instance_id`: the instance's
    /// unfinished import of the same length if there is one (same window and chat list),
    /// else a new one over the gateway's chats active in that window.
    ///
    /// # Errors
    /// [`SyncError::Config`] when the instance is not running or its gateway keeps no chat
    /// list; store errors.
    pub async fn start_import(&self, instance_id: i64, days: u32) -> Result<ImportJob, SyncError> {
        let runtime = self.runtime(instance_id).ok_or_else(|| SyncError::Config {
            instance: instance_id.to_string(),
            reason: "not running".to_owned(),
        })?;
        let days_i32 = i32::try_from(days).unwrap_or(i32::MAX);
        if let Some(job) = self
            .store()
            .imports()
            .unfinished(instance_id)
            .await?
            .filter(|job| job.days == days_i32)
        {
            return Ok(job);
        }
        let now = unix_secs(SystemTime::now());
        let since = now - i64::from(days) * 86_400;
        let chats = runtime
            .gateway
            .chats(since)
            .await
            .map_err(|e| SyncError::Config {
                instance: runtime.name.clone(),
                reason: format!("the gateway's chat list: {e}"),
            })?;
        let chats = chats.into_iter().map(|c| c.jid.to_string()).collect();
        Ok(self
            .store()
            .imports()
            .create(instance_id, days_i32, (since, now + 60), chats)
            .await?)
    }

    /// Walks `job`'s chats from the first unfinished one, oldest message first per chat.
    /// `progress` is called after each chat; the job is saved then too, and announced as
    /// `import` activity. Returns the job: `Done`, or `Failed` with the gateway's error (run
    /// it again to resume).
    ///
    /// # Errors
    /// [`SyncError::Config`] when the instance is not running; store errors.
    pub async fn run_import<F>(
        &self,
        mut job: ImportJob,
        mut progress: F,
    ) -> Result<ImportJob, SyncError>
    where
        F: FnMut(&ImportJob) + Send,
    {
        let runtime = self
            .runtime(job.instance_id)
            .ok_or_else(|| SyncError::Config {
                instance: job.instance_id.to_string(),
                reason: "not running".to_owned(),
            })?;
        job.state = ImportState::Running;
        job.error = None;
        self.store().imports().save(&job).await?;
        let start = usize::try_from(job.chats_done).unwrap_or(0);
        for chat in job.chats.clone().iter().skip(start) {
            let Ok(jid) = Jid::parse(chat) else {
                job.chats_done += 1;
                continue;
            };
            let messages = match runtime.gateway.history(&jid, job.since, job.until).await {
                Ok(m) => m,
                Err(e) => {
                    job.state = ImportState::Failed;
                    job.error = Some(format!("{chat}: {e}"));
                    self.store().imports().save(&job).await?;
                    self.announce_import(&runtime, &job);
                    progress(&job);
                    return Ok(job);
                }
            };
            let base = unix_ms(SystemTime::now());
            let gap = i64::try_from(PER_CONVERSATION_GAP.as_millis()).unwrap_or(300);
            for (i, message) in messages.iter().enumerate() {
                job.messages_found += 1;
                let not_before = base + gap * i64::try_from(i).unwrap_or(i64::MAX / gap);
                if self
                    .record_history(&runtime, message, Some(not_before))
                    .await?
                {
                    job.messages_queued += 1;
                }
            }
            job.chats_done += 1;
            self.store().imports().save(&job).await?;
            self.notify();
            self.announce_import(&runtime, &job);
            progress(&job);
        }
        job.state = ImportState::Done;
        self.store().imports().save(&job).await?;
        self.announce_import(&runtime, &job);
        progress(&job);
        Ok(job)
    }

    fn announce_import(&self, runtime: &crate::InstanceRuntime, job: &ImportJob) {
        self.activity().publish(Activity::new(
            &runtime.name,
            ActivityKind::Import(ImportProgress {
                job_id: job.id,
                state: job.state.as_str().to_owned(),
                days: job.days,
                chats_done: job.chats_done,
                chats_total: job.chats.len(),
                messages_found: job.messages_found,
                messages_queued: job.messages_queued,
                error: job.error.clone(),
            }),
        ));
    }
}

fn unix_ms(time: SystemTime) -> i64 {
    time.duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

fn unix_secs(time: SystemTime) -> i64 {
    unix_ms(time) / 1000
}
