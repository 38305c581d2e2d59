//! `models/list`, `get`, `get_by_id`, the version reads (and their alias), `list_versions`,
//! `list_versions_for_model`, configs, upload logs, and workspace isolation of all of them.

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::*;

/// Two ready versions of model `reads`; returns (model pk, [v1, v2]).
async fn two_versions(app: &TestApp, t: &Tenant) -> (i64, [i64; 2]) {
    let v1 = app.upload_model(t, "reads", "tiny_ccfraud.onnx").await;
    let v2 = app.upload_model(t, "reads", "multi_io.onnx").await;
    app.wait_ready(&t.token, v1).await;
    app.wait_ready(&t.token, v2).await;
    let (status, body) = app.post_json("/v1/api/models/list", &t.token, json!({"workspace_id": t.ws})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    (body["models"][0]["model"]["id"].as_i64().expect("model id"), [v1, v2])
}

fn ids(list: &Value, pointer: &str) -> Vec<i64> {
    list.as_array().unwrap_or_else(|| panic!("a list: {list}")).iter().map(|v| v.pointer(pointer).and_then(Value::as_i64).expect("id")).collect()
}

#[tokio::test]
async fn models_list_get_and_get_by_id_describe_the_model_and_its_versions() {
    let app = spawn_app().await;
    let t = app.tenant("alice@example.com").await;
    let (model_id, [v1, v2]) = two_versions(&app, &t).await;

    let (status, by_id) = app.post_json("/v1/api/models/list", &t.token, json!({"workspace_id": t.ws, "workspace_name": null})).await;
    assert_eq!(status, StatusCode::OK, "{by_id}");
    let (_, by_name) = app.post_json("/v1/api/models/list", &t.token, json!({"workspace_name": "alice-ws"})).await;
    assert_eq!(by_id, by_name, "workspace_id and workspace_name select the same workspace");
    let item = &by_id["models"][0];
    assert_eq!(item["model"]["name"], "reads");
    assert_eq!(item["workspace"]["id"], t.ws);
    assert_eq!(ids(&item["model_versions"], "/model_version/id"), vec![v1, v2]);
    for mv in item["model_versions"].as_array().unwrap() {
        assert_eq!(mv["config"]["runtime"], "onnx", "{mv}");
        assert_eq!(mv["config"]["model_version_id"], mv["model_version"]["id"], "{mv}");
    }

    let (status, got) = app.post_json("/v1/api/models/get", &t.token, json!({"id": model_id})).await;
    assert_eq!(status, StatusCode::OK, "{got}");
    assert_eq!((got["id"].as_i64(), got["name"].as_str()), (Some(model_id), Some("reads")));
    assert_eq!(got["workspace"]["id"], t.ws);
    assert_eq!(ids(&got["models"], "/id"), vec![v1, v2]);
    assert!(got["models"].as_array().unwrap().iter().all(|s| s["models_pk_id"] == model_id && s["model_id"] == "reads"), "{got}");

    let (status, got) = app.post_json("/v1/api/models/get_by_id", &t.token, json!({"id": model_id})).await;
    assert_eq!(status, StatusCode::OK, "{got}");
    assert_eq!((got["id"].as_i64(), got["workspace_id"].as_i64()), (Some(model_id), Some(t.ws)));
    let (_, newest) = app.get_version(&t.token, v2).await;
    assert_eq!(got["model_config"]["id"], newest["model_version"]["config"]["id"], "the newest version's config: {got}");

    let (status, body) = app.post_json("/v1/api/models/get", &t.token, json!({"id": model_id + 1000})).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    assert_error_body(status, &body);
}

#[tokio::test]
async fn get_model_version_by_id_and_its_alias_get_version_by_id_agree() {
    let app = spawn_app().await;
    let t = app.tenant("alice@example.com").await;
    let (_, [v1, _]) = two_versions(&app, &t).await;
    let (status, a) = app.post_json("/v1/api/models/get_model_version_by_id", &t.token, json!({"model_version_id": v1})).await;
    assert_eq!(status, StatusCode::OK, "{a}");
    let (status, b) = app.post_json("/v1/api/models/get_version_by_id", &t.token, json!({"model_version_id": v1})).await;
    assert_eq!(status, StatusCode::OK, "{b}");
    assert_eq!(a, b);
    assert_eq!(a["model_version"]["model_version"]["id"], v1);
    assert!(a["model_version"]["config"]["id"].is_i64(), "{a}");
    let (status, body) = app.post_json("/v1/api/models/get_version_by_id", &t.token, json!({"model_version_id": v1 + 1000})).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    assert_error_body(status, &body);
}

#[tokio::test]
async fn list_versions_by_name_or_model_pk_lists_oldest_first() {
    let app = spawn_app().await;
    let t = app.tenant("alice@example.com").await;
    let (model_id, [v1, v2]) = two_versions(&app, &t).await;
    let (status, by_name) = app.post_json("/v1/api/models/list_versions", &t.token, json!({"model_id": "reads"})).await;
    assert_eq!(status, StatusCode::OK, "{by_name}");
    let (status, by_pk) = app.post_json("/v1/api/models/list_versions", &t.token, json!({"models_pk_id": model_id})).await;
    assert_eq!(status, StatusCode::OK, "{by_pk}");
    assert_eq!(by_name, by_pk);
    assert_eq!(ids(&by_name, "/id"), vec![v1, v2]);
    let (_, first) = app.get_version(&t.token, v1).await;
    let s = &by_name[0];
    assert_eq!(s["sha"], first["model_version"]["model_version"]["file_info"]["sha"]);
    assert_eq!(s["model_version"], first["model_version"]["model_version"]["file_info"]["version"]);
    assert_eq!((s["models_pk_id"].as_i64(), s["model_id"].as_str(), s["status"].as_str()), (Some(model_id), Some("reads"), Some("ready")));

    let (status, body) = app.post_json("/v1/api/models/list_versions", &t.token, json!({})).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "neither name nor pk: {body}");

    let (status, body) = app.post_json("/v1/api/models/list_versions_for_model", &t.token, json!({"model_id": "reads", "workspace_id": t.ws})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["models"].as_array().unwrap().len(), 1);
    assert_eq!(ids(&body["models"][0]["model_versions"], "/model_version/id"), vec![v1, v2]);
    let (status, body) = app.post_json("/v1/api/models/list_versions_for_model", &t.token, json!({"model_id": "nope", "workspace_id": t.ws})).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
}

#[tokio::test]
async fn insert_model_config_makes_a_new_config_each_time_and_reads_return_the_latest() {
    let app = spawn_app().await;
    let t = app.tenant("alice@example.com").await;
    let v = app.upload_model(&t, "configured", "tiny_ccfraud.onnx").await;
    app.wait_ready(&t.token, v).await;
    let (status, first) = app.post_json("/v1/api/models/get_config_by_id", &t.token, json!({"model_id": v})).await;
    assert_eq!(status, StatusCode::OK, "{first}");
    let c0 = first["model_config"]["id"].as_i64().expect("an initial config");
    assert_eq!(first["model_config"]["runtime"], "onnx");

    let c1 = app.set_tensor_fields(&t.token, v, &["tensor"]).await;
    assert_eq!((c1["model_version_id"].as_i64(), c1["runtime"].as_str()), (Some(v), Some("onnx")), "{c1}");
    assert_eq!(c1["tensor_fields"], json!(["tensor"]));
    let (status, body) = app.post_json("/v1/api/models/insert_model_config", &t.token, json!({"model_version_id": v, "batch_config": "single"})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let c2 = &body["model_config"];
    assert_eq!((c2["batch_config"].as_str(), &c2["tensor_fields"]), (Some("single"), &Value::Null), "a config is whole, not a patch: {c2}");
    let all = [c0, c1["id"].as_i64().unwrap(), c2["id"].as_i64().unwrap()];
    assert!(all[0] != all[1] && all[1] != all[2] && all[0] != all[2], "a new id each time: {all:?}");

    let (_, latest) = app.post_json("/v1/api/models/get_config_by_id", &t.token, json!({"model_id": v})).await;
    assert_eq!(latest["model_config"]["id"], all[2], "{latest}");
    let (_, version) = app.get_version(&t.token, v).await;
    assert_eq!(version["model_version"]["config"]["id"], all[2], "{version}");

    let (status, body) = app.post_json("/v1/api/models/insert_model_config", &t.token, json!({"model_version_id": v + 1000, "tensor_fields": ["x"]})).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
}

#[tokio::test]
async fn get_upload_logs_returns_the_load_story_and_honours_lines() {
    let app = spawn_app().await;
    let t = app.tenant("alice@example.com").await;
    let v = app.upload_model(&t, "logged", "tiny_ccfraud.onnx").await;
    app.wait_ready(&t.token, v).await;
    let (status, all) = app.post_json("/v1/api/models/get_upload_logs", &t.token, json!({"model_version_id": v})).await;
    assert_eq!(status, StatusCode::OK, "{all}");
    let all = all["logs"].as_array().expect("logs").clone();
    assert!(all.len() >= 2, "received + loaded at least: {all:?}");
    assert!(all.iter().any(|l| l.as_str().unwrap().contains("dense_input")), "the load line names the inputs: {all:?}");
    let (status, last) = app.post_json("/v1/api/models/get_upload_logs", &t.token, json!({"model_version_id": v, "lines": 1})).await;
    assert_eq!(status, StatusCode::OK, "{last}");
    assert_eq!(last["logs"], json!([all.last().unwrap()]));
    let (_, many) = app.post_json("/v1/api/models/get_upload_logs", &t.token, json!({"model_version_id": v, "lines": 1000})).await;
    assert_eq!(many["logs"].as_array().unwrap(), &all);
}

#[tokio::test]
async fn a_version_in_another_users_workspace_is_404_everywhere() {
    let app = spawn_app().await;
    let alice = app.tenant("alice@example.com").await;
    let bob = app.tenant("bob@example.com").await;
    let (model_id, [v, _]) = two_versions(&app, &alice).await;
    let (_, mine) = app.get_version(&alice.token, v).await;
    let uuid = mine["model_version"]["model_version"]["file_info"]["version"].as_str().unwrap().to_string();

    let calls: Vec<(&str, Value)> = vec![
        ("/v1/api/models/get_version_by_id", json!({"model_version_id": v})),
        ("/v1/api/models/get_model_version_by_id", json!({"model_version_id": v})),
        ("/v1/api/models/get_config_by_id", json!({"model_id": v})),
        ("/v1/api/models/get_upload_logs", json!({"model_version_id": v})),
        ("/v1/api/models/insert_model_config", json!({"model_version_id": v, "tensor_fields": ["x"]})),
        ("/v1/api/models/get", json!({"id": model_id})),
        ("/v1/api/models/get_by_id", json!({"id": model_id})),
        ("/v1/api/models/list", json!({"workspace_id": alice.ws})),
        ("/v1/api/models/list_versions_for_model", json!({"model_id": "reads", "workspace_id": alice.ws})),
        ("/v1/api/models/delete_model_versions", json!({"model_versions": [uuid]})),
        ("/v1/api/models/delete_model", json!({"model_id": "reads", "workspace_id": alice.ws})),
    ];
    for (path, body) in calls {
        let (status, resp) = app.post_json(path, &bob.token, body.clone()).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{path} {body} as another user: {resp}");
        assert_error_body(status, &resp);
    }
    for body in [json!({"model_id": "reads"}), json!({"models_pk_id": model_id})] {
        let (status, resp) = app.post_json("/v1/api/models/list_versions", &bob.token, body).await;
        assert_eq!(status, StatusCode::OK, "{resp}");
        assert_eq!(resp, json!([]), "another user's versions are not listed");
    }
    let (_, still) = app.get_version(&alice.token, v).await;
    assert_eq!(still["model_version"]["config"]["tensor_fields"], Value::Null, "bob changed nothing: {still}");
    assert_eq!(app.post_json("/v1/api/models/get", &alice.token, json!({"id": model_id})).await.0, StatusCode::OK);
}

/// `filter_threshold` is a number; configs with and without one alternate freely.
#[tokio::test]
async fn filter_thresholds_can_be_set_and_cleared_repeatedly() {
    let app = spawn_app().await;
    let t = app.tenant("alice@example.com").await;
    let v = app.upload_model(&t, "thresholds", "tiny_ccfraud.onnx").await;
    let mut failures = Vec::new();
    for i in 0..16 {
        let threshold = if i % 2 == 0 { Value::Null } else { json!(0.125 * i as f64) };
        let (status, body) = app.post_json("/v1/api/models/insert_model_config", &t.token, json!({"model_version_id": v, "filter_threshold": threshold})).await;
        if status != StatusCode::OK || body["model_config"]["filter_threshold"] != threshold {
            failures.push(format!("{threshold}: {status} {body}"));
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
    let (status, body) = app.post_json("/v1/api/models/insert_model_config", &t.token, json!({"model_version_id": v, "filter_threshold": "high"})).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "a number is required: {body}");
}
