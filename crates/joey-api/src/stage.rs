//! Streams request bodies to a staging file while hashing them: memory stays flat whatever the
//! upload size, and an interrupted or rejected upload leaves nothing behind (the temp file is
//! deleted when the guard drops).

use bytes::Bytes;
use futures::{Stream, StreamExt};
use joey_core::Error;
use sha2::{Digest, Sha256};
use tokio::io::AsyncWriteExt;

/// A fully written staging file with its SHA-256 and size. Deleted on drop.
pub struct Staged {
    pub path: tempfile::TempPath,
    pub sha: String,
    pub size: u64,
}

/// Writes `body` into a new file under `dir`, refusing more than `limit` bytes (413).
pub async fn stage<S, E>(dir: &std::path::Path, body: S, limit: u64) -> Result<Staged, Error>
where
    S: Stream<Item = Result<Bytes, E>>,
    E: std::fmt::Display,
{
    let tmp = tempfile::Builder::new().prefix("upload-").tempfile_in(dir).map_err(|e| Error::internal(format!("cannot create staging file: {e}")))?;
    let path = tmp.into_temp_path();
    let mut file = tokio::fs::File::create(&path).await.map_err(Error::internal)?;
    let mut body = std::pin::pin!(body);
    let mut hasher = Sha256::new();
    let mut size: u64 = 0;
    while let Some(chunk) = body.next().await {
        let chunk = chunk.map_err(|e| Error::invalid(format!("upload interrupted: {e}")))?;
        size += chunk.len() as u64;
        if size > limit {
            return Err(Error::TooLarge(format!("upload exceeds the limit of {limit} bytes")));
        }
        hasher.update(&chunk);
        file.write_all(&chunk).await.map_err(|e| Error::internal(format!("cannot write staging file: {e}")))?;
    }
    file.flush().await.map_err(Error::internal)?;
    file.sync_all().await.map_err(Error::internal)?;
    Ok(Staged { path, sha: hex::encode(hasher.finalize()), size })
}
