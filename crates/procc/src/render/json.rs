//! `--format json`: procc's own versioned schema, described in `docs/check-json.md`.
//!
//! `format_version` follows the terraform convention: a minor bump adds fields, a major bump
//! changes or removes them. Lines and columns are 1-based, columns count characters; `byte` is
//! the 0-based byte offset; an `end` is the position just past the last character.

use serde::Serialize;

use crate::report::{Position, Range, Report};

/// The version of the schema written by this renderer.
pub(crate) const FORMAT_VERSION: &str = "1.0";

#[derive(Serialize)]
struct Output<'a> {
    format_version: &'static str,
    valid: bool,
    error_count: usize,
    warning_count: usize,
    files_checked: usize,
    diagnostics: Vec<JsonDiagnostic<'a>>,
}

#[derive(Serialize)]
struct JsonDiagnostic<'a> {
    code: &'static str,
    slug: &'static str,
    severity: &'static str,
    message: &'a str,
    help: Option<&'a str>,
    file: &'a str,
    range: JsonRange,
    labels: Vec<JsonLabel<'a>>,
}

#[derive(Serialize)]
struct JsonLabel<'a> {
    message: &'a str,
    primary: bool,
    range: JsonRange,
}

#[derive(Serialize)]
struct JsonRange {
    start: JsonPosition,
    end: JsonPosition,
}

#[derive(Serialize)]
struct JsonPosition {
    line: usize,
    column: usize,
    byte: usize,
}

impl From<Position> for JsonPosition {
    fn from(p: Position) -> JsonPosition {
        JsonPosition {
            line: p.line,
            column: p.column,
            byte: p.byte,
        }
    }
}

impl From<Range> for JsonRange {
    fn from(r: Range) -> JsonRange {
        JsonRange {
            start: r.start.into(),
            end: r.end.into(),
        }
    }
}

/// The whole report as one pretty-printed JSON document and a final newline.
pub(crate) fn render(report: &Report) -> String {
    let diagnostics = report
        .diagnostics
        .iter()
        .map(|d| {
            let file = report.sources.get(d.file);
            JsonDiagnostic {
                code: d.code.id,
                slug: d.code.slug,
                severity: match d.severity {
                    procc_diagnostics::Severity::Error => "error",
                    procc_diagnostics::Severity::Warning => "warning",
                },
                message: &d.message,
                help: d.help.as_deref(),
                file: file.name(),
                range: report.primary_range(d).into(),
                labels: d
                    .labels
                    .iter()
                    .map(|l| JsonLabel {
                        message: &l.message,
                        primary: l.primary,
                        range: Range::of(file, l.span).into(),
                    })
                    .collect(),
            }
        })
        .collect();
    let output = Output {
        format_version: FORMAT_VERSION,
        valid: report.error_count() == 0,
        error_count: report.error_count(),
        warning_count: report.warning_count(),
        files_checked: report.files_checked,
        diagnostics,
    };
    let mut text = serde_json::to_string_pretty(&output).unwrap_or_else(|e| {
        // Serialising plain structs of strings and numbers cannot fail.
        unreachable!("JSON output: {e}")
    });
    text.push('\n');
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::fixture;

    #[test]
    fn json_output() {
        insta::assert_snapshot!(render(&fixture::report()));
    }

    #[test]
    fn json_output_without_problems() {
        insta::assert_snapshot!(render(&fixture::clean_report()));
    }

    #[test]
    fn json_is_valid_and_columns_count_characters() {
        let value: serde_json::Value = serde_json::from_str(&render(&fixture::report())).unwrap();
        assert_eq!(value["format_version"], "1.0");
        assert_eq!(value["valid"], false);
        let unknown_step = &value["diagnostics"][1];
        assert_eq!(unknown_step["code"], "P1001");
        assert_eq!(unknown_step["range"]["start"]["column"], 10);
        let label = &unknown_step["labels"][1];
        assert_eq!(label["range"]["start"]["line"], 2);
        assert_eq!(label["range"]["start"]["column"], 8);
        assert_eq!(label["range"]["end"]["column"], 12);
    }
}
