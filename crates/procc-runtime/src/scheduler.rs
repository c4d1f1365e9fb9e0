//! The scheduler: wakes exactly when the next timer or delayed effect is due.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::effects::Connector;
use crate::engine::Engine;
use crate::store::Store;
use crate::{Error, Result};

/// Runs an engine on tokio: fires due timers and delivers effects, then sleeps until the next
/// due time or until a write tells it that new timers exist. It never polls.
pub struct Runtime<S: Store + 'static> {
    engine: Arc<Engine<S>>,
    connector: Option<Arc<dyn Connector>>,
    rounds: Arc<AtomicU64>,
}

impl<S: Store + 'static> Runtime<S> {
    /// A runtime over this engine, delivering effects through `connector`.
    pub fn new(engine: Arc<Engine<S>>, connector: Arc<dyn Connector>) -> Runtime<S> {
        Runtime {
            engine,
            connector: Some(connector),
            rounds: Arc::new(AtomicU64::new(0)),
        }
    }

    /// A runtime that fires timers and runs the daily scans but leaves the outbox to another
    /// dispatcher (the asynchronous one of `procc-delivery`): it wakes for timers only.
    pub fn timers_only(engine: Arc<Engine<S>>) -> Runtime<S> {
        Runtime {
            engine,
            connector: None,
            rounds: Arc::new(AtomicU64::new(0)),
        }
    }

    /// The engine.
    pub fn engine(&self) -> &Arc<Engine<S>> {
        &self.engine
    }

    /// Counts the rounds the runtime has run (each wake-up is one), to show it does not poll.
    pub fn rounds(&self) -> Arc<AtomicU64> {
        self.rounds.clone()
    }

    /// One round: fire what is due, run the daily scans of days not yet scanned, deliver what
    /// is pending (unless [`Runtime::timers_only`]); the next time something is due (a timer, a delayed effect, the next local
    /// midnight's scan).
    pub async fn tick(&self) -> Result<Option<chrono::DateTime<chrono::Utc>>> {
        self.rounds.fetch_add(1, Ordering::SeqCst);
        let engine = self.engine.clone();
        let connector = self.connector.clone();
        tokio::task::spawn_blocking(move || {
            engine.fire_due()?;
            engine.run_daily_scans()?;
            let due = match &connector {
                Some(connector) => {
                    engine.dispatch(connector.as_ref())?;
                    engine.next_due()?
                }
                None => engine.next_timer_due()?,
            };
            let scan = engine.next_daily_scan()?;
            Ok(match (due, scan) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            })
        })
        .await
        .map_err(|e| Error::Store(format!("scheduler task failed: {e}")))?
    }

    /// Runs until `shutdown` completes.
    pub async fn run(&self, shutdown: impl Future<Output = ()>) -> Result<()> {
        let notify = self.engine.notifier();
        tokio::pin!(shutdown);
        loop {
            let next = match self.tick().await {
                Ok(next) => next,
                Err(e) => {
                    let pause = e.retry_pause().ok_or(e)?;
                    Some(self.engine.clock().now() + pause)
                }
            };
            let wait = next.map(|t| {
                (t - self.engine.clock().now())
                    .to_std()
                    .unwrap_or(std::time::Duration::ZERO)
            });
            match wait {
                Some(wait) => {
                    tokio::select! {
                        _ = tokio::time::sleep(wait) => {}
                        _ = notify.notified() => {}
                        _ = &mut shutdown => return Ok(()),
                    }
                }
                None => {
                    tokio::select! {
                        _ = notify.notified() => {}
                        _ = &mut shutdown => return Ok(()),
                    }
                }
            }
        }
    }
}
