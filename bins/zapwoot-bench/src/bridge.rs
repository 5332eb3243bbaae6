//! The bridge under test: the real `zapwoot` binary as a child process, configured through
//! its admin API; its memory and CPU read from `/proc`.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use anyhow::{Context as _, Result, bail};
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt as _, BufReader};
use tokio::process::{Child, Command};

use crate::fakes::{Endpoints, HMAC_KEY};

pub(crate) const ADMIN_TOKEN: &str = "bench-admin-token";
/// 32 bytes of 7, base64.
const SECRET_KEY: &str = "BwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwc=";

/// A running bridge.
pub(crate) struct Bridge {
    child: Child,
    /// The bridge's base URL.
    pub(crate) url: String,
    /// The gateway webhook URL of the benchmark instance.
    pub(crate) gateway_url: String,
}

/// The `zapwoot` binary built next to this one (`cargo build --release -p zapwoot`).
pub(crate) fn binary() -> Result<PathBuf> {
    let exe = std::env::current_exe()?;
    let path = exe.with_file_name(format!("zapwoot{}", std::env::consts::EXE_SUFFIX));
    if !path.exists() {
        bail!(
            "{} is missing: build it with `cargo build --release -p zapwoot -p zapwoot-bench` (scripts/bench.sh does)",
            path.display()
        );
    }
    Ok(path)
}

impl Bridge {
    /// Starts `zapwoot serve` on `database_url` and adds a wuzapi instance on the fakes.
    pub(crate) async fn start(database_url: &str, fakes: &Endpoints) -> Result<Self> {
        let port = std::net::TcpListener::bind("127.0.0.1:0")?
            .local_addr()?
            .port();
        let url = format!("http://127.0.0.1:{port}");
        let mut child = Command::new(binary()?)
            .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("ZAPWOOT_DATABASE_URL", database_url)
            .env("ZAPWOOT_SECRET_KEY", SECRET_KEY)
            .env("ZAPWOOT_ADMIN_TOKEN", ADMIN_TOKEN)
            .env("ZAPWOOT_PUBLIC_URL", &url)
            .env("ZAPWOOT_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .context("starting zapwoot")?;
        let stdout = child.stdout.take().context("no stdout")?;
        let mut lines = BufReader::new(stdout).lines();
        let ready = tokio::time::timeout(Duration::from_secs(60), async {
            while let Ok(Some(line)) = lines.next_line().await {
                if line.starts_with("zapwoot listening on") {
                    return true;
                }
            }
            false
        })
        .await;
        if !matches!(ready, Ok(true)) {
            bail!("zapwoot did not start");
        }
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        let http = crate::http_client();
        let doc = json!({
            "name": "bench",
            "gateway": { "kind": "wuzapi", "base_url": fakes.wuzapi, "token": fakes.wuzapi_token, "hmac_key": HMAC_KEY },
            "chatwoot": { "base_url": fakes.chatwoot, "account_id": fakes.account_id, "api_token": fakes.chatwoot_token },
            // The default per-instance Chatwoot budget protects a real Chatwoot; lift it to
            // measure the bridge.
            "options": { "chatwoot_rate_per_second": 100_000, "sign_agent_name": false },
        });
        let admin = |method: reqwest::Method, path: &str| {
            http.request(method, format!("{url}/api/v1{path}"))
                .bearer_auth(ADMIN_TOKEN)
        };
        let created = admin(reqwest::Method::POST, "/instances")
            .json(&doc)
            .send()
            .await?;
        if !created.status().is_success() {
            bail!("adding the instance: {}", created.text().await?);
        }
        let provisioned: Value = admin(reqwest::Method::POST, "/instances/bench/provision")
            .send()
            .await?
            .json()
            .await?;
        let gateway_url = provisioned["webhooks"]["gateway"]
            .as_str()
            .context("no webhook URL")?
            .to_owned();
        Ok(Self {
            child,
            url,
            gateway_url,
        })
    }

    /// Waits (up to a minute) until the bridge has no open event twice in a row, 200 ms
    /// apart: what earlier phases left behind (such as Chatwoot's `message_created` echoes of
    /// the messages just relayed) is processed before the next phase is timed.
    pub(crate) async fn wait_idle(&self) {
        self.wait_idle_within(Duration::from_secs(60)).await;
    }

    /// [`wait_idle`](Self::wait_idle) for up to `limit`.
    pub(crate) async fn wait_idle_within(&self, limit: Duration) {
        let http = crate::http_client();
        let deadline = std::time::Instant::now() + limit;
        let mut quiet = 0;
        while quiet < 2 && std::time::Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(200)).await;
            let metrics = match http
                .get(format!("{}/metrics", self.url))
                .bearer_auth(ADMIN_TOKEN)
                .send()
                .await
            {
                Ok(response) => response.text().await.unwrap_or_default(),
                Err(_) => continue,
            };
            let open: f64 = metrics
                .lines()
                .filter(|l| {
                    l.starts_with("zapwoot_events{")
                        && ["pending", "running", "failed"]
                            .iter()
                            .any(|s| l.contains(&format!("status=\"{s}\"")))
                })
                .filter_map(|l| l.rsplit_once(' ').and_then(|(_, v)| v.parse::<f64>().ok()))
                .sum();
            quiet = if open == 0.0 { quiet + 1 } else { 0 };
        }
    }

    /// A request to the admin API (`/api/v1` + `path`), with the token.
    pub(crate) fn admin_request(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<&Value>,
    ) -> reqwest::RequestBuilder {
        let request = self.unprefixed_request(method, &format!("/api/v1{path}"));
        match body {
            Some(body) => request.json(body),
            None => request,
        }
    }

    /// A request to `path` on the bridge, with the admin token.
    pub(crate) fn unprefixed_request(
        &self,
        method: reqwest::Method,
        path: &str,
    ) -> reqwest::RequestBuilder {
        crate::http_client()
            .request(method, format!("{}{path}", self.url))
            .bearer_auth(ADMIN_TOKEN)
    }

    /// Calls the admin API: status and JSON answer.
    pub(crate) async fn admin(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<&Value>,
    ) -> Result<(u16, Value)> {
        let response = self.admin_request(method, path, body).send().await?;
        let status = response.status().as_u16();
        Ok((status, response.json().await.unwrap_or(Value::Null)))
    }

    fn pid(&self) -> u32 {
        self.child.id().unwrap_or(0)
    }

    /// Resident memory now and at its peak, KiB.
    pub(crate) fn memory_kib(&self) -> (u64, u64) {
        let status =
            std::fs::read_to_string(format!("/proc/{}/status", self.pid())).unwrap_or_default();
        let field = |name: &str| {
            status
                .lines()
                .find_map(|l| l.strip_prefix(name))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
                .unwrap_or(0)
        };
        (field("VmRSS:"), field("VmHWM:"))
    }

    /// CPU seconds (user + system) used so far.
    pub(crate) fn cpu_seconds(&self) -> f64 {
        let stat =
            std::fs::read_to_string(format!("/proc/{}/stat", self.pid())).unwrap_or_default();
        // Fields after the command name (which may hold spaces): utime is the 14th field.
        let after = stat.rsplit_once(") ").map_or("", |(_, rest)| rest);
        let fields: Vec<&str> = after.split(' ').collect();
        let ticks = |i: usize| {
            fields
                .get(i)
                .and_then(|v| v.parse::<f64>().ok())
                .unwrap_or(0.0)
        };
        (ticks(11) + ticks(12)) / 100.0
    }

    /// Stops the bridge.
    pub(crate) async fn stop(mut self) {
        let _ = self.child.kill().await;
    }
}
