//! Builds the flat result batch and evaluates validations over it.

use std::sync::Arc;

use arrow::array::*;
use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use arrow::error::ArrowError;
use arrow::record_batch::RecordBatch;
use joey_core::check::{Validation, Value};

use super::ModelSlot;

pub(super) struct Parts<'a> {
    pub time_ms: i64,
    pub input: &'a RecordBatch,
    pub output: &'a RecordBatch,
    pub shadows: Vec<(&'a str, &'a RecordBatch)>,
    pub split: Option<&'a ModelSlot>,
    pub checks: &'a [Validation],
    pub last_model: Option<&'a ModelSlot>,
    pub pipeline_version: &'a str,
    pub elapsed: [u64; 2],
    pub partition: &'a str,
    pub schemas: &'a SchemaCache,
}

/// The last result schema of a pipeline. Consecutive results with equal fields share it, so a
/// result (and the log record that keeps it until the writer flushes) holds one `Arc` instead of
/// its own copy of every field name and metadata map, and the log writer's schema comparison
/// is a pointer comparison.
#[derive(Default)]
pub struct SchemaCache(std::sync::Mutex<Option<SchemaRef>>);

impl SchemaCache {
    fn schema_for(&self, fields: Vec<Field>) -> SchemaRef {
        let mut last = self.0.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(s) = last.as_ref() {
            if s.fields().len() == fields.len() && s.fields().iter().zip(&fields).all(|(a, b)| a.as_ref() == b) {
                return s.clone();
            }
        }
        let s = Arc::new(Schema::new(fields));
        *last = Some(s.clone());
        s
    }
}

fn push(fields: &mut Vec<Field>, cols: &mut Vec<ArrayRef>, prefix: &str, batch: &RecordBatch) {
    for (f, c) in batch.schema().fields().iter().zip(batch.columns()) {
        fields.push(f.as_ref().clone().with_name(format!("{prefix}.{}", f.name())));
        cols.push(c.clone());
    }
}

/// The reference engine echoes inputs as variable-size lists (`list<item: float> not null`),
/// whatever list kind the request used.
fn push_echo(fields: &mut Vec<Field>, cols: &mut Vec<ArrayRef>, batch: &RecordBatch) -> Result<(), ArrowError> {
    for (f, c) in batch.schema().fields().iter().zip(batch.columns()) {
        let target = variable_lists(f.data_type());
        let col = if &target == f.data_type() { c.clone() } else { arrow::compute::cast(c, &target)? };
        let nullable = f.is_nullable() && col.null_count() > 0;
        fields.push(Field::new(format!("in.{}", f.name()), target, nullable).with_metadata(f.metadata().clone()));
        cols.push(col);
    }
    Ok(())
}

fn variable_lists(t: &DataType) -> DataType {
    match t {
        DataType::FixedSizeList(inner, _) | DataType::List(inner) | DataType::LargeList(inner) => {
            DataType::List(Arc::new(Field::new("item", variable_lists(inner.data_type()), true)))
        }
        other => other.clone(),
    }
}

fn repeated_str(n: usize, s: &str) -> ArrayRef {
    Arc::new(StringArray::from(vec![s; n]))
}

fn list_of_strings(n: usize, items: &[String]) -> ArrayRef {
    let mut b = ListBuilder::new(StringBuilder::new());
    for _ in 0..n {
        for i in items {
            b.values().append_value(i);
        }
        b.append(true);
    }
    Arc::new(b.finish())
}

pub(super) fn assemble(p: Parts<'_>) -> Result<RecordBatch, ArrowError> {
    let n = p.input.num_rows();
    let mut fields = vec![Field::new("time", DataType::Int64, false)];
    let mut cols: Vec<ArrayRef> = vec![Arc::new(Int64Array::from(vec![p.time_ms; n]))];
    push_echo(&mut fields, &mut cols, p.input)?;
    push(&mut fields, &mut cols, "out", p.output);
    for (name, b) in &p.shadows {
        push(&mut fields, &mut cols, &format!("out_{name}"), b);
    }
    if let Some(s) = p.split {
        let desc = serde_json::json!({"name": s.name, "version": s.version, "sha": s.sha}).to_string();
        fields.push(Field::new("out._model_split", DataType::List(Arc::new(Field::new("item", DataType::Utf8, true))), true));
        cols.push(list_of_strings(n, &[desc]));
    }
    let flags = evaluate(p.checks, &fields, &cols, n);
    let counts: UInt32Array = (0..n).map(|r| Some(flags.iter().filter(|(_, f)| f[r]).count() as u32)).collect();
    let scalar_shape = std::collections::HashMap::from([("tensor_type".to_string(), r#"{"shape":[]}"#.to_string())]);
    fields.push(Field::new("anomaly.count", DataType::UInt32, false).with_metadata(scalar_shape));
    cols.push(Arc::new(counts));
    for (name, f) in flags {
        fields.push(Field::new(format!("anomaly.{name}"), DataType::Boolean, false));
        cols.push(Arc::new(BooleanArray::from(f)));
    }
    let last = p.last_model.map(|s| serde_json::json!({"model_name": s.name, "model_sha": s.sha}).to_string()).unwrap_or_default();
    fields.push(Field::new("metadata.last_model", DataType::Utf8, false));
    cols.push(repeated_str(n, &last));
    fields.push(Field::new("metadata.pipeline_version", DataType::Utf8, false));
    cols.push(repeated_str(n, p.pipeline_version));
    let steps = Arc::new(Field::new("steps", DataType::UInt64, false));
    let mut el = ListBuilder::new(UInt64Builder::new()).with_field(steps.clone());
    for _ in 0..n {
        el.values().append_slice(&p.elapsed);
        el.append(true);
    }
    fields.push(Field::new("metadata.elapsed", DataType::List(steps), false));
    cols.push(Arc::new(el.finish()));
    fields.push(Field::new("metadata.dropped", DataType::List(Arc::new(Field::new("item", DataType::Utf8, true))), false));
    cols.push(list_of_strings(n, &[]));
    fields.push(Field::new("metadata.partition", DataType::Utf8, false));
    cols.push(repeated_str(n, p.partition));
    RecordBatch::try_new(p.schemas.schema_for(fields), cols)
}

/// Per validation, whether it fired on each row.
fn evaluate(checks: &[Validation], fields: &[Field], cols: &[ArrayRef], n: usize) -> Vec<(String, Vec<bool>)> {
    checks
        .iter()
        .map(|v| {
            let fired = (0..n)
                .map(|r| {
                    let lookup = |name: &str| fields.iter().position(|f| f.name() == name).map(|i| cell(cols[i].as_ref(), r));
                    v.fires(&lookup)
                })
                .collect();
            (v.name.clone(), fired)
        })
        .collect()
}

/// One cell as a validation value.
pub(crate) fn cell(a: &dyn Array, row: usize) -> Value {
    if a.is_null(row) {
        return Value::Null;
    }
    macro_rules! prim {
        ($t:ty, $v:ident, $conv:expr) => {{
            let arr = a.as_any().downcast_ref::<$t>().expect("type checked");
            let $v = arr.value(row);
            $conv
        }};
    }
    match a.data_type() {
        DataType::Boolean => prim!(BooleanArray, v, Value::Bool(v)),
        DataType::Int8 => prim!(Int8Array, v, Value::Int(v as i64)),
        DataType::Int16 => prim!(Int16Array, v, Value::Int(v as i64)),
        DataType::Int32 => prim!(Int32Array, v, Value::Int(v as i64)),
        DataType::Int64 => prim!(Int64Array, v, Value::Int(v)),
        DataType::UInt8 => prim!(UInt8Array, v, Value::Int(v as i64)),
        DataType::UInt16 => prim!(UInt16Array, v, Value::Int(v as i64)),
        DataType::UInt32 => prim!(UInt32Array, v, Value::Int(v as i64)),
        DataType::UInt64 => prim!(UInt64Array, v, Value::Int(v as i64)),
        DataType::Float32 => prim!(Float32Array, v, Value::Float(v as f64)),
        DataType::Float64 => prim!(Float64Array, v, Value::Float(v)),
        DataType::Utf8 => prim!(StringArray, v, Value::Str(v.to_string())),
        DataType::LargeUtf8 => prim!(LargeStringArray, v, Value::Str(v.to_string())),
        DataType::List(_) => list(a.as_any().downcast_ref::<ListArray>().expect("list").value(row)),
        DataType::LargeList(_) => list(a.as_any().downcast_ref::<LargeListArray>().expect("list").value(row)),
        DataType::FixedSizeList(_, _) => list(a.as_any().downcast_ref::<FixedSizeListArray>().expect("list").value(row)),
        _ => Value::Null,
    }
}

fn list(values: ArrayRef) -> Value {
    Value::List((0..values.len()).map(|i| cell(values.as_ref(), i)).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equal_fields_share_one_schema_and_other_fields_replace_it() {
        let cache = SchemaCache::default();
        let fields = || vec![Field::new("time", DataType::Int64, false), Field::new("out.y", DataType::Float32, false)];
        let a = cache.schema_for(fields());
        let b = cache.schema_for(fields());
        assert!(Arc::ptr_eq(&a, &b));
        let mut other = fields();
        other[1] = Field::new("out.y", DataType::Float32, true);
        let c = cache.schema_for(other);
        assert!(!Arc::ptr_eq(&a, &c));
        assert!(c.field(1).is_nullable());
        assert!(Arc::ptr_eq(&c, &cache.schema_for(vec![Field::new("time", DataType::Int64, false), Field::new("out.y", DataType::Float32, true)])));
    }
}
