-- Durable jobs (issue 12) on SQLite: the same table as on PostgreSQL (see
-- migrations/postgres/0002_jobs.sql and docs/jobs.md). SQLite has one
-- writer at a time, so a claim is atomic by construction; workers poll.
-- Times are RFC 3339 text in UTC with milliseconds, which sort as they
-- compare.

CREATE TABLE jobs (
    id               TEXT    PRIMARY KEY,
    namespace        TEXT    NOT NULL,
    node             TEXT    NOT NULL,
    payload          TEXT    NOT NULL,
    status           TEXT    NOT NULL DEFAULT 'queued'
                     CHECK (status IN ('queued', 'building', 'success', 'failed', 'cancelled')),
    attempt          INTEGER NOT NULL DEFAULT 0,
    max_attempts     INTEGER NOT NULL CHECK (max_attempts >= 1),
    last_error       TEXT,
    result           TEXT,
    idempotency_key  TEXT,
    cancel_requested INTEGER NOT NULL DEFAULT 0,
    created_at       TEXT    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    scheduled_at     TEXT    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    started_at       TEXT,
    heartbeat_at     TEXT,
    finished_at      TEXT,
    deadline         TEXT,
    lease_holder     TEXT,
    lease_expires_at TEXT,
    lease_token      INTEGER NOT NULL DEFAULT 0,
    CHECK (length(namespace) > 0 AND length(node) > 0)
);

CREATE UNIQUE INDEX jobs_idempotency ON jobs (namespace, idempotency_key)
    WHERE idempotency_key IS NOT NULL;
CREATE INDEX jobs_ready ON jobs (scheduled_at, id) WHERE status = 'queued';
CREATE INDEX jobs_leases ON jobs (lease_expires_at) WHERE status = 'building';
CREATE INDEX jobs_deadlines ON jobs (deadline)
    WHERE deadline IS NOT NULL AND status IN ('queued', 'building');
CREATE INDEX jobs_finished ON jobs (finished_at)
    WHERE status IN ('success', 'failed', 'cancelled');
CREATE INDEX jobs_listing ON jobs (namespace, id);
