//! Running one statement on an SQLite connection, within a deadline.
//!
//! SQLite types values, not columns: a value reads as what it holds
//! (integer, real, text, blob, null), except that a column declared
//! `BOOLEAN` reads as a boolean. Values bind as themselves; booleans as 1
//! and 0, lists and maps as their JSON text. The deadline is a progress
//! handler that interrupts the statement once it has passed (SQLite's own
//! way to stop a running statement), answered as a statement timeout.
//! Transactions are not this module's business (see `transaction.rs`).
//!
//! Every call into a connection is a round trip to its sqlx worker thread,
//! and those round trips are most of what a short statement costs. So a
//! statement's deadline is set with one (the handler is replaced, never
//! removed) and disarmed without any: the handler holds a flag that the
//! statement's guard clears when it ends. A statement dropped half-way
//! leaves its handler armed, so the work it left running on the worker
//! still stops at its deadline; the next statement on the connection
//! replaces it, and a `BEGIN`, `COMMIT` or `ROLLBACK` takes far fewer VM
//! steps than one check's worth, so an old deadline never interrupts one.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use sqlx::sqlite::{SqliteArguments, SqliteConnection, SqliteRow, SqliteValueRef};
use sqlx::{Arguments, Column, Decode, Executor, Row, Sqlite, TypeInfo, ValueRef};
use weir_codecs::{Map, Value};

use super::run::{Bound, Failure, Fetch, Output};

/// How many SQLite VM steps pass between deadline checks: a check costs a
/// clock read, and a thousand steps take microseconds.
const STEPS_PER_CHECK: i32 = 1000;

/// Runs `sql` with `values`, interrupting it after `timeout`.
pub async fn run(
    conn: &mut SqliteConnection,
    sql: &str,
    values: &[Bound],
    fetch: Fetch,
    timeout: Duration,
) -> Result<Output, Failure> {
    let mut arguments = SqliteArguments::default();
    for bound in values {
        add(&mut arguments, &bound.value).map_err(|message| Failure::Param {
            label: bound.label.clone(),
            message,
        })?;
    }
    let armed = arm(conn, timeout).await?;
    let query = sqlx::query_with(sql, arguments);
    let result = match fetch {
        Fetch::Count => conn
            .execute(query)
            .await
            .map(|done| (Vec::new(), done.rows_affected())),
        Fetch::Rows => conn.fetch_all(query).await.map(|rows| {
            let affected = rows.len() as u64;
            (rows, affected)
        }),
    };
    armed.disarm();
    let (rows, affected) = result.map_err(Failure::Sqlite)?;
    Ok(Output {
        rows: read_rows(&rows)?,
        affected,
    })
}

/// A statement's deadline, armed on its connection until the statement
/// ends (see the module documentation).
struct Armed {
    running: Arc<AtomicBool>,
}

impl Armed {
    /// The statement ended: its deadline no longer applies. (Not called
    /// when the statement's future is dropped half-way: the work it left on
    /// the worker keeps its deadline.)
    fn disarm(self) {
        self.running.store(false, Ordering::Relaxed);
    }
}

/// Arms a deadline `timeout` from now on `conn`: what runs next on it is
/// interrupted once the deadline passes, until the guard is disarmed.
async fn arm(conn: &mut SqliteConnection, timeout: Duration) -> Result<Armed, Failure> {
    let deadline = Instant::now() + timeout;
    let running = Arc::new(AtomicBool::new(true));
    let flag = running.clone();
    conn.lock_handle()
        .await
        .map_err(Failure::Sqlite)?
        .set_progress_handler(STEPS_PER_CHECK, move || {
            !flag.load(Ordering::Relaxed) || Instant::now() < deadline
        });
    Ok(Armed { running })
}

fn add(arguments: &mut SqliteArguments<'static>, value: &Value) -> Result<(), String> {
    let added = match value {
        Value::Null => arguments.add(Option::<i64>::None),
        Value::Bool(b) => arguments.add(i64::from(*b)),
        Value::Int(i) => arguments.add(*i),
        Value::Float(f) => arguments.add(*f),
        Value::String(s) => arguments.add(s.to_string()),
        Value::Bytes(b) => arguments.add(b.to_vec()),
        Value::List(_) | Value::Map(_) => arguments.add(weir_codecs::json::to_string(value)),
        Value::Error(_) => return Err("is an error, not a value to bind".to_string()),
    };
    added.map_err(|e| e.to_string())
}

fn read_rows(rows: &[SqliteRow]) -> Result<Vec<Value>, Failure> {
    let Some(first) = rows.first() else {
        return Ok(Vec::new());
    };
    let columns: Vec<(Arc<str>, bool)> = first
        .columns()
        .iter()
        .map(|c| (Arc::from(c.name()), c.type_info().name() == "BOOLEAN"))
        .collect();
    rows.iter()
        .map(|row| {
            let mut map = Map::with_capacity(columns.len());
            for (i, (name, boolean)) in columns.iter().enumerate() {
                let raw = row.try_get_raw(i).map_err(Failure::Sqlite)?;
                let value = read(raw, *boolean).map_err(|message| Failure::Column {
                    column: name.to_string(),
                    message,
                })?;
                map.insert(name.clone(), value);
            }
            Ok(Value::from(map))
        })
        .collect()
}

fn read(raw: SqliteValueRef<'_>, boolean: bool) -> Result<Value, String> {
    if raw.is_null() {
        return Ok(Value::Null);
    }
    let kind = raw.type_info().name().to_string();
    let value = match kind.as_str() {
        "INTEGER" => {
            let i = <i64 as Decode<Sqlite>>::decode(raw).map_err(|e| e.to_string())?;
            match boolean {
                true => Value::Bool(i != 0),
                false => Value::Int(i),
            }
        }
        "REAL" => Value::Float(<f64 as Decode<Sqlite>>::decode(raw).map_err(|e| e.to_string())?),
        "BLOB" => Value::Bytes(bytes::Bytes::copy_from_slice(
            <&[u8] as Decode<Sqlite>>::decode(raw).map_err(|e| e.to_string())?,
        )),
        _ => Value::string(<&str as Decode<Sqlite>>::decode(raw).map_err(|e| e.to_string())?),
    };
    Ok(value)
}

/// Runs `ddl` (one or more statements, no parameters) on `conn`, for a
/// node's `on_load`.
pub async fn run_ddl(conn: &mut SqliteConnection, ddl: &str) -> Result<(), Failure> {
    conn.execute(sqlx::raw_sql(ddl))
        .await
        .map_err(Failure::Sqlite)?;
    Ok(())
}
