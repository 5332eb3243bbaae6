//! Webhook body bytes held in memory: one budget for the process, with a share for each
//! instance and each client address so that one of them cannot starve the rest. Bytes are
//! reserved as they arrive (in KiB), not the maximum up front, so a connection that sends
//! one byte and stalls holds one KiB, not 16 MiB.

use std::collections::HashMap;
use std::hash::Hash;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// A pool of KiB permits.
#[derive(Debug)]
struct Pool {
    permits: Arc<Semaphore>,
    kib: u32,
}

impl Pool {
    fn new(kib: u32) -> Self {
        Self {
            permits: Arc::new(Semaphore::new(kib as usize)),
            kib,
        }
    }
}

/// Pools created on demand per key, dropped when nobody holds one.
#[derive(Debug)]
struct Shares<K> {
    kib: u32,
    pools: Mutex<HashMap<K, Arc<Pool>>>,
}

impl<K: Eq + Hash + Copy> Shares<K> {
    fn get(&self, key: K) -> Arc<Pool> {
        let mut pools = self
            .pools
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        Arc::clone(
            pools
                .entry(key)
                .or_insert_with(|| Arc::new(Pool::new(self.kib))),
        )
    }

    /// Forgets `key`'s pool once only the map holds it (and so nothing is reserved from it).
    fn release(&self, key: K) {
        let mut pools = self
            .pools
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if pools.get(&key).is_some_and(|p| Arc::strong_count(p) == 1) {
            pools.remove(&key);
        }
    }
}

/// The budget: `total` bytes for the process, half of it at most for one instance and half
/// for one client address (but never less than the largest body, so one always fits).
#[derive(Debug)]
pub(crate) struct BodyBudget {
    global: Arc<Pool>,
    instances: Shares<i64>,
    addresses: Shares<IpAddr>,
}

fn kib(bytes: usize) -> u32 {
    u32::try_from(bytes.div_ceil(1024))
        .unwrap_or(u32::MAX)
        .clamp(1, u32::MAX >> 4)
}

impl BodyBudget {
    pub(crate) fn new(total_bytes: usize, largest_body: usize) -> Self {
        let total = kib(total_bytes);
        let share = (total / 2).max(kib(largest_body)).min(total);
        Self {
            global: Arc::new(Pool::new(total)),
            instances: Shares {
                kib: share,
                pools: Mutex::new(HashMap::new()),
            },
            addresses: Shares {
                kib: share,
                pools: Mutex::new(HashMap::new()),
            },
        }
    }

    /// A lease for one body of `instance`'s webhook from `peer`; it reserves nothing yet.
    pub(crate) fn lease(&self, instance: i64, peer: IpAddr) -> BodyLease<'_> {
        BodyLease {
            budget: self,
            instance,
            peer,
            pools: [
                Arc::clone(&self.global),
                self.instances.get(instance),
                self.addresses.get(peer),
            ],
            held: Vec::new(),
            kib: 0,
        }
    }
}

/// What one body holds of the budget; given back when dropped.
#[derive(Debug)]
pub(crate) struct BodyLease<'a> {
    budget: &'a BodyBudget,
    instance: i64,
    peer: IpAddr,
    pools: [Arc<Pool>; 3],
    held: Vec<OwnedSemaphorePermit>,
    kib: u32,
}

impl BodyLease<'_> {
    /// Holds at least `bytes` in all three pools, waiting at most `wait` for room; `false`
    /// when there is none (the caller answers 503).
    pub(crate) async fn hold(&mut self, bytes: usize, wait: Duration) -> bool {
        let want = kib(bytes);
        if want <= self.kib {
            return true;
        }
        let more = want - self.kib;
        if self.pools.iter().any(|p| self.kib + more > p.kib) {
            return false;
        }
        let acquire = async {
            let mut got = Vec::with_capacity(3);
            for pool in &self.pools {
                got.push(
                    Arc::clone(&pool.permits)
                        .acquire_many_owned(more)
                        .await
                        .ok()?,
                );
            }
            Some(got)
        };
        match tokio::time::timeout(wait, acquire).await {
            Ok(Some(got)) => {
                self.held.extend(got);
                self.kib = want;
                true
            }
            _ => false,
        }
    }
}

impl Drop for BodyLease<'_> {
    fn drop(&mut self) {
        self.held.clear();
        let [_, instance, address] = &mut self.pools;
        *instance = Arc::clone(&self.budget.global);
        *address = Arc::clone(&self.budget.global);
        self.budget.instances.release(self.instance);
        self.budget.addresses.release(self.peer);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const WAIT: Duration = Duration::from_millis(50);

    #[tokio::test]
    async fn one_instance_or_address_cannot_take_everything() {
        let budget = BodyBudget::new(64 * 1024, 16 * 1024);
        let a: IpAddr = [10, 0, 0, 1].into();
        let b: IpAddr = [10, 0, 0, 2].into();
        let mut first = budget.lease(1, a);
        assert!(first.hold(32 * 1024, WAIT).await);
        // Instance 1 has used its half; address a too.
        assert!(!budget.lease(1, b).hold(1, WAIT).await);
        assert!(!budget.lease(2, a).hold(1, WAIT).await);
        // Another instance from another address still gets in.
        let mut other = budget.lease(2, b);
        assert!(other.hold(16 * 1024, WAIT).await);
        drop(first);
        assert!(budget.lease(1, a).hold(32 * 1024, WAIT).await);
    }

    #[tokio::test]
    async fn bytes_are_reserved_as_they_arrive() {
        let budget = BodyBudget::new(64 * 1024, 16 * 1024);
        let peer: IpAddr = [127, 0, 0, 1].into();
        let mut stalled: Vec<_> = (0..16).map(|i| budget.lease(i, peer)).collect();
        for lease in &mut stalled {
            assert!(lease.hold(1, WAIT).await, "one byte holds one KiB");
        }
        assert!(
            budget
                .lease(99, [127, 0, 0, 2].into())
                .hold(16 * 1024, WAIT)
                .await
        );
        drop(stalled);
        assert!(budget.addresses.pools.lock().map(|p| p.len()).unwrap_or(9) <= 1);
    }
}
