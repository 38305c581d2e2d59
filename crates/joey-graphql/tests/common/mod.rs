//! A `Platform` over a temporary SQLite store and artifact dir, with fakes for the ports that
//! need outside things (ONNX Runtime, Argon2), and a seeded world: alice owns a workspace with a
//! ready model, a pipeline using it and an active deployment; bob owns only his default workspace.

#![allow(dead_code)]

use std::path::Path;
use std::sync::Arc;

use joey_core::model::{ModelVersion, Signature, TensorInfo};
use joey_core::pipeline::{Deployment, Pipeline, PipelineVersion};
use joey_core::platform::{DeployRequest, Ports, UploadMeta};
use joey_core::ports::{ModelInspector, SystemClock};
use joey_core::user::{NewUser, PasswordHasher, SecretGenerator};
use joey_core::workspace::Workspace;
use joey_core::{Caller, CallerKind, Platform};
use serde_json::{json, Value};
use sha2::Digest;

/// Reports a fixed signature for every model.
pub struct FakeInspector;

#[async_trait::async_trait]
impl ModelInspector for FakeInspector {
    fn supports(&self, framework: &str) -> bool {
        framework == "onnx"
    }
    async fn inspect(&self, _framework: &str, _path: &Path) -> Result<Signature, String> {
        let t = |n: &str, w| TensorInfo { name: n.into(), dtype: "float32".into(), shape: vec![None, Some(w)] };
        Ok(Signature { inputs: vec![t("dense_input", 29)], outputs: vec![t("dense_1", 1)] })
    }
}

struct PlainHasher;
impl PasswordHasher for PlainHasher {
    fn hash(&self, secret: &str) -> joey_core::Result<String> {
        Ok(format!("plain:{secret}"))
    }
    fn verify(&self, secret: &str, hash: &str) -> bool {
        hash == format!("plain:{secret}")
    }
}

struct FixedSecrets;
impl SecretGenerator for FixedSecrets {
    fn password(&self) -> String {
        "fixed-password-1".into()
    }
}

pub struct World {
    pub platform: Platform,
    pub schema: joey_graphql::JoeySchema,
    pub alice: Caller,
    pub bob: Caller,
    pub admin: Caller,
    pub ws: Workspace,
    pub version: ModelVersion,
    pub config_id: i64,
    pub pipeline: Pipeline,
    pub pipeline_version: PipelineVersion,
    pub deployment: Deployment,
    /// What the `Deploy` mutation asked the runtime to do, in order.
    pub runtime: Arc<RecordingDeployer>,
    _dir: tempfile::TempDir,
}

/// Records the runtime calls the GraphQL layer makes (the serving runtime itself is exercised by
/// the API tests).
#[derive(Default)]
pub struct RecordingDeployer {
    pub calls: std::sync::Mutex<Vec<String>>,
}

impl joey_graphql::Deployer for RecordingDeployer {
    fn start(&self, plan: joey_core::platform::DeploymentPlan) {
        self.calls.lock().unwrap().push(format!("start {} v{}", plan.deployment.id, plan.version.id));
    }
    fn stop(&self, deployment_id: i64) {
        self.calls.lock().unwrap().push(format!("stop {deployment_id}"));
    }
}

impl World {
    /// Runs a document as `caller`; returns the whole response.
    pub async fn run(&self, caller: &Caller, query: &str, variables: Value) -> Value {
        joey_graphql::execute(&self.schema, caller.clone(), json!({"query": query, "variables": variables})).await
    }

    /// Runs a document and returns `data`, failing on any `errors`.
    pub async fn data(&self, caller: &Caller, query: &str, variables: Value) -> Value {
        let r = self.run(caller, query, variables).await;
        assert!(r.get("errors").is_none(), "errors: {r:#}");
        r["data"].clone()
    }
}

async fn user(platform: &Platform, email: &str, admin: bool) -> Caller {
    let u = platform
        .create_user_record(NewUser {
            id: format!("id-{email}"),
            username: email.into(),
            email: email.into(),
            first_name: String::new(),
            last_name: String::new(),
            is_admin: admin,
            password_hash: None,
        })
        .await
        .expect("create user");
    Caller { user_id: u.id, email: u.email, is_admin: admin, kind: CallerKind::User }
}

pub async fn world() -> World {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}?mode=rwc", dir.path().join("meta.db").display());
    let store = joey_store::SqlStore::connect(&url).await.expect("open sqlite");
    let artifacts = joey_artifacts::LocalArtifacts::open(dir.path().join("artifacts")).expect("artifacts");
    let platform = Platform::new(Ports {
        store: Arc::new(store),
        clock: Arc::new(SystemClock),
        hasher: Arc::new(PlainHasher),
        secrets: Arc::new(FixedSecrets),
        artifacts: Arc::new(artifacts),
        inspector: Arc::new(FakeInspector),
    });
    let alice = user(&platform, "alice@example.com", false).await;
    let bob = user(&platform, "bob@example.com", false).await;
    let admin = user(&platform, "root@example.com", true).await;
    let ws = platform.create_workspace(&alice, "alice-ws").await.unwrap();

    let bytes = b"not really onnx; the fake inspector does not care".to_vec();
    let sha = hex::encode(sha2::Sha256::digest(&bytes));
    let staged = platform.artifacts.staging_dir().join("upload-1");
    std::fs::create_dir_all(staged.parent().unwrap()).unwrap();
    std::fs::write(&staged, &bytes).unwrap();
    let meta = UploadMeta {
        workspace_id: ws.id,
        name: "m1".into(),
        visibility: "private".into(),
        conversion: json!({"framework": "onnx", "python_version": "3.8", "requirements": []}),
        file_name: "model.onnx".into(),
        input_schema: None,
        output_schema: None,
    };
    let (version, config) = platform.upload_model(&alice, meta, &staged, &sha, bytes.len() as u64).await.expect("upload");
    platform.load_model_version(version.id).await.expect("load");
    let version = platform.get_model_version(&alice, version.id).await.unwrap().0;

    let step = json!({"ModelInference": {"models": [{"name": "m1", "version": version.version, "sha": version.sha}]}});
    let (pipeline, pipeline_version) = platform.create_pipeline(&alice, "p1", ws.id, json!({"steps": [step]})).await.expect("pipeline");
    let req = DeployRequest {
        deploy_id: "p1".into(),
        pipeline_version_pk_id: Some(pipeline_version.id),
        engine_config: json!({"engine": {"replicas": 1}}),
        ..Default::default()
    };
    let deployment = platform.deploy(&alice, req).await.expect("deploy").deployment;
    let runtime = Arc::new(RecordingDeployer::default());
    let schema = joey_graphql::schema(platform.clone(), runtime.clone());
    World { platform, schema, alice, bob, admin, ws, version, config_id: config.id, pipeline, pipeline_version, deployment, runtime, _dir: dir }
}
