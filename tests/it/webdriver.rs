//! A tiny W3C WebDriver client over HTTP JSON: `chromedriver` as a child process on a free
//! port, one headless Chromium session, and the few commands the browser tests need.
//!
//! The binaries are Debian's: `/usr/bin/chromedriver` and `/usr/bin/chromium` (override with
//! the environment variables `CHROMEDRIVER` and `CHROMIUM`). Without them the tests fail
//! with a message saying what to install; they never pass silently.

use std::io::{Read as _, Write as _};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context as _};
use base64::Engine as _;
use serde_json::{json, Value};

/// The key W3C WebDriver gives an element reference under.
const ELEMENT_KEY: &str = "element-6066-11e4-a52e-4f735466cecf";

const INSTALL_HINT: &str = "install Debian's `chromium chromium-driver` \
     (apt-get install -y --no-install-recommends chromium chromium-driver), \
     or point CHROMIUM / CHROMEDRIVER at the binaries";

/// How long `wait_for`, `wait_for_path` and `click_to_navigate` wait.
pub const WAIT: Duration = Duration::from_secs(10);

/// A reference to an element of the current page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Element(pub String);

/// An error chromedriver answered: its W3C error code ("no such element") and message.
#[derive(Debug)]
pub struct WebDriverError {
    pub code: String,
    pub message: String,
}

impl std::fmt::Display for WebDriverError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.code, self.message)
    }
}

impl std::error::Error for WebDriverError {}

/// A running chromedriver with one browser session. Dropping it ends the session and
/// kills chromedriver; `close` does the same and reports errors.
pub struct Browser {
    driver: Child,
    port: u16,
    session: Option<String>,
    http: reqwest::Client,
    log: tempfile::TempDir,
}

/// The binary named by `variable`, else `default` if it exists, else `name` on `PATH`.
fn binary(variable: &str, default: &str, name: &str) -> anyhow::Result<PathBuf> {
    if let Some(path) = std::env::var_os(variable) {
        let path = PathBuf::from(path);
        if path.is_file() {
            return Ok(path);
        }
        bail!(
            "{variable}={} does not exist: {INSTALL_HINT}",
            path.display()
        );
    }
    if Path::new(default).is_file() {
        return Ok(default.into());
    }
    std::env::var_os("PATH")
        .iter()
        .flat_map(std::env::split_paths)
        .map(|dir| dir.join(name))
        .find(|path| path.is_file())
        .ok_or_else(|| {
            anyhow!("`{name}` is not installed (no {default}, none on PATH): {INSTALL_HINT}")
        })
}

fn free_port() -> anyhow::Result<u16> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").context("no free port")?;
    Ok(listener.local_addr()?.port())
}

impl Browser {
    /// Starts chromedriver, waits until it is ready, and opens a headless Chromium
    /// session with a phone-sized window (390 × 844) in Thai. Headless Chromium keeps a
    /// window at least 500 px wide whatever `--window-size` says, so the 390 px viewport
    /// comes from chromedriver's mobile emulation.
    pub async fn start() -> anyhow::Result<Self> {
        let chromedriver = binary("CHROMEDRIVER", "/usr/bin/chromedriver", "chromedriver")?;
        let chromium = binary("CHROMIUM", "/usr/bin/chromium", "chromium")?;
        let port = free_port()?;
        let log = tempfile::tempdir()?;
        let driver = Command::new(&chromedriver)
            .arg(format!("--port={port}"))
            .arg(format!(
                "--log-path={}",
                log.path().join("chromedriver.log").display()
            ))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .with_context(|| format!("cannot start {}: {INSTALL_HINT}", chromedriver.display()))?;
        let http = reqwest::Client::builder()
            .no_proxy()
            .timeout(Duration::from_secs(60))
            .build()?;
        let mut browser = Self {
            driver,
            port,
            session: None,
            http,
            log,
        };
        browser.wait_until_ready().await?;
        let capabilities = json!({
            "capabilities": { "alwaysMatch": {
                "browserName": "chrome",
                "goog:chromeOptions": {
                    "binary": chromium,
                    "args": [
                        "--headless=new", "--no-sandbox", "--disable-gpu",
                        "--disable-dev-shm-usage", "--window-size=390,844", "--lang=th",
                    ],
                    "mobileEmulation": { "deviceMetrics": {
                        "width": 390, "height": 844, "pixelRatio": 1.0,
                    }},
                    "prefs": { "intl.accept_languages": "th-TH,th" },
                },
            }}
        });
        let created = browser
            .command(reqwest::Method::POST, "/session", Some(capabilities))
            .await
            .with_context(|| {
                format!(
                    "chromedriver could not start {}; its log: {}",
                    chromium.display(),
                    browser.log_tail()
                )
            })?;
        let session = created["sessionId"]
            .as_str()
            .ok_or_else(|| anyhow!("no sessionId in {created}"))?;
        browser.session = Some(session.to_owned());
        Ok(browser)
    }

    async fn wait_until_ready(&mut self) -> anyhow::Result<()> {
        let started = Instant::now();
        let mut last = String::new();
        while started.elapsed() < Duration::from_secs(15) {
            if let Some(status) = self.driver.try_wait()? {
                bail!(
                    "chromedriver exited at start ({status}); its log: {}",
                    self.log_tail()
                );
            }
            match self.command(reqwest::Method::GET, "/status", None).await {
                Ok(value) if value["ready"] == json!(true) => return Ok(()),
                Ok(value) => last = value.to_string(),
                Err(error) => last = format!("{error:#}"),
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        bail!("chromedriver on port {} never got ready: {last}", self.port)
    }

    fn log_tail(&self) -> String {
        let log =
            std::fs::read_to_string(self.log.path().join("chromedriver.log")).unwrap_or_default();
        let lines: Vec<&str> = log.lines().collect();
        lines[lines.len().saturating_sub(20)..].join("\n")
    }

    /// Sends one command; returns its `value`, or the WebDriver error as an error.
    async fn command(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> anyhow::Result<Value> {
        let url = format!("http://127.0.0.1:{}{path}", self.port);
        let mut request = self.http.request(method.clone(), &url);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request
            .send()
            .await
            .with_context(|| format!("{method} {path}: chromedriver unreachable"))?;
        let status = response.status();
        let text = response.text().await?;
        let answer: Value = serde_json::from_str(&text)
            .with_context(|| format!("{method} {path}: HTTP {status}, not JSON: {text}"))?;
        let value = answer["value"].clone();
        if !status.is_success() || value.get("error").is_some_and(Value::is_string) {
            let error = WebDriverError {
                code: value["error"].as_str().unwrap_or("?").to_owned(),
                message: value["message"].as_str().unwrap_or(&text).to_owned(),
            };
            return Err(
                anyhow::Error::new(error).context(format!("{method} {path}: HTTP {status}"))
            );
        }
        Ok(value)
    }

    fn session_path(&self, rest: &str) -> anyhow::Result<String> {
        let session = self.session.as_deref().context("the session is closed")?;
        Ok(format!("/session/{session}{rest}"))
    }

    async fn get(&self, rest: &str) -> anyhow::Result<Value> {
        let path = self.session_path(rest)?;
        self.command(reqwest::Method::GET, &path, None).await
    }

    async fn post(&self, rest: &str, body: Value) -> anyhow::Result<Value> {
        let path = self.session_path(rest)?;
        self.command(reqwest::Method::POST, &path, Some(body)).await
    }

    fn string(value: Value, what: &str) -> anyhow::Result<String> {
        value
            .as_str()
            .map(str::to_owned)
            .ok_or_else(|| anyhow!("{what}: expected a string, got {value}"))
    }

    /// Opens `url` and waits until it has loaded.
    pub async fn goto(&self, url: &str) -> anyhow::Result<()> {
        self.post("/url", json!({ "url": url }))
            .await
            .with_context(|| format!("going to {url}"))?;
        Ok(())
    }

    pub async fn current_url(&self) -> anyhow::Result<String> {
        Self::string(self.get("/url").await?, "current URL")
    }

    pub async fn page_source(&self) -> anyhow::Result<String> {
        Self::string(self.get("/source").await?, "page source")
    }

    /// The first element matching the CSS selector `css`, now.
    pub async fn find(&self, css: &str) -> anyhow::Result<Element> {
        let value = self
            .post("/element", json!({ "using": "css selector", "value": css }))
            .await
            .with_context(|| format!("finding `{css}`"))?;
        let id = value[ELEMENT_KEY]
            .as_str()
            .ok_or_else(|| anyhow!("finding `{css}`: no element reference in {value}"))?;
        Ok(Element(id.to_owned()))
    }

    /// Every element matching `css` (none is not an error).
    pub async fn find_all(&self, css: &str) -> anyhow::Result<Vec<Element>> {
        let value = self
            .post(
                "/elements",
                json!({ "using": "css selector", "value": css }),
            )
            .await
            .with_context(|| format!("finding all `{css}`"))?;
        value
            .as_array()
            .ok_or_else(|| anyhow!("finding all `{css}`: {value}"))?
            .iter()
            .map(|reference| {
                reference[ELEMENT_KEY]
                    .as_str()
                    .map(|id| Element(id.to_owned()))
                    .ok_or_else(|| anyhow!("finding all `{css}`: bad reference {reference}"))
            })
            .collect()
    }

    /// Polls for `css` for up to `WAIT`; the error names the page it was looking at.
    pub async fn wait_for(&self, css: &str) -> anyhow::Result<Element> {
        let started = Instant::now();
        loop {
            match self.find(css).await {
                Ok(element) => return Ok(element),
                Err(error) if started.elapsed() >= WAIT => {
                    let url = self.current_url().await.unwrap_or_default();
                    return Err(
                        error.context(format!("`{css}` did not appear within {WAIT:?} on {url}"))
                    );
                }
                Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
            }
        }
    }

    /// Polls for up to `WAIT` until the current URL's path is `path`.
    pub async fn wait_for_path(&self, path: &str) -> anyhow::Result<String> {
        let started = Instant::now();
        loop {
            let url = self.current_url().await?;
            let here = url
                .split_once("://")
                .and_then(|(_, rest)| rest.find('/').map(|at| &rest[at..]))
                .unwrap_or("/");
            let here = here.split(['?', '#']).next().unwrap_or(here);
            if here == path {
                return Ok(url);
            }
            if started.elapsed() >= WAIT {
                bail!("still on {url} after {WAIT:?}, expected the path {path}");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    fn element_path(element: &Element, rest: &str) -> String {
        format!("/element/{}{rest}", element.0)
    }

    pub async fn click(&self, element: &Element) -> anyhow::Result<()> {
        self.post(&Self::element_path(element, "/click"), json!({}))
            .await?;
        Ok(())
    }

    /// Clicks `element` and waits (up to `WAIT`) until the page it was on has been
    /// replaced by another that has loaded: a form posted, a link followed. Checking the
    /// URL alone is not enough when a form redirects back to the page it is on; the old
    /// page is marked with a variable the new one does not have.
    pub async fn click_to_navigate(&self, element: &Element) -> anyhow::Result<()> {
        self.execute("window.__webdriverOldPage = true;", vec![])
            .await?;
        self.click(element).await?;
        let started = Instant::now();
        loop {
            // While the page changes, chromedriver may answer with transient errors.
            let now = self
                .execute(
                    "return window.__webdriverOldPage ? 'old' : document.readyState;",
                    vec![],
                )
                .await;
            let last = match now {
                Ok(state) if state == json!("complete") => return Ok(()),
                Ok(state) => format!("the page is {state}"),
                Err(error) => format!("{error:#}"),
            };
            if started.elapsed() >= WAIT {
                let url = self.current_url().await.unwrap_or_default();
                bail!("no new page loaded within {WAIT:?} of the click ({url}): {last}");
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Types `text` into a field (after what it already holds).
    pub async fn type_into(&self, element: &Element, text: &str) -> anyhow::Result<()> {
        self.post(
            &Self::element_path(element, "/value"),
            json!({ "text": text }),
        )
        .await?;
        Ok(())
    }

    /// The element's rendered text.
    pub async fn text_of(&self, element: &Element) -> anyhow::Result<String> {
        Self::string(
            self.get(&Self::element_path(element, "/text")).await?,
            "element text",
        )
    }

    /// The attribute `name`, or `None` when the element has none.
    pub async fn attribute(&self, element: &Element, name: &str) -> anyhow::Result<Option<String>> {
        let value = self
            .get(&Self::element_path(element, &format!("/attribute/{name}")))
            .await?;
        Ok(value.as_str().map(str::to_owned))
    }

    /// Chooses the `<option value="…">` of the `<select>` matching `select_css`, by
    /// clicking it as a person would.
    pub async fn select_option(&self, select_css: &str, value: &str) -> anyhow::Result<()> {
        let option = self
            .find(&format!("{select_css} option[value=\"{value}\"]"))
            .await?;
        self.click(&option).await?;
        let selected = self.find(select_css).await?;
        let now = self
            .get(&Self::element_path(&selected, "/property/value"))
            .await?;
        if now != json!(value) {
            bail!("`{select_css}` shows {now} after choosing {value:?}");
        }
        Ok(())
    }

    /// Runs `script` (a function body) in the page; returns what it returns.
    pub async fn execute(&self, script: &str, args: Vec<Value>) -> anyhow::Result<Value> {
        self.post("/execute/sync", json!({ "script": script, "args": args }))
            .await
    }

    /// Saves a PNG of the viewport to `path`, creating its directories.
    pub async fn screenshot(&self, path: &Path) -> anyhow::Result<()> {
        let encoded = Self::string(self.get("/screenshot").await?, "screenshot")?;
        let png = base64::engine::general_purpose::STANDARD
            .decode(encoded.as_bytes())
            .context("the screenshot is not base64")?;
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        std::fs::write(path, png).with_context(|| format!("writing {}", path.display()))
    }

    /// Ends the session (the browser quits); chromedriver is killed on drop.
    pub async fn close(mut self) -> anyhow::Result<()> {
        if let Some(session) = self.session.take() {
            self.command(
                reqwest::Method::DELETE,
                &format!("/session/{session}"),
                None,
            )
            .await?;
        }
        Ok(())
    }

    /// `DELETE /session/{id}` over a plain socket: `Drop` cannot await.
    fn delete_session_blocking(&self, session: &str) -> std::io::Result<()> {
        let mut stream = std::net::TcpStream::connect(("127.0.0.1", self.port))?;
        stream.set_read_timeout(Some(Duration::from_secs(10)))?;
        write!(
            stream,
            "DELETE /session/{session} HTTP/1.1\r\nHost: 127.0.0.1:{}\r\n\
             Content-Length: 0\r\nConnection: close\r\n\r\n",
            self.port
        )?;
        let mut answer = Vec::new();
        stream.read_to_end(&mut answer).map(drop)
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        if let Some(session) = self.session.take() {
            let _ = self.delete_session_blocking(&session);
        }
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}
