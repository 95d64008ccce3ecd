//! The `sql` kind: its spec, and checking and compiling one.
//!
//! Compiling does no I/O: it resolves which database the spec uses (from
//! its `env`, or the engine's own), reads its statements for each dialect
//! it may run on, and compiles its parameter expressions. Pools open when
//! the node loads (`node.rs`).

use std::sync::Arc;

use schemars::JsonSchema;
use serde::Deserialize;
use weir_codecs::Value;
use weir_engine::Activate;

use weir_engine::scheme::Context;
use weir_engine::{FieldError, Kind};

use super::node::{Prepared, SqlNode, Target};
use super::params::{self, Params, Plan};
use super::pool::{DEFAULT_TIMEOUT, Pools, Url};
use super::statement::{self, Dialect};
use super::transaction::{Isolation, Scope, Settings};
use crate::control::Duration;

/// The fields of a `sql` spec.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(example = serde_json::json!({
    "query": "SELECT * FROM prompts WHERE id = :id",
    "params": {"id": "params.id"},
    "answer": "one"
}))]
#[schemars(extend("anyOf" = [
    {"required": ["query"], "properties": {"query": {"not": {"type": "null"}}}},
    {"required": ["on_load"], "properties": {"on_load": {"not": {"type": "null"}}}}
], "allOf" = [
    // `params`, `into` and `json` belong to a query.
    {"if": {"anyOf": [
        {"required": ["params"], "properties": {"params": {"not": {"type": "null"}}}},
        {"required": ["into"], "properties": {"into": {"not": {"type": "null"}}}},
        {"required": ["json"], "properties": {"json": {"minItems": 1}}}
     ]},
     "then": {"required": ["query"], "properties": {"query": {"not": {"type": "null"}}}}}
]))]
pub struct SqlSpec {
    /// The name of a variable of this spec's `env` whose value is the
    /// database URL (`postgres://…` or `sqlite://…`), typically a secret
    /// value: `env: {DB: {from: my-db}}`. Without `connection`, or when
    /// the variable's value is an empty string, the engine's own database
    /// (`weir start --database`) is used. Nodes with the same URL share
    /// one pool of connections.
    #[serde(default)]
    pub connection: Option<String>,
    /// The statement run for each packet: one SQL text for every backend,
    /// or one per backend (`{postgres: …, sqlite: …}`). Parameters are
    /// `:name` or `$1`, `$2`, … and are always bound, never spliced into
    /// the text. Without a query the node only runs `on_load` and passes
    /// packets on unchanged.
    #[serde(default)]
    pub query: Option<Dialects>,
    /// Where parameter values come from. Default: `:name` from the
    /// payload's key `name`, `$n` from the payload's n-th item (or the
    /// payload itself for a lone `$1`). A CEL expression gives them all (a
    /// map or a list); a map gives one CEL expression per `:name`
    /// (unlisted ones still come from the payload); a list one per `$n`.
    #[serde(default)]
    pub params: Option<Params>,
    /// What the node answers: `rows` (a list of maps, column → value),
    /// `one` (the only row as a map; no row fails with status 404, code
    /// `not_found`; several with code `too_many_rows`) or `count` (rows
    /// changed).
    #[serde(default)]
    pub answer: Answer,
    /// When set, the answer is the (map) payload with the result under
    /// this key, so later nodes see both the request and the rows.
    #[serde(default)]
    #[schemars(length(min = 1))]
    pub into: Option<String>,
    /// Columns that hold JSON as text, answered as the value the text
    /// holds: SQLite keeps JSON in `TEXT` columns, which read as strings
    /// otherwise. A column that reads as a value already (PostgreSQL's
    /// `json` and `jsonb`) or as null is left as it is; text that is not
    /// JSON fails the statement (code `sql_column`).
    #[serde(default)]
    #[schemars(inner(length(min = 1)))]
    pub json: Vec<String>,
    /// The isolation level of the process's transaction, when this node's
    /// statement begins it: `read_committed` (PostgreSQL's default),
    /// `repeatable_read` or `serializable`. A later node of the same
    /// process naming another level fails. SQLite is always serializable.
    #[serde(default)]
    pub isolation: Option<Isolation>,
    /// Which transaction the statement runs in: `process` (the default),
    /// the process's own, committed when the process ends well; or
    /// `statement`, one of its own, committed as soon as the statement
    /// succeeds, so others see the row at once (progress stored while a
    /// request still runs). A `statement` node never sees what the
    /// process's transaction has not committed, and on SQLite it waits
    /// while that transaction holds the write lock: do not mix the two on
    /// one database within a process.
    #[serde(default)]
    pub transaction: Scope,
    /// How long one statement may run before it is stopped (SQLSTATE
    /// 57014, status 504): `250ms`, `5s`, `1m`… Default `30s`.
    #[serde(default = "default_timeout")]
    #[schemars(transform = crate::control::duration_between(1, crate::ceiling::TIME.value()))]
    pub timeout: Duration,
    /// SQL run once each time the node loads, before it takes packets:
    /// idempotent DDL such as `CREATE TABLE IF NOT EXISTS`, so a
    /// workflow's tables exist as soon as its specs are applied. One text
    /// or one per backend, several statements allowed, no parameters. On
    /// PostgreSQL it runs in a transaction, one engine at a time.
    #[serde(default)]
    pub on_load: Option<Dialects>,
}

fn default_timeout() -> Duration {
    Duration(DEFAULT_TIMEOUT)
}

/// SQL for every backend, or per backend.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(
    untagged,
    expecting = "a SQL text, or a map with a text per backend: {postgres: …, sqlite: …}"
)]
pub enum Dialects {
    /// One text for both backends.
    Same(#[schemars(regex(pattern = r"\S"), extend("format" = "sql"))] String),
    /// A text per backend; a spec that runs on a backend without one fails
    /// to compile.
    Each(#[serde(deserialize_with = "per_backend")] PerBackend),
}

/// [`PerBackend`] from a map only: serde would also read a struct from a
/// list (`[null, null]`), which the schema does not allow.
fn per_backend<'de, D: serde::Deserializer<'de>>(d: D) -> Result<PerBackend, D::Error> {
    let map = serde_json::Map::<String, serde_json::Value>::deserialize(d)?;
    serde_json::from_value(serde_json::Value::Object(map)).map_err(serde::de::Error::custom)
}

/// One SQL text per backend.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PerBackend {
    /// The text for PostgreSQL.
    #[serde(default)]
    #[schemars(regex(pattern = r"\S"), extend("format" = "sql"))]
    pub postgres: Option<String>,
    /// The text for SQLite.
    #[serde(default)]
    #[schemars(regex(pattern = r"\S"), extend("format" = "sql"))]
    pub sqlite: Option<String>,
}

impl Dialects {
    /// The text for `dialect` and the field path it came from.
    pub fn text(&self, field: &str, dialect: Dialect) -> Option<(String, &str)> {
        match self {
            Dialects::Same(text) => Some((field.to_string(), text)),
            Dialects::Each(each) => {
                let text = match dialect {
                    Dialect::Postgres => each.postgres.as_deref(),
                    Dialect::Sqlite => each.sqlite.as_deref(),
                }?;
                Some((format!("{field}.{}", dialect.name()), text))
            }
        }
    }
}

/// What a `sql` node answers.
#[derive(Debug, Clone, Copy, Default, Deserialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Answer {
    /// Every row, as a list of maps.
    #[default]
    Rows,
    /// Exactly one row, as a map.
    One,
    /// The number of rows changed.
    Count,
}

pub(super) struct Sql;

const DIALECTS: [Dialect; 2] = [Dialect::Postgres, Dialect::Sqlite];

impl Kind for Sql {
    type Spec = SqlSpec;

    fn name(&self) -> &'static str {
        "sql"
    }

    fn summary(&self) -> &'static str {
        "Runs a SQL statement on PostgreSQL or SQLite with parameters bound from the payload, in one transaction per process; answers rows, one row or a count."
    }

    fn compile(
        &self,
        spec: SqlSpec,
        cx: &Context<'_>,
    ) -> Result<Arc<dyn Activate>, Vec<FieldError>> {
        let mut errors = Vec::new();
        let mut warnings = Vec::new();
        let pools = cx.resource::<Pools>();
        // The connection is bound from the env: what is wrong with it is
        // the store's state or the env's, not the spec's shape, so the
        // spec is stored and its node fails to load, saying why.
        let target = target(&spec, cx).unwrap_or_else(|e| {
            let why = e.to_string();
            warnings.push(FieldError::warning(
                e.path,
                format!("{}: the node will not load", e.message),
            ));
            Target::Unusable(why)
        });
        // The backend is known unless the spec uses the engine's database
        // and no engine said which (as under `weir validate`).
        let known = match &target {
            Target::Url(url) => Some(url.dialect()),
            Target::Unusable(_) => None,
            Target::Engine => pools
                .as_ref()
                .and_then(|p| p.engine_database())
                .map(Url::dialect),
        };
        let mut prepared = [None, None];
        let mut placeholders = Vec::new();
        for (slot, dialect) in prepared.iter_mut().zip(DIALECTS) {
            let Some(query) = &spec.query else { break };
            match query.text("query", dialect) {
                None if known == Some(dialect) => {
                    warnings.push(no_text("query", dialect));
                }
                None => {}
                Some((path, text)) => match statement::parse(text, dialect) {
                    Err(e) => errors.push(FieldError::new(path, e)),
                    Ok(statement) => {
                        placeholders.push(statement.placeholders.clone());
                        let plan = Plan::compile(
                            spec.params.as_ref(),
                            &statement.placeholders,
                            &mut warnings,
                        );
                        match plan {
                            Ok(plan) => *slot = Some(Prepared { statement, plan }),
                            Err(e) => errors.extend(e),
                        }
                    }
                },
            }
        }
        if !placeholders.is_empty() {
            let placeholders: Vec<_> = placeholders.iter().collect();
            warnings.extend(params::unused(spec.params.as_ref(), &placeholders));
        }
        let mut on_load = [None, None];
        for (slot, dialect) in on_load.iter_mut().zip(DIALECTS) {
            let Some(ddl) = &spec.on_load else { break };
            match ddl.text("on_load", dialect) {
                Some((path, text)) if text.trim().is_empty() => {
                    errors.push(FieldError::new(path, "is empty"));
                }
                Some((_, text)) => *slot = Some(text.to_string()),
                None if known == Some(dialect) => warnings.push(no_text("on_load", dialect)),
                None => {}
            }
        }
        errors.extend(shape_errors(&spec));
        cx.add_warnings(unique(warnings));
        if !errors.is_empty() {
            return Err(unique(errors));
        }
        let [postgres, sqlite] = prepared;
        let [postgres_ddl, sqlite_ddl] = on_load;
        Ok(weir_engine::runtime::prepared(SqlNode {
            name: cx.name(),
            pools,
            target,
            postgres,
            sqlite,
            postgres_ddl,
            sqlite_ddl,
            passes_through: spec.query.is_none(),
            has_on_load: spec.on_load.is_some(),
            answer: spec.answer,
            into: spec.into.map(Arc::from),
            json: spec.json.iter().map(|c| Arc::from(c.as_str())).collect(),
            settings: Settings {
                isolation: spec.isolation,
                timeout: spec.timeout.get(),
                own: spec.transaction == Scope::Statement,
            },
            shared: std::sync::OnceLock::new(),
        }))
    }
}

/// `problems` without repeats: the same text read for both dialects
/// reports its problems twice.
fn unique(problems: Vec<FieldError>) -> Vec<FieldError> {
    let mut unique: Vec<FieldError> = Vec::new();
    for problem in problems {
        if !unique.contains(&problem) {
            unique.push(problem);
        }
    }
    unique
}

/// The warning for a spec with no `field` text for the backend it runs on.
fn no_text(field: &str, dialect: Dialect) -> FieldError {
    FieldError::warning(
        field,
        format!(
            "has no text for {}, the backend of this spec's connection: the node will not load",
            dialect.name()
        ),
    )
}

/// Field combinations that make no sense.
fn shape_errors(spec: &SqlSpec) -> Vec<FieldError> {
    let mut errors = Vec::new();
    if spec.query.is_none() {
        if spec.on_load.is_none() {
            errors.push(FieldError::new(
                "query",
                "a sql spec needs a `query`, an `on_load`, or both",
            ));
        }
        if spec.params.is_some() {
            errors.push(FieldError::new(
                "params",
                "there is no `query` to bind them to",
            ));
        }
        if spec.into.is_some() {
            errors.push(FieldError::new("into", "there is no `query` to answer"));
        }
    }
    if spec.into.as_deref().is_some_and(str::is_empty) {
        errors.push(FieldError::new("into", "must be a key name, not empty"));
    }
    if spec.timeout.get().as_millis() == 0 {
        errors.push(FieldError::new("timeout", "must be at least 1ms"));
    }
    errors.extend(crate::ceiling::TIME.check_duration("timeout", spec.timeout.get()));
    errors
}

/// The database a spec uses. Error messages name the variable, never its
/// value.
fn target(spec: &SqlSpec, cx: &Context<'_>) -> Result<Target, FieldError> {
    let Some(variable) = &spec.connection else {
        return Ok(Target::Engine);
    };
    let fail = |message: String| FieldError::new("connection", message);
    if !cx.spec().env.contains_key(variable) {
        return Err(fail(format!(
            "`{variable}` is not a variable of this spec's `env`: add `env: {{{variable}: {{from: <value name>}}}}`"
        )));
    }
    // The scheme bound the env before compiling; binding again gives the
    // same values, and a failure was reported there already.
    let env = weir_engine::env::bind(cx.spec(), cx.values()).unwrap_or(Value::Null);
    match env.get(variable) {
        Some(Value::String(url)) if url.is_empty() => Ok(Target::Engine),
        Some(Value::String(url)) => Url::parse(url)
            .map(Target::Url)
            .map_err(|e| fail(format!("the value of `{variable}` {e}"))),
        Some(other) => Err(fail(format!(
            "the value of `{variable}` must be a URL string, found {}",
            other.type_name()
        ))),
        None => Err(fail(format!("`{variable}` has no value"))),
    }
}
