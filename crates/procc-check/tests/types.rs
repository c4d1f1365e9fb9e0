//! Types of expressions and written values (P2001, P2008, P2009, P2010, P1011).

mod common;

use common::{check, clean};

/// A process with one automatic decision on `cond`, linked to both records.
fn decide(cond: &str) -> common::Checked {
    check(&format!(
        "process p {{\n  needs property, address\n  step d: decision automatic when {cond} {{\n    yes -> done\n    no -> done\n  }}\n  step done: end\n}}\n"
    ))
}

#[test]
fn well_typed_conditions_are_clean() {
    for cond in [
        "property.purchase_price > 500000 EUR",
        "property.purchase_price > 500000",
        "property.living_area >= 80 m²",
        "property.rooms * 2 > 5 and not property.balcony",
        "property.marketing_type == \"buy\"",
        "property.status in [\"sold\", \"let\"]",
        "address.customer_type != \"tenant\" or is_set(address.birthday)",
        "days_since(address.birthday) > 30",
        "address.birthday < today() - 30 days",
        "today() - address.birthday > 10 days",
        "property.purchase_price / property.living_area > 3000",
        "property.rooms > 10%",
        "in_filter(\"premium\")",
        "2 * (property.purchase_price + 1000 EUR) < 1000000 EUR",
    ] {
        let c = decide(cond);
        assert!(c.diagnostics.is_empty(), "{cond}: {:#?}", c.diagnostics);
    }
}

#[test]
fn ill_typed_conditions_are_reported_at_the_operand() {
    for (cond, span) in [
        ("property.purchase_price", "property.purchase_price"),
        ("property.purchase_price > 2026-01-01", "2026-01-01"),
        ("property.purchase_price > 100 m²", "100 m²"),
        ("property.balcony and property.rooms", "property.rooms"),
        ("not property.rooms", "property.rooms"),
        (
            "property.marketing_type < \"buy\"",
            "property.marketing_type",
        ),
        ("property.rooms in [1, \"two\"]", "\"two\""),
        ("property.rooms in 3", "3"),
        ("days_since(property.rooms) > 1", "property.rooms"),
        (
            "address.birthday + property.rooms > today()",
            "address.birthday + property.rooms",
        ),
        (
            "property.purchase_price * property.purchase_price > 1",
            "property.purchase_price * property.purchase_price",
        ),
        ("is_set(3)", "3"),
        ("[1, 2] == 1", "[1, 2]"),
    ] {
        let c = decide(cond);
        assert_eq!(c.spans("P2001"), vec![span], "{cond}: {:#?}", c.diagnostics);
        assert_eq!(c.diagnostics.len(), 1, "{cond}: {:#?}", c.diagnostics);
    }
}

#[test]
fn a_text_that_is_not_an_enum_value_lists_the_values() {
    let c = decide(
        "property.marketing_type == \"lease\" or address.customer_type in [\"owner\", \"byer\"]",
    );
    assert_eq!(c.spans("P2001"), vec!["\"lease\"", "\"byer\""]);
    let ds = c.with_code("P2001");
    assert_eq!(
        ds[0].message,
        "`\"lease\"` is not a value of `property.marketing_type`"
    );
    assert_eq!(
        ds[0].help.as_deref(),
        Some("the values are: `buy` and `rent`")
    );
    assert_eq!(ds[1].help.as_deref(), Some("did you mean `\"buyer\"`?"));
}

#[test]
fn functions_are_known_and_counted() {
    let c = decide(
        "todya() > address.birthday or days_since() > 3 or is_set(address.birthday, address.nickname) or changed(rooms)",
    );
    assert_eq!(c.spans("P2008"), vec!["todya", "changed"]);
    assert_eq!(
        c.with_code("P2008")[0].help.as_deref(),
        Some("did you mean `today`?")
    );
    assert_eq!(
        c.spans("P2009"),
        vec!["days_since()", "is_set(address.birthday, address.nickname)"]
    );
    assert_eq!(
        c.with_code("P2009")[0].message,
        "`days_since` takes one argument, but 0 were given"
    );
    assert_eq!(c.diagnostics.len(), 4, "{:#?}", c.found());
}

#[test]
fn bare_names_and_unknown_fields() {
    let c = decide("rooms > 3 or property.romos > 3 or property.rooms > 3");
    assert_eq!(c.spans("P1011"), vec!["rooms", "romos"]);
    let ds = c.with_code("P1011");
    assert_eq!(ds[0].help.as_deref(), Some("write `property.rooms`"));
    assert_eq!(ds[1].help.as_deref(), Some("did you mean `rooms`?"));
    assert_eq!(c.diagnostics.len(), 2, "{:#?}", c.found());
}

#[test]
fn trigger_conditions_must_be_bool_and_changed_takes_fields_of_the_saved_record() {
    let c = check(
        r#"process p {
  needs property, address
  trigger property saved when changed(purchase_price, property.rooms, address.nickname)
  trigger property saved when property.rooms
  trigger address saved when changed(nickname) and changed(living_area)
  step t: task "T"
}
"#,
    );
    assert_eq!(c.spans("P2001"), vec!["address.nickname", "property.rooms"]);
    assert_eq!(c.spans("P1011"), vec!["living_area"]);
}

#[test]
fn written_values_must_fit_the_field() {
    let c = check(
        r#"process p {
  needs property, address
  step a: write_values property.purchase_price = 300000 EUR
  step b: write_values property.purchase_price = 300000
  step c: write_values property.living_area = 300000 EUR
  step d: write_values property.marketing_type = "rent"
  step e: write_values property.marketing_type = "lease"
  step f: write_values property.balcony = "yes"
  step g: write_values address.birthday = today() + 3 days
  step h: write_values property.listed_since = 2026-01-01
  step i: write_values property.status = "sould"
  step j: write_values property.id = "x"
  step k: write_values property.rooms manual
  step l: write_values property.nothing = 3
}
"#,
    );
    assert_eq!(
        c.found(),
        vec![
            ("P2001", "300000 EUR".to_string()),
            ("P2001", "\"lease\"".to_string()),
            ("P2001", "\"yes\"".to_string()),
            ("P2010", "property.listed_since".to_string()),
            ("P1012", "\"sould\"".to_string()),
            ("P2010", "property.id".to_string()),
            ("P1011", "nothing".to_string()),
        ]
    );
    assert_eq!(
        c.diagnostics[0].message,
        "step `c` writes `300000 EUR`, a `money` value, into `property.living_area`, which holds an `area` value"
    );
}

#[test]
fn deep_operator_chains_do_not_overflow() {
    // 240 comparisons joined by `and` are 959 operands and operators, just under the parser's
    // limit of 1,000 (longer expressions are refused by the parser with P0005).
    let cond = vec!["property.rooms > 1"; 240].join(" and ");
    let c = decide(&cond);
    assert!(c.diagnostics.is_empty());
    let bad = format!("{cond} and property.rooms");
    assert_eq!(decide(&bad).spans("P2001"), vec!["property.rooms"]);
}

#[test]
fn a_typed_date_trigger_is_clean() {
    clean(
        r#"process p {
  needs address
  trigger date address.birthday 3 days before ignore year filter "hot-leads"
  step t: task "T"
}
"#,
    );
    let c = check(
        "process p {\n  needs address\n  trigger date address.nickname\n  step t: task \"T\"\n}\n",
    );
    assert_eq!(c.spans("P2001"), vec!["address.nickname"]);
}
