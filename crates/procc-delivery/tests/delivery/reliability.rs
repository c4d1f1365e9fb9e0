//! Receivers that are down, slow, reset the connection, answer 500, 429 with Retry-After,
//! 400 or 410; a slow receiver does not hold up others; no secret is ever stored.

use std::sync::Arc;
use std::time::Duration;

use procc_runtime::*;
use tokio::sync::Notify;

use crate::common::*;

async fn run_valuation(
    script: impl Fn(usize) -> Reply + Send + Sync + 'static,
) -> (
    Receiver,
    tempfile::TempDir,
    Arc<Engine<SqliteStore>>,
    InstanceId,
) {
    let receiver = Receiver::start(script).await;
    let dir = tempfile::tempdir().unwrap();
    let plan = plan(&format!("{}/hook", receiver.url), vec![valuation()]);
    let engine = engine(dir.path(), &plan);
    let id = start(&engine, "valuate");
    dispatcher(&engine, &plan, config(dir.path(), &[], ""))
        .drain()
        .await
        .unwrap();
    (receiver, dir, engine, id)
}

fn outcomes(engine: &Engine<SqliteStore>, id: InstanceId) -> Vec<(AttemptOutcome, Option<u16>)> {
    engine
        .attempts(hooks(engine, id)[0].id)
        .unwrap()
        .iter()
        .map(|a| (a.outcome, a.status))
        .collect()
}

fn call_id(seen: &Seen) -> String {
    let query = seen.uri.split_once('?').unwrap().1;
    query
        .split('&')
        .find_map(|p| p.strip_prefix("callId="))
        .unwrap()
        .to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_500_is_retried_with_the_same_idempotency_key() {
    let (receiver, _dir, engine, id) = run_valuation(|n| {
        if n == 0 {
            Reply::status(500)
        } else {
            Reply::status(200)
        }
    })
    .await;
    let seen = receiver.seen();
    assert_eq!(seen.len(), 2);
    assert_eq!(call_id(&seen[0]), call_id(&seen[1]));
    assert_eq!(
        outcomes(&engine, id),
        vec![
            (AttemptOutcome::Retry, Some(500)),
            (AttemptOutcome::Delivered, Some(200))
        ]
    );
    assert_eq!(step_state(&engine, id).state, StepState::Done);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_429_with_retry_after_is_retried_when_the_receiver_asks() {
    let (receiver, _dir, engine, id) = run_valuation(|n| {
        if n == 0 {
            Reply {
                headers: vec![("retry-after", "1".to_string())],
                ..Reply::status(429)
            }
        } else {
            Reply::status(200)
        }
    })
    .await;
    assert_eq!(receiver.seen().len(), 2);
    let attempts = engine.attempts(hooks(&engine, id)[0].id).unwrap();
    assert_eq!(attempts[0].outcome, AttemptOutcome::Retry);
    // The schedule says "at once"; the receiver said one second, and that counts.
    let pause = attempts[0].next_at.unwrap() - attempts[0].at;
    assert!(pause >= chrono::Duration::seconds(1), "{pause}");
    assert!(attempts[1].at >= attempts[0].next_at.unwrap());
    assert_eq!(attempts[1].outcome, AttemptOutcome::Delivered);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_400_is_not_retried_and_the_step_becomes_manual() {
    let (receiver, _dir, engine, id) = run_valuation(|_| Reply::status(400)).await;
    assert_eq!(receiver.seen().len(), 1);
    assert_eq!(
        outcomes(&engine, id),
        vec![(AttemptOutcome::Failed, Some(400))]
    );
    let step = step_state(&engine, id);
    assert_eq!(step.state, StepState::Active);
    assert_eq!(
        step.degraded.as_deref(),
        Some("delivery failed: HTTP 400 Bad Request")
    );
    let inbox = engine.inbox("a.yilmaz").unwrap();
    assert_eq!(inbox.len(), 1);
    // The controller is told by e-mail.
    let mails: Vec<OutboxRow> = engine
        .deliveries(id)
        .unwrap()
        .into_iter()
        .filter(|o| o.kind == EffectKind::Email)
        .collect();
    assert_eq!(mails.len(), 1);
    assert_eq!(mails[0].to, "k.schmidt@example-immobilien.de");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_410_disables_the_endpoint_until_an_operator_enables_it() {
    let (receiver, _dir, engine, id) = run_valuation(|_| Reply::status(410)).await;
    assert_eq!(receiver.seen().len(), 1);
    assert_eq!(
        outcomes(&engine, id),
        vec![(AttemptOutcome::Gone, Some(410))]
    );
    let endpoint = format!("{}/hook", receiver.url);
    assert_eq!(
        engine.endpoint_disabled(&endpoint).unwrap().as_deref(),
        Some("HTTP 410 Gone")
    );
    assert!(step_state(&engine, id).degraded.is_some());
    engine.enable_endpoint(&endpoint, "k.schmidt").unwrap();
    assert_eq!(engine.endpoint_disabled(&endpoint).unwrap(), None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_receiver_that_is_down_exhausts_the_retries() {
    // A port that was free a moment ago: nobody listens there.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let dir = tempfile::tempdir().unwrap();
    let plan = plan(&format!("http://127.0.0.1:{port}/hook"), vec![valuation()]);
    let engine = engine(dir.path(), &plan);
    let id = start(&engine, "valuate");
    dispatcher(&engine, &plan, config(dir.path(), &[], ""))
        .drain()
        .await
        .unwrap();
    let attempts = engine.attempts(hooks(&engine, id)[0].id).unwrap();
    assert_eq!(attempts.len(), 3, "the schedule has three entries");
    assert!(
        attempts[0]
            .error
            .as_deref()
            .unwrap()
            .starts_with("cannot connect"),
        "{attempts:?}"
    );
    assert_eq!(attempts[2].outcome, AttemptOutcome::Failed);
    let reason = step_state(&engine, id).degraded.unwrap();
    assert!(
        reason.starts_with("delivery failed: gave up after 3 attempts: cannot connect"),
        "{reason}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_receiver_that_resets_the_connection_is_retried() {
    // Accepts, reads a little and closes without an answer.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        use std::io::Read;
        for stream in listener.incoming().flatten() {
            let mut stream = stream;
            let mut buf = [0u8; 64];
            let _ = stream.read(&mut buf);
            drop(stream);
        }
    });
    let dir = tempfile::tempdir().unwrap();
    let plan = plan(&format!("http://127.0.0.1:{port}/hook"), vec![valuation()]);
    let engine = engine(dir.path(), &plan);
    let id = start(&engine, "valuate");
    dispatcher(&engine, &plan, config(dir.path(), &[], ""))
        .drain()
        .await
        .unwrap();
    let attempts = engine.attempts(hooks(&engine, id)[0].id).unwrap();
    assert_eq!(
        attempts.iter().map(|a| a.outcome).collect::<Vec<_>>(),
        vec![
            AttemptOutcome::Retry,
            AttemptOutcome::Retry,
            AttemptOutcome::Failed
        ]
    );
    assert!(attempts.iter().all(|a| a.status.is_none()));
    assert!(step_state(&engine, id).degraded.is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_receiver_does_not_hold_up_others() {
    let (slow, hold) = holding_receiver().await;
    let fast = Receiver::start(|_| Reply::status(200)).await;
    let dir = tempfile::tempdir().unwrap();
    let plan = plan(
        &format!("{}/hook", slow.url),
        vec![valuation(), free_hook(&format!("{}/fast", fast.url))],
    );
    let engine = engine(dir.path(), &plan);
    let slow_ids: Vec<_> = (0..3).map(|_| start(&engine, "valuate")).collect();
    let fast_ids: Vec<_> = (0..3).map(|_| start(&engine, "sync")).collect();
    let d = dispatcher(
        &engine,
        &plan,
        config(
            dir.path(),
            &[
                ("concurrency", "2"),
                ("per_endpoint", "1"),
                ("retry_schedule", "[0]"),
            ],
            "",
        ),
    );
    let stop = Arc::new(Notify::new());
    let stopped = stop.clone();
    let runner = tokio::spawn(async move { d.run(stopped.notified()).await });
    // Every fast delivery goes through while the slow receiver holds its one request.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while fast_ids
        .iter()
        .any(|id| step_state(&engine, *id).state != StepState::Done)
    {
        assert!(
            tokio::time::Instant::now() < deadline,
            "fast deliveries stalled"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(fast.seen().len(), 3);
    assert_eq!(
        slow.seen().len(),
        1,
        "one request at a time to the slow endpoint"
    );
    hold.notify_waiters();
    // The service's own timeout (20 s) is longer than the test needs; the held requests are
    // answered and the slow steps finish too.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        hold.notify_waiters();
        if slow_ids
            .iter()
            .all(|id| step_state(&engine, *id).state == StepState::Done)
        {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "slow deliveries never finished"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    stop.notify_one();
    runner.await.unwrap().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_attempt_that_takes_too_long_times_out() {
    let (receiver, _hold) = holding_receiver().await;
    let dir = tempfile::tempdir().unwrap();
    let plan = plan(
        "http://127.0.0.1:9/unused",
        vec![free_hook(&format!("{}/slow", receiver.url))],
    );
    let engine = engine(dir.path(), &plan);
    let id = start(&engine, "sync");
    dispatcher(
        &engine,
        &plan,
        config(
            dir.path(),
            &[("timeout_seconds", "1"), ("retry_schedule", "[0]")],
            "",
        ),
    )
    .drain()
    .await
    .unwrap();
    let attempts = engine.attempts(hooks(&engine, id)[0].id).unwrap();
    assert_eq!(attempts.len(), 1);
    assert!(
        attempts[0]
            .error
            .as_deref()
            .unwrap()
            .starts_with("gave up after 1 attempts: timed out"),
        "{attempts:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_secret_is_stored_in_the_database_history_or_errors() {
    let (receiver, dir, engine, id) = run_valuation(|n| {
        if n == 0 {
            Reply::status(503)
        } else {
            Reply::status(200)
        }
    })
    .await;
    assert_eq!(receiver.seen().len(), 2);
    // The signing secrets are read from files at start and never written anywhere.
    let everything = format!(
        "{:?}{:?}{:?}{:?}",
        engine.audit().unwrap(),
        engine.deliveries(id).unwrap(),
        engine.attempts(hooks(&engine, id)[0].id).unwrap(),
        engine.instance(id).unwrap()
    );
    let mut stored = Vec::new();
    for entry in std::fs::read_dir(dir.path()).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        if name.starts_with("state.db") {
            stored.extend(std::fs::read(&path).unwrap());
        }
    }
    let stored = String::from_utf8_lossy(&stored).into_owned();
    for secret in [
        SERVICE_SECRET,
        WHSEC_OLD,
        WHSEC_NEW,
        "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
    ] {
        assert!(!everything.contains(secret), "{secret} in the history");
        assert!(!stored.contains(secret), "{secret} in the database");
    }
}

#[tokio::test]
async fn the_lease_outlasts_the_longest_attempt_of_any_service() {
    let dir = tempfile::tempdir().unwrap();
    let mut plan = plan("http://127.0.0.1:9/hook", vec![valuation()]);
    for s in &mut plan.catalog.services {
        if let Some(hook) = &mut s.webhook {
            hook.timeout_seconds = 300;
        }
    }
    let plan = procc_plan::Plan::new(plan.tenant, plan.catalog, plan.templates);
    let engine = engine(dir.path(), &plan);
    // `[delivery]` allows 2 + 1 seconds; the service allows 300 + 1: a lease shorter than
    // that would hand a slow attempt's effect to a second worker while it still runs.
    let d = dispatcher(&engine, &plan, config(dir.path(), &[], ""));
    assert_eq!(d.lease(), chrono::Duration::seconds(2 * 301 + 60));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stopped_dispatcher_gives_back_what_it_claimed_and_did_not_start() {
    let (slow, hold) = holding_receiver().await;
    let dir = tempfile::tempdir().unwrap();
    let plan = plan(
        "http://127.0.0.1:9/unused",
        vec![free_hook(&format!("{}/slow", slow.url))],
    );
    let engine = engine(dir.path(), &plan);
    let ids: Vec<_> = (0..4).map(|_| start(&engine, "sync")).collect();
    // One slot: one attempt in flight and one effect claimed ahead of it.
    let d = dispatcher(
        &engine,
        &plan,
        config(
            dir.path(),
            &[("concurrency", "1"), ("per_endpoint", "1")],
            "",
        ),
    );
    let stop = Arc::new(Notify::new());
    let stopped = stop.clone();
    let runner = tokio::spawn(async move { d.run(stopped.notified()).await });
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    let claimed = |engine: &Engine<SqliteStore>| {
        ids.iter()
            .flat_map(|id| hooks(engine, *id))
            .filter(|o| o.attempts > 0)
            .count()
    };
    while slow.seen().is_empty() || claimed(&engine) < 2 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "nothing was claimed"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    stop.notify_one();
    // The attempt in flight is let go only once the stop gave back the effect claimed ahead
    // of it: before that, its chain could still take that effect.
    while claimed(&engine) > 1 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the claimed effect was not given back"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    while !runner.is_finished() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the dispatcher did not stop"
        );
        hold.notify_waiters();
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    runner.await.unwrap().unwrap();
    assert_eq!(slow.seen().len(), 1, "only the attempt in flight was made");
    let effects: Vec<OutboxRow> = ids.iter().flat_map(|id| hooks(&engine, *id)).collect();
    assert_eq!(
        effects.iter().filter(|o| o.delivered_at.is_some()).count(),
        1
    );
    let now = chrono::Utc::now();
    for effect in effects.iter().filter(|o| o.delivered_at.is_none()) {
        assert_eq!(
            effect.attempts, 0,
            "no attempt is counted for {}",
            effect.id
        );
        assert!(
            effect.not_before.is_none_or(|t| t <= now),
            "effect {} is free for any worker at once, not leased",
            effect.id
        );
    }
}

/// A letter connector with a bug: it panics for its first `panics` calls, then delivers.
struct PanickingConnector {
    panics: usize,
    calls: std::sync::atomic::AtomicUsize,
}

impl Connector for PanickingConnector {
    fn deliver(&self, _effect: &OutboxRow) -> Result<(), String> {
        let call = self.calls.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        assert!(call >= self.panics, "a bug in the letter connector");
        Ok(())
    }
}

/// Starts one letter and drains with a letter connector that panics `panics` times; the
/// letter's effect and the connector's calls. The drain must end: a timeout fails the test.
async fn drain_with_panics(panics: usize, schedule: &str) -> (OutboxRow, Vec<AttemptRow>, usize) {
    let dir = tempfile::tempdir().unwrap();
    let letter = template(
        "write",
        serde_json::json!({"kind": "letter", "template": "L1", "format": "pdf", "description": null}),
    );
    let plan = plan("http://127.0.0.1:9/unused", vec![letter]);
    let engine = engine(dir.path(), &plan);
    let id = start(&engine, "write");
    let connector = Arc::new(PanickingConnector {
        panics,
        calls: Default::default(),
    });
    let deliverer = procc_delivery::Deliverer::new(
        engine.clone(),
        Arc::new(plan.clone()),
        config(dir.path(), &[("retry_schedule", schedule)], ""),
        Some(connector.clone()),
    )
    .unwrap();
    let d = procc_delivery::Dispatcher::new(engine.clone(), deliverer);
    tokio::time::timeout(Duration::from_secs(60), d.drain())
        .await
        .expect("drain ended")
        .unwrap();
    let letters: Vec<OutboxRow> = engine
        .deliveries(id)
        .unwrap()
        .into_iter()
        .filter(|o| o.kind == EffectKind::Letter)
        .collect();
    assert_eq!(letters.len(), 1);
    let attempts = engine.attempts(letters[0].id).unwrap();
    let calls = connector.calls.load(std::sync::atomic::Ordering::SeqCst);
    (letters[0].clone(), attempts, calls)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_attempt_that_panics_is_retried_and_drain_ends() {
    let (letter, attempts, calls) = drain_with_panics(1, "[0, 0, 0]").await;
    assert_eq!(calls, 2);
    assert_eq!(
        attempts.iter().map(|a| a.outcome).collect::<Vec<_>>(),
        vec![AttemptOutcome::Retry, AttemptOutcome::Delivered]
    );
    assert!(
        attempts[0]
            .error
            .as_deref()
            .unwrap()
            .contains("ended without a result"),
        "{attempts:?}"
    );
    assert!(letter.delivered_at.is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_effect_whose_attempt_panicked_stays_pending_for_its_next_attempt() {
    let (letter, attempts, calls) = drain_with_panics(usize::MAX, "[0, 3600]").await;
    assert_eq!(calls, 1);
    assert_eq!(attempts.len(), 1);
    assert_eq!(attempts[0].outcome, AttemptOutcome::Retry);
    assert!(letter.is_pending(), "{letter:?}");
    assert_eq!(letter.attempts, 1);
    assert_eq!(letter.not_before, attempts[0].next_at);
    assert!(letter.not_before.unwrap() > chrono::Utc::now());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn effects_for_a_busy_endpoint_are_given_back_and_each_delivered_once() {
    let (slow, hold) = holding_receiver().await;
    // The receiver answers its held requests every few milliseconds: one endpoint, slow.
    let ticker = tokio::spawn(async move {
        loop {
            hold.notify_waiters();
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    });
    let dir = tempfile::tempdir().unwrap();
    let plan = plan(
        "http://127.0.0.1:9/unused",
        vec![free_hook(&format!("{}/slow", slow.url))],
    );
    let engine = engine(dir.path(), &plan);
    let ids: Vec<_> = (0..16).map(|_| start(&engine, "sync")).collect();
    let d = dispatcher(
        &engine,
        &plan,
        config(
            dir.path(),
            &[("concurrency", "4"), ("per_endpoint", "1")],
            "",
        ),
    );
    tokio::time::timeout(Duration::from_secs(120), d.drain())
        .await
        .expect("drain ended")
        .unwrap();
    ticker.abort();
    let effects: Vec<OutboxRow> = ids.iter().flat_map(|id| hooks(&engine, *id)).collect();
    assert_eq!(effects.len(), 16);
    for effect in &effects {
        assert!(effect.delivered_at.is_some(), "{effect:?} was lost");
        // Being given back while the endpoint was busy is not an attempt.
        assert_eq!(effect.attempts, 1, "{effect:?}");
        let attempts = engine.attempts(effect.id).unwrap();
        assert_eq!(attempts.len(), 1, "{attempts:?}");
        assert_eq!(attempts[0].outcome, AttemptOutcome::Delivered);
    }
    let mut keys: Vec<String> = slow
        .seen()
        .iter()
        .map(|s| s.header("webhook-id").unwrap().to_string())
        .collect();
    keys.sort();
    keys.dedup();
    assert_eq!(slow.seen().len(), 16, "each effect is requested once");
    assert_eq!(keys.len(), 16);
}
