//! Writing to the store: every call is one transaction, all or nothing.
//!
//! [`Store::commit`] is the one batch write: it deletes, then creates or
//! updates, matching documents to rows by namespace and name (so a
//! re-applied document keeps its id). `weir apply`, `weir delete` and the
//! system API's batch endpoint all go through it. The single-row writes
//! ([`Store::create`], [`Store::update`], [`Store::remove`]) check what the
//! row is now (absent, at the revision the caller expects) inside the same
//! transaction that changes it. Nothing here validates a spec: callers
//! check documents before they write them (see [`crate::admission`]).

use std::collections::{BTreeMap, HashMap, HashSet};

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::impact::Linking;
use super::{Document, Entity, Extra, Plan, Row, Store, StoreError, invalid, row};
use crate::spec::DEFAULT_NAMESPACE;

/// Which stored row a delete means: its `id`, or its `name` in a namespace.
/// Exactly one of the two is given (a null one counts as not given).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(extend("oneOf" = [
    {"required": ["id"], "properties": {"id": {"type": "string"}}},
    {"required": ["name"], "properties": {"name": {"type": "string"}}}
]))]
pub struct Key {
    /// The row's id (give this or `name`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<Uuid>,
    /// The namespace of `name`; `default` when not given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// The row's name in its namespace (give this or `id`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

impl Key {
    /// The row named `name` in `namespace`.
    pub fn named(namespace: impl Into<String>, name: impl Into<String>) -> Key {
        Key {
            id: None,
            namespace: Some(namespace.into()),
            name: Some(name.into()),
        }
    }

    /// The row with this id.
    pub fn id(id: Uuid) -> Key {
        Key {
            id: Some(id),
            ..Key::default()
        }
    }

    /// `namespace/name`, or `id …`: how plans and messages name the key.
    pub fn label(&self) -> String {
        match (&self.id, &self.name) {
            (Some(id), _) => format!("id {id}"),
            (None, Some(name)) => format!(
                "{}/{name}",
                self.namespace.as_deref().unwrap_or(DEFAULT_NAMESPACE)
            ),
            (None, None) => "a key with neither id nor name".to_string(),
        }
    }
}

/// One batch of writes to one table: the rows to delete and the documents
/// to create or update.
#[derive(Clone, Debug)]
pub struct Changeset<D> {
    /// Documents to create or update, matched to rows by namespace and name.
    pub apply: Vec<D>,
    /// Rows to delete (before anything is applied).
    pub delete: Vec<Key>,
    /// Go ahead even if other specs lose a link target and go inactive
    /// (see [`super::impact`]).
    pub cascade: bool,
}

impl<D> Default for Changeset<D> {
    fn default() -> Self {
        Changeset {
            apply: Vec::new(),
            delete: Vec::new(),
            cascade: false,
        }
    }
}

impl<D> Changeset<D> {
    /// Deletes `keys`, nothing else.
    pub fn delete(keys: Vec<Key>) -> Changeset<D> {
        Changeset {
            delete: keys,
            ..Changeset::default()
        }
    }
}

/// What a commit replaced, to tell what it takes down.
#[derive(Default)]
struct Replaced {
    namespaces: HashSet<String>,
    ids: HashSet<Uuid>,
    rows: Vec<Row>,
}

impl Replaced {
    fn note(&mut self, namespace: &str, id: Uuid, old: Option<Row>) {
        self.namespaces.insert(namespace.to_string());
        self.ids.insert(id);
        self.rows.extend(old);
    }
}

type Transaction = sqlx::Transaction<'static, sqlx::Any>;

impl Store {
    /// Applies a changeset in one transaction (all or nothing): deletes
    /// first, then creates or updates each document, matching existing rows
    /// by namespace and name, which keeps their id. (Renaming is an
    /// [`Store::update`] by id.) An equal document is left alone: no new
    /// revision, no change row. With `dry_run`, nothing is written.
    pub async fn commit<D: Document>(
        &self,
        changes: Changeset<D>,
        dry_run: bool,
    ) -> Result<Plan, StoreError> {
        let entity = D::ENTITY;
        let mut tx = self.begin_write().await?;
        let mut plan = Plan::default();
        let mut replaced = Replaced::default();
        for key in &changes.delete {
            match self.delete_key(&mut tx, entity, key).await? {
                Some(gone) => {
                    plan.deleted
                        .push(format!("{}/{}", gone.namespace, gone.name));
                    replaced.note(&gone.namespace.clone(), gone.id, Some(gone));
                }
                None => plan.missing.push(key.label()),
            }
        }
        // One read per namespace, of the names the batch writes only (as a
        // JSON array bound to the statement), not the whole namespace.
        let mut names: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for document in &changes.apply {
            let namespace = document.namespace().to_string();
            names.entry(namespace).or_default().push(document.name());
        }
        let mut by_name = HashMap::new();
        let named = self.select(
            entity,
            "WHERE namespace = $1 AND name IN (JSON_STRINGS($2::jsonb))",
        );
        for (namespace, names) in names {
            let names =
                serde_json::to_string(&names).map_err(|e| invalid(entity, &namespace, e))?;
            for found in sqlx::query(&named)
                .bind(namespace)
                .bind(names)
                .fetch_all(&mut *tx)
                .await?
            {
                let stored = row(&found)?;
                by_name.insert((stored.namespace.clone(), stored.name.clone()), stored);
            }
        }
        // A later document of the batch with a name an earlier one has
        // replaces it, as storing them one after another would.
        let mut written: HashMap<(String, String), Uuid> = HashMap::new();
        for mut document in changes.apply {
            let key = format!("{}/{}", document.namespace(), document.name());
            let name = (document.namespace().to_string(), document.name());
            if let Some(id) = written.get(&name) {
                document.set_id(*id);
                let json = serde_json::to_value(&document).map_err(|e| invalid(entity, &key, e))?;
                self.write(&mut tx, Verb::Update, &document, &json).await?;
                if let Some(at) = plan.unchanged.iter().position(|k| *k == key) {
                    plan.updated.push(plan.unchanged.remove(at));
                }
                continue;
            }
            let existing = by_name
                .get(&(document.namespace().to_string(), document.name()))
                .cloned();
            if let Some(stored) = &existing {
                document.set_id(stored.id);
            }
            written.insert(name, document.id());
            let json = serde_json::to_value(&document).map_err(|e| invalid(entity, &key, e))?;
            match existing {
                Some(stored) if stored.document == json => plan.unchanged.push(key),
                Some(stored) => {
                    self.write(&mut tx, Verb::Update, &document, &json).await?;
                    plan.updated.push(key);
                    replaced.note(document.namespace(), stored.id, Some(stored));
                }
                None => {
                    // A new name with an id another row has (or an earlier
                    // document of this batch took) is the caller's clash,
                    // not a database failure.
                    if let Some(taken) = self.row_by_id(&mut tx, entity, document.id()).await? {
                        return Err(StoreError::Exists {
                            entity: entity.label(),
                            key: format!("with id {}", taken.id),
                        });
                    }
                    self.write(&mut tx, Verb::Insert, &document, &json).await?;
                    plan.created.push(key);
                    replaced.note(document.namespace(), document.id(), None);
                }
            }
        }
        // Only replacing or deleting a row can take another down: a write
        // that only creates adds link targets, never removes one.
        if entity == Entity::Spec && !replaced.rows.is_empty() {
            plan.deactivated = self.takes_down(&mut tx, replaced).await?;
            if !plan.deactivated.is_empty() && !changes.cascade && !dry_run {
                tx.rollback().await?;
                return Err(StoreError::WouldDeactivate {
                    specs: plan.deactivated,
                });
            }
        }
        match dry_run {
            true => tx.rollback().await?,
            false => tx.commit().await?,
        }
        Ok(plan)
    }

    /// Creates or updates every document in one transaction: a
    /// [`Store::commit`] with nothing to delete.
    pub async fn apply<D: Document>(
        &self,
        documents: Vec<D>,
        dry_run: bool,
    ) -> Result<Plan, StoreError> {
        let changes = Changeset {
            apply: documents,
            ..Changeset::default()
        };
        self.commit(changes, dry_run).await
    }

    /// Deletes rows by `(namespace, name)` in one transaction; returns the
    /// keys that existed. A [`Store::commit`] with nothing to apply.
    pub async fn delete(
        &self,
        entity: Entity,
        keys: &[(String, String)],
    ) -> Result<Vec<String>, StoreError> {
        let delete = keys
            .iter()
            .map(|(namespace, name)| Key::named(namespace, name))
            .collect();
        let plan = match entity {
            Entity::Spec => {
                let changes = Changeset::<crate::spec::Spec>::delete(delete);
                self.commit(changes, false).await?
            }
            Entity::Value => {
                let changes = Changeset::<crate::spec::NamedValue>::delete(delete);
                self.commit(changes, false).await?
            }
        };
        Ok(plan.deleted)
    }

    /// Creates one row; refused with [`StoreError::Exists`] when its id or
    /// its name in its namespace is taken.
    pub async fn create<D: Document>(&self, document: D) -> Result<Row, StoreError> {
        let entity = D::ENTITY;
        let key = format!("{}/{}", document.namespace(), document.name());
        let mut tx = self.begin_write().await?;
        let taken = self.select(
            entity,
            "WHERE id = $1::uuid OR (namespace = $2 AND name = $3)",
        );
        let found = sqlx::query(&taken)
            .bind(document.id().to_string())
            .bind(document.namespace().to_string())
            .bind(document.name())
            .fetch_optional(&mut *tx)
            .await?;
        if let Some(found) = found {
            let stored = row(&found)?;
            let key = match stored.id == document.id() {
                true => format!("with id {}", stored.id),
                false => key,
            };
            return Err(StoreError::Exists {
                entity: entity.label(),
                key,
            });
        }
        let json = serde_json::to_value(&document).map_err(|e| invalid(entity, &key, e))?;
        self.write(&mut tx, Verb::Insert, &document, &json).await?;
        let created = self.row_by_id(&mut tx, entity, document.id()).await?;
        tx.commit().await?;
        created.ok_or(StoreError::NotFound {
            entity: entity.label(),
            key,
        })
    }

    /// Updates one document by id. With `expected_revision`, a row at any
    /// other revision is refused with [`StoreError::Conflict`]. A spec
    /// update that would take other specs down (a rename, a move to another
    /// namespace, a dropped link that others reached through it) is refused
    /// with [`StoreError::WouldDeactivate`] unless `cascade`, as a delete is.
    pub async fn update<D: Document>(
        &self,
        document: D,
        expected_revision: Option<i64>,
        cascade: bool,
    ) -> Result<Row, StoreError> {
        let entity = D::ENTITY;
        let key = format!("{}/{}", document.namespace(), document.name());
        let mut tx = self.begin_write().await?;
        let stored = self
            .current(&mut tx, entity, document.id(), expected_revision)
            .await?;
        let taken = self.select(
            entity,
            "WHERE namespace = $1 AND name = $2 AND id <> $3::uuid",
        );
        let clash = sqlx::query(&taken)
            .bind(document.namespace().to_string())
            .bind(document.name())
            .bind(stored.id.to_string())
            .fetch_optional(&mut *tx)
            .await?;
        if clash.is_some() {
            return Err(StoreError::Exists {
                entity: entity.label(),
                key,
            });
        }
        let json = serde_json::to_value(&document).map_err(|e| invalid(entity, &key, e))?;
        if json == stored.document {
            // Nothing changed: no new revision, no change row.
            return Ok(stored);
        }
        self.write(&mut tx, Verb::Update, &document, &json).await?;
        if entity == Entity::Spec && !cascade {
            let mut replaced = Replaced::default();
            replaced.note(&stored.namespace, stored.id, Some(stored.clone()));
            replaced.namespaces.insert(document.namespace().to_string());
            let specs = self.takes_down(&mut tx, replaced).await?;
            if !specs.is_empty() {
                tx.rollback().await?;
                return Err(StoreError::WouldDeactivate { specs });
            }
        }
        let updated = self.row_by_id(&mut tx, entity, document.id()).await?;
        tx.commit().await?;
        updated.ok_or(StoreError::NotFound {
            entity: entity.label(),
            key,
        })
    }

    /// Deletes the row with `id`, returning it. With `expected_revision`, a
    /// row at any other revision is refused with [`StoreError::Conflict`].
    /// Refused with [`StoreError::WouldDeactivate`] when other specs link
    /// to it, unless `cascade`.
    pub async fn remove(
        &self,
        entity: Entity,
        id: Uuid,
        expected_revision: Option<i64>,
        cascade: bool,
    ) -> Result<Row, StoreError> {
        let mut tx = self.begin_write().await?;
        let stored = self.current(&mut tx, entity, id, expected_revision).await?;
        self.delete_key(&mut tx, entity, &Key::id(id)).await?;
        if entity == Entity::Spec && !cascade {
            let mut replaced = Replaced::default();
            replaced.note(&stored.namespace, stored.id, Some(stored.clone()));
            let specs = self.takes_down(&mut tx, replaced).await?;
            if !specs.is_empty() {
                tx.rollback().await?;
                return Err(StoreError::WouldDeactivate { specs });
            }
        }
        tx.commit().await?;
        Ok(stored)
    }

    /// The other specs a transaction's writes take down, read inside it:
    /// the rows of the namespaces it touched now, against the same rows
    /// with what it replaced put back. The specs it writes are the
    /// caller's own intent, so they are not listed.
    async fn takes_down(
        &self,
        tx: &mut Transaction,
        replaced: Replaced,
    ) -> Result<Vec<String>, StoreError> {
        // Identity and `ports` only: whole documents are not needed.
        let in_namespace = self.sql(
            "SELECT id::text, namespace, name, (document -> 'ports')::text FROM specs WHERE namespace = $1",
        );
        let mut after = Vec::new();
        for namespace in &replaced.namespaces {
            for found in sqlx::query(&in_namespace)
                .bind(namespace)
                .fetch_all(&mut **tx)
                .await?
            {
                after.push(super::linking(&found)?);
            }
        }
        let mut before: Vec<Linking> = after
            .iter()
            .filter(|r| !replaced.ids.contains(&r.id))
            .cloned()
            .collect();
        before.extend(replaced.rows.iter().map(Linking::of_row));
        Ok(super::impact::deactivated(&before, &after, &replaced.ids))
    }

    /// The row with `id`, checked against the revision the caller expects.
    async fn current(
        &self,
        tx: &mut Transaction,
        entity: Entity,
        id: Uuid,
        expected_revision: Option<i64>,
    ) -> Result<Row, StoreError> {
        let stored = self
            .row_by_id(tx, entity, id)
            .await?
            .ok_or_else(|| StoreError::NotFound {
                entity: entity.label(),
                key: format!("with id {id}"),
            })?;
        match expected_revision.filter(|e| *e != stored.revision) {
            Some(expected) => Err(StoreError::Conflict {
                entity: entity.label(),
                namespace: stored.namespace,
                name: stored.name,
                expected,
                current: stored.revision,
            }),
            None => Ok(stored),
        }
    }

    async fn row_by_id(
        &self,
        tx: &mut Transaction,
        entity: Entity,
        id: Uuid,
    ) -> Result<Option<Row>, StoreError> {
        let by_id = self.select(entity, "WHERE id = $1::uuid");
        let found = sqlx::query(&by_id)
            .bind(id.to_string())
            .fetch_optional(&mut **tx)
            .await?;
        found.as_ref().map(row).transpose()
    }

    /// Deletes the row `key` names; returns it, or `None` if there was none.
    async fn delete_key(
        &self,
        tx: &mut Transaction,
        entity: Entity,
        key: &Key,
    ) -> Result<Option<Row>, StoreError> {
        let (filter, first, second) = match (&key.id, &key.name) {
            (Some(id), _) => ("WHERE id = $1::uuid", id.to_string(), None),
            (None, Some(name)) => (
                "WHERE namespace = $1 AND name = $2",
                key.namespace
                    .clone()
                    .unwrap_or_else(|| DEFAULT_NAMESPACE.to_string()),
                Some(name.clone()),
            ),
            (None, None) => {
                return Err(invalid(entity, &key.label(), "give an `id` or a `name`"));
            }
        };
        let select = self.select(entity, filter);
        let mut query = sqlx::query(&select).bind(first.clone());
        if let Some(second) = &second {
            query = query.bind(second.clone());
        }
        let Some(found) = query.fetch_optional(&mut **tx).await? else {
            return Ok(None);
        };
        let stored = row(&found)?;
        let delete = self.sql(&format!(
            "DELETE FROM {} WHERE id = $1::uuid",
            entity.table()
        ));
        sqlx::query(&delete)
            .bind(stored.id.to_string())
            .execute(&mut **tx)
            .await?;
        Ok(Some(stored))
    }

    async fn write<D: Document>(
        &self,
        tx: &mut Transaction,
        verb: Verb,
        document: &D,
        json: &serde_json::Value,
    ) -> Result<(), StoreError> {
        let entity = D::ENTITY;
        let (table, extra) = (entity.table(), entity.extra_column());
        let neutral = match verb {
            Verb::Insert => format!(
                "INSERT INTO {table} (id, namespace, name, {extra}, document) VALUES ($1::uuid, $2, $3, $4, $5::jsonb)"
            ),
            Verb::Update => format!(
                "UPDATE {table} SET namespace = $2, name = $3, {extra} = $4, document = $5::jsonb, \
                 revision = revision + 1, updated_at = NOW() WHERE id = $1::uuid"
            ),
        };
        let sql = self.sql(&neutral);
        let query = sqlx::query(&sql)
            .bind(document.id().to_string())
            .bind(document.namespace().to_string())
            .bind(document.name());
        let query = match document.extra() {
            Extra::Text(text) => query.bind(text),
            Extra::Flag(flag) => query.bind(flag),
        };
        query.bind(json.to_string()).execute(&mut **tx).await?;
        Ok(())
    }
}

#[derive(Clone, Copy)]
enum Verb {
    Insert,
    Update,
}
