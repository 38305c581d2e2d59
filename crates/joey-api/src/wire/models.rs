//! `models/*` bodies.

use joey_core::model::{Model, ModelConfig, ModelVersion, ModelWithVersions};
use joey_core::workspace::Workspace;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use utoipa::ToSchema;

use super::rfc3339;

fn ms(t: i64) -> String {
    rfc3339(&chrono::DateTime::from_timestamp_millis(t).unwrap_or_default())
}

/// `ModelRecord`.
pub fn model_record(m: &Model) -> Value {
    json!({"id": m.id, "name": m.name, "owner_id": m.owner_id, "workspace_id": m.workspace_id,
           "created_at": ms(m.created_at_ms), "updated_at": ms(m.updated_at_ms)})
}

/// `ModelVersion` (plus Joey's `signature`, an extra key the generated client keeps aside).
pub fn model_version(v: &ModelVersion) -> Value {
    json!({
        "id": v.id, "name": v.name, "visibility": v.visibility, "workspace_id": v.workspace_id,
        "conversion": v.conversion, "status": v.status.as_str(), "image_path": null, "task_id": null,
        "file_info": {"version": v.version, "sha": v.sha, "file_name": v.file_name, "size": v.size},
        "created_on_version": env!("CARGO_PKG_VERSION"), "created_by": v.created_by,
        "created_at": ms(v.created_at_ms), "deployed": v.deployed, "error_summary": v.error_summary,
        "signature": v.signature,
    })
}

/// `ModelConfig`.
pub fn model_config(c: &ModelConfig) -> Value {
    json!({
        "id": c.id, "model_version_id": c.model_version_id, "runtime": c.runtime,
        "filter_threshold": c.filter_threshold, "tensor_fields": c.tensor_fields,
        "input_schema": c.input_schema, "output_schema": c.output_schema, "batch_config": c.batch_config,
        "dynamic_batching_config": c.dynamic_batching, "continuous_batching_config": c.continuous_batching,
        "queue_depth": null, "sidekick_uri": null, "openai": c.openai,
    })
}

/// `ConfiguredModelVersion`.
pub fn configured(v: &ModelVersion, c: &ModelConfig) -> Value {
    json!({"model_version": model_version(v), "config": model_config(c)})
}

/// `WorkspaceRecord`.
pub fn workspace_record(w: &Workspace) -> Value {
    json!({"id": w.id, "name": w.name, "created_at": rfc3339(&w.created_at), "created_by": w.created_by,
           "archived": w.archived, "group_id": null})
}

/// `ListModelsItem`.
pub fn list_item(m: &ModelWithVersions, ws: &Workspace) -> Value {
    let versions: Vec<Value> = m.versions.iter().map(|(v, c)| configured(v, c)).collect();
    json!({"model": model_record(&m.model), "model_versions": versions, "workspace": workspace_record(ws)})
}

/// `ModelVersionSummaryV1` (also the element of `models/list_versions`).
pub fn version_summary(m: &Model, v: &ModelVersion) -> Value {
    json!({"sha": v.sha, "models_pk_id": m.id, "model_version": v.version, "owner_id": m.owner_id,
           "model_id": m.name, "id": v.id, "file_name": v.file_name, "image_path": null, "status": v.status.as_str()})
}

/// The upload answer: `insert_models.returning[0].models[0].id` is the new version's id.
pub fn insert_models(version_id: i64) -> Value {
    json!({"insert_models": {"returning": [{"models": [{"id": version_id}]}]}})
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct UploadMetadata {
    pub name: String,
    pub workspace_id: i64,
    #[serde(default = "private")]
    pub visibility: String,
    #[serde(default)]
    #[schema(value_type = Object)]
    pub conversion: Value,
    #[serde(default)]
    pub input_schema: Option<String>,
    #[serde(default)]
    pub output_schema: Option<String>,
    #[serde(default)]
    pub image_path: Option<String>,
}

fn private() -> String {
    "private".into()
}

#[derive(Debug, Deserialize, ToSchema, utoipa::IntoParams)]
pub struct UploadStreamQuery {
    pub name: String,
    pub filename: String,
    #[serde(default = "private")]
    pub visibility: String,
    pub workspace_id: i64,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct ListModelsRequest {
    #[serde(default)]
    pub workspace_id: Option<i64>,
    #[serde(default)]
    pub workspace_name: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct IdRequest {
    pub id: i64,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct ModelVersionIdRequest {
    pub model_version_id: i64,
    #[serde(default)]
    pub lines: Option<i64>,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct ConfigByIdRequest {
    /// The model *version* id.
    pub model_id: i64,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct ListVersionsRequest {
    #[serde(default)]
    pub model_id: Option<String>,
    #[serde(default)]
    pub models_pk_id: Option<i64>,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct ModelInWorkspaceRequest {
    /// The model *name*.
    pub model_id: String,
    pub workspace_id: i64,
    #[serde(default)]
    pub confirm_delete: Option<bool>,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct DeleteVersionsRequest {
    pub model_versions: Vec<String>,
    #[serde(default)]
    pub confirm_delete: Option<bool>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct BytesResponse {
    pub bytes: u64,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct InsertConfigRequest {
    pub model_version_id: i64,
    #[serde(default)]
    pub batch_config: Option<String>,
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub continuous_batching_config: Option<Value>,
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub dynamic_batching_config: Option<Value>,
    #[serde(default)]
    pub filter_threshold: Option<f64>,
    #[serde(default)]
    pub input_schema: Option<String>,
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub openai_config: Option<Value>,
    #[serde(default)]
    pub output_schema: Option<String>,
    #[serde(default)]
    pub tensor_fields: Option<Vec<String>>,
}

impl InsertConfigRequest {
    pub fn into_config(self) -> ModelConfig {
        ModelConfig {
            id: 0,
            model_version_id: self.model_version_id,
            runtime: String::new(),
            tensor_fields: self.tensor_fields,
            filter_threshold: self.filter_threshold,
            input_schema: self.input_schema,
            output_schema: self.output_schema,
            batch_config: self.batch_config,
            dynamic_batching: self.dynamic_batching_config,
            continuous_batching: self.continuous_batching_config,
            openai: self.openai_config,
        }
    }
}
