//! `PipelineStore` on SQL.

use async_trait::async_trait;
use joey_core::pipeline::{Deployment, Pipeline, PipelineVersion};
use joey_core::ports::PipelineStore;
use joey_core::{Error, Result};
use serde_json::Value;
use sqlx::any::AnyRow;
use sqlx::Row;

use crate::{db, ReturningId, SqlStore};

const PIPE_COLS: &str = "pipeline_id, name, workspace_id, created_by, created_at, updated_at";
const VER_COLS: &str = "pipeline_version_id, pipeline_id, version, definition, created_by, created_at";
const DEP_COLS: &str = "deployment_id, pipeline_id, deploy_id, pipeline_version_id, engine_config, active, created_at, updated_at";

fn pipeline(r: &AnyRow) -> Result<Pipeline> {
    Ok(Pipeline {
        id: r.try_get("pipeline_id").map_err(db)?,
        name: r.try_get("name").map_err(db)?,
        workspace_id: r.try_get("workspace_id").map_err(db)?,
        created_by: r.try_get("created_by").map_err(db)?,
        created_at_ms: r.try_get("created_at").map_err(db)?,
        updated_at_ms: r.try_get("updated_at").map_err(db)?,
    })
}

fn json(r: &AnyRow, col: &str) -> Result<Value> {
    let raw: String = r.try_get(col).map_err(db)?;
    serde_json::from_str(&raw).map_err(|e| Error::internal(format!("bad JSON in {col}: {e}")))
}

fn version(r: &AnyRow) -> Result<PipelineVersion> {
    Ok(PipelineVersion {
        id: r.try_get("pipeline_version_id").map_err(db)?,
        pipeline_id: r.try_get("pipeline_id").map_err(db)?,
        version: r.try_get("version").map_err(db)?,
        definition: json(r, "definition")?,
        created_by: r.try_get("created_by").map_err(db)?,
        created_at_ms: r.try_get("created_at").map_err(db)?,
    })
}

fn deployment(r: &AnyRow) -> Result<Deployment> {
    Ok(Deployment {
        id: r.try_get("deployment_id").map_err(db)?,
        pipeline_id: r.try_get("pipeline_id").map_err(db)?,
        deploy_id: r.try_get("deploy_id").map_err(db)?,
        pipeline_version_id: r.try_get("pipeline_version_id").map_err(db)?,
        engine_config: json(r, "engine_config")?,
        active: r.try_get::<i64, _>("active").map_err(db)? != 0,
        created_at_ms: r.try_get("created_at").map_err(db)?,
        updated_at_ms: r.try_get("updated_at").map_err(db)?,
    })
}

#[async_trait]
impl PipelineStore for SqlStore {
    async fn create_pipeline_version(&self, workspace_id: i64, name: &str, created_by: &str, definition: &Value, model_version_ids: &[i64], now_ms: i64) -> Result<(Pipeline, PipelineVersion)> {
        let mut tx = self.begin().await?;
        let pipeline_id: i64 = sqlx::query(
            "insert into pipeline (workspace_id, name, created_by, created_at, updated_at) values ($1, $2, $3, $4, $4) \
             on conflict (workspace_id, name) do update set updated_at = excluded.updated_at returning pipeline_id",
        )
        .bind(workspace_id)
        .bind(name)
        .bind(created_by)
        .bind(now_ms)
        .returning_id(&mut tx)
        .await?;
        let version_id: i64 = sqlx::query(
            "insert into pipeline_version (pipeline_id, version, definition, created_by, created_at, updated_at) values ($1, $2, $3, $4, $5, $5) returning pipeline_version_id",
        )
        .bind(pipeline_id)
        .bind(uuid::Uuid::new_v4().to_string())
        .bind(definition.to_string())
        .bind(created_by)
        .bind(now_ms)
        .returning_id(&mut tx)
        .await?;
        let mut seen = Vec::new();
        for mv in model_version_ids.iter().filter(|id| { let new = !seen.contains(*id); seen.push(**id); new }) {
            sqlx::query("insert into pipeline_version_model (pipeline_version_id, model_version_id) values ($1, $2)")
                .bind(version_id)
                .bind(mv)
                .execute(&mut *tx)
                .await
                .map_err(db)?;
        }
        tx.commit().await.map_err(db)?;
        let p = self.get_pipeline(pipeline_id).await?.ok_or_else(|| Error::internal("pipeline vanished"))?;
        let v = self.get_pipeline_version(version_id).await?.ok_or_else(|| Error::internal("pipeline version vanished"))?;
        Ok((p, v))
    }

    async fn get_pipeline(&self, id: i64) -> Result<Option<Pipeline>> {
        self.opt_by(&format!("select {PIPE_COLS} from pipeline where pipeline_id = $1"), id, pipeline).await
    }

    async fn find_pipeline(&self, workspace_id: i64, name: &str) -> Result<Option<Pipeline>> {
        self.opt_in_workspace(&format!("select {PIPE_COLS} from pipeline where workspace_id = $1 and name = $2"), workspace_id, name, pipeline).await
    }

    async fn list_pipelines(&self, workspace_id: i64) -> Result<Vec<Pipeline>> {
        self.all_by(&format!("select {PIPE_COLS} from pipeline where workspace_id = $1 order by pipeline_id"), workspace_id, pipeline).await
    }

    async fn list_pipeline_versions(&self, pipeline_id: i64) -> Result<Vec<PipelineVersion>> {
        let sql = format!("select {VER_COLS} from pipeline_version where pipeline_id = $1 order by pipeline_version_id");
        self.all_by(&sql, pipeline_id, version).await
    }

    async fn get_pipeline_version(&self, id: i64) -> Result<Option<PipelineVersion>> {
        self.opt_by(&format!("select {VER_COLS} from pipeline_version where pipeline_version_id = $1"), id, version).await
    }

    async fn find_pipeline_version(&self, version_uuid: &str) -> Result<Option<PipelineVersion>> {
        self.opt_by(&format!("select {VER_COLS} from pipeline_version where version = $1"), version_uuid.to_string(), version).await
    }

    async fn delete_pipeline(&self, id: i64) -> Result<()> {
        let mut tx = self.begin().await?;
        sqlx::query("delete from deployment where pipeline_id = $1").bind(id).execute(&mut *tx).await.map_err(db)?;
        sqlx::query("delete from pipeline where pipeline_id = $1").bind(id).execute(&mut *tx).await.map_err(db)?;
        tx.commit().await.map_err(db)
    }

    async fn delete_pipeline_versions(&self, ids: &[i64]) -> Result<()> {
        let mut tx = self.begin().await?;
        for id in ids {
            sqlx::query("delete from deployment where pipeline_version_id = $1 and active = 0").bind(id).execute(&mut *tx).await.map_err(db)?;
            sqlx::query("delete from pipeline_version where pipeline_version_id = $1").bind(id).execute(&mut *tx).await.map_err(db)?;
        }
        tx.commit().await.map_err(db)
    }

    async fn activate_deployment(&self, pipeline_id: i64, deploy_id: &str, pipeline_version_id: i64, engine_config: &Value, now_ms: i64) -> Result<Deployment> {
        sqlx::query(
            "insert into deployment (pipeline_id, deploy_id, pipeline_version_id, engine_config, active, created_at, updated_at) values ($1, $2, $3, $4, 1, $5, $5) \
             on conflict (pipeline_id) do update set deploy_id = excluded.deploy_id, pipeline_version_id = excluded.pipeline_version_id, \
             engine_config = excluded.engine_config, active = 1, updated_at = excluded.updated_at",
        )
        .bind(pipeline_id)
        .bind(deploy_id)
        .bind(pipeline_version_id)
        .bind(engine_config.to_string())
        .bind(now_ms)
        .execute(self.pool())
        .await
        .map_err(db)?;
        self.deployment_for_pipeline(pipeline_id).await?.ok_or_else(|| Error::internal("deployment vanished"))
    }

    async fn deactivate_deployment(&self, id: i64, now_ms: i64) -> Result<()> {
        sqlx::query("update deployment set active = 0, updated_at = $2 where deployment_id = $1").bind(id).bind(now_ms).execute(self.pool()).await.map_err(db)?;
        Ok(())
    }

    async fn get_deployment(&self, id: i64) -> Result<Option<Deployment>> {
        self.opt_by(&format!("select {DEP_COLS} from deployment where deployment_id = $1"), id, deployment).await
    }

    async fn deployment_for_pipeline(&self, pipeline_id: i64) -> Result<Option<Deployment>> {
        self.opt_by(&format!("select {DEP_COLS} from deployment where pipeline_id = $1"), pipeline_id, deployment).await
    }

    async fn list_active_deployments(&self) -> Result<Vec<Deployment>> {
        self.all_by(&format!("select {DEP_COLS} from deployment where active = $1 order by deployment_id"), 1i64, deployment).await
    }

    async fn model_version_deployed(&self, model_version_id: i64) -> Result<bool> {
        let r = sqlx::query(
            "select count(*) as n from deployment d join pipeline_version_model pvm on pvm.pipeline_version_id = d.pipeline_version_id \
             where d.active = 1 and pvm.model_version_id = $1",
        )
        .bind(model_version_id)
        .fetch_one(self.pool())
        .await
        .map_err(db)?;
        Ok(r.try_get::<i64, _>("n").map_err(db)? > 0)
    }
}
