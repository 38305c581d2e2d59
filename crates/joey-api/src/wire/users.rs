//! `users/*`, `user` and the Keycloak user representation.

use joey_core::user::User;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use utoipa::ToSchema;

#[derive(Debug, Deserialize, ToSchema)]
pub struct QueryUsersRequest {
    #[serde(default)]
    pub user_ids: Option<Vec<String>>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct QueryUsersResponse {
    /// Keycloak-style user representations keyed by user id.
    #[schema(value_type = Object)]
    pub users: serde_json::Map<String, Value>,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct InviteUserRequest {
    pub email: String,
    #[serde(default)]
    pub roles: Option<Vec<String>>,
    #[serde(default)]
    pub password: Option<String>,
    #[serde(default)]
    pub require_reset: Option<bool>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct InviteUserResponse {
    pub id: String,
    pub password: String,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct EmailRequest {
    pub email: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct EditUserRequest {
    pub id: String,
    pub first_name: String,
    pub last_name: String,
    pub email: String,
    pub enabled: bool,
    pub is_admin: bool,
}

/// A Keycloak `UserRepresentation`, as `users/query` and the admin API return it.
pub fn keycloak_user(u: &User) -> Value {
    let roles: Vec<&str> = if u.is_admin { vec!["admin", "default-roles-master"] } else { vec!["default-roles-master"] };
    json!({
        "id": u.id,
        "username": u.username,
        "email": u.email,
        "firstName": u.first_name,
        "lastName": u.last_name,
        "enabled": u.enabled,
        "emailVerified": false,
        "createdTimestamp": u.created_at_ms,
        "lastLogin": u.last_login_ms,
        "notBefore": 0,
        "realmRoles": roles,
        "requiredActions": [],
        "disableableCredentialTypes": [],
        "federatedIdentities": [],
        "access": {"impersonate": u.is_admin, "manage": u.is_admin, "manageGroupMembership": u.is_admin, "mapRoles": u.is_admin, "view": true},
    })
}

/// The fields of a Keycloak representation that `PUT /auth/admin/realms/master/users/{id}` may change.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct KeycloakUserUpdate {
    #[serde(default)]
    pub enabled: Option<bool>,
    #[serde(default)]
    pub first_name: Option<String>,
    #[serde(default)]
    pub last_name: Option<String>,
    #[serde(default)]
    pub email: Option<String>,
}
