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
    /// Marks the grant with this user code approved; false when no live grant has that code.
    async fn approve_device_grant(&self, user_code: &str, user_id: &str, now_ms: i64) -> Result<bool>;
    async fn delete_device_grant(&self, device_code: &str) -> Result<()>;
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
pub trait Store: UserStore + AuthStore + WorkspaceStore + Send + Sync {}

impl<T: UserStore + AuthStore + WorkspaceStore + Send + Sync> Store for T {}
