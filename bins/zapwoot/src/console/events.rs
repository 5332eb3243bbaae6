//! The audit log: every recorded webhook and send with filters, an event's detail (body with
//! secrets redacted, attempts, error) with Retry, and the dead letters.

use std::collections::HashMap;

use http::{Response, StatusCode};
use maud::html;
use serde_json::Value;
use zapwoot_store::{EventFilter, EventStatus, Instance, Source};

use super::format::{badge, maybe_time, time};
use super::layout::{self, Nav};
use super::session::Signed;
use super::{html, not_found, store_down};
use crate::http::{Body, event_document, event_json};
use crate::state::State;

const PAGE: i64 = 100;

/// `GET /console/events?instance&status&direction&since&before`.
pub(super) async fn list(
    app: &State,
    signed: &Signed,
    q: &HashMap<String, String>,
) -> Response<Body> {
    let instances: Vec<_> = match app.store.instances().list().await {
        Ok(i) => i.into_iter().filter(|i| signed.who.sees(i)).collect(),
        Err(e) => return store_down(signed, &e),
    };
    let mut filter = EventFilter::new().limit(PAGE);
    if !signed.who.is_unlimited() {
        filter = filter.instances(instances.iter().map(|i| i.id).collect());
    }
    let picked = |k: &str| q.get(k).map(String::as_str).filter(|v| !v.is_empty());
    if let Some(name) = picked("instance") {
        match instances.iter().find(|i| i.config.name == name) {
            Some(i) => filter = filter.instance(i.id),
            None => return not_found(signed),
        }
    }
    if let Some(status) = picked("status").and_then(EventStatus::parse) {
        filter = filter.status(status);
    }
    match picked("direction") {
        Some("inbound") => filter = filter.source(Source::Gateway),
        Some("outbound") => filter = filter.source(Source::Chatwoot),
        _ => {}
    }
    if let Some(before) = picked("before").and_then(|b| b.parse().ok()) {
        filter = filter.before_id(before);
    }
    let since = picked("since")
        .and_then(|s| jiff::civil::DateTime::strptime("%Y-%m-%dT%H:%M", s).ok())
        .and_then(|t| t.to_zoned(jiff::tz::TimeZone::UTC).ok())
        .map(|z| z.timestamp().as_millisecond());
    let events = match app.store.events().list(filter).await {
        Ok(e) => e,
        Err(e) => return store_down(signed, &e),
    };
    let events: Vec<_> = events
        .into_iter()
        .filter(|e| since.is_none_or(|s| e.received_at_ms >= s))
        .collect();
    let names: HashMap<i64, &Instance> = instances.iter().map(|i| (i.id, i)).collect();
    let selected = |k: &str, v: &str| picked(k) == Some(v);
    let older = events
        .last()
        .filter(|_| events.len() as i64 == PAGE)
        .map(|e| {
            let mut params: Vec<(String, String)> = q
                .iter()
                .filter(|(k, _)| *k != "before")
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect();
            params.push(("before".to_owned(), e.id.to_string()));
            form_urlencoded::Serializer::new(String::new())
                .extend_pairs(params)
                .finish()
        });
    let title = if selected("status", "dead") {
        "Dead letters"
    } else {
        "Events"
    };
    let body = html! {
        section.card {
            form.filters method="get" action="/console/events" {
                label { "Instance" select name="instance" {
                    option value="" { "all" }
                    @for i in &instances { option value=(i.config.name) selected[selected("instance", &i.config.name)] { (i.config.name) } }
                } }
                label { "Status" select name="status" {
                    option value="" { "all" }
                    @for s in EventStatus::ALL { option value=(s.as_str()) selected[selected("status", s.as_str())] { (s.as_str()) } }
                } }
                label { "Direction" select name="direction" {
                    option value="" { "both" }
                    option value="inbound" selected[selected("direction", "inbound")] { "in from WhatsApp" }
                    option value="outbound" selected[selected("direction", "outbound")] { "from Chatwoot" }
                } }
                label { "Since (UTC)" input type="datetime-local" name="since" value=[picked("since")]; }
                button type="submit" { "Filter" }
                a href="/console/events?status=dead" { "Dead letters" }
            }
        }
        section.card {
            div.table-wrap {
                table data-testid="events" {
                    thead { tr { th { "#" } th { "Instance" } th { "Source" } th { "Kind" } th { "Status" } th { "Attempts" } th { "Received" } th { "Error" } } }
                    tbody {
                        @for e in &events {
                            tr data-event=(e.id) {
                                td { a href={ "/console/events/" (e.id) } { (e.id) } }
                                td { (names.get(&e.instance_id).map_or("", |i| i.config.name.as_str())) }
                                td { (e.source.as_str()) }
                                td { (e.kind) }
                                td { (badge(e.status.as_str())) }
                                td { (e.attempts) }
                                td { (time(e.received_at_ms)) }
                                td.muted { (event_json(e, &names, false).get("last_error").and_then(Value::as_str).unwrap_or_default()) }
                            }
                        }
                    }
                }
            }
            @if events.is_empty() { p.muted { "No event matches." } }
            @if let Some(older) = older { p { a href={ "/console/events?" (older) } { "Older →" } } }
        }
    };
    html(
        StatusCode::OK,
        &layout::page(title, Nav::Events, signed, &body),
    )
}

/// `GET /console/events/{id}`.
pub(super) async fn detail(app: &State, signed: &Signed, id: &str) -> Response<Body> {
    let Ok(id) = id.parse::<i64>() else {
        return not_found(signed);
    };
    let (event, doc, instance) = match event_document(app, id).await {
        Ok(Some(shown)) => (shown.event, shown.document, shown.instance),
        Ok(None) => return not_found(signed),
        Err(e) => return store_down(signed, &e),
    };
    let sees = match app.store.instances().by_id(event.instance_id).await {
        Ok(i) => i.is_some_and(|i| signed.who.sees(&i)) || signed.who.is_unlimited(),
        Err(e) => return store_down(signed, &e),
    };
    if !sees {
        return not_found(signed);
    }
    let retryable = matches!(event.status, EventStatus::Failed | EventStatus::Dead);
    let body = html! {
        section.card {
            table {
                tr { th { "Instance" } td { (instance.as_deref().unwrap_or_default()) } }
                tr { th { "Source · kind" } td { (event.source.as_str()) " · " (event.kind) } }
                tr { th { "Status" } td data-testid="status" { (badge(event.status.as_str())) } }
                tr { th { "Attempts" } td { (event.attempts) } }
                @if let Some(actions) = doc.get("actions").and_then(serde_json::Value::as_array).filter(|a| !a.is_empty()) {
                    tr { th { "Changed by" } td data-testid="actions" {
                        @for a in actions {
                            div { (a.get("action").and_then(serde_json::Value::as_str).unwrap_or_default()) " by "
                                  (a.get("actor").and_then(serde_json::Value::as_str).unwrap_or_default()) }
                        }
                    } }
                }
                tr { th { "Received" } td { (time(event.received_at_ms)) } }
                tr { th { "Next attempt" } td { (time(event.next_attempt_at_ms)) } }
                tr { th { "Finished" } td { (maybe_time(event.finished_at_ms)) } }
                tr { th { "Error" } td data-testid="error" { (doc.get("last_error").and_then(Value::as_str).unwrap_or("—")) } }
            }
            @if retryable {
                form novalidate data-api={ "/api/v1/events/" (id) "/retry" } data-method="POST" data-then="reload" data-testid="retry" {
                    div.actions { button type="submit" { "Retry" } }
                    p.form-error role="alert" {}
                }
            }
        }
        section.card {
            h2 { "Body" }
            pre data-testid="body" { (readable(&doc)) }
        }
    };
    html(
        StatusCode::OK,
        &layout::page(&format!("Event {id}"), Nav::Events, signed, &body),
    )
}

/// The event's body for reading: JSON pretty-printed; a form body (wuzapi's default) as its
/// fields, each JSON field pretty-printed.
fn readable(doc: &Value) -> String {
    let body = doc.get("body").unwrap_or(&Value::Null);
    let form = doc
        .get("content_type")
        .and_then(Value::as_str)
        .is_some_and(|t| t.starts_with("application/x-www-form-urlencoded"));
    match body {
        Value::String(text) if form => form_urlencoded::parse(text.as_bytes())
            .map(|(k, v)| {
                let value = serde_json::from_str::<Value>(&v)
                    .ok()
                    .and_then(|j| serde_json::to_string_pretty(&j).ok())
                    .unwrap_or_else(|| v.into_owned());
                format!("{k}:\n{value}")
            })
            .collect::<Vec<_>>()
            .join("\n\n"),
        Value::String(text) => text.clone(),
        other => serde_json::to_string_pretty(other).unwrap_or_default(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn form_bodies_read_as_their_fields() {
        let doc = json!({
            "content_type": "application/x-www-form-urlencoded",
            "body": "instanceName=alpha&jsonData=%7B%22a%22%3A1%7D",
        });
        assert_eq!(
            readable(&doc),
            "instanceName:\nalpha\n\njsonData:\n{\n  \"a\": 1\n}"
        );
        assert_eq!(readable(&json!({ "body": { "a": 1 } })), "{\n  \"a\": 1\n}");
        assert_eq!(readable(&json!({ "body": "plain" })), "plain");
    }
}
