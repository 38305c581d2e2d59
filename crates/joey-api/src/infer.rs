//! The data plane: `POST /v1/api/pipelines/infer/{deploy_id}-{id}/{pipeline}` and its aliases
//! `/infer/{deploy_id}-{id}/{pipeline}` and the edge-style `/pipelines/{pipeline}`.
//! Errors use the engine body `{code, status, error, source}`.

use std::sync::Arc;
use std::time::Instant;

use axum::body::{Body, Bytes};
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, Path, RawQuery, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::Router;
use joey_core::{Caller, CallerKind, Error};
use joey_runtime::codec::{self, CodecError, DatasetParams, ResponseFormat};
use joey_runtime::{InferError, LiveDeployment};

use crate::chunks::Chunks;
use crate::offload::off_runtime;
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
pub async fn infer(State(s): State<AppState>, Path((deployment, pipeline)): Path<(String, String)>, headers: HeaderMap, RawQuery(q): RawQuery, body: Result<Bytes, BytesRejection>) -> Result<Response, ApiError> {
    let c = caller(&s, &headers).await?;
    let body = body_or_error(body)?;
    let live = live_by_name(&s, &deployment, &pipeline)?;
    authorize(&s, &c, &live).await?;
    run(&s, &live, &headers, q.as_deref(), body).await
}

/// Alias of [`infer`] at `/infer/{deployment}/{pipeline}`.
#[utoipa::path(post, path = "/infer/{deployment}/{pipeline}", tag = "inference", params(("deployment" = String, Path), ("pipeline" = String, Path)), responses((status = 200, description = "as /v1/api/pipelines/infer")))]
pub async fn infer_short(state: State<AppState>, path: Path<(String, String)>, headers: HeaderMap, q: RawQuery, body: Result<Bytes, BytesRejection>) -> Result<Response, ApiError> {
    infer(state, path, headers, q, body).await
}

/// Edge-style `/pipelines/{pipeline}`: the caller's deployment of that pipeline.
#[utoipa::path(post, path = "/pipelines/{pipeline}", tag = "inference", params(("pipeline" = String, Path)), responses((status = 200, description = "as /v1/api/pipelines/infer")))]
pub async fn infer_edge(State(s): State<AppState>, Path(pipeline): Path<String>, headers: HeaderMap, RawQuery(q): RawQuery, body: Result<Bytes, BytesRejection>) -> Result<Response, ApiError> {
    let c = caller(&s, &headers).await?;
    let body = body_or_error(body)?;
    for live in s.deployments.by_pipeline_name(&pipeline) {
        if authorize(&s, &c, &live).await.is_ok() {
            return run(&s, &live, &headers, q.as_deref(), body).await;
        }
    }
    Err(engine_err(Error::not_found("Deployment not found")))
}

/// A body that could not be read (too large, interrupted) as an engine error.
fn body_or_error(body: Result<Bytes, BytesRejection>) -> Result<Bytes, ApiError> {
    body.map_err(|e| {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            engine_err(Error::TooLarge(format!("the request body is larger than the inference limit: {}", e.body_text())))
        } else {
            engine_err(Error::invalid(format!("cannot read the request body: {}", e.body_text())))
        }
    })
}

fn codec_err(e: CodecError) -> ApiError {
    match e {
        CodecError::BadRequest(m) => engine_err(Error::InvalidInput(m)),
        CodecError::Unsupported(m) => engine_err(Error::InvalidInput(m)),
    }
}

async fn run(s: &AppState, live: &LiveDeployment, headers: &HeaderMap, query: Option<&str>, body: Bytes) -> Result<Response, ApiError> {
    let started = Instant::now();
    let params = DatasetParams::from_query(query).map_err(codec_err)?;
    let ct = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok());
    let format = codec::request_format(ct, &body).map_err(codec_err)?;
    // A big body is decoded on the blocking pool, and an Arrow one in place: its columns keep the
    // body's bytes (a small body may share hyper's read buffer, so it is copied instead).
    let batch = if body.len() > OFFLOAD_BYTES {
        off_runtime(move || codec::decode_request_shared(format, &body)).await.map_err(engine_err)?
    } else {
        codec::decode_request(format, &body)
    }
    .map_err(codec_err)?;
    let decode_ns = started.elapsed().as_nanos() as u64;
    let result = match live.infer(&batch, decode_ns).await {
        Ok(r) => r,
        Err(e) => {
            if s.config.inference_logging && !matches!(e, InferError::NotReady) {
                s.logs.append(&format!("{}-failures", live.topic), failure_record(&batch, &e.to_string(), &format!("engine-{}", live.name)));
            }
            return Err(match e {
                InferError::NotReady => engine_err(Error::Unavailable(e.to_string())),
                InferError::Exec(joey_runtime::executor::ExecError::BadInput(m)) => engine_err(Error::InvalidInput(m)),
                InferError::Exec(joey_runtime::executor::ExecError::Internal(m)) => engine_err(Error::Internal(m)),
            });
        }
    };
    // Handing the result to the log store is a non-blocking enqueue; a full queue sheds it.
    let shed = s.config.inference_logging && !s.logs.append(&live.topic, result.clone());
    let selected = codec::select(&result, &params);
    let accept = headers.get(header::ACCEPT).and_then(|v| v.to_str().ok());
    let (body, ctype) = encode(selected, codec::response_format(accept), params.separator).await?;
    let mut resp = (StatusCode::OK, [(header::CONTENT_TYPE, HeaderValue::from_static(ctype))], body).into_response();
    if shed {
        resp.headers_mut().insert("x-joey-log-dropped", HeaderValue::from_static("1"));
    }
    Ok(resp)
}

/// Results above this size are printed as JSON on the blocking pool (milliseconds of work),
/// like request bodies above it are parsed there, so big answers never stall the workers that
/// serve small ones. They are printed in up to one part per core, each part at least
/// `PART_BYTES` of result.
const OFFLOAD_BYTES: usize = 256 * 1024;
const PART_BYTES: usize = 256 * 1024;

/// The response body and its content type. Arrow shares the result's buffers (cheap); JSON
/// prints every value.
async fn encode(batch: arrow::record_batch::RecordBatch, format: ResponseFormat, sep: Option<String>) -> Result<(Body, &'static str), ApiError> {
    let ctype = match format {
        ResponseFormat::Arrow => return Ok((Body::new(Chunks::new(codec::encode_arrow_chunks(&batch, sep.as_deref()).map_err(codec_err)?)), "application/vnd.apache.arrow.file")),
        ResponseFormat::WallarooJson => "application/json; format=wallaroo",
        ResponseFormat::PandasRecords => "application/json; format=pandas-records",
    };
    // The Wallaroo JSON answer is the nested pandas-records layout (no separator).
    let sep = if format == ResponseFormat::WallarooJson { None } else { sep };
    let size = batch.get_array_memory_size();
    if size <= OFFLOAD_BYTES {
        return Ok((Body::from(codec::encode_json(&batch, sep.as_deref())), ctype));
    }
    static CORES: std::sync::OnceLock<usize> = std::sync::OnceLock::new();
    let cores = *CORES.get_or_init(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    let rows = batch.num_rows();
    let parts = cores.min(size / PART_BYTES).clamp(1, rows.max(1));
    let tasks: Vec<_> = (0..parts)
        .map(|i| {
            let (start, end) = (rows * i / parts, rows * (i + 1) / parts);
            let (slice, sep) = (batch.slice(start, end - start), sep.clone());
            off_runtime(move || codec::encode_json(&slice, sep.as_deref()))
        })
        .collect();
    let mut printed = Vec::with_capacity(parts);
    for task in tasks {
        printed.push(task.await.map_err(engine_err)?);
    }
    Ok((Body::new(Chunks::new(codec::join_json_arrays(printed))), ctype))
}

/// A failed request as a log record: `time`, the input columns as `in.*`, `error`, and the
/// partition `engine-<deployment>`.
fn failure_record(input: &arrow::record_batch::RecordBatch, message: &str, partition: &str) -> arrow::record_batch::RecordBatch {
    use arrow::array::{ArrayRef, Int64Array, StringArray};
    use arrow::datatypes::{DataType, Field, Schema};
    let n = input.num_rows();
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or(0);
    let mut fields = vec![Field::new("time", DataType::Int64, false)];
    let mut cols: Vec<ArrayRef> = vec![Arc::new(Int64Array::from(vec![now; n]))];
    for (f, c) in input.schema().fields().iter().zip(input.columns()) {
        fields.push(f.as_ref().clone().with_name(format!("in.{}", f.name())));
        cols.push(c.clone());
    }
    fields.push(Field::new("error", DataType::Utf8, false));
    cols.push(Arc::new(StringArray::from(vec![message; n])));
    fields.push(Field::new("metadata.partition", DataType::Utf8, false));
    cols.push(Arc::new(StringArray::from(vec![partition; n])));
    arrow::record_batch::RecordBatch::try_new(Arc::new(Schema::new(fields)), cols).unwrap_or_else(|_| arrow::record_batch::RecordBatch::new_empty(Arc::new(Schema::empty())))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicBool, Ordering};

    /// A big answer is printed off the runtime: on a one-thread runtime another task runs before
    /// the printing ends (printed inline, `encode` would finish in its first poll). The parts
    /// joined are the same bytes as printing the whole at once.
    #[tokio::test(flavor = "current_thread")]
    async fn big_json_answers_are_printed_off_the_runtime() {
        use arrow::array::{ArrayRef, Float64Array};
        let rows = 200_000;
        let col: ArrayRef = Arc::new(Float64Array::from_iter_values((0..rows).map(|i| i as f64 * 0.37)));
        let batch = arrow::record_batch::RecordBatch::try_from_iter([("out.y", col)]).unwrap();
        assert!(batch.get_array_memory_size() > OFFLOAD_BYTES);
        let ran = AtomicBool::new(false);
        let (printed, ran_before_done) = tokio::join!(
            async {
                let r = encode(batch.clone(), ResponseFormat::PandasRecords, None).await;
                (r, ran.load(Ordering::SeqCst))
            },
            async { ran.store(true, Ordering::SeqCst) }
        )
        .0;
        assert!(ran_before_done, "another task ran while the answer was printed");
        let (body, ctype) = printed.unwrap();
        assert_eq!(ctype, "application/json; format=pandas-records");
        let bytes = axum::body::to_bytes(body, usize::MAX).await.unwrap();
        assert_eq!(bytes.as_ref(), codec::encode_json(&batch, None).as_slice());
    }
}
