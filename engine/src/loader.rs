//! The loader: keeps a set of symbol tables in step with the store
//! (ARCHITECTURE §2).
//!
//! It takes a snapshot, then follows the change stream. Each batch of
//! changes is read in one consistent snapshot and applied to each table in
//! one [`SymbolTable::apply`], so a transaction's changes go live together.
//! Only what changed is recompiled: a changed spec, and the specs bound to a
//! changed value. A spec that no longer decodes or compiles leaves its
//! previous version running; the error is logged and reported to the store
//! (`weir get specs` shows it). The loader remembers the last change it
//! applied: after an error it retries from there, so nothing is lost, and an
//! unchanged spec is never re-applied. Loaders prune the change stream to
//! its newest [`KEEP_CHANGES`] entries; a loader that fell behind the
//! pruning resynchronises from a snapshot.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::env::ValueMap;
use crate::runtime::Limits;
use crate::scheme::Scheme;
use crate::spec::{NamedValue, Spec};
use crate::store::stream::Wakeups;
use crate::store::{Row, SpecStatus, Store, StoreError};
use crate::symbol::{Change, Status, SymbolTable};

/// How many changes the stream keeps; older ones are pruned. A loader that
/// falls further behind than this resynchronises from a snapshot.
pub const KEEP_CHANGES: i64 = 100_000;
/// How often a loader prunes the change stream.
const PRUNE_EVERY: Duration = Duration::from_secs(60);

/// Called with (done, total) while a snapshot compiles.
pub type Progress = Box<dyn Fn(usize, usize) + Send + Sync>;

/// Keeps symbol tables in step with the store.
pub struct Loader {
    store: Store,
    scheme: Arc<Scheme>,
    namespaces: Option<BTreeSet<String>>,
    limits: Limits,
    tables: Mutex<BTreeMap<String, Arc<SymbolTable>>>,
    state: tokio::sync::Mutex<State>,
    progress: Option<Progress>,
}

#[derive(Default)]
struct State {
    last: i64,
    specs: HashMap<Uuid, Known>,
    values: ValueMap,
    failed: HashMap<Uuid, String>,
    reported: HashMap<Uuid, (i64, String, String)>,
}

/// A spec the loader has applied.
struct Known {
    namespace: String,
    revision: i64,
    binds: Vec<(Option<String>, Option<Uuid>)>,
}

/// What one reconciliation found.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Reconciled {
    /// Changes read from the stream (0 for a snapshot).
    pub changes: usize,
    /// Specs recompiled.
    pub compiled: usize,
    /// Specs that failed to decode or compile, with the error.
    pub failed: Vec<(String, String)>,
}

impl Loader {
    /// A loader for `namespaces` (every namespace when `None`).
    pub fn new(
        store: Store,
        scheme: Arc<Scheme>,
        namespaces: Option<Vec<String>>,
        limits: Limits,
    ) -> Loader {
        Loader {
            store,
            scheme,
            namespaces: namespaces.map(|n| n.into_iter().collect()),
            limits,
            tables: Mutex::new(BTreeMap::new()),
            state: tokio::sync::Mutex::new(State::default()),
            progress: None,
        }
    }

    /// Reports snapshot compile progress to `progress`.
    pub fn with_progress(mut self, progress: Progress) -> Loader {
        self.progress = Some(progress);
        self
    }

    /// The table of `namespace`, once it has specs.
    pub fn table(&self, namespace: &str) -> Option<Arc<SymbolTable>> {
        self.tables
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(namespace)
            .cloned()
    }

    /// Every table, by namespace.
    pub fn tables(&self) -> BTreeMap<String, Arc<SymbolTable>> {
        self.tables
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// The last change applied.
    pub async fn position(&self) -> i64 {
        self.state.lock().await.last
    }

    /// Loads everything from a snapshot, replacing what runs.
    pub async fn sync(&self) -> Result<Reconciled, StoreError> {
        let snapshot = self.store.snapshot().await?;
        let mut state = self.state.lock().await;
        state.values = ValueMap::default();
        let values = snapshot
            .values
            .into_iter()
            .map(|r| (r.id, Some(r)))
            .collect();
        let mut specs: BTreeMap<Uuid, Option<Row>> = snapshot
            .specs
            .into_iter()
            .map(|r| (r.id, Some(r)))
            .collect();
        for gone in state.specs.keys() {
            specs.entry(*gone).or_insert(None);
        }
        let specs = specs.into_iter().collect();
        let report = self.reconcile(&mut state, specs, values, true).await?;
        state.last = snapshot.head;
        Ok(report)
    }

    /// Applies the changes committed since the last call.
    pub async fn poll(&self) -> Result<Reconciled, StoreError> {
        let last = self.state.lock().await.last;
        if self
            .store
            .oldest_change()
            .await?
            .is_some_and(|oldest| oldest > last + 1)
            && last > 0
        {
            tracing::warn!(
                position = last,
                "fell behind the pruned change stream; resynchronising"
            );
            return self.sync().await;
        }
        let batch = self.store.read_changes(last).await?;
        let Some(newest) = batch.changes.last().map(|c| c.seq) else {
            return Ok(Reconciled::default());
        };
        let mut state = self.state.lock().await;
        let specs = in_commit_order(&batch.changes, batch.specs);
        let mut report = self
            .reconcile(&mut state, specs, batch.values, false)
            .await?;
        report.changes = batch.changes.len();
        state.last = newest;
        Ok(report)
    }

    /// Follows the change stream until `stop` is cancelled. Errors (a lost
    /// connection, say) are logged and retried with backoff from the last
    /// change applied.
    pub async fn run(&self, stop: CancellationToken) {
        let mut wakeups = Wakeups::new(&self.store);
        let mut backoff = Duration::from_millis(100);
        let mut pruned = tokio::time::Instant::now();
        loop {
            if pruned.elapsed() > PRUNE_EVERY {
                pruned = tokio::time::Instant::now();
                match self.store.prune_changes(KEEP_CHANGES).await {
                    Ok(0) => {}
                    Ok(count) => tracing::debug!(count, "pruned old changes"),
                    Err(error) => tracing::warn!(%error, "cannot prune old changes"),
                }
            }
            match self.poll().await {
                Ok(report) => {
                    backoff = Duration::from_millis(100);
                    if report.changes > 0 {
                        tracing::debug!(
                            changes = report.changes,
                            compiled = report.compiled,
                            "applied changes"
                        );
                    }
                }
                Err(error) => {
                    tracing::warn!(%error, retry_in = ?backoff, "cannot read the change stream");
                    tokio::select! {
                        _ = stop.cancelled() => return,
                        _ = tokio::time::sleep(backoff) => {}
                    }
                    backoff = (backoff * 2).min(Duration::from_secs(5));
                    continue;
                }
            }
            tokio::select! {
                _ = stop.cancelled() => return,
                _ = wakeups.wait() => {}
            }
        }
    }

    /// Stops every table, draining in-flight packets.
    pub async fn shutdown(&self) {
        for table in self.tables().values() {
            table.shutdown().await;
        }
    }

    /// Brings the tables in line with the given rows (`None`: deleted),
    /// applied in the order given. Nothing changes when the store cannot be
    /// read (the caller retries from the same position).
    async fn reconcile(
        &self,
        state: &mut State,
        specs: Vec<(Uuid, Option<Row>)>,
        values: HashMap<Uuid, Option<Row>>,
        full: bool,
    ) -> Result<Reconciled, StoreError> {
        let mut next_values = state.values.clone();
        let rebound = update_values(&mut next_values, values);
        let mut todo = specs;
        if !rebound.is_empty() && !full {
            let given: HashSet<Uuid> = todo.iter().map(|(id, _)| *id).collect();
            let mut bound: Vec<Uuid> = state
                .specs
                .iter()
                .filter(|(id, k)| !given.contains(id) && k.binds_any(&rebound))
                .map(|(id, _)| *id)
                .collect();
            bound.sort();
            for id in bound {
                let row = self.store.get(crate::store::Entity::Spec, id).await?;
                todo.push((id, row));
            }
        }
        state.values = next_values;
        let mut report = Reconciled::default();
        let mut changes: BTreeMap<String, Vec<Change>> = BTreeMap::new();
        let total = todo.len();
        for (done, (id, row)) in todo.into_iter().enumerate() {
            if full && let Some(progress) = &self.progress {
                progress(done + 1, total);
            }
            self.plan(state, id, row, &mut changes, &mut report);
        }
        report.compiled = changes.values().map(Vec::len).sum();
        for (namespace, batch) in changes {
            let table = self.table_for(&namespace);
            let applied = table.apply(batch).await;
            for (node, reason) in &applied.problems {
                tracing::warn!(%namespace, %node, %reason, "node not active");
            }
        }
        self.report(state).await;
        Ok(report)
    }

    /// Decides what one spec row means for the tables.
    fn plan(
        &self,
        state: &mut State,
        id: Uuid,
        row: Option<Row>,
        changes: &mut BTreeMap<String, Vec<Change>>,
        report: &mut Reconciled,
    ) {
        let wanted = row.filter(|r| {
            self.namespaces
                .as_ref()
                .is_none_or(|ns| ns.contains(&r.namespace))
        });
        let Some(row) = wanted else {
            if let Some(known) = state.specs.remove(&id) {
                changes
                    .entry(known.namespace)
                    .or_default()
                    .push(Change::Remove(id));
            }
            state.failed.remove(&id);
            return;
        };
        let label = format!("{}/{}", row.namespace, row.name);
        let compiled = row
            .decode::<Spec>()
            .map_err(|e| format!("does not decode: {e}"))
            .and_then(|spec| match self.scheme.compile(&spec, &state.values) {
                Ok(symbol) => Ok((spec, symbol)),
                Err(errors) => Err(errors
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join("; ")),
            });
        let (spec, symbol) = match compiled {
            Ok(done) => done,
            Err(error) => {
                tracing::error!(spec = %label, revision = row.revision, %error, "spec does not compile; its previous version keeps running");
                state.failed.insert(id, error.clone());
                report.failed.push((label, error));
                return;
            }
        };
        state.failed.remove(&id);
        if let Some(old) = state
            .specs
            .get(&id)
            .filter(|k| k.namespace != spec.namespace)
        {
            changes
                .entry(old.namespace.clone())
                .or_default()
                .push(Change::Remove(id));
        }
        let binds = spec
            .env
            .values()
            .map(|v| (v.from.clone(), v.id))
            .filter(|b| b.0.is_some() || b.1.is_some())
            .collect();
        state.specs.insert(
            id,
            Known {
                namespace: spec.namespace.clone(),
                revision: row.revision,
                binds,
            },
        );
        changes
            .entry(spec.namespace.clone())
            .or_default()
            .push(Change::Upsert(symbol));
    }

    fn table_for(&self, namespace: &str) -> Arc<SymbolTable> {
        let mut tables = self.tables.lock().unwrap_or_else(|p| p.into_inner());
        tables
            .entry(namespace.to_string())
            .or_insert_with(|| Arc::new(SymbolTable::new(namespace, self.limits)))
            .clone()
    }

    /// Reports to the store every spec status that changed.
    async fn report(&self, state: &mut State) {
        let mut statuses: HashMap<Uuid, Status> = HashMap::new();
        for table in self.tables().values() {
            for (id, _, status) in table.statuses().await {
                statuses.insert(id, status);
            }
        }
        let mut fresh = Vec::new();
        for (id, known) in &state.specs {
            let (status, message) = match (state.failed.get(id), statuses.get(id)) {
                (Some(error), _) => ("failed".to_string(), error.clone()),
                (None, Some(Status::Active)) => ("active".to_string(), String::new()),
                (None, Some(Status::Degraded(why))) => ("active".to_string(), why.clone()),
                (None, Some(Status::Inactive(why))) => ("inactive".to_string(), why.clone()),
                (None, Some(Status::Failed(why))) => ("failed".to_string(), why.clone()),
                // Every applied spec is in a table: this is unreachable
                // but harmless (nothing to report yet).
                (None, None) => continue,
            };
            let entry = (known.revision, status, message);
            if state.reported.get(id) != Some(&entry) {
                fresh.push((*id, entry));
            }
        }
        for (id, failed) in &state.failed {
            if !state.specs.contains_key(id) {
                let entry = (0, "failed".to_string(), failed.clone());
                if state.reported.get(id) != Some(&entry) {
                    fresh.push((*id, entry));
                }
            }
        }
        let records: Vec<SpecStatus> = fresh
            .iter()
            .map(|(id, (revision, status, message))| SpecStatus {
                id: *id,
                revision: *revision,
                status: status.clone(),
                message: message.clone(),
            })
            .collect();
        match self.store.report_statuses(&records).await {
            Ok(()) => state.reported.extend(fresh),
            Err(error) => tracing::warn!(%error, "cannot report spec status"),
        }
    }
}

impl Known {
    fn binds_any(&self, changed: &HashSet<(String, String, Uuid)>) -> bool {
        changed.iter().any(|(namespace, name, id)| {
            *namespace == self.namespace
                && self
                    .binds
                    .iter()
                    .any(|(n, i)| n.as_deref() == Some(name.as_str()) || *i == Some(*id))
        })
    }
}

/// The rows of a batch, each spec once, in the order of its last change:
/// the order the store committed them.
fn in_commit_order(
    changes: &[crate::store::ChangeRow],
    mut rows: HashMap<Uuid, Option<Row>>,
) -> Vec<(Uuid, Option<Row>)> {
    let mut last: HashMap<Uuid, i64> = HashMap::new();
    for change in changes {
        last.insert(change.id, change.seq);
    }
    let mut ordered: Vec<(i64, Uuid, Option<Row>)> = rows
        .drain()
        .map(|(id, row)| (last.get(&id).copied().unwrap_or(i64::MAX), id, row))
        .collect();
    ordered.sort_by_key(|(seq, id, _)| (*seq, *id));
    ordered.into_iter().map(|(_, id, row)| (id, row)).collect()
}

/// Applies value rows to `values`; returns `(namespace, name, id)` of each
/// value that changed, so the specs bound to it can be recompiled.
fn update_values(
    values: &mut ValueMap,
    rows: HashMap<Uuid, Option<Row>>,
) -> HashSet<(String, String, Uuid)> {
    let mut changed = HashSet::new();
    for (id, row) in rows {
        if let Some((namespace, name)) = values.remove(id) {
            changed.insert((namespace, name, id));
        }
        let Some(row) = row else { continue };
        match row.decode::<NamedValue>() {
            Ok(value) => {
                changed.insert((value.namespace.clone(), value.name.clone(), id));
                values.insert(value);
            }
            Err(error) => {
                tracing::error!(value = %format!("{}/{}", row.namespace, row.name), %error, "stored value does not decode");
            }
        }
    }
    changed
}
