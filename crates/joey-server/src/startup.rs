//! `Application::build`: the one place concrete implementations are chosen.

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context;
use joey_api::{ApiConfig, AppState, Shared};
use joey_auth::{Argon2Hasher, AuthConfig, BootstrapSpec, ExternalIssuer, KeyRing, RandomSecrets, TokenService};
use joey_core::ports::SystemClock;
use joey_core::platform::Ports;
use joey_core::Platform;
use joey_store::SqlStore;
use axum::serve::ListenerExt;
use tokio::net::TcpListener;

use crate::settings::{ArtifactStoreSetting, Settings};

/// A built, bound, not yet serving application.
pub struct Application {
    listener: TcpListener,
    router: axum::Router,
    addr: SocketAddr,
    pub state: AppState,
}

impl Application {
    pub async fn build(settings: Settings) -> anyhow::Result<Self> {
        std::fs::create_dir_all(&settings.data_dir)
            .with_context(|| format!("cannot create data dir {}", settings.data_dir.display()))?;
        let store = SqlStore::connect(&settings.database_url).await.context("opening the metadata store")?;
        // The library is located now and loaded on first model use (upload check or deploy), so
        // a server without models does not carry it.
        let engine = joey_engine::Engine::new(joey_engine::EngineConfig { library: settings.ort_library.clone(), lazy: true, ..Default::default() })
            .context("ONNX Runtime is not available (run scripts/install-ort.sh, or pass --ort-library)")?;
        tracing::info!(library = %engine.library_path().display(), "ONNX Runtime found; it loads on first model use");
        let artifacts = open_artifacts(&settings).await?;
        let platform = Platform::new(Ports {
            store: Arc::new(store),
            clock: Arc::new(SystemClock),
            hasher: Arc::new(Argon2Hasher),
            secrets: Arc::new(RandomSecrets),
            artifacts,
            inspector: Arc::new(crate::inspector::OrtInspector(engine.clone())),
        });
        bootstrap_identity(&platform, &settings).await?;
        let listener = TcpListener::bind(&settings.listen).await.with_context(|| format!("cannot listen on {}", settings.listen))?;
        let addr = listener.local_addr()?;
        let public_url = public_url(&settings, addr);
        let keys = KeyRing::load_or_create(platform.store.as_ref(), platform.clock.now_ms()).await?;
        let auth = AuthConfig {
            issuer: format!("{public_url}/auth/realms/master"),
            audience: settings.token_audience.clone(),
            access_ttl_secs: settings.access_token_ttl_secs,
            refresh_ttl_secs: settings.refresh_token_ttl_secs,
            device_ttl_secs: 600,
            public_url: public_url.clone(),
        };
        let external = external_issuer(&settings).await;
        let tokens = TokenService::new(platform.clone(), Arc::new(keys), auth, external);
        let config = ApiConfig {
            json_body_limit: settings.json_body_limit,
            default_arch: settings.default_arch.clone(),
            public_url,
            upload_limit: settings.upload_limit_bytes,
            infer_body_limit: settings.infer_body_limit,
            inference_logging: settings.logs.enabled,
        };
        resume_loads(&platform).await?;
        let logs = open_logs(&settings)?;
        let deployments = joey_runtime::Deployments::new(engine.clone()).with_start_delay(std::time::Duration::from_millis(settings.test_deploy_delay_ms)).with_auto_batching(settings.auto_batching);
        restore_deployments(&platform, &deployments).await?;
        let state = AppState::new(Shared { platform, tokens, config: Arc::new(config), deployments, logs });
        let router = joey_api::router(state.clone());
        Ok(Self { listener, router, addr, state })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// Serves until SIGINT/SIGTERM, then drains in-flight requests and flushes the log store.
    pub async fn run_until_stopped(self) -> anyhow::Result<()> {
        let logs = self.state.logs.clone();
        // Aborted when this future ends or is dropped, so no task keeps the store open.
        let retention = AbortOnDrop(tokio::spawn(retention_loop(logs.clone())));
        // No Nagle delay: an answer written in several pieces (a vectored Arrow body) must not
        // wait for the client's ACK of the previous piece.
        let listener = self.listener.tap_io(|tcp| {
            if let Err(e) = tcp.set_nodelay(true) {
                tracing::debug!("cannot set TCP_NODELAY: {e}");
            }
        });
        let served = axum::serve(listener, self.router).with_graceful_shutdown(shutdown_signal()).await;
        drop(retention);
        tokio::task::spawn_blocking(move || logs.shutdown()).await?;
        Ok(served?)
    }
}

/// With port 0 in `--listen` and no explicit public URL, the real port is used.
fn public_url(settings: &Settings, addr: SocketAddr) -> String {
    if settings.public_url == format!("http://{}", settings.listen) {
        format!("http://{addr}")
    } else {
        settings.public_url.clone()
    }
}

struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// The local directory, or the S3 bucket (checked to answer now, not at the first upload).
async fn open_artifacts(settings: &Settings) -> anyhow::Result<Arc<dyn joey_core::ports::ArtifactStore>> {
    Ok(match &settings.artifact_store {
        ArtifactStoreSetting::Local => Arc::new(joey_artifacts::LocalArtifacts::open(settings.data_dir.join("artifacts"))?),
        ArtifactStoreSetting::S3 { bucket, prefix, endpoint, region } => {
            let mut cfg = joey_artifacts::S3Config::new(bucket, prefix, settings.data_dir.join("artifacts-cache"));
            cfg.endpoint = endpoint.clone();
            cfg.region = region.clone();
            let store = joey_artifacts::S3Artifacts::open(cfg).await.with_context(|| format!("opening the S3 artifact store s3://{bucket}/{prefix}"))?;
            tracing::info!(bucket = %bucket, prefix = %prefix, endpoint = endpoint.as_deref().unwrap_or("AWS"), "artifacts in S3");
            Arc::new(store)
        }
    })
}

fn open_logs(settings: &Settings) -> anyhow::Result<joey_logstore::LogStore> {
    let l = &settings.logs;
    let mut cfg = joey_logstore::LogConfig::new(settings.data_dir.join("logs"));
    cfg.flush_interval = std::time::Duration::from_millis(l.flush_interval_ms);
    cfg.flush_rows = l.flush_rows;
    cfg.queue_capacity = l.queue_capacity;
    cfg.queue_max_bytes = l.queue_max_bytes;
    cfg.fsync = l.fsync;
    cfg.direct_io = l.direct_io;
    cfg.writer_nice = l.writer_nice;
    cfg.disk_budget_bytes = l.disk_budget_bytes;
    cfg.retention_age = l.retention_hours.map(|h| std::time::Duration::from_secs(h * 3600));
    cfg.retention_bytes_per_topic = l.retention_bytes_per_topic;
    joey_logstore::LogStore::open(cfg).context("opening the inference log store")
}

/// Enforces log retention once a minute.
async fn retention_loop(logs: joey_logstore::LogStore) {
    let mut tick = tokio::time::interval(std::time::Duration::from_secs(60));
    loop {
        tick.tick().await;
        let l = logs.clone();
        let now = chrono_now_ms();
        match tokio::task::spawn_blocking(move || l.enforce_retention(now)).await {
            Ok(Ok(r)) if r.deleted_rows() > 0 => tracing::info!(rows = r.deleted_rows(), bytes = r.deleted_bytes(), "log retention"),
            Ok(Err(e)) => tracing::warn!(error = %e, "log retention failed"),
            _ => {}
        }
    }
}

fn chrono_now_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or(0)
}

/// Loads model versions whose load a restart interrupted.
async fn resume_loads(platform: &Platform) -> anyhow::Result<()> {
    for id in platform.resume_pending_loads().await? {
        let p = platform.clone();
        tokio::spawn(async move { p.load_model_version(id).await });
    }
    Ok(())
}

/// Brings back every deployment that was active when the server stopped.
async fn restore_deployments(platform: &Platform, deployments: &joey_runtime::Deployments) -> anyhow::Result<()> {
    for dep in platform.active_deployments().await? {
        match platform.plan_for(dep.clone()).await {
            Ok(plan) => joey_runtime::serving::bring_up(platform.clone(), deployments.clone(), plan),
            Err(e) => tracing::error!(deployment = %dep.name(), error = %e, "cannot restore deployment"),
        }
    }
    Ok(())
}

async fn external_issuer(settings: &Settings) -> Option<ExternalIssuer> {
    let (issuer, jwks, aud) = settings.external.clone()?;
    let ext = ExternalIssuer::new(issuer, jwks, aud);
    match ext.refresh().await {
        Ok(n) => tracing::info!(issuer = ext.issuer(), keys = n, "trusting external issuer"),
        Err(e) => tracing::warn!(error = %e, "external issuer keys not loaded yet; will retry on first token"),
    }
    Some(ext)
}

async fn bootstrap_identity(platform: &Platform, settings: &Settings) -> anyhow::Result<()> {
    let spec = BootstrapSpec {
        admin_email: settings.admin_email.clone(),
        admin_password: settings.admin_password.clone(),
        api_client_secret: settings.api_client_secret.clone(),
    };
    let report = joey_auth::bootstrap(platform, &spec).await?;
    let generated_password = report.created_admin.as_ref().filter(|_| settings.admin_password.is_none());
    if generated_password.is_none() && report.generated_api_client_secret.is_none() {
        return Ok(());
    }
    let mut creds = serde_json::Map::new();
    if let Some((email, password)) = generated_password {
        eprintln!("created admin user {email} with password: {password}");
        creds.insert("email".into(), email.clone().into());
        creds.insert("password".into(), password.clone().into());
    }
    if let Some(secret) = &report.generated_api_client_secret {
        eprintln!("created OIDC client api-client with secret: {secret}");
        creds.insert("api_client_secret".into(), secret.clone().into());
    }
    let path = settings.data_dir.join("admin-credentials.json");
    write_private(&path, &serde_json::to_string_pretty(&creds)?)?;
    eprintln!("(also written to {}, mode 0600; shown only once)", path.display());
    Ok(())
}

fn write_private(path: &std::path::Path, text: &str) -> anyhow::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new().write(true).create(true).truncate(true).mode(0o600).open(path)?;
    f.write_all(text.as_bytes())?;
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! { _ = ctrl_c => {}, _ = term => {} }
    tracing::info!("shutting down");
}
