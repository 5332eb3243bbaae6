//! `POST /webhooks/gateway/{key}` and `POST /webhooks/chatwoot/{key}`: find the instance by
//! its route key, verify, parse, persist, answer. Nothing is written unless the event is
//! accepted; the answer comes after the store has committed it.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Instant;

use http::{HeaderMap, Request, Response, StatusCode, header};
use hyper::body::Incoming;
use serde_json::json;
use zapwoot_store::NewEvent;
use zapwoot_sync::InstanceRuntime;
use zapwoot_sync::ingest::{self, IngestError, WebhookHeaders};

use super::{Body, body, error, json_response, store_error};
use crate::body_budget::BodyLease;
use crate::metrics::labels;
use crate::state::{Route, RouteKind, State};

/// How long a webhook waits for room in the in-flight body budget before 503.
const BUSY_WAIT: std::time::Duration = std::time::Duration::from_secs(2);

fn header_bytes<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a [u8]> {
    headers.get(name).map(http::HeaderValue::as_bytes)
}

fn ingest_error(app: &State, instance: &str, source: &str, e: &IngestError) -> Response<Body> {
    match e {
        IngestError::Unauthorized(reason) => {
            app.metrics.inc(
                "zapwoot_signature_failures_total",
                labels(&[("instance", instance), ("source", source)]),
            );
            if let Some(left_out) = app.signature_log.allow(&format!("{instance}/{source}")) {
                tracing::warn!(
                    %instance, %source, %reason, left_out,
                    "webhook signature rejected (at most one line a minute per instance and source; zapwoot_signature_failures_total counts all)"
                );
            }
            error(
                StatusCode::UNAUTHORIZED,
                "bad_signature",
                format!("signature rejected: {reason}"),
            )
        }
        IngestError::Malformed(reason) => {
            tracing::info!(%instance, %source, %reason, "malformed webhook");
            error(
                StatusCode::BAD_REQUEST,
                "malformed",
                format!("malformed webhook: {reason}"),
            )
        }
        IngestError::Store(e) => store_error(e),
        _ => error(StatusCode::BAD_REQUEST, "malformed", e.to_string()),
    }
}

/// Finds the instance (applied instances first, then the store for ones another process
/// just created) and its running runtime, or the error answer.
async fn resolve(
    app: &State,
    kind: RouteKind,
    key: &str,
) -> Result<(Route, Arc<InstanceRuntime>), Response<Body>> {
    let route = match app.route(kind, key) {
        Some(route) => route,
        None => match kind.lookup(&app.store, key).await {
            Ok(Some(instance)) => Route::of(&instance),
            Ok(None) => {
                return Err(error(
                    StatusCode::NOT_FOUND,
                    "unknown_instance",
                    "no instance has this webhook key",
                ));
            }
            Err(e) => return Err(store_error(&e)),
        },
    };
    let Some(runtime) = app.engine.runtime(route.id) else {
        return Err(error(
            StatusCode::SERVICE_UNAVAILABLE,
            "instance_not_ready",
            format!("instance {} is disabled or not provisioned", route.name),
        ));
    };
    Ok((route, runtime))
}

async fn record(app: &State, event: NewEvent) -> Response<Body> {
    match app.store.events().record(event).await {
        Ok(recorded) => {
            app.engine.notify();
            json_response(
                StatusCode::OK,
                &json!({ "status": "accepted", "event_id": recorded.id, "duplicate": recorded.duplicate }),
            )
        }
        Err(e) => {
            // Not persisted, so not accepted: the upstream must send it again.
            tracing::warn!(error = %e, "could not record a webhook");
            error(
                StatusCode::SERVICE_UNAVAILABLE,
                "store_unavailable",
                "the event could not be stored; retry later",
            )
        }
    }
}

fn observe(app: &State, source: &str, instance: &str, started: Instant, response: &Response<Body>) {
    app.metrics.inc(
        "zapwoot_webhooks_total",
        labels(&[
            ("instance", instance),
            ("source", source),
            ("status", response.status().as_str()),
        ]),
    );
    app.metrics.observe(
        "zapwoot_webhook_answer_seconds",
        labels(&[("source", source)]),
        started.elapsed(),
    );
}

/// A gateway webhook (wuzapi or GOWA).
pub(crate) async fn gateway(
    app: &State,
    key: &str,
    req: Request<Incoming>,
    peer: IpAddr,
) -> Response<Body> {
    let started = Instant::now();
    let (name, response) = gateway_inner(app, key, req, peer).await;
    observe(app, "gateway", &name, started, &response);
    response
}

/// A webhook whose instance is known and whose body is read (within the caps and the
/// in-flight budget, held until the webhook is answered).
struct Received<'a> {
    route: Route,
    runtime: Arc<InstanceRuntime>,
    headers: HeaderMap,
    bytes: bytes::Bytes,
    _reserved: BodyLease<'a>,
}

/// The steps both routes share: cap, route key, budget, body. On failure: the instance name
/// (empty when unknown) and the answer.
async fn receive<'a>(
    app: &'a State,
    kind: RouteKind,
    key: &str,
    max: usize,
    req: Request<Incoming>,
    peer: IpAddr,
) -> Result<Received<'a>, (String, Response<Body>)> {
    if let Err(r) = body::check_declared(&req, max) {
        body::discard(req).await;
        return Err((String::new(), r));
    }
    let (route, runtime) = match resolve(app, kind, key).await {
        Ok(found) => found,
        Err(r) => {
            body::discard(req).await;
            return Err((String::new(), r));
        }
    };
    let name = route.name.clone();
    let headers = req.headers().clone();
    let mut lease = app.body_budget.lease(route.id, peer);
    let bytes = body::read_leased(req, max, Some((&mut lease, BUSY_WAIT)))
        .await
        .map_err(|r| (name, r))?;
    Ok(Received {
        route,
        runtime,
        headers,
        bytes,
        _reserved: lease,
    })
}

async fn gateway_inner(
    app: &State,
    key: &str,
    req: Request<Incoming>,
    peer: IpAddr,
) -> (String, Response<Body>) {
    let Received {
        route,
        runtime,
        headers,
        bytes,
        _reserved,
    } = match receive(
        app,
        RouteKind::Gateway,
        key,
        app.limits.gateway_body,
        req,
        peer,
    )
    .await
    {
        Ok(received) => received,
        Err(failed) => return failed,
    };
    let name = route.name.clone();
    let mut wh = WebhookHeaders::default();
    wh.content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    wh.gateway_signature = header_bytes(&headers, "x-hmac-signature")
        .or_else(|| header_bytes(&headers, "x-hub-signature-256"));
    let prepared = match ingest::prepare_gateway(&runtime, wh, &bytes) {
        Ok(p) => p,
        Err(e) => return (name.clone(), ingest_error(app, &name, "gateway", &e)),
    };
    // GOWA ≥ 8 posts every device of one server to one URL: hand the event to the instance
    // bridging that device.
    let event = match (&prepared.device_id, &runtime.device_id) {
        (Some(device), Some(own)) if device != own => {
            let Some(other) = app
                .device_instance(&route.gateway_url, device)
                .and_then(|id| app.engine.runtime(id))
            else {
                tracing::debug!(instance = %name, %device, "webhook for a device no instance bridges");
                return (
                    name,
                    json_response(
                        StatusCode::OK,
                        &json!({ "status": "ignored", "reason": "no instance bridges this device" }),
                    ),
                );
            };
            match ingest::prepare_gateway(&other, wh, &bytes) {
                Ok(p) => p.event,
                Err(e) => {
                    return (
                        other.name.clone(),
                        ingest_error(app, &other.name, "gateway", &e),
                    );
                }
            }
        }
        _ => prepared.event,
    };
    (name, record(app, event).await)
}

/// A Chatwoot API-inbox callback.
pub(crate) async fn chatwoot(
    app: &State,
    key: &str,
    req: Request<Incoming>,
    peer: IpAddr,
) -> Response<Body> {
    let started = Instant::now();
    let (name, response) = chatwoot_inner(app, key, req, peer).await;
    observe(app, "chatwoot", &name, started, &response);
    response
}

async fn chatwoot_inner(
    app: &State,
    key: &str,
    req: Request<Incoming>,
    peer: IpAddr,
) -> (String, Response<Body>) {
    let Received {
        route,
        runtime,
        headers,
        bytes,
        _reserved,
    } = match receive(
        app,
        RouteKind::Chatwoot,
        key,
        app.limits.chatwoot_body,
        req,
        peer,
    )
    .await
    {
        Ok(received) => received,
        Err(failed) => return failed,
    };
    let name = route.name.clone();
    let mut wh = WebhookHeaders::default();
    wh.content_type = "application/json";
    wh.chatwoot_signature = header_bytes(&headers, "x-chatwoot-signature");
    wh.chatwoot_timestamp = header_bytes(&headers, "x-chatwoot-timestamp");
    match ingest::prepare_chatwoot(&runtime, &app.store, wh, &bytes).await {
        Ok(event) => {
            // Agent messages missed while the bridge was down are recovered by the start-up
            // reconciliation; newer ones wait for it, so a chat's messages keep their order.
            app.wait_until_reconciled().await;
            (name, record(app, event).await)
        }
        Err(e) => (name.clone(), ingest_error(app, &name, "chatwoot", &e)),
    }
}
