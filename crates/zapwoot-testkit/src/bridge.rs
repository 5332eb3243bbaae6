//! [`Bridge`]: the real `zapwoot` binary as a child process, its logs captured, configured
//! through the admin API only, driven by the fakes over loopback.

use std::io::{BufRead as _, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex, Once};
use std::time::Duration;

use serde_json::{Value, json};

use crate::{ADMIN_TOKEN, Db, HMAC_KEY, OWN, SECRET_KEY};

/// The `zapwoot` binary of this build: `target/<profile>/zapwoot`, next to the test
/// executable's `deps/` folder (cargo builds it for `bins/zapwoot`'s own tests).
pub fn zapwoot_binary() -> std::path::PathBuf {
    if let Ok(path) = std::env::var("ZAPWOOT_BINARY") {
        return path.into();
    }
    let exe = std::env::current_exe().unwrap();
    let profile_dir = exe
        .parent()
        .and_then(std::path::Path::parent)
        .expect("test executables live in target/<profile>/deps");
    let binary = profile_dir.join(format!("zapwoot{}", std::env::consts::EXE_SUFFIX));
    assert!(
        binary.exists(),
        "{} is missing: run the suite with the workspace (scripts/test.sh) or `cargo test -p zapwoot -p zapwoot-reliability`",
        binary.display()
    );
    binary
}

/// The running binary.
#[derive(Debug)]
pub struct Bridge {
    child: Child,
    pub url: String,
    logs: Arc<Mutex<String>>,
    pub http: reqwest::Client,
}

pub fn http_client() -> reqwest::Client {
    static PROVIDER: Once = Once::new();
    PROVIDER.call_once(|| {
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
    reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap()
}

impl Bridge {
    /// Starts `zapwoot serve` on a free port over `db`.
    pub fn start(db: &Db) -> Self {
        Self::start_with(db, &[])
    }

    pub fn start_with(db: &Db, extra_env: &[(&str, &str)]) -> Self {
        Self::start_args(db, extra_env, &["serve", "--listen", "127.0.0.1:0"])
    }

    pub fn start_args(db: &Db, extra_env: &[(&str, &str)], args: &[&str]) -> Self {
        let mut command = Command::new(zapwoot_binary());
        command
            .args(args)
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("ZAPWOOT_DATABASE_URL", db.url())
            .env("ZAPWOOT_SECRET_KEY", SECRET_KEY)
            .env("ZAPWOOT_ADMIN_TOKEN", ADMIN_TOKEN)
            .env("ZAPWOOT_LOG", "debug")
            .env("ZAPWOOT_LOG_FORMAT", "json")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for (k, v) in extra_env {
            command.env(k, v);
        }
        let mut child = command.spawn().unwrap();
        let logs = Arc::new(Mutex::new(String::new()));
        let stderr = child.stderr.take().unwrap();
        let sink = Arc::clone(&logs);
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                let mut logs = sink.lock().unwrap();
                logs.push_str(&line);
                logs.push('\n');
            }
        });
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        let sink = Arc::clone(&logs);
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Some(url) = line.strip_prefix("zapwoot listening on ") {
                    let _ = tx.send(url.to_owned());
                }
                let mut logs = sink.lock().unwrap();
                logs.push_str(&line);
                logs.push('\n');
            }
        });
        let url = rx
            .recv_timeout(Duration::from_secs(60))
            .unwrap_or_else(|_| panic!("the bridge did not start: {}", logs.lock().unwrap()));
        Self {
            child,
            url,
            logs,
            http: http_client(),
        }
    }

    pub fn logs(&self) -> String {
        self.logs.lock().unwrap().clone()
    }

    /// The process id.
    #[allow(
        dead_code,
        reason = "the reliability suite's soak reads the bridge's memory"
    )]
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// SIGTERM, then waits for the exit status.
    pub fn terminate(mut self) -> (std::process::ExitStatus, String) {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                std::thread::sleep(Duration::from_millis(100));
                return (status, self.logs());
            }
            assert!(
                std::time::Instant::now() < deadline,
                "the bridge did not stop within 30 s"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// SIGKILL: no shutdown at all, like a crash or an OOM kill.
    pub fn kill(mut self) -> String {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
        std::thread::sleep(Duration::from_millis(100));
        self.logs()
    }

    /// An admin API call; returns status and JSON body (`Null` when not JSON).
    pub async fn admin(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<&Value>,
    ) -> (u16, Value) {
        let mut request = self
            .http
            .request(method, format!("{}/api/v1{path}", self.url))
            .bearer_auth(ADMIN_TOKEN);
        if let Some(body) = body {
            request = request.json(body);
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        let text = response.text().await.unwrap();
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    /// Every event the admin API lists (newest first).
    pub async fn events(&self) -> Vec<Value> {
        let (status, body) = self
            .admin(reqwest::Method::GET, "/events?limit=500", None)
            .await;
        assert_eq!(status, 200, "{body}");
        body["events"].as_array().unwrap().clone()
    }

    /// Events that came from the gateway (Chatwoot's echoes of the bridge's own messages are
    /// recorded too, at their own pace).
    pub async fn inbound_events(&self) -> Vec<Value> {
        let (status, body) = self
            .admin(
                reqwest::Method::GET,
                "/events?limit=500&direction=inbound",
                None,
            )
            .await;
        assert_eq!(status, 200, "{body}");
        body["events"].as_array().unwrap().clone()
    }

    /// Polls `check` until it holds (30 s).
    pub async fn eventually(&self, what: &str, check: impl FnMut() -> bool) {
        self.eventually_within(what, Duration::from_secs(30), check)
            .await;
    }

    /// Polls `check` until it holds, at most `limit`.
    pub async fn eventually_within(
        &self,
        what: &str,
        limit: Duration,
        mut check: impl FnMut() -> bool,
    ) {
        crate::wait_until(
            tokio::time::Instant::now() + limit,
            || format!("timed out waiting for: {what}\nlogs:\n{}", self.logs()),
            &mut check,
        )
        .await;
    }
}

impl Bridge {
    /// Waits until the bridge is idle: no event pending, running or waiting for a retry, and
    /// no outbound delivery open (at most 120 s). Assert "exactly once" after this, never after
    /// a fixed sleep: whatever the bridge was still going to do has been done.
    pub async fn wait_idle(&self) {
        self.wait_idle_within(Duration::from_secs(120)).await;
    }

    /// [`wait_idle`](Self::wait_idle) with a limit.
    pub async fn wait_idle_within(&self, limit: Duration) {
        let deadline = tokio::time::Instant::now() + limit;
        // Statuses are read one after the other: an event that finishes between two reads
        // may queue another one after its status was read. Two clean passes in a row leave
        // no such gap.
        let mut clean = 0;
        while clean < 2 {
            match self.open_work().await {
                None => clean += 1,
                Some(what) => {
                    clean = 0;
                    assert!(
                        tokio::time::Instant::now() < deadline,
                        "the bridge did not become idle: {what}\nlogs:\n{}",
                        self.logs()
                    );
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            }
        }
    }

    /// What is still open (an event or delivery status), or `None` when nothing is.
    async fn open_work(&self) -> Option<String> {
        for status in ["pending", "running", "failed"] {
            let (code, body) = self
                .admin(
                    reqwest::Method::GET,
                    &format!("/events?status={status}&limit=1"),
                    None,
                )
                .await;
            if code != 200 {
                return Some(format!("GET /events answered {code}"));
            }
            if body["events"].as_array().is_none_or(|e| !e.is_empty()) {
                return Some(format!("an event is {status}"));
            }
        }
        let (code, subscriptions) = self
            .admin(reqwest::Method::GET, "/subscriptions", None)
            .await;
        if code != 200 {
            return Some(format!("GET /subscriptions answered {code}"));
        }
        for subscription in subscriptions["subscriptions"]
            .as_array()
            .into_iter()
            .flatten()
        {
            let id = &subscription["id"];
            for state in ["pending", "running", "failed"] {
                let (code, body) = self
                    .admin(
                        reqwest::Method::GET,
                        &format!("/subscriptions/{id}/deliveries?state={state}&limit=1"),
                        None,
                    )
                    .await;
                if code != 200 {
                    return Some(format!("GET deliveries answered {code}"));
                }
                if body["deliveries"].as_array().is_none_or(|d| !d.is_empty()) {
                    return Some(format!("a delivery of subscription {id} is {state}"));
                }
            }
        }
        None
    }

    /// Polls `probe` until it yields a value, at most 30 s.
    pub async fn eventually_value<T, F, Fut>(&self, what: &str, mut probe: F) -> T
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Option<T>>,
    {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(value) = probe().await {
                return value;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "timed out waiting for: {what}\nlogs:\n{}",
                self.logs()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

impl Drop for Bridge {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A wuzapi instance document for the fakes.
pub fn wuzapi_doc(
    name: &str,
    wuzapi: &zapwoot_fakes::FakeWuzapi,
    chatwoot: &zapwoot_fakes::FakeChatwoot,
) -> Value {
    json!({
        "name": name,
        "gateway": { "kind": "wuzapi", "base_url": wuzapi.url(), "token": wuzapi.token(), "hmac_key": HMAC_KEY },
        "chatwoot": { "base_url": chatwoot.url(), "account_id": chatwoot.account_id(), "api_token": chatwoot.admin_token() },
        "options": { "sign_agent_name": false },
    })
}

/// A GOWA instance document for the fakes (device = the fake's one device).
pub fn gowa_doc(
    name: &str,
    gowa: &zapwoot_fakes::FakeGowa,
    chatwoot: &zapwoot_fakes::FakeChatwoot,
) -> Value {
    json!({
        "name": name,
        "gateway": { "kind": "gowa", "base_url": gowa.url(), "basic_auth": { "username": "admin", "password": "gowa-password" },
                     "webhook_secret": "secret", "device_id": OWN },
        "chatwoot": { "base_url": chatwoot.url(), "account_id": chatwoot.account_id(), "api_token": chatwoot.admin_token() },
        "options": { "sign_agent_name": false },
    })
}

/// Runs a one-shot `zapwoot` command on `db` (the environment `serve` gets); returns exit
/// success, stdout and stderr.
pub fn cli(db: &Db, args: &[&str]) -> (bool, String, String) {
    let output = Command::new(zapwoot_binary())
        .args(args)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("ZAPWOOT_DATABASE_URL", db.url())
        .env("ZAPWOOT_SECRET_KEY", SECRET_KEY)
        .output()
        .unwrap();
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// Creates and provisions an instance through the admin API; returns the provisioned document.
pub async fn add_instance(bridge: &Bridge, doc: &Value) -> Value {
    let (status, created) = bridge
        .admin(reqwest::Method::POST, "/instances", Some(doc))
        .await;
    assert_eq!(status, 201, "{created}");
    let name = doc["name"].as_str().unwrap();
    let (status, provisioned) = bridge
        .admin(
            reqwest::Method::POST,
            &format!("/instances/{name}/provision"),
            None,
        )
        .await;
    assert_eq!(status, 200, "{provisioned}");
    assert_eq!(provisioned["running"], json!(true), "{provisioned}");
    provisioned
}
