//! The dashboard in a real browser: headless Chromium driven through chromedriver (WebDriver).
//! `.ci/run` installs Debian's `chromium` and `chromium-driver`.

// The driver's setup failing is the test failing.
#![allow(clippy::unwrap_used)]

mod common;

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use common::TestServer;
use fantoccini::{Client, ClientBuilder, Locator};
use hyper_util::client::legacy::connect::HttpConnector;
use serde_json::json;

/// chromedriver on a free loopback port, stopped on drop.
struct Driver {
    child: Child,
    url: String,
}

impl Driver {
    async fn start() -> Driver {
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut child = Command::new("chromedriver")
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver must be installed (Debian package chromium-driver)");
        let url = format!("http://127.0.0.1:{port}");
        for _ in 0..100 {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return Driver { child, url };
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let _ = child.kill();
        let _ = child.wait();
        panic!("chromedriver did not start on port {port}");
    }

    async fn browser(&self) -> Client {
        let mut caps = serde_json::Map::new();
        caps.insert(
            "goog:chromeOptions".into(),
            json!({
                "binary": "/usr/bin/chromium",
                // This machine's network is closed: no background connections, no sandbox as root.
                "args": ["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                    "--disable-quic", "--no-first-run", "--disable-background-networking",
                    "--disable-component-update", "--disable-sync"]
            }),
        );
        ClientBuilder::new(HttpConnector::new())
            .capabilities(caps)
            .connect(&self.url)
            .await
            .unwrap()
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// How long a page may take to show what the test waits for; generous because CI shares two
/// cores between the browser, the server and other test binaries.
const PAGE_TIMEOUT: Duration = Duration::from_secs(20);

/// Waits until the first element matching `css` shows text that `expected` accepts, and returns
/// that text. Clicking a submit button returns before the next page has loaded, so every check
/// after a navigation waits instead of reading once.
async fn wait_for_text(browser: &Client, css: &str, expected: impl Fn(&str) -> bool) -> String {
    let deadline = tokio::time::Instant::now() + PAGE_TIMEOUT;
    let mut last = String::new();
    loop {
        if let Ok(element) = browser.find(Locator::Css(css)).await
            && let Ok(text) = element.text().await
        {
            if expected(&text) {
                return text;
            }
            last = text;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "`{css}` never showed the expected text; last seen: {last:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Waits until the browser is on a page whose path `expected` accepts.
async fn wait_for_path(browser: &Client, expected: impl Fn(&str) -> bool) {
    let deadline = tokio::time::Instant::now() + PAGE_TIMEOUT;
    loop {
        let path = browser.current_url().await.unwrap().path().to_owned();
        if expected(&path) {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the browser never reached the expected page; it is on {path}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_in_start_a_process_complete_a_step_and_watch_it_move_on() {
    let server = TestServer::start().await;
    let driver = Driver::start().await;
    let browser = driver.browser().await;

    browser.goto(&format!("{}/", server.url)).await.unwrap();
    wait_for_path(&browser, |path| path.ends_with("/login")).await;
    browser
        .find(Locator::Css("input[name=token]"))
        .await
        .unwrap()
        .send_keys(&server.tokens["j.becker"])
        .await
        .unwrap();
    browser
        .find(Locator::Css("button[type=submit]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_for_text(&browser, "h1", |text| text == "My due steps").await;
    wait_for_text(&browser, "nav", |text| text.contains("Jonas Becker")).await;

    browser
        .find(Locator::Css("select[name=template]"))
        .await
        .unwrap()
        .select_by_value("seller_acquisition")
        .await
        .unwrap();
    for (field, value) in [("property", "P3"), ("address", "A1")] {
        browser
            .find(Locator::Css(&format!("input[name={field}]")))
            .await
            .unwrap()
            .send_keys(value)
            .await
            .unwrap();
    }
    browser
        .find(Locator::Css("form[action='/ui/start'] button"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_for_path(&browser, |path| path == "/processes/1").await;
    wait_for_text(&browser, "#status", |text| text == "running due").await;
    wait_for_text(&browser, "#steps", |text| text.contains("intro_mail")).await;

    browser
        .find(Locator::Css("#steps form[action='/ui/complete'] button"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_for_text(&browser, "#status", |text| text == "running waiting").await;
    wait_for_path(&browser, |path| path == "/processes/1").await;
    wait_for_text(&browser, "#steps", |text| {
        text.contains("intro_mail email done") && text.contains("first_visit appointment scheduled")
    })
    .await;
    wait_for_text(&browser, "#history", |text| text.contains("step_completed")).await;

    // The clock moves two days on: the next step waits for the user on the home page.
    server.advance_days(2);
    browser.goto(&format!("{}/", server.url)).await.unwrap();
    wait_for_text(&browser, "table", |text| {
        text.contains("first_visit (2/16)")
    })
    .await;

    browser.close().await.unwrap();
    server.stop().await;
}
