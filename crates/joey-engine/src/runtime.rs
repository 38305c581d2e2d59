//! Loading libonnxruntime and creating the process-wide ORT environment (once per process).

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use ort::environment::Environment;

use crate::EngineError;

pub(crate) struct Runtime {
    pub(crate) path: PathBuf,
    canonical: PathBuf,
    pub(crate) env: Environment,
}

/// ORT allows one dylib and one environment per process; every `Engine` shares this one.
static RUNTIME: Mutex<Option<Arc<Runtime>>> = Mutex::new(None);

/// Load the library at `path` and build the environment, or reuse the ones already made.
/// Asking for a different library once one is loaded is a `LibraryLoad` error.
pub(crate) fn init(path: &Path) -> Result<Arc<Runtime>, EngineError> {
    let canonical = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
    let mut slot = RUNTIME.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(rt) = slot.as_ref() {
        if rt.canonical == canonical {
            return Ok(rt.clone());
        }
        return Err(EngineError::LibraryLoad(format!(
            "ONNX Runtime is already loaded in this process from {}; cannot also load {}",
            rt.path.display(),
            path.display()
        )));
    }
    let built = std::panic::catch_unwind(|| -> Result<Environment, EngineError> {
        let builder = ort::init_from(path).map_err(|e| {
            EngineError::LibraryLoad(format!("cannot load {}: {e}", path.display()))
        })?;
        builder
            .with_name("joey")
            .with_telemetry(false)
            .build()
            .map_err(|e| {
                EngineError::LibraryLoad(format!("cannot create the ONNX Runtime environment: {e}"))
            })
    });
    let env = match built {
        Ok(r) => r?,
        Err(_) => {
            return Err(EngineError::LibraryLoad(format!(
                "loading {} panicked inside the ort crate",
                path.display()
            )))
        }
    };
    tracing::info!(library = %path.display(), "ONNX Runtime loaded");
    let rt = Arc::new(Runtime {
        path: path.to_path_buf(),
        canonical,
        env,
    });
    *slot = Some(rt.clone());
    Ok(rt)
}
