//! Bearer-token verification: signature (RS256 only), expiry, issuer, audience, and the user's
//! current state in the store.

use jsonwebtoken::{Algorithm, Validation};
use joey_core::names::Email;
use joey_core::user::NewUser;
use joey_core::{Caller, CallerKind, Error, Result};
use serde::Deserialize;

use crate::TokenService;

/// The claims Joey reads from any bearer token.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct SeenClaims {
    #[serde(default)]
    pub exp: i64,
    pub sub: String,
    #[serde(default)]
    pub email: Option<String>,
    #[serde(default)]
    pub preferred_username: Option<String>,
    /// Set only on client-credentials (service-account) tokens, by us or by Keycloak.
    #[serde(default, rename = "clientId")]
    pub client_id: Option<String>,
}

pub(crate) fn validation(issuer: &str, audience: Option<&str>) -> Validation {
    let mut v = Validation::new(Algorithm::RS256);
    v.set_issuer(&[issuer]);
    match audience {
        Some(aud) => v.set_audience(&[aud]),
        None => v.validate_aud = false,
    }
    v.leeway = 5;
    v.set_required_spec_claims(&["exp", "iss", "sub"]);
    v
}

impl TokenService {
    /// Verifies a bearer token and resolves the caller. Every failure is `Unauthenticated` with a
    /// reason (expired, bad signature, wrong issuer, unknown key, disabled user).
    pub async fn verify(&self, token: &str) -> Result<Caller> {
        // A token already verified (same bytes) whose key is still ours skips the header parse too.
        let now = self.platform.clock.now_ms() / 1000;
        if let Some(seen) = self.verified.get(token, now) {
            if self.keys.decoding(&seen.kid).is_some() {
                return self.caller_for(&seen.claims).await;
            }
        }
        let header = jsonwebtoken::decode_header(token).map_err(|e| unauth(format!("malformed token: {e}")))?;
        if header.alg != Algorithm::RS256 {
            return Err(unauth(format!("token algorithm {:?} is not accepted; only RS256", header.alg)));
        }
        let kid = header.kid.unwrap_or_default();
        if let Some(key) = self.keys.decoding(&kid) {
            let v = validation(&self.config.issuer, Some(&self.config.audience));
            let data = jsonwebtoken::decode::<SeenClaims>(token, key, &v).map_err(|e| unauth(describe_jwt_error(&e)))?;
            self.verified.put(token, &kid, data.claims.clone());
            return self.caller_for(&data.claims).await;
        }
        match &self.external {
            Some(ext) => {
                let claims = ext.verify(token, &kid).await?;
                self.external_caller(claims).await
            }
            None => Err(unauth("token was not signed by a key this server knows")),
        }
    }

    async fn caller_for(&self, claims: &SeenClaims) -> Result<Caller> {
        // Service accounts are recognised by the signed `clientId` claim, never by a name
        // a user could choose.
        if claims.client_id.is_some() {
            return Ok(Caller { user_id: claims.sub.clone(), email: claims.email.clone().unwrap_or_default(), is_admin: false, kind: CallerKind::ServiceAccount });
        }
        let user = self.platform.store.get_user(&claims.sub).await?.ok_or_else(|| unauth("the token's user no longer exists"))?;
        if !user.enabled {
            return Err(unauth("the token's user is deactivated"));
        }
        Ok(Caller { user_id: user.id, email: user.email, is_admin: user.is_admin, kind: CallerKind::User })
    }

    /// External users are created on first sight, keyed by the issuer's `sub`.
    async fn external_caller(&self, claims: SeenClaims) -> Result<Caller> {
        if self.platform.store.get_user(&claims.sub).await?.is_none() {
            let email = claims.email.as_deref().ok_or_else(|| unauth("external token has no email claim"))?;
            let email = Email::parse(email)?;
            if self.platform.store.find_user_by_email(email.as_str()).await?.is_some() {
                return Err(unauth("external token's email belongs to another local user"));
            }
            let new = NewUser {
                id: claims.sub.clone(),
                username: claims.preferred_username.clone().unwrap_or_else(|| email.as_str().to_string()),
                email: email.as_str().to_string(),
                first_name: String::new(),
                last_name: String::new(),
                is_admin: false,
                password_hash: None,
            };
            self.platform.create_user_record(new).await?;
            tracing::info!(sub = %claims.sub, "created user on first sight of an external token");
        }
        self.caller_for(&claims).await
    }
}

pub(crate) fn describe_jwt_error(e: &jsonwebtoken::errors::Error) -> String {
    use jsonwebtoken::errors::ErrorKind as K;
    match e.kind() {
        K::ExpiredSignature => "token has expired".into(),
        K::InvalidSignature => "token signature is invalid".into(),
        K::InvalidIssuer => "token issuer is not accepted".into(),
        K::InvalidAudience => "token audience is not accepted".into(),
        K::ImmatureSignature => "token is not valid yet".into(),
        other => format!("invalid token: {other:?}"),
    }
}

pub(crate) fn unauth(msg: impl Into<String>) -> Error {
    Error::Unauthenticated(msg.into())
}


/// Tokens whose signature, issuer and audience were already checked, until they expire. Saves the
/// RSA verification on every inference call; the user's current state is still checked each time.
///
/// Entries are found by a hash of the token's last bytes (its signature, random for every token
/// we accept; only verified tokens are ever stored) and confirmed by comparing the whole token.
#[derive(Default)]
pub(crate) struct VerifiedTokens {
    map: std::sync::RwLock<std::collections::HashMap<u64, Vec<std::sync::Arc<Seen>>>>,
}

/// A verified token: the key id that signed it and its claims.
pub(crate) struct Seen {
    token: String,
    pub kid: String,
    pub claims: SeenClaims,
}

impl VerifiedTokens {
    const MAX: usize = 10_000;

    fn slot(token: &str) -> u64 {
        use std::hash::{Hash, Hasher};
        let tail = &token.as_bytes()[token.len().saturating_sub(24)..];
        let mut h = std::collections::hash_map::DefaultHasher::new();
        (token.len(), tail).hash(&mut h);
        h.finish()
    }

    /// The signing key id and claims of `token` if it was verified and has not expired.
    fn get(&self, token: &str, now_secs: i64) -> Option<std::sync::Arc<Seen>> {
        let map = self.map.read().ok()?;
        map.get(&Self::slot(token))?.iter().find(|s| s.token == token && s.claims.exp > now_secs).cloned()
    }

    fn put(&self, token: &str, kid: &str, claims: SeenClaims) {
        if let Ok(mut map) = self.map.write() {
            if map.len() >= Self::MAX {
                map.clear();
            }
            let entries = map.entry(Self::slot(token)).or_default();
            entries.retain(|s| s.token != token);
            entries.push(std::sync::Arc::new(Seen { token: token.to_string(), kid: kid.to_string(), claims }));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims(sub: &str, exp: i64) -> SeenClaims {
        SeenClaims { exp, sub: sub.into(), email: None, preferred_username: None, client_id: None }
    }

    #[test]
    fn verified_tokens_match_whole_tokens_until_they_expire() {
        let v = VerifiedTokens::default();
        // Same length and same last bytes: one slot, told apart by the whole token.
        let (a, b) = ("aaaa.bbbb.signature-tail-0123456789abcdef", "zzzz.yyyy.signature-tail-0123456789abcdef");
        assert_eq!(VerifiedTokens::slot(a), VerifiedTokens::slot(b));
        v.put(a, "k1", claims("alice", 100));
        assert!(v.get(b, 50).is_none(), "a token never verified is not found");
        v.put(b, "k2", claims("bob", 200));
        let seen = v.get(a, 50).expect("a is cached");
        assert_eq!((seen.kid.as_str(), seen.claims.sub.as_str()), ("k1", "alice"));
        assert_eq!(v.get(b, 50).expect("b is cached").claims.sub, "bob");
        assert!(v.get(a, 100).is_none(), "expired at exp");
        assert!(v.get(b, 150).is_some());
        // Storing a token again replaces its entry.
        v.put(a, "k3", claims("alice", 300));
        assert_eq!(v.get(a, 150).expect("re-stored").kid, "k3");
        assert_eq!(v.map.read().unwrap().get(&VerifiedTokens::slot(a)).unwrap().len(), 2);
    }
}
