//! The operator console under `/console`: pages rendered on the server (maud), one stylesheet
//! and one small script embedded in the binary, live parts over the activity stream. Its
//! forms call the admin API with the session cookie and a CSRF token, so every action goes
//! through the API's own handlers, validation and authorization; the pages only read.

mod activity;
mod assets;
pub(crate) mod chart;
mod events;
mod format;
mod instance;
mod layout;
mod login;
mod overview;
pub(crate) mod pair;
pub(crate) mod session;
mod subscriptions;

use std::sync::Arc;

use bytes::Bytes;
use http::{HeaderValue, Method, Request, Response, StatusCode, header};
use http_body_util::{BodyExt as _, Full};
use hyper::body::Incoming;
use maud::Markup;

use crate::access::Scope;
use crate::http::Body;
use crate::state::State;
use session::Signed;

/// What console pages may load: only their own stylesheet, script and API (the QR code
/// arrives as a `data:` image); no frames, no inline script, no other origin.
const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
                   connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// Adds the security headers every console answer carries.
fn harden(response: &mut Response<Body>) {
    let h = response.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
}

/// An HTML page.
pub(crate) fn html(status: StatusCode, markup: &Markup) -> Response<Body> {
    let mut response = Response::new(Full::new(Bytes::from(markup.0.clone())).boxed_unsync());
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    harden(&mut response);
    response
}

/// A `303 See Other` to `to`.
pub(crate) fn redirect(to: &str) -> Response<Body> {
    let mut response = Response::new(Full::new(Bytes::new()).boxed_unsync());
    *response.status_mut() = StatusCode::SEE_OTHER;
    if let Ok(v) = HeaderValue::from_str(to) {
        response.headers_mut().insert(header::LOCATION, v);
    }
    harden(&mut response);
    response
}

/// Dispatches `/console/{rest}`.
pub(crate) async fn handle(
    app: &Arc<State>,
    req: Request<Incoming>,
    rest: &[&str],
) -> Response<Body> {
    let method = req.method().clone();
    match (&method, rest) {
        (&Method::GET, ["assets", file]) => return assets::serve(file),
        (&Method::GET, ["login"]) => return login::form(app, None),
        (&Method::POST, ["login"]) => return login::submit(app, req).await,
        _ => {}
    }
    let Some(signed) = session::current(app, req.headers()).await else {
        return if method == Method::GET {
            redirect("/console/login")
        } else {
            html(
                StatusCode::UNAUTHORIZED,
                &layout::message("Signed out", "Your session has ended: sign in again."),
            )
        };
    };
    if let Some(scope) = page_scope(rest)
        && !signed.who.allows(scope)
    {
        return html(
            StatusCode::FORBIDDEN,
            &layout::page(
                "Not allowed",
                layout::Nav::None,
                &signed,
                &maud::html! { p { "This key lacks the scope " code { (scope.as_str()) } " this page needs." } },
            ),
        );
    }
    match (&method, rest) {
        (&Method::POST, ["logout"]) => login::sign_out(app, &signed, req).await,
        (&Method::GET, [] | [""]) => overview::page(app, &signed).await,
        (&Method::GET, ["instances", "new"]) => instance::new_form(&signed),
        (&Method::GET, ["instances", name]) => instance::page(app, &signed, name).await,
        (&Method::GET, ["activity"]) => activity::page(app, &signed).await,
        (&Method::GET, ["events"]) => events::list(app, &signed, &query(&req)).await,
        (&Method::GET, ["events", id]) => events::detail(app, &signed, id).await,
        (&Method::GET, ["subscriptions"]) => subscriptions::list(app, &signed).await,
        (&Method::GET, ["subscriptions", id]) => subscriptions::detail(app, &signed, id).await,
        _ => not_found(&signed),
    }
}

/// The scope a console page needs (the API checks every action again).
fn page_scope(rest: &[&str]) -> Option<Scope> {
    match rest {
        ["instances", "new"] => Some(Scope::InstancesWrite),
        [] | [""] | ["instances", _] => Some(Scope::InstancesRead),
        ["activity"] | ["events", ..] => Some(Scope::EventsRead),
        ["subscriptions", ..] => Some(Scope::SubscriptionsRead),
        _ => None,
    }
}

/// The names of the instances the signed-in principal sees, `None` for every one.
async fn visible(
    app: &State,
    signed: &Signed,
) -> Result<Option<std::collections::HashSet<String>>, zapwoot_store::StoreError> {
    if signed.who.is_unlimited() {
        return Ok(None);
    }
    Ok(Some(
        app.store
            .instances()
            .list()
            .await?
            .into_iter()
            .filter(|i| signed.who.sees(i))
            .map(|i| i.config.name)
            .collect(),
    ))
}

fn query(req: &Request<Incoming>) -> std::collections::HashMap<String, String> {
    req.uri()
        .query()
        .map(|q| form_urlencoded::parse(q.as_bytes()).into_owned().collect())
        .unwrap_or_default()
}

/// The page for what does not exist.
fn not_found(signed: &Signed) -> Response<Body> {
    html(
        StatusCode::NOT_FOUND,
        &layout::page(
            "Not found",
            layout::Nav::None,
            signed,
            &maud::html! { p { "There is nothing here." } },
        ),
    )
}

/// A page for a store that cannot answer (never its error text: it may name the database).
fn store_down(signed: &Signed, e: &zapwoot_store::StoreError) -> Response<Body> {
    tracing::warn!(error = %e, "console: store error");
    html(
        StatusCode::SERVICE_UNAVAILABLE,
        &layout::page(
            "Store unavailable",
            layout::Nav::None,
            signed,
            &maud::html! { p { "The store did not answer; try again shortly." } },
        ),
    )
}
