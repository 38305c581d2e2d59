//! Shared state handed to every handler.

use std::sync::Arc;

use joey_auth::TokenService;
use joey_core::Platform;

/// HTTP-level settings.
#[derive(Debug, Clone)]
pub struct ApiConfig {
    /// Largest JSON body accepted on management routes (bytes).
    pub json_body_limit: usize,
    /// `default_arch` reported by `GET /v1/api/config`.
    pub default_arch: String,
    /// The public base URL, e.g. `http://127.0.0.1:8080`.
    pub public_url: String,
    /// Largest model upload accepted (bytes); more answers 413.
    pub upload_limit: u64,
    /// Largest inference request body (bytes).
    pub infer_body_limit: usize,
    /// Whether inference results are written to the log store.
    pub inference_logging: bool,
}

/// Everything a handler may use. Cheap to clone (one `Arc`): axum clones it for every request.
#[derive(Clone)]
pub struct AppState(Arc<Shared>);

impl AppState {
    pub fn new(shared: Shared) -> Self {
        AppState(Arc::new(shared))
    }
}

impl std::ops::Deref for AppState {
    type Target = Shared;
    fn deref(&self) -> &Shared {
        &self.0
    }
}

/// What [`AppState`] shares.
pub struct Shared {
    pub platform: Platform,
    pub tokens: TokenService,
    pub config: Arc<ApiConfig>,
    /// Deployments served by this process.
    pub deployments: joey_runtime::Deployments,
    /// The inference log store.
    pub logs: joey_logstore::LogStore,
}
