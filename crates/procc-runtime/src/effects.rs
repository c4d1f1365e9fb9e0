//! Delivering the outbox: connectors behind a trait, and one that records what it is given.

use std::sync::Mutex;

use crate::model::OutboxRow;

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
