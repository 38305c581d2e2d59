//! Performance figures (not asserted): `cargo test --release -p joey-logstore --test perf -- --ignored --nocapture`.
//! `JOEY_LOGSTORE_BENCH_ROWS` sizes the big topic (default 10 million).

mod common;

#[test]
#[ignore = "performance figures; run explicitly"]
fn perf_figures() {
    let rows = std::env::var("JOEY_LOGSTORE_BENCH_ROWS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000_000);
    let dir = tempfile::tempdir().unwrap();
    common::bench::run_all(dir.path(), rows, |v| println!("{v}"));
}
