//! `AuthStore` on SQL: clients, signing keys, refresh and device grants.

use async_trait::async_trait;
use joey_core::ports::AuthStore;
use joey_core::user::{DeviceGrant, OidcClient, RefreshGrant, SigningKey};
use joey_core::Result;
use sqlx::any::AnyRow;
use sqlx::Row;

use crate::{db, SqlStore};

fn now() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

#[async_trait]
impl AuthStore for SqlStore {
    async fn upsert_client(&self, c: &OidcClient) -> Result<()> {
        sqlx::query(
            "insert into oidc_client (client_id, secret_hash, created_at, updated_at) values ($1, $2, $3, $3) \
             on conflict (client_id) do update set secret_hash = excluded.secret_hash, updated_at = excluded.updated_at",
        )
        .bind(&c.client_id)
        .bind(&c.secret_hash)
        .bind(now())
        .execute(self.pool())
        .await
        .map_err(db)?;
        Ok(())
    }

    async fn get_client(&self, client_id: &str) -> Result<Option<OidcClient>> {
        let row = sqlx::query("select client_id, secret_hash from oidc_client where client_id = $1")
            .bind(client_id)
            .fetch_optional(self.pool())
            .await
            .map_err(db)?;
        row.map(|r| {
            Ok(OidcClient { client_id: r.try_get("client_id").map_err(db)?, secret_hash: r.try_get("secret_hash").map_err(db)? })
        })
        .transpose()
    }

    async fn insert_signing_key(&self, k: &SigningKey) -> Result<()> {
        sqlx::query("insert into signing_key (kid, private_pem, created_at, updated_at) values ($1, $2, $3, $3)")
            .bind(&k.kid)
            .bind(&k.private_pem)
            .bind(k.created_at_ms)
            .execute(self.pool())
            .await
            .map_err(db)?;
        Ok(())
    }

    async fn list_signing_keys(&self) -> Result<Vec<SigningKey>> {
        let rows = sqlx::query("select kid, private_pem, created_at from signing_key order by created_at, kid")
            .fetch_all(self.pool())
            .await
            .map_err(db)?;
        rows.iter()
            .map(|r| {
                Ok(SigningKey {
                    kid: r.try_get("kid").map_err(db)?,
                    private_pem: r.try_get("private_pem").map_err(db)?,
                    created_at_ms: r.try_get("created_at").map_err(db)?,
                })
            })
            .collect()
    }

    async fn insert_refresh_grant(&self, g: &RefreshGrant) -> Result<()> {
        sqlx::query(
            "insert into refresh_grant (token_hash, user_id, client_id, expires_at, created_at, updated_at) values ($1, $2, $3, $4, $5, $5)",
        )
        .bind(&g.token_hash)
        .bind(&g.user_id)
        .bind(&g.client_id)
        .bind(g.expires_at_ms)
        .bind(now())
        .execute(self.pool())
        .await
        .map_err(db)?;
        Ok(())
    }

    async fn take_refresh_grant(&self, token_hash: &str) -> Result<Option<RefreshGrant>> {
        let row = sqlx::query(
            "delete from refresh_grant where token_hash = $1 returning token_hash, user_id, client_id, expires_at",
        )
        .bind(token_hash)
        .fetch_optional(self.pool())
        .await
        .map_err(db)?;
        row.map(|r| {
            Ok(RefreshGrant {
                token_hash: r.try_get("token_hash").map_err(db)?,
                user_id: r.try_get("user_id").map_err(db)?,
                client_id: r.try_get("client_id").map_err(db)?,
                expires_at_ms: r.try_get("expires_at").map_err(db)?,
            })
        })
        .transpose()
    }

    async fn revoke_refresh_grants(&self, user_id: &str) -> Result<u64> {
        let done = sqlx::query("delete from refresh_grant where user_id = $1")
            .bind(user_id)
            .execute(self.pool())
            .await
            .map_err(db)?;
        Ok(done.rows_affected())
    }

    async fn insert_device_grant(&self, g: &DeviceGrant) -> Result<()> {
        sqlx::query(
            "insert into device_grant (device_code, user_code, client_id, expires_at, approved_user_id, created_at, updated_at) \
             values ($1, $2, $3, $4, $5, $6, $6)",
        )
        .bind(&g.device_code)
        .bind(&g.user_code)
        .bind(&g.client_id)
        .bind(g.expires_at_ms)
        .bind(&g.approved_user_id)
        .bind(now())
        .execute(self.pool())
        .await
        .map_err(db)?;
        Ok(())
    }

    async fn get_device_grant(&self, device_code: &str) -> Result<Option<DeviceGrant>> {
        let row = sqlx::query(
            "select device_code, user_code, client_id, expires_at, approved_user_id from device_grant where device_code = $1",
        )
        .bind(device_code)
        .fetch_optional(self.pool())
        .await
        .map_err(db)?;
        row.as_ref().map(device).transpose()
    }

    async fn approve_device_grant(&self, user_code: &str, user_id: &str, now_ms: i64) -> Result<bool> {
        let done = sqlx::query(
            "update device_grant set approved_user_id = $2, updated_at = $3 where user_code = $1 and expires_at > $3 and approved_user_id is null",
        )
        .bind(user_code)
        .bind(user_id)
        .bind(now_ms)
        .execute(self.pool())
        .await
        .map_err(db)?;
        Ok(done.rows_affected() == 1)
    }

    async fn take_approved_device_grant(&self, device_code: &str) -> Result<Option<DeviceGrant>> {
        self.take_approved_device(device_code).await
    }

    async fn delete_device_grant(&self, device_code: &str) -> Result<()> {
        sqlx::query("delete from device_grant where device_code = $1")
            .bind(device_code)
            .execute(self.pool())
            .await
            .map_err(db)?;
        Ok(())
    }
}

impl SqlStore {
    pub(crate) async fn take_approved_device(&self, device_code: &str) -> Result<Option<DeviceGrant>> {
        let row = sqlx::query(
            "delete from device_grant where device_code = $1 and approved_user_id is not null \
             returning device_code, user_code, client_id, expires_at, approved_user_id",
        )
        .bind(device_code)
        .fetch_optional(self.pool())
        .await
        .map_err(db)?;
        row.as_ref().map(device).transpose()
    }
}

fn device(r: &AnyRow) -> Result<DeviceGrant> {
    Ok(DeviceGrant {
        device_code: r.try_get("device_code").map_err(db)?,
        user_code: r.try_get("user_code").map_err(db)?,
        client_id: r.try_get("client_id").map_err(db)?,
        expires_at_ms: r.try_get("expires_at").map_err(db)?,
        approved_user_id: r.try_get("approved_user_id").map_err(db)?,
    })
}
