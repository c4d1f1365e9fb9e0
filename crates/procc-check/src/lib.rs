//! procc-check.
