//! Several workers on one PostgreSQL database: they share the due work, and every transition
//! happens exactly once however their transactions interleave.

use std::sync::Arc;
use std::thread;

use chrono::Duration;
use procc_runtime::*;

use crate::common::*;
use crate::fixtures::small;

/// A worker: its own connection and engine on the shared schema, with its own lease name.
fn worker(schema: &Schema, name: &str, clock: &VirtualClock) -> Arc<Engine<PostgresStore>> {
    let store =
        PostgresStore::open_schema(&postgres_url(), &schema.name).expect("PostgreSQL is up");
    let config = EngineConfig {
        worker: name.into(),
        ..config()
    };
    Arc::new(Engine::new(store, Arc::new(clock.clone()), config))
}

/// Two workers on a schema of their own with the small plan deployed.
struct Pair {
    a: Arc<Engine<PostgresStore>>,
    b: Arc<Engine<PostgresStore>>,
    clock: VirtualClock,
    /// Last, so that the schema is dropped after the workers closed their connections.
    schema: Schema,
}

fn pair() -> Pair {
    let schema = Schema::new();
    let clock = VirtualClock::new(t0());
    let a = worker(&schema, "worker-a", &clock);
    let b = worker(&schema, "worker-b", &clock);
    a.deploy(&small()).unwrap();
    Pair {
        a,
        b,
        clock,
        schema,
    }
}

/// Listens on `engine`'s store: one message on the receiver for each wake-up.
fn hear(engine: &Engine<PostgresStore>) -> (Listener, std::sync::mpsc::Receiver<()>) {
    let (tx, rx) = std::sync::mpsc::channel();
    let listener = engine
        .store()
        .listen(move || {
            let _ = tx.send(());
        })
        .unwrap();
    (listener, rx)
}

fn start(engine: &Engine<PostgresStore>, template: &str) -> InstanceId {
    engine
        .start(&StartRequest {
            template: template.into(),
            owner: "j.becker".into(),
            started_by: "k.schmidt".into(),
            ..Default::default()
        })
        .expect("the process starts")
}

#[test]
fn two_workers_fire_every_deadline_rung_exactly_once() {
    let w = pair();
    let (a, b, clock) = (w.a.clone(), w.b.clone(), &w.clock);
    let ids: Vec<InstanceId> = (0..40).map(|_| start(&a, "deadline")).collect();
    // All three rungs (1, 2 and 3 days) of every instance are due at once.
    clock.advance(Duration::days(4));
    let fired: usize = [a.clone(), b.clone()]
        .into_iter()
        .map(|engine| thread::spawn(move || engine.fire_due().expect("timers fire")))
        .collect::<Vec<_>>()
        .into_iter()
        .map(|t| t.join().expect("the worker thread ends"))
        .sum();
    assert_eq!(
        fired,
        3 * ids.len(),
        "every rung fired by exactly one worker"
    );
    assert_eq!(a.fire_due().unwrap() + b.fire_due().unwrap(), 0);
    for id in &ids {
        let view = b.instance(*id).unwrap();
        let visit = view.step("visit").unwrap();
        assert_eq!(visit.rungs_fired, vec![0, 1, 2], "instance {id}");
        assert_eq!(visit.responsible.as_deref(), Some("m.weber"));
        assert!(view.timers.is_empty());
    }
    let outbox = a.outbox().unwrap();
    let reminders = outbox
        .iter()
        .filter(|o| o.to == "j.becker@example-immobilien.de")
        .count();
    let controller = outbox
        .iter()
        .filter(|o| o.to == "k.schmidt@example-immobilien.de")
        .count();
    assert_eq!((reminders, controller), (ids.len(), ids.len()));
    assert!(
        a.audit()
            .unwrap()
            .iter()
            .all(|entry| entry.event != "timer_failed")
    );
}

#[test]
fn two_workers_completing_the_same_step_complete_it_once() {
    let w = pair();
    let (a, b) = (w.a.clone(), w.b.clone());
    let ids: Vec<InstanceId> = (0..20).map(|_| start(&a, "deadline")).collect();
    let outcomes: Vec<Vec<bool>> = [a.clone(), b.clone()]
        .into_iter()
        .map(|engine| {
            let ids = ids.clone();
            thread::spawn(move || {
                ids.iter()
                    .map(|id| {
                        engine
                            .complete_step(*id, 0, "j.becker", &StepInput::default())
                            .is_ok()
                    })
                    .collect::<Vec<bool>>()
            })
        })
        .collect::<Vec<_>>()
        .into_iter()
        .map(|t| t.join().expect("the worker thread ends"))
        .collect();
    for (i, id) in ids.iter().enumerate() {
        assert!(
            outcomes[0][i] ^ outcomes[1][i],
            "instance {id}: exactly one worker completes the step"
        );
        let view = a.instance(*id).unwrap();
        assert_eq!(view.instance.status, InstanceStatus::Completed);
        let completions = a
            .audit()
            .unwrap()
            .into_iter()
            .filter(|e| e.instance == Some(*id) && e.step == Some(0) && e.event == "step_completed")
            .count();
        assert_eq!(completions, 1, "instance {id}");
    }
}

#[test]
fn a_commit_of_one_worker_wakes_the_listener_of_another() {
    let w = pair();
    let (a, b) = (w.a.clone(), w.b.clone());
    let (listener, rx) = hear(&b);
    // A start that schedules a timer (the first step opens in five hours).
    start(&a, "hours");
    rx.recv_timeout(std::time::Duration::from_secs(10))
        .expect("worker b hears of worker a's timer");
    drop(listener);
}

#[test]
fn a_worker_goes_on_after_the_server_dropped_its_connections() {
    let w = pair();
    let (a, clock, schema) = (w.a.clone(), &w.clock, &w.schema);
    // Worker b's connections carry a name of their own, so that only they are cut.
    let url = format!("{} application_name={}", postgres_url(), schema.name);
    let b = Engine::new(
        PostgresStore::open_schema(&url, &schema.name).unwrap(),
        Arc::new(clock.clone()),
        config(),
    );
    let (_listener, rx) = hear(&b);
    let mut admin = postgres::Client::connect(&postgres_url(), postgres::NoTls).unwrap();
    let cut = admin
        .query(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1",
            &[&schema.name],
        )
        .unwrap();
    assert_eq!(cut.len(), 2, "b's store and its listener");
    // The next operation meets the dropped connection, connects again and succeeds.
    let id = start(&b, "deadline");
    assert_eq!(b.instance(id).unwrap().instance.id, id);
    // The listener connected again too: b hears a's next commit.
    while rx.try_recv().is_ok() {}
    start(&a, "hours");
    rx.recv_timeout(std::time::Duration::from_secs(10))
        .expect("worker b hears worker a again");
}

#[test]
fn an_unreachable_database_is_unavailable_not_a_store_failure() {
    // Nothing listens on port 1: what a stopped or restarting server looks like to a worker,
    // which then waits and tries again instead of stopping.
    let opened = PostgresStore::open("host=127.0.0.1 port=1 user=postgres dbname=test");
    assert!(
        matches!(opened, Err(Error::Unavailable(_))),
        "{:?}",
        opened.err()
    );
}

#[test]
fn claiming_effects_wakes_nobody_and_new_effects_wake_the_others() {
    let w = pair();
    let (a, b) = (w.a.clone(), w.b.clone());
    let (_listener, rx) = hear(&b);
    // A start whose first step mails its decision at once: an effect for the others to deliver.
    start(&a, "maildecide");
    rx.recv_timeout(std::time::Duration::from_secs(10))
        .expect("worker b hears of worker a's effect");
    while rx.try_recv().is_ok() {}
    // A claim only pushes due times back: nobody needs to look again.
    assert!(
        !a.claim_effects(10, Duration::minutes(5))
            .unwrap()
            .is_empty()
    );
    assert!(
        rx.recv_timeout(std::time::Duration::from_millis(1500))
            .is_err(),
        "a claim woke another worker"
    );
}
