//! `users/query`, `users/invite`, `users/activate`, `users/deactivate`, `user`.

use axum::extract::State;
use axum::routing::post;
use axum::{Json, Router};
use joey_core::platform::UserEdit;
use serde_json::{json, Value};

use crate::extract::{Auth, WJson};
use crate::wire::users::*;
use crate::{ApiError, AppState};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/v1/api/users/query", post(query))
        .route("/v1/api/users/invite", post(invite))
        .route("/v1/api/users/activate", post(activate))
        .route("/v1/api/users/deactivate", post(deactivate))
        .route("/v1/api/user", post(edit))
}

/// Users keyed by id (all, or the given ids).
#[utoipa::path(post, path = "/v1/api/users/query", tag = "user", request_body = QueryUsersRequest,
    responses((status = 200, body = QueryUsersResponse), (status = 401, body = crate::wire::ErrorBody)))]
pub async fn query(State(s): State<AppState>, Auth(caller): Auth, WJson(req): WJson<QueryUsersRequest>) -> Result<Json<QueryUsersResponse>, ApiError> {
    let users = s.platform.query_users(&caller, req.user_ids.as_deref()).await?;
    let users = users.iter().map(|u| (u.id.clone(), keycloak_user(u))).collect();
    Ok(Json(QueryUsersResponse { users }))
}

/// Creates a user (admins only); returns the id and the initial password.
#[utoipa::path(post, path = "/v1/api/users/invite", tag = "user", request_body = InviteUserRequest,
    responses((status = 200, body = InviteUserResponse), (status = 400, body = crate::wire::ErrorBody), (status = 403, body = crate::wire::ErrorBody)))]
pub async fn invite(State(s): State<AppState>, Auth(caller): Auth, WJson(req): WJson<InviteUserRequest>) -> Result<Json<InviteUserResponse>, ApiError> {
    let admin = req.roles.as_ref().is_some_and(|r| r.iter().any(|r| r == "admin"));
    let invited = s.platform.invite_user(&caller, &req.email, req.password.as_deref(), admin).await?;
    Ok(Json(InviteUserResponse { id: invited.user.id, password: invited.password }))
}

/// Re-enables a user by email (admins only).
#[utoipa::path(post, path = "/v1/api/users/activate", tag = "user", request_body = EmailRequest, responses((status = 200, body = Object)))]
pub async fn activate(State(s): State<AppState>, Auth(caller): Auth, WJson(req): WJson<EmailRequest>) -> Result<Json<Value>, ApiError> {
    s.platform.set_user_enabled(&caller, &req.email, true).await?;
    Ok(Json(json!({})))
}

/// Disables a user by email (admins only); revokes their refresh tokens and rejects their access tokens.
#[utoipa::path(post, path = "/v1/api/users/deactivate", tag = "user", request_body = EmailRequest, responses((status = 200, body = Object)))]
pub async fn deactivate(State(s): State<AppState>, Auth(caller): Auth, WJson(req): WJson<EmailRequest>) -> Result<Json<Value>, ApiError> {
    s.platform.set_user_enabled(&caller, &req.email, false).await?;
    Ok(Json(json!({})))
}

/// Edits names, email, enabled and admin flags (admins only).
#[utoipa::path(post, path = "/v1/api/user", tag = "user", request_body = EditUserRequest, responses((status = 200, body = Object)))]
pub async fn edit(State(s): State<AppState>, Auth(caller): Auth, WJson(req): WJson<EditUserRequest>) -> Result<Json<Value>, ApiError> {
    let edit = UserEdit { id: req.id, first_name: req.first_name, last_name: req.last_name, email: req.email, enabled: req.enabled, is_admin: req.is_admin };
    let user = s.platform.edit_user(&caller, edit).await?;
    Ok(Json(keycloak_user(&user)))
}
