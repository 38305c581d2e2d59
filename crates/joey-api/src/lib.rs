//! The HTTP layer: axum routers, extractors, wire DTOs and the single error mapping.
//! Only this crate knows Wallaroo's URL strings and JSON spellings.

mod chunks;
mod docs;
mod error;
mod extract;
mod graphql;
mod infer;
mod keycloak;
mod logs;
mod metrics;
mod offload;
mod stage;
mod state;
mod v1;
pub mod wire;

pub use error::ApiError;
pub use state::{ApiConfig, AppState, Shared};

use axum::extract::DefaultBodyLimit;
use axum::Router;
use tower_http::trace::TraceLayer;

/// Builds the whole router: `/v1/api/*`, `/auth/*`, docs and health.
pub fn router(state: AppState) -> Router {
    let limit = state.config.json_body_limit;
    let infer_limit = state.config.infer_body_limit;
    Router::new()
        .merge(infer::router(infer_limit))
        .merge(v1::router())
        .merge(keycloak::router())
        .merge(docs::router())
        .merge(logs::router())
        .merge(graphql::router())
        .route("/health", axum::routing::get(|| async { "ok" }))
        .route("/metrics", axum::routing::get(metrics::metrics))
        .layer(DefaultBodyLimit::max(limit))
        .layer(TraceLayer::new_for_http())
        .fallback(error::not_found_route)
        .method_not_allowed_fallback(error::method_not_allowed)
        .with_state(state)
}

/// The OpenAPI document of everything this crate serves.
pub fn openapi() -> utoipa::openapi::OpenApi {
    docs::openapi()
}
