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

#[path = "../../procc-runtime/tests/support/postgres.rs"]
mod postgres_support;
use postgres_support::{Schema, postgres_url};

/// A worker process that is stopped with SIGTERM when the test ends, passed or failed.
struct Worker(Child);

impl Worker {
    /// Starts `procc ARGS` on the shared database and waits for its ready line (the line that
    /// contains `ready`); returns the worker and that line.
    fn start(dir: &Path, url: &str, args: &[&str], ready: &str) -> (Worker, String) {
        let mut child = Command::new(env!("CARGO_BIN_EXE_procc"))
            .args(args)
            .env("PROCC_POSTGRES", url)
            .env("PROCC_DECISION_SECRET", "a secret all workers share")
            .current_dir(dir)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("procc runs");
        let mut stderr = BufReader::new(child.stderr.take().expect("stderr"));
        let mut seen = String::new();
        loop {
            let mut line = String::new();
            let n = stderr.read_line(&mut line).expect("readable stderr");
            assert!(n > 0, "procc {args:?} ended before it was ready: {seen}");
            seen.push_str(&line);
            if line.contains(ready) {
                break;
            }
        }
        child.stderr = Some(stderr.into_inner());
        assert!(seen.contains("PostgreSQL as worker"), "{seen}");
        (Worker(child), seen)
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

/// A project with the `publish` template compiled to `plan.json`, and an empty schema.
fn setup() -> (tempfile::TempDir, Schema, String) {
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
    let schema = Schema::new();
    let url = format!("{} options=-csearch_path={}", postgres_url(), schema.name);
    let mut admin =
        postgres::Client::connect(&postgres_url(), postgres::NoTls).expect("PostgreSQL is up");
    admin
        .batch_execute(&format!("CREATE SCHEMA {}", schema.name))
        .expect("a fresh schema");
    (dir, schema, url)
}

/// The test's own view of the shared database, with the properties P0..P{count-1}.
fn observer(url: &str, count: usize) -> Engine<PostgresStore> {
    let store = PostgresStore::open(url).expect("the shared store");
    let engine = Engine::new(store, Arc::new(SystemClock), EngineConfig::default());
    for i in 0..count {
        engine
            .put_record(&RecordRow::new(Module::Property, &format!("P{i}")))
            .expect("the property is written");
    }
    engine
}

/// Waits until no effect is pending, stops the workers, and checks that the effects the
/// workers wrote are exactly the outbox's, each once.
fn delivered_once(engine: &Engine<PostgresStore>, dir: &Path, workers: Vec<Worker>, count: usize) {
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
    for worker in workers {
        let (code, stderr) = worker.stop();
        assert_eq!(code, Some(0), "a graceful stop: {stderr}");
    }
    let mut expected: Vec<String> = engine
        .outbox()
        .expect("the outbox")
        .into_iter()
        .map(|effect| effect.idempotency_key)
        .collect();
    assert_eq!(expected.len(), count, "one portal sync a process");
    expected.sort();
    let mut delivered = delivered_keys(&dir.join("a.jsonl"));
    delivered.extend(delivered_keys(&dir.join("b.jsonl")));
    delivered.sort();
    assert_eq!(
        delivered, expected,
        "every portal sync handed out once, by one worker"
    );
}

#[test]
fn two_run_workers_on_postgres_deliver_every_effect_once() {
    let (dir, _schema, url) = setup();
    let run = |effects: &str| {
        Worker::start(
            dir.path(),
            &url,
            &["run", "--plan", "plan.json", "--effects", effects],
            "Ctrl-C stops",
        )
        .0
    };
    let workers = vec![run("a.jsonl"), run("b.jsonl")];
    // A third party (here the test) starts processes; the workers hear of the new effects.
    let count = 40;
    let engine = observer(&url, count);
    for i in 0..count {
        engine
            .start(&StartRequest {
                template: "publish".into(),
                owner: "l.fischer".into(),
                started_by: "k.schmidt".into(),
                links: Links {
                    property: Some(format!("P{i}").into()),
                    ..Default::default()
                },
                ..Default::default()
            })
            .expect("the process starts");
    }
    delivered_once(&engine, dir.path(), workers, count);
}

/// Sends one HTTP/1.1 request and returns the status line.
fn post(address: &str, path: &str, token: &str, body: &str) -> String {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(address).expect("the server accepts");
    let request = format!(
        "POST {path} HTTP/1.1\r\nHost: {address}\r\nAuthorization: Bearer {token}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).expect("sent");
    let mut answer = String::new();
    stream.read_to_string(&mut answer).expect("an answer");
    answer.lines().next().unwrap_or_default().to_string()
}

#[test]
fn serve_and_run_share_one_postgres_database() {
    let (dir, _schema, url) = setup();
    let (server, ready) = Worker::start(
        dir.path(),
        &url,
        &[
            "serve",
            "--plan",
            "plan.json",
            "--listen",
            "127.0.0.1:0",
            "--effects",
            "a.jsonl",
        ],
        "Ctrl-C stops",
    );
    let address = ready
        .split("dashboard at http://")
        .nth(1)
        .and_then(|rest| rest.split('/').next())
        .expect("the server prints its address")
        .to_string();
    let (runner, _) = Worker::start(
        dir.path(),
        &url,
        &["run", "--plan", "plan.json", "--effects", "b.jsonl"],
        "Ctrl-C stops",
    );
    let token = Command::new(env!("CARGO_BIN_EXE_procc"))
        .args(["token", "create", "k.schmidt"])
        .env("PROCC_POSTGRES", &url)
        .env_remove("PROCC_DECISION_SECRET")
        .output()
        .expect("procc token runs");
    assert!(token.status.success(), "{token:?}");
    let token = String::from_utf8_lossy(&token.stdout).trim().to_string();

    let count = 20;
    let engine = observer(&url, count);
    for i in 0..count {
        let status = post(
            &address,
            "/api/v1/instances",
            &token,
            &format!(r#"{{"template": "publish", "owner": "l.fischer", "property": "P{i}"}}"#),
        );
        assert!(status.contains(" 201 "), "{status}");
    }
    delivered_once(&engine, dir.path(), vec![server, runner], count);
}

#[test]
fn a_postgres_worker_without_the_shared_secret_is_refused_before_it_connects() {
    let (dir, schema, url) = setup();
    let out = Command::new(env!("CARGO_BIN_EXE_procc"))
        .args(["run", "--plan", "plan.json", "--postgres", &url])
        .env_remove("PROCC_DECISION_SECRET")
        .current_dir(dir.path())
        .output()
        .expect("procc runs");
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("set PROCC_DECISION_SECRET"), "{stderr}");
    let mut admin =
        postgres::Client::connect(&postgres_url(), postgres::NoTls).expect("PostgreSQL is up");
    let tables = admin
        .query_one(
            "SELECT count(*) FROM information_schema.tables WHERE table_schema = $1",
            &[&schema.name],
        )
        .expect("the catalog answers");
    assert_eq!(tables.get::<_, i64>(0), 0, "nothing was created");
}
