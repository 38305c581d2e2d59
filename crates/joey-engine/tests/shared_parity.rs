//! Parity with the reference data in `../shared/data` (Wallaroo tutorial models and real engine
//! responses). Run with `cargo test -p joey-engine -- --ignored`; set JOEY_SHARED_DATA to use
//! another data directory. Nothing from that directory is copied into the repository.

mod common;

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

use common::*;
use joey_engine::arrow::array::{Array, ArrayRef, AsArray};
use joey_engine::arrow::datatypes::{Float32Type, Schema};
use joey_engine::arrow::ipc::reader::FileReader;
use joey_engine::arrow::record_batch::RecordBatch;
use joey_engine::{LoadOptions, LoadedModel, TensorDType, TensorSpec};
use sha2::{Digest, Sha256};

fn data_dir() -> PathBuf {
    let dir = std::env::var_os("JOEY_SHARED_DATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data"));
    assert!(
        dir.is_dir(),
        "shared data not found at {} (set JOEY_SHARED_DATA)",
        dir.display()
    );
    dir
}

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn load(rel: &str) -> Arc<LoadedModel> {
    let path = data_dir().join(rel);
    engine()
        .load(rel, &path, LoadOptions::default())
        .unwrap_or_else(|e| panic!("{rel}: {e}"))
}

/// All rows of an Arrow IPC file, with column `from` renamed to `to`.
fn read_arrow(rel: &str, from: &str, to: &str) -> RecordBatch {
    let file = File::open(data_dir().join(rel)).unwrap();
    let reader = FileReader::try_new(file, None).unwrap();
    let schema = reader.schema();
    let batches: Vec<RecordBatch> = reader.map(Result::unwrap).collect();
    let all = joey_engine::arrow::compute::concat_batches(&schema, &batches).unwrap();
    let fields: Vec<_> = all
        .schema()
        .fields()
        .iter()
        .map(|f| {
            if f.name() == from {
                Arc::new(f.as_ref().clone().with_name(to))
            } else {
                f.clone()
            }
        })
        .collect();
    RecordBatch::try_new(Arc::new(Schema::new(fields)), all.columns().to_vec()).unwrap()
}

/// Flat f32 values of every row of a list column.
fn flat_f32(col: &ArrayRef) -> Vec<f32> {
    let (rows, _) = rows_f32(col);
    rows.concat()
}

fn rows_f32(col: &ArrayRef) -> (Vec<Vec<f32>>, usize) {
    let rows: Vec<Vec<f32>> = if let Some(l) = col.as_list_opt::<i32>() {
        (0..l.len())
            .map(|i| l.value(i).as_primitive::<Float32Type>().values().to_vec())
            .collect()
    } else {
        let l = col.as_fixed_size_list();
        (0..l.len())
            .map(|i| l.value(i).as_primitive::<Float32Type>().values().to_vec())
            .collect()
    };
    let width = rows.first().map_or(0, Vec::len);
    (rows, width)
}

#[test]
#[ignore = "needs ../shared"]
fn ccfraud_10k_matches_the_wallaroo_engine_bit_exactly() {
    let path = data_dir().join("ccfraud/ccfraud.onnx");
    let sha = hex::encode(Sha256::digest(std::fs::read(&path).unwrap()));
    assert_eq!(
        sha,
        "bc85ce596945f876256f41515c7501c399fd97ebcb9ab3dd41bf03f8937b4507"
    );

    let model = load("ccfraud/ccfraud.onnx");
    let input = read_arrow("ccfraud/cc_data_10k.arrow", "tensor", "dense_input");
    assert_eq!(input.num_rows(), 10254);
    let out = model.run_sync(&input).unwrap().batch;

    let expected: serde_json::Value = serde_json::from_reader(
        File::open(data_dir().join("ccfraud/cc_data_10k.expected_dense_1.json")).unwrap(),
    )
    .unwrap();
    let expected: Vec<f32> = expected["dense_1"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_f64().unwrap() as f32)
        .collect();
    let got = flat_f32(out.column_by_name("dense_1").unwrap());
    assert_eq!(got.len(), expected.len());
    let mismatches: Vec<usize> = (0..got.len())
        .filter(|&i| got[i].to_bits() != expected[i].to_bits())
        .collect();
    assert!(
        mismatches.is_empty(),
        "{} rows differ, first: row {} got {} want {}",
        mismatches.len(),
        mismatches[0],
        got[mismatches[0]],
        expected[mismatches[0]]
    );
    assert_eq!(got.iter().filter(|&&v| v > 0.5).count(), 21);
}

#[test]
#[ignore = "needs ../shared"]
fn multi_io_matches_the_notebook() {
    let model = load("multi_io/multi_io.onnx");
    let doc: serde_json::Value = serde_json::from_reader(
        File::open(data_dir().join("multi_io/multi_io.seed1.request_and_expected.json")).unwrap(),
    )
    .unwrap();
    let floats = |v: &serde_json::Value| -> Vec<f64> {
        v.as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_f64().unwrap())
            .collect()
    };
    let req = doc["request_pandas_records"].as_array().unwrap();
    let col = |name: &str| list_f64(&req.iter().map(|r| floats(&r[name])).collect::<Vec<_>>());
    // JSON gives float64; the engine casts to the model's float32.
    let out = model
        .run_sync(&batch(vec![
            ("input_1", col("input_1")),
            ("input_2", col("input_2")),
        ]))
        .unwrap()
        .batch;
    let expected = doc["expected_out"].as_array().unwrap();
    assert_eq!(out.num_rows(), expected.len());
    for name in ["output_1", "output_2"] {
        let got = f32_rows(&out, name);
        for (i, row) in expected.iter().enumerate() {
            let want: Vec<f32> = floats(&row[name]).iter().map(|&v| v as f32).collect();
            let got_bits: Vec<u32> = got[i].iter().map(|v| v.to_bits()).collect();
            let want_bits: Vec<u32> = want.iter().map(|v| v.to_bits()).collect();
            assert_eq!(
                got_bits, want_bits,
                "{name} row {i}: got {:?} want {want:?}",
                got[i]
            );
        }
    }
}

/// Run `scripts/ort_reference.py` (onnxruntime-python, 1 thread) on float32 rows.
fn python_reference(model: &Path, rows: &[Vec<f32>]) -> Vec<f32> {
    let python = repo_root().join(".ort/bin/python");
    assert!(
        python.is_file(),
        "{} missing: run scripts/install-ort.sh",
        python.display()
    );
    let dir = tempfile::tempdir().unwrap();
    let (inp, outp) = (dir.path().join("in.f32"), dir.path().join("out.f32"));
    let bytes: Vec<u8> = rows
        .iter()
        .flatten()
        .flat_map(|v| v.to_le_bytes())
        .collect();
    std::fs::write(&inp, bytes).unwrap();
    let status = Command::new(&python)
        .arg(repo_root().join("scripts/ort_reference.py"))
        .arg(model)
        .arg(&inp)
        .arg(rows.len().to_string())
        .arg(rows[0].len().to_string())
        .arg(&outp)
        .output()
        .unwrap();
    assert!(
        status.status.success(),
        "ort_reference.py failed: {}",
        String::from_utf8_lossy(&status.stderr)
    );
    std::fs::read(&outp)
        .unwrap()
        .chunks_exact(4)
        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect()
}

#[test]
#[ignore = "needs ../shared"]
fn houseprice_models_match_onnxruntime_python() {
    for (rel, input_name) in [
        ("houseprice/rf_model.onnx", "float_input"),
        ("houseprice/gbr_model.onnx", "float_input"),
        ("houseprice/xgb_model.onnx", "input"),
    ] {
        let model = load(rel);
        assert_eq!(model.signature().inputs[0].name, input_name);
        assert_eq!(model.signature().outputs[0].name, "variable");
        let input = read_arrow("houseprice/xtest-1k.arrow", "tensor", input_name);
        assert_eq!(input.num_rows(), 1000);
        let out = model.run_sync(&input).unwrap().batch;
        let got = flat_f32(out.column_by_name("variable").unwrap());
        let (rows, width) = rows_f32(input.column_by_name(input_name).unwrap());
        assert_eq!(width, 18);
        let want = python_reference(&data_dir().join(rel), &rows);
        assert_eq!(got.len(), want.len(), "{rel}");
        for (i, (g, w)) in got.iter().zip(&want).enumerate() {
            let tol = 1e-6 * g.abs().max(w.abs());
            assert!((g - w).abs() <= tol, "{rel} row {i}: got {g}, want {w}");
        }
    }
}

#[test]
#[ignore = "needs ../shared"]
fn imdb_models_have_the_expected_schemas() {
    let e = engine();
    let spec = |name: &str, w: i64| TensorSpec {
        name: name.into(),
        dtype: TensorDType::Float32,
        shape: vec![None, Some(w)],
    };
    let emb = e.inspect(&data_dir().join("imdb/embedder.onnx")).unwrap();
    assert_eq!(emb.inputs, vec![spec("input", 100)]);
    assert_eq!(emb.outputs, vec![spec("flatten_1", 800)]);
    let sent = e
        .inspect(&data_dir().join("imdb/sentiment_model.onnx"))
        .unwrap();
    assert_eq!(sent.inputs, vec![spec("embeddings", 800)]);
    assert_eq!(sent.outputs, vec![spec("dense_1", 1)]);

    // And the two-step chain runs on the singleton review.
    let input = read_arrow("imdb/singleton.arrow", "tensor", "input");
    let step1 = load("imdb/embedder.onnx").run_sync(&input).unwrap().batch;
    let flat = step1.column_by_name("flatten_1").unwrap().clone();
    let step2 = load("imdb/sentiment_model.onnx")
        .run_sync(&batch(vec![("embeddings", flat)]))
        .unwrap()
        .batch;
    let score = f32_rows(&step2, "dense_1");
    assert_eq!(score.len(), 1);
    assert!((0.0..=1.0).contains(&score[0][0]), "{score:?}");
}
