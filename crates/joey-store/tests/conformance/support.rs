use joey_store::SqlStore;

pub struct TestStore {
    pub store: SqlStore,
    _dir: Option<tempfile::TempDir>,
}

pub async fn sqlite() -> TestStore {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}?mode=rwc", dir.path().join("meta.db").display());
    let store = SqlStore::connect(&url).await.expect("open sqlite");
    TestStore { store, _dir: Some(dir) }
}

pub async fn postgres() -> TestStore {
    let admin = std::env::var("JOEY_TEST_POSTGRES_URL")
        .expect("JOEY_TEST_POSTGRES_URL must point at a PostgreSQL server for the postgres conformance tests");
    sqlx::any::install_default_drivers();
    let name = format!("joey_test_{}", uuid::Uuid::new_v4().simple());
    let pool = sqlx::AnyPool::connect(&admin).await.expect("connect to postgres");
    sqlx::query(&format!("create database {name}")).execute(&pool).await.expect("create database");
    let base = admin.rsplit_once('/').map(|(b, _)| b.to_string()).unwrap_or(admin.clone());
    let url = format!("{base}/{name}");
    let store = SqlStore::connect(&url).await.expect("open postgres");
    TestStore { store, _dir: None }
}

/// A fresh user and a workspace they own; returns (user id, workspace id).
pub async fn user_and_workspace(s: &SqlStore, name: &str) -> (String, i64) {
    use joey_core::ports::{UserStore, WorkspaceStore};
    let email = format!("{name}@x.io");
    let user = joey_core::user::NewUser {
        id: uuid::Uuid::new_v4().to_string(),
        username: email.clone(),
        email,
        first_name: "Ann".into(),
        last_name: "Lee".into(),
        is_admin: false,
        password_hash: None,
    };
    let u = s.create_user(user, 1).await.expect("create user");
    let ws = s.create_workspace(name, &u.id, 1).await.expect("create workspace");
    (u.id, ws.id)
}

/// A plain first config (the store fills in the version id).
pub fn config(runtime: &str) -> joey_core::model::ModelConfig {
    joey_core::model::ModelConfig { runtime: runtime.into(), ..Default::default() }
}

/// What an upload of `name` with content `sha` registers, with a fresh version UUID.
pub fn new_version(workspace_id: i64, name: &str, sha: &str, owner: &str) -> joey_core::model::NewModelVersion {
    joey_core::model::NewModelVersion {
        workspace_id,
        name: name.into(),
        version: uuid::Uuid::new_v4().to_string(),
        sha: sha.into(),
        file_name: format!("{name}.onnx"),
        size: sha.len() as i64 * 100,
        status: joey_core::model::ModelStatus::Uploading,
        visibility: "private".into(),
        conversion: serde_json::json!({"framework": "onnx", "python_version": "3.8", "requirements": []}),
        created_by: "uploader@x.io".into(),
        owner_id: owner.into(),
        config: config("onnx"),
    }
}
