//! Builds the flat result batch and evaluates validations over it.

use std::sync::Arc;

use arrow::array::*;
use std::collections::HashMap;

use arrow::datatypes::{DataType, Field, FieldRef, Schema, SchemaRef};
use arrow::error::ArrowError;
use arrow::record_batch::RecordBatch;
use joey_core::check::{Validation, Value};

use super::constants::{list_of_strings, repeated_str, time_column, utf8_list_field, zero_counts};
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

/// The last result schema of a pipeline, with what it was built from. Consecutive results of the
/// same shape share it: a result (and the log record that keeps it until the writer flushes)
/// holds one `Arc` instead of its own copy of every field name and metadata map, the log writer's
/// schema comparison is a pointer comparison, and the common case skips building the fields.
#[derive(Default)]
pub struct SchemaCache(std::sync::Mutex<Option<Cached>>);

struct Cached {
    key: ShapeKey,
    schema: SchemaRef,
}

/// What decides the result's fields besides the arrays' own types: the request's schema (by
/// value) and which echoed columns hold nulls, the schemas of the model outputs shown (by
/// pointer: each model keeps its own; holding them keeps the pointers unique), whether a split
/// column is present and the names of the validations.
struct ShapeKey {
    input: SchemaRef,
    input_nulls: Vec<bool>,
    outputs: Vec<SchemaRef>,
    split: bool,
    checks: Vec<String>,
}

impl PartialEq for ShapeKey {
    fn eq(&self, o: &Self) -> bool {
        self.outputs.len() == o.outputs.len()
            && self.outputs.iter().zip(&o.outputs).all(|(a, b)| Arc::ptr_eq(a, b))
            && self.split == o.split
            && self.input_nulls == o.input_nulls
            && self.checks == o.checks
            && self.input == o.input
    }
}

impl SchemaCache {
    fn lock(&self) -> std::sync::MutexGuard<'_, Option<Cached>> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn cached(&self, key: &ShapeKey) -> Option<SchemaRef> {
        self.lock().as_ref().filter(|c| &c.key == key).map(|c| c.schema.clone())
    }

    fn schema_for(&self, key: ShapeKey, fields: Vec<Field>) -> SchemaRef {
        let mut last = self.lock();
        if let Some(c) = last.as_mut() {
            let s = &c.schema;
            if s.fields().len() == fields.len() && s.fields().iter().zip(&fields).all(|(a, b)| a.as_ref() == b) {
                c.key = key;
                return s.clone();
            }
        }
        let schema = Arc::new(Schema::new(fields));
        *last = Some(Cached { key, schema: schema.clone() });
        schema
    }
}

fn push(fields: &mut Vec<Field>, prefix: &str, batch: &RecordBatch) {
    for f in batch.schema_ref().fields() {
        fields.push(f.as_ref().clone().with_name(format!("{prefix}.{}", f.name())));
    }
}

/// The reference engine echoes inputs as variable-size lists (`list<item: float> not null`),
/// whatever list kind the request used.
fn echo_columns(batch: &RecordBatch, cols: &mut Vec<ArrayRef>) -> Result<(), ArrowError> {
    for (f, c) in batch.schema_ref().fields().iter().zip(batch.columns()) {
        let col = if needs_cast(f.data_type()) { arrow::compute::cast(c, &variable_lists(f.data_type()))? } else { c.clone() };
        cols.push(col);
    }
    Ok(())
}

fn echo_fields(batch: &RecordBatch, echoed: &[ArrayRef], fields: &mut Vec<Field>) {
    for (f, col) in batch.schema_ref().fields().iter().zip(echoed) {
        let nullable = f.is_nullable() && col.null_count() > 0;
        fields.push(Field::new(format!("in.{}", f.name()), col.data_type().clone(), nullable).with_metadata(f.metadata().clone()));
    }
}

/// Whether `t` holds a list that is not a variable-size list of nullable "item"s.
fn needs_cast(t: &DataType) -> bool {
    match t {
        DataType::List(inner) => inner.name() != "item" || !inner.is_nullable() || needs_cast(inner.data_type()),
        DataType::FixedSizeList(_, _) | DataType::LargeList(_) => true,
        _ => false,
    }
}

fn variable_lists(t: &DataType) -> DataType {
    match t {
        DataType::FixedSizeList(inner, _) | DataType::List(inner) | DataType::LargeList(inner) => {
            DataType::List(Arc::new(Field::new("item", variable_lists(inner.data_type()), true)))
        }
        other => other.clone(),
    }
}

fn elapsed_column(n: usize, elapsed: &[u64; 2], steps: FieldRef) -> ArrayRef {
    let offsets = arrow::buffer::OffsetBuffer::<i32>::from_lengths(std::iter::repeat_n(elapsed.len(), n));
    let values: ArrayRef = Arc::new(UInt64Array::from_iter_values(elapsed.iter().copied().cycle().take(n * elapsed.len())));
    Arc::new(ListArray::new(steps, offsets, values, None))
}

pub(super) fn assemble(p: Parts<'_>) -> Result<RecordBatch, ArrowError> {
    let n = p.input.num_rows();
    let mut cols: Vec<ArrayRef> = vec![time_column(n, p.time_ms)];
    echo_columns(p.input, &mut cols)?;
    let echoed = cols.len();
    cols.extend(p.output.columns().iter().cloned());
    for (_, b) in &p.shadows {
        cols.extend(b.columns().iter().cloned());
    }
    let split = p.split.map(|s| s.split_json());
    if let Some(desc) = split {
        cols.push(list_of_strings(n, Some(desc)));
    }
    let key = ShapeKey {
        input: p.input.schema(),
        input_nulls: cols[1..echoed].iter().map(|c| c.null_count() > 0).collect(),
        outputs: std::iter::once(p.output).chain(p.shadows.iter().map(|(_, b)| *b)).map(|b| b.schema()).collect(),
        split: split.is_some(),
        checks: p.checks.iter().map(|v| v.name.clone()).collect(),
    };
    let cached = p.schemas.cached(&key);
    let flags = if p.checks.is_empty() {
        Vec::new()
    } else {
        let fields = cached.as_ref().map(|s| s.fields().iter().take(cols.len()).map(|f| f.as_ref().clone()).collect()).unwrap_or_else(|| value_fields(&p, &cols[1..echoed]));
        evaluate(p.checks, &fields, &cols, n)
    };
    let counts: ArrayRef = if flags.is_empty() { zero_counts(n) } else { Arc::new((0..n).map(|r| Some(flags.iter().filter(|(_, f)| f[r]).count() as u32)).collect::<UInt32Array>()) };
    cols.push(counts);
    for (_, f) in &flags {
        cols.push(Arc::new(BooleanArray::from(f.clone())));
    }
    let steps = Arc::new(Field::new("steps", DataType::UInt64, false));
    cols.push(repeated_str(n, p.last_model.map(|s| s.last_model_json()).unwrap_or("")));
    cols.push(repeated_str(n, p.pipeline_version));
    cols.push(elapsed_column(n, &p.elapsed, steps.clone()));
    cols.push(list_of_strings(n, None));
    cols.push(repeated_str(n, p.partition));
    let schema = match cached {
        Some(s) => s,
        None => {
            let mut fields = value_fields(&p, &cols[1..echoed]);
            fields.push(Field::new("anomaly.count", DataType::UInt32, false).with_metadata(HashMap::from([("tensor_type".to_string(), r#"{"shape":[]}"#.to_string())])));
            for (name, _) in &flags {
                fields.push(Field::new(format!("anomaly.{name}"), DataType::Boolean, false));
            }
            fields.push(Field::new("metadata.last_model", DataType::Utf8, false));
            fields.push(Field::new("metadata.pipeline_version", DataType::Utf8, false));
            fields.push(Field::new("metadata.elapsed", DataType::List(steps), false));
            fields.push(Field::new("metadata.dropped", DataType::List(utf8_list_field()), false));
            fields.push(Field::new("metadata.partition", DataType::Utf8, false));
            p.schemas.schema_for(key, fields)
        }
    };
    RecordBatch::try_new(schema, cols)
}

/// `time`, `in.*`, `out.*`, `out_<model>.*` and the split column: the fields validations can read.
fn value_fields(p: &Parts<'_>, echoed: &[ArrayRef]) -> Vec<Field> {
    let mut fields = vec![Field::new("time", DataType::Int64, false)];
    echo_fields(p.input, echoed, &mut fields);
    push(&mut fields, "out", p.output);
    for (name, b) in &p.shadows {
        push(&mut fields, &format!("out_{name}"), b);
    }
    if p.split.is_some() {
        fields.push(Field::new("out._model_split", DataType::List(utf8_list_field()), true));
    }
    fields
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
        let out = Arc::new(Schema::new(vec![Field::new("y", DataType::Float32, false)]));
        let key = || ShapeKey { input: Arc::new(Schema::empty()), input_nulls: vec![], outputs: vec![out.clone()], split: false, checks: vec![] };
        let fields = || vec![Field::new("time", DataType::Int64, false), Field::new("out.y", DataType::Float32, false)];
        assert!(cache.cached(&key()).is_none());
        let a = cache.schema_for(key(), fields());
        assert!(Arc::ptr_eq(&a, &cache.cached(&key()).unwrap()));
        let b = cache.schema_for(key(), fields());
        assert!(Arc::ptr_eq(&a, &b));
        let other_out = Arc::new(Schema::new(vec![Field::new("y", DataType::Float32, true)]));
        let other_key = ShapeKey { outputs: vec![other_out], ..key() };
        assert!(cache.cached(&other_key).is_none(), "another output schema is another key");
        let mut other = fields();
        other[1] = Field::new("out.y", DataType::Float32, true);
        let c = cache.schema_for(other_key, other);
        assert!(!Arc::ptr_eq(&a, &c));
        assert!(c.field(1).is_nullable());
        assert!(cache.cached(&key()).is_none());
        assert!(cache.cached(&ShapeKey { input_nulls: vec![true], ..key() }).is_none());
    }

    #[test]
    fn elapsed_repeats_per_row() {
        let e = elapsed_column(2, &[5, 7], Arc::new(Field::new("steps", DataType::UInt64, false)));
        let e = e.as_list::<i32>();
        assert_eq!(e.value(1).as_primitive::<arrow::datatypes::UInt64Type>().values().to_vec(), vec![5, 7]);
    }
}
