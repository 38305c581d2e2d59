//! `GET /v1/api/config`, `features/list`, health and unknown routes.

use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::*;

#[tokio::test]
async fn config_needs_no_auth_and_reports_the_default_arch() {
    let app = spawn_app().await;
    let (status, body) = app.get("/v1/api/config", None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["default_arch"], "x86");
}

#[tokio::test]
async fn config_reports_a_configured_default_arch() {
    let app = spawn_app_with(|a| a.default_arch = Some("arm".into())).await;
    let (_, body) = app.get("/v1/api/config", None).await;
    assert_eq!(body["default_arch"], "arm");
}

#[tokio::test]
async fn features_list_needs_a_user_token() {
    let app = spawn_app().await;
    let (status, body) = app.post_raw("/v1/api/features/list", None, None, "").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    let admin = app.admin_token().await;
    let (status, body) = app.post_raw("/v1/api/features/list", Some(&admin), None, "").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["is_auth_enabled"], true);
    assert!(body["features"].is_object(), "{body}");
}

#[tokio::test]
async fn unknown_routes_are_404_with_an_error_body() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let (status, body) = app.post_json("/v1/api/no/such/route", &admin, json!({})).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    assert_error_body(status, &body);
    let (status, _) = app.get("/health", None).await;
    assert_eq!(status, StatusCode::OK);
}
