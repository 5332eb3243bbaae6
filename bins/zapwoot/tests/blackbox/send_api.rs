//! The send API over HTTP: 202 after a durable accept, one WhatsApp message and one Chatwoot
//! mirror per idempotency key, its status, and every bad input refused with nothing sent.

use reqwest::Method;
use serde_json::{Value, json};
use zapwoot_fakes::{FakeChatwoot, FakeChatwootConfig, FakeWuzapi};

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
    let mirrors: Vec<Value> = chatwoot
        .all_messages()
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
    assert_eq!(wuzapi.sends().len(), 1, "no bad request sent anything");
}
