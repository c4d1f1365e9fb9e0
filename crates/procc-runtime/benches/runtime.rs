//! Benchmarks of the runtime (figures in `docs/performance.md`, section "Runtime").
//!
//! ```text
//! cargo bench -p procc-runtime --bench runtime -- [--instances N] [--sqlite-instances N]
//!     [--waiting N] [--timers N] [--dir DIR] [--group N] [--rounds N]
//!     [--only small,durable,postgres,memory,sqlite]
//! ```
//!
//! `--group N` applies starts (also of the waiting instances) and completions in batches of N operations ([`Engine::batch`]:
//! one transaction, one commit each) instead of one transaction each.
//!
//! `--rounds N` runs the small process in memory N times in this one program, each round on a
//! new engine and store (the last round's are dropped first). The first round takes memory
//! the program never had; the later ones take what the earlier gave back, as a runtime that
//! has run for a while does.
//!
//! 1. Instances per second to completion on a virtual clock of a small process (automatic
//!    e-mail, automatic decision, task with a 3-day deadline that e-mails the controller,
//!    end), with the memory store and with SQLite. Half the tasks are done after a day, half
//!    after four days (their deadline rung fired); every effect is delivered.
//!    `postgres` runs the same on PostgreSQL (`--sqlite-instances` of them), then measures
//!    timers fired per second by 1, 2 and 4 workers sharing the database.
//! 2. Durable transactions per second on SQLite (one engine operation is one commit), next to
//!    the raw `write + fdatasync` rate of the same folder.
//! 3. Memory (memory store) and disk (SQLite) per waiting instance, at `--waiting` instances
//!    whose only step is scheduled 30 days later.
//! 4. With those instances waiting, the delay between a timer's due time and its firing when
//!    `--timers` timers come due one every 2 ms, under the tokio `Runtime` on a clock that
//!    follows the system clock.

#![allow(missing_docs)]
#![allow(clippy::unwrap_used)]

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use chrono::{DateTime, Duration, TimeZone, Utc};
use procc_plan::{Module, Plan, Template};
use procc_runtime::*;
use serde_json::{Value, json};

/// The allocator of the `procc` binary, which runs this engine in `procc run` and `procc serve`:
/// measured with the allocator it runs with.
#[global_allocator]
static ALLOCATOR: procc_alloc::Allocator = procc_alloc::Allocator;

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 2, 8, 0, 0).unwrap()
}

fn step(name: &str, action: Value, automatic: bool) -> Value {
    json!({
        "name": name, "action": action, "start_after": null,
        "responsible": {"kind": "owner"}, "deadline": [], "concerns": [],
        "skippable": false, "automatic": automatic, "next": null, "incoming": [],
        "source": {"file": "bench.proc", "line": 1, "column": 1}
    })
}

fn email() -> Value {
    json!({"kind": "email", "template": "acquisition-intro", "send_at": null, "signature": true,
           "mailbox": null, "contact": null})
}

fn template(name: &str, mut steps: Vec<Value>, needs: Value) -> Template {
    let n = steps.len();
    for (i, s) in steps.iter_mut().enumerate() {
        if s["next"].is_null() {
            s["next"] = if i + 1 < n {
                json!({"kind": "step", "step": i + 1})
            } else {
                json!({"kind": "end"})
            };
        }
    }
    serde_json::from_value(json!({
        "name": name, "title": null, "description": null, "active": true,
        "needs": needs, "needs_email": false,
        "controller": {"kind": "user", "id": "k.schmidt"},
        "notify_controller_on_cancel": false, "triggers": [], "steps": steps,
        "source": {"file": "bench.proc", "line": 1, "column": 1}
    }))
    .unwrap()
}

fn plan() -> Plan {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../tests/plans/examples.plan.json"
    ))
    .unwrap();
    let examples: Plan = serde_json::from_str(&text).unwrap();
    let mut decide = step(
        "pricey",
        json!({"kind": "decision", "mode": "automatic", "question": null,
            "condition": {"kind": "binary", "op": "gt",
                "left": {"kind": "field", "module": "property", "field": "purchase_price"},
                "right": {"kind": "value", "value": {"type": "number", "value": 400000.0}}},
            "notify_decider": false}),
        true,
    );
    decide["next"] = json!({"kind": "branch", "yes": 2, "no": 3});
    let mut task = step(
        "call",
        json!({"kind": "task", "subject": "Call the owner", "description": null,
            "attachments": [], "processor": null}),
        false,
    );
    task["deadline"] = json!([{"after": {"amount": 3, "unit": "days", "calendar": null},
        "action": {"kind": "email_controller"}}]);
    let small = template(
        "small",
        vec![
            step("welcome", email(), true),
            decide,
            task,
            step("done", json!({"kind": "end"}), true),
        ],
        json!(["address", "property"]),
    );
    let mut later = step("later", email(), true);
    later["start_after"] = json!({"amount": 30, "unit": "days", "calendar": null});
    let wait = template(
        "wait",
        vec![later, step("done", json!({"kind": "end"}), true)],
        json!(["address"]),
    );
    let mut soon = step("soon", email(), true);
    soon["start_after"] = json!({"amount": 1, "unit": "hours", "calendar": null});
    let soon = template(
        "soon",
        vec![soon, step("done", json!({"kind": "end"}), true)],
        json!(["address"]),
    );
    let one = template(
        "one",
        vec![
            step(
                "visit",
                json!({"kind": "appointment", "subject": "Visit", "appointment_type": null,
                    "all_day": false, "description": null, "attachments": []}),
                false,
            ),
            step("done", json!({"kind": "end"}), true),
        ],
        json!([]),
    );
    Plan::new(
        examples.tenant,
        examples.catalog,
        vec![small, wait, soon, one],
    )
}

fn setup<S: Store>(engine: &Engine<S>) {
    engine.deploy(&plan()).unwrap();
    engine
        .put_record(
            &RecordRow::new(Module::Address, "A1")
                .with("email", json!("anna@example.org"))
                .with("supervisor", json!("m.weber")),
        )
        .unwrap();
    engine
        .put_record(
            &RecordRow::new(Module::Property, "P1")
                .with("supervisor", json!("a.yilmaz"))
                .with("purchase_price", json!(500000)),
        )
        .unwrap();
}

fn request(template: &str) -> StartRequest {
    StartRequest {
        template: template.into(),
        owner: "j.becker".into(),
        links: Links {
            address: Some("A1".into()),
            property: Some("P1".into()),
            project: None,
        },
        started_by: "k.schmidt".into(),
        ..Default::default()
    }
}

/// Counts deliveries and keeps nothing.
#[derive(Default)]
struct CountingConnector {
    count: AtomicUsize,
}

impl Connector for CountingConnector {
    fn deliver(&self, _: &OutboxRow) -> Result<(), String> {
        self.count.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }
}

/// A clock that stands still at a set time (setting up) or follows the system clock with an
/// offset (running the tokio `Runtime` on plan times in the past or future).
struct BenchClock {
    state: Mutex<(Option<DateTime<Utc>>, Duration)>,
}

impl BenchClock {
    fn fixed(at: DateTime<Utc>) -> BenchClock {
        BenchClock {
            state: Mutex::new((Some(at), Duration::zero())),
        }
    }
    fn set(&self, at: DateTime<Utc>) {
        *self.state.lock().unwrap() = (Some(at), Duration::zero());
    }
    /// From now on the clock reads `at` and runs with the system clock.
    fn follow(&self, at: DateTime<Utc>) {
        *self.state.lock().unwrap() = (None, at - Utc::now());
    }
}

impl Clock for BenchClock {
    fn now(&self) -> DateTime<Utc> {
        match *self.state.lock().unwrap() {
            (Some(at), _) => at,
            (None, offset) => Utc::now() + offset,
        }
    }
}

fn rate(n: usize, secs: f64) -> String {
    thousands((n as f64 / secs).round() as u64)
}

fn thousands(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// Applies operations in batches of `group` (one commit each), or one by one when `group` is 1.
fn apply<S: Store>(engine: &Engine<S>, ops: Vec<Operation>, group: usize) {
    for chunk in ops.chunks(group.max(1)) {
        for result in engine.batch(chunk).unwrap() {
            result.unwrap();
        }
    }
}

fn complete(task: u64) -> Operation {
    Operation::CompleteTask {
        task,
        by: "j.becker".into(),
    }
}

/// The timed part of measure 1: starts `n` small processes and drives them to their end. A
/// function of its own so that callgrind can count its instructions alone
/// (`--toggle-collect='runtime::drive_small*'`), without the setup, the checks and the drop
/// of the store.
#[inline(never)]
fn drive_small<S: Store>(
    engine: &Engine<S>,
    clock: &VirtualClock,
    connector: &CountingConnector,
    n: usize,
    group: usize,
) {
    if group > 1 {
        let starts = (0..n).map(|_| Operation::Start(request("small"))).collect();
        apply(engine, starts, group);
    } else {
        for _ in 0..n {
            engine.start(&request("small")).unwrap();
        }
    }
    // The tasks are the only artefacts of this process: ids 1..=n.
    let tasks: Vec<u64> = (1..=n as u64).collect();
    engine
        .advance_to(clock, t0() + Duration::days(1), Some(connector))
        .unwrap();
    let first: Vec<u64> = tasks.iter().copied().step_by(2).collect();
    let rest: Vec<u64> = tasks.iter().copied().skip(1).step_by(2).collect();
    let finish = |tasks: &[u64]| {
        if group > 1 {
            apply(engine, tasks.iter().map(|t| complete(*t)).collect(), group);
        } else {
            for task in tasks {
                engine.complete_task(*task, "j.becker").unwrap();
            }
        }
    };
    finish(&first);
    engine
        .advance_to(clock, t0() + Duration::days(4), Some(connector))
        .unwrap();
    finish(&rest);
    engine.dispatch(connector).unwrap();
}

/// 1. The small process to completion; its instances per second.
fn small_process<S: Store>(label: &str, store: S, n: usize, group: usize) -> f64 {
    let clock = VirtualClock::new(t0());
    let engine = Engine::new(store, Arc::new(clock.clone()), EngineConfig::default());
    setup(&engine);
    let connector = CountingConnector::default();
    let audit_before = engine.audit().unwrap().len();
    let (rss_before, cpu_before) = (rss_bytes(), cpu_seconds());
    let started = Instant::now();
    drive_small(&engine, &clock, &connector, n, group);
    let secs = started.elapsed().as_secs_f64();
    let (user, system) = cpu_seconds();
    let (user, system) = (user - cpu_before.0, system - cpu_before.1);
    let grown = rss_bytes().saturating_sub(rss_before);
    assert!(engine.running().unwrap().is_empty(), "all completed");
    let effects = connector.count.load(Ordering::Relaxed);
    assert_eq!(
        effects,
        n + n / 2,
        "a welcome e-mail each, a deadline e-mail for half"
    );
    let transitions = engine.audit().unwrap().len() - audit_before;
    println!(
        "small process, {label}, operations grouped by {group}: {n} instances in {secs:.2} s = \
         {} instances/s ({} audited transitions/s, {effects} effects); CPU {user:.2} s user + \
         {system:.2} s system; RSS grew {} bytes per instance",
        rate(n, secs),
        rate(transitions, secs),
        thousands(grown / n as u64),
    );
    n as f64 / secs
}

/// The raw rate of 4 KiB `write` + `fdatasync` in a folder, for one second.
fn fsync_rate(dir: &Path) -> f64 {
    let path = dir.join("fsync.probe");
    let mut f = std::fs::File::create(&path).unwrap();
    let block = [7u8; 4096];
    let started = Instant::now();
    let mut n = 0;
    while started.elapsed().as_secs_f64() < 1.0 {
        f.write_all(&block).unwrap();
        f.sync_data().unwrap();
        n += 1;
    }
    drop(f);
    std::fs::remove_file(path).unwrap();
    n as f64 / started.elapsed().as_secs_f64()
}

/// 2. Durable transactions: starts of a one-step manual process, then completions; one
///    commit per engine operation, or per `group` operations.
fn durable_transactions(dir: &Path, n: usize, group: usize) {
    let path = dir.join("durable.db");
    let clock = VirtualClock::new(t0());
    let engine = Engine::new(
        SqliteStore::open(&path).unwrap(),
        Arc::new(clock.clone()),
        EngineConfig::default(),
    );
    setup(&engine);
    let started = Instant::now();
    let mut ids = Vec::with_capacity(n);
    if group > 1 {
        let starts: Vec<Operation> = (0..n).map(|_| Operation::Start(request("one"))).collect();
        for chunk in starts.chunks(group) {
            for result in engine.batch(chunk).unwrap() {
                match result.unwrap() {
                    Applied::Started(id) => ids.push(id),
                    other => panic!("a start returned {other:?}"),
                }
            }
        }
        let completions = ids
            .iter()
            .map(|id| Operation::CompleteStep {
                instance: *id,
                step: 0,
                by: "j.becker".into(),
                input: StepInput::default(),
            })
            .collect();
        apply(&engine, completions, group);
    } else {
        for _ in 0..n {
            ids.push(engine.start(&request("one")).unwrap());
        }
        for id in &ids {
            engine
                .complete_step(*id, 0, "j.becker", &StepInput::default())
                .unwrap();
        }
    }
    let secs = started.elapsed().as_secs_f64();
    assert!(engine.running().unwrap().is_empty(), "all completed");
    println!(
        "durable transactions, SQLite (synchronous=FULL, {group} operations per commit): {} in {secs:.2} s = {}/s; \
         raw write+fdatasync in the same folder: {}/s",
        2 * n,
        rate(2 * n, secs),
        thousands(fsync_rate(dir) as u64),
    );
}

/// The CPU time this process has used so far, in user and in system (kernel) mode: on a
/// virtual machine, the kernel's first touch of fresh memory can cost more than the work.
fn cpu_seconds() -> (f64, f64) {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the command name (which may hold spaces) in parentheses; utime and stime
    // are the 14th and 15th fields, in clock ticks of 1/100 s on Linux.
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map_or("", |(_, rest)| rest)
        .split_whitespace()
        .collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|t| t.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    (ticks(11) / 100.0, ticks(12) / 100.0)
}

fn rss_bytes() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    let pages: u64 = statm
        .split_whitespace()
        .nth(1)
        .and_then(|p| p.parse().ok())
        .unwrap_or(0);
    pages * 4096
}

fn file_size(path: &Path) -> u64 {
    std::fs::metadata(path).map(|m| m.len()).unwrap_or(0)
}

/// 3. Waiting instances; returns the engine (with its clock) for the timer-delay measure.
fn waiting<S: Store>(
    label: &str,
    store: S,
    n: usize,
    db: Option<&Path>,
    group: usize,
) -> (Engine<S>, Arc<BenchClock>) {
    let clock = Arc::new(BenchClock::fixed(t0()));
    let engine = Engine::new(store, clock.clone(), EngineConfig::default());
    setup(&engine);
    let rss = rss_bytes();
    let started = Instant::now();
    // Spread the starts (and their timers) over a day of plan time; a group of starts shares
    // its first start's time.
    let group = group.max(1);
    for first in (0..n).step_by(group) {
        clock.set(t0() + Duration::milliseconds((first as i64 * 86_400_000) / n as i64));
        let starts = (first..n.min(first + group))
            .map(|_| Operation::Start(request("wait")))
            .collect();
        apply(&engine, starts, group);
    }
    let secs = started.elapsed().as_secs_f64();
    let memory = rss_bytes().saturating_sub(rss);
    let disk = db.map(|p| {
        let wal = PathBuf::from(format!("{}-wal", p.display()));
        (file_size(p), file_size(&wal))
    });
    match disk {
        Some((db, wal)) => println!(
            "waiting instances, {label}: {n} started in {secs:.1} s ({}/s); file {} bytes + WAL {} bytes = {} bytes per waiting instance; RSS grew {} bytes",
            rate(n, secs),
            thousands(db),
            thousands(wal),
            thousands((db + wal) / n as u64),
            thousands(memory),
        ),
        None => println!(
            "waiting instances, {label}: {n} started in {secs:.1} s ({}/s); RSS grew {} bytes = {} bytes per waiting instance",
            rate(n, secs),
            thousands(memory),
            thousands(memory / n as u64),
        ),
    }
    (engine, clock)
}

/// Measure 4: timers coming due one every 2 ms while the waiting instances wait; the tokio
/// `Runtime` fires them. The delay is the step's activation time minus the timer's due time.
fn timer_delay<S: Store + 'static>(
    label: &str,
    engine: Engine<S>,
    clock: Arc<BenchClock>,
    k: usize,
) {
    let base = t0() + Duration::days(2);
    let spacing = Duration::milliseconds(2);
    let mut due = Vec::with_capacity(k);
    for i in 0..k {
        clock.set(base + spacing * i as i32);
        let id = engine.start(&request("soon")).unwrap();
        let view = engine.instance(id).unwrap();
        due.push((id, view.timers[0].due_at));
    }
    let engine = Arc::new(engine);
    let connector = Arc::new(CountingConnector::default());
    let runtime = Runtime::new(engine.clone(), connector.clone());
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    // The first timer comes due 200 ms after the runtime starts.
    clock.follow(due[0].1 - Duration::milliseconds(200));
    let wall = Instant::now();
    rt.block_on(async {
        let done = async {
            while connector.count.load(Ordering::Relaxed) < k {
                tokio::time::sleep(std::time::Duration::from_millis(20)).await;
            }
        };
        runtime.run(done).await.unwrap();
    });
    let secs = wall.elapsed().as_secs_f64();
    let mut delays: Vec<i64> = due
        .iter()
        .map(|(id, at)| {
            let view = engine.instance(*id).unwrap();
            let fired = view.step("soon").unwrap().activated_at.unwrap();
            (fired - *at).num_microseconds().unwrap()
        })
        .collect();
    delays.sort_unstable();
    let pct = |p: usize| delays[(delays.len() - 1) * p / 100] as f64 / 1000.0;
    println!(
        "timer delay, {label}: {k} timers due one every 2 ms ({:.0}/s) in {secs:.1} s: \
         p50 {:.1} ms, p90 {:.1} ms, p99 {:.1} ms, max {:.1} ms; rounds {}",
        1000.0 / 2.0,
        pct(50),
        pct(90),
        pct(99),
        pct(100),
        runtime.rounds().load(Ordering::Relaxed),
    );
}

fn drop_schema(url: &str, schema: &str) {
    let mut admin = postgres::Client::connect(url, postgres::NoTls).unwrap();
    admin
        .batch_execute(&format!("DROP SCHEMA {schema} CASCADE"))
        .unwrap();
}

/// Timers fired per second by `workers` engines (threads, each with its own connection, as
/// separate `procc run` processes would be) sharing one PostgreSQL schema, when the timers of
/// `n` waiting instances are all due.
fn postgres_workers(url: &str, n: usize, workers: usize) {
    let schema = format!("procc_bench_workers_{}", std::process::id());
    let clock = VirtualClock::new(t0());
    let open = |i: usize| {
        let store = PostgresStore::open_schema(url, &schema).unwrap();
        let config = EngineConfig {
            worker: format!("worker-{i}"),
            ..EngineConfig::default()
        };
        Arc::new(Engine::new(store, Arc::new(clock.clone()), config))
    };
    let engines: Vec<_> = (0..workers).map(open).collect();
    setup(&engines[0]);
    let starts = (0..n).map(|_| Operation::Start(request("wait"))).collect();
    apply(&engines[0], starts, 64);
    clock.advance(Duration::days(31));
    let started = Instant::now();
    let fired: usize = engines
        .iter()
        .map(|engine| {
            let engine = engine.clone();
            std::thread::spawn(move || {
                let mut fired = 0;
                loop {
                    let now = engine.fire_due().unwrap();
                    if now == 0 {
                        return fired;
                    }
                    fired += now;
                }
            })
        })
        .collect::<Vec<_>>()
        .into_iter()
        .map(|t| t.join().unwrap())
        .sum();
    let secs = started.elapsed().as_secs_f64();
    assert_eq!(fired, n, "every timer fired once");
    println!(
        "timers fired on PostgreSQL by {workers} worker(s): {n} in {secs:.2} s = {}/s",
        rate(n, secs)
    );
    drop(engines);
    drop_schema(url, &schema);
}

fn arg(args: &[String], name: &str, default: usize) -> usize {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn main() {
    procc_alloc::without_huge_pages();
    let args: Vec<String> = std::env::args().collect();
    let instances = arg(&args, "--instances", 2_000);
    let sqlite_instances = arg(&args, "--sqlite-instances", 2_000);
    let waiting_n = arg(&args, "--waiting", 100_000);
    let timers = arg(&args, "--timers", 2_000);
    let group = arg(&args, "--group", 1);
    let rounds = arg(&args, "--rounds", 1);
    let only = args
        .iter()
        .position(|a| a == "--only")
        .and_then(|i| args.get(i + 1))
        .cloned()
        .unwrap_or_default();
    let tmp = tempfile::tempdir().unwrap();
    let dir = args
        .iter()
        .position(|a| a == "--dir")
        .and_then(|i| args.get(i + 1))
        .map(PathBuf::from)
        .unwrap_or_else(|| tmp.path().to_path_buf());
    let run = |what: &str| only.is_empty() || only.split(',').any(|o| o == what);

    if run("small") {
        let mut later = Vec::new();
        for round in 1..=rounds {
            let label = if rounds > 1 {
                format!("memory store, round {round}")
            } else {
                "memory store".to_string()
            };
            let rate = small_process(&label, MemoryStore::new(), instances, group);
            if round > 1 {
                later.push(rate);
            }
        }
        if !later.is_empty() {
            later.sort_by(f64::total_cmp);
            let mid = later.len() / 2;
            let median = if later.len() % 2 == 0 {
                (later[mid - 1] + later[mid]) / 2.0
            } else {
                later[mid]
            };
            println!(
                "small process, memory store, rounds 2 to {rounds}: median {} instances/s \
                 (slowest {}, fastest {})",
                thousands(median.round() as u64),
                thousands(later[0].round() as u64),
                thousands(later[later.len() - 1].round() as u64),
            );
        }
        let db = dir.join("small.db");
        small_process(
            "SQLite",
            SqliteStore::open(&db).unwrap(),
            sqlite_instances,
            group,
        );
    }
    if run("durable") {
        durable_transactions(&dir, sqlite_instances, group);
    }
    if run("postgres") {
        // A schema of its own on the machine's server (`PROCC_TEST_POSTGRES` names another),
        // dropped afterwards.
        let url = std::env::var("PROCC_TEST_POSTGRES")
            .unwrap_or_else(|_| "host=127.0.0.1 port=5432 user=postgres dbname=test".into());
        let schema = format!("procc_bench_{}", std::process::id());
        small_process(
            "PostgreSQL",
            PostgresStore::open_schema(&url, &schema).unwrap(),
            sqlite_instances,
            group,
        );
        drop_schema(&url, &schema);
        for workers in [1, 2, 4] {
            postgres_workers(&url, sqlite_instances, workers);
        }
    }
    if run("memory") {
        let (engine, clock) = waiting("memory store", MemoryStore::new(), waiting_n, None, group);
        timer_delay("memory store", engine, clock, timers);
    }
    if run("sqlite") {
        let db = dir.join("waiting.db");
        let (engine, clock) = waiting(
            "SQLite",
            SqliteStore::open(&db).unwrap(),
            waiting_n,
            Some(&db),
            group,
        );
        timer_delay("SQLite", engine, clock, timers);
    }
}
