//! Inference request/response codecs.
//!
//! Internally a request or response is a *flat* [`RecordBatch`] whose column names are dotted
//! paths: `time` (Int64 epoch ms), `in.<col>`, `out.<col>`, `out_<model>.<col>`,
//! `anomaly.count`, `anomaly.<name>`, `metadata.<key>`. The group of a column is the text
//! before its first `.`; `time` has none. Field metadata (`tensor_type`) travels with the
//! fields and is kept in Arrow output.
//!
//! * Requests: [`request_format`] (from `Content-Type`, sniffing the body where the header
//!   leaves it open) and [`decode_request`] (pandas-records JSON, legacy Wallaroo JSON, Arrow
//!   IPC file or stream) give a batch of *input* columns (no `in.` prefix).
//! * Responses: [`select`] applies the `dataset` query parameters ([`DatasetParams`]), then
//!   [`encode_json`] / [`encode_arrow`] / [`encode_wallaroo_json`] lay the columns out nested
//!   by group or flattened with a separator ([`response_format`] picks one from `Accept`).
//! * [`flatten_struct_columns`] turns a nested (struct-per-group) table back into the flat
//!   representation.

mod dataset;
mod decode_arrow;
mod decode_json;
mod encode_arrow;
mod encode_json;
mod error;
mod infer;
mod json_dom;
mod json_parse;
mod jsonw;
mod layout;

use arrow::record_batch::RecordBatch;
use arrow::buffer::Buffer;

pub use dataset::{select, url_decode, DatasetParams};
pub use encode_arrow::{encode_arrow, encode_arrow_chunks, flatten_struct_columns};
pub use encode_json::{encode_json, encode_wallaroo_json, join_json_arrays};
pub use error::CodecError;

/// The Arrow IPC file media type (requests and responses).
pub const ARROW_FILE_MEDIA_TYPE: &str = "application/vnd.apache.arrow.file";
/// The Arrow IPC stream media type (accepted on requests).
pub const ARROW_STREAM_MEDIA_TYPE: &str = "application/vnd.apache.arrow.stream";

/// How a request body is encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RequestFormat {
    /// `application/json; format=pandas-records`: an array of row objects.
    PandasRecords,
    /// Arrow IPC file (`ARROW1` magic).
    ArrowFile,
    /// Arrow IPC stream.
    ArrowStream,
    /// `application/json; format=wallaroo`: `{"col": [row0, row1, ...]}` (an array of row
    /// objects is accepted too).
    WallarooJson,
}

/// How a response body is encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResponseFormat {
    /// pandas-records JSON (the default).
    PandasRecords,
    /// Arrow IPC file.
    Arrow,
    /// Legacy Wallaroo JSON (`application/json; format=wallaroo`).
    WallarooJson,
}

impl ResponseFormat {
    /// The `Content-Type` to answer with.
    pub fn content_type(self) -> &'static str {
        match self {
            ResponseFormat::Arrow => ARROW_FILE_MEDIA_TYPE,
            ResponseFormat::PandasRecords | ResponseFormat::WallarooJson => "application/json",
        }
    }
}

/// Splits a media type into its lower-cased essence and its lower-cased `format` parameter.
fn parse_media(value: &str) -> (String, Option<String>) {
    let mut parts = value.split(';');
    let essence = parts.next().unwrap_or("").trim().to_ascii_lowercase();
    let format = parts.find_map(|p| {
        let (k, v) = p.split_once('=')?;
        k.trim()
            .eq_ignore_ascii_case("format")
            .then(|| v.trim().trim_matches('"').to_ascii_lowercase())
    });
    (essence, format)
}

fn is_arrow_media(essence: &str) -> bool {
    matches!(
        essence,
        ARROW_FILE_MEDIA_TYPE | ARROW_STREAM_MEDIA_TYPE | "application/vnd.apache.arrow"
    )
}

/// JSON body: an object is the column-oriented Wallaroo form, anything else pandas-records.
fn sniff_json(body: &[u8]) -> RequestFormat {
    match body.iter().find(|b| !b.is_ascii_whitespace()) {
        Some(b'{') => RequestFormat::WallarooJson,
        _ => RequestFormat::PandasRecords,
    }
}

fn sniff_arrow(body: &[u8]) -> Option<RequestFormat> {
    if decode_arrow::is_arrow_file(body) {
        Some(RequestFormat::ArrowFile)
    } else if decode_arrow::is_arrow_stream(body) {
        Some(RequestFormat::ArrowStream)
    } else {
        None
    }
}

/// Decides the request format from the `Content-Type` header and, where the header leaves it
/// open, the body:
/// * `application/vnd.apache.arrow.file` / `.stream` → Arrow, file if the body starts with
///   `ARROW1`, stream otherwise;
/// * `application/json` (or `text/json`) with `format=pandas-records` → pandas-records, with
///   `format=wallaroo` → Wallaroo JSON, without `format` → Wallaroo JSON when the body is an
///   object, pandas-records otherwise; another `format` → `Unsupported`;
/// * no header, `application/octet-stream` or `text/plain` → Arrow if the body has the Arrow
///   file/stream signature, else JSON as above;
/// * any other media type → `Unsupported`.
pub fn request_format(
    content_type: Option<&str>,
    body: &[u8],
) -> Result<RequestFormat, CodecError> {
    let (essence, format) = parse_media(content_type.unwrap_or(""));
    match essence.as_str() {
        e if is_arrow_media(e) => Ok(sniff_arrow(body).unwrap_or(RequestFormat::ArrowStream)),
        "application/json" | "text/json" => match format.as_deref() {
            None => Ok(sniff_json(body)),
            Some("pandas-records" | "pandas_records" | "records") => Ok(RequestFormat::PandasRecords),
            Some("wallaroo" | "custom") => Ok(RequestFormat::WallarooJson),
            Some(other) => Err(CodecError::unsupported(format!(
                "unsupported JSON format '{other}' (expected format=pandas-records or format=wallaroo)"
            ))),
        },
        "" | "application/octet-stream" | "text/plain" => {
            Ok(sniff_arrow(body).unwrap_or_else(|| sniff_json(body)))
        }
        _ => Err(CodecError::unsupported(format!(
            "unsupported Content-Type '{}' (expected application/json; format=pandas-records, \
             {ARROW_FILE_MEDIA_TYPE} or application/json; format=wallaroo)",
            content_type.unwrap_or_default()
        ))),
    }
}

/// Decodes a request body into a batch of input columns (no `in.` prefix), one row per input
/// row. Errors are `BadRequest` and name the problem (an empty request is
/// "the request has no rows").
pub fn decode_request(format: RequestFormat, body: &[u8]) -> Result<RecordBatch, CodecError> {
    match format {
        RequestFormat::PandasRecords => decode_json::decode_pandas_records(body),
        RequestFormat::WallarooJson => decode_json::decode_wallaroo_json(body),
        RequestFormat::ArrowFile => decode_arrow::decode_arrow_file(Buffer::from(body)),
        RequestFormat::ArrowStream => decode_arrow::decode_arrow_stream(Buffer::from(body)),
    }
}

/// [`decode_request`] of a body held as shared bytes: Arrow columns then point into the body
/// itself instead of a copy of it (and keep all of `body`'s allocation alive while they live).
pub fn decode_request_shared(format: RequestFormat, body: &bytes::Bytes) -> Result<RecordBatch, CodecError> {
    match format {
        RequestFormat::ArrowFile => decode_arrow::decode_arrow_file(Buffer::from(body.clone())),
        RequestFormat::ArrowStream => decode_arrow::decode_arrow_stream(Buffer::from(body.clone())),
        _ => decode_request(format, body),
    }
}

/// Picks the response format from the `Accept` header: the first listed media type that is
/// understood wins: Arrow (`application/vnd.apache.arrow.file`, also `.stream`) → Arrow;
/// `application/json; format=wallaroo` → Wallaroo JSON; other JSON, `*/*`, absent or
/// unknown → pandas-records.
pub fn response_format(accept: Option<&str>) -> ResponseFormat {
    for part in accept.unwrap_or("").split(',') {
        let (essence, format) = parse_media(part);
        match essence.as_str() {
            e if is_arrow_media(e) => return ResponseFormat::Arrow,
            "application/json" | "text/json" => {
                return match format.as_deref() {
                    Some("wallaroo" | "custom") => ResponseFormat::WallarooJson,
                    _ => ResponseFormat::PandasRecords,
                }
            }
            "*/*" | "application/*" => return ResponseFormat::PandasRecords,
            _ => {}
        }
    }
    ResponseFormat::PandasRecords
}

/// Encodes a (already selected) response batch in `format`, flattening with `separator`
/// where the format has nesting (the Wallaroo JSON form is always nested).
pub fn encode_response(
    batch: &RecordBatch,
    format: ResponseFormat,
    separator: Option<&str>,
) -> Result<Vec<u8>, CodecError> {
    match format {
        ResponseFormat::PandasRecords => Ok(encode_json(batch, separator)),
        ResponseFormat::WallarooJson => Ok(encode_wallaroo_json(batch)),
        ResponseFormat::Arrow => encode_arrow(batch, separator),
    }
}

#[cfg(test)]
mod tests;
