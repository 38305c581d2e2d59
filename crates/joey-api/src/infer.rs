//! The data plane: `POST /v1/api/pipelines/infer/{deploy_id}-{id}/{pipeline}` and its aliases
//! `/infer/{deploy_id}-{id}/{pipeline}` and the edge-style `/pipelines/{pipeline}`.
//! Errors use the engine body `{code, status, error, source}`.

use std::sync::Arc;
use std::time::Instant;

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path, RawQuery, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::Router;
use joey_core::{Caller, CallerKind, Error};
use joey_runtime::codec::{self, CodecError, DatasetParams, ResponseFormat};
use joey_runtime::{InferError, LiveDeployment};

use crate::{ApiError, AppState};

pub fn router(limit: usize) -> Router<AppState> {
    Router::new()
        .route("/v1/api/pipelines/infer/{deployment}/{pipeline}", post(infer))
        .route("/infer/{deployment}/{pipeline}", post(infer_short))
        .route("/pipelines/{pipeline}", post(infer_edge))
        .layer(DefaultBodyLimit::max(limit))
}

fn engine_err(e: Error) -> ApiError {
    ApiError::Engine(e)
}

/// Verifies the bearer token (user or service account).
async fn caller(s: &AppState, headers: &HeaderMap) -> Result<Caller, ApiError> {
    let value = headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()).ok_or_else(|| engine_err(Error::unauthenticated("Jwt is missing")))?;
    let token = value.strip_prefix("Bearer ").or_else(|| value.strip_prefix("bearer ")).ok_or_else(|| engine_err(Error::unauthenticated("Authorization header must be 'Bearer <token>'")))?;
    s.tokens.verify(token.trim()).await.map_err(engine_err)
}

/// Users must belong to the deployment's workspace; service-account tokens may call any deployment.
async fn authorize(s: &AppState, c: &Caller, live: &LiveDeployment) -> Result<(), ApiError> {
    if c.kind == CallerKind::ServiceAccount {
        return Ok(());
    }
    s.platform.workspace_for(c, live.workspace_id).await.map(|_| ()).map_err(|_| engine_err(Error::not_found("Deployment not found")))
}

fn live_by_name(s: &AppState, name: &str, pipeline: &str) -> Result<Arc<LiveDeployment>, ApiError> {
    let missing = || engine_err(Error::not_found("Deployment not found"));
    let (_, id) = joey_core::pipeline::parse_deployment_name(name).ok_or_else(missing)?;
    s.deployments.get(id).filter(|l| l.name == name && l.pipeline_name == pipeline).ok_or_else(missing)
}

/// Runs the pipeline deployed as `{deployment}` (`"{deploy_id}-{id}"`) on the request body.
#[utoipa::path(post, path = "/v1/api/pipelines/infer/{deployment}/{pipeline}", tag = "inference",
    params(("deployment" = String, Path, description = "{deploy_id}-{deployment id}"), ("pipeline" = String, Path), ("dataset[]" = Option<Vec<String>>, Query), ("dataset.exclude[]" = Option<Vec<String>>, Query), ("dataset.separator" = Option<String>, Query)),
    request_body(content_type = "application/json; format=pandas-records", content = String, description = "pandas-records JSON, Arrow IPC file/stream (application/vnd.apache.arrow.file), or application/json; format=wallaroo"),
    responses((status = 200, description = "pandas-records JSON or Arrow IPC file (by Accept)"), (status = 400, body = Object), (status = 401, body = Object), (status = 404, body = Object), (status = 503, body = Object)))]
pub async fn infer(State(s): State<AppState>, Path((deployment, pipeline)): Path<(String, String)>, headers: HeaderMap, RawQuery(q): RawQuery, body: Bytes) -> Result<Response, ApiError> {
    let c = caller(&s, &headers).await?;
    let live = live_by_name(&s, &deployment, &pipeline)?;
    authorize(&s, &c, &live).await?;
    run(&live, &headers, q.as_deref(), body).await
}

/// Alias of [`infer`] at `/infer/{deployment}/{pipeline}`.
#[utoipa::path(post, path = "/infer/{deployment}/{pipeline}", tag = "inference", params(("deployment" = String, Path), ("pipeline" = String, Path)), responses((status = 200, description = "as /v1/api/pipelines/infer")))]
pub async fn infer_short(state: State<AppState>, path: Path<(String, String)>, headers: HeaderMap, q: RawQuery, body: Bytes) -> Result<Response, ApiError> {
    infer(state, path, headers, q, body).await
}

/// Edge-style `/pipelines/{pipeline}`: the caller's deployment of that pipeline.
#[utoipa::path(post, path = "/pipelines/{pipeline}", tag = "inference", params(("pipeline" = String, Path)), responses((status = 200, description = "as /v1/api/pipelines/infer")))]
pub async fn infer_edge(State(s): State<AppState>, Path(pipeline): Path<String>, headers: HeaderMap, RawQuery(q): RawQuery, body: Bytes) -> Result<Response, ApiError> {
    let c = caller(&s, &headers).await?;
    for live in s.deployments.by_pipeline_name(&pipeline) {
        if authorize(&s, &c, &live).await.is_ok() {
            return run(&live, &headers, q.as_deref(), body).await;
        }
    }
    Err(engine_err(Error::not_found("Deployment not found")))
}

fn codec_err(e: CodecError) -> ApiError {
    match e {
        CodecError::BadRequest(m) => engine_err(Error::InvalidInput(m)),
        CodecError::Unsupported(m) => engine_err(Error::InvalidInput(m)),
    }
}

async fn run(live: &LiveDeployment, headers: &HeaderMap, query: Option<&str>, body: Bytes) -> Result<Response, ApiError> {
    let started = Instant::now();
    let params = DatasetParams::from_query(query).map_err(codec_err)?;
    let ct = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok());
    let format = codec::request_format(ct, &body).map_err(codec_err)?;
    let batch = if body.len() > 256 * 1024 {
        tokio::task::spawn_blocking(move || codec::decode_request(format, &body)).await.map_err(|e| engine_err(Error::internal(e)))?
    } else {
        codec::decode_request(format, &body)
    }
    .map_err(codec_err)?;
    let decode_ns = started.elapsed().as_nanos() as u64;
    let result = live.infer(&batch, decode_ns).await.map_err(|e| match e {
        InferError::NotReady => engine_err(Error::Unavailable(e.to_string())),
        InferError::Exec(joey_runtime::executor::ExecError::BadInput(m)) => engine_err(Error::InvalidInput(m)),
        InferError::Exec(joey_runtime::executor::ExecError::Internal(m)) => engine_err(Error::Internal(m)),
    })?;
    let selected = codec::select(&result, &params);
    let accept = headers.get(header::ACCEPT).and_then(|v| v.to_str().ok());
    let sep = params.separator.as_deref();
    let (bytes, ctype) = match codec::response_format(accept) {
        ResponseFormat::Arrow => (codec::encode_arrow(&selected, sep).map_err(codec_err)?, "application/vnd.apache.arrow.file"),
        ResponseFormat::PandasRecords => (codec::encode_json(&selected, sep), "application/json; format=pandas-records"),
        ResponseFormat::WallarooJson => (codec::encode_wallaroo_json(&selected), "application/json; format=wallaroo"),
    };
    Ok((StatusCode::OK, [(header::CONTENT_TYPE, HeaderValue::from_static(ctype))], bytes).into_response())
}
