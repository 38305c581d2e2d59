//! `models/*`: uploads (multipart and raw stream), reads, configs, logs and deletes.

use axum::extract::{DefaultBodyLimit, Multipart, Query, State};
use axum::http::StatusCode;
use axum::routing::post;
use axum::{Json, Router};
use joey_core::platform::{ModelSelector, UploadMeta};
use joey_core::{Caller, Error};
use serde_json::{json, Value};

use crate::extract::{Auth, WJson};
use crate::stage::{stage, Staged};
use crate::wire::models::*;
use crate::{ApiError, AppState};

pub fn router() -> Router<AppState> {
    let uploads = Router::new()
        .route("/v1/api/models/upload", post(upload))
        .route("/v1/api/models/upload_and_convert", post(upload_and_convert))
        .route("/v1/api/models/upload_stream", post(upload_stream))
        .layer(DefaultBodyLimit::disable());
    Router::new()
        .merge(uploads)
        .route("/v1/api/models/list", post(list))
        .route("/v1/api/models/get", post(get))
        .route("/v1/api/models/get_by_id", post(get_by_id))
        .route("/v1/api/models/get_model_version_by_id", post(get_model_version_by_id))
        .route("/v1/api/models/get_version_by_id", post(get_model_version_by_id))
        .route("/v1/api/models/list_versions", post(list_versions))
        .route("/v1/api/models/list_versions_for_model", post(list_versions_for_model))
        .route("/v1/api/models/get_config_by_id", post(get_config_by_id))
        .route("/v1/api/models/insert_model_config", post(insert_model_config))
        .route("/v1/api/models/get_upload_logs", post(get_upload_logs))
        .route("/v1/api/models/delete_model", post(delete_model))
        .route("/v1/api/models/delete_model_versions", post(delete_model_versions))
}

/// Reads `metadata` and `file` parts in either order, streaming the file to staging.
async fn read_multipart(s: &AppState, mp: Result<Multipart, axum::extract::multipart::MultipartRejection>) -> Result<(UploadMetadata, Option<(Staged, String)>), Error> {
    let mut mp = mp.map_err(|e| Error::invalid(format!("expected a multipart/form-data body: {}", e.body_text())))?;
    let (mut meta, mut file) = (None, None);
    let bad = |e: axum::extract::multipart::MultipartError| Error::invalid(format!("malformed multipart body: {}", e.body_text()));
    while let Some(field) = mp.next_field().await.map_err(bad)? {
        match field.name() {
            Some("metadata") => {
                let text = field.text().await.map_err(bad)?;
                meta = Some(serde_json::from_str::<UploadMetadata>(&text).map_err(|e| Error::invalid(format!("invalid 'metadata' part: {e}")))?);
            }
            Some("file") => {
                let name = field.file_name().unwrap_or("model").to_string();
                let staged = stage(&s.platform.artifacts.staging_dir(), field, s.config.upload_limit).await?;
                file = Some((staged, name));
            }
            _ => {}
        }
    }
    Ok((meta.ok_or_else(|| Error::invalid("missing the 'metadata' part"))?, file))
}

async fn register(s: &AppState, caller: &Caller, meta: UploadMetadata, staged: Staged, file_name: String) -> Result<Value, Error> {
    let upload = UploadMeta {
        workspace_id: meta.workspace_id,
        name: meta.name,
        visibility: meta.visibility,
        conversion: meta.conversion,
        file_name,
        input_schema: meta.input_schema,
        output_schema: meta.output_schema,
    };
    let (version, _) = s.platform.upload_model(caller, upload, &staged.path, &staged.sha, staged.size).await?;
    let platform = s.platform.clone();
    tokio::spawn(async move {
        if let Err(e) = platform.load_model_version(version.id).await {
            tracing::error!(version = version.id, error = %e, "model load failed");
        }
    });
    Ok(insert_models(version.id))
}

async fn multipart_upload(s: AppState, caller: Caller, mp: Result<Multipart, axum::extract::multipart::MultipartRejection>) -> Result<Value, ApiError> {
    let (meta, file) = read_multipart(&s, mp).await?;
    let (staged, name) = file.ok_or_else(|| match meta.image_path {
        Some(_) => Error::NotImplemented("registering container images (metadata without a file) is not supported by Joey yet".into()),
        None => Error::invalid("missing the 'file' part"),
    })?;
    Ok(register(&s, &caller, meta, staged, name).await?)
}

/// Uploads a model file (multipart `metadata` + `file`, either order).
#[utoipa::path(post, path = "/v1/api/models/upload", tag = "model", request_body(content_type = "multipart/form-data", content = String),
    responses((status = 200, description = "insert_models.returning[0].models[0].id = new model version id", body = Object), (status = 400, body = crate::wire::ErrorBody), (status = 413, body = crate::wire::ErrorBody)))]
pub async fn upload(State(s): State<AppState>, Auth(caller): Auth, mp: Result<Multipart, axum::extract::multipart::MultipartRejection>) -> Result<Json<Value>, ApiError> {
    Ok(Json(multipart_upload(s, caller, mp).await?))
}

/// Same as `upload`, answering 202: loading (and, for non-native frameworks, conversion) continues in the background.
#[utoipa::path(post, path = "/v1/api/models/upload_and_convert", tag = "model", request_body(content_type = "multipart/form-data", content = String),
    responses((status = 202, body = Object), (status = 400, body = crate::wire::ErrorBody), (status = 413, body = crate::wire::ErrorBody)))]
pub async fn upload_and_convert(State(s): State<AppState>, Auth(caller): Auth, mp: Result<Multipart, axum::extract::multipart::MultipartRejection>) -> Result<(StatusCode, Json<Value>), ApiError> {
    Ok((StatusCode::ACCEPTED, Json(multipart_upload(s, caller, mp).await?)))
}

/// Uploads a raw byte stream; metadata in the query string.
#[utoipa::path(post, path = "/v1/api/models/upload_stream", tag = "model", params(UploadStreamQuery), request_body(content_type = "application/octet-stream", content = String),
    responses((status = 200, body = Object), (status = 400, body = crate::wire::ErrorBody), (status = 413, body = crate::wire::ErrorBody)))]
pub async fn upload_stream(State(s): State<AppState>, Auth(caller): Auth, q: Result<Query<UploadStreamQuery>, axum::extract::rejection::QueryRejection>, body: axum::body::Body) -> Result<Json<Value>, ApiError> {
    let Query(q) = q.map_err(|e| Error::invalid(format!("bad query string: {}", e.body_text())))?;
    let staged = stage(&s.platform.artifacts.staging_dir(), body.into_data_stream(), s.config.upload_limit).await?;
    let meta = UploadMetadata { name: q.name, workspace_id: q.workspace_id, visibility: q.visibility, conversion: Value::Null, input_schema: None, output_schema: None, image_path: None };
    Ok(Json(register(&s, &caller, meta, staged, q.filename).await?))
}

/// Models of a workspace with every version and its config.
#[utoipa::path(post, path = "/v1/api/models/list", tag = "model", request_body = ListModelsRequest, responses((status = 200, body = Object)))]
pub async fn list(State(s): State<AppState>, Auth(caller): Auth, WJson(req): WJson<ListModelsRequest>) -> Result<Json<Value>, ApiError> {
    let sel = match (req.workspace_id, req.workspace_name) {
        (Some(id), _) => ModelSelector::WorkspaceId(id),
        (None, Some(n)) => ModelSelector::WorkspaceName(n),
        (None, None) => return Err(Error::invalid("give 'workspace_id' or 'workspace_name'").into()),
    };
    let (ws, models) = s.platform.list_models(&caller, sel).await?;
    Ok(Json(json!({"models": models.iter().map(|m| list_item(m, &ws)).collect::<Vec<_>>()})))
}

/// A model by id with version summaries.
#[utoipa::path(post, path = "/v1/api/models/get", tag = "model", request_body = IdRequest, responses((status = 200, body = Object), (status = 404, body = crate::wire::ErrorBody)))]
pub async fn get(State(s): State<AppState>, Auth(caller): Auth, WJson(req): WJson<IdRequest>) -> Result<Json<Value>, ApiError> {
    let (ws, m) = s.platform.get_model(&caller, req.id).await?;
    let mut body = model_record(&m.model);
    body["models"] = m.versions.iter().map(|(v, _)| version_summary(&m.model, v)).collect();
    body["workspace"] = json!({"id": ws.id, "name": ws.name});
    Ok(Json(body))
}

/// A model by id with the latest config of its newest version.
#[utoipa::path(post, path = "/v1/api/models/get_by_id", tag = "model", request_body = IdRequest, responses((status = 200, body = Object), (status = 404, body = crate::wire::ErrorBody)))]
pub async fn get_by_id(State(s): State<AppState>, Auth(caller): Auth, WJson(req): WJson<IdRequest>) -> Result<Json<Value>, ApiError> {
    let (_, m) = s.platform.get_model(&caller, req.id).await?;
    let mut body = model_record(&m.model);
    body["model_config"] = m.versions.last().map(|(_, c)| json!({"id": c.id, "runtime": c.runtime, "tensor_fields": c.tensor_fields, "filter_threshold": c.filter_threshold})).unwrap_or(Value::Null);
    Ok(Json(body))
}

/// A version with its current config (also served at the SDK's alias `get_version_by_id`).
#[utoipa::path(post, path = "/v1/api/models/get_model_version_by_id", tag = "model", request_body = ModelVersionIdRequest, responses((status = 200, body = Object), (status = 404, body = crate::wire::ErrorBody)))]
pub async fn get_model_version_by_id(State(s): State<AppState>, Auth(caller): Auth, WJson(req): WJson<ModelVersionIdRequest>) -> Result<Json<Value>, ApiError> {
    let (v, c) = s.platform.get_model_version(&caller, req.model_version_id).await?;
    Ok(Json(json!({"model_version": configured(&v, &c)})))
}

/// Versions of a model by name or numeric id, oldest first (callers take the last as newest).
#[utoipa::path(post, path = "/v1/api/models/list_versions", tag = "model", request_body = ListVersionsRequest, responses((status = 200, body = Vec<Object>)))]
pub async fn list_versions(State(s): State<AppState>, Auth(caller): Auth, WJson(req): WJson<ListVersionsRequest>) -> Result<Json<Value>, ApiError> {
    let all = s.platform.list_versions(&caller, req.model_id.as_deref(), req.models_pk_id).await?;
    Ok(Json(all.iter().map(|(m, v)| version_summary(m, v)).collect()))
}

/// The versions of one model (by name) in a workspace.
#[utoipa::path(post, path = "/v1/api/models/list_versions_for_model", tag = "model", request_body = ModelInWorkspaceRequest, responses((status = 200, body = Object)))]
pub async fn list_versions_for_model(State(s): State<AppState>, Auth(caller): Auth, WJson(req): WJson<ModelInWorkspaceRequest>) -> Result<Json<Value>, ApiError> {
    let (ws, m) = s.platform.model_by_name(&caller, req.workspace_id, &req.model_id).await?;
    Ok(Json(json!({"models": [list_item(&m, &ws)]})))
}

/// The latest config of a model version (`model_id` carries the version id).
#[utoipa::path(post, path = "/v1/api/models/get_config_by_id", tag = "model", request_body = ConfigByIdRequest, responses((status = 200, body = Object)))]
pub async fn get_config_by_id(State(s): State<AppState>, Auth(caller): Auth, WJson(req): WJson<ConfigByIdRequest>) -> Result<Json<Value>, ApiError> {
    let c = s.platform.latest_config(&caller, req.model_id).await?;
    Ok(Json(json!({"model_config": c.as_ref().map(model_config)})))
}

/// Creates a new config (new id) for a model version.
#[utoipa::path(post, path = "/v1/api/models/insert_model_config", tag = "model", request_body = InsertConfigRequest, responses((status = 200, body = Object), (status = 400, body = crate::wire::ErrorBody)))]
pub async fn insert_model_config(State(s): State<AppState>, Auth(caller): Auth, WJson(req): WJson<InsertConfigRequest>) -> Result<Json<Value>, ApiError> {
    let c = s.platform.insert_model_config(&caller, req.into_config()).await?;
    Ok(Json(json!({"model_config": model_config(&c)})))
}

/// What happened during upload and load.
#[utoipa::path(post, path = "/v1/api/models/get_upload_logs", tag = "model", request_body = ModelVersionIdRequest, responses((status = 200, body = Object)))]
pub async fn get_upload_logs(State(s): State<AppState>, Auth(caller): Auth, WJson(req): WJson<ModelVersionIdRequest>) -> Result<Json<Value>, ApiError> {
    let logs = s.platform.upload_logs(&caller, req.model_version_id, req.lines).await?;
    Ok(Json(json!({"logs": logs})))
}

/// Deletes a model (by name) and all its versions; `bytes` is what was freed.
#[utoipa::path(post, path = "/v1/api/models/delete_model", tag = "model", request_body = ModelInWorkspaceRequest, responses((status = 200, body = BytesResponse), (status = 404, body = crate::wire::ErrorBody)))]
pub async fn delete_model(State(s): State<AppState>, Auth(caller): Auth, WJson(req): WJson<ModelInWorkspaceRequest>) -> Result<Json<BytesResponse>, ApiError> {
    let bytes = s.platform.delete_model(&caller, req.workspace_id, &req.model_id).await?;
    Ok(Json(BytesResponse { bytes }))
}

/// Deletes versions by UUID; `bytes` is what was freed (shared bytes are kept).
#[utoipa::path(post, path = "/v1/api/models/delete_model_versions", tag = "model", request_body = DeleteVersionsRequest, responses((status = 200, body = BytesResponse), (status = 404, body = crate::wire::ErrorBody)))]
pub async fn delete_model_versions(State(s): State<AppState>, Auth(caller): Auth, WJson(req): WJson<DeleteVersionsRequest>) -> Result<Json<BytesResponse>, ApiError> {
    let bytes = s.platform.delete_model_versions(&caller, &req.model_versions).await?;
    Ok(Json(BytesResponse { bytes }))
}
