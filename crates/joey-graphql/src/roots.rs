//! `query_root` and `mutation_root`, and the input types of `insert_workspace_one` and
//! `update_deployment_by_pk`.

use async_graphql::dynamic::{Enum, InputObject, InputValue, Object, TypeRef};
use joey_core::model::ModelVersion;
use serde_json::{json, Value as J};

use crate::filter::{list_args, pinned, select};
use crate::support::*;
use crate::types_pipe::{view_deployment, view_pipeline};
use crate::types_ws::{view_model, view_models, view_user_default, view_workspace, UserDefault};

pub(crate) fn query_root() -> Object {
    Object::new("query_root")
        .field(list_args(
            root("user_default_workspace", list_nn("user_default_workspace"), |e: Env, a: J| async move {
                let ws = e.platform.default_workspace(&e.caller).await.map_err(gerr)?;
                let rows = ws.map(|workspace| UserDefault { user_id: e.caller.user_id.clone(), workspace });
                objs(select(rows.into_iter().collect(), &a, view_user_default))
            }),
            "user_default_workspace",
            false,
        ))
        .field(list_args(
            root("workspace", list_nn("workspace"), |e: Env, a: J| async move {
                objs(select(e.platform.visible_workspaces(&e.caller).await.map_err(gerr)?, &a, view_workspace))
            }),
            "workspace",
            true,
        ))
        .field(by_pk("workspace", |e, id| async move { opt(e.platform.visible_workspace(&e.caller, id).await.map_err(gerr)?) }))
        .field(list_args(root("model", list_nn("model"), |e: Env, a: J| async move { objs(model_rows(&e, &a).await?) }), "model", true))
        .field(by_pk("model", |e, id| async move { opt(e.platform.visible_model_version(&e.caller, id).await.map_err(gerr)?) }))
        .field(by_pk("models", |e, id| async move { opt(e.platform.visible_model(&e.caller, id).await.map_err(gerr)?) }))
        .field(by_pk("model_config", |e, id| async move { opt(e.platform.visible_model_config(&e.caller, id).await.map_err(gerr)?) }))
        .field(list_args(
            root("pipeline", list_nn("pipeline"), |e: Env, a: J| async move {
                let mut rows = Vec::new();
                for ws in e.platform.visible_workspaces(&e.caller).await.map_err(gerr)? {
                    let wv = view_workspace(&ws);
                    rows.extend(e.platform.visible_pipelines(&e.caller, ws.id).await.map_err(gerr)?.into_iter().map(|p| (view_pipeline(&p, wv.clone()), p)));
                }
                objs(select(rows, &a, |(v, _)| v.clone()).into_iter().map(|(_, p)| p))
            }),
            "pipeline",
            true,
        ))
        .field(by_pk("pipeline", |e, id| async move { opt(e.platform.visible_pipeline(&e.caller, id).await.map_err(gerr)?) }))
        .field(by_pk("pipeline_version", |e, id| async move { opt(e.platform.visible_pipeline_version(&e.caller, id).await.map_err(gerr)?) }))
        .field(list_args(
            root("deployment", list_nn("deployment"), |e: Env, a: J| async move {
                let mut rows = Vec::new();
                if let Some(id) = a.get("where").and_then(|w| pinned(w, "id")).and_then(as_i64) {
                    rows.extend(e.platform.visible_deployment(&e.caller, id).await.map_err(gerr)?);
                } else {
                    for ws in e.platform.visible_workspaces(&e.caller).await.map_err(gerr)? {
                        for p in e.platform.visible_pipelines(&e.caller, ws.id).await.map_err(gerr)? {
                            rows.extend(e.platform.visible_pipeline_deployment(&e.caller, p.id).await.map_err(gerr)?);
                        }
                    }
                }
                objs(select(rows, &a, view_deployment))
            }),
            "deployment",
            true,
        ))
        .field(by_pk("deployment", |e, id| async move { opt(e.platform.visible_deployment(&e.caller, id).await.map_err(gerr)?) }))
}

/// `<table>_by_pk(id: bigint!)`: null when absent or not visible to the caller.
fn by_pk<F, Fut>(table: &str, f: F) -> async_graphql::dynamic::Field
where
    F: Fn(Env, i64) -> Fut + Send + Sync + Copy + 'static,
    Fut: std::future::Future<Output = Out> + Send + 'static,
{
    root(&format!("{table}_by_pk"), nl(table), move |e: Env, a: J| async move { f(e, id_arg(&a, "id")?).await }).argument(pk_arg())
}

/// Candidates for `model(where:)`: narrowed by a pinned `model_version` or `id` when the filter
/// has one, else every version in the caller's workspaces; then filtered by `select`.
async fn model_rows(e: &Env, a: &J) -> async_graphql::Result<Vec<ModelVersion>> {
    let w = a.get("where").cloned().unwrap_or(J::Null);
    let p = &e.platform;
    let mut rows: Vec<(J, ModelVersion)> = Vec::new();
    let pinned_version = pinned(&w, "model_version").and_then(J::as_str).map(str::to_string);
    let pinned_id = pinned(&w, "id").and_then(as_i64);
    if pinned_version.is_some() || pinned_id.is_some() {
        let v = match (pinned_version, pinned_id) {
            (Some(uuid), _) => p.visible_model_version_by_uuid(&e.caller, &uuid).await.map_err(gerr)?,
            (None, Some(id)) => p.visible_model_version(&e.caller, id).await.map_err(gerr)?,
            _ => None,
        };
        if let Some(v) = v {
            let ws = p.visible_workspace(&e.caller, v.workspace_id).await.map_err(gerr)?;
            let m = p.visible_model(&e.caller, v.model_id).await.map_err(gerr)?;
            let wv = ws.as_ref().map(view_workspace).unwrap_or(json!({"id": v.workspace_id}));
            let mv = m.as_ref().map(|m| view_models(m, wv)).unwrap_or(json!({"id": v.model_id}));
            rows.push((view_model(&v, mv), v));
        }
    } else {
        for ws in p.visible_workspaces(&e.caller).await.map_err(gerr)? {
            let wv = view_workspace(&ws);
            for m in p.visible_models(&e.caller, ws.id).await.map_err(gerr)? {
                let mv = view_models(&m.model, wv.clone());
                rows.extend(m.versions.into_iter().map(|(v, _)| (view_model(&v, mv.clone()), v)));
            }
        }
    }
    Ok(select(rows, a, |(v, _)| v.clone()).into_iter().map(|(_, v)| v).collect())
}

pub(crate) fn mutation_root() -> Object {
    Object::new("mutation_root").field(
        root("insert_workspace_one", nl("workspace"), |e: Env, a: J| async move {
            let o = a.get("object").cloned().unwrap_or(J::Null);
            let name = o.get("name").and_then(J::as_str).ok_or_else(|| async_graphql::Error::new("object.name is required"))?;
            if o.get("archived").and_then(J::as_bool) == Some(true) {
                return Err(async_graphql::Error::new("Joey cannot create an archived workspace"));
            }
            let members: Vec<(String, Option<String>)> = rel_data(&o, "users")
                .iter()
                .filter_map(|m| Some((m.get("user_id")?.as_str()?.to_string(), m.get("user_type").and_then(J::as_str).map(str::to_string))))
                .collect();
            let existing_ok = a.get("on_conflict").is_some_and(|c| !c.is_null());
            let ws = e.platform.insert_workspace(&e.caller, name, o.get("owner_id").and_then(J::as_str), &members, existing_ok).await.map_err(gerr)?;
            opt(Some(ws))
        })
        .argument(InputValue::new("object", nn("workspace_insert_input")))
        .argument(InputValue::new("on_conflict", nl("workspace_on_conflict"))),
    )
    .field(
        root("update_deployment_by_pk", nl("deployment"), |e: Env, a: J| async move {
            let id = id_arg(a.get("pk_columns").unwrap_or(&J::Null), "id")?;
            let set = a.get("_set").cloned().unwrap_or(J::Null);
            let result = match set.get("deployed") {
                None | Some(J::Null) => Ok(()),
                Some(J::Bool(true)) => e.platform.redeploy(&e.caller, id).await.map(|plan| plan.into_iter().for_each(|p| e.deployer.start(p))),
                Some(J::Bool(false)) => e.platform.undeploy(&e.caller, Some(id), None).await.map(|d| e.deployer.stop(d.id)),
                Some(other) => return Err(async_graphql::Error::new(format!("_set.deployed must be a boolean, not {other}"))),
            };
            match result {
                // Hasura answers null for a row that does not exist or is not visible.
                Err(joey_core::Error::NotFound(_)) => Ok(None),
                other => {
                    other.map_err(gerr)?;
                    opt(e.platform.visible_deployment(&e.caller, id).await.map_err(gerr)?)
                }
            }
        })
        .argument(InputValue::new("pk_columns", nn("deployment_pk_columns_input")))
        .argument(InputValue::new("_set", nl("deployment_set_input"))),
    )
}

/// `object.<rel>.data` as a list (a single object counts as a list of one).
fn rel_data(o: &J, rel: &str) -> Vec<J> {
    match o.get(rel).and_then(|r| r.get("data")) {
        Some(J::Array(a)) => a.clone(),
        Some(J::Null) | None => Vec::new(),
        Some(other) => vec![other.clone()],
    }
}

pub(crate) fn insert_inputs() -> (Vec<Enum>, Vec<InputObject>) {
    let field = |n: &str, t: &str| InputValue::new(n, nl(t));
    let enums = vec![
        Enum::new("workspace_constraint").items(["workspace_name_key", "workspace_pkey"]),
        Enum::new("workspace_update_column").items(["archived", "created_by", "name", "owner_id"]),
    ];
    let inputs = vec![
        InputObject::new("workspace_insert_input")
            .field(field("archived", "Boolean"))
            .field(field("created_by", "String"))
            .field(field("name", "String"))
            .field(field("owner_id", "String"))
            .field(field("user_default_workspaces", "user_default_workspace_arr_rel_insert_input"))
            .field(field("users", "workspace_users_arr_rel_insert_input")),
        InputObject::new("workspace_users_arr_rel_insert_input").field(InputValue::new("data", list_nn("workspace_users_insert_input"))),
        InputObject::new("workspace_users_insert_input")
            .field(field("user_id", "String"))
            .field(field("user_type", "String"))
            .field(field("workspace_id", "bigint")),
        InputObject::new("user_default_workspace_arr_rel_insert_input").field(InputValue::new("data", list_nn("user_default_workspace_insert_input"))),
        InputObject::new("user_default_workspace_insert_input").field(field("user_id", "String")).field(field("workspace_id", "bigint")),
        InputObject::new("deployment_pk_columns_input").field(InputValue::new("id", nn("bigint"))),
        // Only `deployed` can be changed: deploying and undeploying are the SDK's uses.
        InputObject::new("deployment_set_input").field(field("deployed", "Boolean")),
        InputObject::new("workspace_on_conflict")
            .field(InputValue::new("constraint", nn("workspace_constraint")))
            .field(InputValue::new("update_columns", list_nn("workspace_update_column")).default_value(async_graphql::Value::List(Vec::new())))
            .field(InputValue::new("where", TypeRef::named("workspace_bool_exp"))),
    ];
    (enums, inputs)
}
