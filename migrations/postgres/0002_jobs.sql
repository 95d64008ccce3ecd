-- Durable jobs (issue 12): work a node hands off to run later, in any
-- engine sharing this database. See docs/jobs.md for the states, leases and
-- fencing.
--
-- A job is `queued` until an engine claims it (`building`), then ends
-- `success`, `failed` or `cancelled`. While building, `lease_holder` owns it
-- until `lease_expires_at` (renewed by heartbeats); `lease_token` grows by
-- one at every claim, and a heartbeat or an outcome is accepted only with
-- the current holder and token (fencing). Times come from this clock.

CREATE TABLE jobs (
    id               uuid        PRIMARY KEY,
    namespace        text        NOT NULL,
    node             text        NOT NULL,
    payload          jsonb       NOT NULL,
    status           text        NOT NULL DEFAULT 'queued'
                     CHECK (status IN ('queued', 'building', 'success', 'failed', 'cancelled')),
    attempt          bigint      NOT NULL DEFAULT 0,
    max_attempts     bigint      NOT NULL CHECK (max_attempts >= 1),
    last_error       jsonb,
    result           jsonb,
    idempotency_key  text,
    cancel_requested boolean     NOT NULL DEFAULT false,
    created_at       timestamptz NOT NULL DEFAULT now(),
    scheduled_at     timestamptz NOT NULL DEFAULT now(),
    started_at       timestamptz,
    heartbeat_at     timestamptz,
    finished_at      timestamptz,
    deadline         timestamptz,
    lease_holder     text,
    lease_expires_at timestamptz,
    lease_token      bigint      NOT NULL DEFAULT 0,
    CHECK (length(namespace) > 0 AND length(node) > 0)
);

-- The same key twice in a namespace is the same job.
CREATE UNIQUE INDEX jobs_idempotency ON jobs (namespace, idempotency_key)
    WHERE idempotency_key IS NOT NULL;
-- What a claim scans: ready jobs, oldest first.
CREATE INDEX jobs_ready ON jobs (scheduled_at, id) WHERE status = 'queued';
-- What the sweeper scans: leases that may have run out.
CREATE INDEX jobs_leases ON jobs (lease_expires_at) WHERE status = 'building';
-- Jobs with a deadline still to meet.
CREATE INDEX jobs_deadlines ON jobs (deadline)
    WHERE deadline IS NOT NULL AND status IN ('queued', 'building');
-- What pruning scans.
CREATE INDEX jobs_finished ON jobs (finished_at)
    WHERE status IN ('success', 'failed', 'cancelled');
CREATE INDEX jobs_listing ON jobs (namespace, id);

-- Workers LISTEN on weir_jobs: a job that becomes queued wakes them within
-- milliseconds (identical payloads of one transaction are sent once).
CREATE FUNCTION weir_jobs_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('weir_jobs', '');
    RETURN NULL;
END
$$;

CREATE TRIGGER jobs_queued AFTER INSERT OR UPDATE OF status ON jobs
    FOR EACH ROW WHEN (NEW.status = 'queued') EXECUTE FUNCTION weir_jobs_notify();
