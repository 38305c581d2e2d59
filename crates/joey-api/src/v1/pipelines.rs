//! `pipelines/*` (create, read, delete, deploy, undeploy), `status/get_deployment`,
//! `admin/get_pipeline_*_url`, `plateau/get_*topic_name`.

use axum::extract::State;
use axum::routing::post;
use axum::{Json, Router};
use joey_core::platform::{DeployRequest, ModelSelector};
use joey_core::Error;
use joey_runtime::Health;
use serde_json::{json, Value};

use crate::extract::{Auth, WJson};
use crate::wire::pipelines::*;
use crate::{ApiError, AppState};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/v1/api/pipelines/create", post(create))
        .route("/v1/api/pipelines/get_pipeline_by_name", post(get_pipeline_by_name))
        .route("/v1/api/pipelines/list_pipelines", post(list_pipelines))
        .route("/v1/api/pipelines/list_pipeline_versions", post(list_pipeline_versions))
        .route("/v1/api/pipelines/get_version", post(get_version))
        .route("/v1/api/pipelines/delete_pipeline", post(delete_pipeline))
        .route("/v1/api/pipelines/delete_pipeline_versions", post(delete_pipeline_versions))
        .route("/v1/api/pipelines/deploy", post(deploy))
        .route("/v1/api/pipelines/undeploy", post(undeploy))
        .route("/v1/api/status/get_deployment", post(get_deployment))
        .route("/v1/api/admin/get_pipeline_external_url", post(get_pipeline_external_url))
        .route("/v1/api/admin/get_pipeline_internal_url", post(get_pipeline_internal_url))
        .route("/v1/api/plateau/get_topic_name", post(get_topic_name))
        .route("/v1/api/plateau/get_pipeline_topic_name", post(get_pipeline_topic_name))
}

/// Creates a pipeline, or a new version of an existing one (same name, same workspace).
#[utoipa::path(post, path = "/v1/api/pipelines/create", tag = "pipelines", request_body = CreatePipelineRequest,
    responses((status = 200, description = "pipeline_pk_id, pipeline_variant_pk_id, pipeline_variant_version", body = Object), (status = 400, body = crate::wire::ErrorBody)))]
pub async fn create(State(s): State<AppState>, Auth(caller): Auth, WJson(req): WJson<CreatePipelineRequest>) -> Result<Json<Value>, ApiError> {
    let (p, v) = s.platform.create_pipeline(&caller, &req.pipeline_id, req.workspace_id, req.definition).await?;
    Ok(Json(json!({"pipeline_pk_id": p.id, "pipeline_variant_pk_id": v.id, "pipeline_variant_version": v.version})))
}

#[utoipa::path(post, path = "/v1/api/pipelines/get_pipeline_by_name", tag = "pipelines", request_body = PipelineByNameRequest, responses((status = 200, body = Object), (status = 404, body = crate::wire::ErrorBody)))]
pub async fn get_pipeline_by_name(State(s): State<AppState>, Auth(caller): Auth, WJson(req): WJson<PipelineByNameRequest>) -> Result<Json<Value>, ApiError> {
    let info = s.platform.pipeline_by_name(&caller, req.workspace_id, &req.pipeline_name).await?;
    Ok(Json(list_item(&info, None)))
}

#[utoipa::path(post, path = "/v1/api/pipelines/list_pipelines", tag = "pipelines", request_body = ListPipelinesRequest, responses((status = 200, body = Object)))]
pub async fn list_pipelines(State(s): State<AppState>, Auth(caller): Auth, WJson(req): WJson<ListPipelinesRequest>) -> Result<Json<Value>, ApiError> {
    let all = match (req.workspace_id, req.workspace_name) {
        (Some(id), _) => s.platform.list_pipelines(&caller, ModelSelector::WorkspaceId(id)).await?,
        (None, Some(n)) => s.platform.list_pipelines(&caller, ModelSelector::WorkspaceName(n)).await?,
        (None, None) => s.platform.list_all_pipelines(&caller).await?,
    };
    Ok(Json(json!({"pipelines": all.iter().map(|i| list_item(i, None)).collect::<Vec<_>>()})))
}

/// Every version of a pipeline (by name), oldest first.
#[utoipa::path(post, path = "/v1/api/pipelines/list_pipeline_versions", tag = "pipelines", request_body = PipelineInWorkspaceRequest, responses((status = 200, body = Object)))]
pub async fn list_pipeline_versions(State(s): State<AppState>, Auth(caller): Auth, WJson(req): WJson<PipelineInWorkspaceRequest>) -> Result<Json<Value>, ApiError> {
    let info = s.platform.pipeline_by_name(&caller, req.workspace_id, &req.pipeline_id).await?;
    let items: Vec<Value> = info.versions.iter().map(|v| list_item(&info, Some(v))).collect();
    Ok(Json(json!({"pipeline_versions": items})))
}

#[utoipa::path(post, path = "/v1/api/pipelines/get_version", tag = "pipelines", request_body = VersionRequest, responses((status = 200, body = Object), (status = 404, body = crate::wire::ErrorBody)))]
pub async fn get_version(State(s): State<AppState>, Auth(caller): Auth, WJson(req): WJson<VersionRequest>) -> Result<Json<Value>, ApiError> {
    let (p, v) = s.platform.pipeline_version(&caller, &req.version).await?;
    Ok(Json(json!({"pipeline_id": p.name, "version": v.version, "definition": v.definition, "pipeline_pk_id": p.id, "pipeline_version_pk_id": v.id})))
}

/// Deletes a pipeline by name (409 while deployed).
#[utoipa::path(post, path = "/v1/api/pipelines/delete_pipeline", tag = "pipelines", request_body = PipelineInWorkspaceRequest, responses((status = 200, body = Object), (status = 409, body = crate::wire::ErrorBody)))]
pub async fn delete_pipeline(State(s): State<AppState>, Auth(caller): Auth, WJson(req): WJson<PipelineInWorkspaceRequest>) -> Result<Json<Value>, ApiError> {
    s.platform.delete_pipeline(&caller, req.workspace_id, &req.pipeline_id).await?;
    Ok(Json(json!({"pipeline_id": req.pipeline_id, "workspace_id": req.workspace_id})))
}

/// Deletes pipeline versions by UUID (409 for the deployed one).
#[utoipa::path(post, path = "/v1/api/pipelines/delete_pipeline_versions", tag = "pipelines", request_body = DeleteVersionsRequest, responses((status = 200, body = Object), (status = 409, body = crate::wire::ErrorBody)))]
pub async fn delete_pipeline_versions(State(s): State<AppState>, Auth(caller): Auth, WJson(req): WJson<DeleteVersionsRequest>) -> Result<Json<Value>, ApiError> {
    s.platform.delete_pipeline_versions(&caller, &req.pipeline_versions).await?;
    Ok(Json(json!({"pipeline_versions": req.pipeline_versions})))
}

/// Deploys a pipeline version; answers at once with the deployment id while it starts.
#[utoipa::path(post, path = "/v1/api/pipelines/deploy", tag = "pipelines", request_body = DeployRequestBody, responses((status = 200, description = "{\"id\": deployment id}", body = Object), (status = 400, body = crate::wire::ErrorBody)))]
pub async fn deploy(State(s): State<AppState>, Auth(caller): Auth, WJson(req): WJson<DeployRequestBody>) -> Result<Json<Value>, ApiError> {
    let req = DeployRequest {
        deploy_id: req.deploy_id,
        pipeline_version_pk_id: req.pipeline_version_pk_id,
        pipeline_version: req.pipeline_version,
        pipeline_id: req.pipeline_id,
        engine_config: req.engine_config,
    };
    let plan = s.platform.deploy(&caller, req).await?;
    let id = plan.deployment.id;
    joey_runtime::serving::bring_up(s.platform.clone(), s.deployments.clone(), plan);
    Ok(Json(json!({"id": id})))
}

/// Undeploys; `status/get_deployment` answers 404 afterwards.
#[utoipa::path(post, path = "/v1/api/pipelines/undeploy", tag = "pipelines", request_body = UndeployRequest, responses((status = 200, body = Object), (status = 404, body = crate::wire::ErrorBody)))]
pub async fn undeploy(State(s): State<AppState>, Auth(caller): Auth, WJson(req): WJson<UndeployRequest>) -> Result<Json<Value>, ApiError> {
    let dep = s.platform.undeploy(&caller, req.deployment_id, req.pipeline_id).await?;
    s.deployments.remove(dep.id);
    Ok(Json(json!({})))
}

/// Runtime status of a deployment (`Starting`, `Running` or `Error`); 404 when not deployed.
#[utoipa::path(post, path = "/v1/api/status/get_deployment", tag = "misc", request_body = StatusRequest, responses((status = 200, body = Object), (status = 404, body = crate::wire::ErrorBody)))]
pub async fn get_deployment(State(s): State<AppState>, Auth(caller): Auth, WJson(req): WJson<StatusRequest>) -> Result<Json<Value>, ApiError> {
    let (dep, pipeline) = s.platform.active_deployment(&caller, &req.name).await?;
    let live = s.deployments.get(dep.id);
    let health = live.as_ref().map(|l| l.health()).unwrap_or(Health::Starting);
    let (status, reason) = match &health {
        Health::Starting => ("Starting", None),
        Health::Running => ("Running", None),
        Health::Error(r) => ("Error", Some(r.as_str())),
    };
    let (version, replicas, models) = live.map(|l| l.meta()).unwrap_or_default();
    let phase = if status == "Error" { "Failed" } else { "Running" };
    let details: Vec<String> = reason.map(|r| vec![r.to_string()]).unwrap_or_default();
    let engines: Vec<Value> = (0..replicas.max(1))
        .map(|r| {
            let mut e = pod(&format!("engine-{}-{r}", dep.name()), phase, status, reason, details.clone());
            let running = status == "Running";
            e["pipeline_statuses"] = if running { json!({"pipelines": [{"id": pipeline.name, "status": "Running", "version": version}]}) } else { Value::Null };
            e["model_statuses"] = if running {
                json!({"models": models.iter().map(|m| json!({"model_version_id": m.model_version_id, "name": m.name, "sha": m.sha, "status": "Running", "version": m.version})).collect::<Vec<_>>()})
            } else {
                Value::Null
            };
            e
        })
        .collect();
    let lb = pod(&format!("engine-lb-{}", dep.name()), "Running", "Running", None, vec![]);
    Ok(Json(json!({"status": status, "details": details, "engines": engines, "engine_lbs": [lb], "sidekicks": [], "helm": []})))
}

async fn deployed_name(s: &AppState, caller: &joey_core::Caller, req: &PipelineUrlRequest) -> Result<String, ApiError> {
    let info = s.platform.pipeline_by_name(caller, req.workspace_id, &req.pipeline_name).await?;
    let dep = info.deployment.filter(|d| d.active).ok_or_else(|| Error::not_found(format!("pipeline '{}' is not deployed", req.pipeline_name)))?;
    Ok(dep.name())
}

#[utoipa::path(post, path = "/v1/api/admin/get_pipeline_external_url", tag = "admin", request_body = PipelineUrlRequest, responses((status = 200, body = Object), (status = 404, body = crate::wire::ErrorBody)))]
pub async fn get_pipeline_external_url(State(s): State<AppState>, Auth(caller): Auth, WJson(req): WJson<PipelineUrlRequest>) -> Result<Json<Value>, ApiError> {
    let name = deployed_name(&s, &caller, &req).await?;
    Ok(Json(json!({"url": format!("{}/v1/api/pipelines/infer/{name}/{}", s.config.public_url, req.pipeline_name)})))
}

/// The in-process equivalent of the in-cluster URL (Joey serves both on the same listener).
#[utoipa::path(post, path = "/v1/api/admin/get_pipeline_internal_url", tag = "admin", request_body = PipelineUrlRequest, responses((status = 200, body = Object), (status = 404, body = crate::wire::ErrorBody)))]
pub async fn get_pipeline_internal_url(State(s): State<AppState>, Auth(caller): Auth, WJson(req): WJson<PipelineUrlRequest>) -> Result<Json<Value>, ApiError> {
    let name = deployed_name(&s, &caller, &req).await?;
    Ok(Json(json!({"url": format!("{}/infer/{name}/{}", s.config.public_url, req.pipeline_name)})))
}

#[utoipa::path(post, path = "/v1/api/plateau/get_topic_name", tag = "plateau", request_body = TopicRequest, responses((status = 200, body = Object), (status = 404, body = crate::wire::ErrorBody)))]
pub async fn get_topic_name(State(s): State<AppState>, Auth(caller): Auth, WJson(req): WJson<TopicRequest>) -> Result<Json<Value>, ApiError> {
    let topic = s.platform.topic_name(&caller, req.pipeline_pk_id, req.workspace_id, req.pipeline_name.as_deref()).await?;
    Ok(Json(json!({"topic_name": topic})))
}

#[utoipa::path(post, path = "/v1/api/plateau/get_pipeline_topic_name", tag = "plateau", request_body = TopicRequest, responses((status = 200, body = Object), (status = 404, body = crate::wire::ErrorBody)))]
pub async fn get_pipeline_topic_name(State(s): State<AppState>, Auth(caller): Auth, WJson(req): WJson<TopicRequest>) -> Result<Json<Value>, ApiError> {
    let name = req.pipeline_name.as_deref().ok_or_else(|| Error::invalid("'pipeline_name' is required"))?;
    let topic = s.platform.topic_name(&caller, None, req.workspace_id, Some(name)).await?;
    Ok(Json(json!({"topic_name": topic})))
}
