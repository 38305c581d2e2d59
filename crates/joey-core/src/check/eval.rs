//! Row-at-a-time evaluation with polars 0.18 scalar semantics.
//!
//! - `Null` propagates through comparisons and arithmetic, except that `x == None` / `x != None`
//!   against the *bare* null literal mean `is_null` / `is_not_null` (polars rewrites them so);
//! - `&`, `|` on booleans use Kleene logic (`False & Null = False`, `True | Null = True`);
//!   `^` with a null is null; on integers the three are bitwise;
//! - `Int` and `Float` mix as `f64`; booleans count as 0/1 next to numbers;
//! - integer `+ - *` wrap on overflow; `/` is always a float division (`x / 0.0` gives ±inf or
//!   NaN); integer `//` and `%` by zero give `Null`; `//` rounds toward -inf, `%` keeps the sign
//!   of the dividend;
//! - NaN compares false with everything (`!=` true);
//! - strings compare bytewise and `+` concatenates them;
//! - anything else that polars would reject at run time (a string compared with a number, a
//!   list in arithmetic, a non-integer list index) evaluates to `Null`.

use std::cmp::Ordering;

use super::{BinOp, Expr, Value};

impl Expr {
    /// The column names the expression reads, each once, in order of first appearance.
    pub fn columns(&self) -> Vec<&str> {
        let mut out = Vec::new();
        self.collect_columns(&mut out);
        out
    }

    fn collect_columns<'a>(&'a self, out: &mut Vec<&'a str>) {
        match self {
            Expr::Column(c) => {
                if !out.contains(&c.as_str()) {
                    out.push(c);
                }
            }
            Expr::Literal(_) => {}
            Expr::Binary { left, right, .. } => {
                left.collect_columns(out);
                right.collect_columns(out);
            }
            Expr::Not(e) => e.collect_columns(out),
            Expr::ListGet { list, index } => {
                list.collect_columns(out);
                index.collect_columns(out);
            }
        }
    }

    /// Evaluates the expression on one row; `row` returns a column's value (`None` for an
    /// unknown column, which reads as `Null`).
    pub fn eval(&self, row: &dyn Fn(&str) -> Option<Value>) -> Value {
        match self {
            Expr::Column(c) => row(c).unwrap_or(Value::Null),
            Expr::Literal(v) => v.clone(),
            Expr::Not(e) => match e.eval(row) {
                Value::Bool(b) => Value::Bool(!b),
                _ => Value::Null,
            },
            Expr::ListGet { list, index } => list_get(list.eval(row), &index.eval(row)),
            Expr::Binary { left, op, right } => {
                if matches!(op, BinOp::Eq | BinOp::NotEq) {
                    let other = match (left.as_ref(), right.as_ref()) {
                        (Expr::Literal(Value::Null), other)
                        | (other, Expr::Literal(Value::Null)) => Some(other),
                        _ => None,
                    };
                    if let Some(other) = other {
                        let is_null = other.eval(row).is_null();
                        return Value::Bool(if *op == BinOp::Eq { is_null } else { !is_null });
                    }
                }
                binary(*op, &left.eval(row), &right.eval(row))
            }
        }
    }
}

fn list_get(list: Value, index: &Value) -> Value {
    let (Value::List(mut items), Value::Int(i)) = (list, index) else {
        return Value::Null;
    };
    let len = i64::try_from(items.len()).unwrap_or(i64::MAX);
    let i = if *i < 0 { i + len } else { *i };
    match usize::try_from(i) {
        Ok(i) if i < items.len() => items.swap_remove(i),
        _ => Value::Null,
    }
}

/// A number: integers (and booleans next to numbers) stay exact until mixed with a float.
#[derive(Clone, Copy)]
enum Num {
    I(i64),
    F(f64),
}

impl Num {
    #[allow(clippy::cast_precision_loss)]
    fn f(self) -> f64 {
        match self {
            Num::I(i) => i as f64,
            Num::F(x) => x,
        }
    }
}

fn num(v: &Value) -> Option<Num> {
    match v {
        Value::Int(i) => Some(Num::I(*i)),
        Value::Float(x) => Some(Num::F(*x)),
        Value::Bool(b) => Some(Num::I(i64::from(*b))),
        _ => None,
    }
}

fn binary(op: BinOp, l: &Value, r: &Value) -> Value {
    match op {
        BinOp::Eq | BinOp::NotEq | BinOp::Lt | BinOp::LtEq | BinOp::Gt | BinOp::GtEq => {
            compare(op, l, r)
        }
        BinOp::Add | BinOp::Sub | BinOp::Mul | BinOp::Div | BinOp::FloorDiv | BinOp::Mod => {
            arithmetic(op, l, r)
        }
        BinOp::And | BinOp::Or | BinOp::Xor => logical(op, l, r),
    }
}

fn compare(op: BinOp, l: &Value, r: &Value) -> Value {
    let ordering: Option<Ordering> = match (l, r) {
        (Value::Null, _) | (_, Value::Null) => return Value::Null,
        (Value::Bool(a), Value::Bool(b)) => Some(a.cmp(b)),
        (Value::Str(a), Value::Str(b)) => Some(a.cmp(b)),
        _ => match (num(l), num(r)) {
            (Some(Num::I(a)), Some(Num::I(b))) => Some(a.cmp(&b)),
            // NaN: no ordering, so every comparison but `!=` is false.
            (Some(a), Some(b)) => a.f().partial_cmp(&b.f()),
            _ => return Value::Null,
        },
    };
    let result = match ordering {
        None => op == BinOp::NotEq,
        Some(o) => match op {
            BinOp::Eq => o == Ordering::Equal,
            BinOp::NotEq => o != Ordering::Equal,
            BinOp::Lt => o == Ordering::Less,
            BinOp::LtEq => o != Ordering::Greater,
            BinOp::Gt => o == Ordering::Greater,
            _ => o != Ordering::Less,
        },
    };
    Value::Bool(result)
}

fn arithmetic(op: BinOp, l: &Value, r: &Value) -> Value {
    if let (BinOp::Add, Value::Str(a), Value::Str(b)) = (op, l, r) {
        return Value::Str(format!("{a}{b}"));
    }
    let (Some(a), Some(b)) = (num(l), num(r)) else {
        return Value::Null;
    };
    if let (Num::I(a), Num::I(b)) = (a, b) {
        return match op {
            BinOp::Add => Value::Int(a.wrapping_add(b)),
            BinOp::Sub => Value::Int(a.wrapping_sub(b)),
            BinOp::Mul => Value::Int(a.wrapping_mul(b)),
            BinOp::FloorDiv if b == 0 => Value::Null,
            BinOp::FloorDiv => {
                let q = a.wrapping_div(b);
                let floored = a.wrapping_rem(b) != 0 && ((a < 0) != (b < 0));
                Value::Int(if floored { q.wrapping_sub(1) } else { q })
            }
            BinOp::Mod if b == 0 => Value::Null,
            BinOp::Mod => Value::Int(a.wrapping_rem(b)),
            _ => Value::Float(Num::I(a).f() / Num::I(b).f()),
        };
    }
    let (a, b) = (a.f(), b.f());
    Value::Float(match op {
        BinOp::Add => a + b,
        BinOp::Sub => a - b,
        BinOp::Mul => a * b,
        BinOp::FloorDiv => (a / b).floor(),
        BinOp::Mod => a % b,
        _ => a / b,
    })
}

fn logical(op: BinOp, l: &Value, r: &Value) -> Value {
    match (l, r) {
        (Value::Bool(_) | Value::Null, Value::Bool(_) | Value::Null) => {
            let (a, b) = (as_bool(l), as_bool(r));
            match op {
                BinOp::And => match (a, b) {
                    (Some(false), _) | (_, Some(false)) => Value::Bool(false),
                    (Some(true), Some(true)) => Value::Bool(true),
                    _ => Value::Null,
                },
                BinOp::Or => match (a, b) {
                    (Some(true), _) | (_, Some(true)) => Value::Bool(true),
                    (Some(false), Some(false)) => Value::Bool(false),
                    _ => Value::Null,
                },
                _ => match (a, b) {
                    (Some(a), Some(b)) => Value::Bool(a ^ b),
                    _ => Value::Null,
                },
            }
        }
        (Value::Int(_) | Value::Bool(_), Value::Int(_) | Value::Bool(_)) => {
            let (Some(Num::I(a)), Some(Num::I(b))) = (num(l), num(r)) else {
                return Value::Null;
            };
            Value::Int(match op {
                BinOp::And => a & b,
                BinOp::Or => a | b,
                _ => a ^ b,
            })
        }
        _ => Value::Null,
    }
}

fn as_bool(v: &Value) -> Option<bool> {
    match v {
        Value::Bool(b) => Some(*b),
        _ => None,
    }
}
