//! `zapwoot demo`: the bridge with a fake wuzapi and a fake Chatwoot on loopback; the phone
//! paired from Chatwoot first (an agent types `qr`, the QR code is drawn here, the fake phone
//! scans it), then a scripted conversation both ways, the live activity, and a summary. Exits
//! non-zero if any step did not arrive.

use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result, bail};
use serde_json::{Value, json};
use tokio::net::TcpListener;
use zapwoot_fakes::{
    FakeChatwoot, FakeChatwootConfig, FakeWuzapi, FakeWuzapiConfig, WuzapiMessage,
};
use zapwoot_store::{Sealer, SealingKey, Store, StoreOptions};
use zapwoot_sync::Activity;

use crate::app::{self, App};
use crate::cli::Serve;
use crate::instances;

const CUSTOMER: &str = "5511987654321@s.whatsapp.net";
const GROUP: &str = "120363025246125486@g.us";
const STEP_TIMEOUT: Duration = Duration::from_secs(15);
/// A 1×1 JPEG.
const PIXEL_JPEG: &str = "/9j/4AAQSkZJRgABAQEASABIAAD/2wBDAAMCAgICAgMCAgIDAwMDBAYEBAQEBAgGBgUGCQgKCgkICQkKDA8MCgsOCwkJDRENDg8QEBEQCgwSExIQEw8QEBD/yQALCAABAAEBAREA/8wABgAQEAX/2gAIAQEAAD8A0s8g/9k=";

struct Demo {
    chatwoot: FakeChatwoot,
    wuzapi: FakeWuzapi,
    activity: Arc<Mutex<Vec<Activity>>>,
    store: Store,
}

impl Demo {
    /// zapwoot's integration conversation, once provisioning opened it.
    fn integration_conversation(&self) -> Option<u64> {
        self.chatwoot.conversations().iter().find_map(|c| {
            c.pointer("/meta/sender/name")
                .and_then(Value::as_str)
                .is_some_and(|n| n.starts_with("zapwoot · "))
                .then(|| c["id"].as_u64())
                .flatten()
        })
    }

    /// The address of the first image the bridge posted in `conversation`.
    fn posted_image(&self, conversation: u64) -> Option<String> {
        self.chatwoot.messages(conversation).iter().find_map(|m| {
            m.pointer("/attachments/0/data_url")
                .and_then(Value::as_str)
                .map(str::to_owned)
        })
    }

    fn incoming_contents(&self) -> Vec<Value> {
        self.chatwoot
            .all_messages()
            .into_iter()
            .filter(|m| m["message_type"] == json!(0))
            .collect()
    }

    fn has_activity(&self, kind: &str) -> bool {
        self.activity
            .lock()
            .is_ok_and(|a| a.iter().any(|x| x.name() == kind))
    }

    fn sent_texts(&self) -> Vec<(String, String)> {
        self.wuzapi
            .sends()
            .into_iter()
            .filter(|s| s.endpoint == "/chat/send/text")
            .map(|s| {
                (
                    s.id.clone(),
                    s.body
                        .get("Body")
                        .and_then(Value::as_str)
                        .unwrap_or_default()
                        .to_owned(),
                )
            })
            .collect()
    }
}

async fn wait_until(check: impl Fn() -> bool) -> Option<Duration> {
    let started = Instant::now();
    while started.elapsed() < STEP_TIMEOUT {
        if check() {
            return Some(started.elapsed());
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    None
}

async fn step<F: Future<Output = Option<Duration>>>(
    results: &mut Vec<(String, Option<Duration>)>,
    name: &str,
    wait: F,
) {
    println!("\n▶ {name}");
    let took = wait.await;
    match took {
        Some(t) => println!("  ✓ arrived in {} ms", t.as_millis()),
        None => println!("  ✗ did not arrive within {} s", STEP_TIMEOUT.as_secs()),
    }
    results.push((name.to_owned(), took));
}

fn print_activity(activity: &Activity) {
    let data = serde_json::Value::Object(activity.data()).to_string();
    let short: String = data.chars().take(110).collect();
    println!("  · {:<20} {short}", activity.name());
}

/// Runs the demo.
pub(crate) async fn run() -> Result<()> {
    let dir = std::env::temp_dir().join(format!("zapwoot-demo-{}", std::process::id()));
    std::fs::create_dir_all(&dir).context("creating a temporary directory")?;
    let result = run_in(&dir).await;
    let _ = std::fs::remove_dir_all(&dir);
    result
}

async fn run_in(dir: &std::path::Path) -> Result<()> {
    let url = format!("sqlite://{}", dir.join("demo.db").display());
    let (key, _) = SealingKey::generate()?;
    let store = Store::open(&url, StoreOptions::with_sealer(Sealer::new(key))).await?;
    let chatwoot = FakeChatwoot::start(FakeChatwootConfig::default()).await?;
    let mut config = FakeWuzapiConfig::default();
    config.hmac_key = Some("demo-hmac-key-0123456789abcdef0123".to_owned());
    config.unpaired = true;
    let wuzapi = FakeWuzapi::start(config).await?;
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let public_url = format!("http://{}", listener.local_addr()?);
    println!("zapwoot demo");
    println!("  fake Chatwoot  {}", chatwoot.url());
    println!("  fake wuzapi    {}", wuzapi.url());
    println!("  bridge         {public_url} (SQLite in a temporary directory)");

    let serve = Serve {
        listen: listener.local_addr()?,
        admin_token: None,
        public_url: Some(public_url.clone()),
        max_gateway_body: 16 * 1024 * 1024,
        max_chatwoot_body: 1024 * 1024,
        max_inflight_body: 256 * 1024 * 1024,
        max_connections_per_address: 256,
        retain_bodies_days: 7,
        retain_events_days: 30,
    };
    let app = App::new(store.clone(), &serve, public_url.clone())?;
    let doc = json!({
        "name": "demo",
        "gateway": { "kind": "wuzapi", "base_url": wuzapi.url(), "token": wuzapi.token(),
                     "hmac_key": "demo-hmac-key-0123456789abcdef0123" },
        "chatwoot": { "base_url": chatwoot.url(), "account_id": chatwoot.account_id(), "api_token": chatwoot.admin_token() },
    });
    instances::create(&store, &doc)
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let (instance, _) = instances::provision(&store, "demo", &public_url)
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    println!(
        "  provisioned    Chatwoot API inbox {} → {public_url}/webhooks/chatwoot/…; wuzapi webhook → {public_url}/webhooks/gateway/…",
        instance.config.chatwoot_inbox_id.unwrap_or_default()
    );

    let activity = Arc::new(Mutex::new(Vec::new()));
    let mut receiver = app.state.engine.activity().subscribe();
    let sink = Arc::clone(&activity);
    let printer = tokio::spawn(async move {
        while let Ok(a) = receiver.recv().await {
            print_activity(&a);
            if let Ok(mut all) = sink.lock() {
                all.push(a);
            }
        }
    });
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(app::run(app, listener, async {
        let _ = stop_rx.await;
    }));
    let demo = Demo {
        chatwoot,
        wuzapi,
        activity,
        store: store.clone(),
    };
    let results = script(&demo).await;
    let _ = stop_tx.send(());
    server.await.context("the bridge task failed")??;
    printer.abort();

    println!("\nsummary");
    let mut failed = 0;
    for (name, took) in &results {
        match took {
            Some(t) => println!("  ✓ {name} ({} ms)", t.as_millis()),
            None => {
                failed += 1;
                println!("  ✗ {name}");
            }
        }
    }
    let counts = store.events().count_by_status(None).await?;
    println!(
        "  events: {}",
        counts
            .iter()
            .map(|(s, n)| format!("{}={n}", s.as_str()))
            .collect::<Vec<_>>()
            .join(" ")
    );
    if failed > 0 {
        bail!("{failed} of {} steps did not arrive", results.len());
    }
    println!(
        "\nall {} steps arrived. Next: README.md › Connect a real wuzapi or GOWA and Chatwoot.",
        results.len()
    );
    Ok(())
}

/// An agent pairs the phone from Chatwoot: `qr` in zapwoot's conversation, the posted image
/// drawn here, the fake phone scans it, the session turns connected.
async fn pair(d: &Demo) -> Option<Duration> {
    let started = Instant::now();
    wait_until(|| d.integration_conversation().is_some()).await?;
    let conversation = d.integration_conversation()?;
    d.chatwoot
        .agent_reply(conversation, "qr", Vec::new())
        .ok()?;
    wait_until(|| d.posted_image(conversation).is_some()).await?;
    let url = d.posted_image(conversation)?;
    let client = zapwoot_chatwoot::Client::builder(d.chatwoot.url(), d.chatwoot.admin_token())
        .build()
        .ok()?;
    let (png, _) = client.download(&url, 1024 * 1024).await.ok()?;
    match crate::qr_terminal::draw(&png) {
        Ok(drawn) => println!("{drawn}"),
        Err(e) => println!("  (the QR code cannot be drawn: {e})"),
    }
    println!("  the phone scans it");
    d.wuzapi.scan();
    while started.elapsed() < STEP_TIMEOUT {
        let record = d.store.connections().list().await.ok()?;
        if record
            .iter()
            .any(|r| r.state == zapwoot_store::SessionState::Connected)
        {
            return Some(started.elapsed());
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    None
}

async fn script(d: &Demo) -> Vec<(String, Option<Duration>)> {
    let mut results = Vec::new();
    step(
        &mut results,
        "pair the phone from Chatwoot: `qr` → QR code posted, drawn, scanned",
        pair(d),
    )
    .await;
    let mut first = WuzapiMessage::text(CUSTOMER, "Oi! Meu pedido #123 já saiu?");
    first.push_name = "Maria Silva".to_owned();
    let mut first_wa_id = String::new();
    step(&mut results, "customer text → Chatwoot", async {
        first_wa_id = d.wuzapi.emit_message(first);
        wait_until(|| {
            d.incoming_contents().iter().any(|m| {
                m["content"]
                    .as_str()
                    .is_some_and(|c| c.contains("pedido #123"))
            })
        })
        .await
    })
    .await;

    step(&mut results, "customer image with caption → Chatwoot attachment", async {
        let mut m = WuzapiMessage::new(CUSTOMER, json!({ "imageMessage": { "mimetype": "image/jpeg", "caption": "foto da caixa", "directPath": "/x", "fileLength": 125 } }));
        m.push_name = "Maria Silva".to_owned();
        m.envelope.insert("base64".into(), json!(PIXEL_JPEG));
        m.envelope.insert("mimeType".into(), json!("image/jpeg"));
        d.wuzapi.emit_message(m);
        wait_until(|| d.incoming_contents().iter().any(|m| m["attachments"].as_array().is_some_and(|a| !a.is_empty()))).await
    })
    .await;

    step(&mut results, "customer reply to their first message → Chatwoot reply", async {
        let mut m = WuzapiMessage::new(CUSTOMER, json!({ "extendedTextMessage": { "text": "(era sobre este pedido)", "contextInfo": { "stanzaID": first_wa_id, "participant": CUSTOMER } } }));
        m.push_name = "Maria Silva".to_owned();
        d.wuzapi.emit_message(m);
        wait_until(|| {
            d.incoming_contents().iter().any(|m| {
                m["content"].as_str().is_some_and(|c| c.contains("era sobre")) && m.pointer("/content_attributes/in_reply_to").is_some_and(|v| !v.is_null())
            })
        })
        .await
    })
    .await;

    step(&mut results, "customer reaction 👍 → Chatwoot", async {
        let m = WuzapiMessage::new(CUSTOMER, json!({ "reactionMessage": { "key": { "remoteJID": CUSTOMER, "fromMe": false, "ID": first_wa_id }, "text": "👍" } }));
        d.wuzapi.emit_message(m);
        wait_until(|| d.has_activity("reaction")).await
    })
    .await;

    // Maria's conversation (zapwoot's own integration conversation is in the inbox too).
    let conversation = d
        .chatwoot
        .conversations()
        .iter()
        .find(|c| c.pointer("/meta/sender/name").and_then(Value::as_str) == Some("Maria Silva"))
        .and_then(|c| c["id"].as_u64())
        .unwrap_or_default();
    step(&mut results, "agent reply in Chatwoot → WhatsApp", async {
        let _ =
            d.chatwoot
                .agent_reply(conversation, "Olá Maria! Saiu hoje de manhã 🚚", Vec::new());
        wait_until(|| {
            d.sent_texts()
                .iter()
                .any(|(_, body)| body.contains("Saiu hoje"))
        })
        .await
    })
    .await;

    step(
        &mut results,
        "read receipt on WhatsApp → Chatwoot status",
        async {
            let sent: Vec<String> = d.sent_texts().into_iter().map(|(id, _)| id).collect();
            let ids: Vec<&str> = sent.iter().map(String::as_str).collect();
            d.wuzapi.emit_receipt(CUSTOMER, &ids, "Read");
            wait_until(|| d.has_activity("message.status")).await
        },
    )
    .await;

    step(
        &mut results,
        "group message → its own Chatwoot conversation",
        async {
            let mut m = WuzapiMessage::new(GROUP, json!({ "conversation": "Bom dia, grupo!" }));
            m.sender = "5511911112222@s.whatsapp.net".to_owned();
            m.push_name = "João".to_owned();
            d.wuzapi.emit_message(m);
            wait_until(|| {
                d.incoming_contents().iter().any(|m| {
                    m["content"]
                        .as_str()
                        .is_some_and(|c| c.contains("Bom dia, grupo"))
                })
            })
            .await
        },
    )
    .await;
    results
}
