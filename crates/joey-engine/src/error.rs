//! The engine's error type.

/// Everything that can go wrong in the engine. Messages are meant to be shown to API users as-is.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EngineError {
    /// No ONNX Runtime shared library could be found; the message lists the places that were tried.
    #[error("ONNX Runtime library not found: {0}")]
    LibraryNotFound(String),
    /// The library was found but could not be loaded or initialized (bad file, too old, ...).
    #[error("ONNX Runtime not available: {0}")]
    LibraryLoad(String),
    /// The model file could not be opened or parsed by ONNX Runtime.
    #[error("invalid model: {0}")]
    InvalidModel(String),
    /// The model uses something the engine cannot map to Arrow (non-tensor inputs/outputs, exotic dtypes).
    #[error("unsupported model: {0}")]
    Unsupported(String),
    /// The input batch does not fit the model (missing column, wrong length, nulls, wrong type).
    #[error("bad input: {0}")]
    BadInput(String),
    /// ONNX Runtime failed while running the model, or the engine's worker pool is gone.
    #[error("inference failed: {0}")]
    Runtime(String),
}

impl EngineError {
    /// The bare message, without the variant prefix that `Display` adds.
    pub fn message(&self) -> &str {
        match self {
            EngineError::LibraryNotFound(m)
            | EngineError::LibraryLoad(m)
            | EngineError::InvalidModel(m)
            | EngineError::Unsupported(m)
            | EngineError::BadInput(m)
            | EngineError::Runtime(m) => m,
        }
    }
}
