//! Triggers: record events and the daily date scan, idempotent per template, record and
//! occurrence.

use chrono::NaiveDate;
use procc_plan::Module;
use procc_runtime::*;
use serde_json::json;

use crate::fixtures::small;
use crate::on_every_store;

on_every_store!(status_set_starts_once_per_occurrence, small(), |h| {
    let event = RecordEvent::StatusSet {
        module: Module::Property,
        id: "P1".into(),
        value: "reserved".into(),
    };
    let started = h.engine.record_event(&event, "evt-1").unwrap();
    assert_eq!(started.len(), 1);
    let v = h.view(started[0]);
    assert_eq!(v.instance.template, "on_status");
    // Owner: the supervisor of the property.
    assert_eq!(v.instance.owner, "a.yilmaz");
    assert_eq!(v.instance.links.property.as_deref(), Some("P1"));
    assert!(
        h.engine.record_event(&event, "evt-1").unwrap().is_empty(),
        "same occurrence"
    );
    assert_eq!(h.engine.record_event(&event, "evt-2").unwrap().len(), 1);
    let other = RecordEvent::StatusSet {
        module: Module::Property,
        id: "P1".into(),
        value: "sold".into(),
    };
    assert!(h.engine.record_event(&other, "evt-3").unwrap().is_empty());
});

on_every_store!(saved_honours_filter_and_changed_fields, small(), |h| {
    let mut p1 = h.engine.record(Module::Property, "P1").unwrap().unwrap();
    p1.fields.insert("purchase_price".into(), json!(450000));
    let changed = vec!["purchase_price".to_string()];
    // Not in the filter `active-sales`: nothing.
    let saved = RecordEvent::Saved {
        record: p1.clone(),
        changed: changed.clone(),
    };
    assert!(h.engine.record_event(&saved, "s1").unwrap().is_empty());
    p1.filters.push("active-sales".into());
    // In the filter but another field changed: nothing.
    let other = RecordEvent::Saved {
        record: p1.clone(),
        changed: vec!["rooms".into()],
    };
    assert!(h.engine.record_event(&other, "s2").unwrap().is_empty());
    let saved = RecordEvent::Saved {
        record: p1,
        changed,
    };
    assert_eq!(h.engine.record_event(&saved, "s3").unwrap().len(), 1);
    assert_eq!(
        h.engine
            .record(Module::Property, "P1")
            .unwrap()
            .unwrap()
            .fields["purchase_price"],
        json!(450000)
    );
});

on_every_store!(
    daily_scan_is_idempotent_and_ignores_the_year,
    small(),
    |h| {
        // A1's birthday is 5 March; the trigger fires 3 days before, every year.
        assert!(
            h.engine
                .daily_scan(NaiveDate::from_ymd_opt(2026, 3, 1).unwrap())
                .unwrap()
                .is_empty()
        );
        let started = h
            .engine
            .daily_scan(NaiveDate::from_ymd_opt(2026, 3, 2).unwrap())
            .unwrap();
        assert_eq!(started.len(), 1);
        assert_eq!(h.view(started[0]).instance.owner, "m.weber");
        assert_eq!(h.emails_to("anna@example.org").len(), 1);
        assert!(
            h.engine
                .daily_scan(NaiveDate::from_ymd_opt(2026, 3, 2).unwrap())
                .unwrap()
                .is_empty()
        );
        assert_eq!(
            h.engine
                .daily_scan(NaiveDate::from_ymd_opt(2027, 3, 2).unwrap())
                .unwrap()
                .len(),
            1
        );
    }
);

on_every_store!(
    email_received_starts_with_the_email_for_forwarding,
    small(),
    |h| {
        let event = RecordEvent::EmailReceived {
            address: "A1".into(),
            property: None,
            email: TriggerEmail {
                id: "mail-7".into(),
                from: "anna@example.org".into(),
                subject: "Inquiry".into(),
            },
            feature: Some("inquiry".into()),
        };
        let started = h.engine.record_event(&event, "mail-7").unwrap();
        assert_eq!(started.len(), 1);
        assert_eq!(
            h.view(started[0]).instance.status,
            InstanceStatus::Completed
        );
        let fwd = h.emails_to("k.schmidt@example-immobilien.de");
        assert_eq!(fwd.len(), 1);
        assert_eq!(fwd[0].payload["forward"], json!("mail-7"));
        let other = RecordEvent::EmailReceived {
            address: "A1".into(),
            property: None,
            email: TriggerEmail {
                id: "mail-8".into(),
                from: "x@example.org".into(),
                subject: "Hi".into(),
            },
            feature: Some("complaint".into()),
        };
        assert!(h.engine.record_event(&other, "mail-8").unwrap().is_empty());
    }
);

#[test]
fn daily_scans_catch_up_on_missed_days() {
    let h = crate::common::memory(&small());
    // First run: today (2 March 2026) only, which is A1's birthday minus three days.
    assert_eq!(h.engine.run_daily_scans().unwrap().len(), 1);
    assert!(h.engine.run_daily_scans().unwrap().is_empty());
    assert_eq!(
        h.engine.next_daily_scan().unwrap(),
        Some(crate::common::berlin(2026, 3, 3, 0, 0))
    );
    // A year later every missed day is scanned once: one more birthday.
    h.clock.advance(chrono::Duration::days(365));
    assert_eq!(h.engine.run_daily_scans().unwrap().len(), 1);
}
