//! Webhook deliveries per second against a fast receiver on loopback, next to the loopback
//! ceiling of the machine measured with `wrk` against the same receiver (figures in
//! `docs/performance.md`, section "Delivery").
//!
//! ```text
//! cargo bench -p procc-delivery --bench webhooks -- [--effects N] [--sqlite-effects N]
//!     [--concurrency N] [--threads N] [--wrk-seconds S] [--only client|memory|sqlite]
//! ```
//!
//! 1. The ceiling: `wrk -t1 -c<concurrency> -d<S>s` POSTing a small JSON body to the receiver
//!    (skipped with a note when `wrk` is not installed).
//! 2. reqwest alone: `N` requests from `concurrency` tasks with no engine, on one thread per
//!    core as the delivery runs: the most the deliverer's HTTP client can do on this machine.
//! 3. For the memory store and for SQLite: `N` processes whose only step is an automatic
//!    free webhook (Standard Webhooks signed) are started first; then the clock runs while
//!    the delivery threads (`DeliveryThreads`, one per core, as in `procc run`) drain the outbox
//!    (claim, HTTP POST, record the attempt), with `concurrency` attempts in flight overall
//!    and per endpoint.

#![allow(missing_docs)]
#![allow(clippy::unwrap_used)]

use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::time::Instant;

use axum::http::StatusCode;
use procc_delivery::{DeliveryConfig, DeliveryThreads};
use procc_plan::{Module, Plan, Template};
use procc_runtime::*;
use serde_json::json;

/// The allocator of the `procc` binary, which runs the dispatcher in `procc run` and `procc
/// serve` (the system allocator spends a third of this benchmark in `malloc` and `free`).
#[global_allocator]
static ALLOCATOR: procc_alloc::Allocator = procc_alloc::Allocator;

const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
const BODY: &str = "{\"event\": \"bench\", \"property\": \"P1\"}";

/// CPU seconds (user plus system) this process has used so far: the receiver's and the
/// client's or dispatcher's together, in ticks of 1/100 s.
fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // utime and stime are the 14th and 15th fields; the command name before them, in
    // parentheses, may hold spaces.
    let fields: Vec<f64> = stat
        .rsplit_once(')')
        .map_or("", |(_, rest)| rest)
        .split_whitespace()
        .skip(11)
        .take(2)
        .filter_map(|t| t.parse().ok())
        .collect();
    fields.iter().sum::<f64>() / 100.0
}

/// Requests (or deliveries) per second, and the process's CPU time per request.
struct Rate {
    per_second: f64,
    cpu_micros: f64,
}

impl Rate {
    fn measure(n: usize, run: impl FnOnce()) -> Rate {
        let cpu = cpu_seconds();
        let started = Instant::now();
        run();
        let elapsed = started.elapsed().as_secs_f64();
        Rate {
            per_second: n as f64 / elapsed,
            cpu_micros: (cpu_seconds() - cpu) * 1e6 / n as f64,
        }
    }
}

fn arg(args: &[String], name: &str, default: usize) -> usize {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .map_or(default, |v| v.parse().unwrap())
}

fn template(url: &str) -> Template {
    let step = |name: &str, action: serde_json::Value, next: serde_json::Value| {
        json!({
            "name": name, "action": action, "start_after": null,
            "responsible": {"kind": "owner"}, "deadline": [], "concerns": [],
            "skippable": false, "automatic": true, "next": next, "incoming": [],
            "source": {"file": "bench.proc", "line": 1, "column": 1}
        })
    };
    let hook = json!({"kind": "free_webhook", "method": "POST", "url": url,
        "headers": [{"name": "Content-Type", "value": "application/json"}],
        "body": BODY});
    serde_json::from_value(json!({
        "name": "hook", "title": null, "description": null, "active": true,
        "needs": ["property"], "needs_email": false,
        "controller": {"kind": "user", "id": "k.schmidt"},
        "notify_controller_on_cancel": false, "triggers": [],
        "steps": [
            step("call", hook, json!({"kind": "step", "step": 1})),
            step("done", json!({"kind": "end"}), json!({"kind": "end"})),
        ],
        "source": {"file": "bench.proc", "line": 1, "column": 1}
    }))
    .unwrap()
}

fn plan(url: &str) -> Plan {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../tests/plans/examples.plan.json"
    ))
    .unwrap();
    let examples: Plan = serde_json::from_str(&text).unwrap();
    Plan::new(examples.tenant, examples.catalog, vec![template(url)])
}

/// A receiver that answers every request with 200 and an empty body, on its own runtime
/// (as a separate server would be), until the process ends.
fn receiver() -> String {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async move {
            let app = axum::Router::new().fallback(|| async { StatusCode::OK });
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            tx.send(format!("http://{}/hook", listener.local_addr().unwrap()))
                .unwrap();
            axum::serve(listener, app).await.unwrap();
        });
    });
    rx.recv().unwrap()
}

/// Requests per second `wrk` gets from the receiver, or `None` without `wrk`.
fn ceiling(url: &str, concurrency: usize, seconds: usize, dir: &Path) -> Option<f64> {
    let script = dir.join("post.lua");
    std::fs::write(
        &script,
        format!(
            "wrk.method = \"POST\"\nwrk.body = '{BODY}'\nwrk.headers[\"Content-Type\"] = \"application/json\"\n"
        ),
    )
    .unwrap();
    let out = Command::new("wrk")
        .args([
            "-t1",
            &format!("-c{concurrency}"),
            &format!("-d{seconds}s"),
            "-s",
        ])
        .arg(&script)
        .arg(url)
        .output()
        .ok()?;
    let text = String::from_utf8_lossy(&out.stdout);
    text.lines()
        .find_map(|l| l.strip_prefix("Requests/sec:"))
        .and_then(|v| v.trim().parse().ok())
}

/// Requests per second reqwest alone gets from the receiver: on as many threads as the
/// delivery uses (`--threads`, one per core by default), each a current-thread runtime with its own client set up
/// like the deliverer's and its share of `concurrency` tasks POSTing the same body; no engine
/// and no signing.
fn client_alone(url: &str, n: usize, concurrency: usize, threads: usize) -> Rate {
    let threads = threads.min(concurrency);
    let tasks = concurrency / threads;
    Rate::measure(n, || {
        std::thread::scope(|scope| {
            for thread in 0..threads {
                scope.spawn(move || {
                    let runtime = tokio::runtime::Builder::new_current_thread()
                        .enable_all()
                        .build()
                        .unwrap();
                    let client = reqwest::Client::builder()
                        .pool_max_idle_per_host(tasks)
                        .build()
                        .unwrap();
                    runtime.block_on(async {
                        let all: Vec<_> = (0..tasks)
                            .map(|task| {
                                let client = client.clone();
                                let url = url.to_string();
                                let first = thread * tasks + task;
                                tokio::spawn(async move {
                                    for _ in (first..n).step_by(tasks * threads) {
                                        let response = client
                                            .post(&url)
                                            .header("Content-Type", "application/json")
                                            .body(BODY)
                                            .send()
                                            .await
                                            .unwrap();
                                        assert!(response.status().is_success());
                                        response.bytes().await.unwrap();
                                    }
                                })
                            })
                            .collect();
                        for task in all {
                            task.await.unwrap();
                        }
                    });
                });
            }
        });
    })
}

/// Starts `n` processes (each writes one webhook), then times draining the outbox.
fn deliver<S: Store + 'static>(
    store: S,
    plan: &Plan,
    n: usize,
    concurrency: usize,
    threads: usize,
    dir: &Path,
) -> Rate {
    let engine = Arc::new(Engine::new(
        store,
        Arc::new(SystemClock),
        EngineConfig::default(),
    ));
    engine
        .put_record(&RecordRow::new(Module::Property, "P1").with("supervisor", json!("k.schmidt")))
        .unwrap();
    engine.deploy(plan).unwrap();
    for _ in 0..n {
        engine
            .start(&StartRequest {
                template: "hook".into(),
                owner: "k.schmidt".into(),
                links: Links {
                    property: Some("P1".into()),
                    ..Links::default()
                },
                started_by: "k.schmidt".into(),
                ..Default::default()
            })
            .unwrap();
    }
    std::fs::write(dir.join("whsec"), SECRET).unwrap();
    let config = DeliveryConfig::from_toml(
        &format!(
            "[delivery]\nconcurrency = {concurrency}\nper_endpoint = {concurrency}\n\
             threads = {threads}\nretry_schedule = [0]\nwebhook_secret_file = \"whsec\"\nallowed_hosts = [\"127.0.0.1\"]\n"
        ),
        dir,
    )
    .unwrap();
    let delivery = DeliveryThreads::new(&engine, &Arc::new(plan.clone()), &config, None).unwrap();
    let mut attempts = 0;
    let rate = Rate::measure(n, || attempts = delivery.drain().unwrap());
    let delivered = engine
        .outbox()
        .unwrap()
        .iter()
        .filter(|o| o.delivered_at.is_some())
        .count();
    assert_eq!(delivered, n, "every webhook is delivered");
    assert_eq!(attempts, n, "one attempt each");
    rate
}

fn main() {
    procc_alloc::without_huge_pages();
    let args: Vec<String> = std::env::args().collect();
    let effects = arg(&args, "--effects", 20_000);
    let sqlite_effects = arg(&args, "--sqlite-effects", 20_000);
    let concurrency = arg(&args, "--concurrency", 64);
    // One delivery thread per core, as `procc run` delivers by default.
    let cores = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
    let threads = arg(&args, "--threads", cores);
    let seconds = arg(&args, "--wrk-seconds", 5);
    let only = args
        .iter()
        .position(|a| a == "--only")
        .and_then(|i| args.get(i + 1))
        .cloned();
    let dir = tempfile::tempdir().unwrap();
    let url = receiver();
    let plan = plan(&url);

    let ceiling = ceiling(&url, concurrency, seconds, dir.path());
    match ceiling {
        Some(c) => {
            println!("ceiling: wrk -t1 -c{concurrency} -d{seconds}s POST {url}: {c:.0} requests/s")
        }
        None => println!("ceiling: not measured (`wrk` is not installed)"),
    }
    let show = |rate: &Rate| {
        let share = ceiling.map_or_else(String::new, |c| {
            format!(" ({:.0}% of the ceiling)", 100.0 * rate.per_second / c)
        });
        format!(
            "{:.0}/s{share}, {:.1} µs CPU each (receiver included)",
            rate.per_second, rate.cpu_micros
        )
    };
    if only.as_deref().is_none_or(|o| o == "client") {
        let rate = client_alone(&url, effects, concurrency, threads);
        println!("reqwest alone: {effects} requests, {}", show(&rate));
    }
    if only.as_deref().is_none_or(|o| o == "memory") {
        let rate = deliver(
            MemoryStore::new(),
            &plan,
            effects,
            concurrency,
            threads,
            dir.path(),
        );
        println!("memory store: {effects} webhooks, {}", show(&rate));
    }
    if only.as_deref().is_none_or(|o| o == "sqlite") {
        let store = SqliteStore::open(dir.path().join("bench.db")).unwrap();
        let rate = deliver(
            store,
            &plan,
            sqlite_effects,
            concurrency,
            threads,
            dir.path(),
        );
        println!("SQLite: {sqlite_effects} webhooks, {}", show(&rate));
    }
}
