//! References into the catalog (P1005-P1016, P1020): every one is reported, at the id written.

mod common;

use common::{check, clean};

#[test]
fn every_unknown_catalog_id_is_reported_in_one_run() {
    let c = check(
        r#"process p {
  needs property, address
  controller user "k.schmitt"
  trigger email received feature "inqiury" owner user "nobody"

  step call: task "Call" {
    responsible user "l.fisher"
    processor user "k.schmidt"
    start 2 business days after previous on "bavaria"
    deadline 2 days -> reassign to user "ghost"
  }
  step mail: email template "welcom"
  step fw: forward_email {
    to user "k.schmidt"
    cc user "x.y"
  }
  step letter: letter template "contrakt"
  step text: sms template "remindr"
  step report: owner_notification letter template "welcome"
  step proj: create_project template "sale-projekt"
  step hook: webhook sprengnettr
  step publish: portal_sync publish {
    portals "immoscout24", "immowelt"
  }
  step log: activity_log kind "phone" type "cal" {
    feature "inquiry"
    feature "nope"
  }
  step log2: activity_log kind "fax"
  step leads: lead_distribution among group "sals"
  step set: set_status property "sould"
  step done: end
}
"#,
    );
    assert_eq!(
        c.found(),
        vec![
            ("P1005", "\"k.schmitt\"".to_string()),
            ("P1016", "\"inqiury\"".to_string()),
            ("P1005", "\"nobody\"".to_string()),
            ("P1005", "\"l.fisher\"".to_string()),
            ("P1014", "\"bavaria\"".to_string()),
            ("P1005", "\"ghost\"".to_string()),
            ("P1010", "\"welcom\"".to_string()),
            ("P1005", "\"x.y\"".to_string()),
            ("P1010", "\"contrakt\"".to_string()),
            ("P1010", "\"remindr\"".to_string()),
            ("P1010", "\"welcome\"".to_string()),
            ("P1020", "\"sale-projekt\"".to_string()),
            ("P1007", "sprengnettr".to_string()),
            ("P1013", "\"immowelt\"".to_string()),
            ("P1016", "\"cal\"".to_string()),
            ("P1016", "\"nope\"".to_string()),
            ("P1016", "\"fax\"".to_string()),
            ("P1006", "\"sals\"".to_string()),
            ("P1012", "\"sould\"".to_string()),
        ]
    );
    let helps: Vec<Option<&str>> = c.diagnostics.iter().map(|d| d.help.as_deref()).collect();
    assert_eq!(helps[0], Some("did you mean `k.schmidt`?"));
    assert_eq!(helps[6], Some("did you mean `welcome`?"));
    assert_eq!(helps[14], Some("did you mean `call`?"));
    assert_eq!(helps[18], Some("did you mean `sold`?"));
    let letter = &c.diagnostics[10];
    assert_eq!(letter.message, "unknown letter template `welcome`");
}

#[test]
fn webhook_service_must_be_activated_with_a_webhook() {
    let c = check(
        r#"process p {
  needs property
  step a: webhook floorplanner
  step b: webhook dormant
  step c: webhook sprengnetter(mode: "quick")
}
"#,
    );
    assert_eq!(c.spans("P1008"), vec!["floorplanner", "dormant"]);
    let ds = c.with_code("P1008");
    assert!(
        ds[0].message.contains("has no webhook"),
        "{}",
        ds[0].message
    );
    assert!(
        ds[1].message.contains("is not activated"),
        "{}",
        ds[1].message
    );
    assert_eq!(c.diagnostics.len(), 2);
}

#[test]
fn webhook_parameters_and_values_must_be_allowed() {
    let c = check(
        r#"process p {
  needs property
  step a: webhook sprengnetter(mood: "quick")
  step b: webhook sprengnetter(mode: "slow")
  step c: webhook sprengnetter(purpose: "anything goes")
  step d: webhook sprengnetter(purpose: property.rooms)
  step e: webhook sprengnetter(purpose: property.rooms + 1)
}
"#,
    );
    assert_eq!(c.spans("P1009"), vec!["mood", "\"slow\""]);
    assert_eq!(
        c.with_code("P1009")[0].help.as_deref(),
        Some("did you mean `mode`?")
    );
    assert_eq!(
        c.with_code("P1009")[1].help.as_deref(),
        Some("the values are: `full` and `quick`")
    );
    assert_eq!(c.spans("P2001"), vec!["property.rooms + 1"]);
    assert_eq!(c.diagnostics.len(), 3, "{:#?}", c.found());
}

#[test]
fn fields_and_statuses_in_triggers() {
    let c = check(
        r#"process p {
  needs property, address
  trigger property status "sld"
  trigger date address.birthdy
  trigger property saved when changed(purchase_prize, rooms)
  trigger address saved filter "hot-leds"
  step t: task "T"
}
"#,
    );
    assert_eq!(
        c.found(),
        vec![
            ("P1012", "\"sld\"".to_string()),
            ("P1011", "birthdy".to_string()),
            ("P1011", "purchase_prize".to_string()),
            ("P1015", "\"hot-leds\"".to_string()),
        ]
    );
    assert_eq!(
        c.diagnostics[2].help.as_deref(),
        Some("did you mean `purchase_price`?")
    );
}

#[test]
fn in_filter_needs_a_declared_filter_and_its_record() {
    let c = check(
        r#"process p {
  needs address
  step d: decision automatic when in_filter("premium") or in_filter("hot-leeds") or in_filter("hot-leads") {
    yes -> t
    no -> t
  }
  step t: task "T"
}
"#,
    );
    assert_eq!(c.spans("P1015"), vec!["\"hot-leeds\""]);
    // `premium` selects properties; the process links no property.
    assert_eq!(c.spans("P1017"), vec!["\"premium\""]);
}

#[test]
fn a_correct_process_is_clean() {
    clean(
        r#"process good {
  needs property, address
  controller user "k.schmidt"
  trigger property status "sold" owner supervisor of property filter "premium"
  step call: task "Call" {
    responsible supervisor of address
    start 2 business days after previous on "nrw"
    deadline 1 day -> remind responsible, 2 days -> reassign to user "l.fischer"
  }
  step mail: email template "welcome" automatic
  step hook: webhook sprengnetter(mode: "full")
  step publish: portal_sync publish automatic {
    portals "immoscout24"
  }
  step log: activity_log kind "phone" type "callback" {
    feature "inquiry"
  }
  step proj: create_project template "sale-project"
  step budget: write_values project.budget = property.purchase_price * 0.02
  step set: set_status property "sold"
  step done: end
}
"#,
    );
}
