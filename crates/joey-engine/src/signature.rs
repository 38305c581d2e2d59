//! Model signatures (input/output names, dtypes, shapes) and their per-row Arrow schemas.

use std::collections::HashMap;
use std::sync::Arc;

use arrow::datatypes::{DataType, Field, FieldRef, Schema};
use ort::value::{TensorElementType, ValueType};

use crate::EngineError;

/// Name of the item field of every list column the engine produces (as the reference engine does).
pub const LIST_ITEM_NAME: &str = "inner";
/// Field-metadata key holding the per-row shape, e.g. `{"shape":[29]}`.
pub const TENSOR_TYPE_KEY: &str = "tensor_type";

/// Element types the engine can move between Arrow and ONNX Runtime.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TensorDType {
    Float32,
    Float64,
    Int8,
    Int16,
    Int32,
    Int64,
    Uint8,
    Uint16,
    Uint32,
    Uint64,
    Bool,
    String,
}

impl TensorDType {
    /// Lower-case name as used in Wallaroo/numpy: "float32", "int64", "bool", "string", ...
    pub fn as_str(&self) -> &'static str {
        match self {
            TensorDType::Float32 => "float32",
            TensorDType::Float64 => "float64",
            TensorDType::Int8 => "int8",
            TensorDType::Int16 => "int16",
            TensorDType::Int32 => "int32",
            TensorDType::Int64 => "int64",
            TensorDType::Uint8 => "uint8",
            TensorDType::Uint16 => "uint16",
            TensorDType::Uint32 => "uint32",
            TensorDType::Uint64 => "uint64",
            TensorDType::Bool => "bool",
            TensorDType::String => "string",
        }
    }

    /// The Arrow type of one element (`String` maps to `Utf8`).
    pub fn arrow_type(&self) -> DataType {
        match self {
            TensorDType::Float32 => DataType::Float32,
            TensorDType::Float64 => DataType::Float64,
            TensorDType::Int8 => DataType::Int8,
            TensorDType::Int16 => DataType::Int16,
            TensorDType::Int32 => DataType::Int32,
            TensorDType::Int64 => DataType::Int64,
            TensorDType::Uint8 => DataType::UInt8,
            TensorDType::Uint16 => DataType::UInt16,
            TensorDType::Uint32 => DataType::UInt32,
            TensorDType::Uint64 => DataType::UInt64,
            TensorDType::Bool => DataType::Boolean,
            TensorDType::String => DataType::Utf8,
        }
    }

    /// Map an ONNX Runtime element type; `None` for types the engine does not handle (float16, ...).
    pub(crate) fn from_ort(t: TensorElementType) -> Option<TensorDType> {
        Some(match t {
            TensorElementType::Float32 => TensorDType::Float32,
            TensorElementType::Float64 => TensorDType::Float64,
            TensorElementType::Int8 => TensorDType::Int8,
            TensorElementType::Int16 => TensorDType::Int16,
            TensorElementType::Int32 => TensorDType::Int32,
            TensorElementType::Int64 => TensorDType::Int64,
            TensorElementType::Uint8 => TensorDType::Uint8,
            TensorElementType::Uint16 => TensorDType::Uint16,
            TensorElementType::Uint32 => TensorDType::Uint32,
            TensorElementType::Uint64 => TensorDType::Uint64,
            TensorElementType::Bool => TensorDType::Bool,
            TensorElementType::String => TensorDType::String,
            _ => return None,
        })
    }
}

impl std::fmt::Display for TensorDType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One model input or output. `shape` includes the batch dimension; `None` marks a dynamic dim.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TensorSpec {
    pub name: String,
    pub dtype: TensorDType,
    pub shape: Vec<Option<i64>>,
}

impl TensorSpec {
    /// The shape of one row (the shape without the leading batch dimension).
    pub fn row_shape(&self) -> &[Option<i64>] {
        self.shape.get(1..).unwrap_or(&[])
    }

    /// Number of values in one row when every per-row dim is static (1 for a rank-0/1 tensor).
    pub fn row_len(&self) -> Option<usize> {
        self.row_shape()
            .iter()
            .try_fold(1usize, |acc, d| d.map(|d| acc * d.max(0) as usize))
    }
}

/// Inputs and outputs of a model, in the model's order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModelSignature {
    pub inputs: Vec<TensorSpec>,
    pub outputs: Vec<TensorSpec>,
}

impl ModelSignature {
    /// Per-row input schema: one field per input, `FixedSizeList` for static per-row dims (nested for
    /// rank > 2), `List` for dynamic ones; a rank-1 `[N]` input is a list of length 1. Each field
    /// carries `tensor_type` = `{"shape":[d1,...]}` (-1 for a dynamic dim).
    pub fn input_arrow_schema(&self) -> Schema {
        Schema::new(
            self.inputs
                .iter()
                .map(|s| spec_field(s, true))
                .collect::<Vec<_>>(),
        )
    }

    /// Per-row output schema, exactly as the output batches of `run` look: nested `List`s with item
    /// field "inner" and the `tensor_type` metadata.
    pub fn output_arrow_schema(&self) -> Schema {
        Schema::new(
            self.outputs
                .iter()
                .map(|s| spec_field(s, false))
                .collect::<Vec<_>>(),
        )
    }
}

/// The per-row dims reported for a spec: a rank-0/1 tensor reports `[1]`.
fn reported_row_dims(spec: &TensorSpec) -> Vec<Option<i64>> {
    let row = spec.row_shape();
    if row.is_empty() {
        vec![Some(1)]
    } else {
        row.to_vec()
    }
}

fn spec_field(spec: &TensorSpec, fixed: bool) -> Field {
    let dims = reported_row_dims(spec);
    let mut dt = spec.dtype.arrow_type();
    for d in dims.iter().rev() {
        let item: FieldRef = Arc::new(Field::new(LIST_ITEM_NAME, dt, false));
        dt = match d {
            Some(n) if fixed => DataType::FixedSizeList(item, *n as i32),
            _ => DataType::List(item),
        };
    }
    let shape: Vec<i64> = dims.iter().map(|d| d.unwrap_or(-1)).collect();
    Field::new(&spec.name, dt, false).with_metadata(tensor_type_metadata(&shape))
}

/// `{"tensor_type": "{\"shape\":[..]}"}`
pub fn tensor_type_metadata(row_shape: &[i64]) -> HashMap<String, String> {
    let shape = serde_json::json!({ "shape": row_shape }).to_string();
    HashMap::from([(TENSOR_TYPE_KEY.to_string(), shape)])
}

/// Build a spec from an ORT outlet. Non-tensor values and unknown dtypes are `Unsupported`.
pub(crate) fn spec_from_outlet(
    kind: &str,
    name: &str,
    vt: &ValueType,
) -> Result<TensorSpec, EngineError> {
    match vt {
        ValueType::Tensor { ty, shape, .. } => {
            let dtype = TensorDType::from_ort(*ty).ok_or_else(|| {
                EngineError::Unsupported(format!("{kind} '{name}' has element type {ty}, which the engine does not support"))
            })?;
            let shape = shape.iter().map(|&d| if d < 0 { None } else { Some(d) }).collect();
            Ok(TensorSpec { name: name.to_string(), dtype, shape })
        }
        other => Err(EngineError::Unsupported(format!(
            "{kind} '{name}' is a {other}, not a tensor; only tensor inputs and outputs are supported \
             (for skl2onnx classifiers, export with options={{'zipmap': False}})"
        ))),
    }
}

pub(crate) fn signature_of(session: &ort::session::Session) -> Result<ModelSignature, EngineError> {
    let inputs = session
        .inputs()
        .iter()
        .map(|o| spec_from_outlet("input", o.name(), o.dtype()))
        .collect::<Result<Vec<_>, _>>()?;
    let outputs = session
        .outputs()
        .iter()
        .map(|o| spec_from_outlet("output", o.name(), o.dtype()))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(ModelSignature { inputs, outputs })
}
