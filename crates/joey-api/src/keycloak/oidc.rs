//! Token, device, discovery, JWKS and userinfo endpoints.

use std::collections::HashMap;

use axum::extract::{Form, Query, State};
use axum::http::HeaderMap;
use axum::response::Html;
use axum::routing::{get, post};
use axum::{Json, Router};
use base64::Engine;
use joey_auth::{ClientAuth, OAuthError, TokenResponse};
use serde::Deserialize;
use serde_json::{json, Value};

use crate::extract::{Auth, WJson};
use crate::{ApiError, AppState};

const REALM: &str = "/auth/realms/master";

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/auth/realms/master/protocol/openid-connect/token", post(token))
        .route("/auth/realms/master/protocol/openid-connect/auth/device", post(device_start))
        .route("/auth/realms/master/protocol/openid-connect/certs", get(certs))
        .route("/auth/realms/master/protocol/openid-connect/userinfo", get(userinfo).post(userinfo))
        .route("/auth/realms/master/.well-known/openid-configuration", get(discovery))
        .route("/auth/realms/master/device", get(device_page).post(device_page_submit))
        .route("/auth/realms/master/device/approve", post(device_approve))
}

/// Reads client credentials from HTTP Basic, else from the form.
fn client_auth(headers: &HeaderMap, form: &HashMap<String, String>) -> Result<ClientAuth, OAuthError> {
    if let Some(v) = headers.get(axum::http::header::AUTHORIZATION).and_then(|v| v.to_str().ok()) {
        if let Some(b64) = v.strip_prefix("Basic ").or_else(|| v.strip_prefix("basic ")) {
            let raw = base64::engine::general_purpose::STANDARD
                .decode(b64.trim())
                .map_err(|_| OAuthError::new("invalid_client", "HTTP Basic credentials are not valid base64"))?;
            let text = String::from_utf8(raw).map_err(|_| OAuthError::new("invalid_client", "HTTP Basic credentials are not UTF-8"))?;
            let (id, secret) = text.split_once(':').unwrap_or((&text, ""));
            return Ok(ClientAuth { client_id: Some(id.to_string()), client_secret: Some(secret.to_string()) });
        }
    }
    Ok(ClientAuth { client_id: form.get("client_id").cloned(), client_secret: form.get("client_secret").cloned() })
}

fn field<'a>(form: &'a HashMap<String, String>, name: &str) -> Result<&'a str, OAuthError> {
    form.get(name).map(String::as_str).ok_or_else(|| OAuthError::new("invalid_request", format!("missing form field '{name}'")))
}

/// The token endpoint: password, refresh_token, client_credentials and device_code grants.
#[utoipa::path(post, path = "/auth/realms/master/protocol/openid-connect/token", tag = "auth",
    request_body(content = String, content_type = "application/x-www-form-urlencoded", description = "grant_type=password|refresh_token|client_credentials|urn:ietf:params:oauth:grant-type:device_code"),
    responses((status = 200, description = "access_token, expires_in, refresh_token, refresh_expires_in, token_type", body = Object), (status = 400, body = Object), (status = 401, body = Object)))]
pub async fn token(State(s): State<AppState>, headers: HeaderMap, form: Result<Form<HashMap<String, String>>, axum::extract::rejection::FormRejection>) -> Result<Json<TokenResponse>, ApiError> {
    let form = form.map(|f| f.0).map_err(|e| OAuthError::new("invalid_request", format!("the body must be application/x-www-form-urlencoded: {e}")))?;
    let auth = client_auth(&headers, &form)?;
    let t = &s.tokens;
    let resp = match field(&form, "grant_type")? {
        "password" => t.password_grant(&auth, field(&form, "username")?, field(&form, "password")?).await?,
        "refresh_token" => t.refresh_grant(&auth, field(&form, "refresh_token")?).await?,
        "client_credentials" => t.client_credentials_grant(&auth).await?,
        "urn:ietf:params:oauth:grant-type:device_code" => t.device_grant(&auth, field(&form, "device_code")?).await?,
        other => return Err(OAuthError::new("unsupported_grant_type", format!("grant_type '{other}' is not supported")).into()),
    };
    Ok(Json(resp))
}

/// Starts a device-code login (the SDK's `sso` auth type).
#[utoipa::path(post, path = "/auth/realms/master/protocol/openid-connect/auth/device", tag = "auth",
    request_body(content = String, content_type = "application/x-www-form-urlencoded", description = "client_id=sdk-client"),
    responses((status = 200, description = "device_code, user_code, verification_uri_complete, interval, expires_in", body = Object)))]
pub async fn device_start(State(s): State<AppState>, headers: HeaderMap, form: Result<Form<HashMap<String, String>>, axum::extract::rejection::FormRejection>) -> Result<Json<Value>, ApiError> {
    let form = form.map(|f| f.0).unwrap_or_default();
    let auth = client_auth(&headers, &form)?;
    let start = s.tokens.device_start(auth.client_id.as_deref()).await?;
    Ok(Json(serde_json::to_value(start).unwrap_or_default()))
}

#[utoipa::path(get, path = "/auth/realms/master/protocol/openid-connect/certs", tag = "auth", responses((status = 200, description = "JWKS", body = Object)))]
pub async fn certs(State(s): State<AppState>) -> Json<Value> {
    Json(s.tokens.jwks())
}

#[utoipa::path(get, path = "/auth/realms/master/protocol/openid-connect/userinfo", tag = "auth", responses((status = 200, body = Object), (status = 401, body = Object)))]
pub async fn userinfo(Auth(caller): Auth) -> Json<Value> {
    Json(json!({"sub": caller.user_id, "email": caller.email, "preferred_username": caller.email, "email_verified": false}))
}

#[utoipa::path(get, path = "/auth/realms/master/.well-known/openid-configuration", tag = "auth", responses((status = 200, body = Object)))]
pub async fn discovery(State(s): State<AppState>) -> Json<Value> {
    let base = format!("{}{REALM}", s.config.public_url);
    let oidc = format!("{base}/protocol/openid-connect");
    Json(json!({
        "issuer": s.tokens.config().issuer,
        "token_endpoint": format!("{oidc}/token"),
        "jwks_uri": format!("{oidc}/certs"),
        "userinfo_endpoint": format!("{oidc}/userinfo"),
        "device_authorization_endpoint": format!("{oidc}/auth/device"),
        "grant_types_supported": ["password", "refresh_token", "client_credentials", "urn:ietf:params:oauth:grant-type:device_code"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "none"],
        "response_types_supported": ["token"],
        "subject_types_supported": ["public"],
    }))
}

#[derive(Deserialize)]
pub struct UserCode {
    #[serde(default)]
    user_code: String,
}

/// The page `verification_uri_complete` points at: sign in to approve the code. Needs no internet.
pub async fn device_page(Query(q): Query<UserCode>) -> Html<String> {
    Html(page(&q.user_code, ""))
}

fn page(code: &str, message: &str) -> String {
    let esc = |s: &str| s.replace('&', "&amp;").replace('<', "&lt;").replace('"', "&quot;");
    format!(
        "<!doctype html><title>Joey device login</title><h1>Approve a device login</h1><p>{}</p>\
         <form method=post><label>Code <input name=user_code value=\"{}\"></label><br>\
         <label>Email <input name=username></label><br><label>Password <input type=password name=password></label><br>\
         <button>Approve</button></form>",
        esc(message),
        esc(code)
    )
}

/// Approves a code with the user's own credentials (the HTML form).
pub async fn device_page_submit(State(s): State<AppState>, Form(form): Form<HashMap<String, String>>) -> Html<String> {
    let get = |k: &str| form.get(k).map(String::as_str).unwrap_or_default();
    let auth = ClientAuth { client_id: Some("sdk-client".into()), client_secret: None };
    let message = match s.tokens.password_grant(&auth, get("username"), get("password")).await {
        Err(e) => e.description,
        Ok(t) => match s.tokens.verify(&t.access_token).await {
            Ok(caller) => match s.tokens.approve_device(&caller, get("user_code"), None).await {
                Ok(()) => "Approved. You can close this page; the SDK will continue.".to_string(),
                Err(e) => e.to_string(),
            },
            Err(e) => e.to_string(),
        },
    };
    Html(page(get("user_code"), &message))
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct ApproveRequest {
    user_code: String,
    /// Admins may approve a code on behalf of this user.
    #[serde(default)]
    email: Option<String>,
}

/// Approves a pending device code for the caller (or, for admins, for the user named by `email`).
#[utoipa::path(post, path = "/auth/realms/master/device/approve", tag = "auth", request_body = ApproveRequest, responses((status = 200, body = Object), (status = 400, body = crate::wire::ErrorBody)))]
pub async fn device_approve(State(s): State<AppState>, Auth(caller): Auth, WJson(req): WJson<ApproveRequest>) -> Result<Json<Value>, ApiError> {
    s.tokens.approve_device(&caller, &req.user_code, req.email.as_deref()).await?;
    Ok(Json(json!({"approved": true})))
}

