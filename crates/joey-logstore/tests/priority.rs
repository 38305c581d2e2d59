//! The writer thread runs at the configured nice value (Linux), so its flush bursts use idle CPU
//! rather than delaying inference requests.

mod common;

use common::*;
use joey_logstore::LogStore;

/// (thread name, nice) of this process's threads, from /proc.
fn threads() -> Vec<(String, i64)> {
    let mut out = Vec::new();
    for t in std::fs::read_dir("/proc/self/task").unwrap() {
        let dir = t.unwrap().path();
        let name = std::fs::read_to_string(dir.join("comm")).unwrap_or_default().trim().to_string();
        let stat = std::fs::read_to_string(dir.join("stat")).unwrap_or_default();
        // Fields after the ")" that ends the command name: state is field 3, nice field 19.
        let rest = &stat[stat.rfind(')').map_or(0, |i| i + 2)..];
        let nice = rest.split_whitespace().nth(16).and_then(|v| v.parse().ok()).unwrap_or(i64::MIN);
        out.push((name, nice));
    }
    out
}

fn writer_nice(store: &LogStore) -> i64 {
    store.flush().unwrap(); // the thread has started and set its priority
    let writers: Vec<i64> = threads().into_iter().filter(|(n, _)| n.starts_with("joey-logstore")).map(|(_, v)| v).collect();
    assert_eq!(writers.len(), 1, "{:?}", threads());
    writers[0]
}

#[cfg(target_os = "linux")]
#[test]
fn the_writer_thread_runs_at_the_configured_nice_value() {
    let dir = tempfile::tempdir().unwrap();
    let store = LogStore::open(cfg(dir.path())).unwrap();
    assert_eq!(writer_nice(&store), 10);
    let me = threads().into_iter().find(|(n, _)| n.starts_with("the_writer")).map(|(_, v)| v);
    assert_ne!(me, Some(10), "only the writer thread is lowered");
    store.shutdown();
    drop(store);

    let dir = tempfile::tempdir().unwrap();
    let mut c = cfg(dir.path());
    c.writer_nice = 0;
    let store = LogStore::open(c).unwrap();
    assert_eq!(writer_nice(&store), 0);
    store.shutdown();
}
