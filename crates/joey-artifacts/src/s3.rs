//! The S3 backend: objects at `<prefix>/sha256/<first two hex>/<sha>` in one bucket of AWS S3 or an
//! S3-compatible server (MinIO, moto, ...), through the `object_store` crate. Uploads stream the
//! staged file in fixed-size multipart parts (never the whole file in memory); the engine reads
//! models from a local read-through cache, `<cache>/sha256/<aa>/<sha>`, filled by verified
//! downloads (the sha256 of what arrived must match) and by the upload itself. Staging files live
//! in `<cache>/staging`, on the same filesystem as the cache, so a committed upload is linked into
//! the cache instead of being downloaded again. Error messages name the bucket and key, never the
//! credentials.

use std::path::{Path, PathBuf};
use std::time::Duration;

use async_trait::async_trait;
use futures::StreamExt;
use joey_core::ports::ArtifactStore;
use joey_core::{Error, Result};
use object_store::aws::{AmazonS3, AmazonS3Builder};
use object_store::path::Path as Key;
use object_store::{GetOptions, GetRange, ObjectStore, ObjectStoreExt, PutPayload, RetryConfig, WriteMultipart};
use sha2::{Digest, Sha256};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Multipart part size used unless [`S3Config::part_size`] says otherwise.
pub const DEFAULT_PART_SIZE: usize = 8 * 1024 * 1024;
/// S3 refuses smaller parts (except the last one).
const MIN_PART_SIZE: usize = 5 * 1024 * 1024;
/// Parts uploaded at once; memory per upload is about `(PARALLEL_PARTS + 1) * part_size`.
const PARALLEL_PARTS: usize = 4;
/// Bytes read from the staged file per step.
const READ_BUF: usize = 1024 * 1024;
/// Downloads go in ranged GETs of this size, each streamed to disk, so a slow link never runs one
/// request past the client's per-request timeout.
const DOWNLOAD_RANGE: u64 = 32 * 1024 * 1024;

/// Where the bucket is and how to reach it.
#[derive(Clone)]
pub struct S3Config {
    pub bucket: String,
    /// Key prefix, without leading or trailing `/`; empty for the bucket root.
    pub prefix: String,
    /// Endpoint URL of an S3-compatible server (`http://` is allowed); `None` for AWS itself.
    pub endpoint: Option<String>,
    pub region: String,
    /// Local directory for staging files and the read-through cache.
    pub cache_dir: PathBuf,
    /// Multipart part size in bytes (at least 5 MiB); files up to this size go in one PUT.
    pub part_size: usize,
    /// Static access key id and secret; `None` takes credentials from the standard `AWS_*`
    /// environment (`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, ...).
    pub credentials: Option<(String, String)>,
}

impl S3Config {
    /// A config with region `us-east-1`, the default part size and credentials from the environment.
    pub fn new(bucket: impl Into<String>, prefix: impl Into<String>, cache_dir: impl Into<PathBuf>) -> Self {
        Self {
            bucket: bucket.into(),
            prefix: prefix.into(),
            endpoint: None,
            region: "us-east-1".into(),
            cache_dir: cache_dir.into(),
            part_size: DEFAULT_PART_SIZE,
            credentials: None,
        }
    }
}

impl std::fmt::Debug for S3Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("S3Config")
            .field("bucket", &self.bucket)
            .field("prefix", &self.prefix)
            .field("endpoint", &self.endpoint)
            .field("region", &self.region)
            .field("cache_dir", &self.cache_dir)
            .field("part_size", &self.part_size)
            .field("credentials", &self.credentials.as_ref().map(|_| "<redacted>"))
            .finish()
    }
}

/// Artifacts in an S3 bucket, with a local read-through cache.
pub struct S3Artifacts {
    store: AmazonS3,
    bucket: String,
    prefix: String,
    /// Where the bucket is, for messages: the endpoint URL or "AWS region <r>".
    location: String,
    cache: PathBuf,
    part_size: usize,
    /// Credential strings scrubbed from every error message.
    secrets: Vec<String>,
}

impl S3Artifacts {
    /// Builds the client, prepares the cache (clearing stale staging and download files) and checks
    /// that the bucket answers (one small LIST), so a wrong endpoint, bucket or credentials fail here.
    pub async fn open(cfg: S3Config) -> Result<Self> {
        let prefix = cfg.prefix.trim_matches('/').to_string();
        if cfg.bucket.is_empty() || cfg.bucket.contains('/') {
            return Err(Error::invalid(format!("'{}' is not an S3 bucket name", cfg.bucket)));
        }
        match Key::parse(&prefix) {
            Ok(k) if k.as_ref() == prefix => {}
            _ => return Err(Error::invalid(format!("'{prefix}' is not a valid S3 key prefix (no empty, '.' or '..' segments)"))),
        }
        if cfg.part_size < MIN_PART_SIZE {
            return Err(Error::invalid(format!("the S3 part size must be at least {MIN_PART_SIZE} bytes")));
        }
        prepare_cache(&cfg.cache_dir)?;
        // Fewer retries than object_store's default (10 within 3 min), so a wrong endpoint fails
        // start-up in seconds; transient errors are still retried with backoff.
        let retry = RetryConfig { max_retries: 5, retry_timeout: Duration::from_secs(120), ..Default::default() };
        let mut b = AmazonS3Builder::from_env().with_bucket_name(&cfg.bucket).with_region(&cfg.region).with_retry(retry);
        if let Some(ep) = &cfg.endpoint {
            b = b.with_endpoint(ep).with_allow_http(ep.starts_with("http://"));
        }
        let mut secrets: Vec<String> = ["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_TOKEN"]
            .iter()
            .filter_map(|k| std::env::var(k).ok())
            .collect();
        if let Some((id, secret)) = &cfg.credentials {
            b = b.with_access_key_id(id).with_secret_access_key(secret);
            secrets.extend([id.clone(), secret.clone()]);
        }
        secrets.retain(|s| s.len() >= 4);
        let location = match &cfg.endpoint {
            Some(ep) => ep.clone(),
            None => format!("AWS region {}", cfg.region),
        };
        let store = b.build().map_err(|e| Error::invalid(format!("invalid S3 settings for bucket '{}': {}", cfg.bucket, redact(&secrets, &e))))?;
        let this = Self { store, bucket: cfg.bucket, prefix, location, cache: cfg.cache_dir, part_size: cfg.part_size, secrets };
        this.check_reachable().await?;
        Ok(this)
    }

    /// One LIST of `<prefix>/sha256/` with a delimiter: at most 256 entries (`<aa>/`), one page,
    /// however many other keys the bucket holds.
    async fn check_reachable(&self) -> Result<()> {
        let dir = Key::from(if self.prefix.is_empty() { "sha256".to_string() } else { format!("{}/sha256", self.prefix) });
        match self.store.list_with_delimiter(Some(&dir)).await {
            Ok(_) => Ok(()),
            Err(e) => {
                let msg = self.redact(&e);
                if msg.contains("NoSuchBucket") || matches!(e, object_store::Error::NotFound { .. }) {
                    Err(Error::Unavailable(format!("S3 bucket '{}' does not exist at {}", self.bucket, self.location)))
                } else {
                    Err(Error::Unavailable(format!("cannot list S3 bucket '{}' at {}: {msg}", self.bucket, self.location)))
                }
            }
        }
    }

    /// The object key of `sha`: `<prefix>/sha256/<aa>/<sha>`.
    pub fn key(&self, sha: &str) -> Result<Key> {
        let rel = crate::sha_key(sha)?;
        Ok(Key::from(if self.prefix.is_empty() { rel } else { format!("{}/{rel}", self.prefix) }))
    }

    /// Where `sha` is (or would be) in the local cache.
    pub fn cache_path(&self, sha: &str) -> Result<PathBuf> {
        Ok(self.cache.join(crate::sha_key(sha)?))
    }

    fn redact(&self, e: &dyn std::fmt::Display) -> String {
        redact(&self.secrets, e)
    }

    fn remote_err(&self, op: &str, key: &Key, e: object_store::Error) -> Error {
        Error::internal(format!("S3 {op} of s3://{}/{key} at {} failed: {}", self.bucket, self.location, self.redact(&e)))
    }

    /// Streams `staged` up in `part_size` parts, at most [`PARALLEL_PARTS`] in flight.
    async fn upload_parts(&self, staged: &Path, key: &Key) -> Result<()> {
        let mut file = tokio::fs::File::open(staged).await.map_err(|e| Error::internal(format!("cannot open staged file {}: {e}", staged.display())))?;
        let upload = self.store.put_multipart(key).await.map_err(|e| self.remote_err("multipart start", key, e))?;
        let mut w = WriteMultipart::new_with_chunk_size(upload, self.part_size);
        let mut buf = vec![0u8; READ_BUF];
        loop {
            let n = match file.read(&mut buf).await {
                Ok(n) => n,
                Err(e) => {
                    let _ = w.abort().await;
                    return Err(Error::internal(format!("cannot read staged file {}: {e}", staged.display())));
                }
            };
            if n == 0 {
                break;
            }
            if let Err(e) = w.wait_for_capacity(PARALLEL_PARTS).await {
                let _ = w.abort().await;
                return Err(self.remote_err("part upload", key, e));
            }
            w.write(&buf[..n]);
        }
        w.finish().await.map_err(|e| self.remote_err("multipart upload", key, e))?;
        Ok(())
    }

    /// Links the already hashed staged file into the cache, sparing the first `local_path` a
    /// download. Best effort: on failure the cache is filled by a download later.
    async fn seed_cache(&self, staged: &Path, sha: &str) {
        let Ok(target) = self.cache_path(sha) else { return };
        if tokio::fs::try_exists(&target).await.unwrap_or(false) {
            return;
        }
        let linked = match target.parent() {
            Some(dir) => match tokio::fs::create_dir_all(dir).await {
                Ok(()) => tokio::fs::hard_link(staged, &target).await,
                Err(e) => Err(e),
            },
            None => return,
        };
        if let Err(e) = linked {
            tracing::debug!(sha, error = %e, "could not link the upload into the artifact cache");
        }
    }

    /// Downloads `key` to a temporary file in the cache, checks its sha256, then renames it into
    /// place (readers never see a partial or unverified file).
    async fn download(&self, sha: &str, key: &Key, target: &Path) -> Result<()> {
        let io = |e: std::io::Error| Error::internal(format!("cannot write the artifact cache under {}: {e}", self.cache.display()));
        let size = match self.store.head(key).await {
            Ok(meta) => meta.size,
            Err(object_store::Error::NotFound { .. }) => return Err(Error::internal(format!("artifact {sha} is missing from s3://{}/{key}", self.bucket))),
            Err(e) => return Err(self.remote_err("HEAD", key, e)),
        };
        let tmp = tempfile::Builder::new().prefix(".download-").tempfile_in(self.cache.join("tmp")).map_err(io)?;
        let (file, tmp_path) = tmp.into_parts();
        let mut file = tokio::fs::File::from_std(file);
        let mut hasher = Sha256::new();
        let mut offset = 0;
        while offset < size {
            let end = (offset + DOWNLOAD_RANGE).min(size);
            let opts = GetOptions { range: Some(GetRange::Bounded(offset..end)), ..Default::default() };
            let got = self.store.get_opts(key, opts).await.map_err(|e| self.remote_err("GET", key, e))?;
            let mut stream = got.into_stream();
            while let Some(chunk) = stream.next().await {
                let chunk = chunk.map_err(|e| self.remote_err("GET", key, e))?;
                offset += chunk.len() as u64;
                hasher.update(&chunk);
                file.write_all(&chunk).await.map_err(io)?;
            }
            if offset < end {
                return Err(Error::internal(format!("S3 GET of s3://{}/{key} ended early at byte {offset} of {size}", self.bucket)));
            }
        }
        file.flush().await.map_err(io)?;
        file.sync_all().await.map_err(io)?;
        drop(file);
        let got = hex::encode(hasher.finalize());
        if !got.eq_ignore_ascii_case(sha) {
            return Err(Error::internal(format!("artifact {sha} downloaded from s3://{}/{key} has sha256 {got}: the stored object is corrupt; refusing it", self.bucket)));
        }
        let dir = target.parent().expect("sha path has a parent");
        tokio::fs::create_dir_all(dir).await.map_err(io)?;
        tmp_path.persist(target).map_err(|e| io(e.error))?;
        Ok(())
    }
}

/// The message of `e` with every credential string replaced.
fn redact(secrets: &[String], e: &dyn std::fmt::Display) -> String {
    let mut msg = e.to_string();
    for s in secrets {
        msg = msg.replace(s.as_str(), "<redacted>");
    }
    msg
}

/// `<cache>/sha256` kept; `<cache>/staging` and `<cache>/tmp` emptied (leftovers of a crash).
fn prepare_cache(cache: &Path) -> Result<()> {
    let mk = |p: &Path| std::fs::create_dir_all(p).map_err(|e| Error::internal(format!("cannot create {}: {e}", p.display())));
    mk(&cache.join("sha256"))?;
    for dir in ["staging", "tmp"] {
        let p = cache.join(dir);
        if p.exists() {
            let _ = std::fs::remove_dir_all(&p);
        }
        mk(&p)?;
    }
    Ok(())
}

#[async_trait]
impl ArtifactStore for S3Artifacts {
    async fn commit(&self, staged: &Path, sha: &str) -> Result<()> {
        let key = self.key(sha)?;
        match self.store.head(&key).await {
            Ok(_) => {
                tracing::debug!(sha, "artifact already in the bucket; deduplicated");
                self.seed_cache(staged, sha).await;
                return Ok(());
            }
            Err(object_store::Error::NotFound { .. }) => {}
            Err(e) => return Err(self.remote_err("HEAD", &key, e)),
        }
        let size = tokio::fs::metadata(staged).await.map_err(|e| Error::internal(format!("cannot read staged file {}: {e}", staged.display())))?.len();
        if size <= self.part_size as u64 {
            // At most one part in memory.
            let bytes = tokio::fs::read(staged).await.map_err(|e| Error::internal(format!("cannot read staged file {}: {e}", staged.display())))?;
            self.store.put(&key, PutPayload::from(bytes)).await.map_err(|e| self.remote_err("PUT", &key, e))?;
        } else {
            self.upload_parts(staged, &key).await?;
        }
        tracing::info!(sha, size, bucket = %self.bucket, key = %key, "artifact uploaded");
        self.seed_cache(staged, sha).await;
        Ok(())
    }

    async fn local_path(&self, sha: &str) -> Result<PathBuf> {
        let key = self.key(sha)?;
        let cached = self.cache_path(sha)?;
        if tokio::fs::try_exists(&cached).await.unwrap_or(false) {
            return Ok(cached);
        }
        self.download(sha, &key, &cached).await?;
        tracing::info!(sha, bucket = %self.bucket, key = %key, "artifact downloaded to the cache");
        Ok(cached)
    }

    async fn delete(&self, sha: &str) -> Result<u64> {
        let key = self.key(sha)?;
        let cached = self.cache_path(sha)?;
        let size = match self.store.head(&key).await {
            Ok(meta) => {
                match self.store.delete(&key).await {
                    Ok(()) | Err(object_store::Error::NotFound { .. }) => {}
                    Err(e) => return Err(self.remote_err("DELETE", &key, e)),
                }
                meta.size
            }
            Err(object_store::Error::NotFound { .. }) => 0,
            Err(e) => return Err(self.remote_err("HEAD", &key, e)),
        };
        match tokio::fs::remove_file(&cached).await {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(Error::internal(format!("cannot remove cached artifact {}: {e}", cached.display()))),
        }
        Ok(size)
    }

    fn staging_dir(&self) -> PathBuf {
        self.cache.join("staging")
    }
}
