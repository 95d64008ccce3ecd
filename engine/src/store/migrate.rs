//! Applying the schema in `migrations/<backend>/`, once and in order.
//!
//! Migrations are embedded in the binary, so `weir migrate` and
//! `weir start` need no files beside them. Applied versions are recorded in
//! `weir_migrations`; on PostgreSQL an advisory lock keeps two engines that
//! start together from migrating at once.

use sqlx::AnyPool;

use super::{Backend, StoreError};

/// `(version, sql)` for one backend, in order.
fn migrations(backend: Backend) -> &'static [(i64, &'static str)] {
    match backend {
        Backend::Postgres => &[
            (
                1,
                include_str!("../../../migrations/postgres/0001_init.sql"),
            ),
            (
                2,
                include_str!("../../../migrations/postgres/0002_jobs.sql"),
            ),
        ],
        Backend::Sqlite => &[
            (1, include_str!("../../../migrations/sqlite/0001_init.sql")),
            (2, include_str!("../../../migrations/sqlite/0002_jobs.sql")),
        ],
    }
}

/// Applies what is missing; returns how many migrations ran.
pub async fn run(pool: &AnyPool, backend: Backend) -> Result<usize, StoreError> {
    let mut tx = pool.begin().await?;
    if backend == Backend::Postgres {
        sqlx::query("SELECT pg_advisory_xact_lock(7302020)")
            .execute(&mut *tx)
            .await?;
    }
    sqlx::query("CREATE TABLE IF NOT EXISTS weir_migrations (version BIGINT PRIMARY KEY, applied_at TEXT NOT NULL)")
        .execute(&mut *tx)
        .await?;
    let applied: Vec<i64> = sqlx::query_scalar("SELECT version FROM weir_migrations")
        .fetch_all(&mut *tx)
        .await?;
    let mut count = 0;
    for (version, sql) in migrations(backend) {
        if applied.contains(version) {
            continue;
        }
        sqlx::raw_sql(sql).execute(&mut *tx).await?;
        let record = super::sql::translate(
            backend,
            "INSERT INTO weir_migrations (version, applied_at) VALUES ($1, NOW()::text)",
        );
        sqlx::query(&record)
            .bind(*version)
            .execute(&mut *tx)
            .await?;
        tracing::info!(version, "applied migration");
        count += 1;
    }
    tx.commit().await?;
    Ok(count)
}
