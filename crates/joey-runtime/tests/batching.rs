//! Dynamic batching on a real model (the engine's tiny_ccfraud fixture through ONNX Runtime):
//! concurrent callers share model runs, each gets exactly its own rows back, and a bad request
//! fails alone.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use arrow::array::{Array, AsArray, Float32Array, ListArray};
use arrow::buffer::OffsetBuffer;
use arrow::datatypes::{DataType, Field, Float32Type, Schema};
use arrow::record_batch::RecordBatch;
use joey_engine::{Engine, EngineConfig, LoadOptions, LoadedModel};
use joey_runtime::executor::batching::{Batcher, BatchingConfig};

fn engine_and_model() -> (Engine, Arc<LoadedModel>) {
    let engine = Engine::new(EngineConfig::default()).expect("ONNX Runtime (run scripts/install-ort.sh)");
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../joey-engine/tests/fixtures/tiny_ccfraud.onnx");
    let model = engine.load("batching-test", &path, LoadOptions::default()).expect("load tiny_ccfraud");
    (engine, model)
}

/// `dense_input` as List<f32>, one list per row.
fn rows(rows: &[Vec<f32>]) -> RecordBatch {
    let values: Vec<f32> = rows.iter().flatten().copied().collect();
    let item = Arc::new(Field::new("item", DataType::Float32, true));
    let col = ListArray::new(item.clone(), OffsetBuffer::from_lengths(rows.iter().map(Vec::len)), Arc::new(Float32Array::from(values)), None);
    let schema = Arc::new(Schema::new(vec![Field::new("dense_input", DataType::List(item), false)]));
    RecordBatch::try_new(schema, vec![Arc::new(col)]).unwrap()
}

fn row(seed: usize) -> Vec<f32> {
    (0..29).map(|i| ((seed * 31 + i) % 17) as f32 / 8.0 - 1.0).collect()
}

/// `dense_1` of every row (row by row: a caller's result may be a slice of a larger batch).
fn dense_1(b: &RecordBatch) -> Vec<f32> {
    let col = b.column_by_name("dense_1").expect("dense_1");
    (0..col.len())
        .flat_map(|i| {
            let v = match col.as_fixed_size_list_opt() {
                Some(l) => l.value(i),
                None => col.as_list::<i32>().value(i),
            };
            v.as_primitive::<Float32Type>().values().to_vec()
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_callers_share_runs_and_get_their_own_rows() {
    let (engine, model) = engine_and_model();
    let cfg = BatchingConfig { max_delay: Duration::from_millis(50), target_rows: 8, limit_rows: 8, adaptive: false };
    let batcher = Arc::new(Batcher::spawn(engine.clone(), model.clone(), cfg));
    // Callers send 1 to 3 rows each; 16 callers, 32 rows.
    let requests: Vec<Vec<Vec<f32>>> = (0..16).map(|c| (0..1 + c % 3).map(|r| row(c * 10 + r)).collect()).collect();
    let mut expected = Vec::new();
    for r in &requests {
        expected.push(dense_1(&engine.run(model.clone(), rows(r)).await.unwrap().batch));
    }
    // Callers only batch when others are in flight (a caller alone runs at once): keep a large
    // request (past the inline limit, so it runs on the engine's threads) in flight meanwhile.
    let runs = callers_while_busy(&engine, &model, &batcher, &requests, &expected).await;
    assert!(runs < 17, "16 concurrent callers and one large request took {runs} model runs: nothing was batched");
    assert!(runs >= 5, "the large request plus 32 rows with at most 8 rows per run need at least 5 runs, saw {runs}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_request_fails_alone_and_large_requests_skip_the_wait() {
    let (engine, model) = engine_and_model();
    let cfg = BatchingConfig { max_delay: Duration::from_millis(200), target_rows: 4, limit_rows: 64, adaptive: false };
    let batcher = Arc::new(Batcher::spawn(engine.clone(), model.clone(), cfg));
    let good: Vec<RecordBatch> = (0..3).map(|i| rows(&[row(i)])).collect();
    let bad = rows(&[vec![0.5; 28]]); // same columns, wrong width: the joined batch fails
    let mut tasks = Vec::new();
    for b in good.iter().cloned().chain([bad]) {
        let (bt, e, m) = (batcher.clone(), engine.clone(), model.clone());
        tasks.push(tokio::spawn(async move { bt.run(&e, &m, b).await }));
    }
    let results: Vec<_> = futures_join(tasks).await;
    for (r, g) in results[..3].iter().zip(&good) {
        let want = dense_1(&engine.run(model.clone(), g.clone()).await.unwrap().batch);
        assert_close(&dense_1(r.as_ref().expect("good requests succeed")), &want);
    }
    let err = results[3].as_ref().expect_err("the bad request fails").to_string();
    assert!(err.contains("29") || err.contains("28"), "names the width problem: {err}");

    // A request of at least the target size runs at once (well under the 200 ms wait).
    let big = rows(&(0..4).map(row).collect::<Vec<_>>());
    let started = std::time::Instant::now();
    let out = batcher.run(&engine, &model, big).await.unwrap();
    assert_eq!(out.num_rows(), 4);
    assert!(started.elapsed() < Duration::from_millis(150), "took {:?}", started.elapsed());
    // So does a caller alone with the model: there is nobody to wait for.
    let started = std::time::Instant::now();
    assert_eq!(batcher.run(&engine, &model, rows(&[row(7)])).await.unwrap().num_rows(), 1);
    assert!(started.elapsed() < Duration::from_millis(150), "a lone caller waited {:?}", started.elapsed());
}

/// Starts a 200k-row request, then every request of `requests` concurrently while it runs; checks
/// each caller got `expected` (its own rows) and the large request its 200k rows. Returns the
/// model runs the batcher made.
async fn callers_while_busy(engine: &Engine, model: &Arc<LoadedModel>, batcher: &Arc<Batcher>, requests: &[Vec<Vec<f32>>], expected: &[Vec<f32>]) -> u64 {
    let big = rows(&(0..200_000).map(|i| row(i % 50)).collect::<Vec<_>>());
    let hold = {
        let (b, e, m) = (batcher.clone(), engine.clone(), model.clone());
        tokio::spawn(async move { b.run(&e, &m, big).await })
    };
    tokio::time::sleep(Duration::from_millis(1)).await;
    let tasks: Vec<_> = requests
        .iter()
        .map(|r| {
            let (b, e, m, batch) = (batcher.clone(), engine.clone(), model.clone(), rows(r));
            tokio::spawn(async move { b.run(&e, &m, batch).await })
        })
        .collect();
    for (task, want) in tasks.into_iter().zip(expected) {
        assert_close(&dense_1(&task.await.unwrap().expect("batched run")), want);
    }
    assert_eq!(hold.await.unwrap().expect("the large request").num_rows(), 200_000);
    batcher.runs.load(Ordering::Relaxed)
}

/// Each caller's rows, in order (a batched GEMM may differ from a lone one in the last bits).
fn assert_close(got: &[f32], want: &[f32]) {
    assert_eq!(got.len(), want.len(), "{got:?} vs {want:?}");
    for (g, w) in got.iter().zip(want) {
        assert!((g - w).abs() <= 1e-6 * w.abs().max(1.0), "{got:?} vs {want:?}");
    }
}

async fn futures_join<T>(tasks: Vec<tokio::task::JoinHandle<T>>) -> Vec<T> {
    let mut out = Vec::new();
    for t in tasks {
        out.push(t.await.unwrap());
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn adaptive_batching_gathers_while_the_model_is_busy_and_never_waits_on_a_timer() {
    let (engine, model) = engine_and_model();
    assert!(joey_runtime::deployments::auto_batchable(None, model.signature()), "tiny_ccfraud has a free batch dimension");
    assert!(!joey_runtime::deployments::auto_batchable(Some("single"), model.signature()));
    let batcher = Arc::new(Batcher::spawn(engine.clone(), model.clone(), BatchingConfig::adaptive()));
    let requests: Vec<Vec<Vec<f32>>> = (0..24).map(|c| (0..1 + c % 2).map(|r| row(c * 7 + r)).collect()).collect();
    let mut expected = Vec::new();
    for r in &requests {
        expected.push(dense_1(&engine.run(model.clone(), rows(r)).await.unwrap().batch));
    }
    // Keep the model busy with a large request so the small ones arrive while it runs.
    let runs = callers_while_busy(&engine, &model, &batcher, &requests, &expected).await;
    assert!(runs < 20, "24 callers arriving while the model was busy took {runs} runs: nothing was batched");

    // Once idle, two callers in a row each get their answer at once (no timer to wait out).
    for i in 0..2 {
        let started = std::time::Instant::now();
        assert_eq!(batcher.run(&engine, &model, rows(&[row(i)])).await.unwrap().num_rows(), 1);
        assert!(started.elapsed() < Duration::from_millis(50), "waited {:?}", started.elapsed());
    }
}
