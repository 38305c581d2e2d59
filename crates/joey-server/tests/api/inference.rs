//! Inference request and response formats: pandas-records JSON (nested or flattened, dataset
//! selection, metadata), Arrow IPC file and stream, the legacy Wallaroo JSON, multi-input models.

use std::collections::HashMap;
use std::sync::Arc;

use arrow::array::{Array, AsArray, Float32Array, ListArray};
use arrow::datatypes::{DataType, Field, Float32Type, Schema};
use arrow::record_batch::RecordBatch;
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::*;

const ARROW: &str = "application/vnd.apache.arrow.file";

/// A running deployment of tiny_ccfraud named `ccfraud`.
async fn ccfraud(app: &TestApp) -> (Tenant, Deployed) {
    let t = app.tenant("alice@example.com").await;
    let (_, m) = app.ready_model(&t, "ccfraud", "tiny_ccfraud.onnx").await;
    let dep = app.deploy_pipeline(&t, "ccfraud", json!([model_step(&[&m])]), json!({})).await;
    (t, dep)
}

fn keys(v: &Value) -> Vec<String> {
    let mut k: Vec<String> = v.as_object().unwrap_or_else(|| panic!("an object: {v}")).keys().cloned().collect();
    k.sort();
    k
}

#[tokio::test]
async fn a_single_row_as_tensor_or_dense_input_gets_what_the_model_computes() {
    let app = spawn_app().await;
    let (t, dep) = ccfraud(&app).await;
    let x = ccfraud_row(1.0);
    let (status, renamed) = app.infer_json(&dep.url, &t.token, &json!([{"tensor": x}]), "").await;
    assert_eq!(status, StatusCode::OK, "{renamed}");
    let (status, exact) = app.infer_json(&dep.url, &t.token, &json!([{"dense_input": x}]), "").await;
    assert_eq!(status, StatusCode::OK, "{exact}");
    for out in [&renamed, &exact] {
        assert_eq!(out.as_array().unwrap().len(), 1, "one output row per input row: {out}");
        let y = &out[0]["out"]["dense_1"];
        assert_eq!(y.as_array().map(Vec::len), Some(1), "a 1-element list: {y}");
        let v = y[0].as_f64().unwrap();
        assert!(0.0 < v && v < 1.0, "{v}");
        assert_close(y, &[ccfraud_expected(&x)], 1e-5);
    }
    assert_eq!(renamed[0]["out"], exact[0]["out"]);
    assert_close(&renamed[0]["in"]["tensor"], &x, 1e-9);
    assert_close(&exact[0]["in"]["dense_input"], &x, 1e-9);
}

#[tokio::test]
async fn responses_are_nested_by_default_and_flattened_with_a_separator() {
    let app = spawn_app().await;
    let (t, dep) = ccfraud(&app).await;
    let rows = json!([{"tensor": ccfraud_row(0.0)}, {"tensor": ccfraud_row(2.0)}]);
    let (status, nested) = app.infer_json(&dep.url, &t.token, &rows, "").await;
    assert_eq!(status, StatusCode::OK, "{nested}");
    assert_eq!(keys(&nested[0]), ["anomaly", "in", "metadata", "out", "time"]);
    assert_eq!(nested[0]["anomaly"], json!({"count": 0}));
    let (status, flat) = app.infer_json(&dep.url, &t.token, &rows, "dataset.separator=.").await;
    assert_eq!(status, StatusCode::OK, "{flat}");
    assert_eq!(
        keys(&flat[1]),
        ["anomaly.count", "in.tensor", "metadata.dropped", "metadata.elapsed", "metadata.last_model", "metadata.partition", "metadata.pipeline_version", "out.dense_1", "time"]
    );
    for r in 0..2 {
        assert_eq!(flat[r]["out.dense_1"], nested[r]["out"]["dense_1"]);
        assert_eq!(flat[r]["in.tensor"], nested[r]["in"]["tensor"]);
    }
}

#[tokio::test]
async fn metadata_is_present_by_default_and_excluded_on_request() {
    let app = spawn_app().await;
    let (t, dep) = ccfraud(&app).await;
    let row = json!([{"tensor": ccfraud_row(0.0)}]);
    let (_, with) = app.infer_json(&dep.url, &t.token, &row, "").await;
    let md = &with[0]["metadata"];
    assert_eq!(keys(md), ["dropped", "elapsed", "last_model", "partition", "pipeline_version"]);
    let last: Value = serde_json::from_str(md["last_model"].as_str().expect("last_model is a JSON string")).unwrap();
    assert_eq!(last["model_name"], "ccfraud");
    assert_eq!(last["model_sha"], sha256_hex(&fixture_bytes("tiny_ccfraud.onnx")).as_str());
    let (_, pipeline) = app.post_json("/v1/api/pipelines/get_pipeline_by_name", &t.token, json!({"pipeline_name": "ccfraud", "workspace_id": t.ws})).await;
    assert_eq!(md["pipeline_version"], pipeline["pipeline_version"]["version"]);
    assert_eq!(md["elapsed"].as_array().map(Vec::len), Some(2), "{md}");
    assert_eq!(md["dropped"], json!([]));

    let (status, without) = app.infer_json(&dep.url, &t.token, &row, "dataset[]=*&dataset.exclude[]=metadata&dataset.separator=.").await;
    assert_eq!(status, StatusCode::OK, "{without}");
    assert!(keys(&without[0]).iter().all(|k| !k.starts_with("metadata")), "{without}");
    assert!(without[0]["out.dense_1"].is_array(), "{without}");
}

#[tokio::test]
async fn dataset_selects_columns_and_time_is_shared_epoch_milliseconds() {
    let app = spawn_app().await;
    let (t, dep) = ccfraud(&app).await;
    let rows: Vec<Value> = (0..5).map(|i| json!({"tensor": ccfraud_row(i as f64)})).collect();
    let before = chrono::Utc::now().timestamp_millis();
    let (status, out) = app.infer_json(&dep.url, &t.token, &json!(rows), "dataset[]=time&dataset[]=out").await;
    let after = chrono::Utc::now().timestamp_millis();
    assert_eq!(status, StatusCode::OK, "{out}");
    let out = out.as_array().unwrap();
    assert_eq!(out.len(), 5);
    for (i, r) in out.iter().enumerate() {
        assert_eq!(keys(r), ["out", "time"]);
        assert_close(&r["out"]["dense_1"], &[ccfraud_expected(&ccfraud_row(i as f64))], 1e-5);
    }
    let time = out[0]["time"].as_i64().expect("integer time");
    assert!(out.iter().all(|r| r["time"] == time), "one time for every row of a request");
    assert!(before - 1000 <= time && time <= after + 1000, "epoch ms: {before} <= {time} <= {after}");

    let (_, only) = app.infer_json(&dep.url, &t.token, &json!(rows), "dataset[]=out.dense_1&dataset.separator=.").await;
    assert_eq!(keys(&only[0]), ["out.dense_1"]);
}

fn ccfraud_batch(rows: &[Vec<f64>], column: &str) -> RecordBatch {
    let list = ListArray::from_iter_primitive::<Float32Type, _, _>(rows.iter().map(|r| Some(r.iter().map(|v| Some(*v as f32)).collect::<Vec<_>>())));
    let meta = HashMap::from([("tensor_type".to_string(), r#"{"shape":[29]}"#.to_string())]);
    let field = Field::new(column, list.data_type().clone(), false).with_metadata(meta);
    RecordBatch::try_new(Arc::new(Schema::new(vec![field])), vec![Arc::new(list)]).unwrap()
}

fn arrow_file(batch: &RecordBatch) -> Vec<u8> {
    let mut buf = Vec::new();
    let mut w = arrow::ipc::writer::FileWriter::try_new(&mut buf, &batch.schema()).unwrap();
    w.write(batch).unwrap();
    w.finish().unwrap();
    drop(w);
    buf
}

fn arrow_stream(batch: &RecordBatch) -> Vec<u8> {
    let mut buf = Vec::new();
    let mut w = arrow::ipc::writer::StreamWriter::try_new(&mut buf, &batch.schema()).unwrap();
    w.write(batch).unwrap();
    w.finish().unwrap();
    drop(w);
    buf
}

fn read_arrow(bytes: &[u8]) -> RecordBatch {
    let reader = arrow::ipc::reader::FileReader::try_new(std::io::Cursor::new(bytes.to_vec()), None).expect("an Arrow IPC file");
    let batches: Vec<RecordBatch> = reader.map(|b| b.unwrap()).collect();
    arrow::compute::concat_batches(&batches[0].schema(), &batches).unwrap()
}

/// The `dense_1` values of an Arrow response's `out` struct.
fn arrow_outputs(batch: &RecordBatch) -> Vec<f64> {
    let out = batch.column_by_name("out").expect("an out column").as_struct();
    let dense = out.column_by_name("dense_1").expect("out.dense_1");
    let values = match dense.data_type() {
        DataType::List(_) => dense.as_list::<i32>().values().clone(),
        DataType::FixedSizeList(_, _) => dense.as_fixed_size_list().values().clone(),
        other => panic!("out.dense_1 should be a list, is {other}"),
    };
    let values = values.as_any().downcast_ref::<Float32Array>().expect("float32 outputs");
    values.values().iter().map(|v| *v as f64).collect()
}

#[tokio::test]
async fn an_arrow_file_request_gets_an_arrow_file_with_struct_columns_and_tensor_types() {
    let app = spawn_app().await;
    let (t, dep) = ccfraud(&app).await;
    let rows = vec![ccfraud_row(0.0), ccfraud_row(3.0), ccfraud_extreme_row(true)];
    let (status, ct, body) = app.infer_raw(&dep.url, Some(&t.token), Some(ARROW), Some(ARROW), arrow_file(&ccfraud_batch(&rows, "tensor")), "").await;
    assert_eq!(status, StatusCode::OK, "{}", String::from_utf8_lossy(&body));
    assert!(ct.starts_with(ARROW), "{ct}");
    let batch = read_arrow(&body);
    assert_eq!(batch.num_rows(), 3);
    let schema = batch.schema();
    for group in ["in", "out", "anomaly", "metadata"] {
        assert!(matches!(schema.field_with_name(group).expect(group).data_type(), DataType::Struct(_)), "{group} is a struct: {schema:?}");
    }
    assert_eq!(schema.field_with_name("time").unwrap().data_type(), &DataType::Int64);
    let DataType::Struct(out_fields) = schema.field_with_name("out").unwrap().data_type().clone() else { unreachable!() };
    let dense = out_fields.iter().find(|f| f.name() == "dense_1").expect("out.dense_1");
    assert_eq!(dense.metadata().get("tensor_type").map(String::as_str), Some(r#"{"shape":[1]}"#), "{dense:?}");
    let want: Vec<f64> = rows.iter().map(|r| ccfraud_expected(r)).collect();
    let got = arrow_outputs(&batch);
    assert!(got.iter().zip(&want).all(|(g, w)| (g - w).abs() < 1e-5), "{got:?} vs {want:?}");

    // Flattened Arrow: dotted top-level columns.
    let (status, _, body) = app.infer_raw(&dep.url, Some(&t.token), Some(ARROW), Some(ARROW), arrow_file(&ccfraud_batch(&rows, "tensor")), "dataset.separator=.").await;
    assert_eq!(status, StatusCode::OK);
    let flat = read_arrow(&body);
    for name in ["time", "in.tensor", "out.dense_1", "anomaly.count"] {
        assert!(flat.schema().field_with_name(name).is_ok(), "{name} in {:?}", flat.schema());
    }

    // Arrow in, JSON out: the formats are independent.
    let (status, ct, body) = app.infer_raw(&dep.url, Some(&t.token), Some(ARROW), None, arrow_file(&ccfraud_batch(&rows, "dense_input")), "").await;
    assert_eq!(status, StatusCode::OK);
    assert!(ct.starts_with("application/json"), "{ct}");
    let json: Value = serde_json::from_slice(&body).unwrap();
    assert_close(&json[2]["out"]["dense_1"], &want[2..], 1e-5);
}

#[tokio::test]
async fn an_arrow_stream_request_is_accepted() {
    let app = spawn_app().await;
    let (t, dep) = ccfraud(&app).await;
    let rows = vec![ccfraud_row(5.0), ccfraud_row(6.0)];
    let stream = arrow_stream(&ccfraud_batch(&rows, "tensor"));
    for ct in ["application/vnd.apache.arrow.stream", ARROW] {
        let (status, _, body) = app.infer_raw(&dep.url, Some(&t.token), Some(ct), Some(ARROW), stream.clone(), "").await;
        assert_eq!(status, StatusCode::OK, "{ct}: {}", String::from_utf8_lossy(&body));
        let got = arrow_outputs(&read_arrow(&body));
        let want: Vec<f64> = rows.iter().map(|r| ccfraud_expected(r)).collect();
        assert!(got.iter().zip(&want).all(|(g, w)| (g - w).abs() < 1e-5), "{got:?} vs {want:?}");
    }
    // fixed_size_list<float32>[29] columns are tensors too.
    let values = Float32Array::from(rows.iter().flatten().map(|v| *v as f32).collect::<Vec<_>>());
    let fixed = arrow::array::FixedSizeListArray::new(Arc::new(Field::new("item", DataType::Float32, true)), 29, Arc::new(values), None);
    let schema = Schema::new(vec![Field::new("dense_input", fixed.data_type().clone(), false)]);
    let batch = RecordBatch::try_new(Arc::new(schema), vec![Arc::new(fixed)]).unwrap();
    let (status, _, body) = app.infer_raw(&dep.url, Some(&t.token), Some(ARROW), Some(ARROW), arrow_file(&batch), "").await;
    assert_eq!(status, StatusCode::OK, "{}", String::from_utf8_lossy(&body));
    assert_eq!(arrow_outputs(&read_arrow(&body)).len(), 2);
}

#[tokio::test]
async fn wallaroo_json_takes_a_column_of_rows() {
    let app = spawn_app().await;
    let (t, dep) = ccfraud(&app).await;
    let rows = [ccfraud_row(0.25), ccfraud_row(0.75)];
    let body = json!({"tensor": rows}).to_string().into_bytes();
    let wallaroo = "application/json; format=wallaroo";
    let (status, ct, out) = app.infer_raw(&dep.url, Some(&t.token), Some(wallaroo), Some(wallaroo), body, "").await;
    assert_eq!(status, StatusCode::OK, "{}", String::from_utf8_lossy(&out));
    assert!(ct.starts_with("application/json"), "{ct}");
    let out: Value = serde_json::from_slice(&out).expect("JSON");
    assert_eq!(out.as_array().map(Vec::len), Some(2), "{out}");
    for (i, r) in rows.iter().enumerate() {
        assert_close(&out[i]["out"]["dense_1"], &[ccfraud_expected(r)], 1e-5);
    }
}

#[tokio::test]
async fn a_multi_input_model_takes_one_column_per_input() {
    let app = spawn_app().await;
    let t = app.tenant("alice@example.com").await;
    let (_, m) = app.ready_model(&t, "multi", "multi_io.onnx").await;
    let dep = app.deploy_pipeline(&t, "multi", json!([model_step(&[&m])]), json!({})).await;
    let a: Vec<f64> = (0..10).map(|i| i as f64 * 0.5 - 2.0).collect();
    let b: Vec<f64> = (0..5).map(|i| 1.0 - i as f64).collect();
    let (status, out) = app.infer_json(&dep.url, &t.token, &json!([{"input_1": a, "input_2": b}, {"input_1": b.repeat(2), "input_2": a[..5]}]), "").await;
    assert_eq!(status, StatusCode::OK, "{out}");
    assert_close(&out[0]["out"]["output_1"], &matmul_fixture(&a, 3), 1e-5);
    let plus_one: Vec<f64> = matmul_fixture(&b, 2).iter().map(|v| v + 1.0).collect();
    assert_close(&out[0]["out"]["output_2"], &plus_one, 1e-5);
    assert_close(&out[1]["out"]["output_1"], &matmul_fixture(&b.repeat(2), 3), 1e-5);
    let (status, body) = app.infer_json(&dep.url, &t.token, &json!([{"input_1": a}]), "").await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "input_2 is missing: {body}");
    assert!(body["error"].as_str().unwrap().contains("input_2"), "{body}");
}

fn metric_value(text: &str, name: &str) -> u64 {
    text.lines()
        .find_map(|l| l.strip_prefix(name).and_then(|v| v.strip_prefix(' ')))
        .unwrap_or_else(|| panic!("no {name} in:\n{text}"))
        .trim()
        .parse()
        .unwrap()
}

async fn metrics_text(app: &TestApp) -> String {
    let resp = reqwest::get(app.url("/metrics")).await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert!(resp.headers()["content-type"].to_str().unwrap().starts_with("text/plain"));
    resp.text().await.unwrap()
}

#[tokio::test]
async fn metrics_count_logged_and_shed_inference_records() {
    // A queue of 2 records: a burst of 3-row requests sheds whatever does not fit.
    let app = spawn_app_with(|a| {
        a.log_queue_capacity = Some(2);
        a.log_flush_interval_ms = Some(60_000);
    })
    .await;
    let before = metrics_text(&app).await;
    assert_eq!(metric_value(&before, "joey_log_rows_appended_total"), 0);
    let (t, dep) = ccfraud(&app).await;
    assert_eq!(metric_value(&metrics_text(&app).await, "joey_deployments{state=\"running\"}"), 1);
    let rows = json!([{"tensor": ccfraud_row(0.0)}, {"tensor": ccfraud_row(1.0)}, {"tensor": ccfraud_row(2.0)}]);
    for _ in 0..3 {
        let (status, body) = app.infer_json(&dep.url, &t.token, &rows, "").await;
        assert_eq!(status, StatusCode::OK, "{body}");
    }
    let text = metrics_text(&app).await;
    let appended = metric_value(&text, "joey_log_rows_appended_total");
    let dropped = metric_value(&text, "joey_log_rows_dropped_total");
    assert_eq!(appended + dropped, 9, "{text}");
    assert!(dropped >= 6, "a 2-record queue keeps at most one 3-row request until the flush: {text}");
    assert!(!text.contains(&t.token), "no secrets in metrics");
}
