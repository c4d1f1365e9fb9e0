//! The scenario corpus `tests/run/`: every `<name>.scenario` runs against the project of
//! `tests/run/procc.toml`, and its rendered diagnostics followed by the summary line must equal
//! `<name>.out`. `PROCC_BLESS=1 cargo test -p procc-scenario --test corpus` rewrites the `.out`
//! files.

use std::path::{Path, PathBuf};

use procc_scenario::{Summary, find_scenario_files, load_project, render_plain, run_file};

fn corpus() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/run")
}

#[test]
fn corpus_outputs_match() {
    let dir = corpus();
    let files = find_scenario_files(std::slice::from_ref(&dir)).unwrap();
    assert!(
        files.len() >= 5,
        "the corpus holds at least 5 scenario files"
    );
    let mut project = load_project(&dir).unwrap();
    assert!(project.diagnostics.is_empty(), "{:?}", project.diagnostics);
    let plan = project.plan.clone().expect("the corpus project compiles");
    let bless = std::env::var_os("PROCC_BLESS").is_some();
    let mut mismatches = Vec::new();
    for path in &files {
        let (id, text) = project.add_file(path).unwrap();
        let report = run_file(&plan, id, &text);
        let mut actual = String::new();
        for d in report.all_diagnostics() {
            actual.push_str(&render_plain(project.sources.get(id), d));
        }
        let mut summary = Summary::default();
        summary.add(&report);
        actual.push_str(&format!("{summary}\n"));
        let out = path.with_extension("out");
        if bless {
            std::fs::write(&out, &actual).unwrap();
            continue;
        }
        let expected = std::fs::read_to_string(&out).unwrap_or_default();
        if expected != actual {
            let diff = similar::TextDiff::from_lines(&expected, &actual);
            mismatches.push(format!(
                "{}:\n{}",
                out.display(),
                diff.unified_diff().header("expected", "actual")
            ));
        }
    }
    assert!(mismatches.is_empty(), "{}", mismatches.join("\n"));
}

#[test]
fn runs_are_deterministic() {
    let dir = corpus();
    let mut project = load_project(&dir).unwrap();
    let plan = project.plan.clone().unwrap();
    let (id, text) = project
        .add_file(&dir.join("failing_expectations.scenario"))
        .unwrap();
    let first = run_file(&plan, id, &text);
    let second = run_file(&plan, id, &text);
    assert_eq!(first, second);
}

#[test]
fn run_paths_groups_by_project_and_counts() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let (runs, summary) = procc_scenario::run_paths(&[root.join("examples"), corpus()]).unwrap();
    assert_eq!(runs.len(), 2);
    assert!(summary.passed > 20, "{summary}");
    // The failures are those the `.out` files of the corpus count (the examples all pass).
    let expected_failed: usize = find_scenario_files(&[corpus()])
        .unwrap()
        .iter()
        .map(|p| {
            let out = std::fs::read_to_string(p.with_extension("out")).unwrap();
            let last = out.lines().last().unwrap().to_string();
            let failed = last.split(", ").nth(1).unwrap();
            failed.trim_end_matches(" failed").parse::<usize>().unwrap()
        })
        .sum();
    assert!(expected_failed >= 10);
    assert_eq!(summary.failed, expected_failed, "{summary}");
    assert!(!summary.ok());
    assert_eq!(
        summary.to_string(),
        format!("{} passed, {expected_failed} failed", summary.passed)
    );
    let diagnostics: usize = runs.iter().map(|r| r.diagnostics().len()).sum();
    assert!(diagnostics >= expected_failed);
}
