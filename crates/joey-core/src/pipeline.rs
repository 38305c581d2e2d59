//! Pipelines, versions (immutable step definitions), deployments, and step parsing.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::{Error, Result};

/// A named pipeline in a workspace.
#[derive(Debug, Clone, PartialEq)]
pub struct Pipeline {
    pub id: i64,
    pub name: String,
    pub workspace_id: i64,
    pub created_by: String,
    pub created_at_ms: i64,
    pub updated_at_ms: i64,
}

/// An immutable snapshot of a pipeline's definition.
#[derive(Debug, Clone, PartialEq)]
pub struct PipelineVersion {
    pub id: i64,
    pub pipeline_id: i64,
    /// The version UUID.
    pub version: String,
    pub definition: Value,
    pub created_by: String,
    pub created_at_ms: i64,
}

/// A pipeline's deployment (one row per pipeline, reused across undeploy/redeploy so the id
/// in the inference URL is stable).
#[derive(Debug, Clone, PartialEq)]
pub struct Deployment {
    pub id: i64,
    pub pipeline_id: i64,
    /// The name part of the inference URL (Wallaroo: the pipeline name).
    pub deploy_id: String,
    pub pipeline_version_id: i64,
    pub engine_config: Value,
    pub active: bool,
    pub created_at_ms: i64,
    pub updated_at_ms: i64,
}

impl Deployment {
    /// `"{deploy_id}-{id}"`: the status name and the inference URL segment.
    pub fn name(&self) -> String {
        format!("{}-{}", self.deploy_id, self.id)
    }
    /// Requested replicas (`engine.replicas`, else autoscale min (at least 1)).
    pub fn replicas(&self) -> usize {
        let engine = self.engine_config.get("engine");
        let fixed = engine.and_then(|e| e.get("replicas")).and_then(Value::as_u64);
        let min = engine.and_then(|e| e.get("autoscale")).and_then(|a| a.get("replica_min")).and_then(Value::as_u64);
        fixed.or(min).unwrap_or(1).clamp(1, 64) as usize
    }

    /// Intra-op threads for one model: the CPUs its `engineAux.images` entry asks for (keyed
    /// `"<model>-<model version id>"` as the SDK's `sidekick_cpus` writes it, or just `"<model>"`),
    /// limits before requests, rounded down, at least 1. `None` leaves the engine default.
    pub fn model_intra_threads(&self, model_name: &str, model_version_id: i64) -> Option<usize> {
        let images = self.engine_config.get("engineAux")?.get("images")?;
        let image = images.get(format!("{model_name}-{model_version_id}")).or_else(|| images.get(model_name))?;
        let resources = image.get("resources")?;
        let cpu = ["limits", "requests"].iter().find_map(|k| resources.get(*k)?.get("cpu").and_then(cpu_quantity))?;
        Some((cpu.floor() as usize).clamp(1, 64))
    }
}

/// A Kubernetes CPU quantity: a number, `"2"`, `"1.5"` or `"500m"`.
fn cpu_quantity(v: &Value) -> Option<f64> {
    match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => match s.strip_suffix('m') {
            Some(milli) => milli.parse::<f64>().ok().map(|m| m / 1000.0),
            None => s.parse().ok(),
        },
        _ => None,
    }
    .filter(|c| c.is_finite() && *c > 0.0)
}

/// A model as a step names it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelRef {
    pub name: String,
    pub version: String,
    pub sha: String,
}

/// A parsed pipeline step.
#[derive(Debug, Clone)]
pub enum Step {
    /// One model, or several run on the same input (shadow deploy / multi-model).
    ModelInference(Vec<ModelRef>),
    RandomSplit { hash_key: Option<String>, weights: Vec<(ModelRef, f64)> },
    MetaValueSplit { split_key: String, control: ModelRef, routes: Vec<(String, ModelRef)> },
    AuditResults { from: usize, to: Option<usize> },
    Nth(usize),
    MultiOut,
    Check(Vec<crate::check::Validation>),
}

impl Step {
    /// Every model the step may run.
    pub fn models(&self) -> Vec<&ModelRef> {
        match self {
            Step::ModelInference(m) => m.iter().collect(),
            Step::RandomSplit { weights, .. } => weights.iter().map(|(m, _)| m).collect(),
            Step::MetaValueSplit { control, routes, .. } => std::iter::once(control).chain(routes.iter().map(|(_, m)| m)).collect(),
            _ => Vec::new(),
        }
    }
}

fn model_ref(v: &Value, at: &str) -> Result<ModelRef> {
    serde_json::from_value(v.clone()).map_err(|e| Error::invalid(format!("{at}: a model needs name, version and sha: {e}")))
}

fn obj<'a>(v: &'a Value, at: &str) -> Result<&'a serde_json::Map<String, Value>> {
    v.as_object().ok_or_else(|| Error::invalid(format!("{at} must be an object")))
}

/// Parses `definition.steps` (a missing or empty definition is an empty pipeline).
pub fn parse_steps(definition: &Value) -> Result<Vec<Step>> {
    let steps = match definition.get("steps") {
        None | Some(Value::Null) => return Ok(Vec::new()),
        Some(Value::Array(a)) => a,
        Some(_) => return Err(Error::invalid("definition.steps must be an array")),
    };
    steps.iter().enumerate().map(|(i, s)| parse_step(s, &format!("step {i}"))).collect()
}

fn parse_step(step: &Value, at: &str) -> Result<Step> {
    let map = obj(step, at)?;
    let (kind, body) = match (map.len(), map.iter().next()) {
        (1, Some(kv)) => kv,
        _ => return Err(Error::invalid(format!("{at} must be an object with exactly one key (the step kind)"))),
    };
    let at = format!("{at} ({kind})");
    match kind.as_str() {
        "ModelInference" => {
            let models = body.get("models").and_then(Value::as_array).ok_or_else(|| Error::invalid(format!("{at}: 'models' must be an array")))?;
            if models.is_empty() {
                return Err(Error::invalid(format!("{at}: 'models' is empty")));
            }
            Ok(Step::ModelInference(models.iter().map(|m| model_ref(m, &at)).collect::<Result<_>>()?))
        }
        "RandomSplit" => {
            let weights = body.get("weights").and_then(Value::as_array).ok_or_else(|| Error::invalid(format!("{at}: 'weights' must be an array")))?;
            let weights = weights
                .iter()
                .map(|w| {
                    let weight = w.get("weight").and_then(Value::as_f64).filter(|x| *x >= 0.0 && x.is_finite());
                    let weight = weight.ok_or_else(|| Error::invalid(format!("{at}: each weight must be a non-negative number")))?;
                    Ok((model_ref(w.get("model").unwrap_or(&Value::Null), &at)?, weight))
                })
                .collect::<Result<Vec<_>>>()?;
            if weights.is_empty() || weights.iter().all(|(_, w)| *w == 0.0) {
                return Err(Error::invalid(format!("{at}: at least one weight must be positive")));
            }
            let hash_key = body.get("hash_key").and_then(Value::as_str).map(str::to_string);
            Ok(Step::RandomSplit { hash_key, weights })
        }
        "MetaValueSplit" => {
            let split_key = body.get("split_key").and_then(Value::as_str).ok_or_else(|| Error::invalid(format!("{at}: 'split_key' is required")))?;
            let control = model_ref(body.get("control").unwrap_or(&Value::Null), &at)?;
            let routes = match body.get("routes") {
                Some(Value::Object(r)) => r.iter().map(|(k, m)| Ok((k.clone(), model_ref(m, &at)?))).collect::<Result<Vec<_>>>()?,
                None | Some(Value::Null) => Vec::new(),
                Some(_) => return Err(Error::invalid(format!("{at}: 'routes' must be an object"))),
            };
            Ok(Step::MetaValueSplit { split_key: split_key.to_string(), control, routes })
        }
        "AuditResults" => {
            let from = body.get("from").and_then(Value::as_u64).unwrap_or(0) as usize;
            let to = body.get("to").and_then(Value::as_u64).map(|t| t as usize);
            Ok(Step::AuditResults { from, to })
        }
        "Nth" => Ok(Step::Nth(body.get("index").and_then(Value::as_u64).ok_or_else(|| Error::invalid(format!("{at}: 'index' is required")))? as usize)),
        "MultiOut" => Ok(Step::MultiOut),
        "Check" => Ok(Step::Check(crate::check::parse_check(body)?)),
        other => Err(Error::invalid(format!(
            "step kind '{other}' is not supported by Joey (supported: ModelInference, RandomSplit, MetaValueSplit, AuditResults, Nth, MultiOut, Check)"
        ))),
    }
}

/// The log topic of a pipeline.
pub fn topic_name(workspace_id: i64, pipeline_name: &str) -> String {
    format!("workspace-{workspace_id}-pipeline-{pipeline_name}-inference")
}

/// Splits `"{deploy_id}-{id}"` into its parts.
pub fn parse_deployment_name(name: &str) -> Option<(&str, i64)> {
    let (deploy, id) = name.rsplit_once('-')?;
    Some((deploy, id.parse().ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn m(n: &str) -> Value {
        json!({"name": n, "version": "v", "sha": "s"})
    }

    #[test]
    fn parses_the_sdk_step_shapes() {
        let def = json!({"id": "p", "steps": [
            {"ModelInference": {"models": [m("a"), m("b")]}},
            {"AuditResults": {"from": 1, "to": null}},
            {"MultiOut": {}},
            {"RandomSplit": {"hash_key": "session", "weights": [{"model": m("a"), "weight": 2}, {"model": m("b"), "weight": 1}]}},
            {"MetaValueSplit": {"split_key": "k", "control": m("a"), "routes": {"x": m("b")}}},
            {"Nth": {"index": 0}},
        ]});
        let steps = parse_steps(&def).unwrap();
        assert_eq!(steps.len(), 6);
        assert_eq!(steps[0].models().len(), 2);
        assert_eq!(steps[3].models().len(), 2);
        assert_eq!(steps[4].models().len(), 2);
        assert!(parse_steps(&json!({})).unwrap().is_empty());
    }

    #[test]
    fn rejects_unknown_and_malformed_steps_with_reasons() {
        for (def, why) in [
            (json!({"steps": [{"Average": {}}]}), "not supported"),
            (json!({"steps": [{"ModelInference": {"models": []}}]}), "empty"),
            (json!({"steps": [{"ModelInference": {"models": [{"name": "a"}]}}]}), "name, version and sha"),
            (json!({"steps": [{"RandomSplit": {"weights": [{"model": m("a"), "weight": -1}]}}]}), "non-negative"),
            (json!({"steps": "x"}), "array"),
            (json!({"steps": [{"A": {}, "B": {}}]}), "exactly one key"),
        ] {
            let err = parse_steps(&def).unwrap_err().to_string();
            assert!(err.contains(why), "{err}");
        }
    }

    #[test]
    fn deployment_names_split_at_the_last_dash() {
        assert_eq!(parse_deployment_name("ccfraud-pipe-12"), Some(("ccfraud-pipe", 12)));
        assert_eq!(parse_deployment_name("nodash"), None);
        assert_eq!(parse_deployment_name("x-y"), None);
    }

    #[test]
    fn per_model_threads_come_from_the_sidekick_cpus() {
        let dep = |cfg: Value| Deployment { id: 1, pipeline_id: 1, deploy_id: "p".into(), pipeline_version_id: 1, engine_config: cfg, active: true, created_at_ms: 0, updated_at_ms: 0 };
        let d = dep(json!({"engine": {"cpu": 4}, "engineAux": {"images": {
            "cnn-7": {"resources": {"limits": {"cpu": 2.0}, "requests": {"cpu": 1.0}}},
            "big": {"resources": {"requests": {"cpu": "3"}}},
            "half": {"resources": {"limits": {"cpu": "500m"}}},
            "bad": {"resources": {"limits": {"cpu": "lots"}}}}}}));
        assert_eq!(d.model_intra_threads("cnn", 7), Some(2));
        assert_eq!(d.model_intra_threads("cnn", 8), None);
        assert_eq!(d.model_intra_threads("big", 3), Some(3));
        assert_eq!(d.model_intra_threads("half", 1), Some(1));
        assert_eq!(d.model_intra_threads("bad", 1), None);
        assert_eq!(dep(json!({"engine": {"cpu": 4}})).model_intra_threads("cnn", 7), None);
    }
}
