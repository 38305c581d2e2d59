//! Partition-local offsets: each `metadata.partition` numbers its own rows, the way the SDK's
//! `get_raw_logs` assumes when it seeds `{partition: end - share}` iterators.

mod common;

use std::collections::BTreeMap;
use std::time::Duration;

use common::*;
use joey_logstore::{LogStore, Offsets, Order, PageStatus, ReadQuery};

/// Ids 0..n, alternating between engine-a (even ids) and engine-b (odd ids), appended in small
/// batches so that one flushed message mixes both.
fn interleaved(store: &LogStore, ids: std::ops::Range<i64>) {
    for id in ids {
        let p = if id % 2 == 0 { "engine-a" } else { "engine-b" };
        assert!(store.append(TOPIC, batch_a(id..id + 1, p)));
    }
}

/// Pages with the per-partition iterator: starting from `start`, each next page's iterator
/// is the previous page's `next_partitions`. Returns the ids in page order.
fn read_by_partitions(store: &LogStore, mut q: ReadQuery) -> Vec<i64> {
    let mut ids = Vec::new();
    for _ in 0..10_000 {
        let page = store.read(TOPIC, &q).unwrap();
        if let Some(b) = &page.batch {
            ids.extend(ids_of(b));
        }
        match page.next_partitions {
            None => {
                assert_eq!((page.status, page.next), (PageStatus::All, None));
                return ids;
            }
            Some(next) => {
                assert_ne!(page.status, PageStatus::All);
                q.partitions = Some(next);
            }
        }
    }
    panic!("paging did not terminate");
}

fn seeded(store: &LogStore, share: u64) -> Offsets {
    store
        .partitions(TOPIC)
        .unwrap()
        .into_iter()
        .map(|(k, (_, end))| (k, end.saturating_sub(share)))
        .collect()
}

#[test]
fn interleaved_partitions_count_their_own_rows() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    interleaved(&store, 0..100);
    store.flush().unwrap();
    let parts = store.partitions(TOPIC).unwrap();
    assert_eq!(parts, BTreeMap::from([("engine-a".into(), (0, 50)), ("engine-b".into(), (0, 50))]));

    // The SDK's get_raw_logs with limit 10: 5 per partition from `end - 5`, one page.
    let q = ReadQuery { partitions: Some(seeded(&store, 5)), ..query(Order::Asc, 10) };
    let page = store.read(TOPIC, &q).unwrap();
    assert_eq!(ids_of(page.batch.as_ref().unwrap()), (90..100).collect::<Vec<_>>());
    assert_eq!((page.status, page.next_partitions), (PageStatus::All, None));

    // Uneven seeds: 3 rows of a, 7 of b, in append order.
    let seed = Offsets::from([("engine-a".into(), 47), ("engine-b".into(), 43)]);
    let q = ReadQuery { partitions: Some(seed), ..query(Order::Asc, 100) };
    let want: Vec<i64> = (86..100).filter(|i| i % 2 == 1 || *i >= 94).collect();
    assert_eq!(read_by_partitions(&store, q), want);

    // A partition the iterator does not name is read whole; an offset past the end reads nothing.
    let seed = Offsets::from([("engine-a".into(), 1000)]);
    let q = ReadQuery { partitions: Some(seed), ..query(Order::Asc, 7) };
    assert_eq!(read_by_partitions(&store, q), (0..100).filter(|i| i % 2 == 1).collect::<Vec<_>>());
}

#[test]
fn paging_by_partition_iterators_returns_every_row_once_in_both_orders() {
    let dir = tempfile::tempdir().unwrap();
    let mut c = cfg(dir.path());
    c.flush_rows = 16; // many messages, each mixing partitions
    let store = LogStore::open(c.clone()).unwrap();
    interleaved(&store, 0..60);
    // A partition alone in its batches, rows without a partition, and another schema.
    assert!(store.append(TOPIC, batch_a(60..90, "engine-c")));
    let no_partition = batch_a(90..95, "x").project(&[0, 1, 2, 3, 5]).unwrap();
    assert!(no_partition.column_by_name("metadata.partition").is_none());
    assert!(store.append(TOPIC, no_partition));
    store.flush().unwrap();
    assert!(store.append(TOPIC, batch_b(95..100)));
    store.flush().unwrap();
    let parts = store.partitions(TOPIC).unwrap();
    assert_eq!(parts[""], (0, 10), "rows without a partition value: partition \"\"");
    assert_eq!(parts["engine-c"], (0, 30));

    for page_size in [1, 7, 16, 1000] {
        let asc = read_by_partitions(&store, query(Order::Asc, page_size));
        assert_eq!(asc, (0..100).collect::<Vec<_>>(), "asc, pages of {page_size}");
        let desc = read_by_partitions(&store, query(Order::Desc, page_size));
        assert_eq!(desc, (0..100).rev().collect::<Vec<_>>(), "desc, pages of {page_size}");
    }
    // Newest first from the seeded offsets: rows before them only.
    let q = ReadQuery { partitions: Some(seeded(&store, 25)), ..query(Order::Desc, 4) };
    let want: Vec<i64> = (0..100).rev().filter(|i| *i < 10 || (60..65).contains(i)).collect();
    assert_eq!(read_by_partitions(&store, q), want);
}

/// Puts the newest data segment of `dir` back in the state a crash leaves it in: no
/// end-of-stream marker, and only the summary written when it was created (its carry).
fn crash_state(dir: &std::path::Path) {
    let seg = segment_files(dir, "arrow")
        .into_iter()
        .rfind(|p| std::fs::metadata(p).unwrap().len() > 0)
        .unwrap();
    let bytes = std::fs::read(&seg).unwrap();
    std::fs::write(&seg, &bytes[..bytes.len() - 8]).unwrap();
    let meta = seg.with_extension("meta");
    let sealed: serde_json::Value = serde_json::from_slice(&std::fs::read(&meta).unwrap()).unwrap();
    let created = serde_json::json!({"rows": 0, "end": 0, "carry": sealed["carry"]});
    std::fs::write(&meta, created.to_string()).unwrap();
}

#[test]
fn offsets_survive_restarts_crashes_and_retention() {
    let dir = tempfile::tempdir().unwrap();
    let mut c = cfg(dir.path());
    c.retention_bytes_per_topic = None;
    let store = LogStore::open(c.clone()).unwrap();
    interleaved(&store, 0..40);
    store.shutdown();
    drop(store);

    // Sealed with a summary: reopened without a scan, the offsets are the same.
    let store = LogStore::open(c.clone()).unwrap();
    assert_eq!(store.partitions(TOPIC).unwrap()["engine-a"], (0, 20));
    interleaved(&store, 40..60);
    store.shutdown();
    drop(store);
    // A lost summary of the sealed segment is rebuilt by scanning.
    for meta in segment_files(&dir.path().join(TOPIC), "meta") {
        if std::fs::read_to_string(&meta).unwrap().contains("\"rows\":40") {
            std::fs::remove_file(meta).unwrap();
        }
    }
    let store = LogStore::open(c.clone()).unwrap();
    assert_eq!(store.partitions(TOPIC).unwrap()["engine-b"], (0, 30));
    let q = ReadQuery { partitions: Some(seeded(&store, 2)), ..query(Order::Asc, 10) };
    assert_eq!(read_by_partitions(&store, q), vec![56, 57, 58, 59]);
    store.shutdown();
    drop(store);

    // Retention removes every sealed segment: starts move up, ends and numbering go on.
    c.retention_age = Some(Duration::from_secs(1));
    let store = LogStore::open(c.clone()).unwrap();
    let report = store.enforce_retention(i64::MAX / 2).unwrap();
    assert_eq!(report.deleted_rows(), 60);
    assert!(store.partitions(TOPIC).unwrap().is_empty());
    interleaved(&store, 60..64);
    store.flush().unwrap();
    assert_eq!(store.partitions(TOPIC).unwrap()["engine-a"], (30, 32));
    store.shutdown();
    drop(store);
    crash_state(&dir.path().join(TOPIC));
    let store = LogStore::open(c).unwrap();
    assert_eq!(store.partitions(TOPIC).unwrap()["engine-b"], (30, 32));
    let q = ReadQuery { partitions: Some(seeded(&store, 1)), ..query(Order::Asc, 10) };
    assert_eq!(read_by_partitions(&store, q), vec![62, 63]);
}
