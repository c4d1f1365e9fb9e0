//! A plain-text rendering of scenario diagnostics (no colours, stable across terminals), used
//! by the `tests/run` corpus; the CLI may render the same diagnostics its own way.

use std::fmt::Write;

use procc_diagnostics::{Diagnostic, Severity, SourceFile};

/// Renders a diagnostic of `source` as
///
/// ```text
/// error[P6003]: expected step `review` active
///   --> name.scenario:7:3
///    |
///  7 |   expect step review active
///    |   ^^^^^^^^^^^^^^^^^^^^^^^^^ this expectation does not hold
///    = help: actual: step `review` is scheduled until 2026-12-02 09:00
/// ```
pub fn render_plain(source: &SourceFile, diagnostic: &Diagnostic) -> String {
    let mut out = String::new();
    let severity = match diagnostic.severity {
        Severity::Error => "error",
        Severity::Warning => "warning",
    };
    let _ = writeln!(
        out,
        "{severity}[{}]: {}",
        diagnostic.code.id, diagnostic.message
    );
    let span = diagnostic.primary_span();
    let at = source.line_col(span.start());
    let _ = writeln!(out, "  --> {}:{}:{}", source.name(), at.line, at.column);
    let line_text = source.text().lines().nth(at.line - 1).unwrap_or("");
    let number = at.line.to_string();
    let pad = " ".repeat(number.len());
    let _ = writeln!(out, "{pad} |");
    let _ = writeln!(out, "{number} | {line_text}");
    let label = diagnostic
        .labels
        .iter()
        .find(|l| l.primary)
        .map(|l| l.message.as_str())
        .unwrap_or("");
    let end = source.line_col(span.end());
    let width = if end.line == at.line {
        end.column.saturating_sub(at.column).max(1)
    } else {
        line_text
            .chars()
            .count()
            .saturating_sub(at.column - 1)
            .max(1)
    };
    let _ = writeln!(
        out,
        "{pad} | {}{} {label}",
        " ".repeat(at.column - 1),
        "^".repeat(width)
    );
    if let Some(help) = &diagnostic.help {
        let _ = writeln!(out, "{pad} = help: {help}");
    }
    out
}
