//! Repeated strings are stored dictionary-encoded, and read back as the strings appended.

mod common;

use std::sync::Arc;

use arrow::array::{ArrayRef, Int64Array, StringArray};
use arrow::datatypes::DataType;
use arrow::record_batch::RecordBatch;
use common::*;
use joey_logstore::{LogStore, Order};

const LAST_MODEL: &str = r#"{"model_name":"ccfraud","model_sha":"bc85ce596945f876256f41515c7501c399fd97ebcb9ab3dd41bf03f8937b4507"}"#;

fn record(first: i64, n: usize, partition: &str) -> RecordBatch {
    let ids: Vec<i64> = (first..first + n as i64).collect();
    let cols: Vec<(&str, ArrayRef)> = vec![
        ("time", Arc::new(Int64Array::from_iter_values(ids.iter().map(|i| 1000 + i)))),
        ("metadata.last_model", Arc::new(StringArray::from(vec![LAST_MODEL; n]))),
        ("metadata.partition", Arc::new(StringArray::from(vec![partition; n]))),
        ("id", Arc::new(Int64Array::from(ids))),
    ];
    RecordBatch::try_from_iter(cols).unwrap()
}

#[test]
fn repeated_strings_are_stored_as_dictionaries_and_read_back_as_strings() {
    let dir = tempfile::tempdir().unwrap();
    let store = LogStore::open(cfg(dir.path())).unwrap();
    // Two partitions in one flush: the column is not constant there, and still round-trips.
    assert!(store.append(TOPIC, record(0, 1000, "engine-a")));
    assert!(store.append(TOPIC, record(1000, 1000, "engine-b")));
    store.flush().unwrap();

    let page = store.read(TOPIC, &query(Order::Asc, 5000)).unwrap();
    let b = page.batch.unwrap();
    assert_eq!(b.schema(), record(0, 1, "x").schema(), "the appended schema, no storage mark");
    let want = arrow::compute::concat_batches(&b.schema(), &[record(0, 1000, "engine-a"), record(1000, 1000, "engine-b")]).unwrap();
    assert_eq!(b, want);
    let parts = store.partitions(TOPIC).unwrap();
    assert_eq!((parts["engine-a"], parts["engine-b"]), ((0, 1000), (0, 1000)));
    store.shutdown();

    // On disk: a plain Arrow IPC stream whose string columns are marked dictionaries, so the
    // ~100-byte model description is not written 2000 times.
    let segs = segment_files(&dir.path().join(TOPIC), "arrow");
    let f = std::fs::File::open(&segs[0]).unwrap();
    let reader = arrow::ipc::reader::StreamReader::try_new(f, None).unwrap();
    let field = reader.schema().field_with_name("metadata.last_model").unwrap().clone();
    assert!(matches!(field.data_type(), DataType::Dictionary(_, v) if **v == DataType::Utf8));
    assert_eq!(field.metadata().get("joey.log.encoding").map(String::as_str), Some("dictionary"));
    let on_disk: u64 = segs.iter().map(|p| std::fs::metadata(p).unwrap().len()).sum();
    assert!(on_disk < 2000 * LAST_MODEL.len() as u64 / 2, "{on_disk} bytes on disk");

    // Reopened, the same rows come back.
    let store = open(dir.path());
    let again = store.read(TOPIC, &query(Order::Asc, 5000)).unwrap().batch.unwrap();
    assert_eq!(again, want);
}
