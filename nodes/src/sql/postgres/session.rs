//! A pooled PostgreSQL connection as a `sql` node uses it: the statements
//! still owed to the server (`BEGIN`, `SET LOCAL …`), and whether a
//! transaction is open on it.
//!
//! Owed statements are not sent on their own: they go out in the same
//! write as the next statement, and the server answers both in one go
//! (the driver, `tokio-postgres`, pipelines requests polled together). A
//! process that writes therefore pays two round trips (its statement with
//! the `BEGIN` ahead of it, then `COMMIT`) where a driver that waits for
//! each answer pays three.
//!
//! Pipelining `BEGIN` is safe because the server runs requests in order on
//! one connection: the statement runs after the `BEGIN`, inside the
//! transaction it opened. `BEGIN` itself fails only when the connection
//! does, and then so does the statement behind it; should it ever fail
//! alone, the run reports the failure and the connection is discarded.
//!
//! A statement that fails inside a transaction aborts it: PostgreSQL then
//! refuses every later statement, and answers `COMMIT` by rolling back,
//! without an error. A process that recovered from the failure and ended
//! well would be told its writes were kept; so a session remembers the
//! failure, and its commit fails instead (SQLSTATE 25P02).
//!
//! A session dropped with a transaction open (its process vanished without
//! an exit) is not returned to the pool: its connection is closed, and the
//! server rolls the transaction back. This module reads no rows and binds
//! no values: see `mod.rs`.

use deadpool_postgres::Object;
use futures_util::future;
use tokio_postgres::Statement;
use tokio_postgres::types::ToSql;

use crate::sql::run::Failure;

/// Prepared statements a connection keeps. Specs edited live leave their
/// old statements behind; past this many the cache starts over, as a
/// statement not run for a while costs one round trip to prepare again.
const CACHED_STATEMENTS: usize = 256;

/// One connection and its transaction state; see the module documentation.
pub struct Session {
    /// `None` only once dropped or discarded.
    client: Option<Object>,
    /// Simple statements (`;`-separated) to send ahead of the next one.
    owed: String,
    /// `owed` begins a transaction.
    owes_begin: bool,
    /// A `BEGIN` has reached the server, and no `COMMIT` or `ROLLBACK`.
    open: bool,
    /// A statement failed in the open transaction: it can only roll back.
    aborted: bool,
}

/// What a statement answered: its rows, or only how many it changed.
pub enum Answer {
    /// The rows, in binary form.
    Rows(Vec<tokio_postgres::Row>),
    /// Rows changed.
    Count(u64),
}

impl Session {
    /// A session on a connection from the pool, outside any transaction.
    pub fn new(client: Object) -> Session {
        Session {
            client: Some(client),
            owed: String::new(),
            owes_begin: false,
            open: false,
            aborted: false,
        }
    }

    /// Begins a transaction with `begin` (`BEGIN …`), sent with the next
    /// statement.
    pub fn begin(&mut self, begin: String) {
        self.owed = begin;
        self.owes_begin = true;
    }

    /// Sends `statement` (a `SET LOCAL`, say) with the next statement.
    pub fn defer(&mut self, statement: &str) {
        if !self.owed.is_empty() {
            self.owed.push_str("; ");
        }
        self.owed.push_str(statement);
    }

    /// `sql` prepared on this connection: a round trip the first time, then
    /// from the connection's cache.
    pub async fn prepare(&self, sql: &str) -> Result<Statement, Failure> {
        let client = self.client()?;
        if client.statement_cache.size() >= CACHED_STATEMENTS {
            client.statement_cache.clear();
        }
        client.prepare_cached(sql).await.map_err(Failure::Postgres)
    }

    /// Runs `statement` with `params`, the owed statements ahead of it in
    /// the same write.
    pub async fn run(
        &mut self,
        statement: &Statement,
        params: &[&(dyn ToSql + Sync)],
        rows: bool,
    ) -> Result<Answer, Failure> {
        let owed = self.take_owed();
        let client = self.client()?;
        let run = async {
            match rows {
                true => client.query(statement, params).await.map(Answer::Rows),
                false => client.execute(statement, params).await.map(Answer::Count),
            }
        };
        let answer = match owed.is_empty() {
            true => run.await,
            // `join` polls the owed statements first, so they are sent first.
            false => match future::join(client.batch_execute(&owed), run).await {
                (Ok(()), answer) => answer,
                (Err(error), _) => {
                    self.discard();
                    return Err(Failure::Postgres(error));
                }
            },
        };
        self.aborted |= self.open && answer.is_err();
        answer.map_err(Failure::Postgres)
    }

    /// Runs `sql`, one or more statements without parameters, the owed
    /// statements ahead of it.
    pub async fn batch(&mut self, sql: &str) -> Result<(), Failure> {
        let owed = self.take_owed();
        let text = match owed.is_empty() {
            true => sql.to_string(),
            false => format!("{owed}; {sql}"),
        };
        let ran = self.client()?.batch_execute(&text).await;
        self.aborted |= self.open && ran.is_err();
        ran.map_err(Failure::Postgres)
    }

    /// Ends the transaction: `COMMIT` or `ROLLBACK`. Nothing is sent when
    /// the transaction never reached the server; a commit of an aborted
    /// one rolls back and fails.
    pub async fn finish(&mut self, commit: bool) -> Result<(), Failure> {
        self.owed.clear();
        self.owes_begin = false;
        if !std::mem::take(&mut self.open) {
            return Ok(());
        }
        let aborted = std::mem::take(&mut self.aborted);
        let end = if commit && !aborted {
            "COMMIT"
        } else {
            "ROLLBACK"
        };
        let result = self
            .client()?
            .batch_execute(end)
            .await
            .map_err(Failure::Postgres);
        if result.is_err() {
            // The transaction's state is unknown: do not lend it out again.
            self.discard();
        }
        match commit && aborted {
            true => result.and(Err(Failure::Refused {
                code: "25P02",
                message: "a statement failed inside it, so PostgreSQL rolled it back: nothing the process wrote was kept".to_string(),
            })),
            false => result,
        }
    }

    /// The owed statements, about to be sent: from here on a transaction
    /// they begin counts as open (a run cancelled half-way still ends it).
    fn take_owed(&mut self) -> String {
        self.open |= std::mem::take(&mut self.owes_begin);
        std::mem::take(&mut self.owed)
    }

    fn client(&self) -> Result<&Object, Failure> {
        self.client.as_ref().ok_or_else(|| {
            Failure::Internal("the connection was discarded after a failure".to_string())
        })
    }

    /// Closes the connection instead of returning it to the pool.
    pub fn discard(&mut self) {
        if let Some(client) = self.client.take() {
            drop(Object::take(client));
        }
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        if self.open {
            self.discard();
        }
    }
}
