//! Every diagnostic code has a page `docs/codes/<CODE>.md`, and every page there is a code.

use std::collections::BTreeSet;
use std::path::Path;

use procc_diagnostics::ALL_CODES;

#[test]
fn every_code_has_a_page_and_every_page_is_a_code() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/codes");
    let pages: BTreeSet<String> = std::fs::read_dir(&dir)
        .map(|entries| {
            entries
                .flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|name| name.ends_with(".md") && name != "README.md")
                .map(|name| name.trim_end_matches(".md").to_owned())
                .collect()
        })
        .unwrap_or_default();
    let codes: BTreeSet<String> = ALL_CODES.iter().map(|c| c.id.to_owned()).collect();
    let missing: Vec<_> = codes.difference(&pages).collect();
    let stray: Vec<_> = pages.difference(&codes).collect();
    assert!(
        missing.is_empty() && stray.is_empty(),
        "codes without a page docs/codes/<CODE>.md: {missing:?}\npages that are no code: {stray:?}"
    );
}
