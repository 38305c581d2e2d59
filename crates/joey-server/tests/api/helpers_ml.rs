//! Helpers for models, pipelines, deployments and inference (re-exported by `helpers`).
//! Fixtures are the tiny committed ONNX files of `crates/joey-engine/tests/fixtures`.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::{read, TestApp};

/// How long the wait helpers poll before giving up.
const WAIT: Duration = Duration::from_secs(60);
const POLL: Duration = Duration::from_millis(25);

pub fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../joey-engine/tests/fixtures").join(name)
}

pub fn fixture_bytes(name: &str) -> Vec<u8> {
    std::fs::read(fixture(name)).unwrap_or_else(|e| panic!("fixture {name}: {e}"))
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    format!("{:x}", sha2::Sha256::digest(bytes))
}

/// Regular files below `dir` (recursively); 0 when it does not exist.
pub fn count_files(dir: &Path) -> usize {
    let Ok(entries) = std::fs::read_dir(dir) else { return 0 };
    entries
        .flatten()
        .map(|e| if e.path().is_dir() { count_files(&e.path()) } else { 1 })
        .sum()
}

/// A `multipart/form-data` body built by hand, parts in the order they are added.
pub struct Multipart {
    boundary: String,
    body: Vec<u8>,
}

impl Default for Multipart {
    fn default() -> Self {
        Self::new()
    }
}

impl Multipart {
    pub fn new() -> Self {
        Self { boundary: format!("joey-test-{}", uuid::Uuid::new_v4().simple()), body: Vec::new() }
    }

    fn part(mut self, headers: &str, content: &[u8]) -> Self {
        self.body.extend_from_slice(format!("--{}\r\n{headers}\r\n\r\n", self.boundary).as_bytes());
        self.body.extend_from_slice(content);
        self.body.extend_from_slice(b"\r\n");
        self
    }

    /// A part holding JSON text (as the SDK sends `metadata`).
    pub fn json(self, name: &str, value: &Value) -> Self {
        self.text(name, "application/json", &value.to_string())
    }

    pub fn text(self, name: &str, content_type: &str, text: &str) -> Self {
        self.part(&format!("Content-Disposition: form-data; name=\"{name}\"\r\nContent-Type: {content_type}"), text.as_bytes())
    }

    pub fn file(self, name: &str, file_name: &str, bytes: &[u8]) -> Self {
        self.part(
            &format!("Content-Disposition: form-data; name=\"{name}\"; filename=\"{file_name}\"\r\nContent-Type: application/octet-stream"),
            bytes,
        )
    }

    /// The bytes that open a file part whose content follows (for streamed bodies).
    pub fn file_head(&self, name: &str, file_name: &str) -> Vec<u8> {
        format!(
            "--{}\r\nContent-Disposition: form-data; name=\"{name}\"; filename=\"{file_name}\"\r\nContent-Type: application/octet-stream\r\n\r\n",
            self.boundary
        )
        .into_bytes()
    }

    /// What closes a streamed file part and the whole body.
    pub fn tail(&self) -> Vec<u8> {
        format!("\r\n--{}--\r\n", self.boundary).into_bytes()
    }

    pub fn content_type(&self) -> String {
        format!("multipart/form-data; boundary={}", self.boundary)
    }

    /// (Content-Type, body) with the closing boundary.
    pub fn finish(mut self) -> (String, Vec<u8>) {
        self.body.extend_from_slice(format!("--{}--\r\n", self.boundary).as_bytes());
        (self.content_type(), self.body)
    }

    /// The body so far, without the closing boundary (a streamed file part may follow).
    pub fn into_prefix(self) -> (String, Vec<u8>) {
        (self.content_type(), self.body)
    }
}

/// The SDK's upload metadata.
pub fn upload_metadata(name: &str, workspace_id: i64, framework: &str) -> Value {
    json!({"name": name, "visibility": "private", "workspace_id": workspace_id,
           "conversion": {"framework": framework, "python_version": "3.8", "requirements": []}})
}

/// The new model version id of an upload answer.
pub fn version_id_of(body: &Value) -> i64 {
    body["insert_models"]["returning"][0]["models"][0]["id"].as_i64().unwrap_or_else(|| panic!("no version id in {body}"))
}

/// A signed-in user with a workspace of their own.
#[derive(Clone)]
pub struct Tenant {
    pub token: String,
    pub ws: i64,
}

/// A running deployment of a pipeline.
#[derive(Clone, Debug)]
pub struct Deployed {
    pub pipeline_id: i64,
    pub version_pk: i64,
    pub id: i64,
    /// `"{deploy_id}-{id}"`
    pub name_id: String,
    /// The external inference URL.
    pub url: String,
}

/// `{"ModelInference": {"models": [...]}}`
pub fn model_step(refs: &[&Value]) -> Value {
    json!({"ModelInference": {"models": refs}})
}

impl TestApp {
    /// Invites `email`, signs them in and creates a workspace named after them.
    pub async fn tenant(&self, email: &str) -> Tenant {
        let (_, _, token) = self.user(email).await;
        let name = format!("{}-ws", email.split('@').next().unwrap_or(email));
        let ws = self.create_workspace(&token, &name).await;
        Tenant { token, ws }
    }

    /// POSTs a raw body with the given content type (multipart uploads, Arrow, ...).
    pub async fn post_bytes(&self, path: &str, token: &str, content_type: &str, body: Vec<u8>) -> (StatusCode, Value) {
        let resp = self
            .client
            .post(self.url(path))
            .bearer_auth(token)
            .header(reqwest::header::CONTENT_TYPE, content_type)
            .body(body)
            .send()
            .await
            .expect("request");
        read(resp).await
    }

    /// Multipart upload to `path` (`/v1/api/models/upload` or `upload_and_convert`), metadata first.
    pub async fn upload_raw(&self, path: &str, token: &str, metadata: &Value, file_name: &str, bytes: &[u8]) -> (StatusCode, Value) {
        let (ct, body) = Multipart::new().json("metadata", metadata).file("file", file_name, bytes).finish();
        self.post_bytes(path, token, &ct, body).await
    }

    /// Uploads a fixture as model `name` (framework onnx) and waits until its background load
    /// has finished (ready or error); returns the new version id.
    ///
    /// Tests then see settled statuses; uploads that overlap loads are covered by
    /// `model_storage::back_to_back_uploads_from_several_clients_all_succeed`.
    pub async fn upload_model(&self, t: &Tenant, name: &str, fixture_name: &str) -> i64 {
        let (status, body) =
            self.upload_raw("/v1/api/models/upload", &t.token, &upload_metadata(name, t.ws, "onnx"), fixture_name, &fixture_bytes(fixture_name)).await;
        assert_eq!(status, StatusCode::OK, "upload of {fixture_name} as {name}: {body}");
        let id = version_id_of(&body);
        self.wait_loaded(&t.token, id).await;
        id
    }

    /// `models/get_version_by_id` → (status, body).
    pub async fn get_version(&self, token: &str, version_id: i64) -> (StatusCode, Value) {
        self.post_json("/v1/api/models/get_version_by_id", token, json!({"model_version_id": version_id})).await
    }

    /// Polls until the version is `ready` or `error`; returns its `ModelVersion` record.
    pub async fn wait_loaded(&self, token: &str, version_id: i64) -> Value {
        let start = Instant::now();
        loop {
            let (status, body) = self.get_version(token, version_id).await;
            assert_eq!(status, StatusCode::OK, "get_version_by_id {version_id}: {body}");
            let v = body["model_version"]["model_version"].clone();
            if v["status"] == "ready" || v["status"] == "error" {
                return v;
            }
            assert!(start.elapsed() < WAIT, "model version {version_id} still {} after {WAIT:?}", v["status"]);
            tokio::time::sleep(POLL).await;
        }
    }

    /// Waits for `ready` (panics on `error`); returns the `ModelVersion` record.
    pub async fn wait_ready(&self, token: &str, version_id: i64) -> Value {
        let v = self.wait_loaded(token, version_id).await;
        assert_eq!(v["status"], "ready", "model version {version_id} did not load: {v}");
        v
    }

    /// `{name, version, sha}` of a version, as pipeline steps name models.
    pub async fn model_ref(&self, token: &str, version_id: i64) -> Value {
        let (status, body) = self.get_version(token, version_id).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let v = &body["model_version"]["model_version"];
        json!({"name": v["name"], "version": v["file_info"]["version"], "sha": v["file_info"]["sha"]})
    }

    /// Uploads a fixture, waits until it is ready and returns its model reference.
    pub async fn ready_model(&self, t: &Tenant, name: &str, fixture_name: &str) -> (i64, Value) {
        let id = self.upload_model(t, name, fixture_name).await;
        self.wait_ready(&t.token, id).await;
        (id, self.model_ref(&t.token, id).await)
    }

    /// Sets a version's `tensor_fields` (a new model config).
    pub async fn set_tensor_fields(&self, token: &str, version_id: i64, fields: &[&str]) -> Value {
        let (status, body) =
            self.post_json("/v1/api/models/insert_model_config", token, json!({"model_version_id": version_id, "tensor_fields": fields})).await;
        assert_eq!(status, StatusCode::OK, "insert_model_config: {body}");
        body["model_config"].clone()
    }

    /// `pipelines/create`; returns (pipeline id, pipeline version pk).
    pub async fn create_pipeline(&self, t: &Tenant, name: &str, steps: Value) -> (i64, i64) {
        let (status, body) = self
            .post_json("/v1/api/pipelines/create", &t.token, json!({"pipeline_id": name, "workspace_id": t.ws, "definition": {"id": name, "steps": steps}}))
            .await;
        assert_eq!(status, StatusCode::OK, "create pipeline {name}: {body}");
        (body["pipeline_pk_id"].as_i64().expect("pipeline_pk_id"), body["pipeline_variant_pk_id"].as_i64().expect("pipeline_variant_pk_id"))
    }

    /// `pipelines/deploy` with the SDK's body; returns the deployment id.
    pub async fn deploy(&self, token: &str, name: &str, version_pk: i64, engine_config: Value) -> i64 {
        let (status, body) = self
            .post_json("/v1/api/pipelines/deploy", token, json!({"deploy_id": name, "pipeline_version_pk_id": version_pk, "engine_config": engine_config}))
            .await;
        assert_eq!(status, StatusCode::OK, "deploy {name}: {body}");
        body["id"].as_i64().unwrap_or_else(|| panic!("deploy answer without id: {body}"))
    }

    pub async fn deployment_status(&self, token: &str, name_id: &str) -> (StatusCode, Value) {
        self.post_json("/v1/api/status/get_deployment", token, json!({"name": name_id})).await
    }

    /// Polls `status/get_deployment` until `Running` (panics on `Error` or timeout).
    pub async fn wait_running(&self, token: &str, name_id: &str) -> Value {
        let start = Instant::now();
        loop {
            let (status, body) = self.deployment_status(token, name_id).await;
            assert_eq!(status, StatusCode::OK, "status of {name_id}: {body}");
            match body["status"].as_str() {
                Some("Running") => return body,
                Some("Starting") => {}
                _ => panic!("deployment {name_id} did not start: {body}"),
            }
            assert!(start.elapsed() < WAIT, "deployment {name_id} still starting after {WAIT:?}: {body}");
            tokio::time::sleep(POLL).await;
        }
    }

    pub async fn external_url(&self, t: &Tenant, pipeline: &str) -> String {
        let (status, body) =
            self.post_json("/v1/api/admin/get_pipeline_external_url", &t.token, json!({"workspace_id": t.ws, "pipeline_name": pipeline})).await;
        assert_eq!(status, StatusCode::OK, "external url of {pipeline}: {body}");
        body["url"].as_str().expect("url").to_string()
    }

    /// Creates pipeline `name` with `steps`, deploys it and waits until it runs.
    pub async fn deploy_pipeline(&self, t: &Tenant, name: &str, steps: Value, engine_config: Value) -> Deployed {
        let (pipeline_id, version_pk) = self.create_pipeline(t, name, steps).await;
        let id = self.deploy(&t.token, name, version_pk, engine_config).await;
        let name_id = format!("{name}-{id}");
        self.wait_running(&t.token, &name_id).await;
        let url = self.external_url(t, name).await;
        Deployed { pipeline_id, version_pk, id, name_id, url }
    }

    pub async fn undeploy(&self, token: &str, deployment_id: i64) {
        let (status, body) = self.post_json("/v1/api/pipelines/undeploy", token, json!({"deployment_id": deployment_id})).await;
        assert_eq!(status, StatusCode::OK, "undeploy {deployment_id}: {body}");
    }

    /// A pandas-records inference call; `query` is the raw query string (may be empty).
    pub async fn infer_json(&self, url: &str, token: &str, body: &Value, query: &str) -> (StatusCode, Value) {
        let (status, _, bytes) =
            self.infer_raw(url, Some(token), Some("application/json; format=pandas-records"), None, body.to_string().into_bytes(), query).await;
        let text = String::from_utf8_lossy(&bytes);
        (status, serde_json::from_str(&text).unwrap_or(Value::String(text.into_owned())))
    }

    /// Any inference call; returns (status, Content-Type, body bytes).
    pub async fn infer_raw(
        &self,
        url: &str,
        token: Option<&str>,
        content_type: Option<&str>,
        accept: Option<&str>,
        body: Vec<u8>,
        query: &str,
    ) -> (StatusCode, String, Vec<u8>) {
        let full = if query.is_empty() { url.to_string() } else { format!("{url}?{query}") };
        let mut req = self.client.post(full).body(body);
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        if let Some(ct) = content_type {
            req = req.header(reqwest::header::CONTENT_TYPE, ct);
        }
        if let Some(a) = accept {
            req = req.header(reqwest::header::ACCEPT, a);
        }
        let resp = req.send().await.expect("inference request");
        let status = resp.status();
        let ct = resp.headers().get(reqwest::header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("").to_string();
        (status, ct, resp.bytes().await.expect("inference body").to_vec())
    }
}

/// Asserts the engine error body `{"code", "status": "error", "error", "source"}`.
pub fn assert_engine_error(status: StatusCode, body: &Value) {
    assert_eq!(body["code"], json!(status.as_u16()), "engine error body should repeat the status: {body}");
    assert_eq!(body["status"], "error", "{body}");
    assert!(body["error"].as_str().is_some_and(|e| !e.is_empty()), "engine error body needs an error message: {body}");
    assert!(["engine", "platform", "sidekick"].contains(&body["source"].as_str().unwrap_or("")), "engine error source: {body}");
}

// ---- the tiny_ccfraud model: dense_1 = sigmoid(x · W + 0.125), W[i] = ((i % 7) - 3) / 8 ----

/// A 29-value input row derived from `seed`.
pub fn ccfraud_row(seed: f64) -> Vec<f64> {
    (0..29).map(|i| ((i as f64) * 0.37 + seed).sin() * 2.0).collect()
}

/// What tiny_ccfraud computes for a row.
pub fn ccfraud_expected(x: &[f64]) -> f64 {
    let logit: f64 = x.iter().enumerate().map(|(i, v)| v * ((((i % 7) as f64) - 3.0) / 8.0)).sum::<f64>() + 0.125;
    1.0 / (1.0 + (-logit).exp())
}

/// A row whose tiny_ccfraud output is above 0.99 (`high`) or below 0.01.
pub fn ccfraud_extreme_row(high: bool) -> Vec<f64> {
    let sign = if high { 1.0 } else { -1.0 };
    (0..29).map(|i| sign * ((((i % 7) as f64) - 3.0) / 8.0) * 4.0).collect()
}

/// The deterministic weights of the fixtures: `w[i, j] = (((i * cols + j) % 7) - 3) / 8`.
pub fn fixture_weight(i: usize, j: usize, cols: usize) -> f64 {
    ((((i * cols + j) % 7) as f64) - 3.0) / 8.0
}

/// `x @ W` for a fixture weight matrix with `cols` columns.
pub fn matmul_fixture(x: &[f64], cols: usize) -> Vec<f64> {
    (0..cols).map(|j| x.iter().enumerate().map(|(i, v)| v * fixture_weight(i, j, cols)).sum()).collect()
}

/// Asserts two float lists agree to `tol` (float32 outputs against f64 maths).
pub fn assert_close(got: &Value, want: &[f64], tol: f64) {
    let got: Vec<f64> = got.as_array().unwrap_or_else(|| panic!("expected a list, got {got}")).iter().map(|v| v.as_f64().expect("number")).collect();
    assert_eq!(got.len(), want.len(), "got {got:?}, want {want:?}");
    for (g, w) in got.iter().zip(want) {
        assert!((g - w).abs() <= tol, "got {got:?}, want {want:?}");
    }
}
