//! Database failures as error packets a workflow can branch on.
//!
//! Every failure carries a SQLSTATE as its `code`, on both backends (SQLite's
//! result codes are mapped to the SQLSTATE of the same meaning, and the
//! native code is kept in `details.sqlite_code`), and an HTTP-like `status`
//! that says whose fault it is: a unique violation is 409, bad data 400, a
//! statement timeout 504, an unreachable database 503, anything else 500.
//! Messages come from the database, except a database that cannot serve
//! (503), which is told in our own words with its SQLSTATE; a connection URL (or its password)
//! never appears in one: failures that could quote it are described in our
//! own words, and every message is scrubbed besides. This module runs
//! nothing.

use deadpool_postgres::{PoolError, TimeoutType};
use sqlx::error::DatabaseError;
use tokio_postgres::error::DbError;
use weir_codecs::{ErrorValue, Value};

use super::pool::Url;

/// What every failure is told as: a message, its SQLSTATE, and context.
type Told = (String, String, Vec<(&'static str, String)>);

fn told(message: &str, sqlstate: &str) -> Told {
    (message.to_string(), sqlstate.to_string(), Vec::new())
}

/// A failure of the SQLite driver (`sqlx`), described without the URL.
pub fn from_sqlx(error: &sqlx::Error, url: &Url) -> ErrorValue {
    let told = match error {
        sqlx::Error::Database(db) => sqlite_database(db.as_ref()),
        sqlx::Error::PoolTimedOut => told("no database connection became free in time", "08000"),
        sqlx::Error::PoolClosed => told("the connection pool is closed", "08003"),
        sqlx::Error::Io(io) => unreachable_database(io),
        sqlx::Error::Tls(_) => told("the TLS handshake with the database failed", "08006"),
        // Both may quote parts of the URL: say only what kind of thing failed.
        sqlx::Error::Configuration(_) => told("the connection URL is not valid", "08001"),
        sqlx::Error::Protocol(_) => told("the database answered something unexpected", "08P01"),
        other => told(&format!("database driver error: {other}"), "XX000"),
    };
    failure(told, url)
}

/// A failure of the PostgreSQL driver (`tokio-postgres`), described
/// without the URL.
pub fn from_postgres(error: &tokio_postgres::Error, url: &Url) -> ErrorValue {
    let io = std::error::Error::source(error).and_then(|s| s.downcast_ref::<std::io::Error>());
    let told = match (error.as_db_error(), io) {
        (Some(db), _) => postgres_database(db),
        (None, Some(io)) => unreachable_database(io),
        _ if error.is_closed() => told("the database connection is closed", "08006"),
        // Its text may quote parts of the URL: say only what failed.
        _ if error.to_string().starts_with("invalid configuration") => {
            told("the connection URL is not valid", "08001")
        }
        _ => told(&format!("database driver error: {error}"), "XX000"),
    };
    failure(told, url)
}

/// A PostgreSQL connection the pool could not lend.
pub fn from_pool(error: &PoolError, url: &Url) -> ErrorValue {
    match error {
        PoolError::Backend(e) => from_postgres(e, url),
        PoolError::Timeout(TimeoutType::Wait) => failure(
            told("no database connection became free in time", "08000"),
            url,
        ),
        PoolError::Timeout(_) => failure(
            told(
                "cannot reach the database: it did not answer in time",
                "08006",
            ),
            url,
        ),
        PoolError::Closed => failure(told("the connection pool is closed", "08003"), url),
        other => failure(
            told(&format!("connection pool error: {other}"), "XX000"),
            url,
        ),
    }
}

fn unreachable_database(io: &std::io::Error) -> Told {
    told(
        &format!("cannot reach the database: {}", io.kind()),
        "08006",
    )
}

/// The error packet of `told`, scrubbed of the URL.
fn failure((message, sqlstate, details): Told, url: &Url) -> ErrorValue {
    let mut failure = ErrorValue::new(scrub(&message, url))
        .with_code(&sqlstate)
        .with_status(status(&sqlstate));
    if !details.is_empty() {
        let details = details
            .into_iter()
            .map(|(k, v)| (k, Value::string(scrub(&v, url))));
        failure = failure.with_details(Value::map(details));
    }
    failure
}

/// A database that cannot serve now (status 503: unreachable, shutting
/// down, out of resources, locked) is told in our words, naming the
/// SQLSTATE: the server's own text says nothing a client can act on, and
/// may say more about the server than a client should read. The log keeps
/// the server's text.
fn unavailable(code: &str, server_text: &str) -> Option<Told> {
    if status(code) != 503 {
        return None;
    }
    let reason = match code {
        "57P01" | "57P02" => "it closed the connection (it was shut down or restarted)",
        "57P03" => "it is not accepting connections now (starting up or shutting down)",
        "55P03" => "another transaction holds a lock the statement needs",
        c if c.starts_with("08") => "the connection to it failed",
        c if c.starts_with("53") => "it is out of resources (memory, disk or connections)",
        _ => "it cannot run the statement now",
    };
    tracing::warn!(
        sqlstate = code,
        message = server_text,
        "the database is unavailable"
    );
    Some((
        format!("the database is unavailable: {reason} (SQLSTATE {code})"),
        code.to_string(),
        vec![("sqlstate", code.to_string())],
    ))
}

/// Whether `error` says the connection was lost (it closed, or the server
/// ended the session), rather than the statement failing on its own.
pub fn connection_lost(error: &tokio_postgres::Error) -> bool {
    let io = std::error::Error::source(error).is_some_and(|s| s.is::<std::io::Error>());
    let ended = error.as_db_error().is_some_and(|db| {
        let code = db.code().code();
        matches!(code, "57P01" | "57P02" | "57P03") || code.starts_with("08")
    });
    error.is_closed() || io || ended
}

/// The message, SQLSTATE and context of an error PostgreSQL reported.
fn postgres_database(db: &DbError) -> Told {
    let code = db.code().code().to_string();
    if let Some(told) = unavailable(&code, db.message()) {
        return told;
    }
    let mut details = vec![("sqlstate", code.clone())];
    let optional = [
        ("detail", db.detail()),
        ("hint", db.hint()),
        ("table", db.table()),
        ("column", db.column()),
        ("constraint", db.constraint()),
    ];
    details.extend(
        optional
            .into_iter()
            .filter_map(|(k, v)| v.map(|v| (k, v.to_string()))),
    );
    (db.message().to_string(), code, details)
}

/// The message, SQLSTATE and context of an error SQLite reported.
fn sqlite_database(db: &dyn DatabaseError) -> Told {
    let native = db.code().map(|c| c.into_owned()).unwrap_or_default();
    let sqlstate = native
        .parse::<i32>()
        .map_or("HY000", sqlite_sqlstate)
        .to_string();
    if let Some(told) = unavailable(&sqlstate, db.message()) {
        return told;
    }
    let details = vec![("sqlstate", sqlstate.clone()), ("sqlite_code", native)];
    (db.message().to_string(), sqlstate, details)
}

/// The SQLSTATE of an SQLite (extended) result code.
fn sqlite_sqlstate(code: i32) -> &'static str {
    match code {
        2067 | 1555 => "23505",         // SQLITE_CONSTRAINT_UNIQUE, _PRIMARYKEY
        787 => "23503",                 // SQLITE_CONSTRAINT_FOREIGNKEY
        1299 => "23502",                // SQLITE_CONSTRAINT_NOTNULL
        275 => "23514",                 // SQLITE_CONSTRAINT_CHECK
        c if c & 0xff == 19 => "23000", // other SQLITE_CONSTRAINT
        c if c & 0xff == 5 || c & 0xff == 6 => "55P03", // SQLITE_BUSY, SQLITE_LOCKED
        9 => "57014",                   // SQLITE_INTERRUPT: our statement timeout
        c if c & 0xff == 8 => "25006",  // SQLITE_READONLY
        13 => "53100",                  // SQLITE_FULL
        c if c & 0xff == 14 => "08001", // SQLITE_CANTOPEN
        18 => "54000",                  // SQLITE_TOOBIG
        20 => "22000",                  // SQLITE_MISMATCH
        25 => "22023",                  // SQLITE_RANGE
        1 => "42000",                   // SQLITE_ERROR: syntax, unknown table or column
        _ => "HY000",
    }
}

/// The HTTP-like status of a SQLSTATE: who should act, the client (4xx),
/// or the operator (5xx).
pub fn status(sqlstate: &str) -> u16 {
    match sqlstate {
        "23502" | "23514" => 400,        // a missing or out-of-range value
        s if s.starts_with("23") => 409, // unique, foreign key, exclusion
        s if s.starts_with("22") => 400, // data exception: bad input
        "40001" | "40P01" => 409,        // serialization failure, deadlock: retry
        "57014" => 504,                  // statement timeout
        s if s.starts_with("55") => 503, // not in a state to run it now (locked, in use)
        s if s.starts_with("08") || s.starts_with("53") || s.starts_with("57P") => 503,
        _ => 500,
    }
}

/// `message` with the URL, and the password inside it, replaced.
pub fn scrub(message: &str, url: &Url) -> String {
    let full = url.expose();
    let mut scrubbed = message.replace(full, "<database url>");
    if let Some(password) = password(full).filter(|p| p.len() >= 3) {
        scrubbed = scrubbed.replace(password, "<redacted>");
    }
    scrubbed
}

/// The password of `scheme://user:password@host…`, if any.
fn password(url: &str) -> Option<&str> {
    let rest = url.split_once("://")?.1;
    let userinfo = rest.rsplit_once('@')?.0;
    let (_, password) = userinfo.split_once(':')?;
    (!password.is_empty()).then_some(password)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_say_whose_fault_it_is() {
        assert_eq!(status("23505"), 409);
        assert_eq!(status("23502"), 400);
        assert_eq!(status("22P02"), 400);
        assert_eq!(status("57014"), 504);
        assert_eq!(status("08006"), 503);
        assert_eq!(status("42P01"), 500);
        assert_eq!(sqlite_sqlstate(2067), "23505");
        assert_eq!(sqlite_sqlstate(517), "55P03");
        assert_eq!(sqlite_sqlstate(9), "57014");
        assert_eq!(sqlite_sqlstate(1), "42000");
        assert_eq!(status("55000"), 503);
    }

    #[test]
    fn an_unavailable_database_is_told_in_our_words() {
        let (message, code, _) = unavailable("55000", "recovery is in progress").unwrap();
        assert_eq!(
            (message.as_str(), code.as_str()),
            (
                "the database is unavailable: it cannot run the statement now (SQLSTATE 55000)",
                "55000"
            )
        );
        let (message, ..) = unavailable("57P01", "terminating connection").unwrap();
        assert!(!message.contains("terminating"), "{message}");
        assert!(unavailable("23505", "duplicate key").is_none());
    }

    #[test]
    fn urls_and_passwords_are_scrubbed() {
        let url = Url::parse("postgres://me:s3cret@db:5432/app").unwrap();
        assert_eq!(password(url.expose()), Some("s3cret"));
        let text = scrub(
            "failed on postgres://me:s3cret@db:5432/app and s3cret",
            &url,
        );
        assert!(!text.contains("s3cret"), "{text}");
        let io = from_sqlx(
            &sqlx::Error::Io(std::io::Error::from(std::io::ErrorKind::ConnectionRefused)),
            &url,
        );
        assert_eq!((io.code.as_deref(), io.status), (Some("08006"), Some(503)));
        assert!(io.message.contains("connection refused"), "{}", io.message);
        let bad = from_sqlx(
            &sqlx::Error::Configuration("postgres://me:s3cret@db:5432/app".into()),
            &url,
        );
        assert!(!bad.message.contains("s3cret"));
        assert_eq!(password("sqlite://weir.db"), None);
    }
}
