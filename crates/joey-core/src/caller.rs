//! The authenticated principal and the permission checks every service method uses.

/// What kind of token the caller presented.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallerKind {
    /// A person's token (password, refresh or device-code grant, or an external issuer's user token).
    User,
    /// A client-credentials token. Allowed on inference routes only.
    ServiceAccount,
}

/// The principal behind a request.
#[derive(Debug, Clone)]
pub struct Caller {
    pub user_id: String,
    pub email: String,
    pub is_admin: bool,
    pub kind: CallerKind,
}

impl Caller {
    /// Refuses service-account tokens on the management API.
    pub fn require_user(&self) -> crate::Result<()> {
        match self.kind {
            CallerKind::User => Ok(()),
            CallerKind::ServiceAccount => Err(crate::Error::forbidden(
                "service-account tokens may only call inference endpoints",
            )),
        }
    }

    /// Refuses non-admins.
    pub fn require_admin(&self) -> crate::Result<()> {
        self.require_user()?;
        if self.is_admin {
            Ok(())
        } else {
            Err(crate::Error::forbidden("this operation requires the admin role"))
        }
    }
}
