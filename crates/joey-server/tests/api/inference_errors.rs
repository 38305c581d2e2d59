//! Inference failures, all with the engine error body `{code, status, error, source}`: not
//! running (503), unknown deployments (404), authentication (401) and authorization (404),
//! malformed requests (400) and oversized bodies (413).

use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::*;

async fn ccfraud(app: &TestApp) -> (Tenant, Deployed) {
    let t = app.tenant("alice@example.com").await;
    let (_, m) = app.ready_model(&t, "ccfraud", "tiny_ccfraud.onnx").await;
    let dep = app.deploy_pipeline(&t, "ccfraud", json!([model_step(&[&m])]), json!({})).await;
    (t, dep)
}

fn one_row() -> Value {
    json!([{"tensor": ccfraud_row(0.0)}])
}

/// The 503 path is made deterministic with a deployment that can never run: its model is a
/// `pytorch` upload, which Joey cannot load, so the deployment goes `Starting` → `Error` and
/// never gets a compiled pipeline. (A healthy deployment's `Starting` window lasts only
/// milliseconds with these tiny models; `deployments.rs` checks that window opportunistically.)
#[tokio::test]
async fn a_deployment_that_cannot_run_answers_503_with_the_engine_body() {
    let app = spawn_app().await;
    let t = app.tenant("alice@example.com").await;
    let (status, body) = app.upload_raw("/v1/api/models/upload", &t.token, &upload_metadata("torchy", t.ws, "pytorch"), "m.pt", b"torch").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let id = version_id_of(&body);
    app.wait_loaded(&t.token, id).await;
    let m = app.model_ref(&t.token, id).await;
    let (_, version_pk) = app.create_pipeline(&t, "never", json!([model_step(&[&m])])).await;
    let dep_id = app.deploy(&t.token, "never", version_pk, json!({})).await;
    let name = format!("never-{dep_id}");
    let url = format!("{}/v1/api/pipelines/infer/{name}/never", app.base);
    let start = Instant::now();
    let status = loop {
        let (code, out) = app.infer_json(&url, &t.token, &one_row(), "").await;
        assert_eq!(code, StatusCode::SERVICE_UNAVAILABLE, "{out}");
        assert_engine_error(code, &out);
        assert!(out["error"].as_str().unwrap().contains("not available"), "{out}");
        let (_, status) = app.deployment_status(&t.token, &name).await;
        match status["status"].as_str() {
            Some("Error") => break status,
            Some("Starting") => {}
            _ => panic!("a deployment of an unloadable model must not run: {status}"),
        }
        assert!(start.elapsed() < Duration::from_secs(30), "still starting: {status}");
        tokio::time::sleep(Duration::from_millis(25)).await;
    };
    let details = status["details"].to_string();
    assert!(details.contains("torchy"), "the status says which model failed: {status}");
    assert_eq!(status["engines"][0]["status"], "Failed", "{status}");
    app.undeploy(&t.token, dep_id).await;
    assert_eq!(app.deployment_status(&t.token, &name).await.0, StatusCode::NOT_FOUND);
    let (code, out) = app.infer_json(&url, &t.token, &one_row(), "").await;
    assert_eq!(code, StatusCode::NOT_FOUND, "{out}");
}

#[tokio::test]
async fn the_edge_route_serves_the_callers_own_deployment_of_that_name() {
    let app = spawn_app().await;
    let (alice, _) = ccfraud(&app).await;
    let bob = app.tenant("bob@example.com").await;
    let (_, m) = app.ready_model(&bob, "multi", "multi_io.onnx").await;
    app.deploy_pipeline(&bob, "ccfraud", json!([model_step(&[&m])]), json!({})).await;
    let edge = format!("{}/pipelines/ccfraud", app.base);
    let (status, out) = app.infer_json(&edge, &alice.token, &one_row(), "").await;
    assert_eq!(status, StatusCode::OK, "{out}");
    assert!(out[0]["out"]["dense_1"].is_array(), "alice's ccfraud: {out}");
    let (status, out) = app.infer_json(&edge, &bob.token, &json!([{"input_1": vec![1.0; 10], "input_2": vec![1.0; 5]}]), "").await;
    assert_eq!(status, StatusCode::OK, "{out}");
    assert!(out[0]["out"]["output_1"].is_array(), "bob's pipeline of the same name: {out}");
}

#[tokio::test]
async fn unknown_deployments_and_pipeline_name_mismatches_are_404() {
    let app = spawn_app().await;
    let (t, dep) = ccfraud(&app).await;
    let urls = [
        format!("{}/v1/api/pipelines/infer/nope-999/nope", app.base),
        format!("{}/v1/api/pipelines/infer/ccfraud-{}/ccfraud", app.base, dep.id + 1),
        format!("{}/v1/api/pipelines/infer/other-{}/ccfraud", app.base, dep.id),
        format!("{}/v1/api/pipelines/infer/{}/other", app.base, dep.name_id),
        format!("{}/v1/api/pipelines/infer/no-number/ccfraud", app.base),
        format!("{}/infer/{}/other", app.base, dep.name_id),
        format!("{}/pipelines/other", app.base),
    ];
    for url in urls {
        let (status, body) = app.infer_json(&url, &t.token, &one_row(), "").await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{url}: {body}");
        assert_engine_error(status, &body);
        assert_eq!(body["error"], "Deployment not found", "{body}");
    }
    let (status, body) = app.infer_json(&format!("{}/pipelines/ccfraud", app.base), &t.token, &one_row(), "").await;
    assert_eq!(status, StatusCode::OK, "the edge-style route finds the caller's deployment: {body}");
}

#[tokio::test]
async fn a_missing_or_bad_token_is_401_with_the_engine_body() {
    let app = spawn_app().await;
    let (_, dep) = ccfraud(&app).await;
    let body = one_row().to_string().into_bytes();
    let (status, _, out) = app.infer_raw(&dep.url, None, Some("application/json"), None, body.clone(), "").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let out: Value = serde_json::from_slice(&out).expect("a JSON body");
    assert_eq!(out, json!({"code": 401, "status": "error", "error": "Jwt is missing", "source": "platform"}));
    for token in ["garbage", "a.b.c"] {
        let (status, _, out) = app.infer_raw(&dep.url, Some(token), Some("application/json"), None, body.clone(), "").await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        assert_engine_error(status, &serde_json::from_slice(&out).expect("a JSON body"));
    }
}

#[tokio::test]
async fn a_service_account_token_may_call_inference() {
    let app = spawn_app().await;
    let (_, dep) = ccfraud(&app).await;
    let sa = app.client_credentials_token().await;
    let (status, out) = app.infer_json(&dep.url, &sa, &one_row(), "").await;
    assert_eq!(status, StatusCode::OK, "{out}");
    assert_close(&out[0]["out"]["dense_1"], &[ccfraud_expected(&ccfraud_row(0.0))], 1e-5);
}

#[tokio::test]
async fn a_user_outside_the_workspace_gets_404() {
    let app = spawn_app().await;
    let (_, dep) = ccfraud(&app).await;
    let (_, _, bob) = app.user("bob@example.com").await;
    let (status, body) = app.infer_json(&dep.url, &bob, &one_row(), "").await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    assert_engine_error(status, &body);
    let admin = app.admin_token().await;
    let (status, body) = app.infer_json(&dep.url, &admin, &one_row(), "").await;
    assert_eq!(status, StatusCode::OK, "the admin sees every workspace: {body}");
}

#[tokio::test]
async fn malformed_requests_are_400_naming_the_problem() {
    let app = spawn_app().await;
    let (t, dep) = ccfraud(&app).await;
    let records = "application/json; format=pandas-records";
    let arrow = "application/vnd.apache.arrow.file";
    let row = |n: usize| json!(vec![0.5; n]);
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        (records, b"[{\"tensor\": [1.0, 2".to_vec(), "not valid JSON"),
        (records, json!({"tensor": [row(29)]}).to_string().into_bytes(), "array of row objects"),
        (records, b"42".to_vec(), "found a number"),
        (records, b"[]".to_vec(), "no rows"),
        (records, json!([{"tensor": row(29)}, {"tensor": row(28)}]).to_string().into_bytes(), "row 1 has 28 values, expected 29"),
        (records, json!([{"tensor": row(3)}]).to_string().into_bytes(), "row 0 has 3 values, expected 29"),
        (records, json!([{"tensor": [[0.5, 0.5], [0.5]]}]).to_string().into_bytes(), "expected 29"),
        (records, json!([{"tensor": [0.5, null, 0.5]}]).to_string().into_bytes(), "null"),
        (records, json!([{"tensor": row(29)}, {"tensor": "text"}]).to_string().into_bytes(), "mixes"),
        (records, json!([{"a": row(29), "b": row(29)}]).to_string().into_bytes(), "dense_input"),
        (arrow, b"ARROW1\0\0this is not arrow at all, not even close".to_vec(), "Arrow IPC file"),
        (arrow, b"definitely not arrow".to_vec(), "Arrow IPC stream"),
        ("application/json; format=csv", b"[]".to_vec(), "csv"),
    ];
    for (ct, body, needle) in cases {
        let shown = String::from_utf8_lossy(&body).to_string();
        let (status, _, out) = app.infer_raw(&dep.url, Some(&t.token), Some(ct), None, body, "").await;
        let out: Value = serde_json::from_slice(&out).unwrap_or_else(|_| panic!("{shown}: not a JSON error body"));
        assert_eq!(status, StatusCode::BAD_REQUEST, "{ct} {shown}: {out}");
        assert_engine_error(status, &out);
        assert_eq!(out["source"], "engine", "{out}");
        assert!(out["error"].as_str().unwrap().contains(needle), "{shown}: the message should mention {needle:?}: {out}");
    }
    let (status, _) = app.infer_json(&dep.url, &t.token, &one_row(), "").await;
    assert_eq!(status, StatusCode::OK, "still serving");
}

/// An app whose inference bodies are limited to 8 KiB, and a 100-row request well over it.
async fn small_infer_limit() -> (TestApp, Tenant, Deployed, Vec<u8>) {
    let app = spawn_app_with(|a| a.infer_body_limit = Some(8 * 1024)).await;
    let (t, dep) = ccfraud(&app).await;
    let rows: Vec<Value> = (0..100).map(|i| json!({"tensor": ccfraud_row(i as f64)})).collect();
    let big = json!(rows).to_string().into_bytes();
    assert!(big.len() > 8 * 1024);
    (app, t, dep, big)
}

#[tokio::test]
async fn a_body_over_the_inference_limit_is_413() {
    let (app, t, dep, big) = small_infer_limit().await;
    let (status, _, out) = app.infer_raw(&dep.url, Some(&t.token), Some("application/json; format=pandas-records"), None, big, "").await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{}", String::from_utf8_lossy(&out));
    let (status, _) = app.infer_json(&dep.url, &t.token, &one_row(), "").await;
    assert_eq!(status, StatusCode::OK, "small bodies still pass");
}

#[tokio::test]
async fn a_body_over_the_inference_limit_gets_the_engine_error_body() {
    let (app, t, dep, big) = small_infer_limit().await;
    let (status, ct, out) = app.infer_raw(&dep.url, Some(&t.token), Some("application/json; format=pandas-records"), None, big, "").await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    let out: Value = serde_json::from_slice(&out).unwrap_or_else(|_| panic!("a JSON engine error body, got {ct}: {}", String::from_utf8_lossy(&out)));
    assert_engine_error(status, &out);
}
