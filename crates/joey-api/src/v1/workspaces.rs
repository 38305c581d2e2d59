//! `workspaces/create`, `list`, `add_user`, `list_users`, `remove_user`, `validate`.

use axum::extract::State;
use axum::routing::post;
use axum::{Json, Router};
use joey_core::platform::UserRef;
use joey_core::workspace::Role;
use serde_json::{json, Value};

use crate::extract::{Auth, WJson};
use crate::wire::workspaces::*;
use crate::{ApiError, AppState};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/v1/api/workspaces/create", post(create))
        .route("/v1/api/workspaces/list", post(list))
        .route("/v1/api/workspaces/add_user", post(add_user))
        .route("/v1/api/workspaces/list_users", post(list_users))
        .route("/v1/api/workspaces/remove_user", post(remove_user))
        .route("/v1/api/workspaces/validate", post(validate))
}

/// Creates a workspace owned by the caller.
#[utoipa::path(post, path = "/v1/api/workspaces/create", tag = "workspace", request_body = CreateWorkspaceRequest,
    responses((status = 200, body = CreateWorkspaceResponse), (status = 400, body = crate::wire::ErrorBody)))]
pub async fn create(State(s): State<AppState>, Auth(caller): Auth, WJson(req): WJson<CreateWorkspaceRequest>) -> Result<Json<CreateWorkspaceResponse>, ApiError> {
    let ws = s.platform.create_workspace(&caller, &req.workspace_name).await?;
    Ok(Json(CreateWorkspaceResponse { workspace_id: ws.id }))
}

/// Workspaces visible to the caller (admins: all).
#[utoipa::path(post, path = "/v1/api/workspaces/list", tag = "workspace", request_body = ListWorkspacesRequest,
    responses((status = 200, body = ListWorkspacesResponse)))]
pub async fn list(State(s): State<AppState>, Auth(caller): Auth, WJson(req): WJson<ListWorkspacesRequest>) -> Result<Json<ListWorkspacesResponse>, ApiError> {
    let all = s.platform.list_workspaces(&caller, req.user_id.as_deref()).await?;
    Ok(Json(ListWorkspacesResponse { workspaces: all.iter().map(Into::into).collect() }))
}

/// Adds a user (by email or id) with a role; owners and admins only.
#[utoipa::path(post, path = "/v1/api/workspaces/add_user", tag = "workspace", request_body = WorkspaceUserRequest,
    responses((status = 200, body = Object), (status = 400, body = crate::wire::ErrorBody), (status = 404, body = crate::wire::ErrorBody)))]
pub async fn add_user(State(s): State<AppState>, Auth(caller): Auth, WJson(req): WJson<WorkspaceUserRequest>) -> Result<Json<Value>, ApiError> {
    let who = UserRef::from_parts(req.user_id.as_deref(), req.email.as_deref())?;
    let role = Role::parse(req.user_type.as_deref())?;
    s.platform.add_workspace_user(&caller, req.workspace_id, who, role).await?;
    Ok(Json(json!({})))
}

/// Members of a workspace with their roles.
#[utoipa::path(post, path = "/v1/api/workspaces/list_users", tag = "workspace", request_body = WorkspaceIdRequest,
    responses((status = 200, body = ListWorkspaceUsersResponse), (status = 404, body = crate::wire::ErrorBody)))]
pub async fn list_users(State(s): State<AppState>, Auth(caller): Auth, WJson(req): WJson<WorkspaceIdRequest>) -> Result<Json<ListWorkspaceUsersResponse>, ApiError> {
    let members = s.platform.list_workspace_users(&caller, req.workspace_id).await?;
    Ok(Json(ListWorkspaceUsersResponse { users: members.iter().map(Into::into).collect() }))
}

/// Removes a user; idempotent.
#[utoipa::path(post, path = "/v1/api/workspaces/remove_user", tag = "workspace", request_body = WorkspaceUserRequest,
    responses((status = 200, body = RemoveUserResponse)))]
pub async fn remove_user(State(s): State<AppState>, Auth(caller): Auth, WJson(req): WJson<WorkspaceUserRequest>) -> Result<Json<RemoveUserResponse>, ApiError> {
    let who = UserRef::from_parts(req.user_id.as_deref(), req.email.as_deref())?;
    let affected_rows = s.platform.remove_workspace_user(&caller, req.workspace_id, who).await?;
    Ok(Json(RemoveUserResponse { affected_rows }))
}

/// Admin maintenance hook. Joey's schema is migrated at start-up, so there is nothing left to
/// migrate; it checks that every user has their default workspace and answers `null`.
#[utoipa::path(post, path = "/v1/api/workspaces/validate", tag = "workspace", responses((status = 200, body = Object)))]
pub async fn validate(State(s): State<AppState>, Auth(caller): Auth) -> Result<Json<Value>, ApiError> {
    s.platform.ensure_default_workspaces(&caller).await?;
    Ok(Json(Value::Null))
}
