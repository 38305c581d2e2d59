//! Pipeline creation and versions, deploy/undeploy, and deployment plans for the runtime.

use serde_json::Value;

use super::Platform;
use crate::model::{ModelConfig, ModelStatus, ModelVersion};
use crate::names::DnsName;
use crate::pipeline::*;
use crate::workspace::Workspace;
use crate::{Caller, Error, Result};

/// A deploy request as the API carries it.
#[derive(Debug, Clone, Default)]
pub struct DeployRequest {
    pub deploy_id: String,
    pub pipeline_version_pk_id: Option<i64>,
    pub pipeline_version: Option<String>,
    pub pipeline_id: Option<i64>,
    pub engine_config: Value,
}

/// One model a deployment runs, resolved.
#[derive(Debug, Clone)]
pub struct PlannedModel {
    pub reference: ModelRef,
    pub version: ModelVersion,
    pub config: ModelConfig,
}

/// Everything the runtime needs to start (or restart) a deployment.
#[derive(Debug, Clone)]
pub struct DeploymentPlan {
    pub deployment: Deployment,
    pub pipeline: Pipeline,
    pub version: PipelineVersion,
    pub steps: Vec<Step>,
    pub models: Vec<PlannedModel>,
}

/// A pipeline with what the API reports next to it.
#[derive(Debug, Clone)]
pub struct PipelineInfo {
    pub pipeline: Pipeline,
    pub workspace: Workspace,
    pub deployment: Option<Deployment>,
    pub versions: Vec<PipelineVersion>,
}

impl Platform {
    /// Creates a pipeline, or a new version when the name exists in the workspace. Steps are
    /// parsed and every model they name must exist in the workspace with the given sha.
    pub async fn create_pipeline(&self, caller: &Caller, name: &str, workspace_id: i64, definition: Value) -> Result<(Pipeline, PipelineVersion)> {
        self.workspace_for(caller, workspace_id).await?;
        let name = DnsName::parse("pipeline name", name)?;
        let definition = match definition {
            Value::Null => serde_json::json!({}),
            Value::Object(_) => definition,
            _ => return Err(Error::invalid("'definition' must be an object")),
        };
        let steps = parse_steps(&definition)?;
        let mut ids = Vec::new();
        for step in &steps {
            for m in step.models() {
                ids.push(self.resolve_model_ref(workspace_id, m).await?.id);
            }
        }
        self.store.create_pipeline_version(workspace_id, name.as_str(), &caller.email, &definition, &ids, self.clock.now_ms()).await
    }

    async fn resolve_model_ref(&self, workspace_id: i64, m: &ModelRef) -> Result<ModelVersion> {
        let v = self.store.find_model_version(&m.version).await?.filter(|v| v.workspace_id == workspace_id);
        let v = v.ok_or_else(|| Error::invalid(format!("model '{}' version '{}' does not exist in this workspace", m.name, m.version)))?;
        if v.name != m.name || v.sha != m.sha {
            return Err(Error::invalid(format!(
                "model version '{}' is '{}' with sha {}, not '{}' with sha {}",
                m.version, v.name, v.sha, m.name, m.sha
            )));
        }
        Ok(v)
    }

    async fn pipeline_info(&self, ws: Workspace, p: Pipeline) -> Result<PipelineInfo> {
        let deployment = self.store.deployment_for_pipeline(p.id).await?;
        let versions = self.store.list_pipeline_versions(p.id).await?;
        Ok(PipelineInfo { pipeline: p, workspace: ws, deployment, versions })
    }

    pub async fn pipeline_by_name(&self, caller: &Caller, workspace_id: i64, name: &str) -> Result<PipelineInfo> {
        let (ws, _) = self.workspace_for(caller, workspace_id).await?;
        let p = self.store.find_pipeline(workspace_id, name).await?;
        let p = p.ok_or_else(|| Error::not_found(format!("pipeline '{name}' not found in workspace {workspace_id}")))?;
        self.pipeline_info(ws, p).await
    }

    pub async fn pipeline_by_id(&self, caller: &Caller, pipeline_id: i64) -> Result<PipelineInfo> {
        let missing = || Error::not_found(format!("pipeline {pipeline_id} not found"));
        let p = self.store.get_pipeline(pipeline_id).await?.ok_or_else(missing)?;
        let (ws, _) = self.workspace_for(caller, p.workspace_id).await.map_err(|_| missing())?;
        self.pipeline_info(ws, p).await
    }

    pub async fn list_pipelines(&self, caller: &Caller, workspace: super::ModelSelector) -> Result<Vec<PipelineInfo>> {
        let ws_id = match workspace {
            super::ModelSelector::WorkspaceId(id) => id,
            super::ModelSelector::WorkspaceName(n) => self.store.find_workspace_by_name(&n).await?.ok_or_else(|| Error::not_found(format!("workspace '{n}' not found")))?.id,
        };
        let (ws, _) = self.workspace_for(caller, ws_id).await?;
        let mut out = Vec::new();
        for p in self.store.list_pipelines(ws_id).await? {
            out.push(self.pipeline_info(ws.clone(), p).await?);
        }
        Ok(out)
    }

    /// Pipelines of every workspace the caller can see (the SDK's `list_pipelines()` without a workspace).
    pub async fn list_all_pipelines(&self, caller: &Caller) -> Result<Vec<PipelineInfo>> {
        let mut out = Vec::new();
        for s in self.list_workspaces(caller, None).await? {
            for p in self.store.list_pipelines(s.workspace.id).await? {
                out.push(self.pipeline_info(s.workspace.clone(), p).await?);
            }
        }
        Ok(out)
    }

    pub async fn pipeline_version(&self, caller: &Caller, version_uuid: &str) -> Result<(Pipeline, PipelineVersion)> {
        let missing = || Error::not_found(format!("pipeline version '{version_uuid}' not found"));
        let v = self.store.find_pipeline_version(version_uuid).await?.ok_or_else(missing)?;
        let p = self.store.get_pipeline(v.pipeline_id).await?.ok_or_else(missing)?;
        self.workspace_for(caller, p.workspace_id).await.map_err(|_| missing())?;
        Ok((p, v))
    }

    /// Deletes a pipeline by name; refused (409) while it is deployed.
    pub async fn delete_pipeline(&self, caller: &Caller, workspace_id: i64, name: &str) -> Result<()> {
        let info = self.pipeline_by_name(caller, workspace_id, name).await?;
        if info.deployment.as_ref().is_some_and(|d| d.active) {
            return Err(Error::conflict(format!("pipeline '{name}' is deployed; undeploy it first")));
        }
        self.store.delete_pipeline(info.pipeline.id).await
    }

    /// Deletes versions by UUID; refused (409) for the deployed version.
    pub async fn delete_pipeline_versions(&self, caller: &Caller, uuids: &[String]) -> Result<()> {
        let mut ids = Vec::new();
        for u in uuids {
            let (p, v) = self.pipeline_version(caller, u).await?;
            let dep = self.store.deployment_for_pipeline(p.id).await?;
            if dep.is_some_and(|d| d.active && d.pipeline_version_id == v.id) {
                return Err(Error::conflict(format!("pipeline version '{u}' is deployed; undeploy it first")));
            }
            ids.push(v.id);
        }
        self.store.delete_pipeline_versions(&ids).await
    }

    /// Records the desired deployment and returns the plan the runtime starts.
    pub async fn deploy(&self, caller: &Caller, req: DeployRequest) -> Result<DeploymentPlan> {
        let version = match (req.pipeline_version_pk_id, &req.pipeline_version, req.pipeline_id) {
            (Some(pk), _, _) => self.store.get_pipeline_version(pk).await?,
            (None, Some(uuid), _) => self.store.find_pipeline_version(uuid).await?,
            (None, None, Some(pid)) => self.store.list_pipeline_versions(pid).await?.pop(),
            (None, None, None) => return Err(Error::invalid("give 'pipeline_version_pk_id', 'pipeline_version' or 'pipeline_id'")),
        };
        let missing = || Error::not_found("pipeline version not found");
        let version = version.ok_or_else(missing)?;
        let pipeline = self.store.get_pipeline(version.pipeline_id).await?.ok_or_else(missing)?;
        self.workspace_for(caller, pipeline.workspace_id).await.map_err(|_| missing())?;
        let deploy_id = DnsName::parse("deploy_id", &req.deploy_id)?;
        if !req.engine_config.is_null() && !req.engine_config.is_object() {
            return Err(Error::invalid("'engine_config' must be an object"));
        }
        // Resolve everything the plan needs before recording the deployment, so a deploy that
        // cannot work leaves nothing activated.
        let (steps, models) = self.resolve_plan(&pipeline, &version).await?;
        let deployment = self.store.activate_deployment(pipeline.id, deploy_id.as_str(), version.id, &req.engine_config, self.clock.now_ms()).await?;
        Ok(DeploymentPlan { deployment, pipeline, version, steps, models })
    }

    /// Deploys an undeployed deployment again with the pipeline version and engine config it
    /// last had (GraphQL `update_deployment_by_pk(_set: {deployed: true})`). `None` when it is
    /// already deployed (nothing to do).
    pub async fn redeploy(&self, caller: &Caller, deployment_id: i64) -> Result<Option<DeploymentPlan>> {
        let missing = || Error::not_found("deployment not found");
        let dep = self.store.get_deployment(deployment_id).await?.ok_or_else(missing)?;
        let pipeline = self.store.get_pipeline(dep.pipeline_id).await?.ok_or_else(missing)?;
        self.workspace_for(caller, pipeline.workspace_id).await.map_err(|_| missing())?;
        if dep.active {
            return Ok(None);
        }
        let version = self.store.get_pipeline_version(dep.pipeline_version_id).await?.ok_or_else(|| Error::not_found("the deployment's pipeline version no longer exists"))?;
        let (steps, models) = self.resolve_plan(&pipeline, &version).await?;
        let deployment = self.store.activate_deployment(pipeline.id, &dep.deploy_id, version.id, &dep.engine_config, self.clock.now_ms()).await?;
        Ok(Some(DeploymentPlan { deployment, pipeline, version, steps, models }))
    }

    /// Marks the deployment undeployed (by deployment id, else by pipeline id).
    pub async fn undeploy(&self, caller: &Caller, deployment_id: Option<i64>, pipeline_id: Option<i64>) -> Result<Deployment> {
        let dep = match (deployment_id, pipeline_id) {
            (Some(id), _) => self.store.get_deployment(id).await?,
            (None, Some(pid)) => self.store.deployment_for_pipeline(pid).await?,
            (None, None) => return Err(Error::invalid("give 'deployment_id' or 'pipeline_id'")),
        };
        let missing = || Error::not_found("deployment not found");
        let dep = dep.ok_or_else(missing)?;
        let p = self.store.get_pipeline(dep.pipeline_id).await?.ok_or_else(missing)?;
        self.workspace_for(caller, p.workspace_id).await.map_err(|_| missing())?;
        self.store.deactivate_deployment(dep.id, self.clock.now_ms()).await?;
        Ok(dep)
    }

    /// The active deployment called `"{deploy_id}-{id}"`, if the caller may see it.
    pub async fn active_deployment(&self, caller: &Caller, name: &str) -> Result<(Deployment, Pipeline)> {
        let missing = || Error::not_found(format!("deployment '{name}' not found"));
        let (deploy_id, id) = parse_deployment_name(name).ok_or_else(missing)?;
        let dep = self.store.get_deployment(id).await?.filter(|d| d.active && d.deploy_id == deploy_id).ok_or_else(missing)?;
        let p = self.store.get_pipeline(dep.pipeline_id).await?.ok_or_else(missing)?;
        self.workspace_for(caller, p.workspace_id).await.map_err(|_| missing())?;
        Ok((dep, p))
    }

    /// Resolves a deployment's pipeline version and models (used after restarts).
    pub async fn plan_for(&self, deployment: Deployment) -> Result<DeploymentPlan> {
        let version = self.store.get_pipeline_version(deployment.pipeline_version_id).await?.ok_or_else(|| Error::not_found("pipeline version not found"))?;
        let pipeline = self.store.get_pipeline(deployment.pipeline_id).await?.ok_or_else(|| Error::not_found("pipeline not found"))?;
        let (steps, models) = self.resolve_plan(&pipeline, &version).await?;
        Ok(DeploymentPlan { deployment, pipeline, version, steps, models })
    }

    async fn resolve_plan(&self, pipeline: &Pipeline, version: &PipelineVersion) -> Result<(Vec<Step>, Vec<PlannedModel>)> {
        let steps = parse_steps(&version.definition)?;
        let mut models: Vec<PlannedModel> = Vec::new();
        for step in &steps {
            for m in step.models() {
                if models.iter().any(|p| p.reference.version == m.version) {
                    continue;
                }
                let v = self.resolve_model_ref(pipeline.workspace_id, m).await?;
                let config = self.store.latest_config(v.id).await?.ok_or_else(|| Error::internal("model version without config"))?;
                models.push(PlannedModel { reference: m.clone(), version: v, config });
            }
        }
        Ok((steps, models))
    }

    /// Refreshes the models' status (the runtime waits for `ready`).
    pub async fn model_statuses(&self, plan: &DeploymentPlan) -> Result<Vec<(String, ModelStatus, Option<String>)>> {
        let mut out = Vec::new();
        for m in &plan.models {
            let v = self.store.get_model_version(m.version.id).await?.ok_or_else(|| Error::invalid(format!("model '{}' was deleted", m.reference.name)))?;
            out.push((v.name.clone(), v.status, v.error_summary.clone()));
        }
        Ok(out)
    }

    /// Every deployment that should be running (restored after a restart).
    pub async fn active_deployments(&self) -> Result<Vec<Deployment>> {
        self.store.list_active_deployments().await
    }

    /// The log topic of a pipeline named by id or by workspace + name.
    pub async fn topic_name(&self, caller: &Caller, pipeline_pk: Option<i64>, workspace_id: Option<i64>, name: Option<&str>) -> Result<String> {
        caller.require_user()?;
        let info = match (pipeline_pk, workspace_id, name) {
            (Some(pk), _, _) => self.pipeline_by_id(caller, pk).await?,
            (None, Some(ws), Some(n)) => self.pipeline_by_name(caller, ws, n).await?,
            (None, None, Some(n)) => {
                let mut found = None;
                for s in self.list_workspaces(caller, None).await? {
                    if let Some(p) = self.store.find_pipeline(s.workspace.id, n).await? {
                        found = Some(self.pipeline_info(s.workspace, p).await?);
                        break;
                    }
                }
                found.ok_or_else(|| Error::not_found(format!("pipeline '{n}' not found")))?
            }
            _ => return Err(Error::invalid("give 'pipeline_pk_id', or 'pipeline_name' (with 'workspace_id')")),
        };
        Ok(topic_name(info.workspace.id, &info.pipeline.name))
    }
}
