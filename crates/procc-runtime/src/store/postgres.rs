//! The PostgreSQL store: for several workers (processes, machines) sharing one database.
//!
//! Every transaction runs at `SERIALIZABLE` isolation: whatever the engine reads and decides in
//! one operation (an idempotency key not yet set, a step still active, a counter's value) holds
//! at commit, or PostgreSQL aborts one of the competing transactions with a serialization
//! failure, which this store reports as [`Error::Conflict`] so that the engine runs the whole
//! operation again. Due timers are claimed with `FOR UPDATE SKIP LOCKED` and a lease, so
//! workers share them instead of queueing on each other's locks. Ids come from native
//! sequences, which never block concurrent transactions (an operation that is retried leaves
//! a gap in the numbers).
//!
//! Rows are kept as JSON text in a `data` column next to the columns that queries filter and
//! sort on, as in the SQLite store. A commit that adds a timer or an effect sends
//! `NOTIFY procc_wake`; [`PostgresStore::listen`] wakes the other workers' schedulers with it.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use postgres::error::SqlState;
use postgres::fallible_iterator::FallibleIterator;
use postgres::types::ToSql;
use postgres::{Client, Config, IsolationLevel, NoTls, Statement};
use procc_plan::{Module, StepIndex};
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::{Store, Tx};
use crate::model::*;
use crate::{Error, Result};

/// The schema migrations, in order. Applied ones are listed in the `migrations` table; never
/// edit one that shipped, append a new one.
const MIGRATIONS: &[&str] = &[r#"
CREATE SEQUENCE seq_instance; CREATE SEQUENCE seq_timer; CREATE SEQUENCE seq_work_item;
CREATE SEQUENCE seq_artefact; CREATE SEQUENCE seq_project; CREATE SEQUENCE seq_outbox;
CREATE SEQUENCE seq_attempt; CREATE SEQUENCE seq_audit; CREATE SEQUENCE seq_plan_seq;
CREATE TABLE plans (hash TEXT PRIMARY KEY, seq BIGINT NOT NULL, data TEXT NOT NULL);
CREATE TABLE instances (id BIGINT PRIMARY KEY, running BOOLEAN NOT NULL,
    version BIGINT NOT NULL, data TEXT NOT NULL);
CREATE INDEX instances_running ON instances (running, id);
CREATE TABLE steps (instance BIGINT NOT NULL, idx BIGINT NOT NULL, data TEXT NOT NULL,
    PRIMARY KEY (instance, idx));
CREATE TABLE timers (id BIGINT PRIMARY KEY, due_at BIGINT NOT NULL, instance BIGINT NOT NULL,
    step BIGINT NOT NULL, lease_until BIGINT, data TEXT NOT NULL);
CREATE INDEX timers_due ON timers (due_at, id);
CREATE INDEX timers_leased ON timers (lease_until) WHERE lease_until IS NOT NULL;
CREATE INDEX timers_instance ON timers (instance, due_at, id);
CREATE TABLE work_items (id BIGINT PRIMARY KEY, person TEXT NOT NULL, instance BIGINT NOT NULL,
    open BOOLEAN NOT NULL, data TEXT NOT NULL);
CREATE INDEX work_items_open ON work_items (open, person, id);
CREATE INDEX work_items_instance ON work_items (instance, id);
CREATE TABLE records (module TEXT NOT NULL, id TEXT NOT NULL, data TEXT NOT NULL,
    PRIMARY KEY (module, id));
CREATE TABLE artefacts (id BIGINT PRIMARY KEY, instance BIGINT NOT NULL, data TEXT NOT NULL);
CREATE INDEX artefacts_instance ON artefacts (instance, id);
CREATE TABLE outbox (id BIGINT PRIMARY KEY, key TEXT NOT NULL UNIQUE, pending BOOLEAN NOT NULL,
    not_before BIGINT, instance BIGINT, data TEXT NOT NULL);
CREATE INDEX outbox_pending ON outbox (pending, id);
CREATE INDEX outbox_due ON outbox (pending, not_before);
CREATE INDEX outbox_instance ON outbox (instance, id);
CREATE TABLE attempts (id BIGINT PRIMARY KEY, effect BIGINT NOT NULL, data TEXT NOT NULL);
CREATE INDEX attempts_effect ON attempts (effect, id);
CREATE TABLE audit (id BIGINT PRIMARY KEY, instance BIGINT, data TEXT NOT NULL);
CREATE INDEX audit_instance ON audit (instance, id);
CREATE TABLE keys (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE counters (key TEXT PRIMARY KEY, value BIGINT NOT NULL);
"#];

/// Serializes migrations of workers that start at the same time (an arbitrary constant).
const MIGRATION_LOCK: i64 = 0x7072_6f63_6301;

/// The channel a commit that adds timers or effects notifies; a store in a schema of its own
/// adds the schema's name, so that runtimes sharing a database do not wake each other.
const WAKE_CHANNEL: &str = "procc_wake";

/// A store in a PostgreSQL database (or one schema of it), shared by any number of workers.
pub struct PostgresStore {
    config: Config,
    /// The `LISTEN`/`NOTIFY` channel of this runtime's workers.
    channel: String,
    /// Always `Some` until the store is dropped.
    conn: Mutex<Option<Connection>>,
}

impl Drop for PostgresStore {
    fn drop(&mut self) {
        // Closing the synchronous client blocks on its own runtime, which panics on a thread
        // that drives tokio tasks (where a server may drop its last engine): close it on a
        // thread of its own.
        // Even after a panic poisoned the lock, the client must not be dropped here.
        let slot = self
            .conn
            .get_mut()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(conn) = slot.take() {
            let _ = std::thread::spawn(move || drop(conn)).join();
        }
    }
}

struct Connection {
    client: Client,
    /// The server stopped answering on this connection: open a new one.
    lost: bool,
    /// Prepared statements by their text: preparing costs a round trip.
    statements: HashMap<&'static str, Statement>,
}

impl PostgresStore {
    /// Connects to the database (`postgres://user@host:port/db`, or key=value form) and brings
    /// its schema up to date. Tables are created in the connection's search path; give
    /// `options=-csearch_path%3Dname` in the URL, or use [`PostgresStore::open_schema`], to keep
    /// several runtimes in one database.
    pub fn open(url: &str) -> Result<PostgresStore> {
        PostgresStore::with_config(parse_url(url)?, WAKE_CHANNEL.to_string())
    }

    /// Connects and keeps all tables in `schema` (created when missing).
    pub fn open_schema(url: &str, schema: &str) -> Result<PostgresStore> {
        if schema.is_empty()
            || !schema
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        {
            return Err(Error::Store(format!(
                "schema name `{schema}`: use lowercase letters, digits and `_`"
            )));
        }
        let mut config = parse_url(url)?;
        let mut client = config.connect(NoTls)?;
        // Two workers creating the schema at once would collide on the catalog's unique name.
        let mut tx = client.transaction()?;
        tx.query("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])?;
        tx.batch_execute(&format!("CREATE SCHEMA IF NOT EXISTS {schema}"))?;
        tx.commit()?;
        config.options(&format!("-csearch_path={schema}"));
        PostgresStore::with_config(config, format!("{WAKE_CHANNEL}_{schema}"))
    }

    fn with_config(config: Config, channel: String) -> Result<PostgresStore> {
        let mut client = config.connect(NoTls)?;
        migrate(&mut client)?;
        Ok(PostgresStore {
            config,
            channel,
            conn: Mutex::new(Some(Connection {
                client,
                lost: false,
                statements: HashMap::new(),
            })),
        })
    }

    /// The schema version of the database (the number of applied migrations).
    pub fn schema_version(&self) -> Result<u32> {
        self.with_connection(|conn| {
            let row = conn
                .client
                .query_one("SELECT COALESCE(MAX(version), 0) FROM migrations", &[])?;
            let version: i64 = row.get(0);
            Ok(version as u32)
        })
    }

    /// Listens for commits (of any worker) that add timers or effects, on a thread with its
    /// own connection, and calls `wake` for each batch of them, until the returned
    /// [`Listener`] is dropped. Without it a worker learns of other workers' timers only when
    /// it next wakes for its own.
    pub fn listen(&self, wake: impl Fn() + Send + 'static) -> Result<Listener> {
        let config = self.config.clone();
        let channel = self.channel.clone();
        let mut client = listening(&config, &channel)?;
        let stop = Arc::new(AtomicBool::new(false));
        let stopped = stop.clone();
        let thread = std::thread::Builder::new()
            .name("procc-pg-listen".into())
            .spawn(move || {
                while !stopped.load(Ordering::Relaxed) {
                    // `None`: the connection was lost.
                    let heard = {
                        let mut notifications = client.notifications();
                        // The timeout lets the thread notice that it was asked to stop.
                        let first = notifications.timeout_iter(Duration::from_secs(1)).next();
                        // Many commits are one wake-up: the scheduler reads all due work.
                        let mut pending = notifications.iter();
                        while let Ok(Some(_)) = pending.next() {}
                        first.ok().map(|n| n.is_some())
                    };
                    match heard {
                        Some(true) => wake(),
                        Some(false) => {}
                        None => {
                            // A restarted server: listen again as soon as it answers, and
                            // look for work missed meanwhile.
                            std::thread::sleep(Duration::from_secs(1));
                            if let Ok(again) = listening(&config, &channel) {
                                client = again;
                                wake();
                            }
                        }
                    }
                }
            })
            .map_err(|e| Error::Store(format!("cannot start the listener thread: {e}")))?;
        Ok(Listener {
            stop,
            thread: Some(thread),
        })
    }

    /// Runs `f` on the connection, connecting again first if the old one was lost (a
    /// restarted server, a dropped connection).
    fn with_connection<T>(&self, f: impl FnOnce(&mut Connection) -> Result<T>) -> Result<T> {
        // A panic while the lock was held leaves the connection usable: every transaction
        // begins afresh, and one that was open was rolled back with its `Transaction`.
        let mut slot = self
            .conn
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let conn = slot
            .as_mut()
            .ok_or_else(|| Error::Store("the postgres store is closed".into()))?;
        if conn.lost || conn.client.is_closed() {
            conn.client = self.config.connect(NoTls)?;
            conn.lost = false;
            conn.statements.clear();
        }
        f(conn)
    }
}

/// The connection settings of a URL (`postgres://...`) or key=value string.
fn parse_url(url: &str) -> Result<Config> {
    url.parse()
        .map_err(|e| Error::Store(format!("bad PostgreSQL connection string: {e}")))
}

/// A connection that listens on the wake-up channel.
fn listening(config: &Config, channel: &str) -> Result<Client> {
    let mut client = config.connect(NoTls)?;
    client.batch_execute(&format!("LISTEN {channel}"))?;
    Ok(client)
}

/// A thread that wakes a worker when other workers commit timers or effects; stops (and
/// closes its connection) when dropped.
pub struct Listener {
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Drop for Listener {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            // The thread ends within its one-second wait; a panic in it has nothing to clean.
            let _ = thread.join();
        }
    }
}

fn migrate(client: &mut Client) -> Result<()> {
    let mut tx = client.transaction()?;
    tx.query("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])?;
    tx.batch_execute(
        "CREATE TABLE IF NOT EXISTS migrations (version BIGINT PRIMARY KEY, applied_at TEXT NOT NULL)",
    )?;
    let applied: i64 = tx
        .query_one("SELECT COALESCE(MAX(version), 0) FROM migrations", &[])?
        .get(0);
    if applied as usize > MIGRATIONS.len() {
        return Err(Error::Store(format!(
            "the database has schema version {applied}, newer than the {} this runtime knows",
            MIGRATIONS.len()
        )));
    }
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(applied as usize) {
        tx.batch_execute(sql)?;
        tx.execute(
            "INSERT INTO migrations (version, applied_at) VALUES ($1, $2)",
            &[&(i as i64 + 1), &Utc::now().to_rfc3339()],
        )?;
    }
    tx.commit()?;
    Ok(())
}

impl From<postgres::Error> for Error {
    fn from(e: postgres::Error) -> Self {
        match e.code() {
            // Another worker's transaction won: the engine runs the operation again.
            Some(code)
                if *code == SqlState::T_R_SERIALIZATION_FAILURE
                    || *code == SqlState::T_R_DEADLOCK_DETECTED =>
            {
                Error::Conflict
            }
            _ if connection_lost(&e) => Error::Unavailable(match e.as_db_error() {
                Some(db) => db.message().to_string(),
                None => e.to_string(),
            }),
            // `Display` of a server error says only "db error": name the server's message.
            _ => match e.as_db_error() {
                Some(db) => Error::Store(format!(
                    "PostgreSQL: {} ({})",
                    db.message(),
                    db.code().code()
                )),
                None => Error::Store(format!("PostgreSQL: {e}")),
            },
        }
    }
}

/// Whether the connection is gone (dropped, or the server shut it down), as opposed to a
/// statement that failed on a working connection.
fn connection_lost(e: &postgres::Error) -> bool {
    match e.code() {
        // Class 08: connection exception; class 57: operator intervention (shutdown,
        // terminated backend).
        Some(code) => code.code().starts_with("08") || code.code().starts_with("57"),
        None => e.as_db_error().is_none(),
    }
}

impl Store for PostgresStore {
    fn transaction<T>(&self, f: &mut dyn FnMut(&mut dyn Tx) -> Result<T>) -> Result<T> {
        self.run(false, f)
    }
    fn read_transaction<T>(&self, f: &mut dyn FnMut(&mut dyn Tx) -> Result<T>) -> Result<T> {
        self.run(true, f)
    }
}

impl PostgresStore {
    fn run<T>(&self, read_only: bool, f: &mut dyn FnMut(&mut dyn Tx) -> Result<T>) -> Result<T> {
        self.with_connection(|conn| {
            let Connection {
                client,
                statements,
                lost,
            } = conn;
            // Readers take a snapshot (REPEATABLE READ): consistent, and outside the conflict
            // detection of serializable writers, so a long listing never aborts a worker.
            let isolation = if read_only {
                IsolationLevel::RepeatableRead
            } else {
                IsolationLevel::Serializable
            };
            let started = client
                .build_transaction()
                .isolation_level(isolation)
                .read_only(read_only)
                .start();
            let tx = match started {
                Ok(tx) => tx,
                // The server dropped the connection (a restart) and nothing has happened yet:
                // the engine runs the operation again, and this store connects anew.
                Err(e) if connection_lost(&e) => {
                    *lost = true;
                    return Err(Error::Conflict);
                }
                Err(e) => return Err(e.into()),
            };
            let mut ptx = PgTx {
                tx,
                statements,
                wake: false,
            };
            let outcome = match f(&mut ptx) {
                Ok(value) => {
                    let committed = if ptx.wake {
                        ptx.tx.batch_execute(&format!("NOTIFY {}", self.channel))
                    } else {
                        Ok(())
                    };
                    committed
                        .and_then(|()| ptx.tx.commit())
                        .map(|()| value)
                        .map_err(Error::from)
                }
                Err(e) => match ptx.tx.rollback() {
                    Ok(()) => Err(e),
                    Err(rollback) if connection_lost(&rollback) => Err(Error::from(rollback)),
                    Err(rollback) => Err(Error::Store(format!(
                        "{e} (and rolling back failed: {rollback})"
                    ))),
                },
            };
            // The next transaction opens a new connection.
            if let Err(Error::Unavailable(_)) = outcome {
                *lost = true;
            }
            outcome
        })
    }
}

struct PgTx<'a> {
    tx: postgres::Transaction<'a>,
    statements: &'a mut HashMap<&'static str, Statement>,
    /// Whether the commit adds timers or effects that other workers should hear of (the
    /// engine says so: claims, which only push due times back, wake nobody).
    wake: bool,
}

type Args<'a> = &'a [&'a (dyn ToSql + Sync)];

fn json<T: Serialize>(row: &T) -> Result<String> {
    Ok(serde_json::to_string(row)?)
}

fn ms(t: DateTime<Utc>) -> i64 {
    t.timestamp_millis()
}

fn time(ms: Option<i64>) -> Option<DateTime<Utc>> {
    ms.and_then(DateTime::<Utc>::from_timestamp_millis)
}

fn module_name(m: Module) -> &'static str {
    match m {
        Module::Address => "address",
        Module::Property => "property",
        Module::Project => "project",
    }
}

impl PgTx<'_> {
    fn statement(&mut self, sql: &'static str) -> Result<Statement> {
        if let Some(statement) = self.statements.get(sql) {
            return Ok(statement.clone());
        }
        let statement = self.tx.prepare(sql)?;
        self.statements.insert(sql, statement.clone());
        Ok(statement)
    }
    fn execute(&mut self, sql: &'static str, args: Args<'_>) -> Result<u64> {
        let statement = self.statement(sql)?;
        Ok(self.tx.execute(&statement, args)?)
    }
    fn rows(&mut self, sql: &'static str, args: Args<'_>) -> Result<Vec<postgres::Row>> {
        let statement = self.statement(sql)?;
        Ok(self.tx.query(&statement, args)?)
    }
    fn row(&mut self, sql: &'static str, args: Args<'_>) -> Result<Option<postgres::Row>> {
        let statement = self.statement(sql)?;
        Ok(self.tx.query_opt(&statement, args)?)
    }
    fn one<T: DeserializeOwned>(&mut self, sql: &'static str, args: Args<'_>) -> Result<Option<T>> {
        match self.row(sql, args)? {
            Some(row) => Ok(Some(serde_json::from_str(row.get::<_, &str>(0))?)),
            None => Ok(None),
        }
    }
    fn many<T: DeserializeOwned>(&mut self, sql: &'static str, args: Args<'_>) -> Result<Vec<T>> {
        let mut out = Vec::new();
        for row in self.rows(sql, args)? {
            out.push(serde_json::from_str(row.get::<_, &str>(0))?);
        }
        Ok(out)
    }
}

impl Tx for PgTx<'_> {
    fn wake_other_workers(&mut self) {
        self.wake = true;
    }
    fn savepoint(&mut self) -> Result<()> {
        // Savepoints of one name nest: `RELEASE` and `ROLLBACK TO` act on the latest.
        self.tx.batch_execute("SAVEPOINT op")?;
        Ok(())
    }
    fn release_savepoint(&mut self) -> Result<()> {
        self.tx.batch_execute("RELEASE SAVEPOINT op")?;
        Ok(())
    }
    fn rollback_to_savepoint(&mut self) -> Result<()> {
        self.tx
            .batch_execute("ROLLBACK TO SAVEPOINT op; RELEASE SAVEPOINT op")?;
        Ok(())
    }

    fn next_id(&mut self, sequence: Sequence) -> Result<u64> {
        // One PostgreSQL sequence each (the migrations create them).
        let name = format!("seq_{}", sequence.name());
        let row = self.row("SELECT nextval($1::text::regclass)", &[&name])?;
        let value: i64 = row
            .ok_or_else(|| Error::Store("nextval returned no row".into()))?
            .get(0);
        Ok(value as u64)
    }

    fn put_plan(&mut self, row: &PlanRow) -> Result<()> {
        self.execute(
            "INSERT INTO plans (hash, seq, data) VALUES ($1, $2, $3)
             ON CONFLICT (hash) DO UPDATE SET seq = EXCLUDED.seq, data = EXCLUDED.data",
            &[&row.hash, &(row.seq as i64), &json(row)?],
        )?;
        Ok(())
    }
    fn plan(&mut self, hash: &str) -> Result<Option<PlanRow>> {
        self.one("SELECT data FROM plans WHERE hash = $1", &[&hash])
    }
    fn current_plan_hash(&mut self) -> Result<Option<String>> {
        Ok(self
            .row("SELECT hash FROM plans ORDER BY seq DESC LIMIT 1", &[])?
            .map(|r| r.get(0)))
    }
    fn plans(&mut self) -> Result<Vec<PlanRow>> {
        self.many("SELECT data FROM plans ORDER BY seq", &[])
    }

    fn insert_instance(&mut self, row: InstanceRow) -> Result<()> {
        self.execute(
            "INSERT INTO instances (id, running, version, data) VALUES ($1, $2, $3, $4)",
            &[
                &(row.id as i64),
                &row.status.is_running(),
                &(row.version as i64),
                &json(&row)?,
            ],
        )?;
        Ok(())
    }
    fn instance(&mut self, id: InstanceId) -> Result<Option<InstanceRow>> {
        self.one("SELECT data FROM instances WHERE id = $1", &[&(id as i64)])
    }
    fn update_instance(&mut self, mut row: InstanceRow) -> Result<()> {
        let old = row.version;
        row.version += 1;
        let changed = self.execute(
            "UPDATE instances SET running = $2, version = $3, data = $4 WHERE id = $1 AND version = $5",
            &[
                &(row.id as i64),
                &row.status.is_running(),
                &(row.version as i64),
                &json(&row)?,
                &(old as i64),
            ],
        )?;
        if changed == 0 {
            let exists = self
                .row(
                    "SELECT id FROM instances WHERE id = $1",
                    &[&(row.id as i64)],
                )?
                .is_some();
            return Err(if exists {
                Error::Conflict
            } else {
                Error::UnknownInstance(row.id)
            });
        }
        Ok(())
    }
    fn running_instances(&mut self) -> Result<Vec<InstanceRow>> {
        self.many("SELECT data FROM instances WHERE running ORDER BY id", &[])
    }
    fn instances(&mut self, query: &InstanceQuery) -> Result<Vec<InstanceRow>> {
        // The indexed conditions narrow the rows in SQL; `matches` decides on the rest. Rows
        // are streamed, so a page stops reading at its limit.
        let after = query.after.map_or(0, |a| a as i64);
        let statement = self.statement(
            "SELECT data FROM instances WHERE id > $1 AND (NOT $2 OR running) ORDER BY id",
        )?;
        let args: [&(dyn ToSql + Sync); 2] = [&after, &query.running];
        let mut rows = self.tx.query_raw(&statement, args)?;
        let limit = if query.limit == 0 {
            usize::MAX
        } else {
            query.limit
        };
        let mut out = Vec::new();
        while let Some(row) = rows.next()? {
            let row: InstanceRow = serde_json::from_str(row.get::<_, &str>(0))?;
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
        self.execute(
            "INSERT INTO steps (instance, idx, data) VALUES ($1, $2, $3)
             ON CONFLICT (instance, idx) DO UPDATE SET data = EXCLUDED.data",
            &[&(row.instance as i64), &i64::from(row.index), &json(&row)?],
        )?;
        Ok(())
    }
    fn steps(&mut self, instance: InstanceId) -> Result<Vec<StepRow>> {
        self.many(
            "SELECT data FROM steps WHERE instance = $1 ORDER BY idx",
            &[&(instance as i64)],
        )
    }

    fn step(&mut self, instance: InstanceId, index: StepIndex) -> Result<Option<StepRow>> {
        self.one(
            "SELECT data FROM steps WHERE instance = $1 AND idx = $2",
            &[&(instance as i64), &i64::from(index)],
        )
    }

    fn insert_timer(&mut self, row: TimerRow) -> Result<()> {
        self.execute(
            "INSERT INTO timers (id, due_at, instance, step, lease_until, data)
             VALUES ($1, $2, $3, $4, $5, $6)
             ON CONFLICT (id) DO UPDATE SET due_at = EXCLUDED.due_at, instance = EXCLUDED.instance,
                 step = EXCLUDED.step, lease_until = EXCLUDED.lease_until, data = EXCLUDED.data",
            &[
                &(row.id as i64),
                &ms(row.due_at),
                &(row.instance as i64),
                &i64::from(row.step),
                &row.lease_until.map(ms),
                &json(&row)?,
            ],
        )?;
        Ok(())
    }
    fn delete_timer(&mut self, id: u64) -> Result<()> {
        self.execute("DELETE FROM timers WHERE id = $1", &[&(id as i64)])?;
        Ok(())
    }
    fn delete_timers_of(&mut self, instance: InstanceId, step: Option<StepIndex>) -> Result<()> {
        match step {
            Some(s) => self.execute(
                "DELETE FROM timers WHERE instance = $1 AND step = $2",
                &[&(instance as i64), &i64::from(s)],
            )?,
            None => self.execute(
                "DELETE FROM timers WHERE instance = $1",
                &[&(instance as i64)],
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
        // Only the earliest timer of an instance can be claimed: timers of one instance fire
        // one after the other, in due order, even when several workers share the work (the
        // next one becomes claimable when the first has fired). SKIP LOCKED: timers another
        // worker is claiming right now are left to it.
        let mut due: Vec<TimerRow> = self.many(
            "SELECT data FROM timers t
             WHERE due_at <= $1 AND (lease_until IS NULL OR lease_until <= $1)
             AND NOT EXISTS (SELECT 1 FROM timers o WHERE o.instance = t.instance
                 AND (o.due_at, o.id) < (t.due_at, t.id))
             ORDER BY due_at, id LIMIT $2 FOR UPDATE SKIP LOCKED",
            &[&ms(now), &(limit as i64)],
        )?;
        for t in &mut due {
            t.lease_owner = Some(worker.to_string());
            t.lease_until = Some(lease_until);
            self.execute(
                "UPDATE timers SET lease_until = $2, data = $3 WHERE id = $1",
                &[&(t.id as i64), &ms(lease_until), &json(t)?],
            )?;
        }
        Ok(due)
    }
    fn next_due(&mut self) -> Result<Option<DateTime<Utc>>> {
        // A leased timer is due again when its lease runs out.
        let row = self.row(
            "SELECT LEAST(
                 (SELECT MIN(due_at) FROM timers WHERE lease_until IS NULL),
                 (SELECT MIN(GREATEST(due_at, lease_until)) FROM timers
                  WHERE lease_until IS NOT NULL))",
            &[],
        )?;
        Ok(time(row.and_then(|r| r.get(0))))
    }
    fn timers_of(&mut self, instance: InstanceId) -> Result<Vec<TimerRow>> {
        self.many(
            "SELECT data FROM timers WHERE instance = $1 ORDER BY due_at, id",
            &[&(instance as i64)],
        )
    }

    fn put_work_item(&mut self, row: WorkItemRow) -> Result<()> {
        self.execute(
            "INSERT INTO work_items (id, person, instance, open, data) VALUES ($1, $2, $3, $4, $5)
             ON CONFLICT (id) DO UPDATE SET person = EXCLUDED.person,
                 instance = EXCLUDED.instance, open = EXCLUDED.open, data = EXCLUDED.data",
            &[
                &(row.id as i64),
                &row.user,
                &(row.instance as i64),
                &row.done_at.is_none(),
                &json(&row)?,
            ],
        )?;
        Ok(())
    }
    fn open_work_items(&mut self, user: Option<&str>) -> Result<Vec<WorkItemRow>> {
        match user {
            Some(u) => self.many(
                "SELECT data FROM work_items WHERE open AND person = $1 ORDER BY id",
                &[&u],
            ),
            None => self.many("SELECT data FROM work_items WHERE open ORDER BY id", &[]),
        }
    }
    fn work_items_of(&mut self, instance: InstanceId) -> Result<Vec<WorkItemRow>> {
        self.many(
            "SELECT data FROM work_items WHERE instance = $1 ORDER BY id",
            &[&(instance as i64)],
        )
    }

    fn put_record(&mut self, row: &RecordRow) -> Result<()> {
        self.execute(
            "INSERT INTO records (module, id, data) VALUES ($1, $2, $3)
             ON CONFLICT (module, id) DO UPDATE SET data = EXCLUDED.data",
            &[&module_name(row.module), &row.id, &json(row)?],
        )?;
        Ok(())
    }
    fn record(&mut self, module: Module, id: &str) -> Result<Option<RecordRow>> {
        self.one(
            "SELECT data FROM records WHERE module = $1 AND id = $2",
            &[&module_name(module), &id],
        )
    }
    fn records(&mut self, module: Module) -> Result<Vec<RecordRow>> {
        // COLLATE "C": the same byte order as SQLite and the memory store.
        self.many(
            "SELECT data FROM records WHERE module = $1 ORDER BY id COLLATE \"C\"",
            &[&module_name(module)],
        )
    }

    fn put_artefact(&mut self, row: ArtefactRow) -> Result<()> {
        self.execute(
            "INSERT INTO artefacts (id, instance, data) VALUES ($1, $2, $3)
             ON CONFLICT (id) DO UPDATE SET instance = EXCLUDED.instance, data = EXCLUDED.data",
            &[&(row.id as i64), &(row.instance as i64), &json(&row)?],
        )?;
        Ok(())
    }
    fn artefact(&mut self, id: u64) -> Result<Option<ArtefactRow>> {
        self.one("SELECT data FROM artefacts WHERE id = $1", &[&(id as i64)])
    }
    fn mark_artefact_done(&mut self, id: u64) -> Result<()> {
        // In the row's JSON, without reading it into a row and writing it back.
        self.execute(
            "UPDATE artefacts SET data = (data::jsonb || '{\"done\": true}')::text WHERE id = $1",
            &[&(id as i64)],
        )?;
        Ok(())
    }
    fn artefacts_of(&mut self, instance: InstanceId) -> Result<Vec<ArtefactRow>> {
        self.many(
            "SELECT data FROM artefacts WHERE instance = $1 ORDER BY id",
            &[&(instance as i64)],
        )
    }

    fn insert_outbox(&mut self, row: OutboxRow) -> Result<bool> {
        let n = self.execute(
            "INSERT INTO outbox (id, key, pending, not_before, instance, data)
             VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (key) DO NOTHING",
            &[
                &(row.id as i64),
                &row.idempotency_key,
                &row.is_pending(),
                &row.not_before.map(ms),
                &row.instance.map(|i| i as i64),
                &json(&row)?,
            ],
        )?;
        Ok(n == 1)
    }
    fn update_outbox(&mut self, row: OutboxRow) -> Result<()> {
        self.execute(
            "UPDATE outbox SET pending = $2, not_before = $3, data = $4 WHERE id = $1",
            &[
                &(row.id as i64),
                &row.is_pending(),
                &row.not_before.map(ms),
                &json(&row)?,
            ],
        )?;
        Ok(())
    }
    fn pending_outbox(&mut self, now: DateTime<Utc>, limit: usize) -> Result<Vec<OutboxRow>> {
        // Pending effects are read to be claimed: rows another worker is claiming right now
        // are left to it instead of making one of the two transactions fail.
        self.many(
            "SELECT data FROM outbox WHERE pending AND (not_before IS NULL OR not_before <= $1)
             ORDER BY id LIMIT $2 FOR UPDATE SKIP LOCKED",
            &[&ms(now), &(limit as i64)],
        )
    }
    fn outbox(&mut self) -> Result<Vec<OutboxRow>> {
        self.many("SELECT data FROM outbox ORDER BY id", &[])
    }
    fn outbox_row(&mut self, id: u64) -> Result<Option<OutboxRow>> {
        self.one("SELECT data FROM outbox WHERE id = $1", &[&(id as i64)])
    }
    fn outbox_of(&mut self, instance: InstanceId) -> Result<Vec<OutboxRow>> {
        self.many(
            "SELECT data FROM outbox WHERE instance = $1 ORDER BY id",
            &[&(instance as i64)],
        )
    }
    fn insert_attempt(&mut self, row: AttemptRow) -> Result<()> {
        self.execute(
            "INSERT INTO attempts (id, effect, data) VALUES ($1, $2, $3)",
            &[&(row.id as i64), &(row.effect as i64), &json(&row)?],
        )?;
        Ok(())
    }
    fn attempts(&mut self, effect: u64) -> Result<Vec<AttemptRow>> {
        self.many(
            "SELECT data FROM attempts WHERE effect = $1 ORDER BY id",
            &[&(effect as i64)],
        )
    }
    fn next_outbox_due(&mut self, now: DateTime<Utc>) -> Result<Option<DateTime<Utc>>> {
        let row = self.row(
            "SELECT MIN(not_before) FROM outbox WHERE pending AND not_before > $1",
            &[&ms(now)],
        )?;
        Ok(time(row.and_then(|r| r.get(0))))
    }

    fn insert_audit(&mut self, row: AuditRow) -> Result<()> {
        self.execute(
            "INSERT INTO audit (id, instance, data) VALUES ($1, $2, $3)",
            &[
                &(row.id as i64),
                &row.instance.map(|i| i as i64),
                &json(&row)?,
            ],
        )?;
        Ok(())
    }
    fn audit(&mut self, instance: Option<InstanceId>) -> Result<Vec<AuditRow>> {
        match instance {
            Some(i) => self.many(
                "SELECT data FROM audit WHERE instance = $1 ORDER BY id",
                &[&(i as i64)],
            ),
            None => self.many("SELECT data FROM audit ORDER BY id", &[]),
        }
    }

    fn key(&mut self, key: &str) -> Result<Option<String>> {
        Ok(self
            .row("SELECT value FROM keys WHERE key = $1", &[&key])?
            .map(|r| r.get(0)))
    }
    fn put_key(&mut self, key: &str, value: &str) -> Result<()> {
        self.execute(
            "INSERT INTO keys (key, value) VALUES ($1, $2)
             ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value",
            &[&key, &value],
        )?;
        Ok(())
    }
    fn keys_with_prefix(&mut self, prefix: &str) -> Result<Vec<(String, String)>> {
        // COLLATE "C": the same byte order as SQLite and the memory store.
        Ok(self
            .rows(
                "SELECT key, value FROM keys WHERE starts_with(key, $1) ORDER BY key COLLATE \"C\"",
                &[&prefix],
            )?
            .into_iter()
            .map(|r| (r.get(0), r.get(1)))
            .collect())
    }
    fn bump_counter(&mut self, key: &str) -> Result<u64> {
        let row = self.row(
            "INSERT INTO counters (key, value) VALUES ($1, 1)
             ON CONFLICT (key) DO UPDATE SET value = counters.value + 1 RETURNING value",
            &[&key],
        )?;
        let value: i64 = row
            .ok_or_else(|| Error::Store("the counter update returned no row".into()))?
            .get(0);
        Ok(value as u64)
    }
}
