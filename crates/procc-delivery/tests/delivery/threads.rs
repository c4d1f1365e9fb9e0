//! Delivery on several threads of its own (`DeliveryThreads`): one dispatcher per thread over one
//! engine, sharing the outbox and the limits.

use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use procc_delivery::DeliveryThreads;
use procc_runtime::*;

use crate::common::*;

/// The plan of one free webhook to `receiver`.
fn hook_plan(receiver: &Receiver) -> procc_plan::Plan {
    plan(
        "http://127.0.0.1:9/unused",
        vec![free_hook(&format!("{}/hook", receiver.url))],
    )
}

/// Sets up delivery threads for `engine` (there must be `threads` of them) and drains on them,
/// off the test's runtime; the attempts made.
async fn drain_on_threads(
    engine: &Arc<Engine<SqliteStore>>,
    plan: procc_plan::Plan,
    settings: &procc_delivery::DeliveryConfig,
    threads: usize,
) -> usize {
    let delivery = DeliveryThreads::new(engine, &Arc::new(plan), settings, None).unwrap();
    assert_eq!(delivery.threads(), threads);
    tokio::task::spawn_blocking(move || delivery.drain())
        .await
        .unwrap()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_threads_share_the_outbox_and_deliver_every_webhook_once() {
    let receiver = Receiver::start(|_| Reply::status(200)).await;
    let dir = tempfile::tempdir().unwrap();
    let plan = hook_plan(&receiver);
    let engine = engine(dir.path(), &plan);
    let ids: Vec<_> = (0..20).map(|_| start(&engine, "sync")).collect();
    let settings = config(
        dir.path(),
        &[
            ("threads", "2"),
            ("concurrency", "8"),
            ("per_endpoint", "4"),
        ],
        "",
    );
    let attempts = drain_on_threads(&engine, plan, &settings, 2).await;
    assert_eq!(attempts, 20);
    let seen = receiver.seen();
    assert_eq!(seen.len(), 20);
    let keys: HashSet<_> = seen.iter().map(|s| s.header("webhook-id")).collect();
    assert_eq!(keys.len(), 20, "each webhook went out once");
    for id in ids {
        assert!(hooks(&engine, id)[0].delivered_at.is_some());
    }
}

/// A receiver that takes 20 ms to answer and counts the requests it is answering at once:
/// its URL and the most it counted.
async fn counting_receiver() -> (String, Arc<AtomicUsize>, tokio::task::JoinHandle<()>) {
    let now = Arc::new(AtomicUsize::new(0));
    let most = Arc::new(AtomicUsize::new(0));
    let seen = most.clone();
    let app = axum::Router::new().fallback(move || {
        let now = now.clone();
        let most = most.clone();
        async move {
            let at_once = now.fetch_add(1, Ordering::SeqCst) + 1;
            most.fetch_max(at_once, Ordering::SeqCst);
            tokio::time::sleep(Duration::from_millis(20)).await;
            now.fetch_sub(1, Ordering::SeqCst);
            "ok"
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    let task = tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (url, seen, task)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_threads_divide_the_limit_per_endpoint() {
    let (url, most, server) = counting_receiver().await;
    let dir = tempfile::tempdir().unwrap();
    let plan = plan("http://127.0.0.1:9/unused", vec![free_hook(&url)]);
    let engine = engine(dir.path(), &plan);
    for _ in 0..16 {
        start(&engine, "sync");
    }
    // Four threads asked for, two possible: each gets one of the two places per endpoint.
    let settings = config(
        dir.path(),
        &[
            ("threads", "4"),
            ("concurrency", "8"),
            ("per_endpoint", "2"),
        ],
        "",
    );
    let attempts = drain_on_threads(&engine, plan, &settings, 2).await;
    assert_eq!(attempts, 16);
    // Both threads delivered at once, never more than the limit together.
    assert_eq!(most.load(Ordering::SeqCst), 2);
    server.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_delivers_until_stopped_and_then_ends_cleanly() {
    let receiver = Receiver::start(|_| Reply::status(200)).await;
    let dir = tempfile::tempdir().unwrap();
    let plan = hook_plan(&receiver);
    let engine = engine(dir.path(), &plan);
    let ids: Vec<_> = (0..10).map(|_| start(&engine, "sync")).collect();
    let settings = config(dir.path(), &[("threads", "2")], "");
    let delivery = DeliveryThreads::new(&engine, &Arc::new(plan), &settings, None).unwrap();
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let running = tokio::spawn(delivery.run(stopped));
    tokio::time::timeout(Duration::from_secs(20), async {
        while receiver.seen().len() < 10 {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await
    .unwrap();
    stop.send(true).unwrap();
    tokio::time::timeout(Duration::from_secs(20), running)
        .await
        .expect("every thread stopped")
        .unwrap()
        .unwrap();
    for id in ids {
        assert!(hooks(&engine, id)[0].delivered_at.is_some());
    }
}

/// Dropping unstarted threads, or failing to set them up, inside a runtime returns or drops
/// quietly (a runtime dropped inside another one would panic).
#[tokio::test]
async fn threads_set_up_and_dropped_inside_a_runtime_do_not_panic() {
    let dir = tempfile::tempdir().unwrap();
    let plan = Arc::new(plan(
        "http://127.0.0.1:9/unused",
        vec![free_hook("http://127.0.0.1:9/")],
    ));
    let engine = engine(dir.path(), &plan);
    let settings = config(dir.path(), &[("threads", "2")], "");
    let delivery = DeliveryThreads::new(&engine, &plan, &settings, None).unwrap();
    assert_eq!(delivery.threads(), 2);
    drop(delivery);
    let broken = config(
        dir.path(),
        &[("threads", "2")],
        "[smtp]\nhost = \"127.0.0.1\"\nfrom = \"not an address\"\n",
    );
    let error = DeliveryThreads::new(&engine, &plan, &broken, None)
        .err()
        .expect("a bad sender is refused");
    assert!(
        error.contains("`smtp.from` is not an e-mail address"),
        "{error}"
    );
}

/// A memory store whose next write from a delivery thread fails for good once armed, as a
/// disk that is gone: one thread's turn fails, the other's would go on.
struct FailingOnce {
    inner: MemoryStore,
    armed: std::sync::atomic::AtomicBool,
}

impl Store for FailingOnce {
    fn transaction<T>(&self, f: &mut dyn FnMut(&mut dyn Tx) -> Result<T>) -> Result<T> {
        let on_delivery_thread = std::thread::current()
            .name()
            .is_some_and(|n| n.starts_with("procc-delivery-"));
        if on_delivery_thread && self.armed.swap(false, Ordering::SeqCst) {
            return Err(Error::Store("the disk is gone".into()));
        }
        self.inner.transaction(f)
    }
    fn read_transaction<T>(&self, f: &mut dyn FnMut(&mut dyn Tx) -> Result<T>) -> Result<T> {
        self.inner.read_transaction(f)
    }
    fn in_process(&self) -> bool {
        true
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thread_that_fails_stops_the_others_and_run_returns_its_error() {
    let receiver = Receiver::start(|_| Reply::status(200)).await;
    let dir = tempfile::tempdir().unwrap();
    let plan = hook_plan(&receiver);
    let store = FailingOnce {
        inner: MemoryStore::new(),
        armed: std::sync::atomic::AtomicBool::new(false),
    };
    let engine = prepared(store, dir.path(), &plan);
    for _ in 0..4 {
        start(&engine, "sync");
    }
    engine.store().armed.store(true, Ordering::SeqCst);
    let settings = config(dir.path(), &[("threads", "2")], "");
    let delivery = DeliveryThreads::new(&engine, &Arc::new(plan), &settings, None).unwrap();
    assert_eq!(delivery.threads(), 2);
    // Never told to stop: only the failure can end it.
    let (_stop, stopped) = tokio::sync::watch::channel(false);
    let error = tokio::time::timeout(Duration::from_secs(20), delivery.run(stopped))
        .await
        .expect("the other thread stopped too")
        .unwrap_err();
    assert!(error.to_string().contains("the disk is gone"), "{error}");
}
