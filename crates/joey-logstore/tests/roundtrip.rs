//! Append, flush, and page through topics.

mod common;

use common::*;
use joey_logstore::{LogError, LogStore, Order, PageStatus, ReadQuery};

const FAILURES: &str = "workspace-1-pipeline-ccp-inference-failures";

fn filled(dir: &std::path::Path) -> LogStore {
    let mut c = cfg(dir);
    c.flush_rows = 60; // several batch messages, each concatenating several appends
    let store = LogStore::open(c).unwrap();
    for k in 0..10 {
        let part = if k < 4 { "engine-0" } else { "engine-1" };
        assert!(store.append(TOPIC, batch_a(k * 25..(k + 1) * 25, part)));
    }
    for k in 0..3 {
        assert!(store.append(FAILURES, batch_a(k * 5..(k + 1) * 5, "engine-0")));
    }
    store.flush().unwrap();
    store
}

#[test]
fn pages_cover_every_row_once_in_both_orders() {
    let dir = tempfile::tempdir().unwrap();
    let store = filled(dir.path());
    assert_eq!(store.stats().flushed_rows, 265);
    assert_eq!(
        store.topics(),
        vec![TOPIC.to_string(), FAILURES.to_string()]
    );

    let (asc, statuses) = read_all(&store, TOPIC, query(Order::Asc, 7));
    assert_eq!(asc, (0..250).collect::<Vec<_>>());
    assert!(statuses[..statuses.len() - 1]
        .iter()
        .all(|s| *s == PageStatus::RecordLimited));

    let (desc, _) = read_all(&store, TOPIC, query(Order::Desc, 9));
    assert_eq!(desc, (0..250).rev().collect::<Vec<_>>());

    let (fails, _) = read_all(&store, FAILURES, query(Order::Asc, 100));
    assert_eq!(fails, (0..15).collect::<Vec<_>>());

    // The SDK's `logs()`: newest 5 first.
    let page = store.read(TOPIC, &query(Order::Desc, 5)).unwrap();
    assert_eq!(
        ids_of(page.batch.as_ref().unwrap()),
        vec![249, 248, 247, 246, 245]
    );
    assert_eq!(page.status, PageStatus::RecordLimited);
    assert_eq!(page.next, Some(245));

    // Exactly one page worth of rows: All, no cursor.
    let page = store.read(TOPIC, &query(Order::Asc, 250)).unwrap();
    assert_eq!(
        (page.num_rows(), page.status, page.next),
        (250, PageStatus::All, None)
    );
}

#[test]
fn time_filter_selects_the_half_open_range() {
    let dir = tempfile::tempdir().unwrap();
    let store = filled(dir.path());
    for order in [Order::Asc, Order::Desc] {
        let q = ReadQuery {
            start_ms: Some(1050),
            end_ms: Some(1120),
            ..query(order, 13)
        };
        let (ids, _) = read_all(&store, TOPIC, q);
        let mut want: Vec<i64> = (50..120).collect();
        if order == Order::Desc {
            want.reverse();
        }
        assert_eq!(ids, want);
    }
    let q = ReadQuery {
        start_ms: Some(5000),
        ..query(Order::Asc, 10)
    };
    let page = store.read(TOPIC, &q).unwrap();
    assert!(page.batch.is_none());
    assert_eq!(page.status, PageStatus::All);
    let q = ReadQuery {
        end_ms: Some(1003),
        ..query(Order::Desc, 10)
    };
    assert_eq!(read_all(&store, TOPIC, q).0, vec![2, 1, 0]);
}

#[test]
fn byte_limit_stops_early_but_returns_a_row() {
    let dir = tempfile::tempdir().unwrap();
    let store = filled(dir.path());
    let q = ReadQuery {
        max_bytes: 1,
        ..query(Order::Asc, 100)
    };
    let page = store.read(TOPIC, &q).unwrap();
    assert_eq!(
        (page.num_rows(), page.status, page.next),
        (1, PageStatus::ByteLimited, Some(1))
    );
    let q = ReadQuery {
        max_bytes: 2000,
        ..query(Order::Desc, 100)
    };
    let page = store.read(TOPIC, &q).unwrap();
    assert_eq!(page.status, PageStatus::ByteLimited);
    assert!(
        page.num_rows() > 1 && page.num_rows() < 100,
        "{}",
        page.num_rows()
    );
    let (ids, statuses) = read_all(&store, TOPIC, q);
    assert_eq!(ids, (0..250).rev().collect::<Vec<_>>());
    assert!(statuses.contains(&PageStatus::ByteLimited));
}

#[test]
fn schema_change_rolls_the_segment_and_breaks_the_page() {
    let dir = tempfile::tempdir().unwrap();
    let store = LogStore::open(cfg(dir.path())).unwrap();
    assert!(store.append(TOPIC, batch_a(0..10, "engine-0")));
    assert!(store.append(TOPIC, batch_b(10..20)));
    assert!(store.append(TOPIC, batch_a(20..30, "engine-0")));
    store.flush().unwrap();
    let arrows = segment_files(&dir.path().join(TOPIC), "arrow");
    assert_eq!(arrows.len(), 3, "one segment per schema run: {arrows:?}");

    let mut q = query(Order::Asc, 100);
    let mut pages = Vec::new();
    loop {
        let page = store.read(TOPIC, &q).unwrap();
        let b = page.batch.unwrap();
        pages.push((ids_of(&b), b.num_columns(), page.status, page.next));
        match page.next {
            Some(n) => q.cursor = Some(n),
            None => break,
        }
    }
    assert_eq!(
        pages,
        vec![
            ((0..10).collect(), 6, PageStatus::SchemaChange, Some(10)),
            ((10..20).collect(), 3, PageStatus::SchemaChange, Some(20)),
            ((20..30).collect(), 6, PageStatus::All, None),
        ]
    );
    let (desc, statuses) = read_all(&store, TOPIC, query(Order::Desc, 100));
    assert_eq!(desc, (0..30).rev().collect::<Vec<_>>());
    assert_eq!(
        statuses,
        vec![
            PageStatus::SchemaChange,
            PageStatus::SchemaChange,
            PageStatus::All
        ]
    );
    // A page cut by page_size right before the boundary reports the schema change.
    let page = store.read(TOPIC, &query(Order::Asc, 10)).unwrap();
    assert_eq!(
        (page.status, page.next),
        (PageStatus::SchemaChange, Some(10))
    );
}

#[test]
fn field_metadata_and_partitions_survive() {
    let dir = tempfile::tempdir().unwrap();
    let store = filled(dir.path());
    let page = store.read(TOPIC, &query(Order::Asc, 3)).unwrap();
    let schema = page.batch.unwrap().schema();
    let field = schema.field_with_name("in.tensor").unwrap();
    assert_eq!(field.metadata().get("unit").map(String::as_str), Some("m"));
    let parts = store.partitions(TOPIC).unwrap();
    assert_eq!(
        parts.into_iter().collect::<Vec<_>>(),
        vec![
            ("engine-0".to_string(), (0, 100)),
            ("engine-1".to_string(), (0, 150))
        ]
    );
    assert!(store.partitions("no-such-topic").unwrap().is_empty());
}

#[test]
fn unknown_topic_bad_names_and_bad_queries() {
    let dir = tempfile::tempdir().unwrap();
    let store = filled(dir.path());
    let page = store
        .read("pipeline-nobody-inference", &query(Order::Desc, 10))
        .unwrap();
    assert!(page.batch.is_none());
    assert_eq!((page.status, page.next), (PageStatus::All, None));
    let long = "x".repeat(201);
    for bad in ["", "a/b", "a\\b", "..", "x..y", ".", long.as_str()] {
        assert!(
            matches!(
                store.read(bad, &query(Order::Asc, 1)),
                Err(LogError::InvalidTopic(_))
            ),
            "{bad:?}"
        );
        assert!(matches!(
            store.partitions(bad),
            Err(LogError::InvalidTopic(_))
        ));
        assert!(!store.append(bad, batch_a(0..1, "e")), "{bad:?}");
    }
    assert!(!dir.path().join("a").exists());
    assert!(matches!(
        store.read(TOPIC, &query(Order::Asc, 0)),
        Err(LogError::BadQuery(_))
    ));
    let q = ReadQuery {
        start_ms: Some(10),
        end_ms: Some(5),
        ..ReadQuery::default()
    };
    assert!(matches!(store.read(TOPIC, &q), Err(LogError::BadQuery(_))));
}

#[test]
fn sealed_segments_are_plain_arrow_ipc_streams() {
    let dir = tempfile::tempdir().unwrap();
    let store = filled(dir.path());
    store.shutdown();
    let arrows = segment_files(&dir.path().join(TOPIC), "arrow");
    let rows: usize = arrows.iter().map(|p| stream_rows(p)).sum();
    assert_eq!(rows, 250);
    for p in &arrows {
        let bytes = std::fs::read(p).unwrap();
        assert_eq!(
            &bytes[bytes.len() - 8..],
            &[0xFF, 0xFF, 0xFF, 0xFF, 0, 0, 0, 0],
            "EOS marker"
        );
    }
    // Reads keep working after shutdown; appends are shed.
    assert_eq!(
        read_all(&store, TOPIC, query(Order::Asc, 1000)).0.len(),
        250
    );
    assert!(!store.append(TOPIC, batch_a(0..1, "e")));
}

/// The columns an inference log really has, including lists and a dictionary-encoded one.
fn inference_batch(first: i64, n: usize) -> arrow::record_batch::RecordBatch {
    use arrow::array::{
        ArrayRef, BooleanArray, DictionaryArray, Float64Builder, Int64Array, ListBuilder,
        StringArray, StringBuilder, UInt32Array, UInt64Builder,
    };
    use arrow::datatypes::Int32Type;
    use std::sync::Arc;
    let mut tensor = ListBuilder::new(Float64Builder::new());
    let mut elapsed = ListBuilder::new(UInt64Builder::new());
    let mut dropped = ListBuilder::new(StringBuilder::new());
    for i in 0..n as i64 {
        tensor.append_value([Some((first + i) as f64), Some(2.5)]);
        elapsed.append_value([Some(100), Some(200 + (first + i) as u64)]);
        dropped.append_value(Vec::<Option<&str>>::new());
    }
    let part: DictionaryArray<Int32Type> = (0..n as i64)
        .map(|i| {
            if (first + i) % 2 == 0 {
                "engine-a"
            } else {
                "engine-b"
            }
        })
        .collect();
    let cols: Vec<(&str, ArrayRef)> = vec![
        (
            "time",
            Arc::new(Int64Array::from_iter_values(
                (first..first + n as i64).map(|i| 1000 + i),
            )),
        ),
        ("in.tensor", Arc::new(tensor.finish())),
        ("anomaly.count", Arc::new(UInt32Array::from(vec![1u32; n]))),
        (
            "anomaly.too_high",
            Arc::new(BooleanArray::from(vec![true; n])),
        ),
        (
            "metadata.last_model",
            Arc::new(StringArray::from(vec![r#"{"model_name":"ccfraud"}"#; n])),
        ),
        ("metadata.elapsed", Arc::new(elapsed.finish())),
        ("metadata.dropped", Arc::new(dropped.finish())),
        ("metadata.partition", Arc::new(part)),
        (
            "id",
            Arc::new(Int64Array::from_iter_values(first..first + n as i64)),
        ),
    ];
    arrow::record_batch::RecordBatch::try_from_iter(cols).unwrap()
}

#[test]
fn lists_and_dictionary_columns_read_back_at_random() {
    let dir = tempfile::tempdir().unwrap();
    let store = LogStore::open(cfg(dir.path())).unwrap();
    for k in 0..4 {
        assert!(store.append(TOPIC, inference_batch(k * 10, 10)));
        store.flush().unwrap(); // one batch message per append
    }
    // The newest batch alone decodes (its dictionary travels with it).
    let page = store.read(TOPIC, &query(Order::Desc, 3)).unwrap();
    let b = page.batch.unwrap();
    assert_eq!(ids_of(&b), vec![39, 38, 37]);
    assert_eq!(b, {
        let want = inference_batch(37, 3);
        let idx = arrow::array::UInt32Array::from(vec![2, 1, 0]);
        arrow::compute::take_record_batch(&want, &idx).unwrap()
    });
    assert_eq!(
        read_all(&store, TOPIC, query(Order::Asc, 7)).0,
        (0..40).collect::<Vec<_>>()
    );
    let parts = store.partitions(TOPIC).unwrap();
    assert_eq!(parts["engine-a"], (0, 20));
    assert_eq!(parts["engine-b"], (0, 20));
    store.shutdown();
    let segs = segment_files(&dir.path().join(TOPIC), "arrow");
    assert_eq!(segs.iter().map(|p| stream_rows(p)).sum::<usize>(), 40);
}

#[test]
fn big_and_small_appends_mixed_read_back_in_order_across_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let mut c = cfg(dir.path());
    c.flush_rows = 40; // appends of >= 20 rows are written as they are, smaller ones packed
    let store = LogStore::open(c.clone()).unwrap();
    let sizes = [3usize, 95, 7, 7, 20, 1, 41, 19, 2, 60];
    let mut next = 0i64;
    for n in sizes {
        assert!(store.append(TOPIC, batch_a(next..next + n as i64, "engine-0")));
        next += n as i64;
    }
    store.flush().unwrap();
    assert_eq!(store.stats().flushed_rows as i64, next);
    let (asc, _) = read_all(&store, TOPIC, query(Order::Asc, 13));
    assert_eq!(asc, (0..next).collect::<Vec<_>>());
    store.shutdown();
    drop(store);
    let store = LogStore::open(c).unwrap();
    let (desc, _) = read_all(&store, TOPIC, query(Order::Desc, 17));
    assert_eq!(desc, (0..next).rev().collect::<Vec<_>>());
}

/// One-row appends from several threads at once (the single-row endpoint's pattern, which the
/// store copies into stages at append): every row is read back exactly once, each thread's rows
/// in the order that thread appended them, and the rows equal what was appended.
#[test]
fn concurrent_one_row_appends_keep_every_row_once_and_each_threads_order() {
    let dir = tempfile::tempdir().unwrap();
    let mut c = cfg(dir.path());
    c.flush_rows = 500;
    let store = std::sync::Arc::new(LogStore::open(c).unwrap());
    let (threads, per_thread) = (4i64, 2_500i64);
    let handles: Vec<_> = (0..threads)
        .map(|t| {
            let store = store.clone();
            std::thread::spawn(move || {
                for k in 0..per_thread {
                    let id = t * 1_000_000 + k;
                    assert!(store.append(TOPIC, batch_a(id..id + 1, &format!("engine-{t}"))));
                }
            })
        })
        .collect();
    handles.into_iter().for_each(|h| h.join().unwrap());
    store.flush().unwrap();
    assert_eq!(store.stats().flushed_rows, (threads * per_thread) as u64);
    let (ids, _) = read_all(&store, TOPIC, query(Order::Asc, 1_000));
    assert_eq!(ids.len() as i64, threads * per_thread);
    for t in 0..threads {
        let mine: Vec<i64> = ids.iter().copied().filter(|id| id / 1_000_000 == t).collect();
        assert_eq!(mine, (0..per_thread).map(|k| t * 1_000_000 + k).collect::<Vec<_>>(), "thread {t}");
    }
    let page = store.read(TOPIC, &query(Order::Desc, 3)).unwrap();
    let newest = page.batch.unwrap();
    let last = ids_of(&newest)[0];
    let expected = batch_a(last..last + 1, &format!("engine-{}", last / 1_000_000));
    assert_eq!(newest.slice(0, 1).columns(), expected.columns());
}
