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
pub struct Delivery<S: Store + 'static> {
    lanes: Vec<Lane<S>>,
}

/// One thread's runtime and dispatcher.
struct Lane<S: Store + 'static> {
    runtime: tokio::runtime::Runtime,
    dispatcher: Dispatcher<S>,
}

impl<S: Store + 'static> Delivery<S> {
    /// Sets up `delivery.threads` threads (one per core by default; at most
    /// `delivery.per_endpoint` and `delivery.concurrency`, so that each gets at least one
    /// slot of each): each gets that share of the limits, rounded down, and its own deliverer,
    /// which reads the secrets now (see [`Deliverer::new`]). The threads start with
    /// [`Delivery::run`] or [`Delivery::drain`].
    pub fn new(
        engine: &Arc<Engine<S>>,
        plan: &Arc<Plan>,
        config: &DeliveryConfig,
        fallback: Option<&Arc<dyn Connector>>,
    ) -> std::result::Result<Delivery<S>, String> {
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
                let deliverer = {
                    // What the deliverer starts (the SMTP pool's task) belongs to its thread.
                    let _inside = runtime.enter();
                    Deliverer::new(
                        engine.clone(),
                        plan.clone(),
                        share.clone(),
                        fallback.cloned(),
                    )?
                };
                let dispatcher = Dispatcher::new(engine.clone(), deliverer);
                Ok(Lane {
                    runtime,
                    dispatcher,
                })
            })
            .collect::<std::result::Result<_, String>>()?;
        Ok(Delivery { lanes })
    }

    /// How many threads deliver.
    pub fn threads(&self) -> usize {
        self.lanes.len()
    }

    /// Runs every thread ([`Dispatcher::run`]) until `stop` turns true or its sender is
    /// dropped, or a thread fails, which stops the others too; then each gives back what it
    /// claimed and did not start and records its attempts in flight. The first failure, once
    /// every thread has stopped.
    pub async fn run(mut self, stop: watch::Receiver<bool>) -> Result<()> {
        let (halt, halted) = watch::channel(false);
        let halt = Arc::new(halt);
        let mut outcomes = Vec::new();
        for (index, lane) in std::mem::take(&mut self.lanes).into_iter().enumerate() {
            let (done, outcome) = oneshot::channel();
            let shutdown = until_either(stop.clone(), halted.clone());
            let halt_others = halt.clone();
            let started = std::thread::Builder::new()
                .name(format!("procc-delivery-{index}"))
                .spawn(move || {
                    let Lane {
                        runtime,
                        dispatcher,
                    } = lane;
                    let result = runtime.block_on(async move {
                        let result = dispatcher.run(shutdown).await;
                        // Inside the runtime, where the SMTP pool can close its connections.
                        drop(dispatcher);
                        result
                    });
                    drop(runtime);
                    if result.is_err() {
                        halt_others.send_replace(true);
                    }
                    let _ = done.send(result);
                });
            if let Err(e) = started {
                // The threads already started stop too.
                halt.send_replace(true);
                return Err(Error::Store(format!("cannot start a delivery thread: {e}")));
            }
            outcomes.push(outcome);
        }
        let mut first = Ok(());
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
        first
    }

    /// Delivers on every thread what is due now, and what becomes due meanwhile, until
    /// nothing is due or in flight ([`Dispatcher::drain`]); blocks the caller, which must not
    /// be inside an asynchronous task. The attempts made.
    pub fn drain(&self) -> Result<usize> {
        std::thread::scope(|scope| {
            let drains: Vec<_> = self
                .lanes
                .iter()
                .map(|lane| scope.spawn(|| lane.runtime.block_on(lane.dispatcher.drain())))
                .collect();
            drains.into_iter().try_fold(0, |attempts, drain| {
                let made = drain
                    .join()
                    .map_err(|_| Error::Store("a delivery thread panicked".into()))??;
                Ok(attempts + made)
            })
        })
    }
}

impl<S: Store + 'static> Drop for Delivery<S> {
    fn drop(&mut self) {
        for Lane {
            runtime,
            dispatcher,
        } in self.lanes.drain(..)
        {
            // The SMTP pool closes its connections through its runtime.
            let _inside = runtime.enter();
            drop(dispatcher);
        }
    }
}

/// Completes when either receiver's value turns true or its sender is gone.
async fn until_either(mut stop: watch::Receiver<bool>, mut halted: watch::Receiver<bool>) {
    tokio::select! {
        _ = stop.wait_for(|stop| *stop) => {}
        _ = halted.wait_for(|halted| *halted) => {}
    }
}
