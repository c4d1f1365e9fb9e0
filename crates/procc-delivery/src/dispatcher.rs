//! The asynchronous delivery loop. The pump claims due effects ahead of the free slots into a
//! queue; a chain of attempts per busy slot takes effects from that queue one after another
//! (within an overall limit and a limit per endpoint), decides retries, and leaves its results
//! for the pump. A turn of the pump records the results that finished, gives back the effects
//! whose endpoint was busy and claims the next group in one commit; the chains go on with what
//! is queued meanwhile, so a commit does not hold up delivery.

use std::collections::{HashMap, VecDeque};
use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use procc_runtime::{AttemptReport, AttemptResult, Engine, Error, OutboxRow, Result, Store};
use tokio::sync::{Notify, OwnedSemaphorePermit, Semaphore};

use crate::http::{Deliverer, Verdict};

/// How long an effect whose endpoint is busy waits before it is claimed again.
const BUSY_PAUSE: chrono::Duration = chrono::Duration::milliseconds(200);

/// Attempts recorded, and effects claimed, in one commit at most.
const BATCH: usize = 512;

/// How long a result may wait for others to be recorded with it in one commit, while other
/// attempts still run.
const GROUP_WAIT: Duration = Duration::from_millis(5);

/// An attempt's result on its way to the next turn.
type Finished = (u64, AttemptReport);

/// What the chains leave for the next turn: results, and effects whose endpoint was busy (id
/// and claim's attempt), to give back.
#[derive(Default)]
struct Settled {
    results: Vec<Finished>,
    bounced: Vec<(u64, u32)>,
}

impl Settled {
    fn len(&self) -> usize {
        self.results.len() + self.bounced.len()
    }

    fn append(&mut self, other: &mut Settled) {
        self.results.append(&mut other.results);
        self.bounced.append(&mut other.bounced);
    }
}

/// Delivers an engine's outbox with a [`Deliverer`].
///
/// A slow or dead receiver holds at most `per_endpoint` of the `concurrency` slots: an
/// effect whose endpoint is busy is given back for a moment instead of waiting in a slot.
pub struct Dispatcher<S: Store + 'static> {
    shared: Arc<Shared<S>>,
    global: Arc<Semaphore>,
    /// Effects claimed beyond the free slots, for the chains to go on with while a turn
    /// commits.
    ahead: usize,
    lease: chrono::Duration,
}

/// What the pump and the chains of attempts share.
struct Shared<S: Store + 'static> {
    engine: Arc<Engine<S>>,
    deliverer: Deliverer<S>,
    per_endpoint: usize,
    endpoints: Mutex<HashMap<String, Arc<Semaphore>>>,
    /// Results or free places worth a turn while attempts run (a quarter of the limit).
    group: usize,
    queue: Mutex<Queue>,
    /// Results of finished attempts and effects to give back, for the next turn.
    settled: Mutex<Settled>,
    /// Wakes the pump: a first result or a group of them, a queue running low, a chain that
    /// ended, a release that was committed.
    pump: Notify,
    /// Attempts made so far.
    attempts: AtomicUsize,
}

/// Claimed effects waiting for a chain, with the count of effects taken from here and not
/// yet settled (an attempt not yet recorded, a release not yet committed): under one lock, so
/// that the pump never sees an effect in neither place and stops too early.
#[derive(Default)]
struct Queue {
    ready: VecDeque<OutboxRow>,
    in_flight: usize,
}

/// Locks `mutex`; the dispatcher never panics while holding one, and a poisoned lock still
/// holds consistent data.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl<S: Store + 'static> Dispatcher<S> {
    /// A dispatcher for `engine`'s outbox. A claimed effect is held for twice the longest
    /// attempt time plus a minute (the lease): it waits in the queue at most as long as the
    /// attempts before it take, then its own attempt runs, so an attempt still running is never
    /// claimed a second time; if this process dies, the effect comes back after the lease, with
    /// the same idempotency key.
    pub fn new(engine: Arc<Engine<S>>, deliverer: Deliverer<S>) -> Dispatcher<S> {
        let limits = &deliverer.config().delivery;
        let longest = deliverer.longest_attempt().as_secs();
        let lease = i64::try_from(longest.saturating_mul(2).saturating_add(60)).unwrap_or(86_400);
        Dispatcher {
            global: Arc::new(Semaphore::new(limits.concurrency)),
            ahead: limits.concurrency.min(BATCH),
            lease: chrono::Duration::seconds(lease),
            shared: Arc::new(Shared {
                engine,
                per_endpoint: limits.per_endpoint,
                endpoints: Mutex::new(HashMap::new()),
                group: (limits.concurrency / 4).clamp(1, BATCH),
                queue: Mutex::new(Queue::default()),
                settled: Mutex::new(Settled::default()),
                pump: Notify::new(),
                attempts: AtomicUsize::new(0),
                deliverer,
            }),
        }
    }

    /// Holds claimed effects for `lease` instead (it must exceed twice the longest attempt).
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
        &self.shared.deliverer
    }

    /// Delivers until `shutdown` completes, sleeping until the next effect is due or a write
    /// adds one; then gives back the effects it claimed but did not start, waits for the
    /// attempts in flight and records them.
    pub async fn run(&self, shutdown: impl Future<Output = ()>) -> Result<()> {
        self.pump(shutdown, false).await.map(|_| ())
    }

    /// Delivers what is due now (and what becomes due while it runs, such as quick retries)
    /// until nothing is due or in flight; the number of attempts made.
    pub async fn drain(&self) -> Result<usize> {
        self.pump(std::future::pending(), true).await
    }

    async fn pump(&self, shutdown: impl Future<Output = ()>, until_idle: bool) -> Result<usize> {
        let shared = &self.shared;
        let wake = shared.engine.subscribe();
        tokio::pin!(shutdown);
        let attempts_before = shared.attempts.load(Ordering::Relaxed);
        // Results and busy effects taken from the chains, settled by the next turn.
        let mut settled = Settled::default();
        // When the oldest of them arrived.
        let mut results_since: Option<Instant> = None;
        // The next due time as the last turn read it; `None`: not known (a write added
        // effects, or the last claim was full), so a claim is worth a turn.
        let mut next: Option<Option<DateTime<Utc>>> = None;
        // After a failed turn: no turn before this instant.
        let mut paused_until: Option<Instant> = None;
        let mut stopping = false;
        let outcome = loop {
            settled.append(&mut lock(&shared.settled));
            if settled.len() > 0 {
                results_since.get_or_insert_with(Instant::now);
            }
            if stopping {
                // Claimed but not started: back to the outbox at once, for any worker.
                shared.give_back_unstarted();
            }
            self.start_chains();
            let (ready, in_flight) = {
                let queue = lock(&shared.queue);
                (queue.ready.len(), queue.in_flight)
            };
            let now = shared.engine.clock().now();
            if paused_until.is_some_and(|t| t <= Instant::now()) {
                paused_until = None;
            }
            let due = next.is_none_or(|n| n.is_some_and(|t| t <= now));
            if paused_until.is_none() {
                let room = if stopping {
                    0
                } else {
                    (self.global.available_permits() + self.ahead)
                        .saturating_sub(ready)
                        .min(BATCH)
                };
                let want = if due { room } else { 0 };
                // A turn costs a commit: while other attempts run and effects are queued for
                // them, it waits for a group of results or of free places; results wait at
                // most `GROUP_WAIT`.
                let running = in_flight > settled.len();
                let record = settled.len() > 0
                    && (stopping
                        || !running
                        || settled.len() >= shared.group
                        || results_since.is_some_and(|t| t.elapsed() >= GROUP_WAIT));
                let claim = want > 0 && (want >= shared.group || ready == 0);
                if record || claim {
                    let results = &mut settled.results;
                    let batch: Vec<Finished> = results.drain(..results.len().min(BATCH)).collect();
                    let bounced = std::mem::take(&mut settled.bounced);
                    results_since = None;
                    let lease = self.lease;
                    let turn = self
                        .store_op(move |engine| {
                            let turn = claim_turn(engine, &batch, &bounced, want, lease);
                            Ok((turn, batch, bounced))
                        })
                        .await;
                    match turn {
                        Ok((Ok((claimed, read)), batch, bounced)) => {
                            // A turn that read no due time leaves it unknown: it claimed all
                            // it asked for, or it only recorded results, which may retry soon.
                            next = read;
                            let mut queue = lock(&shared.queue);
                            // Out of flight only once committed: see `idle` below.
                            queue.in_flight =
                                queue.in_flight.saturating_sub(batch.len() + bounced.len());
                            queue.ready.extend(claimed);
                        }
                        // Other workers on a shared database kept winning, or the database
                        // cannot be reached: keep the results and try again after the error's
                        // pause (a result whose commit was cut off may be recorded twice).
                        Ok((Err(e), batch, bounced)) => {
                            settled.results.splice(0..0, batch);
                            settled.bounced.extend(bounced);
                            let Some(pause) = e.retry_pause() else {
                                break Err(e);
                            };
                            paused_until = Some(Instant::now() + pause);
                        }
                        Err(e) => break Err(e),
                    }
                    continue;
                }
            }
            let idle = ready == 0 && settled.len() == 0 && in_flight == 0;
            if idle && stopping {
                break Ok(());
            }
            let later =
                |n: Option<DateTime<Utc>>| n.is_none_or(|t| t > now + chrono::Duration::seconds(1));
            if idle && until_idle && paused_until.is_none() && next.is_some_and(later) {
                // The due time may be older than a release or a retry committed since: `drain`
                // ends only on a fresh one.
                match self.store_op(|engine| engine.next_effect_due()).await {
                    Ok(fresh) if later(fresh) => break Ok(()),
                    Ok(fresh) => next = Some(fresh),
                    Err(e) => match e.retry_pause() {
                        Some(pause) => paused_until = Some(Instant::now() + pause),
                        None => break Err(e),
                    },
                }
                continue;
            }
            // Until the pause ends, or the next due time; a claim that is due already waits for
            // a group of free places, which the chains announce.
            let mut wait = match (paused_until, next) {
                (Some(t), _) => t.saturating_duration_since(Instant::now()),
                (None, Some(Some(t))) if !due => (t - now).to_std().unwrap_or(Duration::ZERO),
                _ => Duration::from_secs(3600),
            };
            if paused_until.is_none()
                && let Some(since) = results_since
            {
                wait = wait.min(GROUP_WAIT.saturating_sub(since.elapsed()));
            }
            tokio::select! {
                _ = tokio::time::sleep(wait) => {}
                _ = wake.notify().notified() => next = None,
                _ = shared.pump.notified() => {}
                _ = &mut shutdown, if !stopping => stopping = true,
            }
        };
        if outcome.is_err() {
            // Nothing records results any more: the queued effects go back, and the results
            // and busy effects not yet settled stay for the next run of this dispatcher.
            shared.give_back_unstarted();
            lock(&shared.settled).append(&mut settled);
        }
        outcome.map(|()| shared.attempts.load(Ordering::Relaxed) - attempts_before)
    }

    /// Runs a store operation of the pump ([`with_store`]): the attempts go on while a
    /// database commits.
    async fn store_op<T: Send + 'static>(
        &self,
        op: impl FnOnce(&Engine<S>) -> Result<T> + Send + 'static,
    ) -> Result<T> {
        with_store(&self.shared.engine, op).await.map_err(failed)?
    }

    /// Starts a chain of attempts for each queued effect while slots are free.
    fn start_chains(&self) {
        let queued = lock(&self.shared.queue).ready.len();
        for _ in 0..queued {
            let Ok(slot) = self.global.clone().try_acquire_owned() else {
                return;
            };
            tokio::spawn(self.shared.clone().chain(slot));
        }
    }
}

/// What a turn claimed, and the next due time when it claimed fewer than it asked for (then it
/// read it in the same turn; `None` inside: nothing waits).
type Claimed = (Vec<OutboxRow>, Option<Option<DateTime<Utc>>>);

/// A turn's work: records `batch`, gives the `bounced` effects back for [`BUSY_PAUSE`], claims
/// up to `want` effects, reads the next due time when it got fewer.
fn claim_turn<S: Store + 'static>(
    engine: &Engine<S>,
    batch: &[Finished],
    bounced: &[(u64, u32)],
    want: usize,
    lease: chrono::Duration,
) -> Result<Claimed> {
    let claimed = engine.record_and_claim(batch, bounced, BUSY_PAUSE, want, lease)?;
    let read = if claimed.len() < want {
        Some(engine.next_effect_due()?)
    } else {
        None
    };
    Ok((claimed, read))
}

impl<S: Store + 'static> Shared<S> {
    fn endpoint(&self, key: String) -> Arc<Semaphore> {
        lock(&self.endpoints)
            .entry(key)
            .or_insert_with(|| Arc::new(Semaphore::new(self.per_endpoint)))
            .clone()
    }

    /// Makes attempts, holding one slot, while effects are queued: an effect whose endpoint
    /// is busy is left for the next turn to give back for a moment instead.
    async fn chain(self: Arc<Self>, slot: OwnedSemaphorePermit) {
        let mut hand = InHand {
            shared: self.clone(),
            slot: Some(slot),
            effect: None,
        };
        loop {
            let effect = {
                let mut queue = lock(&self.queue);
                let Some(effect) = queue.ready.pop_front() else {
                    break;
                };
                queue.in_flight += 1;
                if queue.ready.len() < self.group {
                    self.pump.notify_one();
                }
                effect
            };
            let effect = &*hand.effect.insert(effect);
            let Ok(turn) = self
                .endpoint(self.deliverer.limit_key(effect))
                .try_acquire_owned()
            else {
                let bounced = (effect.id, effect.attempts);
                hand.effect = None;
                self.settle(|settled| settled.bounced.push(bounced));
                continue;
            };
            self.attempts.fetch_add(1, Ordering::Relaxed);
            let started_at = self.engine.clock().now();
            let clock = Instant::now();
            let attempt = self.deliverer.attempt(effect).await;
            let latency = clock.elapsed();
            drop(turn);
            let result = decide(
                &self.deliverer,
                effect,
                attempt.verdict,
                self.engine.clock().now(),
            );
            let report = AttemptReport {
                attempt: effect.attempts,
                started_at,
                status: attempt.status,
                latency,
                excerpt: attempt.excerpt,
                result,
            };
            let id = effect.id;
            hand.effect = None;
            self.settle(|settled| settled.results.push((id, report)));
        }
    }

    /// Leaves a result or a busy effect for the next turn; wakes the pump for the first of
    /// them or a group.
    fn settle(&self, add: impl FnOnce(&mut Settled)) {
        let waiting = {
            let mut settled = lock(&self.settled);
            add(&mut settled);
            settled.len()
        };
        if waiting == 1 || waiting >= self.group {
            self.pump.notify_one();
        }
    }

    /// Releases claimed effects (id and claim's attempt) without an attempt, due again at
    /// `at`, in one commit. The caller counted them in flight; they stay counted until the
    /// release is committed, so that `drain` does not stop while they look claimed.
    fn give_back(self: &Arc<Self>, effects: Vec<(u64, u32)>, at: DateTime<Utc>) {
        let shared = self.clone();
        tokio::task::spawn_blocking(move || {
            // A failure leaves the effects claimed: they come back when the lease runs out.
            let _ = shared.engine.release_effects(&effects, at);
            {
                let mut queue = lock(&shared.queue);
                queue.in_flight = queue.in_flight.saturating_sub(effects.len());
            }
            shared.pump.notify_one();
        });
    }

    /// Gives the queued effects back at once, for any worker.
    fn give_back_unstarted(self: &Arc<Self>) {
        let unstarted: Vec<(u64, u32)> = {
            let mut queue = lock(&self.queue);
            queue.in_flight += queue.ready.len();
            queue.ready.drain(..).map(|e| (e.id, e.attempts)).collect()
        };
        if !unstarted.is_empty() {
            self.give_back(unstarted, self.engine.clock().now());
        }
    }
}

/// A chain's slot and the effect it is working on, settled however the chain ends: an effect
/// still in hand when the chain's task panics (a bug in delivery code) or is dropped would
/// otherwise stay counted in flight, and `drain` would never end.
struct InHand<S: Store + 'static> {
    shared: Arc<Shared<S>>,
    slot: Option<OwnedSemaphorePermit>,
    effect: Option<OutboxRow>,
}

impl<S: Store + 'static> Drop for InHand<S> {
    fn drop(&mut self) {
        let shared = &self.shared;
        if let Some(effect) = self.effect.take() {
            // Whether a request went out is unknown: a failed attempt, retried on the
            // schedule with the same key (and given up when the attempts run out, so a
            // connector that always panics does not loop).
            let now = shared.engine.clock().now();
            let error = "the attempt ended without a result (its task panicked or was stopped)";
            let verdict = Verdict::Retry {
                error: error.to_string(),
                after: None,
            };
            let report = AttemptReport {
                attempt: effect.attempts,
                started_at: now,
                status: None,
                latency: Duration::ZERO,
                excerpt: None,
                result: decide(&shared.deliverer, &effect, verdict, now),
            };
            lock(&shared.settled).results.push((effect.id, report));
        }
        // The slot is free before the pump looks for one.
        drop(self.slot.take());
        shared.pump.notify_one();
    }
}

/// Runs `op` on `engine` from an asynchronous task: in place when its store never waits for
/// I/O (the memory store, quicker than a round trip to another thread), else on tokio's
/// blocking pool, so that the task's thread goes on meanwhile (and PostgreSQL's client, which
/// runs a runtime of its own, is not started inside this one). Fails only if `op` panicked.
pub(crate) async fn with_store<S: Store + 'static, T: Send + 'static>(
    engine: &Arc<Engine<S>>,
    op: impl FnOnce(&Engine<S>) -> T + Send + 'static,
) -> std::result::Result<T, tokio::task::JoinError> {
    if engine.store().in_process() {
        return Ok(op(engine));
    }
    let engine = engine.clone();
    tokio::task::spawn_blocking(move || op(&engine)).await
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
    now: DateTime<Utc>,
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
                    // Never past the calendar's end: this also runs while a chain unwinds
                    // (`InHand`), where a second panic would abort.
                    AttemptResult::Retry {
                        at: now
                            .checked_add_signed(pause)
                            .unwrap_or(DateTime::<Utc>::MAX_UTC),
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
