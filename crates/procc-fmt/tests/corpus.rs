//! The invariants on every `.proc` file of the repository, and robustness on broken input.

mod common;
/// The syntax tests' helper that lists the repository's `.proc` files.
#[path = "../../procc-syntax/tests/common/mod.rs"]
mod files;

use procc_diagnostics::FileId;

#[test]
fn examples_and_passing_cases_format_stably_to_the_same_tree() {
    let files: Vec<_> = files::repo_files("examples")
        .into_iter()
        .chain(files::repo_files("tests/pass"))
        .collect();
    assert!(files.len() >= 10, "expected the examples and tests/pass");
    for path in files {
        let text = std::fs::read_to_string(&path).unwrap();
        common::check(&path.display().to_string(), &text, true);
    }
}

#[test]
fn failing_cases_are_refused_or_formatted_stably() {
    let files = files::repo_files("tests/fail");
    assert!(!files.is_empty());
    let mut refused = 0;
    for path in files {
        let Ok(bytes) = std::fs::read(&path) else {
            continue;
        };
        let text = String::from_utf8_lossy(&bytes);
        let (_, diagnostics) = procc_syntax::parse(FileId(0), &text);
        if diagnostics.iter().any(|d| d.is_error()) {
            let refusal = procc_fmt::format(FileId(0), &text).unwrap_err();
            assert_eq!(refusal, diagnostics, "{}", path.display());
            refused += 1;
        } else {
            // Checker errors are no reason not to format.
            common::check(&path.display().to_string(), &text, true);
        }
    }
    assert!(refused > 0);
}

/// Every prefix and some mutilations of the repository's files: formatting never panics, and
/// whatever it accepts it formats stably.
#[test]
fn formatting_never_panics_on_broken_input() {
    let files: Vec<_> = files::repo_files("examples")
        .into_iter()
        .chain(files::repo_files("tests/pass"))
        .collect();
    for path in files {
        let text = std::fs::read_to_string(&path).unwrap();
        let cuts: Vec<usize> = (0..text.len())
            .step_by(7)
            .filter(|&i| text.is_char_boundary(i))
            .collect();
        for &cut in &cuts {
            let prefix = &text[..cut];
            if let Ok(formatted) = procc_fmt::format(FileId(0), prefix) {
                common::check(&format!("{} up to {cut}", path.display()), prefix, true);
                let _ = formatted;
            }
            let mut removed = text.clone();
            removed.replace_range(
                cut..text[cut..]
                    .chars()
                    .next()
                    .map_or(cut, |c| cut + c.len_utf8()),
                "",
            );
            let _ = procc_fmt::format(FileId(0), &removed);
        }
    }
    for junk in [
        "",
        "\n\n",
        "// only a comment",
        "}",
        "{",
        "process",
        "process p {",
        "process p {}",
        "process p { step a: end } }",
        "\"\"\"",
        "process p \"\"\"\n",
        "\u{feff}process p {}",
        "process p {\r\n  step a: end\r\n}\r\n",
        "process p {\r  step a: end // c\r}\r",
        "((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((",
    ] {
        if procc_fmt::format(FileId(0), junk).is_ok() {
            common::check(&format!("{junk:?}"), junk, true);
        }
    }
}
