//! Maps request (or previous-step) columns onto a model's inputs.

use arrow::array::ArrayRef;
use arrow::datatypes::{Field, Schema};
use arrow::record_batch::RecordBatch;
use joey_engine::ModelSignature;

use super::ExecError;

/// Renames `batch` columns to the model's input names: `tensor_fields` map positionally; else
/// exact names; else a single-input model takes the only column, as the reference engine does
/// (`tensor` → `dense_input`). Returns the model's batch and the (request column, model input)
/// pairs that were renamed, so errors can name what the caller sent.
pub fn map_inputs(model: &str, sig: &ModelSignature, tensor_fields: Option<&[String]>, batch: &RecordBatch) -> Result<(RecordBatch, Vec<(String, String)>), ExecError> {
    let names: Vec<String> = batch.schema().fields().iter().map(|f| f.name().clone()).collect();
    let inputs: Vec<&str> = sig.inputs.iter().map(|t| t.name.as_str()).collect();
    let pairs: Vec<(&str, &str)> = if let Some(tf) = tensor_fields.filter(|t| !t.is_empty()) {
        if tf.len() != inputs.len() {
            return Err(ExecError::BadInput(format!("model '{model}': tensor_fields names {} columns but the model has {} inputs", tf.len(), inputs.len())));
        }
        tf.iter().map(String::as_str).zip(inputs.iter().copied()).collect()
    } else if inputs.iter().all(|i| names.iter().any(|n| n == i)) {
        inputs.iter().map(|i| (*i, *i)).collect()
    } else if inputs.len() == 1 && names.len() == 1 {
        vec![(names[0].as_str(), inputs[0])]
    } else {
        let missing: Vec<&str> = inputs.iter().copied().filter(|i| !names.iter().any(|n| n == i)).collect();
        return Err(ExecError::BadInput(format!(
            "model '{model}': missing input column(s) [{}]; the request has columns [{}] (set tensor_fields in the model config to map other names)",
            missing.join(", "),
            names.join(", ")
        )));
    };
    let mut fields = Vec::with_capacity(pairs.len());
    let mut cols: Vec<ArrayRef> = Vec::with_capacity(pairs.len());
    for (source, target) in &pairs {
        let idx = names.iter().position(|n| n == source).ok_or_else(|| {
            ExecError::BadInput(format!("model '{model}': input column '{source}' is missing; the request has columns [{}]", names.join(", ")))
        })?;
        let f: Field = batch.schema().field(idx).clone().with_name(*target);
        fields.push(f);
        cols.push(batch.column(idx).clone());
    }
    let renames = pairs.iter().filter(|(s, t)| s != t).map(|(s, t)| (s.to_string(), t.to_string())).collect();
    let batch = RecordBatch::try_new(std::sync::Arc::new(Schema::new(fields)), cols).map_err(|e| ExecError::Internal(e.to_string()))?;
    Ok((batch, renames))
}
