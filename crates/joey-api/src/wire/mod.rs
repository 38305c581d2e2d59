//! Request and response bodies exactly as Wallaroo spells them. Conversions from domain types
//! live next to each DTO.

pub mod models;
pub mod pipelines;
pub mod users;
pub mod workspaces;

use serde::Serialize;
use utoipa::ToSchema;

/// Wallaroo's error body for management routes.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    pub msg: String,
    pub code: u16,
}

/// RFC 3339 with microseconds and an explicit offset, as the reference emits.
pub fn rfc3339(t: &chrono::DateTime<chrono::Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Micros, false)
}
