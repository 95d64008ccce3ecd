//! [`Bundle`]: a set of specs compiled and checked together, in memory.
//!
//! This is what `weir validate`, `weir run` and `weir graph` work on, and
//! what the system API checks a batch with before storing it. It reports
//! every error of every spec: unknown kinds, bad fields, names used twice in
//! a namespace, links to missing nodes, to other namespaces or to ports the
//! target lacks, and cycles that nothing can end (every node on them has
//! one output, so a packet that enters goes round for ever). It reads no
//! files and touches no database.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use uuid::Uuid;

use crate::diagnostic::{Diagnostics, FieldError, Origin};
use crate::env::ValueSource;
use crate::port::Ports;
use crate::runtime::Limits;
use crate::scheme::Scheme;
use crate::spec::source::Sourced;
use crate::symbol::link::{self, LinkError, Namespace};
use crate::symbol::{Change, Symbol, SymbolTable};

/// What specs being checked are checked among (their namespaces' stored
/// specs): `linked`, those they reach by links (directly or through
/// others), only decoded for their ports and links, all that checking
/// their links and cycles needs; `named`, the rest (namespace, name, id),
/// only names a link may use. So admitting into a namespace of many specs
/// costs little per stored spec.
#[derive(Default)]
pub struct Stored {
    pub linked: Vec<Sourced>,
    pub named: Vec<(String, String, Uuid)>,
}

/// Specs that compiled and link up, grouped by namespace.
#[derive(Debug)]
pub struct Bundle {
    symbols: Vec<(Origin, Symbol)>,
    warnings: Diagnostics,
}

impl Bundle {
    /// Compiles `specs` with `scheme`, reporting every problem found.
    pub fn compile(
        scheme: &Scheme,
        specs: Vec<Sourced>,
        values: &dyn ValueSource,
    ) -> Result<Bundle, Diagnostics> {
        Bundle::compile_with_progress(scheme, specs, values, &mut |_, _| {})
    }

    /// [`Bundle::compile`], calling `progress(done, total)` as it goes.
    pub fn compile_with_progress(
        scheme: &Scheme,
        specs: Vec<Sourced>,
        values: &dyn ValueSource,
        progress: &mut dyn FnMut(usize, usize),
    ) -> Result<Bundle, Diagnostics> {
        Bundle::compile_among(scheme, specs, Stored::default(), values, progress)
    }

    /// Checks `specs` as [`Bundle::compile`] does, among what their
    /// namespaces already hold ([`Stored`]). Only `specs`' problems are
    /// reported; admitted, the answer is their warnings.
    pub fn check_among(
        scheme: &Scheme,
        specs: Vec<Sourced>,
        stored: Stored,
        values: &dyn ValueSource,
        progress: &mut dyn FnMut(usize, usize),
    ) -> Result<Diagnostics, Diagnostics> {
        Bundle::compile_among(scheme, specs, stored, values, progress).map(|b| b.warnings)
    }

    fn compile_among(
        scheme: &Scheme,
        specs: Vec<Sourced>,
        Stored { linked, named }: Stored,
        values: &dyn ValueSource,
        progress: &mut dyn FnMut(usize, usize),
    ) -> Result<Bundle, Diagnostics> {
        let total = specs.len();
        let mut problems = Diagnostics::default();
        let mut seen: HashMap<(String, String), Origin> = HashMap::new();
        let mut symbols = Vec::new();
        let mut failed = named;
        for (done, Sourced { origin, spec }) in specs.into_iter().enumerate() {
            progress(done + 1, total);
            let key = (spec.namespace.clone(), spec.key());
            // A name given twice: the later spec replaces the earlier, as
            // storing them one after another would.
            if let Some(first) = seen.insert(key.clone(), origin.clone()) {
                let message = format!(
                    "name `{}` is given again in namespace `{}`: this spec replaces {first}",
                    spec.key(),
                    spec.namespace
                );
                problems.0.retain(|d| d.origin != first);
                symbols.retain(|(o, _): &(Origin, Symbol)| *o != first);
                failed.retain(|(namespace, name, _)| (namespace, name) != (&key.0, &key.1));
                problems.extend(&origin, [FieldError::warning("name", message)]);
            }
            let unbound = crate::env::engine_bound(&spec, values);
            if !unbound.is_empty() {
                // Only the engine that loads it binds these: check what
                // can be checked without them, and let each engine compile it.
                problems.extend(&origin, scheme.check_unbound(&spec, values));
                failed.push((spec.namespace.clone(), spec.key(), spec.id));
                continue;
            }
            match scheme.compile(&spec, values) {
                Ok(symbol) => {
                    problems.extend(&origin, symbol.warnings().iter().cloned());
                    symbols.push((origin, symbol));
                }
                Err(errors) => {
                    problems.extend(&origin, errors);
                    failed.push((spec.namespace.clone(), spec.key(), spec.id));
                }
            }
        }
        // After `specs`, so a cycle through both is reported at one of
        // `specs` (the first member in this order).
        for Sourced { origin, spec } in linked {
            match decoded(scheme, spec.clone()) {
                Some(symbol) => symbols.push((origin, symbol)),
                None => failed.push((spec.namespace.clone(), spec.key(), spec.id)),
            }
        }
        check_links(&symbols, &failed, &mut problems);
        let (mut errors, warnings) = problems.split();
        if errors.is_empty() {
            check_cycles(&symbols, &mut errors);
        }
        if errors.is_empty() {
            return Ok(Bundle { symbols, warnings });
        }
        // Refused, the warnings come along: a reader fixes both at once.
        errors.0.extend(warnings.0);
        Err(errors)
    }

    /// What compiling warned of: the specs may not work as written.
    pub fn warnings(&self) -> &Diagnostics {
        &self.warnings
    }

    /// Every problem a compile found, refused or not: the errors (and
    /// warnings) of a refusal, or the warnings of a bundle.
    pub fn problems(compiled: &Result<Bundle, Diagnostics>) -> &Diagnostics {
        match compiled {
            Ok(bundle) => bundle.warnings(),
            Err(problems) => problems,
        }
    }

    /// The compiled symbols with their origins, in input order.
    pub fn symbols(&self) -> &[(Origin, Symbol)] {
        &self.symbols
    }

    /// The namespaces present, sorted.
    pub fn namespaces(&self) -> Vec<String> {
        let mut all: Vec<String> = self
            .symbols
            .iter()
            .map(|(_, s)| s.spec().namespace.clone())
            .collect();
        all.sort();
        all.dedup();
        all
    }

    /// Starts one symbol table per namespace with every symbol of it.
    pub async fn start(&self, limits: Limits) -> BTreeMap<String, Arc<SymbolTable>> {
        let mut tables = BTreeMap::new();
        for namespace in self.namespaces() {
            let table = Arc::new(SymbolTable::new(&namespace, limits));
            let changes = self
                .symbols
                .iter()
                .filter(|(_, s)| s.spec().namespace == namespace)
                .map(|(_, s)| Change::Upsert(s.clone()))
                .collect();
            let report = table.apply(changes).await;
            for (key, reason) in report.problems {
                tracing::warn!(%namespace, node = %key, %reason, "node not active");
            }
            tables.insert(namespace, table);
        }
        tables
    }
}

/// Every spec of the input, by namespace, seen for link checks. Specs that
/// failed to compile are known by name (so links to them are not reported
/// twice) but have no ports to check against.
struct Index<'a> {
    names: HashMap<&'a str, HashMap<String, Option<&'a Ports>>>,
    ids: HashMap<Uuid, (&'a str, String)>,
}

struct InNamespace<'a, 'b> {
    index: &'b Index<'a>,
    namespace: &'b str,
}

impl Namespace for InNamespace<'_, '_> {
    type Key = String;

    fn name(&self) -> &str {
        self.namespace
    }

    fn find(&self, name: Option<&str>, id: Option<Uuid>) -> Option<(String, Option<&Ports>)> {
        let names = self.index.names.get(self.namespace)?;
        let key = match (name, id) {
            (Some(name), _) => name.to_string(),
            (None, Some(id)) => match self.index.ids.get(&id) {
                Some((ns, key)) if *ns == self.namespace => key.clone(),
                _ => return None,
            },
            (None, None) => return None,
        };
        names.get(&key).map(|ports| (key, *ports))
    }
}

fn check_links(
    symbols: &[(Origin, Symbol)],
    failed: &[(String, String, Uuid)],
    problems: &mut Diagnostics,
) {
    let mut index = Index {
        names: HashMap::new(),
        ids: HashMap::new(),
    };
    for (_, symbol) in symbols {
        let spec = symbol.spec();
        let names = index.names.entry(spec.namespace.as_str()).or_default();
        names.insert(symbol.key(), Some(symbol.ports()));
        index
            .ids
            .insert(spec.id, (spec.namespace.as_str(), symbol.key()));
    }
    for (namespace, key, id) in failed {
        index
            .names
            .entry(namespace.as_str())
            .or_default()
            .insert(key.clone(), None);
        index.ids.insert(*id, (namespace.as_str(), key.clone()));
    }
    for (origin, symbol) in symbols {
        let namespace = InNamespace {
            index: &index,
            namespace: &symbol.spec().namespace,
        };
        for (port, targets) in symbol.links() {
            for (i, target) in targets.iter().enumerate() {
                if let Err(error) = link::resolve(&namespace, target) {
                    let path = format!("ports.{port}[{i}]");
                    let problem = match error {
                        // A target (or its in-port) that is not there yet
                        // is fixed by adding it; the link is well-formed.
                        LinkError::Missing { .. } | LinkError::NoSuchPort { .. } => {
                            let error = hint_other_namespace(error, &index, target.name.as_deref());
                            FieldError::unresolved(path, error.to_string())
                        }
                        // The schema cannot say "the spec's own namespace".
                        LinkError::OtherNamespace { .. } => {
                            FieldError::warning(path, format!("{error}: the node will not load"))
                        }
                    };
                    problems.extend(origin, [problem]);
                }
            }
        }
    }
}

/// A spec decoded for its ports and links only, as checks of other specs
/// see it (`None` when its fields do not decode as written, say with a
/// template where a number goes): never started, it has nothing to start.
fn decoded(scheme: &Scheme, spec: crate::spec::Spec) -> Option<Symbol> {
    let ports = scheme
        .codec(&spec.kind)?
        .ports(serde_json::Value::Object(spec.fields.clone()))?;
    let links = spec
        .ports
        .iter()
        .filter_map(|(name, targets)| Some((crate::port::Port::parse(name).ok()?, targets.clone())))
        .filter(|(port, _)| ports.emits(port))
        .collect();
    let unstarted: Arc<dyn crate::runtime::Activate> = Arc::new(Unstarted);
    Some(Symbol::new(
        Arc::new(spec),
        weir_codecs::Value::Null,
        unstarted,
        ports,
        links,
        Vec::new(),
    ))
}

/// The activation of a spec only decoded for checks: it fails, and no
/// bundle holding one is ever returned to be started.
struct Unstarted;

impl crate::runtime::Activate for Unstarted {
    fn activate<'a>(
        &'a self,
        _: &'a Arc<crate::runtime::Outputs>,
    ) -> crate::runtime::BoxFuture<'a, Result<Arc<dyn crate::runtime::Node>, weir_codecs::ErrorValue>>
    {
        Box::pin(async {
            Err(weir_codecs::ErrorValue::new(
                "a spec decoded for checks only does not start",
            ))
        })
    }
}

/// Reports each cycle of links that no node on it can leave. A node with
/// more than one output (`if`, `switch`, `router`, `for`) chooses where a
/// packet goes, so a cycle through one may end; `error` links are taken
/// only on failure and do not count. A cycle whose every node has a single
/// output keeps writing it: a request into it is never answered (it waits
/// for its deadline), so it is refused here, at its first node in input
/// order. A source's links (see [`Ports::source`]) start new processes
/// and are left out. Links are already known to resolve.
fn check_cycles(symbols: &[(Origin, Symbol)], problems: &mut Diagnostics) {
    use petgraph::graph::{DiGraph, NodeIndex};
    let mut by_namespace: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    for (i, (_, symbol)) in symbols.iter().enumerate() {
        by_namespace
            .entry(symbol.spec().namespace.as_str())
            .or_default()
            .push(i);
    }
    for (namespace, members) in by_namespace {
        let mut graph: DiGraph<usize, ()> = DiGraph::new();
        let mut keys: HashMap<String, NodeIndex> = HashMap::new();
        let mut ids: HashMap<Uuid, NodeIndex> = HashMap::new();
        for &i in &members {
            let symbol = &symbols[i].1;
            let node = graph.add_node(i);
            keys.insert(symbol.key(), node);
            ids.insert(symbol.spec().id, node);
        }
        for &i in &members {
            let symbol = &symbols[i].1;
            // A source's out-links start processes of their own (a job's
            // run, a listener's request): a cycle through one answers.
            if symbol.ports().is_source() {
                continue;
            }
            let from = keys[&symbol.key()];
            let forwarded = symbol
                .links()
                .iter()
                .filter(|(port, _)| *port != crate::port::Port::error());
            for target in forwarded.flat_map(|(_, targets)| targets) {
                let to = match (&target.name, target.id) {
                    (Some(name), _) => keys.get(name),
                    (None, Some(id)) => ids.get(&id),
                    (None, None) => None,
                };
                if let Some(&to) = to {
                    graph.add_edge(from, to, ());
                }
            }
        }
        for component in petgraph::algo::tarjan_scc(&graph) {
            let looped = component.len() > 1 || graph.contains_edge(component[0], component[0]);
            let endless = component
                .iter()
                .all(|&n| symbols[graph[n]].1.ports().outputs().len() == 1);
            if !(looped && endless) {
                continue;
            }
            let mut order: Vec<usize> = component.iter().map(|&n| graph[n]).collect();
            order.sort_unstable();
            let names: Vec<String> = order
                .iter()
                .map(|&i| format!("`{}`", symbols[i].1.key()))
                .collect();
            let first = &symbols[order[0]];
            let message = format!(
                "a cycle no node can end, in namespace `{namespace}`: {}; each writes its only output on, so a packet that enters is never answered; give it a way out (an `if` or a `switch`)",
                names.join(", ")
            );
            problems.extend(&first.0, [FieldError::new("ports", message)]);
        }
    }
}

/// A missing name that exists in another namespace is reported as a link
/// across namespaces, which is what the author most likely meant.
fn hint_other_namespace(error: LinkError, index: &Index<'_>, name: Option<&str>) -> LinkError {
    let LinkError::Missing { target, namespace } = &error else {
        return error;
    };
    let elsewhere = name.and_then(|name| {
        let mut found: Vec<&&str> = index
            .names
            .iter()
            .filter(|(_, n)| n.contains_key(name))
            .map(|(ns, _)| ns)
            .collect();
        found.sort();
        found.first().map(|ns| ns.to_string())
    });
    match elsewhere {
        Some(other) if other != *namespace => LinkError::OtherNamespace {
            target: target.clone(),
            namespace: other,
        },
        _ => error,
    }
}
