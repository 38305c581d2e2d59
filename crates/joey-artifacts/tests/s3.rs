//! `S3Artifacts` against a real S3-compatible server. Ignored unless `JOEY_TEST_S3_ENDPOINT` names
//! one (start moto with `scripts/s3-start.sh`), then:
//! `JOEY_TEST_S3_ENDPOINT=http://127.0.0.1:PORT cargo test -p joey-artifacts --test s3 -- --ignored`.
//! Every test makes its own bucket, so they run in parallel against one server.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};

use joey_artifacts::{S3Artifacts, S3Config};
use joey_core::ports::ArtifactStore;
use joey_core::Error;
use object_store::aws::{AmazonS3, AmazonS3Builder};
use object_store::path::Path as Key;
use object_store::{ObjectStore, ObjectStoreExt, PutPayload};
use sha2::{Digest, Sha256};

const NEEDS: &str = "needs JOEY_TEST_S3_ENDPOINT (scripts/s3-start.sh)";
const KEY_ID: &str = "AKIAJOEYTESTKEY0001";
const SECRET: &str = "joey-test-secret-do-not-print";
const MIB: usize = 1024 * 1024;

fn endpoint() -> String {
    std::env::var("JOEY_TEST_S3_ENDPOINT").expect(NEEDS).trim_end_matches('/').to_string()
}

/// A fresh, empty bucket for one test.
async fn new_bucket() -> String {
    static N: AtomicU32 = AtomicU32::new(0);
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().subsec_nanos();
    let bucket = format!("joey-t{}-{}-{nanos}", std::process::id(), N.fetch_add(1, Ordering::Relaxed));
    let resp = reqwest::Client::new().put(format!("{}/{bucket}", endpoint())).send().await.expect("S3 server reachable");
    assert!(resp.status().is_success(), "CreateBucket {bucket}: {}", resp.status());
    bucket
}

fn config(bucket: &str, cache: &Path) -> S3Config {
    let mut cfg = S3Config::new(bucket, "models", cache);
    cfg.endpoint = Some(endpoint());
    cfg.credentials = Some((KEY_ID.into(), SECRET.into()));
    cfg
}

async fn open(bucket: &str, cache: &Path) -> S3Artifacts {
    S3Artifacts::open(config(bucket, cache)).await.expect("store opens")
}

/// A plain client on the same bucket, to look behind the store's back.
fn raw(bucket: &str) -> AmazonS3 {
    AmazonS3Builder::new()
        .with_endpoint(endpoint())
        .with_allow_http(true)
        .with_region("us-east-1")
        .with_bucket_name(bucket)
        .with_access_key_id(KEY_ID)
        .with_secret_access_key(SECRET)
        .build()
        .unwrap()
}

fn sha_of(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// Writes `bytes` to a staging file of `store`, as the upload handler does.
fn stage(store: &S3Artifacts, name: &str, bytes: &[u8]) -> PathBuf {
    let p = store.staging_dir().join(name);
    std::fs::write(&p, bytes).unwrap();
    p
}

/// Deterministic, incompressible-looking bytes (xorshift).
fn noise(len: usize) -> Vec<u8> {
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

async fn remote_bytes(bucket: &str, key: &Key) -> Vec<u8> {
    raw(bucket).get(key).await.unwrap().bytes().await.unwrap().to_vec()
}

#[tokio::test]
#[ignore = "needs JOEY_TEST_S3_ENDPOINT (scripts/s3-start.sh)"]
async fn commit_uploads_once_and_dedupes_by_sha() {
    let bucket = new_bucket().await;
    let cache = tempfile::tempdir().unwrap();
    let store = open(&bucket, cache.path()).await;
    let sha = sha_of(b"hello");
    let key = store.key(&sha).unwrap();
    assert_eq!(key.as_ref(), format!("models/sha256/{}/{sha}", &sha[..2]));
    store.commit(&stage(&store, "a", b"hello"), &sha).await.unwrap();
    let first = raw(&bucket).head(&key).await.unwrap();
    assert_eq!(first.size, 5);
    // Different bytes under the same sha: a re-upload would replace the object; a dedupe does not.
    store.commit(&stage(&store, "b", b"HELLO"), &sha).await.unwrap();
    let second = raw(&bucket).head(&key).await.unwrap();
    assert_eq!(second.e_tag, first.e_tag);
    assert_eq!(remote_bytes(&bucket, &key).await, b"hello");
    let listed: Vec<_> = futures::StreamExt::collect(raw(&bucket).list(None)).await;
    assert_eq!(listed.len(), 1, "one object in the bucket: {listed:?}");
    // The upload was linked into this store's cache, so the engine does not download it again.
    assert_eq!(std::fs::read(store.cache_path(&sha).unwrap()).unwrap(), b"hello");
}

#[tokio::test]
#[ignore = "needs JOEY_TEST_S3_ENDPOINT (scripts/s3-start.sh)"]
async fn local_path_downloads_once_then_serves_the_cache() {
    let bucket = new_bucket().await;
    let (up_cache, down_cache) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let uploader = open(&bucket, up_cache.path()).await;
    let bytes = noise(300_000);
    let sha = sha_of(&bytes);
    uploader.commit(&stage(&uploader, "m", &bytes), &sha).await.unwrap();
    // A second server (another data dir) on the same bucket has nothing cached yet.
    let reader = open(&bucket, down_cache.path()).await;
    let cached = reader.cache_path(&sha).unwrap();
    assert!(!cached.exists());
    let p = reader.local_path(&sha).await.unwrap();
    assert_eq!(p, cached);
    assert!(p.starts_with(down_cache.path().join("sha256")));
    assert_eq!(std::fs::read(&p).unwrap(), bytes);
    assert_eq!(std::fs::read_dir(down_cache.path().join("tmp")).unwrap().count(), 0, "no download leftovers");
    // Remove the object behind the store's back: the second call must not need the server.
    raw(&bucket).delete(&reader.key(&sha).unwrap()).await.unwrap();
    assert_eq!(reader.local_path(&sha).await.unwrap(), cached);
    assert_eq!(std::fs::read(&cached).unwrap(), bytes);
    // Without a cached copy, the missing object is a clear error naming the sha.
    let third = tempfile::tempdir().unwrap();
    let err = open(&bucket, third.path()).await.local_path(&sha).await.unwrap_err().to_string();
    assert!(err.contains(&sha) && err.contains("missing"), "{err}");
}

#[tokio::test]
#[ignore = "needs JOEY_TEST_S3_ENDPOINT (scripts/s3-start.sh)"]
async fn delete_reports_the_size_and_removes_the_object_and_the_cached_copy() {
    let bucket = new_bucket().await;
    let cache = tempfile::tempdir().unwrap();
    let store = open(&bucket, cache.path()).await;
    let bytes = noise(12_345);
    let sha = sha_of(&bytes);
    store.commit(&stage(&store, "m", &bytes), &sha).await.unwrap();
    let cached = store.local_path(&sha).await.unwrap();
    assert!(cached.exists());
    assert_eq!(store.delete(&sha).await.unwrap(), 12_345);
    assert!(matches!(raw(&bucket).head(&store.key(&sha).unwrap()).await, Err(object_store::Error::NotFound { .. })));
    assert!(!cached.exists());
    assert_eq!(store.delete(&sha).await.unwrap(), 0, "deleting again frees nothing");
    assert_eq!(store.delete(&sha_of(b"never stored")).await.unwrap(), 0);
}

#[tokio::test]
#[ignore = "needs JOEY_TEST_S3_ENDPOINT (scripts/s3-start.sh)"]
async fn a_multi_part_upload_round_trips_byte_exactly() {
    let bucket = new_bucket().await;
    let (up_cache, down_cache) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let mut cfg = config(&bucket, up_cache.path());
    cfg.part_size = 5 * MIB;
    let uploader = S3Artifacts::open(cfg).await.unwrap();
    let bytes = noise(12 * MIB + 123);
    let sha = sha_of(&bytes);
    uploader.commit(&stage(&uploader, "big", &bytes), &sha).await.unwrap();
    let meta = raw(&bucket).head(&uploader.key(&sha).unwrap()).await.unwrap();
    assert_eq!(meta.size, bytes.len() as u64);
    let etag = meta.e_tag.unwrap_or_default();
    assert!(etag.trim_matches('"').ends_with("-3"), "a 3-part multipart upload, got ETag {etag}");
    let reader = open(&bucket, down_cache.path()).await;
    let p = reader.local_path(&sha).await.unwrap();
    assert!(std::fs::read(&p).unwrap() == bytes, "downloaded bytes differ");
}

#[tokio::test]
#[ignore = "needs JOEY_TEST_S3_ENDPOINT (scripts/s3-start.sh)"]
async fn a_corrupted_object_is_refused_on_download() {
    let bucket = new_bucket().await;
    let (up_cache, down_cache) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let uploader = open(&bucket, up_cache.path()).await;
    let bytes = noise(4096);
    let sha = sha_of(&bytes);
    uploader.commit(&stage(&uploader, "m", &bytes), &sha).await.unwrap();
    raw(&bucket).put(&uploader.key(&sha).unwrap(), PutPayload::from(noise(4000))).await.unwrap();
    let reader = open(&bucket, down_cache.path()).await;
    let err = reader.local_path(&sha).await.unwrap_err();
    assert!(matches!(err, Error::Internal(_)), "{err:?}");
    let msg = err.to_string();
    assert!(msg.contains(&sha) && msg.contains("corrupt"), "{msg}");
    assert!(!reader.cache_path(&sha).unwrap().exists(), "nothing unverified in the cache");
    assert_eq!(std::fs::read_dir(down_cache.path().join("tmp")).unwrap().count(), 0);
}

#[tokio::test]
#[ignore = "needs JOEY_TEST_S3_ENDPOINT (scripts/s3-start.sh)"]
async fn bad_shas_are_refused_before_any_request() {
    let bucket = new_bucket().await;
    let cache = tempfile::tempdir().unwrap();
    let store = open(&bucket, cache.path()).await;
    let staged = stage(&store, "x", b"x");
    for bad in ["../../etc/passwd", "abc", &"g".repeat(64)] {
        assert!(matches!(store.commit(&staged, bad).await, Err(Error::InvalidInput(_))), "{bad}");
        assert!(matches!(store.local_path(bad).await, Err(Error::InvalidInput(_))), "{bad}");
        assert!(matches!(store.delete(bad).await, Err(Error::InvalidInput(_))), "{bad}");
    }
    let listed: Vec<_> = futures::StreamExt::collect(raw(&bucket).list(None)).await;
    assert!(listed.is_empty());
}

#[tokio::test]
#[ignore = "needs JOEY_TEST_S3_ENDPOINT (scripts/s3-start.sh)"]
async fn opening_a_missing_bucket_or_a_dead_endpoint_fails_clearly_without_credentials() {
    let cache = tempfile::tempdir().unwrap();
    let err = S3Artifacts::open(config("joey-no-such-bucket", cache.path())).await.err().expect("refused").to_string();
    assert!(err.contains("joey-no-such-bucket") && err.contains("does not exist"), "{err}");
    assert!(!err.contains(KEY_ID) && !err.contains(SECRET), "credentials leaked: {err}");
    let mut dead = config("joey-any", cache.path());
    dead.endpoint = Some("http://127.0.0.1:9".into());
    let started = std::time::Instant::now();
    let err = S3Artifacts::open(dead).await.err().expect("refused").to_string();
    assert!(err.contains("joey-any") && err.contains("http://127.0.0.1:9"), "{err}");
    assert!(!err.contains(KEY_ID) && !err.contains(SECRET), "credentials leaked: {err}");
    assert!(started.elapsed().as_secs() < 30, "took {:?}", started.elapsed());
    let mut bad_prefix = config("joey-any", cache.path());
    bad_prefix.prefix = "a//b".into();
    assert!(matches!(S3Artifacts::open(bad_prefix).await, Err(Error::InvalidInput(_))));
}

#[tokio::test]
#[ignore = "needs JOEY_TEST_S3_ENDPOINT (scripts/s3-start.sh)"]
async fn an_empty_prefix_keys_from_the_bucket_root() {
    let bucket = new_bucket().await;
    let cache = tempfile::tempdir().unwrap();
    let mut cfg = config(&bucket, cache.path());
    cfg.prefix = "/".into();
    let store = S3Artifacts::open(cfg).await.unwrap();
    let sha = sha_of(b"root");
    store.commit(&stage(&store, "r", b"root"), &sha).await.unwrap();
    let key = Key::from(format!("sha256/{}/{sha}", &sha[..2]));
    assert_eq!(store.key(&sha).unwrap(), key);
    assert_eq!(remote_bytes(&bucket, &key).await, b"root");
}
