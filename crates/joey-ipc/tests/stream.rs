//! Stream messages decode, alone after the schema message, to the batch they were made from.

use std::sync::Arc;

use arrow::array::{ArrayRef, DictionaryArray, Float64Array, Int32Array, Int64Array, ListArray, StringArray};
use arrow::buffer::Buffer;
use arrow::datatypes::{Float64Type, Int32Type};
use arrow::ipc::reader::StreamDecoder;
use arrow::record_batch::RecordBatch;

fn record(n: usize, part: &str) -> RecordBatch {
    let model: DictionaryArray<Int32Type> = DictionaryArray::try_new(Int32Array::from(vec![0; n]), Arc::new(StringArray::from(vec![r#"{"model_name":"m"}"#]))).unwrap();
    let part: DictionaryArray<Int32Type> = (0..n).map(|i| if i % 3 == 0 { "engine-a" } else { part }).collect();
    let tensor = ListArray::from_iter_primitive::<Float64Type, _, _>((0..n).map(|i| Some(vec![Some(i as f64); 29])));
    let cols: Vec<(&str, ArrayRef)> = vec![
        ("time", Arc::new(Int64Array::from_iter_values((0..n as i64).map(|i| 1000 + i)))),
        ("in.tensor", Arc::new(tensor)),
        ("metadata.last_model", Arc::new(model)),
        ("out.score", Arc::new((0..n).map(|i| (i % 5 != 0).then_some(i as f64)).collect::<Float64Array>())),
        ("metadata.partition", Arc::new(part)),
    ];
    RecordBatch::try_from_iter(cols).unwrap()
}

fn decode(schema_msg: &[u8], chunks: &[bytes::Bytes]) -> RecordBatch {
    let mut decoder = StreamDecoder::new();
    let mut bytes: Vec<u8> = schema_msg.to_vec();
    bytes.extend(chunks.iter().flat_map(|c| c.iter().copied()));
    bytes.extend_from_slice(&[0xFF, 0xFF, 0xFF, 0xFF, 0, 0, 0, 0]);
    let mut buf = Buffer::from_vec(bytes);
    let mut out = None;
    while !buf.is_empty() {
        if let Some(b) = decoder.decode(&mut buf).unwrap() {
            out = Some(b);
        }
    }
    out.expect("a batch")
}

#[test]
fn batches_with_dictionaries_decode_alone_after_the_schema_message() {
    let first = record(10, "engine-b");
    let schema_msg = joey_ipc::schema_message(&first.schema());
    for batch in [first.clone(), record(10_000, "engine-c"), record(1, "engine-d")] {
        let chunks = joey_ipc::stream_batch(&batch).unwrap().expect("handled layout");
        assert_eq!(decode(&schema_msg, &chunks), batch);
        // Big buffers are shared, not copied.
        assert_eq!(chunks.len() > 3, batch.num_rows() == 10_000, "{} chunks", chunks.len());
    }
}

#[test]
fn slices_decode_to_their_rows() {
    let whole = record(10_254, "engine-b");
    let schema_msg = joey_ipc::schema_message(&whole.schema());
    for (at, len) in [(0, 10_000), (10_000, 254), (3, 7), (5, 0)] {
        let batch = whole.slice(at, len);
        let chunks = joey_ipc::stream_batch(&batch).unwrap().expect("handled layout");
        assert_eq!(decode(&schema_msg, &chunks), batch, "rows {at}..{}", at + len);
    }
}

#[test]
fn files_with_dictionaries_are_left_to_arrow() {
    assert!(joey_ipc::file_chunks(&record(3, "e")).unwrap().is_none());
}

#[test]
fn run_end_encoded_columns_decode_and_slices_of_them_are_left_to_arrow() {
    use arrow::array::{Array, RunArray};
    use arrow::datatypes::Int64Type;
    let n = 10_254usize;
    let time: RunArray<Int32Type> = RunArray::try_new(&Int32Array::from(vec![n as i32]), &Int64Array::from(vec![1_700_000_000_000i64])).unwrap();
    let elapsed = ListArray::from_iter_primitive::<Int64Type, _, _>([Some(vec![Some(5), Some(7)]), Some(vec![Some(6), Some(8)])]);
    let elapsed: RunArray<Int32Type> = RunArray::try_new(&Int32Array::from(vec![4_000, n as i32]), &elapsed).unwrap();
    let tensor = ListArray::from_iter_primitive::<Float64Type, _, _>((0..n).map(|i| Some(vec![Some(i as f64); 29])));
    let cols: Vec<(&str, ArrayRef)> = vec![("time", Arc::new(time)), ("in.tensor", Arc::new(tensor)), ("metadata.elapsed", Arc::new(elapsed))];
    let batch = RecordBatch::try_from_iter(cols).unwrap();
    let schema_msg = joey_ipc::schema_message(&batch.schema());
    let chunks = joey_ipc::stream_batch(&batch).unwrap().expect("handled layout");
    let back = decode(&schema_msg, &chunks);
    assert_eq!(back, batch);
    assert_eq!(back.column(0).to_data().child_data()[1].len(), 1, "one run, one value");
    let sliced = batch.slice(3, 10);
    assert!(joey_ipc::stream_batch(&sliced).unwrap().is_none(), "a sliced run array goes to arrow's writer");
}
