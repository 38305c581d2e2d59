//! A restart on the same data directory (and database) keeps users, workspaces and signing keys;
//! generated first-start credentials are written once, privately.

use std::os::unix::fs::PermissionsExt;

use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::*;

#[tokio::test]
async fn users_workspaces_and_tokens_survive_a_restart() {
    let app = spawn_app().await;
    let (user_id, password, token) = app.user("persistent@example.com").await;
    let ws = app.create_workspace(&token, "kept-across-restarts").await;
    let (_, jwks_before) = app.get("/auth/realms/master/protocol/openid-connect/certs", None).await;

    let app = app.restart().await;
    let (_, jwks_after) = app.get("/auth/realms/master/protocol/openid-connect/certs", None).await;
    assert_eq!(jwks_before, jwks_after, "the signing keys are persisted, not regenerated");

    let (status, body) = app.post_json("/v1/api/workspaces/list", &token, json!({})).await;
    assert_eq!(status, StatusCode::OK, "a token issued before the restart still verifies: {body}");
    let listed = body["workspaces"].as_array().unwrap().iter().find(|w| w["id"] == ws).expect("the workspace is still there").clone();
    assert_eq!(listed["name"], "kept-across-restarts");

    let fresh = app.token_for("persistent@example.com", &password).await;
    assert_eq!(claims_of(&fresh)["sub"], user_id.as_str());
    app.admin_token().await;
    app.client_credentials_token().await;
}

#[tokio::test]
async fn given_credentials_are_never_written_to_the_data_dir() {
    let app = spawn_app().await;
    let path = app.data_dir.path().join("admin-credentials.json");
    assert!(!path.exists(), "{} should not exist when the password and secret were given", path.display());
    let app = app.restart().await;
    assert!(!app.data_dir.path().join("admin-credentials.json").exists());
}

#[tokio::test]
async fn generated_credentials_are_written_once_with_mode_0600() {
    let app = spawn_app_with(|a| {
        a.admin_password = None;
        a.api_client_secret = None;
    })
    .await;
    let path = app.data_dir.path().join("admin-credentials.json");
    let meta = std::fs::metadata(&path).expect("admin-credentials.json is written when credentials are generated");
    assert_eq!(meta.permissions().mode() & 0o777, 0o600, "owner-only permissions");
    let text = std::fs::read_to_string(&path).unwrap();
    let creds: serde_json::Value = serde_json::from_str(&text).expect("JSON");
    assert_eq!(creds["email"], ADMIN_EMAIL);
    let password = creds["password"].as_str().expect("password").to_string();
    let secret = creds["api_client_secret"].as_str().expect("api_client_secret").to_string();
    assert!(password.len() >= 8 && secret.len() >= 8, "{creds}");

    app.token_for(ADMIN_EMAIL, &password).await;
    let (status, body) = app.token_request(&[("grant_type", "client_credentials")], Some(("api-client", &secret))).await;
    assert_eq!(status, StatusCode::OK, "{body}");

    let app = app.restart().await;
    assert_eq!(std::fs::read_to_string(&path).unwrap(), text, "a restart does not rewrite the file");
    app.token_for(ADMIN_EMAIL, &password).await;
    let (status, _) = app.token_request(&[("grant_type", "client_credentials")], Some(("api-client", &secret))).await;
    assert_eq!(status, StatusCode::OK, "the generated secret keeps working");
}

#[tokio::test]
async fn a_configured_api_client_secret_replaces_the_stored_one_but_the_admin_password_is_kept() {
    let mut app = spawn_app().await;
    app.args.api_client_secret = Some("a-rotated-client-secret".into());
    app.args.admin_password = Some("a-different-admin-password".into());
    let app = app.restart().await;

    let (status, body) = app.token_request(&[("grant_type", "client_credentials")], Some(("api-client", API_CLIENT_SECRET))).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "the old secret no longer works: {body}");
    let (status, body) = app.token_request(&[("grant_type", "client_credentials")], Some(("api-client", "a-rotated-client-secret"))).await;
    assert_eq!(status, StatusCode::OK, "{body}");

    // The admin password only applies when the admin is first created.
    app.token_for(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let (status, _) = app
        .token_request(&[("grant_type", "password"), ("client_id", "sdk-client"), ("username", ADMIN_EMAIL), ("password", "a-different-admin-password")], None)
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}
