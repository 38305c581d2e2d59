//! The `Platform` facade: the only entry point for the API, workers and the CLI.

mod graphql_reads;
mod models;
mod pipelines;
mod users;
mod workspaces;

use std::sync::Arc;

use crate::ports::{ArtifactStore, Clock, ModelInspector, Store};
use crate::user::{PasswordHasher, SecretGenerator};
use crate::workspace::{Role, Workspace};
use crate::{Caller, Error, Result};

pub use models::{ModelSelector, UploadMeta};
pub use pipelines::{DeployRequest, DeploymentPlan, PipelineInfo, PlannedModel};
pub use users::{InvitedUser, UserEdit};
pub use workspaces::UserRef;

/// The domain services, composed from ports.
#[derive(Clone)]
pub struct Platform {
    pub store: Arc<dyn Store>,
    pub clock: Arc<dyn Clock>,
    pub hasher: Arc<dyn PasswordHasher>,
    pub secrets: Arc<dyn SecretGenerator>,
    pub artifacts: Arc<dyn ArtifactStore>,
    pub inspector: Arc<dyn ModelInspector>,
}

/// The ports a platform is built from.
pub struct Ports {
    pub store: Arc<dyn Store>,
    pub clock: Arc<dyn Clock>,
    pub hasher: Arc<dyn PasswordHasher>,
    pub secrets: Arc<dyn SecretGenerator>,
    pub artifacts: Arc<dyn ArtifactStore>,
    pub inspector: Arc<dyn ModelInspector>,
}

impl Platform {
    pub fn new(p: Ports) -> Self {
        Self { store: p.store, clock: p.clock, hasher: p.hasher, secrets: p.secrets, artifacts: p.artifacts, inspector: p.inspector }
    }

    /// Loads a workspace the caller may use. Non-members get `NotFound`, exactly as for a
    /// workspace that does not exist, so ids of other tenants are not disclosed.
    pub async fn workspace_for(&self, caller: &Caller, workspace_id: i64) -> Result<(Workspace, Option<Role>)> {
        caller.require_user()?;
        let missing = || Error::not_found(format!("workspace {workspace_id} not found"));
        let ws = self.store.get_workspace(workspace_id).await?.ok_or_else(missing)?;
        let role = self.store.member_role(workspace_id, &caller.user_id).await?;
        if role.is_none() && !caller.is_admin {
            return Err(missing());
        }
        Ok((ws, role))
    }

    /// Like [`Platform::workspace_for`], but also requires the owner role (or admin).
    pub async fn owned_workspace(&self, caller: &Caller, workspace_id: i64) -> Result<Workspace> {
        let (ws, role) = self.workspace_for(caller, workspace_id).await?;
        if role == Some(Role::Owner) || caller.is_admin {
            Ok(ws)
        } else {
            Err(Error::forbidden(format!(
                "only owners of workspace {workspace_id} may change its members"
            )))
        }
    }
}
