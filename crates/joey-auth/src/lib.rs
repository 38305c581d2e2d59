//! Identity: Argon2id secrets, RS256 signing keys, and the Keycloak-compatible token service
//! (password, refresh, client-credentials and device-code grants; verification of our own and of
//! an external issuer's tokens).

mod bootstrap;
mod error;
mod external;
mod grants;
mod keys;
mod secrets;
mod verify;

pub use bootstrap::{bootstrap, BootstrapReport, BootstrapSpec};
pub use error::OAuthError;
pub use external::ExternalIssuer;
pub use grants::{ClientAuth, DeviceStart, TokenResponse};
pub use keys::KeyRing;
pub use secrets::{Argon2Hasher, RandomSecrets};

use std::sync::Arc;

use joey_core::Platform;

/// Settings of the token service.
#[derive(Debug, Clone)]
pub struct AuthConfig {
    /// `iss` of our tokens: `<public url>/auth/realms/master`.
    pub issuer: String,
    /// `aud` of our tokens, checked on every request.
    pub audience: String,
    pub access_ttl_secs: i64,
    pub refresh_ttl_secs: i64,
    pub device_ttl_secs: i64,
    /// The public base URL (for device verification links).
    pub public_url: String,
}

/// The token service: issues and verifies tokens.
#[derive(Clone)]
pub struct TokenService {
    pub(crate) platform: Platform,
    pub(crate) keys: Arc<KeyRing>,
    pub(crate) config: Arc<AuthConfig>,
    pub(crate) external: Option<Arc<ExternalIssuer>>,
    pub(crate) verified: Arc<verify::VerifiedTokens>,
}

impl TokenService {
    pub fn new(platform: Platform, keys: Arc<KeyRing>, config: AuthConfig, external: Option<ExternalIssuer>) -> Self {
        Self { platform, keys, config: Arc::new(config), external: external.map(Arc::new), verified: Arc::default() }
    }

    pub fn config(&self) -> &AuthConfig {
        &self.config
    }

    /// The JWKS document (`/protocol/openid-connect/certs`).
    pub fn jwks(&self) -> serde_json::Value {
        self.keys.jwks()
    }
}
