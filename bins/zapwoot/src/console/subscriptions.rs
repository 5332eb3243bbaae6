//! Outbound webhook subscriptions: list and create (the secret shown once), and per
//! subscription its settings (edit, enable/disable), rotate, test, delete, its deliveries
//! with their attempts, and replay of one delivery or a time range.

use http::{Response, StatusCode};
use maud::{Markup, html};
use serde_json::Value;
use zapwoot_store::DeliveryFilter;

use super::format::{badge, maybe_time, time};
use super::layout::{self, Nav};
use super::session::Signed;
use super::{html, not_found, store_down};
use crate::http::Body;
use crate::state::State;
use crate::subscriptions::view;

fn list_of(v: &Value, key: &str) -> String {
    v.get(key)
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .collect::<Vec<_>>()
                .join(", ")
        })
        .unwrap_or_default()
}

/// The fields of a subscription's form.
fn fields(v: Option<&Value>) -> Markup {
    let url = v.and_then(|v| v.get("url")).and_then(Value::as_str);
    let events = v.map(|v| list_of(v, "events"));
    let instances = v.map(|v| list_of(v, "instances"));
    let private = v
        .and_then(|v| v.get("allow_private_network"))
        .and_then(Value::as_bool)
        .unwrap_or(false);
    html! {
        label for="url" { "URL" }
        input #url type="text" name="url" value=[url] required placeholder="https://crm.example.com/hooks/zapwoot";
        p.field-error data-error-for="url" {}
        label for="events" { "Events" }
        input #events type="text" name="events" data-type="list" value=[events] placeholder="message.*, instance.status or *";
        p.field-error data-error-for="events" {}
        label for="instances" { "Instances" }
        input #instances type="text" name="instances" data-type="list" value=[instances] placeholder="empty: all";
        p.field-error data-error-for="instances" {}
        label { input type="checkbox" name="allow_private_network" checked[private]; " Allow a private or loopback address" }
        p.field-error data-error-for="allow_private_network" {}
        p.form-error role="alert" {}
    }
}

/// `GET /console/subscriptions`.
pub(super) async fn list(app: &State, signed: &Signed) -> Response<Body> {
    let all: Vec<_> = match app.store.subscriptions().list().await {
        Ok(a) => a
            .into_iter()
            .filter(|s| signed.who.sees_subscription(s))
            .collect(),
        Err(e) => return store_down(signed, &e),
    };
    let body = html! {
        section.card {
            div.table-wrap {
                table data-testid="subscriptions" {
                    thead { tr { th { "#" } th { "URL" } th { "Events" } th { "Instances" } th { "State" } } }
                    tbody {
                        @for s in &all {
                            @let v = view(s);
                            tr data-subscription=(s.id) {
                                td { a href={ "/console/subscriptions/" (s.id) } { (s.id) } }
                                td { code.url { (v.get("url").and_then(Value::as_str).unwrap_or_default()) } }
                                td { (list_of(&v, "events")) }
                                td { (list_of(&v, "instances")) }
                                td { (badge(if s.enabled { "ok" } else { "bad" })) }
                            }
                        }
                    }
                }
            }
            @if all.is_empty() { p.muted { "No subscription: add one to have zapwoot POST signed events to your system." } }
        }
        section.card {
            h2 { "Add a subscription" }
            form.stack novalidate data-api="/api/v1/subscriptions" data-method="POST" data-then="secret" data-testid="new-subscription" {
                (fields(None))
                div.actions { button type="submit" { "Create" } }
                output {}
            }
        }
    };
    html(
        StatusCode::OK,
        &layout::page("Subscriptions", Nav::Subscriptions, signed, &body),
    )
}

/// `GET /console/subscriptions/{id}`.
pub(super) async fn detail(app: &State, signed: &Signed, id: &str) -> Response<Body> {
    let Ok(id) = id.parse::<i64>() else {
        return not_found(signed);
    };
    let subscription = match app.store.subscriptions().get(id).await {
        Ok(Some(s)) if signed.who.sees_subscription(&s) => s,
        Ok(_) => return not_found(signed),
        Err(e) => return store_down(signed, &e),
    };
    let mut filter = DeliveryFilter::subscription(id);
    filter.limit = Some(50);
    let deliveries = match app.store.deliveries().list(filter).await {
        Ok(d) => d,
        Err(e) => return store_down(signed, &e),
    };
    let v = view(&subscription);
    let api = format!("/api/v1/subscriptions/{id}");
    let body = html! {
        section.card {
            p { "State: " (badge(if subscription.enabled { "ok" } else { "bad" }))
                @if let Some(why) = &subscription.disabled_reason { " " span.muted { (why) } } }
            form.stack novalidate data-api=(api) data-method="PATCH" data-then="reload" data-testid="edit-subscription" {
                label { input type="checkbox" name="enabled" checked[subscription.enabled]; " Enabled" }
                (fields(Some(&v)))
                div.actions { button type="submit" { "Save" } }
            }
            div.actions {
                form novalidate data-api={ (api) "/test" } data-method="POST" data-then="show" data-testid="test-subscription" {
                    button.secondary type="submit" { "Send a test event" } output {}
                }
                form novalidate data-api={ (api) "/rotate" } data-method="POST" data-then="secret" data-testid="rotate" {
                    button.secondary type="submit" { "Rotate secret" } output {}
                }
                form novalidate data-api=(api) data-method="DELETE" data-then="go:/console/subscriptions" data-confirm="Delete this subscription?" {
                    button.danger type="submit" { "Delete" }
                }
            }
        }
        section.card {
            h2 { "Replay a time range" }
            form.filters novalidate data-api={ (api) "/replay" } data-method="POST" data-then="show" data-testid="replay-range" {
                label { "From (UTC)" input type="datetime-local" name="since" data-type="time"; }
                label { "To (UTC)" input type="datetime-local" name="until" data-type="time"; }
                label { "Also succeeded" input type="checkbox" name="include_succeeded"; }
                button.secondary type="submit" { "Replay" }
                p.field-error data-error-for="since" {}
                p.field-error data-error-for="until" {}
                output {}
            }
        }
        section.card {
            h2 { "Deliveries" }
            div.table-wrap {
                table data-testid="deliveries" {
                    thead { tr { th { "#" } th { "Type" } th { "State" } th { "Created" } th { "Attempts" } th {} } }
                    tbody {
                        @for d in &deliveries {
                            tr data-delivery=(d.id) {
                                td { (d.id) }
                                td { (d.event_type) }
                                td { (badge(d.state.as_str())) }
                                td { (time(d.created_at_ms)) }
                                td {
                                    ol.attempts {
                                        @for a in &d.history {
                                            li data-testid="attempt" {
                                                (time(a.attempted_at_ms)) " · "
                                                (a.status_code.map_or_else(|| "no answer".to_owned(), |c| format!("HTTP {c}")))
                                                " · " (a.latency_ms) " ms"
                                                @if let Some(e) = &a.error { " · " span.muted { (e) } }
                                            }
                                        }
                                    }
                                    @if d.history.is_empty() { span.muted { "next " (maybe_time(Some(d.next_attempt_at_ms))) } }
                                }
                                td {
                                    form novalidate data-api={ (api) "/deliveries/" (d.id) "/replay" } data-method="POST" data-then="reload" {
                                        button.secondary type="submit" { "Replay" }
                                    }
                                }
                            }
                        }
                    }
                }
            }
            @if deliveries.is_empty() { p.muted { "No delivery yet." } }
        }
    };
    html(
        StatusCode::OK,
        &layout::page(
            &format!("Subscription {id}"),
            Nav::Subscriptions,
            signed,
            &body,
        ),
    )
}
