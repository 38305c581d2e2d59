//! `pipelines/*`, `status/get_deployment`, `admin/*`, `plateau/*` bodies.

use joey_core::pipeline::{Deployment, Pipeline, PipelineVersion};
use joey_core::platform::PipelineInfo;
use serde::Deserialize;
use serde_json::{json, Value};
use utoipa::ToSchema;

use super::models::workspace_record;
use super::rfc3339;

fn ms(t: i64) -> String {
    rfc3339(&chrono::DateTime::from_timestamp_millis(t).unwrap_or_default())
}

/// `PipelineRecord`.
pub fn pipeline_record(p: &Pipeline) -> Value {
    json!({"id": p.id, "name": p.name, "created_at": ms(p.created_at_ms), "updated_at": ms(p.updated_at_ms), "workspace_id": p.workspace_id})
}

/// `LegacyPipelineVersion`.
pub fn legacy_version(p: &Pipeline, v: &PipelineVersion) -> Value {
    json!({"id": v.id.to_string(), "workspace_id": p.workspace_id, "created_at": ms(v.created_at_ms), "created_by": v.created_by,
           "created_on_version": env!("CARGO_PKG_VERSION"), "steps": v.definition,
           "version": v.version, "definition": v.definition, "pipeline_version_pk_id": v.id})
}

fn deployment_replicas(d: &Deployment) -> Value {
    json!({"maximum_replicas": d.replicas(), "prewarmed_replicas": d.replicas(), "id": d.id, "deploy_id": d.deploy_id,
           "deployed": d.active, "pipeline_version_pk_id": d.pipeline_version_id})
}

/// `ListPipelineItem` for the given version (default: the newest).
pub fn list_item(info: &PipelineInfo, version: Option<&PipelineVersion>) -> Value {
    let version = version.or(info.versions.last());
    json!({
        "pipeline": pipeline_record(&info.pipeline),
        "plateau_topic": joey_core::pipeline::topic_name(info.workspace.id, &info.pipeline.name),
        "workspace": workspace_record(&info.workspace),
        "deployment": info.deployment.as_ref().filter(|d| d.active).map(deployment_replicas),
        "pipeline_version": version.map(|v| legacy_version(&info.pipeline, v)),
    })
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct CreatePipelineRequest {
    /// The pipeline *name*.
    pub pipeline_id: String,
    pub workspace_id: i64,
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub definition: Value,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct PipelineByNameRequest {
    pub pipeline_name: String,
    pub workspace_id: i64,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct PipelineInWorkspaceRequest {
    /// The pipeline *name*.
    pub pipeline_id: String,
    pub workspace_id: i64,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct ListPipelinesRequest {
    #[serde(default)]
    pub workspace_id: Option<i64>,
    #[serde(default)]
    pub workspace_name: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct VersionRequest {
    pub version: String,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct DeleteVersionsRequest {
    pub pipeline_versions: Vec<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct DeployRequestBody {
    pub deploy_id: String,
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub engine_config: Value,
    #[serde(default)]
    pub model_configs: Option<Vec<i64>>,
    #[serde(default)]
    pub model_ids: Option<Vec<i64>>,
    #[serde(default)]
    #[schema(value_type = Option<Vec<Object>>)]
    pub models: Option<Vec<Value>>,
    /// The pipeline's numeric id.
    #[serde(default)]
    pub pipeline_id: Option<i64>,
    #[serde(default)]
    pub pipeline_version: Option<String>,
    #[serde(default)]
    pub pipeline_version_pk_id: Option<i64>,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct UndeployRequest {
    #[serde(default)]
    pub deployment_id: Option<i64>,
    #[serde(default)]
    pub pipeline_id: Option<i64>,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct StatusRequest {
    /// `"{deploy_id}-{deployment id}"`.
    pub name: String,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct PipelineUrlRequest {
    pub workspace_id: i64,
    pub pipeline_name: String,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct TopicRequest {
    #[serde(default)]
    pub workspace_id: Option<i64>,
    #[serde(default)]
    pub pipeline_name: Option<String>,
    #[serde(default)]
    pub pipeline_pk_id: Option<i64>,
}

/// A Kubernetes-pod-like status entry (fields both under `info` and at the top level, as the SDK reads both).
pub fn pod(name: &str, phase: &str, health: &str, reason: Option<&str>, details: Vec<String>) -> Value {
    let info = json!({"name": name, "status": phase, "details": details, "labels": {"app": "joey"}, "health": health,
                      "ip": "127.0.0.1", "reason": reason, "required_cpu": null, "required_memory": null});
    let mut entry = info.clone();
    entry["info"] = info;
    entry
}
