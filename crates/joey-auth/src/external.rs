//! Trust in an external OIDC issuer (a real Keycloak): its JWKS is fetched at start and again
//! when a token names an unknown key (at most every 10 s).

use std::collections::HashMap;
use std::time::{Duration, Instant};

use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::DecodingKey;
use joey_core::{Error, Result};
use tokio::sync::RwLock;

use crate::verify::{describe_jwt_error, unauth, validation, SeenClaims};

/// An external issuer whose tokens Joey accepts.
pub struct ExternalIssuer {
    issuer: String,
    jwks_url: String,
    audience: Option<String>,
    http: reqwest::Client,
    keys: RwLock<(HashMap<String, DecodingKey>, Option<Instant>)>,
}

impl ExternalIssuer {
    pub fn new(issuer: String, jwks_url: String, audience: Option<String>) -> Self {
        let http = reqwest::Client::builder().timeout(Duration::from_secs(10)).build().unwrap_or_default();
        Self { issuer, jwks_url, audience, http, keys: RwLock::new((HashMap::new(), None)) }
    }

    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    /// Fetches the issuer's keys now.
    pub async fn refresh(&self) -> Result<usize> {
        let set: JwkSet = self
            .http
            .get(&self.jwks_url)
            .send()
            .await
            .and_then(|r| r.error_for_status())
            .map_err(|e| Error::Unavailable(format!("cannot fetch external JWKS {}: {e}", self.jwks_url)))?
            .json()
            .await
            .map_err(|e| Error::Unavailable(format!("external JWKS {} is not valid: {e}", self.jwks_url)))?;
        let mut map = HashMap::new();
        for jwk in &set.keys {
            if let (Some(kid), Ok(key)) = (jwk.common.key_id.clone(), DecodingKey::from_jwk(jwk)) {
                map.insert(kid, key);
            }
        }
        let n = map.len();
        *self.keys.write().await = (map, Some(Instant::now()));
        Ok(n)
    }

    pub(crate) async fn verify(&self, token: &str, kid: &str) -> Result<SeenClaims> {
        if !self.keys.read().await.0.contains_key(kid) {
            let stale = self.keys.read().await.1.is_none_or(|t| t.elapsed() > Duration::from_secs(10));
            if stale {
                if let Err(e) = self.refresh().await {
                    tracing::warn!(error = %e, "external JWKS refresh failed");
                }
            }
        }
        let guard = self.keys.read().await;
        let key = guard.0.get(kid).ok_or_else(|| unauth("token was not signed by a key this server knows"))?;
        let v = validation(&self.issuer, self.audience.as_deref());
        jsonwebtoken::decode::<SeenClaims>(token, key, &v)
            .map(|d| d.claims)
            .map_err(|e| unauth(describe_jwt_error(&e)))
    }
}
