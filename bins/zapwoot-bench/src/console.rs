//! The console case (SQLite): the operator console's overview with 50 instances and an event
//! log of 100,000 webhooks relayed — how long the page takes to answer, how heavy it is, and
//! what it costs the bridge.

use std::time::{Duration, Instant};

use anyhow::{Context as _, Result, bail};
use serde_json::{Value, json};

use crate::bridge::{ADMIN_TOKEN, Bridge};
use crate::fakes::{Endpoints, HMAC_KEY};
use crate::report::{percentiles, round};
use crate::traffic::{post_all, webhooks};

/// Instances on the overview.
const INSTANCES: usize = 50;

/// Overview loads measured.
const LOADS: usize = 50;

/// Runs the case with `events` webhooks in the log, on `database_url`.
pub(crate) async fn run(database_url: &str, fakes: &Endpoints, events: usize) -> Result<Value> {
    let bridge = Bridge::start(database_url, fakes).await?;
    let (_, bench) = bridge
        .admin(reqwest::Method::GET, "/instances/bench", None)
        .await?;
    let inbox = bench["chatwoot"]["inbox_id"]
        .as_u64()
        .context("the bench instance has no inbox")?;
    let docs: Vec<Value> = (1..INSTANCES)
        .map(|i| json!({
            "name": format!("client-{i:02}"),
            "gateway": { "kind": "wuzapi", "base_url": fakes.wuzapi, "token": fakes.wuzapi_token, "hmac_key": HMAC_KEY },
            "chatwoot": { "base_url": fakes.chatwoot, "account_id": fakes.account_id, "api_token": fakes.chatwoot_token, "inbox_id": inbox },
        }))
        .collect();
    for created in crate::idle::create_all(&bridge, &docs).await? {
        if created.0 != 201 {
            bail!("adding an instance: {}", created.1);
        }
    }
    eprintln!("  relaying {events} webhooks into the log");
    let hooks = webhooks("console", events, 1000).await?;
    let answers = post_all(&bridge.gateway_url, hooks, 64, None).await;
    let refused = answers.iter().filter(|a| !a.3).count();
    if refused > 0 {
        bail!("{refused} webhooks refused");
    }
    // Everything relayed (and Chatwoot's echoes recorded) before the page is timed.
    let relaying = Instant::now();
    bridge.wait_idle_within(Duration::from_secs(900)).await;
    eprintln!("  relayed in {:.0} s", relaying.elapsed().as_secs_f64());

    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()?;
    let cookie = sign_in(&http, &bridge.url).await?;
    let get = |path: &str| {
        http.get(format!("{}{path}", bridge.url))
            .header("cookie", &cookie)
            .send()
    };
    let css = get("/console/assets/console.css")
        .await?
        .bytes()
        .await?
        .len();
    let js = get("/console/assets/console.js")
        .await?
        .bytes()
        .await?
        .len();
    let cpu_before = bridge.cpu_seconds();
    let mut times = Vec::with_capacity(LOADS);
    let mut html = 0;
    for _ in 0..LOADS {
        let started = Instant::now();
        let response = get("/console").await?;
        if response.status() != 200 {
            bail!("the overview answered {}", response.status());
        }
        html = response.bytes().await?.len();
        times.push(started.elapsed().as_secs_f64() * 1000.0);
    }
    let cpu = bridge.cpu_seconds() - cpu_before;
    bridge.stop().await;
    Ok(json!({
        "instances": INSTANCES,
        "events": events,
        "first_overview_ms": round(times.first().copied().unwrap_or(0.0)),
        "overview_ms": percentiles(times),
        "overview_cpu_ms": round(cpu * 1000.0 / LOADS as f64),
        "html_bytes": html,
        "css_bytes": css,
        "js_bytes": js,
    }))
}

/// Signs in to the console; answers the session cookie.
async fn sign_in(http: &reqwest::Client, base: &str) -> Result<String> {
    let form = http.get(format!("{base}/console/login")).send().await?;
    let login = cookie_of(&form, "zw_login").context("no sign-in cookie")?;
    let csrf = login
        .split_once('=')
        .map(|(_, v)| v.to_owned())
        .unwrap_or_default();
    let signed = http
        .post(format!("{base}/console/login"))
        .header("cookie", &login)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("token={ADMIN_TOKEN}&csrf={csrf}"))
        .timeout(Duration::from_secs(30))
        .send()
        .await?;
    cookie_of(&signed, "zw_session").context("not signed in")
}

fn cookie_of(response: &reqwest::Response, name: &str) -> Option<String> {
    response
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with(&format!("{name}=")))
        .and_then(|v| v.split(';').next())
        .map(str::to_owned)
}
