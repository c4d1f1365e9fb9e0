//! Receivers that fail.
