//! RS256 signing keys: created once, persisted in the store, published as JWKS.

use std::collections::HashMap;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use jsonwebtoken::{DecodingKey, EncodingKey};
use joey_core::ports::Store;
use joey_core::user::SigningKey;
use joey_core::{Error, Result};
use rsa::pkcs1::{DecodeRsaPrivateKey, EncodeRsaPrivateKey, LineEnding};
use rsa::traits::PublicKeyParts;
use rsa::RsaPrivateKey;

/// The signing keys: the newest signs, all verify.
pub struct KeyRing {
    kid: String,
    encoding: EncodingKey,
    decoding: HashMap<String, DecodingKey>,
    jwks: serde_json::Value,
}

impl KeyRing {
    /// Loads the persisted keys, creating a 2048-bit key on first start.
    pub async fn load_or_create(store: &dyn Store, now_ms: i64) -> Result<Self> {
        let mut keys = store.list_signing_keys().await?;
        if keys.is_empty() {
            let key = tokio::task::spawn_blocking(generate).await.map_err(Error::internal)??;
            let record = SigningKey { kid: uuid::Uuid::new_v4().simple().to_string(), private_pem: key, created_at_ms: now_ms };
            store.insert_signing_key(&record).await?;
            tracing::info!(kid = %record.kid, "created a new RS256 signing key");
            keys.push(record);
        }
        Self::from_records(&keys)
    }

    fn from_records(records: &[SigningKey]) -> Result<Self> {
        let mut decoding = HashMap::new();
        let mut jwk_list = Vec::new();
        for r in records {
            let private = RsaPrivateKey::from_pkcs1_pem(&r.private_pem)
                .map_err(|e| Error::internal(format!("signing key {} is unreadable: {e}", r.kid)))?;
            let n = URL_SAFE_NO_PAD.encode(private.n().to_bytes_be());
            let e = URL_SAFE_NO_PAD.encode(private.e().to_bytes_be());
            let dk = DecodingKey::from_rsa_components(&n, &e).map_err(Error::internal)?;
            decoding.insert(r.kid.clone(), dk);
            jwk_list.push(serde_json::json!({"kid": r.kid, "kty": "RSA", "alg": "RS256", "use": "sig", "n": n, "e": e}));
        }
        let newest = records.last().ok_or_else(|| Error::internal("no signing key"))?;
        let encoding = EncodingKey::from_rsa_pem(newest.private_pem.as_bytes()).map_err(Error::internal)?;
        Ok(Self { kid: newest.kid.clone(), encoding, decoding, jwks: serde_json::json!({ "keys": jwk_list }) })
    }

    pub fn kid(&self) -> &str {
        &self.kid
    }
    pub(crate) fn encoding(&self) -> &EncodingKey {
        &self.encoding
    }
    pub(crate) fn decoding(&self, kid: &str) -> Option<&DecodingKey> {
        self.decoding.get(kid)
    }
    pub fn jwks(&self) -> serde_json::Value {
        self.jwks.clone()
    }
}

fn generate() -> Result<String> {
    let key = RsaPrivateKey::new(&mut rand::rngs::OsRng, 2048).map_err(Error::internal)?;
    Ok(key.to_pkcs1_pem(LineEnding::LF).map_err(Error::internal)?.to_string())
}
