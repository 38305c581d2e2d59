//! `/v1/api/*`: one module per Wallaroo URL group; handlers are named after the action segment.

pub(crate) mod misc;
pub(crate) mod not_yet;
pub(crate) mod models;
pub(crate) mod pipelines;
pub(crate) mod users;
pub(crate) mod workspaces;

use axum::Router;

use crate::AppState;

pub fn router() -> Router<AppState> {
    Router::new().merge(misc::router()).merge(models::router()).merge(pipelines::router()).merge(not_yet::router()).merge(users::router()).merge(workspaces::router())
}
