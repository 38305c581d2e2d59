//! Resolved settings: flags/env over the optional TOML file over defaults, validated once.

use std::path::PathBuf;

use anyhow::{bail, Context};

use crate::cli::ServeArgs;

/// Everything the server needs, resolved and validated.
#[derive(Debug, Clone)]
pub struct Settings {
    pub listen: String,
    pub data_dir: PathBuf,
    pub database_url: String,
    pub public_url: String,
    pub admin_email: String,
    pub admin_password: Option<String>,
    pub api_client_secret: Option<String>,
    pub access_token_ttl_secs: i64,
    pub refresh_token_ttl_secs: i64,
    pub token_audience: String,
    pub external: Option<(String, String, Option<String>)>,
    pub json_body_limit: usize,
    pub default_arch: String,
    pub log_format: String,
    pub upload_limit_bytes: u64,
    pub artifact_store: ArtifactStoreSetting,
    pub ort_library: Option<PathBuf>,
    pub infer_body_limit: usize,
    pub logs: LogSettings,
    /// Adaptive batching of models without a batching config.
    pub auto_batching: bool,
    /// Test knob (hidden flag): deployments stay `Starting` at least this long.
    pub test_deploy_delay_ms: u64,
}

/// Where model files are stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ArtifactStoreSetting {
    /// `<data_dir>/artifacts`.
    Local,
    /// An S3 bucket (or S3-compatible server at `endpoint`), cached in `<data_dir>/artifacts-cache`.
    S3 { bucket: String, prefix: String, endpoint: Option<String>, region: String },
}

/// Inference log store settings.
#[derive(Debug, Clone)]
pub struct LogSettings {
    pub enabled: bool,
    pub flush_interval_ms: u64,
    pub flush_rows: usize,
    pub queue_capacity: usize,
    pub queue_max_bytes: u64,
    pub fsync: bool,
    /// Segment files written with O_DIRECT where possible.
    pub direct_io: bool,
    /// Nice value of the log writer thread (0-19).
    pub writer_nice: i32,
    pub disk_budget_bytes: Option<u64>,
    pub retention_hours: Option<u64>,
    pub retention_bytes_per_topic: Option<u64>,
}

/// Reads the file named by `--config` (if any) and layers the flags over it.
pub fn load(args: &ServeArgs) -> anyhow::Result<Settings> {
    let file: ServeArgs = match &args.config {
        Some(path) => {
            let text = std::fs::read_to_string(path).with_context(|| format!("cannot read config file {}", path.display()))?;
            toml::from_str(&text).with_context(|| format!("invalid config file {}", path.display()))?
        }
        None => ServeArgs::default(),
    };
    resolve(merge(args.clone(), file))
}

fn merge(a: ServeArgs, f: ServeArgs) -> ServeArgs {
    ServeArgs {
        config: a.config,
        listen: a.listen.or(f.listen),
        data_dir: a.data_dir.or(f.data_dir),
        database_url: a.database_url.or(f.database_url),
        public_url: a.public_url.or(f.public_url),
        admin_email: a.admin_email.or(f.admin_email),
        admin_password: a.admin_password.or(f.admin_password),
        api_client_secret: a.api_client_secret.or(f.api_client_secret),
        access_token_ttl_secs: a.access_token_ttl_secs.or(f.access_token_ttl_secs),
        refresh_token_ttl_secs: a.refresh_token_ttl_secs.or(f.refresh_token_ttl_secs),
        token_audience: a.token_audience.or(f.token_audience),
        external_issuer: a.external_issuer.or(f.external_issuer),
        external_jwks_url: a.external_jwks_url.or(f.external_jwks_url),
        external_audience: a.external_audience.or(f.external_audience),
        json_body_limit: a.json_body_limit.or(f.json_body_limit),
        default_arch: a.default_arch.or(f.default_arch),
        log_format: a.log_format.or(f.log_format),
        upload_limit_bytes: a.upload_limit_bytes.or(f.upload_limit_bytes),
        artifact_store: a.artifact_store.or(f.artifact_store),
        s3_endpoint: a.s3_endpoint.or(f.s3_endpoint),
        s3_region: a.s3_region.or(f.s3_region),
        ort_library: a.ort_library.or(f.ort_library),
        test_deploy_delay_ms: a.test_deploy_delay_ms.or(f.test_deploy_delay_ms),
        auto_batching: a.auto_batching.or(f.auto_batching),
        infer_body_limit: a.infer_body_limit.or(f.infer_body_limit),
        inference_logging: a.inference_logging.or(f.inference_logging),
        log_flush_interval_ms: a.log_flush_interval_ms.or(f.log_flush_interval_ms),
        log_flush_rows: a.log_flush_rows.or(f.log_flush_rows),
        log_queue_capacity: a.log_queue_capacity.or(f.log_queue_capacity),
        log_queue_max_bytes: a.log_queue_max_bytes.or(f.log_queue_max_bytes),
        log_fsync: a.log_fsync.or(f.log_fsync),
        log_direct_io: a.log_direct_io.or(f.log_direct_io),
        log_writer_nice: a.log_writer_nice.or(f.log_writer_nice),
        log_disk_budget_bytes: a.log_disk_budget_bytes.or(f.log_disk_budget_bytes),
        log_retention_hours: a.log_retention_hours.or(f.log_retention_hours),
        log_retention_bytes_per_topic: a.log_retention_bytes_per_topic.or(f.log_retention_bytes_per_topic),
    }
}

/// Applies defaults and validates.
pub fn resolve(a: ServeArgs) -> anyhow::Result<Settings> {
    let listen = a.listen.unwrap_or_else(|| "127.0.0.1:8080".into());
    let data_dir = a.data_dir.unwrap_or_else(|| PathBuf::from("./joey-data"));
    let database_url = a
        .database_url
        .unwrap_or_else(|| format!("sqlite://{}?mode=rwc", data_dir.join("joey.db").display()));
    let public_url = a.public_url.unwrap_or_else(|| format!("http://{listen}")).trim_end_matches('/').to_string();
    let external = match (a.external_issuer, a.external_jwks_url) {
        (Some(i), Some(j)) => Some((i, j, a.external_audience)),
        (None, None) => None,
        _ => bail!("--external-issuer and --external-jwks-url must be given together"),
    };
    let artifact_store = artifact_store(a.artifact_store.as_deref(), a.s3_endpoint, a.s3_region)?;
    let s = Settings {
        listen,
        data_dir,
        database_url,
        public_url,
        admin_email: a.admin_email.unwrap_or_else(|| "admin@joey.local".into()),
        admin_password: a.admin_password,
        api_client_secret: a.api_client_secret,
        access_token_ttl_secs: a.access_token_ttl_secs.unwrap_or(3600),
        refresh_token_ttl_secs: a.refresh_token_ttl_secs.unwrap_or(86_400),
        token_audience: a.token_audience.unwrap_or_else(|| "joey".into()),
        external,
        json_body_limit: a.json_body_limit.unwrap_or(16 * 1024 * 1024),
        default_arch: a.default_arch.unwrap_or_else(|| "x86".into()),
        log_format: a.log_format.unwrap_or_else(|| "text".into()),
        upload_limit_bytes: a.upload_limit_bytes.unwrap_or(10 * 1024 * 1024 * 1024),
        artifact_store,
        ort_library: a.ort_library,
        infer_body_limit: a.infer_body_limit.unwrap_or(256 * 1024 * 1024),
        logs: LogSettings {
            enabled: match a.inference_logging.as_deref().unwrap_or("on") {
                "on" | "true" | "1" => true,
                "off" | "false" | "0" => false,
                other => bail!("inference_logging must be on or off, not '{other}'"),
            },
            flush_interval_ms: a.log_flush_interval_ms.unwrap_or(1000).max(1),
            flush_rows: a.log_flush_rows.unwrap_or(10_000).max(1),
            queue_capacity: a.log_queue_capacity.unwrap_or(1_000_000).max(1),
            queue_max_bytes: a.log_queue_max_bytes.unwrap_or(64 * 1024 * 1024).max(1),
            fsync: a.log_fsync.unwrap_or(true),
            direct_io: a.log_direct_io.unwrap_or(true),
            writer_nice: a.log_writer_nice.unwrap_or(10),
            disk_budget_bytes: a.log_disk_budget_bytes,
            retention_hours: a.log_retention_hours,
            retention_bytes_per_topic: a.log_retention_bytes_per_topic,
        },
        test_deploy_delay_ms: a.test_deploy_delay_ms.unwrap_or(0),
        auto_batching: a.auto_batching.unwrap_or(true),
    };
    validate(&s)?;
    Ok(s)
}

/// `local` or `s3://bucket[/prefix]`, with the S3 endpoint and region.
fn artifact_store(value: Option<&str>, endpoint: Option<String>, region: Option<String>) -> anyhow::Result<ArtifactStoreSetting> {
    let value = value.unwrap_or("local");
    if value == "local" {
        if endpoint.is_some() || region.is_some() {
            bail!("--s3-endpoint and --s3-region only apply with --artifact-store s3://bucket[/prefix]");
        }
        return Ok(ArtifactStoreSetting::Local);
    }
    let Some(rest) = value.strip_prefix("s3://") else {
        bail!("artifact_store must be 'local' or 's3://bucket[/prefix]', not '{value}'");
    };
    let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
    let bucket_ok = (3..=63).contains(&bucket.len())
        && bucket.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'.' || b == b'-')
        && bucket.starts_with(|c: char| c.is_ascii_alphanumeric())
        && bucket.ends_with(|c: char| c.is_ascii_alphanumeric());
    if !bucket_ok {
        bail!("artifact_store '{value}': '{bucket}' is not a valid S3 bucket name (3-63 of a-z, 0-9, '.', '-')");
    }
    let prefix = prefix.trim_end_matches('/');
    if !prefix.is_empty() && prefix.split('/').any(|seg| seg.is_empty() || seg == "." || seg == "..") {
        bail!("artifact_store '{value}': the key prefix '{prefix}' has an empty, '.' or '..' segment");
    }
    if let Some(ep) = &endpoint {
        if !(ep.starts_with("http://") || ep.starts_with("https://")) {
            bail!("s3_endpoint must start with http:// or https://, not '{ep}'");
        }
    }
    let region = region.unwrap_or_else(|| "us-east-1".into());
    if region.is_empty() {
        bail!("s3_region must not be empty");
    }
    Ok(ArtifactStoreSetting::S3 { bucket: bucket.into(), prefix: prefix.into(), endpoint: endpoint.map(|e| e.trim_end_matches('/').to_string()), region })
}

fn validate(s: &Settings) -> anyhow::Result<()> {
    if s.access_token_ttl_secs < 10 || s.refresh_token_ttl_secs < s.access_token_ttl_secs {
        bail!("token lifetimes must be >= 10 s and the refresh lifetime >= the access lifetime");
    }
    if !["x86", "arm", "power10"].contains(&s.default_arch.as_str()) {
        bail!("default_arch must be x86, arm or power10, not '{}'", s.default_arch);
    }
    if !["text", "json"].contains(&s.log_format.as_str()) {
        bail!("log_format must be text or json");
    }
    if !(0..=19).contains(&s.logs.writer_nice) {
        bail!("log_writer_nice must be between 0 and 19, not {}", s.logs.writer_nice);
    }
    if s.admin_password.as_ref().is_some_and(|p| p.len() < 8) {
        bail!("JOEY_ADMIN_PASSWORD must be at least 8 characters");
    }
    if !(s.public_url.starts_with("http://") || s.public_url.starts_with("https://")) {
        bail!("public_url must start with http:// or https://");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_win_over_the_file_and_defaults_fill_the_rest() {
        let flags = ServeArgs { listen: Some("127.0.0.1:9".into()), ..Default::default() };
        let file = ServeArgs { listen: Some("0.0.0.0:1".into()), default_arch: Some("arm".into()), ..Default::default() };
        let s = resolve(merge(flags, file)).unwrap();
        assert_eq!(s.listen, "127.0.0.1:9");
        assert_eq!(s.default_arch, "arm");
        assert_eq!(s.public_url, "http://127.0.0.1:9");
        assert!(s.database_url.starts_with("sqlite://./joey-data/joey.db"));
    }

    #[test]
    fn invalid_settings_are_refused_at_start() {
        let bad = ServeArgs { default_arch: Some("mips".into()), ..Default::default() };
        assert!(resolve(bad).unwrap_err().to_string().contains("default_arch"));
        let half = ServeArgs { external_issuer: Some("http://x".into()), ..Default::default() };
        assert!(resolve(half).is_err());
        let file: Result<ServeArgs, _> = toml::from_str("no_such_key = 1");
        assert!(file.is_err(), "unknown keys in the file are rejected");
    }

    #[test]
    fn the_artifact_store_is_local_or_an_s3_url() {
        assert_eq!(resolve(ServeArgs::default()).unwrap().artifact_store, ArtifactStoreSetting::Local);
        let s3 = |v: &str| ServeArgs { artifact_store: Some(v.into()), ..Default::default() };
        let with_ep = ServeArgs { s3_endpoint: Some("http://127.0.0.1:9000/".into()), ..s3("s3://my-bucket/models/v1/") };
        assert_eq!(
            resolve(with_ep).unwrap().artifact_store,
            ArtifactStoreSetting::S3 { bucket: "my-bucket".into(), prefix: "models/v1".into(), endpoint: Some("http://127.0.0.1:9000".into()), region: "us-east-1".into() }
        );
        let file: ServeArgs = toml::from_str("artifact_store = \"s3://b-1\"\ns3_region = \"eu-west-1\"").unwrap();
        assert_eq!(resolve(file).unwrap().artifact_store, ArtifactStoreSetting::S3 { bucket: "b-1".into(), prefix: "".into(), endpoint: None, region: "eu-west-1".into() });
        for bad in ["s3", "file:///tmp", "s3://", "s3://Upper", "s3://ab", "s3://b-1//x", "s3://b-1/../x", "s3://-b1"] {
            let err = resolve(s3(bad)).unwrap_err().to_string();
            assert!(err.contains("artifact_store"), "{bad}: {err}");
        }
        let stray = ServeArgs { s3_endpoint: Some("http://x".into()), ..Default::default() };
        assert!(resolve(stray).unwrap_err().to_string().contains("--s3-endpoint"));
        let bad_ep = ServeArgs { s3_endpoint: Some("127.0.0.1:9000".into()), ..s3("s3://bucket") };
        assert!(resolve(bad_ep).unwrap_err().to_string().contains("s3_endpoint"));
    }
}
