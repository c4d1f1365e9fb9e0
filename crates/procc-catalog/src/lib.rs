//! procc-catalog.
