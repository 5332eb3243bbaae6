//! The overview: every instance with its WhatsApp session, last message, queue lag,
//! failed/dead counts and upstream health, and messages per minute over the last hour.

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;
use std::time::{Duration, SystemTime};

use http::{Response, StatusCode};
use maud::{Markup, PreEscaped, html};
use zapwoot_store::{EventStatus, MinuteCount, Source};

use super::format::{badge, duration, maybe_time};
use super::layout::{self, Nav};
use super::session::Signed;
use super::{html, store_down};
use crate::http::Body;
use crate::state::State;

/// Event kinds that are messages: wuzapi's and GOWA's message webhooks, Chatwoot's
/// `message_created` and the send API's sends.
pub(super) const MESSAGE_KINDS: [&str; 4] = ["Message", "message", "message_created", "send"];

const MINUTES: usize = 60;

/// `GET /console`.
pub(super) async fn page(app: &State, signed: &Signed) -> Response<Body> {
    let store = &app.store;
    let since = SystemTime::now() - Duration::from_secs(60 * MINUTES as u64);
    let (instances, connections, events) = (store.instances(), store.connections(), store.events());
    let (names, sessions, lag, counts, last, minutes) = tokio::join!(
        instances.names(),
        connections.list(),
        events.oldest_unprocessed_age(),
        events.counts(),
        events.last_received(&MESSAGE_KINDS),
        events.per_minute(since, &MESSAGE_KINDS),
    );
    let (names, sessions, lag, counts, last, minutes) =
        match (names, sessions, lag, counts, last, minutes) {
            (Ok(a), Ok(b), Ok(c), Ok(d), Ok(e), Ok(f)) => (a, b, c, d, e, f),
            (Err(e), ..)
            | (_, Err(e), ..)
            | (_, _, Err(e), ..)
            | (_, _, _, Err(e), ..)
            | (_, _, _, _, Err(e), _)
            | (.., Err(e)) => return store_down(signed, &e),
        };
    let sessions: HashMap<i64, _> = sessions.into_iter().map(|s| (s.instance_id, s)).collect();
    let mut troubles: HashMap<(i64, EventStatus), i64> = HashMap::new();
    for c in &counts {
        if matches!(c.status, EventStatus::Failed | EventStatus::Dead) {
            *troubles.entry((c.instance_id, c.status)).or_default() += c.count;
        }
    }
    let by_direction: Vec<(i64, bool, i64)> = minutes
        .iter()
        .filter_map(|c| Some((c.minute_start_ms, direction(c)?, c.count)))
        .collect();
    let probes = app.probes.lock().map(|p| p.clone()).unwrap_or_default();
    let health = |id: i64| -> Markup {
        let Some((report, _)) = probes.get(&id) else {
            return html! { span.muted { "not checked yet" } };
        };
        html! {
            @for (label, key) in [("Chatwoot", "chatwoot_inbox"), ("gateway", "gateway")] {
                @let ok = report.pointer(&format!("/{key}/ok")).and_then(serde_json::Value::as_bool) == Some(true);
                span class={ "state " (if ok { "ok" } else { "bad" }) } { (label) } " "
            }
        }
    };
    let body = html! {
        section.card.chart {
            h2 { "Messages per minute, last hour" }
            (PreEscaped(chart(&by_direction, SystemTime::now())))
            div.legend { span.in { "■ in from WhatsApp" } span.out { "■ out to WhatsApp" } }
        }
        section.card {
            div.actions {
                h2 { "Instances (" (names.len()) ")" }
                a.button href="/console/instances/new" { "Add instance" }
            }
            div.table-wrap {
                table data-testid="instances" {
                    thead { tr { th { "Instance" } th { "WhatsApp" } th { "Last message" } th { "Queue lag" } th { "Failed" } th { "Dead" } th { "Upstreams" } } }
                    tbody {
                        @for (id, name) in &names {
                            tr data-instance=(name) {
                                td { a href={ "/console/instances/" (name) } { (name) } }
                                td { (badge(sessions.get(id).map_or("unknown", |s| s.state.as_str()))) }
                                td { (maybe_time(last.get(id).copied())) }
                                td { (lag.get(id).map_or_else(|| "—".to_owned(), |d| duration(d.as_secs_f64()))) }
                                td { a href={ "/console/events?instance=" (name) "&status=failed" } { (troubles.get(&(*id, EventStatus::Failed)).copied().unwrap_or(0)) } }
                                td { a href={ "/console/events?instance=" (name) "&status=dead" } { (troubles.get(&(*id, EventStatus::Dead)).copied().unwrap_or(0)) } }
                                td { (health(*id)) }
                            }
                        }
                    }
                }
            }
            @if names.is_empty() { p.muted { "No instance yet: add one to connect a WhatsApp number to a Chatwoot inbox." } }
        }
    };
    html(
        StatusCode::OK,
        &layout::page("Overview", Nav::Overview, signed, &body),
    )
}

/// Whether a counted event is a message in from WhatsApp (`Some(true)`), out to WhatsApp
/// (`Some(false)`), or neither (Chatwoot's echo of a customer's message, ignored).
fn direction(c: &MinuteCount) -> Option<bool> {
    match c.source {
        Source::Gateway => Some(true),
        Source::Chatwoot if c.status == EventStatus::Ignored => None,
        _ => Some(false),
    }
}

/// The last hour as an SVG bar chart, in and out side by side per minute, from
/// `(minute start ms, inbound, count)`.
fn chart(counts: &[(i64, bool, i64)], now: SystemTime) -> String {
    let now_minute = now
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs() / 60).unwrap_or(0));
    let first = now_minute - (MINUTES as i64 - 1);
    let mut buckets: BTreeMap<i64, (i64, i64)> =
        (first..=now_minute).map(|m| (m, (0, 0))).collect();
    for (minute_ms, inbound, count) in counts {
        if let Some(b) = buckets.get_mut(&(minute_ms / 60_000)) {
            if *inbound {
                b.0 += count;
            } else {
                b.1 += count;
            }
        }
    }
    let max = buckets
        .values()
        .map(|(i, o)| (*i).max(*o))
        .max()
        .unwrap_or(0)
        .max(1);
    let (width, height, bar) = (600.0_f64, 120.0_f64, 4.0_f64);
    let total_in: i64 = buckets.values().map(|b| b.0).sum();
    let total_out: i64 = buckets.values().map(|b| b.1).sum();
    let mut svg = format!(
        "<svg viewBox=\"0 0 {width} {}\" role=\"img\" aria-label=\"{total_in} messages in, {total_out} out in the last hour\" data-in=\"{total_in}\" data-out=\"{total_out}\">",
        height + 16.0
    );
    let _ = write!(
        svg,
        "<line x1=\"0\" y1=\"{height}\" x2=\"{width}\" y2=\"{height}\" stroke=\"#d9dee7\"/>"
    );
    for (i, (_, (inbound, outbound))) in buckets.iter().enumerate() {
        let x = i as f64 * (width / MINUTES as f64);
        for (offset, value, colour) in [(0.0, inbound, "#1f6feb"), (bar, outbound, "#1a7f37")] {
            if *value > 0 {
                let h = (*value as f64 / max as f64) * (height - 4.0);
                let _ = write!(
                    svg,
                    "<rect x=\"{:.1}\" y=\"{:.1}\" width=\"{bar}\" height=\"{h:.1}\" fill=\"{colour}\"><title>{value}</title></rect>",
                    x + offset,
                    height - h
                );
            }
        }
    }
    let _ = write!(
        svg,
        "<text x=\"0\" y=\"{}\" font-size=\"11\" fill=\"#5d6677\">60 min ago</text><text x=\"{width}\" y=\"{}\" font-size=\"11\" fill=\"#5d6677\" text-anchor=\"end\">now · peak {max}/min</text></svg>",
        height + 14.0,
        height + 14.0
    );
    svg
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_chart_sums_each_direction_over_the_last_hour_only() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(3600 * 24 * 400);
        let minute = 60_000 * (3600 * 24 * 400 / 60);
        let svg = chart(
            &[
                (minute, true, 3),
                (minute - 60_000, false, 2),
                (minute, false, 1),
                (minute - 61 * 60_000, true, 7),
            ],
            now,
        );
        assert!(svg.contains("data-in=\"3\""), "{svg}");
        assert!(svg.contains("data-out=\"3\""), "{svg}");
        assert!(svg.contains("peak 3/min"), "{svg}");
    }
}
