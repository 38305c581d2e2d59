//! Black-box tests of the HTTP API: a real server on a random port, driven with reqwest.
//! Set `JOEY_TEST_POSTGRES_URL` to run every test against a fresh PostgreSQL database instead
//! of SQLite in the temporary data directory.

mod helpers;
mod helpers_ml;

mod auth;
mod deployments;
mod docs;
mod external_issuer;
mod inference;
mod inference_errors;
mod inference_steps;
mod misc;
mod model_reads;
mod model_storage;
mod models;
mod pipelines;
mod restart;
mod upload_memory;
mod users;
mod workspaces;
