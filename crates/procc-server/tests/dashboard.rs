//! The dashboard over real HTTP: sign-in, pages, forms and their checks.

// Helpers outside #[test] functions unwrap too: their failing is the test failing.
#![allow(clippy::unwrap_used)]

mod common;

use common::TestServer;
use reqwest::redirect::Policy;
use reqwest::{Client, StatusCode};

/// A browser-like client signed in as `user` (cookies kept, redirects not followed).
async fn signed_in(server: &TestServer, user: &str) -> Client {
    let client = Client::builder()
        .cookie_store(true)
        .redirect(Policy::none())
        .build()
        .unwrap();
    let response = client
        .post(format!("{}/login", server.url))
        .form(&[("token", server.tokens[user].as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(response.headers()["location"], "/");
    let cookie = response.headers()["set-cookie"].to_str().unwrap();
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"),
        "{cookie}"
    );
    client
}

async fn page(client: &Client, server: &TestServer, path: &str) -> (StatusCode, String) {
    let response = client
        .get(format!("{}{path}", server.url))
        .send()
        .await
        .unwrap();
    (response.status(), response.text().await.unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_need_a_signed_in_user() {
    let server = TestServer::start().await;
    let anonymous = Client::builder().redirect(Policy::none()).build().unwrap();
    for path in ["/", "/processes", "/processes/1", "/overdue", "/deliveries"] {
        let response = anonymous
            .get(format!("{}{path}", server.url))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::SEE_OTHER, "{path}");
        assert_eq!(response.headers()["location"], "/login", "{path}");
    }
    let (status, login) = page(&anonymous, &server, "/login").await;
    assert_eq!(status, 200);
    assert!(login.contains("name=\"token\""));

    let wrong = anonymous
        .post(format!("{}/login", server.url))
        .form(&[("token", "procc_nope")])
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.headers()["location"], "/login?expired=1");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_user_starts_completes_and_follows_a_process_in_the_dashboard() {
    let server = TestServer::start().await;
    let becker = signed_in(&server, "j.becker").await;
    let (status, home) = page(&becker, &server, "/").await;
    assert_eq!(status, 200);
    assert!(home.contains("Nothing is waiting for you."));
    assert!(home.contains("<option value=\"seller_acquisition\">"));
    // Text from records and users is escaped.
    assert!(home.contains("Jonas Becker"));

    let started = becker
        .post(format!("{}/ui/start", server.url))
        .form(&[
            ("template", "seller_acquisition"),
            ("property", "P3"),
            ("address", "A1"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(started.status(), StatusCode::SEE_OTHER);
    let location = started.headers()["location"].to_str().unwrap().to_string();
    assert_eq!(location, "/processes/1");

    let (_, home) = page(&becker, &server, "/").await;
    assert!(home.contains("intro_mail (1/16)"), "{home}");
    assert!(home.contains("action=\"/ui/skip\""));

    let (_, process) = page(&becker, &server, &location).await;
    assert!(
        process.contains("running (due)") || process.contains("running due"),
        "{process}"
    );
    assert!(process.contains("<td>intro_mail</td>") || process.contains(">intro_mail<"));

    let done = becker
        .post(format!("{}/ui/complete", server.url))
        .form(&[("instance", "1"), ("step", "0")])
        .send()
        .await
        .unwrap();
    assert_eq!(done.status(), StatusCode::SEE_OTHER);
    let (_, process) = page(&becker, &server, &location).await;
    assert!(process.contains("running waiting"), "{process}");
    assert!(process.contains("step_completed"));

    let (status, processes) = page(&becker, &server, "/processes").await;
    assert_eq!(status, 200);
    assert!(processes.contains("href=\"/processes/1\""));

    // Another user without see-others may not look at it, nor act on it.
    let wagner = signed_in(&server, "t.wagner").await;
    let (status, refused) = page(&wagner, &server, &location).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(refused.contains("see-others"));
    let (status, _) = page(&wagner, &server, "/deliveries").await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let cancel = wagner
        .post(format!("{}/ui/cancel", server.url))
        .form(&[("instance", "1")])
        .send()
        .await
        .unwrap();
    assert_eq!(cancel.status(), StatusCode::FORBIDDEN);

    // A form posted from another site is refused.
    let forged = becker
        .post(format!("{}/ui/cancel", server.url))
        .header("Origin", "https://evil.example")
        .form(&[("instance", "1")])
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), StatusCode::FORBIDDEN);
    let cancelled = becker
        .post(format!("{}/ui/cancel", server.url))
        .header("Origin", server.url.as_str())
        .form(&[("instance", "1")])
        .send()
        .await
        .unwrap();
    assert_eq!(cancelled.status(), StatusCode::SEE_OTHER);
    let (_, process) = page(&becker, &server, &location).await;
    assert!(process.contains("cancelled"));

    let (status, overdue) = page(&becker, &server, "/overdue").await;
    assert_eq!(status, 200);
    assert!(overdue.contains("No step is past its deadline."));

    let signed_out = becker
        .post(format!("{}/logout", server.url))
        .send()
        .await
        .unwrap();
    assert_eq!(signed_out.headers()["location"], "/login");
    let (status, _) = page(&becker, &server, "/").await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_flow_is_drawn_with_steps_coloured_by_state() {
    let server = TestServer::start().await;
    let becker = signed_in(&server, "j.becker").await;
    becker
        .post(format!("{}/ui/start", server.url))
        .form(&[
            ("template", "seller_acquisition"),
            ("property", "P3"),
            ("address", "A1"),
        ])
        .send()
        .await
        .unwrap();
    let response = becker
        .get(format!("{}/processes/1/graph.svg", server.url))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200, "Graphviz's `dot` must be installed");
    assert_eq!(response.headers()["content-type"], "image/svg+xml");
    let svg = response.text().await.unwrap();
    assert!(svg.contains("<svg"), "{svg}");
    // The active step is drawn in the active colour.
    assert!(svg.contains("#ffd866"), "{svg}");
    server.stop().await;
}
