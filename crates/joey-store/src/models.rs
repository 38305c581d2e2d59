//! `ModelStore` on SQL.

use async_trait::async_trait;
use joey_core::model::*;
use joey_core::ports::ModelStore;
use joey_core::{Error, Result};
use sqlx::any::AnyRow;
use sqlx::Row;

use crate::{db, ReturningId, SqlStore};

const VERSION_COLS: &str = "v.model_version_id, v.model_id, v.version, m.name, m.workspace_id, v.sha, v.file_name, v.size, \
     v.status, v.visibility, v.conversion, v.error_summary, v.signature, v.created_by, v.created_at, \
     (select count(*) from deployment d join pipeline_version_model pvm on pvm.pipeline_version_id = d.pipeline_version_id \
      where d.active = 1 and pvm.model_version_id = v.model_version_id) as deployed_n";
const VERSION_FROM: &str = "from model_version v join model m on m.model_id = v.model_id";
const CONFIG_COLS: &str = "model_config_id, model_version_id, runtime, tensor_fields, filter_threshold, input_schema, \
     output_schema, batch_config, dynamic_batching, continuous_batching, openai";
const MODEL_COLS: &str = "model_id, name, workspace_id, owner_id, created_at, updated_at";

fn json_opt(r: &AnyRow, col: &str) -> Result<Option<serde_json::Value>> {
    let raw: Option<String> = r.try_get(col).map_err(db)?;
    raw.map(|s| serde_json::from_str(&s).map_err(|e| Error::internal(format!("bad JSON in {col}: {e}")))).transpose()
}

fn to_json<T: serde::Serialize>(v: &Option<T>) -> Option<String> {
    v.as_ref().map(|v| serde_json::to_string(v).unwrap_or_default())
}

fn model(r: &AnyRow) -> Result<Model> {
    Ok(Model {
        id: r.try_get("model_id").map_err(db)?,
        name: r.try_get("name").map_err(db)?,
        workspace_id: r.try_get("workspace_id").map_err(db)?,
        owner_id: r.try_get("owner_id").map_err(db)?,
        created_at_ms: r.try_get("created_at").map_err(db)?,
        updated_at_ms: r.try_get("updated_at").map_err(db)?,
    })
}

fn version(r: &AnyRow) -> Result<ModelVersion> {
    let status: String = r.try_get("status").map_err(db)?;
    Ok(ModelVersion {
        id: r.try_get("model_version_id").map_err(db)?,
        model_id: r.try_get("model_id").map_err(db)?,
        version: r.try_get("version").map_err(db)?,
        name: r.try_get("name").map_err(db)?,
        workspace_id: r.try_get("workspace_id").map_err(db)?,
        sha: r.try_get("sha").map_err(db)?,
        file_name: r.try_get("file_name").map_err(db)?,
        size: r.try_get("size").map_err(db)?,
        status: ModelStatus::parse(&status),
        visibility: r.try_get("visibility").map_err(db)?,
        conversion: json_opt(r, "conversion")?.unwrap_or_default(),
        error_summary: r.try_get("error_summary").map_err(db)?,
        signature: json_opt(r, "signature")?.map(serde_json::from_value).transpose().map_err(Error::internal)?,
        created_by: r.try_get("created_by").map_err(db)?,
        created_at_ms: r.try_get("created_at").map_err(db)?,
        deployed: r.try_get::<i64, _>("deployed_n").map_err(db)? > 0,
    })
}

fn config(r: &AnyRow) -> Result<ModelConfig> {
    let tensor_fields = json_opt(r, "tensor_fields")?.map(serde_json::from_value).transpose().map_err(Error::internal)?;
    Ok(ModelConfig {
        id: r.try_get("model_config_id").map_err(db)?,
        model_version_id: r.try_get("model_version_id").map_err(db)?,
        runtime: r.try_get("runtime").map_err(db)?,
        tensor_fields,
        filter_threshold: r.try_get("filter_threshold").map_err(db)?,
        input_schema: r.try_get("input_schema").map_err(db)?,
        output_schema: r.try_get("output_schema").map_err(db)?,
        batch_config: r.try_get("batch_config").map_err(db)?,
        dynamic_batching: json_opt(r, "dynamic_batching")?,
        continuous_batching: json_opt(r, "continuous_batching")?,
        openai: json_opt(r, "openai")?,
    })
}

#[async_trait]
impl ModelStore for SqlStore {
    async fn create_model_version(&self, new: NewModelVersion, now_ms: i64) -> Result<(ModelVersion, ModelConfig)> {
        let mut tx = self.begin().await?;
        // One statement, so concurrent first uploads of a name agree on one model row.
        let model_id: i64 = sqlx::query(
            "insert into model (workspace_id, name, owner_id, created_at, updated_at) values ($1, $2, $3, $4, $4) \
             on conflict (workspace_id, name) do update set updated_at = excluded.updated_at returning model_id",
        )
        .bind(new.workspace_id)
        .bind(&new.name)
        .bind(&new.owner_id)
        .bind(now_ms)
        .returning_id(&mut tx)
        .await?;
        let version_id: i64 = sqlx::query(
            "insert into model_version (model_id, version, sha, file_name, size, status, visibility, conversion, created_by, created_at, updated_at) \
             values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10) returning model_version_id",
        )
        .bind(model_id)
        .bind(&new.version)
        .bind(&new.sha)
        .bind(&new.file_name)
        .bind(new.size)
        .bind(new.status.as_str())
        .bind(&new.visibility)
        .bind(new.conversion.to_string())
        .bind(&new.created_by)
        .bind(now_ms)
        .returning_id(&mut tx)
        .await?;
        let mut cfg = new.config.clone();
        cfg.model_version_id = version_id;
        cfg.id = insert_config(&mut tx, &cfg, now_ms).await?;
        tx.commit().await.map_err(db)?;
        let v = self.get_model_version(version_id).await?.ok_or_else(|| Error::internal("version vanished after insert"))?;
        Ok((v, cfg))
    }

    async fn get_model(&self, id: i64) -> Result<Option<Model>> {
        self.opt_by(&format!("select {MODEL_COLS} from model where model_id = $1"), id, model).await
    }

    async fn find_model(&self, workspace_id: i64, name: &str) -> Result<Option<Model>> {
        self.opt_in_workspace(&format!("select {MODEL_COLS} from model where workspace_id = $1 and name = $2"), workspace_id, name, model).await
    }

    async fn list_models(&self, workspace_id: i64) -> Result<Vec<ModelWithVersions>> {
        let models = self.all_by(&format!("select {MODEL_COLS} from model where workspace_id = $1 order by model_id"), workspace_id, model).await?;
        let mut out = Vec::new();
        for m in models {
            let versions = self.versions_with_configs(m.id).await?;
            out.push(ModelWithVersions { model: m, versions });
        }
        Ok(out)
    }

    async fn model_with_versions(&self, model_id: i64) -> Result<Option<ModelWithVersions>> {
        let Some(m) = self.get_model(model_id).await? else { return Ok(None) };
        let versions = self.versions_with_configs(model_id).await?;
        Ok(Some(ModelWithVersions { model: m, versions }))
    }

    async fn get_model_version(&self, id: i64) -> Result<Option<ModelVersion>> {
        self.opt_by(&format!("select {VERSION_COLS} {VERSION_FROM} where v.model_version_id = $1"), id, version).await
    }

    async fn find_model_version(&self, version_uuid: &str) -> Result<Option<ModelVersion>> {
        self.opt_by(&format!("select {VERSION_COLS} {VERSION_FROM} where v.version = $1"), version_uuid.to_string(), version).await
    }

    async fn set_model_status(&self, id: i64, status: ModelStatus, error: Option<&str>, signature: Option<&Signature>) -> Result<()> {
        sqlx::query(
            "update model_version set status = $2, error_summary = $3, signature = coalesce($4, signature), updated_at = $5 where model_version_id = $1",
        )
        .bind(id)
        .bind(status.as_str())
        .bind(error)
        .bind(signature.map(|s| serde_json::to_string(s).unwrap_or_default()))
        .bind(chrono::Utc::now().timestamp_millis())
        .execute(self.pool())
        .await
        .map_err(db)?;
        Ok(())
    }

    async fn latest_config(&self, model_version_id: i64) -> Result<Option<ModelConfig>> {
        let sql = format!("select {CONFIG_COLS} from model_config where model_version_id = $1 order by model_config_id desc limit 1");
        self.opt_by(&sql, model_version_id, config).await
    }

    async fn get_config(&self, config_id: i64) -> Result<Option<ModelConfig>> {
        self.opt_by(&format!("select {CONFIG_COLS} from model_config where model_config_id = $1"), config_id, config).await
    }

    async fn insert_config(&self, cfg: &ModelConfig, now_ms: i64) -> Result<ModelConfig> {
        let mut tx = self.begin().await?;
        let id = insert_config(&mut tx, cfg, now_ms).await?;
        tx.commit().await.map_err(db)?;
        Ok(ModelConfig { id, ..cfg.clone() })
    }

    async fn append_upload_log(&self, model_version_id: i64, line: &str, now_ms: i64) -> Result<()> {
        sqlx::query("insert into model_upload_log (model_version_id, line, created_at, updated_at) values ($1, $2, $3, $3)")
            .bind(model_version_id)
            .bind(line)
            .bind(now_ms)
            .execute(self.pool())
            .await
            .map_err(db)?;
        Ok(())
    }

    async fn upload_log(&self, model_version_id: i64) -> Result<Vec<String>> {
        let rows = sqlx::query("select line from model_upload_log where model_version_id = $1 order by model_upload_log_id")
            .bind(model_version_id)
            .fetch_all(self.pool())
            .await
            .map_err(db)?;
        rows.iter().map(|r| r.try_get::<String, _>(0).map_err(db)).collect()
    }

    async fn delete_model_versions(&self, version_ids: &[i64]) -> Result<Freed> {
        let mut tx = self.begin().await?;
        let mut candidates: Vec<(String, i64)> = Vec::new();
        for id in version_ids {
            let row = sqlx::query("delete from model_version where model_version_id = $1 returning sha, size, model_id")
                .bind(id)
                .fetch_optional(&mut *tx)
                .await
                .map_err(db)?;
            if let Some(r) = row {
                let sha: String = r.try_get("sha").map_err(db)?;
                let model_id: i64 = r.try_get("model_id").map_err(db)?;
                if !candidates.iter().any(|(s, _)| s == &sha) {
                    candidates.push((sha, r.try_get("size").map_err(db)?));
                }
                sqlx::query("delete from model where model_id = $1 and not exists (select 1 from model_version where model_id = $1)")
                    .bind(model_id)
                    .execute(&mut *tx)
                    .await
                    .map_err(db)?;
            }
        }
        let mut orphaned = Vec::new();
        for (sha, size) in candidates {
            let left = sqlx::query("select count(*) as n from model_version where sha = $1").bind(&sha).fetch_one(&mut *tx).await.map_err(db)?;
            if left.try_get::<i64, _>("n").map_err(db)? == 0 {
                orphaned.push((sha, size));
            }
        }
        tx.commit().await.map_err(db)?;
        Ok(Freed { orphaned })
    }

    async fn sha_referenced(&self, sha: &str) -> Result<bool> {
        let r = sqlx::query("select count(*) as n from model_version where sha = $1").bind(sha).fetch_one(self.pool()).await.map_err(db)?;
        Ok(r.try_get::<i64, _>("n").map_err(db)? > 0)
    }

    async fn versions_in_status(&self, status: ModelStatus) -> Result<Vec<ModelVersion>> {
        let sql = format!("select {VERSION_COLS} {VERSION_FROM} where v.status = $1 order by v.model_version_id");
        self.all_by(&sql, status.as_str().to_string(), version).await
    }
}

impl SqlStore {
    /// A model's versions, oldest first, each with its latest config: two queries, whatever the
    /// number of versions.
    async fn versions_with_configs(&self, model_id: i64) -> Result<Vec<(ModelVersion, ModelConfig)>> {
        let sql = format!("select {VERSION_COLS} {VERSION_FROM} where v.model_id = $1 order by v.model_version_id");
        let versions = self.all_by(&sql, model_id, version).await?;
        let sql = format!(
            "select {CONFIG_COLS} from model_config c where c.model_version_id in \
             (select model_version_id from model_version where model_id = $1) and c.model_config_id = \
             (select max(c2.model_config_id) from model_config c2 where c2.model_version_id = c.model_version_id)"
        );
        let mut latest: std::collections::HashMap<i64, ModelConfig> =
            self.all_by(&sql, model_id, config).await?.into_iter().map(|c| (c.model_version_id, c)).collect();
        versions
            .into_iter()
            .map(|v| {
                let c = latest.remove(&v.id).ok_or_else(|| Error::internal(format!("model version {} has no config", v.id)))?;
                Ok((v, c))
            })
            .collect()
    }
}

async fn insert_config(tx: &mut sqlx::Transaction<'_, sqlx::Any>, c: &ModelConfig, now_ms: i64) -> Result<i64> {
    sqlx::query(
        "insert into model_config (model_version_id, runtime, tensor_fields, filter_threshold, input_schema, output_schema, batch_config, \
         dynamic_batching, continuous_batching, openai, created_at, updated_at) values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11) \
         returning model_config_id",
    )
    // Not a cached prepared statement: on PostgreSQL a statement first prepared with a NULL
    // threshold would keep the wrong parameter type for later numeric thresholds.
    .persistent(false)
    .bind(c.model_version_id)
    .bind(&c.runtime)
    .bind(to_json(&c.tensor_fields))
    .bind(c.filter_threshold)
    .bind(&c.input_schema)
    .bind(&c.output_schema)
    .bind(&c.batch_config)
    .bind(to_json(&c.dynamic_batching))
    .bind(to_json(&c.continuous_batching))
    .bind(to_json(&c.openai))
    .bind(now_ms)
    .returning_id(tx)
    .await
}
