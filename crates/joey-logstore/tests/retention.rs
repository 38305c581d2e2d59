//! Retention deletes whole sealed segments, by age and by size; never the active one.

mod common;

use std::time::Duration;

use common::*;
use joey_logstore::{LogStore, Order};

const HOUR: i64 = 3_600_000;
const NOW: i64 = 1_738_862_700_000;

#[test]
fn age_deletes_old_sealed_segments_only() {
    let dir = tempfile::tempdir().unwrap();
    let mut c = cfg(dir.path());
    c.retention_age = Some(Duration::from_secs(3600));
    let store = LogStore::open(c.clone()).unwrap();
    assert!(store.append(
        TOPIC,
        batch_a_at(0..10, vec![NOW - 3 * HOUR; 10], "engine-0")
    ));
    store.flush().unwrap();
    assert!(
        store.enforce_retention(NOW).unwrap().deleted.is_empty(),
        "the active segment stays"
    );
    store.shutdown();
    drop(store);

    let store = LogStore::open(c).unwrap(); // seals segment 0 (old rows 0..10)
    assert!(store.append(
        TOPIC,
        batch_a_at(10..20, vec![NOW - HOUR / 6; 10], "engine-0")
    ));
    store.flush().unwrap(); // segment 1: recent rows
    assert!(store.append(TOPIC, batch_b(20..30))); // other schema, times in 1970: segment 2
    store.flush().unwrap();
    assert!(store.append(
        TOPIC,
        batch_a_at(30..40, vec![NOW - 5 * HOUR; 10], "engine-0")
    ));
    store.flush().unwrap(); // segment 3, active, holding old rows
    let before = store.stats().bytes_on_disk;

    let report = store.enforce_retention(NOW).unwrap();
    let deleted: Vec<_> = report
        .deleted
        .iter()
        .map(|d| (d.segment, d.rows, d.reason.as_str()))
        .collect();
    assert_eq!(deleted, vec![(0, 10, "age"), (2, 10, "age")]);
    assert_eq!(store.stats().bytes_on_disk, before - report.deleted_bytes());
    let tdir = dir.path().join(TOPIC);
    assert!(
        !tdir.join("seg-0000000000.arrow").exists() && !tdir.join("seg-0000000000.idx").exists()
    );
    let (ids, _) = read_all(&store, TOPIC, query(Order::Asc, 100));
    let want: Vec<i64> = (10..20).chain(30..40).collect();
    assert_eq!(
        ids, want,
        "the recent sealed segment and the active one remain"
    );
    assert!(store.enforce_retention(NOW).unwrap().deleted.is_empty());
    // Reopened, the deleted rows stay deleted and the remaining ones keep their offsets.
    store.shutdown();
    drop(store);
    let store = open(dir.path());
    assert_eq!(
        read_all(&store, TOPIC, query(Order::Desc, 3)).0,
        want.into_iter().rev().collect::<Vec<_>>()
    );
    let q = joey_logstore::ReadQuery {
        cursor: Some(30),
        ..query(Order::Asc, 1)
    };
    assert_eq!(
        ids_of(&store.read(TOPIC, &q).unwrap().batch.unwrap()),
        vec![30]
    );
}

#[test]
fn size_deletes_the_oldest_sealed_segments() {
    let dir = tempfile::tempdir().unwrap();
    let mut c = cfg(dir.path());
    c.segment_max_bytes = 4096;
    c.retention_bytes_per_topic = Some(12 * 1024);
    let store = LogStore::open(c.clone()).unwrap();
    for k in 0..40 {
        assert!(store.append(TOPIC, batch_a(k * 20..(k + 1) * 20, "engine-0")));
        store.flush().unwrap();
    }
    let tdir = dir.path().join(TOPIC);
    let segments_before = segment_files(&tdir, "arrow").len();
    assert!(segments_before > 6, "{segments_before}");
    let report = store.enforce_retention(NOW).unwrap();
    assert!(!report.deleted.is_empty());
    assert!(report.deleted.iter().all(|d| d.reason == "size"));
    let ids_deleted: Vec<u64> = report.deleted.iter().map(|d| d.segment).collect();
    let mut sorted = ids_deleted.clone();
    sorted.sort();
    assert_eq!(ids_deleted, sorted, "oldest first");
    assert_eq!(ids_deleted[0], 0);
    let remaining: u64 = segment_files(&tdir, "arrow")
        .iter()
        .chain(segment_files(&tdir, "idx").iter())
        .map(|p| std::fs::metadata(p).unwrap().len())
        .sum();
    assert!(remaining <= 12 * 1024, "{remaining}");
    assert_eq!(remaining, store.stats().bytes_on_disk);
    // What is left is the newest suffix of the rows, still contiguous.
    let (ids, _) = read_all(&store, TOPIC, query(Order::Asc, 1000));
    let first = ids[0];
    assert!(first > 0);
    assert!(ids.iter().copied().eq(first..800));
    store.shutdown();
    drop(store);

    // A limit no segment fits: everything sealed goes, the active segment stays.
    c.retention_bytes_per_topic = Some(1);
    let store = LogStore::open(c).unwrap();
    assert!(store.append(TOPIC, batch_a(800..810, "engine-0")));
    store.flush().unwrap();
    store.enforce_retention(NOW).unwrap();
    assert_eq!(
        read_all(&store, TOPIC, query(Order::Asc, 1000)).0,
        (800..810).collect::<Vec<_>>()
    );
    let page = store.read(TOPIC, &query(Order::Desc, 1)).unwrap();
    assert_eq!(ids_of(&page.batch.unwrap()), vec![809]);
    // Offsets are not reused after everything older was deleted.
    store.shutdown();
    drop(store);
    let store = open(dir.path());
    assert!(store.append(TOPIC, batch_a(810..811, "engine-0")));
    store.flush().unwrap();
    let q = joey_logstore::ReadQuery {
        cursor: Some(810),
        ..query(Order::Asc, 10)
    };
    assert_eq!(
        ids_of(&store.read(TOPIC, &q).unwrap().batch.unwrap()),
        vec![810]
    );
}
