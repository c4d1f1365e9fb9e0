//! Storage behind a transaction trait, so the engine runs unchanged on SQLite, in memory, and
//! on PostgreSQL with several workers.
//!
//! Concurrency contract:
//! - everything one engine operation changes happens inside one [`Store::transaction`]: it
//!   commits whole or not at all;
//! - [`Tx::update_instance`] checks the row's `version` against the stored one and fails with
//!   [`Error::Conflict`](crate::Error::Conflict) on a stale write (the engine retries the whole
//!   operation);
//! - due timers are claimed with a lease ([`Tx::claim_due`]): a timer claimed by a worker is
//!   not handed to another until the lease runs out, so a crashed worker's timers come back;
//! - [`Store::group`] puts many operations in one transaction (one commit, one fsync), each
//!   under a savepoint ([`Tx::savepoint`]) so that one failing operation does not undo the
//!   others.

mod memory;
mod postgres;
mod sqlite;

pub use memory::MemoryStore;
pub use postgres::{Listener, PostgresStore};
pub use sqlite::SqliteStore;

use chrono::{DateTime, Utc};
use procc_plan::{Module, StepIndex};

use crate::Result;
use crate::model::*;

/// A store of runtime state.
pub trait Store: Send + Sync {
    /// Runs `f` in one transaction: commits when it returns `Ok`, rolls back on `Err`.
    fn transaction<T>(&self, f: &mut dyn FnMut(&mut dyn Tx) -> Result<T>) -> Result<T>;
    /// Runs `f`, which only reads, in one transaction that sees one consistent state. A store
    /// shared by workers can run it without taking part in conflict detection.
    fn read_transaction<T>(&self, f: &mut dyn FnMut(&mut dyn Tx) -> Result<T>) -> Result<T> {
        self.transaction(f)
    }

    /// Whether a transaction never waits for a disk or a network (the memory store): an
    /// asynchronous caller may then run it in place rather than on a thread of its own.
    fn in_process(&self) -> bool {
        false
    }

    /// Runs `count` operations in one transaction (one commit), each under its own savepoint:
    /// an operation that fails is undone alone and the others stay. Returns each operation's
    /// result in order; fails as a whole only when the transaction itself fails.
    fn group<T>(
        &self,
        count: usize,
        op: &mut dyn FnMut(usize, &mut dyn Tx) -> Result<T>,
    ) -> Result<Vec<Result<T>>> {
        self.transaction(&mut |tx| {
            let mut results = Vec::with_capacity(count);
            for i in 0..count {
                results.push(isolated(tx, &mut |tx| op(i, tx))?);
            }
            Ok(results)
        })
    }
}

/// What [`Tx::mark_outbox_delivered`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Delivery {
    /// There is no such effect.
    Unknown,
    /// The effect was delivered or given up already; nothing changed.
    NotPending,
    /// The effect is delivered now; the step visit that waits for it, if any.
    Marked(Option<EffectOrigin>),
}

/// A store chosen when the program starts: a SQLite file or a PostgreSQL database.
pub enum AnyStore {
    /// One SQLite file, one worker.
    Sqlite(SqliteStore),
    /// A PostgreSQL database shared by any number of workers (boxed: its connection
    /// settings make it several times larger than the SQLite store).
    Postgres(Box<PostgresStore>),
}

impl AnyStore {
    /// For PostgreSQL, wakes this worker (`wake`) when other workers commit timers or effects
    /// (see [`PostgresStore::listen`]); `None` for SQLite, which has no other workers to hear.
    pub fn listen(&self, wake: impl Fn() + Send + 'static) -> Result<Option<Listener>> {
        match self {
            AnyStore::Sqlite(_) => Ok(None),
            AnyStore::Postgres(store) => store.listen(wake).map(Some),
        }
    }
}

impl Store for AnyStore {
    fn transaction<T>(&self, f: &mut dyn FnMut(&mut dyn Tx) -> Result<T>) -> Result<T> {
        match self {
            AnyStore::Sqlite(store) => store.transaction(f),
            AnyStore::Postgres(store) => store.transaction(f),
        }
    }
    fn read_transaction<T>(&self, f: &mut dyn FnMut(&mut dyn Tx) -> Result<T>) -> Result<T> {
        match self {
            AnyStore::Sqlite(store) => store.read_transaction(f),
            AnyStore::Postgres(store) => store.read_transaction(f),
        }
    }
}

/// Runs `f` under a savepoint of `tx`: when it fails, what it did is undone and the
/// transaction goes on. The outer `Result` is the store's own failure (the transaction is
/// lost); the inner one is `f`'s.
pub(crate) fn isolated<T>(
    tx: &mut dyn Tx,
    f: &mut dyn FnMut(&mut dyn Tx) -> Result<T>,
) -> Result<Result<T>> {
    tx.savepoint()?;
    let result = f(tx);
    match &result {
        Ok(_) => tx.release_savepoint()?,
        Err(_) => tx.rollback_to_savepoint()?,
    }
    Ok(result)
}

/// The operations inside a transaction.
pub trait Tx {
    /// Marks a point this transaction can go back to without giving up the rest; savepoints
    /// nest.
    fn savepoint(&mut self) -> Result<()>;
    /// Forgets the last savepoint, keeping what was done since.
    fn release_savepoint(&mut self) -> Result<()>;
    /// Undoes everything since the last savepoint and forgets it.
    fn rollback_to_savepoint(&mut self) -> Result<()>;
    /// Tells other workers sharing the store, once this transaction commits, that it added
    /// timers or effects that may be due before what they wait for. A store without other
    /// workers has nobody to tell.
    fn wake_other_workers(&mut self) {}

    /// The next number of a named sequence (1, 2, 3, ...).
    fn next_id(&mut self, sequence: Sequence) -> Result<u64>;

    /// Stores a deployed plan (replacing the row of the same hash: deploying again makes it
    /// current again).
    fn put_plan(&mut self, row: &PlanRow) -> Result<()>;
    /// The plan with this hash.
    fn plan(&mut self, hash: &str) -> Result<Option<PlanRow>>;
    /// The hash of the plan deployed last (without reading the plan).
    fn current_plan_hash(&mut self) -> Result<Option<String>>;
    /// Whether the plan with this hash is the one deployed last.
    fn is_current_plan(&mut self, hash: &str) -> Result<bool> {
        Ok(self.current_plan_hash()?.as_deref() == Some(hash))
    }
    /// Every deployed plan, in order of deployment.
    fn plans(&mut self) -> Result<Vec<PlanRow>>;

    /// Inserts a new instance.
    fn insert_instance(&mut self, row: InstanceRow) -> Result<()>;
    /// The instance with this id.
    fn instance(&mut self, id: InstanceId) -> Result<Option<InstanceRow>>;
    /// Writes an instance if its stored version is `row.version`; the stored row's version is
    /// one higher. (By value: the engine saves an instance last, and a store that keeps rows
    /// takes it without a copy.)
    fn update_instance(&mut self, row: InstanceRow) -> Result<()>;
    /// All instances still running.
    fn running_instances(&mut self) -> Result<Vec<InstanceRow>>;
    /// The instances a query asks for, by id.
    fn instances(&mut self, query: &InstanceQuery) -> Result<Vec<InstanceRow>>;

    /// Inserts or replaces the step row (`instance`, `index`).
    fn put_step(&mut self, row: StepRow) -> Result<()>;
    /// The step rows of an instance, by index.
    fn steps(&mut self, instance: InstanceId) -> Result<Vec<StepRow>>;
    /// One step row of an instance (without reading the others).
    fn step(&mut self, instance: InstanceId, index: StepIndex) -> Result<Option<StepRow>>;
    /// Whether a step of the instance waits for a person: active, and not an automatic step
    /// waiting for its delivery. A store that can answer without copying the rows overrides
    /// this.
    fn has_active_step(&mut self, instance: InstanceId) -> Result<bool> {
        Ok(self.steps(instance)?.iter().any(StepRow::waits_for_person))
    }

    /// Inserts a timer.
    fn insert_timer(&mut self, row: TimerRow) -> Result<()>;
    /// Deletes a timer (done).
    fn delete_timer(&mut self, id: u64) -> Result<()>;
    /// Deletes the timers of an instance, or of one of its steps.
    fn delete_timers_of(&mut self, instance: InstanceId, step: Option<StepIndex>) -> Result<()>;
    /// Claims up to `limit` timers due at `now` that nobody holds (or whose lease ran out:
    /// `lease_until <= now`), in
    /// order of due time then id, leasing them to `worker` until `lease_until`.
    fn claim_due(
        &mut self,
        now: DateTime<Utc>,
        worker: &str,
        lease_until: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<TimerRow>>;
    /// The earliest time a timer can be claimed: its due time, or for a leased timer the end
    /// of its lease (otherwise a scheduler would wake again and again for a timer it cannot
    /// claim).
    fn next_due(&mut self) -> Result<Option<DateTime<Utc>>>;
    /// The timers of an instance.
    fn timers_of(&mut self, instance: InstanceId) -> Result<Vec<TimerRow>>;

    /// Inserts or replaces a work item.
    fn put_work_item(&mut self, row: WorkItemRow) -> Result<()>;
    /// Open work items, of one user or of everybody, by id.
    fn open_work_items(&mut self, user: Option<&str>) -> Result<Vec<WorkItemRow>>;
    /// All work items of an instance, by id.
    fn work_items_of(&mut self, instance: InstanceId) -> Result<Vec<WorkItemRow>>;
    /// Marks the open work items of one step of an instance done `at`. A store that can
    /// change the rows in place overrides this (every finished step calls it, and most steps
    /// have no open work item).
    fn close_work_items(
        &mut self,
        instance: InstanceId,
        step: StepIndex,
        at: DateTime<Utc>,
    ) -> Result<()> {
        for mut item in self.work_items_of(instance)? {
            if item.step == step && item.done_at.is_none() {
                item.done_at = Some(at);
                self.put_work_item(item)?;
            }
        }
        Ok(())
    }

    /// Inserts or replaces a record.
    fn put_record(&mut self, row: &RecordRow) -> Result<()>;
    /// A record.
    fn record(&mut self, module: Module, id: &str) -> Result<Option<RecordRow>>;
    /// The records of a module, by id.
    fn records(&mut self, module: Module) -> Result<Vec<RecordRow>>;
    /// Whether a record exists. A store that can answer without copying the row overrides
    /// this.
    fn has_record(&mut self, module: Module, id: &str) -> Result<bool> {
        Ok(self.record(module, id)?.is_some())
    }
    /// Calls `f` once with the records `keys` name (`None` where a key has no id or the record
    /// does not exist). A store that keeps rows in memory overrides this to lend its rows
    /// instead of copying them: expressions read a few fields of whole records.
    fn with_records(
        &mut self,
        keys: [(Module, Option<&str>); 3],
        f: &mut dyn FnMut([Option<&RecordRow>; 3]),
    ) -> Result<()> {
        let mut rows = [None, None, None];
        for (row, (module, id)) in rows.iter_mut().zip(keys) {
            if let Some(id) = id {
                *row = self.record(module, id)?;
            }
        }
        f([rows[0].as_ref(), rows[1].as_ref(), rows[2].as_ref()]);
        Ok(())
    }

    /// Inserts or replaces an artefact.
    fn put_artefact(&mut self, row: ArtefactRow) -> Result<()>;
    /// An artefact.
    fn artefact(&mut self, id: u64) -> Result<Option<ArtefactRow>>;
    /// Calls `f` once with an artefact (`None` when there is none). A store that keeps rows in
    /// memory overrides this to lend its row: completing a task reads only a few fields.
    fn with_artefact(&mut self, id: u64, f: &mut dyn FnMut(Option<&ArtefactRow>)) -> Result<()> {
        let row = self.artefact(id)?;
        f(row.as_ref());
        Ok(())
    }
    /// Marks an artefact done (a task completed). A store that can change its rows in place
    /// overrides this.
    fn mark_artefact_done(&mut self, id: u64) -> Result<()> {
        if let Some(mut row) = self.artefact(id)? {
            row.done = true;
            self.put_artefact(row)?;
        }
        Ok(())
    }
    /// The artefacts of an instance, by id.
    fn artefacts_of(&mut self, instance: InstanceId) -> Result<Vec<ArtefactRow>>;

    /// Adds an effect unless one with the same idempotency key exists; whether it was added.
    /// (By value: a new row moves into a store that keeps rows, without a copy.)
    fn insert_outbox(&mut self, row: OutboxRow) -> Result<bool>;
    /// Updates an outbox row (delivery state).
    fn update_outbox(&mut self, row: OutboxRow) -> Result<()>;
    /// Undelivered effects whose time has come, by id.
    fn pending_outbox(&mut self, now: DateTime<Utc>, limit: usize) -> Result<Vec<OutboxRow>>;
    /// Leases up to `limit` undelivered effects whose time has come, by id: each one's attempt
    /// count goes up by one and it is not handed out again before `lease_until`. Returns the
    /// leased rows. A store that can change its rows in place overrides this (every effect is
    /// leased at least once).
    fn lease_outbox(
        &mut self,
        now: DateTime<Utc>,
        limit: usize,
        lease_until: DateTime<Utc>,
    ) -> Result<Vec<OutboxRow>> {
        let mut leased = self.pending_outbox(now, limit)?;
        for effect in &mut leased {
            effect.attempts += 1;
            effect.not_before = Some(lease_until);
            self.update_outbox(effect.clone())?;
        }
        Ok(leased)
    }
    /// The whole outbox, by id.
    fn outbox(&mut self) -> Result<Vec<OutboxRow>>;
    /// One outbox row.
    fn outbox_row(&mut self, id: u64) -> Result<Option<OutboxRow>>;
    /// Marks an effect delivered `at` (no error any more) if it is still pending. A store
    /// that can change its rows in place overrides this (every effect is delivered once).
    fn mark_outbox_delivered(&mut self, id: u64, at: DateTime<Utc>) -> Result<Delivery> {
        let Some(mut row) = self.outbox_row(id)? else {
            return Ok(Delivery::Unknown);
        };
        if !row.is_pending() {
            return Ok(Delivery::NotPending);
        }
        row.delivered_at = Some(at);
        row.last_error = None;
        let origin = row.origin;
        self.update_outbox(row)?;
        Ok(Delivery::Marked(origin))
    }
    /// The effects of an instance, by id.
    fn outbox_of(&mut self, instance: InstanceId) -> Result<Vec<OutboxRow>>;
    /// Logs a delivery attempt.
    fn insert_attempt(&mut self, row: AttemptRow) -> Result<()>;
    /// The delivery attempts of an effect, in order.
    fn attempts(&mut self, effect: u64) -> Result<Vec<AttemptRow>>;
    /// The earliest future `not_before` of an undelivered effect (when to wake the dispatcher).
    fn next_outbox_due(&mut self, now: DateTime<Utc>) -> Result<Option<DateTime<Utc>>>;

    /// Appends to the audit history.
    fn insert_audit(&mut self, row: AuditRow) -> Result<()>;
    /// The audit history of an instance (or all of it), in order.
    fn audit(&mut self, instance: Option<InstanceId>) -> Result<Vec<AuditRow>>;

    /// The value of an idempotency key.
    fn key(&mut self, key: &str) -> Result<Option<String>>;
    /// Sets an idempotency key.
    fn put_key(&mut self, key: &str, value: &str) -> Result<()>;
    /// The keys that start with `prefix`, with their values, ordered by key.
    fn keys_with_prefix(&mut self, prefix: &str) -> Result<Vec<(String, String)>>;
    /// Adds one to a named counter and returns the new value.
    fn bump_counter(&mut self, key: &str) -> Result<u64>;
}
