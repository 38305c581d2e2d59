//! Row → domain conversions.

use joey_core::user::User;
use joey_core::workspace::{Role, Workspace};
use joey_core::Error;
use sqlx::any::AnyRow;
use sqlx::Row;

use crate::db;

pub(crate) const USER_COLS: &str =
    "user_id, username, email, first_name, last_name, enabled, is_admin, password_hash, created_at, last_login";

pub(crate) fn user(r: &AnyRow) -> Result<User, Error> {
    Ok(User {
        id: r.try_get("user_id").map_err(db)?,
        username: r.try_get("username").map_err(db)?,
        email: r.try_get("email").map_err(db)?,
        first_name: r.try_get("first_name").map_err(db)?,
        last_name: r.try_get("last_name").map_err(db)?,
        enabled: r.try_get::<i64, _>("enabled").map_err(db)? != 0,
        is_admin: r.try_get::<i64, _>("is_admin").map_err(db)? != 0,
        password_hash: r.try_get("password_hash").map_err(db)?,
        created_at_ms: r.try_get("created_at").map_err(db)?,
        last_login_ms: r.try_get("last_login").map_err(db)?,
    })
}

pub(crate) const WORKSPACE_COLS: &str = "workspace_id, name, created_by, archived, created_at";

pub(crate) fn workspace(r: &AnyRow) -> Result<Workspace, Error> {
    let ms: i64 = r.try_get("created_at").map_err(db)?;
    Ok(Workspace {
        id: r.try_get("workspace_id").map_err(db)?,
        name: r.try_get("name").map_err(db)?,
        created_by: r.try_get("created_by").map_err(db)?,
        archived: r.try_get::<i64, _>("archived").map_err(db)? != 0,
        created_at: ms_to_time(ms),
    })
}

pub(crate) fn ms_to_time(ms: i64) -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::from_timestamp_millis(ms).unwrap_or_default()
}

pub(crate) fn role(raw: &str) -> Role {
    if raw == Role::Owner.as_str() {
        Role::Owner
    } else {
        Role::Collaborator
    }
}

pub(crate) fn flag(b: bool) -> i64 {
    i64::from(b)
}
