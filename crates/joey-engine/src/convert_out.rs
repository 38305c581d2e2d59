//! ONNX Runtime output tensors -> Arrow output columns.
//!
//! Every output becomes a `List` column (nested for rank > 2) whose item field is named "inner"
//! and is non-nullable; a rank-1 `[N]` output becomes a list of length 1 per row. Each field carries
//! the per-row shape as `tensor_type` = `{"shape":[d1,...]}`, like the reference engine's Arrow output.

use std::sync::Arc;

use arrow::array::{
    ArrayRef, BooleanArray, Float32Array, Float64Array, Int16Array, Int32Array, Int64Array,
    Int8Array, ListArray, StringArray, UInt16Array, UInt32Array, UInt64Array, UInt8Array,
};
use arrow::buffer::OffsetBuffer;
use arrow::datatypes::{Field, Schema, SchemaRef};
use arrow::record_batch::RecordBatch;
use ort::session::SessionOutputs;
use ort::value::DynValue;

use crate::signature::{tensor_type_metadata, TensorDType, TensorSpec, LIST_ITEM_NAME};
use crate::EngineError;

fn rt(msg: String) -> EngineError {
    EngineError::Runtime(msg)
}

/// The last output schema of a model: calls whose outputs have the same row shapes and types
/// share it (one `Arc`, no per-call field names and metadata), which also lets later stages
/// recognise the schema by pointer.
#[derive(Default)]
pub(crate) struct OutputSchema(std::sync::Mutex<Option<(Vec<Vec<i64>>, SchemaRef)>>);

impl OutputSchema {
    fn get(&self, specs: &[TensorSpec], shapes: Vec<Vec<i64>>, columns: &[ArrayRef]) -> SchemaRef {
        let mut last = self.0.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((s, schema)) = last.as_ref() {
            if s == &shapes && schema.fields().iter().zip(columns).all(|(f, c)| f.data_type() == c.data_type()) {
                return schema.clone();
            }
        }
        let fields: Vec<Field> = specs
            .iter()
            .zip(columns)
            .zip(&shapes)
            .map(|((spec, c), shape)| Field::new(spec.name.as_str(), c.data_type().clone(), false).with_metadata(tensor_type_metadata(shape)))
            .collect();
        let schema = Arc::new(Schema::new(fields));
        *last = Some((shapes, schema.clone()));
        schema
    }
}

/// Convert the session's outputs (in the signature's order) into a batch of `n` rows.
pub(crate) fn to_batch(
    specs: &[TensorSpec],
    outputs: &SessionOutputs<'_>,
    n: usize,
    schemas: &OutputSchema,
) -> Result<RecordBatch, EngineError> {
    let mut shapes = Vec::with_capacity(specs.len());
    let mut columns = Vec::with_capacity(specs.len());
    for spec in specs {
        let value = outputs
            .get(&spec.name)
            .ok_or_else(|| rt(format!("ONNX Runtime returned no output '{}'", spec.name)))?;
        let (shape, column) = output_column(spec, value, n)?;
        shapes.push(shape);
        columns.push(column);
    }
    let schema = schemas.get(specs, shapes, &columns);
    RecordBatch::try_new(schema, columns)
        .map_err(|e| rt(format!("cannot assemble the output batch: {e}")))
}

macro_rules! leaf {
    ($v:expr, $name:expr, $t:ty, $arr:ty) => {{
        let (shape, data) = $v
            .try_extract_tensor::<$t>()
            .map_err(|e| rt(format!("output '{}': {e}", $name)))?;
        (
            shape.to_vec(),
            Arc::new(<$arr>::from(data.to_vec())) as ArrayRef,
        )
    }};
}

/// One output as a column, with its per-row shape.
fn output_column(
    spec: &TensorSpec,
    value: &DynValue,
    n: usize,
) -> Result<(Vec<i64>, ArrayRef), EngineError> {
    let name = spec.name.as_str();
    let (shape, leaf): (Vec<i64>, ArrayRef) = match spec.dtype {
        TensorDType::Float32 => leaf!(value, name, f32, Float32Array),
        TensorDType::Float64 => leaf!(value, name, f64, Float64Array),
        TensorDType::Int8 => leaf!(value, name, i8, Int8Array),
        TensorDType::Int16 => leaf!(value, name, i16, Int16Array),
        TensorDType::Int32 => leaf!(value, name, i32, Int32Array),
        TensorDType::Int64 => leaf!(value, name, i64, Int64Array),
        TensorDType::Uint8 => leaf!(value, name, u8, UInt8Array),
        TensorDType::Uint16 => leaf!(value, name, u16, UInt16Array),
        TensorDType::Uint32 => leaf!(value, name, u32, UInt32Array),
        TensorDType::Uint64 => leaf!(value, name, u64, UInt64Array),
        TensorDType::Bool => leaf!(value, name, bool, BooleanArray),
        TensorDType::String => {
            let (shape, data) = value
                .try_extract_strings()
                .map_err(|e| rt(format!("output '{name}': {e}")))?;
            (
                shape.to_vec(),
                Arc::new(StringArray::from(data)) as ArrayRef,
            )
        }
    };
    let row_dims: Vec<usize> = match shape.split_first() {
        None if n == 1 => vec![1],
        None => {
            return Err(rt(format!(
                "output '{name}' is a scalar, but the batch has {n} rows"
            )))
        }
        Some((&rows, _)) if rows as usize != n => {
            return Err(rt(format!(
                "output '{name}' has {rows} rows, but the batch has {n} rows"
            )))
        }
        Some((_, [])) => vec![1],
        Some((_, rest)) => rest.iter().map(|&d| d as usize).collect(),
    };
    let column = nest(leaf, n, &row_dims)?;
    Ok((row_dims.iter().map(|&d| d as i64).collect(), column))
}

/// Wrap flat values into `row_dims.len()` levels of `List` ("inner", non-nullable items).
pub(crate) fn nest(leaf: ArrayRef, n: usize, row_dims: &[usize]) -> Result<ArrayRef, EngineError> {
    let mut arr = leaf;
    for level in (0..row_dims.len()).rev() {
        let lists = n * row_dims[..level].iter().product::<usize>();
        let offsets =
            OffsetBuffer::<i32>::from_lengths(std::iter::repeat_n(row_dims[level], lists));
        let item = Arc::new(Field::new(LIST_ITEM_NAME, arr.data_type().clone(), false));
        arr = Arc::new(
            ListArray::try_new(item, offsets, arr, None)
                .map_err(|e| rt(format!("cannot build list column: {e}")))?,
        );
    }
    Ok(arr)
}
