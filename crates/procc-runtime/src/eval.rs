//! Evaluation of the plan's expressions over the linked records, typed by the module schemas.

use chrono::NaiveDate;
use procc_plan::{BinaryOp, Expr, FieldType, Function, Module, ModuleSchema, TimeUnit, Value};

use crate::model::RecordRow;

/// A runtime value.
#[derive(Debug, Clone, PartialEq)]
pub enum Val {
    /// Text (also enum values).
    Text(String),
    /// A number (also money, area; percent as a fraction).
    Num(f64),
    /// Yes or no.
    Bool(bool),
    /// A date.
    Date(NaiveDate),
    /// Whole days (durations in hours are converted to fractional days where needed).
    Days(f64),
    /// A list.
    List(Vec<Val>),
}

impl Val {
    /// The value as JSON, as fields store it.
    pub fn to_json(&self) -> serde_json::Value {
        match self {
            Val::Text(s) => serde_json::Value::String(s.clone()),
            Val::Num(n) | Val::Days(n) => serde_json::Number::from_f64(*n)
                .map(serde_json::Value::Number)
                .unwrap_or(serde_json::Value::Null),
            Val::Bool(b) => serde_json::Value::Bool(*b),
            Val::Date(d) => serde_json::Value::String(d.format("%Y-%m-%d").to_string()),
            Val::List(items) => serde_json::Value::Array(items.iter().map(Val::to_json).collect()),
        }
    }
}

/// What an expression is evaluated against.
pub struct Scope<'a> {
    /// The module schemas of the plan.
    pub schemas: &'a [ModuleSchema],
    /// The linked records (`None`: not linked or not found).
    pub address: Option<&'a RecordRow>,
    /// The linked property.
    pub property: Option<&'a RecordRow>,
    /// The linked project.
    pub project: Option<&'a RecordRow>,
    /// The fields the triggering save changed.
    pub changed: &'a [String],
    /// Today in the tenant's time zone, worked out only by the expressions that ask (most do
    /// not, and it costs a time-zone lookup).
    pub today: &'a dyn Fn() -> NaiveDate,
}

impl Scope<'_> {
    fn record(&self, module: Module) -> Option<&RecordRow> {
        match module {
            Module::Address => self.address,
            Module::Property => self.property,
            Module::Project => self.project,
        }
    }

    fn field_type(&self, module: Module, field: &str) -> Result<FieldType, String> {
        self.schemas
            .iter()
            .find(|s| s.module == module)
            .and_then(|s| s.fields.iter().find(|f| f.name == field))
            .map(|f| f.ty)
            .ok_or_else(|| format!("the plan has no field `{}.{field}`", module_name(module)))
    }

    fn field(&self, module: Module, field: &str) -> Result<Option<Val>, String> {
        let ty = self.field_type(module, field)?;
        let record = self
            .record(module)
            .ok_or_else(|| format!("no {} is linked to the process", module_name(module)))?;
        let Some(raw) = record.fields.get(field).filter(|v| !v.is_null()) else {
            if field == "id" {
                return Ok(Some(Val::Text(record.id.clone())));
            }
            return Ok(None);
        };
        typed(ty, raw).map(Some).ok_or_else(|| {
            format!(
                "`{}.{field}` holds `{raw}`, not a {ty:?} value",
                module_name(module)
            )
        })
    }
}

/// Converts a stored JSON value to the field's type; `None` when it does not fit.
pub fn typed(ty: FieldType, raw: &serde_json::Value) -> Option<Val> {
    match ty {
        FieldType::Text | FieldType::Enum => match raw {
            serde_json::Value::String(s) => Some(Val::Text(s.clone())),
            serde_json::Value::Number(n) => Some(Val::Text(n.to_string())),
            _ => None,
        },
        FieldType::Number | FieldType::Money | FieldType::Area => match raw {
            serde_json::Value::Number(n) => n.as_f64().map(Val::Num),
            serde_json::Value::String(s) => s.trim().parse().ok().map(Val::Num),
            _ => None,
        },
        FieldType::Bool => raw.as_bool().map(Val::Bool),
        FieldType::Date => raw
            .as_str()
            .and_then(|s| NaiveDate::parse_from_str(s, "%Y-%m-%d").ok())
            .map(Val::Date),
    }
}

/// The name of a module, as written in sources.
pub fn module_name(m: Module) -> &'static str {
    match m {
        Module::Address => "address",
        Module::Property => "property",
        Module::Project => "project",
    }
}

/// Evaluates an expression; the error says, in the author's terms, why it could not.
pub fn eval(expr: &Expr, scope: &Scope<'_>) -> Result<Val, String> {
    match expr {
        Expr::Value { value } => Ok(constant(value)),
        Expr::Field { module, field } => scope
            .field(*module, field)?
            .ok_or_else(|| format!("the field `{}.{field}` is not set", module_name(*module))),
        Expr::Not { operand } => Ok(Val::Bool(!truth(&eval(operand, scope)?)?)),
        Expr::Neg { operand } => match eval(operand, scope)? {
            Val::Num(n) => Ok(Val::Num(-n)),
            Val::Days(n) => Ok(Val::Days(-n)),
            other => Err(format!("cannot negate {other:?}")),
        },
        Expr::List { items } => Ok(Val::List(
            items
                .iter()
                .map(|i| eval(i, scope))
                .collect::<Result<_, _>>()?,
        )),
        Expr::Binary { op, left, right } => binary(*op, left, right, scope),
        Expr::Call { function, args } => call(*function, args, scope),
    }
}

fn constant(value: &Value) -> Val {
    match value {
        Value::Text(s) => Val::Text(s.clone()),
        Value::Number(n) | Value::Money(n) | Value::Area(n) => Val::Num(*n),
        Value::Percent(p) => Val::Num(p / 100.0),
        Value::Bool(b) => Val::Bool(*b),
        Value::Date(d) => Val::Date(*d),
        Value::Duration { amount, unit } => match unit {
            TimeUnit::Hours => Val::Days(*amount as f64 / 24.0),
            TimeUnit::Days | TimeUnit::BusinessDays => Val::Days(*amount as f64),
        },
    }
}

fn truth(v: &Val) -> Result<bool, String> {
    match v {
        Val::Bool(b) => Ok(*b),
        other => Err(format!("{other:?} is not yes or no")),
    }
}

fn binary(op: BinaryOp, left: &Expr, right: &Expr, scope: &Scope<'_>) -> Result<Val, String> {
    // `and`/`or` short-circuit.
    match op {
        BinaryOp::And => {
            return Ok(Val::Bool(
                truth(&eval(left, scope)?)? && truth(&eval(right, scope)?)?,
            ));
        }
        BinaryOp::Or => {
            return Ok(Val::Bool(
                truth(&eval(left, scope)?)? || truth(&eval(right, scope)?)?,
            ));
        }
        _ => {}
    }
    let l = eval(left, scope)?;
    let r = eval(right, scope)?;
    let ordering = |l: &Val, r: &Val| -> Result<std::cmp::Ordering, String> {
        match (l, r) {
            (Val::Num(a), Val::Num(b)) | (Val::Days(a), Val::Days(b)) => a
                .partial_cmp(b)
                .ok_or_else(|| "cannot compare NaN".to_string()),
            (Val::Date(a), Val::Date(b)) => Ok(a.cmp(b)),
            (Val::Text(a), Val::Text(b)) => Ok(a.cmp(b)),
            (Val::Bool(a), Val::Bool(b)) => Ok(a.cmp(b)),
            (a, b) => Err(format!("cannot compare {a:?} with {b:?}")),
        }
    };
    use std::cmp::Ordering::*;
    match op {
        BinaryOp::Eq => Ok(Val::Bool(ordering(&l, &r)? == Equal)),
        BinaryOp::Ne => Ok(Val::Bool(ordering(&l, &r)? != Equal)),
        BinaryOp::Lt => Ok(Val::Bool(ordering(&l, &r)? == Less)),
        BinaryOp::Le => Ok(Val::Bool(ordering(&l, &r)? != Greater)),
        BinaryOp::Gt => Ok(Val::Bool(ordering(&l, &r)? == Greater)),
        BinaryOp::Ge => Ok(Val::Bool(ordering(&l, &r)? != Less)),
        BinaryOp::In => match &r {
            Val::List(items) => {
                let mut found = false;
                for item in items {
                    if ordering(&l, item)? == Equal {
                        found = true;
                    }
                }
                Ok(Val::Bool(found))
            }
            other => Err(format!("`in` needs a list, not {other:?}")),
        },
        BinaryOp::Add => match (l, r) {
            (Val::Num(a), Val::Num(b)) => Ok(Val::Num(a + b)),
            (Val::Days(a), Val::Days(b)) => Ok(Val::Days(a + b)),
            (Val::Date(d), Val::Days(n)) | (Val::Days(n), Val::Date(d)) => {
                Ok(Val::Date(d + chrono::Duration::days(n.trunc() as i64)))
            }
            (Val::Text(a), Val::Text(b)) => Ok(Val::Text(a + &b)),
            (a, b) => Err(format!("cannot add {a:?} and {b:?}")),
        },
        BinaryOp::Sub => match (l, r) {
            (Val::Num(a), Val::Num(b)) => Ok(Val::Num(a - b)),
            (Val::Days(a), Val::Days(b)) => Ok(Val::Days(a - b)),
            (Val::Date(d), Val::Days(n)) => {
                Ok(Val::Date(d - chrono::Duration::days(n.trunc() as i64)))
            }
            (Val::Date(a), Val::Date(b)) => Ok(Val::Days((a - b).num_days() as f64)),
            (a, b) => Err(format!("cannot subtract {b:?} from {a:?}")),
        },
        BinaryOp::Mul => match (l, r) {
            (Val::Num(a), Val::Num(b)) => Ok(Val::Num(a * b)),
            (a, b) => Err(format!("cannot multiply {a:?} by {b:?}")),
        },
        BinaryOp::Div => match (l, r) {
            (Val::Num(_), Val::Num(0.0)) => Err("division by zero".to_string()),
            (Val::Num(a), Val::Num(b)) => Ok(Val::Num(a / b)),
            (a, b) => Err(format!("cannot divide {a:?} by {b:?}")),
        },
        BinaryOp::And | BinaryOp::Or => Err("unreachable".to_string()),
    }
}

fn call(function: Function, args: &[Expr], scope: &Scope<'_>) -> Result<Val, String> {
    match function {
        Function::Changed => Ok(Val::Bool(args.iter().any(|a| match a {
            Expr::Field { field, .. } => scope.changed.iter().any(|c| c == field),
            _ => false,
        }))),
        Function::IsSet => match args.first() {
            Some(Expr::Field { module, field }) => {
                Ok(Val::Bool(scope.field(*module, field)?.is_some()))
            }
            _ => Err("is_set needs a field".to_string()),
        },
        Function::Today => Ok(Val::Date((scope.today)())),
        Function::DaysSince => match args.first().map(|a| eval(a, scope)).transpose()? {
            Some(Val::Date(d)) => Ok(Val::Num(((scope.today)() - d).num_days() as f64)),
            other => Err(format!("days_since needs a date, not {other:?}")),
        },
        Function::InFilter => {
            let id = match args.first().map(|a| eval(a, scope)).transpose()? {
                Some(Val::Text(id)) => id,
                other => return Err(format!("in_filter needs a filter id, not {other:?}")),
            };
            // A saved filter selects records of one module; the record of that module is
            // the one linked, so any linked record in the filter answers yes.
            Ok(Val::Bool(
                [scope.address, scope.property, scope.project]
                    .into_iter()
                    .flatten()
                    .any(|r| r.filters.iter().any(|f| f == &id)),
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use procc_plan::Field;
    use serde_json::json;

    fn schemas() -> Vec<ModuleSchema> {
        let field = |name: &str, ty| Field {
            name: name.into(),
            ty,
            values: vec![],
            read_only: false,
        };
        vec![ModuleSchema {
            module: Module::Property,
            statuses: vec![],
            fields: vec![
                field("price", FieldType::Money),
                field("listed", FieldType::Date),
                field("kind", FieldType::Enum),
                field("notes", FieldType::Text),
            ],
        }]
    }

    fn run(expr: serde_json::Value, record: &RecordRow) -> Result<Val, String> {
        let expr: Expr = serde_json::from_value(expr).unwrap();
        let schemas = schemas();
        let changed = vec!["price".to_string()];
        let scope = Scope {
            schemas: &schemas,
            address: None,
            property: Some(record),
            project: None,
            changed: &changed,
            today: &|| NaiveDate::from_ymd_opt(2026, 3, 2).unwrap(),
        };
        eval(&expr, &scope)
    }

    fn field(f: &str) -> serde_json::Value {
        json!({"kind": "field", "module": "property", "field": f})
    }

    fn value(ty: &str, v: serde_json::Value) -> serde_json::Value {
        json!({"kind": "value", "value": {"type": ty, "value": v}})
    }

    #[test]
    fn typed_arithmetic_and_comparisons() {
        let r = RecordRow::new(Module::Property, "P")
            .with("price", json!(200000))
            .with("listed", json!("2026-02-20"))
            .with("kind", json!("flat"));
        let pct = json!({"kind": "binary", "op": "mul", "left": field("price"), "right": value("percent", json!(3.0))});
        assert_eq!(run(pct, &r), Ok(Val::Num(6000.0)));
        let since = json!({"kind": "call", "function": "days_since", "args": [field("listed")]});
        assert_eq!(run(since, &r), Ok(Val::Num(10.0)));
        let within = json!({"kind": "binary", "op": "in", "left": field("kind"),
            "right": {"kind": "list", "items": [value("text", json!("house")), value("text", json!("flat"))]}});
        assert_eq!(run(within, &r), Ok(Val::Bool(true)));
        let changed = json!({"kind": "call", "function": "changed", "args": [field("price")]});
        assert_eq!(run(changed, &r), Ok(Val::Bool(true)));
        let later = json!({"kind": "binary", "op": "add", "left": field("listed"),
            "right": value("duration", json!({"amount": 10, "unit": "days"}))});
        assert_eq!(
            run(later, &r),
            Ok(Val::Date(NaiveDate::from_ymd_opt(2026, 3, 2).unwrap()))
        );
    }

    #[test]
    fn unset_fields_and_bad_operations_are_errors_with_reasons() {
        let r = RecordRow::new(Module::Property, "P").with("price", json!("not a number"));
        assert!(run(field("notes"), &r).unwrap_err().contains("not set"));
        assert!(run(field("price"), &r).unwrap_err().contains("not a Money"));
        let set = json!({"kind": "call", "function": "is_set", "args": [field("notes")]});
        assert_eq!(run(set, &r), Ok(Val::Bool(false)));
        let div = json!({"kind": "binary", "op": "div", "left": value("number", json!(1.0)), "right": value("number", json!(0.0))});
        assert!(run(div, &r).unwrap_err().contains("division by zero"));
        assert!(run(field("nope"), &r).unwrap_err().contains("no field"));
    }
}
