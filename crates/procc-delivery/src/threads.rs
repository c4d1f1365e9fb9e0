//! Delivery on threads of its own: one dispatcher per thread over one engine.

use std::num::NonZero;
use std::sync::Arc;

use procc_plan::Plan;
use procc_runtime::{Connector, Engine, Error, Result, Store};
use tokio::sync::{oneshot, watch};

use crate::config::DeliveryConfig;
use crate::dispatcher::Dispatcher;
use crate::http::Deliverer;

/// The outbox delivered on threads of its own: a [`Dispatcher`] per thread over one engine,
/// each on a current-thread runtime with its own [`Deliverer`] (HTTP connections, SMTP pool),
/// so that an answer never waits for another thread to be woken. The threads divide the
/// limits between them and claim disjoint effects, as workers sharing a database do.
pub struct DeliveryThreads<S: Store + 'static> {
    lanes: Vec<Lane<S>>,
}

/// One thread's runtime and dispatcher. [`DeliveryThreads::run`] takes both out for its
/// thread; [`DeliveryThreads::drain`] borrows them.
struct Lane<S: Store + 'static> {
    runtime: Option<tokio::runtime::Runtime>,
    dispatcher: Option<Dispatcher<S>>,
}

impl<S: Store + 'static> Lane<S> {
    /// The runtime and dispatcher, which a lane holds until [`DeliveryThreads::run`] takes
    /// them.
    fn parts(&self) -> Result<(&tokio::runtime::Runtime, &Dispatcher<S>)> {
        match (&self.runtime, &self.dispatcher) {
            (Some(runtime), Some(dispatcher)) => Ok((runtime, dispatcher)),
            _ => Err(ran_already()),
        }
    }

    /// The runtime and dispatcher, taken out for a thread.
    fn take(&mut self) -> Result<(tokio::runtime::Runtime, Dispatcher<S>)> {
        match (self.runtime.take(), self.dispatcher.take()) {
            (Some(runtime), Some(dispatcher)) => Ok((runtime, dispatcher)),
            _ => Err(ran_already()),
        }
    }
}

/// A lane's parts were taken by a thread before (never, as [`DeliveryThreads::run`] consumes
/// the threads; an error rather than a panic all the same).
fn ran_already() -> Error {
    Error::Store("a delivery thread ran already".into())
}

impl<S: Store + 'static> Drop for Lane<S> {
    /// A lane not taken by a thread (unstarted, or drained): its dispatcher goes inside its
    /// runtime (the SMTP pool starts a task when it is dropped); the runtime waits for its
    /// blocking pool (effects being given back) where that is allowed, outside any runtime,
    /// and is let go without waiting inside one.
    fn drop(&mut self) {
        if let Some(runtime) = self.runtime.take() {
            {
                let _inside = runtime.enter();
                self.dispatcher.take();
            }
            if tokio::runtime::Handle::try_current().is_ok() {
                runtime.shutdown_background();
            }
        }
    }
}

/// Stops the other threads when it is dropped before `clean` is set: a thread that failed
/// or panicked, or a [`DeliveryThreads::run`] whose future was dropped.
struct HaltOnExit {
    halt: watch::Sender<bool>,
    clean: bool,
}

impl HaltOnExit {
    /// The thread or the run ended well: nothing to stop.
    fn disarm(&mut self) {
        self.clean = true;
    }
}

impl Drop for HaltOnExit {
    fn drop(&mut self) {
        if !self.clean {
            self.halt.send_replace(true);
        }
    }
}

impl<S: Store + 'static> DeliveryThreads<S> {
    /// Sets up `delivery.threads` threads (one per core by default; at most
    /// `delivery.per_endpoint` and `delivery.concurrency`, so that each gets at least one
    /// slot of each): each gets that share of the limits, rounded down, and its own deliverer,
    /// which reads the secrets now (see [`Deliverer::new`]). The threads start with
    /// [`DeliveryThreads::run`] or [`DeliveryThreads::drain`].
    pub fn new(
        engine: &Arc<Engine<S>>,
        plan: &Arc<Plan>,
        config: &DeliveryConfig,
        fallback: Option<&Arc<dyn Connector>>,
    ) -> std::result::Result<DeliveryThreads<S>, String> {
        let limits = &config.delivery;
        let threads = limits
            .threads
            .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, NonZero::get));
        let count = threads
            .min(limits.concurrency)
            .min(limits.per_endpoint)
            .max(1);
        let mut share = config.clone();
        share.delivery.concurrency = limits.concurrency / count;
        share.delivery.per_endpoint = limits.per_endpoint / count;
        let lanes = (0..count)
            .map(|_| {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .map_err(|e| format!("cannot set up a delivery thread: {e}"))?;
                // In the lane at once: on an error below, its drop is safe inside a runtime.
                let mut lane = Lane {
                    runtime: Some(runtime),
                    dispatcher: None,
                };
                if let Some(runtime) = &lane.runtime {
                    // What the deliverer starts (the SMTP pool's task) belongs to its thread.
                    let _inside = runtime.enter();
                    let deliverer = Deliverer::new(
                        engine.clone(),
                        plan.clone(),
                        share.clone(),
                        fallback.cloned(),
                    )?;
                    lane.dispatcher = Some(Dispatcher::new(engine.clone(), deliverer));
                }
                Ok(lane)
            })
            .collect::<std::result::Result<_, String>>()?;
        Ok(DeliveryThreads { lanes })
    }

    /// Holds claimed effects for `lease` instead, on every thread (see
    /// [`Dispatcher::with_lease`]).
    pub fn with_lease(mut self, lease: chrono::Duration) -> DeliveryThreads<S> {
        for lane in &mut self.lanes {
            lane.dispatcher = lane.dispatcher.take().map(|d| d.with_lease(lease));
        }
        self
    }

    /// How many threads deliver.
    pub fn threads(&self) -> usize {
        self.lanes.len()
    }

    /// Runs every thread ([`Dispatcher::run`]) until `stop` turns true or its sender is
    /// dropped, or a thread fails or panics, which stops the others too (as does dropping
    /// this future); then each gives back what it claimed and did not start and records its
    /// attempts in flight. The first failure, once every thread has stopped.
    pub async fn run(self, stop: watch::Receiver<bool>) -> Result<()> {
        let (halt, halted) = watch::channel(false);
        let mut supervisor = HaltOnExit {
            halt: halt.clone(),
            clean: false,
        };
        let mut outcomes = Vec::new();
        let mut not_started = None;
        for (index, mut lane) in self.lanes.into_iter().enumerate() {
            let (done, outcome) = oneshot::channel();
            let shutdown = until_either(stop.clone(), halted.clone());
            let guard = HaltOnExit {
                halt: halt.clone(),
                clean: false,
            };
            let started = std::thread::Builder::new()
                .name(format!("procc-delivery-{index}"))
                .spawn(move || {
                    // Taken only here: a thread that cannot start drops its lane unstarted.
                    let (runtime, dispatcher) = match lane.take() {
                        Ok(parts) => parts,
                        Err(e) => {
                            let _ = done.send(Err(e));
                            return;
                        }
                    };
                    // After the runtime, so dropped before it when this thread panics: the
                    // others stop at once, not once the blocking pool is done.
                    let mut guard = guard;
                    let result = runtime.block_on(async move {
                        let result = dispatcher.run(shutdown).await;
                        // Inside the runtime: the SMTP pool starts a task when it is dropped.
                        drop(dispatcher);
                        result
                    });
                    if result.is_ok() {
                        guard.disarm();
                    }
                    drop(guard);
                    // Waits for the blocking pool: effects being given back are committed.
                    drop(runtime);
                    let _ = done.send(result);
                });
            match started {
                Ok(_) => outcomes.push(outcome),
                Err(e) => {
                    halt.send_replace(true);
                    not_started =
                        Some(Error::Store(format!("cannot start a delivery thread: {e}")));
                    break;
                }
            }
        }
        let mut first = not_started.map_or(Ok(()), Err);
        for outcome in outcomes {
            let result = outcome.await.unwrap_or_else(|_| {
                Err(Error::Store(
                    "a delivery thread stopped without a result (it panicked)".into(),
                ))
            });
            if first.is_ok() {
                first = result;
            }
        }
        supervisor.disarm();
        first
    }

    /// Delivers on every thread what is due now, and what becomes due meanwhile, until
    /// nothing is due or in flight ([`Dispatcher::drain`]); blocks the caller, which must not
    /// be inside an asynchronous task. The attempts made; the first failure once every thread
    /// has ended.
    pub fn drain(&self) -> Result<usize> {
        let ended: Vec<Result<usize>> = std::thread::scope(|scope| {
            let drains: Vec<_> = self
                .lanes
                .iter()
                .map(|lane| {
                    scope.spawn(|| {
                        let (runtime, dispatcher) = lane.parts()?;
                        runtime.block_on(dispatcher.drain())
                    })
                })
                .collect();
            drains
                .into_iter()
                .map(|drain| {
                    drain
                        .join()
                        .unwrap_or_else(|_| Err(Error::Store("a delivery thread panicked".into())))
                })
                .collect()
        });
        ended.into_iter().sum()
    }
}
/// Completes when either receiver's value turns true or its sender is gone.
async fn until_either(mut stop: watch::Receiver<bool>, mut halted: watch::Receiver<bool>) {
    tokio::select! {
        _ = stop.wait_for(|stop| *stop) => {}
        _ = halted.wait_for(|halted| *halted) => {}
    }
}
