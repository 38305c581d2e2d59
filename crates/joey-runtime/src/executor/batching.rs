//! Dynamic batching, as a model config's `dynamic_batching_config` asks for: requests to one model
//! replica that arrive within `max_batch_delay_ms` of the first are run as one batch of up to
//! `batch_size_target` rows (never more than `batch_size_limit`). Each caller gets back exactly its
//! own rows, in its own order; rows of different callers are never interleaved. A batch that fails
//! is re-run request by request, so one bad request fails only itself.
//!
//! Sizes count rows (a single-row request is one row). Requests as large as the target, or whose
//! columns differ from the batch being gathered, run in a batch of their own. A caller alone with
//! the model runs at once (no wait, no queue); the delay only applies when others are in flight.
//! With a delay of 0 nothing waits at all: requests already queued when a batch starts join it.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use arrow::compute::concat_batches;
use arrow::record_batch::RecordBatch;
use joey_engine::{Engine, EngineError, LoadedModel};
use tokio::sync::{mpsc, oneshot};

/// How a [`Batcher`] gathers (see `joey_core::model::DynamicBatching`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BatchingConfig {
    pub max_delay: Duration,
    pub target_rows: usize,
    pub limit_rows: usize,
    /// Joey's own batching of models without a config: no timer; a batch gathers only while the
    /// previous one still runs and starts as soon as the model is free (see [`BatchingConfig::adaptive`]).
    pub adaptive: bool,
}

impl From<joey_core::model::DynamicBatching> for BatchingConfig {
    fn from(d: joey_core::model::DynamicBatching) -> Self {
        Self { max_delay: Duration::from_millis(d.max_delay_ms), target_rows: d.target_rows, limit_rows: d.limit_rows, adaptive: false }
    }
}

impl BatchingConfig {
    /// Batching that never makes a request wait for company: requests that arrive while this
    /// replica's previous batch is still running gather (up to `ADAPTIVE_TARGET_ROWS` rows) and
    /// run together as soon as it finishes. Under light load every request runs at once, alone.
    pub fn adaptive() -> Self {
        Self { max_delay: Duration::ZERO, target_rows: ADAPTIVE_TARGET_ROWS, limit_rows: ADAPTIVE_TARGET_ROWS, adaptive: true }
    }
}

/// Largest batch adaptive batching gathers (rows).
pub const ADAPTIVE_TARGET_ROWS: usize = 32;

struct Job {
    batch: RecordBatch,
    reply: oneshot::Sender<Result<RecordBatch, EngineError>>,
}

/// Gathers requests for one model replica and runs them together.
pub struct Batcher {
    tx: mpsc::Sender<Job>,
    target_rows: usize,
    /// Adaptive mode: held by whatever runs on the model (a lone caller or a batch).
    free: Option<Arc<tokio::sync::Semaphore>>,
    /// Callers between entering `run` and getting their answer.
    busy: AtomicUsize,
    /// Model runs made (a batch of several requests counts once).
    pub runs: Arc<AtomicU64>,
}

/// Counts a caller as busy until dropped (also when the caller's future is dropped mid-way).
struct Busy<'a>(&'a AtomicUsize);

impl Drop for Busy<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

impl Batcher {
    /// Starts the gathering task (it ends when the batcher is dropped). Needs a Tokio runtime.
    pub fn spawn(engine: Engine, model: Arc<LoadedModel>, cfg: BatchingConfig) -> Self {
        let (tx, rx) = mpsc::channel(4096);
        let runs = Arc::new(AtomicU64::new(0));
        let free = cfg.adaptive.then(|| Arc::new(tokio::sync::Semaphore::new(1)));
        match free.clone() {
            Some(free) => tokio::spawn(gather_adaptive(engine, model, cfg, rx, runs.clone(), free)),
            None => tokio::spawn(gather(engine, model, cfg, rx, runs.clone())),
        };
        Self { tx, target_rows: cfg.target_rows, free, busy: AtomicUsize::new(0), runs }
    }

    /// Runs `batch` (already mapped to the model's inputs), batched with other callers' requests.
    /// A caller alone with the model (nobody else between `run` and their answer) runs at once:
    /// there is nothing to batch with, so it neither waits nor pays for the queue.
    pub async fn run(&self, engine: &Engine, model: &Arc<LoadedModel>, batch: RecordBatch) -> Result<RecordBatch, EngineError> {
        let alone = self.busy.fetch_add(1, Ordering::AcqRel) == 0;
        let _busy = Busy(&self.busy);
        // Adaptive: the model is free (nothing running, no batch waiting for it) = run now.
        let model_free = self.free.as_ref().and_then(|f| f.clone().try_acquire_owned().ok());
        let alone = match &self.free {
            Some(_) => model_free.is_some(),
            None => alone,
        };
        if alone || batch.num_rows() >= self.target_rows {
            self.runs.fetch_add(1, Ordering::Relaxed);
            let out = engine.run(model.clone(), batch).await.map(|o| o.batch);
            drop(model_free);
            return out;
        }
        let (reply, answer) = oneshot::channel();
        self.tx.send(Job { batch, reply }).await.map_err(|_| EngineError::Runtime("the model's batcher has stopped".into()))?;
        answer.await.map_err(|_| EngineError::Runtime("the model's batcher dropped the request".into()))?
    }
}

async fn gather(engine: Engine, model: Arc<LoadedModel>, cfg: BatchingConfig, mut rx: mpsc::Receiver<Job>, runs: Arc<AtomicU64>) {
    let mut carried: Option<Job> = None;
    loop {
        let Some(first) = next_job(&mut carried, &mut rx).await else { return };
        let deadline = tokio::time::Instant::now() + cfg.max_delay;
        let mut rows = first.batch.num_rows();
        let mut jobs = vec![first];
        while rows < cfg.target_rows {
            // What is already queued joins at once; with a delay of 0 nothing is waited for.
            let next = match rx.try_recv() {
                Ok(job) => Ok(Some(job)),
                Err(_) if cfg.max_delay.is_zero() => Ok(None),
                Err(_) => tokio::time::timeout_at(deadline, rx.recv()).await,
            };
            match next {
                Ok(Some(job)) => {
                    if !fits(&jobs, rows, &job, cfg) {
                        carried = Some(job);
                        break;
                    }
                    rows += job.batch.num_rows();
                    jobs.push(job);
                }
                Ok(None) | Err(_) => break,
            }
        }
        // Run while the next batch gathers; the engine's session pool bounds what runs at once.
        tokio::spawn(run_jobs(engine.clone(), model.clone(), jobs, runs.clone()));
    }
}

/// One run at a time per replica (a lone caller or a batch holds `free`): requests that arrive
/// while it runs gather; when it ends, what gathered runs at once (no timer, so a request never
/// waits for others that may not come).
async fn gather_adaptive(engine: Engine, model: Arc<LoadedModel>, cfg: BatchingConfig, mut rx: mpsc::Receiver<Job>, runs: Arc<AtomicU64>, free: Arc<tokio::sync::Semaphore>) {
    let mut carried: Option<Job> = None;
    loop {
        let Some(first) = next_job(&mut carried, &mut rx).await else { return };
        let mut rows = first.batch.num_rows();
        let mut jobs = vec![first];
        let mut closed = false;
        let permit = loop {
            if rows >= cfg.target_rows || closed || carried.is_some() {
                break free.clone().acquire_owned().await;
            }
            tokio::select! {
                biased;
                permit = free.clone().acquire_owned() => break permit,
                job = rx.recv() => match job {
                    Some(job) if fits(&jobs, rows, &job, cfg) => {
                        rows += job.batch.num_rows();
                        jobs.push(job);
                    }
                    Some(job) => carried = Some(job),
                    None => closed = true,
                },
            }
        };
        let Ok(permit) = permit else { return };
        // What queued while the permit was being taken joins too.
        while rows < cfg.target_rows && carried.is_none() {
            match rx.try_recv() {
                Ok(job) if fits(&jobs, rows, &job, cfg) => {
                    rows += job.batch.num_rows();
                    jobs.push(job);
                }
                Ok(job) => carried = Some(job),
                Err(_) => break,
            }
        }
        let (engine, model, runs) = (engine.clone(), model.clone(), runs.clone());
        tokio::spawn(async move {
            run_jobs(engine, model, jobs, runs).await;
            drop(permit);
        });
    }
}

/// The job carried over from the last batch, else the next one queued (`None`: the batcher is gone).
async fn next_job(carried: &mut Option<Job>, rx: &mut mpsc::Receiver<Job>) -> Option<Job> {
    match carried.take() {
        Some(job) => Some(job),
        None => rx.recv().await,
    }
}

/// Whether `job` can join `jobs` (same columns, within the row limit).
fn fits(jobs: &[Job], rows: usize, job: &Job, cfg: BatchingConfig) -> bool {
    job.batch.schema() == jobs[0].batch.schema() && rows + job.batch.num_rows() <= cfg.limit_rows
}

async fn run_jobs(engine: Engine, model: Arc<LoadedModel>, jobs: Vec<Job>, runs: Arc<AtomicU64>) {
    if jobs.len() > 1 {
        let batches: Vec<RecordBatch> = jobs.iter().map(|j| j.batch.clone()).collect();
        let rows: usize = batches.iter().map(RecordBatch::num_rows).sum();
        if let Ok(joined) = concat_batches(&batches[0].schema(), &batches) {
            runs.fetch_add(1, Ordering::Relaxed);
            // A model whose output is not one row per input row cannot be split back: run alone.
            if let Ok(out) = engine.run(model.clone(), joined).await.map(|o| o.batch).map_err(drop).and_then(|b| if b.num_rows() == rows { Ok(b) } else { Err(()) }) {
                let mut offset = 0;
                for job in jobs {
                    let n = job.batch.num_rows();
                    let _ = job.reply.send(Ok(out.slice(offset, n)));
                    offset += n;
                }
                return;
            }
        }
    }
    for job in jobs {
        runs.fetch_add(1, Ordering::Relaxed);
        let _ = job.reply.send(engine.run(model.clone(), job.batch).await.map(|o| o.batch));
    }
}
