//! Real delivery of the runtime's outbox (the layer above `procc-runtime`, below the command
//! line).
//!
//! - [`marketplace`]: signing and verifying marketplace calls (lowercase-hex HMAC-SHA256 over
//!   the full URL with its parameters sorted by name).
//! - [`standard`]: Standard Webhooks signatures for free webhooks (`webhook-id`,
//!   `webhook-timestamp`, `webhook-signature`), several secrets at once for rotation.
//! - [`Deliverer`]: one attempt of one effect: webhooks over HTTP (reqwest with rustls),
//!   e-mail over SMTP (lettre), SMS through an HTTP gateway; the answer classified
//!   ([`Verdict`]).
//! - [`Dispatcher`]: the asynchronous delivery loop: claims due effects from the engine,
//!   runs attempts concurrently within an overall limit and a limit per endpoint, schedules
//!   retries with exponential backoff and jitter (or the receiver's `Retry-After`), and
//!   records every attempt.
//! - [`DeliveryThreads`]: a dispatcher on each of several threads of their own (one per core,
//!   at most `per_endpoint` and `concurrency`), as `procc run` and `procc serve` deliver.
//! - [`DeliveryConfig`]: the `[delivery]`, `[smtp]` and `[sms_gateway]` tables of
//!   `procc.toml`.
//!
//! See `docs/delivery.md` for the semantics.

pub mod config;
mod dispatcher;
mod http;
mod mail;
pub mod marketplace;
pub mod standard;
mod threads;

pub use config::{ConfigError, DeliveryConfig};
pub use dispatcher::Dispatcher;
pub use http::{Attempt, Deliverer, EXCERPT_BYTES, SMS_MAX_CHARS, Verdict, retry_after, sms_text};
pub use threads::DeliveryThreads;
