//! The send API over HTTP: 202 after a durable accept, one WhatsApp message and one Chatwoot
//! mirror per idempotency key, its status, and every bad input refused with nothing sent.

use reqwest::Method;
use serde_json::{Value, json};
use zapwoot_fakes::{FakeChatwoot, FakeChatwootConfig, FakeWuzapi};
use zapwoot_testkit::chatwoot::customer_messages;

use super::support::{ADMIN_TOKEN, Bridge, CUSTOMER, Db, add_instance, wuzapi_doc};
use super::wuzapi_config;

async fn post(bridge: &Bridge, body: &Value, key: Option<&str>) -> (u16, Value, Option<String>) {
    let mut request = bridge
        .http
        .post(format!("{}/api/v1/instances/alpha/messages", bridge.url))
        .bearer_auth(ADMIN_TOKEN)
        .json(body);
    if let Some(key) = key {
        request = request.header("idempotency-key", key);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let retry = response
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    (status, response.json().await.unwrap_or(Value::Null), retry)
}

/// Posts a `multipart/form-data` message.
async fn post_form(bridge: &Bridge, form: reqwest::multipart::Form) -> reqwest::Response {
    bridge
        .http
        .post(format!("{}/api/v1/instances/alpha/messages", bridge.url))
        .bearer_auth(ADMIN_TOKEN)
        .multipart(form)
        .send()
        .await
        .unwrap()
}

pub(super) async fn the_send_api_sends_once_and_mirrors_once(db: Db) {
    let chatwoot = FakeChatwoot::start(FakeChatwootConfig::default())
        .await
        .unwrap();
    let wuzapi = FakeWuzapi::start(wuzapi_config()).await.unwrap();
    let bridge = Bridge::start(&db);
    let mut doc = wuzapi_doc("alpha", &wuzapi, &chatwoot);
    doc["options"] = json!({ "send_rate_per_minute": 600, "max_media_bytes": 1000 });
    add_instance(&bridge, &doc).await;

    let message = json!({ "to": "+55 11 98765-4321", "text": "Pedido *42* enviado" });
    let (status, first, _) = post(&bridge, &message, Some("crm-42")).await;
    assert_eq!(status, 202, "{first}");
    assert_eq!(first["status"], "queued");
    let id = first["id"].as_str().unwrap().to_owned();
    let (status, again, _) = post(&bridge, &message, Some("crm-42")).await;
    assert_eq!(
        (status, again["id"].as_str()),
        (202, Some(id.as_str())),
        "same key, same answer"
    );
    let (status, reused, _) = post(
        &bridge,
        &json!({ "to": CUSTOMER, "text": "outro" }),
        Some("crm-42"),
    )
    .await;
    assert_eq!(status, 422, "{reused}");
    assert_eq!(reused["error"]["field"], "Idempotency-Key");
    bridge.wait_idle().await;

    let texts: Vec<Value> = wuzapi
        .sends()
        .iter()
        .filter(|s| s.endpoint == "/chat/send/text")
        .map(|s| s.body["Body"].clone())
        .collect();
    assert_eq!(
        texts,
        vec![json!("Pedido *42* enviado")],
        "one WhatsApp message"
    );
    let mirrors: Vec<Value> = customer_messages(&chatwoot)
        .into_iter()
        .filter(|m| m["source_id"] == format!("ZAPWOOT:api:{id}"))
        .collect();
    assert_eq!(mirrors.len(), 1, "one Chatwoot mirror");
    assert_eq!(mirrors[0]["message_type"], 1);
    let (status, shown) = bridge
        .admin(
            Method::GET,
            &format!("/instances/alpha/messages/{id}"),
            None,
        )
        .await;
    assert_eq!(status, 200, "{shown}");
    assert_eq!(shown["status"], "sent");
    assert_eq!(shown["chat"], CUSTOMER);
    assert_eq!(shown["chatwoot_message_id"], mirrors[0]["id"]);

    // Racing requests with one key: one id, one WhatsApp message, one mirror.
    let racing = json!({ "to": CUSTOMER, "text": "corrida" });
    let answers =
        futures_util::future::join_all((0..8).map(|_| post(&bridge, &racing, Some("crm-race"))))
            .await;
    let ids: std::collections::HashSet<String> = answers
        .iter()
        .map(|(status, answer, _)| {
            assert_eq!(*status, 202, "{answer}");
            answer["id"].as_str().unwrap().to_owned()
        })
        .collect();
    assert_eq!(ids.len(), 1, "one message for one key: {answers:?}");
    let race_id = ids.into_iter().next().unwrap();

    // An uploaded file (multipart/form-data): a document with its caption.
    let form = reqwest::multipart::Form::new()
        .text("to", "5511987654321")
        .text("text", "segue o contrato")
        .part(
            "file",
            reqwest::multipart::Part::bytes(b"%PDF-1.4 contrato".to_vec())
                .file_name("contrato.pdf")
                .mime_str("application/pdf")
                .unwrap(),
        );
    let response = post_form(&bridge, form).await;
    assert_eq!(response.status(), 202);
    let upload_id = response.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let bad_form = reqwest::multipart::Form::new()
        .text("to", "5511987654321")
        .text("colour", "blue");
    let response = post_form(&bridge, bad_form).await;
    assert_eq!(response.status(), 422);
    assert_eq!(
        response.json::<Value>().await.unwrap()["error"]["field"],
        "colour"
    );
    let big_form = reqwest::multipart::Form::new()
        .text("to", "5511987654321")
        .part(
            "file",
            reqwest::multipart::Part::bytes(vec![7u8; 1500]).file_name("big.bin"),
        );
    let response = post_form(&bridge, big_form).await;
    assert_eq!(response.status(), 413, "an upload over max_media_bytes");
    bridge.wait_idle().await;
    let races = wuzapi
        .sends()
        .iter()
        .filter(|s| s.body["Body"] == "corrida")
        .count();
    assert_eq!(races, 1, "racing requests sent once");
    assert_eq!(
        customer_messages(&chatwoot)
            .iter()
            .filter(|m| m["source_id"] == format!("ZAPWOOT:api:{race_id}"))
            .count(),
        1,
        "and mirrored once"
    );
    let documents: Vec<_> = wuzapi
        .sends()
        .into_iter()
        .filter(|s| s.endpoint == "/chat/send/document")
        .collect();
    assert_eq!(documents.len(), 1, "the upload went out once");
    assert_eq!(documents[0].body["FileName"], "contrato.pdf");
    assert_eq!(documents[0].body["Caption"], "segue o contrato");
    let mirror = customer_messages(&chatwoot)
        .into_iter()
        .find(|m| m["source_id"] == format!("ZAPWOOT:api:{upload_id}"))
        .unwrap();
    assert_eq!(mirror["attachments"][0]["file_type"], "file");

    // Bad input: a reason and the field, and nothing sent.
    for (body, field) in [
        (json!({ "text": "sem destino" }), None),
        (json!({ "to": "12ab", "text": "oi" }), Some("to")),
        (json!({ "to": CUSTOMER }), Some("text")),
        (
            json!({ "to": CUSTOMER, "text": "x", "media": { "url": "http://10.0.0.1/a.jpg" } }),
            Some("media.url"),
        ),
        (
            json!({ "to": CUSTOMER, "text": "x", "colour": "blue" }),
            None,
        ),
    ] {
        let (status, answer, _) = post(&bridge, &body, None).await;
        match field {
            Some(field) => {
                assert_eq!(status, 422, "{body} → {answer}");
                assert_eq!(answer["error"]["field"], field);
            }
            None => assert_eq!(status, 400, "{body} → {answer}"),
        }
    }
    // 1,500 bytes of base64: over this instance's max_media_bytes (1,000).
    let big = "A".repeat(2000);
    let (status, _, _) = post(
        &bridge,
        &json!({ "to": CUSTOMER, "media": { "base64": big, "mime": "image/jpeg" } }),
        None,
    )
    .await;
    assert_eq!(status, 413);
    let (status, _) = bridge
        .admin(Method::GET, "/instances/alpha/messages/999999", None)
        .await;
    assert_eq!(status, 404);
    let (status, _) = bridge
        .admin(Method::POST, "/instances/nobody/messages", Some(&message))
        .await;
    assert_eq!(status, 404);
    bridge.wait_idle().await;
    assert_eq!(wuzapi.sends().len(), 3, "no bad request sent anything");
}

/// The texts WhatsApp got, in order, one per WhatsApp id: a send cut off by a kill is sent
/// again under the id reserved for it, which is the same WhatsApp message.
fn sent_texts(wuzapi: &FakeWuzapi) -> Vec<String> {
    let mut seen = std::collections::HashSet::new();
    wuzapi
        .sends()
        .into_iter()
        .filter(|s| s.endpoint == "/chat/send/text")
        .filter(|s| seen.insert(s.id.clone()))
        .map(|s| s.body["Body"].as_str().unwrap_or_default().to_owned())
        .collect()
}

async fn kill(bridge: Bridge) {
    let _ = tokio::task::spawn_blocking(move || bridge.kill())
        .await
        .unwrap();
}

/// kill -9 after the 202 and before WhatsApp took the message, then after WhatsApp took it and
/// before its Chatwoot mirror: after each restart, exactly one of each.
pub(super) async fn api_sends_survive_kill_9(db: Db) {
    let chatwoot = FakeChatwoot::start(FakeChatwootConfig::default())
        .await
        .unwrap();
    let wuzapi = FakeWuzapi::start(wuzapi_config()).await.unwrap();
    let bridge = Bridge::start(&db);
    let mut doc = wuzapi_doc("alpha", &wuzapi, &chatwoot);
    doc["options"] = json!({ "send_rate_per_minute": 6000 });
    add_instance(&bridge, &doc).await;

    // Persisted, not sent: the gateway is down when the process dies.
    wuzapi.faults().set_down(true);
    let mut ids = Vec::new();
    for n in 1..=3 {
        let (status, answer, _) = post(
            &bridge,
            &json!({ "to": CUSTOMER, "text": format!("antes {n}") }),
            Some(&format!("before-{n}")),
        )
        .await;
        assert_eq!(status, 202, "{answer}");
        ids.push(answer["id"].as_str().unwrap().to_owned());
    }
    kill(bridge).await;
    assert!(
        sent_texts(&wuzapi).is_empty(),
        "nothing went out before the kill"
    );
    wuzapi.faults().clear();
    let bridge = Bridge::start(&db);
    bridge.wait_idle().await;
    assert_eq!(
        sent_texts(&wuzapi),
        vec!["antes 1", "antes 2", "antes 3"],
        "each sent once after the restart, in order"
    );

    // Sent, not mirrored: Chatwoot is down when the process dies.
    chatwoot.faults().set_down(true);
    for n in 1..=3 {
        let (status, answer, _) = post(
            &bridge,
            &json!({ "to": CUSTOMER, "text": format!("depois {n}") }),
            Some(&format!("after-{n}")),
        )
        .await;
        assert_eq!(status, 202, "{answer}");
        ids.push(answer["id"].as_str().unwrap().to_owned());
    }
    bridge
        .eventually("the sends to reach WhatsApp", || {
            sent_texts(&wuzapi).len() == 6
        })
        .await;
    kill(bridge).await;
    chatwoot.faults().clear();
    let bridge = Bridge::start(&db);
    bridge.wait_idle().await;
    // A repeat of a key after the restart answers the same message and sends nothing.
    let (status, again, _) = post(
        &bridge,
        &json!({ "to": CUSTOMER, "text": "depois 1" }),
        Some("after-1"),
    )
    .await;
    assert_eq!((status, again["id"].as_str()), (202, Some(ids[3].as_str())));
    bridge.wait_idle().await;
    assert_eq!(
        sent_texts(&wuzapi),
        vec![
            "antes 1", "antes 2", "antes 3", "depois 1", "depois 2", "depois 3"
        ],
        "one WhatsApp message each"
    );
    let mirrored: Vec<Value> = customer_messages(&chatwoot)
        .into_iter()
        .filter(|m| {
            m["source_id"]
                .as_str()
                .is_some_and(|s| s.starts_with("ZAPWOOT:api:"))
        })
        .map(|m| m["content"].clone())
        .collect();
    assert_eq!(
        mirrored,
        vec![
            json!("antes 1"),
            json!("antes 2"),
            json!("antes 3"),
            json!("depois 1"),
            json!("depois 2"),
            json!("depois 3")
        ],
        "one mirror each, in order"
    );
    for id in &ids {
        let (status, shown) = bridge
            .admin(
                Method::GET,
                &format!("/instances/alpha/messages/{id}"),
                None,
            )
            .await;
        assert_eq!(status, 200);
        assert_eq!(shown["status"], "sent", "{shown}");
        assert!(shown["chatwoot_message_id"].is_i64(), "{shown}");
    }
}

/// `zapwoot` on `db`, with the environment `serve` gets.
fn cli_command(db: &Db) -> tokio::process::Command {
    let mut command = tokio::process::Command::new(super::support::zapwoot_binary());
    command
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("ZAPWOOT_DATABASE_URL", db.url())
        .env("ZAPWOOT_SECRET_KEY", super::support::SECRET_KEY);
    command
}

/// Runs `zapwoot ARGS` on `db`; returns exit success, stdout and stderr.
async fn run_cli(db: &Db, args: &[&str]) -> (bool, String, String) {
    let output = cli_command(db).args(args).output().await.unwrap();
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// `zapwoot send`: accepted into the store like the API's, sent by the running bridge,
/// `--wait` following it to `delivered`; a repeated key sends nothing; bad flags name the flag.
pub(super) async fn the_cli_sends_and_waits(db: Db) {
    let chatwoot = FakeChatwoot::start(FakeChatwootConfig::default())
        .await
        .unwrap();
    let wuzapi = FakeWuzapi::start(wuzapi_config()).await.unwrap();
    let bridge = Bridge::start(&db);
    let mut doc = wuzapi_doc("alpha", &wuzapi, &chatwoot);
    doc["options"] = json!({ "send_rate_per_minute": 6000 });
    add_instance(&bridge, &doc).await;

    // The receipt comes once the command has printed `sent`: every status is seen.
    let mut waiting = cli_command(&db)
        .args([
            "send",
            "alpha",
            "--to",
            "+55 11 98765-4321",
            "--text",
            "pelo terminal",
            "--idempotency-key",
            "cli-1",
            "--wait",
            "--timeout",
            "60",
        ])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = tokio::io::AsyncBufReadExt::lines(tokio::io::BufReader::new(
        waiting.stdout.take().unwrap(),
    ));
    let mut out = Vec::new();
    while let Some(line) = lines.next_line().await.unwrap() {
        if line.contains(" sent ") {
            let wa_id = wuzapi.sends()[0].id.clone();
            wuzapi.emit_receipt(CUSTOMER, &[wa_id.as_str()], "Delivered");
        }
        out.push(line);
    }
    assert!(waiting.wait().await.unwrap().success(), "{out:?}");
    let wa_id = wuzapi.sends()[0].id.clone();
    assert_eq!(out.len(), 3, "queued, sent, delivered: {out:?}");
    let id = out[0].strip_suffix(" queued").unwrap();
    assert!(
        out[1].starts_with(&format!("{id} sent wa_message_id={wa_id}")),
        "{out:?}"
    );
    assert!(out[2].starts_with(&format!("{id} delivered")), "{out:?}");

    let (ok, out, err) = run_cli(
        &db,
        &[
            "send",
            "alpha",
            "--to",
            "+55 11 98765-4321",
            "--text",
            "pelo terminal",
            "--idempotency-key",
            "cli-1",
        ],
    )
    .await;
    assert!(ok, "{err}");
    assert!(
        out.starts_with(&format!("{id} queued (already accepted")),
        "{out}"
    );

    let dir = std::env::temp_dir().join(format!("zapwoot-cli-send-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let pdf = dir.join("recibo.pdf");
    std::fs::write(&pdf, b"%PDF-1.4 recibo").unwrap();
    let (ok, _, err) = run_cli(
        &db,
        &[
            "send",
            "alpha",
            "--to",
            CUSTOMER,
            "--file",
            pdf.to_str().unwrap(),
            "--no-mirror",
        ],
    )
    .await;
    std::fs::remove_dir_all(&dir).unwrap();
    assert!(ok, "{err}");
    bridge.wait_idle().await;
    let documents: Vec<_> = wuzapi
        .sends()
        .into_iter()
        .filter(|s| s.endpoint == "/chat/send/document")
        .collect();
    assert_eq!(documents.len(), 1);
    assert_eq!(documents[0].body["FileName"], "recibo.pdf");
    assert!(
        documents[0].body["Document"]
            .as_str()
            .unwrap()
            .starts_with("data:application/pdf;base64,"),
        "the type from the extension"
    );
    assert_eq!(wuzapi.sends().len(), 2, "the repeated key sent nothing");
    let mirrors = customer_messages(&chatwoot)
        .into_iter()
        .filter(|m| {
            m["source_id"]
                .as_str()
                .is_some_and(|s| s.starts_with("ZAPWOOT:api:"))
        })
        .count();
    assert_eq!(mirrors, 1, "--no-mirror left Chatwoot alone");

    // Bad flags name the flag and queue nothing; a refused send fails --wait with the reason;
    // --wait gives up after --timeout.
    let (ok, _, err) = run_cli(&db, &["send", "alpha", "--to", "12ab", "--text", "x"]).await;
    assert!(!ok && err.contains("--to"), "{err}");
    let (ok, _, err) = run_cli(&db, &["send", "alpha", "--to", CUSTOMER]).await;
    assert!(!ok && err.contains("--text"), "{err}");
    wuzapi
        .faults()
        .fail(Method::POST, "/chat/send/text", 400, 20);
    let (ok, _, err) = run_cli(
        &db,
        &[
            "send", "alpha", "--to", CUSTOMER, "--text", "recusada", "--wait",
        ],
    )
    .await;
    assert!(!ok && err.contains("not sent:"), "{err}");
    wuzapi.faults().clear();
    wuzapi.faults().set_down(true);
    let (ok, _, err) = run_cli(
        &db,
        &[
            "send",
            "alpha",
            "--to",
            CUSTOMER,
            "--text",
            "tarde",
            "--wait",
            "--timeout",
            "1",
        ],
    )
    .await;
    assert!(!ok && err.contains("still queued after 1 s"), "{err}");
    wuzapi.faults().set_down(false);
    bridge.wait_idle().await;
    assert_eq!(
        sent_texts(&wuzapi),
        vec!["pelo terminal", "tarde"],
        "nothing else went out"
    );
}
