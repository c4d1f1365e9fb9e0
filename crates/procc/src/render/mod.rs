//! Renderers of a [`Report`](crate::report::Report): one module per `--format`.
//!
//! Each renderer returns the whole output as a `String` (so it can be snapshot-tested) and is
//! tested against the same small diagnostic set, `report::fixture`.

pub(crate) mod github;
pub(crate) mod human;
pub(crate) mod json;
pub(crate) mod sarif;

/// Where the page of a code lives in the repository, for links in SARIF.
pub(crate) fn code_page_url(id: &str) -> String {
    format!("{}/blob/main/docs/codes/{id}.md", repository_url())
}

/// The project's home: the `repository` of Cargo.toml when set.
pub(crate) fn repository_url() -> &'static str {
    const FROM_CARGO: &str = env!("CARGO_PKG_REPOSITORY");
    if FROM_CARGO.is_empty() {
        // Until `repository` is set in the workspace's Cargo.toml.
        "https://github.com/procc-lang/procc"
    } else {
        FROM_CARGO
    }
}
