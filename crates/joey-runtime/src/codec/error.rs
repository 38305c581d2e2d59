//! The codec error type.

/// What went wrong while decoding a request or encoding a response.
///
/// `BadRequest` maps to HTTP 400 (the body or the query is malformed), `Unsupported` to
/// HTTP 415 (a media type or value kind the codecs do not handle). Messages name the problem:
/// the column, the row and what was expected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CodecError {
    /// The request body or query string is malformed.
    #[error("{0}")]
    BadRequest(String),
    /// The media type, format or data type is not supported.
    #[error("{0}")]
    Unsupported(String),
}

impl CodecError {
    pub(crate) fn bad(msg: impl Into<String>) -> Self {
        CodecError::BadRequest(msg.into())
    }
    pub(crate) fn unsupported(msg: impl Into<String>) -> Self {
        CodecError::Unsupported(msg.into())
    }
}
