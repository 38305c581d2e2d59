//! OAuth2 error bodies (`{"error": "...", "error_description": "..."}`).

/// An OAuth2 token-endpoint error.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{code}: {description}")]
pub struct OAuthError {
    /// `invalid_request`, `invalid_client`, `invalid_grant`, `unauthorized_client`,
    /// `unsupported_grant_type`, `authorization_pending`, `slow_down`, `expired_token`, `server_error`.
    pub code: &'static str,
    pub description: String,
    /// HTTP status to answer with.
    pub status: u16,
}

impl OAuthError {
    pub fn new(code: &'static str, description: impl Into<String>) -> Self {
        let status = match code {
            "invalid_client" => 401,
            "server_error" => 500,
            _ => 400,
        };
        Self { code, description: description.into(), status }
    }

    pub fn body(&self) -> serde_json::Value {
        serde_json::json!({"error": self.code, "error_description": self.description})
    }
}

impl From<joey_core::Error> for OAuthError {
    fn from(e: joey_core::Error) -> Self {
        tracing::error!(error = %e, "token service failure");
        OAuthError::new("server_error", "the token service failed; see the server log")
    }
}
