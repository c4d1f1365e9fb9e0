//! From pest's parse tree to a generic item tree: processes, steps, settings, deadlines and
//! branches with their arguments, not yet interpreted. Lines the grammar could not read are
//! parsed again on their own here to report exactly where they go wrong.

use pest::Parser;
use pest::error::{ErrorVariant, InputLocation};
use pest::iterators::{Pair, Pairs};
use procc_diagnostics::{Diagnostic, FileId, Span, code};

use crate::ast::{Comment, Expr, Ident, Text, TimeOfDay};
use crate::expr;
use crate::grammar::{ProcParser, Rule};

/// A unit written after a number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Unit {
    Days,
    BusinessDays,
    Hours,
    Minutes,
    Weeks,
    Months,
    Years,
    Eur,
    Sqm,
    Percent,
}

impl Unit {
    fn parse(text: &str) -> Unit {
        let word = text.split_whitespace().next().unwrap_or("");
        match word {
            "business" => Unit::BusinessDays,
            "days" | "day" => Unit::Days,
            "hours" | "hour" => Unit::Hours,
            "minutes" | "minute" => Unit::Minutes,
            "weeks" | "week" => Unit::Weeks,
            "months" | "month" => Unit::Months,
            "years" | "year" => Unit::Years,
            "EUR" | "€" => Unit::Eur,
            "%" => Unit::Percent,
            _ => Unit::Sqm,
        }
    }
}

/// An argument as written, not yet interpreted.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Arg {
    Word(Ident),
    Text(Text),
    Number(f64, Span),
    Quantity {
        amount: f64,
        unit: Unit,
        unit_span: Span,
        span: Span,
    },
    Date(crate::ast::Literal, Span),
    Time(Option<TimeOfDay>, Span),
    Path(Vec<Ident>, Span),
    Call {
        name: Ident,
        args: Vec<(Option<Ident>, Expr)>,
        span: Span,
    },
    List(Vec<Expr>, Span),
    Assign {
        path: Vec<Ident>,
        path_span: Span,
        value: Expr,
        span: Span,
    },
}

impl Arg {
    pub(crate) fn span(&self) -> Span {
        match self {
            Arg::Word(i) => i.span,
            Arg::Text(t) => t.span,
            Arg::Number(_, span)
            | Arg::Quantity { span, .. }
            | Arg::Date(_, span)
            | Arg::Time(_, span)
            | Arg::Path(_, span)
            | Arg::Call { span, .. }
            | Arg::List(_, span)
            | Arg::Assign { span, .. } => *span,
        }
    }

    /// How the argument reads in a message.
    pub(crate) fn describe(&self) -> String {
        match self {
            Arg::Word(i) => format!("`{}`", i.name),
            Arg::Text(_) => "a text".into(),
            Arg::Number(..) => "a number".into(),
            Arg::Quantity { .. } => "an amount".into(),
            Arg::Date(..) => "a date".into(),
            Arg::Time(..) => "a time".into(),
            Arg::Path(..) => "a field".into(),
            Arg::Call { name, .. } => format!("`{}(...)`", name.name),
            Arg::List(..) => "a list".into(),
            Arg::Assign { .. } => "an assignment".into(),
        }
    }
}

/// What follows a name in an argument or an expression.
pub(crate) enum NameTail {
    /// Nothing: a word or a field.
    None,
    /// `(arguments)`: a call.
    Call(Vec<(Option<Ident>, Expr)>),
    /// `= value`; `None` when the value could not be read (already reported).
    Assign(Option<Expr>),
}

/// The segments of a name as one identifier (`a.b`), for a call written with a dotted name.
pub(crate) fn joined(segments: Vec<Ident>, span: Span) -> Ident {
    let name = segments
        .iter()
        .map(|s| s.name.as_str())
        .collect::<Vec<_>>()
        .join(".");
    Ident { name, span }
}

/// A `process` block.
#[derive(Debug)]
pub(crate) struct ProcessItem {
    pub name: Ident,
    pub title: Option<Text>,
    pub body: Vec<Item>,
    pub span: Span,
}

/// A line inside a block.
#[derive(Debug)]
pub(crate) struct Item {
    pub kind: ItemKind,
    pub span: Span,
}

/// What a line is.
#[derive(Debug)]
pub(crate) enum ItemKind {
    Step(StepItem),
    Setting(SettingItem),
    Deadline(Vec<RungItem>),
    Branch {
        yes: bool,
        word: Span,
        target: Ident,
    },
}

/// `step name: kind args { body }`.
#[derive(Debug)]
pub(crate) struct StepItem {
    pub name: Ident,
    pub kind: Ident,
    pub args: Vec<Arg>,
    pub when: Option<Expr>,
    pub when_span: Option<Span>,
    pub body: Option<Vec<Item>>,
}

/// `word args [when expr]`.
#[derive(Debug)]
pub(crate) struct SettingItem {
    pub word: Ident,
    pub args: Vec<Arg>,
    pub when: Option<Expr>,
    pub when_span: Option<Span>,
}

/// One rung of a deadline: its duration arguments and action arguments.
#[derive(Debug)]
pub(crate) struct RungItem {
    pub args: Vec<Arg>,
    pub action: Option<Vec<Arg>>,
    pub span: Span,
}

/// Shared state while reading pairs.
pub(crate) struct Reader<'t> {
    pub file: FileId,
    pub text: &'t str,
    pub comments: Vec<Comment>,
    pub diagnostics: Vec<Diagnostic>,
}

/// The two sets of grammar rules (see `grammar/proc.pest`); both read the same language into the
/// same tree.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rules {
    /// The rules every file is read with, written for speed.
    Reading,
    /// The rules that state the language; pest's errors on them are phrased for authors.
    Explaining,
}

/// The explaining rule that a reading rule reads like, so that the lowering handles one set of
/// names.
pub(crate) fn canonical(rule: Rule) -> Rule {
    match rule {
        Rule::source => Rule::file,
        Rule::r_process => Rule::process,
        Rule::r_block => Rule::block,
        Rule::r_step => Rule::step,
        Rule::r_deadline => Rule::deadline,
        Rule::r_rung => Rule::rung,
        Rule::r_rung_action => Rule::rung_action,
        Rule::r_setting => Rule::setting,
        Rule::r_when_clause => Rule::when_clause,
        Rule::r_name_arg => Rule::name_arg,
        Rule::r_string => Rule::string,
        Rule::r_plain_text => Rule::plain_text,
        Rule::r_name => Rule::name,
        Rule::r_call_tail => Rule::call_tail,
        Rule::r_assign_tail => Rule::assign_tail,
        Rule::r_expr => Rule::expr,
        Rule::r_name_ref => Rule::name_ref,
        Rule::r_call_arg => Rule::call_arg,
        Rule::r_list => Rule::list,
        other => other,
    }
}

/// The rule of a pair, as the explaining rules name it.
#[inline]
pub(crate) fn rule_of(pair: &Pair<'_, Rule>) -> Rule {
    canonical(pair.as_rule())
}

pub(crate) fn span_of(pair: &Pair<'_, Rule>) -> Span {
    let s = pair.as_span();
    Span::new(s.start(), s.end())
}

impl<'t> Reader<'t> {
    pub(crate) fn new(file: FileId, text: &'t str, comments: Vec<Comment>) -> Reader<'t> {
        Reader {
            file,
            text,
            comments,
            diagnostics: Vec::new(),
        }
    }

    /// Reads the whole text into process items with the given rules.
    pub(crate) fn read_file(&mut self, rules: Rules) -> Vec<ProcessItem> {
        // The reading rules fail only where the explaining rules do too (both end in catch-all
        // invalid lines); should they ever fail alone, the explaining rules read the file.
        let parsed = match rules {
            Rules::Reading => match ProcParser::parse(Rule::source, self.text) {
                Ok(pairs) => Ok(pairs),
                Err(_) => ProcParser::parse(Rule::file, self.text),
            },
            Rules::Explaining => ProcParser::parse(Rule::file, self.text),
        };
        match parsed {
            Ok(mut pairs) => match pairs.next() {
                Some(file_pair) => self.file_items(file_pair),
                None => Vec::new(),
            },
            Err(error) => {
                let diagnostic = self.pest_error(&error, 0);
                self.diagnostics.push(diagnostic);
                Vec::new()
            }
        }
    }

    /// The children of a pair.
    pub(crate) fn children<'i>(&self, pair: Pair<'i, Rule>) -> Pairs<'i, Rule> {
        pair.into_inner()
    }

    fn file_items(&mut self, pair: Pair<'_, Rule>) -> Vec<ProcessItem> {
        let mut processes = Vec::new();
        for child in self.children(pair) {
            match rule_of(&child) {
                Rule::process => processes.push(self.process(child)),
                Rule::invalid_top => self.invalid(&child),
                _ => {}
            }
        }
        processes
    }

    fn process(&mut self, pair: Pair<'_, Rule>) -> ProcessItem {
        let span = span_of(&pair);
        let mut name = None;
        let mut title = None;
        let mut body = Vec::new();
        for child in self.children(pair) {
            match rule_of(&child) {
                Rule::ident => name = Some(ident(&child)),
                Rule::string => title = Some(self.text_of(child)),
                Rule::block => body = self.block(child),
                _ => {}
            }
        }
        ProcessItem {
            name: name.unwrap_or_else(|| Ident {
                name: String::new(),
                span,
            }),
            title,
            body,
            span,
        }
    }

    fn block(&mut self, pair: Pair<'_, Rule>) -> Vec<Item> {
        let mut items = Vec::new();
        for child in self.children(pair) {
            let span = token_span(&child);
            let kind = match rule_of(&child) {
                Rule::step => ItemKind::Step(self.step(child)),
                Rule::setting => ItemKind::Setting(self.setting(child)),
                Rule::deadline => ItemKind::Deadline(self.deadline(child)),
                Rule::branch => self.branch(child),
                Rule::invalid_item => {
                    self.invalid(&child);
                    continue;
                }
                _ => continue,
            };
            items.push(Item { kind, span });
        }
        items
    }

    fn step(&mut self, pair: Pair<'_, Rule>) -> StepItem {
        let span = span_of(&pair);
        let mut idents = Vec::new();
        let mut args = Vec::new();
        let mut when = None;
        let mut when_span = None;
        let mut body = None;
        for child in self.children(pair) {
            match rule_of(&child) {
                Rule::ident if idents.len() < 2 => idents.push(ident(&child)),
                Rule::when_clause => {
                    when_span = Some(span_of(&child));
                    when = self.when(child);
                }
                Rule::block => body = Some(self.block(child)),
                Rule::kw_step | Rule::colon => {}
                _ => args.extend(self.arg(child)),
            }
        }
        let missing = || Ident {
            name: String::new(),
            span,
        };
        let mut idents = idents.into_iter();
        StepItem {
            name: idents.next().unwrap_or_else(missing),
            kind: idents.next().unwrap_or_else(missing),
            args,
            when,
            when_span,
            body,
        }
    }

    fn setting(&mut self, pair: Pair<'_, Rule>) -> SettingItem {
        let span = span_of(&pair);
        let mut word = None;
        let mut args = Vec::new();
        let mut when = None;
        let mut when_span = None;
        for child in self.children(pair) {
            match rule_of(&child) {
                Rule::ident if word.is_none() => word = Some(ident(&child)),
                Rule::when_clause => {
                    when_span = Some(span_of(&child));
                    when = self.when(child);
                }
                _ => args.extend(self.arg(child)),
            }
        }
        SettingItem {
            word: word.unwrap_or(Ident {
                name: String::new(),
                span,
            }),
            args,
            when,
            when_span,
        }
    }

    fn when(&mut self, pair: Pair<'_, Rule>) -> Option<Expr> {
        let expr_pair = self
            .children(pair)
            .into_iter()
            .find(|p| rule_of(p) == Rule::expr)?;
        expr::lower(self, expr_pair)
    }

    fn deadline(&mut self, pair: Pair<'_, Rule>) -> Vec<RungItem> {
        let mut rungs = Vec::new();
        for rung in self.children(pair) {
            if rule_of(&rung) != Rule::rung {
                continue;
            }
            let span = span_of(&rung);
            let mut args = Vec::new();
            let mut action = None;
            for child in self.children(rung) {
                match rule_of(&child) {
                    Rule::rung_action => {
                        let mut action_args = Vec::new();
                        for a in self.children(child) {
                            action_args.extend(self.arg(a));
                        }
                        action = Some(action_args);
                    }
                    Rule::arrow => {}
                    _ => args.extend(self.arg(child)),
                }
            }
            rungs.push(RungItem { args, action, span });
        }
        rungs
    }

    fn branch(&mut self, pair: Pair<'_, Rule>) -> ItemKind {
        let span = span_of(&pair);
        let mut yes = false;
        let mut word = span;
        let mut target = Ident {
            name: String::new(),
            span,
        };
        for child in self.children(pair) {
            match rule_of(&child) {
                Rule::kw_yes => {
                    yes = true;
                    word = span_of(&child);
                }
                Rule::kw_no => word = span_of(&child),
                Rule::ident => target = ident(&child),
                _ => {}
            }
        }
        ItemKind::Branch { yes, word, target }
    }

    /// Reads one argument pair; `None` for punctuation.
    pub(crate) fn arg(&mut self, pair: Pair<'_, Rule>) -> Option<Arg> {
        let span = span_of(&pair);
        Some(match rule_of(&pair) {
            Rule::string => Arg::Text(self.text_of(pair)),
            // The reading rules' single word: what `name_arg` holding one `ident` reads as.
            Rule::r_word => Arg::Word(ident(&pair)),
            Rule::number => Arg::Number(pair.as_str().parse().unwrap_or(0.0), span),
            Rule::quantity => {
                let (amount, unit, unit_span) = self.quantity(pair);
                Arg::Quantity {
                    amount,
                    unit,
                    unit_span,
                    span,
                }
            }
            Rule::date => Arg::Date(self.date(&pair), span),
            Rule::time => Arg::Time(self.time(&pair), span),
            Rule::list => Arg::List(self.list(pair), span),
            Rule::name_arg => {
                let (segments, name_span, tail) = self.name_parts(pair);
                match tail {
                    NameTail::None if segments.len() == 1 => {
                        Arg::Word(segments.into_iter().next()?)
                    }
                    // Without a tail the pair may end in skipped whitespace; the name does not.
                    NameTail::None => Arg::Path(segments, name_span),
                    NameTail::Call(args) => Arg::Call {
                        name: joined(segments, name_span),
                        args,
                        span,
                    },
                    NameTail::Assign(value) => Arg::Assign {
                        path: segments,
                        path_span: name_span,
                        value: value?,
                        span,
                    },
                }
            }
            _ => return None,
        })
    }

    pub(crate) fn quantity(&mut self, pair: Pair<'_, Rule>) -> (f64, Unit, Span) {
        let mut amount = 0.0;
        let mut unit = Unit::Days;
        let mut unit_span = span_of(&pair);
        for child in self.children(pair) {
            match rule_of(&child) {
                Rule::number => amount = child.as_str().parse().unwrap_or(0.0),
                Rule::unit => {
                    unit = Unit::parse(child.as_str());
                    unit_span = span_of(&child);
                }
                _ => {}
            }
        }
        (amount, unit, unit_span)
    }

    /// Splits a `name_arg` or `name_ref` pair into the name's segments, the name's span and what
    /// follows the name.
    pub(crate) fn name_parts(&mut self, pair: Pair<'_, Rule>) -> (Vec<Ident>, Span, NameTail) {
        let mut segments = Vec::new();
        let mut name_span = span_of(&pair);
        let mut tail = NameTail::None;
        for child in self.children(pair) {
            match rule_of(&child) {
                Rule::name => {
                    name_span = span_of(&child);
                    segments = child.into_inner().map(|p| ident(&p)).collect();
                }
                Rule::call_tail => tail = NameTail::Call(self.call_args(child)),
                Rule::assign_tail => {
                    let expr = self.children(child).find(|p| rule_of(p) == Rule::expr);
                    tail = NameTail::Assign(expr.and_then(|e| expr::lower(self, e)));
                }
                _ => {}
            }
        }
        (segments, name_span, tail)
    }

    fn call_args(&mut self, pair: Pair<'_, Rule>) -> Vec<(Option<Ident>, Expr)> {
        let mut args = Vec::new();
        for child in self.children(pair) {
            if rule_of(&child) != Rule::call_arg {
                continue;
            }
            let mut arg_name = None;
            let mut value = None;
            for part in self.children(child) {
                match rule_of(&part) {
                    Rule::ident => arg_name = Some(ident(&part)),
                    Rule::expr => value = expr::lower(self, part),
                    _ => {}
                }
            }
            if let Some(value) = value {
                args.push((arg_name, value));
            }
        }
        args
    }

    pub(crate) fn list(&mut self, pair: Pair<'_, Rule>) -> Vec<Expr> {
        let mut items = Vec::new();
        for child in self.children(pair) {
            if rule_of(&child) == Rule::expr {
                items.extend(expr::lower(self, child));
            }
        }
        items
    }

    pub(crate) fn date(&mut self, pair: &Pair<'_, Rule>) -> crate::ast::Literal {
        let text = pair.as_str();
        let part = |range: std::ops::Range<usize>| {
            text.get(range)
                .and_then(|s| s.parse::<u32>().ok())
                .unwrap_or(0)
        };
        let (year, month, day) = (part(0..4), part(5..7), part(8..10));
        let year = i32::try_from(year).unwrap_or(0);
        if chrono::NaiveDate::from_ymd_opt(year, month, day).is_none() {
            self.diagnostics.push(
                Diagnostic::new(
                    code::INVALID_LITERAL,
                    self.file,
                    span_of(pair),
                    format!("`{text}` is not a date in the calendar"),
                    "no such date",
                )
                .with_help("dates are written year-month-day, like `2026-12-24`"),
            );
        }
        crate::ast::Literal::Date { year, month, day }
    }

    pub(crate) fn time(&mut self, pair: &Pair<'_, Rule>) -> Option<TimeOfDay> {
        let text = pair.as_str();
        let (hour, minute) = text.split_once(':')?;
        let hour: u8 = hour.parse().ok()?;
        let minute: u8 = minute.parse().ok()?;
        if hour > 23 || minute > 59 {
            self.diagnostics.push(
                Diagnostic::new(
                    code::INVALID_LITERAL,
                    self.file,
                    span_of(pair),
                    format!("`{text}` is not a time of day"),
                    "no such time",
                )
                .with_help("times run from `00:00` to `23:59`"),
            );
            return None;
        }
        Some(TimeOfDay { hour, minute })
    }

    /// A string pair as text with escapes resolved; bad escapes are reported.
    pub(crate) fn text_of(&mut self, pair: Pair<'_, Rule>) -> Text {
        let span = span_of(&pair);
        let mut value = String::new();
        for child in pair.into_inner() {
            match rule_of(&child) {
                Rule::plain_text => value = self.unescape(&child),
                Rule::triple_text => value = dedent(child.as_str()),
                _ => {}
            }
        }
        Text { value, span }
    }

    fn unescape(&mut self, pair: &Pair<'_, Rule>) -> String {
        let raw = pair.as_str();
        // Most texts have no escape; copying them whole is much cheaper than char by char.
        if !raw.contains('\\') {
            return raw.to_string();
        }
        let base = pair.as_span().start();
        let mut out = String::with_capacity(raw.len());
        let mut chars = raw.char_indices().peekable();
        while let Some((i, c)) = chars.next() {
            if c != '\\' {
                out.push(c);
                continue;
            }
            let Some((_, escaped)) = chars.next() else {
                break;
            };
            match escaped {
                '"' => out.push('"'),
                '\\' => out.push('\\'),
                'n' => out.push('\n'),
                't' => out.push('\t'),
                'u' => {
                    let rest = &raw[i + 2..];
                    let decoded = rest
                        .strip_prefix('{')
                        .and_then(|r| r.split_once('}'))
                        .and_then(|(hex, _)| {
                            u32::from_str_radix(hex, 16)
                                .ok()
                                .and_then(char::from_u32)
                                .map(|ch| (ch, hex.len() + 2))
                        });
                    match decoded {
                        Some((ch, consumed)) => {
                            out.push(ch);
                            for _ in 0..consumed {
                                chars.next();
                            }
                        }
                        None => self.bad_escape(base + i, base + i + 2),
                    }
                }
                other => self.bad_escape(base + i, base + i + 1 + other.len_utf8()),
            }
        }
        out
    }

    fn bad_escape(&mut self, start: usize, end: usize) {
        let written = self.text.get(start..end).unwrap_or("\\");
        self.diagnostics.push(
            Diagnostic::new(
                code::SYNTAX_ERROR,
                self.file,
                Span::new(start, end),
                format!("unknown escape `{written}` in a text"),
                "unknown escape",
            )
            .with_help("texts know `\\\"`, `\\\\`, `\\n`, `\\t` and `\\u{...}`; write a backslash as `\\\\`"),
        );
    }

    /// Reports a line the grammar could not read, by parsing it again on its own.
    fn invalid(&mut self, pair: &Pair<'_, Rule>) {
        let start = pair.as_span().start();
        let text = pair.as_str();
        let first = text
            .split(|c: char| !(c.is_alphanumeric() || c == '_'))
            .next()
            .unwrap_or("");
        let rule = match first {
            "process" => Rule::only_process,
            "step" => Rule::only_step,
            "deadline" => Rule::only_deadline,
            "yes" | "no" => Rule::only_branch,
            _ => Rule::only_setting,
        };
        let diagnostic = match ProcParser::parse(rule, text) {
            Err(error) => self.pest_error(&error, start),
            Ok(_) => Diagnostic::new(
                code::SYNTAX_ERROR,
                self.file,
                span_of(pair),
                "this line cannot stand here",
                "not expected here",
            ),
        };
        self.diagnostics.push(diagnostic);
    }

    /// Turns a pest error at `offset` into a diagnostic phrased in the author's terms.
    pub(crate) fn pest_error(&self, error: &pest::error::Error<Rule>, offset: usize) -> Diagnostic {
        let at = offset
            + match error.location {
                InputLocation::Pos(p) => p,
                InputLocation::Span((s, _)) => s,
            };
        if let Some(open) = unclosed_quote(self.text.get(offset..at).unwrap_or("")) {
            let start = offset + open;
            return Diagnostic::new(
                code::SYNTAX_ERROR,
                self.file,
                Span::new(start, start + 1),
                "this text is never closed",
                "the text starts here",
            )
            .with_help("close the text with `\"` on the same line; a text that spans lines is written in `\"\"\"`");
        }
        let rest = self.text.get(at..).unwrap_or("");
        let found_len = found_token_len(rest);
        let found = if found_len == 0 {
            "the end of the line".to_string()
        } else {
            format!("`{}`", &rest[..found_len])
        };
        let expected = match &error.variant {
            ErrorVariant::ParsingError { positives, .. } => {
                let mut phrases: Vec<&str> = Vec::new();
                for rule in positives {
                    if let Some(phrase) = phrase(canonical(*rule))
                        && !phrases.contains(&phrase)
                    {
                        phrases.push(phrase);
                    }
                }
                phrases
            }
            ErrorVariant::CustomError { .. } => Vec::new(),
        };
        let message = if expected.is_empty() {
            format!("unexpected {found}")
        } else {
            format!("expected {}, found {found}", join_or(&expected))
        };
        let label = if found_len == 0 {
            "the line ends here".to_string()
        } else {
            format!("unexpected {found}")
        };
        let help = hint(rest, &expected);
        Diagnostic::new(
            code::SYNTAX_ERROR,
            self.file,
            Span::new(at, at + found_len),
            message,
            label,
        )
        .with_help_opt(help)
    }
}

/// The span of an item from its first to its last token: pest's span of a rule that ends in an
/// optional part also covers the spaces and comment skipped while trying that part.
fn token_span(pair: &Pair<'_, Rule>) -> Span {
    let whole = span_of(pair);
    let mut last = pair.clone();
    while let Some(inner) = last.clone().into_inner().next_back() {
        last = inner;
    }
    Span::new(whole.start(), last.as_span().end())
}

pub(crate) fn ident(pair: &Pair<'_, Rule>) -> Ident {
    Ident {
        name: pair.as_str().to_string(),
        span: span_of(pair),
    }
}

/// The length of the token at the start of `rest`: a word, a text, a number or one character.
fn found_token_len(rest: &str) -> usize {
    let Some(first) = rest.chars().next() else {
        return 0;
    };
    if first == '\n' || first == '\r' {
        return 0;
    }
    if first.is_alphanumeric() || first == '_' {
        return rest
            .find(|c: char| !(c.is_alphanumeric() || c == '_'))
            .unwrap_or(rest.len());
    }
    if first == '"' {
        return rest[1..]
            .find(['"', '\n'])
            .map_or(rest.len(), |e| e + 2)
            .min(rest.find('\n').unwrap_or(rest.len()));
    }
    first.len_utf8()
}

/// The offset of a `"` in `line` that opens a text never closed before its end.
fn unclosed_quote(line: &str) -> Option<usize> {
    let bytes = line.as_bytes();
    let mut open = None;
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' if open.is_some() => i += 1,
            b'\n' => open = None,
            b'/' if open.is_none() && bytes.get(i + 1) == Some(&b'/') => {
                while i < bytes.len() && bytes[i] != b'\n' {
                    i += 1;
                }
                continue;
            }
            b'"' if bytes[i..].starts_with(b"\"\"\"") => match line[i + 3..].find("\"\"\"") {
                Some(end) => i += end + 5,
                None => return Some(i),
            },
            b'"' => open = if open.is_some() { None } else { Some(i) },
            _ => {}
        }
        i += 1;
    }
    open
}

fn join_or(items: &[&str]) -> String {
    match items {
        [] => String::new(),
        [one] => (*one).to_string(),
        [init @ .., last] => format!("{} or {last}", init.join(", ")),
    }
}

/// A fix for common mistakes, given what came and what was expected.
fn hint(rest: &str, expected: &[&str]) -> Option<String> {
    if rest.starts_with('"') && !rest[1..].split('\n').next().unwrap_or("").contains('"') {
        return Some(
            "close the text with `\"`; a text that spans lines is written in `\"\"\"`".into(),
        );
    }
    if expected.contains(&"`:`") {
        return Some("a step is written `step name: kind ...`".into());
    }
    if rest.starts_with("=>") || rest.starts_with("→") {
        return Some("branches are written `yes -> step`".into());
    }
    if rest.starts_with('\'') {
        return Some("texts are written in double quotes".into());
    }
    None
}

/// How a grammar rule reads in a message, or `None` for rules that say nothing to authors.
fn phrase(rule: Rule) -> Option<&'static str> {
    Some(match rule {
        Rule::ident | Rule::name | Rule::name_arg | Rule::name_ref => "a name",
        Rule::string | Rule::quote | Rule::plain_text | Rule::triple_quote => {
            "a text in double quotes"
        }
        Rule::quantity | Rule::unit | Rule::rung => "an amount such as `3 days`",
        Rule::number => "a number",
        Rule::date => "a date such as `2026-12-24`",
        Rule::time => "a time such as `09:00`",
        Rule::expr
        | Rule::call_tail
        | Rule::call_arg
        | Rule::list
        | Rule::assign_tail
        | Rule::numeric => "a value",
        Rule::lbrace | Rule::block => "`{`",
        Rule::rbrace => "`}`",
        Rule::lparen => "`(`",
        Rule::rparen => "`)`",
        Rule::lbracket => "`[`",
        Rule::rbracket => "`]`",
        Rule::colon => "`:`",
        Rule::arrow | Rule::rung_action => "`->`",
        Rule::assign => "`=`",
        Rule::kw_process | Rule::process => "`process`",
        Rule::kw_step | Rule::step => "`step`",
        Rule::kw_deadline | Rule::deadline => "`deadline`",
        Rule::kw_when | Rule::when_clause => "`when`",
        Rule::kw_yes | Rule::kw_no | Rule::branch => "`yes` or `no`",
        Rule::op_or
        | Rule::op_and
        | Rule::op_eq
        | Rule::op_ne
        | Rule::op_le
        | Rule::op_ge
        | Rule::op_lt
        | Rule::op_gt
        | Rule::op_add
        | Rule::op_sub
        | Rule::op_mul
        | Rule::op_div
        | Rule::op_in => "an operator",
        Rule::op_not | Rule::op_neg => "an operand",
        Rule::EOI => "the end of the line",
        Rule::setting => "a setting",
        _ => return None,
    })
}

/// Removes the first line break, a trailing blank line and the common indentation of a
/// multi-line text, so that it can be indented with the code around it.
fn dedent(raw: &str) -> String {
    let body = raw
        .strip_prefix("\r\n")
        .or_else(|| raw.strip_prefix('\n'))
        .unwrap_or(raw);
    let body = match body.rfind('\n') {
        Some(last) if body[last + 1..].trim().is_empty() => &body[..last],
        _ => body,
    };
    let indent = body
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| l.len() - l.trim_start().len())
        .min()
        .unwrap_or(0);
    body.lines()
        .map(|l| l.get(indent..).unwrap_or(l.trim_start()))
        .collect::<Vec<_>>()
        .join("\n")
}
