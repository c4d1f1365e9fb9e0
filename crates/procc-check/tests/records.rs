//! Records and projects along the flow (P1017, P1018, P1019).

mod common;

use common::{check, clean};

#[test]
fn steps_that_need_an_unlinked_record_are_all_reported() {
    let c = check(
        r#"process revaluation {
  step review: task "Review" {
    responsible supervisor of address
    deadline 2 days -> reassign to supervisor of property
  }
  step mail: email template "welcome"
  step report: owner_notification email template "welcome"
  step status: set_status property "sold"
  step write: write_values address.nickname = "Kat"
  step publish: portal_sync publish
  step hook: webhook sprengnetter
  step about: task "About" {
    concerns property
  }
  step check: decision automatic when property.rooms > 3 {
    yes -> done
    no -> done
  }
  step done: end
}
"#,
    );
    assert_eq!(
        c.spans("P1017"),
        vec![
            "supervisor of address",
            "supervisor of property",
            "email",
            "owner_notification",
            "property",
            "address.nickname",
            "publish",
            "sprengnetter",
            "property",
            "property.rooms",
        ]
    );
    let first = &c.with_code("P1017")[0];
    assert_eq!(
        first.message,
        "step `review` is responsible to `supervisor of address`, but process `revaluation` links no address"
    );
    assert_eq!(
        first.help.as_deref(),
        Some(
            "add `needs address` to process `revaluation`, or an `assign_address` step before step `review`"
        )
    );
    assert_eq!(c.diagnostics.len(), 10, "{:#?}", c.found());
}

#[test]
fn an_assign_step_links_the_record_for_the_steps_after_it() {
    clean(
        r#"process p {
  needs property
  step link: assign_address
  step review: task "Review" {
    responsible supervisor of address
  }
  step mail: email template "welcome" automatic
}
"#,
    );
}

#[test]
fn a_record_linked_before_the_assign_step_is_not_linked() {
    let c = check(
        r#"process p {
  needs property
  step mail: email template "welcome"
  step link: assign_address
}
"#,
    );
    let d = c.one("P1017");
    assert_eq!(c.sources.get(d.file).slice(d.primary_span()), "email");
    assert_eq!(
        d.help.as_deref(),
        Some(
            "link the address before step `mail` on every path: move the `assign_address` step `link` before it"
        )
    );
}

#[test]
fn a_record_linked_only_in_one_branch_is_not_linked_after_the_merge() {
    let c = check(
        r#"process p {
  needs property
  step ask: decision manual "New tenant?" {
    yes -> link
    no -> join
  }
  step link: assign_address
  step join: merge
  step call: task "Call" {
    responsible supervisor of address
  }
}
"#,
    );
    let d = c.one("P1017");
    assert_eq!(
        c.sources.get(d.file).slice(d.primary_span()),
        "supervisor of address"
    );
    assert!(
        d.message
            .ends_with("links an address only on some paths to it"),
        "{}",
        d.message
    );
}

#[test]
fn needs_and_assign_of_the_same_record_conflict() {
    let c = check(
        r#"process p {
  needs property, address
  step link: assign_address
}
"#,
    );
    let d = c.one("P1017");
    assert_eq!(c.sources.get(d.file).slice(d.primary_span()), "address");
    assert_eq!(c.secondary(d), vec!["link"]);
    assert!(
        d.message.contains(
            "needs an address at start, but its `assign_address` step `link` links one later"
        ),
        "{}",
        d.message
    );
}

#[test]
fn assign_address_links_the_property_unless_told_otherwise() {
    let c = check(
        r#"process p {
  step a: assign_address
  step b: assign_address without property
}
"#,
    );
    let d = c.one("P1017");
    assert_eq!(
        c.sources.get(d.file).slice(d.primary_span()),
        "assign_address"
    );
    assert!(
        d.help
            .as_deref()
            .unwrap_or("")
            .starts_with("write `assign_address without property`")
    );
}

#[test]
fn triggers_need_their_record() {
    let c = check(
        r#"process p {
  trigger property saved when changed(rooms) and address.nickname == "x"
  trigger date address.birthday owner supervisor of address
  trigger address status "new"
  step t: task "T"
}
"#,
    );
    assert_eq!(
        c.spans("P1017"),
        vec![
            "property",
            "address.nickname",
            "address.birthday",
            "address"
        ]
    );
    let d = &c.with_code("P1017")[0];
    assert_eq!(
        d.help.as_deref(),
        Some("add `needs property` to process `p`")
    );
}

#[test]
fn follow_ups_carry_records_the_target_needs() {
    let c = check(
        r#"process parent {
  needs property
  step a: follow_up child
  step b: follow_up child {
    carry property
  }
  step c: follow_up child {
    carry address
  }
}

process child {
  needs property, address
  step t: task "T"
}
"#,
    );
    // a: no address to carry; b: carries no address; c: carries no property, and has no
    // address to carry.
    assert_eq!(
        c.spans("P1017"),
        vec!["child", "carry property", "carry address", "address"]
    );
    let ds = c.with_code("P1017");
    assert_eq!(
        ds[0].message,
        "step `a` starts process `child`, which needs an address, but process `parent` links no address"
    );
}

#[test]
fn forward_email_needs_an_email_start() {
    let c = check(
        r#"process p {
  step fw: forward_email
}

process q {
  needs email
  step fw: forward_email
}

process r {
  trigger email received
  step fw: forward_email
}
"#,
    );
    let d = c.one("P1018");
    assert_eq!(
        c.sources.get(d.file).slice(d.primary_span()),
        "forward_email"
    );
    assert_eq!(
        d.help.as_deref(),
        Some("add `needs email` to process `p`, or a `trigger email received` line")
    );
}

#[test]
fn project_values_need_a_create_step_on_every_path() {
    let c = check(
        r#"process p {
  step early: write_values project.budget = 1000 EUR
  step ask: decision manual "Project?" {
    yes -> create
    no -> join
  }
  step create: create_project template "sale-project"
  step inside: write_values project.budget = 2000 EUR
  step join: merge
  step after: write_values project.budget = 3000 EUR
  step read: decision automatic when project.budget > 0 {
    yes -> done
    no -> done
  }
  step done: end
}
"#,
    );
    assert_eq!(
        c.spans("P1019"),
        vec!["project.budget", "project.budget", "project.budget"]
    );
    let ds = c.with_code("P1019");
    assert!(
        ds[0].message.contains("no project is created before it"),
        "{}",
        ds[0].message
    );
    assert_eq!(
        ds[0].help.as_deref(),
        Some("add a `create_project` step before step `early`")
    );
    assert!(
        ds[1].message.contains("only on some paths"),
        "{}",
        ds[1].message
    );
    // `inside` is after the create step on its only path.
    assert!(ds.iter().all(|d| {
        !c.sources.get(d.file).text()[..d.primary_span().start()].ends_with("inside: write_values ")
    }));
}

#[test]
fn a_project_created_before_the_branches_counts_after_the_merge() {
    clean(
        r#"process p {
  step create: create_project template "sale-project"
  step ask: decision manual "Big?" {
    yes -> big
    no -> join
  }
  step big: write_values project.budget = 2000 EUR
  step join: merge
  step after: write_values project.budget = 3000 EUR
}
"#,
    );
}
