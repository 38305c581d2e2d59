//! Arrow input columns -> ONNX Runtime input tensors.
//!
//! One column per model input, matched by name. A column may be a `FixedSizeList` / `List` /
//! `LargeList` (nested for rank > 2) or a plain primitive column (one value per row). Values are
//! cast to the model's dtype; every row must hold the same number of values.

use std::borrow::Cow;

use arrow::array::{Array, ArrayRef, AsArray};
use arrow::compute::{cast_with_options, CastOptions};
use arrow::datatypes::{self as adt, DataType};
use arrow::record_batch::RecordBatch;
use ort::session::SessionInputValue;
use ort::value::{Tensor, TensorRef};

use crate::signature::{TensorDType, TensorSpec};
use crate::EngineError;

/// One input, validated and converted to the model's dtype, ready to be wrapped as a tensor.
pub(crate) struct Prepared {
    name: String,
    dtype: TensorDType,
    shape: Vec<i64>,
    /// Flat values, already of `dtype.arrow_type()`.
    values: ArrayRef,
}

/// A column flattened to its leaf values.
struct Flat {
    leaf: ArrayRef,
    /// `row_offsets[i]..row_offsets[i+1]` are row i's values in `leaf`.
    row_offsets: Vec<usize>,
    /// Length of the first entry at each list level (the row's nested dims if not ragged).
    dims: Vec<usize>,
    /// Some nested level (below the rows) has entries of different lengths.
    ragged: bool,
}

fn bad(msg: String) -> EngineError {
    EngineError::BadInput(msg)
}

/// Validate and convert the batch's columns for the given model inputs.
pub(crate) fn prepare(
    specs: &[TensorSpec],
    batch: &RecordBatch,
) -> Result<Vec<Prepared>, EngineError> {
    specs.iter().map(|spec| prepare_one(spec, batch)).collect()
}

fn prepare_one(spec: &TensorSpec, batch: &RecordBatch) -> Result<Prepared, EngineError> {
    let name = spec.name.as_str();
    let col = batch.column_by_name(name).ok_or_else(|| {
        let present: Vec<&str> = batch
            .schema_ref()
            .fields()
            .iter()
            .map(|f| f.name().as_str())
            .collect();
        bad(format!(
            "missing input '{name}': the batch has columns [{}]",
            present.join(", ")
        ))
    })?;
    let n = batch.num_rows();
    let flat = flatten(name, col)?;
    let values = cast_leaf(spec, &flat.leaf)?;

    // Per-row element counts.
    let counts = flat.row_offsets.windows(2).map(|w| w[1] - w[0]);
    let expected = spec.row_len();
    let want = expected.unwrap_or_else(|| flat.row_offsets.get(1).copied().unwrap_or(0));
    for (i, c) in counts.enumerate() {
        if c != want {
            let how = if expected.is_some() {
                ""
            } else {
                " (as in row 0)"
            };
            return Err(bad(format!(
                "input '{name}': row {i} has {c} values, expected {want}{how}"
            )));
        }
    }
    if flat.ragged {
        return Err(bad(format!(
            "input '{name}': nested lists have uneven lengths"
        )));
    }

    let row_shape = row_shape(spec, &flat.dims, want, n)?;
    if let Some(Some(b)) = spec.shape.first() {
        if *b as usize != n {
            return Err(bad(format!(
                "input '{name}' has a fixed batch size of {b}, but the batch has {n} rows"
            )));
        }
    }
    let mut shape = Vec::with_capacity(row_shape.len() + 1);
    if !spec.shape.is_empty() {
        shape.push(n as i64);
    }
    shape.extend(row_shape.iter().map(|&d| d as i64));
    Ok(Prepared {
        name: name.to_string(),
        dtype: spec.dtype,
        shape,
        values,
    })
}

/// The shape of one row as given to the model.
fn row_shape(
    spec: &TensorSpec,
    data_dims: &[usize],
    count: usize,
    n: usize,
) -> Result<Vec<usize>, EngineError> {
    let name = &spec.name;
    if spec.shape.is_empty() {
        if n != 1 {
            return Err(bad(format!(
                "input '{name}' is a scalar: the batch must have exactly 1 row, not {n}"
            )));
        }
        return Ok(Vec::new());
    }
    let model = spec.row_shape();
    let fmt_model = || {
        let dims: Vec<String> = model
            .iter()
            .map(|d| d.map_or("?".into(), |d| d.to_string()))
            .collect();
        format!("[{}]", dims.join(","))
    };
    if spec.row_len().is_some() {
        let model: Vec<usize> = model.iter().map(|d| d.unwrap_or(0) as usize).collect();
        if data_dims.len() >= 2 && model.len() >= 2 && data_dims != model.as_slice() {
            return Err(bad(format!(
                "input '{name}': rows have shape {data_dims:?}, expected {}",
                fmt_model()
            )));
        }
        return Ok(model);
    }
    if data_dims.len() == model.len() {
        for (d, m) in data_dims.iter().zip(model) {
            if let Some(m) = m {
                if *m as usize != *d {
                    return Err(bad(format!(
                        "input '{name}': rows have shape {data_dims:?}, expected {}",
                        fmt_model()
                    )));
                }
            }
        }
        return Ok(data_dims.to_vec());
    }
    if model.iter().filter(|d| d.is_none()).count() == 1 {
        let fixed: usize = model.iter().flatten().map(|&d| d as usize).product();
        if fixed > 0 && count.is_multiple_of(fixed) {
            return Ok(model
                .iter()
                .map(|d| d.map_or(count / fixed, |d| d as usize))
                .collect());
        }
    }
    Err(bad(format!(
        "input '{name}': rows have shape {data_dims:?}, which does not fit the model's {}",
        fmt_model()
    )))
}

/// Walk down the list levels of a column, checking for nulls on the way.
fn flatten(name: &str, col: &ArrayRef) -> Result<Flat, EngineError> {
    let mut cur = col.clone();
    let mut row_offsets: Vec<usize> = (0..=col.len()).collect();
    let mut dims = Vec::new();
    let mut ragged = false;
    loop {
        check_nulls(name, &cur, &row_offsets)?;
        let (child, offsets): (ArrayRef, Vec<usize>) = match cur.data_type() {
            DataType::FixedSizeList(_, size) => {
                let size = *size as usize;
                let a = cur.as_fixed_size_list();
                (
                    a.values().clone(),
                    (0..=a.len()).map(|i| i * size).collect(),
                )
            }
            DataType::List(_) => {
                let a = cur.as_list::<i32>();
                list_parts(a.values(), a.value_offsets().iter().map(|&o| o as usize))
            }
            DataType::LargeList(_) => {
                let a = cur.as_list::<i64>();
                list_parts(a.values(), a.value_offsets().iter().map(|&o| o as usize))
            }
            _ => break,
        };
        let first = offsets.get(1).copied().unwrap_or(0);
        if !dims.is_empty() && offsets.windows(2).any(|w| w[1] - w[0] != first) {
            ragged = true;
        }
        dims.push(first);
        row_offsets = row_offsets.iter().map(|&o| offsets[o]).collect();
        cur = child;
    }
    Ok(Flat {
        leaf: cur,
        row_offsets,
        dims,
        ragged,
    })
}

/// The child values actually referenced by a list array, and offsets rebased to 0.
fn list_parts(values: &ArrayRef, offsets: impl Iterator<Item = usize>) -> (ArrayRef, Vec<usize>) {
    let offsets: Vec<usize> = offsets.collect();
    let start = offsets.first().copied().unwrap_or(0);
    let end = offsets.last().copied().unwrap_or(0);
    let rebased = offsets.iter().map(|o| o - start).collect();
    (values.slice(start, end - start), rebased)
}

fn check_nulls(name: &str, a: &ArrayRef, row_offsets: &[usize]) -> Result<(), EngineError> {
    let first_null = if a.data_type() == &DataType::Null {
        (!a.is_empty()).then_some(0)
    } else {
        a.logical_nulls()
            .and_then(|nb| nb.iter().position(|valid| !valid))
    };
    match first_null {
        None => Ok(()),
        Some(j) => {
            let row = row_offsets.partition_point(|&o| o <= j).saturating_sub(1);
            Err(bad(format!(
                "tensor values may not be null (input '{name}', row {row})"
            )))
        }
    }
}

fn cast_leaf(spec: &TensorSpec, leaf: &ArrayRef) -> Result<ArrayRef, EngineError> {
    let target = spec.dtype.arrow_type();
    let from = leaf.data_type();
    if from == &target {
        return Ok(leaf.clone());
    }
    let ok = match spec.dtype {
        TensorDType::String => matches!(from, DataType::LargeUtf8 | DataType::Utf8View),
        _ => from.is_numeric() || from == &DataType::Boolean,
    };
    if !ok {
        return Err(bad(format!(
            "input '{}': expected {} values, got {from}",
            spec.name, spec.dtype
        )));
    }
    let opts = CastOptions {
        safe: false,
        ..Default::default()
    };
    cast_with_options(leaf, &target, &opts).map_err(|e| {
        bad(format!(
            "input '{}': cannot convert {from} values to {}: {e}",
            spec.name, spec.dtype
        ))
    })
}

macro_rules! tensor_ref {
    ($p:expr, $ty:ty) => {
        TensorRef::from_array_view((
            $p.shape.clone(),
            $p.values.as_primitive::<$ty>().values().as_ref(),
        ))
        .map(SessionInputValue::from)
    };
}

/// Wrap prepared inputs as ORT values. Numeric inputs borrow the Arrow buffers (no copy).
pub(crate) fn session_inputs(
    prepared: &[Prepared],
) -> Result<Vec<(Cow<'_, str>, SessionInputValue<'_>)>, EngineError> {
    let mut out = Vec::with_capacity(prepared.len());
    for p in prepared {
        let value = match p.dtype {
            TensorDType::Float32 => tensor_ref!(p, adt::Float32Type),
            TensorDType::Float64 => tensor_ref!(p, adt::Float64Type),
            TensorDType::Int8 => tensor_ref!(p, adt::Int8Type),
            TensorDType::Int16 => tensor_ref!(p, adt::Int16Type),
            TensorDType::Int32 => tensor_ref!(p, adt::Int32Type),
            TensorDType::Int64 => tensor_ref!(p, adt::Int64Type),
            TensorDType::Uint8 => tensor_ref!(p, adt::UInt8Type),
            TensorDType::Uint16 => tensor_ref!(p, adt::UInt16Type),
            TensorDType::Uint32 => tensor_ref!(p, adt::UInt32Type),
            TensorDType::Uint64 => tensor_ref!(p, adt::UInt64Type),
            TensorDType::Bool => {
                let v: Vec<bool> = p.values.as_boolean().values().iter().collect();
                Tensor::from_array((p.shape.clone(), v)).map(SessionInputValue::from)
            }
            TensorDType::String => {
                let v: Vec<String> = p
                    .values
                    .as_string::<i32>()
                    .iter()
                    .map(|s| s.unwrap_or("").to_string())
                    .collect();
                Tensor::from_string_array((p.shape.clone(), v.as_slice()))
                    .map(SessionInputValue::from)
            }
        }
        .map_err(|e| {
            EngineError::Runtime(format!("input '{}': cannot create tensor: {e}", p.name))
        })?;
        out.push((Cow::Borrowed(p.name.as_str()), value));
    }
    Ok(out)
}
