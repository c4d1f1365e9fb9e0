//! What the formatter makes of messy input, as snapshots, and the details of its layout.

mod common;

use procc_diagnostics::FileId;

fn formatted(text: &str) -> String {
    common::check("input", text, false)
}

#[test]
fn a_messy_file_comes_out_canonical() {
    let input = include_str!("messy.proc");
    let output = formatted(input);
    insta::with_settings!({ description => "tests/messy.proc, formatted", omit_expression => true }, {
        insta::assert_snapshot!("messy", output);
    });
}

#[test]
fn every_step_kind_comes_out_canonical() {
    let input = include_str!("kinds.proc");
    insta::with_settings!({ description => "tests/kinds.proc, formatted", omit_expression => true }, {
        insta::assert_snapshot!("kinds", formatted(input));
    });
}

#[test]
fn the_check_diff_is_a_unified_diff() {
    let input = "process p {\n  step a: end\n  active\n}\n";
    let output = formatted(input);
    insta::assert_snapshot!("diff", procc_fmt::diff("examples/p.proc", input, &output));
    assert_eq!(procc_fmt::diff("p.proc", &output, &output), "");
}

#[test]
fn syntax_errors_are_refused_with_the_parser_diagnostics() {
    let text = "process p {\n  step a task \"x\"\n}\n";
    let refusal = procc_fmt::format(FileId(0), text).unwrap_err();
    assert_eq!(refusal, procc_syntax::parse(FileId(0), text).1);
    assert!(refusal.iter().all(|d| d.code.id == "P0001"));
    // Errors of the lowering too: an unknown setting would be lost.
    assert!(procc_fmt::format(FileId(0), "process p {\n  colour red\n}\n").is_err());
}

#[test]
fn an_empty_file_stays_empty_and_comments_alone_stay() {
    assert_eq!(procc_fmt::format(FileId(0), "").unwrap(), "");
    assert_eq!(procc_fmt::format(FileId(0), "\n\n  \n").unwrap(), "");
    assert_eq!(
        procc_fmt::format(FileId(0), "  // a\n\n\n// b   \n").unwrap(),
        "// a\n\n// b\n"
    );
}

#[test]
fn blank_lines_between_steps_are_kept_once_and_nowhere_else() {
    let input = "process p {\n\n\n  active\n\n  needs property\n  step a: end\n\n\n\n  step b: end\n  step c: end\n\n}\n\n\n\nprocess q {\n  step a: end\n}\n";
    assert_eq!(
        formatted(input),
        "process p {\n  active\n  needs property\n\n  step a: end\n\n  step b: end\n  step c: end\n}\n\nprocess q {\n  step a: end\n}\n"
    );
}

#[test]
fn blank_lines_around_comments_between_steps_are_kept() {
    let input = "process p {\n  step a: end\n\n  // about b\n\n  // more about b\n  step b: end\n\n  // the end\n}\n";
    assert_eq!(formatted(input), input);
    let input = "// header\n\n// about p\nprocess p {\n  step a: end\n}\n// about q\nprocess q {\n  step a: end\n}\n\n// the end\n";
    assert_eq!(
        formatted(input),
        "// header\n\n// about p\nprocess p {\n  step a: end\n}\n\n// about q\nprocess q {\n  step a: end\n}\n\n// the end\n"
    );
}

#[test]
fn a_step_without_settings_is_one_line_unless_comments_need_its_block() {
    assert_eq!(
        formatted("process p {\n  step a: end { }\n  step b: merge {\n  } // closing\n}\n"),
        "process p {\n  step a: end\n  step b: merge // closing\n}\n"
    );
    let both = "process p {\n  step a: end { // opening\n  } // closing\n}\n";
    assert_eq!(formatted(both), both);
    let inside = "process p {\n  step a: end {\n    // inside\n  }\n}\n";
    assert_eq!(formatted(inside), inside);
}

#[test]
fn comments_move_with_their_settings() {
    let input = "process p {\n  step a: task \"x\" {\n    // about the attachment\n    attach \"a.pdf\" // the file\n    responsible owner // who\n    start after previous\n  }\n}\n";
    assert_eq!(
        formatted(input),
        "process p {\n  step a: task \"x\" {\n    start after previous\n    responsible owner // who\n    // about the attachment\n    attach \"a.pdf\" // the file\n  }\n}\n"
    );
}

#[test]
fn a_decision_question_moves_into_the_head_and_its_comments_stay_in_the_block() {
    let input = "process p {\n  step d: decision manual {\n    yes -> e // yes\n    // the question\n    question \"Go?\" // asked once\n    no -> e\n  }\n  step e: end\n}\n";
    assert_eq!(
        formatted(input),
        "process p {\n  step d: decision manual \"Go?\" {\n    // the question\n    // asked once\n    yes -> e // yes\n    no -> e\n  }\n  step e: end\n}\n"
    );
}

#[test]
fn explicit_defaults_that_the_tree_keeps_are_kept_and_the_others_dropped() {
    let input = "process p {\n  active yes\n  controller starter\n  step a: email template \"t\" manual {\n    signature yes\n  }\n  step b: portal_sync remove manual {\n    portals all\n  }\n  step c: owner_notification email template \"r\" manual {\n    period all\n  }\n  step d: task \"x\" {\n    deadline 3 days -> email controller\n  }\n  step e: task \"y\" {\n    deadline 3 days, 4 days -> email controller\n    start after previous\n  }\n}\n";
    assert_eq!(
        formatted(input),
        "process p {\n  active\n  controller starter\n\n  step a: email template \"t\" {\n    signature yes\n  }\n  step b: portal_sync remove\n  step c: owner_notification email template \"r\" {\n    period all\n  }\n  step d: task \"x\" {\n    deadline 3 days\n  }\n  step e: task \"y\" {\n    start after previous\n    deadline 3 days -> email controller, 4 days -> email controller\n  }\n}\n"
    );
}

#[test]
fn texts_numbers_and_amounts_are_normalized() {
    let input = "process p \"T\\u{2713}\\tx\" {\n  description \"one\\ntwo\"\n  step w: write_values property.x = 1.50 + 2.0 * 10 % + 3 sqm + 4 € + 1 days\n  step s: sms \"a\\\\b\" { send at 9:05 }\n}\n";
    assert_eq!(
        formatted(input),
        "process p \"T✓\\tx\" {\n  description \"\"\"\n    one\n    two\n  \"\"\"\n\n  step w: write_values property.x = 1.5 + 2 * 10% + 3 m² + 4 EUR + 1 day\n  step s: sms \"a\\\\b\" {\n    send at 09:05\n  }\n}\n"
    );
}

#[test]
fn windows_line_endings_become_unix_ones() {
    let input = "// c\r\nprocess p {\r\n  step a: end // x\r\n}\r\n";
    assert_eq!(
        formatted(input),
        "// c\nprocess p {\n  step a: end // x\n}\n"
    );
}
