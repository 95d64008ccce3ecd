//! The jobs table's SQL, written once in the store's neutral form
//! ([`crate::store::sql`]) plus the two time expressions it needs:
//! `LATER($n)` is the database's now plus `$n` milliseconds (NULL when
//! `$n` is NULL; negative goes back), and `DEADLINE_IN` the milliseconds
//! from now to the deadline. Data is always bound, never spliced.

use crate::store::Backend;

/// Translates neutral jobs SQL for `backend`.
pub fn translate(backend: Backend, neutral: &str) -> String {
    let expanded = replace_later(backend, neutral).replace(
        "DEADLINE_IN",
        match backend {
            Backend::Postgres => "CAST(EXTRACT(EPOCH FROM (deadline - now())) * 1000 AS BIGINT)",
            Backend::Sqlite => {
                "CAST((julianday(deadline) - julianday('now')) * 86400000.0 AS INTEGER)"
            }
        },
    );
    crate::store::sql::translate(backend, &expanded)
}

fn replace_later(backend: Backend, sql: &str) -> String {
    let mut out = String::with_capacity(sql.len());
    let mut rest = sql;
    while let Some(start) = rest.find("LATER(") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 6..];
        let Some(end) = after.find(')') else {
            out.push_str(&rest[start..]);
            return out;
        };
        let param = &after[..end];
        out.push_str(&match backend {
            Backend::Postgres => {
                format!("(now() + {param}::bigint * interval '1 millisecond')")
            }
            Backend::Sqlite => {
                format!("strftime('%Y-%m-%dT%H:%M:%fZ', 'now', ({param} / 1000.0) || ' seconds')")
            }
        });
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    out
}

/// Every column of a job, in the order [`super::row::job`] reads them.
pub const COLUMNS: &str = "id::text, namespace, node, payload::text, status, attempt, max_attempts, \
    last_error::text, result::text, idempotency_key, \
    CAST(CASE WHEN cancel_requested THEN 1 ELSE 0 END AS BIGINT), TS(created_at), TS(scheduled_at), \
    TS(started_at), TS(heartbeat_at), TS(finished_at), TS(deadline), lease_holder, \
    TS(lease_expires_at), lease_token";

/// The fence every heartbeat and outcome passes: `$1` job, `$2` holder,
/// `$3` token.
pub const FENCE: &str =
    "id = $1::uuid AND status = 'building' AND lease_holder = $2 AND lease_token = $3";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spells_time_for_each_backend() {
        let neutral = "SET a = LATER($2), b = DEADLINE_IN WHERE c <= NOW()";
        let sqlite = translate(Backend::Sqlite, neutral);
        assert_eq!(
            sqlite,
            "SET a = strftime('%Y-%m-%dT%H:%M:%fZ', 'now', (?2 / 1000.0) || ' seconds'), \
             b = CAST((julianday(deadline) - julianday('now')) * 86400000.0 AS INTEGER) \
             WHERE c <= strftime('%Y-%m-%dT%H:%M:%fZ', 'now')"
        );
        let pg = translate(Backend::Postgres, neutral);
        assert!(
            pg.contains("(now() + $2::bigint * interval '1 millisecond')"),
            "{pg}"
        );
    }
}
