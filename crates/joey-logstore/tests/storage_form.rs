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

/// One request's record: `n` rows sharing their time, elapsed and anomaly count.
fn request(id0: i64, n: usize, time: i64) -> RecordBatch {
    use arrow::array::{ListArray, UInt32Array};
    use arrow::datatypes::Int64Type;
    let elapsed = ListArray::from_iter_primitive::<Int64Type, _, _>((0..n).map(|_| Some(vec![Some(time % 7), Some(900)])));
    let cols: Vec<(&str, ArrayRef)> = vec![
        ("time", Arc::new(Int64Array::from(vec![time; n]))),
        ("anomaly.count", Arc::new(UInt32Array::from(vec![0u32; n]))),
        ("metadata.elapsed", Arc::new(elapsed)),
        ("metadata.partition", Arc::new(StringArray::from(vec!["engine-0"; n]))),
        ("id", Arc::new(Int64Array::from_iter_values(id0..id0 + n as i64))),
    ];
    RecordBatch::try_from_iter(cols).unwrap()
}

#[test]
fn columns_of_one_value_in_a_big_request_are_stored_as_one_run() {
    let dir = tempfile::tempdir().unwrap();
    let store = LogStore::open(cfg(dir.path())).unwrap();
    let big = request(0, 10_000, 5_000);
    assert!(store.append(TOPIC, big.clone()));
    store.flush().unwrap();
    // Then single-row requests into the same segment: other times, so several runs per batch.
    let small: Vec<RecordBatch> = (0..300).map(|i| request(10_000 + i, 1, 6_000 + i / 2)).collect();
    for b in &small {
        assert!(store.append(TOPIC, b.clone()));
    }
    store.flush().unwrap();
    let mut want = vec![big.clone()];
    want.extend(small.iter().cloned());
    let want = arrow::compute::concat_batches(&big.schema(), &want).unwrap();

    let page = store.read(TOPIC, &query(Order::Asc, 20_000)).unwrap();
    assert_eq!(page.batch.unwrap(), want, "the appended schema and rows");
    // Time ranges select on the run-encoded times.
    let q = joey_logstore::ReadQuery { start_ms: Some(6_010), end_ms: Some(6_020), ..query(Order::Asc, 100) };
    assert_eq!(ids_of(&store.read(TOPIC, &q).unwrap().batch.unwrap()), (10_020..10_040).collect::<Vec<_>>());
    let q = joey_logstore::ReadQuery { start_ms: Some(5_000), end_ms: Some(5_001), ..query(Order::Desc, 3) };
    assert_eq!(ids_of(&store.read(TOPIC, &q).unwrap().batch.unwrap()), vec![9_999, 9_998, 9_997]);
    store.shutdown();
    drop(store);

    // On disk: one segment (the small requests kept the layout), the columns marked run-end
    // encoded, and far fewer bytes than the plain columns.
    let segs: Vec<_> = segment_files(&dir.path().join(TOPIC), "arrow").into_iter().filter(|p| std::fs::metadata(p).unwrap().len() > 0).collect();
    assert_eq!(segs.len(), 1);
    let reader = arrow::ipc::reader::StreamReader::try_new(std::fs::File::open(&segs[0]).unwrap(), None).unwrap();
    for name in ["time", "anomaly.count", "metadata.elapsed"] {
        let f = reader.schema().field_with_name(name).unwrap().clone();
        assert!(matches!(f.data_type(), DataType::RunEndEncoded(..)), "{name}: {}", f.data_type());
        assert_eq!(f.metadata().get("joey.log.encoding").map(String::as_str), Some("runs"));
    }
    assert!(matches!(reader.schema().field_with_name("id").unwrap().data_type(), DataType::Int64), "varying: plain");
    let on_disk = std::fs::metadata(&segs[0]).unwrap().len();
    assert!(on_disk < 10_300 * 16, "{on_disk} bytes: about the ids alone");

    // Reopened, the same rows and times.
    let store = open(dir.path());
    assert_eq!(store.read(TOPIC, &query(Order::Asc, 20_000)).unwrap().batch.unwrap(), want);

    // A segment that starts with small requests keeps the columns plain.
    let dir = tempfile::tempdir().unwrap();
    let store = LogStore::open(cfg(dir.path())).unwrap();
    assert!(store.append(TOPIC, request(0, 1, 7)));
    store.flush().unwrap();
    assert!(store.append(TOPIC, big.clone()));
    store.shutdown();
    let seg = segment_files(&dir.path().join(TOPIC), "arrow").into_iter().find(|p| std::fs::metadata(p).unwrap().len() > 0).unwrap();
    let reader = arrow::ipc::reader::StreamReader::try_new(std::fs::File::open(&seg).unwrap(), None).unwrap();
    assert_eq!(reader.schema().field_with_name("time").unwrap().data_type(), &DataType::Int64);
    assert_eq!(reader.map(|b| b.unwrap().num_rows()).sum::<usize>(), 10_001);
}
