//! Hostile input: a corpus of malformed, truncated, oversized, wrongly signed, replayed and
//! random bodies against every webhook route and the admin routes. Each gets the right
//! status (never a 5xx), the store is unchanged, the process stays up, and no secret shows up
//! in an answer or the logs.

use std::time::Duration;

use reqwest::Method;
use serde_json::json;
use zapwoot_signing::{Keyring, Secret};

use crate::common::{Rng, captured, chat, world};
use crate::support::{ADMIN_TOKEN, Db, HMAC_KEY, SECRET_KEY, http_client};

fn random_bytes(rng: &mut Rng, len: usize) -> Vec<u8> {
    (0..len)
        .map(|_| u8::try_from(rng.below(256)).unwrap_or(0))
        .collect()
}

/// One request of the corpus: route, body, signature, content type, the statuses allowed.
type Case = (String, Vec<u8>, Option<String>, &'static str, Vec<u16>);

/// A POST over a plain socket: the answer is read even when the bridge answers before the
/// whole body was sent and closes (as it may for a request it refuses).
async fn raw_post(url: &str, headers: &[(&str, String)], body: &[u8]) -> (u16, String) {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let rest = url.strip_prefix("http://").unwrap();
    let (host, path) = rest.split_once('/').unwrap();
    let mut stream = tokio::net::TcpStream::connect(host).await.unwrap();
    let mut head = format!(
        "POST /{path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    let _ = stream.write_all(head.as_bytes()).await;
    let _ = stream.write_all(body).await;
    let mut answer = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(30), stream.read_to_end(&mut answer)).await;
    let text = String::from_utf8_lossy(&answer).into_owned();
    let status = text
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    (status, text)
}

/// Sends only the head of a POST declaring `length` bytes; the status answered.
async fn declared_oversize(url: &str, length: usize) -> u16 {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let rest = url.strip_prefix("http://").unwrap();
    let (host, path) = rest.split_once('/').unwrap();
    let mut stream = tokio::net::TcpStream::connect(host).await.unwrap();
    let head = format!(
        "POST /{path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\nContent-Length: {length}\r\n\r\n"
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    let mut answer = vec![0u8; 512];
    let n = tokio::time::timeout(Duration::from_secs(10), stream.read(&mut answer))
        .await
        .unwrap()
        .unwrap();
    let text = String::from_utf8_lossy(&answer[..n]).into_owned();
    text.split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0)
}

async fn bad_input(db: Db) {
    let (w, bridge) = world(&db).await;
    let http = http_client();
    let mut rng = Rng::new(0xbad);
    let keys = Keyring::new(&Secret::from_bytes(HMAC_KEY).unwrap());
    let real = captured(&w.wuzapi, &[(chat(1), "a real message".to_owned())]).await;
    let real_body = real[0].body.to_vec();
    let chatwoot_url = w.chatwoot_url.clone();
    let unknown = format!("{}/webhooks/gateway/{}", bridge.url, "0".repeat(43));
    let before = bridge.events().await.len();

    let mut corpus: Vec<Case> = Vec::new();
    for len in [0, 1, 7, 64, 512, 4096] {
        let body = random_bytes(&mut rng, len);
        let signed = keys.sign_plain_hex(&body);
        corpus.push((
            w.gateway_url.clone(),
            body.clone(),
            Some(signed),
            "application/json",
            vec![400],
        ));
        corpus.push((
            w.gateway_url.clone(),
            body.clone(),
            Some("deadbeef".to_owned()),
            "application/json",
            vec![401],
        ));
        corpus.push((
            w.gateway_url.clone(),
            body.clone(),
            None,
            "application/json",
            vec![401],
        ));
        corpus.push((
            chatwoot_url.clone(),
            body.clone(),
            None,
            "application/json",
            vec![400, 401],
        ));
        corpus.push((unknown.clone(), body, None, "application/json", vec![404]));
    }
    // Every truncation of a real, correctly signed webhook.
    for cut in (0..real_body.len()).step_by(7) {
        let body = real_body[..cut].to_vec();
        let signed = keys.sign_plain_hex(&body);
        corpus.push((
            w.gateway_url.clone(),
            body,
            Some(signed),
            "application/json",
            vec![400],
        ));
    }
    // The real body with a tampered byte keeps its old signature.
    let mut tampered = real_body.clone();
    let middle = tampered.len() / 2;
    tampered[middle] ^= 0x20;
    corpus.push((
        w.gateway_url.clone(),
        tampered,
        real[0].header("x-hmac-signature").map(str::to_owned),
        "application/json",
        vec![401],
    ));
    // Chatwoot bodies: well-formed but unsigned, and with a signature from long ago.
    let message =
        json!({"event": "message_created", "id": 99, "message_type": "outgoing", "content": "x",
                         "private": false, "conversation": {"id": 1, "status": "open"}})
        .to_string();
    corpus.push((
        chatwoot_url.clone(),
        message.clone().into_bytes(),
        None,
        "application/json",
        vec![401],
    ));
    // Signed with the gateway key (the inbox secret is not the tester's to know): refused
    // either way, and the timestamp is years old.
    let signature = keys.sign_chatwoot(1_600_000_000, message.as_bytes());
    corpus.push((
        chatwoot_url.clone(),
        message.into_bytes(),
        Some(signature),
        "application/json",
        vec![401],
    ));
    // Oversized: 17 MiB (the default limit is 16).
    corpus.push((
        w.gateway_url.clone(),
        vec![b'x'; 17 * 1024 * 1024],
        None,
        "application/json",
        vec![413],
    ));

    for (url, body, signature, content_type, expected) in &corpus {
        let mut headers = vec![("content-type", (*content_type).to_owned())];
        if let Some(signature) = signature {
            headers.push(("x-hmac-signature", signature.clone()));
            headers.push(("x-chatwoot-signature", signature.clone()));
            headers.push(("x-chatwoot-timestamp", "1600000000".to_owned()));
        }
        let (status, answer) = raw_post(url, &headers, body).await;
        assert!(
            expected.contains(&status),
            "{url} with {} bytes: {status} (expected {expected:?}): {answer}",
            body.len()
        );
        assert!(!answer.contains(HMAC_KEY) && !answer.contains(ADMIN_TOKEN));
    }

    // Oversized, declared: 413 before the body is read (17 MiB; the limit is 16).
    for url in [&w.gateway_url, &chatwoot_url] {
        assert_eq!(declared_oversize(url, 17 * 1024 * 1024).await, 413, "{url}");
    }

    // Admin routes with garbage: 4xx, nothing changes.
    let (_, instances_before) = bridge.admin(Method::GET, "/instances", None).await;
    for _ in 0..40 {
        let len = usize::try_from(rng.below(300)).unwrap();
        // Never empty (an empty body is a valid request for some routes).
        let mut garbage = vec![0xff];
        garbage.extend(random_bytes(&mut rng, len));
        for (method, path) in [
            (Method::POST, "/instances"),
            (Method::PATCH, "/instances/alpha"),
            (Method::POST, "/subscriptions"),
            (Method::POST, "/instances/alpha/import"),
            (Method::POST, "/instances/alpha/reconcile"),
            (Method::PATCH, "/subscriptions/1"),
            (Method::POST, "/subscriptions/1/replay"),
            (Method::POST, "/subscriptions/1/rotate"),
        ] {
            let status = bridge
                .http
                .request(method.clone(), format!("{}/api/v1{path}", bridge.url))
                .bearer_auth(ADMIN_TOKEN)
                .body(garbage.clone())
                .send()
                .await
                .unwrap()
                .status()
                .as_u16();
            assert!((400..500).contains(&status), "{method} {path}: {status}");
        }
    }
    for doc in [
        json!([]),
        json!({"name": 7}),
        json!({"name": "x", "gateway": {"kind": "telegram"}}),
        json!({"url": "http://169.254.169.254/", "events": ["*"], "allow_private_network": true}),
        json!({"days": -1}),
        json!({"hours": "all"}),
    ] {
        for path in [
            "/instances",
            "/subscriptions",
            "/instances/alpha/import",
            "/instances/alpha/reconcile",
        ] {
            let (status, answer) = bridge.admin(Method::POST, path, Some(&doc)).await;
            assert!(
                (400..500).contains(&status),
                "POST {path} {doc}: {status} {answer}"
            );
        }
    }
    // Every other admin route, with garbage bodies and hostile ids and query strings: a 2xx
    // for reads, else a 4xx; never a 5xx, never a change.
    for (method, path) in [
        (Method::GET, "/instances"),
        (Method::GET, "/instances/alpha"),
        (Method::GET, "/instances/%00%ff"),
        (Method::DELETE, "/instances/no-such"),
        (Method::POST, "/instances/no-such/provision"),
        (Method::POST, "/instances/no-such/test"),
        (
            Method::GET,
            "/events?limit=-1&status=%ff&direction=sideways&before=x",
        ),
        (Method::GET, "/events/18446744073709551616"),
        (Method::GET, "/events/-1"),
        (Method::POST, "/events/abc/retry"),
        (Method::POST, "/events/999999/retry"),
        (Method::GET, "/imports?instance=nobody"),
        (Method::GET, "/imports/x"),
        (Method::GET, "/imports/999999"),
        (Method::GET, "/subscriptions"),
        (Method::GET, "/subscriptions/1"),
        (Method::DELETE, "/subscriptions/1"),
        (
            Method::GET,
            "/subscriptions/1/deliveries?state=%ff&since=x&until=y&before=z&limit=-5",
        ),
        (Method::GET, "/subscriptions/x/deliveries"),
        (Method::GET, "/subscriptions/1/deliveries/1"),
        (Method::POST, "/subscriptions/1/deliveries/1/replay"),
        (Method::POST, "/subscriptions/1/test"),
        (Method::GET, "/activity?instance=%00"),
        (Method::PUT, "/instances"),
        (Method::GET, "/../../etc/passwd"),
    ] {
        let mut garbage = vec![0xff];
        garbage.extend(random_bytes(&mut rng, 64));
        let response = bridge
            .http
            .request(method.clone(), format!("{}/api/v1{path}", bridge.url))
            .bearer_auth(ADMIN_TOKEN)
            .body(garbage)
            .timeout(Duration::from_secs(5))
            .send()
            .await;
        // The activity stream stays open (an SSE stream): only its status counts.
        let status = response.map(|r| r.status().as_u16()).unwrap_or(0);
        assert!(
            (200..300).contains(&status) && method == Method::GET || (400..500).contains(&status),
            "{method} {path}: {status}"
        );
    }
    let (_, instances_after) = bridge.admin(Method::GET, "/instances", None).await;
    assert_eq!(instances_before, instances_after, "no instance changed");
    let (_, subscriptions) = bridge.admin(Method::GET, "/subscriptions", None).await;
    assert_eq!(subscriptions["subscriptions"], json!([]));
    assert_eq!(bridge.events().await.len(), before, "nothing was recorded");

    // Still up, still working.
    let health = http
        .get(format!("{}/healthz", bridge.url))
        .send()
        .await
        .unwrap();
    assert_eq!(health.status(), 200);
    let logs = bridge.logs();
    for secret in [ADMIN_TOKEN, HMAC_KEY, SECRET_KEY, w.chatwoot.admin_token()] {
        assert!(!logs.contains(secret), "a secret in the logs");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sqlite_bad_input() {
    bad_input(Db::sqlite()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres_bad_input() {
    bad_input(Db::postgres()).await;
}
