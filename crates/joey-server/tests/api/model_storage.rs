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
    app.wait_ready(&t.token, id).await;
    let (status, out) = app.infer_json(&dep.url, &t.token, &json!([{"tensor": ccfraud_row(0.0)}]), "").await;
    assert_eq!(status, StatusCode::OK, "the deployment still serves: {out}");

    app.undeploy(&t.token, dep.id).await;
    let (status, body) = app.post_json("/v1/api/models/delete_model_versions", &t.token, json!({"model_versions": [uuid]})).await;
    assert_eq!(status, StatusCode::OK, "deletable once undeployed: {body}");
    assert_eq!(body["bytes"], fixture_bytes("tiny_ccfraud.onnx").len());
}

/// SQLite only. An upload must not fail because another connection commits a write while the
/// upload's transaction is open. The test's own connection stands in for the server's background
/// writers (a model load updating a version's status and upload log): it takes the write lock,
/// changes a row, and commits 300 ms later, while an upload runs.
#[tokio::test]
#[ignore = "BUG: on SQLite, an upload whose transaction overlaps another connection's committed write answers 500 \
            'database is locked' (code 517 SQLITE_BUSY_SNAPSHOT): create_model_version begins a deferred transaction, \
            reads (select model), then writes; the in-process trigger is the previous upload's background load, \
            seen as intermittent 500s on back-to-back uploads in parallel test runs. Fix: BEGIN IMMEDIATE for write transactions"]
async fn an_upload_survives_a_write_committed_during_its_transaction() {
    use sqlx::Connection;
    let app = spawn_app().await;
    let db = match &app.args.database_url {
        None => format!("sqlite://{}", app.data_dir.path().join("joey.db").display()),
        Some(u) if u.starts_with("sqlite:") => u.clone(),
        Some(_) => return, // PostgreSQL run
    };
    let t = app.tenant("alice@example.com").await;
    app.upload_model(&t, "contended", "tiny_ccfraud.onnx").await;
    let mut conn = sqlx::SqliteConnection::connect(&db).await.expect("open the server's SQLite file");
    let mode: (String,) = sqlx::query_as("pragma journal_mode").fetch_one(&mut conn).await.unwrap();
    eprintln!("JOURNAL MODE {mode:?}");
    sqlx::query("begin immediate").execute(&mut conn).await.unwrap();
    sqlx::query("update model set updated_at = updated_at + 1").execute(&mut conn).await.unwrap();
    let release = async {
        tokio::time::sleep(Duration::from_millis(300)).await;
        sqlx::query("commit").execute(&mut conn).await.unwrap();
    };
    let (meta, bytes) = (upload_metadata("contended", t.ws, "onnx"), fixture_bytes("tiny_ccfraud.onnx"));
    let upload = app.upload_raw("/v1/api/models/upload", &t.token, &meta, "m.onnx", &bytes);
    let ((status, body), ()) = tokio::join!(upload, release);
    assert_eq!(status, StatusCode::OK, "{body}");
}
