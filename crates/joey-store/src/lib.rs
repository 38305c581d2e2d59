//! The metadata store: one implementation of `joey_core::ports::Store` for SQLite (the embedded
//! default) and PostgreSQL, through sqlx's `Any` driver.
//!
//! Why `Any` and runtime queries: the SQL is written once in the common subset of both dialects
//! (`$N` placeholders, `bigint` times and flags, `text` JSON), so the two backends cannot drift;
//! the shared conformance suite (`tests/conformance.rs`) runs every behaviour on both. Dialect
//! differences are confined to the migration files.

mod auth;
mod migrate;
mod models;
mod pipelines;
mod rows;
mod users;
mod workspaces;

use joey_core::Error;
use sqlx::any::{AnyPoolOptions, install_default_drivers};
use sqlx::any::AnyRow;
use sqlx::AnyPool;

/// Which database the store talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// The SQL store.
#[derive(Clone)]
pub struct SqlStore {
    pool: AnyPool,
    backend: Backend,
}

impl SqlStore {
    /// Connects (`sqlite://path` or `postgres://…`), applies pending migrations, and returns the store.
    pub async fn connect(url: &str) -> Result<Self, Error> {
        install_default_drivers();
        let backend = backend_of(url)?;
        let max = if backend == Backend::Sqlite { 4 } else { 10 };
        let pool = AnyPoolOptions::new()
            .max_connections(max)
            .connect(url)
            .await
            .map_err(|e| Error::internal(format!("cannot open database: {e}")))?;
        let store = Self { pool, backend };
        if backend == Backend::Sqlite {
            sqlx::query("pragma journal_mode = wal").execute(&store.pool).await.map_err(db)?;
        }
        migrate::run(&store.pool, backend).await?;
        Ok(store)
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    pub(crate) fn pool(&self) -> &AnyPool {
        &self.pool
    }

    /// Runs a one-parameter query and maps the row it finds, if any.
    pub(crate) async fn opt_by<T, V>(&self, sql: &str, value: V, map: fn(&AnyRow) -> Result<T, Error>) -> Result<Option<T>, Error>
    where
        V: for<'q> sqlx::Encode<'q, sqlx::Any> + sqlx::Type<sqlx::Any> + Send + 'static,
    {
        let row = sqlx::query(sql).bind(value).fetch_optional(&self.pool).await.map_err(db)?;
        row.as_ref().map(map).transpose()
    }

    /// Looks up a row by `(workspace_id, name)`, the natural key of models and pipelines.
    pub(crate) async fn opt_in_workspace<T>(&self, sql: &str, workspace_id: i64, name: &str, map: fn(&AnyRow) -> Result<T, Error>) -> Result<Option<T>, Error> {
        let row = sqlx::query(sql).bind(workspace_id).bind(name).fetch_optional(&self.pool).await.map_err(db)?;
        row.as_ref().map(map).transpose()
    }

    /// Runs a one-parameter query and maps every row.
    pub(crate) async fn all_by<T, V>(&self, sql: &str, value: V, map: fn(&AnyRow) -> Result<T, Error>) -> Result<Vec<T>, Error>
    where
        V: for<'q> sqlx::Encode<'q, sqlx::Any> + sqlx::Type<sqlx::Any> + Send + 'static,
    {
        let rows = sqlx::query(sql).bind(value).fetch_all(&self.pool).await.map_err(db)?;
        rows.iter().map(map).collect()
    }

    /// Starts a write transaction. On SQLite it takes the write lock up front (`BEGIN
    /// IMMEDIATE`): a deferred transaction that reads and then writes fails with SQLITE_BUSY_SNAPSHOT
    /// when another connection committed in between, and the busy timeout cannot retry that.
    pub(crate) async fn begin(&self) -> Result<sqlx::Transaction<'static, sqlx::Any>, Error> {
        match self.backend {
            Backend::Sqlite => self.pool.begin_with("BEGIN IMMEDIATE").await.map_err(db),
            Backend::Postgres => self.pool.begin().await.map_err(db),
        }
    }
}

fn backend_of(url: &str) -> Result<Backend, Error> {
    if url.starts_with("sqlite:") {
        Ok(Backend::Sqlite)
    } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        Ok(Backend::Postgres)
    } else {
        Err(Error::invalid(format!(
            "unsupported database URL '{}': use sqlite://<file> or postgres://…",
            url.split('@').next_back().unwrap_or(url)
        )))
    }
}

/// `insert … returning <id>` queries: run in a transaction and read the id.
pub(crate) trait ReturningId {
    async fn returning_id(self, tx: &mut sqlx::Transaction<'_, sqlx::Any>) -> Result<i64, Error>;
}

impl<'q> ReturningId for sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>> {
    async fn returning_id(self, tx: &mut sqlx::Transaction<'_, sqlx::Any>) -> Result<i64, Error> {
        use sqlx::Row;
        self.fetch_one(&mut **tx).await.map_err(db)?.try_get(0).map_err(db)
    }
}

/// Maps a sqlx error to the domain vocabulary (unique violations become `Conflict`).
pub(crate) fn db(e: sqlx::Error) -> Error {
    if let Some(d) = e.as_database_error() {
        if d.is_unique_violation() {
            return Error::conflict(format!("already exists: {}", d.message()));
        }
        if d.is_foreign_key_violation() {
            return Error::invalid(format!("refers to something that does not exist: {}", d.message()));
        }
    }
    Error::internal(format!("database error: {e}"))
}

impl SqlStore {
    /// Applies pending migrations again (a no-op on an up-to-date database). Used by tests and by
    /// `joey migrate`.
    pub async fn migrate_again_for_tests(&self) -> Result<(), Error> {
        migrate::run(&self.pool, self.backend).await
    }
}
