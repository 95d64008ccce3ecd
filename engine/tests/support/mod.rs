//! A `probe` node kind for runtime tests: each spec picks a behaviour, and
//! the kind records what its nodes saw so tests can assert on it.

#![allow(dead_code)]

pub mod db;

use std::sync::{Arc, Mutex};

use schemars::JsonSchema;
use serde::Deserialize;
use tokio::sync::{Barrier, Semaphore};
use weir_codecs::{ErrorValue, Value};
use weir_engine::env::NoValues;
use weir_engine::runtime::{BoxFuture, Limits};
use weir_engine::spec::source::{Format, parse};
use weir_engine::symbol::{Change, SymbolTable};
use weir_engine::{
    Activate, Bundle, Call, FieldError, Kind, Node, Packet, Port, PortPattern, Ports, Scheme,
    Symbol, scheme::Context,
};

/// What a probe node does with a packet.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Behave {
    /// Writes the payload to `out` and answers what comes back.
    Relay,
    /// Answers `answer`.
    Answer,
    /// Fails with the message `answer`.
    Fail,
    /// Panics when the payload is `0`, else answers `answer`.
    PanicOnZero,
    /// Records the payload, then relays.
    Record,
    /// Waits for a permit from the shared gate, then answers `answer`.
    Gate,
    /// Waits at the shared barrier, then answers `answer`.
    Barrier,
    /// Never answers; records when its call is dropped.
    Hang,
    /// Writes to `out[0]`, `out[1]`, … in turn, `count` times.
    Scatter,
    /// Answers `[answer, …what out answers]`: its own version followed by
    /// the chain of versions behind it (just `[answer]` when unlinked).
    Chain,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ProbeSpec {
    pub behave: Behave,
    #[serde(default)]
    pub answer: Option<serde_json::Value>,
    #[serde(default)]
    pub fail_load: bool,
}

/// What every probe node shares with the test.
pub struct Shared {
    /// `name: event` lines, in order.
    pub events: Mutex<Vec<String>>,
    /// `(process id, payload)` seen by `record` nodes.
    pub records: Mutex<Vec<(u64, Value)>>,
    /// Permits for `gate` nodes.
    pub gate: Semaphore,
    /// Calls that reached a `gate` or `hang` node.
    pub started: std::sync::atomic::AtomicUsize,
    /// Set by the test before `barrier` nodes run.
    pub barrier: Mutex<Option<Arc<Barrier>>>,
    /// `(name, answer)` of every load hook run.
    pub loads: Mutex<Vec<(String, Value)>>,
}

impl Default for Shared {
    fn default() -> Self {
        Shared {
            events: Mutex::default(),
            records: Mutex::default(),
            gate: Semaphore::new(0),
            started: Default::default(),
            barrier: Mutex::default(),
            loads: Mutex::default(),
        }
    }
}

impl Shared {
    pub fn event(&self, line: String) {
        self.events.lock().unwrap().push(line);
    }

    pub fn events(&self) -> Vec<String> {
        self.events.lock().unwrap().clone()
    }
}

pub struct Probe(pub Arc<Shared>);

impl Kind for Probe {
    type Spec = ProbeSpec;

    fn name(&self) -> &'static str {
        "probe"
    }

    fn summary(&self) -> &'static str {
        "test node"
    }

    fn ports(&self, _: &ProbeSpec) -> Ports {
        Ports::new()
            .input(PortPattern::Exact(Port::input()))
            .input(PortPattern::Indexed("in".into()))
            .output(PortPattern::Exact(Port::output()))
            .output(PortPattern::Indexed("out".into()))
    }

    fn compile(
        &self,
        spec: ProbeSpec,
        cx: &Context<'_>,
    ) -> Result<Arc<dyn Activate>, Vec<FieldError>> {
        let answer = spec
            .answer
            .clone()
            .map(weir_codecs::json::from_json)
            .unwrap_or(Value::Null);
        Ok(Arc::new(ProbeActivate(Arc::new(ProbeNode {
            name: cx.name(),
            spec,
            answer,
            shared: self.0.clone(),
        }))))
    }
}

/// A compiled probe: records each activation, and may refuse it.
struct ProbeActivate(Arc<ProbeNode>);

impl Activate for ProbeActivate {
    fn activate<'a>(
        &'a self,
        _: &'a Arc<weir_engine::runtime::Outputs>,
    ) -> BoxFuture<'a, Result<Arc<dyn Node>, ErrorValue>> {
        Box::pin(async move {
            let node = &self.0;
            node.shared.event(format!("{}: load", node.name));
            node.shared
                .loads
                .lock()
                .unwrap()
                .push((node.name.clone(), node.answer.clone()));
            match node.spec.fail_load {
                true => Err(ErrorValue::new("refused to load")),
                false => Ok(node.clone() as Arc<dyn Node>),
            }
        })
    }
}

struct ProbeNode {
    name: String,
    spec: ProbeSpec,
    answer: Value,
    shared: Arc<Shared>,
}

struct DropGuard(Arc<Shared>, String);

impl Drop for DropGuard {
    fn drop(&mut self) {
        self.0.event(format!("{}: dropped", self.1));
    }
}

impl Node for ProbeNode {
    fn call<'a>(
        &'a self,
        call: &'a Call,
        input: Packet,
    ) -> BoxFuture<'a, Result<Packet, ErrorValue>> {
        Box::pin(async move {
            let answer = Packet::new(self.answer.clone());
            match self.spec.behave {
                Behave::Relay => Ok(call.write(&Port::output(), input).await),
                Behave::Answer => Ok(answer),
                Behave::Fail => Err(ErrorValue::new(self.answer.to_string()).with_code("probe")),
                Behave::PanicOnZero => match input.payload().as_i64() {
                    Some(0) => panic!("probe: asked to panic"),
                    _ => Ok(answer),
                },
                Behave::Record => {
                    self.shared
                        .records
                        .lock()
                        .unwrap()
                        .push((call.process().id(), input.payload().clone()));
                    Ok(call.write(&Port::output(), input).await)
                }
                Behave::Gate => {
                    self.shared
                        .started
                        .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                    let permit = self
                        .shared
                        .gate
                        .acquire()
                        .await
                        .map_err(|_| ErrorValue::new("gate closed"))?;
                    permit.forget();
                    Ok(answer)
                }
                Behave::Barrier => {
                    let barrier = self
                        .shared
                        .barrier
                        .lock()
                        .unwrap()
                        .clone()
                        .expect("test sets the barrier");
                    barrier.wait().await;
                    Ok(answer)
                }
                Behave::Hang => {
                    self.shared
                        .started
                        .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                    let _guard = DropGuard(self.shared.clone(), self.name.clone());
                    std::future::pending::<()>().await;
                    Ok(answer)
                }
                Behave::Chain => {
                    let mut chain = vec![self.answer.clone()];
                    if call.is_linked(&Port::output()) {
                        let behind = call.write(&Port::output(), input).await;
                        if behind.is_error() {
                            return Ok(behind);
                        }
                        chain.extend(behind.payload().as_list().into_iter().flatten().cloned());
                    }
                    Ok(Packet::new(Value::list(chain)))
                }
                Behave::Scatter => {
                    let n = self.answer.as_i64().unwrap_or(2) as u32;
                    let mut all = Vec::new();
                    for i in 0..n {
                        all.push(
                            call.write(&Port::indexed("out", i), input.clone())
                                .await
                                .into_payload(),
                        );
                    }
                    Ok(Packet::new(Value::list(all)))
                }
            }
        })
    }

    fn unload(&self) -> BoxFuture<'_, ()> {
        Box::pin(async move { self.shared.event(format!("{}: unload", self.name)) })
    }
}

/// A scheme with only the probe kind, and the state its nodes share.
pub fn scheme() -> (Scheme, Arc<Shared>) {
    let shared = Arc::new(Shared::default());
    let mut scheme = Scheme::new();
    scheme.register(Probe(shared.clone()));
    (scheme, shared)
}

/// Gives each named spec an id that follows from its name, so that a test
/// can write a new version of a spec without repeating its id (specs are
/// known by id; a new id would be another spec).
fn named_ids(
    mut specs: Vec<weir_engine::spec::source::Sourced>,
) -> Vec<weir_engine::spec::source::Sourced> {
    use std::hash::{Hash, Hasher};
    for sourced in &mut specs {
        let Some(name) = sourced.spec.name.clone() else {
            continue;
        };
        let half = |salt: u8| {
            let mut hasher = std::collections::hash_map::DefaultHasher::new();
            (salt, &sourced.spec.namespace, &name).hash(&mut hasher);
            hasher.finish()
        };
        sourced.spec.id = uuid::Uuid::from_u64_pair(half(0), half(1));
    }
    specs
}

/// Compiles YAML specs into symbols (panics with the diagnostics if bad).
pub fn symbols(scheme: &Scheme, yaml: &str) -> Vec<Symbol> {
    let specs = named_ids(parse(yaml, Format::Yaml, None).unwrap_or_else(|e| panic!("{e}")));
    let bundle = Bundle::compile(scheme, specs, &NoValues).unwrap_or_else(|e| panic!("{e}"));
    bundle.symbols().iter().map(|(_, s)| s.clone()).collect()
}

/// Compiles one spec without link checks (for swapping in a new version).
pub fn symbol(scheme: &Scheme, yaml: &str) -> Symbol {
    let specs = named_ids(parse(yaml, Format::Yaml, None).unwrap_or_else(|e| panic!("{e}")));
    scheme
        .compile(&specs[0].spec, &NoValues)
        .unwrap_or_else(|e| panic!("{e:?}"))
}

/// A table of the `default` namespace running `yaml`.
pub async fn table(scheme: &Scheme, yaml: &str, limits: Limits) -> SymbolTable {
    let table = SymbolTable::new("default", limits);
    let changes = symbols(scheme, yaml)
        .into_iter()
        .map(Change::Upsert)
        .collect();
    let report = table.apply(changes).await;
    assert!(report.problems.is_empty(), "{:?}", report.problems);
    table
}
