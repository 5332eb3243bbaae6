//! An instance's page: its settings as a form, webhook URLs, actions (provision, test,
//! reconcile, history import, delete) and pairing; and the form that adds an instance.
//! Every form posts to the admin API; its 422 answers mark the field they name.

use http::{Response, StatusCode};
use maud::{Markup, html};
use serde_json::Value;

use super::format::badge;
use super::layout::{self, Nav};
use super::session::Signed;
use super::{html, not_found, store_down};
use crate::document::to_document;
use crate::http::Body;
use crate::instances::{self, AdminError};
use crate::state::State;

/// A text field named by its JSON path, with the place its error goes.
fn field(label: &str, name: &str, value: Option<&str>, kind: &str, hint: &str) -> Markup {
    let id = name.replace('.', "-");
    html! {
        label for=(id) { (label) }
        input id=(id) type=(kind) name=(name) value=[value] autocomplete="off"
            data-type=[(kind == "number").then_some("number")];
        @if !hint.is_empty() { p.hint { (hint) } }
        p.field-error data-error-for=(name) {}
    }
}

/// A secret: write-only, shown as set or not set, never rendered.
fn secret(label: &str, name: &str, doc: Option<&Value>) -> Markup {
    let set = doc
        .and_then(|d| d.pointer(&format!("/{}", name.replace('.', "/"))))
        .is_some_and(|v| !v.is_null());
    let hint = if doc.is_none() {
        "write-only: never shown again"
    } else if set {
        "set · leave blank to keep it"
    } else {
        "not set"
    };
    field(label, name, None, "password", hint)
}

fn text<'d>(doc: Option<&'d Value>, path: &str) -> Option<&'d str> {
    doc?.pointer(path)?.as_str()
}

fn number(doc: Option<&Value>, path: &str) -> Option<String> {
    doc?.pointer(path)?.as_i64().map(|n| n.to_string())
}

/// The settings fields, empty for a new instance or filled from its (masked) document.
fn settings(doc: Option<&Value>) -> Markup {
    let kind = text(doc, "/gateway/kind").unwrap_or("wuzapi");
    let options = doc
        .and_then(|d| d.get("options"))
        .and_then(|o| serde_json::to_string_pretty(o).ok());
    html! {
        @if doc.is_none() {
            (field("Name", "name", None, "text", "letters, digits, - and _; used in URLs and the CLI"))
        }
        h2 { "Gateway" }
        label for="gateway-kind" { "Kind" }
        select #gateway-kind name="gateway.kind" data-kind-switch {
            option value="wuzapi" selected[kind == "wuzapi"] { "wuzapi" }
            option value="gowa" selected[kind == "gowa"] { "GOWA (go-whatsapp-web-multidevice)" }
        }
        p.field-error data-error-for="gateway.kind" {}
        (field("Base URL", "gateway.base_url", text(doc, "/gateway/base_url"), "text", "e.g. http://wuzapi:8080"))
        p.field-error data-error-for="gateway" {}
        div data-kind="wuzapi" {
            (secret("User token", "gateway.token", doc))
            (secret("HMAC key", "gateway.hmac_key", doc))
        }
        div data-kind="gowa" {
            (field("Device id", "gateway.device_id", text(doc, "/gateway/device_id"), "text", "GOWA multi-device: the device this instance uses"))
            (field("Basic auth user", "gateway.basic_auth.username", text(doc, "/gateway/basic_auth/username"), "text", ""))
            (secret("Basic auth password", "gateway.basic_auth.password", doc))
            (secret("Webhook secret", "gateway.webhook_secret", doc))
        }
        h2 { "Chatwoot" }
        (field("Base URL", "chatwoot.base_url", text(doc, "/chatwoot/base_url"), "text", "e.g. https://chat.example.com"))
        (field("Account id", "chatwoot.account_id", number(doc, "/chatwoot/account_id").as_deref(), "number", ""))
        (secret("API access token", "chatwoot.api_token", doc))
        (field("Inbox id", "chatwoot.inbox_id", number(doc, "/chatwoot/inbox_id").as_deref(), "number", "leave empty and press Provision to create an API inbox"))
        (secret("Webhook secret", "chatwoot.webhook_secret", doc))
        p.field-error data-error-for="chatwoot" {}
        h2 { "Options" }
        label for="options" { "Options (JSON)" }
        textarea #options name="options" data-type="json" spellcheck="false" { (options.unwrap_or_default()) }
        p.hint { "The instance options of the README; leave out what keeps its default." }
        p.field-error data-error-for="options" {}
        p.form-error role="alert" {}
    }
}

/// `GET /console/instances/new`.
pub(super) fn new_form(signed: &Signed) -> Response<Body> {
    let body = html! {
        section.card {
            form.stack novalidate data-api="/api/v1/instances" data-method="POST" data-then="go:/console/instances/{name}" data-testid="new-instance" {
                (settings(None))
                div.actions { button type="submit" { "Create instance" } }
            }
        }
    };
    html(
        StatusCode::OK,
        &layout::page("Add instance", Nav::Overview, signed, &body),
    )
}

/// A form that posts `{}` (or its fields) to `api` and shows the answer.
fn action(api: &str, label: &str, then: &str, fields: &Markup, testid: &str) -> Markup {
    html! {
        form novalidate data-api=(api) data-method="POST" data-then=(then) data-testid=(testid) {
            (fields)
            button.secondary type="submit" { (label) }
            p.form-error role="alert" {}
            output {}
        }
    }
}

/// `GET /console/instances/{name}`.
pub(super) async fn page(app: &State, signed: &Signed, name: &str) -> Response<Body> {
    let instance = match instances::get(&app.store, name).await {
        Ok(i) if signed.who.sees(&i) => i,
        Ok(_) => return not_found(signed),
        Err(AdminError::NotFound(_)) => return not_found(signed),
        Err(AdminError::Store(e)) => return store_down(signed, &e),
        Err(_) => return not_found(signed),
    };
    let connection = match app.store.connections().get(instance.id).await {
        Ok(c) => c,
        Err(e) => return store_down(signed, &e),
    };
    let doc = to_document(&instance, true, &app.public_url);
    let api = format!("/api/v1/instances/{name}");
    let running = app.engine.runtime(instance.id).is_some();
    let state = connection.as_ref().map_or("unknown", |c| c.state.as_str());
    let body = html! {
        p {
            (badge(if running { "running" } else { "stopped" })) " "
            a href={ "/console/events?instance=" (name) } { "events" } " · "
            a href={ "/console/activity?instance=" (name) } { "activity" }
        }
        div.grid {
            section.card data-pairing=(name) {
                h2 { "WhatsApp" }
                p { "State: " span data-state=(state) class={ "state " (state) } { (state) } }
                div.qr { img hidden alt={ "QR code to pair " (name) } data-testid="qr"; }
                p.pair-note.muted {}
                div.actions { button type="button" data-qr { "Show QR code" } }
                (action(&format!("{api}/connection/pair-code"), "Get pair code", "show",
                    &html! { label for="phone" { "Or pair by phone number" } input #phone type="tel" name="phone" placeholder="5511987654321"; p.field-error data-error-for="phone" {} },
                    "pair-code"))
                (action(&format!("{api}/pairing-links"), "Make a pairing link", "show",
                    &html! { p.hint { "A link that pairs this number's phone without an account: it shows this QR code only, for 30 minutes or until the phone is paired." } },
                    "pairing-link"))
                div.actions {
                    (action(&format!("{api}/connection/reconnect"), "Reconnect", "show", &html! {}, "reconnect"))
                    (action(&format!("{api}/connection/logout"), "Log out", "reload", &html! {}, "logout"))
                }
            }
            section.card {
                h2 { "Webhook URLs" }
                p.hint { "Set these in the gateway and in the Chatwoot inbox (Provision does both when it can)." }
                @for (label, key) in [("Gateway", "gateway"), ("Chatwoot", "chatwoot")] {
                    @let id = format!("webhook-{key}");
                    p { strong { (label) } br; code.url id=(id) { (doc.pointer(&format!("/webhooks/{key}")).and_then(Value::as_str).unwrap_or_default()) } }
                    button.secondary type="button" data-copy=(id) { "Copy" }
                }
                h2 { "Actions" }
                (action(&format!("{api}/provision"), "Provision", "show", &html! {}, "provision"))
                (action(&format!("{api}/test"), "Test upstreams", "show", &html! {}, "test"))
                (action(&format!("{api}/reconcile"), "Reconcile", "show",
                    &html! { label for="hours" { "Hours back" } input #hours type="number" name="hours" data-type="number" value="24" min="1" max="2160"; p.field-error data-error-for="hours" {} },
                    "reconcile"))
                (action(&format!("{api}/import"), "Import history", "import",
                    &html! { label for="days" { "Days of history" } input #days type="number" name="days" data-type="number" value="7" min="1" max="365"; p.field-error data-error-for="days" {} progress value="0" max="1" {} },
                    "import"))
                form novalidate data-api=(api) data-method="DELETE" data-then="go:/console" data-confirm={ "Delete " (name) "? Its events and mappings go too." } {
                    button.danger type="submit" { "Delete instance" }
                    p.form-error {}
                }
            }
        }
        section.card {
            h2 { "Settings" }
            form.stack novalidate data-api=(api) data-method="PATCH" data-then="reload" data-testid="settings" {
                label { input type="checkbox" name="enabled" checked[instance.config.enabled]; " Enabled" }
                (settings(Some(&doc)))
                div.actions { button type="submit" { "Save" } }
            }
        }
    };
    html(
        StatusCode::OK,
        &layout::page(name, Nav::Overview, signed, &body),
    )
}
