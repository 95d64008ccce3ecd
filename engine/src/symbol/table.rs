//! [`SymbolTable`]: one namespace's symbols, which of them run, and how.
//!
//! A symbol is active when it compiled and every link target it names is
//! active and has the in-port the link names (cycles included). Applying a
//! batch of changes recomputes that set, loads what becomes active targets
//! first, swaps replaced symbols in atomically (the old version drains in
//! the background), and unloads what stopped, sources first. A replaced
//! symbol whose new version fails to load keeps its old version running.
//!
//! Writers serialise on an async mutex; the packet path never touches it:
//! links hold [`Slot`]s directly, and [`SymbolTable::slot`] reads a sharded
//! map.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::Arc;

use dashmap::DashMap;
use tokio::sync::Mutex;
use tokio::task::JoinHandle;
use uuid::Uuid;
use weir_codecs::ErrorValue;

use super::Symbol;
use super::link::{self, Namespace};
use super::order::targets_first;
use crate::port::{Port, Ports};
use crate::runtime::{Limits, Link, Outputs, Packet, Process, Slot};

/// One change to apply.
#[derive(Debug)]
pub enum Change {
    /// Adds a symbol, or replaces the one with the same key. A symbol
    /// compiled from the same spec and env as the running one is left alone.
    Upsert(Symbol),
    /// Removes the symbol with this key (name, or id when unnamed).
    Remove(String),
}

/// Whether a symbol runs, and if not, why.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Status {
    /// Running and reachable.
    Active,
    /// Waiting for a link target (the reason names it).
    Inactive(String),
    /// Its load hook failed; if an older version was running, it still is.
    Failed(String),
}

/// What one [`SymbolTable::apply`] did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ApplyReport {
    /// Symbols that started running.
    pub activated: Vec<String>,
    /// Running symbols replaced by a new version.
    pub swapped: Vec<String>,
    /// Symbols that stopped running (removed, or lost a link target).
    pub deactivated: Vec<String>,
    /// Symbols left inactive or failed, with the reason.
    pub problems: Vec<(String, String)>,
}

/// The symbols of one namespace.
pub struct SymbolTable {
    namespace: Arc<str>,
    limits: Limits,
    slots: DashMap<String, Arc<Slot>>,
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    entries: HashMap<String, Entry>,
    ids: HashMap<Uuid, String>,
    retiring: Vec<JoinHandle<()>>,
}

struct Entry {
    symbol: Symbol,
    slot: Arc<Slot>,
    running: Option<Running>,
    status: Status,
}

struct Running {
    symbol: Symbol,
    targets: Vec<Arc<Slot>>,
    task: JoinHandle<()>,
}

/// A symbol's links resolved to slots, or why they cannot be.
type Resolved = Result<Vec<(Port, Vec<(String, Port)>)>, String>;

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

    /// The slot of the symbol `key`, to send packets to it.
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

    /// Every symbol's status, by key.
    pub async fn statuses(&self) -> Vec<(String, Status)> {
        let state = self.state.lock().await;
        let mut all: Vec<_> = state
            .entries
            .iter()
            .map(|(k, e)| (k.clone(), e.status.clone()))
            .collect();
        all.sort();
        all
    }

    /// Applies a batch of changes together and (re)activates what it can.
    pub async fn apply(&self, changes: Vec<Change>) -> ApplyReport {
        let mut state = self.state.lock().await;
        let mut report = ApplyReport::default();
        let mut retire = Vec::new();
        let replaced = self.record(&mut state, changes, &mut retire, &mut report);
        let resolved = self.resolve_all(&state);
        let keys: Vec<&str> = state.entries.keys().map(String::as_str).collect();
        let edges: Vec<(&str, &str)> = resolved
            .iter()
            .filter_map(|(k, r)| r.as_ref().ok().map(|links| (k, links)))
            .flat_map(|(k, links)| {
                links
                    .iter()
                    .flat_map(move |(_, ts)| ts.iter().map(move |(t, _)| (k.as_str(), t.as_str())))
            })
            .collect();
        let order: Vec<String> = targets_first(&keys, &edges)
            .into_iter()
            .map(String::from)
            .collect();
        drop((keys, edges));
        self.stop_unwanted(&mut state, &resolved, &order, &mut retire, &mut report);
        for key in &order {
            self.start(
                &mut state,
                key,
                &resolved[key],
                replaced.contains(key),
                &mut retire,
                &mut report,
            )
            .await;
        }
        self.stop_orphans(&mut state, &resolved, &mut retire, &mut report);
        self.retire(&mut state, retire);
        report
    }

    /// Applies the changes to the entries; returns the keys replaced.
    fn record(
        &self,
        state: &mut State,
        changes: Vec<Change>,
        retire: &mut Vec<(String, Running)>,
        report: &mut ApplyReport,
    ) -> HashSet<String> {
        let mut replaced = HashSet::new();
        for change in changes {
            match change {
                Change::Upsert(symbol) => {
                    let key = symbol.key();
                    state.ids.insert(symbol.spec().id, key.clone());
                    match state.entries.get_mut(&key) {
                        Some(entry) if entry.symbol.same_source(&symbol) => {}
                        Some(entry) => {
                            if entry.symbol.spec().id != symbol.spec().id {
                                state.ids.remove(&entry.symbol.spec().id);
                            }
                            entry.symbol = symbol;
                            replaced.insert(key);
                        }
                        None => {
                            let slot = Arc::new(Slot::new(&key));
                            self.slots.insert(key.clone(), slot.clone());
                            let status = Status::Inactive("not started".into());
                            state.entries.insert(
                                key,
                                Entry {
                                    symbol,
                                    slot,
                                    running: None,
                                    status,
                                },
                            );
                        }
                    }
                }
                Change::Remove(key) => {
                    let Some(entry) = state.entries.remove(&key) else {
                        continue;
                    };
                    state.ids.remove(&entry.symbol.spec().id);
                    self.slots.remove(&key);
                    entry.slot.stop();
                    if let Some(running) = entry.running {
                        report.deactivated.push(key.clone());
                        retire.push((key, running));
                    }
                }
            }
        }
        replaced
    }

    /// Resolves every symbol's links, then marks as broken every symbol that
    /// links, directly or not, to a broken one.
    fn resolve_all(&self, state: &State) -> HashMap<String, Resolved> {
        let view = View {
            namespace: &self.namespace,
            state,
        };
        let mut resolved: HashMap<String, Resolved> = HashMap::new();
        let mut sources: HashMap<&str, Vec<&str>> = HashMap::new();
        for (key, entry) in &state.entries {
            let mut ports = Vec::new();
            let mut broken = None;
            for (port, targets) in entry.symbol.links() {
                let mut resolved_targets = Vec::new();
                for target in targets {
                    match link::resolve(&view, target) {
                        Ok((t, p)) => resolved_targets.push((t, p)),
                        Err(e) => broken = broken.or(Some(e.to_string())),
                    }
                }
                ports.push((port.clone(), resolved_targets));
            }
            for (_, targets) in &ports {
                for (t, _) in targets {
                    if let Some((t, _)) = state.entries.get_key_value(t) {
                        sources.entry(t.as_str()).or_default().push(key);
                    }
                }
            }
            resolved.insert(key.clone(), broken.map_or(Ok(ports), Err));
        }
        let mut queue: VecDeque<String> = resolved
            .iter()
            .filter(|(_, r)| r.is_err())
            .map(|(k, _)| k.clone())
            .collect();
        while let Some(broken) = queue.pop_front() {
            for source in sources.get(broken.as_str()).into_iter().flatten() {
                if resolved.get(*source).is_some_and(Result::is_ok) {
                    resolved.insert(
                        source.to_string(),
                        Err(format!("link target `{broken}` is not active")),
                    );
                    queue.push_back(source.to_string());
                }
            }
        }
        resolved
    }

    /// Stops running symbols that must not run any more, sources first.
    fn stop_unwanted(
        &self,
        state: &mut State,
        resolved: &HashMap<String, Resolved>,
        order: &[String],
        retire: &mut Vec<(String, Running)>,
        report: &mut ApplyReport,
    ) {
        for key in order.iter().rev() {
            let Some(entry) = state.entries.get_mut(key) else {
                continue;
            };
            if let Err(reason) = &resolved[key] {
                entry.status = Status::Inactive(reason.clone());
                report.problems.push((key.clone(), reason.clone()));
                if let Some(running) = entry.running.take() {
                    entry.slot.stop();
                    report.deactivated.push(key.clone());
                    retire.push((key.clone(), running));
                }
            }
        }
    }

    /// Starts `key` if it should run and does not yet run this version with
    /// these link targets. Called in targets-first order.
    async fn start(
        &self,
        state: &mut State,
        key: &str,
        resolved: &Resolved,
        replaced: bool,
        retire: &mut Vec<(String, Running)>,
        report: &mut ApplyReport,
    ) {
        let Ok(links) = resolved else { return };
        let mut targets = Vec::new();
        let mut outputs = Vec::new();
        for (port, ts) in links {
            let mut port_links = Vec::new();
            for (t, p) in ts {
                let target = &state.entries[t];
                targets.push(target.slot.clone());
                port_links.push(Link {
                    slot: target.slot.clone(),
                    port: p.clone(),
                });
            }
            outputs.push((port.clone(), port_links));
        }
        let entry = state
            .entries
            .get_mut(key)
            .expect("key comes from the entries");
        let same_targets = |r: &Running| {
            r.targets.len() == targets.len()
                && r.targets
                    .iter()
                    .zip(&targets)
                    .all(|(a, b)| Arc::ptr_eq(a, b))
        };
        if !replaced && entry.running.as_ref().is_some_and(same_targets) {
            entry.status = Status::Active;
            return;
        }
        let symbol = entry.symbol.clone();
        let outputs = Arc::new(Outputs::new(outputs));
        if let Err(error) = symbol.node().load(&outputs).await {
            let reason = format!("load failed: {error}");
            tracing::warn!(namespace = %self.namespace, node = key, %error, "load hook failed");
            entry.status = Status::Failed(reason.clone());
            report.problems.push((key.to_string(), reason));
            return;
        }
        let task = entry
            .slot
            .start(symbol.node().clone(), outputs, self.limits);
        let previous = entry.running.replace(Running {
            symbol,
            targets,
            task,
        });
        entry.status = Status::Active;
        match previous {
            Some(old) => {
                report.swapped.push(key.to_string());
                retire.push((key.to_string(), old));
            }
            None => report.activated.push(key.to_string()),
        }
    }

    /// Stops, until none is left, every running symbol that links to one
    /// that did not start (its load failed): within a cycle, a source may
    /// have started before its target's load failed.
    fn stop_orphans(
        &self,
        state: &mut State,
        resolved: &HashMap<String, Resolved>,
        retire: &mut Vec<(String, Running)>,
        report: &mut ApplyReport,
    ) {
        loop {
            let orphan = state.entries.iter().find_map(|(key, entry)| {
                entry.running.as_ref()?;
                let links = resolved[key].as_ref().ok()?;
                let dead = links
                    .iter()
                    .flat_map(|(_, ts)| ts)
                    .find(|(t, _)| state.entries[t].running.is_none())?;
                Some((key.clone(), dead.0.clone()))
            });
            let Some((key, dead)) = orphan else { return };
            let reason = format!("link target `{dead}` is not active");
            self.keep_inactive(state, &key, reason, retire, report);
        }
    }

    fn keep_inactive(
        &self,
        state: &mut State,
        key: &str,
        reason: String,
        retire: &mut Vec<(String, Running)>,
        report: &mut ApplyReport,
    ) {
        let entry = state
            .entries
            .get_mut(key)
            .expect("key comes from the entries");
        if let Some(running) = entry.running.take() {
            entry.slot.stop();
            report.deactivated.push(key.to_string());
            retire.push((key.to_string(), running));
        }
        entry.status = Status::Inactive(reason.clone());
        report.problems.push((key.to_string(), reason));
    }

    /// Lets stopped versions drain, then runs their unload hooks in the
    /// order given (sources first), in the background.
    fn retire(&self, state: &mut State, mut retire: Vec<(String, Running)>) {
        state.retiring.retain(|t| !t.is_finished());
        if retire.is_empty() {
            return;
        }
        let keys: Vec<&str> = retire.iter().map(|(k, _)| k.as_str()).collect();
        let edges: Vec<(&str, &str)> = retire
            .iter()
            .flat_map(|(k, r)| {
                let targets = r.symbol.links().iter().flat_map(|(_, ts)| ts.iter());
                targets
                    .filter_map(|t| t.name.as_deref())
                    .map(move |t| (k.as_str(), t))
            })
            .collect();
        let rank: HashMap<String, usize> = targets_first(&keys, &edges)
            .into_iter()
            .rev()
            .enumerate()
            .map(|(i, k)| (k.to_string(), i))
            .collect();
        retire.sort_by_key(|(k, _)| rank.get(k).copied());
        state.retiring.push(tokio::spawn(async move {
            for (_, running) in retire {
                let _ = running.task.await;
                running.symbol.node().unload().await;
            }
        }));
    }

    /// Waits until every stopped version has drained and unloaded.
    pub async fn settled(&self) {
        let retiring = std::mem::take(&mut self.state.lock().await.retiring);
        for task in retiring {
            let _ = task.await;
        }
    }

    /// Stops every symbol (sources first), waits for in-flight packets to be
    /// answered and runs every unload hook.
    pub async fn shutdown(&self) {
        let keys: Vec<String> = self.state.lock().await.entries.keys().cloned().collect();
        self.apply(keys.into_iter().map(Change::Remove).collect())
            .await;
        self.settled().await;
    }
}

/// The table's entries seen as a namespace for link resolution.
struct View<'a> {
    namespace: &'a str,
    state: &'a State,
}

impl Namespace for View<'_> {
    fn name(&self) -> &str {
        self.namespace
    }

    fn find(&self, name: Option<&str>, id: Option<Uuid>) -> Option<(String, Option<&Ports>)> {
        let key = match (name, id) {
            (Some(name), _) => name.to_string(),
            (None, Some(id)) => self.state.ids.get(&id)?.clone(),
            (None, None) => return None,
        };
        let entry = self.state.entries.get(&key)?;
        Some((key, Some(entry.symbol.ports())))
    }
}
