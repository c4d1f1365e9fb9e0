//! Every example template's scenarios pass.

use std::path::{Path, PathBuf};

use procc_scenario::{Summary, find_scenario_files, load_project, render_plain, run_file};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

#[test]
fn example_scenarios_pass() {
    let examples = root().join("examples");
    let files = find_scenario_files(std::slice::from_ref(&examples)).unwrap();
    let mut project = load_project(&examples).unwrap();
    let plan = project.plan.clone().expect("the examples compile");
    let mut summary = Summary::default();
    let mut output = String::new();
    for path in &files {
        let (id, text) = project.add_file(path).unwrap();
        let report = run_file(&plan, id, &text);
        for d in report.all_diagnostics() {
            output.push_str(&render_plain(project.sources.get(id), d));
        }
        summary.add(&report);
    }
    assert!(summary.ok(), "{output}{summary}");
    // Every example template has a scenario file.
    for entry in std::fs::read_dir(&examples).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "proc") {
            assert!(
                path.with_extension("scenario").is_file(),
                "{} has no scenario file",
                path.display()
            );
        }
    }
}
