//! Typed expressions as the runtime evaluates them.

use chrono::NaiveDate;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::model::{Module, TimeUnit};

/// An expression.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Expr {
    /// A constant.
    Value {
        /// The value.
        value: Value,
    },
    /// A field of a linked record.
    Field {
        /// The module.
        module: Module,
        /// The field.
        field: String,
    },
    /// `not x`.
    Not {
        /// The operand.
        operand: Box<Expr>,
    },
    /// `-x`.
    Neg {
        /// The operand.
        operand: Box<Expr>,
    },
    /// `a op b`.
    Binary {
        /// The operator.
        op: BinaryOp,
        /// Left.
        left: Box<Expr>,
        /// Right.
        right: Box<Expr>,
    },
    /// A built-in function.
    Call {
        /// Which.
        function: Function,
        /// Arguments.
        args: Vec<Expr>,
    },
    /// `[a, b]`.
    List {
        /// The items.
        items: Vec<Expr>,
    },
}

/// A constant value.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "type", content = "value", rename_all = "snake_case")]
pub enum Value {
    /// Text.
    Text(String),
    /// A number.
    Number(f64),
    /// EUR.
    Money(f64),
    /// Square metres.
    Area(f64),
    /// Percent.
    Percent(f64),
    /// Yes or no.
    Bool(bool),
    /// A date.
    Date(NaiveDate),
    /// An amount of time.
    Duration {
        /// How many.
        amount: i64,
        /// Of what.
        unit: TimeUnit,
    },
}

/// An infix operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum BinaryOp {
    /// `or`.
    Or,
    /// `and`.
    And,
    /// `==`.
    Eq,
    /// `!=`.
    Ne,
    /// `<`.
    Lt,
    /// `<=`.
    Le,
    /// `>`.
    Gt,
    /// `>=`.
    Ge,
    /// `+`.
    Add,
    /// `-`.
    Sub,
    /// `*`.
    Mul,
    /// `/`.
    Div,
    /// `in`.
    In,
}

/// A built-in function.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Function {
    /// `changed(field, ...)`: whether the save that triggered changed one of the fields.
    Changed,
    /// `in_filter("id")`: whether the linked record is in the filter.
    InFilter,
    /// `today()`: the current date in the tenant's time zone.
    Today,
    /// `days_since(date)`: whole days from a date to today.
    DaysSince,
    /// `is_set(field)`: whether a field has a value.
    IsSet,
}
