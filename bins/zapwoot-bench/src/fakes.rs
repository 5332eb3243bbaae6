//! `zapwoot-bench fakes`: the fake Chatwoot and the fake wuzapi in a process of their own (so
//! the bridge's CPU and memory are its own), with a small control API the benchmark drives.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Result;
use bytes::Bytes;
use http::{Request, Response, StatusCode};
use http_body_util::{BodyExt as _, Full};
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo};
use serde_json::{Value, json};
use zapwoot_fakes::{FakeChatwoot, FakeChatwootConfig, FakeWuzapi, FakeWuzapiConfig};

/// The HMAC key the fake wuzapi signs webhooks with (the bench configures the bridge so).
pub(crate) const HMAC_KEY: &str = "bench-wuzapi-hmac-key-0123456789abcdef";

/// What the fakes process prints on its first line.
pub(crate) struct Endpoints {
    pub(crate) chatwoot: String,
    pub(crate) chatwoot_token: String,
    pub(crate) account_id: u64,
    pub(crate) wuzapi: String,
    pub(crate) wuzapi_token: String,
    pub(crate) control: String,
}

impl Endpoints {
    pub(crate) fn parse(line: &str) -> Result<Self> {
        let v: Value = serde_json::from_str(line)?;
        let text = |k: &str| v[k].as_str().unwrap_or_default().to_owned();
        Ok(Self {
            chatwoot: text("chatwoot"),
            chatwoot_token: text("chatwoot_token"),
            account_id: v["account_id"].as_u64().unwrap_or(1),
            wuzapi: text("wuzapi"),
            wuzapi_token: text("wuzapi_token"),
            control: text("control"),
        })
    }
}

struct Fakes {
    chatwoot: FakeChatwoot,
    wuzapi: FakeWuzapi,
}

/// Agents write `per` replies (`"{prefix} {conversation} {k}"`) in each conversation, at
/// most `rate` a second when given; returns how many were written.
async fn write_agents(
    fakes: &Fakes,
    conversations: &[u64],
    per: u64,
    prefix: &str,
    rate: Option<f64>,
) -> usize {
    let started = std::time::Instant::now();
    let mut created = 0;
    for k in 0..per {
        for id in conversations {
            if let Some(rate) = rate {
                let due = started + Duration::from_secs_f64(created as f64 / rate);
                tokio::time::sleep_until(due.into()).await;
            }
            if fakes
                .chatwoot
                .agent_reply(*id, &format!("{prefix} {id} {k}"), Vec::new())
                .is_ok()
            {
                created += 1;
            }
        }
    }
    created
}

/// Runs the fakes until killed.
pub(crate) async fn run() -> Result<()> {
    let mut cw = FakeChatwootConfig::default();
    cw.log_requests = false;
    let chatwoot = FakeChatwoot::start(cw).await?;
    let mut wz = FakeWuzapiConfig::default();
    wz.hmac_key = Some(HMAC_KEY.to_owned());
    wz.log_requests = false;
    let wuzapi = FakeWuzapi::start(wz).await?;
    let fakes = Arc::new(Fakes { chatwoot, wuzapi });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let control = format!("http://{}", listener.local_addr()?);
    let line = json!({
        "chatwoot": fakes.chatwoot.url(), "chatwoot_token": fakes.chatwoot.admin_token(),
        "account_id": fakes.chatwoot.account_id(), "wuzapi": fakes.wuzapi.url(),
        "wuzapi_token": fakes.wuzapi.token(), "control": control,
    });
    println!("{line}");
    loop {
        let (stream, _) = listener.accept().await?;
        let fakes = Arc::clone(&fakes);
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |req| {
                let fakes = Arc::clone(&fakes);
                async move { Ok::<_, Infallible>(control_route(&fakes, req).await) }
            });
            let _ = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new())
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

fn answer(value: &Value) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from(value.to_string())));
    response.headers_mut().insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("application/json"),
    );
    response
}

async fn control_route(fakes: &Arc<Fakes>, req: Request<Incoming>) -> Response<Full<Bytes>> {
    let path = req.uri().path().to_owned();
    let param = |name: &str| -> usize {
        req.uri()
            .query()
            .unwrap_or_default()
            .split('&')
            .find_map(|pair| pair.strip_prefix(name)?.strip_prefix('='))
            .and_then(|n| n.parse().ok())
            .unwrap_or(0)
    };
    let skip = param("skip");
    let latency_ms = param("ms");
    match path.as_str() {
        // (content, unix seconds, message type) of Chatwoot messages after `skip`.
        "/created" => answer(&json!(fakes.chatwoot.created_since(skip))),
        // (text, unix seconds) of texts sent through wuzapi after `skip`.
        "/sends" => {
            let sends: Vec<(String, f64)> = fakes
                .wuzapi
                .sends()
                .into_iter()
                .filter(|s| s.endpoint == "/chat/send/text")
                .skip(skip)
                .map(|s| (s.body["Body"].as_str().unwrap_or_default().to_owned(), s.at))
                .collect();
            answer(&json!(sends))
        }
        "/conversations" => {
            // The customers' conversations: not zapwoot's own ("zapwoot · NAME"), where
            // nothing typed reaches WhatsApp.
            let list: Vec<u64> = fakes
                .chatwoot
                .conversations()
                .iter()
                .filter(|c| {
                    !c.pointer("/meta/sender/name")
                        .and_then(Value::as_str)
                        .is_some_and(|n| n.starts_with("zapwoot · "))
                })
                .filter_map(|c| c["id"].as_u64())
                .collect();
            answer(&json!(list))
        }
        "/latency" => {
            fakes.chatwoot.faults().set_latency(Duration::from_millis(
                u64::try_from(latency_ms).unwrap_or(0),
            ));
            answer(&json!({ "latency_ms": latency_ms }))
        }
        "/gateway_latency" => {
            fakes.wuzapi.faults().set_latency(Duration::from_millis(
                u64::try_from(latency_ms).unwrap_or(0),
            ));
            answer(&json!({ "latency_ms": latency_ms }))
        }
        // Agents write `per` replies in every conversation listed in the body; with `rate`,
        // paced in the background (the answer says how many are planned).
        "/agents" => {
            let body = req
                .into_body()
                .collect()
                .await
                .map(|b| b.to_bytes())
                .unwrap_or_default();
            let doc: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
            let per = doc["per"].as_u64().unwrap_or(1);
            let prefix = doc["prefix"].as_str().unwrap_or("agent").to_owned();
            let conversations: Vec<u64> = doc["conversations"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(Value::as_u64)
                .collect();
            match doc["rate"].as_f64() {
                Some(rate) => {
                    let planned = conversations.len() as u64 * per;
                    let fakes = Arc::clone(fakes);
                    tokio::spawn(async move {
                        write_agents(&fakes, &conversations, per, &prefix, Some(rate)).await;
                    });
                    answer(&json!({ "created": planned }))
                }
                None => answer(
                    &json!({ "created": write_agents(fakes, &conversations, per, &prefix, None).await }),
                ),
            }
        }
        _ => {
            let mut response = answer(&json!({ "error": "no such control route" }));
            *response.status_mut() = StatusCode::NOT_FOUND;
            response
        }
    }
}
