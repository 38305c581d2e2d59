//! Wallaroo endpoints Joey does not implement yet. Each answers 501 with an ErrorBody that says
//! so, instead of a misleading 404 (docs/api-compat.md lists them as "not yet").

use axum::http::{StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, post};
use axum::{Json, Router};

use crate::AppState;

/// Paths of the Wallaroo API that are not built in Joey yet, with the capability they belong to.
pub const NOT_YET: &[(&str, &str)] = &[
    ("/v1/api/assays/create", "assays (v1)"),
    ("/v1/api/assays/filter", "assays (v1)"),
    ("/v1/api/assays/get_assay_by_id", "assays (v1)"),
    ("/v1/api/assays/get_assay_results", "assays (v1)"),
    ("/v1/api/assays/get_results", "assays (v1)"),
    ("/v1/api/assays/get_baseline", "assays (v1)"),
    ("/v1/api/assays/list", "assays (v1)"),
    ("/v1/api/assays/run_interactive", "assays (v1)"),
    ("/v1/api/assays/run_interactive_baseline", "assays (v1)"),
    ("/v1/api/assays/set_active", "assays (v1)"),
    ("/v1/api/assays/summarize", "assays (v1)"),
    ("/v2/api/assays/get", "assays (v2)"),
    ("/v2/api/assays/get/:id", "assays (v2)"),
    ("/v2/api/assays/get_next_run", "assays (v2)"),
    ("/v2/api/assays/get_results", "assays (v2)"),
    ("/v2/api/assays/preview", "assays (v2)"),
    ("/v2/api/assays/preview_baseline_binning", "assays (v2)"),
    ("/v2/api/assays/schedule", "assays (v2)"),
    ("/v2/api/assays/score", "assays (v2)"),
    ("/v2/api/assays/set_active", "assays (v2)"),
    ("/v1/api/connections/add_to_workspace", "data connections"),
    ("/v1/api/connections/create", "data connections"),
    ("/v1/api/connections/delete", "data connections"),
    ("/v1/api/connections/get", "data connections"),
    ("/v1/api/connections/get_by_id", "data connections"),
    ("/v1/api/connections/list", "data connections"),
    ("/v1/api/connections/remove_from_workspace", "data connections"),
    ("/v1/api/models/attach_registry_to_workspace", "model registries"),
    ("/v1/api/models/create_registry", "model registries"),
    ("/v1/api/models/get_registry", "model registries"),
    ("/v1/api/models/list_registries", "model registries"),
    ("/v1/api/models/list_registry_model_version_artifacts", "model registries"),
    ("/v1/api/models/list_registry_model_versions", "model registries"),
    ("/v1/api/models/list_registry_models", "model registries"),
    ("/v1/api/models/remove_registry_from_workspace", "model registries"),
    ("/v1/api/models/upload_from_registry", "model registries"),
    ("/v1/api/orchestration/delete_orchestrations", "orchestrations"),
    ("/v1/api/orchestration/download", "orchestrations"),
    ("/v1/api/orchestration/get_by_id", "orchestrations"),
    ("/v1/api/orchestration/list", "orchestrations"),
    ("/v1/api/orchestration/list_all", "orchestrations"),
    ("/v1/api/orchestration/upload", "orchestrations"),
    ("/v1/api/task/get_by_id", "tasks"),
    ("/v1/api/task/get_logs_for_run", "tasks"),
    ("/v1/api/task/get_run_details", "tasks"),
    ("/v1/api/task/get_tasks_by_orch_sha", "tasks"),
    ("/v1/api/task/kill", "tasks"),
    ("/v1/api/task/list", "tasks"),
    ("/v1/api/task/list_task_runs", "tasks"),
    ("/v1/api/task/pause", "tasks"),
    ("/v1/api/task/run_continuously", "tasks"),
    ("/v1/api/task/run_once", "tasks"),
    ("/v1/api/task/run_scheduled", "tasks"),
    ("/v1/api/pipelines/add_edge_to_publish", "edge publishing"),
    ("/v1/api/pipelines/get_publish_status", "edge publishing"),
    ("/v1/api/pipelines/list_edges_by_publish_id", "edge publishing"),
    ("/v1/api/pipelines/list_publishes_for_pipeline", "edge publishing"),
    ("/v1/api/pipelines/publish", "edge publishing"),
    ("/v1/api/pipelines/remove_edge", "edge publishing"),
    ("/v1/api/pipelines/get_sidekick_pod_logs", "containerized runtimes (sidekicks)"),
    ("/v1/api/pipelines/get_sidekick_pods_history", "containerized runtimes (sidekicks)"),
    ("/v1/api/pipelines/copy", "pipeline copy"),
    ("/v1/api/metrics/query", "metrics"),
    ("/v1/api/metrics/query_range", "metrics"),
];

pub fn router() -> Router<AppState> {
    NOT_YET.iter().fold(Router::new(), |r, (path, _)| {
        let axum_path = path.replace(":id", "{id}");
        if path.ends_with("/download") || path.contains("/metrics/") {
            r.route(&axum_path, any(not_yet))
        } else {
            r.route(&axum_path, post(not_yet))
        }
    })
}

async fn not_yet(uri: Uri) -> Response {
    let what = NOT_YET.iter().find(|(p, _)| p.replace(":id", "{id}") == uri.path() || *p == uri.path()).map(|(_, w)| *w).unwrap_or("this capability");
    let body = serde_json::json!({"msg": format!("{} is not implemented in Joey yet ({what}); see docs/api-compat.md", uri.path()), "code": 501});
    (StatusCode::NOT_IMPLEMENTED, Json(body)).into_response()
}
