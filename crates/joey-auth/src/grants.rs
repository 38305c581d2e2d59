//! The token endpoint's grants: password, refresh_token, client_credentials and device_code.

use jsonwebtoken::{Algorithm, Header};
use joey_core::user::{DeviceGrant, RefreshGrant, User};
use serde::Serialize;

use crate::secrets::{random_string, token_hash};
use crate::{OAuthError, TokenService};

/// The public SDK client (no secret).
pub const SDK_CLIENT: &str = "sdk-client";
/// The confidential client of the Wallaroo guides.
pub const API_CLIENT: &str = "api-client";

/// How the caller of the token endpoint identified its client.
#[derive(Debug, Clone, Default)]
pub struct ClientAuth {
    pub client_id: Option<String>,
    pub client_secret: Option<String>,
}

/// A successful token response (RFC 6749 §5.1 plus Keycloak's extra fields).
#[derive(Debug, Clone, Serialize)]
pub struct TokenResponse {
    pub access_token: String,
    pub expires_in: i64,
    pub refresh_expires_in: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
    pub token_type: &'static str,
    #[serde(rename = "not-before-policy")]
    pub not_before_policy: i64,
    pub session_state: String,
    pub scope: String,
}

/// The answer to `POST …/auth/device`.
#[derive(Debug, Clone, Serialize)]
pub struct DeviceStart {
    pub device_code: String,
    pub user_code: String,
    pub verification_uri: String,
    pub verification_uri_complete: String,
    pub expires_in: i64,
    pub interval: i64,
}

#[derive(Serialize)]
struct Claims<'a> {
    exp: i64,
    iat: i64,
    jti: String,
    iss: &'a str,
    aud: &'a str,
    sub: &'a str,
    typ: &'static str,
    azp: &'a str,
    email: &'a str,
    preferred_username: &'a str,
    name: String,
    realm_access: serde_json::Value,
    scope: &'static str,
    #[serde(rename = "clientId", skip_serializing_if = "Option::is_none")]
    client_id: Option<&'a str>,
    #[serde(rename = "https://hasura.io/jwt/claims")]
    hasura: serde_json::Value,
}

impl TokenService {
    /// Checks the client: confidential clients need their secret; public clients must not be
    /// asked for `client_credentials`.
    async fn authenticate_client(&self, auth: &ClientAuth) -> Result<String, OAuthError> {
        let id = auth.client_id.clone().ok_or_else(|| OAuthError::new("invalid_client", "client_id is required (form field or HTTP Basic)"))?;
        let client = self.platform.store.get_client(&id).await?.ok_or_else(|| OAuthError::new("invalid_client", format!("unknown client '{id}'")))?;
        if let Some(hash) = &client.secret_hash {
            let secret = auth.client_secret.as_deref().unwrap_or_default();
            if !self.platform.hasher.verify(secret, hash) {
                return Err(OAuthError::new("invalid_client", "invalid client credentials"));
            }
        }
        Ok(id)
    }

    pub async fn password_grant(&self, auth: &ClientAuth, username: &str, password: &str) -> Result<TokenResponse, OAuthError> {
        let client = self.authenticate_client(auth).await?;
        let store = &self.platform.store;
        let user = match store.find_user_by_username(username).await? {
            Some(u) => Some(u),
            None => store.find_user_by_email(&username.to_lowercase()).await?,
        };
        let bad = || OAuthError::new("invalid_grant", "Invalid user credentials");
        let user = user.ok_or_else(bad)?;
        let hash = user.password_hash.as_deref().ok_or_else(bad)?;
        if !self.platform.hasher.verify(password, hash) {
            return Err(bad());
        }
        if !user.enabled {
            return Err(OAuthError::new("invalid_grant", "Account disabled"));
        }
        self.platform.store.record_login(&user.id, self.platform.clock.now_ms()).await?;
        self.issue_for_user(&user, &client).await
    }

    pub async fn refresh_grant(&self, auth: &ClientAuth, refresh_token: &str) -> Result<TokenResponse, OAuthError> {
        let client = self.authenticate_client(auth).await?;
        let now = self.platform.clock.now_ms();
        let invalid = || OAuthError::new("invalid_grant", "Invalid refresh token");
        let grant = self.platform.store.take_refresh_grant(&token_hash(refresh_token)).await?.ok_or_else(invalid)?;
        if grant.expires_at_ms <= now || grant.client_id != client {
            return Err(invalid());
        }
        let user = self.platform.store.get_user(&grant.user_id).await?.ok_or_else(invalid)?;
        if !user.enabled {
            return Err(OAuthError::new("invalid_grant", "Account disabled"));
        }
        self.issue_for_user(&user, &client).await
    }

    pub async fn client_credentials_grant(&self, auth: &ClientAuth) -> Result<TokenResponse, OAuthError> {
        let client = self.authenticate_client(auth).await?;
        let stored = self.platform.store.get_client(&client).await?;
        if stored.and_then(|c| c.secret_hash).is_none() {
            return Err(OAuthError::new("unauthorized_client", "public clients cannot use client_credentials"));
        }
        let sa = format!("service-account-{client}");
        let access = self.sign(&sa, &client, &format!("{sa}@placeholder.org"), &sa, false, Some(&client))?;
        Ok(self.response(access, None))
    }

    pub async fn device_start(&self, client_id: Option<&str>) -> Result<DeviceStart, OAuthError> {
        let auth = ClientAuth { client_id: client_id.map(str::to_string), client_secret: None };
        let client = self.authenticate_client(&auth).await?;
        let now = self.platform.clock.now_ms();
        let user_code = format!("{}-{}", random_string(4).to_uppercase(), random_string(4).to_uppercase());
        let grant = DeviceGrant {
            device_code: random_string(40),
            user_code: user_code.clone(),
            client_id: client,
            expires_at_ms: now + self.config.device_ttl_secs * 1000,
            approved_user_id: None,
        };
        self.platform.store.insert_device_grant(&grant).await?;
        let uri = format!("{}/auth/realms/master/device", self.config.public_url);
        Ok(DeviceStart {
            device_code: grant.device_code,
            verification_uri_complete: format!("{uri}?user_code={user_code}"),
            verification_uri: uri,
            user_code,
            expires_in: self.config.device_ttl_secs,
            interval: 1,
        })
    }

    pub async fn device_grant(&self, auth: &ClientAuth, device_code: &str) -> Result<TokenResponse, OAuthError> {
        let client = self.authenticate_client(auth).await?;
        let store = &self.platform.store;
        let grant = store
            .get_device_grant(device_code)
            .await?
            .filter(|g| g.client_id == client)
            .ok_or_else(|| OAuthError::new("invalid_grant", "unknown device code"))?;
        if grant.expires_at_ms <= self.platform.clock.now_ms() {
            store.delete_device_grant(device_code).await?;
            return Err(OAuthError::new("expired_token", "the device code has expired"));
        }
        if grant.approved_user_id.is_none() {
            return Err(OAuthError::new("authorization_pending", "the user has not approved this code yet"));
        }
        // Taking the approved grant is atomic: concurrent polls get tokens once.
        let taken = store.take_approved_device_grant(device_code).await?.ok_or_else(|| OAuthError::new("invalid_grant", "unknown device code"))?;
        let user_id = taken.approved_user_id.unwrap_or_default();
        let user = store.get_user(&user_id).await?.filter(|u| u.enabled).ok_or_else(|| OAuthError::new("invalid_grant", "Account disabled"))?;
        self.issue_for_user(&user, &client).await
    }

    async fn issue_for_user(&self, user: &User, client: &str) -> Result<TokenResponse, OAuthError> {
        let access = self.sign(&user.id, client, &user.email, &user.username, user.is_admin, None)?;
        let refresh = random_string(48);
        let grant = RefreshGrant {
            token_hash: token_hash(&refresh),
            user_id: user.id.clone(),
            client_id: client.to_string(),
            expires_at_ms: self.platform.clock.now_ms() + self.config.refresh_ttl_secs * 1000,
        };
        self.platform.store.insert_refresh_grant(&grant).await?;
        Ok(self.response(access, Some(refresh)))
    }

    fn response(&self, access_token: String, refresh_token: Option<String>) -> TokenResponse {
        let refresh_expires_in = if refresh_token.is_some() { self.config.refresh_ttl_secs } else { 0 };
        TokenResponse {
            access_token,
            expires_in: self.config.access_ttl_secs,
            refresh_expires_in,
            refresh_token,
            token_type: "Bearer",
            not_before_policy: 0,
            session_state: uuid::Uuid::new_v4().to_string(),
            scope: "openid email profile".into(),
        }
    }

    fn sign(&self, sub: &str, azp: &str, email: &str, username: &str, admin: bool, sa_client: Option<&str>) -> Result<String, OAuthError> {
        let now = self.platform.clock.now_ms() / 1000;
        let mut roles = vec!["default-roles-master", "offline_access", "uma_authorization"];
        if admin {
            roles.push("admin");
        }
        let claims = Claims {
            exp: now + self.config.access_ttl_secs,
            iat: now,
            jti: uuid::Uuid::new_v4().to_string(),
            iss: &self.config.issuer,
            aud: &self.config.audience,
            sub,
            typ: "Bearer",
            azp,
            email,
            preferred_username: username,
            name: username.to_string(),
            realm_access: serde_json::json!({ "roles": roles }),
            scope: "openid email profile",
            client_id: sa_client,
            hasura: serde_json::json!({
                "x-hasura-user-id": sub,
                "x-hasura-default-role": "user",
                "x-hasura-allowed-roles": ["user"],
                "x-hasura-user-groups": "{}",
            }),
        };
        let mut header = Header::new(Algorithm::RS256);
        header.kid = Some(self.keys.kid().to_string());
        jsonwebtoken::encode(&header, &claims, self.keys.encoding())
            .map_err(|e| OAuthError::new("server_error", format!("cannot sign token: {e}")))
    }
}

impl TokenService {
    /// Approves a pending device code for the caller, or — for admins — for the user named by `email`.
    pub async fn approve_device(&self, caller: &joey_core::Caller, user_code: &str, email: Option<&str>) -> joey_core::Result<()> {
        caller.require_user()?;
        let user_id = match email {
            None => caller.user_id.clone(),
            Some(e) => {
                caller.require_admin()?;
                let e = joey_core::names::Email::parse(e)?;
                let u = self.platform.store.find_user_by_email(e.as_str()).await?;
                u.ok_or_else(|| joey_core::Error::invalid(format!("no user with email '{}'", e.as_str())))?.id
            }
        };
        let code = user_code.trim().to_uppercase();
        if self.platform.store.approve_device_grant(&code, &user_id, self.platform.clock.now_ms()).await? {
            Ok(())
        } else {
            Err(joey_core::Error::invalid(format!("no pending device login has the code '{code}' (it may have expired)")))
        }
    }
}
