//! The scenarios shown in the documentation do what the text says: the code pages' examples
//! report their code and their fixes pass; every scenario of docs/testing.md passes.

use std::path::{Path, PathBuf};

use procc_diagnostics::FileId;
use procc_scenario::{load_project, run_file};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The ```scenario blocks of a Markdown text.
fn blocks(markdown: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut current: Option<String> = None;
    for line in markdown.lines() {
        match &mut current {
            None if line.trim_start() == "```scenario" => current = Some(String::new()),
            Some(block) if line.trim_start() == "```" => {
                out.push(std::mem::take(block));
                current = None;
            }
            Some(block) => {
                block.push_str(line);
                block.push('\n');
            }
            None => {}
        }
    }
    out
}

#[test]
fn code_pages_show_their_code_and_a_fix() {
    let project = load_project(&root().join("examples")).unwrap();
    let plan = project.plan.unwrap();
    for code in ["P6001", "P6002", "P6003", "P6004"] {
        let page = std::fs::read_to_string(root().join(format!("docs/codes/{code}.md"))).unwrap();
        let found = blocks(&page);
        assert_eq!(found.len(), 2, "{code}: an example and a fix");
        let example = run_file(&plan, FileId(0), &found[0]);
        let codes: Vec<&str> = example.all_diagnostics().map(|d| d.code.id).collect();
        assert_eq!(codes, [code], "{code} example: {example:#?}");
        let fix = run_file(&plan, FileId(0), &found[1]);
        assert_eq!(fix.all_diagnostics().count(), 0, "{code} fix: {fix:#?}");
        assert_eq!(fix.failed(), 0);
    }
}

#[test]
fn the_scenarios_of_the_testing_guide_pass() {
    let project = load_project(&root().join("examples")).unwrap();
    let plan = project.plan.unwrap();
    let guide = std::fs::read_to_string(root().join("docs/testing.md")).unwrap();
    let found = blocks(&guide);
    assert!(found.len() >= 5, "the guide shows scenarios");
    for block in found {
        let report = run_file(&plan, FileId(0), &block);
        assert_eq!(report.failed(), 0, "{block}\n{report:#?}");
    }
}
