//! Pairing links: a public page showing one instance's live QR code (or a pair code) and
//! its state, for a client without an account; it ends at its expiry and once the phone is
//! paired, and its token opens no API route.

use reqwest::Method;
use serde_json::{Value, json};
use zapwoot_fakes::{FakeChatwoot, FakeChatwootConfig, FakeWuzapi, code_in_png};

use super::connection::{png_of, wait_for_state};
use super::support::{Bridge, Db, add_instance, cli, wuzapi_doc};
use super::wuzapi_config;

async fn get(bridge: &Bridge, url: &str) -> (u16, String) {
    let response = bridge.http.get(url).send().await.unwrap();
    (response.status().as_u16(), response.text().await.unwrap())
}

async fn post(bridge: &Bridge, url: &str, body: &Value) -> (u16, Value) {
    let response = bridge.http.post(url).json(body).send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

pub(super) async fn a_pairing_link_pairs_one_instance_then_ends(db: Db) {
    let chatwoot = FakeChatwoot::start(FakeChatwootConfig::default())
        .await
        .unwrap();
    let mut config = wuzapi_config();
    config.unpaired = true;
    let wuzapi_a = FakeWuzapi::start(config.clone()).await.unwrap();
    let wuzapi_b = FakeWuzapi::start(config).await.unwrap();
    let bridge = Bridge::start(&db);
    add_instance(&bridge, &wuzapi_doc("acme-shop", &wuzapi_a, &chatwoot)).await;
    let b1 = add_instance(&bridge, &wuzapi_doc("bolt-store", &wuzapi_b, &chatwoot)).await;
    wait_for_state(&bridge, "acme-shop", "logged_out").await;

    let (status, link) = bridge
        .admin(
            Method::POST,
            "/instances/acme-shop/pairing-links",
            Some(&json!({"expires_in_minutes": 30})),
        )
        .await;
    assert_eq!(status, 201, "{link}");
    let url = link["url"].as_str().unwrap().to_owned();
    let token = url.rsplit('/').next().unwrap().to_owned();
    assert!(
        url.starts_with(&format!("{}/pair/", bridge.url)) && token.len() == 64,
        "{url}"
    );
    for (doc, field) in [
        (json!({"expires_in_minutes": 0}), "expires_in_minutes"),
        (json!({"expires_at": "2000-01-01T00:00:00Z"}), "expires_at"),
        (json!({"for": "everyone"}), "for"),
    ] {
        let (status, answer) = bridge
            .admin(
                Method::POST,
                "/instances/acme-shop/pairing-links",
                Some(&doc),
            )
            .await;
        assert_eq!(
            (status, answer["error"]["field"].as_str()),
            (422, Some(field)),
            "{answer}"
        );
    }

    // The page: pairing only; nothing of the instance, no other instance, no secret.
    let (status, page) = get(&bridge, &url).await;
    assert_eq!(status, 200);
    assert!(page.contains("Pair your WhatsApp") && page.contains(&format!("/pair/{token}/state")));
    let (_, shown) = bridge
        .admin(Method::GET, "/instances/acme-shop", None)
        .await;
    for secret in [
        shown["webhooks"]["gateway"].as_str().unwrap(),
        b1["webhooks"]["gateway"].as_str().unwrap(),
        wuzapi_a.token(),
        "acme-shop",
        "bolt-store",
    ] {
        assert!(!page.contains(secret), "the page shows {secret}");
    }
    let (status, qr) = post(&bridge, &format!("{url}/qr"), &json!({})).await;
    assert_eq!(status, 200, "{qr}");
    assert_eq!(
        code_in_png(&png_of(qr["png"].as_str().unwrap())),
        wuzapi_a.current_qr(),
        "a1's code"
    );
    assert_ne!(wuzapi_a.current_qr(), wuzapi_b.current_qr());
    let (status, state) = get(&bridge, &format!("{url}/state")).await;
    let state: Value = serde_json::from_str(&state).unwrap();
    assert_eq!(
        (status, state.as_object().unwrap().len()),
        (200, 1),
        "only the state: {state}"
    );
    let (status, code) = post(
        &bridge,
        &format!("{url}/pair-code"),
        &json!({"phone": "+55 11 98765-4321"}),
    )
    .await;
    assert_eq!(status, 200, "{code}");
    assert!(code["code"].is_string());
    let (status, bad) = post(&bridge, &format!("{url}/pair-code"), &json!({})).await;
    assert_eq!(
        (status, bad["error"]["field"].as_str()),
        (422, Some("phone"))
    );

    // The token opens no API route, as a bearer or anywhere else.
    for path in [
        "/instances",
        "/instances/acme-shop",
        "/instances/acme-shop/connection",
        "/events",
        "/keys",
    ] {
        let response = bridge
            .http
            .get(format!("{}/api/v1{path}", bridge.url))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 401, "{path}");
    }
    assert_eq!(
        get(&bridge, &format!("{}/pair/{}", bridge.url, "0".repeat(64)))
            .await
            .0,
        404
    );
    assert_eq!(
        get(&bridge, &format!("{}/pair/nonsense", bridge.url))
            .await
            .0,
        404
    );

    // The phone scans: the link says connected once, then has ended.
    assert!(wuzapi_a.scan());
    bridge
        .eventually_value("the link to see the phone paired", || async {
            let (_, state) = get(&bridge, &format!("{url}/state")).await;
            state.contains("\"connected\"").then_some(())
        })
        .await;
    assert_eq!(get(&bridge, &url).await.0, 410);
    assert_eq!(post(&bridge, &format!("{url}/qr"), &json!({})).await.0, 410);
    assert_eq!(get(&bridge, &format!("{url}/state")).await.0, 410);

    // Expiry: a link made by the CLI for b1 works until its time.
    let (ok, out, err) = cli(
        &db,
        &["instance", "pairing-link", "bolt-store", "--minutes", "5"],
    );
    assert!(ok, "{err}");
    let made: Value = serde_json::from_str(&out).unwrap();
    let cli_url = made["url"]
        .as_str()
        .unwrap()
        .replace("http://127.0.0.1:8080", &bridge.url);
    assert_eq!(get(&bridge, &cli_url).await.0, 200, "{out}");
    let soon = jiff::Timestamp::now() + jiff::SignedDuration::from_secs(2);
    let (status, brief) = bridge
        .admin(
            Method::POST,
            "/instances/bolt-store/pairing-links",
            Some(&json!({"expires_at": soon.to_string()})),
        )
        .await;
    assert_eq!(status, 201, "{brief}");
    let brief = brief["url"].as_str().unwrap().to_owned();
    assert_eq!(get(&bridge, &brief).await.0, 200);
    bridge
        .eventually_value("the brief link to expire", || async {
            (get(&bridge, &brief).await.0 == 410).then_some(())
        })
        .await;
    assert!(jiff::Timestamp::now() >= soon);
    assert_eq!(
        post(&bridge, &format!("{brief}/qr"), &json!({})).await.0,
        410
    );
    assert!(!bridge.logs().contains(&token), "the token is never logged");
    bridge.wait_idle().await;
}
