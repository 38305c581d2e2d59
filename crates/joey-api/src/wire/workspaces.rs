//! `workspaces/*`.

use joey_core::workspace::{Member, WorkspaceSummary};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::rfc3339;

#[derive(Debug, Deserialize, ToSchema)]
pub struct CreateWorkspaceRequest {
    pub workspace_name: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CreateWorkspaceResponse {
    pub workspace_id: i64,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct ListWorkspacesRequest {
    #[serde(default)]
    pub user_id: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct WorkspaceListItem {
    pub id: i64,
    pub name: String,
    pub created_at: String,
    pub created_by: String,
    pub archived: bool,
    pub models: Vec<i64>,
    pub pipelines: Vec<i64>,
}

impl From<&WorkspaceSummary> for WorkspaceListItem {
    fn from(s: &WorkspaceSummary) -> Self {
        Self {
            id: s.workspace.id,
            name: s.workspace.name.clone(),
            created_at: rfc3339(&s.workspace.created_at),
            created_by: s.workspace.created_by.clone(),
            archived: s.workspace.archived,
            models: s.model_ids.clone(),
            pipelines: s.pipeline_ids.clone(),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ListWorkspacesResponse {
    pub workspaces: Vec<WorkspaceListItem>,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct WorkspaceUserRequest {
    pub workspace_id: i64,
    #[serde(default)]
    pub email: Option<String>,
    #[serde(default)]
    pub user_id: Option<String>,
    #[serde(default)]
    pub url: Option<String>,
    #[serde(default)]
    pub user_type: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct WorkspaceIdRequest {
    pub workspace_id: i64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct WorkspaceUserRef {
    pub user_id: String,
    pub user_type: String,
}

impl From<&Member> for WorkspaceUserRef {
    fn from(m: &Member) -> Self {
        Self { user_id: m.user_id.clone(), user_type: m.role.as_str().to_string() }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ListWorkspaceUsersResponse {
    pub users: Vec<WorkspaceUserRef>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RemoveUserResponse {
    pub affected_rows: u64,
}
