//! # joey-engine: ONNX models on Arrow batches
//!
//! Runs ONNX models for Joey with ONNX Runtime through the `ort` crate, pinned to `=2.0.0-rc.15`
//! with `load-dynamic` (`api-24`). The crate builds without any native library; at runtime it
//! loads `libonnxruntime.so.1.32.0`, the one shipped in the PyPI `onnxruntime==1.32.0` wheel.
//! `scripts/install-ort.sh` puts that wheel in a venv at `<repo>/.ort`.
//!
//! ## Finding the library
//! [`locate_library`] looks at, in order: an explicit path (`EngineConfig::library`),
//! `$JOEY_ORT_LIBRARY`, `$ORT_DYLIB_PATH`, then `.ort/lib/python3*/site-packages/onnxruntime/capi/
//! libonnxruntime.so*` in the current directory and its ancestors, and in the executable's directory
//! and its ancestors. [`Engine::new`] loads it with `ort::init_from` exactly once per process. The lazy
//! `ort::api()` path would panic on a missing library; here a failure is an [`EngineError`] instead.
//! Later engines in the same process reuse the runtime. Asking for a *different* library after one is
//! loaded is an error, because ORT allows only one per process.
//!
//! ## Running
//! `Session::run` takes `&mut self`, so every [`LoadedModel`] keeps `sessions_per_model` sessions
//! (default 2) in a pool. Each session uses 1 intra-op thread by default, which is fastest for
//! tabular models under concurrency; [`LoadOptions::intra_threads`] raises it for CNNs. Models are
//! cached by sha, so pipelines that share a model share one [`LoadedModel`].
//!
//! [`Engine::run`] is async. A light model (file < 4 MiB) with at most 64 rows runs inline on the
//! caller's task; it takes microseconds, less than a thread hop. Anything else goes to the engine's
//! own dedicated threads (`blocking_threads`, not tokio's blocking pool), and the future awaits a oneshot.
//!
//! ## Data layout (Wallaroo compatible)
//! * Input: one column per model input, matched by name. Accepted column types are `FixedSizeList`,
//!   `List` or `LargeList` (nested for rank > 2) or a primitive column (one value per row). Numbers are
//!   cast to the model's dtype. Utf8 maps to string tensors. Each row must hold the model's per-row
//!   number of values. Nulls are rejected.
//! * Output: one `List` column per model output, in model order, with item field `"inner"`
//!   (non-nullable), nested for rank > 2. A rank-1 `[N]` output gives lists of length 1. Every field
//!   has metadata `tensor_type` = `{"shape":[d1,...]}` (the per-row shape).
//! * Models with non-tensor inputs or outputs, such as skl2onnx's ZipMap (sequence of maps) or
//!   float16 tensors, are rejected with [`EngineError::Unsupported`] by both `inspect` and `load`.

mod convert_in;
mod convert_out;
mod engine;
mod error;
mod locate;
mod model;
mod pool;
mod runtime;
mod signature;

pub use arrow;

pub use engine::{Engine, EngineConfig, LoadOptions, INLINE_MAX_ROWS};
pub use error::EngineError;
pub use locate::{
    locate_library, OrtLibrary, ENV_JOEY_ORT_LIBRARY, ENV_ORT_DYLIB_PATH, VENV_PATTERN,
};
pub use model::{LoadedModel, ModelOutput, LIGHT_MODEL_MAX_BYTES};
pub use signature::{
    tensor_type_metadata, ModelSignature, TensorDType, TensorSpec, LIST_ITEM_NAME, TENSOR_TYPE_KEY,
};

#[cfg(test)]
mod tests {
    use super::*;

    fn assert_send_sync<T: Send + Sync>() {}

    #[test]
    fn public_types_are_send_sync() {
        assert_send_sync::<Engine>();
        assert_send_sync::<LoadedModel>();
        assert_send_sync::<EngineError>();
    }

    /// `Engine::run`'s future can be spawned on a multi-threaded runtime.
    #[allow(dead_code)]
    fn run_future_is_send(
        e: &Engine,
        m: std::sync::Arc<LoadedModel>,
        b: arrow::record_batch::RecordBatch,
    ) {
        fn is_send<T: Send>(_: T) {}
        is_send(e.run(m, b));
    }
}
