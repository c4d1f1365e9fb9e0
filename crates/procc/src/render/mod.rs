//! Renderers of a [`Report`](crate::report::Report): one module per `--format`.
//!
//! Each renderer returns the whole output as a `String` (so it can be snapshot-tested) and is
//! tested against the same small diagnostic set, `report::fixture`.

pub(crate) mod github;
pub(crate) mod human;
pub(crate) mod json;
pub(crate) mod sarif;

/// Where the page of a code lives in the repository, for links in SARIF; `None` while the
/// workspace's Cargo.toml names no `repository` (procc invents no address).
pub(crate) fn code_page_url(id: &str) -> Option<String> {
    repository_url().map(|repository| format!("{repository}/blob/main/docs/codes/{id}.md"))
}

/// The project's home: the `repository` of Cargo.toml, when set.
pub(crate) fn repository_url() -> Option<&'static str> {
    let from_cargo: &'static str = env!("CARGO_PKG_REPOSITORY");
    (!from_cargo.is_empty()).then_some(from_cargo)
}
