//! The Keycloak-compatible surface under `/auth`: realm `master`'s OIDC endpoints, the device
//! approval page, and the admin user calls the SDK makes.

pub(crate) mod admin;
pub(crate) mod oidc;

use axum::Router;

use crate::AppState;

pub fn router() -> Router<AppState> {
    Router::new().merge(oidc::router()).merge(admin::router())
}
