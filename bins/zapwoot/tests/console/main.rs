//! The operator console in a real browser: Debian's Chromium over WebDriver against the real
//! binary and the fakes. Each test saves screenshots (`docs/console` holds one per page).
#![allow(
    missing_docs,
    unreachable_pub,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod access;
mod browser;

use std::time::Duration;

use browser::Browser;
use reqwest::{Method, StatusCode, header};
use serde_json::{Value, json};
use zapwoot_fakes::{
    FakeChatwoot, FakeChatwootConfig, FakeWuzapi, FakeWuzapiConfig, FaultAction, Receiver,
    WuzapiMessage,
};
use zapwoot_testkit::chatwoot::welcomed;
use zapwoot_testkit::{ADMIN_TOKEN, Bridge, CUSTOMER, Db, HMAC_KEY, add_instance, wuzapi_doc};

fn wuzapi_config(unpaired: bool) -> FakeWuzapiConfig {
    let mut config = FakeWuzapiConfig::default();
    config.hmac_key = Some(HMAC_KEY.to_owned());
    config.unpaired = unpaired;
    config
}

/// A browser signed in to `bridge`'s console, on the overview.
async fn signed_in(bridge: &Bridge) -> Browser {
    let b = Browser::start(&bridge.url).await;
    b.goto("/console").await;
    b.fill("#token", ADMIN_TOKEN).await;
    b.click("form.stack button[type=submit]").await;
    b.el("[data-testid=instances]").await;
    b
}

/// A paired wuzapi instance `alpha`, provisioned and welcomed.
async fn world() -> (Db, FakeChatwoot, FakeWuzapi, Bridge) {
    let db = Db::sqlite();
    let chatwoot = FakeChatwoot::start(FakeChatwootConfig::default())
        .await
        .unwrap();
    let wuzapi = FakeWuzapi::start(wuzapi_config(false)).await.unwrap();
    let bridge = Bridge::start(&db);
    add_instance(&bridge, &wuzapi_doc("alpha", &wuzapi, &chatwoot)).await;
    welcomed(&bridge, &chatwoot).await;
    (db, chatwoot, wuzapi, bridge)
}

const FORM: &str = "application/x-www-form-urlencoded";

fn encode(fields: &[(&str, &str)]) -> String {
    form_urlencoded::Serializer::new(String::new())
        .extend_pairs(fields)
        .finish()
}

/// An HTTP client that shows redirects instead of following them.
fn no_redirects() -> reqwest::Client {
    drop(zapwoot_testkit::http_client()); // installs the TLS provider
    reqwest::Client::builder()
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

fn set_cookie<'r>(response: &'r reqwest::Response, name: &str) -> &'r str {
    response
        .headers()
        .get_all(header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with(&format!("{name}=")))
        .unwrap_or_else(|| panic!("no {name} cookie: {:?}", response.headers()))
}

/// Signs in without a browser; answers the session cookie (`name=value`) and the page's CSRF
/// token.
async fn http_sign_in(bridge: &Bridge) -> (String, String) {
    let http = no_redirects();
    let form = http
        .get(format!("{}/console/login", bridge.url))
        .send()
        .await
        .unwrap();
    let login = set_cookie(&form, "zw_login").to_owned();
    for flag in ["HttpOnly", "SameSite=Strict", "Path=/"] {
        assert!(login.contains(flag), "{login}");
    }
    let login_value = login.split(';').next().unwrap().to_owned();
    let csrf = login_value.split_once('=').unwrap().1.to_owned();
    let page = form.text().await.unwrap();
    assert!(page.contains(&csrf), "the form carries its CSRF token");

    // Without the form's token, or with a wrong admin token: refused, no session.
    for (fields, cookie, status) in [
        (
            vec![("token", ADMIN_TOKEN)],
            login_value.as_str(),
            StatusCode::FORBIDDEN,
        ),
        (
            vec![("token", ADMIN_TOKEN), ("csrf", csrf.as_str())],
            "zw_login=other",
            StatusCode::FORBIDDEN,
        ),
        (
            vec![("token", "wrong"), ("csrf", csrf.as_str())],
            login_value.as_str(),
            StatusCode::UNAUTHORIZED,
        ),
    ] {
        let refused = http
            .post(format!("{}/console/login", bridge.url))
            .header(header::COOKIE, cookie)
            .header(header::CONTENT_TYPE, FORM)
            .body(encode(&fields))
            .send()
            .await
            .unwrap();
        assert_eq!(refused.status(), status);
        assert!(
            !refused
                .headers()
                .get_all(header::SET_COOKIE)
                .iter()
                .any(|v| v.to_str().unwrap().starts_with("zw_session=")),
        );
    }
    let signed = http
        .post(format!("{}/console/login", bridge.url))
        .header(header::COOKIE, &login_value)
        .header(header::CONTENT_TYPE, FORM)
        .body(encode(&[("token", ADMIN_TOKEN), ("csrf", csrf.as_str())]))
        .send()
        .await
        .unwrap();
    assert_eq!(signed.status(), StatusCode::SEE_OTHER);
    let session = set_cookie(&signed, "zw_session").to_owned();
    for flag in ["HttpOnly", "SameSite=Strict", "Path=/", "Max-Age=43200"] {
        assert!(session.contains(flag), "{session}");
    }
    assert!(!session.contains("Secure"), "plain http: {session}");
    let cookie = session.split(';').next().unwrap().to_owned();
    let overview = http
        .get(format!("{}/console", bridge.url))
        .header(header::COOKIE, &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(overview.status(), StatusCode::OK);
    let headers = overview.headers();
    assert_eq!(
        headers[header::CONTENT_SECURITY_POLICY],
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
         connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    );
    assert_eq!(headers[header::X_FRAME_OPTIONS], "DENY");
    assert_eq!(headers[header::X_CONTENT_TYPE_OPTIONS], "nosniff");
    assert_eq!(headers[header::REFERRER_POLICY], "no-referrer");
    assert_eq!(headers[header::CACHE_CONTROL], "no-store");
    let page = overview.text().await.unwrap();
    let csrf = page
        .split("name=\"csrf-token\" content=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap()
        .to_owned();
    (cookie, csrf)
}

async fn api_with_cookie(
    bridge: &Bridge,
    method: Method,
    path: &str,
    cookie: &str,
    csrf: Option<&str>,
) -> (StatusCode, Value) {
    let mut request = bridge
        .http
        .request(method, format!("{}/api/v1{path}", bridge.url))
        .header(header::COOKIE, cookie)
        .json(&json!({}));
    if let Some(csrf) = csrf {
        request = request.header("X-CSRF-Token", csrf);
    }
    let response = request.send().await.unwrap();
    let status = response.status();
    (status, response.json().await.unwrap_or(Value::Null))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sign_in_sessions_and_csrf() {
    let db = Db::sqlite();
    let mut bridge = Bridge::start(&db);

    // In the browser: the console sends a stranger to the sign-in form; a wrong token is
    // refused there.
    let b = Browser::start(&bridge.url).await;
    b.goto("/").await;
    b.el("#token").await;
    assert!(
        b.client
            .current_url()
            .await
            .unwrap()
            .path()
            .ends_with("/console/login")
    );
    b.fill("#token", "not-the-token").await;
    b.click("form.stack button[type=submit]").await;
    b.text_in(
        "[data-testid=login-error]",
        "neither the admin token nor an active API key",
    )
    .await;
    b.screenshot("login").await;
    b.fill("#token", ADMIN_TOKEN).await;
    b.click("form.stack button[type=submit]").await;
    b.el("[data-testid=instances]").await;

    // The page's script may call the API only with its CSRF token.
    let without = b
        .js_async(
            "const done = arguments[arguments.length - 1];
             fetch('/api/v1/instances', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '{}' })
               .then(r => done(r.status));",
        )
        .await;
    assert_eq!(without, json!(403));
    let listed = b
        .js_async(
            "const done = arguments[arguments.length - 1];
             fetch('/api/v1/instances').then(r => done(r.status));",
        )
        .await;
    assert_eq!(listed, json!(200));

    // Signing out ends the session: the overview asks to sign in again.
    b.click("[data-testid=sign-out]").await;
    b.el("#token").await;
    b.goto("/console").await;
    b.el("#token").await;
    b.close().await;

    // Over plain HTTP: cookie flags, CSP, and CSRF on the API and on the console's forms.
    let (cookie, csrf) = http_sign_in(&bridge).await;
    let (status, body) = api_with_cookie(&bridge, Method::GET, "/instances", &cookie, None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, body) = api_with_cookie(&bridge, Method::POST, "/instances", &cookie, None).await;
    assert_eq!(
        (status, &body["error"]["code"]),
        (StatusCode::FORBIDDEN, &json!("csrf"))
    );
    let (status, _) = api_with_cookie(
        &bridge,
        Method::POST,
        "/instances",
        &cookie,
        Some("0".repeat(64).as_str()),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, body) =
        api_with_cookie(&bridge, Method::POST, "/instances", &cookie, Some(&csrf)).await;
    assert_eq!(
        status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "past the checks: {body}"
    );

    // Sessions are in the store: they survive a restart.
    drop(bridge);
    bridge = Bridge::start(&db);
    let (status, _) = api_with_cookie(&bridge, Method::GET, "/instances", &cookie, None).await;
    assert_eq!(status, StatusCode::OK);

    // Sign-out needs the form's token, then the cookie opens nothing.
    let http = no_redirects();
    let logout = |csrf: String| {
        http.post(format!("{}/console/logout", bridge.url))
            .header(header::COOKIE, &cookie)
            .header(header::CONTENT_TYPE, FORM)
            .body(encode(&[("csrf", csrf.as_str())]))
            .send()
    };
    assert_eq!(
        logout(String::new()).await.unwrap().status(),
        StatusCode::FORBIDDEN
    );
    let (status, _) = api_with_cookie(&bridge, Method::GET, "/instances", &cookie, None).await;
    assert_eq!(status, StatusCode::OK, "a refused sign-out changes nothing");
    assert_eq!(logout(csrf).await.unwrap().status(), StatusCode::SEE_OTHER);
    let (status, _) = api_with_cookie(&bridge, Method::GET, "/instances", &cookie, None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let page = http
        .get(format!("{}/console", bridge.url))
        .header(header::COOKIE, &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), StatusCode::SEE_OTHER);
    assert!(
        !bridge.logs().contains(ADMIN_TOKEN),
        "the token is never logged"
    );
    assert!(!bridge.logs().contains(cookie.split_once('=').unwrap().1));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_session_cookie_is_secure_behind_https() {
    let db = Db::sqlite();
    let bridge = Bridge::start_with(
        &db,
        &[("ZAPWOOT_PUBLIC_URL", "https://zapwoot.example.com")],
    );
    let form = no_redirects()
        .get(format!("{}/console/login", bridge.url))
        .send()
        .await
        .unwrap();
    let cookie = set_cookie(&form, "zw_login");
    assert!(cookie.ends_with("; Secure"), "{cookie}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_instance_is_created_provisioned_and_paired_in_the_browser() {
    let db = Db::sqlite();
    let chatwoot = FakeChatwoot::start(FakeChatwootConfig::default())
        .await
        .unwrap();
    let wuzapi = FakeWuzapi::start(wuzapi_config(true)).await.unwrap();
    let bridge = Bridge::start(&db);
    let b = signed_in(&bridge).await;
    b.click("a[href='/console/instances/new']").await;
    b.fill("#name", "alpha").await;
    b.fill("#gateway-base_url", "not a url").await;
    b.fill("#gateway-token", wuzapi.token()).await;
    b.fill("#gateway-hmac_key", HMAC_KEY).await;
    b.fill("#chatwoot-base_url", &chatwoot.url()).await;
    b.fill("#chatwoot-account_id", &chatwoot.account_id().to_string())
        .await;
    b.fill("#chatwoot-api_token", chatwoot.admin_token()).await;
    b.fill("#options", r#"{"sign_agent_name": false}"#).await;
    b.click("[data-testid=new-instance] button[type=submit]")
        .await;
    b.text_in("[data-error-for='gateway.base_url']", "not a URL")
        .await;
    b.screenshot("instance-new").await;
    let (_, listed) = bridge.admin(Method::GET, "/instances", None).await;
    assert_eq!(
        listed["instances"],
        json!([]),
        "a refused form creates nothing"
    );

    b.fill("#gateway-base_url", &wuzapi.url()).await;
    b.click("[data-testid=new-instance] button[type=submit]")
        .await;
    b.el("[data-pairing=alpha]").await;
    b.click("[data-testid=provision] button").await;
    b.text_in("[data-testid=provision] output", "\"running\": true")
        .await;
    b.click("[data-testid=test] button").await;
    b.text_in("[data-testid=test] output", "\"ok\": true").await;

    // Pairing by QR code: the gateway's code on show, then connected without a reload.
    b.text_in("[data-pairing] [data-state]", "logged_out").await;
    b.click("[data-qr]").await;
    b.until("(document.querySelector('[data-testid=qr]').src || '').startsWith('data:image/png;base64,')")
        .await;
    let shown = shown_qr(&b).await;
    assert_eq!(
        zapwoot_fakes::code_in_png(&base64_png(&shown)),
        wuzapi.current_qr()
    );
    b.text_in("[data-pairing] [data-state]", "pairing").await;
    b.screenshot("instance").await;

    // The code rotates on the phone's side: the page shows the new one by itself.
    wuzapi.rotate_qr();
    b.until(&format!(
        "document.querySelector('[data-testid=qr]').src !== {}",
        json!(shown)
    ))
    .await;
    let rotated = shown_qr(&b).await;
    assert_eq!(
        zapwoot_fakes::code_in_png(&base64_png(&rotated)),
        wuzapi.current_qr()
    );

    // Or a linking code for a phone number: a bad number is marked first.
    b.fill("#phone", "12").await;
    b.click("[data-testid=pair-code] button").await;
    b.el("[data-testid=pair-code] [data-error-for=phone]:not(:empty)")
        .await;
    b.fill("#phone", "5511988887777").await;
    b.click("[data-testid=pair-code] button").await;
    b.text_in("[data-testid=pair-code] output", "Code:").await;
    let (code, phone) = wuzapi
        .pair_code()
        .expect("the gateway was asked for a code");
    assert_eq!(phone, "5511988887777");
    b.text_in("[data-testid=pair-code] output", &code).await;

    assert!(wuzapi.scan());
    b.text_in("[data-pairing] [data-state]", "connected").await;
    b.until("document.querySelector('[data-testid=qr]').hidden")
        .await;

    // Reconcile and a history import (its bar follows the job to the end).
    b.click("[data-testid=reconcile] button").await;
    b.text_in("[data-testid=reconcile] output", "\"reconciled\"")
        .await;
    b.fill("#days", "400").await;
    b.click("[data-testid=import] button").await;
    b.text_in("[data-testid=import] [data-error-for=days]", "1 to 365")
        .await;
    wuzapi.set_history(50);
    let hour_ago = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        - 3600;
    wuzapi.keep_text_at(CUSTOMER, "An old message", i64::try_from(hour_ago).unwrap());
    b.fill("#days", "2").await;
    b.click("[data-testid=import] button").await;
    b.until("document.querySelector('[data-testid=import] progress').dataset.state === 'done'")
        .await;
    // The webhook URLs copy; reconnect; log out (the state follows).
    b.click("[data-copy=webhook-gateway]").await;
    b.text_in("[data-copy=webhook-gateway]", "Copied").await;
    b.click("[data-testid=reconnect] button").await;
    b.text_in("[data-testid=reconnect] output", "Reconnecting")
        .await;
    b.click("[data-testid=logout] button").await;
    b.text_in("[data-pairing] [data-state]", "logged_out").await;
    assert!(!wuzapi.logged_in());
    let (_, imports) = bridge
        .admin(Method::GET, "/imports?instance=alpha", None)
        .await;
    assert_eq!(imports["imports"][0]["state"], json!("done"), "{imports}");
    assert_eq!(
        imports["imports"][0]["messages_found"],
        json!(1),
        "{imports}"
    );

    // Secrets are write-only: the page says "set", never shows them.
    b.goto("/console/instances/alpha").await;
    let page = b.source().await;
    assert!(page.contains("set · leave blank to keep it"));
    for secret in [wuzapi.token(), HMAC_KEY, chatwoot.admin_token()] {
        assert!(!page.contains(secret), "{secret} rendered");
    }
    // A settings change goes through the API's validation too.
    b.fill("#chatwoot-account_id", "-4").await;
    b.click("[data-testid=settings] button[type=submit]").await;
    b.el("[data-error-for='chatwoot.account_id']:not(:empty)")
        .await;
    b.close().await;
}

/// The QR code image on the page, as its `data:` URL.
async fn shown_qr(b: &Browser) -> String {
    let src = b
        .js("return document.querySelector('[data-testid=qr]').src;")
        .await;
    src.as_str().unwrap().to_owned()
}

fn base64_png(data_url: &str) -> Vec<u8> {
    use base64::Engine as _;
    let b64 = data_url.strip_prefix("data:image/png;base64,").unwrap();
    base64::engine::general_purpose::STANDARD
        .decode(b64)
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_customer_message_appears_live_and_pause_holds_it() {
    let (_db, _chatwoot, wuzapi, bridge) = world().await;
    let b = signed_in(&bridge).await;
    b.goto("/console/activity").await;
    b.until("document.querySelector('[data-activity]').dataset.live === 'true'")
        .await;
    wuzapi.emit_message(WuzapiMessage::text(CUSTOMER, "Hello from the phone"));
    b.text_in("[data-testid=timeline]", "Customer: Hello from the phone")
        .await;
    b.text_in("[data-testid=timeline]", "message.received")
        .await;

    // Paused: new records are held, and shown on resume.
    b.click("[data-pause]").await;
    wuzapi.emit_message(WuzapiMessage::text(CUSTOMER, "Second while paused"));
    bridge.wait_idle().await;
    let shown = b
        .js("return document.querySelector('[data-testid=timeline]').textContent;")
        .await;
    assert!(!shown.as_str().unwrap().contains("Second while paused"));
    b.click("[data-pause]").await;
    b.text_in("[data-testid=timeline]", "Second while paused")
        .await;
    b.screenshot("activity").await;
    b.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_failed_event_is_retried_from_its_page() {
    let (_db, chatwoot, wuzapi, bridge) = world().await;
    chatwoot.faults().inject(
        Some(Method::POST),
        "/api/v1/accounts/",
        FaultAction::Status(500),
        None,
    );
    wuzapi.emit_message(WuzapiMessage::text(CUSTOMER, "Lost for now"));
    // A few attempts in, the next one is seconds away: the retry below is the console's.
    let id = bridge
        .eventually_value("the message failed three times", || async {
            let (_, events) = bridge
                .admin(Method::GET, "/events?status=failed&direction=inbound", None)
                .await;
            events["events"]
                .as_array()
                .and_then(|e| e.iter().find(|e| e["attempts"].as_i64() >= Some(3)))
                .and_then(|e| e["id"].as_i64())
        })
        .await;

    // Chatwoot keeps failing until the console retries: the event stays failed meanwhile.
    let b = signed_in(&bridge).await;
    // The overview counts it.
    b.until("document.querySelector('tr[data-instance=alpha] td:nth-child(5)').textContent.trim() === '1'")
        .await;
    b.goto("/console/events?status=failed").await;
    b.el(&format!("tr[data-event='{id}']")).await;
    b.screenshot("events").await;
    // The filters narrow the list the way they say.
    let hour_ago = b
        .js("return new Date(Date.now() - 3600000).toISOString().slice(0, 16);")
        .await;
    let hour_ago = hour_ago.as_str().unwrap();
    for (query, listed) in [
        (
            format!("instance=alpha&status=failed&direction=inbound&since={hour_ago}"),
            true,
        ),
        ("status=failed&direction=outbound".to_owned(), false),
        ("status=done".to_owned(), false),
        ("status=failed&since=2999-01-01T00:00".to_owned(), false),
    ] {
        b.goto(&format!("/console/events?{query}")).await;
        b.el("[data-testid=events]").await;
        let rows = b
            .js(&format!(
                "return document.querySelectorAll(\"tr[data-event='{id}']\").length;"
            ))
            .await;
        assert_eq!(rows, json!(u8::from(listed)), "{query}");
    }
    b.goto("/console/events?status=failed").await;
    b.click(&format!("tr[data-event='{id}'] a")).await;
    b.text_in("[data-testid=status]", "failed").await;
    b.text_in("[data-testid=error]", "500").await;
    b.screenshot("event").await;
    chatwoot.faults().clear();
    b.click("[data-testid=retry] button").await;
    // The page reloads once the retry is accepted: the event is queued, no longer retryable.
    b.until("document.readyState === 'complete' && !document.querySelector('[data-testid=retry]')")
        .await;
    bridge.wait_idle().await;
    b.goto(&format!("/console/events/{id}")).await;
    b.text_in("[data-testid=status]", "done").await;
    assert!(
        chatwoot
            .all_messages()
            .iter()
            .any(|m| m["content"] == json!("Lost for now"))
    );
    b.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_subscription_made_in_the_form_lists_its_delivery_and_replays_it() {
    let (_db, _chatwoot, wuzapi, bridge) = world().await;
    let receiver = Receiver::start().await.unwrap();
    let b = signed_in(&bridge).await;
    b.goto("/console/subscriptions").await;
    b.fill("#url", &receiver.url()).await;
    b.fill("#events", "message.received").await;
    b.click("[data-testid=new-subscription] button[type=submit]")
        .await;
    b.text_in("[data-error-for=url]", "private").await;
    b.click("[name=allow_private_network]").await;
    b.click("[data-testid=new-subscription] button[type=submit]")
        .await;
    b.text_in("[data-testid=secret]", "whsec_").await;
    b.screenshot("subscription-created").await;
    let (_, subs) = bridge.admin(Method::GET, "/subscriptions", None).await;
    let id = subs["subscriptions"][0]["id"].as_i64().unwrap();
    assert_eq!(subs["subscriptions"].as_array().unwrap().len(), 1);

    wuzapi.emit_message(WuzapiMessage::text(CUSTOMER, "Tell the CRM"));
    receiver.wait_for(1, Duration::from_secs(30)).await.unwrap();
    bridge.wait_idle().await;
    b.goto("/console/subscriptions").await;
    b.click(&format!("tr[data-subscription='{id}'] a")).await;
    b.text_in("[data-testid=deliveries]", "message.received")
        .await;
    b.text_in("[data-testid=attempt]", "HTTP 200").await;
    b.screenshot_at("subscription", "[data-testid=deliveries]")
        .await;

    // Replaying it delivers it again; so does replaying the last hour.
    b.click("[data-testid=deliveries] form button").await;
    receiver.wait_for(2, Duration::from_secs(30)).await.unwrap();
    bridge.wait_idle().await;
    assert_eq!(receiver.received().len(), 2);
    b.goto(&format!("/console/subscriptions/{id}")).await;
    b.js("const at = (m) => new Date(Date.now() + m * 60000).toISOString().slice(0, 16);
          document.querySelector('[data-testid=replay-range] [name=since]').value = at(-60);
          document.querySelector('[data-testid=replay-range] [name=until]').value = at(60);
          document.querySelector('[data-testid=replay-range] [name=include_succeeded]').checked = true;
          return true;")
        .await;
    b.click("[data-testid=replay-range] button").await;
    b.text_in("[data-testid=replay-range] output", "Replayed")
        .await;
    receiver.wait_for(3, Duration::from_secs(30)).await.unwrap();

    // A test event, a new secret (shown once), and disabling it.
    b.click("[data-testid=test-subscription] button").await;
    b.el("[data-testid=test-subscription] output details").await;
    receiver.wait_for(4, Duration::from_secs(30)).await.unwrap();
    b.click("[data-testid=rotate] button").await;
    b.text_in("[data-testid=rotate] [data-testid=secret]", "whsec_")
        .await;
    bridge.wait_idle().await;
    b.goto(&format!("/console/subscriptions/{id}")).await;
    b.click("[data-testid=edit-subscription] [name=enabled]")
        .await;
    b.click("[data-testid=edit-subscription] button[type=submit]")
        .await;
    bridge
        .eventually_value("the subscription disabled", || async {
            let (_, shown) = bridge
                .admin(Method::GET, &format!("/subscriptions/{id}"), None)
                .await;
            (shown["enabled"] == json!(false)).then_some(())
        })
        .await;
    let before = receiver.received().len();
    wuzapi.emit_message(WuzapiMessage::text(CUSTOMER, "Not for the CRM"));
    bridge.wait_idle().await;
    assert_eq!(
        receiver.received().len(),
        before,
        "a disabled subscription gets nothing"
    );

    // Deleting asks first.
    b.goto(&format!("/console/subscriptions/{id}")).await;
    b.click("form[data-method=DELETE] button").await;
    b.client.accept_alert().await.unwrap();
    b.el("[data-testid=new-subscription]").await;
    let (_, subs) = bridge.admin(Method::GET, "/subscriptions", None).await;
    assert_eq!(subs["subscriptions"], json!([]));
    b.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_page_fits_a_phone() {
    let (_db, _chatwoot, wuzapi, bridge) = world().await;
    wuzapi.emit_message(WuzapiMessage::text(CUSTOMER, "A message for the chart"));
    bridge.wait_idle().await;
    let receiver = Receiver::start().await.unwrap();
    let (status, sub) = bridge
        .admin(
            Method::POST,
            "/subscriptions",
            Some(&json!({ "url": receiver.url(), "events": ["*"], "allow_private_network": true })),
        )
        .await;
    assert_eq!(status, 201, "{sub}");
    let (_, events) = bridge.admin(Method::GET, "/events?limit=1", None).await;
    let event = events["events"][0]["id"].as_i64().unwrap();
    let b = signed_in(&bridge).await;
    // The instance's row: connected, a last message, both upstreams healthy.
    b.text_in("tr[data-instance=alpha]", "connected").await;
    b.until("!document.querySelector('tr[data-instance=alpha] td:nth-child(3)').textContent.includes('—')")
        .await;
    b.until("document.querySelectorAll('tr[data-instance=alpha] .state.ok').length === 2")
        .await;
    b.screenshot("overview").await;
    b.until("Number(document.querySelector('.chart svg').dataset.in) >= 1")
        .await;
    b.client.set_window_size(375, 812).await.unwrap();
    for path in [
        "/console".to_owned(),
        "/console/instances/new".to_owned(),
        "/console/instances/alpha".to_owned(),
        "/console/activity".to_owned(),
        "/console/events".to_owned(),
        "/console/events?status=dead".to_owned(),
        format!("/console/events/{event}"),
        "/console/subscriptions".to_owned(),
        format!("/console/subscriptions/{}", sub["id"]),
    ] {
        b.goto(&path).await;
        b.el("main h1").await;
        let width = b.js("return window.innerWidth;").await;
        assert_eq!(width, json!(375), "{path}");
        assert!(
            !b.scrolls_sideways().await,
            "{path} scrolls sideways at 375 px"
        );
    }
    b.goto("/console/events?status=dead").await;
    b.text_in("main h1", "Dead letters").await;
    b.goto("/console").await;
    b.screenshot("overview-phone").await;
    b.close().await;
}
