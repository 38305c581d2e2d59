//! Argon2id hashing and random secrets.

use argon2::password_hash::{PasswordHash, PasswordHasher as _, PasswordVerifier, SaltString};
use argon2::Argon2;
use joey_core::user::{PasswordHasher, SecretGenerator};
use rand::distributions::Alphanumeric;
use rand::rngs::OsRng;
use rand::Rng;

/// Argon2id with the crate's default (OWASP) parameters.
pub struct Argon2Hasher;

impl PasswordHasher for Argon2Hasher {
    fn hash(&self, secret: &str) -> joey_core::Result<String> {
        let salt = SaltString::generate(&mut OsRng);
        Argon2::default()
            .hash_password(secret.as_bytes(), &salt)
            .map(|h| h.to_string())
            .map_err(joey_core::Error::internal)
    }

    fn verify(&self, secret: &str, hash: &str) -> bool {
        PasswordHash::new(hash)
            .map(|parsed| Argon2::default().verify_password(secret.as_bytes(), &parsed).is_ok())
            .unwrap_or(false)
    }
}

/// OS-random alphanumeric secrets.
pub struct RandomSecrets;

impl SecretGenerator for RandomSecrets {
    fn password(&self) -> String {
        random_string(24)
    }
}

pub(crate) fn random_string(len: usize) -> String {
    OsRng.sample_iter(&Alphanumeric).take(len).map(char::from).collect()
}

/// SHA-256 hex of a token (refresh tokens are stored hashed).
pub(crate) fn token_hash(token: &str) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(token.as_bytes()))
}
