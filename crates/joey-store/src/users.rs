//! `UserStore` on SQL.

use async_trait::async_trait;
use joey_core::ports::UserStore;
use joey_core::user::{NewUser, User};
use joey_core::Result;
use sqlx::Row;

use crate::rows::{self, flag, USER_COLS};
use crate::{db, SqlStore};

#[async_trait]
impl UserStore for SqlStore {
    async fn create_user(&self, new: NewUser, now_ms: i64) -> Result<User> {
        sqlx::query(
            "insert into app_user (user_id, username, email, first_name, last_name, enabled, is_admin, password_hash, created_at, updated_at) \
             values ($1, $2, $3, $4, $5, 1, $6, $7, $8, $8)",
        )
        .bind(&new.id)
        .bind(&new.username)
        .bind(&new.email)
        .bind(&new.first_name)
        .bind(&new.last_name)
        .bind(flag(new.is_admin))
        .bind(&new.password_hash)
        .bind(now_ms)
        .execute(self.pool())
        .await
        .map_err(db)?;
        Ok(User {
            id: new.id,
            username: new.username,
            email: new.email,
            first_name: new.first_name,
            last_name: new.last_name,
            enabled: true,
            is_admin: new.is_admin,
            password_hash: new.password_hash,
            created_at_ms: now_ms,
            last_login_ms: None,
        })
    }

    async fn get_user(&self, id: &str) -> Result<Option<User>> {
        self.one_user("user_id", id).await
    }

    async fn find_user_by_email(&self, email: &str) -> Result<Option<User>> {
        self.one_user("email", email).await
    }

    async fn find_user_by_username(&self, username: &str) -> Result<Option<User>> {
        self.one_user("username", username).await
    }

    async fn list_users(&self, ids: Option<&[String]>) -> Result<Vec<User>> {
        let all = sqlx::query(&format!("select {USER_COLS} from app_user order by created_at, user_id"))
            .fetch_all(self.pool())
            .await
            .map_err(db)?;
        let users = all.iter().map(rows::user).collect::<Result<Vec<_>>>()?;
        Ok(match ids {
            None => users,
            Some(ids) => users.into_iter().filter(|u| ids.contains(&u.id)).collect(),
        })
    }

    async fn update_user(&self, user: &User) -> Result<()> {
        let mut tx = self.begin().await?;
        sqlx::query(
            "update app_user set first_name = $2, last_name = $3, email = $4, enabled = $5, is_admin = $6, updated_at = $7 where user_id = $1",
        )
        .bind(&user.id)
        .bind(&user.first_name)
        .bind(&user.last_name)
        .bind(&user.email)
        .bind(flag(user.enabled))
        .bind(flag(user.is_admin))
        .bind(chrono::Utc::now().timestamp_millis())
        .execute(&mut *tx)
        .await
        .map_err(db)?;
        if !user.enabled {
            sqlx::query("delete from refresh_grant where user_id = $1")
                .bind(&user.id)
                .execute(&mut *tx)
                .await
                .map_err(db)?;
        }
        tx.commit().await.map_err(db)
    }

    async fn set_password_hash(&self, user_id: &str, hash: &str) -> Result<()> {
        sqlx::query("update app_user set password_hash = $2, updated_at = $3 where user_id = $1")
            .bind(user_id)
            .bind(hash)
            .bind(chrono::Utc::now().timestamp_millis())
            .execute(self.pool())
            .await
            .map_err(db)?;
        Ok(())
    }

    async fn record_login(&self, user_id: &str, now_ms: i64) -> Result<()> {
        sqlx::query("update app_user set last_login = $2 where user_id = $1")
            .bind(user_id)
            .bind(now_ms)
            .execute(self.pool())
            .await
            .map_err(db)?;
        Ok(())
    }

    async fn count_users(&self) -> Result<i64> {
        let row = sqlx::query("select count(*) as n from app_user").fetch_one(self.pool()).await.map_err(db)?;
        row.try_get::<i64, _>("n").map_err(db)
    }
}

impl SqlStore {
    async fn one_user(&self, column: &'static str, value: &str) -> Result<Option<User>> {
        self.opt_by(&format!("select {USER_COLS} from app_user where {column} = $1"), value.to_string(), rows::user).await
    }
}
