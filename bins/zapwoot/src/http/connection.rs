//! `/api/v1/instances/{name}/connection…`: the WhatsApp session of an instance — its record,
//! pairing by QR code or linking code, logout and reconnect.

use http::{Method, Request, Response, StatusCode};
use hyper::body::Incoming;
use serde_json::{Value, json};
use zapwoot_store::{ConnectionRecord, Instance, SessionState};

use super::admin::failure;
use super::{Body, body, error, json_response, store_error};
use crate::instances::{self, AdminError};
use crate::pairing::{self, PairingError};
use crate::state::State;

/// Dispatches `…/connection{/rest}` of the instance `name`.
pub(super) async fn handle(
    app: &State,
    name: &str,
    req: Request<Incoming>,
    rest: &[&str],
) -> Response<Body> {
    let instance = match instances::get(&app.store, name).await {
        Ok(i) => i,
        Err(f) => return failure(f),
    };
    let method = req.method().clone();
    match (&method, rest) {
        (&Method::GET, []) => show(app, &instance).await,
        (&Method::POST, ["qr"]) => match pairing::qr(app, &instance).await {
            Ok(shown) => json_response(
                StatusCode::OK,
                &json!({
                    "png": shown.qr.data_url(),
                    "code": shown.qr.code,
                    "expires_at": shown.expires_at_ms.map(rfc3339),
                }),
            ),
            Err(e) => pairing_failure(name, e),
        },
        (&Method::POST, ["pair-code"]) => {
            let phone = match phone_field(app, req).await {
                Ok(p) => p,
                Err(r) => return r,
            };
            match pairing::pair_code(app, &instance, &phone).await {
                Ok(code) => json_response(
                    StatusCode::OK,
                    &json!({
                        "code": code.code,
                        // WhatsApp's linking codes last about three minutes.
                        "expires_at": rfc3339(pairing::now_ms() + 180_000),
                    }),
                ),
                Err(e) => pairing_failure(name, e),
            }
        }
        (&Method::POST, ["logout"]) => match pairing::logout(app, &instance).await {
            Ok(()) => show(app, &instance).await,
            Err(e) => pairing_failure(name, e),
        },
        (&Method::POST, ["reconnect"]) => match pairing::reconnect(app, &instance).await {
            Ok(()) => json_response(
                StatusCode::ACCEPTED,
                &json!({ "instance": name, "reconnecting": true }),
            ),
            Err(e) => pairing_failure(name, e),
        },
        _ => error(StatusCode::NOT_FOUND, "not_found", "no such route"),
    }
}

/// The `{"phone"}` of a pair-code request.
async fn phone_field(app: &State, req: Request<Incoming>) -> Result<String, Response<Body>> {
    let bytes = body::read(req, app.limits.admin_body).await?;
    let doc = instances::parse_document(&bytes).map_err(failure)?;
    if let Some(other) = doc
        .as_object()
        .and_then(|m| m.keys().find(|k| *k != "phone"))
    {
        return Err(failure(AdminError::Invalid(
            other.clone(),
            "unknown field".to_owned(),
        )));
    }
    match doc.get("phone") {
        Some(Value::String(p)) => Ok(p.clone()),
        _ => Err(failure(AdminError::Invalid(
            "phone".to_owned(),
            "required: the phone number to pair, international format with country code".to_owned(),
        ))),
    }
}

async fn show(app: &State, instance: &Instance) -> Response<Body> {
    match app.store.connections().get(instance.id).await {
        Ok(record) => json_response(
            StatusCode::OK,
            &document(&instance.config.name, record.as_ref()),
        ),
        Err(e) => store_error(&e),
    }
}

/// The connection record as the API shows it (`unknown` before anything was seen).
pub(crate) fn document(name: &str, record: Option<&ConnectionRecord>) -> Value {
    let state = record.map_or(SessionState::Unknown, |r| r.state);
    json!({
        "instance": name,
        "state": state.as_str(),
        "jid": record.and_then(|r| r.jid.as_deref()),
        "phone": record.and_then(ConnectionRecord::phone),
        "push_name": record.and_then(|r| r.push_name.as_deref()),
        "reason": record.and_then(|r| r.reason.as_deref()),
        "detail": record.map(|r| r.detail.as_str()),
        "since": record.map(|r| rfc3339(r.since_ms)),
        "updated_at": record.map(|r| rfc3339(r.updated_at_ms)),
    })
}

fn rfc3339(ms: i64) -> String {
    jiff::Timestamp::from_millisecond(ms)
        .map(|t| format!("{t:.3}"))
        .unwrap_or_default()
}

fn pairing_failure(name: &str, e: PairingError) -> Response<Body> {
    match e {
        PairingError::NotRunning => error(
            StatusCode::CONFLICT,
            "not_running",
            format!("instance {name:?} is not running"),
        ),
        PairingError::AlreadyPaired => error(
            StatusCode::CONFLICT,
            "already_paired",
            format!(
                "instance {name:?} is logged in to WhatsApp already: log out first to pair another phone"
            ),
        ),
        PairingError::Invalid(field, message) => {
            failure(AdminError::Invalid(field.to_owned(), message))
        }
        PairingError::Gateway(e) => error(
            StatusCode::BAD_GATEWAY,
            "upstream_error",
            format!("the gateway: {e}"),
        ),
        PairingError::Store(e) => store_error(&e),
    }
}
