//! What the GraphQL endpoint (`/v1/graphql`) reads, plus its one write (`insert_workspace_one`).
//!
//! Same authorization as the REST API: every method takes the `Caller`, and a row that lives in a
//! workspace the caller is not a member of is reported exactly like a missing one (`None`, or left
//! out of a list). Admins see every workspace. Service-account tokens are refused (403).

use super::Platform;
use crate::model::{Model, ModelConfig, ModelVersion, ModelWithVersions};
use crate::names::WorkspaceName;
use crate::pipeline::{parse_steps, Deployment, Pipeline, PipelineVersion};
use crate::workspace::{default_workspace_name, Member, Role, Workspace};
use crate::{Caller, Error, Result};

/// `NotFound` becomes `None`; every other error stays an error.
fn absent<T>(r: Result<T>) -> Result<Option<T>> {
    match r {
        Ok(v) => Ok(Some(v)),
        Err(Error::NotFound(_)) => Ok(None),
        Err(e) => Err(e),
    }
}

impl Platform {
    async fn may_see(&self, caller: &Caller, workspace_id: i64) -> Result<bool> {
        Ok(absent(self.workspace_for(caller, workspace_id).await)?.is_some())
    }

    async fn seen<T>(&self, caller: &Caller, row: Option<T>, workspace_of: impl Fn(&T) -> i64) -> Result<Option<T>> {
        caller.require_user()?;
        match row {
            Some(r) if self.may_see(caller, workspace_of(&r)).await? => Ok(Some(r)),
            _ => Ok(None),
        }
    }

    /// A workspace the caller is a member of (admins: any).
    pub async fn visible_workspace(&self, caller: &Caller, id: i64) -> Result<Option<Workspace>> {
        Ok(absent(self.workspace_for(caller, id).await)?.map(|(w, _)| w))
    }

    /// Every workspace the caller may see, ordered by id.
    pub async fn visible_workspaces(&self, caller: &Caller) -> Result<Vec<Workspace>> {
        Ok(self.list_workspaces(caller, None).await?.into_iter().map(|s| s.workspace).collect())
    }

    /// Members of a visible workspace (empty for an invisible one).
    pub async fn visible_members(&self, caller: &Caller, workspace_id: i64) -> Result<Vec<Member>> {
        Ok(absent(self.list_workspace_users(caller, workspace_id).await)?.unwrap_or_default())
    }

    /// The named model (a collection of versions).
    pub async fn visible_model(&self, caller: &Caller, id: i64) -> Result<Option<Model>> {
        let m = self.store.get_model(id).await?;
        self.seen(caller, m, |m| m.workspace_id).await
    }

    /// The models of a workspace with their versions and current configs.
    pub async fn visible_models(&self, caller: &Caller, workspace_id: i64) -> Result<Vec<ModelWithVersions>> {
        if !self.may_see(caller, workspace_id).await? {
            return Ok(Vec::new());
        }
        self.store.list_models(workspace_id).await
    }

    /// The versions of a named model, oldest first.
    pub async fn visible_model_versions_of(&self, caller: &Caller, model_id: i64) -> Result<Vec<ModelVersion>> {
        let m = self.store.model_with_versions(model_id).await?;
        let m = self.seen(caller, m, |m| m.model.workspace_id).await?;
        let mut out: Vec<ModelVersion> = m.map(|m| m.versions.into_iter().map(|(v, _)| v).collect()).unwrap_or_default();
        out.sort_by_key(|v| v.id);
        Ok(out)
    }

    /// One model version by id.
    pub async fn visible_model_version(&self, caller: &Caller, id: i64) -> Result<Option<ModelVersion>> {
        let v = self.store.get_model_version(id).await?;
        self.seen(caller, v, |v| v.workspace_id).await
    }

    /// One model version by its version UUID.
    pub async fn visible_model_version_by_uuid(&self, caller: &Caller, version: &str) -> Result<Option<ModelVersion>> {
        let v = self.store.find_model_version(version).await?;
        self.seen(caller, v, |v| v.workspace_id).await
    }

    /// One model config by id (visible when its model version is).
    pub async fn visible_model_config(&self, caller: &Caller, id: i64) -> Result<Option<ModelConfig>> {
        let Some(c) = self.store.get_config(id).await? else {
            caller.require_user()?;
            return Ok(None);
        };
        Ok(self.visible_model_version(caller, c.model_version_id).await?.map(|_| c))
    }

    /// One pipeline by id.
    pub async fn visible_pipeline(&self, caller: &Caller, id: i64) -> Result<Option<Pipeline>> {
        let p = self.store.get_pipeline(id).await?;
        self.seen(caller, p, |p| p.workspace_id).await
    }

    /// The pipelines of a visible workspace (empty for an invisible one).
    pub async fn visible_pipelines(&self, caller: &Caller, workspace_id: i64) -> Result<Vec<Pipeline>> {
        if !self.may_see(caller, workspace_id).await? {
            return Ok(Vec::new());
        }
        self.store.list_pipelines(workspace_id).await
    }

    /// The versions of a visible pipeline, oldest first.
    pub async fn visible_pipeline_versions(&self, caller: &Caller, pipeline_id: i64) -> Result<Vec<PipelineVersion>> {
        match self.visible_pipeline(caller, pipeline_id).await? {
            Some(p) => self.store.list_pipeline_versions(p.id).await,
            None => Ok(Vec::new()),
        }
    }

    /// One pipeline version by id.
    pub async fn visible_pipeline_version(&self, caller: &Caller, id: i64) -> Result<Option<PipelineVersion>> {
        let Some(v) = self.store.get_pipeline_version(id).await? else {
            caller.require_user()?;
            return Ok(None);
        };
        Ok(self.visible_pipeline(caller, v.pipeline_id).await?.map(|_| v))
    }

    /// One deployment row by id (deployed or not).
    pub async fn visible_deployment(&self, caller: &Caller, id: i64) -> Result<Option<Deployment>> {
        let Some(d) = self.store.get_deployment(id).await? else {
            caller.require_user()?;
            return Ok(None);
        };
        Ok(self.visible_pipeline(caller, d.pipeline_id).await?.map(|_| d))
    }

    /// The deployment row of a pipeline, if it was ever deployed.
    pub async fn visible_pipeline_deployment(&self, caller: &Caller, pipeline_id: i64) -> Result<Option<Deployment>> {
        match self.visible_pipeline(caller, pipeline_id).await? {
            Some(p) => self.store.deployment_for_pipeline(p.id).await,
            None => Ok(None),
        }
    }

    /// The current configs of the model versions a pipeline version's steps name, in step order
    /// without repeats. Models that no longer exist are left out.
    pub async fn version_model_configs(&self, caller: &Caller, version: &PipelineVersion) -> Result<Vec<ModelConfig>> {
        let Some(p) = self.visible_pipeline(caller, version.pipeline_id).await? else { return Ok(Vec::new()) };
        let mut out: Vec<ModelConfig> = Vec::new();
        for step in parse_steps(&version.definition).unwrap_or_default() {
            for m in step.models() {
                let v = self.store.find_model_version(&m.version).await?.filter(|v| v.workspace_id == p.workspace_id);
                let Some(v) = v else { continue };
                if let Some(c) = self.store.latest_config(v.id).await? {
                    if !out.iter().any(|o| o.model_version_id == c.model_version_id) {
                        out.push(c);
                    }
                }
            }
        }
        Ok(out)
    }

    /// The caller's `"<email> - Default Workspace"`, if it exists and they may see it.
    pub async fn default_workspace(&self, caller: &Caller) -> Result<Option<Workspace>> {
        caller.require_user()?;
        match self.store.find_workspace_by_name(&default_workspace_name(&caller.email)).await? {
            Some(ws) => self.visible_workspace(caller, ws.id).await,
            None => Ok(None),
        }
    }

    /// The id of the user with this email (pipelines record their creator by email).
    pub async fn user_id_by_email(&self, caller: &Caller, email: &str) -> Result<Option<String>> {
        caller.require_user()?;
        Ok(self.store.find_user_by_email(email).await?.map(|u| u.id))
    }

    /// Creates a workspace owned by `owner_id` (default: the caller; only admins may name someone
    /// else) and adds `members` (`(user_id, user_type)`). When the name is taken and
    /// `existing_ok` is set, the existing workspace is returned if the caller may see it
    /// (Hasura's `on_conflict` with no update columns); otherwise it is a `Conflict`.
    pub async fn insert_workspace(&self, caller: &Caller, name: &str, owner_id: Option<&str>, members: &[(String, Option<String>)], existing_ok: bool) -> Result<Workspace> {
        caller.require_user()?;
        let name = WorkspaceName::parse(name)?;
        let owner = match owner_id.filter(|o| !o.is_empty()) {
            None => caller.user_id.clone(),
            Some(o) if o == caller.user_id => o.to_string(),
            Some(o) if caller.is_admin => self.store.get_user(o).await?.ok_or_else(|| Error::invalid(format!("no user with id '{o}'")))?.id,
            Some(_) => return Err(Error::forbidden("only admins may create a workspace owned by another user")),
        };
        if let Some(ws) = self.store.find_workspace_by_name(name.as_str()).await? {
            let conflict = || Error::conflict(format!("workspace '{}' already exists", name.as_str()));
            if !existing_ok {
                return Err(conflict());
            }
            return self.visible_workspace(caller, ws.id).await?.ok_or_else(conflict);
        }
        let mut roles = Vec::new();
        for (user_id, user_type) in members.iter().filter(|(u, _)| *u != owner) {
            let role = Role::parse(user_type.as_deref())?;
            let user = self.store.get_user(user_id).await?.ok_or_else(|| Error::invalid(format!("no user with id '{user_id}'")))?;
            roles.push((user.id, role));
        }
        let ws = self.store.create_workspace(name.as_str(), &owner, self.clock.now_ms()).await?;
        for (user_id, role) in roles {
            self.store.put_member(ws.id, &user_id, role).await?;
        }
        Ok(ws)
    }
}
