//! The `.proc` language: grammar, typed syntax tree and parsing.
//!
//! [`parse`] turns the text of one file into an [`ast::File`] plus every syntax problem found,
//! never stopping at the first: the grammar (`grammar/proc.pest`) is line oriented and reads a
//! line it does not understand as an invalid item, which [`parse`] then reports precisely and
//! skips. [`decode`] checks raw bytes (size, binary content, UTF-8) before parsing.
//!
//! Architecture invariant: this crate does no IO, reads no clock and never panics on input.

pub mod ast;
mod decode;
mod expr;
mod grammar;
mod lower;
mod scan;
mod settings;
mod tree;

pub use decode::{Decoded, MAX_FILE_BYTES, decode};
pub use grammar::GRAMMAR_KEYWORDS;
pub use tree::Rules;

use procc_diagnostics::{Diagnostic, FileId, code};

/// Brackets and braces may nest this deep; deeper input is refused before parsing.
pub const MAX_NESTING: usize = 64;

/// Parses one file. The tree holds everything that could be read; the diagnostics say what
/// could not, all of it, in source order.
pub fn parse(file: FileId, text: &str) -> (ast::File, Vec<Diagnostic>) {
    parse_with(file, text, Rules::Reading)
}

/// Parses one file with the chosen set of grammar rules. Both give the same result (the
/// agreement test holds them to it); [`parse`] uses the faster reading rules.
pub fn parse_with(file: FileId, text: &str, rules: Rules) -> (ast::File, Vec<Diagnostic>) {
    let comments = match scan::check_structure(file, text) {
        Ok(comments) => comments,
        Err(problem) => {
            let empty = ast::File {
                processes: Vec::new(),
                comments: Vec::new(),
            };
            return (empty, vec![*problem]);
        }
    };
    let mut reader = tree::Reader::new(file, text, comments);
    let items = reader.read_file(rules);
    let processes = lower::lower_file(&mut reader, items);
    let tree::Reader {
        comments,
        mut diagnostics,
        ..
    } = reader;
    if processes.is_empty() && diagnostics.is_empty() {
        diagnostics.push(
            Diagnostic::new(
                code::EMPTY_FILE,
                file,
                procc_diagnostics::Span::at(0),
                "the file holds no process template",
                "nothing here",
            )
            .with_help(
                "write `process name \"Title\" { ... }`, or remove the file from the project",
            ),
        );
    }
    diagnostics.sort_by_key(|d| (d.primary_span().start, d.code.id));
    (
        ast::File {
            processes,
            comments,
        },
        diagnostics,
    )
}
