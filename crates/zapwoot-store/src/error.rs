//! [`StoreError`] and [`SealError`].

/// Why a store call failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The database URL is neither `sqlite://…` nor `postgres://…`/`postgresql://…`.
    #[error("unsupported database URL: expected sqlite://PATH or postgres://…")]
    UnsupportedUrl,
    /// The database could not be reached or a connection could not be set up.
    #[error("database unavailable: {0}")]
    Unavailable(String),
    /// An online backup ([`Store::backup_to`](crate::Store::backup_to)) could not be written.
    #[error("backup to {path} failed: {reason}")]
    Backup {
        /// The backup file.
        path: String,
        /// Why (the file exists, the backend has no online backup, an I/O error…).
        reason: String,
    },
    /// Running or reverting migrations failed.
    #[error("migration failed: {0}")]
    Migration(String),
    /// A query failed.
    #[error("database error: {0}")]
    Query(#[from] diesel::result::Error),
    /// A row with the same unique value exists (instance name, route key…).
    #[error("conflict: {0}")]
    Conflict(String),
    /// The event is no longer leased to this worker (lease expired and was re-claimed, or
    /// the event was retried). Its effects were **not** written.
    #[error("lease on event {0} lost")]
    LeaseLost(i64),
    /// Sealing or unsealing a secret failed.
    #[error(transparent)]
    Seal(#[from] SealError),
    /// A stored JSON column could not be read.
    #[error("corrupt JSON in column {column}: {reason}")]
    CorruptJson {
        /// The column.
        column: &'static str,
        /// What is wrong.
        reason: String,
    },
    /// A stored instance names a gateway kind this build does not know.
    #[error("instance {instance}: unknown gateway kind {kind:?}")]
    UnknownGatewayKind {
        /// The instance's name.
        instance: String,
        /// The stored kind.
        kind: String,
    },
    /// The blocking task running the query panicked or was aborted.
    #[error("store task failed: {0}")]
    Task(String),
}

impl StoreError {
    /// `true` when the database is unreachable, busy or read-only and the operation may succeed
    /// later
    /// (the HTTP layer answers 503 so the upstream retries).
    #[must_use]
    pub fn is_unavailable(&self) -> bool {
        matches!(self, Self::Unavailable(_) | Self::Task(_))
            || matches!(
                self,
                Self::Query(diesel::result::Error::DatabaseError(
                    diesel::result::DatabaseErrorKind::UnableToSendCommand
                        | diesel::result::DatabaseErrorKind::ClosedConnection
                        | diesel::result::DatabaseErrorKind::ReadOnlyTransaction,
                    _
                ))
            )
    }
}

impl From<diesel::r2d2::PoolError> for StoreError {
    fn from(err: diesel::r2d2::PoolError) -> Self {
        Self::Unavailable(err.to_string())
    }
}

/// Why a secret could not be sealed or opened. Never contains secret material.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SealError {
    /// A secret must be stored but no sealing key is configured.
    #[error(
        "a secret must be stored but no sealing key is configured (set ZAPWOOT_SECRET_KEY to 32 random bytes in base64)"
    )]
    KeyMissing,
    /// The sealing key text is not base64 of exactly 32 bytes.
    #[error("sealing key must be base64 of exactly 32 bytes")]
    InvalidKey,
    /// The secret was sealed under a key that is not configured.
    #[error(
        "secret was sealed under key id {found}, but the configured keys are [{configured}]: wrong ZAPWOOT_SECRET_KEY?"
    )]
    UnknownKey {
        /// Key id in the stored value.
        found: String,
        /// Ids of the configured keys.
        configured: String,
    },
    /// The stored value is not a sealed secret or fails authentication (tampered or corrupt).
    #[error("sealed secret is corrupt or was tampered with")]
    Corrupt,
    /// The system random number generator failed.
    #[error("the system random number generator failed")]
    Random,
}
