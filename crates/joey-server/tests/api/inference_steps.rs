//! Pipeline steps at inference time: chains with `tensor_fields`, A/B random splits (weighted and
//! sticky), key splits, shadow deploys, and Check validations.

use std::collections::HashMap;

use futures::StreamExt;
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::*;

/// The model that served a row of a split step, from `out._model_split`.
fn split_model(row: &Value) -> String {
    let split = row["out"]["_model_split"].as_array().unwrap_or_else(|| panic!("out._model_split is a list: {row}"));
    assert_eq!(split.len(), 1, "{row}");
    let desc: Value = serde_json::from_str(split[0].as_str().expect("a JSON string")).expect("JSON");
    desc["name"].as_str().expect("name").to_string()
}

/// Two ready copies of tiny_ccfraud named `control` and `challenger`.
async fn two_models(app: &TestApp, t: &Tenant) -> (Value, Value) {
    let (_, a) = app.ready_model(t, "control", "tiny_ccfraud.onnx").await;
    let (_, b) = app.ready_model(t, "challenger", "tiny_ccfraud.onnx").await;
    (a, b)
}

#[tokio::test]
async fn a_two_step_chain_maps_columns_with_tensor_fields() {
    let app = spawn_app().await;
    let t = app.tenant("alice@example.com").await;
    let (embed_id, embed) = app.ready_model(&t, "embedder", "step1.onnx").await;
    let (classify_id, classify) = app.ready_model(&t, "classifier", "step2.onnx").await;
    app.set_tensor_fields(&t.token, embed_id, &["tensor"]).await;
    app.set_tensor_fields(&t.token, classify_id, &["flatten_1"]).await;
    let dep = app.deploy_pipeline(&t, "chain", json!([model_step(&[&embed]), model_step(&[&classify])]), json!({})).await;
    let x = vec![1.0, -2.0, 0.5, 3.0];
    let (status, out) = app.infer_json(&dep.url, &t.token, &json!([{"tensor": x}]), "").await;
    assert_eq!(status, StatusCode::OK, "{out}");
    let hidden: Vec<f64> = matmul_fixture(&x, 8).into_iter().map(|v| v.max(0.0)).collect();
    let logit = matmul_fixture(&hidden, 1)[0];
    assert_close(&out[0]["out"]["dense_1"], &[1.0 / (1.0 + (-logit).exp())], 1e-5);
    assert_eq!(keys_of(&out[0]["out"]), ["dense_1"], "the last step's outputs only");
    assert!(out[0]["metadata"]["last_model"].as_str().unwrap().contains("classifier"), "{out}");
}

fn keys_of(v: &Value) -> Vec<&str> {
    v.as_object().map(|o| o.keys().map(String::as_str).collect()).unwrap_or_default()
}

#[tokio::test]
async fn a_two_to_one_random_split_serves_about_two_thirds_from_the_first_model() {
    let app = spawn_app().await;
    let t = app.tenant("alice@example.com").await;
    let (a, b) = two_models(&app, &t).await;
    let step = json!({"RandomSplit": {"hash_key": null, "weights": [{"model": a, "weight": 2}, {"model": b, "weight": 1}]}});
    let dep = app.deploy_pipeline(&t, "ab-test", json!([step]), json!({})).await;
    let body = json!([{"tensor": ccfraud_row(0.0)}]);
    let (app, t, dep, body) = (&app, &t, &dep, &body);
    let served: Vec<String> = futures::stream::iter(0..1000)
        .map(|_| async move {
            let (status, out) = app.infer_json(&dep.url, &t.token, body, "").await;
            assert_eq!(status, StatusCode::OK, "{out}");
            assert_close(&out[0]["out"]["dense_1"], &[ccfraud_expected(&ccfraud_row(0.0))], 1e-5);
            let name = split_model(&out[0]);
            assert!(out[0]["metadata"]["last_model"].as_str().unwrap().contains(&format!("\"{name}\"")), "last_model is the chosen model: {out}");
            name
        })
        .buffer_unordered(8)
        .collect()
        .await;
    let share = served.iter().filter(|n| *n == "control").count() as f64 / 1000.0;
    assert!((0.62..=0.71).contains(&share), "control served {share} of the requests (expected about 2/3)");
    assert!(served.iter().all(|n| n == "control" || n == "challenger"));
}

#[tokio::test]
async fn a_hash_key_makes_the_split_sticky_per_value() {
    let app = spawn_app().await;
    let t = app.tenant("alice@example.com").await;
    let (a, b) = two_models(&app, &t).await;
    let step = json!({"RandomSplit": {"hash_key": "session", "weights": [{"model": a, "weight": 1}, {"model": b, "weight": 1}]}});
    let dep = app.deploy_pipeline(&t, "sticky", json!([step]), json!({})).await;
    let mut chosen: HashMap<String, String> = HashMap::new();
    for round in 0..3 {
        for s in 0..40 {
            let session = format!("session-{s}");
            let (status, out) = app.infer_json(&dep.url, &t.token, &json!([{"dense_input": ccfraud_row(round as f64), "session": session}]), "").await;
            assert_eq!(status, StatusCode::OK, "{out}");
            let model = split_model(&out[0]);
            let first = chosen.entry(session.clone()).or_insert_with(|| model.clone());
            assert_eq!(*first, model, "{session} always goes to the same model");
        }
    }
    let to_control = chosen.values().filter(|m| *m == "control").count();
    assert!((5..=35).contains(&to_control), "different values spread over both models: {to_control}/40 to control");
    // A number in [0, 1) is the draw itself: below 1/2 the first model, above it the second.
    for (draw, expected) in [(0.1, "control"), (0.49, "control"), (0.51, "challenger"), (0.9, "challenger")] {
        let (status, out) = app.infer_json(&dep.url, &t.token, &json!([{"dense_input": ccfraud_row(0.0), "session": draw}]), "").await;
        assert_eq!(status, StatusCode::OK, "{out}");
        assert_eq!(split_model(&out[0]), expected, "session {draw}");
    }
}

#[tokio::test]
async fn an_nth_step_keeps_the_chosen_models_output() {
    let app = spawn_app().await;
    let t = app.tenant("alice@example.com").await;
    let (a, b) = two_models(&app, &t).await;
    let dep = app.deploy_pipeline(&t, "nth", json!([model_step(&[&a, &b]), {"Nth": {"index": 1}}]), json!({})).await;
    let (status, out) = app.infer_json(&dep.url, &t.token, &json!([{"tensor": ccfraud_row(0.0)}]), "").await;
    assert_eq!(status, StatusCode::OK, "{out}");
    assert!(out[0]["metadata"]["last_model"].as_str().unwrap().contains("\"challenger\""), "{out}");
    assert_close(&out[0]["out"]["dense_1"], &[ccfraud_expected(&ccfraud_row(0.0))], 1e-5);
}

#[tokio::test]
async fn a_meta_value_split_routes_by_value_and_falls_back_to_control() {
    let app = spawn_app().await;
    let t = app.tenant("alice@example.com").await;
    let (a, b) = two_models(&app, &t).await;
    let step = json!({"MetaValueSplit": {"split_key": "tier", "control": a, "routes": {"gold": b}}});
    let dep = app.deploy_pipeline(&t, "keyed", json!([step]), json!({})).await;
    for (tier, expected) in [("gold", "challenger"), ("silver", "control"), ("gold", "challenger"), ("", "control")] {
        let (status, out) = app.infer_json(&dep.url, &t.token, &json!([{"dense_input": ccfraud_row(1.0), "tier": tier}]), "").await;
        assert_eq!(status, StatusCode::OK, "{out}");
        assert_eq!(split_model(&out[0]), expected, "tier {tier:?}: {out}");
        assert_eq!(out[0]["in"]["tier"], tier, "extra columns are echoed");
    }
    let (status, out) = app.infer_json(&dep.url, &t.token, &json!([{"dense_input": ccfraud_row(1.0)}]), "").await;
    assert_eq!(status, StatusCode::OK, "no split key at all: {out}");
    assert_eq!(split_model(&out[0]), "control");
}

#[tokio::test]
async fn a_shadow_deploy_returns_champion_and_challenger_outputs() {
    let app = spawn_app().await;
    let t = app.tenant("alice@example.com").await;
    let (a, b) = two_models(&app, &t).await;
    let steps = json!([model_step(&[&a, &b]), {"AuditResults": {"from": 1, "to": null}}, {"MultiOut": {}}]);
    let dep = app.deploy_pipeline(&t, "shadowed", steps, json!({})).await;
    let x = ccfraud_row(2.0);
    let (status, out) = app.infer_json(&dep.url, &t.token, &json!([{"tensor": x}]), "").await;
    assert_eq!(status, StatusCode::OK, "{out}");
    assert_close(&out[0]["out"]["dense_1"], &[ccfraud_expected(&x)], 1e-5);
    assert_close(&out[0]["out_challenger"]["dense_1"], &[ccfraud_expected(&x)], 1e-5);
    assert!(out[0]["metadata"]["last_model"].as_str().unwrap().contains("\"control\""), "the champion answers: {out}");
    let (_, flat) = app.infer_json(&dep.url, &t.token, &json!([{"tensor": x}]), "dataset[]=out_&dataset.separator=.").await;
    let mut k = keys_of(&flat[0]);
    k.sort();
    assert_eq!(k, ["out_challenger.dense_1"], "`out_` selects the shadow outputs: {flat}");
}

#[tokio::test]
async fn a_failing_challenger_does_not_fail_the_request() {
    let app = spawn_app().await;
    let t = app.tenant("alice@example.com").await;
    let (_, champion) = app.ready_model(&t, "champion", "tiny_ccfraud.onnx").await;
    let (_, misfit) = app.ready_model(&t, "misfit", "multi_io.onnx").await;
    let steps = json!([model_step(&[&champion, &misfit]), {"AuditResults": {"from": 1, "to": null}}, {"MultiOut": {}}]);
    let dep = app.deploy_pipeline(&t, "shadow-fail", steps, json!({})).await;
    let x = ccfraud_row(4.0);
    let (status, out) = app.infer_json(&dep.url, &t.token, &json!([{"tensor": x}]), "").await;
    assert_eq!(status, StatusCode::OK, "the champion still answers: {out}");
    assert_close(&out[0]["out"]["dense_1"], &[ccfraud_expected(&x)], 1e-5);
    assert!(out[0].get("out_misfit").is_none(), "no output for the failed challenger: {out}");
}

const TOO_HIGH: &str = r#"{"Alias":[{"BinaryExpr":{"left":{"Function":{"input":[{"Column":"out.dense_1"},{"Literal":{"Int32":0}}],"function":{"ListExpr":"Get"},"options":{"collect_groups":"ApplyFlat","fmt_str":"","input_wildcard_expansion":false,"auto_explode":true,"cast_to_supertypes":false,"allow_rename":false,"pass_name_to_apply":false,"changes_length":false,"check_lengths":true,"allow_group_aware":true}}},"op":"Gt","right":{"Literal":{"Float64":0.5}}}},"too_high"]}"#;
const ALWAYS: &str = r#"{"Alias":[{"Literal":{"Boolean":true}},"always"]}"#;

#[tokio::test]
async fn check_steps_count_and_flag_anomalies_per_row() {
    let app = spawn_app().await;
    let t = app.tenant("alice@example.com").await;
    let (_, m) = app.ready_model(&t, "ccfraud", "tiny_ccfraud.onnx").await;
    let dep = app.deploy_pipeline(&t, "checked", json!([model_step(&[&m]), {"Check": {"tree": [TOO_HIGH, ALWAYS]}}]), json!({})).await;
    let rows = json!([{"tensor": ccfraud_extreme_row(true)}, {"tensor": ccfraud_extreme_row(false)}]);
    let (status, out) = app.infer_json(&dep.url, &t.token, &rows, "").await;
    assert_eq!(status, StatusCode::OK, "{out}");
    assert_eq!(out[0]["anomaly"], json!({"count": 2, "too_high": true, "always": true}), "{out}");
    assert_eq!(out[1]["anomaly"], json!({"count": 1, "too_high": false, "always": true}), "{out}");
    let (_, flat) = app.infer_json(&dep.url, &t.token, &rows, "dataset.exclude[]=anomaly&dataset[]=out&dataset[]=anomaly.count&dataset.separator=.").await;
    let mut k = keys_of(&flat[0]);
    k.sort();
    assert_eq!(k, ["anomaly.count", "out.dense_1"], "a more specific include wins over the exclude: {flat}");
}
