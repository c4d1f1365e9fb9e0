//! Delivery results: a webhook step waits for its delivery, continues when it is delivered,
//! becomes manual (and the controller is told) when it is given up; attempts are logged;
//! an endpoint that is gone stays disabled until an operator enables it.

use chrono::Duration;
use procc_runtime::*;

use crate::common::*;

/// The result of an attempt of claim number `attempt`.
fn report(
    attempt: u32,
    h_now: chrono::DateTime<chrono::Utc>,
    result: AttemptResult,
) -> AttemptReport {
    AttemptReport {
        attempt,
        started_at: h_now,
        status: Some(200),
        latency: std::time::Duration::from_millis(12),
        excerpt: Some("ok".into()),
        result,
    }
}

fn start_revaluation<S: Store>(h: &H<S>) -> (InstanceId, OutboxRow) {
    let id = h
        .engine
        .start(&StartRequest {
            template: "revaluation".into(),
            owner: "j.becker".into(),
            links: links(None, Some("P1")),
            started_by: "k.schmidt".into(),
            ..Default::default()
        })
        .unwrap();
    let hooks: Vec<OutboxRow> = h
        .engine
        .deliveries(id)
        .unwrap()
        .into_iter()
        .filter(|o| o.kind == EffectKind::Webhook)
        .collect();
    assert_eq!(hooks.len(), 1);
    (id, hooks[0].clone())
}

#[test]
fn a_webhook_step_waits_for_its_delivery_and_continues_when_delivered() {
    let h = sqlite(&examples());
    let (id, hook) = start_revaluation(&h);
    assert_eq!(h.state(id, "valuation"), StepState::Active);
    assert!(h.view(id).work_items.is_empty(), "nobody has to act yet");
    assert_eq!(
        h.view(id).instance.status,
        InstanceStatus::RunningWaiting,
        "a step waiting for its delivery does not make the process due"
    );
    let origin = hook.origin.unwrap();
    assert_eq!((origin.instance, origin.step, origin.visit), (id, 0, 1));
    assert_eq!(hook.payload["parameters"]["mode"], "full");

    let claimed = h.engine.claim_effects(10, Duration::minutes(2)).unwrap();
    assert_eq!(claimed.len(), 1);
    assert_eq!(claimed[0].attempts, 1);
    // Claimed effects are held for the lease: nobody else gets them meanwhile.
    assert!(
        h.engine
            .claim_effects(10, Duration::minutes(2))
            .unwrap()
            .is_empty()
    );

    let now = h.clock.now();
    h.engine
        .record_attempt(
            hook.id,
            &report(
                1,
                now,
                AttemptResult::Retry {
                    at: now + Duration::seconds(5),
                    error: "HTTP 500".into(),
                },
            ),
        )
        .unwrap();
    assert_eq!(h.state(id, "valuation"), StepState::Active);
    h.clock.advance(Duration::seconds(5));
    let again = h.engine.claim_effects(10, Duration::minutes(2)).unwrap();
    assert_eq!(again.len(), 1);
    assert_eq!(again[0].idempotency_key, hook.idempotency_key);
    h.engine
        .record_attempt(hook.id, &report(2, h.clock.now(), AttemptResult::Delivered))
        .unwrap();

    assert_eq!(h.state(id, "valuation"), StepState::Done);
    assert!(matches!(h.state(id, "review"), StepState::Scheduled { .. }));
    let attempts = h.engine.attempts(hook.id).unwrap();
    let outcomes: Vec<_> = attempts.iter().map(|a| (a.number, a.outcome)).collect();
    assert_eq!(
        outcomes,
        vec![(1, AttemptOutcome::Retry), (2, AttemptOutcome::Delivered)]
    );
    assert_eq!(attempts[0].error.as_deref(), Some("HTTP 500"));
    assert_eq!(attempts[1].latency_ms, 12);
    let row = h.engine.deliveries(id).unwrap();
    assert!(
        row.iter()
            .any(|o| o.id == hook.id && o.delivered_at.is_some())
    );

    // A late duplicate result is logged and changes nothing.
    h.engine
        .record_attempt(hook.id, &report(2, h.clock.now(), AttemptResult::Delivered))
        .unwrap();
    assert_eq!(h.engine.attempts(hook.id).unwrap().len(), 3);
    assert!(matches!(h.state(id, "review"), StepState::Scheduled { .. }));
}

#[test]
fn a_given_up_webhook_makes_its_step_manual_and_tells_the_controller() {
    let h = memory(&examples());
    let (id, hook) = start_revaluation(&h);
    assert_eq!(h.view(id).instance.status, InstanceStatus::RunningWaiting);
    h.engine.claim_effects(10, Duration::minutes(2)).unwrap();
    h.engine
        .record_attempt(
            hook.id,
            &report(
                1,
                h.clock.now(),
                AttemptResult::Failed {
                    error: "gave up after 8 attempts: HTTP 503".into(),
                },
            ),
        )
        .unwrap();
    let v = h.view(id);
    assert_eq!(
        v.instance.status,
        InstanceStatus::RunningDue,
        "the step is manual now: a person has to act"
    );
    let step = v.step("valuation").unwrap();
    assert_eq!(step.state, StepState::Active);
    assert_eq!(
        step.degraded.as_deref(),
        Some("delivery failed: gave up after 8 attempts: HTTP 503")
    );
    let items: Vec<_> = v
        .work_items
        .iter()
        .filter(|w| w.done_at.is_none())
        .collect();
    assert_eq!(items.len(), 1);
    assert_eq!(items[0].user, "a.yilmaz");
    assert!(items[0].warning.as_deref().unwrap().contains("HTTP 503"));
    assert!(v.history.iter().any(|a| a.event == "delivery_failed"));
    let mails = h.emails_to("k.schmidt@example-immobilien.de");
    assert_eq!(mails.len(), 1, "{:?}", h.engine.outbox().unwrap());
    assert!(
        mails[0].payload["subject"]
            .as_str()
            .unwrap()
            .contains("HTTP 503")
    );
    let failed = h.engine.deliveries(id).unwrap();
    assert!(
        failed
            .iter()
            .any(|o| o.id == hook.id && o.failed_at.is_some())
    );
    // Not pending any more.
    h.clock.advance(Duration::hours(1));
    assert!(
        h.engine
            .claim_effects(10, Duration::minutes(2))
            .unwrap()
            .iter()
            .all(|o| o.kind == EffectKind::Email)
    );
    // The person does it by hand; the flow goes on.
    h.engine
        .complete_step(id, 0, "a.yilmaz", &StepInput::default())
        .unwrap();
    assert!(matches!(h.state(id, "review"), StepState::Scheduled { .. }));
}

#[test]
fn a_gone_endpoint_is_disabled_until_an_operator_enables_it() {
    let h = memory(&examples());
    let (_, hook) = start_revaluation(&h);
    assert_eq!(h.engine.endpoint_disabled(&hook.to).unwrap(), None);
    h.engine
        .record_attempt(
            hook.id,
            &report(
                0,
                h.clock.now(),
                AttemptResult::Gone {
                    error: "HTTP 410 Gone".into(),
                },
            ),
        )
        .unwrap();
    assert_eq!(
        h.engine.endpoint_disabled(&hook.to).unwrap().as_deref(),
        Some("HTTP 410 Gone")
    );
    assert_eq!(
        h.engine.attempts(hook.id).unwrap()[0].outcome,
        AttemptOutcome::Gone
    );
    // Another call to the endpoint is given up without an attempt.
    let other = h
        .engine
        .start(&StartRequest {
            template: "revaluation".into(),
            owner: "j.becker".into(),
            links: links(None, Some("P1")),
            started_by: "k.schmidt".into(),
            idempotency_key: Some("second".into()),
            ..Default::default()
        })
        .unwrap();
    assert!(
        h.engine
            .claim_effects(10, Duration::minutes(2))
            .unwrap()
            .iter()
            .all(|o| o.kind != EffectKind::Webhook)
    );
    let step = h.view(other).step("valuation").unwrap().clone();
    assert!(step.degraded.unwrap().contains("is disabled"));
    assert_eq!(
        h.engine.disabled_endpoints().unwrap(),
        vec![(hook.to.clone(), "HTTP 410 Gone".to_string())]
    );
    assert!(h.engine.enable_endpoint(&hook.to, "k.schmidt").unwrap());
    assert_eq!(h.engine.endpoint_disabled(&hook.to).unwrap(), None);
    assert!(h.engine.disabled_endpoints().unwrap().is_empty());
    assert!(
        !h.engine.enable_endpoint(&hook.to, "k.schmidt").unwrap(),
        "enabling an endpoint that is not disabled changes nothing"
    );
    assert_eq!(
        h.engine
            .audit()
            .unwrap()
            .iter()
            .filter(|a| a.event == "endpoint_enabled" && a.who == "k.schmidt")
            .count(),
        1
    );
}

#[test]
fn the_recording_dispatch_continues_webhook_steps() {
    let h = memory(&examples());
    let (id, _) = start_revaluation(&h);
    h.engine.dispatch(&h.connector).unwrap();
    assert_eq!(h.state(id, "valuation"), StepState::Done);
}

#[test]
fn a_result_of_an_overtaken_claim_changes_nothing_but_the_log() {
    let h = memory(&examples());
    let (id, hook) = start_revaluation(&h);
    // Worker A claims the webhook and stalls past its lease; worker B claims it again.
    assert_eq!(
        h.engine
            .claim_effects(10, Duration::minutes(2))
            .unwrap()
            .len(),
        1
    );
    h.clock.advance(Duration::minutes(3));
    let b = h.engine.claim_effects(10, Duration::minutes(2)).unwrap();
    assert_eq!(b.len(), 1);
    assert_eq!(b[0].attempts, 2);
    // A's late verdict would give the effect up; it is logged, and B's claim stands.
    h.engine
        .record_attempt(
            hook.id,
            &report(
                1,
                h.clock.now(),
                AttemptResult::Failed {
                    error: "timed out".into(),
                },
            ),
        )
        .unwrap();
    h.engine.release_effect(hook.id, 1, h.clock.now()).unwrap();
    let row = h
        .engine
        .deliveries(id)
        .unwrap()
        .into_iter()
        .find(|o| o.id == hook.id)
        .unwrap();
    assert!(row.is_pending() && row.failed_at.is_none() && row.attempts == 2);
    assert_eq!(h.state(id, "valuation"), StepState::Active);
    assert!(h.view(id).step("valuation").unwrap().degraded.is_none());
    // B's result counts.
    h.engine
        .record_attempt(hook.id, &report(2, h.clock.now(), AttemptResult::Delivered))
        .unwrap();
    assert_eq!(h.state(id, "valuation"), StepState::Done);
    let numbers: Vec<u32> = h
        .engine
        .attempts(hook.id)
        .unwrap()
        .iter()
        .map(|a| a.number)
        .collect();
    assert_eq!(numbers, vec![1, 2]);
}
