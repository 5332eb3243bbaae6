//! Reading request bodies under a size cap (also for chunked bodies).

use bytes::Bytes;
use http::{Request, Response, StatusCode, header};
use http_body_util::{BodyExt as _, LengthLimitError, Limited};
use hyper::body::Incoming;

use super::{Body, error};

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

/// The whole body, or 413 beyond `max`, or 400 when the client broke off.
pub(crate) async fn read(req: Request<Incoming>, max: usize) -> Result<Bytes, Response<Body>> {
    if let Err(r) = check_declared(&req, max) {
        discard(req).await;
        return Err(r);
    }
    match Limited::new(req.into_body(), max).collect().await {
        Ok(collected) => Ok(collected.to_bytes()),
        Err(e) if e.downcast_ref::<LengthLimitError>().is_some() => Err(too_large(max)),
        Err(e) => Err(error(
            StatusCode::BAD_REQUEST,
            "bad_body",
            format!("could not read the body: {e}"),
        )),
    }
}

/// Reads and drops what the client is still sending (at most 1 MiB, 2 s) so an early answer
/// (404, 413) reaches it instead of a connection reset mid-upload.
pub(crate) async fn discard(req: Request<Incoming>) {
    let drain = Limited::new(req.into_body(), 1024 * 1024).collect();
    let _ = tokio::time::timeout(std::time::Duration::from_secs(2), drain).await;
}
