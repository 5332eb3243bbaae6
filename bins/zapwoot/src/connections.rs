//! Open connections per client address, capped so one address cannot hold them all
//! (slowloris). Over the cap a new connection is closed at once.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex, PoisonError};

/// Counts open connections per address.
#[derive(Debug)]
pub(crate) struct ConnectionLimit {
    per_address: usize,
    open: Mutex<HashMap<IpAddr, usize>>,
}

/// One counted connection; uncounted when dropped.
#[derive(Debug)]
pub(crate) struct Counted {
    limit: Arc<ConnectionLimit>,
    peer: IpAddr,
}

impl ConnectionLimit {
    pub(crate) fn new(per_address: usize) -> Arc<Self> {
        Arc::new(Self {
            per_address: per_address.max(1),
            open: Mutex::new(HashMap::new()),
        })
    }

    /// Counts a connection from `peer`, or `None` when it already has the most allowed.
    pub(crate) fn admit(self: &Arc<Self>, peer: IpAddr) -> Option<Counted> {
        let mut open = self.open.lock().unwrap_or_else(PoisonError::into_inner);
        let count = open.entry(peer).or_default();
        if *count >= self.per_address {
            return None;
        }
        *count += 1;
        Some(Counted {
            limit: Arc::clone(self),
            peer,
        })
    }
}

impl Drop for Counted {
    fn drop(&mut self) {
        let mut open = self
            .limit
            .open
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if let Some(count) = open.get_mut(&self.peer) {
            *count -= 1;
            if *count == 0 {
                open.remove(&self.peer);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::ConnectionLimit;

    #[test]
    fn each_address_has_its_cap() {
        let limit = ConnectionLimit::new(2);
        let a = [127, 0, 0, 1].into();
        let first = limit.admit(a);
        let second = limit.admit(a);
        assert!(first.is_some() && second.is_some());
        assert!(limit.admit(a).is_none());
        assert!(limit.admit([127, 0, 0, 2].into()).is_some());
        drop(first);
        assert!(limit.admit(a).is_some());
    }
}
