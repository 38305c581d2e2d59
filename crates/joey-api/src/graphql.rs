//! `POST /v1/graphql`: the Hasura-shaped GraphQL subset the Wallaroo SDK uses (`joey-graphql`).
//! GraphQL over HTTP with JSON: the body is `{query, variables?, operationName?}`, the answer
//! `{data, errors?}` with status 200 (GraphQL problems are reported in `errors`). A valid bearer
//! token is required for every request, introspection included (the SDK sends it on all of them).

use std::sync::Arc;

use axum::extract::State;
use axum::routing::post;
use axum::{Json, Router};
use serde_json::Value;

use crate::extract::{Auth, WJson};
use crate::{ApiError, AppState};

pub fn router() -> Router<AppState> {
    Router::new().route("/v1/graphql", post(graphql))
}

/// Executes one GraphQL request (queries, `insert_workspace_one`, `update_deployment_by_pk`,
/// introspection) as the caller.
#[utoipa::path(post, path = "/v1/graphql", tag = "graphql", request_body(content = Object, description = "`{query, variables, operationName}`"),
    responses((status = 200, body = Object, description = "`{data, errors}`"), (status = 401, body = crate::wire::ErrorBody),
              (status = 403, body = crate::wire::ErrorBody, description = "service-account token")))]
pub async fn graphql(State(s): State<AppState>, Auth(caller): Auth, WJson(body): WJson<Value>) -> Result<Json<Value>, ApiError> {
    caller.require_user()?;
    let runtime = Arc::new(Runtime { platform: s.platform.clone(), deployments: s.deployments.clone() });
    let schema = joey_graphql::schema(s.platform.clone(), runtime);
    Ok(Json(joey_graphql::execute(&schema, caller, body).await))
}

/// The `Deploy` mutation acts on this process's deployments, as `pipelines/deploy` does.
struct Runtime {
    platform: joey_core::Platform,
    deployments: joey_runtime::Deployments,
}

impl joey_graphql::Deployer for Runtime {
    fn start(&self, plan: joey_core::platform::DeploymentPlan) {
        joey_runtime::serving::bring_up(self.platform.clone(), self.deployments.clone(), plan);
    }
    fn stop(&self, deployment_id: i64) {
        self.deployments.remove(deployment_id);
    }
}
