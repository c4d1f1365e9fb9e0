//! `procc serve`, `procc token` and `procc endpoint`: the HTTP API and dashboard on the
//! runtime, API tokens, and endpoints disabled after a 410 Gone.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use procc_delivery::{DeliveryConfig, DeliveryThreads};
use procc_runtime::{Connector, Engine, Runtime, SystemClock};
use procc_server::{AppState, ServerEngine};

use crate::project::UsageError;
use crate::run::{
    Database, JsonLines, Shutdown, hear_other_workers, timers_and_delivery, until_stopped,
};

/// How to serve.
pub(crate) struct ServeOptions<'a> {
    /// Where to listen.
    pub(crate) listen: SocketAddr,
    /// The address users reach the server at (decision links point there).
    pub(crate) public_url: Option<String>,
    /// The database.
    pub(crate) db: Database<'a>,
    /// Where effects go (JSON lines), standard output when `None`.
    pub(crate) effects: Option<&'a Path>,
    /// Records to import at start.
    pub(crate) seed: Option<PathBuf>,
    /// Print a new token for this user at start.
    pub(crate) token_for: Option<String>,
    /// How effects are delivered.
    pub(crate) delivery: DeliveryConfig,
}

fn open_engine(
    db: &Database<'_>,
    public_url: &str,
    signs_links: bool,
) -> Result<Arc<ServerEngine>, UsageError> {
    let (store, mut config) = db.open(signs_links)?;
    config.decision_base_url = format!("{}/decide", public_url.trim_end_matches('/'));
    Ok(Arc::new(Engine::new(store, Arc::new(SystemClock), config)))
}

/// Deploys `plan` and serves until Ctrl-C or SIGTERM; requests in flight finish, the engine
/// stops between transactions.
pub(crate) fn serve(plan: &procc_plan::Plan, options: ServeOptions<'_>) -> Result<u8, UsageError> {
    let tokio = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| UsageError::new(format!("cannot start the runtime: {e}")))?;
    let listener = tokio
        .block_on(tokio::net::TcpListener::bind(options.listen))
        .map_err(|e| UsageError::new(format!("cannot listen on {}: {e}", options.listen)))?;
    // The bound address, so that `--listen 127.0.0.1:0` prints the port it got.
    let address = listener
        .local_addr()
        .map_err(|e| UsageError::new(format!("cannot read the listening address: {e}")))?;
    let public_url = options
        .public_url
        .clone()
        .unwrap_or_else(|| format!("http://{address}"));
    let engine = open_engine(&options.db, &public_url, true)?;
    let _listener = hear_other_workers(&engine)?;
    let hash = engine
        .deploy(plan)
        .map_err(|e| UsageError::new(format!("cannot deploy the plan: {e}")))?;
    if let Some(seed) = &options.seed {
        let text = std::fs::read_to_string(seed)
            .map_err(|e| UsageError::new(format!("cannot read `{}`: {e}", seed.display())))?;
        let count = procc_server::api::import_records(&engine, &text).map_err(|e| {
            UsageError::new(format!("cannot import `{}`: {}", seed.display(), e.message))
        })?;
        eprintln!(
            "procc serve: imported {count} records from {}",
            seed.display()
        );
    }
    let token = match &options.token_for {
        Some(user) => Some((
            user.clone(),
            procc_server::auth::create_token(&engine, user)
                .map_err(|e| UsageError::new(format!("cannot make a token: {}", e.message)))?,
        )),
        None => None,
    };
    let fallback: Arc<dyn Connector> = Arc::new(JsonLines::open(options.effects)?);
    let delivery = DeliveryThreads::new(
        &engine,
        &Arc::new(plan.clone()),
        &options.delivery,
        Some(&fallback),
    )
    .map_err(UsageError::new)?;
    let runtime = Runtime::timers_only(engine.clone());
    let db = options.db.describe(engine.config());
    let db_name = db.clone();
    tokio.block_on(async move {
        let stop = Shutdown::listen()?;
        let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
        let scheduler = {
            let stopping = stop_tx.clone();
            // Whichever ends first, the timers or the delivery (a failure), stops the other
            // and the server: `procc serve` does not go on half working.
            tokio::spawn(async move { timers_and_delivery(runtime, delivery, &stopping).await })
        };
        eprintln!(
            "procc serve: deployed {hash} ({} templates) into {db}",
            plan.templates.len()
        );
        eprintln!("procc serve: dashboard at {public_url}/  API at {public_url}/api/v1/  OpenAPI at {public_url}/api/v1/openapi.json");
        if let Some((user, token)) = &token {
            eprintln!("procc serve: API token of {user}: {token}");
        }
        eprintln!("procc serve: Ctrl-C stops");
        let server = procc_server::serve(listener, AppState::new(engine), until_stopped(stop_rx));
        tokio::pin!(server);
        let served = tokio::select! {
            result = &mut server => result,
            () = stop.wait() => {
                stop_tx.send_replace(true);
                server.await
            }
        };
        stop_tx.send_replace(true);
        served.map_err(|e| UsageError::new(format!("the server stopped: {e}")))?;
        match scheduler.await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(UsageError::new(format!("the runtime stopped: {e}"))),
            Err(e) => Err(UsageError::new(format!("the runtime failed: {e}"))),
        }
    })?;
    eprintln!("procc serve: stopped; every committed state is in {db_name}");
    Ok(crate::EXIT_CLEAN)
}

/// Makes a token for a user of the plan deployed in `db` and prints it.
pub(crate) fn create_token(db: Database<'_>, user: &str) -> Result<u8, UsageError> {
    let engine = open_engine(&db, "http://localhost", false)?;
    let token = procc_server::auth::create_token(&engine, user)
        .map_err(|e| UsageError::new(format!("cannot make a token: {}", e.message)))?;
    println!("{token}");
    Ok(crate::EXIT_CLEAN)
}

/// Revokes a token.
pub(crate) fn revoke_token(db: Database<'_>, token: &str) -> Result<u8, UsageError> {
    let engine = open_engine(&db, "http://localhost", false)?;
    let revoked = procc_server::auth::revoke_token(&engine, token)
        .map_err(|e| UsageError::new(format!("cannot revoke the token: {}", e.message)))?;
    if revoked {
        eprintln!("revoked");
        Ok(crate::EXIT_CLEAN)
    } else {
        Err(UsageError::new("the token is unknown or already revoked"))
    }
}

/// The engine on an existing database (operator commands must not create an empty one).
fn existing_engine(db: Database<'_>) -> Result<Arc<ServerEngine>, UsageError> {
    if let Database::Sqlite(path) = db
        && !path.is_file()
    {
        return Err(
            UsageError::new(format!("there is no database `{}`", path.display()))
                .with_help("name the database of `procc run` or `procc serve` with --db FILE"),
        );
    }
    open_engine(&db, "http://localhost", false)
}

/// Prints the disabled endpoints, one a line with the answer they were disabled for.
pub(crate) fn list_endpoints(db: Database<'_>) -> Result<u8, UsageError> {
    let engine = existing_engine(db)?;
    let disabled = engine
        .disabled_endpoints()
        .map_err(|e| UsageError::new(format!("cannot read the endpoints: {e}")))?;
    if disabled.is_empty() {
        eprintln!("no endpoint is disabled");
    }
    let mut out = String::new();
    for (endpoint, reason) in disabled {
        out.push_str(&format!("{endpoint}\t{reason}\n"));
    }
    crate::print_stdout(&out);
    Ok(crate::EXIT_CLEAN)
}

/// Enables a disabled endpoint; `by` (default: `$USER`, else `operator`) goes into the
/// audit history.
pub(crate) fn enable_endpoint(
    db: Database<'_>,
    endpoint: &str,
    by: Option<String>,
) -> Result<u8, UsageError> {
    let engine = existing_engine(db)?;
    let by = by
        .or_else(|| std::env::var("USER").ok())
        .filter(|b| !b.trim().is_empty())
        .unwrap_or_else(|| "operator".to_string());
    let enabled = engine
        .enable_endpoint(endpoint, &by)
        .map_err(|e| UsageError::new(format!("cannot enable the endpoint: {e}")))?;
    if !enabled {
        return Err(
            UsageError::new(format!("the endpoint `{endpoint}` is not disabled"))
                .with_help("`procc endpoint list` prints the disabled endpoints"),
        );
    }
    eprintln!("enabled {endpoint}");
    Ok(crate::EXIT_CLEAN)
}
