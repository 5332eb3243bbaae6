//! History import jobs: an operator asks for the last N days of a gateway's chats in
//! Chatwoot; the job remembers the window and the chat list, so a crashed import resumes
//! where it stopped.

/// Where an import stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ImportState {
    /// Walking the chats (or interrupted: resumable).
    Running,
    /// Every chat walked.
    Done,
    /// Stopped by an error (see `error`); starting again resumes it.
    Failed,
}

impl ImportState {
    /// The stored name.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Running => "running",
            Self::Done => "done",
            Self::Failed => "failed",
        }
    }

    /// Parses a stored name.
    #[must_use]
    pub fn parse(text: &str) -> Option<Self> {
        Some(match text {
            "running" => Self::Running,
            "done" => Self::Done,
            "failed" => Self::Failed,
            _ => return None,
        })
    }
}

/// An import job.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ImportJob {
    /// Store id.
    pub id: i64,
    /// The instance.
    pub instance_id: i64,
    /// Days asked for.
    pub days: i32,
    /// Window start, unix seconds.
    pub since: i64,
    /// Window end, unix seconds.
    pub until: i64,
    /// State.
    pub state: ImportState,
    /// The chats to walk (JIDs), fixed when the job started.
    pub chats: Vec<String>,
    /// Chats walked.
    pub chats_done: i32,
    /// Messages the gateway returned so far.
    pub messages_found: i32,
    /// Of those, queued now (the rest were already bridged).
    pub messages_queued: i32,
    /// Why it failed.
    pub error: Option<String>,
    /// Started, unix milliseconds.
    pub created_at_ms: i64,
    /// Last progress, unix milliseconds.
    pub updated_at_ms: i64,
    /// Finished, unix milliseconds.
    pub finished_at_ms: Option<i64>,
}
