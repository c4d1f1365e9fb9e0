//! `--format human`: code frames drawn by miette's graphical handler, one report per diagnostic,
//! then a summary line.
//!
//! Each report shows `[CODE]` before the message, the file with line and column of the primary
//! label, every label and the help line. Colour and terminal width are decided by the caller
//! ([`Style`]); without colour the unicode theme without colour is used, so output captured from
//! a pipe or in CI is stable text.

use std::fmt;

use miette::{
    GraphicalReportHandler, GraphicalTheme, LabeledSpan, MietteError, MietteSpanContents,
    SourceCode, SourceSpan, SpanContents,
};
use procc_diagnostics::{Diagnostic, Severity, SourceFile};

use crate::report::Report;

/// How to draw.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Style {
    /// ANSI colours (only on a terminal, and never with `NO_COLOR`).
    pub(crate) color: bool,
    /// Wrap width in columns.
    pub(crate) width: usize,
}

/// Renders every diagnostic and the summary line.
pub(crate) fn render(report: &Report, style: &Style) -> String {
    let mut out = render_diagnostics(report, style);
    summary_line(&mut out, &report.summary(), style);
    out
}

/// Renders every diagnostic, without the summary line.
pub(crate) fn render_diagnostics(report: &Report, style: &Style) -> String {
    let theme = if style.color {
        GraphicalTheme::unicode()
    } else {
        GraphicalTheme::unicode_nocolor()
    };
    let handler = GraphicalReportHandler::new_themed(theme)
        .with_width(style.width)
        .with_links(false)
        .with_context_lines(1);
    let mut out = String::new();
    for diagnostic in &report.diagnostics {
        let adapter = Adapter {
            diagnostic,
            source: Named(report.sources.get(diagnostic.file)),
        };
        if handler.render_report(&mut out, &adapter).is_err() {
            // miette could not draw the frame (it never should): fall back to one plain line.
            out.push_str(&plain_line(report, diagnostic));
        }
        out.push('\n');
    }
    if let Some(first) = report.diagnostics.first() {
        out.push_str(&format!(
            "for more information about a code, try `procc explain {}`\n",
            first.code.id
        ));
    }
    out
}

fn summary_line(out: &mut String, summary: &str, style: &Style) {
    if style.color {
        // Bold red `error:` / bold yellow `warning:`, as the frames above.
        let (word, colour) = match summary.split_once(':') {
            Some(("error", _)) => ("error", "31"),
            Some(("warning", _)) => ("warning", "33"),
            _ => ("", ""),
        };
        if word.is_empty() {
            out.push_str(summary);
        } else {
            out.push_str(&format!(
                "\x1b[1;{colour}m{word}\x1b[0m{}",
                &summary[word.len()..]
            ));
        }
    } else {
        out.push_str(summary);
    }
    out.push('\n');
}

/// `file:line:col: [CODE] message`, for when a frame cannot be drawn.
fn plain_line(report: &Report, diagnostic: &Diagnostic) -> String {
    let range = report.primary_range(diagnostic);
    format!(
        "{}:{}:{}: [{}] {}\n",
        report.file_name(diagnostic),
        range.start.line,
        range.start.column,
        diagnostic.code.id,
        diagnostic.message
    )
}

/// A file's text under its display name, without copying it.
struct Named<'a>(&'a SourceFile);

impl SourceCode for Named<'_> {
    fn read_span<'b>(
        &'b self,
        span: &SourceSpan,
        context_lines_before: usize,
        context_lines_after: usize,
    ) -> Result<Box<dyn SpanContents<'b> + 'b>, MietteError> {
        let inner = self
            .0
            .text()
            .read_span(span, context_lines_before, context_lines_after)?;
        Ok(Box::new(MietteSpanContents::new_named(
            self.0.name().to_owned(),
            inner.data(),
            *inner.span(),
            inner.line(),
            inner.column(),
            inner.line_count(),
        )))
    }
}

/// Our [`Diagnostic`] seen as a miette diagnostic.
struct Adapter<'a> {
    diagnostic: &'a Diagnostic,
    source: Named<'a>,
}

impl fmt::Debug for Adapter<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.diagnostic, f)
    }
}

impl fmt::Display for Adapter<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "[{}] {}",
            self.diagnostic.code.id, self.diagnostic.message
        )
    }
}

impl std::error::Error for Adapter<'_> {}

impl miette::Diagnostic for Adapter<'_> {
    fn severity(&self) -> Option<miette::Severity> {
        Some(match self.diagnostic.severity {
            Severity::Error => miette::Severity::Error,
            Severity::Warning => miette::Severity::Warning,
        })
    }

    fn help<'b>(&'b self) -> Option<Box<dyn fmt::Display + 'b>> {
        self.diagnostic
            .help
            .as_ref()
            .map(|h| Box::new(h) as Box<dyn fmt::Display>)
    }

    fn source_code(&self) -> Option<&dyn SourceCode> {
        Some(&self.source)
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        let text_len = self.source.0.text().len();
        let labels = self.diagnostic.labels.iter().map(move |label| {
            let start = label.span.start().min(text_len);
            let end = label.span.end().clamp(start, text_len);
            let span = SourceSpan::from(start..end);
            let message = Some(label.message.clone()).filter(|m| !m.is_empty());
            if label.primary {
                LabeledSpan::new_primary_with_span(message, span)
            } else {
                LabeledSpan::new_with_span(message, span)
            }
        });
        Some(Box::new(labels))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::fixture;

    const PLAIN: Style = Style {
        color: false,
        width: 100,
    };

    #[test]
    fn human_output() {
        insta::assert_snapshot!(render(&fixture::report(), &PLAIN));
    }

    #[test]
    fn human_output_without_problems() {
        insta::assert_snapshot!(render(&fixture::clean_report(), &PLAIN));
    }

    #[test]
    fn colour_only_when_asked() {
        let plain = render(&fixture::report(), &PLAIN);
        assert!(!plain.contains('\x1b'));
        let coloured = render(
            &fixture::report(),
            &Style {
                color: true,
                width: 100,
            },
        );
        assert!(coloured.contains('\x1b'));
    }

    #[test]
    fn refused_files_with_empty_text_render() {
        let mut sources = procc_diagnostics::Sources::new();
        let id = sources.add("bin.proc", "");
        let diagnostic = Diagnostic::new(
            procc_diagnostics::code::BINARY_FILE,
            id,
            procc_diagnostics::Span::at(0),
            "the file holds a NUL byte at offset 3: it is binary, not a template",
            "binary content",
        );
        let report = Report::new(sources, vec![diagnostic], 1);
        insta::assert_snapshot!(render(&report, &PLAIN));
    }
}
