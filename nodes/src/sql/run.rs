//! Running one statement on a connection of either backend, and what a
//! run produces or how it fails, before a node shapes it into its answer.
//!
//! Which connection (pooled, or the process's transaction) is decided in
//! `transaction.rs`; the backends' own work is in `postgres/` and
//! `sqlite.rs`.

use std::sync::Arc;
use std::time::Duration;

use sqlx::sqlite::SqliteConnection;
use weir_codecs::{ErrorValue, Value};

use super::pool::Url;
use super::{error, postgres, sqlite};

/// One parameter value with the label messages use (`:name` or `$2`).
#[derive(Clone, Debug)]
pub struct Bound {
    /// `:name` or `$n`.
    pub label: String,
    /// The value.
    pub value: Value,
}

/// What a run reads back.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fetch {
    /// The rows the statement returns.
    Rows,
    /// Only how many rows it changed.
    Count,
}

/// What a statement produced.
pub struct Output {
    /// Each row as a map of column → value, in column order.
    pub rows: Vec<Value>,
    /// Rows changed (or returned).
    pub affected: u64,
}

/// Why a run failed, before it is told to the workflow.
pub enum Failure {
    /// The SQLite driver (sqlx) or database.
    Sqlite(sqlx::Error),
    /// The PostgreSQL driver or database.
    Postgres(tokio_postgres::Error),
    /// No PostgreSQL connection to be had.
    Pool(deadpool_postgres::PoolError),
    /// A value that does not bind to its parameter.
    Param { label: String, message: String },
    /// A column that does not read.
    Column { column: String, message: String },
    /// The process's transaction cannot take this statement.
    Refused { code: &'static str, message: String },
    /// Something that should not happen; a bug to report.
    Internal(String),
}

impl Failure {
    /// Whether the connection was lost under the statement (it closed, or
    /// the server ended the session), as opposed to the statement failing.
    pub fn connection_lost(&self) -> bool {
        match self {
            Failure::Postgres(e) => error::connection_lost(e),
            Failure::Sqlite(sqlx::Error::Io(_)) => true,
            _ => false,
        }
    }

    /// The error packet, its message after `context` (which node, at what
    /// stage); the URL never appears in it.
    pub fn into_error(self, context: &str, url: &Url) -> ErrorValue {
        let (mut error, what) = match self {
            Failure::Sqlite(e) => driver(error::from_sqlx(&e, url)),
            Failure::Postgres(e) => driver(error::from_postgres(&e, url)),
            Failure::Pool(e) => driver(error::from_pool(&e, url)),
            Failure::Param { label, message } => (
                ErrorValue::new("").with_code("sql_param").with_status(400),
                format!("parameter `{label}`: {message}"),
            ),
            Failure::Column { column, message } => (
                ErrorValue::new("").with_code("sql_column"),
                format!("column `{column}` {message}"),
            ),
            Failure::Refused { code, message } => (
                ErrorValue::new("")
                    .with_code(code)
                    .with_status(error::status(code)),
                message,
            ),
            Failure::Internal(message) => (ErrorValue::new("").with_code("sql_internal"), message),
        };
        error.message = format!("{context}: {}", error::scrub(&what, url));
        error
    }
}

/// A driver's error and its message, which the context goes before.
fn driver(error: ErrorValue) -> (ErrorValue, String) {
    let message = error.message.clone();
    (error, message)
}

/// `rows` with the text of each of `columns` read as the JSON it holds.
pub fn read_json(rows: Vec<Value>, columns: &[Arc<str>]) -> Result<Vec<Value>, Failure> {
    if columns.is_empty() {
        return Ok(rows);
    }
    rows.into_iter()
        .map(|row| {
            let Value::Map(map) = row else {
                return Ok(row);
            };
            let mut map = Arc::unwrap_or_clone(map);
            for column in columns {
                if let Some(Value::String(text)) = map.get(column) {
                    let value = weir_codecs::json::from_str(text).map_err(|e| Failure::Column {
                        column: column.to_string(),
                        message: format!("is not JSON: {e}"),
                    })?;
                    map.insert(column.clone(), value);
                }
            }
            Ok(Value::from(map))
        })
        .collect()
}

/// A connection of either backend, borrowed for one statement.
pub enum Conn<'a> {
    /// PostgreSQL.
    Postgres(&'a mut postgres::Session),
    /// SQLite.
    Sqlite(&'a mut SqliteConnection),
}

/// Runs `sql` (already in the connection's dialect) with `values`.
pub async fn run(
    conn: Conn<'_>,
    sql: &str,
    values: &[Bound],
    fetch: Fetch,
    timeout: Duration,
) -> Result<Output, Failure> {
    match conn {
        // PostgreSQL enforces the timeout itself (`statement_timeout`).
        Conn::Postgres(conn) => postgres::run(conn, sql, values, fetch).await,
        Conn::Sqlite(conn) => sqlite::run(conn, sql, values, fetch, timeout).await,
    }
}
