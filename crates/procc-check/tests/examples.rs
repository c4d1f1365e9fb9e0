//! The examples of the repository pass the checker without errors.

use procc_diagnostics::Sources;

#[test]
fn examples_have_no_errors() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples");
    let toml = std::fs::read_to_string(dir.join("procc.toml")).unwrap();
    let mut sources = Sources::new();
    let cat_id = sources.add("procc.toml", toml.clone());
    let (catalog, cat_diags) = procc_catalog::parse_catalog(cat_id, &toml);
    assert!(cat_diags.is_empty(), "{cat_diags:#?}");
    let mut names: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "proc"))
        .collect();
    names.sort();
    let mut trees = Vec::new();
    for path in &names {
        let text = std::fs::read_to_string(path).unwrap();
        let id = sources.add(path.file_name().unwrap().to_string_lossy(), text.clone());
        let (tree, diags) = procc_syntax::parse(id, &text);
        assert!(diags.is_empty(), "{}: {diags:#?}", path.display());
        trees.push((id, tree));
    }
    let files: Vec<_> = trees.iter().map(|(id, t)| (*id, t)).collect();
    let diags = procc_check::check(&sources, &files, &catalog);
    for d in &diags {
        let f = sources.get(d.file);
        let lc = f.line_col(d.primary_span().start());
        eprintln!(
            "{}:{}:{} {} {} [{}] help: {:?}",
            f.name(),
            lc.line,
            lc.column,
            d.code.id,
            d.message,
            f.slice(d.primary_span()),
            d.help
        );
    }
    assert!(
        diags.iter().all(|d| !d.is_error()),
        "errors in the examples"
    );
}
