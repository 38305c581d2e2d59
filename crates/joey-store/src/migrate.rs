//! Embedded migrations, applied in order at start-up, each in its own transaction.

use joey_core::Error;
use sqlx::{AnyPool, Row};

use crate::{db, Backend};

struct Migration {
    version: i64,
    name: &'static str,
    sqlite: &'static str,
    postgres: &'static str,
}

const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        name: "identity",
        sqlite: include_str!("../migrations/sqlite/0001_identity.sql"),
        postgres: include_str!("../migrations/postgres/0001_identity.sql"),
    },
    Migration {
        version: 2,
        name: "models",
        sqlite: include_str!("../migrations/sqlite/0002_models.sql"),
        postgres: include_str!("../migrations/postgres/0002_models.sql"),
    },
    Migration {
        version: 3,
        name: "pipelines",
        sqlite: include_str!("../migrations/sqlite/0003_pipelines.sql"),
        postgres: include_str!("../migrations/postgres/0003_pipelines.sql"),
    },
];

pub(crate) async fn run(pool: &AnyPool, backend: Backend) -> Result<(), Error> {
    sqlx::query(
        "create table if not exists schema_migration (version bigint primary key, name text not null, applied_at bigint not null)",
    )
    .execute(pool)
    .await
    .map_err(db)?;
    let applied: Vec<i64> = sqlx::query("select version from schema_migration")
        .fetch_all(pool)
        .await
        .map_err(db)?
        .iter()
        .map(|r| r.try_get::<i64, _>(0))
        .collect::<Result<_, _>>()
        .map_err(db)?;
    for m in MIGRATIONS.iter().filter(|m| !applied.contains(&m.version)) {
        let sql = match backend {
            Backend::Sqlite => m.sqlite,
            Backend::Postgres => m.postgres,
        };
        let mut tx = pool.begin().await.map_err(db)?;
        for stmt in statements(sql) {
            sqlx::query(&stmt).execute(&mut *tx).await.map_err(|e| {
                Error::internal(format!("migration {} ({}) failed: {e}", m.version, m.name))
            })?;
        }
        sqlx::query("insert into schema_migration (version, name, applied_at) values ($1, $2, $3)")
            .bind(m.version)
            .bind(m.name)
            .bind(chrono::Utc::now().timestamp_millis())
            .execute(&mut *tx)
            .await
            .map_err(db)?;
        tx.commit().await.map_err(db)?;
        tracing::info!(version = m.version, name = m.name, "applied migration");
    }
    Ok(())
}

/// Splits a migration file on `;` at line ends, dropping `--` comment lines.
fn statements(sql: &str) -> Vec<String> {
    let cleaned: String = sql
        .lines()
        .filter(|l| !l.trim_start().starts_with("--"))
        .collect::<Vec<_>>()
        .join("\n");
    cleaned
        .split(";\n")
        .map(|s| s.trim().trim_end_matches(';').trim().to_string())
        .filter(|s| !s.is_empty())
        .collect()
}
