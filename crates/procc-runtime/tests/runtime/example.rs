//! The example plan runs end to end.

use chrono::Duration;
use procc_plan::Module;
use procc_runtime::*;
use serde_json::json;

use crate::common::*;
use crate::on_every_store;

on_every_store!(seller_acquisition_runs_to_its_end, examples(), |h| {
    let id = h.start("seller_acquisition", links(Some("A1"), Some("P1")));
    let v = h.view(id);
    // Responsible: the property's supervisor.
    assert_eq!(
        v.step("intro_mail").unwrap().responsible.as_deref(),
        Some("a.yilmaz")
    );
    h.engine
        .complete_step(id, 0, "a.yilmaz", &StepInput::default())
        .unwrap();
    assert_eq!(
        h.state(id, "first_visit"),
        StepState::Scheduled {
            at: berlin(2026, 3, 4, 9, 0)
        }
    );
    h.advance(Duration::days(2));
    let i = h.index(id, "first_visit");
    h.engine
        .complete_step(id, i, "a.yilmaz", &StepInput::default())
        .unwrap();
    // Wednesday 4 March + 3 business days (nrw) = Monday 9 March.
    assert_eq!(
        h.state(id, "call_back"),
        StepState::Scheduled {
            at: berlin(2026, 3, 9, 9, 0)
        }
    );
    h.advance(Duration::days(5));
    let i = h.index(id, "call_back");
    h.engine
        .complete_step(id, i, "a.yilmaz", &StepInput::default())
        .unwrap();
    // Decision by e-mail with signed links.
    let mails = h.emails_to("a.yilmaz@example-immobilien.de");
    let decision = mails
        .iter()
        .find(|m| m.payload.get("decision").is_some())
        .expect("decision mail");
    let yes = decision.payload["decision"]["yes"]
        .as_str()
        .unwrap()
        .split("token=")
        .nth(1)
        .unwrap()
        .to_string();
    h.engine.decide_by_token(&yes).unwrap();
    let i = h.index(id, "mandate_letter");
    h.engine
        .complete_step(id, i, "a.yilmaz", &StepInput::default())
        .unwrap();
    // Project created, budget written (3 % of the purchase price), exclusive decision waits.
    let v = h.view(id);
    let project = v.instance.links.project.clone().expect("a project");
    let p = h.engine.record(Module::Project, &project).unwrap().unwrap();
    assert_eq!(p.fields["budget"].as_f64().unwrap().round(), 15000.0);
    let i = h.index(id, "exclusive");
    h.engine
        .complete_step(id, i, "a.yilmaz", &StepInput::answer(true))
        .unwrap();
    let v = h.view(id);
    assert_eq!(v.instance.status, InstanceStatus::Completed);
    assert!(v.step("lost").is_none());
    let p1 = h.engine.record(Module::Property, "P1").unwrap().unwrap();
    assert_eq!(p1.fields["status"], json!("active"));
    assert_eq!(p1.fields["exclusive"], json!(true));
    let portals: Vec<_> = h
        .engine
        .outbox()
        .unwrap()
        .into_iter()
        .filter(|o| o.kind == EffectKind::Portal)
        .collect();
    assert_eq!(portals.len(), 2);
    // The follow-up revaluation runs with the carried property.
    let child = h
        .engine
        .running()
        .unwrap()
        .into_iter()
        .find(|i| i.template == "revaluation")
        .expect("the follow-up started");
    assert_eq!(child.links.property.as_deref(), Some("P1"));
    assert_eq!(
        child.started_by,
        StartedBy::FollowUp {
            parent: id,
            step: h.index(id, "listing_followup")
        }
    );
    assert_eq!(child.chain, id);
    let history: Vec<_> = v.history.iter().map(|a| &*a.event).collect();
    assert!(history.contains(&"decided_by_link"));
    assert!(history.contains(&"completed"));
});

on_every_store!(every_example_template_starts, examples(), |h| {
    let plan = examples();
    for t in &plan.templates {
        let id = h.start(&t.name, links(Some("A1"), Some("P1")));
        h.advance(Duration::days(1));
        let v = h.view(id);
        assert!(!v.steps.is_empty(), "{}", t.name);
        assert!(
            v.history.iter().all(|a| a.event != "timer_failed"),
            "{}",
            t.name
        );
    }
});

on_every_store!(an_activity_starts_viewing_feedback, examples(), |h| {
    let event = RecordEvent::ActivityReceived {
        address: "A1".into(),
        property: None,
        kind: "viewing".into(),
        activity_type: Some("done".into()),
        feature: None,
    };
    let started = h.engine.record_event(&event, "act-1").unwrap();
    assert_eq!(started.len(), 1);
    let v = h.view(started[0]);
    assert_eq!(v.instance.template, "viewing_feedback");
    assert_eq!(v.instance.owner, "m.weber");
    // The first step links the property by hand.
    let before = h.snapshot();
    assert!(matches!(
        h.engine
            .complete_step(started[0], 0, "m.weber", &StepInput::value(json!("P404"))),
        Err(Error::InvalidInput(_))
    ));
    assert_eq!(before, h.snapshot());
    h.engine
        .complete_step(started[0], 0, "m.weber", &StepInput::value(json!("P1")))
        .unwrap();
    assert_eq!(
        h.view(started[0]).instance.links.property.as_deref(),
        Some("P1")
    );
    assert!(h.engine.record_event(&event, "act-1").unwrap().is_empty());
});
