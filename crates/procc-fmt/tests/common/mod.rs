//! Shared by the formatter's tests: the invariants.

#![allow(dead_code)]

use procc_diagnostics::FileId;
use procc_fmt::{equivalent, format};

/// The comment texts of a file, in order, without trailing whitespace.
pub fn comments(text: &str) -> Vec<String> {
    procc_syntax::parse(FileId(0), text)
        .0
        .comments
        .iter()
        .map(|c| c.text.trim_end().to_string())
        .collect()
}

/// Formats `text` (which must have no syntax errors) and checks the invariants: the output
/// parses without problems to an equivalent tree, and formatting it again changes nothing.
/// `ordered` also demands the comments in the same order. Returns the formatted text.
pub fn check(name: &str, text: &str, ordered: bool) -> String {
    let formatted = match format(FileId(0), text) {
        Ok(formatted) => formatted,
        Err(diagnostics) => panic!("{name}: refused to format: {diagnostics:#?}\n{text}"),
    };
    let (before, warnings) = procc_syntax::parse(FileId(0), text);
    let (after, diagnostics) = procc_syntax::parse(FileId(0), &formatted);
    let codes =
        |d: &[procc_diagnostics::Diagnostic]| d.iter().map(|d| d.code.id).collect::<Vec<_>>();
    assert_eq!(
        codes(&diagnostics),
        codes(&warnings),
        "{name}: the formatted text has other problems than the input\n--- input\n{text}\n--- formatted\n{formatted}"
    );
    assert!(
        equivalent(&before, &after),
        "{name}: formatting changed the tree\n--- input\n{text}\n--- formatted\n{formatted}\n--- before\n{before:#?}\n--- after\n{after:#?}"
    );
    if ordered {
        assert_eq!(
            comments(text),
            comments(&formatted),
            "{name}: comments out of order\n--- input\n{text}\n--- formatted\n{formatted}"
        );
    }
    let again = format(FileId(0), &formatted).expect("formatted text formats");
    assert_eq!(
        again,
        formatted,
        "{name}: not idempotent\n--- input\n{text}\n--- diff\n{}",
        procc_fmt::diff(name, &formatted, &again)
    );
    formatted
}
