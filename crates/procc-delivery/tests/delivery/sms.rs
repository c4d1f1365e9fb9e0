//! SMS go to an HTTP gateway (a real server on loopback) as JSON with a bearer token.

use procc_runtime::*;
use serde_json::json;

use crate::common::*;

fn sms_template(text: &str) -> procc_plan::Template {
    template(
        "text",
        json!({"kind": "sms", "text": {"kind": "inline", "value": text},
               "window": {"kind": "anytime"}, "to": "address", "sender": "client",
               "contact": null}),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_sms_goes_to_the_gateway_from_the_clients_number_cut_at_320_characters() {
    let gateway = Receiver::start(|_| Reply::status(202)).await;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("sms.token"), "gateway-token-123").unwrap();
    let long = "Ihr Besichtigungstermin ist bestätigt. ".repeat(10);
    let plan = plan("http://127.0.0.1:9/unused", vec![sms_template(&long)]);
    let engine = engine(dir.path(), &plan);
    let id = start(&engine, "text");
    let tables = format!(
        "[sms_gateway]\nurl = \"{}/send\"\ntoken_file = \"sms.token\"\n",
        gateway.url
    );
    dispatcher(&engine, &plan, config(dir.path(), &[], &tables))
        .drain()
        .await
        .unwrap();
    let seen = gateway.seen();
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].uri, "/send");
    assert_eq!(
        seen[0].header("authorization"),
        Some("Bearer gateway-token-123")
    );
    let body: serde_json::Value = serde_json::from_str(&seen[0].body).unwrap();
    assert_eq!(body["to"], "+49 170 1111111");
    assert_eq!(
        body["from"], "+49 211 5550100",
        "the client's number (domain.md)"
    );
    let text = body["text"].as_str().unwrap();
    assert_eq!(text.chars().count(), 320);
    assert!(text.ends_with('…'));
    let sms = &engine.deliveries(id).unwrap()[0];
    assert_eq!(body["reference"], sms.idempotency_key);
    assert!(sms.delivered_at.is_some());
    assert_eq!(engine.attempts(sms.id).unwrap()[0].status, Some(202));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_gateway_that_refuses_the_token_is_not_retried() {
    let gateway = Receiver::start(|_| Reply::status(401)).await;
    let dir = tempfile::tempdir().unwrap();
    let plan = plan("http://127.0.0.1:9/unused", vec![sms_template("Hallo")]);
    let engine = engine(dir.path(), &plan);
    let id = start(&engine, "text");
    let tables = format!("[sms_gateway]\nurl = \"{}/send\"\n", gateway.url);
    dispatcher(&engine, &plan, config(dir.path(), &[], &tables))
        .drain()
        .await
        .unwrap();
    assert_eq!(gateway.seen().len(), 1);
    let sms = engine
        .deliveries(id)
        .unwrap()
        .into_iter()
        .find(|o| o.kind == EffectKind::Sms)
        .unwrap();
    assert_eq!(sms.last_error.as_deref(), Some("HTTP 401 Unauthorized"));
    assert!(sms.failed_at.is_some());
    // The controller is told that the SMS failed.
    assert!(
        engine
            .deliveries(id)
            .unwrap()
            .iter()
            .any(|o| o.kind == EffectKind::Email && o.to == "k.schmidt@example-immobilien.de")
    );
}
