//! Running one statement on a PostgreSQL connection: parameters bound in
//! the types PostgreSQL infers for them, rows read back faithfully.
//!
//! The statement is prepared with no parameter types, so PostgreSQL infers
//! each from where it appears; `sqlx` caches the prepared statement per
//! connection, so only the first run on a connection costs a round trip
//! more. Each value is then encoded as exactly that type ([`encode`]) and
//! each column decoded from its binary form ([`decode`]). Transactions are
//! not this module's business (see `transaction.rs`).

mod decode;
mod encode;
mod numeric;
mod oid;

use std::sync::Arc;
use std::time::Duration;

use sqlx::error::BoxDynError;
use sqlx::postgres::{PgArgumentBuffer, PgArguments, PgConnection, PgRow, PgTypeInfo, Postgres};
use sqlx::{Arguments, Column, Either, Encode, Executor, Row, Type, ValueRef};
use weir_codecs::{Map, Value};

use super::run::{Bound, Failure, Fetch, Output};

/// Runs `sql` with `values` and reads what it answers.
pub async fn run(
    conn: &mut PgConnection,
    sql: &str,
    values: &[Bound],
    fetch: Fetch,
) -> Result<Output, Failure> {
    // Prepared (and cached) with no parameter types: PostgreSQL infers
    // them. The statement borrows only `sql`, not the connection.
    let statement = conn.prepare_with(sql, &[]).await.map_err(Failure::Sqlx)?;
    let types = match sqlx::Statement::parameters(&statement) {
        Some(Either::Left(types)) => types,
        Some(Either::Right(0)) | None => &[],
        Some(Either::Right(n)) => {
            return Err(Failure::Internal(format!(
                "PostgreSQL did not type the statement's {n} parameters"
            )));
        }
    };
    if types.len() != values.len() {
        return Err(Failure::Internal(format!(
            "PostgreSQL counts {} parameters, the node binds {}",
            types.len(),
            values.len()
        )));
    }
    let mut arguments = PgArguments::default();
    for (bound, ty) in values.iter().zip(types) {
        let bytes = encode::encode(&bound.value, ty).map_err(|e| Failure::Param {
            label: bound.label.clone(),
            message: e,
        })?;
        arguments
            .add(Param {
                ty: ty.clone(),
                bytes,
            })
            .map_err(|e| Failure::Param {
                label: bound.label.clone(),
                message: e.to_string(),
            })?;
    }
    drop(statement);
    let query = sqlx::query_with(sql, arguments);
    match fetch {
        Fetch::Count => {
            let done = conn.execute(query).await.map_err(Failure::Sqlx)?;
            Ok(Output {
                rows: Vec::new(),
                affected: done.rows_affected(),
            })
        }
        Fetch::Rows => {
            let rows = conn.fetch_all(query).await.map_err(Failure::Sqlx)?;
            let affected = rows.len() as u64;
            Ok(Output {
                rows: read_rows(&rows)?,
                affected,
            })
        }
    }
}

fn read_rows(rows: &[PgRow]) -> Result<Vec<Value>, Failure> {
    let Some(first) = rows.first() else {
        return Ok(Vec::new());
    };
    let columns: Vec<(Arc<str>, PgTypeInfo)> = first
        .columns()
        .iter()
        .map(|c| (Arc::from(c.name()), c.type_info().clone()))
        .collect();
    rows.iter()
        .map(|row| {
            let mut map = Map::with_capacity(columns.len());
            for (i, (name, ty)) in columns.iter().enumerate() {
                let raw = row.try_get_raw(i).map_err(Failure::Sqlx)?;
                let value = match raw.is_null() {
                    true => Value::Null,
                    false => raw
                        .as_bytes()
                        .map_err(|e| e.to_string())
                        .and_then(|bytes| decode::decode(bytes, ty))
                        .map_err(|message| Failure::Column {
                            column: name.to_string(),
                            message,
                        })?,
                };
                map.insert(name.clone(), value);
            }
            Ok(Value::from(map))
        })
        .collect()
}

/// The statement that begins a transaction: the isolation level, and the
/// statement timeout when it is not the session's, in one round trip.
pub fn begin_statement(isolation: Option<&str>, timeout: Option<Duration>) -> String {
    let mut sql = String::from("BEGIN");
    if let Some(level) = isolation {
        sql.push_str(" ISOLATION LEVEL ");
        sql.push_str(level);
    }
    if let Some(timeout) = timeout {
        sql.push_str("; ");
        sql.push_str(&set_timeout(timeout));
    }
    sql
}

/// Sets the statement timeout for the rest of the transaction.
pub fn set_timeout(timeout: Duration) -> String {
    format!("SET LOCAL statement_timeout = {}", timeout.as_millis())
}

/// One parameter, already in the binary form of the type PostgreSQL gave
/// it (`None` is NULL).
struct Param {
    ty: PgTypeInfo,
    bytes: Option<Vec<u8>>,
}

impl Type<Postgres> for Param {
    /// Never used for binding: [`Encode::produces`] names the real type.
    fn type_info() -> PgTypeInfo {
        PgTypeInfo::with_name("unknown")
    }
}

impl Encode<'_, Postgres> for Param {
    fn encode_by_ref(
        &self,
        buf: &mut PgArgumentBuffer,
    ) -> Result<sqlx::encode::IsNull, BoxDynError> {
        match &self.bytes {
            None => Ok(sqlx::encode::IsNull::Yes),
            Some(bytes) => {
                buf.extend_from_slice(bytes);
                Ok(sqlx::encode::IsNull::No)
            }
        }
    }

    fn produces(&self) -> Option<PgTypeInfo> {
        Some(self.ty.clone())
    }

    fn size_hint(&self) -> usize {
        self.bytes.as_ref().map_or(0, Vec::len)
    }
}

/// Runs `ddl` (one or more statements, no parameters) in the open
/// transaction `conn`, for a node's `on_load`. Loads of the same DDL by
/// several engines at once are serialised by an advisory lock: `CREATE
/// TABLE IF NOT EXISTS` is not safe against itself running concurrently.
pub async fn run_ddl(conn: &mut PgConnection, ddl: &str) -> Result<(), Failure> {
    conn.execute("SELECT pg_advisory_xact_lock(hashtext('weir.sql.on_load'))")
        .await
        .map_err(Failure::Sqlx)?;
    conn.execute(sqlx::raw_sql(ddl))
        .await
        .map_err(Failure::Sqlx)?;
    Ok(())
}
