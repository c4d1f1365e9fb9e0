//! The procc runtime: durable execution of compiled plans, on real time and on virtual time.
//!
//! Depends on `procc-plan` only (never on the parser). The pieces:
//!
//! - [`Engine`]: the synchronous core. Every operation ([`Engine::start`],
//!   [`Engine::complete_step`], [`Engine::skip`], [`Engine::cancel`], [`Engine::reassign`],
//!   [`Engine::record_event`], [`Engine::daily_scan`], [`Engine::fire_due`], ...) is **one store
//!   transaction** that changes the instance, its steps, timers and work items, writes the
//!   audit rows and the effects (outbox rows) together. A refused operation returns a typed
//!   [`Error`] and changes nothing. [`Engine::batch`] applies many operations in one
//!   transaction (one commit), each isolated by a savepoint. The ids and keys callers hand in
//!   are checked, and a refused one changes nothing: record ids, links, idempotency keys and
//!   event ids ([`check_key`]: at most [`MAX_KEY`] bytes, no control character), occurrences
//!   (up to [`MAX_OCCURRENCE`] bytes) and endpoints (URLs: no control character).
//! - [`Store`] / [`Tx`]: storage behind a transaction trait. [`SqliteStore`] (one file, WAL,
//!   `synchronous=FULL`, ordered migrations at open), [`PostgresStore`] (several workers on
//!   one database: serializable transactions, timers and effects claimed with
//!   `SKIP LOCKED` and a lease, `LISTEN`/`NOTIFY` wake-ups) and [`MemoryStore`] (same
//!   semantics, for simulation and tests); [`AnyStore`] is either durable one, chosen at
//!   start. Instance rows carry a `version` checked on every update (optimistic concurrency,
//!   [`Error::Conflict`] makes the engine retry the operation); due timers are claimed with a
//!   lease ([`Tx::claim_due`]).
//! - [`Clock`]: [`SystemClock`] and [`VirtualClock`]; [`Engine::advance_to`] drives a virtual
//!   clock deterministically, firing every due timer in order at its due time.
//! - [`Connector`]: delivers outbox rows (e-mail, SMS, webhook, letter, portal) at least once
//!   with a stable idempotency key; [`RecordingConnector`] keeps them for tests.
//! - [`Runtime`]: the tokio scheduler. It sleeps until the next due timer or delayed effect,
//!   and is woken early by a `Notify` when a write adds timers or effects; it never polls.
//!
//! # Model
//!
//! A deployed plan is stored by hash; the last deployed is current. An instance records the
//! plan hash it started with and stays on it. Instance status is `running_due` (a step waits
//! for a person), `running_waiting` (only scheduled steps, or a webhook step waiting for its
//! delivery: `StepRow::awaits_delivery`), `completed` or `cancelled` (with
//! who and when). A step row exists once the flow reaches the step and holds its latest
//! *visit*: state (`scheduled(at)`, `active`, `done`, `skipped`, `cancelled`), the degraded
//! reason of an automatic step that became manual, the responsible user, activation and
//! completion times, the deadline rungs fired in this visit, the decision answer and the task.
//! Timers (activate a step, fire a rung) carry the visit they belong to: a timer of an older
//! visit does nothing, so each rung fires at most once per step instance even when a timer is
//! delivered twice. Work items are the inbox. Records (addresses, properties, projects) hold
//! JSON fields typed by the plan's module schemas; `status`, `supervisor`, `email` and
//! `mobile` are fields. Artefacts are what steps create (tasks, appointments, letters,
//! resubmissions, activity entries).
//!
//! # Time
//!
//! - `N hours`: exactly N × 3600 seconds.
//! - `N days`: the same local wall-clock time N calendar days later in the tenant's time zone
//!   ([`EngineConfig::time_zone`], else the zone of the plan's first calendar, else UTC).
//! - `N business days` on a calendar: the same local time on the N-th following day that is
//!   neither one of the calendar's weekend days nor one of its holidays, in the calendar's
//!   zone.
//! - A local time that does not exist (clocks go forward) moves forward by the gap (02:30
//!   becomes 03:30); one that exists twice (clocks go back) is the earlier instant.
//! - Step delays count from the moment the previous step finished; deadline rungs from the
//!   step's activation.
//!
//! See `docs/runtime.md` for the full semantics.

mod clock;
mod details;
mod effects;
mod engine;
mod error;
mod eval;
mod keys;
mod model;
mod scheduler;
mod store;
mod time;
mod token;

pub use clock::{Clock, SystemClock, VirtualClock};
pub use effects::{AttemptReport, AttemptResult, Connector, RecordingConnector, endpoint_of};
pub use engine::{
    Applied, Engine, EngineConfig, InboxEntry, InstanceView, Operation, RecordEvent, StartRequest,
    StepInput, Subscription, ViewOf,
};
pub use error::{Error, Result};
pub use eval::{Scope, Val, eval, typed};
pub use keys::{MAX_KEY, MAX_OCCURRENCE, check_key};
pub use model::*;
pub use scheduler::Runtime;
pub use store::{AnyStore, Delivery, Listener, MemoryStore, PostgresStore, SqliteStore, Store, Tx};
pub use time::{add_delay, next_local_time, resolve_local};
pub use token::DecisionToken;
