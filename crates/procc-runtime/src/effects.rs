//! Delivering the outbox: connectors behind a trait, and one that records what it is given.

use std::sync::Mutex;

use chrono::{DateTime, Utc};

use crate::model::{EffectKind, OutboxRow};

/// What one delivery attempt found, for [`Engine::record_attempt`](crate::Engine::record_attempt).
#[derive(Debug, Clone, PartialEq)]
pub struct AttemptReport {
    /// The claim the attempt belongs to: the effect's [`OutboxRow::attempts`] as claimed. A
    /// result of an older claim (its worker stalled past the lease and another took the effect
    /// over) is logged but changes nothing, unless it says the effect was delivered.
    pub attempt: u32,
    /// When the attempt started.
    pub started_at: DateTime<Utc>,
    /// The receiver's status code (HTTP status, SMTP reply code), when it answered.
    pub status: Option<u16>,
    /// How long the attempt took.
    pub latency: std::time::Duration,
    /// The start of the receiver's answer, bounded by the connector.
    pub excerpt: Option<String>,
    /// How it ended.
    pub result: AttemptResult,
}

/// How a delivery attempt ended, and what happens next.
#[derive(Debug, Clone, PartialEq)]
pub enum AttemptResult {
    /// The receiver took the effect.
    Delivered,
    /// It failed; try again at `at`.
    Retry {
        /// When to try again.
        at: DateTime<Utc>,
        /// What went wrong (no secrets).
        error: String,
    },
    /// It failed for good: the receiver refused it, or the retries are exhausted.
    Failed {
        /// What went wrong (no secrets).
        error: String,
    },
    /// The endpoint answered 410 Gone: it is disabled until an operator enables it again
    /// (see [`endpoint_of`]).
    Gone {
        /// What went wrong.
        error: String,
    },
}

/// The endpoint of an effect, which is disabled as a whole after a 410 Gone: a webhook's URL
/// without its query, else the kind (`email`, `sms`, `letter`, `portal`).
pub fn endpoint_of(effect: &OutboxRow) -> &str {
    match effect.kind {
        EffectKind::Webhook => effect.to.split(['?', '#']).next().unwrap_or(&effect.to),
        EffectKind::Email => "email",
        EffectKind::Sms => "sms",
        EffectKind::Letter => "letter",
        EffectKind::Portal => "portal",
    }
}

/// Hands effects to the outside world (SMTP, SMS gateway, HTTP, print, portals).
///
/// Delivery is at least once: after a crash an effect may be handed over again, always with
/// the same [`OutboxRow::idempotency_key`], which a connector uses to drop duplicates.
pub trait Connector: Send + Sync {
    /// Delivers one effect; an error leaves it in the outbox for a later attempt.
    fn deliver(&self, effect: &OutboxRow) -> Result<(), String>;
}

/// A connector that keeps every effect it is given (for tests and simulation).
#[derive(Debug, Default)]
pub struct RecordingConnector {
    delivered: Mutex<Vec<OutboxRow>>,
    failing: Mutex<bool>,
}

impl RecordingConnector {
    /// An empty recorder.
    pub fn new() -> RecordingConnector {
        RecordingConnector::default()
    }
    /// Everything delivered so far, in order.
    pub fn delivered(&self) -> Vec<OutboxRow> {
        self.delivered.lock().map(|d| d.clone()).unwrap_or_default()
    }
    /// Makes every delivery fail (or succeed again).
    pub fn set_failing(&self, failing: bool) {
        if let Ok(mut f) = self.failing.lock() {
            *f = failing;
        }
    }
}

impl Connector for RecordingConnector {
    fn deliver(&self, effect: &OutboxRow) -> Result<(), String> {
        if self.failing.lock().map(|f| *f).unwrap_or(false) {
            return Err("the connector is down".to_string());
        }
        self.delivered
            .lock()
            .map_err(|_| "recorder poisoned".to_string())?
            .push(effect.clone());
        Ok(())
    }
}
