//! Model uploads, versions, configs, loading and deletes.

use super::Platform;
use crate::model::*;
use crate::names::DnsName;
use crate::{Caller, Error, Result};

/// Upload metadata (from the multipart `metadata` part or the `upload_stream` query string).
#[derive(Debug, Clone)]
pub struct UploadMeta {
    pub workspace_id: i64,
    pub name: String,
    pub visibility: String,
    /// The `conversion` object; `framework` defaults to `onnx` when absent.
    pub conversion: serde_json::Value,
    pub file_name: String,
    pub input_schema: Option<String>,
    pub output_schema: Option<String>,
}

/// How `models/list` names the workspace.
#[derive(Debug, Clone)]
pub enum ModelSelector {
    WorkspaceId(i64),
    WorkspaceName(String),
}

impl Platform {
    /// Registers a staged, hashed file as a new version of `meta.name` (a new model if the name is
    /// new in the workspace). The bytes are committed content-addressed; nothing is left behind on
    /// failure. The caller then runs [`Platform::load_model_version`] in the background.
    pub async fn upload_model(&self, caller: &Caller, meta: UploadMeta, staged: &std::path::Path, sha: &str, size: u64) -> Result<(ModelVersion, ModelConfig)> {
        self.workspace_for(caller, meta.workspace_id).await?;
        let name = DnsName::parse("model name", &meta.name)?;
        let mut conversion = match meta.conversion {
            serde_json::Value::Null => serde_json::json!({}),
            serde_json::Value::Object(m) => serde_json::Value::Object(m),
            _ => return Err(Error::invalid("'conversion' must be an object")),
        };
        let framework = Framework::parse(conversion.get("framework").and_then(|f| f.as_str()).unwrap_or("onnx"))?;
        conversion["framework"] = framework.as_str().into();
        if conversion.get("requirements").is_none() {
            conversion["requirements"] = serde_json::json!([]);
        }
        if !["public", "private"].contains(&meta.visibility.as_str()) {
            return Err(Error::invalid(format!("visibility must be 'public' or 'private', not '{}'", meta.visibility)));
        }
        self.artifacts.commit(staged, sha).await?;
        let status = if framework.is_native() { ModelStatus::PendingLoadNative } else { ModelStatus::PendingLoadContainer };
        let config = ModelConfig {
            runtime: framework.runtime().to_string(),
            input_schema: meta.input_schema,
            output_schema: meta.output_schema,
            ..Default::default()
        };
        let new = NewModelVersion {
            workspace_id: meta.workspace_id,
            name: name.into_string(),
            version: uuid::Uuid::new_v4().to_string(),
            sha: sha.to_string(),
            file_name: meta.file_name,
            size: size as i64,
            status,
            visibility: meta.visibility,
            conversion,
            created_by: caller.email.clone(),
            owner_id: caller.user_id.clone(),
            config,
        };
        let now = self.clock.now_ms();
        let created = match self.store.create_model_version(new, now).await {
            Ok(c) => c,
            Err(e) => {
                if !self.store.sha_referenced(sha).await.unwrap_or(true) {
                    let _ = self.artifacts.delete(sha).await;
                }
                return Err(e);
            }
        };
        let line = format!("received {} ({size} bytes, sha256 {sha}); framework {}", created.0.file_name, framework.as_str());
        self.store.append_upload_log(created.0.id, &line, now).await?;
        Ok(created)
    }

    /// Opens the version with its runtime and records the outcome: `ready` with the signature, or
    /// `error` with a readable summary. Runs without a caller (a background step after upload).
    pub async fn load_model_version(&self, version_id: i64) -> Result<ModelStatus> {
        let v = self.store.get_model_version(version_id).await?.ok_or_else(|| Error::not_found(format!("model version {version_id} not found")))?;
        let framework = v.framework().to_string();
        let log = |line: String| async move { self.store.append_upload_log(version_id, &line, self.clock.now_ms()).await };
        if !self.inspector.supports(&framework) {
            let summary = format!("no runtime for framework '{framework}' in Joey yet: only 'onnx' models run natively; containerized runtimes are not built");
            log(summary.clone()).await?;
            self.store.set_model_status(version_id, ModelStatus::Error, Some(&summary), None).await?;
            return Ok(ModelStatus::Error);
        }
        self.store.set_model_status(version_id, ModelStatus::AttemptingLoadNative, None, None).await?;
        log("opening the model with ONNX Runtime".into()).await?;
        let path = self.artifacts.local_path(&v.sha).await?;
        match self.inspector.inspect(&framework, &path).await {
            Ok(sig) => {
                log(format!("loaded: inputs {}; outputs {}", describe(&sig.inputs), describe(&sig.outputs))).await?;
                self.store.set_model_status(version_id, ModelStatus::Ready, None, Some(&sig)).await?;
                Ok(ModelStatus::Ready)
            }
            Err(why) => {
                let summary = format!("the file could not be loaded as an ONNX model: {why}");
                log(summary.clone()).await?;
                self.store.set_model_status(version_id, ModelStatus::Error, Some(&summary), None).await?;
                Ok(ModelStatus::Error)
            }
        }
    }

    /// Re-runs loading for versions a restart interrupted.
    pub async fn resume_pending_loads(&self) -> Result<Vec<i64>> {
        let mut ids = Vec::new();
        for status in [ModelStatus::PendingLoadNative, ModelStatus::AttemptingLoadNative, ModelStatus::PendingLoadContainer] {
            for v in self.store.versions_in_status(status).await? {
                ids.push(v.id);
            }
        }
        Ok(ids)
    }

    pub async fn list_models(&self, caller: &Caller, sel: ModelSelector) -> Result<(crate::workspace::Workspace, Vec<ModelWithVersions>)> {
        let ws_id = match sel {
            ModelSelector::WorkspaceId(id) => id,
            ModelSelector::WorkspaceName(n) => self.store.find_workspace_by_name(&n).await?.ok_or_else(|| Error::not_found(format!("workspace '{n}' not found")))?.id,
        };
        let (ws, _) = self.workspace_for(caller, ws_id).await?;
        Ok((ws, self.store.list_models(ws_id).await?))
    }

    /// A model with its versions, if the caller may see it.
    pub async fn get_model(&self, caller: &Caller, model_id: i64) -> Result<(crate::workspace::Workspace, ModelWithVersions)> {
        let missing = || Error::not_found(format!("model {model_id} not found"));
        let m = self.store.model_with_versions(model_id).await?.ok_or_else(missing)?;
        let (ws, _) = self.workspace_for(caller, m.model.workspace_id).await.map_err(|_| missing())?;
        Ok((ws, m))
    }

    /// A version and its current config, if the caller may see it.
    pub async fn get_model_version(&self, caller: &Caller, version_id: i64) -> Result<(ModelVersion, ModelConfig)> {
        let missing = || Error::not_found(format!("model version {version_id} not found"));
        let v = self.store.get_model_version(version_id).await?.ok_or_else(missing)?;
        self.workspace_for(caller, v.workspace_id).await.map_err(|_| missing())?;
        let config = self.store.latest_config(version_id).await?.ok_or_else(|| Error::internal(format!("model version {version_id} has no config")))?;
        Ok((v, config))
    }

    /// Versions of the models called `name` in the caller's workspaces (or of model `pk`).
    pub async fn list_versions(&self, caller: &Caller, name: Option<&str>, pk: Option<i64>) -> Result<Vec<(Model, ModelVersion)>> {
        caller.require_user()?;
        let mut out = Vec::new();
        for summary in self.list_workspaces(caller, None).await? {
            for m in self.store.list_models(summary.workspace.id).await? {
                let wanted = pk.map(|p| p == m.model.id).unwrap_or(true) && name.map(|n| n == m.model.name).unwrap_or(true);
                if wanted && (pk.is_some() || name.is_some()) {
                    out.extend(m.versions.into_iter().map(|(v, _)| (m.model.clone(), v)));
                }
            }
        }
        if pk.is_none() && name.is_none() {
            return Err(Error::invalid("give 'model_id' (the model name) or 'models_pk_id'"));
        }
        out.sort_by_key(|(_, v)| v.id);
        Ok(out)
    }

    pub async fn model_by_name(&self, caller: &Caller, workspace_id: i64, name: &str) -> Result<(crate::workspace::Workspace, ModelWithVersions)> {
        let (ws, _) = self.workspace_for(caller, workspace_id).await?;
        let m = self.store.find_model(workspace_id, name).await?.ok_or_else(|| Error::not_found(format!("model '{name}' not found in workspace {workspace_id}")))?;
        let full = self.store.model_with_versions(m.id).await?.ok_or_else(|| Error::not_found(format!("model '{name}' not found")))?;
        Ok((ws, full))
    }

    /// The latest config of a version, or `None`.
    pub async fn latest_config(&self, caller: &Caller, version_id: i64) -> Result<Option<ModelConfig>> {
        Ok(Some(self.get_model_version(caller, version_id).await?.1))
    }

    /// Stores a new config for a version (a new row, a new id).
    pub async fn insert_model_config(&self, caller: &Caller, mut config: ModelConfig) -> Result<ModelConfig> {
        let (v, _) = self.get_model_version(caller, config.model_version_id).await?;
        if let Some(t) = config.filter_threshold {
            if !t.is_finite() {
                return Err(Error::invalid("filter_threshold must be a finite number"));
            }
        }
        crate::model::DynamicBatching::parse(config.dynamic_batching.as_ref())?;
        config.runtime = Framework::parse(v.framework())?.runtime().to_string();
        self.store.insert_config(&config, self.clock.now_ms()).await
    }

    pub async fn upload_logs(&self, caller: &Caller, version_id: i64, lines: Option<i64>) -> Result<Vec<String>> {
        self.get_model_version(caller, version_id).await?;
        let mut all = self.store.upload_log(version_id).await?;
        if let Some(n) = lines.filter(|n| *n >= 0) {
            let skip = all.len().saturating_sub(n as usize);
            all.drain(..skip);
        }
        Ok(all)
    }

    /// Deletes every version of model `name` in the workspace; returns the bytes freed.
    pub async fn delete_model(&self, caller: &Caller, workspace_id: i64, name: &str) -> Result<u64> {
        let (_, m) = self.model_by_name(caller, workspace_id, name).await?;
        let ids: Vec<i64> = m.versions.iter().map(|(v, _)| v.id).collect();
        self.delete_versions(&ids).await
    }

    /// Deletes versions by UUID; returns the bytes freed. Unknown or invisible UUIDs are 404.
    pub async fn delete_model_versions(&self, caller: &Caller, uuids: &[String]) -> Result<u64> {
        let mut ids = Vec::new();
        for u in uuids {
            let missing = || Error::not_found(format!("model version '{u}' not found"));
            let v = self.store.find_model_version(u).await?.ok_or_else(missing)?;
            self.workspace_for(caller, v.workspace_id).await.map_err(|_| missing())?;
            ids.push(v.id);
        }
        self.delete_versions(&ids).await
    }

    async fn delete_versions(&self, ids: &[i64]) -> Result<u64> {
        for id in ids {
            if self.store.model_version_deployed(*id).await? {
                return Err(Error::conflict(format!("model version {id} is used by a deployed pipeline; undeploy it first")));
            }
        }
        let freed = self.store.delete_model_versions(ids).await?;
        let mut bytes = 0;
        for (sha, _) in &freed.orphaned {
            bytes += self.artifacts.delete(sha).await?;
        }
        Ok(bytes)
    }
}

fn describe(t: &[TensorInfo]) -> String {
    t.iter()
        .map(|t| {
            let dims: Vec<String> = t.shape.iter().map(|d| d.map(|d| d.to_string()).unwrap_or_else(|| "N".into())).collect();
            format!("{} {}[{}]", t.name, t.dtype, dims.join(","))
        })
        .collect::<Vec<_>>()
        .join(", ")
}
