//! Pairing a phone and watching the session through the admin API, against fakes that pair
//! like the real gateways (rotating QR codes as PNGs, linking codes, a scan).

use reqwest::Method;
use serde_json::{Value, json};
use zapwoot_fakes::{
    FakeChatwoot, FakeChatwootConfig, FakeGowa, FakeGowaConfig, FakeWuzapi, code_in_png,
};

use crate::support::{
    ADMIN_TOKEN, Bridge, Db, OWN, SECRET_KEY, add_instance, cli, gowa_doc, wuzapi_doc,
};
use crate::wuzapi_config;
use zapwoot_testkit::chatwoot::{download, integration_conversations, welcomed};

/// The PNG inside a `data:image/png;base64,…` URL.
pub(super) fn png_of(data_url: &str) -> Vec<u8> {
    use base64::Engine as _;
    let data = data_url
        .strip_prefix("data:image/png;base64,")
        .unwrap_or_else(|| panic!("not a PNG data URL: {data_url:.40}"));
    base64::engine::general_purpose::STANDARD
        .decode(data)
        .unwrap()
}

async fn connection(bridge: &Bridge, name: &str) -> Value {
    let (status, shown) = bridge
        .admin(Method::GET, &format!("/instances/{name}/connection"), None)
        .await;
    assert_eq!(status, 200, "{shown}");
    shown
}

pub(super) async fn wait_for_state(bridge: &Bridge, name: &str, state: &str) -> Value {
    bridge
        .eventually_value(&format!("the session to be {state}"), || async {
            let shown = connection(bridge, name).await;
            (shown["state"] == json!(state)).then_some(shown)
        })
        .await
}

async fn metrics(bridge: &Bridge) -> String {
    bridge
        .http
        .get(format!("{}/metrics", bridge.url))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

async fn readyz_session(bridge: &Bridge, name: &str) -> Value {
    let ready: Value = bridge
        .http
        .get(format!("{}/readyz", bridge.url))
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    ready["instances"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["name"] == json!(name))
        .map(|i| i["session"].clone())
        .unwrap()
}

pub async fn wuzapi_pairs_through_the_api(db: Db) {
    let chatwoot = FakeChatwoot::start(FakeChatwootConfig::default())
        .await
        .unwrap();
    let mut config = wuzapi_config();
    config.unpaired = true;
    let wuzapi = FakeWuzapi::start(config).await.unwrap();
    let bridge = Bridge::start(&db);
    add_instance(&bridge, &wuzapi_doc("alpha", &wuzapi, &chatwoot)).await;
    let path = |rest: &str| format!("/instances/alpha/connection{rest}");

    // The first poll records the unpaired session.
    wait_for_state(&bridge, "alpha", "logged_out").await;
    assert_eq!(readyz_session(&bridge, "alpha").await, json!("logged_out"));
    assert!(
        metrics(&bridge)
            .await
            .contains(r#"zapwoot_instance_connected{instance="alpha"} 0"#)
    );

    // A QR code: the gateway's PNG, carrying the code on show.
    let (status, qr) = bridge.admin(Method::POST, &path("/qr"), None).await;
    assert_eq!(status, 200, "{qr}");
    let png = png_of(qr["png"].as_str().unwrap());
    assert_eq!(code_in_png(&png), wuzapi.current_qr(), "the code on show");
    assert!(
        qr["expires_at"].as_str().is_some_and(|t| t.ends_with('Z')),
        "{qr}"
    );
    wait_for_state(&bridge, "alpha", "pairing").await;

    // A linking code instead: the phone is checked first.
    for (body, field) in [
        (json!({}), "phone"),
        (json!({ "phone": "12" }), "phone"),
        (json!({ "phone": 5511988887777_u64 }), "phone"),
        (json!({ "phone": "5511988887777", "extra": 1 }), "extra"),
    ] {
        let (status, refused) = bridge
            .admin(Method::POST, &path("/pair-code"), Some(&body))
            .await;
        assert_eq!(status, 422, "{body}: {refused}");
        assert_eq!(refused["error"]["field"], json!(field), "{refused}");
    }
    assert_eq!(wuzapi.pair_code(), None, "nothing reached the gateway");
    let (status, code) = bridge
        .admin(
            Method::POST,
            &path("/pair-code"),
            Some(&json!({ "phone": "+55 11 98888-7777" })),
        )
        .await;
    assert_eq!(status, 200, "{code}");
    let (given, phone) = wuzapi.pair_code().unwrap();
    assert_eq!(code["code"], json!(given));
    assert_eq!(phone, "5511988887777");
    assert!(code["expires_at"].is_string());

    // The phone links: connected, with who.
    assert!(wuzapi.scan());
    let shown = wait_for_state(&bridge, "alpha", "connected").await;
    assert_eq!(shown["jid"], json!(OWN));
    assert_eq!(shown["phone"], json!("5511900000000"));
    assert!(shown["since"].as_str().is_some_and(|t| t.ends_with('Z')));
    assert_eq!(readyz_session(&bridge, "alpha").await, json!("connected"));
    assert!(
        metrics(&bridge)
            .await
            .contains(r#"zapwoot_instance_connected{instance="alpha"} 1"#)
    );
    let (status, refused) = bridge.admin(Method::POST, &path("/qr"), None).await;
    assert_eq!(status, 409, "{refused}");
    assert_eq!(refused["error"]["code"], json!("already_paired"));

    // Once it held 10 s, the agents read it in the instance's integration conversation.
    bridge
        .eventually_value("the connected note", || async {
            chatwoot
                .all_messages()
                .iter()
                .any(|m| {
                    m["private"] == json!(true)
                        && m["content"] == json!("🟢 WhatsApp connected as +5511900000000.")
                })
                .then_some(())
        })
        .await;

    // Reconnect keeps the pairing; logout ends it.
    let (status, answer) = bridge.admin(Method::POST, &path("/reconnect"), None).await;
    assert_eq!(status, 202, "{answer}");
    assert!(wuzapi.logged_in());
    let (status, answer) = bridge.admin(Method::POST, &path("/logout"), None).await;
    assert_eq!(status, 200, "{answer}");
    assert!(!wuzapi.logged_in());
    let shown = wait_for_state(&bridge, "alpha", "logged_out").await;
    assert_eq!(shown["jid"], json!(OWN), "who it was stays known");
    assert_eq!(shown["reason"], json!("logged out through zapwoot"));
    assert_eq!(shown["detail"], json!("logout"));
    assert!(
        shown["updated_at"]
            .as_str()
            .is_some_and(|t| t.ends_with('Z'))
    );
    assert_eq!(answer["instance"], json!("alpha"));

    // Unknown instances and routes.
    let (status, _) = bridge
        .admin(Method::GET, "/instances/nobody/connection", None)
        .await;
    assert_eq!(status, 404);
    let (status, _) = bridge.admin(Method::POST, &path("/nonsense"), None).await;
    assert_eq!(status, 404);
    let (status, logs) = bridge.terminate();
    assert!(status.success(), "{logs}");
    assert!(!logs.contains(&given), "linking codes stay out of the logs");
}

/// A bridge with a GOWA instance `beta` whose device is not paired.
async fn unpaired_gowa(db: &Db) -> (FakeChatwoot, FakeGowa, Bridge) {
    let chatwoot = FakeChatwoot::start(FakeChatwootConfig::default())
        .await
        .unwrap();
    let gowa = FakeGowa::start(FakeGowaConfig::default()).await.unwrap();
    gowa.set_logged_in("org_1", false);
    let bridge = Bridge::start(db);
    add_instance(&bridge, &gowa_doc("beta", &gowa, &chatwoot)).await;
    (chatwoot, gowa, bridge)
}

pub async fn gowa_pairs_through_the_api(db: Db) {
    let (_chatwoot, gowa, bridge) = unpaired_gowa(&db).await;
    wait_for_state(&bridge, "beta", "logged_out").await;

    let (status, first) = bridge
        .admin(Method::POST, "/instances/beta/connection/qr", None)
        .await;
    assert_eq!(status, 200, "{first}");
    assert_eq!(
        code_in_png(&png_of(first["png"].as_str().unwrap())),
        gowa.current_qr("org_1")
    );
    // Asking again while the code is valid shows the same code: GOWA restarts its QR flow
    // on every login call, so the bridge calls it once.
    let (status, again) = bridge
        .admin(Method::POST, "/instances/beta/connection/qr", None)
        .await;
    assert_eq!(status, 200, "{again}");
    assert_eq!(again["png"], first["png"]);
    assert_eq!(gowa.login_calls("org_1"), 1);
    wait_for_state(&bridge, "beta", "pairing").await;

    // GOWA tells no webhook: the bridge polls while pairing and sees the scan.
    assert!(gowa.scan("org_1"));
    let shown = wait_for_state(&bridge, "beta", "connected").await;
    assert_eq!(shown["jid"], json!(OWN));
    let (status, logs) = bridge.terminate();
    assert!(status.success(), "{logs}");
}

/// An agent pairs a GOWA number from Chatwoot: provisioning opened the integration
/// conversation, `qr` posts the code as an image, the bridge's poll sees the scan and posts
/// who is connected; nothing typed there reaches WhatsApp.
pub async fn gowa_pairs_from_chatwoot(db: Db) {
    let (chatwoot, gowa, bridge) = unpaired_gowa(&db).await;
    welcomed(&bridge, &chatwoot).await;
    let found = integration_conversations(&chatwoot);
    assert_eq!(found.len(), 1, "{found:#?}");
    assert_eq!(found[0]["meta"]["sender"]["name"], json!("zapwoot · beta"));
    let conversation = found[0]["id"].as_u64().unwrap();
    wait_for_state(&bridge, "beta", "logged_out").await;

    chatwoot
        .agent_reply(conversation, "qr", Vec::new())
        .unwrap();
    let image = bridge
        .eventually_value("the QR code in Chatwoot", || async {
            chatwoot
                .messages(conversation)
                .iter()
                .filter(|m| m["private"] == json!(true))
                .find_map(|m| m["attachments"][0]["data_url"].as_str().map(str::to_owned))
        })
        .await;
    let png = download(&image).await;
    assert_eq!(
        code_in_png(&png),
        gowa.current_qr("org_1"),
        "the code on show"
    );
    wait_for_state(&bridge, "beta", "pairing").await;
    assert_eq!(gowa.login_calls("org_1"), 1);

    assert!(gowa.scan("org_1"));
    wait_for_state(&bridge, "beta", "connected").await;
    bridge
        .eventually("the connected note (once it held 10 s)", || {
            chatwoot.messages(conversation).iter().any(|m| {
                m["content"]
                    .as_str()
                    .is_some_and(|c| c.starts_with("🟢 WhatsApp connected"))
            })
        })
        .await;
    assert!(gowa.sends().is_empty(), "{:?}", gowa.sends());
    let (status, logs) = bridge.terminate();
    assert!(status.success(), "{logs}");
}

/// Reads `child`'s standard output up to the first line that contains `wanted`; returns the
/// lines read.
async fn read_until(
    lines: &mut tokio::io::Lines<tokio::io::BufReader<tokio::process::ChildStdout>>,
    wanted: &str,
) -> Vec<String> {
    let mut read = Vec::new();
    let found = tokio::time::timeout(std::time::Duration::from_secs(30), async {
        while let Some(line) = lines.next_line().await.unwrap() {
            let done = line.contains(wanted);
            read.push(line);
            if done {
                return true;
            }
        }
        false
    })
    .await;
    assert!(
        matches!(found, Ok(true)),
        "no line with {wanted:?} in:\n{}",
        read.join("\n")
    );
    read
}

pub async fn the_cli_pairs_a_phone_and_shows_the_session(db: Db) {
    use tokio::io::AsyncBufReadExt as _;

    let chatwoot = FakeChatwoot::start(FakeChatwootConfig::default())
        .await
        .unwrap();
    let mut config = wuzapi_config();
    config.unpaired = true;
    let wuzapi = FakeWuzapi::start(config).await.unwrap();
    let bridge = Bridge::start(&db);
    add_instance(&bridge, &wuzapi_doc("alpha", &wuzapi, &chatwoot)).await;

    let (ok, _, err) = cli(&db, &["instance", "connect", "alpha", "--phone", "12"]);
    assert!(!ok);
    assert!(err.contains("phone: "), "{err}");
    assert_eq!(wuzapi.pair_code(), None);

    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_zapwoot"))
        .args(["instance", "connect", "alpha", "--timeout", "60"])
        .env_clear()
        .env("ZAPWOOT_DATABASE_URL", db.url())
        .env("ZAPWOOT_SECRET_KEY", SECRET_KEY)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines = tokio::io::BufReader::new(child.stdout.take().unwrap()).lines();
    read_until(&mut lines, "QR code 1 for alpha").await;
    // The drawing: the fake's 21 × 21 modules and a quiet zone of 2, two rows per line.
    let mut drawing = Vec::new();
    while let Some(line) = lines.next_line().await.unwrap() {
        if !line.is_empty() {
            drawing.push(line);
        } else if !drawing.is_empty() {
            break;
        }
    }
    assert_eq!(drawing.len(), 13, "{drawing:#?}");
    assert!(
        drawing
            .iter()
            .all(|l| l.chars().count() == 25 && l.chars().all(|c| " ▀▄█".contains(c))),
        "{drawing:#?}"
    );
    assert_eq!(drawing[0], "█".repeat(25), "the quiet zone");

    // WhatsApp shows a new code: drawn again.
    wuzapi.rotate_qr();
    read_until(&mut lines, "QR code 2 for alpha").await;
    assert!(wuzapi.scan());
    read_until(&mut lines, "Connected as +5511900000000").await;
    let status = child.wait().await.unwrap();
    assert!(status.success());

    let shown = bridge
        .eventually_value("the bridge records the pairing", || async {
            let (_, out, _) = cli(&db, &["instance", "status", "alpha"]);
            out.contains("alpha: connected — +5511900000000 since ")
                .then_some(out)
        })
        .await;
    assert!(shown.ends_with("\n"), "{shown}");
    let (ok, out, err) = cli(&db, &["instance", "connect", "alpha"]);
    assert!(ok, "{err}");
    assert_eq!(
        out,
        "alpha is paired already, as +5511900000000 (5511900000000@s.whatsapp.net).\n"
    );
    let (status, logs) = bridge.terminate();
    assert!(status.success(), "{logs}");
}
