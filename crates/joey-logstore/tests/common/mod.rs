//! Helpers shared by the integration tests.
#![allow(dead_code)]

pub mod bench;

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use arrow::array::{Array, AsArray, Float64Array, Int64Array, StringArray, UInt32Array};
use arrow::datatypes::{DataType, Field, Int64Type, Schema, SchemaRef};
use arrow::record_batch::RecordBatch;
use joey_logstore::{LogConfig, LogStore, Order, PageStatus, ReadQuery};

pub const TOPIC: &str = "workspace-1-pipeline-ccp-inference";

/// Tests run with fsync off unless they need it (crash tests do not: SIGKILL keeps the page cache).
pub fn cfg(dir: &Path) -> LogConfig {
    let mut c = LogConfig::new(dir);
    c.fsync = false;
    c
}

pub fn schema_a() -> SchemaRef {
    let tensor_meta = HashMap::from([("unit".to_string(), "m".to_string())]);
    Arc::new(Schema::new(vec![
        Field::new("time", DataType::Int64, false),
        Field::new("in.tensor", DataType::Float64, true).with_metadata(tensor_meta),
        Field::new("out.variable", DataType::Float64, true),
        Field::new("anomaly.count", DataType::UInt32, false),
        Field::new("metadata.partition", DataType::Utf8, true),
        Field::new("id", DataType::Int64, false),
    ]))
}

/// Rows `ids` of schema A; `time = 1000 + id`.
pub fn batch_a(ids: std::ops::Range<i64>, partition: &str) -> RecordBatch {
    batch_a_at(ids.clone(), ids.map(|i| 1000 + i).collect(), partition)
}

pub fn batch_a_at(ids: std::ops::Range<i64>, times: Vec<i64>, partition: &str) -> RecordBatch {
    let n = ids.clone().count();
    RecordBatch::try_new(
        schema_a(),
        vec![
            Arc::new(Int64Array::from(times)),
            Arc::new(Float64Array::from_iter_values(
                ids.clone().map(|i| i as f64 * 0.5),
            )),
            Arc::new(Float64Array::from_iter_values(
                ids.clone().map(|i| i as f64 * 2.0),
            )),
            Arc::new(UInt32Array::from(vec![0u32; n])),
            Arc::new(StringArray::from(vec![partition; n])),
            Arc::new(Int64Array::from_iter_values(ids)),
        ],
    )
    .unwrap()
}

/// Another schema (a text input), `time = 1000 + id`.
pub fn batch_b(ids: std::ops::Range<i64>) -> RecordBatch {
    let schema = Arc::new(Schema::new(vec![
        Field::new("time", DataType::Int64, false),
        Field::new("in.text", DataType::Utf8, true),
        Field::new("id", DataType::Int64, false),
    ]));
    RecordBatch::try_new(
        schema,
        vec![
            Arc::new(Int64Array::from_iter_values(ids.clone().map(|i| 1000 + i))),
            Arc::new(StringArray::from_iter_values(
                ids.clone().map(|i| format!("text {i}")),
            )),
            Arc::new(Int64Array::from_iter_values(ids)),
        ],
    )
    .unwrap()
}

pub fn ids_of(batch: &RecordBatch) -> Vec<i64> {
    batch
        .column_by_name("id")
        .unwrap()
        .as_primitive::<Int64Type>()
        .values()
        .to_vec()
}

/// Pages through a topic; returns the ids in page order and each page's status.
pub fn read_all(store: &LogStore, topic: &str, mut q: ReadQuery) -> (Vec<i64>, Vec<PageStatus>) {
    let mut ids = Vec::new();
    let mut statuses = Vec::new();
    for _ in 0..100_000 {
        let page = store.read(topic, &q).unwrap();
        if let Some(b) = &page.batch {
            assert!(b.num_rows() <= q.page_size, "page larger than page_size");
            ids.extend(ids_of(b));
        }
        statuses.push(page.status);
        match page.next {
            None => {
                assert_eq!(page.status, PageStatus::All);
                return (ids, statuses);
            }
            Some(n) => {
                assert_ne!(page.status, PageStatus::All);
                q.cursor = Some(n);
            }
        }
    }
    panic!("paging did not terminate");
}

pub fn query(order: Order, page_size: usize) -> ReadQuery {
    ReadQuery {
        order,
        page_size,
        ..ReadQuery::default()
    }
}

pub fn open(dir: &Path) -> LogStore {
    LogStore::open(cfg(dir)).unwrap()
}

/// Reads a segment file with the plain Arrow IPC stream reader (what pyarrow would do).
pub fn stream_rows(path: &Path) -> usize {
    let f = std::fs::File::open(path).unwrap();
    let reader = arrow::ipc::reader::StreamReader::try_new(f, None).unwrap();
    reader.map(|b| b.unwrap().num_rows()).sum()
}

pub fn segment_files(dir: &Path, ext: &str) -> Vec<std::path::PathBuf> {
    let mut v: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == ext))
        .collect();
    v.sort();
    v
}

pub fn column_len(batch: &RecordBatch, name: &str) -> usize {
    batch.column_by_name(name).map_or(0, |c| c.len())
}
