//! The running `sql` node: opens its pool and runs `on_load` when it
//! loads; per packet binds the parameters, runs the statement on the
//! process's connection and writes the answer to `out`.

use std::sync::{Arc, OnceLock};

use weir_codecs::{ErrorValue, Value};
use weir_engine::runtime::BoxFuture;
use weir_engine::runtime::Prepare;
use weir_engine::{Call, Node, Packet, Port};

use super::kind::Answer;
use super::params::Plan;
use super::pool::{Pool, Pools, Shared, Url};
use super::run::{self, Failure, Fetch};
use super::statement::{Dialect, Statement};
use super::transaction::{self, Settings};
use super::{postgres, sqlite};

/// Which database a node uses.
pub(super) enum Target {
    /// The engine's own, as the host provided it.
    Engine,
    /// A URL from the spec's env.
    Url(Url),
    /// None: the env's connection could not be used, for this reason.
    Unusable(String),
}

/// A statement ready for one dialect, with its parameters' plan.
pub(super) struct Prepared {
    pub statement: Statement,
    pub plan: Plan,
}

pub(super) struct SqlNode {
    pub name: String,
    pub pools: Option<Arc<Pools>>,
    pub target: Target,
    pub postgres: Option<Prepared>,
    pub sqlite: Option<Prepared>,
    pub postgres_ddl: Option<String>,
    pub sqlite_ddl: Option<String>,
    /// No query: packets pass through unchanged.
    pub passes_through: bool,
    /// The spec has `on_load` (for some backend).
    pub has_on_load: bool,
    pub answer: Answer,
    pub into: Option<Arc<str>>,
    /// Columns whose text is read as JSON.
    pub json: Vec<Arc<str>>,
    pub settings: Settings,
    /// The pool, resolved at load.
    pub shared: OnceLock<Arc<Shared>>,
}

impl SqlNode {
    /// How messages name this node.
    fn context(&self) -> String {
        format!("node `{}`", self.name)
    }

    fn fail(&self, message: impl std::fmt::Display) -> ErrorValue {
        ErrorValue::new(format!("{}: {message}", self.context())).with_code("sql")
    }

    /// The node's pool, opened (without connecting) on first use.
    fn shared(&self) -> Result<Arc<Shared>, ErrorValue> {
        if let Some(shared) = self.shared.get() {
            return Ok(shared.clone());
        }
        let pools = self
            .pools
            .as_ref()
            .ok_or_else(|| self.fail("no connection pools here: this host runs no sql nodes"))?;
        let url = match &self.target {
            Target::Url(url) => url,
            Target::Unusable(why) => return Err(self.fail(why)),
            Target::Engine => pools.engine_database().ok_or_else(|| {
                self.fail("the spec names no `connection`, and this engine has no database of its own to lend: name one")
            })?,
        };
        let shared = pools.get(url).map_err(|e| self.fail(e.message))?;
        Ok(self.shared.get_or_init(|| shared).clone())
    }

    fn prepared(&self, dialect: Dialect) -> Option<&Prepared> {
        match dialect {
            Dialect::Postgres => self.postgres.as_ref(),
            Dialect::Sqlite => self.sqlite.as_ref(),
        }
    }

    fn ddl(&self, dialect: Dialect) -> Option<&str> {
        match dialect {
            Dialect::Postgres => self.postgres_ddl.as_deref(),
            Dialect::Sqlite => self.sqlite_ddl.as_deref(),
        }
    }

    async fn run_on_load(&self, shared: &Shared) -> Result<(), ErrorValue> {
        let Some(ddl) = self.ddl(shared.url.dialect()) else {
            return Ok(());
        };
        let result: Result<(), Failure> = async {
            match &shared.pool {
                Pool::Postgres(pool) => {
                    let begin = postgres::begin_statement(None, Some(self.settings.timeout));
                    let client = pool.get().await.map_err(Failure::Pool)?;
                    postgres::run_ddl(&mut postgres::Session::new(client), begin, ddl).await
                }
                Pool::Sqlite(file) => {
                    let (mut tx, _turn) = transaction::begin_sqlite(file).await?;
                    sqlite::run_ddl(&mut tx, ddl).await?;
                    tx.commit().await.map_err(Failure::Sqlite)
                }
            }
        }
        .await;
        result.map_err(|f| f.into_error(&format!("node `{}`: on_load", self.name), &shared.url))
    }

    /// Runs the statement on the process's connection. A plain read on a
    /// pooled connection of its own whose connection was lost (a killed
    /// backend, a restarted server) runs once more on a fresh connection: a
    /// plain read changes nothing, so running it again cannot apply
    /// anything twice. Writes, and anything inside a transaction, are never
    /// run again. (A `SELECT` calling a function that writes is taken for a
    /// read; give it an `isolation` to keep it inside the transaction.)
    async fn statement(
        &self,
        call: &Call,
        shared: &Arc<Shared>,
        prepared: &Prepared,
        values: &[run::Bound],
        fetch: Fetch,
    ) -> Result<run::Output, Failure> {
        if self.settings.own {
            let (text, timeout) = (&prepared.statement.text, self.settings.timeout);
            let single = prepared.statement.single;
            return transaction::alone(shared, &self.settings, single, async |conn| {
                run::run(conn, text, values, fetch, timeout).await
            })
            .await;
        }
        let reads_only = prepared.statement.reads_only;
        let mut again = reads_only;
        loop {
            let mut lease =
                transaction::lease(call.process(), shared, &self.settings, reads_only).await?;
            let ran = run::run(
                lease.conn(),
                &prepared.statement.text,
                values,
                fetch,
                self.settings.timeout,
            )
            .await;
            match ran {
                Err(failure) if again && lease.alone() && failure.connection_lost() => {
                    tracing::debug!(node = %self.name, "connection lost under a read; running it again");
                    lease.discard();
                    again = false;
                }
                ran => return ran,
            }
        }
    }

    async fn run(&self, call: &Call, input: Packet) -> Result<Packet, ErrorValue> {
        if self.passes_through {
            return Ok(call.write(&Port::output(), input).await);
        }
        let shared = self.shared()?;
        let dialect = shared.url.dialect();
        let prepared = self
            .prepared(dialect)
            .ok_or_else(|| self.fail(format!("the query has no text for {}", dialect.name())))?;
        let values = prepared
            .plan
            .bind(input.payload())
            .map_err(|(label, message)| {
                Failure::Param { label, message }.into_error(&self.context(), &shared.url)
            })?;
        let fetch = match self.answer {
            Answer::Count => Fetch::Count,
            Answer::Rows | Answer::One => Fetch::Rows,
        };
        let output = self
            .statement(call, &shared, prepared, &values, fetch)
            .await
            .map_err(|f| f.into_error(&self.context(), &shared.url))?;
        let rows = run::read_json(output.rows, &self.json)
            .map_err(|f| f.into_error(&self.context(), &shared.url))?;
        let answer = match self.answer {
            Answer::Rows => Value::list(rows),
            Answer::Count => Value::Int(i64::try_from(output.affected).unwrap_or(i64::MAX)),
            Answer::One => {
                let count = rows.len();
                let mut rows = rows.into_iter();
                match (rows.next(), count) {
                    (Some(row), 1) => row,
                    (None, _) => {
                        return Err(
                            ErrorValue::new(format!("node `{}`: no row found", self.name))
                                .with_code("not_found")
                                .with_status(404),
                        );
                    }
                    (Some(_), n) => {
                        return Err(ErrorValue::new(format!(
                            "node `{}`: expected one row, the query returned {n}",
                            self.name
                        ))
                        .with_code("too_many_rows"));
                    }
                }
            }
        };
        let output = match &self.into {
            None => answer,
            Some(key) => {
                let payload = input.into_payload();
                let Value::Map(map) = payload else {
                    return Err(self.fail(format!(
                        "`into` puts the answer into the payload, but the payload is {}, not a map",
                        payload.type_name()
                    )));
                };
                let mut map = Arc::unwrap_or_clone(map);
                map.insert(key.clone(), answer);
                Value::from(map)
            }
        };
        Ok(call.write(&Port::output(), Packet::new(output)).await)
    }
}

impl Node for SqlNode {
    fn call<'a>(
        &'a self,
        call: &'a Call,
        input: Packet,
    ) -> BoxFuture<'a, Result<Packet, ErrorValue>> {
        Box::pin(self.run(call, input))
    }
}

impl Prepare for SqlNode {
    fn prepare(&self) -> BoxFuture<'_, Result<(), ErrorValue>> {
        Box::pin(async move {
            let shared = self.shared()?;
            let dialect = shared.url.dialect();
            let missing = match () {
                _ if !self.passes_through && self.prepared(dialect).is_none() => Some("query"),
                _ if self.has_on_load && self.ddl(dialect).is_none() => Some("on_load"),
                _ => None,
            };
            if let Some(field) = missing {
                return Err(self.fail(format!(
                    "`{field}` has no text for {}, the backend of its connection",
                    dialect.name()
                )));
            }
            self.run_on_load(&shared).await
        })
    }
}
