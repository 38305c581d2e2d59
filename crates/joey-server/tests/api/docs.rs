//! The OpenAPI document and the human-readable docs page.

use reqwest::StatusCode;

use crate::helpers::*;

#[tokio::test]
async fn the_openapi_document_lists_every_route() {
    let app = spawn_app().await;
    let resp = app.client.get(app.url("/v1/api/docs/openapi.json")).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let text = resp.text().await.unwrap();
    let doc: serde_json::Value = serde_json::from_str(&text).expect("openapi.json is JSON");
    assert!(doc["openapi"].as_str().is_some_and(|v| v.starts_with('3')), "an OpenAPI 3 document");
    let paths = doc["paths"].as_object().expect("paths");
    let want = [
        ("/v1/api/config", "get"),
        ("/metrics", "get"),
        ("/v1/api/features/list", "post"),
        ("/v1/api/users/query", "post"),
        ("/v1/api/users/invite", "post"),
        ("/v1/api/users/activate", "post"),
        ("/v1/api/users/deactivate", "post"),
        ("/v1/api/user", "post"),
        ("/v1/api/workspaces/create", "post"),
        ("/v1/api/workspaces/list", "post"),
        ("/v1/api/workspaces/add_user", "post"),
        ("/v1/api/workspaces/list_users", "post"),
        ("/v1/api/workspaces/remove_user", "post"),
        ("/v1/api/workspaces/validate", "post"),
        ("/auth/realms/master/protocol/openid-connect/token", "post"),
        ("/auth/realms/master/protocol/openid-connect/auth/device", "post"),
        ("/auth/realms/master/protocol/openid-connect/certs", "get"),
        ("/auth/realms/master/protocol/openid-connect/userinfo", "get"),
        ("/auth/realms/master/.well-known/openid-configuration", "get"),
        ("/auth/realms/master/device/approve", "post"),
        ("/auth/admin/realms/master/users", "get"),
        ("/auth/admin/realms/master/users/{id}", "get"),
        ("/auth/admin/realms/master/users/{id}", "put"),
    ];
    let missing: Vec<String> =
        want.iter().filter(|(p, m)| paths.get(*p).and_then(|item| item.get(*m)).is_none()).map(|(p, m)| format!("{} {p}", m.to_uppercase())).collect();
    assert!(missing.is_empty(), "operations missing from openapi.json: {missing:?}");
}

#[tokio::test]
async fn the_docs_page_is_html() {
    let app = spawn_app().await;
    let resp = app.client.get(app.url("/v1/api/docs")).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let ct = resp.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or_default().to_string();
    assert!(ct.starts_with("text/html"), "content-type {ct}");
    let html = resp.text().await.unwrap();
    assert!(html.to_lowercase().contains("<html") || html.to_lowercase().contains("<!doctype html"), "{html:.200}");
    assert!(html.contains("openapi.json"), "the page renders from openapi.json");
}
