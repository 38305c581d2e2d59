//! Prints the log store's figures as JSON lines:
//! `cargo run --release -p joey-logstore --example logstore_bench [-- <rows in the big topic>]`
//! (`JOEY_LOGSTORE_BENCH_DIR` picks the directory; default: a temporary one).

#[path = "../tests/common/bench.rs"]
mod bench;

fn main() {
    let rows: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(10_000_000);
    let tmp;
    let base = match std::env::var_os("JOEY_LOGSTORE_BENCH_DIR") {
        Some(d) => std::path::PathBuf::from(d),
        None => {
            tmp = tempfile::tempdir().expect("temporary directory");
            tmp.path().to_path_buf()
        }
    };
    bench::run_all(&base, rows, |v| println!("{v}"));
}
