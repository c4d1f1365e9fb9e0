//! The result of one `procc check` run, as every renderer sees it.

use std::collections::BTreeSet;

use procc_diagnostics::{Diagnostic, LineCol, Severity, SourceFile, Sources, Span};

/// The files of one run and every diagnostic found in them, sorted for output.
#[derive(Debug)]
pub(crate) struct Report {
    /// Every file read: the project file and the `.proc` files.
    pub(crate) sources: Sources,
    /// Sorted by file name, then position, then code.
    pub(crate) diagnostics: Vec<Diagnostic>,
    /// How many `.proc` files were checked (the project file is not counted).
    pub(crate) files_checked: usize,
}

/// A position in a file: 1-based line, 1-based column in characters, and the byte offset.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Position {
    /// 1-based line.
    pub(crate) line: usize,
    /// 1-based column, in characters.
    pub(crate) column: usize,
    /// 0-based byte offset.
    pub(crate) byte: usize,
}

/// Where a span lies; `end` is the position just after the last character.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Range {
    /// First character.
    pub(crate) start: Position,
    /// Just past the last character.
    pub(crate) end: Position,
}

impl Range {
    /// The range of `span` in `file`.
    pub(crate) fn of(file: &SourceFile, span: Span) -> Range {
        let at = |byte: usize| {
            let byte = byte.min(file.text().len());
            let LineCol { line, column } = file.line_col(byte);
            Position { line, column, byte }
        };
        Range {
            start: at(span.start()),
            end: at(span.end()),
        }
    }
}

impl Report {
    /// A report with its diagnostics sorted by file name, position and code.
    pub(crate) fn new(
        sources: Sources,
        mut diagnostics: Vec<Diagnostic>,
        files_checked: usize,
    ) -> Report {
        diagnostics.sort_by(|a, b| {
            let key = |d: &Diagnostic| {
                let span = d.primary_span();
                (span.start, span.end, d.severity, d.code.id)
            };
            sources
                .get(a.file)
                .name()
                .cmp(sources.get(b.file).name())
                .then_with(|| key(a).cmp(&key(b)))
                .then_with(|| a.message.cmp(&b.message))
        });
        Report {
            sources,
            diagnostics,
            files_checked,
        }
    }

    /// The display name of the file a diagnostic is in.
    pub(crate) fn file_name(&self, diagnostic: &Diagnostic) -> &str {
        self.sources.get(diagnostic.file).name()
    }

    /// The range of the diagnostic's primary label.
    pub(crate) fn primary_range(&self, diagnostic: &Diagnostic) -> Range {
        Range::of(self.sources.get(diagnostic.file), diagnostic.primary_span())
    }

    /// The number of errors.
    pub(crate) fn error_count(&self) -> usize {
        self.diagnostics
            .iter()
            .filter(|d| d.severity == Severity::Error)
            .count()
    }

    /// The number of warnings.
    pub(crate) fn warning_count(&self) -> usize {
        self.diagnostics
            .iter()
            .filter(|d| d.severity == Severity::Warning)
            .count()
    }

    /// Whether the run fails: any error, or any warning when warnings are denied.
    pub(crate) fn fails(&self, deny_warnings: bool) -> bool {
        self.error_count() > 0 || (deny_warnings && self.warning_count() > 0)
    }

    /// The last line of human and GitHub output, e.g.
    /// `error: 3 problems (2 errors, 1 warning) in 2 files` or `checked 7 files: no problems`.
    ///
    /// The line starts with `warning:` when there are only warnings.
    pub(crate) fn summary(&self) -> String {
        let (errors, warnings) = (self.error_count(), self.warning_count());
        if errors + warnings == 0 {
            return format!(
                "checked {}: no problems",
                plural(self.files_checked, "file", "files")
            );
        }
        let files: BTreeSet<_> = self.diagnostics.iter().map(|d| d.file).collect();
        format!(
            "{}: {} ({}, {}) in {}",
            if errors > 0 { "error" } else { "warning" },
            plural(errors + warnings, "problem", "problems"),
            plural(errors, "error", "errors"),
            plural(warnings, "warning", "warnings"),
            plural(files.len(), "file", "files"),
        )
    }
}

/// `1 file`, `2 files`.
pub(crate) fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

#[cfg(test)]
pub(crate) mod fixture {
    //! The small diagnostic set every renderer is snapshot-tested against: two `.proc` files
    //! (one with multi-byte characters before the spans, so columns count characters, not bytes)
    //! and a project file, with errors, a warning, secondary labels and help lines.

    use procc_diagnostics::{Diagnostic, Sources, Span, code};

    use super::Report;

    fn span_of(text: &str, needle: &str) -> Span {
        let start = text.find(needle).expect("needle in fixture");
        Span::new(start, start + needle.len())
    }

    /// Two files with problems, one without, and a project file with one problem.
    pub(crate) fn report() -> Report {
        let mut sources = Sources::new();
        let toml_text = "[tenant]\nid = \"musterimmo\"\nname = \"Muster\"\ncolour = \"blue\"\n";
        let toml = sources.add("procc.toml", toml_text);
        let cafe_text = "process café \"Café Müller, Straße 5\" {\n  step grüß: email template \"welcome\" {\n    next notfy\n  }\n  step notify: sms template \"x\" {}\n}\n";
        let cafe = sources.add("processes/café.proc", cafe_text);
        let dup_text = "process letting \"Letting\" {\n  step a: manual {}\n}\n\nprocess letting \"Again\" {\n  step a: manual {}\n}\n";
        let dup = sources.add("processes/letting.proc", dup_text);
        let _clean = sources.add(
            "processes/ok.proc",
            "process ok \"OK\" {\n  step a: manual {}\n}\n",
        );

        let second = dup_text.rfind("letting").expect("second process");
        let diagnostics = vec![
            Diagnostic::new(
                code::UNKNOWN_STEP,
                cafe,
                span_of(cafe_text, "notfy"),
                "unknown step `notfy` in process `café`",
                "no step of this name",
            )
            .with_label(span_of(cafe_text, "grüß"), "jump from step `grüß`")
            .with_suggestion(Some("notify")),
            Diagnostic::new(
                code::EMPTY_FILE,
                cafe,
                span_of(cafe_text, "{}"),
                "a warning: with, commas: and 100% \"quotes\"",
                "here",
            ),
            Diagnostic::new(
                code::DUPLICATE_PROCESS,
                dup,
                Span::new(second, second + "letting".len()),
                "process `letting` is defined twice",
                "defined again here",
            )
            .with_label(span_of(dup_text, "letting"), "first defined here")
            .with_help("rename one of them;\nprocess names are unique per project"),
            Diagnostic::new(
                code::PROJECT_FILE_UNKNOWN_KEY,
                toml,
                span_of(toml_text, "colour"),
                "unknown key `colour` in `procc.toml`",
                "not a key of the project file",
            ),
        ];
        Report::new(sources, diagnostics, 3)
    }

    /// A run without problems.
    pub(crate) fn clean_report() -> Report {
        let mut sources = Sources::new();
        sources.add("procc.toml", "[tenant]\nid = \"m\"\nname = \"M\"\n");
        sources.add("a.proc", "process a \"A\" {\n  step a: manual {}\n}\n");
        Report::new(sources, Vec::new(), 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summary_lines() {
        assert_eq!(
            fixture::clean_report().summary(),
            "checked 1 file: no problems"
        );
        assert_eq!(
            fixture::report().summary(),
            "error: 4 problems (3 errors, 1 warning) in 3 files"
        );
    }

    #[test]
    fn diagnostics_are_sorted_by_file_then_position() {
        let report = fixture::report();
        let order: Vec<_> = report
            .diagnostics
            .iter()
            .map(|d| (report.file_name(d).to_owned(), d.code.id))
            .collect();
        assert_eq!(
            order,
            [
                ("procc.toml".to_owned(), "P5002"),
                ("processes/café.proc".to_owned(), "P1001"),
                ("processes/café.proc".to_owned(), "P0011"),
                ("processes/letting.proc".to_owned(), "P1003"),
            ]
        );
    }

    #[test]
    fn columns_count_characters() {
        let report = fixture::report();
        let d = &report.diagnostics[1];
        let range = report.primary_range(d);
        // `    next notfy`: `n` of `notfy` is the 10th character of line 3.
        assert_eq!((range.start.line, range.start.column), (3, 10));
        let label = &d.labels[1];
        let grüß = Range::of(report.sources.get(d.file), label.span);
        // `  step grüß`: column 8 on line 2, but the byte offset counts `é` of line 1 as two bytes.
        assert_eq!(
            (grüß.start.line, grüß.start.column, grüß.end.column),
            (2, 8, 12)
        );
    }
}
