//! Expressions with the fewest parentheses that keep their meaning.
//!
//! The parser's precedence, loosest first: `or` (1); `and` (2); prefix `not` (3), whose operand
//! is a whole comparison; comparisons and `in` (4); `+`, `-` (5); `*`, `/` (6); prefix `-` (7),
//! whose operand is one operand. Infix operators group to the left.
//!
//! A `not` written without parentheses reaches as far right as operators of precedence 4 or
//! more continue, so besides the usual rules a `not` is put in parentheses exactly when such an
//! operator follows it in the printed text (`follow` below).

use procc_syntax::ast::{BinaryOp, Expr, ExprKind, Literal, UnaryOp};

use crate::text;

/// The precedence of comparisons, which is also the loosest operand `not` takes whole.
const COMPARISON: u8 = BinaryOp::COMPARISON_PRECEDENCE;

fn precedence(op: BinaryOp) -> u8 {
    op.precedence()
}

/// Prints an expression; `indent` is the indentation of the line it is on (for texts that
/// span lines).
pub(crate) fn expr(e: &Expr, indent: usize) -> String {
    let mut out = String::new();
    Printer {
        out: &mut out,
        indent,
    }
    .expr(e, 0);
    out
}

struct Printer<'o> {
    out: &'o mut String,
    indent: usize,
}

impl Printer<'_> {
    /// Prints `e`; `follow` is the precedence of the infix operator printed right after it
    /// (0 when none follows at this level).
    ///
    /// Chains of infix operators grouping to the left and chains of prefix operators are
    /// printed in loops, not by recursion: they may be as long as a line is, while the depth of
    /// the recursion that remains is bounded by the nesting of brackets.
    fn expr(&mut self, e: &Expr, follow: u8) {
        match &e.kind {
            ExprKind::Literal(literal) => self.literal(literal),
            ExprKind::Field(path) => {
                self.out.push_str(path.module.value.name());
                self.out.push('.');
                self.out.push_str(&path.field.name);
            }
            ExprKind::Name(name) => self.out.push_str(&name.name),
            ExprKind::Unary(..) => self.prefixed(e, follow),
            ExprKind::Binary(op, left, right) => self.infix(*op, left, right, follow),
            ExprKind::Call(name, args) => {
                self.out.push_str(&name.name);
                self.out.push('(');
                self.list(args);
                self.out.push(')');
            }
            ExprKind::List(items) => {
                self.out.push('[');
                self.list(items);
                self.out.push(']');
            }
        }
    }

    /// A chain of prefix operators and their operand. `not` takes a whole comparison (so an
    /// infix operand looser than that needs parentheses); `-` takes one operand (so any infix
    /// operand does).
    fn prefixed(&mut self, e: &Expr, follow: u8) {
        let mut current = e;
        loop {
            let (operand, min) = match &current.kind {
                ExprKind::Unary(UnaryOp::Not, operand) => {
                    if follow >= COMPARISON {
                        self.parenthesized(current);
                        return;
                    }
                    self.out.push_str("not ");
                    (operand, COMPARISON)
                }
                ExprKind::Unary(UnaryOp::Neg, operand) => {
                    self.out.push('-');
                    (operand, u8::MAX)
                }
                _ => break,
            };
            if let ExprKind::Binary(op, ..) = &operand.kind
                && precedence(*op) < min
            {
                self.parenthesized(operand);
                return;
            }
            current = operand;
        }
        self.expr(current, follow);
    }

    /// `left op right`, where `left` may itself be a chain of operators grouping to the left.
    fn infix(&mut self, op: BinaryOp, left: &Expr, right: &Expr, follow: u8) {
        // The left spine: each operator with its right operand and what follows that operand.
        let mut spine = vec![(op, right, follow)];
        let mut leftmost = left;
        let mut p = precedence(op);
        while let ExprKind::Binary(inner, inner_left, inner_right) = &leftmost.kind
            && precedence(*inner) >= p
        {
            spine.push((*inner, inner_right, p));
            p = precedence(*inner);
            leftmost = inner_left;
        }
        match &leftmost.kind {
            ExprKind::Binary(..) => self.parenthesized(leftmost),
            _ => self.expr(leftmost, p),
        }
        for (op, right, follow) in spine.into_iter().rev() {
            let p = precedence(op);
            self.out.push(' ');
            self.out.push_str(op.symbol());
            self.out.push(' ');
            match &right.kind {
                ExprKind::Binary(r, ..) if precedence(*r) <= p => self.parenthesized(right),
                _ => self.expr(right, follow),
            }
        }
    }

    fn parenthesized(&mut self, e: &Expr) {
        self.out.push('(');
        self.expr(e, 0);
        self.out.push(')');
    }

    fn list(&mut self, items: &[Expr]) {
        for (i, item) in items.iter().enumerate() {
            if i > 0 {
                self.out.push_str(", ");
            }
            self.expr(item, 0);
        }
    }

    fn literal(&mut self, literal: &Literal) {
        let written = match literal {
            Literal::Text(value) => text::quoted(value, self.indent),
            Literal::Number(n) => text::number(*n),
            Literal::Money(n) => format!("{} EUR", text::number(*n)),
            Literal::Area(n) => format!("{} m²", text::number(*n)),
            Literal::Percent(n) => format!("{}%", text::number(*n)),
            Literal::Bool(b) => b.to_string(),
            Literal::Date { year, month, day } => format!("{year:04}-{month:02}-{day:02}"),
            Literal::Duration { amount, unit } => text::amount(*amount, *unit),
        };
        self.out.push_str(&written);
    }
}

/// Printing is tested against the parser: every expression must read back to the same tree.
#[cfg(test)]
mod tests {
    use procc_diagnostics::FileId;
    use procc_syntax::ast::{Expr, StepKind};

    /// The expression as the value of a write step (after `when`, a condition cannot start
    /// with `(`: the grammar reads `when (...)` as a call of `when`).
    fn condition(source: &str) -> Expr {
        let text = format!("process p {{\n  step w: write_values property.x = {source}\n}}\n");
        let (file, diagnostics) = procc_syntax::parse(FileId(0), &text);
        assert!(diagnostics.is_empty(), "{source}: {diagnostics:#?}");
        match &file.processes[0].steps[0].kind {
            StepKind::WriteValues(w) => w.value.clone().unwrap(),
            other => panic!("not a write step: {other:?}"),
        }
    }

    fn shape(e: &Expr) -> String {
        crate::testing::erase_spans(&format!("{e:?}"))
    }

    fn roundtrip(source: &str, expected: &str) {
        let tree = condition(source);
        let printed = super::expr(&tree, 0);
        assert_eq!(printed, expected, "printing {source}");
        assert_eq!(
            shape(&condition(&printed)),
            shape(&tree),
            "{source} -> {printed}"
        );
    }

    #[test]
    fn redundant_parentheses_go_and_needed_ones_stay() {
        roundtrip("((a))", "a");
        roundtrip("(a and b) or c", "a and b or c");
        roundtrip("a and (b or c)", "a and (b or c)");
        roundtrip("(1 + 2) * 3", "(1 + 2) * 3");
        roundtrip("1 + (2 * 3)", "1 + 2 * 3");
        roundtrip("1 - (2 - 3)", "1 - (2 - 3)");
        roundtrip("(1 - 2) - 3", "1 - 2 - 3");
        roundtrip("-(a + b) > 5%", "-(a + b) > 5%");
        roundtrip(
            "-(property.valuation_change) > 5%",
            "-property.valuation_change > 5%",
        );
        roundtrip("a - -5", "a - -5");
        roundtrip("- -a", "--a");
        roundtrip("(a == b) == c", "a == b == c");
        roundtrip("a == (b == c)", "a == (b == c)");
    }

    #[test]
    fn not_takes_a_whole_comparison() {
        roundtrip("not (a == b)", "not a == b");
        roundtrip("(not a) == b", "(not a) == b");
        roundtrip("not (a and b)", "not (a and b)");
        roundtrip("(not a) and b", "not a and b");
        roundtrip("a and not b or c", "a and not b or c");
        roundtrip("a == (not b)", "a == not b");
        roundtrip("(a == (not b)) + 1 > 2", "(a == not b) + 1 > 2");
        roundtrip("a * (not b) + c", "a * (not b) + c");
        roundtrip("-(not a) == b", "-(not a) == b");
        roundtrip("- not a", "-not a");
        roundtrip("not not a", "not not a");
        roundtrip("not (not a == b)", "not not a == b");
    }

    #[test]
    fn literals_print_canonically() {
        roundtrip("250000.0 EUR", "250000 EUR");
        roundtrip("120 sqm + 1 m2 + 2 m²", "120 m² + 1 m² + 2 m²");
        roundtrip("10 %", "10%");
        roundtrip(
            "1 days + 2 day + 3 hour + 1 business days",
            "1 day + 2 days + 3 hours + 1 business day",
        );
        roundtrip("[1, 2,]", "[1, 2]");
        roundtrip("f( a ,b )", "f(a, b)");
        roundtrip("2026-01-02 < today()", "2026-01-02 < today()");
        roundtrip("\"a\\\"b\" in [\"x\"]", "\"a\\\"b\" in [\"x\"]");
        roundtrip("true != false", "true != false");
        roundtrip("3.50", "3.5");
    }
}
