//! The fake Chatwoot refuses what upstream refuses, with upstream's statuses and bodies.
//! Raw HTTP requests, so shapes the typed client cannot produce are covered too.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    missing_docs
)]

use std::time::Duration;

use bytes::Bytes;
use http::{Method, Request};
use http_body_util::{BodyExt as _, Full};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use serde_json::{Value, json};
use zapwoot_fakes::{FakeChatwoot, FakeChatwootConfig, Receiver, WebhookOrder};

async fn call(method: Method, url: &str, headers: &[(&str, &str)], body: &str) -> (u16, String) {
    let client = Client::builder(TokioExecutor::new()).build_http::<Full<Bytes>>();
    let mut request = Request::builder().method(method).uri(url);
    for (k, v) in headers {
        request = request.header(*k, *v);
    }
    let response = client
        .request(
            request
                .body(Full::new(Bytes::from(body.to_owned())))
                .unwrap(),
        )
        .await
        .unwrap();
    let status = response.status().as_u16();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    (status, String::from_utf8_lossy(&bytes).into_owned())
}

fn api(fake: &FakeChatwoot, path: &str) -> String {
    format!(
        "{}/api/v1/accounts/{}/{path}",
        fake.url(),
        fake.account_id()
    )
}

#[tokio::test]
async fn authentication_like_upstream() {
    let fake = FakeChatwoot::start(FakeChatwootConfig::default())
        .await
        .unwrap();
    let (status, body) = call(Method::GET, &api(&fake, "inboxes"), &[], "").await;
    assert_eq!(
        (status, body.as_str()),
        (
            401,
            r#"{"errors":["You need to sign in or sign up before continuing."]}"#
        )
    );
    let (status, body) = call(
        Method::GET,
        &api(&fake, "inboxes"),
        &[("api_access_token", "nope")],
        "",
    )
    .await;
    assert_eq!(
        (status, body.as_str()),
        (401, r#"{"error":"Invalid Access Token"}"#)
    );
    // Both header spellings work.
    for header in ["api_access_token", "Api-Access-Token"] {
        let (status, _) = call(
            Method::GET,
            &api(&fake, "inboxes"),
            &[(header, fake.admin_token())],
            "",
        )
        .await;
        assert_eq!(status, 200, "{header}");
    }
    let wrong_account = format!("{}/api/v1/accounts/2/inboxes", fake.url());
    let (status, body) = call(
        Method::GET,
        &wrong_account,
        &[("api_access_token", fake.admin_token())],
        "",
    )
    .await;
    assert_eq!(status, 401);
    assert!(body.contains("not authorized to access this account"));
}

#[tokio::test]
async fn bodies_are_validated() {
    let fake = FakeChatwoot::start(FakeChatwootConfig::default())
        .await
        .unwrap();
    let inbox = fake.add_api_inbox("WA", None);
    let auth = [
        ("api_access_token", fake.admin_token()),
        ("content-type", "application/json"),
    ];

    let (status, _) = call(Method::POST, &api(&fake, "contacts"), &auth, "{not json").await;
    assert_eq!(status, 400);
    let (status, body) = call(
        Method::POST,
        &api(&fake, "contacts"),
        &auth,
        r#"{"name": 5}"#,
    )
    .await;
    assert_eq!(status, 422);
    assert_eq!(
        serde_json::from_str::<Value>(&body).unwrap()["attributes"],
        json!(["name"])
    );
    let (status, body) = call(
        Method::POST,
        &api(&fake, "contacts"),
        &auth,
        r#"{"phone_number": "5511987654321"}"#,
    )
    .await;
    assert_eq!(status, 422);
    assert_eq!(
        serde_json::from_str::<Value>(&body).unwrap(),
        json!({"message": "Phone number should be in e164 format", "attributes": ["phone_number"]})
    );
    // Upstream's regex is not anchored at the start: this passes there, and here.
    let (status, _) = call(
        Method::POST,
        &api(&fake, "contacts"),
        &auth,
        r#"{"phone_number": "tel:+5511987654321"}"#,
    )
    .await;
    assert_eq!(status, 200);

    let (status, body) = call(
        Method::POST,
        &api(&fake, "contact_inboxes/filter"),
        &auth,
        &format!(r#"{{"inbox_id": {}, "source_id": "ghost"}}"#, inbox.id),
    )
    .await;
    assert_eq!((status, body.as_str()), (404, ""), "head :not_found");

    let (status, _) = call(
        Method::POST,
        &api(&fake, "conversations"),
        &auth,
        r#"{"inbox_id": 1}"#,
    )
    .await;
    assert_eq!(status, 422, "source_id is required");
}

#[tokio::test]
async fn unknown_routes_are_logged_as_unexpected() {
    let fake = FakeChatwoot::start(FakeChatwootConfig::default())
        .await
        .unwrap();
    let (status, _) = call(
        Method::GET,
        &api(&fake, "teams"),
        &[("api_access_token", fake.admin_token())],
        "",
    )
    .await;
    assert_eq!(status, 404);
    let (status, _) = call(
        Method::GET,
        &format!("{}/nothing/here", fake.url()),
        &[],
        "",
    )
    .await;
    assert_eq!(status, 404);
    let unexpected = fake.unexpected_requests();
    assert_eq!(unexpected.len(), 2);
    assert!(unexpected[0].request.path.ends_with("/teams"));
}

#[tokio::test]
async fn shuffled_and_concurrent_orders_deliver_everything_once() {
    for order in [WebhookOrder::Shuffled, WebhookOrder::Concurrent] {
        let receiver = Receiver::start().await.unwrap();
        let mut config = FakeChatwootConfig::default();
        config.webhook_order = order;
        let fake = FakeChatwoot::start(config).await.unwrap();
        let inbox = fake.add_api_inbox("WA", Some(&receiver.url()));
        let auth = [
            ("api_access_token", fake.admin_token()),
            ("content-type", "application/json"),
        ];
        let body = format!(
            r#"{{"inbox_id": {}, "source_id": "5511@s.whatsapp.net", "name": "M"}}"#,
            inbox.id
        );
        let (_, created) = call(Method::POST, &api(&fake, "contacts"), &auth, &body).await;
        let contact = serde_json::from_str::<Value>(&created).unwrap()["payload"]["contact"]["id"]
            .as_u64()
            .unwrap();
        let body = format!(
            r#"{{"inbox_id": {}, "source_id": "5511@s.whatsapp.net", "contact_id": {contact}}}"#,
            inbox.id
        );
        let (_, conversation) =
            call(Method::POST, &api(&fake, "conversations"), &auth, &body).await;
        let conversation = serde_json::from_str::<Value>(&conversation).unwrap()["id"]
            .as_u64()
            .unwrap();
        for i in 0..30 {
            let path = api(&fake, &format!("conversations/{conversation}/messages"));
            let (status, _) = call(
                Method::POST,
                &path,
                &auth,
                &format!(r#"{{"content": "m{i}", "message_type": "incoming"}}"#),
            )
            .await;
            assert_eq!(status, 200);
        }
        assert!(fake.wait_for_webhooks(Duration::from_secs(10)).await);
        let received = receiver.received();
        assert_eq!(
            received.len(),
            31,
            "{order:?}: conversation_created + 30 message_created, no loss, no duplicate"
        );
        let mut contents: Vec<String> = received
            .iter()
            .filter_map(|r| serde_json::from_slice::<Value>(&r.body).ok())
            .filter_map(|v| v["content"].as_str().map(str::to_owned))
            .collect();
        contents.sort();
        contents.dedup();
        assert_eq!(contents.len(), 30);
    }
}
