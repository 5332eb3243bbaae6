//! Numbers: percentiles, the printed table, the JSON file and the SVG chart.

use std::fmt::Write as _;
use std::time::Duration;

use serde_json::{Value, json};

/// Percentiles of latencies, milliseconds.
pub(crate) fn percentiles(mut samples: Vec<f64>) -> Value {
    if samples.is_empty() {
        return json!(null);
    }
    samples.sort_by(f64::total_cmp);
    let at = |p: f64| {
        let index = ((samples.len() - 1) as f64 * p).round() as usize;
        samples.get(index).copied().unwrap_or(0.0)
    };
    json!({
        "p50": round(at(0.50)), "p95": round(at(0.95)), "p99": round(at(0.99)),
        "max": round(samples.last().copied().unwrap_or(0.0)), "count": samples.len(),
    })
}

pub(crate) fn round(x: f64) -> f64 {
    (x * 10.0).round() / 10.0
}

pub(crate) fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// Counts per second of `times` (unix seconds) from `start`.
pub(crate) fn per_second(times: &[f64], start: f64) -> Vec<u64> {
    let mut buckets: Vec<u64> = Vec::new();
    for t in times {
        let i = ((t - start).max(0.0)) as usize;
        if buckets.len() <= i {
            buckets.resize(i + 1, 0);
        }
        if let Some(b) = buckets.get_mut(i) {
            *b += 1;
        }
    }
    buckets
}

/// A line chart: one polyline per series (`name`, values per second), over time.
pub(crate) fn svg(title: &str, unit: &str, series: &[(&str, Vec<f64>)]) -> String {
    let (w, h, pad) = (720.0, 300.0, 40.0);
    let max_x = series
        .iter()
        .map(|(_, v)| v.len())
        .max()
        .unwrap_or(1)
        .max(2) as f64
        - 1.0;
    let max_y = series
        .iter()
        .flat_map(|(_, v)| v.iter().copied())
        .fold(1.0, f64::max);
    let colours = [
        "#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b",
    ];
    let mut out = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{w}\" height=\"{h}\" font-family=\"sans-serif\" font-size=\"11\">\
         <rect width=\"100%\" height=\"100%\" fill=\"white\"/>\
         <text x=\"{pad}\" y=\"16\" font-size=\"13\">{title}</text>\
         <text x=\"4\" y=\"{pad}\">{max_y:.0} {unit}</text><text x=\"4\" y=\"{}\">0</text>\
         <text x=\"{}\" y=\"{}\">{max_x:.0} s</text>",
        h - pad,
        w - pad - 20.0,
        h - pad + 16.0
    );
    let _ = write!(
        out,
        "<line x1=\"{pad}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" stroke=\"#999\"/>",
        h - pad,
        w - pad,
        h - pad
    );
    for (i, (name, values)) in series.iter().enumerate() {
        let colour = colours.get(i % colours.len()).copied().unwrap_or("#000");
        let points: Vec<String> = values
            .iter()
            .enumerate()
            .map(|(x, y)| {
                let px = pad + (x as f64 / max_x) * (w - 2.0 * pad);
                let py = h - pad - (y / max_y) * (h - 2.0 * pad);
                format!("{px:.1},{py:.1}")
            })
            .collect();
        let _ = write!(
            out,
            "<polyline fill=\"none\" stroke=\"{colour}\" stroke-width=\"1.5\" points=\"{}\"/>\
             <text x=\"{}\" y=\"{}\" fill=\"{colour}\">{name}</text>",
            points.join(" "),
            w - pad - 150.0,
            pad + 14.0 * i as f64
        );
    }
    out.push_str("</svg>\n");
    out
}
