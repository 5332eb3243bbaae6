//! What an adversarial review of the release binary found, each as a black-box test: forged
//! webhooks, media URLs pointing inside, stalled bodies, leaky readiness, slowloris, bad
//! documents, secrets at rest, log floods.

use std::time::Duration;

use reqwest::Method;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use zapwoot_fakes::{
    FakeChatwoot, FakeChatwootConfig, FakeWuzapi, FakeWuzapiConfig, Receiver, WuzapiFormat,
    WuzapiMessage,
};
use zapwoot_testkit::chatwoot::{customer_conversations, customer_messages};

use crate::support::{ADMIN_TOKEN, Bridge, CUSTOMER, Db, add_instance, wuzapi_doc};

/// Waits until no event of the bridge is pending, running or waiting for a retry, so that
/// what did not happen by then will not happen later.
async fn idle(bridge: &Bridge) {
    bridge
        .eventually_value("the bridge to be idle", || async {
            let events = bridge.events().await;
            events
                .iter()
                .all(|e| matches!(e["status"].as_str(), Some("done" | "ignored" | "dead")))
                .then_some(())
        })
        .await;
}

fn unsigned_chatwoot() -> FakeChatwootConfig {
    let mut config = FakeChatwootConfig::default();
    config.sign_webhooks = false;
    config
}

async fn post(bridge: &Bridge, url: &str, body: &Value) -> (u16, Value) {
    let response = bridge.http.post(url).json(body).send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

/// A `message_created` webhook as Chatwoot would post it for an agent message.
fn agent_message(
    id: u64,
    conversation: u64,
    inbox: u64,
    source_id: &str,
    data_url: Option<&str>,
) -> Value {
    let attachments: Vec<Value> = data_url
        .map(|u| {
            json!({ "id": 1, "message_id": id, "file_type": "image", "extension": "png",
                          "data_url": u, "thumb_url": "", "file_size": 10 })
        })
        .into_iter()
        .collect();
    json!({
        "event": "message_created", "id": id, "content": "forged", "content_type": "text",
        "content_attributes": {}, "message_type": "outgoing", "private": false, "source_id": null,
        "created_at": "2026-12-03T08:00:00.000Z",
        "sender": { "id": 1, "name": "Agent", "type": "user" },
        "account": { "id": 1, "name": "Acme" }, "inbox": { "id": inbox, "name": "WhatsApp" },
        "conversation": { "id": conversation, "inbox_id": inbox, "status": "open", "channel": "Channel::Api",
                          "contact_inbox": { "source_id": source_id }, "meta": {}, "messages": [] },
        "attachments": attachments,
    })
}

/// High 1: without an inbox secret, a forged `message_created` reaches nobody and fetches
/// nothing; what Chatwoot really holds still goes out.
pub(crate) async fn forged_chatwoot_webhooks_reach_nobody(db: Db) {
    let chatwoot = FakeChatwoot::start(unsigned_chatwoot()).await.unwrap();
    let wuzapi = FakeWuzapi::start(crate::wuzapi_config()).await.unwrap();
    let internal = Receiver::start().await.unwrap();
    let bridge = Bridge::start(&db);
    let provisioned = add_instance(&bridge, &wuzapi_doc("alpha", &wuzapi, &chatwoot)).await;
    let notes = provisioned.to_string();
    assert!(notes.contains("Chatwoot webhooks are unsigned"), "{notes}");
    let hook = provisioned["webhooks"]["chatwoot"]
        .as_str()
        .unwrap()
        .to_owned();
    let inbox = provisioned["chatwoot"]["inbox_id"].as_u64().unwrap();

    // A real conversation, bridged by a customer message.
    wuzapi.emit_message(WuzapiMessage::text(CUSTOMER, "hello"));
    bridge
        .eventually("the customer message in Chatwoot", || {
            !customer_messages(&chatwoot).is_empty()
        })
        .await;
    let conversation = customer_conversations(&chatwoot)[0]["id"].as_u64().unwrap();

    let stranger = "5511911112222@s.whatsapp.net";
    let loopback = format!("{}/internal-secret", internal.url());
    let numeric = loopback.replace("127.0.0.1", "2130706433");
    for forged in [
        // Unknown conversation, any number, an internal URL as attachment.
        agent_message(900_001, 99_999, inbox, stranger, Some(&loopback)),
        agent_message(900_002, 99_998, inbox, "120363000000000000@g.us", None),
        // The real conversation, a message Chatwoot never had.
        agent_message(900_003, conversation, inbox, stranger, Some(&numeric)),
    ] {
        let (status, answer) = post(&bridge, &hook, &forged).await;
        assert_eq!(status, 200, "{answer}");
    }
    idle(&bridge).await;
    assert!(
        wuzapi.sends().is_empty(),
        "forged webhooks reached WhatsApp: {:?}",
        wuzapi.sends()
    );
    assert!(
        internal.received().is_empty(),
        "the bridge fetched an internal URL"
    );
    let ignored = bridge
        .events()
        .await
        .into_iter()
        .filter(|e| {
            e["status"] == json!("ignored")
                && e["dedupe_key"]
                    .as_str()
                    .is_some_and(|k| k.contains("90000"))
        })
        .count();
    assert_eq!(ignored, 3);

    // What an agent really writes (and attaches) in Chatwoot still goes to the customer.
    let png = b"\x89PNG\r\n\x1a\nreal-image".to_vec();
    chatwoot
        .agent_reply(
            conversation,
            "real answer",
            vec![("photo.png".to_owned(), "image/png".to_owned(), png)],
        )
        .unwrap();
    bridge
        .eventually("the agent's image on WhatsApp", || {
            wuzapi.sends().iter().any(|s| s.endpoint.contains("image"))
        })
        .await;
    idle(&bridge).await;
    let sends = wuzapi.sends();
    assert_eq!(sends.len(), 1, "{sends:?}");
    assert_eq!(sends[0].phone, CUSTOMER);

    // A conversation an agent starts in Chatwoot (unknown to the bridge) goes to the contact's
    // source id as Chatwoot's API holds it.
    let newcomer = "5511922223333@s.whatsapp.net";
    let (_, started) = chatwoot.add_conversation(inbox, newcomer, "Newcomer");
    chatwoot
        .agent_reply(started, "welcome", Vec::new())
        .unwrap();
    bridge
        .eventually("the agent's first message to the newcomer", || {
            wuzapi.sends().iter().any(|s| s.phone == newcomer)
        })
        .await;
    idle(&bridge).await;
    assert_eq!(wuzapi.sends().len(), 2, "{:?}", wuzapi.sends());

    // Forged webhooks under the ids of messages not written yet do not block the real ones
    // (an unsigned webhook's dedupe key includes its body).
    let highest = customer_messages(&chatwoot)
        .iter()
        .chain(customer_conversations(&chatwoot).iter())
        .chain(chatwoot.contacts().iter())
        .filter_map(|v| v["id"].as_u64())
        .max()
        .unwrap();
    for id in highest + 1..=highest + 20 {
        let forged = agent_message(id, started, inbox, newcomer, None);
        assert_eq!(post(&bridge, &hook, &forged).await.0, 200);
    }
    idle(&bridge).await;
    let real = chatwoot
        .agent_reply(started, "still delivered", Vec::new())
        .unwrap();
    assert!(
        real <= highest + 20,
        "the test forged the id the agent's message got"
    );
    bridge
        .eventually("the real message after the forged ones", || {
            wuzapi.sends().len() == 3
        })
        .await;

    // A forged deletion revokes nothing; the agent's real one does.
    let mut deletion = agent_message(real, started, inbox, newcomer, None);
    deletion["event"] = json!("message_updated");
    deletion["content_attributes"] = json!({ "deleted": true });
    deletion["content"] = json!("This message was deleted");
    assert_eq!(post(&bridge, &hook, &deletion).await.0, 200);
    idle(&bridge).await;
    let revokes = || {
        wuzapi
            .requests()
            .iter()
            .filter(|r| r.request.path == "/chat/delete")
            .count()
    };
    assert_eq!(revokes(), 0, "a forged deletion revoked a message");
    assert!(chatwoot.agent_delete(real));
    bridge
        .eventually("the real deletion on WhatsApp", || revokes() == 1)
        .await;
    idle(&bridge).await;
    let messages = wuzapi
        .sends()
        .into_iter()
        .filter(|s| s.endpoint.starts_with("/chat/send/"))
        .count();
    assert_eq!(messages, 3, "{:?}", wuzapi.sends());
    assert!(internal.received().is_empty());
}

/// Medium 2: a media link in an unsigned wuzapi webhook is fetched only from public
/// addresses or the instance's `media_origins`.
pub(crate) async fn gateway_media_links_stay_outside(db: Db) {
    let chatwoot = FakeChatwoot::start(FakeChatwootConfig::default())
        .await
        .unwrap();
    let wuzapi = FakeWuzapi::start(FakeWuzapiConfig::default())
        .await
        .unwrap();
    let internal = Receiver::start().await.unwrap();
    internal.set_reply(
        &[("content-type", "image/png")],
        b"\x89PNG\r\n\x1a\ninternal".to_vec(),
    );
    let bridge = Bridge::start(&db);
    let mut doc = wuzapi_doc("alpha", &wuzapi, &chatwoot);
    doc["gateway"].as_object_mut().unwrap().remove("hmac_key");
    let provisioned = add_instance(&bridge, &doc).await;
    assert!(
        provisioned
            .to_string()
            .contains("wuzapi webhooks are unsigned"),
        "{provisioned}"
    );
    let (status, report) = bridge
        .admin(Method::POST, "/instances/alpha/test", None)
        .await;
    assert_eq!(status, 200, "{report}");
    assert!(
        report.to_string().contains("wuzapi webhooks are unsigned"),
        "{report}"
    );

    let image = |id: &str, url: &str| {
        let mut m = WuzapiMessage::new(
            CUSTOMER,
            json!({ "imageMessage": { "mimetype": "image/png", "caption": id, "URL": "" } }),
        );
        m.id = id.to_owned();
        m.envelope.insert("s3".into(), json!({ "url": url }));
        m
    };
    for (id, url) in [
        ("3EB0AAA1", format!("{}/a.png", internal.url())),
        (
            "3EB0AAA2",
            format!("{}/b.png", internal.url()).replace("127.0.0.1", "[::ffff:127.0.0.1]"),
        ),
        (
            "3EB0AAA3",
            "http://169.254.169.254/latest/meta-data".to_owned(),
        ),
    ] {
        wuzapi.emit_message(image(id, &url));
    }
    bridge
        .eventually("three messages in Chatwoot", || {
            customer_messages(&chatwoot).len() >= 3
        })
        .await;
    idle(&bridge).await;
    assert!(
        internal.received().is_empty(),
        "media was fetched from inside"
    );
    for m in customer_messages(&chatwoot) {
        let content = m["content"].as_str().unwrap_or_default();
        assert!(content.contains("media unavailable"), "{m}");
        assert!(m["attachments"].as_array().is_none_or(Vec::is_empty), "{m}");
    }

    // Listed in media_origins (a private MinIO, say), the same origin is fetched; a large
    // file is spooled to disk on the way and arrives whole.
    let big: Vec<u8> = b"\x89PNG\r\n\x1a\n"
        .iter()
        .copied()
        .chain((0..3 * 1024 * 1024).map(|i| (i % 251) as u8))
        .collect();
    internal.set_reply(&[("content-type", "image/png")], big.clone());
    let origin = internal.url().trim_end_matches("/hook").to_owned();
    let (status, answer) = bridge
        .admin(
            Method::PATCH,
            "/instances/alpha",
            Some(&json!({ "options": { "media_origins": [origin] } })),
        )
        .await;
    assert_eq!(status, 200, "{answer}");
    // The admin API applies the change to the running instance at once.
    wuzapi.emit_message(image("3EB0BBB1", &format!("{}/c.png", internal.url())));
    let with_file = bridge
        .eventually_value("an attachment in Chatwoot", || async {
            customer_messages(&chatwoot)
                .into_iter()
                .find(|m| m["attachments"].as_array().is_some_and(|a| !a.is_empty()))
        })
        .await;
    let data_url = with_file["attachments"][0]["data_url"].as_str().unwrap();
    let uploaded = zapwoot_testkit::chatwoot::download(data_url).await;
    assert_eq!(uploaded.len(), big.len());
    assert!(uploaded == big, "the relayed file differs");

    // An agent's large file goes to WhatsApp whole as well.
    let conversation = customer_conversations(&chatwoot)[0]["id"].as_u64().unwrap();
    let pdf: Vec<u8> = b"%PDF-1.7\n"
        .iter()
        .copied()
        .chain((0..2 * 1024 * 1024).map(|i| (i % 241) as u8))
        .collect();
    chatwoot
        .agent_reply(
            conversation,
            "",
            vec![(
                "big.pdf".to_owned(),
                "application/pdf".to_owned(),
                pdf.clone(),
            )],
        )
        .unwrap();
    let sent = bridge
        .eventually_value("the document on WhatsApp", || async {
            wuzapi
                .sends()
                .into_iter()
                .find(|s| s.endpoint.contains("document"))
        })
        .await;
    let encoded = sent.body["Document"].as_str().unwrap();
    let (_, b64) = encoded.split_once(";base64,").unwrap();
    use base64::Engine as _;
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(b64)
        .unwrap();
    assert!(decoded == pdf, "the document differs");
}

/// Medium 3: connections that send a body's first byte and stall hold one KiB each, not the
/// whole budget, and are given up after the body timeout; other instances are served.
pub(crate) async fn stalled_bodies_starve_nobody(db: Db) {
    let chatwoot = FakeChatwoot::start(FakeChatwootConfig::default())
        .await
        .unwrap();
    let alpha = FakeWuzapi::start(crate::wuzapi_config()).await.unwrap();
    let beta = FakeWuzapi::start(crate::wuzapi_config()).await.unwrap();
    let bridge = Bridge::start(&db);
    let a = add_instance(&bridge, &wuzapi_doc("alpha", &alpha, &chatwoot)).await;
    add_instance(&bridge, &wuzapi_doc("beta", &beta, &chatwoot)).await;
    let hook = a["webhooks"]["gateway"].as_str().unwrap().to_owned();
    let rest = hook.strip_prefix("http://").unwrap();
    let (host, path) = rest.split_once('/').unwrap();
    let mut stalled = Vec::new();
    for _ in 0..16 {
        let mut stream = tokio::net::TcpStream::connect(host).await.unwrap();
        let head = format!(
            "POST /{path} HTTP/1.1\r\nHost: {host}\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n1\r\n{{\r\n"
        );
        stream.write_all(head.as_bytes()).await.unwrap();
        stalled.push(stream);
    }
    // The other instance is served at once (the old budget answered 503 busy after 2 s).
    beta.emit_message(WuzapiMessage::text(CUSTOMER, "still served"));
    bridge
        .eventually_within(
            "beta's message in Chatwoot",
            Duration::from_secs(10),
            || {
                customer_messages(&chatwoot)
                    .iter()
                    .any(|m| m["content"] == json!("still served"))
            },
        )
        .await;
    let statuses: Vec<Value> = bridge
        .events()
        .await
        .iter()
        .map(|e| e["status"].clone())
        .collect();
    assert!(!statuses.is_empty());
    // The stalled requests are answered 408 once their body has been idle too long.
    let mut answer = vec![0; 512];
    let stream = &mut stalled[0];
    let n = tokio::time::timeout(Duration::from_secs(30), stream.read(&mut answer))
        .await
        .expect("a stalled body was never given up")
        .unwrap();
    let answer = String::from_utf8_lossy(&answer[..n]);
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.contains("body_timeout"), "{answer}");
}

/// Medium 4: `/readyz` without the token says `ok` and nothing else.
pub(crate) async fn readiness_details_need_the_token(db: Db) {
    let chatwoot = FakeChatwoot::start(FakeChatwootConfig::default())
        .await
        .unwrap();
    let wuzapi = FakeWuzapi::start(crate::wuzapi_config()).await.unwrap();
    let bridge = Bridge::start(&db);
    add_instance(&bridge, &wuzapi_doc("alpha", &wuzapi, &chatwoot)).await;
    let url = format!("{}/readyz", bridge.url);
    let anonymous: Value = bridge
        .http
        .get(&url)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(anonymous, json!({ "status": "ok", "store": "ok" }));
    let text = anonymous.to_string();
    for leak in ["alpha", "5511", &wuzapi.url(), &chatwoot.url()] {
        assert!(!text.contains(leak), "{leak} in {text}");
    }
    let wrong: Value = bridge
        .http
        .get(&url)
        .bearer_auth("not-the-token")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(wrong, anonymous);
    let detailed: Value = bridge
        .http
        .get(&url)
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        detailed["instances"][0]["name"],
        json!("alpha"),
        "{detailed}"
    );

    // Many instances: counted in full, listed a page at a time by name.
    for name in ["beta", "gamma"] {
        let mut doc = wuzapi_doc(name, &wuzapi, &chatwoot);
        doc["enabled"] = json!(false);
        let (status, created) = bridge.admin(Method::POST, "/instances", Some(&doc)).await;
        assert_eq!(status, 201, "{created}");
    }
    let page = |query: &'static str| {
        let http = bridge.http.clone();
        let url = format!("{url}{query}");
        async move {
            let response = http.get(url).bearer_auth(ADMIN_TOKEN).send().await.unwrap();
            let status = response.status().as_u16();
            (status, response.json::<Value>().await.unwrap())
        }
    };
    let (status, first) = page("?limit=2").await;
    assert_eq!(status, 200, "{first}");
    assert_eq!(first["instances_total"], json!(3), "{first}");
    assert_eq!(first["instances_running"], json!(1), "{first}");
    let counted: u64 = first["sessions"]
        .as_object()
        .unwrap()
        .values()
        .filter_map(Value::as_u64)
        .sum();
    assert_eq!(counted, 3, "{first}");
    let names = |v: &Value| -> Vec<String> {
        v["instances"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["name"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(names(&first), ["alpha", "beta"]);
    assert_eq!(first["next_after"], json!("beta"));
    let (_, rest) = page("?limit=2&after=beta").await;
    assert_eq!(names(&rest), ["gamma"]);
    assert_eq!(rest["next_after"], Value::Null);
    for bad in ["?limit=0", "?limit=1001", "?limit=many"] {
        let (status, refused) = page(bad).await;
        assert_eq!(status, 422, "{bad}: {refused}");
        assert_eq!(refused["error"]["field"], json!("limit"), "{refused}");
    }
}

/// Low 7: one address cannot hold more than its share of connections, and a client that
/// never finishes its headers is cut off.
pub(crate) async fn slowloris_connections_are_capped(db: Db) {
    // The cap from the configuration file (`--max-connections-per-address` and
    // `ZAPWOOT_MAX_CONNECTIONS_PER_ADDRESS` take precedence over it).
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    let dir = std::env::temp_dir().join(format!("zapwoot-cap-{}-{nanos}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let config = dir.join("zapwoot.toml");
    std::fs::write(&config, "max_connections_per_address = 8\n").unwrap();
    let bridge = Bridge::start_args(
        &db,
        &[],
        &[
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--config",
            config.to_str().unwrap(),
        ],
    );
    let host = bridge.url.strip_prefix("http://").unwrap().to_owned();
    let mut open = Vec::new();
    for _ in 0..20 {
        let mut stream = tokio::net::TcpStream::connect(&host).await.unwrap();
        stream
            .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
            .await
            .unwrap();
        open.push(stream);
    }
    let mut closed_at_once = 0;
    let mut kept = Vec::new();
    for mut stream in open {
        let mut buf = [0; 64];
        match tokio::time::timeout(Duration::from_millis(500), stream.read(&mut buf)).await {
            Ok(Ok(0) | Err(_)) => closed_at_once += 1,
            Ok(Ok(_)) => panic!("an incomplete request was answered"),
            Err(_) => kept.push(stream),
        }
    }
    assert_eq!(kept.len(), 8, "connections kept open beyond the cap");
    assert_eq!(closed_at_once, 12);
    // The ones kept are closed once the header timeout passes.
    for mut stream in kept {
        let mut buf = [0; 256];
        let read = tokio::time::timeout(Duration::from_secs(30), stream.read(&mut buf))
            .await
            .expect("a connection that never finished its headers stayed open");
        if let Ok(n) = read {
            let text = String::from_utf8_lossy(&buf[..n]);
            assert!(n == 0 || text.starts_with("HTTP/1.1 408"), "{text}");
        }
    }
    // And the address is served again.
    let ok = bridge
        .http
        .get(format!("{}/healthz", bridge.url))
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), 200);
    let _ = std::fs::remove_dir_all(dir);
}

/// Low 8, 10 and 11: documents that could never work, or point inside, are refused with 422
/// naming the field, and nothing is stored.
pub(crate) async fn bad_documents_are_refused_by_field(db: Db) {
    let chatwoot = FakeChatwoot::start(FakeChatwootConfig::default())
        .await
        .unwrap();
    let wuzapi = FakeWuzapi::start(crate::wuzapi_config()).await.unwrap();
    let bridge = Bridge::start(&db);
    let good = wuzapi_doc("alpha", &wuzapi, &chatwoot);
    let with = |pointer: &str, value: Value| {
        let mut doc = good.clone();
        *doc.pointer_mut(pointer).unwrap() = value;
        doc
    };
    let with_option = |key: &str, value: Value| {
        let mut doc = good.clone();
        doc["options"][key] = value;
        doc
    };
    for (doc, field) in [
        (
            with("/gateway/base_url", json!("http://")),
            "gateway.base_url",
        ),
        (
            with("/chatwoot/base_url", json!("https://")),
            "chatwoot.base_url",
        ),
        (
            with("/gateway/base_url", json!("http://169.254.169.254")),
            "gateway.base_url",
        ),
        (
            with("/chatwoot/base_url", json!("http://[fe80::1]:3000")),
            "chatwoot.base_url",
        ),
        (
            with(
                "/chatwoot/base_url",
                json!("http://metadata.google.internal"),
            ),
            "chatwoot.base_url",
        ),
        (
            with("/gateway/base_url", json!("http://user:pw@127.0.0.1:1")),
            "gateway.base_url",
        ),
        (
            with("/gateway/token", json!("tok\r\nX-Evil: 1")),
            "gateway.token",
        ),
        (
            with("/chatwoot/api_token", json!("tok\n")),
            "chatwoot.api_token",
        ),
        (
            with_option("gateway_concurrency", json!(0)),
            "options.gateway_concurrency",
        ),
        (
            with_option("chatwoot_rate_per_second", json!(0)),
            "options.chatwoot_rate_per_second",
        ),
        (
            with_option("max_media_bytes", json!(u64::MAX)),
            "options.max_media_bytes",
        ),
        (
            with_option("max_media_bytes", json!(0)),
            "options.max_media_bytes",
        ),
        (
            with_option("media_origins", json!(["not a url"])),
            "options.media_origins",
        ),
        (
            with_option("media_origins", json!(["http://minio:9000/bucket"])),
            "options.media_origins",
        ),
        // The options of what agents and customers notice are read, not ignored.
        (
            with_option("mark_read_on_reply", json!("no")),
            "options.mark_read_on_reply",
        ),
        (with_option("typing", json!("yes")), "options.typing"),
        (
            with_option("reject_calls", json!(1)),
            "options.reject_calls",
        ),
        (with_option("call_reply", json!(5)), "options.call_reply"),
    ] {
        let (status, answer) = bridge.admin(Method::POST, "/instances", Some(&doc)).await;
        assert_eq!(status, 422, "{doc} → {answer}");
        assert_eq!(answer["error"]["field"], json!(field), "{answer}");
        assert!(!answer.to_string().contains("tok\r"), "{answer}");
    }
    let (_, list) = bridge.admin(Method::GET, "/instances", None).await;
    assert_eq!(list["instances"], json!([]), "{list}");
    // A loopback or private upstream is fine (same host, Docker network).
    let (status, answer) = bridge.admin(Method::POST, "/instances", Some(&good)).await;
    assert_eq!(status, 201, "{answer}");

    for url in [
        "http://[2002:7f00:1::1]/hook",
        "http://[::127.0.0.1]/hook",
        "http://[2001:0:4136:e378:8000:63bf:3fff:fdd2]/hook",
        "http://192.0.0.8/hook",
    ] {
        let (status, answer) = bridge
            .admin(
                Method::POST,
                "/subscriptions",
                Some(&json!({ "url": url, "events": ["*"] })),
            )
            .await;
        assert_eq!(status, 422, "{url} → {answer}");
        assert_eq!(answer["error"]["field"], json!("url"), "{answer}");
    }
    let (_, subs) = bridge.admin(Method::GET, "/subscriptions", None).await;
    assert_eq!(subs["subscriptions"], json!([]), "{subs}");
}

/// Medium 6: the SQLite files are the bridge's user's alone; subscription header values and
/// URL credentials are sealed and masked; stored wuzapi bodies keep no user token.
pub(crate) async fn secrets_at_rest_are_sealed(db: Db) {
    let chatwoot = FakeChatwoot::start(FakeChatwootConfig::default())
        .await
        .unwrap();
    let mut config = crate::wuzapi_config();
    config.format = WuzapiFormat::LegacyForm;
    config.token = "legacy-user-token-5e7a".to_owned();
    let wuzapi = FakeWuzapi::start(config).await.unwrap();
    let bridge = Bridge::start(&db);
    add_instance(&bridge, &wuzapi_doc("alpha", &wuzapi, &chatwoot)).await;
    let header_secret = "Bearer crm-header-secret-91f2";
    let (status, created) = bridge
        .admin(
            Method::POST,
            "/subscriptions",
            Some(
                &json!({ "url": "https://crmuser:crm-url-password-7c1d@crm.example.com/hook",
                          "events": ["*"], "headers": { "Authorization": header_secret } }),
            ),
        )
        .await;
    assert_eq!(status, 201, "{created}");
    let id = created["id"].as_i64().unwrap();
    let (_, shown) = bridge
        .admin(Method::GET, &format!("/subscriptions/{id}"), None)
        .await;
    assert_eq!(
        shown["url"],
        json!("https://***@crm.example.com/hook"),
        "{shown}"
    );
    // Sent back masked, the URL keeps its credentials.
    let (status, patched) = bridge
        .admin(
            Method::PATCH,
            &format!("/subscriptions/{id}"),
            Some(&json!({ "url": "https://***@crm.example.com/hook2" })),
        )
        .await;
    assert_eq!(status, 200, "{patched}");
    assert_eq!(patched["url"], json!("https://***@crm.example.com/hook2"));

    wuzapi.emit_message(WuzapiMessage::text(CUSTOMER, "stored without the token"));
    bridge
        .eventually("the message in Chatwoot", || {
            !customer_messages(&chatwoot).is_empty()
        })
        .await;
    idle(&bridge).await;
    let event = bridge
        .inbound_events()
        .await
        .into_iter()
        .find(|e| e["kind"] == json!("Message"))
        .unwrap();
    let (_, full) = bridge
        .admin(Method::GET, &format!("/events/{}", event["id"]), None)
        .await;
    assert!(!full.to_string().contains("token="), "{full}");

    if let Db::Sqlite(dir) = &db {
        use std::os::unix::fs::PermissionsExt as _;
        let mut seen = 0;
        let mut contents = Vec::new();
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            if name.starts_with("zapwoot.db") {
                let mode = std::fs::metadata(&path).unwrap().permissions().mode();
                assert_eq!(mode & 0o077, 0, "{name} is readable by others: {mode:o}");
                contents.extend(std::fs::read(&path).unwrap());
                seen += 1;
            }
        }
        assert!(seen >= 2, "the database and its WAL");
        let text = String::from_utf8_lossy(&contents);
        for secret in [
            "crm-header-secret-91f2",
            "crm-url-password-7c1d",
            "legacy-user-token-5e7a",
        ] {
            assert!(!text.contains(secret), "{secret} is stored in plain text");
        }
        assert!(
            text.contains("stored without the token"),
            "the check reads the right files"
        );
    }
}

/// Low 12: a flood of bad signatures is counted in full but logged once a minute.
pub(crate) async fn bad_signature_floods_do_not_fill_the_logs(db: Db) {
    let chatwoot = FakeChatwoot::start(FakeChatwootConfig::default())
        .await
        .unwrap();
    let wuzapi = FakeWuzapi::start(crate::wuzapi_config()).await.unwrap();
    let bridge = Bridge::start(&db);
    let provisioned = add_instance(&bridge, &wuzapi_doc("alpha", &wuzapi, &chatwoot)).await;
    let hook = provisioned["webhooks"]["gateway"].as_str().unwrap();
    for i in 0..50 {
        let response = bridge
            .http
            .post(hook)
            .header("content-type", "application/json")
            .header("x-hmac-signature", "00".repeat(32))
            .body(format!("{{\"type\":\"Message\",\"n\":{i}}}"))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 401);
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
    let counted = metrics
        .lines()
        .find(|l| l.starts_with("zapwoot_signature_failures_total{"))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|n| n.parse::<f64>().ok());
    assert_eq!(counted, Some(50.0), "{metrics}");
    let lines = bridge
        .logs()
        .lines()
        .filter(|l| l.contains("webhook signature rejected"))
        .count();
    assert_eq!(lines, 1, "{}", bridge.logs());
}
