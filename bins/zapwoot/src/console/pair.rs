//! Pairing links: `/pair/<token>`, a public page (no account, no session) showing one
//! instance's live QR code or a pair-code form and its state until the phone is paired.
//! The token is stored only as its SHA-256; the link ends at its expiry and as soon as the
//! instance is seen logged in, and it shows nothing of the instance but its pairing.

use http::{Method, Request, Response, StatusCode};
use hyper::body::Incoming;
use maud::html;
use ring::digest::{SHA256, digest};
use serde_json::{Value, json};
use zapwoot_store::{Instance, PairingLink, SessionState};

use super::{html, layout};
use crate::http::{Body, body, error, json_response, store_error};
use crate::pairing::{self, PairingError};
use crate::state::State;

fn hash(token: &str) -> [u8; 32] {
    let mut out = [0; 32];
    out.copy_from_slice(digest(&SHA256, token.as_bytes()).as_ref());
    out
}

/// A new link's token and its hash.
pub(crate) fn new_token() -> Option<(String, [u8; 32])> {
    let token = super::session::random_token()?;
    let h = hash(&token);
    Some((token, h))
}

fn ended(json_wanted: bool) -> Response<Body> {
    if json_wanted {
        return error(
            StatusCode::GONE,
            "link_ended",
            "this pairing link has ended",
        );
    }
    html(
        StatusCode::GONE,
        &layout::bare(
            "Link ended",
            &html! { p { "This pairing link has expired or was used. Ask for a new one." } },
        ),
    )
}

fn unknown(json_wanted: bool) -> Response<Body> {
    if json_wanted {
        return error(StatusCode::NOT_FOUND, "not_found", "no such pairing link");
    }
    html(
        StatusCode::NOT_FOUND,
        &layout::bare(
            "Not found",
            &html! { p { "There is no such pairing link." } },
        ),
    )
}

/// The link of `token` and its instance, if the link is open; ends it when the instance is
/// logged in already.
async fn open_link(
    app: &State,
    token: &str,
    json_wanted: bool,
) -> Result<(PairingLink, Instance, SessionState), Response<Body>> {
    if token.len() != 64 || !token.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(unknown(json_wanted));
    }
    let link = match app.store.pairing_links().by_hash(&hash(token)).await {
        Ok(Some(l)) => l,
        Ok(None) => return Err(unknown(json_wanted)),
        Err(e) => return Err(store_error(&e)),
    };
    if !link.is_open(pairing::now_ms()) {
        return Err(ended(json_wanted));
    }
    let instance = match app.store.instances().by_id(link.instance_id).await {
        Ok(Some(i)) => i,
        Ok(None) => return Err(unknown(json_wanted)),
        Err(e) => return Err(store_error(&e)),
    };
    let state = match app.store.connections().get(instance.id).await {
        Ok(c) => c.map_or(SessionState::Unknown, |c| c.state),
        Err(e) => return Err(store_error(&e)),
    };
    Ok((link, instance, state))
}

fn logged_in(state: SessionState) -> bool {
    matches!(state, SessionState::Connected | SessionState::Disconnected)
}

/// Ends every link of `instance` (its phone is paired).
async fn end_links(app: &State, instance: &Instance) {
    match app.store.pairing_links().use_all(instance.id).await {
        Ok(n) if n > 0 => {
            tracing::info!(instance = %instance.config.name, links = n, "pairing links ended: the phone is paired")
        }
        Ok(_) => {}
        Err(e) => tracing::warn!(error = %e, "ending pairing links failed"),
    }
}

/// Dispatches `/pair/{token}{/rest}`.
pub(crate) async fn handle(
    app: &State,
    req: Request<Incoming>,
    token: &str,
    rest: &[&str],
) -> Response<Body> {
    let method = req.method().clone();
    let json_wanted = !rest.is_empty();
    let (_, instance, state) = match open_link(app, token, json_wanted).await {
        Ok(found) => found,
        Err(r) => return r,
    };
    match (&method, rest) {
        (&Method::GET, []) => {
            if logged_in(state) {
                end_links(app, &instance).await;
                return ended(false);
            }
            page(token, state)
        }
        (&Method::GET, ["state"]) => {
            if logged_in(state) {
                end_links(app, &instance).await;
                return json_response(StatusCode::OK, &json!({ "state": "connected" }));
            }
            json_response(StatusCode::OK, &json!({ "state": state.as_str() }))
        }
        (&Method::POST, ["qr"]) => match pairing::qr(app, &instance).await {
            Ok(shown) => json_response(
                StatusCode::OK,
                &json!({
                    "png": shown.qr.data_url(),
                    "expires_at": shown.expires_at_ms.and_then(|ms| jiff::Timestamp::from_millisecond(ms).ok()).map(|t| t.to_string()),
                }),
            ),
            Err(e) => failure(app, &instance, e).await,
        },
        (&Method::POST, ["pair-code"]) => {
            let phone = match body::read(req, 4096).await {
                Ok(bytes) => serde_json::from_slice::<Value>(&bytes)
                    .ok()
                    .and_then(|v| v.get("phone").and_then(Value::as_str).map(str::to_owned)),
                Err(r) => return r,
            };
            let Some(phone) = phone else {
                return json_response(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    &json!({ "error": { "code": "invalid_field", "message": "phone: required, international format with country code", "field": "phone" } }),
                );
            };
            match pairing::pair_code(app, &instance, &phone).await {
                Ok(code) => json_response(StatusCode::OK, &json!({ "code": code.code })),
                Err(e) => failure(app, &instance, e).await,
            }
        }
        _ => unknown(true),
    }
}

/// A pairing failure, told without naming the instance or the gateway's answer.
async fn failure(app: &State, instance: &Instance, e: PairingError) -> Response<Body> {
    match e {
        PairingError::AlreadyPaired => {
            end_links(app, instance).await;
            ended(true)
        }
        PairingError::Invalid(field, message) => json_response(
            StatusCode::UNPROCESSABLE_ENTITY,
            &json!({ "error": { "code": "invalid_field", "message": format!("{field}: {message}"), "field": field } }),
        ),
        PairingError::NotRunning => error(
            StatusCode::SERVICE_UNAVAILABLE,
            "unavailable",
            "pairing is not possible right now: try again later",
        ),
        PairingError::Gateway(e) => {
            tracing::warn!(instance = %instance.config.name, error = %e, "pairing link: the gateway failed");
            error(
                StatusCode::BAD_GATEWAY,
                "upstream_error",
                "WhatsApp's gateway did not answer: try again shortly",
            )
        }
        PairingError::Store(e) => store_error(&e),
    }
}

fn page(token: &str, state: SessionState) -> Response<Body> {
    let base = format!("/pair/{token}");
    let state = state.as_str();
    let markup = layout::bare(
        "Pair your WhatsApp",
        &html! {
            section.card data-pairing="link" data-base=(base) data-state-url=(format!("{base}/state")) {
                p { "State: " span data-state=(state) class={ "state " (state) } { (state) } }
                ol.muted {
                    li { "Open WhatsApp on the phone." }
                    li { "Settings → Linked devices → Link a device." }
                    li { "Scan the code below." }
                }
                div.qr { img hidden alt="QR code to pair the phone" data-testid="qr"; }
                p.pair-note.muted {}
                div.actions { button type="button" data-qr { "Show QR code" } }
                form novalidate data-api=(format!("{base}/pair-code")) data-method="POST" data-then="show" data-testid="pair-code" {
                    label for="phone" { "Or pair by phone number" }
                    input #phone type="tel" name="phone" placeholder="5511987654321";
                    p.field-error data-error-for="phone" {}
                    button.secondary type="submit" { "Get pair code" }
                    p.form-error role="alert" {}
                    output {}
                }
            }
        },
    );
    html(StatusCode::OK, &markup)
}
