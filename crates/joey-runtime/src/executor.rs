//! Runs a compiled pipeline over one request batch and assembles the flat result batch
//! (`time`, `in.*`, `out.*`, `out_<model>.*`, `anomaly.*`, `metadata.*`).

mod assemble;
mod constants;
pub mod batching;
mod mapping;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use arrow::record_batch::RecordBatch;
use joey_core::check::Validation;
use joey_engine::{Engine, LoadedModel};

pub use mapping::map_inputs;
pub use assemble::SchemaCache;

/// Why an inference failed.
#[derive(Debug, thiserror::Error)]
pub enum ExecError {
    /// The request does not fit the models (400).
    #[error("{0}")]
    BadInput(String),
    /// The engine failed (500).
    #[error("{0}")]
    Internal(String),
}

/// One model of a deployment with its loaded replicas.
pub struct ModelSlot {
    pub name: String,
    pub version: String,
    pub sha: String,
    pub tensor_fields: Option<Vec<String>>,
    pub replicas: Vec<Arc<LoadedModel>>,
    /// One per replica when the model config asks for dynamic batching; empty otherwise.
    pub batchers: Vec<batching::Batcher>,
    /// `metadata.last_model` and `out._model_split` for this model, built on first use.
    pub descriptions: std::sync::OnceLock<(String, String)>,
}

impl ModelSlot {
    fn descriptions(&self) -> &(String, String) {
        self.descriptions.get_or_init(|| {
            let last = serde_json::json!({"model_name": self.name, "model_sha": self.sha}).to_string();
            let split = serde_json::json!({"name": self.name, "version": self.version, "sha": self.sha}).to_string();
            (last, split)
        })
    }

    /// `{"model_name", "model_sha"}` as `metadata.last_model` reports it.
    pub fn last_model_json(&self) -> &str {
        &self.descriptions().0
    }

    /// `{"name", "version", "sha"}` as `out._model_split` reports it.
    pub fn split_json(&self) -> &str {
        &self.descriptions().1
    }
}

/// A step with models resolved to slot indexes.
pub enum CompiledStep {
    Models(Vec<usize>),
    RandomSplit { hash_key: Option<String>, weights: Vec<(usize, f64)> },
    KeySplit { key: String, control: usize, routes: HashMap<String, usize> },
    Audit,
    Nth(usize),
    MultiOut,
    Check(Vec<Validation>),
}

/// A deployable pipeline: slots, steps and identity.
pub struct CompiledPipeline {
    pub engine: Engine,
    pub slots: Vec<ModelSlot>,
    pub steps: Vec<CompiledStep>,
    pub pipeline_version: String,
    /// Shared by consecutive results with the same columns.
    pub schemas: assemble::SchemaCache,
}

/// State carried between steps.
struct Flow {
    current: RecordBatch,
    multi: Vec<(usize, RecordBatch)>,
    last: Option<usize>,
    shadow: bool,
    split: Option<usize>,
    checks: Vec<Validation>,
}

impl CompiledPipeline {
    /// Runs every step on `input` using replica `replica` of each model.
    pub async fn infer(&self, input: &RecordBatch, replica: usize, partition: &str, decode_ns: u64) -> Result<RecordBatch, ExecError> {
        let started = Instant::now();
        let time_ms = chrono_ms();
        let mut f = Flow { current: input.clone(), multi: Vec::new(), last: None, shadow: false, split: None, checks: Vec::new() };
        for step in &self.steps {
            self.run_step(step, input, replica, &mut f).await?;
        }
        let run_ns = started.elapsed().as_nanos() as u64;
        let parts = assemble::Parts {
            time_ms,
            input,
            output: &f.current,
            shadows: if f.shadow { f.multi.iter().skip(1).map(|(s, b)| (self.slots[*s].name.as_str(), b)).collect() } else { Vec::new() },
            split: f.split.map(|s| &self.slots[s]),
            checks: &f.checks,
            last_model: f.last.map(|s| &self.slots[s]),
            pipeline_version: &self.pipeline_version,
            elapsed: [decode_ns, run_ns],
            partition,
            schemas: &self.schemas,
        };
        assemble::assemble(parts).map_err(|e| ExecError::Internal(e.to_string()))
    }

    async fn run_step(&self, step: &CompiledStep, input: &RecordBatch, replica: usize, f: &mut Flow) -> Result<(), ExecError> {
        match step {
            CompiledStep::Models(slots) => {
                let first = self.run_slot(slots[0], &f.current, replica).await?;
                let mut outs = vec![(slots[0], first.clone())];
                for s in &slots[1..] {
                    match self.run_slot(*s, &f.current, replica).await {
                        Ok(b) => outs.push((*s, b)),
                        Err(e) => tracing::warn!(model = %self.slots[*s].name, error = %e, "challenger model failed; champion answer kept"),
                    }
                }
                f.current = first;
                f.multi = outs;
                f.last = Some(slots[0]);
            }
            CompiledStep::RandomSplit { hash_key, weights } => {
                let slot = choose_weighted(weights, hash_key.as_deref().and_then(|k| split_value(input, k)));
                self.run_single(slot, replica, f).await?;
                f.split = Some(slot);
            }
            CompiledStep::KeySplit { key, control, routes } => {
                let value = first_value_as_string(input, key);
                let slot = value.and_then(|v| routes.get(&v).copied()).unwrap_or(*control);
                self.run_single(slot, replica, f).await?;
                f.split = Some(slot);
            }
            CompiledStep::Audit => {}
            CompiledStep::Nth(i) => {
                let (s, b) = f.multi.get(*i).cloned().ok_or_else(|| ExecError::BadInput(format!("Nth step: there is no model output #{i}")))?;
                f.current = b.clone();
                f.multi = vec![(s, b)];
                f.last = Some(s);
            }
            CompiledStep::MultiOut => f.shadow = true,
            CompiledStep::Check(v) => f.checks.extend(v.iter().cloned()),
        }
        Ok(())
    }

    async fn run_single(&self, slot: usize, replica: usize, f: &mut Flow) -> Result<(), ExecError> {
        let out = self.run_slot(slot, &f.current, replica).await?;
        f.current = out.clone();
        f.multi = vec![(slot, out)];
        f.last = Some(slot);
        Ok(())
    }

    async fn run_slot(&self, slot: usize, batch: &RecordBatch, replica: usize) -> Result<RecordBatch, ExecError> {
        let s = &self.slots[slot];
        let r = replica % s.replicas.len();
        let model = s.replicas[r].clone();
        let (mapped, renames) = map_inputs(&s.name, model.signature(), s.tensor_fields.as_deref(), batch)?;
        let out = match s.batchers.get(r) {
            Some(batcher) => batcher.run(&self.engine, &model, mapped).await,
            None => self.engine.run(model, mapped).await.map(|o| o.batch),
        };
        out.map_err(|e| match e {
            joey_engine::EngineError::BadInput(m) => ExecError::BadInput(format!("model '{}': {}", s.name, name_sources(m, &renames))),
            other => ExecError::Internal(format!("model '{}': {other}", s.name)),
        })
    }
}

fn chrono_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or(0)
}

/// Picks a slot: `draw` in [0,1) when the request carries the hash key, else a random draw.
fn choose_weighted(weights: &[(usize, f64)], draw: Option<f64>) -> usize {
    let total: f64 = weights.iter().map(|(_, w)| w).sum();
    let x = draw.unwrap_or_else(rand::random::<f64>) * total;
    let mut acc = 0.0;
    for (slot, w) in weights {
        acc += w;
        if x < acc {
            return *slot;
        }
    }
    weights.last().map(|(s, _)| *s).unwrap_or(0)
}

/// The sticky draw for a hash key: a number in [0,1) is used as is; anything else is hashed.
fn split_value(input: &RecordBatch, key: &str) -> Option<f64> {
    let col = input.column_by_name(key)?;
    if col.is_empty() || col.is_null(0) {
        return None;
    }
    if let Some(v) = as_f64(&assemble::cell(col.as_ref(), 0)).filter(|v| (0.0..1.0).contains(v)) {
        return Some(v);
    }
    let text = first_value_as_string(input, key)?;
    let mut h: u64 = 0xcbf29ce484222325;
    for b in text.bytes() {
        h = (h ^ b as u64).wrapping_mul(0x100000001b3);
    }
    Some((h >> 11) as f64 / (1u64 << 53) as f64)
}

fn first_value_as_string(input: &RecordBatch, key: &str) -> Option<String> {
    let col = input.column_by_name(key)?;
    if col.is_empty() || col.is_null(0) {
        return None;
    }
    Some(match assemble::cell(col.as_ref(), 0) {
        joey_core::check::Value::Str(s) => s,
        joey_core::check::Value::Int(i) => i.to_string(),
        joey_core::check::Value::Float(f) if f.fract() == 0.0 => (f as i64).to_string(),
        joey_core::check::Value::Float(f) => f.to_string(),
        joey_core::check::Value::Bool(b) => b.to_string(),
        joey_core::check::Value::List(l) => format!("{l:?}"),
        joey_core::check::Value::Null => return None,
    })
}

fn as_f64(v: &joey_core::check::Value) -> Option<f64> {
    match v {
        joey_core::check::Value::Int(i) => Some(*i as f64),
        joey_core::check::Value::Float(f) => Some(*f),
        _ => None,
    }
}

/// Names the request column behind a renamed model input in an engine message
/// (`input 'dense_input'` → `input 'dense_input' (request column 'tensor')`).
fn name_sources(message: String, renames: &[(String, String)]) -> String {
    renames.iter().fold(message, |m, (source, target)| {
        m.replace(&format!("input '{target}'"), &format!("input '{target}' (request column '{source}')"))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weighted_choice_follows_cumulative_ranges() {
        let w = vec![(0, 2.0), (1, 1.0)];
        assert_eq!(choose_weighted(&w, Some(0.0)), 0);
        assert_eq!(choose_weighted(&w, Some(0.66)), 0);
        assert_eq!(choose_weighted(&w, Some(0.67)), 1);
        let mut counts = [0, 0];
        for _ in 0..3000 {
            counts[choose_weighted(&w, None)] += 1;
        }
        assert!((1800..2200).contains(&counts[0]), "{counts:?}");
    }
}
