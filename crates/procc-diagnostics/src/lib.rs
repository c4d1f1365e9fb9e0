//! Source files, byte spans, diagnostics and the registry of diagnostic codes.
//!
//! Every phase of procc (syntax, project file, checker, later the plan) reports problems as
//! [`Diagnostic`] values: plain data with a stable [`Code`], a severity, labelled byte spans and
//! an optional help line. Rendering (human, JSON, GitHub, SARIF) happens at the edge, in the
//! `procc` binary. This crate does no IO.

mod codes;
mod diagnostic;
mod source;
mod suggest;

pub use codes::{ALL_CODES, Code, codes_by_id};
pub use diagnostic::{Diagnostic, Label, Severity};
pub use source::{FileId, LineCol, SourceFile, Sources, Span};
pub use suggest::did_you_mean;

/// The codes themselves, one constant per code, named after its slug.
pub mod code {
    pub use crate::codes::all::*;
}
