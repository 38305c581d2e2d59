//! Traits implemented outside core: storage and time.
//!
//! Every operation that must be atomic is a single method here, so the transaction lives inside
//! the store crate.

use async_trait::async_trait;

use crate::user::{DeviceGrant, NewUser, OidcClient, RefreshGrant, SigningKey, User};
use crate::workspace::{Member, Role, Workspace, WorkspaceSummary};
use crate::Result;

/// Wall-clock time, injectable for tests.
pub trait Clock: Send + Sync {
    fn now_ms(&self) -> i64;
}

/// The system clock.
pub struct SystemClock;

impl Clock for SystemClock {
    fn now_ms(&self) -> i64 {
        chrono::Utc::now().timestamp_millis()
    }
}

/// Users and their credentials.
#[async_trait]
pub trait UserStore: Send + Sync {
    /// Creates the user. A duplicate email or username is `Conflict`.
    async fn create_user(&self, new: NewUser, now_ms: i64) -> Result<User>;
    async fn get_user(&self, id: &str) -> Result<Option<User>>;
    async fn find_user_by_email(&self, email: &str) -> Result<Option<User>>;
    async fn find_user_by_username(&self, username: &str) -> Result<Option<User>>;
    /// All users when `ids` is `None`.
    async fn list_users(&self, ids: Option<&[String]>) -> Result<Vec<User>>;
    /// Replaces names, email, enabled and admin flags. Disabling also revokes refresh tokens, atomically.
    async fn update_user(&self, user: &User) -> Result<()>;
    async fn set_password_hash(&self, user_id: &str, hash: &str) -> Result<()>;
    async fn record_login(&self, user_id: &str, now_ms: i64) -> Result<()>;
    async fn count_users(&self) -> Result<i64>;
}

/// OIDC clients, signing keys, refresh tokens and device codes.
#[async_trait]
pub trait AuthStore: Send + Sync {
    async fn upsert_client(&self, client: &OidcClient) -> Result<()>;
    async fn get_client(&self, client_id: &str) -> Result<Option<OidcClient>>;
    async fn insert_signing_key(&self, key: &SigningKey) -> Result<()>;
    /// Oldest first.
    async fn list_signing_keys(&self) -> Result<Vec<SigningKey>>;
    async fn insert_refresh_grant(&self, grant: &RefreshGrant) -> Result<()>;
    /// Deletes and returns the grant (rotation: a refresh token works once).
    async fn take_refresh_grant(&self, token_hash: &str) -> Result<Option<RefreshGrant>>;
    async fn revoke_refresh_grants(&self, user_id: &str) -> Result<u64>;
    async fn insert_device_grant(&self, grant: &DeviceGrant) -> Result<()>;
    async fn get_device_grant(&self, device_code: &str) -> Result<Option<DeviceGrant>>;
    /// Marks the grant with this user code approved; false when no live, unapproved grant has that code.
    async fn approve_device_grant(&self, user_code: &str, user_id: &str, now_ms: i64) -> Result<bool>;
    async fn delete_device_grant(&self, device_code: &str) -> Result<()>;
    /// Deletes and returns the grant if it is approved, atomically (a code yields tokens once).
    async fn take_approved_device_grant(&self, device_code: &str) -> Result<Option<DeviceGrant>>;
}

/// Workspaces and membership.
#[async_trait]
pub trait WorkspaceStore: Send + Sync {
    /// Creates the workspace with `owner` as its OWNER, atomically. A duplicate name is `Conflict`.
    async fn create_workspace(&self, name: &str, owner: &str, now_ms: i64) -> Result<Workspace>;
    async fn get_workspace(&self, id: i64) -> Result<Option<Workspace>>;
    async fn find_workspace_by_name(&self, name: &str) -> Result<Option<Workspace>>;
    /// Every workspace when `member` is `None`, else those `member` belongs to. Ordered by id.
    async fn list_workspaces(&self, member: Option<&str>) -> Result<Vec<WorkspaceSummary>>;
    /// Adds or updates the membership.
    async fn put_member(&self, workspace_id: i64, user_id: &str, role: Role) -> Result<()>;
    /// Returns how many rows were removed (0 or 1).
    async fn remove_member(&self, workspace_id: i64, user_id: &str) -> Result<u64>;
    async fn list_members(&self, workspace_id: i64) -> Result<Vec<Member>>;
    async fn member_role(&self, workspace_id: i64, user_id: &str) -> Result<Option<Role>>;
}

/// Everything the platform persists.
pub trait Store: UserStore + AuthStore + WorkspaceStore + ModelStore + PipelineStore + Send + Sync {}

impl<T: UserStore + AuthStore + WorkspaceStore + ModelStore + PipelineStore + Send + Sync> Store for T {}

/// Models, versions, configs and upload logs.
#[async_trait]
pub trait ModelStore: Send + Sync {
    /// Creates the model (if this name is new in the workspace) and the version with its first
    /// config, atomically. Returns the version and its config.
    async fn create_model_version(&self, new: crate::model::NewModelVersion, now_ms: i64) -> Result<(crate::model::ModelVersion, crate::model::ModelConfig)>;
    async fn get_model(&self, id: i64) -> Result<Option<crate::model::Model>>;
    async fn find_model(&self, workspace_id: i64, name: &str) -> Result<Option<crate::model::Model>>;
    async fn list_models(&self, workspace_id: i64) -> Result<Vec<crate::model::ModelWithVersions>>;
    async fn model_with_versions(&self, model_id: i64) -> Result<Option<crate::model::ModelWithVersions>>;
    async fn get_model_version(&self, id: i64) -> Result<Option<crate::model::ModelVersion>>;
    async fn find_model_version(&self, version_uuid: &str) -> Result<Option<crate::model::ModelVersion>>;
    async fn set_model_status(&self, id: i64, status: crate::model::ModelStatus, error: Option<&str>, signature: Option<&crate::model::Signature>) -> Result<()>;
    async fn latest_config(&self, model_version_id: i64) -> Result<Option<crate::model::ModelConfig>>;
    async fn get_config(&self, config_id: i64) -> Result<Option<crate::model::ModelConfig>>;
    async fn insert_config(&self, config: &crate::model::ModelConfig, now_ms: i64) -> Result<crate::model::ModelConfig>;
    async fn append_upload_log(&self, model_version_id: i64, line: &str, now_ms: i64) -> Result<()>;
    async fn upload_log(&self, model_version_id: i64) -> Result<Vec<String>>;
    /// Deletes the versions (and models left empty). Returns the content hashes nothing references any more.
    async fn delete_model_versions(&self, version_ids: &[i64]) -> Result<crate::model::Freed>;
    /// Whether any version still references these bytes.
    async fn sha_referenced(&self, sha: &str) -> Result<bool>;
    /// Versions that sit in a non-final state (for reloading after a restart).
    async fn versions_in_status(&self, status: crate::model::ModelStatus) -> Result<Vec<crate::model::ModelVersion>>;
}

/// Content-addressed artifact bytes (model files). Files are staged by the transport layer
/// (hashing while streaming), then committed here under their SHA-256.
#[async_trait]
pub trait ArtifactStore: Send + Sync {
    /// Moves a fully written, hashed staging file into the store. Idempotent for the same sha.
    async fn commit(&self, staged: &std::path::Path, sha: &str) -> Result<()>;
    /// A local file holding the bytes (downloaded to a cache for remote backends).
    async fn local_path(&self, sha: &str) -> Result<std::path::PathBuf>;
    /// Removes the bytes; returns how many bytes were freed (0 if absent).
    async fn delete(&self, sha: &str) -> Result<u64>;
    /// Where staging files should be written (same filesystem as the store for cheap renames).
    fn staging_dir(&self) -> std::path::PathBuf;
}

/// Opens model files to learn their signatures (the ONNX runtime, behind a port).
#[async_trait]
pub trait ModelInspector: Send + Sync {
    /// Frameworks this inspector can open.
    fn supports(&self, framework: &str) -> bool;
    async fn inspect(&self, framework: &str, path: &std::path::Path) -> std::result::Result<crate::model::Signature, String>;
}

/// Pipelines, their versions and deployments.
#[async_trait]
pub trait PipelineStore: Send + Sync {
    /// Creates the pipeline (if new in the workspace) and a new version, atomically.
    async fn create_pipeline_version(&self, workspace_id: i64, name: &str, created_by: &str, definition: &serde_json::Value, model_version_ids: &[i64], now_ms: i64) -> Result<(crate::pipeline::Pipeline, crate::pipeline::PipelineVersion)>;
    async fn get_pipeline(&self, id: i64) -> Result<Option<crate::pipeline::Pipeline>>;
    async fn find_pipeline(&self, workspace_id: i64, name: &str) -> Result<Option<crate::pipeline::Pipeline>>;
    async fn list_pipelines(&self, workspace_id: i64) -> Result<Vec<crate::pipeline::Pipeline>>;
    /// Oldest first.
    async fn list_pipeline_versions(&self, pipeline_id: i64) -> Result<Vec<crate::pipeline::PipelineVersion>>;
    async fn get_pipeline_version(&self, id: i64) -> Result<Option<crate::pipeline::PipelineVersion>>;
    async fn find_pipeline_version(&self, version_uuid: &str) -> Result<Option<crate::pipeline::PipelineVersion>>;
    async fn delete_pipeline(&self, id: i64) -> Result<()>;
    async fn delete_pipeline_versions(&self, ids: &[i64]) -> Result<()>;
    /// Creates or re-activates the pipeline's deployment row (its id never changes).
    async fn activate_deployment(&self, pipeline_id: i64, deploy_id: &str, pipeline_version_id: i64, engine_config: &serde_json::Value, now_ms: i64) -> Result<crate::pipeline::Deployment>;
    async fn deactivate_deployment(&self, id: i64, now_ms: i64) -> Result<()>;
    async fn get_deployment(&self, id: i64) -> Result<Option<crate::pipeline::Deployment>>;
    async fn deployment_for_pipeline(&self, pipeline_id: i64) -> Result<Option<crate::pipeline::Deployment>>;
    async fn list_active_deployments(&self) -> Result<Vec<crate::pipeline::Deployment>>;
    /// Whether an active deployment's pipeline version uses this model version.
    async fn model_version_deployed(&self, model_version_id: i64) -> Result<bool>;
}
