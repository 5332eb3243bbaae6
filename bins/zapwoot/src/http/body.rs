//! Reading request bodies under a size cap (also for chunked bodies).

use std::time::Duration;

use bytes::{Bytes, BytesMut};
use http::{Request, Response, StatusCode, header};
use http_body_util::{BodyExt as _, Limited};
use hyper::body::Incoming;

use super::{Body, error};
use crate::body_budget::BodyLease;

/// The declared `Content-Length`, if any.
pub(crate) fn declared(req: &Request<Incoming>) -> Option<usize> {
    req.headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok())
}

/// 413 when the declared `Content-Length` is already beyond `max` (answered before reading).
pub(crate) fn check_declared(req: &Request<Incoming>, max: usize) -> Result<(), Response<Body>> {
    match declared(req) {
        Some(n) if n > max => Err(too_large(max)),
        _ => Ok(()),
    }
}

fn too_large(max: usize) -> Response<Body> {
    error(
        StatusCode::PAYLOAD_TOO_LARGE,
        "payload_too_large",
        format!("the body is larger than {max} bytes"),
    )
}

/// How long a body may send nothing before the request is given up (408): a connection that
/// stalls mid-body holds a worker and memory, and upstreams retry.
const BODY_IDLE: Duration = Duration::from_secs(10);

/// The whole body, or 413 beyond `max`, 408 when it stalls for [`BODY_IDLE`], or 400 when
/// the client broke off.
pub(crate) async fn read(req: Request<Incoming>, max: usize) -> Result<Bytes, Response<Body>> {
    read_leased(req, max, None).await
}

/// As [`read`], holding each chunk in `lease` as it arrives (503 `busy` when the budget has
/// no room within `wait`).
pub(crate) async fn read_leased(
    req: Request<Incoming>,
    max: usize,
    mut lease: Option<(&mut BodyLease<'_>, Duration)>,
) -> Result<Bytes, Response<Body>> {
    if let Err(r) = check_declared(&req, max) {
        discard(req).await;
        return Err(r);
    }
    let mut body = req.into_body();
    let mut out = BytesMut::new();
    loop {
        let frame = match tokio::time::timeout(BODY_IDLE, body.frame()).await {
            Err(_) => {
                return Err(error(
                    StatusCode::REQUEST_TIMEOUT,
                    "body_timeout",
                    format!("the body stalled for {} s", BODY_IDLE.as_secs()),
                ));
            }
            Ok(None) => return Ok(out.freeze()),
            Ok(Some(Err(e))) => {
                return Err(error(
                    StatusCode::BAD_REQUEST,
                    "bad_body",
                    format!("could not read the body: {e}"),
                ));
            }
            Ok(Some(Ok(frame))) => frame,
        };
        let Ok(data) = frame.into_data() else {
            continue;
        };
        if out.len() + data.len() > max {
            return Err(too_large(max));
        }
        if let Some((lease, wait)) = lease.as_mut()
            && !lease.hold(out.len() + data.len(), *wait).await
        {
            return Err(error(
                StatusCode::SERVICE_UNAVAILABLE,
                "busy",
                "too many large bodies in flight; retry later",
            ));
        }
        out.extend_from_slice(&data);
    }
}

/// Reads and drops what the client is still sending (at most 1 MiB, 2 s) so an early answer
/// (404, 413) reaches it instead of a connection reset mid-upload.
pub(crate) async fn discard(req: Request<Incoming>) {
    let drain = Limited::new(req.into_body(), 1024 * 1024).collect();
    let _ = tokio::time::timeout(std::time::Duration::from_secs(2), drain).await;
}
