//! Reading a `sql` spec's statement: its parameters and whether it only
//! reads.
//!
//! A statement names its parameters `:name` or numbers them `$1`, `$2`, …
//! (one style per statement). They are found by a small lexer that knows
//! SQL's string literals (`'…'`, `E'…'`, `$tag$…$tag$`), quoted identifiers
//! (`"…"`, `` `…` ``), comments (`--`, nested `/* */`) and PostgreSQL's
//! `::` casts, so a `:name` inside a literal stays text. Each placeholder is
//! rewritten to the backend's own (`$n` for PostgreSQL, `?n` for SQLite);
//! values are always bound, never spliced into the text. This module does
//! no I/O and knows nothing of values.

use std::fmt::Write as _;

/// The two SQL dialects a statement can be rewritten for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dialect {
    /// `$1`, `$2`, …
    Postgres,
    /// `?1`, `?2`, …
    Sqlite,
}

impl Dialect {
    /// The name specs and messages use.
    pub fn name(self) -> &'static str {
        match self {
            Dialect::Postgres => "postgres",
            Dialect::Sqlite => "sqlite",
        }
    }
}

/// How a statement names its parameters.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Placeholders {
    /// No parameters.
    None,
    /// `:name` parameters, in order of first appearance; the n-th name is
    /// bound as parameter n + 1.
    Named(Vec<String>),
    /// `$1` … `$count`.
    Positional(usize),
}

/// A statement ready for one dialect.
#[derive(Clone, Debug)]
pub struct Statement {
    /// The text with the dialect's own placeholders.
    pub text: String,
    /// The parameters it binds.
    pub placeholders: Placeholders,
    /// Whether it only reads: a `SELECT`, `VALUES` or `TABLE` without a
    /// locking clause (`FOR UPDATE`, `FOR SHARE`, …) or `INTO`. Such a
    /// statement may run before its process's transaction begins (see
    /// `transaction.rs`).
    pub reads_only: bool,
    /// Whether the text holds a single statement (no `;` with more SQL
    /// after it): SQLite runs such a statement atomically on its own.
    pub single: bool,
}

/// Reads `sql` and rewrites its placeholders for `dialect`. The error says
/// what is wrong, for the spec field it came from.
pub fn parse(sql: &str, dialect: Dialect) -> Result<Statement, String> {
    let scan = scan(sql)?;
    let mut text = String::with_capacity(sql.len() + 8);
    let mut names: Vec<String> = Vec::new();
    let mut last = 0;
    let mut highest = 0;
    let (mut named, mut numbered) = (false, false);
    for found in &scan.placeholders {
        text.push_str(&sql[last..found.start]);
        last = found.end;
        let index = match &found.name {
            Name::Named(name) => {
                named = true;
                match names.iter().position(|n| n == name) {
                    Some(i) => i + 1,
                    None => {
                        names.push(name.clone());
                        names.len()
                    }
                }
            }
            Name::Numbered(n) => {
                numbered = true;
                highest = highest.max(*n);
                *n
            }
        };
        // Writing to a String cannot fail.
        let _ = match dialect {
            Dialect::Postgres => write!(text, "${index}"),
            Dialect::Sqlite => write!(text, "?{index}"),
        };
    }
    text.push_str(&sql[last..]);
    if named && numbered {
        return Err("mixes `:name` and `$1` parameters: use one style in a statement".to_string());
    }
    if scan.words.is_empty() {
        return Err("the statement is empty: it has no SQL outside comments".to_string());
    }
    let placeholders = if named {
        Placeholders::Named(names)
    } else if numbered {
        let seen: std::collections::BTreeSet<usize> = scan
            .placeholders
            .iter()
            .filter_map(|p| match p.name {
                Name::Numbered(n) => Some(n),
                Name::Named(_) => None,
            })
            .collect();
        if let Some(missing) = (1..=highest).find(|n| !seen.contains(n)) {
            return Err(format!(
                "uses `${highest}` but not `${missing}`: number parameters from $1 without gaps"
            ));
        }
        Placeholders::Positional(highest)
    } else {
        Placeholders::None
    };
    Ok(Statement {
        text,
        placeholders,
        reads_only: reads_only(&scan.words),
        single: !scan.several,
    })
}

/// A `SELECT`, `VALUES` or `TABLE` statement that locks no rows and
/// creates no table. `WITH` is counted as a write: a CTE may modify data.
fn reads_only(words: &[String]) -> bool {
    let Some(first) = words.first() else {
        return false;
    };
    if !matches!(first.as_str(), "select" | "values" | "table") {
        return false;
    }
    let locks = words.windows(2).any(|pair| {
        pair[0] == "for" && matches!(pair[1].as_str(), "update" | "share" | "no" | "key")
    });
    !locks && !words.iter().any(|w| w == "into")
}

#[derive(Debug)]
enum Name {
    Named(String),
    Numbered(usize),
}

#[derive(Debug)]
struct Found {
    start: usize,
    end: usize,
    name: Name,
}

struct Scan {
    placeholders: Vec<Found>,
    /// Bare words outside literals and comments, lower-cased.
    words: Vec<String>,
    /// A word follows a `;`: the text holds more than one statement.
    several: bool,
}

fn is_ident_start(c: u8) -> bool {
    c.is_ascii_alphabetic() || c == b'_' || c >= 0x80
}

fn is_ident(c: u8) -> bool {
    is_ident_start(c) || c.is_ascii_digit() || c == b'$'
}

/// One pass over the text. Works on bytes: every delimiter is ASCII, and a
/// UTF-8 continuation byte never equals one, so slicing stays on character
/// boundaries.
fn scan(sql: &str) -> Result<Scan, String> {
    let bytes = sql.as_bytes();
    let mut placeholders = Vec::new();
    let mut words = Vec::new();
    let (mut ended, mut several) = (false, false);
    let mut i = 0;
    let unterminated = |what: &str, at: usize| {
        let line = sql[..at].matches('\n').count() + 1;
        format!("{what} opened on line {line} is never closed")
    };
    while i < bytes.len() {
        let c = bytes[i];
        let previous_ident = i > 0 && is_ident(bytes[i - 1]);
        match c {
            b'\'' => {
                let escapes = i > 0
                    && matches!(bytes[i - 1], b'e' | b'E')
                    && !(i > 1 && is_ident(bytes[i - 2]));
                i = quoted(bytes, i, b'\'', escapes).ok_or_else(|| unterminated("a string", i))?;
            }
            b'"' | b'`' => {
                i = quoted(bytes, i, c, false).ok_or_else(|| unterminated("an identifier", i))?;
            }
            b'-' if bytes.get(i + 1) == Some(&b'-') => {
                i = sql[i..].find('\n').map_or(bytes.len(), |n| i + n + 1);
            }
            b'/' if bytes.get(i + 1) == Some(&b'*') => {
                i = block_comment(bytes, i).ok_or_else(|| unterminated("a comment", i))?;
            }
            b':' if bytes.get(i + 1) == Some(&b':') => i += 2,
            b':' if bytes.get(i + 1).copied().is_some_and(is_ident_start) => {
                let end = word_end(bytes, i + 1);
                placeholders.push(Found {
                    start: i,
                    end,
                    name: Name::Named(sql[i + 1..end].to_string()),
                });
                i = end;
            }
            b'$' if !previous_ident && bytes.get(i + 1).is_some_and(u8::is_ascii_digit) => {
                let end = (i + 1..bytes.len())
                    .find(|&j| !bytes[j].is_ascii_digit())
                    .unwrap_or(bytes.len());
                let n: usize = sql[i + 1..end]
                    .parse()
                    .map_err(|_| format!("`{}` is not a parameter number", &sql[i..end]))?;
                if n == 0 {
                    return Err("parameters are numbered from $1".to_string());
                }
                placeholders.push(Found {
                    start: i,
                    end,
                    name: Name::Numbered(n),
                });
                i = end;
            }
            b'$' if !previous_ident => match dollar_tag(bytes, i) {
                Some(tag_end) => {
                    let tag = &sql[i..tag_end];
                    i = sql[tag_end..]
                        .find(tag)
                        .map(|n| tag_end + n + tag.len())
                        .ok_or_else(|| unterminated("a dollar-quoted string", i))?;
                }
                None => i += 1,
            },
            b';' => {
                ended = true;
                i += 1;
            }
            c if is_ident_start(c) && !previous_ident => {
                several |= ended;
                let end = word_end(bytes, i);
                words.push(sql[i..end].to_ascii_lowercase());
                i = end;
            }
            _ => i += 1,
        }
    }
    Ok(Scan {
        placeholders,
        words,
        several,
    })
}

fn word_end(bytes: &[u8], from: usize) -> usize {
    (from..bytes.len())
        .find(|&j| !(is_ident(bytes[j]) && bytes[j] != b'$'))
        .unwrap_or(bytes.len())
}

/// The index after the closing `quote` of a literal opened at `open`; a
/// doubled quote is an escaped one, and so is `\'` in an `E'…'` string.
fn quoted(bytes: &[u8], open: usize, quote: u8, backslash_escapes: bool) -> Option<usize> {
    let mut i = open + 1;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' if backslash_escapes => i += 2,
            c if c == quote && bytes.get(i + 1) == Some(&quote) => i += 2,
            c if c == quote => return Some(i + 1),
            _ => i += 1,
        }
    }
    None
}

/// The index after a `/* … */` comment opened at `open`; they nest, as in
/// PostgreSQL.
fn block_comment(bytes: &[u8], open: usize) -> Option<usize> {
    let mut depth = 0;
    let mut i = open;
    while i + 1 < bytes.len() {
        match (bytes[i], bytes[i + 1]) {
            (b'/', b'*') => {
                depth += 1;
                i += 2;
            }
            (b'*', b'/') => {
                depth -= 1;
                i += 2;
                if depth == 0 {
                    return Some(i);
                }
            }
            _ => i += 1,
        }
    }
    None
}

/// The end of a `$tag$` opening a dollar-quoted string at `open`, if one
/// does.
fn dollar_tag(bytes: &[u8], open: usize) -> Option<usize> {
    let mut i = open + 1;
    if bytes.get(i) == Some(&b'$') {
        return Some(i + 1);
    }
    if !bytes.get(i).copied().is_some_and(is_ident_start) {
        return None;
    }
    while i < bytes.len() && is_ident(bytes[i]) && bytes[i] != b'$' {
        i += 1;
    }
    (bytes.get(i) == Some(&b'$')).then_some(i + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pg(sql: &str) -> Statement {
        parse(sql, Dialect::Postgres).unwrap()
    }

    #[test]
    fn named_parameters_become_numbered_once_each() {
        let s = pg("SELECT * FROM t WHERE a = :a AND b > :b OR a < :a");
        assert_eq!(s.text, "SELECT * FROM t WHERE a = $1 AND b > $2 OR a < $1");
        assert_eq!(
            s.placeholders,
            Placeholders::Named(vec!["a".into(), "b".into()])
        );
        let lite = parse("SELECT :x, :y, :x", Dialect::Sqlite).unwrap();
        assert_eq!(lite.text, "SELECT ?1, ?2, ?1");
    }

    #[test]
    fn literals_comments_and_casts_are_left_alone() {
        let s = pg(concat!(
            "SELECT ':no', \"col:no\", E'it\\'s :no', $$ :no $$, $t$ :no $t$, ",
            "x::text, :yes -- :no\n/* :no /* :no */ */ + `:no`"
        ));
        assert_eq!(s.placeholders, Placeholders::Named(vec!["yes".into()]));
        assert!(s.text.contains("x::text, $1 --"), "{}", s.text);
        let doubled = pg("SELECT 'it''s :no', :yes");
        assert_eq!(
            doubled.placeholders,
            Placeholders::Named(vec!["yes".into()])
        );
    }

    #[test]
    fn positional_parameters_are_kept_or_rewritten() {
        let s = pg("SELECT $1, $2, $1");
        assert_eq!(
            (s.text.as_str(), &s.placeholders),
            ("SELECT $1, $2, $1", &Placeholders::Positional(2))
        );
        let lite = parse("SELECT $2, $1", Dialect::Sqlite).unwrap();
        assert_eq!(lite.text, "SELECT ?2, ?1");
        assert!(pg("SELECT 1").placeholders == Placeholders::None);
        assert!(
            pg("SELECT a$1 FROM t").placeholders == Placeholders::None,
            "part of a name"
        );
    }

    #[test]
    fn bad_statements_say_what_is_wrong() {
        let err = |sql| parse(sql, Dialect::Postgres).unwrap_err();
        assert!(err("SELECT :a, $1").contains("mixes"));
        assert!(err("SELECT $2").contains("but not `$1`"));
        assert!(err("SELECT $0").contains("from $1"));
        assert!(err("SELECT 'open").contains("a string opened on line 1"));
        assert!(err("SELECT 1 /* open").contains("a comment"));
        assert!(err("SELECT\n$x$ open").contains("dollar-quoted string opened on line 2"));
        assert!(err("  -- only a comment\n").contains("empty"));
        assert!(err("").contains("empty"));
    }

    #[test]
    fn reads_are_told_from_writes() {
        assert!(pg("select * from t where id = :id").reads_only);
        assert!(pg("  VALUES (1)").reads_only);
        assert!(!pg("SELECT * FROM t FOR UPDATE").reads_only);
        assert!(!pg("SELECT * FROM t FOR NO KEY UPDATE").reads_only);
        assert!(!pg("SELECT * INTO t2 FROM t").reads_only);
        assert!(!pg("WITH x AS (DELETE FROM t RETURNING *) SELECT * FROM x").reads_only);
        assert!(!pg("INSERT INTO t VALUES (:a)").reads_only);
        assert!(
            pg("SELECT 'for update' AS note").reads_only,
            "inside a literal"
        );
    }

    #[test]
    fn several_statements_are_told_from_one() {
        assert!(pg("UPDATE t SET a = 1").single);
        assert!(pg("UPDATE t SET a = 1;  -- done\n").single);
        assert!(
            pg("INSERT INTO t VALUES ('a; b')").single,
            "inside a literal"
        );
        assert!(pg("SELECT 1 /* ; SELECT 2 */").single, "inside a comment");
        assert!(!pg("UPDATE t SET a = 1; UPDATE u SET b = 2").single);
        assert!(!pg("DELETE FROM t;DELETE FROM u;").single);
    }
}
