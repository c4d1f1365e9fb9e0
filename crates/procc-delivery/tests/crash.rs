//! The delivery crash test: a real OS process (`procc-delivery-crash-driver`) starts a few
//! hundred processes on a SQLite file and delivers their webhooks to a receiver on loopback
//! that this test runs; it is killed with SIGKILL at random points, again and again, then
//! runs to the end. Every webhook must have arrived at least once, correctly signed, and
//! every redelivery must carry the `webhook-id` of the first delivery (the idempotency key
//! a receiver deduplicates on).

#![cfg(unix)]
#![allow(missing_docs)]
#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode};
use procc_delivery::standard::{WebhookSecret, verify};
use procc_runtime::{EffectKind, Engine, EngineConfig, InstanceStatus, SqliteStore, SystemClock};

const DRIVER: &str = env!("CARGO_BIN_EXE_procc-delivery-crash-driver");
const INSTANCES: u64 = 300;
const KILLS: usize = 12;
const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

/// One request the receiver took: the property in the body and the `webhook-id`.
#[derive(Debug, Clone)]
struct Call {
    property: String,
    id: String,
    signed: bool,
}

fn driver(dir: &Path, url: &str) -> Command {
    let mut cmd = Command::new(DRIVER);
    cmd.arg(dir)
        .arg(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../tests/plans/examples.plan.json"
        ))
        .arg(url)
        .arg(INSTANCES.to_string())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    cmd
}

/// xorshift64*: deterministic kill points without a dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
}

/// A receiver that takes a moment per request (so that kills land while deliveries are in
/// flight, and the driver, at most `per_endpoint` requests at a time, is still busy after
/// most of the kills) and answers 503 to the first call for every fifth property (so that
/// retries are in flight too).
async fn receiver(calls: Arc<Mutex<Vec<Call>>>) -> String {
    let secrets = vec![WebhookSecret::parse(SECRET).unwrap()];
    let app = axum::Router::new().fallback(move |headers: HeaderMap, body: Bytes| {
        let calls = calls.clone();
        let secrets = secrets.clone();
        async move {
            tokio::time::sleep(Duration::from_millis(40)).await;
            let header = |n: &str| {
                headers
                    .get(n)
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or_default()
                    .to_string()
            };
            let body = String::from_utf8_lossy(&body).into_owned();
            let id = header("webhook-id");
            let signed = header("webhook-timestamp").parse::<i64>().is_ok_and(|ts| {
                let now = chrono::Utc::now().timestamp();
                let signature = header("webhook-signature");
                verify(&secrets, &id, ts, &body, &signature, now, 300).is_ok()
            });
            let property = serde_json::from_str::<serde_json::Value>(&body)
                .ok()
                .and_then(|v| v["property"].as_str().map(str::to_string))
                .unwrap_or_default();
            let number: u64 = property.trim_start_matches('P').parse().unwrap_or(0);
            let mut calls = calls.lock().unwrap();
            let first = !calls.iter().any(|c| c.property == property);
            calls.push(Call {
                property,
                id,
                signed,
            });
            if first && number.is_multiple_of(5) {
                StatusCode::SERVICE_UNAVAILABLE
            } else {
                StatusCode::OK
            }
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    url
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_during_delivery_no_webhook_is_lost_and_redeliveries_keep_their_id() {
    let calls: Arc<Mutex<Vec<Call>>> = Arc::default();
    let url = receiver(calls.clone()).await;
    let dir = tempfile::tempdir().unwrap();
    let mut rng = Rng(0x5EED_DE11_7E57_0001);
    let mut killed = 0;
    for _ in 0..KILLS {
        let seen = calls.lock().unwrap().len();
        let mut child = driver(dir.path(), &url).spawn().unwrap();
        // The kill lands a random time after this run's first delivery, however long the
        // driver takes to start on a loaded machine.
        let started = Instant::now() + Duration::from_secs(30);
        while calls.lock().unwrap().len() == seen
            && Instant::now() < started
            && child.try_wait().unwrap().is_none()
        {
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        let deadline = Instant::now() + Duration::from_millis(rng.next() % 300);
        let mut finished = false;
        while Instant::now() < deadline {
            if child.try_wait().unwrap().is_some() {
                finished = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        if finished {
            break;
        }
        // `Child::kill` sends SIGKILL on Unix.
        child.kill().unwrap();
        if child.wait().unwrap().success() {
            // It finished between the last look and the kill.
            break;
        }
        killed += 1;
    }
    let delivered_before_the_end = calls.lock().unwrap().len();
    let out = tokio::task::spawn_blocking({
        let dir = dir.path().to_path_buf();
        let url = url.clone();
        move || driver(&dir, &url).output().unwrap()
    })
    .await
    .unwrap();
    assert!(
        out.status.success(),
        "the driver failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "done");
    assert!(
        killed >= 8,
        "only {killed} kills landed while the driver ran"
    );
    assert!(
        delivered_before_the_end > 0,
        "the kills landed while deliveries were made"
    );

    // Every property's webhook arrived, signed; every delivery of one effect carries the
    // `webhook-id` of its first delivery, and different effects have different ids.
    let calls = calls.lock().unwrap().clone();
    assert!(calls.iter().all(|c| c.signed), "a bad signature");
    let mut by_property: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for c in &calls {
        by_property
            .entry(c.property.clone())
            .or_default()
            .push(c.id.clone());
    }
    let expected: Vec<String> = (0..INSTANCES).map(|i| format!("P{i}")).collect();
    let got: Vec<String> = by_property.keys().cloned().collect();
    let mut expected_sorted = expected.clone();
    expected_sorted.sort();
    assert_eq!(got, expected_sorted, "lost or unexpected webhooks");
    for (property, ids) in &by_property {
        assert!(
            ids.iter().all(|id| id == &ids[0]),
            "{property} was delivered with different ids: {ids:?}"
        );
    }
    let mut firsts: Vec<&String> = by_property.values().map(|ids| &ids[0]).collect();
    firsts.sort();
    firsts.dedup();
    assert_eq!(firsts.len(), by_property.len(), "two effects share an id");

    // The store agrees: one process per property, each at its end, every webhook delivered.
    let engine = Engine::new(
        SqliteStore::open(dir.path().join("state.db")).unwrap(),
        Arc::new(SystemClock),
        EngineConfig::default(),
    );
    let outbox = engine.outbox().unwrap();
    let hooks: Vec<_> = outbox
        .iter()
        .filter(|o| o.kind == EffectKind::Webhook)
        .collect();
    assert_eq!(hooks.len() as u64, INSTANCES);
    assert!(hooks.iter().all(|o| o.delivered_at.is_some()));
    let instances = engine.running().unwrap();
    assert!(instances.is_empty(), "{} still running", instances.len());
    let all = engine
        .instances(&procc_runtime::InstanceQuery::default())
        .unwrap();
    assert_eq!(all.len() as u64, INSTANCES);
    assert!(all.iter().all(|i| i.status == InstanceStatus::Completed));
    // Every fifth property was refused once: at least that many calls are retries.
    let retried = INSTANCES.div_ceil(5) as usize;
    assert!(calls.len() >= by_property.len() + retried);
    eprintln!(
        "{killed} kills; {} webhooks, {} calls ({retried} retries after a 503, {} redeliveries after a kill)",
        by_property.len(),
        calls.len(),
        calls.len() - by_property.len() - retried
    );
}
