//! Maps request (or previous-step) columns onto a model's inputs.

use arrow::datatypes::{Field, Schema};
use arrow::record_batch::RecordBatch;
use joey_engine::ModelSignature;

use super::ExecError;

/// Renames `batch` columns to the model's input names: `tensor_fields` map positionally; else
/// exact names; else a single-input model takes the only column (or the only one not named after
/// something else), as the reference engine does (`tensor` → `dense_input`).
pub fn map_inputs(model: &str, sig: &ModelSignature, tensor_fields: Option<&[String]>, batch: &RecordBatch) -> Result<RecordBatch, ExecError> {
    let names: Vec<String> = batch.schema().fields().iter().map(|f| f.name().clone()).collect();
    let pick = |source: &str, target: &str| -> Result<(Field, arrow::array::ArrayRef), ExecError> {
        let idx = names.iter().position(|n| n == source).ok_or_else(|| {
            ExecError::BadInput(format!("model '{model}': input column '{source}' is missing; the request has columns [{}]", names.join(", ")))
        })?;
        let f = batch.schema().field(idx).clone().with_name(target);
        Ok((f, batch.column(idx).clone()))
    };
    let inputs: Vec<&str> = sig.inputs.iter().map(|t| t.name.as_str()).collect();
    let chosen: Vec<(Field, arrow::array::ArrayRef)> = if let Some(tf) = tensor_fields.filter(|t| !t.is_empty()) {
        if tf.len() != inputs.len() {
            return Err(ExecError::BadInput(format!("model '{model}': tensor_fields names {} columns but the model has {} inputs", tf.len(), inputs.len())));
        }
        tf.iter().zip(&inputs).map(|(s, t)| pick(s, t)).collect::<Result<_, _>>()?
    } else if inputs.iter().all(|i| names.iter().any(|n| n == i)) {
        inputs.iter().map(|i| pick(i, i)).collect::<Result<_, _>>()?
    } else if inputs.len() == 1 && names.len() == 1 {
        vec![pick(&names[0], inputs[0])?]
    } else {
        let missing: Vec<&str> = inputs.iter().copied().filter(|i| !names.iter().any(|n| n == i)).collect();
        return Err(ExecError::BadInput(format!(
            "model '{model}': missing input column(s) [{}]; the request has columns [{}] (set tensor_fields in the model config to map other names)",
            missing.join(", "),
            names.join(", ")
        )));
    };
    let (fields, cols): (Vec<Field>, Vec<_>) = chosen.into_iter().unzip();
    RecordBatch::try_new(std::sync::Arc::new(Schema::new(fields)), cols).map_err(|e| ExecError::Internal(e.to_string()))
}
