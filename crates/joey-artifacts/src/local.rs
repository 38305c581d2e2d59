//! The local-directory backend (the default): files live at `<root>/sha256/<first two hex>/<sha>`,
//! hard-linked from `<root>/staging/`, so a reader never sees a half-written artifact and identical
//! bytes are stored once.

use std::path::{Path, PathBuf};

use async_trait::async_trait;
use joey_core::ports::ArtifactStore;
use joey_core::{Error, Result};

/// Artifacts in a local directory.
pub struct LocalArtifacts {
    root: PathBuf,
}

impl LocalArtifacts {
    /// Creates the directory layout under `root` and clears stale staging files left by a crash.
    pub fn open(root: impl Into<PathBuf>) -> Result<Self> {
        let root = root.into();
        let staging = root.join("staging");
        std::fs::create_dir_all(root.join("sha256")).map_err(|e| Error::internal(format!("cannot create {}: {e}", root.display())))?;
        if staging.exists() {
            let _ = std::fs::remove_dir_all(&staging);
        }
        std::fs::create_dir_all(&staging).map_err(|e| Error::internal(format!("cannot create {}: {e}", staging.display())))?;
        Ok(Self { root })
    }

    fn path_of(&self, sha: &str) -> Result<PathBuf> {
        Ok(self.root.join(crate::sha_key(sha)?))
    }
}

#[async_trait]
impl ArtifactStore for LocalArtifacts {
    async fn commit(&self, staged: &Path, sha: &str) -> Result<()> {
        let target = self.path_of(sha)?;
        if tokio::fs::try_exists(&target).await.unwrap_or(false) {
            tracing::debug!(sha, "artifact already stored; deduplicated");
            return Ok(());
        }
        let dir = target.parent().expect("sha path has a parent");
        tokio::fs::create_dir_all(dir).await.map_err(Error::internal)?;
        tokio::fs::hard_link(staged, &target)
            .await
            .or_else(|e| if e.kind() == std::io::ErrorKind::AlreadyExists { Ok(()) } else { Err(e) })
            .map_err(|e| Error::internal(format!("cannot store artifact {sha}: {e}")))
    }

    async fn local_path(&self, sha: &str) -> Result<PathBuf> {
        let p = self.path_of(sha)?;
        if tokio::fs::try_exists(&p).await.unwrap_or(false) {
            Ok(p)
        } else {
            Err(Error::internal(format!("artifact {sha} is missing from {}", self.root.display())))
        }
    }

    async fn delete(&self, sha: &str) -> Result<u64> {
        let p = self.path_of(sha)?;
        match tokio::fs::metadata(&p).await {
            Ok(m) => {
                tokio::fs::remove_file(&p).await.map_err(Error::internal)?;
                Ok(m.len())
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(0),
            Err(e) => Err(Error::internal(e)),
        }
    }

    fn staging_dir(&self) -> PathBuf {
        self.root.join("staging")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SHA: &str = "bc85ce596945f876256f41515c7501c399fd97ebcb9ab3dd41bf03f8937b4507";

    #[tokio::test]
    async fn commits_dedupe_and_deletes_report_bytes() {
        let dir = tempfile::tempdir().unwrap();
        let store = LocalArtifacts::open(dir.path()).unwrap();
        for _ in 0..2 {
            let staged = store.staging_dir().join("up");
            std::fs::write(&staged, b"hello").unwrap();
            store.commit(&staged, SHA).await.unwrap();
            std::fs::remove_file(&staged).unwrap();
        }
        let p = store.local_path(SHA).await.unwrap();
        assert_eq!(std::fs::read(&p).unwrap(), b"hello");
        assert_eq!(store.delete(SHA).await.unwrap(), 5);
        assert_eq!(store.delete(SHA).await.unwrap(), 0);
        assert!(store.local_path(SHA).await.is_err());
    }

    #[tokio::test]
    async fn stale_staging_files_are_cleared_on_open_and_bad_shas_refused() {
        let dir = tempfile::tempdir().unwrap();
        let store = LocalArtifacts::open(dir.path()).unwrap();
        std::fs::write(store.staging_dir().join("half-written"), b"x").unwrap();
        let store = LocalArtifacts::open(dir.path()).unwrap();
        assert_eq!(std::fs::read_dir(store.staging_dir()).unwrap().count(), 0);
        assert!(store.local_path("../../etc/passwd").await.is_err());
    }
}
