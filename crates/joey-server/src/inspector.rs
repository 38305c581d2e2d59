//! Adapts the ONNX engine to the domain's `ModelInspector` port.

use std::path::Path;

use async_trait::async_trait;
use joey_core::model::{Signature, TensorInfo};
use joey_core::ports::ModelInspector;
use joey_engine::{Engine, ModelSignature, TensorSpec};

/// Opens ONNX files with ONNX Runtime (on a blocking thread).
pub struct OrtInspector(pub Engine);

#[async_trait]
impl ModelInspector for OrtInspector {
    fn supports(&self, framework: &str) -> bool {
        framework == "onnx"
    }

    async fn inspect(&self, _framework: &str, path: &Path) -> Result<Signature, String> {
        let engine = self.0.clone();
        let path = path.to_path_buf();
        let shown = path.display().to_string();
        let sig = tokio::task::spawn_blocking(move || engine.inspect(&path)).await.map_err(|e| e.to_string())?;
        // Never leak server paths into user-visible summaries.
        sig.map(|s| to_domain(&s)).map_err(|e| e.message().replace(&shown, "the uploaded file"))
    }
}

/// The engine's signature in domain terms.
pub fn to_domain(s: &ModelSignature) -> Signature {
    let conv = |t: &TensorSpec| TensorInfo { name: t.name.clone(), dtype: t.dtype.as_str().to_string(), shape: t.shape.clone() };
    Signature { inputs: s.inputs.iter().map(conv).collect(), outputs: s.outputs.iter().map(conv).collect() }
}
