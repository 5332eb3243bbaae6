//! Black-box tests: the real `zapwoot` binary, on a SQLite file and on PostgreSQL, configured
//! only through its admin API, driven by the fake gateways and the fake Chatwoot.
#![allow(
    missing_docs,
    unreachable_pub,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::print_stdout,
    clippy::print_stderr
)]

mod connection;
mod hardening;
mod pairing_links;
mod send_api;
mod support;
mod tenants;

/// The `zapwoot` binary under test (the support module runs it).
use std::collections::HashSet;
use std::time::Duration;

use reqwest::Method;
use serde_json::{Value, json};
use support::{
    ADMIN_TOKEN, Bridge, CUSTOMER, Db, HMAC_KEY, OWN, SECRET_KEY, add_instance, cli, gowa_doc,
    wuzapi_doc,
};
use zapwoot_fakes::{
    FakeChatwoot, FakeChatwootConfig, FakeGowa, FakeGowaConfig, FakeWuzapi, FakeWuzapiConfig,
    Receiver, WuzapiMessage,
};
use zapwoot_signing::{Keyring, Secret};
use zapwoot_testkit::chatwoot::{customer_conversations, customer_messages, welcomed};

use connection::{
    gowa_pairs_from_chatwoot, gowa_pairs_through_the_api,
    the_cli_pairs_a_phone_and_shows_the_session, wuzapi_pairs_through_the_api,
};
use hardening::{
    bad_documents_are_refused_by_field, bad_signature_floods_do_not_fill_the_logs,
    forged_chatwoot_webhooks_reach_nobody, gateway_media_links_stay_outside,
    readiness_details_need_the_token, secrets_at_rest_are_sealed, slowloris_connections_are_capped,
    stalled_bodies_starve_nobody,
};
use pairing_links::a_pairing_link_pairs_one_instance_then_ends;
use send_api::{
    api_sends_survive_kill_9, the_cli_sends_and_waits, the_send_api_sends_once_and_mirrors_once,
};
use tenants::{
    a_tenants_activity_stream_carries_only_its_instances,
    every_route_answers_each_scope_inside_and_outside_its_tenant,
    revoked_expired_and_limited_keys_are_refused, the_cli_makes_tenants_and_keys,
};

macro_rules! on_both_databases {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn $name() { super::$name(super::Db::sqlite()).await })*

            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn kill_9_mid_load_loses_and_doubles_nothing() {
                super::kill_9_mid_load_loses_and_doubles_nothing(super::Db::sqlite()).await
            }
        }
        mod postgres {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn $name() { super::$name(super::Db::postgres()).await })*

            // Replicas may share PostgreSQL, so a restarted bridge takes the dead one's events
            // over when their (30 s, renewed while alive) leases run out, not at once.
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn kill_9_mid_load_loses_and_doubles_nothing() {
                super::kill_9_mid_load_loses_and_doubles_nothing(super::Db::postgres()).await
            }
        }
    };
}

on_both_databases!(
    wuzapi_messages_both_ways,
    gowa_messages_both_ways,
    error_paths_change_nothing,
    admin_api_refuses_every_route_without_the_token,
    sigterm_mid_load_loses_nothing,
    config_file_settings_and_instances,
    gowa_multi_device_routes_by_device_id,
    outbound_subscriptions_through_the_admin_api,
    agent_messages_written_while_the_bridge_was_down_are_sent_after_restart,
    gowa_history_is_imported_and_lost_webhooks_recovered,
    wuzapi_history_is_imported_and_lost_webhooks_recovered,
    forged_chatwoot_webhooks_reach_nobody,
    gateway_media_links_stay_outside,
    stalled_bodies_starve_nobody,
    readiness_details_need_the_token,
    slowloris_connections_are_capped,
    bad_documents_are_refused_by_field,
    secrets_at_rest_are_sealed,
    bad_signature_floods_do_not_fill_the_logs,
    the_send_api_sends_once_and_mirrors_once,
    api_sends_survive_kill_9,
    the_cli_sends_and_waits,
    wuzapi_pairs_through_the_api,
    gowa_pairs_through_the_api,
    the_cli_pairs_a_phone_and_shows_the_session,
    gowa_pairs_from_chatwoot,
    every_route_answers_each_scope_inside_and_outside_its_tenant,
    revoked_expired_and_limited_keys_are_refused,
    a_tenants_activity_stream_carries_only_its_instances,
    the_cli_makes_tenants_and_keys,
    a_pairing_link_pairs_one_instance_then_ends,
);

fn wuzapi_config() -> FakeWuzapiConfig {
    let mut config = FakeWuzapiConfig::default();
    config.hmac_key = Some(HMAC_KEY.to_owned());
    config
}

/// The contents of the customers' messages in Chatwoot, oldest first.
fn incoming_texts(chatwoot: &FakeChatwoot) -> Vec<String> {
    incoming(chatwoot)
        .iter()
        .map(|m| m["content"].as_str().unwrap().to_owned())
        .collect()
}

fn unix_now() -> i64 {
    i64::try_from(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs(),
    )
    .unwrap()
}

/// The gateway's messages recorded as events.
async fn messages_recorded(bridge: &Bridge) -> usize {
    bridge
        .inbound_events()
        .await
        .iter()
        .filter(|e| {
            e["kind"]
                .as_str()
                .is_some_and(|k| k.eq_ignore_ascii_case("message"))
        })
        .count()
}

fn incoming(chatwoot: &FakeChatwoot) -> Vec<Value> {
    customer_messages(chatwoot)
        .into_iter()
        .filter(|m| m["message_type"] == json!(0))
        .collect()
}

/// Every secret configured in the tests: none may show up in answers or logs.
fn secrets(chatwoot: &FakeChatwoot, extra: &[&str]) -> Vec<String> {
    let mut all = vec![
        ADMIN_TOKEN.to_owned(),
        SECRET_KEY.to_owned(),
        HMAC_KEY.to_owned(),
        chatwoot.admin_token().to_owned(),
        "gowa-password".to_owned(),
        "wuzapi-user-token".to_owned(),
    ];
    all.extend(extra.iter().map(|s| (*s).to_owned()));
    all
}

fn assert_no_secrets(what: &str, text: &str, secrets: &[String]) {
    for secret in secrets {
        assert!(
            !text.contains(secret.as_str()),
            "{what} contains the secret {secret:?}"
        );
    }
}

async fn agent_replies(bridge: &Bridge, chatwoot: &FakeChatwoot, text: &str) {
    let conversation = customer_conversations(chatwoot)[0]["id"].as_u64().unwrap();
    chatwoot
        .agent_reply(conversation, text, Vec::new())
        .unwrap();
    let _ = bridge;
}

/// Reads the SSE stream until an event of `kind` arrives; returns its id.
async fn next_sse_event(response: &mut reqwest::Response, kind: &str) -> (u64, Value) {
    let mut buffer = String::new();
    loop {
        let chunk = tokio::time::timeout(Duration::from_secs(20), response.chunk())
            .await
            .expect("no activity within 20 s")
            .unwrap()
            .expect("stream ended");
        buffer.push_str(&String::from_utf8_lossy(&chunk));
        while let Some(end) = buffer.find("\n\n") {
            let frame: String = buffer.drain(..end + 2).collect();
            let field = |name: &str| {
                frame
                    .lines()
                    .find_map(|l| l.strip_prefix(name).map(str::to_owned))
            };
            if field("event: ").as_deref() == Some(kind) {
                let id = field("id: ").unwrap().parse().unwrap();
                let data = serde_json::from_str(&field("data: ").unwrap()).unwrap();
                if let Err(e) = zapwoot_testkit::events::check_stream_record(&data) {
                    panic!("stream record does not match its schema: {e}");
                }
                return (id, data);
            }
        }
    }
}

async fn wuzapi_messages_both_ways(db: Db) {
    let chatwoot = FakeChatwoot::start(FakeChatwootConfig::default())
        .await
        .unwrap();
    let wuzapi = FakeWuzapi::start(wuzapi_config()).await.unwrap();
    let bridge = Bridge::start(&db);
    let provisioned = add_instance(&bridge, &wuzapi_doc("alpha", &wuzapi, &chatwoot)).await;
    // Provisioning pointed wuzapi's webhook at us and created the API inbox with our URL.
    let (hook, events) = wuzapi.webhook();
    assert_eq!(hook, provisioned["webhooks"]["gateway"].as_str().unwrap());
    assert_eq!(events, vec!["All".to_owned()]);
    // …and switched the fresh wuzapi user from "no media" to inline media.
    assert_eq!(wuzapi.media_delivery(), "base64");
    assert!(
        provisioned["notes"][0]
            .as_str()
            .unwrap()
            .contains("media_delivery"),
        "{provisioned}"
    );
    let inbox_id = provisioned["chatwoot"]["inbox_id"].as_u64().unwrap();
    assert_eq!(provisioned["chatwoot"]["webhook_secret"], json!("***"));

    let mut stream = bridge
        .http
        .get(format!("{}/api/v1/activity", bridge.url))
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(stream.status(), 200);

    let mut m = WuzapiMessage::text(CUSTOMER, "Olá, preciso de ajuda");
    m.push_name = "Maria Silva".into();
    wuzapi.emit_message(m);
    bridge
        .eventually("the customer's text in Chatwoot", || {
            incoming(&chatwoot)
                .iter()
                .any(|m| m["content"] == json!("Olá, preciso de ajuda"))
        })
        .await;
    assert_eq!(
        customer_conversations(&chatwoot)[0]["inbox_id"].as_u64(),
        Some(inbox_id)
    );
    let (id, data) = next_sse_event(&mut stream, "message.received").await;
    assert_eq!(data["instance"], json!("alpha"));

    agent_replies(&bridge, &chatwoot, "Claro! Como posso ajudar?").await;
    bridge
        .eventually("the agent's reply sent through wuzapi", || {
            wuzapi.sends().iter().any(|s| {
                s.endpoint == "/chat/send/text"
                    && s.body["Body"] == json!("Claro! Como posso ajudar?")
            })
        })
        .await;
    let (_, sent) = next_sse_event(&mut stream, "message.sent").await;
    assert_eq!(sent["instance"], json!("alpha"));

    // Resuming with Last-Event-ID replays what came after that id.
    let mut resumed = bridge
        .http
        .get(format!("{}/api/v1/activity", bridge.url))
        .bearer_auth(ADMIN_TOKEN)
        .header("last-event-id", (id - 1).to_string())
        .send()
        .await
        .unwrap();
    let (again, _) = next_sse_event(&mut resumed, "message.received").await;
    assert_eq!(again, id);

    // Each event was recorded exactly once and processed.
    let events = bridge.events().await;
    let inbound: Vec<_> = events
        .iter()
        .filter(|e| e["kind"] == json!("Message"))
        .collect();
    assert_eq!(inbound.len(), 1, "{events:#?}");
    assert_eq!(inbound[0]["status"], json!("done"));
    let (status, shown) = bridge
        .admin(Method::GET, &format!("/events/{}", inbound[0]["id"]), None)
        .await;
    assert_eq!(status, 200);
    assert!(shown["body"].is_object() || shown["body"].is_string());

    // Secrets are masked in every answer and absent from the logs.
    let (_, listed) = bridge.admin(Method::GET, "/instances", None).await;
    let (_, shown) = bridge.admin(Method::GET, "/instances/alpha", None).await;
    assert_eq!(shown["gateway"]["token"], json!("***"));
    assert_eq!(shown["gateway"]["hmac_key"], json!("***"));
    assert_eq!(shown["chatwoot"]["api_token"], json!("***"));
    let all = secrets(&chatwoot, &[]);
    for (what, body) in [
        ("list", &listed),
        ("show", &shown),
        ("provision", &provisioned),
    ] {
        assert_no_secrets(what, &body.to_string(), &all);
    }
    let metrics = bridge
        .http
        .get(format!("{}/metrics", bridge.url))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics
            .contains(r#"zapwoot_webhooks_total{instance="alpha",source="gateway",status="200"}"#),
        "{metrics}"
    );
    assert!(
        metrics.contains(r#"zapwoot_events{instance="alpha",status="done"}"#),
        "{metrics}"
    );
    // Upstream calls: counted per instance, timed per upstream and operation.
    assert!(
        metrics.contains(r#"zapwoot_upstream_requests_total{instance="alpha",upstream="chatwoot",op="create_message",outcome="ok"}"#),
        "{metrics}"
    );
    assert!(
        metrics.contains(
            r#"zapwoot_upstream_request_seconds_count{upstream="chatwoot",op="create_message"}"#
        ),
        "{metrics}"
    );
    assert!(
        !metrics.contains(r#"zapwoot_upstream_request_seconds_count{instance="#),
        "{metrics}"
    );
    let (status, logs) = bridge.terminate();
    assert!(status.success(), "{logs}");
    assert_no_secrets("the logs", &logs, &all);

    // Retention: processed events lose their bodies after the configured days (0 here), keep
    // their audit rows, and a replay of such an event is refused.
    let event_id = inbound[0]["id"].as_i64().unwrap();
    let bridge = Bridge::start_with(&db, &[("ZAPWOOT_RETAIN_BODIES_DAYS", "0")]);
    let shown = bridge
        .eventually_value("the body is pruned", || async {
            let shown = bridge
                .admin(Method::GET, &format!("/events/{event_id}"), None)
                .await
                .1;
            shown["body"].is_null().then_some(shown)
        })
        .await;
    assert_eq!(shown["status"], json!("done"));
    let (status, _) = bridge
        .admin(Method::POST, &format!("/events/{event_id}/retry"), None)
        .await;
    assert_eq!(status, 409);
}

async fn gowa_messages_both_ways(db: Db) {
    let chatwoot = FakeChatwoot::start(FakeChatwootConfig::default())
        .await
        .unwrap();
    let gowa = FakeGowa::start(FakeGowaConfig::default()).await.unwrap();
    let bridge = Bridge::start(&db);
    let provisioned = add_instance(&bridge, &gowa_doc("beta", &gowa, &chatwoot)).await;
    // GOWA ≥ 8.10: provisioning pointed the device's own webhook at the instance.
    assert_eq!(
        gowa.device_webhook(OWN).as_deref(),
        provisioned["webhooks"]["gateway"].as_str()
    );
    assert!(
        provisioned["notes"][0]
            .as_str()
            .unwrap()
            .contains("now posts"),
        "{provisioned}"
    );

    let mut payload = gowa.message_payload(CUSTOMER);
    payload.insert("body".into(), json!("Oi, tudo bem?"));
    payload.insert("from_name".into(), json!("Maria Silva"));
    gowa.emit(OWN, "message", payload);
    bridge
        .eventually("the customer's text in Chatwoot", || {
            incoming(&chatwoot)
                .iter()
                .any(|m| m["content"] == json!("Oi, tudo bem?"))
        })
        .await;
    agent_replies(&bridge, &chatwoot, "Tudo ótimo, e você?").await;
    bridge
        .eventually("the agent's reply sent through GOWA", || {
            gowa.sends().iter().any(|s| {
                s.endpoint == "/send/message" && s.fields["message"] == json!("Tudo ótimo, e você?")
            })
        })
        .await;
    let (_, shown) = bridge.admin(Method::GET, "/instances/beta", None).await;
    assert_eq!(shown["gateway"]["basic_auth"]["password"], json!("***"));
    assert_eq!(shown["gateway"]["webhook_secret"], json!("***"));
    let (status, logs) = bridge.terminate();
    assert!(status.success(), "{logs}");
    assert_no_secrets("the logs", &logs, &secrets(&chatwoot, &[]));
}

/// Captures real signed wuzapi webhooks (one per message) without delivering them.
async fn captured_webhooks(
    wuzapi: &FakeWuzapi,
    messages: &[(String, String)],
) -> Vec<zapwoot_fakes::FakeRequest> {
    let receiver = Receiver::start().await.unwrap();
    let (previous, _) = wuzapi.webhook();
    wuzapi.set_webhook(&receiver.url(), &["All"]);
    for (from, text) in messages {
        wuzapi.emit_message(WuzapiMessage::text(from, text));
    }
    let captured = receiver
        .wait_for(messages.len(), Duration::from_secs(30))
        .await
        .unwrap();
    wuzapi.set_webhook(&previous, &["All"]);
    captured
}

async fn replay(
    http: &reqwest::Client,
    url: &str,
    request: &zapwoot_fakes::FakeRequest,
) -> Result<(u16, Value), reqwest::Error> {
    let mut builder = http.post(url).body(request.body.clone());
    for name in ["content-type", "x-hmac-signature"] {
        if let Some(v) = request.header(name) {
            builder = builder.header(name, v);
        }
    }
    let response = builder.send().await?;
    let status = response.status().as_u16();
    let body = response.json().await.unwrap_or(Value::Null);
    Ok((status, body))
}

async fn raw_chunked_post(url: &str, total: usize) -> u16 {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let rest = url.strip_prefix("http://").unwrap();
    let (host, path) = rest.split_once('/').unwrap();
    let mut stream = tokio::net::TcpStream::connect(host).await.unwrap();
    let head = format!(
        "POST /{path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    let chunk = vec![b'a'; 8192];
    let mut sent = 0;
    while sent < total {
        let frame = [format!("{:x}\r\n", chunk.len()).as_bytes(), &chunk, b"\r\n"].concat();
        if stream.write_all(&frame).await.is_err() {
            break;
        }
        sent += chunk.len();
    }
    let _ = stream.write_all(b"0\r\n\r\n").await;
    let mut answer = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut answer)).await;
    let text = String::from_utf8_lossy(&answer);
    text.split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0)
}

async fn error_paths_change_nothing(db: Db) {
    let chatwoot = FakeChatwoot::start(FakeChatwootConfig::default())
        .await
        .unwrap();
    let wuzapi = FakeWuzapi::start(wuzapi_config()).await.unwrap();
    let bridge = Bridge::start_with(
        &db,
        &[
            ("ZAPWOOT_MAX_GATEWAY_BODY", "65536"),
            ("ZAPWOOT_MAX_CHATWOOT_BODY", "32768"),
            ("ZAPWOOT_MAX_INFLIGHT_BODY", "100000"),
        ],
    );
    let doc = add_instance(&bridge, &wuzapi_doc("alpha", &wuzapi, &chatwoot)).await;
    welcomed(&bridge, &chatwoot).await;
    let before = bridge.events().await.len();
    let next_id = bridge
        .events()
        .await
        .iter()
        .filter_map(|e| e["id"].as_i64())
        .max()
        .unwrap_or(0)
        + 1;
    let gateway_url = doc["webhooks"]["gateway"].as_str().unwrap().to_owned();
    let chatwoot_url = doc["webhooks"]["chatwoot"].as_str().unwrap().to_owned();
    let valid = captured_webhooks(&wuzapi, &[(CUSTOMER.to_owned(), "hello".to_owned())])
        .await
        .remove(0);
    let http = &bridge.http;
    let keys = Keyring::new(&Secret::from_bytes(HMAC_KEY).unwrap());
    let post =
        |url: String, body: Vec<u8>, signature: Option<String>, content_type: &'static str| {
            let mut request = http
                .post(url)
                .header("content-type", content_type)
                .body(body);
            if let Some(s) = signature {
                request = request.header("x-hmac-signature", s);
            }
            async move {
                let response = request.send().await.unwrap();
                let status = response.status().as_u16();
                (
                    status,
                    response.json::<Value>().await.unwrap_or(Value::Null),
                )
            }
        };
    let content_type = valid
        .header("content-type")
        .unwrap_or("application/x-www-form-urlencoded")
        .to_owned();
    let ct: &'static str = if content_type.starts_with("application/json") {
        "application/json"
    } else {
        "application/x-www-form-urlencoded"
    };
    let body = valid.body.to_vec();

    let cases: Vec<(&str, (u16, Value), u16, &str)> = vec![
        (
            "unknown key",
            post(
                format!("{}/webhooks/gateway/not-a-key", bridge.url),
                body.clone(),
                Some(keys.sign_plain_hex(&body)),
                ct,
            )
            .await,
            404,
            "unknown_instance",
        ),
        (
            "unknown chatwoot key",
            post(
                format!("{}/webhooks/chatwoot/not-a-key", bridge.url),
                b"{}".to_vec(),
                None,
                "application/json",
            )
            .await,
            404,
            "unknown_instance",
        ),
        (
            "unsigned",
            post(gateway_url.clone(), body.clone(), None, ct).await,
            401,
            "bad_signature",
        ),
        (
            "wrong signature",
            post(gateway_url.clone(), body.clone(), Some("00".repeat(32)), ct).await,
            401,
            "bad_signature",
        ),
        (
            "tampered body",
            post(
                gateway_url.clone(),
                [body.clone(), b"x".to_vec()].concat(),
                valid.header("x-hmac-signature").map(str::to_owned),
                ct,
            )
            .await,
            401,
            "bad_signature",
        ),
        (
            "malformed, signed",
            post(
                gateway_url.clone(),
                b"{not json".to_vec(),
                Some(keys.sign_plain_hex(b"{not json")),
                "application/json",
            )
            .await,
            400,
            "malformed",
        ),
        (
            "oversize",
            post(
                gateway_url.clone(),
                vec![b'a'; 70_000],
                Some(keys.sign_plain_hex(&vec![b'a'; 70_000])),
                "application/json",
            )
            .await,
            413,
            "payload_too_large",
        ),
        (
            "chatwoot unsigned",
            post(
                chatwoot_url.clone(),
                br#"{"event":"message_created","id":1}"#.to_vec(),
                None,
                "application/json",
            )
            .await,
            401,
            "bad_signature",
        ),
        (
            "chatwoot oversize",
            post(
                chatwoot_url.clone(),
                vec![b' '; 40_000],
                None,
                "application/json",
            )
            .await,
            413,
            "payload_too_large",
        ),
    ];
    for (what, (status, answer), expected, code) in &cases {
        assert_eq!(status, expected, "{what}: {answer}");
        assert_eq!(answer["error"]["code"], json!(code), "{what}: {answer}");
        assert!(
            answer["error"]["message"]
                .as_str()
                .is_some_and(|m| !m.is_empty()),
            "{what}: {answer}"
        );
    }
    assert_eq!(
        raw_chunked_post(&gateway_url, 200_000).await,
        413,
        "chunked oversize"
    );
    // In-flight body budget (100 kB here): an upload holding 59 kB leaves no room for a second
    // one, which gets 503 after a short wait; once the first is gone the budget is back.
    {
        use tokio::io::AsyncWriteExt as _;
        let rest = gateway_url.strip_prefix("http://").unwrap();
        let (host, path) = rest.split_once('/').unwrap();
        let mut slow = tokio::net::TcpStream::connect(host).await.unwrap();
        let head = format!(
            "POST /{path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\nContent-Length: 60000\r\n\r\n"
        );
        slow.write_all(head.as_bytes()).await.unwrap();
        // The budget is held as bytes arrive: most of the body is in.
        slow.write_all(&[b'{'; 59_000]).await.unwrap();
        // Time for the bridge to read those bytes (nothing observable says when it has; a
        // probe sent before could take the budget first and turn the slow upload away).
        tokio::time::sleep(Duration::from_millis(200)).await;
        let unsigned = || async {
            post(
                gateway_url.clone(),
                vec![b' '; 60_000],
                None,
                "application/json",
            )
            .await
        };
        let (status, answer) = unsigned().await;
        assert_eq!(
            (status, answer["error"]["code"].as_str()),
            (503, Some("busy")),
            "{answer}"
        );
        drop(slow);
        bridge
            .eventually_value("the budget came back", || async {
                (unsigned().await.0 == 401).then_some(())
            })
            .await;
    }
    // None of that was recorded or reached Chatwoot.
    assert_eq!(bridge.events().await.len(), before);
    assert!(customer_messages(&chatwoot).is_empty());
    let (status, _) = bridge
        .admin(Method::GET, &format!("/events/{next_id}"), None)
        .await;
    assert_eq!(status, 404);

    if matches!(db, Db::Postgres { .. }) {
        // Store down: 503 so the upstream retries, nothing half-written; then it recovers.
        db.set_reachable(false);
        let (status, answer) = replay(http, &gateway_url, &valid).await.unwrap();
        assert_eq!(status, 503, "{answer}");
        assert_eq!(answer["error"]["code"], json!("store_unavailable"));
        let ready = http
            .get(format!("{}/readyz", bridge.url))
            .send()
            .await
            .unwrap();
        assert_eq!(ready.status(), 503);
        db.set_reachable(true);
        bridge.eventually("the store is back", || true).await;
        let accepted = bridge
            .eventually_value("the webhook is accepted again", || async {
                let (status, answer) = replay(http, &gateway_url, &valid).await.unwrap();
                (status == 200).then_some(answer)
            })
            .await;
        assert_eq!(accepted["duplicate"], json!(false));
        assert_eq!(messages_recorded(&bridge).await, 1);

        // A read-only database (standby, read-only mode): not ready, webhooks 503, nothing
        // accepted; writable again, everything proceeds.
        let second = captured_webhooks(&wuzapi, &[(CUSTOMER.to_owned(), "again".to_owned())])
            .await
            .remove(0);
        db.set_read_only(true);
        let mut refused = None;
        for _ in 0..50 {
            let (status, answer) = replay(http, &gateway_url, &second).await.unwrap();
            if status != 200 {
                refused = Some((status, answer));
                break;
            }
        }
        let (status, answer) = refused.expect("a read-only store still accepted webhooks");
        assert_eq!(status, 503, "{answer}");
        let ready = http
            .get(format!("{}/readyz", bridge.url))
            .send()
            .await
            .unwrap();
        assert_eq!(ready.status(), 503);
        db.set_read_only(false);
        bridge
            .eventually_value("the webhook is accepted once writable", || async {
                (replay(http, &gateway_url, &second).await.unwrap().0 == 200).then_some(())
            })
            .await;
        assert_eq!(messages_recorded(&bridge).await, 2);
    }
    let (status, logs) = bridge.terminate();
    assert!(status.success(), "{logs}");
    assert_no_secrets("the logs", &logs, &secrets(&chatwoot, &[]));
}

async fn admin_api_refuses_every_route_without_the_token(db: Db) {
    let bridge = Bridge::start(&db);
    let routes = [
        (Method::GET, "/instances"),
        (Method::POST, "/instances"),
        (Method::GET, "/instances/alpha"),
        (Method::PATCH, "/instances/alpha"),
        (Method::DELETE, "/instances/alpha"),
        (Method::POST, "/instances/alpha/provision"),
        (Method::POST, "/instances/alpha/test"),
        (Method::POST, "/instances/alpha/reconcile"),
        (Method::POST, "/instances/alpha/import"),
        (Method::GET, "/instances/alpha/connection"),
        (Method::POST, "/instances/alpha/connection/qr"),
        (Method::POST, "/instances/alpha/connection/pair-code"),
        (Method::POST, "/instances/alpha/connection/logout"),
        (Method::POST, "/instances/alpha/connection/reconnect"),
        (Method::GET, "/imports"),
        (Method::GET, "/imports/1"),
        (Method::GET, "/events"),
        (Method::GET, "/events/1"),
        (Method::POST, "/events/1/retry"),
        (Method::GET, "/activity"),
        (Method::GET, "/subscriptions"),
        (Method::POST, "/subscriptions"),
        (Method::GET, "/subscriptions/1"),
        (Method::PATCH, "/subscriptions/1"),
        (Method::DELETE, "/subscriptions/1"),
        (Method::GET, "/subscriptions/1/deliveries"),
        (Method::GET, "/subscriptions/1/deliveries/1"),
        (Method::POST, "/subscriptions/1/deliveries/1/replay"),
        (Method::POST, "/subscriptions/1/replay"),
        (Method::POST, "/subscriptions/1/rotate"),
        (Method::POST, "/subscriptions/1/test"),
        (Method::GET, "/no-such-route"),
    ];
    let body = json!({ "name": "alpha", "url": "https://example.com" });
    for (method, path) in &routes {
        for auth in [
            None,
            Some("Bearer wrong"),
            Some("Bearer "),
            Some(ADMIN_TOKEN),
        ] {
            let mut request = bridge
                .http
                .request(method.clone(), format!("{}/api/v1{path}", bridge.url))
                .json(&body);
            if let Some(auth) = auth {
                request = request.header("authorization", auth);
            }
            let response = request.send().await.unwrap();
            assert_eq!(response.status(), 401, "{method} {path} with {auth:?}");
            let answer: Value = response.json().await.unwrap();
            assert_eq!(answer["error"]["code"], json!("unauthorized"));
        }
    }
    let (status, listed) = bridge.admin(Method::GET, "/instances", None).await;
    assert_eq!(status, 200);
    assert_eq!(listed["instances"], json!([]));
    // Subscriptions: private targets need an explicit opt-in; the secret is shown once.
    let (status, refused) = bridge
        .admin(
            Method::POST,
            "/subscriptions",
            Some(&json!({ "url": "http://127.0.0.1:9/hook", "events": ["message.*"] })),
        )
        .await;
    assert_eq!(status, 422, "{refused}");
    assert_eq!(refused["error"]["field"], json!("url"));
    let (status, created) = bridge
        .admin(
            Method::POST,
            "/subscriptions",
            Some(&json!({ "url": "http://127.0.0.1:9/hook", "events": ["message.*"], "instances": ["alpha"], "allow_private_network": true })),
        )
        .await;
    assert_eq!(status, 201, "{created}");
    let secret = created["secret"].as_str().unwrap().to_owned();
    assert!(secret.starts_with("whsec_"));
    let (status, listed) = bridge.admin(Method::GET, "/subscriptions", None).await;
    assert_eq!(status, 200);
    assert_eq!(listed["subscriptions"][0]["events"], json!(["message.*"]));
    assert!(!listed.to_string().contains(&secret));
    let id = created["id"].as_i64().unwrap();
    let (status, _) = bridge
        .admin(Method::DELETE, &format!("/subscriptions/{id}"), None)
        .await;
    assert_eq!(status, 200);
    let (status, _) = bridge
        .admin(Method::DELETE, &format!("/subscriptions/{id}"), None)
        .await;
    assert_eq!(status, 404);
    assert!(
        bridge
            .http
            .get(format!("{}/healthz", bridge.url))
            .send()
            .await
            .unwrap()
            .status()
            .is_success()
    );
    drop(bridge);

    // Without a token the admin API is off altogether.
    let bridge = Bridge::start_with(&db, &[("ZAPWOOT_ADMIN_TOKEN", "")]);
    let (status, answer) = bridge.admin(Method::GET, "/instances", None).await;
    assert_eq!(status, 404);
    assert_eq!(answer["error"]["code"], json!("admin_api_disabled"));
}

async fn sigterm_mid_load_loses_nothing(db: Db) {
    let (chatwoot, _wuzapi, bridge, url, captured) =
        load_fixture(&db, 200, 20, "load message").await;
    // Slow Chatwoot: work is still in flight when the signal comes.
    chatwoot.faults().set_latency(Duration::from_millis(20));

    let http = bridge.http.clone();
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let sender = {
        let captured = captured.clone();
        let url = url.clone();
        tokio::spawn(async move {
            let mut tasks = tokio::task::JoinSet::new();
            for (i, request) in captured.into_iter().enumerate() {
                let http = http.clone();
                let url = url.clone();
                let tx = tx.clone();
                tasks.spawn(async move {
                    if let Ok((200, answer)) = replay(&http, &url, &request).await {
                        let _ = tx.send((i, answer["event_id"].as_i64().unwrap()));
                    }
                });
                if i % 8 == 7 {
                    tokio::time::sleep(Duration::from_millis(5)).await;
                }
            }
            while tasks.join_next().await.is_some() {}
        })
    };
    let mut acked = Vec::new();
    while acked.len() < 100 {
        acked.push(rx.recv().await.unwrap());
    }
    let (status, logs) = tokio::task::spawn_blocking(move || bridge.terminate())
        .await
        .unwrap();
    assert!(status.success(), "exit {status:?}\n{logs}");
    sender.await.unwrap();
    while let Ok(a) = rx.try_recv() {
        acked.push(a);
    }
    assert!(
        logs.contains("shutting down"),
        "no graceful shutdown:\n{logs}"
    );

    // After a restart every accepted event is there, and the upstream's retries of all 200
    // (accepted or not) end with each message in Chatwoot exactly once.
    chatwoot.faults().clear();
    let acked_ids: Vec<i64> = acked.iter().map(|(_, id)| *id).collect();
    restart_and_settle(
        &db,
        &chatwoot,
        &url,
        &captured,
        &acked_ids,
        Duration::from_secs(30),
    )
    .await;
    println!(
        "SIGTERM after {} accepted of 200; all 200 delivered once after restart",
        acked.len()
    );
}

async fn config_file_settings_and_instances(db: Db) {
    let chatwoot = FakeChatwoot::start(FakeChatwootConfig::default())
        .await
        .unwrap();
    let wuzapi = FakeWuzapi::start(wuzapi_config()).await.unwrap();
    let inbox = chatwoot.add_api_inbox("WhatsApp", None);
    let dir = std::env::temp_dir().join(format!(
        "zapwoot-config-{}-{}",
        std::process::id(),
        inbox.id
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("zapwoot.toml");
    let file = format!(
        r#"listen = "127.0.0.1:0"
admin_token = "from-the-file"
log = "debug"

[[instances]]
name = "declared"
gateway = {{ kind = "wuzapi", base_url = "{}", token = "{}", hmac_key = "{HMAC_KEY}" }}
chatwoot = {{ base_url = "{}", account_id = 1, api_token = "{}", inbox_id = {} }}
options = {{ groups = false }}
"#,
        wuzapi.url(),
        wuzapi.token(),
        chatwoot.url(),
        chatwoot.admin_token(),
        inbox.id
    );
    std::fs::write(&path, file).unwrap();
    let config = path.to_str().unwrap();
    // The environment's admin token wins over the file's.
    let bridge = Bridge::start_args(&db, &[], &["serve", "--config", config]);
    assert!(
        !bridge.url.ends_with(":8080"),
        "listen from the file: {}",
        bridge.url
    );
    let (status, shown) = bridge.admin(Method::GET, "/instances/declared", None).await;
    assert_eq!(status, 200, "{shown}");
    assert_eq!(shown["running"], json!(true), "{shown}");
    assert_eq!(shown["options"]["groups"], json!(false));
    assert_eq!(shown["chatwoot"]["inbox_id"].as_u64(), Some(inbox.id));
    let wrong = bridge
        .http
        .get(format!("{}/api/v1/instances", bridge.url))
        .bearer_auth("from-the-file")
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), 401);
    drop(bridge);
    // Restarting with the same file updates rather than duplicates.
    let bridge = Bridge::start_args(&db, &[], &["serve", "--config", config]);
    let (_, listed) = bridge.admin(Method::GET, "/instances", None).await;
    assert_eq!(listed["instances"].as_array().unwrap().len(), 1);
    // A file with an unknown key is refused with the reason.
    std::fs::write(&path, "listen = \"127.0.0.1:0\"\nlisten_port = 8\n").unwrap();
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_zapwoot"))
        .args(["migrate", "--config", config])
        .env("ZAPWOOT_DATABASE_URL", db.url())
        .env("ZAPWOOT_SECRET_KEY", SECRET_KEY)
        .output()
        .unwrap();
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("listen_port"));
    let _ = std::fs::remove_dir_all(&dir);
}

async fn gowa_multi_device_routes_by_device_id(db: Db) {
    const SECOND: &str = "5511922223333@s.whatsapp.net";
    let chatwoot = FakeChatwoot::start(FakeChatwootConfig::default())
        .await
        .unwrap();
    let mut config = FakeGowaConfig::default();
    config.devices.push(("org_2".to_owned(), SECOND.to_owned()));
    // GOWA 8.0–8.9: no per-device webhooks, one server-wide URL for every device.
    config.device_webhooks = false;
    let gowa = FakeGowa::start(config).await.unwrap();
    let bridge = Bridge::start(&db);
    let first = add_instance(&bridge, &gowa_doc("first", &gowa, &chatwoot)).await;
    let mut doc = gowa_doc("second", &gowa, &chatwoot);
    doc["gateway"]["device_id"] = json!(SECOND);
    let second = add_instance(&bridge, &doc).await;
    assert!(
        second["notes"][0].as_str().unwrap().contains("--webhook="),
        "{second}"
    );
    // GOWA ≥ 8 posts every device of the server to one URL: the first instance's.
    gowa.set_webhook(first["webhooks"]["gateway"].as_str().unwrap());

    for (device, text) in [(OWN, "para o primeiro"), (SECOND, "para o segundo")] {
        let mut payload = gowa.message_payload(CUSTOMER);
        payload.insert("body".into(), json!(text));
        gowa.emit(device, "message", payload);
    }
    bridge
        .eventually("both messages in Chatwoot", || {
            incoming(&chatwoot).len() == 2
        })
        .await;
    let inbox_of = |text: &str| {
        let message = incoming(&chatwoot)
            .into_iter()
            .find(|m| m["content"] == json!(text))
            .unwrap();
        let conversation = message["conversation_id"].as_u64().unwrap();
        customer_conversations(&chatwoot)
            .into_iter()
            .find(|c| c["id"].as_u64() == Some(conversation))
            .unwrap()["inbox_id"]
            .as_u64()
    };
    assert_eq!(
        inbox_of("para o primeiro"),
        first["chatwoot"]["inbox_id"].as_u64()
    );
    assert_eq!(
        inbox_of("para o segundo"),
        second["chatwoot"]["inbox_id"].as_u64()
    );
    let events = bridge.inbound_events().await;
    let by_instance = |name: &str| {
        events
            .iter()
            .filter(|e| e["instance"] == json!(name) && e["kind"] == json!("message"))
            .count()
    };
    assert_eq!(
        (by_instance("first"), by_instance("second")),
        (1, 1),
        "{events:#?}"
    );

    // A device no instance bridges: acknowledged, recorded nowhere.
    let mut payload = gowa.message_payload(CUSTOMER);
    payload.insert("body".into(), json!("ninguém"));
    gowa.emit("5511944445555@s.whatsapp.net", "message", payload);
    assert!(gowa.wait_for_webhooks(Duration::from_secs(10)).await);
    assert_eq!(bridge.inbound_events().await.len(), events.len());
}

async fn agent_messages_written_while_the_bridge_was_down_are_sent_after_restart(db: Db) {
    let chatwoot = FakeChatwoot::start(FakeChatwootConfig::default())
        .await
        .unwrap();
    let wuzapi = FakeWuzapi::start(wuzapi_config()).await.unwrap();
    let bridge = Bridge::start(&db);
    add_instance(&bridge, &wuzapi_doc("alpha", &wuzapi, &chatwoot)).await;
    for (chat, text) in [(CUSTOMER, "oi"), ("5511976543210@s.whatsapp.net", "olá")] {
        wuzapi.emit_message(WuzapiMessage::text(chat, text));
    }
    bridge
        .eventually("two conversations", || {
            customer_conversations(&chatwoot).len() == 2
        })
        .await;
    let (status, _) = bridge.terminate();
    assert!(status.success());

    // While the bridge is down agents write 5 messages; Chatwoot's webhooks for them fail and
    // are never sent again.
    let conversations: Vec<u64> = customer_conversations(&chatwoot)
        .iter()
        .map(|c| c["id"].as_u64().unwrap())
        .collect();
    let mut written: Vec<(u64, String)> = Vec::new();
    for i in 0..5 {
        let conversation = conversations[i % 2];
        let text = format!("enquanto fora {i}");
        chatwoot
            .agent_reply(conversation, &text, Vec::new())
            .unwrap();
        written.push((conversation, text));
    }
    assert!(chatwoot.wait_for_webhooks(Duration::from_secs(10)).await);

    // Restarted, the bridge reconciles: each is sent once, in per-conversation order.
    let bridge = Bridge::start(&db);
    let texts = || -> Vec<String> {
        wuzapi
            .sends()
            .iter()
            .filter(|s| s.endpoint == "/chat/send/text")
            .map(|s| s.body["Body"].as_str().unwrap().to_owned())
            .collect()
    };
    bridge
        .eventually("the 5 agent messages sent", || texts().len() >= 5)
        .await;
    bridge.wait_idle().await;
    let sent = texts();
    assert_eq!(sent.len(), 5, "{sent:?}");
    for conversation in &conversations {
        let expected: Vec<&String> = written
            .iter()
            .filter(|(c, _)| c == conversation)
            .map(|(_, t)| t)
            .collect();
        let got: Vec<&String> = sent
            .iter()
            .filter(|s| expected.iter().any(|e| s.ends_with(e.as_str())))
            .collect();
        assert_eq!(got.len(), expected.len());
        for (g, e) in got.iter().zip(&expected) {
            assert!(g.ends_with(e.as_str()), "order: {got:?} vs {expected:?}");
        }
    }
    // Asking again finds nothing new; the metrics count what was recovered.
    let (status, answer) = bridge
        .admin(
            Method::POST,
            "/instances/alpha/reconcile",
            Some(&json!({"hours": 48})),
        )
        .await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["reconciled"][0]["recorded"], json!(0), "{answer}");
    assert_eq!(
        answer["reconciled"][0]["direction"],
        json!("chatwoot_to_whatsapp")
    );
    let (status, _) = bridge
        .admin(
            Method::POST,
            "/instances/alpha/reconcile",
            Some(&json!({"hours": 0})),
        )
        .await;
    assert_eq!(status, 422);
    let (status, _) = bridge
        .admin(Method::POST, "/instances/nobody/reconcile", None)
        .await;
    assert_eq!(status, 404);
    let metrics = bridge
        .http
        .get(format!("{}/metrics", bridge.url))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains(
            "zapwoot_reconciled_total{instance=\"alpha\",direction=\"chatwoot_to_whatsapp\"} 5"
        ),
        "{metrics}"
    );
}

async fn gowa_history_is_imported_and_lost_webhooks_recovered(db: Db) {
    let chatwoot = FakeChatwoot::start(FakeChatwootConfig::default())
        .await
        .unwrap();
    let gowa = FakeGowa::start(FakeGowaConfig::default()).await.unwrap();
    let now = unix_now();
    // Three days of a chat from before the bridge existed.
    for (text, ago) in [
        ("há três dias", 2 * 86_400 + 600),
        ("anteontem", 86_400 + 60),
        ("ontem", 80_000),
    ] {
        gowa.keep_text_at(CUSTOMER, text, now - ago);
    }
    let bridge = Bridge::start(&db);
    add_instance(&bridge, &gowa_doc("g", &gowa, &chatwoot)).await;
    let (status, _) = bridge
        .admin(
            Method::POST,
            "/instances/g/import",
            Some(&json!({"days": 0})),
        )
        .await;
    assert_eq!(status, 422);
    let (status, job) = bridge
        .admin(
            Method::POST,
            "/instances/g/import",
            Some(&json!({"days": 3})),
        )
        .await;
    assert_eq!(status, 202, "{job}");
    let id = job["id"].as_i64().unwrap();
    let finished = bridge
        .eventually_value("the import job done", || async {
            let (_, job) = bridge
                .admin(Method::GET, &format!("/imports/{id}"), None)
                .await;
            (job["state"] == json!("done")).then_some(job)
        })
        .await;
    assert_eq!(
        (
            finished["chats_total"].as_u64(),
            finished["messages_queued"].as_u64()
        ),
        (Some(1), Some(3)),
        "{finished}"
    );
    let contents = || incoming_texts(&chatwoot);
    bridge
        .eventually("3 imported messages in Chatwoot", || contents().len() >= 3)
        .await;
    assert_eq!(contents(), ["há três dias", "anteontem", "ontem"]);

    // The CLI imports the same days again: nothing new.
    let (ok, stdout, stderr) = cli(&db, &["instance", "import", "g", "--days", "3"]);
    assert!(ok, "{stderr}");
    assert!(
        stdout.contains("1 chats, 3 messages found, 0 queued"),
        "{stdout}"
    );
    assert!(
        stderr.contains("chats 1/1"),
        "plain progress lines off a terminal: {stderr}"
    );
    let (_, list) = bridge.admin(Method::GET, "/imports?instance=g", None).await;
    assert_eq!(list["imports"].as_array().unwrap().len(), 2);

    // GOWA gives up on a webhook: reconciling finds the message once.
    gowa.lose_webhooks(true);
    gowa.emit_text(CUSTOMER, "webhook perdido");
    let (status, answer) = bridge
        .admin(
            Method::POST,
            "/instances/g/reconcile",
            Some(&json!({"hours": 1})),
        )
        .await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(
        answer["reconciled"][1]["direction"],
        json!("whatsapp_to_chatwoot")
    );
    assert_eq!(answer["reconciled"][1]["recorded"], json!(1), "{answer}");
    bridge
        .eventually("the lost message in Chatwoot", || contents().len() == 4)
        .await;
    bridge.wait_idle().await;
    assert_eq!(
        contents().last().map(String::as_str),
        Some("webhook perdido")
    );
    assert_eq!(contents().len(), 4);
}

async fn wuzapi_history_is_imported_and_lost_webhooks_recovered(db: Db) {
    let chatwoot = FakeChatwoot::start(FakeChatwootConfig::default())
        .await
        .unwrap();
    let wuzapi = FakeWuzapi::start(wuzapi_config()).await.unwrap();
    let now = unix_now();
    let bridge = Bridge::start(&db);
    add_instance(&bridge, &wuzapi_doc("w", &wuzapi, &chatwoot)).await;

    // wuzapi's default keeps no history: the import is refused with the reason, no job made.
    let (status, answer) = bridge
        .admin(
            Method::POST,
            "/instances/w/import",
            Some(&json!({"days": 3})),
        )
        .await;
    assert!(status >= 400, "{status} {answer}");
    assert!(answer.to_string().contains("history = 0"), "{answer}");
    let (_, list) = bridge.admin(Method::GET, "/imports?instance=w", None).await;
    assert_eq!(list["imports"], json!([]));

    // With history on: two days of a chat from before the bridge existed.
    wuzapi.set_history(100);
    for (text, ago) in [("anteontem", 86_400 + 60), ("ontem", 80_000)] {
        wuzapi.keep_text_at(CUSTOMER, text, now - ago);
    }
    let (ok, stdout, stderr) = cli(&db, &["instance", "import", "w", "--days", "3"]);
    assert!(ok, "{stderr}");
    assert!(
        stdout.contains("1 chats, 2 messages found, 2 queued"),
        "{stdout}"
    );
    let contents = || incoming_texts(&chatwoot);
    bridge
        .eventually("2 imported messages in Chatwoot", || contents().len() >= 2)
        .await;
    assert_eq!(contents(), ["anteontem", "ontem"]);

    // wuzapi gives up on a webhook: reconciling finds the message once.
    wuzapi.lose_webhooks(true);
    wuzapi.emit_message(WuzapiMessage::text(CUSTOMER, "webhook perdido"));
    let (status, answer) = bridge
        .admin(
            Method::POST,
            "/instances/w/reconcile",
            Some(&json!({"hours": 1})),
        )
        .await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["reconciled"][1]["recorded"], json!(1), "{answer}");
    bridge
        .eventually("the lost message in Chatwoot", || contents().len() == 3)
        .await;
    bridge.wait_idle().await;
    assert_eq!(contents(), ["anteontem", "ontem", "webhook perdido"]);
}

fn verify_standard(keys: &Keyring, r: &zapwoot_fakes::FakeRequest) -> bool {
    keys.verify_standard(
        r.headers.get("webhook-id").map(|v| v.as_bytes()),
        r.headers.get("webhook-timestamp").map(|v| v.as_bytes()),
        r.headers.get("webhook-signature").map(|v| v.as_bytes()),
        &r.body,
    )
    .is_ok()
}

fn keyring(secret: &str) -> Keyring {
    Keyring::new(&Secret::from_standard(secret).unwrap())
}

async fn outbound_subscriptions_through_the_admin_api(db: Db) {
    let chatwoot = FakeChatwoot::start(FakeChatwootConfig::default())
        .await
        .unwrap();
    let wuzapi = FakeWuzapi::start(wuzapi_config()).await.unwrap();
    let bridge = Bridge::start(&db);
    add_instance(&bridge, &wuzapi_doc("alpha", &wuzapi, &chatwoot)).await;
    let receiver = Receiver::start().await.unwrap();
    let sub = |url: &str| {
        json!({"url": url, "events": ["message.*", "endpoint.*"], "instances": ["alpha"],
                                 "headers": {"Authorization": "Bearer crm-token-SECRET"}})
    };

    // Loopback targets need an explicit opt-in; bad documents change nothing.
    let (status, body) = bridge
        .admin(Method::POST, "/subscriptions", Some(&sub(&receiver.url())))
        .await;
    assert_eq!(
        (status, body["error"]["field"].as_str()),
        (422, Some("url")),
        "{body}"
    );
    for bad in [
        json!({"url": receiver.url(), "events": []}),
        json!({"url": receiver.url(), "events": ["*"], "secret": "x"}),
    ] {
        let (status, body) = bridge
            .admin(Method::POST, "/subscriptions", Some(&bad))
            .await;
        assert_eq!(status, 422, "{body}");
    }
    let mut doc = sub(&receiver.url());
    doc["allow_private_network"] = json!(true);
    let (status, created) = bridge
        .admin(Method::POST, "/subscriptions", Some(&doc))
        .await;
    assert_eq!(status, 201, "{created}");
    let id = created["id"].as_i64().unwrap();
    let secret = created["secret"].as_str().unwrap().to_owned();
    assert!(secret.starts_with("whsec_"));
    let (_, shown) = bridge
        .admin(Method::GET, &format!("/subscriptions/{id}"), None)
        .await;
    assert!(shown.get("secret").is_none(), "the secret is shown once");
    assert_eq!(shown["headers"]["Authorization"], json!("***"));
    let (_, listed) = bridge.admin(Method::GET, "/subscriptions", None).await;
    assert!(
        !listed.to_string().contains("crm-token-SECRET") && !listed.to_string().contains(&secret)
    );

    // A customer message reaches the subscriber, signed, with the custom header.
    wuzapi.emit_message(WuzapiMessage::text(CUSTOMER, "olá subscriber"));
    let got = receiver
        .wait_for(1, Duration::from_secs(20))
        .await
        .expect("message.received delivered");
    let first = &got[0];
    assert!(verify_standard(&keyring(&secret), first));
    assert_eq!(
        first.header("authorization"),
        Some("Bearer crm-token-SECRET")
    );
    let payload: Value = serde_json::from_slice(&first.body).unwrap();
    assert_eq!(
        (
            payload["type"].as_str(),
            payload["data"]["instance"].as_str()
        ),
        (Some("message.received"), Some("alpha"))
    );

    // A test event, and the deliveries with their attempts.
    let (status, test) = bridge
        .admin(Method::POST, &format!("/subscriptions/{id}/test"), None)
        .await;
    assert_eq!(status, 202, "{test}");
    let got = receiver
        .wait_for(2, Duration::from_secs(10))
        .await
        .expect("test event delivered");
    assert_eq!(
        serde_json::from_slice::<Value>(&got[1].body).unwrap()["type"],
        json!("endpoint.test")
    );
    let list = bridge
        .eventually_value("both deliveries recorded as done", || async {
            let (_, list) = bridge
                .admin(
                    Method::GET,
                    &format!("/subscriptions/{id}/deliveries"),
                    None,
                )
                .await;
            let done = list["deliveries"]
                .as_array()
                .is_some_and(|d| d.len() == 2 && d.iter().all(|d| d["state"] == json!("done")));
            done.then_some(list)
        })
        .await;
    let deliveries = list["deliveries"].as_array().unwrap();
    assert_eq!(deliveries.len(), 2);
    assert_eq!(deliveries[0]["state"], json!("done"));
    assert_eq!(deliveries[0]["attempts"][0]["status_code"], json!(200));
    assert!(deliveries[0]["attempts"][0]["latency_ms"].is_i64());

    // The receiver fails: the delivery is retried later; replaying it sends the same webhook-id.
    receiver.set_status(500);
    wuzapi.emit_message(WuzapiMessage::text(CUSTOMER, "while failing"));
    let got = receiver
        .wait_for(3, Duration::from_secs(20))
        .await
        .expect("attempted");
    let failed_id = got[2].header("webhook-id").unwrap().to_owned();
    let failed = bridge
        .eventually_value("the failed attempt recorded", || async {
            let (_, list) = bridge
                .admin(
                    Method::GET,
                    &format!("/subscriptions/{id}/deliveries?state=failed"),
                    None,
                )
                .await;
            list["deliveries"]
                .as_array()
                .and_then(|d| d.first().cloned())
        })
        .await;
    assert_eq!(failed["attempts"][0]["status_code"], json!(500));
    assert!(
        failed["next_attempt_at_ms"].as_i64().unwrap()
            > failed["attempts"][0]["attempted_at_ms"].as_i64().unwrap() + 3_000
    );
    receiver.set_status(200);
    let (status, _) = bridge
        .admin(
            Method::POST,
            &format!("/subscriptions/{id}/deliveries/{}/replay", failed["id"]),
            None,
        )
        .await;
    assert_eq!(status, 202);
    let got = receiver
        .wait_for(4, Duration::from_secs(10))
        .await
        .expect("replayed");
    assert_eq!(got[3].header("webhook-id"), Some(failed_id.as_str()));
    bridge
        .eventually_value("the replay recorded as done", || async {
            let (_, list) = bridge
                .admin(
                    Method::GET,
                    &format!("/subscriptions/{id}/deliveries?state=done"),
                    None,
                )
                .await;
            (list["deliveries"].as_array().map_or(0, Vec::len) == 3).then_some(())
        })
        .await;
    let (status, range) = bridge
        .admin(
            Method::POST,
            &format!("/subscriptions/{id}/replay"),
            Some(&json!({"since": "2000-01-01T00:00:00Z", "include_succeeded": true})),
        )
        .await;
    assert_eq!(
        (status, range["replayed"].as_u64()),
        (202, Some(3)),
        "{range}"
    );
    receiver
        .wait_for(7, Duration::from_secs(10))
        .await
        .expect("range replayed");
    let (status, _) = bridge
        .admin(
            Method::POST,
            &format!("/subscriptions/{id}/replay"),
            Some(&json!({"since": "yesterday"})),
        )
        .await;
    assert_eq!(status, 422);

    // Rotation: the new secret is returned once; both secrets sign for the overlap.
    let (status, rotated) = bridge
        .admin(
            Method::POST,
            &format!("/subscriptions/{id}/rotate"),
            Some(&json!({"overlap_hours": 1})),
        )
        .await;
    assert_eq!(status, 200, "{rotated}");
    let new_secret = rotated["secret"].as_str().unwrap().to_owned();
    assert_ne!(new_secret, secret);
    bridge
        .admin(Method::POST, &format!("/subscriptions/{id}/test"), None)
        .await;
    let got = receiver
        .wait_for(8, Duration::from_secs(10))
        .await
        .expect("after rotation");
    assert!(
        verify_standard(&keyring(&secret), &got[7])
            && verify_standard(&keyring(&new_secret), &got[7])
    );

    // Disabled: nothing is recorded; 410 disables it by itself and says why.
    let (status, off) = bridge
        .admin(
            Method::PATCH,
            &format!("/subscriptions/{id}"),
            Some(&json!({"enabled": false})),
        )
        .await;
    assert_eq!((status, off["enabled"].as_bool()), (200, Some(false)));
    wuzapi.emit_message(WuzapiMessage::text(CUSTOMER, "nobody listens"));
    bridge
        .eventually("the message in Chatwoot", || {
            incoming(&chatwoot)
                .iter()
                .any(|m| m["content"] == json!("nobody listens"))
        })
        .await;
    let (status, on) = bridge
        .admin(
            Method::PATCH,
            &format!("/subscriptions/{id}"),
            Some(&json!({"enabled": true})),
        )
        .await;
    assert_eq!((status, on["enabled"].as_bool()), (200, Some(true)));
    receiver.set_status(410);
    wuzapi.emit_message(WuzapiMessage::text(CUSTOMER, "gone"));
    let disabled = bridge
        .eventually_value("disabled by 410", || async {
            let (_, s) = bridge
                .admin(Method::GET, &format!("/subscriptions/{id}"), None)
                .await;
            (s["enabled"] == json!(false)).then_some(s)
        })
        .await;
    assert_eq!(
        disabled["disabled_reason"],
        json!("the receiver answered 410 Gone")
    );
    assert_eq!(
        receiver.received().len(),
        9,
        "nothing was recorded while disabled"
    );
    let (status, _) = bridge
        .admin(Method::GET, "/subscriptions/987654/deliveries", None)
        .await;
    assert_eq!(status, 404);
    let (status, _) = bridge
        .admin(Method::DELETE, &format!("/subscriptions/{id}"), None)
        .await;
    assert_eq!(status, 200);
    let metrics = bridge
        .http
        .get(format!("{}/metrics", bridge.url))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(metrics.contains("# TYPE zapwoot_webhook_deliveries_open gauge"));
    // Every body the subscriber got is what docs/events promises.
    for request in receiver.received() {
        zapwoot_testkit::events::assert_valid_webhook_body(
            &serde_json::from_slice(&request.body).unwrap(),
        );
    }
}

async fn kill_9_mid_load_loses_and_doubles_nothing(db: Db) {
    let (chatwoot, _wuzapi, bridge, url, captured) =
        load_fixture(&db, 150, 15, "crash message").await;
    // A subscriber of every message: its deliveries must survive the crash too.
    let subscriber = Receiver::start().await.unwrap();
    let (status, created) = bridge
        .admin(Method::POST, "/subscriptions", Some(&json!({"url": subscriber.url(), "events": ["message.received"], "allow_private_network": true})))
        .await;
    assert_eq!(status, 201, "{created}");
    chatwoot.faults().set_latency(Duration::from_millis(15));
    let mut acked = Vec::new();
    for request in &captured[..100] {
        let (status, answer) = replay(&bridge.http, &url, request).await.unwrap();
        assert_eq!(status, 200, "{answer}");
        acked.push(answer["event_id"].as_i64().unwrap());
    }
    // Work is in flight (Chatwoot is slow): kill without any shutdown, once the relay runs.
    bridge
        .eventually("the relay to start", || !incoming(&chatwoot).is_empty())
        .await;
    let delivered_before = incoming(&chatwoot).len();
    assert!(
        delivered_before < 100,
        "the crash came mid-relay ({delivered_before} delivered)"
    );
    let _ = tokio::task::spawn_blocking(move || bridge.kill())
        .await
        .unwrap();
    chatwoot.faults().clear();

    // SQLite resumes at once; PostgreSQL after the dead process's 30 s leases.
    let limit = Duration::from_secs(if matches!(db, Db::Sqlite(_)) { 20 } else { 75 });
    let contents = restart_and_settle(&db, &chatwoot, &url, &captured, &acked, limit).await;
    // Per chat, Chatwoot holds the messages in the order they were sent.
    for chat in 0..15 {
        let numbers: Vec<u32> = contents
            .iter()
            .filter_map(|c| {
                c.strip_prefix("crash message ")
                    .and_then(|n| n.parse().ok())
            })
            .filter(|n| n % 15 == chat)
            .collect();
        let mut sorted = numbers.clone();
        sorted.sort_unstable();
        assert_eq!(numbers, sorted, "chat {chat} out of order");
    }
    // Every message reached the subscriber (a delivery cut off by the kill is sent again
    // with the same webhook-id), in per-chat order.
    let limit = Duration::from_secs(if matches!(db, Db::Sqlite(_)) { 20 } else { 60 });
    let deadline = tokio::time::Instant::now() + limit;
    let mut firsts: Vec<(String, Value)> = Vec::new();
    loop {
        firsts.clear();
        for r in subscriber.received() {
            let id = r.header("webhook-id").unwrap().to_owned();
            if !firsts.iter().any(|(seen, _)| *seen == id) {
                firsts.push((id, serde_json::from_slice(&r.body).unwrap()));
            }
        }
        if firsts.len() >= 150 || tokio::time::Instant::now() >= deadline {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(
        firsts.len(),
        150,
        "every message.received delivered once per webhook-id"
    );
    for (_, body) in &firsts {
        zapwoot_testkit::events::assert_valid_webhook_body(body);
    }
    let mut per_chat: std::collections::BTreeMap<String, Vec<String>> = Default::default();
    for (_, body) in &firsts {
        per_chat
            .entry(body["data"]["chat"].as_str().unwrap().to_owned())
            .or_default()
            .push(body["data"]["wa_message_id"].as_str().unwrap().to_owned());
    }
    assert_eq!(per_chat.len(), 15);
    // Chatwoot's order (checked above) is the order of the chat's lane: the subscriber's too.
    let chatwoot_order: Vec<String> = incoming(&chatwoot)
        .iter()
        .filter_map(|m| {
            m["source_id"]
                .as_str()?
                .strip_prefix("WAID:")
                .map(str::to_owned)
        })
        .collect();
    for ids in per_chat.values() {
        let expected: Vec<&String> = chatwoot_order
            .iter()
            .filter(|id| ids.contains(id))
            .collect();
        assert_eq!(
            ids.iter().collect::<Vec<_>>(),
            expected,
            "subscriber order differs from the chat's"
        );
    }
}

/// A bridge with one wuzapi instance, and `count` real signed webhooks over `chats` chats
/// (texts `"{prefix} {i}"`, chat `i % chats`) captured without delivering them.
async fn load_fixture(
    db: &Db,
    count: usize,
    chats: usize,
    prefix: &str,
) -> (
    FakeChatwoot,
    FakeWuzapi,
    Bridge,
    String,
    Vec<zapwoot_fakes::FakeRequest>,
) {
    let chatwoot = FakeChatwoot::start(FakeChatwootConfig::default())
        .await
        .unwrap();
    let wuzapi = FakeWuzapi::start(wuzapi_config()).await.unwrap();
    let bridge = Bridge::start(db);
    let doc = add_instance(&bridge, &wuzapi_doc("alpha", &wuzapi, &chatwoot)).await;
    let url = doc["webhooks"]["gateway"].as_str().unwrap().to_owned();
    let messages: Vec<(String, String)> = (0..count)
        .map(|i| {
            (
                format!("55119{:08}@s.whatsapp.net", i % chats),
                format!("{prefix} {i}"),
            )
        })
        .collect();
    let captured = captured_webhooks(&wuzapi, &messages).await;
    (chatwoot, wuzapi, bridge, url, captured)
}

/// Restarts the bridge on `db`, checks every `acked` event survived, replays every captured
/// webhook as the upstream's retries would, and waits (at most `limit`) until each message is
/// in Chatwoot exactly once. Returns the Chatwoot contents in order.
async fn restart_and_settle(
    db: &Db,
    chatwoot: &FakeChatwoot,
    old_url: &str,
    captured: &[zapwoot_fakes::FakeRequest],
    acked: &[i64],
    limit: Duration,
) -> Vec<String> {
    let bridge = Bridge::start(db);
    let stored: HashSet<i64> = bridge
        .inbound_events()
        .await
        .iter()
        .map(|e| e["id"].as_i64().unwrap())
        .collect();
    for id in acked {
        assert!(stored.contains(id), "accepted event {id} lost");
    }
    // Same route key; the restarted bridge listens on a new port.
    let path = old_url.split_once("/webhooks/").unwrap().1;
    let url = format!("{}/webhooks/{path}", bridge.url);
    for request in captured {
        let (status, answer) = replay(&bridge.http, &url, request).await.unwrap();
        assert_eq!(status, 200, "{answer}");
    }
    let total = captured.len();
    bridge
        .eventually_within(&format!("all {total} messages in Chatwoot"), limit, || {
            incoming(chatwoot).len() >= total
        })
        .await;
    bridge.wait_idle().await;
    let contents: Vec<String> = incoming(chatwoot)
        .iter()
        .map(|m| m["content"].as_str().unwrap().to_owned())
        .collect();
    let unique: HashSet<&String> = contents.iter().collect();
    assert_eq!(
        (contents.len(), unique.len()),
        (total, total),
        "lost or doubled"
    );
    contents
}
