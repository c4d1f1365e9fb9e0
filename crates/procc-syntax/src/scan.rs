//! A quick pass over the text before pest sees it: refuses nesting too deep for the recursive
//! parser and unbalanced braces, which would otherwise turn one missing `}` into a cascade, and
//! collects the comments (the grammar skips them silently).

use procc_diagnostics::{Diagnostic, FileId, Span, code};

use crate::ast::Comment;

use crate::MAX_NESTING;

/// Returns the comments, or the one structural problem that makes parsing pointless.
pub(crate) fn check_structure(file: FileId, text: &str) -> Result<Vec<Comment>, Box<Diagnostic>> {
    let mut comments = Vec::new();
    match walk(file, text, &mut comments) {
        Some(problem) => Err(Box::new(problem)),
        None => Ok(comments),
    }
}

/// The bytes `walk` acts on: comment, text and bracket characters.
const SPECIAL: [bool; 256] = {
    let mut table = [false; 256];
    let mut k = 0;
    let special = b"/\"{([})]";
    while k < special.len() {
        table[special[k] as usize] = true;
        k += 1;
    }
    table
};

fn walk(file: FileId, text: &str, comments: &mut Vec<Comment>) -> Option<Diagnostic> {
    let bytes = text.as_bytes();
    let mut open: Vec<(u8, usize)> = Vec::new();
    // A text left open at a line break swallows braces; when the braces then do not balance,
    // the open text is the real mistake.
    let mut unclosed_text: Option<usize> = None;
    let mut i = 0;
    while i < bytes.len() {
        // Most bytes are none of the ones looked at below; passing over them in a tight loop
        // first keeps this pass at a few instructions a byte.
        while i < bytes.len() && !SPECIAL[usize::from(bytes[i])] {
            i += 1;
        }
        let Some(&byte) = bytes.get(i) else {
            break;
        };
        match byte {
            b'/' if bytes.get(i + 1) == Some(&b'/') => {
                let start = i;
                while i < bytes.len() && bytes[i] != b'\n' {
                    i += 1;
                }
                let raw = &text[start..i];
                comments.push(Comment {
                    text: raw[2..].trim_end_matches('\r').to_string(),
                    span: Span::new(start, start + raw.trim_end_matches('\r').len()),
                });
                continue;
            }
            b'"' if bytes[i..].starts_with(b"\"\"\"") => {
                i = match text[i + 3..].find("\"\"\"") {
                    Some(end) => i + 3 + end + 3,
                    None => bytes.len(),
                };
                continue;
            }
            b'"' => {
                let start = i;
                i += 1;
                while i < bytes.len() && bytes[i] != b'"' && bytes[i] != b'\n' {
                    i += if bytes[i] == b'\\' { 2 } else { 1 };
                }
                if bytes.get(i) != Some(&b'"') {
                    unclosed_text.get_or_insert(start);
                    continue;
                }
            }
            opener @ (b'{' | b'(' | b'[') => {
                open.push((opener, i));
                if open.len() > MAX_NESTING {
                    return Some(
                        Diagnostic::new(
                            code::NESTING_TOO_DEEP,
                            file,
                            Span::new(i, i + 1),
                            format!("brackets nest more than {MAX_NESTING} levels deep"),
                            format!("level {} opens here", MAX_NESTING + 1),
                        )
                        .with_help("split the expression into simpler parts"),
                    );
                }
            }
            b'}' => match open.iter().rposition(|(o, _)| *o == b'{') {
                Some(at) => open.truncate(at),
                None => {
                    return Some(unclosed_text.map_or_else(
                        || {
                            Diagnostic::new(
                                code::SYNTAX_ERROR,
                                file,
                                Span::new(i, i + 1),
                                "unexpected `}` with no `{` to close",
                                "nothing to close here",
                            )
                            .with_help("remove this `}` or add the `{` it belongs to")
                        },
                        |at| text_never_closed(file, at),
                    ));
                }
            },
            b')' | b']' => {
                let opener = if bytes[i] == b')' { b'(' } else { b'[' };
                if open.last().is_some_and(|(o, _)| *o == opener) {
                    open.pop();
                }
            }
            _ => {}
        }
        i += 1;
    }
    if let (Some(at), Some(_)) = (unclosed_text, open.iter().find(|(o, _)| *o == b'{')) {
        return Some(text_never_closed(file, at));
    }
    open.iter().find(|(o, _)| *o == b'{').map(|&(_, at)| {
        Diagnostic::new(
            code::SYNTAX_ERROR,
            file,
            Span::new(at, at + 1),
            "this `{` is never closed",
            "opened here",
        )
        .with_help("add the missing `}` at the end of the block")
    })
}

fn text_never_closed(file: FileId, at: usize) -> Diagnostic {
    Diagnostic::new(
        code::SYNTAX_ERROR,
        file,
        Span::new(at, at + 1),
        "this text is never closed",
        "the text starts here",
    )
    .with_help(
        "close the text with `\"` on the same line; a text that spans lines is written in `\"\"\"`",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn problem(text: &str) -> Option<(String, usize)> {
        check_structure(FileId(0), text)
            .err()
            .map(|d| (d.code.id.to_string(), d.primary_span().start()))
    }

    #[test]
    fn balanced_input_passes_and_strings_and_comments_are_ignored() {
        assert_eq!(problem("process a {\n step b: task \"{\" // }\n}\n"), None);
        assert_eq!(problem("process a { body \"\"\"\n}\n\"\"\" }"), None);
    }

    #[test]
    fn unclosed_and_stray_braces_are_found() {
        assert_eq!(
            problem("process a {\n step b: task \"x\" {\n}\n"),
            Some(("P0001".into(), 10))
        );
        assert_eq!(problem("process a {}\n}"), Some(("P0001".into(), 13)));
        // The `{` inside the unclosed text is not a brace; the text is the mistake.
        assert_eq!(
            problem("process a {\n step b: task \"x {\n }\n}\n"),
            Some(("P0001".into(), 26))
        );
    }

    #[test]
    fn deep_nesting_is_refused() {
        let deep = format!(
            "process a {{ x when {}1{} }}",
            "(".repeat(10_000),
            ")".repeat(10_000)
        );
        assert_eq!(problem(&deep).map(|p| p.0), Some("P0005".into()));
    }
}
