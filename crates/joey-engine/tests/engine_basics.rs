//! Library location, inspection, errors and the model cache.

mod common;

use std::path::Path;
use std::sync::Arc;

use common::*;
use joey_engine::arrow::datatypes::DataType;
use joey_engine::{
    locate_library, Engine, EngineConfig, EngineError, LoadOptions, TensorDType, TensorSpec,
    TENSOR_TYPE_KEY,
};

fn spec(name: &str, dtype: TensorDType, shape: &[Option<i64>]) -> TensorSpec {
    TensorSpec {
        name: name.into(),
        dtype,
        shape: shape.to_vec(),
    }
}

#[test]
fn locate_library_reports_what_it_tried() {
    let bogus = Path::new("/nonexistent/joey/libonnxruntime.so.1.32.0");
    let err = locate_library(Some(bogus)).unwrap_err();
    assert!(matches!(err, EngineError::LibraryNotFound(_)), "{err:?}");
    let msg = err.to_string();
    assert!(
        msg.contains("/nonexistent/joey/libonnxruntime.so.1.32.0"),
        "{msg}"
    );
    assert!(msg.contains("explicit path"), "{msg}");

    let cfg = EngineConfig {
        library: Some(bogus.to_path_buf()),
        ..EngineConfig::default()
    };
    assert!(matches!(
        Engine::new(cfg),
        Err(EngineError::LibraryNotFound(_))
    ));
}

#[test]
fn locate_library_finds_the_project_venv() {
    let found = locate_library(None).expect("run scripts/install-ort.sh");
    assert!(found.is_file());
    assert!(found
        .file_name()
        .unwrap()
        .to_string_lossy()
        .starts_with("libonnxruntime.so"));
    // A directory holding the library is accepted too.
    let dir = found.parent().unwrap();
    assert_eq!(locate_library(Some(dir)).unwrap(), found);
}

#[test]
fn a_non_library_file_is_a_load_error_and_engines_share_the_runtime() {
    let e1 = engine();
    let cfg = EngineConfig {
        library: Some(fixture("corrupt.onnx")),
        ..EngineConfig::default()
    };
    let err = Engine::new(cfg).unwrap_err();
    assert!(matches!(err, EngineError::LibraryLoad(_)), "{err:?}");
    // A second engine in the same process reuses the loaded runtime.
    let e2 = Engine::new(EngineConfig::default()).expect("second engine");
    assert_eq!(e1.library_path(), e2.library_path());
    let m = e2
        .load(
            "ccfraud-e2",
            &fixture("tiny_ccfraud.onnx"),
            LoadOptions::default(),
        )
        .unwrap();
    let b = batch(vec![("dense_input", fsl_f32(&ccfraud_rows(1), 29))]);
    m.run_sync(&b).unwrap();
}

#[test]
fn inspect_tiny_ccfraud() {
    let sig = engine().inspect(&fixture("tiny_ccfraud.onnx")).unwrap();
    assert_eq!(
        sig.inputs,
        vec![spec("dense_input", TensorDType::Float32, &[None, Some(29)])]
    );
    assert_eq!(
        sig.outputs,
        vec![spec("dense_1", TensorDType::Float32, &[None, Some(1)])]
    );

    let ins = sig.input_arrow_schema();
    let f = ins.field(0);
    assert_eq!(f.name(), "dense_input");
    assert!(
        matches!(f.data_type(), DataType::FixedSizeList(item, 29) if item.data_type() == &DataType::Float32)
    );
    assert_eq!(
        f.metadata().get(TENSOR_TYPE_KEY).map(String::as_str),
        Some(r#"{"shape":[29]}"#)
    );

    let outs = sig.output_arrow_schema();
    let f = outs.field(0);
    assert!(
        matches!(f.data_type(), DataType::List(item) if item.name() == "inner" && !item.is_nullable())
    );
    assert_eq!(
        f.metadata().get(TENSOR_TYPE_KEY).map(String::as_str),
        Some(r#"{"shape":[1]}"#)
    );
}

#[test]
fn inspect_multi_io_and_chain() {
    let e = engine();
    let sig = e.inspect(&fixture("multi_io.onnx")).unwrap();
    let names = |v: &[TensorSpec]| v.iter().map(|s| s.name.clone()).collect::<Vec<_>>();
    assert_eq!(names(&sig.inputs), ["input_1", "input_2"]);
    assert_eq!(names(&sig.outputs), ["output_1", "output_2"]);
    assert_eq!(sig.inputs[1].shape, vec![None, Some(5)]);
    assert_eq!(sig.outputs[0].shape, vec![None, Some(3)]);

    let s1 = e.inspect(&fixture("step1.onnx")).unwrap();
    assert_eq!(
        s1.inputs,
        vec![spec("input", TensorDType::Float32, &[None, Some(4)])]
    );
    assert_eq!(
        s1.outputs,
        vec![spec("flatten_1", TensorDType::Float32, &[None, Some(8)])]
    );
    let s2 = e.inspect(&fixture("step2.onnx")).unwrap();
    assert_eq!(
        s2.inputs,
        vec![spec("embeddings", TensorDType::Float32, &[None, Some(8)])]
    );
    assert_eq!(
        s2.outputs,
        vec![spec("dense_1", TensorDType::Float32, &[None, Some(1)])]
    );
}

#[test]
fn inspect_dtypes() {
    use TensorDType::*;
    let sig = engine().inspect(&fixture("dtypes.onnx")).unwrap();
    let want_in = vec![
        spec("f64_in", Float64, &[None, Some(3)]),
        spec("i32_in", Int32, &[None, Some(2)]),
        spec("i64_in", Int64, &[None]),
        spec("u8_in", Uint8, &[None, Some(2)]),
        spec("b_in", Bool, &[None, Some(2)]),
        spec("s_in", String, &[None, Some(2)]),
        spec("r3_in", Float32, &[None, Some(4)]),
        spec("cube_in", Float32, &[None, Some(2), Some(2)]),
        spec("dyn_in", Float32, &[None, None]),
    ];
    assert_eq!(sig.inputs, want_in);
    assert_eq!(sig.outputs.len(), 9);
    assert_eq!(
        sig.outputs[6],
        spec("r3_out", Float32, &[None, Some(2), Some(2)])
    );
    assert_eq!(sig.outputs[2], spec("i64_out", Int64, &[None]));
    assert_eq!(String.as_str(), "string");
    assert_eq!(Float64.to_string(), "float64");
    assert_eq!(Bool.arrow_type(), DataType::Boolean);

    let ins = sig.input_arrow_schema();
    let cube = ins.field_with_name("cube_in").unwrap();
    match cube.data_type() {
        DataType::FixedSizeList(outer, 2) => {
            assert!(
                matches!(outer.data_type(), DataType::FixedSizeList(inner, 2) if inner.data_type() == &DataType::Float32)
            )
        }
        other => panic!("cube_in: {other}"),
    }
    assert_eq!(cube.metadata()[TENSOR_TYPE_KEY], r#"{"shape":[2,2]}"#);
    let dyn_in = ins.field_with_name("dyn_in").unwrap();
    assert!(matches!(dyn_in.data_type(), DataType::List(_)));
    assert_eq!(dyn_in.metadata()[TENSOR_TYPE_KEY], r#"{"shape":[-1]}"#);
    let i64_in = ins.field_with_name("i64_in").unwrap();
    assert!(matches!(i64_in.data_type(), DataType::FixedSizeList(_, 1)));
    assert_eq!(
        ins.field_with_name("s_in").unwrap().metadata()[TENSOR_TYPE_KEY],
        r#"{"shape":[2]}"#
    );
}

#[test]
fn corrupt_and_missing_model_files_are_invalid() {
    let e = engine();
    for err in [
        e.inspect(&fixture("corrupt.onnx")).unwrap_err(),
        e.load("corrupt", &fixture("corrupt.onnx"), LoadOptions::default())
            .unwrap_err(),
    ] {
        assert!(matches!(err, EngineError::InvalidModel(_)), "{err:?}");
        assert!(err.to_string().contains("corrupt.onnx"), "{err}");
    }
    let err = e.inspect(&fixture("no_such_model.onnx")).unwrap_err();
    assert!(
        matches!(err, EngineError::InvalidModel(ref m) if m.contains("no such file")),
        "{err:?}"
    );
    // A failed load is not cached.
    assert!(e.get("corrupt").is_none());
}

#[test]
fn non_tensor_outputs_are_unsupported() {
    let e = engine();
    let err = e.inspect(&fixture("sequence_out.onnx")).unwrap_err();
    assert!(
        matches!(err, EngineError::Unsupported(ref m) if m.contains("'seq'")),
        "{err:?}"
    );
    let err = e
        .load("seq", &fixture("sequence_out.onnx"), LoadOptions::default())
        .unwrap_err();
    assert!(matches!(err, EngineError::Unsupported(_)), "{err:?}");
}

#[test]
fn cache_returns_the_same_arc_until_evicted() {
    let e = engine();
    let path = fixture("tiny_ccfraud.onnx");
    let a = e.load("sha-cache", &path, LoadOptions::default()).unwrap();
    let b = e
        .load(
            "sha-cache",
            &path,
            LoadOptions {
                intra_threads: Some(2),
            },
        )
        .unwrap();
    assert!(Arc::ptr_eq(&a, &b));
    assert!(
        Arc::ptr_eq(&a, &e.clone().get("sha-cache").unwrap()),
        "clones share the cache"
    );
    assert_eq!(a.sha(), "sha-cache");
    assert!(a.is_light());
    assert_eq!(a.intra_threads(), 1);
    assert!(e.loaded().contains(&"sha-cache".to_string()));

    e.evict("sha-cache");
    assert!(e.get("sha-cache").is_none());
    let c = e
        .load(
            "sha-cache",
            &path,
            LoadOptions {
                intra_threads: Some(2),
            },
        )
        .unwrap();
    assert!(!Arc::ptr_eq(&a, &c));
    assert_eq!(c.intra_threads(), 2);
    // The evicted model still works for whoever holds it.
    let rows = ccfraud_rows(2);
    let out = a
        .run_sync(&batch(vec![("dense_input", fsl_f32(&rows, 29))]))
        .unwrap();
    assert_eq!(out.batch.num_rows(), 2);
    e.evict("sha-cache");
    e.evict("never-loaded");
}

#[test]
fn a_lazy_engine_only_locates_the_library_until_a_model_needs_it() {
    let _loaded = engine(); // whatever other tests did, the process runtime exists from here on
    let lazy = Engine::new(EngineConfig { lazy: true, ..EngineConfig::default() }).expect("lazy engine");
    assert!(!lazy.is_loaded(), "nothing loaded before the first model");
    let m = lazy.load("lazy-ccfraud", &fixture("tiny_ccfraud.onnx"), LoadOptions::default()).expect("loads on first use");
    assert!(lazy.is_loaded());
    assert_eq!(m.signature().inputs.len(), 1);

    // A lazy engine pointed at a file that is not the library fails at first use, not at `new`.
    let bad = Engine::new(EngineConfig { library: Some(fixture("corrupt.onnx")), lazy: true, ..EngineConfig::default() }).expect("only located");
    let err = bad.inspect(&fixture("tiny_ccfraud.onnx")).unwrap_err();
    assert!(matches!(err, EngineError::LibraryLoad(_)), "{err:?}");
    assert!(!bad.is_loaded());
}
