//! [`SymbolTable`]: one namespace's symbols, which of them run, and how.
//!
//! Symbols are known by their id, as the store knows specs; a name index
//! resolves links by name. A symbol is active when it compiled and every
//! link target it names is active and has the in-port the link names
//! (cycles included); a source ([`Ports::source`]) stays active without
//! them and answers their absence. Applying a batch of changes records them
//! in the order given, recomputes that set, starts a fresh activation of
//! every symbol that is new, changed, or whose link targets changed (targets
//! first), swaps it in atomically (the old activation drains in the
//! background and then unloads), and stops what must not run, sources
//! first. A changed symbol whose new activation fails keeps its old one.
//!
//! Writers serialise on an async mutex; the packet path never touches it:
//! links hold [`Slot`]s directly, and [`SymbolTable::slot`] reads a sharded
//! map.

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::sync::Arc;

use dashmap::DashMap;
use tokio::sync::Mutex;
use tokio::task::JoinHandle;
use uuid::Uuid;
use weir_codecs::ErrorValue;

use super::Symbol;
use super::link::{self, LinkError, Namespace};
use super::order::targets_first;
use crate::port::{Port, Ports};
use crate::runtime::{Limits, Link, Node, Outputs, Packet, Process, Slot};

/// One change to apply.
#[derive(Debug)]
pub enum Change {
    /// Adds a symbol, or replaces the one with the same id. A symbol
    /// compiled from the same spec and env as the running one is left alone.
    Upsert(Symbol),
    /// Removes the symbol with this id.
    Remove(Uuid),
}

/// Whether a symbol runs, and if not, why.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Status {
    /// Running and reachable.
    Active,
    /// A source running without some link target: what it sends there
    /// answers 503 (the reason names the target).
    Degraded(String),
    /// Waiting for a link target (the reason names it).
    Inactive(String),
    /// Its activation failed; if an older one was running, it still is.
    Failed(String),
}

/// What one [`SymbolTable::apply`] did, by symbol key (name, or id when
/// unnamed).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ApplyReport {
    /// Symbols that started running.
    pub activated: Vec<String>,
    /// Running symbols given a new activation.
    pub swapped: Vec<String>,
    /// Symbols that stopped running (removed, or lost a link target).
    pub deactivated: Vec<String>,
    /// Symbols left inactive, degraded or failed, with the reason.
    pub problems: Vec<(String, String)>,
}

/// The symbols of one namespace.
pub struct SymbolTable {
    namespace: Arc<str>,
    limits: Limits,
    /// Slots by symbol key, for senders outside the table.
    slots: DashMap<String, Arc<Slot>>,
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    entries: BTreeMap<Uuid, Entry>,
    /// Symbol key → id.
    names: HashMap<String, Uuid>,
    /// Inactive slots that sources link to while a target is missing, by
    /// the target as written; kept so a source is not restarted for nothing.
    dangling: HashMap<String, Arc<Slot>>,
    retiring: Vec<JoinHandle<()>>,
}

struct Entry {
    symbol: Symbol,
    slot: Arc<Slot>,
    running: Option<Running>,
    status: Status,
    /// The link targets this version's last activation failed with: it is
    /// not tried again with the same ones (a namespace holding many broken
    /// specs would otherwise re-activate them all on every change).
    failed_with: Option<Vec<Arc<Slot>>>,
}

/// One running activation.
struct Running {
    /// The symbol it is an activation of.
    id: Uuid,
    node: Arc<dyn Node>,
    /// Its link targets' slots, in link order: a change means a restart.
    targets: Vec<Arc<Slot>>,
    /// Its link targets' ids, for the unload order.
    links: Vec<Uuid>,
    task: JoinHandle<()>,
}

/// Where one link leads.
#[derive(Clone)]
enum Target {
    /// Another symbol of the table, and its in-port.
    Symbol(Uuid, Port),
    /// Nothing yet (a source's link): the target as written.
    Missing(String),
}

/// A symbol's links resolved, or why it cannot run.
type Resolved = Result<Vec<(Port, Vec<Target>)>, String>;

impl SymbolTable {
    /// An empty table for `namespace`.
    pub fn new(namespace: &str, limits: Limits) -> SymbolTable {
        SymbolTable {
            namespace: namespace.into(),
            limits,
            slots: DashMap::new(),
            state: Mutex::new(State::default()),
        }
    }

    /// The namespace's name.
    pub fn namespace(&self) -> &str {
        &self.namespace
    }

    /// The slot of the symbol `key` (its name, or id when unnamed).
    pub fn slot(&self, key: &str) -> Option<Arc<Slot>> {
        self.slots.get(key).map(|s| s.clone())
    }

    /// Sends `packet` to the `in` port of `key` in `process`, watching the
    /// process: a cancelled or timed-out process answers an error at once
    /// and stops the work it started.
    pub async fn send(&self, key: &str, process: Arc<Process>, packet: Packet) -> Packet {
        match self.slot(key) {
            Some(slot) => slot.send_watched(process, Port::input(), packet).await,
            None => Packet::error(
                ErrorValue::new(format!("no node `{key}` in namespace `{}`", self.namespace))
                    .with_code("not_found"),
            ),
        }
    }

    /// Every symbol's id, key and status, by id.
    pub async fn statuses(&self) -> Vec<(Uuid, String, Status)> {
        let state = self.state.lock().await;
        state
            .entries
            .iter()
            .map(|(id, e)| (*id, e.symbol.key(), e.status.clone()))
            .collect()
    }

    /// Applies a batch of changes, in order, and (re)activates what it can.
    pub async fn apply(&self, changes: Vec<Change>) -> ApplyReport {
        let mut state = self.state.lock().await;
        let mut report = ApplyReport::default();
        let mut retire = Vec::new();
        let changed = self.record(&mut state, changes, &mut retire, &mut report);
        let resolved = self.resolve_all(&mut state);
        let order = start_order(&state, &resolved);
        self.stop_unwanted(&mut state, &resolved, &order, &mut retire, &mut report);
        for id in &order {
            let fresh = changed.contains(id);
            self.start(
                &mut state,
                *id,
                &resolved[id],
                fresh,
                &mut retire,
                &mut report,
            )
            .await;
        }
        self.stop_orphans(&mut state, &resolved, &mut retire, &mut report);
        self.retire(&mut state, retire);
        report
    }

    /// Records the changes in order; returns the ids that need a fresh
    /// activation whatever their links.
    fn record(
        &self,
        state: &mut State,
        changes: Vec<Change>,
        retire: &mut Vec<Running>,
        report: &mut ApplyReport,
    ) -> HashSet<Uuid> {
        let mut changed = HashSet::new();
        for change in changes {
            match change {
                Change::Upsert(symbol) => {
                    if let Some(id) = self.upsert(state, symbol) {
                        changed.insert(id);
                    }
                }
                Change::Remove(id) => {
                    let Some(entry) = state.entries.remove(&id) else {
                        continue;
                    };
                    self.unname(state, &entry.symbol.key(), id);
                    entry.slot.stop();
                    if let Some(running) = entry.running {
                        report.deactivated.push(entry.symbol.key());
                        retire.push(running);
                    }
                }
            }
        }
        changed
    }

    /// Records one new or changed symbol; returns its id unless it is the
    /// same as the one recorded.
    fn upsert(&self, state: &mut State, symbol: Symbol) -> Option<Uuid> {
        let (id, key) = (symbol.id(), symbol.key());
        if let Some(entry) = state.entries.get_mut(&id) {
            if entry.symbol.same_source(&symbol) {
                return None;
            }
            let old_key = entry.symbol.key();
            entry.symbol = symbol;
            if old_key == key {
                return Some(id);
            }
            // Renamed: a new slot under the new name, so links by the old
            // name break and links by id follow.
            let slot = Arc::new(Slot::new(&key));
            let old = std::mem::replace(&mut entry.slot, slot.clone());
            old.stop();
            self.unname(state, &old_key, id);
            self.name(state, key, id, slot);
            return Some(id);
        }
        let slot = Arc::new(Slot::new(&key));
        let status = Status::Inactive("not started".into());
        state.entries.insert(
            id,
            Entry {
                symbol,
                slot: slot.clone(),
                running: None,
                status,
                failed_with: None,
            },
        );
        self.name(state, key, id, slot);
        Some(id)
    }

    /// Points `key` at `id`. Names are unique in a stored namespace, so a
    /// key already held belongs to a symbol the same batch removes or
    /// renames later; the newer claim wins meanwhile.
    fn name(&self, state: &mut State, key: String, id: Uuid, slot: Arc<Slot>) {
        self.slots.insert(key.clone(), slot);
        state.names.insert(key, id);
    }

    /// Forgets `key` if it still points at `id`.
    fn unname(&self, state: &mut State, key: &str, id: Uuid) {
        if state.names.get(key) == Some(&id) {
            state.names.remove(key);
            self.slots.remove(key);
        }
    }

    /// Resolves every symbol's links, then marks as broken every symbol that
    /// is not a source and links, directly or not, to a broken one.
    fn resolve_all(&self, state: &mut State) -> HashMap<Uuid, Resolved> {
        let view = View {
            namespace: &self.namespace,
            state: &*state,
        };
        let mut resolved: HashMap<Uuid, Resolved> = HashMap::new();
        let mut sources: HashMap<Uuid, Vec<Uuid>> = HashMap::new();
        let mut missing = HashSet::new();
        for (id, entry) in &state.entries {
            let is_source = entry.symbol.ports().is_source();
            let mut ports = Vec::new();
            let mut broken = None;
            for (port, targets) in entry.symbol.links() {
                let mut found = Vec::new();
                for target in targets {
                    match link::resolve(&view, target) {
                        Ok((t, p)) => {
                            sources.entry(t).or_default().push(*id);
                            found.push(Target::Symbol(t, p));
                        }
                        Err(LinkError::Missing { target, .. }) if is_source => {
                            missing.insert(target.clone());
                            found.push(Target::Missing(target));
                        }
                        Err(e) => broken = broken.or(Some(e.to_string())),
                    }
                }
                ports.push((port.clone(), found));
            }
            resolved.insert(*id, broken.map_or(Ok(ports), Err));
        }
        state.dangling.retain(|target, _| missing.contains(target));
        for target in missing {
            state
                .dangling
                .entry(target.clone())
                .or_insert_with(|| Arc::new(Slot::new(&target)));
        }
        let mut queue: VecDeque<Uuid> = resolved
            .iter()
            .filter(|(_, r)| r.is_err())
            .map(|(id, _)| *id)
            .collect();
        while let Some(broken) = queue.pop_front() {
            let key = state.entries[&broken].symbol.key();
            for source in sources.get(&broken).into_iter().flatten() {
                let is_source = state.entries[source].symbol.ports().is_source();
                if !is_source && resolved.get(source).is_some_and(Result::is_ok) {
                    let reason = format!("link target `{key}` is not active");
                    resolved.insert(*source, Err(reason));
                    queue.push_back(*source);
                }
            }
        }
        resolved
    }

    /// Stops running symbols that must not run any more, sources first.
    fn stop_unwanted(
        &self,
        state: &mut State,
        resolved: &HashMap<Uuid, Resolved>,
        order: &[Uuid],
        retire: &mut Vec<Running>,
        report: &mut ApplyReport,
    ) {
        for id in order.iter().rev() {
            if let Err(reason) = &resolved[id] {
                self.keep_inactive(state, *id, reason.clone(), retire, report);
            }
        }
    }

    /// Starts a fresh activation of `id` if it should run and does not yet
    /// run this version with these link targets. Called targets first.
    async fn start(
        &self,
        state: &mut State,
        id: Uuid,
        resolved: &Resolved,
        fresh: bool,
        retire: &mut Vec<Running>,
        report: &mut ApplyReport,
    ) {
        let Ok(links) = resolved else { return };
        let Wiring {
            outputs,
            slots: targets,
            ids,
            missing,
        } = wiring(state, links);
        let entry = state
            .entries
            .get_mut(&id)
            .expect("id comes from the entries");
        let key = entry.symbol.key();
        let status = match missing.first() {
            None => Status::Active,
            Some(target) => {
                let reason = format!("link target {target} is missing: its requests answer 503");
                report.problems.push((key.clone(), reason.clone()));
                Status::Degraded(reason)
            }
        };
        let same_targets = |tried: &[Arc<Slot>]| {
            tried.len() == targets.len()
                && tried.iter().zip(&targets).all(|(a, b)| Arc::ptr_eq(a, b))
        };
        if fresh {
            entry.failed_with = None;
        }
        if entry.failed_with.as_deref().is_some_and(same_targets) {
            return;
        }
        if !fresh
            && entry
                .running
                .as_ref()
                .is_some_and(|r| same_targets(&r.targets))
        {
            entry.status = status;
            return;
        }
        let outputs = Arc::new(Outputs::new(outputs));
        let node = match entry.symbol.activate().activate(&outputs).await {
            Ok(node) => node,
            Err(error) => {
                let reason = format!("activation failed: {error}");
                tracing::warn!(namespace = %self.namespace, node = %key, %error, "activation failed");
                entry.status = Status::Failed(reason.clone());
                entry.failed_with = Some(targets);
                report.problems.push((key, reason));
                return;
            }
        };
        let task = entry.slot.start(node.clone(), outputs, self.limits);
        let running = Running {
            id,
            node,
            targets,
            links: ids,
            task,
        };
        entry.status = status;
        entry.failed_with = None;
        match entry.running.replace(running) {
            Some(old) => {
                report.swapped.push(key);
                retire.push(old);
            }
            None => report.activated.push(key),
        }
    }

    /// Stops, until none is left, every running symbol (not a source) that
    /// links to one that is not running (its activation failed): within a
    /// cycle, a source may have started before its target failed.
    fn stop_orphans(
        &self,
        state: &mut State,
        resolved: &HashMap<Uuid, Resolved>,
        retire: &mut Vec<Running>,
        report: &mut ApplyReport,
    ) {
        loop {
            let orphan = state.entries.iter().find_map(|(id, entry)| {
                entry.running.as_ref()?;
                if entry.symbol.ports().is_source() {
                    return None;
                }
                let links = resolved[id].as_ref().ok()?;
                let dead = links.iter().flat_map(|(_, ts)| ts).find_map(|t| match t {
                    Target::Symbol(t, _) if state.entries[t].running.is_none() => {
                        Some(state.entries[t].symbol.key())
                    }
                    _ => None,
                })?;
                Some((*id, dead))
            });
            let Some((id, dead)) = orphan else { return };
            let reason = format!("link target `{dead}` is not active");
            self.keep_inactive(state, id, reason, retire, report);
        }
    }

    fn keep_inactive(
        &self,
        state: &mut State,
        id: Uuid,
        reason: String,
        retire: &mut Vec<Running>,
        report: &mut ApplyReport,
    ) {
        let entry = state
            .entries
            .get_mut(&id)
            .expect("id comes from the entries");
        if let Some(running) = entry.running.take() {
            entry.slot.stop();
            report.deactivated.push(entry.symbol.key());
            retire.push(running);
        }
        entry.status = Status::Inactive(reason.clone());
        report.problems.push((entry.symbol.key(), reason));
    }

    /// Lets stopped activations drain, then unloads them sources first, in
    /// the background.
    fn retire(&self, state: &mut State, mut retire: Vec<Running>) {
        state.retiring.retain(|t| !t.is_finished());
        if retire.is_empty() {
            return;
        }
        let keys: Vec<Uuid> = retire.iter().map(|r| r.id).collect();
        let edges: Vec<(Uuid, Uuid)> = retire
            .iter()
            .flat_map(|r| r.links.iter().map(|t| (r.id, *t)))
            .collect();
        let rank: HashMap<Uuid, usize> = targets_first(&keys, &edges)
            .into_iter()
            .rev()
            .enumerate()
            .map(|(i, id)| (id, i))
            .collect();
        retire.sort_by_key(|r| rank.get(&r.id).copied());
        state.retiring.push(tokio::spawn(async move {
            for running in retire {
                let _ = running.task.await;
                running.node.unload().await;
            }
        }));
    }

    /// Waits until every stopped activation has drained and unloaded.
    pub async fn settled(&self) {
        let retiring = std::mem::take(&mut self.state.lock().await.retiring);
        for task in retiring {
            let _ = task.await;
        }
    }

    /// Stops every symbol (sources first), waits for in-flight packets to be
    /// answered and runs every unload hook.
    pub async fn shutdown(&self) {
        let ids: Vec<Uuid> = self.state.lock().await.entries.keys().copied().collect();
        self.apply(ids.into_iter().map(Change::Remove).collect())
            .await;
        self.settled().await;
    }
}

/// The order to start symbols in: link targets before their sources.
fn start_order(state: &State, resolved: &HashMap<Uuid, Resolved>) -> Vec<Uuid> {
    let keys: Vec<Uuid> = state.entries.keys().copied().collect();
    let edges: Vec<(Uuid, Uuid)> = resolved
        .iter()
        .filter_map(|(id, r)| r.as_ref().ok().map(|links| (*id, links)))
        .flat_map(|(source, links)| {
            links
                .iter()
                .flat_map(|(_, ts)| ts)
                .filter_map(move |t| match t {
                    Target::Symbol(t, _) => Some((source, *t)),
                    Target::Missing(_) => None,
                })
        })
        .collect();
    targets_first(&keys, &edges)
}

/// A symbol's resolved links as the activation gets them.
#[derive(Default)]
struct Wiring {
    /// Out-port → links, for [`Outputs`].
    outputs: Vec<(Port, Vec<Link>)>,
    /// Every target slot, in link order.
    slots: Vec<Arc<Slot>>,
    /// The ids of the targets that exist.
    ids: Vec<Uuid>,
    /// The targets, as written, that are missing (a source's).
    missing: Vec<String>,
}

/// Wires a symbol's resolved links to slots.
fn wiring(state: &State, links: &[(Port, Vec<Target>)]) -> Wiring {
    let mut wiring = Wiring::default();
    for (port, targets) in links {
        let mut port_links = Vec::new();
        for target in targets {
            let (slot, port) = match target {
                Target::Symbol(id, port) => {
                    wiring.ids.push(*id);
                    (state.entries[id].slot.clone(), port.clone())
                }
                Target::Missing(label) => {
                    wiring.missing.push(label.clone());
                    (state.dangling[label].clone(), Port::input())
                }
            };
            wiring.slots.push(slot.clone());
            port_links.push(Link { slot, port });
        }
        wiring.outputs.push((port.clone(), port_links));
    }
    wiring
}

/// The table's entries seen as a namespace for link resolution.
struct View<'a> {
    namespace: &'a str,
    state: &'a State,
}

impl Namespace for View<'_> {
    type Key = Uuid;

    fn name(&self) -> &str {
        self.namespace
    }

    fn find(&self, name: Option<&str>, id: Option<Uuid>) -> Option<(Uuid, Option<&Ports>)> {
        let id = match (name, id) {
            (Some(name), _) => *self.state.names.get(name)?,
            (None, Some(id)) => id,
            (None, None) => return None,
        };
        let entry = self.state.entries.get(&id)?;
        Some((id, Some(entry.symbol.ports())))
    }
}
