//! The zero-copy Arrow IPC writer gives the same file contents as arrow's `FileWriter`.

use std::collections::HashMap;
use std::io::Cursor;
use std::sync::Arc;

use arrow::array::{
    Array,
    ArrayRef, BooleanArray, FixedSizeListArray, Float32Array, Int64Array, ListArray, StringArray,
    UInt32Array,
};
use arrow::datatypes::{DataType, Field, Float32Type, Schema, UInt64Type};
use arrow::ipc::reader::FileReader;
use arrow::record_batch::RecordBatch;
use joey_runtime::codec::{encode_arrow, encode_arrow_chunks};

fn read_all(bytes: &[u8]) -> Vec<RecordBatch> {
    let reader = FileReader::try_new(Cursor::new(bytes.to_vec()), None).unwrap();
    reader.map(|b| b.unwrap()).collect()
}

fn joined(chunks: &[bytes::Bytes]) -> Vec<u8> {
    chunks.iter().flat_map(|c| c.iter().copied()).collect()
}

/// A flat result like the executor's, `n` rows, with nulls, booleans, strings and lists.
fn result(n: usize, width: usize) -> RecordBatch {
    let tensor = ListArray::from_iter_primitive::<Float32Type, _, _>((0..n).map(|r| {
        (r % 7 != 3).then(|| (0..width).map(|i| Some((r * width + i) as f32 * 0.5)).collect::<Vec<_>>())
    }));
    let fixed = FixedSizeListArray::from_iter_primitive::<Float32Type, _, _>((0..n).map(|r| Some(vec![Some(r as f32)])), 1);
    let elapsed = ListArray::from_iter_primitive::<UInt64Type, _, _>((0..n).map(|_| Some(vec![Some(5), Some(7)])));
    let dropped = ListArray::new(Arc::new(Field::new("item", DataType::Utf8, true)), arrow::buffer::OffsetBuffer::new_zeroed(n), Arc::new(StringArray::from(Vec::<&str>::new())), None);
    let shape = HashMap::from([("tensor_type".to_string(), r#"{"shape":[1]}"#.to_string())]);
    let cols: Vec<(Field, ArrayRef)> = vec![
        (Field::new("time", DataType::Int64, false), Arc::new(Int64Array::from(vec![1_700_000_000_000i64; n]))),
        (Field::new("in.tensor", tensor.data_type().clone(), true), Arc::new(tensor)),
        (Field::new("in.score", DataType::Float32, true), Arc::new((0..n).map(|r| (r % 5 != 0).then_some(r as f32)).collect::<Float32Array>())),
        (Field::new("out.dense_1", fixed.data_type().clone(), false).with_metadata(shape), Arc::new(fixed)),
        (Field::new("anomaly.count", DataType::UInt32, false), Arc::new(UInt32Array::from(vec![0u32; n]))),
        (Field::new("anomaly.high", DataType::Boolean, true), Arc::new((0..n).map(|r| (r % 4 != 0).then_some(r % 3 == 0)).collect::<BooleanArray>())),
        (Field::new("metadata.last_model", DataType::Utf8, false), Arc::new(StringArray::from(vec![r#"{"model_name":"m"}"#; n]))),
        (Field::new("metadata.elapsed", elapsed.data_type().clone(), false), Arc::new(elapsed)),
        (Field::new("metadata.dropped", dropped.data_type().clone(), false), Arc::new(dropped)),
    ];
    let (fields, arrays): (Vec<Field>, Vec<ArrayRef>) = cols.into_iter().unzip();
    let schema = Schema::new(fields).with_metadata(HashMap::from([("status".to_string(), "x".to_string())]));
    RecordBatch::try_new(Arc::new(schema), arrays).unwrap()
}

#[test]
fn chunks_decode_to_what_the_file_writer_gives_nested_and_flat() {
    for (n, width) in [(1, 3), (13, 2), (10_254, 29)] {
        let batch = result(n, width);
        for sep in [None, Some("."), Some("_")] {
            let chunks = encode_arrow_chunks(&batch, sep).unwrap();
            let want = read_all(&encode_arrow(&batch, sep).unwrap());
            assert_eq!(read_all(&joined(&chunks)), want, "{n} rows, separator {sep:?}");
            // A 10k-row tensor (1.2 MB of floats) is shared, not copied: more than one chunk.
            assert_eq!(chunks.len() > 1, n > 10_000, "{n} rows: {} chunks", chunks.len());
        }
    }
}

#[test]
fn sliced_and_empty_results_decode_the_same() {
    for (at, len) in [(3, 30), (9, 1), (0, 40)] {
        let batch = result(40, 4).slice(at, len);
        let chunks = encode_arrow_chunks(&batch, None).unwrap();
        assert_eq!(read_all(&joined(&chunks)), read_all(&encode_arrow(&batch, None).unwrap()), "rows {at}..{}", at + len);
    }
    let empty = result(0, 2);
    assert_eq!(read_all(&joined(&encode_arrow_chunks(&empty, None).unwrap())), read_all(&encode_arrow(&empty, None).unwrap()));
}
