//! The Keycloak admin user API the SDK calls: find by email, read, and replace (enable/disable).

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::Value;

use crate::extract::{Auth, WJson};
use crate::wire::users::{keycloak_user, KeycloakUserUpdate};
use crate::{ApiError, AppState};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/auth/admin/realms/master/users", get(find))
        .route("/auth/admin/realms/master/users/{id}", get(read).put(replace))
}

#[derive(Deserialize)]
pub struct EmailQuery {
    #[serde(default)]
    email: Option<String>,
}

/// `GET /auth/admin/realms/master/users?email=`: a JSON array (empty when nobody matches).
#[utoipa::path(get, path = "/auth/admin/realms/master/users", tag = "auth", params(("email" = Option<String>, Query)), responses((status = 200, body = Vec<Object>)))]
pub async fn find(State(s): State<AppState>, Auth(caller): Auth, Query(q): Query<EmailQuery>) -> Result<Json<Vec<Value>>, ApiError> {
    let users = match q.email {
        Some(email) => s.platform.find_user_by_email(&caller, &email).await?.into_iter().collect(),
        None => s.platform.query_users(&caller, None).await?,
    };
    Ok(Json(users.iter().map(keycloak_user).collect()))
}

#[utoipa::path(get, path = "/auth/admin/realms/master/users/{id}", tag = "auth", responses((status = 200, body = Object), (status = 404, body = crate::wire::ErrorBody)))]
pub async fn read(State(s): State<AppState>, Auth(caller): Auth, Path(id): Path<String>) -> Result<Json<Value>, ApiError> {
    Ok(Json(keycloak_user(&s.platform.get_user(&caller, &id).await?)))
}

/// Replaces the representation; only `enabled`, names and email are applied. Answers 204.
#[utoipa::path(put, path = "/auth/admin/realms/master/users/{id}", tag = "auth", responses((status = 204), (status = 403, body = crate::wire::ErrorBody)))]
pub async fn replace(State(s): State<AppState>, Auth(caller): Auth, Path(id): Path<String>, WJson(req): WJson<KeycloakUserUpdate>) -> Result<StatusCode, ApiError> {
    let user = s.platform.get_user(&caller, &id).await?;
    let edit = joey_core::platform::UserEdit {
        id: user.id,
        first_name: req.first_name.unwrap_or(user.first_name),
        last_name: req.last_name.unwrap_or(user.last_name),
        email: req.email.unwrap_or(user.email),
        enabled: req.enabled.unwrap_or(user.enabled),
        is_admin: user.is_admin,
    };
    s.platform.edit_user(&caller, edit).await?;
    Ok(StatusCode::NO_CONTENT)
}
