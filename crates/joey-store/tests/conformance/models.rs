use joey_core::model::{ModelConfig, ModelStatus, Signature, TensorInfo};
use joey_core::ports::{ModelStore, PipelineStore, WorkspaceStore};
use joey_core::Error;
use joey_store::SqlStore;
use serde_json::json;

use crate::support::{config, new_version, user_and_workspace};

const ALL_STATUSES: [ModelStatus; 7] = [
    ModelStatus::Uploading,
    ModelStatus::PendingLoadNative,
    ModelStatus::PendingLoadContainer,
    ModelStatus::AttemptingLoadNative,
    ModelStatus::AttemptingLoadContainer,
    ModelStatus::Ready,
    ModelStatus::Error,
];

fn full_config(model_version_id: i64) -> ModelConfig {
    ModelConfig {
        id: 0,
        model_version_id,
        runtime: "flight".into(),
        tensor_fields: Some(vec!["tensor".into(), "second field".into()]),
        filter_threshold: Some(0.125),
        input_schema: Some("/////7AAAAAQAAAAAAAKAAwABgAFAAgACgAAAAABBAAMAAAACAAIAAAABAAIAAAABAAAAAEAAAAE".into()),
        output_schema: Some("/////8AAAAAQAAAA".into()),
        batch_config: Some("single".into()),
        dynamic_batching: Some(json!({"max_batch_delay_ms": 10, "batch_size_target": 4, "batch_size_limit": null})),
        continuous_batching: Some(json!({"max_concurrent_batch_size": 8})),
        openai: Some(json!({"enabled": true, "chat_completion_config": {"temperature": 0.5, "stop": ["\n", "é"]}})),
    }
}

fn signature() -> Signature {
    Signature {
        inputs: vec![TensorInfo { name: "tensor".into(), dtype: "float32".into(), shape: vec![None, Some(29)] }],
        outputs: vec![
            TensorInfo { name: "out".into(), dtype: "float32".into(), shape: vec![None, Some(1)] },
            TensorInfo { name: "label".into(), dtype: "string".into(), shape: vec![] },
        ],
    }
}

pub async fn create_model_version_makes_the_model_then_adds_versions(s: &SqlStore) {
    let (owner, ws) = user_and_workspace(s, "models-a").await;
    let mut first = new_version(ws, "ccfraud", "sha-one", &owner);
    first.config = ModelConfig { tensor_fields: Some(vec!["tensor".into()]), filter_threshold: Some(0.5), ..config("onnx") };
    let (v1, c1) = s.create_model_version(first.clone(), 1_000).await.unwrap();
    assert!(v1.id > 0);
    assert_eq!(v1.version, first.version);
    assert_eq!(v1.name, "ccfraud");
    assert_eq!(v1.workspace_id, ws);
    assert_eq!(v1.sha, "sha-one");
    assert_eq!(v1.file_name, "ccfraud.onnx");
    assert_eq!(v1.size, first.size);
    assert_eq!(v1.status, ModelStatus::Uploading);
    assert_eq!(v1.visibility, "private");
    assert_eq!(v1.conversion, first.conversion);
    assert_eq!(v1.framework(), "onnx");
    assert_eq!(v1.error_summary, None);
    assert_eq!(v1.signature, None);
    assert_eq!(v1.created_by, "uploader@x.io");
    assert_eq!(v1.created_at_ms, 1_000);
    assert!(!v1.deployed);
    assert!(c1.id > 0);
    assert_eq!(c1, ModelConfig { id: c1.id, model_version_id: v1.id, ..first.config.clone() }, "the first config is stored for the new version");
    assert_eq!(s.latest_config(v1.id).await.unwrap(), Some(c1.clone()));

    let m = s.get_model(v1.model_id).await.unwrap().unwrap();
    assert_eq!((m.name.as_str(), m.workspace_id, m.owner_id.as_str()), ("ccfraud", ws, owner.as_str()));
    assert_eq!((m.created_at_ms, m.updated_at_ms), (1_000, 1_000));

    // A second upload of the same name adds a version to the same model.
    let mut second = new_version(ws, "ccfraud", "sha-two", "someone-else");
    second.status = ModelStatus::PendingLoadContainer;
    second.conversion = json!({"framework": "sklearn", "arch": "x86", "accel": "none"});
    let (v2, c2) = s.create_model_version(second.clone(), 2_000).await.unwrap();
    assert_eq!(v2.model_id, v1.model_id);
    assert_ne!(v2.id, v1.id);
    assert_ne!(v2.version, v1.version);
    assert_ne!(c2.id, c1.id);
    assert_eq!(c2.model_version_id, v2.id);
    assert_eq!(v2.status, ModelStatus::PendingLoadContainer);
    assert_eq!(v2.framework(), "sklearn");
    let m2 = s.get_model(v1.model_id).await.unwrap().unwrap();
    assert_eq!(m2.owner_id, owner, "the model keeps its first owner");
    assert_eq!((m2.created_at_ms, m2.updated_at_ms), (1_000, 2_000));
    assert_eq!(s.latest_config(v1.id).await.unwrap(), Some(c1), "each version has its own config");

    // Another name, or the same name in another workspace, is another model.
    let (v3, _) = s.create_model_version(new_version(ws, "other", "sha-one", &owner), 3_000).await.unwrap();
    assert_ne!(v3.model_id, v1.model_id);
    let (_, ws2) = user_and_workspace(s, "models-b").await;
    let (v4, _) = s.create_model_version(new_version(ws2, "ccfraud", "sha-one", &owner), 4_000).await.unwrap();
    assert_ne!(v4.model_id, v1.model_id);
    assert_eq!(v4.workspace_id, ws2);

    // A reused version UUID conflicts and leaves nothing behind (not even a new model).
    let mut dup = new_version(ws, "brand-new", "sha-x", &owner);
    dup.version = v1.version.clone();
    let err = s.create_model_version(dup, 5_000).await.unwrap_err();
    assert!(matches!(err, Error::Conflict(_)), "{err:?}");
    assert!(s.find_model(ws, "brand-new").await.unwrap().is_none(), "the failed upload created no model");
    assert_eq!(s.model_with_versions(v1.model_id).await.unwrap().unwrap().versions.len(), 2);
}

pub async fn models_and_versions_are_found_by_id_and_uuid(s: &SqlStore) {
    let (owner, ws) = user_and_workspace(s, "models-find").await;
    let (_, other_ws) = user_and_workspace(s, "models-find-other").await;
    let (v, _) = s.create_model_version(new_version(ws, "finder", "sha-f", &owner), 10).await.unwrap();
    let m = s.get_model(v.model_id).await.unwrap().unwrap();
    assert_eq!(m.id, v.model_id);
    assert_eq!(s.find_model(ws, "finder").await.unwrap(), Some(m.clone()));
    assert_eq!(s.find_model(other_ws, "finder").await.unwrap(), None, "names are per workspace");
    assert_eq!(s.find_model(ws, "FINDER").await.unwrap(), None);
    assert_eq!(s.get_model(m.id + 1000).await.unwrap(), None);
    assert_eq!(s.get_model_version(v.id).await.unwrap(), Some(v.clone()));
    assert_eq!(s.find_model_version(&v.version).await.unwrap(), Some(v.clone()));
    assert_eq!(s.get_model_version(v.id + 1000).await.unwrap(), None);
    assert_eq!(s.find_model_version(&uuid::Uuid::new_v4().to_string()).await.unwrap(), None);
}

pub async fn model_listings_return_versions_oldest_first_with_latest_config(s: &SqlStore) {
    let (owner, ws) = user_and_workspace(s, "models-list").await;
    let (_, other_ws) = user_and_workspace(s, "models-list-other").await;
    let (_, empty_ws) = user_and_workspace(s, "models-list-empty").await;
    let (a1, ca1) = s.create_model_version(new_version(ws, "a", "sha-a1", &owner), 1).await.unwrap();
    let (b1, cb1) = s.create_model_version(new_version(ws, "b", "sha-b1", &owner), 2).await.unwrap();
    let (a2, ca2) = s.create_model_version(new_version(ws, "a", "sha-a2", &owner), 3).await.unwrap();
    let (a3, _) = s.create_model_version(new_version(ws, "a", "sha-a3", &owner), 4).await.unwrap();
    s.create_model_version(new_version(other_ws, "c", "sha-c1", &owner), 5).await.unwrap();
    let ca3 = s.insert_config(&ModelConfig { batch_config: Some("single".into()), ..config("flight") }.with_version(a3.id), 6).await.unwrap();

    let listed = s.list_models(ws).await.unwrap();
    let names: Vec<&str> = listed.iter().map(|m| m.model.name.as_str()).collect();
    assert_eq!(names, ["a", "b"], "models in id order, only this workspace's");
    assert_eq!(listed[0].model, s.get_model(a1.model_id).await.unwrap().unwrap());
    assert_eq!(listed[0].versions, vec![(a1.clone(), ca1.clone()), (a2.clone(), ca2.clone()), (a3.clone(), ca3.clone())]);
    assert_eq!(listed[1].versions, vec![(b1.clone(), cb1)]);

    let one = s.model_with_versions(a1.model_id).await.unwrap().unwrap();
    assert_eq!(one.model, listed[0].model);
    assert_eq!(one.versions, listed[0].versions);
    assert!(s.model_with_versions(a1.model_id + 1000).await.unwrap().is_none());
    assert!(s.list_models(empty_ws).await.unwrap().is_empty());

    // A new config of an old version shows up in both listings.
    let ca1b = s.insert_config(&ModelConfig { filter_threshold: Some(0.9), ..ca1.clone() }, 7).await.unwrap();
    let again = s.model_with_versions(a1.model_id).await.unwrap().unwrap();
    assert_eq!(again.versions[0], (a1.clone(), ca1b.clone()));
    assert_eq!(again.versions[1].1, ca2);
    assert_eq!(s.list_models(ws).await.unwrap()[0].versions[0].1, ca1b);
}

trait WithVersion {
    fn with_version(self, id: i64) -> Self;
}

impl WithVersion for ModelConfig {
    fn with_version(self, id: i64) -> Self {
        ModelConfig { model_version_id: id, ..self }
    }
}

pub async fn model_status_error_and_signature_are_stored(s: &SqlStore) {
    let (owner, ws) = user_and_workspace(s, "models-status").await;
    let (v, _) = s.create_model_version(new_version(ws, "st", "sha-st", &owner), 1).await.unwrap();
    let (other, _) = s.create_model_version(new_version(ws, "st", "sha-st2", &owner), 2).await.unwrap();
    for status in ALL_STATUSES {
        s.set_model_status(v.id, status, None, None).await.unwrap();
        assert_eq!(s.get_model_version(v.id).await.unwrap().unwrap().status, status, "{status:?} round-trips");
    }

    s.set_model_status(v.id, ModelStatus::Ready, None, Some(&signature())).await.unwrap();
    let got = s.get_model_version(v.id).await.unwrap().unwrap();
    assert_eq!(got.status, ModelStatus::Ready);
    assert_eq!(got.signature, Some(signature()));
    assert_eq!(got.error_summary, None);

    s.set_model_status(v.id, ModelStatus::Error, Some("could not load: bad opset ✗"), None).await.unwrap();
    let got = s.get_model_version(v.id).await.unwrap().unwrap();
    assert_eq!(got.status, ModelStatus::Error);
    assert_eq!(got.error_summary.as_deref(), Some("could not load: bad opset ✗"));
    assert_eq!(got.signature, Some(signature()), "None keeps the stored signature");

    let empty = Signature::default();
    s.set_model_status(v.id, ModelStatus::Ready, None, Some(&empty)).await.unwrap();
    let got = s.get_model_version(v.id).await.unwrap().unwrap();
    assert_eq!(got.error_summary, None, "a later status without an error clears the summary");
    assert_eq!(got.signature, Some(empty), "a new signature replaces the old one");
    assert_eq!(s.find_model_version(&v.version).await.unwrap(), Some(got));

    let untouched = s.get_model_version(other.id).await.unwrap().unwrap();
    assert_eq!(untouched, other, "other versions are not touched");
    // An unknown id is a no-op, not an error.
    s.set_model_status(other.id + 1000, ModelStatus::Ready, None, None).await.unwrap();
}

pub async fn configs_round_trip_and_the_latest_wins(s: &SqlStore) {
    let (owner, ws) = user_and_workspace(s, "models-config").await;
    let mut nv = new_version(ws, "cfg", "sha-cfg", &owner);
    nv.config = full_config(0);
    let (v, c1) = s.create_model_version(nv, 1).await.unwrap();
    assert_eq!(c1, ModelConfig { id: c1.id, ..full_config(v.id) }, "every field of the first config round-trips");
    assert_eq!(s.get_config(c1.id).await.unwrap(), Some(c1.clone()));
    assert_eq!(s.latest_config(v.id).await.unwrap(), Some(c1.clone()));

    let (w, cw) = s.create_model_version(new_version(ws, "cfg", "sha-cfg2", &owner), 2).await.unwrap();
    let bare = config("onnx").with_version(v.id);
    let c2 = s.insert_config(&bare, 3).await.unwrap();
    assert!(c2.id > c1.id && c2.id > cw.id, "new ids: {c2:?}");
    assert_eq!(c2, ModelConfig { id: c2.id, ..bare.clone() });
    assert_eq!(s.get_config(c2.id).await.unwrap(), Some(c2.clone()), "all-None fields round-trip");
    assert_eq!(s.latest_config(v.id).await.unwrap(), Some(c2.clone()), "the newest config wins");
    assert_eq!(s.get_config(c1.id).await.unwrap(), Some(c1.clone()), "older configs stay readable (deployments pin them)");
    assert_eq!(s.latest_config(w.id).await.unwrap(), Some(cw.clone()), "another version's config is unaffected");

    let mut c3 = full_config(v.id);
    c3.tensor_fields = Some(Vec::new());
    c3.dynamic_batching = Some(json!([1, "two", {"three": [3.5]}]));
    c3.continuous_batching = Some(json!(null));
    c3.openai = Some(json!("just a string"));
    let c3 = s.insert_config(&c3, 4).await.unwrap();
    let back = s.get_config(c3.id).await.unwrap().unwrap();
    assert_eq!(back.tensor_fields, Some(Vec::new()), "an empty tensor_fields list is not None");
    assert_eq!(back.dynamic_batching, c3.dynamic_batching);
    assert_eq!(back.openai, c3.openai);
    assert_eq!(s.latest_config(v.id).await.unwrap().unwrap().id, c3.id);

    assert_eq!(s.get_config(c3.id + 1000).await.unwrap(), None);
    assert_eq!(s.latest_config(w.id + 1000).await.unwrap(), None);
    let err = s.insert_config(&config("onnx").with_version(w.id + 1000), 5).await.unwrap_err();
    assert!(matches!(err, Error::InvalidInput(_)), "a config for an unknown version: {err:?}");
}

pub async fn filter_threshold_alternates_between_some_and_none(s: &SqlStore) {
    let (owner, ws) = user_and_workspace(s, "models-threshold").await;
    // The first statement of each kind binds NULL, the next ones numbers and NULLs in turn.
    let thresholds = [None, Some(0.5), None, Some(1.0), Some(0.0), None, None, Some(-2.25), Some(1e-9), None, Some(42.0)];
    let mut versions = Vec::new();
    for (i, t) in thresholds.iter().enumerate() {
        let mut nv = new_version(ws, "thr", &format!("sha-thr-{i}"), &owner);
        nv.config = ModelConfig { filter_threshold: *t, tensor_fields: t.map(|_| vec!["x".into()]), ..config("onnx") };
        let (v, c) = s.create_model_version(nv, i as i64).await.unwrap_or_else(|e| panic!("create with threshold #{i} {t:?}: {e:?}"));
        assert_eq!(c.filter_threshold, *t);
        assert_eq!(s.latest_config(v.id).await.unwrap().unwrap().filter_threshold, *t, "create #{i}");
        versions.push(v);
    }
    let v = &versions[0];
    for round in 0..2 {
        for (i, t) in thresholds.iter().enumerate() {
            let cfg = ModelConfig { filter_threshold: *t, ..config("onnx").with_version(v.id) };
            let c = s.insert_config(&cfg, 100 + i as i64).await.unwrap_or_else(|e| panic!("round {round} insert #{i} {t:?}: {e:?}"));
            assert_eq!(c.filter_threshold, *t);
            assert_eq!(s.get_config(c.id).await.unwrap().unwrap().filter_threshold, *t, "round {round} get #{i}");
            assert_eq!(s.latest_config(v.id).await.unwrap().unwrap().filter_threshold, *t, "round {round} latest #{i}");
        }
    }
    let listed = s.model_with_versions(v.model_id).await.unwrap().unwrap();
    let got: Vec<Option<f64>> = listed.versions[1..].iter().map(|(_, c)| c.filter_threshold).collect();
    assert_eq!(got, thresholds[1..].to_vec());
}

pub async fn upload_log_lines_come_back_in_order(s: &SqlStore) {
    let (owner, ws) = user_and_workspace(s, "models-log").await;
    let (a, _) = s.create_model_version(new_version(ws, "log", "sha-la", &owner), 1).await.unwrap();
    let (b, _) = s.create_model_version(new_version(ws, "log", "sha-lb", &owner), 2).await.unwrap();
    assert!(s.upload_log(a.id).await.unwrap().is_empty());
    let lines_a = ["converting model", "", "step 2 ✓ — done", "same time"];
    for (i, line) in lines_a.iter().enumerate() {
        s.append_upload_log(a.id, line, 10).await.unwrap();
        s.append_upload_log(b.id, &format!("b{i}"), 5).await.unwrap();
    }
    s.append_upload_log(a.id, "same time", 10).await.unwrap();
    let mut expected: Vec<String> = lines_a.iter().map(|l| l.to_string()).collect();
    expected.push("same time".into());
    assert_eq!(s.upload_log(a.id).await.unwrap(), expected, "insertion order, duplicates kept");
    assert_eq!(s.upload_log(b.id).await.unwrap(), ["b0", "b1", "b2", "b3"]);
    assert!(s.upload_log(b.id + 1000).await.unwrap().is_empty());
}

pub async fn deleting_versions_frees_only_unreferenced_shas_and_empty_models(s: &SqlStore) {
    let (owner, ws) = user_and_workspace(s, "models-delete").await;
    let mut nv = new_version(ws, "a", "sha-shared", &owner);
    nv.size = 10;
    let (a1, ca1) = s.create_model_version(nv, 1).await.unwrap();
    let mut nv = new_version(ws, "a", "sha-a-only", &owner);
    nv.size = 20;
    let (a2, _) = s.create_model_version(nv, 2).await.unwrap();
    let mut nv = new_version(ws, "b", "sha-shared", &owner);
    nv.size = 10;
    let (b1, _) = s.create_model_version(nv, 3).await.unwrap();
    s.append_upload_log(a1.id, "line", 4).await.unwrap();

    assert!(s.delete_model_versions(&[]).await.unwrap().orphaned.is_empty());

    let freed = s.delete_model_versions(&[a1.id]).await.unwrap();
    assert!(freed.orphaned.is_empty(), "another model still uses the bytes: {freed:?}");
    assert!(s.get_model_version(a1.id).await.unwrap().is_none());
    assert!(s.find_model_version(&a1.version).await.unwrap().is_none());
    assert!(s.get_config(ca1.id).await.unwrap().is_none(), "configs go with the version");
    assert!(s.upload_log(a1.id).await.unwrap().is_empty(), "logs go with the version");
    assert!(s.sha_referenced("sha-shared").await.unwrap());
    let a = s.model_with_versions(a1.model_id).await.unwrap().expect("model a still has a version");
    assert_eq!(a.versions.iter().map(|(v, _)| v.id).collect::<Vec<_>>(), [a2.id]);

    let freed = s.delete_model_versions(&[a2.id]).await.unwrap();
    assert_eq!(freed.orphaned, vec![("sha-a-only".to_string(), 20)]);
    assert!(!s.sha_referenced("sha-a-only").await.unwrap());
    assert!(s.get_model(a1.model_id).await.unwrap().is_none(), "a model left empty is removed");
    assert!(s.find_model(ws, "a").await.unwrap().is_none());

    // Duplicate and unknown ids are ignored.
    let freed = s.delete_model_versions(&[b1.id, b1.id, b1.id + 1000]).await.unwrap();
    assert_eq!(freed.orphaned, vec![("sha-shared".to_string(), 10)]);
    assert!(s.get_model(b1.model_id).await.unwrap().is_none());
    assert!(s.list_models(ws).await.unwrap().is_empty());

    // Two versions sharing bytes, deleted together, free the bytes once; a model keeping a
    // version is kept.
    let (c1, _) = s.create_model_version(new_version(ws, "c", "sha-c", &owner), 5).await.unwrap();
    let (c2, _) = s.create_model_version(new_version(ws, "c", "sha-c", &owner), 6).await.unwrap();
    let (c3, _) = s.create_model_version(new_version(ws, "c", "sha-c3", &owner), 7).await.unwrap();
    let (d1, _) = s.create_model_version(new_version(ws, "d", "sha-d", &owner), 8).await.unwrap();
    let freed = s.delete_model_versions(&[c1.id, d1.id, c2.id]).await.unwrap();
    let mut orphaned = freed.orphaned.clone();
    orphaned.sort();
    assert_eq!(orphaned, vec![("sha-c".to_string(), c1.size), ("sha-d".to_string(), d1.size)]);
    assert!(s.get_model(c1.model_id).await.unwrap().is_some());
    assert!(s.get_model(d1.model_id).await.unwrap().is_none());
    assert_eq!(s.model_with_versions(c1.model_id).await.unwrap().unwrap().versions.len(), 1);
    assert!(s.get_model_version(c3.id).await.unwrap().is_some());
}

pub async fn sha_referenced_counts_every_version(s: &SqlStore) {
    let (owner, ws) = user_and_workspace(s, "models-sha").await;
    let (_, ws2) = user_and_workspace(s, "models-sha-2").await;
    assert!(!s.sha_referenced("sha-r").await.unwrap());
    let (a, _) = s.create_model_version(new_version(ws, "r", "sha-r", &owner), 1).await.unwrap();
    let (b, _) = s.create_model_version(new_version(ws2, "r", "sha-r", &owner), 2).await.unwrap();
    assert!(s.sha_referenced("sha-r").await.unwrap());
    assert!(!s.sha_referenced("SHA-R").await.unwrap());
    assert!(!s.sha_referenced("sha-").await.unwrap(), "an exact match, not a prefix");
    s.set_model_status(a.id, ModelStatus::Error, Some("x"), None).await.unwrap();
    assert!(s.sha_referenced("sha-r").await.unwrap(), "a failed version still references its bytes");
    s.delete_model_versions(&[a.id]).await.unwrap();
    assert!(s.sha_referenced("sha-r").await.unwrap(), "the other workspace's version references it");
    s.delete_model_versions(&[b.id]).await.unwrap();
    assert!(!s.sha_referenced("sha-r").await.unwrap());
}

pub async fn versions_in_status_lists_matching_versions_in_id_order(s: &SqlStore) {
    let (owner, ws) = user_and_workspace(s, "models-pending").await;
    let (_, ws2) = user_and_workspace(s, "models-pending-2").await;
    let mut ids = Vec::new();
    for (i, (w, status)) in [(ws, ModelStatus::PendingLoadNative), (ws2, ModelStatus::Uploading), (ws, ModelStatus::PendingLoadNative), (ws, ModelStatus::PendingLoadContainer), (ws2, ModelStatus::PendingLoadNative)]
        .into_iter()
        .enumerate()
    {
        let mut nv = new_version(w, &format!("m{}", i % 2), &format!("sha-p{i}"), &owner);
        nv.status = status;
        ids.push(s.create_model_version(nv, i as i64).await.unwrap().0);
    }
    let in_status = |st| async move { s.versions_in_status(st).await.unwrap() };
    let native = in_status(ModelStatus::PendingLoadNative).await;
    assert_eq!(native.iter().map(|v| v.id).collect::<Vec<_>>(), [ids[0].id, ids[2].id, ids[4].id]);
    assert_eq!(native[0], ids[0], "whole versions, as get_model_version returns them");
    assert_eq!(in_status(ModelStatus::PendingLoadContainer).await, vec![ids[3].clone()]);
    assert_eq!(in_status(ModelStatus::Uploading).await, vec![ids[1].clone()]);
    assert!(in_status(ModelStatus::Ready).await.is_empty());

    s.set_model_status(ids[2].id, ModelStatus::Ready, None, Some(&signature())).await.unwrap();
    let native = in_status(ModelStatus::PendingLoadNative).await;
    assert_eq!(native.iter().map(|v| v.id).collect::<Vec<_>>(), [ids[0].id, ids[4].id]);
    let ready = in_status(ModelStatus::Ready).await;
    assert_eq!(ready.len(), 1);
    assert_eq!(ready[0].signature, Some(signature()));
    assert!(in_status(ModelStatus::Error).await.is_empty());
}

pub async fn deployed_flag_follows_active_deployments(s: &SqlStore) {
    let (owner, ws) = user_and_workspace(s, "models-deployed").await;
    let (v1, _) = s.create_model_version(new_version(ws, "dep", "sha-d1", &owner), 1).await.unwrap();
    let (v2, _) = s.create_model_version(new_version(ws, "dep", "sha-d2", &owner), 2).await.unwrap();
    let deployed = |id: i64| async move {
        let v = s.get_model_version(id).await.unwrap().unwrap();
        let by_uuid = s.find_model_version(&v.version).await.unwrap().unwrap();
        assert_eq!(by_uuid.deployed, v.deployed, "find_model_version agrees with get_model_version");
        let listed = s.model_with_versions(v.model_id).await.unwrap().unwrap();
        let in_list = listed.versions.iter().find(|(x, _)| x.id == id).unwrap().0.deployed;
        assert_eq!(in_list, v.deployed, "model_with_versions agrees with get_model_version");
        let in_models = s.list_models(v.workspace_id).await.unwrap().into_iter().flat_map(|m| m.versions).find(|(x, _)| x.id == id).unwrap().0.deployed;
        assert_eq!(in_models, v.deployed, "list_models agrees with get_model_version");
        let in_status = s.versions_in_status(v.status).await.unwrap().into_iter().find(|x| x.id == id).unwrap().deployed;
        assert_eq!(in_status, v.deployed, "versions_in_status agrees with get_model_version");
        assert_eq!(s.model_version_deployed(id).await.unwrap(), v.deployed, "model_version_deployed agrees with the flag");
        v.deployed
    };
    assert!(!deployed(v1.id).await && !deployed(v2.id).await);

    let (p, pv1) = s.create_pipeline_version(ws, "pipe", "u@x.io", &json!({"steps": []}), &[v1.id], 10).await.unwrap();
    assert!(!deployed(v1.id).await, "a pipeline version that is not deployed does not count");
    let d = s.activate_deployment(p.id, "pipe", pv1.id, &json!({}), 11).await.unwrap();
    assert!(deployed(v1.id).await);
    assert!(!deployed(v2.id).await);

    let (_, pv2) = s.create_pipeline_version(ws, "pipe", "u@x.io", &json!({"steps": []}), &[v2.id], 12).await.unwrap();
    assert!(deployed(v1.id).await, "a new, undeployed pipeline version changes nothing");
    s.activate_deployment(p.id, "pipe", pv2.id, &json!({}), 13).await.unwrap();
    assert!(!deployed(v1.id).await, "the deployment moved to a version without v1");
    assert!(deployed(v2.id).await);

    s.deactivate_deployment(d.id, 14).await.unwrap();
    assert!(!deployed(v1.id).await && !deployed(v2.id).await);
}

pub async fn workspace_list_reports_model_and_pipeline_ids(s: &SqlStore) {
    let (owner, ws) = user_and_workspace(s, "ws-contents").await;
    let (_, ws2) = user_and_workspace(s, "ws-contents-2").await;
    let (m1, _) = s.create_model_version(new_version(ws, "m1", "sha-w1", &owner), 1).await.unwrap();
    s.create_model_version(new_version(ws, "m1", "sha-w1b", &owner), 2).await.unwrap();
    let (m2, _) = s.create_model_version(new_version(ws, "m2", "sha-w2", &owner), 3).await.unwrap();
    let (m3, _) = s.create_model_version(new_version(ws2, "m1", "sha-w3", &owner), 4).await.unwrap();
    let (p1, _) = s.create_pipeline_version(ws, "p1", "u", &json!({}), &[m1.id], 5).await.unwrap();
    s.create_pipeline_version(ws, "p1", "u", &json!({}), &[], 6).await.unwrap();
    let (p2, _) = s.create_pipeline_version(ws2, "p2", "u", &json!({}), &[], 7).await.unwrap();
    let (p3, _) = s.create_pipeline_version(ws, "p3", "u", &json!({}), &[], 8).await.unwrap();

    let contents = |id: i64| async move {
        let all = s.list_workspaces(None).await.unwrap();
        let w = all.into_iter().find(|w| w.workspace.id == id).unwrap();
        let of_owner = s.list_workspaces(Some(&owner_of(s, id).await)).await.unwrap().into_iter().find(|x| x.workspace.id == id).unwrap();
        assert_eq!(of_owner, w, "the member listing reports the same contents");
        (w.model_ids, w.pipeline_ids)
    };
    assert_eq!(contents(ws).await, (vec![m1.model_id, m2.model_id], vec![p1.id, p3.id]), "each model and pipeline once, in id order");
    assert_eq!(contents(ws2).await, (vec![m3.model_id], vec![p2.id]));

    s.delete_model_versions(&[m2.id]).await.unwrap();
    s.delete_pipeline(p1.id).await.unwrap();
    assert_eq!(contents(ws).await, (vec![m1.model_id], vec![p3.id]));
}

async fn owner_of(s: &SqlStore, ws: i64) -> String {
    s.get_workspace(ws).await.unwrap().unwrap().created_by
}

pub async fn concurrent_first_uploads_of_a_name_make_one_model(s: &SqlStore) {
    let (owner, ws) = user_and_workspace(s, "models-race").await;
    for round in 0..3 {
        let name = format!("racy-{round}");
        let start = std::sync::Arc::new(tokio::sync::Barrier::new(4));
        let tasks: Vec<_> = (0..4)
            .map(|i| {
                let store = s.clone();
                let start = start.clone();
                let nv = new_version(ws, &name, &format!("sha-race-{round}-{i}"), &owner);
                tokio::spawn(async move {
                    start.wait().await;
                    store.create_model_version(nv, i).await
                })
            })
            .collect();
        let mut made = Vec::new();
        for t in tasks {
            made.push(t.await.unwrap().unwrap_or_else(|e| panic!("round {round}: a concurrent first upload failed: {e:?}")).0);
        }
        let model_id = made[0].model_id;
        assert!(made.iter().all(|v| v.model_id == model_id), "round {round}: one model: {made:?}");
        let mut ids: Vec<i64> = made.iter().map(|v| v.id).collect();
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), 4);
        let listed: Vec<_> = s.list_models(ws).await.unwrap().into_iter().filter(|m| m.model.name == name).collect();
        assert_eq!(listed.len(), 1, "round {round}");
        assert_eq!(listed[0].versions.iter().map(|(v, _)| v.id).collect::<Vec<_>>(), ids, "four versions, oldest first");
    }
}
