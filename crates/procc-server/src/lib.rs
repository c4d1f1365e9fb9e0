//! `procc serve`: the HTTP API, API tokens and rights, and the dashboard, on the runtime's
//! engine.
//!
//! - [`api`]: JSON under `/api/v1`, described by the OpenAPI document at
//!   `/api/v1/openapi.json`, which is generated from the handlers and their types
//!   ([`openapi::document`]).
//! - [`auth`]: API tokens per user (only their SHA-256 is stored) and the rights of the
//!   catalog's users; a request without a valid token gets 401, one without the right 403.
//! - [`ui`]: server-rendered HTML pages (no build step, no script): my due steps, processes,
//!   an instance with its graph and history, overdue deadlines, failed deliveries.
//! - `/health` and `/metrics` (Prometheus text format), and `/decide`, the page behind the
//!   signed yes/no links of decision e-mails.
//!
//! Engine operations are synchronous store transactions; handlers run them on tokio's
//! blocking pool so that a slow disk never stalls the HTTP workers. The server holds no
//! state of its own: everything is in the engine's store, so a stop loses nothing.

pub mod api;
pub mod auth;
mod error;
mod metrics;
pub mod openapi;
pub mod ui;
mod view;

use std::future::Future;
use std::sync::Arc;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use procc_runtime::{AnyStore, Engine};
use tokio::net::TcpListener;

pub use error::ApiError;
pub use metrics::Metrics;

/// The engine the server runs on.
pub type ServerEngine = Engine<AnyStore>;

/// Requests larger than this are refused with 413 (plans are deployed through
/// [`PLAN_BODY_LIMIT`]).
pub const BODY_LIMIT: usize = 256 * 1024;
/// The largest plan `POST /api/v1/plans` accepts.
pub const PLAN_BODY_LIMIT: usize = 32 * 1024 * 1024;

/// What every handler shares.
#[derive(Clone)]
pub struct AppState {
    engine: Arc<ServerEngine>,
    metrics: Arc<Metrics>,
}

impl AppState {
    /// The state of a server on this engine.
    pub fn new(engine: Arc<ServerEngine>) -> AppState {
        AppState {
            engine,
            metrics: Arc::new(Metrics::new()),
        }
    }

    /// The engine.
    pub fn engine(&self) -> &Arc<ServerEngine> {
        &self.engine
    }

    /// Runs an engine operation on the blocking pool.
    pub(crate) async fn run<T, F>(&self, operation: F) -> Result<T, ApiError>
    where
        T: Send + 'static,
        F: FnOnce(&ServerEngine) -> Result<T, ApiError> + Send + 'static,
    {
        let engine = self.engine.clone();
        tokio::task::spawn_blocking(move || operation(&engine))
            .await
            .map_err(|e| ApiError::internal(format!("the operation did not finish: {e}")))?
    }
}

/// The whole application: API, dashboard, health, metrics and decision links.
pub fn router(state: AppState) -> Router {
    Router::new()
        .merge(api::routes())
        .merge(ui::routes())
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            metrics::track,
        ))
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .with_state(state)
}

/// Serves `router(state)` on `listener` until `shutdown` completes; requests in flight
/// finish first.
pub async fn serve(
    listener: TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, router(state))
        .with_graceful_shutdown(shutdown)
        .await
}
