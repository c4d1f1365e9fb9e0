//! `procc run --postgres`: several worker processes on one PostgreSQL database share the work,
//! hear of each other's commits, and hand every effect out once.

#![cfg(unix)]
#![allow(missing_docs)]

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use procc_plan::Module;
use procc_runtime::{
    Engine, EngineConfig, Links, PostgresStore, RecordRow, StartRequest, SystemClock,
};

const PUBLISH: &str = "process publish \"Publish on the portals\" {\n  active\n  needs property\n  step publish: portal_sync publish automatic {\n    portals \"immoscout24\"\n  }\n  step done: end\n}\n";

fn postgres_url() -> String {
    std::env::var("PROCC_TEST_POSTGRES")
        .unwrap_or_else(|_| "host=127.0.0.1 port=5432 user=postgres dbname=test".into())
}

/// A schema of its own, dropped when the test ends.
struct Schema(String);

impl Drop for Schema {
    fn drop(&mut self) {
        if let Ok(mut client) = postgres::Client::connect(&postgres_url(), postgres::NoTls) {
            let _ = client.batch_execute(&format!("DROP SCHEMA IF EXISTS {} CASCADE", self.0));
        }
    }
}

/// A worker process that is stopped with SIGTERM when the test ends, passed or failed.
struct Worker(Child);

impl Worker {
    fn start(dir: &Path, url: &str, effects: &str) -> Worker {
        let mut child = Command::new(env!("CARGO_BIN_EXE_procc"))
            .args(["run", "--plan", "plan.json", "--effects", effects])
            .env("PROCC_POSTGRES", url)
            .env("PROCC_DECISION_SECRET", "a secret all workers share")
            .current_dir(dir)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("procc runs");
        let mut line = String::new();
        BufReader::new(child.stderr.as_mut().expect("stderr"))
            .read_line(&mut line)
            .expect("a first line");
        assert!(
            line.starts_with("procc run: deployed sha256:")
                && line.contains("PostgreSQL as worker"),
            "{line}"
        );
        Worker(child)
    }

    /// Stops the worker; its exit code and what it wrote to standard error.
    fn stop(mut self) -> (Option<i32>, String) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.0.id().to_string()])
            .status();
        let code = self.0.wait().ok().and_then(|s| s.code());
        let mut rest = String::new();
        if let Some(stderr) = self.0.stderr.as_mut() {
            let _ = std::io::Read::read_to_string(stderr, &mut rest);
        }
        (code, rest)
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn delivered_keys(path: &Path) -> Vec<String> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(|line| {
            let effect: serde_json::Value = serde_json::from_str(line).expect("a JSON line");
            effect["idempotency_key"]
                .as_str()
                .expect("an idempotency key")
                .to_string()
        })
        .collect()
}

#[test]
fn two_run_workers_on_postgres_deliver_every_effect_once() {
    let dir = tempfile::tempdir().expect("a temporary folder");
    std::fs::copy(
        concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/procc.toml"),
        dir.path().join("procc.toml"),
    )
    .expect("the example project file");
    std::fs::write(dir.path().join("publish.proc"), PUBLISH).expect("writable");
    let compiled = Command::new(env!("CARGO_BIN_EXE_procc"))
        .args(["compile", "-o", "plan.json"])
        .current_dir(dir.path())
        .output()
        .expect("procc compiles");
    assert!(compiled.status.success(), "{compiled:?}");

    let schema = Schema(format!("procc_cli_{}", std::process::id()));
    let url = format!("{} options=-csearch_path={}", postgres_url(), schema.0);
    let mut admin =
        postgres::Client::connect(&postgres_url(), postgres::NoTls).expect("PostgreSQL is up");
    admin
        .batch_execute(&format!("CREATE SCHEMA {}", schema.0))
        .expect("a fresh schema");

    let a = Worker::start(dir.path(), &url, "a.jsonl");
    let b = Worker::start(dir.path(), &url, "b.jsonl");

    // A third party (here the test, in production `procc serve` or another worker) starts
    // processes; the workers hear of the new effects and deliver them.
    let store = PostgresStore::open(&url).expect("the shared store");
    let engine = Engine::new(store, Arc::new(SystemClock), EngineConfig::default());
    let started = 40;
    for i in 0..started {
        let property = format!("P{i}");
        engine
            .put_record(&RecordRow::new(Module::Property, &property))
            .expect("the property is written");
        engine
            .start(&StartRequest {
                template: "publish".into(),
                owner: "l.fischer".into(),
                started_by: "k.schmidt".into(),
                links: Links {
                    property: Some(property),
                    ..Default::default()
                },
                ..Default::default()
            })
            .expect("the process starts");
    }
    let expected: Vec<String> = engine
        .outbox()
        .expect("the outbox")
        .into_iter()
        .map(|effect| effect.idempotency_key)
        .collect();
    assert_eq!(expected.len(), started, "one portal sync a process");

    let deadline = Instant::now() + Duration::from_secs(60);
    while engine
        .outbox()
        .expect("the outbox")
        .iter()
        .any(|effect| effect.is_pending())
    {
        assert!(
            Instant::now() < deadline,
            "the workers deliver within a minute"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    for worker in [a, b] {
        let (code, stderr) = worker.stop();
        assert_eq!(code, Some(0), "a graceful stop: {stderr}");
    }

    let mut delivered = delivered_keys(&dir.path().join("a.jsonl"));
    delivered.extend(delivered_keys(&dir.path().join("b.jsonl")));
    delivered.sort();
    let mut expected = expected;
    expected.sort();
    assert_eq!(
        delivered, expected,
        "every portal sync handed out once, by one worker"
    );
}
