//! Failure injection shared by every fake: per-route statuses, latency, resets, down mode.

use std::sync::Mutex;
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

    pub(crate) fn latency(&self) -> Duration {
        self.latency.lock().map(|l| *l).unwrap_or_default()
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
        Some(action)
    }
}
