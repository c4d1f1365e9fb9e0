//! The asynchronous delivery loop: claims due effects, runs their attempts concurrently
//! within an overall limit and a limit per endpoint, decides retries, and records every
//! attempt; each turn records the attempts that finished and claims the next group of
//! effects in one commit.

use std::collections::HashMap;
use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use procc_runtime::{AttemptReport, AttemptResult, Engine, Error, OutboxRow, Result, Store};
use tokio::runtime::RuntimeFlavor;
use tokio::sync::{Notify, Semaphore, mpsc};

use crate::http::{Deliverer, Verdict};

/// How long an effect whose endpoint is busy waits before it is claimed again.
const BUSY_PAUSE: chrono::Duration = chrono::Duration::milliseconds(200);

/// Attempts recorded in one commit at most.
const BATCH: usize = 512;

/// How long a turn (recording finished attempts and claiming free slots, one commit) may wait
/// for a group of free slots while attempts are in flight: a group costs one commit instead of
/// one per slot, and a slow receiver delays other deliveries by at most this.
const GROUP_WAIT: Duration = Duration::from_millis(5);

/// Delivers an engine's outbox with a [`Deliverer`].
///
/// A slow or dead receiver holds at most `per_endpoint` of the `concurrency` slots: an
/// effect whose endpoint is busy is given back for a moment instead of waiting in a slot.
pub struct Dispatcher<S: Store + 'static> {
    engine: Arc<Engine<S>>,
    deliverer: Arc<Deliverer<S>>,
    global: Arc<Semaphore>,
    /// Free slots worth a claim while attempts are in flight (a quarter of the limit).
    group: usize,
    per_endpoint: usize,
    endpoints: Mutex<HashMap<String, Arc<Semaphore>>>,
    lease: chrono::Duration,
    in_flight: Arc<AtomicUsize>,
    settled: Arc<Notify>,
}

impl<S: Store + 'static> Dispatcher<S> {
    /// A dispatcher for `engine`'s outbox. A claimed effect is held for twice the longest
    /// attempt time plus a minute (the lease), so that an attempt still running is never
    /// claimed a second time; if this process dies during an attempt, the effect comes back
    /// after the lease, with the same idempotency key.
    pub fn new(engine: Arc<Engine<S>>, deliverer: Deliverer<S>) -> Dispatcher<S> {
        let limits = &deliverer.config().delivery;
        let longest = deliverer.longest_attempt().as_secs();
        let lease = i64::try_from(longest.saturating_mul(2).saturating_add(60)).unwrap_or(86_400);
        Dispatcher {
            engine,
            global: Arc::new(Semaphore::new(limits.concurrency)),
            group: (limits.concurrency / 4).clamp(1, BATCH),
            per_endpoint: limits.per_endpoint,
            endpoints: Mutex::new(HashMap::new()),
            lease: chrono::Duration::seconds(lease),
            deliverer: Arc::new(deliverer),
            in_flight: Arc::new(AtomicUsize::new(0)),
            settled: Arc::new(Notify::new()),
        }
    }

    /// Holds claimed effects for `lease` instead (it must exceed the longest attempt).
    pub fn with_lease(mut self, lease: chrono::Duration) -> Dispatcher<S> {
        self.lease = lease;
        self
    }

    /// How long a claimed effect is held before another worker may claim it again.
    pub fn lease(&self) -> chrono::Duration {
        self.lease
    }

    /// The deliverer.
    pub fn deliverer(&self) -> &Deliverer<S> {
        &self.deliverer
    }

    /// Delivers until `shutdown` completes, sleeping until the next effect is due or a write
    /// adds one; then waits for the attempts in flight and records them.
    pub async fn run(&self, shutdown: impl Future<Output = ()>) -> Result<()> {
        self.pump(shutdown, false).await.map(|_| ())
    }

    /// [`Dispatcher::run`] on a task of its own, which it needs: its turns run in place on a
    /// worker thread and would hold up whatever shared its task (such as the scheduler).
    pub async fn run_apart(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> Result<()> {
        tokio::spawn(async move { self.run(shutdown).await })
            .await
            .map_err(failed)?
    }

    /// Delivers what is due now (and what becomes due while it runs, such as quick retries)
    /// until nothing is due or in flight; the number of attempts made.
    pub async fn drain(&self) -> Result<usize> {
        self.pump(std::future::pending(), true).await
    }

    async fn pump(&self, shutdown: impl Future<Output = ()>, until_idle: bool) -> Result<usize> {
        let wake = self.engine.subscribe();
        let (results, mut inbox) = mpsc::unbounded_channel::<(u64, AttemptReport)>();
        tokio::pin!(shutdown);
        let mut attempts = 0;
        // Results of finished attempts, recorded in the same commit as the next claim.
        let mut finished: Vec<(u64, AttemptReport)> = Vec::new();
        // The next due time, asked for again when nothing is in flight or a write added
        // effects or retries (claims only push due times back, to the end of their lease).
        let mut next = None;
        let mut stale = true;
        let mut stopping = false;
        let mut last_turn = Instant::now();
        let outcome = loop {
            while finished.len() < BATCH {
                match inbox.try_recv() {
                    Ok(r) => finished.push(r),
                    Err(_) => break,
                }
            }
            let free = if stopping {
                0
            } else {
                self.global.available_permits().min(BATCH)
            };
            // While attempts run, a turn waits (briefly) until a group of slots is free: the
            // results that arrive meanwhile are recorded with it, in the same commit.
            let running = self.in_flight.load(Ordering::SeqCst) > finished.len();
            let grouping =
                !stopping && running && free < self.group && last_turn.elapsed() < GROUP_WAIT;
            let want = if grouping { 0 } else { free };
            let claimed = if !grouping && (want > 0 || !finished.is_empty()) {
                last_turn = Instant::now();
                let batch = std::mem::take(&mut finished);
                let recorded = batch.len();
                let engine = self.engine.clone();
                let lease = self.lease;
                let turn = off_the_reactor(move || {
                    let result = engine.record_and_claim(&batch, want, lease);
                    (batch, result)
                })
                .await;
                match turn {
                    Ok((_, Ok(c))) => {
                        // Out of flight only once committed: see `idle` below.
                        self.in_flight.fetch_sub(recorded, Ordering::SeqCst);
                        c
                    }
                    // Other workers on a shared database kept winning, or the database cannot
                    // be reached: keep the results and try again after the error's pause (a
                    // result whose commit was cut off may be recorded twice).
                    Ok((batch, Err(e))) => {
                        let Some(pause) = e.retry_pause() else {
                            break Err(e);
                        };
                        finished = batch;
                        tokio::select! {
                            _ = tokio::time::sleep(pause) => {}
                            _ = &mut shutdown => stopping = true,
                        }
                        Vec::new()
                    }
                    Err(e) => break Err(e),
                }
            } else {
                Vec::new()
            };
            let full = want > 0 && claimed.len() == want;
            for effect in claimed {
                attempts += 1;
                self.start(effect, results.clone());
            }
            let idle = self.in_flight.load(Ordering::SeqCst) == 0;
            if stopping {
                if idle {
                    break Ok(());
                }
                // Let the attempts in flight finish and be recorded.
                tokio::select! {
                    r = inbox.recv() => finished.extend(r),
                    _ = self.settled.notified() => {}
                    _ = tokio::time::sleep(GROUP_WAIT), if !finished.is_empty() => {}
                }
                continue;
            }
            if full || !inbox.is_empty() {
                continue;
            }
            // Read before asking for the next due time: an attempt is counted out of flight
            // only after its result is committed, so a count of zero read here means that
            // every retry it scheduled is visible to the query below.
            if idle || stale {
                let engine = self.engine.clone();
                next = match off_the_reactor(move || engine.next_effect_due()).await {
                    Ok(Ok(n)) => n,
                    Ok(Err(e)) => match e.retry_pause() {
                        Some(pause) => Some(self.engine.clock().now() + pause),
                        None => break Err(e),
                    },
                    Err(e) => break Err(e),
                };
                stale = false;
            }
            if until_idle
                && idle
                && next.is_none_or(|t| t > self.engine.clock().now() + chrono::Duration::seconds(1))
            {
                break Ok(());
            }
            let mut wait = next
                .map(|t| {
                    (t - self.engine.clock().now())
                        .to_std()
                        .unwrap_or(Duration::ZERO)
                })
                .unwrap_or(Duration::from_secs(3600));
            if grouping {
                wait = wait.min(GROUP_WAIT.saturating_sub(last_turn.elapsed()));
            }
            if !finished.is_empty() {
                wait = wait.min(GROUP_WAIT);
            }
            tokio::select! {
                _ = tokio::time::sleep(wait) => {}
                _ = wake.notified() => stale = true,
                r = inbox.recv() => finished.extend(r),
                _ = self.settled.notified() => {}
                _ = &mut shutdown => stopping = true,
            }
        };
        outcome.map(|()| attempts)
    }

    fn endpoint(&self, key: String) -> Arc<Semaphore> {
        match self.endpoints.lock() {
            Ok(mut map) => map
                .entry(key)
                .or_insert_with(|| Arc::new(Semaphore::new(self.per_endpoint)))
                .clone(),
            Err(_) => Arc::new(Semaphore::new(self.per_endpoint)),
        }
    }

    /// Starts one attempt, or gives the effect back when its endpoint is busy.
    fn start(&self, effect: OutboxRow, results: mpsc::UnboundedSender<(u64, AttemptReport)>) {
        let Ok(slot) = self.global.clone().try_acquire_owned() else {
            self.give_back(effect.id, effect.attempts);
            return;
        };
        let Ok(turn) = self
            .endpoint(self.deliverer.limit_key(&effect))
            .try_acquire_owned()
        else {
            drop(slot);
            self.give_back(effect.id, effect.attempts);
            return;
        };
        self.in_flight.fetch_add(1, Ordering::SeqCst);
        let deliverer = self.deliverer.clone();
        let engine = self.engine.clone();
        tokio::spawn(async move {
            let started_at = engine.clock().now();
            let clock = Instant::now();
            let attempt = deliverer.attempt(&effect).await;
            let latency = clock.elapsed();
            drop(turn);
            drop(slot);
            let result = decide(&deliverer, &effect, attempt.verdict, engine.clock().now());
            // The receiver of results lives as long as any sender.
            let _ = results.send((
                effect.id,
                AttemptReport {
                    attempt: effect.attempts,
                    started_at,
                    status: attempt.status,
                    latency,
                    excerpt: attempt.excerpt,
                    result,
                },
            ));
        });
    }

    /// Releases an effect for a short pause; it counts as in flight until the release is
    /// committed, so that `drain` does not stop while the effect looks claimed.
    fn give_back(&self, effect: u64, attempt: u32) {
        let engine = self.engine.clone();
        let at = engine.clock().now() + BUSY_PAUSE;
        let in_flight = self.in_flight.clone();
        let settled = self.settled.clone();
        in_flight.fetch_add(1, Ordering::SeqCst);
        tokio::task::spawn_blocking(move || {
            // A failure leaves the effect claimed: it comes back when the lease runs out.
            let _ = engine.release_effect(effect, attempt, at);
            in_flight.fetch_sub(1, Ordering::SeqCst);
            settled.notify_one();
        });
    }
}

/// Runs a store operation of the dispatcher's loop: in place on a multi-threaded runtime
/// (tokio hands this worker's other tasks to another worker meanwhile, which costs far less
/// than a round trip through the blocking pool on every turn), on the blocking pool on a
/// current-thread runtime, where running in place is not allowed.
async fn off_the_reactor<T: Send + 'static>(
    work: impl FnOnce() -> T + Send + 'static,
) -> Result<T> {
    match tokio::runtime::Handle::current().runtime_flavor() {
        RuntimeFlavor::CurrentThread => tokio::task::spawn_blocking(work).await.map_err(failed),
        _ => Ok(tokio::task::block_in_place(work)),
    }
}

/// A task of the dispatcher that panicked or was cancelled.
fn failed(e: tokio::task::JoinError) -> Error {
    Error::Store(format!("the dispatcher failed: {e}"))
}

/// Turns a verdict into what happens next: a retry at the next time of the schedule (with
/// up to 10 % jitter), or at the receiver's `Retry-After`; given up when the attempts are
/// exhausted.
fn decide<S: Store + 'static>(
    deliverer: &Deliverer<S>,
    effect: &OutboxRow,
    verdict: Verdict,
    now: chrono::DateTime<chrono::Utc>,
) -> AttemptResult {
    match verdict {
        Verdict::Delivered => AttemptResult::Delivered,
        Verdict::Gone(error) => AttemptResult::Gone { error },
        Verdict::Refused(error) => AttemptResult::Failed { error },
        Verdict::Retry { error, after } => {
            let done = effect.attempts as usize;
            let max = deliverer.max_attempts(effect);
            let schedule = &deliverer.config().delivery.retry_schedule;
            match schedule.get(done) {
                Some(pause) if done < max => {
                    let pause = after.unwrap_or_else(|| jitter(Duration::from_secs(*pause)));
                    let pause =
                        chrono::Duration::from_std(pause).unwrap_or(chrono::Duration::days(1));
                    AttemptResult::Retry {
                        at: now + pause,
                        error,
                    }
                }
                _ => AttemptResult::Failed {
                    error: format!("gave up after {done} attempts: {error}"),
                },
            }
        }
    }
}

/// `pause` plus a random 0 to 10 %.
fn jitter(pause: Duration) -> Duration {
    let mut bytes = [0u8; 2];
    let r = match getrandom::fill(&mut bytes) {
        Ok(()) => u16::from_le_bytes(bytes),
        Err(_) => 0,
    };
    pause + pause.mul_f64(f64::from(r) / f64::from(u16::MAX) / 10.0)
}
