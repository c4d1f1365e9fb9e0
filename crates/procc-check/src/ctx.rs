//! What every check shares: the catalog, the source texts, the diagnostics found so far and a
//! bounded budget for "did you mean" suggestions.

use std::collections::HashMap;

use procc_catalog::Catalog;
use procc_diagnostics::{Diagnostic, FileId, SourceFile, Sources, Span, did_you_mean};
use procc_syntax::ast::{Module, Record};

/// How many candidate names all suggestions of one run may compare against together. A project
/// with thousands of misspelt names in a process of 100,000 steps would otherwise spend
/// quadratic time on suggestions; past the budget, diagnostics simply come without one.
const SUGGESTION_BUDGET: usize = 2_000_000;

/// The shared state of one run.
pub(crate) struct Ctx<'a> {
    /// The tenant catalog.
    pub(crate) catalog: &'a Catalog,
    /// The source files by id (a file the caller did not add is simply absent).
    files: HashMap<FileId, &'a SourceFile>,
    /// Everything found so far, in the order found.
    pub(crate) diagnostics: Vec<Diagnostic>,
    /// Candidate comparisons left for suggestions.
    budget: usize,
}

impl<'a> Ctx<'a> {
    pub(crate) fn new(sources: &'a Sources, catalog: &'a Catalog) -> Ctx<'a> {
        Ctx {
            catalog,
            files: sources.iter().collect(),
            diagnostics: Vec::new(),
            budget: SUGGESTION_BUDGET,
        }
    }

    /// Records a diagnostic.
    pub(crate) fn emit(&mut self, diagnostic: Diagnostic) {
        self.diagnostics.push(diagnostic);
    }

    /// The closest candidate to `name`, within the run's suggestion budget.
    pub(crate) fn suggest<'c>(
        &mut self,
        name: &str,
        candidates: impl IntoIterator<Item = &'c str>,
    ) -> Option<&'c str> {
        if self.budget == 0 {
            return None;
        }
        let mut used = 0usize;
        let found = did_you_mean(
            name,
            candidates
                .into_iter()
                .take(self.budget)
                .inspect(|_| used += 1),
        );
        self.budget = self.budget.saturating_sub(used);
        found
    }

    /// The text of a span, or the empty string when the file or span is unknown.
    pub(crate) fn slice(&self, file: FileId, span: Span) -> &'a str {
        self.files.get(&file).map_or("", |f| f.slice(span))
    }

    /// `name:line:col` of a position, for messages that point into another file.
    pub(crate) fn location(&self, file: FileId, span: Span) -> String {
        match self.files.get(&file) {
            Some(f) => {
                let lc = f.line_col(span.start());
                format!("{}:{}:{}", f.name(), lc.line, lc.column)
            }
            None => format!("file #{}", file.0),
        }
    }

    /// Shortened source text of an expression, for messages.
    pub(crate) fn snippet(&self, file: FileId, span: Span) -> String {
        let text = self.slice(file, span);
        let text = text.split('\n').next().unwrap_or("");
        if text.chars().count() > 40 {
            let short: String = text.chars().take(37).collect();
            format!("{short}...")
        } else {
            text.to_string()
        }
    }
}

/// The catalog's module for a module of the syntax tree.
pub(crate) fn catalog_module(module: Module) -> procc_catalog::Module {
    match module {
        Module::Address => procc_catalog::Module::Address,
        Module::Property => procc_catalog::Module::Property,
        Module::Project => procc_catalog::Module::Project,
    }
}

/// The record of a catalog module, if it is one (projects are not records).
pub(crate) fn record_of_catalog_module(module: procc_catalog::Module) -> Option<Record> {
    match module {
        procc_catalog::Module::Address => Some(Record::Address),
        procc_catalog::Module::Property => Some(Record::Property),
        procc_catalog::Module::Project => None,
    }
}

/// The record of a module, if it is one.
pub(crate) fn record_of_module(module: Module) -> Option<Record> {
    match module {
        Module::Address => Some(Record::Address),
        Module::Property => Some(Record::Property),
        Module::Project => None,
    }
}

/// Index of a record in per-record arrays.
pub(crate) fn ri(record: Record) -> usize {
    match record {
        Record::Property => 0,
        Record::Address => 1,
    }
}

/// Both records, in the order of [`ri`].
pub(crate) const RECORDS: [Record; 2] = [Record::Property, Record::Address];

/// "a property", "an address".
pub(crate) fn a_record(record: Record) -> &'static str {
    match record {
        Record::Property => "a property",
        Record::Address => "an address",
    }
}

/// The assign step kind of a record.
pub(crate) fn assign_kind(record: Record) -> &'static str {
    match record {
        Record::Property => "assign_property",
        Record::Address => "assign_address",
    }
}

/// `` `a`, `b` and `c` `` (the first `max` names, then "and N more").
pub(crate) fn name_list<'n>(names: impl IntoIterator<Item = &'n str>, max: usize) -> String {
    let mut shown: Vec<String> = Vec::new();
    let mut rest = 0usize;
    for n in names {
        if shown.len() < max {
            shown.push(format!("`{n}`"));
        } else {
            rest += 1;
        }
    }
    if rest > 0 {
        return format!("{} and {rest} more", shown.join(", "));
    }
    match shown.as_slice() {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    }
}
