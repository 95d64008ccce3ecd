-- Weir's store on SQLite (the embedded default): the same tables as on
-- PostgreSQL. SQLite has one writer at a time, so the change sequence is
-- commit order by construction; loaders poll `changes`.

CREATE TABLE specs (
    id          TEXT    PRIMARY KEY,
    namespace   TEXT    NOT NULL,
    name        TEXT    NOT NULL,
    kind        TEXT    NOT NULL,
    document    TEXT    NOT NULL,
    revision    INTEGER NOT NULL DEFAULT 1,
    created_at  TEXT    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    updated_at  TEXT    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    UNIQUE (namespace, name),
    CHECK (length(namespace) > 0 AND length(name) > 0)
);

CREATE TABLE "values" (
    id          TEXT    PRIMARY KEY,
    namespace   TEXT    NOT NULL,
    name        TEXT    NOT NULL,
    secret      INTEGER NOT NULL DEFAULT 0,
    document    TEXT    NOT NULL,
    revision    INTEGER NOT NULL DEFAULT 1,
    created_at  TEXT    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    updated_at  TEXT    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    UNIQUE (namespace, name),
    CHECK (length(namespace) > 0 AND length(name) > 0)
);

CREATE TABLE changes (
    seq         INTEGER PRIMARY KEY AUTOINCREMENT,
    entity      TEXT    NOT NULL CHECK (entity IN ('spec', 'value')),
    id          TEXT    NOT NULL,
    namespace   TEXT    NOT NULL,
    name        TEXT    NOT NULL,
    operation   TEXT    NOT NULL CHECK (operation IN ('insert', 'update', 'delete')),
    revision    INTEGER NOT NULL,
    at          TEXT    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);

CREATE TABLE spec_status (
    id          TEXT    PRIMARY KEY,
    revision    INTEGER NOT NULL,
    status      TEXT    NOT NULL,
    message     TEXT    NOT NULL DEFAULT '',
    reported_at TEXT    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);

CREATE TRIGGER specs_insert AFTER INSERT ON specs BEGIN
    INSERT INTO changes (entity, id, namespace, name, operation, revision)
    VALUES ('spec', NEW.id, NEW.namespace, NEW.name, 'insert', NEW.revision);
END;
CREATE TRIGGER specs_update AFTER UPDATE ON specs BEGIN
    INSERT INTO changes (entity, id, namespace, name, operation, revision)
    VALUES ('spec', NEW.id, NEW.namespace, NEW.name, 'update', NEW.revision);
END;
CREATE TRIGGER specs_delete AFTER DELETE ON specs BEGIN
    INSERT INTO changes (entity, id, namespace, name, operation, revision)
    VALUES ('spec', OLD.id, OLD.namespace, OLD.name, 'delete', OLD.revision);
END;
CREATE TRIGGER values_insert AFTER INSERT ON "values" BEGIN
    INSERT INTO changes (entity, id, namespace, name, operation, revision)
    VALUES ('value', NEW.id, NEW.namespace, NEW.name, 'insert', NEW.revision);
END;
CREATE TRIGGER values_update AFTER UPDATE ON "values" BEGIN
    INSERT INTO changes (entity, id, namespace, name, operation, revision)
    VALUES ('value', NEW.id, NEW.namespace, NEW.name, 'update', NEW.revision);
END;
CREATE TRIGGER values_delete AFTER DELETE ON "values" BEGIN
    INSERT INTO changes (entity, id, namespace, name, operation, revision)
    VALUES ('value', OLD.id, OLD.namespace, OLD.name, 'delete', OLD.revision);
END;
