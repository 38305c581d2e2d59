//! A loaded model: its signature and a small pool of ORT sessions.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use arrow::record_batch::RecordBatch;
use ort::session::Session;

use crate::pool::SessionPool;
use crate::runtime::Runtime;
use crate::signature::{signature_of, ModelSignature};
use crate::{convert_in, convert_out, EngineError};

/// Models whose file is smaller than this are "light": small batches run inline on the caller's thread.
pub const LIGHT_MODEL_MAX_BYTES: u64 = 4 * 1024 * 1024;

/// The result of one model call.
#[derive(Debug, Clone)]
pub struct ModelOutput {
    /// One column per model output, in the model's order (see the crate docs for the layout).
    pub batch: RecordBatch,
    /// Time spent in `run_sync`: input conversion, inference and output conversion.
    pub elapsed_ns: u64,
}

/// A model ready to run; shared (`Arc`) by every pipeline that uses the same model file.
pub struct LoadedModel {
    sha: String,
    path: PathBuf,
    file_size: u64,
    intra_threads: usize,
    signature: ModelSignature,
    sessions: SessionPool,
    output_schema: convert_out::OutputSchema,
}

impl std::fmt::Debug for LoadedModel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoadedModel")
            .field("sha", &self.sha)
            .field("path", &self.path)
            .field("file_size", &self.file_size)
            .field("intra_threads", &self.intra_threads)
            .field("sessions", &self.sessions.size())
            .finish_non_exhaustive()
    }
}

/// Open `path` in a new session with `intra` intra-op threads.
pub(crate) fn open_session(
    rt: &Runtime,
    path: &Path,
    intra: usize,
) -> Result<Session, EngineError> {
    let invalid =
        |e: String| EngineError::InvalidModel(format!("cannot load {}: {e}", path.display()));
    if !path.is_file() {
        return Err(invalid("no such file".into()));
    }
    let mut builder = Session::builder(&rt.env)
        .map_err(|e| invalid(e.to_string()))?
        .with_intra_threads(intra)
        .map_err(|e| invalid(e.to_string()))?;
    if intra > 1 {
        // Spinning pool threads steal CPU from the server between calls; latency cost is small.
        builder = builder
            .with_intra_op_spinning(false)
            .map_err(|e| invalid(e.to_string()))?;
    }
    builder
        .commit_from_file(path)
        .map_err(|e| invalid(e.to_string()))
}

impl LoadedModel {
    pub(crate) fn load(
        rt: &Runtime,
        sha: &str,
        path: &Path,
        intra: usize,
        sessions: usize,
    ) -> Result<LoadedModel, EngineError> {
        let file_size = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
        let first = open_session(rt, path, intra)?;
        let signature = signature_of(&first)?;
        let mut all = vec![first];
        for _ in 1..sessions.max(1) {
            all.push(open_session(rt, path, intra)?);
        }
        Ok(LoadedModel {
            sha: sha.to_string(),
            path: path.to_path_buf(),
            file_size,
            intra_threads: intra,
            signature,
            sessions: SessionPool::new(all),
            output_schema: Default::default(),
        })
    }

    /// The key this model was loaded under.
    pub fn sha(&self) -> &str {
        &self.sha
    }

    pub fn signature(&self) -> &ModelSignature {
        &self.signature
    }

    /// The model file this was loaded from.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Size of the model file in bytes.
    pub fn file_size(&self) -> u64 {
        self.file_size
    }

    /// Intra-op threads of each session.
    pub fn intra_threads(&self) -> usize {
        self.intra_threads
    }

    /// Small model (file under [`LIGHT_MODEL_MAX_BYTES`]): cheap enough to run inline for small batches.
    pub fn is_light(&self) -> bool {
        self.file_size < LIGHT_MODEL_MAX_BYTES
    }

    /// Run the model on the calling thread (blocks; waits for a free session if all are busy).
    pub fn run_sync(&self, batch: &RecordBatch) -> Result<ModelOutput, EngineError> {
        let start = Instant::now();
        let n = batch.num_rows();
        let out = if n == 0 {
            // Nothing to compute; still check the columns are there.
            convert_in::prepare(&self.signature.inputs, batch)?;
            RecordBatch::new_empty(Arc::new(self.signature.output_arrow_schema()))
        } else {
            let prepared = convert_in::prepare(&self.signature.inputs, batch)?;
            let inputs = convert_in::session_inputs(&prepared)?;
            self.sessions.with_session(|session| {
                let outputs = session
                    .run(inputs)
                    .map_err(|e| EngineError::Runtime(format!("model {}: {e}", self.sha)))?;
                convert_out::to_batch(&self.signature.outputs, &outputs, n, &self.output_schema)
            })?
        };
        Ok(ModelOutput {
            batch: out,
            elapsed_ns: start.elapsed().as_nanos() as u64,
        })
    }
}
