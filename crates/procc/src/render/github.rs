//! `--format github`: GitHub Actions workflow commands, which show as annotations on a pull
//! request.
//!
//! One `::error` or `::warning` line per diagnostic, errors first (GitHub shows at most 10 of
//! each kind per step), then the plain summary line. Lines and columns are 1-based, columns
//! count characters, and `endColumn` is the column just past the last character (as in SARIF).
//! Data and properties are escaped as the workflow-command rules require.

use procc_diagnostics::Severity;

use crate::report::Report;

/// Escapes a command's message: `%`, `\r` and `\n`.
fn escape_data(text: &str) -> String {
    text.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// Escapes a property value: as data, plus `:` and `,`.
fn escape_property(text: &str) -> String {
    escape_data(text).replace(':', "%3A").replace(',', "%2C")
}

/// Every diagnostic as a workflow command, errors first, then the summary.
pub(crate) fn render(report: &Report) -> String {
    let mut out = String::new();
    for severity in [Severity::Error, Severity::Warning] {
        for d in report.diagnostics.iter().filter(|d| d.severity == severity) {
            let range = report.primary_range(d);
            let command = match severity {
                Severity::Error => "error",
                Severity::Warning => "warning",
            };
            let mut message = d.message.clone();
            if let Some(help) = &d.help {
                message.push_str("\nhelp: ");
                message.push_str(help);
            }
            out.push_str(&format!(
                "::{command} file={},line={},col={},endLine={},endColumn={},title={}::{}\n",
                escape_property(report.file_name(d)),
                range.start.line,
                range.start.column,
                range.end.line,
                range.end.column,
                escape_property(&format!("{} {}", d.code.id, d.code.slug)),
                escape_data(&message),
            ));
        }
    }
    out.push_str(&report.summary());
    out.push('\n');
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::fixture;

    #[test]
    fn github_output() {
        insta::assert_snapshot!(render(&fixture::report()));
    }

    #[test]
    fn escaping() {
        assert_eq!(escape_data("100% a\r\nb"), "100%25 a%0D%0Ab");
        assert_eq!(escape_property("a:b,c%"), "a%3Ab%2Cc%25");
    }

    #[test]
    fn errors_come_first() {
        let out = render(&fixture::report());
        let first_warning = out.find("::warning").unwrap();
        let last_error = out.rfind("::error").unwrap();
        assert!(last_error < first_warning);
    }
}
