//! Tests of the runtime: every semantic on every store (memory, SQLite, PostgreSQL) where it matters.

#![allow(missing_docs)]
// Helpers outside `#[test]` functions unwrap too; a failure is a test failure.
#![allow(clippy::unwrap_used)]

mod common;
mod delivery;
mod durability;
mod example;
mod fixtures;
mod flow;
mod group;
mod indexes;
mod invalid;
mod keys;
mod scheduler;
mod time;
mod triggers;
mod workers;
