//! `models/*`: uploads (multipart in both part orders, upload_and_convert, upload_stream), the
//! load outcome (ready with a signature, or error with a readable summary), request validation,
//! reads, configs, upload logs, and workspace isolation.

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::*;

async fn models_in(app: &TestApp, t: &Tenant) -> Vec<Value> {
    let (status, body) = app.post_json("/v1/api/models/list", &t.token, json!({"workspace_id": t.ws, "workspace_name": null})).await;
    assert_eq!(status, StatusCode::OK, "models/list: {body}");
    body["models"].as_array().expect("models").clone()
}

#[tokio::test]
async fn multipart_uploads_accept_metadata_and_file_in_either_order() {
    let app = spawn_app().await;
    let t = app.tenant("alice@example.com").await;
    let bytes = fixture_bytes("tiny_ccfraud.onnx");
    let meta = upload_metadata("ccfraud", t.ws, "onnx");
    let metadata_first = Multipart::new().json("metadata", &meta).file("file", "ccfraud.onnx", &bytes).finish();
    let file_first = Multipart::new().file("file", "ccfraud.onnx", &bytes).json("metadata", &meta).finish();
    let mut ids = Vec::new();
    for (ct, body) in [metadata_first, file_first] {
        let (status, body) = app.post_bytes("/v1/api/models/upload", &t.token, &ct, body).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        ids.push(version_id_of(&body));
        app.wait_loaded(&t.token, version_id_of(&body)).await;
    }
    assert_ne!(ids[0], ids[1]);
    for id in &ids {
        let v = app.wait_ready(&t.token, *id).await;
        assert_eq!(v["name"], "ccfraud");
        assert_eq!(v["file_info"]["file_name"], "ccfraud.onnx");
        assert_eq!(v["file_info"]["size"], bytes.len());
    }
    let models = models_in(&app, &t).await;
    assert_eq!(models.len(), 1, "the same name in the same workspace is one model: {models:?}");
    let versions: Vec<i64> = models[0]["model_versions"].as_array().unwrap().iter().map(|v| v["model_version"]["id"].as_i64().unwrap()).collect();
    assert_eq!(versions, ids);
}

#[tokio::test]
async fn upload_and_convert_answers_202_with_the_new_version_id() {
    let app = spawn_app().await;
    let t = app.tenant("alice@example.com").await;
    let (status, body) = app
        .upload_raw("/v1/api/models/upload_and_convert", &t.token, &upload_metadata("converted", t.ws, "onnx"), "m.onnx", &fixture_bytes("tiny_ccfraud.onnx"))
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    let v = app.wait_ready(&t.token, version_id_of(&body)).await;
    assert_eq!(v["name"], "converted");
}

#[tokio::test]
async fn upload_stream_takes_its_metadata_from_the_query_string() {
    let app = spawn_app().await;
    let t = app.tenant("alice@example.com").await;
    let bytes = fixture_bytes("tiny_ccfraud.onnx");
    let path = format!("/v1/api/models/upload_stream?name=streamed&filename=tiny.onnx&visibility=public&workspace_id={}", t.ws);
    let (status, body) = app.post_bytes(&path, &t.token, "application/octet-stream", bytes.clone()).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let v = app.wait_ready(&t.token, version_id_of(&body)).await;
    assert_eq!((v["name"].as_str(), v["visibility"].as_str()), (Some("streamed"), Some("public")), "{v}");
    assert_eq!(v["file_info"]["file_name"], "tiny.onnx");
    assert_eq!(v["file_info"]["sha"], sha256_hex(&bytes).as_str());
    assert_eq!(v["conversion"]["framework"], "onnx");

    let (status, body) = app.post_bytes("/v1/api/models/upload_stream?name=streamed&filename=x.onnx", &t.token, "application/octet-stream", bytes).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "workspace_id is required: {body}");
    assert_error_body(status, &body);
}

#[tokio::test]
async fn a_loaded_version_is_ready_with_the_files_sha256_and_its_signature() {
    let app = spawn_app().await;
    let t = app.tenant("alice@example.com").await;
    let bytes = fixture_bytes("multi_io.onnx");
    let id = app.upload_model(&t, "multi", "multi_io.onnx").await;
    let v = app.wait_ready(&t.token, id).await;
    assert_eq!(v["id"], id);
    assert_eq!(v["file_info"]["sha"], sha256_hex(&bytes).as_str());
    assert_eq!(v["file_info"]["size"], bytes.len());
    assert!(v["file_info"]["version"].as_str().is_some_and(|u| uuid::Uuid::parse_str(u).is_ok()), "{v}");
    assert!(v["error_summary"].is_null(), "{v}");
    let sig = &v["signature"];
    assert_eq!(
        sig["inputs"],
        json!([{"name": "input_1", "dtype": "float32", "shape": [null, 10]}, {"name": "input_2", "dtype": "float32", "shape": [null, 5]}]),
        "{sig}"
    );
    assert_eq!(
        sig["outputs"],
        json!([{"name": "output_1", "dtype": "float32", "shape": [null, 3]}, {"name": "output_2", "dtype": "float32", "shape": [null, 2]}]),
        "{sig}"
    );
}

#[tokio::test]
async fn a_corrupt_file_ends_in_error_with_a_readable_summary_and_explaining_logs() {
    let app = spawn_app().await;
    let t = app.tenant("alice@example.com").await;
    let id = app.upload_model(&t, "broken", "corrupt.onnx").await;
    let v = app.wait_loaded(&t.token, id).await;
    assert_eq!(v["status"], "error", "{v}");
    let summary = v["error_summary"].as_str().unwrap_or_else(|| panic!("an error_summary: {v}"));
    assert!(summary.to_lowercase().contains("onnx"), "the summary says what failed: {summary}");
    let data_dir = app.data_dir.path().display().to_string();
    for leak in [data_dir.as_str(), "/artifacts", "sha256/", "/tmp"] {
        assert!(!summary.contains(leak), "the summary leaks a server path ({leak}): {summary}");
    }
    let (status, body) = app.post_json("/v1/api/models/get_upload_logs", &t.token, json!({"model_version_id": id})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let logs: Vec<&str> = body["logs"].as_array().unwrap().iter().map(|l| l.as_str().unwrap()).collect();
    assert!(logs.iter().any(|l| l.contains(summary)), "the logs explain the failure: {logs:?}");
    assert!(logs.iter().all(|l| !l.contains(data_dir.as_str())), "{logs:?}");
}

#[tokio::test]
async fn a_pytorch_upload_ends_in_error_naming_the_missing_runtime_and_is_never_ready() {
    let app = spawn_app().await;
    let t = app.tenant("alice@example.com").await;
    let (status, body) =
        app.upload_raw("/v1/api/models/upload", &t.token, &upload_metadata("torchy", t.ws, "pytorch"), "model.pt", b"not really a torch file").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let id = version_id_of(&body);
    let v = app.wait_loaded(&t.token, id).await;
    assert_eq!(v["status"], "error", "{v}");
    let summary = v["error_summary"].as_str().unwrap_or_default();
    assert!(summary.contains("pytorch") && summary.contains("runtime"), "{summary}");
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let (_, again) = app.get_version(&t.token, id).await;
    assert_eq!(again["model_version"]["model_version"]["status"], "error", "it stays in error: {again}");
    assert_eq!(again["model_version"]["config"]["runtime"], "flight");
    let (_, logs) = app.post_json("/v1/api/models/get_upload_logs", &t.token, json!({"model_version_id": id})).await;
    assert!(logs["logs"].as_array().unwrap().iter().any(|l| l.as_str().unwrap().contains("pytorch")), "{logs}");
}

/// Posts a multipart body to `upload` and expects 400 with `needle` in the message and no model.
async fn expect_upload_400(app: &TestApp, t: &Tenant, content_type: &str, body: Vec<u8>, needle: &str) {
    let (status, resp) = app.post_bytes("/v1/api/models/upload", &t.token, content_type, body).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{resp}");
    assert_error_body(status, &resp);
    assert!(resp["msg"].as_str().unwrap().to_lowercase().contains(needle), "the message should mention {needle}: {resp}");
    assert!(models_in(app, t).await.is_empty(), "nothing is registered");
    assert_eq!(count_files(&app.data_dir.path().join("artifacts/staging")), 0, "no staging file is left");
}

#[tokio::test]
async fn an_unknown_framework_is_400() {
    let app = spawn_app().await;
    let t = app.tenant("alice@example.com").await;
    let (ct, body) = Multipart::new().json("metadata", &upload_metadata("m", t.ws, "caffe9")).file("file", "m.onnx", b"x").finish();
    expect_upload_400(&app, &t, &ct, body, "framework").await;
}

#[tokio::test]
async fn a_model_name_that_is_not_dns_safe_is_400() {
    let app = spawn_app().await;
    let t = app.tenant("alice@example.com").await;
    for name in ["My_Model", "dots.in.name", "-leading", ""] {
        let (ct, body) = Multipart::new().json("metadata", &upload_metadata(name, t.ws, "onnx")).file("file", "m.onnx", b"x").finish();
        expect_upload_400(&app, &t, &ct, body, "name").await;
    }
}

#[tokio::test]
async fn an_upload_without_a_metadata_part_is_400() {
    let app = spawn_app().await;
    let t = app.tenant("alice@example.com").await;
    let (ct, body) = Multipart::new().file("file", "m.onnx", &fixture_bytes("tiny_ccfraud.onnx")).finish();
    expect_upload_400(&app, &t, &ct, body, "metadata").await;
}

#[tokio::test]
async fn malformed_metadata_is_400() {
    let app = spawn_app().await;
    let t = app.tenant("alice@example.com").await;
    let (ct, body) = Multipart::new().text("metadata", "application/json", "{\"name\": ").file("file", "m.onnx", b"x").finish();
    expect_upload_400(&app, &t, &ct, body, "metadata").await;
    let (ct, body) = Multipart::new().json("metadata", &json!({"name": "m"})).file("file", "m.onnx", b"x").finish();
    expect_upload_400(&app, &t, &ct, body, "workspace_id").await;
    let mut meta = upload_metadata("m", t.ws, "onnx");
    meta["visibility"] = json!("secret");
    let (ct, body) = Multipart::new().json("metadata", &meta).file("file", "m.onnx", b"x").finish();
    expect_upload_400(&app, &t, &ct, body, "visibility").await;
    meta["visibility"] = json!("private");
    meta["conversion"] = json!("onnx");
    let (ct, body) = Multipart::new().json("metadata", &meta).file("file", "m.onnx", b"x").finish();
    expect_upload_400(&app, &t, &ct, body, "conversion").await;
}

#[tokio::test]
async fn uploading_into_another_users_workspace_is_404() {
    let app = spawn_app().await;
    let alice = app.tenant("alice@example.com").await;
    let bob = app.tenant("bob@example.com").await;
    let bytes = fixture_bytes("tiny_ccfraud.onnx");
    let (status, body) = app.upload_raw("/v1/api/models/upload", &bob.token, &upload_metadata("sneaky", alice.ws, "onnx"), "m.onnx", &bytes).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    assert_error_body(status, &body);
    let path = format!("/v1/api/models/upload_stream?name=sneaky&filename=m.onnx&visibility=private&workspace_id={}", alice.ws);
    let (status, body) = app.post_bytes(&path, &bob.token, "application/octet-stream", bytes).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    assert!(models_in(&app, &alice).await.is_empty());
    assert_eq!(count_files(&app.data_dir.path().join("artifacts/sha256")), 0, "nothing was stored");
}

#[tokio::test]
async fn a_body_that_is_not_multipart_is_400() {
    let app = spawn_app().await;
    let t = app.tenant("alice@example.com").await;
    let meta = upload_metadata("m", t.ws, "onnx").to_string().into_bytes();
    expect_upload_400(&app, &t, "application/json", meta, "multipart").await;
}
