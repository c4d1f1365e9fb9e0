//! The canonical formatter of `.proc` files.
//!
//! [`format()`] prints the typed syntax tree of a file in one layout and puts every comment back
//! next to the item it was written with; [`diff`] shows what formatting changes, for
//! `procc fmt --check`; [`equivalent`] compares two trees the way formatting must preserve
//! them. Pure: no IO, no clock, no panics (on any input the parser itself survives).
//!
//! Formatting is idempotent, and the formatted text parses to the same tree (apart from spans)
//! with the same comments.
//!
//! # Layout
//!
//! - Two spaces of indentation per level; `process name "Title" {` with `}` on a line of its
//!   own; lines end with `\n` and the file with one line break.
//! - Process settings first, in this order: `description`, `active` (or `active no`), `needs`
//!   (records as written, then `email`), `controller`, `notify controller on cancel`, then the
//!   `trigger` lines as written; then one blank line; then the steps.
//! - A step with nothing inside its block is one line (`step done: end`). Otherwise its block
//!   holds the shared settings in the order `start`, `responsible`, `concerns`, `deadline`,
//!   `next`, `allow skip`, then the settings of its kind in the order of the language reference
//!   (repeated ones such as `attach` as written), then for decisions `yes ->` and `no ->`. A
//!   decision's question is always written in its head.
//! - One blank line between steps where the author left one or more, none otherwise; likewise
//!   between comment lines among the steps and around them. One blank line between processes;
//!   no blank line after `{`, before `}`, among settings, or at the start or end of the file.
//! - Each setting on a line of its own (`;` is never printed); list items separated by `, `.
//! - Only what the author wrote is printed (an absent setting stays absent), in one spelling:
//!   `active`, `signature yes`, `respect absence`, `start 2 business days after previous on
//!   "nrw"`, `reassign to ...`, lowercase HTTP methods. Words that only restate the default and
//!   leave no trace in the tree are dropped: `manual`, `portals all`. A deadline of one rung
//!   that e-mails the controller is `deadline 3 days`; in a ladder every rung names its action.
//! - Texts in double quotes, escaping `\"`, `\\`, line breaks as `\n`, tabs as `\t` and other
//!   control characters as `\u{...}`. A text with a line break, and a webhook `body`, is written
//!   in `"""` with its lines indented two spaces deeper than the line it starts on and the
//!   closing `"""` at that line's indentation, unless it would not read back the same (a
//!   trailing line break, leading blanks on every line, or `"""` inside).
//! - Numbers in their shortest exact form without a trailing `.0`; amounts in one unit
//!   spelling (`1 day`, `3 days`, `4 hours`, `2 business days`, `250000 EUR`, `120 m²`, `10%`);
//!   times as `09:00`; dates as `2026-12-24`.
//! - Expressions with single spaces around infix operators, `, ` in calls and lists, and the
//!   fewest parentheses that keep their meaning (a `not` is put in parentheses when an
//!   operator binding tighter than `and` follows it: `(not a) == b`).
//! - Comments keep their text (trailing blanks removed). A comment on its own line stays
//!   before the item that follows it, at that item's indentation, and moves with it when
//!   settings are reordered; a comment at the end of a line stays at the end of that item's
//!   line, after one space; comments at the end of a block or of the file stay there. The
//!   comments of a `question` setting stay at the top of the decision's block. A step whose
//!   block holds only comments keeps its block.

mod attach;
mod build;
mod expr;
mod layout;
mod render;
mod text;

use procc_diagnostics::{Diagnostic, FileId};
use procc_syntax::ast::File;

/// Formats a file canonically; refuses (returns the parse diagnostics) when the text has syntax errors.
///
/// Warnings of the parser (such as a file without a process) are no reason to refuse.
///
/// ```
/// use procc_diagnostics::FileId;
///
/// let text = "process p{ step a:end;active yes // on\n}";
/// let formatted = procc_fmt::format(FileId(0), text).unwrap();
/// assert_eq!(formatted, "process p {\n  active // on\n\n  step a: end\n}\n");
/// assert!(procc_fmt::format(FileId(0), "process p {").is_err());
/// ```
pub fn format(file: FileId, text: &str) -> Result<String, Vec<Diagnostic>> {
    let (tree, diagnostics) = procc_syntax::parse(file, text);
    if diagnostics.iter().any(Diagnostic::is_error) {
        return Err(diagnostics);
    }
    Ok(print(text, &tree))
}

/// Prints a parsed file; `text` is the source it was parsed from (for comments and blank lines).
fn print(text: &str, file: &File) -> String {
    let layout = build::build(text, file);
    let slots = attach::attach(text, &layout, &file.comments);
    render::Renderer {
        source: text,
        tree: &layout,
        comments: &file.comments,
        slots: &slots,
        out: String::new(),
    }
    .file()
}

/// A unified diff from `old` to `new`, for `procc fmt --check`; empty when they are equal.
///
/// The headers name `path` as it is and `path` formatted; three lines of context.
pub fn diff(path: &str, old: &str, new: &str) -> String {
    if old == new {
        return String::new();
    }
    similar::TextDiff::from_lines(old, new)
        .unified_diff()
        .context_radius(3)
        .header(path, &format!("{path} (formatted)"))
        .missing_newline_hint(true)
        .to_string()
}

/// Whether two trees say the same thing, ignoring where things were written (spans), and hold
/// the same comments (ignoring their trailing whitespace): what formatting preserves.
///
/// Comments are compared as a collection, not in order: the formatter puts settings in a fixed
/// order and their comments move with them. A `manual` written in an owner notification's head
/// only shows in a span and is not compared either.
pub fn equivalent(a: &File, b: &File) -> bool {
    let comments = |f: &File| -> Vec<String> {
        let mut texts: Vec<String> = f
            .comments
            .iter()
            .map(|c| c.text.trim_end().to_string())
            .collect();
        texts.sort();
        texts
    };
    shape(a) == shape(b) && comments(a) == comments(b)
}

/// The debug text of a file's processes with every span erased.
fn shape(file: &File) -> String {
    erase_spans(&format!("{:?}", file.processes))
        .replace("mode_span: Some(Span)", "mode_span: None")
}

/// Replaces every `Span { start: .., end: .. }` in a debug text by `Span`.
fn erase_spans(debug: &str) -> String {
    const OPEN: &str = "Span { start: ";
    let mut out = String::with_capacity(debug.len());
    let mut rest = debug;
    while let Some(at) = rest.find(OPEN) {
        out.push_str(&rest[..at]);
        out.push_str("Span");
        let after = &rest[at + OPEN.len()..];
        rest = match after.find('}') {
            Some(close) => &after[close + 1..],
            None => "",
        };
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod testing {
    pub(crate) use super::erase_spans;
}
