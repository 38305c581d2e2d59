//! Large uploads stream to disk: a 2 GiB body through `upload_stream` and through a multipart
//! `upload` must not grow the process's resident memory by more than 64 MiB. The server runs
//! in this process, so `/proc/self/status` covers client and server together (an overestimate
//! of the server's share). Ignored by default (it writes 4 GiB to the temp dir and takes
//! minutes in a debug build):
//!
//! `cargo test -p joey-server --test api upload_memory -- --ignored --nocapture`

use std::time::Instant;

use bytes::Bytes;
use reqwest::StatusCode;
use serde_json::Value;

use crate::helpers::*;

const CHUNK: usize = 1 << 20;
const CHUNKS: usize = 2048;
const TOTAL: u64 = (CHUNK * CHUNKS) as u64;
const LIMIT: u64 = 64 << 20;

/// A `/proc/self/status` field in bytes (`VmRSS`, `VmHWM`).
fn vm(field: &str) -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    let line = status.lines().find(|l| l.starts_with(&format!("{field}:"))).unwrap_or_else(|| panic!("no {field}"));
    line.split_whitespace().nth(1).unwrap().parse::<u64>().unwrap() * 1024
}

/// Resets the peak (VmHWM) to the current RSS where the kernel allows it; returns the RSS.
fn reset_peak() -> u64 {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
    vm("VmRSS")
}

/// 2 GiB of zero bytes in 1 MiB chunks, generated on the fly (one shared buffer). Zero bytes
/// are not a valid protobuf start, so the background load fails fast.
fn body_stream(prefix: Vec<u8>, suffix: Vec<u8>) -> reqwest::Body {
    let chunk = Bytes::from(vec![0u8; CHUNK]);
    let chunks = (0..CHUNKS).map(move |_| chunk.clone());
    let all = std::iter::once(Bytes::from(prefix)).chain(chunks).chain(std::iter::once(Bytes::from(suffix))).filter(|b| !b.is_empty());
    reqwest::Body::wrap_stream(futures::stream::iter(all.map(Ok::<_, std::io::Error>)))
}

/// Sends one streamed upload and checks the outcome; returns the peak RSS growth in bytes.
async fn measure(app: &TestApp, t: &Tenant, what: &str, path: &str, content_type: &str, prefix: Vec<u8>, suffix: Vec<u8>) -> u64 {
    let rss_before = reset_peak();
    let started = Instant::now();
    let resp = app
        .client
        .post(app.url(path))
        .bearer_auth(&t.token)
        .header(reqwest::header::CONTENT_TYPE, content_type)
        .body(body_stream(prefix, suffix))
        .send()
        .await
        .expect("upload");
    let (status, body) = read(resp).await;
    let upload_secs = started.elapsed().as_secs_f64();
    assert_eq!(status, StatusCode::OK, "{what}: {body}");
    let peak_after_upload = vm("VmHWM");
    let id = version_id_of(&body);
    let v: Value = app.wait_loaded(&t.token, id).await;
    let peak = vm("VmHWM");
    assert_eq!(v["status"], "error", "not an ONNX file: {v}");
    assert_eq!(v["file_info"]["size"], TOTAL, "{v}");
    let sha = v["file_info"]["sha"].as_str().unwrap();
    let file = app.data_dir.path().join("artifacts/sha256").join(&sha[..2]).join(sha);
    assert_eq!(std::fs::metadata(&file).expect("the stored artifact").len(), TOTAL);
    let growth = peak.saturating_sub(rss_before);
    println!(
        "{what}: 2 GiB in {upload_secs:.1} s ({:.0} MiB/s); RSS before {} MiB; peak after upload {} MiB, after load {} MiB; growth {:.1} MiB",
        TOTAL as f64 / (1 << 20) as f64 / upload_secs,
        rss_before >> 20,
        peak_after_upload >> 20,
        peak >> 20,
        growth as f64 / (1 << 20) as f64
    );
    // Free the disk space for the next run.
    let (_, gone) = app.post_json("/v1/api/models/delete_model_versions", &t.token, serde_json::json!({"model_versions": [v["file_info"]["version"]]})).await;
    assert_eq!(gone["bytes"], TOTAL, "{gone}");
    growth
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "streams 2 GiB twice (4 GiB of temp disk, minutes in a debug build); run with --ignored --nocapture"]
async fn two_gib_uploads_stream_to_disk_in_constant_memory() {
    let app = spawn_app().await;
    let t = app.tenant("big@example.com").await;
    // Warm up the connection pool, the upload path and the loader with a small file.
    app.upload_model(&t, "warmup", "tiny_ccfraud.onnx").await;

    let path = format!("/v1/api/models/upload_stream?name=huge&filename=huge.bin&visibility=private&workspace_id={}", t.ws);
    let stream_growth = measure(&app, &t, "upload_stream", &path, "application/octet-stream", Vec::new(), Vec::new()).await;

    let mp = Multipart::new().json("metadata", &upload_metadata("huge-mp", t.ws, "onnx"));
    let (head, tail) = (mp.file_head("file", "huge.bin"), mp.tail());
    let (ct, mut prefix) = mp.into_prefix();
    prefix.extend_from_slice(&head);
    let multipart_growth = measure(&app, &t, "multipart upload", "/v1/api/models/upload", &ct, prefix, tail).await;

    assert!(stream_growth < LIMIT, "upload_stream grew RSS by {} MiB", stream_growth >> 20);
    assert!(multipart_growth < LIMIT, "multipart upload grew RSS by {} MiB", multipart_growth >> 20);
}
