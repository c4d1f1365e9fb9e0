//! The project file `procc.toml`: the tenant catalog that `.proc` templates are checked against.
//!
//! [`parse_catalog`] reads the file's text into a [`Catalog`] (users, groups, record fields and
//! statuses, marketplace services, e-mail/letter/SMS templates, portals, activity kinds, record
//! filters, business calendars, project templates, mailboxes, and which `.proc` files belong to
//! the project) and reports every problem at once as [`Diagnostic`]s with codes `P5001`–`P5006`
//! and exact byte spans into the text. The format is described in `docs/project-file.md`.
//!
//! The crate is pure: no IO, no clock, and no input makes it panic.

mod check;
mod model;
mod parse;

pub use model::{
    ActivityFeature, ActivityKind, Calendar, Catalog, CatalogEntry, DEFAULT_FILES, EmailTemplate,
    Field, FieldType, Filter, Group, HttpMethod, LetterKind, LetterTemplate, Mailbox, Module,
    ModuleDef, Parameter, ParameterValues, Portal, ProjectTemplate, Right, SecretSource, Service,
    SmsTemplate, Tenant, User, Webhook,
};

use procc_diagnostics::{Diagnostic, FileId};

/// Reads `procc.toml`.
///
/// Returns the best-effort catalog and every problem found, sorted by position:
///
/// - When the text is not valid TOML, only the syntax errors (`P5001`) are reported; the catalog
///   holds what could be read around them.
/// - Otherwise every unknown key (`P5002`), missing key (`P5003`), invalid value (`P5004`),
///   duplicate id (`P5005`) and unknown reference (`P5006`) is reported. An entry with a
///   missing or invalid value, or whose id repeats an earlier entry's, is left out of the
///   catalog; an unknown key is only reported; a reference to an undeclared id (a user's group)
///   is reported and dropped while the entry stays.
pub fn parse_catalog(file: FileId, text: &str) -> (Catalog, Vec<Diagnostic>) {
    parse::read(file, text)
}
