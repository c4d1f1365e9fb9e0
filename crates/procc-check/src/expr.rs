//! Types of expressions over the catalog's field types.
//!
//! The typer reports unknown fields (P1011), unknown filters (P1015), type mismatches (P2001),
//! unknown functions (P2008) and wrong argument counts (P2009). The records and projects an
//! expression reads are handed back as [`Use`]s, so the caller can check that they are linked
//! where the expression is evaluated.

use procc_catalog::{Field, FieldType};
use procc_diagnostics::{Diagnostic, FileId, Span, code};
use procc_syntax::ast::{BinaryOp, Expr, ExprKind, FieldPath, Literal, Module, Record, UnaryOp};

use crate::ctx::{Ctx, catalog_module, name_list, record_of_catalog_module};

/// Nesting deeper than this is not looked into (the syntax layer limits brackets; operator
/// chains are walked without recursion).
const MAX_DEPTH: usize = 200;

/// The type of an expression.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Ty<'a> {
    Text,
    Number,
    Money,
    Area,
    Bool,
    Date,
    Duration,
    /// An enum field, with its values.
    Enum(&'a Field),
    /// Not known, because of an error already reported: accepted everywhere.
    Unknown,
}

impl Ty<'_> {
    /// The type's name in messages.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Ty::Text => "text",
            Ty::Number => "number",
            Ty::Money => "money",
            Ty::Area => "area",
            Ty::Bool => "bool",
            Ty::Date => "date",
            Ty::Duration => "duration",
            Ty::Enum(_) => "enum",
            Ty::Unknown => "unknown",
        }
    }

    fn known(self) -> bool {
        !matches!(self, Ty::Unknown)
    }
}

/// The type of a catalog field.
pub(crate) fn field_ty(field: &Field) -> Ty<'_> {
    match field.ty {
        FieldType::Text => Ty::Text,
        FieldType::Number => Ty::Number,
        FieldType::Money => Ty::Money,
        FieldType::Area => Ty::Area,
        FieldType::Date => Ty::Date,
        FieldType::Bool => Ty::Bool,
        FieldType::Enum => Ty::Enum(field),
    }
}

/// Where an expression is evaluated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Scope {
    /// The condition of a `trigger <record> saved` line: `changed(...)` is available and takes
    /// bare field names of that record.
    SavedTrigger(Record),
    /// Another trigger's condition.
    Trigger,
    /// A step (a decision condition, a written value, a webhook parameter).
    Step,
}

/// A record or project an expression reads.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Use<'a> {
    /// Which module.
    pub(crate) module: Module,
    /// Where.
    pub(crate) span: Span,
    /// What reads it.
    pub(crate) what: UseWhat<'a>,
}

/// What reads a record or project.
#[derive(Debug, Clone, Copy)]
pub(crate) enum UseWhat<'a> {
    /// A field path.
    Field(&'a FieldPath),
    /// `in_filter("id")`.
    Filter(&'a str),
}

impl std::fmt::Display for UseWhat<'_> {
    /// "reads `property.price`".
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            UseWhat::Field(p) => write!(f, "reads `{}.{}`", p.module.value.name(), p.field.name),
            UseWhat::Filter(id) => write!(f, "checks the filter `{id}`"),
        }
    }
}

/// The functions of the expression language: name, fewest and most arguments.
pub(crate) const FUNCTIONS: &[(&str, usize, usize)] = &[
    ("changed", 1, usize::MAX),
    ("in_filter", 1, 1),
    ("today", 0, 0),
    ("days_since", 1, 1),
    ("is_set", 1, 1),
];

/// Types one expression tree.
pub(crate) struct Typer<'a, 'c, 'u> {
    pub(crate) ctx: &'c mut Ctx<'a>,
    pub(crate) file: FileId,
    pub(crate) scope: Scope,
    pub(crate) uses: &'u mut Vec<Use<'a>>,
}

impl<'a> Typer<'a, '_, '_> {
    /// Types `expr` and reports when it is not a yes/no value; `what` names it ("the condition
    /// of decision `x`").
    pub(crate) fn condition(&mut self, expr: &'a Expr, what: &str) {
        let ty = self.ty(expr, 0);
        if ty.known() && !matches!(ty, Ty::Bool) {
            let snippet = self.ctx.snippet(self.file, expr.span);
            self.report(
                expr.span,
                format!("{what} must be true or false, but `{snippet}` is {}", a_ty(ty)),
                format!("{} value", ty.name()),
                Some("compare it, for example `property.purchase_price > 500000 EUR`, or use `is_set(...)`".into()),
            );
        }
    }

    fn report(&mut self, span: Span, message: String, label: String, help: Option<String>) {
        self.ctx.emit(
            Diagnostic::new(code::TYPE_MISMATCH, self.file, span, message, label)
                .with_help_opt(help),
        );
    }

    /// The type of a field path; reports an unknown field.
    pub(crate) fn field(&mut self, path: &'a FieldPath) -> Ty<'a> {
        let catalog = self.ctx.catalog;
        let module = catalog_module(path.module.value);
        self.uses.push(Use {
            module: path.module.value,
            span: path.span,
            what: UseWhat::Field(path),
        });
        match catalog.field(module, &path.field.name) {
            Some(f) => field_ty(f),
            None => {
                unknown_field(
                    self.ctx,
                    self.file,
                    path.module.value,
                    &path.field.name,
                    path.field.span,
                );
                Ty::Unknown
            }
        }
    }

    /// The type of `expr`.
    pub(crate) fn ty(&mut self, expr: &'a Expr, depth: usize) -> Ty<'a> {
        if depth > MAX_DEPTH {
            return Ty::Unknown;
        }
        match &expr.kind {
            ExprKind::Literal(lit) => literal_ty(lit),
            ExprKind::Field(path) => self.field(path),
            ExprKind::Name(name) => {
                let mut candidates: Vec<String> = Vec::new();
                for module in [Module::Property, Module::Address, Module::Project] {
                    if self
                        .ctx
                        .catalog
                        .field(catalog_module(module), &name.name)
                        .is_some()
                    {
                        candidates.push(format!("`{}.{}`", module.name(), name.name));
                    }
                }
                let help = if candidates.is_empty() {
                    "write a field with its record, like `property.purchase_price`, or a text in double quotes".to_string()
                } else {
                    format!("write {}", candidates.join(" or "))
                };
                let message = if matches!(self.scope, Scope::SavedTrigger(_)) {
                    format!(
                        "`{}` is not a field: bare field names are only read inside `changed(...)`",
                        name.name
                    )
                } else {
                    format!(
                        "`{}` is not a field: fields are written with their record",
                        name.name
                    )
                };
                self.ctx.emit(
                    Diagnostic::new(
                        code::UNKNOWN_FIELD,
                        self.file,
                        name.span,
                        message,
                        "bare name",
                    )
                    .with_help(help),
                );
                Ty::Unknown
            }
            ExprKind::Unary(..) => self.unary_chain(expr, depth),
            ExprKind::Binary(..) => self.binary_spine(expr, depth),
            ExprKind::Call(name, args) => self.call(expr, &name.name, name.span, args, depth),
            ExprKind::List(items) => {
                for item in items {
                    self.ty(item, depth + 1);
                }
                self.report(
                    expr.span,
                    "a list can only follow `in`".into(),
                    "list".into(),
                    Some("write `x in [a, b]`".into()),
                );
                Ty::Unknown
            }
        }
    }

    /// `not not x`, `- - x`: walked without recursion.
    fn unary_chain(&mut self, expr: &'a Expr, depth: usize) -> Ty<'a> {
        let mut ops: Vec<(UnaryOp, Span)> = Vec::new();
        let mut e = expr;
        while let ExprKind::Unary(op, inner) = &e.kind {
            ops.push((*op, e.span));
            e = inner;
        }
        let mut operand_span = e.span;
        let mut ty = self.ty(e, depth + 1);
        while let Some((op, span)) = ops.pop() {
            ty = match (op, ty) {
                (_, Ty::Unknown) => Ty::Unknown,
                (UnaryOp::Not, Ty::Bool) => Ty::Bool,
                (UnaryOp::Neg, t @ (Ty::Number | Ty::Money | Ty::Area | Ty::Duration)) => t,
                (UnaryOp::Not, t) => {
                    let snippet = self.ctx.snippet(self.file, operand_span);
                    self.report(
                        operand_span,
                        format!("`not` needs true or false, but `{snippet}` is {}", a_ty(t)),
                        format!("{} value", t.name()),
                        None,
                    );
                    Ty::Unknown
                }
                (UnaryOp::Neg, t) => {
                    let snippet = self.ctx.snippet(self.file, operand_span);
                    self.report(
                        operand_span,
                        format!(
                            "`-` needs a number, an amount or a duration, but `{snippet}` is {}",
                            a_ty(t)
                        ),
                        format!("{} value", t.name()),
                        None,
                    );
                    Ty::Unknown
                }
            };
            operand_span = span;
        }
        ty
    }

    /// `a op b op c ...`: the left spine is walked without recursion.
    fn binary_spine(&mut self, expr: &'a Expr, depth: usize) -> Ty<'a> {
        let mut spine: Vec<&'a Expr> = Vec::new();
        let mut e = expr;
        while let ExprKind::Binary(_, lhs, _) = &e.kind {
            spine.push(e);
            e = lhs;
        }
        let mut left_ty = self.ty(e, depth + 1);
        let mut left_expr = e;
        while let Some(node) = spine.pop() {
            let ExprKind::Binary(op, _, rhs) = &node.kind else {
                continue;
            };
            left_ty = self.binary(*op, left_expr, left_ty, rhs, depth);
            left_expr = node;
        }
        left_ty
    }

    fn binary(
        &mut self,
        op: BinaryOp,
        lhs: &'a Expr,
        lt: Ty<'a>,
        rhs: &'a Expr,
        depth: usize,
    ) -> Ty<'a> {
        if op == BinaryOp::In {
            return self.in_list(lhs, lt, rhs, depth);
        }
        let rt = self.ty(rhs, depth + 1);
        if !lt.known() || !rt.known() {
            return match op {
                BinaryOp::Or
                | BinaryOp::And
                | BinaryOp::Eq
                | BinaryOp::Ne
                | BinaryOp::Lt
                | BinaryOp::Le
                | BinaryOp::Gt
                | BinaryOp::Ge => Ty::Bool,
                _ => Ty::Unknown,
            };
        }
        match op {
            BinaryOp::Or | BinaryOp::And => {
                for (e, t) in [(lhs, lt), (rhs, rt)] {
                    if !matches!(t, Ty::Bool) {
                        let snippet = self.ctx.snippet(self.file, e.span);
                        self.report(
                            e.span,
                            format!(
                                "`{}` needs true or false on both sides, but `{snippet}` is {}",
                                op.symbol(),
                                a_ty(t)
                            ),
                            format!("{} value", t.name()),
                            None,
                        );
                    }
                }
                Ty::Bool
            }
            BinaryOp::Eq | BinaryOp::Ne => {
                self.compare(op, lhs, lt, rhs, rt, false);
                Ty::Bool
            }
            BinaryOp::Lt | BinaryOp::Le | BinaryOp::Gt | BinaryOp::Ge => {
                self.compare(op, lhs, lt, rhs, rt, true);
                Ty::Bool
            }
            BinaryOp::Add | BinaryOp::Sub | BinaryOp::Mul | BinaryOp::Div => {
                match arithmetic(op, lt, rt) {
                    Some(t) => t,
                    None => {
                        let (ls, rs) = (
                            self.ctx.snippet(self.file, lhs.span),
                            self.ctx.snippet(self.file, rhs.span),
                        );
                        self.report(
                        rhs.span.to(lhs.span),
                        format!(
                            "`{}` cannot combine {} (`{ls}`) with {} (`{rs}`)",
                            op.symbol(),
                            a_ty(lt),
                            a_ty(rt)
                        ),
                        format!("{} {} {}", lt.name(), op.symbol(), rt.name()),
                        Some(
                            "numbers, amounts and areas combine with numbers; amounts add to amounts; a date plus or minus a duration is a date; a date minus a date is a duration".into(),
                        ),
                    );
                        Ty::Unknown
                    }
                }
            }
            BinaryOp::In => Ty::Bool,
        }
    }

    /// Checks that two operands can be compared; a text literal against an enum must be one of
    /// its values.
    fn compare(
        &mut self,
        op: BinaryOp,
        lhs: &'a Expr,
        lt: Ty<'a>,
        rhs: &'a Expr,
        rt: Ty<'a>,
        ordered: bool,
    ) {
        if let Ty::Enum(field) = lt {
            self.enum_value(field, lhs, rhs);
        }
        if let Ty::Enum(field) = rt {
            self.enum_value(field, rhs, lhs);
        }
        let ok = compatible(lt, rt);
        if !ok {
            let (ls, rs) = (
                self.ctx.snippet(self.file, lhs.span),
                self.ctx.snippet(self.file, rhs.span),
            );
            self.report(
                rhs.span,
                format!(
                    "`{ls}` is {} and cannot be compared with `{rs}`, which is {}",
                    a_ty(lt),
                    a_ty(rt)
                ),
                format!("{} value", rt.name()),
                hint_for(lt),
            );
            return;
        }
        if ordered {
            let orderable = |t: Ty<'_>| {
                matches!(
                    t,
                    Ty::Number | Ty::Money | Ty::Area | Ty::Date | Ty::Duration
                )
            };
            if !orderable(lt) || !orderable(rt) {
                let (e, t) = if orderable(lt) { (rhs, rt) } else { (lhs, lt) };
                let snippet = self.ctx.snippet(self.file, e.span);
                self.report(
                    e.span,
                    format!(
                        "`{}` needs values with an order, but `{snippet}` is {}",
                        op.symbol(),
                        a_ty(t)
                    ),
                    format!("{} value", t.name()),
                    Some("compare it with `==` or `!=`".into()),
                );
            }
        }
    }

    /// When `other` is a text literal compared with the enum field of `field_expr`, checks that
    /// it is one of the field's values.
    fn enum_value(&mut self, field: &'a Field, field_expr: &'a Expr, other: &'a Expr) {
        let ExprKind::Literal(Literal::Text(value)) = &other.kind else {
            return;
        };
        if field.allows_value(value) {
            return;
        }
        let shown = self.ctx.snippet(self.file, field_expr.span);
        let suggestion = self
            .ctx
            .suggest(value, field.values.iter().map(String::as_str));
        let help = match suggestion {
            Some(s) => format!("did you mean `\"{s}\"`?"),
            None if field.values.is_empty() => {
                format!("`{shown}` has no values declared in the project file")
            }
            None => format!(
                "the values are: {}",
                name_list(field.values.iter().map(String::as_str), 20)
            ),
        };
        self.report(
            other.span,
            format!("`\"{value}\"` is not a value of `{shown}`"),
            "not a value of the field".into(),
            Some(help),
        );
    }

    fn in_list(&mut self, lhs: &'a Expr, lt: Ty<'a>, rhs: &'a Expr, depth: usize) -> Ty<'a> {
        let ExprKind::List(items) = &rhs.kind else {
            self.ty(rhs, depth + 1);
            self.report(
                rhs.span,
                "`in` needs a list in square brackets".into(),
                "not a list".into(),
                Some("write `x in [a, b]`".into()),
            );
            return Ty::Bool;
        };
        for item in items {
            let it = self.ty(item, depth + 1);
            if !lt.known() || !it.known() {
                continue;
            }
            if let Ty::Enum(field) = lt {
                self.enum_value(field, lhs, item);
            }
            if !compatible(lt, it) {
                let (ls, is) = (
                    self.ctx.snippet(self.file, lhs.span),
                    self.ctx.snippet(self.file, item.span),
                );
                self.report(
                    item.span,
                    format!(
                        "`{ls}` is {}, but the list holds `{is}`, which is {}",
                        a_ty(lt),
                        a_ty(it)
                    ),
                    format!("{} value", it.name()),
                    hint_for(lt),
                );
            }
        }
        Ty::Bool
    }

    fn call(
        &mut self,
        call: &'a Expr,
        name: &str,
        name_span: Span,
        args: &'a [Expr],
        depth: usize,
    ) -> Ty<'a> {
        let Some(&(fname, min, max)) = FUNCTIONS.iter().find(|(f, _, _)| *f == name) else {
            for a in args {
                self.ty(a, depth + 1);
            }
            let suggestion = self.ctx.suggest(name, FUNCTIONS.iter().map(|(f, _, _)| *f));
            let help = match suggestion {
                Some(s) => format!("did you mean `{s}`?"),
                None => format!(
                    "the functions are: {}",
                    name_list(FUNCTIONS.iter().map(|(f, _, _)| *f), 10)
                ),
            };
            self.ctx.emit(
                Diagnostic::new(
                    code::UNKNOWN_FUNCTION,
                    self.file,
                    name_span,
                    format!("unknown function `{name}`"),
                    "unknown function",
                )
                .with_help(help),
            );
            return Ty::Unknown;
        };
        if args.len() < min || args.len() > max {
            let wanted = match (min, max) {
                (0, 0) => "no arguments".to_string(),
                (1, 1) => "one argument".to_string(),
                (m, usize::MAX) => {
                    format!("at least {m} argument{}", if m == 1 { "" } else { "s" })
                }
                (m, _) => format!("{m} arguments"),
            };
            self.ctx.emit(
                Diagnostic::new(
                    code::WRONG_ARGUMENT_COUNT,
                    self.file,
                    call.span,
                    format!(
                        "`{fname}` takes {wanted}, but {} {} given",
                        args.len(),
                        if args.len() == 1 { "was" } else { "were" }
                    ),
                    format!(
                        "{} argument{}",
                        args.len(),
                        if args.len() == 1 { "" } else { "s" }
                    ),
                )
                .with_help(function_usage(fname)),
            );
            for a in args {
                self.ty(a, depth + 1);
            }
            return function_result(fname);
        }
        match fname {
            "changed" => self.changed(name_span, args),
            "in_filter" => self.in_filter(args, depth),
            "days_since" => {
                if let Some(a) = args.first() {
                    let t = self.ty(a, depth + 1);
                    if t.known() && !matches!(t, Ty::Date) {
                        let snippet = self.ctx.snippet(self.file, a.span);
                        self.report(
                            a.span,
                            format!("`days_since` needs a date, but `{snippet}` is {}", a_ty(t)),
                            format!("{} value", t.name()),
                            Some("pass a date field, like `days_since(property.listed_on)`".into()),
                        );
                    }
                }
            }
            "is_set" => {
                if let Some(a) = args.first() {
                    match &a.kind {
                        ExprKind::Field(path) => {
                            self.field(path);
                        }
                        _ => {
                            self.ty(a, depth + 1);
                            self.report(
                                a.span,
                                "`is_set` takes a field".into(),
                                "not a field".into(),
                                Some("write `is_set(property.purchase_price)`".into()),
                            );
                        }
                    }
                }
            }
            _ => {}
        }
        function_result(fname)
    }

    fn changed(&mut self, name_span: Span, args: &'a [Expr]) {
        let Scope::SavedTrigger(record) = self.scope else {
            self.ctx.emit(
                Diagnostic::new(
                    code::UNKNOWN_FUNCTION,
                    self.file,
                    name_span,
                    "`changed` is only known in the condition of a `trigger ... saved` line",
                    "not available here",
                )
                .with_help(
                    "start the process with `trigger property saved when changed(purchase_price)`",
                ),
            );
            return;
        };
        let module = Module::of(record);
        let catalog = self.ctx.catalog;
        let cmod = catalog_module(module);
        for a in args {
            match &a.kind {
                ExprKind::Name(name) => {
                    if catalog.field(cmod, &name.name).is_none() {
                        unknown_field(self.ctx, self.file, module, &name.name, name.span);
                    }
                }
                ExprKind::Field(path) if path.module.value == module => {
                    self.field(path);
                }
                ExprKind::Field(path) => {
                    self.ctx.emit(
                        Diagnostic::new(
                            code::TYPE_MISMATCH,
                            self.file,
                            path.span,
                            format!(
                                "the trigger fires when the {} is saved, so `changed` cannot look at `{}.{}`",
                                record.name(),
                                path.module.value.name(),
                                path.field.name
                            ),
                            "field of another record",
                        )
                        .with_help(format!("name fields of the saved {}: `changed({})`", module.name(), path.field.name)),
                    );
                }
                _ => {
                    self.report(
                        a.span,
                        "`changed` takes the names of fields".into(),
                        "not a field name".into(),
                        Some("write `changed(purchase_price, living_area)`".into()),
                    );
                }
            }
        }
    }

    fn in_filter(&mut self, args: &'a [Expr], depth: usize) {
        let Some(a) = args.first() else { return };
        let ExprKind::Literal(Literal::Text(id)) = &a.kind else {
            self.ty(a, depth + 1);
            self.report(
                a.span,
                "`in_filter` takes the id of a filter in double quotes".into(),
                "not a filter id".into(),
                Some("write `in_filter(\"premium_listings\")`".into()),
            );
            return;
        };
        let catalog = self.ctx.catalog;
        match catalog.filter(id) {
            Some(filter) => {
                if let Some(record) = record_of_catalog_module(filter.module) {
                    self.uses.push(Use {
                        module: Module::of(record),
                        span: a.span,
                        what: UseWhat::Filter(id),
                    });
                }
            }
            None => unknown_filter(self.ctx, self.file, id, a.span),
        }
    }
}

/// Reports an unknown filter (P1015).
pub(crate) fn unknown_filter(ctx: &mut Ctx<'_>, file: FileId, id: &str, span: Span) {
    let catalog = ctx.catalog;
    let suggestion = ctx.suggest(id, catalog.filter_ids());
    ctx.emit(
        Diagnostic::new(
            code::UNKNOWN_FILTER,
            file,
            span,
            format!("unknown record filter `{id}`"),
            "not declared in the project file",
        )
        .with_help(match suggestion {
            Some(s) => format!("did you mean `{s}`?"),
            None => "declare it under `[[filters]]` in procc.toml".into(),
        }),
    );
}

/// Reports an unknown field (P1011).
pub(crate) fn unknown_field(
    ctx: &mut Ctx<'_>,
    file: FileId,
    module: Module,
    name: &str,
    span: Span,
) {
    let catalog = ctx.catalog;
    let def = catalog.module(catalog_module(module));
    let suggestion = ctx.suggest(name, def.field_names());
    ctx.emit(
        Diagnostic::new(
            code::UNKNOWN_FIELD,
            file,
            span,
            format!("{} records have no field `{name}`", module.name()),
            "unknown field",
        )
        .with_help(match suggestion {
            Some(s) => format!("did you mean `{s}`?"),
            None => format!(
                "declare it under `[modules.{}.fields]` in procc.toml",
                module.name()
            ),
        }),
    );
}

fn literal_ty<'a>(lit: &Literal) -> Ty<'a> {
    match lit {
        Literal::Text(_) => Ty::Text,
        Literal::Number(_) | Literal::Percent(_) => Ty::Number,
        Literal::Money(_) => Ty::Money,
        Literal::Area(_) => Ty::Area,
        Literal::Bool(_) => Ty::Bool,
        Literal::Date { .. } => Ty::Date,
        Literal::Duration { .. } => Ty::Duration,
    }
}

/// Whether two types can be compared with `==`: equal types, numbers with amounts and areas (a
/// plain number is read in the field's unit), text with enums.
pub(crate) fn compatible(a: Ty<'_>, b: Ty<'_>) -> bool {
    matches!(
        (a, b),
        (Ty::Unknown, _)
            | (_, Ty::Unknown)
            | (Ty::Number, Ty::Number | Ty::Money | Ty::Area)
            | (Ty::Money | Ty::Area, Ty::Number)
            | (Ty::Money, Ty::Money)
            | (Ty::Area, Ty::Area)
            | (Ty::Text | Ty::Enum(_), Ty::Text | Ty::Enum(_))
            | (Ty::Bool, Ty::Bool)
            | (Ty::Date, Ty::Date)
            | (Ty::Duration, Ty::Duration)
    )
}

fn arithmetic<'a>(op: BinaryOp, l: Ty<'a>, r: Ty<'a>) -> Option<Ty<'a>> {
    use BinaryOp::{Add, Div, Mul, Sub};
    Some(match (op, l, r) {
        (_, Ty::Number, Ty::Number) => Ty::Number,
        (Add | Sub | Mul | Div, t @ (Ty::Money | Ty::Area), Ty::Number) => t,
        (Add | Mul, Ty::Number, t @ (Ty::Money | Ty::Area)) => t,
        (Add | Sub, Ty::Money, Ty::Money) => Ty::Money,
        (Add | Sub, Ty::Area, Ty::Area) => Ty::Area,
        (Div, Ty::Money, Ty::Money) | (Div, Ty::Area, Ty::Area) => Ty::Number,
        (Div, Ty::Money, Ty::Area) => Ty::Money,
        (Add | Sub, Ty::Date, Ty::Duration) => Ty::Date,
        (Add, Ty::Duration, Ty::Date) => Ty::Date,
        (Sub, Ty::Date, Ty::Date) => Ty::Duration,
        (Add | Sub, Ty::Duration, Ty::Duration) => Ty::Duration,
        (Mul | Div, Ty::Duration, Ty::Number) | (Mul, Ty::Number, Ty::Duration) => Ty::Duration,
        _ => return None,
    })
}

fn function_result<'a>(name: &str) -> Ty<'a> {
    match name {
        "changed" | "in_filter" | "is_set" => Ty::Bool,
        "today" => Ty::Date,
        "days_since" => Ty::Number,
        _ => Ty::Unknown,
    }
}

fn function_usage(name: &str) -> String {
    let usage = match name {
        "changed" => "changed(purchase_price, living_area)",
        "in_filter" => "in_filter(\"filter_id\")",
        "today" => "today()",
        "days_since" => "days_since(property.listed_on)",
        _ => "is_set(property.purchase_price)",
    };
    format!("write `{usage}`")
}

/// "a `money` value", "an `enum` value".
pub(crate) fn a_ty(t: Ty<'_>) -> String {
    let article = if matches!(t, Ty::Area | Ty::Enum(_) | Ty::Unknown) {
        "an"
    } else {
        "a"
    };
    format!("{article} `{}` value", t.name())
}

fn hint_for(t: Ty<'_>) -> Option<String> {
    Some(
        match t {
            Ty::Money => "amounts are written with a currency, like `250000 EUR`",
            Ty::Area => "areas are written with a unit, like `120 m²`",
            Ty::Date => "dates are written like `2026-12-24`, or computed like `today() - 30 days`",
            Ty::Enum(_) | Ty::Text => "texts are written in double quotes",
            Ty::Bool => "write `true` or `false`",
            Ty::Duration => "durations are written like `30 days`",
            _ => return None,
        }
        .to_string(),
    )
}

/// Whether a value of type `value` can be written into a field of type `field` (a text literal
/// into an enum field is checked against the values separately).
pub(crate) fn fits(field: Ty<'_>, value: Ty<'_>) -> bool {
    matches!(
        (field, value),
        (_, Ty::Unknown)
            | (Ty::Unknown, _)
            | (Ty::Text | Ty::Enum(_), Ty::Text | Ty::Enum(_))
            | (Ty::Number, Ty::Number)
            | (Ty::Money, Ty::Money | Ty::Number)
            | (Ty::Area, Ty::Area | Ty::Number)
            | (Ty::Date, Ty::Date)
            | (Ty::Bool, Ty::Bool)
    )
}
