//! Appends never block; a full queue or disk budget sheds rows and counts them.

mod common;

use std::time::{Duration, Instant};

use common::*;
use joey_logstore::{LogStore, Order};

#[test]
fn full_queue_sheds_without_blocking() {
    let dir = tempfile::tempdir().unwrap();
    let mut c = cfg(dir.path());
    c.queue_capacity = 10;
    c.flush_rows = 1000;
    c.flush_interval = Duration::from_secs(3600); // the writer holds what it got: a "slow" writer
    let store = LogStore::open(c).unwrap();
    let batches: Vec<_> = (0..10_000).map(|i| batch_a(i..i + 1, "engine-0")).collect();
    let t = Instant::now();
    let mut slowest = Duration::ZERO;
    let mut accepted = 0;
    for b in batches {
        let t1 = Instant::now();
        accepted += store.append(TOPIC, b) as u64;
        slowest = slowest.max(t1.elapsed());
    }
    let elapsed = t.elapsed();
    assert!(
        elapsed < Duration::from_secs(2),
        "append loop took {elapsed:?}"
    );
    assert!(
        slowest < Duration::from_millis(100),
        "one append took {slowest:?}"
    );
    assert_eq!(accepted, 10);
    let s = store.stats();
    assert_eq!(
        (s.appended_rows, s.dropped_rows, s.flushed_rows),
        (10, 9_990, 0)
    );
    store.flush().unwrap();
    assert_eq!(store.stats().flushed_rows, 10);
    assert_eq!(
        read_all(&store, TOPIC, query(Order::Asc, 100)).0,
        (0..10).collect::<Vec<_>>()
    );
    // Room again once written; a batch larger than the queue is taken by an empty queue.
    assert!(store.append(TOPIC, batch_a(10..60, "engine-0")));
    assert!(!store.append(TOPIC, batch_a(60..61, "engine-0")));
}

#[test]
fn disk_budget_sheds_rows() {
    let dir = tempfile::tempdir().unwrap();
    let mut c = cfg(dir.path());
    c.disk_budget_bytes = Some(8 * 1024);
    let store = LogStore::open(c).unwrap();
    let mut accepted = 0;
    for k in 0..50 {
        accepted += store.append(TOPIC, batch_b(k * 40..(k + 1) * 40)) as u64 * 40;
        store.flush().unwrap();
    }
    let s = store.stats();
    assert!(s.flushed_rows > 0 && s.dropped_rows > 0, "{s:?}");
    assert_eq!(s.flushed_rows + s.dropped_rows, 2000);
    assert!(s.dropped_rows >= 2000 - accepted);
    assert!(s.bytes_on_disk <= 8 * 1024, "{s:?}");
    let on_disk: u64 = std::fs::read_dir(dir.path().join(TOPIC))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "arrow" || e == "idx"))
        .map(|p| std::fs::metadata(p).unwrap().len())
        .sum();
    assert_eq!(on_disk, s.bytes_on_disk);
    let (ids, _) = read_all(&store, TOPIC, query(Order::Asc, 1000));
    assert_eq!(ids.len() as u64, s.flushed_rows);
}

#[test]
fn appends_from_many_threads_are_all_counted() {
    let dir = tempfile::tempdir().unwrap();
    let store = LogStore::open(cfg(dir.path())).unwrap();
    std::thread::scope(|s| {
        for t in 0..4i64 {
            let store = store.clone();
            s.spawn(move || {
                for k in 0..50 {
                    let first = t * 10_000 + k * 10;
                    assert!(store.append(TOPIC, batch_a(first..first + 10, &format!("engine-{t}"))));
                }
            });
        }
    });
    store.flush().unwrap();
    let mut ids = read_all(&store, TOPIC, query(Order::Asc, 333)).0;
    assert_eq!(ids.len(), 2000);
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 2000);
    assert_eq!(store.partitions(TOPIC).unwrap().len(), 4);
    let _ = LogStore::clone(&store);
}

#[test]
fn the_queue_is_also_bounded_in_bytes_for_wide_rows() {
    let dir = tempfile::tempdir().unwrap();
    let mut c = cfg(dir.path());
    c.queue_capacity = 1_000_000;
    c.flush_rows = 1_000_000;
    c.flush_interval = Duration::from_secs(3600); // nothing is written while we append
    let one = batch_a(0..1, "engine-0").get_array_memory_size() as u64;
    c.queue_max_bytes = one * 5 + one / 2; // room for 5 single-row batches, not 6
    let store = LogStore::open(c).unwrap();
    let accepted: u64 = (0..100).map(|i| store.append(TOPIC, batch_a(i..i + 1, "engine-0")) as u64).sum();
    assert_eq!(accepted, 5, "rows are shed once the queued bytes reach the budget");
    assert_eq!(store.stats().dropped_rows, 95);
    store.flush().unwrap();
    assert!(store.append(TOPIC, batch_a(100..101, "engine-0")), "writing releases the budget");
}
