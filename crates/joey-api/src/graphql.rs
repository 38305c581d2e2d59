//! `POST /v1/graphql`: the Hasura-shaped GraphQL subset the Wallaroo SDK uses (`joey-graphql`).
//! GraphQL over HTTP with JSON: the body is `{query, variables?, operationName?}`, the answer
//! `{data, errors?}` with status 200 (GraphQL problems are reported in `errors`). A valid bearer
//! token is required for every request, introspection included (the SDK sends it on all of them).

use axum::extract::State;
use axum::routing::post;
use axum::{Json, Router};
use serde_json::Value;

use crate::extract::{Auth, WJson};
use crate::{ApiError, AppState};

pub fn router() -> Router<AppState> {
    Router::new().route("/v1/graphql", post(graphql))
}

/// Executes one GraphQL request (queries, `insert_workspace_one`, introspection) as the caller.
#[utoipa::path(post, path = "/v1/graphql", tag = "graphql", request_body(content = Object, description = "`{query, variables, operationName}`"),
    responses((status = 200, body = Object, description = "`{data, errors}`"), (status = 401, body = crate::wire::ErrorBody),
              (status = 403, body = crate::wire::ErrorBody, description = "service-account token")))]
pub async fn graphql(State(s): State<AppState>, Auth(caller): Auth, WJson(body): WJson<Value>) -> Result<Json<Value>, ApiError> {
    caller.require_user()?;
    let schema = joey_graphql::schema(s.platform.clone());
    Ok(Json(joey_graphql::execute(&schema, caller, body).await))
}
