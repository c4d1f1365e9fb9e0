//! The crash test: a real OS process (`procc-crash-driver`) drives many instances through
//! timers, deadline rungs, decisions and effects on a SQLite file and is killed with SIGKILL
//! at random points, again and again; after the last restart it runs to the end. The result
//! must equal an uninterrupted run: the same instances, steps, answers, fired rungs and
//! history with the same timestamps; every effect delivered; duplicates only as at-least-once
//! redelivery of a key the uninterrupted run delivered too.

#![cfg(unix)]
#![allow(missing_docs)]
#![allow(clippy::unwrap_used)]

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

const DRIVER: &str = env!("CARGO_BIN_EXE_procc-crash-driver");
const INSTANCES: &str = "120";
const KILLS: usize = 15;

fn plan_path() -> String {
    concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../tests/plans/examples.plan.json"
    )
    .to_string()
}

fn driver(dir: &Path) -> Command {
    let mut cmd = Command::new(DRIVER);
    cmd.arg(dir)
        .arg(plan_path())
        .arg(INSTANCES)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    cmd
}

/// Runs the driver to the end (it must succeed).
fn run_to_end(dir: &Path) {
    let out = driver(dir).output().unwrap();
    assert!(
        out.status.success(),
        "the driver failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "done");
}

fn final_state(dir: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(dir.join("final.json")).unwrap()).unwrap()
}

/// How often each key was handed to the connector.
fn delivered(dir: &Path) -> BTreeMap<String, usize> {
    let text = std::fs::read_to_string(dir.join("delivered.log")).unwrap();
    let mut counts = BTreeMap::new();
    for line in text.lines() {
        *counts.entry(line.to_string()).or_insert(0) += 1;
    }
    counts
}

/// xorshift64*: deterministic delays without a dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
}

#[test]
fn killed_again_and_again_the_runtime_ends_as_an_uninterrupted_run_does() {
    let reference_dir = tempfile::tempdir().unwrap();
    let started = Instant::now();
    run_to_end(reference_dir.path());
    let reference_time = started.elapsed();
    let reference = final_state(reference_dir.path());
    let reference_delivered = delivered(reference_dir.path());
    assert_eq!(reference["undelivered"], 0);
    assert!(
        reference_delivered.values().all(|&n| n == 1),
        "an uninterrupted run delivers each effect once"
    );
    let reference_keys: BTreeSet<String> = reference_delivered.keys().cloned().collect();
    let outbox_keys: BTreeSet<String> =
        serde_json::from_value(reference["outbox_keys"].clone()).unwrap();
    assert_eq!(reference_keys, outbox_keys);
    assert!(reference_keys.len() > 200, "the run is not trivial");

    // Kill points spread over the length of a run (restarts redo a little work each time).
    let span = (reference_time.as_millis() as u64 / 8).clamp(20, 400);
    let dir = tempfile::tempdir().unwrap();
    let mut rng = Rng(0x5EED_CAFE_F00D_0001);
    let mut killed = 0;
    for _ in 0..KILLS {
        let mut child = driver(dir.path()).spawn().unwrap();
        let delay = Duration::from_millis(5 + rng.next() % span);
        let deadline = Instant::now() + delay;
        let mut finished = false;
        while Instant::now() < deadline {
            if child.try_wait().unwrap().is_some() {
                finished = true;
                break;
            }
            std::thread::sleep(Duration::from_millis(2));
        }
        if finished {
            break;
        }
        // `Child::kill` sends SIGKILL on Unix.
        child.kill().unwrap();
        let status = child.wait().unwrap();
        if status.success() {
            // It finished between the last look and the kill.
            break;
        }
        killed += 1;
    }
    assert!(
        killed >= 5,
        "only {killed} kills landed while the driver ran"
    );
    run_to_end(dir.path());

    let crashed = final_state(dir.path());
    assert_eq!(crashed["undelivered"], 0);
    assert_eq!(crashed["clock"], reference["clock"]);
    let (ours, theirs) = (
        crashed["instances"].as_array().unwrap(),
        reference["instances"].as_array().unwrap(),
    );
    assert_eq!(ours.len(), theirs.len());
    for (a, b) in ours.iter().zip(theirs) {
        assert_eq!(
            a, b,
            "instance {} differs from the uninterrupted run",
            b["instance"]
        );
    }
    assert_eq!(crashed["outbox_keys"], reference["outbox_keys"]);

    let got = delivered(dir.path());
    let got_keys: BTreeSet<String> = got.keys().cloned().collect();
    let lost: Vec<_> = reference_keys.difference(&got_keys).collect();
    let extra: Vec<_> = got_keys.difference(&reference_keys).collect();
    assert!(lost.is_empty(), "effects lost: {lost:?}");
    assert!(
        extra.is_empty(),
        "effects the uninterrupted run has not: {extra:?}"
    );
    let redelivered: usize = got.values().map(|n| n - 1).sum();
    eprintln!(
        "{killed} kills; {} effects, {redelivered} redelivered with the same key",
        got.len()
    );
}
