//! Failure injection shared by every fake: per-route statuses, latency, resets, down mode.

use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use http::Method;

/// What an injected fault does to a matching request.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum FaultAction {
    /// Answer with this status and a plain-text body, without touching state.
    Status(u16),
    /// Close the connection without answering.
    Reset,
    /// Wait, then handle the request normally.
    Delay(Duration),
    /// Handle the request (state changes, webhooks), then close the connection without
    /// answering: the caller cannot know it worked (a crash right after the upstream call).
    ResetAfter,
}

#[derive(Debug, Clone)]
struct Rule {
    method: Option<Method>,
    path_prefix: String,
    action: FaultAction,
    remaining: Option<u32>,
}

/// The faults in force for one fake server. All methods take `&self`.
#[derive(Debug, Default)]
pub struct Faults {
    rules: Mutex<Vec<Rule>>,
    latency: Mutex<Duration>,
    down: Mutex<bool>,
    applied: AtomicUsize,
}

impl Faults {
    /// Applies `action` to the next `times` requests (`None` = until cleared) whose method is
    /// `method` (any when `None`) and whose path (with `?` and the raw query, when there is
    /// one) starts with `path_prefix`.
    pub fn inject(
        &self,
        method: Option<Method>,
        path_prefix: &str,
        action: FaultAction,
        times: Option<u32>,
    ) {
        if let Ok(mut rules) = self.rules.lock() {
            rules.push(Rule {
                method,
                path_prefix: path_prefix.to_owned(),
                action,
                remaining: times,
            });
        }
    }

    /// Shorthand: the next `times` matching requests get `status`.
    pub fn fail(&self, method: Method, path_prefix: &str, status: u16, times: u32) {
        self.inject(
            Some(method),
            path_prefix,
            FaultAction::Status(status),
            Some(times),
        );
    }

    /// Adds `latency` before every request.
    pub fn set_latency(&self, latency: Duration) {
        if let Ok(mut l) = self.latency.lock() {
            *l = latency;
        }
    }

    /// Down mode: every connection is closed without an answer.
    pub fn set_down(&self, down: bool) {
        if let Ok(mut d) = self.down.lock() {
            *d = down;
        }
    }

    /// Removes every fault.
    pub fn clear(&self) {
        if let Ok(mut rules) = self.rules.lock() {
            rules.clear();
        }
        self.set_latency(Duration::ZERO);
        self.set_down(false);
    }

    /// How many requests a fault has been applied to so far (an injected action taken, or the
    /// latency started). Counted when the request arrives, before it waits: a test knows a
    /// request is in flight without sleeping.
    #[must_use]
    pub fn applied(&self) -> usize {
        self.applied.load(Ordering::SeqCst)
    }

    /// Waits until faults have been applied to at least `count` requests; `false` on timeout.
    pub async fn wait_applied(&self, count: usize, timeout: Duration) -> bool {
        let deadline = tokio::time::Instant::now() + timeout;
        while self.applied() < count {
            if tokio::time::Instant::now() >= deadline {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        true
    }

    /// The latency to add to a request, counted as applied when there is one.
    pub(crate) fn latency(&self) -> Duration {
        let latency = self.latency.lock().map(|l| *l).unwrap_or_default();
        if !latency.is_zero() {
            self.applied.fetch_add(1, Ordering::SeqCst);
        }
        latency
    }

    pub(crate) fn is_down(&self) -> bool {
        self.down.lock().map(|d| *d).unwrap_or(false)
    }

    /// The action for this request, consuming one use of the matching rule.
    pub(crate) fn take(&self, method: &Method, path: &str) -> Option<FaultAction> {
        let mut rules = self.rules.lock().ok()?;
        let index = rules.iter().position(|r| {
            r.method.as_ref().is_none_or(|m| m == method)
                && path.starts_with(&r.path_prefix)
                && r.remaining != Some(0)
        })?;
        let rule = rules.get_mut(index)?;
        if let Some(remaining) = rule.remaining.as_mut() {
            *remaining -= 1;
        }
        let action = rule.action.clone();
        if rule.remaining == Some(0) {
            rules.remove(index);
        }
        self.applied.fetch_add(1, Ordering::SeqCst);
        Some(action)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn counts_the_requests_a_fault_was_applied_to() {
        let faults = Faults::default();
        faults.fail(Method::POST, "/a", 500, 1);
        assert_eq!(faults.take(&Method::GET, "/a"), None, "other method");
        assert_eq!(faults.applied(), 0);
        assert_eq!(
            faults.take(&Method::POST, "/a/b"),
            Some(FaultAction::Status(500))
        );
        assert_eq!(faults.take(&Method::POST, "/a/b"), None, "used up");
        assert!(faults.latency().is_zero());
        assert_eq!(faults.applied(), 1);
        faults.set_latency(Duration::from_millis(1));
        let _ = faults.latency();
        assert!(faults.wait_applied(2, Duration::from_secs(1)).await);
        assert!(!faults.wait_applied(3, Duration::from_millis(10)).await);
    }
}
