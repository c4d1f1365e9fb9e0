//! The tokio scheduler wakes exactly at due times (tokio's paused clock makes this exact).

use std::sync::Arc;

use chrono::{DateTime, Utc};
use procc_runtime::*;

use crate::common::*;
use crate::fixtures::small;

/// A clock that follows tokio's (pausable) time.
struct TokioClock {
    base: DateTime<Utc>,
    start: tokio::time::Instant,
}

impl Clock for TokioClock {
    fn now(&self) -> DateTime<Utc> {
        self.base + chrono::Duration::from_std(self.start.elapsed()).expect("small")
    }
}

#[tokio::test(start_paused = true)]
async fn the_runtime_wakes_at_the_due_time_without_polling() {
    let clock = Arc::new(TokioClock {
        base: t0(),
        start: tokio::time::Instant::now(),
    });
    let engine = Arc::new(Engine::new(MemoryStore::new(), clock.clone(), config()));
    engine.deploy(&small()).unwrap();
    let start = |engine: &Engine<MemoryStore>| engine.start(&hours_request()).unwrap();
    let first = start(&engine);
    let runtime = Runtime::new(engine.clone(), Arc::new(RecordingConnector::new()));
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let rounds = runtime.rounds();
    let task = tokio::spawn(async move {
        runtime
            .run(async {
                stopped.await.ok();
            })
            .await
    });
    // Two hours in, a second instance writes a timer due three hours before the first
    // one's... no: due at +7 h; the runtime is told by the notifier and keeps both.
    tokio::time::sleep(std::time::Duration::from_secs(2 * 3600)).await;
    let second = start(&engine);
    tokio::time::sleep(std::time::Duration::from_secs(6 * 3600)).await;
    let activated = |id| {
        engine
            .instance(id)
            .unwrap()
            .step("call")
            .unwrap()
            .activated_at
            .expect("activated")
    };
    assert_eq!(activated(first), t0() + chrono::Duration::hours(5));
    assert_eq!(activated(second), t0() + chrono::Duration::hours(7));
    // A handful of rounds over eight hours: woken by due times and writes, never polling.
    let n = rounds.load(std::sync::atomic::Ordering::SeqCst);
    assert!(n <= 8, "{n} rounds");
    stop.send(()).unwrap();
    task.await.unwrap().unwrap();
}

/// A subscription is told of writes until it is dropped, and then leaves no listener behind
/// (a dispatcher drains again and again, subscribing each time).
#[tokio::test]
async fn a_dropped_subscription_leaves_no_listener_behind() {
    let clock = VirtualClock::new(t0());
    let engine = Engine::new(MemoryStore::new(), Arc::new(clock), config());
    engine.deploy(&small()).unwrap();
    let subscription = engine.subscribe();
    let notify = subscription.notify().clone();
    assert_eq!(
        Arc::strong_count(&notify),
        3,
        "the engine, the subscription, here"
    );
    engine.start(&hours_request()).unwrap();
    tokio::time::timeout(std::time::Duration::from_secs(10), notify.notified())
        .await
        .expect("told of the start, which wrote a timer");
    drop(subscription);
    assert_eq!(Arc::strong_count(&notify), 1, "the engine let go of it");
}
