//! Bad input from a property-based fuzzer: schemathesis (PyPI; `.ci/run` installs it) generates
//! requests from the OpenAPI document, valid and invalid, and checks that no answer is a
//! server error and every answer matches the document.

mod common;

use std::process::Command;

use common::TestServer;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn schemathesis_finds_no_server_error_and_no_schema_violation() {
    let server = TestServer::start().await;
    let schema = format!("{}/api/v1/openapi.json", server.url);
    let auth = format!("Authorization: Bearer {}", server.tokens["k.schmidt"]);
    let output = tokio::task::spawn_blocking(move || {
        Command::new("st")
            .args(["run", &schema, "-H", &auth])
            .args(["--checks", "not_a_server_error,response_schema_conformance"])
            .args(["--max-examples", "20", "--seed", "1"])
            // Revoking the run's own token would turn the rest of the run into 401s.
            .args(["--exclude-path", "/api/v1/tokens"])
            .env("NO_COLOR", "1")
            .output()
    })
    .await
    .expect("the schemathesis run finished")
    .expect("schemathesis must be installed: python3 -m pip install schemathesis");
    let report = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "schemathesis found problems:\n{report}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(report.contains("passed"), "{report}");
    server.stop().await;
}
