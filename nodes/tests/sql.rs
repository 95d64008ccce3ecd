//! The `sql` kind against real databases: a fresh PostgreSQL database or
//! SQLite file per test, through the real scheme and symbol tables.
//! Processes are started and ended here as a listener would, so commits
//! and rollbacks are what a request would get. The HTTP application built
//! on it is tested in `tests/prompt_registry.rs`.

#[path = "../../engine/tests/support/db.rs"]
#[allow(dead_code)]
mod db;

use std::sync::Arc;

use db::TestDb;
use weir_codecs::{ErrorValue, Value};
use weir_engine::env::ValueSource;
use weir_engine::runtime::{Limits, Outcome};
use weir_engine::spec::source::{Format, parse};
use weir_engine::symbol::{Status, SymbolTable};
use weir_engine::{Bundle, Packet, Process, Scheme};
use weir_nodes::sql::Pools;

/// Stored values: `db` holds the test database's URL, `not-a-url` does not.
struct Stored(String);

impl ValueSource for Stored {
    fn value(&self, _: &str, name: Option<&str>, _: Option<uuid::Uuid>) -> Option<Value> {
        match name {
            Some("db") => Some(Value::string(self.0.as_str())),
            Some("not-a-url") => Some(Value::string("mysql://root:hunter2@db")),
            Some("a-number") => Some(Value::Int(5)),
            _ => None,
        }
    }
}

/// The scheme `weir start` builds: every kind, the engine's database as the
/// default connection.
fn scheme(engine_database: &str) -> Scheme {
    let mut scheme = weir_nodes::scheme();
    scheme.provide(Arc::new(Pools::with_engine_database(engine_database)));
    scheme
}

/// `start` with the notes table's kinds and then `more` (YAML list items).
async fn start_notes(url: &str, more: &str) -> Arc<SymbolTable> {
    start(url, &format!("{NOTES}{more}")).await
}

/// Starts `yaml` with `url` as the engine's database and as value `db`;
/// every node must be active.
async fn start(url: &str, yaml: &str) -> Arc<SymbolTable> {
    let specs = parse(yaml, Format::Yaml, None).expect("parses");
    let bundle = Bundle::compile(&scheme(url), specs, &Stored(url.to_string()))
        .unwrap_or_else(|d| panic!("{d}"));
    let tables = bundle.start(Limits::default()).await;
    let table = tables["default"].clone();
    for (_, name, status) in table.statuses().await {
        assert_eq!(status, Status::Active, "{name}");
    }
    table
}

/// The compile errors of `yaml`, one line each.
fn errors(yaml: &str, engine_database: &str) -> Vec<String> {
    let specs = parse(yaml, Format::Yaml, None).expect("parses");
    let compiled = Bundle::compile(&scheme(engine_database), specs, &Stored(String::new()));
    let problems = Bundle::problems(&compiled);
    problems.0.iter().map(|d| d.error.line()).collect()
}

/// Sends `input` to `node` in a new process and ends the process as a
/// listener would: well unless the answer is an error; a commit that fails
/// is the answer then.
async fn call(table: &SymbolTable, node: &str, input: Value) -> Value {
    let process = Process::new();
    let answer = table.send(node, process.clone(), Packet::new(input)).await;
    match process.exit(outcome(&answer)).await {
        Ok(()) => answer.into_payload(),
        Err(error) => Value::from(error),
    }
}

fn outcome(answer: &Packet) -> Outcome {
    match answer.as_error() {
        Some(error) => Outcome::Failed(error.clone()),
        None => Outcome::Ok,
    }
}

fn json(text: &str) -> Value {
    weir_codecs::json::from_str(text).unwrap_or_else(|e| panic!("{text}: {e}"))
}

fn failure(answer: &Value) -> &ErrorValue {
    answer
        .as_error()
        .unwrap_or_else(|| panic!("expected an error, got {answer}"))
}

fn count(answer: &Value) -> i64 {
    answer
        .get("n")
        .and_then(Value::as_i64)
        .unwrap_or_else(|| panic!("no count in {answer}"))
}

/// Runs a test body on PostgreSQL and on SQLite, each its own database.
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            #[tokio::test(flavor = "multi_thread")]
            async fn postgres() {
                super::$name(&super::TestDb::postgres().await).await;
            }
            #[tokio::test(flavor = "multi_thread")]
            async fn sqlite() {
                super::$name(&super::TestDb::sqlite()).await;
            }
        }
    )*};
}

on_both_backends!(
    a_process_commits_or_rolls_back_as_it_ends,
    errors_carry_a_sqlstate_a_status_and_never_the_url,
    statements_stop_at_their_timeout,
    answers_take_the_shape_asked,
    on_load_creates_tables_and_a_failing_one_keeps_the_node_down,
    text_is_stored_verbatim,
    a_commit_the_database_refuses_is_the_answer,
    text_holding_nul_is_refused_alike,
    json_columns_answer_the_values_their_text_holds,
    statements_of_their_own_commit_alone_and_all_at_once,
);

const NOTES: &str = "
- kind: sql
  name: schema
  on_load: CREATE TABLE IF NOT EXISTS notes (body TEXT PRIMARY KEY, stars INTEGER)
  ports: {out: [{name: insert}]}
- {kind: sql, name: insert, query: 'INSERT INTO notes (body) VALUES (:body)', answer: count}
- kind: sql
  name: insert-then-fail
  query: INSERT INTO notes (body) VALUES (:body)
  ports: {out: [{name: boom}]}
- {kind: throw, name: boom, message: the last node fails, status: 500}
- {kind: sql, name: count, query: 'SELECT count(*) AS n FROM notes', answer: one}
";

async fn a_process_commits_or_rolls_back_as_it_ends(db: &TestDb) {
    let table = start(&db.url, NOTES).await;
    let body = |text: &str| json(&format!(r#"{{"body": "{text}"}}"#));
    assert_eq!(call(&table, "insert", body("kept")).await, Value::Int(1));
    let dropped = Process::new();
    table
        .send("insert", dropped.clone(), Packet::new(body("dropped")))
        .await;
    let rolled_back = dropped
        .exit(Outcome::Failed(ErrorValue::new("a later node failed")))
        .await;
    assert_eq!(rolled_back, Ok(()));
    assert_eq!(
        count(&call(&table, "count", Value::Null).await),
        1,
        "rolled back"
    );

    // A workflow whose last node fails after an INSERT leaves no row.
    let answer = call(&table, "insert-then-fail", body("after")).await;
    assert_eq!(failure(&answer).message, "the last node fails");
    assert_eq!(count(&call(&table, "count", Value::Null).await), 1);

    // The schema node passes packets on: its `out` is the insert.
    assert_eq!(call(&table, "schema", body("through")).await, Value::Int(1));

    // One process: its reads after a write see the write; other processes
    // see it once committed. A child writes in its root's transaction.
    let process = Process::new();
    table
        .send("insert", process.clone(), Packet::new(body("mine")))
        .await;
    let child = process.child();
    table
        .send("insert", child.clone(), Packet::new(body("child's")))
        .await;
    let inside = table
        .send("count", process.clone(), Packet::new(Value::Null))
        .await;
    assert_eq!(count(inside.payload()), 4, "its own writes and its child's");
    assert_eq!(
        count(&call(&table, "count", Value::Null).await),
        2,
        "not committed yet"
    );
    assert_eq!(process.exit(Outcome::Ok).await, Ok(()));
    assert_eq!(count(&call(&table, "count", Value::Null).await), 4);
}

async fn json_columns_answer_the_values_their_text_holds(db: &TestDb) {
    let table = start(
        &db.url,
        "
- kind: sql
  name: schema
  on_load: CREATE TABLE IF NOT EXISTS docs (id INTEGER PRIMARY KEY, body TEXT, note TEXT)
- {kind: sql, name: put, query: 'INSERT INTO docs (id, body, note) VALUES (:id, :body, :body)', answer: count}
- {kind: sql, name: get, query: 'SELECT body, note FROM docs WHERE id = :id', answer: one, json: [body]}
- {kind: sql, name: all, query: 'SELECT id, body FROM docs ORDER BY id', json: [body], into: rows}
",
    )
    .await;
    let put = |id: i64, body: Value| {
        let mut map = weir_codecs::Map::new();
        map.insert("id".into(), Value::Int(id));
        map.insert("body".into(), body);
        Value::from(map)
    };
    for (id, body) in [
        (1, Value::string(r#"{"x": [1, 2.5, "three"], "y": null}"#)),
        (2, Value::Null),
        (3, Value::string("not JSON")),
    ] {
        assert_eq!(call(&table, "put", put(id, body)).await, Value::Int(1));
    }
    assert_eq!(
        call(&table, "get", json(r#"{"id": 1}"#)).await,
        json(
            r#"{"body": {"x": [1, 2.5, "three"], "y": null}, "note": "{\"x\": [1, 2.5, \"three\"], \"y\": null}"}"#
        ),
        "only the listed column is read as JSON"
    );
    assert_eq!(
        call(&table, "get", json(r#"{"id": 2}"#)).await,
        json(r#"{"body": null, "note": null}"#)
    );
    let bad = call(&table, "get", json(r#"{"id": 3}"#)).await;
    assert_eq!(failure(&bad).code.as_deref(), Some("sql_column"), "{bad}");
    assert!(
        failure(&bad).message.contains("column `body` is not JSON"),
        "{bad}"
    );
    let all = call(&table, "all", json("{}")).await;
    assert_eq!(failure(&all).code.as_deref(), Some("sql_column"), "{all}");
}

/// `transaction: statement` writers all land, however many at once, and
/// a text of several statements lands whole or not at all.
async fn statements_of_their_own_commit_alone_and_all_at_once(db: &TestDb) {
    let table = start_notes(
        &db.url,
        "
- {kind: sql, name: own, transaction: statement, query: 'INSERT INTO notes (body) VALUES (:body)', answer: count}
- {kind: sql, name: two, transaction: statement, query: 'UPDATE notes SET stars = 1; INSERT INTO missing (x) VALUES (1)', answer: count}
",
    )
    .await;
    let writers = (0..24).map(|i| {
        let table = table.clone();
        tokio::spawn(
            async move { call(&table, "own", json(&format!(r#"{{"body": "w{i}"}}"#))).await },
        )
    });
    for answer in futures_util::future::join_all(writers).await {
        assert_eq!(answer.unwrap(), Value::Int(1));
    }
    assert_eq!(count(&call(&table, "count", Value::Null).await), 24);
    let failed = call(&table, "two", Value::Null).await;
    assert!(matches!(failed, Value::Error(_)), "{failed}");
    let starred = start(
        &db.url,
        "- {kind: sql, name: starred, query: 'SELECT count(*) AS n FROM notes WHERE stars = 1', answer: one}",
    )
    .await;
    assert_eq!(
        count(&call(&starred, "starred", Value::Null).await),
        0,
        "the UPDATE before the failing statement did not land"
    );
}

/// A foreign key checked only at COMMIT, on both backends.
const DEFERRED: &str = "
- kind: sql
  name: schema
  on_load: >-
    CREATE TABLE IF NOT EXISTS parents (id INTEGER PRIMARY KEY);
    CREATE TABLE IF NOT EXISTS children (
      parent INTEGER REFERENCES parents (id) DEFERRABLE INITIALLY DEFERRED)
- {kind: sql, name: parent, query: 'INSERT INTO parents (id) VALUES (:id)', answer: count}
- {kind: sql, name: child, query: 'INSERT INTO children (parent) VALUES (:id)', answer: count}
- {kind: sql, name: children, query: 'SELECT count(*) AS n FROM children', answer: one}
";

async fn a_commit_the_database_refuses_is_the_answer(db: &TestDb) {
    let table = start(&db.url, DEFERRED).await;
    let id = |id: i64| Value::map([("id", Value::Int(id))]);
    assert_eq!(call(&table, "parent", id(1)).await, Value::Int(1));
    assert_eq!(call(&table, "child", id(1)).await, Value::Int(1));

    // The statement succeeds; its COMMIT does not: that is the answer.
    let answer = call(&table, "child", id(2)).await;
    let error = failure(&answer);
    assert_eq!(error.code.as_deref(), Some("23503"), "{error}");
    assert_eq!(error.status, Some(409));
    assert!(
        error
            .message
            .starts_with("cannot commit the process's transaction: "),
        "{error}"
    );
    assert_eq!(count(&call(&table, "children", Value::Null).await), 1);
}

/// PostgreSQL aborts a transaction at its first failed statement and
/// answers a later COMMIT by rolling back: a process that recovered from
/// the failure and ended well is told so, not that its writes were kept.
#[tokio::test(flavor = "multi_thread")]
async fn a_commit_after_a_failed_statement_fails_on_postgres() {
    let db = TestDb::postgres().await;
    let table = start(&db.url, NOTES).await;
    let body = |text: &str| json(&format!(r#"{{"body": "{text}"}}"#));
    assert_eq!(call(&table, "insert", body("taken")).await, Value::Int(1));
    let process = Process::new();
    let first = table
        .send("insert", process.clone(), Packet::new(body("new")))
        .await;
    assert_eq!(first.payload(), &Value::Int(1));
    let duplicate = table
        .send("insert", process.clone(), Packet::new(body("taken")))
        .await;
    assert_eq!(
        duplicate.as_error().and_then(|e| e.code.as_deref()),
        Some("23505")
    );
    let error = process.exit(Outcome::Ok).await.unwrap_err();
    assert_eq!(error.code.as_deref(), Some("25P02"), "{error}");
    assert!(error.message.contains("nothing the process wrote was kept"));
    assert_eq!(count(&call(&table, "count", Value::Null).await), 1);
}

/// PostgreSQL sessions say who they are and start with the default
/// statement timeout.
#[tokio::test(flavor = "multi_thread")]
async fn postgres_sessions_are_named_and_timed() {
    let db = TestDb::postgres().await;
    let yaml = "
- kind: sql
  name: session
  query: SELECT current_setting('application_name') AS name, current_setting('statement_timeout') AS timeout
  answer: one
";
    let table = start(&db.url, yaml).await;
    assert_eq!(
        call(&table, "session", Value::Null).await,
        json(r#"{"name": "weir", "timeout": "30s"}"#)
    );
}

async fn errors_carry_a_sqlstate_a_status_and_never_the_url(db: &TestDb) {
    // PostgreSQL on trust auth ignores the password: it is there to be hunted.
    let secret = db.url.replacen("postgres@", "postgres:s3cretpw@", 1);
    let table = start_notes(
        &secret,
        "
- {kind: sql, name: typo, query: 'SELEC body FROM notes'}
- {kind: sql, name: nowhere, query: 'SELECT * FROM no_such_table'}
- {kind: sql, name: missing, query: 'SELECT * FROM notes WHERE body = :body AND stars > :stars'}
",
    )
    .await;
    let body = json(r#"{"body": "one"}"#);
    call(&table, "insert", body.clone()).await;
    let answers = [
        call(&table, "insert", body.clone()).await,
        call(&table, "typo", Value::Null).await,
        call(&table, "nowhere", Value::Null).await,
        call(&table, "missing", body.clone()).await,
    ];
    let postgres = db.url.starts_with("postgres");
    let expected = [
        ("23505", 409),
        (if postgres { "42601" } else { "42000" }, 500),
        (if postgres { "42P01" } else { "42000" }, 500),
        ("sql_param", 400),
    ];
    for (answer, (code, status)) in answers.iter().zip(expected) {
        let error = failure(answer);
        assert_eq!(
            (error.code.as_deref(), error.status),
            (Some(code), Some(status)),
            "{error}"
        );
        let everything = answer.to_string();
        assert!(!everything.contains("s3cretpw"), "{everything}");
        assert!(!everything.contains(&secret), "{everything}");
    }
    let duplicate = failure(&answers[0]);
    assert!(
        duplicate.message.starts_with("node `insert`: "),
        "{duplicate}"
    );
    assert_eq!(
        duplicate.details.get("sqlstate"),
        Some(&Value::string("23505"))
    );
    let missing = failure(&answers[3]);
    assert_eq!(
        missing.message,
        "node `missing`: parameter `:stars`: the payload has no key `stars`"
    );
    // Nothing was left half-done: the first insert stands alone.
    assert_eq!(count(&call(&table, "count", Value::Null).await), 1);
}

async fn statements_stop_at_their_timeout(db: &TestDb) {
    let table = start(
        &db.url,
        "
- kind: sql
  name: forever
  timeout: 300ms
  query: WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT count(*) AS n FROM c
- {kind: sql, name: quick, timeout: 300ms, query: 'SELECT 1 AS n', answer: one}
",
    )
    .await;
    let answer = call(&table, "forever", Value::Null).await;
    let error = failure(&answer);
    assert_eq!(
        (error.code.as_deref(), error.status),
        (Some("57014"), Some(504)),
        "{error}"
    );
    for _ in 0..20 {
        assert_eq!(
            count(&call(&table, "quick", Value::Null).await),
            1,
            "connections recover"
        );
    }
}

async fn answers_take_the_shape_asked(db: &TestDb) {
    let table = start_notes(
        &db.url,
        "
- {kind: sql, name: all, query: 'SELECT body, stars FROM notes ORDER BY body'}
- {kind: sql, name: one, query: 'SELECT body FROM notes WHERE body = :body', answer: one}
- {kind: sql, name: both, query: 'SELECT body FROM notes', answer: one}
- {kind: sql, name: star, query: 'UPDATE notes SET stars = $1', answer: count}
- {kind: sql, name: keep, query: 'SELECT count(*) AS n FROM notes', into: found}
",
    )
    .await;
    for body in ["a", "b"] {
        call(&table, "insert", json(&format!(r#"{{"body": "{body}"}}"#))).await;
    }
    assert_eq!(call(&table, "star", Value::Int(5)).await, Value::Int(2));
    assert_eq!(
        call(&table, "all", Value::Null).await,
        json(r#"[{"body": "a", "stars": 5}, {"body": "b", "stars": 5}]"#)
    );
    assert_eq!(
        call(&table, "one", json(r#"{"body": "b"}"#)).await,
        json(r#"{"body": "b"}"#)
    );
    let none = call(&table, "one", json(r#"{"body": "zz"}"#)).await;
    assert_eq!(
        (failure(&none).code.as_deref(), failure(&none).status),
        (Some("not_found"), Some(404))
    );
    let many = call(&table, "both", Value::Null).await;
    assert_eq!(failure(&many).code.as_deref(), Some("too_many_rows"));
    assert_eq!(
        call(&table, "keep", json(r#"{"body": "a", "other": true}"#)).await,
        json(r#"{"body": "a", "other": true, "found": [{"n": 2}]}"#)
    );
    let not_a_map = call(&table, "keep", json(r#"["a"]"#)).await;
    assert!(
        failure(&not_a_map).message.contains("`into`"),
        "{not_a_map}"
    );
}

async fn on_load_creates_tables_and_a_failing_one_keeps_the_node_down(db: &TestDb) {
    let table = start(&db.url, NOTES).await;
    // Loading the same DDL again (another engine, a new version) is harmless.
    let again = start(&db.url, NOTES).await;
    call(&again, "insert", json(r#"{"body": "x"}"#)).await;
    assert_eq!(count(&call(&table, "count", Value::Null).await), 1);

    let specs = parse(
        "- {kind: sql, name: broken, on_load: 'CREATE TABLE (oops'}",
        Format::Yaml,
        None,
    )
    .unwrap();
    let bundle = Bundle::compile(&scheme(&db.url), specs, &Stored(db.url.clone())).unwrap();
    let tables = bundle.start(Limits::default()).await;
    let statuses = tables["default"].statuses().await;
    match &statuses[0].2 {
        Status::Failed(reason) => {
            assert!(reason.contains("node `broken`: on_load: "), "{reason}");
            assert!(!reason.contains(&db.url), "{reason}");
        }
        other => panic!("expected a failed load, got {other:?}"),
    }
}

async fn text_is_stored_verbatim(db: &TestDb) {
    let table = start_notes(
        &db.url,
        "
- {kind: sql, name: get, query: 'SELECT body FROM notes WHERE body = :body', answer: one}
",
    )
    .await;
    let long = "📝 prompt ".repeat(10 * 1024);
    for text in [
        "'; DROP TABLE notes; --",
        "Robert'); DROP TABLE notes;--",
        "emoji 🦀🔥 ünïcödé",
        ":body $1 ?",
        long.as_str(),
    ] {
        let input = Value::map([("body", Value::string(text))]);
        assert_eq!(
            call(&table, "insert", input.clone()).await,
            Value::Int(1),
            "{text}"
        );
        assert_eq!(call(&table, "get", input.clone()).await, input);
    }
    assert_eq!(count(&call(&table, "count", Value::Null).await), 5);
}

#[tokio::test(flavor = "multi_thread")]
async fn postgres_types_come_back_faithfully() {
    let db = TestDb::postgres().await;
    let table = start(
        &db.url,
        "
- kind: sql
  name: setup
  on_load: |
    CREATE TYPE mood AS ENUM ('calm', 'busy');
    CREATE TABLE kinds (i int4, b int8, s int2, f float8, r float4, n numeric(40,10), ok boolean,
      t text, v varchar(10), raw bytea, doc jsonb, j json, at timestamptz, local timestamp, day date,
      clock time, u uuid, tags text[], nums int4[], gone text, span interval, mood mood);
- kind: sql
  name: insert
  answer: count
  query: >
    INSERT INTO kinds VALUES (:i, :b, :s, :f, :r, :n, :ok, :t, :v, :raw, :doc, :j, :at, :local,
      :day, :clock, :u, :tags, :nums, :gone, interval '1 year 2 months 3 days 04:05:06.5', :mood)
- {kind: sql, name: read, query: 'SELECT * FROM kinds', answer: one}
- kind: sql
  name: find
  answer: one
  query: SELECT count(*) AS n FROM kinds WHERE u = :u AND i = :i AND at = :at AND n = :n
- {kind: sql, name: exact, query: 'SELECT 0.1::numeric + 0.2::numeric AS sum, 1e30::numeric * 3 AS big', answer: one}
- {kind: sql, name: span, query: 'SELECT CAST(:span AS interval) AS s'}
",
    )
    .await;
    let mut input = json(
        r#"{"i": 7, "b": 9007199254740993, "s": -3, "f": 0.1, "r": 0.1,
            "n": "12345678901234567890123456789.0123456789", "ok": true,
            "t": "'; DROP TABLE kinds; --", "v": "ünï", "raw": null,
            "doc": {"a": [1, 2.5, null], "b": "x"}, "j": [1, "two"],
            "at": "2024-05-01T12:30:00.123456+02:00", "local": "2024-05-01T12:30:00",
            "day": "2024-02-29", "clock": "23:59:59.5",
            "u": "0190a9d2-7b3c-7def-8123-456789abcdef", "tags": ["a", null, "c"],
            "nums": [1, 2, 3], "gone": null, "mood": "busy"}"#,
    );
    if let Value::Map(map) = &mut input {
        Arc::make_mut(map).insert(
            "raw".into(),
            Value::Bytes(bytes::Bytes::from_static(&[0, 1, 255])),
        );
    }
    assert_eq!(call(&table, "insert", input.clone()).await, Value::Int(1));
    let row = call(&table, "read", Value::Null).await;
    let mut expected = input.clone();
    if let Value::Map(map) = &mut expected {
        let map = Arc::make_mut(map);
        map.insert("at".into(), Value::string("2024-05-01T10:30:00.123456Z"));
        map.insert("span".into(), Value::string("P1Y2M3DT4H5M6.5S"));
        map.insert(
            "n".into(),
            Value::string("12345678901234567890123456789.0123456789"),
        );
    }
    for (key, value) in expected.as_map().unwrap() {
        assert_eq!(row.get(key), Some(value), "column {key}: {row}");
    }
    // Strings bind to whatever type PostgreSQL infers: uuid, int4 from
    // text, timestamptz, numeric.
    let find = json(
        r#"{"u": "0190a9d2-7b3c-7def-8123-456789abcdef", "i": "7",
            "at": "2024-05-01T10:30:00.123456Z", "n": 12345678901234567890123456789.0123456789}"#,
    );
    let found = call(&table, "find", find.clone()).await;
    assert_eq!(
        count(&found),
        0,
        "the float lost digits, so nothing matches: {found}"
    );
    let mut exact = find;
    if let Value::Map(map) = &mut exact {
        Arc::make_mut(map).insert(
            "n".into(),
            Value::string("12345678901234567890123456789.0123456789"),
        );
    }
    assert_eq!(count(&call(&table, "find", exact.clone()).await), 1);
    assert_eq!(
        call(&table, "exact", Value::Null).await,
        json(r#"{"sum": "0.3", "big": "3000000000000000000000000000000"}"#)
    );
    // Values that do not convert are refused, naming the parameter.
    let mut bad = exact;
    if let Value::Map(map) = &mut bad {
        Arc::make_mut(map).insert("i".into(), Value::string("seven"));
    }
    let answer = call(&table, "find", bad).await;
    let error = failure(&answer);
    assert_eq!(
        (error.code.as_deref(), error.status),
        (Some("sql_param"), Some(400))
    );
    assert_eq!(
        error.message,
        "node `find`: parameter `:i`: expected an integer (PostgreSQL type `int4`), found string \"seven\""
    );
    let span = call(&table, "span", json(r#"{"span": "1 day"}"#)).await;
    assert!(
        failure(&span)
            .message
            .contains("CAST(CAST(:x AS text) AS interval)"),
        "{span}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn sqlite_values_come_back_as_stored() {
    let db = TestDb::sqlite();
    let table = start(
        &db.url,
        "
- kind: sql
  name: setup
  on_load: CREATE TABLE kinds (i INTEGER, f REAL, t TEXT, raw BLOB, ok BOOLEAN, doc TEXT, gone TEXT)
- {kind: sql, name: insert, answer: count, query: 'INSERT INTO kinds VALUES (:i, :f, :t, :raw, :ok, :doc, :gone)'}
- {kind: sql, name: read, query: 'SELECT * FROM kinds', answer: one}
",
    )
    .await;
    let input = Value::map([
        ("i", Value::Int(9_007_199_254_740_993)),
        ("f", Value::Float(0.1)),
        ("t", Value::string("🦀")),
        ("raw", Value::Bytes(bytes::Bytes::from_static(&[0, 1, 255]))),
        ("ok", Value::Bool(true)),
        ("doc", json(r#"{"a": [1, null]}"#)),
        ("gone", Value::Null),
    ]);
    assert_eq!(call(&table, "insert", input.clone()).await, Value::Int(1));
    let mut expected = input;
    if let Value::Map(map) = &mut expected {
        Arc::make_mut(map).insert("doc".into(), Value::string(r#"{"a":[1,null]}"#));
    }
    assert_eq!(call(&table, "read", Value::Null).await, expected);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_connection_comes_from_a_stored_value() {
    let db = TestDb::postgres().await;
    let table = start(
        &db.url,
        "
- kind: sql
  name: stored
  connection: DB
  env: {DB: {from: db}}
  query: SELECT current_database() AS name
  answer: one
- kind: sql
  name: fallback
  connection: DB
  env: {DB: {from: no-such-value, default: ''}}
  query: SELECT current_database() AS name
  answer: one
",
    )
    .await;
    let database = db.url.rsplit('/').next().unwrap();
    for node in ["stored", "fallback"] {
        let answer = call(&table, node, Value::Null).await;
        assert_eq!(
            answer.get("name").and_then(Value::as_str),
            Some(database),
            "{node}"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn an_unreachable_database_answers_503_without_its_url() {
    let nowhere = "postgres://postgres:s3cretpw@127.0.0.1:1/nowhere";
    let table = start(nowhere, "- {kind: sql, name: q, query: 'SELECT 1'}").await;
    let answer = call(&table, "q", Value::Null).await;
    let error = failure(&answer);
    assert_eq!(error.status, Some(503), "{error}");
    assert!(
        error.code.as_deref().is_some_and(|c| c.starts_with("08")),
        "{error}"
    );
    assert!(!answer.to_string().contains("s3cretpw"), "{answer}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_process_keeps_one_isolation_level() {
    let db = TestDb::postgres().await;
    let table = start_notes(
        &db.url,
        "
- {kind: sql, name: strict, isolation: serializable, query: 'INSERT INTO notes (body) VALUES (:body)', answer: count}
- {kind: sql, name: lax, isolation: read_committed, query: 'SELECT count(*) AS n FROM notes', answer: one}
",
    )
    .await;
    let process = Process::new();
    let first = table
        .send(
            "strict",
            process.clone(),
            Packet::new(json(r#"{"body": "s"}"#)),
        )
        .await;
    assert_eq!(first.payload(), &Value::Int(1));
    let second = table
        .send("lax", process.clone(), Packet::new(Value::Null))
        .await;
    let error = second.as_error().expect("refused");
    assert!(
        error
            .message
            .contains("already open at serializable; this node asks for read committed"),
        "{error}"
    );
    let _ = process.exit(Outcome::Failed(error.clone())).await;
    assert_eq!(count(&call(&table, "count", Value::Null).await), 0);
}

#[test]
fn the_reference_example_compiles() {
    let scheme = weir_nodes::scheme();
    let codec = scheme.codec("sql").expect("registered");
    let examples = codec.schema()["examples"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert!(!examples.is_empty());
    for example in examples {
        let mut spec = example.as_object().cloned().unwrap();
        spec.insert("kind".into(), "sql".into());
        spec.insert("name".into(), "example".into());
        spec.insert("env".into(), serde_json::json!({"DB": {"from": "db"}}));
        let yaml = serde_json::Value::Object(spec).to_string();
        assert_eq!(
            errors(&yaml, "sqlite://unused.db"),
            Vec::<String>::new(),
            "{yaml}"
        );
    }
}

#[test]
fn specs_are_checked_when_compiled() {
    let sqlite = "sqlite://unused.db";
    let check = |yaml: &str| errors(yaml, sqlite);
    assert_eq!(
        check("{kind: sql, name: s}"),
        ["query: a sql spec needs a `query`, an `on_load`, or both"]
    );
    // What the connection's variable holds is the store's or the env's
    // state, not the spec's shape: a warning, and the node does not load.
    assert_eq!(
        check("{kind: sql, name: s, connection: DB, query: 'SELECT 1'}"),
        [
            "warning: connection: `DB` is not a variable of this spec's `env`: add `env: {DB: {from: <value name>}}`: the node will not load"
        ]
    );
    let not_url = check(
        "{kind: sql, name: s, connection: DB, env: {DB: {from: not-a-url}}, query: 'SELECT 1'}",
    );
    assert_eq!(
        not_url,
        [
            "warning: connection: the value of `DB` is not a postgres:// or sqlite:// URL: the node will not load"
        ]
    );
    assert!(!not_url[0].contains("hunter2"));
    assert!(
        check(
            "{kind: sql, name: s, connection: DB, env: {DB: {from: a-number}}, query: 'SELECT 1'}"
        )[0]
        .ends_with("the value of `DB` must be a URL string, found int: the node will not load")
    );
    assert_eq!(
        check("{kind: sql, name: s, query: 'SELECT :a, $1'}"),
        ["query: mixes `:name` and `$1` parameters: use one style in a statement"]
    );
    assert_eq!(
        check("{kind: sql, name: s, query: {postgres: 'SELECT 1'}}"),
        [
            "warning: query: has no text for sqlite, the backend of this spec's connection: the node will not load"
        ]
    );
    assert!(
        errors(
            "{kind: sql, name: s, query: {postgres: 'SELECT 1'}}",
            "postgres://x@h/d"
        )
        .is_empty()
    );
    assert_eq!(
        check("{kind: sql, name: s, query: {sqlite: \"SELECT 'open\"}}"),
        ["query.sqlite: a string opened on line 1 is never closed"]
    );
    let params = check("{kind: sql, name: s, query: 'SELECT :a', params: {a: 'body.', b: 'x'}}");
    assert_eq!(params.len(), 2, "{params:?}");
    assert!(
        params[0].starts_with("params.a: expression does not compile"),
        "{params:?}"
    );
    assert_eq!(
        params[1],
        "warning: params.b: the query has no `:b`: it is left out"
    );
    // `params` that do not fit the query's text (which a schema cannot
    // read) are warnings; what is missing comes from the payload.
    assert_eq!(
        check("{kind: sql, name: s, query: 'SELECT $1, $2', params: ['a']}"),
        [
            "warning: params: the query has 2 parameters ($1…$2) but `params` lists 1: the rest come from the payload's items"
        ]
    );
    assert_eq!(
        check("{kind: sql, name: s, query: 'SELECT $1', params: {a: 'x'}}"),
        [
            "warning: params: a map of expressions binds `:name` parameters, but the query has none: it is left out"
        ]
    );
    assert!(
        check("{kind: sql, name: s, query: 'SELECT 1', params: 3}")[0].contains(
            "params: a CEL expression, a map from parameter name to CEL expression, or a list of CEL expressions"
        ),
        "{:?}",
        check("{kind: sql, name: s, query: 'SELECT 1', params: 3}")
    );
    assert_eq!(
        check("{kind: sql, name: s, on_load: 'SELECT 1', into: x, timeout: 0s}"),
        [
            "into: there is no `query` to answer",
            "timeout: must be at least 1ms"
        ]
    );
    assert!(
        check("{kind: sql, name: s, query: 'SELECT 1', answer: all}")[0]
            .contains("unknown variant `all`")
    );
    assert!(
        check("{kind: sql, name: s, query: 'SELECT 1', isolation: snapshot}")[0]
            .contains("unknown variant `snapshot`")
    );
}

async fn text_holding_nul_is_refused_alike(db: &TestDb) {
    let table = start(&db.url, NOTES).await;
    for body in ["a\u{0}b", "\u{0}"] {
        let answer = call(
            &table,
            "insert",
            Value::map([("body", Value::string(body))]),
        )
        .await;
        let error = failure(&answer);
        assert_eq!(
            (error.code.as_deref(), error.status, error.message.as_str()),
            (
                Some("sql_param"),
                Some(400),
                "node `insert`: parameter `:body`: holds a NUL character (U+0000), which text in a database cannot hold"
            )
        );
    }
    // Nested in a list or a map's key, too.
    let nested = Value::map([("body", Value::list([Value::map([("k\u{0}", Value::Null)])]))]);
    let error = failure(&call(&table, "insert", nested).await).clone();
    assert_eq!(error.code.as_deref(), Some("sql_param"), "{error}");
    assert_eq!(count(&call(&table, "count", Value::Null).await), 0);
}

/// A database that cannot be reached, or that ends the session, is a 503
/// in Weir's words on both backends, never the server's text.
#[tokio::test(flavor = "multi_thread")]
async fn an_unavailable_database_is_a_503_in_our_words() {
    let missing = std::env::temp_dir().join(format!("weir-none-{}", uuid::Uuid::now_v7()));
    let sqlite = format!("sqlite://{}", missing.join("no/such/dir/weir.db").display());
    for url in [
        "postgres://postgres:s3cretpw@127.0.0.1:1/nowhere",
        sqlite.as_str(),
    ] {
        let table = start(url, "- {kind: sql, name: q, query: 'SELECT 1 AS n'}").await;
        let answer = call(&table, "q", Value::Null).await;
        let error = failure(&answer);
        assert_eq!(error.status, Some(503), "{url}: {error}");
        assert!(
            error.code.as_deref().is_some_and(|c| c.starts_with("08")),
            "{error}"
        );
        assert!(
            error
                .message
                .starts_with("node `q`: cannot reach the database")
                || error
                    .message
                    .starts_with("node `q`: the database is unavailable: "),
            "{url}: {error}"
        );
        assert!(!answer.to_string().contains("s3cretpw"), "{answer}");
        assert!(!answer.to_string().contains("unable to open"), "{answer}");
    }
}

/// A plain read whose connection dies under it runs once more on a fresh
/// connection; a write never does. The session ends itself on the first
/// try (`pg_terminate_backend` of its own backend), as a killed backend
/// would; the sequence counts the tries.
#[tokio::test(flavor = "multi_thread")]
async fn a_read_whose_connection_died_runs_again_and_a_write_never_does() {
    let db = TestDb::postgres().await;
    let yaml = "
- kind: sql
  name: schema
  on_load: CREATE SEQUENCE IF NOT EXISTS tries; CREATE SEQUENCE IF NOT EXISTS writes; CREATE TABLE IF NOT EXISTS t (n BIGINT)
- kind: sql
  name: read
  query: SELECT CASE WHEN nextval('tries') = 1 THEN pg_terminate_backend(pg_backend_pid()) END AS killed, currval('tries') AS try
  answer: one
- kind: sql
  name: write
  query: INSERT INTO t SELECT nextval('writes') + CASE WHEN pg_terminate_backend(pg_backend_pid()) THEN 0 END
  answer: count
- {kind: sql, name: tries, query: 'SELECT (SELECT CASE WHEN is_called THEN last_value ELSE 0 END FROM writes) AS writes, (SELECT count(*) FROM t) AS rows', answer: one}
";
    let table = start(&db.url, yaml).await;
    let answer = call(&table, "read", Value::Null).await;
    assert_eq!(answer.get("try"), Some(&Value::Int(2)), "{answer}");
    let answer = call(&table, "write", Value::Null).await;
    let error = failure(&answer);
    assert_eq!(error.status, Some(503), "{error}");
    assert!(!error.message.contains("terminating"), "{error}");
    let tries = call(&table, "tries", Value::Null).await;
    assert_eq!(tries.get("rows"), Some(&Value::Int(0)), "{tries}");
    assert_eq!(
        tries.get("writes"),
        Some(&Value::Int(1)),
        "ran once: {tries}"
    );
}

/// A statement's deadline ends with it: DDL that runs long after a quick
/// statement with a short timeout, on the same pooled connection, is not
/// cut off by that timeout (SQLite's deadline is a progress handler left
/// on the connection, disarmed when its statement ends).
#[tokio::test(flavor = "multi_thread")]
async fn an_sqlite_deadline_ends_with_its_statement() {
    let db = TestDb::sqlite();
    let scheme = scheme(&db.url);
    let load = |yaml: &str| {
        let specs = parse(yaml, Format::Yaml, None).expect("parses");
        Bundle::compile(&scheme, specs, &Stored(db.url.clone())).unwrap_or_else(|d| panic!("{d}"))
    };
    let quick =
        load("- {kind: sql, name: quick, timeout: 5ms, query: 'SELECT 1 AS n', answer: one}");
    let table = quick.start(Limits::default()).await["default"].clone();
    assert_eq!(count(&call(&table, "quick", Value::Null).await), 1);
    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    // Hundreds of thousands of VM steps, well past the 5 ms deadline.
    let long = load(
        "
- kind: sql
  name: long
  on_load: >-
    CREATE TABLE IF NOT EXISTS long AS
    WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c LIMIT 300000)
    SELECT x FROM c
  query: SELECT count(*) AS n FROM long
  answer: one
",
    );
    let table = long.start(Limits::default()).await["default"].clone();
    for (_, name, status) in table.statuses().await {
        assert_eq!(
            status,
            Status::Active,
            "{name}: its on_load was interrupted"
        );
    }
    assert_eq!(count(&call(&table, "long", Value::Null).await), 300_000);
}
