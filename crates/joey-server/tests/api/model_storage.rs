//! Where uploaded bytes go: content-addressed and shared, freed with the last version, never
//! left in staging by a rejected or interrupted upload, and kept while a deployment uses them.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::json;
use tokio::io::AsyncWriteExt;

use crate::helpers::*;

fn artifacts(app: &TestApp) -> PathBuf {
    app.data_dir.path().join("artifacts")
}

async fn version_uuid(app: &TestApp, token: &str, id: i64) -> String {
    let (_, body) = app.get_version(token, id).await;
    body["model_version"]["model_version"]["file_info"]["version"].as_str().expect("version uuid").to_string()
}

async fn model_count(app: &TestApp, t: &Tenant) -> usize {
    let (status, body) = app.post_json("/v1/api/models/list", &t.token, json!({"workspace_id": t.ws})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["models"].as_array().unwrap().len()
}

/// Polls `cond` for up to 10 s.
async fn eventually(what: &str, mut cond: impl FnMut() -> bool) {
    let start = Instant::now();
    while !cond() {
        assert!(start.elapsed() < Duration::from_secs(10), "timed out waiting until {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn identical_bytes_are_stored_once_and_freed_with_the_last_version() {
    let app = spawn_app().await;
    let t = app.tenant("alice@example.com").await;
    let bytes = fixture_bytes("tiny_ccfraud.onnx");
    let sha = sha256_hex(&bytes);
    let a = app.upload_model(&t, "shared-a", "tiny_ccfraud.onnx").await;
    let b = app.upload_model(&t, "shared-b", "tiny_ccfraud.onnx").await;
    for id in [a, b] {
        let v = app.wait_ready(&t.token, id).await;
        assert_eq!(v["file_info"]["sha"], sha.as_str());
    }
    let store = artifacts(&app).join("sha256");
    assert_eq!(count_files(&store), 1, "one file for identical bytes");
    assert_eq!(std::fs::metadata(store.join(&sha[..2]).join(&sha)).expect("content-addressed path").len(), bytes.len() as u64);

    let (ua, ub) = (version_uuid(&app, &t.token, a).await, version_uuid(&app, &t.token, b).await);
    let (status, body) = app.post_json("/v1/api/models/delete_model_versions", &t.token, json!({"model_versions": [ua], "confirm_delete": true})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body, json!({"bytes": 0}), "the bytes are still used by the other version");
    assert_eq!(count_files(&store), 1);
    assert_eq!(app.get_version(&t.token, a).await.0, StatusCode::NOT_FOUND);
    app.wait_ready(&t.token, b).await;

    let (status, body) = app.post_json("/v1/api/models/delete_model_versions", &t.token, json!({"model_versions": [ub]})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body, json!({"bytes": bytes.len()}), "the last reference frees the file");
    assert_eq!(count_files(&store), 0);
}

#[tokio::test]
async fn delete_model_removes_every_version_and_reports_the_bytes() {
    let app = spawn_app().await;
    let t = app.tenant("alice@example.com").await;
    let a = app.upload_model(&t, "doomed", "tiny_ccfraud.onnx").await;
    let b = app.upload_model(&t, "doomed", "multi_io.onnx").await;
    app.wait_ready(&t.token, a).await;
    app.wait_ready(&t.token, b).await;
    let (status, body) = app.post_json("/v1/api/models/delete_model", &t.token, json!({"model_id": "doomed", "workspace_id": t.ws, "confirm_delete": true})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let expected = fixture_bytes("tiny_ccfraud.onnx").len() + fixture_bytes("multi_io.onnx").len();
    assert_eq!(body, json!({"bytes": expected}));
    assert_eq!(model_count(&app, &t).await, 0);
    assert_eq!(count_files(&artifacts(&app).join("sha256")), 0);
}

#[tokio::test]
async fn an_upload_over_the_limit_is_413_and_leaves_nothing_behind() {
    let app = spawn_app_with(|a| a.upload_limit_bytes = Some(2048)).await;
    let t = app.tenant("alice@example.com").await;
    let big = vec![42u8; 8192];
    let stream = format!("/v1/api/models/upload_stream?name=big&filename=big.onnx&visibility=private&workspace_id={}", t.ws);
    let (status, body) = app.post_bytes(&stream, &t.token, "application/octet-stream", big.clone()).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{body}");
    assert_error_body(status, &body);
    let (status, body) = app.upload_raw("/v1/api/models/upload", &t.token, &upload_metadata("big", t.ws, "onnx"), "big.onnx", &big).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{body}");
    assert_error_body(status, &body);

    assert_eq!(model_count(&app, &t).await, 0, "no version was created");
    eventually("the staging dir is empty", || count_files(&artifacts(&app).join("staging")) == 0).await;
    assert_eq!(count_files(&artifacts(&app).join("sha256")), 0);

    // Exactly at the limit is fine.
    let (status, body) = app.post_bytes(&stream, &t.token, "application/octet-stream", vec![1u8; 2048]).await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

/// Starts a request on a raw connection, sends `head` and part of the body, waits until the
/// server has started staging it, then drops the connection.
async fn interrupted(app: &TestApp, head: String, prefix: &[u8]) {
    let staging = artifacts(app).join("staging");
    let mut conn = tokio::net::TcpStream::connect(app.addr).await.expect("connect");
    conn.write_all(head.as_bytes()).await.unwrap();
    conn.write_all(prefix).await.unwrap();
    conn.write_all(&vec![9u8; 256 * 1024]).await.unwrap();
    conn.flush().await.unwrap();
    eventually("the upload is being staged", || count_files(&staging) == 1).await;
    drop(conn);
    eventually("the partial staging file is removed", || count_files(&staging) == 0).await;
}

#[tokio::test]
async fn an_interrupted_upload_leaves_no_version_and_an_empty_staging_dir() {
    let app = spawn_app().await;
    let t = app.tenant("alice@example.com").await;
    let head = |path: &str, ct: &str| {
        format!(
            "POST {path} HTTP/1.1\r\nHost: {}\r\nAuthorization: Bearer {}\r\nContent-Type: {ct}\r\nContent-Length: 100000000\r\n\r\n",
            app.addr, t.token
        )
    };
    let stream = format!("/v1/api/models/upload_stream?name=cut&filename=cut.onnx&visibility=private&workspace_id={}", t.ws);
    interrupted(&app, head(&stream, "application/octet-stream"), b"").await;

    let mp = Multipart::new().json("metadata", &upload_metadata("cut", t.ws, "onnx"));
    let file_head = mp.file_head("file", "cut.onnx");
    let (ct, mut prefix) = mp.into_prefix();
    prefix.extend_from_slice(&file_head);
    interrupted(&app, head("/v1/api/models/upload", &ct), &prefix).await;

    assert_eq!(model_count(&app, &t).await, 0, "no version was registered");
    assert_eq!(count_files(&artifacts(&app).join("sha256")), 0);
    // The server is fine afterwards.
    let id = app.upload_model(&t, "after", "tiny_ccfraud.onnx").await;
    app.wait_ready(&t.token, id).await;
}

#[tokio::test]
async fn a_version_used_by_an_active_deployment_cannot_be_deleted() {
    let app = spawn_app().await;
    let t = app.tenant("alice@example.com").await;
    let (id, m) = app.ready_model(&t, "in-use", "tiny_ccfraud.onnx").await;
    let dep = app.deploy_pipeline(&t, "uses-it", json!([model_step(&[&m])]), json!({})).await;
    let uuid = m["version"].as_str().unwrap();

    let (status, body) = app.post_json("/v1/api/models/delete_model_versions", &t.token, json!({"model_versions": [uuid], "confirm_delete": true})).await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert_error_body(status, &body);
    let (status, body) = app.post_json("/v1/api/models/delete_model", &t.token, json!({"model_id": "in-use", "workspace_id": t.ws})).await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    let v = app.wait_ready(&t.token, id).await;
    assert_eq!(v["deployed"], true, "{v}");
    let (status, out) = app.infer_json(&dep.url, &t.token, &json!([{"tensor": ccfraud_row(0.0)}]), "").await;
    assert_eq!(status, StatusCode::OK, "the deployment still serves: {out}");

    app.undeploy(&t.token, dep.id).await;
    assert_eq!(app.wait_ready(&t.token, id).await["deployed"], false);
    let (status, body) = app.post_json("/v1/api/models/delete_model_versions", &t.token, json!({"model_versions": [uuid]})).await;
    assert_eq!(status, StatusCode::OK, "deletable once undeployed: {body}");
    assert_eq!(body["bytes"], fixture_bytes("tiny_ccfraud.onnx").len());
}

/// Uploads do not wait for earlier uploads' background loads: registering versions back to back
/// from a few clients at once must always succeed. (Regression: on SQLite, deferred transactions
/// that read then write failed with 500 "database is locked" / SQLITE_BUSY_SNAPSHOT when a load
/// committed in between; the store now begins write transactions with BEGIN IMMEDIATE.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn back_to_back_uploads_from_several_clients_all_succeed() {
    let app = spawn_app().await;
    let t = app.tenant("alice@example.com").await;
    let bytes = fixture_bytes("tiny_ccfraud.onnx");
    for m in 0..3 {
        app.upload_model(&t, &format!("model-{m}"), "tiny_ccfraud.onnx").await;
    }
    let clients = (0..4).map(|c| {
        let (app, t, bytes) = (&app, &t, &bytes);
        async move {
            let mut failures = Vec::new();
            for i in 0..8 {
                let meta = upload_metadata(&format!("model-{}", (c + i) % 3), t.ws, "onnx");
                let (status, body) = app.upload_raw("/v1/api/models/upload", &t.token, &meta, "m.onnx", bytes).await;
                if status != StatusCode::OK {
                    failures.push(format!("client {c} upload {i}: {status} {body}"));
                }
            }
            failures
        }
    });
    let failures: Vec<String> = futures::future::join_all(clients).await.into_iter().flatten().collect();
    assert!(failures.is_empty(), "{} of 32 uploads failed: {failures:#?}", failures.len());
    let (_, list) = app.post_json("/v1/api/models/list", &t.token, json!({"workspace_id": t.ws})).await;
    let versions: usize = list["models"].as_array().unwrap().iter().map(|m| m["model_versions"].as_array().unwrap().len()).sum();
    assert_eq!(versions, 35, "{list}");
}

/// Two clients registering the first version of the same new model at once both get a version of
/// one model.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_first_uploads_of_one_name_make_one_model() {
    let app = spawn_app().await;
    let t = app.tenant("alice@example.com").await;
    let bytes = fixture_bytes("tiny_ccfraud.onnx");
    let mut failures = Vec::new();
    for round in 0..5 {
        let meta = upload_metadata(&format!("fresh-{round}"), t.ws, "onnx");
        let uploads = (0..4).map(|_| app.upload_raw("/v1/api/models/upload", &t.token, &meta, "m.onnx", &bytes));
        for (status, body) in futures::future::join_all(uploads).await {
            if status != StatusCode::OK {
                failures.push(format!("round {round}: {status} {body}"));
            }
        }
    }
    assert!(failures.is_empty(), "{} of 20 uploads failed: {failures:#?}", failures.len());
    let (_, list) = app.post_json("/v1/api/models/list", &t.token, json!({"workspace_id": t.ws})).await;
    let models = list["models"].as_array().unwrap();
    assert_eq!(models.len(), 5);
    assert!(models.iter().all(|m| m["model_versions"].as_array().unwrap().len() == 4), "{list}");
}
