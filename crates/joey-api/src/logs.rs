//! Inference logs: the Plateau-style topic API (`/v1/logs/topic/{topic}` and `/records`) and
//! `POST /v1/api/pipelines/get_logs`. Reads go through the embedded log store; every call checks
//! membership of the topic's workspace.

use std::collections::HashMap;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use joey_core::{Caller, Error};
use joey_logstore::{Offsets, Order, Page, PageStatus, ReadQuery};
use joey_runtime::codec::{self, DatasetParams};
use serde::Deserialize;
use serde_json::{json, Value};

use crate::extract::{Auth, WJson};
use crate::offload::off_runtime;
use crate::{ApiError, AppState};

/// Largest page the log APIs return (bytes of Arrow data).
const MAX_PAGE_BYTES: usize = 64 * 1024 * 1024;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/v1/logs/topic/{topic}", get(partitions))
        .route("/v1/logs/topic/{topic}/records", post(records))
        .route("/v1/api/pipelines/get_logs", post(get_logs))
}

/// The workspace a topic belongs to (`workspace-<id>-pipeline-<name>-inference[-failures]`).
async fn authorize_topic(s: &AppState, caller: &Caller, topic: &str) -> Result<(), ApiError> {
    let missing = || Error::not_found(format!("topic '{topic}' not found"));
    let ws: i64 = topic.strip_prefix("workspace-").and_then(|r| r.split_once('-')).and_then(|(id, _)| id.parse().ok()).ok_or_else(missing)?;
    s.platform.workspace_for(caller, ws).await.map_err(|_| missing())?;
    Ok(())
}

fn store_err(e: joey_logstore::LogError) -> ApiError {
    match e {
        joey_logstore::LogError::InvalidTopic(m) | joey_logstore::LogError::BadQuery(m) => Error::invalid(m).into(),
        other => internal(other),
    }
}

/// `GET /v1/logs/topic/{topic}`: partitions with their first/last offsets.
#[utoipa::path(get, path = "/v1/logs/topic/{topic}", tag = "logs", params(("topic" = String, Path)), responses((status = 200, description = "{\"partitions\": {name: {start, end}}}", body = Object)))]
pub async fn partitions(State(s): State<AppState>, Auth(caller): Auth, Path(topic): Path<String>) -> Result<Json<Value>, ApiError> {
    caller.require_user()?;
    authorize_topic(&s, &caller, &topic).await?;
    let parts = s.logs.partitions(&topic).map_err(store_err)?;
    // Offsets count each partition's own rows; `end` is one past the last, as Kafka-style
    // consumers (the SDK's get_raw_logs seeds `end - share`) expect.
    let map: serde_json::Map<String, Value> = parts.into_iter().map(|(k, (a, b))| (k, json!({"start": a, "end": b}))).collect();
    Ok(Json(json!({"partitions": map})))
}

/// An RFC 3339 bound in epoch ms, rounded up: `time` is whole ms, so a bound with a sub-ms part
/// selects exactly the rows a µs-precise comparison would.
fn parse_time(raw: &str, what: &str) -> Result<i64, ApiError> {
    chrono::DateTime::parse_from_rfc3339(raw)
        .map(|t| {
            let us = t.timestamp_micros();
            us.div_euclid(1000) + i64::from(us.rem_euclid(1000) > 0)
        })
        .map_err(|e| Error::invalid(format!("{what} '{raw}' is not an RFC 3339 time: {e}")).into())
}

/// The iterator body: `{}` (start) or `{"<partition>": <offset>, ...}` (a previous page's
/// `next`, or the SDK's raw-log seeding); offsets count each partition's own rows.
fn partition_cursor(body: &Value) -> Result<Option<Offsets>, ApiError> {
    let bad = || Error::invalid("the iterator body must be {} or an object of partition names to non-negative integer offsets (the previous page's `next`)");
    let obj = body.as_object().ok_or_else(bad)?;
    let offsets = obj.iter().map(|(k, v)| v.as_u64().map(|v| (k.clone(), v)).ok_or_else(bad)).collect::<Result<Offsets, _>>()?;
    Ok((!offsets.is_empty()).then_some(offsets))
}

/// Logs select like inference, except that `*` leaves metadata out unless it is asked for.
fn log_params(query: Option<&str>) -> Result<DatasetParams, ApiError> {
    let mut p = DatasetParams::from_query(query).map_err(|e| Error::invalid(e.to_string()))?;
    if !p.include.iter().any(|i| i.starts_with("metadata")) {
        p.exclude.push("metadata".into());
    }
    Ok(p)
}

/// A failure of the store or of encoding a page it gave back: a server fault, not the caller's.
fn internal(e: impl std::fmt::Display) -> ApiError {
    Error::internal(e).into()
}

fn status_name(s: &PageStatus) -> &'static str {
    match s {
        PageStatus::All => "All",
        PageStatus::RecordLimited => "RecordLimited",
        PageStatus::ByteLimited => "ByteLimited",
        PageStatus::SchemaChange => "SchemaChange",
    }
}

fn page_batch(page: &Page) -> arrow::record_batch::RecordBatch {
    page.batch.clone().unwrap_or_else(|| {
        let schema = arrow::datatypes::Schema::new(vec![arrow::datatypes::Field::new("time", arrow::datatypes::DataType::Int64, false)]);
        arrow::record_batch::RecordBatch::new_empty(Arc::new(schema))
    })
}

/// `POST /v1/logs/topic/{topic}/records`: one page as an Arrow IPC file whose schema metadata
/// `status` holds `{"status": ..., "next": {"<partition>": <offset>, ...} | null}`.
#[utoipa::path(post, path = "/v1/logs/topic/{topic}/records", tag = "logs",
    params(("topic" = String, Path), ("page_size" = Option<usize>, Query), ("order" = Option<String>, Query), ("time.start" = Option<String>, Query), ("time.end" = Option<String>, Query)),
    request_body(content = Object, description = "iterator: {} first, then the previous page's `next`"),
    responses((status = 200, description = "Arrow IPC file")))]
pub async fn records(State(s): State<AppState>, Auth(caller): Auth, Path(topic): Path<String>, RawQuery(q): RawQuery, body: Bytes) -> Result<Response, ApiError> {
    caller.require_user()?;
    authorize_topic(&s, &caller, &topic).await?;
    let pairs: HashMap<String, String> = q.as_deref().map(url_pairs).transpose()?.unwrap_or_default();
    let iter: Value = if body.iter().all(u8::is_ascii_whitespace) { json!({}) } else { serde_json::from_slice(&body).map_err(|e| Error::invalid(format!("invalid iterator body: {e}")))? };
    let start_ms = pairs.get("time.start").map(|t| parse_time(t, "time.start")).transpose()?;
    let end_ms = pairs.get("time.end").map(|t| parse_time(t, "time.end")).transpose()?;
    let page_size = pairs.get("page_size").map(|p| p.parse::<usize>().map_err(|_| Error::invalid(format!("page_size '{p}' is not a number")))).transpose()?.unwrap_or(100);
    let order = parse_order(pairs.get("order").map(String::as_str))?;
    if page_size == 0 {
        return Err(Error::invalid("page_size must be at least 1").into());
    }
    let query = ReadQuery { start_ms, end_ms, order, page_size, cursor: None, partitions: partition_cursor(&iter)?, max_bytes: MAX_PAGE_BYTES };
    let params = log_params(q.as_deref())?;
    let logs = s.logs.clone();
    // Reading and encoding run on the blocking pool: a big or cold page never stalls inference.
    let bytes = off_runtime(move || -> Result<_, ApiError> {
        let page = logs.read(&topic, &query).map_err(store_err)?;
        let status = json!({"status": status_name(&page.status), "next": page.next_partitions}).to_string();
        let batch = codec::select(&page_batch(&page), &params);
        let mut meta = batch.schema().metadata().clone();
        meta.insert("status".into(), status);
        let schema = Arc::new(batch.schema().as_ref().clone().with_metadata(meta));
        let batch = batch.with_schema(schema).map_err(internal)?;
        codec::encode_arrow(&batch, params.separator.as_deref()).map_err(internal)
    })
    .await??;
    Ok((StatusCode::OK, [(header::CONTENT_TYPE, HeaderValue::from_static("application/vnd.apache.arrow.file"))], bytes).into_response())
}

fn url_pairs(q: &str) -> Result<HashMap<String, String>, ApiError> {
    q.split('&')
        .filter_map(|kv| kv.split_once('='))
        .map(|(k, v)| Ok((codec::url_decode(k).map_err(bad_query)?, codec::url_decode(v).map_err(bad_query)?)))
        .collect()
}

fn bad_query(e: codec::CodecError) -> ApiError {
    Error::invalid(format!("bad query string: {e}")).into()
}

fn parse_order(raw: Option<&str>) -> Result<Order, ApiError> {
    match raw.map(str::to_ascii_lowercase).as_deref() {
        Some("desc") => Ok(Order::Desc),
        Some("asc") | None => Ok(Order::Asc),
        Some(o) => Err(Error::invalid(format!("order must be 'asc' or 'desc', not '{o}'")).into()),
    }
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct GetLogsRequest {
    #[serde(alias = "pipeline_id")]
    pub pipeline_name: String,
    pub workspace_id: i64,
    #[serde(default)]
    pub order: Option<String>,
    #[serde(default)]
    pub cursor: Option<String>,
    #[serde(default)]
    pub page_size: Option<usize>,
    #[serde(default)]
    pub start_time: Option<String>,
    #[serde(default)]
    pub end_time: Option<String>,
}

/// Pages through a pipeline's logs as JSON (default) or Arrow, with `x-iteration-cursor` and
/// `x-iteration-status` headers.
#[utoipa::path(post, path = "/v1/api/pipelines/get_logs", tag = "pipelines", request_body = GetLogsRequest, responses((status = 200, description = "log rows (JSON or Arrow by Accept)")))]
pub async fn get_logs(State(s): State<AppState>, Auth(caller): Auth, headers: HeaderMap, RawQuery(q): RawQuery, WJson(req): WJson<GetLogsRequest>) -> Result<Response, ApiError> {
    let topic = s.platform.topic_name(&caller, None, Some(req.workspace_id), Some(&req.pipeline_name)).await?;
    let order = parse_order(req.order.as_deref())?;
    let (start_ms, end_ms) = match (&req.start_time, &req.end_time) {
        (Some(a), Some(b)) => (Some(parse_time(a, "start_time")?), Some(parse_time(b, "end_time")?)),
        (None, None) => (None, None),
        _ => return Err(Error::invalid("give both start_time and end_time, or neither").into()),
    };
    let cursor = req.cursor.as_deref().map(|c| c.parse::<u64>().map_err(|_| Error::invalid(format!("cursor '{c}' is not valid")))).transpose()?;
    let query = ReadQuery { start_ms, end_ms, order, page_size: req.page_size.unwrap_or(1000).max(1), cursor, partitions: None, max_bytes: MAX_PAGE_BYTES };
    let params = log_params(q.as_deref())?;
    let format = codec::response_format(headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()));
    let logs = s.logs.clone();
    let (page, bytes) = off_runtime(move || -> Result<_, ApiError> {
        let page = logs.read(&topic, &query).map_err(store_err)?;
        let batch = codec::select(&page_batch(&page), &params);
        let bytes = codec::encode_response(&batch, format, params.separator.as_deref()).map_err(internal)?;
        Ok((page, bytes))
    })
    .await??;
    let mut resp = (StatusCode::OK, [(header::CONTENT_TYPE, HeaderValue::from_static(format.content_type()))], bytes).into_response();
    resp.headers_mut().insert("x-iteration-status", HeaderValue::from_static(status_name(&page.status)));
    if let Some(n) = page.next {
        resp.headers_mut().insert("x-iteration-cursor", HeaderValue::from_str(&n.to_string()).expect("digits"));
    }
    Ok(resp)
}
