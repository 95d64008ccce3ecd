//! Connection pools: one per distinct database URL, shared by every `sql`
//! node that uses it, for as long as the engine runs.
//!
//! [`Pools`] is a scheme resource ([`weir_engine::Scheme::provide`]): the
//! `sql` family provides an empty one, and `weir start` replaces it with
//! one that knows the engine's own database, the database a spec gets when
//! it names no other. A pool is created the first time a node loads on its
//! URL, without connecting: connections open on first use, so a database
//! that is down at start is used as soon as it is up. URLs may hold
//! passwords: [`Url`] never prints one, and nothing here logs it. This
//! module runs no statements.

use std::collections::HashMap;
use std::str::FromStr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use deadpool_postgres::{Manager, ManagerConfig, RecyclingMethod, Runtime};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use weir_codecs::ErrorValue;

use super::error;
use super::statement::Dialect;

/// How long a statement may run unless its spec says otherwise; PostgreSQL
/// sessions start with it as their `statement_timeout`.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

/// Connections per PostgreSQL pool. A process holds one for the length of
/// its transaction, so this bounds the transactions in flight per URL.
const POSTGRES_CONNECTIONS: usize = 16;
/// Connections per SQLite pool: one writer at a time, readers alongside.
const SQLITE_CONNECTIONS: u32 = 8;
/// How long a writer waits for SQLite's write lock.
const SQLITE_BUSY_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a node waits for a free connection.
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(10);

/// A database URL. It may hold a password, so it has no `Display` and its
/// `Debug` is a placeholder.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Url(Arc<str>);

impl Url {
    /// Wraps `url` if it is a `postgres://`, `postgresql://` or `sqlite:`
    /// URL; the error never repeats it.
    pub fn parse(url: &str) -> Result<Url, String> {
        match dialect_of(url) {
            Some(_) => Ok(Url(url.into())),
            None => Err("is not a postgres:// or sqlite:// URL".to_string()),
        }
    }

    /// The backend the URL names.
    pub fn dialect(&self) -> Dialect {
        // Checked by `parse`, the only constructor.
        dialect_of(&self.0).unwrap_or(Dialect::Postgres)
    }

    /// The text, for connecting and for scrubbing messages. Never log it.
    pub(crate) fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Url {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Url(<{} url>)", self.dialect().name())
    }
}

fn dialect_of(url: &str) -> Option<Dialect> {
    match url.split(':').next() {
        Some("postgres" | "postgresql") => Some(Dialect::Postgres),
        Some("sqlite") => Some(Dialect::Sqlite),
        _ => None,
    }
}

/// One pool, of either backend.
pub enum Pool {
    /// A PostgreSQL pool.
    Postgres(deadpool_postgres::Pool),
    /// An SQLite pool.
    Sqlite(SqliteFile),
}

/// An SQLite pool, and the turn its writers take.
///
/// SQLite lets one connection write at a time. A writer that finds the
/// lock taken sleeps and tries again (after 1, 2, 5, 10 ms…, up to the
/// busy timeout), so two writers of one engine that meet lose milliseconds
/// each time. Writers of this pool wait for their turn here instead, in
/// order, and each is woken the moment the one before it ends. SQLite's own
/// lock still guards against other processes on the file.
pub struct SqliteFile {
    /// The connections: readers alongside one writer.
    pub connections: SqlitePool,
    writing: Arc<tokio::sync::Mutex<()>>,
}

/// A writer's turn on an SQLite pool, held until dropped.
pub struct Turn {
    _held: tokio::sync::OwnedMutexGuard<()>,
}

impl SqliteFile {
    /// Waits for this pool's writers before this one to end (at most the
    /// busy timeout, as SQLite's lock would).
    pub async fn turn(&self) -> Option<Turn> {
        let turn = self.writing.clone().lock_owned();
        tokio::time::timeout(SQLITE_BUSY_TIMEOUT, turn)
            .await
            .ok()
            .map(|held| Turn { _held: held })
    }
}

/// A pool and what identifies it within the engine.
pub struct Shared {
    /// Unique per pool: the key of a process's transaction on it.
    pub id: u64,
    /// The URL, for scrubbing it from error messages.
    pub url: Url,
    /// The connections.
    pub pool: Pool,
}

/// Every pool of the engine, by URL; see the module documentation.
#[derive(Default)]
pub struct Pools {
    engine: Option<Url>,
    open: Mutex<HashMap<Url, Arc<Shared>>>,
}

static NEXT_POOL: AtomicU64 = AtomicU64::new(1);

impl Pools {
    /// Pools with no engine database: every spec must name its connection.
    pub fn new() -> Pools {
        Pools::default()
    }

    /// Pools where a spec that names no connection uses `url`, the engine's
    /// own database. A URL of neither backend leaves no default.
    pub fn with_engine_database(url: &str) -> Pools {
        Pools {
            engine: Url::parse(url).ok(),
            open: Mutex::default(),
        }
    }

    /// The engine's own database, if the host said which it is.
    pub fn engine_database(&self) -> Option<&Url> {
        self.engine.as_ref()
    }

    /// The pool of `url`, created (without connecting) on first use. Must
    /// run inside the tokio runtime: a pool starts a maintenance task.
    pub fn get(&self, url: &Url) -> Result<Arc<Shared>, ErrorValue> {
        // Only inserted into whole: consistent even after a panic.
        let mut open = self.open.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(shared) = open.get(url) {
            return Ok(shared.clone());
        }
        let pool = connect_lazy(url)?;
        let shared = Arc::new(Shared {
            id: NEXT_POOL.fetch_add(1, Ordering::Relaxed),
            url: url.clone(),
            pool,
        });
        open.insert(url.clone(), shared.clone());
        Ok(shared)
    }
}

fn connect_lazy(url: &Url) -> Result<Pool, ErrorValue> {
    match url.dialect() {
        Dialect::Postgres => postgres_pool(url),
        Dialect::Sqlite => sqlite_pool(url).map_err(|e| error::from_sqlx(&e, url)),
    }
}

fn postgres_pool(url: &Url) -> Result<Pool, ErrorValue> {
    let invalid = |e: tokio_postgres::Error| error::from_postgres(&e, url);
    let mut config = tokio_postgres::Config::from_str(url.expose()).map_err(invalid)?;
    let timeout = format!("-c statement_timeout={}", DEFAULT_TIMEOUT.as_millis());
    let options = match config.get_options() {
        Some(given) => format!("{given} {timeout}"),
        None => timeout,
    };
    config.options(options);
    // Named in `pg_stat_activity`, unless the URL names itself.
    if config.get_application_name().is_none() {
        config.application_name("weir");
    }
    config.connect_timeout(ACQUIRE_TIMEOUT);
    let manager = Manager::from_config(
        config,
        tokio_postgres::NoTls,
        ManagerConfig {
            // A connection comes back outside any transaction (see
            // `postgres::Session`); one that closed is replaced.
            recycling_method: RecyclingMethod::Fast,
        },
    );
    deadpool_postgres::Pool::builder(manager)
        .max_size(POSTGRES_CONNECTIONS)
        .wait_timeout(Some(ACQUIRE_TIMEOUT))
        .create_timeout(Some(ACQUIRE_TIMEOUT))
        .runtime(Runtime::Tokio1)
        .build()
        .map(Pool::Postgres)
        .map_err(|e| ErrorValue::new(format!("cannot make a connection pool: {e}")))
}

fn sqlite_pool(url: &Url) -> Result<Pool, sqlx::Error> {
    let options = SqliteConnectOptions::from_str(url.expose())?
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Normal)
        .busy_timeout(SQLITE_BUSY_TIMEOUT)
        .foreign_keys(true);
    Ok(Pool::Sqlite(SqliteFile {
        connections: SqlitePoolOptions::new()
            .max_connections(SQLITE_CONNECTIONS)
            // A file's connection cannot be cut from under it: a ping per
            // acquire would only add a round trip to its thread.
            .test_before_acquire(false)
            .acquire_timeout(ACQUIRE_TIMEOUT)
            .connect_lazy_with(options),
        writing: Arc::default(),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_name_their_backend_and_never_print() {
        let url = Url::parse("postgres://me:hunter2@db/x").unwrap();
        assert_eq!(url.dialect(), Dialect::Postgres);
        assert!(!format!("{url:?}").contains("hunter2"));
        assert_eq!(
            Url::parse("sqlite://weir.db").unwrap().dialect(),
            Dialect::Sqlite
        );
        let refused = Url::parse("mysql://me:hunter2@db").unwrap_err();
        assert!(!refused.contains("hunter2"));
        assert!(
            Pools::with_engine_database("nope")
                .engine_database()
                .is_none()
        );
    }

    #[tokio::test]
    async fn one_pool_per_url() {
        let pools = Pools::new();
        let url = Url::parse("postgres://postgres@127.0.0.1:1/none").unwrap();
        let (a, b) = (pools.get(&url).unwrap(), pools.get(&url).unwrap());
        assert_eq!(a.id, b.id);
        let other = pools.get(&Url::parse("postgres://postgres@127.0.0.1:1/other").unwrap());
        assert_ne!(other.unwrap().id, a.id);
    }
}
