//! `pipelines/create` (versions and validation) and the pipeline reads, URLs and topic names.

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::*;

async fn create(app: &TestApp, t: &Tenant, name: &str, definition: Value) -> (StatusCode, Value) {
    app.post_json("/v1/api/pipelines/create", &t.token, json!({"pipeline_id": name, "workspace_id": t.ws, "definition": definition})).await
}

/// Expects `pipelines/create` to answer 400 with `needle` in the message, and no pipeline.
async fn expect_create_400(app: &TestApp, t: &Tenant, name: &str, definition: Value, needle: &str) {
    let (status, body) = create(app, t, name, definition).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_error_body(status, &body);
    assert!(body["msg"].as_str().unwrap().contains(needle), "the reason should mention {needle:?}: {body}");
    let (_, list) = app.post_json("/v1/api/pipelines/list_pipelines", &t.token, json!({"workspace_id": t.ws})).await;
    assert_eq!(list["pipelines"], json!([]), "nothing was created: {list}");
}

#[tokio::test]
async fn create_makes_a_pipeline_and_the_same_name_again_makes_a_new_version() {
    let app = spawn_app().await;
    let t = app.tenant("alice@example.com").await;
    let (_, m) = app.ready_model(&t, "ccfraud", "tiny_ccfraud.onnx").await;
    let (status, first) = create(&app, &t, "api-pipeline", json!({})).await;
    assert_eq!(status, StatusCode::OK, "{first}");
    let (status, second) = create(&app, &t, "api-pipeline", json!({"id": "api-pipeline", "steps": [model_step(&[&m])]})).await;
    assert_eq!(status, StatusCode::OK, "{second}");
    assert_eq!(first["pipeline_pk_id"], second["pipeline_pk_id"], "same pipeline");
    assert_ne!(first["pipeline_variant_pk_id"], second["pipeline_variant_pk_id"]);
    assert_ne!(first["pipeline_variant_version"], second["pipeline_variant_version"]);
    for v in [&first, &second] {
        assert!(v["pipeline_variant_version"].as_str().is_some_and(|u| uuid::Uuid::parse_str(u).is_ok()), "{v}");
    }
    let (status, versions) = app.post_json("/v1/api/pipelines/list_pipeline_versions", &t.token, json!({"pipeline_id": "api-pipeline", "workspace_id": t.ws})).await;
    assert_eq!(status, StatusCode::OK, "{versions}");
    let listed: Vec<&Value> = versions["pipeline_versions"].as_array().unwrap().iter().map(|i| &i["pipeline_version"]["version"]).collect();
    assert_eq!(listed, vec![&first["pipeline_variant_version"], &second["pipeline_variant_version"]], "oldest first");
    let (_, other) = create(&app, &t, "another-pipeline", json!(null)).await;
    assert_ne!(other["pipeline_pk_id"], first["pipeline_pk_id"]);
}

#[tokio::test]
async fn a_pipeline_name_that_is_not_dns_safe_is_400_with_a_reason() {
    let app = spawn_app().await;
    let t = app.tenant("alice@example.com").await;
    for name in ["Bad_Name", "has.dot", "trailing-"] {
        expect_create_400(&app, &t, name, json!({}), "pipeline name").await;
    }
}

#[tokio::test]
async fn an_unknown_model_version_is_400() {
    let app = spawn_app().await;
    let t = app.tenant("alice@example.com").await;
    let (_, mut m) = app.ready_model(&t, "ccfraud", "tiny_ccfraud.onnx").await;
    m["version"] = json!(uuid::Uuid::new_v4().to_string());
    expect_create_400(&app, &t, "p", json!({"steps": [model_step(&[&m])]}), "does not exist").await;
    // A model of another workspace is unknown here too.
    let bob = app.tenant("bob@example.com").await;
    let (_, theirs) = app.ready_model(&bob, "ccfraud", "tiny_ccfraud.onnx").await;
    expect_create_400(&app, &t, "p", json!({"steps": [model_step(&[&theirs])]}), "does not exist").await;
}

#[tokio::test]
async fn a_sha_that_does_not_match_the_version_is_400() {
    let app = spawn_app().await;
    let t = app.tenant("alice@example.com").await;
    let (_, mut m) = app.ready_model(&t, "ccfraud", "tiny_ccfraud.onnx").await;
    m["sha"] = json!(sha256_hex(b"other bytes"));
    expect_create_400(&app, &t, "p", json!({"steps": [model_step(&[&m])]}), "sha").await;
}

#[tokio::test]
async fn an_unsupported_step_kind_is_400() {
    let app = spawn_app().await;
    let t = app.tenant("alice@example.com").await;
    expect_create_400(&app, &t, "p", json!({"steps": [{"Average": {}}]}), "Average").await;
    expect_create_400(&app, &t, "p", json!({"steps": {"not": "a list"}}), "array").await;
}

#[tokio::test]
async fn an_invalid_check_expression_is_400() {
    let app = spawn_app().await;
    let t = app.tenant("alice@example.com").await;
    let (_, m) = app.ready_model(&t, "ccfraud", "tiny_ccfraud.onnx").await;
    let agg = r#"{"Alias":[{"BinaryExpr":{"left":{"Agg":{"Mean":{"Column":"a"}}},"op":"Gt","right":{"Literal":{"Int32":1}}}},"agg"]}"#;
    expect_create_400(&app, &t, "p", json!({"steps": [model_step(&[&m]), {"Check": {"tree": [agg]}}]}), "Agg").await;
    expect_create_400(&app, &t, "p", json!({"steps": [model_step(&[&m]), {"Check": {"tree": ["{not json"]}}]}), "polars").await;
    let count = r#"{"Alias":[{"Column":"flag"},"count"]}"#;
    expect_create_400(&app, &t, "p", json!({"steps": [model_step(&[&m]), {"Check": {"tree": [count]}}]}), "count").await;
}

#[tokio::test]
async fn pipelines_are_read_by_name_listed_and_their_versions_fetched() {
    let app = spawn_app().await;
    let t = app.tenant("alice@example.com").await;
    let (_, m) = app.ready_model(&t, "ccfraud", "tiny_ccfraud.onnx").await;
    let steps = json!([model_step(&[&m])]);
    let (pipeline_id, version_pk) = app.create_pipeline(&t, "readable", steps.clone()).await;
    app.create_pipeline(&t, "second", json!([])).await;

    let (status, body) = app.post_json("/v1/api/pipelines/get_pipeline_by_name", &t.token, json!({"pipeline_name": "readable", "workspace_id": t.ws})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!((body["pipeline"]["id"].as_i64(), body["pipeline"]["name"].as_str()), (Some(pipeline_id), Some("readable")));
    assert_eq!(body["workspace"]["id"], t.ws);
    assert_eq!(body["plateau_topic"], format!("workspace-{}-pipeline-readable-inference", t.ws));
    assert_eq!(body["pipeline_version"]["pipeline_version_pk_id"], version_pk);
    assert_eq!(body["pipeline_version"]["steps"]["steps"], steps, "the legacy `steps` object is the definition: {body}");
    let uuid = body["pipeline_version"]["version"].as_str().unwrap().to_string();

    let (status, by_id) = app.post_json("/v1/api/pipelines/list_pipelines", &t.token, json!({"workspace_id": t.ws})).await;
    assert_eq!(status, StatusCode::OK, "{by_id}");
    let (_, by_name) = app.post_json("/v1/api/pipelines/list_pipelines", &t.token, json!({"workspace_name": "alice-ws"})).await;
    assert_eq!(by_id, by_name);
    let mut names: Vec<&str> = by_id["pipelines"].as_array().unwrap().iter().map(|p| p["pipeline"]["name"].as_str().unwrap()).collect();
    names.sort();
    assert_eq!(names, ["readable", "second"]);

    let (status, v) = app.post_json("/v1/api/pipelines/get_version", &t.token, json!({"version": uuid})).await;
    assert_eq!(status, StatusCode::OK, "{v}");
    assert_eq!((v["pipeline_id"].as_str(), v["version"].as_str()), (Some("readable"), Some(uuid.as_str())));
    assert_eq!(v["definition"]["steps"], steps);

    for (path, body) in [
        ("/v1/api/pipelines/get_pipeline_by_name", json!({"pipeline_name": "missing", "workspace_id": t.ws})),
        ("/v1/api/pipelines/get_version", json!({"version": uuid::Uuid::new_v4().to_string()})),
        ("/v1/api/pipelines/list_pipeline_versions", json!({"pipeline_id": "missing", "workspace_id": t.ws})),
    ] {
        let (status, resp) = app.post_json(path, &t.token, body).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}: {resp}");
        assert_error_body(status, &resp);
    }
    let bob = app.tenant("bob@example.com").await;
    let (status, _) = app.post_json("/v1/api/pipelines/get_version", &bob.token, json!({"version": uuid})).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "another user's pipeline version");
    let (status, _) = app.post_json("/v1/api/pipelines/get_pipeline_by_name", &bob.token, json!({"pipeline_name": "readable", "workspace_id": t.ws})).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn pipeline_urls_and_topic_names_follow_the_deployment_name() {
    let app = spawn_app().await;
    let t = app.tenant("alice@example.com").await;
    let (_, m) = app.ready_model(&t, "ccfraud", "tiny_ccfraud.onnx").await;
    let (status, body) = app.post_json("/v1/api/admin/get_pipeline_external_url", &t.token, json!({"workspace_id": t.ws, "pipeline_name": "urls"})).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "no such pipeline yet: {body}");
    let dep = app.deploy_pipeline(&t, "urls", json!([model_step(&[&m])]), json!({})).await;
    assert_eq!(dep.url, format!("{}/v1/api/pipelines/infer/urls-{}/urls", app.base, dep.id));
    let (status, internal) = app.post_json("/v1/api/admin/get_pipeline_internal_url", &t.token, json!({"workspace_id": t.ws, "pipeline_name": "urls"})).await;
    assert_eq!(status, StatusCode::OK, "{internal}");
    let internal = internal["url"].as_str().unwrap().to_string();
    assert!(internal.ends_with(&format!("/infer/urls-{}/urls", dep.id)), "{internal}");
    for url in [&dep.url, &internal] {
        let (status, out) = app.infer_json(url, &t.token, &json!([{"tensor": ccfraud_row(0.0)}]), "").await;
        assert_eq!(status, StatusCode::OK, "{url}: {out}");
    }

    let topic = format!("workspace-{}-pipeline-urls-inference", t.ws);
    let (status, body) = app.post_json("/v1/api/plateau/get_topic_name", &t.token, json!({"pipeline_pk_id": dep.pipeline_id})).await;
    assert_eq!((status, body["topic_name"].as_str()), (StatusCode::OK, Some(topic.as_str())), "{body}");
    let (status, body) = app.post_json("/v1/api/plateau/get_pipeline_topic_name", &t.token, json!({"pipeline_name": "urls", "workspace_id": t.ws})).await;
    assert_eq!((status, body["topic_name"].as_str()), (StatusCode::OK, Some(topic.as_str())), "{body}");
    let (status, body) = app.post_json("/v1/api/plateau/get_topic_name", &t.token, json!({"pipeline_pk_id": dep.pipeline_id + 1000})).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");

    app.undeploy(&t.token, dep.id).await;
    let (status, body) = app.post_json("/v1/api/admin/get_pipeline_external_url", &t.token, json!({"workspace_id": t.ws, "pipeline_name": "urls"})).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "not deployed any more: {body}");
}

#[tokio::test]
async fn another_users_workspace_and_pipelines_are_404() {
    let app = spawn_app().await;
    let alice = app.tenant("alice@example.com").await;
    let bob = app.tenant("bob@example.com").await;
    let (_, m) = app.ready_model(&alice, "ccfraud", "tiny_ccfraud.onnx").await;
    let dep = app.deploy_pipeline(&alice, "private", json!([model_step(&[&m])]), json!({})).await;
    let (_, got) = app.post_json("/v1/api/pipelines/get_pipeline_by_name", &alice.token, json!({"pipeline_name": "private", "workspace_id": alice.ws})).await;
    let uuid = got["pipeline_version"]["version"].clone();
    let calls = [
        ("/v1/api/pipelines/create", json!({"pipeline_id": "intruder", "workspace_id": alice.ws, "definition": {}})),
        ("/v1/api/pipelines/list_pipelines", json!({"workspace_id": alice.ws})),
        ("/v1/api/pipelines/list_pipeline_versions", json!({"pipeline_id": "private", "workspace_id": alice.ws})),
        ("/v1/api/pipelines/delete_pipeline", json!({"pipeline_id": "private", "workspace_id": alice.ws})),
        ("/v1/api/pipelines/delete_pipeline_versions", json!({"pipeline_versions": [uuid]})),
        ("/v1/api/admin/get_pipeline_external_url", json!({"workspace_id": alice.ws, "pipeline_name": "private"})),
        ("/v1/api/admin/get_pipeline_internal_url", json!({"workspace_id": alice.ws, "pipeline_name": "private"})),
        ("/v1/api/plateau/get_topic_name", json!({"pipeline_pk_id": dep.pipeline_id})),
        ("/v1/api/plateau/get_pipeline_topic_name", json!({"pipeline_name": "private", "workspace_id": alice.ws})),
        ("/v1/api/status/get_deployment", json!({"name": dep.name_id})),
    ];
    for (path, body) in calls {
        let (status, resp) = app.post_json(path, &bob.token, body.clone()).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{path} {body}: {resp}");
        assert_error_body(status, &resp);
    }
    // Bob's own pipeline of the same name is a different one.
    let (_, mine) = app.ready_model(&bob, "ccfraud", "tiny_ccfraud.onnx").await;
    let (bobs_id, _) = app.create_pipeline(&bob, "private", json!([model_step(&[&mine])])).await;
    assert_ne!(bobs_id, dep.pipeline_id);
    let (status, _) = app.infer_json(&dep.url, &alice.token, &json!([{"tensor": ccfraud_row(0.0)}]), "").await;
    assert_eq!(status, StatusCode::OK, "alice's deployment is untouched");
}
