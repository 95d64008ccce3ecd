//! Running one statement on an SQLite connection, within a deadline.
//!
//! SQLite types values, not columns: a value reads as what it holds
//! (integer, real, text, blob, null), except that a column declared
//! `BOOLEAN` reads as a boolean. Values bind as themselves; booleans as 1
//! and 0, lists and maps as their JSON text. The deadline is a progress
//! handler that interrupts the statement once it has passed (SQLite's own
//! way to stop a running statement), answered as a statement timeout.
//! Transactions are not this module's business (see `transaction.rs`).

use std::sync::Arc;
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
    let deadline = Instant::now() + timeout;
    conn.lock_handle()
        .await
        .map_err(Failure::Sqlite)?
        .set_progress_handler(STEPS_PER_CHECK, move || Instant::now() < deadline);
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
    clear_deadline(conn).await?;
    let (rows, affected) = result.map_err(Failure::Sqlite)?;
    Ok(Output {
        rows: read_rows(&rows)?,
        affected,
    })
}

/// Removes a statement's deadline, so that it cannot interrupt what runs
/// next on the connection (a commit, say). Also needed after a statement
/// whose future was dropped half-way.
pub async fn clear_deadline(conn: &mut SqliteConnection) -> Result<(), Failure> {
    conn.lock_handle()
        .await
        .map_err(Failure::Sqlite)?
        .remove_progress_handler();
    Ok(())
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
