//! Names: steps, processes, follow-ups (P1001-P1004).

mod common;

use common::{check, check_files};

#[test]
fn unknown_step_targets_are_reported_with_suggestions() {
    let c = check(
        r#"process p {
  step ask: decision manual "Ready?" {
    yes -> notfy
    no -> nowhere
  }
  step notify: task "Call" {
    next don
  }
  step done: end
}
"#,
    );
    assert_eq!(c.spans("P1001"), vec!["notfy", "nowhere", "don"]);
    let ds = c.with_code("P1001");
    assert_eq!(ds[0].help.as_deref(), Some("did you mean `notify`?"));
    assert!(
        ds[0].message.contains("`yes` branch of decision `ask`"),
        "{}",
        ds[0].message
    );
    assert!(
        ds[2].message.contains("step `notify` goes next to `don`"),
        "{}",
        ds[2].message
    );
    assert_eq!(ds[2].help.as_deref(), Some("did you mean `done`?"));
    // Unknown targets count as ends: no cascade of flow errors.
    assert_eq!(c.diagnostics.len(), 3, "{:#?}", c.found());
}

#[test]
fn duplicate_steps_point_at_the_first() {
    let c = check(
        r#"process p {
  step call: task "Call"
  step call: task "Call again"
  step done: end
}
"#,
    );
    let d = c.one("P1002");
    assert_eq!(c.sources.get(d.file).slice(d.primary_span()), "call");
    assert_eq!(d.primary_span().start, 44);
    assert_eq!(c.secondary(d), vec!["call"]);
    assert!(d.labels[1].span.start < d.primary_span().start);
}

#[test]
fn duplicate_processes_across_files_name_the_first_location() {
    let c = check_files(&[
        ("a.proc", "process same {\n  step t: task \"T\"\n}\n"),
        (
            "b.proc",
            "process other {\n  step t: task \"T\"\n}\n\nprocess same {\n  step t: task \"T\"\n}\n",
        ),
    ]);
    let d = c.one("P1003");
    assert_eq!(c.sources.get(d.file).name(), "b.proc");
    assert_eq!(c.sources.get(d.file).slice(d.primary_span()), "same");
    assert_eq!(
        d.help.as_deref(),
        Some("first defined in a.proc:1:9; rename one of them")
    );
}

#[test]
fn duplicate_processes_in_one_file_get_a_secondary_label() {
    let c = check(
        "process same {\n  step t: task \"T\"\n}\n\nprocess same {\n  step t: task \"T\"\n}\n",
    );
    let d = c.one("P1003");
    assert_eq!(c.secondary(d), vec!["same"]);
}

#[test]
fn follow_up_to_an_unknown_process_across_files() {
    let c = check_files(&[
        (
            "a.proc",
            "process first {\n  step go: follow_up secnd\n  step go2: follow_up second\n}\n",
        ),
        ("b.proc", "process second {\n  step t: task \"T\"\n}\n"),
    ]);
    let d = c.one("P1004");
    assert_eq!(c.sources.get(d.file).slice(d.primary_span()), "secnd");
    assert_eq!(d.help.as_deref(), Some("did you mean `second`?"));
}
