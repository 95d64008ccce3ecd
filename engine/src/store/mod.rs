//! The store: specs and values in PostgreSQL or SQLite, and the change
//! stream loaders follow (ARCHITECTURE §3).
//!
//! One implementation over sqlx's `Any` driver serves both backends; the
//! SQL differs only in spelling ([`sql`]). Writes of one call are one
//! transaction: all or nothing ([`write`]). Every row carries a revision,
//! and an update that states a stale one is refused. Listings for people
//! and clients ([`listing`]) never show a secret value's data. The store
//! compiles nothing and never logs or returns the database URL (it may hold
//! a password).

mod document;
pub mod impact;
pub mod jobs;
mod listing;
mod migrate;
mod sql;
pub mod stream;
mod write;

use std::time::Duration;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use sqlx::any::{AnyPoolOptions, AnyRow};
use sqlx::{AnyConnection, AnyPool, Connection as _, Row as _};
use uuid::Uuid;

pub use document::{Document, Entity, Extra};
pub use listing::{Filter, Listed};
pub use stream::Watch;
pub use write::{Changeset, Key};

/// Which database a store runs on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    /// Production and multi-instance; LISTEN/NOTIFY wakes loaders.
    Postgres,
    /// The embedded default; loaders poll.
    Sqlite,
}

/// What can go wrong in the store. Messages never contain the URL.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database refused or failed.
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    /// The URL names no supported backend.
    #[error("unsupported database URL: expected postgres://… or sqlite://…")]
    UnsupportedUrl,
    /// An update stated a revision that is no longer current.
    #[error(
        "{entity} `{namespace}/{name}` is at revision {current}, not {expected}: reload and retry"
    )]
    Conflict {
        entity: &'static str,
        namespace: String,
        name: String,
        expected: i64,
        current: i64,
    },
    /// No such row.
    #[error("no {entity} `{key}`")]
    NotFound { entity: &'static str, key: String },
    /// A create found the id or the name already taken.
    #[error("{entity} `{key}` already exists")]
    Exists { entity: &'static str, key: String },
    /// A watch asked for changes the stream no longer keeps.
    #[error(
        "changes after {after} were pruned (the oldest kept is {oldest}): list again and watch from now"
    )]
    Pruned { after: i64, oldest: i64 },
    /// A watch asked for changes after one that does not exist yet.
    #[error("change {after} is beyond the newest change, {head}")]
    Ahead { after: i64, head: i64 },
    /// The write would take down other specs (they lose a link target),
    /// and the caller did not ask for the cascade.
    #[error("this would deactivate {}: they link to what it removes (ask for the cascade to do it anyway)", .specs.join(", "))]
    WouldDeactivate { specs: Vec<String> },
    /// A document that cannot be written (does not serialise).
    #[error("{entity} `{key}` cannot be stored: {message}")]
    Invalid {
        entity: &'static str,
        key: String,
        message: String,
    },
}

/// One stored row, its document still untyped: a row edited by hand into
/// something that no longer decodes is reported by its reader, not fatal.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Row {
    /// Identity.
    pub id: Uuid,
    /// Namespace.
    pub namespace: String,
    /// Name within the namespace.
    pub name: String,
    /// The whole document (a secret value's data as `<redacted>` in
    /// listings).
    pub document: serde_json::Value,
    /// Bumped by every update; `If-Match` states it.
    pub revision: i64,
    /// RFC 3339.
    pub created_at: String,
    /// RFC 3339.
    pub updated_at: String,
}

impl Row {
    /// The typed document.
    pub fn decode<D: Document>(&self) -> Result<D, String> {
        serde_path_to_error::deserialize(&self.document).map_err(|e| {
            let path = e.path().to_string();
            format!("{path}: {}", e.into_inner())
        })
    }
}

/// One entry of the change stream.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ChangeRow {
    /// Position in the stream; increases in commit order.
    pub seq: i64,
    /// Spec or value.
    pub entity: Entity,
    /// The row changed.
    pub id: Uuid,
    /// Its namespace (after the change; before it, for a delete).
    pub namespace: String,
    /// Its name.
    pub name: String,
    /// `insert`, `update` or `delete`.
    pub operation: String,
    /// Its revision after the change.
    pub revision: i64,
}

/// What a commit did, or would do with `dry_run`: `namespace/name` each.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(default)]
pub struct Plan {
    /// New rows.
    pub created: Vec<String>,
    /// Rows whose document changed.
    pub updated: Vec<String>,
    /// Rows already as given.
    pub unchanged: Vec<String>,
    /// Rows deleted.
    pub deleted: Vec<String>,
    /// Rows asked to be deleted that did not exist.
    pub missing: Vec<String>,
    /// Other specs that the change takes down (they lose a link target):
    /// refused unless the caller asked for the cascade; listed by a dry
    /// run and by a cascading commit.
    pub deactivated: Vec<String>,
}

/// Every spec and value of some namespaces, and the change stream position
/// they are consistent with.
#[derive(Clone, Debug, Default)]
pub struct Snapshot {
    /// The last change included.
    pub head: i64,
    /// Spec rows.
    pub specs: Vec<Row>,
    /// Value rows.
    pub values: Vec<Row>,
}

/// Changes read together, with the rows they touch as of the same moment
/// (`None`: deleted).
#[derive(Clone, Debug, Default)]
pub struct Batch {
    /// The changes, oldest first.
    pub changes: Vec<ChangeRow>,
    /// Current spec rows by id.
    pub specs: std::collections::HashMap<Uuid, Option<Row>>,
    /// Current value rows by id.
    pub values: std::collections::HashMap<Uuid, Option<Row>>,
}

/// What an engine reported about one spec it runs.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct SpecStatus {
    /// The spec.
    pub id: Uuid,
    /// The revision the status is about.
    pub revision: i64,
    /// `active`, `inactive` or `failed`.
    pub status: String,
    /// Why, when not active.
    pub message: String,
}

/// A connection pool to one database.
#[derive(Clone)]
pub struct Store {
    pool: AnyPool,
    backend: Backend,
    url: std::sync::Arc<str>,
    /// The change feed watchers share, while any watches ([`stream`]).
    feed: std::sync::Arc<stream::SharedFeed>,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("backend", &self.backend)
            .finish_non_exhaustive()
    }
}

/// The advisory lock every PostgreSQL writer takes first (the change
/// trigger takes it too; see `migrations/postgres/0001_init.sql`).
const WRITE_LOCK: &str = "SELECT pg_advisory_xact_lock(7302021)";

impl Store {
    /// Connects; an SQLite file is created if missing. Does not migrate.
    pub async fn connect(url: &str) -> Result<Store, StoreError> {
        sqlx::any::install_default_drivers();
        let backend = match url.split(':').next() {
            Some("postgres" | "postgresql") => Backend::Postgres,
            Some("sqlite") => Backend::Sqlite,
            _ => return Err(StoreError::UnsupportedUrl),
        };
        let url = match backend {
            Backend::Sqlite if !url.contains("mode=") => {
                format!("{url}{}mode=rwc", if url.contains('?') { '&' } else { '?' })
            }
            _ => url.to_string(),
        };
        let options = AnyPoolOptions::new()
            .max_connections(match backend {
                Backend::Postgres => 10,
                Backend::Sqlite => 4,
            })
            .acquire_timeout(Duration::from_secs(10));
        // One direct connection first: the pool would retry until its
        // acquire timeout before saying why it cannot connect.
        AnyConnection::connect(&url).await?.close().await?;
        let pool = options.connect(&url).await?;
        if backend == Backend::Sqlite {
            // WAL lets readers (loaders) run while a writer commits.
            sqlx::query("PRAGMA journal_mode=WAL")
                .execute(&pool)
                .await?;
        }
        Ok(Store {
            pool,
            backend,
            url: url.into(),
            feed: Default::default(),
        })
    }

    /// Which backend this is.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// The URL, for opening a listener connection. Never log it.
    pub(crate) fn url(&self) -> &str {
        &self.url
    }

    /// Applies missing migrations; returns how many ran.
    pub async fn migrate(&self) -> Result<usize, StoreError> {
        migrate::run(&self.pool, self.backend).await
    }

    /// Closes every connection.
    pub async fn close(&self) {
        self.pool.close().await;
    }

    fn sql(&self, neutral: &str) -> String {
        sql::translate(self.backend, neutral)
    }

    async fn begin_write(&self) -> Result<sqlx::Transaction<'static, sqlx::Any>, StoreError> {
        match self.backend {
            Backend::Postgres => {
                let mut tx = self.pool.begin().await?;
                sqlx::query(WRITE_LOCK).execute(&mut *tx).await?;
                Ok(tx)
            }
            // IMMEDIATE takes the write lock at once, so a writer waits for
            // another instead of failing when it upgrades a read.
            Backend::Sqlite => Ok(self.pool.begin_with("BEGIN IMMEDIATE").await?),
        }
    }

    fn select(&self, entity: Entity, filter: &str) -> String {
        self.sql(&format!(
            "SELECT id::text, namespace, name, document::text, revision, TS(created_at), TS(updated_at) FROM {} {filter}",
            entity.table()
        ))
    }

    /// Rows of `entity` that pass `filter`, by namespace and name, as
    /// stored (secrets in clear: see [`Store::listed`] for showing them).
    pub async fn list(&self, entity: Entity, filter: &Filter) -> Result<Vec<Row>, StoreError> {
        // Values have no kind: a kind filter on them matches nothing.
        let kind = match entity {
            Entity::Spec => "($4::text IS NULL OR kind = $4)",
            Entity::Value => "$4::text IS NULL",
        };
        let sql = self.select(
            entity,
            &format!(
                "WHERE ($1::text IS NULL OR namespace = $1) AND ($2::text IS NULL OR name = $2) \
                 AND ($3::text IS NULL OR id = $3::uuid) AND {kind} ORDER BY namespace, name"
            ),
        );
        let rows = sqlx::query(&sql)
            .bind(filter.namespace.clone())
            .bind(filter.name.clone())
            .bind(filter.id.map(|id| id.to_string()))
            .bind(filter.kind.clone())
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(row).collect()
    }

    /// The spec named `name` in `namespace`, if one is stored.
    pub async fn spec_named(&self, namespace: &str, name: &str) -> Result<Option<Row>, StoreError> {
        let sql = self.select(Entity::Spec, "WHERE namespace = $1 AND name = $2");
        let found = sqlx::query(&sql)
            .bind(namespace)
            .bind(name)
            .fetch_optional(&self.pool)
            .await?;
        found.as_ref().map(row).transpose()
    }

    /// The row of `entity` with this id.
    pub async fn get(&self, entity: Entity, id: Uuid) -> Result<Option<Row>, StoreError> {
        let sql = self.select(entity, "WHERE id = $1::uuid");
        let found = sqlx::query(&sql)
            .bind(id.to_string())
            .fetch_optional(&self.pool)
            .await?;
        found.as_ref().map(row).transpose()
    }

    /// Every spec and value, with the change-stream position they match.
    pub async fn snapshot(&self) -> Result<Snapshot, StoreError> {
        let begin = match self.backend {
            Backend::Postgres => "BEGIN ISOLATION LEVEL REPEATABLE READ",
            Backend::Sqlite => "BEGIN",
        };
        let mut tx = self.pool.begin_with(begin).await?;
        let head: i64 = sqlx::query_scalar("SELECT COALESCE(MAX(seq), 0) FROM changes")
            .fetch_one(&mut *tx)
            .await?;
        let mut snapshot = Snapshot {
            head,
            ..Snapshot::default()
        };
        for entity in [Entity::Spec, Entity::Value] {
            let sql = self.select(entity, "ORDER BY namespace, name");
            let rows = sqlx::query(&sql).fetch_all(&mut *tx).await?;
            let rows = rows.iter().map(row).collect::<Result<Vec<_>, _>>()?;
            match entity {
                Entity::Spec => snapshot.specs = rows,
                Entity::Value => snapshot.values = rows,
            }
        }
        tx.commit().await?;
        Ok(snapshot)
    }

    /// Changes after `seq` and the current rows they touch, read in one
    /// consistent snapshot so a batch never mixes two transactions' states.
    pub async fn read_changes(&self, since: i64) -> Result<Batch, StoreError> {
        let begin = match self.backend {
            Backend::Postgres => "BEGIN ISOLATION LEVEL REPEATABLE READ",
            Backend::Sqlite => "BEGIN",
        };
        let mut tx = self.pool.begin_with(begin).await?;
        let sql = self.sql(
            "SELECT seq, entity, id::text, namespace, name, operation, revision FROM changes WHERE seq > $1 ORDER BY seq",
        );
        let found = sqlx::query(&sql).bind(since).fetch_all(&mut *tx).await?;
        let changes: Vec<ChangeRow> = found.iter().map(change).collect::<Result<_, _>>()?;
        let mut batch = Batch {
            changes,
            ..Batch::default()
        };
        for change in &batch.changes {
            let rows = match change.entity {
                Entity::Spec => &mut batch.specs,
                Entity::Value => &mut batch.values,
            };
            if rows.contains_key(&change.id) {
                continue;
            }
            let by_id = self.select(change.entity, "WHERE id = $1::uuid");
            let current = sqlx::query(&by_id)
                .bind(change.id.to_string())
                .fetch_optional(&mut *tx)
                .await?;
            rows.insert(change.id, current.as_ref().map(row).transpose()?);
        }
        tx.commit().await?;
        Ok(batch)
    }

    /// Changes after `seq`, oldest first.
    pub async fn changes_since(&self, seq: i64) -> Result<Vec<ChangeRow>, StoreError> {
        let sql = self.sql(
            "SELECT seq, entity, id::text, namespace, name, operation, revision FROM changes WHERE seq > $1 ORDER BY seq",
        );
        let rows = sqlx::query(&sql).bind(seq).fetch_all(&self.pool).await?;
        rows.iter().map(change).collect()
    }

    /// The oldest change still kept, if any.
    pub async fn oldest_change(&self) -> Result<Option<i64>, StoreError> {
        Ok(sqlx::query_scalar("SELECT MIN(seq) FROM changes")
            .fetch_one(&self.pool)
            .await?)
    }

    /// The newest change, or 0.
    pub async fn head(&self) -> Result<i64, StoreError> {
        Ok(
            sqlx::query_scalar("SELECT COALESCE(MAX(seq), 0) FROM changes")
                .fetch_one(&self.pool)
                .await?,
        )
    }

    /// Deletes all but the newest `keep` changes; returns how many went.
    pub async fn prune_changes(&self, keep: i64) -> Result<u64, StoreError> {
        let sql = self.sql("DELETE FROM changes WHERE seq <= (SELECT MAX(seq) FROM changes) - $1");
        Ok(sqlx::query(&sql)
            .bind(keep)
            .execute(&self.pool)
            .await?
            .rows_affected())
    }

    /// Records what this engine knows about the specs it runs, in one
    /// transaction of multi-row inserts (a cold start reports thousands).
    pub async fn report_statuses(&self, statuses: &[SpecStatus]) -> Result<(), StoreError> {
        const ROWS: usize = 200;
        let mut tx = self.pool.begin().await?;
        for chunk in statuses.chunks(ROWS) {
            let values: Vec<String> = (0..chunk.len())
                .map(|i| {
                    format!(
                        "(${}::uuid, ${}, ${}, ${})",
                        i * 4 + 1,
                        i * 4 + 2,
                        i * 4 + 3,
                        i * 4 + 4
                    )
                })
                .collect();
            let sql = self.sql(&format!(
                "INSERT INTO spec_status (id, revision, status, message) VALUES {} \
                 ON CONFLICT (id) DO UPDATE SET revision = excluded.revision, status = excluded.status, \
                 message = excluded.message, reported_at = NOW()",
                values.join(", ")
            ));
            let mut query = sqlx::query(&sql);
            for status in chunk {
                query = query
                    .bind(status.id.to_string())
                    .bind(status.revision)
                    .bind(status.status.clone())
                    .bind(status.message.clone());
            }
            query.execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Every reported spec status.
    pub async fn statuses(&self) -> Result<Vec<SpecStatus>, StoreError> {
        self.statuses_of(None).await
    }

    /// The reported status of one spec, or of every spec.
    async fn statuses_of(&self, id: Option<Uuid>) -> Result<Vec<SpecStatus>, StoreError> {
        let sql = self.sql(
            "SELECT id::text, revision, status, message FROM spec_status WHERE ($1::text IS NULL OR id = $1::uuid)",
        );
        let rows = sqlx::query(&sql)
            .bind(id.map(|id| id.to_string()))
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|r| {
                Ok(SpecStatus {
                    id: uuid(r.try_get::<String, _>(0)?)?,
                    revision: r.try_get(1)?,
                    status: r.try_get(2)?,
                    message: r.try_get(3)?,
                })
            })
            .collect()
    }
}

fn invalid(entity: Entity, key: &str, error: impl std::fmt::Display) -> StoreError {
    StoreError::Invalid {
        entity: entity.label(),
        key: key.to_string(),
        message: error.to_string(),
    }
}

fn uuid(text: String) -> Result<Uuid, StoreError> {
    Uuid::parse_str(&text).map_err(|e| StoreError::Database(sqlx::Error::Decode(Box::new(e))))
}

fn row(r: &AnyRow) -> Result<Row, StoreError> {
    let document: String = r.try_get(3)?;
    Ok(Row {
        id: uuid(r.try_get(0)?)?,
        namespace: r.try_get(1)?,
        name: r.try_get(2)?,
        document: serde_json::from_str(&document)
            .map_err(|e| StoreError::Database(sqlx::Error::Decode(Box::new(e))))?,
        revision: r.try_get(4)?,
        created_at: r.try_get(5)?,
        updated_at: r.try_get(6)?,
    })
}

/// A spec row selected as `id, namespace, name, ports` (its document's
/// `ports` as JSON text, or NULL).
fn linking(r: &AnyRow) -> Result<impact::Linking, StoreError> {
    let ports: Option<String> = r.try_get(3)?;
    Ok(impact::Linking::new(
        uuid(r.try_get(0)?)?,
        r.try_get(1)?,
        r.try_get(2)?,
        ports.as_deref(),
    ))
}

fn change(r: &AnyRow) -> Result<ChangeRow, StoreError> {
    let entity = match r.try_get::<String, _>(1)?.as_str() {
        "spec" => Entity::Spec,
        _ => Entity::Value,
    };
    Ok(ChangeRow {
        seq: r.try_get(0)?,
        entity,
        id: uuid(r.try_get(2)?)?,
        namespace: r.try_get(3)?,
        name: r.try_get(4)?,
        operation: r.try_get(5)?,
        revision: r.try_get(6)?,
    })
}
