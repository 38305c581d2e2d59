//! Black-box tests of the HTTP API: a real server on a random port, driven with reqwest.
//! Set `JOEY_TEST_POSTGRES_URL` to run every test against a fresh PostgreSQL database instead
//! of SQLite in the temporary data directory.

mod helpers;

mod auth;
mod docs;
mod misc;
mod restart;
mod users;
mod workspaces;
