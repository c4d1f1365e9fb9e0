//! The SQLite store: one file, WAL journal, `synchronous=FULL`, ordered migrations at open.
//!
//! Rows are kept as JSON in a `data` column, next to the columns that queries filter and sort
//! on (due times, users, open flags, versions). `synchronous=FULL` because a committed
//! transition carries its effects in the outbox: after a power cut a committed e-mail must not
//! vanish. (With WAL, `NORMAL` survives a process crash but may lose the last commits on power
//! loss; throughput is won back by grouping commits, not by weakening them.)

use std::ops::Range;
use std::path::Path;
use std::sync::Mutex;
use std::time::Duration;

use chrono::{DateTime, Utc};
use procc_plan::{Module, StepIndex};
use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::{Store, Tx};
use crate::model::*;
use crate::{Error, Result};

/// The schema migrations, in order. Applied ones are listed in the `migrations` table; never
/// edit one that shipped, append a new one.
const MIGRATIONS: &[&str] = &[
    r#"
CREATE TABLE sequences (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
CREATE TABLE plans (hash TEXT PRIMARY KEY, seq INTEGER NOT NULL, data TEXT NOT NULL);
CREATE TABLE instances (id INTEGER PRIMARY KEY, running INTEGER NOT NULL,
    version INTEGER NOT NULL, data TEXT NOT NULL);
CREATE INDEX instances_running ON instances (running);
CREATE TABLE steps (instance INTEGER NOT NULL, idx INTEGER NOT NULL, data TEXT NOT NULL,
    PRIMARY KEY (instance, idx));
CREATE TABLE timers (id INTEGER PRIMARY KEY, due_at INTEGER NOT NULL, instance INTEGER NOT NULL,
    step INTEGER NOT NULL, lease_until INTEGER, data TEXT NOT NULL);
CREATE INDEX timers_due ON timers (due_at, id);
CREATE INDEX timers_instance ON timers (instance, step);
CREATE TABLE work_items (id INTEGER PRIMARY KEY, user TEXT NOT NULL, instance INTEGER NOT NULL,
    open INTEGER NOT NULL, data TEXT NOT NULL);
CREATE INDEX work_items_open ON work_items (open, user);
CREATE INDEX work_items_instance ON work_items (instance);
CREATE TABLE records (module TEXT NOT NULL, id TEXT NOT NULL, data TEXT NOT NULL,
    PRIMARY KEY (module, id));
CREATE TABLE artefacts (id INTEGER PRIMARY KEY, instance INTEGER NOT NULL, data TEXT NOT NULL);
CREATE INDEX artefacts_instance ON artefacts (instance);
CREATE TABLE outbox (id INTEGER PRIMARY KEY, key TEXT NOT NULL UNIQUE, pending INTEGER NOT NULL,
    not_before INTEGER, data TEXT NOT NULL);
CREATE INDEX outbox_pending ON outbox (pending, id);
CREATE TABLE audit (id INTEGER PRIMARY KEY, instance INTEGER, data TEXT NOT NULL);
CREATE INDEX audit_instance ON audit (instance, id);
CREATE TABLE keys (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE counters (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
"#,
    r#"
CREATE TABLE attempts (id INTEGER PRIMARY KEY, effect INTEGER NOT NULL, data TEXT NOT NULL);
CREATE INDEX attempts_effect ON attempts (effect, id);
ALTER TABLE outbox ADD COLUMN instance INTEGER;
CREATE INDEX outbox_instance ON outbox (instance, id);
"#,
    r#"
CREATE INDEX outbox_due ON outbox (pending, not_before);
"#,
];

/// Ids one statement reserves for a sequence of [`in_blocks`], handed out one by one
/// afterwards: most transitions draw several of them, and a statement per id was a tenth of a
/// delivery's time. Ids left over when the process ends are never used.
const ID_BLOCK: u64 = 32;

/// Whether ids of `sequence` are reserved in blocks: the sequences of rows nobody refers to by
/// number (history entries, delivery attempts, timers). The others (instances, tasks, work
/// items, effects, projects, plans) are drawn one at a time: their ids stay without gaps
/// across restarts, so that a run that was killed and restarted numbers them as an
/// uninterrupted run does.
fn in_blocks(sequence: Sequence) -> bool {
    matches!(
        sequence,
        Sequence::Audit | Sequence::Attempt | Sequence::Timer
    )
}

/// A store in one SQLite file.
pub struct SqliteStore {
    open: Mutex<Open>,
}

/// The connection and what goes with it, under one lock.
struct Open {
    conn: Connection,
    /// The rest of each committed id block, by sequence.
    /// (Boxed: the store stays small next to the others in `AnyStore`.)
    ids: Box<[Range<u64>; Sequence::COUNT]>,
}

impl SqliteStore {
    /// Opens (or creates) the database file and brings its schema up to date.
    pub fn open(path: impl AsRef<Path>) -> Result<SqliteStore> {
        let mut conn = Connection::open(path)?;
        conn.busy_timeout(Duration::from_secs(10))?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        // Every statement of the store is prepared once and taken from this cache afterwards
        // (the default keeps 16).
        conn.set_prepared_statement_cache_capacity(128);
        migrate(&mut conn)?;
        Ok(SqliteStore {
            open: Mutex::new(Open {
                conn,
                ids: Box::new(std::array::from_fn(|_| 0..0)),
            }),
        })
    }

    /// The schema version of the open file (the number of applied migrations).
    pub fn schema_version(&self) -> Result<u32> {
        let open = self.lock()?;
        Ok(open.conn.query_row(
            "SELECT COALESCE(MAX(version), 0) FROM migrations",
            [],
            |r| r.get(0),
        )?)
    }

    fn lock(&self) -> Result<std::sync::MutexGuard<'_, Open>> {
        self.open
            .lock()
            .map_err(|_| Error::Store("sqlite store poisoned".into()))
    }
}

fn migrate(conn: &mut Connection) -> Result<()> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    tx.execute_batch(
        "CREATE TABLE IF NOT EXISTS migrations (version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)",
    )?;
    let applied: u32 = tx.query_row(
        "SELECT COALESCE(MAX(version), 0) FROM migrations",
        [],
        |r| r.get(0),
    )?;
    if applied as usize > MIGRATIONS.len() {
        return Err(Error::Store(format!(
            "the database has schema version {applied}, newer than the {} this runtime knows",
            MIGRATIONS.len()
        )));
    }
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(applied as usize) {
        tx.execute_batch(sql)?;
        tx.execute(
            "INSERT INTO migrations (version, applied_at) VALUES (?1, ?2)",
            params![i as u32 + 1, Utc::now().to_rfc3339()],
        )?;
    }
    tx.commit()?;
    Ok(())
}

impl Store for SqliteStore {
    fn transaction<T>(&self, f: &mut dyn FnMut(&mut dyn Tx) -> Result<T>) -> Result<T> {
        self.run(TransactionBehavior::Immediate, f)
    }
    fn read_transaction<T>(&self, f: &mut dyn FnMut(&mut dyn Tx) -> Result<T>) -> Result<T> {
        // A reader takes no write lock: in WAL mode it reads a snapshot while another
        // process on the same file writes.
        self.run(TransactionBehavior::Deferred, f)
    }
}

impl SqliteStore {
    fn run<T>(
        &self,
        behavior: TransactionBehavior,
        f: &mut dyn FnMut(&mut dyn Tx) -> Result<T>,
    ) -> Result<T> {
        let mut open = self.lock()?;
        let Open { conn, ids } = &mut *open;
        let tx = conn.transaction_with_behavior(behavior)?;
        let mut stx = SqlTx {
            tx: &tx,
            ids,
            reserved: Vec::new(),
            savepoints: Vec::new(),
        };
        let result = f(&mut stx);
        let reserved = std::mem::take(&mut stx.reserved);
        match result {
            Ok(value) => {
                tx.commit()?;
                // Only a committed reservation is the store's to hand out.
                for (sequence, block) in reserved {
                    ids[sequence as usize] = block;
                }
                Ok(value)
            }
            Err(e) => {
                tx.rollback()?;
                Err(e)
            }
        }
    }
}

struct SqlTx<'a> {
    tx: &'a rusqlite::Transaction<'a>,
    /// The store's committed id blocks.
    ids: &'a mut [Range<u64>; Sequence::COUNT],
    /// Id blocks reserved in this transaction, in order: the store keeps them on commit, and
    /// a rollback (to a savepoint, or of the whole) forgets those it undid, whose ids the
    /// sequence would hand out again.
    reserved: Vec<(Sequence, Range<u64>)>,
    /// How many blocks were reserved when each open savepoint was taken.
    savepoints: Vec<usize>,
}

fn json<T: Serialize>(row: &T) -> Result<String> {
    Ok(serde_json::to_string(row)?)
}

fn ms(t: DateTime<Utc>) -> i64 {
    t.timestamp_millis()
}

fn module_name(m: Module) -> &'static str {
    match m {
        Module::Address => "address",
        Module::Property => "property",
        Module::Project => "project",
    }
}

impl SqlTx<'_> {
    /// Runs a statement from the connection's statement cache; the number of changed rows.
    fn exec(&self, sql: &str, args: impl rusqlite::Params) -> Result<usize> {
        Ok(self.tx.prepare_cached(sql)?.execute(args)?)
    }
    /// The first column of the first row, if any, from a cached statement.
    fn value<T: rusqlite::types::FromSql>(
        &self,
        sql: &str,
        args: impl rusqlite::Params,
    ) -> Result<Option<T>> {
        Ok(self
            .tx
            .prepare_cached(sql)?
            .query_row(args, |r| r.get(0))
            .optional()?)
    }
    fn one<T: DeserializeOwned>(
        &self,
        sql: &str,
        args: impl rusqlite::Params,
    ) -> Result<Option<T>> {
        let text: Option<String> = self.value(sql, args)?;
        match text {
            Some(t) => Ok(Some(serde_json::from_str(&t)?)),
            None => Ok(None),
        }
    }
    fn many<T: DeserializeOwned>(&self, sql: &str, args: impl rusqlite::Params) -> Result<Vec<T>> {
        let mut stmt = self.tx.prepare_cached(sql)?;
        let rows = stmt.query_map(args, |r| r.get::<_, String>(0))?;
        let mut out = Vec::new();
        for row in rows {
            out.push(serde_json::from_str(&row?)?);
        }
        Ok(out)
    }
    /// Inserts or replaces a timer (a new one, or one just leased).
    fn write_timer(&self, row: &TimerRow) -> Result<()> {
        self.exec(
            "INSERT OR REPLACE INTO timers (id, due_at, instance, step, lease_until, data)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![
                row.id as i64,
                ms(row.due_at),
                row.instance as i64,
                row.step,
                row.lease_until.map(ms),
                json(row)?
            ],
        )?;
        Ok(())
    }
}

impl Tx for SqlTx<'_> {
    fn savepoint(&mut self) -> Result<()> {
        // Savepoints of one name nest: `RELEASE` and `ROLLBACK TO` act on the latest.
        self.exec("SAVEPOINT op", [])?;
        self.savepoints.push(self.reserved.len());
        Ok(())
    }
    fn release_savepoint(&mut self) -> Result<()> {
        self.exec("RELEASE op", [])?;
        self.savepoints.pop();
        Ok(())
    }
    fn rollback_to_savepoint(&mut self) -> Result<()> {
        self.exec("ROLLBACK TO op", [])?;
        // The undone reservations are forgotten as soon as the sequence is back.
        if let Some(mark) = self.savepoints.pop() {
            self.reserved.truncate(mark);
        }
        self.exec("RELEASE op", [])?;
        Ok(())
    }

    fn next_id(&mut self, sequence: Sequence) -> Result<u64> {
        let blocks = in_blocks(sequence);
        if blocks {
            // The latest reservation of this transaction first, then the store's block.
            let block = match self.reserved.iter_mut().rev().find(|(s, _)| *s == sequence) {
                Some((_, block)) => block,
                None => &mut self.ids[sequence as usize],
            };
            if let Some(id) = block.next() {
                return Ok(id);
            }
        }
        let count = if blocks { ID_BLOCK } else { 1 };
        let last: Option<i64> = self.value(
            "INSERT INTO sequences (name, value) VALUES (?1, ?2)
             ON CONFLICT (name) DO UPDATE SET value = value + ?2 RETURNING value",
            params![sequence.name(), count as i64],
        )?;
        let last = last.map(|n| n as u64).ok_or_else(|| {
            Error::Store(format!("sequence `{}` returned no value", sequence.name()))
        })?;
        let first = last + 1 - count;
        if blocks {
            self.reserved.push((sequence, first + 1..last + 1));
        }
        Ok(first)
    }

    fn put_plan(&mut self, row: &PlanRow) -> Result<()> {
        self.exec(
            "INSERT OR REPLACE INTO plans (hash, seq, data) VALUES (?1, ?2, ?3)",
            params![row.hash, row.seq as i64, json(row)?],
        )?;
        Ok(())
    }
    fn plan(&mut self, hash: &str) -> Result<Option<PlanRow>> {
        self.one("SELECT data FROM plans WHERE hash = ?1", params![hash])
    }
    fn current_plan_hash(&mut self) -> Result<Option<String>> {
        self.value("SELECT hash FROM plans ORDER BY seq DESC LIMIT 1", [])
    }
    fn plans(&mut self) -> Result<Vec<PlanRow>> {
        self.many("SELECT data FROM plans ORDER BY seq", [])
    }

    fn insert_instance(&mut self, row: InstanceRow) -> Result<()> {
        self.exec(
            "INSERT INTO instances (id, running, version, data) VALUES (?1, ?2, ?3, ?4)",
            params![
                row.id as i64,
                row.status.is_running(),
                row.version as i64,
                json(&row)?
            ],
        )?;
        Ok(())
    }
    fn instance(&mut self, id: InstanceId) -> Result<Option<InstanceRow>> {
        self.one(
            "SELECT data FROM instances WHERE id = ?1",
            params![id as i64],
        )
    }
    fn update_instance(&mut self, mut row: InstanceRow) -> Result<()> {
        let old = row.version;
        row.version += 1;
        let changed = self.exec(
            "UPDATE instances SET running = ?2, version = ?3, data = ?4 WHERE id = ?1 AND version = ?5",
            params![
                row.id as i64,
                row.status.is_running(),
                row.version as i64,
                json(&row)?,
                old as i64
            ],
        )?;
        if changed == 0 {
            let exists: Option<i64> = self.value(
                "SELECT id FROM instances WHERE id = ?1",
                params![row.id as i64],
            )?;
            return Err(match exists {
                Some(_) => Error::Conflict,
                None => Error::UnknownInstance(row.id),
            });
        }
        Ok(())
    }
    fn running_instances(&mut self) -> Result<Vec<InstanceRow>> {
        self.many(
            "SELECT data FROM instances WHERE running = 1 ORDER BY id",
            [],
        )
    }
    fn instances(&mut self, query: &InstanceQuery) -> Result<Vec<InstanceRow>> {
        // The indexed conditions narrow the rows in SQL; `matches` decides on the rest.
        let mut stmt = self.tx.prepare_cached(
            "SELECT data FROM instances WHERE id > ?1 AND (?2 = 0 OR running = 1)
             AND (?3 IS NULL OR json_extract(data, '$.template') = ?3)
             AND (?4 IS NULL OR json_extract(data, '$.owner') = ?4) ORDER BY id",
        )?;
        let after = query.after.map_or(0, |a| a as i64);
        let rows = stmt.query_map(
            params![after, query.running, query.template, query.owner],
            |r| r.get::<_, String>(0),
        )?;
        let limit = if query.limit == 0 {
            usize::MAX
        } else {
            query.limit
        };
        let mut out = Vec::new();
        for row in rows {
            let row: InstanceRow = serde_json::from_str(&row?)?;
            if query.matches(&row) {
                out.push(row);
                if out.len() >= limit {
                    break;
                }
            }
        }
        Ok(out)
    }

    fn put_step(&mut self, row: StepRow) -> Result<()> {
        self.exec(
            "INSERT OR REPLACE INTO steps (instance, idx, data) VALUES (?1, ?2, ?3)",
            params![row.instance as i64, row.index, json(&row)?],
        )?;
        Ok(())
    }
    fn steps(&mut self, instance: InstanceId) -> Result<Vec<StepRow>> {
        self.many(
            "SELECT data FROM steps WHERE instance = ?1 ORDER BY idx",
            params![instance as i64],
        )
    }

    fn step(&mut self, instance: InstanceId, index: StepIndex) -> Result<Option<StepRow>> {
        self.one(
            "SELECT data FROM steps WHERE instance = ?1 AND idx = ?2",
            params![instance as i64, index],
        )
    }

    fn insert_timer(&mut self, row: TimerRow) -> Result<()> {
        self.write_timer(&row)
    }
    fn delete_timer(&mut self, id: u64) -> Result<()> {
        self.exec("DELETE FROM timers WHERE id = ?1", params![id as i64])?;
        Ok(())
    }
    fn delete_timers_of(&mut self, instance: InstanceId, step: Option<StepIndex>) -> Result<()> {
        match step {
            Some(s) => self.exec(
                "DELETE FROM timers WHERE instance = ?1 AND step = ?2",
                params![instance as i64, s],
            )?,
            None => self.exec(
                "DELETE FROM timers WHERE instance = ?1",
                params![instance as i64],
            )?,
        };
        Ok(())
    }
    fn claim_due(
        &mut self,
        now: DateTime<Utc>,
        worker: &str,
        lease_until: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<TimerRow>> {
        let mut due: Vec<TimerRow> = self.many(
            "SELECT data FROM timers WHERE due_at <= ?1 AND (lease_until IS NULL OR lease_until <= ?1)
             ORDER BY due_at, id LIMIT ?2",
            params![ms(now), limit as i64],
        )?;
        for t in &mut due {
            t.lease_owner = Some(worker.to_string());
            t.lease_until = Some(lease_until);
            self.write_timer(t)?;
        }
        Ok(due)
    }
    fn next_due(&mut self) -> Result<Option<DateTime<Utc>>> {
        // A leased timer is due again when its lease runs out. Leased timers were due when
        // they were claimed, so they come first in due order: walk the index until the due
        // time passes the earliest time found (usually after one row).
        let mut stmt = self
            .tx
            .prepare_cached("SELECT due_at, lease_until FROM timers ORDER BY due_at, id")?;
        let mut rows = stmt.query([])?;
        let mut best: Option<i64> = None;
        while let Some(row) = rows.next()? {
            let due: i64 = row.get(0)?;
            if best.is_some_and(|b| due >= b) {
                break;
            }
            let lease: Option<i64> = row.get(1)?;
            let at = lease.map_or(due, |l| l.max(due));
            best = Some(best.map_or(at, |b| b.min(at)));
        }
        Ok(best.and_then(DateTime::<Utc>::from_timestamp_millis))
    }
    fn timers_of(&mut self, instance: InstanceId) -> Result<Vec<TimerRow>> {
        self.many(
            "SELECT data FROM timers WHERE instance = ?1 ORDER BY due_at, id",
            params![instance as i64],
        )
    }

    fn put_work_item(&mut self, row: WorkItemRow) -> Result<()> {
        self.exec(
            "INSERT OR REPLACE INTO work_items (id, user, instance, open, data) VALUES (?1, ?2, ?3, ?4, ?5)",
            params![
                row.id as i64,
                row.user,
                row.instance as i64,
                row.done_at.is_none(),
                json(&row)?
            ],
        )?;
        Ok(())
    }
    fn open_work_items(&mut self, user: Option<&str>) -> Result<Vec<WorkItemRow>> {
        match user {
            Some(u) => self.many(
                "SELECT data FROM work_items WHERE open = 1 AND user = ?1 ORDER BY id",
                params![u],
            ),
            None => self.many("SELECT data FROM work_items WHERE open = 1 ORDER BY id", []),
        }
    }
    fn work_items_of(&mut self, instance: InstanceId) -> Result<Vec<WorkItemRow>> {
        self.many(
            "SELECT data FROM work_items WHERE instance = ?1 ORDER BY id",
            params![instance as i64],
        )
    }

    fn put_record(&mut self, row: &RecordRow) -> Result<()> {
        self.exec(
            "INSERT OR REPLACE INTO records (module, id, data) VALUES (?1, ?2, ?3)",
            params![module_name(row.module), row.id, json(row)?],
        )?;
        Ok(())
    }
    fn record(&mut self, module: Module, id: &str) -> Result<Option<RecordRow>> {
        self.one(
            "SELECT data FROM records WHERE module = ?1 AND id = ?2",
            params![module_name(module), id],
        )
    }
    fn records(&mut self, module: Module) -> Result<Vec<RecordRow>> {
        self.many(
            "SELECT data FROM records WHERE module = ?1 ORDER BY id",
            params![module_name(module)],
        )
    }

    fn put_artefact(&mut self, row: ArtefactRow) -> Result<()> {
        self.exec(
            "INSERT OR REPLACE INTO artefacts (id, instance, data) VALUES (?1, ?2, ?3)",
            params![row.id as i64, row.instance as i64, json(&row)?],
        )?;
        Ok(())
    }
    fn artefact(&mut self, id: u64) -> Result<Option<ArtefactRow>> {
        self.one(
            "SELECT data FROM artefacts WHERE id = ?1",
            params![id as i64],
        )
    }
    fn mark_artefact_done(&mut self, id: u64) -> Result<()> {
        // In the row's JSON, without reading it into a row and writing it back.
        self.exec(
            "UPDATE artefacts SET data = json_set(data, '$.done', json('true')) WHERE id = ?1",
            params![id as i64],
        )?;
        Ok(())
    }
    fn artefacts_of(&mut self, instance: InstanceId) -> Result<Vec<ArtefactRow>> {
        self.many(
            "SELECT data FROM artefacts WHERE instance = ?1 ORDER BY id",
            params![instance as i64],
        )
    }

    fn insert_outbox(&mut self, row: OutboxRow) -> Result<bool> {
        let n = self.exec(
            "INSERT OR IGNORE INTO outbox (id, key, pending, not_before, instance, data)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![
                row.id as i64,
                row.idempotency_key,
                row.is_pending(),
                row.not_before.map(ms),
                row.instance.map(|i| i as i64),
                json(&row)?
            ],
        )?;
        Ok(n == 1)
    }
    fn update_outbox(&mut self, row: OutboxRow) -> Result<()> {
        self.exec(
            "UPDATE outbox SET pending = ?2, not_before = ?3, data = ?4 WHERE id = ?1",
            params![
                row.id as i64,
                row.is_pending(),
                row.not_before.map(ms),
                json(&row)?
            ],
        )?;
        Ok(())
    }
    fn pending_outbox(&mut self, now: DateTime<Utc>, limit: usize) -> Result<Vec<OutboxRow>> {
        self.many(
            "SELECT data FROM outbox WHERE pending = 1 AND (not_before IS NULL OR not_before <= ?1)
             ORDER BY id LIMIT ?2",
            params![ms(now), limit as i64],
        )
    }
    fn outbox(&mut self) -> Result<Vec<OutboxRow>> {
        self.many("SELECT data FROM outbox ORDER BY id", [])
    }
    fn outbox_row(&mut self, id: u64) -> Result<Option<OutboxRow>> {
        self.one("SELECT data FROM outbox WHERE id = ?1", params![id as i64])
    }
    fn outbox_of(&mut self, instance: InstanceId) -> Result<Vec<OutboxRow>> {
        self.many(
            "SELECT data FROM outbox WHERE instance = ?1 ORDER BY id",
            params![instance as i64],
        )
    }
    fn insert_attempt(&mut self, row: AttemptRow) -> Result<()> {
        self.exec(
            "INSERT INTO attempts (id, effect, data) VALUES (?1, ?2, ?3)",
            params![row.id as i64, row.effect as i64, json(&row)?],
        )?;
        Ok(())
    }
    fn attempts(&mut self, effect: u64) -> Result<Vec<AttemptRow>> {
        self.many(
            "SELECT data FROM attempts WHERE effect = ?1 ORDER BY id",
            params![effect as i64],
        )
    }
    fn next_outbox_due(&mut self, now: DateTime<Utc>) -> Result<Option<DateTime<Utc>>> {
        // The `outbox_due` index (pending, not_before) answers this without a scan.
        let at: Option<Option<i64>> = self.value(
            "SELECT MIN(not_before) FROM outbox WHERE pending = 1 AND not_before > ?1",
            params![ms(now)],
        )?;
        Ok(at
            .flatten()
            .and_then(DateTime::<Utc>::from_timestamp_millis))
    }

    fn insert_audit(&mut self, row: AuditRow) -> Result<()> {
        self.exec(
            "INSERT INTO audit (id, instance, data) VALUES (?1, ?2, ?3)",
            params![row.id as i64, row.instance.map(|i| i as i64), json(&row)?],
        )?;
        Ok(())
    }
    fn audit(&mut self, instance: Option<InstanceId>) -> Result<Vec<AuditRow>> {
        match instance {
            Some(i) => self.many(
                "SELECT data FROM audit WHERE instance = ?1 ORDER BY id",
                params![i as i64],
            ),
            None => self.many("SELECT data FROM audit ORDER BY id", []),
        }
    }

    fn key(&mut self, key: &str) -> Result<Option<String>> {
        self.value("SELECT value FROM keys WHERE key = ?1", params![key])
    }
    fn put_key(&mut self, key: &str, value: &str) -> Result<()> {
        self.exec(
            "INSERT OR REPLACE INTO keys (key, value) VALUES (?1, ?2)",
            params![key, value],
        )?;
        Ok(())
    }
    fn keys_with_prefix(&mut self, prefix: &str) -> Result<Vec<(String, String)>> {
        let mut statement = self.tx.prepare_cached(
            "SELECT key, value FROM keys WHERE substr(key, 1, length(?1)) = ?1 ORDER BY key",
        )?;
        let rows = statement.query_map(params![prefix], |r| Ok((r.get(0)?, r.get(1)?)))?;
        Ok(rows.collect::<std::result::Result<Vec<_>, _>>()?)
    }
    fn bump_counter(&mut self, key: &str) -> Result<u64> {
        let n: Option<i64> = self.value(
            "INSERT INTO counters (key, value) VALUES (?1, 1)
             ON CONFLICT (key) DO UPDATE SET value = value + 1 RETURNING value",
            params![key],
        )?;
        n.map(|n| n as u64)
            .ok_or_else(|| Error::Store(format!("counter `{key}` returned no value")))
    }
}
