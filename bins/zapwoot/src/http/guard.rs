//! Who may call `/api/v1`, and what each route needs: the admin bearer token, an API key
//! (`Bearer zw_…`) or a console session; the scope each route requires; and the record of
//! what a caller changed.

use http::{HeaderValue, Method, Request, Response, StatusCode, header};
use hyper::body::Incoming;
use serde_json::json;
use zapwoot_store::NewAction;

use super::{Body, error, json_response, store_error};
use crate::access::keys::{self, Refusal};
use crate::access::{Principal, Scope};
use crate::state::State;

/// Whether `req` carries the admin token itself.
pub(super) fn is_admin(app: &State, req: &Request<Incoming>) -> bool {
    admin_token(app, req).is_ok()
}

fn bearer(req: &Request<Incoming>) -> Option<&str> {
    req.headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
}

/// The caller: an API key, the admin token, or a console session (whose unsafe requests
/// must carry its CSRF token in `X-CSRF-Token`: a cookie alone is sent by any page's form).
pub(super) async fn authorize(
    app: &State,
    req: &Request<Incoming>,
) -> Result<Principal, Response<Body>> {
    if let Some(token) = bearer(req).filter(|t| keys::looks_like_key(t)) {
        return match app.keys.principal(&app.store, token).await {
            Ok(principal) => Ok(principal),
            Err(Refusal::Unknown) => Err(unauthorized("unknown API key")),
            Err(Refusal::Revoked) => Err(unauthorized("this API key was revoked")),
            Err(Refusal::Expired) => Err(unauthorized("this API key has expired")),
            Err(Refusal::RateLimited(seconds)) => {
                let mut r = error(
                    StatusCode::TOO_MANY_REQUESTS,
                    "rate_limited",
                    format!("this key's requests per minute are used up: retry in {seconds} s"),
                );
                r.headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
                Err(r)
            }
            Err(Refusal::Store(e)) => Err(store_error(&e)),
        };
    }
    if req.headers().contains_key(header::AUTHORIZATION)
        || crate::console::session::cookie(req.headers(), crate::console::session::COOKIE).is_none()
    {
        return admin_token(app, req).map(|()| Principal::admin());
    }
    let Some(signed) = crate::console::session::current(app, req.headers()).await else {
        return Err(unauthorized("the console session has ended: sign in again"));
    };
    let safe = matches!(*req.method(), Method::GET | Method::HEAD);
    let given = req
        .headers()
        .get(crate::console::session::CSRF_HEADER)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    if safe || crate::console::session::same(&signed.csrf, given) {
        Ok(signed.who)
    } else {
        Err(error(
            StatusCode::FORBIDDEN,
            "csrf",
            "a console request must carry its page's CSRF token in X-CSRF-Token",
        ))
    }
}

fn unauthorized(message: &str) -> Response<Body> {
    error(StatusCode::UNAUTHORIZED, "unauthorized", message)
}

fn admin_token(app: &State, req: &Request<Incoming>) -> Result<(), Response<Body>> {
    let Some(expected) = &app.admin_token else {
        return Err(error(
            StatusCode::NOT_FOUND,
            "admin_api_disabled",
            "the admin API is off: set ZAPWOOT_ADMIN_TOKEN",
        ));
    };
    if expected.matches(bearer(req).unwrap_or_default()) {
        Ok(())
    } else {
        Err(unauthorized(
            "a valid admin bearer token or API key is required",
        ))
    }
}

/// The scope route `parts` (after `/api/v1`) needs for `method`; `None` for no such route.
pub(super) fn required_scope(method: &Method, parts: &[&str]) -> Option<Scope> {
    let read = matches!(*method, Method::GET | Method::HEAD);
    let either = |r, w| Some(if read { r } else { w });
    match parts {
        ["instances"] | ["instances", _] => either(Scope::InstancesRead, Scope::InstancesWrite),
        ["instances", _, "test"] => Some(Scope::InstancesRead),
        [
            "instances",
            _,
            "provision" | "reconcile" | "import" | "pairing-links",
        ] => Some(Scope::InstancesWrite),
        ["instances", _, "connection", ..] => either(Scope::InstancesRead, Scope::InstancesWrite),
        ["instances", _, "messages"] | ["instances", _, "messages", _] => Some(Scope::MessagesSend),
        ["imports"] | ["imports", _] => Some(Scope::InstancesRead),
        ["events", _, "retry"] => Some(Scope::EventsRetry),
        ["events"] | ["events", _] | ["activity"] | ["actions"] => Some(Scope::EventsRead),
        ["subscriptions", ..] => either(Scope::SubscriptionsRead, Scope::SubscriptionsWrite),
        ["tenants", ..] | ["keys", ..] => Some(Scope::Admin),
        _ => None,
    }
}

/// 403 naming the scope that is missing.
pub(super) fn missing_scope(scope: Scope) -> Response<Body> {
    json_response(
        StatusCode::FORBIDDEN,
        &json!({ "error": {
            "code": "missing_scope",
            "message": format!("this key lacks the scope {}", scope.as_str()),
            "scope": scope.as_str(),
        } }),
    )
}

/// What an unsafe request on `parts` does, as the record of actions names it, and its target.
pub(super) fn action(method: &Method, parts: &[&str]) -> Option<(String, Option<String>)> {
    let verb = match *method {
        Method::POST => "create",
        Method::PATCH => "update",
        Method::DELETE => "delete",
        _ => return None,
    };
    Some(match parts {
        ["instances"] => (format!("instance.{verb}"), None),
        ["instances", name] => (format!("instance.{verb}"), Some(format!("instance:{name}"))),
        ["instances", _, "messages"] => ("message.send".to_owned(), None),
        ["instances", _, "connection", what] => (format!("connection.{what}"), None),
        ["instances", _, what] => (format!("instance.{what}"), None),
        ["events", id, "retry"] => ("event.retry".to_owned(), Some(format!("event:{id}"))),
        ["subscriptions"] => (format!("subscription.{verb}"), None),
        ["subscriptions", id] => (
            format!("subscription.{verb}"),
            Some(format!("subscription:{id}")),
        ),
        ["subscriptions", id, "deliveries", d, "replay"] => (
            "subscription.replay".to_owned(),
            Some(format!("subscription:{id}/delivery:{d}")),
        ),
        ["subscriptions", id, what] => (
            format!("subscription.{what}"),
            Some(format!("subscription:{id}")),
        ),
        ["tenants"] => (format!("tenant.{verb}"), None),
        ["tenants", name] => (format!("tenant.{verb}"), Some(format!("tenant:{name}"))),
        ["keys"] => ("key.create".to_owned(), None),
        ["keys", id] => (format!("key.{verb}"), Some(format!("key:{id}"))),
        _ => (format!("{}.{verb}", parts.first().unwrap_or(&"api")), None),
    })
}

/// Records that `who` did `action` (to `instance`).
pub(super) async fn record(
    app: &State,
    who: &Principal,
    (action, target): (String, Option<String>),
    instance: Option<i64>,
) {
    let mut new = NewAction::new(who.actor(), action);
    new.instance_id = instance;
    new.target = target;
    if let Err(e) = app.store.actions().record(new).await {
        tracing::warn!(error = %e, "recording an action failed");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_route_needs_the_scope_the_readme_gives_it() {
        let get = Method::GET;
        let post = Method::POST;
        assert_eq!(
            required_scope(&get, &["instances"]),
            Some(Scope::InstancesRead)
        );
        assert_eq!(
            required_scope(&post, &["instances"]),
            Some(Scope::InstancesWrite)
        );
        assert_eq!(
            required_scope(&post, &["instances", "a", "test"]),
            Some(Scope::InstancesRead)
        );
        assert_eq!(
            required_scope(&post, &["instances", "a", "connection", "qr"]),
            Some(Scope::InstancesWrite)
        );
        assert_eq!(
            required_scope(&get, &["instances", "a", "messages", "3"]),
            Some(Scope::MessagesSend)
        );
        assert_eq!(
            required_scope(&post, &["events", "3", "retry"]),
            Some(Scope::EventsRetry)
        );
        assert_eq!(required_scope(&get, &["activity"]), Some(Scope::EventsRead));
        assert_eq!(
            required_scope(&post, &["subscriptions", "1", "replay"]),
            Some(Scope::SubscriptionsWrite)
        );
        assert_eq!(required_scope(&get, &["keys"]), Some(Scope::Admin));
        assert_eq!(required_scope(&get, &["nothing"]), None);
        assert_eq!(
            action(&post, &["events", "3", "retry"]),
            Some(("event.retry".to_owned(), Some("event:3".to_owned())))
        );
        assert_eq!(action(&get, &["events"]), None);
    }
}
