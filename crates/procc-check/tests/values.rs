//! Values: SMS length, skipping, deadline ladders (P2004, P2005, P2006).

mod common;

use common::{check, check_with, clean};

#[test]
fn sms_texts_longer_than_320_characters() {
    let ok = "ä".repeat(320);
    let long = "x".repeat(321);
    let c = check(&format!(
        "process p {{\n  needs address, property\n  step a: sms \"{ok}\"\n  step b: sms \"{long}\"\n}}\n"
    ));
    let d = c.one("P2004");
    assert_eq!(
        c.sources.get(d.file).slice(d.primary_span()),
        format!("\"{long}\"")
    );
    assert!(
        d.message.contains("321 characters, 1 more than the 320"),
        "{}",
        d.message
    );
    assert_eq!(c.diagnostics.len(), 1);
}

#[test]
fn sms_templates_longer_than_320_characters() {
    // The catalog rejects such templates itself; when it keeps one, the step is reported.
    let catalog = format!(
        "{}\n[[templates.sms]]\nid = \"long\"\ntext = \"{}\"\n",
        common::CATALOG,
        "y".repeat(330)
    );
    let mut sources = procc_diagnostics::Sources::new();
    let id = sources.add("procc.toml", catalog.clone());
    let (_, diags) = procc_catalog::parse_catalog(id, &catalog);
    if diags.is_empty() {
        let c = check_with(
            &catalog,
            &[(
                "t.proc",
                "process p {\n  needs address, property\n  step a: sms template \"long\"\n}\n",
            )],
        );
        assert_eq!(c.spans("P2004"), vec!["\"long\""]);
    }
}

#[test]
fn only_some_kinds_can_be_skipped() {
    let c = check(
        r#"process p {
  needs address
  step a: appointment "Visit" {
    allow skip
  }
  step b: task "Call" {
    allow skip
  }
  step c: email template "welcome" {
    allow skip
  }
  step d: decision manual "Go on?" {
    allow skip
    yes -> e
    no -> e
  }
  step e: end
}
"#,
    );
    assert_eq!(c.spans("P2005"), vec!["allow skip", "allow skip"]);
    let ds = c.with_code("P2005");
    assert_eq!(
        ds[0].message,
        "step `b` allows skipping, but `task` steps cannot be skipped"
    );
    assert!(ds[1].message.contains("`decision` steps"));
    assert!(
        ds[0]
            .help
            .as_deref()
            .unwrap_or("")
            .contains("`appointment`, `letter`, `email` and `resubmission`")
    );
}

#[test]
fn deadline_rungs_must_ascend() {
    let c = check(
        r#"process p {
  step a: task "A" {
    deadline 2 days -> remind responsible, 2 days -> email controller
  }
  step b: task "B" {
    deadline 2 days -> remind responsible, 1 day -> email controller, 3 days -> email controller
  }
  step c: task "C" {
    deadline 2 days -> remind responsible, 2 business days on "nrw" -> email controller
  }
  step d: task "D" {
    deadline 3 business days on "nrw" -> remind responsible, 2 days -> email controller
  }
  step e: task "E" {
    deadline 3 business days on "nrw" -> remind responsible, 3 business days on "nrw" -> email controller
  }
}
"#,
    );
    assert_eq!(
        c.spans("P2006"),
        vec!["2 days", "1 day", "2 days", "3 business days on \"nrw\""]
    );
    let d = &c.with_code("P2006")[0];
    assert_eq!(c.secondary(d), vec!["2 days"]);
    assert!(d.labels[1].span.start < d.primary_span().start);
    assert_eq!(c.diagnostics.len(), 4, "{:#?}", c.found());
}

#[test]
fn ascending_ladders_are_clean() {
    clean(
        r#"process p {
  step a: task "A" {
    deadline 1 day -> remind responsible, 2 days -> email controller, 2 business days on "nrw" -> reassign to user "k.schmidt"
  }
}
"#,
    );
}
