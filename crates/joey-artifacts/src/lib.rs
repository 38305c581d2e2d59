//! Content-addressed artifact storage behind `joey_core::ports::ArtifactStore`. Every backend keys
//! bytes by their sha256 as `sha256/<first two hex>/<sha>`, so identical bytes are stored once:
//! - [`LocalArtifacts`] (the default): a local directory;
//! - [`S3Artifacts`]: an S3 bucket (or S3-compatible server) through the `object_store` crate, with
//!   a local read-through cache for the files the engine opens.

mod local;
mod s3;

pub use local::LocalArtifacts;
pub use s3::{S3Artifacts, S3Config, DEFAULT_PART_SIZE};

use joey_core::{Error, Result};

/// `sha256/<aa>/<sha>` for a lowercase or uppercase sha256 hex digest; anything else (which could
/// escape a directory or a key prefix) is refused.
pub(crate) fn sha_key(sha: &str) -> Result<String> {
    if sha.len() != 64 || !sha.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(Error::invalid(format!("'{sha}' is not a sha256 hex digest")));
    }
    Ok(format!("sha256/{}/{sha}", &sha[..2]))
}
