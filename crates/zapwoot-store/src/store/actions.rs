//! Actions: who (the admin token or which key) changed what, and when.

use super::Store;
use crate::StoreError;
use crate::backend::dispatch;
use crate::rows::{ActionInsert, ActionRow};

/// A recorded action.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Action {
    /// Its id.
    pub id: i64,
    /// When, ms since the Unix epoch.
    pub at_ms: i64,
    /// Who: `admin` (the admin token) or `key:<id>`.
    pub actor: String,
    /// What (`message.send`, `event.retry`, `instance.update`, …).
    pub action: String,
    /// The instance it concerned, if one.
    pub instance_id: Option<i64>,
    /// What it acted on (`event:42`, `subscription:3`, `message:9`), if anything.
    pub target: Option<String>,
}

/// An action to record.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct NewAction {
    /// Who.
    pub actor: String,
    /// What.
    pub action: String,
    /// The instance it concerned.
    pub instance_id: Option<i64>,
    /// What it acted on.
    pub target: Option<String>,
}

impl NewAction {
    /// `actor` did `action`, about nothing in particular yet.
    #[must_use]
    pub fn new(actor: impl Into<String>, action: impl Into<String>) -> Self {
        Self {
            actor: actor.into(),
            action: action.into(),
            instance_id: None,
            target: None,
        }
    }
}

/// Which actions to list.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ActionFilter {
    /// Only of these instances (all when `None`).
    pub instances: Option<Vec<i64>>,
    /// Only on this target.
    pub target: Option<String>,
    /// At most this many, newest first (default 50).
    pub limit: Option<i64>,
}

/// Actions, borrowed from [`Store::actions`].
#[derive(Debug, Clone, Copy)]
pub struct Actions<'a> {
    store: &'a Store,
}

impl Store {
    /// The record of who changed what.
    #[must_use]
    pub fn actions(&self) -> Actions<'_> {
        Actions { store: self }
    }
}

impl Actions<'_> {
    /// Records `action` now.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] or [`StoreError::Query`].
    pub async fn record(&self, action: NewAction) -> Result<(), StoreError> {
        let row = ActionInsert {
            at: self.store.now_ms(),
            actor: action.actor,
            action: action.action,
            instance_id: action.instance_id,
            target: action.target,
        };
        self.store
            .run(move |db| dispatch!(db, |c, q| q::insert_action(c, &row)))
            .await
    }

    /// The actions `filter` selects, newest first.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] or [`StoreError::Query`].
    pub async fn list(&self, filter: ActionFilter) -> Result<Vec<Action>, StoreError> {
        let limit = filter.limit.unwrap_or(50).clamp(1, 500);
        let rows = self
            .store
            .run(move |db| {
                dispatch!(db, |c, q| q::actions(
                    c,
                    filter.instances.as_deref(),
                    filter.target.as_deref(),
                    limit
                ))
            })
            .await?;
        Ok(rows.into_iter().map(to_action).collect())
    }
}

fn to_action(row: ActionRow) -> Action {
    Action {
        id: row.id,
        at_ms: row.at,
        actor: row.actor,
        action: row.action,
        instance_id: row.instance_id,
        target: row.target,
    }
}
