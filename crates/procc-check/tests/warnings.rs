//! Likely manual steps (P3007): the three heuristics of the crate docs.

mod common;

use common::{check, check_with, clean};
use procc_diagnostics::Severity;

#[test]
fn automatic_steps_whose_record_is_linked_on_some_paths_only() {
    let c = check(
        r#"process p {
  needs property
  step ask: decision manual "New tenant?" {
    yes -> link
    no -> join
  }
  step link: assign_address
  step join: merge
  step auto: email template "welcome" automatic
  step manual: email template "welcome"
}
"#,
    );
    assert_eq!(c.spans("P3007"), vec!["email"]);
    let d = c.one("P3007");
    assert_eq!(d.severity, Severity::Warning);
    assert_eq!(
        d.message,
        "automatic step `auto` e-mails the address, but process `p` links an address only on some paths to it"
    );
    // The manual e-mail is an error: a person cannot send it without an address either.
    assert_eq!(c.spans("P1017"), vec!["email"]);
    assert!(c.one("P1017").primary_span().start > d.primary_span().start);
}

#[test]
fn automatic_sms_without_a_sender_number() {
    let c = check(
        r#"process p {
  needs address
  step a: sms "Hello" automatic
  step b: sms "Hello" automatic {
    sender client
  }
  step c: sms "Hello" automatic {
    sender group
    responsible user "k.schmidt"
  }
  step d: sms "Hello" automatic {
    sender group
    responsible user "l.fischer"
  }
  step e: sms "Hello" {
    sender client
  }
}
"#,
    );
    assert_eq!(c.spans("P3007"), vec!["sms", "client", "group"]);
    let ds = c.with_code("P3007");
    assert!(
        ds[0]
            .message
            .contains("links no property whose supervisor could send it"),
        "{}",
        ds[0].message
    );
    assert!(
        ds[1].message.contains("no mobile number"),
        "{}",
        ds[1].message
    );
    assert!(
        ds[2]
            .message
            .contains("`k.schmidt` belongs to no group with a mobile number"),
        "{}",
        ds[2].message
    );
    assert_eq!(c.diagnostics.len(), 3, "{:#?}", c.found());
}

#[test]
fn no_group_with_a_mobile_number_at_all() {
    let catalog = common::CATALOG.replace("mobile = \"+49 211 5550110\"\n", "");
    let c = check_with(
        &catalog,
        &[(
            "t.proc",
            "process p {\n  needs address\n  step c: sms \"Hi\" automatic {\n    sender group\n  }\n}\n",
        )],
    );
    assert_eq!(c.spans("P3007"), vec!["group"]);
    assert!(
        c.one("P3007")
            .message
            .ends_with("no group in the project file has a mobile number")
    );
}

#[test]
fn lead_distribution_without_consultants() {
    let c = check(
        r#"process p {
  needs address
  step a: lead_distribution among group "empty"
  step b: lead_distribution among group "sales"
  step c: lead_distribution among users "k.schmidt"
  step d: lead_distribution among group "office" {
    capacity address.lead_capacity
    activity kind "phone" type "call"
  }
}
"#,
    );
    assert_eq!(
        c.spans("P3007"),
        vec!["\"empty\"", "\"sales\"", "\"k.schmidt\""]
    );
    let ds = c.with_code("P3007");
    assert!(
        ds[0]
            .message
            .ends_with("the group has no members in the project file")
    );
    assert!(
        ds[1]
            .message
            .ends_with("no consultant in the pool has an address record linked to their user")
    );
    assert_eq!(c.diagnostics.len(), 3, "{:#?}", c.found());
}

#[test]
fn capacity_is_a_number_field_of_the_address() {
    let c = check(
        r#"process p {
  needs address
  step a: lead_distribution among group "office" {
    capacity property.rooms
  }
  step b: lead_distribution among group "office" {
    capacity address.nickname
  }
}
"#,
    );
    assert_eq!(c.spans("P2001"), vec!["property", "address.nickname"]);
}

#[test]
fn sms_from_the_linked_property_supervisor_is_clean() {
    clean(
        r#"process p {
  needs address, property
  step a: sms "Hello" automatic {
    send between 09:00 and 18:00
  }
}
"#,
    );
}
