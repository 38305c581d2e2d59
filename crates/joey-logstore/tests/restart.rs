//! Close and reopen: flushed rows survive, offsets continue, torn tails are truncated.

mod common;

use std::fs::OpenOptions;
use std::io::Write;

use common::*;
use joey_logstore::{LogStore, Order, PageStatus};

#[test]
fn reopen_keeps_rows_and_continues_offsets() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    assert!(store.append(TOPIC, batch_a(0..100, "engine-0")));
    store.flush().unwrap();
    store.shutdown();
    drop(store);

    let store = open(dir.path());
    assert_eq!(
        read_all(&store, TOPIC, query(Order::Asc, 33)).0,
        (0..100).collect::<Vec<_>>()
    );
    assert!(store.append(TOPIC, batch_a(100..150, "engine-1")));
    store.flush().unwrap();
    drop(store); // dropping the last handle shuts down cleanly too

    // A restart without appends changes nothing; nothing is duplicated.
    drop(open(dir.path()));
    let store = open(dir.path());
    assert_eq!(store.topics(), vec![TOPIC.to_string()]);
    assert_eq!(
        read_all(&store, TOPIC, query(Order::Asc, 33)).0,
        (0..150).collect::<Vec<_>>()
    );
    assert_eq!(
        read_all(&store, TOPIC, query(Order::Desc, 40)).0,
        (0..150).rev().collect::<Vec<_>>()
    );
    // Offsets continued: the row after the first 100 is offset 100, and it is id 100.
    let page = store.read(TOPIC, &query(Order::Asc, 100)).unwrap();
    assert_eq!(
        (page.status, page.next),
        (PageStatus::RecordLimited, Some(100))
    );
    let q = joey_logstore::ReadQuery {
        cursor: Some(100),
        ..query(Order::Asc, 100)
    };
    assert_eq!(
        ids_of(&store.read(TOPIC, &q).unwrap().batch.unwrap()),
        (100..150).collect::<Vec<_>>()
    );
    let parts = store.partitions(TOPIC).unwrap();
    // Each partition counts its own rows: (start, one past the last).
    assert_eq!(parts["engine-0"], (0, 100));
    assert_eq!(parts["engine-1"], (0, 50));
    // Two data segments (one per session), plus the fresh empty active one.
    let tdir = dir.path().join(TOPIC);
    let data: Vec<_> = segment_files(&tdir, "arrow")
        .into_iter()
        .filter(|p| std::fs::metadata(p).unwrap().len() > 0)
        .collect();
    assert_eq!(data.len(), 2);
    assert_eq!(data.iter().map(|p| stream_rows(p)).sum::<usize>(), 150);
}

fn append_bytes(path: &std::path::Path, bytes: &[u8]) {
    OpenOptions::new()
        .append(true)
        .open(path)
        .unwrap()
        .write_all(bytes)
        .unwrap();
}

#[test]
fn garbage_tail_and_half_index_record_are_truncated() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    assert!(store.append(TOPIC, batch_a(0..40, "engine-0")));
    store.flush().unwrap();
    store.shutdown();
    drop(store);
    let tdir = dir.path().join(TOPIC);
    let seg = segment_files(&tdir, "arrow")
        .into_iter()
        .find(|p| std::fs::metadata(p).unwrap().len() > 0)
        .unwrap();
    let idx = seg.with_extension("idx");
    let (seg_len, idx_len) = (
        std::fs::metadata(&seg).unwrap().len(),
        std::fs::metadata(&idx).unwrap().len(),
    );
    append_bytes(&seg, &[0xAB; 1000]);
    append_bytes(&idx, &[0x11; 20]);

    let store = open(dir.path());
    assert_eq!(std::fs::metadata(&seg).unwrap().len(), seg_len);
    assert_eq!(std::fs::metadata(&idx).unwrap().len(), idx_len);
    assert_eq!(stream_rows(&seg), 40);
    assert_eq!(
        read_all(&store, TOPIC, query(Order::Asc, 7)).0,
        (0..40).collect::<Vec<_>>()
    );
    assert!(store.append(TOPIC, batch_a(40..45, "engine-0")));
    store.flush().unwrap();
    assert_eq!(
        read_all(&store, TOPIC, query(Order::Asc, 7)).0,
        (0..45).collect::<Vec<_>>()
    );
}

#[test]
fn unsealed_segment_with_torn_message_and_bad_index_record() {
    // What a crash mid-flush leaves: no EOS, no summary, part of a batch message after the
    // last indexed one, and an index record that does not check out.
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    assert!(store.append(TOPIC, batch_a(0..30, "engine-0")));
    store.flush().unwrap();
    store.shutdown();
    drop(store);
    let tdir = dir.path().join(TOPIC);
    let seg = segment_files(&tdir, "arrow")
        .into_iter()
        .find(|p| std::fs::metadata(p).unwrap().len() > 0)
        .unwrap();
    let idx = seg.with_extension("idx");
    std::fs::remove_file(seg.with_extension("meta")).unwrap();
    let bytes = std::fs::read(&seg).unwrap();
    let data_end = bytes.len() - 8;
    let mut torn = bytes[..data_end].to_vec();
    torn.extend_from_slice(&bytes[data_end - 300..data_end]); // part of a message
    std::fs::write(&seg, &torn).unwrap();
    let idx_bytes = std::fs::read(&idx).unwrap();
    let mut rec = idx_bytes[idx_bytes.len() - 48..].to_vec();
    rec[0] ^= 0x40; // a full-size record whose checksum fails
    append_bytes(&idx, &rec);

    let store = open(dir.path());
    assert_eq!(
        std::fs::read(&seg).unwrap(),
        bytes,
        "truncated to the indexed data and sealed again"
    );
    assert_eq!(std::fs::read(&idx).unwrap(), idx_bytes);
    assert_eq!(
        read_all(&store, TOPIC, query(Order::Desc, 8)).0,
        (0..30).rev().collect::<Vec<_>>()
    );
    assert_eq!(
        store.partitions(TOPIC).unwrap()["engine-0"],
        (0, 30),
        "rebuilt by scanning"
    );
    assert!(seg.with_extension("meta").exists());
}

#[test]
fn a_second_store_on_the_same_directory_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    assert!(LogStore::open(cfg(dir.path())).is_err());
    store.shutdown();
    assert!(LogStore::open(cfg(dir.path())).is_ok());
}

#[test]
fn undecodable_segment_is_quarantined_not_deleted() {
    let dir = tempfile::tempdir().unwrap();
    for (ids, part) in [(0..10, "engine-0"), (10..20, "engine-1")] {
        let store = open(dir.path());
        assert!(store.append(TOPIC, batch_a(ids, part)));
        store.flush().unwrap();
        store.shutdown();
    }
    let tdir = dir.path().join(TOPIC);
    let first = tdir.join("seg-0000000000.arrow");
    let mut bytes = std::fs::read(&first).unwrap();
    bytes[8..64].fill(0); // the schema message no longer decodes
    std::fs::write(&first, &bytes).unwrap();

    let store = open(dir.path());
    assert_eq!(
        read_all(&store, TOPIC, query(Order::Asc, 100)).0,
        (10..20).collect::<Vec<_>>()
    );
    assert!(!first.exists());
    assert_eq!(
        std::fs::read(tdir.join("seg-0000000000.arrow.corrupt")).unwrap(),
        bytes
    );
    assert!(tdir.join("seg-0000000000.idx.corrupt").exists());
    assert!(store.append(TOPIC, batch_a(20..25, "engine-0")));
    store.flush().unwrap();
    let q = joey_logstore::ReadQuery {
        cursor: Some(20),
        ..query(Order::Asc, 100)
    };
    assert_eq!(
        ids_of(&store.read(TOPIC, &q).unwrap().batch.unwrap()),
        (20..25).collect::<Vec<_>>()
    );
}
