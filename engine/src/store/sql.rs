//! SQL written once, for both backends.
//!
//! Statements are written in a neutral form and translated when the store
//! opens: `$1` placeholders become `?1` on SQLite; `::uuid`, `::jsonb` and
//! `::text` casts are kept on PostgreSQL and dropped on SQLite; `NOW()`,
//! `TS(column)` (a timestamp as RFC 3339 text) and `JSON_STRINGS($n::jsonb)`
//! (the strings of a JSON array, bound as text, as rows) get each backend's
//! spelling.
//! Only constant text is translated: data is always bound, never spliced.

use super::Backend;

/// Translates neutral SQL for `backend`.
pub fn translate(backend: Backend, neutral: &str) -> String {
    match backend {
        Backend::Postgres => replace_ts(neutral, |c| {
            format!("to_char({c} AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')")
        })
        .replace("NOW()", "now()")
        .replace("JSON_STRINGS(", "SELECT jsonb_array_elements_text("),
        Backend::Sqlite => replace_ts(neutral, str::to_string)
            .replace("::uuid", "")
            .replace("::jsonb", "")
            .replace("::text", "")
            .replace("NOW()", "strftime('%Y-%m-%dT%H:%M:%fZ', 'now')")
            .replace("JSON_STRINGS(", "SELECT value FROM json_each(")
            .replace('$', "?"),
    }
}

fn replace_ts(sql: &str, spell: impl Fn(&str) -> String) -> String {
    let mut out = String::with_capacity(sql.len());
    let mut rest = sql;
    while let Some(start) = rest.find("TS(") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 3..];
        let Some(end) = after.find(')') else {
            out.push_str(&rest[start..]);
            return out;
        };
        out.push_str(&spell(&after[..end]));
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn translates_for_each_backend() {
        let neutral = "SELECT id::text, TS(updated_at) FROM t WHERE id = $1::uuid AND d = $2::jsonb AND at < NOW()";
        assert_eq!(
            translate(Backend::Sqlite, neutral),
            "SELECT id, updated_at FROM t WHERE id = ?1 AND d = ?2 AND at < strftime('%Y-%m-%dT%H:%M:%fZ', 'now')"
        );
        let pg = translate(Backend::Postgres, neutral);
        assert!(
            pg.contains("id::text")
                && pg.contains("$1::uuid")
                && pg.contains("to_char(updated_at AT TIME ZONE 'UTC'")
        );
        let names = "name IN (JSON_STRINGS($2::jsonb))";
        assert_eq!(
            translate(Backend::Sqlite, names),
            "name IN (SELECT value FROM json_each(?2))"
        );
        assert_eq!(
            translate(Backend::Postgres, names),
            "name IN (SELECT jsonb_array_elements_text($2::jsonb))"
        );
    }
}
