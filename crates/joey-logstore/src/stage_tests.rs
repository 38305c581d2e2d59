use std::collections::HashMap;
use std::sync::Arc;

use arrow::array::{BooleanArray, Float32Array, Int64Array, ListArray, StringArray, UInt32Array};
use arrow::buffer::OffsetBuffer;
use arrow::compute::concat_batches;

use super::*;

fn f32_list(rows: &[Option<Vec<f32>>]) -> ArrayRef {
    let lens = rows.iter().map(|r| r.as_ref().map_or(0, Vec::len));
    let values: Vec<f32> = rows.iter().flatten().flatten().copied().collect();
    let nulls = arrow::buffer::NullBuffer::from(rows.iter().map(Option::is_some).collect::<Vec<_>>());
    let field = Arc::new(Field::new("item", DataType::Float32, true));
    Arc::new(ListArray::new(field, OffsetBuffer::from_lengths(lens), Arc::new(Float32Array::from(values)), Some(nulls)))
}

/// A record shaped like an inference log row: time, a tensor, a nested list, a string with
/// nulls, a flag, a count, a list of strings; `n` rows starting at `first`.
fn record(first: i64, n: usize) -> RecordBatch {
    let meta = HashMap::from([("tensor_type".to_string(), r#"{"shape":[2]}"#.to_string())]);
    let tensor: Vec<Option<Vec<f32>>> = (0..n).map(|i| if i % 3 == 2 { None } else { Some(vec![first as f32 + i as f32, 0.5]) }).collect();
    let inner = f32_list(&(0..n).map(|i| Some(vec![i as f32; i % 3])).collect::<Vec<_>>());
    let nested_field = Arc::new(Field::new("item", inner.data_type().clone(), true));
    let nested: ArrayRef = Arc::new(ListArray::new(nested_field.clone(), OffsetBuffer::from_lengths(vec![1; n]), inner, None));
    let names: ArrayRef = Arc::new(StringArray::from((0..n).map(|i| (i % 2 == 0).then(|| format!("m{}", first + i as i64))).collect::<Vec<_>>()));
    let words = Arc::new(StringArray::from((0..n).map(|i| format!("w{i}")).collect::<Vec<_>>()));
    let dropped: ArrayRef = Arc::new(ListArray::new(Arc::new(Field::new("item", DataType::Utf8, true)), OffsetBuffer::from_lengths((0..n).map(|i| i % 2)), Arc::new(words.slice(0, n / 2)), None));
    let schema = Schema::new(vec![
        Field::new("time", DataType::Int64, false),
        Field::new("in.tensor", tensor_type(), true).with_metadata(meta),
        Field::new("out.nested", DataType::List(nested_field), false),
        Field::new("metadata.name", DataType::Utf8, true),
        Field::new("anomaly.flag", DataType::Boolean, false),
        Field::new("anomaly.count", DataType::UInt32, false),
        Field::new("metadata.dropped", dropped.data_type().clone(), false),
    ]);
    let cols: Vec<ArrayRef> = vec![
        Arc::new(Int64Array::from_iter_values(first..first + n as i64)),
        f32_list(&tensor),
        nested,
        names,
        Arc::new(BooleanArray::from((0..n).map(|i| i % 2 == 1).collect::<Vec<_>>())),
        Arc::new(UInt32Array::from_iter_values((0..n as u32).map(|i| i * 7))),
        dropped,
    ];
    RecordBatch::try_new(Arc::new(schema), cols).unwrap()
}

fn tensor_type() -> DataType {
    DataType::List(Arc::new(Field::new("item", DataType::Float32, true)))
}

fn taken(inbox: &mut Inbox) -> Vec<(String, RecordBatch, u64)> {
    inbox.take().into_batches().into_iter().map(|r| r.unwrap()).collect()
}

#[test]
fn small_batches_are_copied_into_one_stage_equal_to_joining_them() {
    let whole = record(100, 9);
    // One-row batches, and slices of a bigger batch (offsets that do not start at 0).
    let parts: Vec<RecordBatch> = vec![whole.slice(0, 1), whole.slice(1, 3), whole.slice(4, 1), whole.slice(5, 4)];
    let mut inbox = Inbox::default();
    for p in &parts {
        let back = inbox.push("t", p.clone(), 10, 1000);
        assert!(back.is_some(), "a small batch is copied and handed back");
    }
    let out = taken(&mut inbox);
    assert_eq!(out.len(), 1);
    let (topic, batch, bytes) = &out[0];
    assert_eq!((topic.as_str(), *bytes), ("t", 40));
    assert_eq!(batch, &concat_batches(&whole.schema(), &parts).unwrap());
    assert_eq!(batch, &whole);
    assert!(inbox.take().into_batches().is_empty());
}

#[test]
fn big_batches_and_uncopyable_types_are_kept_as_they_are_in_order() {
    let mut inbox = Inbox::default();
    let big = record(0, JOIN_BELOW);
    assert!(inbox.push("t", record(0, 1), 1, 1000).is_some());
    assert!(inbox.push("t", big.clone(), 2, 1000).is_none(), "a big batch is not copied");
    assert!(inbox.push("t", record(1, 1), 3, 1000).is_some());
    let dict: ArrayRef = Arc::new(arrow::array::DictionaryArray::<Int32Type>::new(
        arrow::array::Int32Array::from(vec![0]),
        Arc::new(StringArray::from(vec!["p"])),
    ));
    let odd = RecordBatch::try_from_iter(vec![("metadata.partition", dict)]).unwrap();
    assert!(inbox.push("t", odd.clone(), 4, 1000).is_none(), "a type the stage cannot copy");
    assert!(inbox.push("t", record(2, 1), 5, 1000).is_some());
    let out = taken(&mut inbox);
    let shape: Vec<(usize, u64)> = out.iter().map(|(_, b, n)| (b.num_rows(), *n)).collect();
    assert_eq!(shape, vec![(1, 1), (JOIN_BELOW, 2), (1, 3), (1, 4), (1, 5)]);
    assert_eq!(out[1].1.column(0).to_data().buffers()[0].as_ptr(), big.column(0).to_data().buffers()[0].as_ptr());
    assert_eq!(out[3].1, odd);
    assert_eq!(out[4].1, record(2, 1));
}

#[test]
fn topics_schemas_and_the_row_limit_each_start_a_new_stage() {
    let mut inbox = Inbox::default();
    inbox.push("a", record(0, 2), 1, 4);
    inbox.push("b", record(10, 1), 1, 4);
    inbox.push("a", record(2, 2), 1, 4); // joins a's stage across b's entry
    inbox.push("a", record(4, 1), 1, 4); // a's stage is full (4 rows): a new one
    let other = RecordBatch::try_from_iter(vec![("time", Arc::new(Int64Array::from(vec![9])) as ArrayRef)]).unwrap();
    inbox.push("a", other.clone(), 1, 4); // another schema
    inbox.push("a", record(5, 1), 1, 4); // back to the first schema: after `other`, so a new stage
    let out = taken(&mut inbox);
    let shape: Vec<(&str, usize)> = out.iter().map(|(t, b, _)| (t.as_str(), b.num_rows())).collect();
    assert_eq!(shape, vec![("a", 4), ("b", 1), ("a", 1), ("a", 1), ("a", 1)]);
    assert_eq!(out[0].1, concat_batches(&out[0].1.schema(), &[record(0, 2), record(2, 2)]).unwrap());
    assert_eq!(out[3].1, other);
    assert_eq!(out[4].1, record(5, 1));
}

#[test]
fn batches_of_big_rows_are_kept_as_they_are() {
    let mut inbox = Inbox::default();
    let row = record(0, 1);
    assert!(inbox.push("t", row.clone(), STAGE_MAX_BYTES_PER_ROW + 1, 1000).is_none(), "a big row is not copied");
    assert!(inbox.push("t", record(0, 2), 2 * STAGE_MAX_BYTES_PER_ROW, 1000).is_some(), "rows at the limit are copied");
    let out = taken(&mut inbox);
    assert_eq!(out.iter().map(|(_, b, _)| b.num_rows()).collect::<Vec<_>>(), vec![1, 2]);
    assert_eq!(out[0].1.column(0).to_data().buffers()[0].as_ptr(), row.column(0).to_data().buffers()[0].as_ptr());
}
