//! Shared helpers for the joey-engine integration tests.
#![allow(dead_code)]

use std::path::PathBuf;
use std::sync::{Arc, OnceLock};

use joey_engine::arrow::array::{
    Array, ArrayRef, AsArray, FixedSizeListArray, Float32Array, Float64Array, LargeListArray,
    ListArray,
};
use joey_engine::arrow::array::{BooleanArray, Int32Array, Int64Array, StringArray};
use joey_engine::arrow::buffer::OffsetBuffer;
use joey_engine::arrow::datatypes::{DataType, Field, Float32Type, Schema};
use joey_engine::arrow::record_batch::RecordBatch;
use joey_engine::{Engine, EngineConfig, EngineError, LoadOptions, LoadedModel, TENSOR_TYPE_KEY};

/// The engine shared by the tests of one test binary. Panics (the test fails) if ONNX Runtime
/// is not available: run `scripts/install-ort.sh` first.
pub fn engine() -> Engine {
    static ENGINE: OnceLock<Engine> = OnceLock::new();
    ENGINE
        .get_or_init(|| {
            Engine::new(EngineConfig::default()).unwrap_or_else(|e| {
                panic!("ONNX Runtime is required for these tests (run scripts/install-ort.sh): {e}")
            })
        })
        .clone()
}

pub fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

pub fn item(dt: DataType) -> Arc<Field> {
    Arc::new(Field::new("item", dt, true))
}

/// FixedSizeList<f32>[size] column.
pub fn fsl_f32(rows: &[Vec<f32>], size: i32) -> ArrayRef {
    let values: Vec<f32> = rows.iter().flatten().copied().collect();
    Arc::new(FixedSizeListArray::new(
        item(DataType::Float32),
        size,
        Arc::new(Float32Array::from(values)),
        None,
    ))
}

fn offsets(rows: &[usize]) -> OffsetBuffer<i32> {
    OffsetBuffer::from_lengths(rows.iter().copied())
}

/// List<f32> column (rows may differ in length).
pub fn list_f32(rows: &[Vec<f32>]) -> ArrayRef {
    let values: Vec<f32> = rows.iter().flatten().copied().collect();
    let lens: Vec<usize> = rows.iter().map(Vec::len).collect();
    Arc::new(ListArray::new(
        item(DataType::Float32),
        offsets(&lens),
        Arc::new(Float32Array::from(values)),
        None,
    ))
}

/// List<f64> column, as JSON parsing produces.
pub fn list_f64(rows: &[Vec<f64>]) -> ArrayRef {
    let values: Vec<f64> = rows.iter().flatten().copied().collect();
    let lens: Vec<usize> = rows.iter().map(Vec::len).collect();
    Arc::new(ListArray::new(
        item(DataType::Float64),
        offsets(&lens),
        Arc::new(Float64Array::from(values)),
        None,
    ))
}

/// LargeList<f64> column.
pub fn large_list_f64(rows: &[Vec<f64>]) -> ArrayRef {
    let values: Vec<f64> = rows.iter().flatten().copied().collect();
    let lens: Vec<usize> = rows.iter().map(Vec::len).collect();
    Arc::new(LargeListArray::new(
        item(DataType::Float64),
        OffsetBuffer::from_lengths(lens),
        Arc::new(Float64Array::from(values)),
        None,
    ))
}

/// Wrap any list-like column one more time: each row becomes a list of `inner` consecutive entries.
pub fn wrap_list(inner_rows: ArrayRef, per_row: usize) -> ArrayRef {
    let n = inner_rows.len() / per_row;
    let dt = inner_rows.data_type().clone();
    Arc::new(ListArray::new(
        item(dt),
        offsets(&vec![per_row; n]),
        inner_rows,
        None,
    ))
}

pub fn batch(cols: Vec<(&str, ArrayRef)>) -> RecordBatch {
    let fields: Vec<Field> = cols
        .iter()
        .map(|(n, a)| Field::new(*n, a.data_type().clone(), true))
        .collect();
    let arrays: Vec<ArrayRef> = cols.into_iter().map(|(_, a)| a).collect();
    RecordBatch::try_new(Arc::new(Schema::new(fields)), arrays).expect("valid batch")
}

/// Deterministic test rows: value j of row i.
pub fn ccfraud_rows(n: usize) -> Vec<Vec<f32>> {
    (0..n)
        .map(|i| {
            (0..29)
                .map(|j| (((i * 31 + j * 17) % 23) as f32 - 11.0) / 7.0)
                .collect()
        })
        .collect()
}

/// tiny_ccfraud.onnx: sigmoid(x @ W + 0.125), W[i] = ((i % 7) - 3) / 8 (see scripts/make_test_models.py).
pub fn tiny_ccfraud_expected(row: &[f32]) -> f32 {
    let z: f64 = row
        .iter()
        .enumerate()
        .map(|(i, &x)| x as f64 * (((i % 7) as f64) - 3.0) / 8.0)
        .sum::<f64>()
        + 0.125;
    (1.0 / (1.0 + (-z).exp())) as f32
}

/// Weights of the other fixtures: w[i, j] = (((i * cols + j) % 7) - 3) / 8.
pub fn lin_weight(i: usize, j: usize, cols: usize) -> f64 {
    (((i * cols + j) % 7) as f64 - 3.0) / 8.0
}

/// x (rows x k) @ W (k x cols) with the fixture weights, in f64.
pub fn matmul(x: &[Vec<f32>], cols: usize) -> Vec<Vec<f64>> {
    x.iter()
        .map(|r| {
            (0..cols)
                .map(|j| {
                    r.iter()
                        .enumerate()
                        .map(|(i, &v)| v as f64 * lin_weight(i, j, cols))
                        .sum()
                })
                .collect()
        })
        .collect()
}

/// The rows of a `List<f32>` output column.
pub fn f32_rows(batch: &RecordBatch, name: &str) -> Vec<Vec<f32>> {
    let col = batch
        .column_by_name(name)
        .unwrap_or_else(|| panic!("no output column {name}"));
    let list = col.as_list::<i32>();
    (0..list.len())
        .map(|i| {
            list.value(i)
                .as_primitive::<Float32Type>()
                .values()
                .to_vec()
        })
        .collect()
}

pub fn assert_close(got: f32, want: f64, what: &str) {
    let tol = 1e-6 * want.abs().max(1.0);
    assert!(
        ((got as f64) - want).abs() <= tol,
        "{what}: got {got}, want {want}"
    );
}

pub fn model(name: &str) -> Arc<LoadedModel> {
    engine()
        .load(name, &fixture(name), LoadOptions::default())
        .expect("load fixture")
}

pub fn check_ccfraud(rows: &[Vec<f32>], out: &RecordBatch) {
    assert_eq!(out.num_columns(), 1);
    let field = out.schema().field(0).clone();
    assert_eq!(field.name(), "dense_1");
    assert_eq!(field.metadata()[TENSOR_TYPE_KEY], r#"{"shape":[1]}"#);
    match field.data_type() {
        DataType::List(item) => {
            assert_eq!(item.name(), "inner");
            assert!(!item.is_nullable());
            assert_eq!(item.data_type(), &DataType::Float32);
        }
        other => panic!("dense_1 is {other}"),
    }
    let got = f32_rows(out, "dense_1");
    assert_eq!(got.len(), rows.len());
    for (i, (g, r)) in got.iter().zip(rows).enumerate() {
        assert_eq!(g.len(), 1);
        assert_close(g[0], tiny_ccfraud_expected(r) as f64, &format!("row {i}"));
    }
}

pub fn fsl(values: ArrayRef, size: i32) -> ArrayRef {
    let dt = values.data_type().clone();
    Arc::new(FixedSizeListArray::new(item(dt), size, values, None))
}

/// A 2-row batch for dtypes.onnx.
pub fn dtypes_batch() -> RecordBatch {
    batch(vec![
        (
            "f64_in",
            fsl(
                Arc::new(Float64Array::from(vec![0.1, 0.2, 0.3, 1e300, -2.5, 7.0])),
                3,
            ),
        ),
        (
            "i32_in",
            fsl(Arc::new(Int32Array::from(vec![1, 2, -3, i32::MAX - 1])), 2),
        ),
        ("i64_in", Arc::new(Int64Array::from(vec![i64::MIN, 42]))),
        ("u8_in", list_f64(&[vec![1.0, 2.0], vec![254.0, 255.0]])),
        (
            "b_in",
            fsl(
                Arc::new(BooleanArray::from(vec![true, false, false, true])),
                2,
            ),
        ),
        (
            "s_in",
            fsl(Arc::new(StringArray::from(vec!["a", "", "héllo", "z"])), 2),
        ),
        (
            "r3_in",
            fsl_f32(&[vec![1.0, 2.0, 3.0, 4.0], vec![5.0, 6.0, 7.0, 8.0]], 4),
        ),
        (
            "cube_in",
            wrap_list(
                fsl_f32(
                    &[
                        vec![1.0, 2.0],
                        vec![3.0, 4.0],
                        vec![5.0, 6.0],
                        vec![7.0, 8.0],
                    ],
                    2,
                ),
                2,
            ),
        ),
        (
            "dyn_in",
            list_f32(&[vec![1.5, 2.5, 3.5], vec![4.5, 5.5, 6.5]]),
        ),
    ])
}

pub fn meta(b: &RecordBatch, name: &str) -> String {
    b.schema().field_with_name(name).unwrap().metadata()[TENSOR_TYPE_KEY].clone()
}

pub fn rows_of(b: &RecordBatch, name: &str) -> Vec<ArrayRef> {
    let l = b.column_by_name(name).unwrap().as_list::<i32>();
    (0..l.len()).map(|i| l.value(i)).collect()
}

pub fn bad_input(b: &RecordBatch, m: &LoadedModel) -> String {
    match m.run_sync(b) {
        Err(EngineError::BadInput(msg)) => msg,
        other => panic!("expected BadInput, got {other:?}"),
    }
}

/// `b` with column `name` replaced by `col` (its type may change).
pub fn replace(b: &RecordBatch, name: &str, col: ArrayRef) -> RecordBatch {
    let schema = b.schema();
    let cols: Vec<(&str, ArrayRef)> = schema
        .fields()
        .iter()
        .zip(b.columns())
        .map(|(f, c)| {
            (
                f.name().as_str(),
                if f.name() == name {
                    col.clone()
                } else {
                    c.clone()
                },
            )
        })
        .collect();
    batch(cols)
}
