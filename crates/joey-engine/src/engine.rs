//! The `Engine`: ORT runtime + model cache + worker threads.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

use arrow::record_batch::RecordBatch;

use crate::locate::locate_library;
use crate::model::{open_session, LoadedModel, ModelOutput};
use crate::pool::WorkerPool;
use crate::runtime::{self, Runtime};
use crate::signature::{signature_of, ModelSignature};
use crate::EngineError;

/// Batches of at most this many rows for light models run inline on the calling (async) thread.
pub const INLINE_MAX_ROWS: usize = 64;

/// Engine settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EngineConfig {
    /// Path of libonnxruntime (or a directory holding it); `None` = search, see [`locate_library`].
    pub library: Option<PathBuf>,
    /// Intra-op threads per session unless [`LoadOptions::intra_threads`] says otherwise (1 suits tabular models).
    pub default_intra_threads: usize,
    /// Sessions per loaded model = how many calls of one model can run at the same time.
    pub sessions_per_model: usize,
    /// Dedicated threads for calls that do not run inline.
    pub blocking_threads: usize,
    /// Load the library on first use (`inspect` or `load`) instead of in [`Engine::new`], which
    /// then only locates it: a server with no model yet does not carry ONNX Runtime (~12 MiB RSS).
    pub lazy: bool,
}

impl Default for EngineConfig {
    fn default() -> Self {
        EngineConfig {
            library: None,
            default_intra_threads: 1,
            sessions_per_model: 2,
            blocking_threads: 2,
            lazy: false,
        }
    }
}

/// Per-model load settings.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LoadOptions {
    /// Intra-op threads per session (e.g. 2 for CNNs); `None` = [`EngineConfig::default_intra_threads`].
    pub intra_threads: Option<usize>,
}

type Slot = Arc<Mutex<Option<Arc<LoadedModel>>>>;

struct Inner {
    library: PathBuf,
    runtime: std::sync::OnceLock<Arc<Runtime>>,
    config: EngineConfig,
    pool: WorkerPool,
    cache: Mutex<HashMap<String, Slot>>,
}

/// Runs ONNX models on Arrow batches. Cheap to clone; all clones share the cache and threads.
#[derive(Clone)]
pub struct Engine {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("library", &self.inner.library)
            .field("loaded", &self.inner.runtime.get().is_some())
            .field("config", &self.inner.config)
            .field("worker_threads", &self.inner.pool.threads())
            .finish_non_exhaustive()
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Engine {
    /// Locate and initialize ONNX Runtime (once per process; later engines reuse it) and start the
    /// worker threads.
    pub fn new(cfg: EngineConfig) -> Result<Engine, EngineError> {
        let library = locate_library(cfg.library.as_deref())?;
        let runtime = std::sync::OnceLock::new();
        if !cfg.lazy {
            let _ = runtime.set(runtime::init(&library)?);
        }
        let pool = WorkerPool::new(cfg.blocking_threads)?;
        Ok(Engine {
            inner: Arc::new(Inner {
                library,
                runtime,
                config: cfg,
                pool,
                cache: Mutex::new(HashMap::new()),
            }),
        })
    }

    /// The ONNX Runtime library in use (or to be loaded on first use).
    pub fn library_path(&self) -> &Path {
        &self.inner.library
    }

    /// Whether the library is loaded (always after `new` unless [`EngineConfig::lazy`]).
    pub fn is_loaded(&self) -> bool {
        self.inner.runtime.get().is_some()
    }

    /// The process's runtime, loading it now if this engine is lazy and has not yet.
    fn runtime(&self) -> Result<Arc<Runtime>, EngineError> {
        if let Some(rt) = self.inner.runtime.get() {
            return Ok(rt.clone());
        }
        let rt = runtime::init(&self.inner.library)?;
        Ok(self.inner.runtime.get_or_init(|| rt).clone())
    }

    pub fn config(&self) -> &EngineConfig {
        &self.inner.config
    }

    /// Open a model file and read its inputs and outputs (nothing is cached).
    pub fn inspect(&self, model_file: &Path) -> Result<ModelSignature, EngineError> {
        let session = open_session(&*self.runtime()?, model_file, 1)?;
        signature_of(&session)
    }

    /// Load a model, cached by `sha`: the same sha gives the same `Arc` (the file and options of
    /// later calls are ignored while it is cached). The caller vouches that `sha` identifies the file.
    pub fn load(
        &self,
        sha: &str,
        model_file: &Path,
        opts: LoadOptions,
    ) -> Result<Arc<LoadedModel>, EngineError> {
        let slot: Slot = lock(&self.inner.cache)
            .entry(sha.to_string())
            .or_default()
            .clone();
        let mut guard = lock(&slot);
        if let Some(m) = guard.as_ref() {
            return Ok(m.clone());
        }
        let cfg = &self.inner.config;
        let intra = opts
            .intra_threads
            .unwrap_or(cfg.default_intra_threads)
            .max(1);
        let model = Arc::new(LoadedModel::load(
            &*self.runtime()?,
            sha,
            model_file,
            intra,
            cfg.sessions_per_model,
        )?);
        tracing::debug!(sha, file = %model_file.display(), intra, "model loaded");
        *guard = Some(model.clone());
        Ok(model)
    }

    /// The cached model for `sha`, if loaded.
    pub fn get(&self, sha: &str) -> Option<Arc<LoadedModel>> {
        let slot = lock(&self.inner.cache).get(sha).cloned()?;
        let model = lock(&slot).clone();
        model
    }

    /// Drop the cache entry for `sha`. Holders of the `Arc` keep a working model until they drop it.
    pub fn evict(&self, sha: &str) {
        lock(&self.inner.cache).remove(sha);
    }

    /// The shas currently loaded.
    pub fn loaded(&self) -> Vec<String> {
        let slots: Vec<(String, Slot)> = lock(&self.inner.cache)
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        let mut shas: Vec<String> = slots
            .into_iter()
            .filter(|(_, s)| lock(s).is_some())
            .map(|(k, _)| k)
            .collect();
        shas.sort();
        shas
    }

    /// Run a model. Light models with at most [`INLINE_MAX_ROWS`] rows run inline (microseconds);
    /// everything else runs on the engine's own threads while this future waits on a oneshot channel.
    pub async fn run(
        &self,
        model: Arc<LoadedModel>,
        batch: RecordBatch,
    ) -> Result<ModelOutput, EngineError> {
        if model.is_light() && batch.num_rows() <= INLINE_MAX_ROWS {
            return model.run_sync(&batch);
        }
        let (tx, rx) = tokio::sync::oneshot::channel();
        self.inner.pool.execute(Box::new(move || {
            let _ = tx.send(model.run_sync(&batch));
        }))?;
        rx.await.map_err(|_| {
            EngineError::Runtime("the engine worker stopped before answering (it panicked)".into())
        })?
    }
}
