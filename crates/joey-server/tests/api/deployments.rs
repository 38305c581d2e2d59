//! `pipelines/deploy` / `undeploy`, `status/get_deployment`, replicas, deletes of deployed
//! pipelines, deployments across a restart, and hot swapping a new pipeline version.

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::*;

fn one_row() -> Value {
    json!([{"tensor": ccfraud_row(0.5)}])
}

#[tokio::test]
async fn deploy_answers_an_id_and_the_status_goes_from_starting_to_running() {
    let app = spawn_app().await;
    let t = app.tenant("alice@example.com").await;
    let (version_id, m) = app.ready_model(&t, "ccfraud", "tiny_ccfraud.onnx").await;
    let (_, version_pk) = app.create_pipeline(&t, "deployme", json!([model_step(&[&m])])).await;
    let id = app.deploy(&t.token, "deployme", version_pk, json!({"engine": {"cpu": 1}})).await;
    let name = format!("deployme-{id}");
    let url = format!("{}/v1/api/pipelines/infer/{name}/deployme", app.base);

    // Until it runs, inference answers 503 (engine body) or already 200, never anything else.
    let start = Instant::now();
    loop {
        let (status, body) = app.deployment_status(&t.token, &name).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let (code, out) = app.infer_json(&url, &t.token, &one_row(), "").await;
        match body["status"].as_str() {
            Some("Running") => break,
            Some("Starting") if code == StatusCode::SERVICE_UNAVAILABLE => assert_engine_error(code, &out),
            Some("Starting") => assert_eq!(code, StatusCode::OK, "while starting: {out}"),
            _ => panic!("unexpected status: {body}"),
        }
        assert!(start.elapsed() < Duration::from_secs(60), "never ran: {body}");
    }
    let status = app.wait_running(&t.token, &name).await;
    assert_eq!(status["details"], json!([]));
    let engines = status["engines"].as_array().expect("engines");
    assert_eq!(engines.len(), 1, "{status}");
    let (_, pv) = app.post_json("/v1/api/pipelines/get_pipeline_by_name", &t.token, json!({"pipeline_name": "deployme", "workspace_id": t.ws})).await;
    assert_eq!(engines[0]["pipeline_statuses"]["pipelines"], json!([{"id": "deployme", "status": "Running", "version": pv["pipeline_version"]["version"]}]));
    let model = &engines[0]["model_statuses"]["models"][0];
    assert_eq!((model["model_version_id"].as_i64(), model["name"].as_str(), model["status"].as_str()), (Some(version_id), Some("ccfraud"), Some("Running")));
    assert_eq!((&model["sha"], &model["version"]), (&m["sha"], &m["version"]));
    assert!(!status["engine_lbs"].as_array().unwrap().is_empty(), "{status}");
    assert_eq!(pv["deployment"]["deployed"], true, "{pv}");
    assert_eq!(pv["deployment"]["id"], id);

    let (code, out) = app.infer_json(&url, &t.token, &one_row(), "").await;
    assert_eq!(code, StatusCode::OK, "{out}");
}

#[tokio::test]
async fn status_is_404_for_unknown_deployments_and_after_undeploy() {
    let app = spawn_app().await;
    let t = app.tenant("alice@example.com").await;
    for name in ["nothing-here-12345", "no-dash", ""] {
        let (status, body) = app.deployment_status(&t.token, name).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{name}: {body}");
        assert_error_body(status, &body);
    }
    let (_, m) = app.ready_model(&t, "ccfraud", "tiny_ccfraud.onnx").await;
    let dep = app.deploy_pipeline(&t, "short-lived", json!([model_step(&[&m])]), json!({})).await;
    let bob = app.tenant("bob@example.com").await;
    assert_eq!(app.deployment_status(&bob.token, &dep.name_id).await.0, StatusCode::NOT_FOUND, "another user's deployment");

    app.undeploy(&t.token, dep.id).await;
    let (status, body) = app.deployment_status(&t.token, &dep.name_id).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "undeployed: {body}");
    let (status, body) = app.infer_json(&dep.url, &t.token, &one_row(), "").await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    assert_engine_error(status, &body);
    let (_, pv) = app.post_json("/v1/api/pipelines/get_pipeline_by_name", &t.token, json!({"pipeline_name": "short-lived", "workspace_id": t.ws})).await;
    assert_eq!(pv["deployment"], Value::Null, "{pv}");
}

#[tokio::test]
async fn redeploying_a_pipeline_keeps_its_deployment_id() {
    let app = spawn_app().await;
    let t = app.tenant("alice@example.com").await;
    let (_, m) = app.ready_model(&t, "ccfraud", "tiny_ccfraud.onnx").await;
    let dep = app.deploy_pipeline(&t, "again", json!([model_step(&[&m])]), json!({})).await;
    let while_deployed = app.deploy(&t.token, "again", dep.version_pk, json!({})).await;
    assert_eq!(while_deployed, dep.id, "deploying a deployed pipeline again");
    app.wait_running(&t.token, &dep.name_id).await;
    app.undeploy(&t.token, dep.id).await;
    let after_undeploy = app.deploy(&t.token, "again", dep.version_pk, json!({})).await;
    assert_eq!(after_undeploy, dep.id, "redeploying after an undeploy");
    app.wait_running(&t.token, &dep.name_id).await;
    let (status, out) = app.infer_json(&dep.url, &t.token, &one_row(), "").await;
    assert_eq!(status, StatusCode::OK, "the same URL answers again: {out}");
}

#[tokio::test]
async fn two_replicas_are_listed_and_take_requests_in_turn() {
    let app = spawn_app().await;
    let t = app.tenant("alice@example.com").await;
    let (_, m) = app.ready_model(&t, "ccfraud", "tiny_ccfraud.onnx").await;
    let dep = app.deploy_pipeline(&t, "twice", json!([model_step(&[&m])]), json!({"engine": {"replicas": 2}})).await;
    let (_, status) = app.deployment_status(&t.token, &dep.name_id).await;
    let engines = status["engines"].as_array().unwrap();
    assert_eq!(engines.len(), 2, "{status}");
    assert_ne!(engines[0]["name"], engines[1]["name"]);
    let mut partitions = Vec::new();
    for _ in 0..6 {
        let (code, out) = app.infer_json(&dep.url, &t.token, &one_row(), "").await;
        assert_eq!(code, StatusCode::OK, "{out}");
        partitions.push(out[0]["metadata"]["partition"].as_str().expect("metadata.partition").to_string());
    }
    assert_eq!(partitions.iter().collect::<HashSet<_>>().len(), 2, "{partitions:?}");
    assert!(partitions.windows(2).all(|w| w[0] != w[1]), "replicas alternate: {partitions:?}");

    // Redeploying with one replica scales down.
    assert_eq!(app.deploy(&t.token, "twice", dep.version_pk, json!({"engine": {"replicas": 1}})).await, dep.id);
    let start = Instant::now();
    loop {
        let (_, status) = app.deployment_status(&t.token, &dep.name_id).await;
        if status["status"] == "Running" && status["engines"].as_array().unwrap().len() == 1 {
            break;
        }
        assert!(start.elapsed() < Duration::from_secs(30), "{status}");
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    let mut seen = HashSet::new();
    for _ in 0..4 {
        let (_, out) = app.infer_json(&dep.url, &t.token, &one_row(), "").await;
        seen.insert(out[0]["metadata"]["partition"].as_str().unwrap().to_string());
    }
    assert_eq!(seen.len(), 1, "one replica: {seen:?}");
}

#[tokio::test]
async fn per_model_cpus_in_engine_aux_deploy_and_serve() {
    // `sidekick_cpus` sizes a model's intra-op threads; the result must not change.
    let app = spawn_app().await;
    let t = app.tenant("alice@example.com").await;
    let (id, m) = app.ready_model(&t, "ccfraud", "tiny_ccfraud.onnx").await;
    let aux = json!({"engine": {"cpu": 1}, "engineAux": {"images": {format!("ccfraud-{id}"): {"resources": {"limits": {"cpu": 2}, "requests": {"cpu": 2}}}}}});
    let dep = app.deploy_pipeline(&t, "threads", json!([model_step(&[&m])]), aux).await;
    let (code, out) = app.infer_json(&dep.url, &t.token, &one_row(), "").await;
    assert_eq!(code, StatusCode::OK, "{out}");
    let plain = app.deploy_pipeline(&t, "plain", json!([model_step(&[&m])]), json!({"engine": {"cpu": 1}})).await;
    let (_, same) = app.infer_json(&plain.url, &t.token, &one_row(), "").await;
    assert_eq!(out[0]["out"], same[0]["out"]);
}

#[tokio::test]
async fn dynamic_batching_gives_concurrent_callers_their_own_rows() {
    let app = spawn_app().await;
    let t = app.tenant("alice@example.com").await;
    let (id, m) = app.ready_model(&t, "ccfraud", "tiny_ccfraud.onnx").await;
    let bad = json!({"model_version_id": id, "dynamic_batching_config": {"max_batch_delay_ms": "soon"}});
    let (status, body) = app.post_json("/v1/api/models/insert_model_config", &t.token, bad).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(body.to_string().contains("max_batch_delay_ms"), "{body}");
    let good = json!({"model_version_id": id, "dynamic_batching_config": {"max_batch_delay_ms": 20, "batch_size_target": 8}});
    let (status, body) = app.post_json("/v1/api/models/insert_model_config", &t.token, good).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["model_config"]["dynamic_batching_config"]["batch_size_target"], 8, "{body}");

    let dep = app.deploy_pipeline(&t, "batched", json!([model_step(&[&m])]), json!({})).await;
    let rows: Vec<Vec<f64>> = (0..24).map(|i| ccfraud_row(i as f64 / 7.0)).collect();
    let bodies: Vec<Value> = rows.iter().enumerate().map(|(i, r)| if i % 3 == 0 { json!([{"tensor": r}, {"tensor": r}]) } else { json!([{"tensor": r}]) }).collect();
    let answers = futures::future::join_all(bodies.iter().map(|b| app.infer_json(&dep.url, &t.token, b, ""))).await;
    for (i, ((code, out), row)) in answers.iter().zip(&rows).enumerate() {
        assert_eq!(*code, StatusCode::OK, "{out}");
        let n = if i % 3 == 0 { 2 } else { 1 };
        assert_eq!(out.as_array().map(Vec::len), Some(n), "caller {i} gets its own {n} rows: {out}");
        for r in out.as_array().unwrap() {
            assert_close(&r["out"]["dense_1"], &[ccfraud_expected(row)], 1e-5);
        }
    }
}

#[tokio::test]
async fn a_deployed_pipeline_and_its_deployed_version_cannot_be_deleted() {
    let app = spawn_app().await;
    let t = app.tenant("alice@example.com").await;
    let (_, m) = app.ready_model(&t, "ccfraud", "tiny_ccfraud.onnx").await;
    app.create_pipeline(&t, "kept", json!([])).await;
    let dep = app.deploy_pipeline(&t, "kept", json!([model_step(&[&m])]), json!({})).await;
    let (_, versions) = app.post_json("/v1/api/pipelines/list_pipeline_versions", &t.token, json!({"pipeline_id": "kept", "workspace_id": t.ws})).await;
    let uuids: Vec<String> = versions["pipeline_versions"].as_array().unwrap().iter().map(|i| i["pipeline_version"]["version"].as_str().unwrap().to_string()).collect();
    assert_eq!(uuids.len(), 2);

    let (status, body) = app.post_json("/v1/api/pipelines/delete_pipeline", &t.token, json!({"pipeline_id": "kept", "workspace_id": t.ws})).await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert_error_body(status, &body);
    let (status, body) = app.post_json("/v1/api/pipelines/delete_pipeline_versions", &t.token, json!({"pipeline_versions": [uuids[1]]})).await;
    assert_eq!(status, StatusCode::CONFLICT, "the deployed version: {body}");
    let (status, body) = app.post_json("/v1/api/pipelines/delete_pipeline_versions", &t.token, json!({"pipeline_versions": [uuids[0]]})).await;
    assert_eq!(status, StatusCode::OK, "an older version: {body}");
    assert_eq!(body["pipeline_versions"], json!([uuids[0]]));
    let (status, _) = app.infer_json(&dep.url, &t.token, &one_row(), "").await;
    assert_eq!(status, StatusCode::OK);

    app.undeploy(&t.token, dep.id).await;
    let (status, body) = app.post_json("/v1/api/pipelines/delete_pipeline", &t.token, json!({"pipeline_id": "kept", "workspace_id": t.ws})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!((body["pipeline_id"].as_str(), body["workspace_id"].as_i64()), (Some("kept"), Some(t.ws)));
    let (status, _) = app.post_json("/v1/api/pipelines/get_pipeline_by_name", &t.token, json!({"pipeline_name": "kept", "workspace_id": t.ws})).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn deployments_come_back_after_a_restart_and_answer_inference() {
    let app = spawn_app().await;
    let t = app.tenant("alice@example.com").await;
    let (_, m) = app.ready_model(&t, "ccfraud", "tiny_ccfraud.onnx").await;
    let dep = app.deploy_pipeline(&t, "durable", json!([model_step(&[&m])]), json!({"engine": {"replicas": 2}})).await;
    let (_, before) = app.infer_json(&dep.url, &t.token, &one_row(), "dataset[]=out").await;
    let gone = app.deploy_pipeline(&t, "undeployed", json!([model_step(&[&m])]), json!({})).await;
    app.undeploy(&t.token, gone.id).await;

    let app = app.restart().await;
    let status = app.wait_running(&t.token, &dep.name_id).await;
    assert_eq!(status["engines"].as_array().unwrap().len(), 2, "the engine config is kept: {status}");
    let (code, after) = app.infer_json(&dep.url, &t.token, &one_row(), "dataset[]=out").await;
    assert_eq!(code, StatusCode::OK, "{after}");
    assert_eq!(after, before);
    assert_eq!(app.deployment_status(&t.token, &gone.name_id).await.0, StatusCode::NOT_FOUND, "undeployed stays undeployed");
}

#[tokio::test]
async fn deploying_a_new_version_swaps_it_in_without_failing_requests() {
    let app = spawn_app().await;
    let t = app.tenant("alice@example.com").await;
    let (_, a) = app.ready_model(&t, "model-a", "tiny_ccfraud.onnx").await;
    let (_, b) = app.ready_model(&t, "model-b", "tiny_ccfraud.onnx").await;
    let dep = app.deploy_pipeline(&t, "swapped", json!([model_step(&[&a])]), json!({})).await;
    let (_, v2_pk) = app.create_pipeline(&t, "swapped", json!([model_step(&[&b])])).await;
    let (_, got) = app.post_json("/v1/api/pipelines/get_pipeline_by_name", &t.token, json!({"pipeline_name": "swapped", "workspace_id": t.ws})).await;
    let v2 = got["pipeline_version"]["version"].as_str().unwrap().to_string();

    let stop = Arc::new(AtomicBool::new(false));
    let mut loops = Vec::new();
    for _ in 0..4 {
        let (client, url, token, stop) = (app.client.clone(), dep.url.clone(), t.token.clone(), stop.clone());
        loops.push(tokio::spawn(async move {
            let mut seen = Vec::new();
            while !stop.load(Ordering::Relaxed) {
                let resp = client.post(&url).bearer_auth(&token).json(&one_row()).send().await.expect("request");
                let status = resp.status();
                let body: Value = resp.json().await.unwrap_or(Value::Null);
                seen.push((status, body[0]["metadata"]["pipeline_version"].as_str().unwrap_or("").to_string()));
            }
            seen
        }));
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(app.deploy(&t.token, "swapped", v2_pk, json!({})).await, dep.id);
    let start = Instant::now();
    loop {
        let (code, out) = app.infer_json(&dep.url, &t.token, &one_row(), "").await;
        assert_eq!(code, StatusCode::OK, "{out}");
        if out[0]["metadata"]["pipeline_version"] == v2.as_str() {
            break;
        }
        assert!(start.elapsed() < Duration::from_secs(60), "v2 never served: {out}");
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    stop.store(true, Ordering::Relaxed);
    for l in loops {
        let seen = l.await.unwrap();
        assert!(seen.len() > 2, "{seen:?}");
        assert!(seen.iter().all(|(s, _)| *s == StatusCode::OK), "every request succeeds: {:?}", seen.iter().filter(|(s, _)| *s != StatusCode::OK).collect::<Vec<_>>());
        let first_v2 = seen.iter().position(|(_, v)| *v == v2).expect("v2 answered this loop");
        assert!(seen[first_v2..].iter().all(|(_, v)| *v == v2), "once v2 answers, v1 does not come back");
    }
    let (_, out) = app.infer_json(&dep.url, &t.token, &one_row(), "").await;
    assert!(out[0]["metadata"]["last_model"].as_str().unwrap().contains("model-b"), "{out}");
}

#[tokio::test]
async fn a_deploy_that_fails_leaves_the_pipeline_undeployed() {
    let app = spawn_app().await;
    let t = app.tenant("alice@example.com").await;
    let (_, m) = app.ready_model(&t, "ccfraud", "tiny_ccfraud.onnx").await;
    let dep = app.deploy_pipeline(&t, "orphaned", json!([model_step(&[&m])]), json!({})).await;
    app.undeploy(&t.token, dep.id).await;
    let (status, body) = app.post_json("/v1/api/models/delete_model_versions", &t.token, json!({"model_versions": [m["version"]]})).await;
    assert_eq!(status, StatusCode::OK, "not deployed any more: {body}");

    let (status, body) = app
        .post_json("/v1/api/pipelines/deploy", &t.token, json!({"deploy_id": "orphaned", "pipeline_version_pk_id": dep.version_pk, "engine_config": {}}))
        .await;
    assert!(status.is_client_error(), "its model is gone: {status} {body}");
    assert_error_body(status, &body);
    let (status, body) = app.deployment_status(&t.token, &dep.name_id).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "a failed deploy must not leave an active deployment: {body}");
    let (status, body) = app.post_json("/v1/api/pipelines/delete_pipeline", &t.token, json!({"pipeline_id": "orphaned", "workspace_id": t.ws})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

#[tokio::test]
async fn invalid_deploy_requests_are_rejected_without_deploying() {
    let app = spawn_app().await;
    let t = app.tenant("alice@example.com").await;
    let (_, m) = app.ready_model(&t, "ccfraud", "tiny_ccfraud.onnx").await;
    let (pipeline_id, version_pk) = app.create_pipeline(&t, "picky", json!([model_step(&[&m])])).await;
    let bob = app.tenant("bob@example.com").await;
    let cases = [
        (&t.token, json!({"deploy_id": "Not_DNS", "pipeline_version_pk_id": version_pk}), StatusCode::BAD_REQUEST),
        (&t.token, json!({"deploy_id": "picky", "pipeline_version_pk_id": version_pk, "engine_config": "big"}), StatusCode::BAD_REQUEST),
        (&t.token, json!({"deploy_id": "picky"}), StatusCode::BAD_REQUEST),
        (&t.token, json!({"deploy_id": "picky", "pipeline_version_pk_id": version_pk + 1000}), StatusCode::NOT_FOUND),
        (&bob.token, json!({"deploy_id": "picky", "pipeline_version_pk_id": version_pk}), StatusCode::NOT_FOUND),
        (&bob.token, json!({"deploy_id": "picky", "pipeline_id": pipeline_id}), StatusCode::NOT_FOUND),
    ];
    for (token, body, expected) in cases {
        let (status, resp) = app.post_json("/v1/api/pipelines/deploy", token, body.clone()).await;
        assert_eq!(status, expected, "{body}: {resp}");
        assert_error_body(status, &resp);
    }
    let (_, got) = app.post_json("/v1/api/pipelines/get_pipeline_by_name", &t.token, json!({"pipeline_name": "picky", "workspace_id": t.ws})).await;
    assert_eq!(got["deployment"], Value::Null, "nothing was deployed: {got}");

    let dep = app.deploy_pipeline(&t, "picky", json!([model_step(&[&m])]), json!({})).await;
    for body in [json!({"deployment_id": dep.id}), json!({"pipeline_id": dep.pipeline_id})] {
        let (status, resp) = app.post_json("/v1/api/pipelines/undeploy", &bob.token, body).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "another user's deployment: {resp}");
    }
    app.wait_running(&t.token, &dep.name_id).await;
    let (status, _) = app.post_json("/v1/api/pipelines/undeploy", &t.token, json!({"pipeline_id": dep.pipeline_id})).await;
    assert_eq!(status, StatusCode::OK, "undeploy by pipeline id");
    assert_eq!(app.deployment_status(&t.token, &dep.name_id).await.0, StatusCode::NOT_FOUND);
}

/// Without a batching config, concurrent callers of a batchable model (tiny_ccfraud has a free
/// batch dimension) are batched adaptively; each still gets exactly its own rows. The same holds
/// with auto batching off.
#[tokio::test]
async fn concurrent_callers_get_their_own_rows_with_auto_batching_on_and_off() {
    for auto in [true, false] {
        let app = spawn_app_with(|a| a.auto_batching = Some(auto)).await;
        let t = app.tenant("alice@example.com").await;
        let (_, m) = app.ready_model(&t, "ccfraud", "tiny_ccfraud.onnx").await;
        let dep = app.deploy_pipeline(&t, "auto", json!([model_step(&[&m])]), json!({})).await;
        let rows: Vec<Vec<f64>> = (0..40).map(|i| ccfraud_row(i as f64 / 9.0)).collect();
        let bodies: Vec<Value> = rows.iter().enumerate().map(|(i, r)| if i % 4 == 0 { json!([{"tensor": r}, {"tensor": ccfraud_row(0.5)}]) } else { json!([{"tensor": r}]) }).collect();
        let answers = futures::future::join_all(bodies.iter().map(|b| app.infer_json(&dep.url, &t.token, b, ""))).await;
        for (i, ((code, out), row)) in answers.iter().zip(&rows).enumerate() {
            assert_eq!(*code, StatusCode::OK, "{out}");
            let got = out.as_array().unwrap_or_else(|| panic!("rows: {out}"));
            assert_eq!(got.len(), if i % 4 == 0 { 2 } else { 1 }, "auto={auto}: caller {i} gets its own rows: {out}");
            assert_close(&got[0]["out"]["dense_1"], &[ccfraud_expected(row)], 1e-5);
            if got.len() == 2 {
                assert_close(&got[1]["out"]["dense_1"], &[ccfraud_expected(&ccfraud_row(0.5))], 1e-5);
            }
        }
    }
}
