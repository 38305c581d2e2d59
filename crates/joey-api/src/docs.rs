//! The OpenAPI document (generated from the handlers' annotations) and a self-contained page.

use axum::response::Html;
use axum::routing::get;
use axum::{Json, Router};
use utoipa::OpenApi;

use crate::{keycloak, v1, AppState};

#[derive(OpenApi)]
#[openapi(
    info(title = "Joey — Wallaroo-compatible MLOps API", description = "Self-hosted MLOps platform speaking the Wallaroo MLOps API."),
    paths(
        v1::misc::config, v1::misc::features_list,
        v1::users::query, v1::users::invite, v1::users::activate, v1::users::deactivate, v1::users::edit,
        v1::workspaces::create, v1::workspaces::list, v1::workspaces::add_user, v1::workspaces::list_users,
        v1::workspaces::remove_user, v1::workspaces::validate,
        keycloak::oidc::token, keycloak::oidc::device_start, keycloak::oidc::certs, keycloak::oidc::userinfo,
        keycloak::oidc::discovery, keycloak::oidc::device_approve,
        v1::models::upload, v1::models::upload_and_convert, v1::models::upload_stream, v1::models::list, v1::models::get,
        v1::models::get_by_id, v1::models::get_model_version_by_id, v1::models::list_versions, v1::models::list_versions_for_model,
        v1::models::get_config_by_id, v1::models::insert_model_config, v1::models::get_upload_logs, v1::models::delete_model,
        v1::models::delete_model_versions,
        v1::pipelines::create, v1::pipelines::get_pipeline_by_name, v1::pipelines::list_pipelines, v1::pipelines::list_pipeline_versions,
        v1::pipelines::get_version, v1::pipelines::delete_pipeline, v1::pipelines::delete_pipeline_versions, v1::pipelines::deploy,
        v1::pipelines::undeploy, v1::pipelines::get_deployment, v1::pipelines::get_pipeline_external_url,
        v1::pipelines::get_pipeline_internal_url, v1::pipelines::get_topic_name, v1::pipelines::get_pipeline_topic_name,
        crate::infer::infer, crate::infer::infer_short, crate::infer::infer_edge,
        keycloak::admin::find, keycloak::admin::read, keycloak::admin::replace,
        crate::graphql::graphql,
        crate::logs::partitions, crate::logs::records, crate::logs::get_logs, crate::metrics::metrics,
    ),
    tags((name = "user"), (name = "model"), (name = "pipelines"), (name = "inference"), (name = "admin"), (name = "plateau"), (name = "logs"), (name = "workspace"), (name = "misc"), (name = "auth", description = "Keycloak-compatible realm `master`"))
)]
struct ApiDoc;

pub fn openapi() -> utoipa::openapi::OpenApi {
    ApiDoc::openapi()
}

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/v1/api/docs/openapi.json", get(|| async { Json(openapi()) }))
        .route("/v1/api/docs", get(page))
}

/// A human-readable listing rendered in the browser from `openapi.json`; no external assets.
async fn page() -> Html<&'static str> {
    Html(include_str!("docs.html"))
}
