//! procc-syntax.
