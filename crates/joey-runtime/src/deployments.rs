//! In-process deployments: each has replicas of its models behind a round-robin router, a
//! health state, and a hot-swappable compiled pipeline (in-flight requests keep the old one).

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, RwLock};

use arrow::record_batch::RecordBatch;
use joey_core::pipeline::Step;
use joey_core::platform::DeploymentPlan;
use joey_engine::{Engine, LoadOptions};

use crate::executor::batching::{Batcher, BatchingConfig};

use crate::executor::{CompiledPipeline, CompiledStep, ExecError, ModelSlot};

/// A deployment's health as `status/get_deployment` reports it.
#[derive(Debug, Clone, PartialEq)]
pub enum Health {
    Starting,
    Running,
    Error(String),
}

/// A model as the status endpoint lists it.
#[derive(Debug, Clone)]
pub struct ModelStatusEntry {
    pub model_version_id: i64,
    pub name: String,
    pub sha: String,
    pub version: String,
}

/// One deployment served by this process.
pub struct LiveDeployment {
    pub deployment_id: i64,
    pub name: String,
    pub pipeline_name: String,
    pub workspace_id: i64,
    /// The log topic inference results go to (`<topic>-failures` for failed requests).
    pub topic: String,
    health: RwLock<Health>,
    pipeline: RwLock<Option<Arc<CompiledPipeline>>>,
    meta: RwLock<(String, usize, Vec<ModelStatusEntry>)>,
    next: AtomicUsize,
}

/// Why an inference could not be served.
#[derive(Debug, thiserror::Error)]
pub enum InferError {
    #[error("The resources required to run this request are not available. Please check the inference endpoint status and try again")]
    NotReady,
    #[error(transparent)]
    Exec(#[from] ExecError),
}

impl LiveDeployment {
    pub fn health(&self) -> Health {
        self.health.read().expect("lock").clone()
    }

    /// (pipeline version UUID, replicas, models) of the version being served or started.
    pub fn meta(&self) -> (String, usize, Vec<ModelStatusEntry>) {
        self.meta.read().expect("lock").clone()
    }

    /// Runs the pipeline on the next replica.
    pub async fn infer(&self, batch: &RecordBatch, decode_ns: u64) -> Result<RecordBatch, InferError> {
        let pipeline = self.pipeline.read().expect("lock").clone().ok_or(InferError::NotReady)?;
        let replicas = pipeline.slots.iter().map(|s| s.replicas.len()).max().unwrap_or(1).max(1);
        let r = self.next.fetch_add(1, Ordering::Relaxed) % replicas;
        let partition = format!("engine-{}-{r}", self.name);
        Ok(pipeline.infer(batch, r, &partition, decode_ns).await?)
    }
}

/// Every deployment this process serves.
#[derive(Clone)]
pub struct Deployments {
    engine: Engine,
    live: Arc<RwLock<HashMap<i64, Arc<LiveDeployment>>>>,
    start_delay: std::time::Duration,
    auto_batching: bool,
}

impl Deployments {
    pub fn new(engine: Engine) -> Self {
        Self { engine, live: Arc::new(RwLock::new(HashMap::new())), start_delay: std::time::Duration::ZERO, auto_batching: true }
    }

    /// Whether models without a `dynamic_batching_config` get adaptive batching when they can
    /// take batches (see [`auto_batchable`]); on by default.
    pub fn with_auto_batching(mut self, on: bool) -> Self {
        self.auto_batching = on;
        self
    }

    /// Keeps every deployment `Starting` for at least `delay` before its models load: a test
    /// knob for clients that behave differently with slow deployments (the SDK's limit check).
    pub fn with_start_delay(mut self, delay: std::time::Duration) -> Self {
        self.start_delay = delay;
        self
    }

    pub fn get(&self, deployment_id: i64) -> Option<Arc<LiveDeployment>> {
        self.live.read().expect("lock").get(&deployment_id).cloned()
    }

    /// Registers the deployment as starting. A deployment that is already serving keeps serving
    /// its current version until the new one is swapped in.
    pub fn begin(&self, plan: &DeploymentPlan) -> Arc<LiveDeployment> {
        let meta = (plan.version.version.clone(), plan.deployment.replicas(), models_of(plan));
        let mut map = self.live.write().expect("lock");
        let entry = map.entry(plan.deployment.id).or_insert_with(|| {
            Arc::new(LiveDeployment {
                deployment_id: plan.deployment.id,
                name: plan.deployment.name(),
                pipeline_name: plan.pipeline.name.clone(),
                workspace_id: plan.pipeline.workspace_id,
                topic: joey_core::pipeline::topic_name(plan.pipeline.workspace_id, &plan.pipeline.name),
                health: RwLock::new(Health::Starting),
                pipeline: RwLock::new(None),
                meta: RwLock::new(meta.clone()),
                next: AtomicUsize::new(0),
            })
        });
        if entry.pipeline.read().expect("lock").is_none() {
            *entry.health.write().expect("lock") = Health::Starting;
        }
        *entry.meta.write().expect("lock") = meta;
        entry.clone()
    }

    pub fn fail(&self, deployment_id: i64, reason: String) {
        if let Some(d) = self.get(deployment_id) {
            tracing::warn!(deployment = %d.name, %reason, "deployment failed");
            *d.health.write().expect("lock") = Health::Error(reason);
        }
    }

    /// Stops serving (in-flight requests finish on the pipeline they hold).
    pub fn remove(&self, deployment_id: i64) {
        self.live.write().expect("lock").remove(&deployment_id);
    }

    /// Loads the plan's models (one instance per replica), compiles the steps, swaps the result
    /// in and marks the deployment running. `paths[i]` is the local file of `plan.models[i]`.
    pub async fn start(&self, plan: &DeploymentPlan, paths: Vec<PathBuf>) -> Result<(), String> {
        if !self.start_delay.is_zero() {
            tokio::time::sleep(self.start_delay).await;
        }
        let replicas = plan.deployment.replicas();
        let engine = self.engine.clone();
        let models = plan.models.clone();
        let threads: Vec<Option<usize>> = models.iter().map(|m| plan.deployment.model_intra_threads(&m.reference.name, m.version.id)).collect();
        let slots = tokio::task::spawn_blocking(move || -> Result<Vec<ModelSlot>, String> {
            models
                .iter()
                .zip(paths)
                .zip(threads)
                .map(|((m, path), intra_threads)| {
                    let loaded = (0..replicas)
                        .map(|r| {
                            let key = session_key(&m.version.sha, intra_threads, r);
                            engine.load(&key, &path, LoadOptions { intra_threads }).map_err(|e| format!("model '{}': {e}", m.reference.name))
                        })
                        .collect::<Result<Vec<_>, _>>()?;
                    Ok(ModelSlot {
                        name: m.reference.name.clone(),
                        version: m.reference.version.clone(),
                        sha: m.reference.sha.clone(),
                        tensor_fields: m.config.tensor_fields.clone(),
                        replicas: loaded,
                        batchers: Vec::new(),
                        descriptions: Default::default(),
                    })
                })
                .collect()
        })
        .await
        .map_err(|e| e.to_string())??;
        let mut slots = slots;
        for (slot, m) in slots.iter_mut().zip(&plan.models) {
            let batching = joey_core::model::DynamicBatching::parse(m.config.dynamic_batching.as_ref()).map_err(|e| format!("model '{}': {e}", m.reference.name))?;
            let auto = self.auto_batching && auto_batchable(m.config.batch_config.as_deref(), slot.replicas[0].signature());
            if let Some(cfg) = batching.map(BatchingConfig::from).or(auto.then(BatchingConfig::adaptive)) {
                slot.batchers = slot.replicas.iter().map(|r| Batcher::spawn(self.engine.clone(), r.clone(), cfg)).collect();
            }
        }
        let steps = compile(plan, &slots)?;
        let compiled = Arc::new(CompiledPipeline { engine: self.engine.clone(), slots, steps, pipeline_version: plan.version.version.clone(), schemas: Default::default() });
        let live = self.get(plan.deployment.id).ok_or("deployment was undeployed while starting")?;
        *live.pipeline.write().expect("lock") = Some(compiled);
        *live.health.write().expect("lock") = Health::Running;
        tracing::info!(deployment = %live.name, replicas, "deployment running");
        Ok(())
    }
}

/// The engine cache key: one loaded model per sha, thread count and replica, so pipelines with
/// the same settings share sessions and different settings never do.
fn session_key(sha: &str, intra_threads: Option<usize>, replica: usize) -> String {
    let mut key = sha.to_string();
    if let Some(t) = intra_threads {
        key.push_str(&format!("@threads{t}"));
    }
    if replica > 0 {
        key.push_str(&format!("#replica{replica}"));
    }
    key
}

fn models_of(plan: &DeploymentPlan) -> Vec<ModelStatusEntry> {
    plan.models
        .iter()
        .map(|m| ModelStatusEntry { model_version_id: m.version.id, name: m.reference.name.clone(), sha: m.reference.sha.clone(), version: m.reference.version.clone() })
        .collect()
}

fn compile(plan: &DeploymentPlan, slots: &[ModelSlot]) -> Result<Vec<CompiledStep>, String> {
    let idx = |m: &joey_core::pipeline::ModelRef| slots.iter().position(|s| s.version == m.version).ok_or_else(|| format!("model '{}' is not loaded", m.name));
    plan.steps
        .iter()
        .map(|s| {
            Ok(match s {
                Step::ModelInference(ms) => CompiledStep::Models(ms.iter().map(idx).collect::<Result<_, _>>()?),
                Step::RandomSplit { hash_key, weights } => CompiledStep::RandomSplit {
                    hash_key: hash_key.clone(),
                    weights: weights.iter().map(|(m, w)| Ok((idx(m)?, *w))).collect::<Result<_, String>>()?,
                },
                Step::MetaValueSplit { split_key, control, routes } => CompiledStep::KeySplit {
                    key: split_key.clone(),
                    control: idx(control)?,
                    routes: routes.iter().map(|(k, m)| Ok((k.clone(), idx(m)?))).collect::<Result<_, String>>()?,
                },
                Step::AuditResults { .. } => CompiledStep::Audit,
                Step::Nth(i) => CompiledStep::Nth(*i),
                Step::MultiOut => CompiledStep::MultiOut,
                Step::Check(v) => CompiledStep::Check(v.clone()),
            })
        })
        .collect()
}

/// Whether Joey may batch a model on its own: its config does not say `batch_config: "single"`
/// and every input and output has a free leading (batch) dimension, so rows are independent as
/// far as the model declares. Batched results are still checked to have one row per input row.
pub fn auto_batchable(batch_config: Option<&str>, sig: &joey_engine::ModelSignature) -> bool {
    let free_batch = |t: &joey_engine::TensorSpec| t.shape.first().is_some_and(|d| d.is_none_or(|d| d < 0));
    batch_config != Some("single") && sig.inputs.iter().chain(&sig.outputs).all(free_batch)
}

impl Deployments {
    /// How many deployments are (starting, running, failed).
    pub fn health_counts(&self) -> (usize, usize, usize) {
        self.live.read().expect("lock").values().fold((0, 0, 0), |(s, r, e), l| match l.health() {
            Health::Starting => (s + 1, r, e),
            Health::Running => (s, r + 1, e),
            Health::Error(_) => (s, r, e + 1),
        })
    }

    /// Live deployments of pipelines with this name (any workspace).
    pub fn by_pipeline_name(&self, pipeline: &str) -> Vec<Arc<LiveDeployment>> {
        self.live.read().expect("lock").values().filter(|l| l.pipeline_name == pipeline).cloned().collect()
    }
}
