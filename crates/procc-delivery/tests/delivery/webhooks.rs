//! Marketplace calls carry the context and a signature the provider can check; free
//! webhooks carry Standard Webhooks headers that the reference library accepts.

use procc_delivery::marketplace::verify_url;
use procc_runtime::*;

use crate::common::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_marketplace_call_is_signed_and_carries_the_process_context() {
    let receiver = Receiver::start(|_| Reply::status(200)).await;
    let dir = tempfile::tempdir().unwrap();
    let url = format!("{}/onoffice/valuation", receiver.url);
    let plan = plan(&url, vec![valuation()]);
    let engine = engine(dir.path(), &plan);
    let id = start(&engine, "valuate");
    assert_eq!(step_state(&engine, id).state, StepState::Active);

    let d = dispatcher(&engine, &plan, config(dir.path(), &[], ""));
    d.drain().await.unwrap();

    let seen = receiver.seen();
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].method, "POST");
    let full = format!("{}{}", receiver.url, seen[0].uri);
    let now = chrono::Utc::now().timestamp();
    let ok = verify_url(&full, SERVICE_SECRET.as_bytes(), now, Some(300)).unwrap();
    let get = |k: &str| {
        ok.params
            .iter()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.as_str())
    };
    assert_eq!(get("mode"), Some("full"));
    assert_eq!(get("customerWebId"), Some("exampleimmo"));
    assert_eq!(get("customerName"), Some("Example Immobilien GmbH"));
    assert_eq!(get("userId"), Some("a.yilmaz"));
    assert_eq!(get("processId"), Some(id.to_string().as_str()));
    assert_eq!(get("processTemplate"), Some("valuate"));
    assert_eq!(get("processStep"), Some("act"));
    assert_eq!(get("estateId"), Some("P1"));
    assert_eq!(get("addressId"), Some("A1"));
    let key = hooks(&engine, id)[0].idempotency_key.clone();
    assert_eq!(get("callId"), Some(key.as_str()));
    assert_eq!(seen[0].header("idempotency-key"), Some(key.as_str()));
    // The parameters are sorted by name and the signature is lowercase hex.
    let names: Vec<&str> = ok.params.iter().map(|(n, _)| n.as_str()).collect();
    let mut sorted = names.clone();
    sorted.sort();
    assert_eq!(names, sorted);
    let signature = full.rsplit_once("signature=").unwrap().1;
    assert!(
        signature
            .chars()
            .all(|c| matches!(c, '0'..='9' | 'a'..='f'))
    );
    assert!(verify_url(&full, b"another secret", now, None).is_err());

    // Delivered: the step is done, the attempt logged.
    assert_eq!(step_state(&engine, id).state, StepState::Done);
    let attempts = engine.attempts(hooks(&engine, id)[0].id).unwrap();
    assert_eq!(attempts.len(), 1);
    assert_eq!(attempts[0].status, Some(200));
    assert_eq!(attempts[0].excerpt.as_deref(), Some("status 200"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn free_webhooks_pass_the_reference_standard_webhooks_library() {
    let receiver = Receiver::start(|_| Reply::status(204)).await;
    let dir = tempfile::tempdir().unwrap();
    let plan = plan(
        "http://127.0.0.1:9/unused",
        vec![free_hook(&format!("{}/viewings", receiver.url))],
    );
    let engine = engine(dir.path(), &plan);
    let id = start(&engine, "sync");
    dispatcher(&engine, &plan, config(dir.path(), &[], ""))
        .drain()
        .await
        .unwrap();
    let seen = receiver.seen();
    assert_eq!(seen.len(), 1);
    let call = &seen[0];
    assert!(
        call.body
            .starts_with(r#"{"event": "sync", "price": 500000"#),
        "{}",
        call.body
    );
    assert_eq!(call.header("content-type"), Some("application/json"));
    let key = hooks(&engine, id)[0].idempotency_key.clone();
    assert_eq!(
        call.header("webhook-id").unwrap(),
        Deliverer::<SqliteStore>::webhook_id(&hooks(&engine, id)[0])
    );
    assert!(
        call.header("webhook-id")
            .unwrap()
            .contains(&key.replace('/', "_"))
    );
    assert_eq!(
        call.header("webhook-signature").unwrap().split(' ').count(),
        2
    );
    // Each secret of the rotation verifies on its own with the reference library; a
    // foreign one does not.
    assert_eq!(python_verify(WHSEC_OLD, call), "ok");
    assert_eq!(python_verify(WHSEC_NEW, call), "ok");
    assert_ne!(
        python_verify("whsec_c29tZW9uZSBlbHNlJ3Mgc2VjcmV0IGtleSBoZXJl", call),
        "ok"
    );
    assert_eq!(step_state(&engine, id).state, StepState::Done);
}

use procc_delivery::Deliverer;

/// Runs the reference library (PyPI `standardwebhooks`) on a received call.
fn python_verify(secret: &str, call: &Seen) -> String {
    let headers: serde_json::Map<String, serde_json::Value> = call
        .headers
        .iter()
        .filter(|(k, _)| k.starts_with("webhook-"))
        .map(|(k, v)| (k.clone(), serde_json::Value::String(v.clone())))
        .collect();
    let script = r#"
import json, sys
try:
    from standardwebhooks.webhooks import Webhook
except ImportError:
    print("the Python package `standardwebhooks` is missing: python3 -m pip install standardwebhooks")
    sys.exit(2)
secret, headers, body = sys.argv[1], json.loads(sys.argv[2]), sys.argv[3]
try:
    Webhook(secret).verify(body, headers)
    print("ok")
except Exception as e:
    print("refused: %s" % e)
"#;
    let out = std::process::Command::new("python3")
        .args([
            "-c",
            script,
            secret,
            &serde_json::Value::Object(headers).to_string(),
            &call.body,
        ])
        .output()
        .expect("python3 runs");
    let text = String::from_utf8_lossy(&out.stdout).trim().to_string();
    assert_ne!(out.status.code(), Some(2), "{text}");
    text
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_free_webhook_to_a_host_outside_the_allowlist_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let plan = plan(
        "http://127.0.0.1:9/unused",
        vec![free_hook("https://attacker.example/steal")],
    );
    let engine = engine(dir.path(), &plan);
    let id = start(&engine, "sync");
    dispatcher(&engine, &plan, config(dir.path(), &[], ""))
        .drain()
        .await
        .unwrap();
    let step = step_state(&engine, id);
    assert_eq!(step.state, StepState::Active);
    let reason = step.degraded.unwrap();
    assert!(
        reason.contains(
            "host `attacker.example` is neither a service's nor in `delivery.allowed_hosts`"
        ),
        "{reason}"
    );
    // Refused at once, not retried.
    assert_eq!(engine.attempts(hooks(&engine, id)[0].id).unwrap().len(), 1);
}

#[tokio::test]
async fn the_allowlist_keeps_the_urls_it_allowed_and_none_it_refused() {
    let dir = tempfile::tempdir().unwrap();
    let plan = plan(
        "http://127.0.0.1:9/unused",
        vec![free_hook("http://127.0.0.1:9/")],
    );
    let engine = engine(dir.path(), &plan);
    let dispatcher = dispatcher(&engine, &plan, config(dir.path(), &[], ""));
    let deliverer = dispatcher.deliverer();
    // Asked twice: the second answer comes from what the first kept.
    for _ in 0..2 {
        let url = deliverer.allowed("http://127.0.0.1:8080/hook?a=1").unwrap();
        assert_eq!(url.as_str(), "http://127.0.0.1:8080/hook?a=1");
        let refused = deliverer
            .allowed("https://attacker.example/steal")
            .unwrap_err();
        assert!(refused.contains("neither a service's"), "{refused}");
        assert!(deliverer.allowed("ftp://127.0.0.1/x").is_err());
    }
    // More URLs than are kept: each is still its own.
    for port in 1..1500u16 {
        let url = format!("http://127.0.0.1:{port}/");
        assert_eq!(
            deliverer.allowed(&url).unwrap().port_or_known_default(),
            Some(port)
        );
    }
    assert!(deliverer.allowed("https://attacker.example/steal").is_err());
}
