//! Large inputs: the checker stays linear (run with `--release -- --nocapture --ignored` to see
//! the throughput), and pathological shapes do not overflow the stack.

mod common;

use std::fmt::Write as _;
use std::time::Instant;

use procc_diagnostics::Sources;

/// A process of about `blocks * 8` steps: decisions, merges, loops through a task, records,
/// projects, catalog references.
fn big_process(name: &str, blocks: usize) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "process {name} \"Big\" {{\n  needs property, address\n  trigger property saved when changed(rooms)"
    );
    let _ = writeln!(s, "  step create: create_project template \"sale-project\"");
    for i in 0..blocks {
        let _ = write!(
            s,
            r#"  step work{i}: task "Work {i}" {{
    responsible supervisor of address
    deadline 1 day -> remind responsible, 2 days -> email controller
  }}
  step ask{i}: decision automatic when property.rooms > {i} and property.purchase_price < 500000 EUR {{
    yes -> mail{i}
    no -> again{i}
  }}
  step again{i}: decision manual "Again?" {{
    yes -> work{i}
    no -> join{i}
  }}
  step mail{i}: email template "welcome" automatic
  step write{i}: write_values project.budget = property.purchase_price * 0.02 {{
    next join{i}
  }}
  step join{i}: merge
  step log{i}: activity_log kind "phone" type "call"
  step hook{i}: webhook sprengnetter(mode: "full")
"#
        );
    }
    let _ = writeln!(s, "  step done: end\n}}\n");
    s
}

fn run(files: &[(String, String)]) -> (usize, usize, f64) {
    let mut sources = Sources::new();
    let cat_id = sources.add("procc.toml", common::CATALOG.to_string());
    let (catalog, _) = procc_catalog::parse_catalog(cat_id, common::CATALOG);
    let bytes: usize = files.iter().map(|(_, t)| t.len()).sum();
    let start = Instant::now();
    let mut trees = Vec::new();
    for (name, text) in files {
        let id = sources.add(name.clone(), text.clone());
        let (tree, diags) = procc_syntax::parse(id, text);
        assert!(diags.is_empty(), "{:?}", diags.first());
        trees.push((id, tree));
    }
    let parsed = start.elapsed().as_secs_f64();
    let refs: Vec<_> = trees.iter().map(|(id, t)| (*id, t)).collect();
    let checking = Instant::now();
    let diags = procc_check::check(&sources, &refs, &catalog);
    let checked = checking.elapsed().as_secs_f64();
    if std::env::var_os("PROCC_SCALE_VERBOSE").is_some() {
        println!(
            "  parse {parsed:.3}s, check {checked:.3}s ({:.1} MB/s)",
            bytes as f64 / checked / 1e6
        );
    }
    let secs = start.elapsed().as_secs_f64();
    (bytes, diags.len(), secs)
}

#[test]
fn a_large_project_checks_clean() {
    let files: Vec<(String, String)> = (0..20)
        .map(|i| (format!("f{i}.proc"), big_process(&format!("p{i}"), 50)))
        .collect();
    let (_, n, _) = run(&files);
    assert_eq!(n, 0);
}

#[test]
fn one_process_of_100000_steps_in_a_row_does_not_overflow() {
    let mut s = String::from("process long {\n  needs property\n");
    for i in 0..100_000 {
        let _ = writeln!(s, "  step s{i}: set_status property \"sold\"");
    }
    s.push_str("  step back: webhook sprengnetter {\n    next s0\n  }\n}\n");
    let (_, n, _) = run(&[("long.proc".into(), s)]);
    // One loop in which nobody acts and nothing waits.
    assert_eq!(n, 1);
}

#[test]
fn many_misspelt_names_in_a_large_process_stay_fast() {
    let mut s = String::from("process typos {\n");
    for i in 0..10_000 {
        let _ = writeln!(s, "  step s{i}: task \"T\" {{\n    next x{i}\n  }}");
    }
    s.push_str("}\n");
    let (_, n, secs) = run(&[("typos.proc".into(), s)]);
    assert_eq!(n, 10_000);
    assert!(secs < 60.0, "{secs}");
}

/// Throughput and growth; `cargo test --release -p procc-check --test scale -- --ignored --nocapture`.
#[test]
#[ignore]
fn throughput() {
    for blocks in [1_250, 2_500, 12_500] {
        let files: Vec<(String, String)> = (0..10)
            .map(|i| {
                (
                    format!("f{i}.proc"),
                    big_process(&format!("p{i}"), blocks / 10),
                )
            })
            .collect();
        let steps = blocks * 8;
        let (bytes, n, secs) = run(&files);
        println!(
            "{steps} steps, {bytes} bytes, {n} diagnostics: {secs:.3}s, {:.1} MB/s",
            bytes as f64 / secs / 1e6
        );
        let one = vec![("one.proc".to_string(), big_process("one", blocks))];
        let (bytes, n, secs) = run(&one);
        println!(
            "  one process: {bytes} bytes, {n} diagnostics: {secs:.3}s, {:.1} MB/s",
            bytes as f64 / secs / 1e6
        );
    }
}
