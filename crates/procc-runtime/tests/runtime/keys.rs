//! Ids and keys handed to the engine: one byte too long, or with a NUL (which PostgreSQL cannot
//! store in text) or another control character, are refused with `Error::InvalidInput` at every
//! entry point, before anything is written.

use procc_plan::{Module, Plan};
use procc_runtime::*;
use serde_json::json;

use crate::common::*;
use crate::fixtures::small;
use crate::on_every_store;

/// The small fixture plus `link`, whose first step links a property entered by a person.
fn with_link_step() -> Plan {
    let mut templates = small().templates;
    templates.push(template(
        "link",
        vec![
            step(
                "which",
                json!({"kind": "assign_property", "address_from": null}),
            ),
            end("done"),
        ],
        json!({}),
    ));
    plan(templates)
}

/// Keys refused under this limit: one byte too long, with a NUL, with a control character.
fn bad(limit: usize) -> [String; 3] {
    ["k".repeat(limit + 1), "k\0ey".into(), "k\u{1}ey".into()]
}

/// Asserts that `result` is the refusal of `what`.
#[track_caller]
fn refused<T: std::fmt::Debug>(result: Result<T>, what: &str) {
    match result {
        Err(Error::InvalidInput(message))
            if message.starts_with(what)
                && (message.ends_with("bytes") || message.ends_with("control character")) => {}
        other => panic!("expected the refusal of {what}, got {other:?}"),
    }
}

/// Everything the store holds beyond what the snapshot shows: every record and every key
/// (idempotency keys, trigger occurrences, endpoints).
fn stored<S: Store>(h: &H<S>) -> String {
    h.engine
        .store()
        .read_transaction(&mut |tx| {
            let mut out = String::new();
            for module in [Module::Address, Module::Property, Module::Project] {
                out.push_str(&format!("{:?}\n", tx.records(module)?));
            }
            out.push_str(&format!("{:?}\n", tx.keys_with_prefix("")?));
            Ok(out)
        })
        .unwrap()
}

fn mail(id: &str) -> TriggerEmail {
    TriggerEmail {
        id: id.into(),
        from: "anna@example.org".into(),
        subject: "Inquiry".into(),
    }
}

fn activity(address: &str, property: Option<&str>) -> RecordEvent {
    RecordEvent::ActivityReceived {
        address: address.into(),
        property: property.map(Into::into),
        kind: "call".into(),
        activity_type: None,
        feature: None,
    }
}

/// A status event that starts `on_status` when it gets through.
fn reserved() -> RecordEvent {
    RecordEvent::StatusSet {
        module: Module::Property,
        id: "P1".into(),
        value: "reserved".into(),
    }
}

on_every_store!(
    bad_ids_and_keys_are_refused_and_change_nothing,
    with_link_step(),
    |h| {
        // An instance at its step that links a property, to enter a bad id into.
        let linking = h.start("link", Links::default());
        let which = h.index(linking, "which");
        let before = (h.snapshot(), stored(&h));
        for key in bad(MAX_KEY) {
            let start = |request: StartRequest| h.engine.start(&request);
            refused(
                start(StartRequest {
                    idempotency_key: Some(key.clone()),
                    ..hours_request()
                }),
                "the idempotency key",
            );
            refused(
                start(StartRequest {
                    links: links(Some(&key), None),
                    ..hours_request()
                }),
                "the address id",
            );
            refused(
                start(StartRequest {
                    links: links(None, Some(&key)),
                    ..hours_request()
                }),
                "the property id",
            );
            refused(
                start(StartRequest {
                    links: Links {
                        project: Some(key.as_str().into()),
                        ..Links::default()
                    },
                    ..hours_request()
                }),
                "the project id",
            );
            refused(
                start(StartRequest {
                    email: Some(mail(&key)),
                    ..hours_request()
                }),
                "the event id",
            );

            refused(
                h.engine.put_record(&RecordRow::new(Module::Property, &key)),
                "the record id",
            );
            refused(h.engine.record(Module::Property, &key), "the record id");

            let event = |event: RecordEvent| h.engine.record_event(&event, "occurrence-1");
            refused(
                event(RecordEvent::Saved {
                    record: RecordRow::new(Module::Property, &key),
                    changed: vec![],
                }),
                "the record id",
            );
            refused(
                event(RecordEvent::StatusSet {
                    module: Module::Property,
                    id: key.clone(),
                    value: "reserved".into(),
                }),
                "the record id",
            );
            refused(
                event(RecordEvent::EmailReceived {
                    address: "A1".into(),
                    property: None,
                    email: mail(&key),
                    feature: None,
                }),
                "the event id",
            );
            refused(
                event(RecordEvent::EmailReceived {
                    address: key.clone(),
                    property: None,
                    email: mail("mail-1"),
                    feature: None,
                }),
                "the address id",
            );
            refused(event(activity("A1", Some(&key))), "the property id");
            refused(event(activity(&key, None)), "the address id");

            if key.len() > MAX_KEY {
                // An endpoint is a URL, which may be long: one of any length that is not
                // disabled is answered as such.
                assert_eq!(h.engine.enable_endpoint(&key, "ops"), Ok(false));
                assert_eq!(h.engine.endpoint_disabled(&key), Ok(None));
            } else {
                refused(h.engine.enable_endpoint(&key, "ops"), "the endpoint");
                refused(h.engine.endpoint_disabled(&key), "the endpoint");
            }

            refused(
                h.engine
                    .complete_step(linking, which, "j.becker", &StepInput::value(json!(key))),
                "the property id",
            );

            // A batch refuses each such operation alone, the same way.
            let results = h
                .engine
                .batch(&[
                    Operation::Start(StartRequest {
                        idempotency_key: Some(key.clone()),
                        ..hours_request()
                    }),
                    Operation::PutRecord(RecordRow::new(Module::Address, &key)),
                    Operation::RecordEvent {
                        event: activity(&key, None),
                        occurrence: "occurrence-2".into(),
                    },
                ])
                .unwrap();
            let mut results = results.into_iter();
            refused(results.next().unwrap(), "the idempotency key");
            refused(results.next().unwrap(), "the record id");
            refused(results.next().unwrap(), "the address id");
        }
        // The occurrence has room for a caller's tag beyond the limit of ids.
        for occurrence in bad(MAX_OCCURRENCE) {
            refused(
                h.engine.record_event(&reserved(), &occurrence),
                "the occurrence",
            );
            let results = h
                .engine
                .batch(&[Operation::RecordEvent {
                    event: reserved(),
                    occurrence,
                }])
                .unwrap();
            refused(results.into_iter().next().unwrap(), "the occurrence");
        }
        assert_eq!(before, (h.snapshot(), stored(&h)));

        // Keys at the limits go through.
        let longest = "k".repeat(MAX_KEY);
        h.engine
            .put_record(&RecordRow::new(Module::Property, &longest))
            .unwrap();
        assert!(
            h.engine
                .record(Module::Property, &longest)
                .unwrap()
                .is_some()
        );
        h.engine
            .start(&StartRequest {
                idempotency_key: Some(longest.clone()),
                links: links(None, Some(&longest)),
                ..hours_request()
            })
            .unwrap();
        let started = h
            .engine
            .record_event(&reserved(), &"o".repeat(MAX_OCCURRENCE))
            .unwrap();
        assert_eq!(started.len(), 1);
    }
);
