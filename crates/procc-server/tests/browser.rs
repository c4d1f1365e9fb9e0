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

async fn text_of(browser: &Client, css: &str) -> String {
    browser
        .find(Locator::Css(css))
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_in_start_a_process_complete_a_step_and_watch_it_move_on() {
    let server = TestServer::start().await;
    let driver = Driver::start().await;
    let browser = driver.browser().await;

    browser.goto(&format!("{}/", server.url)).await.unwrap();
    assert!(
        browser
            .current_url()
            .await
            .unwrap()
            .path()
            .ends_with("/login")
    );
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
    assert_eq!(text_of(&browser, "h1").await, "My due steps");
    assert!(text_of(&browser, "nav").await.contains("Jonas Becker"));

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
    assert_eq!(browser.current_url().await.unwrap().path(), "/processes/1");
    assert_eq!(text_of(&browser, "#status").await, "running due");
    assert!(text_of(&browser, "#steps").await.contains("intro_mail"));

    browser
        .find(Locator::Css("#steps form[action='/ui/complete'] button"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    assert_eq!(browser.current_url().await.unwrap().path(), "/processes/1");
    assert_eq!(text_of(&browser, "#status").await, "running waiting");
    let steps = text_of(&browser, "#steps").await;
    assert!(steps.contains("intro_mail email done"), "{steps}");
    assert!(
        steps.contains("first_visit appointment scheduled"),
        "{steps}"
    );
    assert!(
        text_of(&browser, "#history")
            .await
            .contains("step_completed")
    );

    // The clock moves two days on: the next step waits for the user on the home page.
    server.advance_days(2);
    browser.goto(&format!("{}/", server.url)).await.unwrap();
    assert!(
        text_of(&browser, "table")
            .await
            .contains("first_visit (2/16)")
    );

    browser.close().await.unwrap();
    server.stop().await;
}
