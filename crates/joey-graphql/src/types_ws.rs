//! Object types of workspaces and models: `workspace`, `workspace_users`,
//! `user_default_workspace`, `models` (the named model), `model` (one model version),
//! `model_config`, and the tag types (always empty: Joey has no tags yet).

use async_graphql::dynamic::{InputValue, Object};
use async_graphql::Value as Gv;
use joey_core::model::{Model, ModelConfig, ModelVersion};
use joey_core::workspace::Workspace;
use serde_json::{json, Value as J};

use crate::filter::{list_args, select};
use crate::support::*;

/// One membership row.
#[derive(Clone)]
pub(crate) struct WsUser {
    pub workspace_id: i64,
    pub user_id: String,
    pub user_type: String,
}

/// The caller's default workspace link.
#[derive(Clone)]
pub(crate) struct UserDefault {
    pub user_id: String,
    pub workspace: Workspace,
}

/// A tag and its links to models and pipelines (never produced: Joey has no tags yet).
#[derive(Clone)]
pub(crate) struct TagLink;

pub(crate) fn view_workspace(w: &Workspace) -> J {
    json!({"id": w.id, "name": w.name, "archived": w.archived, "created_at": ts_utc(&w.created_at),
           "created_by": w.created_by, "owner_id": w.created_by})
}

pub(crate) fn view_ws_user(u: &WsUser) -> J {
    json!({"user_id": u.user_id, "user_type": u.user_type, "workspace_id": u.workspace_id})
}

pub(crate) fn view_user_default(u: &UserDefault) -> J {
    json!({"user_id": u.user_id, "workspace_id": u.workspace.id, "workspace": view_workspace(&u.workspace)})
}

/// `workspace` is the view of the model's workspace (or `{"id"}` when only the id is at hand).
pub(crate) fn view_models(m: &Model, workspace: J) -> J {
    json!({"id": m.id, "name": m.name, "owner_id": m.owner_id, "workspace_id": m.workspace_id,
           "created_at": ts_ms(m.created_at_ms), "updated_at": ts_ms(m.updated_at_ms), "workspace": workspace})
}

/// `models` is the view of the version's named model.
pub(crate) fn view_model(v: &ModelVersion, models: J) -> J {
    json!({"id": v.id, "model_id": v.name, "model_version": v.version, "models_pk_id": v.model_id, "sha": v.sha,
           "status": v.status.as_str(), "visibility": v.visibility, "file_name": v.file_name,
           "created_at": ts_ms(v.created_at_ms), "updated_at": ts_ms(v.created_at_ms), "model": models})
}

pub(crate) fn workspace_users(w: &Workspace, members: Vec<joey_core::workspace::Member>) -> Vec<WsUser> {
    members.into_iter().map(|m| WsUser { workspace_id: w.id, user_id: m.user_id, user_type: m.role.as_str().to_string() }).collect()
}

pub(crate) fn types() -> Vec<Object> {
    vec![workspace(), ws_users(), user_default(), models(), model(), model_config(), tag(), tag_link("model_tag", "model_id", "tag_id"), tag_link("pipeline_tag", "pipeline_pk_id", "tag_pk_id")]
}

fn workspace() -> Object {
    Object::new("workspace")
        .field(col("id", nn("bigint"), |w: &Workspace| big(w.id)))
        .field(col("name", nn("String"), |w: &Workspace| s(&w.name)))
        .field(col("archived", nn("Boolean"), |w: &Workspace| Gv::Boolean(w.archived)))
        .field(col("created_at", nn("timestamptz"), |w: &Workspace| s(&ts_utc(&w.created_at))))
        .field(col("created_by", nn("String"), |w: &Workspace| s(&w.created_by)))
        .field(col("owner_id", nn("String"), |w: &Workspace| s(&w.created_by)))
        .field(list_args(
            rel("users", list_nn("workspace_users"), |e: Env, w: Workspace, a: J| async move {
                let members = e.platform.visible_members(&e.caller, w.id).await.map_err(gerr)?;
                objs(select(workspace_users(&w, members), &a, view_ws_user))
            }),
            "workspace_users",
            false,
        ))
        .field(list_args(
            rel("models", list_nn("models"), |e: Env, w: Workspace, a: J| async move {
                let all = e.platform.visible_models(&e.caller, w.id).await.map_err(gerr)?;
                let ws = view_workspace(&w);
                objs(select(all.into_iter().map(|m| m.model).collect(), &a, |m| view_models(m, ws.clone())))
            }),
            "models",
            true,
        ))
        .field(list_args(
            rel("pipelines", list_nn("pipeline"), |e: Env, w: Workspace, a: J| async move {
                let all = e.platform.visible_pipelines(&e.caller, w.id).await.map_err(gerr)?;
                let ws = view_workspace(&w);
                objs(select(all, &a, |p| crate::types_pipe::view_pipeline(p, ws.clone())))
            }),
            "pipeline",
            true,
        ))
}

fn ws_users() -> Object {
    Object::new("workspace_users")
        .field(col("user_id", nn("String"), |u: &WsUser| s(&u.user_id)))
        .field(col("user_type", nl("String"), |u: &WsUser| s(&u.user_type)))
        .field(col("workspace_id", nn("bigint"), |u: &WsUser| big(u.workspace_id)))
        .field(rel("workspace", nl("workspace"), |e: Env, u: WsUser, _a: J| async move {
            opt(e.platform.visible_workspace(&e.caller, u.workspace_id).await.map_err(gerr)?)
        }))
}

fn user_default() -> Object {
    Object::new("user_default_workspace")
        .field(col("user_id", nn("String"), |u: &UserDefault| s(&u.user_id)))
        .field(col("workspace_id", nn("bigint"), |u: &UserDefault| big(u.workspace.id)))
        .field(rel("workspace", nn("workspace"), |_e: Env, u: UserDefault, _a: J| async move { opt(Some(u.workspace)) }))
}

fn models() -> Object {
    Object::new("models")
        .description("a named model (a collection of versions)")
        .field(col("id", nn("bigint"), |m: &Model| big(m.id)))
        .field(col("name", nn("String"), |m: &Model| s(&m.name)))
        .field(col("owner_id", nn("String"), |m: &Model| s(&m.owner_id)))
        .field(col("workspace_id", nn("bigint"), |m: &Model| big(m.workspace_id)))
        .field(col("created_at", nn("timestamptz"), |m: &Model| s(&ts_ms(m.created_at_ms))))
        .field(col("updated_at", nn("timestamptz"), |m: &Model| s(&ts_ms(m.updated_at_ms))))
        .field(rel("workspace", nl("workspace"), |e: Env, m: Model, _a: J| async move {
            opt(e.platform.visible_workspace(&e.caller, m.workspace_id).await.map_err(gerr)?)
        }))
        .field(list_args(
            rel("models", list_nn("model"), |e: Env, m: Model, a: J| async move {
                let versions = e.platform.visible_model_versions_of(&e.caller, m.id).await.map_err(gerr)?;
                let mv = view_models(&m, json!({"id": m.workspace_id}));
                objs(select(versions, &a, |v| view_model(v, mv.clone())))
            }),
            "model",
            true,
        ))
}

/// `conversion(path:)`: the value at `path` (`arch`, `$.arch`, `a.b`) of the version's
/// conversion object; `arch` and `accel` default to `x86` and `none`.
fn conversion(v: &ModelVersion, path: Option<&str>) -> Gv {
    let Some(path) = path.map(|p| p.trim_start_matches("$.").trim_start_matches('$')).filter(|p| !p.is_empty()) else {
        return json(&v.conversion);
    };
    let found = path.split('.').try_fold(&v.conversion, |at, k| at.get(k)).filter(|x| !x.is_null());
    match (found, path) {
        (Some(x), _) => json(x),
        (None, "arch") => s("x86"),
        (None, "accel") => s("none"),
        _ => Gv::Null,
    }
}

fn model() -> Object {
    Object::new("model")
        .description("one model version")
        .field(col("id", nn("bigint"), |v: &ModelVersion| big(v.id)))
        .field(col("model_id", nn("String"), |v: &ModelVersion| s(&v.name)))
        .field(col("model_version", nn("String"), |v: &ModelVersion| s(&v.version)))
        .field(col("models_pk_id", nn("bigint"), |v: &ModelVersion| big(v.model_id)))
        .field(col("sha", nn("String"), |v: &ModelVersion| s(&v.sha)))
        .field(col("status", nn("String"), |v: &ModelVersion| s(v.status.as_str())))
        .field(col("error_summary", nl("String"), |v: &ModelVersion| opt_s(v.error_summary.as_deref())))
        .field(col("file_name", nl("String"), |v: &ModelVersion| s(&v.file_name)))
        .field(col("image_path", nl("String"), |_: &ModelVersion| Gv::Null))
        .field(col("visibility", nn("String"), |v: &ModelVersion| s(if v.visibility == "public" { "public" } else { "private" })))
        .field(col("created_on_version", nn("String"), |_: &ModelVersion| s(VERSION)))
        .field(col("created_by", nl("String"), |v: &ModelVersion| s(&v.created_by)))
        .field(col("created_at", nn("timestamptz"), |v: &ModelVersion| s(&ts_ms(v.created_at_ms))))
        .field(col("updated_at", nn("timestamptz"), |v: &ModelVersion| s(&ts_ms(v.created_at_ms))))
        .field(
            rel("conversion", nl("jsonb"), |_e: Env, v: ModelVersion, a: J| async move {
                Ok(Some(async_graphql::dynamic::FieldValue::value(conversion(&v, a.get("path").and_then(J::as_str)))))
            })
            .argument(InputValue::new("path", nl("String"))),
        )
        .field(rel("model", nl("models"), |e: Env, v: ModelVersion, _a: J| async move {
            opt(e.platform.visible_model(&e.caller, v.model_id).await.map_err(gerr)?)
        }))
        .field(rel("model_tags", list_nn("model_tag"), |_e: Env, _v: ModelVersion, _a: J| async move { objs(Vec::<TagLink>::new()) }))
}

fn model_config() -> Object {
    Object::new("model_config")
        .field(col("id", nn("bigint"), |c: &ModelConfig| big(c.id)))
        .field(col("model_version_id", nn("bigint"), |c: &ModelConfig| big(c.model_version_id)))
        .field(col("filter_threshold", nl("float8"), |c: &ModelConfig| c.filter_threshold.map(Gv::from).unwrap_or(Gv::Null)))
        .field(col("runtime", nn("String"), |c: &ModelConfig| s(&c.runtime)))
        .field(col("tensor_fields", nl("jsonb"), |c: &ModelConfig| c.tensor_fields.as_ref().map(|t| json(&json!(t))).unwrap_or(Gv::Null)))
        .field(col("batch_config", nl("String"), |c: &ModelConfig| opt_s(c.batch_config.as_deref())))
        .field(col("dynamic_batching_config", nl("jsonb"), |c: &ModelConfig| c.dynamic_batching.as_ref().map(json).unwrap_or(Gv::Null)))
        .field(col("continuous_batching_config", nl("jsonb"), |c: &ModelConfig| c.continuous_batching.as_ref().map(json).unwrap_or(Gv::Null)))
        .field(col("openai", nl("jsonb"), |c: &ModelConfig| c.openai.as_ref().map(json).unwrap_or(Gv::Null)))
        .field(col("input_schema", nl("String"), |c: &ModelConfig| opt_s(c.input_schema.as_deref())))
        .field(col("output_schema", nl("String"), |c: &ModelConfig| opt_s(c.output_schema.as_deref())))
        .field(rel("model", nl("model"), |e: Env, c: ModelConfig, _a: J| async move {
            opt(e.platform.visible_model_version(&e.caller, c.model_version_id).await.map_err(gerr)?)
        }))
}

fn tag() -> Object {
    Object::new("tag").field(col("id", nn("bigint"), |_: &TagLink| Gv::Null)).field(col("tag", nn("String"), |_: &TagLink| Gv::Null))
}

fn tag_link(name: &str, left: &str, right: &str) -> Object {
    Object::new(name)
        .field(col("id", nn("bigint"), |_: &TagLink| Gv::Null))
        .field(col(left, nn("bigint"), |_: &TagLink| Gv::Null))
        .field(col(right, nn("bigint"), |_: &TagLink| Gv::Null))
        .field(col("tag", nn("tag"), |_: &TagLink| Gv::Null))
}
