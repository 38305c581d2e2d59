//! `/v1/api/users/*`, `/v1/api/user`, and the Keycloak admin user API under `/auth/admin`.

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::*;

const ADMIN_USERS: &str = "/auth/admin/realms/master/users";

fn assert_keycloak_user(u: &Value, id: &str, email: &str, enabled: bool) {
    assert_eq!(u["id"], id, "{u}");
    assert_eq!(u["username"], email, "{u}");
    assert_eq!(u["email"], email, "{u}");
    assert_eq!(u["enabled"], enabled, "{u}");
    assert!(u["createdTimestamp"].as_i64().is_some_and(|t| t > 1_600_000_000_000), "createdTimestamp in ms: {u}");
}

async fn login_status(app: &TestApp, email: &str, password: &str) -> (StatusCode, Value) {
    app.token_request(&[("grant_type", "password"), ("client_id", "sdk-client"), ("username", email), ("password", password)], None).await
}

#[tokio::test]
async fn query_with_an_empty_body_lists_every_user_keyed_by_id() {
    let app = spawn_app().await;
    let (alice, _, alice_token) = app.user("alice@example.com").await;
    let (status, body) = app.post_json("/v1/api/users/query", &alice_token, json!({})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let users = body["users"].as_object().expect("users is an object keyed by id");
    assert_eq!(users.len(), 2, "{body}");
    assert_keycloak_user(&users[&alice], &alice, "alice@example.com", true);
    let admin = users.values().find(|u| u["email"] == ADMIN_EMAIL).expect("the admin is listed");
    assert_keycloak_user(admin, admin["id"].as_str().unwrap(), ADMIN_EMAIL, true);
    assert!(admin["realmRoles"].as_array().unwrap().contains(&json!("admin")), "{admin}");
    for (id, u) in users {
        assert_eq!(u["id"], id.as_str(), "each key is the user's id");
    }
}

#[tokio::test]
async fn query_by_ids_returns_only_those_users() {
    let app = spawn_app().await;
    let (alice, _) = app.invite("alice@example.com").await;
    let (bob, _) = app.invite("bob@example.com").await;
    app.invite("carol@example.com").await;
    let admin = app.admin_token().await;
    let (status, body) = app.post_json("/v1/api/users/query", &admin, json!({"user_ids": [alice, bob]})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let users = body["users"].as_object().unwrap();
    let mut keys: Vec<&String> = users.keys().collect();
    keys.sort();
    let mut want = vec![&alice, &bob];
    want.sort();
    assert_eq!(keys, want);
    assert_eq!(users[&bob]["email"], "bob@example.com");

    let (status, body) = app.post_json("/v1/api/users/query", &admin, json!({"user_ids": null})).await;
    assert_eq!(status, StatusCode::OK, "an explicit null means all: {body}");
    assert_eq!(body["users"].as_object().unwrap().len(), 4);
}

#[tokio::test]
async fn an_admin_invite_returns_a_password_that_logs_in_and_a_default_workspace() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let (status, body) = app.post_json("/v1/api/users/invite", &admin, json!({"email": "new.user@example.com"})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let id = body["id"].as_str().expect("id");
    let password = body["password"].as_str().expect("password");
    assert!(password.len() >= 8, "a generated password: {password}");

    let token = app.token_for("new.user@example.com", password).await;
    assert_eq!(claims_of(&token)["sub"], id);
    let (status, list) = app.post_json("/v1/api/workspaces/list", &token, json!({})).await;
    assert_eq!(status, StatusCode::OK);
    let ws = &list["workspaces"][0];
    assert_eq!(ws["name"], "new.user@example.com - Default Workspace", "{list}");
    let (_, members) = app.post_json("/v1/api/workspaces/list_users", &token, json!({"workspace_id": ws["id"]})).await;
    assert_eq!(members["users"], json!([{"user_id": id, "user_type": "OWNER"}]));

    // A chosen password and the SDK's optional fields.
    let (status, body) = app
        .post_json("/v1/api/users/invite", &admin, json!({"email": "chosen@example.com", "password": "Example-Password", "roles": [], "require_reset": false}))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["password"], "Example-Password");
    app.login("chosen@example.com", "Example-Password").await;
}

#[tokio::test]
async fn non_admins_cannot_invite_users() {
    let app = spawn_app().await;
    let (_, _, alice) = app.user("alice@example.com").await;
    let (status, body) = app.post_json("/v1/api/users/invite", &alice, json!({"email": "bob@example.com"})).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert_error_body(status, &body);
    let service = app.client_credentials_token().await;
    let (status, _) = app.post_json("/v1/api/users/invite", &service, json!({"email": "bob@example.com"})).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn inviting_an_existing_email_is_400() {
    let app = spawn_app().await;
    app.invite("taken@example.com").await;
    let admin = app.admin_token().await;
    for email in ["taken@example.com", "Taken@Example.COM", ADMIN_EMAIL] {
        let (status, body) = app.post_json("/v1/api/users/invite", &admin, json!({ "email": email })).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{email}: {body}");
        assert_error_body(status, &body);
    }
}

#[tokio::test]
async fn inviting_an_invalid_email_is_400() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    for email in ["not-an-email", "", "a b@example.com", "@example.com", "a@"] {
        let (status, body) = app.post_json("/v1/api/users/invite", &admin, json!({ "email": email })).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{email:?}: {body}");
        assert_error_body(status, &body);
    }
    let (status, body) = app.post_json("/v1/api/users/invite", &admin, json!({})).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "missing email: {body}");
    assert_error_body(status, &body);
}

#[tokio::test]
async fn inviting_with_a_password_shorter_than_8_characters_is_400() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let (status, body) = app.post_json("/v1/api/users/invite", &admin, json!({"email": "short@example.com", "password": "1234567"})).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_error_body(status, &body);
    let (_, q) = app.post_json("/v1/api/users/query", &admin, json!({})).await;
    assert_eq!(q["users"].as_object().unwrap().len(), 1, "no user was created: {q}");
}

#[tokio::test]
async fn deactivated_users_cannot_log_in_or_use_their_tokens() {
    let app = spawn_app().await;
    let (_, password) = app.invite("leaving@example.com").await;
    let tokens = app.login("leaving@example.com", &password).await;
    let access = tokens["access_token"].as_str().unwrap();
    let admin = app.admin_token().await;

    let (status, body) = app.post_json("/v1/api/users/deactivate", &admin, json!({"email": "leaving@example.com"})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body, json!({}));

    let (status, body) = login_status(&app, "leaving@example.com", &password).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(body["error"], "invalid_grant");

    let (status, body) = app.post_json("/v1/api/workspaces/list", access, json!({})).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    assert_error_body(status, &body);

    let (status, body) = app
        .token_request(&[("grant_type", "refresh_token"), ("client_id", "sdk-client"), ("refresh_token", tokens["refresh_token"].as_str().unwrap())], None)
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(body["error"], "invalid_grant");

    let (status, body) = app.post_json("/v1/api/users/query", &admin, json!({})).await;
    assert_eq!(status, StatusCode::OK);
    let u = body["users"].as_object().unwrap().values().find(|u| u["email"] == "leaving@example.com").unwrap().clone();
    assert_eq!(u["enabled"], false);
}

#[tokio::test]
async fn activated_users_can_log_in_again_but_their_old_refresh_tokens_stay_revoked() {
    let app = spawn_app().await;
    let (_, password) = app.invite("back@example.com").await;
    let before = app.login("back@example.com", &password).await;
    let admin = app.admin_token().await;
    let (status, _) = app.post_json("/v1/api/users/deactivate", &admin, json!({"email": "back@example.com"})).await;
    assert_eq!(status, StatusCode::OK);
    let (status, body) = app.post_json("/v1/api/users/activate", &admin, json!({"email": "back@example.com"})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body, json!({}));

    let token = app.token_for("back@example.com", &password).await;
    let (status, _) = app.post_json("/v1/api/workspaces/list", &token, json!({})).await;
    assert_eq!(status, StatusCode::OK);

    let (status, body) = app
        .token_request(&[("grant_type", "refresh_token"), ("client_id", "sdk-client"), ("refresh_token", before["refresh_token"].as_str().unwrap())], None)
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "deactivation revoked the refresh token: {body}");
    assert_eq!(body["error"], "invalid_grant");
}

#[tokio::test]
async fn only_admins_may_deactivate_and_not_themselves() {
    let app = spawn_app().await;
    let (_, _, alice) = app.user("alice@example.com").await;
    app.invite("bob@example.com").await;
    let (status, body) = app.post_json("/v1/api/users/deactivate", &alice, json!({"email": "bob@example.com"})).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert_error_body(status, &body);
    let (status, _) = app.post_json("/v1/api/users/activate", &alice, json!({"email": "bob@example.com"})).await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    let admin = app.admin_token().await;
    let (status, body) = app.post_json("/v1/api/users/deactivate", &admin, json!({"email": ADMIN_EMAIL})).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_error_body(status, &body);
    let (status, body) = app.post_json("/v1/api/users/deactivate", &admin, json!({"email": "nobody@example.com"})).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_error_body(status, &body);
}

#[tokio::test]
async fn editing_a_user_changes_names_email_and_flags() {
    let app = spawn_app().await;
    let (id, password) = app.invite("before@example.com").await;
    let admin = app.admin_token().await;
    let edit = json!({"id": id, "firstName": "Ada", "lastName": "Lovelace", "email": "after@example.com", "enabled": true, "isAdmin": true});
    let (status, body) = app.post_json("/v1/api/user", &admin, edit).await;
    assert_eq!(status, StatusCode::OK, "{body}");

    let (_, q) = app.post_json("/v1/api/users/query", &admin, json!({"user_ids": [id]})).await;
    let u = &q["users"][&id];
    assert_eq!(u["firstName"], "Ada");
    assert_eq!(u["lastName"], "Lovelace");
    assert_eq!(u["email"], "after@example.com");
    assert!(u["realmRoles"].as_array().unwrap().contains(&json!("admin")), "{u}");

    let token = app.token_for("after@example.com", &password).await;
    let c = claims_of(&token);
    assert_eq!(c["email"], "after@example.com");
    assert!(c["realm_access"]["roles"].as_array().unwrap().contains(&json!("admin")), "{c}");
    let (status, _) = app.post_json("/v1/api/users/invite", &token, json!({"email": "invited.by.new.admin@example.com"})).await;
    assert_eq!(status, StatusCode::OK, "the promoted user may now invite");

    let (_, _, carol) = app.user("carol@example.com").await;
    let (status, body) = app
        .post_json("/v1/api/user", &carol, json!({"id": id, "firstName": "", "lastName": "", "email": "x@example.com", "enabled": false, "isAdmin": false}))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");

    let (status, body) = app
        .post_json("/v1/api/user", &admin, json!({"id": id, "firstName": "", "lastName": "", "email": "carol@example.com", "enabled": true, "isAdmin": true}))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "another user's email: {body}");
    assert_error_body(status, &body);
}

#[tokio::test]
async fn keycloak_admin_finds_users_by_email_as_an_array() {
    let app = spawn_app().await;
    let (id, _) = app.invite("first+tag@example.com").await;
    let admin = app.admin_token().await;
    let find = |email: &'static str| {
        let req = app.client.get(app.url(ADMIN_USERS)).query(&[("email", email)]).bearer_auth(&admin);
        async move { read(req.send().await.unwrap()).await }
    };
    let (status, body) = find("first+tag@example.com").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let arr = body.as_array().expect("an array");
    assert_eq!(arr.len(), 1, "{body}");
    assert_keycloak_user(&arr[0], &id, "first+tag@example.com", true);

    let (status, body) = find("nobody@example.com").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body, json!([]));

    let (status, body) = app.get(ADMIN_USERS, None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
}

#[tokio::test]
async fn keycloak_admin_reads_a_user_by_id_and_404s_for_unknown_ids() {
    let app = spawn_app().await;
    let (id, _, token) = app.user("reader@example.com").await;
    let (status, body) = app.get(&format!("{ADMIN_USERS}/{id}"), Some(&token)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_keycloak_user(&body, &id, "reader@example.com", true);

    let (status, body) = app.get(&format!("{ADMIN_USERS}/{}", uuid::Uuid::new_v4()), Some(&token)).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    assert_error_body(status, &body);
}

#[tokio::test]
async fn keycloak_admin_put_with_enabled_false_disables_the_user() {
    let app = spawn_app().await;
    let (id, password, user_token) = app.user("sdk.managed@example.com").await;
    let admin = app.admin_token().await;
    let path = format!("{ADMIN_USERS}/{id}");

    // The SDK sends the full representation it read, with `enabled` flipped.
    let (_, mut repr) = app.get(&path, Some(&admin)).await;
    repr["enabled"] = json!(false);
    let resp = app.client.put(app.url(&path)).bearer_auth(&admin).json(&repr).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::NO_CONTENT);
    assert!(resp.text().await.unwrap().is_empty(), "204 has no body");

    let (_, after) = app.get(&path, Some(&admin)).await;
    assert_eq!(after["enabled"], false);
    let (status, body) = login_status(&app, "sdk.managed@example.com", &password).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    let (status, _) = app.post_json("/v1/api/workspaces/list", &user_token, json!({})).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    let resp = app.client.put(app.url(&path)).bearer_auth(&admin).json(&json!({"enabled": true})).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::NO_CONTENT);
    app.login("sdk.managed@example.com", &password).await;

    let (_, _, other) = app.user("other@example.com").await;
    let resp = app.client.put(app.url(&path)).bearer_auth(&other).json(&json!({"enabled": false})).send().await.unwrap();
    let (status, body) = read(resp).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert_error_body(status, &body);

    let unknown = format!("{ADMIN_USERS}/{}", uuid::Uuid::new_v4());
    let resp = app.client.put(app.url(&unknown)).bearer_auth(&admin).json(&json!({"enabled": false})).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::NOT_FOUND);
}
