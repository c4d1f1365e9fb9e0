//! Embeds the pages of `docs/codes/*.md` for `procc explain`.
//!
//! Writes `$OUT_DIR/code_pages.rs` with `PAGES: &[(&str, &str)]`, one `(id, include_str!(page))`
//! per file named like a code (`P1001.md`), sorted by id. Other files there (a `README.md`) are
//! not pages. Cargo reruns this script when a file is added to or removed from the folder; the
//! `include_str!`s make a change to a page rebuild the crate.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

fn is_code(stem: &str) -> bool {
    stem.len() == 5 && stem.starts_with('P') && stem[1..].bytes().all(|b| b.is_ascii_digit())
}

fn main() {
    let manifest = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").expect("set by Cargo"));
    let docs = manifest.join("../../docs");
    let codes = docs.join("codes");
    // Watching `docs` too notices the folder `codes` appearing.
    println!("cargo:rerun-if-changed={}", docs.display());
    println!("cargo:rerun-if-changed={}", codes.display());
    let mut pages: Vec<(String, PathBuf)> = Vec::new();
    if let Ok(entries) = std::fs::read_dir(&codes) {
        for entry in entries.flatten() {
            let path = entry.path();
            if path.extension().is_some_and(|e| e == "md") {
                let stem = path
                    .file_stem()
                    .map(|s| s.to_string_lossy().into_owned())
                    .unwrap_or_default();
                if is_code(&stem) {
                    let path = std::fs::canonicalize(&path).unwrap_or(path);
                    pages.push((stem, path));
                }
            }
        }
    }
    pages.sort();
    let mut out = String::from(
        "/// `(code, page)` for every `docs/codes/<CODE>.md`, sorted by code.\n\
         pub(crate) static PAGES: &[(&str, &str)] = &[\n",
    );
    for (id, path) in &pages {
        let _ = writeln!(
            out,
            "    ({id:?}, include_str!({:?})),",
            path.display().to_string()
        );
    }
    out.push_str("];\n");
    let out_dir = PathBuf::from(std::env::var_os("OUT_DIR").expect("set by Cargo"));
    std::fs::write(Path::new(&out_dir).join("code_pages.rs"), out).expect("write code_pages.rs");
}
