//! Reading the arguments of one setting: a cursor that reports the first thing out of place,
//! with the setting's usage as help, plus the readers for shapes several settings share.

use procc_diagnostics::{Code, Diagnostic, Span, code};

use crate::ast::{
    Delay, Record, Responsible, ResponsibleKind, SendMode, Spanned, Text, TimeOfDay, TimeUnit,
};
use crate::expr::time_amount;
use crate::tree::{Arg, Reader};

/// How a setting or a step is named in messages. Formatted only when a message is written:
/// every setting of every file gets a cursor, and most never report anything.
#[derive(Debug, Clone, Copy)]
pub(crate) enum What<'a> {
    /// A setting's word, shown in backticks: "`responsible`".
    Word(&'a str),
    /// A step kind: "a `task` step", "an `email` step".
    Kind(&'a str),
    /// Words as they are: "a deadline".
    Phrase(&'a str),
}

impl std::fmt::Display for What<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            What::Word(word) => write!(f, "`{word}`"),
            What::Kind(kind) => {
                let article = if kind.starts_with(['a', 'e', 'i', 'o', 'u']) {
                    "an"
                } else {
                    "a"
                };
                write!(f, "{article} `{kind}` step")
            }
            What::Phrase(phrase) => f.write_str(phrase),
        }
    }
}

/// Walks the arguments of one setting.
pub(crate) struct Cursor<'a, 'r, 't> {
    pub reader: &'r mut Reader<'t>,
    args: &'a [Arg],
    pos: usize,
    /// The setting as named in messages, e.g. "`responsible`".
    what: What<'a>,
    /// How the setting is written, for the help line.
    usage: &'a str,
    /// Where to point when something is missing: the end of the setting.
    end: Span,
    failed: bool,
}

impl<'a, 'r, 't> Cursor<'a, 'r, 't> {
    pub(crate) fn new(
        reader: &'r mut Reader<'t>,
        args: &'a [Arg],
        what: What<'a>,
        usage: &'a str,
        whole: Span,
    ) -> Self {
        Cursor {
            reader,
            args,
            pos: 0,
            what,
            usage,
            end: Span::at(whole.end()),
            failed: false,
        }
    }

    /// Whether something went wrong (already reported).
    pub(crate) fn failed(&self) -> bool {
        self.failed
    }

    pub(crate) fn peek(&self) -> Option<&'a Arg> {
        self.args.get(self.pos)
    }

    pub(crate) fn peek_word(&self) -> Option<&'a str> {
        match self.peek() {
            Some(Arg::Word(w)) => Some(w.name.as_str()),
            _ => None,
        }
    }

    pub(crate) fn next(&mut self) -> Option<&'a Arg> {
        let arg = self.args.get(self.pos);
        self.pos += 1;
        arg
    }

    /// Consumes the word `word` if it comes next.
    pub(crate) fn eat(&mut self, word: &str) -> Option<Span> {
        match self.peek() {
            Some(Arg::Word(w)) if w.name == word => {
                self.pos += 1;
                Some(w.span)
            }
            _ => None,
        }
    }

    /// Consumes the word `word`, or reports that it is missing.
    pub(crate) fn expect(&mut self, word: &str) -> Option<Span> {
        let found = self.eat(word);
        if found.is_none() {
            self.unexpected(&format!("`{word}`"));
        }
        found
    }

    /// Consumes a text, or reports that `desc` is missing.
    pub(crate) fn text(&mut self, desc: &str) -> Option<Text> {
        match self.peek() {
            Some(Arg::Text(t)) => {
                self.pos += 1;
                Some(t.clone())
            }
            _ => {
                self.unexpected(desc);
                None
            }
        }
    }

    /// `template "id"`: the word `template`, then the id, described as `desc` when missing.
    pub(crate) fn template(&mut self, desc: &str) -> Option<Text> {
        self.expect("template")?;
        self.text(desc)
    }

    /// Consumes a text if one comes next.
    pub(crate) fn opt_text(&mut self) -> Option<Text> {
        match self.peek() {
            Some(Arg::Text(t)) => {
                self.pos += 1;
                Some(t.clone())
            }
            _ => None,
        }
    }

    /// Consumes one of `words`, or reports what was expected.
    pub(crate) fn one_of(&mut self, words: &[&str]) -> Option<(&'a str, Span)> {
        match self.peek() {
            Some(Arg::Word(w)) if words.contains(&w.name.as_str()) => {
                self.pos += 1;
                Some((w.name.as_str(), w.span))
            }
            _ => {
                let list: Vec<String> = words.iter().map(|w| format!("`{w}`")).collect();
                self.unexpected(&or_list(&list));
                None
            }
        }
    }

    /// Reports that `expected` should come where the cursor is.
    pub(crate) fn unexpected(&mut self, expected: &str) {
        let (span, found) = match self.peek() {
            Some(arg) => (arg.span(), arg.describe()),
            None => (self.end, "nothing".to_string()),
        };
        let label = if self.peek().is_some() {
            "not expected here".to_string()
        } else {
            format!("{expected} is missing")
        };
        self.report(
            code::MALFORMED_SETTING,
            span,
            format!("{} expects {expected}, found {found}", self.what),
            label,
        );
    }

    /// Reports a problem with this setting; only the first problem of a setting is reported.
    pub(crate) fn report(
        &mut self,
        code: Code,
        span: Span,
        message: String,
        label: impl Into<String>,
    ) {
        if self.failed {
            return;
        }
        self.failed = true;
        let mut diagnostic = Diagnostic::new(code, self.reader.file, span, message, label);
        if !self.usage.is_empty() {
            diagnostic = diagnostic.with_help(format!("write it as {}", self.usage));
        }
        self.reader.diagnostics.push(diagnostic);
    }

    /// Reports arguments left over.
    pub(crate) fn finish(mut self) -> bool {
        if let Some(arg) = self.peek()
            && !self.failed
        {
            let message = format!("{} does not take {} here", self.what, arg.describe());
            self.report(
                code::MALFORMED_SETTING,
                arg.span(),
                message,
                "not expected here",
            );
        }
        !self.failed
    }

    /// `property` or `address`.
    pub(crate) fn record(&mut self) -> Option<Spanned<Record>> {
        let (word, span) = self.one_of(&["property", "address"])?;
        let value = if word == "property" {
            Record::Property
        } else {
            Record::Address
        };
        Some(Spanned { value, span })
    }

    /// `owner`, `supervisor of property|address` or `user "id"`.
    pub(crate) fn responsible(&mut self) -> Option<Responsible> {
        let (word, start) = self.one_of(&["owner", "supervisor", "user"])?;
        let (who, end) = match word {
            "owner" => (ResponsibleKind::Owner, start),
            "supervisor" => {
                self.expect("of")?;
                let record = self.record()?;
                (ResponsibleKind::Supervisor(record.value), record.span)
            }
            _ => {
                let user = self.text("a user id in double quotes")?;
                let span = user.span;
                (ResponsibleKind::User(user), span)
            }
        };
        Some(Responsible {
            who,
            span: start.to(end),
        })
    }

    /// `N days`, `N hours` (when allowed) or `N business days`, optionally `on "calendar"`.
    pub(crate) fn delay(&mut self, hours_allowed: bool) -> Option<Delay> {
        let Some(Arg::Quantity {
            amount,
            unit,
            unit_span,
            span,
        }) = self.peek()
        else {
            if let Some(Arg::Number(_, span)) = self.peek() {
                let span = *span;
                let message = format!("{} needs a unit after the number", self.what);
                self.report(code::UNSUPPORTED_UNIT, span, message, "no unit");
                return None;
            }
            self.unexpected("an amount such as `3 days`");
            return None;
        };
        self.pos += 1;
        let before = self.reader.diagnostics.len();
        let timed = time_amount(
            self.reader,
            *amount,
            *unit,
            *unit_span,
            *span,
            hours_allowed,
        );
        let Some((amount, unit)) = timed else {
            self.failed = self.reader.diagnostics.len() > before;
            return None;
        };
        if amount < 0 {
            let message = format!("{} counts forward and cannot be negative", self.what);
            self.report(code::INVALID_DURATION, *span, message, "negative");
            return None;
        }
        if amount == 0 {
            let message = format!("{} must be at least one {}", self.what, unit_name(unit));
            self.report(code::INVALID_DURATION, *span, message, "zero or less");
            return None;
        }
        let calendar = self.calendar();
        let span = calendar.as_ref().map_or(*span, |c| span.to(c.span));
        Some(Delay {
            amount,
            unit,
            calendar,
            span,
        })
    }

    /// `on "calendar"`, if it comes next.
    pub(crate) fn calendar(&mut self) -> Option<Text> {
        self.eat("on")?;
        self.text("a calendar id in double quotes")
    }

    /// `manual`, or `automatic` with an optional `at 09:00` when `times` is true.
    pub(crate) fn send_mode(&mut self, times: bool) -> (SendMode, Option<Span>) {
        if let Some(span) = self.eat("automatic") {
            let at = if times && self.eat("at").is_some() {
                self.time()
            } else {
                None
            };
            return (SendMode::Automatic { at }, Some(span));
        }
        let span = self.eat("manual");
        (SendMode::Manual, span)
    }

    /// A time of day.
    pub(crate) fn time(&mut self) -> Option<Spanned<TimeOfDay>> {
        match self.peek() {
            Some(Arg::Time(time, span)) => {
                self.pos += 1;
                time.map(|value| Spanned { value, span: *span })
            }
            _ => {
                self.unexpected("a time such as `09:00`");
                None
            }
        }
    }

    /// `yes`/`no` (or `true`/`false`); `default` when nothing follows.
    pub(crate) fn flag(&mut self, default: bool, whole: Span) -> Option<Spanned<bool>> {
        if self.peek().is_none() {
            return Some(Spanned {
                value: default,
                span: whole,
            });
        }
        let (word, span) = self.one_of(&["yes", "no", "true", "false"])?;
        Some(Spanned {
            value: matches!(word, "yes" | "true"),
            span,
        })
    }
}

fn unit_name(unit: TimeUnit) -> &'static str {
    match unit {
        TimeUnit::Days => "day",
        TimeUnit::Hours => "hour",
        TimeUnit::BusinessDays => "business day",
    }
}

/// `a`, `a or b`, `a, b or c`.
pub(crate) fn or_list(items: &[String]) -> String {
    match items {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} or {last}", init.join(", ")),
    }
}
