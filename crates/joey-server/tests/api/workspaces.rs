//! `/v1/api/workspaces/*`, and how JSON bodies are read on the management API.

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::*;

async fn members(app: &TestApp, token: &str, workspace_id: i64) -> Vec<(String, String)> {
    let (status, body) = app.post_json("/v1/api/workspaces/list_users", token, json!({ "workspace_id": workspace_id })).await;
    assert_eq!(status, StatusCode::OK, "list_users: {body}");
    let mut out: Vec<(String, String)> = body["users"]
        .as_array()
        .expect("users")
        .iter()
        .map(|u| (u["user_id"].as_str().unwrap().to_string(), u["user_type"].as_str().unwrap().to_string()))
        .collect();
    out.sort();
    out
}

fn sorted(mut v: Vec<(String, String)>) -> Vec<(String, String)> {
    v.sort();
    v
}

#[tokio::test]
async fn creating_a_workspace_returns_its_id_and_makes_the_creator_owner() {
    let app = spawn_app().await;
    let (alice, _, token) = app.user("alice@example.com").await;
    let (status, body) = app.post_json("/v1/api/workspaces/create", &token, json!({"workspace_name": "sampleapiworkspace"})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let id = body["workspace_id"].as_i64().expect("an integer workspace_id");
    assert_eq!(members(&app, &token, id).await, vec![(alice, "OWNER".to_string())]);
    assert!(app.workspace_names(&token).await.contains(&"sampleapiworkspace".to_string()));
}

#[tokio::test]
async fn a_duplicate_workspace_name_is_400() {
    let app = spawn_app().await;
    let (_, _, alice) = app.user("alice@example.com").await;
    let (_, _, bob) = app.user("bob@example.com").await;
    app.create_workspace(&alice, "shared-name").await;
    for token in [&alice, &bob] {
        let (status, body) = app.post_json("/v1/api/workspaces/create", token, json!({"workspace_name": "shared-name"})).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
        assert_error_body(status, &body);
    }
    let (status, body) =
        app.post_json("/v1/api/workspaces/create", &bob, json!({"workspace_name": "alice@example.com - Default Workspace"})).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "another user's default workspace name: {body}");
}

#[tokio::test]
async fn non_admins_list_only_their_own_workspaces() {
    let app = spawn_app().await;
    let (alice_id, _, alice) = app.user("alice@example.com").await;
    let (_, _, bob) = app.user("bob@example.com").await;
    app.create_workspace(&alice, "alice-ws").await;
    app.create_workspace(&bob, "bob-ws").await;
    let mut names = app.workspace_names(&alice).await;
    names.sort();
    assert_eq!(names, vec!["alice-ws".to_string(), "alice@example.com - Default Workspace".to_string()]);

    let (status, body) = app.post_json("/v1/api/workspaces/list", &alice, json!({"user_id": alice_id})).await;
    assert_eq!(status, StatusCode::OK, "asking about oneself: {body}");
    assert_eq!(body["workspaces"].as_array().unwrap().len(), 2);

    let bob_id = claims_of(&bob)["sub"].as_str().unwrap().to_string();
    let (status, body) = app.post_json("/v1/api/workspaces/list", &alice, json!({"user_id": bob_id})).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "asking about someone else: {body}");
    assert_error_body(status, &body);
}

#[tokio::test]
async fn admins_list_every_workspace() {
    let app = spawn_app().await;
    let (alice_id, _, alice) = app.user("alice@example.com").await;
    app.create_workspace(&alice, "alice-ws").await;
    let admin = app.admin_token().await;
    let mut names = app.workspace_names(&admin).await;
    names.sort();
    assert_eq!(
        names,
        vec![
            "admin@joey.local - Default Workspace".to_string(),
            "alice-ws".to_string(),
            "alice@example.com - Default Workspace".to_string(),
        ]
    );
    let (status, body) = app.post_json("/v1/api/workspaces/list", &admin, json!({"user_id": alice_id})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["workspaces"].as_array().unwrap().len(), 2, "{body}");
}

#[tokio::test]
async fn listed_workspaces_have_the_sdk_fields_and_rfc3339_timestamps() {
    let app = spawn_app().await;
    let (alice_id, _, alice) = app.user("alice@example.com").await;
    let id = app.create_workspace(&alice, "timestamps").await;
    let (_, body) = app.post_json("/v1/api/workspaces/list", &alice, json!({})).await;
    let ws = body["workspaces"].as_array().unwrap().iter().find(|w| w["id"] == id).expect("created workspace listed").clone();
    assert_eq!(ws["name"], "timestamps");
    assert_eq!(ws["archived"], false);
    assert_eq!(ws["models"], json!([]));
    assert_eq!(ws["pipelines"], json!([]));
    assert_eq!(ws["created_by"], alice_id.as_str());
    let created = ws["created_at"].as_str().expect("created_at string");
    let parsed = chrono::DateTime::parse_from_rfc3339(created).unwrap_or_else(|e| panic!("{created} is not RFC 3339: {e}"));
    let tail = &created[created.len() - 6..];
    assert!(created.ends_with('Z') || tail.starts_with('+') || tail.starts_with('-'), "explicit offset: {created}");
    let age = chrono::Utc::now().signed_duration_since(parsed);
    assert!(age.num_seconds().abs() < 300, "created_at is about now: {created}");
}

#[tokio::test]
async fn add_user_by_email_or_id_sets_owner_and_collaborator_roles() {
    let app = spawn_app().await;
    let (alice, _, alice_token) = app.user("alice@example.com").await;
    let (bob, _) = app.invite("bob@example.com").await;
    let (carol, _) = app.invite("carol@example.com").await;
    let (dave, _) = app.invite("dave@example.com").await;
    let ws = app.create_workspace(&alice_token, "team").await;

    let add = |body: Value| app.post_json("/v1/api/workspaces/add_user", &alice_token, body);
    let (status, body) = add(json!({"workspace_id": ws, "email": "bob@example.com", "user_type": "owner"})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body, json!({}));
    let (status, body) = add(json!({"workspace_id": ws, "user_id": carol, "user_type": "collaborator"})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    // What the SDK sends: both keys, a url, and the role in lower case; no role means collaborator.
    let (status, body) = add(json!({"workspace_id": ws, "email": "dave@example.com", "user_id": dave, "url": "http://localhost:3000"})).await;
    assert_eq!(status, StatusCode::OK, "{body}");

    let want = sorted(vec![
        (alice, "OWNER".to_string()),
        (bob.clone(), "OWNER".to_string()),
        (carol.clone(), "COLLABORATOR".to_string()),
        (dave, "COLLABORATOR".to_string()),
    ]);
    assert_eq!(members(&app, &alice_token, ws).await, want);

    let (status, body) = add(json!({"workspace_id": ws, "email": "carol@example.com", "user_type": "OWNER"})).await;
    assert_eq!(status, StatusCode::OK, "re-adding changes the role: {body}");
    assert!(members(&app, &alice_token, ws).await.contains(&(carol, "OWNER".to_string())));

    let (status, body) = add(json!({"workspace_id": ws, "email": "bob@example.com", "user_type": "superuser"})).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_error_body(status, &body);
    let (status, body) = add(json!({"workspace_id": ws, "email": "nobody@example.com"})).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "unknown user: {body}");
    assert_error_body(status, &body);
    let (status, body) = add(json!({"workspace_id": ws})).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "neither email nor user_id: {body}");
    assert_error_body(status, &body);
}

#[tokio::test]
async fn added_collaborators_see_the_workspace_in_their_list() {
    let app = spawn_app().await;
    let (_, _, alice) = app.user("alice@example.com").await;
    let (_, _, bob) = app.user("bob@example.com").await;
    let ws = app.create_workspace(&alice, "visible").await;
    assert!(!app.workspace_names(&bob).await.contains(&"visible".to_string()));
    let (status, _) = app.post_json("/v1/api/workspaces/add_user", &alice, json!({"workspace_id": ws, "email": "bob@example.com"})).await;
    assert_eq!(status, StatusCode::OK);
    assert!(app.workspace_names(&bob).await.contains(&"visible".to_string()));
}

#[tokio::test]
async fn remove_user_reports_one_affected_row_then_zero() {
    let app = spawn_app().await;
    let (_, _, alice) = app.user("alice@example.com").await;
    let (bob, _) = app.invite("bob@example.com").await;
    let ws = app.create_workspace(&alice, "shrinking").await;
    let (status, _) = app.post_json("/v1/api/workspaces/add_user", &alice, json!({"workspace_id": ws, "user_id": bob})).await;
    assert_eq!(status, StatusCode::OK);

    let (status, body) = app.post_json("/v1/api/workspaces/remove_user", &alice, json!({"workspace_id": ws, "email": "bob@example.com"})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body, json!({"affected_rows": 1}));
    let (status, body) = app.post_json("/v1/api/workspaces/remove_user", &alice, json!({"workspace_id": ws, "user_id": bob})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body, json!({"affected_rows": 0}));
    assert!(!members(&app, &alice, ws).await.iter().any(|(id, _)| *id == bob));

    let (status, body) = app.post_json("/v1/api/workspaces/remove_user", &alice, json!({"workspace_id": ws, "email": "nobody@example.com"})).await;
    assert_eq!(status, StatusCode::OK, "removing a non-user is a no-op: {body}");
    assert_eq!(body, json!({"affected_rows": 0}));
}

#[tokio::test]
async fn a_non_member_gets_404_for_someone_elses_workspace() {
    let app = spawn_app().await;
    let (_, _, alice) = app.user("alice@example.com").await;
    let (_, _, bob) = app.user("bob@example.com").await;
    let ws = app.create_workspace(&alice, "private").await;
    let (status, body) = app.post_json("/v1/api/workspaces/list_users", &bob, json!({"workspace_id": ws})).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    assert_error_body(status, &body);
    let (status, missing) = app.post_json("/v1/api/workspaces/list_users", &bob, json!({"workspace_id": 999_999})).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{missing}");

    let (status, _) = app.post_json("/v1/api/workspaces/add_user", &bob, json!({"workspace_id": ws, "email": "bob@example.com"})).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "a non-member cannot add themselves");

    let admin = app.admin_token().await;
    let (status, _) = app.post_json("/v1/api/workspaces/list_users", &admin, json!({"workspace_id": ws})).await;
    assert_eq!(status, StatusCode::OK, "admins see every workspace");
}

#[tokio::test]
async fn a_collaborator_cannot_add_or_remove_users() {
    let app = spawn_app().await;
    let (_, _, alice) = app.user("alice@example.com").await;
    let (_, _, bob) = app.user("bob@example.com").await;
    app.invite("carol@example.com").await;
    let ws = app.create_workspace(&alice, "owned").await;
    let (status, _) = app
        .post_json("/v1/api/workspaces/add_user", &alice, json!({"workspace_id": ws, "email": "bob@example.com", "user_type": "collaborator"}))
        .await;
    assert_eq!(status, StatusCode::OK);

    let (status, body) = app.post_json("/v1/api/workspaces/add_user", &bob, json!({"workspace_id": ws, "email": "carol@example.com"})).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert_error_body(status, &body);
    let (status, body) = app.post_json("/v1/api/workspaces/remove_user", &bob, json!({"workspace_id": ws, "email": "alice@example.com"})).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    let (status, _) = app.post_json("/v1/api/workspaces/list_users", &bob, json!({"workspace_id": ws})).await;
    assert_eq!(status, StatusCode::OK, "collaborators may still list members");
}

#[tokio::test]
async fn validate_answers_200_null_for_admins_without_a_body() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let (status, body) = app.post_raw("/v1/api/workspaces/validate", Some(&admin), None, "").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body, Value::Null);

    let (_, _, alice) = app.user("alice@example.com").await;
    let (status, body) = app.post_raw("/v1/api/workspaces/validate", Some(&alice), None, "").await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert_error_body(status, &body);
}

#[tokio::test]
async fn malformed_json_is_400_with_a_msg() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let (status, body) = app.post_raw("/v1/api/workspaces/create", Some(&admin), Some("application/json"), "{\"workspace_name\": ").await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_error_body(status, &body);
    let (status, body) = app.post_raw("/v1/api/workspaces/list", Some(&admin), Some("application/json"), "not json").await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_error_body(status, &body);
}

#[tokio::test]
async fn a_field_of_the_wrong_type_is_400() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let (status, body) = app.post_json("/v1/api/workspaces/create", &admin, json!({"workspace_name": 42})).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_error_body(status, &body);
    let (status, body) = app.post_json("/v1/api/workspaces/list_users", &admin, json!({"workspace_id": "one"})).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_error_body(status, &body);
    let (status, body) = app.post_json("/v1/api/users/query", &admin, json!({"user_ids": "not-a-list"})).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_error_body(status, &body);
}

#[tokio::test]
async fn an_empty_body_on_create_is_400_naming_workspace_name() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    for (ct, raw) in [(Some("application/json"), ""), (None, ""), (Some("application/json"), "{}")] {
        let (status, body) = app.post_raw("/v1/api/workspaces/create", Some(&admin), ct, raw).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{ct:?} {raw:?}: {body}");
        assert_error_body(status, &body);
        assert!(body["msg"].as_str().unwrap().contains("workspace_name"), "{body}");
    }
    let (status, body) = app.post_json("/v1/api/workspaces/create", &admin, json!({"workspace_name": "   "})).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "a blank name: {body}");
    assert!(body["msg"].as_str().unwrap().contains("workspace_name"), "{body}");
}

#[tokio::test]
async fn a_body_over_the_json_limit_is_413_with_a_msg() {
    let app = spawn_app_with(|a| a.json_body_limit = Some(1024)).await;
    let admin = app.admin_token().await;
    let big = "x".repeat(4096);
    let (status, body) = app.post_json("/v1/api/workspaces/create", &admin, json!({ "workspace_name": big })).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{body}");
    assert_error_body(status, &body);
    let (status, _) = app.post_json("/v1/api/workspaces/create", &admin, json!({"workspace_name": "small-enough"})).await;
    assert_eq!(status, StatusCode::OK);
}
