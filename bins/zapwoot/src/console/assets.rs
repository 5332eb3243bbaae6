//! The console's stylesheet and script, embedded in the binary.

use http::{HeaderValue, Response, StatusCode, header};

use crate::http::{Body, text_response};

const CSS: &str = include_str!("assets/console.css");
const JS: &str = include_str!("assets/console.js");

/// `GET /console/assets/{file}`.
pub(super) fn serve(file: &str) -> Response<Body> {
    let (content_type, text) = match file {
        "console.css" => ("text/css; charset=utf-8", CSS),
        "console.js" => ("text/javascript; charset=utf-8", JS),
        _ => return text_response(StatusCode::NOT_FOUND, "text/plain", "not found".to_owned()),
    };
    let mut response = text_response(StatusCode::OK, content_type, text.to_owned());
    let headers = response.headers_mut();
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=300"),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    response
}
