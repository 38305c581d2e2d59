//! The 11 documents the Wallaroo SDK sends (as captured in shared/spec/graphql-subset.md, in
//! `tests/documents/`), executed against a real Platform over SQLite: the data the SDK reads,
//! no `errors`, and the same authorization as the REST API.

mod common;

use serde_json::{json, Value};

fn doc(name: &str) -> String {
    let path = format!("{}/tests/documents/{name}.graphql", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn is_rfc3339(v: &Value) -> bool {
    v.as_str().is_some_and(|s| chrono::DateTime::parse_from_rfc3339(s).is_ok() && s.ends_with("+00:00"))
}

#[tokio::test]
async fn model_by_id_reads_a_version_with_its_workspace() {
    let w = common::world().await;
    let q = doc("ModelById").replace("MODEL_VERSION_ID", &w.version.id.to_string());
    let m = &w.data(&w.alice, &q, Value::Null).await["model_by_pk"];
    assert_eq!(m["id"], json!(w.version.id));
    assert_eq!(m["model_id"], "m1");
    assert_eq!(m["model_version"], json!(w.version.version));
    assert_eq!(m["models_pk_id"], json!(w.version.model_id));
    assert_eq!(m["sha"], json!(w.version.sha));
    assert_eq!(m["status"], "ready");
    assert_eq!(m["error_summary"], Value::Null);
    assert_eq!(m["file_name"], "model.onnx");
    assert_eq!(m["image_path"], Value::Null);
    assert_eq!(m["visibility"], "private");
    assert_eq!(m["model_tags"], json!([]));
    assert_eq!(m["arch"], "x86");
    assert_eq!(m["accel"], "none");
    assert!(is_rfc3339(&m["updated_at"]), "{m}");
    assert_eq!(m["model"]["workspace"], json!({"id": w.ws.id, "name": "alice-ws"}));
    // bob is not a member: null, not an error
    assert_eq!(w.data(&w.bob, &q, Value::Null).await["model_by_pk"], Value::Null);
}

#[tokio::test]
async fn model_config_by_id() {
    let w = common::world().await;
    let d = w.data(&w.alice, &doc("ModelConfigById"), json!({"model_config_id": w.config_id})).await;
    let c = &d["model_config_by_pk"];
    assert_eq!(c["id"], json!(w.config_id));
    assert_eq!(c["model"]["id"], json!(w.version.id));
    assert_eq!(c["runtime"], "onnx");
    for k in ["filter_threshold", "tensor_fields", "dynamic_batching_config", "continuous_batching_config", "openai", "input_schema", "output_schema"] {
        assert_eq!(c[k], Value::Null, "{k}");
    }
    let d = w.data(&w.bob, &doc("ModelConfigById"), json!({"model_config_id": w.config_id})).await;
    assert_eq!(d["model_config_by_pk"], Value::Null);
}

#[tokio::test]
async fn pipeline_by_id_lists_versions_newest_first() {
    let w = common::world().await;
    let step = json!({"ModelInference": {"models": [{"name": "m1", "version": w.version.version, "sha": w.version.sha}]}});
    let (_, v2) = w.platform.create_pipeline(&w.alice, "p1", w.ws.id, json!({"steps": [step]})).await.unwrap();
    let d = w.data(&w.alice, &doc("PipelineById"), json!({"pipeline_id": w.pipeline.id})).await;
    let p = &d["pipeline_by_pk"];
    assert_eq!(p["id"], json!(w.pipeline.id));
    assert_eq!(p["pipeline_id"], "p1");
    assert_eq!(p["visibility"], "private");
    assert_eq!(p["owner_id"], json!(w.alice.user_id));
    assert!(is_rfc3339(&p["created_at"]) && is_rfc3339(&p["updated_at"]));
    let ids: Vec<i64> = p["pipeline_versions"].as_array().unwrap().iter().map(|v| v["id"].as_i64().unwrap()).collect();
    assert_eq!(ids, vec![v2.id, w.pipeline_version.id]);
    assert_eq!(p["pipeline_versions"][0]["pipeline_publishes"], json!([]));
    assert_eq!(p["pipeline_tags"], json!([]));
    assert_eq!(p["workspace"], json!({"id": w.ws.id, "name": "alice-ws"}));
    // another user's pipeline is null, exactly like a missing one
    let d = w.data(&w.bob, &doc("PipelineById"), json!({"pipeline_id": w.pipeline.id})).await;
    assert_eq!(d["pipeline_by_pk"], Value::Null);
    let d = w.data(&w.alice, &doc("PipelineById"), json!({"pipeline_id": 999_999})).await;
    assert_eq!(d["pipeline_by_pk"], Value::Null);
    // admins see every workspace
    let d = w.data(&w.admin, &doc("PipelineById"), json!({"pipeline_id": w.pipeline.id})).await;
    assert_eq!(d["pipeline_by_pk"]["pipeline_id"], "p1");
}

#[tokio::test]
async fn deployment_by_id_and_limit_status() {
    let w = common::world().await;
    let d = w.data(&w.alice, &doc("DeploymentById"), json!({"deployment_id": w.deployment.id})).await;
    let dep = &d["deployment_by_pk"];
    assert_eq!(dep["id"], json!(w.deployment.id));
    assert_eq!(dep["deploy_id"], "p1");
    assert_eq!(dep["deployed"], true);
    assert_eq!(dep["deployment_model_configs"], json!([{"model_config": {"id": w.config_id}}]));
    assert_eq!(dep["deployment_pipeline_versions"], json!([{"pipeline_version": {"id": w.pipeline_version.id}}]));
    assert_eq!(dep["pipeline"], json!({"pipeline_id": "p1"}));
    assert_eq!(dep["engine_config"], json!({"engine": {"replicas": 1}}));

    let d = w.data(&w.alice, &doc("QueryLimitStatus"), json!({"id": w.deployment.id})).await;
    assert_eq!(d["deployment"], json!([{"id": w.deployment.id, "deployed": true, "limit_status": null}]));
    let d = w.data(&w.bob, &doc("QueryLimitStatus"), json!({"id": w.deployment.id})).await;
    assert_eq!(d["deployment"], json!([]));
    let d = w.data(&w.bob, &doc("DeploymentById"), json!({"deployment_id": w.deployment.id})).await;
    assert_eq!(d["deployment_by_pk"], Value::Null);

    w.platform.undeploy(&w.alice, Some(w.deployment.id), None).await.unwrap();
    let d = w.data(&w.alice, &doc("DeploymentById"), json!({"deployment_id": w.deployment.id})).await;
    assert_eq!(d["deployment_by_pk"]["deployed"], false);
}

/// The SDK's `Deployment.deploy()` sends `Deploy`; `deployed: false` is its Hasura twin.
const DEPLOY: &str = "mutation Deploy($id: bigint!, $on: Boolean) { update_deployment_by_pk(pk_columns: {id: $id}, _set: {deployed: $on}) { id deploy_id deployed } }";

#[tokio::test]
async fn the_deploy_mutation_undeploys_and_redeploys_through_the_runtime() {
    let w = common::world().await;
    let id = w.deployment.id;
    let calls = || w.runtime.calls.lock().unwrap().clone();
    let d = w.data(&w.alice, DEPLOY, json!({"id": id, "on": true})).await;
    assert_eq!(d["update_deployment_by_pk"], json!({"id": id, "deploy_id": "p1", "deployed": true}));
    assert!(calls().is_empty(), "already deployed: nothing to do, {:?}", calls());

    let d = w.data(&w.alice, DEPLOY, json!({"id": id, "on": false})).await;
    assert_eq!(d["update_deployment_by_pk"]["deployed"], false);
    assert_eq!(calls(), vec![format!("stop {id}")]);

    // Someone outside the workspace sees null and changes nothing.
    let d = w.data(&w.bob, DEPLOY, json!({"id": id, "on": true})).await;
    assert_eq!(d["update_deployment_by_pk"], Value::Null);
    assert_eq!(calls().len(), 1);
    let d = w.data(&w.alice, DEPLOY, json!({"id": 999_999, "on": true})).await;
    assert_eq!(d["update_deployment_by_pk"], Value::Null);

    let d = w.data(&w.alice, DEPLOY, json!({"id": id, "on": true})).await;
    assert_eq!(d["update_deployment_by_pk"]["deployed"], true);
    assert_eq!(calls(), vec![format!("stop {id}"), format!("start {id} v{}", w.pipeline_version.id)]);
    let dep = w.platform.visible_deployment(&w.alice, id).await.unwrap().unwrap();
    assert!(dep.active);
    assert_eq!(dep.engine_config, json!({"engine": {"replicas": 1}}), "the last engine config is kept");

    // Only `deployed` can be set, and only to a boolean.
    for (q, why) in [
        (r#"mutation { update_deployment_by_pk(pk_columns: {id: 1}, _set: {deploy_id: "x"}) { id } }"#, "deploy_id"),
        (r#"mutation { update_deployment_by_pk(pk_columns: {id: 1}, _set: {deployed: "yes"}) { id } }"#, "Boolean"),
    ] {
        let r = w.run(&w.alice, q, Value::Null).await;
        assert!(r["errors"].to_string().contains(why), "{r}");
    }
    assert_eq!(calls().len(), 2);
}

#[tokio::test]
async fn deployment_for_pipeline() {
    let w = common::world().await;
    let d = w.data(&w.alice, &doc("GetDeploymentForPipeline"), json!({"pipeline_id": w.pipeline.id})).await;
    let dep = &d["pipeline_by_pk"]["deployment"];
    assert_eq!(dep["id"], json!(w.deployment.id));
    assert_eq!(dep["deploy_id"], "p1");
    assert_eq!(dep["deployed"], true);
    assert_eq!(dep["engine_config"], json!({"engine": {"replicas": 1}}));
    // a pipeline that was never deployed has a null deployment
    let (p2, _) = w.platform.create_pipeline(&w.alice, "p2", w.ws.id, json!({})).await.unwrap();
    let d = w.data(&w.alice, &doc("GetDeploymentForPipeline"), json!({"pipeline_id": p2.id})).await;
    assert_eq!(d["pipeline_by_pk"], json!({"deployment": null}));
    let d = w.data(&w.bob, &doc("GetDeploymentForPipeline"), json!({"pipeline_id": w.pipeline.id})).await;
    assert_eq!(d["pipeline_by_pk"], Value::Null);
}

#[tokio::test]
async fn workspace_by_id() {
    let w = common::world().await;
    let d = w.data(&w.alice, &doc("WorkspaceById"), json!({"id": w.ws.id})).await;
    let ws = &d["workspace_by_pk"];
    assert_eq!(ws["id"], json!(w.ws.id));
    assert_eq!(ws["name"], "alice-ws");
    assert_eq!(ws["archived"], false);
    assert_eq!(ws["created_by"], json!(w.alice.user_id));
    assert!(is_rfc3339(&ws["created_at"]));
    assert_eq!(ws["users"], json!([{"user_id": w.alice.user_id}]));
    assert_eq!(ws["models"], json!([{"id": w.version.model_id, "models": [{"id": w.version.id}]}]));
    assert_eq!(ws["pipelines"], json!([{"id": w.pipeline.id}]));
    let d = w.data(&w.bob, &doc("WorkspaceById"), json!({"id": w.ws.id})).await;
    assert_eq!(d["workspace_by_pk"], Value::Null);
}

#[tokio::test]
async fn user_default_workspace_exists_for_every_user() {
    let w = common::world().await;
    let d = w.data(&w.bob, &doc("UserDefaultWorkspace"), json!({"user_id": w.bob.user_id})).await;
    let rows = d["user_default_workspace"].as_array().unwrap();
    assert_eq!(rows.len(), 1, "{d}");
    let ws = &rows[0]["workspace"];
    assert_eq!(ws["name"], "bob@example.com - Default Workspace");
    assert_eq!(ws["archived"], false);
    assert_eq!(ws["users"], json!([{"user_id": w.bob.user_id}]));
    assert_eq!(ws["pipelines"], json!([]));
    assert_eq!(ws["models"], json!([]));
    // the variable's default ("") matches nobody
    let d = w.data(&w.bob, &doc("UserDefaultWorkspace"), json!({})).await;
    assert_eq!(d["user_default_workspace"], json!([]));
}

#[tokio::test]
async fn create_default_user_workspace_creates_or_returns_it() {
    let w = common::world().await;
    let q = doc("CreateDefaultUserWorkspace");
    // the existing default workspace comes back (on_conflict, no update columns)
    let vars = json!({"user_id": w.bob.user_id, "workspace_name": "bob@example.com - Default Workspace", "user_type": "OWNER"});
    let d = w.data(&w.bob, &q, vars).await;
    let existing = w.platform.default_workspace(&w.bob).await.unwrap().unwrap();
    assert_eq!(d["insert_workspace_one"], json!({"id": existing.id}));
    // a new name creates a workspace owned by the caller
    let vars = json!({"user_id": w.bob.user_id, "workspace_name": "bob-second", "user_type": "OWNER"});
    let id = w.data(&w.bob, &q, vars).await["insert_workspace_one"]["id"].as_i64().unwrap();
    let members = w.platform.list_workspace_users(&w.bob, id).await.unwrap();
    assert_eq!(members.len(), 1);
    assert_eq!(members[0].user_id, w.bob.user_id);
    assert_eq!(members[0].role.as_str(), "OWNER");
    // bob may not take alice's workspace name, nor create one owned by alice
    let vars = json!({"user_id": w.bob.user_id, "workspace_name": "alice-ws", "user_type": "OWNER"});
    let r = w.run(&w.bob, &q, vars).await;
    assert_eq!(r["data"]["insert_workspace_one"], Value::Null);
    assert!(r["errors"][0]["message"].as_str().unwrap().contains("already exists"), "{r}");
    let vars = json!({"user_id": w.alice.user_id, "workspace_name": "bob-third", "user_type": "OWNER"});
    let r = w.run(&w.bob, &q, vars).await;
    assert!(r["errors"][0]["message"].as_str().unwrap().contains("only admins"), "{r}");
}

#[tokio::test]
async fn pipeline_variant_by_id_and_model_by_name() {
    let w = common::world().await;
    let d = w.data(&w.alice, &doc("PipelineVariantById"), json!({"variant_id": w.pipeline_version.id})).await;
    let v = &d["pipeline_version_by_pk"];
    assert_eq!(v["id"], json!(w.pipeline_version.id));
    assert_eq!(v["version"], json!(w.pipeline_version.version));
    assert_eq!(v["definition"], w.pipeline_version.definition);
    assert_eq!(v["pipeline"], json!({"id": w.pipeline.id}));
    assert!(is_rfc3339(&v["created_at"]) && is_rfc3339(&v["updated_at"]));
    assert!(v["created_on_version"].is_string());
    assert_eq!(v["deployment_pipeline_versions"][0]["deployment"], json!({"id": w.deployment.id}));
    let mc = &v["deployment_model_configs"][0]["model_config"];
    assert_eq!(mc["id"], json!(w.config_id));
    assert_eq!(mc["model"]["id"], json!(w.version.id));
    assert_eq!(mc["model"]["model"], json!({"id": w.version.model_id, "name": "m1"}));
    assert_eq!(v["pipeline_publishes"], json!([]));
    let d = w.data(&w.bob, &doc("PipelineVariantById"), json!({"variant_id": w.pipeline_version.id})).await;
    assert_eq!(d["pipeline_version_by_pk"], Value::Null);

    let vars = json!({"model_id": "m1", "model_version": w.version.version});
    let d = w.data(&w.alice, &doc("ModelByName"), vars.clone()).await;
    assert_eq!(d["model"], json!([{"id": w.version.id, "model_id": "m1", "model_version": w.version.version}]));
    assert_eq!(w.data(&w.bob, &doc("ModelByName"), vars).await["model"], json!([]));
    let d = w.data(&w.alice, &doc("ModelByName"), json!({"model_id": "other", "model_version": w.version.version})).await;
    assert_eq!(d["model"], json!([]));
}

#[tokio::test]
async fn sdk_style_filters_and_introspection() {
    let w = common::world().await;
    // the SDK's model search nests the workspace filter under `model`
    let q = r#"query($n: String!) { model(where: {_and: [{model_id: {_eq: "m1"}}, {model: {workspace: {name: {_eq: $n}}}}]}, order_by: {id: desc}) { id } }"#;
    assert_eq!(w.data(&w.alice, q, json!({"n": "alice-ws"})).await["model"], json!([{"id": w.version.id}]));
    assert_eq!(w.data(&w.alice, q, json!({"n": "nope"})).await["model"], json!([]));
    let q = "{ pipeline(where: {pipeline_id: {_like: \"p%\"}}, limit: 5) { id deployment { deployment_model_configs_aggregate(distinct_on: deployment_id) { nodes { model_config { model { model { name } } } } } } } }";
    let d = w.data(&w.alice, q, Value::Null).await;
    assert_eq!(d["pipeline"][0]["deployment"]["deployment_model_configs_aggregate"]["nodes"][0]["model_config"]["model"]["model"]["name"], "m1");
    let d = w.data(&w.alice, "{ __schema { queryType { name } mutationType { name } } }", Value::Null).await;
    assert_eq!(d["__schema"], json!({"queryType": {"name": "query_root"}, "mutationType": {"name": "mutation_root"}}));
    // ids may be inlined as literals and sent as strings; unknown fields are errors
    let d = w.data(&w.alice, "query($id: bigint!) { workspace_by_pk(id: $id) { name } }", json!({"id": w.ws.id.to_string()})).await;
    assert_eq!(d["workspace_by_pk"]["name"], "alice-ws");
    let r = w.run(&w.alice, "{ workspace_by_pk(id: 1) { nope } }", Value::Null).await;
    assert!(r["errors"].as_array().is_some_and(|e| !e.is_empty()), "{r}");
}

#[tokio::test]
async fn service_accounts_are_refused() {
    let w = common::world().await;
    let mut svc = w.alice.clone();
    svc.kind = joey_core::CallerKind::ServiceAccount;
    let r = w.run(&svc, &doc("WorkspaceById"), json!({"id": w.ws.id})).await;
    assert!(r["errors"][0]["message"].as_str().unwrap().contains("service-account"), "{r}");
}
