//! Arrow type inference and array building for JSON request columns.
//!
//! Rules: numbers are `Float64` unless every value of the column (at that nesting level) is an
//! integer literal that fits `i64` (then `Int64`); booleans `Boolean`; strings `Utf8`; arrays
//! `List<item>` (nullable item, element type inferred over all elements of all rows); objects
//! are serialised back to compact JSON text in a `Utf8` column; a column of only nulls (or of
//! only empty lists at some level) gets the `Null` type there.

use std::sync::Arc;

use arrow::array::{
    ArrayRef, BooleanArray, Float64Array, Int64Array, ListArray, NullArray, StringBuilder,
};
use arrow::buffer::{BooleanBuffer, NullBuffer, OffsetBuffer};
use arrow::datatypes::Field;

use super::error::CodecError;
use super::json_dom::J;

/// The inferred kind of a column (or of list elements at one nesting level).
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Kind {
    Null,
    Bool,
    Int,
    Float,
    Str,
    Obj,
    List(Box<Kind>),
}

impl Kind {
    fn name(&self) -> &'static str {
        match self {
            Kind::Null => "nulls",
            Kind::Bool => "booleans",
            Kind::Int | Kind::Float => "numbers",
            Kind::Str => "strings",
            Kind::Obj => "objects",
            Kind::List(_) => "lists",
        }
    }

    /// Widens `self` so that it also covers `v`. On a conflict returns the two kind names.
    pub(crate) fn observe(&mut self, v: &J<'_>) -> Result<(), (&'static str, &'static str)> {
        match (&mut *self, v) {
            (_, J::Null) => Ok(()),
            (Kind::Null, _) => {
                *self = match v {
                    J::Bool(_) => Kind::Bool,
                    J::Int(_) => Kind::Int,
                    J::UInt(_) | J::Float(_) => Kind::Float,
                    J::Str(_) => Kind::Str,
                    J::Obj(_) => Kind::Obj,
                    J::Arr(_) => Kind::List(Box::new(Kind::Null)),
                    J::Floats(_) => Kind::List(Box::new(Kind::Float)),
                    J::Null => unreachable!(),
                };
                if let (Kind::List(inner), J::Arr(items)) = (self, v) {
                    for item in items {
                        inner.observe(item)?;
                    }
                }
                Ok(())
            }
            (Kind::Float, J::Int(_) | J::UInt(_) | J::Float(_))
            | (Kind::Int, J::Int(_))
            | (Kind::Bool, J::Bool(_))
            | (Kind::Str, J::Str(_))
            | (Kind::Obj, J::Obj(_)) => Ok(()),
            (Kind::Int, J::UInt(_) | J::Float(_)) => {
                *self = Kind::Float;
                Ok(())
            }
            (Kind::List(inner), J::Arr(items)) => {
                for item in items {
                    inner.observe(item)?;
                }
                Ok(())
            }
            // Non-empty, all floats: one element says it all.
            (Kind::List(inner), J::Floats(_)) => inner.observe(&J::Float(0.0)),
            (k, v) => Err((k.name(), v.kind_name())),
        }
    }
}

/// The `null` used for missing keys.
pub(crate) static NULL: J<'static> = J::Null;

/// Builds the Arrow array of `kind` from one cell per row (`J::Null` = null).
pub(crate) fn build(kind: &Kind, cells: &[&J<'_>]) -> Result<ArrayRef, CodecError> {
    Ok(match kind {
        Kind::Null => Arc::new(NullArray::new(cells.len())),
        Kind::Bool => Arc::new(
            cells
                .iter()
                .map(|c| match c {
                    J::Bool(b) => Some(*b),
                    _ => None,
                })
                .collect::<BooleanArray>(),
        ),
        Kind::Int => Arc::new(
            cells
                .iter()
                .map(|c| match c {
                    J::Int(i) => Some(*i),
                    _ => None,
                })
                .collect::<Int64Array>(),
        ),
        Kind::Float => Arc::new(build_f64(cells)),
        Kind::Str => {
            let bytes: usize = cells
                .iter()
                .map(|c| if let J::Str(s) = c { s.len() } else { 0 })
                .sum();
            let mut b = StringBuilder::with_capacity(cells.len(), bytes);
            for c in cells {
                match c {
                    J::Str(s) => b.append_value(s),
                    _ => b.append_null(),
                }
            }
            Arc::new(b.finish())
        }
        Kind::Obj => {
            let mut b = StringBuilder::with_capacity(cells.len(), cells.len() * 32);
            let mut scratch = Vec::new();
            for c in cells {
                if let J::Obj(_) = c {
                    scratch.clear();
                    c.write_json(&mut scratch);
                    // `write_json` only emits valid UTF-8.
                    b.append_value(String::from_utf8_lossy(&scratch));
                } else {
                    b.append_null();
                }
            }
            Arc::new(b.finish())
        }
        Kind::List(inner) => build_list(inner, cells)?,
    })
}

fn build_f64(cells: &[&J<'_>]) -> Float64Array {
    let mut values = Vec::with_capacity(cells.len());
    let mut valid: Option<Vec<bool>> = None;
    for (i, c) in cells.iter().enumerate() {
        let v = c.as_f64();
        match v {
            Some(f) => values.push(f),
            None => {
                values.push(0.0);
                valid.get_or_insert_with(|| vec![true; i]);
            }
        }
        if let Some(valid) = valid.as_mut() {
            valid.push(v.is_some());
        }
    }
    let nulls = valid.map(|v| NullBuffer::new(BooleanBuffer::from(v)));
    Float64Array::new(values.into(), nulls)
}

fn build_list(inner: &Kind, cells: &[&J<'_>]) -> Result<ArrayRef, CodecError> {
    if *inner == Kind::Float {
        return build_float_list(cells);
    }
    let mut offsets: Vec<i32> = Vec::with_capacity(cells.len() + 1);
    offsets.push(0);
    let total: usize = cells
        .iter()
        .map(|c| {
            if let J::Arr(items) = c {
                items.len()
            } else {
                0
            }
        })
        .sum();
    if i32::try_from(total).is_err() {
        return Err(CodecError::bad(
            "the request has too many list elements in one column",
        ));
    }
    let mut children: Vec<&J<'_>> = Vec::with_capacity(total);
    let mut valid: Option<Vec<bool>> = None;
    for (i, c) in cells.iter().enumerate() {
        let is_valid = if let J::Arr(items) = c {
            children.extend(items.iter());
            true
        } else if let J::Floats(_) = c {
            // `observe` made the element kind `Float` for any row holding `Floats`.
            return Err(CodecError::bad("internal: a float list outside a float column"));
        } else {
            valid.get_or_insert_with(|| vec![true; i]);
            false
        };
        if let Some(valid) = valid.as_mut() {
            valid.push(is_valid);
        }
        offsets.push(children.len() as i32);
    }
    let child = build(inner, &children)?;
    let field = Arc::new(Field::new("item", child.data_type().clone(), true));
    let nulls = valid.map(|v| NullBuffer::new(BooleanBuffer::from(v)));
    let list = ListArray::try_new(field, OffsetBuffer::new(offsets.into()), child, nulls)
        .map_err(|e| CodecError::bad(format!("cannot build a list column: {e}")))?;
    Ok(Arc::new(list))
}

/// `List<Float64>` from rows that are `Floats` (copied as slices), `Arr` of numbers and nulls,
/// or null.
fn build_float_list(cells: &[&J<'_>]) -> Result<ArrayRef, CodecError> {
    let mut offsets: Vec<i32> = Vec::with_capacity(cells.len() + 1);
    offsets.push(0);
    let mut values: Vec<f64> = Vec::new();
    let mut valid_values: Option<Vec<bool>> = None;
    let mut valid_rows: Option<Vec<bool>> = None;
    for (i, c) in cells.iter().enumerate() {
        let row_valid = match c {
            J::Floats(v) => {
                values.extend_from_slice(v);
                if let Some(valid) = valid_values.as_mut() {
                    valid.resize(values.len(), true);
                }
                true
            }
            J::Arr(items) => {
                for item in items {
                    let v = item.as_f64();
                    if v.is_none() && valid_values.is_none() {
                        valid_values = Some(vec![true; values.len()]);
                    }
                    values.push(v.unwrap_or(0.0));
                    if let Some(valid) = valid_values.as_mut() {
                        valid.push(v.is_some());
                    }
                }
                true
            }
            _ => {
                valid_rows.get_or_insert_with(|| vec![true; i]);
                false
            }
        };
        if let Some(valid) = valid_rows.as_mut() {
            valid.push(row_valid);
        }
        offsets.push(i32::try_from(values.len()).map_err(|_| {
            CodecError::bad("the request has too many list elements in one column")
        })?);
    }
    let value_nulls = valid_values.map(|v| NullBuffer::new(BooleanBuffer::from(v)));
    let child = Float64Array::new(values.into(), value_nulls);
    let field = Arc::new(Field::new("item", arrow::datatypes::DataType::Float64, true));
    let nulls = valid_rows.map(|v| NullBuffer::new(BooleanBuffer::from(v)));
    let list = ListArray::try_new(field, OffsetBuffer::new(offsets.into()), Arc::new(child), nulls)
        .map_err(|e| CodecError::bad(format!("cannot build a list column: {e}")))?;
    Ok(Arc::new(list))
}
