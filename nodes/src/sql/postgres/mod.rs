//! Running one statement on a PostgreSQL connection: parameters bound in
//! the types PostgreSQL infers for them, rows read back faithfully.
//!
//! The statement is prepared with no parameter types, so PostgreSQL infers
//! each from where it appears; the prepared statement is cached per
//! connection, so only the first run on a connection costs a round trip
//! more. Each value is then encoded as exactly that type ([`encode`]) and
//! each column decoded from its binary form ([`decode`]). The connection
//! and its transaction are [`Session`]'s business.

mod decode;
mod encode;
mod numeric;
mod oid;
mod session;

use std::sync::Arc;
use std::time::Duration;

use bytes::BytesMut;
use tokio_postgres::types::{FromSql, IsNull, ToSql, Type, to_sql_checked};
use weir_codecs::{Map, Value};

use session::Answer;
pub use session::Session;

use super::run::{Bound, Failure, Fetch, Output};

/// Runs `sql` with `values` and reads what it answers.
pub async fn run(
    session: &mut Session,
    sql: &str,
    values: &[Bound],
    fetch: Fetch,
) -> Result<Output, Failure> {
    let statement = session.prepare(sql).await?;
    let types = statement.params();
    if types.len() != values.len() {
        return Err(Failure::Internal(format!(
            "PostgreSQL counts {} parameters, the node binds {}",
            types.len(),
            values.len()
        )));
    }
    let params = values
        .iter()
        .zip(types)
        .map(|(bound, ty)| {
            encode::encode(&bound.value, ty)
                .map(Param)
                .map_err(|message| Failure::Param {
                    label: bound.label.clone(),
                    message,
                })
        })
        .collect::<Result<Vec<Param>, Failure>>()?;
    let refs: Vec<&(dyn ToSql + Sync)> = params.iter().map(|p| p as _).collect();
    match session.run(&statement, &refs, fetch == Fetch::Rows).await? {
        Answer::Count(affected) => Ok(Output {
            rows: Vec::new(),
            affected,
        }),
        Answer::Rows(rows) => Ok(Output {
            affected: rows.len() as u64,
            rows: read_rows(&rows)?,
        }),
    }
}

fn read_rows(rows: &[tokio_postgres::Row]) -> Result<Vec<Value>, Failure> {
    let Some(first) = rows.first() else {
        return Ok(Vec::new());
    };
    let columns: Vec<(Arc<str>, &Type)> = first
        .columns()
        .iter()
        .map(|c| (Arc::from(c.name()), c.type_()))
        .collect();
    rows.iter()
        .map(|row| {
            let mut map = Map::with_capacity(columns.len());
            for (i, (name, ty)) in columns.iter().enumerate() {
                let column = |message| Failure::Column {
                    column: name.to_string(),
                    message,
                };
                let value = match row.try_get::<_, Option<Raw>>(i) {
                    Err(e) => return Err(column(e.to_string())),
                    Ok(None) => Value::Null,
                    Ok(Some(Raw(bytes))) => decode::decode(bytes, ty).map_err(column)?,
                };
                map.insert(name.clone(), value);
            }
            Ok(Value::from(map))
        })
        .collect()
}

/// The statements that begin a transaction: the isolation level, and the
/// statement timeout when it is not the session's.
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
#[derive(Debug)]
struct Param(Option<Vec<u8>>);

impl ToSql for Param {
    fn to_sql(
        &self,
        _: &Type,
        out: &mut BytesMut,
    ) -> Result<IsNull, Box<dyn std::error::Error + Sync + Send>> {
        match &self.0 {
            None => Ok(IsNull::Yes),
            Some(bytes) => {
                out.extend_from_slice(bytes);
                Ok(IsNull::No)
            }
        }
    }

    /// Encoded for the very type the statement asked for.
    fn accepts(_: &Type) -> bool {
        true
    }

    to_sql_checked!();
}

/// A column's value in binary form, whatever its type: [`decode`] reads it.
struct Raw<'a>(&'a [u8]);

impl<'a> FromSql<'a> for Raw<'a> {
    fn from_sql(
        _: &Type,
        raw: &'a [u8],
    ) -> Result<Raw<'a>, Box<dyn std::error::Error + Sync + Send>> {
        Ok(Raw(raw))
    }

    fn accepts(_: &Type) -> bool {
        true
    }
}

/// Runs `ddl` (one or more statements, no parameters) for a node's
/// `on_load`, in one transaction that begins with `begin`. Loads of the
/// same DDL by several engines at once are serialised by an advisory lock:
/// `CREATE TABLE IF NOT EXISTS` is not safe against itself running
/// concurrently.
pub async fn run_ddl(session: &mut Session, begin: String, ddl: &str) -> Result<(), Failure> {
    session.begin(begin);
    session.defer("SELECT pg_advisory_xact_lock(hashtext('weir.sql.on_load'))");
    let ran = session.batch(ddl).await;
    let commit = ran.is_ok();
    let ended = session.finish(commit).await;
    ran.and(ended)
}
