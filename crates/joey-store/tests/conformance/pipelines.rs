use joey_core::pipeline::Deployment;
use joey_core::ports::{ModelStore, PipelineStore};
use joey_core::Error;
use joey_store::SqlStore;
use serde_json::{json, Value};

use crate::support::{new_version, user_and_workspace};

fn definition(tag: &str) -> Value {
    json!({"id": tag, "steps": [{"ModelInference": {"models": [{"name": "m", "version": "v", "sha": "s"}]}}], "note": "ünïcode ✓", "n": 1.5})
}

/// A workspace with `n` model versions (of one model); returns (workspace id, version ids).
async fn models(s: &SqlStore, ws_name: &str, n: usize) -> (i64, Vec<i64>) {
    let (owner, ws) = user_and_workspace(s, ws_name).await;
    let mut ids = Vec::new();
    for i in 0..n {
        ids.push(s.create_model_version(new_version(ws, "model", &format!("sha-{ws_name}-{i}"), &owner), i as i64).await.unwrap().0.id);
    }
    (ws, ids)
}

pub async fn create_pipeline_version_makes_the_pipeline_then_adds_versions(s: &SqlStore) {
    let (ws, mv) = models(s, "pipes-create", 3).await;
    let (p, v1) = s.create_pipeline_version(ws, "pipe", "alice@x.io", &definition("one"), &[mv[0], mv[1], mv[0]], 1_000).await.unwrap();
    assert!(p.id > 0);
    assert_eq!((p.name.as_str(), p.workspace_id, p.created_by.as_str()), ("pipe", ws, "alice@x.io"));
    assert_eq!((p.created_at_ms, p.updated_at_ms), (1_000, 1_000));
    assert!(v1.id > 0);
    assert_eq!(v1.pipeline_id, p.id);
    assert!(uuid::Uuid::parse_str(&v1.version).is_ok(), "a UUID: {}", v1.version);
    assert_eq!(v1.definition, definition("one"));
    assert_eq!((v1.created_by.as_str(), v1.created_at_ms), ("alice@x.io", 1_000));

    let (p2, v2) = s.create_pipeline_version(ws, "pipe", "bob@x.io", &json!({}), &[mv[2]], 2_000).await.unwrap();
    assert_eq!(p2.id, p.id, "the same pipeline");
    assert_eq!(p2.created_by, "alice@x.io", "the pipeline keeps its creator");
    assert_eq!((p2.created_at_ms, p2.updated_at_ms), (1_000, 2_000));
    assert_ne!(v2.id, v1.id);
    assert_ne!(v2.version, v1.version);
    assert_eq!((v2.definition.clone(), v2.created_by.as_str(), v2.created_at_ms), (json!({}), "bob@x.io", 2_000));
    assert_eq!(s.get_pipeline_version(v1.id).await.unwrap(), Some(v1.clone()), "older versions are immutable");

    // The versions' model links (duplicates collapsed) show through an active deployment.
    s.activate_deployment(p.id, "pipe", v1.id, &json!({}), 3_000).await.unwrap();
    let deployed = |id| async move { s.model_version_deployed(id).await.unwrap() };
    assert!(deployed(mv[0]).await && deployed(mv[1]).await && !deployed(mv[2]).await);
    s.activate_deployment(p.id, "pipe", v2.id, &json!({}), 3_001).await.unwrap();
    assert!(!deployed(mv[0]).await && !deployed(mv[1]).await && deployed(mv[2]).await);

    // The same name in another workspace is another pipeline.
    let (ws2, _) = models(s, "pipes-create-2", 0).await;
    let (other, _) = s.create_pipeline_version(ws2, "pipe", "carol@x.io", &json!({}), &[], 4_000).await.unwrap();
    assert_ne!(other.id, p.id);

    // A link to an unknown model version fails and leaves nothing behind.
    let err = s.create_pipeline_version(ws, "broken", "alice@x.io", &json!({}), &[mv[0], mv[2] + 1000], 5_000).await.unwrap_err();
    assert!(matches!(err, Error::InvalidInput(_)), "{err:?}");
    assert!(s.find_pipeline(ws, "broken").await.unwrap().is_none(), "no pipeline was created");
    let err = s.create_pipeline_version(ws, "pipe", "alice@x.io", &json!({}), &[mv[2] + 1000], 5_001).await.unwrap_err();
    assert!(matches!(err, Error::InvalidInput(_)), "{err:?}");
    assert_eq!(s.list_pipeline_versions(p.id).await.unwrap().len(), 2, "no version was added");
    assert_eq!(s.get_pipeline(p.id).await.unwrap().unwrap().updated_at_ms, 2_000, "the failed version did not touch the pipeline");
}

pub async fn pipelines_and_versions_are_found_and_listed(s: &SqlStore) {
    let (ws, mv) = models(s, "pipes-find", 1).await;
    let (ws2, _) = models(s, "pipes-find-2", 0).await;
    let (b, b1) = s.create_pipeline_version(ws, "b", "u", &definition("b1"), &mv, 1).await.unwrap();
    let (a, a1) = s.create_pipeline_version(ws, "a", "u", &definition("a1"), &[], 2).await.unwrap();
    let (_, b2) = s.create_pipeline_version(ws, "b", "u", &definition("b2"), &[], 3).await.unwrap();
    let (c, _) = s.create_pipeline_version(ws2, "c", "u", &json!({}), &[], 4).await.unwrap();
    let (_, b3) = s.create_pipeline_version(ws, "b", "u", &definition("b3"), &mv, 5).await.unwrap();
    let b = s.get_pipeline(b.id).await.unwrap().unwrap();

    assert_eq!(s.find_pipeline(ws, "b").await.unwrap(), Some(b.clone()));
    assert_eq!(s.find_pipeline(ws2, "b").await.unwrap(), None);
    assert_eq!(s.find_pipeline(ws2, "c").await.unwrap().unwrap().id, c.id);
    assert_eq!(s.get_pipeline(c.id + 1000).await.unwrap(), None);
    assert_eq!(s.list_pipelines(ws).await.unwrap(), vec![b.clone(), a.clone()], "id order, this workspace only");
    assert_eq!(s.list_pipelines(ws2).await.unwrap().len(), 1);
    let (ws3, _) = models(s, "pipes-find-3", 0).await;
    assert!(s.list_pipelines(ws3).await.unwrap().is_empty());

    assert_eq!(s.list_pipeline_versions(b.id).await.unwrap(), vec![b1.clone(), b2.clone(), b3.clone()], "oldest first");
    assert_eq!(s.list_pipeline_versions(a.id).await.unwrap(), vec![a1.clone()]);
    assert!(s.list_pipeline_versions(c.id + 1000).await.unwrap().is_empty());
    assert_eq!(s.get_pipeline_version(b2.id).await.unwrap(), Some(b2.clone()));
    assert_eq!(s.find_pipeline_version(&b3.version).await.unwrap(), Some(b3.clone()));
    assert_eq!(s.find_pipeline_version(&b3.version).await.unwrap().unwrap().definition, definition("b3"));
    assert_eq!(s.get_pipeline_version(b3.id + 1000).await.unwrap(), None);
    assert_eq!(s.find_pipeline_version(&uuid::Uuid::new_v4().to_string()).await.unwrap(), None);
}

pub async fn deleting_a_pipeline_removes_its_deployment_and_versions(s: &SqlStore) {
    let (ws, mv) = models(s, "pipes-delete", 2).await;
    let (p, v1) = s.create_pipeline_version(ws, "doomed", "u", &json!({}), &[mv[0]], 1).await.unwrap();
    let (_, v2) = s.create_pipeline_version(ws, "doomed", "u", &json!({}), &[mv[0]], 2).await.unwrap();
    let (keep, k1) = s.create_pipeline_version(ws, "kept", "u", &json!({}), &[mv[1]], 3).await.unwrap();
    let d = s.activate_deployment(p.id, "doomed", v2.id, &json!({}), 4).await.unwrap();
    let dk = s.activate_deployment(keep.id, "kept", k1.id, &json!({}), 5).await.unwrap();
    assert!(s.model_version_deployed(mv[0]).await.unwrap());

    s.delete_pipeline(p.id).await.unwrap();
    assert!(s.get_pipeline(p.id).await.unwrap().is_none());
    assert!(s.find_pipeline(ws, "doomed").await.unwrap().is_none());
    assert!(s.list_pipeline_versions(p.id).await.unwrap().is_empty());
    assert!(s.get_pipeline_version(v1.id).await.unwrap().is_none());
    assert!(s.find_pipeline_version(&v2.version).await.unwrap().is_none());
    assert!(s.get_deployment(d.id).await.unwrap().is_none(), "its deployment is gone");
    assert!(s.deployment_for_pipeline(p.id).await.unwrap().is_none());
    assert_eq!(s.list_active_deployments().await.unwrap(), vec![dk.clone()]);
    assert!(!s.model_version_deployed(mv[0]).await.unwrap());
    assert!(s.get_model_version(mv[0]).await.unwrap().is_some(), "model versions stay");

    assert_eq!(s.list_pipelines(ws).await.unwrap().iter().map(|p| p.id).collect::<Vec<_>>(), [keep.id]);
    assert_eq!(s.list_pipeline_versions(keep.id).await.unwrap(), vec![k1]);
    assert_eq!(s.get_deployment(dk.id).await.unwrap(), Some(dk));
    s.delete_pipeline(p.id).await.unwrap();

    // The name can be used again afterwards, for a new pipeline.
    let (again, _) = s.create_pipeline_version(ws, "doomed", "u", &json!({}), &[], 6).await.unwrap();
    assert_ne!(again.id, p.id);
    assert!(s.deployment_for_pipeline(again.id).await.unwrap().is_none());
}

pub async fn deleting_pipeline_versions_keeps_the_others(s: &SqlStore) {
    let (ws, mv) = models(s, "pipes-delete-versions", 1).await;
    let mut vs = Vec::new();
    for i in 0..4 {
        vs.push(s.create_pipeline_version(ws, "p", "u", &json!({"i": i}), &mv, i).await.unwrap().1);
    }
    let p = vs[0].pipeline_id;
    s.delete_pipeline_versions(&[]).await.unwrap();
    s.delete_pipeline_versions(&[vs[0].id, vs[2].id, vs[3].id + 1000]).await.unwrap();
    assert_eq!(s.list_pipeline_versions(p).await.unwrap(), vec![vs[1].clone(), vs[3].clone()]);
    assert!(s.get_pipeline_version(vs[0].id).await.unwrap().is_none());
    assert!(s.find_pipeline_version(&vs[2].version).await.unwrap().is_none());
    assert!(s.get_pipeline(p).await.unwrap().is_some(), "the pipeline stays");
    assert!(s.get_model_version(mv[0]).await.unwrap().is_some(), "model versions stay");

    // A version an undeployed deployment still points at can be deleted (the idle deployment row
    // goes with it); the active one is the platform's to refuse.
    let d = s.activate_deployment(p, "p", vs[1].id, &json!({}), 10).await.unwrap();
    s.deactivate_deployment(d.id, 11).await.unwrap();
    s.delete_pipeline_versions(&[vs[1].id]).await.unwrap();
    assert_eq!(s.list_pipeline_versions(p).await.unwrap(), vec![vs[3].clone()]);
    assert!(s.deployment_for_pipeline(p).await.unwrap().is_none());
    let d2 = s.activate_deployment(p, "p", vs[3].id, &json!({}), 12).await.unwrap();
    assert!(d2.active);
    assert_eq!(d2.pipeline_version_id, vs[3].id);
    assert!(s.model_version_deployed(mv[0]).await.unwrap());
}

pub async fn activation_keeps_one_deployment_id_per_pipeline(s: &SqlStore) {
    let (ws, mv) = models(s, "pipes-activate", 1).await;
    let (p, v1) = s.create_pipeline_version(ws, "p", "u", &json!({}), &mv, 1).await.unwrap();
    let (_, v2) = s.create_pipeline_version(ws, "p", "u", &json!({}), &[], 2).await.unwrap();
    let engine = json!({"engine": {"replicas": 3, "cpu": 0.5}, "engineAux": {"images": {}}});
    let d = s.activate_deployment(p.id, "p-deploy", v1.id, &engine, 100).await.unwrap();
    assert!(d.id > 0);
    assert_eq!(
        d,
        Deployment { id: d.id, pipeline_id: p.id, deploy_id: "p-deploy".into(), pipeline_version_id: v1.id, engine_config: engine.clone(), active: true, created_at_ms: 100, updated_at_ms: 100 }
    );
    assert_eq!(d.replicas(), 3);
    assert_eq!(s.get_deployment(d.id).await.unwrap(), Some(d.clone()));
    assert_eq!(s.deployment_for_pipeline(p.id).await.unwrap(), Some(d.clone()));

    s.deactivate_deployment(d.id, 200).await.unwrap();
    let off = s.get_deployment(d.id).await.unwrap().unwrap();
    assert_eq!(off, Deployment { active: false, updated_at_ms: 200, ..d.clone() }, "deactivation only flips the flag");
    assert_eq!(s.deployment_for_pipeline(p.id).await.unwrap(), Some(off));

    let again = s.activate_deployment(p.id, "renamed", v2.id, &Value::Null, 300).await.unwrap();
    assert_eq!(
        again,
        Deployment { id: d.id, pipeline_id: p.id, deploy_id: "renamed".into(), pipeline_version_id: v2.id, engine_config: Value::Null, active: true, created_at_ms: 100, updated_at_ms: 300 },
        "re-activation reuses the row"
    );
    assert_eq!(s.get_deployment(d.id).await.unwrap(), Some(again.clone()));

    // Activating an active deployment updates it in place too.
    let moved = s.activate_deployment(p.id, "renamed", v1.id, &json!({"engine": {"autoscale": {"replica_min": 2}}}), 400).await.unwrap();
    assert_eq!(moved.id, d.id);
    assert_eq!((moved.pipeline_version_id, moved.active, moved.created_at_ms, moved.updated_at_ms), (v1.id, true, 100, 400));
    assert_eq!(moved.replicas(), 2);
    assert_eq!(s.list_active_deployments().await.unwrap(), vec![moved]);

    // Another pipeline gets its own row.
    let (q, qv) = s.create_pipeline_version(ws, "q", "u", &json!({}), &[], 5).await.unwrap();
    let dq = s.activate_deployment(q.id, "q", qv.id, &json!({}), 500).await.unwrap();
    assert_ne!(dq.id, d.id);
    assert_eq!(s.deployment_for_pipeline(p.id).await.unwrap().unwrap().id, d.id);
}

pub async fn deactivation_and_active_listing(s: &SqlStore) {
    let (ws, _) = models(s, "pipes-active", 0).await;
    let mut deps = Vec::new();
    for name in ["x", "y", "z"] {
        let (p, v) = s.create_pipeline_version(ws, name, "u", &json!({}), &[], 1).await.unwrap();
        deps.push(s.activate_deployment(p.id, name, v.id, &json!({"name": name}), 2).await.unwrap());
    }
    let (idle, _) = s.create_pipeline_version(ws, "never-deployed", "u", &json!({}), &[], 3).await.unwrap();
    assert!(s.deployment_for_pipeline(idle.id).await.unwrap().is_none());
    assert!(s.get_deployment(deps[2].id + 1000).await.unwrap().is_none());
    assert_eq!(s.list_active_deployments().await.unwrap(), deps, "id order");

    s.deactivate_deployment(deps[1].id, 10).await.unwrap();
    s.deactivate_deployment(deps[1].id, 11).await.unwrap();
    s.deactivate_deployment(deps[2].id + 1000, 12).await.unwrap();
    assert_eq!(s.list_active_deployments().await.unwrap(), vec![deps[0].clone(), deps[2].clone()]);
    let off = s.get_deployment(deps[1].id).await.unwrap().unwrap();
    assert!(!off.active);
    assert_eq!(off.updated_at_ms, 11);

    for d in &deps {
        s.deactivate_deployment(d.id, 20).await.unwrap();
    }
    assert!(s.list_active_deployments().await.unwrap().is_empty());
    for d in &deps {
        let row = s.deployment_for_pipeline(d.pipeline_id).await.unwrap();
        assert!(row.is_some_and(|x| x.id == d.id && !x.active), "rows stay after deactivation");
    }
}

pub async fn model_version_deployed_follows_active_deployments(s: &SqlStore) {
    let (ws, mv) = models(s, "pipes-mv-deployed", 3).await;
    let deployed = |id| async move { s.model_version_deployed(id).await.unwrap() };
    let (p, pv1) = s.create_pipeline_version(ws, "p", "u", &json!({}), &[mv[0], mv[1]], 1).await.unwrap();
    let (_, pv2) = s.create_pipeline_version(ws, "p", "u", &json!({}), &[mv[2]], 2).await.unwrap();
    let (q, qv) = s.create_pipeline_version(ws, "q", "u", &json!({}), &[mv[0]], 3).await.unwrap();
    for id in &mv {
        assert!(!deployed(*id).await, "nothing is deployed yet");
    }
    assert!(!deployed(mv[2] + 1000).await);

    let dp = s.activate_deployment(p.id, "p", pv1.id, &json!({}), 4).await.unwrap();
    assert_eq!([deployed(mv[0]).await, deployed(mv[1]).await, deployed(mv[2]).await], [true, true, false]);
    s.activate_deployment(p.id, "p", pv2.id, &json!({}), 5).await.unwrap();
    assert_eq!([deployed(mv[0]).await, deployed(mv[1]).await, deployed(mv[2]).await], [false, false, true]);
    let dq = s.activate_deployment(q.id, "q", qv.id, &json!({}), 6).await.unwrap();
    assert_eq!([deployed(mv[0]).await, deployed(mv[1]).await, deployed(mv[2]).await], [true, false, true]);
    s.deactivate_deployment(dp.id, 7).await.unwrap();
    assert_eq!([deployed(mv[0]).await, deployed(mv[1]).await, deployed(mv[2]).await], [true, false, false]);
    s.deactivate_deployment(dq.id, 8).await.unwrap();
    assert_eq!([deployed(mv[0]).await, deployed(mv[1]).await, deployed(mv[2]).await], [false, false, false]);
    s.activate_deployment(p.id, "p", pv1.id, &json!({}), 9).await.unwrap();
    assert_eq!([deployed(mv[0]).await, deployed(mv[1]).await, deployed(mv[2]).await], [true, true, false], "re-activation counts again");
}
