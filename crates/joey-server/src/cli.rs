//! Command-line arguments. Every setting of `joey serve` is a flag with a `JOEY_*` environment
//! variable; a TOML file (`--config`) can hold the same keys. Precedence: flag/env > file > default.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

#[derive(Parser, Debug)]
#[command(name = "joey", version, about = "Joey: a self-hosted MLOps platform that speaks the Wallaroo MLOps API")]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Start the platform (API, token service, inference).
    Serve(Box<ServeArgs>),
    /// Print the OpenAPI document and exit.
    Openapi,
}

#[derive(Args, Debug, Default, Clone, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ServeArgs {
    /// TOML settings file; its keys are the long flag names with `_` (e.g. `data_dir = "..."`).
    #[arg(long, env = "JOEY_CONFIG")]
    pub config: Option<PathBuf>,
    /// Address to listen on [default: 127.0.0.1:8080].
    #[arg(long, env = "JOEY_LISTEN")]
    pub listen: Option<String>,
    /// Directory for SQLite metadata, artifacts and logs [default: ./joey-data].
    #[arg(long, env = "JOEY_DATA_DIR")]
    pub data_dir: Option<PathBuf>,
    /// Metadata database: `sqlite://…` or `postgres://…` [default: sqlite in the data dir].
    #[arg(long, env = "JOEY_DATABASE_URL")]
    pub database_url: Option<String>,
    /// Base URL clients use to reach this server; the token issuer is `<public_url>/auth/realms/master`
    /// [default: http://<listen>].
    #[arg(long, env = "JOEY_PUBLIC_URL")]
    pub public_url: Option<String>,
    /// Email of the admin user created on first start [default: admin@joey.local].
    #[arg(long, env = "JOEY_ADMIN_EMAIL")]
    pub admin_email: Option<String>,
    /// Password of the admin user created on first start [default: generated, printed once, and
    /// written to <data-dir>/admin-credentials.json].
    #[arg(long, env = "JOEY_ADMIN_PASSWORD", hide_env_values = true)]
    pub admin_password: Option<String>,
    /// Secret of the confidential client `api-client` [default: generated on first start].
    #[arg(long, env = "JOEY_API_CLIENT_SECRET", hide_env_values = true)]
    pub api_client_secret: Option<String>,
    /// Access-token lifetime in seconds [default: 3600].
    #[arg(long, env = "JOEY_ACCESS_TOKEN_TTL_SECS")]
    pub access_token_ttl_secs: Option<i64>,
    /// Refresh-token lifetime in seconds [default: 86400].
    #[arg(long, env = "JOEY_REFRESH_TOKEN_TTL_SECS")]
    pub refresh_token_ttl_secs: Option<i64>,
    /// `aud` claim of issued tokens, checked on every request [default: joey].
    #[arg(long, env = "JOEY_TOKEN_AUDIENCE")]
    pub token_audience: Option<String>,
    /// Issuer URL of an external OIDC provider (e.g. Keycloak) whose tokens are also accepted.
    #[arg(long, env = "JOEY_EXTERNAL_ISSUER")]
    pub external_issuer: Option<String>,
    /// JWKS URL of the external issuer (required with --external-issuer).
    #[arg(long, env = "JOEY_EXTERNAL_JWKS_URL")]
    pub external_jwks_url: Option<String>,
    /// Expected `aud` of external tokens [default: not checked].
    #[arg(long, env = "JOEY_EXTERNAL_AUDIENCE")]
    pub external_audience: Option<String>,
    /// Largest JSON body on management routes, in bytes [default: 16777216].
    #[arg(long, env = "JOEY_JSON_BODY_LIMIT")]
    pub json_body_limit: Option<usize>,
    /// `default_arch` reported to SDKs: x86, arm or power10 [default: x86].
    #[arg(long, env = "JOEY_DEFAULT_ARCH")]
    pub default_arch: Option<String>,
    /// Largest model upload in bytes; more answers 413 [default: 10737418240].
    #[arg(long, env = "JOEY_UPLOAD_LIMIT_BYTES")]
    pub upload_limit_bytes: Option<u64>,
    /// Where model files are stored: `local` (`<data-dir>/artifacts`) or `s3://bucket[/prefix]`, an
    /// S3 bucket read through a local cache in `<data-dir>/artifacts-cache`. Credentials come from
    /// the standard AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY (and other AWS_*) environment
    /// [default: local].
    #[arg(long, env = "JOEY_ARTIFACT_STORE")]
    pub artifact_store: Option<String>,
    /// Endpoint URL of an S3-compatible server (MinIO, moto, ...; `http://` allowed), with
    /// `--artifact-store s3://…` [default: AWS S3 of --s3-region].
    #[arg(long, env = "JOEY_S3_ENDPOINT")]
    pub s3_endpoint: Option<String>,
    /// Region of the S3 bucket, with `--artifact-store s3://…` [default: us-east-1].
    #[arg(long, env = "JOEY_S3_REGION")]
    pub s3_region: Option<String>,
    /// Largest inference request body in bytes [default: 268435456].
    #[arg(long, env = "JOEY_INFER_BODY_LIMIT")]
    pub infer_body_limit: Option<usize>,
    /// Write every inference to the log store: on or off [default: on].
    #[arg(long, env = "JOEY_INFERENCE_LOGGING")]
    pub inference_logging: Option<String>,
    /// Log store: flush pending records at least this often, in ms [default: 1000].
    #[arg(long, env = "JOEY_LOG_FLUSH_INTERVAL_MS")]
    pub log_flush_interval_ms: Option<u64>,
    /// Log store: flush a topic once this many records are pending [default: 10000].
    #[arg(long, env = "JOEY_LOG_FLUSH_ROWS")]
    pub log_flush_rows: Option<usize>,
    /// Log store: records queued for writing before new ones are shed [default: 1000000].
    #[arg(long, env = "JOEY_LOG_QUEUE_CAPACITY")]
    pub log_queue_capacity: Option<usize>,
    /// Log store: bytes (Arrow memory) queued for writing before new records are shed [default: 67108864].
    #[arg(long, env = "JOEY_LOG_QUEUE_MAX_BYTES")]
    pub log_queue_max_bytes: Option<u64>,
    /// Log store: fsync every flush: true or false [default: true].
    #[arg(long, env = "JOEY_LOG_FSYNC")]
    pub log_fsync: Option<bool>,
    /// Log store: write segment files with O_DIRECT where the file system takes it (much less
    /// CPU per byte than the page cache; falls back by itself where refused): true or false [default: true].
    #[arg(long, env = "JOEY_LOG_DIRECT_IO")]
    pub log_direct_io: Option<bool>,
    /// Log store: nice value of the writer thread, 0-19 (0 = same priority as inference) [default: 10].
    #[arg(long, env = "JOEY_LOG_WRITER_NICE", value_parser = clap::value_parser!(i32).range(0..=19))]
    pub log_writer_nice: Option<i32>,
    /// Log store: total disk budget in bytes; records are shed beyond it [default: unlimited].
    #[arg(long, env = "JOEY_LOG_DISK_BUDGET_BYTES")]
    pub log_disk_budget_bytes: Option<u64>,
    /// Log store: delete segments older than this many hours [default: keep].
    #[arg(long, env = "JOEY_LOG_RETENTION_HOURS")]
    pub log_retention_hours: Option<u64>,
    /// Log store: keep at most this many bytes per topic [default: unlimited].
    #[arg(long, env = "JOEY_LOG_RETENTION_BYTES_PER_TOPIC")]
    pub log_retention_bytes_per_topic: Option<u64>,
    /// Path of libonnxruntime.so (or its directory). Otherwise ORT_DYLIB_PATH, then the project's
    /// own `.ort` environment (made by scripts/install-ort.sh) next to the working dir or the binary.
    #[arg(long, env = "JOEY_ORT_LIBRARY")]
    pub ort_library: Option<PathBuf>,
    /// Batch concurrent requests to models without a dynamic_batching_config when the model takes
    /// batches (free leading dimension, batch_config not "single"): requests that arrive while
    /// the model is busy run together as soon as it is free; nobody waits on a timer. true or false [default: true].
    #[arg(long, env = "JOEY_AUTO_BATCHING")]
    pub auto_batching: Option<bool>,
    /// Log format: text or json [default: text].
    #[arg(long, env = "JOEY_LOG_FORMAT")]
    pub log_format: Option<String>,
    /// Test knob: keep every deployment `Starting` this many ms before its models load (to
    /// exercise clients' slow-deployment paths). Not for production.
    #[arg(long, env = "JOEY_TEST_DEPLOY_DELAY_MS", hide = true)]
    pub test_deploy_delay_ms: Option<u64>,
}
