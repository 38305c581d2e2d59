//! Argon2id hashing and random secrets.

use argon2::password_hash::{PasswordHash, PasswordHasher as _, PasswordVerifier, SaltString};
use argon2::Argon2;
use joey_core::user::{PasswordHasher, SecretGenerator};
use rand::distributions::Alphanumeric;
use rand::rngs::OsRng;
use rand::Rng;

/// Argon2id with OWASP's m=7 MiB, t=5, p=1 profile (equivalent strength to the 19 MiB/t=2
/// default, a smaller memory spike per login on a small server). Verification reads the
/// parameters from each stored PHC string, so older hashes keep working.
pub struct Argon2Hasher;

fn argon2() -> Argon2<'static> {
    let params = argon2::Params::new(7 * 1024, 5, 1, None).expect("valid argon2 parameters");
    Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, params)
}

impl PasswordHasher for Argon2Hasher {
    fn hash(&self, secret: &str) -> joey_core::Result<String> {
        let salt = SaltString::generate(&mut OsRng);
        argon2()
            .hash_password(secret.as_bytes(), &salt)
            .map(|h| h.to_string())
            .map_err(joey_core::Error::internal)
    }

    fn verify(&self, secret: &str, hash: &str) -> bool {
        PasswordHash::new(hash)
            .map(|parsed| argon2().verify_password(secret.as_bytes(), &parsed).is_ok())
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
