//! Loading plans: the round trip, the schema, and every way a plan file can be wrong.

use procc_diagnostics::{FileId, code};
use procc_plan::*;

fn location(line: u32) -> SourceLocation {
    SourceLocation {
        file: "a.proc".into(),
        line,
        column: 3,
    }
}

fn step(name: &str, action: Action, next: Next, incoming: Vec<StepIndex>) -> Step {
    Step {
        name: name.into(),
        action,
        start_after: None,
        responsible: Responsible::Owner,
        deadline: vec![Rung {
            after: Delay {
                amount: 3,
                unit: TimeUnit::Days,
                calendar: None,
            },
            action: RungAction::EmailController,
        }],
        concerns: vec![Record::Property],
        skippable: false,
        automatic: false,
        next,
        incoming,
        source: location(2),
    }
}

fn sample() -> Plan {
    let template = Template {
        name: "review".into(),
        title: Some("Review".into()),
        description: None,
        active: true,
        needs: vec![Record::Property],
        needs_email: false,
        controller: Controller::Starter,
        notify_controller_on_cancel: false,
        triggers: vec![Trigger {
            event: TriggerEvent::Saved {
                record: Record::Property,
            },
            filter: None,
            owner: None,
            condition: Some(Expr::Call {
                function: Function::Changed,
                args: vec![Expr::Field {
                    module: Module::Property,
                    field: "purchase_price".into(),
                }],
            }),
        }],
        steps: vec![
            step(
                "check",
                Action::Task {
                    subject: "Check".into(),
                    description: None,
                    attachments: Vec::new(),
                    processor: None,
                },
                Next::Step { step: 1 },
                Vec::new(),
            ),
            step("done", Action::End, Next::End, vec![0]),
        ],
        source: location(1),
    };
    Plan::new(None, Catalog::default(), vec![template])
}

#[test]
fn a_plan_survives_the_round_trip_and_its_hash_is_stable() {
    let plan = sample();
    assert!(plan.hash.starts_with("sha256:") && plan.hash.len() == 7 + 64);
    let text = plan.to_json();
    assert_eq!(
        sample().to_json(),
        text,
        "the same plan gives the same bytes"
    );
    let loaded = load(FileId(0), &text).expect("a fresh plan loads");
    assert_eq!(loaded, plan);
}

#[test]
fn any_change_of_content_changes_the_hash() {
    let mut changed = sample();
    changed.templates[0].steps[0].deadline[0].after.amount = 4;
    assert_ne!(changed.compute_hash(), sample().hash);
}

#[test]
fn the_published_schema_is_current() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/plan.schema.json");
    let schema = json_schema();
    if std::env::var_os("UPDATE_EXPECT").is_some() {
        std::fs::write(&path, &schema).expect("writable docs/plan.schema.json");
    }
    let published = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        published == schema,
        "docs/plan.schema.json is out of date: run `UPDATE_EXPECT=1 cargo test -p procc-plan`"
    );
}

fn refused(text: &str) -> (procc_diagnostics::Code, String) {
    let diagnostic = load(FileId(0), text).expect_err("the plan should be refused");
    (diagnostic.code, diagnostic.message)
}

#[test]
fn text_that_is_not_json_is_refused() {
    let (code, message) = refused("{ format_version: 1 }");
    assert_eq!(code, code::PLAN_UNREADABLE);
    assert!(message.contains("not valid JSON"), "{message}");
}

#[test]
fn a_truncated_plan_is_refused() {
    let text = sample().to_json();
    let (code, message) = refused(&text[..text.len() / 2]);
    assert_eq!(code, code::PLAN_UNREADABLE);
    assert!(message.contains("cut short"), "{message}");
}

#[test]
fn newer_and_older_formats_are_refused() {
    let newer = sample()
        .to_json()
        .replacen("\"format_version\": 1", "\"format_version\": 2", 1);
    let (code, message) = refused(&newer);
    assert_eq!(code, code::PLAN_FORMAT_UNSUPPORTED);
    assert!(message.contains("newer"), "{message}");
    let older = sample()
        .to_json()
        .replacen("\"format_version\": 1", "\"format_version\": 0", 1);
    assert_eq!(refused(&older).0, code::PLAN_FORMAT_UNSUPPORTED);
}

#[test]
fn json_that_is_no_plan_is_refused() {
    assert_eq!(refused("{\"name\": \"x\"}").0, code::PLAN_INVALID);
    let wrong_type = sample()
        .to_json()
        .replacen("\"active\": true", "\"active\": \"yes\"", 1);
    let (code, message) = refused(&wrong_type);
    assert_eq!(code, code::PLAN_INVALID);
    assert!(
        message.contains("templates[0].active"),
        "the message names the path: {message}"
    );
}

#[test]
fn a_tampered_plan_is_refused() {
    let tampered = sample()
        .to_json()
        .replacen("\"amount\": 3", "\"amount\": 30", 1);
    let (code, message) = refused(&tampered);
    assert_eq!(code, code::PLAN_TAMPERED);
    assert!(
        message.contains("changed after it was compiled"),
        "{message}"
    );
}

#[test]
fn a_plan_with_a_broken_reference_is_refused() {
    let mut plan = sample();
    plan.templates[0].steps[0].next = Next::Step { step: 7 };
    plan.hash = plan.compute_hash();
    let (code, message) = refused(&plan.to_json());
    assert_eq!(code, code::PLAN_BROKEN_REFERENCE);
    assert!(message.contains("refers to step 7"), "{message}");
}

#[test]
fn a_plan_with_templates_out_of_order_is_refused() {
    let mut plan = sample();
    let mut second = plan.templates[0].clone();
    second.name = "approve".into();
    plan.templates.push(second);
    plan.hash = plan.compute_hash();
    let (code, message) = refused(&plan.to_json());
    assert_eq!(code, code::PLAN_BROKEN_REFERENCE);
    assert!(
        message.contains("`approve` comes after `review`"),
        "{message}"
    );
    plan.templates.sort_by(|a, b| a.name.cmp(&b.name));
    plan.hash = plan.compute_hash();
    assert!(load(FileId(0), &plan.to_json()).is_ok(), "sorted, it loads");
}
