//! Object types of pipelines and deployments: `pipeline`, `pipeline_version`, `pipeline_publish`
//! (always empty: no edge publishing in Joey), `deployment`, `deployment_model_configs` (+ its
//! aggregate) and `deployment_pipeline_version`.
//!
//! Joey keeps one deployment row per pipeline and records only the version it runs now, so a
//! deployment's `deployment_pipeline_versions` is that one version, and `deployment_model_configs`
//! are the current configs of the models that version's steps name.

use async_graphql::dynamic::{Enum, InputValue, Object};
use async_graphql::Value as Gv;
use joey_core::model::ModelConfig;
use joey_core::pipeline::{Deployment, Pipeline, PipelineVersion};
use serde_json::{json, Value as J};

use crate::filter::{distinct_on, list_args, select};
use crate::support::*;
use crate::types_ws::TagLink;

/// A model config as used by a deployment (or named by a pipeline version's steps).
#[derive(Clone)]
pub(crate) struct Dmc {
    pub deployment_id: Option<i64>,
    pub config: ModelConfig,
}

/// `deployment_model_configs_aggregate { nodes }`.
#[derive(Clone)]
pub(crate) struct DmcAggregate(Vec<Dmc>);

/// The link between a deployment and the pipeline version it runs.
#[derive(Clone)]
pub(crate) struct Dpv(pub Deployment);

/// An edge publish (never produced).
#[derive(Clone)]
pub(crate) struct Publish;

pub(crate) fn view_pipeline(p: &Pipeline, workspace: J) -> J {
    json!({"id": p.id, "pipeline_id": p.name, "visibility": "private", "workspace_id": p.workspace_id,
           "created_at": ts_ms(p.created_at_ms), "updated_at": ts_ms(p.updated_at_ms), "workspace": workspace})
}

pub(crate) fn view_version(v: &PipelineVersion) -> J {
    json!({"id": v.id, "version": v.version, "pipeline_id": v.pipeline_id, "created_at": ts_ms(v.created_at_ms), "updated_at": ts_ms(v.created_at_ms)})
}

pub(crate) fn view_deployment(d: &Deployment) -> J {
    json!({"id": d.id, "deploy_id": d.deploy_id, "deployed": d.active, "pipeline_id": d.pipeline_id})
}

fn view_dpv(l: &Dpv) -> J {
    let d = &l.0;
    json!({"id": d.id, "deployment_id": d.id, "pipeline_version_id": d.pipeline_version_id, "created_at": ts_ms(d.updated_at_ms),
           "updated_at": ts_ms(d.updated_at_ms), "pipeline_version": {"id": d.pipeline_version_id}})
}

fn view_dmc(c: &Dmc) -> J {
    json!({"id": c.config.id, "deployment_id": c.deployment_id, "model_config_id": c.config.id})
}

pub(crate) fn types() -> Vec<Object> {
    vec![pipeline(), pipeline_version(), publish(), deployment(), dmc(), dmc_aggregate(), dpv()]
}

pub(crate) fn dmc_select_column() -> Enum {
    Enum::new("deployment_model_configs_select_column").items(["deployment_id", "id", "model_config_id"])
}

async fn configs_of(e: &Env, version_id: i64, deployment_id: Option<i64>) -> async_graphql::Result<Vec<Dmc>> {
    let Some(v) = e.platform.visible_pipeline_version(&e.caller, version_id).await.map_err(gerr)? else { return Ok(Vec::new()) };
    let configs = e.platform.version_model_configs(&e.caller, &v).await.map_err(gerr)?;
    Ok(configs.into_iter().map(|config| Dmc { deployment_id, config }).collect())
}

fn pipeline() -> Object {
    Object::new("pipeline")
        .field(col("id", nn("bigint"), |p: &Pipeline| big(p.id)))
        .field(col("pipeline_id", nn("String"), |p: &Pipeline| s(&p.name)))
        .field(col("visibility", nn("String"), |_: &Pipeline| s("private")))
        .field(col("workspace_id", nn("bigint"), |p: &Pipeline| big(p.workspace_id)))
        .field(col("created_by", nl("String"), |p: &Pipeline| s(&p.created_by)))
        .field(col("created_at", nn("timestamptz"), |p: &Pipeline| s(&ts_ms(p.created_at_ms))))
        .field(col("updated_at", nn("timestamptz"), |p: &Pipeline| s(&ts_ms(p.updated_at_ms))))
        .field(rel("owner_id", nn("String"), |e: Env, p: Pipeline, _a: J| async move {
            let id = e.platform.user_id_by_email(&e.caller, &p.created_by).await.map_err(gerr)?;
            Ok(Some(async_graphql::dynamic::FieldValue::value(id.unwrap_or(p.created_by))))
        }))
        .field(rel("workspace", nl("workspace"), |e: Env, p: Pipeline, _a: J| async move {
            opt(e.platform.visible_workspace(&e.caller, p.workspace_id).await.map_err(gerr)?)
        }))
        .field(list_args(
            rel("pipeline_versions", list_nn("pipeline_version"), |e: Env, p: Pipeline, a: J| async move {
                let versions = e.platform.visible_pipeline_versions(&e.caller, p.id).await.map_err(gerr)?;
                objs(select(versions, &a, view_version))
            }),
            "pipeline_version",
            true,
        ))
        .field(rel("pipeline_tags", list_nn("pipeline_tag"), |_e: Env, _p: Pipeline, _a: J| async move { objs(Vec::<TagLink>::new()) }))
        .field(rel("deployment", nl("deployment"), |e: Env, p: Pipeline, _a: J| async move {
            opt(e.platform.visible_pipeline_deployment(&e.caller, p.id).await.map_err(gerr)?)
        }))
}

fn pipeline_version() -> Object {
    Object::new("pipeline_version")
        .field(col("id", nn("bigint"), |v: &PipelineVersion| big(v.id)))
        .field(col("version", nn("String"), |v: &PipelineVersion| s(&v.version)))
        .field(col("definition", nn("jsonb"), |v: &PipelineVersion| json(&v.definition)))
        .field(col("pipeline_id", nn("bigint"), |v: &PipelineVersion| big(v.pipeline_id)))
        .field(col("created_on_version", nn("String"), |_: &PipelineVersion| s(VERSION)))
        .field(col("created_by", nl("String"), |v: &PipelineVersion| s(&v.created_by)))
        .field(col("created_at", nn("timestamptz"), |v: &PipelineVersion| s(&ts_ms(v.created_at_ms))))
        .field(col("updated_at", nn("timestamptz"), |v: &PipelineVersion| s(&ts_ms(v.created_at_ms))))
        .field(rel("pipeline", nl("pipeline"), |e: Env, v: PipelineVersion, _a: J| async move {
            opt(e.platform.visible_pipeline(&e.caller, v.pipeline_id).await.map_err(gerr)?)
        }))
        .field(rel("deployment_pipeline_versions", list_nn("deployment_pipeline_version"), |e: Env, v: PipelineVersion, _a: J| async move {
            let dep = e.platform.visible_pipeline_deployment(&e.caller, v.pipeline_id).await.map_err(gerr)?;
            objs(dep.filter(|d| d.pipeline_version_id == v.id).map(Dpv))
        }))
        .field(rel("deployment_model_configs", list_nn("deployment_model_configs"), |e: Env, v: PipelineVersion, _a: J| async move {
            objs(configs_of(&e, v.id, None).await?)
        }))
        .field(rel("pipeline_publishes", list_nn("pipeline_publish"), |_e: Env, _v: PipelineVersion, _a: J| async move { objs(Vec::<Publish>::new()) }))
}

fn publish() -> Object {
    let mut o = Object::new("pipeline_publish").description("edge publishes; always empty in Joey");
    for (name, ty) in [
        ("id", nn("bigint")), ("pipeline_version_id", nn("bigint")), ("status", nn("String")), ("chart_url", nl("String")),
        ("engine_url", nl("String")), ("pipeline_url", nl("String")), ("engine_config", nl("jsonb")), ("user_images", nl("jsonb")),
        ("created_by", nl("String")), ("created_on_version", nn("String")), ("created_at", nn("timestamptz")), ("updated_at", nn("timestamptz")),
    ] {
        o = o.field(col(name, ty, |_: &Publish| Gv::Null));
    }
    o
}

fn deployment() -> Object {
    Object::new("deployment")
        .field(col("id", nn("bigint"), |d: &Deployment| big(d.id)))
        .field(col("deploy_id", nn("String"), |d: &Deployment| s(&d.deploy_id)))
        .field(col("deployed", nn("Boolean"), |d: &Deployment| Gv::Boolean(d.active)))
        .field(col("engine_config", nl("jsonb"), |d: &Deployment| json(&d.engine_config)))
        .field(col("limit_status", nl("String"), |_: &Deployment| Gv::Null))
        .field(col("pipeline_id", nn("bigint"), |d: &Deployment| big(d.pipeline_id)))
        .field(col("created_at", nn("timestamptz"), |d: &Deployment| s(&ts_ms(d.created_at_ms))))
        .field(col("updated_at", nn("timestamptz"), |d: &Deployment| s(&ts_ms(d.updated_at_ms))))
        .field(rel("pipeline", nl("pipeline"), |e: Env, d: Deployment, _a: J| async move {
            opt(e.platform.visible_pipeline(&e.caller, d.pipeline_id).await.map_err(gerr)?)
        }))
        .field(rel("deployment_model_configs", list_nn("deployment_model_configs"), |e: Env, d: Deployment, _a: J| async move {
            objs(configs_of(&e, d.pipeline_version_id, Some(d.id)).await?)
        }))
        .field(
            rel("deployment_model_configs_aggregate", nn("deployment_model_configs_aggregate"), |e: Env, d: Deployment, a: J| async move {
                let rows = configs_of(&e, d.pipeline_version_id, Some(d.id)).await?;
                let rows = distinct_on(rows, a.get("distinct_on").unwrap_or(&J::Null), view_dmc);
                opt(Some(DmcAggregate(rows)))
            })
            .argument(InputValue::new("distinct_on", async_graphql::dynamic::TypeRef::named_nn_list("deployment_model_configs_select_column"))),
        )
        .field(list_args(
            rel("deployment_pipeline_versions", list_nn("deployment_pipeline_version"), |_e: Env, d: Deployment, a: J| async move {
                objs(select(vec![Dpv(d)], &a, view_dpv))
            }),
            "deployment_pipeline_version",
            true,
        ))
}

fn dmc() -> Object {
    Object::new("deployment_model_configs")
        .field(col("id", nn("bigint"), |c: &Dmc| big(c.config.id)))
        .field(col("deployment_id", nl("bigint"), |c: &Dmc| c.deployment_id.map(big).unwrap_or(Gv::Null)))
        .field(col("model_config_id", nn("bigint"), |c: &Dmc| big(c.config.id)))
        .field(rel("model_config", nn("model_config"), |_e: Env, c: Dmc, _a: J| async move { opt(Some(c.config)) }))
        .field(rel("deployment", nl("deployment"), |e: Env, c: Dmc, _a: J| async move {
            match c.deployment_id {
                Some(id) => opt(e.platform.visible_deployment(&e.caller, id).await.map_err(gerr)?),
                None => Ok(None),
            }
        }))
}

fn dmc_aggregate() -> Object {
    Object::new("deployment_model_configs_aggregate")
        .field(rel("nodes", list_nn("deployment_model_configs"), |_e: Env, agg: DmcAggregate, _a: J| async move { objs(agg.0) }))
}

fn dpv() -> Object {
    Object::new("deployment_pipeline_version")
        .field(col("id", nn("bigint"), |l: &Dpv| big(l.0.id)))
        .field(col("deployment_id", nn("bigint"), |l: &Dpv| big(l.0.id)))
        .field(col("pipeline_version_id", nn("bigint"), |l: &Dpv| big(l.0.pipeline_version_id)))
        .field(col("created_at", nn("timestamptz"), |l: &Dpv| s(&ts_ms(l.0.updated_at_ms))))
        .field(col("updated_at", nn("timestamptz"), |l: &Dpv| s(&ts_ms(l.0.updated_at_ms))))
        .field(rel("deployment", nn("deployment"), |_e: Env, l: Dpv, _a: J| async move { opt(Some(l.0)) }))
        .field(rel("pipeline_version", nl("pipeline_version"), |e: Env, l: Dpv, _a: J| async move {
            opt(e.platform.visible_pipeline_version(&e.caller, l.0.pipeline_version_id).await.map_err(gerr)?)
        }))
}
