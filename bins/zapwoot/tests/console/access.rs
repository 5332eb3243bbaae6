//! Keys in the console and pairing links in the browser: a tenant's key signs in and sees
//! only its instances and the pages its scopes open; a pairing link shows its instance's QR
//! code to someone without an account, follows the phone pairing, then has ended.

use reqwest::{Method, StatusCode, header};
use serde_json::{Value, json};
use zapwoot_fakes::{FakeChatwoot, FakeChatwootConfig, FakeWuzapi, Receiver, code_in_png};
use zapwoot_testkit::{Bridge, Db, add_instance, wuzapi_doc};

use super::browser::Browser;
use super::{FORM, base64_png, encode, no_redirects, set_cookie, shown_qr, wuzapi_config};

/// Signs in to the console with `key` over plain HTTP; the session cookie.
async fn key_session(bridge: &Bridge, key: &str) -> String {
    let http = no_redirects();
    let form = http
        .get(format!("{}/console/login", bridge.url))
        .send()
        .await
        .unwrap();
    let login = set_cookie(&form, "zw_login")
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    let csrf = login.split_once('=').unwrap().1.to_owned();
    let signed = http
        .post(format!("{}/console/login", bridge.url))
        .header(header::COOKIE, &login)
        .header(header::CONTENT_TYPE, FORM)
        .body(encode(&[("token", key), ("csrf", csrf.as_str())]))
        .send()
        .await
        .unwrap();
    assert_eq!(signed.status(), StatusCode::SEE_OTHER, "{key:.11}");
    set_cookie(&signed, "zw_session")
        .split(';')
        .next()
        .unwrap()
        .to_owned()
}

async fn page(bridge: &Bridge, cookie: &str, path: &str) -> (StatusCode, String) {
    let response = no_redirects()
        .get(format!("{}{path}", bridge.url))
        .header(header::COOKIE, cookie)
        .send()
        .await
        .unwrap();
    (response.status(), response.text().await.unwrap())
}

async fn make_key(bridge: &Bridge, doc: &Value) -> String {
    let (status, made) = bridge.admin(Method::POST, "/keys", Some(doc)).await;
    assert_eq!(status, 201, "{made}");
    made["key"].as_str().unwrap().to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_tenants_key_sees_only_its_instances_and_the_pages_its_scopes_open() {
    let db = Db::sqlite();
    let chatwoot = FakeChatwoot::start(FakeChatwootConfig::default())
        .await
        .unwrap();
    let wuzapi_a = FakeWuzapi::start(wuzapi_config(false)).await.unwrap();
    let wuzapi_b = FakeWuzapi::start(wuzapi_config(false)).await.unwrap();
    let receiver = Receiver::start().await.unwrap();
    let bridge = Bridge::start(&db);
    let mut subs = Vec::new();
    for (tenant, name, wuzapi) in [
        ("acme", "acme-shop", &wuzapi_a),
        ("bolt", "bolt-store", &wuzapi_b),
    ] {
        assert_eq!(
            bridge
                .admin(Method::POST, "/tenants", Some(&json!({"name": tenant})))
                .await
                .0,
            201
        );
        let mut doc = wuzapi_doc(name, wuzapi, &chatwoot);
        doc["tenant"] = json!(tenant);
        add_instance(&bridge, &doc).await;
        let (_, sub) = bridge
            .admin(Method::POST, "/subscriptions", Some(&json!({"url": receiver.url(), "events": ["*"], "allow_private_network": true, "tenant": tenant})))
            .await;
        subs.push(sub["id"].as_i64().unwrap());
    }
    bridge.wait_idle().await;
    let (_, events) = bridge
        .admin(Method::GET, "/events?instance=acme-shop", None)
        .await;
    let ours = events["events"][0]["id"].as_i64().unwrap();
    let (_, events) = bridge
        .admin(Method::GET, "/events?instance=bolt-store", None)
        .await;
    let theirs = events["events"][0]["id"].as_i64().unwrap();

    // In the browser: the key signs in; the overview lists its instance only; the pages its
    // scopes do not open say so; the other tenant's instance does not exist.
    let key = make_key(&bridge, &json!({"name": "acme console", "tenant": "acme", "scopes": ["instances:read", "events:read"]})).await;
    let b = Browser::start(&bridge.url).await;
    b.goto("/console").await;
    b.fill("#token", &key).await;
    b.click("form.stack button[type=submit]").await;
    b.el("[data-testid=instances]").await;
    let overview = b.source().await;
    assert!(
        overview.contains("acme-shop") && !overview.contains("bolt-store"),
        "{overview}"
    );
    assert!(
        !overview.contains("/console/subscriptions"),
        "no subscriptions in the nav"
    );
    assert!(
        !overview.contains("Messages per minute"),
        "the all-instance chart is not shown"
    );
    b.screenshot("key-overview").await;
    b.goto("/console/instances/bolt-store").await;
    b.text_in("main", "There is nothing here").await;
    b.goto("/console/subscriptions").await;
    b.text_in("main", "lacks the scope subscriptions:read")
        .await;
    b.goto("/console/events").await;
    let listed = b.source().await;
    assert!(
        listed.contains(&format!("/console/events/{ours}"))
            && !listed.contains(&format!("/console/events/{theirs}\"")),
        "{listed}"
    );
    b.close().await;

    // Every page × every scope, inside and outside the tenant.
    let scopes = [
        "instances:read",
        "instances:write",
        "messages:send",
        "events:read",
        "events:retry",
        "subscriptions:read",
        "subscriptions:write",
    ];
    for scope in scopes {
        let key = make_key(
            &bridge,
            &json!({"name": format!("acme {scope}"), "tenant": "acme", "scopes": [scope]}),
        )
        .await;
        let cookie = key_session(&bridge, &key).await;
        for (path, needs, outside) in [
            ("/console".to_owned(), "instances:read", None),
            ("/console/instances/new".to_owned(), "instances:write", None),
            (
                "/console/instances/acme-shop".to_owned(),
                "instances:read",
                Some("/console/instances/bolt-store".to_owned()),
            ),
            ("/console/activity".to_owned(), "events:read", None),
            ("/console/events".to_owned(), "events:read", None),
            (
                format!("/console/events/{ours}"),
                "events:read",
                Some(format!("/console/events/{theirs}")),
            ),
            (
                "/console/subscriptions".to_owned(),
                "subscriptions:read",
                None,
            ),
            (
                format!("/console/subscriptions/{}", subs[0]),
                "subscriptions:read",
                Some(format!("/console/subscriptions/{}", subs[1])),
            ),
        ] {
            let allowed = scope == needs;
            let (status, text) = page(&bridge, &cookie, &path).await;
            assert_eq!(
                status,
                if allowed {
                    StatusCode::OK
                } else {
                    StatusCode::FORBIDDEN
                },
                "{path} with {scope}"
            );
            if !allowed {
                assert!(text.contains(needs), "{path} names the scope it needs");
            }
            if let Some(outside) = outside {
                let (status, _) = page(&bridge, &cookie, &outside).await;
                assert_eq!(
                    status,
                    if allowed {
                        StatusCode::NOT_FOUND
                    } else {
                        StatusCode::FORBIDDEN
                    },
                    "{outside} with {scope}"
                );
            }
        }
    }

    // A revoked key's session ends at once.
    let (_, keys) = bridge.admin(Method::GET, "/keys", None).await;
    let cookie = key_session(&bridge, &key).await;
    assert_eq!(page(&bridge, &cookie, "/console").await.0, StatusCode::OK);
    let id = keys["keys"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["name"] == json!("acme console"))
        .unwrap()["id"]
        .clone();
    assert_eq!(
        bridge
            .admin(Method::DELETE, &format!("/keys/{id}"), None)
            .await
            .0,
        200
    );
    assert_eq!(
        page(&bridge, &cookie, "/console").await.0,
        StatusCode::SEE_OTHER,
        "back to sign-in"
    );
    assert!(
        !bridge.logs().contains(&key[11..]),
        "the key is never logged"
    );
    bridge.wait_idle().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_pairing_link_shows_its_qr_follows_the_pairing_and_ends() {
    let db = Db::sqlite();
    let chatwoot = FakeChatwoot::start(FakeChatwootConfig::default())
        .await
        .unwrap();
    let wuzapi = FakeWuzapi::start(wuzapi_config(true)).await.unwrap();
    let bridge = Bridge::start(&db);
    add_instance(&bridge, &wuzapi_doc("acme-shop", &wuzapi, &chatwoot)).await;
    // The operator makes the link on the instance's page.
    let admin = super::signed_in(&bridge).await;
    admin.goto("/console/instances/acme-shop").await;
    admin
        .click("[data-testid=pairing-link] button[type=submit]")
        .await;
    admin
        .text_in("[data-testid=pairing-link] output", "/pair/")
        .await;
    let shown = admin
        .js("return document.querySelector('[data-testid=pairing-link] output .summary').textContent;")
        .await;
    let url = shown
        .as_str()
        .unwrap()
        .split_whitespace()
        .find(|w| w.contains("/pair/"))
        .unwrap()
        .to_owned();
    admin.close().await;
    let path = url[bridge.url.len()..].to_owned();
    let path = path.as_str();

    // No sign-in: the link alone opens the page.
    let b = Browser::start(&bridge.url).await;
    b.goto(path).await;
    b.text_in("main", "Pair your WhatsApp").await;
    b.click("[data-qr]").await;
    b.until("!document.querySelector('[data-testid=qr]').hidden && (document.querySelector('[data-testid=qr]').src || '').startsWith('data:image/png;base64,')").await;
    assert_eq!(
        code_in_png(&base64_png(&shown_qr(&b).await)),
        wuzapi.current_qr()
    );
    b.screenshot("pairing-link").await;
    let source = b.source().await;
    assert!(
        !source.contains("acme-shop")
            && !source.contains("/api/v1")
            && !source.contains("webhooks"),
        "nothing but the pairing"
    );

    // The phone scans: the page says connected, and the link has ended.
    assert!(wuzapi.scan());
    b.until("document.querySelector('[data-state]').dataset.state === 'connected'")
        .await;
    b.goto(path).await;
    b.text_in("main", "expired or was used").await;
    b.close().await;
    let (status, _) = page(&bridge, "", path).await;
    assert_eq!(status, StatusCode::GONE);
    bridge.wait_idle().await;
}
