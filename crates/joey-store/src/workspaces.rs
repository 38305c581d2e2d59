//! `WorkspaceStore` on SQL.

use async_trait::async_trait;
use joey_core::ports::WorkspaceStore;
use joey_core::workspace::{Member, Role, Workspace, WorkspaceSummary};
use joey_core::Result;
use sqlx::Row;

use crate::rows::{self, WORKSPACE_COLS};
use crate::{db, SqlStore};

#[async_trait]
impl WorkspaceStore for SqlStore {
    async fn create_workspace(&self, name: &str, owner: &str, now_ms: i64) -> Result<Workspace> {
        let mut tx = self.begin().await?;
        let row = sqlx::query(&format!(
            "insert into workspace (name, created_by, archived, created_at, updated_at) values ($1, $2, 0, $3, $3) returning {WORKSPACE_COLS}"
        ))
        .bind(name)
        .bind(owner)
        .bind(now_ms)
        .fetch_one(&mut *tx)
        .await
        .map_err(db)?;
        let ws = rows::workspace(&row)?;
        sqlx::query(
            "insert into workspace_member (workspace_id, user_id, role, created_at, updated_at) values ($1, $2, $3, $4, $4)",
        )
        .bind(ws.id)
        .bind(owner)
        .bind(Role::Owner.as_str())
        .bind(now_ms)
        .execute(&mut *tx)
        .await
        .map_err(db)?;
        tx.commit().await.map_err(db)?;
        Ok(ws)
    }

    async fn get_workspace(&self, id: i64) -> Result<Option<Workspace>> {
        self.opt_by(&format!("select {WORKSPACE_COLS} from workspace where workspace_id = $1"), id, rows::workspace).await
    }

    async fn find_workspace_by_name(&self, name: &str) -> Result<Option<Workspace>> {
        self.opt_by(&format!("select {WORKSPACE_COLS} from workspace where name = $1"), name.to_string(), rows::workspace).await
    }

    async fn list_workspaces(&self, member: Option<&str>) -> Result<Vec<WorkspaceSummary>> {
        let rows = match member {
            None => sqlx::query(&format!("select {WORKSPACE_COLS} from workspace order by workspace_id"))
                .fetch_all(self.pool())
                .await,
            Some(user) => sqlx::query(&format!(
                "select {WORKSPACE_COLS} from workspace where workspace_id in \
                 (select workspace_id from workspace_member where user_id = $1) order by workspace_id"
            ))
            .bind(user)
            .fetch_all(self.pool())
            .await,
        }
        .map_err(db)?;
        let mut out = Vec::with_capacity(rows.len());
        for r in &rows {
            let workspace = rows::workspace(r)?;
            let (model_ids, pipeline_ids) = self.workspace_contents(workspace.id).await?;
            out.push(WorkspaceSummary { workspace, model_ids, pipeline_ids });
        }
        Ok(out)
    }

    async fn put_member(&self, workspace_id: i64, user_id: &str, role: Role) -> Result<()> {
        sqlx::query(
            "insert into workspace_member (workspace_id, user_id, role, created_at, updated_at) values ($1, $2, $3, $4, $4) \
             on conflict (workspace_id, user_id) do update set role = excluded.role, updated_at = excluded.updated_at",
        )
        .bind(workspace_id)
        .bind(user_id)
        .bind(role.as_str())
        .bind(chrono::Utc::now().timestamp_millis())
        .execute(self.pool())
        .await
        .map_err(db)?;
        Ok(())
    }

    async fn remove_member(&self, workspace_id: i64, user_id: &str) -> Result<u64> {
        let done = sqlx::query("delete from workspace_member where workspace_id = $1 and user_id = $2")
            .bind(workspace_id)
            .bind(user_id)
            .execute(self.pool())
            .await
            .map_err(db)?;
        Ok(done.rows_affected())
    }

    async fn list_members(&self, workspace_id: i64) -> Result<Vec<Member>> {
        let rows = sqlx::query("select user_id, role from workspace_member where workspace_id = $1 order by created_at, user_id")
            .bind(workspace_id)
            .fetch_all(self.pool())
            .await
            .map_err(db)?;
        rows.iter()
            .map(|r| {
                let role: String = r.try_get("role").map_err(db)?;
                Ok(Member { user_id: r.try_get("user_id").map_err(db)?, role: rows::role(&role) })
            })
            .collect()
    }

    async fn member_role(&self, workspace_id: i64, user_id: &str) -> Result<Option<Role>> {
        let row = sqlx::query("select role from workspace_member where workspace_id = $1 and user_id = $2")
            .bind(workspace_id)
            .bind(user_id)
            .fetch_optional(self.pool())
            .await
            .map_err(db)?;
        row.map(|r| r.try_get::<String, _>("role").map(|s| rows::role(&s)).map_err(db)).transpose()
    }
}

impl SqlStore {
    /// Model and pipeline ids of a workspace.
    async fn workspace_contents(&self, workspace_id: i64) -> Result<(Vec<i64>, Vec<i64>)> {
        let models = sqlx::query("select model_id from model where workspace_id = $1 order by model_id")
            .bind(workspace_id)
            .fetch_all(self.pool())
            .await
            .map_err(db)?
            .iter()
            .map(|r| r.try_get::<i64, _>(0).map_err(db))
            .collect::<Result<Vec<_>>>()?;
        Ok((models, self.workspace_pipeline_ids(workspace_id).await?))
    }

    /// Pipeline ids of a workspace.
    async fn workspace_pipeline_ids(&self, workspace_id: i64) -> Result<Vec<i64>> {
        sqlx::query("select pipeline_id from pipeline where workspace_id = $1 order by pipeline_id")
            .bind(workspace_id)
            .fetch_all(self.pool())
            .await
            .map_err(db)?
            .iter()
            .map(|r| r.try_get::<i64, _>(0).map_err(db))
            .collect()
    }
}
