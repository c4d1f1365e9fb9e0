//! Expressions: operands and operators from the grammar, grouped by precedence here.
//!
//! Precedence, loosest first: `or`; `and`; `not`; comparisons (`==`, `!=`, `<`, `<=`, `>`,
//! `>=`, `in`); `+`, `-`; `*`, `/`; prefix `-`. Infix operators group to the left.

use pest::iterators::Pair;
use procc_diagnostics::{Diagnostic, Span, code};

use crate::ast::{
    BinaryOp, Expr, ExprKind, FieldPath, Ident, Literal, Module, Spanned, TimeUnit, UnaryOp,
};
use crate::grammar::Rule;
use crate::tree::{NameTail, Reader, Unit, joined, rule_of, span_of};

/// Operands and operators an expression may have; longer ones are refused, which keeps every
/// recursive walk over expressions (here, in the checker, in the formatter) shallow.
pub(crate) const MAX_EXPRESSION_TOKENS: usize = 1_000;

enum Token {
    Prefix(UnaryOp, Span),
    Operand(Expr),
    Infix(BinaryOp),
}

/// Lowers an `expr` pair; `None` when an operand could not be read (already reported).
pub(crate) fn lower(reader: &mut Reader<'_>, pair: Pair<'_, Rule>) -> Option<Expr> {
    let mut tokens = Vec::new();
    let mut complete = true;
    for child in reader.children(pair) {
        let span = span_of(&child);
        let token = match rule_of(&child) {
            Rule::op_not => Token::Prefix(UnaryOp::Not, span),
            Rule::op_neg => Token::Prefix(UnaryOp::Neg, span),
            Rule::op_or => Token::Infix(BinaryOp::Or),
            Rule::op_and => Token::Infix(BinaryOp::And),
            Rule::op_eq => Token::Infix(BinaryOp::Eq),
            Rule::op_ne => Token::Infix(BinaryOp::Ne),
            Rule::op_lt => Token::Infix(BinaryOp::Lt),
            Rule::op_le => Token::Infix(BinaryOp::Le),
            Rule::op_gt => Token::Infix(BinaryOp::Gt),
            Rule::op_ge => Token::Infix(BinaryOp::Ge),
            Rule::op_add => Token::Infix(BinaryOp::Add),
            Rule::op_sub => Token::Infix(BinaryOp::Sub),
            Rule::op_mul => Token::Infix(BinaryOp::Mul),
            Rule::op_div => Token::Infix(BinaryOp::Div),
            Rule::op_in => Token::Infix(BinaryOp::In),
            Rule::lparen | Rule::rparen => continue,
            _ => match operand(reader, child) {
                Some(expr) => Token::Operand(expr),
                None => {
                    complete = false;
                    continue;
                }
            },
        };
        tokens.push(token);
    }
    if !complete {
        return None;
    }
    if tokens.len() > MAX_EXPRESSION_TOKENS {
        let span = tokens
            .iter()
            .find_map(|t| match t {
                Token::Operand(first) => Some(first.span),
                _ => None,
            })
            .unwrap_or_default();
        reader.diagnostics.push(
            Diagnostic::new(
                code::NESTING_TOO_DEEP,
                reader.file,
                span,
                format!("the expression has {} operands and operators, more than the {MAX_EXPRESSION_TOKENS} procc reads", tokens.len()),
                "too long",
            )
            .with_help("split the condition over several decisions"),
        );
        return None;
    }
    let mut climber = Climber {
        tokens: tokens.into_iter().peekable(),
    };
    climber.expr(0)
}

struct Climber<I: Iterator<Item = Token>> {
    tokens: std::iter::Peekable<I>,
}

impl<I: Iterator<Item = Token>> Climber<I> {
    fn expr(&mut self, min: u8) -> Option<Expr> {
        let mut lhs = self.unary()?;
        while let Some(Token::Infix(op)) = self.tokens.peek() {
            let op = *op;
            let prec = op.precedence();
            if prec < min {
                break;
            }
            self.tokens.next();
            let rhs = self.expr(prec + 1)?;
            let span = lhs.span.to(rhs.span);
            lhs = Expr {
                kind: ExprKind::Binary(op, Box::new(lhs), Box::new(rhs)),
                span,
            };
        }
        Some(lhs)
    }

    fn unary(&mut self) -> Option<Expr> {
        match self.tokens.next()? {
            Token::Operand(expr) => Some(expr),
            Token::Prefix(op, span) => {
                // `not` takes a whole comparison; `-` only the operand after it.
                let operand = match op {
                    UnaryOp::Not => self.expr(BinaryOp::COMPARISON_PRECEDENCE)?,
                    UnaryOp::Neg => self.unary()?,
                };
                let span = span.to(operand.span);
                Some(Expr {
                    kind: ExprKind::Unary(op, Box::new(operand)),
                    span,
                })
            }
            Token::Infix(_) => None,
        }
    }
}

fn operand(reader: &mut Reader<'_>, pair: Pair<'_, Rule>) -> Option<Expr> {
    let mut span = span_of(&pair);
    let kind = match rule_of(&pair) {
        Rule::expr => return lower(reader, pair),
        Rule::string => ExprKind::Literal(Literal::Text(reader.text_of(pair).value)),
        Rule::number => ExprKind::Literal(Literal::Number(pair.as_str().parse().unwrap_or(0.0))),
        Rule::quantity => {
            let (amount, unit, unit_span) = reader.quantity(pair);
            ExprKind::Literal(quantity_literal(reader, amount, unit, unit_span, span)?)
        }
        Rule::date => ExprKind::Literal(reader.date(&pair)),
        Rule::time => {
            reader.diagnostics.push(
                Diagnostic::new(
                    code::INVALID_LITERAL,
                    reader.file,
                    span,
                    "a time of day cannot be used in an expression",
                    "time of day",
                )
                .with_help("compare dates, or use `start ... after previous` for timing"),
            );
            return None;
        }
        Rule::name_ref => {
            let (segments, name_span, tail) = reader.name_parts(pair);
            if matches!(tail, NameTail::None) {
                // Without a call the pair may end in skipped whitespace; the name does not.
                span = name_span;
            }
            match tail {
                NameTail::Call(args) => {
                    let name = joined(segments, name_span);
                    for (arg_name, _) in &args {
                        if let Some(arg_name) = arg_name {
                            reader.diagnostics.push(
                                Diagnostic::new(
                                    code::MALFORMED_SETTING,
                                    reader.file,
                                    arg_name.span,
                                    format!("`{}` takes no named arguments", name.name),
                                    "named argument",
                                )
                                .with_help(format!("remove `{}:`", arg_name.name)),
                            );
                        }
                    }
                    ExprKind::Call(name, args.into_iter().map(|(_, e)| e).collect())
                }
                NameTail::None | NameTail::Assign(_) if segments.len() == 1 => {
                    let name = segments.into_iter().next()?;
                    match name.name.as_str() {
                        "true" => ExprKind::Literal(Literal::Bool(true)),
                        "false" => ExprKind::Literal(Literal::Bool(false)),
                        _ => ExprKind::Name(name),
                    }
                }
                NameTail::None | NameTail::Assign(_) => {
                    ExprKind::Field(field_path(reader, &segments, name_span)?)
                }
            }
        }
        Rule::list => ExprKind::List(reader.list(pair)),
        _ => return None,
    };
    Some(Expr { kind, span })
}

/// A record field from the segments of a path: `property.purchase_price`.
pub(crate) fn field_path(
    reader: &mut Reader<'_>,
    segments: &[Ident],
    span: Span,
) -> Option<FieldPath> {
    let module = match segments.first().map(|s| s.name.as_str()) {
        Some("property") => Module::Property,
        Some("address") => Module::Address,
        Some("project") => Module::Project,
        _ => {
            let root = segments.first().map_or("", |s| s.name.as_str());
            let suggestion =
                procc_diagnostics::did_you_mean(root, ["property", "address", "project"]);
            reader.diagnostics.push(
                Diagnostic::new(
                    code::UNKNOWN_FIELD,
                    reader.file,
                    segments.first().map_or(span, |s| s.span),
                    format!("`{root}` is not a record: fields are read from `property`, `address` or `project`"),
                    "unknown record",
                )
                .with_suggestion(suggestion),
            );
            return None;
        }
    };
    if segments.len() != 2 {
        reader.diagnostics.push(
            Diagnostic::new(
                code::UNKNOWN_FIELD,
                reader.file,
                span,
                format!(
                    "a field is written `{}.name`, with one name after the record",
                    module.name()
                ),
                "too many parts",
            )
            .with_help("fields of linked records are not reachable through other records"),
        );
        return None;
    }
    Some(FieldPath {
        module: Spanned {
            value: module,
            span: segments[0].span,
        },
        field: segments[1].clone(),
        span,
    })
}

/// The literal of a number with a unit, in an expression.
pub(crate) fn quantity_literal(
    reader: &mut Reader<'_>,
    amount: f64,
    unit: Unit,
    unit_span: Span,
    span: Span,
) -> Option<Literal> {
    Some(match unit {
        Unit::Eur => Literal::Money(amount),
        Unit::Sqm => Literal::Area(amount),
        Unit::Percent => Literal::Percent(amount),
        Unit::Days
        | Unit::Hours
        | Unit::BusinessDays
        | Unit::Minutes
        | Unit::Weeks
        | Unit::Months
        | Unit::Years => {
            let (amount, unit) = time_amount(reader, amount, unit, unit_span, span, true)?;
            Literal::Duration { amount, unit }
        }
    })
}

/// Checks a time amount: whole, in a unit procc has. Zero and negative amounts are left to the
/// caller, which knows whether they make sense.
pub(crate) fn time_amount(
    reader: &mut Reader<'_>,
    amount: f64,
    unit: Unit,
    unit_span: Span,
    span: Span,
    hours_allowed: bool,
) -> Option<(i64, TimeUnit)> {
    let unit = match unit {
        Unit::Days => TimeUnit::Days,
        Unit::BusinessDays => TimeUnit::BusinessDays,
        Unit::Hours if hours_allowed => TimeUnit::Hours,
        other => {
            let units = if hours_allowed {
                "`days`, `hours` or `business days`"
            } else {
                "`days` or `business days`"
            };
            let help = match other {
                Unit::Weeks => format!("write `{} days`", amount * 7.0),
                Unit::Hours => "deadlines are counted in days: write `1 day`".to_string(),
                Unit::Months | Unit::Years => "write the number of days".to_string(),
                Unit::Minutes => "the shortest delay is one hour".to_string(),
                _ => format!("time is counted in {units}"),
            };
            let written = reader
                .text
                .get(unit_span.start()..unit_span.end())
                .unwrap_or("");
            reader.diagnostics.push(
                Diagnostic::new(
                    code::UNSUPPORTED_UNIT,
                    reader.file,
                    unit_span,
                    format!("`{written}` is not a unit here: time is counted in {units}"),
                    "unit not available",
                )
                .with_help(help),
            );
            return None;
        }
    };
    if amount.fract() != 0.0 || amount.abs() > 1_000_000.0 {
        reader.diagnostics.push(
            Diagnostic::new(
                code::INVALID_DURATION,
                reader.file,
                span,
                "a duration is a whole number of days or hours, at most 1,000,000",
                "not a whole number",
            )
            .with_help("write `36 hours` instead of `1.5 days`"),
        );
        return None;
    }
    // The amount is whole and bounded above, so the conversion is exact.
    #[allow(clippy::cast_possible_truncation)]
    Some((amount as i64, unit))
}
