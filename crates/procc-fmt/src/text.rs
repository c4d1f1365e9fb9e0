//! Literals as the formatter writes them: texts, numbers, amounts, times and dates.

use std::fmt::Write as _;

use procc_diagnostics::FileId;
use procc_syntax::ast::{Delay, TimeOfDay, TimeUnit};

/// A text in double quotes, or in triple quotes when it holds a line break and reads back
/// unchanged that way. `indent` is the indentation of the line the text starts on; the lines of
/// a triple-quoted text are indented two spaces deeper and the closing quotes line up with it.
pub(crate) fn quoted(value: &str, indent: usize) -> String {
    if value.contains('\n')
        && let Some(block) = triple(value, indent)
    {
        return block;
    }
    plain(value)
}

/// A text that reads best in triple quotes even on one line (a webhook's body, usually JSON):
/// in `"""` whenever that reads back exactly.
pub(crate) fn block(value: &str, indent: usize) -> String {
    if value.is_empty() {
        return plain(value);
    }
    triple(value, indent).unwrap_or_else(|| plain(value))
}

/// `"..."` with `\"`, `\\`, `\n`, `\t` and `\u{...}` for other control characters.
pub(crate) fn plain(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 2);
    out.push('"');
    for c in value.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() => {
                let _ = write!(out, "\\u{{{:x}}}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// The triple-quoted form, if reading it back yields `value` exactly.
fn triple(value: &str, indent: usize) -> Option<String> {
    if value.contains("\"\"\"") {
        return None;
    }
    let inner_indent = " ".repeat(indent + 2);
    let mut raw = String::from("\"\"\"\n");
    for line in value.split('\n') {
        if !line.is_empty() {
            raw.push_str(&inner_indent);
            raw.push_str(line);
        }
        raw.push('\n');
    }
    raw.push_str(&" ".repeat(indent));
    raw.push_str("\"\"\"");
    reads_back(&raw, value).then_some(raw)
}

/// Whether the parser reads the written text `raw` as `value`. Asks the parser itself rather
/// than copying its rules for triple-quoted texts (first line break, last blank line and
/// common indentation removed), so that the two cannot drift apart.
fn reads_back(raw: &str, value: &str) -> bool {
    let (file, diagnostics) = procc_syntax::parse(FileId(0), &format!("process p {raw} {{\n}}\n"));
    diagnostics.is_empty()
        && file
            .processes
            .first()
            .and_then(|p| p.title.as_ref())
            .is_some_and(|title| title.value == value)
}

/// A number without a trailing `.0` when whole, in the shortest form that reads back exactly.
pub(crate) fn number(value: f64) -> String {
    if value.is_finite() {
        // `Display` for floats never uses an exponent and round-trips.
        return format!("{value}");
    }
    // Only a literal of more than 308 digits reads as infinity; write one that does again.
    let digits = format!("1{}", "0".repeat(400));
    if value.is_sign_negative() {
        format!("-{digits}")
    } else {
        digits
    }
}

/// `1 day`, `3 days`, `4 hours`, `2 business days`.
pub(crate) fn amount(amount: i64, unit: TimeUnit) -> String {
    let one = amount.unsigned_abs() == 1;
    let word = match (unit, one) {
        (TimeUnit::Days, true) => "day",
        (TimeUnit::Days, false) => "days",
        (TimeUnit::Hours, true) => "hour",
        (TimeUnit::Hours, false) => "hours",
        (TimeUnit::BusinessDays, true) => "business day",
        (TimeUnit::BusinessDays, false) => "business days",
    };
    format!("{amount} {word}")
}

/// A delay with its calendar: `3 business days on "nrw"`.
pub(crate) fn delay(delay: &Delay, indent: usize) -> String {
    let mut out = amount(delay.amount, delay.unit);
    if let Some(calendar) = &delay.calendar {
        out.push_str(" on ");
        out.push_str(&quoted(&calendar.value, indent));
    }
    out
}

/// `09:00`.
pub(crate) fn time(time: TimeOfDay) -> String {
    format!("{:02}:{:02}", time.hour, time.minute)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_texts_escape_quotes_backslashes_and_control_characters() {
        assert_eq!(plain("a \"b\" \\ c"), r#""a \"b\" \\ c""#);
        assert_eq!(plain("tab\there\nnext"), r#""tab\there\nnext""#);
        assert_eq!(plain("cr\r"), r#""cr\u{d}""#);
        assert_eq!(plain("✓"), "\"✓\"");
    }

    #[test]
    fn texts_with_line_breaks_use_triple_quotes_when_they_read_back() {
        assert_eq!(quoted("a\n  b", 2), "\"\"\"\n    a\n      b\n  \"\"\"");
        assert_eq!(quoted("a\n\nb", 0), "\"\"\"\n  a\n\n  b\n\"\"\"");
        // A trailing line break or a common indentation would be lost: plain text instead.
        assert_eq!(quoted("a\n", 0), r#""a\n""#);
        assert_eq!(quoted(" a\n b", 0), r#"" a\n b""#);
        assert_eq!(quoted("a\n\"\"\"", 0), r#""a\n\"\"\"""#);
        assert_eq!(
            block("{\"a\": 1}", 4),
            "\"\"\"\n      {\"a\": 1}\n    \"\"\""
        );
        assert_eq!(block("", 0), r#""""#);
        assert_eq!(block(" x", 0), r#"" x""#);
    }

    #[test]
    fn numbers_drop_a_trailing_zero_fraction() {
        assert_eq!(number(3.0), "3");
        assert_eq!(number(1.05), "1.05");
        assert_eq!(number(0.1 + 0.2), "0.30000000000000004");
        assert_eq!(number(1e21), "1000000000000000000000");
        assert_eq!(number(f64::INFINITY).len(), 401);
    }

    #[test]
    fn amounts_are_singular_for_one() {
        assert_eq!(amount(1, TimeUnit::Days), "1 day");
        assert_eq!(amount(2, TimeUnit::BusinessDays), "2 business days");
        assert_eq!(amount(1, TimeUnit::Hours), "1 hour");
        assert_eq!(time(TimeOfDay { hour: 9, minute: 5 }), "09:05");
    }
}
