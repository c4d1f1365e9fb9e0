//! The pest parser generated from `grammar/proc.pest`.

use pest_derive::Parser;

/// The parser; `Rule` names the grammar's rules.
#[derive(Parser)]
#[grammar = "../../grammar/proc.pest"]
pub(crate) struct ProcParser;

/// Words with a fixed meaning in the grammar itself (settings words are checked in the lowering).
pub const GRAMMAR_KEYWORDS: &[&str] = &[
    "process", "step", "deadline", "when", "yes", "no", "and", "or", "not", "in",
];
