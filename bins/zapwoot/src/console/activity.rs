//! The live timeline: the activity stream (`/api/v1/activity`) as it happens, with message
//! text and sender, filtered by instance and type, paused and resumed.

use http::{Response, StatusCode};
use maud::html;

use super::layout::{self, Nav};
use super::session::Signed;
use super::{html, store_down};
use crate::http::Body;
use crate::state::State;

const TYPES: [&str; 11] = [
    "message.",
    "message.received",
    "message.sent",
    "message.status",
    "reaction",
    "conversation.status",
    "instance.status",
    "delivery.failed",
    "reconciled",
    "import",
    "endpoint.",
];

/// `GET /console/activity`.
pub(super) async fn page(app: &State, signed: &Signed) -> Response<Body> {
    let names = match app.store.instances().names().await {
        Ok(n) => n,
        Err(e) => return store_down(signed, &e),
    };
    let names: Vec<_> = match super::visible(app, signed).await {
        Ok(seen) => names
            .into_iter()
            .filter(|(_, n)| seen.as_ref().is_none_or(|s| s.contains(n)))
            .collect(),
        Err(e) => return store_down(signed, &e),
    };
    let body = html! {
        section.card data-activity {
            div.filters {
                label { "Instance" select name="instance" {
                    option value="" { "all" }
                    @for (_, name) in &names { option value=(name) { (name) } }
                } }
                label { "Type" select name="type" {
                    option value="" { "all" }
                    @for t in TYPES { option value=(t) { (t.trim_end_matches('.')) @if t.ends_with('.') { " (all)" } } }
                } }
                button.secondary type="button" data-pause { "Pause" }
            }
            p.hint { "Newest first, as it happens; the last 500 are kept on the page." }
            ol.timeline data-testid="timeline" {}
        }
    };
    html(
        StatusCode::OK,
        &layout::page("Activity", Nav::Activity, signed, &body),
    )
}
