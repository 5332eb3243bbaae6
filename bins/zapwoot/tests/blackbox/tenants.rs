//! Tenants and scoped API keys: every admin route × every scope × a key inside and outside
//! its tenant answers 2xx, 403 naming the scope, or 404 as if the resource did not exist;
//! revoked and expired keys get 401 (on another replica too, within the documented delay);
//! a tenant's activity stream carries none of another tenant's records; the plain key is
//! stored, logged and answered nowhere after its creation.

use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::{Value, json};
use zapwoot_fakes::{FakeChatwoot, FakeChatwootConfig, FakeWuzapi, Receiver, WuzapiMessage};

use super::support::{Bridge, Db, add_instance, cli, wuzapi_doc};
use super::wuzapi_config;

/// Polls `check` every 100 ms until it holds, failing after `limit`.
async fn poll_until<F, Fut>(what: &str, limit: Duration, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let start = Instant::now();
    while !check().await {
        assert!(start.elapsed() < limit, "{what}: not within {limit:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Every record of the stream until one whose data contains `until`.
async fn records_until(stream: &mut reqwest::Response, until: &str) -> Vec<Value> {
    let mut buffer = String::new();
    let mut records = Vec::new();
    loop {
        let chunk = tokio::time::timeout(Duration::from_secs(20), stream.chunk())
            .await
            .expect("no activity within 20 s")
            .unwrap()
            .expect("stream ended");
        buffer.push_str(&String::from_utf8_lossy(&chunk));
        while let Some(end) = buffer.find("\n\n") {
            let frame: String = buffer.drain(..end + 2).collect();
            if let Some(data) = frame.lines().find_map(|l| l.strip_prefix("data: ")) {
                let record: Value = serde_json::from_str(data).unwrap();
                let done = data.contains(until);
                records.push(record);
                if done {
                    return records;
                }
            }
        }
    }
}

/// Every scope a key may hold but `admin`.
const SCOPES: [&str; 7] = [
    "instances:read",
    "instances:write",
    "messages:send",
    "events:read",
    "events:retry",
    "subscriptions:read",
    "subscriptions:write",
];

async fn call(
    bridge: &Bridge,
    key: &str,
    method: Method,
    path: &str,
    body: Option<&Value>,
) -> (u16, Value) {
    let mut request = bridge
        .http
        .request(method, format!("{}/api/v1{path}", bridge.url))
        .bearer_auth(key);
    if let Some(body) = body {
        request = request.json(body);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    if response
        .headers()
        .get("content-type")
        .is_some_and(|v| v == "text/event-stream")
    {
        return (status, Value::Null);
    }
    let text = response.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

async fn make_key(bridge: &Bridge, doc: Value) -> String {
    let (status, made) = bridge.admin(Method::POST, "/keys", Some(&doc)).await;
    assert_eq!(status, 201, "{made}");
    made["key"].as_str().unwrap().to_owned()
}

/// One tenant's world: its instance, one of its events, a send, a subscription.
struct World {
    receiver: String,
    instance: String,
    tenant: String,
    event: i64,
    message: String,
    subscription: i64,
}

async fn world(
    bridge: &Bridge,
    wuzapi: &FakeWuzapi,
    chatwoot: &FakeChatwoot,
    receiver: &Receiver,
    tenant: &str,
    instance: &str,
) -> World {
    let (status, _) = bridge
        .admin(
            Method::POST,
            "/tenants",
            Some(&json!({"name": tenant, "description": format!("{tenant} Ltd")})),
        )
        .await;
    assert_eq!(status, 201);
    let mut doc = wuzapi_doc(instance, wuzapi, chatwoot);
    doc["tenant"] = json!(tenant);
    add_instance(bridge, &doc).await;
    wuzapi.emit_message(WuzapiMessage::text(
        "5511911110000",
        &format!("hello {instance}"),
    ));
    let message = json!({ "to": "+55 11 98765-4321", "text": format!("from {instance}") });
    let (status, sent) = bridge
        .admin(
            Method::POST,
            &format!("/instances/{instance}/messages"),
            Some(&message),
        )
        .await;
    assert_eq!(status, 202, "{sent}");
    let (status, sub) = bridge
        .admin(Method::POST, "/subscriptions", Some(&json!({"url": receiver.url(), "events": ["*"], "allow_private_network": true, "tenant": tenant})))
        .await;
    assert_eq!(status, 201, "{sub}");
    bridge.wait_idle().await;
    let (_, events) = bridge
        .admin(Method::GET, &format!("/events?instance={instance}"), None)
        .await;
    World {
        receiver: receiver.url(),
        instance: instance.to_owned(),
        tenant: tenant.to_owned(),
        event: events["events"][0]["id"].as_i64().unwrap(),
        message: sent["id"]
            .as_str()
            .map_or_else(|| sent["id"].to_string(), str::to_owned),
        subscription: sub["id"].as_i64().unwrap(),
    }
}

/// A route of the matrix: method, path, the scope it needs, body, the statuses a key with the
/// scope inside its tenant may get, and the status outside (404 unless the route names no
/// resource of the other tenant).
struct Route {
    method: Method,
    path: String,
    scope: &'static str,
    body: Option<Value>,
    inside: &'static [u16],
    outside: u16,
}

fn routes(w: &World, n: usize) -> Vec<Route> {
    let i = &w.instance;
    let r =
        |method: Method, path: String, scope, body: Option<Value>, inside: &'static [u16]| Route {
            method,
            path,
            scope,
            body,
            inside,
            outside: 404,
        };
    let mut new_instance = json!({"name": format!("{i}-new-{n}"), "gateway": {"kind": "wuzapi", "base_url": "http://127.0.0.1:9", "token": "t"},
                                  "chatwoot": {"base_url": "http://127.0.0.1:9", "account_id": 1, "api_token": "c"}, "tenant": w.tenant});
    if n == 1 {
        new_instance["name"] = json!(format!("{i}-other-{n}"));
    }
    vec![
        r(
            Method::GET,
            "/instances".into(),
            "instances:read",
            None,
            &[200],
        ),
        Route {
            outside: 422,
            ..r(
                Method::POST,
                "/instances".into(),
                "instances:write",
                Some(new_instance),
                &[201],
            )
        },
        r(
            Method::GET,
            format!("/instances/{i}"),
            "instances:read",
            None,
            &[200],
        ),
        r(
            Method::PATCH,
            format!("/instances/{i}"),
            "instances:write",
            Some(json!({"options": {"sign_agent_name": false}})),
            &[200],
        ),
        r(
            Method::POST,
            format!("/instances/{i}/provision"),
            "instances:write",
            None,
            &[200],
        ),
        r(
            Method::POST,
            format!("/instances/{i}/test"),
            "instances:read",
            None,
            &[200],
        ),
        r(
            Method::POST,
            format!("/instances/{i}/reconcile"),
            "instances:write",
            Some(json!({"hours": 1})),
            &[200],
        ),
        r(
            Method::POST,
            format!("/instances/{i}/import"),
            "instances:write",
            Some(json!({"days": 1})),
            &[202, 409],
        ),
        r(
            Method::GET,
            format!("/instances/{i}/connection"),
            "instances:read",
            None,
            &[200],
        ),
        r(
            Method::POST,
            format!("/instances/{i}/connection/qr"),
            "instances:write",
            None,
            &[200, 409],
        ),
        r(
            Method::POST,
            format!("/instances/{i}/connection/pair-code"),
            "instances:write",
            Some(json!({"phone": "+5511987654321"})),
            &[200, 409],
        ),
        r(
            Method::POST,
            format!("/instances/{i}/connection/reconnect"),
            "instances:write",
            None,
            &[202],
        ),
        r(
            Method::POST,
            format!("/instances/{i}/messages"),
            "messages:send",
            Some(json!({"to": "+55 11 98765-4321", "text": "hi"})),
            &[202],
        ),
        r(
            Method::GET,
            format!("/instances/{i}/messages/{}", w.message),
            "messages:send",
            None,
            &[200],
        ),
        r(
            Method::GET,
            "/imports".into(),
            "instances:read",
            None,
            &[200],
        ),
        r(Method::GET, "/events".into(), "events:read", None, &[200]),
        r(
            Method::GET,
            format!("/events?instance={i}"),
            "events:read",
            None,
            &[200],
        ),
        r(
            Method::GET,
            format!("/events/{}", w.event),
            "events:read",
            None,
            &[200],
        ),
        r(
            Method::POST,
            format!("/events/{}/retry", w.event),
            "events:retry",
            None,
            &[202, 409],
        ),
        r(Method::GET, "/activity".into(), "events:read", None, &[200]),
        r(Method::GET, "/actions".into(), "events:read", None, &[200]),
        r(
            Method::GET,
            format!("/actions?instance={i}"),
            "events:read",
            None,
            &[200],
        ),
        r(
            Method::GET,
            "/subscriptions".into(),
            "subscriptions:read",
            None,
            &[200],
        ),
        Route {
            outside: 422,
            ..r(
                Method::POST,
                "/subscriptions".into(),
                "subscriptions:write",
                Some(
                    json!({"url": w.receiver, "events": ["*"], "allow_private_network": true, "tenant": w.tenant}),
                ),
                &[201],
            )
        },
        r(
            Method::GET,
            format!("/subscriptions/{}", w.subscription),
            "subscriptions:read",
            None,
            &[200],
        ),
        r(
            Method::PATCH,
            format!("/subscriptions/{}", w.subscription),
            "subscriptions:write",
            Some(json!({"ordered": true})),
            &[200],
        ),
        r(
            Method::GET,
            format!("/subscriptions/{}/deliveries", w.subscription),
            "subscriptions:read",
            None,
            &[200],
        ),
        r(
            Method::POST,
            format!("/subscriptions/{}/replay", w.subscription),
            "subscriptions:write",
            Some(json!({"since": "2000-01-01T00:00:00Z"})),
            &[202],
        ),
        r(
            Method::POST,
            format!("/subscriptions/{}/rotate", w.subscription),
            "subscriptions:write",
            None,
            &[200],
        ),
        r(
            Method::POST,
            format!("/subscriptions/{}/test", w.subscription),
            "subscriptions:write",
            None,
            &[200, 202],
        ),
        r(Method::GET, "/tenants".into(), "admin", None, &[200]),
        r(
            Method::POST,
            "/tenants".into(),
            "admin",
            Some(json!({"name": format!("t{n}")})),
            &[201],
        ),
        r(
            Method::GET,
            format!("/tenants/{}", w.tenant),
            "admin",
            None,
            &[200],
        ),
        r(Method::GET, "/keys".into(), "admin", None, &[200]),
        r(
            Method::POST,
            "/keys".into(),
            "admin",
            Some(json!({"name": "x", "scopes": ["events:read"]})),
            &[201],
        ),
    ]
}

/// The part of a route's path naming the other tenant's resources.
fn outside(route: &Route, inside: &World, other: &World) -> (String, Option<Value>) {
    let path = route
        .path
        .replace(
            &format!("/instances/{}", inside.instance),
            &format!("/instances/{}", other.instance),
        )
        .replace(
            &format!("instance={}", inside.instance),
            &format!("instance={}", other.instance),
        )
        .replace(
            &format!("/events/{}", inside.event),
            &format!("/events/{}", other.event),
        )
        .replace(
            &format!("/subscriptions/{}", inside.subscription),
            &format!("/subscriptions/{}", other.subscription),
        )
        .replace(
            &format!("/tenants/{}", inside.tenant),
            &format!("/tenants/{}", other.tenant),
        );
    let body = route.body.clone().map(|mut b| {
        if b.get("tenant").is_some() {
            b["tenant"] = json!(other.tenant);
        }
        b
    });
    (path, body)
}

pub(super) async fn every_route_answers_each_scope_inside_and_outside_its_tenant(db: Db) {
    let chatwoot = FakeChatwoot::start(FakeChatwootConfig::default())
        .await
        .unwrap();
    let wuzapi_a = FakeWuzapi::start(wuzapi_config()).await.unwrap();
    let wuzapi_b = FakeWuzapi::start(wuzapi_config()).await.unwrap();
    let receiver = Receiver::start().await.unwrap();
    let bridge = Bridge::start(&db);
    let acme = world(&bridge, &wuzapi_a, &chatwoot, &receiver, "acme", "a1").await;
    let bolt = world(&bridge, &wuzapi_b, &chatwoot, &receiver, "bolt", "b1").await;

    let mut keys = Vec::new();
    for scope in SCOPES {
        keys.push((
            scope,
            make_key(
                &bridge,
                json!({"name": format!("acme {scope}"), "tenant": "acme", "scopes": [scope]}),
            )
            .await,
        ));
    }
    let mut checked = 0;
    for (n, (held, key)) in keys.iter().enumerate() {
        for route in routes(&acme, n) {
            let (status, answer) = call(
                &bridge,
                key,
                route.method.clone(),
                &route.path,
                route.body.as_ref(),
            )
            .await;
            let what = format!("{} {} with {held}: {answer}", route.method, route.path);
            if route.scope == *held {
                assert!(route.inside.contains(&status), "{what}");
            } else {
                assert_eq!(status, 403, "{what}");
                assert_eq!(answer["error"]["scope"], json!(route.scope), "{what}");
            }
            let (path, body) = outside(&route, &acme, &bolt);
            if path == route.path && body == route.body {
                // Lists name no resource: what they hold is checked below.
                checked += 1;
                continue;
            }
            let (status, answer) =
                call(&bridge, key, route.method.clone(), &path, body.as_ref()).await;
            let what = format!("{} {path} with {held}: {answer}", route.method);
            let expected = if route.scope == *held {
                route.outside
            } else {
                403
            };
            assert_eq!(status, expected, "{what}");
            checked += 2;
        }
    }
    assert!(checked > 200, "{checked}");

    // Lists are filtered: the tenant's key sees its instance, events and subscriptions only.
    let read = &keys[0].1;
    let (_, listed) = call(&bridge, read, Method::GET, "/instances", None).await;
    let names: Vec<&str> = listed["instances"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["name"].as_str().unwrap())
        .collect();
    assert!(names.iter().all(|n| n.starts_with("a1")), "{names:?}");
    assert!(names.contains(&"a1"));
    let events_key = &keys[3].1;
    let (_, events) = call(&bridge, events_key, Method::GET, "/events?limit=500", None).await;
    let events = events["events"].as_array().unwrap();
    assert!(
        !events.is_empty()
            && events
                .iter()
                .all(|e| e["instance"].as_str().is_some_and(|n| n.starts_with("a1"))),
        "{events:?}"
    );
    let (_, subs) = call(&bridge, &keys[5].1, Method::GET, "/subscriptions", None).await;
    assert!(
        subs["subscriptions"]
            .as_array()
            .unwrap()
            .iter()
            .all(|s| s["tenant"] == json!("acme")),
        "{subs}"
    );
    let (_, actions) = call(&bridge, events_key, Method::GET, "/actions?limit=500", None).await;
    let actions = actions["actions"].as_array().unwrap();
    assert!(
        actions
            .iter()
            .all(|a| a["instance"].as_str().is_none_or(|n| n.starts_with("a1"))),
        "{actions:?}"
    );
    // What a key changed names it.
    let send_id = keys[2].1.clone();
    let (_, made) = bridge.admin(Method::GET, "/keys", None).await;
    let sender = made["keys"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["name"] == json!("acme messages:send"))
        .unwrap()["id"]
        .clone();
    assert!(send_id.starts_with("zw_"));
    assert!(
        actions.iter().any(|a| a["action"] == json!("message.send")
            && a["actor"] == json!(format!("key:{sender}"))),
        "{actions:?}"
    );

    // Destructive routes last: outside and without the scope nothing happens; then they work.
    let write = &keys[1].1;
    let subs_write = &keys[6].1;
    for (key, method, path, scope) in [
        (write, Method::DELETE, "/instances/b1".to_owned(), None),
        (
            read,
            Method::DELETE,
            "/instances/a1".to_owned(),
            Some("instances:write"),
        ),
        (
            subs_write,
            Method::DELETE,
            format!("/subscriptions/{}", bolt.subscription),
            None,
        ),
        (
            read,
            Method::DELETE,
            format!("/subscriptions/{}", acme.subscription),
            Some("subscriptions:write"),
        ),
        (
            write,
            Method::POST,
            "/instances/b1/connection/logout".to_owned(),
            None,
        ),
        (
            write,
            Method::DELETE,
            "/tenants/bolt".to_owned(),
            Some("admin"),
        ),
        (write, Method::DELETE, "/keys/1".to_owned(), Some("admin")),
    ] {
        let (status, answer) = call(&bridge, key, method.clone(), &path, None).await;
        assert_eq!(
            status,
            if scope.is_some() { 403 } else { 404 },
            "{method} {path}: {answer}"
        );
    }
    let (status, _) = bridge.admin(Method::GET, "/instances/b1", None).await;
    assert_eq!(status, 200, "b1 is still there");
    let (status, _) = call(
        &bridge,
        subs_write,
        Method::DELETE,
        &format!("/subscriptions/{}", acme.subscription),
        None,
    )
    .await;
    assert_eq!(status, 200);
    let (status, _) = call(&bridge, write, Method::DELETE, "/instances/a1", None).await;
    assert_eq!(status, 200);
    let (status, _) = bridge.admin(Method::GET, "/instances/a1", None).await;
    assert_eq!(status, 404);
    bridge.wait_idle().await;
}

pub(super) async fn revoked_expired_and_limited_keys_are_refused(db: Db) {
    let chatwoot = FakeChatwoot::start(FakeChatwootConfig::default())
        .await
        .unwrap();
    let wuzapi = FakeWuzapi::start(wuzapi_config()).await.unwrap();
    let one = Bridge::start(&db);
    let two = Bridge::start(&db);
    let receiver = Receiver::start().await.unwrap();
    world(&one, &wuzapi, &chatwoot, &receiver, "acme", "a1").await;

    // Revoked on one replica, refused by the other within the delay the README gives (5 s).
    let (status, made) = one
        .admin(
            Method::POST,
            "/keys",
            Some(&json!({"name": "crm", "tenant": "acme", "scopes": ["instances:read"]})),
        )
        .await;
    assert_eq!(status, 201);
    let key = made["key"].as_str().unwrap().to_owned();
    let id = made["id"].as_i64().unwrap();
    assert_eq!(
        call(&two, &key, Method::GET, "/instances", None).await.0,
        200
    );
    assert_eq!(
        call(&one, &key, Method::GET, "/instances", None).await.0,
        200
    );
    let (status, _) = one
        .admin(Method::DELETE, &format!("/keys/{id}"), None)
        .await;
    assert_eq!(status, 200);
    let revoked = Instant::now();
    let (status, answer) = call(&one, &key, Method::GET, "/instances", None).await;
    assert_eq!(
        status, 401,
        "at once on the replica that revoked it: {answer}"
    );
    assert_eq!(
        answer["error"]["message"],
        json!("this API key was revoked")
    );
    poll_until(
        "the other replica refuses the revoked key",
        Duration::from_secs(8),
        || async { call(&two, &key, Method::GET, "/instances", None).await.0 == 401 },
    )
    .await;
    assert!(
        revoked.elapsed() < Duration::from_secs(7),
        "{:?}",
        revoked.elapsed()
    );
    let (_, listed) = one.admin(Method::GET, "/keys", None).await;
    let shown = listed["keys"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["id"] == json!(id))
        .unwrap()
        .clone();
    assert_eq!(shown["active"], json!(false));
    assert!(
        shown["revoked_at"].is_string() && shown["last_used_at"].is_string(),
        "{shown}"
    );
    assert_eq!(shown["prefix"], json!(&key[..11]));

    // Expired: works until its time, refused after.
    let soon = jiff::Timestamp::now() + jiff::SignedDuration::from_secs(2);
    let (status, made) = one.admin(Method::POST, "/keys", Some(&json!({"name": "brief", "scopes": ["events:read"], "expires_at": soon.to_string()}))).await;
    assert_eq!(status, 201, "{made}");
    let brief = made["key"].as_str().unwrap().to_owned();
    assert_eq!(
        call(&one, &brief, Method::GET, "/events", None).await.0,
        200
    );
    poll_until("the key expires", Duration::from_secs(10), || async {
        call(&one, &brief, Method::GET, "/events", None).await.0 == 401
    })
    .await;
    assert!(jiff::Timestamp::now() >= soon);
    let (_, answer) = call(&one, &brief, Method::GET, "/events", None).await;
    assert_eq!(
        answer["error"]["message"],
        json!("this API key has expired")
    );
    assert_eq!(
        call(
            &one,
            &format!("zw_{}", "0".repeat(64)),
            Method::GET,
            "/events",
            None
        )
        .await
        .0,
        401
    );

    // Rate limit: the minute's requests, then 429 with Retry-After.
    let limited = make_key(
        &one,
        json!({"name": "slow", "scopes": ["events:read"], "rate_per_minute": 3}),
    )
    .await;
    let mut statuses = Vec::new();
    let mut retry_after = None;
    for _ in 0..4 {
        let response = one
            .http
            .get(format!("{}/api/v1/events", one.url))
            .bearer_auth(&limited)
            .send()
            .await
            .unwrap();
        statuses.push(response.status().as_u16());
        retry_after = response
            .headers()
            .get("retry-after")
            .map(|v| v.to_str().unwrap().parse::<u64>().unwrap());
    }
    // A minute may turn between the calls: then the count starts again.
    assert!(
        statuses == [200, 200, 200, 429] || statuses.iter().filter(|s| **s == 429).count() <= 1,
        "{statuses:?}"
    );
    if statuses[3] == 429 {
        assert!(
            retry_after.is_some_and(|s| (1..=60).contains(&s)),
            "{retry_after:?}"
        );
    }

    // Bad key documents are refused by field and make nothing.
    for (doc, field) in [
        (json!({"scopes": ["events:read"]}), "name"),
        (json!({"name": "x"}), "scopes"),
        (json!({"name": "x", "scopes": ["everything"]}), "scopes"),
        (
            json!({"name": "x", "scopes": ["admin"], "tenant": "acme"}),
            "scopes",
        ),
        (
            json!({"name": "x", "scopes": ["events:read"], "tenant": "nobody"}),
            "tenant",
        ),
        (
            json!({"name": "x", "scopes": ["events:read"], "instances": ["nobody"]}),
            "instances",
        ),
        (
            json!({"name": "x", "scopes": ["events:read"], "expires_at": "2000-01-01T00:00:00Z"}),
            "expires_at",
        ),
        (
            json!({"name": "x", "scopes": ["events:read"], "rate_per_minute": 0}),
            "rate_per_minute",
        ),
        (
            json!({"name": "x", "scopes": ["events:read"], "colour": "red"}),
            "colour",
        ),
    ] {
        let (status, answer) = one.admin(Method::POST, "/keys", Some(&doc)).await;
        assert_eq!(
            (status, answer["error"]["field"].as_str()),
            (422, Some(field)),
            "{doc}: {answer}"
        );
    }
    let (_, listed) = one.admin(Method::GET, "/keys", None).await;
    assert_eq!(listed["keys"].as_array().unwrap().len(), 3);

    // Tenants: a tenant with members cannot go; the admin scope key does everything.
    let (status, answer) = one.admin(Method::DELETE, "/tenants/acme", None).await;
    assert_eq!(status, 409, "{answer}");
    let admin_key = make_key(&one, json!({"name": "ops", "scopes": ["admin"]})).await;
    let (status, t) = call(
        &one,
        &admin_key,
        Method::POST,
        "/tenants",
        Some(&json!({"name": "spare"})),
    )
    .await;
    assert_eq!(status, 201, "{t}");
    let (status, t) = call(
        &one,
        &admin_key,
        Method::PATCH,
        "/tenants/spare",
        Some(&json!({"description": "later"})),
    )
    .await;
    assert_eq!((status, t["description"].as_str()), (200, Some("later")));
    assert_eq!(
        call(&one, &admin_key, Method::DELETE, "/tenants/spare", None)
            .await
            .0,
        200
    );
    assert_eq!(
        call(&one, &admin_key, Method::GET, "/tenants/spare", None)
            .await
            .0,
        404
    );

    // No plain key in any answer after its creation, in the logs (debug level) or the file.
    let (_, listed) = one.admin(Method::GET, "/keys", None).await;
    let mut everything = listed.to_string();
    everything.push_str(&one.logs());
    everything.push_str(&two.logs());
    // Both backends run the same queries; the SQLite file (and its WAL) can be read whole.
    if let Db::Sqlite(dir) = &db {
        for suffix in ["", "-wal"] {
            if let Ok(bytes) = std::fs::read(dir.join(format!("zapwoot.db{suffix}"))) {
                everything.push_str(&String::from_utf8_lossy(&bytes));
            }
        }
    }
    for secret in [&key, &brief, &limited, &admin_key] {
        assert!(!everything.contains(secret.as_str()), "a plain key leaked");
        assert!(
            !everything.contains(&secret[11..]),
            "a key's secret part leaked"
        );
    }
    one.wait_idle().await;
}

pub(super) async fn a_tenants_activity_stream_carries_only_its_instances(db: Db) {
    let chatwoot = FakeChatwoot::start(FakeChatwootConfig::default())
        .await
        .unwrap();
    let wuzapi_a = FakeWuzapi::start(wuzapi_config()).await.unwrap();
    let wuzapi_b = FakeWuzapi::start(wuzapi_config()).await.unwrap();
    let receiver = Receiver::start().await.unwrap();
    let bridge = Bridge::start(&db);
    world(&bridge, &wuzapi_a, &chatwoot, &receiver, "acme", "a1").await;
    world(&bridge, &wuzapi_b, &chatwoot, &receiver, "bolt", "b1").await;
    let key = make_key(
        &bridge,
        json!({"name": "acme events", "tenant": "acme", "scopes": ["events:read"]}),
    )
    .await;
    let mut stream = bridge
        .http
        .get(format!("{}/api/v1/activity", bridge.url))
        .bearer_auth(&key)
        .send()
        .await
        .unwrap();
    assert_eq!(stream.status(), 200);
    // The backlog already holds both tenants' records; then bolt speaks, then acme.
    wuzapi_b.emit_message(WuzapiMessage::text("5511922220000", "bolt's secret plans"));
    bridge.wait_idle().await;
    wuzapi_a.emit_message(WuzapiMessage::text("5511911110000", "acme says hi"));
    let seen = records_until(&mut stream, "acme says hi").await;
    for record in &seen {
        assert_eq!(record["instance"], json!("a1"), "{record}");
        assert!(!record.to_string().contains("bolt"), "{record}");
    }
    // Asking for the other tenant's instance by name changes nothing.
    let mut other = bridge
        .http
        .get(format!("{}/api/v1/activity?instance=b1", bridge.url))
        .bearer_auth(&key)
        .send()
        .await
        .unwrap();
    assert_eq!(other.status(), 200);
    wuzapi_b.emit_message(WuzapiMessage::text("5511922220000", "more from bolt"));
    bridge.wait_idle().await;
    let got = tokio::time::timeout(Duration::from_millis(1500), other.chunk()).await;
    if let Ok(Ok(Some(chunk))) = got {
        let text = String::from_utf8_lossy(&chunk).into_owned();
        assert!(!text.contains("data:"), "{text}");
    }
    bridge.wait_idle().await;
}

pub(super) async fn the_cli_makes_tenants_and_keys(db: Db) {
    let bridge = Bridge::start(&db);
    let (ok, out, err) = cli(&db, &["tenant", "add", "acme", "--description", "Acme Ltd"]);
    assert!(ok, "{err}");
    assert_eq!(
        serde_json::from_str::<Value>(&out).unwrap()["name"],
        json!("acme")
    );
    let (ok, _, err) = cli(&db, &["tenant", "add", "acme"]);
    assert!(!ok && err.contains("exists"), "{err}");
    let (ok, out, err) = cli(
        &db,
        &[
            "key",
            "add",
            "--name",
            "crm",
            "--scope",
            "events:read",
            "--scope",
            "instances:read",
            "--tenant",
            "acme",
            "--rate-per-minute",
            "100",
        ],
    );
    assert!(ok, "{err}");
    let made: Value = serde_json::from_str(&out).unwrap();
    let key = made["key"].as_str().unwrap().to_owned();
    assert_eq!(made["scopes"], json!(["events:read", "instances:read"]));
    let (ok, _, err) = cli(
        &db,
        &["key", "add", "--name", "bad", "--scope", "everything"],
    );
    assert!(!ok && err.contains("scopes"), "{err}");

    // The running bridge takes the key at once; it sees the tenant's (no) instances.
    let (status, listed) = call(&bridge, &key, Method::GET, "/instances", None).await;
    assert_eq!((status, listed["instances"].clone()), (200, json!([])));
    assert_eq!(call(&bridge, &key, Method::GET, "/keys", None).await.0, 403);

    let (ok, out, _) = cli(&db, &["key", "list"]);
    assert!(
        ok && out.contains(&key[..11]) && out.contains("active"),
        "{out}"
    );
    assert!(!out.contains(&key[11..]), "the list never shows the key");
    let (ok, out, _) = cli(&db, &["tenant", "list"]);
    assert!(
        ok && out.contains("acme\tinstances=0\tsubscriptions=0\tkeys=1"),
        "{out}"
    );
    let (ok, out, _) = cli(&db, &["tenant", "show", "acme"]);
    assert!(ok && out.contains("Acme Ltd"), "{out}");
    let (ok, _, err) = cli(&db, &["tenant", "remove", "acme"]);
    assert!(
        !ok && err.contains("keys"),
        "a live key holds the tenant: {err}"
    );

    let id = made["id"].to_string();
    let (ok, _, err) = cli(&db, &["key", "revoke", &id]);
    assert!(ok, "{err}");
    poll_until(
        "the bridge refuses the key revoked by the CLI",
        Duration::from_secs(8),
        || async { call(&bridge, &key, Method::GET, "/instances", None).await.0 == 401 },
    )
    .await;
    let (ok, _, err) = cli(&db, &["key", "revoke", "999"]);
    assert!(!ok && err.contains("no key"), "{err}");
    let (ok, out, err) = cli(&db, &["tenant", "remove", "acme"]);
    assert!(ok && out.contains("removed acme"), "{err}");
    assert!(
        !bridge.logs().contains(&key[3..]),
        "the key is never logged"
    );
}
