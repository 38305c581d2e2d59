//! Running the fixture models: values, layouts, casts, inline vs pool.

mod common;

use common::*;
use joey_engine::{LoadOptions, TENSOR_TYPE_KEY};

#[test]
fn tiny_ccfraud_fixed_size_list() {
    let rows = ccfraud_rows(5);
    let out = model("tiny_ccfraud.onnx")
        .run_sync(&batch(vec![("dense_input", fsl_f32(&rows, 29))]))
        .unwrap();
    check_ccfraud(&rows, &out.batch);
    assert!(out.elapsed_ns > 0);
}

#[test]
fn tiny_ccfraud_list_and_sliced_input() {
    let rows = ccfraud_rows(7);
    let m = model("tiny_ccfraud.onnx");
    let out = m
        .run_sync(&batch(vec![("dense_input", list_f32(&rows))]))
        .unwrap();
    check_ccfraud(&rows, &out.batch);
    // A sliced batch (non-zero offsets) uses the right rows.
    let b = batch(vec![
        ("dense_input", list_f32(&rows)),
        ("other", fsl_f32(&rows, 29)),
    ])
    .slice(2, 3);
    check_ccfraud(&rows[2..5], &m.run_sync(&b).unwrap().batch);
    let b = batch(vec![("dense_input", fsl_f32(&rows, 29))]).slice(4, 3);
    check_ccfraud(&rows[4..7], &m.run_sync(&b).unwrap().batch);
}

#[test]
fn tiny_ccfraud_float64_is_cast() {
    let rows = ccfraud_rows(4);
    let rows64: Vec<Vec<f64>> = rows
        .iter()
        .map(|r| r.iter().map(|&v| v as f64).collect())
        .collect();
    let m = model("tiny_ccfraud.onnx");
    check_ccfraud(
        &rows,
        &m.run_sync(&batch(vec![("dense_input", list_f64(&rows64))]))
            .unwrap()
            .batch,
    );
    check_ccfraud(
        &rows,
        &m.run_sync(&batch(vec![("dense_input", large_list_f64(&rows64))]))
            .unwrap()
            .batch,
    );
}

#[test]
fn multi_io_runs_both_outputs_in_model_order() {
    let x1: Vec<Vec<f32>> = (0..3)
        .map(|i| (0..10).map(|j| (i * 10 + j) as f32 / 16.0).collect())
        .collect();
    let x2: Vec<Vec<f32>> = (0..3)
        .map(|i| (0..5).map(|j| (i + j) as f32 / 4.0 - 1.0).collect())
        .collect();
    // Columns in the "wrong" order and an extra column: matched by name.
    let b = batch(vec![
        ("input_2", list_f32(&x2)),
        ("extra", list_f32(&x2)),
        ("input_1", fsl_f32(&x1, 10)),
    ]);
    let out = model("multi_io.onnx").run_sync(&b).unwrap().batch;
    let names: Vec<String> = out
        .schema()
        .fields()
        .iter()
        .map(|f| f.name().clone())
        .collect();
    assert_eq!(names, ["output_1", "output_2"]);
    assert_eq!(
        out.schema().field(1).metadata()[TENSOR_TYPE_KEY],
        r#"{"shape":[2]}"#
    );
    let (o1, o2) = (f32_rows(&out, "output_1"), f32_rows(&out, "output_2"));
    let (w1, w2) = (matmul(&x1, 3), matmul(&x2, 2));
    for i in 0..3 {
        for j in 0..3 {
            assert_close(o1[i][j], w1[i][j], "output_1");
        }
        for j in 0..2 {
            assert_close(o2[i][j], w2[i][j] + 1.0, "output_2");
        }
    }
}

#[test]
fn chain_step1_into_step2() {
    let x: Vec<Vec<f32>> = (0..2)
        .map(|i| (0..4).map(|j| (i * 4 + j) as f32 / 3.0 - 1.0).collect())
        .collect();
    let out1 = model("step1.onnx")
        .run_sync(&batch(vec![("input", fsl_f32(&x, 4))]))
        .unwrap()
        .batch;
    let emb = out1.column_by_name("flatten_1").unwrap().clone();
    let out2 = model("step2.onnx")
        .run_sync(&batch(vec![("embeddings", emb)]))
        .unwrap()
        .batch;
    let h: Vec<Vec<f32>> = matmul(&x, 8)
        .iter()
        .map(|r| r.iter().map(|&v| v.max(0.0) as f32).collect())
        .collect();
    let z = matmul(&h, 1);
    for (i, row) in f32_rows(&out2, "dense_1").iter().enumerate() {
        assert_close(row[0], 1.0 / (1.0 + (-z[i][0]).exp()), "dense_1");
    }
}

#[test]
fn empty_batch_gives_empty_output() {
    let m = model("tiny_ccfraud.onnx");
    let out = m
        .run_sync(&batch(vec![("dense_input", fsl_f32(&[], 29))]))
        .unwrap()
        .batch;
    assert_eq!(out.num_rows(), 0);
    assert_eq!(out.schema().field(0).name(), "dense_1");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn async_run_inline_and_on_the_pool_match_run_sync() {
    let e = engine();
    let m = e
        .load(
            "ccfraud-async",
            &fixture("tiny_ccfraud.onnx"),
            LoadOptions::default(),
        )
        .unwrap();
    for n in [1usize, 64, 500] {
        let rows = ccfraud_rows(n);
        let b = batch(vec![("dense_input", fsl_f32(&rows, 29))]);
        let sync = m.run_sync(&b).unwrap().batch;
        let run = e.run(m.clone(), b).await.unwrap().batch;
        assert_eq!(sync, run, "n={n}");
        check_ccfraud(&rows, &run);
    }
    // Many concurrent calls on a model with 2 sessions.
    let rows = ccfraud_rows(300);
    let b = batch(vec![("dense_input", fsl_f32(&rows, 29))]);
    let want = m.run_sync(&b).unwrap().batch;
    let tasks: Vec<_> = (0..16)
        .map(|i| {
            let (e, m, b) = (
                e.clone(),
                m.clone(),
                if i % 2 == 0 {
                    b.clone()
                } else {
                    b.slice(0, 10)
                },
            );
            tokio::spawn(async move { e.run(m, b).await })
        })
        .collect();
    for (i, t) in tasks.into_iter().enumerate() {
        let got = t.await.unwrap().unwrap().batch;
        if i % 2 == 0 {
            assert_eq!(got, want);
        } else {
            assert_eq!(got.num_rows(), 10);
        }
    }
}

#[test]
fn timing_one_row_run_sync() {
    let m = model("tiny_ccfraud.onnx");
    let b = batch(vec![("dense_input", fsl_f32(&ccfraud_rows(1), 29))]);
    for _ in 0..200 {
        m.run_sync(&b).unwrap();
    }
    let mut ns: Vec<u64> = (0..2000)
        .map(|_| {
            let t = std::time::Instant::now();
            m.run_sync(&b).unwrap();
            t.elapsed().as_nanos() as u64
        })
        .collect();
    ns.sort_unstable();
    println!(
        "tiny_ccfraud 1-row run_sync: p50 {} ns, p99 {} ns",
        ns[ns.len() / 2],
        ns[ns.len() * 99 / 100]
    );
}
