//! The Joey domain: entities, validated names, authorization and the `Platform` facade.
//!
//! Glossary:
//! - **User**: a person (or service account) who holds tokens. Identified by a string id (the JWT `sub`).
//! - **Workspace**: the tenant boundary. Every model, pipeline and deployment lives in exactly one.
//! - **Caller**: the authenticated principal of a request; every `Platform` method that touches tenant
//!   data takes one, so authorization cannot be skipped.
//!
//! This crate does no I/O: storage comes through [`ports::Store`], time through [`ports::Clock`].

pub mod caller;
pub mod check;
pub mod error;
pub mod model;
pub mod names;
pub mod pipeline;
pub mod platform;
pub mod ports;
pub mod user;
pub mod workspace;

pub use caller::{Caller, CallerKind};
pub use error::{Error, Result};
pub use platform::Platform;
