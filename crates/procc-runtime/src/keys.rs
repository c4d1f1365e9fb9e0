//! The rule for the ids and keys callers hand to the engine: record ids, linked ids,
//! idempotency keys, event ids, occurrences, endpoints.

use crate::{Error, Result};

/// The longest id or key the engine takes, in bytes.
pub const MAX_KEY: usize = 200;

/// The longest occurrence [`Engine::record_event`](crate::Engine::record_event) takes, in
/// bytes: a CRM's event id of up to [`MAX_KEY`] bytes with room for the short tag a caller
/// adds to tell the events of one save apart (the server's `email/{id}`, `{id}/status`).
pub const MAX_OCCURRENCE: usize = MAX_KEY + 16;

/// Refuses an id or key longer than [`MAX_KEY`] bytes or holding a control character, with
/// [`Error::InvalidInput`] naming it as `what` ("the record id"): none belongs in an id, and
/// PostgreSQL cannot store a NUL in text, so such a key would otherwise fail inside the store
/// (and only on PostgreSQL).
pub fn check_key(what: &str, key: &str) -> Result<()> {
    check_bounded(what, key, MAX_KEY)
}

/// [`check_key`] for an endpoint (a webhook URL without its query), of any length: a URL may be
/// long, and the engine disables an endpoint it is told is gone whatever its length, so an
/// operator must be able to name it to enable it again. Only control characters are refused.
pub(crate) fn check_endpoint(endpoint: &str) -> Result<()> {
    check_bounded("the endpoint", endpoint, usize::MAX)
}

/// [`check_key`] for an occurrence, which may be up to [`MAX_OCCURRENCE`] bytes long.
pub(crate) fn check_occurrence(occurrence: &str) -> Result<()> {
    check_bounded("the occurrence", occurrence, MAX_OCCURRENCE)
}

fn check_bounded(what: &str, key: &str, max: usize) -> Result<()> {
    if key.len() > max {
        return Err(Error::InvalidInput(format!(
            "{what} is longer than {max} bytes"
        )));
    }
    if key.chars().any(char::is_control) {
        return Err(Error::InvalidInput(format!(
            "{what} holds a control character"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_limit_is_in_bytes_and_every_control_character_counts() {
        assert_eq!(check_key("the id", &"é".repeat(100)), Ok(()));
        assert!(check_key("the id", &"é".repeat(101)).is_err());
        for bad in ["a\0b", "a\nb", "\u{7f}", "a\u{85}"] {
            assert_eq!(
                check_key("the id", bad),
                Err(Error::InvalidInput(
                    "the id holds a control character".into()
                ))
            );
        }
        assert_eq!(check_occurrence(&"o".repeat(MAX_OCCURRENCE)), Ok(()));
        assert_eq!(
            check_occurrence(&"o".repeat(MAX_OCCURRENCE + 1)),
            Err(Error::InvalidInput(
                "the occurrence is longer than 216 bytes".into()
            ))
        );
    }
}
