//! Execution semantics on every store.

use chrono::Duration;
use procc_plan::Module;
use procc_runtime::*;
use serde_json::json;

use crate::common::*;
use crate::fixtures::small;
use crate::on_every_store;

on_every_store!(
    activation_after_days_waits_then_runs_at_once,
    small(),
    |h| {
        let id = h.start("wait", links(Some("A1"), None));
        let v = h.view(id);
        assert_eq!(v.instance.status, InstanceStatus::RunningDue);
        assert_eq!(h.engine.inbox("j.becker").unwrap().len(), 1);
        h.engine
            .complete_step(id, 0, "j.becker", &StepInput::default())
            .unwrap();
        // The e-mail step is scheduled two days later at the same wall time; the process waits.
        let v = h.view(id);
        assert_eq!(v.instance.status, InstanceStatus::RunningWaiting);
        assert_eq!(
            h.state(id, "mail"),
            StepState::Scheduled {
                at: berlin(2026, 3, 4, 9, 0)
            }
        );
        assert!(h.engine.inbox("j.becker").unwrap().is_empty());
        h.advance(Duration::hours(47));
        assert!(matches!(h.state(id, "mail"), StepState::Scheduled { .. }));
        h.advance(Duration::hours(1));
        // Automatic: ran at once, e-mail in the outbox, process completed.
        assert_eq!(h.state(id, "mail"), StepState::Done);
        assert_eq!(
            h.view(id).step("mail").unwrap().activated_at,
            Some(berlin(2026, 3, 4, 9, 0))
        );
        assert_eq!(h.emails_to("anna@example.org").len(), 1);
        let v = h.view(id);
        assert_eq!(v.instance.status, InstanceStatus::Completed);
        assert!(v.timers.is_empty());
    }
);

on_every_store!(activation_after_business_days_and_hours, small(), |h| {
    let id = h.start("bizdays", Links::default());
    // Monday 2 March + 3 business days = Thursday 5 March, same time.
    assert_eq!(
        h.state(id, "call_back"),
        StepState::Scheduled {
            at: berlin(2026, 3, 5, 9, 0)
        }
    );
    let id2 = h.start("hours", Links::default());
    assert_eq!(
        h.state(id2, "call"),
        StepState::Scheduled {
            at: t0() + Duration::hours(5)
        }
    );
    h.advance(Duration::hours(5));
    assert_eq!(h.state(id2, "call"), StepState::Active);
    assert!(matches!(
        h.state(id, "call_back"),
        StepState::Scheduled { .. }
    ));
    h.advance(Duration::days(3));
    assert_eq!(h.state(id, "call_back"), StepState::Active);
});

on_every_store!(
    task_steps_wait_for_their_task_and_stay_in_sync,
    small(),
    |h| {
        let id = h.start("taskflow", Links::default());
        let v = h.view(id);
        let task = v.step("call").unwrap().task.expect("a task was created");
        assert_eq!(v.artefacts[0].kind, ArtefactKind::Task);
        assert_eq!(v.artefacts[0].user.as_deref(), Some("j.becker"));
        // Completing the step directly is refused and changes nothing.
        let before = h.snapshot();
        let err = h
            .engine
            .complete_step(id, 0, "j.becker", &StepInput::default())
            .unwrap_err();
        assert!(matches!(err, Error::WaitsForTask { task: t, .. } if t == task));
        // "This and following" is refused for task steps.
        let err = h
            .engine
            .reassign(id, 0, "m.weber", true, "k.schmidt")
            .unwrap_err();
        assert!(matches!(err, Error::TaskStepFollowing { .. }));
        assert_eq!(before, h.snapshot());
        // Reassigning the step moves the task; reassigning the task moves the step.
        h.engine
            .reassign(id, 0, "m.weber", false, "k.schmidt")
            .unwrap();
        assert_eq!(h.view(id).artefacts[0].user.as_deref(), Some("m.weber"));
        assert_eq!(h.engine.inbox("m.weber").unwrap().len(), 1);
        assert!(h.engine.inbox("j.becker").unwrap().is_empty());
        h.engine.reassign_task(task, "a.yilmaz", "m.weber").unwrap();
        assert_eq!(
            h.view(id).step("call").unwrap().responsible.as_deref(),
            Some("a.yilmaz")
        );
        assert_eq!(h.engine.inbox("a.yilmaz").unwrap().len(), 1);
        let undone = h.view(id).artefacts[0].clone();
        assert!(!undone.done);
        h.engine.complete_task(task, "a.yilmaz").unwrap();
        assert_eq!(h.state(id, "call"), StepState::Done);
        assert_eq!(h.state(id, "visit"), StepState::Active);
        assert!(h.engine.inbox("a.yilmaz").unwrap().is_empty());
        // The task is done and otherwise as it was; a second completion is refused.
        assert_eq!(
            h.view(id).artefacts[0],
            ArtefactRow {
                done: true,
                ..undone
            }
        );
        assert!(matches!(
            h.engine.complete_task(task, "a.yilmaz"),
            Err(Error::InvalidInput(_))
        ));
    }
);

on_every_store!(reassign_this_and_following, small(), |h| {
    let id = h.start("skipflow", Links::default());
    h.engine
        .reassign(id, 0, "m.weber", true, "k.schmidt")
        .unwrap();
    assert_eq!(h.engine.inbox("m.weber").unwrap().len(), 1);
    h.engine
        .complete_step(id, 0, "m.weber", &StepInput::default())
        .unwrap();
    // The following task step went to m.weber too, and so did its task.
    let v = h.view(id);
    assert_eq!(
        v.step("call").unwrap().responsible.as_deref(),
        Some("m.weber")
    );
    assert_eq!(v.artefacts[0].user.as_deref(), Some("m.weber"));
});

on_every_store!(
    automatic_step_that_cannot_run_becomes_manual,
    small(),
    |h| {
        // A2 has no e-mail address.
        let id = h.start("wait", links(Some("A2"), None));
        h.engine
            .complete_step(id, 0, "j.becker", &StepInput::default())
            .unwrap();
        h.advance(Duration::days(2));
        let v = h.view(id);
        let mail = v.step("mail").unwrap();
        assert_eq!(mail.state, StepState::Active);
        assert!(
            mail.degraded
                .as_deref()
                .unwrap()
                .contains("no e-mail address")
        );
        assert_eq!(v.instance.status, InstanceStatus::RunningDue);
        let inbox = h.engine.inbox("j.becker").unwrap();
        assert_eq!(inbox.len(), 1);
        assert!(inbox[0].item.warning.is_some());
        assert!(v.history.iter().any(|a| a.event == "step_degraded"));
        assert!(h.engine.outbox().unwrap().is_empty());
        // The person does it by hand.
        h.engine
            .complete_step(id, 1, "j.becker", &StepInput::default())
            .unwrap();
        assert_eq!(h.view(id).instance.status, InstanceStatus::Completed);
    }
);

on_every_store!(deadline_rungs_fire_once_each, small(), |h| {
    let id = h.start("deadline", Links::default());
    h.advance(Duration::days(1));
    assert_eq!(
        h.emails_to("j.becker@example-immobilien.de").len(),
        1,
        "reminder"
    );
    h.advance(Duration::days(1));
    assert_eq!(
        h.emails_to("k.schmidt@example-immobilien.de").len(),
        1,
        "controller"
    );
    h.advance(Duration::days(1));
    let v = h.view(id);
    assert_eq!(v.step("visit").unwrap().rungs_fired, vec![0, 1, 2]);
    assert_eq!(
        v.step("visit").unwrap().responsible.as_deref(),
        Some("m.weber")
    );
    assert_eq!(h.engine.inbox("m.weber").unwrap().len(), 1);
    let rungs: Vec<&str> = v
        .history
        .iter()
        .filter(|a| a.event == "deadline_rung")
        .map(|a| a.detail.as_str())
        .collect();
    assert_eq!(
        rungs,
        [
            "rung 0: RemindResponsible",
            "rung 1: EmailController",
            "rung 2: Reassign(User(\"m.weber\"))"
        ]
    );
    // Nothing fires again.
    h.advance(Duration::days(30));
    assert_eq!(h.emails_to("j.becker@example-immobilien.de").len(), 1);
    assert_eq!(h.emails_to("k.schmidt@example-immobilien.de").len(), 1);
    assert!(h.view(id).timers.is_empty());
    // A step done before its deadline escalates nothing.
    let id2 = h.start("deadline", Links::default());
    h.engine
        .complete_step(id2, 0, "j.becker", &StepInput::default())
        .unwrap();
    assert!(h.view(id2).timers.is_empty());
    h.advance(Duration::days(5));
    assert_eq!(h.emails_to("k.schmidt@example-immobilien.de").len(), 1);
});

on_every_store!(
    automatic_decision_evaluates_the_plan_expression,
    small(),
    |h| {
        // P1 costs 500,000: yes; the valuation is written as price × 1.1.
        let id = h.start("autodecide", links(None, Some("P1")));
        let v = h.view(id);
        assert_eq!(v.instance.status, InstanceStatus::Completed);
        assert_eq!(v.step("expensive").unwrap().answer, Some(true));
        let p1 = h.engine.record(Module::Property, "P1").unwrap().unwrap();
        assert_eq!(p1.fields["valuation"].as_f64().unwrap().round(), 550000.0);
        // A cheaper property takes the no branch: set status.
        h.engine
            .put_record(
                &RecordRow::new(Module::Property, "P2").with("purchase_price", json!(100000)),
            )
            .unwrap();
        let id = h.start("autodecide", links(None, Some("P2")));
        assert_eq!(h.view(id).step("expensive").unwrap().answer, Some(false));
        let p2 = h.engine.record(Module::Property, "P2").unwrap().unwrap();
        assert_eq!(p2.fields["status"], json!("withdrawn"));
        // An unset field makes the decision manual with the reason.
        h.engine
            .put_record(&RecordRow::new(Module::Property, "P3"))
            .unwrap();
        let id = h.start("autodecide", links(None, Some("P3")));
        let step = h.view(id).step("expensive").unwrap().clone();
        assert_eq!(step.state, StepState::Active);
        assert!(step.degraded.unwrap().contains("purchase_price"));
        h.engine
            .complete_step(id, 0, "j.becker", &StepInput::answer(false))
            .unwrap();
        assert_eq!(h.view(id).instance.status, InstanceStatus::Completed);
    }
);

on_every_store!(decision_by_email_with_signed_links, small(), |h| {
    let id = h.start("maildecide", Links::default());
    let mails = h.emails_to("j.becker@example-immobilien.de");
    assert_eq!(mails.len(), 1);
    let yes_url = mails[0].payload["decision"]["yes"]
        .as_str()
        .unwrap()
        .to_string();
    let yes = yes_url.split("token=").nth(1).unwrap().to_string();
    // A forged token and a tampered one are refused and change nothing.
    let before = h.snapshot();
    assert_eq!(h.engine.decide_by_token("abc.def"), Err(Error::BadToken));
    let forged = DecisionToken {
        instance: id,
        step: 0,
        visit: 1,
        answer: true,
        expires: t0() + Duration::days(1),
    }
    .sign(b"wrong secret")
    .unwrap();
    assert_eq!(h.engine.decide_by_token(&forged), Err(Error::BadToken));
    let mut tampered = yes.clone();
    tampered.insert(2, 'x');
    assert_eq!(h.engine.decide_by_token(&tampered), Err(Error::BadToken));
    assert_eq!(before, h.snapshot());
    // The real one decides.
    h.engine.decide_by_token(&yes).unwrap();
    let v = h.view(id);
    assert_eq!(v.step("ask").unwrap().answer, Some(true));
    assert!(v.step("yes_end").is_some());
    assert!(v.step("no_end").is_none());
    assert_eq!(v.instance.status, InstanceStatus::Completed);
    // Used again: the process is over.
    assert!(matches!(
        h.engine.decide_by_token(&yes),
        Err(Error::NotRunning { .. })
    ));
    // Links expire.
    let id = h.start("maildecide", Links::default());
    let (_, no) = h.engine.decision_tokens(id, 0).unwrap();
    h.advance(Duration::days(15));
    assert_eq!(h.engine.decide_by_token(&no), Err(Error::TokenExpired));
    assert_eq!(h.state(id, "ask"), StepState::Active);
});

on_every_store!(manual_write_values_are_typed, small(), |h| {
    let id = h.start("manualwrite", links(None, Some("P1")));
    let before = h.snapshot();
    assert!(matches!(
        h.engine
            .complete_step(id, 0, "j.becker", &StepInput::default()),
        Err(Error::InvalidInput(_))
    ));
    assert!(matches!(
        h.engine
            .complete_step(id, 0, "j.becker", &StepInput::value(json!(true))),
        Err(Error::InvalidInput(_))
    ));
    assert_eq!(before, h.snapshot());
    h.engine
        .complete_step(id, 0, "j.becker", &StepInput::value(json!(480000)))
        .unwrap();
    let p1 = h.engine.record(Module::Property, "P1").unwrap().unwrap();
    assert_eq!(p1.fields["valuation"].as_f64(), Some(480000.0));
    assert_eq!(h.view(id).instance.status, InstanceStatus::Completed);
});

on_every_store!(follow_up_loop_guard_stops_the_chain, small(), |h| {
    let first = h.start("looper", links(None, Some("P1")));
    let all = h.engine.audit().unwrap();
    let started = all.iter().filter(|a| a.event == "started").count();
    // The first instance plus ten follow-ups; the eleventh start is refused.
    assert_eq!(started, 11);
    let stopped: Vec<_> = all.iter().filter(|a| a.event == "loop_stopped").collect();
    assert_eq!(stopped.len(), 1);
    let last = h.view(stopped[0].instance.unwrap());
    assert_eq!(last.instance.status, InstanceStatus::Cancelled);
    assert_eq!(last.instance.chain, first);
    assert_eq!(last.instance.depth, 10);
    assert_eq!(last.instance.cancelled_by.as_deref(), Some("system"));
    assert_eq!(last.step("again").unwrap().state, StepState::Cancelled);
    let told = h.emails_to("k.schmidt@example-immobilien.de");
    assert_eq!(told.len(), 1);
    assert!(
        told[0].payload["subject"]
            .as_str()
            .unwrap()
            .contains("stopped")
    );
    assert_eq!(h.view(first).instance.status, InstanceStatus::Completed);
    // The follow-up carried the property.
    assert_eq!(last.instance.links.property.as_deref(), Some("P1"));
});

on_every_store!(
    cancel_records_who_and_when_and_tells_the_controller,
    small(),
    |h| {
        let id = h.start("cancelme", Links::default());
        h.clock.advance(Duration::minutes(10));
        h.engine.cancel(id, "k.schmidt").unwrap();
        let v = h.view(id);
        assert_eq!(v.instance.status, InstanceStatus::Cancelled);
        assert_eq!(v.instance.cancelled_by.as_deref(), Some("k.schmidt"));
        assert_eq!(v.instance.cancelled_at, Some(t0() + Duration::minutes(10)));
        assert_eq!(v.step("visit").unwrap().state, StepState::Cancelled);
        assert!(h.engine.inbox("j.becker").unwrap().is_empty());
        assert_eq!(h.emails_to("k.schmidt@example-immobilien.de").len(), 1);
        // Without the setting nobody is told.
        let id = h.start("taskflow", Links::default());
        h.engine.cancel(id, "k.schmidt").unwrap();
        assert_eq!(h.emails_to("k.schmidt@example-immobilien.de").len(), 1);
        assert!(h.view(id).artefacts[0].done, "the task is withdrawn");
        let before = h.snapshot();
        assert!(matches!(
            h.engine.cancel(id, "k.schmidt"),
            Err(Error::NotRunning { .. })
        ));
        assert_eq!(before, h.snapshot());
    }
);

on_every_store!(
    skip_only_skippable_steps_and_email_the_controller,
    small(),
    |h| {
        let id = h.start("skipflow", Links::default());
        h.engine.skip(id, 0, "j.becker").unwrap();
        assert_eq!(h.state(id, "visit"), StepState::Skipped);
        assert_eq!(h.state(id, "call"), StepState::Active);
        let told = h.emails_to("k.schmidt@example-immobilien.de");
        assert_eq!(told.len(), 1);
        assert!(
            told[0].payload["subject"]
                .as_str()
                .unwrap()
                .contains("skipped")
        );
        let before = h.snapshot();
        assert!(matches!(
            h.engine.skip(id, 1, "j.becker"),
            Err(Error::NotSkippable { .. })
        ));
        assert!(matches!(
            h.engine.skip(id, 0, "j.becker"),
            Err(Error::StepNotActive { .. })
        ));
        assert_eq!(before, h.snapshot());
    }
);

on_every_store!(inbox_and_controller_views, small(), |h| {
    let a = h.start("taskflow", Links::default());
    let b = h.start("cancelme", Links::default());
    h.engine
        .reassign(b, 0, "m.weber", false, "k.schmidt")
        .unwrap();
    let inbox = h.engine.inbox("j.becker").unwrap();
    assert_eq!(inbox.len(), 1);
    assert_eq!(inbox[0].item.instance, a);
    assert_eq!(inbox[0].position, (1, 3));
    // m.weber is in `sales`, j.becker too; k.schmidt has nothing.
    assert_eq!(
        h.engine
            .controller_view(&ViewOf::Group("sales".into()))
            .unwrap()
            .len(),
        2
    );
    assert_eq!(
        h.engine
            .controller_view(&ViewOf::User("m.weber".into()))
            .unwrap()
            .len(),
        1
    );
    assert_eq!(
        h.engine
            .controller_view(&ViewOf::Group("lettings".into()))
            .unwrap()
            .len(),
        0
    );
    assert_eq!(h.engine.controller_view(&ViewOf::All).unwrap().len(), 2);
});

on_every_store!(
    outbox_is_delivered_at_least_once_with_stable_keys,
    small(),
    |h| {
        let id = h.start("deadline", Links::default());
        h.advance(Duration::days(2));
        assert_eq!(h.engine.outbox().unwrap().len(), 2);
        h.connector.set_failing(true);
        assert_eq!(h.engine.dispatch(&h.connector).unwrap(), 0);
        let failed = h.engine.outbox().unwrap();
        assert!(
            failed
                .iter()
                .all(|o| o.attempts == 1 && o.last_error.is_some() && o.delivered_at.is_none())
        );
        // Retried after the pause, not before.
        h.connector.set_failing(false);
        assert_eq!(h.engine.dispatch(&h.connector).unwrap(), 0);
        h.clock.advance(Duration::seconds(3));
        assert_eq!(h.engine.dispatch(&h.connector).unwrap(), 2);
        assert_eq!(h.engine.dispatch(&h.connector).unwrap(), 0);
        let delivered = h.connector.delivered();
        assert_eq!(delivered.len(), 2);
        assert_eq!(delivered[0].idempotency_key, format!("{id}/0/1/rung0"));
        assert!(
            h.engine
                .outbox()
                .unwrap()
                .iter()
                .all(|o| o.delivered_at.is_some())
        );
    }
);

on_every_store!(fixed_send_times_hold_the_effect_until_then, small(), |h| {
    let id = h.start("evening", links(Some("A1"), None));
    assert_eq!(h.view(id).instance.status, InstanceStatus::Completed);
    let mail = &h.emails_to("anna@example.org")[0];
    assert_eq!(mail.not_before, Some(berlin(2026, 3, 2, 18, 0)));
    assert_eq!(h.engine.dispatch(&h.connector).unwrap(), 0);
    assert_eq!(
        h.engine.next_due().unwrap(),
        Some(berlin(2026, 3, 2, 18, 0))
    );
    h.engine
        .advance_to(&h.clock, berlin(2026, 3, 3, 0, 0), Some(&h.connector))
        .unwrap();
    let delivered = h.connector.delivered();
    assert_eq!(delivered.len(), 1);
    assert_eq!(
        delivered[0].delivered_at, None,
        "the connector sees the row before marking"
    );
    assert_eq!(
        h.engine.outbox().unwrap()[0].delivered_at,
        Some(berlin(2026, 3, 2, 18, 0))
    );
});

on_every_store!(emails_notices_and_tasks_carry_their_details, small(), |h| {
    let id = h.start("wait", links(Some("A1"), None));
    h.engine
        .complete_step(id, 0, "j.becker", &StepInput::default())
        .unwrap();
    h.advance(Duration::hours(48));
    let mails = h.emails_to("anna@example.org");
    assert_eq!(mails.len(), 1);
    let details = mails[0].payload.value().clone();
    let from = h.view(id).step("mail").unwrap().responsible.clone();
    assert_eq!(details["address"], "A1");
    assert_eq!(details["from_user"].as_str(), from.as_deref());
    assert_eq!(details["instance"], id);
    assert_eq!(details["signature"], true);
    assert_eq!(details["template"], "acquisition-intro");
    assert!(details["subject"].is_string(), "{details}");
    assert!(details.get("mailbox").is_none(), "absent unless set");
    assert_eq!(mails[0].instance, Some(id));

    let id = h.start("deadline", Links::default());
    h.advance(Duration::days(2));
    let told = h.emails_to("k.schmidt@example-immobilien.de");
    assert_eq!(told.len(), 1);
    let subject = told[0].payload["subject"].as_str().unwrap().to_string();
    assert!(subject.starts_with("Deadline of step `visit`"), "{subject}");
    assert_eq!(
        told[0].payload.value(),
        &json!({"instance": id, "notice": "controller", "subject": subject,
                    "template": "deadline"})
    );

    let id = h.start("hours", Links::default());
    h.advance(Duration::hours(5));
    let v = h.view(id);
    assert_eq!(v.artefacts.len(), 1);
    let task = json!({"attachments": [], "description": null, "subject": "Call the owner"});
    // Written out as the rows are, before any field was read, the details are the same
    // object; and then read.
    let row = serde_json::to_value(&v.artefacts[0]).unwrap();
    assert_eq!(row["data"], task);
    assert_eq!(v.artefacts[0].data.value(), &task);
});
