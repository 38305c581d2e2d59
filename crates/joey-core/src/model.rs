//! Models, model versions, configs, and the upload/load state machine.

use serde::{Deserialize, Serialize};

use crate::{Error, Result};

/// Every framework name Wallaroo's API accepts (exact spelling).
pub const FRAMEWORKS: &[&str] = &[
    "custom", "hugging-face-automatic-speech-recognition", "hugging-face-feature-extraction",
    "hugging-face-image-classification", "hugging-face-image-segmentation", "hugging-face-image-to-text",
    "hugging-face-object-detection", "hugging-face-question-answering", "hugging-face-sentiment-analysis",
    "hugging-face-stable-diffusion-text-2-img", "hugging-face-summarization", "hugging-face-text-classification",
    "hugging-face-text-generation", "hugging-face-translation", "hugging-face-zero-shot-classification",
    "hugging-face-zero-shot-image-classification", "hugging-face-zero-shot-object-detection", "keras", "mlflow",
    "onnx", "python", "pytorch", "sglang", "sklearn", "tensorflow", "vllm", "xgboost",
];

/// A validated framework name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Framework(String);

impl Framework {
    pub fn parse(raw: &str) -> Result<Self> {
        if FRAMEWORKS.contains(&raw) {
            Ok(Self(raw.to_string()))
        } else {
            Err(Error::invalid(format!("unknown framework '{raw}'; expected one of: {}", FRAMEWORKS.join(", "))))
        }
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
    /// Frameworks Joey runs natively (in-process).
    pub fn is_native(&self) -> bool {
        self.0 == "onnx"
    }
    /// The config runtime Wallaroo assigns to this framework.
    pub fn runtime(&self) -> &'static str {
        match self.0.as_str() {
            "onnx" => "onnx",
            "tensorflow" => "tensorflow",
            "mlflow" => "mlflow",
            _ => "flight",
        }
    }
}

/// A model version's lifecycle.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ModelStatus {
    Uploading,
    PendingLoadNative,
    PendingLoadContainer,
    AttemptingLoadNative,
    AttemptingLoadContainer,
    Ready,
    Error,
}

impl ModelStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Uploading => "uploading",
            Self::PendingLoadNative => "pending_load_native",
            Self::PendingLoadContainer => "pending_load_container",
            Self::AttemptingLoadNative => "attempting_load_native",
            Self::AttemptingLoadContainer => "attempting_load_container",
            Self::Ready => "ready",
            Self::Error => "error",
        }
    }
    pub fn parse(raw: &str) -> Self {
        match raw {
            "uploading" => Self::Uploading,
            "pending_load_native" => Self::PendingLoadNative,
            "pending_load_container" => Self::PendingLoadContainer,
            "attempting_load_native" => Self::AttemptingLoadNative,
            "attempting_load_container" => Self::AttemptingLoadContainer,
            "ready" => Self::Ready,
            _ => Self::Error,
        }
    }
}

/// One tensor of a model's signature.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TensorInfo {
    pub name: String,
    /// `float32`, `int64`, `string`, ...
    pub dtype: String,
    /// `None` for dynamic dimensions (the batch dimension is usually dynamic).
    pub shape: Vec<Option<i64>>,
}

/// What a runtime learned when it opened the model file.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Signature {
    pub inputs: Vec<TensorInfo>,
    pub outputs: Vec<TensorInfo>,
}

/// The named model (a collection of versions) in a workspace.
#[derive(Debug, Clone, PartialEq)]
pub struct Model {
    pub id: i64,
    pub name: String,
    pub workspace_id: i64,
    pub owner_id: String,
    pub created_at_ms: i64,
    pub updated_at_ms: i64,
}

/// One uploaded file of a model.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelVersion {
    pub id: i64,
    pub model_id: i64,
    /// The version UUID.
    pub version: String,
    pub name: String,
    pub workspace_id: i64,
    pub sha: String,
    pub file_name: String,
    pub size: i64,
    pub status: ModelStatus,
    pub visibility: String,
    /// The `conversion` object as uploaded (framework, arch, accel, requirements...).
    pub conversion: serde_json::Value,
    pub error_summary: Option<String>,
    pub signature: Option<Signature>,
    pub created_by: String,
    pub created_at_ms: i64,
    /// Whether an active deployment uses this version.
    pub deployed: bool,
}

impl ModelVersion {
    pub fn framework(&self) -> &str {
        self.conversion.get("framework").and_then(|v| v.as_str()).unwrap_or("onnx")
    }
}

/// A model configuration (a new row each time it changes; deployments pin config ids).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ModelConfig {
    pub id: i64,
    pub model_version_id: i64,
    pub runtime: String,
    pub tensor_fields: Option<Vec<String>>,
    pub filter_threshold: Option<f64>,
    pub input_schema: Option<String>,
    pub output_schema: Option<String>,
    pub batch_config: Option<String>,
    pub dynamic_batching: Option<serde_json::Value>,
    pub continuous_batching: Option<serde_json::Value>,
    pub openai: Option<serde_json::Value>,
}

/// A model config's `dynamic_batching_config`: concurrent requests wait up to `max_delay_ms` to be
/// run together, up to `target_rows` rows, never more than `limit_rows`. Sizes count rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DynamicBatching {
    pub max_delay_ms: u64,
    pub target_rows: usize,
    pub limit_rows: usize,
}

impl DynamicBatching {
    /// Wallaroo's defaults apply to missing keys (10 ms, a target of 4, no limit). `None` when
    /// batching is off: no config, `null`, or a target of 1 or less. A delay of 0 batches only
    /// requests that are already waiting (no caller is ever held back).
    pub fn parse(v: Option<&serde_json::Value>) -> crate::Result<Option<Self>> {
        use serde_json::Value;
        let Some(v) = v.filter(|v| !v.is_null()) else { return Ok(None) };
        let obj = v.as_object().ok_or_else(|| crate::Error::invalid("dynamic_batching_config must be an object"))?;
        let int = |k: &str| -> crate::Result<Option<u64>> {
            match obj.get(k) {
                None | Some(Value::Null) => Ok(None),
                Some(x) => x.as_u64().map(Some).ok_or_else(|| crate::Error::invalid(format!("dynamic_batching_config.{k} must be a non-negative integer, not {x}"))),
            }
        };
        let delay = int("max_batch_delay_ms")?.unwrap_or(10);
        let target = int("batch_size_target")?.unwrap_or(4) as usize;
        let limit = int("batch_size_limit")?.map_or(usize::MAX, |l| l as usize);
        if delay > 10_000 {
            return Err(crate::Error::invalid("dynamic_batching_config.max_batch_delay_ms must be at most 10000"));
        }
        if limit < target {
            return Err(crate::Error::invalid(format!("dynamic_batching_config.batch_size_limit ({limit}) is below batch_size_target ({target})")));
        }
        Ok((target > 1).then_some(Self { max_delay_ms: delay, target_rows: target, limit_rows: limit }))
    }
}

/// What it takes to register an uploaded file.
#[derive(Debug, Clone)]
pub struct NewModelVersion {
    pub workspace_id: i64,
    pub name: String,
    pub version: String,
    pub sha: String,
    pub file_name: String,
    pub size: i64,
    pub status: ModelStatus,
    pub visibility: String,
    pub conversion: serde_json::Value,
    /// The uploader's email.
    pub created_by: String,
    /// The uploader's user id (the model's `owner_id` when the model is new).
    pub owner_id: String,
    pub config: ModelConfig,
}

/// A model with all its versions and their current configs.
#[derive(Debug, Clone)]
pub struct ModelWithVersions {
    pub model: Model,
    pub versions: Vec<(ModelVersion, ModelConfig)>,
}

/// The result of a delete: how many bytes of artifacts became unreferenced (and were freed).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Freed {
    /// Content hashes no version references any more, with their sizes.
    pub orphaned: Vec<(String, i64)>,
}

#[cfg(test)]
mod batching_tests {
    use super::DynamicBatching;
    use serde_json::{json, Value};

    #[test]
    fn dynamic_batching_parses_with_wallaroo_defaults_and_rejects_nonsense() {
        assert_eq!(DynamicBatching::parse(None).unwrap(), None);
        assert_eq!(DynamicBatching::parse(Some(&Value::Null)).unwrap(), None);
        let d = DynamicBatching::parse(Some(&json!({}))).unwrap().unwrap();
        assert_eq!((d.max_delay_ms, d.target_rows, d.limit_rows), (10, 4, usize::MAX));
        let d = DynamicBatching::parse(Some(&json!({"max_batch_delay_ms": 5, "batch_size_target": 8, "batch_size_limit": 16}))).unwrap().unwrap();
        assert_eq!((d.max_delay_ms, d.target_rows, d.limit_rows), (5, 8, 16));
        assert_eq!(DynamicBatching::parse(Some(&json!({"batch_size_target": 1}))).unwrap(), None);
        let d = DynamicBatching::parse(Some(&json!({"max_batch_delay_ms": 0}))).unwrap().unwrap();
        assert_eq!((d.max_delay_ms, d.target_rows), (0, 4));
        for bad in [json!(3), json!({"batch_size_target": -1}), json!({"max_batch_delay_ms": "5"}), json!({"batch_size_target": 8, "batch_size_limit": 4}), json!({"max_batch_delay_ms": 60000})] {
            assert!(DynamicBatching::parse(Some(&bad)).is_err(), "{bad}");
        }
    }
}
