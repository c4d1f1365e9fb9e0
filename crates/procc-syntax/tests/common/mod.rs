//! Helpers shared by the syntax tests (and, by path, the formatter's).

/// The `.proc` files below `dir` of the repository, sorted.
pub fn repo_files(dir: &str) -> Vec<std::path::PathBuf> {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .join(dir);
    let mut out = Vec::new();
    let mut stack = vec![root];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(dir).expect("readable folder") {
            let path = entry.expect("readable entry").path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "proc") {
                out.push(path);
            }
        }
    }
    out.sort();
    out
}
