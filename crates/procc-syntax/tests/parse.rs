//! Behaviour of the parser on whole files: the tree it builds and the problems it reports.

use procc_diagnostics::{Diagnostic, FileId};
use procc_syntax::ast::*;
use procc_syntax::parse;

mod common;
use common::repo_files;

fn parse_ok(text: &str) -> File {
    let (file, diagnostics) = parse(FileId(0), text);
    assert!(
        diagnostics.is_empty(),
        "unexpected diagnostics: {diagnostics:#?}"
    );
    file
}

fn problems(text: &str) -> Vec<(String, String)> {
    let (_, diagnostics) = parse(FileId(0), text);
    diagnostics
        .iter()
        .map(|d: &Diagnostic| {
            let span = d.primary_span();
            (
                d.code.id.to_string(),
                text[span.start()..span.end()].to_string(),
            )
        })
        .collect()
}

#[test]
fn every_example_and_passing_case_parses_without_problems() {
    let files: Vec<_> = repo_files("examples")
        .into_iter()
        .chain(repo_files("tests/pass"))
        .collect();
    assert!(
        files.len() >= 9,
        "examples and tests/pass should hold at least 9 files"
    );
    for path in files {
        let text = std::fs::read_to_string(&path).unwrap();
        let (file, diagnostics) = parse(FileId(0), &text);
        assert!(
            diagnostics.is_empty(),
            "{}: {diagnostics:#?}",
            path.display()
        );
        assert!(
            !file.processes.is_empty(),
            "{} holds no process",
            path.display()
        );
    }
}

#[test]
fn the_illustration_of_the_issue_reads_into_the_expected_tree() {
    let file = parse_ok(
        r#"
process revaluation "Revaluation after a price change" {
  needs property
  controller user "k.schmidt"
  trigger property saved when changed(purchase_price, living_area)

  step valuation: webhook sprengnetter(mode: "full") {
    responsible supervisor of property
    deadline 2 days
  }
  step review: task "Check the new valuation" {
    start 1 day after previous
    deadline 3 days -> email controller, 5 days -> reassign to user "k.schmidt"
  }
  step big_change: decision automatic when property.valuation_change > 10% {
    yes -> notify_owner
    no  -> done
  }
  step notify_owner: owner_notification email template "valuation-update" { period last 30 days }
  step done: end
}
"#,
    );
    let process = &file.processes[0];
    assert_eq!(process.name.name, "revaluation");
    assert_eq!(
        process.title.as_ref().map(|t| t.value.as_str()),
        Some("Revaluation after a price change")
    );
    assert_eq!(
        process.needs.iter().map(|n| n.value).collect::<Vec<_>>(),
        [Record::Property]
    );
    assert!(
        matches!(&process.controller, Some(Spanned { value: Controller::User(u), .. }) if u.value == "k.schmidt")
    );
    assert!(
        matches!(&process.triggers[0].event, TriggerEvent::Saved(r) if r.value == Record::Property)
    );
    assert!(
        matches!(&process.triggers[0].condition, Some(Expr { kind: ExprKind::Call(f, args), .. }) if f.name == "changed" && args.len() == 2)
    );

    let names: Vec<_> = process.steps.iter().map(|s| s.name.name.as_str()).collect();
    assert_eq!(
        names,
        ["valuation", "review", "big_change", "notify_owner", "done"]
    );

    let valuation = &process.steps[0];
    match &valuation.kind {
        StepKind::Webhook(Webhook::Service {
            service,
            parameter: Some((param, value)),
        }) => {
            assert_eq!(service.name, "sprengnetter");
            assert_eq!(param.name, "mode");
            assert_eq!(value.kind, ExprKind::Literal(Literal::Text("full".into())));
        }
        other => panic!("not a service webhook: {other:?}"),
    }
    assert_eq!(
        valuation.header.responsible.as_ref().map(|r| &r.who),
        Some(&ResponsibleKind::Supervisor(Record::Property))
    );
    let rungs = &valuation.header.deadline.as_ref().unwrap().rungs;
    assert_eq!(
        (rungs[0].after.amount, rungs[0].after.unit, &rungs[0].action),
        (2, TimeUnit::Days, &RungAction::EmailController)
    );

    let review = &process.steps[1];
    let delay = review
        .header
        .start
        .as_ref()
        .unwrap()
        .delay
        .as_ref()
        .unwrap();
    assert_eq!((delay.amount, delay.unit), (1, TimeUnit::Days));
    let ladder = &review.header.deadline.as_ref().unwrap().rungs;
    assert_eq!(ladder.len(), 2);
    assert!(
        matches!(&ladder[1].action, RungAction::Reassign(Responsible { who: ResponsibleKind::User(u), .. }) if u.value == "k.schmidt")
    );

    match &process.steps[2].kind {
        StepKind::Decision(d) => {
            assert_eq!(d.mode.value, DecisionMode::Automatic);
            assert_eq!(
                d.yes.as_ref().map(|y| y.name.as_str()),
                Some("notify_owner")
            );
            assert_eq!(d.no.as_ref().map(|n| n.name.as_str()), Some("done"));
            let Some(Expr {
                kind: ExprKind::Binary(BinaryOp::Gt, lhs, rhs),
                ..
            }) = &d.condition
            else {
                panic!("condition is not a comparison: {:?}", d.condition);
            };
            assert!(
                matches!(&lhs.kind, ExprKind::Field(f) if f.module.value == Module::Property && f.field.name == "valuation_change")
            );
            assert_eq!(rhs.kind, ExprKind::Literal(Literal::Percent(10.0)));
        }
        other => panic!("not a decision: {other:?}"),
    }
    match &process.steps[3].kind {
        StepKind::OwnerNotification(n) => {
            assert_eq!(n.channel.value, Channel::Email);
            assert_eq!(n.template.value, "valuation-update");
            assert_eq!(
                n.period.as_ref().map(|p| &p.value),
                Some(&Period::LastDays(30))
            );
        }
        other => panic!("not an owner notification: {other:?}"),
    }
    assert_eq!(process.steps[4].kind, StepKind::End);
}

#[test]
fn spans_point_at_the_exact_text() {
    let text = "process p {\n  step call: task \"Call\"\n}\n";
    let file = parse_ok(text);
    let step = &file.processes[0].steps[0];
    assert_eq!(&text[step.name.span.start()..step.name.span.end()], "call");
    assert_eq!(&text[step.kind_span.start()..step.kind_span.end()], "task");
    let StepKind::Task(task) = &step.kind else {
        panic!()
    };
    assert_eq!(
        &text[task.subject.span.start()..task.subject.span.end()],
        "\"Call\""
    );
}

#[test]
fn expression_operands_span_exactly_their_text() {
    let text = "process p {\n  needs property\n  step d: decision automatic when property.rooms   > 3 {\n    yes -> e\n    no -> e\n  }\n  step e: end\n}\n";
    let file = parse_ok(text);
    let StepKind::Decision(d) = &file.processes[0].steps[0].kind else {
        panic!()
    };
    let ExprKind::Binary(_, lhs, _) = &d.condition.as_ref().unwrap().kind else {
        panic!()
    };
    assert_eq!(&text[lhs.span.start()..lhs.span.end()], "property.rooms");
}

#[test]
fn operators_group_by_precedence() {
    let file = parse_ok(
        "process p {\n  needs property\n  step d: decision automatic when not property.rooms > 1 + 2 * 3 or property.exclusive and true {\n    yes -> e\n    no -> e\n  }\n  step e: end\n}\n",
    );
    let StepKind::Decision(d) = &file.processes[0].steps[0].kind else {
        panic!()
    };
    // (not (rooms > (1 + (2 * 3)))) or (exclusive and true)
    let ExprKind::Binary(BinaryOp::Or, lhs, rhs) = &d.condition.as_ref().unwrap().kind else {
        panic!("top is not `or`")
    };
    let ExprKind::Unary(UnaryOp::Not, inner) = &lhs.kind else {
        panic!("left is not `not`")
    };
    let ExprKind::Binary(BinaryOp::Gt, _, sum) = &inner.kind else {
        panic!("not over a comparison")
    };
    let ExprKind::Binary(BinaryOp::Add, _, product) = &sum.kind else {
        panic!("no sum")
    };
    assert!(matches!(
        product.kind,
        ExprKind::Binary(BinaryOp::Mul, _, _)
    ));
    assert!(matches!(rhs.kind, ExprKind::Binary(BinaryOp::And, _, _)));
}

#[test]
fn multi_line_texts_are_dedented_and_escapes_resolved() {
    let file = parse_ok(
        "process p {\n  step w: webhook post \"https://x.test/?q=\\\"a\\\"\" {\n    body \"\"\"\n      {\n        \"a\": 1\n      }\n    \"\"\"\n  }\n}\n",
    );
    let StepKind::Webhook(Webhook::Free { url, body, .. }) = &file.processes[0].steps[0].kind
    else {
        panic!()
    };
    assert_eq!(url.value, "https://x.test/?q=\"a\"");
    assert_eq!(body.as_ref().unwrap().value, "{\n  \"a\": 1\n}");
}

#[test]
fn comments_are_kept_in_order() {
    let file = parse_ok("// head\nprocess p { // after brace\n  step e: end // tail\n}\n");
    let texts: Vec<_> = file.comments.iter().map(|c| c.text.trim()).collect();
    assert_eq!(texts, ["head", "after brace", "tail"]);
}

#[test]
fn every_problem_in_a_file_is_reported_at_once() {
    let text = r#"process broken "x" {
  activ
  step a: taks "x"
  step b task "y"
  step c: task "z" {
    start 2 weeks after previous
    deadline 0 days
    subjekt "x"
    description "unterminated
  }
  step e: sms "hi \q there" automatic { send at 25:00 }
  step f: write_values owner.name = "x"
}
"#;
    let found = problems(text);
    let expected = [
        ("P0007", "activ"),
        ("P0006", "taks"),
        ("P0001", "task"),
        ("P2003", "weeks"),
        ("P2002", "0 days"),
        ("P0007", "subjekt"),
        ("P0001", "\""),
        ("P0001", "\\q"),
        ("P2007", "25:00"),
        ("P1011", "owner"),
    ];
    let expected: Vec<(String, String)> = expected
        .iter()
        .map(|(c, t)| ((*c).to_string(), (*t).to_string()))
        .collect();
    assert_eq!(found, expected);
}

#[test]
fn a_file_without_a_process_gets_a_warning() {
    let (_, diagnostics) = parse(FileId(0), "// nothing yet\n");
    assert_eq!(diagnostics.len(), 1);
    assert_eq!(diagnostics[0].code.id, "P0011");
    assert!(!diagnostics[0].is_error());
}

#[test]
fn unreadable_steps_are_remembered_by_name() {
    let (file, _) = parse(
        FileId(0),
        "process p {\n  step a: taks \"x\"\n  step b: end\n}\n",
    );
    let process = &file.processes[0];
    assert_eq!(
        process
            .unreadable_steps
            .iter()
            .map(|s| s.name.as_str())
            .collect::<Vec<_>>(),
        ["a"]
    );
    assert_eq!(process.steps.len(), 1);
}

/// A small deterministic generator, so that the robustness tests need no extra crate.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.0 >> 33
    }
}

#[test]
fn no_input_makes_the_parser_panic() {
    let mut corpus: Vec<String> = repo_files("examples")
        .into_iter()
        .chain(repo_files("tests"))
        .filter_map(|p| std::fs::read_to_string(p).ok())
        .collect();
    corpus.push(String::new());
    let mut rng = Lcg(42);
    for text in &corpus {
        // Every prefix that ends on a character boundary, sampled.
        for cut in (0..text.len()).step_by(7) {
            if text.is_char_boundary(cut) {
                let _ = parse(FileId(0), &text[..cut]);
            }
        }
        // Random single-byte damage, kept to valid UTF-8.
        for _ in 0..40 {
            let mut bytes = text.clone().into_bytes();
            if bytes.is_empty() {
                break;
            }
            let at = (rng.next() as usize) % bytes.len();
            const DAMAGE: &[u8] = b"{}()[]\"\n;:->=.,a1 ";
            bytes[at] = DAMAGE[(rng.next() as usize) % DAMAGE.len()];
            if let Ok(damaged) = String::from_utf8(bytes) {
                let _ = parse(FileId(0), &damaged);
            }
        }
    }
}

#[test]
fn deep_nesting_is_refused_without_overflowing_the_stack() {
    let text = format!(
        "process p {{\n  step d: decision automatic when {}1{} {{\n  }}\n}}\n",
        "(".repeat(10_000),
        ")".repeat(10_000)
    );
    let found = problems(&text);
    assert_eq!(found.first().map(|(c, _)| c.as_str()), Some("P0005"));
}

#[test]
fn very_long_expressions_are_refused_not_overflowing_the_stack() {
    let terms = vec!["property.rooms"; 5_000].join(" + ");
    let text = format!(
        "process p {{\n  needs property\n  step d: decision automatic when {terms} > 1 {{\n    yes -> e\n    no -> e\n  }}\n  step e: end\n}}\n"
    );
    let codes: Vec<String> = problems(&text).into_iter().map(|(c, _)| c).collect();
    assert!(codes.contains(&"P0005".to_string()), "{codes:?}");
}

#[test]
fn trigger_lines_refuse_repeats_and_business_days() {
    let found = problems(
        "process p {\n  needs address\n  trigger address saved filter \"a\" filter \"b\"\n  trigger date address.birthday 2 business days on \"nrw\" before\n  trigger activity received kind \"a\" kind \"b\"\n  step e: end\n}\n",
    );
    let codes: Vec<&str> = found.iter().map(|(c, _)| c.as_str()).collect();
    assert_eq!(codes, ["P0010", "P2003", "P0010"], "{found:?}");
}

#[test]
fn an_item_ends_at_its_last_token_not_at_its_comment() {
    let text =
        "process p {\n  notify controller on cancel   // tell them\n  step e: end // done\n}\n";
    let file = parse_ok(text);
    let notify = file.processes[0]
        .notify_controller_on_cancel
        .expect("notify is set");
    assert_eq!(
        &text[notify.start()..notify.end()],
        "notify controller on cancel"
    );
    let step = &file.processes[0].steps[0];
    assert_eq!(&text[step.span.start()..step.span.end()], "step e: end");
}
