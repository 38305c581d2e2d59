//! Users, OIDC clients, signing keys and the records the token service keeps.

/// A person or service account that can hold tokens.
#[derive(Debug, Clone, PartialEq)]
pub struct User {
    /// The Keycloak-style user id (a UUID string); the JWT `sub`.
    pub id: String,
    pub username: String,
    pub email: String,
    pub first_name: String,
    pub last_name: String,
    pub enabled: bool,
    pub is_admin: bool,
    /// Argon2id PHC string; `None` for users that only log in through an external issuer.
    pub password_hash: Option<String>,
    pub created_at_ms: i64,
    pub last_login_ms: Option<i64>,
}

/// What it takes to create a user.
#[derive(Debug, Clone)]
pub struct NewUser {
    pub id: String,
    pub username: String,
    pub email: String,
    pub first_name: String,
    pub last_name: String,
    pub is_admin: bool,
    pub password_hash: Option<String>,
}

/// An OIDC client registered at the token service.
#[derive(Debug, Clone, PartialEq)]
pub struct OidcClient {
    pub client_id: String,
    /// Argon2id hash of the secret; `None` for public clients such as `sdk-client`.
    pub secret_hash: Option<String>,
}

/// One RS256 signing key, persisted so tokens survive restarts.
#[derive(Debug, Clone, PartialEq)]
pub struct SigningKey {
    pub kid: String,
    pub private_pem: String,
    pub created_at_ms: i64,
}

/// A refresh token as stored: only its hash, never the token itself.
#[derive(Debug, Clone, PartialEq)]
pub struct RefreshGrant {
    pub token_hash: String,
    pub user_id: String,
    pub client_id: String,
    pub expires_at_ms: i64,
}

/// A pending device-code login (the SDK's `sso` flow).
#[derive(Debug, Clone, PartialEq)]
pub struct DeviceGrant {
    pub device_code: String,
    pub user_code: String,
    pub client_id: String,
    pub expires_at_ms: i64,
    /// Set when a signed-in user approves the code.
    pub approved_user_id: Option<String>,
}

/// Hashes and verifies secrets (passwords, client secrets). Implemented with Argon2id outside core.
pub trait PasswordHasher: Send + Sync {
    fn hash(&self, secret: &str) -> crate::Result<String>;
    fn verify(&self, secret: &str, hash: &str) -> bool;
}

/// Generates readable random secrets (initial passwords, client secrets). Implemented outside core.
pub trait SecretGenerator: Send + Sync {
    fn password(&self) -> String;
}
