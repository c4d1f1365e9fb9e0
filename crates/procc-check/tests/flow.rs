//! Flow: reachability, ends, decisions, merges, loops, follow-up circles, empty processes
//! (P3001-P3006, P3008).

mod common;

use common::{check, check_files, clean};
use procc_diagnostics::Severity;

#[test]
fn unreachable_steps_are_reported_one_by_one() {
    let c = check(
        r#"process p {
  step a: task "A" {
    next d
  }
  step b: task "B"
  step c: task "C"
  step d: end
  step e: task "E"
}
"#,
    );
    assert_eq!(c.spans("P3001"), vec!["b", "c", "e"]);
    assert_eq!(
        c.with_code("P3001")[0].message,
        "step `b` of process `p` is never reached: no path from the first step `a` leads to it"
    );
    assert_eq!(c.diagnostics.len(), 3);
}

#[test]
fn a_loop_no_path_leaves_is_reported_once() {
    let c = check(
        r#"process p {
  step a: task "A"
  step b: task "B"
  step c: task "C" {
    next b
  }
  step d: end
}
"#,
    );
    assert_eq!(c.spans("P3002"), vec!["b"]);
    assert!(
        c.one("P3002")
            .message
            .starts_with("steps `b` and `c` repeat forever")
    );
    // `d` is unreachable, the loop itself spins not (tasks need a person).
    assert_eq!(c.spans("P3001"), vec!["d"]);
    assert_eq!(c.diagnostics.len(), 2);
}

#[test]
fn decisions_need_both_branches() {
    let c = check(
        r#"process p {
  step ask: decision manual "Go?" {
    yes -> done
  }
  step other: task "Other"
  step done: end
}
"#,
    );
    let d = c.one("P3003");
    assert_eq!(c.sources.get(d.file).slice(d.primary_span()), "ask");
    assert_eq!(d.help.as_deref(), Some("add `no -> other`"));
    // The missing branch falls through: `other` is not reported as unreachable.
    assert_eq!(c.diagnostics.len(), 1, "{:#?}", c.found());
}

#[test]
fn merges_need_two_incoming_branches() {
    let c = check(
        r#"process p {
  step ask: decision manual "Go?" {
    yes -> left
    no -> join
  }
  step left: task "Left" {
    next join
  }
  step join: merge
  step lonely: merge
  step done: end
}
"#,
    );
    assert_eq!(c.spans("P3004"), vec!["lonely"]);
    assert_eq!(
        c.one("P3004").message,
        "merge `lonely` has only one incoming branch"
    );
}

#[test]
fn loops_without_wait_or_person_are_errors_and_loops_with_one_are_fine() {
    let c = check(
        r#"process p {
  needs property
  step poll: webhook sprengnetter
  step check: decision automatic when property.rooms > 3 {
    yes -> done
    no -> poll
  }
  step done: end
}

process q {
  needs property
  step poll: webhook sprengnetter {
    start 1 day after previous
  }
  step check: decision automatic when property.rooms > 3 {
    yes -> done
    no -> poll
  }
  step done: end
}

process r {
  step work: task "Work"
  step again: decision manual "Review again?" {
    yes -> work
    no -> done
  }
  step done: end
}

process s {
  step spin: activity_log kind "phone" {
    next spin
  }
}
"#,
    );
    assert_eq!(c.spans("P3005"), vec!["poll", "spin"]);
    let ds = c.with_code("P3005");
    assert_eq!(
        ds[0].message,
        "steps `poll` and `check` form a loop in which no step waits and no person acts"
    );
    assert_eq!(c.secondary(ds[0]), vec!["check"]);
    assert_eq!(
        ds[1].message,
        "step `spin` jumps back to itself without waiting and without a person acting"
    );
    // `spin` also never ends, but that is the same loop: no P3002 on top.
    assert_eq!(c.diagnostics.len(), 2, "{:#?}", c.found());
}

#[test]
fn follow_up_circles_across_files_are_warnings() {
    let c = check_files(&[
        (
            "a.proc",
            "process a {\n  step go: follow_up b\n}\n\nprocess self_starter {\n  step again: follow_up self_starter\n}\n",
        ),
        (
            "b.proc",
            "process b {\n  step go: follow_up c\n}\n\nprocess c {\n  step go: follow_up a\n}\n",
        ),
    ]);
    let ds = c.with_code("P3006");
    assert_eq!(ds.len(), 2, "{:#?}", c.found());
    assert!(ds.iter().all(|d| d.severity == Severity::Warning));
    assert_eq!(c.spans("P3006"), vec!["b", "self_starter"]);
    assert_eq!(
        ds[0].message,
        "processes `a`, `b` and `c` start each other in a circle of follow-ups"
    );
    let help = ds[0].help.as_deref().unwrap_or("");
    assert!(help.contains("after 10 starts a day"), "{help}");
    assert!(help.contains("b.proc:2:"), "{help}");
    assert_eq!(
        ds[1].message,
        "process `self_starter` starts itself again through its follow-up step `again`"
    );
}

#[test]
fn processes_without_steps() {
    let c = check("process empty {\n  active\n}\n");
    let d = c.one("P3008");
    assert_eq!(c.sources.get(d.file).slice(d.primary_span()), "empty");
}

#[test]
fn a_branching_process_is_clean() {
    clean(
        r#"process p {
  step ask: decision by email "Go?" {
    yes -> left
    no -> right
  }
  step left: task "Left" {
    next join
  }
  step right: task "Right"
  step join: merge
  step done: end
}
"#,
    );
}

#[test]
fn all_problems_of_all_files_come_sorted_by_file_and_position() {
    let c = check_files(&[
        (
            "a.proc",
            "process a {\n  step x: task \"X\" {\n    next nowhere\n  }\n  step x: end\n}\n",
        ),
        (
            "b.proc",
            "process b {\n}\n\nprocess a {\n  step t: task \"T\" {\n    responsible user \"ghost\"\n  }\n}\n",
        ),
    ]);
    let found: Vec<(u32, &str)> = c
        .diagnostics
        .iter()
        .map(|d| (d.file.0, d.code.id))
        .collect();
    assert_eq!(
        found,
        vec![
            (1, "P1001"),
            (1, "P1002"),
            (2, "P3008"),
            (2, "P1003"),
            (2, "P1005")
        ]
    );
    let starts: Vec<u32> = c
        .diagnostics
        .iter()
        .map(|d| d.primary_span().start)
        .collect();
    assert!(starts[0] < starts[1] && starts[2] < starts[3] && starts[3] < starts[4]);
}
