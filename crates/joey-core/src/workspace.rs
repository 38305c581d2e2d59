//! Workspaces and membership.

use chrono::{DateTime, Utc};

/// A workspace: the tenant boundary.
#[derive(Debug, Clone, PartialEq)]
pub struct Workspace {
    pub id: i64,
    pub name: String,
    pub created_at: DateTime<Utc>,
    /// The creator's user id.
    pub created_by: String,
    pub archived: bool,
}

/// A workspace with the ids of what it holds, as `workspaces/list` reports it.
#[derive(Debug, Clone, PartialEq)]
pub struct WorkspaceSummary {
    pub workspace: Workspace,
    pub model_ids: Vec<i64>,
    pub pipeline_ids: Vec<i64>,
}

/// A member's role. Owners may manage membership; collaborators may use the workspace.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Owner,
    Collaborator,
}

impl Role {
    /// The spelling `workspaces/list_users` uses.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Owner => "OWNER",
            Role::Collaborator => "COLLABORATOR",
        }
    }
    /// Accepts `owner`/`collaborator` in any case; a missing role means collaborator.
    pub fn parse(raw: Option<&str>) -> crate::Result<Self> {
        match raw.map(|r| r.to_ascii_lowercase()) {
            None => Ok(Role::Collaborator),
            Some(r) if r == "collaborator" => Ok(Role::Collaborator),
            Some(r) if r == "owner" => Ok(Role::Owner),
            Some(r) => Err(crate::Error::invalid(format!(
                "user_type '{r}' is not valid; use 'owner' or 'collaborator'"
            ))),
        }
    }
}

/// One membership row.
#[derive(Debug, Clone, PartialEq)]
pub struct Member {
    pub user_id: String,
    pub role: Role,
}

/// The name of a user's default workspace, as Wallaroo spells it.
pub fn default_workspace_name(email: &str) -> String {
    format!("{email} - Default Workspace")
}
