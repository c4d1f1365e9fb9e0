//! Delivery against real servers on loopback that the tests start and stop: HTTP receivers
//! (axum), an SMTP server (aiosmtpd) and the reference Standard Webhooks library.

#![allow(missing_docs)]
// Helpers outside `#[test]` functions unwrap too; a failure is a test failure.
#![allow(clippy::unwrap_used)]

mod common;
mod mail;
mod reliability;
mod sms;
mod threads;
mod webhooks;
