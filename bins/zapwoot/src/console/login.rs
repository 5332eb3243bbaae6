//! Signing in with the admin token and out again. The sign-in form has its own CSRF token
//! (a cookie and a hidden field that must match), since no session exists yet.

use std::time::Duration;

use http::{Request, Response, StatusCode, header};
use hyper::body::Incoming;
use maud::html;

use super::session::{self, LOGIN_COOKIE, SignInError, Signed};
use super::{html, layout, redirect};
use crate::http::{Body, body};
use crate::state::State;

/// The form's fields, from an `application/x-www-form-urlencoded` body.
fn fields(bytes: &[u8]) -> std::collections::HashMap<String, String> {
    form_urlencoded::parse(bytes).into_owned().collect()
}

/// `GET /console/login` (and the same form again after a failed attempt).
pub(super) fn form(app: &State, failure: Option<(StatusCode, &str)>) -> Response<Body> {
    if app.admin_token.is_none() {
        return html(
            StatusCode::NOT_FOUND,
            &layout::bare(
                "Console off",
                &html! { p { "The console signs in with the admin token: set ZAPWOOT_ADMIN_TOKEN and restart zapwoot." } },
            ),
        );
    }
    let Some(csrf) = session::random_token() else {
        return html(
            StatusCode::INTERNAL_SERVER_ERROR,
            &layout::message("Sign in", "No random numbers available."),
        );
    };
    let (status, message) = failure.unwrap_or((StatusCode::OK, ""));
    let markup = layout::bare(
        "Sign in",
        &html! {
            form.stack method="post" action="/console/login" {
                input type="hidden" name="csrf" value=(csrf);
                label for="token" { "Admin token or API key" }
                input #token type="password" name="token" autocomplete="current-password" required autofocus;
                p.hint { "ZAPWOOT_ADMIN_TOKEN, or a key (zw_…): the console then shows what the key may see and do." }
                @if !message.is_empty() { p.form-error role="alert" data-testid="login-error" { (message) } }
                div.actions { button type="submit" { "Sign in" } }
            }
        },
    );
    let mut response = html(status, &markup);
    response.headers_mut().insert(
        header::SET_COOKIE,
        session::set_cookie(app, LOGIN_COOKIE, &csrf, Duration::from_secs(3600)),
    );
    response
}

/// `POST /console/login`.
pub(super) async fn submit(app: &State, req: Request<Incoming>) -> Response<Body> {
    let expected = session::cookie(req.headers(), LOGIN_COOKIE).map(str::to_owned);
    let bytes = match body::read(req, app.limits.admin_body).await {
        Ok(b) => b,
        Err(r) => return r,
    };
    let fields = fields(&bytes);
    let given = fields.get("csrf").map_or("", String::as_str);
    if expected.is_none_or(|e| !session::same(&e, given)) {
        return form(
            app,
            Some((
                StatusCode::FORBIDDEN,
                "The form expired (or cookies are off): sign in again.",
            )),
        );
    }
    let token = fields.get("token").map_or("", String::as_str);
    match session::sign_in(app, token).await {
        Ok(cookie) => {
            tracing::info!("console: signed in");
            let mut response = redirect("/console");
            let headers = response.headers_mut();
            headers.append(
                header::SET_COOKIE,
                session::set_cookie(app, session::COOKIE, &cookie, session::LIFETIME),
            );
            headers.append(
                header::SET_COOKIE,
                session::set_cookie(app, LOGIN_COOKIE, "", Duration::ZERO),
            );
            response
        }
        Err(SignInError::WrongToken) => {
            tracing::info!("console: sign-in with a wrong token");
            form(
                app,
                Some((
                    StatusCode::UNAUTHORIZED,
                    "That is neither the admin token nor an active API key.",
                )),
            )
        }
        Err(SignInError::Off) => form(app, None),
        Err(SignInError::Store(e)) => {
            tracing::warn!(error = %e, "console: session not stored");
            form(
                app,
                Some((
                    StatusCode::SERVICE_UNAVAILABLE,
                    "The store did not answer; try again shortly.",
                )),
            )
        }
    }
}

/// `POST /console/logout`: ends the session in the store, so the cookie opens nothing even
/// if it was copied.
pub(super) async fn sign_out(
    app: &State,
    signed: &Signed,
    req: Request<Incoming>,
) -> Response<Body> {
    let bytes = match body::read(req, app.limits.admin_body).await {
        Ok(b) => b,
        Err(r) => return r,
    };
    if !session::same(
        &signed.csrf,
        fields(&bytes).get("csrf").map_or("", String::as_str),
    ) {
        return html(
            StatusCode::FORBIDDEN,
            &layout::message("Refused", "The form carried no valid CSRF token."),
        );
    }
    session::sign_out(app, signed).await;
    let mut response = redirect("/console/login");
    response.headers_mut().append(
        header::SET_COOKIE,
        session::set_cookie(app, session::COOKIE, "", Duration::ZERO),
    );
    response
}
