//! Trusting an external OIDC issuer: a second Joey instance plays the external Keycloak.

use reqwest::StatusCode;

use crate::helpers::*;

async fn trusting(issuer: &TestApp, audience: Option<&str>) -> TestApp {
    let iss = format!("{}/auth/realms/master", issuer.base);
    let jwks = format!("{iss}/protocol/openid-connect/certs");
    let aud = audience.map(str::to_string);
    spawn_app_with(move |a| {
        a.external_issuer = Some(iss);
        a.external_jwks_url = Some(jwks);
        a.external_audience = aud;
    })
    .await
}

#[tokio::test]
async fn tokens_of_a_trusted_external_issuer_are_accepted_and_create_the_user_on_first_sight() {
    let keycloak = spawn_app().await;
    let (_, password) = keycloak.invite("ext.user@example.com").await;
    let token = keycloak.token_for("ext.user@example.com", &password).await;
    let joey = trusting(&keycloak, Some("joey")).await;

    let (status, body) = joey.post_json("/v1/api/workspaces/list", &token, serde_json::json!({})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let names: Vec<&str> = body["workspaces"].as_array().unwrap().iter().map(|w| w["name"].as_str().unwrap()).collect();
    assert_eq!(names, vec!["ext.user@example.com - Default Workspace"], "the user was created with a default workspace");

    let admin = joey.admin_token().await;
    let (_, users) = joey.post_json("/v1/api/users/query", &admin, serde_json::json!({})).await;
    let sub = claims_of(&token)["sub"].as_str().unwrap().to_string();
    assert_eq!(users["users"][&sub]["email"], "ext.user@example.com", "the local user is keyed by the issuer's sub");

    let (again, _) = joey.post_json("/v1/api/workspaces/list", &token, serde_json::json!({})).await;
    assert_eq!(again, StatusCode::OK, "second sight reuses the user");
}

#[tokio::test]
async fn external_tokens_with_the_wrong_audience_or_a_clashing_email_are_refused() {
    let keycloak = spawn_app().await;
    let (_, password) = keycloak.invite("aud.user@example.com").await;
    let token = keycloak.token_for("aud.user@example.com", &password).await;

    let strict = trusting(&keycloak, Some("another-audience")).await;
    let (status, body) = strict.post_json("/v1/api/workspaces/list", &token, serde_json::json!({})).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    assert!(body["msg"].as_str().unwrap().contains("audience"), "{body}");

    // The external admin's email is also a local user's email on the trusting side: refused.
    let joey = trusting(&keycloak, None).await;
    let external_admin = keycloak.admin_token().await;
    let (status, body) = joey.post_json("/v1/api/workspaces/list", &external_admin, serde_json::json!({})).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
}

#[tokio::test]
async fn without_trust_configured_another_instances_tokens_are_refused() {
    let other = spawn_app().await;
    let joey = spawn_app().await;
    let token = other.admin_token().await;
    let (status, body) = joey.post_json("/v1/api/workspaces/list", &token, serde_json::json!({})).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
}
