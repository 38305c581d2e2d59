//! Workspace management.

use super::Platform;
use crate::names::WorkspaceName;
use crate::user::User;
use crate::workspace::{Member, Role, Workspace, WorkspaceSummary};
use crate::{Caller, Error, Result};

impl Platform {
    /// Creates a workspace owned by the caller. Names are unique across the instance.
    pub async fn create_workspace(&self, caller: &Caller, name: &str) -> Result<Workspace> {
        caller.require_user()?;
        let name = WorkspaceName::parse(name)?;
        if self.store.find_workspace_by_name(name.as_str()).await?.is_some() {
            return Err(Error::invalid(format!("workspace '{}' already exists", name.as_str())));
        }
        let now = self.clock.now_ms();
        self.store.create_workspace(name.as_str(), &caller.user_id, now).await
    }

    /// The caller's workspaces; admins see all of them. `for_user` narrows to one user's
    /// workspaces (admins may ask about anyone, others only about themselves).
    pub async fn list_workspaces(&self, caller: &Caller, for_user: Option<&str>) -> Result<Vec<WorkspaceSummary>> {
        caller.require_user()?;
        match for_user {
            Some(u) if u != caller.user_id && !caller.is_admin => {
                Err(Error::forbidden("only admins may list another user's workspaces"))
            }
            Some(u) => self.store.list_workspaces(Some(u)).await,
            None if caller.is_admin => self.store.list_workspaces(None).await,
            None => self.store.list_workspaces(Some(&caller.user_id)).await,
        }
    }

    /// Adds (or re-roles) a user. Owners and admins only.
    pub async fn add_workspace_user(&self, caller: &Caller, workspace_id: i64, who: UserRef<'_>, role: Role) -> Result<()> {
        self.owned_workspace(caller, workspace_id).await?;
        let user = self.resolve_user(who).await?;
        self.store.put_member(workspace_id, &user.id, role).await
    }

    /// Removes a user; idempotent (returns 0 when they were not a member).
    pub async fn remove_workspace_user(&self, caller: &Caller, workspace_id: i64, who: UserRef<'_>) -> Result<u64> {
        self.owned_workspace(caller, workspace_id).await?;
        let user = match self.resolve_user(who).await {
            Ok(u) => u,
            Err(Error::InvalidInput(_)) => return Ok(0),
            Err(e) => return Err(e),
        };
        self.store.remove_member(workspace_id, &user.id).await
    }

    pub async fn list_workspace_users(&self, caller: &Caller, workspace_id: i64) -> Result<Vec<Member>> {
        self.workspace_for(caller, workspace_id).await?;
        self.store.list_members(workspace_id).await
    }

    async fn resolve_user(&self, who: UserRef<'_>) -> Result<User> {
        let found = match who {
            UserRef::Id(id) => self.store.get_user(id).await?,
            UserRef::Email(email) => self.store.find_user_by_email(&email.trim().to_lowercase()).await?,
        };
        found.ok_or_else(|| match who {
            UserRef::Id(id) => Error::invalid(format!("no user with id '{id}'")),
            UserRef::Email(e) => Error::invalid(format!("no user with email '{e}'")),
        })
    }
}

/// How a request names a user: by id or by email.
#[derive(Debug, Clone, Copy)]
pub enum UserRef<'a> {
    Id(&'a str),
    Email(&'a str),
}

impl<'a> UserRef<'a> {
    /// Prefers the id when both are given; errors when neither is.
    pub fn from_parts(user_id: Option<&'a str>, email: Option<&'a str>) -> Result<Self> {
        match (user_id.filter(|s| !s.is_empty()), email.filter(|s| !s.is_empty())) {
            (Some(id), _) => Ok(UserRef::Id(id)),
            (None, Some(e)) => Ok(UserRef::Email(e)),
            (None, None) => Err(Error::invalid("either 'email' or 'user_id' is required")),
        }
    }
}

impl Platform {
    /// Creates any missing `"<email> - Default Workspace"` (admins only). Returns how many were made.
    pub async fn ensure_default_workspaces(&self, caller: &Caller) -> Result<usize> {
        caller.require_admin()?;
        let mut made = 0;
        for user in self.store.list_users(None).await? {
            let name = crate::workspace::default_workspace_name(&user.email);
            if self.store.find_workspace_by_name(&name).await?.is_none() {
                self.store.create_workspace(&name, &user.id, self.clock.now_ms()).await?;
                made += 1;
            }
        }
        Ok(made)
    }
}
