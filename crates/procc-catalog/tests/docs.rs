//! The documentation's examples do what the documentation says.

use procc_catalog::parse_catalog;
use procc_diagnostics::{FileId, codes_by_id};

/// The fenced ```toml blocks of a Markdown text.
fn toml_blocks(markdown: &str) -> Vec<String> {
    let mut blocks = Vec::new();
    let mut current: Option<String> = None;
    for line in markdown.lines() {
        match &mut current {
            None if line.trim() == "```toml" => current = Some(String::new()),
            Some(block) if line.trim() == "```" => {
                blocks.push(std::mem::take(block));
                current = None;
            }
            Some(block) => {
                block.push_str(line);
                block.push('\n');
            }
            None => {}
        }
    }
    blocks
}

/// Adds a `[tenant]` at the end when the snippet has none.
fn complete(snippet: &str) -> String {
    if snippet.contains("[tenant]") {
        snippet.to_owned()
    } else {
        format!("{snippet}\n[tenant]\nid = \"t\"\nname = \"T\"\n")
    }
}

fn codes_of(text: &str) -> Vec<&'static str> {
    parse_catalog(FileId(0), text)
        .1
        .iter()
        .map(|d| d.code.id)
        .collect()
}

#[test]
fn code_pages_show_the_error_and_its_fix() {
    let pages = [
        ("P5001", include_str!("../../../docs/codes/P5001.md")),
        ("P5002", include_str!("../../../docs/codes/P5002.md")),
        ("P5003", include_str!("../../../docs/codes/P5003.md")),
        ("P5004", include_str!("../../../docs/codes/P5004.md")),
        ("P5005", include_str!("../../../docs/codes/P5005.md")),
        ("P5006", include_str!("../../../docs/codes/P5006.md")),
        ("P5007", include_str!("../../../docs/codes/P5007.md")),
        ("P5008", include_str!("../../../docs/codes/P5008.md")),
    ];
    for (id, page) in pages {
        let code = codes_by_id(id).expect("a registered code");
        assert_eq!(
            page.lines().next(),
            Some(format!("# {}: {}", code.id, code.slug).as_str())
        );
        let blocks = toml_blocks(page);
        assert_eq!(blocks.len(), 2, "{id}: an example and its fix");
        let wrong = codes_of(&complete(&blocks[0]));
        assert!(wrong.contains(&id), "{id}: the example reports {wrong:?}");
        let fixed = codes_of(&complete(&blocks[1]));
        if id == "P5001" {
            // The fixed snippet is valid TOML; the rest of that user is not the point.
            assert!(!fixed.contains(&id), "{id}: the fix reports {fixed:?}");
        } else {
            assert!(fixed.is_empty(), "{id}: the fix reports {fixed:?}");
        }
    }
}

#[test]
fn reference_example_is_valid() {
    let blocks = toml_blocks(include_str!("../../../docs/project-file.md"));
    let example = blocks.last().expect("a complete example");
    let (catalog, diags) = parse_catalog(FileId(0), example);
    assert!(diags.is_empty(), "{diags:#?}");
    assert!(catalog.user("k.schmidt").is_some());
    assert!(
        catalog
            .service("floorplanner")
            .is_some_and(|s| s.callable_webhook().is_none())
    );
}
