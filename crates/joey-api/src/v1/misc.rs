//! `GET /v1/api/config` and `POST /v1/api/features/list`.

use axum::extract::State;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{json, Value};

use crate::extract::Auth;
use crate::{ApiError, AppState};

pub fn router() -> Router<AppState> {
    Router::new().route("/v1/api/config", get(config)).route("/v1/api/features/list", post(features_list))
}

/// Platform configuration read by the SDK's `Client()` constructor. No auth.
#[utoipa::path(get, path = "/v1/api/config", tag = "misc", responses((status = 200, description = "Platform config; `default_arch` is read by the SDK", body = Object)))]
pub async fn config(State(state): State<AppState>) -> Json<Value> {
    Json(json!({
        "default_arch": state.config.default_arch,
        "name": "joey",
        "version": env!("CARGO_PKG_VERSION"),
        "api_endpoint": state.config.public_url,
        "auth_endpoint": format!("{}/auth", state.config.public_url),
    }))
}

/// Enablement: platform name, whether auth is on, and the enabled feature flags.
#[utoipa::path(post, path = "/v1/api/features/list", tag = "misc", responses((status = 200, body = Object), (status = 401, body = crate::wire::ErrorBody)))]
pub async fn features_list(Auth(caller): Auth) -> Result<Json<Value>, ApiError> {
    caller.require_user()?;
    Ok(Json(json!({
        "name": "Joey",
        "is_auth_enabled": true,
        "features": {
            "plateau": "true",
            "arrow": "true",
            "pipeline_log_topics": "true",
            "model_upload": "true",
            "edge": "false",
            "orchestration": "false",
            "assays": "false",
        },
    })))
}
