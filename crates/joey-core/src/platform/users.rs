//! User management: query, invite, activate/deactivate, edit, and first-sight provisioning.

use super::Platform;
use crate::names::{Email, WorkspaceName};
use crate::user::{NewUser, User};
use crate::workspace::default_workspace_name;
use crate::{Caller, Error, Result};

/// A freshly invited user and the initial password to hand over.
#[derive(Debug, Clone)]
pub struct InvitedUser {
    pub user: User,
    pub password: String,
}

/// The fields `POST /v1/api/user` may change.
#[derive(Debug, Clone)]
pub struct UserEdit {
    pub id: String,
    pub first_name: String,
    pub last_name: String,
    pub email: String,
    pub enabled: bool,
    pub is_admin: bool,
}

impl Platform {
    /// Every user, or the given ids. Any signed-in user may list users (names and emails only).
    pub async fn query_users(&self, caller: &Caller, ids: Option<&[String]>) -> Result<Vec<User>> {
        caller.require_user()?;
        self.store.list_users(ids).await
    }

    pub async fn get_user(&self, caller: &Caller, id: &str) -> Result<User> {
        caller.require_user()?;
        self.store
            .get_user(id)
            .await?
            .ok_or_else(|| Error::not_found(format!("user {id} not found")))
    }

    pub async fn find_user_by_email(&self, caller: &Caller, email: &str) -> Result<Option<User>> {
        caller.require_user()?;
        self.store.find_user_by_email(&email.trim().to_lowercase()).await
    }

    /// Creates a user with a default workspace (an admin when `admin`). Admins only. A generated
    /// password is returned when none is given.
    pub async fn invite_user(&self, caller: &Caller, email: &str, password: Option<&str>, admin: bool) -> Result<InvitedUser> {
        caller.require_admin()?;
        let email = Email::parse(email)?;
        let password = match password {
            Some(p) if p.len() < 8 => return Err(Error::invalid("password must be at least 8 characters")),
            Some(p) => p.to_string(),
            None => self.secrets.password(),
        };
        let user = self.create_user_with_workspace(email, Some(&password), admin).await?;
        Ok(InvitedUser { user, password })
    }

    /// Creates a user (and their default workspace). Used by invite, bootstrap and external-issuer
    /// first sight.
    pub async fn create_user_with_workspace(&self, email: Email, password: Option<&str>, is_admin: bool) -> Result<User> {
        if self.store.find_user_by_email(email.as_str()).await?.is_some() {
            return Err(Error::invalid(format!("a user with email '{}' already exists", email.as_str())));
        }
        let password_hash = password.map(|p| self.hasher.hash(p)).transpose()?;
        let new = NewUser {
            id: uuid::Uuid::new_v4().to_string(),
            username: email.as_str().to_string(),
            email: email.as_str().to_string(),
            first_name: String::new(),
            last_name: String::new(),
            is_admin,
            password_hash,
        };
        self.create_user_record(new).await
    }

    /// Inserts the user and creates `"<email> - Default Workspace"` if it does not exist yet.
    pub async fn create_user_record(&self, new: NewUser) -> Result<User> {
        let now = self.clock.now_ms();
        let user = self.store.create_user(new, now).await?;
        let ws_name = WorkspaceName::parse(&default_workspace_name(&user.email))?;
        if self.store.find_workspace_by_name(ws_name.as_str()).await?.is_none() {
            self.store.create_workspace(ws_name.as_str(), &user.id, now).await?;
        }
        Ok(user)
    }

    /// Enables or disables a user by email. Disabling revokes their refresh tokens; their access
    /// tokens stop working because every request re-checks `enabled`.
    pub async fn set_user_enabled(&self, caller: &Caller, email: &str, enabled: bool) -> Result<()> {
        caller.require_admin()?;
        let email = Email::parse(email)?;
        let mut user = self
            .store
            .find_user_by_email(email.as_str())
            .await?
            .ok_or_else(|| Error::invalid(format!("no user with email '{}'", email.as_str())))?;
        if !enabled && user.id == caller.user_id {
            return Err(Error::invalid("you cannot deactivate yourself"));
        }
        user.enabled = enabled;
        self.store.update_user(&user).await
    }

    /// Edits names, email and flags. Admins only.
    pub async fn edit_user(&self, caller: &Caller, edit: UserEdit) -> Result<User> {
        caller.require_admin()?;
        let email = Email::parse(&edit.email)?;
        let mut user = self
            .store
            .get_user(&edit.id)
            .await?
            .ok_or_else(|| Error::invalid(format!("no user with id '{}'", edit.id)))?;
        if let Some(other) = self.store.find_user_by_email(email.as_str()).await? {
            if other.id != user.id {
                return Err(Error::invalid(format!("email '{}' is taken", email.as_str())));
            }
        }
        user.first_name = edit.first_name;
        user.last_name = edit.last_name;
        user.email = email.as_str().to_string();
        user.enabled = edit.enabled;
        user.is_admin = edit.is_admin;
        self.store.update_user(&user).await?;
        Ok(user)
    }
}
