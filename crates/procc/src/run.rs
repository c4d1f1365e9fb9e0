//! `procc run`: the runtime on the real clock, against a SQLite file or as one of several
//! workers on PostgreSQL, with real delivery.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use procc_delivery::{DeliveryConfig, DeliveryThreads};
use procc_runtime::{
    AnyStore, Connector, Engine, EngineConfig, Listener, OutboxRow, PostgresStore, Runtime,
    SqliteStore, SystemClock,
};

use crate::project::UsageError;

/// Where letters and portal syncs go until they have connectors: one JSON object a line.
pub(crate) struct JsonLines {
    out: Mutex<Box<dyn Write + Send>>,
}

impl JsonLines {
    /// Appends to `path`, or writes to standard output.
    pub(crate) fn open(path: Option<&Path>) -> Result<JsonLines, UsageError> {
        let out: Box<dyn Write + Send> = match path {
            Some(path) => Box::new(
                std::fs::OpenOptions::new()
                    .append(true)
                    .create(true)
                    .open(path)
                    .map_err(|e| {
                        UsageError::new(format!("cannot open `{}`: {e}", path.display()))
                    })?,
            ),
            None => Box::new(std::io::stdout()),
        };
        Ok(JsonLines {
            out: Mutex::new(out),
        })
    }
}

impl Connector for JsonLines {
    fn deliver(&self, effect: &OutboxRow) -> Result<(), String> {
        let line = serde_json::to_string(effect).map_err(|e| e.to_string())?;
        let mut out = self
            .out
            .lock()
            .map_err(|_| "the effect log is unusable".to_string())?;
        writeln!(out, "{line}")
            .and_then(|()| out.flush())
            .map_err(|e| format!("cannot write the effect: {e}"))
    }
}

/// The secret that signs decision links: `PROCC_DECISION_SECRET`, else a random one kept in
/// `<db>.secret` (created on first run, readable by its owner only), so that links stay valid
/// across restarts.
pub(crate) fn decision_secret(db: &Path) -> Result<Vec<u8>, UsageError> {
    if let Some(secret) = std::env::var_os("PROCC_DECISION_SECRET").filter(|s| !s.is_empty()) {
        return Ok(secret.to_string_lossy().into_owned().into_bytes());
    }
    let mut path = db.as_os_str().to_owned();
    path.push(".secret");
    let path = PathBuf::from(path);
    if let Ok(secret) = std::fs::read(&path)
        && secret.len() >= 32
    {
        return Ok(secret);
    }
    let mut secret = vec![0u8; 32];
    getrandom::fill(&mut secret)
        .map_err(|e| UsageError::new(format!("cannot make a decision secret: {e}")))?;
    write_private(&path, &secret)
        .map_err(|e| UsageError::new(format!("cannot write `{}`: {e}", path.display())))?;
    Ok(secret)
}

#[cfg(unix)]
fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)?;
    file.write_all(bytes)
}

#[cfg(not(unix))]
fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    std::fs::write(path, bytes)
}

/// The delivery settings of the project file (defaults without one); relative secret files
/// are found next to it.
pub(crate) fn delivery_config(
    project_file: Option<&Path>,
    cwd: &Path,
) -> Result<DeliveryConfig, UsageError> {
    let Some(path) = project_file else {
        return Ok(DeliveryConfig::new(cwd));
    };
    let text = std::fs::read_to_string(path)
        .map_err(|e| UsageError::new(format!("cannot read `{}`: {e}", path.display())))?;
    let base = path.parent().unwrap_or(cwd);
    DeliveryConfig::from_toml(&text, base)
        .map_err(|e| UsageError::new(format!("{} ({})", e, path.display())))
}

/// The database `procc run`, `procc serve` and `procc token` keep their state in.
pub(crate) enum Database<'a> {
    /// A SQLite file: one worker.
    Sqlite(&'a Path),
    /// A PostgreSQL connection string: one of any number of workers.
    Postgres(&'a str),
}

impl Database<'_> {
    /// Opens the store (bringing its schema up to date) and makes the engine's settings:
    /// the decision-link secret, and for PostgreSQL this process's lease name. A process that
    /// runs processes (`signs_links`) on PostgreSQL needs the secret all workers share; an
    /// operator command (tokens, endpoints) does not.
    pub(crate) fn open(&self, signs_links: bool) -> Result<(AnyStore, EngineConfig), UsageError> {
        match self {
            Database::Sqlite(path) => {
                let store = SqliteStore::open(path).map_err(|e| {
                    UsageError::new(format!(
                        "cannot open the database `{}`: {e}",
                        path.display()
                    ))
                })?;
                let config = EngineConfig {
                    decision_secret: decision_secret(path)?,
                    ..EngineConfig::default()
                };
                Ok((AnyStore::Sqlite(store), config))
            }
            Database::Postgres(url) => {
                // Every worker must sign and check decision links with the same secret.
                let secret = match std::env::var("PROCC_DECISION_SECRET")
                    .ok()
                    .filter(|s| !s.is_empty())
                {
                    Some(secret) => secret.into_bytes(),
                    None if signs_links => {
                        return Err(UsageError::new(
                            "workers on PostgreSQL share the decision-link secret: set PROCC_DECISION_SECRET (the same value for every worker)",
                        ));
                    }
                    None => Vec::new(),
                };
                let store = PostgresStore::open(url).map_err(|e| {
                    UsageError::new(format!("cannot open the PostgreSQL database: {e}"))
                })?;
                let config = EngineConfig {
                    decision_secret: secret,
                    worker: worker_name(),
                    ..EngineConfig::default()
                };
                Ok((AnyStore::Postgres(Box::new(store)), config))
            }
        }
    }

    /// How messages name it (never with a password).
    pub(crate) fn describe(&self, config: &EngineConfig) -> String {
        match self {
            Database::Sqlite(path) => path.display().to_string(),
            Database::Postgres(_) => format!("PostgreSQL as worker {}", config.worker),
        }
    }
}

/// Wakes the engine's scheduler and dispatcher when other workers on the same PostgreSQL
/// database commit timers or effects; keep the returned listener as long as the engine runs.
pub(crate) fn hear_other_workers(
    engine: &Arc<Engine<AnyStore>>,
) -> Result<Option<Listener>, UsageError> {
    let woken = Arc::downgrade(engine);
    engine
        .store()
        .listen(move || {
            if let Some(engine) = woken.upgrade() {
                engine.wake();
            }
        })
        .map_err(|e| UsageError::new(format!("cannot listen on PostgreSQL: {e}")))
}

/// Deploys `plan` into the database and runs until Ctrl-C (or SIGTERM): the scheduler fires
/// timers, the dispatcher delivers effects.
pub(crate) fn run(
    plan: &procc_plan::Plan,
    db: Database<'_>,
    effects: Option<&Path>,
    delivery: DeliveryConfig,
) -> Result<u8, UsageError> {
    let (store, config) = db.open(true)?;
    let place = db.describe(&config);
    let engine = Arc::new(Engine::new(store, Arc::new(SystemClock), config));
    let _listener = hear_other_workers(&engine)?;
    run_engine(engine, plan, &place, effects, delivery)
}

/// This process's name in timer and effect leases: host and process id, unique among workers.
fn worker_name() -> String {
    let host = std::env::var("HOSTNAME")
        .ok()
        .filter(|h| !h.is_empty())
        .or_else(|| {
            std::fs::read_to_string("/etc/hostname")
                .ok()
                .map(|h| h.trim().to_string())
        })
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "localhost".into());
    format!("{host}-{}", std::process::id())
}

fn run_engine(
    engine: Arc<Engine<AnyStore>>,
    plan: &procc_plan::Plan,
    place: &str,
    effects: Option<&Path>,
    delivery: DeliveryConfig,
) -> Result<u8, UsageError> {
    let hash = engine
        .deploy(plan)
        .map_err(|e| UsageError::new(format!("cannot deploy the plan: {e}")))?;
    let tokio = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| UsageError::new(format!("cannot start the runtime: {e}")))?;
    let fallback: Arc<dyn Connector> = Arc::new(JsonLines::open(effects)?);
    let delivery =
        DeliveryThreads::new(&engine, &Arc::new(plan.clone()), &delivery, Some(&fallback))
            .map_err(UsageError::new)?;
    let runtime = Runtime::timers_only(engine);
    let target = effects.map_or_else(
        || "standard output".to_string(),
        |p| p.display().to_string(),
    );
    tokio
        // The dispatchers move to their threads, and are dropped there.
        .block_on(async move {
            // The handlers exist before the ready line, so a stop right after it is graceful.
            let stop = Shutdown::listen()?;
            eprintln!(
                "procc run: deployed {hash} ({} templates) into {}; delivering effects (letters and portal syncs as JSON lines to {target}); Ctrl-C stops",
                plan.templates.len(),
                place,
            );
            let (stopping, stopped) = tokio::sync::watch::channel(false);
            // Whichever part ends first (a signal, or the timers or the delivery failing)
            // stops the others, and every part is waited for: the attempts in flight finish
            // and are recorded even when the timers fail.
            let signal = async {
                tokio::select! {
                    () = stop.wait() => {}
                    () = until_stopped(stopped.clone()) => {}
                }
                stopping.send_replace(true);
            };
            let ((), worked) = tokio::join!(
                signal,
                timers_and_delivery(runtime, delivery, &stopping)
            );
            worked.map_err(|e| UsageError::new(format!("the runtime stopped: {e}")))
        })?;
    eprintln!("procc run: stopped; every committed state is in {place}");
    Ok(crate::EXIT_CLEAN)
}

/// Completes when `stopped` turns true or its sender is gone.
pub(crate) async fn until_stopped(mut stopped: tokio::sync::watch::Receiver<bool>) {
    let _ = stopped.wait_for(|stop| *stop).await;
}

/// Runs the timers and the delivery until `stopping` turns true; whichever ends first (a
/// failure) sets it for the other, and both are waited for, so the attempts in flight are
/// recorded. The timers' failure, else the delivery's.
pub(crate) async fn timers_and_delivery(
    runtime: Runtime<AnyStore>,
    delivery: DeliveryThreads<AnyStore>,
    stopping: &tokio::sync::watch::Sender<bool>,
) -> procc_runtime::Result<()> {
    let stopped = stopping.subscribe();
    let timers = async {
        let timers = runtime.run(until_stopped(stopped.clone())).await;
        stopping.send_replace(true);
        timers
    };
    let delivered = async {
        let delivered = delivery.run(stopped.clone()).await;
        stopping.send_replace(true);
        delivered
    };
    let (timers, delivered) = tokio::join!(timers, delivered);
    timers.and(delivered)
}

/// Ctrl-C and, on Unix, SIGTERM, listened to from the moment it is made.
pub(crate) struct Shutdown {
    #[cfg(unix)]
    interrupt: tokio::signal::unix::Signal,
    #[cfg(unix)]
    terminate: tokio::signal::unix::Signal,
}

impl Shutdown {
    pub(crate) fn listen() -> Result<Shutdown, UsageError> {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            let fail =
                |e: std::io::Error| UsageError::new(format!("cannot listen for signals: {e}"));
            Ok(Shutdown {
                interrupt: signal(SignalKind::interrupt()).map_err(fail)?,
                terminate: signal(SignalKind::terminate()).map_err(fail)?,
            })
        }
        #[cfg(not(unix))]
        {
            Ok(Shutdown {})
        }
    }

    /// Completes when a stop is asked for.
    pub(crate) async fn wait(mut self) {
        #[cfg(unix)]
        {
            tokio::select! {
                _ = self.interrupt.recv() => {}
                _ = self.terminate.recv() => {}
            }
        }
        #[cfg(not(unix))]
        {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}
