//! The overview: every instance with its WhatsApp session, last message, queue lag,
//! failed/dead counts and upstream health, and messages per minute over the last hour.

use std::collections::HashMap;
use std::time::SystemTime;

use http::{Response, StatusCode};
use maud::{Markup, PreEscaped, html};
use zapwoot_store::EventStatus;

use super::chart::{self, MESSAGE_KINDS};
use super::format::{badge, duration, maybe_time};
use super::layout::{self, Nav};
use super::session::Signed;
use super::{html, store_down};
use crate::http::Body;
use crate::state::State;

/// `GET /console`.
pub(super) async fn page(app: &State, signed: &Signed) -> Response<Body> {
    let store = &app.store;
    let (instances, connections, events) = (store.instances(), store.connections(), store.events());
    let (names, sessions, lag, counts, last, minutes) = tokio::join!(
        instances.names(),
        connections.list(),
        events.oldest_unprocessed_age(),
        events.counts(),
        events.last_received(&MESSAGE_KINDS),
        chart::last_hour(store, &app.console_chart, SystemTime::now()),
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
    let seen = match super::visible(app, signed).await {
        Ok(v) => v,
        Err(e) => return store_down(signed, &e),
    };
    let names: Vec<_> = names
        .into_iter()
        .filter(|(_, n)| seen.as_ref().is_none_or(|s| s.contains(n)))
        .collect();
    let sessions: HashMap<i64, _> = sessions.into_iter().map(|s| (s.instance_id, s)).collect();
    let mut troubles: HashMap<(i64, EventStatus), i64> = HashMap::new();
    for c in &counts {
        if matches!(c.status, EventStatus::Failed | EventStatus::Dead) {
            *troubles.entry((c.instance_id, c.status)).or_default() += c.count;
        }
    }
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
        @if seen.is_none() {
            section.card.chart {
                h2 { "Messages per minute, last hour" }
                (PreEscaped(chart::svg(&minutes)))
                div.legend { span.in { "■ in from WhatsApp" } span.out { "■ out to WhatsApp" } }
            }
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
