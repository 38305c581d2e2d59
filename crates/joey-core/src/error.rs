//! The domain error vocabulary, shared by every layer below HTTP.

/// Errors a domain operation can end with. The HTTP layer maps each variant to one status code.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The request itself is wrong (bad name, missing field, bad value).
    #[error("{0}")]
    InvalidInput(String),
    /// The named thing does not exist, or the caller may not see it.
    #[error("{0}")]
    NotFound(String),
    /// The thing already exists, or the state forbids the change.
    #[error("{0}")]
    Conflict(String),
    /// No valid credentials.
    #[error("{0}")]
    Unauthenticated(String),
    /// Valid credentials without the right to do this.
    #[error("{0}")]
    Forbidden(String),
    /// Temporarily not possible (deployment starting, queue full).
    #[error("{0}")]
    Unavailable(String),
    /// A configured size limit was exceeded.
    #[error("{0}")]
    TooLarge(String),
    /// The capability exists in the API but is not built in Joey yet.
    #[error("{0}")]
    NotImplemented(String),
    /// Something broke inside; the message is logged, never sent to clients.
    #[error("internal error: {0}")]
    Internal(String),
}

impl Error {
    pub fn invalid(msg: impl Into<String>) -> Self {
        Self::InvalidInput(msg.into())
    }
    pub fn not_found(msg: impl Into<String>) -> Self {
        Self::NotFound(msg.into())
    }
    pub fn conflict(msg: impl Into<String>) -> Self {
        Self::Conflict(msg.into())
    }
    pub fn forbidden(msg: impl Into<String>) -> Self {
        Self::Forbidden(msg.into())
    }
    pub fn unauthenticated(msg: impl Into<String>) -> Self {
        Self::Unauthenticated(msg.into())
    }
    pub fn internal(msg: impl std::fmt::Display) -> Self {
        Self::Internal(msg.to_string())
    }
}

/// Result alias for domain operations.
pub type Result<T, E = Error> = std::result::Result<T, E>;
