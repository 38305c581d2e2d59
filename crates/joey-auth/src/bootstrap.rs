//! First-start bootstrap: the admin user and the two OIDC clients.

use joey_core::names::Email;
use joey_core::user::OidcClient;
use joey_core::{Platform, Result};

use crate::grants::{API_CLIENT, SDK_CLIENT};

/// What the operator configured.
#[derive(Debug, Clone)]
pub struct BootstrapSpec {
    pub admin_email: String,
    pub admin_password: Option<String>,
    pub api_client_secret: Option<String>,
}

/// What bootstrap created. Secrets appear here exactly once, to be printed/written by the caller.
#[derive(Debug, Clone, Default)]
pub struct BootstrapReport {
    pub created_admin: Option<(String, String)>,
    pub generated_api_client_secret: Option<String>,
}

/// Creates the admin user and the `api-client`/`sdk-client` clients when the store has none.
/// Later starts reuse what exists (a configured `api_client_secret` replaces the stored one).
pub async fn bootstrap(platform: &Platform, spec: &BootstrapSpec) -> Result<BootstrapReport> {
    let store = &platform.store;
    let mut report = BootstrapReport::default();
    if store.count_users().await? == 0 {
        let email = Email::parse(&spec.admin_email)?;
        let password = spec.admin_password.clone().unwrap_or_else(|| platform.secrets.password());
        platform.create_user_with_workspace(email.clone(), Some(&password), true).await?;
        report.created_admin = Some((email.as_str().to_string(), password));
    }
    if store.get_client(SDK_CLIENT).await?.is_none() {
        store.upsert_client(&OidcClient { client_id: SDK_CLIENT.into(), secret_hash: None }).await?;
    }
    let existing = store.get_client(API_CLIENT).await?;
    let secret = match (&spec.api_client_secret, existing) {
        (Some(s), _) => Some(s.clone()),
        (None, None) => {
            let s = platform.secrets.password();
            report.generated_api_client_secret = Some(s.clone());
            Some(s)
        }
        (None, Some(_)) => None,
    };
    if let Some(s) = secret {
        let hash = platform.hasher.hash(&s)?;
        store.upsert_client(&OidcClient { client_id: API_CLIENT.into(), secret_hash: Some(hash) }).await?;
    }
    Ok(report)
}
