-- Weir's store on PostgreSQL: specs, values, and the change stream that
-- loaders follow. Every write to specs or values appends one row to
-- `changes` (by trigger) and wakes loaders with NOTIFY weir_changes.
--
-- Ordering: the trigger takes a transaction-scoped advisory lock before it
-- allocates a change sequence number, so writers serialise from their first
-- change to their commit and sequence order is commit order. A loader that
-- has read up to seq N can never later see a change below N appear: no
-- change is skipped, however transactions interleave. Spec writes are
-- configuration changes, rare enough that this costs nothing measurable.

CREATE TABLE specs (
    id          uuid        PRIMARY KEY,
    namespace   text        NOT NULL,
    name        text        NOT NULL,
    kind        text        NOT NULL,
    document    jsonb       NOT NULL,
    revision    bigint      NOT NULL DEFAULT 1,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    UNIQUE (namespace, name),
    CHECK (length(namespace) > 0 AND length(name) > 0)
);

CREATE TABLE "values" (
    id          uuid        PRIMARY KEY,
    namespace   text        NOT NULL,
    name        text        NOT NULL,
    secret      boolean     NOT NULL DEFAULT false,
    document    jsonb       NOT NULL,
    revision    bigint      NOT NULL DEFAULT 1,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    UNIQUE (namespace, name),
    CHECK (length(namespace) > 0 AND length(name) > 0)
);

CREATE TABLE changes (
    seq         bigserial   PRIMARY KEY,
    entity      text        NOT NULL CHECK (entity IN ('spec', 'value')),
    id          uuid        NOT NULL,
    namespace   text        NOT NULL,
    name        text        NOT NULL,
    operation   text        NOT NULL CHECK (operation IN ('insert', 'update', 'delete')),
    revision    bigint      NOT NULL,
    at          timestamptz NOT NULL DEFAULT now()
);

-- What each engine last reported about each spec it runs (not a change).
CREATE TABLE spec_status (
    id          uuid        PRIMARY KEY,
    revision    bigint      NOT NULL,
    status      text        NOT NULL,
    message     text        NOT NULL DEFAULT '',
    reported_at timestamptz NOT NULL DEFAULT now()
);

CREATE FUNCTION weir_record_change() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    row_ record;
BEGIN
    PERFORM pg_advisory_xact_lock(7302021);
    IF TG_OP = 'DELETE' THEN row_ := OLD; ELSE row_ := NEW; END IF;
    INSERT INTO changes (entity, id, namespace, name, operation, revision)
    VALUES (TG_ARGV[0], row_.id, row_.namespace, row_.name, lower(TG_OP), row_.revision);
    PERFORM pg_notify('weir_changes', TG_ARGV[0]);
    RETURN NULL;
END
$$;

CREATE TRIGGER specs_changes AFTER INSERT OR UPDATE OR DELETE ON specs
    FOR EACH ROW EXECUTE FUNCTION weir_record_change('spec');
CREATE TRIGGER values_changes AFTER INSERT OR UPDATE OR DELETE ON "values"
    FOR EACH ROW EXECUTE FUNCTION weir_record_change('value');
