//! How times and durations read on the console's pages.

use maud::{Markup, html};

/// `2026-12-04 20:31:07 UTC` for ms since the epoch.
pub(super) fn time(ms: i64) -> String {
    jiff::Timestamp::from_millisecond(ms)
        .map(|t| t.strftime("%Y-%m-%d %H:%M:%S UTC").to_string())
        .unwrap_or_default()
}

/// An optional time, or a dash.
pub(super) fn maybe_time(ms: Option<i64>) -> String {
    ms.map_or_else(|| "—".to_owned(), time)
}

/// `3.2 s`, `4 min`, `2.5 h`.
pub(super) fn duration(seconds: f64) -> String {
    if seconds < 60.0 {
        format!("{seconds:.1} s")
    } else if seconds < 3600.0 {
        format!("{:.0} min", seconds / 60.0)
    } else {
        format!("{:.1} h", seconds / 3600.0)
    }
}

/// A state as a coloured badge.
pub(super) fn badge(state: &str) -> Markup {
    html! { span class={ "state " (state) } data-state=(state) { (state.replace('_', " ")) } }
}
