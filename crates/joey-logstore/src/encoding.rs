//! How records are kept on disk versus how they are appended and read.
//!
//! Top-level `Utf8` columns are stored dictionary-encoded (`Dictionary(Int32, Utf8)`), with
//! the field marked by [`MARK`]. Inference records repeat the same strings on every row
//! (`metadata.last_model`, `metadata.pipeline_version`, `metadata.partition`: about half the
//! bytes of a 10k-row ccfraud record), so the writer writes far fewer bytes. A column whose
//! rows all hold one value (the usual case) is encoded without hashing: all-zero keys and a
//! one-value dictionary. Readers get the appended form back: marked columns are cast to
//! `Utf8` and the mark is removed. Columns that arrive dictionary-encoded, or nested, are kept
//! as they are.

use std::collections::HashMap;
use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, DictionaryArray, Int32Array, StringArray};
use arrow::compute::cast;
use arrow::datatypes::{DataType, Field, Int32Type, Schema, SchemaRef};
use arrow::error::ArrowError;
use arrow::record_batch::{RecordBatch, RecordBatchOptions};

use crate::runs;

/// Field-metadata key (value `"dictionary"`) of a column the store dictionary-encoded.
pub const MARK: &str = "joey.log.encoding";

fn stored_type() -> DataType {
    DataType::Dictionary(Box::new(DataType::Int32), Box::new(DataType::Utf8))
}

/// The on-disk form of `batch`: its `Utf8` columns dictionary-encoded, and columns of one
/// value run-end encoded (`runs.rs`), both marked. `segment`: the stored schema of the segment
/// the batch goes to, if it has one; a batch of the same appended schema keeps its layout.
pub(crate) fn to_stored(batch: &RecordBatch, segment: Option<&SchemaRef>) -> Result<RecordBatch, ArrowError> {
    let schema = batch.schema();
    let segment = segment.filter(|s| plain_schema(s) == *schema);
    let decide = segment.is_none() && batch.num_rows() >= runs::MIN_ROWS;
    let mut fields = Vec::with_capacity(schema.fields().len());
    let mut cols = Vec::with_capacity(schema.fields().len());
    let mut changed = false;
    for (i, (f, c)) in schema.fields().iter().zip(batch.columns()).enumerate() {
        let as_runs = match segment {
            Some(s) => is_runs(s.field(i)),
            None => decide && runs::eligible(f.data_type()) && runs::is_constant(c.as_ref()),
        };
        let (col, kind) = if f.data_type() == &DataType::Utf8 {
            let strings = c.as_string::<i32>();
            let col = match constant_dictionary(strings) {
                Some(d) => d,
                None => cast(c, &stored_type())?,
            };
            (col, "dictionary")
        } else if as_runs {
            (runs::encode(c)?, "runs")
        } else {
            fields.push(f.clone());
            cols.push(c.clone());
            continue;
        };
        let mut meta = f.metadata().clone();
        meta.insert(MARK.to_string(), kind.to_string());
        fields.push(Arc::new(f.as_ref().clone().with_data_type(col.data_type().clone()).with_metadata(meta)));
        cols.push(col);
        changed = true;
    }
    if !changed {
        return Ok(batch.clone());
    }
    rebuild(batch, Schema::new(fields).with_metadata(schema.metadata().clone()), cols)
}

/// The appended form of a stored batch: marked columns back to `Utf8`, without the mark.
pub(crate) fn to_plain(batch: &RecordBatch) -> Result<RecordBatch, ArrowError> {
    let schema = batch.schema();
    if !schema.fields().iter().any(|f| is_marked(f) || is_runs(f)) {
        return Ok(batch.clone());
    }
    let mut cols = Vec::with_capacity(schema.fields().len());
    for (f, c) in schema.fields().iter().zip(batch.columns()) {
        cols.push(if is_marked(f) {
            cast(c, &DataType::Utf8)?
        } else if is_runs(f) {
            runs::decode(c.as_ref())?
        } else {
            c.clone()
        });
    }
    rebuild(batch, plain_schema(&schema), cols)
}

/// The schema [`to_plain`] gives batches stored with `schema`.
pub(crate) fn plain_schema(schema: &SchemaRef) -> Schema {
    let fields: Vec<_> = schema
        .fields()
        .iter()
        .map(|f| {
            let plain = match f.data_type() {
                _ if is_marked(f) => DataType::Utf8,
                DataType::RunEndEncoded(_, values) if is_runs(f) => values.data_type().clone(),
                _ => return f.clone(),
            };
            let meta: HashMap<String, String> = f.metadata().iter().filter(|(k, _)| *k != MARK).map(|(k, v)| (k.clone(), v.clone())).collect();
            Arc::new(f.as_ref().clone().with_data_type(plain).with_metadata(meta))
        })
        .collect();
    Schema::new(fields).with_metadata(schema.metadata().clone())
}

/// A column stored run-end encoded (`runs.rs`).
pub(crate) fn is_runs(f: &Field) -> bool {
    f.metadata().get(MARK).is_some_and(|v| v == "runs") && matches!(f.data_type(), DataType::RunEndEncoded(..))
}

fn is_marked(f: &Field) -> bool {
    f.metadata().get(MARK).is_some_and(|v| v == "dictionary") && f.data_type() == &stored_type()
}

fn rebuild(batch: &RecordBatch, schema: Schema, cols: Vec<ArrayRef>) -> Result<RecordBatch, ArrowError> {
    let options = RecordBatchOptions::new().with_row_count(Some(batch.num_rows()));
    RecordBatch::try_new_with_options(Arc::new(schema), cols, &options)
}

/// A one-value dictionary when every row holds the same non-null string; `None` otherwise.
fn constant_dictionary(col: &StringArray) -> Option<ArrayRef> {
    let n = col.len();
    if n == 0 || col.null_count() > 0 {
        return None;
    }
    let offsets = col.value_offsets();
    let len = runs::uniform_spacing(offsets)?;
    let data = &col.value_data()[offsets[0] as usize..offsets[n] as usize];
    if !runs::periodic(data, len) {
        return None;
    }
    let keys = Int32Array::from(vec![0i32; n]);
    let values: ArrayRef = Arc::new(StringArray::from_iter_values([col.value(0)]));
    Some(Arc::new(DictionaryArray::<Int32Type>::try_new(keys, values).ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::Int64Array;

    fn batch(strings: Vec<Option<&str>>) -> RecordBatch {
        let n = strings.len();
        let schema = Schema::new(vec![
            Field::new("time", DataType::Int64, false),
            Field::new("metadata.partition", DataType::Utf8, true).with_metadata(HashMap::from([("k".to_string(), "v".to_string())])),
        ])
        .with_metadata(HashMap::from([("s".to_string(), "t".to_string())]));
        let cols: Vec<ArrayRef> = vec![Arc::new(Int64Array::from(vec![1i64; n])), Arc::new(StringArray::from(strings))];
        RecordBatch::try_new(Arc::new(schema), cols).unwrap()
    }

    fn roundtrip(b: &RecordBatch) -> RecordBatch {
        let stored = to_stored(b, None).unwrap();
        assert_eq!(stored.schema().field(1).data_type(), &stored_type());
        assert_eq!(stored.schema().field(1).metadata().get(MARK).map(String::as_str), Some("dictionary"));
        assert_eq!(plain_schema(&stored.schema()), *b.schema());
        let plain = to_plain(&stored).unwrap();
        assert_eq!(&plain, b);
        stored
    }

    #[test]
    fn a_constant_column_becomes_a_one_value_dictionary_and_comes_back_unchanged() {
        let stored = roundtrip(&batch(vec![Some("engine-a"); 5]));
        assert_eq!(stored.column(1).as_dictionary::<Int32Type>().values().len(), 1);
        let sliced = batch(vec![Some("x"), Some("engine-a"), Some("engine-a")]).slice(1, 2);
        assert_eq!(roundtrip(&sliced).column(1).as_dictionary::<Int32Type>().values().len(), 1);
    }

    #[test]
    fn varying_null_and_empty_columns_round_trip() {
        // Equal total length and equal chunks, but uneven offsets: not constant.
        let uneven = roundtrip(&batch(vec![Some("ab"), Some(""), Some("abab")]));
        assert_eq!(uneven.column(1).as_dictionary::<Int32Type>().values().len(), 3);
        let even = roundtrip(&batch(vec![Some("ab"), Some("ab"), Some("ac")]));
        assert_eq!(even.column(1).as_dictionary::<Int32Type>().values().len(), 2);
        roundtrip(&batch(vec![Some("a"), None, Some("a")]));
        roundtrip(&batch(vec![Some(""), Some("")]));
        roundtrip(&batch(vec![]));
    }

    #[test]
    fn columns_that_arrive_dictionary_encoded_are_left_alone() {
        let values: ArrayRef = Arc::new(StringArray::from(vec!["p"]));
        let d = DictionaryArray::<Int32Type>::try_new(Int32Array::from(vec![0, 0]), values).unwrap();
        let b = RecordBatch::try_from_iter(vec![("metadata.partition", Arc::new(d) as ArrayRef)]).unwrap();
        let stored = to_stored(&b, None).unwrap();
        assert!(stored.schema().field(0).metadata().is_empty());
        assert_eq!(to_plain(&stored).unwrap(), b);
    }
}
