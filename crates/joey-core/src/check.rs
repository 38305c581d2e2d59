//! Pipeline validations: the `{"Check": {"tree": [...]}}` step.
//!
//! The Wallaroo SDK builds validations from polars expressions
//! (`pl.col("out.variable").list.get(0) > 1000000.0`), aliases each to its validation name and
//! stores `expr.meta.write_json()` — the serde form of polars 0.18 (the SDK pins polars 0.18.15).
//! This module reads that form into a small [`Expr`] tree and evaluates it one row at a time:
//! a validation *fires* (marks the row as an anomaly) when its expression is `true`.
//!
//! Supported polars node spellings (as written by polars 0.18.15):
//! - `{"Alias": [expr, "name"]}` — the outer one names the validation; inner ones are transparent;
//! - `{"Column": "name"}`;
//! - `{"Literal": ...}`: `"Null"`, `{"Boolean": b}`, `{"Utf8": s}` / `{"String": s}`,
//!   `{"Int8|Int16|Int32|Int64|UInt8|UInt16|UInt32|UInt64": n}`, `{"Float32|Float64": x}`;
//! - `{"Cast": {"expr": <literal>, "data_type": "<Int*|UInt*|Float*|Boolean|Utf8|String>", ...}}`
//!   (what `pl.lit(5, dtype=pl.Int64)` writes), folded into a literal at parse time;
//! - `{"BinaryExpr": {"left", "op", "right"}}` with `op` one of `Eq NotEq Lt LtEq Gt GtEq Plus
//!   Minus Multiply Divide TrueDivide FloorDivide Modulus And Or Xor LogicalAnd LogicalOr`;
//! - `{"Function": {"input": [e], "function": {"Boolean": "IsNot"}}}` (`~e`; `"Not"` accepted too);
//! - `{"Function": {"input": [list, index], "function": {"ListExpr": "Get"}}}` (`.list.get(i)`;
//!   the later `{"ListExpr": {"Get": ...}}` form is accepted too).
//!
//! Everything else (`Agg`, `Window`, `Ternary`, `is_null()`, `is_in`, casts of columns, ...) is
//! rejected when the pipeline is built, with a message naming what was found.

use std::fmt;

use serde_json::Value as Json;

use crate::{Error, Result};

mod eval;
#[cfg(test)]
mod tests;

/// A scalar (or list) cell value, as seen by a validation.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    List(Vec<Value>),
}

impl Value {
    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null)
    }
}

/// Converts a JSON cell (e.g. one row of an inference request/response) into a [`Value`]:
/// integers that fit `i64` stay integers, other numbers become floats, arrays become lists,
/// objects (structs) become `Null`.
impl From<&Json> for Value {
    fn from(v: &Json) -> Self {
        match v {
            Json::Null | Json::Object(_) => Value::Null,
            Json::Bool(b) => Value::Bool(*b),
            Json::Number(n) => match n.as_i64() {
                Some(i) => Value::Int(i),
                None => n.as_f64().map_or(Value::Null, Value::Float),
            },
            Json::String(s) => Value::Str(s.clone()),
            Json::Array(items) => Value::List(items.iter().map(Value::from).collect()),
        }
    }
}

impl From<bool> for Value {
    fn from(b: bool) -> Self {
        Value::Bool(b)
    }
}
impl From<i64> for Value {
    fn from(i: i64) -> Self {
        Value::Int(i)
    }
}
impl From<f64> for Value {
    fn from(x: f64) -> Self {
        Value::Float(x)
    }
}
impl From<&str> for Value {
    fn from(s: &str) -> Self {
        Value::Str(s.to_string())
    }
}
impl From<String> for Value {
    fn from(s: String) -> Self {
        Value::Str(s)
    }
}

/// A validation expression: the subset of polars expressions Joey evaluates.
#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    Column(String),
    Literal(Value),
    Binary {
        left: Box<Expr>,
        op: BinOp,
        right: Box<Expr>,
    },
    Not(Box<Expr>),
    ListGet {
        list: Box<Expr>,
        index: Box<Expr>,
    },
}

/// Binary operators. `Div` is polars' true division (always a float); `Mod` is the remainder
/// with the sign of the dividend (as polars 0.18 computes it); `FloorDiv` rounds toward -inf.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BinOp {
    Eq,
    NotEq,
    Lt,
    LtEq,
    Gt,
    GtEq,
    Add,
    Sub,
    Mul,
    Div,
    FloorDiv,
    Mod,
    And,
    Or,
    Xor,
}

impl BinOp {
    /// The Python operator the SDK user wrote.
    pub fn symbol(self) -> &'static str {
        match self {
            BinOp::Eq => "==",
            BinOp::NotEq => "!=",
            BinOp::Lt => "<",
            BinOp::LtEq => "<=",
            BinOp::Gt => ">",
            BinOp::GtEq => ">=",
            BinOp::Add => "+",
            BinOp::Sub => "-",
            BinOp::Mul => "*",
            BinOp::Div => "/",
            BinOp::FloorDiv => "//",
            BinOp::Mod => "%",
            BinOp::And => "&",
            BinOp::Or => "|",
            BinOp::Xor => "^",
        }
    }

    /// Maps a polars `Operator` spelling; `None` for operators Joey does not evaluate.
    fn from_polars(op: &str) -> Option<Self> {
        Some(match op {
            "Eq" => BinOp::Eq,
            "NotEq" => BinOp::NotEq,
            "Lt" => BinOp::Lt,
            "LtEq" => BinOp::LtEq,
            "Gt" => BinOp::Gt,
            "GtEq" => BinOp::GtEq,
            "Plus" => BinOp::Add,
            "Minus" => BinOp::Sub,
            "Multiply" => BinOp::Mul,
            "Divide" | "TrueDivide" => BinOp::Div,
            "FloorDivide" => BinOp::FloorDiv,
            "Modulus" => BinOp::Mod,
            "And" | "LogicalAnd" => BinOp::And,
            "Or" | "LogicalOr" => BinOp::Or,
            "Xor" => BinOp::Xor,
            _ => return None,
        })
    }
}

/// One named validation of a Check step.
#[derive(Debug, Clone, PartialEq)]
pub struct Validation {
    pub name: String,
    pub expr: Expr,
}

impl Validation {
    /// True when the validation fires for this row; `Null` and non-boolean results count as
    /// not fired.
    pub fn fires(&self, row: &dyn Fn(&str) -> Option<Value>) -> bool {
        matches!(self.expr.eval(row), Value::Bool(true))
    }
}

/// The name the engine reports the number of fired validations under (`anomaly.count`), so no
/// validation may use it.
pub const RESERVED_NAME: &str = "count";

const SUPPORTED: &str =
    "supported: column references, list.get, comparisons, arithmetic, and/or/not, literals";

/// Parses one `tree` string (`Expr.meta.write_json()` of an aliased polars expression).
pub fn parse_validation(json: &str) -> Result<Validation> {
    let value: Json = serde_json::from_str(json).map_err(|e| {
        Error::invalid(format!(
            "a validation must be a polars expression serialised as JSON (Expr.meta.write_json()): {e}"
        ))
    })?;
    parse_validation_value(&value)
}

/// Parses a whole Check step: the `{"tree": [...]}` value (a `{"Check": {"tree": [...]}}` wrapper
/// is accepted too). Tree entries are JSON strings as the SDK sends them; already-decoded JSON
/// objects are accepted as well. Duplicate names are rejected.
pub fn parse_check(step: &Json) -> Result<Vec<Validation>> {
    let step = step.get("Check").unwrap_or(step);
    let tree = step
        .get("tree")
        .and_then(Json::as_array)
        .ok_or_else(|| Error::invalid("a Check step needs a 'tree' list of validations"))?;
    let mut out: Vec<Validation> = Vec::with_capacity(tree.len());
    for entry in tree {
        let validation = match entry {
            Json::String(s) => parse_validation(s)?,
            Json::Object(_) => parse_validation_value(entry)?,
            other => {
                let found = json_kind(other);
                return Err(Error::invalid(format!(
                    "each Check tree entry must be a serialised polars expression (a string), \
                     found {found}"
                )));
            }
        };
        if out.iter().any(|v| v.name == validation.name) {
            return Err(Error::invalid(format!(
                "duplicate validation name '{}'",
                validation.name
            )));
        }
        out.push(validation);
    }
    Ok(out)
}

fn parse_validation_value(value: &Json) -> Result<Validation> {
    let (body, name) = match single_entry(value) {
        Some(("Alias", Json::Array(parts))) if parts.len() == 2 => match &parts[1] {
            Json::String(name) => (&parts[0], name),
            _ => return Err(Error::invalid("a validation needs a name (alias)")),
        },
        _ => return Err(Error::invalid("a validation needs a name (alias)")),
    };
    if name.trim().is_empty() {
        return Err(Error::invalid("a validation needs a name (alias)"));
    }
    if name == RESERVED_NAME {
        return Err(Error::invalid(format!(
            "'{RESERVED_NAME}' is not a valid name for a validation"
        )));
    }
    let expr = Parser { name }.expr(body)?;
    Ok(Validation {
        name: name.clone(),
        expr,
    })
}

/// `Some((key, value))` when `v` is an object with exactly one entry (serde's externally tagged
/// enum form).
fn single_entry(v: &Json) -> Option<(&str, &Json)> {
    match v {
        Json::Object(m) if m.len() == 1 => m.iter().next().map(|(k, v)| (k.as_str(), v)),
        _ => None,
    }
}

fn json_kind(v: &Json) -> &'static str {
    match v {
        Json::Null => "null",
        Json::Bool(_) => "a boolean",
        Json::Number(_) => "a number",
        Json::String(_) => "a string",
        Json::Array(_) => "a list",
        Json::Object(_) => "an object",
    }
}

/// A short description of an unsupported node: `Agg(Mean)`, `Window`, `Wildcard`.
fn describe(key: &str, inner: &Json) -> String {
    match inner {
        Json::String(s) => format!("{key}({s})"),
        _ => match single_entry(inner) {
            Some((k, _)) => format!("{key}({k})"),
            None => key.to_string(),
        },
    }
}

struct Parser<'a> {
    name: &'a str,
}

impl Parser<'_> {
    fn unsupported(&self, what: impl fmt::Display) -> Error {
        Error::invalid(format!(
            "validation '{}': unsupported polars expression: {what}; {SUPPORTED}",
            self.name
        ))
    }

    fn malformed(&self, what: impl fmt::Display) -> Error {
        Error::invalid(format!(
            "validation '{}': malformed polars expression: {what}",
            self.name
        ))
    }

    fn field<'j>(&self, node: &str, v: &'j Json, field: &str) -> Result<&'j Json> {
        v.get(field)
            .ok_or_else(|| self.malformed(format!("{node} without '{field}'")))
    }

    fn expr(&self, v: &Json) -> Result<Expr> {
        let Some((key, inner)) = single_entry(v) else {
            return match v {
                // Unit variants (`Wildcard`, `Count`, ...) serialise as bare strings.
                Json::String(s) => Err(self.unsupported(s)),
                other => Err(self.malformed(format!(
                    "expected an object with one key, found {}",
                    json_kind(other)
                ))),
            };
        };
        match key {
            "Column" => match inner {
                Json::String(c) => Ok(Expr::Column(c.clone())),
                _ => Err(self.malformed("Column without a name")),
            },
            "Literal" => self.literal(inner).map(Expr::Literal),
            "BinaryExpr" => self.binary(inner),
            "Function" => self.function(inner),
            "Alias" => match inner {
                Json::Array(parts) if parts.len() == 2 => self.expr(&parts[0]),
                _ => Err(self.malformed("Alias is not [expr, name]")),
            },
            "Cast" => self.cast(inner),
            other => Err(self.unsupported(describe(other, inner))),
        }
    }

    fn literal(&self, v: &Json) -> Result<Value> {
        if v.as_str() == Some("Null") {
            return Ok(Value::Null);
        }
        let Some((kind, x)) = single_entry(v) else {
            return match v {
                Json::String(s) => Err(self.unsupported(format!("{s} literal"))),
                _ => Err(self.malformed("Literal of unknown form")),
            };
        };
        let bad = || self.malformed(format!("{kind} literal holds {}", json_kind(x)));
        match kind {
            "Null" => Ok(Value::Null),
            "Boolean" => x.as_bool().map(Value::Bool).ok_or_else(bad),
            "Utf8" | "String" => x.as_str().map(Value::from).ok_or_else(bad),
            "Int8" | "Int16" | "Int32" | "Int64" | "UInt8" | "UInt16" | "UInt32" => {
                x.as_i64().map(Value::Int).ok_or_else(bad)
            }
            "UInt64" => match (x.as_i64(), x.as_u64()) {
                (Some(i), _) => Ok(Value::Int(i)),
                // Beyond i64: keep it as a (nearest) float so comparisons still work.
                #[allow(clippy::cast_precision_loss)]
                (None, Some(u)) => Ok(Value::Float(u as f64)),
                _ => Err(bad()),
            },
            "Float32" | "Float64" => match x {
                // serde_json writes NaN and ±infinity as null; polars itself cannot read it back.
                Json::Null => Err(self.unsupported(
                    "a NaN or infinite float literal (written as null, so its value is lost)",
                )),
                _ => x.as_f64().map(Value::Float).ok_or_else(bad),
            },
            other => Err(self.unsupported(format!("{other} literal"))),
        }
    }

    fn binary(&self, v: &Json) -> Result<Expr> {
        let op_name = self.field("BinaryExpr", v, "op")?;
        let op_name = op_name
            .as_str()
            .ok_or_else(|| self.malformed("BinaryExpr 'op' is not a string"))?;
        let op = BinOp::from_polars(op_name)
            .ok_or_else(|| self.unsupported(format!("operator {op_name}")))?;
        let left = self.expr(self.field("BinaryExpr", v, "left")?)?;
        let right = self.expr(self.field("BinaryExpr", v, "right")?)?;
        Ok(Expr::Binary {
            left: Box::new(left),
            op,
            right: Box::new(right),
        })
    }

    fn function(&self, v: &Json) -> Result<Expr> {
        let input = self
            .field("Function", v, "input")?
            .as_array()
            .ok_or_else(|| self.malformed("Function 'input' is not a list"))?;
        let function = self.field("Function", v, "function")?;
        let (family, name) = match function {
            Json::String(s) => (s.as_str(), ""),
            _ => match single_entry(function) {
                Some((family, Json::String(name))) => (family, name.as_str()),
                Some((family, inner)) => (family, single_entry(inner).map_or("", |(k, _)| k)),
                None => return Err(self.malformed("Function 'function' of unknown form")),
            },
        };
        let arity = |n: usize| -> Result<()> {
            if input.len() == n {
                Ok(())
            } else {
                Err(self.malformed(format!(
                    "function {family}.{name} takes {n} input(s), found {}",
                    input.len()
                )))
            }
        };
        match (family, name) {
            ("ListExpr", "Get") => {
                arity(2)?;
                Ok(Expr::ListGet {
                    list: Box::new(self.expr(&input[0])?),
                    index: Box::new(self.expr(&input[1])?),
                })
            }
            ("Boolean", "IsNot" | "Not") => {
                arity(1)?;
                Ok(Expr::Not(Box::new(self.expr(&input[0])?)))
            }
            (family, "") => Err(self.unsupported(format!("function {family}"))),
            (family, name) => Err(self.unsupported(format!("function {family}.{name}"))),
        }
    }

    /// Casts are folded into literals (`pl.lit(5, dtype=pl.Int64)`); casting anything else is
    /// not supported.
    fn cast(&self, v: &Json) -> Result<Expr> {
        let data_type = self.field("Cast", v, "data_type")?;
        let type_name = match data_type {
            Json::String(s) => s.clone(),
            other => single_entry(other).map_or_else(|| "?".to_string(), |(k, _)| k.to_string()),
        };
        let inner = self.expr(self.field("Cast", v, "expr")?)?;
        let Expr::Literal(value) = inner else {
            return Err(
                self.unsupported(format!("cast to {type_name} (only literals can be cast)"))
            );
        };
        if value.is_null() {
            // A typed null (`pl.lit(None, dtype=...)`) is not the bare null literal: polars
            // propagates it in `==`/`!=` instead of turning those into is_null/is_not_null.
            return Ok(typed_null());
        }
        cast_literal(&value, &type_name)
            .map(Expr::Literal)
            .ok_or_else(|| self.unsupported(format!("cast of the literal {value} to {type_name}")))
    }
}

/// An expression that evaluates to `Null` but is not a bare `Literal(Null)` (see [`Expr::eval`]).
fn typed_null() -> Expr {
    Expr::Binary {
        left: Box::new(Expr::Literal(Value::Null)),
        op: BinOp::Add,
        right: Box::new(Expr::Literal(Value::Null)),
    }
}

#[allow(clippy::cast_possible_truncation, clippy::cast_precision_loss)]
fn cast_literal(value: &Value, type_name: &str) -> Option<Value> {
    let int_range: Option<(i128, i128)> = match type_name {
        "Int8" => Some((i8::MIN.into(), i8::MAX.into())),
        "Int16" => Some((i16::MIN.into(), i16::MAX.into())),
        "Int32" => Some((i32::MIN.into(), i32::MAX.into())),
        "Int64" => Some((i64::MIN.into(), i64::MAX.into())),
        "UInt8" => Some((0, u8::MAX.into())),
        "UInt16" => Some((0, u16::MAX.into())),
        "UInt32" => Some((0, u32::MAX.into())),
        "UInt64" => Some((0, i64::MAX.into())),
        _ => None,
    };
    if let Some((lo, hi)) = int_range {
        let i: i128 = match value {
            Value::Int(i) => (*i).into(),
            Value::Bool(b) => i128::from(*b),
            Value::Float(f) if f.is_finite() && f.abs() < 9.2e18 => f.trunc() as i128,
            _ => return None,
        };
        return i64::try_from(i)
            .ok()
            .filter(|_| (lo..=hi).contains(&i))
            .map(Value::Int);
    }
    match (type_name, value) {
        ("Float64", Value::Int(i)) => Some(Value::Float(*i as f64)),
        ("Float64", Value::Float(f)) => Some(Value::Float(*f)),
        ("Float32", Value::Int(i)) => Some(Value::Float(f64::from(*i as f32))),
        ("Float32", Value::Float(f)) => Some(Value::Float(f64::from(*f as f32))),
        ("Float32" | "Float64", Value::Bool(b)) => Some(Value::Float(f64::from(u8::from(*b)))),
        ("Boolean", Value::Bool(b)) => Some(Value::Bool(*b)),
        ("Boolean", Value::Int(i)) => Some(Value::Bool(*i != 0)),
        ("Boolean", Value::Float(f)) => Some(Value::Bool(*f != 0.0)),
        ("Utf8" | "String", Value::Str(s)) => Some(Value::Str(s.clone())),
        ("Utf8" | "String", Value::Int(i)) => Some(Value::Str(i.to_string())),
        _ => None,
    }
}

/// Python-like rendering (`None`, `True`, `1.5`, `"abc"`, `[1, 2]`).
impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Null => f.write_str("None"),
            Value::Bool(true) => f.write_str("True"),
            Value::Bool(false) => f.write_str("False"),
            Value::Int(i) => write!(f, "{i}"),
            Value::Float(x) => write!(f, "{x:?}"),
            Value::Str(s) => write!(f, "{s:?}"),
            Value::List(items) => {
                f.write_str("[")?;
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{item}")?;
                }
                f.write_str("]")
            }
        }
    }
}

/// Renders the expression the way the SDK user wrote it:
/// `(pl.col("out.variable").list.get(0) > 1000000.0)`.
impl fmt::Display for Expr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Expr::Column(c) => write!(f, "pl.col({c:?})"),
            Expr::Literal(v) => write!(f, "{v}"),
            Expr::Binary { left, op, right } => write!(f, "({left} {} {right})", op.symbol()),
            Expr::Not(e) => write!(f, "~{e}"),
            Expr::ListGet { list, index } => write!(f, "{list}.list.get({index})"),
        }
    }
}
