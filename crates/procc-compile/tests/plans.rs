//! Compiling the examples: the golden plan, determinism, and what changes the hash.

use procc_diagnostics::{FileId, Sources};
use procc_plan::{Next, Plan};

fn repo() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The example project's files, as (name relative to `examples/`, text), sorted by name.
fn example_files() -> Vec<(String, String)> {
    let mut files: Vec<(String, String)> = std::fs::read_dir(repo().join("examples"))
        .expect("examples/ exists")
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "proc"))
        .map(|p| {
            let name = p
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            (name, std::fs::read_to_string(&p).expect("readable example"))
        })
        .collect();
    files.sort();
    files
}

fn catalog_text() -> String {
    std::fs::read_to_string(repo().join("examples/procc.toml"))
        .expect("readable examples/procc.toml")
}

fn compile(catalog: &str, files: &[(String, String)]) -> Plan {
    let mut sources = Sources::new();
    let catalog_id = sources.add("procc.toml", catalog);
    let (catalog, catalog_diagnostics) = procc_catalog::parse_catalog(catalog_id, catalog);
    let ids: Vec<FileId> = files
        .iter()
        .map(|(name, text)| sources.add(name.as_str(), text.as_str()))
        .collect();
    let parsed: Vec<_> = ids
        .iter()
        .map(|&id| {
            let (file, problems) = procc_syntax::parse(id, sources.get(id).text());
            assert!(problems.is_empty(), "{problems:#?}");
            (id, file)
        })
        .collect();
    let refs: Vec<_> = parsed.iter().map(|(id, file)| (*id, file)).collect();
    let compiled = procc_compile::compile(&sources, &refs, &catalog, catalog_diagnostics);
    let errors: Vec<_> = compiled
        .diagnostics
        .iter()
        .filter(|d| d.is_error())
        .collect();
    assert!(errors.is_empty(), "{errors:#?}");
    compiled.plan.expect("a plan without errors")
}

#[test]
fn the_example_project_compiles_to_the_golden_plan() {
    let plan = compile(&catalog_text(), &example_files());
    let path = repo().join("tests/plans/examples.plan.json");
    let text = plan.to_json();
    if std::env::var_os("UPDATE_EXPECT").is_some() {
        std::fs::create_dir_all(repo().join("tests/plans")).expect("writable tests/plans");
        std::fs::write(&path, &text).expect("writable golden plan");
    }
    let golden = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        golden == text,
        "tests/plans/examples.plan.json is out of date: review the change, then run `UPDATE_EXPECT=1 cargo test -p procc-compile`"
    );
    let loaded = procc_plan::load(FileId(0), &golden).expect("the golden plan loads");
    assert_eq!(loaded, plan);
}

#[test]
fn every_template_and_step_of_the_examples_is_in_the_plan() {
    let plan = compile(&catalog_text(), &example_files());
    let names: Vec<_> = plan.templates.iter().map(|t| t.name.as_str()).collect();
    for expected in [
        "revaluation",
        "seller_acquisition",
        "portal_inquiry",
        "owner_reporting",
        "birthday_greeting",
        "letting",
        "viewing_feedback",
    ] {
        assert!(
            names.contains(&expected),
            "missing template {expected}: {names:?}"
        );
    }
    let revaluation = plan.template("revaluation").expect("revaluation");
    let big_change = revaluation
        .steps
        .iter()
        .position(|s| s.name == "big_change")
        .expect("big_change");
    let yes = revaluation
        .steps
        .iter()
        .position(|s| s.name == "notify_owner")
        .expect("notify_owner");
    let done = revaluation
        .steps
        .iter()
        .position(|s| s.name == "done")
        .expect("done");
    assert_eq!(
        revaluation.steps[big_change].next,
        Next::Branch {
            yes: u32::try_from(yes).expect("small"),
            no: u32::try_from(done).expect("small"),
        }
    );
    assert_eq!(revaluation.steps[done].next, Next::End);
    assert_eq!(
        revaluation.steps[done].incoming.len(),
        2,
        "done is reached from the decision and from notify_owner"
    );
    assert_eq!(revaluation.steps[0].source.file, "revaluation.proc");
}

#[test]
fn the_same_sources_give_the_same_bytes_in_any_order() {
    let files = example_files();
    let mut reversed = files.clone();
    reversed.reverse();
    let a = compile(&catalog_text(), &files);
    let b = compile(&catalog_text(), &reversed);
    assert_eq!(a.to_json(), b.to_json());
}

#[test]
fn a_changed_source_or_catalog_changes_the_hash_and_nothing_else_does() {
    let files = example_files();
    let base = compile(&catalog_text(), &files).hash;
    assert_eq!(
        compile(&catalog_text(), &files).hash,
        base,
        "compiling again gives the same hash"
    );

    let mut changed_source = files.clone();
    let (_, text) = changed_source
        .iter_mut()
        .find(|(n, _)| n == "revaluation.proc")
        .expect("revaluation.proc");
    *text = text.replacen("deadline 2 days", "deadline 4 days", 1);
    assert_ne!(
        compile(&catalog_text(), &changed_source).hash,
        base,
        "a changed deadline changes the hash"
    );

    let changed_catalog = catalog_text().replacen("k.schmidt@", "karin.schmidt@", 1);
    assert_ne!(
        changed_catalog,
        catalog_text(),
        "the catalog names k.schmidt's e-mail"
    );
    assert_ne!(
        compile(&changed_catalog, &files).hash,
        base,
        "a changed catalog changes the hash"
    );
}
