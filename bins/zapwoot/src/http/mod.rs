//! HTTP: the router, JSON answers and the error shape the README documents.

mod access;
mod admin;
pub(crate) mod body;
mod connection;
mod guard;
mod messages;
mod ops;
mod send_form;
mod sse;
mod subscriptions;
mod webhooks;

use std::convert::Infallible;
use std::sync::Arc;

use bytes::Bytes;
use http::{Method, Request, Response, StatusCode, header};
use http_body_util::combinators::UnsyncBoxBody;
use http_body_util::{BodyExt as _, Full};
use hyper::body::Incoming;
use serde_json::{Value, json};

use crate::state::State;

pub(crate) use admin::{event_document, event_json};

/// Every response body.
pub(crate) type Body = UnsyncBoxBody<Bytes, Infallible>;

/// A JSON answer.
pub(crate) fn json_response(status: StatusCode, value: &Value) -> Response<Body> {
    let bytes = serde_json::to_vec(value).unwrap_or_default();
    let mut response = Response::new(Full::new(Bytes::from(bytes)).boxed_unsync());
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static("application/json"),
    );
    response
}

/// A plain-text answer.
pub(crate) fn text_response(
    status: StatusCode,
    content_type: &'static str,
    text: String,
) -> Response<Body> {
    let mut response = Response::new(Full::new(Bytes::from(text)).boxed_unsync());
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static(content_type),
    );
    response
}

/// `{"error": {"code", "message"}}`.
pub(crate) fn error(status: StatusCode, code: &str, message: impl Into<String>) -> Response<Body> {
    json_response(
        status,
        &json!({ "error": { "code": code, "message": message.into() } }),
    )
}

/// 503 for a store that cannot be reached; 500 otherwise. Never echoes the database URL.
pub(crate) fn store_error(e: &zapwoot_store::StoreError) -> Response<Body> {
    if e.is_unavailable() {
        tracing::warn!(error = %e, "store unavailable");
        error(
            StatusCode::SERVICE_UNAVAILABLE,
            "store_unavailable",
            "the store is unavailable; retry later",
        )
    } else {
        tracing::error!(error = %e, "store error");
        error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "internal error",
        )
    }
}

/// Dispatches one request.
pub(crate) async fn route(
    app: Arc<State>,
    req: Request<Incoming>,
    peer: std::net::IpAddr,
) -> Response<Body> {
    let path = req.uri().path().to_owned();
    let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
    let method = req.method().clone();
    match (&method, segments.as_slice()) {
        (&Method::POST, ["webhooks", "gateway", key]) => {
            webhooks::gateway(&app, key, req, peer).await
        }
        (&Method::POST, ["webhooks", "chatwoot", key]) => {
            webhooks::chatwoot(&app, key, req, peer).await
        }
        (_, ["webhooks", ..]) => error(
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
            "webhooks are POSTed",
        ),
        (&Method::GET, ["healthz"]) => json_response(StatusCode::OK, &json!({ "status": "ok" })),
        (&Method::GET, ["readyz"]) => {
            let detailed = guard::is_admin(&app, &req);
            ops::readyz(&app, detailed, &admin::query(&req)).await
        }
        (&Method::GET, ["metrics"]) => ops::metrics(&app).await,
        (&Method::GET, [""]) => crate::console::redirect("/console"),
        (_, ["console", rest @ ..]) => crate::console::handle(&app, req, rest).await,
        (_, ["pair", token, rest @ ..]) => {
            crate::console::pair::handle(&app, req, token, rest).await
        }
        (_, ["api", "v1", rest @ ..]) => {
            let rest: Vec<String> = rest.iter().map(|s| (*s).to_owned()).collect();
            admin::handle(&app, req, &rest).await
        }
        _ => error(StatusCode::NOT_FOUND, "not_found", "no such route"),
    }
}
