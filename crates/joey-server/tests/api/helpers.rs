//! A real Joey server on a random local port, with a temporary data directory (and, when
//! `JOEY_TEST_POSTGRES_URL` is set, a fresh PostgreSQL database), plus small request helpers.

use std::net::SocketAddr;

use joey_server::cli::ServeArgs;
use joey_server::startup::Application;
use reqwest::StatusCode;
use serde_json::{json, Value};
use tokio::task::JoinHandle;

pub use crate::helpers_ml::*;

pub const ADMIN_EMAIL: &str = "admin@joey.local";
pub const ADMIN_PASSWORD: &str = "admin-password-for-tests";
pub const API_CLIENT_SECRET: &str = "api-client-secret-for-tests";
pub const TOKEN_PATH: &str = "/auth/realms/master/protocol/openid-connect/token";
pub const DEVICE_PATH: &str = "/auth/realms/master/protocol/openid-connect/auth/device";

/// A running server. Dropping it aborts the server task; the data directory lives as long as this.
pub struct TestApp {
    pub addr: SocketAddr,
    /// `http://127.0.0.1:<port>`
    pub base: String,
    pub client: reqwest::Client,
    /// The settings the server was built from (the data dir and database URL are filled in).
    pub args: ServeArgs,
    /// The admin password in force (given, or read from `admin-credentials.json` when generated).
    pub admin_password: String,
    /// The `api-client` secret in force (given, or read from `admin-credentials.json` when generated).
    pub api_client_secret: String,
    pub data_dir: tempfile::TempDir,
    server: JoinHandle<()>,
    /// The server's inference log store, shut down when the server is stopped (aborting the
    /// serve task skips the graceful shutdown that would release `<data_dir>/logs/LOCK`).
    logs: joey_logstore::LogStore,
}

impl Drop for TestApp {
    fn drop(&mut self) {
        self.server.abort();
        self.logs.shutdown();
    }
}

/// An app with the default settings and known admin credentials.
pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

/// An app whose settings `tweak` may change (token lifetimes, generated credentials, ...).
/// Defaults: admin password and api-client secret set to the constants above.
/// With `JOEY_TEST_LOG` set (e.g. `JOEY_TEST_LOG=1 RUST_LOG=info`), the server logs to stderr.
pub async fn spawn_app_with(tweak: impl FnOnce(&mut ServeArgs)) -> TestApp {
    if std::env::var_os("JOEY_TEST_LOG").is_some() {
        joey_server::telemetry::init("text");
    }
    let data_dir = tempfile::tempdir().expect("temp data dir");
    let mut args = ServeArgs {
        listen: Some("127.0.0.1:0".into()),
        data_dir: Some(data_dir.path().to_path_buf()),
        admin_password: Some(ADMIN_PASSWORD.into()),
        api_client_secret: Some(API_CLIENT_SECRET.into()),
        ..Default::default()
    };
    tweak(&mut args);
    if args.database_url.is_none() {
        args.database_url = fresh_postgres_database().await;
    }
    start(args, data_dir).await
}

/// Builds and serves an app from `args`; the credentials it runs with are taken from the args or
/// from the `admin-credentials.json` it wrote.
async fn start(args: ServeArgs, data_dir: tempfile::TempDir) -> TestApp {
    let settings = joey_server::settings::resolve(args.clone()).expect("valid settings");
    let app = Application::build(settings).await.expect("application builds");
    let logs = app.state.logs.clone();
    let addr = app.local_addr();
    let server = tokio::spawn(async move {
        app.run_until_stopped().await.expect("server runs");
    });
    let creds: Value = std::fs::read_to_string(data_dir.path().join("admin-credentials.json"))
        .ok()
        .and_then(|t| serde_json::from_str(&t).ok())
        .unwrap_or(Value::Null);
    let from_file = |k: &str| creds[k].as_str().map(str::to_string);
    let admin_password = args.admin_password.clone().or_else(|| from_file("password")).unwrap_or_default();
    let api_client_secret = args.api_client_secret.clone().or_else(|| from_file("api_client_secret")).unwrap_or_default();
    TestApp {
        addr,
        base: format!("http://{addr}"),
        client: new_client(),
        args,
        admin_password,
        api_client_secret,
        data_dir,
        server,
        logs,
    }
}

fn new_client() -> reqwest::Client {
    reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().expect("http client")
}

/// With `JOEY_TEST_POSTGRES_URL` set, creates a new, empty database there and returns its URL.
async fn fresh_postgres_database() -> Option<String> {
    let admin = std::env::var("JOEY_TEST_POSTGRES_URL").ok().filter(|s| !s.is_empty())?;
    use sqlx::Connection;
    let name = format!("joey_api_test_{}", uuid::Uuid::new_v4().simple());
    let mut conn = sqlx::PgConnection::connect(&admin).await.expect("connect to JOEY_TEST_POSTGRES_URL");
    sqlx::query(&format!("create database {name}")).execute(&mut conn).await.expect("create database");
    conn.close().await.ok();
    let base = admin.rsplit_once('/').map(|(b, _)| b.to_string()).unwrap_or(admin.clone());
    Some(format!("{base}/{name}"))
}

/// Turns a response into (status, JSON); an empty body is `null`, a non-JSON body a JSON string.
pub async fn read(resp: reqwest::Response) -> (StatusCode, Value) {
    let status = resp.status();
    let text = resp.text().await.expect("response body");
    let value = if text.trim().is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).unwrap_or(Value::String(text))
    };
    (status, value)
}

/// Asserts Wallaroo's management error body `{"msg": <non-empty string>, "code": <status>}`.
pub fn assert_error_body(status: StatusCode, body: &Value) {
    assert_eq!(body["code"], json!(status.as_u16()), "error body should repeat the status: {body}");
    let msg = body["msg"].as_str().unwrap_or_else(|| panic!("error body should have a string msg: {body}"));
    assert!(!msg.is_empty(), "msg should not be empty: {body}");
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    /// Stops this server and builds a new one on the same data dir, database and port.
    /// A new HTTP client is used so no pooled connection reaches the old server.
    pub async fn restart(mut self) -> TestApp {
        let handle = std::mem::replace(&mut self.server, tokio::spawn(async {}));
        handle.abort();
        let _ = handle.await;
        let logs = self.logs.clone();
        tokio::task::spawn_blocking(move || logs.shutdown()).await.expect("log store shutdown");
        let mut args = self.args.clone();
        args.listen = Some(self.addr.to_string());
        let data_dir = std::mem::replace(&mut self.data_dir, tempfile::tempdir().expect("temp dir"));
        let mut app = start(args, data_dir).await;
        // Keep the credentials the first start reported (a restart writes none).
        if app.admin_password.is_empty() {
            app.admin_password = self.admin_password.clone();
        }
        if app.api_client_secret.is_empty() {
            app.api_client_secret = self.api_client_secret.clone();
        }
        app
    }

    // ---- token endpoint ----

    /// Raw call of the token endpoint with a form and optional HTTP Basic client credentials.
    pub async fn token_request(&self, form: &[(&str, &str)], basic: Option<(&str, &str)>) -> (StatusCode, Value) {
        let mut req = self.client.post(self.url(TOKEN_PATH)).form(form);
        if let Some((id, secret)) = basic {
            req = req.basic_auth(id, Some(secret));
        }
        read(req.send().await.expect("token request")).await
    }

    /// The full token response of a password grant through the SDK's public client; panics unless 200.
    pub async fn login(&self, email: &str, password: &str) -> Value {
        let (status, body) = self
            .token_request(&[("grant_type", "password"), ("client_id", "sdk-client"), ("username", email), ("password", password)], None)
            .await;
        assert_eq!(status, StatusCode::OK, "login of {email} failed: {body}");
        body
    }

    pub async fn token_for(&self, email: &str, password: &str) -> String {
        self.login(email, password).await["access_token"].as_str().expect("access_token").to_string()
    }

    pub async fn admin_token(&self) -> String {
        self.token_for(ADMIN_EMAIL, &self.admin_password).await
    }

    /// A service-account token of `api-client` (client_credentials grant).
    pub async fn client_credentials_token(&self) -> String {
        let (status, body) = self
            .token_request(&[("grant_type", "client_credentials")], Some(("api-client", self.api_client_secret.as_str())))
            .await;
        assert_eq!(status, StatusCode::OK, "client_credentials failed: {body}");
        body["access_token"].as_str().expect("access_token").to_string()
    }

    // ---- JSON routes ----

    pub async fn post_json(&self, path: &str, token: &str, body: Value) -> (StatusCode, Value) {
        let resp = self.client.post(self.url(path)).bearer_auth(token).json(&body).send().await.expect("request");
        read(resp).await
    }

    /// POST with a raw body and content type (malformed JSON, no body, ...).
    pub async fn post_raw(&self, path: &str, token: Option<&str>, content_type: Option<&str>, body: &'static str) -> (StatusCode, Value) {
        let mut req = self.client.post(self.url(path)).body(body);
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        if let Some(ct) = content_type {
            req = req.header(reqwest::header::CONTENT_TYPE, ct);
        }
        read(req.send().await.expect("request")).await
    }

    pub async fn get(&self, path: &str, token: Option<&str>) -> (StatusCode, Value) {
        let mut req = self.client.get(self.url(path));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        read(req.send().await.expect("request")).await
    }

    // ---- users and workspaces ----

    /// Invites `email` as the admin; returns the new user's id and initial password.
    pub async fn invite(&self, email: &str) -> (String, String) {
        let admin = self.admin_token().await;
        let (status, body) = self.post_json("/v1/api/users/invite", &admin, json!({ "email": email })).await;
        assert_eq!(status, StatusCode::OK, "invite {email}: {body}");
        let id = body["id"].as_str().expect("id").to_string();
        let password = body["password"].as_str().expect("password").to_string();
        (id, password)
    }

    /// Invites `email` and signs them in; returns (user id, password, access token).
    pub async fn user(&self, email: &str) -> (String, String, String) {
        let (id, password) = self.invite(email).await;
        let token = self.token_for(email, &password).await;
        (id, password, token)
    }

    pub async fn create_workspace(&self, token: &str, name: &str) -> i64 {
        let (status, body) = self.post_json("/v1/api/workspaces/create", token, json!({ "workspace_name": name })).await;
        assert_eq!(status, StatusCode::OK, "create workspace {name}: {body}");
        body["workspace_id"].as_i64().expect("workspace_id")
    }

    pub async fn workspace_names(&self, token: &str) -> Vec<String> {
        let (status, body) = self.post_json("/v1/api/workspaces/list", token, json!({})).await;
        assert_eq!(status, StatusCode::OK, "workspaces/list: {body}");
        body["workspaces"].as_array().expect("workspaces").iter().map(|w| w["name"].as_str().unwrap().to_string()).collect()
    }
}

/// The JWT payload, decoded without verification.
pub fn claims_of(token: &str) -> Value {
    use base64::Engine;
    let payload = token.split('.').nth(1).expect("a JWT has three parts");
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(payload).expect("base64url payload");
    serde_json::from_slice(&bytes).expect("JSON payload")
}
