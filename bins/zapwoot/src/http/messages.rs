//! The send API: `POST /api/v1/instances/{name}/messages` and
//! `GET /api/v1/instances/{name}/messages/{id}`.

use http::{HeaderValue, Request, Response, StatusCode, header};
use hyper::body::Incoming;
use serde_json::json;
use zapwoot_sync::send::{self, AcceptError, SendRequest};

use super::{Body, body, error, json_response, send_form, store_error};
use crate::instances::{self, AdminError};
use crate::state::State;

/// Longest `Idempotency-Key` kept.
const MAX_KEY: usize = 255;

/// Accepts a message (202 `{"id", "status": "queued"}`), durably, before answering.
pub(super) async fn create(app: &State, name: &str, req: Request<Incoming>) -> Response<Body> {
    let instance = match instances::get(&app.store, name).await {
        Ok(i) => i,
        Err(f) => return super::admin::failure(f),
    };
    let Some(runtime) = app.engine.runtime(instance.id) else {
        return error(
            StatusCode::CONFLICT,
            "not_running",
            format!("instance {name:?} is not running"),
        );
    };
    let key = match req
        .headers()
        .get("idempotency-key")
        .map(HeaderValue::to_str)
    {
        None => None,
        Some(Ok(k)) if !k.is_empty() && k.len() <= MAX_KEY => Some(k.to_owned()),
        Some(_) => {
            return invalid(
                "Idempotency-Key",
                &format!("1 to {MAX_KEY} visible ASCII characters"),
            );
        }
    };
    let content_type = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    // Room for the largest file in base64, and the rest of the document.
    let max = usize::try_from(runtime.options.max_media_bytes / 3 * 4).unwrap_or(usize::MAX)
        + app.limits.admin_body;
    let bytes = match body::read(req, max).await {
        Ok(b) => b,
        Err(r) => return r,
    };
    let request: SendRequest = match content_type.as_deref() {
        Some(form) if send_form::is_form(Some(form)) => match send_form::parse(form, bytes).await {
            Ok(r) => r,
            Err(e) => return invalid(&e.field, &e.reason),
        },
        _ => match serde_json::from_slice(&bytes) {
            Ok(r) => r,
            Err(e) => {
                return error(
                    StatusCode::BAD_REQUEST,
                    "malformed",
                    format!("not a message document: {e}"),
                );
            }
        },
    };
    match send::accept(&app.engine, &runtime, &request, key.as_deref()).await {
        Ok(accepted) => json_response(
            StatusCode::ACCEPTED,
            &json!({ "id": accepted.id, "status": "queued", "repeat": accepted.repeat }),
        ),
        Err(AcceptError::Invalid(e)) if e.too_large => {
            error(StatusCode::PAYLOAD_TOO_LARGE, "too_large", e.to_string())
        }
        Err(AcceptError::Invalid(e)) => invalid(e.field, &e.reason),
        Err(e @ AcceptError::KeyReused) => invalid("Idempotency-Key", &e.to_string()),
        Err(AcceptError::Busy {
            queued,
            retry_after_secs,
        }) => {
            let mut r = error(
                StatusCode::TOO_MANY_REQUESTS,
                "queue_full",
                format!("{queued} messages are queued for {name:?}; try again later"),
            );
            if let Ok(v) = HeaderValue::from_str(&retry_after_secs.to_string()) {
                r.headers_mut().insert(header::RETRY_AFTER, v);
            }
            r
        }
        Err(AcceptError::Store(e)) => store_error(&e),
        Err(e) => error(StatusCode::INTERNAL_SERVER_ERROR, "internal", e.to_string()),
    }
}

/// Where a message stands.
pub(super) async fn show(app: &State, name: &str, id: &str) -> Response<Body> {
    let instance = match instances::get(&app.store, name).await {
        Ok(i) => i,
        Err(f) => return super::admin::failure(f),
    };
    match send::status(&app.store, instance.id, id).await {
        Ok(Some(status)) => json_response(StatusCode::OK, &json!(status)),
        Ok(None) => error(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("no message {id:?}"),
        ),
        Err(e) => store_error(&e),
    }
}

fn invalid(field: &str, reason: &str) -> Response<Body> {
    super::admin::failure(AdminError::Invalid(field.to_owned(), reason.to_owned()))
}
