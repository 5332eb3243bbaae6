//! Message-create throughput of the fake Chatwoot: many concurrent HTTP/1.1 keep-alive clients
//! posting JSON messages into 1,000 conversations for a few seconds (the load generator shares
//! the machine, so this is a lower bound). Webhooks are disabled so the number measures the
//! fake's request path; the flood limit is off.
//!
//! `cargo bench -p zapwoot-fakes --bench chatwoot_creates`

#![allow(
    clippy::print_stdout,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    missing_docs
)]

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::Request;
use http_body_util::{BodyExt as _, Full};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use serde_json::Value;
use zapwoot_fakes::{FakeChatwoot, FakeChatwootConfig};

const CONVERSATIONS: u64 = 1000;

fn main() {
    let seconds: u64 = std::env::var("ZAPWOOT_BENCH_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(3);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async move {
        let mut config = FakeChatwootConfig::default();
        config.flood_limit = None;
        config.log_requests = false;
        let fake = FakeChatwoot::start(config).await.unwrap();
        let inbox = fake.add_api_inbox("bench", None);
        let client = Client::builder(TokioExecutor::new()).pool_max_idle_per_host(256).build_http::<Full<Bytes>>();
        let token = fake.admin_token().to_owned();
        let base = format!("{}/api/v1/accounts/{}", fake.url(), fake.account_id());
        let post = |client: Client<_, Full<Bytes>>, url: String, token: String, body: String| async move {
            let request = Request::post(url)
                .header("api_access_token", token)
                .header("content-type", "application/json")
                .body(Full::new(Bytes::from(body)))
                .unwrap();
            let response = client.request(request).await.unwrap();
            let status = response.status().as_u16();
            let bytes = response.into_body().collect().await.unwrap().to_bytes();
            (status, bytes)
        };
        let mut conversations = Vec::new();
        for i in 0..CONVERSATIONS {
            let body = format!(r#"{{"inbox_id":{},"source_id":"55119{i:08}@s.whatsapp.net","name":"c{i}"}}"#, inbox.id);
            let (_, created) = post(client.clone(), format!("{base}/contacts"), token.clone(), body).await;
            let contact = serde_json::from_slice::<Value>(&created).unwrap()["payload"]["contact"]["id"].as_u64().unwrap();
            let body = format!(r#"{{"inbox_id":{},"source_id":"55119{i:08}@s.whatsapp.net","contact_id":{contact}}}"#, inbox.id);
            let (_, conv) = post(client.clone(), format!("{base}/conversations"), token.clone(), body).await;
            conversations.push(serde_json::from_slice::<Value>(&conv).unwrap()["id"].as_u64().unwrap());
        }
        let conversations = Arc::new(conversations);
        println!("fake Chatwoot message creates ({seconds} s per case, {CONVERSATIONS} conversations)");
        println!("{:>8} {:>10} {:>12}", "clients", "creates", "creates/s");
        for clients in [16, 64, 128] {
            let done = Arc::new(AtomicU64::new(0));
            let deadline = Instant::now() + Duration::from_secs(seconds);
            let start = Instant::now();
            let mut tasks = Vec::new();
            for c in 0..clients {
                let (client, token, base, conversations, done) = (client.clone(), token.clone(), base.clone(), Arc::clone(&conversations), Arc::clone(&done));
                tasks.push(tokio::spawn(async move {
                    let mut i = c as usize;
                    while Instant::now() < deadline {
                        let conversation = conversations[i % conversations.len()];
                        let url = format!("{base}/conversations/{conversation}/messages");
                        let body = r#"{"content":"Olá! Pedido 12345, por favor.","message_type":"incoming","source_id":"3EB0C1A2"}"#.to_owned();
                        let (status, _) = post(client.clone(), url, token.clone(), body).await;
                        assert_eq!(status, 200);
                        done.fetch_add(1, Ordering::Relaxed);
                        i += 7;
                    }
                }));
            }
            for t in tasks {
                t.await.unwrap();
            }
            let n = done.load(Ordering::Relaxed);
            println!("{clients:>8} {n:>10} {:>12.0}", n as f64 / start.elapsed().as_secs_f64());
        }
    });
}
