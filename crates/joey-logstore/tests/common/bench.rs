//! Measurements shared by `tests/perf.rs` and `examples/logstore_bench.rs` (each figure is a
//! JSON object).

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use arrow::array::{ArrayRef, Int64Array, StringArray};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use arrow::record_batch::RecordBatch;
use joey_logstore::{LogConfig, LogStore, Order, ReadQuery};
use serde_json::{json, Value};

pub const T0: i64 = 1_738_862_700_000;
const BENCH_TOPIC: &str = "workspace-1-pipeline-bench-inference";

fn schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("time", DataType::Int64, false),
        Field::new("out.payload", DataType::Utf8, false),
    ]))
}

/// `n` payloads of 100 bytes (a ~112-byte record with its time and string offset).
pub fn payloads(n: usize) -> ArrayRef {
    Arc::new(StringArray::from_iter_values(
        (0..n).map(|i| format!("{i:0>100}")),
    ))
}

pub fn batch(first: i64, payloads: &ArrayRef) -> RecordBatch {
    let n = payloads.len() as i64;
    let time = Int64Array::from_iter_values((first..first + n).map(|i| T0 + i));
    RecordBatch::try_new(schema(), vec![Arc::new(time), payloads.clone()]).unwrap()
}

fn config(dir: &Path) -> LogConfig {
    let mut c = LogConfig::new(dir);
    c.queue_capacity = 50_000_000;
    c.queue_max_bytes = u64::MAX;
    // `JOEY_LOG_DIRECT_IO=false`, as for the server: segment files through the page cache.
    c.direct_io = std::env::var("JOEY_LOG_DIRECT_IO").map_or(true, |v| v != "false");
    c
}

/// Records/s from the first `append` to the end of the `flush()` that makes them durable.
pub fn append_rate(dir: &Path, batch_rows: usize, total: usize) -> Value {
    let store = LogStore::open(config(dir)).unwrap();
    let big = batch(0, &payloads(total));
    let batches: Vec<RecordBatch> = (0..total / batch_rows)
        .map(|i| big.slice(i * batch_rows, batch_rows))
        .collect();
    let t = Instant::now();
    for b in batches {
        store.append(BENCH_TOPIC, b);
    }
    let appended = t.elapsed();
    store.flush().unwrap();
    let secs = t.elapsed().as_secs_f64();
    let s = store.stats();
    store.shutdown();
    json!({
        "bench": "append_rate", "fsync": true, "batch_rows": batch_rows, "records": total,
        "append_loop_s": appended.as_secs_f64(), "durable_s": secs,
        "records_per_s": (s.flushed_rows as f64 / secs).round(),
        "mb_per_s": (s.bytes_on_disk as f64 / secs / 1e6 * 10.0).round() / 10.0,
        "bytes_per_record": s.bytes_on_disk as f64 / s.flushed_rows.max(1) as f64,
        "dropped_rows": s.dropped_rows,
    })
}

/// Builds a topic of `rows` records with large appends.
pub fn build_big(dir: &Path, rows: usize) -> (LogStore, Value) {
    let store = LogStore::open(config(dir)).unwrap();
    let chunk = 100_000usize.min(rows);
    let p = payloads(chunk);
    let t = Instant::now();
    let mut first = 0usize;
    while first < rows {
        let b = batch(first as i64, &p);
        let b = b.slice(0, chunk.min(rows - first));
        first += b.num_rows();
        assert!(store.append(BENCH_TOPIC, b));
        if (first / chunk).is_multiple_of(20) {
            store.flush().unwrap();
        }
    }
    store.flush().unwrap();
    let secs = t.elapsed().as_secs_f64();
    let s = store.stats();
    let v = json!({
        "bench": "build_topic", "records": s.flushed_rows, "append_rows": chunk, "seconds": secs,
        "records_per_s": (s.flushed_rows as f64 / secs).round(), "bytes_on_disk": s.bytes_on_disk,
    });
    (store, v)
}

fn timed(reps: usize, mut f: impl FnMut() -> usize) -> (Vec<Duration>, usize) {
    let mut times = Vec::new();
    let mut rows = 0;
    for _ in 0..reps {
        let t = Instant::now();
        rows = f();
        times.push(t.elapsed());
    }
    (times, rows)
}

fn ms_summary(name: &str, rows_in_topic: u64, times: &[Duration], rows: usize) -> Value {
    let first = times[0].as_secs_f64() * 1e3;
    let mut sorted: Vec<f64> = times.iter().map(|d| d.as_secs_f64() * 1e3).collect();
    sorted.sort_by(f64::total_cmp);
    json!({
        "bench": name, "rows_in_topic": rows_in_topic, "rows_returned": rows,
        "first_ms": first, "median_ms": sorted[sorted.len() / 2], "max_ms": sorted[sorted.len() - 1],
    })
}

/// The newest 100 records (what `logs()` asks for), newest first.
pub fn read_newest(store: &LogStore, rows_in_topic: u64) -> Value {
    let q = ReadQuery {
        order: Order::Desc,
        page_size: 100,
        ..ReadQuery::default()
    };
    let (times, rows) = timed(21, || store.read(BENCH_TOPIC, &q).unwrap().num_rows());
    ms_summary("read_newest_100", rows_in_topic, &times, rows)
}

/// A 1000-row page of a time range starting in the middle of the topic.
pub fn read_time_range(store: &LogStore, rows_in_topic: u64) -> Value {
    let mid = T0 + rows_in_topic as i64 / 2;
    let q = ReadQuery {
        start_ms: Some(mid),
        end_ms: Some(mid + 100_000),
        page_size: 1000,
        ..ReadQuery::default()
    };
    let (times, rows) = timed(21, || store.read(BENCH_TOPIC, &q).unwrap().num_rows());
    ms_summary("read_time_range_1000", rows_in_topic, &times, rows)
}

/// Every figure, in order. `big_rows` sizes the read benchmarks' topic (10 million).
pub fn run_all(base: &Path, big_rows: usize, mut emit: impl FnMut(Value)) {
    for (rows, total) in [
        (1usize, 200_000usize),
        (100, 1_000_000),
        (10_000, 2_000_000),
    ] {
        let dir = base.join(format!("append-{rows}"));
        emit(append_rate(&dir, rows, total));
        let _ = std::fs::remove_dir_all(&dir);
    }
    let dir = base.join("big");
    let (store, v) = build_big(&dir, big_rows);
    emit(v);
    emit(read_newest(&store, big_rows as u64));
    emit(read_time_range(&store, big_rows as u64));
    store.shutdown();
    drop(store);
    let t = Instant::now();
    let store = LogStore::open(config(&dir)).unwrap();
    emit(
        json!({"bench": "reopen", "rows_in_topic": big_rows, "ms": t.elapsed().as_secs_f64() * 1e3}),
    );
    let mut after = read_newest(&store, big_rows as u64);
    after["after_reopen"] = json!(true);
    emit(after);
    store.shutdown();
}
