//! Invalid operations get typed errors and change nothing.

use procc_runtime::*;

use crate::common::*;
use crate::fixtures::small;
use crate::on_every_store;

on_every_store!(invalid_operations_change_nothing, small(), |h| {
    let id = h.start("skipflow", Links::default());
    h.engine
        .complete_step(id, 0, "j.becker", &StepInput::default())
        .unwrap();
    let before = h.snapshot();
    // Completing a done step.
    assert!(matches!(
        h.engine
            .complete_step(id, 0, "j.becker", &StepInput::default()),
        Err(Error::StepNotActive { .. })
    ));
    // Unknown ids.
    assert_eq!(
        h.engine.complete_step(999, 0, "x", &StepInput::default()),
        Err(Error::UnknownInstance(999))
    );
    assert!(matches!(
        h.engine.complete_step(id, 77, "x", &StepInput::default()),
        Err(Error::UnknownStep { .. })
    ));
    assert_eq!(
        h.engine.complete_task(4242, "x"),
        Err(Error::UnknownTask(4242))
    );
    assert_eq!(h.engine.cancel(999, "x"), Err(Error::UnknownInstance(999)));
    assert!(matches!(
        h.engine.reassign(id, 1, "nobody", false, "x"),
        Err(Error::UnknownUser(_))
    ));
    // Skipping a task step.
    assert!(matches!(
        h.engine.skip(id, 1, "j.becker"),
        Err(Error::NotSkippable { .. })
    ));
    // Starting an inactive or unknown template, or without a needed record.
    let start = |template: &str, links: Links| {
        h.engine.start(&StartRequest {
            template: template.into(),
            owner: "j.becker".into(),
            links,
            started_by: "k.schmidt".into(),
            ..Default::default()
        })
    };
    assert_eq!(
        start("inactive", Links::default()),
        Err(Error::TemplateInactive("inactive".into()))
    );
    assert_eq!(
        start("nope", Links::default()),
        Err(Error::UnknownTemplate("nope".into()))
    );
    assert!(matches!(
        start("wait", Links::default()),
        Err(Error::MissingLink { .. })
    ));
    assert!(matches!(
        start("wait", links(Some("A404"), None)),
        Err(Error::InvalidInput(_))
    ));
    // A plan of a newer format, a tampered plan.
    let mut newer = small();
    newer.format_version += 1;
    newer.hash = newer.compute_hash();
    assert!(matches!(
        h.engine.deploy(&newer),
        Err(Error::PlanFormat { .. })
    ));
    let mut tampered = small();
    tampered.templates[0].active = false;
    assert_eq!(h.engine.deploy(&tampered), Err(Error::PlanTampered));
    assert_eq!(before, h.snapshot());
});

on_every_store!(starts_are_idempotent_by_key, small(), |h| {
    let request = StartRequest {
        template: "taskflow".into(),
        owner: "j.becker".into(),
        started_by: "k.schmidt".into(),
        idempotency_key: Some("crm-click-1".into()),
        ..Default::default()
    };
    let a = h.engine.start(&request).unwrap();
    let b = h.engine.start(&request).unwrap();
    assert_eq!(a, b);
    assert_eq!(h.engine.running().unwrap().len(), 1);
});
