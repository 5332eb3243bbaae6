//! The live activity stream: numbers each [`Activity`] of the engine, keeps the most recent
//! ones for `Last-Event-ID` resume, and fans them out to SSE clients.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use tokio::sync::broadcast;
use zapwoot_sync::{Activity, ActivityBus, ActivityKind};

use crate::metrics::{Metrics, labels};

/// An activity with its stream id.
#[derive(Debug, Clone)]
pub(crate) struct Numbered {
    pub(crate) id: u64,
    pub(crate) activity: Activity,
}

/// The numbered log.
#[derive(Debug)]
pub(crate) struct ActivityLog {
    recent: Mutex<VecDeque<Numbered>>,
    capacity: usize,
    sender: broadcast::Sender<Numbered>,
}

impl ActivityLog {
    /// Starts numbering `bus`'s records (keeps `capacity` for resume) and counting them.
    pub(crate) fn start(bus: &ActivityBus, capacity: usize, metrics: Arc<Metrics>) -> Arc<Self> {
        let log = Arc::new(Self {
            recent: Mutex::new(VecDeque::with_capacity(capacity)),
            capacity,
            sender: broadcast::channel(capacity.max(16)).0,
        });
        let mut receiver = bus.subscribe();
        let weak = Arc::downgrade(&log);
        tokio::spawn(async move {
            let mut next = 1;
            loop {
                let activity = match receiver.recv().await {
                    Ok(a) => a,
                    Err(broadcast::error::RecvError::Lagged(n)) => {
                        tracing::warn!(missed = n, "activity log lagged");
                        continue;
                    }
                    Err(broadcast::error::RecvError::Closed) => return,
                };
                let Some(log) = weak.upgrade() else { return };
                metrics.inc(
                    "zapwoot_activity_total",
                    labels(&[("instance", &activity.instance), ("type", activity.name())]),
                );
                if let ActivityKind::Reconciled(pass) = &activity.kind {
                    metrics.add(
                        "zapwoot_reconciled_total",
                        labels(&[
                            ("instance", &activity.instance),
                            ("direction", &pass.direction),
                        ]),
                        u64::try_from(pass.recorded).unwrap_or(u64::MAX),
                    );
                }
                log.push(Numbered { id: next, activity });
                next += 1;
            }
        });
        log
    }

    fn push(&self, record: Numbered) {
        if let Ok(mut recent) = self.recent.lock() {
            if recent.len() == self.capacity {
                recent.pop_front();
            }
            recent.push_back(record.clone());
        }
        let _ = self.sender.send(record);
    }

    /// Records after `last_id` still kept, and a receiver for what follows (subscribed first,
    /// so nothing falls between the two; duplicates are filtered by id by the caller).
    pub(crate) fn resume(&self, last_id: u64) -> (Vec<Numbered>, broadcast::Receiver<Numbered>) {
        let receiver = self.sender.subscribe();
        let backlog = self
            .recent
            .lock()
            .map(|r| r.iter().filter(|n| n.id > last_id).cloned().collect())
            .unwrap_or_default();
        (backlog, receiver)
    }
}
