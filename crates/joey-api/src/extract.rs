//! Extractors: the authenticated caller and JSON bodies with our error format.

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use joey_core::{Caller, Error};
use serde::de::DeserializeOwned;

use crate::{ApiError, AppState};

/// The caller behind `Authorization: Bearer <jwt>`; 401 with a reason otherwise.
pub struct Auth(pub Caller);

impl FromRequestParts<AppState> for Auth {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let token = bearer(parts).map_err(ApiError::Domain)?;
        state.tokens.verify(token).await.map(Auth).map_err(ApiError::Domain)
    }
}

/// Reads the bearer token from the request headers.
pub fn bearer(parts: &Parts) -> Result<&str, Error> {
    let header = parts
        .headers
        .get(axum::http::header::AUTHORIZATION)
        .ok_or_else(|| Error::unauthenticated("Jwt is missing"))?;
    let value = header.to_str().map_err(|_| Error::unauthenticated("Authorization header is not valid text"))?;
    let (scheme, token) = value.split_once(' ').ok_or_else(|| Error::unauthenticated("Authorization header must be 'Bearer <token>'"))?;
    if !scheme.eq_ignore_ascii_case("bearer") || token.trim().is_empty() {
        return Err(Error::unauthenticated("Authorization header must be 'Bearer <token>'"));
    }
    Ok(token.trim())
}

/// A JSON body. Malformed JSON or wrong field types answer 400 naming what was wrong.
/// The Content-Type is not enforced: the body must simply be JSON.
pub struct WJson<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for WJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let bytes = Bytes::from_request(req, state).await.map_err(|e| {
            if e.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::Domain(Error::TooLarge(format!("request body is too large: {}", e.body_text())))
            } else {
                ApiError::Domain(Error::invalid(format!("cannot read request body: {}", e.body_text())))
            }
        })?;
        let body: &[u8] = if bytes.iter().all(u8::is_ascii_whitespace) { b"{}" } else { &bytes };
        serde_json::from_slice(body)
            .map(WJson)
            .map_err(|e| ApiError::Domain(Error::invalid(format!("invalid JSON body: {e}"))))
    }
}
