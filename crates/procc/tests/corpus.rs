//! The language corpus: every `*.proc` file below the repository's `tests/` folder is a case.
//!
//! Layout:
//!
//! - `tests/pass/<name>.proc`: must check without any diagnostic (exit 0).
//! - `tests/fail/<CODE>-<name>.proc`: must report `<CODE>`. A case that needs its own project
//!   file (the `P5xxx` codes) is a folder `tests/fail/<CODE>-<name>/` holding a `procc.toml`
//!   and one or more `.proc` files; the code is then taken from the folder's name.
//! - A `procc.toml` applies to the cases in its folder and below, found upward as `procc check`
//!   finds it (so `tests/procc.toml` is the catalog of every case without one of its own).
//!
//! Each case is run as `procc check <case> --format human` (with `NO_COLOR=1`; output is not a
//! terminal, so 100 columns without colour) and `--format json`, from the `tests/` folder so
//! the names in the output do not depend on the machine. The outputs are compared with the files
//! beside the case: `<name>.out` (the first line is `exit: <code>`, then standard output, then
//! standard error after a `--- stderr` line when there is any) and `<name>.json`.
//!
//! `UPDATE_EXPECT=1 cargo test -p procc --test corpus` writes the expected files instead of
//! comparing (review the changes with `git diff`).

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use procc_diagnostics::ALL_CODES;

/// Codes that have no case in `tests/fail`, each with the reason and where it is tested.
const NOT_IN_CORPUS: &[(&str, &str)] = &[
    (
        "P6001",
        "scenario code: `procc check` reads no scenario; tested by tests/run and procc-scenario",
    ),
    (
        "P6002",
        "scenario code: `procc check` reads no scenario; tested by tests/run and procc-scenario",
    ),
    (
        "P6003",
        "scenario code: `procc check` reads no scenario; tested by tests/run and procc-scenario",
    ),
    (
        "P6004",
        "scenario code: `procc check` reads no scenario; tested by tests/run and procc-scenario",
    ),
    (
        "P0004",
        "file-too-large needs a file over 32 MB; tests/cli.rs `file_too_large_is_refused` makes one",
    ),
    (
        "P4001",
        "compiled-plan code: `procc check` reads no plan; tested with the plan loader",
    ),
    (
        "P4002",
        "compiled-plan code: `procc check` reads no plan; tested with the plan loader",
    ),
    (
        "P4003",
        "compiled-plan code: `procc check` reads no plan; tested with the plan loader",
    ),
    (
        "P4004",
        "compiled-plan code: `procc check` reads no plan; tested with the plan loader",
    ),
    (
        "P4005",
        "compiled-plan code: `procc check` reads no plan; tested with the plan loader",
    ),
];

fn tests_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests")
}

/// Every `.proc` file below `dir`, sorted, skipping hidden folders.
fn cases(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let mut paths: Vec<PathBuf> = entries.flatten().map(|e| e.path()).collect();
    paths.sort();
    for path in paths {
        let hidden = path
            .file_name()
            .is_some_and(|n| n.to_string_lossy().starts_with('.'));
        if path.is_dir() && !hidden {
            cases(&path, out);
        } else if path.extension().is_some_and(|e| e == "proc") {
            out.push(path);
        }
    }
}

/// `fail/P1001-x.proc` → `P1001`; `fail/P5002-x/main.proc` → `P5002`.
fn expected_code(rel: &Path) -> Option<String> {
    let mut parts: Vec<String> = rel
        .iter()
        .map(|p| p.to_string_lossy().into_owned())
        .collect();
    if parts.first().map(String::as_str) != Some("fail") {
        return None;
    }
    parts.remove(0);
    parts.iter().find_map(|part| code_prefix(part))
}

fn code_prefix(name: &str) -> Option<String> {
    let (code, _) = name.split_once('-')?;
    let well_formed =
        code.len() == 5 && code.starts_with('P') && code[1..].bytes().all(|b| b.is_ascii_digit());
    well_formed.then(|| code.to_owned())
}

fn slashes(path: &Path) -> String {
    path.iter()
        .map(|p| p.to_string_lossy().into_owned())
        .collect::<Vec<_>>()
        .join("/")
}

struct Outcome {
    human: String,
    json: String,
}

fn run_case(dir: &Path, rel: &str) -> Outcome {
    let run = |format: &str| {
        Command::new(env!("CARGO_BIN_EXE_procc"))
            .args(["check", rel, "--format", format])
            .current_dir(dir)
            .env("NO_COLOR", "1")
            .env_remove("PROCC_TEST_PANIC")
            .output()
            .expect("run procc")
    };
    let human = run("human");
    let mut text = format!("exit: {}\n", human.status.code().unwrap_or(-1));
    text.push_str(&String::from_utf8_lossy(&human.stdout));
    if !human.stderr.is_empty() {
        text.push_str("--- stderr\n");
        text.push_str(&String::from_utf8_lossy(&human.stderr));
    }
    let json = run("json");
    let mut json_text = String::from_utf8_lossy(&json.stdout).into_owned();
    if !json.stderr.is_empty() {
        json_text.push_str("--- stderr\n");
        json_text.push_str(&String::from_utf8_lossy(&json.stderr));
    }
    Outcome {
        human: text,
        json: json_text,
    }
}

fn diff(expected: &str, actual: &str) -> String {
    similar::TextDiff::from_lines(expected, actual)
        .unified_diff()
        .context_radius(3)
        .header("expected", "actual")
        .to_string()
}

/// What comparing one expected file found.
enum Expectation {
    Same,
    Differs(String),
    Missing,
}

/// Compares `actual` with the file at `path`, or writes it when updating.
fn expect_file(path: &Path, actual: &str, update: bool) -> Expectation {
    let expected = std::fs::read_to_string(path).ok();
    if update {
        if expected.as_deref() != Some(actual) {
            std::fs::write(path, actual).expect("write expected file");
        }
        return Expectation::Same;
    }
    match expected {
        Some(expected) if expected == actual => Expectation::Same,
        Some(expected) => Expectation::Differs(diff(&expected, actual)),
        None => Expectation::Missing,
    }
}

#[test]
fn corpus() {
    let dir = tests_dir();
    let update = std::env::var_os("UPDATE_EXPECT").is_some_and(|v| v != "0");
    let mut all = Vec::new();
    cases(&dir, &mut all);
    assert!(!all.is_empty(), "no .proc cases below {}", dir.display());

    let mut failures = Vec::new();
    let mut missing = Vec::new();
    let mut covered = BTreeSet::new();
    for path in &all {
        let rel_path = path.strip_prefix(&dir).expect("below tests/");
        let rel = slashes(rel_path);
        let outcome = run_case(&dir, &rel);
        for (extension, actual) in [("out", &outcome.human), ("json", &outcome.json)] {
            let expected = path.with_extension(extension);
            let name = format!("tests/{}", slashes(&rel_path.with_extension(extension)));
            match expect_file(&expected, actual, update) {
                Expectation::Same => {}
                Expectation::Differs(diff) => failures.push(format!("{name} differs:\n{diff}")),
                Expectation::Missing => missing.push(name),
            }
        }

        if let Some(code) = expected_code(rel_path) {
            covered.insert(code.clone());
            let in_human = outcome.human.contains(&format!("[{code}]"));
            let in_json = outcome.json.contains(&format!("\"code\": \"{code}\""));
            if !in_human || !in_json {
                failures.push(format!(
                    "{rel}: expected code {code} in the output, got:\n{}",
                    outcome.human
                ));
            }
        } else if rel.starts_with("fail/") {
            failures.push(format!(
                "{rel}: a failing case is named `<CODE>-<name>` (file or folder)"
            ));
        }
        if rel.starts_with("pass/") && !outcome.human.starts_with("exit: 0\n") {
            failures.push(format!(
                "{rel}: a passing case must exit 0, got:\n{}",
                outcome.human
            ));
        }
        if rel.starts_with("pass/") && outcome.json.contains("\"code\":") {
            failures.push(format!(
                "{rel}: a passing case must have no diagnostic, got:\n{}",
                outcome.human
            ));
        }
    }

    // Every code has a failing case, unless it is allowed not to.
    let allowed: BTreeSet<&str> = NOT_IN_CORPUS.iter().map(|(code, _)| *code).collect();
    for code in ALL_CODES {
        if !covered.contains(code.id) && !allowed.contains(code.id) {
            failures.push(format!(
                "code {} ({}) has no failing case: add tests/fail/{}-<name>.proc",
                code.id, code.slug, code.id
            ));
        }
    }
    for (code, _) in NOT_IN_CORPUS {
        if covered.contains(*code) {
            failures.push(format!(
                "code {code} has a case now: remove it from NOT_IN_CORPUS"
            ));
        }
    }

    // Expected files whose case is gone.
    let proc_files: BTreeSet<PathBuf> = all.iter().cloned().collect();
    // Only the case folders: `tests/plans/` holds the golden plans of `procc-compile`.
    let mut expected = Vec::new();
    expected_files(&dir.join("pass"), &mut expected);
    expected_files(&dir.join("fail"), &mut expected);
    for path in expected {
        if !proc_files.contains(&path.with_extension("proc")) {
            let rel = path.strip_prefix(&dir).map(slashes).unwrap_or_default();
            failures.push(format!("tests/{rel} is left over: there is no case for it"));
        }
    }

    if !missing.is_empty() {
        failures.push(format!(
            "{} expected file(s) missing; run `UPDATE_EXPECT=1 cargo test -p procc --test corpus` \
             to write them, then review them:\n  {}",
            missing.len(),
            missing.join("\n  ")
        ));
    }
    if !failures.is_empty() {
        let mut report = format!("{} corpus problem(s):\n", failures.len());
        for f in &failures {
            let _ = writeln!(report, "\n{f}");
        }
        panic!("{report}");
    }
}

/// Every `.out` and `.json` file below `dir`.
fn expected_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for path in entries.flatten().map(|e| e.path()) {
        if path.is_dir() {
            expected_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "out" || e == "json") {
            out.push(path);
        }
    }
}

#[test]
fn case_names() {
    assert_eq!(
        expected_code(Path::new("fail/P1001-unknown-step.proc")).as_deref(),
        Some("P1001")
    );
    assert_eq!(
        expected_code(Path::new("fail/P5002-unknown-key/main.proc")).as_deref(),
        Some("P5002")
    );
    assert_eq!(
        expected_code(Path::new("pass/P1001-looks-like-a-code.proc")),
        None
    );
    assert_eq!(expected_code(Path::new("fail/typo.proc")), None);
}
