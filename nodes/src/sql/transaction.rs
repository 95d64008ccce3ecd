//! One transaction per process and connection: which connection a
//! statement runs on, and committing or rolling back when the process ends.
//!
//! The first statement of a process that writes (anything but a plain
//! read, see `statement.rs`) begins a transaction on its pool and keeps it
//! in the process's typed state; every later statement of the process on
//! that pool, read or write, runs in it. An exit hook commits it when the
//! process ends well and rolls it back when it ends with an error or an
//! error status (the listener counts an answer with status 400 or more as
//! a failure). Child processes share their root's transactions: a `fork`
//! branch sees its parent's writes and commits with it, and cannot
//! deadlock against it.
//!
//! On SQLite, everything that may write (a transaction, a statement of its
//! own, `on_load`) first takes the pool's writers' turn (see
//! `pool::SqliteFile`) and holds it until it commits or rolls back.
//!
//! A plain read that comes before any write runs on a pooled connection of
//! its own, outside any transaction: at read committed every statement
//! sees its own snapshot anyway, so it sees what it would have seen inside
//! one, and a process that only reads costs one statement instead of
//! three. A node asking for a stricter isolation level, or (on PostgreSQL)
//! a timeout other than the session's, always runs in the transaction.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use schemars::JsonSchema;
use serde::Deserialize;
use sqlx::Sqlite;
use sqlx::pool::PoolConnection;
use tokio::sync::OwnedMappedMutexGuard;
use weir_codecs::ErrorValue;
use weir_engine::Process;
use weir_engine::runtime::Outcome;

use super::pool::{DEFAULT_TIMEOUT, Pool, Shared, SqliteFile, Turn};
use super::postgres;
use super::run::{Conn, Failure};
use super::statement::Dialect;

/// A transaction isolation level (PostgreSQL; SQLite is always
/// serializable).
#[derive(Clone, Copy, Debug, Deserialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Isolation {
    /// Each statement sees what was committed before it began.
    ReadCommitted,
    /// Every statement sees the snapshot of the first.
    RepeatableRead,
    /// As if the transactions of all processes ran one after another;
    /// a conflict fails with SQLSTATE 40001 (status 409): retry it.
    Serializable,
}

impl Isolation {
    fn sql(self) -> &'static str {
        match self {
            Isolation::ReadCommitted => "READ COMMITTED",
            Isolation::RepeatableRead => "REPEATABLE READ",
            Isolation::Serializable => "SERIALIZABLE",
        }
    }
}

/// Which transaction a node's statement runs in.
#[derive(Clone, Copy, Debug, Default, Deserialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Scope {
    /// The process's transaction, committed when the process ends well.
    #[default]
    Process,
    /// One of its own, committed as soon as the statement succeeds.
    Statement,
}

/// What a node asks of the transaction its statement runs in.
#[derive(Clone, Copy, Debug)]
pub struct Settings {
    /// The level, if the node names one.
    pub isolation: Option<Isolation>,
    /// How long one statement may run.
    pub timeout: Duration,
    /// The statement runs in a transaction of its own ([`Scope::Statement`]).
    pub own: bool,
}

pub(super) enum Tx {
    Postgres(postgres::Session),
    /// The transaction, and the writers' turn it holds until it ends.
    Sqlite(sqlx::Transaction<'static, Sqlite>, Turn),
}

/// A process's transaction on one pool.
pub(super) struct Open {
    tx: Option<Tx>,
    isolation: Option<Isolation>,
    timeout: Duration,
    ended: bool,
}

type Slot = Arc<tokio::sync::Mutex<Open>>;

/// The transactions a (root) process holds, by pool.
#[derive(Default)]
struct Transactions {
    by_pool: Mutex<Vec<(u64, Slot)>>,
}

/// A connection held for one statement.
pub(super) enum Lease {
    /// A pooled PostgreSQL connection, outside any transaction.
    Postgres(postgres::Session),
    /// A pooled SQLite connection, outside any transaction.
    Sqlite(PoolConnection<Sqlite>),
    /// The process's transaction, held until the statement is done.
    InTransaction(OwnedMappedMutexGuard<Open, Tx>),
}

impl Lease {
    /// Whether the statement runs on a pooled connection of its own,
    /// outside any transaction.
    pub fn alone(&self) -> bool {
        !matches!(self, Lease::InTransaction(_))
    }

    /// Closes a pooled connection instead of returning it to the pool
    /// (it failed); a transaction's connection is left to its exit hook.
    pub fn discard(self) {
        match self {
            Lease::Postgres(mut conn) => conn.discard(),
            Lease::Sqlite(conn) => drop(conn.detach()),
            Lease::InTransaction(_) => {}
        }
    }

    /// The connection to run the statement on.
    pub fn conn(&mut self) -> Conn<'_> {
        match self {
            Lease::Postgres(conn) => Conn::Postgres(conn),
            Lease::Sqlite(conn) => Conn::Sqlite(conn),
            Lease::InTransaction(tx) => match &mut **tx {
                Tx::Postgres(tx) => Conn::Postgres(tx),
                Tx::Sqlite(tx, _) => Conn::Sqlite(tx),
            },
        }
    }
}

/// The connection a statement of `process` runs on: the process's
/// transaction on this pool (begun now if needed), or, for a read that
/// comes before any write, a pooled connection.
pub async fn lease(
    process: &Arc<Process>,
    shared: &Arc<Shared>,
    settings: &Settings,
    reads_only: bool,
) -> Result<Lease, Failure> {
    let root = root(process);
    let transactions = root.state::<Transactions>();
    let dialect = shared.url.dialect();
    if reads_only && may_run_alone(settings, dialect) && find(&transactions, shared.id).is_none() {
        return match &shared.pool {
            Pool::Postgres(pool) => pool
                .get()
                .await
                .map(|client| Lease::Postgres(postgres::Session::new(client)))
                .map_err(Failure::Pool),
            Pool::Sqlite(file) => file
                .connections
                .acquire()
                .await
                .map(Lease::Sqlite)
                .map_err(Failure::Sqlite),
        };
    }
    let slot = slot(root, &transactions, shared);
    let mut open = slot.lock_owned().await;
    if open.ended {
        return Err(Failure::Refused {
            code: "process_ended",
            message: "the process has already ended: its transaction is closed".to_string(),
        });
    }
    let (open_isolation, open_timeout) = (open.isolation, open.timeout);
    match &mut open.tx {
        None => {
            open.tx = Some(begin(&shared.pool, settings).await?);
            open.isolation = settings.isolation;
            open.timeout = settings.timeout;
        }
        Some(tx) => {
            if settings.isolation.is_some() && settings.isolation != open_isolation {
                return Err(Failure::Refused {
                    code: "isolation",
                    message: format!(
                        "the process's transaction is already open at {}; this node asks for {}: give the first sql node of the process the same `isolation`",
                        level(open_isolation),
                        level(settings.isolation)
                    ),
                });
            }
            if let Tx::Postgres(tx) = tx
                && settings.timeout != open_timeout
            {
                tx.defer(&postgres::set_timeout(settings.timeout));
                open.timeout = settings.timeout;
            }
        }
    }
    let tx = tokio::sync::OwnedMutexGuard::try_map(open, |open| open.tx.as_mut())
        .map_err(|_| Failure::Internal("the transaction was not begun".to_string()))?;
    Ok(Lease::InTransaction(tx))
}

fn level(isolation: Option<Isolation>) -> String {
    isolation.map_or("the database's default level".to_string(), |i| {
        i.sql().to_ascii_lowercase()
    })
}

/// Whether a read may run outside the process's transaction: it would see
/// the same rows inside one (see the module documentation).
fn may_run_alone(settings: &Settings, dialect: Dialect) -> bool {
    matches!(settings.isolation, None | Some(Isolation::ReadCommitted))
        && (dialect == Dialect::Sqlite || settings.timeout == DEFAULT_TIMEOUT)
}

fn root(process: &Arc<Process>) -> &Arc<Process> {
    let mut root = process;
    while let Some(parent) = root.parent() {
        root = parent;
    }
    root
}

fn find(transactions: &Transactions, pool: u64) -> Option<Slot> {
    let by_pool = transactions
        .by_pool
        .lock()
        .unwrap_or_else(|p| p.into_inner());
    by_pool
        .iter()
        .find(|(id, _)| *id == pool)
        .map(|(_, slot)| slot.clone())
}

/// The process's slot for `shared`'s pool, made (with its exit hook) on
/// first use.
fn slot(process: &Arc<Process>, transactions: &Transactions, shared: &Arc<Shared>) -> Slot {
    let slot = {
        // Only pushed to: consistent even after a panic.
        let mut by_pool = transactions
            .by_pool
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        if let Some((_, slot)) = by_pool.iter().find(|(id, _)| *id == shared.id) {
            return slot.clone();
        }
        let slot: Slot = Arc::new(tokio::sync::Mutex::new(Open {
            tx: None,
            isolation: None,
            timeout: DEFAULT_TIMEOUT,
            ended: false,
        }));
        by_pool.push((shared.id, slot.clone()));
        slot
    };
    let (hook_slot, shared) = (slot.clone(), shared.clone());
    process.on_exit(move |outcome| finish(hook_slot, shared, outcome));
    slot
}

/// Runs one statement in a transaction of its own ([`Scope::Statement`]):
/// committed when `run` succeeds, rolled back when it fails. A commit the
/// database refuses is the statement's failure.
///
/// On SQLite a `single` statement runs on a pooled connection in
/// autocommit mode, which is the same thing at a third of the round trips
/// to the connection's thread: SQLite makes every statement outside a
/// transaction atomic, and takes its write lock when the statement starts
/// (no read lock held before it to upgrade, so no `SQLITE_BUSY` on the
/// way). Text holding several statements gets `BEGIN IMMEDIATE` and
/// `COMMIT` around it, as on PostgreSQL.
pub async fn alone<T>(
    shared: &Shared,
    settings: &Settings,
    single: bool,
    run: impl AsyncFnOnce(Conn<'_>) -> Result<T, Failure>,
) -> Result<T, Failure> {
    if let (Pool::Sqlite(file), true) = (&shared.pool, single) {
        let _turn = turn(file).await?;
        let mut conn = file.connections.acquire().await.map_err(Failure::Sqlite)?;
        return run(Conn::Sqlite(&mut conn)).await;
    }
    let mut tx = begin(&shared.pool, settings).await?;
    let result = match &mut tx {
        Tx::Postgres(session) => run(Conn::Postgres(session)).await,
        Tx::Sqlite(tx, _) => run(Conn::Sqlite(tx)).await,
    };
    let ended = end(tx, result.is_ok()).await;
    match (result, ended) {
        (Ok(value), Ok(())) => Ok(value),
        (Ok(_), Err(failure)) | (Err(failure), _) => Err(failure),
    }
}

/// Commits `tx`, or rolls it back.
async fn end(tx: Tx, commit: bool) -> Result<(), Failure> {
    match tx {
        Tx::Postgres(mut session) => session.finish(commit).await,
        Tx::Sqlite(tx, _turn) => match commit {
            true => tx.commit().await,
            false => tx.rollback().await,
        }
        .map_err(Failure::Sqlite),
    }
}

/// Begins a transaction. On PostgreSQL the `BEGIN` is only owed: it goes
/// out with the transaction's first statement (see `postgres::Session`).
async fn begin(pool: &Pool, settings: &Settings) -> Result<Tx, Failure> {
    match pool {
        Pool::Postgres(pool) => {
            let mut session = postgres::Session::new(pool.get().await.map_err(Failure::Pool)?);
            let timeout = (settings.timeout != DEFAULT_TIMEOUT).then_some(settings.timeout);
            session.begin(postgres::begin_statement(
                settings.isolation.map(Isolation::sql),
                timeout,
            ));
            Ok(Tx::Postgres(session))
        }
        Pool::Sqlite(file) => {
            let (tx, turn) = begin_sqlite(file).await?;
            Ok(Tx::Sqlite(tx, turn))
        }
    }
}

/// Begins a transaction on `file` in the writers' turn. IMMEDIATE takes
/// the write lock at once: the transaction begins at a write (or for a
/// stable snapshot), and a deferred one would fail with SQLITE_BUSY when
/// it upgrades from reading to writing.
pub(super) async fn begin_sqlite(
    file: &SqliteFile,
) -> Result<(sqlx::Transaction<'static, Sqlite>, Turn), Failure> {
    let turn = turn(file).await?;
    let tx = file
        .connections
        .begin_with("BEGIN IMMEDIATE")
        .await
        .map_err(Failure::Sqlite)?;
    Ok((tx, turn))
}

/// The writers' turn on `file`; not coming within the busy timeout is
/// what SQLite's own lock would answer then.
async fn turn(file: &SqliteFile) -> Result<Turn, Failure> {
    file.turn().await.ok_or_else(|| Failure::Refused {
        code: "55P03",
        message: "the database is unavailable: another writer held it past the busy timeout (SQLSTATE 55P03)".to_string(),
    })
}

/// The exit hook: commit on success, roll back on failure. A commit the
/// database refuses (a serialization failure, a deferred constraint) fails
/// the hook, and the process answers that error instead of its success. A
/// failed rollback is only logged: the process has failed already, and a
/// connection whose transaction is in doubt is closed, which rolls it back.
/// Neither message holds the URL.
async fn finish(slot: Slot, shared: Arc<Shared>, outcome: Outcome) -> Result<(), ErrorValue> {
    let mut open = slot.lock().await;
    open.ended = true;
    let Some(tx) = open.tx.take() else {
        return Ok(());
    };
    let commit = outcome == Outcome::Ok;
    let Err(failure) = end(tx, commit).await else {
        return Ok(());
    };
    let action = if commit { "commit" } else { "roll back" };
    let error = failure.into_error(
        &format!("cannot {action} the process's transaction"),
        &shared.url,
    );
    tracing::warn!(code = error.code.as_deref().unwrap_or(""), error = %error.message, "transaction not ended as asked");
    match commit {
        true => Err(error),
        false => Ok(()),
    }
}
