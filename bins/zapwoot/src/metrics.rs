//! Counters and histograms exported at `/metrics` in the Prometheus text format.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Mutex;
use std::time::Duration;

/// Upper bounds (seconds) of the webhook answer-time histogram.
const BUCKETS: [f64; 10] = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0, 5.0];

#[derive(Debug, Default)]
struct Histogram {
    counts: [u64; BUCKETS.len()],
    count: u64,
    sum: f64,
}

/// The bridge's own counters (store gauges are read at scrape time).
#[derive(Debug, Default)]
pub(crate) struct Metrics {
    counters: Mutex<BTreeMap<(&'static str, String), u64>>,
    histograms: Mutex<BTreeMap<(&'static str, String), Histogram>>,
}

/// Renders `key="value",…` with values escaped.
pub(crate) fn labels(pairs: &[(&str, &str)]) -> String {
    let mut out = String::new();
    for (i, (k, v)) in pairs.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        let v = v
            .replace('\\', "\\\\")
            .replace('"', "\\\"")
            .replace('\n', "\\n");
        let _ = write!(out, "{k}=\"{v}\"");
    }
    out
}

impl Metrics {
    /// Adds one to counter `name{labels}`.
    pub(crate) fn inc(&self, name: &'static str, labels: String) {
        self.add(name, labels, 1);
    }

    /// Adds `n` to counter `name{labels}`.
    pub(crate) fn add(&self, name: &'static str, labels: String, n: u64) {
        if let Ok(mut map) = self.counters.lock() {
            *map.entry((name, labels)).or_default() += n;
        }
    }

    /// Records one observation of histogram `name{labels}`.
    pub(crate) fn observe(&self, name: &'static str, labels: String, value: Duration) {
        let secs = value.as_secs_f64();
        if let Ok(mut map) = self.histograms.lock() {
            let h = map.entry((name, labels)).or_default();
            for (bound, count) in BUCKETS.iter().zip(h.counts.iter_mut()) {
                if secs <= *bound {
                    *count += 1;
                }
            }
            h.count += 1;
            h.sum += secs;
        }
    }

    /// The counters and histograms in the text format.
    pub(crate) fn render(&self, out: &mut String) {
        if let Ok(map) = self.counters.lock() {
            let mut last = "";
            for ((name, labels), value) in map.iter() {
                if *name != last {
                    let _ = writeln!(out, "# TYPE {name} counter");
                    last = name;
                }
                let _ = writeln!(out, "{name}{{{labels}}} {value}");
            }
        }
        if let Ok(map) = self.histograms.lock() {
            let mut last = "";
            for ((name, labels), h) in map.iter() {
                if *name != last {
                    let _ = writeln!(out, "# TYPE {name} histogram");
                    last = name;
                }
                let sep = if labels.is_empty() { "" } else { "," };
                for (bound, count) in BUCKETS.iter().zip(h.counts.iter()) {
                    let _ = writeln!(out, "{name}_bucket{{{labels}{sep}le=\"{bound}\"}} {count}");
                }
                let _ = writeln!(out, "{name}_bucket{{{labels}{sep}le=\"+Inf\"}} {}", h.count);
                let _ = writeln!(out, "{name}_sum{{{labels}}} {}", h.sum);
                let _ = writeln!(out, "{name}_count{{{labels}}} {}", h.count);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn renders_counters_and_histograms() {
        let m = Metrics::default();
        m.inc(
            "zapwoot_webhooks_total",
            labels(&[("instance", "a\"b"), ("status", "200")]),
        );
        m.inc(
            "zapwoot_webhooks_total",
            labels(&[("instance", "a\"b"), ("status", "200")]),
        );
        m.observe(
            "zapwoot_webhook_seconds",
            labels(&[("source", "gateway")]),
            Duration::from_millis(3),
        );
        let mut out = String::new();
        m.render(&mut out);
        assert!(
            out.contains("zapwoot_webhooks_total{instance=\"a\\\"b\",status=\"200\"} 2"),
            "{out}"
        );
        assert!(
            out.contains("zapwoot_webhook_seconds_bucket{source=\"gateway\",le=\"0.0025\"} 0"),
            "{out}"
        );
        assert!(
            out.contains("zapwoot_webhook_seconds_bucket{source=\"gateway\",le=\"0.005\"} 1"),
            "{out}"
        );
        assert!(
            out.contains("zapwoot_webhook_seconds_count{source=\"gateway\"} 1"),
            "{out}"
        );
    }
}
