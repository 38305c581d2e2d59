//! The one place where errors become HTTP responses.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use joey_auth::OAuthError;
use joey_core::Error;

/// Every error a handler can return.
#[derive(Debug)]
pub enum ApiError {
    /// A domain error on a management route: Wallaroo's `{"msg", "code"}` body.
    Domain(Error),
    /// A domain error on an inference route: the engine body `{"code","status","error","source"}`.
    Engine(Error),
    /// A token-endpoint error: OAuth2 `{"error", "error_description"}`.
    OAuth(OAuthError),
}

impl From<Error> for ApiError {
    fn from(e: Error) -> Self {
        ApiError::Domain(e)
    }
}

impl From<OAuthError> for ApiError {
    fn from(e: OAuthError) -> Self {
        ApiError::OAuth(e)
    }
}

/// The status for each domain error. Exhaustive on purpose: a new variant must pick one.
pub fn status_of(e: &Error) -> StatusCode {
    match e {
        Error::InvalidInput(_) => StatusCode::BAD_REQUEST,
        Error::NotFound(_) => StatusCode::NOT_FOUND,
        Error::Conflict(_) => StatusCode::CONFLICT,
        Error::Unauthenticated(_) => StatusCode::UNAUTHORIZED,
        Error::Forbidden(_) => StatusCode::FORBIDDEN,
        Error::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
        Error::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
        Error::NotImplemented(_) => StatusCode::NOT_IMPLEMENTED,
        Error::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

/// The client-facing message: internal details are logged, never sent.
fn public_message(e: &Error) -> String {
    match e {
        Error::Internal(detail) => {
            tracing::error!(error = %detail, "internal error");
            "internal server error; see the server log".to_string()
        }
        other => other.to_string(),
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        match self {
            ApiError::Domain(e) => {
                let status = status_of(&e);
                let body = serde_json::json!({"msg": public_message(&e), "code": status.as_u16()});
                (status, Json(body)).into_response()
            }
            ApiError::Engine(e) => {
                let status = status_of(&e);
                let source = match e {
                    Error::InvalidInput(_) => "engine",
                    _ => "platform",
                };
                let body = serde_json::json!({"code": status.as_u16(), "status": "error", "error": public_message(&e), "source": source});
                (status, Json(body)).into_response()
            }
            ApiError::OAuth(e) => {
                let status = StatusCode::from_u16(e.status).unwrap_or(StatusCode::BAD_REQUEST);
                let mut resp = (status, Json(e.body())).into_response();
                if status == StatusCode::UNAUTHORIZED {
                    resp.headers_mut().insert("www-authenticate", "Basic realm=\"master\"".parse().expect("static header"));
                }
                resp
            }
        }
    }
}

/// Answer for routes that do not exist.
pub async fn not_found_route(uri: axum::http::Uri) -> ApiError {
    ApiError::Domain(Error::not_found(format!("no route for {}", uri.path())))
}

/// Answer for a known path called with the wrong method.
pub async fn method_not_allowed(method: axum::http::Method, uri: axum::http::Uri) -> Response {
    let body = serde_json::json!({"msg": format!("{method} is not allowed on {}", uri.path()), "code": 405});
    (StatusCode::METHOD_NOT_ALLOWED, Json(body)).into_response()
}
