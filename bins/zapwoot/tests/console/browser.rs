//! Debian's Chromium, headless, driven over WebDriver by its chromedriver: one browser (and
//! driver process) per test, on a profile of its own.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use fantoccini::{Client, ClientBuilder, Locator, elements::Element};
use serde_json::{Value, json};

/// At most two browsers at once: the suite runs on 2-core machines.
static SLOTS: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(2);

const WAIT: Duration = Duration::from_secs(30);

fn find(env: &str, candidates: &[&str]) -> PathBuf {
    if let Ok(path) = std::env::var(env) {
        return PathBuf::from(path);
    }
    candidates
        .iter()
        .map(PathBuf::from)
        .find(|p| p.exists())
        .unwrap_or_else(|| {
            panic!(
                "the console tests need Chromium and chromedriver (Debian: apt-get install chromium chromium-driver; \
                 scripts/test.sh installs them), or {env} set"
            )
        })
}

/// A headless browser on the console at `base`.
pub struct Browser {
    pub client: Client,
    pub base: String,
    driver: Child,
    profile: PathBuf,
    _slot: tokio::sync::SemaphorePermit<'static>,
}

impl Browser {
    pub async fn start(base: &str) -> Self {
        let slot = SLOTS.acquire().await.unwrap();
        let driver_path = find("ZAPWOOT_CHROMEDRIVER", &["/usr/bin/chromedriver"]);
        let chromium = find("ZAPWOOT_CHROMIUM", &["/usr/bin/chromium"]);
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut driver = Command::new(driver_path)
            .arg(format!("--port={port}"))
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        // It says so once it listens.
        let stdout = driver.stdout.take().unwrap();
        let (started, listening) = tokio::sync::oneshot::channel();
        std::thread::spawn(move || {
            use std::io::BufRead as _;
            let mut lines = std::io::BufReader::new(stdout).lines();
            let up = lines
                .by_ref()
                .map_while(Result::ok)
                .any(|l| l.contains("started successfully"));
            let _ = started.send(up);
            // Keep draining, so the driver never blocks on a full pipe.
            lines.for_each(drop);
        });
        let up = tokio::time::timeout(WAIT, listening).await;
        assert!(matches!(up, Ok(Ok(true))), "chromedriver did not start");
        let profile =
            std::env::temp_dir().join(format!("zapwoot-chromium-{}-{port}", std::process::id()));
        let caps = json!({
            "goog:chromeOptions": {
                "binary": chromium,
                "args": [
                    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                    "--disable-quic", "--no-first-run", "--disable-background-networking",
                    "--disable-component-update", "--disable-sync", "--window-size=1280,900",
                    format!("--user-data-dir={}", profile.display()),
                ],
            }
        });
        let Value::Object(caps) = caps else {
            unreachable!()
        };
        let url = format!("http://127.0.0.1:{port}");
        let client = ready(&url, caps).await;
        Self {
            client,
            base: base.to_owned(),
            driver,
            profile,
            _slot: slot,
        }
    }

    pub async fn goto(&self, path: &str) {
        self.client
            .goto(&format!("{}{path}", self.base))
            .await
            .unwrap();
    }

    /// The first element matching `css`, waiting for it.
    pub async fn el(&self, css: &str) -> Element {
        self.client
            .wait()
            .at_most(WAIT)
            .for_element(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("no element {css}: {e}"))
    }

    /// Waits (up to 30 s) until the JavaScript expression `condition` holds. It is polled in
    /// the page, a second at a time, so a page that reloads meanwhile is simply asked again.
    pub async fn until(&self, condition: &str) {
        let script = format!(
            "const done = arguments[arguments.length - 1];\n\
             const check = () => {{ try {{ return !!({condition}); }} catch (e) {{ return false; }} }};\n\
             if (check()) {{ done(true); return; }}\n\
             const started = Date.now();\n\
             const t = setInterval(() => {{\n\
               if (check()) {{ clearInterval(t); done(true); }}\n\
               else if (Date.now() - started > 1000) {{ clearInterval(t); done(false); }}\n\
             }}, 50);"
        );
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            // An error here is a page that went away mid-check (a reload): ask the new one.
            if let Ok(Value::Bool(true)) = self.client.execute_async(&script, Vec::new()).await {
                return;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "never true in the page: {condition}\npage: {}",
                self.source().await
            );
        }
    }

    /// Waits until the element `css` contains `text`.
    pub async fn text_in(&self, css: &str, text: &str) {
        self.until(&format!(
            "(document.querySelector({}) || {{}}).textContent.includes({})",
            json!(css),
            json!(text)
        ))
        .await;
    }

    pub async fn fill(&self, css: &str, value: &str) {
        let field = self.el(css).await;
        field.clear().await.unwrap();
        field.send_keys(value).await.unwrap();
    }

    pub async fn click(&self, css: &str) {
        self.el(css).await.click().await.unwrap();
    }

    pub async fn source(&self) -> String {
        self.client.source().await.unwrap()
    }

    pub async fn js(&self, script: &str) -> Value {
        self.client.execute(script, Vec::new()).await.unwrap()
    }

    pub async fn js_async(&self, script: &str) -> Value {
        self.client.execute_async(script, Vec::new()).await.unwrap()
    }

    /// Saves a screenshot as `NAME.png` in the test's target directory, and in
    /// `ZAPWOOT_CONSOLE_SCREENSHOTS` when set (`docs/console` holds the committed ones).
    pub async fn screenshot(&self, name: &str) {
        self.js("window.scrollTo(0, 0); return true;").await;
        self.save_screenshot(name).await;
    }

    /// [`screenshot`](Self::screenshot) with the element `css` scrolled into view.
    pub async fn screenshot_at(&self, name: &str, css: &str) {
        self.js(&format!(
            "document.querySelector({}).scrollIntoView({{ block: 'center' }}); return true;",
            json!(css)
        ))
        .await;
        self.save_screenshot(name).await;
    }

    async fn save_screenshot(&self, name: &str) {
        let png = self.client.screenshot().await.unwrap();
        let mut dirs = vec![PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("console")];
        if let Ok(dir) = std::env::var("ZAPWOOT_CONSOLE_SCREENSHOTS") {
            dirs.push(PathBuf::from(dir));
        }
        for dir in dirs {
            std::fs::create_dir_all(&dir).unwrap();
            std::fs::write(dir.join(format!("{name}.png")), &png).unwrap();
        }
    }

    /// Whether the page is wider than the window (a horizontal scroll).
    pub async fn scrolls_sideways(&self) -> bool {
        self.js(
            "return document.documentElement.scrollWidth > document.documentElement.clientWidth;",
        )
        .await
        .as_bool()
        .unwrap()
    }

    pub async fn close(mut self) {
        let _ = self.client.clone().close().await;
        let _ = self.driver.kill();
        let _ = self.driver.wait();
        let _ = std::fs::remove_dir_all(&self.profile);
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

/// A WebDriver session, once the driver accepts one.
async fn ready(url: &str, caps: serde_json::Map<String, Value>) -> Client {
    let mut last = None;
    // The driver has said it listens; a session may still take a few tries while Chromium
    // starts.
    for _ in 0..5 {
        let connector = hyper_util::client::legacy::connect::HttpConnector::new();
        match ClientBuilder::new(connector)
            .capabilities(caps.clone())
            .connect(url)
            .await
        {
            Ok(c) => {
                // Scripts answer within a second or two (`until` polls in short rounds).
                c.update_timeouts(fantoccini::wd::TimeoutConfiguration::new(
                    Some(Duration::from_secs(5)),
                    Some(WAIT),
                    Some(Duration::ZERO),
                ))
                .await
                .unwrap();
                return c;
            }
            Err(e) => last = Some(e),
        }
    }
    panic!("no WebDriver session: {last:?}");
}
